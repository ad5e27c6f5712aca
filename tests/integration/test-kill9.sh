#!/bin/bash
# Durability against kill -9: p11-driver's writer mode creates public token
# data objects in a loop and prints "created <label>" after each CKR_OK; it
# is SIGKILLed at a random moment, KILL9_ROUNDS rounds (default 10), after
# a random 50..300 ms counted from the start on odd rounds (the kill may
# land in C_Initialize / the store's recovery) and from its first
# "created" line on even rounds (the kill lands among the writes).
# Afterwards every label printed as created must exist exactly once, and
# the card must still open, list and accept writes. The writer does not
# log in (a kill during C_Login may legitimately use up a PIN try). It
# creates thousands of objects a second, so the card is made big enough
# (capacity in DMSC_CONF) never to fill up.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd xxd comm sort uniq
need_driver
setup_store

SO=12345678
PIN=1234
ROUNDS=${KILL9_ROUNDS:-10}
SEED=${KILL9_SEED:-$$}
RANDOM=$SEED
say "random seed $SEED (KILL9_SEED=$SEED reproduces the delays)"
printf 'capacity = 1073741824\n' >"$DMSC_CONF"

init_app app1 "$SO" "$PIN"

created=()
for round in $(seq "$ROUNDS"); do
    ms=$((50 + RANDOM % 251))
    out="$TEST_TMP/writer-$round.out"
    "$DRIVER" writer "k$round" 1000000 app1 >"$out" 2>"$TEST_TMP/writer-$round.err" &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    from=start
    if [ $((round % 2)) -eq 0 ]; then
        from="first create"
        for _ in $(seq 200); do # up to 20 s for the writer to get going
            [ -s "$out" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    sleep "$(printf '0.%03d' "$ms")"
    kill -KILL "$pid" 2>/dev/null || true
    st=0
    wait "$pid" 2>/dev/null || st=$?
    if [ "$st" -ne 137 ]; then
        fail "round $round: the writer should have been killed by SIGKILL (status 137), got status $st" \
            "output tail:" "$(tail -n 3 "$out" | indent)" "stderr:" "$(indent <"$TEST_TMP/writer-$round.err")"
    fi
    if grep -q '^err' "$out"; then
        fail "round $round: the writer reported an error before being killed" "$(grep '^err' "$out" | indent)" \
            "stderr:" "$(indent <"$TEST_TMP/writer-$round.err")"
    fi
    # Only complete lines count: the last one may have been cut by the kill.
    mapfile -t lines <"$out"
    if [ -s "$out" ] && [ "$(tail -c 1 "$out" | xxd -p)" != 0a ]; then
        unset 'lines[-1]'
    fi
    n=0
    for l in "${lines[@]}"; do
        case $l in
        "created "*)
            created+=("${l#created }")
            n=$((n + 1))
            ;;
        esac
    done
    say "round $round: killed ${ms} ms after its $from, $n objects reported created"
done

[ "${#created[@]}" -gt 0 ] ||
    fail "no writer round created any object before being killed (writer too slow to start?)" \
        "stderr of the last round:" "$(indent <"$TEST_TMP/writer-$ROUNDS.err")"

step "the card still opens"
slot_count
[ "$N" -eq 2 ] || fail "after the kills: expected 2 slots (app1 + spare), found $N" "output:" "$(indent <<<"$OUT")"
expect_flags app1 "after the kills" +"token initialized" +"PIN initialized" -"user PIN locked"
p11_ok "-O with login after the kills" --token-label app1 --login --pin "$PIN" -O

step "every object reported created exists exactly once (${#created[@]} labels)"
# One listing of all data objects; labels are printed as  label: 'k3-17'
p11_ok "-O --type data after the kills" --token-label app1 -O --type data
sed -n "s/^ *label: *'\\(k[0-9]*-[0-9]*\\)'\$/\\1/p" <<<"$OUT" | sort >"$TEST_TMP/found.txt"
printf '%s\n' "${created[@]}" | sort >"$TEST_TMP/created.txt"
dups=$(uniq -d "$TEST_TMP/found.txt" | head -n 20)
[ -z "$dups" ] || fail "objects present more than once after kill -9 (first 20):" "$dups"
missing=$(comm -23 "$TEST_TMP/created.txt" "$TEST_TMP/found.txt")
if [ -n "$missing" ]; then
    fail "$(grep -c . <<<"$missing") of ${#created[@]} objects reported created are missing after kill -9 (first 20):" \
        "$(head -n 20 <<<"$missing")"
fi
say "$(grep -c . "$TEST_TMP/found.txt") writer objects on the card, all ${#created[@]} reported ones among them"

step "the card still accepts writes and reads"
printf 'after kill -9\n' >"$TEST_TMP/after.txt"
p11_ok "write after the kills" --token-label app1 --login --pin "$PIN" --write-object "$TEST_TMP/after.txt" \
    --type data --label after-kill
p11_ok "read after the kills" --token-label app1 --read-object --type data --label after-kill --output-file "$TEST_TMP/after.out"
cmp -s "$TEST_TMP/after.txt" "$TEST_TMP/after.out" || fail "object written after the kills reads back different"
drv_batch init "open app1" "login $PIN" "create after-kill-2" "find after-kill-2" "destroy after-kill-2" quit
[ "$(sed -n 4,6p <<<"$BATCH_OUT" | tr '\n' ' ')" = "ok count 1 ok " ] ||
    fail "driver create/find/destroy after the kills" "output:" "$(indent <<<"$BATCH_OUT")"

say "PASS"
