# The DM 1.2 session security mechanisms end to end through the built
# module (CKM_DMSC_SYNCML_AUTH_MD5, CKM_DMSC_SYNCML_HMAC_MD5,
# CKM_DMSC_BOOTSTRAP_HMAC_SHA1), every expected value computed by the
# openssl command at test time. Included by the top-level Makefile.am;
# paths are relative to the top directory.

# A command-line PKCS#11 client for these mechanisms (dlopens
# $DMSC_MODULE; <p11-kit/pkcs11.h> and <dmsc/pkcs11-dm.h>, no OpenSSL).
check_PROGRAMS += tests/integration/p11-dmsec-driver
tests_integration_p11_dmsec_driver_SOURCES = tests/integration/p11-dmsec-driver.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_dmsec_driver_LDADD = -ldl

TESTS += tests/integration/test-dm-session-security.sh

EXTRA_DIST += tests/integration/test-dm-session-security.sh
