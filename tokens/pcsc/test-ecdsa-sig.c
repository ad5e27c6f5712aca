/*
 * pcsc_ecdsa_to_raw: a card's ECDSA answer (DER or raw r || s) into
 * PKCS#11's r || s. Real P-256 signatures made by OpenSSL, checked by
 * OpenSSL's verify after the conversion; raw signatures whose r starts
 * with 0x30 (the defect this guards against: taken for DER by their first
 * byte); DER that is not strictly DER or not all of the answer.
 */
#include "config.h"

#include "ecdsa-sig.h"

#include <check.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define HALF 32

static EVP_PKEY *key;
static unsigned char digest[32];

static void setup(void)
{
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(RAND_bytes(digest, sizeof(digest)), 1);
}

static void teardown(void)
{
    EVP_PKEY_free(key);
}

/* A DER signature of digest by key. */
static size_t sign_der(unsigned char *der, size_t room)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(EVP_PKEY_sign_init(c), 1);
    size_t len = room;
    ck_assert_int_eq(EVP_PKEY_sign(c, der, &len, digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(c);
    return len;
}

/* r || s back to DER (OpenSSL's encoding). */
static size_t raw_to_der(const unsigned char *raw, unsigned char *der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ck_assert_ptr_nonnull(sig);
    ck_assert_int_eq(ECDSA_SIG_set0(sig, BN_bin2bn(raw, HALF, NULL), BN_bin2bn(raw + HALF, HALF, NULL)), 1);
    unsigned char *p = der;
    int len = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    ck_assert_int_gt(len, 0);
    return (size_t)len;
}

/* Does r || s verify over digest with key? */
static bool raw_verifies(const unsigned char *raw)
{
    unsigned char der[80];
    size_t len = raw_to_der(raw, der);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    ck_assert_int_eq(EVP_PKEY_verify_init(c), 1);
    int ok = EVP_PKEY_verify(c, der, len, digest, sizeof(digest));
    EVP_PKEY_CTX_free(c);
    return ok == 1;
}

START_TEST(der_answer)
{
    unsigned char der[80], raw[2 * HALF], again[80];
    for (int i = 0; i < 20; i++) {
        size_t len = sign_der(der, sizeof(der));
        ck_assert_uint_ne(len, 2 * HALF);
        ck_assert(pcsc_ecdsa_to_raw(der, len, HALF, raw));
        ck_assert(raw_verifies(raw));
        /* the same r and s: re-encoded, the card's bytes again */
        ck_assert_uint_eq(raw_to_der(raw, again), len);
        ck_assert_mem_eq(again, der, len);
    }
}
END_TEST

/* The defect: a raw answer whose r starts with 0x30 was parsed as DER. */
START_TEST(raw_answer_starting_0x30)
{
    unsigned char der[80], raw[2 * HALF], out[2 * HALF];
    int tries = 0;
    do {
        size_t len = sign_der(der, sizeof(der));
        ck_assert(pcsc_ecdsa_to_raw(der, len, HALF, raw));
        ck_assert_int_lt(++tries, 100000);
    } while (raw[0] != 0x30);
    memset(out, 0xEE, sizeof(out));
    ck_assert(pcsc_ecdsa_to_raw(raw, sizeof(raw), HALF, out));
    ck_assert_mem_eq(out, raw, sizeof(raw));
    ck_assert(raw_verifies(out));
}
END_TEST

START_TEST(raw_answers)
{
    unsigned char der[80], raw[2 * HALF], out[2 * HALF];
    for (int i = 0; i < 20; i++) {
        size_t len = sign_der(der, sizeof(der));
        ck_assert(pcsc_ecdsa_to_raw(der, len, HALF, raw));
        ck_assert(pcsc_ecdsa_to_raw(raw, sizeof(raw), HALF, out));
        ck_assert_mem_eq(out, raw, sizeof(raw));
        ck_assert(raw_verifies(out));
    }
}
END_TEST

/* 64 bytes that are a strict DER ECDSA-Sig-Value (r, s of 29 bytes) and
 * r || s at once: the length decides, raw. */
START_TEST(raw_that_is_also_der)
{
    unsigned char sig[2 * HALF], out[2 * HALF];
    size_t n = 0;
    sig[n++] = 0x30;
    sig[n++] = 0x3E;
    for (int i = 0; i < 2; i++) {
        sig[n++] = 0x02;
        sig[n++] = 0x1D;
        for (int j = 0; j < 0x1D; j++)
            sig[n++] = (unsigned char)(0x11 + j);
    }
    ck_assert_uint_eq(n, sizeof(sig));
    const unsigned char *p = sig;
    ECDSA_SIG *parsed = d2i_ECDSA_SIG(NULL, &p, (long)n);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_ptr_eq(p, sig + n);
    ECDSA_SIG_free(parsed);
    ck_assert(pcsc_ecdsa_to_raw(sig, n, HALF, out));
    ck_assert_mem_eq(out, sig, n);
}
END_TEST

START_TEST(not_one_strict_der)
{
    unsigned char der[90], bad[90], raw[2 * HALF];
    size_t len = sign_der(der, sizeof(der));
    /* (a DER P-256 signature is 2 * HALF + 2 bytes or longer but once in
     * some 2^40: none of the lengths below is raw r || s's) */
    ck_assert_uint_gt(len, 2 * HALF + 1);
    /* trailing bytes: not all of the answer is the signature */
    memcpy(bad, der, len);
    bad[len] = 0x00;
    ck_assert(!pcsc_ecdsa_to_raw(bad, len + 1, HALF, raw));
    bad[len] = 0x90;
    bad[len + 1] = 0x00;
    ck_assert(!pcsc_ecdsa_to_raw(bad, len + 2, HALF, raw));
    /* cut short */
    ck_assert(!pcsc_ecdsa_to_raw(der, len - 1, HALF, raw));
    /* BER, not DER: the SEQUENCE length in the long form (81 xx) */
    bad[0] = 0x30;
    bad[1] = 0x81;
    bad[2] = der[1];
    memcpy(bad + 3, der + 2, len - 2);
    ck_assert(!pcsc_ecdsa_to_raw(bad, len + 1, HALF, raw));
    /* nothing, and a first byte only */
    ck_assert(!pcsc_ecdsa_to_raw(der, 0, HALF, raw));
    ck_assert(!pcsc_ecdsa_to_raw(der, 1, HALF, raw));
    /* no key size, or one above P-521's */
    ck_assert(!pcsc_ecdsa_to_raw(der, len, 0, raw));
    ck_assert(!pcsc_ecdsa_to_raw(der, len, PCSC_ECDSA_MAX_HALF + 1, raw));
}
END_TEST

/* Integers no signature of a 32-byte order has. */
START_TEST(der_values_out_of_range)
{
    unsigned char raw[2 * HALF];
    /* r = 0 */
    static const unsigned char zero_r[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01 };
    ck_assert(!pcsc_ecdsa_to_raw(zero_r, sizeof(zero_r), HALF, raw));
    /* r = -1 */
    static const unsigned char neg_r[] = { 0x30, 0x06, 0x02, 0x01, 0xFF, 0x02, 0x01, 0x01 };
    ck_assert(!pcsc_ecdsa_to_raw(neg_r, sizeof(neg_r), HALF, raw));
    /* r with a superfluous leading zero (not DER) */
    static const unsigned char padded_r[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01 };
    ck_assert(!pcsc_ecdsa_to_raw(padded_r, sizeof(padded_r), HALF, raw));
    /* r of 33 significant bytes: does not fit the order's 32 */
    unsigned char big[2 + 2 + 34 + 3];
    size_t n = 0;
    big[n++] = 0x30;
    big[n++] = 2 + 34 + 3;
    big[n++] = 0x02;
    big[n++] = 34;
    big[n++] = 0x00;
    for (int i = 0; i < 33; i++)
        big[n++] = 0xAB;
    big[n++] = 0x02;
    big[n++] = 0x01;
    big[n++] = 0x01;
    ck_assert_uint_eq(n, sizeof(big));
    ck_assert(!pcsc_ecdsa_to_raw(big, n, HALF, raw));
    /* small values are fine: left-padded with zeros */
    static const unsigned char small[] = { 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07 };
    ck_assert(pcsc_ecdsa_to_raw(small, sizeof(small), HALF, raw));
    for (size_t i = 0; i < 2 * HALF; i++)
        ck_assert_uint_eq(raw[i], i == HALF - 1 ? 5 : i == 2 * HALF - 1 ? 7 : 0);
}
END_TEST

static Suite *ecdsa_sig_suite(void)
{
    Suite *s = suite_create("ecdsa-sig");
    TCase *t = tcase_create("forms");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, der_answer);
    tcase_add_test(t, raw_answer_starting_0x30);
    tcase_add_test(t, raw_answers);
    tcase_add_test(t, raw_that_is_also_der);
    tcase_add_test(t, not_one_strict_der);
    tcase_add_test(t, der_values_out_of_range);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(ecdsa_sig_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
