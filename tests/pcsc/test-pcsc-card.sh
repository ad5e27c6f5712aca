#!/bin/bash
# The emulated DM smart card, checked with OpenSC alone (not with dmsc):
# builds the card (make-card.py: PKCS#15 encoded with asn1crypto), starts a
# private pcscd with vpcd and the card (pcsc-lib.sh), and checks that
#  - opensc-tool lists the reader with the card, and the empty second reader;
#  - pkcs15-tool (libopensc's own PKCS#15 decoder) finds the token (ICCID
#    serial, label), the PIN and PUK with their references and flags, the
#    RSA-2048 key with its key reference, its public key and certificate
#    (same bytes as the PEMs openssl made), the EC P-256 key (key reference
#    2) and its public key (same bytes), the trusted MA certificate, the
#    bootstrap data object (OID 2.23.43.7.1, same bytes as the WBXML), the
#    two MOs and the three spare EFs;
#  - a wrong PIN through pkcs15-tool is counted by the card (63C2, the
#    counter in the card's memory goes 3 -> 2), the right one resets it;
#  - raw APDUs through opensc-tool: VERIFY, MSE SET DST, PSO COMPUTE DIGITAL
#    SIGNATURE over a DigestInfo give a signature openssl verifies with the
#    card's public key; without the PIN the card refuses (6982); a reset
#    (a new connection) forgets the PIN;
#  - UPDATE BINARY: 6982 without the PIN, 6B00 past the EF, READ BINARY 6282
#    at the end; pkcs15-tool changes the PIN, blocks it (6983), unblocks it
#    with the PUK (RESET RETRY COUNTER);
#  - taking the card out shows as no card, putting it back keeps its state;
#  - a card made with --short-read 6Cxx answers 6Cxx to a too-long Le and
#    OpenSC re-sends with the right Le.
# What OpenSC cannot do here, and why:
#  - pkcs15-crypt --sign: "Not supported". OpenSC drives an unknown card with
#    its "default" driver, which registers no RSA algorithms, so the PKCS#15
#    layer refuses before any APDU; the card's MSE/PSO are checked with raw
#    APDUs below (and by the module test, test-pcsc-module.sh).
#  - pkcs15-tool --list-pins shows no "tries left": the default driver does
#    not ask the card (no empty VERIFY); the counter is read from the card's
#    memory (the image) and from the card's answers in the APDU trace.
# What the emulator lacks that a real UICC has: only T=1 (6Cxx, T=0's answer
# to a wrong Le, only on a card made with --short-read 6Cxx), no logical channels, no secure messaging, no access rules in the
# FCP (the card's rule is fixed: UPDATE BINARY after the user PIN), no
# extended-length APDUs, signing keys only (one RSA PKCS#1 v1.5, one EC
# P-256 ECDSA: tests/pcsc/test-pcsc-ecdsa.sh; no decipher), no proactive/STK, no EF(ICCID) 2FE2 (the ICCID is only in
# TokenInfo).
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

setup_store
pcsc_need
need_cmd pkcs15-tool cmp

step "the card image: PKCS#15 by make-card.py (asn1crypto)"
pcsc_make_card
[ -s "$PCSC_IMAGE" ] || fail "make-card.py wrote no image"

step "pcscd + vpcd + the emulated card"
pcsc_start

R=(--reader "$PCSC_READER")
osc() { timeout -k 5 60 "$@" </dev/null; }

step "opensc-tool -l: the card in the first reader, none in the second"
OUT=$(osc opensc-tool -l 2>&1) || fail "opensc-tool -l failed" "$OUT"
[ "$(pcsc_reader_card_column "$PCSC_READER")" = Yes ] || fail "no card in '$PCSC_READER'" "$OUT"
[ "$(pcsc_reader_card_column "$PCSC_READER_EMPTY")" = No ] || fail "'$PCSC_READER_EMPTY' is not empty" "$OUT"

step "pkcs15-tool --dump: what libopensc decodes from the card"
DUMP=$(osc pkcs15-tool "${R[@]}" --dump 2>&1) || fail "pkcs15-tool --dump failed" "$DUMP"
# want TEXT: a fixed string the dump must hold
want() { grep -qF -- "$1" <<<"$DUMP" || fail "pkcs15-tool --dump lacks: $1" "$(indent <<<"$DUMP")"; }
want "PKCS#15 Card [DM]:"
want "Serial number  : ${PCSC_ICCID}f"
want "Manufacturer ID: dmsc test card"
want "PIN [User PIN]"
want "Reference      : 1 (0x01)"
want "Flags          : [0x32], local, initialized, needs-padding"
want "Pad char       : 0xFF"
want "Type           : ascii-numeric"
want "PIN [PUK]"
want "Flags          : [0xF2], local, initialized, needs-padding, unblockingPin, soPin"
want "Private RSA Key [DM device key]"
want "ModLength      : 2048"
want "Key ref        : 1 (0x01)"
want "Public RSA Key [DM device key]"
want "Private EC Key [DM EC key]"
want "Key ref        : 2 (0x02)"
want "Public EC Key [DM EC key]"
want "FieldLength    : 256"
want "X.509 Certificate [DM device certificate]"
want "X.509 Certificate [MA]"
want "applicationOID:  2.23.43.7.1"
want "Data object './DMAcc/OperatorX'"
want "Data object './FUMO'"
[ "$(grep -c 'applicationName: OMA-DM:MO' <<<"$DUMP")" = 2 ] || fail "not 2 OMA-DM:MO data objects" "$DUMP"
[ "$(grep -c 'applicationName: OMA-DM:SPARE' <<<"$DUMP")" = 3 ] || fail "not 3 OMA-DM:SPARE data objects" "$DUMP"
# The MA certificate is the authority one; the device certificate is not.
grep -A2 'X.509 Certificate \[MA\]' <<<"$DUMP" | grep -q 'Authority      : yes' ||
    fail "the MA certificate is not an authority" "$DUMP"
grep -A2 'X.509 Certificate \[DM device certificate\]' <<<"$DUMP" | grep -q 'Authority      : no' ||
    fail "the device certificate is an authority" "$DUMP"

step "pkcs15-tool reads the values: bootstrap, MO, certificate, public key"
osc pkcs15-tool "${R[@]}" --read-data-object 2.23.43.7.1 -o "$TEST_TMP/boot.out" >/dev/null 2>&1 ||
    fail "pkcs15-tool cannot read the bootstrap (2.23.43.7.1)"
cmp -s "$TEST_TMP/boot.out" "$PCSC_BOOTSTRAP" || fail "the bootstrap read differs from the WBXML put on the card"
# The MOs name the user PIN as their authId (writing them needs it): OpenSC
# logs in before reading them.
osc pkcs15-tool "${R[@]}" --read-data-object ./FUMO --pin "$PCSC_PIN" -o "$TEST_TMP/fumo.out" >/dev/null 2>&1 ||
    fail "pkcs15-tool cannot read the MO ./FUMO"
cmp -s "$TEST_TMP/fumo.out" "$PCSC_MO_FUMO" || fail "./FUMO read differs from $PCSC_MO_FUMO (path index/length?)"
CERT_FP=$(osc pkcs15-tool "${R[@]}" --read-certificate 01 2>/dev/null | openssl x509 -noout -fingerprint -sha256) ||
    fail "pkcs15-tool cannot read certificate 01"
[ "$CERT_FP" = "$(openssl x509 -in "$PCSC_CERT" -noout -fingerprint -sha256)" ] ||
    fail "certificate 01 on the card is not the one make-card.py was given"
osc pkcs15-tool "${R[@]}" --read-public-key 01 >"$TEST_TMP/pub.pem" 2>/dev/null ||
    fail "pkcs15-tool cannot read public key 01"
cmp -s "$TEST_TMP/pub.pem" "$PCSC_PUBKEY" || fail "public key 01 on the card differs from the key's" "$(indent <"$TEST_TMP/pub.pem")"
osc pkcs15-tool "${R[@]}" --read-public-key 02 >"$TEST_TMP/ec-pub.pem" 2>/dev/null ||
    fail "pkcs15-tool cannot read the EC public key 02"
cmp -s "$TEST_TMP/ec-pub.pem" "$PCSC_EC_PUBKEY" ||
    fail "EC public key 02 on the card differs from the key's" "$(indent <"$TEST_TMP/ec-pub.pem")"

step "a wrong PIN is counted by the card, the right one resets the counter"
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the fresh card's PIN counter is $(pcsc_image_pin_tries 1), not 3"
: >"$PCSC_TRACE"
if OUT=$(osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin 9999 2>&1); then
    fail "pkcs15-tool accepted a wrong PIN" "$OUT"
fi
grep -q 'incorrect' <<<"$OUT" || fail "pkcs15-tool did not say the PIN was incorrect" "$OUT"
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "after a wrong PIN the card's counter is $(pcsc_image_pin_tries 1), not 2"
grep -q '^R: 63C2$' "$PCSC_TRACE" || fail "the card did not answer 63C2" "$(indent <"$PCSC_TRACE")"
grep -q 'C: 00200001 (data hidden)' "$PCSC_TRACE" || fail "the APDU trace shows PIN data" "$(indent <"$PCSC_TRACE")"
OUT=$(osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin "$PCSC_PIN" 2>&1) ||
    fail "pkcs15-tool refused the right PIN" "$OUT"
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the right PIN left the counter at $(pcsc_image_pin_tries 1), not 3"

step "raw APDUs: VERIFY, MSE SET DST, PSO CDS over a DigestInfo; openssl verifies"
printf 'a DM message to sign' >"$TEST_TMP/msg"
# DigestInfo of SHA-256 = the fixed DER prefix + the hash.
DI=3031300d060960864801650304020105000420$(openssl dgst -sha256 -binary "$TEST_TMP/msg" | xxd -p -c 64)
PINHEX=$(printf '%s' "$PCSC_PIN" | xxd -p)$(printf 'ff%.0s' $(seq $((8 - ${#PCSC_PIN}))))
colons() { sed 's/../&:/g; s/:$//'; }
OUT=$(osc opensc-tool "${R[@]}" -s "$(colons <<<"0020000108$PINHEX")" -s 00:22:41:B6:03:84:01:01 \
    -s "$(colons <<<"002A9E9A33${DI}00")" 2>&1) || fail "opensc-tool could not send the APDUs" "$OUT"
# opensc-tool prints "Received (SW1=0x.., SW2=0x..)", then the data as hex lines.
grep -c 'SW1=0x90, SW2=0x00' <<<"$OUT" | grep -qx 3 || fail "VERIFY/MSE/PSO did not all answer 9000" "$OUT"
awk '/^Received/{n++} n==3 && /^[0-9A-F][0-9A-F] /' <<<"$OUT" | cut -c1-48 | tr -d ' \n' | xxd -r -p >"$TEST_TMP/sig"
[ "$(stat -c %s "$TEST_TMP/sig")" = 256 ] || fail "the signature is not 256 bytes" "$OUT"
openssl dgst -sha256 -verify "$PCSC_PUBKEY" -signature "$TEST_TMP/sig" "$TEST_TMP/msg" >/dev/null 2>&1 ||
    fail "openssl does not verify the card's signature with the card's public key" "$OUT"
# A new connection resets the card (opensc-tool disconnects with a reset):
# the PIN is forgotten, PSO is refused.
OUT=$(osc opensc-tool "${R[@]}" -s 00:22:41:B6:03:84:01:01 -s "$(colons <<<"002A9E9A33${DI}00")" 2>&1) || true
grep -q 'SW1=0x69, SW2=0x82' <<<"$OUT" || fail "PSO without VERIFY after a reset did not answer 6982" "$OUT"

step "raw APDUs: UPDATE BINARY of a spare EF needs the PIN, stays inside the EF, is kept"
SEL_SPARE=00:A4:08:0C:04:50:15:4B:04
OUT=$(osc opensc-tool "${R[@]}" -s $SEL_SPARE -s 00:D6:00:00:02:AA:BB 2>&1) || true
grep -q 'SW1=0x69, SW2=0x82' <<<"$OUT" || fail "UPDATE BINARY without the PIN did not answer 6982" "$OUT"
OUT=$(osc opensc-tool "${R[@]}" -s "$(colons <<<"0020000108$PINHEX")" -s $SEL_SPARE -s 00:D6:00:00:02:AA:BB \
    -s 00:D6:07:FF:02:CC:DD -s 00:B0:00:00:02 -s 00:B0:07:FE:00 2>&1) || true
[ "$(grep -c 'SW1=0x90, SW2=0x00' <<<"$OUT")" = 4 ] || fail "VERIFY/SELECT/UPDATE/READ did not answer 9000" "$OUT"
grep -q 'SW1=0x6B, SW2=0x00' <<<"$OUT" || fail "UPDATE BINARY past the EF's end did not answer 6B00" "$OUT"
grep -q '^AA BB ' <<<"$OUT" || fail "READ BINARY did not return what UPDATE BINARY wrote" "$OUT"
# Le 256 at offset 07FE of a 2048-byte EF: the 2 last bytes, and 6282.
grep -q 'SW1=0x62, SW2=0x82' <<<"$OUT" || fail "READ BINARY past the end did not answer 6282" "$OUT"
grep -q '^00 00 ' <<<"$OUT" || fail "the failed UPDATE BINARY changed the EF's end" "$OUT"

step "pkcs15-tool: change the PIN, block it, unblock it with the PUK"
OUT=$(osc pkcs15-tool "${R[@]}" --change-pin --auth-id 01 --pin "$PCSC_PIN" --new-pin 5678 2>&1) ||
    fail "pkcs15-tool --change-pin failed" "$OUT"
osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin 5678 >/dev/null 2>&1 || fail "the new PIN is refused"
for i in 1 2 3; do
    osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin 0000 >/dev/null 2>&1 && fail "a wrong PIN was accepted"
done
[ "$(pcsc_image_pin_tries 1)" = 0 ] || fail "3 wrong PINs left the counter at $(pcsc_image_pin_tries 1)"
OUT=$(osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin 5678 2>&1) && fail "a blocked PIN was accepted" "$OUT"
grep -q 'blocked' <<<"$OUT" || fail "pkcs15-tool did not say the PIN is blocked" "$OUT"
OUT=$(osc pkcs15-tool "${R[@]}" --unblock-pin --auth-id 01 --puk "$PCSC_PUK" --new-pin "$PCSC_PIN" 2>&1) ||
    fail "pkcs15-tool --unblock-pin with the PUK failed" "$OUT"
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the unblocked PIN's counter is $(pcsc_image_pin_tries 1), not 3"
[ "$(pcsc_image_pin_tries 2)" = 10 ] || fail "the PUK's counter is $(pcsc_image_pin_tries 2), not 10"
osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin "$PCSC_PIN" >/dev/null 2>&1 ||
    fail "the PIN set by RESET RETRY COUNTER is refused"
grep -q '^C: 002C0001 (data hidden)$' "$PCSC_TRACE" || fail "no RESET RETRY COUNTER in the trace"

step "card removal: no card, then the same card back (state kept)"
osc pkcs15-tool "${R[@]}" --verify-pin --auth-id 01 --pin 0000 >/dev/null 2>&1 || true
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the counter is not 2 before the removal"
pcsc_card_remove
[ "$(pcsc_reader_card_column "$PCSC_READER")" = No ] || fail "opensc-tool still sees a card"
if OUT=$(osc pkcs15-tool "${R[@]}" --dump 2>&1); then
    fail "pkcs15-tool read a removed card" "$OUT"
fi
pcsc_card_insert
DUMP=$(osc pkcs15-tool "${R[@]}" --dump 2>&1) || fail "pkcs15-tool cannot read the card put back" "$DUMP"
want "applicationOID:  2.23.43.7.1"
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the card put back forgot its PIN counter"
OUT=$(osc opensc-tool "${R[@]}" -s $SEL_SPARE -s 00:B0:00:00:02 2>&1) || true
grep -q '^AA BB ' <<<"$OUT" || fail "the card put back forgot what UPDATE BINARY wrote" "$OUT"

step "a card answering 6Cxx to a wrong Le (T=0 style): OpenSC re-sends with Le=xx"
pcsc_card_remove
pcsc_make_card --short-read 6Cxx
pcsc_card_insert
: >"$PCSC_TRACE"
OUT=$(osc opensc-tool "${R[@]}" -s 00:A4:08:0C:04:50:15:50:31 -s 00:B0:00:00:00 2>&1) ||
    fail "opensc-tool could not read the ODF" "$OUT"
ODF_LEN=$("$PCSC_PYTHON" -c 'import json, sys
print("%02X" % (len([f for f in json.load(open(sys.argv[1]))["files"]
                     if f["path"] == "5015/5031"][0]["data"]) // 2))' "$PCSC_IMAGE")
grep -qx "R: 6C$ODF_LEN" "$PCSC_TRACE" || fail "the card did not answer 6C$ODF_LEN" "$(indent <"$PCSC_TRACE")"
grep -qx "C: 00B00000$ODF_LEN" "$PCSC_TRACE" || fail "OpenSC did not re-send with Le=$ODF_LEN" "$(indent <"$PCSC_TRACE")"
grep -q 'SW1=0x90, SW2=0x00' <<<"$(tail -n +3 <<<"$OUT")" || fail "READ BINARY did not end in 9000" "$OUT"

pcsc_stop
say "ok"
