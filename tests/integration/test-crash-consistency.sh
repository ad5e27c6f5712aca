#!/bin/bash
# Crash consistency: writers killed with SIGKILL at random moments across
# object creates, updates (C_SetAttributeValue), deletes and user PIN
# changes (C_SetPIN) on one application, CRASH_ROUNDS rounds (default 30).
# test-kill9.sh covers plain creates with many objects; this one mixes
# every kind of write, on private objects (sealed values) while the PIN
# that wraps their key changes.
#
# The writer (p11-stress churn; PIN changes in every third round) prints "do OP" before each call and "ok"
# after CKR_OK, with write(2), so what it printed survives the kill. After
# each round the card is opened again (p11-stress dump) and must hold
# exactly what the completed operations left, with the one operation in
# flight at the kill either wholly done or not at all:
#  - every create/update/delete that returned CKR_OK is there, nothing else
#    changed;
#  - no half-written object (CKA_VALUE "L:G" and CKA_APPLICATION "churn:G"
#    are set together, in one C_SetAttributeValue, and must agree);
#  - the user PIN is the last one set, or the one being set;
#  - the PIN counter: the writer only uses right PINs, so a kill costs at
#    most the one try a login or C_SetPIN had spent (never locked, never
#    down to the final try), and a right PIN gives all back.
# Odd rounds count the delay (20..1000 ms) from the writer's start (the kill
# may land in C_Initialize or C_Login), even rounds from its first line.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd xxd
STRESS=${P11_STRESS:-${DMSC_BUILDDIR:-.}/tests/integration/p11-stress}
[ -x "$STRESS" ] || fail "p11-stress not found at $STRESS" "build it (make check builds it)"
need_driver
setup_store

SO=12345678
PINS=(1234 5678)
ROUNDS=${CRASH_ROUNDS:-30}
SEED=${CRASH_SEED:-$$}
RANDOM=$SEED
say "random seed $SEED (CRASH_SEED=$SEED reproduces the delays and the writers' choices)"
printf 'capacity = 1073741824\n' >"$DMSC_CONF"
init_app app1 "$SO" "${PINS[0]}"

CKF_USER_PIN_FINAL_TRY=$((0x20000))
CKF_USER_PIN_LOCKED=$((0x40000))

cur=${PINS[0]}
declare -A model=() # label -> generation, as last seen on the card
total_ok=0
declare -A kinds=([create]=0 [update]=0 [destroy]=0 [setpin]=0)
inflight_kinds=""

# The model as sorted "label gen" lines.
model_lines() {
    local l
    for l in "${!model[@]}"; do printf '%s %s\n' "$l" "${model[$l]}"; done | sort
}

for round in $(seq "$ROUNDS"); do
    other=${PINS[0]}
    [ "$cur" = "${PINS[0]}" ] && other=${PINS[1]}
    out=$TEST_TMP/churn-$round.out
    err=$TEST_TMP/churn-$round.err
    ms=$((20 + RANDOM % 981))
    # PIN changes in every third round: they take most of a round's time.
    "$STRESS" churn app1 "$cur" "$other" "r$round" "$((SEED + round))" $((round % 3 == 0 ? 1 : 0)) >"$out" 2>"$err" &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    from=start
    if [ $((round % 2)) -eq 0 ]; then
        from="first line"
        for _ in $(seq 300); do # up to 30 s for the writer to log in
            [ -s "$out" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    st=0
    wait "$pid" 2>/dev/null || st=$?
    [ "$st" -eq 137 ] || fail "round $round: the writer should have died of SIGKILL (137), got status $st" \
        "output tail:" "$(tail -n 3 "$out" | indent)" "stderr:" "$(indent <"$err")"
    if grep -q '^err' "$out"; then
        fail "round $round: the writer reported an error before the kill" "$(grep '^err' "$out" | indent)" \
            "stderr:" "$(indent <"$err")"
    fi

    # Replay the completed operations on the model; remember the one in
    # flight. Only whole lines count (the kill may cut the last one).
    mapfile -t lines <"$out"
    if [ -s "$out" ] && [ "$(tail -c 1 "$out" | xxd -p)" != 0a ]; then
        unset 'lines[-1]'
    fi
    pending=""
    n=0
    for l in "${lines[@]}"; do
        case $l in
        "start "*) ;;
        "do "*) pending=${l#do } ;;
        ok)
            [ -n "$pending" ] || fail "round $round: 'ok' without an operation" "$(indent <"$out")"
            read -r op a b <<<"$pending"
            case $op in
            create) model[$a]=0 ;;
            update) model[$a]=$b ;;
            destroy) unset "model[$a]" ;;
            setpin) cur=$a ;;
            esac
            kinds[$op]=$((kinds[$op] + 1))
            n=$((n + 1))
            pending=""
            ;;
        *) fail "round $round: unexpected writer line '$l'" ;;
        esac
    done
    total_ok=$((total_ok + n))

    # What the card may hold: A without the operation in flight, B with it.
    expect_a=$(model_lines)
    expect_b=$expect_a
    pin_b=$cur
    if [ -n "$pending" ]; then
        read -r op a b <<<"$pending"
        inflight_kinds+=" $op"
        case $op in
        create) expect_b=$( (model_lines | grep -v "^$a " || true; echo "$a 0") | sort) ;;
        update) expect_b=$( (model_lines | grep -v "^$a " || true; echo "$a $b") | sort) ;;
        destroy) expect_b=$(model_lines | grep -v "^$a " || true) ;;
        setpin) pin_b=$a ;;
        esac
    fi

    # Open the card again and compare.
    dump=$TEST_TMP/dump-$round.out
    if [ "$pin_b" != "$cur" ]; then
        "$STRESS" dump app1 "$cur" "$pin_b" >"$dump" 2>"$TEST_TMP/dump-$round.err" ||
            fail "round $round: the card does not open after the kill (PIN $cur or $pin_b)" "$(indent <"$dump")" \
                "stderr:" "$(indent <"$TEST_TMP/dump-$round.err")"
    else
        "$STRESS" dump app1 "$cur" >"$dump" 2>"$TEST_TMP/dump-$round.err" ||
            fail "round $round: the card does not open after the kill with the last PIN set ($cur)" \
                "$(indent <"$dump")" "stderr:" "$(indent <"$TEST_TMP/dump-$round.err")"
    fi
    if grep -q '^torn ' "$dump"; then
        fail "round $round: half-written objects after the kill" "$(grep '^torn ' "$dump" | indent)"
    fi
    flags=$(sed -n 's/^flags //p' "$dump")
    if (((flags & CKF_USER_PIN_LOCKED) != 0 || (flags & CKF_USER_PIN_FINAL_TRY) != 0)); then
        fail "round $round: the user PIN lost more than the one try in flight (token flags $flags)"
    fi
    used=$(sed -n 's/^pin //p' "$dump")
    actual=$(sed -n 's/^obj //p' "$dump" | sort)
    if [ "$actual" = "$expect_a" ]; then
        state="without"
    elif [ "$actual" = "$expect_b" ]; then
        state="with"
    else
        fail "round $round: after the kill the card holds neither the completed operations nor them plus the one in flight ($pending)" \
            "differences from the completed operations (- expected, + on the card):" \
            "$(diff <(printf '%s\n' "$expect_a") <(printf '%s\n' "$actual") | grep '^[<>]' | head -n 20 | sed 's/^</-/; s/^>/+/')"
    fi
    if [ "${pending%% *}" = setpin ]; then
        [ "$used" = "$cur" ] || [ "$used" = "$pin_b" ] || fail "round $round: the PIN that opened the card ($used) is neither the old nor the new one"
    else
        [ "$used" = "$cur" ] || fail "round $round: the card opened with PIN $used, the last one set was $cur"
    fi
    cur=$used
    # The next round starts from what the card holds.
    model=()
    while read -r l g; do
        [ -n "$l" ] && model[$l]=$g
    done <<<"$actual"
    say "round $round: killed ${ms} ms after its $from; $n operations completed, in flight: ${pending:-none} ($state it on the card); ${#model[@]} objects"
done

say "completed before the kills: $total_ok operations (${kinds[create]} creates, ${kinds[update]} updates, ${kinds[destroy]} deletes, ${kinds[setpin]} PIN changes); in flight at the kills:${inflight_kinds:- none}"
[ "$total_ok" -ge "$ROUNDS" ] || fail "only $total_ok operations completed in $ROUNDS rounds: the writers hardly ran (machine too slow?)"

step "a right PIN restores every try; the card still writes and reads"
"$STRESS" dump app1 "$cur" >"$TEST_TMP/final.out" || fail "final dump" "$(indent <"$TEST_TMP/final.out")"
expect_flags app1 "after a right PIN" -"user PIN count low" -"final user PIN try" -"user PIN locked"
drv_batch init "open app1" "login $cur" "createpriv after-crash" "find after-crash" "destroy after-crash" quit
[ "$(sed -n 4,6p <<<"$BATCH_OUT" | tr '\n' ' ')" = "ok count 1 ok " ] ||
    fail "driver create/find/destroy after the kills" "output:" "$(indent <<<"$BATCH_OUT")"

say "PASS"
