# End-to-end tests of the PKCS#11 3.0 interface, of C_WaitForSlotEvent
# across processes, and of p11-kit (registration after make install, URIs,
# p11-kit server / p11-kit-client.so across processes). Included by the
# top-level Makefile.am; paths are relative to the top directory.

# C_WaitForSlotEvent as an application sees it (dlopens $DMSC_MODULE).
check_PROGRAMS += tests/integration/p11-event-driver
tests_integration_p11_event_driver_SOURCES = tests/integration/p11-event-driver.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_event_driver_CPPFLAGS = $(P11KIT_CFLAGS)
tests_integration_p11_event_driver_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_integration_p11_event_driver_LDADD = $(PTHREAD_LIBS) -ldl

EVENTS_V3_TESTS = \
	tests/integration/test-slot-events.sh \
	tests/integration/test-pkcs11-v3.sh \
	tests/integration/test-p11-kit-remote.sh

TESTS += $(EVENTS_V3_TESTS)
EXTRA_DIST += $(EVENTS_V3_TESTS)
