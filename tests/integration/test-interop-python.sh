#!/bin/bash
# Python: Debian's python3-pykcs11 loads the module, opens a session on a
# token found by its label, logs in (the session state follows, and a
# second session shares the login), and signs with card keys: RSA PKCS#1
# v1.5 and PSS (SHA-256) and ECDSA P-256 (SHA-256). openssl verifies each
# signature with the public key pkcs11-tool reads from the card; the same
# signature over changed data fails. The private key's CKA_PUBLIC_KEY_INFO
# is its public key. A wrong PIN is refused with
# CKR_PIN_INCORRECT. The client is tests/integration/pykcs11-sign.py.
# Quirk, recorded here: the Debian package installs PyKCS11 for Debian's
# interpreter, /usr/bin/python3; another python3 earlier in PATH (pyenv, a
# virtualenv) does not see it, so the test runs /usr/bin/python3
# (DMSC_PYTHON overrides it).
# The tools are installed in CI: a missing one fails the test, naming its
# Debian package.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crypto-lib.sh
. "$(dirname "$0")/crypto-lib.sh"
# shellcheck source=interop-lib.sh
. "$(dirname "$0")/interop-lib.sh"

check_module
PY=${DMSC_PYTHON:-/usr/bin/python3}
need_pkg "$PY" python3
"$PY" -c 'import PyKCS11' 2>/dev/null ||
    fail "$PY cannot import PyKCS11: install the Debian package python3-pykcs11 (scripts/bootstrap.sh installs it)"
need_pkg openssl openssl
need_pkg xxd xxd
SIGN=$DMSC_SRCDIR/tests/integration/pykcs11-sign.py
[ -f "$SIGN" ] || fail "the Python client is missing: $SIGN"

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP
head -c 3000 /dev/urandom >"$D/data"
cp "$D/data" "$D/data-altered"
printf 'x' >>"$D/data-altered"

step "token py: RSA-2048 and EC P-256 (pkcs11-tool)"
interop_token py "$SO" "$PIN"

step "PyKCS11 signs (RSA PKCS#1 v1.5, RSA-PSS, ECDSA); openssl verifies"
for spec in rsa-pkcs:rsa rsa-pss:rsa ecdsa:ec; do
    scheme=${spec%%:*}
    label=${spec#*:}
    opts=()
    [ "$scheme" != rsa-pss ] || opts=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256)
    rm -f "$D/sig-$scheme"
    tool_ok "PyKCS11 sign ($scheme)" "$PY" "$SIGN" "$DMSC_MODULE" py "$PIN" "$label" "$scheme" "$D/data" "$D/sig-$scheme"
    out_has_all "PyKCS11 sign ($scheme)" "signed 3000 bytes with '$label' ($scheme)"
    # The private key's CKA_PUBLIC_KEY_INFO is its public key, as openssl encodes it.
    spki_of "the card's public key ($label)" "$D/py-$label.pem"
    [ "$(sed -n 's/^spki=//p' <<<"$OUT")" = "$SPKI" ] ||
        fail "PyKCS11: CKA_PUBLIC_KEY_INFO of '$label' is not its public key" "output:" "$(indent <<<"$OUT")" "want: spki=$SPKI"
    tool_ok "openssl dgst -verify ($scheme)" openssl dgst -sha256 -verify "$D/py-$label.pem" "${opts[@]}" \
        -signature "$D/sig-$scheme" "$D/data"
    out_has_all "openssl dgst -verify ($scheme)" "Verified OK"
    tool_fails "openssl dgst -verify ($scheme) over changed data" openssl dgst -sha256 -verify "$D/py-$label.pem" \
        "${opts[@]}" -signature "$D/sig-$scheme" "$D/data-altered"
    out_has_all "openssl dgst -verify ($scheme) over changed data" "Verification failure"
done

step "PyKCS11 with a wrong PIN"
tool_fails "PyKCS11 with a wrong PIN" "$PY" "$SIGN" "$DMSC_MODULE" py 9999 rsa rsa-pkcs "$D/data" "$D/sig-bad"
[ "$RC" -eq 3 ] || fail "PyKCS11 with a wrong PIN: expected exit 3 (login refused), got $RC" "output:" "$(indent <<<"$OUT")"
out_has_all "PyKCS11 with a wrong PIN" "CKR_PIN_INCORRECT"
expect_flags py "after one wrong PIN from PyKCS11" +"user PIN count low"

say "PASS"
