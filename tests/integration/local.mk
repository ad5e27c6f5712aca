# End-to-end tests driving the built module with real tools (pkcs11-tool,
# p11-kit, openssl). Included by the top-level Makefile.am; paths are
# relative to the top directory. The harness (AM_TESTS_ENVIRONMENT) exports
# DMSC_MODULE, DMSC_SRCDIR and DMSC_BUILDDIR; the tests find the driver at
# $DMSC_BUILDDIR/tests/integration/p11-driver.

# A generic PKCS#11 client (dlopens $DMSC_MODULE; no dmsc headers).
check_PROGRAMS += tests/integration/p11-driver
# p11-check.c/.h: the support code the drivers share (module loading,
# CKR names, the ok/FAIL checks, byte buffers read from files).
tests_integration_p11_driver_SOURCES = tests/integration/p11-driver.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_driver_CPPFLAGS = $(P11KIT_CFLAGS)
tests_integration_p11_driver_LDADD = -ldl

# A self-checking crypto client (dlopens $DMSC_MODULE; OpenSSL as the
# reference): the crypto rules pkcs11-tool cannot express.
check_PROGRAMS += tests/integration/p11-crypto-driver
tests_integration_p11_crypto_driver_SOURCES = tests/integration/p11-crypto-driver.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_crypto_driver_CPPFLAGS = $(P11KIT_CFLAGS) $(OPENSSL_CFLAGS)
tests_integration_p11_crypto_driver_LDADD = $(OPENSSL_LIBS) -ldl

INTEGRATION_TESTS = \
	tests/integration/test-pkcs11-tool-basics.sh \
	tests/integration/test-objects.sh \
	tests/integration/test-pin-lockout.sh \
	tests/integration/test-fork.sh \
	tests/integration/test-two-process.sh \
	tests/integration/test-kill9.sh \
	tests/integration/test-bad-store.sh \
	tests/integration/test-p11-kit.sh \
	tests/integration/test-crypto.sh \
	tests/integration/test-crypto-rules.sh

TESTS += $(INTEGRATION_TESTS)

EXTRA_DIST += \
	tests/integration/lib.sh \
	tests/integration/crypto-lib.sh \
	$(INTEGRATION_TESTS)
