#!/bin/bash
# pkcs11-tool basics on a fresh store: -L / -T, --init-token on the spare
# slot (a new spare slot appears), --init-pin in an SO session, --login,
# --change-pin (old PIN refused, new accepted), PIN length limits 4..64,
# SO PIN change, and PINs being per application.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
setup_store

SO=12345678
USER_PIN=1234
NEW_PIN=56789

step "fresh store: -L lists one slot, its token uninitialised"
[ ! -e "$DMSC_STORE" ] || fail "the store exists before first use" "$DMSC_STORE"
slot_count
[ "$N" -eq 1 ] || fail "fresh store: expected 1 slot in -L, found $N" "output:" "$(indent <<<"$OUT")"
spare_slot
spare0=$SLOT
p11_ok "-T on a fresh store" -T
out_has "token state:   uninitialized" "-T on a fresh store"
p11_ok "-I on a fresh store" -I

step "--init-token on the spare slot $spare0 creates application 'app1'"
p11_ok "--init-token" --init-token --slot "$spare0" --label app1 --so-pin "$SO"
out_has "Token successfully initialized" "--init-token"
slot_count
[ "$N" -eq 2 ] || fail "after --init-token: expected 2 slots (app1 + a new spare), found $N" "output:" "$(indent <<<"$OUT")"
slot_of app1
app1_slot=$SLOT
[ "$app1_slot" = "$spare0" ] ||
    fail "after --init-token on slot $spare0: expected token 'app1' in that slot, found it in '${app1_slot:-nowhere}'" \
        "pkcs11-tool -T output:" "$(indent <<<"$OUT")"
spare_slot
spare1=$SLOT
[ "$spare1" != "$spare0" ] || fail "the new spare slot reuses the ID $spare0 of app1's slot"
expect_flags app1 "after --init-token" +"token initialized" -"PIN initialized" -"user PIN locked"
token_flags app1
out_has "pin min/max        : 4/64" "-T PIN length range of app1"

step "user login before the user PIN is set is refused"
expect_fail CKR_USER_PIN_NOT_INITIALIZED "login before --init-pin" --token-label app1 --login --pin "$USER_PIN" -O

step "--init-pin in an SO session"
expect_fail CKR_PIN_INCORRECT "--init-pin with a wrong SO PIN" \
    --token-label app1 --login --login-type so --so-pin 99999999 --init-pin --new-pin "$USER_PIN"
expect_fail CKR_PIN_LEN_RANGE "--init-pin with a 3-digit user PIN" \
    --token-label app1 --login --login-type so --so-pin "$SO" --init-pin --new-pin 123
p11_ok "--init-pin" --token-label app1 --login --login-type so --so-pin "$SO" --init-pin --new-pin "$USER_PIN"
expect_flags app1 "after --init-pin" +"token initialized" +"PIN initialized" -"user PIN count low"

step "--login with the user PIN"
p11_ok "user login" --token-label app1 --login --pin "$USER_PIN" -O
expect_fail CKR_PIN_INCORRECT "user login with a wrong PIN" --token-label app1 --login --pin 4321 -O
p11_ok "user login after one wrong PIN" --token-label app1 --login --pin "$USER_PIN" -O

step "--change-pin: old PIN refused, new PIN accepted"
p11_ok "--change-pin" --token-label app1 --change-pin --pin "$USER_PIN" --new-pin "$NEW_PIN"
out_has "PIN successfully changed" "--change-pin"
expect_fail CKR_PIN_INCORRECT "login with the old PIN after --change-pin" --token-label app1 --login --pin "$USER_PIN" -O
p11_ok "login with the new PIN after --change-pin" --token-label app1 --login --pin "$NEW_PIN" -O
expect_fail CKR_PIN_INCORRECT "--change-pin with a wrong old PIN" --token-label app1 --change-pin --pin 0000 --new-pin 1111
p11_ok "the PIN is unchanged after a refused --change-pin" --token-label app1 --login --pin "$NEW_PIN" -O

step "PIN length limits 4..64"
pin64=$(printf '7%.0s' $(seq 64))
pin65=${pin64}7
expect_fail CKR_PIN_LEN_RANGE "--change-pin to a 3-character PIN" --token-label app1 --change-pin --pin "$NEW_PIN" --new-pin 123
expect_fail CKR_PIN_LEN_RANGE "--change-pin to a 65-character PIN" --token-label app1 --change-pin --pin "$NEW_PIN" --new-pin "$pin65"
p11_ok "--change-pin to a 64-character PIN" --token-label app1 --change-pin --pin "$NEW_PIN" --new-pin "$pin64"
p11_ok "login with the 64-character PIN" --token-label app1 --login --pin "$pin64" -O
p11_ok "--change-pin to a 4-character PIN" --token-label app1 --change-pin --pin "$pin64" --new-pin 4444
p11_ok "login with the 4-character PIN" --token-label app1 --login --pin 4444 -O

step "SO PIN change in an SO session"
p11_ok "SO --change-pin" --token-label app1 --login --login-type so --so-pin "$SO" --change-pin --new-pin 87654321
expect_fail CKR_PIN_INCORRECT "SO login with the old SO PIN" --token-label app1 --login --login-type so --so-pin "$SO" --session-rw -O
p11_ok "SO login with the new SO PIN" --token-label app1 --login --login-type so --so-pin 87654321 --session-rw -O
p11_ok "the user PIN survives the SO PIN change" --token-label app1 --login --pin 4444 -O

step "a second application has its own PINs"
init_app app2 22222222 2222
slot_count
[ "$N" -eq 3 ] || fail "after the second --init-token: expected 3 slots, found $N" "output:" "$(indent <<<"$OUT")"
expect_fail CKR_PIN_INCORRECT "app1's user PIN on app2" --token-label app2 --login --pin 4444 -O
expect_fail CKR_PIN_INCORRECT "app2's user PIN on app1" --token-label app1 --login --pin 2222 -O
expect_fail CKR_PIN_INCORRECT "app1's SO PIN on app2" --token-label app2 --login --login-type so --so-pin 87654321 --session-rw -O
p11_ok "app2 user login" --token-label app2 --login --pin 2222 -O
p11_ok "app1 user login" --token-label app1 --login --pin 4444 -O
expect_flags app1 "-T after the tests" +"token initialized" +"PIN initialized" -"user PIN count low" -"user PIN locked"
expect_flags app2 "-T after the tests" +"token initialized" +"PIN initialized" -"user PIN count low" -"user PIN locked"

say "PASS"
