/*
 * p11-dm-driver: a self-checking PKCS#11 client for the canonical-form DM
 * mechanisms of <dmsc/pkcs11-dm.h> (tests/integration/test-dm-rules.sh),
 * and a small signing tool for what pkcs11-tool cannot do with them
 * (tests/integration/test-dm-mechanisms.sh).
 *
 *   p11-dm-driver rules TOKENLABEL USERPIN VECTORDIR
 *   p11-dm-driver sign TOKENLABEL USERPIN MECH HEXID IN OUT
 *   p11-dm-driver verify TOKENLABEL USERPIN MECH HEXID IN SIG
 *
 * It dlopens the module named by $DMSC_MODULE, opens a R/W session on the
 * token so labelled and logs the user in.
 *
 * "rules" checks, against OpenSSL and the committed canonical forms in
 * VECTORDIR (dm-ext/vectors/canon), with session keys only:
 *
 *   mechanisms  the DM mechanisms are listed, with the flags and key sizes
 *               of the plain mechanisms they run
 *   units       CK_DMSC_DM_PARAMS: MESSAGE, SYNCBODY and CMDID give
 *               signatures (every mechanism) and digests over
 *               replace.c14n, replace.syncbody.c14n, replace.cmdid-4.c14n
 *               and the other commands' subtrees, from XML and WBXML; the
 *               plain mechanism over those bytes agrees; a CmdID not in
 *               the message, a repeated one, a TNDS document or opaque
 *               input with a unit: CKR_DATA_INVALID
 *   params      bad parameters (size, unit, CmdID missing, empty, 65 bytes,
 *               with a NUL, a CmdID for another unit): CKR_MECHANISM_PARAM_
 *               INVALID at C_SignInit / C_VerifyInit / C_DigestInit, and no
 *               operation is left active
 *   multipart   the message cut at every byte boundary (XML and WBXML)
 *               gives the one-shot signature; every form of every vector
 *               group cut everywhere gives the .c14n digest; byte by byte
 *   buffers     length queries and CKR_BUFFER_TOO_SMALL keep the operation
 *               and do not consume the input (one-shot and multi-part)
 *   limit       16 MiB (CKD_DMSC_DM_MAX_MESSAGE) of XML or WBXML is taken,
 *               one byte more is CKR_DATA_LEN_RANGE at that very update and
 *               ends the operation; opaque input past 16 MiB streams
 *   digestkey   C_DigestKey with CKM_DMSC_SHA256 is CKR_KEY_INDIGESTIBLE
 *   hmac        CKM_DMSC_SHA256_HMAC with a known key = OpenSSL's HMAC over
 *               the .c14n, for every form; the plain HMAC of the same key
 *               before and after still covers the raw bytes
 *   keys        wrong key types, mechanisms used for the wrong function,
 *               CKA_ALLOWED_MECHANISMS with DM and plain mechanisms
 *   sniff       a byte-order mark and leading blanks are XML; empty input
 *               is opaque; one-shot and streaming agree on odd prefixes
 *   interop     keys made by OpenSSL and imported: OpenSSL's signatures
 *               over the .c14n verify on the token over the XML and WBXML
 *               forms (PSS only with salt 32 and MGF1-SHA-256), and OpenSSL
 *               verifies the token's
 *
 * It prints one line per check, "ok   WHAT" or "FAIL WHAT: expected ...,
 * got ...", then "# N checks, M failed", and exits 1 when a check failed
 * (2 on a setup error).
 *
 * "sign" / "verify" run MECH (a number, e.g. 0xC44D0040) with the token
 * key whose CKA_ID is HEXID (sign: a private or secret key; verify: a
 * public or secret key) over the file IN, one-shot below 64 KiB and in
 * 64 KiB C_*Update calls above, and answer as pkcs11-tool 0.23 does:
 * "Signature is valid" / "Invalid signature" (exit 0), or "error: PKCS11
 * function C_xxx failed: rv = CKR_NAME (0xHEX)" (exit 1). pkcs11-tool 0.23
 * looks for a private / public key for any mechanism it does not know, so
 * it cannot use CKM_DMSC_SHA256_HMAC.
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

#include <p11-kit/pkcs11.h>

#include <dmsc/pkcs11-dm.h>

#include "p11-check.h"

const char driver_name[] = "p11-dm-driver";

static const char *vector_dir;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

#define MIB (1024ul * 1024ul)

/* ------------------------------------------------------------ byte strings */

static buf_t buf_of(const void *p, size_t n)
{
    buf_t b = { xmalloc(n), n };
    if (n)
        memcpy(b.p, p, n);
    return b;
}

static buf_t buf_str(const char *s)
{
    return buf_of(s, strlen(s));
}

static buf_t buf_cat3(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn)
{
    buf_t r = { xmalloc(an + bn + cn), an + bn + cn };
    if (an)
        memcpy(r.p, a, an);
    if (bn)
        memcpy(r.p + an, b, bn);
    if (cn)
        memcpy(r.p + an + bn, c, cn);
    return r;
}

static const unsigned char *find(const buf_t *b, size_t from, const char *s)
{
    size_t sl = strlen(s);
    for (size_t i = from; i + sl <= b->n; i++)
        if (memcmp(b->p + i, s, sl) == 0)
            return b->p + i;
    return NULL;
}

/* b with the first `from` replaced by `to`; a setup error when absent. */
static buf_t replace_once(const buf_t *b, const char *from, const char *to)
{
    const unsigned char *at = find(b, 0, from);
    if (at == NULL) {
        fprintf(stderr, "p11-dm-driver: '%s' not found in a vector (the vectors changed?)\n", from);
        exit(2);
    }
    size_t off = (size_t)(at - b->p), fl = strlen(from);
    return buf_cat3(b->p, off, to, strlen(to), at + fl, b->n - off - fl);
}

/* The canonical form of one command of replace.c14n as its own unit: the
 * first <TAG> ... </TAG> with the SyncML default namespace declared on its
 * start tag (exclusive C14N of that subtree; no command of the replace
 * group holds another of the same name before its end). */
static buf_t unit_of(const buf_t *c14n, const char *tag)
{
    char open[64], close[64], open_ns[128];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    snprintf(open_ns, sizeof open_ns, "<%s xmlns=\"SYNCML:SYNCML1.2\">", tag);
    const unsigned char *s = find(c14n, 0, open);
    const unsigned char *e = s ? find(c14n, (size_t)(s - c14n->p), close) : NULL;
    if (e == NULL) {
        fprintf(stderr, "p11-dm-driver: no %s in the canonical form\n", open);
        exit(2);
    }
    const unsigned char *inner = s + strlen(open);
    return buf_cat3(open_ns, strlen(open_ns), inner, (size_t)(e - inner), close, strlen(close));
}

static buf_t read_path(const char *path)
{
    buf_t b;
    if (read_file(path, &b) != NULL) {
        fprintf(stderr, "p11-dm-driver: cannot open %s\n", path);
        exit(2);
    }
    return b;
}

/* A file of the vector directory. */
static buf_t vec(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", vector_dir, name);
    return read_path(path);
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
    SHA256(p, n, out);
}

/* ------------------------------------------------------------ mechanisms */

/* A mechanism with an optional CK_DMSC_DM_PARAMS. */
typedef struct {
    CK_MECHANISM m;
    CK_DMSC_DM_PARAMS p;
} mech_t;

enum { NO_PARAM = -1 };

/* unit NO_PARAM: no parameter; else CKD_DMSC_UNIT_* with cmdid (NULL
 * unless CMDID). */
static CK_MECHANISM *dm_mech(mech_t *mt, CK_MECHANISM_TYPE type, long unit, const char *cmdid)
{
    memset(mt, 0, sizeof(*mt));
    mt->m.mechanism = type;
    if (unit == NO_PARAM)
        return &mt->m;
    mt->p.unit = (CK_ULONG)unit;
    mt->p.pCmdID = (CK_UTF8CHAR *)cmdid;
    mt->p.ulCmdIDLen = cmdid ? (CK_ULONG)strlen(cmdid) : 0;
    mt->m.pParameter = &mt->p;
    mt->m.ulParameterLen = sizeof mt->p;
    return &mt->m;
}

static const char *unit_name(long unit, const char *cmdid)
{
    static char b[4][96];
    static unsigned next;
    char *s = b[next++ % 4];
    switch (unit) {
    case NO_PARAM: return "no parameter";
    case CKD_DMSC_UNIT_MESSAGE: return "unit MESSAGE";
    case CKD_DMSC_UNIT_SYNCBODY: return "unit SYNCBODY";
    case CKD_DMSC_UNIT_CMDID: snprintf(s, sizeof b[0], "unit CMDID '%.40s'", cmdid ? cmdid : "(null)"); return s;
    default: snprintf(s, sizeof b[0], "unit %ld", unit); return s;
    }
}

/* ------------------------------------------------------------ keys */

typedef struct {
    CK_ATTRIBUTE a[16];
    CK_ULONG ul[16];
    CK_ULONG n;
} tmpl_t;

static void tset(tmpl_t *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    if (t->n == N_ELEMENTS(t->a)) {
        fprintf(stderr, "p11-dm-driver: template full\n");
        exit(2);
    }
    t->a[t->n].type = type;
    t->a[t->n].pValue = (void *)v;
    t->a[t->n].ulValueLen = len;
    t->n++;
}

static void tbool(tmpl_t *t, CK_ATTRIBUTE_TYPE type, bool v)
{
    tset(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

static void tulong(tmpl_t *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    t->ul[t->n] = v;
    tset(t, type, &t->ul[t->n], sizeof(CK_ULONG));
}

static void destroy(CK_OBJECT_HANDLE o)
{
    if (o != CK_INVALID_HANDLE)
        p11->C_DestroyObject(sess, o);
}

static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const CK_BYTE oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static CK_BYTE rsa_e[] = { 0x01, 0x00, 0x01 };

/* A session key pair: kind 0 RSA-2048, 1 P-256, 2 P-384, 3 Ed25519. */
static CK_RV gen_pair(int kind, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    static const CK_MECHANISM_TYPE gens[] = { CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
                                              CKM_EC_EDWARDS_KEY_PAIR_GEN };
    CK_MECHANISM m = { gens[kind], NULL, 0 };
    tmpl_t tp = { 0 }, tq = { 0 };
    tbool(&tp, CKA_TOKEN, false);
    tbool(&tp, CKA_VERIFY, true);
    if (kind == 0) {
        tulong(&tp, CKA_MODULUS_BITS, 2048);
        tset(&tp, CKA_PUBLIC_EXPONENT, rsa_e, sizeof rsa_e);
    } else if (kind == 1) {
        tset(&tp, CKA_EC_PARAMS, oid_p256, sizeof oid_p256);
    } else if (kind == 2) {
        tset(&tp, CKA_EC_PARAMS, oid_p384, sizeof oid_p384);
    } else {
        tset(&tp, CKA_EC_PARAMS, oid_ed25519, sizeof oid_ed25519);
    }
    tbool(&tq, CKA_TOKEN, false);
    tbool(&tq, CKA_PRIVATE, true);
    tbool(&tq, CKA_SIGN, true);
    *pub = *priv = CK_INVALID_HANDLE;
    return p11->C_GenerateKeyPair(sess, &m, tp.a, tp.n, tq.a, tq.n, pub, priv);
}

/* A session generic secret with a known value; allowed: an optional
 * CKA_ALLOWED_MECHANISMS of one mechanism. */
static CK_RV make_secret(const unsigned char *value, size_t len, const CK_MECHANISM_TYPE *allowed,
                         CK_OBJECT_HANDLE *h)
{
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    tmpl_t t = { 0 };
    tset(&t, CKA_CLASS, &cls, sizeof cls);
    tulong(&t, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
    tbool(&t, CKA_TOKEN, false);
    tbool(&t, CKA_SIGN, true);
    tbool(&t, CKA_VERIFY, true);
    tset(&t, CKA_VALUE, value, (CK_ULONG)len);
    if (allowed != NULL)
        tset(&t, CKA_ALLOWED_MECHANISMS, allowed, sizeof(*allowed));
    *h = CK_INVALID_HANDLE;
    return p11->C_CreateObject(sess, t.a, t.n, h);
}

static unsigned char *get_alloc(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    if (p11->C_GetAttributeValue(sess, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return NULL;
    a.pValue = xmalloc(a.ulValueLen);
    if (p11->C_GetAttributeValue(sess, o, &a, 1) != CKR_OK) {
        free(a.pValue);
        return NULL;
    }
    *len = a.ulValueLen;
    return a.pValue;
}

/* The public key of a token key object as an OpenSSL key. */
static EVP_PKEY *token_pub(CK_OBJECT_HANDLE h, int kind)
{
    CK_ULONG n1 = 0, n2 = 0;
    EVP_PKEY *pk = NULL;
    if (kind == 0) {
        unsigned char *mod = get_alloc(h, CKA_MODULUS, &n1), *exp = get_alloc(h, CKA_PUBLIC_EXPONENT, &n2);
        BIGNUM *bn = mod ? BN_bin2bn(mod, (int)n1, NULL) : NULL, *be = exp ? BN_bin2bn(exp, (int)n2, NULL) : NULL;
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        OSSL_PARAM *params = NULL;
        if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
            EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn);
        BN_free(be);
        free(mod);
        free(exp);
        return pk;
    }
    unsigned char *pt = get_alloc(h, CKA_EC_POINT, &n2);
    if (pt == NULL)
        return NULL;
    const unsigned char *p = pt;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)n2);
    const unsigned char *raw = os ? ASN1_STRING_get0_data(os) : pt;
    size_t raw_len = os ? (size_t)ASN1_STRING_length(os) : n2;
    if (kind == 3) {
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, raw_len);
    } else {
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        OSSL_PARAM *params = NULL;
        if (bld && ctx &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kind == 1 ? "P-256" : "P-384", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, raw_len) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
            EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
        OSSL_PARAM_free(params);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_BLD_free(bld);
    }
    ASN1_OCTET_STRING_free(os);
    free(pt);
    return pk;
}

/* ------------------------------------------------------------ the mechanisms under test */

enum { S_RSA, S_PSS, S_EC256, S_EC384, S_ED, S_HMAC, N_SIGS };

/* How OpenSSL checks a signature. */
typedef enum { ALG_RSA_PKCS1, ALG_RSA_PSS, ALG_ECDSA, ALG_ED25519, ALG_HMAC } alg_t;

typedef struct {
    const char *name;
    CK_MECHANISM_TYPE dm, plain;
    alg_t alg;
    const char *md;              /* OpenSSL digest name; NULL for Ed25519 */
    size_t sig_len;
    bool deterministic;          /* RSA PKCS#1 v1.5, Ed25519, HMAC */
    CK_OBJECT_HANDLE priv, pub;  /* HMAC: the secret key, both */
    EVP_PKEY *pk;                /* NULL for HMAC */
} sigmech_t;

static sigmech_t sigs[N_SIGS] = {
    [S_RSA] = { "CKM_DMSC_SHA256_RSA_PKCS", CKM_DMSC_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS, ALG_RSA_PKCS1, "SHA256",
                256, true, 0, 0, NULL },
    [S_PSS] = { "CKM_DMSC_SHA256_RSA_PKCS_PSS", CKM_DMSC_SHA256_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, ALG_RSA_PSS,
                "SHA256", 256, false, 0, 0, NULL },
    [S_EC256] = { "CKM_DMSC_ECDSA_SHA256", CKM_DMSC_ECDSA_SHA256, CKM_ECDSA_SHA256, ALG_ECDSA, "SHA256", 64, false,
                  0, 0, NULL },
    [S_EC384] = { "CKM_DMSC_ECDSA_SHA384", CKM_DMSC_ECDSA_SHA384, CKM_ECDSA_SHA384, ALG_ECDSA, "SHA384", 96, false,
                  0, 0, NULL },
    [S_ED] = { "CKM_DMSC_EDDSA", CKM_DMSC_EDDSA, CKM_EDDSA, ALG_ED25519, NULL, 64, true, 0, 0, NULL },
    [S_HMAC] = { "CKM_DMSC_SHA256_HMAC", CKM_DMSC_SHA256_HMAC, CKM_SHA256_HMAC, ALG_HMAC, "SHA256", 32, true, 0, 0,
                 NULL },
};

/* The known HMAC key (also the key C_DigestKey is tried with). */
static const unsigned char hmac_key[32] = {
    0x0b, 0x1d, 0x2c, 0x3f, 0x44, 0x57, 0x6a, 0x79, 0x88, 0x9b, 0xae, 0xbd, 0xc0, 0xd3, 0xe6, 0xf5,
    0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0,
};

/* The plain PSS mechanism needs its parameters (the DM one fixes them). */
static CK_RSA_PKCS_PSS_PARAMS pss_params = { CKM_SHA256, CKG_MGF1_SHA256, 32 };

static CK_MECHANISM plain_mech(const sigmech_t *s)
{
    if (s->alg == ALG_RSA_PSS) {
        CK_MECHANISM m = { CKM_SHA256_RSA_PKCS_PSS, &pss_params, sizeof pss_params };
        return m;
    }
    CK_MECHANISM m = { s->plain, NULL, 0 };
    return m;
}

/* r||s (PKCS#11) to DER (OpenSSL); *der is malloc'd. */
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
    *der = xmalloc((size_t)n);
    memcpy(*der, out, (size_t)n);
    OPENSSL_free(out);
    *der_len = (size_t)n;
    return true;
}

/* OpenSSL accepts sig as a signature (or MAC) over data: PSS with a 32-byte
 * salt and MGF1 with the message digest, ECDSA as r||s. */
static bool ossl_check(alg_t alg, EVP_PKEY *pk, const char *md, const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t sig_len)
{
    if (alg == ALG_HMAC) {
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), hmac_key, sizeof hmac_key, data, len, mac, &ml);
        return sig_len == ml && memcmp(mac, sig, ml) == 0;
    }
    if (pk == NULL)
        return false;
    unsigned char *der = NULL;
    size_t dl = 0;
    if (alg == ALG_ECDSA) {
        if (!rs_to_der(sig, sig_len, &der, &dl))
            return false;
        sig = der;
        sig_len = dl;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = false;
    if (mctx && EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, pk, NULL) == 1) {
        bool set = true;
        if (alg == ALG_RSA_PKCS1)
            set = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
        else if (alg == ALG_RSA_PSS)
            set = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
                  EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) == 1;
        ok = set && EVP_DigestVerify(mctx, sig, sig_len, data, len) == 1;
    }
    EVP_MD_CTX_free(mctx);
    free(der);
    return ok;
}

static bool ossl_ok(const sigmech_t *s, const unsigned char *data, size_t len, const unsigned char *sig,
                    size_t sig_len)
{
    return sig_len == s->sig_len && ossl_check(s->alg, s->pk, s->md, data, len, sig, sig_len);
}

/* ------------------------------------------------------------ operations */

static CK_RV sign_m(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const buf_t *in, unsigned char *sig, CK_ULONG *sl)
{
    CK_RV rv = p11->C_SignInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Sign(sess, in->p, (CK_ULONG)in->n, sig, sl);
}

static CK_RV verify_m(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const buf_t *in, const unsigned char *sig, CK_ULONG sl)
{
    CK_RV rv = p11->C_VerifyInit(sess, m, k);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Verify(sess, in->p, (CK_ULONG)in->n, (CK_BYTE_PTR)sig, sl);
}

static CK_RV digest_m(CK_MECHANISM *m, const buf_t *in, unsigned char *out, CK_ULONG *ol)
{
    CK_RV rv = p11->C_DigestInit(sess, m);
    if (rv != CKR_OK)
        return rv;
    return p11->C_Digest(sess, in->p, (CK_ULONG)in->n, out, ol);
}

/* Multi-part: the input in the given pieces (cuts: the end offsets of all
 * pieces but the last, ascending). */
static CK_RV sign_parts(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const buf_t *in, const size_t *cuts, size_t n_cuts,
                        unsigned char *sig, CK_ULONG *sl)
{
    CK_RV rv = p11->C_SignInit(sess, m, k);
    size_t at = 0;
    for (size_t i = 0; rv == CKR_OK && i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : in->n;
        rv = p11->C_SignUpdate(sess, in->p + at, (CK_ULONG)(end - at));
        at = end;
    }
    if (rv == CKR_OK)
        rv = p11->C_SignFinal(sess, sig, sl);
    return rv;
}

static CK_RV verify_parts(CK_MECHANISM *m, CK_OBJECT_HANDLE k, const buf_t *in, size_t chunk,
                          const unsigned char *sig, CK_ULONG sl)
{
    CK_RV rv = p11->C_VerifyInit(sess, m, k);
    for (size_t at = 0; rv == CKR_OK && at < in->n; at += chunk) {
        size_t n = in->n - at < chunk ? in->n - at : chunk;
        rv = p11->C_VerifyUpdate(sess, in->p + at, (CK_ULONG)n);
    }
    if (rv == CKR_OK)
        rv = p11->C_VerifyFinal(sess, (CK_BYTE_PTR)sig, sl);
    return rv;
}

static CK_RV digest_chunks(CK_MECHANISM *m, const buf_t *in, size_t chunk, unsigned char *out, CK_ULONG *ol)
{
    CK_RV rv = p11->C_DigestInit(sess, m);
    for (size_t at = 0; rv == CKR_OK && at < in->n; at += chunk) {
        size_t n = in->n - at < chunk ? in->n - at : chunk;
        rv = p11->C_DigestUpdate(sess, in->p + at, (CK_ULONG)n);
    }
    if (rv == CKR_OK)
        rv = p11->C_DigestFinal(sess, out, ol);
    return rv;
}

/* Make sure no operation is left active (after a check failed). */
static void end_ops(void)
{
    unsigned char b[512];
    CK_ULONG n = sizeof b;
    p11->C_SignFinal(sess, b, &n);
    n = sizeof b;
    p11->C_DigestFinal(sess, b, &n);
    p11->C_VerifyFinal(sess, b, 1);
}

/* ------------------------------------------------------------ vector groups */

typedef struct {
    const char *group;
    const char *forms[8];
} group_t;

static const group_t groups[] = {
    { "replace", { "replace.pretty.xml", "replace.compact.xml", "replace.attrs.xml", "replace.latin1.xml",
                   "replace.comment.xml", "replace.crlf.xml", "replace.wbxml", NULL } },
    { "binary", { "binary.xml", "binary.compact.xml", "binary.b64.wbxml", "binary.bin.wbxml", NULL } },
    { "attrs", { "attrs.a.xml", "attrs.b.xml", "attrs.wbxml", NULL } },
    { "tnds", { "tnds.xml", "tnds.compact.xml", "tnds.wbxml", NULL } },
};

/* ------------------------------------------------------------ mechanisms */

static void test_mechanisms(void)
{
    static const CK_MECHANISM_TYPE pairs[][2] = {
        { CKM_DMSC_SHA256, CKM_SHA256 },
        { CKM_DMSC_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS },
        { CKM_DMSC_SHA256_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS },
        { CKM_DMSC_ECDSA_SHA256, CKM_ECDSA_SHA256 },
        { CKM_DMSC_ECDSA_SHA384, CKM_ECDSA_SHA384 },
        { CKM_DMSC_EDDSA, CKM_EDDSA },
        { CKM_DMSC_SHA256_HMAC, CKM_SHA256_HMAC },
    };
    CK_SESSION_INFO si;
    CK_MECHANISM_TYPE list[256];
    CK_ULONG n = N_ELEMENTS(list);

    section("mechanisms: listed, with the plain mechanisms' flags and key sizes");
    if (p11->C_GetSessionInfo(sess, &si) != CKR_OK)
        die("C_GetSessionInfo", CKR_GENERAL_ERROR);
    expect(p11->C_GetMechanismList(si.slotID, list, &n), CKR_OK, "C_GetMechanismList");
    for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
        bool listed = false;
        for (CK_ULONG j = 0; j < n; j++)
            listed = listed || list[j] == pairs[i][0];
        check(listed, "mechanism 0x%lx is in C_GetMechanismList", (unsigned long)pairs[i][0]);
        CK_MECHANISM_INFO dm, plain;
        CK_RV rv = p11->C_GetMechanismInfo(si.slotID, pairs[i][0], &dm);
        if (expect(rv, CKR_OK, "C_GetMechanismInfo 0x%lx", (unsigned long)pairs[i][0]) &&
            p11->C_GetMechanismInfo(si.slotID, pairs[i][1], &plain) == CKR_OK)
            check(dm.flags == plain.flags && dm.ulMinKeySize == plain.ulMinKeySize &&
                      dm.ulMaxKeySize == plain.ulMaxKeySize,
                  "0x%lx has the flags and key sizes of 0x%lx (got 0x%lx {%lu,%lu}, plain 0x%lx {%lu,%lu})",
                  (unsigned long)pairs[i][0], (unsigned long)pairs[i][1], (unsigned long)dm.flags,
                  (unsigned long)dm.ulMinKeySize, (unsigned long)dm.ulMaxKeySize, (unsigned long)plain.flags,
                  (unsigned long)plain.ulMinKeySize, (unsigned long)plain.ulMaxKeySize);
    }
}

/* ------------------------------------------------------------ units */

/* Sign IN with s and the unit; the signature must be good for want (the
 * canonical bytes of the unit) with OpenSSL and with the token's plain
 * mechanism, verify with the DM mechanism over ALT (another form of the
 * same message), and be refused for the whole message when the unit is
 * another. */
static void unit_sig(const sigmech_t *s, const char *in_name, const buf_t *in, const buf_t *alt, long unit,
                     const char *cmdid, const buf_t *want, const char *want_name)
{
    mech_t mt;
    unsigned char sig[512], ref[512];
    CK_ULONG sl = sizeof sig, rl = sizeof ref;
    const char *u = unit_name(unit, cmdid);
    CK_RV rv = sign_m(dm_mech(&mt, s->dm, unit, cmdid), s->priv, in, sig, &sl);
    if (!expect(rv, CKR_OK, "%s, %s, sign %s", s->name, u, in_name)) {
        end_ops();
        return;
    }
    check(ossl_ok(s, want->p, want->n, sig, sl), "%s, %s over %s: OpenSSL verifies it over %s", s->name, u, in_name,
          want_name);
    CK_MECHANISM pm = plain_mech(s);
    expect(verify_m(&pm, s->pub, want, sig, sl), CKR_OK, "%s, %s over %s: the plain mechanism verifies it over %s",
           s->name, u, in_name, want_name);
    if (s->deterministic && sign_m(&pm, s->priv, want, ref, &rl) == CKR_OK)
        same_bytes(sig, sl, ref, rl, "%s, %s over %s equals the plain mechanism's signature over %s", s->name, u,
                   in_name, want_name);
    expect(verify_m(dm_mech(&mt, s->dm, unit, cmdid), s->pub, alt, sig, sl), CKR_OK,
           "%s, %s: signed over %s, verified over the other form", s->name, u, in_name);
    if (unit == CKD_DMSC_UNIT_SYNCBODY || unit == CKD_DMSC_UNIT_CMDID)
        expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, in, sig, sl), CKR_SIGNATURE_INVALID,
               "%s: a signature of the %s verified as one of the whole message", s->name, u);
    else
        expect(verify_m(dm_mech(&mt, s->dm, CKD_DMSC_UNIT_SYNCBODY, NULL), s->pub, in, sig, sl),
               CKR_SIGNATURE_INVALID, "%s: a signature of the whole message verified as one of the SyncBody", s->name);
}

/* CKM_DMSC_SHA256 of IN with the unit is SHA-256 of want. */
static void unit_digest(const char *in_name, const buf_t *in, long unit, const char *cmdid, const buf_t *want,
                        const char *want_name)
{
    mech_t mt;
    unsigned char got[64], w[32];
    CK_ULONG gl = sizeof got;
    CK_RV rv = digest_m(dm_mech(&mt, CKM_DMSC_SHA256, unit, cmdid), in, got, &gl);
    sha256(want->p, want->n, w);
    if (expect(rv, CKR_OK, "CKM_DMSC_SHA256, %s, of %s", unit_name(unit, cmdid), in_name))
        same_bytes(got, gl, w, 32, "CKM_DMSC_SHA256, %s, of %s = SHA-256 of %s", unit_name(unit, cmdid), in_name,
                   want_name);
    else
        end_ops();
}

/* Every operation on IN with the unit fails with want at its end. */
static void unit_refused(const char *in_name, const buf_t *in, long unit, const char *cmdid, CK_RV want)
{
    mech_t mt;
    unsigned char out[512];
    CK_ULONG ol = sizeof out;
    const char *u = unit_name(unit, cmdid);
    expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, unit, cmdid), in, out, &ol), want, "CKM_DMSC_SHA256, %s, of %s", u,
           in_name);
    ol = sizeof out;
    expect(p11->C_Digest(sess, in->p, (CK_ULONG)in->n, out, &ol), CKR_OPERATION_NOT_INITIALIZED,
           "C_Digest again after that (the failure ended the operation)");
    for (int i = 0; i < N_SIGS; i++) {
        const sigmech_t *s = &sigs[i];
        ol = sizeof out;
        expect(sign_m(dm_mech(&mt, s->dm, unit, cmdid), s->priv, in, out, &ol), want, "%s, %s, sign %s", s->name, u,
               in_name);
        memset(out, 0x5a, s->sig_len);
        expect(verify_m(dm_mech(&mt, s->dm, unit, cmdid), s->pub, in, out, (CK_ULONG)s->sig_len), want,
               "%s, %s, verify over %s", s->name, u, in_name);
    }
    end_ops();
}

static void test_units(void)
{
    buf_t xml = vec("replace.pretty.xml"), wbxml = vec("replace.wbxml"), compact = vec("replace.compact.xml");
    buf_t c14n = vec("replace.c14n"), body = vec("replace.syncbody.c14n"), cmd4 = vec("replace.cmdid-4.c14n");

    section("units: CK_DMSC_DM_PARAMS selects the message, the SyncBody or a command");
    for (int i = 0; i < N_SIGS; i++) {
        const sigmech_t *s = &sigs[i];
        unit_sig(s, "replace.pretty.xml", &xml, &wbxml, CKD_DMSC_UNIT_MESSAGE, NULL, &c14n, "replace.c14n");
        unit_sig(s, "replace.wbxml", &wbxml, &xml, CKD_DMSC_UNIT_SYNCBODY, NULL, &body, "replace.syncbody.c14n");
        unit_sig(s, "replace.pretty.xml", &xml, &wbxml, CKD_DMSC_UNIT_SYNCBODY, NULL, &body, "replace.syncbody.c14n");
        unit_sig(s, "replace.pretty.xml", &xml, &wbxml, CKD_DMSC_UNIT_CMDID, "4", &cmd4, "replace.cmdid-4.c14n");
        unit_sig(s, "replace.wbxml", &wbxml, &xml, CKD_DMSC_UNIT_CMDID, "4", &cmd4, "replace.cmdid-4.c14n");
    }
    for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
        if (strcmp(groups[g].group, "replace") != 0)
            continue;
        for (const char *const *f = groups[g].forms; *f; f++) {
            buf_t in = vec(*f);
            unit_digest(*f, &in, NO_PARAM, NULL, &c14n, "replace.c14n");
            unit_digest(*f, &in, CKD_DMSC_UNIT_MESSAGE, NULL, &c14n, "replace.c14n");
            unit_digest(*f, &in, CKD_DMSC_UNIT_SYNCBODY, NULL, &body, "replace.syncbody.c14n");
            unit_digest(*f, &in, CKD_DMSC_UNIT_CMDID, "4", &cmd4, "replace.cmdid-4.c14n");
            buf_free(&in);
        }
    }

    /* The other commands: their subtrees of replace.c14n. */
    static const struct {
        const char *cmdid, *tag;
    } cmds[] = { { "1", "Status" }, { "2", "Replace" }, { "3", "Atomic" }, { "5", "Delete" } };
    for (size_t i = 0; i < N_ELEMENTS(cmds); i++) {
        buf_t want = unit_of(&c14n, cmds[i].tag);
        char name[64];
        snprintf(name, sizeof name, "the <%s> of replace.c14n", cmds[i].tag);
        unit_digest("replace.pretty.xml", &xml, CKD_DMSC_UNIT_CMDID, cmds[i].cmdid, &want, name);
        unit_digest("replace.wbxml", &wbxml, CKD_DMSC_UNIT_CMDID, cmds[i].cmdid, &want, name);
        buf_free(&want);
    }
    /* The CmdID in the message compares without surrounding blanks; the
     * canonical form keeps them. */
    {
        buf_t m = replace_once(&compact, "<CmdID>4</CmdID>", "<CmdID>\n 4\t</CmdID>");
        buf_t w = replace_once(&cmd4, "<CmdID>4</CmdID>", "<CmdID>\n 4\t</CmdID>");
        unit_digest("replace.compact.xml with <CmdID>\\n 4\\t</CmdID>", &m, CKD_DMSC_UNIT_CMDID, "4", &w,
                    "replace.cmdid-4.c14n with the same CmdID");
        buf_free(&m);
        buf_free(&w);
    }
    /* A CmdID of 64 bytes (the longest the parameter takes). */
    {
        char id64[65];
        memset(id64, 'Q', 64);
        id64[64] = '\0';
        char from[] = "<CmdID>5</CmdID>", to[96];
        snprintf(to, sizeof to, "<CmdID>%s</CmdID>", id64);
        buf_t m = replace_once(&compact, from, to);
        buf_t c = replace_once(&c14n, from, to);
        buf_t w = unit_of(&c, "Delete");
        unit_digest("replace.compact.xml with a 64-byte CmdID", &m, CKD_DMSC_UNIT_CMDID, id64, &w,
                    "the <Delete> with that CmdID");
        buf_free(&m);
        buf_free(&c);
        buf_free(&w);
    }

    section("units: a unit that is not there is CKR_DATA_INVALID");
    unit_refused("replace.pretty.xml", &xml, CKD_DMSC_UNIT_CMDID, "99", CKR_DATA_INVALID);
    unit_refused("replace.wbxml", &wbxml, CKD_DMSC_UNIT_CMDID, "6", CKR_DATA_INVALID);
    /* Not a command: the Status's MsgRef is 2, CmdRef 0; the SyncHdr's
     * MsgID is 3, which is no CmdID. */
    unit_refused("replace.pretty.xml", &xml, CKD_DMSC_UNIT_CMDID, "0", CKR_DATA_INVALID);
    {
        buf_t dup = replace_once(&compact, "<CmdID>5</CmdID>", "<CmdID>4</CmdID>");
        unit_refused("replace.compact.xml with CmdID 4 twice", &dup, CKD_DMSC_UNIT_CMDID, "4", CKR_DATA_INVALID);
        /* The rest of that message is fine. */
        buf_t w = unit_of(&c14n, "Status");
        unit_digest("replace.compact.xml with CmdID 4 twice", &dup, CKD_DMSC_UNIT_CMDID, "1", &w,
                    "the <Status> of replace.c14n");
        buf_free(&w);
        buf_free(&dup);
    }
    {
        buf_t tnds = vec("tnds.xml"), twb = vec("tnds.wbxml"), tc = vec("tnds.c14n");
        unit_refused("tnds.xml", &tnds, CKD_DMSC_UNIT_SYNCBODY, NULL, CKR_DATA_INVALID);
        unit_refused("tnds.wbxml", &twb, CKD_DMSC_UNIT_CMDID, "1", CKR_DATA_INVALID);
        unit_digest("tnds.wbxml", &twb, CKD_DMSC_UNIT_MESSAGE, NULL, &tc, "tnds.c14n");
        buf_free(&tnds);
        buf_free(&twb);
        buf_free(&tc);
    }
    {
        buf_t fw = buf_str("DMFW\001\000 an opaque firmware package, not a DM message");
        unit_refused("opaque input", &fw, CKD_DMSC_UNIT_SYNCBODY, NULL, CKR_DATA_INVALID);
        unit_refused("opaque input", &fw, CKD_DMSC_UNIT_CMDID, "1", CKR_DATA_INVALID);
        unit_digest("opaque input", &fw, CKD_DMSC_UNIT_MESSAGE, NULL, &fw, "the input itself");
        /* Multi-part: refused at an update or at the end, and ended. */
        mech_t mt;
        unsigned char sig[512];
        CK_ULONG sl = sizeof sig;
        CK_RV rv = p11->C_SignInit(sess, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, CKD_DMSC_UNIT_SYNCBODY, NULL),
                                   sigs[S_RSA].priv);
        if (rv == CKR_OK)
            rv = p11->C_SignUpdate(sess, fw.p, (CK_ULONG)fw.n);
        if (rv == CKR_OK)
            rv = p11->C_SignFinal(sess, sig, &sl);
        expect(rv, CKR_DATA_INVALID, "multi-part CKM_DMSC_SHA256_RSA_PKCS, unit SYNCBODY, of opaque input");
        sl = sizeof sig;
        expect(p11->C_SignFinal(sess, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
               "C_SignFinal after that (the failure ended the operation)");
        buf_free(&fw);
    }
    buf_free(&xml);
    buf_free(&wbxml);
    buf_free(&compact);
    buf_free(&c14n);
    buf_free(&body);
    buf_free(&cmd4);
}

/* ------------------------------------------------------------ params */

static void test_params(void)
{
    static char id65[66], id64[65];
    static const char nul_in[] = { '4', '\0', '5' }, nul_first[] = { '\0', '4' };
    struct bad {
        const char *what;
        CK_ULONG unit;
        const char *cmdid;
        CK_ULONG cmdid_len;
        long size_delta; /* ulParameterLen - sizeof(CK_DMSC_DM_PARAMS) */
    } bads[] = {
        { "ulParameterLen one byte short", CKD_DMSC_UNIT_MESSAGE, NULL, 0, -1 },
        { "ulParameterLen 8 bytes long", CKD_DMSC_UNIT_MESSAGE, NULL, 0, 8 },
        { "ulParameterLen the size of a CK_ULONG", CKD_DMSC_UNIT_SYNCBODY, NULL, 0,
          (long)sizeof(CK_ULONG) - (long)sizeof(CK_DMSC_DM_PARAMS) },
        { "unknown unit 3", 3, NULL, 0, 0 },
        { "unknown unit ~0", ~0UL, NULL, 0, 0 },
        { "unit CMDID without pCmdID", CKD_DMSC_UNIT_CMDID, NULL, 1, 0 },
        { "unit CMDID with an empty CmdID", CKD_DMSC_UNIT_CMDID, "4", 0, 0 },
        { "unit CMDID with a 65-byte CmdID", CKD_DMSC_UNIT_CMDID, id65, 65, 0 },
        { "unit CMDID with a NUL inside the CmdID", CKD_DMSC_UNIT_CMDID, nul_in, sizeof nul_in, 0 },
        { "unit CMDID with a NUL first", CKD_DMSC_UNIT_CMDID, nul_first, sizeof nul_first, 0 },
        { "unit MESSAGE with a CmdID", CKD_DMSC_UNIT_MESSAGE, "4", 1, 0 },
        { "unit SYNCBODY with a CmdID length", CKD_DMSC_UNIT_SYNCBODY, NULL, 1, 0 },
        { "unit SYNCBODY with a CmdID", CKD_DMSC_UNIT_SYNCBODY, "4", 1, 0 },
    };
    memset(id65, '4', 65);
    memset(id64, '4', 64);
    section("params: bad CK_DMSC_DM_PARAMS are CKR_MECHANISM_PARAM_INVALID at *Init, and start nothing");

    unsigned char space[sizeof(CK_DMSC_DM_PARAMS) + 16];
    for (int i = 0; i <= N_SIGS; i++) {
        /* i == N_SIGS: the digest mechanism */
        const sigmech_t *s = i < N_SIGS ? &sigs[i] : NULL;
        const char *name = s ? s->name : "CKM_DMSC_SHA256";
        for (size_t b = 0; b < N_ELEMENTS(bads); b++) {
            CK_DMSC_DM_PARAMS p = { bads[b].unit, (CK_UTF8CHAR *)bads[b].cmdid, bads[b].cmdid_len };
            memset(space, 0, sizeof space);
            memcpy(space, &p, sizeof p);
            CK_MECHANISM m = { s ? s->dm : CKM_DMSC_SHA256, space,
                               (CK_ULONG)((long)sizeof p + bads[b].size_delta) };
            if (s) {
                expect(p11->C_SignInit(sess, &m, s->priv), CKR_MECHANISM_PARAM_INVALID, "%s, C_SignInit, %s", name,
                       bads[b].what);
                expect(p11->C_VerifyInit(sess, &m, s->pub), CKR_MECHANISM_PARAM_INVALID, "%s, C_VerifyInit, %s",
                       name, bads[b].what);
            } else {
                expect(p11->C_DigestInit(sess, &m), CKR_MECHANISM_PARAM_INVALID, "%s, C_DigestInit, %s", name,
                       bads[b].what);
            }
        }
        /* Nothing was left active: a good *Init works, and so does the
         * longest CmdID (which is not in the message). */
        mech_t mt;
        buf_t xml = vec("replace.compact.xml");
        unsigned char out[512];
        CK_ULONG ol = sizeof out;
        CK_MECHANISM *m = dm_mech(&mt, s ? s->dm : CKM_DMSC_SHA256, CKD_DMSC_UNIT_CMDID, id64);
        CK_RV rv = s ? sign_m(m, s->priv, &xml, out, &ol) : digest_m(m, &xml, out, &ol);
        expect(rv, CKR_DATA_INVALID, "%s after the refused *Init: a 64-byte CmdID is taken (and not in the message)",
               name);
        if (s) {
            memset(out, 0, s->sig_len);
            expect(verify_m(m, s->pub, &xml, out, (CK_ULONG)s->sig_len), CKR_DATA_INVALID,
                   "%s, verify with a 64-byte CmdID not in the message", name);
        }
        end_ops();
        buf_free(&xml);
    }
}

/* ------------------------------------------------------------ multipart */

static void test_multipart(void)
{
    section("multipart: a message cut anywhere gives the one-shot result");
    static const char *const cut_files[] = { "replace.pretty.xml", "replace.wbxml" };
    const sigmech_t *rsa = &sigs[S_RSA];
    for (size_t f = 0; f < N_ELEMENTS(cut_files); f++) {
        buf_t in = vec(cut_files[f]);
        mech_t mt;
        unsigned char ref[512], sig[512];
        CK_ULONG rl = sizeof ref;
        CK_RV rv = sign_m(dm_mech(&mt, rsa->dm, NO_PARAM, NULL), rsa->priv, &in, ref, &rl);
        if (!expect(rv, CKR_OK, "%s one-shot over %s", rsa->name, cut_files[f])) {
            buf_free(&in);
            continue;
        }
        size_t bad = 0, first_bad = 0;
        CK_RV bad_rv = CKR_OK;
        for (size_t cut = 0; cut <= in.n; cut++) {
            CK_ULONG sl = sizeof sig;
            rv = sign_parts(dm_mech(&mt, rsa->dm, NO_PARAM, NULL), rsa->priv, &in, &cut, 1, sig, &sl);
            if (rv != CKR_OK || sl != rl || memcmp(sig, ref, rl) != 0) {
                if (bad++ == 0) {
                    first_bad = cut;
                    bad_rv = rv;
                }
                end_ops();
            }
        }
        check(bad == 0,
              "%s over %s cut in two at each of its %zu boundaries: the one-shot signature "
              "(%zu differ; first at %zu, %s)",
              rsa->name, cut_files[f], in.n + 1, bad, first_bad, rv_name(bad_rv));
        /* Three pieces with an empty update between, and the WBXML header cut. */
        size_t cuts[3] = { 1, 1, in.n / 2 };
        CK_ULONG sl = sizeof sig;
        rv = sign_parts(dm_mech(&mt, rsa->dm, NO_PARAM, NULL), rsa->priv, &in, cuts, 3, sig, &sl);
        if (expect(rv, CKR_OK, "%s over %s in pieces of 1, 0, n/2-1 and the rest bytes", rsa->name, cut_files[f]))
            same_bytes(sig, sl, ref, rl, "that signature equals the one-shot one");
        /* Verify byte by byte, for every mechanism (with its own signature). */
        for (int i = 0; i < N_SIGS; i++) {
            const sigmech_t *s = &sigs[i];
            sl = sizeof sig;
            rv = sign_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv, &in, sig, &sl);
            if (rv == CKR_OK)
                rv = verify_parts(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &in, 1, sig, sl);
            expect(rv, CKR_OK, "%s over %s: signed one-shot, verified byte by byte", s->name, cut_files[f]);
            size_t one = 1;
            sl = sizeof sig;
            rv = sign_parts(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv, &in, &one, 1, sig, &sl);
            if (rv == CKR_OK)
                rv = verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &in, sig, sl);
            expect(rv, CKR_OK, "%s over %s: signed in two parts (1 + rest), verified one-shot", s->name, cut_files[f]);
            end_ops();
        }
        buf_free(&in);
    }

    /* The digest of every form of every group, cut everywhere and byte by byte. */
    for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
        char cname[64];
        snprintf(cname, sizeof cname, "%s.c14n", groups[g].group);
        buf_t c = vec(cname);
        unsigned char want[32];
        sha256(c.p, c.n, want);
        for (const char *const *f = groups[g].forms; *f; f++) {
            buf_t in = vec(*f);
            mech_t mt;
            size_t bad = 0, first_bad = 0;
            CK_RV bad_rv = CKR_OK;
            for (size_t cut = 0; cut <= in.n; cut++) {
                unsigned char got[64];
                CK_ULONG gl = sizeof got;
                CK_RV rv = p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL));
                if (rv == CKR_OK)
                    rv = p11->C_DigestUpdate(sess, in.p, (CK_ULONG)cut);
                if (rv == CKR_OK)
                    rv = p11->C_DigestUpdate(sess, in.p + cut, (CK_ULONG)(in.n - cut));
                if (rv == CKR_OK)
                    rv = p11->C_DigestFinal(sess, got, &gl);
                if (rv != CKR_OK || gl != 32 || memcmp(got, want, 32) != 0) {
                    if (bad++ == 0) {
                        first_bad = cut;
                        bad_rv = rv;
                    }
                    end_ops();
                }
            }
            check(bad == 0,
                  "CKM_DMSC_SHA256 of %s cut at each of its %zu boundaries = SHA-256 of %s "
                  "(%zu differ; first at %zu, %s)",
                  *f, in.n + 1, cname, bad, first_bad, rv_name(bad_rv));
            unsigned char got[64];
            CK_ULONG gl = sizeof got;
            CK_RV rv = digest_chunks(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &in, 1, got, &gl);
            if (expect(rv, CKR_OK, "CKM_DMSC_SHA256 of %s byte by byte", *f))
                same_bytes(got, gl, want, 32, "that digest = SHA-256 of %s", cname);
            buf_free(&in);
        }
        buf_free(&c);
    }
}

/* ------------------------------------------------------------ buffers */

static void test_buffers(void)
{
    buf_t xml = vec("replace.pretty.xml"), c14n = vec("replace.c14n");
    mech_t mt;
    unsigned char sig[512], ref[512];
    CK_ULONG sl, rl;
    CK_RV rv;

    section("buffers: length queries and CKR_BUFFER_TOO_SMALL keep the operation and its input");
    for (int i = 0; i < N_SIGS; i++) {
        const sigmech_t *s = &sigs[i];
        rl = sizeof ref;
        rv = sign_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv, &xml, ref, &rl);
        expect(rv, CKR_OK, "%s reference signature", s->name);

        /* One-shot. */
        expect(p11->C_SignInit(sess, dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv), CKR_OK, "%s C_SignInit", s->name);
        sl = 0;
        rv = p11->C_Sign(sess, xml.p, (CK_ULONG)xml.n, NULL, &sl);
        expect(rv, CKR_OK, "%s C_Sign length query", s->name);
        check(sl == s->sig_len, "%s C_Sign length query: %zu bytes (got %lu)", s->name, s->sig_len, (unsigned long)sl);
        sl = (CK_ULONG)s->sig_len - 1;
        rv = p11->C_Sign(sess, xml.p, (CK_ULONG)xml.n, sig, &sl);
        expect(rv, CKR_BUFFER_TOO_SMALL, "%s C_Sign into %zu bytes", s->name, s->sig_len - 1);
        check(sl == s->sig_len, "%s C_Sign CKR_BUFFER_TOO_SMALL says %zu bytes (got %lu)", s->name, s->sig_len,
              (unsigned long)sl);
        sl = sizeof sig;
        rv = p11->C_Sign(sess, xml.p, (CK_ULONG)xml.n, sig, &sl);
        if (expect(rv, CKR_OK, "%s C_Sign after the length query and the short buffer", s->name)) {
            check(ossl_ok(s, c14n.p, c14n.n, sig, sl), "%s: that signature is good over replace.c14n (OpenSSL)",
                  s->name);
            if (s->deterministic)
                same_bytes(sig, sl, ref, rl, "%s: and equals the reference signature", s->name);
        }
        sl = sizeof sig;
        expect(p11->C_Sign(sess, xml.p, (CK_ULONG)xml.n, sig, &sl), CKR_OPERATION_NOT_INITIALIZED,
               "%s C_Sign again (the operation ended)", s->name);

        /* Multi-part. */
        expect(p11->C_SignInit(sess, dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv), CKR_OK, "%s C_SignInit", s->name);
        expect(p11->C_SignUpdate(sess, xml.p, 100), CKR_OK, "%s C_SignUpdate 100 bytes", s->name);
        expect(p11->C_SignUpdate(sess, xml.p + 100, (CK_ULONG)xml.n - 100), CKR_OK, "%s C_SignUpdate the rest",
               s->name);
        sl = 0;
        expect(p11->C_SignFinal(sess, NULL, &sl), CKR_OK, "%s C_SignFinal length query", s->name);
        check(sl == s->sig_len, "%s C_SignFinal length query: %zu bytes (got %lu)", s->name, s->sig_len,
              (unsigned long)sl);
        sl = 1;
        expect(p11->C_SignFinal(sess, sig, &sl), CKR_BUFFER_TOO_SMALL, "%s C_SignFinal into 1 byte", s->name);
        /* Another query after the short buffer: still the same operation. */
        sl = 0;
        expect(p11->C_SignFinal(sess, NULL, &sl), CKR_OK, "%s C_SignFinal length query again", s->name);
        sl = sizeof sig;
        rv = p11->C_SignFinal(sess, sig, &sl);
        if (expect(rv, CKR_OK, "%s C_SignFinal after the queries", s->name)) {
            check(ossl_ok(s, c14n.p, c14n.n, sig, sl), "%s: the multi-part signature is good over replace.c14n",
                  s->name);
            if (s->deterministic)
                same_bytes(sig, sl, ref, rl, "%s: and equals the one-shot signature", s->name);
        }
        sl = sizeof sig;
        expect(p11->C_SignFinal(sess, sig, &sl), CKR_OPERATION_NOT_INITIALIZED, "%s C_SignFinal again", s->name);
        /* A signature of the wrong length, short or long. */
        expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &xml, ref, rl - 1), CKR_SIGNATURE_LEN_RANGE,
               "%s C_Verify with a signature one byte short", s->name);
        memset(ref + rl, 0, 1);
        expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &xml, ref, rl + 1), CKR_SIGNATURE_LEN_RANGE,
               "%s C_Verify with a signature one byte long", s->name);
        end_ops();
    }

    /* Digest. */
    unsigned char want[32], got[64];
    CK_ULONG gl;
    sha256(c14n.p, c14n.n, want);
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK,
           "CKM_DMSC_SHA256 C_DigestInit");
    gl = 0;
    expect(p11->C_Digest(sess, xml.p, (CK_ULONG)xml.n, NULL, &gl), CKR_OK, "C_Digest length query");
    check(gl == 32, "C_Digest length query: 32 bytes (got %lu)", (unsigned long)gl);
    gl = 31;
    expect(p11->C_Digest(sess, xml.p, (CK_ULONG)xml.n, got, &gl), CKR_BUFFER_TOO_SMALL, "C_Digest into 31 bytes");
    gl = sizeof got;
    if (expect(p11->C_Digest(sess, xml.p, (CK_ULONG)xml.n, got, &gl), CKR_OK, "C_Digest after them"))
        same_bytes(got, gl, want, 32, "that digest = SHA-256 of replace.c14n");
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK,
           "CKM_DMSC_SHA256 C_DigestInit");
    expect(p11->C_DigestUpdate(sess, xml.p, (CK_ULONG)xml.n), CKR_OK, "C_DigestUpdate");
    gl = 0;
    expect(p11->C_DigestFinal(sess, NULL, &gl), CKR_OK, "C_DigestFinal length query");
    gl = 16;
    expect(p11->C_DigestFinal(sess, got, &gl), CKR_BUFFER_TOO_SMALL, "C_DigestFinal into 16 bytes");
    gl = sizeof got;
    if (expect(p11->C_DigestFinal(sess, got, &gl), CKR_OK, "C_DigestFinal after them"))
        same_bytes(got, gl, want, 32, "that digest = SHA-256 of replace.c14n");

    /* A one-shot length query on a malformed message reads nothing; the
     * real call then refuses the message. */
    buf_t trunc = buf_of(xml.p, 1000);
    expect(p11->C_SignInit(sess, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), sigs[S_RSA].priv), CKR_OK,
           "C_SignInit for a truncated message");
    sl = 0;
    rv = p11->C_Sign(sess, trunc.p, (CK_ULONG)trunc.n, NULL, &sl);
    if (rv == CKR_OK) {
        sl = sizeof sig;
        rv = p11->C_Sign(sess, trunc.p, (CK_ULONG)trunc.n, sig, &sl);
    }
    expect(rv, CKR_DATA_INVALID, "C_Sign of a truncated message (after a length query)");
    end_ops();
    buf_free(&trunc);
    buf_free(&xml);
    buf_free(&c14n);
}

/* ------------------------------------------------------------ limit */

/* replace.c14n with its "apn.operator.example" padded with 'x' to SIZE
 * bytes: a message that is its own canonical form. */
static buf_t big_message(const buf_t *c14n, size_t size)
{
    const char *mark = "apn.operator.example";
    const unsigned char *at = find(c14n, 0, mark);
    if (at == NULL || size < c14n->n)
        die("cannot make a big message", CKR_GENERAL_ERROR);
    size_t pre = (size_t)(at - c14n->p) + strlen(mark), pad = size - c14n->n;
    buf_t b = { xmalloc(size), size };
    memcpy(b.p, c14n->p, pre);
    memset(b.p + pre, 'x', pad);
    memcpy(b.p + pre + pad, c14n->p + pre, c14n->n - pre);
    return b;
}

/* replace.wbxml of SIZE bytes: its Data "apn.operator.example" (an OPAQUE
 * of 20 bytes, C3 14 ...) as an inline string (03 ... 00) padded with 'x'
 * alike, so it canonicalises to big_message(c14n, c14n.n + SIZE - wbxml.n). */
static buf_t big_wbxml(const buf_t *wbxml, size_t size)
{
    static const char opaque[] = "\xc3\x14" "apn.operator.example";
    const unsigned char *at = find(wbxml, 0, opaque);
    if (at == NULL || size < wbxml->n)
        die("cannot make a big WBXML message (replace.wbxml changed?)", CKR_GENERAL_ERROR);
    size_t pre = (size_t)(at - wbxml->p), old = sizeof opaque - 1, pad = size - wbxml->n;
    buf_t b = { xmalloc(size), size };
    unsigned char *o = b.p;
    memcpy(o, wbxml->p, pre);
    o += pre;
    *o++ = 0x03; /* STR_I */
    memcpy(o, "apn.operator.example", 20);
    o += 20;
    memset(o, 'x', pad);
    o += pad;
    *o++ = 0x00;
    memcpy(o, wbxml->p + pre + old, wbxml->n - pre - old);
    return b;
}

enum { OP_SIGN, OP_VERIFY, OP_DIGEST };

/* Feed `in` in 1 MiB updates to a fresh operation; returns the rv of the
 * first failing update (or CKR_OK) and where it failed. */
static CK_RV feed(int op, CK_MECHANISM *m, const buf_t *in, size_t *failed_at)
{
    CK_RV rv;
    switch (op) {
    case OP_SIGN: rv = p11->C_SignInit(sess, m, sigs[S_RSA].priv); break;
    case OP_VERIFY: rv = p11->C_VerifyInit(sess, m, sigs[S_RSA].pub); break;
    default: rv = p11->C_DigestInit(sess, m); break;
    }
    if (rv != CKR_OK)
        return rv;
    for (size_t at = 0; at < in->n; at += MIB) {
        size_t n = in->n - at < MIB ? in->n - at : MIB;
        switch (op) {
        case OP_SIGN: rv = p11->C_SignUpdate(sess, in->p + at, (CK_ULONG)n); break;
        case OP_VERIFY: rv = p11->C_VerifyUpdate(sess, in->p + at, (CK_ULONG)n); break;
        default: rv = p11->C_DigestUpdate(sess, in->p + at, (CK_ULONG)n); break;
        }
        if (rv != CKR_OK) {
            *failed_at = at;
            return rv;
        }
    }
    return CKR_OK;
}

static void test_limit(void)
{
    static const char *const ops[] = { "C_SignUpdate", "C_VerifyUpdate", "C_DigestUpdate" };
    buf_t c14n = vec("replace.c14n"), wbxml = vec("replace.wbxml");
    buf_t max = big_message(&c14n, CKD_DMSC_DM_MAX_MESSAGE);
    buf_t over = big_message(&c14n, CKD_DMSC_DM_MAX_MESSAGE + 1);
    mech_t mt;
    unsigned char out[512], want[32];
    CK_ULONG ol;
    CK_RV rv;

    section("limit: CKD_DMSC_DM_MAX_MESSAGE (16 MiB) of XML or WBXML, opaque input beyond");
    sha256(max.p, max.n, want);
    for (int op = 0; op < 3; op++) {
        size_t at = 0;
        CK_MECHANISM *m = dm_mech(&mt, op == OP_DIGEST ? CKM_DMSC_SHA256 : CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL);
        rv = feed(op, m, &max, &at);
        expect(rv, CKR_OK, "%s: 16 MiB of XML in 1 MiB updates", ops[op]);
        if (rv == CKR_OK && op == OP_DIGEST) {
            ol = sizeof out;
            if (expect(p11->C_DigestFinal(sess, out, &ol), CKR_OK, "C_DigestFinal of the 16 MiB message"))
                same_bytes(out, ol, want, 32, "its digest = SHA-256 of the message (its own canonical form)");
        } else if (rv == CKR_OK && op == OP_SIGN) {
            ol = sizeof out;
            if (expect(p11->C_SignFinal(sess, out, &ol), CKR_OK, "C_SignFinal of the 16 MiB message"))
                check(ossl_ok(&sigs[S_RSA], max.p, max.n, out, ol), "OpenSSL verifies that signature over the message");
        }
        end_ops();

        rv = feed(op, m, &over, &at);
        expect(rv, CKR_DATA_LEN_RANGE, "%s: 16 MiB + 1 byte of XML in 1 MiB updates", ops[op]);
        check(rv != CKR_DATA_LEN_RANGE || at == 16 * MIB, "%s: refused at the update past 16 MiB (offset %zu)", ops[op],
              at);
        ol = sizeof out;
        rv = op == OP_SIGN     ? p11->C_SignFinal(sess, out, &ol)
             : op == OP_VERIFY ? p11->C_VerifyFinal(sess, out, 256)
                               : p11->C_DigestFinal(sess, out, &ol);
        expect(rv, CKR_OPERATION_NOT_INITIALIZED, "%s failed: the operation is ended", ops[op]);
        end_ops();
    }
    /* All at once: one-shot, and one update. */
    ol = sizeof out;
    expect(sign_m(dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), sigs[S_RSA].priv, &over, out, &ol),
           CKR_DATA_LEN_RANGE, "C_Sign of 16 MiB + 1 byte of XML");
    ol = sizeof out;
    expect(p11->C_Sign(sess, over.p, (CK_ULONG)over.n, out, &ol), CKR_OPERATION_NOT_INITIALIZED,
           "C_Sign again (the operation ended)");
    ol = sizeof out;
    expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &max, out, &ol), CKR_OK,
           "C_Digest of 16 MiB of XML");
    same_bytes(out, ol, want, 32, "that digest = SHA-256 of the message");
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK, "C_DigestInit");
    expect(p11->C_DigestUpdate(sess, over.p, (CK_ULONG)over.n), CKR_DATA_LEN_RANGE,
           "one C_DigestUpdate of 16 MiB + 1 byte of XML");
    ol = sizeof out;
    expect(p11->C_DigestFinal(sess, out, &ol), CKR_OPERATION_NOT_INITIALIZED, "C_DigestFinal after it");
    /* A session whose operation failed is still good. */
    ol = sizeof out;
    expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &c14n, out, &ol), CKR_OK,
           "C_Digest of replace.c14n after the refused ones");

    /* WBXML: 16 MiB of it is taken (a long inline string), one byte more
     * is refused at the update that goes past. */
    {
        buf_t wmax = big_wbxml(&wbxml, CKD_DMSC_DM_MAX_MESSAGE);
        buf_t wover = big_wbxml(&wbxml, CKD_DMSC_DM_MAX_MESSAGE + 1);
        buf_t wc = big_message(&c14n, c14n.n + (CKD_DMSC_DM_MAX_MESSAGE - wbxml.n));
        unsigned char wwant[32];
        sha256(wc.p, wc.n, wwant);
        ol = sizeof out;
        if (expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &wmax, out, &ol), CKR_OK,
                   "C_Digest of 16 MiB of WBXML"))
            same_bytes(out, ol, wwant, 32, "that digest = SHA-256 of its canonical form (replace.c14n padded alike)");
        size_t at = 0;
        rv = feed(OP_DIGEST, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &wmax, &at);
        ol = sizeof out;
        if (rv == CKR_OK)
            rv = p11->C_DigestFinal(sess, out, &ol);
        if (expect(rv, CKR_OK, "CKM_DMSC_SHA256 of 16 MiB of WBXML in 1 MiB updates"))
            same_bytes(out, ol, wwant, 32, "that digest = SHA-256 of its canonical form");
        rv = feed(OP_VERIFY, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), &wover, &at);
        expect(rv, CKR_DATA_LEN_RANGE, "C_VerifyUpdate: 16 MiB + 1 byte of WBXML in 1 MiB updates");
        check(rv != CKR_DATA_LEN_RANGE || at == 16 * MIB, "refused at the update past 16 MiB (offset %zu)", at);
        expect(p11->C_VerifyFinal(sess, out, 256), CKR_OPERATION_NOT_INITIALIZED, "C_VerifyFinal after it");
        end_ops();
        buf_free(&wmax);
        buf_free(&wover);
        buf_free(&wc);
    }
    /* WBXML: its header, then bytes up to past the limit. */
    {
        buf_t w = { xmalloc(over.n), over.n };
        memset(w.p, 0x01, w.n);
        memcpy(w.p, wbxml.p, 16);
        size_t at = 0;
        rv = feed(OP_SIGN, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), &w, &at);
        expect(rv, CKR_DATA_LEN_RANGE, "C_SignUpdate: a WBXML header and 16 MiB more");
        check(rv != CKR_DATA_LEN_RANGE || at == 16 * MIB, "refused at the update past 16 MiB (offset %zu)", at);
        end_ops();
        buf_free(&w);
    }

    /* Opaque input has no limit: the same size, and more, one-shot and in parts. */
    {
        buf_t fw = { xmalloc(17 * MIB + 5), 17 * MIB + 5 };
        if (RAND_bytes(fw.p, (int)fw.n) != 1)
            die("RAND_bytes", CKR_GENERAL_ERROR);
        memcpy(fw.p, "DMFW\001", 5);
        unsigned char fw_sha[32];
        sha256(fw.p, fw.n, fw_sha);
        ol = sizeof out;
        if (expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &fw, out, &ol), CKR_OK,
                   "C_Digest of 17 MiB of opaque input"))
            same_bytes(out, ol, fw_sha, 32, "that digest = SHA-256 of the input");
        size_t at = 0;
        rv = feed(OP_DIGEST, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &fw, &at);
        ol = sizeof out;
        if (rv == CKR_OK)
            rv = p11->C_DigestFinal(sess, out, &ol);
        if (expect(rv, CKR_OK, "CKM_DMSC_SHA256 of 17 MiB of opaque input in 1 MiB updates"))
            same_bytes(out, ol, fw_sha, 32, "that digest = SHA-256 of the input");
        ol = sizeof out;
        rv = sign_m(dm_mech(&mt, CKM_DMSC_SHA256_HMAC, NO_PARAM, NULL), sigs[S_HMAC].priv, &fw, out, &ol);
        if (expect(rv, CKR_OK, "CKM_DMSC_SHA256_HMAC of 17 MiB of opaque input"))
            check(ossl_ok(&sigs[S_HMAC], fw.p, fw.n, out, ol), "that MAC = OpenSSL's HMAC of the input");
        end_ops();
        buf_free(&fw);
    }
    buf_free(&max);
    buf_free(&over);
    buf_free(&c14n);
    buf_free(&wbxml);
}

/* ------------------------------------------------------------ digestkey */

static void test_digestkey(void)
{
    mech_t mt;
    unsigned char got[64], want[32];
    CK_ULONG gl;
    CK_RV rv;
    static const char data[] = "DMFW\001 opaque bytes before the key";

    section("digestkey: C_DigestKey with CKM_DMSC_SHA256 is CKR_KEY_INDIGESTIBLE");
    CK_OBJECT_HANDLE k = sigs[S_HMAC].priv;
    /* With the plain mechanism the key is digestible. */
    sha256(hmac_key, sizeof hmac_key, want);
    rv = p11->C_DigestInit(sess, dm_mech(&mt, CKM_SHA256, NO_PARAM, NULL));
    if (rv == CKR_OK)
        rv = p11->C_DigestKey(sess, k);
    gl = sizeof got;
    if (rv == CKR_OK)
        rv = p11->C_DigestFinal(sess, got, &gl);
    if (expect(rv, CKR_OK, "CKM_SHA256: C_DigestInit + C_DigestKey + C_DigestFinal"))
        same_bytes(got, gl, want, 32, "CKM_SHA256 C_DigestKey = SHA-256 of the key value");

    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK,
           "CKM_DMSC_SHA256 C_DigestInit");
    expect(p11->C_DigestKey(sess, k), CKR_KEY_INDIGESTIBLE, "CKM_DMSC_SHA256 C_DigestKey first");
    gl = sizeof got;
    rv = p11->C_DigestFinal(sess, got, &gl);
    check(rv != CKR_OK, "C_DigestFinal after the refused C_DigestKey gives no digest of the key (got %s%s%s)",
          rv_name(rv), rv == CKR_OK ? " " : "", rv == CKR_OK ? hex(got, gl) : "");
    end_ops();

    sha256(data, sizeof data - 1, want);
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK,
           "CKM_DMSC_SHA256 C_DigestInit");
    expect(p11->C_DigestUpdate(sess, (CK_BYTE_PTR)data, sizeof data - 1), CKR_OK, "C_DigestUpdate of opaque bytes");
    expect(p11->C_DigestKey(sess, k), CKR_KEY_INDIGESTIBLE, "CKM_DMSC_SHA256 C_DigestKey after them");
    gl = sizeof got;
    rv = p11->C_DigestFinal(sess, got, &gl);
    /* The operation ends (as after any failed update) or, if it went on,
     * the key is not in it. */
    check(rv == CKR_OPERATION_NOT_INITIALIZED || (rv == CKR_OK && gl == 32 && memcmp(got, want, 32) == 0),
          "C_DigestFinal after the refused C_DigestKey: ended, or the digest of the data alone (got %s)", rv_name(rv));
    end_ops();
    /* Not a key handle at all. */
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK,
           "CKM_DMSC_SHA256 C_DigestInit");
    expect(p11->C_DigestKey(sess, sigs[S_RSA].priv), CKR_KEY_INDIGESTIBLE,
           "CKM_DMSC_SHA256 C_DigestKey of a private key");
    end_ops();
}

/* ------------------------------------------------------------ hmac */

static void test_hmac(void)
{
    const sigmech_t *s = &sigs[S_HMAC];
    mech_t mt;
    unsigned char mac[64], want[32];
    CK_ULONG ml;
    unsigned int wl;
    CK_RV rv;

    section("hmac: CKM_DMSC_SHA256_HMAC with a known key = HMAC-SHA256 of the canonical form");
    for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
        char cname[64];
        snprintf(cname, sizeof cname, "%s.c14n", groups[g].group);
        buf_t c = vec(cname);
        HMAC(EVP_sha256(), hmac_key, sizeof hmac_key, c.p, c.n, want, &wl);
        for (const char *const *f = groups[g].forms; *f; f++) {
            buf_t in = vec(*f);
            ml = sizeof mac;
            rv = sign_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv, &in, mac, &ml);
            if (expect(rv, CKR_OK, "CKM_DMSC_SHA256_HMAC of %s", *f))
                same_bytes(mac, ml, want, wl, "CKM_DMSC_SHA256_HMAC of %s = OpenSSL HMAC-SHA256 of %s", *f, cname);
            expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &in, want, wl), CKR_OK,
                   "C_Verify OpenSSL's MAC of %s over %s", cname, *f);
            want[7] ^= 0x20;
            expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &in, want, wl), CKR_SIGNATURE_INVALID,
                   "C_Verify a MAC with one bit flipped over %s", *f);
            want[7] ^= 0x20;
            expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &in, want, wl - 1), CKR_SIGNATURE_LEN_RANGE,
                   "C_Verify a MAC of 31 bytes over %s", *f);
            buf_free(&in);
        }
        buf_free(&c);
    }

    /* The plain HMAC of the same key covers the raw bytes, before and after
     * (a finished HMAC operation may be kept for reuse: not for the DM one). */
    buf_t xml = vec("replace.pretty.xml"), c14n = vec("replace.c14n");
    unsigned char raw[32], can[32];
    HMAC(EVP_sha256(), hmac_key, sizeof hmac_key, xml.p, xml.n, raw, &wl);
    HMAC(EVP_sha256(), hmac_key, sizeof hmac_key, c14n.p, c14n.n, can, &wl);
    for (int round = 0; round < 2; round++) {
        CK_MECHANISM plain = { CKM_SHA256_HMAC, NULL, 0 };
        ml = sizeof mac;
        if (expect(sign_m(&plain, s->priv, &xml, mac, &ml), CKR_OK, "CKM_SHA256_HMAC of replace.pretty.xml (%d)",
                   round))
            same_bytes(mac, ml, raw, 32, "CKM_SHA256_HMAC covers the raw bytes of replace.pretty.xml (%d)", round);
        ml = sizeof mac;
        if (expect(sign_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->priv, &xml, mac, &ml), CKR_OK,
                   "CKM_DMSC_SHA256_HMAC of replace.pretty.xml right after (%d)", round))
            same_bytes(mac, ml, can, 32, "CKM_DMSC_SHA256_HMAC covers replace.c14n (%d)", round);
        expect(verify_m(&plain, s->pub, &xml, raw, 32), CKR_OK, "CKM_SHA256_HMAC verifies the raw MAC (%d)", round);
        expect(verify_m(dm_mech(&mt, s->dm, NO_PARAM, NULL), s->pub, &xml, raw, 32), CKR_SIGNATURE_INVALID,
               "CKM_DMSC_SHA256_HMAC refuses the raw bytes' MAC (%d)", round);
    }
    buf_free(&xml);
    buf_free(&c14n);
}

/* ------------------------------------------------------------ keys */

static void test_keys(void)
{
    mech_t mt;
    buf_t xml = vec("replace.compact.xml");
    unsigned char out[512];
    CK_ULONG ol;

    section("keys: key types, functions, CKA_ALLOWED_MECHANISMS");
    static const struct {
        int sig, key;
    } wrong[] = { { S_RSA, S_EC256 }, { S_PSS, S_ED }, { S_EC256, S_RSA }, { S_EC384, S_ED },
                  { S_ED, S_EC256 }, { S_HMAC, S_RSA }, { S_RSA, S_HMAC } };
    for (size_t i = 0; i < N_ELEMENTS(wrong); i++) {
        const sigmech_t *s = &sigs[wrong[i].sig], *k = &sigs[wrong[i].key];
        expect(p11->C_SignInit(sess, dm_mech(&mt, s->dm, NO_PARAM, NULL), k->priv), CKR_KEY_TYPE_INCONSISTENT,
               "%s C_SignInit with the key of %s", s->name, k->name);
        expect(p11->C_VerifyInit(sess, dm_mech(&mt, s->dm, NO_PARAM, NULL), k->pub), CKR_KEY_TYPE_INCONSISTENT,
               "%s C_VerifyInit with the key of %s", s->name, k->name);
    }
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL)), CKR_MECHANISM_INVALID,
           "C_DigestInit with CKM_DMSC_SHA256_RSA_PKCS");
    expect(p11->C_SignInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), sigs[S_RSA].priv),
           CKR_MECHANISM_INVALID, "C_SignInit with CKM_DMSC_SHA256");
    expect(p11->C_EncryptInit(sess, dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), sigs[S_RSA].pub),
           CKR_MECHANISM_INVALID, "C_EncryptInit with CKM_DMSC_SHA256_RSA_PKCS");
    expect(p11->C_SignInit(sess, dm_mech(&mt, CKM_DMSC_BASE + 0x12, NO_PARAM, NULL), sigs[S_RSA].priv),
           CKR_MECHANISM_INVALID, "C_SignInit with the unassigned CKM_DMSC_BASE + 0x12");

    CK_MECHANISM_TYPE dm_only = CKM_DMSC_SHA256_HMAC, plain_only = CKM_SHA256_HMAC;
    CK_OBJECT_HANDLE kd, kp;
    CK_MECHANISM plain = { CKM_SHA256_HMAC, NULL, 0 };
    if (expect(make_secret(hmac_key, sizeof hmac_key, &dm_only, &kd), CKR_OK,
               "C_CreateObject HMAC key with CKA_ALLOWED_MECHANISMS {CKM_DMSC_SHA256_HMAC}")) {
        ol = sizeof out;
        expect(sign_m(dm_mech(&mt, CKM_DMSC_SHA256_HMAC, NO_PARAM, NULL), kd, &xml, out, &ol), CKR_OK,
               "CKM_DMSC_SHA256_HMAC with it");
        expect(p11->C_SignInit(sess, &plain, kd), CKR_MECHANISM_INVALID, "CKM_SHA256_HMAC with it");
        destroy(kd);
    }
    if (expect(make_secret(hmac_key, sizeof hmac_key, &plain_only, &kp), CKR_OK,
               "C_CreateObject HMAC key with CKA_ALLOWED_MECHANISMS {CKM_SHA256_HMAC}")) {
        expect(p11->C_SignInit(sess, dm_mech(&mt, CKM_DMSC_SHA256_HMAC, NO_PARAM, NULL), kp), CKR_MECHANISM_INVALID,
               "CKM_DMSC_SHA256_HMAC with it");
        ol = sizeof out;
        expect(sign_m(&plain, kp, &xml, out, &ol), CKR_OK, "CKM_SHA256_HMAC with it");
        destroy(kp);
    }
    end_ops();
    buf_free(&xml);
}

/* ------------------------------------------------------------ sniff */

/* One-shot and byte-by-byte CKM_DMSC_SHA256 of IN agree (rv and digest). */
static void same_both_ways(const char *what, const buf_t *in, size_t chunk)
{
    mech_t mt;
    unsigned char a[64], b[64];
    CK_ULONG al = sizeof a, bl = sizeof b;
    CK_RV ra = digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), in, a, &al);
    end_ops();
    CK_RV rb = digest_chunks(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), in, chunk, b, &bl);
    end_ops();
    check(ra == rb && (ra != CKR_OK || (al == bl && memcmp(a, b, al) == 0)),
          "%s: one-shot and in %zu-byte updates agree (%s %s / %s %s)", what, chunk, rv_name(ra),
          ra == CKR_OK ? hex(a, 8) : "", rv_name(rb), rb == CKR_OK ? hex(b, 8) : "");
}

static void test_sniff(void)
{
    buf_t compact = vec("replace.compact.xml"), c14n = vec("replace.c14n");
    mech_t mt;
    unsigned char got[64], want[32];
    CK_ULONG gl;

    section("sniff: what is XML, WBXML or opaque");
    {
        buf_t bom = buf_cat3("\xef\xbb\xbf", 3, compact.p, compact.n, "", 0);
        unit_digest("replace.compact.xml after a UTF-8 byte-order mark", &bom, NO_PARAM, NULL, &c14n, "replace.c14n");
        same_both_ways("a BOM and replace.compact.xml", &bom, 1);
        buf_free(&bom);
        buf_t blank = buf_cat3(" \t\r\n\n  ", 7, compact.p, compact.n, "", 0);
        unit_digest("replace.compact.xml after blanks", &blank, NO_PARAM, NULL, &c14n, "replace.c14n");
        same_both_ways("blanks and replace.compact.xml", &blank, 1);
        buf_free(&blank);
    }
    /* Empty input is opaque: SHA-256 of nothing, one-shot and multi-part. */
    sha256("", 0, want);
    gl = sizeof got;
    buf_t empty = { NULL, 0 };
    if (expect(digest_m(dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL), &empty, got, &gl), CKR_OK,
               "C_Digest of empty input"))
        same_bytes(got, gl, want, 32, "CKM_DMSC_SHA256 of empty input = SHA-256 of nothing");
    expect(p11->C_DigestInit(sess, dm_mech(&mt, CKM_DMSC_SHA256, NO_PARAM, NULL)), CKR_OK, "C_DigestInit");
    gl = sizeof got;
    if (expect(p11->C_DigestFinal(sess, got, &gl), CKR_OK, "C_DigestFinal with no update"))
        same_bytes(got, gl, want, 32, "= SHA-256 of nothing");
    {
        unsigned char sig[512], ref[512];
        CK_ULONG sl = sizeof sig, rl = sizeof ref;
        CK_MECHANISM plain = { CKM_SHA256_RSA_PKCS, NULL, 0 };
        CK_RV rv = sign_m(dm_mech(&mt, CKM_DMSC_SHA256_RSA_PKCS, NO_PARAM, NULL), sigs[S_RSA].priv, &empty, sig, &sl);
        if (expect(rv, CKR_OK, "CKM_DMSC_SHA256_RSA_PKCS of empty input") &&
            expect(sign_m(&plain, sigs[S_RSA].priv, &empty, ref, &rl), CKR_OK, "CKM_SHA256_RSA_PKCS of empty input"))
            same_bytes(sig, sl, ref, rl, "both signatures of empty input are the same");
        end_ops();
    }
    /* Odd prefixes: whatever they are taken for, both ways agree. */
    static const struct {
        const char *what;
        const char *bytes;
        size_t n;
    } odd[] = {
        { "one byte 0x03 (a WBXML version)", "\x03", 1 },
        { "a WBXML 1.3 header with an unknown public id", "\x03\x01\x6a\x00\x45", 5 },
        { "a WBXML header of SyncML 1.2 and nothing", "\x03\xa4\x01\x6a\x00", 5 },
        { "'<' alone", "<", 1 },
        { "a lone BOM", "\xef\xbb\xbf", 3 },
        { "a blank then opaque bytes", " DMFW", 5 },
    };
    for (size_t i = 0; i < N_ELEMENTS(odd); i++) {
        buf_t b = buf_of(odd[i].bytes, odd[i].n);
        same_both_ways(odd[i].what, &b, 1);
        buf_free(&b);
    }
    /* Blanks longer than the sniff looks at, then a message. */
    {
        size_t nb = 70 * 1024;
        buf_t b = { xmalloc(nb + compact.n), nb + compact.n };
        memset(b.p, ' ', nb);
        memcpy(b.p + nb, compact.p, compact.n);
        same_both_ways("70 KiB of blanks and replace.compact.xml", &b, 1000);
        same_both_ways("70 KiB of blanks and replace.compact.xml", &b, 65536 + 32);
        buf_free(&b);
    }
    /* A WBXML message after a string table as big as the sniff takes. */
    buf_free(&compact);
    buf_free(&c14n);
}

/* ------------------------------------------------------------ interop */

/* A BIGNUM parameter of pk, big-endian, at least pad bytes. */
static unsigned char *bn_param(EVP_PKEY *pk, const char *name, size_t pad, CK_ULONG *len)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        return NULL;
    size_t n = (size_t)BN_num_bytes(bn);
    if (n < pad)
        n = pad;
    unsigned char *p = xmalloc(n);
    BN_bn2binpad(bn, p, (int)n);
    BN_clear_free(bn);
    *len = (CK_ULONG)n;
    return p;
}

/* An OpenSSL key pair as session objects: kind 0 RSA, 1 P-256, 2 P-384,
 * 3 Ed25519. */
static CK_RV import_pkey(EVP_PKEY *pk, int kind, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    static CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
    static const char *rsa_names[8] = {
        OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    static const CK_ATTRIBUTE_TYPE rsa_types[8] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
    };
    tmpl_t tp = { 0 }, tq = { 0 };
    unsigned char *parts[8] = { 0 }, point[200], ed_point[34], raw[32];
    CK_ULONG lens[8] = { 0 };
    CK_RV rv = CKR_GENERAL_ERROR;
    size_t plen = 0, rl = sizeof raw;

    *pub = *priv = CK_INVALID_HANDLE;
    tset(&tq, CKA_CLASS, &cpriv, sizeof cpriv);
    tbool(&tq, CKA_TOKEN, false);
    tbool(&tq, CKA_PRIVATE, true);
    tbool(&tq, CKA_SIGN, true);
    tset(&tp, CKA_CLASS, &cpub, sizeof cpub);
    tbool(&tp, CKA_TOKEN, false);
    tbool(&tp, CKA_VERIFY, true);
    if (kind == 0) {
        for (int i = 0; i < 8; i++) {
            if ((parts[i] = bn_param(pk, rsa_names[i], 0, &lens[i])) == NULL)
                goto out;
            tset(&tq, rsa_types[i], parts[i], lens[i]);
        }
        tulong(&tq, CKA_KEY_TYPE, CKK_RSA);
        tulong(&tp, CKA_KEY_TYPE, CKK_RSA);
        tset(&tp, CKA_MODULUS, parts[0], lens[0]);
        tset(&tp, CKA_PUBLIC_EXPONENT, parts[1], lens[1]);
    } else if (kind == 3) {
        plen = 32;
        if (EVP_PKEY_get_raw_private_key(pk, raw, &rl) != 1 ||
            EVP_PKEY_get_raw_public_key(pk, ed_point + 2, &plen) != 1 || plen != 32)
            goto out;
        ed_point[0] = 0x04;
        ed_point[1] = 32;
        tulong(&tq, CKA_KEY_TYPE, CKK_EC_EDWARDS);
        tulong(&tp, CKA_KEY_TYPE, CKK_EC_EDWARDS);
        tset(&tq, CKA_EC_PARAMS, oid_ed25519, sizeof oid_ed25519);
        tset(&tp, CKA_EC_PARAMS, oid_ed25519, sizeof oid_ed25519);
        tset(&tq, CKA_VALUE, raw, 32);
        tset(&tp, CKA_EC_POINT, ed_point, sizeof ed_point);
    } else {
        const CK_BYTE *oid = kind == 1 ? oid_p256 : oid_p384;
        size_t oid_len = kind == 1 ? sizeof oid_p256 : sizeof oid_p384, flen = kind == 1 ? 32 : 48;
        if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point + 3, sizeof point - 3, &plen) != 1 ||
            plen != 2 * flen + 1)
            goto out;
        /* DER OCTET STRING around the point (65 or 97 bytes: short form). */
        point[1] = 0x04;
        point[2] = (unsigned char)plen;
        if ((parts[0] = bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, flen, &lens[0])) == NULL)
            goto out;
        tulong(&tq, CKA_KEY_TYPE, CKK_EC);
        tulong(&tp, CKA_KEY_TYPE, CKK_EC);
        tset(&tq, CKA_EC_PARAMS, oid, (CK_ULONG)oid_len);
        tset(&tp, CKA_EC_PARAMS, oid, (CK_ULONG)oid_len);
        tset(&tq, CKA_VALUE, parts[0], lens[0]);
        tset(&tp, CKA_EC_POINT, point + 1, (CK_ULONG)plen + 2);
    }
    rv = p11->C_CreateObject(sess, tq.a, tq.n, priv);
    if (rv == CKR_OK)
        rv = p11->C_CreateObject(sess, tp.a, tp.n, pub);
out:
    for (int i = 0; i < 8; i++) {
        if (parts[i])
            OPENSSL_cleanse(parts[i], lens[i]);
        free(parts[i]);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return rv;
}

/* OpenSSL signs data (r||s of 2*flen bytes for ECDSA); pss_salt < 0: not
 * PSS; mgf1: the MGF1 digest for PSS. */
static bool ossl_sign(EVP_PKEY *pk, const char *md, int pss_salt, const char *mgf1, size_t flen,
                      const unsigned char *data, size_t len, unsigned char *sig, size_t *sig_len)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[600];
    size_t dl = sizeof der;
    bool ok = mctx && EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, pk, NULL) == 1;
    if (ok && pss_salt >= 0)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, mgf1, NULL) == 1;
    ok = ok && EVP_DigestSign(mctx, der, &dl, data, len) == 1;
    EVP_MD_CTX_free(mctx);
    if (!ok)
        return false;
    if (flen == 0) {
        memcpy(sig, der, dl);
        *sig_len = dl;
        return true;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    const BIGNUM *r, *s;
    if (es == NULL)
        return false;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, (int)flen) == (int)flen && BN_bn2binpad(s, sig + flen, (int)flen) == (int)flen;
    ECDSA_SIG_free(es);
    *sig_len = 2 * flen;
    return ok;
}

/* OpenSSL signs replace.c14n this way; the token's DM mechanism m must
 * answer want. */
typedef struct {
    CK_MECHANISM_TYPE m;
    const char *what, *md, *mgf1;
    int salt;   /* PSS salt; -1: not PSS */
    size_t flen; /* ECDSA: bytes of r and s; 0: not ECDSA */
    CK_RV want;
} icase_t;

static const icase_t icases[4][6] = {
    { /* RSA-2048 */
      { CKM_DMSC_SHA256_RSA_PKCS, "PKCS#1 v1.5 SHA-256", "SHA256", NULL, -1, 0, CKR_OK },
      { CKM_DMSC_SHA256_RSA_PKCS_PSS, "PSS SHA-256, MGF1-SHA-256, salt 32", "SHA256", "SHA256", 32, 0, CKR_OK },
      { CKM_DMSC_SHA256_RSA_PKCS_PSS, "PSS SHA-256, MGF1-SHA-256, salt 20", "SHA256", "SHA256", 20, 0,
        CKR_SIGNATURE_INVALID },
      { CKM_DMSC_SHA256_RSA_PKCS_PSS, "PSS SHA-256, MGF1-SHA-1, salt 32", "SHA256", "SHA1", 32, 0,
        CKR_SIGNATURE_INVALID },
      { CKM_DMSC_SHA256_RSA_PKCS, "PKCS#1 v1.5 SHA-384", "SHA384", NULL, -1, 0, CKR_SIGNATURE_INVALID } },
    { /* P-256 */
      { CKM_DMSC_ECDSA_SHA256, "ECDSA SHA-256", "SHA256", NULL, -1, 32, CKR_OK },
      { CKM_DMSC_ECDSA_SHA384, "ECDSA SHA-384", "SHA384", NULL, -1, 32, CKR_OK },
      { CKM_DMSC_ECDSA_SHA384, "ECDSA SHA-256 checked as SHA-384", "SHA256", NULL, -1, 32,
        CKR_SIGNATURE_INVALID } },
    { /* P-384 */
      { CKM_DMSC_ECDSA_SHA384, "ECDSA SHA-384", "SHA384", NULL, -1, 48, CKR_OK },
      { CKM_DMSC_ECDSA_SHA256, "ECDSA SHA-256", "SHA256", NULL, -1, 48, CKR_OK } },
    { /* Ed25519 */
      { CKM_DMSC_EDDSA, "Ed25519", NULL, NULL, -1, 0, CKR_OK } },
};

static void test_interop(void)
{
    static const struct {
        const char *name, *type, *group;
        int kind;
    } keys[] = { { "RSA-2048", "RSA", NULL, 0 }, { "EC P-256", "EC", "P-256", 1 },
                 { "EC P-384", "EC", "P-384", 2 }, { "Ed25519", "ED25519", NULL, 3 } };
    buf_t c14n = vec("replace.c14n"), wbxml = vec("replace.wbxml"), xml = vec("replace.latin1.xml");
    buf_t body = vec("replace.syncbody.c14n");
    mech_t mt;

    section("interop: OpenSSL's signatures over the canonical form verify on the token");
    for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
        EVP_PKEY *pk = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, keys[i].type, NULL);
        if (ctx && EVP_PKEY_keygen_init(ctx) == 1) {
            if (keys[i].kind == 0)
                EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
            else if (keys[i].group)
                EVP_PKEY_CTX_set_group_name(ctx, keys[i].group);
            EVP_PKEY_generate(ctx, &pk);
        }
        EVP_PKEY_CTX_free(ctx);
        CK_OBJECT_HANDLE pub, priv;
        if (!check(pk != NULL, "OpenSSL makes an %s key", keys[i].name))
            continue;
        if (!expect(import_pkey(pk, keys[i].kind, &pub, &priv), CKR_OK, "C_CreateObject the %s key pair (session)",
                    keys[i].name)) {
            EVP_PKEY_free(pk);
            continue;
        }
        unsigned char sig[600];
        size_t sl;
        const icase_t *cases = icases[keys[i].kind];
        size_t nc = 0;
        while (nc < N_ELEMENTS(icases[0]) && cases[nc].what != NULL)
            nc++;
        for (size_t c = 0; c < nc; c++) {
            if (!check(ossl_sign(pk, cases[c].md, cases[c].salt, cases[c].mgf1, cases[c].flen, c14n.p, c14n.n, sig,
                                 &sl),
                       "OpenSSL signs replace.c14n with %s (%s)", keys[i].name, cases[c].what))
                continue;
            expect(verify_m(dm_mech(&mt, cases[c].m, NO_PARAM, NULL), pub, &wbxml, sig, (CK_ULONG)sl), cases[c].want,
                   "%s: OpenSSL's %s over replace.c14n, C_Verify 0x%lx over replace.wbxml", keys[i].name,
                   cases[c].what, (unsigned long)cases[c].m);
            expect(verify_m(dm_mech(&mt, cases[c].m, NO_PARAM, NULL), pub, &xml, sig, (CK_ULONG)sl), cases[c].want,
                   "%s: the same over replace.latin1.xml", keys[i].name);
        }
        /* A unit: OpenSSL over replace.syncbody.c14n. */
        if (check(ossl_sign(pk, cases[0].md, cases[0].salt, cases[0].mgf1, cases[0].flen, body.p, body.n,
                            sig, &sl),
                  "OpenSSL signs replace.syncbody.c14n with %s", keys[i].name)) {
            expect(verify_m(dm_mech(&mt, cases[0].m, CKD_DMSC_UNIT_SYNCBODY, NULL), pub, &wbxml, sig, (CK_ULONG)sl),
                   CKR_OK, "%s: C_Verify 0x%lx, unit SYNCBODY, over replace.wbxml", keys[i].name,
                   (unsigned long)cases[0].m);
            expect(verify_m(dm_mech(&mt, cases[0].m, NO_PARAM, NULL), pub, &wbxml, sig, (CK_ULONG)sl),
                   CKR_SIGNATURE_INVALID, "%s: the SyncBody's signature is not the message's", keys[i].name);
        }
        /* The token's own signature with the imported key, OpenSSL checks. */
        unsigned char ts[600];
        CK_ULONG tl = sizeof ts;
        static const alg_t algs[] = { ALG_RSA_PKCS1, ALG_ECDSA, ALG_ECDSA, ALG_ED25519 };
        if (expect(sign_m(dm_mech(&mt, cases[0].m, NO_PARAM, NULL), priv, &xml, ts, &tl), CKR_OK,
                   "%s: C_Sign 0x%lx over replace.latin1.xml with the imported key", keys[i].name,
                   (unsigned long)cases[0].m)) {
            check(ossl_check(algs[keys[i].kind], pk, cases[0].md, c14n.p, c14n.n, ts, tl),
                  "%s: OpenSSL verifies it over replace.c14n", keys[i].name);
            /* RSA PKCS#1 v1.5 and Ed25519 are deterministic: the very bytes. */
            if ((keys[i].kind == 0 || keys[i].kind == 3) &&
                ossl_sign(pk, cases[0].md, -1, NULL, 0, c14n.p, c14n.n, sig, &sl))
                same_bytes(ts, tl, sig, sl, "%s: and equals OpenSSL's signature over replace.c14n", keys[i].name);
        }
        destroy(pub);
        destroy(priv);
        EVP_PKEY_free(pk);
    }
    buf_free(&c14n);
    buf_free(&wbxml);
    buf_free(&xml);
    buf_free(&body);
}

/* ------------------------------------------------------------ setup */

static void setup_keys(void)
{
    section("setup: session keys");
    CK_OBJECT_HANDLE pub, priv;
    static const int kinds[] = { 0, 1, 2, 3 };
    static const int who[][2] = { { S_RSA, S_PSS }, { S_EC256, -1 }, { S_EC384, -1 }, { S_ED, -1 } };
    static const char *names[] = { "RSA-2048", "EC P-256", "EC P-384", "Ed25519" };
    for (size_t i = 0; i < N_ELEMENTS(kinds); i++) {
        CK_RV rv = gen_pair(kinds[i], &pub, &priv);
        if (!expect(rv, CKR_OK, "C_GenerateKeyPair %s (session objects)", names[i]))
            die("cannot go on without the key", rv);
        EVP_PKEY *pk = token_pub(pub, kinds[i]);
        if (!check(pk != NULL, "%s public key read back for OpenSSL", names[i]))
            die("cannot go on without the public key", CKR_GENERAL_ERROR);
        for (int j = 0; j < 2; j++) {
            if (who[i][j] < 0)
                continue;
            sigs[who[i][j]].pub = pub;
            sigs[who[i][j]].priv = priv;
            if (j == 0)
                sigs[who[i][j]].pk = pk;
            else {
                EVP_PKEY_up_ref(pk);
                sigs[who[i][j]].pk = pk;
            }
        }
    }
    CK_OBJECT_HANDLE k;
    CK_RV rv = make_secret(hmac_key, sizeof hmac_key, NULL, &k);
    if (!expect(rv, CKR_OK, "C_CreateObject generic secret (32 known bytes)"))
        die("cannot go on without the HMAC key", rv);
    sigs[S_HMAC].priv = sigs[S_HMAC].pub = k;
}

static void teardown_keys(void)
{
    for (int i = 0; i < N_SIGS; i++) {
        EVP_PKEY_free(sigs[i].pk);
        sigs[i].pk = NULL;
        if (i == S_PSS)
            continue; /* shares the RSA key */
        destroy(sigs[i].priv);
        if (sigs[i].pub != sigs[i].priv)
            destroy(sigs[i].pub);
    }
}

/* ------------------------------------------------------------ tool mode */

static void tool_fail(const char *fn, CK_RV rv)
{
    printf("error: PKCS11 function %s failed: rv = %s (0x%lx)\n", fn, rv_name(rv), (unsigned long)rv);
    exit(1);
}

static CK_OBJECT_HANDLE find_key(const unsigned char *id, size_t id_len, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, (void *)id, (CK_ULONG)id_len } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    if (p11->C_FindObjectsInit(sess, t, 2) != CKR_OK)
        return CK_INVALID_HANDLE;
    if (p11->C_FindObjects(sess, &h, 1, &n) != CKR_OK || n == 0)
        h = CK_INVALID_HANDLE;
    p11->C_FindObjectsFinal(sess);
    return h;
}

static int tool(int argc, char **argv)
{
    /* sign|verify TOKEN PIN MECH HEXID IN OUT|SIG */
    if (argc != 8) {
        fprintf(stderr, "usage: p11-dm-driver sign|verify TOKENLABEL USERPIN MECH HEXID IN OUT|SIG\n");
        return 2;
    }
    bool sign = strcmp(argv[1], "sign") == 0;
    CK_MECHANISM m = { (CK_MECHANISM_TYPE)strtoul(argv[4], NULL, 0), NULL, 0 };
    unsigned char id[64];
    size_t id_len = strlen(argv[5]) / 2;
    if (id_len == 0 || id_len > sizeof id || strlen(argv[5]) % 2) {
        fprintf(stderr, "p11-dm-driver: bad HEXID '%s'\n", argv[5]);
        return 2;
    }
    for (size_t i = 0; i < id_len; i++) {
        unsigned int v;
        if (sscanf(argv[5] + 2 * i, "%2x", &v) != 1)
            return 2;
        id[i] = (unsigned char)v;
    }
    buf_t in = read_path(argv[6]);
    open_module();
    open_token(argv[2], argv[3]);
    CK_OBJECT_HANDLE k = find_key(id, id_len, sign ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY);
    if (k == CK_INVALID_HANDLE)
        k = find_key(id, id_len, CKO_SECRET_KEY);
    if (k == CK_INVALID_HANDLE) {
        printf("error: no key with ID %s\n", argv[5]);
        return 1;
    }
    const size_t chunk = 65536;
    CK_RV rv;
    if (sign) {
        unsigned char sig[1024];
        CK_ULONG sl = sizeof sig;
        if ((rv = p11->C_SignInit(sess, &m, k)) != CKR_OK)
            tool_fail("C_SignInit", rv);
        if (in.n < chunk) {
            if ((rv = p11->C_Sign(sess, in.p, (CK_ULONG)in.n, sig, &sl)) != CKR_OK)
                tool_fail("C_Sign", rv);
        } else {
            for (size_t at = 0; at < in.n; at += chunk)
                if ((rv = p11->C_SignUpdate(sess, in.p + at, (CK_ULONG)(in.n - at < chunk ? in.n - at : chunk))) !=
                    CKR_OK)
                    tool_fail("C_SignUpdate", rv);
            if ((rv = p11->C_SignFinal(sess, sig, &sl)) != CKR_OK)
                tool_fail("C_SignFinal", rv);
        }
        FILE *o = fopen(argv[7], "wb");
        if (o == NULL || fwrite(sig, 1, sl, o) != sl || fclose(o) != 0) {
            fprintf(stderr, "p11-dm-driver: cannot write %s\n", argv[7]);
            return 2;
        }
        printf("Signature written (%lu bytes)\n", (unsigned long)sl);
    } else {
        buf_t sig = read_path(argv[7]);
        if ((rv = p11->C_VerifyInit(sess, &m, k)) != CKR_OK)
            tool_fail("C_VerifyInit", rv);
        if (in.n < chunk) {
            rv = p11->C_Verify(sess, in.p, (CK_ULONG)in.n, sig.p, (CK_ULONG)sig.n);
        } else {
            for (size_t at = 0; at < in.n; at += chunk)
                if ((rv = p11->C_VerifyUpdate(sess, in.p + at, (CK_ULONG)(in.n - at < chunk ? in.n - at : chunk))) !=
                    CKR_OK)
                    tool_fail("C_VerifyUpdate", rv);
            rv = p11->C_VerifyFinal(sess, sig.p, (CK_ULONG)sig.n);
        }
        if (rv == CKR_OK)
            printf("Signature is valid\n");
        else if (rv == CKR_SIGNATURE_INVALID)
            printf("Invalid signature\n");
        else
            tool_fail(in.n < chunk ? "C_Verify" : "C_VerifyFinal", rv);
        buf_free(&sig);
    }
    buf_free(&in);
    p11->C_Logout(sess);
    p11->C_CloseSession(sess);
    p11->C_Finalize(NULL);
    return 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && (strcmp(argv[1], "sign") == 0 || strcmp(argv[1], "verify") == 0))
        return tool(argc, argv);
    if (argc != 5 || strcmp(argv[1], "rules") != 0) {
        fprintf(stderr, "usage: p11-dm-driver rules TOKENLABEL USERPIN VECTORDIR (with DMSC_MODULE set)\n"
                        "       p11-dm-driver sign|verify TOKENLABEL USERPIN MECH HEXID IN OUT|SIG\n");
        return 2;
    }
    vector_dir = argv[4];
    open_module();
    open_token(argv[2], argv[3]);

    setup_keys();
    test_mechanisms();
    test_units();
    test_params();
    test_multipart();
    test_buffers();
    test_limit();
    test_digestkey();
    test_hmac();
    test_keys();
    test_sniff();
    test_interop();
    teardown_keys();

    expect(p11->C_Logout(sess), CKR_OK, "C_Logout");
    expect(p11->C_CloseSession(sess), CKR_OK, "C_CloseSession");
    expect(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
    return checks_done();
}
