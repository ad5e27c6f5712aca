/* Key material between PKCS#11 attributes and OpenSSL 3 EVP_PKEYs. */
#include "keys.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/params.h>
#include <string.h>

static const dmsc_curve curves[] = {
    { NID_X9_62_prime256v1, "P-256", CKK_EC, 256 },
    { NID_secp384r1, "P-384", CKK_EC, 384 },
    { NID_secp521r1, "P-521", CKK_EC, 521 },
    { NID_ED25519, "ED25519", CKK_EC_EDWARDS, 255 },
};

static const dmsc_curve *curve_by_nid(int nid)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(curves); i++)
        if (curves[i].nid == nid)
            return &curves[i];
    return NULL;
}

const dmsc_curve *dmsc_curve_from_params(const void *der, size_t len)
{
    if (der == NULL || len < 2 || len > 256)
        return NULL;
    const unsigned char *p = der;
    if (p[0] == V_ASN1_OBJECT) {
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
        const dmsc_curve *c = NULL;
        if (obj != NULL && p == (const unsigned char *)der + len)
            c = curve_by_nid(OBJ_obj2nid(obj));
        ASN1_OBJECT_free(obj);
        return c;
    }
    if (p[0] == V_ASN1_PRINTABLESTRING) {
        ASN1_PRINTABLESTRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        const dmsc_curve *c = NULL;
        if (s != NULL && p == (const unsigned char *)der + len) {
            char name[64];
            int n = ASN1_STRING_length(s);
            if (n > 0 && (size_t)n < sizeof(name)) {
                memcpy(name, ASN1_STRING_get0_data(s), (size_t)n);
                name[n] = '\0';
                int nid = strcmp(name, "edwards25519") == 0 ? NID_ED25519 : OBJ_sn2nid(name);
                if (nid == NID_undef)
                    nid = OBJ_ln2nid(name);
                c = curve_by_nid(nid);
            }
        }
        ASN1_PRINTABLESTRING_free(s);
        return c;
    }
    return NULL;
}

CK_RV dmsc_curve_params(const dmsc_curve *c, unsigned char **der, size_t *len)
{
    ASN1_OBJECT *obj = OBJ_nid2obj(c->nid);
    unsigned char *out = NULL;
    int n = obj ? i2d_ASN1_OBJECT(obj, &out) : -1;
    if (n <= 0)
        return CKR_GENERAL_ERROR;
    *der = out;
    *len = (size_t)n;
    return CKR_OK;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point; some applications
 * give the bare point. Accept both. */
static bool unwrap_point(const dmsc_attr *a, const unsigned char **pt, size_t *len)
{
    const unsigned char *p = a->value;
    if (a->len == 0)
        return false;
    if (p[0] == V_ASN1_OCTET_STRING && a->len >= 2) {
        const unsigned char *q = p;
        ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)a->len);
        if (os != NULL && q == p + a->len) {
            size_t off = a->len - (size_t)ASN1_STRING_length(os);
            *pt = p + off;
            *len = (size_t)ASN1_STRING_length(os);
            ASN1_OCTET_STRING_free(os);
            return true;
        }
        ASN1_OCTET_STRING_free(os);
    }
    *pt = p;
    *len = a->len;
    return true;
}

static const dmsc_attr *plain(const dmsc_attrs *attrs, CK_ATTRIBUTE_TYPE type)
{
    const dmsc_attr *a = dmsc_attrs_find(attrs, type);
    return a != NULL && !a->sealed && a->len > 0 ? a : NULL;
}

static int push_bn(OSSL_PARAM_BLD *bld, const char *key, const dmsc_attr *a, BIGNUM **keep)
{
    /* Secure BIGNUMs make OSSL_PARAM_BLD keep their copies in its secure,
     * cleared-on-free block. */
    BIGNUM *bn = BN_secure_new();
    if (bn != NULL && BN_bin2bn(a->value, (int)a->len, bn) == NULL) {
        BN_free(bn);
        bn = NULL;
    }
    if (bn == NULL)
        return 0;
    *keep = bn;
    return OSSL_PARAM_BLD_push_BN(bld, key, bn);
}

static CK_RV from_data(OSSL_LIB_CTX *libctx, const char *type, int selection,
                       OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    CK_RV rv = CKR_KEY_TYPE_INCONSISTENT;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, type, NULL);
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, out, selection, params) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rv;
}

static CK_RV rsa_from_attrs(OSSL_LIB_CTX *libctx, const dmsc_attrs *attrs, bool priv, EVP_PKEY **out)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *name;
        bool secret;
    } parts[] = {
        { CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N, false },
        { CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E, false },
        { CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D, true },
        { CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1, true },
        { CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2, true },
        { CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1, true },
        { CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2, true },
        { CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true },
    };
    BIGNUM *bns[DMSC_N_ELEMENTS(parts)] = { 0 };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    CK_RV rv = bld ? CKR_OK : CKR_HOST_MEMORY;
    bool crt = priv && plain(attrs, CKA_PRIME_1) && plain(attrs, CKA_PRIME_2) &&
               plain(attrs, CKA_EXPONENT_1) && plain(attrs, CKA_EXPONENT_2) &&
               plain(attrs, CKA_COEFFICIENT);
    for (size_t i = 0; i < DMSC_N_ELEMENTS(parts) && rv == CKR_OK; i++) {
        if (parts[i].secret && !priv)
            break;
        if (i >= 3 && !crt)
            break;
        const dmsc_attr *a = plain(attrs, parts[i].type);
        if (a == NULL)
            rv = i == 1 && priv ? CKR_KEY_TYPE_INCONSISTENT : CKR_KEY_TYPE_INCONSISTENT;
        else if (!push_bn(bld, parts[i].name, a, &bns[i]))
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK)
        rv = from_data(libctx, DMSC_KEYTYPE_RSA, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, out);
    for (size_t i = 0; i < DMSC_N_ELEMENTS(bns); i++)
        BN_clear_free(bns[i]);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

static CK_RV ec_public_from_private(OSSL_LIB_CTX *libctx, const dmsc_curve *c, const BIGNUM *d,
                                   unsigned char **pub, size_t *pub_len)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name_ex(libctx, NULL, c->nid);
    EC_POINT *pt = group ? EC_POINT_new(group) : NULL;
    CK_RV rv = CKR_KEY_TYPE_INCONSISTENT;
    if (pt != NULL && BN_cmp(d, EC_GROUP_get0_order(group)) < 0 && !BN_is_zero(d) &&
        EC_POINT_mul(group, pt, d, NULL, NULL, NULL) == 1) {
        *pub_len = EC_POINT_point2buf(group, pt, POINT_CONVERSION_UNCOMPRESSED, pub, NULL);
        if (*pub_len > 0)
            rv = CKR_OK;
    }
    EC_POINT_free(pt);
    EC_GROUP_free(group);
    return rv;
}

static CK_RV ec_from_attrs(OSSL_LIB_CTX *libctx, const dmsc_attrs *attrs, bool priv,
                           const dmsc_curve *c, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *d = NULL;
    CK_RV rv = bld ? CKR_OK : CKR_HOST_MEMORY;
    if (rv == CKR_OK && !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0))
        rv = CKR_HOST_MEMORY;
    const dmsc_attr *a = plain(attrs, priv ? CKA_VALUE : CKA_EC_POINT);
    if (rv == CKR_OK && a == NULL)
        rv = CKR_KEY_TYPE_INCONSISTENT;
    unsigned char *pub = NULL;
    if (rv == CKR_OK && priv) {
        if (!push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, a, &d))
            rv = CKR_HOST_MEMORY;
        /* PKCS#11 keeps no public point on a private key; OpenSSL wants
         * one to encode the key (PKCS#8, for wrapping): compute it. */
        size_t pub_len = 0;
        if (rv == CKR_OK && (rv = ec_public_from_private(libctx, c, d, &pub, &pub_len)) == CKR_OK &&
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
            rv = CKR_HOST_MEMORY;
    } else if (rv == CKR_OK) {
        const unsigned char *pt;
        size_t len;
        if (!unwrap_point(a, &pt, &len) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len))
            rv = CKR_KEY_TYPE_INCONSISTENT;
    }
    if (rv == CKR_OK)
        rv = from_data(libctx, DMSC_KEYTYPE_EC, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, out);
    OPENSSL_free(pub);
    BN_clear_free(d);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

static CK_RV ed_from_attrs(OSSL_LIB_CTX *libctx, const dmsc_attrs *attrs, bool priv, EVP_PKEY **out)
{
    const dmsc_attr *a = plain(attrs, priv ? CKA_VALUE : CKA_EC_POINT);
    if (a == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    const unsigned char *raw = a->value;
    size_t len = a->len;
    if (!priv && !unwrap_point(a, &raw, &len))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (priv && len == 34 && raw[0] == V_ASN1_OCTET_STRING && raw[1] == 32) {
        raw += 2; /* an OCTET STRING around the seed, as some tools store it */
        len = 32;
    }
    if (len != 32)
        return CKR_KEY_TYPE_INCONSISTENT;
    *out = priv ? EVP_PKEY_new_raw_private_key_ex(libctx, "ED25519", NULL, raw, len)
                : EVP_PKEY_new_raw_public_key_ex(libctx, "ED25519", NULL, raw, len);
    return *out ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

CK_RV dmsc_pkey_from_attrs(OSSL_LIB_CTX *libctx, const dmsc_attrs *attrs, CK_OBJECT_CLASS klass,
                           CK_KEY_TYPE key_type, EVP_PKEY **out)
{
    *out = NULL;
    bool priv = klass == CKO_PRIVATE_KEY;
    if (!priv && klass != CKO_PUBLIC_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (key_type == CKK_RSA)
        return rsa_from_attrs(libctx, attrs, priv, out);
    const dmsc_attr *params = plain(attrs, CKA_EC_PARAMS);
    const dmsc_curve *c = params ? dmsc_curve_from_params(params->value, params->len) : NULL;
    if (c == NULL || c->key_type != key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (key_type == CKK_EC)
        return ec_from_attrs(libctx, attrs, priv, c, out);
    return ed_from_attrs(libctx, attrs, priv, out);
}

static CK_RV set_bn(const EVP_PKEY *pkey, const char *name, dmsc_attrs *to, CK_ATTRIBUTE_TYPE type,
                    int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return CKR_GENERAL_ERROR;
    int len = pad > 0 ? pad : BN_num_bytes(bn);
    unsigned char *buf = OPENSSL_malloc(len > 0 ? (size_t)len : 1);
    CK_RV rv = CKR_HOST_MEMORY;
    if (buf != NULL && BN_bn2binpad(bn, buf, len) == len)
        rv = dmsc_attrs_set(to, type, buf, (CK_ULONG)len);
    if (buf)
        OPENSSL_clear_free(buf, (size_t)len);
    BN_clear_free(bn);
    return rv;
}

static CK_RV set_point(dmsc_attrs *to, const unsigned char *pt, size_t len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    unsigned char *der = NULL;
    int n = -1;
    if (os != NULL && ASN1_OCTET_STRING_set(os, pt, (int)len) == 1)
        n = i2d_ASN1_OCTET_STRING(os, &der);
    ASN1_OCTET_STRING_free(os);
    if (n <= 0)
        return CKR_GENERAL_ERROR;
    CK_RV rv = dmsc_attrs_set(to, CKA_EC_POINT, der, (CK_ULONG)n);
    OPENSSL_free(der);
    return rv;
}

static CK_RV set_params(dmsc_attrs *to, const dmsc_curve *c)
{
    unsigned char *der = NULL;
    size_t len = 0;
    CK_RV rv = dmsc_curve_params(c, &der, &len);
    if (rv == CKR_OK && dmsc_attrs_find(to, CKA_EC_PARAMS) == NULL)
        rv = dmsc_attrs_set(to, CKA_EC_PARAMS, der, (CK_ULONG)len);
    OPENSSL_free(der);
    return rv;
}

/* CKA_PUBLIC_KEY_INFO: the DER SubjectPublicKeyInfo of pkey's public part. */
static CK_RV set_spki(const EVP_PKEY *pkey, dmsc_attrs *to)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pkey, &der);
    if (len <= 0)
        return CKR_GENERAL_ERROR;
    CK_RV rv = dmsc_attrs_set(to, CKA_PUBLIC_KEY_INFO, der, (CK_ULONG)len);
    OPENSSL_free(der);
    return rv;
}

CK_RV dmsc_pkey_spki_fill(OSSL_LIB_CTX *libctx, dmsc_attrs *o)
{
    CK_ULONG klass, key_type;
    if (!dmsc_attrs_get_ulong(o, CKA_CLASS, &klass) || !dmsc_attrs_get_ulong(o, CKA_KEY_TYPE, &key_type) ||
        (klass != CKO_PUBLIC_KEY && klass != CKO_PRIVATE_KEY))
        return CKR_OK;
    const dmsc_attr *cur = dmsc_attrs_find(o, CKA_PUBLIC_KEY_INFO);
    if (cur != NULL && cur->len > 0)
        return CKR_OK; /* the template's value stands */
    EVP_PKEY *pkey = NULL;
    /* A key OpenSSL cannot build (an RSA private key without its public
     * exponent) keeps the spec's default, an empty value; using it fails
     * later with the error that names the problem. */
    if (dmsc_pkey_from_attrs(libctx, o, klass, key_type, &pkey) != CKR_OK)
        return CKR_OK;
    CK_RV rv = set_spki(pkey, o);
    EVP_PKEY_free(pkey);
    return rv;
}

CK_RV dmsc_pkey_to_attrs(const EVP_PKEY *pkey, CK_KEY_TYPE key_type, const dmsc_curve *curve,
                         dmsc_attrs *pub, dmsc_attrs *priv)
{
    CK_RV rv = CKR_OK;
    dmsc_attrs *both[2] = { pub, priv };
    for (int i = 0; i < 2 && rv == CKR_OK; i++)
        if (both[i] != NULL)
            rv = set_spki(pkey, both[i]);
    if (rv != CKR_OK)
        return rv;
    if (key_type == CKK_RSA) {
        for (int i = 0; i < 2 && rv == CKR_OK; i++) {
            if (both[i] == NULL)
                continue;
            rv = set_bn(pkey, OSSL_PKEY_PARAM_RSA_N, both[i], CKA_MODULUS, 0);
            if (rv == CKR_OK)
                rv = set_bn(pkey, OSSL_PKEY_PARAM_RSA_E, both[i], CKA_PUBLIC_EXPONENT, 0);
        }
        if (priv != NULL) {
            static const struct {
                const char *name;
                CK_ATTRIBUTE_TYPE type;
            } parts[] = {
                { OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT },
                { OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1 },
                { OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2 },
                { OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1 },
                { OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2 },
                { OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT },
            };
            for (size_t i = 0; i < DMSC_N_ELEMENTS(parts) && rv == CKR_OK; i++)
                rv = set_bn(pkey, parts[i].name, priv, parts[i].type, 0);
        }
        return rv;
    }
    unsigned char pt[256];
    size_t pt_len = sizeof(pt);
    if (key_type == CKK_EC) {
        if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pt_len) != 1)
            return CKR_GENERAL_ERROR;
    } else if (EVP_PKEY_get_raw_public_key(pkey, pt, &pt_len) != 1) {
        return CKR_GENERAL_ERROR;
    }
    if (pub != NULL) {
        rv = set_params(pub, curve);
        if (rv == CKR_OK)
            rv = set_point(pub, pt, pt_len);
    }
    if (rv == CKR_OK && priv != NULL) {
        rv = set_params(priv, curve);
        if (rv == CKR_OK && key_type == CKK_EC) {
            rv = set_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, priv, CKA_VALUE, (int)(curve->bits + 7) / 8);
        } else if (rv == CKR_OK) {
            unsigned char raw[64];
            size_t raw_len = sizeof(raw);
            rv = EVP_PKEY_get_raw_private_key(pkey, raw, &raw_len) == 1
                     ? dmsc_attrs_set(priv, CKA_VALUE, raw, (CK_ULONG)raw_len)
                     : CKR_GENERAL_ERROR;
            OPENSSL_cleanse(raw, sizeof(raw));
        }
    }
    return rv;
}

CK_ULONG dmsc_pkey_bits(const EVP_PKEY *pkey)
{
    /* Ed25519 is a 255-bit curve, as PKCS#11 counts it. */
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return 255;
    return (CK_ULONG)EVP_PKEY_get_bits(pkey);
}
