#!/bin/bash
# The store: permissions, capacity, and files that are not dmsc cards.
#  - a fresh store directory is created 0700, card database files 0600
#    (nothing in the store readable by group/other), under umask 022.
#  - capacity = 4096 (DMSC_CONF): a 10 KB object fails with
#    CKR_DEVICE_MEMORY and nothing is written; small objects still fit;
#    the capacity is fixed when the card is created.
#  - uicc-0.db put in the store before first use holding random bytes, a
#    foreign SQLite database, or a truncated dmsc card: the module must
#    answer CKR_TOKEN_NOT_RECOGNIZED or CKR_DEVICE_ERROR, never crash, never
#    initialise anything there, and leave the file byte-identical.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd sha256sum stat truncate
need_driver
setup_store
umask 022

SO=12345678
PIN=1234
BASE=$TEST_TMP

# use_store NAME: a new, not yet existing store directory.
use_store() {
    export DMSC_STORE="$BASE/$1"
    export DMSC_CONF="$BASE/$1.conf"
    : >"$DMSC_CONF"
}

# ------------------------------------------------------------------ modes
step "permissions: store 0700, card files 0600"
use_store perms
init_app app1 "$SO" "$PIN"
printf 'x\n' >"$BASE/x.txt"
p11_ok "write an object" --token-label app1 --login --pin "$PIN" --write-object "$BASE/x.txt" --type data --label x
[ -d "$DMSC_STORE" ] || fail "the store directory $DMSC_STORE was not created"
mode=$(stat -c %a "$DMSC_STORE")
[ "$mode" = 700 ] || fail "store directory mode: expected 700, got $mode" "$(ls -ld "$DMSC_STORE")"
ndb=0
while IFS= read -r -d '' f; do
    m=$(stat -c %a "$f")
    case $f in
    *.db)
        ndb=$((ndb + 1))
        [ "$m" = 600 ] || fail "card database file mode: expected 600, got $m" "$(ls -l "$f")"
        ;;
    esac
    [ $((8#$m & 8#077)) -eq 0 ] || fail "store file readable or writable by group/other: mode $m" "$(ls -l "$f")"
done < <(find "$DMSC_STORE" -type f -print0)
[ "$ndb" -ge 1 ] || fail "no *.db card file in the store" "$(ls -la "$DMSC_STORE")"

# ------------------------------------------------------------------ capacity
step "capacity = 4096: a 10 KB object fails with CKR_DEVICE_MEMORY"
use_store cap
printf 'capacity = 4096\n' >"$DMSC_CONF"
init_app app1 "$SO" "$PIN"
L=(--token-label app1 --login --pin "$PIN")
head -c 200 /dev/urandom >"$BASE/small.bin"
head -c 10240 /dev/urandom >"$BASE/big.bin"
p11_ok "write a 200-byte object" "${L[@]}" --write-object "$BASE/small.bin" --type data --label small1
object_count app1 --login --pin "$PIN"
before=$N
# (pkcs11-tool 0.23 writes at most the first 5000 bytes of a file: still > 4096)
expect_fail CKR_DEVICE_MEMORY "write a 10 KB object (pkcs11-tool) into a 4096-byte card" \
    "${L[@]}" --write-object "$BASE/big.bin" --type data --label big
object_count app1 --login --pin "$PIN"
after=$N
[ "$after" -eq "$before" ] || fail "after the refused 10 KB write: -O lists $after objects, before it $before" "output:" "$(indent <<<"$OUT")"
p11_ok "-O" "${L[@]}" -O
out_lacks "'big'" "-O after the refused write"
drv_batch init "open app1" "login $PIN" "createfile big2 $BASE/big.bin" "find big2" "find big" quit
mapfile -t r <<<"$BATCH_OUT"
[[ ${r[3]} == "err CKR_DEVICE_MEMORY "* ]] ||
    fail "C_CreateObject of a 10240-byte value in a 4096-byte card: expected CKR_DEVICE_MEMORY, got '${r[3]}'"
[[ ${r[4]} == "count 0" && ${r[5]} == "count 0" ]] ||
    fail "after the refused creates: expected no 'big'/'big2' objects, got '${r[4]}' / '${r[5]}'"
p11_ok "a small object still fits" "${L[@]}" --write-object "$BASE/small.bin" --type data --label small2
rm -f "$BASE/small.out"
p11_ok "read it back" --token-label app1 --read-object --type data --label small2 --output-file "$BASE/small.out"
cmp -s "$BASE/small.bin" "$BASE/small.out" || fail "small object written after a CKR_DEVICE_MEMORY reads back different"
printf 'capacity = 1048576\n' >"$DMSC_CONF"
expect_fail CKR_DEVICE_MEMORY "the capacity is fixed at card creation (config now says 1 MiB)" \
    "${L[@]}" --write-object "$BASE/big.bin" --type data --label big

# ------------------------------------------------------------------ foreign files
CODES="CKR_TOKEN_NOT_RECOGNIZED|CKR_DEVICE_ERROR"
is_ok_code() { [[ $1 == "err CKR_TOKEN_NOT_RECOGNIZED "* || $1 == "err CKR_DEVICE_ERROR "* ]]; }

# check_foreign WHAT: DMSC_STORE/uicc-0.db is not a dmsc card.
check_foreign() {
    local what=$1 db="$DMSC_STORE/uicc-0.db" sum seen=0 nslots=0 i
    sum=$(file_sha "$db")

    # pkcs11-tool must not crash or hang listing it.
    run_p11 -L
    [ "$RC" -lt 124 ] || fail "$what: pkcs11-tool -L crashed or hung (exit $RC)" "output:" "$(indent <<<"$OUT")"
    out_lacks "token state:   uninitialized" "$what: -L must not offer a usable spare slot"
    run_p11 -T
    [ "$RC" -lt 124 ] || fail "$what: pkcs11-tool -T crashed or hung (exit $RC)" "output:" "$(indent <<<"$OUT")"

    # A generic client: every error is TNR or DEVICE_ERROR, at least one
    # call reports it, and no session opens on the card.
    drv_start probe
    drv probe init
    if [ "$DRV_OUT" != ok ]; then
        is_ok_code "$DRV_OUT" || fail "$what: C_Initialize: expected ok or $CODES, got '$DRV_OUT'"
        seen=1
    else
        drv probe slots
        if [[ $DRV_OUT == "count "* ]]; then
            nslots=${DRV_OUT#count }
        else
            is_ok_code "$DRV_OUT" || fail "$what: C_GetSlotList: expected a count or $CODES, got '$DRV_OUT'"
            seen=1
        fi
        for ((i = 0; i < nslots; i++)); do
            drv probe "tokeninfo $i"
            if [[ $DRV_OUT != "ok "* ]]; then
                is_ok_code "$DRV_OUT" || fail "$what: C_GetTokenInfo (slot index $i): expected $CODES, got '$DRV_OUT'"
                seen=1
            fi
            drv probe "openidx $i"
            [ "$DRV_OUT" != ok ] || fail "$what: C_OpenSession on slot index $i succeeded on a store that is not a dmsc card"
            is_ok_code "$DRV_OUT" || fail "$what: C_OpenSession (slot index $i): expected $CODES, got '$DRV_OUT'"
            seen=1
        done
    fi
    drv_stop probe
    [ "$seen" -eq 1 ] ||
        fail "$what: no call returned $CODES (C_Initialize ok, $nslots slots with a token)"

    # pkcs11-tool on the card: init-token and listing refused with the codes.
    if [ "$nslots" -gt 0 ]; then
        expect_fail "$CODES" "$what: --init-token" --slot-index 0 --init-token --label evil --so-pin "$SO"
        expect_fail "$CODES" "$what: -O" --slot-index 0 -O
    fi
    [ "$(file_sha "$db")" = "$sum" ] || fail "$what: uicc-0.db was modified" "sha256 before: $sum" "sha256 after:  $(file_sha "$db")"
    say "$what: refused as expected, file unchanged"
}

# foreign_store NAME: a store directory (0700) to put a file in.
foreign_store() {
    use_store "$1"
    mkdir -m 700 "$DMSC_STORE"
}

step "random bytes as uicc-0.db"
foreign_store random
head -c 32768 /dev/urandom >"$DMSC_STORE/uicc-0.db"
chmod 600 "$DMSC_STORE/uicc-0.db"
check_foreign "random-bytes uicc-0.db"

step "random bytes behind a SQLite header as uicc-0.db"
foreign_store fakeheader
{
    printf 'SQLite format 3\0'
    head -c 16368 /dev/urandom
} >"$DMSC_STORE/uicc-0.db"
chmod 600 "$DMSC_STORE/uicc-0.db"
check_foreign "SQLite-header + random uicc-0.db"

step "another program's SQLite database as uicc-0.db"
if command -v sqlite3 >/dev/null 2>&1; then
    foreign_store sqlite
    sqlite3 "$DMSC_STORE/uicc-0.db" <<'EOF'
CREATE TABLE notes(id INTEGER PRIMARY KEY, title TEXT, body TEXT);
INSERT INTO notes(title, body) VALUES ('shopping', 'milk, bread'), ('todo', 'call Bob');
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES ('version', '7'), ('owner', 'someone else');
CREATE TABLE objects(id INTEGER PRIMARY KEY, data BLOB);
INSERT INTO objects(data) VALUES (x'00112233');
EOF
    chmod 600 "$DMSC_STORE/uicc-0.db"
    check_foreign "foreign SQLite uicc-0.db"
    [ "$(sqlite3 "$DMSC_STORE/uicc-0.db" 'SELECT count(*) FROM notes')" = 2 ] ||
        fail "the foreign SQLite database lost its data"
else
    say "sqlite3 not installed: foreign SQLite database case not run"
fi

step "a truncated dmsc card"
use_store trunc
init_app app1 "$SO" "$PIN"
for i in 1 2 3 4 5; do
    p11_ok "write object $i" --token-label app1 --login --pin "$PIN" --write-object "$BASE/small.bin" --type data --label "obj$i"
done
[ -f "$DMSC_STORE/uicc-0.db" ] || fail "expected the card file uicc-0.db in the store" "$(ls -la "$DMSC_STORE")"
size=$(stat -c %s "$DMSC_STORE/uicc-0.db")
truncate -s $((size / 3)) "$DMSC_STORE/uicc-0.db"
check_foreign "uicc-0.db truncated from $size to $((size / 3)) bytes"

say "PASS"
