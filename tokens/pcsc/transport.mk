# The PC/SC transport of the card backend (issue 9): short APDUs with the
# ISO 7816-4 transport rules (apdu.c), pcsc-lite readers and cards
# (reader.c), the ISO 7816 commands (iso7816.c) over dmsc_card (card.c).
# Included from the top Makefile.am; paths relative to the top directory.
noinst_LTLIBRARIES += libdmsc-pcsc-transport.la
libdmsc_pcsc_transport_la_SOURCES = \
	tokens/pcsc/apdu.h tokens/pcsc/apdu.c \
	tokens/pcsc/card.h tokens/pcsc/card.c \
	tokens/pcsc/reader.h tokens/pcsc/reader.c \
	tokens/pcsc/iso7816.h tokens/pcsc/iso7816.c
libdmsc_pcsc_transport_la_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
libdmsc_pcsc_transport_la_LIBADD = $(PCSC_LIBS) $(OPENSSL_LIBS)

# The transport and the ISO 7816 commands against a scripted card.
if HAVE_CHECK
check_PROGRAMS += tokens/pcsc/test-apdu
TESTS += tokens/pcsc/test-apdu
tokens_pcsc_test_apdu_SOURCES = tokens/pcsc/test-apdu.c
tokens_pcsc_test_apdu_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# libdmsc-testable for the debug trace (module/debug.c).
tokens_pcsc_test_apdu_LDADD = libdmsc-pcsc-transport.la libdmsc-testable.la $(OPENSSL_LIBS) $(CHECK_LIBS)
endif

# The transport against a real pcscd, vpcd and the emulated card (the
# harness of tests/pcsc/pcsc-lib.sh): pcsc-probe drives it line by line.
check_PROGRAMS += tests/pcsc/pcsc-probe
tests_pcsc_pcsc_probe_SOURCES = tests/pcsc/pcsc-probe.c
tests_pcsc_pcsc_probe_CFLAGS = $(AM_CFLAGS) $(PCSC_CFLAGS)
tests_pcsc_pcsc_probe_LDADD = libdmsc-pcsc-transport.la libdmsc-testable.la $(PCSC_LIBS) $(OPENSSL_LIBS)
