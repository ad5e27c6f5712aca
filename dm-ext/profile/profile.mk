# dm-ext/profile: card profiles for `dmsc personalise` (README, "dmsc
# personalise").  Included from the top Makefile.am after
# dm-ext/tool/tool.mk; paths are relative to the top directory.
#
# libdmsc-profile.la: reading a profile (XML + RELAX NG schema, then the
# files it names).  The schema is built into the tool (profile-rng.c,
# generated from profile.rng with xxd) and installed for other tools.
noinst_LTLIBRARIES += libdmsc-profile.la
libdmsc_profile_la_SOURCES = \
	dm-ext/profile/profile.h \
	dm-ext/profile/profile-read.c \
	dm-ext/profile/profile-load.c
nodist_libdmsc_profile_la_SOURCES = dm-ext/profile/profile-rng.c
libdmsc_profile_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/dm-ext/profile
libdmsc_profile_la_LIBADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(OPENSSL_LIBS)

dm-ext/profile/profile-rng.c: dm-ext/profile/profile.rng
	$(AM_V_GEN)$(MKDIR_P) dm-ext/profile && { \
	  echo '/* Generated from profile.rng by dm-ext/profile/profile.mk. */'; \
	  echo '#include "profile.h"'; \
	  echo 'const unsigned char dmsc_profile_schema[] = {'; \
	  xxd -i < $(srcdir)/dm-ext/profile/profile.rng; \
	  echo '};'; \
	  echo 'const size_t dmsc_profile_schema_len = sizeof dmsc_profile_schema;'; \
	} > $@-t && mv $@-t $@
CLEANFILES += dm-ext/profile/profile-rng.c

dmscdatadir = $(datadir)/dmsc
dist_dmscdata_DATA = dm-ext/profile/profile.rng

# Short libFuzzer runs of the profile reader and the WBXML encoder.
TESTS += tests/fuzz/test-fuzz-profile.sh
EXTRA_DIST += \
	tests/fuzz/test-fuzz-profile.sh \
	dm-ext/fuzz-profile.c \
	dm-ext/fuzz-profile.dict \
	dm-ext/fuzz-wbxml-enc.c \
	dm-ext/corpus/profile/demo.xml \
	dm-ext/corpus/profile/all-items.xml \
	dm-ext/corpus/profile/dup-label.xml \
	examples/demo-card/profile.xml \
	examples/demo-card/bootstrap.xml \
	examples/demo-card/ma.cert.pem \
	examples/demo-card/DEMO-ONLY-ma.key.pem \
	examples/demo-card/mo/dmacc-operatorx.xml \
	examples/demo-card/mo/fumo.xml

# The profile reader: a valid profile's fields, every refusal with its
# file, line and rule, the secret sources.
if HAVE_CHECK
check_PROGRAMS += dm-ext/profile/test-profile
TESTS += dm-ext/profile/test-profile
dm_ext_profile_test_profile_SOURCES = dm-ext/profile/test-profile.c
dm_ext_profile_test_profile_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/dm-ext/profile
dm_ext_profile_test_profile_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
dm_ext_profile_test_profile_LDADD = libdmsc-profile.la libdmsc-dmext.la \
	$(LIBXML2_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)
endif
