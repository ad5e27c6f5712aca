#!/bin/bash
# C_WaitForSlotEvent across processes: a p11-event-driver (one process,
# C_Initialize'd once) sees the card applications that other processes
# add (pkcs11-tool --init-token on the spare slot), re-initialise, and
# remove (the application's row deleted from the card file with sqlite3),
# with CKF_DONT_BLOCK (CKR_NO_EVENT when nothing happened) and blocking;
# and a C_Finalize from another thread wakes a blocked waiter with
# CKR_CRYPTOKI_NOT_INITIALIZED.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd sqlite3
setup_store
DRIVER=${P11_EVENT_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-event-driver}
[ -x "$DRIVER" ] || fail "p11-event-driver not found at $DRIVER" \
    "build it (make check builds it) or set P11_EVENT_DRIVER=/path/to/p11-event-driver"

# next_line NAME: the driver's next reply line (after a two-line reply's first).
next_line() {
    local rv="DRV_R_$1"
    DRV_OUT=
    IFS= read -r -t "$P11_TIMEOUT" -u "${!rv}" DRV_OUT ||
        fail "driver '$1' gave no second reply line (crashed or hung)" "stderr:" "$(indent <"$TEST_TMP/drv-$1.err")"
}

step "a fresh card: one spare slot, no event"
spare_slot
first=$SLOT
drv_start ev
drv_expect ev slots "$(printf '0x%x' "$first"):spare"
drv_expect ev poll CKR_NO_EVENT

step "another process adds an application: the spare slot's event, then the new spare slot's"
p11_ok "init token 'one' in another process" --init-token --slot "$first" --label one --so-pin 12345678
spare_slot
second=$SLOT
[ "$second" != "$first" ] || fail "no new spare slot after --init-token"
drv_expect ev poll "event $(printf '0x%x' "$first")"
drv_expect ev poll "event $(printf '0x%x' "$second")"
drv_expect ev poll CKR_NO_EVENT
drv_expect ev slots "$(printf '0x%x:app 0x%x:spare' "$first" "$second")"

step "a blocked waiter wakes when another process adds an application"
drv_expect ev wait blocking
# The driver is in C_WaitForSlotEvent now (or about to be: the outcome is
# the same, the event counts from the last report).
sleep 0.5
p11_ok "init token 'two' in another process" --init-token --slot "$second" --label two --so-pin 12345678
next_line ev
[ "$DRV_OUT" = "event $(printf '0x%x' "$second")" ] ||
    fail "the blocked waiter should report slot $second, it said '$DRV_OUT'" "stderr:" "$(indent <"$TEST_TMP/drv-ev.err")"
spare_slot
third=$SLOT
drv_expect ev poll "event $(printf '0x%x' "$third")"
drv_expect ev poll CKR_NO_EVENT

step "another process re-initialises an application: one event on its slot"
p11_ok "re-init 'one'" --init-token --slot "$first" --label one-again --so-pin 12345678
drv_expect ev poll "event $(printf '0x%x' "$first")"
drv_expect ev poll CKR_NO_EVENT

step "an application removed from the card file by another program"
card=$DMSC_STORE/uicc-0.db
[ -f "$card" ] || fail "no card file at $card"
app=$((second % 256))
sqlite3 -cmd '.timeout 5000' "$card" "DELETE FROM object WHERE slot = $app; DELETE FROM app WHERE slot = $app;" ||
    fail "sqlite3 could not delete application $app from $card"
drv_expect ev poll "event $(printf '0x%x' "$second")"
drv_expect ev poll CKR_NO_EVENT
token_flags two
[ -z "$FLAGS" ] || fail "the removed application 'two' is still listed" "token flags: $FLAGS"

step "C_Finalize in another thread wakes a blocked waiter"
drv_expect ev finalize CKR_CRYPTOKI_NOT_INITIALIZED
drv_expect ev poll CKR_NO_EVENT
drv_stop ev

say "PASS"
