# Crash consistency, concurrency and PIN/secret tests. Included by the top
# Makefile.am; paths are relative to the top directory.

# The writers and checkers of the crash and soak tests (dlopens
# $DMSC_MODULE; see the header of p11-stress.c).
check_PROGRAMS += tests/integration/p11-stress
tests_integration_p11_stress_SOURCES = tests/integration/p11-stress.c \
	tests/integration/p11-check.c tests/integration/p11-check.h
tests_integration_p11_stress_CPPFLAGS = $(P11KIT_CFLAGS)
tests_integration_p11_stress_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_integration_p11_stress_LDADD = $(PTHREAD_LIBS) -ldl

STRESS_TESTS = \
	tests/integration/test-crash-consistency.sh \
	tests/integration/test-soak.sh \
	tests/integration/test-pin-secrets.sh
TESTS += $(STRESS_TESTS)

EXTRA_DIST += $(STRESS_TESTS)

