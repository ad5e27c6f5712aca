# dm-ext: the DM extension.  Included from the top Makefile.am; paths are
# relative to the top directory.
#
# libdmsc-dmext.la: the WBXML decoder for OMA DM messages (dm-ext/WBXML.md)
# and its encoder (the same code-page tables, wbxml-pages.c),
# the DM message reader and the canonical form (dm-ext/CANON.md): written
# from the reader's events (canon-events.c), with the tree path (canon.c)
# kept as the reference the differential test and fuzzer compare with.
noinst_LTLIBRARIES += libdmsc-dmext.la
libdmsc_dmext_la_SOURCES = dm-ext/wbxml.h dm-ext/wbxml.c \
	dm-ext/wbxml-pages.h dm-ext/wbxml-pages.c \
	dm-ext/wbxml-enc.h dm-ext/wbxml-enc.c \
	dm-ext/base64.h dm-ext/base64.c \
	dm-ext/dmevents.h \
	dm-ext/dmmsg.h dm-ext/dmmsg.c \
	dm-ext/canon.h dm-ext/canon.c \
	dm-ext/canon-events.h dm-ext/canon-events.c
libdmsc_dmext_la_CFLAGS = $(AM_CFLAGS) $(LIBXML2_CFLAGS)
libdmsc_dmext_la_LIBADD = $(LIBXML2_LIBS)

# Round trips against libwbxml's encoder (vectors made with xml2wbxml, see
# dm-ext/vectors/README) and every error path.  The vectors are found via
# DMSC_SRCDIR (AM_TESTS_ENVIRONMENT) or, run by hand, the path built in.
if HAVE_CHECK
check_PROGRAMS += dm-ext/test-wbxml
TESTS += dm-ext/test-wbxml
dm_ext_test_wbxml_SOURCES = dm-ext/test-wbxml.c
dm_ext_test_wbxml_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_DMEXT_VECTORS='"$(abs_top_srcdir)/dm-ext/vectors"'
dm_ext_test_wbxml_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# base64's table-driven fast paths against the decoder they replaced, for
# random inputs of every length 0..300 in many spellings and an invalid
# character at every position.
check_PROGRAMS += dm-ext/test-base64
TESTS += dm-ext/test-base64
dm_ext_test_base64_SOURCES = dm-ext/test-base64.c
dm_ext_test_base64_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
dm_ext_test_base64_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# The WBXML encoder: every XML vector encoded, decoded again, gives the
# canonical form of the XML and of libwbxml's encoding; header bytes,
# whitespace, and every refusal.
check_PROGRAMS += dm-ext/test-wbxml-enc
TESTS += dm-ext/test-wbxml-enc
dm_ext_test_wbxml_enc_SOURCES = dm-ext/test-wbxml-enc.c
dm_ext_test_wbxml_enc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_DMEXT_VECTORS='"$(abs_top_srcdir)/dm-ext/vectors"'
dm_ext_test_wbxml_enc_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# The canonical form: the vector groups of dm-ext/vectors/canon (see its
# README) give their committed .c14n byte for byte; the rules, streaming
# and every error path of the reader and the canonicaliser.
check_PROGRAMS += dm-ext/test-canon
TESTS += dm-ext/test-canon
dm_ext_test_canon_SOURCES = dm-ext/test-canon.c
dm_ext_test_canon_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_DMEXT_VECTORS='"$(abs_top_srcdir)/dm-ext/vectors"'
dm_ext_test_canon_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# The event path of the canonical form (canon-events.c) against the tree
# path it replaced, kept as the reference: every vector and seed input,
# cut short and with bytes changed, and hand-made corner cases; same bytes
# or the same refusal.
check_PROGRAMS += dm-ext/test-canon-diff
TESTS += dm-ext/test-canon-diff
dm_ext_test_canon_diff_SOURCES = dm-ext/test-canon-diff.c
dm_ext_test_canon_diff_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_DMEXT_VECTORS='"$(abs_top_srcdir)/dm-ext/vectors"'
dm_ext_test_canon_diff_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)
endif

# The libFuzzer targets are built by hand with clang (see their header
# comments); their seed corpora are the vectors plus a few hand-made inputs.
EXTRA_DIST += \
	dm-ext/CANON.md \
	dm-ext/fuzz-canon.c \
	dm-ext/fuzz-canon-diff.c \
	dm-ext/fuzz-canon.dict \
	dm-ext/corpus/canon/attrs.a.xml \
	dm-ext/corpus/canon/attrs.b.xml \
	dm-ext/corpus/canon/attrs.wbxml \
	dm-ext/corpus/canon/binary.b64.wbxml \
	dm-ext/corpus/canon/binary.bin.wbxml \
	dm-ext/corpus/canon/binary.compact.xml \
	dm-ext/corpus/canon/binary.xml \
	dm-ext/corpus/canon/crash-utf7-offset.xml \
	dm-ext/corpus/canon/crash-utf8-lead.wbxml \
	dm-ext/corpus/canon/dm11-replace.xml \
	dm-ext/corpus/canon/dm12-bootstrap.wbxml \
	dm-ext/corpus/canon/dm12-bootstrap.xml \
	dm-ext/corpus/canon/dm12-commands.xml \
	dm-ext/corpus/canon/dm12-tnds-in-data.wbxml \
	dm-ext/corpus/canon/dm12-tnds-in-data.xml \
	dm-ext/corpus/canon/hand-bin-opaque.wbxml \
	dm-ext/corpus/canon/hand-nested-formats.xml \
	dm-ext/corpus/canon/hand-opaque.bin \
	dm-ext/corpus/canon/hand-tnds-bin.wbxml \
	dm-ext/corpus/canon/hand-tnds-values.xml \
	dm-ext/corpus/canon/hand-xxe.xml \
	dm-ext/corpus/canon/inherit.b64.wbxml \
	dm-ext/corpus/canon/inherit.bin.wbxml \
	dm-ext/corpus/canon/inherit.xml \
	dm-ext/corpus/canon/replace.attrs.xml \
	dm-ext/corpus/canon/replace.comment.xml \
	dm-ext/corpus/canon/replace.compact.xml \
	dm-ext/corpus/canon/replace.crlf.xml \
	dm-ext/corpus/canon/replace.latin1.xml \
	dm-ext/corpus/canon/replace.pretty.xml \
	dm-ext/corpus/canon/replace.wbxml \
	dm-ext/corpus/canon/tnds.compact.xml \
	dm-ext/corpus/canon/tnds.wbxml \
	dm-ext/corpus/canon/tnds.xml \
	dm-ext/vectors/canon/README \
	dm-ext/vectors/canon/attrs.a.xml \
	dm-ext/vectors/canon/attrs.b.xml \
	dm-ext/vectors/canon/attrs.c14n \
	dm-ext/vectors/canon/attrs.wbxml \
	dm-ext/vectors/canon/binary.b64.wbxml \
	dm-ext/vectors/canon/binary.bin.wbxml \
	dm-ext/vectors/canon/binary.bin.xml \
	dm-ext/vectors/canon/binary.c14n \
	dm-ext/vectors/canon/binary.compact.xml \
	dm-ext/vectors/canon/binary.xml \
	dm-ext/vectors/canon/inherit.b64.wbxml \
	dm-ext/vectors/canon/inherit.bin.wbxml \
	dm-ext/vectors/canon/inherit.bin.xml \
	dm-ext/vectors/canon/inherit.c14n \
	dm-ext/vectors/canon/inherit.compact.xml \
	dm-ext/vectors/canon/inherit.xml \
	dm-ext/vectors/canon/make-vectors.py \
	dm-ext/vectors/canon/replace.attrs.xml \
	dm-ext/vectors/canon/replace.c14n \
	dm-ext/vectors/canon/replace.cmdid-4.c14n \
	dm-ext/vectors/canon/replace.comment.xml \
	dm-ext/vectors/canon/replace.compact.xml \
	dm-ext/vectors/canon/replace.crlf.xml \
	dm-ext/vectors/canon/replace.latin1.xml \
	dm-ext/vectors/canon/replace.pretty.xml \
	dm-ext/vectors/canon/replace.syncbody.c14n \
	dm-ext/vectors/canon/replace.wbxml \
	dm-ext/vectors/canon/tnds.c14n \
	dm-ext/vectors/canon/tnds.compact.xml \
	dm-ext/vectors/canon/tnds.wbxml \
	dm-ext/vectors/canon/tnds.xml \
	dm-ext/WBXML.md \
	dm-ext/fuzz-wbxml.c \
	dm-ext/fuzz-wbxml.dict \
	dm-ext/vectors/README \
	dm-ext/corpus/wbxml/all-tags-dmddf12.wbxml \
	dm-ext/corpus/wbxml/all-tags-syncml11.wbxml \
	dm-ext/corpus/wbxml/all-tags-syncml12.wbxml \
	dm-ext/corpus/wbxml/dm11-replace.wbxml \
	dm-ext/corpus/wbxml/dm12-bootstrap.v12.wbxml \
	dm-ext/corpus/wbxml/dm12-bootstrap.wbxml \
	dm-ext/corpus/wbxml/dm12-commands.wbxml \
	dm-ext/corpus/wbxml/dm12-replace.v11.wbxml \
	dm-ext/corpus/wbxml/dm12-replace.wbxml \
	dm-ext/corpus/wbxml/dm12-tnds-in-data.wbxml \
	dm-ext/corpus/wbxml/dm12-tnds.wbxml \
	dm-ext/corpus/wbxml/hand-attributes.wbxml \
	dm-ext/corpus/wbxml/hand-binary-data.wbxml \
	dm-ext/corpus/wbxml/hand-embedded-then-blanks.wbxml \
	dm-ext/corpus/wbxml/hand-entities.wbxml \
	dm-ext/corpus/wbxml/hand-inline-ddf.wbxml \
	dm-ext/corpus/wbxml/hand-metinf-page0.wbxml \
	dm-ext/corpus/wbxml/hand-namespaces.wbxml \
	dm-ext/corpus/wbxml/metinf12.wbxml \
	dm-ext/vectors/all-tags-dmddf12.wbxml \
	dm-ext/vectors/all-tags-dmddf12.xml \
	dm-ext/vectors/all-tags-syncml11.wbxml \
	dm-ext/vectors/all-tags-syncml11.xml \
	dm-ext/vectors/all-tags-syncml12.wbxml \
	dm-ext/vectors/all-tags-syncml12.xml \
	dm-ext/vectors/dm11-replace.wbxml \
	dm-ext/vectors/dm11-replace.xml \
	dm-ext/vectors/dm12-bootstrap.v12.wbxml \
	dm-ext/vectors/dm12-bootstrap.wbxml \
	dm-ext/vectors/dm12-bootstrap.xml \
	dm-ext/vectors/dm12-commands.wbxml \
	dm-ext/vectors/dm12-commands.xml \
	dm-ext/vectors/dm12-replace.v11.wbxml \
	dm-ext/vectors/dm12-replace.wbxml \
	dm-ext/vectors/dm12-replace.xml \
	dm-ext/vectors/dm12-tnds-in-data.wbxml \
	dm-ext/vectors/dm12-tnds-in-data.xml \
	dm-ext/vectors/dm12-tnds.wbxml \
	dm-ext/vectors/dm12-tnds.xml \
	dm-ext/vectors/metinf12.wbxml \
	dm-ext/vectors/metinf12.xml
