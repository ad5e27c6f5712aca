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
#    during the value write or before the DODF: the old MOs; a rewrite is
#    two DODF commands
#  - review 15, finding 1: a card with 6 MOs and the 3 spares after them;
#    the first MO rewritten, cut before, between and after its DODF
#    commands: the card opens through the module, its keys, certificates
#    and PIN work, the DODF parses in the card's memory and the MO is the
#    whole old or whole new value (which one, per cut); the card takes the
#    next write. A new MO and a removal, cut likewise. A DODF change too
#    long for one UPDATE BINARY is refused (CKR_DEVICE_MEMORY, a debug line
#    saying why) with the card's files byte for byte as they were
#  - MOs whose DODF entries name their whole EF (make-card.py
#    --whole-ef-mos): they read; the first one's rewrite, which would move
#    the whole DODF after it, is refused the same way; one near the DODF's
#    end is rewritten, and one removed
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

check_module
need_cmd cmp pkcs15-tool
setup_store
pcsc_need

SLOT=$((0x10000))
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:-.}/dmsc}
[ -x "$DMSC" ] || fail "the dmsc tool was not built ($DMSC)"
TOKEN="pkcs11:serial=${PCSC_ICCID: -16}"
IMG() { "$PCSC_PYTHON" "$PCSC_SRC/card-image.py" "$@"; }

cat >"$DMSC_CONF" <<EOF
backends = vuicc pcsc
EOF

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

step "a rewrite is two DODF commands, each one UPDATE BINARY"
pcsc_card_remove
IMG tear "$PCSC_IMAGE" 5015/4406 3     # a third command into the DODF would pull the card
pcsc_card_insert
dm_ok "replace ./FUMO" --pin "$PCSC_PIN" mo put ./FUMO "$TEST_TMP/new.xml"
dm_ok "mo get ./FUMO" --pin "$PCSC_PIN" mo get ./FUMO
same_as "$TEST_TMP/new.xml" "./FUMO replaced"
grep -q '"tear"' "$PCSC_IMAGE" || fail "the DODF change took more than two UPDATE BINARY commands (the hook fired)"
# disarm it for what follows
pcsc_card_remove
"$PCSC_PYTHON" -c 'import json, sys
img = json.load(open(sys.argv[1])); img.pop("tear", None); json.dump(img, open(sys.argv[1], "w"))' "$PCSC_IMAGE"
pcsc_card_insert

# ---- the reviewer's layout (review 15, finding 1): 6 MOs, 3 spares after them
# six_mo_card [ARGS...]: a fresh card with ./DMAcc/OperatorX, ./FUMO,
# ./MO3 .. ./MO6 and the 3 spares at the DODF's end; the card in its
# reader. ARGS go to make-card.py.
six_mo_card() {
    local i extra=()
    for i in 3 4 5 6; do
        tnds "$TEST_TMP/mo$i.xml" 300 "mo$i"
        extra+=(--mo "./MO$i=$TEST_TMP/mo$i.xml")
    done
    [ -z "$VICC_PID" ] || pcsc_card_remove
    pcsc_make_card "${extra[@]}" "$@"
    pcsc_card_insert
}
# arm PATH N: the N-th UPDATE BINARY into PATH pulls the card (card out meanwhile).
arm() {
    pcsc_card_remove
    IMG tear "$PCSC_IMAGE" "$1" "$2"
    pcsc_card_insert
}
# fired WHAT: the armed hook pulled the card (it is dropped from the image then).
fired() {
    ! grep -q '"tear"' "$PCSC_IMAGE" || fail "$1: the tear hook did not fire"
}
# files: the card's files (what its memory holds, not the PIN counters).
files() {
    "$PCSC_PYTHON" -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["files"], sort_keys=True))' "$PCSC_IMAGE"
}
# token_whole WHEN: the card opens through the module, keys, certificates
# and the PIN work, and its DODF parses in the card's memory.
token_whole() {
    IMG dodf "$PCSC_IMAGE" >"$TEST_TMP/dodf.txt" || fail "$1: the DODF in the card's memory is torn or unparsable" \
        "$(indent <"$TEST_TMP/dodf.txt")"
    p11_ok "$1: objects after login" --slot "$SLOT" --login --pin "$PCSC_PIN" -O
    out_has "Private Key Object; RSA" "$1: the card's RSA key"
    out_has "Certificate Object" "$1: the card's certificates"
    out_has "application:    'OMA-DM:BOOTSTRAP'" "$1: the bootstrap"
    printf 'a message after a cut write\n' >"$TEST_TMP/msg"
    p11_ok "$1: sign on the card" --slot "$SLOT" --login --pin "$PCSC_PIN" --sign -m SHA256-RSA-PKCS --id 01 \
        -i "$TEST_TMP/msg" -o "$TEST_TMP/msg.sig"
    openssl dgst -sha256 -verify "$PCSC_PUBKEY" -signature "$TEST_TMP/msg.sig" "$TEST_TMP/msg" >/dev/null ||
        fail "$1: openssl does not verify the card's signature"
    local n
    for n in ./FUMO ./MO3 ./MO6; do
        dm_ok "$1: mo get $n" --pin "$PCSC_PIN" mo get "$n"
    done
    same_as "$TEST_TMP/mo6.xml" "$1: ./MO6, after the MO written"
}
# mo_is WHEN NODE FILE: the MO reads as FILE's bytes, whole.
mo_is() {
    dm_ok "$1: mo get $2" --pin "$PCSC_PIN" mo get "$2"
    same_as "$3" "$1: $2"
}
# mo_absent WHEN NODE: no such MO through the module.
mo_absent() {
    dm --pin "$PCSC_PIN" mo get "$2"
    [ "$RC" -ne 0 ] || fail "$1: $2 is there" "$(head -c 300 <<<"$OUT" | indent)"
}
# torn_write WHAT ARGS...: dmsc ARGS must fail (the card pulled); the card back in.
# AFTER_DODF=1: the cut comes after the DODF was written (the wipe): the
# write is done, dmsc may say so.
AFTER_DODF=0
torn_write() {
    local what=$1
    shift
    dm --pin "$PCSC_PIN" "$@"
    [ "$RC" -ne 0 ] || [ "$AFTER_DODF" = 1 ] || fail "$what: the write of a pulled card succeeded" "$(indent <<<"$OUT")"
    fired "$what"
    card_out_in
}
# refused_untouched WHAT RUNNER ARGS...: RUNNER ARGS (dm or run_p11, with
# DMSC_DEBUG=card) fails with CKR_DEVICE_MEMORY and the debug line saying a
# step needs more than one UPDATE BINARY; the card's files are as they were.
refused_untouched() {
    local what=$1
    shift
    files >"$TEST_TMP/before.files"
    DMSC_DEBUG=card "$@"
    { [ "$RC" -ne 0 ] && grep -qw CKR_DEVICE_MEMORY <<<"$OUT"; } ||
        fail "$what is not refused (CKR_DEVICE_MEMORY)" "$(grep -v APDU <<<"$OUT" | indent)"
    out_has "more than one UPDATE BINARY" "$what: the debug line saying why"
    files >"$TEST_TMP/after.files"
    cmp -s "$TEST_TMP/before.files" "$TEST_TMP/after.files" || fail "$what, refused, changed the card's memory"
}

step "6 MOs, 3 spares at the end: rewriting the first MO; cut before, between and after its DODF commands"
pcsc_stop
pcsc_make_card
pcsc_start
six_mo_card
tnds "$TEST_TMP/dmacc2.xml" 1500 "rewritten"
# Not cut: the old value is zeroed (the wipe, after the DODF), the DODF
# names the MO once.
dm_ok "mo put ./DMAcc/OperatorX" --pin "$PCSC_PIN" mo put ./DMAcc/OperatorX "$TEST_TMP/dmacc2.xml"
token_whole "after the rewrite"
mo_is "after the rewrite" ./DMAcc/OperatorX "$TEST_TMP/dmacc2.xml"
[ "$(grep -c '^\./DMAcc/OperatorX|OMA-DM:MO|' "$TEST_TMP/dodf.txt")" -eq 1 ] ||
    fail "the DODF names ./DMAcc/OperatorX more than once" "$(indent <"$TEST_TMP/dodf.txt")"
[ -z "$(IMG bytes "$PCSC_IMAGE" 4B02 | tr -d '\0')" ] || fail "the old value's bytes (4B02) are not zeroed"
# the cuts: the DODF's first command (nothing of the DODF written: the old
# MO), its second (the MO's entry already names the new value; the spare's
# entry still names it too and is not used: the new MO), the first command
# of the wipe (the DODF is written: the new MO)
for cutat in "5015/4406 1 old" "5015/4406 2 new" "5015/4B02 1 new"; do
    set -- $cutat
    six_mo_card
    arm "$1" "$2"
    AFTER_DODF=0
    [ "$1" != 5015/4B02 ] || AFTER_DODF=1
    torn_write "mo put cut at UPDATE BINARY $2 into $1" mo put ./DMAcc/OperatorX "$TEST_TMP/dmacc2.xml"
    token_whole "cut at UPDATE BINARY $2 into $1"
    expect=$TEST_TMP/dmacc2.xml
    [ "$3" = new ] || expect=$PCSC_MO_DMACC
    mo_is "cut at UPDATE BINARY $2 into $1" ./DMAcc/OperatorX "$expect"
    # Three new MOs fill the 3 spares. After the cut at command 2 the spare
    # the rewrite took (spare 1) still names the new value's bytes: it is
    # not used (a new MO there would overwrite them), so the third is
    # refused. After the other cuts every spare is free.
    for k in 1 2 3; do
        DMSC_DEBUG=card dm --pin "$PCSC_PIN" mo put --public "./AfterCut$k" "$TEST_TMP/new.xml"
        if [ "$2" = 2 ] && [ "$k" = 3 ]; then
            [ "$RC" -ne 0 ] || fail "cut at $2 into $1: a new MO went into the spare naming the MO's bytes"
            out_has "named by another object of the card too" "cut at $2 into $1: the debug line saying why"
        else
            [ "$RC" -eq 0 ] || fail "cut at $2 into $1: new MO $k not written" "$(grep -v APDU <<<"$OUT" | indent)"
            mo_is "new MO $k after the cut at $2 into $1" "./AfterCut$k" "$TEST_TMP/new.xml"
        fi
    done
    mo_is "new MOs after the cut at $2 into $1" ./DMAcc/OperatorX "$expect"
    for k in 1 2 3; do
        [ "$2" = 2 ] && [ "$k" = 3 ] || dm_ok "mo rm ./AfterCut$k" --pin "$PCSC_PIN" mo rm "./AfterCut$k"
    done
    # and the card takes the next write
    dm_ok "a write after the cut at $2 into $1" --pin "$PCSC_PIN" mo put ./DMAcc/OperatorX "$TEST_TMP/mo3.xml"
    token_whole "a write after the cut at $2 into $1"
    mo_is "a write after the cut at $2 into $1" ./DMAcc/OperatorX "$TEST_TMP/mo3.xml"
done

step "a DODF change that cannot be made in one UPDATE BINARY per step is refused before anything is written"
six_mo_card
LONG="./$(head -c 240 /dev/zero | tr '\0' 'L')"
refused_untouched "a DODF change longer than one command" run_p11 --slot "$SLOT" --login --pin "$PCSC_PIN" \
    --write-object "$TEST_TMP/new.xml" --type data --label "$LONG" --application-label OMA-DM:MO
token_whole "after the refused write"

step "a new MO and its removal, cut at their DODF command and at the wipe"
tnds "$TEST_TMP/created.xml" 700 "created"
six_mo_card
arm 5015/4406 1
torn_write "mo put of a new MO cut at the DODF" mo put --public ./Created "$TEST_TMP/created.xml"
token_whole "a new MO cut at the DODF"
mo_absent "a new MO cut at the DODF" ./Created
dm_ok "mo put of a new MO" --pin "$PCSC_PIN" mo put --public ./Created "$TEST_TMP/created.xml"
token_whole "a new MO"
mo_is "a new MO" ./Created "$TEST_TMP/created.xml"
entry ./Created
CREATED_EF=$(cut -d'|' -f5 <<<"$ENTRY" | tail -c 5)
arm 5015/4406 1
torn_write "mo rm cut at the DODF" mo rm ./Created
token_whole "mo rm cut at the DODF"
mo_is "mo rm cut at the DODF" ./Created "$TEST_TMP/created.xml"
arm "5015/$CREATED_EF" 1
AFTER_DODF=1
torn_write "mo rm cut at the wipe" mo rm ./Created
AFTER_DODF=0
token_whole "mo rm cut at the wipe"
mo_absent "mo rm cut at the wipe" ./Created
dm_ok "mo put after the removal" --pin "$PCSC_PIN" mo put --public ./Created "$TEST_TMP/created.xml"
dm_ok "mo rm" --pin "$PCSC_PIN" mo rm ./Created
token_whole "mo rm"
mo_absent "mo rm" ./Created
IMG dodf "$PCSC_IMAGE" >"$TEST_TMP/dodf.txt"
! grep -q '^\./Created|' "$TEST_TMP/dodf.txt" || fail "the removed MO is still in the DODF" "$(indent <"$TEST_TMP/dodf.txt")"

step "MOs whose entries name their whole EF: read; a rewrite far from the DODF's end refused untouched, near it done"
# Many issuers write an MO's entry as a bare path. Its rewrite gives the
# entry an index and a length, so every DODF byte after it moves: more than
# one UPDATE BINARY for the first MO (refused before anything is written,
# README "MO writes"), one for the last ones.
six_mo_card --whole-ef-mos
entry ./DMAcc/OperatorX
[[ $ENTRY == *"|3F0050154B02|-|-" ]] || fail "--whole-ef-mos: ./DMAcc/OperatorX's entry has an index or length: $ENTRY"
mo_is "MOs naming their whole EF" ./DMAcc/OperatorX "$PCSC_MO_DMACC"
mo_is "MOs naming their whole EF" ./MO5 "$TEST_TMP/mo5.xml"
token_whole "MOs naming their whole EF"
refused_untouched "the whole-EF first MO's rewrite" dm --pin "$PCSC_PIN" mo put ./DMAcc/OperatorX "$TEST_TMP/dmacc2.xml"
mo_is "after the refused rewrite" ./DMAcc/OperatorX "$PCSC_MO_DMACC"
dm_ok "rewrite ./MO5, near the DODF's end" --pin "$PCSC_PIN" mo put ./MO5 "$TEST_TMP/dmacc2.xml"
mo_is "after the rewrite of ./MO5" ./MO5 "$TEST_TMP/dmacc2.xml"
token_whole "after the rewrite of ./MO5"
entry ./MO5
[[ $ENTRY == *"|0|$(stat -c %s "$TEST_TMP/dmacc2.xml")" ]] || fail "the rewritten ./MO5 has no index and length: $ENTRY"
dm_ok "mo rm ./MO4 (a whole-EF entry)" --pin "$PCSC_PIN" mo rm ./MO4
mo_absent "after mo rm ./MO4" ./MO4
token_whole "after mo rm ./MO4"
mo_is "after mo rm ./MO4" ./DMAcc/OperatorX "$PCSC_MO_DMACC"

say "ok"
