#!/bin/bash
# The rules of the canonical-form DM mechanisms that pkcs11-tool cannot
# express, through p11-dm-driver (a self-checking PKCS#11 client with
# <dmsc/pkcs11-dm.h>, OpenSSL and the committed canonical forms as the
# reference; see the comment at the top of p11-dm-driver.c):
#  - CK_DMSC_DM_PARAMS: MESSAGE, SYNCBODY and CMDID units give signatures
#    and digests over replace.c14n, replace.syncbody.c14n,
#    replace.cmdid-4.c14n (and the other commands' subtrees), from the XML
#    and the WBXML form, for every mechanism; the plain mechanism over those
#    bytes agrees; a missing or repeated CmdID, a TNDS document or opaque
#    input with a unit are CKR_DATA_INVALID
#  - bad parameters (size, unit, CmdID missing, empty, 65 bytes, with a
#    NUL, given for another unit): CKR_MECHANISM_PARAM_INVALID at *Init
#  - multi-part: the message cut at every byte boundary (XML and WBXML)
#    gives the one-shot signature; every form of every vector cut everywhere
#    gives the .c14n digest
#  - length queries and CKR_BUFFER_TOO_SMALL keep the operation and input
#  - C_*Update past 16 MiB of XML or WBXML: CKR_DATA_LEN_RANGE at that
#    update, and the operation is ended; opaque input streams past it
#  - C_DigestKey with CKM_DMSC_SHA256: CKR_KEY_INDIGESTIBLE
#  - CKM_DMSC_SHA256_HMAC with a known key = OpenSSL's HMAC-SHA256 over the
#    .c14n; the plain HMAC of the same key still covers the raw bytes
#  - key types, CKA_ALLOWED_MECHANISMS, what is XML / WBXML / opaque
# The driver prints one line per check ("ok" / "FAIL ...: expected ...,
# got ..."); this test fails when any check does.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
setup_store

DM_DRIVER=${P11_DM_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-dm-driver}
[ -x "$DM_DRIVER" ] || fail "p11-dm-driver not found at $DM_DRIVER" \
    "build it (make check builds it) or set P11_DM_DRIVER=/path/to/p11-dm-driver"
V=${DMSC_SRCDIR:-.}/dm-ext/vectors/canon
[ -f "$V/replace.c14n" ] || fail "the canonical-form vectors are not at $V"

SO=12345678
PIN=1234
init_app app1 "$SO" "$PIN"
# What the token holds before (the card may make objects of its own).
object_count app1 --login --pin "$PIN"
before=$N

step "p11-dm-driver rules on token app1"
st=0
timeout -k 5 "$P11_TIMEOUT" "$DM_DRIVER" rules app1 "$PIN" "$V" >"$TEST_TMP/driver.out" 2>"$TEST_TMP/driver.err" \
    </dev/null || st=$?
# The whole log goes to the test's .log file.
cat "$TEST_TMP/driver.out" >&2
summary=$(grep '^# [0-9]* checks' "$TEST_TMP/driver.out" || true)
if [ "$st" -ne 0 ]; then
    fails=$(grep '^FAIL' "$TEST_TMP/driver.out" || true)
    if [ "$st" -ge 124 ] || [ -z "$summary" ]; then
        fail "p11-dm-driver crashed, hung or stopped early (exit $st)" \
            "last lines:" "$(tail -5 "$TEST_TMP/driver.out" | indent)" "stderr:" "$(indent <"$TEST_TMP/driver.err")"
    fi
    fail "p11-dm-driver: ${summary#\# } (exit $st)" "failed checks:" "$(indent <<<"$fails")" \
        "stderr:" "$(indent <"$TEST_TMP/driver.err")"
fi
[ -n "$summary" ] || fail "p11-dm-driver exited 0 without its summary line"
n=${summary#\# }
n=${n%% *}
# The driver checks far more than this; fewer means a section was skipped.
[ "$n" -ge 500 ] || fail "p11-dm-driver ran only $n checks (expected at least 500)"

step "the token is still usable afterwards (no PIN tries lost, no objects left)"
expect_flags app1 "after the driver" -"user PIN count low" -"user PIN locked" -"final user PIN try"
object_count app1 --login --pin "$PIN"
[ "$N" -eq "$before" ] || fail "the driver makes session objects only: expected $before token objects as before, -O lists $N" \
    "output:" "$(indent <<<"$OUT")"

say "PASS: ${summary#\# }"
