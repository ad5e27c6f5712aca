#!/bin/bash
# The whole test suite again, under AddressSanitizer + UndefinedBehaviorSanitizer
# with leak detection, in an out-of-tree build. run-tests.sh (and so CI)
# runs it after the in-tree `make check`; it can be run alone:
#
#   tests/sanitize/run-asan.sh            build _build-asan/ and run make check
#   tests/sanitize/run-asan.sh TEST...    only these tests (as make check's
#                                         TESTS, e.g. tests/integration/test-fork.sh)
#   ASAN_BUILD=DIR tests/sanitize/run-asan.sh   another build directory
#
# How: `make distdir` copies the distributed sources to $ASAN_BUILD/src (so a
# file missing from EXTRA_DIST fails here, as in make distcheck), configure
# runs out of tree in $ASAN_BUILD/obj with gcc -fsanitize=address,undefined
# -fno-sanitize-recover=all, and `make check` runs there. Our programs (the
# module, the dmsc tool, the test drivers, the unit tests) are instrumented.
# The outside tools that load the module (pkcs11-tool, p11tool, certtool,
# openssl, NSS's modutil and certutil, p11-kit, Java's java, keytool and
# jarsigner (SunPKCS11), Python with PyKCS11) are
# not, so they are reached through wrappers in $ASAN_BUILD/preload-bin
# (first in PATH) that start them with the ASan runtime preloaded
# (LD_PRELOAD=$(gcc -print-file-name=libasan.so), then
# dmsc-asan-early-init.so: see below) and leak detection off
# (their own leaks would drown ours; our programs look for leaks); the
# shell, sed, grep... run as usual. Tests can be left out (SKIPPED
# below, each with its reason; none today): the last line names them.
#
# Every sanitizer report (ASan, UBSan, LSan) is written to a file under
# $ASAN_BUILD/reports (log_path), so a report counts even when the test that
# triggered it expected its program to fail. The run fails on any failed
# test or any report; the reports are printed. tests/sanitize/lsan.supp
# holds the LeakSanitizer suppressions (each entry says why).
#
# The source tree must be configured (run-tests.sh has done so): make
# distdir runs there. Last line: "asan: N passed, N failed, N skipped, N
# sanitizer reports (not run here: ...)". Exit 0 only with no failure and
# no report.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${ASAN_BUILD:-$SRC/_build-asan}
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
# The outside programs that dlopen the module in the tests.
WRAPPED="pkcs11-tool p11tool certtool openssl modutil certutil p11-kit java keytool jarsigner"
# And Debian's /usr/bin/python3 (PyKCS11 is installed for it only), not put
# in PATH, where it would replace the python3 every other script runs:
# test-interop-python.sh is pointed at it through DMSC_PYTHON.
PYTHON=/usr/bin/python3
# Tests left out of this run (they run in the in-tree pass), each with
# its reason. None today. test-p11-kit (p11-kit list-modules, p11tool
# through the registered modules) and test-interop-gnutls (certtool) were,
# until the cause of their hang was found: with only the runtime preloaded
# both waited forever in glibc's __libc_setlocale_lock, whose reader count
# gdb showed at -1. The cause (gdb watchpoint on the lock): a preloaded
# library is initialised after the program's own libraries, so the ASan
# runtime is not initialised yet when libp11-kit's constructor runs, and
# the first allocation of the process, inside newlocale() with the lock
# write-held, initialises it; the runtime's start-up calls dlerror() after
# a failed dlsym("swift_demangle"), dlerror() translates the message with
# gettext, gettext's read lock fails with EDEADLK (same thread) and its
# unlock releases newlocale's write lock; newlocale's unlock then takes
# the reader count below zero, and the next writer (newlocale in
# p11-kit-trust.so's constructor, freelocale in libp11-kit's destructor)
# never gets the lock. Any program is hit whose libraries' constructors
# reach newlocale(), bindtextdomain() or bind_textdomain_codeset() before
# any function the runtime intercepts (a library whose constructor makes
# that one call reproduces it, with a program that only links it);
# LC_ALL=C does not change it, nor does ASAN_OPTIONS=symbolize=0: the
# runtime makes that look-up at every start-up. The fix,
# tests/sanitize/asan-early-init.c, preloaded after the runtime: those
# three functions initialise the runtime before calling glibc's, as the
# runtime's own interceptors of setlocale() and textdomain() do (gdb: the
# lock's counts then balance through list-modules and its exit). Clang
# 14's runtime is no way out: p11-kit list-modules passes with it only
# because it needs libstdc++, whose constructor initialises it first;
# p11tool --list-tokens, whose libp11-kit is initialised before
# libstdc++, hangs with it too.
SKIPPED=""

say() { printf 'asan: %s\n' "$*"; }
die() {
    printf 'asan: FAIL: %s\n' "$1" >&2
    shift
    local l
    for l in "$@"; do printf '    %s\n' "$l" >&2; done
    exit 1
}

[ -f "$SRC/Makefile" ] || die "the source tree is not configured" "run ./scripts/bootstrap.sh first"
LIBASAN=$(gcc -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || die "gcc's ASan runtime is missing ($LIBASAN)" "Debian 12: apt-get install build-essential (libasan8)"

# A fresh copy of the distributed sources; the build is kept when the
# sources did not change, so a second run only rebuilds what changed.
mkdir -p "$BUILD"
rm -rf "$BUILD/src.new"
make -C "$SRC" --no-print-directory distdir distdir="$BUILD/src.new" top_distdir="$BUILD/src.new" \
    >"$BUILD/distdir.log" 2>&1 || die "make distdir failed" "log: $BUILD/distdir.log"
if [ -d "$BUILD/src" ] && diff -rq "$BUILD/src" "$BUILD/src.new" >/dev/null 2>&1; then
    rm -rf "$BUILD/src.new"
else
    # rsync-free update: keep unchanged files' timestamps so make rebuilds
    # only what changed.
    if [ -d "$BUILD/src" ]; then
        (cd "$BUILD/src.new" && find . -type f) | while read -r f; do
            if cmp -s "$BUILD/src.new/$f" "$BUILD/src/$f"; then
                touch -r "$BUILD/src/$f" "$BUILD/src.new/$f"
            fi
        done
    fi
    rm -rf "$BUILD/src"
    mv "$BUILD/src.new" "$BUILD/src"
fi

mkdir -p "$BUILD/obj"
cd "$BUILD/obj"
if [ ! -f Makefile ] || [ ../src/configure -nt config.status ]; then
    say "configuring $BUILD/obj (gcc $SAN)"
    # Warnings are errors here too: at -O1 gcc inlines differently than at
    # -O2 and sees other paths (-Wformat-truncation, -Wmaybe-uninitialized).
    ../src/configure --quiet --sysconfdir=/etc --enable-werror \
        CC=gcc CFLAGS="-g -O1 $SAN" LDFLAGS="$SAN" >"$BUILD/configure.log" 2>&1 ||
        die "configure failed" "log: $BUILD/configure.log"
fi
say "building"
make -j"$(nproc)" --no-print-directory >"$BUILD/build.log" 2>&1 ||
    { tail -n 40 "$BUILD/build.log" >&2; die "the sanitizer build failed" "log: $BUILD/build.log"; }
ldd .libs/dmsc-pkcs11.so | grep libasan >/dev/null ||
    die "the module in $BUILD/obj is not built with ASan"

# Preloaded after the runtime into every wrapped tool: it initialises the
# runtime before glibc's newlocale(), bindtextdomain() and
# bind_textdomain_codeset() take their locks (why: the comment above
# SKIPPED, and the file). Readable by every user: test-p11-kit.sh runs the
# tools as nobody, and a library that cannot be read is not preloaded.
EARLY_DIR=$BUILD/preload-lib
EARLY=$EARLY_DIR/dmsc-asan-early-init.so
rm -rf "$EARLY_DIR"
mkdir -p "$EARLY_DIR"
gcc -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -o "$EARLY" "$BUILD/src/tests/sanitize/asan-early-init.c" \
    >"$BUILD/early-init.log" 2>&1 || { cat "$BUILD/early-init.log" >&2; die "building $EARLY failed"; }
chmod 755 "$EARLY_DIR" "$EARLY"

# Wrappers: the outside tool with the ASan runtime first in its process.
WRAP=$BUILD/preload-bin
rm -rf "$WRAP"
mkdir -p "$WRAP"
# wrap REAL DEST [LIB]: a script DEST that runs the program REAL so (and
# LIB preloaded after the runtime and dmsc-asan-early-init.so).
wrap() {
    # asan-tools.supp: these tools' own memory errors (each entry says
    # which). detect_leaks=0: these tools' own leaks (thousands of blocks at exit,
    # allocated where no frame pointer lets LeakSanitizer tell them from
    # the module's) would drown ours; leaks are looked for in our own
    # programs instead, which drive the same module code and finalise it.
    printf '#!/bin/sh\n# %s with the ASan runtime preloaded (tests/sanitize/run-asan.sh)\nASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0:suppressions=%s" LD_PRELOAD=%s${LD_PRELOAD:+:$LD_PRELOAD} exec %s "$@"\n' \
        "$1" "$BUILD/src/tests/sanitize/asan-tools.supp" "$LIBASAN:$EARLY${3:+:$3}" "$1" >"$2"
    chmod +x "$2"
}
for t in $WRAPPED; do
    real=$(command -v "$t") || die "'$t' is not installed (scripts/bootstrap.sh installs it)"
    wrap "$real" "$WRAP/$t"
done
[ -x "$PYTHON" ] || die "$PYTHON is not installed (scripts/bootstrap.sh installs python3-pykcs11)"
mkdir -p "$BUILD/preload-python"
# libstdc++ preloaded too: PyKCS11 is C++ (SWIG) and throws; the runtime
# finds the real __cxa_throw for its interceptor when it starts, and
# python3 itself does not link libstdc++ ("CHECK failed:
# asan_interceptors.cpp:320 real___cxa_throw != 0" at the first throw).
LIBSTDCXX=$(gcc -print-file-name=libstdc++.so.6)
[ -f "$LIBSTDCXX" ] || die "gcc's libstdc++ is missing ($LIBSTDCXX)"
wrap "$PYTHON" "$BUILD/preload-python/python3" "$LIBSTDCXX"

REPORTS=$BUILD/reports
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
# Tests run some tools as another user (test-p11-kit.sh: nobody), whose
# reports must land here too: a sanitizer that cannot open its log file
# hangs instead of reporting.
chmod 1777 "$REPORTS"
# The suppression files of the copied sources: edits to the source tree
# during a run do not reach it.
SUPP=$BUILD/src/tests/sanitize/lsan.supp
SYM=
for s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
    if command -v "$s" >/dev/null 2>&1; then SYM=:external_symbolizer_path=$(command -v "$s"); break; fi
done
# detect_leaks=1 everywhere; abort_on_error=0 so a report is an exit code
# (1), not a core dump; log_path keeps every report for the count below.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$REPORTS/asan:symbolize=1$SYM"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan$SYM"
export LSAN_OPTIONS="suppressions=$SUPP:print_suppressions=0"
export PATH="$WRAP:$PATH"
export DMSC_PYTHON=$BUILD/preload-python/python3
# Check's per-test time limits, made for the plain build: the instrumented
# scrypt and OpenSSL calls run several times slower.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
# The fuzz targets in the suite are sanitizer builds already: a short turn.
export FUZZ_SHORT_SECONDS=${FUZZ_SHORT_SECONDS:-10}

say "running make check in $BUILD/obj (tools wrapped: $WRAPPED)"
status=0
if [ $# -gt 0 ]; then
    tests="$*"
else
    # Only the words that are test paths (a Makefile regenerated on the way
    # would print its commands too).
    tests=$(make -s --no-print-directory print-tests | tr ' ' '\n' |
        grep -E '^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_./-]+$') || die "make print-tests failed"
fi
run=""
for t in $tests; do
    case " $(echo $SKIPPED) " in *" $t "*) ;; *) run="$run $t" ;; esac
done
make -j"$(nproc)" --no-print-directory check TESTS="${run# }" >"$BUILD/check.log" 2>&1 || status=$?

pass=$(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null || true)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log 2>/dev/null || true)
error=$(sed -n 's/^# ERROR: *//p' test-suite.log 2>/dev/null || true)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log 2>/dev/null || true)
failed=$((${fail:-0} + ${error:-0}))
if [ "$status" -ne 0 ]; then
    if [ -f test-suite.log ]; then
        sed -n '/^FAIL\|^ERROR/,$p' test-suite.log | head -200
    else
        tail -n 60 "$BUILD/check.log"
    fi
    [ "$failed" -gt 0 ] || failed=1
fi
# UBSan, linked beside ASan, writes to stderr whatever log_path says: its
# reports are found in the tests' logs (where the harness keeps stderr).
for l in $(grep -r -l -E --include='*.log' 'runtime error:|ERROR: (Address|Leak)Sanitizer' . 2>/dev/null || true); do
    [ "${l##*/}" = test-suite.log ] || cp "$l" "$REPORTS/log.$(echo "${l#./}" | tr / _)"
done
nrep=$(find "$REPORTS" -type f | wc -l)
if [ "$nrep" -gt 0 ]; then
    say "sanitizer reports ($nrep files in $REPORTS):"
    for r in "$REPORTS"/*; do
        printf -- '--- %s\n' "$r"
        case $r in
        */log.*) grep -E -A 20 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$r" | head -n 80 ;;
        *) head -n 80 "$r" ;;
        esac
    done
fi
say "${pass:-0} passed, $failed failed, ${skip:-0} skipped, $nrep sanitizer reports (not run here: ${SKIPPED:-none})"
[ "$status" -eq 0 ] && [ "$nrep" -eq 0 ]
