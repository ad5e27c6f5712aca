/* DM 1.2 session security and the bootstrap MAC as PKCS#11 operations. */
#include "dmsec-op.h"

#include <dmsc/pkcs11-dm.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "dmsec.h"

/* The public header's bounds on parameter fields. */
#define MAX_USER 255
#define MAX_NONCE 255

struct dmsc_dmsec_op {
    const dmsc_mech *m;
    OSSL_LIB_CTX *libctx;
    const unsigned char *secret;  /* borrowed from the operation */
    size_t secret_len;
    unsigned char user[MAX_USER], nonce[MAX_NONCE];
    size_t user_len, nonce_len;
    bool had_data;                /* auth-md5 takes no data */
    dmsc_dmsec_hmac_ctx *hmac;
    dmsc_dmsec_boot_ctx *boot;
};

static CK_RV from_dmsec(dmsc_dmsec_rv rv)
{
    switch (rv) {
    case DMSC_DMSEC_OK: return CKR_OK;
    case DMSC_DMSEC_ERR_MISMATCH: return CKR_SIGNATURE_INVALID;
    case DMSC_DMSEC_ERR_FORMAT: return CKR_SIGNATURE_LEN_RANGE;
    case DMSC_DMSEC_ERR_PIN: return CKR_MECHANISM_PARAM_INVALID;
    /* The key object does not hold a network key (a semi-octet IMSI). */
    case DMSC_DMSEC_ERR_IMSI: return CKR_KEY_TYPE_INCONSISTENT;
    case DMSC_DMSEC_ERR_ARGS: return CKR_ARGUMENTS_BAD;
    default: return CKR_FUNCTION_FAILED;
    }
}

/* A byte string of a parameter: NULL only when empty. */
static bool field_ok(const void *p, CK_ULONG len, CK_ULONG max)
{
    return len <= max && (p != NULL || len == 0);
}

static CK_RV init_syncml(dmsc_dmsec_op *op, const CK_MECHANISM *mech, size_t *out_len)
{
    const CK_DMSC_SYNCML_AUTH_PARAMS *p = mech->pParameter;
    if (p == NULL || mech->ulParameterLen != sizeof(*p) ||
        !field_ok(p->pUserName, p->ulUserNameLen, MAX_USER) ||
        !field_ok(p->pNonce, p->ulNonceLen, MAX_NONCE))
        return CKR_MECHANISM_PARAM_INVALID;
    op->user_len = p->ulUserNameLen;
    op->nonce_len = p->ulNonceLen;
    if (op->user_len)
        memcpy(op->user, p->pUserName, op->user_len);
    if (op->nonce_len)
        memcpy(op->nonce, p->pNonce, op->nonce_len);
    *out_len = DMSC_DMSEC_B64_LEN;
    if (op->m->type == CKM_DMSC_SYNCML_AUTH_MD5)
        return CKR_OK;
    return from_dmsec(dmsc_dmsec_hmac_new(op->libctx, op->user, op->user_len, op->secret,
                                          op->secret_len, op->nonce, op->nonce_len, &op->hmac));
}

static CK_RV init_boot(dmsc_dmsec_op *op, const CK_MECHANISM *mech, size_t *out_len)
{
    const CK_DMSC_BOOTSTRAP_PARAMS *p = mech->pParameter;
    if (p == NULL || mech->ulParameterLen != sizeof(*p) ||
        !field_ok(p->pUserPin, p->ulUserPinLen, DMSC_DMSEC_PIN_MAX))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->sec != CKD_DMSC_SEC_NETWPIN && p->sec != CKD_DMSC_SEC_USERPIN &&
        p->sec != CKD_DMSC_SEC_USERNETWPIN)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->sec == CKD_DMSC_SEC_NETWPIN && p->ulUserPinLen != 0)
        return CKR_MECHANISM_PARAM_INVALID; /* a PIN given where none is used */
    *out_len = DMSC_DMSEC_SHA1_LEN;
    return from_dmsec(dmsc_dmsec_boot_new(op->libctx, (dmsc_dmsec_sec)p->sec, op->secret,
                                          op->secret_len, p->pUserPin, p->ulUserPinLen, &op->boot));
}

CK_RV dmsc_dmsec_op_init(OSSL_LIB_CTX *libctx, const dmsc_mech *m, const CK_MECHANISM *mech,
                         const unsigned char *secret, size_t secret_len, dmsc_dmsec_op **out,
                         size_t *out_len)
{
    if (secret == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    dmsc_dmsec_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return CKR_HOST_MEMORY;
    op->m = m;
    op->libctx = libctx;
    op->secret = secret;
    op->secret_len = secret_len;
    CK_RV rv = m->kind == MK_DM_BOOT_HMAC ? init_boot(op, mech, out_len) : init_syncml(op, mech, out_len);
    if (rv != CKR_OK) {
        dmsc_dmsec_op_free(op);
        return rv;
    }
    *out = op;
    return CKR_OK;
}

CK_RV dmsc_dmsec_op_update(dmsc_dmsec_op *op, const unsigned char *in, size_t len)
{
    if (op->hmac)
        return from_dmsec(dmsc_dmsec_hmac_update(op->hmac, in, len));
    if (op->boot)
        return from_dmsec(dmsc_dmsec_boot_update(op->boot, in, len));
    if (len > 0)
        op->had_data = true;
    return CKR_OK;
}

CK_RV dmsc_dmsec_op_sign(dmsc_dmsec_op *op, unsigned char *out)
{
    char text[DMSC_DMSEC_B64_LEN + 1];
    dmsc_dmsec_rv rv;
    if (op->boot)
        return from_dmsec(dmsc_dmsec_boot_final(op->boot, out));
    if (op->hmac) {
        rv = dmsc_dmsec_hmac_final(op->hmac, text);
    } else {
        if (op->had_data)
            return CKR_DATA_LEN_RANGE; /* the nonce is the parameter's; there is no data */
        rv = dmsc_dmsec_auth_md5(op->libctx, op->user, op->user_len, op->secret, op->secret_len,
                                 op->nonce, op->nonce_len, text);
    }
    if (rv == DMSC_DMSEC_OK)
        memcpy(out, text, DMSC_DMSEC_B64_LEN);
    OPENSSL_cleanse(text, sizeof(text));
    return from_dmsec(rv);
}

/* A signature of a length the mechanism takes but not of its form (a
 * non-hex digit, non-canonical Base64) is a wrong signature; only a wrong
 * length is CKR_SIGNATURE_LEN_RANGE. */
static CK_RV verify_rv(dmsc_dmsec_rv rv, size_t sig_len, size_t len_a, size_t len_b)
{
    if (rv == DMSC_DMSEC_ERR_FORMAT && (sig_len == len_a || sig_len == len_b))
        return CKR_SIGNATURE_INVALID;
    return from_dmsec(rv);
}

CK_RV dmsc_dmsec_op_verify(dmsc_dmsec_op *op, const unsigned char *sig, size_t sig_len)
{
    if (op->boot)
        return verify_rv(dmsc_dmsec_boot_verify(op->boot, sig, sig_len), sig_len, DMSC_DMSEC_SHA1_LEN,
                         DMSC_DMSEC_HEX_LEN);
    if (op->hmac)
        return verify_rv(dmsc_dmsec_hmac_verify(op->hmac, (const char *)sig, sig_len), sig_len,
                         DMSC_DMSEC_B64_LEN, DMSC_DMSEC_B64_UNPADDED);
    if (op->had_data)
        return CKR_DATA_LEN_RANGE;
    return verify_rv(dmsc_dmsec_auth_md5_verify(op->libctx, op->user, op->user_len, op->secret,
                                                op->secret_len, op->nonce, op->nonce_len,
                                                (const char *)sig, sig_len),
                     sig_len, DMSC_DMSEC_B64_LEN, DMSC_DMSEC_B64_UNPADDED);
}

void dmsc_dmsec_op_free(dmsc_dmsec_op *op)
{
    if (op == NULL)
        return;
    dmsc_dmsec_hmac_free(op->hmac);
    dmsc_dmsec_boot_free(op->boot);
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}
