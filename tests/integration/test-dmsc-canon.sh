#!/bin/bash
# `dmsc canon`: the canonical form of DM messages from the command line.
#  - every input of every vector group of dm-ext/vectors/canon (XML in
#    several layouts and encodings, WBXML) gives the group's committed
#    .c14n byte for byte, from a file and from stdin, and stderr names the
#    representation; WBXML arriving in two pieces gives the same;
#  - --digest prints what sha256sum prints for the .c14n;
#  - --unit cmdid=4 and syncbody give replace.cmdid-4.c14n and
#    replace.syncbody.c14n, from XML and from WBXML;
#  - opaque input passes unchanged; 200 MiB of it through stdin, copied and
#    digested, with max RSS under 64 MB (GNU time) and the right bytes;
#  - malformed input exits 1 naming the file and the byte; a message over
#    16 MiB is refused; a missing file, a bad option, a bad --unit, no
#    FILE and an unknown command exit 2; --help, --version, -q.
# Needs only the built tool (not the module): $DMSC_BUILDDIR/dmsc.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${DMSC_SRCDIR:-$top}
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:-$top}/dmsc}
V=$SRC/dm-ext/vectors/canon
[ -x "$DMSC" ] || fail "the dmsc tool is not built: $DMSC" "run make first"
[ -f "$V/replace.c14n" ] || fail "vectors not found in $V"
need_cmd sha256sum cmp head mkfifo
# A private temporary directory removed on exit (setup_store's; no store
# is used here).
setup_store
T=$TEST_TMP

# dmsc_run ARGS...: the tool (stdin as the caller redirects it);
# never fails; stdout in $T/out, stderr in $T/err, status in RC.
RC=0
dmsc_run() {
    RC=0
    "$DMSC" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

# expect_rc N WHAT: the last dmsc_run exited N.
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC" \
        "stderr:" "$(indent <"$T/err")"
}

# out_is FILE WHAT: stdout of the last run is FILE, byte for byte.
out_is() {
    cmp -s "$T/out" "$1" || fail "$2: stdout is not $(basename "$1") byte for byte" \
        "$(cmp "$T/out" "$1" 2>&1 || true)" "stderr:" "$(indent <"$T/err")"
}

# err_has TEXT WHAT: stderr of the last run contains TEXT.
err_has() {
    grep -qF -- "$1" "$T/err" || fail "$2: expected stderr to contain '$1'" \
        "stderr:" "$(indent <"$T/err")"
}

size_of() { wc -c <"$1" | tr -d ' '; }

# ------------------------------------------------------------- vectors
step "replace.pretty.xml gives replace.c14n; stderr names XML (SyncML 1.2)"
dmsc_run canon "$V/replace.pretty.xml"
expect_rc 0 "canon replace.pretty.xml"
out_is "$V/replace.c14n" "canon replace.pretty.xml"
err_has "dmsc: $V/replace.pretty.xml: XML (SyncML 1.2), canonical form $(size_of "$V/replace.c14n") bytes" \
    "canon replace.pretty.xml"

step "replace.wbxml (xml2wbxml) gives the same bytes; stderr names WBXML"
dmsc_run canon "$V/replace.wbxml"
expect_rc 0 "canon replace.wbxml"
out_is "$V/replace.c14n" "canon replace.wbxml"
err_has "WBXML (SyncML 1.2), canonical form $(size_of "$V/replace.c14n") bytes" "canon replace.wbxml"

step "every input of every vector group, from a file and from stdin"
n=0
for want in "$V"/*.c14n; do
    group=$(basename "$want" .c14n)
    case $group in *.*) continue ;; esac # unit vectors: below
    for f in "$V/$group".*xml; do
        dmsc_run canon "$f"
        expect_rc 0 "canon $(basename "$f")"
        out_is "$want" "canon $(basename "$f")"
        dmsc_run canon - <"$f"
        expect_rc 0 "canon - < $(basename "$f")"
        out_is "$want" "canon - < $(basename "$f")"
        err_has "dmsc: (standard input): " "canon - < $(basename "$f")"
        n=$((n + 1))
    done
done
[ "$n" -ge 15 ] || fail "expected at least 15 vector inputs in $V, found $n"
dmsc_run canon "$V/tnds.wbxml"
err_has "WBXML (TNDS)" "canon tnds.wbxml"

step "WBXML arriving in two pieces through a pipe gives the same bytes"
RC=0
{ head -c 7 "$V/replace.wbxml"; sleep 0.2; tail -c +8 "$V/replace.wbxml"; } |
    "$DMSC" canon - >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "canon - (WBXML in two pieces)"
out_is "$V/replace.c14n" "canon - (WBXML in two pieces)"

# ------------------------------------------------------------- digest
step "--digest prints what sha256sum prints for replace.c14n"
want=$(sha256sum "$V/replace.c14n" | cut -d' ' -f1)
for f in replace.pretty.xml replace.wbxml replace.latin1.xml; do
    dmsc_run canon --digest "$V/$f"
    expect_rc 0 "canon --digest $f"
    got=$(cat "$T/out")
    [ "$got" = "$want" ] || fail "canon --digest $f: expected $want (sha256sum of replace.c14n), got '$got'"
    [ "$(wc -l <"$T/out")" -eq 1 ] || fail "canon --digest $f: expected one line" "$(indent <"$T/out")"
done

# ------------------------------------------------------------- units
step "--unit cmdid=4 gives replace.cmdid-4.c14n, --unit syncbody replace.syncbody.c14n"
for f in replace.pretty.xml replace.wbxml; do
    dmsc_run canon --unit cmdid=4 "$V/$f"
    expect_rc 0 "canon --unit cmdid=4 $f"
    out_is "$V/replace.cmdid-4.c14n" "canon --unit cmdid=4 $f"
    err_has "command CmdID 4, canonical form $(size_of "$V/replace.cmdid-4.c14n") bytes" "canon --unit cmdid=4 $f"
    dmsc_run canon -u syncbody "$V/$f"
    expect_rc 0 "canon -u syncbody $f"
    out_is "$V/replace.syncbody.c14n" "canon -u syncbody $f"
done
dmsc_run canon --unit message --digest "$V/replace.pretty.xml"
expect_rc 0 "canon --unit message --digest"
[ "$(cat "$T/out")" = "$want" ] || fail "canon --unit message --digest: not the digest of replace.c14n"

# ------------------------------------------------------------- opaque
step "opaque input passes unchanged (and empty input is opaque and empty)"
{ printf 'FWPKG\0'; head -c 100000 /dev/urandom; } >"$T/fw.bin"
dmsc_run canon "$T/fw.bin"
expect_rc 0 "canon fw.bin"
out_is "$T/fw.bin" "canon fw.bin"
err_has "opaque data (passed unchanged), canonical form 100006 bytes" "canon fw.bin"
dmsc_run canon --digest - <"$T/fw.bin"
[ "$(cat "$T/out")" = "$(sha256sum "$T/fw.bin" | cut -d' ' -f1)" ] ||
    fail "canon --digest - < fw.bin: not sha256sum of the file"
dmsc_run canon - </dev/null
expect_rc 0 "canon - < /dev/null"
[ ! -s "$T/out" ] || fail "canon - < /dev/null: expected no output"

# big_opaque MODE: 200 MiB of opaque input piped through stdin, copied
# (MODE copy) or digested (MODE --digest); the bytes are checked against
# sha256sum of the same stream (a tee into a fifo), memory with GNU time.
BIG=$((200 * 1024 * 1024))
TIME=
if /usr/bin/time -v true >/dev/null 2>&1; then
    TIME=/usr/bin/time
else
    say "GNU time (/usr/bin/time -v) is not installed: the 200 MiB runs are checked without their memory use"
fi
big_opaque() {
    local mode=$1 rss
    local -a args=(canon -)
    [ "$mode" = copy ] || args=(canon --digest -)
    rm -f "$T/big.fifo" "$T/big.want" "$T/time"
    mkfifo "$T/big.fifo"
    sha256sum <"$T/big.fifo" >"$T/big.want" &
    local sum=$!
    RC=0
    if [ -n "$TIME" ]; then
        { printf 'FWPKG\0'; head -c "$BIG" /dev/urandom; } | tee "$T/big.fifo" |
            "$TIME" -v -o "$T/time" "$DMSC" "${args[@]}" 2>"$T/err" >"$T/big.out" || RC=$?
    else
        { printf 'FWPKG\0'; head -c "$BIG" /dev/urandom; } | tee "$T/big.fifo" |
            "$DMSC" "${args[@]}" 2>"$T/err" >"$T/big.out" || RC=$?
    fi
    wait "$sum" || fail "sha256sum of the 200 MiB stream failed"
    expect_rc 0 "dmsc ${args[*]} (200 MiB opaque)"
    err_has "opaque data (passed unchanged), canonical form $((BIG + 6)) bytes" "dmsc ${args[*]} (200 MiB opaque)"
    local want_sum got_sum
    want_sum=$(cut -d' ' -f1 "$T/big.want")
    if [ "$mode" = copy ]; then
        got_sum=$(sha256sum "$T/big.out" | cut -d' ' -f1)
        rm -f "$T/big.out"
    else
        got_sum=$(cat "$T/big.out")
    fi
    [ "$got_sum" = "$want_sum" ] ||
        fail "dmsc ${args[*]} (200 MiB opaque): output digest $got_sum, input digest $want_sum"
    if [ -n "$TIME" ]; then
        rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): *//p' "$T/time")
        [ -n "$rss" ] || fail "no 'Maximum resident set size' in GNU time's report" "$(indent <"$T/time")"
        say "dmsc ${args[*]}: 200 MiB opaque, max RSS $rss KiB"
        [ "$rss" -lt $((64 * 1024)) ] ||
            fail "dmsc ${args[*]} (200 MiB opaque): max RSS $rss KiB, expected under 64 MB"
    fi
}
step "200 MiB of opaque input through stdin, --digest: bounded memory, right digest"
big_opaque --digest
step "200 MiB of opaque input through stdin, copied: bounded memory, same bytes"
big_opaque copy

# ------------------------------------------------------------- refused input
step "malformed XML exits 1 naming the file, the byte and the line"
printf '<SyncML xmlns="SYNCML:SYNCML1.2">\n<SyncHdr><VerDTD>1.2</VerDTD>\n</SyncML>\n' >"$T/bad.xml"
dmsc_run canon "$T/bad.xml"
expect_rc 1 "canon bad.xml"
err_has "dmsc: $T/bad.xml: byte 73: line 3, column 10:" "canon bad.xml"
[ ! -s "$T/out" ] || fail "canon bad.xml: expected nothing on stdout" "$(indent <"$T/out")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "canon bad.xml: expected a one-line message" "$(indent <"$T/err")"

step "truncated WBXML exits 1 with the byte offset"
head -c 40 "$V/replace.wbxml" >"$T/trunc.wbxml"
dmsc_run canon - <"$T/trunc.wbxml"
expect_rc 1 "canon - < trunc.wbxml"
err_has "dmsc: (standard input): WBXML byte 40: truncated" "canon - < trunc.wbxml"

step "XML that is not a DM message, a unit not there, a unit of opaque data: exit 1"
printf '<foo/>' >"$T/foo.xml"
dmsc_run canon "$T/foo.xml"
expect_rc 1 "canon foo.xml"
err_has "byte 4: root element <foo>" "canon foo.xml"
dmsc_run canon --unit cmdid=99 "$V/replace.pretty.xml"
expect_rc 1 "canon --unit cmdid=99"
err_has 'no command with CmdID "99"' "canon --unit cmdid=99"
dmsc_run canon --unit syncbody "$V/tnds.xml"
expect_rc 1 "canon --unit syncbody tnds.xml"
dmsc_run canon --unit cmdid=4 "$T/fw.bin"
expect_rc 1 "canon --unit cmdid=4 fw.bin"
err_has "the input is opaque data" "canon --unit cmdid=4 fw.bin"

step "a message over 16 MiB is refused (XML is held, within a limit)"
RC=0
{ printf '<SyncML xmlns="SYNCML:SYNCML1.2">'; head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' '; } |
    "$DMSC" canon - >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "canon - (17 MiB XML)"
err_has "max_input" "canon - (17 MiB XML)"

# ------------------------------------------------------------- usage
step "a missing file, a bad option, a bad --unit, no FILE, two FILEs, an unknown command: exit 2"
dmsc_run canon "$T/no-such-file.xml"
expect_rc 2 "canon no-such-file.xml"
err_has "dmsc: $T/no-such-file.xml: cannot open: No such file or directory" "canon no-such-file.xml"
dmsc_run canon --no-such-option "$V/replace.pretty.xml"
expect_rc 2 "canon --no-such-option"
err_has "'--no-such-option'" "canon --no-such-option"
err_has "dmsc canon --help" "canon --no-such-option"
dmsc_run canon --unit bogus "$V/replace.pretty.xml"
expect_rc 2 "canon --unit bogus"
dmsc_run canon --unit cmdid= "$V/replace.pretty.xml"
expect_rc 2 "canon --unit cmdid="
dmsc_run canon --unit
expect_rc 2 "canon --unit (no argument)"
dmsc_run canon
expect_rc 2 "canon (no FILE)"
dmsc_run canon "$V/replace.pretty.xml" "$V/replace.wbxml"
expect_rc 2 "canon (two FILEs)"
dmsc_run no-such-command
expect_rc 2 "dmsc no-such-command"
dmsc_run
expect_rc 2 "dmsc (no command)"
if [ -w /dev/full ]; then
    RC=0
    "$DMSC" canon "$V/replace.pretty.xml" >/dev/full 2>"$T/err" || RC=$?
    expect_rc 2 "canon > /dev/full"
    err_has "cannot write" "canon > /dev/full"
fi

# ------------------------------------------------------------- help, -q
step "--help (tool and command), help COMMAND, --version, -q"
dmsc_run canon --help
expect_rc 0 "canon --help"
grep -q '^Usage: dmsc canon ' "$T/out" || fail "canon --help: no Usage line" "$(indent <"$T/out")"
grep -q '^EXAMPLES' "$T/out" || fail "canon --help: no EXAMPLES" "$(indent <"$T/out")"
grep -q -- '--digest' "$T/out" || fail "canon --help: --digest is not described"
cp "$T/out" "$T/canon-help"
dmsc_run help canon
expect_rc 0 "help canon"
cmp -s "$T/out" "$T/canon-help" || fail "'dmsc help canon' differs from 'dmsc canon --help'"
dmsc_run --help
expect_rc 0 "dmsc --help"
grep -q '^  canon ' "$T/out" || fail "dmsc --help: the canon command is not listed" "$(indent <"$T/out")"
grep -q '^EXAMPLES' "$T/out" || fail "dmsc --help: no EXAMPLES"
dmsc_run --version
expect_rc 0 "dmsc --version"
grep -qE '^dmsc .* [0-9]+\.[0-9]+' "$T/out" || fail "dmsc --version: no version" "$(indent <"$T/out")"
for q in "-q canon" "canon -q" "canon --quiet"; do
    # shellcheck disable=SC2086 # the options are split on purpose
    dmsc_run $q "$V/replace.wbxml"
    expect_rc 0 "dmsc $q"
    out_is "$V/replace.c14n" "dmsc $q"
    [ ! -s "$T/err" ] || fail "dmsc $q: expected nothing on stderr" "$(indent <"$T/err")"
done

say "all checks passed"
