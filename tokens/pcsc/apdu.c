/*
 * Short APDUs over a raw exchange function, with the ISO 7816-4 transport
 * rules applied here and nowhere else:
 *   61xx  more data waits: GET RESPONSE (Le = xx) until the card is done,
 *         every chunk appended to the caller's buffer;
 *   6Cxx  wrong Le: the same command again with Le = xx, once.
 * The card is untrusted: every answer is bounded (SW1 SW2 present, data
 * within the buffers) and a chain must make progress, so no answer
 * sequence loops forever or writes past the caller's buffer.
 */
#include "apdu.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <string.h>

/* CLA INS P1 P2 Lc data[255] Le */
#define APDU_MAX_CMD (4 + 1 + 255 + 1)
/* data[256] SW1 SW2 */
#define APDU_MAX_RESP (256 + 2)

/* Encode a as a short APDU (ISO 7816-3 cases 1 to 4); 0 when it cannot be. */
static size_t encode(const dmsc_apdu *a, uint8_t *cmd)
{
    if (a->data_len > 255 || a->le > 256 || (a->data_len > 0 && a->data == NULL))
        return 0;
    size_t n = 0;
    cmd[n++] = a->cla;
    cmd[n++] = a->ins;
    cmd[n++] = a->p1;
    cmd[n++] = a->p2;
    if (a->data_len > 0) {
        cmd[n++] = (uint8_t)a->data_len;
        memcpy(cmd + n, a->data, a->data_len);
        n += a->data_len;
    }
    if (a->le > 0)
        cmd[n++] = (uint8_t)(a->le & 0xFF); /* 256 is 00 */
    return n;
}

/* GET RESPONSE goes on the command's logical channel. */
static uint8_t get_response_cla(uint8_t cla)
{
    if (cla == 0xA0) /* GSM class: the SIM answers only in its own class */
        return cla;
    if (cla & 0x40) /* further interindustry: channels 4..19 */
        return (uint8_t)(0x40 | (cla & 0x0F));
    return (uint8_t)(cla & 0x03);
}

/* One raw exchange; the answer checked for SW1 SW2 and its bound. */
static CK_RV exchange(dmsc_transmit_fn tx, void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                      size_t *resp_len)
{
    size_t n = APDU_MAX_RESP;
    CK_RV rv = tx(ctx, cmd, cmd_len, resp, &n);
    if (rv != CKR_OK)
        return rv;
    if (n < 2 || n > APDU_MAX_RESP)
        return CKR_DEVICE_ERROR;
    *resp_len = n;
    return CKR_OK;
}

CK_RV dmsc_apdu_transmit(dmsc_transmit_fn tx, void *ctx, const dmsc_apdu *a, uint8_t *out, size_t cap,
                         size_t *out_len, uint16_t *sw)
{
    if (tx == NULL || a == NULL || out_len == NULL || sw == NULL || (out == NULL && cap > 0))
        return CKR_ARGUMENTS_BAD;
    *out_len = 0;
    *sw = 0;

    uint8_t cmd[APDU_MAX_CMD];
    uint8_t resp[APDU_MAX_RESP];
    dmsc_apdu cur = *a; /* what is sent next: a, a with a new Le, GET RESPONSE */
    size_t cmd_len = encode(&cur, cmd);
    if (cmd_len == 0)
        return CKR_ARGUMENTS_BAD;

    CK_RV rv;
    size_t got = 0, resp_len = 0;
    bool resent = false;
    bool chaining = false; /* cur is a GET RESPONSE */
    for (;;) {
        rv = exchange(tx, ctx, cmd, cmd_len, resp, &resp_len);
        if (rv != CKR_OK)
            break;
        size_t data_len = resp_len - 2;
        uint8_t sw1 = resp[data_len], sw2 = resp[data_len + 1];

        if (sw1 == 0x6C && !resent) {
            /* Wrong Le: the same command (or GET RESPONSE) again with
             * Le = xx; whatever came with the 6Cxx is not the answer. */
            resent = true;
            cur.le = sw2 == 0 ? 256 : sw2;
            cmd_len = encode(&cur, cmd);
            continue;
        }
        if (data_len > cap - got) {
            rv = CKR_DEVICE_ERROR; /* more than the caller's buffer holds */
            break;
        }
        if (data_len > 0) {
            memcpy(out + got, resp, data_len);
            got += data_len;
        }
        if (sw1 == 0x61) {
            /* A GET RESPONSE that says "more" and gives nothing makes no
             * progress: a card looping on it is broken. With progress, the
             * chain ends within cap bytes. */
            if (chaining && data_len == 0) {
                rv = CKR_DEVICE_ERROR;
                break;
            }
            chaining = true;
            cur = (dmsc_apdu){ .cla = get_response_cla(a->cla), .ins = 0xC0, .le = sw2 == 0 ? 256 : sw2 };
            cmd_len = encode(&cur, cmd);
            continue;
        }
        *sw = (uint16_t)(sw1 << 8 | sw2);
        break;
    }
    /* The command may carry a PIN (VERIFY, CHANGE/RESET RETRY): wipe it. */
    OPENSSL_cleanse(cmd, sizeof(cmd));
    OPENSSL_cleanse(resp, sizeof(resp));
    if (rv != CKR_OK) {
        *sw = 0;
        return rv;
    }
    *out_len = got;
    return CKR_OK;
}

static const struct {
    uint16_t sw;
    const char *text;
} sw_texts[] = {
    { 0x9000, "9000 success" },
    { 0x6281, "6281 part of returned data may be corrupted" },
    { 0x6282, "6282 end of file reached before reading Le bytes" },
    { 0x6283, "6283 selected file deactivated" },
    { 0x6284, "6284 file control information not formatted" },
    { 0x6581, "6581 memory failure" },
    { 0x6700, "6700 wrong length" },
    { 0x6881, "6881 logical channel not supported" },
    { 0x6882, "6882 secure messaging not supported" },
    { 0x6981, "6981 command incompatible with file structure" },
    { 0x6982, "6982 security status not satisfied" },
    { 0x6983, "6983 authentication method blocked" },
    { 0x6984, "6984 reference data not usable" },
    { 0x6985, "6985 conditions of use not satisfied" },
    { 0x6986, "6986 command not allowed (no current EF)" },
    { 0x6A80, "6A80 incorrect parameters in the data field" },
    { 0x6A81, "6A81 function not supported" },
    { 0x6A82, "6A82 file or application not found" },
    { 0x6A83, "6A83 record not found" },
    { 0x6A84, "6A84 not enough memory space in the file" },
    { 0x6A86, "6A86 incorrect parameters P1-P2" },
    { 0x6A87, "6A87 Lc inconsistent with P1-P2" },
    { 0x6A88, "6A88 referenced data not found" },
    { 0x6B00, "6B00 wrong parameters P1-P2 (offset outside the EF)" },
    { 0x6D00, "6D00 instruction not supported" },
    { 0x6E00, "6E00 class not supported" },
    { 0x6F00, "6F00 no precise diagnosis" },
};

const char *dmsc_apdu_sw_text(uint16_t sw)
{
    for (size_t i = 0; i < sizeof(sw_texts) / sizeof(sw_texts[0]); i++)
        if (sw_texts[i].sw == sw)
            return sw_texts[i].text;
    if ((sw & 0xFFF0) == 0x63C0) {
        static const char *const tries[16] = {
            "63C0 verification failed, no try left", "63C1 verification failed, 1 try left",
            "63C2 verification failed, 2 tries left", "63C3 verification failed, 3 tries left",
            "63C4 verification failed, 4 tries left", "63C5 verification failed, 5 tries left",
            "63C6 verification failed, 6 tries left", "63C7 verification failed, 7 tries left",
            "63C8 verification failed, 8 tries left", "63C9 verification failed, 9 tries left",
            "63CA verification failed, 10 tries left", "63CB verification failed, 11 tries left",
            "63CC verification failed, 12 tries left", "63CD verification failed, 13 tries left",
            "63CE verification failed, 14 tries left", "63CF verification failed, 15 tries left",
        };
        return tries[sw & 0x0F];
    }
    switch (sw >> 8) {
    case 0x61: return "61xx more response bytes available";
    case 0x62: return "62xx warning, the card state is unchanged";
    case 0x63: return "63xx warning, the card state has changed";
    case 0x64: return "64xx execution error, the card state is unchanged";
    case 0x65: return "65xx execution error, the card state has changed";
    case 0x67: return "67xx wrong length";
    case 0x68: return "68xx function in CLA not supported";
    case 0x69: return "69xx command not allowed";
    case 0x6A: return "6Axx wrong parameters";
    case 0x6C: return "6Cxx wrong Le";
    case 0x6F: return "6Fxx no precise diagnosis";
    default: return "unknown status word";
    }
}

int dmsc_apdu_tries_left(uint16_t sw)
{
    return (sw & 0xFFF0) == 0x63C0 ? (int)(sw & 0x0F) : -1;
}
