/*
 * p11-crypto-driver: a self-checking PKCS#11 crypto client for the
 * integration tests (tests/integration/test-crypto-rules.sh).
 *
 *   p11-crypto-driver TOKENLABEL USERPIN
 *
 * It dlopens the module named by $DMSC_MODULE (no dmsc headers: only the
 * standard interface through <p11-kit/pkcs11.h>), opens a R/W session on
 * the token so labelled, logs the user in and checks what pkcs11-tool
 * cannot express, against OpenSSL as the reference:
 *
 *   attrs     CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE,
 *             CKA_NEVER_EXTRACTABLE of generated, imported and unwrapped
 *             keys; sensitive values unreadable; CKA_SENSITIVE and
 *             CKA_EXTRACTABLE cannot be relaxed
 *   digest    all digests, multi-part, length query, C_DigestKey, state rules
 *   hmac      RFC 4231 known answers, every HMAC mechanism against OpenSSL,
 *             multi-part, CKA_SIGN / CKA_VERIFY enforced, key type checked
 *   rules     the operation-state rules (CKR_OPERATION_ACTIVE, length
 *             queries, CKR_BUFFER_TOO_SMALL keeps the operation, a single-
 *             part call after an update is refused and ends it, ...), wrong
 *             key classes, usages, handles, mechanisms
 *   pss       RSA-PSS parameters (bad ones refused, good ones verified)
 *   multipart multi-part sign/verify for RSA and ECDSA
 *   ec        imported Ed25519 (deterministic: byte-equal to OpenSSL) and
 *             P-384 keys both ways, Ed25519 with printable-string params
 *   auth      CKA_ALWAYS_AUTHENTICATE with C_Login(CKU_CONTEXT_SPECIFIC)
 *   aes       AES-CBC-PAD and AES-GCM against OpenSSL, multi-part, tags
 *   rsa       RSA-PKCS and RSA-OAEP (with a label) both ways with OpenSSL
 *   wrap      AES-KEY-WRAP-PAD against OpenSSL, RSA-OAEP wrap/unwrap,
 *             private key wrap, CKA_EXTRACTABLE / CKA_WRAP_WITH_TRUSTED
 *   random    C_GenerateRandom
 *
 * It prints one line per check, "ok   WHAT" or "FAIL WHAT: expected ...,
 * got ...", then "# N checks, M failed", and exits 1 when a check failed
 * (2 on a setup error). All keys it makes are session objects.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#include "p11-check.h"

const char driver_name[] = "p11-crypto-driver";

static CK_SLOT_ID slot;
static const char *user_pin;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* A handle no object has (checked in main). */
#define BOGUS_HANDLE ((CK_OBJECT_HANDLE)0x7ead1234UL)

/* ------------------------------------------------------------ templates */

typedef struct {
    CK_ATTRIBUTE a[40];
    CK_ULONG ul[40];
    CK_ULONG n;
} tmpl_t;

static void tset(tmpl_t *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    CK_ULONG i;
    for (i = 0; i < t->n; i++)
        if (t->a[i].type == type)
            break;
    if (i == t->n) {
        if (t->n == N_ELEMENTS(t->a)) {
            fprintf(stderr, "p11-crypto-driver: template full\n");
            exit(2);
        }
        t->n++;
    }
    t->a[i].type = type;
    t->a[i].pValue = (void *)v;
    t->a[i].ulValueLen = len;
}

static void tbool(tmpl_t *t, CK_ATTRIBUTE_TYPE type, bool v)
{
    tset(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

static void tulong(tmpl_t *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    CK_ULONG i;
    for (i = 0; i < t->n; i++)
        if (t->a[i].type == type)
            break;
    if (i == t->n)
        tset(t, type, NULL, 0); /* takes slot i */
    t->ul[i] = v;
    t->a[i].pValue = &t->ul[i];
    t->a[i].ulValueLen = sizeof(CK_ULONG);
}

static CK_RV create(tmpl_t *t, CK_OBJECT_HANDLE *h)
{
    *h = CK_INVALID_HANDLE;
    return p11->C_CreateObject(sess, t->a, t->n, h);
}

/* A session secret key with a known value; the usages are set by the caller. */
static void secret_tmpl(tmpl_t *t, CK_KEY_TYPE kt, const void *value, size_t len)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    memset(t, 0, sizeof(*t));
    tset(t, CKA_CLASS, &cls, sizeof cls);
    tulong(t, CKA_KEY_TYPE, kt);
    tbool(t, CKA_TOKEN, false);
    tset(t, CKA_VALUE, value, (CK_ULONG)len);
}

static CK_BYTE rsa_e[] = { 0x01, 0x00, 0x01 };

static void rsa_pub_tmpl(tmpl_t *t, CK_ULONG bits)
{
    memset(t, 0, sizeof(*t));
    tbool(t, CKA_TOKEN, false);
    tulong(t, CKA_MODULUS_BITS, bits);
    tset(t, CKA_PUBLIC_EXPONENT, rsa_e, sizeof rsa_e);
    tbool(t, CKA_VERIFY, true);
    tbool(t, CKA_ENCRYPT, true);
    tbool(t, CKA_WRAP, true);
}

static void priv_tmpl(tmpl_t *t, bool rsa)
{
    memset(t, 0, sizeof(*t));
    tbool(t, CKA_TOKEN, false);
    tbool(t, CKA_PRIVATE, true);
    tbool(t, CKA_SIGN, true);
    if (rsa) {
        tbool(t, CKA_DECRYPT, true);
        tbool(t, CKA_UNWRAP, true);
    }
}

static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const CK_BYTE str_ed25519[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };

static void ec_pub_tmpl(tmpl_t *t, const CK_BYTE *params, size_t len)
{
    memset(t, 0, sizeof(*t));
    tbool(t, CKA_TOKEN, false);
    tset(t, CKA_EC_PARAMS, params, (CK_ULONG)len);
    tbool(t, CKA_VERIFY, true);
}

static CK_RV gen_pair(CK_MECHANISM_TYPE mt, tmpl_t *pub_t, tmpl_t *priv_t, CK_OBJECT_HANDLE *pub,
                      CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = { mt, NULL, 0 };
    *pub = *priv = CK_INVALID_HANDLE;
    return p11->C_GenerateKeyPair(sess, &m, pub_t->a, pub_t->n, priv_t->a, priv_t->n, pub, priv);
}

/* ------------------------------------------------------------ attributes */

static CK_RV get_attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG *len)
{
    CK_ATTRIBUTE a = { type, buf, *len };
    CK_RV rv = p11->C_GetAttributeValue(sess, o, &a, 1);
    *len = a.ulValueLen;
    return rv;
}

/* The attribute's value, malloc'd (NULL and *rv set on error). */
static unsigned char *get_alloc(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *len, CK_RV *rv)
{
    CK_ULONG n = 0;
    *rv = get_attr(o, type, NULL, &n);
    if (*rv != CKR_OK)
        return NULL;
    if (n == CK_UNAVAILABLE_INFORMATION) {
        *rv = CKR_GENERAL_ERROR;
        return NULL;
    }
    unsigned char *p = malloc(n ? n : 1);
    if (p == NULL)
        exit(2);
    *rv = get_attr(o, type, p, &n);
    if (*rv != CKR_OK) {
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

/* 1/0, or -1 when it cannot be read. */
static int get_bool(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL b = 0;
    CK_ULONG n = sizeof b;
    if (get_attr(o, type, &b, &n) != CKR_OK || n != sizeof b)
        return -1;
    return b ? 1 : 0;
}

static CK_ULONG get_ulong(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_RV *rv)
{
    CK_ULONG v = 0, n = sizeof v;
    *rv = get_attr(o, type, &v, &n);
    if (*rv == CKR_OK && n != sizeof v)
        *rv = CKR_GENERAL_ERROR;
    return v;
}

static void expect_bool(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, const char *tname, bool want,
                        const char *what)
{
    int b = get_bool(o, type);
    if (b < 0)
        check(false, "%s: %s: expected %s, could not read it", what, tname, want ? "TRUE" : "FALSE");
    else
        check(b == (want ? 1 : 0), "%s: %s is %s%s", what, tname, b ? "TRUE" : "FALSE",
              b == (want ? 1 : 0) ? "" : want ? " (expected TRUE)" : " (expected FALSE)");
}

static void expect_ulong(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, const char *tname, CK_ULONG want,
                         const char *what)
{
    CK_RV rv;
    CK_ULONG v = get_ulong(o, type, &rv);
    if (rv != CKR_OK)
        check(false, "%s: %s: expected 0x%lx, reading it gave %s", what, tname, (unsigned long)want,
              rv_name(rv));
    else
        check(v == want, "%s: %s is 0x%lx%s", what, tname, (unsigned long)v, v == want ? "" : " (wrong)");
    if (rv == CKR_OK && v != want)
        printf("     expected 0x%lx\n", (unsigned long)want);
}

/* Reading the attribute is refused as sensitive, with the length unavailable. */
static void expect_sensitive(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, const char *tname, const char *what)
{
    unsigned char buf[1024];
    CK_ATTRIBUTE a = { type, NULL, 0 };
    CK_RV rv = p11->C_GetAttributeValue(sess, o, &a, 1);
    expect(rv, CKR_ATTRIBUTE_SENSITIVE, "%s: length of %s", what, tname);
    check(a.ulValueLen == CK_UNAVAILABLE_INFORMATION, "%s: %s length is CK_UNAVAILABLE_INFORMATION (got 0x%lx)",
          what, tname, (unsigned long)a.ulValueLen);
    a.pValue = buf;
    a.ulValueLen = sizeof buf;
    rv = p11->C_GetAttributeValue(sess, o, &a, 1);
    expect(rv, CKR_ATTRIBUTE_SENSITIVE, "%s: value of %s", what, tname);
}

static void expect_generated(CK_OBJECT_HANDLE o, CK_MECHANISM_TYPE gen, const char *what)
{
    expect_bool(o, CKA_LOCAL, "CKA_LOCAL", true, what);
    expect_ulong(o, CKA_KEY_GEN_MECHANISM, "CKA_KEY_GEN_MECHANISM", gen, what);
}

static void expect_not_generated(CK_OBJECT_HANDLE o, const char *what)
{
    expect_bool(o, CKA_LOCAL, "CKA_LOCAL", false, what);
    expect_ulong(o, CKA_KEY_GEN_MECHANISM, "CKA_KEY_GEN_MECHANISM", CK_UNAVAILABLE_INFORMATION, what);
}

static void destroy(CK_OBJECT_HANDLE o)
{
    if (o != CK_INVALID_HANDLE)
        p11->C_DestroyObject(sess, o);
}

/* ------------------------------------------------------------ operations */

static CK_RV sign(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *data, size_t len, unsigned char *sig,
                  CK_ULONG *sig_len)
{
    CK_RV rv = p11->C_SignInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Sign(sess, (CK_BYTE_PTR)data, (CK_ULONG)len, sig, sig_len);
}

static CK_RV verify(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *data, size_t len, const unsigned char *sig,
                    size_t sig_len)
{
    CK_RV rv = p11->C_VerifyInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Verify(sess, (CK_BYTE_PTR)data, (CK_ULONG)len, (CK_BYTE_PTR)sig, (CK_ULONG)sig_len);
}

static CK_RV encrypt(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *in, size_t len, unsigned char *out,
                     CK_ULONG *out_len)
{
    CK_RV rv = p11->C_EncryptInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Encrypt(sess, (CK_BYTE_PTR)in, (CK_ULONG)len, out, out_len);
}

static CK_RV decrypt(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const void *in, size_t len, unsigned char *out,
                     CK_ULONG *out_len)
{
    CK_RV rv = p11->C_DecryptInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Decrypt(sess, (CK_BYTE_PTR)in, (CK_ULONG)len, out, out_len);
}

/* Make sure no sign operation is left active (after a check failed). */
static void end_sign(void)
{
    unsigned char buf[1024];
    CK_ULONG n = sizeof buf;
    p11->C_SignFinal(sess, buf, &n);
    n = sizeof buf;
    p11->C_Sign(sess, (CK_BYTE_PTR) "x", 1, buf, &n);
}

/* ------------------------------------------------------------ OpenSSL side */

/* The public key of a token key object as an OpenSSL key. */
static EVP_PKEY *token_pub(CK_OBJECT_HANDLE h)
{
    CK_RV rv;
    CK_ULONG kt = get_ulong(h, CKA_KEY_TYPE, &rv), n1 = 0, n2 = 0;
    EVP_PKEY *pk = NULL;
    if (rv != CKR_OK)
        return NULL;
    if (kt == CKK_RSA) {
        unsigned char *mod = get_alloc(h, CKA_MODULUS, &n1, &rv);
        unsigned char *exp = get_alloc(h, CKA_PUBLIC_EXPONENT, &n2, &rv);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        BIGNUM *bn = mod ? BN_bin2bn(mod, (int)n1, NULL) : NULL, *be = exp ? BN_bin2bn(exp, (int)n2, NULL) : NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        OSSL_PARAM *params = NULL;
        if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
            EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        EVP_PKEY_CTX_free(ctx);
        BN_free(bn);
        BN_free(be);
        OSSL_PARAM_BLD_free(bld);
        free(mod);
        free(exp);
        return pk;
    }
    unsigned char *pt = get_alloc(h, CKA_EC_POINT, &n2, &rv);
    if (pt == NULL)
        return NULL;
    const unsigned char *p = pt;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)n2);
    const unsigned char *raw = os ? ASN1_STRING_get0_data(os) : pt;
    size_t raw_len = os ? (size_t)ASN1_STRING_length(os) : n2;
    if (kt == CKK_EC_EDWARDS) {
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, raw_len);
    } else if (kt == CKK_EC) {
        unsigned char *par = get_alloc(h, CKA_EC_PARAMS, &n1, &rv);
        const unsigned char *q = par;
        ASN1_OBJECT *obj = par ? d2i_ASN1_OBJECT(NULL, &q, (long)n1) : NULL;
        const char *group = obj ? OBJ_nid2sn(OBJ_obj2nid(obj)) : NULL;
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        OSSL_PARAM *params = NULL;
        if (group && bld && ctx && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, raw_len) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
            EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_BLD_free(bld);
        ASN1_OBJECT_free(obj);
        free(par);
    }
    ASN1_OCTET_STRING_free(os);
    free(pt);
    return pk;
}

/* r||s (PKCS#11) to a DER ECDSA-Sig-Value (OpenSSL); *der is malloc'd. */
static bool rs_to_der(const unsigned char *sig, size_t len, unsigned char **der, size_t *der_len)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL), *ss = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
    unsigned char *out = NULL;
    int n = -1;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = NULL;
        n = i2d_ECDSA_SIG(s, &out);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    if (n <= 0)
        return false;
    *der = malloc((size_t)n);
    memcpy(*der, out, (size_t)n);
    OPENSSL_free(out);
    *der_len = (size_t)n;
    return true;
}

/* A DER ECDSA-Sig-Value to r||s of 2*flen bytes. */
static bool der_to_rs(const unsigned char *der, size_t der_len, size_t flen, unsigned char *rs)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r, *ss;
    if (s == NULL)
        return false;
    ECDSA_SIG_get0(s, &r, &ss);
    bool ok = BN_bn2binpad(r, rs, (int)flen) == (int)flen && BN_bn2binpad(ss, rs + flen, (int)flen) == (int)flen;
    ECDSA_SIG_free(s);
    return ok;
}

enum { PAD_NONE = 0, PAD_PKCS1 = RSA_PKCS1_PADDING, PAD_PSS = RSA_PKCS1_PSS_PADDING };

/* OpenSSL verifies a token signature. md: hash-and-sign digest name
 * ("SHA256"), NULL for prehashed / raw input (then prehash_md names the
 * hash the input is, or NULL for raw RSA-PKCS or ECDSA over the bytes).
 * ECDSA signatures come as r||s. */
static bool ossl_verify(EVP_PKEY *pk, const char *md, const char *prehash_md, int pad, int saltlen,
                        const unsigned char *data, size_t len, const unsigned char *sig, size_t sig_len)
{
    unsigned char *der = NULL;
    bool ok = false;
    if (pk == NULL)
        return false;
    if (EVP_PKEY_is_a(pk, "EC")) {
        size_t dl;
        if (!rs_to_der(sig, sig_len, &der, &dl))
            return false;
        sig = der;
        sig_len = dl;
    }
    if (md != NULL || EVP_PKEY_is_a(pk, "ED25519")) {
        EVP_MD_CTX *mctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        if (mctx && EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, pk, NULL) == 1 &&
            (pad == PAD_NONE || EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1) &&
            (pad != PAD_PSS || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1))
            ok = EVP_DigestVerify(mctx, sig, sig_len, data, len) == 1;
        EVP_MD_CTX_free(mctx);
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
        EVP_MD *hmd = prehash_md ? EVP_MD_fetch(NULL, prehash_md, NULL) : NULL;
        if (ctx && EVP_PKEY_verify_init(ctx) == 1 &&
            (pad == PAD_NONE || EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1) &&
            (hmd == NULL || EVP_PKEY_CTX_set_signature_md(ctx, hmd) == 1) &&
            (pad != PAD_PSS || EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) == 1))
            ok = EVP_PKEY_verify(ctx, sig, sig_len, data, len) == 1;
        EVP_MD_free(hmd);
        EVP_PKEY_CTX_free(ctx);
    }
    free(der);
    return ok;
}

/* OpenSSL signs (hash-and-sign with md, or pure EdDSA with md NULL);
 * ECDSA signatures are returned as r||s of 2*flen bytes. */
static bool ossl_sign(EVP_PKEY *pk, const char *md, size_t flen, const unsigned char *data, size_t len,
                      unsigned char *sig, size_t *sig_len)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    unsigned char der[512];
    size_t dl = sizeof der;
    bool ok = mctx && EVP_DigestSignInit_ex(mctx, NULL, md, NULL, NULL, pk, NULL) == 1 &&
              EVP_DigestSign(mctx, der, &dl, data, len) == 1;
    EVP_MD_CTX_free(mctx);
    if (!ok)
        return false;
    if (EVP_PKEY_is_a(pk, "EC")) {
        *sig_len = 2 * flen;
        return der_to_rs(der, dl, flen, sig);
    }
    memcpy(sig, der, dl);
    *sig_len = dl;
    return true;
}

static EVP_PKEY *ossl_keygen(const char *type, const char *param)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1) {
        if (strcmp(type, "RSA") == 0)
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
        else if (strcmp(type, "EC") == 0)
            EVP_PKEY_CTX_set_group_name(ctx, param);
        EVP_PKEY_generate(ctx, &pk);
    }
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* A BIGNUM parameter of pk in big-endian bytes (pad: minimum length). */
static unsigned char *bn_param(EVP_PKEY *pk, const char *name, size_t pad, CK_ULONG *len)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        return NULL;
    size_t n = (size_t)BN_num_bytes(bn);
    if (n < pad)
        n = pad;
    unsigned char *p = malloc(n ? n : 1);
    BN_bn2binpad(bn, p, (int)n);
    BN_clear_free(bn);
    *len = (CK_ULONG)n;
    return p;
}

/* Import an OpenSSL key as a session key pair (private: sign, decrypt,
 * unwrap as fits; public: verify, encrypt, wrap). ed_params: the
 * CKA_EC_PARAMS to give an Ed25519 key. */
static CK_RV import_pkey(EVP_PKEY *pk, const CK_BYTE *ed_params, size_t ed_params_len, CK_OBJECT_HANDLE *pub,
                         CK_OBJECT_HANDLE *priv)
{
    static CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
    tmpl_t tp, tq;
    unsigned char *parts[8] = { 0 };
    unsigned char *params_der = NULL, *point_der = NULL;
    unsigned char raw_priv[32], raw_pub[32], ed_point[34];
    CK_ULONG lens[8] = { 0 };
    CK_RV rv;
    bool rsa = EVP_PKEY_is_a(pk, "RSA");

    *pub = *priv = CK_INVALID_HANDLE;
    priv_tmpl(&tq, rsa);
    tset(&tq, CKA_CLASS, &cpriv, sizeof cpriv);
    memset(&tp, 0, sizeof tp);
    tset(&tp, CKA_CLASS, &cpub, sizeof cpub);
    tbool(&tp, CKA_TOKEN, false);
    tbool(&tp, CKA_VERIFY, true);
    if (rsa) {
        static const char *names[8] = {
            OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
            OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
        };
        static const CK_ATTRIBUTE_TYPE types[8] = {
            CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
            CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
        };
        for (int i = 0; i < 8; i++) {
            parts[i] = bn_param(pk, names[i], 0, &lens[i]);
            if (parts[i] == NULL) {
                rv = CKR_GENERAL_ERROR;
                goto out;
            }
            tset(&tq, types[i], parts[i], lens[i]);
        }
        tulong(&tq, CKA_KEY_TYPE, CKK_RSA);
        tulong(&tp, CKA_KEY_TYPE, CKK_RSA);
        tset(&tp, CKA_MODULUS, parts[0], lens[0]);
        tset(&tp, CKA_PUBLIC_EXPONENT, parts[1], lens[1]);
        tbool(&tp, CKA_ENCRYPT, true);
        tbool(&tp, CKA_WRAP, true);
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        size_t n1 = sizeof raw_priv, n2 = sizeof raw_pub;
        if (EVP_PKEY_get_raw_private_key(pk, raw_priv, &n1) != 1 ||
            EVP_PKEY_get_raw_public_key(pk, raw_pub, &n2) != 1) {
            rv = CKR_GENERAL_ERROR;
            goto out;
        }
        ed_point[0] = 0x04;
        ed_point[1] = 32;
        memcpy(ed_point + 2, raw_pub, 32);
        tulong(&tq, CKA_KEY_TYPE, CKK_EC_EDWARDS);
        tulong(&tp, CKA_KEY_TYPE, CKK_EC_EDWARDS);
        tset(&tq, CKA_EC_PARAMS, ed_params, (CK_ULONG)ed_params_len);
        tset(&tp, CKA_EC_PARAMS, ed_params, (CK_ULONG)ed_params_len);
        tset(&tq, CKA_VALUE, raw_priv, 32);
        tset(&tp, CKA_EC_POINT, ed_point, sizeof ed_point);
    } else {
        char group[64];
        unsigned char point[200];
        size_t plen = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) != 1 ||
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &plen) != 1) {
            rv = CKR_GENERAL_ERROR;
            goto out;
        }
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        int pl = i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &params_der);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, point, (int)plen);
        int ptl = i2d_ASN1_OCTET_STRING(os, &point_der);
        ASN1_OCTET_STRING_free(os);
        size_t flen = (plen - 1) / 2;
        parts[0] = bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, flen, &lens[0]);
        if (pl <= 0 || ptl <= 0 || parts[0] == NULL) {
            rv = CKR_GENERAL_ERROR;
            goto out;
        }
        tulong(&tq, CKA_KEY_TYPE, CKK_EC);
        tulong(&tp, CKA_KEY_TYPE, CKK_EC);
        tset(&tq, CKA_EC_PARAMS, params_der, (CK_ULONG)pl);
        tset(&tp, CKA_EC_PARAMS, params_der, (CK_ULONG)pl);
        tset(&tq, CKA_VALUE, parts[0], lens[0]);
        tset(&tp, CKA_EC_POINT, point_der, (CK_ULONG)ptl);
    }
    rv = create(&tq, priv);
    if (rv == CKR_OK)
        rv = create(&tp, pub);
out:
    for (int i = 0; i < 8; i++) {
        if (parts[i])
            OPENSSL_cleanse(parts[i], lens[i]);
        free(parts[i]);
    }
    OPENSSL_cleanse(raw_priv, sizeof raw_priv);
    OPENSSL_free(params_der);
    OPENSSL_free(point_der);
    return rv;
}

/* OpenSSL RSA encryption / decryption; oaep_md NULL: PKCS#1 v1.5. */
static bool ossl_rsa(EVP_PKEY *pk, bool enc, const char *oaep_md, const char *label, const unsigned char *in,
                     size_t len, unsigned char *out, size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    bool ok = ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1;
    if (ok && oaep_md == NULL)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (ok && oaep_md != NULL) {
        EVP_MD *md = EVP_MD_fetch(NULL, oaep_md, NULL);
        ok = md && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1;
        EVP_MD_free(md);
        if (ok && label != NULL) {
            void *l = OPENSSL_memdup(label, strlen(label));
            ok = l && EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)strlen(label)) == 1;
        }
    }
    if (ok)
        ok = (enc ? EVP_PKEY_encrypt(ctx, out, out_len, in, len) : EVP_PKEY_decrypt(ctx, out, out_len, in, len)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* OpenSSL symmetric one-shot: AES-CBC (PKCS#7 padding or none), AES-GCM
 * (tag appended on encryption), AES key wrap with padding. */
static bool ossl_cipher(const char *name, bool enc, bool pad, const unsigned char *key, const unsigned char *iv,
                        size_t iv_len, const unsigned char *aad, size_t aad_len, size_t tag_len,
                        const unsigned char *in, size_t len, unsigned char *out, size_t *out_len)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    bool gcm = strstr(name, "GCM") != NULL;
    int n = 0, f = 0;
    bool ok = c && ctx;
    if (ok && strstr(name, "WRAP") != NULL)
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = ok && EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc ? 1 : 0, NULL) == 1;
    if (ok && gcm)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1;
    ok = ok && EVP_CipherInit_ex2(ctx, NULL, key, iv, -1, NULL) == 1;
    if (ok && !gcm)
        EVP_CIPHER_CTX_set_padding(ctx, pad ? 1 : 0);
    if (ok && gcm && aad_len > 0)
        ok = EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
    if (ok && gcm && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)tag_len, (void *)(in + len)) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &f) == 1;
    if (ok && gcm && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, (int)tag_len, out + n + f) == 1;
    if (ok)
        *out_len = (size_t)(n + f) + (gcm && enc ? tag_len : 0);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok;
}

/* ------------------------------------------------------------ test data */

static unsigned char msg[1000];
static const unsigned char key32[32] = {
    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
    0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
};
static const unsigned char key16[16] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};
static const unsigned char key20[20] = {
    0xc0, 0xff, 0xee, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
    0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x0d,
};

/* The RSA key pair the rules and encryption tests share. */
static CK_OBJECT_HANDLE rsa_pub = CK_INVALID_HANDLE, rsa_priv = CK_INVALID_HANDLE;
static EVP_PKEY *rsa_pk;

/* ------------------------------------------------------------ attrs */

static void test_attrs(void)
{
    tmpl_t tp, tq;
    CK_OBJECT_HANDLE pub, priv, k;
    CK_RV rv;

    section("attrs: generated, imported and unwrapped keys");
    rsa_pub_tmpl(&tp, 2048);
    priv_tmpl(&tq, true);
    rv = gen_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &tp, &tq, &rsa_pub, &rsa_priv);
    if (!expect(rv, CKR_OK, "C_GenerateKeyPair RSA-2048 (session objects)"))
        die("cannot go on without an RSA key", rv);
    rsa_pk = token_pub(rsa_pub);
    if (!check(rsa_pk != NULL, "RSA public key read back (CKA_MODULUS, CKA_PUBLIC_EXPONENT)"))
        die("cannot go on without the RSA public key", CKR_GENERAL_ERROR);
    check(EVP_PKEY_get_bits(rsa_pk) == 2048, "RSA modulus has 2048 bits (got %d)", EVP_PKEY_get_bits(rsa_pk));
    expect_generated(rsa_priv, CKM_RSA_PKCS_KEY_PAIR_GEN, "RSA private key");
    expect_generated(rsa_pub, CKM_RSA_PKCS_KEY_PAIR_GEN, "RSA public key");
    expect_bool(rsa_priv, CKA_SENSITIVE, "CKA_SENSITIVE", true, "RSA private key (default)");
    expect_bool(rsa_priv, CKA_EXTRACTABLE, "CKA_EXTRACTABLE", false, "RSA private key (default)");
    expect_bool(rsa_priv, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", true, "RSA private key");
    expect_bool(rsa_priv, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", true, "RSA private key");
    expect_sensitive(rsa_priv, CKA_PRIVATE_EXPONENT, "CKA_PRIVATE_EXPONENT", "RSA private key");
    expect_sensitive(rsa_priv, CKA_PRIME_1, "CKA_PRIME_1", "RSA private key");
    {
        CK_ULONG n1 = 0, n2 = 0;
        CK_RV r1, r2;
        unsigned char *m1 = get_alloc(rsa_priv, CKA_MODULUS, &n1, &r1);
        unsigned char *m2 = get_alloc(rsa_pub, CKA_MODULUS, &n2, &r2);
        expect(r1, CKR_OK, "RSA private key: CKA_MODULUS is readable");
        if (m1 && m2)
            same_bytes(m1, n1, m2, n2, "RSA private and public key have the same CKA_MODULUS");
        free(m1);
        free(m2);
    }
    {
        CK_ATTRIBUTE a[] = { { CKA_SENSITIVE, &no, sizeof no } };
        expect(p11->C_SetAttributeValue(sess, rsa_priv, a, 1), CKR_ATTRIBUTE_READ_ONLY,
               "C_SetAttributeValue CKA_SENSITIVE=FALSE on a sensitive key");
        CK_ATTRIBUTE b[] = { { CKA_EXTRACTABLE, &yes, sizeof yes } };
        expect(p11->C_SetAttributeValue(sess, rsa_priv, b, 1), CKR_ATTRIBUTE_READ_ONLY,
               "C_SetAttributeValue CKA_EXTRACTABLE=TRUE on an unextractable key");
        expect_bool(rsa_priv, CKA_SENSITIVE, "CKA_SENSITIVE", true, "RSA private key after the refused change");
    }

    ec_pub_tmpl(&tp, oid_p256, sizeof oid_p256);
    priv_tmpl(&tq, false);
    rv = gen_pair(CKM_EC_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair EC P-256")) {
        expect_generated(priv, CKM_EC_KEY_PAIR_GEN, "EC private key");
        expect_generated(pub, CKM_EC_KEY_PAIR_GEN, "EC public key");
        expect_bool(priv, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", true, "EC private key");
        expect_bool(priv, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", true, "EC private key");
        expect_sensitive(priv, CKA_VALUE, "CKA_VALUE", "EC private key");
        CK_ULONG n = 0;
        unsigned char *pt = get_alloc(pub, CKA_EC_POINT, &n, &rv);
        check(pt && n == 67 && pt[0] == 0x04 && pt[1] == 65 && pt[2] == 0x04,
              "EC P-256 CKA_EC_POINT is a DER OCTET STRING of an uncompressed point (got %s)",
              pt ? hex(pt, n) : rv_name(rv));
        free(pt);
    }
    destroy(pub);
    destroy(priv);

    ec_pub_tmpl(&tp, oid_ed25519, sizeof oid_ed25519);
    priv_tmpl(&tq, false);
    rv = gen_pair(CKM_EC_EDWARDS_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair Ed25519")) {
        expect_generated(priv, CKM_EC_EDWARDS_KEY_PAIR_GEN, "Ed25519 private key");
        expect_bool(priv, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", true, "Ed25519 private key");
        expect_sensitive(priv, CKA_VALUE, "CKA_VALUE", "Ed25519 private key");
    }
    destroy(pub);
    destroy(priv);

    /* An extractable private key: never-extractable is false. */
    ec_pub_tmpl(&tp, oid_p256, sizeof oid_p256);
    priv_tmpl(&tq, false);
    tbool(&tq, CKA_EXTRACTABLE, true);
    tbool(&tq, CKA_SENSITIVE, false);
    rv = gen_pair(CKM_EC_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair EC P-256, private key extractable and not sensitive")) {
        expect_bool(priv, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", false, "extractable EC private key");
        expect_bool(priv, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "extractable EC private key");
        CK_ULONG n = 0;
        unsigned char *v = get_alloc(priv, CKA_VALUE, &n, &rv);
        expect(rv, CKR_OK, "extractable, non-sensitive EC private key: CKA_VALUE is readable");
        check(v == NULL || n == 32, "its CKA_VALUE has 32 bytes (got %lu)", (unsigned long)n);
        free(v);
        CK_ATTRIBUTE a[] = { { CKA_SENSITIVE, &yes, sizeof yes } };
        expect(p11->C_SetAttributeValue(sess, priv, a, 1), CKR_OK, "C_SetAttributeValue CKA_SENSITIVE=TRUE");
        expect_bool(priv, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", false, "EC key made sensitive later");
        expect_sensitive(priv, CKA_VALUE, "CKA_VALUE", "EC key made sensitive later");
    }
    destroy(pub);
    destroy(priv);

    {
        CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
        tmpl_t t;
        memset(&t, 0, sizeof t);
        tbool(&t, CKA_TOKEN, false);
        tulong(&t, CKA_VALUE_LEN, 32);
        tbool(&t, CKA_ENCRYPT, true);
        rv = p11->C_GenerateKey(sess, &m, t.a, t.n, &k);
        if (expect(rv, CKR_OK, "C_GenerateKey AES-256")) {
            expect_generated(k, CKM_AES_KEY_GEN, "AES key");
            expect_bool(k, CKA_SENSITIVE, "CKA_SENSITIVE", true, "AES key (default)");
            expect_bool(k, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", true, "AES key");
            expect_bool(k, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", true, "AES key");
            expect_ulong(k, CKA_VALUE_LEN, "CKA_VALUE_LEN", 32, "AES key");
            expect_sensitive(k, CKA_VALUE, "CKA_VALUE", "AES key");
            destroy(k);
        }
        m.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
        memset(&t, 0, sizeof t);
        tbool(&t, CKA_TOKEN, false);
        tulong(&t, CKA_VALUE_LEN, 32);
        tbool(&t, CKA_EXTRACTABLE, true);
        tbool(&t, CKA_SENSITIVE, false);
        tbool(&t, CKA_SIGN, true);
        rv = p11->C_GenerateKey(sess, &m, t.a, t.n, &k);
        if (expect(rv, CKR_OK, "C_GenerateKey generic secret, extractable, not sensitive")) {
            expect_generated(k, CKM_GENERIC_SECRET_KEY_GEN, "generic secret");
            expect_bool(k, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", false, "non-sensitive generic secret");
            expect_bool(k, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "extractable generic secret");
            CK_ULONG n = 0;
            unsigned char *v = get_alloc(k, CKA_VALUE, &n, &rv);
            expect(rv, CKR_OK, "generic secret: CKA_VALUE is readable");
            check(v == NULL || n == 32, "generic secret: CKA_VALUE has 32 bytes (got %lu)", (unsigned long)n);
            free(v);
            destroy(k);
        }
    }

    {
        tmpl_t t;
        secret_tmpl(&t, CKK_AES, key32, sizeof key32);
        tbool(&t, CKA_ENCRYPT, true);
        rv = create(&t, &k);
        if (expect(rv, CKR_OK, "C_CreateObject AES key with a known value")) {
            expect_not_generated(k, "imported AES key");
            expect_bool(k, CKA_SENSITIVE, "CKA_SENSITIVE", true, "imported AES key (default)");
            expect_bool(k, CKA_EXTRACTABLE, "CKA_EXTRACTABLE", false, "imported AES key (default)");
            expect_bool(k, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "imported AES key");
            expect_sensitive(k, CKA_VALUE, "CKA_VALUE", "imported AES key");
            destroy(k);
        }
        secret_tmpl(&t, CKK_AES, key32, sizeof key32);
        tbool(&t, CKA_LOCAL, true);
        rv = create(&t, &k);
        if (!expect(rv, CKR_ATTRIBUTE_READ_ONLY, "C_CreateObject with CKA_LOCAL=TRUE"))
            destroy(k);
        secret_tmpl(&t, CKK_AES, key32, sizeof key32);
        tulong(&t, CKA_KEY_GEN_MECHANISM, CKM_AES_KEY_GEN);
        rv = create(&t, &k);
        if (!expect(rv, CKR_ATTRIBUTE_READ_ONLY, "C_CreateObject with CKA_KEY_GEN_MECHANISM"))
            destroy(k);
    }
}

/* ------------------------------------------------------------ digest */

static void test_digest(void)
{
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *name;
    } mds[] = {
        { CKM_MD5, "MD5" }, { CKM_SHA_1, "SHA1" }, { CKM_SHA224, "SHA224" },
        { CKM_SHA256, "SHA256" }, { CKM_SHA384, "SHA384" }, { CKM_SHA512, "SHA512" },
    };
    unsigned char want[64], got[64];
    unsigned int wl;
    CK_ULONG gl;
    CK_RV rv;

    section("digest");
    for (size_t i = 0; i < N_ELEMENTS(mds); i++) {
        CK_MECHANISM m = { mds[i].m, NULL, 0 };
        EVP_Digest(msg, sizeof msg, want, &wl, EVP_get_digestbyname(mds[i].name), NULL);
        rv = p11->C_DigestInit(sess, &m);
        gl = 0;
        if (rv == CKR_OK)
            rv = p11->C_Digest(sess, msg, sizeof msg, NULL, &gl);
        expect(rv, CKR_OK, "C_Digest %s length query", mds[i].name);
        check(gl == wl, "C_Digest %s length is %lu (expected %u)", mds[i].name, (unsigned long)gl, wl);
        gl = sizeof got;
        rv = p11->C_Digest(sess, msg, sizeof msg, got, &gl);
        if (expect(rv, CKR_OK, "C_Digest %s after the length query", mds[i].name))
            same_bytes(got, gl, want, wl, "C_Digest %s equals OpenSSL", mds[i].name);
        rv = p11->C_DigestInit(sess, &m);
        for (size_t off = 0; rv == CKR_OK && off < sizeof msg; off += 333)
            rv = p11->C_DigestUpdate(sess, msg + off, sizeof msg - off < 333 ? sizeof msg - off : 333);
        gl = sizeof got;
        if (rv == CKR_OK)
            rv = p11->C_DigestFinal(sess, got, &gl);
        if (expect(rv, CKR_OK, "C_DigestUpdate x4 + C_DigestFinal %s", mds[i].name))
            same_bytes(got, gl, want, wl, "multi-part %s equals OpenSSL", mds[i].name);
    }

    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    EVP_Digest(msg, sizeof msg, want, &wl, EVP_sha256(), NULL);
    expect(p11->C_Digest(sess, msg, sizeof msg, got, &gl), CKR_OPERATION_NOT_INITIALIZED,
           "C_Digest without C_DigestInit");
    expect(p11->C_DigestInit(sess, &m), CKR_OK, "C_DigestInit SHA256");
    expect(p11->C_DigestInit(sess, &m), CKR_OPERATION_ACTIVE, "a second C_DigestInit");
    gl = 10;
    expect(p11->C_Digest(sess, msg, sizeof msg, got, &gl), CKR_BUFFER_TOO_SMALL, "C_Digest into 10 bytes");
    check(gl == 32, "CKR_BUFFER_TOO_SMALL gives the length needed, 32 (got %lu)", (unsigned long)gl);
    gl = sizeof got;
    rv = p11->C_Digest(sess, msg, sizeof msg, got, &gl);
    if (expect(rv, CKR_OK, "C_Digest after CKR_BUFFER_TOO_SMALL (the operation stays active)"))
        same_bytes(got, gl, want, wl, "that digest equals OpenSSL");
    gl = sizeof got;
    expect(p11->C_Digest(sess, msg, sizeof msg, got, &gl), CKR_OPERATION_NOT_INITIALIZED,
           "C_Digest after the operation ended");
    expect(p11->C_DigestInit(sess, &m), CKR_OK, "C_DigestInit SHA256");
    expect(p11->C_DigestUpdate(sess, msg, 10), CKR_OK, "C_DigestUpdate");
    gl = sizeof got;
    expect_error(p11->C_Digest(sess, msg, sizeof msg, got, &gl), "C_Digest after C_DigestUpdate");
    gl = sizeof got;
    expect(p11->C_DigestFinal(sess, got, &gl), CKR_OPERATION_NOT_INITIALIZED,
           "C_DigestFinal after that refused C_Digest (it ended the operation)");
    m.mechanism = CKM_SHA256_RSA_PKCS;
    expect(p11->C_DigestInit(sess, &m), CKR_MECHANISM_INVALID, "C_DigestInit with a signature mechanism");

    /* C_DigestKey: the digest of a secret key's value. */
    tmpl_t t;
    CK_OBJECT_HANDLE k;
    secret_tmpl(&t, CKK_GENERIC_SECRET, key20, sizeof key20);
    tbool(&t, CKA_SIGN, true);
    if (expect(create(&t, &k), CKR_OK, "C_CreateObject generic secret (20 bytes, sensitive)")) {
        EVP_Digest(key20, sizeof key20, want, &wl, EVP_sha256(), NULL);
        m.mechanism = CKM_SHA256;
        rv = p11->C_DigestInit(sess, &m);
        if (rv == CKR_OK)
            rv = p11->C_DigestKey(sess, k);
        gl = sizeof got;
        if (rv == CKR_OK)
            rv = p11->C_DigestFinal(sess, got, &gl);
        if (expect(rv, CKR_OK, "C_DigestInit + C_DigestKey + C_DigestFinal"))
            same_bytes(got, gl, want, wl, "C_DigestKey equals SHA-256 of the key value");
        destroy(k);
    }
}

/* ------------------------------------------------------------ hmac */

static void test_hmac(void)
{
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *name;
    } macs[] = {
        { CKM_MD5_HMAC, "MD5" }, { CKM_SHA_1_HMAC, "SHA1" }, { CKM_SHA256_HMAC, "SHA256" },
        { CKM_SHA384_HMAC, "SHA384" }, { CKM_SHA512_HMAC, "SHA512" },
    };
    /* RFC 4231 test case 2. */
    static const char jefe[] = "Jefe", jefe_data[] = "what do ya want for nothing?";
    static const unsigned char jefe256[] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
        0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
    };
    static const unsigned char jefe512[] = {
        0x16, 0x4b, 0x7a, 0x7b, 0xfc, 0xf8, 0x19, 0xe2, 0xe3, 0x95, 0xfb, 0xe7, 0x3b, 0x56, 0xe0, 0xa3,
        0x87, 0xbd, 0x64, 0x22, 0x2e, 0x83, 0x1f, 0xd6, 0x10, 0x27, 0x0c, 0xd7, 0xea, 0x25, 0x05, 0x54,
        0x97, 0x58, 0xbf, 0x75, 0xc0, 0x5a, 0x99, 0x4a, 0x6d, 0x03, 0x4f, 0x65, 0xf8, 0xf0, 0xe6, 0xfd,
        0xca, 0xea, 0xb1, 0xa3, 0x4d, 0x4a, 0x6b, 0x4b, 0x63, 0x6e, 0x07, 0x0a, 0x38, 0xbc, 0xe7, 0x37,
    };
    unsigned char got[64], want[64], bad[64];
    unsigned int wl;
    CK_ULONG gl;
    CK_OBJECT_HANDLE k, kj;
    tmpl_t t;
    CK_RV rv;

    section("hmac");
    secret_tmpl(&t, CKK_GENERIC_SECRET, jefe, 4);
    tbool(&t, CKA_SIGN, true);
    tbool(&t, CKA_VERIFY, true);
    if (expect(create(&t, &kj), CKR_OK, "C_CreateObject generic secret 'Jefe' (CKA_SIGN, CKA_VERIFY)")) {
        CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
        gl = sizeof got;
        rv = sign(&m, kj, jefe_data, strlen(jefe_data), got, &gl);
        if (expect(rv, CKR_OK, "SHA256-HMAC sign, RFC 4231 case 2"))
            same_bytes(got, gl, jefe256, sizeof jefe256, "SHA256-HMAC equals RFC 4231 case 2");
        m.mechanism = CKM_SHA512_HMAC;
        gl = sizeof got;
        rv = sign(&m, kj, jefe_data, strlen(jefe_data), got, &gl);
        if (expect(rv, CKR_OK, "SHA512-HMAC sign, RFC 4231 case 2"))
            same_bytes(got, gl, jefe512, sizeof jefe512, "SHA512-HMAC equals RFC 4231 case 2");
        destroy(kj);
    }

    secret_tmpl(&t, CKK_GENERIC_SECRET, key32, sizeof key32);
    tbool(&t, CKA_SIGN, true);
    tbool(&t, CKA_VERIFY, true);
    if (!expect(create(&t, &k), CKR_OK, "C_CreateObject generic secret, 32 known bytes"))
        return;
    for (size_t i = 0; i < N_ELEMENTS(macs); i++) {
        CK_MECHANISM m = { macs[i].m, NULL, 0 };
        const char *nm = macs[i].name;
        HMAC(EVP_get_digestbyname(nm), key32, sizeof key32, msg, sizeof msg, want, &wl);
        gl = 0;
        rv = p11->C_SignInit(sess, &m, k);
        if (rv == CKR_OK)
            rv = p11->C_Sign(sess, msg, sizeof msg, NULL, &gl);
        expect(rv, CKR_OK, "%s-HMAC length query", nm);
        check(gl == wl, "%s-HMAC length is %lu (expected %u)", nm, (unsigned long)gl, wl);
        gl = sizeof got;
        rv = p11->C_Sign(sess, msg, sizeof msg, got, &gl);
        if (expect(rv, CKR_OK, "%s-HMAC sign", nm))
            same_bytes(got, gl, want, wl, "%s-HMAC equals OpenSSL HMAC", nm);
        expect(verify(&m, k, msg, sizeof msg, want, wl), CKR_OK, "%s-HMAC verify of OpenSSL's MAC", nm);
        memcpy(bad, want, wl);
        bad[wl / 2] ^= 0x01;
        expect(verify(&m, k, msg, sizeof msg, bad, wl), CKR_SIGNATURE_INVALID, "%s-HMAC verify, one bit flipped",
               nm);
        expect(verify(&m, k, msg, sizeof msg, want, wl - 1), CKR_SIGNATURE_LEN_RANGE,
               "%s-HMAC verify, MAC one byte short", nm);
        rv = p11->C_SignInit(sess, &m, k);
        for (size_t off = 0; rv == CKR_OK && off < sizeof msg; off += 100)
            rv = p11->C_SignUpdate(sess, msg + off, 100);
        gl = sizeof got;
        if (rv == CKR_OK)
            rv = p11->C_SignFinal(sess, got, &gl);
        if (expect(rv, CKR_OK, "%s-HMAC C_SignUpdate x10 + C_SignFinal", nm))
            same_bytes(got, gl, want, wl, "multi-part %s-HMAC equals OpenSSL", nm);
        rv = p11->C_VerifyInit(sess, &m, k);
        if (rv == CKR_OK)
            rv = p11->C_VerifyUpdate(sess, msg, 500);
        if (rv == CKR_OK)
            rv = p11->C_VerifyUpdate(sess, msg + 500, 500);
        if (rv == CKR_OK)
            rv = p11->C_VerifyFinal(sess, want, wl);
        expect(rv, CKR_OK, "%s-HMAC C_VerifyUpdate x2 + C_VerifyFinal", nm);
    }
    destroy(k);

    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    secret_tmpl(&t, CKK_GENERIC_SECRET, key32, sizeof key32);
    tbool(&t, CKA_SIGN, false);
    tbool(&t, CKA_VERIFY, true);
    if (expect(create(&t, &k), CKR_OK, "C_CreateObject generic secret with CKA_SIGN=FALSE")) {
        expect(p11->C_SignInit(sess, &m, k), CKR_KEY_FUNCTION_NOT_PERMITTED, "C_SignInit SHA256-HMAC, CKA_SIGN=FALSE");
        expect(p11->C_VerifyInit(sess, &m, k), CKR_OK, "C_VerifyInit SHA256-HMAC with that key (CKA_VERIFY=TRUE)");
        HMAC(EVP_sha256(), key32, sizeof key32, msg, sizeof msg, want, &wl);
        expect(p11->C_Verify(sess, msg, sizeof msg, want, wl), CKR_OK, "C_Verify with it");
        destroy(k);
    }
    secret_tmpl(&t, CKK_GENERIC_SECRET, key32, sizeof key32);
    tbool(&t, CKA_SIGN, true);
    tbool(&t, CKA_VERIFY, false);
    if (expect(create(&t, &k), CKR_OK, "C_CreateObject generic secret with CKA_VERIFY=FALSE")) {
        expect(p11->C_VerifyInit(sess, &m, k), CKR_KEY_FUNCTION_NOT_PERMITTED,
               "C_VerifyInit SHA256-HMAC, CKA_VERIFY=FALSE");
        destroy(k);
    }
    secret_tmpl(&t, CKK_GENERIC_SECRET, key32, sizeof key32);
    if (expect(create(&t, &k), CKR_OK, "C_CreateObject generic secret without CKA_SIGN")) {
        int b = get_bool(k, CKA_SIGN);
        if (b == 1)
            expect(p11->C_SignInit(sess, &m, k), CKR_OK, "C_SignInit with it (CKA_SIGN defaulted to TRUE)");
        else
            expect(p11->C_SignInit(sess, &m, k), CKR_KEY_FUNCTION_NOT_PERMITTED,
                   "C_SignInit with it (CKA_SIGN reads %s)", b == 0 ? "FALSE" : "unreadable");
        end_sign();
        destroy(k);
    }
    secret_tmpl(&t, CKK_AES, key32, sizeof key32);
    tbool(&t, CKA_SIGN, true);
    if (expect(create(&t, &k), CKR_OK, "C_CreateObject AES key with CKA_SIGN=TRUE")) {
        expect(p11->C_SignInit(sess, &m, k), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit SHA256-HMAC with an AES key");
        end_sign();
        destroy(k);
    }
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit SHA256-HMAC with an RSA key");
    end_sign();

    /* A generated HMAC key, read back (extractable) and checked with OpenSSL. */
    CK_MECHANISM g = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    memset(&t, 0, sizeof t);
    tbool(&t, CKA_TOKEN, false);
    tulong(&t, CKA_VALUE_LEN, 48);
    tbool(&t, CKA_SIGN, true);
    tbool(&t, CKA_EXTRACTABLE, true);
    tbool(&t, CKA_SENSITIVE, false);
    if (expect(p11->C_GenerateKey(sess, &g, t.a, t.n, &k), CKR_OK, "C_GenerateKey generic secret, 48 bytes")) {
        CK_ULONG n = 0;
        unsigned char *v = get_alloc(k, CKA_VALUE, &n, &rv);
        if (expect(rv, CKR_OK, "its CKA_VALUE") && check(n == 48, "its CKA_VALUE has 48 bytes (got %lu)", (unsigned long)n)) {
            HMAC(EVP_sha384(), v, (int)n, msg, sizeof msg, want, &wl);
            m.mechanism = CKM_SHA384_HMAC;
            gl = sizeof got;
            rv = sign(&m, k, msg, sizeof msg, got, &gl);
            if (expect(rv, CKR_OK, "SHA384-HMAC with the generated key"))
                same_bytes(got, gl, want, wl, "SHA384-HMAC with the generated key equals OpenSSL");
        }
        free(v);
        destroy(k);
    }
}

/* ------------------------------------------------------------ rules */

static void test_rules(void)
{
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    unsigned char sig[512], sig2[512];
    CK_ULONG sl, sl2;
    CK_RV rv;
    tmpl_t tp, tq;
    CK_OBJECT_HANDLE pub, priv;

    section("rules: operation state, keys, handles, mechanisms");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_OPERATION_NOT_INITIALIZED, "C_Sign without C_SignInit");
    expect(p11->C_SignUpdate(sess, msg, 10), CKR_OPERATION_NOT_INITIALIZED, "C_SignUpdate without C_SignInit");
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_OK, "C_SignInit SHA256-RSA-PKCS");
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_OPERATION_ACTIVE, "a second C_SignInit while one is active");
    sl = 0;
    rv = p11->C_Sign(sess, msg, sizeof msg, NULL, &sl);
    expect(rv, CKR_OK, "C_Sign with a NULL buffer (length query)");
    check(sl == 256, "the length query gives 256 (got %lu)", (unsigned long)sl);
    sl = 10;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_BUFFER_TOO_SMALL, "C_Sign into a 10-byte buffer");
    check(sl == 256, "CKR_BUFFER_TOO_SMALL gives the length needed, 256 (got %lu)", (unsigned long)sl);
    sl = sizeof sig;
    rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
    if (expect(rv, CKR_OK, "C_Sign after the length query and CKR_BUFFER_TOO_SMALL (the first operation is still active)"))
        check(ossl_verify(rsa_pk, "SHA256", NULL, PAD_PKCS1, 0, msg, sizeof msg, sig, sl),
              "OpenSSL verifies that signature");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
           "C_Sign again: the successful C_Sign ended the operation");

    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_OK, "C_SignInit");
    expect(p11->C_SignUpdate(sess, msg, 100), CKR_OK, "C_SignUpdate");
    sl = sizeof sig;
    rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
    expect_error(rv, "C_Sign after C_SignUpdate (a multi-part operation ends with C_SignFinal)");
    printf("     (it returned %s)\n", rv_name(rv));
    sl = sizeof sig;
    expect(p11->C_SignFinal(sess, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
           "C_SignFinal after that refused C_Sign (a failed C_Sign ends the operation)");
    end_sign();

    /* Multi-part: the same deterministic signature as single-part. */
    sl = sizeof sig;
    rv = sign(&m, rsa_priv, msg, sizeof msg, sig, &sl);
    expect(rv, CKR_OK, "single-part SHA256-RSA-PKCS");
    rv = p11->C_SignInit(sess, &m, rsa_priv);
    for (size_t off = 0; rv == CKR_OK && off < sizeof msg; off += 250)
        rv = p11->C_SignUpdate(sess, msg + off, 250);
    expect(rv, CKR_OK, "C_SignInit + C_SignUpdate x4");
    sl2 = 0;
    expect(p11->C_SignFinal(sess, NULL, &sl2), CKR_OK, "C_SignFinal length query");
    check(sl2 == 256, "C_SignFinal length query gives 256 (got %lu)", (unsigned long)sl2);
    sl2 = 3;
    expect(p11->C_SignFinal(sess, sig2, &sl2), CKR_BUFFER_TOO_SMALL, "C_SignFinal into 3 bytes");
    sl2 = sizeof sig2;
    rv = p11->C_SignFinal(sess, sig2, &sl2);
    if (expect(rv, CKR_OK, "C_SignFinal after the length query and CKR_BUFFER_TOO_SMALL"))
        same_bytes(sig2, sl2, sig, sl, "multi-part SHA256-RSA-PKCS equals single-part");
    rv = p11->C_VerifyInit(sess, &m, rsa_pub);
    for (size_t off = 0; rv == CKR_OK && off < sizeof msg; off += 400)
        rv = p11->C_VerifyUpdate(sess, msg + off, sizeof msg - off < 400 ? sizeof msg - off : 400);
    if (rv == CKR_OK)
        rv = p11->C_VerifyFinal(sess, sig, sl);
    expect(rv, CKR_OK, "C_VerifyUpdate x3 + C_VerifyFinal");
    sig2[17] ^= 0x80;
    rv = p11->C_VerifyInit(sess, &m, rsa_pub);
    if (rv == CKR_OK)
        rv = p11->C_VerifyUpdate(sess, msg, sizeof msg);
    if (rv == CKR_OK)
        rv = p11->C_VerifyFinal(sess, sig2, sl);
    expect(rv, CKR_SIGNATURE_INVALID, "C_VerifyFinal, one bit flipped");
    expect(verify(&m, rsa_pub, msg, sizeof msg, sig2, sl), CKR_SIGNATURE_INVALID, "C_Verify, one bit flipped");
    expect(verify(&m, rsa_pub, msg, sizeof msg, sig, sl - 1), CKR_SIGNATURE_LEN_RANGE, "C_Verify, signature one byte short");
    expect(verify(&m, rsa_pub, msg, sizeof msg - 1, sig, sl), CKR_SIGNATURE_INVALID, "C_Verify, other data");

    /* Raw RSA-PKCS: at most k-11 bytes. */
    CK_MECHANISM raw = { CKM_RSA_PKCS, NULL, 0 };
    sl = sizeof sig;
    rv = sign(&raw, rsa_priv, msg, 245, sig, &sl);
    if (expect(rv, CKR_OK, "RSA-PKCS sign of 245 bytes (k-11)"))
        check(ossl_verify(rsa_pk, NULL, NULL, PAD_PKCS1, 0, msg, 245, sig, sl), "OpenSSL verifies it (raw PKCS#1 v1.5)");
    sl = sizeof sig;
    expect(sign(&raw, rsa_priv, msg, 246, sig, &sl), CKR_DATA_LEN_RANGE, "RSA-PKCS sign of 246 bytes");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, 10, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
           "C_Sign after CKR_DATA_LEN_RANGE (the error ended the operation)");

    /* Keys: class, usage, type, handle; mechanisms. */
    expect(p11->C_SignInit(sess, &m, rsa_pub), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit with a public key");
    end_sign();
    CK_MECHANISM ec = { CKM_ECDSA_SHA256, NULL, 0 };
    expect(p11->C_SignInit(sess, &ec, rsa_priv), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit ECDSA-SHA256 with an RSA key");
    end_sign();
    CK_MECHANISM ed = { CKM_EDDSA, NULL, 0 };
    expect(p11->C_SignInit(sess, &ed, rsa_priv), CKR_KEY_TYPE_INCONSISTENT, "C_SignInit EDDSA with an RSA key");
    end_sign();
    expect(p11->C_SignInit(sess, &m, BOGUS_HANDLE), CKR_KEY_HANDLE_INVALID, "C_SignInit with a random handle");
    expect(p11->C_VerifyInit(sess, &m, BOGUS_HANDLE), CKR_KEY_HANDLE_INVALID, "C_VerifyInit with a random handle");
    expect(p11->C_EncryptInit(sess, &raw, BOGUS_HANDLE), CKR_KEY_HANDLE_INVALID, "C_EncryptInit with a random handle");
    expect(p11->C_DecryptInit(sess, &raw, BOGUS_HANDLE), CKR_KEY_HANDLE_INVALID, "C_DecryptInit with a random handle");
    expect(p11->C_SignInit(sess, &m, CK_INVALID_HANDLE), CKR_KEY_HANDLE_INVALID, "C_SignInit with handle 0");
    end_sign();
    CK_MECHANISM dsa = { CKM_DSA, NULL, 0 };
    expect(p11->C_SignInit(sess, &dsa, rsa_priv), CKR_MECHANISM_INVALID, "C_SignInit with CKM_DSA (not offered)");
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    expect(p11->C_SignInit(sess, &sha, rsa_priv), CKR_MECHANISM_INVALID, "C_SignInit with a digest mechanism");
    end_sign();
    CK_MECHANISM oaep_as_sign = { CKM_RSA_PKCS_OAEP, NULL, 0 };
    expect(p11->C_SignInit(sess, &oaep_as_sign, rsa_priv), CKR_MECHANISM_INVALID, "C_SignInit with CKM_RSA_PKCS_OAEP");
    end_sign();
    expect(p11->C_SignInit(CK_INVALID_HANDLE, &m, rsa_priv), CKR_SESSION_HANDLE_INVALID, "C_SignInit on session 0");

    rsa_pub_tmpl(&tp, 2048);
    priv_tmpl(&tq, true);
    tbool(&tq, CKA_SIGN, false);
    rv = gen_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair RSA-2048 with private CKA_SIGN=FALSE")) {
        expect(p11->C_SignInit(sess, &m, priv), CKR_KEY_FUNCTION_NOT_PERMITTED, "C_SignInit with CKA_SIGN=FALSE");
        end_sign();
        CK_ATTRIBUTE a[] = { { CKA_VERIFY, &no, sizeof no } };
        expect(p11->C_SetAttributeValue(sess, pub, a, 1), CKR_OK, "C_SetAttributeValue CKA_VERIFY=FALSE on the public key");
        expect(p11->C_VerifyInit(sess, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED, "C_VerifyInit with CKA_VERIFY=FALSE");
        destroy(pub);
        destroy(priv);
        expect(p11->C_SignInit(sess, &m, priv), CKR_KEY_HANDLE_INVALID, "C_SignInit with a destroyed key's handle");
        end_sign();
    }

    /* An operation outlives the destruction of its key? It must not crash. */
    rsa_pub_tmpl(&tp, 2048);
    priv_tmpl(&tq, true);
    if (gen_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &tp, &tq, &pub, &priv) == CKR_OK) {
        rv = p11->C_SignInit(sess, &m, priv);
        destroy(priv);
        sl = sizeof sig;
        if (rv == CKR_OK)
            rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
        check(true, "C_Sign after destroying the key in use returned %s (no crash)", rv_name(rv));
        end_sign();
        destroy(pub);
    }
}

/* ------------------------------------------------------------ pss */

static void test_pss(void)
{
    unsigned char sig[512], h[32];
    CK_ULONG sl;
    CK_RV rv;
    CK_RSA_PKCS_PSS_PARAMS good = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_RSA_PKCS_PSS_PARAMS p;
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS_PSS, &p, sizeof p };

    section("pss: RSA-PSS parameters");
    p = good;
    sl = sizeof sig;
    rv = sign(&m, rsa_priv, msg, sizeof msg, sig, &sl);
    if (expect(rv, CKR_OK, "SHA256-RSA-PKCS-PSS, sLen 32"))
        check(ossl_verify(rsa_pk, "SHA256", NULL, PAD_PSS, 32, msg, sizeof msg, sig, sl),
              "OpenSSL verifies it (PSS, SHA-256, salt 32)");
    expect(verify(&m, rsa_pub, msg, sizeof msg, sig, sl), CKR_OK, "C_Verify SHA256-RSA-PKCS-PSS");
    p.sLen = 0;
    sl = sizeof sig;
    rv = sign(&m, rsa_priv, msg, sizeof msg, sig, &sl);
    if (expect(rv, CKR_OK, "SHA256-RSA-PKCS-PSS, sLen 0"))
        check(ossl_verify(rsa_pk, "SHA256", NULL, PAD_PSS, 0, msg, sizeof msg, sig, sl),
              "OpenSSL verifies it (PSS, salt 0)");
    p = good;
    p.sLen = 222; /* k - hLen - 2: the largest salt */
    sl = sizeof sig;
    rv = sign(&m, rsa_priv, msg, sizeof msg, sig, &sl);
    if (expect(rv, CKR_OK, "SHA256-RSA-PKCS-PSS, sLen 222 (the largest for RSA-2048)"))
        check(ossl_verify(rsa_pk, "SHA256", NULL, PAD_PSS, 222, msg, sizeof msg, sig, sl),
              "OpenSSL verifies it (PSS, salt 222)");

    CK_MECHANISM nul = { CKM_SHA256_RSA_PKCS_PSS, NULL, 0 };
    expect(p11->C_SignInit(sess, &nul, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "SHA256-RSA-PKCS-PSS without parameters");
    end_sign();
    p = good;
    m.ulParameterLen = sizeof p - 1;
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "PSS parameters of the wrong length");
    end_sign();
    m.ulParameterLen = sizeof p;
    p.hashAlg = CKM_SHA_1;
    p.mgf = CKG_MGF1_SHA1;
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID,
           "SHA256-RSA-PKCS-PSS with hashAlg SHA-1 (not the mechanism's hash)");
    end_sign();
    p = good;
    p.mgf = 0x99;
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "PSS with an unknown MGF 0x99");
    end_sign();
    p = good;
    p.hashAlg = CKM_SHA256_HMAC;
    expect(p11->C_SignInit(sess, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "PSS with hashAlg CKM_SHA256_HMAC");
    end_sign();
    p = good;
    p.sLen = 223;
    rv = p11->C_SignInit(sess, &m, rsa_priv);
    if (rv == CKR_OK) {
        /* C_SignInit knows the key: it should refuse; accept the refusal
         * at C_Sign too, but with the right code. */
        sl = sizeof sig;
        rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
        expect(rv, CKR_MECHANISM_PARAM_INVALID, "PSS with sLen 223 (too large for RSA-2048): C_SignInit took it, C_Sign");
    } else {
        expect(rv, CKR_MECHANISM_PARAM_INVALID, "C_SignInit PSS with sLen 223 (too large for RSA-2048)");
    }
    end_sign();

    /* Raw PSS: the input is the hash. */
    CK_MECHANISM raw = { CKM_RSA_PKCS_PSS, &p, sizeof p };
    p = good;
    SHA256(msg, sizeof msg, h);
    sl = sizeof sig;
    rv = sign(&raw, rsa_priv, h, sizeof h, sig, &sl);
    if (expect(rv, CKR_OK, "RSA-PKCS-PSS over a SHA-256 hash"))
        check(ossl_verify(rsa_pk, NULL, "SHA256", PAD_PSS, 32, h, sizeof h, sig, sl),
              "OpenSSL verifies it (PSS over the hash)");
    expect(verify(&raw, rsa_pub, h, sizeof h, sig, sl), CKR_OK, "C_Verify RSA-PKCS-PSS over the hash");
    sl = sizeof sig;
    expect(sign(&raw, rsa_priv, h, 20, sig, &sl), CKR_DATA_LEN_RANGE,
           "RSA-PKCS-PSS (hashAlg SHA-256) over 20 bytes");
    end_sign();
    CK_MECHANISM rawnul = { CKM_RSA_PKCS_PSS, NULL, 0 };
    expect(p11->C_SignInit(sess, &rawnul, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "RSA-PKCS-PSS without parameters");
    end_sign();
}

/* ------------------------------------------------------------ ec / ed */

static void test_ec(void)
{
    unsigned char sig[256], sig2[256], h[64];
    size_t osl;
    CK_ULONG sl;
    CK_RV rv;
    tmpl_t tp, tq;
    CK_OBJECT_HANDLE pub, priv;

    section("ec: ECDSA multi-part, imported P-384 and Ed25519 keys");
    ec_pub_tmpl(&tp, oid_p256, sizeof oid_p256);
    priv_tmpl(&tq, false);
    rv = gen_pair(CKM_EC_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair EC P-256")) {
        EVP_PKEY *pk = token_pub(pub);
        check(pk != NULL, "EC public key read back (CKA_EC_PARAMS, CKA_EC_POINT)");
        CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
        rv = p11->C_SignInit(sess, &m, priv);
        for (size_t off = 0; rv == CKR_OK && off < sizeof msg; off += 125)
            rv = p11->C_SignUpdate(sess, msg + off, 125);
        sl = sizeof sig;
        if (rv == CKR_OK)
            rv = p11->C_SignFinal(sess, sig, &sl);
        if (expect(rv, CKR_OK, "ECDSA-SHA256 C_SignUpdate x8 + C_SignFinal")) {
            check(sl == 64, "ECDSA P-256 signature is r||s, 64 bytes (got %lu)", (unsigned long)sl);
            check(ossl_verify(pk, "SHA256", NULL, PAD_NONE, 0, msg, sizeof msg, sig, sl),
                  "OpenSSL verifies the multi-part ECDSA-SHA256 signature");
        }
        rv = p11->C_VerifyInit(sess, &m, pub);
        if (rv == CKR_OK)
            rv = p11->C_VerifyUpdate(sess, msg, 1);
        if (rv == CKR_OK)
            rv = p11->C_VerifyUpdate(sess, msg + 1, sizeof msg - 1);
        if (rv == CKR_OK)
            rv = p11->C_VerifyFinal(sess, sig, sl);
        expect(rv, CKR_OK, "ECDSA-SHA256 C_VerifyUpdate x2 + C_VerifyFinal");
        expect(verify(&m, pub, msg, sizeof msg, sig, 63), CKR_SIGNATURE_LEN_RANGE, "ECDSA verify, signature 63 bytes");
        CK_MECHANISM raw = { CKM_ECDSA, NULL, 0 };
        SHA256(msg, sizeof msg, h);
        sl = sizeof sig;
        rv = sign(&raw, priv, h, 32, sig, &sl);
        if (expect(rv, CKR_OK, "ECDSA over a SHA-256 hash"))
            check(ossl_verify(pk, NULL, NULL, PAD_NONE, 0, h, 32, sig, sl), "OpenSSL verifies raw ECDSA");
        EVP_PKEY_free(pk);
    }
    destroy(pub);
    destroy(priv);

    /* Imported P-384, both ways. */
    EVP_PKEY *ok384 = ossl_keygen("EC", "P-384");
    rv = ok384 ? import_pkey(ok384, NULL, 0, &pub, &priv) : CKR_GENERAL_ERROR;
    if (expect(rv, CKR_OK, "C_CreateObject P-384 key pair made by OpenSSL")) {
        expect_not_generated(priv, "imported P-384 private key");
        CK_MECHANISM m = { CKM_ECDSA_SHA384, NULL, 0 };
        sl = sizeof sig;
        rv = sign(&m, priv, msg, sizeof msg, sig, &sl);
        if (expect(rv, CKR_OK, "ECDSA-SHA384 with the imported key")) {
            check(sl == 96, "ECDSA P-384 signature is 96 bytes (got %lu)", (unsigned long)sl);
            check(ossl_verify(ok384, "SHA384", NULL, PAD_NONE, 0, msg, sizeof msg, sig, sl),
                  "OpenSSL verifies the token's P-384 signature with its own key");
        }
        if (check(ossl_sign(ok384, "SHA384", 48, msg, sizeof msg, sig2, &osl), "OpenSSL signs with P-384")) {
            expect(verify(&m, pub, msg, sizeof msg, sig2, osl), CKR_OK, "the token verifies OpenSSL's P-384 signature");
            sig2[5] ^= 0x04;
            expect(verify(&m, pub, msg, sizeof msg, sig2, osl), CKR_SIGNATURE_INVALID,
                   "the token refuses it with one bit flipped");
        }
    }
    destroy(pub);
    destroy(priv);
    EVP_PKEY_free(ok384);

    /* Imported Ed25519 (OID params, then printable-string params):
     * Ed25519 is deterministic, so the signatures must be byte-equal. */
    EVP_PKEY *oed = ossl_keygen("ED25519", NULL);
    for (int form = 0; form < 2; form++) {
        const char *fname = form ? "printable-string params" : "OID params";
        rv = oed ? import_pkey(oed, form ? str_ed25519 : oid_ed25519, form ? sizeof str_ed25519 : sizeof oid_ed25519,
                               &pub, &priv)
                 : CKR_GENERAL_ERROR;
        if (!expect(rv, CKR_OK, "C_CreateObject Ed25519 key pair made by OpenSSL (%s)", fname))
            continue;
        CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
        sl = sizeof sig;
        rv = sign(&m, priv, msg, sizeof msg, sig, &sl);
        if (expect(rv, CKR_OK, "EDDSA with the imported key (%s)", fname) &&
            check(ossl_sign(oed, NULL, 0, msg, sizeof msg, sig2, &osl), "OpenSSL signs with Ed25519"))
            same_bytes(sig, sl, sig2, osl, "EDDSA signature equals OpenSSL's (%s)", fname);
        expect(verify(&m, pub, msg, sizeof msg, sig2, osl), CKR_OK, "the token verifies OpenSSL's Ed25519 signature (%s)",
               fname);
        sig2[40] ^= 0x01;
        expect(verify(&m, pub, msg, sizeof msg, sig2, osl), CKR_SIGNATURE_INVALID,
               "the token refuses it with one bit flipped (%s)", fname);
        destroy(pub);
        destroy(priv);
    }
    EVP_PKEY_free(oed);

    ec_pub_tmpl(&tp, str_ed25519, sizeof str_ed25519);
    priv_tmpl(&tq, false);
    rv = gen_pair(CKM_EC_EDWARDS_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (expect(rv, CKR_OK, "C_GenerateKeyPair Ed25519 with CKA_EC_PARAMS as the printable string 'edwards25519'")) {
        EVP_PKEY *pk = token_pub(pub);
        CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
        sl = sizeof sig;
        rv = sign(&m, priv, msg, 100, sig, &sl);
        if (expect(rv, CKR_OK, "EDDSA with it"))
            check(pk && ossl_verify(pk, NULL, NULL, PAD_NONE, 0, msg, 100, sig, sl), "OpenSSL verifies it");
        CK_MECHANISM e256 = { CKM_ECDSA_SHA256, NULL, 0 };
        expect(p11->C_SignInit(sess, &e256, priv), CKR_KEY_TYPE_INCONSISTENT, "ECDSA-SHA256 with an Ed25519 key");
        end_sign();
        EVP_PKEY_free(pk);
    }
    destroy(pub);
    destroy(priv);

    /* Unsupported curve (secp256k1). */
    static const CK_BYTE oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
    ec_pub_tmpl(&tp, oid_k256, sizeof oid_k256);
    priv_tmpl(&tq, false);
    rv = gen_pair(CKM_EC_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (!expect(rv, CKR_CURVE_NOT_SUPPORTED, "C_GenerateKeyPair EC on secp256k1 (not offered)")) {
        destroy(pub);
        destroy(priv);
    }
}

/* ------------------------------------------------------------ always-auth */

static void test_always_auth(void)
{
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    unsigned char sig[512], out[512], ct[512];
    CK_ULONG sl, ol;
    size_t ctl;
    CK_RV rv;
    tmpl_t tp, tq;
    CK_OBJECT_HANDLE pub, priv;
    CK_ULONG pin_len = (CK_ULONG)strlen(user_pin);

    section("auth: CKA_ALWAYS_AUTHENTICATE");
    rsa_pub_tmpl(&tp, 2048);
    priv_tmpl(&tq, true);
    tbool(&tq, CKA_ALWAYS_AUTHENTICATE, true);
    rv = gen_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &tp, &tq, &pub, &priv);
    if (!expect(rv, CKR_OK, "C_GenerateKeyPair RSA-2048 with CKA_ALWAYS_AUTHENTICATE"))
        return;
    EVP_PKEY *pk = token_pub(pub);
    expect_bool(priv, CKA_ALWAYS_AUTHENTICATE, "CKA_ALWAYS_AUTHENTICATE", true, "the key");

    expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len), CKR_OPERATION_NOT_INITIALIZED,
           "C_Login(CKU_CONTEXT_SPECIFIC) with no operation");
    expect(p11->C_SignInit(sess, &m, priv), CKR_OK, "C_SignInit");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_USER_NOT_LOGGED_IN,
           "C_Sign without C_Login(CKU_CONTEXT_SPECIFIC)");
    rv = p11->C_SignInit(sess, &m, priv);
    expect(rv, CKR_OK, "C_SignInit again (the failed C_Sign ended the operation)");
    expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len), CKR_OK,
           "C_Login(CKU_CONTEXT_SPECIFIC) with the user PIN");
    sl = sizeof sig;
    rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
    if (expect(rv, CKR_OK, "C_Sign after the context-specific login"))
        check(ossl_verify(pk, "SHA256", NULL, PAD_PKCS1, 0, msg, sizeof msg, sig, sl), "OpenSSL verifies it");
    expect(p11->C_SignInit(sess, &m, priv), CKR_OK, "C_SignInit for a second signature");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_USER_NOT_LOGGED_IN,
           "C_Sign without a new context-specific login (each use needs one)");
    if (p11->C_SignInit(sess, &m, priv) == CKR_OPERATION_ACTIVE) {
        /* not ended: end it */
        p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len);
        sl = sizeof sig;
        p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
    } else {
        end_sign();
    }

    /* Length query and CKR_BUFFER_TOO_SMALL are part of the one use. */
    expect(p11->C_SignInit(sess, &m, priv), CKR_OK, "C_SignInit");
    expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len), CKR_OK,
           "C_Login(CKU_CONTEXT_SPECIFIC)");
    sl = 0;
    expect(p11->C_Sign(sess, msg, sizeof msg, NULL, &sl), CKR_OK, "C_Sign length query");
    sl = 1;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_BUFFER_TOO_SMALL, "C_Sign into 1 byte");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_OK, "C_Sign (same login, same operation)");
    end_sign();

    /* Multi-part. */
    rv = p11->C_SignInit(sess, &m, priv);
    if (rv == CKR_OK)
        rv = p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len);
    if (rv == CKR_OK)
        rv = p11->C_SignUpdate(sess, msg, 500);
    if (rv == CKR_OK)
        rv = p11->C_SignUpdate(sess, msg + 500, 500);
    sl = sizeof sig;
    if (rv == CKR_OK)
        rv = p11->C_SignFinal(sess, sig, &sl);
    if (expect(rv, CKR_OK, "C_SignInit + context login + C_SignUpdate x2 + C_SignFinal"))
        check(ossl_verify(pk, "SHA256", NULL, PAD_PKCS1, 0, msg, sizeof msg, sig, sl), "OpenSSL verifies it");
    end_sign();

    /* A wrong context PIN counts as a try; the right one then works (and
     * restores the count). */
    expect(p11->C_SignInit(sess, &m, priv), CKR_OK, "C_SignInit");
    expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR) "99999999", 8), CKR_PIN_INCORRECT,
           "C_Login(CKU_CONTEXT_SPECIFIC) with a wrong PIN");
    expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len), CKR_OK,
           "C_Login(CKU_CONTEXT_SPECIFIC) with the right PIN after it");
    sl = sizeof sig;
    expect(p11->C_Sign(sess, msg, sizeof msg, sig, &sl), CKR_OK, "C_Sign");
    end_sign();
    CK_TOKEN_INFO ti;
    if (expect(p11->C_GetTokenInfo(slot, &ti), CKR_OK, "C_GetTokenInfo"))
        check(!(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)),
              "the right context PIN restored the user PIN count (token flags 0x%lx)", (unsigned long)ti.flags);

    /* Decryption needs it too. */
    CK_MECHANISM pk1 = { CKM_RSA_PKCS, NULL, 0 };
    ctl = sizeof ct;
    if (check(ossl_rsa(pk, true, NULL, NULL, msg, 100, ct, &ctl), "OpenSSL encrypts 100 bytes (RSA-PKCS)")) {
        expect(p11->C_DecryptInit(sess, &pk1, priv), CKR_OK, "C_DecryptInit RSA-PKCS");
        ol = sizeof out;
        expect(p11->C_Decrypt(sess, ct, ctl, out, &ol), CKR_USER_NOT_LOGGED_IN, "C_Decrypt without the context login");
        expect(p11->C_DecryptInit(sess, &pk1, priv), CKR_OK, "C_DecryptInit again");
        expect(p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len), CKR_OK,
               "C_Login(CKU_CONTEXT_SPECIFIC)");
        ol = sizeof out;
        rv = p11->C_Decrypt(sess, ct, ctl, out, &ol);
        if (expect(rv, CKR_OK, "C_Decrypt after the context login"))
            same_bytes(out, ol, msg, 100, "the plaintext");
    }
    /* Verification and encryption with the public key need nothing. */
    sl = sizeof sig;
    rv = p11->C_SignInit(sess, &m, priv);
    if (rv == CKR_OK)
        rv = p11->C_Login(sess, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)user_pin, pin_len);
    if (rv == CKR_OK)
        rv = p11->C_Sign(sess, msg, sizeof msg, sig, &sl);
    expect(rv, CKR_OK, "sign once more");
    expect(verify(&m, pub, msg, sizeof msg, sig, sl), CKR_OK, "C_Verify with the public key, no context login");
    EVP_PKEY_free(pk);
    destroy(pub);
    destroy(priv);
}

/* ------------------------------------------------------------ aes */

static void test_aes(void)
{
    static const unsigned char iv[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    static const unsigned char aad[20] = "dmsc additional data";
    unsigned char ct[1200], ct2[1200], pt[1200], want[1200];
    size_t wl;
    CK_ULONG cl, pl, part;
    CK_RV rv;
    CK_OBJECT_HANDLE k, k16;
    tmpl_t t;

    section("aes: AES-CBC-PAD and AES-GCM");
    secret_tmpl(&t, CKK_AES, key32, sizeof key32);
    tbool(&t, CKA_ENCRYPT, true);
    tbool(&t, CKA_DECRYPT, true);
    if (!expect(create(&t, &k), CKR_OK, "C_CreateObject AES-256 key with a known value"))
        return;
    secret_tmpl(&t, CKK_AES, key16, sizeof key16);
    tbool(&t, CKA_ENCRYPT, true);
    tbool(&t, CKA_DECRYPT, true);
    if (!expect(create(&t, &k16), CKR_OK, "C_CreateObject AES-128 key with a known value"))
        k16 = CK_INVALID_HANDLE;

    CK_MECHANISM cbc = { CKM_AES_CBC_PAD, (void *)iv, sizeof iv };
    static const size_t lens[] = { 0, 1, 16, 100, 1000 };
    for (size_t i = 0; i < N_ELEMENTS(lens); i++) {
        size_t n = lens[i];
        ossl_cipher("AES-256-CBC", true, true, key32, iv, 16, NULL, 0, 0, msg, n, want, &wl);
        cl = 0;
        rv = p11->C_EncryptInit(sess, &cbc, k);
        if (rv == CKR_OK)
            rv = p11->C_Encrypt(sess, msg, (CK_ULONG)n, NULL, &cl);
        expect(rv, CKR_OK, "AES-CBC-PAD encrypt length query, %zu bytes", n);
        check(cl >= wl, "the length query gives at least %zu (got %lu)", wl, (unsigned long)cl);
        cl = sizeof ct;
        rv = p11->C_Encrypt(sess, msg, (CK_ULONG)n, ct, &cl);
        if (expect(rv, CKR_OK, "AES-CBC-PAD encrypt %zu bytes", n))
            same_bytes(ct, cl, want, wl, "AES-CBC-PAD ciphertext of %zu bytes equals OpenSSL", n);
        pl = sizeof pt;
        rv = decrypt(&cbc, k, want, wl, pt, &pl);
        if (expect(rv, CKR_OK, "AES-CBC-PAD decrypt OpenSSL's ciphertext of %zu bytes", n))
            same_bytes(pt, pl, msg, n, "AES-CBC-PAD plaintext of %zu bytes", n);
    }
    /* Multi-part, in odd chunks. */
    ossl_cipher("AES-256-CBC", true, true, key32, iv, 16, NULL, 0, 0, msg, 1000, want, &wl);
    rv = p11->C_EncryptInit(sess, &cbc, k);
    cl = 0;
    for (size_t off = 0; rv == CKR_OK && off < 1000; off += 7) {
        part = sizeof ct - cl;
        rv = p11->C_EncryptUpdate(sess, msg + off, 1000 - off < 7 ? (CK_ULONG)(1000 - off) : 7, ct + cl, &part);
        cl += part;
    }
    part = sizeof ct - cl;
    if (rv == CKR_OK)
        rv = p11->C_EncryptFinal(sess, ct + cl, &part);
    cl += part;
    if (expect(rv, CKR_OK, "AES-CBC-PAD C_EncryptUpdate in 7-byte pieces + C_EncryptFinal"))
        same_bytes(ct, cl, want, wl, "multi-part AES-CBC-PAD equals OpenSSL");
    rv = p11->C_DecryptInit(sess, &cbc, k);
    pl = 0;
    for (size_t off = 0; rv == CKR_OK && off < wl; off += 48) {
        part = sizeof pt - pl;
        rv = p11->C_DecryptUpdate(sess, want + off, wl - off < 48 ? (CK_ULONG)(wl - off) : 48, pt + pl, &part);
        pl += part;
    }
    part = sizeof pt - pl;
    if (rv == CKR_OK)
        rv = p11->C_DecryptFinal(sess, pt + pl, &part);
    pl += part;
    if (expect(rv, CKR_OK, "AES-CBC-PAD C_DecryptUpdate in 48-byte pieces + C_DecryptFinal"))
        same_bytes(pt, pl, msg, 1000, "multi-part AES-CBC-PAD plaintext");
    if (k16 != CK_INVALID_HANDLE) {
        ossl_cipher("AES-128-CBC", true, true, key16, iv, 16, NULL, 0, 0, msg, 100, want, &wl);
        cl = sizeof ct;
        rv = encrypt(&cbc, k16, msg, 100, ct, &cl);
        if (expect(rv, CKR_OK, "AES-128-CBC-PAD encrypt"))
            same_bytes(ct, cl, want, wl, "AES-128-CBC-PAD equals OpenSSL");
    }
    /* Bad input. */
    CK_MECHANISM cbc8 = { CKM_AES_CBC_PAD, (void *)iv, 8 };
    expect(p11->C_EncryptInit(sess, &cbc8, k), CKR_MECHANISM_PARAM_INVALID, "AES-CBC-PAD with an 8-byte IV");
    pl = sizeof pt;
    expect(decrypt(&cbc, k, want, 33, pt, &pl), CKR_ENCRYPTED_DATA_LEN_RANGE, "AES-CBC-PAD decrypt of 33 bytes");
    {
        /* A last block whose plaintext ends in 0x00: never valid padding. */
        unsigned char blk[32];
        memcpy(blk, msg, 32);
        blk[31] = 0x00;
        ossl_cipher("AES-256-CBC", true, false, key32, iv, 16, NULL, 0, 0, blk, 32, ct2, &wl);
        pl = sizeof pt;
        expect(decrypt(&cbc, k, ct2, wl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID, "AES-CBC-PAD decrypt with bad padding");
    }
    CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
    expect(p11->C_EncryptInit(sess, &ecb, k), CKR_MECHANISM_INVALID, "AES-ECB (not offered)");

    /* GCM. */
    CK_GCM_PARAMS gp = { (CK_BYTE_PTR)iv, 12, 96, (CK_BYTE_PTR)aad, sizeof aad, 128 };
    CK_MECHANISM gcm = { CKM_AES_GCM, &gp, sizeof gp };
    ossl_cipher("AES-256-GCM", true, false, key32, iv, 12, aad, sizeof aad, 16, msg, 1000, want, &wl);
    cl = sizeof ct;
    rv = encrypt(&gcm, k, msg, 1000, ct, &cl);
    if (expect(rv, CKR_OK, "AES-GCM encrypt 1000 bytes, 12-byte IV, 20-byte AAD, 128-bit tag"))
        same_bytes(ct, cl, want, wl, "AES-GCM ciphertext||tag equals OpenSSL");
    pl = sizeof pt;
    rv = decrypt(&gcm, k, want, wl, pt, &pl);
    if (expect(rv, CKR_OK, "AES-GCM decrypt OpenSSL's ciphertext"))
        same_bytes(pt, pl, msg, 1000, "AES-GCM plaintext");
    memcpy(ct2, want, wl);
    ct2[wl - 1] ^= 0x01;
    pl = sizeof pt;
    expect(decrypt(&gcm, k, ct2, wl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID, "AES-GCM decrypt with a flipped tag bit");
    memcpy(ct2, want, wl);
    ct2[3] ^= 0x01;
    pl = sizeof pt;
    expect(decrypt(&gcm, k, ct2, wl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID,
           "AES-GCM decrypt with a flipped ciphertext bit");
    {
        unsigned char aad2[sizeof aad];
        memcpy(aad2, aad, sizeof aad);
        aad2[0] ^= 0x01;
        CK_GCM_PARAMS gp2 = { (CK_BYTE_PTR)iv, 12, 96, aad2, sizeof aad2, 128 };
        CK_MECHANISM gcm2 = { CKM_AES_GCM, &gp2, sizeof gp2 };
        pl = sizeof pt;
        expect(decrypt(&gcm2, k, want, wl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID, "AES-GCM decrypt with other AAD");
    }
    /* Multi-part GCM: the outputs concatenated equal the single-part ones. */
    rv = p11->C_EncryptInit(sess, &gcm, k);
    cl = 0;
    for (size_t off = 0; rv == CKR_OK && off < 1000; off += 300) {
        part = sizeof ct - cl;
        rv = p11->C_EncryptUpdate(sess, msg + off, 1000 - off < 300 ? (CK_ULONG)(1000 - off) : 300, ct + cl, &part);
        cl += part;
    }
    part = sizeof ct - cl;
    if (rv == CKR_OK)
        rv = p11->C_EncryptFinal(sess, ct + cl, &part);
    cl += part;
    if (expect(rv, CKR_OK, "AES-GCM C_EncryptUpdate x4 + C_EncryptFinal"))
        same_bytes(ct, cl, want, wl, "multi-part AES-GCM equals OpenSSL");
    rv = p11->C_DecryptInit(sess, &gcm, k);
    pl = 0;
    for (size_t off = 0; rv == CKR_OK && off < wl; off += 256) {
        part = sizeof pt - pl;
        rv = p11->C_DecryptUpdate(sess, want + off, wl - off < 256 ? (CK_ULONG)(wl - off) : 256, pt + pl, &part);
        pl += part;
    }
    part = sizeof pt - pl;
    if (rv == CKR_OK)
        rv = p11->C_DecryptFinal(sess, pt + pl, &part);
    pl += part;
    if (expect(rv, CKR_OK, "AES-GCM C_DecryptUpdate x4 + C_DecryptFinal"))
        same_bytes(pt, pl, msg, 1000, "multi-part AES-GCM plaintext");
    /* 96-bit tag, no AAD. */
    CK_GCM_PARAMS gp96 = { (CK_BYTE_PTR)iv, 12, 96, NULL, 0, 96 };
    CK_MECHANISM g96 = { CKM_AES_GCM, &gp96, sizeof gp96 };
    ossl_cipher("AES-256-GCM", true, false, key32, iv, 12, NULL, 0, 12, msg, 64, want, &wl);
    cl = sizeof ct;
    rv = encrypt(&g96, k, msg, 64, ct, &cl);
    if (expect(rv, CKR_OK, "AES-GCM, 96-bit tag, no AAD"))
        same_bytes(ct, cl, want, wl, "AES-GCM with a 96-bit tag equals OpenSSL");
    if (k16 != CK_INVALID_HANDLE) {
        ossl_cipher("AES-128-GCM", true, false, key16, iv, 12, aad, sizeof aad, 16, msg, 64, want, &wl);
        cl = sizeof ct;
        rv = encrypt(&gcm, k16, msg, 64, ct, &cl);
        if (expect(rv, CKR_OK, "AES-128-GCM"))
            same_bytes(ct, cl, want, wl, "AES-128-GCM equals OpenSSL");
    }
    CK_GCM_PARAMS bad = gp;
    bad.ulTagBits = 129;
    CK_MECHANISM gbad = { CKM_AES_GCM, &bad, sizeof bad };
    expect(p11->C_EncryptInit(sess, &gbad, k), CKR_MECHANISM_PARAM_INVALID, "AES-GCM with a 129-bit tag");
    CK_MECHANISM gnul = { CKM_AES_GCM, NULL, 0 };
    expect(p11->C_EncryptInit(sess, &gnul, k), CKR_MECHANISM_PARAM_INVALID, "AES-GCM without parameters");
    bad = gp;
    bad.ulIvLen = 0;
    bad.ulIvBits = 0;
    expect(p11->C_EncryptInit(sess, &gbad, k), CKR_MECHANISM_PARAM_INVALID, "AES-GCM with an empty IV");

    /* Usage and operation rules. */
    secret_tmpl(&t, CKK_AES, key32, sizeof key32);
    tbool(&t, CKA_ENCRYPT, false);
    tbool(&t, CKA_DECRYPT, true);
    CK_OBJECT_HANDLE knoenc;
    if (expect(create(&t, &knoenc), CKR_OK, "C_CreateObject AES key with CKA_ENCRYPT=FALSE")) {
        expect(p11->C_EncryptInit(sess, &cbc, knoenc), CKR_KEY_FUNCTION_NOT_PERMITTED, "C_EncryptInit, CKA_ENCRYPT=FALSE");
        destroy(knoenc);
    }
    expect(p11->C_EncryptInit(sess, &cbc, k), CKR_OK, "C_EncryptInit");
    expect(p11->C_EncryptInit(sess, &cbc, k), CKR_OPERATION_ACTIVE, "a second C_EncryptInit");
    cl = 4;
    expect(p11->C_Encrypt(sess, msg, 100, ct, &cl), CKR_BUFFER_TOO_SMALL, "C_Encrypt into 4 bytes");
    cl = sizeof ct;
    expect(p11->C_Encrypt(sess, msg, 100, ct, &cl), CKR_OK, "C_Encrypt after CKR_BUFFER_TOO_SMALL");
    cl = sizeof ct;
    expect(p11->C_Encrypt(sess, msg, 100, ct, &cl), CKR_OPERATION_NOT_INITIALIZED, "C_Encrypt after it ended");
    CK_MECHANISM rsa = { CKM_RSA_PKCS, NULL, 0 };
    expect(p11->C_EncryptInit(sess, &rsa, k), CKR_KEY_TYPE_INCONSISTENT, "RSA-PKCS encryption with an AES key");
    expect(p11->C_EncryptInit(sess, &cbc, rsa_pub), CKR_KEY_TYPE_INCONSISTENT, "AES-CBC-PAD with an RSA key");
    destroy(k);
    destroy(k16);
}

/* ------------------------------------------------------------ rsa */

static void test_rsa(void)
{
    static const char label[] = "dmsc-oaep-label";
    unsigned char ct[512], pt[512];
    size_t ctl, ptl2;
    CK_ULONG cl, pl;
    CK_RV rv;
    CK_OBJECT_HANDLE ipub, ipriv;
    CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, (void *)label, sizeof label - 1 };
    CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
    CK_MECHANISM pk1 = { CKM_RSA_PKCS, NULL, 0 };

    section("rsa: RSA-PKCS and RSA-OAEP encryption");
    /* Token key: OpenSSL encrypts to it, the token decrypts. */
    ctl = sizeof ct;
    if (check(ossl_rsa(rsa_pk, true, "SHA256", label, msg, 100, ct, &ctl), "OpenSSL encrypts (OAEP SHA-256, label)")) {
        pl = sizeof pt;
        rv = decrypt(&oaep, rsa_priv, ct, ctl, pt, &pl);
        if (expect(rv, CKR_OK, "C_Decrypt RSA-PKCS-OAEP SHA-256 with the label"))
            same_bytes(pt, pl, msg, 100, "OAEP plaintext (label)");
        CK_RSA_PKCS_OAEP_PARAMS other = op;
        other.pSourceData = (void *)"other-label";
        other.ulSourceDataLen = 11;
        CK_MECHANISM m2 = { CKM_RSA_PKCS_OAEP, &other, sizeof other };
        pl = sizeof pt;
        expect(decrypt(&m2, rsa_priv, ct, ctl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID, "C_Decrypt OAEP with another label");
        other.pSourceData = NULL;
        other.ulSourceDataLen = 0;
        pl = sizeof pt;
        expect(decrypt(&m2, rsa_priv, ct, ctl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID, "C_Decrypt OAEP without the label");
        /* length query keeps the operation */
        rv = p11->C_DecryptInit(sess, &oaep, rsa_priv);
        pl = 0;
        if (rv == CKR_OK)
            rv = p11->C_Decrypt(sess, ct, ctl, NULL, &pl);
        expect(rv, CKR_OK, "C_Decrypt OAEP length query");
        check(pl >= 100, "the length query gives at least 100 (got %lu)", (unsigned long)pl);
        pl = sizeof pt;
        rv = p11->C_Decrypt(sess, ct, ctl, pt, &pl);
        if (expect(rv, CKR_OK, "C_Decrypt after the length query"))
            same_bytes(pt, pl, msg, 100, "that plaintext");
    }
    cl = sizeof ct;
    rv = encrypt(&oaep, rsa_pub, msg, 190, ct, &cl);
    if (expect(rv, CKR_OK, "C_Encrypt OAEP SHA-256 with the label, 190 bytes (the most for RSA-2048)")) {
        pl = sizeof pt;
        rv = decrypt(&oaep, rsa_priv, ct, cl, pt, &pl);
        if (expect(rv, CKR_OK, "C_Decrypt it"))
            same_bytes(pt, pl, msg, 190, "token OAEP round trip");
    }
    cl = sizeof ct;
    expect(encrypt(&oaep, rsa_pub, msg, 191, ct, &cl), CKR_DATA_LEN_RANGE, "C_Encrypt OAEP SHA-256 of 191 bytes");
    CK_MECHANISM onul = { CKM_RSA_PKCS_OAEP, NULL, 0 };
    expect(p11->C_DecryptInit(sess, &onul, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "RSA-PKCS-OAEP without parameters");
    CK_RSA_PKCS_OAEP_PARAMS badsrc = op;
    badsrc.source = 2;
    CK_MECHANISM obad = { CKM_RSA_PKCS_OAEP, &badsrc, sizeof badsrc };
    expect(p11->C_DecryptInit(sess, &obad, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "RSA-PKCS-OAEP with source type 2");
    badsrc = op;
    badsrc.mgf = 0x77;
    expect(p11->C_DecryptInit(sess, &obad, rsa_priv), CKR_MECHANISM_PARAM_INVALID, "RSA-PKCS-OAEP with MGF 0x77");

    /* Imported key: the token encrypts, OpenSSL decrypts, both paddings. */
    EVP_PKEY *ik = ossl_keygen("RSA", NULL);
    rv = ik ? import_pkey(ik, NULL, 0, &ipub, &ipriv) : CKR_GENERAL_ERROR;
    if (!expect(rv, CKR_OK, "C_CreateObject RSA-2048 key pair made by OpenSSL"))
        goto out;
    expect_not_generated(ipriv, "imported RSA private key");
    expect_bool(ipriv, CKA_SENSITIVE, "CKA_SENSITIVE", true, "imported RSA private key (default)");
    expect_sensitive(ipriv, CKA_PRIVATE_EXPONENT, "CKA_PRIVATE_EXPONENT", "imported RSA private key");
    cl = sizeof ct;
    rv = encrypt(&oaep, ipub, msg, 64, ct, &cl);
    ptl2 = sizeof pt;
    if (expect(rv, CKR_OK, "C_Encrypt OAEP SHA-256 + label with the imported public key"))
        check(ossl_rsa(ik, false, "SHA256", label, ct, cl, pt, &ptl2) && ptl2 == 64 && memcmp(pt, msg, 64) == 0,
              "OpenSSL decrypts it with the label to the plaintext");
    CK_RSA_PKCS_OAEP_PARAMS sha1 = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM o1 = { CKM_RSA_PKCS_OAEP, &sha1, sizeof sha1 };
    cl = sizeof ct;
    rv = encrypt(&o1, ipub, msg, 64, ct, &cl);
    ptl2 = sizeof pt;
    if (expect(rv, CKR_OK, "C_Encrypt OAEP SHA-1, no label"))
        check(ossl_rsa(ik, false, "SHA1", NULL, ct, cl, pt, &ptl2) && ptl2 == 64 && memcmp(pt, msg, 64) == 0,
              "OpenSSL decrypts it (OAEP SHA-1)");
    ctl = sizeof ct;
    if (ossl_rsa(ik, true, "SHA1", NULL, msg, 64, ct, &ctl)) {
        pl = sizeof pt;
        rv = decrypt(&o1, ipriv, ct, ctl, pt, &pl);
        if (expect(rv, CKR_OK, "C_Decrypt OpenSSL's OAEP SHA-1 ciphertext"))
            same_bytes(pt, pl, msg, 64, "OAEP SHA-1 plaintext");
    }
    cl = sizeof ct;
    rv = encrypt(&pk1, ipub, msg, 245, ct, &cl);
    ptl2 = sizeof pt;
    if (expect(rv, CKR_OK, "C_Encrypt RSA-PKCS, 245 bytes (k-11)"))
        check(ossl_rsa(ik, false, NULL, NULL, ct, cl, pt, &ptl2) && ptl2 == 245 && memcmp(pt, msg, 245) == 0,
              "OpenSSL decrypts it (PKCS#1 v1.5)");
    cl = sizeof ct;
    expect(encrypt(&pk1, ipub, msg, 246, ct, &cl), CKR_DATA_LEN_RANGE, "C_Encrypt RSA-PKCS, 246 bytes");
    ctl = sizeof ct;
    if (ossl_rsa(ik, true, NULL, NULL, msg, 50, ct, &ctl)) {
        pl = sizeof pt;
        rv = decrypt(&pk1, ipriv, ct, ctl, pt, &pl);
        if (expect(rv, CKR_OK, "C_Decrypt OpenSSL's RSA-PKCS ciphertext"))
            same_bytes(pt, pl, msg, 50, "RSA-PKCS plaintext");
        pl = sizeof pt;
        expect(decrypt(&pk1, ipriv, ct, ctl - 1, pt, &pl), CKR_ENCRYPTED_DATA_LEN_RANGE,
               "C_Decrypt RSA-PKCS of 255 bytes");
    }
    /* The imported private key signs like a generated one. */
    {
        CK_MECHANISM m = { CKM_SHA512_RSA_PKCS, NULL, 0 };
        unsigned char sig[512];
        CK_ULONG sl = sizeof sig;
        rv = sign(&m, ipriv, msg, sizeof msg, sig, &sl);
        if (expect(rv, CKR_OK, "SHA512-RSA-PKCS with the imported key"))
            check(ossl_verify(ik, "SHA512", NULL, PAD_PKCS1, 0, msg, sizeof msg, sig, sl), "OpenSSL verifies it");
    }
    destroy(ipub);
    destroy(ipriv);
out:
    EVP_PKEY_free(ik);
}

/* ------------------------------------------------------------ wrap */


static CK_RV unwrap(CK_MECHANISM *m, CK_OBJECT_HANDLE uk, const unsigned char *wrapped, size_t len, tmpl_t *t,
                    CK_OBJECT_HANDLE *out)
{
    *out = CK_INVALID_HANDLE;
    return p11->C_UnwrapKey(sess, m, uk, (CK_BYTE_PTR)wrapped, (CK_ULONG)len, t->a, t->n, out);
}

/* A session secret key template for C_UnwrapKey. */
static void unwrap_tmpl(tmpl_t *t, CK_KEY_TYPE kt, bool extractable)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    memset(t, 0, sizeof(*t));
    tset(t, CKA_CLASS, &cls, sizeof cls);
    tulong(t, CKA_KEY_TYPE, kt);
    tbool(t, CKA_TOKEN, false);
    if (extractable) {
        tbool(t, CKA_EXTRACTABLE, true);
        tbool(t, CKA_SENSITIVE, false);
    }
    if (kt == CKK_AES)
        tbool(t, CKA_ENCRYPT, true);
    else
        tbool(t, CKA_SIGN, true);
}

/* The key's CKA_VALUE is the bytes given. */
static void expect_value(CK_OBJECT_HANDLE k, const unsigned char *want, size_t len, const char *what)
{
    CK_ULONG n = 0;
    CK_RV rv;
    unsigned char *v = get_alloc(k, CKA_VALUE, &n, &rv);
    if (expect(rv, CKR_OK, "%s: CKA_VALUE is readable", what))
        same_bytes(v, n, want, len, "%s: CKA_VALUE is the original key", what);
    free(v);
}

static void test_wrap(void)
{
    static const char label[] = "dmsc-wrap-label";
    unsigned char w[4096], want[4096], pt[4096];
    size_t wl, ptl;
    CK_ULONG n;
    CK_RV rv;
    tmpl_t t;
    CK_OBJECT_HANDLE kek, k16, k20, kne, kwt, ku, knowrap;
    CK_MECHANISM kwp = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };

    section("wrap: AES-KEY-WRAP-PAD and RSA-OAEP");
    secret_tmpl(&t, CKK_AES, key32, sizeof key32);
    tbool(&t, CKA_WRAP, true);
    tbool(&t, CKA_UNWRAP, true);
    if (!expect(create(&t, &kek), CKR_OK, "C_CreateObject AES-256 wrapping key (CKA_WRAP, CKA_UNWRAP)"))
        return;
    secret_tmpl(&t, CKK_AES, key16, sizeof key16);
    tbool(&t, CKA_EXTRACTABLE, true);
    tbool(&t, CKA_ENCRYPT, true);
    if (!expect(create(&t, &k16), CKR_OK, "C_CreateObject AES-128 key, extractable (and sensitive)"))
        return;
    secret_tmpl(&t, CKK_GENERIC_SECRET, key20, sizeof key20);
    tbool(&t, CKA_EXTRACTABLE, true);
    tbool(&t, CKA_SIGN, true);
    if (!expect(create(&t, &k20), CKR_OK, "C_CreateObject generic secret of 20 bytes, extractable"))
        return;

    /* Wrap: byte-equal to OpenSSL's RFC 5649 wrap. */
    n = 0;
    rv = p11->C_WrapKey(sess, &kwp, kek, k16, NULL, &n);
    expect(rv, CKR_OK, "C_WrapKey AES-KEY-WRAP-PAD length query");
    check(n == 24, "the length query gives 24 for a 16-byte key (got %lu)", (unsigned long)n);
    n = 8;
    expect(p11->C_WrapKey(sess, &kwp, kek, k16, w, &n), CKR_BUFFER_TOO_SMALL, "C_WrapKey into 8 bytes");
    n = sizeof w;
    rv = p11->C_WrapKey(sess, &kwp, kek, k16, w, &n);
    if (expect(rv, CKR_OK, "C_WrapKey AES-KEY-WRAP-PAD of the AES-128 key") &&
        check(ossl_cipher("AES-256-WRAP-PAD", true, false, key32, NULL, 0, NULL, 0, 0, key16, 16, want, &wl),
              "OpenSSL wraps it (id-aes256-wrap-pad)"))
        same_bytes(w, n, want, wl, "AES-KEY-WRAP-PAD of the AES-128 key equals OpenSSL");
    n = sizeof w;
    rv = p11->C_WrapKey(sess, &kwp, kek, k20, w, &n);
    if (expect(rv, CKR_OK, "C_WrapKey AES-KEY-WRAP-PAD of the 20-byte secret (padded)") &&
        check(ossl_cipher("AES-256-WRAP-PAD", true, false, key32, NULL, 0, NULL, 0, 0, key20, 20, want, &wl),
              "OpenSSL wraps it"))
        same_bytes(w, n, want, wl, "AES-KEY-WRAP-PAD of the 20-byte secret equals OpenSSL");

    /* Unwrap OpenSSL's wrap of the 20-byte secret. */
    ossl_cipher("AES-256-WRAP-PAD", true, false, key32, NULL, 0, NULL, 0, 0, key20, 20, want, &wl);
    unwrap_tmpl(&t, CKK_GENERIC_SECRET, true);
    rv = unwrap(&kwp, kek, want, wl, &t, &ku);
    if (expect(rv, CKR_OK, "C_UnwrapKey OpenSSL's wrap of a 20-byte generic secret (extractable template)")) {
        expect_value(ku, key20, 20, "unwrapped generic secret");
        expect_ulong(ku, CKA_VALUE_LEN, "CKA_VALUE_LEN", 20, "unwrapped generic secret");
        expect_not_generated(ku, "unwrapped generic secret");
        expect_bool(ku, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", false, "unwrapped generic secret");
        expect_bool(ku, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "unwrapped generic secret");
        unsigned char mac[32], wmac[32];
        unsigned int wml;
        CK_ULONG ml = sizeof mac;
        CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
        HMAC(EVP_sha256(), key20, 20, msg, sizeof msg, wmac, &wml);
        rv = sign(&hm, ku, msg, sizeof msg, mac, &ml);
        if (expect(rv, CKR_OK, "SHA256-HMAC with the unwrapped secret"))
            same_bytes(mac, ml, wmac, wml, "SHA256-HMAC with the unwrapped secret equals OpenSSL");
        destroy(ku);
    }
    /* Unwrap the token's own wrap with a default (sensitive) template. */
    n = sizeof w;
    if (p11->C_WrapKey(sess, &kwp, kek, k16, w, &n) == CKR_OK) {
        unwrap_tmpl(&t, CKK_AES, false);
        rv = unwrap(&kwp, kek, w, n, &t, &ku);
        if (expect(rv, CKR_OK, "C_UnwrapKey the token's wrap of the AES-128 key (default template)")) {
            expect_bool(ku, CKA_SENSITIVE, "CKA_SENSITIVE", true, "unwrapped AES key (default)");
            expect_sensitive(ku, CKA_VALUE, "CKA_VALUE", "unwrapped AES key");
            expect_bool(ku, CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", false, "unwrapped AES key");
            expect_bool(ku, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "unwrapped AES key");
            expect_not_generated(ku, "unwrapped AES key");
            static const unsigned char iv[16] = { 0 };
            CK_MECHANISM cbc = { CKM_AES_CBC_PAD, (void *)iv, sizeof iv };
            unsigned char ct[64], wct[64];
            size_t wctl;
            CK_ULONG cl = sizeof ct;
            ossl_cipher("AES-128-CBC", true, true, key16, iv, 16, NULL, 0, 0, msg, 40, wct, &wctl);
            rv = encrypt(&cbc, ku, msg, 40, ct, &cl);
            if (expect(rv, CKR_OK, "AES-CBC-PAD with the unwrapped key"))
                same_bytes(ct, cl, wct, wctl, "the unwrapped key encrypts as the original (OpenSSL)");
            destroy(ku);
        }
        unsigned char bad[64];
        memcpy(bad, w, n);
        bad[n - 3] ^= 0x10;
        unwrap_tmpl(&t, CKK_AES, true);
        rv = unwrap(&kwp, kek, bad, n, &t, &ku);
        if (!expect(rv, CKR_WRAPPED_KEY_INVALID, "C_UnwrapKey of a corrupted wrap"))
            destroy(ku);
        rv = unwrap(&kwp, kek, w, n - 1, &t, &ku);
        if (!expect(rv, CKR_WRAPPED_KEY_LEN_RANGE, "C_UnwrapKey of a wrap of %lu bytes (not a multiple of 8)",
                    (unsigned long)(n - 1)))
            destroy(ku);
        rv = unwrap(&kwp, kek, w, 8, &t, &ku);
        if (!expect(rv, CKR_WRAPPED_KEY_LEN_RANGE, "C_UnwrapKey of a wrap of 8 bytes (too short)"))
            destroy(ku);
        tmpl_t nocls;
        memset(&nocls, 0, sizeof nocls);
        tulong(&nocls, CKA_KEY_TYPE, CKK_AES);
        tbool(&nocls, CKA_TOKEN, false);
        rv = unwrap(&kwp, kek, w, n, &nocls, &ku);
        if (!expect(rv, CKR_TEMPLATE_INCOMPLETE, "C_UnwrapKey with a template without CKA_CLASS"))
            destroy(ku);
        expect(unwrap(&kwp, BOGUS_HANDLE, w, n, &t, &ku), CKR_UNWRAPPING_KEY_HANDLE_INVALID,
               "C_UnwrapKey with a random unwrapping key handle");
    }

    /* Refusals. */
    secret_tmpl(&t, CKK_AES, key16, sizeof key16);
    tbool(&t, CKA_EXTRACTABLE, false);
    if (expect(create(&t, &kne), CKR_OK, "C_CreateObject AES key with CKA_EXTRACTABLE=FALSE")) {
        n = sizeof w;
        expect(p11->C_WrapKey(sess, &kwp, kek, kne, w, &n), CKR_KEY_UNEXTRACTABLE, "C_WrapKey of an unextractable key");
        destroy(kne);
    }
    n = sizeof w;
    expect(p11->C_WrapKey(sess, &kwp, kek, rsa_priv, w, &n), CKR_KEY_UNEXTRACTABLE,
           "C_WrapKey of a generated (never extractable) private key");
    secret_tmpl(&t, CKK_AES, key16, sizeof key16);
    tbool(&t, CKA_EXTRACTABLE, true);
    tbool(&t, CKA_WRAP_WITH_TRUSTED, true);
    if (expect(create(&t, &kwt), CKR_OK, "C_CreateObject AES key with CKA_WRAP_WITH_TRUSTED=TRUE")) {
        n = sizeof w;
        expect(p11->C_WrapKey(sess, &kwp, kek, kwt, w, &n), CKR_KEY_NOT_WRAPPABLE,
               "C_WrapKey of a CKA_WRAP_WITH_TRUSTED key with an untrusted wrapping key");
        destroy(kwt);
    }
    secret_tmpl(&t, CKK_AES, key32, sizeof key32);
    tbool(&t, CKA_WRAP, false);
    tbool(&t, CKA_UNWRAP, false);
    if (expect(create(&t, &knowrap), CKR_OK, "C_CreateObject AES key with CKA_WRAP=FALSE, CKA_UNWRAP=FALSE")) {
        n = sizeof w;
        expect(p11->C_WrapKey(sess, &kwp, knowrap, k16, w, &n), CKR_KEY_FUNCTION_NOT_PERMITTED,
               "C_WrapKey with a wrapping key with CKA_WRAP=FALSE");
        ossl_cipher("AES-256-WRAP-PAD", true, false, key32, NULL, 0, NULL, 0, 0, key16, 16, want, &wl);
        unwrap_tmpl(&t, CKK_AES, true);
        rv = unwrap(&kwp, knowrap, want, wl, &t, &ku);
        if (!expect(rv, CKR_KEY_FUNCTION_NOT_PERMITTED, "C_UnwrapKey with an unwrapping key with CKA_UNWRAP=FALSE"))
            destroy(ku);
        destroy(knowrap);
    }
    n = sizeof w;
    expect(p11->C_WrapKey(sess, &kwp, BOGUS_HANDLE, k16, w, &n), CKR_WRAPPING_KEY_HANDLE_INVALID,
           "C_WrapKey with a random wrapping key handle");
    n = sizeof w;
    expect(p11->C_WrapKey(sess, &kwp, kek, BOGUS_HANDLE, w, &n), CKR_KEY_HANDLE_INVALID,
           "C_WrapKey of a random key handle");
    n = sizeof w;
    expect(p11->C_WrapKey(sess, &kwp, rsa_pub, k16, w, &n), CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
           "C_WrapKey AES-KEY-WRAP-PAD with an RSA wrapping key");

    /* Private keys (extractable) wrapped as PKCS#8, and unwrapped again. */
    for (int kind = 0; kind < 3; kind++) {
        static const char *names[] = { "EC P-256", "RSA-2048", "Ed25519" };
        static const CK_MECHANISM_TYPE gens[] = { CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN,
                                                  CKM_EC_EDWARDS_KEY_PAIR_GEN };
        static const CK_MECHANISM_TYPE sigs[] = { CKM_ECDSA_SHA256, CKM_SHA256_RSA_PKCS, CKM_EDDSA };
        static const CK_KEY_TYPE kts[] = { CKK_EC, CKK_RSA, CKK_EC_EDWARDS };
        const char *nm = names[kind];
        tmpl_t tp, tq;
        CK_OBJECT_HANDLE pub, priv, upriv;
        if (kind == 0)
            ec_pub_tmpl(&tp, oid_p256, sizeof oid_p256);
        else if (kind == 1)
            rsa_pub_tmpl(&tp, 2048);
        else
            ec_pub_tmpl(&tp, oid_ed25519, sizeof oid_ed25519);
        priv_tmpl(&tq, kind == 1);
        tbool(&tq, CKA_EXTRACTABLE, true);
        rv = gen_pair(gens[kind], &tp, &tq, &pub, &priv);
        if (!expect(rv, CKR_OK, "C_GenerateKeyPair %s with an extractable private key", nm))
            continue;
        EVP_PKEY *tpk = token_pub(pub);
        n = sizeof w;
        rv = p11->C_WrapKey(sess, &kwp, kek, priv, w, &n);
        if (expect(rv, CKR_OK, "C_WrapKey AES-KEY-WRAP-PAD of the %s private key", nm)) {
            if (check(ossl_cipher("AES-256-WRAP-PAD", false, false, key32, NULL, 0, NULL, 0, 0, w, n, pt, &ptl),
                      "OpenSSL unwraps it")) {
                const unsigned char *p = pt;
                PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)ptl);
                EVP_PKEY *upk = p8 ? EVP_PKCS82PKEY(p8) : NULL;
                check(upk != NULL, "the unwrapped bytes are a PKCS#8 private key");
                check(upk && tpk && EVP_PKEY_eq(upk, tpk) == 1, "that %s private key belongs to the token's public key",
                      nm);
                EVP_PKEY_free(upk);
                PKCS8_PRIV_KEY_INFO_free(p8);
            }
            static CK_OBJECT_CLASS pcls = CKO_PRIVATE_KEY;
            tmpl_t tu;
            memset(&tu, 0, sizeof tu);
            tset(&tu, CKA_CLASS, &pcls, sizeof pcls);
            tulong(&tu, CKA_KEY_TYPE, kts[kind]);
            tbool(&tu, CKA_TOKEN, false);
            tbool(&tu, CKA_PRIVATE, true);
            tbool(&tu, CKA_SIGN, true);
            rv = unwrap(&kwp, kek, w, n, &tu, &upriv);
            if (expect(rv, CKR_OK, "C_UnwrapKey the wrapped %s private key", nm)) {
                CK_MECHANISM m = { sigs[kind], NULL, 0 };
                unsigned char sig[512];
                CK_ULONG sl = sizeof sig;
                rv = sign(&m, upriv, msg, sizeof msg, sig, &sl);
                if (expect(rv, CKR_OK, "sign with the unwrapped %s private key", nm))
                    expect(verify(&m, pub, msg, sizeof msg, sig, sl), CKR_OK,
                           "the original public key verifies the unwrapped %s key's signature", nm);
                expect_not_generated(upriv, "unwrapped private key");
                expect_bool(upriv, CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", false, "unwrapped private key");
                destroy(upriv);
            }
        }
        EVP_PKEY_free(tpk);
        destroy(pub);
        destroy(priv);
    }

    /* RSA-OAEP (SHA-256, label) and RSA-PKCS wrapping. */
    CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, (void *)label, sizeof label - 1 };
    CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &op, sizeof op };
    n = sizeof w;
    rv = p11->C_WrapKey(sess, &oaep, rsa_pub, k16, w, &n);
    if (expect(rv, CKR_OK, "C_WrapKey RSA-OAEP (SHA-256, label) of the AES-128 key with the token's RSA key")) {
        check(n == 256, "RSA-OAEP wrap is 256 bytes (got %lu)", (unsigned long)n);
        unwrap_tmpl(&t, CKK_AES, true);
        rv = unwrap(&oaep, rsa_priv, w, n, &t, &ku);
        if (expect(rv, CKR_OK, "C_UnwrapKey it with the token's RSA private key")) {
            expect_value(ku, key16, 16, "RSA-OAEP unwrapped AES key");
            destroy(ku);
        }
    }
    CK_MECHANISM onul = { CKM_RSA_PKCS_OAEP, NULL, 0 };
    n = sizeof w;
    expect(p11->C_WrapKey(sess, &onul, rsa_pub, k16, w, &n), CKR_MECHANISM_PARAM_INVALID,
           "C_WrapKey RSA-OAEP without parameters");
    CK_MECHANISM pk1 = { CKM_RSA_PKCS, NULL, 0 };
    n = sizeof w;
    rv = p11->C_WrapKey(sess, &pk1, rsa_pub, k20, w, &n);
    if (expect(rv, CKR_OK, "C_WrapKey RSA-PKCS of the 20-byte secret")) {
        unwrap_tmpl(&t, CKK_GENERIC_SECRET, true);
        rv = unwrap(&pk1, rsa_priv, w, n, &t, &ku);
        if (expect(rv, CKR_OK, "C_UnwrapKey it (RSA-PKCS)")) {
            expect_value(ku, key20, 20, "RSA-PKCS unwrapped secret");
            destroy(ku);
        }
    }
    EVP_PKEY *ik = ossl_keygen("RSA", NULL);
    CK_OBJECT_HANDLE ipub = CK_INVALID_HANDLE, ipriv = CK_INVALID_HANDLE;
    rv = ik ? import_pkey(ik, NULL, 0, &ipub, &ipriv) : CKR_GENERAL_ERROR;
    if (expect(rv, CKR_OK, "C_CreateObject RSA-2048 key pair made by OpenSSL")) {
        n = sizeof w;
        rv = p11->C_WrapKey(sess, &oaep, ipub, k16, w, &n);
        ptl = sizeof pt;
        if (expect(rv, CKR_OK, "C_WrapKey RSA-OAEP (SHA-256, label) with the imported public key"))
            check(ossl_rsa(ik, false, "SHA256", label, w, n, pt, &ptl) && ptl == 16 && memcmp(pt, key16, 16) == 0,
                  "OpenSSL decrypts the wrap (with the label) to the AES key");
        wl = sizeof want;
        if (check(ossl_rsa(ik, true, "SHA256", label, key20, 20, want, &wl), "OpenSSL encrypts a 20-byte secret")) {
            unwrap_tmpl(&t, CKK_GENERIC_SECRET, true);
            rv = unwrap(&oaep, ipriv, want, wl, &t, &ku);
            if (expect(rv, CKR_OK, "C_UnwrapKey OpenSSL's RSA-OAEP wrap (label) with the imported private key")) {
                expect_value(ku, key20, 20, "RSA-OAEP unwrapped secret");
                destroy(ku);
            }
        }
    }
    destroy(ipub);
    destroy(ipriv);
    EVP_PKEY_free(ik);
    destroy(kek);
    destroy(k16);
    destroy(k20);
}

/* ------------------------------------------------------------ random */

static void test_random(void)
{
    unsigned char a[32], b[32], zero[32] = { 0 };
    section("random");
    expect(p11->C_GenerateRandom(sess, a, sizeof a), CKR_OK, "C_GenerateRandom 32 bytes");
    expect(p11->C_GenerateRandom(sess, b, sizeof b), CKR_OK, "C_GenerateRandom 32 bytes again");
    check(memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0, "two random draws differ and are not zero");
    unsigned char *big = malloc(100000);
    expect(p11->C_GenerateRandom(sess, big, 100000), CKR_OK, "C_GenerateRandom 100000 bytes");
    free(big);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: p11-crypto-driver TOKENLABEL USERPIN (with DMSC_MODULE set)\n");
        return 2;
    }
    user_pin = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    open_module();
    slot = open_token(argv[1], user_pin);
    if (RAND_bytes(msg, sizeof msg) != 1)
        die("RAND_bytes", CKR_GENERAL_ERROR);
    {
        CK_OBJECT_CLASS c;
        CK_ULONG l = sizeof c;
        expect(get_attr(BOGUS_HANDLE, CKA_CLASS, &c, &l), CKR_OBJECT_HANDLE_INVALID,
               "C_GetAttributeValue on the handle used as a random one (0x%lx)", (unsigned long)BOGUS_HANDLE);
    }

    test_attrs();
    test_digest();
    test_hmac();
    test_rules();
    test_pss();
    test_ec();
    test_always_auth();
    test_aes();
    test_rsa();
    test_wrap();
    test_random();

    EVP_PKEY_free(rsa_pk);
    destroy(rsa_pub);
    destroy(rsa_priv);
    expect(p11->C_Logout(sess), CKR_OK, "C_Logout");
    expect(p11->C_CloseSession(sess), CKR_OK, "C_CloseSession");
    expect(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
    return checks_done();
}
