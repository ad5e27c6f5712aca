# dm-ext/tool/tree.mk: the dmsc commands that work on the card's MOs as one
# management tree (dm-ext/mgmt-tree.h): `dmsc apply` (DM commands stored
# on the card), `dmsc diff` (card vs a device's tree), `dmsc bootstrap`
# (the card's DM bootstrap shown and exported).  Included from the top
# Makefile.am after tool.mk.
dmsc_SOURCES += \
	dm-ext/tool/card-mos.h dm-ext/tool/card-mos.c \
	dm-ext/tool/cmd-apply.c \
	dm-ext/tool/cmd-diff.c \
	dm-ext/tool/cmd-bootstrap.c

# apply and diff against the built module (MOs written and read back by
# pkcs11-tool, a WBXML message from xml2wbxml, Atomic rollback, --root,
# malformed input); bootstrap show/export of a bootstrap made with
# xml2wbxml and stored by pkcs11-tool.
DMSC_TREE_TESTS = \
	tests/integration/test-dmsc-apply.sh \
	tests/integration/test-dmsc-bootstrap.sh
TESTS += $(DMSC_TREE_TESTS)
EXTRA_DIST += $(DMSC_TREE_TESTS)
