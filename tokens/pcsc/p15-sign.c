/*
 * Signing with a key that never leaves the card: MANAGE SECURITY
 * ENVIRONMENT SET for the digital signature template (the PrKDF's
 * keyReference), then PERFORM SECURITY OPERATION: COMPUTE DIGITAL
 * SIGNATURE, in one card transaction so no other application's commands
 * come between. RSA: the card pads the DigestInfo (PKCS#1 v1.5); ECDSA:
 * the card signs the hash (the module hashes for CKM_ECDSA_SHA256 and the
 * like), and its answer, DER or raw r || s (ecdsa-sig.h), becomes r || s.
 */
#include "pcsc-token.h"

#include "ecdsa-sig.h"

#include <stdlib.h>
#include <string.h>

#define SW_OK 0x9000
#define MAX_SIG 1024

typedef struct {
    uint8_t key_ref;
    const unsigned char *in;
    size_t in_len;
    unsigned char sig[MAX_SIG];
    size_t sig_len;
    uint16_t sw;
    const char *step;
} sign_op;

static CK_RV op_sign(dmsc_btoken *t, void *ctx)
{
    sign_op *op = ctx;
    /* Run again after a reset dropped this process's login: the card may
     * hold another application's verified PIN by now, not ours. */
    if (!t->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = dmsc_card_begin(t->card);
    if (rv != CKR_OK)
        return rv;
    /* The key reference is the application's: select it first. */
    op->step = "SELECT (PKCS#15 application)";
    rv = pcsc_select_app(t, &op->sw);
    if (rv == CKR_OK && op->sw == SW_OK) {
        op->step = "MANAGE SECURITY ENVIRONMENT";
        rv = dmsc_iso_mse_set_dst(t->card, op->key_ref, -1, &op->sw);
    }
    if (rv == CKR_OK && op->sw == SW_OK) {
        op->step = "PERFORM SECURITY OPERATION";
        rv = dmsc_iso_pso_cds(t->card, op->in, op->in_len, op->sig, sizeof(op->sig), &op->sig_len, &op->sw);
    }
    dmsc_card_end(t->card);
    return rv;
}

CK_RV pcsc_sign(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in, CK_ULONG in_len,
                unsigned char *sig, CK_ULONG *sig_len)
{
    CK_RV rv = pcsc_card_ready(t);
    if (rv != CKR_OK)
        return rv;
    pcsc_obj *o = pcsc_obj_find(t, oid);
    if (o == NULL || o->kind != PCSC_OBJ_PRKEY)
        return CKR_KEY_HANDLE_INVALID;
    const dmsc_p15_prkey *k = &t->model->objs.prkeys[o->index];
    if (!k->has_key_ref)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if ((k->type == DMSC_P15_KEY_RSA && mech != CKM_RSA_PKCS) || (k->type == DMSC_P15_KEY_EC && mech != CKM_ECDSA))
        return CKR_MECHANISM_INVALID;
    if (in == NULL || in_len == 0 || in_len > 255 || sig_len == NULL)
        return CKR_DATA_LEN_RANGE;
    if (!t->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    sign_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return CKR_HOST_MEMORY;
    op->key_ref = k->key_ref;
    op->in = in;
    op->in_len = in_len;
    rv = pcsc_card_run(t, op_sign, op);
    if (rv == CKR_OK && op->sw != SW_OK) {
        switch (op->sw) {
        case 0x6982: rv = CKR_USER_NOT_LOGGED_IN; break;
        case 0x6985: rv = CKR_KEY_FUNCTION_NOT_PERMITTED; break;
        case 0x6700:
        case 0x6A80: rv = CKR_DATA_LEN_RANGE; break;
        default:
            pcsc_trace_sw(op->step, op->sw);
            rv = CKR_DEVICE_ERROR;
        }
        if (op->sw == 0x6982) {
            dmsc_debug(DMSC_DEBUG_PIN, "pcsc: the card wants the PIN verified to sign (%s)", op->step);
            pcsc_check_login(t);
        }
    }
    /* An ECDSA answer is DER or raw r || s: never judged by its first
     * byte (raw r starts with 0x30 once in 256 signatures). */
    if (rv == CKR_OK && k->type == DMSC_P15_KEY_EC) {
        size_t half = (pcsc_key_bits(t, &k->c) + 7) / 8;
        unsigned char raw[2 * PCSC_ECDSA_MAX_HALF];
        if (!pcsc_ecdsa_to_raw(op->sig, op->sig_len, half, raw)) {
            dmsc_debug(PCSC_DEBUG,
                       "pcsc: the card's ECDSA signature (%zu bytes) is neither r || s of %zu bytes "
                       "nor one DER ECDSA-Sig-Value",
                       op->sig_len, 2 * half);
            rv = CKR_DEVICE_ERROR;
        } else {
            memcpy(op->sig, raw, half * 2);
            op->sig_len = half * 2;
        }
    }
    if (rv == CKR_OK) {
        if (sig == NULL) {
            *sig_len = op->sig_len;
        } else if (*sig_len < op->sig_len) {
            *sig_len = op->sig_len;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            memcpy(sig, op->sig, op->sig_len);
            *sig_len = op->sig_len;
        }
    }
    free(op);
    return rv;
}
