#!/bin/sh
# make check: short libFuzzer runs of the card profile reader and of the
# WBXML encoder's round trip (XML -> WBXML -> the same canonical form), as
# tests/fuzz/test-fuzz-short.sh does for the decoder and the canonicaliser.
FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-25}
export FUZZ_SECONDS
exec bash "$(dirname "$0")/run-fuzz.sh" profile wbxml-enc
