#!/bin/bash
# MO writes to a PKCS#15 DM card (tokens/pcsc/p15-write.c), the cases a
# card personalised differently from the demo card, or a card pulled out
# mid-write, bring: checked in the card's own memory (the emulator's
# image, tests/pcsc/card-image.py) and with OpenSC, not only through the
# module.
#  - MOs packed in one EF (make-card.py --pack-mos: each DODF entry with its
#    index/length): rewriting one, several times, larger and smaller, never
#    touches its neighbour's bytes (image, module, pkcs15-tool)
#  - the DODF entry of a private MO carries the private flag and the user
#    PIN's authId; a public one neither (new MOs in spares, and rewrites)
#  - a card pulled mid-write (dmcard.py's tear hook, card-image.py tear):
#    during the value write or before the DODF: the old MOs; a DODF change
#    that fits one UPDATE BINARY is one command; a longer one cut between
#    its commands is refused on the next read (CKR_TOKEN_NOT_RECOGNIZED, a
#    debug line saying so) rather than shown half old, half new
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

check_module
need_cmd cmp pkcs15-tool
setup_store
pcsc_need

SLOT=$((0x10000))
DMSC=${DMSC_BUILDDIR:-.}/dmsc
[ -x "$DMSC" ] || fail "the dmsc tool was not built ($DMSC)"
TOKEN="pkcs11:serial=${PCSC_ICCID: -16}"
IMG() { "$PCSC_PYTHON" "$PCSC_SRC/card-image.py" "$@"; }

cat >"$DMSC_CONF" <<EOF
backends = vuicc pcsc
EOF

# dm ARGS...: dmsc on the card's token; sets OUT and RC.
dm() {
    RC=0
    OUT=$(timeout -k 5 "$P11_TIMEOUT" "$DMSC" --module "$DMSC_MODULE" --token "$TOKEN" "$@" 2>&1 </dev/null) || RC=$?
}
dm_ok() {
    local what=$1
    shift
    dm "$@"
    [ "$RC" -eq 0 ] || fail "$what: dmsc $* exited $RC" "$(indent <<<"$OUT")"
}
# tnds FILE SIZE TEXT: a valid TNDS of SIZE bytes (padded in a Value).
tnds() {
    local head="<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>N</NodeName><Value>$3"
    local tail="</Value></Node></MgmtTree>"
    local pad=$(($2 - ${#head} - ${#tail}))
    { printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' 'x'; printf '%s' "$tail"; } >"$1"
    [ "$(stat -c %s "$1")" -eq "$2" ] || fail "tnds: $1 is not $2 bytes"
}
# same_as FILE WHAT: OUT (without its trailing newline) is FILE's bytes.
same_as() {
    cmp -s <(printf '%s' "$OUT") <(printf '%s' "$(cat "$1")") ||
        fail "$2: not the expected value" "$(head -c 300 <<<"$OUT" | indent)"
}
# entry LABEL: the DODF line of LABEL in the card's memory (ENTRY).
entry() {
    ENTRY=$(IMG dodf "$PCSC_IMAGE" | awk -F'|' -v l="$1" '$1 == l') || true
    [ -n "$ENTRY" ] || fail "the card's DODF has no entry '$1'" "$(IMG dodf "$PCSC_IMAGE" | indent)"
}
# fumo_intact WHEN: the packed ./FUMO's bytes, in the card's memory, via
# the module and via OpenSC, are still the file put on the card.
fumo_intact() {
    IMG bytes "$PCSC_IMAGE" "$FUMO_EF" "$FUMO_INDEX" "$FUMO_LEN" >"$TEST_TMP/fumo.img"
    cmp -s "$TEST_TMP/fumo.img" "$PCSC_MO_FUMO" || fail "$1: ./FUMO's bytes in the card's EF $FUMO_EF changed"
    entry ./FUMO
    [ "$ENTRY" = "$FUMO_ENTRY" ] || fail "$1: ./FUMO's DODF entry changed: '$ENTRY' (was '$FUMO_ENTRY')"
    dm_ok "$1: mo get ./FUMO" --pin "$PCSC_PIN" mo get ./FUMO
    same_as "$PCSC_MO_FUMO" "$1: ./FUMO through the module"
    p11_ok "$1: pkcs11-tool reads ./FUMO" --slot "$SLOT" --login --pin "$PCSC_PIN" --read-object --type data \
        --label ./FUMO -o "$TEST_TMP/fumo.p11"
    cmp -s "$TEST_TMP/fumo.p11" "$PCSC_MO_FUMO" || fail "$1: ./FUMO through pkcs11-tool is not its value"
}
# card_out_in: the card back in its reader after the emulator pulled it.
card_out_in() {
    pcsc_card_remove
    pcsc_card_insert
}

step "two MOs packed in one EF: rewriting one never touches the other's bytes"
pcsc_make_card --pack-mos --spare-size 4096 --spares 6
pcsc_start
entry ./DMAcc/OperatorX
DMACC_LEN=$(stat -c %s "$PCSC_MO_DMACC")
case $ENTRY in
*"|3F0050154B02|0|$DMACC_LEN") ;;
*) fail "--pack-mos: ./DMAcc/OperatorX is not at 4B02[0, $DMACC_LEN]: $ENTRY" ;;
esac
entry ./FUMO
FUMO_ENTRY=$ENTRY
FUMO_EF=4B02
FUMO_INDEX=$DMACC_LEN
FUMO_LEN=$(stat -c %s "$PCSC_MO_FUMO")
case $ENTRY in
*"|3F0050154B02|$FUMO_INDEX|$FUMO_LEN") ;;
*) fail "--pack-mos: ./FUMO is not at 4B02[$FUMO_INDEX, $FUMO_LEN]: $ENTRY" ;;
esac
fumo_intact "the card as made"
# Larger than ./DMAcc/OperatorX's range (so its old bytes, released, can
# hold it only by running into ./FUMO's), then smaller (it fits there).
tnds "$TEST_TMP/big1.xml" 2500 "first"
tnds "$TEST_TMP/big2.xml" 2600 "second"
tnds "$TEST_TMP/small.xml" 300 "third"
tnds "$TEST_TMP/big3.xml" 2400 "fourth"
n=0
for v in big1 big2 small big3; do
    n=$((n + 1))
    dm_ok "rewrite $n of ./DMAcc/OperatorX" --pin "$PCSC_PIN" mo put ./DMAcc/OperatorX "$TEST_TMP/$v.xml"
    dm_ok "mo get ./DMAcc/OperatorX after rewrite $n" --pin "$PCSC_PIN" mo get ./DMAcc/OperatorX
    same_as "$TEST_TMP/$v.xml" "./DMAcc/OperatorX after rewrite $n"
    fumo_intact "after rewrite $n of ./DMAcc/OperatorX"
done
# The released range in 4B02 stayed a range: no spare names the whole EF.
IMG dodf "$PCSC_IMAGE" >"$TEST_TMP/dodf.txt"
! grep -q '|OMA-DM:SPARE|.*|3F0050154B02|-|-$' "$TEST_TMP/dodf.txt" ||
    fail "a spare names the whole EF 4B02 that ./FUMO shares" "$(indent <"$TEST_TMP/dodf.txt")"
# ./DMAcc/OperatorX's first bytes, released, are a spare up to ./FUMO's.
grep -q "|OMA-DM:SPARE|modifiable|-|3F0050154B02|0|$DMACC_LEN\$" "$TEST_TMP/dodf.txt" ||
    fail "no spare holds 4B02[0, $DMACC_LEN], the bytes before ./FUMO" "$(indent <"$TEST_TMP/dodf.txt")"
# pkcs11-tool writes too (a new MO: into a spare, not over ./FUMO).
p11_ok "pkcs11-tool writes a new MO" --slot "$SLOT" --login --pin "$PCSC_PIN" --write-object "$TEST_TMP/big2.xml" \
    --type data --label ./Other --application-label OMA-DM:MO
fumo_intact "after pkcs11-tool's write"
# OpenSC's own PKCS#15 reader sees the same bytes.
pcsc_card_remove
pcsc_card_insert
pkcs15-tool --reader "$PCSC_READER" --read-data-object ./FUMO --pin "$PCSC_PIN" -o "$TEST_TMP/fumo.osc" \
    >"$TEST_TMP/osc.log" 2>&1 || fail "pkcs15-tool cannot read ./FUMO" "$(indent <"$TEST_TMP/osc.log")"
cmp -s "$TEST_TMP/fumo.osc" "$PCSC_MO_FUMO" || fail "./FUMO through OpenSC is not its value"
pkcs15-tool --reader "$PCSC_READER" --read-data-object ./DMAcc/OperatorX --pin "$PCSC_PIN" -o "$TEST_TMP/dmacc.osc" \
    >"$TEST_TMP/osc.log" 2>&1 || fail "pkcs15-tool cannot read ./DMAcc/OperatorX" "$(indent <"$TEST_TMP/osc.log")"
cmp -s "$TEST_TMP/dmacc.osc" "$TEST_TMP/big3.xml" || fail "./DMAcc/OperatorX through OpenSC is not the last value"

step "the DODF entry of a private MO has the private flag and authId; a public one neither"
tnds "$TEST_TMP/p1.xml" 200 "private"
tnds "$TEST_TMP/p2.xml" 210 "public"
dm_ok "a new private MO" --pin "$PCSC_PIN" mo put --private ./Priv "$TEST_TMP/p1.xml"
dm_ok "a new public MO" --pin "$PCSC_PIN" mo put --public ./Pub "$TEST_TMP/p2.xml"
entry ./Priv
[[ $ENTRY == "./Priv|OMA-DM:MO|private,modifiable|01|"* ]] || fail "the private MO's DODF entry: $ENTRY"
entry ./Pub
[[ $ENTRY == "./Pub|OMA-DM:MO|modifiable|-|"* ]] || fail "the public MO's DODF entry: $ENTRY"
# Rewritten (each into another spare): each keeps what it was.
dm_ok "rewrite the private MO" --pin "$PCSC_PIN" mo put ./Priv "$TEST_TMP/p2.xml"
dm_ok "rewrite the public MO" --pin "$PCSC_PIN" mo put ./Pub "$TEST_TMP/p1.xml"
entry ./Priv
[[ $ENTRY == "./Priv|OMA-DM:MO|private,modifiable|01|"* ]] || fail "the private MO rewritten: $ENTRY"
entry ./Pub
[[ $ENTRY == "./Pub|OMA-DM:MO|modifiable|-|"* ]] || fail "the public MO rewritten: $ENTRY"
IMG dodf "$PCSC_IMAGE" >"$TEST_TMP/dodf.txt"
! grep -q '|OMA-DM:SPARE|private' "$TEST_TMP/dodf.txt" ||
    fail "a spare kept a private MO's flag" "$(indent <"$TEST_TMP/dodf.txt")"
# What the module and OpenSC make of them.
p11_ok "objects without login" --slot "$SLOT" -O
out_has "label:          './Pub'" "the public MO without login"
out_lacks "./Priv" "the private MO without login"
pcsc_card_remove
pcsc_card_insert
pkcs15-tool --reader "$PCSC_READER" --read-data-object ./Pub -o "$TEST_TMP/pub.osc" >"$TEST_TMP/osc.log" 2>&1 ||
    fail "pkcs15-tool cannot read the public MO without a PIN" "$(indent <"$TEST_TMP/osc.log")"
cmp -s "$TEST_TMP/pub.osc" "$TEST_TMP/p1.xml" || fail "the public MO through OpenSC is not its value"
pcsc_stop

step "a card pulled during the value write, or before the DODF's: the old MOs"
pcsc_make_card
pcsc_start
tnds "$TEST_TMP/new.xml" 1500 "replaced"
pcsc_card_remove
IMG tear "$PCSC_IMAGE" 5015/4B04 3     # spare 1, where the new value goes: its 3rd command
pcsc_card_insert
dm --pin "$PCSC_PIN" mo put ./FUMO "$TEST_TMP/new.xml"
[ "$RC" -ne 0 ] || fail "the write of a pulled card succeeded" "$(indent <<<"$OUT")"
card_out_in
dm_ok "mo get ./FUMO after the cut value write" --pin "$PCSC_PIN" mo get ./FUMO
same_as "$PCSC_MO_FUMO" "./FUMO after the cut value write"
pcsc_card_remove
IMG tear "$PCSC_IMAGE" 5015/4406 1     # the DODF's first command
pcsc_card_insert
dm --pin "$PCSC_PIN" mo put ./FUMO "$TEST_TMP/new.xml"
[ "$RC" -ne 0 ] || fail "the write of a pulled card succeeded" "$(indent <<<"$OUT")"
card_out_in
dm_ok "mo get ./FUMO after a cut before the DODF" --pin "$PCSC_PIN" mo get ./FUMO
same_as "$PCSC_MO_FUMO" "./FUMO after a cut before the DODF"

step "a DODF change that fits one UPDATE BINARY is one command"
pcsc_card_remove
IMG tear "$PCSC_IMAGE" 5015/4406 2     # a second command into the DODF would pull the card
pcsc_card_insert
dm_ok "replace ./FUMO" --pin "$PCSC_PIN" mo put ./FUMO "$TEST_TMP/new.xml"
dm_ok "mo get ./FUMO" --pin "$PCSC_PIN" mo get ./FUMO
same_as "$TEST_TMP/new.xml" "./FUMO replaced"
grep -q '"tear"' "$PCSC_IMAGE" || fail "the DODF change took more than one UPDATE BINARY (the hook fired)"
# disarm it for what follows
pcsc_card_remove
"$PCSC_PYTHON" -c 'import json, sys
img = json.load(open(sys.argv[1])); img.pop("tear", None); json.dump(img, open(sys.argv[1], "w"))' "$PCSC_IMAGE"
pcsc_card_insert

step "a longer DODF change cut between its commands: the token is refused, not shown half-written"
LONG="./$(head -c 240 /dev/zero | tr '\0' 'L')"
pcsc_card_remove
IMG tear "$PCSC_IMAGE" 5015/4406 2
pcsc_card_insert
run_p11 --slot "$SLOT" --login --pin "$PCSC_PIN" --write-object "$TEST_TMP/new.xml" --type data \
    --label "$LONG" --application-label OMA-DM:MO
[ "$RC" -ne 0 ] || fail "the write of a pulled card succeeded" "$(indent <<<"$OUT")"
card_out_in
RC=0
OUT=$(DMSC_DEBUG=card p11 --slot "$SLOT" -O 2>&1) || RC=$?
{ [ "$RC" -ne 0 ] && grep -qw CKR_TOKEN_NOT_RECOGNIZED <<<"$OUT"; } ||
    fail "a half-written DODF is not refused (CKR_TOKEN_NOT_RECOGNIZED)" "$(grep -v APDU <<<"$OUT" | indent)"
out_has "a write of it was cut" "the debug line naming the cut DODF write"
out_lacks "./FUMO" "a half-written DODF's entries"
# In the card's memory: the 00 mark over its first byte, data after it.
[ "$(IMG dodf "$PCSC_IMAGE" || true)" = torn ] || fail "the cut DODF is not marked torn in the card's memory" \
    "$(IMG dodf "$PCSC_IMAGE" 2>&1 | indent)"

say "ok"
