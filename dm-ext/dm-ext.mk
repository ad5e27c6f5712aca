# dm-ext: the DM extension.  Included from the top Makefile.am; paths are
# relative to the top directory.
#
# libdmsc-dmext.la: the WBXML decoder for OMA DM messages (dm-ext/WBXML.md).
noinst_LTLIBRARIES += libdmsc-dmext.la
libdmsc_dmext_la_SOURCES = dm-ext/wbxml.h dm-ext/wbxml.c
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
endif

# The libFuzzer target is built by hand with clang (see its header comment);
# its seed corpus is the vectors plus a few hand-made inputs.
EXTRA_DIST += \
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
