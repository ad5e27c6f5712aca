#!/bin/bash
# NSS (libnss3-tools) uses the module as a PKCS#11 token:
#  - modutil -add registers it in a temporary NSS database (sql:), and
#    modutil -list shows its token;
#  - certutil -L -h all lists a certificate pkcs11-tool wrote to the card;
#    certutil -K -h TOKEN lists the card's private keys by CKA_ID;
#  - certutil -G -k ec -q nistp256 -h TOKEN generates an EC key pair on the
#    card (pkcs11-tool then finds it), certutil -R makes a request with it
#    and certutil -S -x a self-signed certificate it stores on the card;
#    an RSA key made by pkcs11-tool signs a certificate too. openssl
#    checks every signature and finds the card's public key in them.
# NSS quirks, recorded here:
#  - certutil -S -t stores trust in a CKO_NSS_TRUST object, a vendor class
#    of NSS's own; the module refuses it (CKR_ATTRIBUTE_VALUE_INVALID, as
#    for any unknown class) and NSS keeps the trust in its own database
#    instead: the certificate itself is on the card.
#  - certutil names a token's certificates "TOKEN:nickname"; -n needs that
#    form, and -h TOKEN with the PIN file to find private objects.
#  - certutil -G needs noise (-z FILE) or it reads keystrokes from the
#    terminal; with no terminal NSS prints "Error opening input terminal
#    for read" where it would prompt, harmlessly once -f gives the PIN.
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
need_pkg certutil libnss3-tools
need_pkg modutil libnss3-tools
need_pkg openssl openssl
need_pkg xxd xxd

setup_store
SO=12345678
PIN=1234
D=$TEST_TMP
DB="sql:$D/nssdb"
printf '%s\n' "$PIN" >"$D/pin.txt"
head -c 64 /dev/urandom >"$D/noise"
CU=(certutil -d "$DB" -f "$D/pin.txt")

step "token nss: RSA-2048 and EC P-256 (pkcs11-tool), and a certificate written by pkcs11-tool"
interop_token nss "$SO" "$PIN"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=written -days 30 \
    -keyout "$D/written.key" -outform DER -out "$D/written.der" 2>/dev/null
p11_ok "write a certificate" "${T[@]}" --login --pin "$PIN" --write-object "$D/written.der" --type cert \
    --id 09 --label written

step "an empty NSS database; modutil -add the module"
mkdir "$D/nssdb"
tool_ok "certutil -N" certutil -N -d "$DB" --empty-password
tool_ok "modutil -add" modutil -dbdir "$DB" -add dmsc -libfile "$DMSC_MODULE" -force
out_has_all "modutil -add" 'Module "dmsc" added to database.'
tool_ok "modutil -list dmsc" modutil -dbdir "$DB" -list dmsc
out_has_all "modutil -list dmsc" "Library file: $DMSC_MODULE" "Manufacturer: dmsc" "Token Name: nss"

step "certutil -L -h all: the card's certificate"
tool_ok "certutil -L -h all" "${CU[@]}" -L -h all
out_has_all "certutil -L -h all" "nss:written"
tool_ok "certutil -L -n nss:written" "${CU[@]}" -L -h nss -n nss:written -a
printf '%s\n' "$OUT" | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' >"$D/written.pem"
a=$(openssl x509 -in "$D/written.pem" -outform DER 2>/dev/null | xxd -p | tr -d '\n') || true
[ "$a" = "$(hexof "$D/written.der")" ] ||
    fail "certutil -L -a: the certificate differs from the one written to the card" "output:" "$(indent <<<"$OUT")"

step "certutil -K -h nss: the card's private keys"
tool_ok "certutil -K -h nss" "${CU[@]}" -K -h nss
n=$(grep -cE '^< *[0-9]+> ' <<<"$OUT" || true)
[ "$n" -eq 2 ] || fail "certutil -K: expected 2 private keys, got $n" "output:" "$(indent <<<"$OUT")"
grep -qE '^< *[0-9]+> rsa +01 ' <<<"$OUT" || fail "certutil -K: no RSA key with ID 01" "output:" "$(indent <<<"$OUT")"
grep -qE '^< *[0-9]+> ec +02 ' <<<"$OUT" || fail "certutil -K: no EC key with ID 02" "output:" "$(indent <<<"$OUT")"
tool_fails "certutil -K with a wrong PIN" certutil -d "$DB" -K -h nss -f <(printf '9999\n')
out_has_all "certutil -K with a wrong PIN" "SEC_ERROR_BAD_PASSWORD"
p11_ok "the right PIN restores the count" "${T[@]}" --login --pin "$PIN" -O

step "certutil -G -k ec -q nistp256 -h nss: an EC key pair generated on the card"
tool_ok "certutil -G" "${CU[@]}" -G -h nss -k ec -q nistp256 -z "$D/noise"
tool_ok "certutil -K -h nss" "${CU[@]}" -K -h nss
n=$(grep -cE '^< *[0-9]+> ' <<<"$OUT" || true)
[ "$n" -eq 3 ] || fail "certutil -K after -G: expected 3 private keys, got $n" "output:" "$(indent <<<"$OUT")"
# NSS sets CKA_ID to the SHA-1 of the public value, after generation
# (C_SetAttributeValue); the key has no certificate yet: "(orphan)".
ID=$(awk '/^< *[0-9]+> ec .*\(orphan\)/ { print $(NF-1) }' <<<"$OUT")
[[ $ID =~ ^[0-9a-f]{40}$ ]] || fail "certutil -K: no orphan EC key with a 20-byte ID after -G" "output:" "$(indent <<<"$OUT")"
say "NSS key ID: $ID"
ec_point "$ID"
sha=$(xxd -r -p <<<"$POINT" | sha1sum | cut -d' ' -f1)
[ "$sha" = "$ID" ] || fail "the NSS key's CKA_ID is not the SHA-1 of its EC point" "ID:    $ID" "SHA-1: $sha"
p11_ok "pkcs11-tool lists the NSS key" "${T[@]}" --login --pin "$PIN" -O --type privkey --id "$ID"
out_has "Private Key Object; EC" "pkcs11-tool -O --id $ID"
out_has "never extractable, local" "pkcs11-tool -O --id $ID (generated on the card)"
read_pub "$ID" "$D/nss-gen.pem"
tool_ok "EC P-256" openssl pkey -pubin -in "$D/nss-gen.pem" -noout -text
out_has_all "the NSS key's curve" "NIST CURVE: P-256"

step "certutil -R: a certificate request signed with the NSS key on the card"
tool_ok "certutil -R" "${CU[@]}" -R -h nss -k "$ID" -s "CN=dmsc nss request" -a -o "$D/req.pem"
tool_ok "openssl req -verify" openssl req -in "$D/req.pem" -verify -noout -subject
out_has_all "openssl req -verify" "verify OK" "CN = dmsc nss request"
same_key "certutil -R request" "$D/req.pem" "$D/nss-gen.pem"

step "certutil -S -x: self-signed certificates on the card (the NSS EC key, pkcs11-tool's RSA key)"
for spec in "$ID:nssec:ec" "01:nssrsa:rsa"; do
    IFS=: read -r kid nick kind <<<"$spec"
    tool_ok "certutil -S -x ($nick)" "${CU[@]}" -S -x -h nss -k "$kid" -n "$nick" -s "CN=dmsc $nick" \
        -t "CT,," -Z SHA256 -v 12 -z "$D/noise"
    p11_ok "pkcs11-tool finds certificate $nick on the card" "${T[@]}" -O --type cert --label "$nick"
    out_has "DN: CN=dmsc $nick" "pkcs11-tool -O --type cert --label $nick"
    tool_ok "certutil -L -n nss:$nick" "${CU[@]}" -L -h nss -n "nss:$nick" -a
    printf '%s\n' "$OUT" | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' >"$D/$nick.pem"
    cert_self_signed_ok "certutil -S certificate ($nick)" "$D/$nick.pem"
    if [ "$kind" = ec ]; then pub=$D/nss-gen.pem; else pub=$D/nss-rsa.pem; fi
    same_key "certutil -S certificate ($nick)" "$D/$nick.pem" "$pub"
done

say "PASS"
