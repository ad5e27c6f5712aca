#!/bin/bash
# Valgrind memcheck of the integration tests, by hand (slow: every PIN
# check is a 32 MiB scrypt under valgrind):
#
#   tests/sanitize/run-valgrind.sh                 every tests/integration and tests/pcsc test
#   tests/sanitize/run-valgrind.sh tests/integration/test-objects.sh ...
#
# Runs in the configured source tree (./scripts/bootstrap.sh first). The
# tools that load the module (pkcs11-tool, p11tool, certtool, openssl,
# p11-kit and the p11-kit-remote it starts, NSS's modutil and certutil)
# are started under `valgrind --tool=memcheck` through wrappers put first
# in PATH, and Debian's python3 (PyKCS11) through DMSC_PYTHON; our own
# programs (the dmsc tool and the test drivers) through the variables the
# tests read their path from (DMSC_TOOL, P11_DRIVER, P11_CRYPTO_DRIVER,
# P11_DM_DRIVER, P11_DMSEC_DRIVER, P11_EVENT_DRIVER, P11_STRESS,
# DMSEC_DRIVER, PCSC_PROBE). Java (test-interop-java's JVM) is not: a JVM
# under memcheck is a JIT's reports, not ours. Each process writes its
# report to a file in a temporary directory. Leak checking is off for the
# outside tools (their own leaks at exit), on (definite leaks) for our
# programs. Prints
# "valgrind: N passed, N failed, N processes with errors" and the reports
# with errors; exits 0 only when all passed and none.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }
[ -f Makefile ] || { echo "valgrind: run ./scripts/bootstrap.sh first" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-valgrind.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/logs"
chmod 1777 "$WORK/logs"
# Known bugs of the outside tools (not ours) are suppressed, each named in
# the file with its reason.
# Reports are named after the wrapped program: $WORK/logs/PROGRAM.PID.
VG="valgrind --tool=memcheck -q --error-exitcode=99 --track-origins=yes"
VG_TOOLS="--suppressions=$SRC/tests/sanitize/valgrind-tools.supp"
# p11-kit server runs each connection in a p11-kit-remote it starts: that
# child is checked too (--trace-children, for p11-kit only).
for t in pkcs11-tool p11tool certtool openssl p11-kit modutil certutil; do
    tc=
    [ "$t" = p11-kit ] && tc=--trace-children=yes
    printf '#!/bin/sh\nexec %s --log-file=%s %s %s --leak-check=no %s "$@"\n' \
        "$VG" "$WORK/logs/$t.%p" "$VG_TOOLS" "$tc" "$(command -v "$t")" >"$WORK/bin/$t"
    chmod +x "$WORK/bin/$t"
done
# ours VAR PROGRAM: PROGRAM (built, relative to the top directory) under
# valgrind with definite leaks as errors, its wrapper exported as VAR.
# Only definite leaks are shown, too (a report in the log counts as an
# error below): a forked child that initialises the module again keeps
# its parent's state, SQLite connections included, on purpose (module/
# state.c), and SQLite's page cache points into the middle of its blocks,
# which memcheck calls "possibly lost".
ours() {
    printf '#!/bin/sh\nexec %s --log-file=%s --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite %s "$@"\n' \
        "$VG" "$WORK/logs/${2##*/}.%p" "$SRC/$2" >"$WORK/bin/${2##*/}"
    chmod +x "$WORK/bin/${2##*/}"
    export "$1=$WORK/bin/${2##*/}"
}

make -s check TESTS= >/dev/null # builds the drivers
ours DMSC_TOOL dmsc
ours P11_DRIVER tests/integration/p11-driver
ours P11_CRYPTO_DRIVER tests/integration/p11-crypto-driver
ours P11_DM_DRIVER tests/integration/p11-dm-driver
ours P11_DMSEC_DRIVER tests/integration/p11-dmsec-driver
ours P11_EVENT_DRIVER tests/integration/p11-event-driver
ours P11_STRESS tests/integration/p11-stress
ours DMSEC_DRIVER dm-ext/dmsec-driver
ours PCSC_PROBE tests/pcsc/pcsc-probe
# Debian's python3 (PyKCS11 loads the module in it), through DMSC_PYTHON
# as the tests read it; PYTHONMALLOC=malloc so memcheck sees the
# interpreter's allocations (its own allocator reads memory memcheck
# cannot tell is initialised). Leak checking off, as for the other tools.
printf '#!/bin/sh\nPYTHONMALLOC=malloc exec %s --log-file=%s %s --leak-check=no /usr/bin/python3 "$@"\n' \
    "$VG" "$WORK/logs/python3.%p" "$VG_TOOLS" >"$WORK/bin/python3-valgrind"
chmod +x "$WORK/bin/python3-valgrind"
export DMSC_PYTHON=$WORK/bin/python3-valgrind
if [ $# -gt 0 ]; then
    tests="$*"
else
    tests=$(make -s --no-print-directory print-tests | tr ' ' '\n' | grep -E '^tests/(integration|pcsc)/[A-Za-z0-9_./-]+$' | tr '\n' ' ')
fi
status=0
PATH="$WORK/bin:$PATH" P11_TIMEOUT=1200 \
    make -s check TESTS="$tests" >"$WORK/check.log" 2>&1 || status=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(( $(sed -n 's/^# FAIL: *//p' test-suite.log) + $(sed -n 's/^# ERROR: *//p' test-suite.log) ))
[ "$status" -eq 0 ] || sed -n '/^FAIL\|^ERROR/,$p' test-suite.log | head -100
bad=0
for f in "$WORK"/logs/*; do
    [ -s "$f" ] || continue
    bad=$((bad + 1))
    printf -- '--- %s\n' "$f"
    head -n 60 "$f"
done
checked=$(find "$WORK/logs" -type f -printf '%f\n' | sed 's/\.[0-9]*$//' | sort | uniq -c | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
echo "valgrind: processes checked per program: ${checked:-none}"
echo "valgrind: ${pass:-0} passed, $fail failed, $bad processes with errors ($(find "$WORK/logs" -type f | wc -l) processes checked)"
[ "$status" -eq 0 ] && [ "$bad" -eq 0 ]
