# End-to-end tests of the dmsc tool's card commands (status, mo) and of
# its PKCS#11 client layer (dm-ext/tool/p11-client.h), against the built
# module and SoftHSM. Included by the top-level Makefile.am; paths are
# relative to the top directory.
DMSC_CARD_TESTS = \
	tests/integration/test-dmsc-status.sh \
	tests/integration/test-dmsc-mo.sh \
	tests/integration/test-dmsc-softhsm.sh

TESTS += $(DMSC_CARD_TESTS)
EXTRA_DIST += $(DMSC_CARD_TESTS) tests/integration/dmsc-lib.sh
