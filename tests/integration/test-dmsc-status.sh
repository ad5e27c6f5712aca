#!/bin/bash
# `dmsc status` end to end, and the tool's PKCS#11 client layer under it
# (dm-ext/tool/p11-client.h): module and token choice, PIN sources, the
# CK_RV words and the exit statuses.
#  - a fresh card: present, not activated (exit 4), identity and memory as
#    pkcs11-tool -T shows them;
#  - token initialised, user PIN not set: still exit 4;
#  - activated, no provisioning data: exit 5; a public MO and a bootstrap
#    written with pkcs11-tool: exit 0, counted; a private MO counted only
#    after a login (--pin, pin-source, pin-value, DMSC_PIN, the prompt on
#    a pseudo-terminal, which does not echo the PIN);
#  - wrong PIN: exit 6, "wrong user PIN, 2 tries left", then "1 (final
#    try)"; the right PIN restores the count; a locked PIN makes the
#    card not activated (exit 4);
#  - no card: a module that is not there, a URI matching no token (exit
#    3); a malformed URI (exit 2); no PIN and no terminal (exit 6);
#  - two applications: DM is chosen; neither labelled DM: ambiguous (exit
#    3, the error lists their URIs).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

check_module
need_cmd python3
setup_store
unset DMSC_PIN
T=$TEST_TMP

step "a fresh card: present, not activated"
dmsc_expect 4 "status of a fresh card" status
dout_has "activated:      no" "fresh card"
dout_has "(not initialised)" "fresh card"
dmsc_expect 4 "status --json of a fresh card" status --json
[ "$(json_get card_present)" = true ] || fail "card_present should be true" "$DOUT"
[ "$(json_get token_initialized)" = false ] || fail "token_initialized should be false" "$DOUT"
# The ICCID is in the slot description (19 digits on the test network).
p11_ok "slot list" -L
iccid=$(grep -oE '\b89[0-9]{16,18}\b' <<<"$OUT" | head -1)
[ -n "$iccid" ] || fail "no ICCID in the slot description" "$OUT"
[ "$(json_get iccid)" = "$iccid" ] || fail "iccid $(json_get iccid) is not the card's $iccid"
[ "$(json_get serial)" = "${iccid: -16}" ] || fail "serial $(json_get serial) is not the last 16 digits of $iccid"
[ "$(json_get memory_total)" = 1048576 ] || fail "memory_total should be the default capacity 1048576" "$DOUT"

step "initialised, user PIN not set: not activated"
spare_slot
p11_ok "init token" --init-token --slot "$SLOT" --label DM --so-pin 87654321
dmsc_expect 4 "status without a user PIN" status --json
[ "$(json_get token_label)" = DM ] || fail "token_label should be DM" "$DOUT"
[ "$(json_get user_pin)" = "not set" ] || fail "user_pin should be 'not set'" "$DOUT"
p11_ok "token info" -T
serial=$(awk -F': *' '/serial num/ { print $2; exit }' <<<"$OUT")
[ "$(json_get serial)" = "$serial" ] || fail "serial $(json_get serial) is not pkcs11-tool's $serial" "$DOUT"
p11_ok "init user PIN" --token-label DM --login --login-type so --so-pin 87654321 --init-pin --new-pin 1234

step "activated, nothing on it: no provisioning data"
dmsc_expect 5 "status of an empty activated card" status --json
[ "$(json_get activated)" = true ] || fail "activated should be true" "$DOUT"
[ "$(json_get mo_count)" = 0 ] || fail "mo_count should be 0" "$DOUT"
[ "$(json_get user_pin_tries_left)" = 3 ] || fail "user_pin_tries_left should be 3" "$DOUT"
free_before=$(json_get memory_free)

step "a public MO and a bootstrap written by pkcs11-tool"
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>' >"$T/mo.xml"
printf '\x02\x00\x00\x6a\x00' >"$T/boot.wbxml"
p11_ok "write public MO" --token-label DM --login --pin 1234 --write-object "$T/mo.xml" \
    --type data --label ./DMAcc/Pub --application-label OMA-DM:MO
p11_ok "write bootstrap" --token-label DM --login --pin 1234 --write-object "$T/boot.wbxml" \
    --type data --label bootstrap --application-label OMA-DM:BOOTSTRAP
dmsc_expect 0 "status with provisioning data" status --json
[ "$(json_get mo_count)" = 1 ] || fail "mo_count should be 1" "$DOUT"
[ "$(json_get bootstrap)" = true ] || fail "bootstrap should be true" "$DOUT"
[ "$(json_get bootstrap_bytes)" = 5 ] || fail "bootstrap_bytes should be 5" "$DOUT"
[ "$(json_get logged_in)" = false ] || fail "logged_in should be false" "$DOUT"
[ "$(json_get memory_free)" -lt "$free_before" ] || fail "memory_free should have dropped below $free_before" "$DOUT"
dmsc_expect 0 "status, text" status
dout_has "bootstrap:      present (5 bytes)" "text status"
dout_has "MOs:            1 (" "text status"

step "a private MO: counted only after a login, from every PIN source"
p11_ok "write private MO" --token-label DM --login --pin 1234 --write-object "$T/mo.xml" \
    --type data --label ./DMAcc/Priv --application-label OMA-DM:MO --private
dmsc_expect 0 "status without a PIN" status --json
[ "$(json_get mo_count)" = 1 ] || fail "without a login only the public MO is visible" "$DOUT"
dmsc_expect 0 "status --pin" status --json --pin 1234
[ "$(json_get mo_count)" = 2 ] || fail "with --pin both MOs are counted" "$DOUT"
[ "$(json_get logged_in)" = true ] || fail "logged_in should be true" "$DOUT"
printf '1234\n' >"$T/pin"
dmsc_expect 0 "status with pin-source" --token "pkcs11:token=DM?pin-source=file:$T/pin" status --json
[ "$(json_get mo_count)" = 2 ] || fail "pin-source: both MOs" "$DOUT"
dmsc_expect 0 "status with pin-value" status --json --token 'pkcs11:token=DM?pin-value=1234'
[ "$(json_get mo_count)" = 2 ] || fail "pin-value: both MOs" "$DOUT"
DMSC_PIN=1234 dmsc_expect 0 "status with DMSC_PIN" status --json
[ "$(json_get mo_count)" = 2 ] || fail "DMSC_PIN: both MOs" "$DOUT"
dmsc_expect 6 "status --login with no terminal" status --login
derr_has "no PIN" "no terminal"
derr_has "DMSC_PIN" "no terminal"
# The prompt on a pseudo-terminal: typed only once the prompt is shown
# (earlier input would be flushed with the echo setting), never echoed.
timeout -k 5 "$P11_TIMEOUT" python3 - "$DMSC" >"$T/tty" 2>&1 <<'PY' || fail "the PIN prompt on a terminal" "$(indent <"$T/tty")"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "status", "--login", "--json"])
out = b""
def more():
    global out
    try:
        b = os.read(fd, 4096)
    except OSError:
        return False
    out += b
    return b != b""
while b"PIN for token 'DM': " not in out:
    if not more():
        sys.exit("no prompt; got %r" % out)
os.write(fd, b"1234\n")
while more():
    pass
status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
after = out.split(b"PIN for token 'DM': ", 1)[1]
if b"1234" in after:
    sys.exit("the PIN was echoed: %r" % out)
if status != 0 or b'"mo_count": 2' not in after or b'"logged_in": true' not in after:
    sys.exit("exit %d, expected 0 and both MOs counted: %r" % (status, out))
PY

step "wrong PINs: tries left, then the right PIN restores them"
dmsc_expect 6 "wrong PIN" status --pin 0000
derr_has "wrong user PIN, 2 tries left" "first wrong PIN"
dmsc_expect 6 "wrong PIN again" status --pin 0000
derr_has "wrong user PIN, 1 try (the final one) left" "second wrong PIN"
expect_flags DM "after two wrong PINs" +"final user PIN try"
dmsc_expect 0 "right PIN" status --json --pin 1234
[ "$(json_get user_pin_tries_left)" = 3 ] || fail "the right PIN restores 3 tries" "$DOUT"
for i in 1 2 3; do dmsc_run status --pin 0000; done
[ "$RC" -eq 6 ] || fail "third wrong PIN: expected exit 6, got $RC" "$DERR"
derr_has "wrong user PIN, no tries (locked) left" "third wrong PIN"
dmsc_expect 4 "status of a locked card, even with the right PIN" status --pin 1234
dout_has "user PIN:       locked, no tries (locked) left" "locked PIN"
dmsc_expect 4 "status of a locked card" status --json
[ "$(json_get user_pin_locked)" = true ] || fail "user_pin_locked should be true" "$DOUT"
p11_ok "SO unblocks" --token-label DM --login --login-type so --so-pin 87654321 --init-pin --new-pin 1234
dmsc_expect 0 "unblocked" status --pin 1234

step "choosing the token and the module"
init_app Wallet 11111111 5678
dmsc_expect 0 "default token with two applications: DM" status --json
[ "$(json_get token_label)" = DM ] || fail "without --token the DM application is chosen" "$DOUT"
dmsc_expect 5 "the other application" status --json --token 'pkcs11:token=Wallet' --pin 5678
[ "$(json_get token_label)" = Wallet ] || fail "--token picks Wallet" "$DOUT"
dmsc_expect 3 "no such token" status --token 'pkcs11:token=Nope'
derr_has "no token of" "no such token"
derr_has "matches --token" "no such token"
dmsc_expect 3 "no such token, json" status --json --token 'pkcs11:token=Nope'
[ "$(json_get card_present)" = false ] || fail "card_present should be false" "$DOUT"
dmsc_expect 2 "malformed URI" status --token 'http://x'
derr_has "RFC 7512" "malformed URI"
dmsc_expect 3 "a module that is not there" status --module "$T/none.so"
derr_has "cannot load the PKCS#11 module" "missing module"
DMSC_MODULE="$T/none.so" dmsc_expect 3 "DMSC_MODULE that is not there" status
derr_has "$T/none.so" "DMSC_MODULE is used"
dmsc_expect 0 "--module given explicitly, before the command" --module "$DMSC_MODULE" status
step "two applications, neither labelled DM: ambiguous without --token"
export DMSC_STORE="$T/two"
init_app A 11111111 1111
init_app B 22222222 2222
dmsc_expect 3 "ambiguous" status
derr_has "2 initialised tokens" "ambiguous"
derr_has "token=A" "ambiguous: lists A's URI"
derr_has "token=B" "ambiguous: lists B's URI"
dmsc_expect 5 "--token picks one" status --token 'pkcs11:token=B'
dmsc_expect 2 "an extra argument" status extra
dmsc_expect 0 "help" status --help
dout_has "Exit status:" "status --help"
say "ok"
