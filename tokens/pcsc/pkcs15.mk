# tokens/pcsc/pkcs15.mk: the PKCS#15 structures of a DM smart card, decoded
# and encoded with libtasn1 (libdmsc-p15.la), and their unit test.
# Included from the top Makefile.am; paths are relative to the top directory.
#
# The ASN.1 module tokens/pcsc/pkcs15.asn becomes libtasn1's table
# (pkcs15-asn1-tab.c, in the build tree) with asn1Parser (Debian:
# libtasn1-bin) at build time: the .asn file is the one source of truth.
noinst_LTLIBRARIES += libdmsc-p15.la
libdmsc_p15_la_SOURCES = \
	tokens/pcsc/pkcs15.h tokens/pcsc/pkcs15-int.h \
	tokens/pcsc/pkcs15.c \
	tokens/pcsc/pkcs15-der.c \
	tokens/pcsc/pkcs15-df.c \
	tokens/pcsc/pkcs15-dodf.c \
	tokens/pcsc/pkcs15-pin.c
nodist_libdmsc_p15_la_SOURCES = tokens/pcsc/pkcs15-asn1-tab.c
libdmsc_p15_la_CFLAGS = $(AM_CFLAGS) $(LIBTASN1_CFLAGS) $(PTHREAD_CFLAGS)
libdmsc_p15_la_LIBADD = $(LIBTASN1_LIBS) $(PTHREAD_LIBS)

# Written to a temporary name first: a failed asn1Parser leaves no table.
# asn1Parser says "Done." on stderr when it succeeds: shown only on failure.
tokens/pcsc/pkcs15-asn1-tab.c: $(top_srcdir)/tokens/pcsc/pkcs15.asn
	$(AM_V_GEN)$(MKDIR_P) tokens/pcsc && \
	if $(ASN1PARSER) -o $@.tmp -n dmsc_p15_asn1_tab $(top_srcdir)/tokens/pcsc/pkcs15.asn >$@.log 2>&1; then \
		rm -f $@.log && mv -f $@.tmp $@; \
	else \
		cat $@.log >&2; rm -f $@.log $@.tmp; exit 1; \
	fi
CLEANFILES += tokens/pcsc/pkcs15-asn1-tab.c tokens/pcsc/pkcs15-asn1-tab.c.tmp \
	tokens/pcsc/pkcs15-asn1-tab.c.log

# The fixtures (DER made by Python's asn1crypto, not by libtasn1) and
# their generator; tests/fuzz/fuzz-pkcs15.c uses them as its seeds.
P15_TESTDATA = \
	tokens/pcsc/testdata/make-p15-fixtures.py \
	tokens/pcsc/testdata/aodf.der \
	tokens/pcsc/testdata/cdf.der \
	tokens/pcsc/testdata/cdf-trusted.der \
	tokens/pcsc/testdata/cdf-useful.der \
	tokens/pcsc/testdata/dir.der \
	tokens/pcsc/testdata/dodf.der \
	tokens/pcsc/testdata/odf.der \
	tokens/pcsc/testdata/prkdf.der \
	tokens/pcsc/testdata/pukdf.der \
	tokens/pcsc/testdata/pukdf-trusted.der \
	tokens/pcsc/testdata/tokeninfo.der \
	tokens/pcsc/testdata/bad-id-long.der \
	tokens/pcsc/testdata/bad-keyref-big.der \
	tokens/pcsc/testdata/bad-label-long.der \
	tokens/pcsc/testdata/bad-label-nul.der \
	tokens/pcsc/testdata/bad-label-utf8.der \
	tokens/pcsc/testdata/bad-path-half-range.der \
	tokens/pcsc/testdata/bad-path-long.der \
	tokens/pcsc/testdata/bad-path-odd.der
EXTRA_DIST += tokens/pcsc/pkcs15.asn $(P15_TESTDATA)

if HAVE_CHECK
# Every decoder on the fixtures (real values), the DODF round trip,
# padding, PIN formats, and bad input (each -1 with a message, no leak).
check_PROGRAMS += tokens/pcsc/test-pkcs15
TESTS += tokens/pcsc/test-pkcs15
tokens_pcsc_test_pkcs15_SOURCES = tokens/pcsc/test-pkcs15.c
tokens_pcsc_test_pkcs15_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBTASN1_CFLAGS) \
	-DDMSC_P15_TESTDATA='"$(abs_top_srcdir)/tokens/pcsc/testdata"'
tokens_pcsc_test_pkcs15_LDADD = libdmsc-p15.la $(LIBTASN1_LIBS) $(CHECK_LIBS)
endif
