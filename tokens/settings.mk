# The settings (tokens/settings.c): which backends, which readers.
if HAVE_CHECK
check_PROGRAMS += tokens/test-settings
TESTS += tokens/test-settings
tokens_test_settings_SOURCES = tokens/test-settings.c
tokens_test_settings_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tokens_test_settings_LDADD = libdmsc-testable.la $(CHECK_LIBS)
endif
