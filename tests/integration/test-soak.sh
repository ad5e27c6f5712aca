#!/bin/bash
# Concurrency soak: SOAK_PROCS processes (default 3) x SOAK_THREADS threads
# (default 4), each thread SOAK_OPS rounds (default 40) of create a token
# object, find it by label, sign with the shared EC key and verify the
# signature, destroy the object and find it gone, all on one card at the
# same time (p11-stress soak). Meanwhile a pkcs11-tool lists the objects
# again and again from one more process.
#  - no lost update: every object is found right after its create, and
#    gone after its destroy; afterwards the card holds exactly what it held
#    before (the key pair and the marker object);
#  - no CKR_GENERAL_ERROR or any other error (each call's result is
#    checked by the driver);
#  - no deadlock: every process runs under `timeout` (SOAK_TIMEOUT seconds,
#    default 300) and must end by itself with status 0.
# The run is a fixed number of operations, not a time: nothing here is
# timed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
STRESS=${P11_STRESS:-${DMSC_BUILDDIR:-.}/tests/integration/p11-stress}
[ -x "$STRESS" ] || fail "p11-stress not found at $STRESS" "build it (make check builds it)"
setup_store

SO=12345678
PIN=1234
PROCS=${SOAK_PROCS:-3}
THREADS=${SOAK_THREADS:-4}
OPS=${SOAK_OPS:-40}
LIMIT=${SOAK_TIMEOUT:-300}
printf 'capacity = 1073741824\n' >"$DMSC_CONF"

init_app app1 "$SO" "$PIN"
p11_ok "EC key pair 'soak'" --token-label app1 --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label soak --id 50
printf 'marker\n' >"$TEST_TMP/marker"
p11_ok "marker object" --token-label app1 --login --pin "$PIN" --write-object "$TEST_TMP/marker" \
    --type data --label marker
object_count app1 --login --pin "$PIN"
before=$N

step "$PROCS processes x $THREADS threads x $OPS rounds (create, find, sign, verify, destroy)"
pids=()
for p in $(seq "$PROCS"); do
    timeout -k 5 "$LIMIT" "$STRESS" soak app1 "$PIN" "$THREADS" "$OPS" "p$p" \
        >"$TEST_TMP/soak-$p.out" 2>"$TEST_TMP/soak-$p.err" &
    pids+=("$!")
    CLEANUP_PIDS+=("$!")
done
# One more process (a pkcs11-tool at a time) lists the objects meanwhile.
reads=0
while :; do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 1 ] || break
    run_p11 --token-label app1 -O
    [ "$RC" -eq 0 ] || fail "pkcs11-tool -O during the soak failed (exit $RC, $(ckr_in_out))" "output:" "$(indent <<<"$OUT")"
    reads=$((reads + 1))
done

for i in "${!pids[@]}"; do
    p=$((i + 1))
    st=0
    wait "${pids[$i]}" || st=$?
    if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
        fail "process $p did not finish within ${LIMIT}s: deadlock or livelock" \
            "output:" "$(indent <"$TEST_TMP/soak-$p.out")" "stderr:" "$(tail -n 20 "$TEST_TMP/soak-$p.err" | indent)"
    fi
    [ "$st" -eq 0 ] || fail "process $p failed (status $st)" \
        "output:" "$(indent <"$TEST_TMP/soak-$p.out")" "stderr (first 20 lines):" "$(head -n 20 "$TEST_TMP/soak-$p.err" | indent)"
    grep -qx 'errors 0' "$TEST_TMP/soak-$p.out" || fail "process $p: errors reported" "$(indent <"$TEST_TMP/soak-$p.out")"
    done_ops=0
    while read -r n; do done_ops=$((done_ops + n)); done < <(sed -n 's/^thread [0-9]*: \([0-9]*\) ops$/\1/p' "$TEST_TMP/soak-$p.out")
    [ "$done_ops" = $((THREADS * OPS)) ] ||
        fail "process $p: $done_ops rounds done, $((THREADS * OPS)) expected" "$(indent <"$TEST_TMP/soak-$p.out")"
done
say "$((PROCS * THREADS * OPS)) rounds ($((PROCS * THREADS * OPS * 7)) calls that write or sign) and $reads listings from another process, no error"

step "the card holds what it held before"
object_count app1 --login --pin "$PIN"
[ "$N" -eq "$before" ] || fail "after the soak: $N objects, $before before (lost or leftover objects)" "output:" "$(indent <<<"$OUT")"
out_has "label:          'marker'" "the marker object survives"
out_has "label:      soak" "the key pair survives"
out_lacks "p1-" "no soak object is left"

say "PASS"
