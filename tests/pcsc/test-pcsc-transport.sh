#!/bin/bash
# The PC/SC transport (tokens/pcsc: reader.c, apdu.c, iso7816.c) against
# a real pcscd with vsmartcard's vpcd reader and the emulated DM card
# (tests/pcsc/pcsc-lib.sh), driven by tests/pcsc/pcsc-probe:
#  - no pcscd: no readers and no error; readers appear once pcscd runs;
#  - reader filter by exact name; presence, ATR, insertion counter;
#  - SELECT of the PKCS#15 AID, EF(DIR) by absolute path and the ODF by
#    relative path read whole, byte for byte what the card image holds;
#  - VERIFY with empty data shows the tries left without spending one,
#    a wrong PIN spends one (63Cx, the card's own counter), the right one
#    restores them;
#  - a reset by another application (a second process doing
#    SCardReconnect with SCARD_RESET_CARD) is DMSC_CKR_CARD_RESET once,
#    then the link works again and the PIN is no longer verified;
#  - card removal: the reader shows no card, the connected card's
#    transmit is CKR_DEVICE_REMOVED; the card put back is a new insertion;
#  - pcscd stopped and restarted: readers gone, then back at their index.
set -euo pipefail
. "$DMSC_SRCDIR/tests/integration/lib.sh"
. "$DMSC_SRCDIR/tests/pcsc/pcsc-lib.sh"

PROBE=$DMSC_BUILDDIR/tests/pcsc/pcsc-probe
[ -x "$PROBE" ] || fail "pcsc-probe not found at $PROBE (make check builds it)"
AID=A000000063504B43532D3135

setup_store
pcsc_need
pcsc_make_card

# probe_start NAME [READER...]: a pcsc-probe talking through fifos.
probe_start() {
    local name=$1 in out w r
    shift
    in=$TEST_TMP/probe-$name.in
    out=$TEST_TMP/probe-$name.out
    mkfifo "$in" "$out"
    "$PROBE" "$@" <"$in" >"$out" 2>"$TEST_TMP/probe-$name.err" &
    CLEANUP_PIDS+=("$!")
    exec {w}>"$in"
    exec {r}<"$out"
    printf -v "PROBE_W_$name" '%s' "$w"
    printf -v "PROBE_R_$name" '%s' "$r"
}

# probe NAME COMMAND: sends one command; PROBE_OUT is its answer (lines).
PROBE_OUT=
probe() {
    local name=$1 cmd=$2 wv rv line
    wv=PROBE_W_$name
    rv=PROBE_R_$name
    printf '%s\n' "$cmd" >&"${!wv}" || fail "pcsc-probe '$name' is gone (writing '$cmd')" \
        "$(indent <"$TEST_TMP/probe-$name.err")"
    PROBE_OUT=
    while :; do
        IFS= read -r -t 60 -u "${!rv}" line ||
            fail "pcsc-probe '$name' gave no answer to '$cmd'" "$(indent <"$TEST_TMP/probe-$name.err")"
        [ "$line" = . ] && break
        PROBE_OUT+=$line$'\n'
    done
}

# expect NAME COMMAND PATTERN: the answer must match PATTERN (a glob).
expect() {
    probe "$1" "$2"
    # shellcheck disable=SC2053 # PATTERN is a glob on purpose
    [[ $PROBE_OUT == $3 ]] || fail "'$2': expected '$3'" "got:" "$(indent <<<"$PROBE_OUT")"
}

# reader_line NAME: the poll line of reader NAME in PROBE_OUT.
reader_line() {
    awk -v r="$1" '$1 == "reader" && substr($0, length($0) - length(r) + 1) == r' <<<"$PROBE_OUT"
}

# The bytes of EF PATH (e.g. 5015/5031) in the card image, in hex.
image_ef() {
    "$PCSC_PYTHON" -c 'import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    if f["path"] == sys.argv[2]:
        print(f["data"].upper())' "$PCSC_IMAGE" "$1"
}

step "no pcscd yet: no readers, no error"
# Traced (DMSC_DEBUG=card): checked at the end to name APDUs, never PINs.
DMSC_DEBUG=card probe_start p
expect p poll 'poll: CKR_OK readers=0'$'\n'

step "pcscd and the card: the readers appear on the next poll"
pcsc_start
probe p poll
[[ $PROBE_OUT == 'poll: CKR_OK readers=2'$'\n'* ]] || fail "expected 2 readers" "$(indent <<<"$PROBE_OUT")"
CARD_LINE=$(reader_line "$PCSC_READER")
EMPTY_LINE=$(reader_line "$PCSC_READER_EMPTY")
[[ $CARD_LINE == "reader "[01]" gone=0 present=1 insertions=1 atr=3B"* ]] ||
    fail "the card's reader: '$CARD_LINE'" "$(indent <<<"$PROBE_OUT")"
[[ $EMPTY_LINE == "reader "[01]" gone=0 present=0 insertions=0 atr= $PCSC_READER_EMPTY" ]] ||
    fail "the empty reader: '$EMPTY_LINE'"
IDX=$(cut -d' ' -f2 <<<"$CARD_LINE")
EMPTY_IDX=$(cut -d' ' -f2 <<<"$EMPTY_LINE")
say "card in reader $IDX, empty reader $EMPTY_IDX, $(cut -d' ' -f6 <<<"$CARD_LINE")"

step "a reader filter names readers exactly"
OUT=$(printf 'poll\n' | "$PROBE" "$PCSC_READER_EMPTY" "DMSC test vpcd" 2>&1)
[[ $OUT == 'poll: CKR_OK readers=1'$'\n'"reader 0 gone=0 present=0 insertions=0 atr= $PCSC_READER_EMPTY"$'\n.' ]] ||
    fail "filtered poll" "$(indent <<<"$OUT")"
expect p "connect $EMPTY_IDX" 'connect: CKR_DEVICE_REMOVED'$'\n'

step "SELECT the PKCS#15 application, read EF(DIR) and the ODF whole"
expect p "connect $IDX" 'connect: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
DIR_HEX=$(image_ef 2F00)
ODF_HEX=$(image_ef 5015/5031)
[ -n "$DIR_HEX" ] && [ -n "$ODF_HEX" ] || fail "no 2F00 or 5015/5031 in the card image"
expect p "read-ef 3F002F00 4096" "read-ef: CKR_OK sw=9000 len=$((${#DIR_HEX} / 2)) data=$DIR_HEX"$'\n'
[[ $DIR_HEX == *4F0C$AID* ]] || fail "EF(DIR) does not name the PKCS#15 AID: $DIR_HEX"
# Relative to the current DF: EF(DIR)'s select made the MF current.
expect p "read-ef 5031 4096" 'read-ef: CKR_OK sw=6A82 len=0 data='$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p "read-ef 5031 4096" "read-ef: CKR_OK sw=9000 len=$((${#ODF_HEX} / 2)) data=$ODF_HEX"$'\n'
# Bounded: the caller's maximum is smaller than the EF.
expect p "read-ef 5031 4" 'read-ef: CKR_DEVICE_MEMORY sw=9000 len=0 data='$'\n'
expect p "read-ef 3F005015DEAD 4096" 'read-ef: CKR_OK sw=6A82 len=0 data='$'\n'

step "VERIFY: empty data shows the tries, a wrong PIN costs one, the right one restores them"
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
expect p "verify 01 9999" 'verify: CKR_OK sw=63C2 tries=2'$'\n'
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the card's own counter is not 2: $(pcsc_image_pin_tries 1)"
expect p "verify 01" 'verify: CKR_OK sw=63C2 tries=2'$'\n'
expect p "verify 01 $PCSC_PIN" 'verify: CKR_OK sw=9000 tries=-1'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=9000 tries=-1'$'\n'
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the card's counter is not back to 3"

step "transactions"
expect p begin 'begin: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p end 'end: CKR_OK'$'\n'

step "a reset by another application: DMSC_CKR_CARD_RESET once, then the card again, PIN state gone"
OUT=$(printf 'reset-other %s\n' "$IDX" | "$PROBE" 2>&1)
[[ $OUT == 'reset-other: OK'$'\n.' ]] || fail "the other application could not reset the card" "$(indent <<<"$OUT")"
expect p "select-aid $AID" 'select-aid: DMSC_CKR_CARD_RESET sw=0000'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
# A reset noticed when a transaction begins: also once.
OUT=$(printf 'reset-other %s\n' "$IDX" | "$PROBE" 2>&1)
[[ $OUT == 'reset-other: OK'$'\n.' ]] || fail "second reset" "$(indent <<<"$OUT")"
expect p begin 'begin: DMSC_CKR_CARD_RESET'$'\n'
expect p begin 'begin: CKR_OK'$'\n'
expect p end 'end: CKR_OK'$'\n'

step "card removal: no card in the reader, the connected card is CKR_DEVICE_REMOVED"
pcsc_card_remove
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=0 present=0 insertions=1 atr= $PCSC_READER" ]] ||
    fail "after removal" "$(indent <<<"$PROBE_OUT")"
expect p "select-aid $AID" 'select-aid: CKR_DEVICE_REMOVED sw=0000'$'\n'
expect p "read-ef 3F002F00 4096" 'read-ef: CKR_DEVICE_REMOVED sw=0000 len=0 data='$'\n'
expect p "connect $IDX" 'connect: CKR_DEVICE_REMOVED'$'\n'

step "the card put back: a new insertion, same reader index"
pcsc_card_insert
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=0 present=1 insertions=2 atr=3B"* ]] ||
    fail "after insertion" "$(indent <<<"$PROBE_OUT")"
expect p "connect $IDX" 'connect: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p disconnect 'disconnect: CKR_OK'$'\n'

step "a card swapped between two polls: pcsc-lite's event counter makes it a new insertion"
pcsc_card_remove
pcsc_card_insert
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=0 present=1 insertions=3 atr=3B"* ]] ||
    fail "after a swap between polls" "$(indent <<<"$PROBE_OUT")"

step "pcscd stopped: every reader gone, indexes kept; restarted: the same indexes"
pcsc_stop
probe p poll
[[ $PROBE_OUT == 'poll: CKR_OK readers=2'$'\n'* ]] || fail "after pcscd stopped" "$(indent <<<"$PROBE_OUT")"
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=1 present=0 "* ]] || fail "reader not gone" "$(indent <<<"$PROBE_OUT")"
[[ $(reader_line "$PCSC_READER_EMPTY") == "reader $EMPTY_IDX gone=1 present=0 "* ]] || fail "reader not gone" "$(indent <<<"$PROBE_OUT")"
pcsc_start
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=0 present=1 insertions=4 atr=3B"* ]] ||
    fail "after pcscd restarted" "$(indent <<<"$PROBE_OUT")"
[[ $(reader_line "$PCSC_READER_EMPTY") == "reader $EMPTY_IDX gone=0 present=0 "* ]] ||
    fail "after pcscd restarted" "$(indent <<<"$PROBE_OUT")"
expect p "connect $IDX" 'connect: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'

step "the trace names commands and status words, never a PIN"
PIN_HEX=$(printf '%s' "$PCSC_PIN" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
grep -q 'card: APDU 00 20 00 01 Lc=8 Le=0: 0 bytes, 63C2 verification failed' "$TEST_TMP/probe-p.err" ||
    fail "no VERIFY in the DMSC_DEBUG=card trace" "$(tail -20 "$TEST_TMP/probe-p.err" | indent)"
grep -q 'was reset by another application' "$TEST_TMP/probe-p.err" || fail "the reset is not traced"
if grep -qi -e "$PIN_HEX" -e "$(printf '%s' "$PCSC_PIN" | od -An -tx1 | tr -d '\n')" "$TEST_TMP/probe-p.err"; then
    fail "the trace holds the PIN" "$(grep -i "$PIN_HEX" "$TEST_TMP/probe-p.err" | indent)"
fi

say "PASS"
