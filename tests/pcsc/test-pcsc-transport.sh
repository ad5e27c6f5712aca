#!/bin/bash
# The PC/SC transport (tokens/pcsc: reader.c, apdu.c, iso7816.c) against
# a real pcscd with vsmartcard's vpcd reader and the emulated DM card
# (tests/pcsc/pcsc-lib.sh), driven by tests/pcsc/pcsc-probe:
#  - no pcscd: no readers and no error; readers appear once pcscd runs;
#  - reader filter by exact name; presence, ATR, insertion counter;
#  - SELECT of the PKCS#15 AID, EF(DIR) by absolute path and the ODF by
#    relative path read whole, byte for byte what the card image holds;
#  - 61xx: a SELECT without Le gets its FCP through GET RESPONSE; a
#    256-byte signature (PSO without Le) through 61FF then 6101, and it
#    verifies with the card's public key;
#  - VERIFY with empty data shows the tries left without spending one,
#    a wrong PIN spends one (63Cx, the card's own counter), the right one
#    restores them;
#  - a reset by another application (a second process doing
#    SCardReconnect with SCARD_RESET_CARD) is DMSC_CKR_CARD_RESET once,
#    then the link works again and the PIN is no longer verified;
#  - card removal: the reader shows no card, the connected card's
#    transmit is CKR_DEVICE_REMOVED; the card put back is a new insertion;
#  - pcscd stopped and restarted: readers gone, then back at their index;
#  - pcscd killed (SIGKILL) under a connected card in a transaction: every
#    call returns, the card is CKR_DEVICE_REMOVED, the readers gone; a new
#    pcscd brings them back; the module's C_WaitForSlotEvent (blocking,
#    tests/integration/p11-event-driver) returns the card's slot when pcscd
#    is killed, and again when it is back;
#  - a card answering 6Cxx to a too-long Le (T=0 style, make-card.py
#    --short-read 6Cxx): the command re-sent with the right Le.
set -euo pipefail
. "$DMSC_SRCDIR/tests/integration/lib.sh"
. "$DMSC_SRCDIR/tests/pcsc/pcsc-lib.sh"

PROBE=${PCSC_PROBE:-$DMSC_BUILDDIR/tests/pcsc/pcsc-probe}
[ -x "$PROBE" ] || fail "pcsc-probe not found at $PROBE (make check builds it)"
AID=A000000063504B43532D3135

check_module
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
    printf -v "PROBE_PID_$name" '%s' "$!"
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

# probe_stop NAME: the probe must disconnect, free its context and exit 0.
# Asked with "quit", not by closing its input: the services started after
# the probe (pcscd, the card) inherited the fifo's write end, so the probe
# would not see the end of its input while they run. Bounded either way.
probe_stop() {
    local name=$1 wv rv pv wfd rfd
    expect "$name" quit 'quit: OK'$'\n'
    wv=PROBE_W_$name
    rv=PROBE_R_$name
    pv=PROBE_PID_$name
    wfd=${!wv}
    rfd=${!rv}
    exec {wfd}>&- {rfd}<&-
    pcsc_reap "${!pv}" "pcsc-probe '$name'" 30 ||
        fail "pcsc-probe '$name' did not exit after quit" "$(indent <"$TEST_TMP/probe-$name.err")"
    [ "$PCSC_REAP_STATUS" -eq 0 ] ||
        fail "pcsc-probe '$name' exited with status $PCSC_REAP_STATUS" "$(indent <"$TEST_TMP/probe-$name.err")"
}

# probe_once ARGS...: a short-lived pcsc-probe, its commands on stdin;
# bounded (a PC/SC call that never returns fails the test, not hangs it).
probe_once() {
    timeout -k 5 60 "$PROBE" "$@" 2>&1
}

# trace_has LINES...: the card's own APDU trace ($PCSC_TRACE: "C: hex" and
# "R: hex" lines) holds LINES (globs) one after another.
trace_has() {
    "$PCSC_PYTHON" -c 'import fnmatch, sys
lines = open(sys.argv[1]).read().split("\n")
want = sys.argv[2:]
sys.exit(0 if any(all(fnmatch.fnmatchcase(l, w) for l, w in zip(lines[i:i + len(want)], want))
                  for i in range(len(lines) - len(want) + 1)) else 1)' "$PCSC_TRACE" "$@"
}

# hex2 N: N as two upper-case hex digits.
hex2() { printf '%02X' "$1"; }

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
OUT=$(printf 'poll\n' | probe_once "$PCSC_READER_EMPTY" "DMSC test vpcd")
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

step "61xx: SELECT asking for the FCP without Le; GET RESPONSE (apdu.c) brings it"
# The application DF's FCP: 83 FID 5015, 8A LCS 05, 82 DF descriptor 38,
# 84 its AID (the card's format, tests/pcsc/dmcard.py).
FCP_BODY=830250158A0105820138840C$AID
FCP=62$(hex2 $((${#FCP_BODY} / 2)))$FCP_BODY
FCP_LEN=$((${#FCP} / 2))
expect p "apdu 00A40404 $AID 0" "apdu: CKR_OK sw=9000 len=$FCP_LEN data=$FCP"$'\n'
trace_has "C: 00A404040C$AID" "R: 61$(hex2 "$FCP_LEN")" "C: 00C00000$(hex2 "$FCP_LEN")" "R: ${FCP}9000" ||
    fail "the card did not answer 61$(hex2 "$FCP_LEN") then the FCP to GET RESPONSE" "$(tail -6 "$PCSC_TRACE" | indent)"

step "VERIFY: empty data shows the tries, a wrong PIN costs one, the right one restores them"
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
expect p "verify 01 9999" 'verify: CKR_OK sw=63C2 tries=2'$'\n'
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the card's own counter is not 2: $(pcsc_image_pin_tries 1)"
expect p "verify 01" 'verify: CKR_OK sw=63C2 tries=2'$'\n'
expect p "verify 01 $PCSC_PIN" 'verify: CKR_OK sw=9000 tries=-1'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=9000 tries=-1'$'\n'
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the card's counter is not back to 3"

step "61FF then 6101: a 256-byte signature without Le comes in two GET RESPONSEs"
MSG=$TEST_TMP/to-sign
printf 'dmsc pcsc transport %s\n' "$$" >"$MSG"
# DigestInfo(SHA-256) of MSG: the card pads it (PKCS#1 v1.5) and signs.
DIGESTINFO=3031300D060960864801650304020105000420$(openssl dgst -sha256 -r "$MSG" | cut -c1-64 | tr a-f A-F)
expect p "apdu 002241B6 840101 0" 'apdu: CKR_OK sw=9000 len=0 data='$'\n'
probe p "apdu 002A9E9A $DIGESTINFO 0"
[[ $PROBE_OUT =~ ^apdu:\ CKR_OK\ sw=9000\ len=256\ data=([0-9A-F]{512})$'\n'$ ]] ||
    fail "PSO: expected 256 bytes and 9000" "$(indent <<<"$PROBE_OUT")"
SIG_HEX=${BASH_REMATCH[1]}
"$PCSC_PYTHON" -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.argv[2]))' "$TEST_TMP/sig" "$SIG_HEX"
openssl dgst -sha256 -verify "$PCSC_PUBKEY" -signature "$TEST_TMP/sig" "$MSG" >"$TEST_TMP/verify.out" 2>&1 ||
    fail "the card's signature does not verify with its public key" "$(indent <"$TEST_TMP/verify.out")"
trace_has "C: 002A9E9A33$DIGESTINFO" "R: 61FF" "C: 00C00000FF" "R: ${SIG_HEX:0:510}6101" "C: 00C0000001" \
    "R: ${SIG_HEX:510:2}9000" ||
    fail "the card did not answer 61FF, then 255 bytes and 6101, then 1 byte" "$(tail -6 "$PCSC_TRACE" | cut -c1-80 | indent)"

step "transactions"
expect p begin 'begin: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p end 'end: CKR_OK'$'\n'

step "a reset by another application: DMSC_CKR_CARD_RESET once, then the card again, PIN state gone"
OUT=$(printf 'reset-other %s\n' "$IDX" | probe_once)
[[ $OUT == 'reset-other: OK'$'\n.' ]] || fail "the other application could not reset the card" "$(indent <<<"$OUT")"
expect p "select-aid $AID" 'select-aid: DMSC_CKR_CARD_RESET sw=0000'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect p "verify 01" 'verify: CKR_OK sw=63C3 tries=3'$'\n'
# A reset noticed when a transaction begins: also once.
OUT=$(printf 'reset-other %s\n' "$IDX" | probe_once)
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

step "pcscd killed (SIGKILL) under a connected card in a transaction: removed, not hung"
expect p begin 'begin: CKR_OK'$'\n'
pcsc_crash
# Every call returns (probe waits 60 s at most for each answer).
expect p "select-aid $AID" 'select-aid: CKR_DEVICE_REMOVED sw=0000'$'\n'
# The transaction held is ended (its pcsc-lite call fails quietly); a
# new one cannot begin (inside it, a begin would only nest: reader.h).
expect p end 'end: CKR_OK'$'\n'
expect p begin 'begin: CKR_DEVICE_REMOVED'$'\n'
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=1 present=0 "* ]] || fail "reader not gone" "$(indent <<<"$PROBE_OUT")"
[[ $(reader_line "$PCSC_READER_EMPTY") == "reader $EMPTY_IDX gone=1 present=0 "* ]] || fail "reader not gone" "$(indent <<<"$PROBE_OUT")"
expect p "connect $IDX" 'connect: CKR_DEVICE_REMOVED'$'\n'
expect p disconnect 'disconnect: CKR_OK'$'\n'
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=1 present=0 "* ]] || fail "reader not gone" "$(indent <<<"$PROBE_OUT")"
pcsc_start
probe p poll
[[ $(reader_line "$PCSC_READER") == "reader $IDX gone=0 present=1 insertions=5 atr=3B"* ]] ||
    fail "after pcscd started again" "$(indent <<<"$PROBE_OUT")"
expect p "connect $IDX" 'connect: CKR_OK'$'\n'
expect p "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
probe_stop p

step "the module: C_WaitForSlotEvent without CKF_DONT_BLOCK returns when pcscd is killed (the token gone)"
# tests/integration/p11-event-driver through lib.sh's drv_*: the module
# with the PC/SC backend alone; the card's reader is slot base + IDX.
DRIVER=${P11_EVENT_DRIVER:-$DMSC_BUILDDIR/tests/integration/p11-event-driver}
[ -x "$DRIVER" ] || fail "p11-event-driver not found at $DRIVER (make check builds it)"
CARD_SLOT=$(printf '0x%x' $((0x10000 + IDX)))
DMSC_BACKENDS=pcsc drv_start ev
for _ in 1 2 3 4; do
    drv ev poll
    [ "$DRV_OUT" = CKR_NO_EVENT ] && break
done
[ "$DRV_OUT" = CKR_NO_EVENT ] || fail "events keep coming with nothing happening: $DRV_OUT"
drv_expect ev wait blocking
pcsc_crash
# The blocked call's answer (read -t: bounded).
IFS= read -r -t "$P11_TIMEOUT" -u "$DRV_R_ev" DRV_OUT ||
    fail "C_WaitForSlotEvent did not return after pcscd was killed" "$(indent <"$TEST_TMP/drv-ev.err")"
[ "$DRV_OUT" = "event $CARD_SLOT" ] || fail "the blocked waiter said '$DRV_OUT', not 'event $CARD_SLOT'"
drv_expect ev poll CKR_NO_EVENT
pcsc_start
drv_expect ev poll "event $CARD_SLOT"
drv_expect ev poll CKR_NO_EVENT
drv_stop ev

step "a card answering 6Cxx to a too-long Le: re-sent once with Le = xx"
pcsc_stop
pcsc_make_card --short-read 6Cxx
pcsc_start
probe_start q "$PCSC_READER"
expect q poll 'poll: CKR_OK readers=1'$'\n'"reader 0 gone=0 present=1 insertions=1 atr=3B"*
expect q "connect 0" 'connect: CKR_OK'$'\n'
expect q "select-aid $AID" 'select-aid: CKR_OK sw=9000'$'\n'
expect q "read-ef 5031 4096" "read-ef: CKR_OK sw=9000 len=$((${#ODF_HEX} / 2)) data=$ODF_HEX"$'\n'
# 200 bytes asked of the smaller ODF: the card says 6Cxx (xx its size),
# apdu.c sends the READ BINARY again with Le = xx and gets it all.
ODF_LEN=$((${#ODF_HEX} / 2))
[ "$ODF_LEN" -lt 200 ] || fail "the ODF is $ODF_LEN bytes: this step needs fewer than 200"
expect q "read-binary 0 200" "read-binary: CKR_OK sw=9000 len=$ODF_LEN data=$ODF_HEX"$'\n'
trace_has "C: 00B00000C8" "R: 6C$(hex2 "$ODF_LEN")" "C: 00B00000$(hex2 "$ODF_LEN")" "R: ${ODF_HEX}9000" ||
    fail "the card did not answer 6C$(hex2 "$ODF_LEN") then the ODF to the re-sent READ BINARY" \
        "$(tail -6 "$PCSC_TRACE" | indent)"
probe_stop q

step "the trace names commands and status words, never a PIN"
PIN_HEX=$(printf '%s' "$PCSC_PIN" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
grep -q 'card: APDU 00 20 00 01 Lc=8 Le=0: 0 bytes, 63C2 verification failed' "$TEST_TMP/probe-p.err" ||
    fail "no VERIFY in the DMSC_DEBUG=card trace" "$(tail -20 "$TEST_TMP/probe-p.err" | indent)"
grep -q 'was reset by another application' "$TEST_TMP/probe-p.err" || fail "the reset is not traced"
if grep -qi -e "$PIN_HEX" -e "$(printf '%s' "$PCSC_PIN" | od -An -tx1 | tr -d '\n')" "$TEST_TMP/probe-p.err"; then
    fail "the trace holds the PIN" "$(grep -i "$PIN_HEX" "$TEST_TMP/probe-p.err" | indent)"
fi

say "PASS"
