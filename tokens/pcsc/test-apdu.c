/*
 * The APDU transport and the ISO 7816 commands against a scripted card: a
 * dmsc_transmit_fn that answers from a table and records, as hex, every
 * command it got. Each test states the exact bytes a real card would see.
 */
#include "config.h"

#include "apdu.h"
#include "card.h"
#include "iso7816.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 64

/* One answer: fill bytes 00 01 02 ... (n_fill of them), then hex. */
typedef struct {
    size_t n_fill;
    const char *hex;
} answer;

typedef struct {
    const answer *answers;
    size_t n_answers, next;
    char cmds[MAX_STEPS][2 * 262 + 1];
    size_t n_cmds;
    size_t claim_len; /* nonzero: report this length instead (a lying reader) */
} script;

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static CK_RV scripted(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    script *s = ctx;
    ck_assert_uint_lt(s->n_cmds, MAX_STEPS);
    char *h = s->cmds[s->n_cmds++];
    for (size_t i = 0; i < cmd_len; i++)
        sprintf(h + 2 * i, "%02X", cmd[i]);
    if (s->next >= s->n_answers)
        return CKR_FUNCTION_FAILED; /* the test's script ran out: a test bug */
    const answer *a = &s->answers[s->next++];
    uint8_t buf[1024];
    size_t n = 0;
    for (; n < a->n_fill; n++)
        buf[n] = (uint8_t)n;
    n += unhex(a->hex, buf + n);
    ck_assert_uint_le(n, *resp_len);
    memcpy(resp, buf, n);
    *resp_len = s->claim_len ? s->claim_len : n;
    return CKR_OK;
}

#define SCRIPT(name, ...)                                                                               \
    static const answer name##_answers[] = { __VA_ARGS__ };                                           \
    script name = { .answers = name##_answers, .n_answers = sizeof(name##_answers) / sizeof(answer) }

static CK_RV run(script *s, const dmsc_apdu *a, uint8_t *out, size_t cap, size_t *got, uint16_t *sw)
{
    return dmsc_apdu_transmit(scripted, s, a, out, cap, got, sw);
}

static void check_filled(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(p[i], (uint8_t)i);
}

/* ---- encoding: the four short cases ---- */

START_TEST(encode_cases)
{
    static const uint8_t data[] = { 0x31, 0x32, 0x33 };
    SCRIPT(s, { 0, "9000" }, { 2, "9000" }, { 0, "9000" }, { 0, "9000" }, { 0, "9000" });
    uint8_t out[300];
    size_t got;
    uint16_t sw;
    dmsc_apdu c1 = { .cla = 0x00, .ins = 0x20, .p1 = 0x00, .p2 = 0x81 };
    dmsc_apdu c2 = { .ins = 0xB0, .p1 = 0x01, .p2 = 0x02, .le = 2 };
    dmsc_apdu c3 = { .ins = 0xD6, .data = data, .data_len = 3 };
    dmsc_apdu c4 = { .ins = 0xA4, .p1 = 0x08, .p2 = 0x04, .data = data, .data_len = 3, .le = 256 };
    dmsc_apdu c2b = { .cla = 0x80, .ins = 0xCA, .le = 255 };
    ck_assert_int_eq(run(&s, &c1, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(run(&s, &c2, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(got, 2);
    ck_assert_int_eq(run(&s, &c3, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_int_eq(run(&s, &c4, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_int_eq(run(&s, &c2b, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_str_eq(s.cmds[0], "00200081");
    ck_assert_str_eq(s.cmds[1], "00B0010202");
    ck_assert_str_eq(s.cmds[2], "00D6000003313233");
    ck_assert_str_eq(s.cmds[3], "00A4080403313233" "00");
    ck_assert_str_eq(s.cmds[4], "80CA0000FF");
}
END_TEST

START_TEST(encode_refused)
{
    static uint8_t big[256];
    SCRIPT(s, { 0, "9000" });
    uint8_t out[4];
    size_t got = 99;
    uint16_t sw = 1;
    dmsc_apdu too_long = { .ins = 0xD6, .data = big, .data_len = 256 };
    dmsc_apdu le_big = { .ins = 0xB0, .le = 257 };
    dmsc_apdu no_data = { .ins = 0xD6, .data = NULL, .data_len = 2 };
    ck_assert_int_eq(run(&s, &too_long, out, sizeof(out), &got, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_int_eq(run(&s, &le_big, out, sizeof(out), &got, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_int_eq(run(&s, &no_data, out, sizeof(out), &got, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_int_eq(run(&s, &le_big, NULL, 4, &got, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(s.n_cmds, 0); /* nothing reached the card */
    /* 255 bytes of data and Le 256 are the largest short APDU. */
    dmsc_apdu longest = { .ins = 0x2A, .data = big, .data_len = 255, .le = 256 };
    ck_assert_int_eq(run(&s, &longest, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(strlen(s.cmds[0]), 2 * (5 + 255 + 1));
}
END_TEST

/* ---- 61xx: GET RESPONSE until done ---- */

START_TEST(chain_61xx)
{
    /* T=0 style: no data with the first 61xx, then two chunks. */
    SCRIPT(s, { 0, "6110" }, { 16, "6105" }, { 5, "9000" });
    uint8_t out[64];
    size_t got;
    uint16_t sw;
    static const uint8_t aid[] = { 0xA0, 0x00 };
    dmsc_apdu a = { .ins = 0xA4, .p1 = 0x04, .data = aid, .data_len = 2, .le = 256 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(got, 21);
    check_filled(out, 16);
    check_filled(out + 16, 5);
    ck_assert_uint_eq(s.n_cmds, 3);
    ck_assert_str_eq(s.cmds[1], "00C0000010");
    ck_assert_str_eq(s.cmds[2], "00C0000005");
}
END_TEST

START_TEST(chain_61xx_with_data_and_256)
{
    /* Data with the 61xx is kept; 6100 asks for 256; the last status
     * word (here a warning) is the answer's. */
    SCRIPT(s, { 3, "6100" }, { 256, "6282" });
    uint8_t out[259];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .cla = 0x01, .ins = 0xB0, .le = 256 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6282);
    ck_assert_uint_eq(got, 259);
    check_filled(out + 3, 256);
    /* GET RESPONSE on the command's logical channel (CLA 01). */
    ck_assert_str_eq(s.cmds[1], "01C0000000");
}
END_TEST

START_TEST(chain_overflow)
{
    SCRIPT(s, { 0, "6110" }, { 16, "6110" }, { 16, "9000" });
    uint8_t out[20];
    size_t got = 7;
    uint16_t sw = 7;
    dmsc_apdu a = { .ins = 0x2A, .p1 = 0x9E, .p2 = 0x9A, .le = 256 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(sw, 0);
    ck_assert_uint_eq(s.n_cmds, 3); /* stopped at the chunk that did not fit */
}
END_TEST

START_TEST(chain_no_progress)
{
    /* A GET RESPONSE answered 61xx with no data would loop forever. */
    SCRIPT(s, { 0, "6110" }, { 0, "6110" }, { 0, "6110" });
    uint8_t out[64];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0xB0, .le = 16 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(s.n_cmds, 2);
}
END_TEST

/* ---- 6Cxx: the same command with Le = xx, once ---- */

START_TEST(resend_6cxx)
{
    SCRIPT(s, { 0, "6C08" }, { 8, "9000" }, { 0, "6C00" }, { 256, "9000" });
    uint8_t out[256];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0xB2, .p1 = 0x01, .p2 = 0x04, .le = 256 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(got, 8);
    ck_assert_str_eq(s.cmds[0], "00B2010400");
    ck_assert_str_eq(s.cmds[1], "00B2010408");
    /* A case 1 command gets an Le; 6C00 means 256. */
    dmsc_apdu c1 = { .ins = 0xCA, .p1 = 0x9F, .p2 = 0x7F };
    ck_assert_int_eq(run(&s, &c1, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(got, 256);
    ck_assert_str_eq(s.cmds[2], "00CA9F7F");
    ck_assert_str_eq(s.cmds[3], "00CA9F7F00");
}
END_TEST

START_TEST(resend_6cxx_once)
{
    SCRIPT(s, { 0, "6C08" }, { 4, "6C04" });
    uint8_t out[16];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0xB0, .le = 16 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6C04); /* the second 6Cxx is the answer */
    ck_assert_uint_eq(s.n_cmds, 2);
}
END_TEST

START_TEST(resend_6cxx_then_chain)
{
    /* Case 4 on T=0: 6Cxx to a GET RESPONSE, re-sent with the right Le. */
    static const uint8_t d[] = { 1 };
    SCRIPT(s, { 0, "6110" }, { 0, "6C0A" }, { 10, "9000" });
    uint8_t out[16];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0x88, .data = d, .data_len = 1, .le = 256 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_OK);
    ck_assert_uint_eq(got, 10);
    ck_assert_str_eq(s.cmds[1], "00C0000010");
    ck_assert_str_eq(s.cmds[2], "00C000000A");
}
END_TEST

/* ---- malformed answers ---- */

START_TEST(malformed)
{
    SCRIPT(s, { 0, "" }, { 0, "90" }, { 10, "9000" }, { 0, "9000" });
    uint8_t out[8];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0xB0, .le = 8 };
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR); /* nothing */
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR); /* SW1 only */
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR); /* 10 > 8 */
    s.claim_len = 259; /* more than the response buffer */
    ck_assert_int_eq(run(&s, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_ERROR);
}
END_TEST

static CK_RV removed(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    return CKR_DEVICE_REMOVED;
}

START_TEST(transport_error_passes)
{
    uint8_t out[8];
    size_t got;
    uint16_t sw;
    dmsc_apdu a = { .ins = 0xB0, .le = 8 };
    ck_assert_int_eq(dmsc_apdu_transmit(removed, NULL, &a, out, sizeof(out), &got, &sw), CKR_DEVICE_REMOVED);
}
END_TEST

START_TEST(sw_words)
{
    ck_assert_str_eq(dmsc_apdu_sw_text(0x9000), "9000 success");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x6982), "6982 security status not satisfied");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x6983), "6983 authentication method blocked");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x63C2), "63C2 verification failed, 2 tries left");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x6A82), "6A82 file or application not found");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x6999), "69xx command not allowed");
    ck_assert_str_eq(dmsc_apdu_sw_text(0x1234), "unknown status word");
    ck_assert_int_eq(dmsc_apdu_tries_left(0x63C0), 0);
    ck_assert_int_eq(dmsc_apdu_tries_left(0x63C3), 3);
    ck_assert_int_eq(dmsc_apdu_tries_left(0x63CF), 15);
    ck_assert_int_eq(dmsc_apdu_tries_left(0x6300), -1);
    ck_assert_int_eq(dmsc_apdu_tries_left(0x9000), -1);
    ck_assert_int_eq(dmsc_apdu_tries_left(0x6983), -1);
}
END_TEST

/* ---- the ISO 7816 commands ---- */

static dmsc_card *card_over(script *s)
{
    dmsc_card *c = NULL;
    ck_assert_int_eq(dmsc_card_over_transmit(scripted, s, &c), CKR_OK);
    return c;
}

START_TEST(fcp_sizes)
{
    static const uint8_t fcp80[] = { 0x62, 0x07, 0x82, 0x01, 0x01, 0x80, 0x02, 0x01, 0x2C, 0x00 };
    static const uint8_t fcp81[] = { 0x62, 0x04, 0x81, 0x02, 0x02, 0x00 };
    static const uint8_t both[] = { 0x62, 0x08, 0x81, 0x02, 0x02, 0x00, 0x80, 0x02, 0x00, 0x10 };
    static const uint8_t fci[] = { 0x6F, 0x03, 0x80, 0x01, 0x20 };
    static const uint8_t longform[] = { 0x62, 0x81, 0x04, 0x80, 0x02, 0x12, 0x34 };
    static const uint8_t overrun[] = { 0x62, 0x04, 0x80, 0x09, 0x01, 0x02 };
    static const uint8_t outer_overrun[] = { 0x62, 0x7F, 0x80, 0x01, 0x01 };
    static const uint8_t five_bytes[] = { 0x62, 0x07, 0x80, 0x05, 1, 2, 3, 4, 5 };
    static const uint8_t other[] = { 0x64, 0x03, 0x80, 0x01, 0x20 };
    ck_assert_uint_eq(dmsc_iso_fcp_size(fcp80, sizeof(fcp80)), 300);
    ck_assert_uint_eq(dmsc_iso_fcp_size(fcp81, sizeof(fcp81)), 512);
    ck_assert_uint_eq(dmsc_iso_fcp_size(both, sizeof(both)), 16);
    ck_assert_uint_eq(dmsc_iso_fcp_size(fci, sizeof(fci)), 32);
    ck_assert_uint_eq(dmsc_iso_fcp_size(longform, sizeof(longform) - 1), 0); /* cut short */
    ck_assert_uint_eq(dmsc_iso_fcp_size(overrun, sizeof(overrun)), 0);
    ck_assert_uint_eq(dmsc_iso_fcp_size(outer_overrun, sizeof(outer_overrun)), 0);
    ck_assert_uint_eq(dmsc_iso_fcp_size(five_bytes, sizeof(five_bytes)), 0);
    ck_assert_uint_eq(dmsc_iso_fcp_size(other, sizeof(other)), 0);
    ck_assert_uint_eq(dmsc_iso_fcp_size(fcp80, 1), 0);
}
END_TEST

START_TEST(select_commands)
{
    static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };
    static const uint8_t abs[] = { 0x3F, 0x00, 0x50, 0x15, 0x50, 0x31 };
    static const uint8_t rel[] = { 0x50, 0x32 };
    static const uint8_t mf[] = { 0x3F, 0x00 };
    SCRIPT(s, { 0, "6F0384010A9000" }, { 0, "6207820101800200409000" }, { 0, "620380010A9000" },
           { 0, "9000" }, { 0, "6A82" });
    dmsc_card *c = card_over(&s);
    uint16_t sw;
    size_t size = 99;
    ck_assert_int_eq(dmsc_iso_select_aid(c, aid, sizeof(aid), &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_int_eq(dmsc_iso_select_path(c, abs, sizeof(abs), &size, &sw), CKR_OK);
    ck_assert_uint_eq(size, 64);
    ck_assert_int_eq(dmsc_iso_select_path(c, rel, sizeof(rel), &size, &sw), CKR_OK);
    ck_assert_uint_eq(size, 10);
    ck_assert_int_eq(dmsc_iso_select_path(c, mf, sizeof(mf), &size, &sw), CKR_OK);
    ck_assert_uint_eq(size, 0);
    ck_assert_int_eq(dmsc_iso_select_path(c, rel, sizeof(rel), &size, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6A82); /* not found is the caller's to judge */
    ck_assert_str_eq(s.cmds[0], "00A404000CA000000063504B43532D313500");
    ck_assert_str_eq(s.cmds[1], "00A40804045015503100");
    ck_assert_str_eq(s.cmds[2], "00A40904025032" "00");
    ck_assert_str_eq(s.cmds[3], "00A40004023F0000");
    ck_assert_uint_eq(s.n_cmds, 5);
    /* Odd, empty or too deep paths never reach the card. */
    ck_assert_int_eq(dmsc_iso_select_path(c, abs, 3, &size, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_int_eq(dmsc_iso_select_path(c, abs, 0, &size, &sw), CKR_ARGUMENTS_BAD);
    static const uint8_t deep[18] = { 0x3F, 0x00 };
    ck_assert_int_eq(dmsc_iso_select_path(c, deep, sizeof(deep), &size, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(s.n_cmds, 5);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(select_fallbacks)
{
    /* No FCP (6A86 to P2 04), then no path select (6A86 to P1 08 P2 0C):
     * file by file, P2 0C, and both remembered for the next select. */
    static const uint8_t abs[] = { 0x3F, 0x00, 0x50, 0x15, 0x50, 0x31 };
    SCRIPT(s, { 0, "6A86" }, { 0, "6A86" }, { 0, "9000" }, { 0, "9000" }, { 0, "9000" },
           { 0, "9000" }, { 0, "9000" }, { 0, "6A82" });
    dmsc_card *c = card_over(&s);
    uint16_t sw;
    size_t size;
    ck_assert_int_eq(dmsc_iso_select_path(c, abs, sizeof(abs), &size, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(size, 0);
    ck_assert_str_eq(s.cmds[0], "00A40804045015503100");
    ck_assert_str_eq(s.cmds[1], "00A4080C0450155031");
    ck_assert_str_eq(s.cmds[2], "00A4000C023F00");
    ck_assert_str_eq(s.cmds[3], "00A4000C025015");
    ck_assert_str_eq(s.cmds[4], "00A4000C025031");
    ck_assert_int_eq(dmsc_iso_select_path(c, abs + 2, 4, &size, &sw), CKR_OK);
    ck_assert_str_eq(s.cmds[5], "00A4000C025015");
    ck_assert_str_eq(s.cmds[6], "00A4000C025031");
    /* A missing file stops the walk. */
    ck_assert_int_eq(dmsc_iso_select_path(c, abs, sizeof(abs), &size, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6A82);
    ck_assert_uint_eq(s.n_cmds, 8);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(select_refused_fcp_not_kept)
{
    /* The refusal of P2 04 carries bytes that look like an FCP of 16
     * bytes; the file then selected with P2 0C has 100: it is read to its
     * end, not cut at 16. */
    static const uint8_t path[] = { 0x50, 0x31 };
    SCRIPT(s, { 0, "6204800200106A86" }, { 0, "9000" }, { 100, "6282" });
    dmsc_card *c = card_over(&s);
    uint8_t *data;
    size_t len;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 4096, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(len, 100);
    check_filled(data, 100);
    free(data);
    ck_assert_str_eq(s.cmds[0], "00A40904025031" "00");
    ck_assert_str_eq(s.cmds[1], "00A4090C025031");
    ck_assert_str_eq(s.cmds[2], "00B0000000");
    ck_assert_uint_eq(s.n_cmds, 3);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(binary_reaches)
{
    ck_assert(dmsc_iso_binary_reaches(0, 0));
    ck_assert(dmsc_iso_binary_reaches(0, 0x8000));
    ck_assert(!dmsc_iso_binary_reaches(0, 0x8001));
    ck_assert(dmsc_iso_binary_reaches(0x7FFF, 1));
    ck_assert(!dmsc_iso_binary_reaches(0x7FFF, 2));
    ck_assert(!dmsc_iso_binary_reaches(0x8000, 0));
    ck_assert(!dmsc_iso_binary_reaches(0x8000, 16));
    ck_assert(!dmsc_iso_binary_reaches(0x7F00, 0x120));
    ck_assert(!dmsc_iso_binary_reaches(0xFFFFFFF0u, 0x20)); /* no wrap-around */
    ck_assert(!dmsc_iso_binary_reaches(16, SIZE_MAX));
}
END_TEST

static int n_begins, n_ends;

static CK_RV count_begin(void *ctx)
{
    (void)ctx;
    n_begins++;
    return CKR_OK;
}

static void count_end(void *ctx)
{
    (void)ctx;
    n_ends++;
}

START_TEST(transactions_nest)
{
    /* Only the outermost begin and end reach the reader: an operation
     * that holds a transaction may run inside its caller's. */
    static const dmsc_card_ops ops = { .transmit = scripted, .begin = count_begin, .end = count_end };
    SCRIPT(s, { 0, "9000" });
    dmsc_card *c = NULL;
    ck_assert_int_eq(dmsc_card_new(&ops, &s, &c), CKR_OK);
    n_begins = n_ends = 0;
    ck_assert_int_eq(dmsc_card_begin(c), CKR_OK);
    ck_assert_int_eq(dmsc_card_begin(c), CKR_OK);
    ck_assert_int_eq(n_begins, 1);
    dmsc_card_end(c);
    ck_assert_int_eq(n_ends, 0);
    dmsc_card_end(c);
    ck_assert_int_eq(n_ends, 1);
    dmsc_card_end(c); /* unbalanced: nothing */
    ck_assert_int_eq(n_ends, 1);
    ck_assert_int_eq(dmsc_card_begin(c), CKR_OK);
    ck_assert_int_eq(n_begins, 2);
    dmsc_card_end(c);
    ck_assert_int_eq(n_ends, 2);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(read_ef_known_size)
{
    static const uint8_t path[] = { 0x3F, 0x00, 0x2F, 0x00 };
    SCRIPT(s, { 0, "62048002012C9000" }, { 256, "9000" }, { 44, "9000" });
    dmsc_card *c = card_over(&s);
    uint8_t *data;
    size_t len;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 1024, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(len, 300);
    check_filled(data, 256);
    check_filled(data + 256, 44);
    free(data);
    ck_assert_str_eq(s.cmds[0], "00A40804022F0000");
    ck_assert_str_eq(s.cmds[1], "00B0000000");
    ck_assert_str_eq(s.cmds[2], "00B001002C");
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(read_ef_until_end)
{
    /* No size: read until 6B00; a short chunk with 6282 also ends it. */
    static const uint8_t path[] = { 0x50, 0x31 };
    SCRIPT(s, { 0, "9000" }, { 256, "9000" }, { 10, "9000" }, { 0, "6B00" },
           { 0, "9000" }, { 20, "6282" });
    dmsc_card *c = card_over(&s);
    uint8_t *data;
    size_t len;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 4096, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(len, 266);
    free(data);
    ck_assert_str_eq(s.cmds[1], "00B0000000");
    ck_assert_str_eq(s.cmds[2], "00B0010000");
    ck_assert_str_eq(s.cmds[3], "00B0010A00");
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 4096, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(len, 20);
    free(data);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(read_ef_bounded)
{
    static const uint8_t path[] = { 0x50, 0x31 };
    /* FCP says 300, 100 accepted: nothing read. Unknown size, 8 accepted,
     * the card has more: the probe byte tells. Exactly 8: fine. */
    SCRIPT(s, { 0, "62048002012C9000" }, { 0, "9000" }, { 8, "9000" }, { 1, "9000" },
           { 0, "9000" }, { 8, "9000" }, { 0, "6B00" }, { 0, "9000" }, { 1, "6B00" });
    dmsc_card *c = card_over(&s);
    uint8_t *data = (uint8_t *)"x";
    size_t len = 5;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 100, &data, &len, &sw), CKR_DEVICE_MEMORY);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(s.n_cmds, 1);
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 8, &data, &len, &sw), CKR_DEVICE_MEMORY);
    ck_assert_str_eq(s.cmds[2], "00B0000008");
    ck_assert_str_eq(s.cmds[3], "00B0000801");
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 8, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(len, 8);
    free(data);
    ck_assert_uint_eq(s.n_cmds, 7);
    /* Found by fuzz-apdu: a byte past max with 6B00 is still too much. */
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, 2, 0, &data, &len, &sw), CKR_DEVICE_MEMORY);
    ck_assert_ptr_null(data);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(read_ef_past_offsets)
{
    /* The FCP says 40000 bytes, 65536 accepted: READ BINARY cannot name
     * offsets past 0x7FFF, so the EF is too big to read (the caller leaves
     * its object out), not a device error; nothing is read. */
    static const uint8_t path[] = { 0x50, 0x31 };
    SCRIPT(s, { 0, "620480029C409000" });
    dmsc_card *c = card_over(&s);
    uint8_t *data = (uint8_t *)"x";
    size_t len = 5;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 65536, &data, &len, &sw), CKR_DEVICE_MEMORY);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(s.n_cmds, 1);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(read_ef_refused)
{
    static const uint8_t path[] = { 0x50, 0x31 };
    SCRIPT(s, { 0, "9000" }, { 0, "6982" });
    dmsc_card *c = card_over(&s);
    uint8_t *data;
    size_t len;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_ef(c, path, sizeof(path), 8, &data, &len, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6982);
    ck_assert_ptr_null(data);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(record_and_update)
{
    static uint8_t data[600];
    SCRIPT(s, { 5, "9000" }, { 0, "9000" }, { 0, "9000" }, { 0, "9000" }, { 0, "9000" }, { 0, "6A84" });
    dmsc_card *c = card_over(&s);
    uint8_t rec[16];
    size_t got;
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_read_record(c, 1, rec, sizeof(rec), &got, &sw), CKR_OK);
    ck_assert_uint_eq(got, 5);
    ck_assert_str_eq(s.cmds[0], "00B2010410");
    ck_assert_int_eq(dmsc_iso_read_record(c, 0, rec, sizeof(rec), &got, &sw), CKR_ARGUMENTS_BAD);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = 0x5A;
    ck_assert_int_eq(dmsc_iso_update_binary(c, 0x10, data, sizeof(data), &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(s.n_cmds, 4);
    ck_assert_int_eq(strncmp(s.cmds[1], "00D60010FF5A5A", 14), 0);
    ck_assert_int_eq(strncmp(s.cmds[2], "00D6010FFF5A", 12), 0);
    ck_assert_int_eq(strncmp(s.cmds[3], "00D6020E5A5A", 12), 0); /* 600 - 510 = 90 = 0x5A */
    ck_assert_uint_eq(strlen(s.cmds[3]), 2 * (5 + 90));
    /* The first refusal stops the update and is the answer. */
    ck_assert_int_eq(dmsc_iso_update_binary(c, 0, data, 300, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6A84);
    ck_assert_uint_eq(s.n_cmds, 6);
    /* Offsets P1-P2 cannot hold never reach the card. */
    ck_assert_int_eq(dmsc_iso_update_binary(c, 0x8000, data, 1, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_int_eq(dmsc_iso_update_binary(c, 0x7FFF, data, 256, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(s.n_cmds, 6);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(pin_commands)
{
    static const uint8_t pin[] = { '1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t neu[] = { '4', '3', '2', '1', 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t puk[] = { '1', '2', '3', '4', '5', '6', '7', '8' };
    SCRIPT(s, { 0, "63C3" }, { 0, "9000" }, { 0, "9000" }, { 0, "9000" }, { 0, "6983" });
    dmsc_card *c = card_over(&s);
    uint16_t sw;
    ck_assert_int_eq(dmsc_iso_verify(c, 0x81, NULL, 0, &sw), CKR_OK);
    ck_assert_int_eq(dmsc_apdu_tries_left(sw), 3);
    ck_assert_int_eq(dmsc_iso_verify(c, 0x81, pin, sizeof(pin), &sw), CKR_OK);
    ck_assert_int_eq(dmsc_iso_change_reference_data(c, 0x81, pin, sizeof(pin), neu, sizeof(neu), &sw), CKR_OK);
    ck_assert_int_eq(dmsc_iso_reset_retry_counter(c, 0x81, puk, sizeof(puk), pin, sizeof(pin), &sw), CKR_OK);
    ck_assert_int_eq(dmsc_iso_reset_retry_counter(c, 0x81, puk, sizeof(puk), NULL, 0, &sw), CKR_OK);
    ck_assert_uint_eq(sw, 0x6983);
    ck_assert_str_eq(s.cmds[0], "00200081");
    ck_assert_str_eq(s.cmds[1], "002000810831323334FFFFFFFF");
    ck_assert_str_eq(s.cmds[2], "002400811031323334FFFFFFFF34333231FFFFFFFF");
    ck_assert_str_eq(s.cmds[3], "002C0081103132333435363738" "31323334FFFFFFFF");
    ck_assert_str_eq(s.cmds[4], "002C0181083132333435363738");
    static uint8_t big[200];
    ck_assert_int_eq(dmsc_iso_change_reference_data(c, 0x81, big, 200, big, 56, &sw), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(s.n_cmds, 5);
    dmsc_card_disconnect(c);
}
END_TEST

START_TEST(sign_commands)
{
    static const uint8_t digest_info[51] = { 0x30, 0x31 };
    SCRIPT(s, { 0, "9000" }, { 0, "9000" }, { 0, "6100" }, { 256, "9000" });
    dmsc_card *c = card_over(&s);
    uint16_t sw;
    uint8_t sig[256];
    size_t sig_len;
    ck_assert_int_eq(dmsc_iso_mse_set_dst(c, 0x02, 0x12, &sw), CKR_OK);
    ck_assert_int_eq(dmsc_iso_mse_set_dst(c, 0x82, -1, &sw), CKR_OK);
    ck_assert_int_eq(dmsc_iso_pso_cds(c, digest_info, sizeof(digest_info), sig, sizeof(sig), &sig_len, &sw),
                     CKR_OK);
    ck_assert_uint_eq(sig_len, 256);
    check_filled(sig, 256);
    ck_assert_str_eq(s.cmds[0], "002241B606840102800112");
    ck_assert_str_eq(s.cmds[1], "002241B603840182");
    ck_assert_int_eq(strncmp(s.cmds[2], "002A9E9A333031", 14), 0);
    ck_assert_str_eq(s.cmds[2] + 2 * (5 + 51), "00");
    ck_assert_str_eq(s.cmds[3], "00C0000000");
    ck_assert_int_eq(dmsc_iso_mse_set_dst(c, 0x02, 256, &sw), CKR_ARGUMENTS_BAD);
    dmsc_card_disconnect(c);
}
END_TEST

static Suite *apdu_suite(void)
{
    Suite *s = suite_create("pcsc-apdu");
    TCase *t = tcase_create("transport");
    tcase_add_test(t, encode_cases);
    tcase_add_test(t, encode_refused);
    tcase_add_test(t, chain_61xx);
    tcase_add_test(t, chain_61xx_with_data_and_256);
    tcase_add_test(t, chain_overflow);
    tcase_add_test(t, chain_no_progress);
    tcase_add_test(t, resend_6cxx);
    tcase_add_test(t, resend_6cxx_once);
    tcase_add_test(t, resend_6cxx_then_chain);
    tcase_add_test(t, malformed);
    tcase_add_test(t, transport_error_passes);
    tcase_add_test(t, sw_words);
    suite_add_tcase(s, t);
    TCase *iso = tcase_create("iso7816");
    tcase_add_test(iso, fcp_sizes);
    tcase_add_test(iso, select_commands);
    tcase_add_test(iso, select_fallbacks);
    tcase_add_test(iso, select_refused_fcp_not_kept);
    tcase_add_test(iso, binary_reaches);
    tcase_add_test(iso, transactions_nest);
    tcase_add_test(iso, read_ef_known_size);
    tcase_add_test(iso, read_ef_until_end);
    tcase_add_test(iso, read_ef_bounded);
    tcase_add_test(iso, read_ef_past_offsets);
    tcase_add_test(iso, read_ef_refused);
    tcase_add_test(iso, record_and_update);
    tcase_add_test(iso, pin_commands);
    tcase_add_test(iso, sign_commands);
    suite_add_tcase(s, iso);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(apdu_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
