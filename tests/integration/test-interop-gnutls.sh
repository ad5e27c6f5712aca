#!/bin/bash
# GnuTLS, a real PKCS#11 client, signs with the module's keys:
#  - p11tool --list-tokens, --list-all, --list-all-privkeys,
#    --export-pubkey, --test-sign (RSA PKCS#1 v1.5 and PSS, EC P-256 and
#    P-384, Ed25519) with the user PIN from GNUTLS_PIN and from --set-pin
#  - certtool --generate-self-signed and --generate-request with the
#    private key on the card (--load-privkey "pkcs11:..."): openssl
#    verifies the certificates and the request, and finds the card's
#    public key in them.
# (OpenSSL's libp11 engine: test-interop-openssl.sh.)
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

need_pkg p11tool gnutls-bin
need_pkg openssl openssl
need_pkg xxd xxd
need_pkg cmp diffutils
need_pkg certtool gnutls-bin

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP
head -c 1000 /dev/urandom >"$D/data"

# ------------------------------------------------------------------ keys
step "token app1: RSA-2048, EC P-256, EC P-384, Ed25519 key pairs (pkcs11-tool)"
init_app app1 "$SO" "$PIN"
L=(--token-label app1 --login --pin "$PIN")
p11_ok "generate RSA-2048" "${L[@]}" --keypairgen --key-type rsa:2048 --id 01 --label rsa
p11_ok "generate EC P-256" "${L[@]}" --keypairgen --key-type EC:prime256v1 --id 02 --label ec
p11_ok "generate EC P-384" "${L[@]}" --keypairgen --key-type EC:secp384r1 --id 03 --label ec384
p11_ok "generate Ed25519" "${L[@]}" --keypairgen --key-type EC:edwards25519 --id 04 --label ed

# ------------------------------------------------------------------ GnuTLS
P11TOOL=(p11tool --provider "$DMSC_MODULE")
step "GnuTLS p11tool --list-tokens"
tool_ok "p11tool --list-tokens" "${P11TOOL[@]}" --list-tokens
for want in "Label: app1" "Manufacturer: dmsc" "Model: virtual UICC" "token=app1"; do
    grep -qF -- "$want" <<<"$OUT" || fail "p11tool --list-tokens: expected '$want'" "output:" "$(indent <<<"$OUT")"
done
URL=$(sed -n 's/^[[:space:]]*URL: \(pkcs11:.*token=app1\)$/\1/p' <<<"$OUT" | head -1)
[ -n "$URL" ] || fail "p11tool --list-tokens: no URL for token app1" "output:" "$(indent <<<"$OUT")"
say "token URL: $URL"

step "GnuTLS p11tool --list-all (public objects) and --list-all-privkeys (with the PIN)"
tool_ok "p11tool --list-all" "${P11TOOL[@]}" --list-all "$URL"
for want in "Type: Public key (RSA-2048)" "Type: Public key (EC/ECDSA-SECP256R1)" \
    "Type: Public key (EC/ECDSA-SECP384R1)" "Type: Public key (EdDSA (Ed25519))"; do
    grep -qF -- "$want" <<<"$OUT" || fail "p11tool --list-all: expected '$want'" "output:" "$(indent <<<"$OUT")"
done
if grep -q "type=private" <<<"$OUT"; then
    fail "p11tool --list-all without login shows private keys" "output:" "$(indent <<<"$OUT")"
fi
tool_ok "p11tool --list-all-privkeys" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --list-all-privkeys "$URL"
n=$(grep -c "type=private" <<<"$OUT" || true)
[ "$n" -eq 4 ] || fail "p11tool --list-all-privkeys: expected 4 private keys, got $n" "output:" "$(indent <<<"$OUT")"
grep -qF "CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE" <<<"$OUT" ||
    fail "p11tool --list-all-privkeys: expected the keys flagged CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE" \
        "output:" "$(indent <<<"$OUT")"

step "GnuTLS p11tool --export-pubkey equals the key pkcs11-tool reads"
for spec in rsa:01 ec:02; do
    label=${spec%%:*}
    id=${spec#*:}
    tool_ok "p11tool --export-pubkey $label" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login \
        --export-pubkey "$URL;object=$label;type=private"
    printf '%s\n' "$OUT" | sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' >"$D/gnutls-$label.pem"
    rm -f "$D/p11-$label.der"
    p11_ok "read public key $id" --token-label app1 --read-object --type pubkey --id "$id" -o "$D/p11-$label.der"
    a=$(openssl pkey -pubin -in "$D/gnutls-$label.pem" -outform DER 2>&1 | xxd -p | tr -d '\n')
    b=$(openssl pkey -pubin -inform DER -in "$D/p11-$label.der" -outform DER 2>&1 | xxd -p | tr -d '\n')
    if [ -z "$a" ] || [ "$a" != "$b" ]; then
        fail "public key '$label': p11tool --export-pubkey and pkcs11-tool --read-object differ" \
            "p11tool:     $a" "pkcs11-tool: $b"
    fi
done

# test_sign WHAT P11TOOL-ARGS...: --test-sign must sign, and verify against
# the private key's parameters and against the token's public key.
test_sign() {
    local what=$1 want
    shift
    tool_ok "p11tool --test-sign ($what)" "$@"
    for want in "Signing using" "Verifying against private key parameters... ok" \
        "Verifying against public key in the token... ok"; do
        grep -qF -- "$want" <<<"$OUT" || fail "p11tool --test-sign ($what): expected '$want'" "output:" "$(indent <<<"$OUT")"
    done
    if grep -qi "fail" <<<"$OUT"; then
        fail "p11tool --test-sign ($what) reports a failure" "output:" "$(indent <<<"$OUT")"
    fi
    say "p11tool --test-sign ($what): $(grep -F "Signing using" <<<"$OUT")"
}

step "GnuTLS p11tool --test-sign with the user PIN"
test_sign "RSA, PIN from GNUTLS_PIN" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --test-sign "$URL;object=rsa;type=private"
test_sign "RSA, PIN from --set-pin" "${P11TOOL[@]}" --login --set-pin "$PIN" --test-sign "$URL;object=rsa;type=private"
test_sign "RSA-PSS" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --sign-params RSA-PSS \
    --test-sign "$URL;object=rsa;type=private"
grep -qF "RSA-PSS" <<<"$OUT" || fail "p11tool --sign-params RSA-PSS did not sign with RSA-PSS" "output:" "$(indent <<<"$OUT")"
test_sign "EC P-256" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --test-sign "$URL;object=ec;type=private"
test_sign "EC P-384" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --hash SHA384 --test-sign "$URL;object=ec384;type=private"
# GnuTLS pairs Ed25519 with SHA512 only (its default, SHA256, gives "No
# supported signature algorithm").
test_sign "Ed25519" env GNUTLS_PIN="$PIN" "${P11TOOL[@]}" --login --hash SHA512 --test-sign "$URL;object=ed;type=private"

# ------------------------------------------------------------------ certtool
# certtool signs with the card's private key; openssl, the independent
# reference, checks the signature and that the certified key is the card's.
# shellcheck disable=SC2034 # T is read by read_pub (crypto-lib.sh)
T=(--token-label app1)
read_pub 01 "$D/pub-rsa.pem"
read_pub 02 "$D/pub-ec.pem"
read_pub 04 "$D/pub-ed.pem"
cat >"$D/cert.tmpl" <<EOF
cn = "dmsc certtool"
serial = 7
expiration_days = 30
signing_key
EOF

step "GnuTLS certtool --generate-self-signed with the card's key (RSA, EC P-256, Ed25519); openssl verifies"
for label in rsa ec ed; do
    rm -f "$D/cert-$label.pem"
    tool_ok "certtool --generate-self-signed ($label)" env GNUTLS_PIN="$PIN" certtool --provider "$DMSC_MODULE" \
        --generate-self-signed --load-privkey "$URL;object=$label;type=private" \
        --template "$D/cert.tmpl" --outfile "$D/cert-$label.pem"
    [ -s "$D/cert-$label.pem" ] || fail "certtool --generate-self-signed ($label) wrote no certificate" "output:" "$(indent <<<"$OUT")"
    cert_self_signed_ok "certtool's certificate ($label)" "$D/cert-$label.pem"
    tool_ok "openssl x509 ($label)" openssl x509 -in "$D/cert-$label.pem" -noout -subject
    out_has_all "certtool's certificate ($label)" "CN = dmsc certtool"
    same_key "certtool's certificate ($label)" "$D/cert-$label.pem" "$D/pub-$label.pem"
done

step "GnuTLS certtool --generate-request with the card's EC key; openssl verifies the request"
tool_ok "certtool --generate-request" env GNUTLS_PIN="$PIN" certtool --provider "$DMSC_MODULE" \
    --generate-request --load-privkey "$URL;object=ec;type=private" --template "$D/cert.tmpl" --outfile "$D/req-ec.pem"
tool_ok "openssl req -verify" openssl req -in "$D/req-ec.pem" -verify -noout
out_has_all "openssl req -verify" "verify OK"
same_key "certtool's request" "$D/req-ec.pem" "$D/pub-ec.pem"

# Without a PIN, certtool in batch mode cannot log in: the key is private.
step "GnuTLS certtool without the PIN cannot sign"
tool_fails "certtool --generate-self-signed without GNUTLS_PIN" env -u GNUTLS_PIN certtool --provider "$DMSC_MODULE" \
    --generate-self-signed --load-privkey "$URL;object=rsa;type=private" --template "$D/cert.tmpl" --outfile "$D/nopin.pem"
out_has_all "certtool without GNUTLS_PIN" "No PIN given"
[ ! -s "$D/nopin.pem" ] || fail "certtool without GNUTLS_PIN wrote a certificate"
say "PASS"
