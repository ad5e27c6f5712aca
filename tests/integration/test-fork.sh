#!/bin/bash
# After fork() a child may call C_Initialize and work (PKCS#11 2.40
# section 5.4 / 6.7.7):
#  - pkcs11-tool --test-fork: it C_Initializes, forks, the child calls
#    C_Initialize and must get CKR_OK (SoftHSM returns
#    CKR_CRYPTOKI_ALREADY_INITIALIZED here and fails); run alone and
#    together with a login and an object listing in the parent.
#  - p11-driver forkfind: a parent with an open, logged-in session forks;
#    the child calls C_Initialize, opens its own session and finds an
#    object; the parent's session keeps working afterwards.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_driver
setup_store

SO=12345678
PIN=1234

step "pkcs11-tool --test-fork on a fresh store"
p11_ok "--test-fork (fresh store)" --test-fork
out_has "Calling C_Initialize in forked child process" "--test-fork"

init_app app1 "$SO" "$PIN"
printf 'fork test\n' >"$TEST_TMP/v.txt"
p11_ok "write a data object" --token-label app1 --login --pin "$PIN" --write-object "$TEST_TMP/v.txt" \
    --type data --label forkobj

step "pkcs11-tool --test-fork with an initialised token"
p11_ok "--test-fork" --test-fork
step "pkcs11-tool --test-fork, then login and list objects in the parent"
p11_ok "--test-fork --login -O" --token-label app1 --test-fork --login --pin "$PIN" -O
out_has "label:          'forkobj'" "--test-fork --login -O"

step "p11-driver: child C_Initialize + find after fork, parent continues"
drv_start p
drv_expect p init ok
drv_expect p "open app1" ok
drv_expect p "login $PIN" ok
drv_expect p "find forkobj" "count 1"
drv_expect p "forkfind forkobj" "count 1"
drv_expect p "find forkobj" "count 1"
drv_expect p "create afterfork" ok
drv_expect p "forkfind afterfork" "count 1"
drv_expect p "forkfind nosuchobject" "count 0"
drv_expect p "find afterfork" "count 1"
drv_expect p "destroy afterfork" ok
drv_stop p
p11_ok "-O after the fork tests" --token-label app1 -O
out_has "label:          'forkobj'" "-O after the fork tests"
out_lacks "afterfork" "-O after the fork tests"

say "PASS"
