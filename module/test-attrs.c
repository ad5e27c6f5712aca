/* Unit tests for module/attrs.c: the attribute array and its store form. */
#include "attrs.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A parse that failed must leave the output empty. */
#define ck_assert_attrs_empty(a)                                            \
    do {                                                                    \
        ck_assert_uint_eq((a)->n, 0);                                       \
        ck_assert_ptr_null((a)->items);                                     \
    } while (0)

static void assert_value(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, const void *value,
                         CK_ULONG len, bool sealed)
{
    const dmsc_attr *at = dmsc_attrs_find(a, type);
    ck_assert_msg(at != NULL, "attribute 0x%lx missing", (unsigned long)type);
    ck_assert_uint_eq(at->type, type);
    ck_assert_uint_eq(at->len, len);
    ck_assert_int_eq(at->sealed, sealed);
    if (len == 0)
        ck_assert_ptr_null(at->value);
    else
        ck_assert_mem_eq(at->value, value, len);
}

START_TEST(test_set_find)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_ptr_null(dmsc_attrs_find(&a, CKA_LABEL));

    char label[] = "hello";
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, label, 5), CKR_OK);
    /* The value is copied: changing the caller's buffer changes nothing. */
    label[0] = 'J';
    assert_value(&a, CKA_LABEL, "hello", 5, false);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_ptr_null(dmsc_attrs_find(&a, CKA_VALUE));

    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VALUE, "\x00\x01\x02", 3), CKR_OK);
    assert_value(&a, CKA_VALUE, "\x00\x01\x02", 3, false);
    assert_value(&a, CKA_LABEL, "hello", 5, false);
    ck_assert_uint_eq(a.n, 2);
    dmsc_attrs_clear(&a);
    ck_assert_attrs_empty(&a);
}
END_TEST

START_TEST(test_set_zero_length_and_bad_args)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, NULL, 0), CKR_OK);
    assert_value(&a, CKA_LABEL, NULL, 0, false);
    /* A non-NULL pointer with length 0 keeps no value either. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VALUE, "xyz", 0), CKR_OK);
    assert_value(&a, CKA_VALUE, NULL, 0, false);
    /* NULL with a length is refused and adds nothing. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, NULL, 4), CKR_ARGUMENTS_BAD);
    ck_assert_ptr_null(dmsc_attrs_find(&a, CKA_ID));
    ck_assert_uint_eq(a.n, 2);
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_replace)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, "one", 3), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, "L", 1), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, "second", 6), CKR_OK);
    ck_assert_uint_eq(a.n, 2);
    assert_value(&a, CKA_ID, "second", 6, false);
    /* Replace with an empty value. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, NULL, 0), CKR_OK);
    ck_assert_uint_eq(a.n, 2);
    assert_value(&a, CKA_ID, NULL, 0, false);

    /* take: ownership of a malloc'd value, with the sealed flag. */
    char *v = malloc(4);
    ck_assert_ptr_nonnull(v);
    memcpy(v, "seal", 4);
    ck_assert_uint_eq(dmsc_attrs_take(&a, CKA_VALUE, v, 4, true), CKR_OK);
    assert_value(&a, CKA_VALUE, "seal", 4, true);
    /* A plain set replaces a sealed value and clears the flag. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VALUE, "open", 4), CKR_OK);
    assert_value(&a, CKA_VALUE, "open", 4, false);
    ck_assert_uint_eq(a.n, 3);
    assert_value(&a, CKA_LABEL, "L", 1, false);
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_remove)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert(!dmsc_attrs_remove(&a, CKA_LABEL));
    for (CK_ULONG i = 0; i < 5; i++)
        ck_assert_uint_eq(dmsc_attrs_set_ulong(&a, CKA_VENDOR_DEFINED + i, i * 10), CKR_OK);
    ck_assert(dmsc_attrs_remove(&a, CKA_VENDOR_DEFINED + 2));
    ck_assert_uint_eq(a.n, 4);
    ck_assert_ptr_null(dmsc_attrs_find(&a, CKA_VENDOR_DEFINED + 2));
    ck_assert(!dmsc_attrs_remove(&a, CKA_VENDOR_DEFINED + 2));
    for (CK_ULONG i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        CK_ULONG v = 0;
        ck_assert(dmsc_attrs_get_ulong(&a, CKA_VENDOR_DEFINED + i, &v));
        ck_assert_uint_eq(v, i * 10);
    }
    /* Remove first and last, then re-add. */
    ck_assert(dmsc_attrs_remove(&a, CKA_VENDOR_DEFINED + 0));
    ck_assert(dmsc_attrs_remove(&a, CKA_VENDOR_DEFINED + 4));
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VENDOR_DEFINED + 4, "x", 1), CKR_OK);
    ck_assert_uint_eq(a.n, 3);
    assert_value(&a, CKA_VENDOR_DEFINED + 4, "x", 1, false);
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_many)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    for (CK_ULONG i = 0; i < 300; i++) {
        unsigned char v[3] = { (unsigned char)i, (unsigned char)(i >> 8), 0x5a };
        ck_assert_uint_eq(dmsc_attrs_set(&a, 0x1000 + i, v, sizeof(v)), CKR_OK);
    }
    ck_assert_uint_eq(a.n, 300);
    for (CK_ULONG i = 0; i < 300; i++) {
        unsigned char v[3] = { (unsigned char)i, (unsigned char)(i >> 8), 0x5a };
        assert_value(&a, 0x1000 + i, v, sizeof(v), false);
    }
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_bool_getters)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    bool b = true;
    ck_assert(!dmsc_attrs_get_bool(&a, CKA_TOKEN, &b));
    ck_assert(dmsc_attrs_is_true(&a, CKA_TOKEN, true));
    ck_assert(!dmsc_attrs_is_true(&a, CKA_TOKEN, false));

    ck_assert_uint_eq(dmsc_attrs_set_bool(&a, CKA_TOKEN, true), CKR_OK);
    assert_value(&a, CKA_TOKEN, "\x01", 1, false); /* CK_TRUE, one byte */
    b = false;
    ck_assert(dmsc_attrs_get_bool(&a, CKA_TOKEN, &b));
    ck_assert(b);
    ck_assert(dmsc_attrs_is_true(&a, CKA_TOKEN, false));

    ck_assert_uint_eq(dmsc_attrs_set_bool(&a, CKA_PRIVATE, false), CKR_OK);
    assert_value(&a, CKA_PRIVATE, "\x00", 1, false);
    b = true;
    ck_assert(dmsc_attrs_get_bool(&a, CKA_PRIVATE, &b));
    ck_assert(!b);
    ck_assert(!dmsc_attrs_is_true(&a, CKA_PRIVATE, true));

    /* Wrong length: not a boolean; is_true falls back to the default. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_MODIFIABLE, "\x01\x01", 2), CKR_OK);
    ck_assert(!dmsc_attrs_get_bool(&a, CKA_MODIFIABLE, &b));
    ck_assert(!dmsc_attrs_is_true(&a, CKA_MODIFIABLE, false));
    ck_assert(dmsc_attrs_is_true(&a, CKA_MODIFIABLE, true));
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_COPYABLE, NULL, 0), CKR_OK);
    ck_assert(!dmsc_attrs_get_bool(&a, CKA_COPYABLE, &b));

    /* A sealed value is ciphertext, never read as a boolean. */
    char *v = malloc(1);
    ck_assert_ptr_nonnull(v);
    v[0] = 1;
    ck_assert_uint_eq(dmsc_attrs_take(&a, CKA_SENSITIVE, v, 1, true), CKR_OK);
    ck_assert(!dmsc_attrs_get_bool(&a, CKA_SENSITIVE, &b));
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_ulong_getters)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    CK_ULONG v = 77;
    ck_assert(!dmsc_attrs_get_ulong(&a, CKA_CLASS, &v));
    ck_assert_uint_eq(v, 77); /* untouched */
    ck_assert_uint_eq(dmsc_attrs_set_ulong(&a, CKA_CLASS, CKO_SECRET_KEY), CKR_OK);
    ck_assert(dmsc_attrs_get_ulong(&a, CKA_CLASS, &v));
    ck_assert_uint_eq(v, CKO_SECRET_KEY);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(&a, CKA_VALUE_LEN, (CK_ULONG)-2), CKR_OK);
    ck_assert(dmsc_attrs_get_ulong(&a, CKA_VALUE_LEN, &v));
    ck_assert_uint_eq(v, (CK_ULONG)-2);
    /* Wrong lengths. */
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_KEY_TYPE, "\x00\x00\x00\x01", 4), CKR_OK);
    v = 77;
    ck_assert(!dmsc_attrs_get_ulong(&a, CKA_KEY_TYPE, &v));
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_KEY_TYPE, "123456789", 9), CKR_OK);
    ck_assert(!dmsc_attrs_get_ulong(&a, CKA_KEY_TYPE, &v));
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_KEY_TYPE, NULL, 0), CKR_OK);
    ck_assert(!dmsc_attrs_get_ulong(&a, CKA_KEY_TYPE, &v));
    ck_assert_uint_eq(v, 77);
    dmsc_attrs_clear(&a);
}
END_TEST

START_TEST(test_copy)
{
    dmsc_attrs a, b;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, "label", 5), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, NULL, 0), CKR_OK);
    char *v = malloc(6);
    ck_assert_ptr_nonnull(v);
    memcpy(v, "sealed", 6);
    ck_assert_uint_eq(dmsc_attrs_take(&a, CKA_VALUE, v, 6, true), CKR_OK);

    ck_assert_uint_eq(dmsc_attrs_copy(&b, &a), CKR_OK);
    ck_assert_uint_eq(b.n, 3);
    assert_value(&b, CKA_LABEL, "label", 5, false);
    assert_value(&b, CKA_ID, NULL, 0, false);
    assert_value(&b, CKA_VALUE, "sealed", 6, true);
    /* Deep: the copy owns its own buffers. */
    ck_assert_ptr_ne(dmsc_attrs_find(&b, CKA_LABEL)->value, dmsc_attrs_find(&a, CKA_LABEL)->value);
    ck_assert_uint_eq(dmsc_attrs_set(&b, CKA_LABEL, "other", 5), CKR_OK);
    assert_value(&a, CKA_LABEL, "label", 5, false);
    dmsc_attrs_clear(&a);
    assert_value(&b, CKA_VALUE, "sealed", 6, true);
    dmsc_attrs_clear(&b);

    /* Copy of an empty array. */
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_copy(&b, &a), CKR_OK);
    ck_assert_uint_eq(b.n, 0);
    dmsc_attrs_clear(&b);
}
END_TEST

START_TEST(test_size)
{
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_size(&a), 0);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, "12345", 5), CKR_OK);
    size_t one = dmsc_attrs_size(&a);
    ck_assert_uint_ge(one, 5);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VALUE, NULL, 0), CKR_OK);
    size_t two = dmsc_attrs_size(&a);
    ck_assert_uint_gt(two, one); /* even an empty value costs its header */
    unsigned char big[1000] = { 0 };
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_VALUE, big, sizeof(big)), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_size(&a), two + sizeof(big));
    ck_assert(dmsc_attrs_remove(&a, CKA_VALUE));
    ck_assert_uint_eq(dmsc_attrs_size(&a), one);
    dmsc_attrs_clear(&a);
}
END_TEST

/* A blob holding sealed, zero-length, large-type and ordinary values. */
static void sample(dmsc_attrs *a)
{
    dmsc_attrs_init(a);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(a, CKA_CLASS, CKO_DATA), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(a, CKA_LABEL, "a label", 7), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(a, CKA_APPLICATION, NULL, 0), CKR_OK);
    char *v = malloc(40);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < 40; i++)
        v[i] = (char)(i * 7);
    ck_assert_uint_eq(dmsc_attrs_take(a, CKA_VALUE, v, 40, true), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_TOKEN, true), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(a, (CK_ATTRIBUTE_TYPE)0xfedcba9876543210ULL, "hi", 2), CKR_OK);
    char *e = malloc(1);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(dmsc_attrs_take(a, CKA_ID, e, 0, true), CKR_OK); /* sealed, empty */
}

static void serialize(const dmsc_attrs *a, unsigned char **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    ck_assert_uint_eq(dmsc_attrs_serialize(a, blob, len), CKR_OK);
    ck_assert_ptr_nonnull(*blob);
    ck_assert_uint_gt(*len, 0);
}

/* Parse must fail with CKR_DEVICE_ERROR and leave the output empty,
 * reading no byte outside [buf, buf+len) (the copy is exact-size). */
static void assert_parse_fails(const unsigned char *buf, size_t len, const char *what)
{
    unsigned char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len)
        memcpy(copy, buf, len);
    dmsc_attrs out;
    memset(&out, 0xa5, sizeof(out)); /* whatever the caller had there */
    CK_RV rv = dmsc_attrs_parse(copy, len, &out);
    ck_assert_msg(rv == CKR_DEVICE_ERROR, "%s (len %zu): parse returned 0x%lx, expected CKR_DEVICE_ERROR",
                  what, len, (unsigned long)rv);
    ck_assert_attrs_empty(&out);
    free(copy);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

START_TEST(test_roundtrip)
{
    dmsc_attrs a, b;
    sample(&a);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    memset(&b, 0xa5, sizeof(b));
    ck_assert_uint_eq(dmsc_attrs_parse(blob, len, &b), CKR_OK);
    ck_assert_uint_eq(b.n, a.n);
    for (size_t i = 0; i < a.n; i++) {
        /* Same order, type, length, value and sealed flag. */
        ck_assert_uint_eq(b.items[i].type, a.items[i].type);
        assert_value(&b, a.items[i].type, a.items[i].value, a.items[i].len, a.items[i].sealed);
    }
    /* A second serialisation is byte-identical (a stable form). */
    unsigned char *blob2;
    size_t len2;
    serialize(&b, &blob2, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(blob2, blob, len);
    free(blob);
    free(blob2);
    dmsc_attrs_clear(&a);
    dmsc_attrs_clear(&b);

    /* The empty array. */
    dmsc_attrs_init(&a);
    serialize(&a, &blob, &len);
    ck_assert_uint_eq(dmsc_attrs_parse(blob, len, &b), CKR_OK);
    ck_assert_uint_eq(b.n, 0);
    free(blob);
}
END_TEST

START_TEST(test_parse_truncated)
{
    dmsc_attrs a;
    sample(&a);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    for (size_t cut = 0; cut < len; cut++)
        assert_parse_fails(blob, cut, "truncated blob");
    /* NULL buffer */
    dmsc_attrs out;
    ck_assert_uint_eq(dmsc_attrs_parse(NULL, 0, &out), CKR_DEVICE_ERROR);
    ck_assert_attrs_empty(&out);
    free(blob);
}
END_TEST

START_TEST(test_parse_bad_magic)
{
    dmsc_attrs a;
    sample(&a);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    for (size_t i = 0; i < 3; i++) {
        blob[i] ^= 0x20;
        assert_parse_fails(blob, len, "wrong magic");
        blob[i] ^= 0x20;
    }
    /* Sanity: the unmodified blob still parses. */
    ck_assert_uint_eq(dmsc_attrs_parse(blob, len, &a), CKR_OK);
    dmsc_attrs_clear(&a);
    free(blob);
}
END_TEST

START_TEST(test_parse_bad_count)
{
    dmsc_attrs a;
    sample(&a);
    size_t n = a.n;
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    /* The count sits after the 3-byte magic. */
    put32(blob + 3, (uint32_t)n + 1);
    assert_parse_fails(blob, len, "count one too large");
    put32(blob + 3, 0xffffffffu);
    assert_parse_fails(blob, len, "count 2^32-1");
    put32(blob + 3, 100000);
    assert_parse_fails(blob, len, "count 100000");
    /* Count too small leaves trailing bytes. */
    put32(blob + 3, (uint32_t)n - 1);
    assert_parse_fails(blob, len, "count one too small");
    put32(blob + 3, 0);
    assert_parse_fails(blob, len, "count 0 with attributes following");
    free(blob);
}
END_TEST

START_TEST(test_parse_value_past_end)
{
    /* One attribute: header 7, then type 8, flags 1, length 4, value. */
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, "abcd", 4), CKR_OK);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    ck_assert_uint_eq(len, 7 + 13 + 4);
    put32(blob + 7 + 9, 5);
    assert_parse_fails(blob, len, "value length one past the end");
    put32(blob + 7 + 9, 0xffffffffu);
    assert_parse_fails(blob, len, "value length 2^32-1");
    put32(blob + 7 + 9, 0x80000000u);
    assert_parse_fails(blob, len, "value length 2^31");
    /* Shorter length: trailing bytes. */
    put32(blob + 7 + 9, 3);
    assert_parse_fails(blob, len, "value length one short");
    /* A bad flag byte (only 0 and 1 exist). */
    put32(blob + 7 + 9, 4);
    blob[7 + 8] = 2;
    assert_parse_fails(blob, len, "flag byte 2");
    blob[7 + 8] = 0;
    ck_assert_uint_eq(dmsc_attrs_parse(blob, len, &a), CKR_OK);
    assert_value(&a, CKA_LABEL, "abcd", 4, false);
    dmsc_attrs_clear(&a);
    free(blob);
}
END_TEST

START_TEST(test_parse_duplicate)
{
    /* Build two attributes, then give the second the first's type. */
    dmsc_attrs a;
    dmsc_attrs_init(&a);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_LABEL, "ab", 2), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(&a, CKA_ID, "cd", 2), CKR_OK);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    ck_assert_uint_eq(len, 7 + 2 * (13 + 2));
    unsigned char *second = blob + 7 + 13 + 2;
    memcpy(second, blob + 7, 8); /* the type */
    assert_parse_fails(blob, len, "duplicate type");
    free(blob);
}
END_TEST

START_TEST(test_parse_trailing)
{
    dmsc_attrs a;
    sample(&a);
    unsigned char *blob;
    size_t len;
    serialize(&a, &blob, &len);
    dmsc_attrs_clear(&a);
    unsigned char *longer = malloc(len + 16);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, blob, len);
    memset(longer + len, 0, 16);
    assert_parse_fails(longer, len + 1, "one trailing byte");
    assert_parse_fails(longer, len + 13, "a trailing attribute header");
    free(longer);
    free(blob);

    /* The empty array with a trailing byte. */
    dmsc_attrs_init(&a);
    serialize(&a, &blob, &len);
    unsigned char e[8];
    memcpy(e, blob, len);
    e[len] = 0;
    assert_parse_fails(e, len + 1, "empty array plus a byte");
    free(blob);
}
END_TEST

START_TEST(test_template_helpers)
{
    CK_BBOOL t = CK_TRUE, f = CK_FALSE, odd = 0x42;
    CK_ULONG u = 12345;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_TOKEN, &t, sizeof(t) },
        { CKA_PRIVATE, &f, sizeof(f) },
        { CKA_MODIFIABLE, &odd, sizeof(odd) },
        { CKA_CLASS, &u, sizeof(u) },
        { CKA_KEY_TYPE, &u, 4 },
        { CKA_SENSITIVE, NULL, 1 },
    };
    bool b;
    CK_ULONG v;
    ck_assert(dmsc_template_bool(&tmpl[0], &b) && b);
    ck_assert(dmsc_template_bool(&tmpl[1], &b) && !b);
    ck_assert(dmsc_template_bool(&tmpl[2], &b) && b);
    ck_assert(!dmsc_template_bool(&tmpl[3], &b)); /* wrong length */
    ck_assert(!dmsc_template_bool(&tmpl[5], &b)); /* NULL value */
    ck_assert(dmsc_template_ulong(&tmpl[3], &v));
    ck_assert_uint_eq(v, 12345);
    ck_assert(!dmsc_template_ulong(&tmpl[4], &v));
    ck_assert(!dmsc_template_ulong(&tmpl[0], &v));
    ck_assert_ptr_eq(dmsc_template_find(tmpl, 6, CKA_CLASS), &tmpl[3]);
    ck_assert_ptr_null(dmsc_template_find(tmpl, 3, CKA_CLASS));
    ck_assert_ptr_null(dmsc_template_find(NULL, 0, CKA_CLASS));
}
END_TEST

static Suite *attrs_suite(void)
{
    Suite *s = suite_create("attrs");
    TCase *tc = tcase_create("attrs");
    tcase_add_test(tc, test_set_find);
    tcase_add_test(tc, test_set_zero_length_and_bad_args);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_remove);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_bool_getters);
    tcase_add_test(tc, test_ulong_getters);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_template_helpers);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("store form");
    tcase_add_test(tp, test_roundtrip);
    tcase_add_test(tp, test_parse_truncated);
    tcase_add_test(tp, test_parse_bad_magic);
    tcase_add_test(tp, test_parse_bad_count);
    tcase_add_test(tp, test_parse_value_past_end);
    tcase_add_test(tp, test_parse_duplicate);
    tcase_add_test(tp, test_parse_trailing);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(attrs_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
