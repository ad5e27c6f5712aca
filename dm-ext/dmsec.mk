# dm-ext/dmsec.mk: DM 1.2 session security (syncml:auth-md5,
# x-syncml-hmac) and the DM bootstrap MAC (HMAC-SHA1, NETWPIN / USERPIN /
# USERNETWPIN keys).  Included from the top Makefile.am; paths are relative
# to the top directory.  The rules and their sources: dm-ext/DMSEC.md.
#
# libdmsc-dmsec.la: OpenSSL only (no libxml2), for the module's mechanisms
# CKM_DMSC_SYNCML_AUTH_MD5, CKM_DMSC_SYNCML_HMAC_MD5 and
# CKM_DMSC_BOOTSTRAP_HMAC_SHA1.  Base64 comes from OpenSSL's
# EVP_EncodeBlock, not dm-ext/base64.c: that file is part of
# libdmsc-dmext.la, and a second copy here would clash when the module
# links both libraries.
noinst_LTLIBRARIES += libdmsc-dmsec.la
libdmsc_dmsec_la_SOURCES = dm-ext/dmsec.h dm-ext/dmsec.c
libdmsc_dmsec_la_LIBADD = $(OPENSSL_LIBS)

# A command-line front end for the integration test (never installed).
check_PROGRAMS += dm-ext/dmsec-driver
dm_ext_dmsec_driver_SOURCES = dm-ext/dmsec-driver.c
dm_ext_dmsec_driver_LDADD = libdmsc-dmsec.la $(OPENSSL_LIBS)

# Unit tests: published vectors (the SyncML "Bruce2" credential, a NowSMS
# NETWPIN MAC) and values made with the openssl command (each with its
# command in a comment), streaming against one-shot, every error path,
# and that no freed memory and no message holds a secret.
if HAVE_CHECK
check_PROGRAMS += dm-ext/test-dmsec
TESTS += dm-ext/test-dmsec
dm_ext_test_dmsec_SOURCES = dm-ext/test-dmsec.c
dm_ext_test_dmsec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
dm_ext_test_dmsec_LDADD = libdmsc-dmsec.la $(OPENSSL_LIBS) $(CHECK_LIBS)
endif

# The same formulas against the openssl command at test time, through
# dm-ext/dmsec-driver (needs openssl and base64; skips without them).
TESTS += tests/integration/test-dmsec.sh

EXTRA_DIST += \
	dm-ext/DMSEC.md \
	tests/integration/test-dmsec.sh
