#!/bin/sh
# dmsc test suite: installs what is missing, builds with warnings as errors,
# and runs every unit and integration test (make check); then builds the
# project again out of tree with ASan+UBSan (_build-asan/) and runs the
# suite there (tests/sanitize/run-asan.sh). The last line counts both runs.
set -eu
cd "$(dirname "$0")"
./scripts/bootstrap.sh

echo "==> Running the test suite (make check)"
status=0
make -j"$(nproc)" --no-print-directory check || status=$?

# Show what failed, then the counts of this run.
pass=0 failed=0 skip=0
if [ -f test-suite.log ]; then
    if [ "$status" -ne 0 ]; then
        sed -n '/^FAIL\|^ERROR/,$p' test-suite.log | head -200
    fi
    pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
    fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
    error=$(sed -n 's/^# ERROR: *//p' test-suite.log)
    skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
    failed=$(( ${fail:-0} + ${error:-0} ))
    echo "in tree: ${pass:-0} passed, $failed failed, ${skip:-0} skipped"
elif [ "$status" -ne 0 ]; then
    failed=1
fi

echo "==> Running the test suite again under ASan+UBSan (tests/sanitize/run-asan.sh)"
asan_status=0
tests/sanitize/run-asan.sh >asan-run.log 2>&1 || asan_status=$?
# Its closing line: "asan: N passed, N failed, N skipped, N sanitizer reports ..."
line=$(tail -n 1 asan-run.log)
if [ "$asan_status" -ne 0 ]; then
    sed -n '/^FAIL\|^ERROR\|^asan: sanitizer reports/,$p' asan-run.log | head -300
    [ -s asan-run.log ] && tail -n 5 asan-run.log
fi
echo "$line"
a_pass=$(echo "$line" | sed -n 's/^asan: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) sanitizer.*/\1/p')
a_fail=$(echo "$line" | sed -n 's/^asan: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) sanitizer.*/\2/p')
a_skip=$(echo "$line" | sed -n 's/^asan: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) sanitizer.*/\3/p')
a_rep=$(echo "$line" | sed -n 's/^asan: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) sanitizer.*/\4/p')
if [ -z "$a_pass" ]; then
    # The run stopped before testing (build, configure): count it as one failure.
    a_pass=0 a_fail=1 a_skip=0 a_rep=0
fi
# A test that passed but left sanitizer reports counts as failed.
if [ "$a_fail" -eq 0 ] && [ "${a_rep:-0}" -gt 0 ]; then
    a_fail=1
fi
[ "$asan_status" -eq 0 ] || [ "$a_fail" -gt 0 ] || a_fail=1

echo "tests: $(( ${pass:-0} + a_pass )) passed, $(( failed + a_fail )) failed, $(( ${skip:-0} + a_skip )) skipped"
[ "$status" -eq 0 ] && [ "$asan_status" -eq 0 ]
