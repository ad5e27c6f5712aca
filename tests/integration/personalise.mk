# `dmsc personalise` end to end (tests/integration/test-dmsc-personalise.sh):
# the demo profile, bad profiles, re-runs, imported keys, a full card.
# Included by the top-level Makefile.am.
TESTS += tests/integration/test-dmsc-personalise.sh
EXTRA_DIST += tests/integration/test-dmsc-personalise.sh
