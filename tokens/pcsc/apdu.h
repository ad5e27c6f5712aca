/*
 * One APDU exchange with a card, with the ISO 7816-4 transport details
 * handled in this one place: GET RESPONSE while the card answers 61xx
 * (collecting every chunk), the same command re-sent with Le = xx on
 * 6Cxx. Short APDUs only (Lc <= 255, Le <= 256): what a UICC speaks.
 */
#ifndef DMSC_PCSC_APDU_H
#define DMSC_PCSC_APDU_H

#include <p11-kit/pkcs11.h>

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* command data (Lc bytes), or NULL */
    size_t data_len;     /* 0..255 */
    size_t le;           /* expected response bytes: 0 none, 1..256 (256 is Le = 00) */
} dmsc_apdu;

/* A raw exchange: cmd out, the card's response with SW1 SW2 last in
 * resp (capacity *resp_len in, length out). CKR_OK when bytes moved. */
typedef CK_RV (*dmsc_transmit_fn)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                                  size_t *resp_len);

/* Send a; the response data (without SW1 SW2) in out (capacity cap; a
 * longer response is CKR_DEVICE_ERROR), its length in *out_len, the
 * final status word in *sw. CKR_OK means the card answered: look at *sw.
 * Any other value is what tx returned, or CKR_ARGUMENTS_BAD for an APDU
 * that cannot be encoded, or CKR_DEVICE_ERROR for a malformed answer. */
CK_RV dmsc_apdu_transmit(dmsc_transmit_fn tx, void *ctx, const dmsc_apdu *a, uint8_t *out, size_t cap,
                         size_t *out_len, uint16_t *sw);

/* "6982 security status not satisfied" and the like, for error messages. */
const char *dmsc_apdu_sw_text(uint16_t sw);

/* 63Cx: x tries left; -1 for any other status word. */
int dmsc_apdu_tries_left(uint16_t sw);

#endif
