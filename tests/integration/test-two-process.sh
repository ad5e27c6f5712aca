#!/bin/bash
# Process-level visibility: a long-lived process keeps a session open
# while other processes change the token; its next C_FindObjectsInit sees
# the change (creation and deletion), and its own changes are seen by the
# others. Two processes writing at the same time lose nothing.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_driver
setup_store

SO=12345678
PIN=1234
init_app app1 "$SO" "$PIN"
printf 'hello from pkcs11-tool\n' >"$TEST_TMP/v.txt"

step "process A opens a session and logs in"
drv_start A
drv_expect A init ok
drv_expect A "open app1" ok
drv_expect A "login $PIN" ok
drv_expect A "find ./DMAcc/FromTool" "count 0"

step "another process (pkcs11-tool) creates objects; A finds them"
p11_ok "pkcs11-tool writes a public data object" --token-label app1 --login --pin "$PIN" \
    --write-object "$TEST_TMP/v.txt" --type data --label ./DMAcc/FromTool --application-label OMA-DM:MO
drv_expect A "find ./DMAcc/FromTool" "count 1"
p11_ok "pkcs11-tool writes a private data object" --token-label app1 --login --pin "$PIN" \
    --write-object "$TEST_TMP/v.txt" --type data --label ./DMAcc/PrivFromTool --private
drv_expect A "find ./DMAcc/PrivFromTool" "count 1"

step "A creates an object; another process sees it"
drv_expect A "create ./DMAcc/FromA" ok
p11_ok "pkcs11-tool -O" --token-label app1 -O
out_has "label:          './DMAcc/FromA'" "pkcs11-tool -O after A's create"

step "another process deletes; A no longer finds it"
p11_ok "pkcs11-tool deletes ./DMAcc/FromTool" --token-label app1 --login --pin "$PIN" \
    --delete-object --type data --label ./DMAcc/FromTool
drv_expect A "find ./DMAcc/FromTool" "count 0"
drv_expect A "find ./DMAcc/PrivFromTool" "count 1"

step "two long-lived processes, each sees the other's changes at once"
drv_start B
drv_expect B init ok
drv_expect B "open app1" ok
drv_expect B "find ./DMAcc/FromA" "count 1"
for i in 1 2 3 4 5; do
    drv_expect A "create ping-$i" ok
    drv_expect B "find ping-$i" "count 1"
    drv_expect B "create pong-$i" ok
    drv_expect A "find pong-$i" "count 1"
done
drv_expect B "destroy ping-3" ok
drv_expect A "find ping-3" "count 0"
drv_expect A "destroy pong-4" ok
drv_expect B "find pong-4" "count 0"
drv_expect B "find ./DMAcc/PrivFromTool" "count 0"
drv_stop B

step "A sees the token after another process logged in and out"
p11_ok "pkcs11-tool login/-O" --token-label app1 --login --pin "$PIN" -O
drv_expect A "find ./DMAcc/PrivFromTool" "count 1"
drv_expect A "create ./DMAcc/AfterOtherLogin" ok
drv_stop A

step "two writer processes at the same time lose nothing"
"$DRIVER" writer wa 40 app1 >"$TEST_TMP/wa.out" 2>"$TEST_TMP/wa.err" &
pa=$!
CLEANUP_PIDS+=("$pa")
"$DRIVER" writer wb 40 app1 >"$TEST_TMP/wb.out" 2>"$TEST_TMP/wb.err" &
pb=$!
CLEANUP_PIDS+=("$pb")
sa=0
sb=0
wait "$pa" || sa=$?
wait "$pb" || sb=$?
[[ $sa -eq 0 && $(tail -n 1 "$TEST_TMP/wa.out") == "done" ]] ||
    fail "concurrent writer wa failed (status $sa)" "output tail:" "$(tail -n 3 "$TEST_TMP/wa.out" | indent)" "stderr:" "$(indent <"$TEST_TMP/wa.err")"
[[ $sb -eq 0 && $(tail -n 1 "$TEST_TMP/wb.out") == "done" ]] ||
    fail "concurrent writer wb failed (status $sb)" "output tail:" "$(tail -n 3 "$TEST_TMP/wb.out" | indent)" "stderr:" "$(indent <"$TEST_TMP/wb.err")"
cmds=(init "open app1")
for i in $(seq 40); do cmds+=("find wa-$i" "find wb-$i"); done
cmds+=(quit)
drv_batch "${cmds[@]}"
bad=$(sed -n '3,82p' <<<"$BATCH_OUT" | grep -vc '^count 1$' || true)
[ "$bad" -eq 0 ] || fail "after two concurrent writers: $bad of 80 labels not found exactly once" \
    "driver output:" "$(indent <<<"$BATCH_OUT")"

say "PASS"
