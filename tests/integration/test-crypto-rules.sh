#!/bin/bash
# The crypto rules pkcs11-tool cannot express, through p11-crypto-driver
# (a self-checking PKCS#11 client, OpenSSL as the reference; see the
# comment at the top of p11-crypto-driver.c for the full list):
#  - key attributes: CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE,
#    CKA_NEVER_EXTRACTABLE of generated, imported and unwrapped keys;
#    sensitive values unreadable; CKA_SENSITIVE/CKA_EXTRACTABLE not relaxable
#  - HMAC with known keys (RFC 4231), CKA_SIGN/CKA_VERIFY enforced
#  - operation state: CKR_OPERATION_ACTIVE, length queries and
#    CKR_BUFFER_TOO_SMALL keep the operation, errors and last calls end it,
#    a single-part call after an update is refused; wrong key class, usage,
#    type, handle, mechanism; bad PSS/OAEP/GCM/CBC parameters
#  - multi-part sign/verify/digest/encrypt/decrypt against single-part
#  - CKA_ALWAYS_AUTHENTICATE with C_Login(CKU_CONTEXT_SPECIFIC)
#  - AES-GCM and AES-CBC-PAD against OpenSSL; RSA-OAEP with a label both
#    ways; imported Ed25519 and P-384 keys
#  - AES-KEY-WRAP-PAD and RSA-OAEP wrap/unwrap of secret and private keys
# The driver prints one line per check ("ok" / "FAIL ...: expected ...,
# got ..."); this test fails when any check does.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
setup_store

CRYPTO_DRIVER=${P11_CRYPTO_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-crypto-driver}
[ -x "$CRYPTO_DRIVER" ] || fail "p11-crypto-driver not found at $CRYPTO_DRIVER" \
    "build it (make check builds it) or set P11_CRYPTO_DRIVER=/path/to/p11-crypto-driver"

SO=12345678
PIN=1234
init_app app1 "$SO" "$PIN"

step "p11-crypto-driver on token app1"
st=0
timeout -k 5 "$P11_TIMEOUT" "$CRYPTO_DRIVER" app1 "$PIN" >"$TEST_TMP/driver.out" 2>"$TEST_TMP/driver.err" </dev/null || st=$?
# The whole log goes to the test's .log file.
cat "$TEST_TMP/driver.out" >&2
summary=$(grep '^# [0-9]* checks' "$TEST_TMP/driver.out" || true)
if [ "$st" -ne 0 ]; then
    fails=$(grep '^FAIL' "$TEST_TMP/driver.out" || true)
    if [ "$st" -ge 124 ] || [ -z "$summary" ]; then
        fail "p11-crypto-driver crashed, hung or stopped early (exit $st)" \
            "last lines:" "$(tail -5 "$TEST_TMP/driver.out" | indent)" "stderr:" "$(indent <"$TEST_TMP/driver.err")"
    fi
    fail "p11-crypto-driver: ${summary#\# } (exit $st)" "failed checks:" "$(indent <<<"$fails")" \
        "stderr:" "$(indent <"$TEST_TMP/driver.err")"
fi
[ -n "$summary" ] || fail "p11-crypto-driver exited 0 without its summary line"

step "the token is still usable afterwards (no PIN tries lost, no objects left)"
expect_flags app1 "after the driver" -"user PIN count low" -"user PIN locked" -"final user PIN try"
object_count app1 --login --pin "$PIN"
[ "$N" -eq 1 ] || fail "the driver makes session objects only: expected only the card's network key, -O lists $N" \
    "output:" "$(indent <<<"$OUT")"
out_has "label:      NETWORKID" "-O after the driver"

say "PASS: ${summary#\# }"
