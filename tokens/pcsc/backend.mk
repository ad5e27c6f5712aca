# The PC/SC backend (tokens/pcsc): a PKCS#15 DM card in a PC/SC reader as
# a token, built into the module beside the virtual UICC. It uses the
# PKCS#15 decoder (libdmsc-p15.la, tokens/pcsc/pkcs15.mk) and the PC/SC
# transport (libdmsc-pcsc-transport.la, tokens/pcsc/transport.mk).
DMSC_CORE_SOURCES += \
	tokens/pcsc/pcsc-token.h \
	tokens/pcsc/backend.c \
	tokens/pcsc/p15-card.c \
	tokens/pcsc/p15-attrs.c \
	tokens/pcsc/p15-pin.c \
	tokens/pcsc/p15-sign.c \
	tokens/pcsc/p15-write.c
DMSC_CORE_LIBS += libdmsc-p15.la libdmsc-pcsc-transport.la $(PCSC_LIBS) $(LIBTASN1_LIBS)

# The module with a PKCS#15 card in a (virtual) reader, end to end.
TESTS += tests/pcsc/test-pcsc-module.sh
EXTRA_DIST += tests/pcsc/test-pcsc-module.sh
