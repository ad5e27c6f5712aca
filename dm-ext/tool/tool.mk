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
	dm-ext/tool/cmd-canon.c \
	dm-ext/tool/cmd-status.c \
	dm-ext/tool/cmd-mo.c \
	dm-ext/tool/mo-path.h dm-ext/tool/mo-path.c \
	dm-ext/tool/read-input.h dm-ext/tool/read-input.c \
	dm-ext/tool/cmd-personalise.c \
	dm-ext/tool/personalise.h dm-ext/tool/personalise-objects.c \
	dm-ext/tool/json-out.h dm-ext/tool/json-out.c \
	dm-ext/tool/p11-client.h dm-ext/tool/p11-client-impl.h \
	dm-ext/tool/p11-client.c dm-ext/tool/p11-login.c \
	dm-ext/tool/p11-errors.c dm-ext/tool/p11-data.c \
	module/debug.h module/debug.c
# The module the tool loads by default, once installed (p11-client.h).
dmsc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/dm-ext/profile \
	-DDMSC_P11_DEFAULT_MODULE=\"$(p11moduledir)/dmsc-pkcs11.so\"
dmsc_LDADD = libdmsc-profile.la libdmsc-dmext.la $(P11KIT_LIBS) $(LIBXML2_LIBS) $(OPENSSL_LIBS)

# `dmsc canon` against the canonical-form vectors, real sha256sum, large
# opaque input through stdin with bounded memory, and its errors.
TESTS += tests/integration/test-dmsc-canon.sh
EXTRA_DIST += tests/integration/test-dmsc-canon.sh
