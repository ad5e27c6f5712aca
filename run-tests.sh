#!/bin/sh
# dmsc test suite: installs what is missing, builds with warnings as errors,
# and runs every unit and integration test (make check).
set -eu
cd "$(dirname "$0")"
./scripts/bootstrap.sh

echo "==> Running the test suite (make check)"
status=0
make -j"$(nproc)" --no-print-directory check || status=$?

# Show what failed, then one closing line with the counts.
if [ -f test-suite.log ]; then
    if [ "$status" -ne 0 ]; then
        sed -n '/^FAIL\|^ERROR/,$p' test-suite.log | head -200
    fi
    pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
    fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
    error=$(sed -n 's/^# ERROR: *//p' test-suite.log)
    skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
    echo "tests: ${pass:-0} passed, $(( ${fail:-0} + ${error:-0} )) failed, ${skip:-0} skipped"
fi
exit "$status"
