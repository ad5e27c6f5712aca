/* Unit tests for module/policy.c: the attribute policy. */
#include "policy.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static const dmsc_policy_who NOBODY = { false, false };
static const dmsc_policy_who USER = { false, true };
static const dmsc_policy_who SO = { true, false };

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS c_data = CKO_DATA, c_cert = CKO_CERTIFICATE, c_pub = CKO_PUBLIC_KEY,
                       c_priv = CKO_PRIVATE_KEY, c_secret = CKO_SECRET_KEY;
static CK_KEY_TYPE k_aes = CKK_AES, k_rsa = CKK_RSA, k_generic = CKK_GENERIC_SECRET;
static CK_CERTIFICATE_TYPE x509 = CKC_X_509;

#define ATTR(t, v) { (t), (void *)&(v), sizeof(v) }
#define ATTR_BYTES(t, p, n) { (t), (void *)(p), (n) }

static void assert_bool(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool want)
{
    bool b = !want;
    ck_assert_msg(dmsc_attrs_get_bool(a, type, &b), "boolean 0x%lx missing or malformed",
                  (unsigned long)type);
    ck_assert_msg(b == want, "boolean 0x%lx is %d, expected %d", (unsigned long)type, b, want);
    /* Stored normalised, as CK_TRUE or CK_FALSE. */
    const dmsc_attr *at = dmsc_attrs_find(a, type);
    ck_assert_uint_eq(*(const CK_BBOOL *)at->value, want ? CK_TRUE : CK_FALSE);
}

static void assert_ulong(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG want)
{
    CK_ULONG v = ~want;
    ck_assert_msg(dmsc_attrs_get_ulong(a, type, &v), "ulong 0x%lx missing or malformed",
                  (unsigned long)type);
    ck_assert_uint_eq(v, want);
}

static void assert_bytes(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, const void *want, size_t len)
{
    const dmsc_attr *at = dmsc_attrs_find(a, type);
    ck_assert_msg(at != NULL, "attribute 0x%lx missing", (unsigned long)type);
    ck_assert_uint_eq(at->len, len);
    if (len)
        ck_assert_mem_eq(at->value, want, len);
}

/* Create must fail with want, leaving out empty. */
static void create_fails(const CK_ATTRIBUTE *t, CK_ULONG n, dmsc_policy_who who, CK_RV want,
                         const char *what)
{
    dmsc_attrs out;
    memset(&out, 0x5a, sizeof(out));
    CK_RV rv = dmsc_policy_create(t, n, who, &out);
    ck_assert_msg(rv == want, "%s: got 0x%lx, expected 0x%lx", what, (unsigned long)rv,
                  (unsigned long)want);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_ptr_null(out.items);
}

static void create_ok(const CK_ATTRIBUTE *t, CK_ULONG n, dmsc_policy_who who, dmsc_attrs *out)
{
    CK_RV rv = dmsc_policy_create(t, n, who, out);
    ck_assert_msg(rv == CKR_OK, "create: got 0x%lx", (unsigned long)rv);
}

static void modify_fails(const dmsc_attrs *obj, const CK_ATTRIBUTE *t, CK_ULONG n,
                         dmsc_policy_who who, bool copying, CK_RV want, const char *what)
{
    dmsc_attrs out;
    memset(&out, 0x5a, sizeof(out));
    CK_RV rv = dmsc_policy_modify(obj, t, n, who, copying, &out);
    ck_assert_msg(rv == want, "%s: got 0x%lx, expected 0x%lx", what, (unsigned long)rv,
                  (unsigned long)want);
    ck_assert_uint_eq(out.n, 0);
    ck_assert_ptr_null(out.items);
}

static void modify_ok(const dmsc_attrs *obj, const CK_ATTRIBUTE *t, CK_ULONG n, dmsc_policy_who who,
                      bool copying, dmsc_attrs *out, const char *what)
{
    CK_RV rv = dmsc_policy_modify(obj, t, n, who, copying, out);
    ck_assert_msg(rv == CKR_OK, "%s: got 0x%lx", what, (unsigned long)rv);
}

/* ---- creation: data objects ---- */

START_TEST(test_data_defaults)
{
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_data) };
    dmsc_attrs o;
    create_ok(t, 1, NOBODY, &o);
    assert_ulong(&o, CKA_CLASS, CKO_DATA);
    assert_bool(&o, CKA_TOKEN, false);
    assert_bool(&o, CKA_PRIVATE, false);
    assert_bool(&o, CKA_MODIFIABLE, true);
    assert_bool(&o, CKA_COPYABLE, true);
    assert_bool(&o, CKA_DESTROYABLE, true);
    assert_bytes(&o, CKA_LABEL, NULL, 0);
    assert_bytes(&o, CKA_APPLICATION, NULL, 0);
    assert_bytes(&o, CKA_OBJECT_ID, NULL, 0);
    assert_bytes(&o, CKA_VALUE, NULL, 0);
    /* Nothing of another class crept in. */
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_KEY_TYPE));
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_SENSITIVE));
    ck_assert_uint_eq(dmsc_policy_class(&o), CKO_DATA);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_data_given_values)
{
    CK_BBOOL odd_true = 0x7f;
    CK_ATTRIBUTE t[] = {
        ATTR_BYTES(CKA_LABEL, "my label", 8),
        ATTR(CKA_CLASS, c_data),
        ATTR(CKA_TOKEN, odd_true),
        ATTR(CKA_PRIVATE, yes),
        ATTR(CKA_MODIFIABLE, no),
        ATTR_BYTES(CKA_APPLICATION, "app", 3),
        ATTR_BYTES(CKA_VALUE, "\x00\x01\x02\x03", 4),
    };
    dmsc_attrs o;
    create_ok(t, DMSC_N_ELEMENTS(t), USER, &o);
    assert_bytes(&o, CKA_LABEL, "my label", 8);
    assert_bool(&o, CKA_TOKEN, true); /* 0x7f normalised to CK_TRUE */
    assert_bool(&o, CKA_PRIVATE, true);
    assert_bool(&o, CKA_MODIFIABLE, false);
    assert_bool(&o, CKA_COPYABLE, true);
    assert_bytes(&o, CKA_APPLICATION, "app", 3);
    assert_bytes(&o, CKA_VALUE, "\x00\x01\x02\x03", 4);
    assert_bytes(&o, CKA_OBJECT_ID, NULL, 0);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_create_class_errors)
{
    CK_ATTRIBUTE none[] = { ATTR_BYTES(CKA_LABEL, "x", 1) };
    create_fails(none, 1, NOBODY, CKR_TEMPLATE_INCOMPLETE, "no CKA_CLASS");
    create_fails(NULL, 0, NOBODY, CKR_TEMPLATE_INCOMPLETE, "empty template");

    CK_OBJECT_CLASS unknown = CKO_VENDOR_DEFINED + 5, hw = CKO_HW_FEATURE;
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, unknown) };
    create_fails(t1, 1, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "vendor class");
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, hw) };
    create_fails(t2, 1, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "hardware feature class");
    uint32_t short_class = CKO_DATA;
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, short_class) };
    create_fails(t3, 1, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "4-byte CKA_CLASS");
    CK_ATTRIBUTE t4[] = { { CKA_CLASS, NULL, sizeof(CK_ULONG) } };
    create_fails(t4, 1, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "NULL CKA_CLASS value");
}
END_TEST

START_TEST(test_create_foreign_attribute)
{
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, c_data), ATTR_BYTES(CKA_MODULUS, "\xc1\x00", 2) };
    create_fails(t1, 2, USER, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_MODULUS on CKO_DATA");
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_KEY_TYPE, k_aes) };
    create_fails(t2, 2, USER, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_KEY_TYPE on CKO_DATA");
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_SENSITIVE, yes) };
    create_fails(t3, 2, USER, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_SENSITIVE on CKO_DATA");
    CK_ULONG vendor = 1;
    CK_ATTRIBUTE t4[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_VENDOR_DEFINED + 1, vendor) };
    create_fails(t4, 2, USER, CKR_ATTRIBUTE_TYPE_INVALID, "unknown vendor attribute");
    /* An RSA attribute on an AES key. */
    unsigned char key[16] = { 0 };
    CK_ATTRIBUTE t5[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes),
                          ATTR(CKA_VALUE, key), ATTR_BYTES(CKA_MODULUS, "\xc1", 1) };
    create_fails(t5, 4, USER, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_MODULUS on an AES key");
}
END_TEST

START_TEST(test_create_bad_values)
{
    uint32_t four = 1;
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_TOKEN, four) };
    create_fails(t1, 2, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "4-byte CKA_TOKEN");
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, c_data), { CKA_PRIVATE, &yes, 0 } };
    create_fails(t2, 2, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "0-byte CKA_PRIVATE");
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, c_data), { CKA_LABEL, NULL, 5 } };
    create_fails(t3, 2, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "NULL label with a length");
    CK_ATTRIBUTE t4[] = { ATTR(CKA_CLASS, c_data), { CKA_TOKEN, NULL, 1 } };
    create_fails(t4, 2, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "NULL CKA_TOKEN");
    /* Dates are 8 digits or empty. */
    unsigned char key[16] = { 0 };
    CK_ATTRIBUTE t5[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR_BYTES(CKA_START_DATE, "2024011", 7) };
    create_fails(t5, 4, USER, CKR_ATTRIBUTE_VALUE_INVALID, "7-byte date");
    CK_ATTRIBUTE t6[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR_BYTES(CKA_START_DATE, "2024O101", 8) };
    create_fails(t6, 4, USER, CKR_ATTRIBUTE_VALUE_INVALID, "date with a letter");
    CK_ATTRIBUTE t7[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR_BYTES(CKA_START_DATE, "20240101", 8) };
    dmsc_attrs o;
    create_ok(t7, 4, USER, &o);
    assert_bytes(&o, CKA_START_DATE, "20240101", 8);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_create_duplicate)
{
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, c_data), ATTR_BYTES(CKA_LABEL, "a", 1),
                          ATTR_BYTES(CKA_LABEL, "b", 1) };
    create_fails(t1, 3, NOBODY, CKR_TEMPLATE_INCONSISTENT, "two labels");
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, c_data), ATTR_BYTES(CKA_LABEL, "a", 1),
                          ATTR_BYTES(CKA_LABEL, "a", 1) };
    create_fails(t2, 3, NOBODY, CKR_TEMPLATE_INCONSISTENT, "the same label twice");
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_CLASS, c_data) };
    create_fails(t3, 2, NOBODY, CKR_TEMPLATE_INCONSISTENT, "two classes");
}
END_TEST

START_TEST(test_create_read_only)
{
    unsigned char key[32] = { 1 };
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR(CKA_LOCAL, yes) };
    create_fails(t1, 4, USER, CKR_ATTRIBUTE_READ_ONLY, "CKA_LOCAL = TRUE");
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR(CKA_LOCAL, no) };
    create_fails(t2, 4, USER, CKR_ATTRIBUTE_READ_ONLY, "CKA_LOCAL = FALSE");
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR(CKA_ALWAYS_SENSITIVE, yes) };
    create_fails(t3, 4, USER, CKR_ATTRIBUTE_READ_ONLY, "CKA_ALWAYS_SENSITIVE");
    CK_ULONG len = 32;
    CK_ATTRIBUTE t4[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                          ATTR(CKA_VALUE_LEN, len) };
    create_fails(t4, 4, USER, CKR_ATTRIBUTE_READ_ONLY, "CKA_VALUE_LEN on import");
}
END_TEST

/* ---- certificates ---- */

/* A self-signed EC P-256 certificate, DER, made with OpenSSL. */
static unsigned char *make_cert(int *len, X509 **out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(key);
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(X509_set_version(x, 2), 1);
    ck_assert_int_eq(ASN1_INTEGER_set_int64(X509_get_serialNumber(x), 0x1234567890LL), 1);
    X509_NAME *subject = X509_NAME_new();
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)"dmsc unit test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, (const unsigned char *)"dmsc", -1, -1, 0);
    X509_NAME *issuer = X509_NAME_new();
    X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, (const unsigned char *)"dmsc test CA", -1, -1, 0);
    ck_assert_int_eq(X509_set_subject_name(x, subject), 1);
    ck_assert_int_eq(X509_set_issuer_name(x, issuer), 1);
    X509_NAME_free(subject);
    X509_NAME_free(issuer);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    ck_assert_int_eq(X509_set_pubkey(x, key), 1);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    unsigned char *der = NULL;
    *len = i2d_X509(x, &der);
    ck_assert_int_gt(*len, 0);
    EVP_PKEY_free(key);
    *out = x;
    return der;
}

static void assert_der(const dmsc_attrs *o, CK_ATTRIBUTE_TYPE type, unsigned char *der, int len)
{
    ck_assert_int_gt(len, 0);
    assert_bytes(o, type, der, (size_t)len);
    OPENSSL_free(der);
}

START_TEST(test_cert_fills_der)
{
    int len;
    X509 *x;
    unsigned char *der = make_cert(&len, &x);
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                         ATTR_BYTES(CKA_VALUE, der, (CK_ULONG)len), ATTR_BYTES(CKA_LABEL, "c", 1) };
    dmsc_attrs o;
    create_ok(t, DMSC_N_ELEMENTS(t), NOBODY, &o);
    assert_bytes(&o, CKA_VALUE, der, (size_t)len);
    unsigned char *p = NULL;
    int l = i2d_X509_NAME(X509_get_subject_name(x), &p);
    assert_der(&o, CKA_SUBJECT, p, l);
    p = NULL;
    l = i2d_X509_NAME(X509_get_issuer_name(x), &p);
    assert_der(&o, CKA_ISSUER, p, l);
    p = NULL;
    l = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &p);
    assert_der(&o, CKA_SERIAL_NUMBER, p, l);
    p = NULL;
    l = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p);
    assert_der(&o, CKA_PUBLIC_KEY_INFO, p, l);
    /* The check value: the first three bytes of the SHA-1 of the DER. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ck_assert_int_eq(EVP_Digest(der, (size_t)len, md, &md_len, EVP_sha1(), NULL), 1);
    assert_bytes(&o, CKA_CHECK_VALUE, md, 3);
    assert_ulong(&o, CKA_CERTIFICATE_TYPE, CKC_X_509);
    assert_bool(&o, CKA_TRUSTED, false);
    assert_bool(&o, CKA_PRIVATE, false);
    dmsc_attrs_clear(&o);
    X509_free(x);
    OPENSSL_free(der);
}
END_TEST

START_TEST(test_cert_required)
{
    int len;
    X509 *x;
    unsigned char *der = make_cert(&len, &x);
    CK_ATTRIBUTE no_type[] = { ATTR(CKA_CLASS, c_cert), ATTR_BYTES(CKA_VALUE, der, (CK_ULONG)len) };
    create_fails(no_type, 2, NOBODY, CKR_TEMPLATE_INCOMPLETE, "certificate without CKA_CERTIFICATE_TYPE");
    CK_ATTRIBUTE no_value[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509) };
    create_fails(no_value, 2, NOBODY, CKR_TEMPLATE_INCOMPLETE, "certificate without CKA_VALUE");
    CK_CERTIFICATE_TYPE wtls = CKC_WTLS;
    CK_ATTRIBUTE other[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, wtls),
                             ATTR_BYTES(CKA_VALUE, der, (CK_ULONG)len) };
    create_fails(other, 3, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "WTLS certificate");
    CK_ATTRIBUTE empty[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                             ATTR_BYTES(CKA_VALUE, der, 0) };
    create_fails(empty, 3, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "empty certificate value");
    X509_free(x);
    OPENSSL_free(der);
}
END_TEST

START_TEST(test_cert_bad_der)
{
    int len;
    X509 *x;
    unsigned char *der = make_cert(&len, &x);
    unsigned char garbage[200];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (unsigned char)(i * 37 + 11);
    CK_ATTRIBUTE t1[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                          ATTR(CKA_VALUE, garbage) };
    create_fails(t1, 3, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "garbage DER");

    unsigned char *longer = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, der, (size_t)len);
    longer[len] = 0;
    CK_ATTRIBUTE t2[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                          ATTR_BYTES(CKA_VALUE, longer, (CK_ULONG)len + 1) };
    create_fails(t2, 3, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "DER with a trailing byte");
    CK_ATTRIBUTE t3[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                          ATTR_BYTES(CKA_VALUE, der, (CK_ULONG)len - 1) };
    create_fails(t3, 3, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "DER one byte short");
    free(longer);
    X509_free(x);
    OPENSSL_free(der);
}
END_TEST

START_TEST(test_cert_trusted)
{
    int len;
    X509 *x;
    unsigned char *der = make_cert(&len, &x);
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_cert), ATTR(CKA_CERTIFICATE_TYPE, x509),
                         ATTR_BYTES(CKA_VALUE, der, (CK_ULONG)len), ATTR(CKA_TRUSTED, yes) };
    create_fails(t, 4, NOBODY, CKR_ATTRIBUTE_READ_ONLY, "CKA_TRUSTED by nobody");
    create_fails(t, 4, USER, CKR_ATTRIBUTE_READ_ONLY, "CKA_TRUSTED by the user");
    dmsc_attrs o;
    create_ok(t, 4, SO, &o);
    assert_bool(&o, CKA_TRUSTED, true);
    dmsc_attrs_clear(&o);
    /* FALSE needs nobody. */
    t[3].pValue = &no;
    create_ok(t, 4, USER, &o);
    assert_bool(&o, CKA_TRUSTED, false);

    /* And on modification: only the SO turns it on. */
    CK_ATTRIBUTE on[] = { ATTR(CKA_TRUSTED, yes) };
    modify_fails(&o, on, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "set CKA_TRUSTED by the user");
    dmsc_attrs m;
    modify_ok(&o, on, 1, SO, false, &m, "set CKA_TRUSTED by the SO");
    assert_bool(&m, CKA_TRUSTED, true);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
    X509_free(x);
    OPENSSL_free(der);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_secret_key)
{
    unsigned char key[33];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(0xa0 + i);
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes),
                         ATTR_BYTES(CKA_VALUE, key, 15) };
    create_fails(t, 3, USER, CKR_ATTRIBUTE_VALUE_INVALID, "AES key of 15 bytes");
    t[2].ulValueLen = 33;
    create_fails(t, 3, USER, CKR_ATTRIBUTE_VALUE_INVALID, "AES key of 33 bytes");
    t[2].ulValueLen = 0;
    create_fails(t, 3, USER, CKR_ATTRIBUTE_VALUE_INVALID, "AES key of 0 bytes");
    static const CK_ULONG good[] = { 16, 24, 32 };
    for (size_t i = 0; i < DMSC_N_ELEMENTS(good); i++) {
        t[2].ulValueLen = good[i];
        dmsc_attrs o;
        create_ok(t, 3, USER, &o);
        assert_ulong(&o, CKA_VALUE_LEN, good[i]);
        assert_bytes(&o, CKA_VALUE, key, good[i]);
        if (good[i] == 32) {
            /* Defaults of a key holding a secret. */
            assert_bool(&o, CKA_PRIVATE, true);
            assert_bool(&o, CKA_SENSITIVE, true);
            assert_bool(&o, CKA_EXTRACTABLE, false);
            assert_bool(&o, CKA_LOCAL, false);
            assert_bool(&o, CKA_ALWAYS_SENSITIVE, false);
            assert_bool(&o, CKA_NEVER_EXTRACTABLE, false);
            assert_ulong(&o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
            assert_ulong(&o, CKA_KEY_TYPE, CKK_AES);
        }
        dmsc_attrs_clear(&o);
    }
    /* A generic secret may have any non-zero length. */
    CK_ATTRIBUTE g[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_generic),
                         ATTR_BYTES(CKA_VALUE, key, 7) };
    dmsc_attrs o;
    create_ok(g, 3, USER, &o);
    assert_ulong(&o, CKA_VALUE_LEN, 7);
    dmsc_attrs_clear(&o);
    /* Missing pieces. */
    CK_ATTRIBUTE no_type[] = { ATTR(CKA_CLASS, c_secret), ATTR_BYTES(CKA_VALUE, key, 16) };
    create_fails(no_type, 2, USER, CKR_TEMPLATE_INCOMPLETE, "secret key without CKA_KEY_TYPE");
    CK_ATTRIBUTE no_value[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes) };
    create_fails(no_value, 2, USER, CKR_TEMPLATE_INCOMPLETE, "secret key without CKA_VALUE");
    CK_ATTRIBUTE rsa_secret[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_rsa),
                                  ATTR_BYTES(CKA_VALUE, key, 16) };
    create_fails(rsa_secret, 3, USER, CKR_ATTRIBUTE_VALUE_INVALID, "secret key of type RSA");
}
END_TEST

static CK_BYTE e65537[] = { 0x01, 0x00, 0x01 };

static void rsa_public_bits(const unsigned char *mod, size_t len, CK_ULONG want)
{
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_pub), ATTR(CKA_KEY_TYPE, k_rsa),
                         ATTR_BYTES(CKA_MODULUS, mod, len), ATTR(CKA_PUBLIC_EXPONENT, e65537) };
    dmsc_attrs o;
    create_ok(t, 4, NOBODY, &o);
    assert_ulong(&o, CKA_MODULUS_BITS, want);
    assert_bytes(&o, CKA_MODULUS, mod, len);
    assert_bool(&o, CKA_PRIVATE, false);
    dmsc_attrs_clear(&o);
}

START_TEST(test_rsa_public_modulus_bits)
{
    unsigned char mod[257];
    memset(mod, 0xb7, sizeof(mod));
    mod[1] = 0xc3; /* top bit set */
    rsa_public_bits(mod + 1, 256, 2048);
    mod[0] = 0x00; /* the same modulus as a positive DER-style integer */
    rsa_public_bits(mod, 257, 2048);
    mod[1] = 0x7f;
    rsa_public_bits(mod + 1, 256, 2047);
    mod[1] = 0x01;
    rsa_public_bits(mod + 1, 256, 2041);
    rsa_public_bits(mod, 257, 2041);
    unsigned char m1024[128];
    memset(m1024, 0xff, sizeof(m1024));
    rsa_public_bits(m1024, sizeof(m1024), 1024);

    /* CKA_MODULUS_BITS is the token's to compute. */
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_pub), ATTR(CKA_KEY_TYPE, k_rsa),
                         ATTR_BYTES(CKA_MODULUS, mod + 1, 256), ATTR(CKA_PUBLIC_EXPONENT, e65537),
                         ATTR(CKA_MODULUS_BITS, bits) };
    create_fails(t, 5, NOBODY, CKR_ATTRIBUTE_READ_ONLY, "CKA_MODULUS_BITS given");
    create_fails(t, 3, NOBODY, CKR_TEMPLATE_INCOMPLETE, "RSA public key without exponent");
    t[2].ulValueLen = 0;
    create_fails(t, 4, NOBODY, CKR_ATTRIBUTE_VALUE_INVALID, "empty modulus");
}
END_TEST

/* An RSA private key; sensitive/extractable given when not NULL. */
static void rsa_private(dmsc_attrs *o, const CK_BBOOL *sensitive, const CK_BBOOL *extractable)
{
    static unsigned char mod[256], d[256];
    memset(mod, 0xc5, sizeof(mod));
    memset(d, 0x3a, sizeof(d));
    CK_ATTRIBUTE t[6] = { ATTR(CKA_CLASS, c_priv), ATTR(CKA_KEY_TYPE, k_rsa), ATTR(CKA_MODULUS, mod),
                          ATTR(CKA_PRIVATE_EXPONENT, d) };
    CK_ULONG n = 4;
    if (sensitive)
        t[n++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, (void *)sensitive, 1 };
    if (extractable)
        t[n++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, (void *)extractable, 1 };
    create_ok(t, n, USER, o);
}

START_TEST(test_rsa_private)
{
    dmsc_attrs o;
    rsa_private(&o, NULL, NULL);
    assert_bool(&o, CKA_PRIVATE, true);
    assert_bool(&o, CKA_SENSITIVE, true);
    assert_bool(&o, CKA_SIGN, true);
    /* MODULUS_BITS belongs to public keys only. */
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_MODULUS_BITS));
    dmsc_attrs_clear(&o);
    unsigned char mod[16] = { 0x80 };
    CK_ATTRIBUTE no_d[] = { ATTR(CKA_CLASS, c_priv), ATTR(CKA_KEY_TYPE, k_rsa), ATTR(CKA_MODULUS, mod) };
    create_fails(no_d, 3, USER, CKR_TEMPLATE_INCOMPLETE, "RSA private key without exponent");
}
END_TEST

/* ---- modification ---- */

static void data_object(dmsc_attrs *o, bool token)
{
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_data), ATTR_BYTES(CKA_LABEL, "old", 3),
                         ATTR_BYTES(CKA_VALUE, "v", 1), ATTR(CKA_TOKEN, yes) };
    create_ok(t, token ? 4 : 3, USER, o);
}

START_TEST(test_modify_label)
{
    dmsc_attrs o, m;
    data_object(&o, false);
    CK_ATTRIBUTE t[] = { ATTR_BYTES(CKA_LABEL, "a new label", 11) };
    modify_ok(&o, t, 1, NOBODY, false, &m, "label change");
    assert_bytes(&m, CKA_LABEL, "a new label", 11);
    assert_bytes(&o, CKA_LABEL, "old", 3); /* the original is untouched */
    /* Every other attribute carried over. */
    ck_assert_uint_eq(m.n, o.n);
    assert_bytes(&m, CKA_VALUE, "v", 1);
    assert_ulong(&m, CKA_CLASS, CKO_DATA);
    dmsc_attrs_clear(&m);
    /* Empty template: an identical copy. */
    modify_ok(&o, NULL, 0, NOBODY, false, &m, "empty template");
    ck_assert_uint_eq(m.n, o.n);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_modify_class)
{
    dmsc_attrs o, m;
    data_object(&o, false);
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_cert) };
    modify_fails(&o, t, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "CKA_CLASS change");
    modify_fails(&o, t, 1, USER, true, CKR_ATTRIBUTE_READ_ONLY, "CKA_CLASS change on copy");
    /* The same class again is no change. */
    CK_ATTRIBUTE same[] = { ATTR(CKA_CLASS, c_data) };
    modify_ok(&o, same, 1, USER, false, &m, "CKA_CLASS to its value");
    dmsc_attrs_clear(&m);
    /* A valid change followed by a forbidden one changes nothing. */
    CK_ATTRIBUTE mixed[] = { ATTR_BYTES(CKA_LABEL, "x", 1), ATTR(CKA_CLASS, c_cert) };
    modify_fails(&o, mixed, 2, USER, false, CKR_ATTRIBUTE_READ_ONLY, "label then class");
    /* Attributes of another class, values of the wrong size. */
    CK_ATTRIBUTE foreign[] = { ATTR(CKA_SENSITIVE, yes) };
    modify_fails(&o, foreign, 1, USER, false, CKR_ATTRIBUTE_TYPE_INVALID, "CKA_SENSITIVE on data");
    uint32_t four = 0;
    CK_ATTRIBUTE bad[] = { ATTR(CKA_MODIFIABLE, four) };
    modify_fails(&o, bad, 1, USER, false, CKR_ATTRIBUTE_VALUE_INVALID, "4-byte CKA_MODIFIABLE");
    dmsc_attrs_clear(&o);
}
END_TEST

static void aes_key(dmsc_attrs *o, CK_BBOOL sensitive, CK_BBOOL extractable)
{
    static unsigned char key[16] = { 9 };
    CK_ATTRIBUTE t[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes), ATTR(CKA_VALUE, key),
                         ATTR(CKA_SENSITIVE, sensitive), ATTR(CKA_EXTRACTABLE, extractable) };
    create_ok(t, 5, USER, o);
}

START_TEST(test_modify_sensitive)
{
    dmsc_attrs o, m;
    CK_ATTRIBUTE off[] = { ATTR(CKA_SENSITIVE, no) }, on[] = { ATTR(CKA_SENSITIVE, yes) };
    aes_key(&o, CK_TRUE, CK_FALSE);
    modify_fails(&o, off, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "CKA_SENSITIVE TRUE to FALSE");
    modify_fails(&o, off, 1, USER, true, CKR_ATTRIBUTE_READ_ONLY, "CKA_SENSITIVE TRUE to FALSE on copy");
    modify_ok(&o, on, 1, USER, false, &m, "CKA_SENSITIVE TRUE to TRUE");
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);

    aes_key(&o, CK_FALSE, CK_TRUE);
    modify_ok(&o, on, 1, USER, false, &m, "CKA_SENSITIVE FALSE to TRUE");
    assert_bool(&m, CKA_SENSITIVE, true);
    assert_bool(&o, CKA_SENSITIVE, false);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_modify_extractable)
{
    dmsc_attrs o, m;
    CK_ATTRIBUTE off[] = { ATTR(CKA_EXTRACTABLE, no) }, on[] = { ATTR(CKA_EXTRACTABLE, yes) };
    aes_key(&o, CK_TRUE, CK_FALSE);
    modify_fails(&o, on, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "CKA_EXTRACTABLE FALSE to TRUE");
    modify_fails(&o, on, 1, USER, true, CKR_ATTRIBUTE_READ_ONLY, "CKA_EXTRACTABLE FALSE to TRUE on copy");
    modify_ok(&o, off, 1, USER, false, &m, "CKA_EXTRACTABLE FALSE to FALSE");
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
    aes_key(&o, CK_FALSE, CK_TRUE);
    modify_ok(&o, off, 1, USER, false, &m, "CKA_EXTRACTABLE TRUE to FALSE");
    assert_bool(&m, CKA_EXTRACTABLE, false);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_modify_token_flag)
{
    dmsc_attrs o, m;
    data_object(&o, false);
    CK_ATTRIBUTE on[] = { ATTR(CKA_TOKEN, yes) }, off[] = { ATTR(CKA_TOKEN, no) };
    modify_fails(&o, on, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "CKA_TOKEN set");
    modify_ok(&o, on, 1, USER, true, &m, "CKA_TOKEN on copy");
    assert_bool(&m, CKA_TOKEN, true);
    dmsc_attrs_clear(&m);
    /* To its current value: no change, allowed. */
    modify_ok(&o, off, 1, USER, false, &m, "CKA_TOKEN to its value");
    assert_bool(&m, CKA_TOKEN, false);
    dmsc_attrs_clear(&m);
    CK_BBOOL odd_false = 0; /* and any false byte */
    CK_ATTRIBUTE off2[] = { ATTR(CKA_TOKEN, odd_false) };
    modify_ok(&o, off2, 1, USER, false, &m, "CKA_TOKEN to its value (2)");
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);

    /* A token object copied into a session object. */
    data_object(&o, true);
    modify_ok(&o, off, 1, USER, true, &m, "CKA_TOKEN off on copy");
    assert_bool(&m, CKA_TOKEN, false);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_modify_copyable)
{
    dmsc_attrs o, m, m2;
    data_object(&o, false);
    CK_ATTRIBUTE off[] = { ATTR(CKA_COPYABLE, no) }, on[] = { ATTR(CKA_COPYABLE, yes) };
    modify_ok(&o, off, 1, USER, false, &m, "CKA_COPYABLE TRUE to FALSE");
    assert_bool(&m, CKA_COPYABLE, false);
    modify_fails(&m, on, 1, USER, false, CKR_ATTRIBUTE_READ_ONLY, "CKA_COPYABLE FALSE to TRUE");
    modify_ok(&m, off, 1, USER, false, &m2, "CKA_COPYABLE FALSE to FALSE");
    dmsc_attrs_clear(&m2);
    dmsc_attrs_clear(&m);
    dmsc_attrs_clear(&o);
}
END_TEST

/* ---- reading ---- */

START_TEST(test_readable)
{
    dmsc_attrs o;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;

    rsa_private(&o, NULL, NULL); /* sensitive by default */
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_MODULUS), CKR_OK);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_LABEL), CKR_OK);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIME_1), CKR_ATTRIBUTE_TYPE_INVALID); /* absent */
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE), CKR_ATTRIBUTE_TYPE_INVALID);   /* not RSA */
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_MODULUS_BITS), CKR_ATTRIBUTE_TYPE_INVALID);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VENDOR_DEFINED), CKR_ATTRIBUTE_TYPE_INVALID);
    dmsc_attrs_clear(&o);

    rsa_private(&o, &t, &t);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    dmsc_attrs_clear(&o);
    rsa_private(&o, &f, &f);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    dmsc_attrs_clear(&o);
    rsa_private(&o, &f, NULL); /* extractable defaults to false */
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIVATE_EXPONENT), CKR_ATTRIBUTE_SENSITIVE);
    dmsc_attrs_clear(&o);
    rsa_private(&o, &f, &t);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIVATE_EXPONENT), CKR_OK);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_PRIME_1), CKR_ATTRIBUTE_TYPE_INVALID);
    dmsc_attrs_clear(&o);

    /* Secret keys: CKA_VALUE is the secret; CKA_VALUE_LEN is not. */
    aes_key(&o, CK_TRUE, CK_TRUE);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE_LEN), CKR_OK);
    dmsc_attrs_clear(&o);
    aes_key(&o, CK_FALSE, CK_TRUE);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE), CKR_OK);
    dmsc_attrs_clear(&o);

    /* A data object's value is always readable (to whoever sees it). */
    data_object(&o, false);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE), CKR_OK);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_MODULUS), CKR_ATTRIBUTE_TYPE_INVALID);
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_seal_at_rest)
{
    dmsc_attrs o;
    CK_ATTRIBUTE priv_data[] = { ATTR(CKA_CLASS, c_data), ATTR(CKA_PRIVATE, yes),
                                 ATTR_BYTES(CKA_VALUE, "secret", 6), ATTR_BYTES(CKA_LABEL, "l", 1) };
    create_ok(priv_data, 4, USER, &o);
    ck_assert(dmsc_policy_seal_at_rest(&o, CKA_VALUE));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_LABEL));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_APPLICATION));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_CLASS));
    dmsc_attrs_clear(&o);

    priv_data[1].pValue = &no;
    create_ok(priv_data, 4, USER, &o);
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_VALUE));
    dmsc_attrs_clear(&o);

    rsa_private(&o, NULL, NULL);
    ck_assert(dmsc_policy_seal_at_rest(&o, CKA_PRIVATE_EXPONENT));
    ck_assert(dmsc_policy_seal_at_rest(&o, CKA_PRIME_1));
    ck_assert(dmsc_policy_seal_at_rest(&o, CKA_COEFFICIENT));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_MODULUS));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_LABEL));
    dmsc_attrs_clear(&o);

    aes_key(&o, CK_TRUE, CK_FALSE);
    ck_assert(dmsc_policy_seal_at_rest(&o, CKA_VALUE));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_VALUE_LEN));
    dmsc_attrs_clear(&o);

    /* A secret key made public (CKA_PRIVATE false): nothing sealed. */
    unsigned char key[16] = { 0 };
    CK_ATTRIBUTE pub_secret[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes),
                                  ATTR(CKA_VALUE, key), ATTR(CKA_PRIVATE, no) };
    create_ok(pub_secret, 4, NOBODY, &o);
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_VALUE));
    dmsc_attrs_clear(&o);

    unsigned char mod[128];
    memset(mod, 0xd1, sizeof(mod));
    CK_ATTRIBUTE pub[] = { ATTR(CKA_CLASS, c_pub), ATTR(CKA_KEY_TYPE, k_rsa), ATTR(CKA_MODULUS, mod),
                           ATTR(CKA_PUBLIC_EXPONENT, e65537) };
    create_ok(pub, 4, NOBODY, &o);
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_MODULUS));
    ck_assert(!dmsc_policy_seal_at_rest(&o, CKA_PUBLIC_EXPONENT));
    dmsc_attrs_clear(&o);
}
END_TEST

START_TEST(test_policy_class)
{
    dmsc_attrs o;
    dmsc_attrs_init(&o);
    ck_assert_uint_eq(dmsc_policy_class(&o), CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_LABEL), CKR_ATTRIBUTE_TYPE_INVALID);
    dmsc_attrs_clear(&o);
    aes_key(&o, CK_TRUE, CK_FALSE);
    ck_assert_uint_eq(dmsc_policy_class(&o), CKO_SECRET_KEY);
    dmsc_attrs_clear(&o);
}
END_TEST

/* ---- keys the token makes (dmsc_policy_generate) ---- */

static void aes_material(dmsc_attrs *m, size_t len)
{
    unsigned char key[32];
    memset(key, 0x77, sizeof(key));
    dmsc_attrs_init(m);
    ck_assert_uint_eq(dmsc_attrs_set(m, CKA_VALUE, key, len), CKR_OK);
}

START_TEST(test_generate_secret)
{
    dmsc_attrs m, o;
    aes_material(&m, 32);
    CK_ULONG len = 32;
    CK_ATTRIBUTE t[] = { ATTR(CKA_VALUE_LEN, len), ATTR_BYTES(CKA_LABEL, "gen", 3), ATTR(CKA_TOKEN, yes) };
    ck_assert_uint_eq(dmsc_policy_generate(t, 3, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o), CKR_OK);
    assert_bool(&o, CKA_LOCAL, true);
    assert_ulong(&o, CKA_KEY_GEN_MECHANISM, CKM_AES_KEY_GEN);
    assert_bool(&o, CKA_ALWAYS_SENSITIVE, true);
    assert_bool(&o, CKA_NEVER_EXTRACTABLE, true);
    assert_ulong(&o, CKA_VALUE_LEN, 32);
    assert_ulong(&o, CKA_CLASS, CKO_SECRET_KEY);
    assert_ulong(&o, CKA_KEY_TYPE, CKK_AES);
    assert_bytes(&o, CKA_LABEL, "gen", 3);
    assert_bool(&o, CKA_TOKEN, true);
    assert_bool(&o, CKA_PRIVATE, true);
    ck_assert_uint_eq(dmsc_policy_readable(&o, CKA_VALUE), CKR_ATTRIBUTE_SENSITIVE);
    dmsc_attrs_clear(&o);

    /* Extractable, not sensitive: so never "always sensitive", nor
     * "never extractable". */
    CK_ATTRIBUTE t2[] = { ATTR(CKA_SENSITIVE, no), ATTR(CKA_EXTRACTABLE, yes) };
    ck_assert_uint_eq(dmsc_policy_generate(t2, 2, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o), CKR_OK);
    assert_bool(&o, CKA_ALWAYS_SENSITIVE, false);
    assert_bool(&o, CKA_NEVER_EXTRACTABLE, false);
    assert_bool(&o, CKA_LOCAL, true);
    dmsc_attrs_clear(&o);

    /* Unwrapped (no generating mechanism): not local, no history. */
    ck_assert_uint_eq(dmsc_policy_generate(NULL, 0, USER, CKO_SECRET_KEY, CKK_AES, &m, CK_UNAVAILABLE_INFORMATION, &o),
                      CKR_OK);
    assert_bool(&o, CKA_LOCAL, false);
    assert_ulong(&o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    assert_bool(&o, CKA_ALWAYS_SENSITIVE, false);
    assert_bool(&o, CKA_NEVER_EXTRACTABLE, false);
    dmsc_attrs_clear(&o);
    dmsc_attrs_clear(&m);
}
END_TEST

START_TEST(test_generate_refusals)
{
    dmsc_attrs m, o;
    aes_material(&m, 16);
    unsigned char mine[16] = { 0 };
    CK_ATTRIBUTE value[] = { ATTR(CKA_VALUE, mine) };
    memset(&o, 0x5a, sizeof(o));
    ck_assert_uint_eq(dmsc_policy_generate(value, 1, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o),
                      CKR_TEMPLATE_INCONSISTENT);
    ck_assert_uint_eq(o.n, 0);
    CK_ATTRIBUTE cls[] = { ATTR(CKA_CLASS, c_data) };
    ck_assert_uint_eq(dmsc_policy_generate(cls, 1, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o),
                      CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE kt[] = { ATTR(CKA_KEY_TYPE, k_rsa) };
    ck_assert_uint_eq(dmsc_policy_generate(kt, 1, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o),
                      CKR_TEMPLATE_INCONSISTENT);
    /* The matching class and key type are fine. */
    CK_ATTRIBUTE same[] = { ATTR(CKA_CLASS, c_secret), ATTR(CKA_KEY_TYPE, k_aes) };
    ck_assert_uint_eq(dmsc_policy_generate(same, 2, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o), CKR_OK);
    dmsc_attrs_clear(&o);
    CK_ATTRIBUTE local[] = { ATTR(CKA_LOCAL, yes) };
    ck_assert_uint_eq(dmsc_policy_generate(local, 1, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o),
                      CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE foreign[] = { ATTR_BYTES(CKA_MODULUS, "\x80", 1) };
    ck_assert_uint_eq(dmsc_policy_generate(foreign, 1, USER, CKO_SECRET_KEY, CKK_AES, &m, CKM_AES_KEY_GEN, &o),
                      CKR_ATTRIBUTE_TYPE_INVALID);
    ck_assert_uint_eq(o.n, 0);
    dmsc_attrs_clear(&m);
}
END_TEST

START_TEST(test_generate_rsa_public)
{
    unsigned char mod[256];
    memset(mod, 0xe1, sizeof(mod));
    dmsc_attrs m, o;
    dmsc_attrs_init(&m);
    ck_assert_uint_eq(dmsc_attrs_set(&m, CKA_MODULUS, mod, sizeof(mod)), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(&m, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)), CKR_OK);
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE t[] = { ATTR(CKA_MODULUS_BITS, bits), ATTR(CKA_PUBLIC_EXPONENT, e65537),
                         ATTR(CKA_VERIFY, yes) };
    ck_assert_uint_eq(dmsc_policy_generate(t, 3, NOBODY, CKO_PUBLIC_KEY, CKK_RSA, &m, CKM_RSA_PKCS_KEY_PAIR_GEN, &o),
                      CKR_OK);
    assert_ulong(&o, CKA_MODULUS_BITS, 2048);
    assert_bytes(&o, CKA_MODULUS, mod, sizeof(mod));
    assert_bool(&o, CKA_LOCAL, true);
    assert_ulong(&o, CKA_KEY_GEN_MECHANISM, CKM_RSA_PKCS_KEY_PAIR_GEN);
    assert_bool(&o, CKA_PRIVATE, false);
    ck_assert_ptr_null(dmsc_attrs_find(&o, CKA_ALWAYS_SENSITIVE)); /* not an attribute of public keys */
    dmsc_attrs_clear(&o);
    /* The modulus is the token's to make. */
    CK_ATTRIBUTE given[] = { ATTR(CKA_MODULUS, mod) };
    ck_assert_uint_eq(dmsc_policy_generate(given, 1, NOBODY, CKO_PUBLIC_KEY, CKK_RSA, &m, CKM_RSA_PKCS_KEY_PAIR_GEN, &o),
                      CKR_TEMPLATE_INCONSISTENT);
    dmsc_attrs_clear(&m);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("create");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_data_defaults);
    tcase_add_test(tc, test_data_given_values);
    tcase_add_test(tc, test_create_class_errors);
    tcase_add_test(tc, test_create_foreign_attribute);
    tcase_add_test(tc, test_create_bad_values);
    tcase_add_test(tc, test_create_duplicate);
    tcase_add_test(tc, test_create_read_only);
    tcase_add_test(tc, test_cert_fills_der);
    tcase_add_test(tc, test_cert_required);
    tcase_add_test(tc, test_cert_bad_der);
    tcase_add_test(tc, test_cert_trusted);
    tcase_add_test(tc, test_secret_key);
    tcase_add_test(tc, test_rsa_public_modulus_bits);
    tcase_add_test(tc, test_rsa_private);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("modify");
    tcase_add_test(tm, test_modify_label);
    tcase_add_test(tm, test_modify_class);
    tcase_add_test(tm, test_modify_sensitive);
    tcase_add_test(tm, test_modify_extractable);
    tcase_add_test(tm, test_modify_token_flag);
    tcase_add_test(tm, test_modify_copyable);
    suite_add_tcase(s, tm);
    TCase *tr = tcase_create("read and seal");
    tcase_add_test(tr, test_readable);
    tcase_add_test(tr, test_seal_at_rest);
    tcase_add_test(tr, test_policy_class);
    suite_add_tcase(s, tr);
    TCase *tg = tcase_create("generate");
    tcase_add_test(tg, test_generate_secret);
    tcase_add_test(tg, test_generate_refusals);
    tcase_add_test(tg, test_generate_rsa_public);
    suite_add_tcase(s, tg);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
