# The ASan+UBSan run of the whole suite (run-asan.sh, from run-tests.sh) and
# the valgrind run by hand (run-valgrind.sh). Included by the top
# Makefile.am; paths are relative to the top directory.
EXTRA_DIST += \
	tests/sanitize/run-asan.sh \
	tests/sanitize/run-valgrind.sh \
	tests/sanitize/lsan.supp \
	tests/sanitize/asan-tools.supp \
	tests/sanitize/valgrind-tools.supp \
	tests/sanitize/asan-early-init.c \
	THREAT-MODEL.md

# Both scripts ask make for the list of tests.
print-tests:
	@echo $(TESTS)
.PHONY: print-tests
