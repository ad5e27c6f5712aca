# Unit tests (Check), beside the units they test.
if HAVE_CHECK
UNIT_TESTS = \
	module/test-attrs \
	module/test-map \
	module/test-policy \
	module/test-keys \
	tokens/vuicc/test-seal \
	module/test-module
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

module_test_attrs_SOURCES = module/test-attrs.c
module_test_attrs_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_attrs_LDADD = libdmsc-testable.la $(CHECK_LIBS)

module_test_map_SOURCES = module/test-map.c
module_test_map_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_map_LDADD = libdmsc-testable.la $(CHECK_LIBS)

module_test_policy_SOURCES = module/test-policy.c
module_test_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_policy_LDADD = libdmsc-testable.la $(OPENSSL_LIBS) $(CHECK_LIBS)

module_test_keys_SOURCES = module/test-keys.c
module_test_keys_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_keys_LDADD = libdmsc-testable.la $(OPENSSL_LIBS) $(CHECK_LIBS)

tokens_vuicc_test_seal_SOURCES = tokens/vuicc/test-seal.c
tokens_vuicc_test_seal_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tokens_vuicc_test_seal_LDADD = libdmsc-testable.la $(OPENSSL_LIBS) $(CHECK_LIBS)

# The whole module through its function list, each test on a fresh store.
module_test_module_SOURCES = module/test-module.c
module_test_module_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_module_LDADD = libdmsc-testable.la $(SQLITE_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)
endif
