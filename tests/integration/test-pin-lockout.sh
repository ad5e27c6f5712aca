#!/bin/bash
# PIN retry counters, persisted in the store across processes (every
# pkcs11-tool run is a new process):
#  - user PIN: 3 tries. 1 wrong -> "user PIN count low"; 2 wrong -> also
#    "final user PIN try"; 3 wrong -> "user PIN locked" and CKR_PIN_LOCKED
#    even for the right PIN. A right PIN before the lock resets the count.
#  - the SO unblocks with C_InitPIN in an SO session (pkcs11-tool
#    --init-pin; the second time through p11-driver), which resets the
#    counter; the user logs in again. pkcs11-tool --unlock-pin is a
#    C_SetPIN(PUK, new) in a public session (pkcs11-tool refuses it with
#    --login-type so): giving it the SO PIN as the PUK must not unblock.
#  - SO PIN: 10 tries (9 wrong then right still works; 10 wrong locks).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
setup_store

SO=12345678
PIN=1234
T=(--token-label app1)

init_app app1 "$SO" "$PIN"
expect_flags app1 "before any wrong PIN" -"user PIN count low" -"final user PIN try" -"user PIN locked"

step "a right PIN resets the count"
expect_fail CKR_PIN_INCORRECT "wrong user PIN #1" "${T[@]}" --login --pin 0000 -O
expect_flags app1 "after 1 wrong user PIN" +"user PIN count low" -"final user PIN try" -"user PIN locked"
expect_fail CKR_PIN_INCORRECT "wrong user PIN #2" "${T[@]}" --login --pin 0000 -O
expect_flags app1 "after 2 wrong user PINs" +"user PIN count low" +"final user PIN try" -"user PIN locked"
p11_ok "right user PIN after 2 wrong ones" "${T[@]}" --login --pin "$PIN" -O
expect_flags app1 "after a right PIN" -"user PIN count low" -"final user PIN try" -"user PIN locked"

lock_user() {
    expect_fail CKR_PIN_INCORRECT "$1: wrong user PIN #1" "${T[@]}" --login --pin 0000 -O
    expect_flags app1 "$1: after 1 wrong user PIN" +"user PIN count low" -"final user PIN try" -"user PIN locked"
    expect_fail CKR_PIN_INCORRECT "$1: wrong user PIN #2" "${T[@]}" --login --pin 0000 -O
    expect_flags app1 "$1: after 2 wrong user PINs" +"user PIN count low" +"final user PIN try" -"user PIN locked"
    # The attempt that uses up the last try may report either code.
    expect_fail "CKR_PIN_INCORRECT|CKR_PIN_LOCKED" "$1: wrong user PIN #3" "${T[@]}" --login --pin 0000 -O
    expect_flags app1 "$1: after 3 wrong user PINs" +"user PIN locked"
    expect_fail CKR_PIN_LOCKED "$1: right user PIN on a locked PIN" "${T[@]}" --login --pin "$PIN" -O
    expect_fail CKR_PIN_LOCKED "$1: wrong user PIN on a locked PIN" "${T[@]}" --login --pin 0000 -O
    expect_fail CKR_PIN_LOCKED "$1: --change-pin on a locked PIN" "${T[@]}" --change-pin --pin "$PIN" --new-pin 5555
    expect_flags app1 "$1: still locked" +"user PIN locked"
}

step "three wrong user PINs lock the user PIN"
lock_user "lock 1"

step "the SO unblocks with --init-pin in an SO session"
expect_fail CKR_PIN_INCORRECT "SO --init-pin with a wrong SO PIN" "${T[@]}" --login --login-type so --so-pin 99999999 --init-pin --new-pin 4321
expect_flags app1 "after a refused unblock" +"user PIN locked"
p11_ok "SO --init-pin (unblock)" "${T[@]}" --login --login-type so --so-pin "$SO" --init-pin --new-pin 4321
expect_flags app1 "after the SO unblock" -"user PIN count low" -"final user PIN try" -"user PIN locked" +"PIN initialized"
expect_fail CKR_PIN_INCORRECT "the old user PIN after the unblock set a new one" "${T[@]}" --login --pin "$PIN" -O
p11_ok "user login with the PIN the SO set" "${T[@]}" --login --pin 4321 -O
expect_flags app1 "after the user logged in again" -"user PIN count low" -"user PIN locked"
PIN=4321

step "lock again; --unlock-pin with the SO PIN as PUK does not unblock"
lock_user "lock 2"
expect_fail CKR_PIN_LOCKED "--unlock-pin --puk <SO PIN> (C_SetPIN on a locked user PIN)" \
    "${T[@]}" --unlock-pin --puk "$SO" --new-pin 2468
expect_flags app1 "after the refused --unlock-pin" +"user PIN locked"

step "the SO unblocks with C_InitPIN from another client (p11-driver)"
need_driver
drv_batch init "open app1" "login $PIN" "sologin $SO" "initpin 2468" logout "login 2468" flags quit
expected=$'ok\nok\nerr CKR_PIN_LOCKED 0xa4\nok\nok\nok\nok'
[ "$(head -n 7 <<<"$BATCH_OUT")" = "$expected" ] ||
    fail "driver unblock: expected replies" "$(indent <<<"$expected")" "got:" "$(indent <<<"$BATCH_OUT")"
flags=$(sed -n 8p <<<"$BATCH_OUT")
# CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED
[ $((${flags#flags } & 0x70000)) -eq 0 ] || fail "driver: user PIN flags still set after C_InitPIN: $flags"
expect_flags app1 "after the driver's C_InitPIN" -"user PIN count low" -"final user PIN try" -"user PIN locked"
p11_ok "user login with the PIN the driver's SO session set" "${T[@]}" --login --pin 2468 -O
PIN=2468

step "the counter is per application"
init_app app2 22222222 2222
expect_fail CKR_PIN_INCORRECT "app2 wrong user PIN" --token-label app2 --login --pin 0000 -O
expect_flags app2 "app2 after 1 wrong user PIN" +"user PIN count low"
expect_flags app1 "app1 after a wrong PIN on app2" -"user PIN count low"

step "SO PIN: 10 tries"
for i in 1 2 3 4 5 6 7 8 9; do
    expect_fail CKR_PIN_INCORRECT "wrong SO PIN #$i" "${T[@]}" --login --login-type so --so-pin 99999999 --session-rw -O
done
expect_flags app1 "after 9 wrong SO PINs" -"SO PIN locked"
p11_ok "right SO PIN after 9 wrong ones" "${T[@]}" --login --login-type so --so-pin "$SO" --session-rw -O
expect_flags app1 "after a right SO PIN" -"SO PIN count low" -"final SO PIN try" -"SO PIN locked"
for i in 1 2 3 4 5 6 7 8 9; do
    expect_fail CKR_PIN_INCORRECT "wrong SO PIN #$i (second round)" "${T[@]}" --login --login-type so --so-pin 99999999 --session-rw -O
done
expect_flags app1 "after 9 wrong SO PINs" +"final SO PIN try" -"SO PIN locked"
expect_fail "CKR_PIN_INCORRECT|CKR_PIN_LOCKED" "wrong SO PIN #10" "${T[@]}" --login --login-type so --so-pin 99999999 --session-rw -O
expect_flags app1 "after 10 wrong SO PINs" +"SO PIN locked"
expect_fail CKR_PIN_LOCKED "right SO PIN on a locked SO PIN" "${T[@]}" --login --login-type so --so-pin "$SO" --session-rw -O
p11_ok "the user still logs in with the SO PIN locked" "${T[@]}" --login --pin "$PIN" -O

say "PASS"
