# shellcheck shell=bash
# shellcheck disable=SC2034 # globals set here (N, SLOT, FLAGS, ...) are read by the tests
# Shared helpers for the dmsc integration tests. Sourced by every
# tests/integration/test-*.sh after `set -euo pipefail`.
#
# Environment (exported by the automake harness, AM_TESTS_ENVIRONMENT):
#   DMSC_MODULE    the built module (.so) under test
#   DMSC_SRCDIR    top source directory
#   DMSC_BUILDDIR  top build directory
# Optional:
#   P11_DRIVER     the p11-driver binary (default:
#                  $DMSC_BUILDDIR/tests/integration/p11-driver)
#   KEEP_STORE=1   keep the temporary directory (store, logs) on exit
#   P11_TIMEOUT    seconds before one pkcs11-tool run counts as hung (120)
#
# Exit codes: 0 pass, 1 fail, 77 skip (reason on stderr).

TEST_NAME=$(basename "${0%.sh}")
TEST_TMP=
P11_TIMEOUT=${P11_TIMEOUT:-120}
declare -a CLEANUP_PIDS=()
declare -a CLEANUP_DIRS=()

say() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }

# fail MESSAGE...: the test fails. Each argument is printed on its own line.
fail() {
    printf '%s: FAIL: %s\n' "$TEST_NAME" "$1" >&2
    shift
    local l
    for l in "$@"; do
        printf '%s\n' "$l" | sed 's/^/    /' >&2
    done
    exit 1
}

skip() {
    printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
    exit 77
}

step() { printf '%s: -- %s\n' "$TEST_NAME" "$*" >&2; }

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "required tool '$c' is not installed"
    done
}

# Indent a block of text for failure messages.
indent() { sed 's/^/    | /'; }

check_module() {
    [ -n "${DMSC_MODULE:-}" ] ||
        skip "DMSC_MODULE is not set (run through 'make check', or export DMSC_MODULE, DMSC_SRCDIR, DMSC_BUILDDIR)"
    [ -f "$DMSC_MODULE" ] || fail "the module under test does not exist" "DMSC_MODULE=$DMSC_MODULE"
    need_cmd pkcs11-tool timeout
}

cleanup() {
    local rc=$? pid d live
    # Only our own background children not yet reaped (their PIDs cannot
    # have been reused): the drivers and writers this test started.
    live=" $(jobs -p | tr '\n' ' ') "
    for pid in "${CLEANUP_PIDS[@]}"; do
        if [[ $live == *" $pid "* ]]; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    for d in "${CLEANUP_DIRS[@]}"; do
        if [ "${KEEP_STORE:-0}" = 1 ]; then
            say "kept $d"
        else
            rm -rf "$d"
        fi
    done
    if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
        if [ "${KEEP_STORE:-0}" = 1 ]; then
            say "kept $TEST_TMP"
        else
            rm -rf "$TEST_TMP"
        fi
    fi
    exit "$rc"
}

# setup_store: a private temporary directory; the store is
# $TEST_TMP/store (not created here: the module creates it on first use)
# and the configuration file is $TEST_TMP/dmsc.conf (empty unless a test
# writes settings into it) so no user or system dmsc.conf leaks in.
setup_store() {
    TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-it.XXXXXX")
    trap cleanup EXIT
    trap 'exit 1' INT TERM HUP
    export DMSC_STORE="$TEST_TMP/store"
    export DMSC_CONF="$TEST_TMP/dmsc.conf"
    : >"$DMSC_CONF"
}

# ---------------------------------------------------------------- pkcs11-tool

# p11 ARGS...: pkcs11-tool on the module under test (output to the caller).
p11() {
    timeout -k 5 "$P11_TIMEOUT" pkcs11-tool --module "$DMSC_MODULE" "$@" </dev/null
}

# run_p11 ARGS...: runs p11, never fails; sets OUT (stdout+stderr) and RC.
OUT=
RC=0
run_p11() {
    RC=0
    OUT=$(p11 "$@" 2>&1) || RC=$?
}

# The CKR names in OUT, or "(no CKR code printed)".
ckr_in_out() {
    local c
    c=$(grep -o 'CKR_[A-Z_]*' <<<"$OUT" | sort -u | tr '\n' ' ') || true
    printf '%s' "${c:-(no CKR code printed)}"
}

# p11_ok WHAT ARGS...: pkcs11-tool must succeed.
p11_ok() {
    local what=$1
    shift
    run_p11 "$@"
    if [ "$RC" -ne 0 ]; then
        fail "$what: expected success, pkcs11-tool exited $RC ($(ckr_in_out))" \
            "command: pkcs11-tool --module \$DMSC_MODULE $*" "output:" "$(indent <<<"$OUT")"
    fi
}

# expect_fail CKR_A[|CKR_B...] WHAT ARGS...: pkcs11-tool must fail (not
# crash) and print one of the CKR names.
expect_fail() {
    local want=$1 what=$2
    shift 2
    run_p11 "$@"
    local cmd="command: pkcs11-tool --module \$DMSC_MODULE $*"
    if [ "$RC" -eq 0 ]; then
        fail "$what: expected failure with $want, but pkcs11-tool succeeded" "$cmd" "output:" "$(indent <<<"$OUT")"
    fi
    if [ "$RC" -ge 124 ]; then
        fail "$what: expected $want, but pkcs11-tool crashed or hung (exit $RC)" "$cmd" "output:" "$(indent <<<"$OUT")"
    fi
    local c
    local -a alts
    IFS='|' read -r -a alts <<<"$want"
    for c in "${alts[@]}"; do
        if grep -qw -- "$c" <<<"$OUT"; then
            return 0
        fi
    done
    fail "$what: expected $want, got $(ckr_in_out)(exit $RC)" "$cmd" "output:" "$(indent <<<"$OUT")"
}

# expect_fail_msg TEXT WHAT ARGS...: pkcs11-tool must fail (not crash)
# and print TEXT (for failures pkcs11-tool reports without a CKR code,
# like "object not found").
expect_fail_msg() {
    local want=$1 what=$2
    shift 2
    run_p11 "$@"
    local cmd="command: pkcs11-tool --module \$DMSC_MODULE $*"
    if [ "$RC" -eq 0 ] || [ "$RC" -ge 124 ] || ! grep -qF -- "$want" <<<"$OUT"; then
        fail "$what: expected a failure printing '$want', got exit $RC" "$cmd" "output:" "$(indent <<<"$OUT")"
    fi
}

# out_has TEXT WHAT / out_lacks TEXT WHAT: checks on OUT (fixed strings).
out_has() {
    grep -qF -- "$1" <<<"$OUT" ||
        fail "$2: expected the output to contain '$1'" "output:" "$(indent <<<"$OUT")"
}
out_lacks() {
    if grep -qF -- "$1" <<<"$OUT"; then
        fail "$2: expected the output NOT to contain '$1'" "output:" "$(indent <<<"$OUT")"
    fi
}

# slot_count: sets N to the number of slots pkcs11-tool -L lists (OUT
# keeps the listing for messages).
N=0
slot_count() {
    p11_ok "list slots (-L)" -L
    N=$(grep -c '^Slot [0-9]' <<<"$OUT" || true)
}

# spare_slot: sets SLOT to the slot ID (0x..) of the one slot with an
# uninitialised token; fails unless there is exactly one.
SLOT=
spare_slot() {
    p11_ok "list slots (-L)" -L
    local ids n
    ids=$(awk '/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3; gsub(/[():]/, "", id) }
               /token state: *uninitialized/ { print id }' <<<"$OUT")
    n=$(grep -c . <<<"$ids" || true)
    [ "$n" -eq 1 ] || fail "expected exactly one spare slot (uninitialized token), found $n" \
        "pkcs11-tool -L output:" "$(indent <<<"$OUT")"
    SLOT=$ids
}

# slot_of LABEL: sets SLOT to the slot ID (0x..) whose token has that
# label (from -T; empty when none).
slot_of() {
    p11_ok "list token slots (-T)" -T
    SLOT=$(awk -v want="$1" '/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ { id = $3; gsub(/[():]/, "", id) }
        /^ *token label *:/ { l = $0; sub(/^ *token label *: /, "", l); if (l == want) print id }' <<<"$OUT")
}

# token_flags LABEL: sets FLAGS to the "token flags" line of that token in
# -T output (OUT keeps the whole -T output for messages).
FLAGS=
token_flags() {
    p11_ok "list token slots (-T)" -T
    FLAGS=$(awk -v want="$1" '/^Slot / { l = "" }
        /^ *token label *:/ { l = $0; sub(/^ *token label *: /, "", l) }
        /^ *token flags *:/ { if (l == want) { f = $0; sub(/^ *token flags *: /, "", f); print f } }' <<<"$OUT")
}

# has_flag FLAGS NAME: is NAME one of the comma-separated flags?
has_flag() {
    local f
    local -a fl
    IFS=',' read -r -a fl <<<"$1"
    for f in "${fl[@]}"; do
        f=${f# }
        f=${f% }
        [ "$f" = "$2" ] && return 0
    done
    return 1
}

# expect_flags LABEL WHAT +"flag" -"flag" ...: +flag must be set, -flag not.
# pkcs11-tool's names: "token initialized", "PIN initialized", "user PIN
# count low", "final user PIN try", "user PIN locked", "SO PIN count low",
# "final SO PIN try", "SO PIN locked".
expect_flags() {
    local label=$1 what=$2 flags spec
    shift 2
    token_flags "$label"
    flags=$FLAGS
    [ -n "$flags" ] || fail "$what: token '$label' not found in pkcs11-tool -T" "output:" "$(indent <<<"$OUT")"
    for spec in "$@"; do
        case $spec in
        +*) has_flag "$flags" "${spec#+}" ||
            fail "$what: token '$label' should show flag '${spec#+}'" "token flags: $flags" ;;
        -*) if has_flag "$flags" "${spec#-}"; then
            fail "$what: token '$label' should NOT show flag '${spec#-}'" "token flags: $flags"
        fi ;;
        *) fail "expect_flags: bad spec '$spec'" ;;
        esac
    done
}

# init_app LABEL SO_PIN USER_PIN: initialise the spare slot's token as an
# application named LABEL, then set its user PIN in an SO session.
init_app() {
    local label=$1 so=$2 user=$3
    spare_slot
    p11_ok "init token '$label' on spare slot $SLOT" --init-token --slot "$SLOT" --label "$label" --so-pin "$so"
    p11_ok "init user PIN of '$label'" --token-label "$label" --login --login-type so --so-pin "$so" --init-pin --new-pin "$user"
}

# object_count LABEL [ARGS...]: sets N to the number of objects -O lists
# on that token (OUT keeps the listing).
object_count() {
    local label=$1
    shift
    p11_ok "list objects (-O) on '$label'" --token-label "$label" -O "$@"
    N=$(grep -cE '^(Data object|Certificate Object|Private Key Object|Public Key Object|Secret Key Object|Profile object)' <<<"$OUT" || true)
}

file_sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- p11-driver

DRIVER=${P11_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-driver}

need_driver() {
    [ -x "$DRIVER" ] || fail "p11-driver not found at $DRIVER" \
        "build it (make check builds it) or set P11_DRIVER=/path/to/p11-driver"
}

# drv_start NAME: a p11-driver in command mode, talking through fifos.
drv_start() {
    local name=$1 in out pid w r
    in="$TEST_TMP/drv-$name.in"
    out="$TEST_TMP/drv-$name.out"
    rm -f "$in" "$out"
    mkfifo "$in" "$out"
    "$DRIVER" <"$in" >"$out" 2>"$TEST_TMP/drv-$name.err" &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    exec {w}>"$in"
    exec {r}<"$out"
    printf -v "DRV_PID_$name" '%s' "$pid"
    printf -v "DRV_W_$name" '%s' "$w"
    printf -v "DRV_R_$name" '%s' "$r"
}

# drv NAME COMMAND: sends one command, sets DRV_OUT to the reply line.
DRV_OUT=
drv() {
    local name=$1 cmd=$2 wv rv
    wv="DRV_W_$name"
    rv="DRV_R_$name"
    printf '%s\n' "$cmd" >&"${!wv}" ||
        fail "driver '$name' is gone (writing '$cmd')" "stderr:" "$(indent <"$TEST_TMP/drv-$name.err")"
    DRV_OUT=
    if ! IFS= read -r -t "$P11_TIMEOUT" -u "${!rv}" DRV_OUT; then
        fail "driver '$name' gave no reply to '$cmd' (crashed or hung)" "stderr:" "$(indent <"$TEST_TMP/drv-$name.err")"
    fi
}

# drv_expect NAME COMMAND PATTERN: the reply must match PATTERN (a glob).
drv_expect() {
    drv "$1" "$2"
    # shellcheck disable=SC2053 # PATTERN is a glob on purpose
    [[ $DRV_OUT == $3 ]] ||
        fail "driver '$1': '$2': expected '$3', got '$DRV_OUT'" "stderr:" "$(indent <"$TEST_TMP/drv-$1.err")"
}

# drv_stop NAME: quit and reap; the driver must exit 0.
drv_stop() {
    local name=$1 pv wv rv wfd rfd st=0
    pv="DRV_PID_$name"
    wv="DRV_W_$name"
    rv="DRV_R_$name"
    drv_expect "$name" quit ok
    wfd=${!wv}
    rfd=${!rv}
    exec {wfd}>&- {rfd}<&-
    wait "${!pv}" || st=$?
    rm -f "$TEST_TMP/drv-$name.in" "$TEST_TMP/drv-$name.out"
    [ "$st" -eq 0 ] || fail "driver '$name' exited with status $st" "stderr:" "$(indent <"$TEST_TMP/drv-$name.err")"
}

# drv_batch COMMAND...: one short-lived driver process running the
# commands; sets BATCH_OUT to its output lines.
BATCH_OUT=
drv_batch() {
    local st=0
    BATCH_OUT=$(printf '%s\n' "$@" | timeout -k 5 "$P11_TIMEOUT" "$DRIVER" 2>"$TEST_TMP/batch.err") || st=$?
    [ "$st" -eq 0 ] || fail "p11-driver exited with status $st running: $*" \
        "output:" "$(indent <<<"$BATCH_OUT")" "stderr:" "$(indent <"$TEST_TMP/batch.err")"
}

# imsi_key_hex DIGITS: the semi-octet IMSI key in hex (TS 24.008 10.5.1.4
# without its length byte), written independently of dmsc: the digits
# preceded by the nibble 9 (odd count) or 1 (even count, then a trailing F),
# each pair of nibbles swapped.
imsi_key_hex() {
    local d=$1 s out='' i
    if [ $((${#d} % 2)) -eq 1 ]; then s="9$d"; else s="1${d}F"; fi
    for ((i = 0; i < ${#s}; i += 2)); do
        out+="${s:i+1:1}${s:i:1}"
    done
    printf '%s' "$out"
}
