/* Unit tests for module/map.c: the 64-bit key hash map. */
#include "map.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A value for key k that no other key shares. */
#define VAL(k) ((void *)(uintptr_t)((k) * 2 + 1))

/* A spread of keys: never 0 nor UINT64_MAX. */
static uint64_t key_of(uint64_t i)
{
    uint64_t k = (i + 1) * 0x9e3779b97f4a7c15ULL;
    if (k == 0 || k == UINT64_MAX)
        k = i + 1;
    return k;
}

START_TEST(test_empty)
{
    dmsc_map m;
    dmsc_map_init(&m);
    ck_assert_ptr_null(dmsc_map_get(&m, 1));
    ck_assert_ptr_null(dmsc_map_remove(&m, 1));
    size_t it = 0;
    uint64_t k;
    void *v;
    ck_assert(!dmsc_map_next(&m, &it, &k, &v));
    ck_assert_uint_eq(m.count, 0);
    dmsc_map_clear(&m);
    dmsc_map_clear(&m); /* twice is fine */
}
END_TEST

START_TEST(test_put_get_remove)
{
    dmsc_map m;
    dmsc_map_init(&m);
    ck_assert(dmsc_map_put(&m, 1, VAL(1)));
    ck_assert(dmsc_map_put(&m, 42, VAL(42)));
    ck_assert_uint_eq(m.count, 2);
    ck_assert_ptr_eq(dmsc_map_get(&m, 1), VAL(1));
    ck_assert_ptr_eq(dmsc_map_get(&m, 42), VAL(42));
    ck_assert_ptr_null(dmsc_map_get(&m, 2));
    /* Overwrite: one entry, new value. */
    ck_assert(dmsc_map_put(&m, 42, VAL(4242)));
    ck_assert_uint_eq(m.count, 2);
    ck_assert_ptr_eq(dmsc_map_get(&m, 42), VAL(4242));
    /* Remove gives the value back, once. */
    ck_assert_ptr_eq(dmsc_map_remove(&m, 42), VAL(4242));
    ck_assert_uint_eq(m.count, 1);
    ck_assert_ptr_null(dmsc_map_get(&m, 42));
    ck_assert_ptr_null(dmsc_map_remove(&m, 42));
    ck_assert_ptr_eq(dmsc_map_get(&m, 1), VAL(1));
    /* A NULL value is storable (get cannot tell it from absent, by design). */
    ck_assert(dmsc_map_put(&m, 7, NULL));
    ck_assert_uint_eq(m.count, 2);
    dmsc_map_clear(&m);
    ck_assert_uint_eq(m.count, 0);
    ck_assert_ptr_null(dmsc_map_get(&m, 1));
}
END_TEST

START_TEST(test_reserved_keys)
{
    dmsc_map m;
    dmsc_map_init(&m);
    ck_assert(!dmsc_map_put(&m, 0, VAL(0)));
    ck_assert(!dmsc_map_put(&m, UINT64_MAX, VAL(1)));
    ck_assert_uint_eq(m.count, 0);
    ck_assert_ptr_null(dmsc_map_get(&m, 0));
    ck_assert_ptr_null(dmsc_map_get(&m, UINT64_MAX));
    /* Also refused on a map with entries and tombstones. */
    for (uint64_t k = 1; k <= 20; k++)
        ck_assert(dmsc_map_put(&m, k, VAL(k)));
    for (uint64_t k = 1; k <= 10; k++)
        ck_assert_ptr_eq(dmsc_map_remove(&m, k), VAL(k));
    ck_assert(!dmsc_map_put(&m, 0, VAL(0)));
    ck_assert(!dmsc_map_put(&m, UINT64_MAX, VAL(1)));
    ck_assert_ptr_null(dmsc_map_get(&m, UINT64_MAX)); /* not a tombstone's value */
    ck_assert_ptr_null(dmsc_map_get(&m, 0));
    ck_assert_ptr_null(dmsc_map_remove(&m, UINT64_MAX));
    ck_assert_ptr_null(dmsc_map_remove(&m, 0));
    ck_assert_uint_eq(m.count, 10);
    for (uint64_t k = 11; k <= 20; k++)
        ck_assert_ptr_eq(dmsc_map_get(&m, k), VAL(k));
    /* UINT64_MAX - 1 and 1 are ordinary keys. */
    ck_assert(dmsc_map_put(&m, UINT64_MAX - 1, VAL(3)));
    ck_assert_ptr_eq(dmsc_map_get(&m, UINT64_MAX - 1), VAL(3));
    dmsc_map_clear(&m);
}
END_TEST

static void check_growth(uint64_t (*kf)(uint64_t), size_t n)
{
    dmsc_map m;
    dmsc_map_init(&m);
    for (size_t i = 0; i < n; i++) {
        ck_assert(dmsc_map_put(&m, kf(i), VAL(kf(i))));
        ck_assert_uint_eq(m.count, i + 1);
    }
    ck_assert_uint_ge(m.cap, n);
    ck_assert_uint_eq(m.cap & (m.cap - 1), 0); /* a power of two */
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_eq(dmsc_map_get(&m, kf(i)), VAL(kf(i)));
    ck_assert_ptr_null(dmsc_map_get(&m, kf(n)));
    dmsc_map_clear(&m);
}

static uint64_t seq_key(uint64_t i) { return i + 1; }
static uint64_t high_key(uint64_t i) { return (i + 1) << 32; } /* low bits all zero */

START_TEST(test_growth)
{
    check_growth(key_of, 20000);
    check_growth(seq_key, 20000);   /* handles are sequential */
    check_growth(high_key, 5000);
}
END_TEST

START_TEST(test_remove_reput)
{
    dmsc_map m;
    dmsc_map_init(&m);
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert(dmsc_map_put(&m, key_of(i), VAL(i)));
    for (uint64_t i = 0; i < 3000; i += 2)
        ck_assert_ptr_eq(dmsc_map_remove(&m, key_of(i)), VAL(i));
    ck_assert_uint_eq(m.count, 1500);
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert_ptr_eq(dmsc_map_get(&m, key_of(i)), i % 2 ? VAL(i) : NULL);
    /* Re-put the removed keys with new values: each is back once. */
    for (uint64_t i = 0; i < 3000; i += 2)
        ck_assert(dmsc_map_put(&m, key_of(i), VAL(i + 100000)));
    ck_assert_uint_eq(m.count, 3000);
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert_ptr_eq(dmsc_map_get(&m, key_of(i)), i % 2 ? VAL(i) : VAL(i + 100000));
    /* A re-put must not leave a second live copy behind a tombstone:
     * removing once makes the key absent. */
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert_ptr_nonnull(dmsc_map_remove(&m, key_of(i)));
    ck_assert_uint_eq(m.count, 0);
    for (uint64_t i = 0; i < 3000; i++)
        ck_assert_ptr_null(dmsc_map_get(&m, key_of(i)));
    size_t it = 0;
    ck_assert(!dmsc_map_next(&m, &it, NULL, NULL));
    dmsc_map_clear(&m);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_iterate)
{
    dmsc_map m;
    dmsc_map_init(&m);
    const size_t n = 5000;
    for (size_t i = 0; i < n; i++)
        ck_assert(dmsc_map_put(&m, key_of(i), VAL(key_of(i))));
    /* Remove every third key. */
    size_t live = n;
    for (size_t i = 0; i < n; i += 3) {
        ck_assert_ptr_nonnull(dmsc_map_remove(&m, key_of(i)));
        live--;
    }
    uint64_t *seen = calloc(n, sizeof(*seen));
    ck_assert_ptr_nonnull(seen);
    size_t it = 0, count = 0;
    uint64_t k;
    void *v;
    while (dmsc_map_next(&m, &it, &k, &v)) {
        ck_assert_uint_lt(count, n);
        ck_assert(k != 0 && k != UINT64_MAX);
        ck_assert_ptr_eq(v, VAL(k));
        seen[count++] = k;
    }
    ck_assert_uint_eq(count, live);
    ck_assert_uint_eq(count, m.count);
    /* Each live key exactly once. */
    qsort(seen, count, sizeof(*seen), cmp_u64);
    for (size_t i = 1; i < count; i++)
        ck_assert_uint_ne(seen[i - 1], seen[i]);
    for (size_t i = 0; i < n; i++) {
        uint64_t key = key_of(i);
        bool found = bsearch(&key, seen, count, sizeof(*seen), cmp_u64) != NULL;
        ck_assert_int_eq(found, i % 3 != 0);
    }
    /* The iterator stays at the end. */
    ck_assert(!dmsc_map_next(&m, &it, &k, &v));
    free(seen);
    dmsc_map_clear(&m);
}
END_TEST

START_TEST(test_tombstone_reuse)
{
    dmsc_map m;
    dmsc_map_init(&m);
    /* A window of 8 live keys slides over 200000 distinct keys: every
     * put follows a remove, so tombstones pile up unless reused or
     * swept. The count must stay right and the table must stay small. */
    const uint64_t window = 8, total = 200000;
    for (uint64_t i = 0; i < total; i++) {
        ck_assert(dmsc_map_put(&m, key_of(i), VAL(i)));
        if (i >= window)
            ck_assert_ptr_eq(dmsc_map_remove(&m, key_of(i - window)), VAL(i - window));
        ck_assert_uint_eq(m.count, i < window ? i + 1 : window);
        ck_assert_uint_le(m.count, m.used);
        ck_assert_uint_lt(m.used, m.cap);
    }
    ck_assert_uint_le(m.cap, 64);
    for (uint64_t i = total - window; i < total; i++)
        ck_assert_ptr_eq(dmsc_map_get(&m, key_of(i)), VAL(i));
    ck_assert_ptr_null(dmsc_map_get(&m, key_of(total - window - 1)));

    /* The same key put and removed over and over. */
    dmsc_map_clear(&m);
    for (int i = 0; i < 100000; i++) {
        ck_assert(dmsc_map_put(&m, 99, VAL(i)));
        ck_assert_uint_eq(m.count, 1);
        ck_assert_ptr_eq(dmsc_map_remove(&m, 99), VAL(i));
        ck_assert_uint_eq(m.count, 0);
    }
    ck_assert_uint_le(m.cap, 64);
    ck_assert_ptr_null(dmsc_map_get(&m, 99));
    /* Lookups of absent keys terminate on a table full of tombstones. */
    for (uint64_t k = 1000; k < 2000; k++)
        ck_assert_ptr_null(dmsc_map_get(&m, k));
    dmsc_map_clear(&m);
}
END_TEST

START_TEST(test_hash_bytes)
{
    uint64_t a = dmsc_hash_bytes("abc", 3), b = dmsc_hash_bytes("abd", 3);
    ck_assert_uint_eq(a, dmsc_hash_bytes("abc", 3));
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(dmsc_hash_bytes("", 0), 0);
    ck_assert_uint_ne(dmsc_hash_bytes(NULL, 0), UINT64_MAX);
    /* 64-bit FNV-1a of "a" (published test vector). */
    ck_assert_uint_eq(dmsc_hash_bytes("a", 1), 0xaf63dc4c8601ec8cULL);
    for (uint32_t i = 0; i < 100000; i++) {
        uint64_t h = dmsc_hash_bytes(&i, sizeof(i));
        ck_assert(h != 0 && h != UINT64_MAX);
    }
}
END_TEST

static Suite *map_suite(void)
{
    Suite *s = suite_create("map");
    TCase *tc = tcase_create("map");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_put_get_remove);
    tcase_add_test(tc, test_reserved_keys);
    tcase_add_test(tc, test_growth);
    tcase_add_test(tc, test_remove_reput);
    tcase_add_test(tc, test_iterate);
    tcase_add_test(tc, test_tombstone_reuse);
    tcase_add_test(tc, test_hash_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(map_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
