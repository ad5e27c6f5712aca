#!/bin/bash
# Valgrind memcheck of the integration tests, by hand (slow: every PIN
# check is a 32 MiB scrypt under valgrind):
#
#   tests/sanitize/run-valgrind.sh                 every tests/integration test
#   tests/sanitize/run-valgrind.sh tests/integration/test-objects.sh ...
#
# Runs in the configured source tree (./scripts/bootstrap.sh first). The
# tools that load the module (pkcs11-tool, p11tool, certtool, openssl) and our test
# drivers are started under `valgrind --tool=memcheck` through wrappers put
# first in PATH (and P11_DRIVER for p11-driver); each process writes its
# report to a file in a temporary directory. Leak checking is off for the
# outside tools (their own leaks at exit), on (definite leaks) for our
# drivers. Prints "valgrind: N passed, N failed, N processes with errors"
# and the reports with errors; exits 0 only when all passed and none.
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
VG="valgrind --tool=memcheck -q --error-exitcode=99 --track-origins=yes --log-file=$WORK/logs/vg.%p"
VG_TOOLS="--suppressions=$SRC/tests/sanitize/valgrind-tools.supp"
for t in pkcs11-tool p11tool certtool openssl; do
    printf '#!/bin/sh\nexec %s %s --leak-check=no %s "$@"\n' "$VG" "$VG_TOOLS" "$(command -v "$t")" >"$WORK/bin/$t"
    chmod +x "$WORK/bin/$t"
done
printf '#!/bin/sh\nexec %s --leak-check=full --errors-for-leak-kinds=definite %s "$@"\n' \
    "$VG" "$SRC/tests/integration/p11-driver" >"$WORK/bin/p11-driver"
chmod +x "$WORK/bin/p11-driver"

make -s check TESTS= >/dev/null # builds the drivers
if [ $# -gt 0 ]; then
    tests="$*"
else
    tests=$(make -s --no-print-directory print-tests | tr ' ' '\n' | grep -E '^tests/integration/[A-Za-z0-9_./-]+$' | tr '\n' ' ')
fi
status=0
PATH="$WORK/bin:$PATH" P11_DRIVER="$WORK/bin/p11-driver" P11_TIMEOUT=1200 \
    make -s check TESTS="$tests" >"$WORK/check.log" 2>&1 || status=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(( $(sed -n 's/^# FAIL: *//p' test-suite.log) + $(sed -n 's/^# ERROR: *//p' test-suite.log) ))
[ "$status" -eq 0 ] || sed -n '/^FAIL\|^ERROR/,$p' test-suite.log | head -100
bad=0
for f in "$WORK"/logs/vg.*; do
    [ -s "$f" ] || continue
    bad=$((bad + 1))
    printf -- '--- %s\n' "$f"
    head -n 60 "$f"
done
echo "valgrind: ${pass:-0} passed, $fail failed, $bad processes with errors ($(find "$WORK/logs" -type f | wc -l) processes checked)"
[ "$status" -eq 0 ] && [ "$bad" -eq 0 ]
