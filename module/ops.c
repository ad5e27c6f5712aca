/* Sign, verify, encrypt, decrypt and digest on OpenSSL 3. */
#include "ops.h"

#include <dmsc/pkcs11-dm.h>

#include "canon.h"
#include <libxml/parser.h>
#include "dmsec-op.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* Input collected for mechanisms that need it all at once (raw RSA and
 * ECDSA, EdDSA, GCM decryption). A card would hold less; a DM message or
 * a key to wrap fits with room. */
#define MAX_COLLECT (64ul * 1024 * 1024)

struct dmsc_op {
    dmsc_op_kind kind;
    const dmsc_mech *m;
    OSSL_LIB_CTX *libctx;
    EVP_PKEY *pkey;
    unsigned char *secret;
    size_t secret_len;
    bool multi;
    bool need_login;
    uint64_t key_serial;

    EVP_MD_CTX *md;          /* digest, hash-and-sign, EdDSA */
    EVP_PKEY_CTX *pctx;      /* raw sign/verify, RSA encrypt/decrypt */
    EVP_MAC_CTX *mac;        /* HMAC */
    EVP_CIPHER_CTX *cipher;  /* AES */
    bool collect;            /* input is gathered, then processed at the end */
    unsigned char *buf;
    size_t len, cap;

    size_t out_len;          /* fixed output length (signatures, digests) */
    size_t tag_len;          /* AES-GCM */
    size_t fed;              /* AES-CBC: input bytes taken so far */
    size_t ec_bytes;         /* ECDSA: bytes of r and of s */
    /* RSA PSS / OAEP settings, applied to each new EVP_PKEY_CTX */
    const char *pss_md;
    const char *mgf_md;
    int salt_len;
    unsigned char *label;
    size_t label_len;

    /* DM mechanisms: input goes through the canonicaliser, whose output
     * (the canonical form) is what the algorithm above takes. */
    dmsc_canon_stream *canon;
    CK_RV canon_rv;          /* why the algorithm refused canonical bytes */
    bool canon_done;

    dmsc_dmsec_op *dmsec;    /* DM session security, bootstrap MAC */

    dmsc_card_key *card;     /* the card signs: md hashes, or buf collects, its input */
};

static CK_RV init_canon(dmsc_op *op, const CK_MECHANISM *mech);

static void *param(const CK_MECHANISM *mech, size_t size)
{
    if (mech->pParameter == NULL || mech->ulParameterLen != size)
        return NULL;
    return mech->pParameter;
}

static bool no_param(const CK_MECHANISM *mech)
{
    return mech->pParameter == NULL || mech->ulParameterLen == 0;
}

static CK_RV collect(dmsc_op *op, const unsigned char *in, CK_ULONG len)
{
    if (len == 0)
        return CKR_OK;
    if (in == NULL)
        return CKR_ARGUMENTS_BAD;
    if (len > MAX_COLLECT - op->len)
        return CKR_DATA_LEN_RANGE;
    if (op->len + len > op->cap) {
        size_t cap = op->cap ? op->cap : 256;
        while (cap < op->len + len)
            cap *= 2;
        unsigned char *b = OPENSSL_clear_realloc(op->buf, op->cap, cap);
        if (b == NULL)
            return CKR_HOST_MEMORY;
        op->buf = b;
        op->cap = cap;
    }
    memcpy(op->buf + op->len, in, len);
    op->len += len;
    return CKR_OK;
}

void dmsc_op_free(dmsc_op *op)
{
    if (op == NULL)
        return;
    EVP_PKEY_free(op->pkey);
    if (op->secret) {
        dmsc_wipe(op->secret, op->secret_len);
        free(op->secret);
    }
    EVP_MD_CTX_free(op->md);
    EVP_PKEY_CTX_free(op->pctx);
    EVP_MAC_CTX_free(op->mac);
    EVP_CIPHER_CTX_free(op->cipher);
    if (op->buf)
        OPENSSL_clear_free(op->buf, op->cap);
    OPENSSL_free(op->label);
    dmsc_canon_stream_free(op->canon);
    dmsc_dmsec_op_free(op->dmsec);
    dmsc_card_key_free(op->card);
    free(op);
}

void dmsc_op_set_key_serial(dmsc_op *op, uint64_t serial)
{
    op->key_serial = serial;
}

bool dmsc_op_reusable(const dmsc_op *op, const dmsc_mech *m, const CK_MECHANISM *mech, uint64_t serial)
{
    return op != NULL && op->mac != NULL && op->canon == NULL && op->m == m &&
           op->key_serial == serial && serial != 0 && no_param(mech);
}

bool dmsc_op_can_wait(const dmsc_op *op)
{
    return op->mac != NULL && op->canon == NULL && op->key_serial != 0;
}

CK_RV dmsc_op_restart(dmsc_op *op)
{
    /* A NULL key re-initialises HMAC with the key it already holds. */
    if (EVP_MAC_init(op->mac, NULL, 0, NULL) != 1)
        return CKR_GENERAL_ERROR;
    op->multi = false;
    op->need_login = false;
    op->len = 0;
    return CKR_OK;
}

const dmsc_mech *dmsc_op_mech(const dmsc_op *op)
{
    return op->m;
}

bool dmsc_op_is_multi(const dmsc_op *op)
{
    return op->multi;
}

void dmsc_op_require_login(dmsc_op *op)
{
    op->need_login = true;
}

bool dmsc_op_needs_login(const dmsc_op *op)
{
    return op->need_login;
}

void dmsc_op_logged_in(dmsc_op *op)
{
    op->need_login = false;
}

/* ---- algorithms, fetched once per library context ---- */

static const char *const md_names[] = { "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512" };
static struct {
    EVP_MD *md[DMSC_N_ELEMENTS(md_names)];
    EVP_MAC *hmac;
} algs;

void dmsc_ops_prepare(OSSL_LIB_CTX *libctx)
{
    /* Fetching takes the library context's lock: do it once, not per
     * operation. Missing algorithms stay NULL and are fetched per use. */
    for (size_t i = 0; i < DMSC_N_ELEMENTS(md_names); i++)
        algs.md[i] = EVP_MD_fetch(libctx, md_names[i], NULL);
    algs.hmac = EVP_MAC_fetch(libctx, "HMAC", NULL);
}

void dmsc_ops_release(void)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(md_names); i++)
        EVP_MD_free(algs.md[i]);
    EVP_MAC_free(algs.hmac);
    memset(&algs, 0, sizeof(algs));
}

/* The digest by name, with a reference the caller frees. */
static EVP_MD *fetch_md(OSSL_LIB_CTX *libctx, const char *name)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(md_names); i++)
        if (strcmp(md_names[i], name) == 0 && algs.md[i] != NULL) {
            EVP_MD_up_ref(algs.md[i]);
            return algs.md[i];
        }
    return EVP_MD_fetch(libctx, name, NULL);
}

/* ---- setting up ---- */

static size_t rsa_bytes(const EVP_PKEY *pkey)
{
    return (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
}

/* Apply padding and PSS/OAEP settings to a fresh EVP_PKEY_CTX. */
static int rsa_settings(dmsc_op *op, EVP_PKEY_CTX *ctx)
{
    switch (op->m->kind) {
    case MK_RSA_PKCS:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    case MK_RSA_PSS:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
               (op->m->md != NULL || EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(op->pss_md)) > 0) &&
               EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, op->mgf_md, NULL) > 0 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, op->salt_len) > 0;
    case MK_RSA_OAEP: {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, op->pss_md, NULL) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, op->mgf_md, NULL) <= 0)
            return 0;
        if (op->label_len == 0)
            return 1;
        /* OpenSSL takes ownership of the label it is given. */
        unsigned char *l = OPENSSL_memdup(op->label, op->label_len);
        if (l == NULL || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)op->label_len) <= 0) {
            OPENSSL_free(l);
            return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

static CK_RV pss_params(dmsc_op *op, const CK_MECHANISM *mech)
{
    const CK_RSA_PKCS_PSS_PARAMS *p = param(mech, sizeof(*p));
    if (p == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    op->pss_md = dmsc_mech_digest_name(p->hashAlg);
    op->mgf_md = dmsc_mgf_digest_name(p->mgf);
    if (op->pss_md == NULL || op->mgf_md == NULL || p->sLen > INT_MAX)
        return CKR_MECHANISM_PARAM_INVALID;
    /* A hash-and-sign PSS mechanism names its hash; the parameter must agree. */
    if (op->m->md != NULL && strcmp(op->m->md, op->pss_md) != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    op->salt_len = (int)p->sLen;
    return CKR_OK;
}

static CK_RV oaep_params(dmsc_op *op, const CK_MECHANISM *mech)
{
    const CK_RSA_PKCS_OAEP_PARAMS *p = param(mech, sizeof(*p));
    if (p == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    op->pss_md = dmsc_mech_digest_name(p->hashAlg);
    op->mgf_md = dmsc_mgf_digest_name(p->mgf);
    if (op->pss_md == NULL || op->mgf_md == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->source == CKZ_DATA_SPECIFIED && p->ulSourceDataLen > 0) {
        if (p->pSourceData == NULL || p->ulSourceDataLen > 65536)
            return CKR_MECHANISM_PARAM_INVALID;
        op->label = OPENSSL_memdup(p->pSourceData, p->ulSourceDataLen);
        if (op->label == NULL)
            return CKR_HOST_MEMORY;
        op->label_len = p->ulSourceDataLen;
    } else if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

static const char *aes_name(dmsc_mech_kind kind, size_t key_len)
{
    static const char *gcm[] = { "AES-128-GCM", "AES-192-GCM", "AES-256-GCM" };
    static const char *cbc[] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
    static const char *wrap[] = { "AES-128-WRAP-PAD", "AES-192-WRAP-PAD", "AES-256-WRAP-PAD" };
    int i = key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
    if (i < 0)
        return NULL;
    return kind == MK_AES_GCM ? gcm[i] : kind == MK_AES_CBC_PAD ? cbc[i] : wrap[i];
}

static CK_RV init_aes(dmsc_op *op, const CK_MECHANISM *mech)
{
    const char *name = aes_name(op->m->kind, op->secret_len);
    if (name == NULL)
        return CKR_KEY_SIZE_RANGE;
    EVP_CIPHER *c = EVP_CIPHER_fetch(op->libctx, name, NULL);
    op->cipher = EVP_CIPHER_CTX_new();
    if (c == NULL || op->cipher == NULL) {
        EVP_CIPHER_free(c);
        return CKR_HOST_MEMORY;
    }
    int enc = op->kind == DMSC_OP_ENCRYPT;
    CK_RV rv = CKR_OK;
    if (op->m->kind == MK_AES_GCM) {
        const CK_GCM_PARAMS *p = param(mech, sizeof(*p));
        if (p == NULL || p->pIv == NULL || p->ulIvLen == 0 || p->ulIvLen > 256 ||
            p->ulTagBits > 128 || p->ulTagBits < 32 || p->ulTagBits % 8 != 0 ||
            (p->pAAD == NULL && p->ulAADLen > 0) || p->ulAADLen > INT_MAX) {
            rv = CKR_MECHANISM_PARAM_INVALID;
        } else {
            size_t ivlen = p->ulIvLen;
            OSSL_PARAM ps[] = { OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
                                OSSL_PARAM_construct_end() };
            int outl;
            op->tag_len = p->ulTagBits / 8;
            if (EVP_CipherInit_ex2(op->cipher, c, NULL, NULL, enc, ps) != 1 ||
                EVP_CipherInit_ex2(op->cipher, NULL, op->secret, p->pIv, enc, NULL) != 1 ||
                (p->ulAADLen > 0 &&
                 EVP_CipherUpdate(op->cipher, NULL, &outl, p->pAAD, (int)p->ulAADLen) != 1))
                rv = CKR_MECHANISM_PARAM_INVALID;
            op->collect = !enc; /* the tag comes last: nothing is released before it is checked */
        }
    } else if (op->m->kind == MK_AES_CBC_PAD) {
        if (mech->pParameter == NULL || mech->ulParameterLen != 16)
            rv = CKR_MECHANISM_PARAM_INVALID;
        else if (EVP_CipherInit_ex2(op->cipher, c, op->secret, mech->pParameter, enc, NULL) != 1)
            rv = CKR_GENERAL_ERROR;
    } else {
        /* RFC 5649 key wrap with padding: the default IV unless one is given. */
        if (!no_param(mech) && (mech->pParameter == NULL || mech->ulParameterLen != 4))
            rv = CKR_MECHANISM_PARAM_INVALID;
        else if (EVP_CipherInit_ex2(op->cipher, c, op->secret, no_param(mech) ? NULL : mech->pParameter,
                                    enc, NULL) != 1)
            rv = CKR_GENERAL_ERROR;
        op->collect = true;
    }
    EVP_CIPHER_free(c);
    return rv;
}

/* A fresh EVP_PKEY_CTX for a raw sign/verify/encrypt/decrypt. */
static CK_RV new_pctx(dmsc_op *op, EVP_PKEY_CTX **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(op->libctx, op->pkey, NULL);
    int ok = ctx != NULL;
    if (ok) {
        switch (op->kind) {
        case DMSC_OP_SIGN: ok = EVP_PKEY_sign_init(ctx) == 1; break;
        case DMSC_OP_VERIFY: ok = EVP_PKEY_verify_init(ctx) == 1; break;
        case DMSC_OP_ENCRYPT: ok = EVP_PKEY_encrypt_init(ctx) == 1; break;
        case DMSC_OP_DECRYPT: ok = EVP_PKEY_decrypt_init(ctx) == 1; break;
        default: ok = 0;
        }
    }
    if (ok)
        ok = rsa_settings(op, ctx);
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        return CKR_GENERAL_ERROR;
    }
    *out = ctx;
    return CKR_OK;
}

static CK_RV init_asym(dmsc_op *op, const CK_MECHANISM *mech)
{
    CK_RV rv = CKR_OK;
    const dmsc_mech *m = op->m;
    if (m->kind == MK_RSA_PSS && m->canon) {
        /* The DM PSS mechanism fixes its settings (its parameter, if any,
         * selects the DM unit): SHA-256, MGF1-SHA-256, a 32-byte salt. */
        op->pss_md = op->mgf_md = "SHA256";
        op->salt_len = 32;
    } else if (m->kind == MK_RSA_PSS)
        rv = pss_params(op, mech);
    else if (m->kind == MK_RSA_OAEP)
        rv = oaep_params(op, mech);
    else if (!no_param(mech))
        rv = CKR_MECHANISM_PARAM_INVALID;
    if (rv != CKR_OK)
        return rv;

    if (m->kind == MK_RSA_PSS) {
        /* RFC 8017 9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((modBits - 1) / 8). */
        size_t em_len = (size_t)(EVP_PKEY_get_bits(op->pkey) - 1 + 7) / 8;
        EVP_MD *md = fetch_md(op->libctx, op->pss_md);
        size_t h_len = md ? (size_t)EVP_MD_get_size(md) : 0;
        EVP_MD_free(md);
        if (h_len == 0 || em_len < h_len + (size_t)op->salt_len + 2)
            return CKR_MECHANISM_PARAM_INVALID;
    }
    if (m->kind == MK_ECDSA) {
        op->ec_bytes = (size_t)(EVP_PKEY_get_bits(op->pkey) + 7) / 8;
        op->out_len = 2 * op->ec_bytes;
    } else if (m->kind == MK_EDDSA) {
        op->out_len = 64;
    } else {
        op->out_len = rsa_bytes(op->pkey);
    }

    bool sig = op->kind == DMSC_OP_SIGN || op->kind == DMSC_OP_VERIFY;
    if (sig && (m->md != NULL || m->kind == MK_EDDSA)) {
        /* Hash-and-sign: OpenSSL hashes as the input streams in. EdDSA
         * hashes inside the algorithm, so its input is collected. */
        op->md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        EVP_MD *md = m->md ? fetch_md(op->libctx, m->md) : NULL;
        if (op->md == NULL || (m->md != NULL && md == NULL)) {
            EVP_MD_free(md);
            return CKR_HOST_MEMORY;
        }
        int ok = op->kind == DMSC_OP_SIGN ? EVP_DigestSignInit(op->md, &pctx, md, NULL, op->pkey)
                                          : EVP_DigestVerifyInit(op->md, &pctx, md, NULL, op->pkey);
        EVP_MD_free(md);
        if (ok != 1 || !rsa_settings(op, pctx))
            return CKR_GENERAL_ERROR;
        op->collect = m->kind == MK_EDDSA;
        return CKR_OK;
    }
    op->collect = true;
    return new_pctx(op, &op->pctx);
}

static CK_RV init_hmac(dmsc_op *op, const CK_MECHANISM *mech)
{
    if (!no_param(mech))
        return CKR_MECHANISM_PARAM_INVALID;
    EVP_MAC *mac = algs.hmac ? algs.hmac : EVP_MAC_fetch(op->libctx, "HMAC", NULL);
    op->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (mac != algs.hmac)
        EVP_MAC_free(mac);
    if (op->mac == NULL)
        return CKR_HOST_MEMORY;
    OSSL_PARAM ps[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)op->m->md, 0),
                        OSSL_PARAM_construct_end() };
    if (EVP_MAC_init(op->mac, op->secret, op->secret_len, ps) != 1)
        return CKR_GENERAL_ERROR;
    op->out_len = EVP_MAC_CTX_get_mac_size(op->mac);
    return CKR_OK;
}

static CK_RV init_digest(dmsc_op *op, const CK_MECHANISM *mech)
{
    if (!no_param(mech))
        return CKR_MECHANISM_PARAM_INVALID;
    EVP_MD *md = fetch_md(op->libctx, op->m->md);
    op->md = EVP_MD_CTX_new();
    int ok = md != NULL && op->md != NULL && EVP_DigestInit_ex2(op->md, md, NULL) == 1;
    if (ok)
        op->out_len = (size_t)EVP_MD_get_size(md);
    EVP_MD_free(md);
    return ok ? CKR_OK : CKR_GENERAL_ERROR;
}

/* A key the card keeps: PKCS#1 v1.5 and ECDSA signatures, raw or hashed
 * here (single- and multi-part); the card gets the DigestInfo or the hash. */
static CK_RV init_card(dmsc_op *op, const CK_MECHANISM *mech)
{
    const dmsc_mech *m = op->m;
    if (op->kind != DMSC_OP_SIGN)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (m->kind != MK_RSA_PKCS && m->kind != MK_ECDSA)
        return CKR_MECHANISM_INVALID; /* PSS, EdDSA: the card signs neither */
    if (!no_param(mech))
        return CKR_MECHANISM_PARAM_INVALID;
    size_t bytes = (dmsc_card_key_bits(op->card) + 7) / 8;
    if (m->kind == MK_ECDSA) {
        op->ec_bytes = bytes;
        op->out_len = 2 * bytes;
    } else {
        op->out_len = bytes;
    }
    if (m->md == NULL) {
        op->collect = true;
        return CKR_OK;
    }
    EVP_MD *md = fetch_md(op->libctx, m->md);
    op->md = EVP_MD_CTX_new();
    int ok = md != NULL && op->md != NULL && EVP_DigestInit_ex2(op->md, md, NULL) == 1;
    EVP_MD_free(md);
    return ok ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV dmsc_op_init(OSSL_LIB_CTX *libctx, dmsc_op_kind kind, const dmsc_mech *m,
                   const CK_MECHANISM *mech, const dmsc_op_key *key, dmsc_op **out)
{
    dmsc_op *op = calloc(1, sizeof(*op));
    if (op == NULL) {
        if (key != NULL && key->secret != NULL) {
            dmsc_wipe(key->secret, key->secret_len);
            free(key->secret);
        }
        if (key != NULL)
            dmsc_card_key_free(key->card);
        return CKR_HOST_MEMORY;
    }
    op->kind = kind;
    op->m = m;
    op->libctx = libctx;
    CK_RV rv = CKR_OK;
    if (key != NULL && key->pkey != NULL) {
        EVP_PKEY_up_ref(key->pkey);
        op->pkey = key->pkey;
    }
    if (key != NULL && key->secret != NULL) {
        op->secret = key->secret;
        op->secret_len = key->secret_len;
    }
    if (key != NULL)
        op->card = key->card;
    CK_MECHANISM plain = { mech->mechanism, NULL, 0 };
    if (m->canon) {
        /* The parameter is the canonicaliser's; the algorithm takes none. */
        rv = init_canon(op, mech);
        mech = &plain;
    }
    if (rv == CKR_OK && op->card != NULL) {
        rv = init_card(op, mech);
    } else if (rv == CKR_OK) {
        switch (m->kind) {
        case MK_DIGEST: rv = init_digest(op, mech); break;
        case MK_HMAC: rv = init_hmac(op, mech); break;
        case MK_AES_GCM:
        case MK_AES_CBC_PAD:
        case MK_AES_WRAP_PAD: rv = init_aes(op, mech); break;
        case MK_RSA_PKCS:
        case MK_RSA_PSS:
        case MK_RSA_OAEP:
        case MK_ECDSA:
        case MK_EDDSA: rv = op->pkey ? init_asym(op, mech) : CKR_KEY_TYPE_INCONSISTENT; break;
        case MK_DM_SYNCML:
        case MK_DM_BOOT_HMAC:
            rv = dmsc_dmsec_op_init(libctx, m, mech, op->secret, op->secret_len, &op->dmsec, &op->out_len);
            break;
        default: rv = CKR_MECHANISM_INVALID;
        }
    }
    if (rv != CKR_OK) {
        dmsc_op_free(op);
        return rv;
    }
    *out = op;
    return CKR_OK;
}

/* ---- ECDSA signature form: PKCS#11 wants r || s, OpenSSL speaks DER ---- */

static CK_RV ecdsa_der_to_raw(const unsigned char *der, size_t der_len, size_t n, unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL)
        return CKR_GENERAL_ERROR;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, out, (int)n) == (int)n && BN_bn2binpad(s, out + n, (int)n) == (int)n;
    ECDSA_SIG_free(sig);
    return ok ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV ecdsa_raw_to_der(const unsigned char *raw, size_t n, unsigned char **der, size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)n, NULL), *s = BN_bin2bn(raw + n, (int)n, NULL);
    int len = -1;
    *der = NULL;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;
        len = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (len <= 0)
        return CKR_HOST_MEMORY;
    *der_len = (size_t)len;
    return CKR_OK;
}

/* ---- the work ---- */

/* Input for the algorithm itself (for a DM mechanism: canonical bytes). */
static CK_RV feed_algorithm(dmsc_op *op, const unsigned char *in, CK_ULONG len)
{
    if (op->dmsec)
        return dmsc_dmsec_op_update(op->dmsec, in, len);
    if (op->collect)
        return collect(op, in, len);
    if (op->card)
        return EVP_DigestUpdate(op->md, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
    /* Digest, HMAC and hash-and-sign updates take a size_t: no bound here,
     * so a firmware package of any size streams through. */
    if (op->mac)
        return EVP_MAC_update(op->mac, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
    if (op->kind == DMSC_OP_SIGN && op->m->kind != MK_DIGEST)
        return EVP_DigestSignUpdate(op->md, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
    if (op->kind == DMSC_OP_VERIFY)
        return EVP_DigestVerifyUpdate(op->md, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
    return EVP_DigestUpdate(op->md, in, len) == 1 ? CKR_OK : CKR_GENERAL_ERROR;
}

static int canon_sink(void *ctx, const unsigned char *data, size_t len)
{
    dmsc_op *op = ctx;
    op->canon_rv = feed_algorithm(op, data, (CK_ULONG)len);
    return op->canon_rv == CKR_OK ? 0 : 1;
}

/* The PKCS#11 answer to a canonicaliser status. */
static CK_RV canon_rv(dmsc_op *op, int status, const dmsc_dm_error *err)
{
    CK_RV rv;
    switch (status) {
    case DMSC_DM_OK: return CKR_OK;
    case DMSC_DM_LIMIT: rv = CKR_DATA_LEN_RANGE; break;
    case DMSC_DM_NOMEM: rv = CKR_HOST_MEMORY; break;
    case DMSC_DM_SINK: rv = op->canon_rv; break;
    case DMSC_DM_BAD_ARGS: rv = CKR_GENERAL_ERROR; break;
    default: rv = CKR_DATA_INVALID; break; /* malformed, refused, unit not found */
    }
    if (status != DMSC_DM_SINK)
        dmsc_debug(DMSC_DEBUG_CALL, "DM message refused: %s", err->message);
    return rv;
}

static CK_RV init_canon(dmsc_op *op, const CK_MECHANISM *mech)
{
    /* Again here, not only in C_Initialize: the application may have torn
     * libxml2 down with xmlCleanupParser() meanwhile; when it is set up
     * this is a cheap check. */
    xmlInitParser();
    dmsc_canon_select sel = { DMSC_CANON_MESSAGE, NULL };
    char cmdid[65];
    if (!no_param(mech)) {
        const CK_DMSC_DM_PARAMS *p = param(mech, sizeof(*p));
        if (p == NULL)
            return CKR_MECHANISM_PARAM_INVALID;
        switch (p->unit) {
        case CKD_DMSC_UNIT_MESSAGE:
        case CKD_DMSC_UNIT_SYNCBODY:
            if (p->pCmdID != NULL || p->ulCmdIDLen != 0)
                return CKR_MECHANISM_PARAM_INVALID;
            sel.unit = p->unit == CKD_DMSC_UNIT_MESSAGE ? DMSC_CANON_MESSAGE : DMSC_CANON_SYNCBODY;
            break;
        case CKD_DMSC_UNIT_CMDID:
            if (p->pCmdID == NULL || p->ulCmdIDLen == 0 || p->ulCmdIDLen >= sizeof(cmdid) ||
                memchr(p->pCmdID, 0, p->ulCmdIDLen) != NULL)
                return CKR_MECHANISM_PARAM_INVALID;
            memcpy(cmdid, p->pCmdID, p->ulCmdIDLen);
            cmdid[p->ulCmdIDLen] = 0;
            sel.unit = DMSC_CANON_CMDID;
            sel.cmdid = cmdid;
            break;
        default:
            return CKR_MECHANISM_PARAM_INVALID;
        }
    }
    dmsc_dm_limits lim = { .max_input = CKD_DMSC_DM_MAX_MESSAGE };
    op->canon = dmsc_canon_stream_new(&lim, &sel, canon_sink, op);
    return op->canon != NULL ? CKR_OK : CKR_HOST_MEMORY;
}

/* Input as the caller gives it. */
static CK_RV feed(dmsc_op *op, const unsigned char *in, CK_ULONG len)
{
    if (len > 0 && in == NULL)
        return CKR_ARGUMENTS_BAD;
    if (op->canon == NULL)
        return feed_algorithm(op, in, len);
    dmsc_dm_error err;
    return canon_rv(op, dmsc_canon_stream_update(op->canon, in, len, &err), &err);
}

/* End of a DM mechanism's input: the held message is canonicalised into
 * the algorithm. Not before the output buffer is known to be big enough,
 * so a length query leaves the operation as it was. */
static CK_RV finish_input(dmsc_op *op)
{
    if (op->canon == NULL || op->canon_done)
        return CKR_OK;
    op->canon_done = true;
    dmsc_dm_error err;
    return canon_rv(op, dmsc_canon_stream_final(op->canon, &err), &err);
}

/* DER DigestInfo (RFC 8017 9.2) of a hash made by md; *der is OPENSSL_malloc'd. */
static CK_RV digest_info(const EVP_MD *md, const unsigned char *hash, size_t len, unsigned char **der,
                         int *der_len)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *digest = NULL;
    ASN1_OBJECT *oid = md ? OBJ_nid2obj(EVP_MD_get_type(md)) : NULL;
    *der = NULL;
    *der_len = -1;
    if (sig != NULL && oid != NULL) {
        X509_SIG_getm(sig, &alg, &digest);
        if (X509_ALGOR_set0(alg, oid, V_ASN1_NULL, NULL) == 1 &&
            ASN1_OCTET_STRING_set(digest, hash, (int)len) == 1)
            *der_len = i2d_X509_SIG(sig, der);
    }
    X509_SIG_free(sig);
    return *der_len > 0 ? CKR_OK : CKR_HOST_MEMORY;
}

/* The card's signature into out (op->out_len bytes of room). */
static CK_RV card_produce(dmsc_op *op, unsigned char *out, CK_ULONG *out_len)
{
    bool rsa = op->m->kind == MK_RSA_PKCS;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hash_len = 0;
    unsigned char *der = NULL;
    int der_len = 0;
    const unsigned char *in = op->buf;
    size_t in_len = op->len;
    CK_RV rv = CKR_OK;
    if (op->md != NULL) {
        if (EVP_DigestFinal_ex(op->md, hash, &hash_len) != 1)
            return CKR_GENERAL_ERROR;
        in = hash;
        in_len = hash_len;
        if (rsa) {
            rv = digest_info(EVP_MD_CTX_get0_md(op->md), hash, hash_len, &der, &der_len);
            in = der;
            in_len = (size_t)der_len;
        }
    } else if (rsa ? in_len + 11 > op->out_len : in_len > EVP_MAX_MD_SIZE) {
        /* PKCS#1 v1.5 padding needs 11 bytes; ECDSA takes a hash. */
        rv = CKR_DATA_LEN_RANGE;
    }
    CK_ULONG sig_len = op->out_len;
    if (rv == CKR_OK)
        rv = dmsc_card_key_sign(op->card, rsa ? CKM_RSA_PKCS : CKM_ECDSA, in, in_len, out, &sig_len);
    /* A signature is exactly the modulus long, or r || s of the curve's size. */
    if (rv == CKR_OK && sig_len != op->out_len)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK)
        *out_len = sig_len;
    dmsc_wipe(hash, sizeof(hash));
    OPENSSL_free(der);
    return rv;
}

/* The signature (or MAC, or digest) into out, which holds op->out_len. */
static CK_RV produce(dmsc_op *op, unsigned char *out, CK_ULONG *out_len)
{
    size_t len = op->out_len;
    CK_RV rv = finish_input(op);
    if (rv != CKR_OK)
        return rv;
    if (op->card)
        return card_produce(op, out, out_len);
    if (op->dmsec) {
        rv = dmsc_dmsec_op_sign(op->dmsec, out);
        *out_len = op->out_len;
        return rv;
    }
    if (op->m->kind == MK_DIGEST) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(op->md, out, &n) != 1)
            return CKR_GENERAL_ERROR;
        *out_len = n;
        return CKR_OK;
    }
    if (op->mac) {
        if (EVP_MAC_final(op->mac, out, &len, op->out_len) != 1)
            return CKR_GENERAL_ERROR;
        *out_len = len;
        return CKR_OK;
    }
    if (op->m->kind == MK_ECDSA) {
        unsigned char der[160];
        size_t der_len = sizeof(der);
        int ok = op->md ? EVP_DigestSignFinal(op->md, der, &der_len)
                        : EVP_PKEY_sign(op->pctx, der, &der_len, op->buf, op->len);
        if (ok != 1)
            return CKR_FUNCTION_FAILED;
        rv = ecdsa_der_to_raw(der, der_len, op->ec_bytes, out);
        *out_len = op->out_len;
        return rv;
    }
    int ok;
    if (op->m->kind == MK_EDDSA)
        ok = EVP_DigestSign(op->md, out, &len, op->buf, op->len);
    else if (op->md)
        ok = EVP_DigestSignFinal(op->md, out, &len);
    else
        ok = EVP_PKEY_sign(op->pctx, out, &len, op->buf, op->len);
    if (ok != 1)
        /* Raw RSA input too long for the key, or a PSS digest of the wrong size. */
        return op->md ? CKR_FUNCTION_FAILED : CKR_DATA_LEN_RANGE;
    *out_len = len;
    return CKR_OK;
}

static CK_RV check_out(dmsc_op *op, unsigned char *out, CK_ULONG *out_len, size_t need, bool *query)
{
    (void)op;
    if (out_len == NULL)
        return CKR_ARGUMENTS_BAD;
    *query = out == NULL;
    if (out == NULL) {
        *out_len = need;
        return CKR_OK;
    }
    if (*out_len < need) {
        *out_len = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    return CKR_OK;
}

/* AES in its streaming modes, run on a copy of the context so a length
 * query or a too-small buffer leaves the operation untouched. */
static CK_RV cipher_step(dmsc_op *op, const unsigned char *in, CK_ULONG in_len, bool final,
                         unsigned char *out, CK_ULONG *out_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0))
        return CKR_ARGUMENTS_BAD;
    if (in_len > INT_MAX - 64)
        return CKR_DATA_LEN_RANGE;
    size_t cap = in_len + 64;
    unsigned char *tmp = OPENSSL_malloc(cap);
    EVP_CIPHER_CTX *copy = EVP_CIPHER_CTX_new();
    CK_RV rv = CKR_OK;
    int n = 0, m = 0;
    if (tmp == NULL || copy == NULL || EVP_CIPHER_CTX_copy(copy, op->cipher) != 1) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    if (in_len > 0 && EVP_CipherUpdate(copy, tmp, &n, in, (int)in_len) != 1) {
        /* Key unwrap checks its integrity value here. */
        rv = op->kind == DMSC_OP_DECRYPT ? CKR_ENCRYPTED_DATA_INVALID : CKR_GENERAL_ERROR;
        goto done;
    }
    if (final && op->m->kind == MK_AES_CBC_PAD && op->kind == DMSC_OP_DECRYPT &&
        (op->fed + in_len) % 16 != 0) {
        rv = CKR_ENCRYPTED_DATA_LEN_RANGE; /* CBC ciphertext is whole blocks */
        goto done;
    }
    if (final) {
        if (EVP_CipherFinal_ex(copy, tmp + n, &m) != 1) {
            rv = op->kind == DMSC_OP_DECRYPT ? CKR_ENCRYPTED_DATA_INVALID : CKR_DATA_LEN_RANGE;
            goto done;
        }
        if (op->m->kind == MK_AES_GCM && op->kind == DMSC_OP_ENCRYPT) {
            if (EVP_CIPHER_CTX_ctrl(copy, EVP_CTRL_GCM_GET_TAG, (int)op->tag_len, tmp + n + m) != 1) {
                rv = CKR_GENERAL_ERROR;
                goto done;
            }
            m += (int)op->tag_len;
        }
    }
    size_t produced = (size_t)n + (size_t)m;
    if (out == NULL) {
        *out_len = produced;
    } else if (*out_len < produced) {
        *out_len = produced;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        memcpy(out, tmp, produced);
        *out_len = produced;
        op->fed += in_len;
        EVP_CIPHER_CTX *old = op->cipher;
        op->cipher = copy;
        copy = old;
    }
done:
    if (tmp)
        OPENSSL_clear_free(tmp, cap);
    EVP_CIPHER_CTX_free(copy);
    return rv;
}

/* GCM decryption and key unwrap: everything collected, checked, then released. */
static CK_RV cipher_collected(dmsc_op *op, unsigned char *out, CK_ULONG *out_len)
{
    const unsigned char *in = op->buf;
    size_t len = op->len;
    if (op->m->kind == MK_AES_GCM) {
        if (len < op->tag_len)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        len -= op->tag_len;
        if (len > INT_MAX)
            return CKR_DATA_LEN_RANGE;
        EVP_CIPHER_CTX *copy = EVP_CIPHER_CTX_new();
        unsigned char *tmp = OPENSSL_malloc(len + 16);
        int n = 0, m = 0;
        CK_RV rv = CKR_OK;
        if (copy == NULL || tmp == NULL || EVP_CIPHER_CTX_copy(copy, op->cipher) != 1)
            rv = CKR_HOST_MEMORY;
        else if ((len > 0 && EVP_CipherUpdate(copy, tmp, &n, in, (int)len) != 1) ||
                 EVP_CIPHER_CTX_ctrl(copy, EVP_CTRL_GCM_SET_TAG, (int)op->tag_len,
                                     (void *)(in + len)) != 1 ||
                 EVP_CipherFinal_ex(copy, tmp + n, &m) != 1)
            rv = CKR_ENCRYPTED_DATA_INVALID;
        if (rv == CKR_OK) {
            size_t produced = (size_t)n + (size_t)m;
            if (out == NULL)
                *out_len = produced;
            else if (*out_len < produced) {
                *out_len = produced;
                rv = CKR_BUFFER_TOO_SMALL;
            } else {
                memcpy(out, tmp, produced);
                *out_len = produced;
            }
        }
        if (tmp)
            OPENSSL_clear_free(tmp, len + 16);
        EVP_CIPHER_CTX_free(copy);
        return rv;
    }
    /* Key wrap with padding: one cipher call over the whole input. */
    return cipher_step(op, in, (CK_ULONG)len, true, out, out_len);
}

static CK_RV rsa_crypt(dmsc_op *op, const unsigned char *in, size_t in_len, unsigned char *out,
                       CK_ULONG *out_len)
{
    size_t need = rsa_bytes(op->pkey);
    unsigned char *tmp = OPENSSL_malloc(need);
    size_t len = need;
    CK_RV rv = CKR_OK;
    if (tmp == NULL)
        return CKR_HOST_MEMORY;
    if (op->kind == DMSC_OP_ENCRYPT) {
        if (EVP_PKEY_encrypt(op->pctx, tmp, &len, in, in_len) != 1)
            rv = CKR_DATA_LEN_RANGE;
    } else {
        if (in_len != need)
            rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
        else if (EVP_PKEY_decrypt(op->pctx, tmp, &len, in, in_len) != 1)
            rv = CKR_ENCRYPTED_DATA_INVALID;
    }
    if (rv == CKR_OK) {
        if (out == NULL)
            *out_len = op->kind == DMSC_OP_ENCRYPT ? need : len;
        else if (*out_len < len) {
            *out_len = len;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            memcpy(out, tmp, len);
            *out_len = len;
        }
    }
    OPENSSL_clear_free(tmp, need);
    return rv;
}

CK_RV dmsc_op_update(dmsc_op *op, const unsigned char *in, CK_ULONG in_len,
                     unsigned char *out, CK_ULONG *out_len)
{
    op->multi = true;
    if (op->kind == DMSC_OP_ENCRYPT || op->kind == DMSC_OP_DECRYPT) {
        if (op->cipher == NULL || op->collect) {
            /* RSA and the collecting AES modes release output only at the end. */
            if (out_len == NULL)
                return CKR_ARGUMENTS_BAD;
            if (out == NULL) {
                *out_len = 0; /* a length query: nothing is taken */
                return CKR_OK;
            }
            CK_RV rv = collect(op, in, in_len);
            if (rv == CKR_OK)
                *out_len = 0;
            return rv;
        }
        return cipher_step(op, in, in_len, false, out, out_len);
    }
    return feed(op, in, in_len);
}

CK_RV dmsc_op_final(dmsc_op *op, unsigned char *out, CK_ULONG *out_len)
{
    bool query;
    if (op->kind == DMSC_OP_ENCRYPT || op->kind == DMSC_OP_DECRYPT) {
        if (out_len == NULL)
            return CKR_ARGUMENTS_BAD;
        if (op->cipher == NULL)
            return rsa_crypt(op, op->buf, op->len, out, out_len);
        if (op->collect)
            return cipher_collected(op, out, out_len);
        return cipher_step(op, NULL, 0, true, out, out_len);
    }
    CK_RV rv = check_out(op, out, out_len, op->out_len, &query);
    if (rv != CKR_OK || query)
        return rv;
    return produce(op, out, out_len);
}

CK_RV dmsc_op_oneshot(dmsc_op *op, const unsigned char *in, CK_ULONG in_len,
                      unsigned char *out, CK_ULONG *out_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0))
        return CKR_ARGUMENTS_BAD;
    if (op->kind == DMSC_OP_ENCRYPT || op->kind == DMSC_OP_DECRYPT) {
        if (op->cipher == NULL)
            return rsa_crypt(op, in, in_len, out, out_len);
        if (op->collect) {
            /* Run on the given input without keeping it, so a query or a
             * small buffer can be repeated. */
            size_t saved = op->len;
            CK_RV rv = collect(op, in, in_len);
            if (rv == CKR_OK)
                rv = cipher_collected(op, out, out_len);
            op->len = saved;
            return rv;
        }
        return cipher_step(op, in, in_len, true, out, out_len);
    }
    bool query;
    CK_RV rv = check_out(op, out, out_len, op->out_len, &query);
    if (rv != CKR_OK || query)
        return rv;
    rv = feed(op, in, in_len);
    if (rv == CKR_OK)
        rv = produce(op, out, out_len);
    return rv;
}

CK_RV dmsc_op_verify_final(dmsc_op *op, const unsigned char *sig, CK_ULONG sig_len)
{
    if (sig == NULL && sig_len > 0)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = finish_input(op);
    if (rv != CKR_OK)
        return rv;
    if (op->dmsec)
        return dmsc_dmsec_op_verify(op->dmsec, sig, sig_len);
    if (op->mac) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t len = 0;
        if (sig_len != op->out_len)
            return CKR_SIGNATURE_LEN_RANGE;
        if (EVP_MAC_final(op->mac, mac, &len, sizeof(mac)) != 1)
            return CKR_GENERAL_ERROR;
        return CRYPTO_memcmp(mac, sig, len) == 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
    }
    if (sig_len != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    int ok;
    if (op->m->kind == MK_ECDSA) {
        unsigned char *der = NULL;
        size_t der_len = 0;
        rv = ecdsa_raw_to_der(sig, op->ec_bytes, &der, &der_len);
        if (rv != CKR_OK)
            return rv;
        ok = op->md ? EVP_DigestVerifyFinal(op->md, der, der_len)
                    : EVP_PKEY_verify(op->pctx, der, der_len, op->buf, op->len);
        OPENSSL_free(der);
    } else if (op->m->kind == MK_EDDSA) {
        ok = EVP_DigestVerify(op->md, sig, sig_len, op->buf, op->len);
    } else if (op->md) {
        ok = EVP_DigestVerifyFinal(op->md, sig, sig_len);
    } else {
        ok = EVP_PKEY_verify(op->pctx, sig, sig_len, op->buf, op->len);
    }
    return ok == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
}
