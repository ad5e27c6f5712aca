#!/bin/sh
# make check: build the libFuzzer targets (wbxml, canon, canon-diff: the
# event path of the canonical form held to the tree path, p11, tnds, dmcmd,
# apdu: the fuzzer as the smart card behind the PC/SC transport, pkcs15: the
# PKCS#15 decoder)
# with clang and run each for
# a short while (25 s) over a copy of its seed corpus; fail on any crash,
# leak, hang or out-of-memory, printing where the reproducer went (see
# tests/fuzz/run-fuzz.sh). The duration is fixed here so that FUZZ_SECONDS,
# meant for long runs by hand, does not stretch the test suite;
# FUZZ_SHORT_SECONDS changes it.
FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-25}
export FUZZ_SECONDS
exec bash "$(dirname "$0")/run-fuzz.sh" wbxml canon canon-diff p11 tnds dmcmd apdu pkcs15
