# dm-ext/tool: the `dmsc` command-line tool (DESIGN.md, "The dmsc tool").
# Included from the top Makefile.am; paths are relative to the top
# directory.  One command per cmd-NAME.c (see dm-ext/tool/commands.h).
#
# Nothing else installs a program, so bin_PROGRAMS starts here; a later
# fragment adds its own with +=.
bin_PROGRAMS =
bin_PROGRAMS += dmsc
dmsc_SOURCES = \
	dm-ext/tool/commands.h \
	dm-ext/tool/dmsc.c \
	dm-ext/tool/cmd-canon.c
dmsc_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(OPENSSL_LIBS)

# `dmsc canon` against the canonical-form vectors, real sha256sum, large
# opaque input through stdin with bounded memory, and its errors.
TESTS += tests/integration/test-dmsc-canon.sh
EXTRA_DIST += tests/integration/test-dmsc-canon.sh
