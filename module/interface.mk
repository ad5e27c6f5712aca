# Unit tests of the PKCS#11 3.0 interface and of C_WaitForSlotEvent
# (module/interface.c, module/events.c), beside the units.
if HAVE_CHECK
check_PROGRAMS += module/test-interface
TESTS += module/test-interface
module_test_interface_SOURCES = module/test-interface.c
module_test_interface_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
module_test_interface_LDADD = libdmsc-testable.la $(SQLITE_LIBS) $(PTHREAD_LIBS) $(CHECK_LIBS)
endif
