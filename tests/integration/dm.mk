# End-to-end tests of the canonical-form DM mechanisms (<dmsc/pkcs11-dm.h>)
# with real tools. Included by the top-level Makefile.am; paths are relative
# to the top directory. The tests find the driver at
# $DMSC_BUILDDIR/tests/integration/p11-dm-driver and the vectors at
# $DMSC_SRCDIR/dm-ext/vectors/canon.

# A self-checking client of the DM mechanisms (dlopens $DMSC_MODULE;
# <dmsc/pkcs11-dm.h>, OpenSSL as the reference), and the signing tool
# test-dm-mechanisms.sh uses for what pkcs11-tool cannot do with them.
check_PROGRAMS += tests/integration/p11-dm-driver
tests_integration_p11_dm_driver_SOURCES = tests/integration/p11-dm-driver.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_dm_driver_CPPFLAGS = -I$(top_srcdir)/include $(P11KIT_CFLAGS) $(OPENSSL_CFLAGS)
tests_integration_p11_dm_driver_LDADD = $(OPENSSL_LIBS) -ldl

DM_INTEGRATION_TESTS = \
	tests/integration/test-dm-mechanisms.sh \
	tests/integration/test-dm-rules.sh

TESTS += $(DM_INTEGRATION_TESTS)

EXTRA_DIST += $(DM_INTEGRATION_TESTS)
