#!/bin/bash
# The PC/SC backend against a card that does not make things easy (the
# emulated card of tests/pcsc, built with make-card.py's robustness
# options), through the module with pkcs11-tool, dmsc and p11-driver:
#  - paths relative to the application DF (--relative-paths), and another
#    PC/SC client selecting the MF between two of the module's commands:
#    the module selects the application again and reads the private MO's
#    own bytes, not those of the decoy EF with the same file id in the MF
#  - DODF entries whose bytes lie past the offset READ BINARY reaches
#    (--bad-ranges: index 32768, and index+length past 32767): only those
#    objects are left out (a debug line names them), the token and its
#    other objects stay usable
#  - a DODF entry naming a whole EF of 40000 bytes (--big-ef: no
#    index/length), more than READ BINARY's offsets reach: only that
#    object is left out, as above, not the whole token; so is one naming
#    an EF the card does not have (6A82): not listed with an empty value
#  - PINs local to a DF (--local-pins: the card answers 6A88 to a PIN
#    command while another DF is current), the application DF and a DF
#    named by the AODF's PinAttributes path: with another client selecting
#    the MF before each call, C_Login (right and wrong PIN, the wrong one
#    counted by the card), the token's PIN flags, C_SetPIN, C_Logout, SO
#    login and C_InitPIN all reach the PIN
#  - PINs shorter than the AODF's minLength, longer than its maxLength or
#    than 64 bytes: C_Login answers CKR_PIN_LEN_RANGE and sends no VERIFY,
#    so the card's retry counters (read back from the card's memory) stay
#    full; with an AODF maxLength over 64 the token info says 64 and a
#    65-digit PIN is still CKR_PIN_LEN_RANGE without a VERIFY (the
#    module's own 64-byte bound, not the AODF's)
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

check_module
need_cmd xxd
setup_store
pcsc_need
need_driver

SLOT=$((0x10000))
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:-.}/dmsc}
[ -x "$DMSC" ] || fail "the dmsc tool was not built ($DMSC)"
PROBE=${PCSC_PROBE:-${DMSC_BUILDDIR:-.}/tests/pcsc/pcsc-probe}
[ -x "$PROBE" ] || fail "pcsc-probe not found at $PROBE (make check builds it)"
TOKEN="pkcs11:serial=${PCSC_ICCID: -16}"

cat >"$DMSC_CONF" <<EOF
backends = pcsc
EOF

PRIVATE_MO=$TEST_TMP/private.xml
cat >"$PRIVATE_MO" <<'EOF'
<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>Private</NodeName><Value>the private MO's own bytes</Value></Node></MgmtTree>
EOF
pcsc_make_card --relative-paths --bad-ranges --big-ef --local-pins app --private-mo "./Private=$PRIVATE_MO"
pcsc_start

# Another PC/SC client (pcsc-probe) reads EF(DIR) in the MF, so the MF is
# the card's current DF when the module's next command comes.
other_selects_mf() {
    printf 'poll\nconnect 0\nread-ef 3F002F00 1024\n' | "$PROBE" "$PCSC_READER" >"$TEST_TMP/other.out" 2>&1 ||
        fail "pcsc-probe (the other application) failed" "$(indent <"$TEST_TMP/other.out")"
    grep -q "^read-ef: CKR_OK sw=9000" "$TEST_TMP/other.out" ||
        fail "the other application could not select EF(DIR) in the MF" "$(indent <"$TEST_TMP/other.out")"
}

# The card's answer (from its APDU trace) to the last command starting HEADER.
last_answer_to() {
    grep -A1 "^C: $1" "$PCSC_TRACE" | tail -1
}

step "entries naming bytes past READ BINARY's offsets (a range, or a whole EF) leave out only their objects"
DMSC_DEBUG=card p11_ok "list objects of a card with three bad DODF entries" --slot "$SLOT" -O
out_has "label:          './DMAcc/OperatorX'" "the good MO"
out_has "label:          './FUMO'" "the good MO"
out_has "application:    'OMA-DM:BOOTSTRAP'" "the bootstrap"
out_lacks "label:          './BadIndex'" "the entry at index 32768"
out_lacks "label:          './BadRange'" "the entry reaching past offset 32767"
out_has "object './BadIndex' is left out: its path names bytes 32768..32784" "the debug line naming it"
out_has "object './BadRange' is left out: its path names bytes 32512..32800" "the debug line naming it"
out_lacks "label:          './BigEF'" "the entry naming a whole 40000-byte EF"
out_has "EF of 40000 bytes: READ BINARY reaches only the first 32768" "the debug line giving its size"
out_has "object './BigEF' is left out: its value is larger than 32768 bytes" "the debug line naming it"
out_lacks "label:          './NoEF'" "the entry naming an EF the card does not have"
out_has "reading object './NoEF' (left out): the card answered 6A82" "the debug line naming it"
RC=0
OUT=$(timeout -k 5 "$P11_TIMEOUT" "$DMSC" --module "$DMSC_MODULE" --token "$TOKEN" mo ls 2>&1 </dev/null) || RC=$?
[ "$RC" -eq 0 ] || fail "dmsc mo ls exited $RC" "$(indent <<<"$OUT")"
out_has "./FUMO" "dmsc mo ls"
out_lacks "./Bad" "dmsc mo ls"
out_lacks "./BigEF" "dmsc mo ls"
out_lacks "./NoEF" "dmsc mo ls"

step "another application selects the MF between two commands: the module's reads stay in the application"
drv_start one
drv_expect one init ok
drv_expect one "open DM" ok
drv_expect one "find ./FUMO" "count 1"
other_selects_mf
# The login reads the private MO (relative path 4B04, a decoy 4B04 in the MF).
drv_expect one "login $PCSC_PIN" ok
drv_expect one "getattr ./Private value" "hex *"
want=$(xxd -p "$PRIVATE_MO" | tr -d '\n')
[ "${DRV_OUT#hex }" = "$want" ] ||
    fail "the private MO read after the other application's SELECT is not its bytes" \
        "got:  ${DRV_OUT#hex }" "want: $want"
drv_stop one

# pin_commands_after_mf NAME: every PIN command of the module, each after
# another client selected the MF, on a card whose PINs are local to a DF.
pin_commands_after_mf() {
    local d=$1 flags
    drv_start "$d"
    drv_expect "$d" init ok
    drv_expect "$d" "open DM" ok
    other_selects_mf
    drv_expect "$d" "login 9999" "err CKR_PIN_INCORRECT*"
    [ "$(pcsc_image_pin_tries 1)" = 2 ] ||
        fail "the wrong PIN was not counted by the card ($(pcsc_image_pin_tries 1) tries left)"
    other_selects_mf
    drv_expect "$d" flags "flags 0x*"
    flags=${DRV_OUT#flags }
    (( (flags & 0x10000) != 0 )) || fail "C_GetTokenInfo does not show the user PIN's count low ($DRV_OUT)"
    other_selects_mf
    drv_expect "$d" "login $PCSC_PIN" ok
    [ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the right PIN did not restore the tries ($(pcsc_image_pin_tries 1))"
    other_selects_mf
    drv_expect "$d" "setpin $PCSC_PIN 5678" ok
    other_selects_mf
    drv_expect "$d" logout ok
    [ "$(last_answer_to 0020FF01)" = "R: 9000" ] ||
        fail "the logout VERIFY (P1 FF) did not reach the PIN: the card answered '$(last_answer_to 0020FF01)'"
    other_selects_mf
    drv_expect "$d" "login 5678" ok
    other_selects_mf
    drv_expect "$d" "setpin 5678 $PCSC_PIN" ok
    drv_expect "$d" logout ok
    other_selects_mf
    drv_expect "$d" "sologin $PCSC_PUK" ok
    other_selects_mf
    drv_expect "$d" "initpin $PCSC_PIN" ok
    [ "$(last_answer_to 002C0001)" = "R: 9000" ] ||
        fail "RESET RETRY COUNTER did not reach the PIN: the card answered '$(last_answer_to 002C0001)'"
    drv_expect "$d" logout ok
    drv_stop "$d"
    [ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the user PIN has not its 3 tries ($(pcsc_image_pin_tries 1))"
    [ "$(pcsc_image_pin_tries 2)" = 10 ] || fail "the PUK has not its 10 tries ($(pcsc_image_pin_tries 2))"
}

step "PINs local to the application DF: each PIN command reaches them after another application selected the MF"
pin_commands_after_mf app

step "PINs outside the AODF's lengths: CKR_PIN_LEN_RANGE, no try spent"
expect_fail CKR_PIN_LEN_RANGE "a 3-digit PIN (minLength 4)" --slot "$SLOT" --login --pin 123 -O
expect_fail CKR_PIN_LEN_RANGE "a 9-digit PIN (maxLength 8)" --slot "$SLOT" --login --pin 123456789 -O
expect_fail CKR_PIN_LEN_RANGE "a 65-digit PIN" --slot "$SLOT" --login --pin "$(printf '1%.0s' $(seq 65))" -O
# An SO login needs a R/W session: p11-driver's.
drv_start so
drv_expect so init ok
drv_expect so "open DM" ok
drv_expect so "sologin 1234" "err CKR_PIN_LEN_RANGE*"
drv_expect so "sologin 123456789" "err CKR_PIN_LEN_RANGE*"
drv_stop so
pcsc_card_remove
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the card counted a try of the user PIN ($(pcsc_image_pin_tries 1) left)"
[ "$(pcsc_image_pin_tries 2)" = 10 ] || fail "the card counted a try of the PUK ($(pcsc_image_pin_tries 2) left)"
pcsc_card_insert
expect_fail CKR_PIN_INCORRECT "a wrong PIN of a right length (the check above can fail)" --slot "$SLOT" \
    --login --pin 9999 -O
pcsc_card_remove
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "a wrong PIN was not counted ($(pcsc_image_pin_tries 1) left)"

step "PINs local to a DF the AODF's PinAttributes path names: reached after another application selected the MF"
pcsc_make_card --relative-paths --local-pins df
pcsc_card_insert
pin_commands_after_mf df
pcsc_card_remove

step "an AODF maxLength over 64: the token says 64, a 65-digit PIN is CKR_PIN_LEN_RANGE, no try spent"
pcsc_make_card --pin-max-len 100
pcsc_card_insert
p11_ok "list slots" -L
grep -qE "pin min/max +: 4/64\$" <<<"$OUT" ||
    fail "the token does not give 64 as the PIN's maximum (the AODF says 100)" "$(indent <<<"$OUT")"
expect_fail CKR_PIN_LEN_RANGE "a 65-digit PIN (the AODF's maxLength 100)" --slot "$SLOT" --login \
    --pin "$(printf '1%.0s' $(seq 65))" -O
pcsc_card_remove
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the card counted a try of the user PIN ($(pcsc_image_pin_tries 1) left)"

step "another card in the reader: its PIN's tries are not judged by the last card's maximum"
# CKF_USER_PIN_COUNT_LOW (0x10000): fewer tries left than the most seen.
pcsc_make_card --pin-tries 10
pcsc_card_insert
drv_start cards
drv_expect cards init ok
drv_expect cards "tokeninfo 0" "ok 0x* DM"
flags=${DRV_OUT#ok }
(( (${flags%% *} & 0x10000) == 0 )) || fail "a card with all 10 tries shows the count low ($DRV_OUT)"
pcsc_card_remove
pcsc_make_card
pcsc_card_insert
drv_expect cards "tokeninfo 0" "ok 0x* DM"
flags=${DRV_OUT#ok }
(( (${flags%% *} & 0x10000) == 0 )) || fail "a card with all its 3 tries shows the count low after a 10-try card ($DRV_OUT)"
drv_stop cards
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the second card has not its 3 tries ($(pcsc_image_pin_tries 1))"

say "ok"
