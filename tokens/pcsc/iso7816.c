/*
 * The ISO 7816-4/-8 commands of the PKCS#15 backend. Everything the card
 * answers is bounded here (FCP lengths, EF sizes, chunk counts); status
 * words other than the transport's go back to the caller to judge. PINs
 * are copied into the command only, and every buffer that held one is
 * wiped before returning.
 */
#include "config.h"

#include "iso7816.h"
#include "card.h"
#include "debug.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define SW_OK 0x9000
/* READ BINARY/UPDATE BINARY with P1-P2 as the offset: 15 bits. */
#define MAX_OFFSET DMSC_ISO_MAX_OFFSET
#define READ_CHUNK 256
#define UPDATE_CHUNK 255
/* The deepest path a PKCS#15 Path holds that we follow: MF + 7 levels. */
#define MAX_PATH_LEN 16

static CK_RV send(dmsc_card *c, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t data_len,
                  size_t le, uint8_t *out, size_t cap, size_t *got, uint16_t *sw)
{
    dmsc_apdu a = { .cla = 0x00, .ins = ins, .p1 = p1, .p2 = p2, .data = data, .data_len = data_len, .le = le };
    size_t dummy;
    return dmsc_card_transmit(c, &a, out, cap, got != NULL ? got : &dummy, sw);
}

/* The card refused this form of the command (not: the file is missing). */
static bool refused_form(uint16_t sw)
{
    return sw == 0x6A86 || sw == 0x6A81 || sw == 0x6B00 || sw == 0x6A87 || sw == 0x6D00 || sw == 0x6E00;
}

CK_RV dmsc_iso_select_aid(dmsc_card *c, const uint8_t *aid, size_t len, uint16_t *sw)
{
    if (c == NULL || aid == NULL || len < 1 || len > 16 || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    /* First occurrence, FCI asked for (what most cards expect); a card
     * that refuses to return it is asked for no response data. */
    uint8_t fci[256];
    size_t got;
    CK_RV rv = send(c, 0xA4, 0x04, 0x00, aid, len, 256, fci, sizeof(fci), &got, sw);
    if (rv == CKR_OK && (*sw == 0x6A86 || *sw == 0x6700))
        rv = send(c, 0xA4, 0x04, 0x0C, aid, len, 0, NULL, 0, NULL, sw);
    return rv;
}

/* A BER length at p[*i] within n bytes; false when it runs out or is
 * longer than two bytes (no FCP is that big). */
static bool ber_length(const uint8_t *p, size_t n, size_t *i, size_t *len)
{
    if (*i >= n)
        return false;
    uint8_t b = p[(*i)++];
    if (b < 0x80) {
        *len = b;
    } else if (b == 0x81 && *i + 1 <= n) {
        *len = p[*i];
        *i += 1;
    } else if (b == 0x82 && *i + 2 <= n) {
        *len = (size_t)p[*i] << 8 | p[*i + 1];
        *i += 2;
    } else {
        return false;
    }
    return *len <= n - *i;
}

/* The EF size from an FCP (62) or FCI (6F) template: tag 80 (data bytes)
 * or else 81 (with structural information); 0 when absent or malformed. */
size_t dmsc_iso_fcp_size(const uint8_t *fcp, size_t n)
{
    size_t i = 0, len;
    if (n < 2 || (fcp[0] != 0x62 && fcp[0] != 0x6F))
        return 0;
    i = 1;
    if (!ber_length(fcp, n, &i, &len))
        return 0;
    size_t end = i + len, size80 = 0, size81 = 0;
    bool has80 = false;
    while (i < end) {
        uint8_t tag = fcp[i++];
        size_t vlen;
        if (!ber_length(fcp, end, &i, &vlen))
            return 0;
        if ((tag == 0x80 || tag == 0x81) && vlen >= 1 && vlen <= 4) {
            size_t v = 0;
            for (size_t k = 0; k < vlen; k++)
                v = v << 8 | fcp[i + k];
            if (tag == 0x80) {
                size80 = v;
                has80 = true;
            } else {
                size81 = v;
            }
        }
        i += vlen;
    }
    return has80 ? size80 : size81;
}

/* One SELECT with P1 (00 file id, 08 path from MF, 09 path from the
 * current DF) and the FCP asked for unless the card refused it before. */
static CK_RV select_one(dmsc_card *c, uint8_t p1, const uint8_t *data, size_t len, size_t *size, uint16_t *sw)
{
    uint8_t fcp[256];
    size_t got = 0;
    CK_RV rv;
    *size = 0;
    if (!c->no_fcp) {
        rv = send(c, 0xA4, p1, 0x04, data, len, 256, fcp, sizeof(fcp), &got, sw);
        if (rv != CKR_OK || !(*sw == 0x6A86 || *sw == 0x6700 || *sw == 0x6A81))
            goto done;
        c->no_fcp = true;
        dmsc_debug(DMSC_DEBUG_CARD, "SELECT: the card returns no FCP (%s); size from reading to the end",
                   dmsc_apdu_sw_text(*sw));
        /* Whatever came with the refusal is no FCP of the file selected
         * next: it must not bound the reads of that file. */
        got = 0;
    }
    rv = send(c, 0xA4, p1, 0x0C, data, len, 0, NULL, 0, NULL, sw);
done:
    if (rv == CKR_OK && *sw == SW_OK && got > 0)
        *size = dmsc_iso_fcp_size(fcp, got);
    return rv;
}

CK_RV dmsc_iso_select_path(dmsc_card *c, const uint8_t *path, size_t len, size_t *size, uint16_t *sw)
{
    if (c == NULL || path == NULL || len < 2 || len > MAX_PATH_LEN || len % 2 != 0 || size == NULL || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    *size = 0;
    bool absolute = path[0] == 0x3F && path[1] == 0x00;
    if (absolute && len == 2) /* the MF itself */
        return select_one(c, 0x00, path, 2, size, sw);

    CK_RV rv;
    if (!c->no_path_select) {
        /* From the MF the path goes without 3F00 (P1 08), else as it is
         * from the current DF (P1 09). */
        rv = absolute ? select_one(c, 0x08, path + 2, len - 2, size, sw)
                      : select_one(c, 0x09, path, len, size, sw);
        if (rv != CKR_OK || !refused_form(*sw))
            return rv;
        c->no_path_select = true;
        dmsc_debug(DMSC_DEBUG_CARD, "SELECT by path refused (%s): selecting file by file",
                   dmsc_apdu_sw_text(*sw));
    }
    /* File by file (P1 00), from the MF when the path is absolute. */
    for (size_t i = 0; i < len; i += 2) {
        rv = select_one(c, 0x00, path + i, 2, size, sw);
        if (rv != CKR_OK || *sw != SW_OK)
            return rv;
    }
    return CKR_OK;
}

bool dmsc_iso_binary_reaches(size_t offset, size_t len)
{
    return offset <= MAX_OFFSET && len <= MAX_OFFSET + 1 - offset;
}

CK_RV dmsc_iso_read_binary(dmsc_card *c, size_t offset, size_t len, uint8_t *out, size_t *got, uint16_t *sw)
{
    if (c == NULL || offset > MAX_OFFSET || len < 1 || len > 256 || out == NULL || got == NULL || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    return send(c, 0xB0, (uint8_t)(offset >> 8), (uint8_t)(offset & 0xFF), NULL, 0, len, out, len, got, sw);
}

/* Room for n more bytes after off in *buf (capacity *cap), growing it. */
static bool reserve(uint8_t **buf, size_t *cap, size_t off, size_t n)
{
    if (off + n <= *cap)
        return true;
    size_t want = *cap < 1024 ? 1024 : *cap * 2;
    if (want < off + n)
        want = off + n;
    uint8_t *p = malloc(want);
    if (p == NULL)
        return false;
    if (*buf != NULL) {
        memcpy(p, *buf, off);
        OPENSSL_cleanse(*buf, *cap);
        free(*buf);
    }
    *buf = p;
    *cap = want;
    return true;
}

CK_RV dmsc_iso_read_ef(dmsc_card *c, const uint8_t *path, size_t path_len, size_t max, uint8_t **out,
                       size_t *len, uint16_t *sw)
{
    if (c == NULL || out == NULL || len == NULL || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    *len = 0;
    size_t size;
    CK_RV rv = dmsc_iso_select_path(c, path, path_len, &size, sw);
    if (rv != CKR_OK || *sw != SW_OK)
        return rv;
    if (size > max) {
        dmsc_debug(DMSC_DEBUG_CARD, "EF of %zu bytes: more than the %zu accepted", size, max);
        return CKR_DEVICE_MEMORY;
    }
    /* Bytes past offset 0x7FFF cannot be named in P1-P2: such an EF
     * cannot be read whole. Too big for us, as above (the caller leaves
     * out what it holds), not a device error; nothing is read. */
    if (size > MAX_OFFSET + 1) {
        dmsc_debug(DMSC_DEBUG_CARD, "EF of %zu bytes: READ BINARY reaches only the first %d", size,
                   MAX_OFFSET + 1);
        return CKR_DEVICE_MEMORY;
    }
    /* Known size: read it; unknown: read until the card says end of file
     * (6B00 offset beyond, 6282 short read, or no data), then one byte
     * past max tells an EF too big from one of exactly max bytes. The
     * buffer grows with what arrives, never with what the card claims. */
    uint8_t *buf = NULL;
    size_t cap = 0, off = 0;
    size_t want = size > 0 ? size : max;
    for (;;) {
        if (size > 0 && off == size)
            break;
        size_t chunk = want - off < READ_CHUNK ? want - off : READ_CHUNK;
        bool probe = chunk == 0; /* unknown size, max bytes read */
        if (probe)
            chunk = 1;
        if (off > MAX_OFFSET) {
            /* Unknown size and data up to the last offset P1-P2 names:
             * the rest (if any) cannot be read, so the EF is too big. */
            dmsc_debug(DMSC_DEBUG_CARD, "EF of at least %zu bytes: READ BINARY reaches only the first %d", off,
                       MAX_OFFSET + 1);
            rv = CKR_DEVICE_MEMORY;
            break;
        }
        if (!reserve(&buf, &cap, off, chunk)) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        size_t n = 0;
        rv = dmsc_iso_read_binary(c, off, chunk, buf + off, &n, sw);
        if (rv != CKR_OK)
            break;
        if (probe && n > 0) { /* whatever the status word says */
            dmsc_debug(DMSC_DEBUG_CARD, "EF longer than the %zu bytes accepted", max);
            rv = CKR_DEVICE_MEMORY;
            break;
        }
        off += n;
        if (*sw == SW_OK && n > 0)
            continue;
        if (*sw == SW_OK || *sw == 0x6282 || (*sw == 0x6B00 && size == 0))
            *sw = SW_OK; /* end of file */
        break;           /* or the card's refusal, for the caller */
    }
    if (rv != CKR_OK || *sw != SW_OK) {
        if (buf != NULL)
            OPENSSL_cleanse(buf, cap);
        free(buf);
        return rv;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return CKR_HOST_MEMORY;
    *out = buf;
    *len = off;
    return CKR_OK;
}

CK_RV dmsc_iso_read_record(dmsc_card *c, uint8_t rec, uint8_t *out, size_t cap, size_t *got, uint16_t *sw)
{
    if (c == NULL || rec == 0 || rec == 0xFF || (out == NULL && cap > 0) || got == NULL || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    /* P2 04: record number rec in P1, the current EF. */
    return send(c, 0xB2, rec, 0x04, NULL, 0, cap < 256 && cap > 0 ? cap : 256, out, cap, got, sw);
}

CK_RV dmsc_iso_update_binary(dmsc_card *c, size_t offset, const uint8_t *data, size_t len, uint16_t *sw)
{
    if (c == NULL || (data == NULL && len > 0) || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    /* Every chunk must start at an offset P1-P2 can hold. */
    if (len > 0 && (offset > MAX_OFFSET || len > MAX_OFFSET + UPDATE_CHUNK ||
                    offset + (len - 1) / UPDATE_CHUNK * UPDATE_CHUNK > MAX_OFFSET))
        return CKR_ARGUMENTS_BAD;
    *sw = SW_OK;
    for (size_t done = 0; done < len;) {
        size_t chunk = len - done < UPDATE_CHUNK ? len - done : UPDATE_CHUNK;
        size_t at = offset + done;
        CK_RV rv = send(c, 0xD6, (uint8_t)(at >> 8), (uint8_t)(at & 0xFF), data + done, chunk, 0, NULL, 0, NULL, sw);
        if (rv != CKR_OK || *sw != SW_OK)
            return rv;
        done += chunk;
    }
    return CKR_OK;
}

CK_RV dmsc_iso_verify(dmsc_card *c, uint8_t ref, const uint8_t *pin, size_t len, uint16_t *sw)
{
    if (c == NULL || (pin == NULL && len > 0) || len > 255 || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    return send(c, 0x20, 0x00, ref, pin, len, 0, NULL, 0, NULL, sw);
}

/* INS with P1 00 and a || b, or P1 01 and a alone when b is empty (CHANGE:
 * new only, no old; RESET RETRY: PUK only, the PIN unchanged). */
static CK_RV send_two_secrets(dmsc_card *c, uint8_t ins, uint8_t ref, const uint8_t *a, size_t a_len,
                              const uint8_t *b, size_t b_len, uint16_t *sw)
{
    if (c == NULL || (a == NULL && a_len > 0) || (b == NULL && b_len > 0) || a_len > 255 || b_len > 255 ||
        a_len + b_len > 255 || a_len + b_len == 0 || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    uint8_t data[255];
    memcpy(data, a, a_len);
    if (b_len > 0)
        memcpy(data + a_len, b, b_len);
    CK_RV rv = send(c, ins, b_len > 0 ? 0x00 : 0x01, ref, data, a_len + b_len, 0, NULL, 0, NULL, sw);
    OPENSSL_cleanse(data, sizeof(data));
    return rv;
}

CK_RV dmsc_iso_change_reference_data(dmsc_card *c, uint8_t ref, const uint8_t *old_pin, size_t old_len,
                                     const uint8_t *new_pin, size_t new_len, uint16_t *sw)
{
    if (new_len == 0)
        return CKR_ARGUMENTS_BAD;
    if (old_len == 0) /* P1 01: the new PIN alone */
        return send_two_secrets(c, 0x24, ref, new_pin, new_len, NULL, 0, sw);
    return send_two_secrets(c, 0x24, ref, old_pin, old_len, new_pin, new_len, sw);
}

CK_RV dmsc_iso_reset_retry_counter(dmsc_card *c, uint8_t ref, const uint8_t *puk, size_t puk_len,
                                   const uint8_t *new_pin, size_t new_len, uint16_t *sw)
{
    if (puk_len == 0)
        return CKR_ARGUMENTS_BAD;
    return send_two_secrets(c, 0x2C, ref, puk, puk_len, new_pin, new_len, sw);
}

CK_RV dmsc_iso_mse_set_dst(dmsc_card *c, uint8_t key_ref, int alg_ref, uint16_t *sw)
{
    if (c == NULL || alg_ref > 0xFF || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    uint8_t crt[6] = { 0x84, 0x01, key_ref };
    size_t n = 3;
    if (alg_ref >= 0) {
        crt[n++] = 0x80;
        crt[n++] = 0x01;
        crt[n++] = (uint8_t)alg_ref;
    }
    return send(c, 0x22, 0x41, 0xB6, crt, n, 0, NULL, 0, NULL, sw);
}

CK_RV dmsc_iso_pso_cds(dmsc_card *c, const uint8_t *in, size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
                       uint16_t *sw)
{
    if (c == NULL || in == NULL || len < 1 || len > 255 || sig == NULL || sig_len == NULL || sw == NULL)
        return CKR_ARGUMENTS_BAD;
    return send(c, 0x2A, 0x9E, 0x9A, in, len, 256, sig, cap, sig_len, sw);
}
