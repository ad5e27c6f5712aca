# Several backends at once, a removable card, keys that stay on the card:
# the module over a test backend of the test's own (module/test-backends.c).
if HAVE_CHECK
check_PROGRAMS += module/test-backends
TESTS += module/test-backends
module_test_backends_SOURCES = module/test-backends.c
module_test_backends_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_backends_LDADD = libdmsc-testable.la $(OPENSSL_LIBS) $(CHECK_LIBS)
endif
