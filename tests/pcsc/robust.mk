# The PC/SC backend against an awkward card (make-card.py's robustness
# options): relative paths with another application changing the current
# DF, DODF entries past READ BINARY's offsets, PINs outside the AODF's
# lengths. Included by the top-level Makefile.am.
TESTS += tests/pcsc/test-pcsc-card-robust.sh
EXTRA_DIST += tests/pcsc/test-pcsc-card-robust.sh
