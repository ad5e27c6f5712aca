# Unit tests (Check), beside the units they test.
if HAVE_CHECK
UNIT_TESTS =
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
endif
