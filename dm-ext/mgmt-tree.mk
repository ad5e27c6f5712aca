# dm-ext/mgmt-tree.mk: the management tree (TNDS), the DM command engine, and
# the tree to MO objects mapping.
# Included from the top Makefile.am after dm-ext/dm-ext.mk; paths are
# relative to the top directory.
libdmsc_dmext_la_SOURCES += \
	dm-ext/mgmt-tree.h dm-ext/mgmt-tree.c \
	dm-ext/tnds-diff.h dm-ext/tnds-diff.c \
	dm-ext/dmcmd.h dm-ext/dmcmd.c \
	dm-ext/mo-map.h dm-ext/mo-map.c

if HAVE_CHECK
# The tree: reading every TNDS rule (and the error naming line and rule),
# writing back byte for byte, URIs, add/replace/delete and their refusals,
# the diff.
check_PROGRAMS += dm-ext/test-mgmt-tree
TESTS += dm-ext/test-mgmt-tree
dm_ext_test_mgmt_tree_SOURCES = dm-ext/test-mgmt-tree.c
dm_ext_test_mgmt_tree_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_DMEXT_VECTORS='"$(abs_top_srcdir)/dm-ext/vectors"'
dm_ext_test_mgmt_tree_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# The command engine: every status code it emits, Atomic roll back,
# Sequence, Get's Results, --root filtering, malformed messages.
check_PROGRAMS += dm-ext/test-dmcmd
TESTS += dm-ext/test-dmcmd
dm_ext_test_dmcmd_SOURCES = dm-ext/test-dmcmd.c
dm_ext_test_dmcmd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	-DDMSC_TOP_SRCDIR='"$(abs_top_srcdir)"'
dm_ext_test_dmcmd_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)

# Which MO object holds which nodes, and the write-back plan.
check_PROGRAMS += dm-ext/test-mo-map
TESTS += dm-ext/test-mo-map
dm_ext_test_mo_map_SOURCES = dm-ext/test-mo-map.c
dm_ext_test_mo_map_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS)
dm_ext_test_mo_map_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)
endif

# The libFuzzer targets (run by tests/fuzz) and their seed corpora.
EXTRA_DIST += \
	dm-ext/fuzz-tnds.c \
	dm-ext/fuzz-tnds.dict \
	dm-ext/fuzz-dmcmd.c \
	dm-ext/fuzz-dmcmd.dict \
	dm-ext/corpus/tnds/dm12-tnds.wbxml \
	dm-ext/corpus/tnds/dm12-tnds.xml \
	dm-ext/corpus/tnds/hand-tnds-bin.wbxml \
	dm-ext/corpus/tnds/hand-tnds-values.xml \
	dm-ext/corpus/dmcmd/crash-opaque-overlong-utf8.wbxml \
	dm-ext/corpus/dmcmd/dm12-bootstrap.wbxml \
	dm-ext/corpus/dmcmd/dm12-bootstrap.xml \
	dm-ext/corpus/dmcmd/dm12-commands.wbxml \
	dm-ext/corpus/dmcmd/dm12-commands.xml \
	dm-ext/corpus/dmcmd/dm12-tnds-in-data.wbxml \
	dm-ext/corpus/dmcmd/dm12-tnds-in-data.xml \
	dm-ext/corpus/dmcmd/hand-atomic.xml
