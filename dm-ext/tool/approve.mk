# dm-ext/tool/approve.mk: firmware / software approval in the dmsc tool:
# `dmsc sign` (the MA's side), `dmsc verify`, `dmsc approve` (the device's
# side), dm-ext/APPROVAL.md.  Included from the top Makefile.am after
# tool.mk.
dmsc_SOURCES += \
	dm-ext/tool/cmd-sign.c \
	dm-ext/tool/cmd-verify.c \
	dm-ext/tool/cmd-approve.c \
	dm-ext/tool/approval.h dm-ext/tool/approval.c \
	dm-ext/tool/audit.h dm-ext/tool/audit.c \
	dm-ext/tool/pkgref.h dm-ext/tool/pkgref.c \
	dm-ext/tool/slurp.h dm-ext/tool/slurp.c \
	dm-ext/tool/trust.h dm-ext/tool/trust.c \
	dm-ext/tool/xmldsig.h dm-ext/tool/xmldsig.c
# The tool reads dmsc.conf (approve_policy, audit_log) with the module's
# own parser, so both accept the same file.
noinst_LTLIBRARIES += libdmsc-settings.la
libdmsc_settings_la_SOURCES = tokens/settings.h tokens/settings.c
dmsc_LDADD += libdmsc-settings.la

# sign / verify / approve end to end against SoftHSM (the MA's token) and
# the built module (the card), every Bad input of issue 6, the ask policy
# through a pseudo-terminal, a 2 GiB sparse package.
TESTS += tests/integration/test-approve.sh
EXTRA_DIST += tests/integration/test-approve.sh tests/integration/approve-lib.sh \
	dm-ext/APPROVAL.md

# The pieces that need no token: package references, the XML-DSig form,
# the audit record.
if HAVE_CHECK
check_PROGRAMS += dm-ext/tool/test-approval
TESTS += dm-ext/tool/test-approval
dm_ext_tool_test_approval_SOURCES = dm-ext/tool/test-approval.c \
	dm-ext/tool/pkgref.c dm-ext/tool/xmldsig.c dm-ext/tool/audit.c \
	dm-ext/tool/json-out.c
dm_ext_tool_test_approval_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS)
dm_ext_tool_test_approval_LDADD = libdmsc-dmext.la $(LIBXML2_LIBS) $(CHECK_LIBS)
endif
