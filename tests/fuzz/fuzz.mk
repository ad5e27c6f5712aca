# Short libFuzzer runs of the dm-ext fuzz targets (dm-ext/fuzz-*.c).
# Included from the top Makefile.am; paths are relative to the top directory.
#
# The test builds both targets with clang (-fsanitize=fuzzer,address,
# undefined) from $DMSC_SRCDIR into a temporary directory and runs each for
# 25 s over a copy of its seed corpus (dm-ext/corpus/*) with its dictionary;
# nothing is written to the source or build tree. tests/fuzz/run-fuzz.sh
# runs them for longer by hand: FUZZ_SECONDS=600 tests/fuzz/run-fuzz.sh.
# The sources, dictionaries and corpora are distributed by dm-ext/dm-ext.mk.
TESTS += tests/fuzz/test-fuzz-short.sh
EXTRA_DIST += \
	tests/fuzz/run-fuzz.sh \
	tests/fuzz/test-fuzz-short.sh
