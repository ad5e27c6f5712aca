# The PC/SC test services and the emulated DM smart card (issue 9):
# make-card.py builds a card image with the PKCS#15 DM structure,
# dm-vicc.py + dmcard.py emulate the card on python3-virtualsmartcard,
# pcsc-lib.sh runs a private pcscd with vsmartcard's vpcd reader and the
# card (see its header). test-pcsc-card.sh checks the card with OpenSC
# alone; test-pcsc-transport.sh drives the transport (tokens/pcsc:
# reader.c, apdu.c, iso7816.c) through tests/pcsc/pcsc-probe (built in
# tokens/pcsc/transport.mk) against it. Included by the top-level
# Makefile.am; paths are relative to the top directory.
PCSC_CARD_TESTS = tests/pcsc/test-pcsc-card.sh tests/pcsc/test-pcsc-transport.sh

TESTS += $(PCSC_CARD_TESTS)
EXTRA_DIST += $(PCSC_CARD_TESTS) tests/pcsc/pcsc-lib.sh tests/pcsc/make-card.py \
	tests/pcsc/dm-vicc.py tests/pcsc/dmcard.py

# MO writes checked in the card's memory (card-image.py) and with OpenSC.
TESTS += tests/pcsc/test-pcsc-mo-write.sh
EXTRA_DIST += tests/pcsc/test-pcsc-mo-write.sh tests/pcsc/card-image.py
