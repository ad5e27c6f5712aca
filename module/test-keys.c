/* Unit tests for module/keys.c: CKA_PUBLIC_KEY_INFO of generated and
 * created keys (the other conversions are exercised through the API by
 * the crypto tests). */
#include "keys.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

/* A new key pair from OpenSSL: "RSA" (2048), "P-256" or "ED25519". */
static EVP_PKEY *new_key(const char *what)
{
    EVP_PKEY *k = NULL;
    if (strcmp(what, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (strcmp(what, "P-256") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, what);
    ck_assert_ptr_nonnull(k);
    return k;
}

static const dmsc_curve *curve_of(const char *oid_der, size_t len)
{
    const dmsc_curve *c = dmsc_curve_from_params(oid_der, len);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* The attribute must be exactly OpenSSL's SubjectPublicKeyInfo of k. */
static void assert_spki(const dmsc_attrs *o, const EVP_PKEY *k)
{
    unsigned char *want = NULL;
    int want_len = i2d_PUBKEY(k, &want);
    ck_assert_int_gt(want_len, 0);
    const dmsc_attr *a = dmsc_attrs_find(o, CKA_PUBLIC_KEY_INFO);
    ck_assert_msg(a != NULL, "CKA_PUBLIC_KEY_INFO missing");
    ck_assert_uint_eq(a->len, (CK_ULONG)want_len);
    ck_assert_mem_eq(a->value, want, (size_t)want_len);
    OPENSSL_free(want);
}

static const char P256_OID[] = "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
static const char ED25519_OID[] = "\x06\x03\x2b\x65\x70";

START_TEST(test_generated_pairs_have_spki)
{
    static const struct {
        const char *what;
        CK_KEY_TYPE type;
        const char *oid;
        size_t oid_len;
    } cases[] = {
        { "RSA", CKK_RSA, NULL, 0 },
        { "P-256", CKK_EC, P256_OID, sizeof(P256_OID) - 1 },
        { "ED25519", CKK_EC_EDWARDS, ED25519_OID, sizeof(ED25519_OID) - 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EVP_PKEY *k = new_key(cases[i].what);
        const dmsc_curve *c = cases[i].oid ? curve_of(cases[i].oid, cases[i].oid_len) : NULL;
        dmsc_attrs pub, priv;
        dmsc_attrs_init(&pub);
        dmsc_attrs_init(&priv);
        ck_assert_uint_eq(dmsc_pkey_to_attrs(k, cases[i].type, c, &pub, &priv), CKR_OK);
        /* Both halves name the same public key. */
        assert_spki(&pub, k);
        assert_spki(&priv, k);
        dmsc_attrs_clear(&pub);
        dmsc_attrs_clear(&priv);
        EVP_PKEY_free(k);
    }
}
END_TEST

/* A key object's attributes as C_CreateObject would have them. */
static void object_from(EVP_PKEY *k, CK_OBJECT_CLASS klass, CK_KEY_TYPE type, const dmsc_curve *c,
                        dmsc_attrs *o)
{
    dmsc_attrs_init(o);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(o, CKA_CLASS, klass), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(o, CKA_KEY_TYPE, type), CKR_OK);
    ck_assert_uint_eq(dmsc_pkey_to_attrs(k, type, c, klass == CKO_PUBLIC_KEY ? o : NULL,
                                         klass == CKO_PRIVATE_KEY ? o : NULL), CKR_OK);
    /* As the policy's default leaves it: present and empty. */
    ck_assert_uint_eq(dmsc_attrs_set(o, CKA_PUBLIC_KEY_INFO, NULL, 0), CKR_OK);
}

START_TEST(test_created_keys_get_spki)
{
    const dmsc_curve *p256 = curve_of(P256_OID, sizeof(P256_OID) - 1);
    EVP_PKEY *rsa = new_key("RSA"), *ec = new_key("P-256");
    dmsc_attrs o;

    object_from(rsa, CKO_PUBLIC_KEY, CKK_RSA, NULL, &o);
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    assert_spki(&o, rsa);
    dmsc_attrs_clear(&o);

    object_from(rsa, CKO_PRIVATE_KEY, CKK_RSA, NULL, &o);
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    assert_spki(&o, rsa);
    dmsc_attrs_clear(&o);

    object_from(ec, CKO_PUBLIC_KEY, CKK_EC, p256, &o);
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    assert_spki(&o, ec);
    dmsc_attrs_clear(&o);

    /* An EC private key holds no point: the public half is computed. */
    object_from(ec, CKO_PRIVATE_KEY, CKK_EC, p256, &o);
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_EC_POINT));
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    assert_spki(&o, ec);
    dmsc_attrs_clear(&o);

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}
END_TEST

START_TEST(test_spki_left_alone)
{
    EVP_PKEY *rsa = new_key("RSA");
    dmsc_attrs o;

    /* The template's own value stands. */
    object_from(rsa, CKO_PUBLIC_KEY, CKK_RSA, NULL, &o);
    ck_assert_uint_eq(dmsc_attrs_set(&o, CKA_PUBLIC_KEY_INFO, "given", 5), CKR_OK);
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    const dmsc_attr *a = dmsc_attrs_find(&o, CKA_PUBLIC_KEY_INFO);
    ck_assert_uint_eq(a->len, 5);
    ck_assert_mem_eq(a->value, "given", 5);
    dmsc_attrs_clear(&o);

    /* An RSA private key without its public exponent: no public half to
     * state, the value stays empty and creation goes on. */
    object_from(rsa, CKO_PRIVATE_KEY, CKK_RSA, NULL, &o);
    ck_assert(dmsc_attrs_remove(&o, CKA_PUBLIC_EXPONENT));
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_find(&o, CKA_PUBLIC_KEY_INFO)->len, 0);
    dmsc_attrs_clear(&o);

    /* Not a public or private key: untouched. */
    dmsc_attrs_init(&o);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(&o, CKA_CLASS, CKO_DATA), CKR_OK);
    ck_assert_uint_eq(dmsc_pkey_spki_fill(NULL, &o), CKR_OK);
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_PUBLIC_KEY_INFO));
    dmsc_attrs_clear(&o);

    EVP_PKEY_free(rsa);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("spki");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_generated_pairs_have_spki);
    tcase_add_test(tc, test_created_keys_get_spki);
    tcase_add_test(tc, test_spki_left_alone);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
