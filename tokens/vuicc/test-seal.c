/* Unit tests for tokens/vuicc/seal.c: wrapped data keys and sealed values.
 * A wrap or unwrap costs one scrypt (some 0.1 s), so the bit-flip tests on
 * wrapped keys take a sample of the bits. */
#include "vuicc/seal.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const CK_UTF8CHAR PIN[] = "123456";
#define PIN_LEN 6

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 131);
}

static void wrap(const unsigned char dek[VUICC_DEK_LEN], const char *role, unsigned char **blob,
                 size_t *len)
{
    *blob = NULL;
    *len = 0;
    ck_assert_uint_eq(vuicc_dek_wrap(NULL, dek, PIN, PIN_LEN, role, blob, len), CKR_OK);
    ck_assert_ptr_nonnull(*blob);
    ck_assert_uint_gt(*len, VUICC_DEK_LEN);
}

START_TEST(test_wrap_roundtrip)
{
    unsigned char dek[VUICC_DEK_LEN], out[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 3);
    unsigned char *blob, *blob2;
    size_t len, len2;
    wrap(dek, "dmsc-user", &blob, &len);
    /* The key does not appear in the clear. */
    ck_assert_ptr_null(memmem(blob, len, dek, 8));
    memset(out, 0, sizeof(out));
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-user", out), CKR_OK);
    ck_assert_mem_eq(out, dek, VUICC_DEK_LEN);
    /* A second wrap of the same key under the same PIN differs (fresh
     * salt and nonce) and opens to the same key. */
    wrap(dek, "dmsc-user", &blob2, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert(memcmp(blob, blob2, len) != 0);
    memset(out, 0, sizeof(out));
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob2, len2, PIN, PIN_LEN, "dmsc-user", out), CKR_OK);
    ck_assert_mem_eq(out, dek, VUICC_DEK_LEN);
    free(blob);
    free(blob2);
}
END_TEST

START_TEST(test_wrong_pin_and_role)
{
    unsigned char dek[VUICC_DEK_LEN], out[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 77);
    unsigned char *blob;
    size_t len;
    wrap(dek, "dmsc-so", &blob, &len);

    memset(out, 0, sizeof(out));
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, (const CK_UTF8CHAR *)"123457", 6, "dmsc-so", out),
                      CKR_PIN_INCORRECT);
    /* No trace of the key is left behind on failure. */
    ck_assert(memcmp(out, dek, sizeof(dek)) != 0);
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN - 1, "dmsc-so", out),
                      CKR_PIN_INCORRECT); /* a prefix of the PIN */
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, (const CK_UTF8CHAR *)"1234567", 7, "dmsc-so", out),
                      CKR_PIN_INCORRECT); /* the PIN plus a digit */
    ck_assert(memcmp(out, dek, sizeof(dek)) != 0);
    /* The right PIN for another role's blob. */
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-user", out),
                      CKR_PIN_INCORRECT);
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "", out), CKR_PIN_INCORRECT);
    ck_assert(memcmp(out, dek, sizeof(dek)) != 0);
    /* Sanity: it does open with the right PIN and role. */
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-so", out), CKR_OK);
    ck_assert_mem_eq(out, dek, VUICC_DEK_LEN);
    free(blob);
}
END_TEST

static void flip_and_check(unsigned char *blob, size_t len, size_t bit)
{
    unsigned char out[VUICC_DEK_LEN];
    blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    CK_RV rv = vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-user", out);
    blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    ck_assert_msg(rv == CKR_PIN_INCORRECT || rv == CKR_DEVICE_ERROR,
                  "bit %zu (byte %zu) flipped: unwrap returned 0x%lx", bit, bit / 8, (unsigned long)rv);
}

START_TEST(test_wrap_bit_flips)
{
    unsigned char dek[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 200);
    unsigned char *blob;
    size_t len;
    wrap(dek, "dmsc-user", &blob, &len);
    /* Every bit of the first 5 bytes (format and cost parameters), then
     * every 7th bit of the rest (salt, nonce, ciphertext, tag). */
    size_t tried = 0;
    for (size_t bit = 0; bit < 5 * 8; bit++, tried++)
        flip_and_check(blob, len, bit);
    for (size_t bit = 5 * 8; bit < len * 8; bit += 7, tried++)
        flip_and_check(blob, len, bit);
    ck_assert_uint_gt(tried, 100);
    /* The blob itself was restored each time and still opens. */
    unsigned char out[VUICC_DEK_LEN];
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-user", out), CKR_OK);
    ck_assert_mem_eq(out, dek, VUICC_DEK_LEN);
    free(blob);
}
END_TEST

START_TEST(test_wrap_truncated)
{
    unsigned char dek[VUICC_DEK_LEN], out[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 1);
    unsigned char *blob;
    size_t len;
    wrap(dek, "dmsc-user", &blob, &len);
    for (size_t cut = 0; cut < len; cut++) {
        /* Exact-size copies, so a read past the end would be a bug a
         * memory checker sees. */
        unsigned char *copy = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, blob, cut);
        CK_RV rv = vuicc_dek_unwrap(NULL, copy, cut, PIN, PIN_LEN, "dmsc-user", out);
        ck_assert_msg(rv == CKR_DEVICE_ERROR, "blob cut to %zu bytes: 0x%lx", cut, (unsigned long)rv);
        free(copy);
    }
    unsigned char *longer = malloc(len + 1);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, blob, len);
    longer[len] = 0;
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, longer, len + 1, PIN, PIN_LEN, "dmsc-user", out),
                      CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_dek_unwrap(NULL, NULL, 0, PIN, PIN_LEN, "dmsc-user", out), CKR_DEVICE_ERROR);
    free(longer);
    free(blob);
}
END_TEST

/*
 * Stored blobs whose cost parameters ask for more than a PIN check may
 * spend (a tampered store): seal.h promises CKR_DEVICE_ERROR for a
 * malformed blob, and the refusal must come before any scrypt work.
 * Regression test: before commit d78b580 the header check let N = 2^22,
 * r = 32 through and the KDF's refusal surfaced as CKR_GENERAL_ERROR,
 * and N = 2^20, r = 8 (1 GiB, some seconds) was computed.
 */
START_TEST(test_wrap_extreme_cost)
{
    unsigned char dek[VUICC_DEK_LEN], out[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 5);
    unsigned char *blob;
    size_t len;
    wrap(dek, "dmsc-user", &blob, &len);
    static const unsigned char costs[][3] = {
        { 22, 32, 4 }, /* 16 GiB */
        { 20, 8, 1 },  /* 1 GiB */
        { 22, 8, 1 },  /* 4 GiB */
        { 19, 32, 1 }, /* 2 GiB */
        { 255, 255, 255 },
        { 0, 8, 1 },
        { 15, 0, 1 },
        { 15, 8, 0 },
    };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
        memcpy(blob + 2, costs[i], 3);
        CK_RV rv = vuicc_dek_unwrap(NULL, blob, len, PIN, PIN_LEN, "dmsc-user", out);
        ck_assert_msg(rv == CKR_DEVICE_ERROR, "log2 N %u, r %u, p %u: unwrap returned 0x%lx, expected CKR_DEVICE_ERROR",
                      costs[i][0], costs[i][1], costs[i][2], (unsigned long)rv);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 2.0, "refusing out-of-bounds costs took %.1f s: scrypt ran", secs);
    free(blob);
}
END_TEST

/* ---- sealed attribute values ---- */

static void seal(const unsigned char dek[VUICC_DEK_LEN], uint32_t app, CK_ATTRIBUTE_TYPE type,
                 const void *plain, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    ck_assert_uint_eq(vuicc_seal(NULL, dek, app, type, plain, len, out, out_len), CKR_OK);
    ck_assert_ptr_nonnull(*out);
    ck_assert_uint_gt(*out_len, len);
}

START_TEST(test_seal_roundtrip)
{
    unsigned char dek[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 9);
    static const char msg[] = "the private exponent, or a DM server secret";
    unsigned char *s1, *s2, *plain;
    size_t l1, l2, pl;
    seal(dek, 3, CKA_VALUE, msg, sizeof(msg), &s1, &l1);
    ck_assert_ptr_null(memmem(s1, l1, "private exponent", 16));
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 3, CKA_VALUE, s1, l1, &plain, &pl), CKR_OK);
    ck_assert_uint_eq(pl, sizeof(msg));
    ck_assert_mem_eq(plain, msg, pl);
    free(plain);
    /* Fresh nonce each time. */
    seal(dek, 3, CKA_VALUE, msg, sizeof(msg), &s2, &l2);
    ck_assert_uint_eq(l2, l1);
    ck_assert(memcmp(s1, s2, l1) != 0);
    free(s1);
    free(s2);

    /* A large value. */
    size_t big_len = 100000;
    unsigned char *big = malloc(big_len);
    ck_assert_ptr_nonnull(big);
    fill(big, big_len, 42);
    seal(dek, 0, CKA_PRIVATE_EXPONENT, big, big_len, &s1, &l1);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 0, CKA_PRIVATE_EXPONENT, s1, l1, &plain, &pl), CKR_OK);
    ck_assert_uint_eq(pl, big_len);
    ck_assert_mem_eq(plain, big, big_len);
    free(plain);
    free(s1);
    free(big);
}
END_TEST

START_TEST(test_seal_empty)
{
    unsigned char dek[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 10);
    unsigned char *s, *plain = NULL;
    size_t l, pl = 99;
    seal(dek, 1, CKA_VALUE, NULL, 0, &s, &l);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 1, CKA_VALUE, s, l, &plain, &pl), CKR_OK);
    ck_assert_uint_eq(pl, 0);
    free(plain);
    /* Even an empty value is authenticated. */
    s[l - 1] ^= 1;
    plain = NULL;
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 1, CKA_VALUE, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    s[l - 1] ^= 1;
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 2, CKA_VALUE, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    free(s);
}
END_TEST

START_TEST(test_seal_binding)
{
    unsigned char dek[VUICC_DEK_LEN], other[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 11);
    fill(other, sizeof(other), 12);
    unsigned char *s, *plain = NULL;
    size_t l, pl;
    seal(dek, 7, CKA_VALUE, "abcdef", 6, &s, &l);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 8, CKA_VALUE, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 7 + 0x100, CKA_VALUE, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 7, CKA_PRIVATE_EXPONENT, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 7, CKA_VALUE | (1ULL << 40), s, l, &plain, &pl),
                      CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_unseal(NULL, other, 7, CKA_VALUE, s, l, &plain, &pl), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 7, CKA_VALUE, s, l, &plain, &pl), CKR_OK);
    ck_assert_mem_eq(plain, "abcdef", 6);
    free(plain);
    free(s);
}
END_TEST

START_TEST(test_seal_bit_flips)
{
    unsigned char dek[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 13);
    unsigned char *s, *plain = NULL;
    size_t l, pl;
    seal(dek, 4, CKA_VALUE, "0123456789abcdefXYZ", 19, &s, &l);
    for (size_t bit = 0; bit < l * 8; bit++) {
        s[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        CK_RV rv = vuicc_unseal(NULL, dek, 4, CKA_VALUE, s, l, &plain, &pl);
        s[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        ck_assert_msg(rv == CKR_DEVICE_ERROR, "bit %zu flipped: unseal returned 0x%lx", bit, (unsigned long)rv);
    }
    /* Truncations. */
    for (size_t cut = 0; cut < l; cut++) {
        unsigned char *copy = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, s, cut);
        CK_RV rv = vuicc_unseal(NULL, dek, 4, CKA_VALUE, copy, cut, &plain, &pl);
        ck_assert_msg(rv == CKR_DEVICE_ERROR, "cut to %zu: unseal returned 0x%lx", cut, (unsigned long)rv);
        free(copy);
    }
    ck_assert_uint_eq(vuicc_unseal(NULL, dek, 4, CKA_VALUE, s, l, &plain, &pl), CKR_OK);
    ck_assert_uint_eq(pl, 19);
    free(plain);
    free(s);
}
END_TEST

START_TEST(test_seal_too_large)
{
    unsigned char dek[VUICC_DEK_LEN];
    fill(dek, sizeof(dek), 14);
    unsigned char small[4] = { 0 }, *s = NULL;
    size_t l = 0;
    /* Refused on the length alone, before any byte is read. */
    ck_assert_uint_eq(vuicc_seal(NULL, dek, 0, CKA_VALUE, small, (1u << 28) + 1, &s, &l), CKR_DATA_LEN_RANGE);
    ck_assert_ptr_null(s);
}
END_TEST

static Suite *seal_suite(void)
{
    Suite *s = suite_create("seal");
    TCase *tw = tcase_create("wrapped data key");
    /* A hang guard, not a speed test: test_wrap_bit_flips runs some 120
     * scrypt derivations (32 MiB each), 6 s of CPU that take minutes on a
     * machine shared by many builds, or under a sanitizer. */
    tcase_set_timeout(tw, 600);
    tcase_add_test(tw, test_wrap_roundtrip);
    tcase_add_test(tw, test_wrong_pin_and_role);
    tcase_add_test(tw, test_wrap_bit_flips);
    tcase_add_test(tw, test_wrap_truncated);
    tcase_add_test(tw, test_wrap_extreme_cost);
    suite_add_tcase(s, tw);
    TCase *ts = tcase_create("sealed values");
    tcase_set_timeout(ts, 30);
    tcase_add_test(ts, test_seal_roundtrip);
    tcase_add_test(ts, test_seal_empty);
    tcase_add_test(ts, test_seal_binding);
    tcase_add_test(ts, test_seal_bit_flips);
    tcase_add_test(ts, test_seal_too_large);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(seal_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
