/*
 * The cryptographic PKCS#11 functions: mechanisms, sign/verify,
 * encrypt/decrypt, digest, key generation and wrapping. Each *Init looks
 * the key up under the token lock and takes its own reference to the key
 * material; the calls that follow hold only their session's lock, so
 * sessions of different threads compute in parallel.
 */
#include "common.h"

#include "api.h"
#include "keys.h"
#include "mechs.h"
#include "ops.h"
#include "policy.h"
#include "session.h"
#include "slots.h"
#include "token.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define TRACE DMSC_TRACE_RETURN

/* ---- mechanisms ---- */

CK_RV dmsc_C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t;
    if (rv == CKR_OK && count == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = dmsc_slots_token_here(id, &t);
    if (rv == CKR_OK)
        rv = dmsc_mech_list(list, count);
    TRACE("C_GetMechanismList", rv);
}

CK_RV dmsc_C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t;
    if (rv == CKR_OK && info == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = dmsc_slots_token_here(id, &t);
    const dmsc_mech *m = rv == CKR_OK ? dmsc_mech_find(type) : NULL;
    if (rv == CKR_OK && m == NULL)
        rv = CKR_MECHANISM_INVALID;
    if (rv == CKR_OK)
        *info = m->info;
    TRACE("C_GetMechanismInfo", rv);
}

/* ---- operations ---- */

static const struct {
    CK_FLAGS mech_flag;
    CK_ATTRIBUTE_TYPE usage;
    const char *name;
} op_kinds[DMSC_OP_N] = {
    [DMSC_OP_SIGN] = { CKF_SIGN, CKA_SIGN, "sign" },
    [DMSC_OP_VERIFY] = { CKF_VERIFY, CKA_VERIFY, "verify" },
    [DMSC_OP_ENCRYPT] = { CKF_ENCRYPT, CKA_ENCRYPT, "encrypt" },
    [DMSC_OP_DECRYPT] = { CKF_DECRYPT, CKA_DECRYPT, "decrypt" },
    [DMSC_OP_DIGEST] = { CKF_DIGEST, 0, "digest" },
};

/* Is the key's class right for the operation and mechanism? */
static bool class_fits(dmsc_op_kind kind, const dmsc_mech *m, CK_OBJECT_CLASS klass)
{
    bool secret = m->kind == MK_HMAC || m->kind == MK_AES_GCM || m->kind == MK_AES_CBC_PAD ||
                  m->kind == MK_AES_WRAP_PAD || m->kind == MK_DM_SYNCML || m->kind == MK_DM_BOOT_HMAC;
    if (secret)
        return klass == CKO_SECRET_KEY;
    switch (kind) {
    case DMSC_OP_SIGN:
    case DMSC_OP_DECRYPT:
        return klass == CKO_PRIVATE_KEY;
    case DMSC_OP_VERIFY:
    case DMSC_OP_ENCRYPT:
        /* A private key object holds its public half too. */
        return klass == CKO_PUBLIC_KEY || klass == CKO_PRIVATE_KEY;
    default:
        return false;
    }
}

static bool mechanism_allowed(const dmsc_object *obj, CK_MECHANISM_TYPE type)
{
    const dmsc_attr *a = dmsc_attrs_find(&obj->attrs, CKA_ALLOWED_MECHANISMS);
    if (a == NULL || a->len == 0)
        return true;
    const CK_MECHANISM_TYPE *list = a->value;
    for (size_t i = 0; i < a->len / sizeof(CK_MECHANISM_TYPE); i++)
        if (list[i] == type)
            return true;
    return false;
}

/* Check a key for a use and take what the operation needs of it. The
 * caller holds the token lock; secret->secret is malloc'd when set. */
static CK_RV key_for_inlock(dmsc_token *t, CK_OBJECT_HANDLE h, dmsc_op_kind kind, const dmsc_mech *m,
                            CK_ATTRIBUTE_TYPE usage, dmsc_op_key *key, bool *always_auth,
                            uint64_t reuse_serial, uint64_t *serial)
{
    dmsc_object *obj = dmsc_token_lookup_inlock(t, h);
    if (obj == NULL)
        return CKR_KEY_HANDLE_INVALID;
    CK_ULONG key_type;
    if (!class_fits(kind, m, obj->klass) || !dmsc_attrs_get_ulong(&obj->attrs, CKA_KEY_TYPE, &key_type) ||
        !dmsc_mech_key_ok(m, key_type))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!dmsc_attrs_is_true(&obj->attrs, usage, false))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (!mechanism_allowed(obj, m->type))
        return CKR_MECHANISM_INVALID;
    *always_auth = obj->klass == CKO_PRIVATE_KEY &&
                   dmsc_attrs_is_true(&obj->attrs, CKA_ALWAYS_AUTHENTICATE, false);
    memset(key, 0, sizeof(*key));
    if (serial != NULL)
        *serial = obj->serial;
    if (reuse_serial != 0 && reuse_serial == obj->serial)
        return CKR_OK; /* the caller's spare operation holds this very key */
    CK_ULONG bits;
    if (dmsc_card_key_is(t, obj)) {
        /* The card keeps the private value: it signs, nothing else. */
        if (kind != DMSC_OP_SIGN || (m->kind != MK_RSA_PKCS && m->kind != MK_ECDSA))
            return CKR_MECHANISM_INVALID;
        bits = dmsc_card_key_bits_of(obj, key_type);
        if (bits < m->info.ulMinKeySize || bits > m->info.ulMaxKeySize)
            return CKR_KEY_SIZE_RANGE;
        key->card = dmsc_card_key_new(t, obj->oid, key_type, bits);
        return key->card != NULL ? CKR_OK : CKR_HOST_MEMORY;
    }
    if (obj->klass == CKO_SECRET_KEY) {
        CK_ULONG len = 0;
        CK_RV rv = dmsc_token_value_copy_inlock(t, obj, CKA_VALUE, &key->secret, &len);
        if (rv != CKR_OK)
            return rv == CKR_ATTRIBUTE_TYPE_INVALID ? CKR_KEY_TYPE_INCONSISTENT : rv;
        key->secret_len = len;
        bits = len;
    } else {
        CK_RV rv = dmsc_token_pkey_inlock(t, obj, dmsc_g.libctx, &key->pkey);
        if (rv != CKR_OK)
            return rv;
        bits = dmsc_pkey_bits(key->pkey);
    }
    if (bits < m->info.ulMinKeySize || bits > m->info.ulMaxKeySize) {
        if (key->secret) {
            dmsc_wipe((void *)key->secret, key->secret_len);
            free((void *)key->secret);
        }
        return CKR_KEY_SIZE_RANGE;
    }
    return CKR_OK;
}

static void key_release(dmsc_op_key *key)
{
    if (key->secret) {
        dmsc_wipe((void *)key->secret, key->secret_len);
        free((void *)key->secret);
    }
    key->secret = NULL;
    dmsc_card_key_free(key->card);
    key->card = NULL;
}

static CK_RV op_init(CK_SESSION_HANDLE h, dmsc_op_kind kind, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key_h)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv != CKR_OK)
        return rv;
    if ((rv = dmsc_session_get(h, &s)) != CKR_OK)
        return rv;
    const dmsc_mech *m = mech ? dmsc_mech_find(mech->mechanism) : NULL;
    if (mech == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (m == NULL || !(m->info.flags & op_kinds[kind].mech_flag))
        rv = CKR_MECHANISM_INVALID;
    if (rv != CKR_OK) {
        dmsc_session_put(s);
        return rv;
    }
    pthread_mutex_lock(&s->lock);
    if (s->ops[kind] != NULL) {
        rv = CKR_OPERATION_ACTIVE;
        goto done;
    }
    dmsc_op_key key = { 0 };
    bool always_auth = false;
    dmsc_op *spare = s->spare[kind];
    uint64_t spare_serial = 0, serial = 0;
    if (kind != DMSC_OP_DIGEST) {
        pthread_mutex_lock(&s->token->lock);
        /* A key changed or destroyed by another process counts within
         * 10 ms: a store round trip per signature would cost more than
         * an HMAC itself. */
        rv = dmsc_token_sync_recent_inlock(s->token, 10);
        if (rv != CKR_OK) {
            dmsc_session_unlock_token(s->token);
            goto done;
        }
        /* Would the spare operation serve? Then no copy of the key. */
        dmsc_object *obj = spare ? dmsc_token_lookup_inlock(s->token, key_h) : NULL;
        if (obj != NULL && dmsc_op_reusable(spare, m, mech, obj->serial))
            spare_serial = obj->serial;
        rv = key_for_inlock(s->token, key_h, kind, m, op_kinds[kind].usage, &key, &always_auth,
                            spare_serial, &serial);
        /* Our own reference: the object may go while the operation runs. */
        if (rv == CKR_OK && key.pkey != NULL)
            EVP_PKEY_up_ref(key.pkey);
        dmsc_session_unlock_token(s->token);
        if (rv != CKR_OK)
            goto done;
    }
    if (spare_serial != 0 && (rv = dmsc_op_restart(spare)) == CKR_OK) {
        s->ops[kind] = spare;
        s->spare[kind] = NULL;
    } else {
        if (spare_serial != 0) {
            dmsc_op_free(spare);
            s->spare[kind] = NULL;
            goto done;
        }
        rv = dmsc_op_init(dmsc_g.libctx, kind, m, mech, &key, &s->ops[kind]);
        key.secret = NULL; /* the operation took it, or freed it */
        key.card = NULL;
        if (rv == CKR_OK)
            dmsc_op_set_key_serial(s->ops[kind], serial);
    }
    if (rv == CKR_OK && always_auth && (kind == DMSC_OP_SIGN || kind == DMSC_OP_DECRYPT))
        dmsc_op_require_login(s->ops[kind]);
    EVP_PKEY_free(key.pkey);
done:
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    return rv;
}

typedef enum { CALL_ONESHOT, CALL_UPDATE, CALL_FINAL, CALL_VERIFY, CALL_VERIFY_FINAL } call_kind;

/* Run one call of an active operation, ending it as the spec says: after
 * its last call, and on any error but CKR_BUFFER_TOO_SMALL (a length
 * query, out == NULL, never ends it). */
static CK_RV op_call(CK_SESSION_HANDLE h, dmsc_op_kind kind, call_kind call, const unsigned char *in,
                     CK_ULONG in_len, unsigned char *out, CK_ULONG *out_len, CK_ULONG sig_len)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv != CKR_OK)
        return rv;
    if ((rv = dmsc_session_get(h, &s)) != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    dmsc_op *op = s->ops[kind];
    bool query = false, last = false;
    if (op == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
        goto done;
    }
    if (dmsc_op_needs_login(op)) {
        /* C_Login(CKU_CONTEXT_SPECIFIC) comes first; like any error but
         * CKR_BUFFER_TOO_SMALL, this one ends the operation. */
        rv = CKR_USER_NOT_LOGGED_IN;
        dmsc_op_free(op);
        s->ops[kind] = NULL;
        goto done;
    }
    switch (call) {
    case CALL_ONESHOT:
        if (dmsc_op_is_multi(op)) {
            rv = CKR_OPERATION_ACTIVE; /* a multi-part operation ends with *Final */
            break;
        }
        query = out == NULL;
        rv = dmsc_op_oneshot(op, in, in_len, out, out_len);
        last = true;
        break;
    case CALL_UPDATE:
        rv = dmsc_op_update(op, in, in_len, out, out_len);
        break;
    case CALL_FINAL:
        query = out == NULL;
        rv = dmsc_op_final(op, out, out_len);
        last = true;
        break;
    case CALL_VERIFY:
        if (dmsc_op_is_multi(op)) {
            rv = CKR_OPERATION_ACTIVE;
            break;
        }
        rv = dmsc_op_update(op, in, in_len, NULL, NULL);
        if (rv == CKR_OK)
            rv = dmsc_op_verify_final(op, out, sig_len);
        last = true;
        break;
    case CALL_VERIFY_FINAL:
        rv = dmsc_op_verify_final(op, out, sig_len);
        last = true;
        break;
    }
    bool keep = rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && (!last || query));
    if (!keep) {
        /* A finished operation that can serve again waits as the spare. */
        if ((rv == CKR_OK || rv == CKR_SIGNATURE_INVALID) && dmsc_op_can_wait(op)) {
            dmsc_op_free(s->spare[kind]);
            s->spare[kind] = op;
        } else {
            dmsc_op_free(op);
        }
        s->ops[kind] = NULL;
    }
done:
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    return rv;
}

CK_RV dmsc_context_login(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    dmsc_session *s;
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if ((rv = dmsc_session_get(h, &s)) != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    dmsc_op *op = s->ops[DMSC_OP_SIGN] && dmsc_op_needs_login(s->ops[DMSC_OP_SIGN])
                      ? s->ops[DMSC_OP_SIGN]
                      : s->ops[DMSC_OP_DECRYPT] && dmsc_op_needs_login(s->ops[DMSC_OP_DECRYPT])
                            ? s->ops[DMSC_OP_DECRYPT]
                            : NULL;
    if (op == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        pthread_mutex_lock(&s->token->lock);
        if (s->token->login != CKU_USER)
            rv = CKR_USER_NOT_LOGGED_IN;
        else /* the user PIN again, counted like any try */
            rv = dmsc_token_note_inlock(s->token, s->token->ops->login(s->token->bt, CKU_USER, pin, pin_len));
        dmsc_session_unlock_token(s->token);
        if (rv == CKR_OK)
            dmsc_op_logged_in(op);
    }
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    return rv;
}

#define OP_ENTRY(Name, kind) \
    CK_RV dmsc_C_##Name##Init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key) \
    { TRACE("C_" #Name "Init", op_init(h, kind, m, key)); }

OP_ENTRY(Encrypt, DMSC_OP_ENCRYPT)
OP_ENTRY(Decrypt, DMSC_OP_DECRYPT)
OP_ENTRY(Sign, DMSC_OP_SIGN)
OP_ENTRY(Verify, DMSC_OP_VERIFY)

CK_RV dmsc_C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
    TRACE("C_DigestInit", op_init(h, DMSC_OP_DIGEST, m, CK_INVALID_HANDLE));
}

CK_RV dmsc_C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_Encrypt", op_call(h, DMSC_OP_ENCRYPT, CALL_ONESHOT, in, in_len, out, out_len, 0));
}

CK_RV dmsc_C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_EncryptUpdate", op_call(h, DMSC_OP_ENCRYPT, CALL_UPDATE, in, in_len, out, out_len, 0));
}

CK_RV dmsc_C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_EncryptFinal", op_call(h, DMSC_OP_ENCRYPT, CALL_FINAL, NULL, 0, out, out_len, 0));
}

CK_RV dmsc_C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_Decrypt", op_call(h, DMSC_OP_DECRYPT, CALL_ONESHOT, in, in_len, out, out_len, 0));
}

CK_RV dmsc_C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_DecryptUpdate", op_call(h, DMSC_OP_DECRYPT, CALL_UPDATE, in, in_len, out, out_len, 0));
}

CK_RV dmsc_C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_DecryptFinal", op_call(h, DMSC_OP_DECRYPT, CALL_FINAL, NULL, 0, out, out_len, 0));
}

CK_RV dmsc_C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_Digest", op_call(h, DMSC_OP_DIGEST, CALL_ONESHOT, in, in_len, out, out_len, 0));
}

CK_RV dmsc_C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    TRACE("C_DigestUpdate", op_call(h, DMSC_OP_DIGEST, CALL_UPDATE, in, in_len, NULL, NULL, 0));
}

CK_RV dmsc_C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    TRACE("C_DigestFinal", op_call(h, DMSC_OP_DIGEST, CALL_FINAL, NULL, 0, out, out_len, 0));
}

CK_RV dmsc_C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key_h)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv != CKR_OK)
        return rv;
    if ((rv = dmsc_session_get(h, &s)) != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    dmsc_op *op = s->ops[DMSC_OP_DIGEST];
    void *value = NULL;
    CK_ULONG len = 0;
    if (op == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        pthread_mutex_lock(&s->token->lock);
        dmsc_object *obj = dmsc_token_lookup_inlock(s->token, key_h);
        if (obj == NULL)
            rv = CKR_KEY_HANDLE_INVALID;
        else if (obj->klass != CKO_SECRET_KEY)
            rv = CKR_KEY_INDIGESTIBLE; /* only a secret key's value is digested */
        else if (dmsc_op_mech(op)->canon)
            rv = CKR_KEY_INDIGESTIBLE; /* a key's value is not a DM message */
        else if (!mechanism_allowed(obj, dmsc_op_mech(op)->type))
            rv = CKR_KEY_INDIGESTIBLE; /* a key kept to its mechanisms (the network key) */
        else if ((rv = dmsc_token_value_copy_inlock(s->token, obj, CKA_VALUE, (unsigned char **)&value,
                                                    &len)) == CKR_ATTRIBUTE_TYPE_INVALID)
            rv = CKR_KEY_INDIGESTIBLE;
        dmsc_session_unlock_token(s->token);
        if (rv == CKR_OK)
            rv = dmsc_op_update(op, value, len, NULL, NULL);
        if (rv != CKR_OK) {
            dmsc_op_free(op);
            s->ops[DMSC_OP_DIGEST] = NULL;
        }
    }
    if (value) {
        dmsc_wipe(value, len);
        free(value);
    }
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    TRACE("C_DigestKey", rv);
}

CK_RV dmsc_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    TRACE("C_Sign", op_call(h, DMSC_OP_SIGN, CALL_ONESHOT, in, in_len, sig, sig_len, 0));
}

CK_RV dmsc_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    TRACE("C_SignUpdate", op_call(h, DMSC_OP_SIGN, CALL_UPDATE, in, in_len, NULL, NULL, 0));
}

CK_RV dmsc_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    TRACE("C_SignFinal", op_call(h, DMSC_OP_SIGN, CALL_FINAL, NULL, 0, sig, sig_len, 0));
}

CK_RV dmsc_C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    TRACE("C_Verify", op_call(h, DMSC_OP_VERIFY, CALL_VERIFY, in, in_len, sig, NULL, sig_len));
}

CK_RV dmsc_C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    TRACE("C_VerifyUpdate", op_call(h, DMSC_OP_VERIFY, CALL_UPDATE, in, in_len, NULL, NULL, 0));
}

CK_RV dmsc_C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    TRACE("C_VerifyFinal", op_call(h, DMSC_OP_VERIFY, CALL_VERIFY_FINAL, NULL, 0, sig, NULL, sig_len));
}

/* ---- key generation ---- */

static CK_ULONG template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, bool *found)
{
    const CK_ATTRIBUTE *a = dmsc_template_find(tmpl, n, type);
    CK_ULONG v = 0;
    *found = a != NULL && dmsc_template_ulong(a, &v);
    return v;
}

static CK_RV generate_pkey(const dmsc_mech *m, const CK_ATTRIBUTE *pub, CK_ULONG n_pub,
                           const CK_ATTRIBUTE *priv, CK_ULONG n_priv, EVP_PKEY **out,
                           CK_KEY_TYPE *key_type, const dmsc_curve **curve)
{
    EVP_PKEY_CTX *ctx = NULL;
    CK_RV rv = CKR_OK;
    *curve = NULL;
    if (m->kind == MK_GEN_RSA) {
        bool found;
        CK_ULONG bits = template_ulong(pub, n_pub, CKA_MODULUS_BITS, &found);
        if (!found)
            return CKR_TEMPLATE_INCOMPLETE;
        if (bits < m->info.ulMinKeySize || bits > m->info.ulMaxKeySize)
            return CKR_KEY_SIZE_RANGE;
        const CK_ATTRIBUTE *e = dmsc_template_find(pub, n_pub, CKA_PUBLIC_EXPONENT);
        if (e != NULL && (e->pValue == NULL || e->ulValueLen == 0 || e->ulValueLen > 8))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        BIGNUM *exp = e ? BN_bin2bn(e->pValue, (int)e->ulValueLen, NULL) : NULL;
        if (e != NULL && (exp == NULL || BN_is_zero(exp) || !BN_is_odd(exp) || BN_num_bits(exp) > 64 ||
                          BN_is_one(exp))) {
            BN_free(exp);
            return CKR_ATTRIBUTE_VALUE_INVALID;
        }
        ctx = EVP_PKEY_CTX_new_from_name(dmsc_g.libctx, DMSC_KEYTYPE_RSA, NULL);
        size_t b = bits;
        OSSL_PARAM ps[3] = { OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b),
                             OSSL_PARAM_construct_end(), OSSL_PARAM_construct_end() };
        unsigned char ebuf[8];
        if (exp != NULL) {
            /* OSSL_PARAM integers are native-endian. */
            uint64_t ev = BN_get_word(exp);
            memcpy(ebuf, &ev, sizeof(ev));
            ps[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, ebuf, sizeof(ev));
        }
        BN_free(exp);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, ps) != 1)
            rv = CKR_GENERAL_ERROR;
        *key_type = CKK_RSA;
    } else {
        const CK_ATTRIBUTE *p = dmsc_template_find(pub, n_pub, CKA_EC_PARAMS);
        if (p == NULL)
            p = dmsc_template_find(priv, n_priv, CKA_EC_PARAMS);
        if (p == NULL)
            return CKR_TEMPLATE_INCOMPLETE;
        const dmsc_curve *c = dmsc_curve_from_params(p->pValue, p->ulValueLen);
        CK_KEY_TYPE want = m->kind == MK_GEN_EC ? CKK_EC : CKK_EC_EDWARDS;
        if (c == NULL || c->key_type != want)
            return CKR_CURVE_NOT_SUPPORTED;
        *curve = c;
        *key_type = want;
        if (want == CKK_EC) {
            ctx = EVP_PKEY_CTX_new_from_name(dmsc_g.libctx, DMSC_KEYTYPE_EC, NULL);
            OSSL_PARAM ps[] = { OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                                 (char *)c->group, 0),
                                OSSL_PARAM_construct_end() };
            if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, ps) != 1)
                rv = CKR_GENERAL_ERROR;
        } else {
            ctx = EVP_PKEY_CTX_new_from_name(dmsc_g.libctx, DMSC_KEYTYPE_ED25519, NULL);
            if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1)
                rv = CKR_GENERAL_ERROR;
        }
    }
    if (rv == CKR_OK && EVP_PKEY_generate(ctx, out) != 1)
        rv = CKR_FUNCTION_FAILED;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV dmsc_C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl,
                             CK_ULONG n_pub, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
                             CK_OBJECT_HANDLE_PTR pub_h, CK_OBJECT_HANDLE_PTR priv_h)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (mech == NULL || pub_h == NULL || priv_h == NULL || (pub_tmpl == NULL && n_pub) ||
        (priv_tmpl == NULL && n_priv))
        TRACE("C_GenerateKeyPair", CKR_ARGUMENTS_BAD);
    dmsc_session *s;
    if ((rv = dmsc_session_get(h, &s)) != CKR_OK)
        TRACE("C_GenerateKeyPair", rv);
    dmsc_session_put(s);
    const dmsc_mech *m = dmsc_mech_find(mech->mechanism);
    if (m == NULL || !(m->info.flags & CKF_GENERATE_KEY_PAIR))
        TRACE("C_GenerateKeyPair", CKR_MECHANISM_INVALID);
    if (mech->pParameter != NULL && mech->ulParameterLen != 0)
        TRACE("C_GenerateKeyPair", CKR_MECHANISM_PARAM_INVALID);

    /* Generate with no lock held: an RSA-4096 key takes its time. */
    EVP_PKEY *pkey = NULL;
    CK_KEY_TYPE key_type = 0;
    const dmsc_curve *curve = NULL;
    rv = generate_pkey(m, pub_tmpl, n_pub, priv_tmpl, n_priv, &pkey, &key_type, &curve);
    dmsc_attrs pub_mat, priv_mat, pub_attrs, priv_attrs;
    dmsc_attrs_init(&pub_mat);
    dmsc_attrs_init(&priv_mat);
    dmsc_attrs_init(&pub_attrs);
    dmsc_attrs_init(&priv_attrs);
    if (rv == CKR_OK)
        rv = dmsc_pkey_to_attrs(pkey, key_type, curve, &pub_mat, &priv_mat);
    EVP_PKEY_free(pkey);
    if (rv != CKR_OK)
        goto out;

    if ((rv = dmsc_session_enter(h, true, &s)) != CKR_OK)
        goto out;
    dmsc_policy_who who = dmsc_token_who_inlock(s->token);
    rv = dmsc_policy_generate(pub_tmpl, n_pub, who, CKO_PUBLIC_KEY, key_type, &pub_mat, m->type, &pub_attrs);
    if (rv == CKR_OK)
        rv = dmsc_policy_generate(priv_tmpl, n_priv, who, CKO_PRIVATE_KEY, key_type, &priv_mat, m->type,
                                  &priv_attrs);
    CK_OBJECT_HANDLE ph = CK_INVALID_HANDLE;
    if (rv == CKR_OK)
        rv = dmsc_store_new_inlock(s, &pub_attrs, &ph);
    if (rv == CKR_OK) {
        rv = dmsc_store_new_inlock(s, &priv_attrs, priv_h);
        if (rv != CKR_OK) {
            /* Both or neither. */
            dmsc_object *obj = dmsc_token_lookup_inlock(s->token, ph);
            if (obj != NULL) {
                if (obj->oid != 0)
                    dmsc_token_note_inlock(s->token, s->token->ops->destroy(s->token->bt, obj->oid));
                dmsc_token_drop_inlock(s->token, obj);
            }
        } else {
            *pub_h = ph;
        }
    }
    dmsc_session_leave(s);
out:
    dmsc_attrs_clear(&pub_mat);
    dmsc_attrs_clear(&priv_mat);
    dmsc_attrs_clear(&pub_attrs);
    dmsc_attrs_clear(&priv_attrs);
    TRACE("C_GenerateKeyPair", rv);
}

CK_RV dmsc_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR key_h)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (mech == NULL || key_h == NULL || (tmpl == NULL && n))
        TRACE("C_GenerateKey", CKR_ARGUMENTS_BAD);
    const dmsc_mech *m = dmsc_mech_find(mech->mechanism);
    if (m == NULL || !(m->info.flags & CKF_GENERATE))
        TRACE("C_GenerateKey", CKR_MECHANISM_INVALID);
    if (mech->pParameter != NULL && mech->ulParameterLen != 0)
        TRACE("C_GenerateKey", CKR_MECHANISM_PARAM_INVALID);
    bool found;
    CK_ULONG len = template_ulong(tmpl, n, CKA_VALUE_LEN, &found);
    CK_KEY_TYPE key_type = m->kind == MK_GEN_AES ? CKK_AES : CKK_GENERIC_SECRET;
    const CK_ATTRIBUTE *kt = dmsc_template_find(tmpl, n, CKA_KEY_TYPE);
    if (kt != NULL && m->kind == MK_GEN_GENERIC) {
        /* A generic secret may be typed as an HMAC key of one digest. */
        CK_ULONG want;
        if (!dmsc_template_ulong(kt, &want))
            TRACE("C_GenerateKey", CKR_ATTRIBUTE_VALUE_INVALID);
        if (want == CKK_GENERIC_SECRET || want == CKK_SHA_1_HMAC || want == CKK_SHA256_HMAC ||
            want == CKK_SHA384_HMAC || want == CKK_SHA512_HMAC || want == CKK_MD5_HMAC)
            key_type = want;
    }
    if (!found)
        TRACE("C_GenerateKey", CKR_TEMPLATE_INCOMPLETE);
    if (len < m->info.ulMinKeySize || len > m->info.ulMaxKeySize ||
        (key_type == CKK_AES && len != 16 && len != 24 && len != 32))
        TRACE("C_GenerateKey", CKR_ATTRIBUTE_VALUE_INVALID);
    unsigned char value[512];
    if (RAND_priv_bytes_ex(dmsc_g.libctx, value, len, 0) != 1)
        TRACE("C_GenerateKey", CKR_FUNCTION_FAILED);
    dmsc_attrs mat, attrs;
    dmsc_attrs_init(&mat);
    dmsc_attrs_init(&attrs);
    rv = dmsc_attrs_set(&mat, CKA_VALUE, value, len);
    dmsc_wipe(value, sizeof(value));
    dmsc_session *s = NULL;
    if (rv == CKR_OK)
        rv = dmsc_session_enter(h, true, &s);
    if (rv == CKR_OK) {
        rv = dmsc_policy_generate(tmpl, n, dmsc_token_who_inlock(s->token), CKO_SECRET_KEY, key_type, &mat, m->type, &attrs);
        if (rv == CKR_OK)
            rv = dmsc_store_new_inlock(s, &attrs, key_h);
        dmsc_session_leave(s);
    }
    dmsc_attrs_clear(&mat);
    dmsc_attrs_clear(&attrs);
    TRACE("C_GenerateKey", rv);
}

/* ---- wrapping ---- */

/* The bytes a key wraps to: a secret key's value, or a private key's
 * PKCS#8 encoding. */
static CK_RV wrappable_inlock(dmsc_token *t, dmsc_object *obj, const dmsc_object *wrapper,
                              unsigned char **out, size_t *out_len)
{
    if (!dmsc_attrs_is_true(&obj->attrs, CKA_EXTRACTABLE, false))
        return CKR_KEY_UNEXTRACTABLE;
    if (dmsc_attrs_is_true(&obj->attrs, CKA_WRAP_WITH_TRUSTED, false) &&
        !dmsc_attrs_is_true(&wrapper->attrs, CKA_TRUSTED, false))
        return CKR_KEY_NOT_WRAPPABLE;
    if (obj->klass == CKO_SECRET_KEY) {
        CK_ULONG len = 0;
        CK_RV rv = dmsc_token_value_copy_inlock(t, obj, CKA_VALUE, out, &len);
        *out_len = len;
        return rv == CKR_ATTRIBUTE_TYPE_INVALID ? CKR_KEY_NOT_WRAPPABLE : rv;
    }
    if (obj->klass != CKO_PRIVATE_KEY)
        return CKR_KEY_NOT_WRAPPABLE;
    if (dmsc_card_key_is(t, obj))
        return CKR_KEY_UNEXTRACTABLE; /* its value never leaves the card */
    EVP_PKEY *pkey;
    CK_RV rv = dmsc_token_pkey_inlock(t, obj, dmsc_g.libctx, &pkey);
    if (rv != CKR_OK)
        return rv;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    unsigned char *der = NULL;
    int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (len <= 0)
        return CKR_KEY_NOT_WRAPPABLE;
    *out = malloc((size_t)len);
    if (*out != NULL)
        memcpy(*out, der, (size_t)len);
    OPENSSL_clear_free(der, (size_t)len);
    *out_len = (size_t)len;
    return *out ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV dmsc_C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE wrapping_h,
                     CK_OBJECT_HANDLE key_h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (mech == NULL || out_len == NULL)
        TRACE("C_WrapKey", CKR_ARGUMENTS_BAD);
    const dmsc_mech *m = dmsc_mech_find(mech->mechanism);
    if (m == NULL || !(m->info.flags & CKF_WRAP))
        TRACE("C_WrapKey", CKR_MECHANISM_INVALID);
    dmsc_session *s;
    if ((rv = dmsc_session_enter(h, true, &s)) != CKR_OK)
        TRACE("C_WrapKey", rv);
    dmsc_op_key key = { 0 };
    bool always_auth;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    /* The wrapping key encrypts: check it as for encryption, with CKA_WRAP. */
    rv = key_for_inlock(s->token, wrapping_h, DMSC_OP_ENCRYPT, m, CKA_WRAP, &key, &always_auth, 0, NULL);
    if (rv == CKR_KEY_HANDLE_INVALID)
        rv = CKR_WRAPPING_KEY_HANDLE_INVALID;
    else if (rv == CKR_KEY_TYPE_INCONSISTENT)
        rv = CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_OK && key.pkey)
        EVP_PKEY_up_ref(key.pkey);
    dmsc_object *wrapper = dmsc_token_lookup_inlock(s->token, wrapping_h);
    dmsc_object *obj = dmsc_token_lookup_inlock(s->token, key_h);
    if (rv == CKR_OK && obj == NULL)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK)
        rv = wrappable_inlock(s->token, obj, wrapper, &plain, &plain_len);
    dmsc_session_leave(s);
    dmsc_op *op = NULL;
    if (rv == CKR_OK) {
        rv = dmsc_op_init(dmsc_g.libctx, DMSC_OP_ENCRYPT, m, mech, &key, &op);
        key.secret = NULL; /* taken by the operation, or freed */
        key.card = NULL;
    }
    if (rv == CKR_OK)
        rv = dmsc_op_oneshot(op, plain, plain_len, out, out_len);
    if (rv == CKR_DATA_LEN_RANGE)
        rv = CKR_KEY_SIZE_RANGE; /* the key does not fit the wrapping mechanism */
    dmsc_op_free(op);
    EVP_PKEY_free(key.pkey);
    key_release(&key);
    if (plain) {
        dmsc_wipe(plain, plain_len);
        free(plain);
    }
    TRACE("C_WrapKey", rv);
}

/* Attributes of an unwrapped key: a secret's value, or a private key's
 * material from its PKCS#8 encoding. */
static CK_RV unwrapped_material(const unsigned char *plain, size_t len, CK_OBJECT_CLASS klass,
                                CK_KEY_TYPE *key_type, dmsc_attrs *mat)
{
    if (klass == CKO_SECRET_KEY)
        return dmsc_attrs_set(mat, CKA_VALUE, plain, len);
    if (klass != CKO_PRIVATE_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    const unsigned char *p = plain;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    EVP_PKEY *pkey = p8 ? EVP_PKCS82PKEY_ex(p8, dmsc_g.libctx, NULL) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (pkey == NULL)
        return CKR_WRAPPED_KEY_INVALID;
    CK_RV rv = CKR_OK;
    const dmsc_curve *curve = NULL;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        *key_type = CKK_RSA;
    } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *key_type = CKK_EC_EDWARDS;
        static const unsigned char ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
        curve = dmsc_curve_from_params(ed_oid, sizeof(ed_oid));
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        *key_type = CKK_EC;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
            rv = CKR_WRAPPED_KEY_INVALID;
        int nid = rv == CKR_OK ? OBJ_sn2nid(group) : NID_undef;
        if (nid == NID_undef && rv == CKR_OK)
            nid = EC_curve_nist2nid(group);
        unsigned char *der = NULL;
        int n = nid != NID_undef ? i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &der) : -1;
        curve = n > 0 ? dmsc_curve_from_params(der, (size_t)n) : NULL;
        OPENSSL_free(der);
    } else {
        rv = CKR_WRAPPED_KEY_INVALID;
    }
    if (rv == CKR_OK && *key_type != CKK_RSA && curve == NULL)
        rv = CKR_CURVE_NOT_SUPPORTED;
    if (rv == CKR_OK)
        rv = dmsc_pkey_to_attrs(pkey, *key_type, curve, NULL, mat);
    EVP_PKEY_free(pkey);
    return rv;
}

CK_RV dmsc_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE unwrapping_h,
                       CK_BYTE_PTR wrapped, CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE_PTR key_h)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (mech == NULL || key_h == NULL || wrapped == NULL || (tmpl == NULL && n))
        TRACE("C_UnwrapKey", CKR_ARGUMENTS_BAD);
    const dmsc_mech *m = dmsc_mech_find(mech->mechanism);
    if (m == NULL || !(m->info.flags & CKF_UNWRAP))
        TRACE("C_UnwrapKey", CKR_MECHANISM_INVALID);
    bool found;
    CK_OBJECT_CLASS klass = template_ulong(tmpl, n, CKA_CLASS, &found);
    if (!found)
        TRACE("C_UnwrapKey", CKR_TEMPLATE_INCOMPLETE);
    CK_KEY_TYPE key_type = template_ulong(tmpl, n, CKA_KEY_TYPE, &found);
    if (!found && klass == CKO_SECRET_KEY)
        TRACE("C_UnwrapKey", CKR_TEMPLATE_INCOMPLETE);

    /* RFC 5649 output is whole 64-bit blocks, at least two of them. */
    if (m->kind == MK_AES_WRAP_PAD && (wrapped_len < 16 || wrapped_len % 8 != 0))
        TRACE("C_UnwrapKey", CKR_WRAPPED_KEY_LEN_RANGE);
    dmsc_session *s;
    if ((rv = dmsc_session_enter(h, true, &s)) != CKR_OK)
        TRACE("C_UnwrapKey", rv);
    dmsc_op_key key = { 0 };
    bool always_auth;
    rv = key_for_inlock(s->token, unwrapping_h, DMSC_OP_DECRYPT, m, CKA_UNWRAP, &key, &always_auth, 0, NULL);
    /* Unwrapping is a decryption: a key that wants a PIN per use may not
     * be used where no context-specific login can be asked for. */
    if (rv == CKR_OK && always_auth)
        rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (rv == CKR_KEY_HANDLE_INVALID)
        rv = CKR_UNWRAPPING_KEY_HANDLE_INVALID;
    else if (rv == CKR_KEY_TYPE_INCONSISTENT)
        rv = CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_OK && key.pkey)
        EVP_PKEY_up_ref(key.pkey);
    dmsc_session_leave(s);

    dmsc_op *op = NULL;
    unsigned char *plain = NULL;
    CK_ULONG plain_len = 0;
    if (rv == CKR_OK) {
        rv = dmsc_op_init(dmsc_g.libctx, DMSC_OP_DECRYPT, m, mech, &key, &op);
        key.secret = NULL; /* taken by the operation, or freed */
        key.card = NULL;
    }
    if (rv == CKR_OK)
        rv = dmsc_op_oneshot(op, wrapped, wrapped_len, NULL, &plain_len);
    if (rv == CKR_OK && (plain = malloc(plain_len ? plain_len : 1)) == NULL)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = dmsc_op_oneshot(op, wrapped, wrapped_len, plain, &plain_len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID)
        rv = CKR_WRAPPED_KEY_INVALID;
    else if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
        rv = CKR_WRAPPED_KEY_LEN_RANGE;
    dmsc_op_free(op);
    EVP_PKEY_free(key.pkey);
    key_release(&key);

    dmsc_attrs mat, attrs;
    dmsc_attrs_init(&mat);
    dmsc_attrs_init(&attrs);
    if (rv == CKR_OK)
        rv = unwrapped_material(plain, plain_len, klass, &key_type, &mat);
    if (plain) {
        dmsc_wipe(plain, plain_len);
        free(plain);
    }
    if (rv == CKR_OK && (rv = dmsc_session_enter(h, true, &s)) == CKR_OK) {
        rv = dmsc_policy_generate(tmpl, n, dmsc_token_who_inlock(s->token), klass, key_type, &mat,
                                  CK_UNAVAILABLE_INFORMATION, &attrs);
        if (rv == CKR_OK)
            rv = dmsc_store_new_inlock(s, &attrs, key_h);
        dmsc_session_leave(s);
    }
    dmsc_attrs_clear(&mat);
    dmsc_attrs_clear(&attrs);
    TRACE("C_UnwrapKey", rv);
}
