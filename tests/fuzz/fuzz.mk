# Short libFuzzer runs: the dm-ext targets (dm-ext/fuzz-*.c), the
# PKCS#11 call-sequence target (tests/fuzz/fuzz-p11.c) and the PKCS#15
# decoder's (tests/fuzz/fuzz-pkcs15.c, seeds tokens/pcsc/testdata/*.der).
# Included from the top Makefile.am; paths are relative to the top directory.
#
# The test builds each target with clang (-fsanitize=fuzzer,address,
# undefined) from $DMSC_SRCDIR into a temporary directory and runs it for
# 25 s over a copy of its seed corpus (dm-ext/corpus/*, tests/fuzz/corpus/p11)
# with its dictionary; nothing is written to the source or build tree.
# tests/fuzz/run-fuzz.sh runs them for longer by hand:
# FUZZ_SECONDS=600 tests/fuzz/run-fuzz.sh.
# The dm-ext sources, dictionaries and corpora are distributed by
# dm-ext/dm-ext.mk.
TESTS += tests/fuzz/test-fuzz-short.sh
EXTRA_DIST += \
	tests/fuzz/run-fuzz.sh \
	tests/fuzz/test-fuzz-short.sh \
	tests/fuzz/fuzz-p11.c \
	tests/fuzz/fuzz-apdu.c \
	tests/fuzz/corpus/apdu \
	tests/fuzz/fuzz-pkcs15.c \
	tests/fuzz/fuzz-pkcs15.dict \
	tests/fuzz/make-p11-seeds.py \
	tests/fuzz/corpus/p11

# run-fuzz.sh asks for the sources the p11 target compiles in (the module's,
# the DM extension's, the PKCS#15 decoder's, whose table run-fuzz.sh
# makes with asn1Parser, and the PC/SC transport's, for the PC/SC
# backend), so the list is kept in one place: here.
print-fuzz-p11-sources:
	@echo $(DMSC_CORE_SOURCES) $(libdmsc_dmext_la_SOURCES) $(libdmsc_dmsec_la_SOURCES) \
		$(libdmsc_p15_la_SOURCES) $(libdmsc_pcsc_transport_la_SOURCES)
.PHONY: print-fuzz-p11-sources
