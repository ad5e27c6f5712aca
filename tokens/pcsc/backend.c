/*
 * The PC/SC backend: a PKCS#15 DM card in a PC/SC reader as a token.
 *
 * SKELETON: no slots yet, every op answers that no token is present.
 * It gives the module side the dmsc_pcsc_open symbol to wire the
 * configuration against; the real backend replaces it.
 */
#include "backend.h"

#include <stdlib.h>

typedef struct {
    dmsc_backend base;
} pcsc_backend;

static const dmsc_backend_ops pcsc_ops;

static void pcsc_free(dmsc_backend *base)
{
    free(base);
}

static CK_RV pcsc_slots(dmsc_backend *base, const dmsc_bslot **slots, size_t *n)
{
    (void)base;
    *slots = NULL;
    *n = 0;
    return CKR_OK;
}

static CK_RV pcsc_token_info(dmsc_btoken *t, CK_TOKEN_INFO *info)
{
    (void)t, (void)info;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_sync(dmsc_btoken *t, const dmsc_sync_sink *sink)
{
    (void)t, (void)sink;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_init_token(dmsc_btoken *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_len,
                             const CK_UTF8CHAR label[32])
{
    (void)t, (void)so_pin, (void)so_len, (void)label;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV pcsc_login(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    (void)t, (void)user, (void)pin, (void)len;
    return CKR_TOKEN_NOT_PRESENT;
}

static void pcsc_logout(dmsc_btoken *t)
{
    (void)t;
}

static CK_RV pcsc_init_pin(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    (void)t, (void)pin, (void)len;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_set_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
                          const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
    (void)t, (void)who, (void)old_pin, (void)old_len, (void)new_pin, (void)new_len;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_create(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored)
{
    (void)t, (void)attrs, (void)oid, (void)stored;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_update(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    (void)t, (void)oid, (void)attrs, (void)stored;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_destroy(dmsc_btoken *t, uint64_t oid)
{
    (void)t, (void)oid;
    return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV pcsc_unseal(dmsc_btoken *t, const dmsc_attr *sealed, void **plain, CK_ULONG *len)
{
    (void)t, (void)sealed, (void)plain, (void)len;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV pcsc_sign(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in,
                       CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len)
{
    (void)t, (void)oid, (void)mech, (void)in, (void)in_len, (void)sig, (void)sig_len;
    return CKR_TOKEN_NOT_PRESENT;
}

static const dmsc_backend_ops pcsc_ops = {
    .name = "pcsc",
    .free = pcsc_free,
    .slots = pcsc_slots,
    .token_info = pcsc_token_info,
    .sync = pcsc_sync,
    .init_token = pcsc_init_token,
    .login = pcsc_login,
    .logout = pcsc_logout,
    .init_pin = pcsc_init_pin,
    .set_pin = pcsc_set_pin,
    .create = pcsc_create,
    .update = pcsc_update,
    .destroy = pcsc_destroy,
    .unseal = pcsc_unseal,
    .sign = pcsc_sign,
};

CK_RV dmsc_pcsc_open(OSSL_LIB_CTX *libctx, const char *const *readers, size_t n_readers, dmsc_backend **out)
{
    (void)libctx, (void)readers, (void)n_readers;
    pcsc_backend *be = calloc(1, sizeof(*be));
    if (be == NULL)
        return CKR_HOST_MEMORY;
    be->base.ops = &pcsc_ops;
    *out = &be->base;
    return CKR_OK;
}
