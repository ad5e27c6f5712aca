#!/bin/bash
# The module with a PKCS#15 DM card in a PC/SC reader, end to end: a
# private pcscd with vsmartcard's virtual reader and the emulated card of
# tests/pcsc (pcsc-lib.sh, make-card.py), the module configured with
# `backends = vuicc pcsc`, driven by pkcs11-tool, dmsc and openssl.
#  - the reader's slot (0x10000) holds the card's token: label, serial =
#    the ICCID's last 16 digits, PIN lengths from the AODF; the second
#    (empty) reader's slot has no token
#  - the objects: bootstrap, MOs, certificates (the MA's trusted), the
#    public key; the private key only after login, with no private value
#  - dmsc status / bootstrap export / mo ls, get, put, rm: MOs written to
#    spare EFs with the DODF rewritten last; a write persists on the card
#    (the card taken out and put back, read by a new process); no spare
#    big enough: CKR_DEVICE_MEMORY, nothing changed
#  - a wrong PIN is counted by the card (63Cx): the token shows the count
#    low, the card's own counter says 2; the right PIN restores it
#  - the card signs (MSE + PSO, the DigestInfo padded on the card) and
#    openssl verifies with the card's certificate; dmsc sign and the DM
#    mechanism CKM_DMSC_SHA256_RSA_PKCS sign with the card key too
#  - PINs: CHANGE REFERENCE DATA, C_InitPIN with the PUK; a card reset by
#    another application ends the login; C_WaitForSlotEvent sees removal
#    and insertion
#  - card removal: no token in the slot; reinsertion: the token is back
#
# What the emulated card lacks against a real UICC (see
# /work/briefs/vicc-notes.md and tests/pcsc/dmcard.py): T=1 only (no T=0
# 6Cxx), transparent EFs only (EF(DIR) is no linear file), RSA PKCS#1 v1.5
# and ECDSA P-256 signatures only (the EC key: test-pcsc-ecdsa.sh), no
# secure messaging, and no atomic
# transactions across EFs.
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

check_module
need_cmd openssl cmp xxd
setup_store
pcsc_need

SLOT=$((0x10000))
SLOT_EMPTY=$((0x10001))
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:-.}/dmsc}
[ -x "$DMSC" ] || fail "the dmsc tool was not built ($DMSC)"
SERIAL=${PCSC_ICCID: -16}
TOKEN="pkcs11:serial=$SERIAL"

cat >"$DMSC_CONF" <<EOF
backends = vuicc pcsc
EOF

pcsc_make_card
pcsc_start

# pk ARGS...: pkcs11-tool on the card's slot.
pk() { run_p11 --slot "$SLOT" "$@"; }
pk_ok() {
    local what=$1
    shift
    p11_ok "$what" --slot "$SLOT" "$@"
}
has() { grep -qF -- "$1" <<<"$OUT" || fail "$2: '$1' is not in the output" "$(indent <<<"$OUT")"; }
lacks() { ! grep -qF -- "$1" <<<"$OUT" || fail "$2: '$1' is in the output" "$(indent <<<"$OUT")"; }

step "the reader's slot holds the card's token"
p11_ok "list slots" -L
slot_block=$(awk -v s="(0x10000)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
grep -qF "DMSC test vpcd 00 00" <<<"$slot_block" || fail "slot 0x10000 is not the reader" "$(indent <<<"$OUT")"
grep -qE "token label +: DM\$" <<<"$slot_block" || fail "the token label is not the card's" "$(indent <<<"$OUT")"
grep -qE "serial num +: $SERIAL\$" <<<"$slot_block" || fail "the serial is not the ICCID's last 16 digits" "$(indent <<<"$OUT")"
grep -qE "pin min/max +: 4/8\$" <<<"$slot_block" || fail "the PIN lengths are not the AODF's" "$(indent <<<"$OUT")"
empty_block=$(awk -v s="(0x10001)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
grep -qF "(empty)" <<<"$empty_block" || fail "the empty reader's slot shows a token" "$(indent <<<"$OUT")"
expect_fail CKR_TOKEN_NOT_PRESENT "objects of the empty reader" --slot "$SLOT_EMPTY" -O

step "the card's objects, before and after login"
pk_ok "list objects" -O
has "label:          './DMAcc/OperatorX'" "MO"
has "label:          './FUMO'" "MO"
has "application:    'OMA-DM:BOOTSTRAP'" "bootstrap"
has "Certificate Object" "certificates"
has "Public Key Object; RSA 2048 bits" "public key"
lacks "Private Key Object" "private key before login"
lacks "OMA-DM:SPARE" "spare EFs"
[ "$(grep -c "Certificate Object" <<<"$OUT")" -eq 2 ] || fail "not 2 certificates" "$(indent <<<"$OUT")"
pk_ok "list objects after login" -O --login --pin "$PCSC_PIN"
has "Private Key Object; RSA" "private key after login"
has "never extractable" "private key attributes"
pk_ok "the trusted MA certificate" --read-object --type cert --id 10 -o "$TEST_TMP/ma.der"
openssl x509 -inform DER -in "$TEST_TMP/ma.der" -noout -fingerprint -sha256 >"$TEST_TMP/ma.fp"
openssl x509 -in "$PCSC_MA_CERT" -noout -fingerprint -sha256 >"$TEST_TMP/ma-file.fp"
cmp -s "$TEST_TMP/ma.fp" "$TEST_TMP/ma-file.fp" || fail "the MA certificate read is not the one on the card"
pk_ok "the bootstrap object" --read-object --type data --application-label OMA-DM:BOOTSTRAP -o "$TEST_TMP/boot.bin"
cmp -s "$TEST_TMP/boot.bin" "$PCSC_BOOTSTRAP" || fail "the bootstrap read differs from the card's file"

step "dmsc status, bootstrap export, mo ls/get"
dm_ok "dmsc status" status
has "ICCID:          $SERIAL" "status ICCID"
has "bootstrap:      present ($(stat -c %s "$PCSC_BOOTSTRAP") bytes)" "status bootstrap"
has "MOs:            2 (" "status MOs"
dm_ok "dmsc bootstrap export" bootstrap export --accounts "$TEST_TMP/accounts.json" --tnds "$TEST_TMP/boot.tnds"
grep -q "OperatorX" "$TEST_TMP/accounts.json" || fail "the bootstrap's DM account is not exported" "$(indent <"$TEST_TMP/accounts.json")"
grep -q "<MgmtTree" "$TEST_TMP/boot.tnds" || fail "the bootstrap's tree is not exported as TNDS"
dm_ok "dmsc mo ls" mo ls
has "./DMAcc/OperatorX" "mo ls"
has "./FUMO" "mo ls"
dm_ok "dmsc mo get" mo get ./FUMO
# (both without trailing newlines: $(...) drops them)
cmp -s <(printf '%s' "$OUT") <(printf '%s' "$(cat "$PCSC_MO_FUMO")") ||
    fail "mo get ./FUMO is not the card's value" "$(indent <<<"$OUT")"

step "mo put / rm write the card (spare EF, DODF last)"
cat >"$TEST_TMP/new.xml" <<'EOF'
<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>Test</NodeName><Node><NodeName>Name</NodeName><Value>written by test-pcsc-module</Value></Node></Node></MgmtTree>
EOF
dm_ok "dmsc mo put (new MO)" --pin "$PCSC_PIN" mo put --public ./Test "$TEST_TMP/new.xml"
dm_ok "dmsc mo put (replace ./DMAcc/OperatorX)" --pin "$PCSC_PIN" mo put ./DMAcc/OperatorX "$PCSC_MO_FUMO"
dm_ok "mo get of the new MO" mo get ./Test
has "written by test-pcsc-module" "the new MO"
pcsc_card_remove
run_p11 -L
slot_block=$(awk -v s="(0x10000)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
grep -qF "(empty)" <<<"$slot_block" || fail "the card was taken out, slot 0x10000 still shows a token" "$(indent <<<"$OUT")"
expect_fail CKR_TOKEN_NOT_PRESENT "objects with no card" --slot "$SLOT" -O
pcsc_card_insert
dm_ok "mo get after the card came back" mo get ./Test
has "written by test-pcsc-module" "the new MO persisted on the card"
dm_ok "mo get of the replaced MO" mo get ./DMAcc/OperatorX
cmp -s <(printf '%s' "$OUT") <(printf '%s' "$(cat "$PCSC_MO_FUMO")") ||
    fail "./DMAcc/OperatorX is not the value put" "$(indent <<<"$OUT")"
dm_ok "dmsc mo rm" --pin "$PCSC_PIN" mo rm ./Test
dm_ok "mo ls after rm" mo ls
lacks "./Test" "the removed MO"
has "./DMAcc/OperatorX" "the other MOs stay"

step "two processes: a write checks the DODF is still the one it read"
sed 's/<NodeName>Test</<NodeName>Other</' "$TEST_TMP/new.xml" >"$TEST_TMP/other.xml"
need_driver
drv_start two
drv_expect two init ok
drv_expect two "open DM" ok
drv_expect two "login $PCSC_PIN" ok
drv_expect two "find ./FUMO" "count 1"
dm_ok "another process puts an MO" --pin "$PCSC_PIN" mo put --public ./Other "$TEST_TMP/other.xml"
# Its logout made the card forget the PIN (a card's security status is
# card-wide): this session's login ended with it.
drv_expect two "destroy ./FUMO" "err CKR_USER_NOT_LOGGED_IN*"
drv_expect two "login $PCSC_PIN" ok
drv_expect two "destroy ./FUMO" ok
drv_stop two
dm_ok "mo ls after both writes" mo ls
has "./Other" "the other process's MO survives the second write"
lacks "./FUMO" "the destroyed MO"

step "no spare EF big enough: CKR_DEVICE_MEMORY, nothing changed"
head -c 3000 /dev/zero | tr '\0' 'x' >"$TEST_TMP/big.bin"
expect_fail CKR_DEVICE_MEMORY "a 3000-byte MO (spares hold 2048)" --slot "$SLOT" --login --pin "$PCSC_PIN" \
    --write-object "$TEST_TMP/big.bin" --type data --label ./Big --application-label OMA-DM:MO
dm_ok "mo ls after the refused write" mo ls
lacks "./Big" "the refused MO"
expect_fail CKR_USER_NOT_LOGGED_IN "a write without the PIN (the card's access rule)" --slot "$SLOT" \
    --write-object "$TEST_TMP/new.xml" --type data --label ./NoPin --application-label OMA-DM:MO

step "a wrong PIN is counted by the card"
expect_fail CKR_PIN_INCORRECT "login with a wrong PIN" --slot "$SLOT" --login --pin 0000 -O
run_p11 -L
slot_block=$(awk -v s="(0x10000)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
grep -qF "user PIN count low" <<<"$slot_block" || fail "the token does not show the count low" "$(indent <<<"$OUT")"
dm_ok "dmsc status after a wrong PIN" status
has "user PIN:       count low" "status PIN state"
pcsc_card_remove
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the card's own counter is not 2 ($(pcsc_image_pin_tries 1))"
pcsc_card_insert
pk_ok "the right PIN" --login --pin "$PCSC_PIN" -O
run_p11 -L
slot_block=$(awk -v s="(0x10000)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
! grep -qF "count low" <<<"$slot_block" || fail "the right PIN did not restore the counter" "$(indent <<<"$OUT")"

step "PINs: CHANGE REFERENCE DATA, and C_InitPIN with the PUK (RESET RETRY COUNTER)"
need_driver
drv_start pin
drv_expect pin init ok
drv_expect pin "open DM" ok
drv_expect pin "setpin $PCSC_PIN 5678" ok
drv_expect pin "login $PCSC_PIN" "err CKR_PIN_INCORRECT*"
drv_expect pin "login 5678" ok
drv_expect pin logout ok
drv_expect pin "sologin 87654321" "err CKR_PIN_INCORRECT*"
drv_expect pin "sologin $PCSC_PUK" ok
drv_expect pin "initpin $PCSC_PIN" ok
drv_expect pin logout ok
drv_expect pin "login 5678" "err CKR_PIN_INCORRECT*"
drv_expect pin "login $PCSC_PIN" ok
drv_expect pin logout ok

step "a card reset by another application ends the login"
drv_expect pin "login $PCSC_PIN" ok
opensc-tool -r 0 --reset >"$TEST_TMP/reset.log" 2>&1 || fail "opensc-tool could not reset the card" "$(indent <"$TEST_TMP/reset.log")"
# The next command that talks to the card notices the reset.
drv pin flags
drv pin "createpriv after-reset"
case $DRV_OUT in
"err CKR_USER_NOT_LOGGED_IN"* | "err CKR_SESSION_HANDLE_INVALID"* | "err CKR_SESSION_CLOSED"* | "err CKR_DEVICE_REMOVED"*) ;;
*) fail "after the reset the session is still logged in: createpriv said '$DRV_OUT'" ;;
esac
drv_stop pin

step "C_WaitForSlotEvent: removal and insertion are events of the reader's slot"
DRIVER=${P11_EVENT_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-event-driver}
[ -x "$DRIVER" ] || fail "p11-event-driver not found at $DRIVER"
drv_start ev
for _ in 1 2 3 4; do
    drv ev poll
    [ "$DRV_OUT" = CKR_NO_EVENT ] && break
done
[ "$DRV_OUT" = CKR_NO_EVENT ] || fail "events keep coming with nothing happening: $DRV_OUT"
pcsc_card_remove
drv_expect ev poll "event 0x10000"
drv_expect ev poll CKR_NO_EVENT
pcsc_card_insert
drv_expect ev poll "event 0x10000"
drv_stop ev
p11_ok "the token after reinsertion" -L
slot_block=$(awk -v s="(0x10000)" 'index($0, s) { on = 1 } /^Slot / && !index($0, s) { on = 0 } on' <<<"$OUT")
grep -qE "serial num +: $SERIAL\$" <<<"$slot_block" || fail "the token is not back after reinsertion" "$(indent <<<"$OUT")"

step "the card signs; openssl verifies with the card's certificate"
printf 'a DM message to sign\n' >"$TEST_TMP/msg"
pk_ok "sign on the card" --login --pin "$PCSC_PIN" --sign -m SHA256-RSA-PKCS --id 01 \
    -i "$TEST_TMP/msg" -o "$TEST_TMP/msg.sig"
pk_ok "the card's certificate" --read-object --type cert --id 01 -o "$TEST_TMP/card.der"
openssl x509 -inform DER -in "$TEST_TMP/card.der" -pubkey -noout >"$TEST_TMP/card-pub.pem"
openssl dgst -sha256 -verify "$TEST_TMP/card-pub.pem" -signature "$TEST_TMP/msg.sig" "$TEST_TMP/msg" >/dev/null ||
    fail "openssl does not verify the card's signature"
cmp -s "$TEST_TMP/card-pub.pem" "$PCSC_PUBKEY" || fail "the certificate's key is not the card key"
printf 'another message\n' >"$TEST_TMP/msg2"
! openssl dgst -sha256 -verify "$TEST_TMP/card-pub.pem" -signature "$TEST_TMP/msg.sig" "$TEST_TMP/msg2" >/dev/null 2>&1 ||
    fail "the signature verifies another message: the check proves nothing"

step "a DM mechanism with the card key: dmsc sign and CKM_DMSC_SHA256_RSA_PKCS give one signature"
cp "${DMSC_SRCDIR:-.}/examples/demo-card/bootstrap.xml" "$TEST_TMP/dm.xml"
dm_ok "dmsc sign with the card key" --pin "$PCSC_PIN" sign --key "DM device key" -o "$TEST_TMP/dm.sig" "$TEST_TMP/dm.xml"
"$DMSC" -q canon "$TEST_TMP/dm.xml" >"$TEST_TMP/dm.canon" || fail "dmsc canon failed"
openssl dgst -sha256 -verify "$TEST_TMP/card-pub.pem" -signature "$TEST_TMP/dm.sig" "$TEST_TMP/dm.canon" >/dev/null ||
    fail "openssl does not verify dmsc sign's signature over the canonical form"
# CKM_DMSC_SHA256_RSA_PKCS = CKM_VENDOR_DEFINED | 0x444D0010 (<dmsc/pkcs11-dm.h>)
pk_ok "CKM_DMSC_SHA256_RSA_PKCS on the card" --login --pin "$PCSC_PIN" --sign -m 0xC44D0010 --id 01 \
    -i "$TEST_TMP/dm.xml" -o "$TEST_TMP/dm2.sig"
cmp -s "$TEST_TMP/dm.sig" "$TEST_TMP/dm2.sig" || fail "the DM mechanism's signature differs from dmsc sign's"

say "ok"
