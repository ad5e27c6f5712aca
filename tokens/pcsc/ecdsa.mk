# tokens/pcsc/ecdsa.mk: ECDSA keys on a PKCS#15 card (issue 9). Included
# from the top Makefile.am right after tokens/pcsc/backend.mk; paths are
# relative to the top directory.
#  - ecdsa-sig.[ch]: a card's ECDSA answer (DER or raw r || s) into
#    PKCS#11's r || s, with its unit test
#  - tests/pcsc/test-pcsc-ecdsa.sh: an EC P-256 key on the emulated card,
#    signing through the module (pkcs11-tool), verified by openssl, for
#    both answer forms of the card
DMSC_CORE_SOURCES += tokens/pcsc/ecdsa-sig.h tokens/pcsc/ecdsa-sig.c

if HAVE_CHECK
check_PROGRAMS += tokens/pcsc/test-ecdsa-sig
TESTS += tokens/pcsc/test-ecdsa-sig
tokens_pcsc_test_ecdsa_sig_SOURCES = tokens/pcsc/test-ecdsa-sig.c tokens/pcsc/ecdsa-sig.h tokens/pcsc/ecdsa-sig.c
tokens_pcsc_test_ecdsa_sig_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tokens_pcsc_test_ecdsa_sig_LDADD = $(OPENSSL_LIBS) $(CHECK_LIBS)
endif

TESTS += tests/pcsc/test-pcsc-ecdsa.sh
EXTRA_DIST += tests/pcsc/test-pcsc-ecdsa.sh
