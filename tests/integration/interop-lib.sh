# shellcheck shell=bash
# Helpers of the interop tests (test-interop-*.sh): other PKCS#11
# applications (GnuTLS, OpenSSL's libp11 engine, NSS, Java, Python) on the
# built module. Source after lib.sh and crypto-lib.sh, after setup_store;
# the caller sets D (a scratch directory).

# need_pkg COMMAND PACKAGE: the tool must be there. CI installs every
# package the tests use (scripts/bootstrap.sh), so a missing one is a
# failure naming its Debian package, never a silent skip.
need_pkg() {
    command -v "$1" >/dev/null 2>&1 ||
        fail "'$1' is not installed: install the Debian package $2 (scripts/bootstrap.sh installs it)"
}

# tool_ok WHAT COMMAND...: run a client (bounded, no terminal); sets OUT
# (stdout and stderr) and RC; fails unless it succeeds.
tool_ok() {
    local what=$1
    shift
    RC=0
    OUT=$(timeout -k 5 "$P11_TIMEOUT" "$@" 2>&1 </dev/null) || RC=$?
    if [ "$RC" -ne 0 ]; then
        fail "$what: expected success, exit $RC" "command: $*" "output:" "$(indent <<<"$OUT")"
    fi
}

# tool_fails WHAT COMMAND...: a client must refuse: a non-zero exit that
# is not a hang (timeout's 124, 137) or a signal (128 + N); NSS exits 255
# on a refusal. Sets OUT and RC.
tool_fails() {
    local what=$1
    shift
    RC=0
    OUT=$(timeout -k 5 "$P11_TIMEOUT" "$@" 2>&1 </dev/null) || RC=$?
    if [ "$RC" -eq 0 ] || { [ "$RC" -ge 124 ] && [ "$RC" -le 192 ]; }; then
        fail "$what: expected a refusal, got exit $RC" "command: $*" "output:" "$(indent <<<"$OUT")"
    fi
}

# out_has_all WHAT TEXT...: OUT must contain every TEXT (fixed strings).
out_has_all() {
    local what=$1 want
    shift
    for want in "$@"; do
        grep -qF -- "$want" <<<"$OUT" || fail "$what: expected '$want'" "output:" "$(indent <<<"$OUT")"
    done
}

# interop_token LABEL SO PIN: a new application LABEL with an RSA-2048 key
# pair (ID 01, label rsa) and an EC P-256 key pair (ID 02, label ec),
# generated on the card by pkcs11-tool; their public keys, as the token
# gives them, in $D/LABEL-rsa.pem and $D/LABEL-ec.pem (the independent
# reference the tests verify against). Sets T to the pkcs11-tool arguments
# selecting the token.
interop_token() {
    local label=$1 so=$2 pin=$3
    init_app "$label" "$so" "$pin"
    T=(--token-label "$label")
    p11_ok "generate RSA-2048 on $label" "${T[@]}" --login --pin "$pin" \
        --keypairgen --key-type rsa:2048 --id 01 --label rsa
    p11_ok "generate EC P-256 on $label" "${T[@]}" --login --pin "$pin" \
        --keypairgen --key-type EC:prime256v1 --id 02 --label ec
    read_pub 01 "$D/$label-rsa.pem"
    read_pub 02 "$D/$label-ec.pem"
}

# spki_of WHAT FILE: sets SPKI to the hex DER SubjectPublicKeyInfo of a
# public key, certificate or certificate request (PEM) in FILE.
SPKI=
spki_of() {
    local what=$1 f=$2 pem
    if grep -q -- '-----BEGIN .*CERTIFICATE REQUEST-----' "$f"; then
        pem=$(openssl req -in "$f" -noout -pubkey 2>&1) || true
    elif grep -q -- '-----BEGIN CERTIFICATE-----' "$f"; then
        pem=$(openssl x509 -in "$f" -noout -pubkey 2>&1) || true
    else
        pem=$(cat "$f")
    fi
    SPKI=$(openssl pkey -pubin -outform DER <<<"$pem" 2>/dev/null | xxd -p | tr -d '\n') || true
    [ -n "$SPKI" ] || fail "$what: openssl finds no public key in $f" "$(indent <"$f")"
}

# same_key WHAT FILE PUBPEM: the public key in FILE (certificate, request
# or key) must be the card's key PUBPEM.
same_key() {
    local a
    spki_of "$1" "$2"
    a=$SPKI
    spki_of "$1 (the card's public key)" "$3"
    [ "$a" = "$SPKI" ] || fail "$1: the public key is not the card's key" "in $2: $a" "card:  $SPKI"
}

# engine_conf FILE: an OPENSSL_CONF for libp11's engine on the module
# under test (Debian 12: libengine-pkcs11-openssl, engine id "pkcs11";
# MODULE_PATH selects the module, init = 0 loads it on first use).
engine_conf() {
    local enginesdir
    enginesdir=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
    if [ -z "$enginesdir" ] || [ ! -f "$enginesdir/pkcs11.so" ]; then
        fail "OpenSSL's pkcs11 engine is not installed ($enginesdir/pkcs11.so): install the Debian package libengine-pkcs11-openssl (scripts/bootstrap.sh installs it)"
    fi
    cat >"$1" <<EOF
openssl_conf = openssl_init

[openssl_init]
engines = engine_section

[engine_section]
pkcs11 = pkcs11_section

[pkcs11_section]
engine_id = pkcs11
dynamic_path = $enginesdir/pkcs11.so
MODULE_PATH = $DMSC_MODULE
init = 0
EOF
}

# cert_self_signed_ok WHAT CERT: openssl checks the self-signed certificate
# CERT (PEM) including its own signature (-check_ss_sig: without it a
# trust anchor's signature is never checked); then the same certificate
# with one bit of its signature flipped must fail with "certificate
# signature failure", so the first check is a real one.
cert_self_signed_ok() {
    local what=$1 cert=$2 hx last
    tool_ok "$what: openssl verify -check_ss_sig" openssl verify -check_ss_sig -CAfile "$cert" "$cert"
    out_has_all "$what: openssl verify -check_ss_sig" "$cert: OK"
    tool_ok "$what: openssl x509 -outform DER" openssl x509 -in "$cert" -outform DER -out "$D/ss.der"
    hx=$(xxd -p "$D/ss.der" | tr -d '\n')
    last=${hx: -1}
    hx="${hx:0:${#hx}-1}$(printf '%x' $((16#$last ^ 1)))"
    xxd -r -p <<<"$hx" >"$D/ss-bad.der"
    tool_ok "$what: openssl reads the altered certificate" openssl x509 -inform DER -in "$D/ss-bad.der" -out "$D/ss-bad.pem"
    tool_fails "$what: openssl verify of the altered certificate" \
        openssl verify -check_ss_sig -CAfile "$D/ss-bad.pem" "$D/ss-bad.pem"
    out_has_all "$what: openssl verify of the altered certificate" "certificate signature failure"
}
