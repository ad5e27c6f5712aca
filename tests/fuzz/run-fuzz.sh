#!/bin/bash
# Build the libFuzzer targets with clang and run each one over a copy of its
# seed corpus (and with its dictionary, when it has one): the dm-ext ones
# (dm-ext/fuzz-*.c, corpora dm-ext/corpus/*, dictionaries dm-ext/*.dict)
# and p11 (tests/fuzz/fuzz-p11.c: random PKCS#11 call sequences on a
# scratch card, the whole module compiled in; corpus tests/fuzz/corpus/p11)
# and apdu (tests/fuzz/fuzz-apdu.c: the fuzzer plays a smart card answering
# the PC/SC transport and the ISO 7816 commands; corpus tests/fuzz/corpus/apdu)
# and pkcs15 (tests/fuzz/fuzz-pkcs15.c: the PKCS#15 decoder of
# tokens/pcsc/, its libtasn1 table made here with asn1Parser; seeds: the
# .der fixtures of tokens/pcsc/testdata).
#
#   tests/fuzz/run-fuzz.sh [TARGET...]      TARGET: wbxml, canon, canon-diff,
#                                           wbxml-enc, profile, p11, tnds, dmcmd,
#                                           apdu, pkcs15
#                                           (default wbxml, canon, canon-diff)
#   FUZZ_SECONDS=600 tests/fuzz/run-fuzz.sh  a longer run by hand
#
# Each target is built from the sources in $DMSC_SRCDIR/dm-ext (clang -g -O1
# -fsanitize=fuzzer,address,undefined, undefined behaviour fatal) into a
# temporary work directory, and runs there with leak detection on, a bound
# on memory and a bound on the time one input may take. The seed corpus is
# copied first: what libFuzzer adds never lands in the source tree. Nothing
# is written to the source or build tree.
#
# Environment:
#   FUZZ_SECONDS          seconds of fuzzing per target (25)
#   FUZZ_TIMEOUT          seconds one input may take before it is a hang (10)
#   FUZZ_RSS_LIMIT_MB     the fuzzer's resident memory bound (1024)
#   FUZZ_MALLOC_LIMIT_MB  the largest single allocation allowed (256)
#   FUZZ_KEEP=1           keep the work directory (binaries, grown corpora,
#                         full logs) after a clean run too
#   FUZZ_RESUME=DIR       a work directory kept by an earlier run: each
#                         target also starts from the corpus it grew there
#                         (DIR/corpus-TARGET, when present), so long runs by
#                         hand add up instead of starting over from the seeds
#   CLANG                 the compiler (clang)
#   DMSC_SRCDIR           the top source directory (exported by make check;
#                         run by hand, the directory two levels above this
#                         script)
#   DMSC_BUILDDIR         the configured build directory (config.h, and the
#                         module's source list for p11; default DMSC_SRCDIR)
#   TMPDIR                where the work directory is made (/tmp)
#
# Exit 0 when nothing was found; 1 on a crash, leak, hang, out-of-memory,
# or when the fuzzers cannot be built (clang missing is a failure, not a
# skip: scripts/bootstrap.sh installs it). After a failure the work
# directory is kept and its path printed, with each reproducer.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

NAME=run-fuzz
say() { printf '%s: %s\n' "$NAME" "$*"; }
die() {
    printf '%s: FAIL: %s\n' "$NAME" "$1" >&2
    shift
    local l
    for l in "$@"; do printf '    %s\n' "$l" >&2; done
    exit 1
}

# A positive whole number, or die naming the variable.
number() {
    case "$2" in
    '' | *[!0-9]* | 0) die "$1 must be a positive whole number, not '$2'" ;;
    esac
}

SECONDS_EACH=${FUZZ_SECONDS:-25}
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_LIMIT_MB:-1024}
MALLOC_MB=${FUZZ_MALLOC_LIMIT_MB:-256}
CLANG=${CLANG:-clang}
number FUZZ_SECONDS "$SECONDS_EACH"
number FUZZ_TIMEOUT "$TIMEOUT"
number FUZZ_RSS_LIMIT_MB "$RSS_MB"
number FUZZ_MALLOC_LIMIT_MB "$MALLOC_MB"
if [ -n "${FUZZ_RESUME:-}" ] && [ ! -d "$FUZZ_RESUME" ]; then
    die "FUZZ_RESUME='$FUZZ_RESUME' is not a directory" \
        "give the work directory an earlier run kept (FUZZ_KEEP=1 prints its path)"
fi

SRC=${DMSC_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DMEXT=$SRC/dm-ext
# fuzz-profile reads the schema from here.
export DMSC_SRCDIR="$SRC"
[ -f "$DMEXT/fuzz-wbxml.c" ] ||
    die "no dm-ext sources under '$SRC'" "set DMSC_SRCDIR to the top source directory"

BUILDDIR=${DMSC_BUILDDIR:-$SRC}

# The sources of each target: the dm-ext ones relative to dm-ext/ (as in
# their header comments); p11's relative to the top, from the Makefile (the
# module's and the DM extension's).
sources() {
    case "$1" in
    p11)
        local list
        list=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory \
            -C "$BUILDDIR" print-fuzz-p11-sources) || return 1
        echo "tests/fuzz/fuzz-p11.c"
        tr ' ' '\n' <<<"$list" | grep '\.c$'
        ;;
    apdu) echo "tests/fuzz/fuzz-apdu.c tokens/pcsc/apdu.c tokens/pcsc/card.c tokens/pcsc/iso7816.c module/debug.c" ;;
    pkcs15)
        echo "tests/fuzz/fuzz-pkcs15.c tokens/pcsc/pkcs15.c tokens/pcsc/pkcs15-der.c" \
            "tokens/pcsc/pkcs15-df.c tokens/pcsc/pkcs15-dodf.c tokens/pcsc/pkcs15-pin.c"
        ;;
    wbxml) echo "fuzz-wbxml.c wbxml.c wbxml-pages.c" ;;
    canon) echo "fuzz-canon.c canon.c canon-events.c dmmsg.c base64.c wbxml.c wbxml-pages.c" ;;
    canon-diff) echo "fuzz-canon-diff.c canon.c canon-events.c dmmsg.c base64.c wbxml.c wbxml-pages.c" ;;
    wbxml-enc) echo "fuzz-wbxml-enc.c wbxml-enc.c canon.c canon-events.c dmmsg.c base64.c wbxml.c wbxml-pages.c" ;;
    profile) echo "fuzz-profile.c profile/profile-read.c" ;;
    tnds) echo "fuzz-tnds.c mgmt-tree.c tnds-diff.c dmmsg.c base64.c wbxml.c wbxml-pages.c" ;;
    dmcmd) echo "fuzz-dmcmd.c dmcmd.c mgmt-tree.c dmmsg.c base64.c wbxml.c wbxml-pages.c" ;;
    *) return 1 ;;
    esac
}

# Seed corpus (dm-ext/corpus/NAME) and dictionary (dm-ext/NAME.dict) of each
# target: the encoder's input is a DM message, as the canonicaliser's, and
# the differential target (event path against tree path) shares the
# canonicaliser's; p11 has its own corpus and no dictionary.
corpus_of() {
    case "$1" in
    wbxml-enc | canon-diff) echo "$DMEXT/corpus/canon" ;;
    p11 | apdu) echo "$SRC/tests/fuzz/corpus/$1" ;;
    pkcs15) echo "$SRC/tokens/pcsc/testdata" ;;
    *) echo "$DMEXT/corpus/$1" ;;
    esac
}
dict_of() {
    case "$1" in
    wbxml-enc | canon-diff) echo "$DMEXT/fuzz-canon.dict" ;;
    p11 | apdu) ;;
    pkcs15) echo "$SRC/tests/fuzz/fuzz-pkcs15.dict" ;;
    *) echo "$DMEXT/fuzz-$1.dict" ;;
    esac
}

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(wbxml canon canon-diff)
for t in "${TARGETS[@]}"; do
    case "$t" in
    wbxml | canon | canon-diff | wbxml-enc | profile | p11 | tnds | dmcmd | apdu | pkcs15) ;;
    *) die "unknown target '$t' (known: wbxml, canon, canon-diff, wbxml-enc, profile, p11, tnds, dmcmd, apdu, pkcs15)" ;;
    esac
done

# The tools. Missing clang fails: bootstrap installs it.
command -v "$CLANG" >/dev/null 2>&1 ||
    die "'$CLANG' is not installed; the fuzz targets need clang with libFuzzer" \
        "scripts/bootstrap.sh installs it (Debian 12: apt-get install clang libclang-rt-14-dev)"
command -v pkg-config >/dev/null 2>&1 || die "pkg-config is not installed (scripts/bootstrap.sh installs it)"
if ! XML_CFLAGS=$(pkg-config --cflags libxml-2.0 libcrypto) || ! XML_LIBS=$(pkg-config --libs libxml-2.0 libcrypto); then
    die "pkg-config finds no libxml-2.0 or libcrypto (Debian 12: apt-get install libxml2-dev libssl-dev)"
fi
# The module's libraries, for p11 (scripts/bootstrap.sh installs them):
# pcsc-lite for the PC/SC backend's transport.
MOD_PKGS="p11-kit-1 libcrypto sqlite3 libxml-2.0 libpcsclite"
if ! MOD_CFLAGS=$(pkg-config --cflags $MOD_PKGS) || ! MOD_LIBS=$(pkg-config --libs $MOD_PKGS); then
    die "pkg-config misses one of: $MOD_PKGS (run scripts/bootstrap.sh)"
fi
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) is not installed"
# pkcs15 and p11 (the module holds the PKCS#15 decoder): libtasn1 and its
# ASN.1 compiler (scripts/bootstrap.sh installs them).
for t in "${TARGETS[@]}"; do
    [ "$t" = pkcs15 ] || [ "$t" = p11 ] || continue
    command -v asn1Parser >/dev/null 2>&1 ||
        die "asn1Parser is not installed (Debian 12: apt-get install libtasn1-bin; scripts/bootstrap.sh installs it)"
    if ! TASN1_CFLAGS=$(pkg-config --cflags libtasn1) || ! TASN1_LIBS=$(pkg-config --libs libtasn1); then
        die "pkg-config finds no libtasn1 (Debian 12: apt-get install libtasn1-6-dev)"
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-fuzz.XXXXXX")
failed=0
finish() {
    if [ "$failed" -ne 0 ] || [ "${FUZZ_KEEP:-0}" = 1 ]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap finish EXIT

# Readable stack traces: llvm-symbolizer when there is one (Debian's llvm-14,
# not pulled in by clang), else addr2line (binutils, a clang dependency).
SYMBOLIZER=
for s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
    if command -v "$s" >/dev/null 2>&1; then
        SYMBOLIZER=$(command -v "$s")
        break
    fi
done
SAN_COMMON=symbolize=1:print_summary=1
if [ -n "$SYMBOLIZER" ]; then
    SAN_COMMON=$SAN_COMMON:external_symbolizer_path=$SYMBOLIZER
else
    SAN_COMMON=$SAN_COMMON:allow_addr2line=1
fi
export ASAN_OPTIONS="$SAN_COMMON:detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="$SAN_COMMON:print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="$SAN_COMMON${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

say "clang: $("$CLANG" --version | head -n 1)"
say "sources: $DMEXT; work directory: $WORK"
say "per target: ${SECONDS_EACH}s, -timeout=$TIMEOUT -rss_limit_mb=$RSS_MB -malloc_limit_mb=$MALLOC_MB, leak detection on"

build() {
    local t=$1 bin=$WORK/fuzz-$1 f list
    local -a srcs=() flags
    list=$(sources "$t") || { say "FAIL: no source list for fuzz-$t (is $BUILDDIR configured? set DMSC_BUILDDIR)"; return 1; }
    if [ "$t" = pkcs15 ] || [ "$t" = p11 ]; then
        # The table of tokens/pcsc/pkcs15.asn, as the build makes it.
        if ! asn1Parser -o "$WORK/pkcs15-asn1-tab.c" -n dmsc_p15_asn1_tab \
            "$SRC/tokens/pcsc/pkcs15.asn" >"$WORK/asn1Parser.log" 2>&1; then
            sed 's/^/    | /' "$WORK/asn1Parser.log"
            say "FAIL: asn1Parser could not read tokens/pcsc/pkcs15.asn"
            return 1
        fi
    fi
    if [ "$t" = pkcs15 ]; then
        for f in $list; do srcs+=("$SRC/$f"); done
        # shellcheck disable=SC2206 # pkg-config output is a word list
        flags=(-I"$SRC/tokens" $TASN1_CFLAGS "${srcs[@]}" "$WORK/pkcs15-asn1-tab.c" $TASN1_LIBS -pthread)
    elif [ "$t" = p11 ]; then
        for f in $list; do srcs+=("$SRC/$f"); done
        # The whole module; its PIN KDF made cheap (see tokens/vuicc/seal.c).
        # shellcheck disable=SC2206 # pkg-config output is a word list
        flags=(-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -I"$SRC/module" -I"$SRC/tokens"
            -I"$SRC/include" -I"$DMEXT" -I"$DMEXT/profile" -I"$BUILDDIR" $MOD_CFLAGS $TASN1_CFLAGS -pthread
            "${srcs[@]}" "$WORK/pkcs15-asn1-tab.c" $MOD_LIBS $TASN1_LIBS)
    elif [ "$t" = apdu ]; then
        # The PC/SC transport without pcsc-lite: the fuzzer is the card.
        for f in $list; do srcs+=("$SRC/$f"); done
        # shellcheck disable=SC2206
        flags=(-I"$SRC/module" -I"$SRC/tokens" -I"$SRC/tokens/pcsc" -I"$BUILDDIR" $MOD_CFLAGS
            "${srcs[@]}" $MOD_LIBS)
    else
        for f in $list; do srcs+=("$DMEXT/$f"); done
        # shellcheck disable=SC2206
        flags=(-I"$DMEXT" -I"$DMEXT/profile" $XML_CFLAGS "${srcs[@]}" $XML_LIBS)
    fi
    if ! "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        "${flags[@]}" -o "$bin" \
        >"$WORK/build-$t.log" 2>&1; then
        sed 's/^/    | /' "$WORK/build-$t.log" | head -n 60
        if grep -q 'clang_rt\.\(fuzzer\|asan\|ubsan\)' "$WORK/build-$t.log"; then
            say "FAIL: clang's sanitizer and libFuzzer runtimes are missing" \
                "(Debian 12: apt-get install libclang-rt-14-dev; scripts/bootstrap.sh installs it)"
        else
            say "FAIL: building fuzz-$t failed (log above)"
        fi
        return 1
    fi
}

# One libFuzzer line: "stat::name: value" from -print_final_stats.
fuzz_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

# The lines of a failure report worth reading: from the first sanitizer or
# libFuzzer error to the end, without the progress lines.
report() {
    local log=$1 from
    from=$(grep -n -m 1 -E '^==[0-9]+== ?ERROR|runtime error:|^ALARM:|Deadly signal|out-of-memory|malloc\(.*\) exceeds|LeakSanitizer' "$log" | cut -d: -f1 || true)
    if [ -n "$from" ]; then
        tail -n "+$from" "$log" | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)' | head -n 200
    else
        tail -n 60 "$log"
    fi | sed 's/^/    | /'
}

run() {
    local t=$1 bin=$WORK/fuzz-$1 corpus=$WORK/corpus-$1 art=$WORK/artifacts-$1
    local log=$WORK/fuzz-$1.log rc=0 a dict
    local -a dictopt=()
    dict=$(dict_of "$t")
    [ -z "$dict" ] || dictopt=(-dict="$dict")
    mkdir -p "$corpus" "$art"
    if [ "$t" = pkcs15 ]; then
        # The fixtures only, not their generator.
        cp "$(corpus_of "$t")"/*.der "$corpus/"
    else
        cp -R "$(corpus_of "$t")/." "$corpus/"
    fi
    if [ -n "${FUZZ_RESUME:-}" ] && [ -d "$FUZZ_RESUME/corpus-$t" ]; then
        # Inputs are named by their content's hash: copying over the seeds
        # only adds what the earlier run found.
        cp -R "$FUZZ_RESUME/corpus-$t/." "$corpus/"
        say "fuzz-$t: resumed from $FUZZ_RESUME/corpus-$t"
    fi
    chmod -R u+w "$corpus"
    say "fuzz-$t: $(find "$corpus" -type f | wc -l) seed inputs, dictionary ${dict:-none}"
    # -timeout catches a hanging input; the outer timeout only a stuck fuzzer.
    local start=$SECONDS
    timeout -k 10 $((SECONDS_EACH + 120)) "$bin" \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" \
        -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB" \
        -detect_leaks=1 "${dictopt[@]}" \
        -artifact_prefix="$art/" -print_final_stats=1 \
        -error_exitcode=1 -timeout_exitcode=1 \
        "$corpus" >"$log" 2>&1 || rc=$?
    local took=$((SECONDS - start))

    local runs eps added rss cov
    runs=$(fuzz_stat "$log" number_of_executed_units)
    eps=$(fuzz_stat "$log" average_exec_per_sec)
    added=$(fuzz_stat "$log" new_units_added)
    rss=$(fuzz_stat "$log" peak_rss_mb)
    cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -n 1 || true)
    say "fuzz-$t: ${took}s, ${runs:-?} runs, ${eps:-?} exec/s, ${added:-?} new inputs, ${cov:-no coverage line}, peak RSS ${rss:-?} MB (exit $rc)"

    if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$art")" ]; then
        return 0
    fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        say "FAIL: fuzz-$t was killed (exit $rc): it did not stop within $((SECONDS_EACH + 120))s, or the system ran out of memory"
    else
        say "FAIL: fuzz-$t found a problem (crash, leak, hang or out-of-memory):"
    fi
    report "$log"
    for a in "$art"/*; do
        [ -f "$a" ] || continue
        say "reproducer: $a ($(wc -c <"$a") bytes)"
        xxd -l 512 "$a" 2>/dev/null | sed 's/^/    | /' || od -A x -t x1z -N 512 "$a" | sed 's/^/    | /'
        if [ "$(wc -c <"$a")" -le 65536 ]; then
            say "the same, in base64 (base64 -d > repro):"
            base64 -w 76 "$a" | sed 's/^/    /'
        fi
        say "run it again: $bin $a   (or build by hand: see the header of the target's source)"
    done
    say "full log: $log"
    return 1
}

for t in "${TARGETS[@]}"; do
    start=$SECONDS
    if ! build "$t"; then
        failed=1
        continue
    fi
    say "built fuzz-$t in $((SECONDS - start))s"
    run "$t" || failed=1
done

if [ "$failed" -ne 0 ]; then
    say "FAIL"
    exit 1
fi
say "PASS: ${TARGETS[*]}, ${SECONDS_EACH}s each: no crash, leak, hang or out-of-memory"
