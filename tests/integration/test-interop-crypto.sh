#!/bin/bash
# Other real PKCS#11 clients sign with the module's keys:
#  - GnuTLS: p11tool --list-tokens, --list-all, --list-all-privkeys,
#    --export-pubkey, --test-sign (RSA PKCS#1 v1.5 and PSS, EC P-256 and
#    P-384, Ed25519) with the user PIN from GNUTLS_PIN and from --set-pin
#  - OpenSSL through libp11's engine (Debian: libengine-pkcs11-openssl,
#    engine "pkcs11", MODULE_PATH from an OPENSSL_CONF file): openssl dgst
#    -engine pkcs11 -keyform engine -sign "pkcs11:...?pin-value=..." with
#    an RSA and an EC key; plain openssl verifies the signatures.
# The tools are installed in CI: a missing one fails the test, naming its
# Debian package.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module

# need_pkg COMMAND PACKAGE: the tool must be there (CI installs it).
need_pkg() {
    command -v "$1" >/dev/null 2>&1 ||
        fail "'$1' is not installed: install the Debian package $2 (CI installs it)"
}
need_pkg p11tool gnutls-bin
need_pkg openssl openssl
need_pkg xxd xxd
need_pkg cmp diffutils
ENGINESDIR=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
if [ -z "$ENGINESDIR" ] || [ ! -f "$ENGINESDIR/pkcs11.so" ]; then
    fail "OpenSSL's pkcs11 engine is not installed ($ENGINESDIR/pkcs11.so): install the Debian package libengine-pkcs11-openssl (CI installs it)"
fi

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP
head -c 1000 /dev/urandom >"$D/data"

# tool_ok WHAT COMMAND...: run a client (bounded); sets OUT and RC; fails
# unless it succeeds.
tool_ok() {
    local what=$1
    shift
    RC=0
    OUT=$(timeout -k 5 "$P11_TIMEOUT" "$@" 2>&1 </dev/null) || RC=$?
    if [ "$RC" -ne 0 ]; then
        fail "$what: expected success, exit $RC" "command: $*" "output:" "$(indent <<<"$OUT")"
    fi
}

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

# ------------------------------------------------------------------ OpenSSL engine
# libp11 0.4.12 (Debian 12) stops enumerating a token's keys at the first
# key type it does not know ("Unable to enumerate private keys" on
# CKK_EC_EDWARDS; later libp11 skips them): its token holds RSA and EC only.
step "token eng: RSA-2048 and EC P-256 for libp11's OpenSSL engine"
init_app eng "$SO" "$PIN"
E=(--token-label eng --login --pin "$PIN")
p11_ok "generate RSA-2048 on eng" "${E[@]}" --keypairgen --key-type rsa:2048 --id 01 --label rsa
p11_ok "generate EC P-256 on eng" "${E[@]}" --keypairgen --key-type EC:prime256v1 --id 02 --label ec
for spec in rsa:01 ec:02; do
    rm -f "$D/eng-${spec%%:*}.der"
    p11_ok "read public key ${spec#*:} of eng" --token-label eng --read-object --type pubkey --id "${spec#*:}" \
        -o "$D/eng-${spec%%:*}.der"
    openssl pkey -pubin -inform DER -in "$D/eng-${spec%%:*}.der" -out "$D/eng-${spec%%:*}.pem"
done

cat >"$D/openssl.cnf" <<EOF
openssl_conf = openssl_init

[openssl_init]
engines = engine_section

[engine_section]
pkcs11 = pkcs11_section

[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINESDIR/pkcs11.so
MODULE_PATH = $DMSC_MODULE
init = 0
EOF

step "OpenSSL engine pkcs11 loads the module"
tool_ok "openssl engine -t pkcs11" env OPENSSL_CONF="$D/openssl.cnf" openssl engine -t -c pkcs11
grep -qF "[ available ]" <<<"$OUT" || fail "openssl engine pkcs11 is not available" "output:" "$(indent <<<"$OUT")"

step "OpenSSL signs through the engine (openssl dgst -engine pkcs11 -keyform engine), plain openssl verifies"
for label in rsa ec; do
    key="pkcs11:token=eng;object=$label;type=private?pin-value=$PIN"
    rm -f "$D/sig-$label"
    tool_ok "openssl dgst -engine pkcs11 -sign ($label)" env OPENSSL_CONF="$D/openssl.cnf" \
        openssl dgst -engine pkcs11 -keyform engine -sign "$key" -sha256 -out "$D/sig-$label" "$D/data"
    [ -s "$D/sig-$label" ] || fail "openssl dgst -engine pkcs11 -sign ($label) wrote no signature" "output:" "$(indent <<<"$OUT")"
    tool_ok "openssl dgst -verify ($label)" openssl dgst -sha256 -verify "$D/eng-$label.pem" \
        -signature "$D/sig-$label" "$D/data"
    grep -qF "Verified OK" <<<"$OUT" || fail "openssl dgst -verify ($label): expected 'Verified OK'" "output:" "$(indent <<<"$OUT")"
done

say "PASS"
