#!/bin/bash
# OpenSSL signs with the module's keys through Debian's libp11 engine
# (libengine-pkcs11-openssl: engine "pkcs11", MODULE_PATH from an
# OPENSSL_CONF file), keys and public keys named by pkcs11: URIs:
#  - openssl engine -t pkcs11 loads the module;
#  - openssl dgst and openssl pkeyutl -engine pkcs11 -keyform engine sign
#    with an RSA and an EC key; plain openssl verifies the signatures, and
#    so does the engine with the card's public key ("...;type=public");
#  - openssl req -x509 -engine pkcs11 -keyform engine -key "pkcs11:..."
#    makes self-signed certificates, openssl req -new a request; plain
#    openssl verifies them and finds the card's public key in them.
# Quirks of libp11 0.4.12 (Debian 12), recorded here:
#  - it stops enumerating a token's keys at the first key type it does not
#    know ("Unable to enumerate private keys" on CKK_EC_EDWARDS; later
#    libp11 skips them), so its token holds RSA and EC keys only;
#  - without "?pin-value=" in the URI it asks for the PIN on the terminal
#    (here /dev/null, so it cannot log in and signing fails).
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
need_pkg openssl openssl
need_pkg xxd xxd

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP
head -c 1000 /dev/urandom >"$D/data"
cp "$D/data" "$D/data-altered"
printf 'x' >>"$D/data-altered"

step "token eng: RSA-2048 and EC P-256 for libp11's OpenSSL engine"
interop_token eng "$SO" "$PIN"
engine_conf "$D/openssl.cnf"
export OPENSSL_CONF="$D/openssl.cnf"
ENG=(-engine pkcs11 -keyform engine)

step "OpenSSL engine pkcs11 loads the module"
tool_ok "openssl engine -t pkcs11" openssl engine -t -c pkcs11
out_has_all "openssl engine pkcs11" "[ available ]"

step "openssl dgst -engine pkcs11 -sign with pkcs11: URIs; plain openssl and the engine (the card's public key) verify"
for label in rsa ec; do
    key="pkcs11:token=eng;object=$label;type=private?pin-value=$PIN"
    pub="pkcs11:token=eng;object=$label;type=public"
    rm -f "$D/sig-$label"
    tool_ok "openssl dgst -engine pkcs11 -sign ($label)" openssl dgst "${ENG[@]}" -sign "$key" -sha256 \
        -out "$D/sig-$label" "$D/data"
    [ -s "$D/sig-$label" ] || fail "openssl dgst -engine pkcs11 -sign ($label) wrote no signature" "output:" "$(indent <<<"$OUT")"
    tool_ok "openssl dgst -verify ($label, plain openssl)" env -u OPENSSL_CONF openssl dgst -sha256 \
        -verify "$D/eng-$label.pem" -signature "$D/sig-$label" "$D/data"
    out_has_all "openssl dgst -verify ($label)" "Verified OK"
    tool_ok "openssl dgst -engine pkcs11 -verify ($label, $pub)" openssl dgst "${ENG[@]}" -sha256 \
        -verify "$pub" -signature "$D/sig-$label" "$D/data"
    out_has_all "openssl dgst -engine pkcs11 -verify ($label)" "Verified OK"
    tool_fails "openssl dgst -engine pkcs11 -verify ($label) of altered data" openssl dgst "${ENG[@]}" -sha256 \
        -verify "$pub" -signature "$D/sig-$label" "$D/data-altered"
    out_has_all "openssl dgst -engine pkcs11 -verify ($label) of altered data" "Verification failure"
done

step "openssl pkeyutl -engine pkcs11 -sign / -verify (SHA-256 digest signed on the card)"
openssl dgst -sha256 -binary -out "$D/data.sha256" "$D/data"
for label in rsa ec; do
    # RSA: PKCS#1 v1.5 with the DigestInfo of SHA-256; ECDSA signs the hash as is.
    opts=()
    [ "$label" = ec ] || opts=(-pkeyopt digest:sha256)
    key="pkcs11:token=eng;object=$label;type=private?pin-value=$PIN"
    pub="pkcs11:token=eng;object=$label;type=public"
    rm -f "$D/psig-$label"
    tool_ok "openssl pkeyutl -engine pkcs11 -sign ($label)" openssl pkeyutl "${ENG[@]}" -sign -inkey "$key" \
        "${opts[@]}" -in "$D/data.sha256" -out "$D/psig-$label"
    tool_ok "openssl pkeyutl -verify ($label, plain openssl)" env -u OPENSSL_CONF openssl pkeyutl -verify -pubin \
        -inkey "$D/eng-$label.pem" "${opts[@]}" -in "$D/data.sha256" -sigfile "$D/psig-$label"
    out_has_all "openssl pkeyutl -verify ($label)" "Signature Verified Successfully"
    tool_ok "openssl pkeyutl -engine pkcs11 -verify ($label, $pub)" openssl pkeyutl "${ENG[@]}" -verify -pubin \
        -inkey "$pub" "${opts[@]}" -in "$D/data.sha256" -sigfile "$D/psig-$label"
    out_has_all "openssl pkeyutl -engine pkcs11 -verify ($label)" "Signature Verified Successfully"
done

step "openssl req -x509 -engine pkcs11 -keyform engine -key pkcs11:...: self-signed certificates"
for label in rsa ec; do
    key="pkcs11:token=eng;object=$label;type=private?pin-value=$PIN"
    rm -f "$D/cert-$label.pem"
    tool_ok "openssl req -x509 -engine pkcs11 ($label)" openssl req -new -x509 "${ENG[@]}" -key "$key" \
        -subj "/CN=dmsc openssl $label" -days 30 -sha256 -out "$D/cert-$label.pem"
    cert_self_signed_ok "openssl req -x509 certificate ($label)" "$D/cert-$label.pem"
    same_key "openssl req -x509 certificate ($label)" "$D/cert-$label.pem" "$D/eng-$label.pem"
    tool_ok "openssl x509 ($label)" openssl x509 -in "$D/cert-$label.pem" -noout -subject
    out_has_all "openssl req -x509 certificate ($label)" "CN = dmsc openssl $label"
done

step "openssl req -new -engine pkcs11: a certificate request signed with the card's EC key"
tool_ok "openssl req -new -engine pkcs11" openssl req -new "${ENG[@]}" \
    -key "pkcs11:token=eng;object=ec;type=private?pin-value=$PIN" -subj "/CN=dmsc request" -out "$D/req.pem"
tool_ok "openssl req -verify" env -u OPENSSL_CONF openssl req -in "$D/req.pem" -verify -noout
out_has_all "openssl req -verify" "verify OK"
same_key "openssl req -new request" "$D/req.pem" "$D/eng-ec.pem"

step "without the PIN the engine cannot sign"
rm -f "$D/nopin.sig"
tool_fails "openssl dgst -engine pkcs11 -sign without pin-value" openssl dgst "${ENG[@]}" \
    -sign "pkcs11:token=eng;object=rsa;type=private" -sha256 -out "$D/nopin.sig" "$D/data"
[ ! -s "$D/nopin.sig" ] || fail "openssl dgst -engine pkcs11 -sign without the PIN wrote a signature"

say "PASS"
