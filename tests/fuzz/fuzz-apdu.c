/*
 * tests/fuzz/fuzz-apdu.c - libFuzzer target where the fuzzer plays the
 * card: its bytes are the card's answers to the APDU transport
 * (tokens/pcsc/apdu.c) and the ISO 7816 commands (tokens/pcsc/iso7816.c).
 *
 * Input: one byte that bounds the EF sizes read (times 64), then the
 * answers, each a length byte n (0xFF: 255 + the next byte, so answers
 * up to 510 bytes, longer than any reader returns) and n bytes: data with
 * SW1 SW2 last, or anything. When the answers run out the card is
 * "removed" (CKR_DEVICE_REMOVED), as a real one can be at any moment.
 * Every input runs the same session a PKCS#15 backend runs: SELECT the
 * PKCS#15 AID, read EF(DIR) by absolute path and the ODF by relative
 * path (FCP sizes, short reads, end of file), VERIFY (empty and with a
 * PIN), CHANGE and RESET RETRY, UPDATE BINARY in chunks, READ RECORD,
 * MSE SET and PSO CDS. The checks: no crash, no leak, no read or write
 * outside a buffer, and what comes back stays within its bounds.
 *
 * run-fuzz.sh builds it with clang -fsanitize=fuzzer,address,undefined
 * from apdu.c, card.c, iso7816.c and module/debug.c:
 *   FUZZ_SECONDS=600 tests/fuzz/run-fuzz.sh apdu
 */
#include "config.h"

#include "pcsc/iso7816.h"
#include "pcsc/card.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} feed;

static CK_RV fuzz_card(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    feed *f = ctx;
    if (cmd_len < 4 || cmd_len > 261)
        abort(); /* the transport built a command no card takes */
    if (f->n == 0)
        return CKR_DEVICE_REMOVED;
    size_t n = f->p[0];
    f->p++;
    f->n--;
    if (n == 0xFF && f->n > 0) {
        n += f->p[0];
        f->p++;
        f->n--;
    }
    if (n > f->n)
        n = f->n;
    /* A reader never writes past the buffer: it reports the length it
     * would have needed, which the transport must refuse. */
    memcpy(resp, f->p, n < *resp_len ? n : *resp_len);
    *resp_len = n;
    f->p += n;
    f->n -= n;
    return CKR_OK;
}

static void check_ef(CK_RV rv, uint8_t *data, size_t len, size_t max)
{
    if (rv == CKR_OK && data != NULL) {
        if (len > max)
            abort();
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < len; i++)
            sum ^= data[i]; /* ASan checks every byte is inside the buffer */
        (void)sum;
    } else if (data != NULL) {
        abort(); /* no data is returned with an error */
    }
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };
    static const uint8_t dir[] = { 0x3F, 0x00, 0x2F, 0x00 };
    static const uint8_t odf[] = { 0x50, 0x31 };
    static const uint8_t pin[] = { '1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF };
    static uint8_t mo[600];
    if (size < 1)
        return 0;
    size_t max = (size_t)data[0] * 64;
    feed f = { data + 1, size - 1 };
    dmsc_card *c;
    if (dmsc_card_over_transmit(fuzz_card, &f, &c) != CKR_OK)
        return 0;

    uint16_t sw;
    uint8_t *ef;
    size_t len, got, fsize;
    uint8_t buf[300];
    CK_RV rv;
    dmsc_iso_select_aid(c, aid, sizeof(aid), &sw);
    rv = dmsc_iso_read_ef(c, dir, sizeof(dir), max, &ef, &len, &sw);
    check_ef(rv, ef, len, max);
    rv = dmsc_iso_read_ef(c, odf, sizeof(odf), max, &ef, &len, &sw);
    check_ef(rv, ef, len, max);
    if (dmsc_iso_select_path(c, odf, sizeof(odf), &fsize, &sw) == CKR_OK &&
        dmsc_iso_read_binary(c, 0, 256, buf, &got, &sw) == CKR_OK && got > 256)
        abort();
    dmsc_iso_verify(c, 0x01, NULL, 0, &sw);
    dmsc_iso_verify(c, 0x01, pin, sizeof(pin), &sw);
    dmsc_iso_change_reference_data(c, 0x01, pin, sizeof(pin), pin, sizeof(pin), &sw);
    dmsc_iso_reset_retry_counter(c, 0x01, pin, sizeof(pin), pin, sizeof(pin), &sw);
    dmsc_iso_update_binary(c, 0x10, mo, sizeof(mo), &sw);
    if (dmsc_iso_read_record(c, 1, buf, 100, &got, &sw) == CKR_OK && got > 100)
        abort();
    dmsc_iso_mse_set_dst(c, 0x02, -1, &sw);
    if (dmsc_iso_pso_cds(c, pin, sizeof(pin), buf, sizeof(buf), &got, &sw) == CKR_OK && got > sizeof(buf))
        abort();
    dmsc_card_disconnect(c);
    return 0;
}
