# The PC/SC backend (tokens/pcsc): a PKCS#15 DM card in a PC/SC reader as
# a token, built into the module beside the virtual UICC.
DMSC_CORE_SOURCES += tokens/pcsc/backend.c
