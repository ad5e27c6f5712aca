# shellcheck shell=bash
# Helpers for the tests of the dmsc tool's card commands (status, mo, ...).
# Sourced after lib.sh (which sets up the store and pkcs11-tool helpers).
#
#   DMSC             the built tool ($DMSC_BUILDDIR/dmsc, or $DMSC_TOOL:
#                    run-valgrind.sh points it to a wrapper)
#   dmsc_run ARGS    runs it; stdout in $DOUT, stderr in $DERR, status in RC
#   dmsc_expect N WHAT ARGS
#                    runs it; the exit status must be N
#   dout_has / derr_has TEXT WHAT
#                    fixed-string checks on the last run's stdout / stderr
#   json_get KEY     the value of "KEY" in the last run's --json output
#   make_dm_card [LABEL] [SO] [USER]
#                    the spare slot's token initialised as an application
#                    (default DM, SO PIN 87654321, user PIN 1234)

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:-$top}/dmsc}
[ -x "$DMSC" ] || fail "the dmsc tool is not built: $DMSC" "run make first"

DOUT=
DERR=
dmsc_run() {
    RC=0
    local o e
    o=$(mktemp "$TEST_TMP/dout.XXXXXX")
    e=$(mktemp "$TEST_TMP/derr.XXXXXX")
    timeout -k 5 "$P11_TIMEOUT" "$DMSC" "$@" >"$o" 2>"$e" </dev/null || RC=$?
    DOUT=$(cat "$o")
    DERR=$(cat "$e")
    rm -f "$o" "$e"
}

dmsc_expect() {
    local want=$1 what=$2
    shift 2
    dmsc_run "$@"
    [ "$RC" -eq "$want" ] ||
        fail "$what: expected exit $want, got $RC" "command: dmsc $*" \
            "stdout:" "$(indent <<<"$DOUT")" "stderr:" "$(indent <<<"$DERR")"
}

dout_has() {
    grep -qF -- "$1" <<<"$DOUT" ||
        fail "$2: expected stdout to contain '$1'" "stdout:" "$(indent <<<"$DOUT")" \
            "stderr:" "$(indent <<<"$DERR")"
}
derr_has() {
    grep -qF -- "$1" <<<"$DERR" ||
        fail "$2: expected stderr to contain '$1'" "stderr:" "$(indent <<<"$DERR")"
}

# json_get KEY: python3 reads the JSON (fails the test if it is not JSON).
json_get() {
    python3 -c 'import json,sys
v = json.loads(sys.stdin.read())[sys.argv[1]]
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1" <<<"$DOUT" ||
        fail "the output is not JSON with key '$1'" "stdout:" "$(indent <<<"$DOUT")"
}

make_dm_card() {
    init_app "${1:-DM}" "${2:-87654321}" "${3:-1234}"
}
