/*
 * The PKCS#11 surface: every function of the 2.40 function list. Each
 * checks its arguments, finds its session or slot, and hands the work to
 * the model (token.c, session.c, policy.c) and the backend. Functions a
 * card does not offer yet return CKR_FUNCTION_NOT_SUPPORTED. The two
 * function lists live here: 2.40 (C_GetFunctionList) and 3.0, which adds
 * the functions of interface.c (C_GetInterface).
 */
#include "common.h"

#include "api.h"
#include "card-key.h"
#include "keys.h"
#include "policy.h"
#include "session.h"
#include "slots.h"
#include "state.h"
#include "token.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define TRACE DMSC_TRACE_RETURN


/* ---- helpers: hold a session, then its token ---- */

static CK_RV enter(CK_SESSION_HANDLE h, dmsc_session **s)
{
    return dmsc_session_enter(h, true, s);
}

static void leave(dmsc_session *s)
{
    dmsc_session_leave(s);
}

/* Store a new object (token or session) built from checked attributes. */
CK_RV dmsc_store_new_inlock(dmsc_session *s, dmsc_attrs *attrs, CK_OBJECT_HANDLE *out)
{
    dmsc_token *t = s->token;
    bool on_token = dmsc_attrs_is_true(attrs, CKA_TOKEN, false);
    bool is_private = dmsc_attrs_is_true(attrs, CKA_PRIVATE, false);
    if (on_token && !dmsc_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    if (is_private && t->login != CKU_USER)
        return CKR_USER_NOT_LOGGED_IN;
    dmsc_object *obj;
    if (on_token) {
        uint64_t oid = 0;
        dmsc_attrs stored;
        CK_RV rv = dmsc_token_note_inlock(t, t->ops->create(t->bt, attrs, &oid, &stored));
        if (rv != CKR_OK)
            return rv;
        obj = dmsc_object_new(&stored);
        if (obj == NULL) {
            dmsc_attrs_clear(&stored);
            return CKR_HOST_MEMORY; /* stored; the next sync finds it */
        }
        obj->oid = oid;
    } else {
        obj = dmsc_object_new(attrs);
        if (obj == NULL)
            return CKR_HOST_MEMORY;
        obj->owner = s->handle;
    }
    CK_RV rv = dmsc_token_add_inlock(t, obj);
    if (rv != CKR_OK) {
        dmsc_object_free(obj);
        return rv;
    }
    *out = obj->handle;
    return CKR_OK;
}

/* ---- general ---- */

static CK_RV dmsc_C_Initialize(CK_VOID_PTR init_args)
{
    return dmsc_state_initialize(init_args);
}

static CK_RV dmsc_C_Finalize(CK_VOID_PTR reserved)
{
    TRACE("C_Finalize", dmsc_state_finalize(reserved));
}

static CK_RV dmsc_C_GetInfo(CK_INFO_PTR info)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    dmsc_pad_copy(info->manufacturerID, sizeof(info->manufacturerID), "dmsc", 4);
    const char *desc = "dmsc UICC PKCS#11 module";
    dmsc_pad_copy(info->libraryDescription, sizeof(info->libraryDescription), desc, strlen(desc));
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}

/* Through the 3.0 interface the module speaks PKCS#11 3.0. */
static CK_RV dmsc_C_GetInfo_3_0(CK_INFO_PTR info)
{
    CK_RV rv = dmsc_C_GetInfo(info);
    if (rv == CKR_OK) {
        info->cryptokiVersion.major = 3;
        info->cryptokiVersion.minor = 0;
    }
    return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL)
        return CKR_ARGUMENTS_BAD;
    *list = &dmsc_function_list;
    return CKR_OK;
}

/* ---- slots and tokens ---- */

static CK_RV dmsc_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    TRACE("C_GetSlotList", dmsc_slots_list(present, list, count));
}

static CK_RV dmsc_C_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    TRACE("C_GetSlotInfo", dmsc_slots_info(id, info));
}

static CK_RV dmsc_C_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t = NULL;
    if (rv == CKR_OK && info == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = dmsc_slots_present_token(id, &t);
    if (rv != CKR_OK)
        TRACE("C_GetTokenInfo", rv);
    pthread_mutex_lock(&t->lock);
    rv = t->ops->token_info(t->bt, info);
    if (rv == CKR_DEVICE_REMOVED)
        rv = CKR_TOKEN_NOT_PRESENT; /* gone since the refresh */
    if (rv == CKR_OK) {
        info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
        info->ulSessionCount = t->n_sessions;
        info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
        info->ulRwSessionCount = t->n_rw_sessions;
    }
    dmsc_session_unlock_token(t);
    TRACE("C_GetTokenInfo", rv);
}

static CK_RV dmsc_C_InitToken(CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len, CK_UTF8CHAR_PTR label)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t = NULL;
    if (rv == CKR_OK && (pin == NULL || label == NULL))
        rv = CKR_ARGUMENTS_BAD; /* no protected authentication path */
    if (rv == CKR_OK)
        rv = dmsc_slots_present_token(id, &t);
    if (rv != CKR_OK)
        TRACE("C_InitToken", rv);
    pthread_mutex_lock(&t->lock);
    if (t->n_sessions > 0)
        rv = CKR_SESSION_EXISTS;
    else
        rv = dmsc_token_note_inlock(t, t->ops->init_token(t->bt, pin, pin_len, label));
    if (rv == CKR_OK) {
        dmsc_token_forget_inlock(t);
        t->login = DMSC_NOBODY;
    }
    dmsc_session_unlock_token(t);
    /* A new application frees the spare slot's place: show the next one. */
    if (rv == CKR_OK)
        dmsc_slots_refresh();
    TRACE("C_InitToken", rv);
}

static CK_RV dmsc_C_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_InitPIN", rv);
    if (dmsc_session_state_inlock(s) != CKS_RW_SO_FUNCTIONS)
        rv = CKR_USER_NOT_LOGGED_IN;
    else if (pin == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = dmsc_token_note_inlock(s->token, s->token->ops->init_pin(s->token->bt, pin, pin_len));
    leave(s);
    TRACE("C_InitPIN", rv);
}

static CK_RV dmsc_C_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                      CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_SetPIN", rv);
    if (old_pin == NULL || new_pin == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (!dmsc_session_rw(s))
        rv = CKR_SESSION_READ_ONLY;
    else
        rv = dmsc_token_note_inlock(s->token,
                                    s->token->ops->set_pin(s->token->bt, s->token->login == CKU_SO ? CKU_SO : CKU_USER,
                                                           old_pin, old_len, new_pin, new_len));
    leave(s);
    TRACE("C_SetPIN", rv);
}

/* ---- sessions ---- */

static CK_RV dmsc_C_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                           CK_SESSION_HANDLE_PTR out)
{
    (void)app;
    (void)notify; /* no callbacks: the token never needs to tell the application */
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t = NULL;
    if (rv == CKR_OK && out == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK && !(flags & CKF_SERIAL_SESSION))
        rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (rv == CKR_OK)
        rv = dmsc_slots_present_token(id, &t);
    if (rv != CKR_OK)
        TRACE("C_OpenSession", rv);
    CK_TOKEN_INFO info;
    pthread_mutex_lock(&t->lock);
    rv = t->ops->token_info(t->bt, &info);
    if (rv == CKR_DEVICE_REMOVED)
        rv = CKR_TOKEN_NOT_PRESENT; /* gone since the refresh */
    if (rv == CKR_OK && !(info.flags & CKF_TOKEN_INITIALIZED))
        rv = CKR_TOKEN_NOT_RECOGNIZED; /* the spare slot: C_InitToken first */
    if (rv == CKR_OK)
        rv = dmsc_token_sync_inlock(t);
    dmsc_session_unlock_token(t);
    if (rv == CKR_OK)
        rv = dmsc_session_open(t, flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION), out);
    TRACE("C_OpenSession", rv);
}

static CK_RV dmsc_C_CloseSession(CK_SESSION_HANDLE h)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv == CKR_OK)
        rv = dmsc_session_close(h);
    TRACE("C_CloseSession", rv);
}

static CK_RV dmsc_C_CloseAllSessions(CK_SLOT_ID id)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_token *t;
    if (rv == CKR_OK)
        rv = dmsc_slots_token(id, &t);
    if (rv == CKR_OK)
        dmsc_session_close_all(t);
    TRACE("C_CloseAllSessions", rv);
}

static CK_RV dmsc_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
    dmsc_session *s;
    /* Synced: a token re-initialised by another process shows logged out. */
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_GetSessionInfo", rv);
    if (info == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else {
        info->slotID = s->token->slot_id;
        info->state = dmsc_session_state_inlock(s);
        info->flags = s->flags;
        info->ulDeviceError = 0;
    }
    leave(s);
    TRACE("C_GetSessionInfo", rv);
}

static CK_RV dmsc_C_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG_PTR len)
{
    (void)h, (void)state, (void)len;
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV dmsc_C_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG len,
                                 CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
    (void)h, (void)state, (void)len, (void)enc_key, (void)auth_key;
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV dmsc_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_Login", rv);
    dmsc_token *t = s->token;
    if (user != CKU_USER && user != CKU_SO && user != CKU_CONTEXT_SPECIFIC)
        rv = CKR_USER_TYPE_INVALID;
    else if (user == CKU_CONTEXT_SPECIFIC && pin == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (user == CKU_CONTEXT_SPECIFIC) {
        /* Authorises one operation; the login state does not change. */
        leave(s);
        TRACE("C_Login", dmsc_context_login(h, pin, pin_len));
    }
    else if (pin == NULL)
        rv = CKR_ARGUMENTS_BAD; /* no protected authentication path */
    else if (t->login == user)
        rv = CKR_USER_ALREADY_LOGGED_IN;
    else if (t->login != DMSC_NOBODY)
        rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    else if (user == CKU_SO && t->n_sessions > t->n_rw_sessions)
        rv = CKR_SESSION_READ_ONLY_EXISTS;
    else
        rv = dmsc_token_note_inlock(t, t->ops->login(t->bt, user, pin, pin_len));
    if (rv == CKR_OK)
        t->login = user;
    leave(s);
    TRACE("C_Login", rv);
}

static CK_RV dmsc_C_Logout(CK_SESSION_HANDLE h)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_Logout", rv);
    if (s->token->login == DMSC_NOBODY) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else {
        s->token->ops->logout(s->token->bt);
        s->token->login = DMSC_NOBODY;
        dmsc_token_forget_keys_inlock(s->token);
    }
    dmsc_token *t = s->token;
    leave(s);
    /* Finished operations kept for reuse may hold key material. */
    if (rv == CKR_OK)
        dmsc_session_drop_spares(t);
    TRACE("C_Logout", rv);
}

/* ---- objects ---- */

static CK_RV dmsc_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                            CK_OBJECT_HANDLE_PTR out)
{
    if (out == NULL || (tmpl == NULL && n > 0))
        return dmsc_check_initialized() != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_ARGUMENTS_BAD;
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_CreateObject", rv);
    dmsc_attrs attrs;
    rv = dmsc_policy_create(tmpl, n, dmsc_token_who_inlock(s->token), &attrs);
    if (rv == CKR_OK)
        rv = dmsc_pkey_spki_fill(dmsc_g.libctx, &attrs);
    if (rv == CKR_OK)
        rv = dmsc_store_new_inlock(s, &attrs, out);
    dmsc_attrs_clear(&attrs);
    leave(s);
    TRACE("C_CreateObject", rv);
}

static CK_RV dmsc_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE src, CK_ATTRIBUTE_PTR tmpl,
                          CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
    if (out == NULL || (tmpl == NULL && n > 0))
        return dmsc_check_initialized() != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_ARGUMENTS_BAD;
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_CopyObject", rv);
    dmsc_object *obj = dmsc_token_lookup_inlock(s->token, src);
    dmsc_attrs plain, copy;
    dmsc_attrs_init(&plain);
    dmsc_attrs_init(&copy);
    if (obj == NULL)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else if (!dmsc_attrs_is_true(&obj->attrs, CKA_COPYABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else
        rv = dmsc_token_plain_attrs_inlock(s->token, obj, &plain);
    if (rv == CKR_OK)
        rv = dmsc_policy_modify(&plain, tmpl, n, dmsc_token_who_inlock(s->token), true, &copy);
    if (rv == CKR_OK)
        rv = dmsc_store_new_inlock(s, &copy, out);
    dmsc_attrs_clear(&plain);
    dmsc_attrs_clear(&copy);
    leave(s);
    TRACE("C_CopyObject", rv);
}

static CK_RV dmsc_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_DestroyObject", rv);
    dmsc_token *t = s->token;
    dmsc_object *obj = dmsc_token_lookup_inlock(t, oh);
    if (obj == NULL)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else if (!dmsc_attrs_is_true(&obj->attrs, CKA_DESTROYABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else if (obj->oid != 0 && !dmsc_session_rw(s))
        rv = CKR_SESSION_READ_ONLY;
    else if (obj->oid != 0)
        rv = dmsc_token_note_inlock(t, t->ops->destroy(t->bt, obj->oid));
    if (rv == CKR_OK)
        dmsc_token_drop_inlock(t, obj);
    leave(s);
    TRACE("C_DestroyObject", rv);
}

static CK_RV dmsc_C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ULONG_PTR size)
{
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_GetObjectSize", rv);
    dmsc_object *obj = dmsc_token_lookup_inlock(s->token, oh);
    if (size == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (obj == NULL)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else
        *size = dmsc_attrs_size(&obj->attrs);
    leave(s);
    TRACE("C_GetObjectSize", rv);
}

/* One attribute of C_GetAttributeValue; returns this attribute's code. */
/* A private value the card keeps: it exists, and is never revealed. */
static bool card_secret(dmsc_token *t, const dmsc_object *obj, CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
    case CKA_VALUE:
        return dmsc_card_key_is(t, obj);
    default:
        return false;
    }
}

static CK_RV get_one_inlock(dmsc_token *t, const dmsc_object *obj, CK_ATTRIBUTE *a)
{
    CK_RV rv = card_secret(t, obj, a->type) ? CKR_ATTRIBUTE_SENSITIVE : dmsc_policy_readable(&obj->attrs, a->type);
    if (rv != CKR_OK) {
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return rv;
    }
    const void *value;
    CK_ULONG len;
    bool owned;
    rv = dmsc_token_value_inlock(t, obj, dmsc_attrs_find(&obj->attrs, a->type), &value, &len, &owned);
    if (rv != CKR_OK) {
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return rv;
    }
    if (a->pValue == NULL) {
        a->ulValueLen = len;
    } else if (a->ulValueLen < len) {
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        if (len)
            memcpy(a->pValue, value, len);
        a->ulValueLen = len;
    }
    if (owned) {
        dmsc_wipe((void *)value, len);
        free((void *)value);
    }
    return rv;
}

static CK_RV dmsc_C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    if (tmpl == NULL && n > 0)
        return dmsc_check_initialized() != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_ARGUMENTS_BAD;
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_GetAttributeValue", rv);
    dmsc_object *obj = dmsc_token_lookup_inlock(s->token, oh);
    if (obj == NULL) {
        rv = CKR_OBJECT_HANDLE_INVALID;
    } else {
        /* Every attribute is processed whatever happens to the others;
         * the call answers with one of the codes that applied. */
        for (CK_ULONG i = 0; i < n; i++) {
            CK_RV one = get_one_inlock(s->token, obj, &tmpl[i]);
            if (one != CKR_OK && (rv == CKR_OK || one == CKR_ATTRIBUTE_SENSITIVE))
                rv = one;
        }
    }
    leave(s);
    TRACE("C_GetAttributeValue", rv);
}

static CK_RV dmsc_C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    if (tmpl == NULL && n > 0)
        return dmsc_check_initialized() != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_ARGUMENTS_BAD;
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_SetAttributeValue", rv);
    dmsc_token *t = s->token;
    dmsc_object *obj = dmsc_token_lookup_inlock(t, oh);
    dmsc_attrs plain, changed;
    dmsc_attrs_init(&plain);
    dmsc_attrs_init(&changed);
    if (obj == NULL)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else if (!dmsc_attrs_is_true(&obj->attrs, CKA_MODIFIABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else if (obj->oid != 0 && !dmsc_session_rw(s))
        rv = CKR_SESSION_READ_ONLY;
    else
        rv = dmsc_token_plain_attrs_inlock(t, obj, &plain);
    if (rv == CKR_OK)
        rv = dmsc_policy_modify(&plain, tmpl, n, dmsc_token_who_inlock(t), false, &changed);
    if (rv == CKR_OK && obj->oid != 0) {
        dmsc_attrs stored;
        rv = dmsc_token_note_inlock(t, t->ops->update(t->bt, obj->oid, &changed, &stored));
        if (rv == CKR_OK)
            dmsc_token_replace_inlock(t, obj, &stored);
        else if (rv == CKR_OBJECT_HANDLE_INVALID)
            dmsc_token_drop_inlock(t, obj); /* destroyed by another process */
    } else if (rv == CKR_OK) {
        dmsc_token_replace_inlock(t, obj, &changed);
    }
    dmsc_attrs_clear(&plain);
    dmsc_attrs_clear(&changed);
    leave(s);
    TRACE("C_SetAttributeValue", rv);
}

static CK_RV dmsc_C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    if (tmpl == NULL && n > 0)
        return dmsc_check_initialized() != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED : CKR_ARGUMENTS_BAD;
    dmsc_session *s;
    CK_RV rv = enter(h, &s);
    if (rv != CKR_OK)
        TRACE("C_FindObjectsInit", rv);
    CK_OBJECT_HANDLE *found = NULL;
    size_t n_found = 0;
    rv = dmsc_token_find_inlock(s->token, tmpl, n, &found, &n_found);
    dmsc_session_unlock_token(s->token);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&s->lock);
        if (s->finding) {
            rv = CKR_OPERATION_ACTIVE;
            free(found);
        } else {
            s->finding = true;
            s->found = found;
            s->n_found = n_found;
            s->pos = 0;
        }
        pthread_mutex_unlock(&s->lock);
    }
    dmsc_session_put(s);
    TRACE("C_FindObjectsInit", rv);
}

static CK_RV dmsc_C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR count)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv == CKR_OK)
        rv = dmsc_session_get(h, &s);
    if (rv != CKR_OK)
        TRACE("C_FindObjects", rv);
    pthread_mutex_lock(&s->lock);
    if (out == NULL || count == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        CK_ULONG k = 0;
        while (k < max && s->pos < s->n_found)
            out[k++] = s->found[s->pos++];
        *count = k;
    }
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    TRACE("C_FindObjects", rv);
}

static CK_RV dmsc_C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv == CKR_OK)
        rv = dmsc_session_get(h, &s);
    if (rv != CKR_OK)
        TRACE("C_FindObjectsFinal", rv);
    pthread_mutex_lock(&s->lock);
    if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        free(s->found);
        s->found = NULL;
        s->n_found = s->pos = 0;
        s->finding = false;
    }
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    TRACE("C_FindObjectsFinal", rv);
}

/* ---- random numbers ---- */

static CK_RV dmsc_C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
    (void)seed, (void)len;
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv == CKR_OK)
        rv = dmsc_session_get(h, &s);
    if (rv != CKR_OK)
        return rv;
    dmsc_session_put(s);
    /* OpenSSL's DRBG seeds itself from the OS; outside seed is not mixed in. */
    return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

static CK_RV dmsc_C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv == CKR_OK)
        rv = dmsc_session_get(h, &s);
    if (rv != CKR_OK)
        TRACE("C_GenerateRandom", rv);
    if (out == NULL && len > 0)
        rv = CKR_ARGUMENTS_BAD;
    for (CK_ULONG done = 0; rv == CKR_OK && done < len;) {
        CK_ULONG chunk = len - done > INT32_MAX ? INT32_MAX : len - done;
        if (RAND_bytes_ex(dmsc_g.libctx, out + done, chunk, 0) != 1)
            rv = CKR_FUNCTION_FAILED;
        done += chunk;
    }
    dmsc_session_put(s);
    TRACE("C_GenerateRandom", rv);
}

/* ---- not (yet) offered by the card ---- */

static CK_RV not_supported(void)
{
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

#define UNSUPPORTED(name, ...)                                              \
    static CK_RV name(__VA_ARGS__) { return not_supported(); }

UNSUPPORTED(dmsc_C_SignRecoverInit, CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
UNSUPPORTED(dmsc_C_SignRecover, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_VerifyRecoverInit, CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
UNSUPPORTED(dmsc_C_VerifyRecover, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_DigestEncryptUpdate, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_DecryptDigestUpdate, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_SignEncryptUpdate, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_DecryptVerifyUpdate, CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
UNSUPPORTED(dmsc_C_DeriveKey, CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE_PTR d,
            CK_ULONG e, CK_OBJECT_HANDLE_PTR f)

/* Parallel functions are legacy: the spec's answer for every session. */
static CK_RV dmsc_C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
    (void)h;
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}

static CK_RV dmsc_C_CancelFunction(CK_SESSION_HANDLE h)
{
    (void)h;
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}

/* The functions both interfaces share (C_GetInfo differs: it reports the
 * interface's version), in the 2.40 list's order. */
#define DMSC_FUNCTIONS_2_40 \
    .C_Initialize = dmsc_C_Initialize, \
    .C_Finalize = dmsc_C_Finalize, \
    .C_GetFunctionList = C_GetFunctionList, \
    .C_GetSlotList = dmsc_C_GetSlotList, \
    .C_GetSlotInfo = dmsc_C_GetSlotInfo, \
    .C_GetTokenInfo = dmsc_C_GetTokenInfo, \
    .C_GetMechanismList = dmsc_C_GetMechanismList, \
    .C_GetMechanismInfo = dmsc_C_GetMechanismInfo, \
    .C_InitToken = dmsc_C_InitToken, \
    .C_InitPIN = dmsc_C_InitPIN, \
    .C_SetPIN = dmsc_C_SetPIN, \
    .C_OpenSession = dmsc_C_OpenSession, \
    .C_CloseSession = dmsc_C_CloseSession, \
    .C_CloseAllSessions = dmsc_C_CloseAllSessions, \
    .C_GetSessionInfo = dmsc_C_GetSessionInfo, \
    .C_GetOperationState = dmsc_C_GetOperationState, \
    .C_SetOperationState = dmsc_C_SetOperationState, \
    .C_Login = dmsc_C_Login, \
    .C_Logout = dmsc_C_Logout, \
    .C_CreateObject = dmsc_C_CreateObject, \
    .C_CopyObject = dmsc_C_CopyObject, \
    .C_DestroyObject = dmsc_C_DestroyObject, \
    .C_GetObjectSize = dmsc_C_GetObjectSize, \
    .C_GetAttributeValue = dmsc_C_GetAttributeValue, \
    .C_SetAttributeValue = dmsc_C_SetAttributeValue, \
    .C_FindObjectsInit = dmsc_C_FindObjectsInit, \
    .C_FindObjects = dmsc_C_FindObjects, \
    .C_FindObjectsFinal = dmsc_C_FindObjectsFinal, \
    .C_EncryptInit = dmsc_C_EncryptInit, \
    .C_Encrypt = dmsc_C_Encrypt, \
    .C_EncryptUpdate = dmsc_C_EncryptUpdate, \
    .C_EncryptFinal = dmsc_C_EncryptFinal, \
    .C_DecryptInit = dmsc_C_DecryptInit, \
    .C_Decrypt = dmsc_C_Decrypt, \
    .C_DecryptUpdate = dmsc_C_DecryptUpdate, \
    .C_DecryptFinal = dmsc_C_DecryptFinal, \
    .C_DigestInit = dmsc_C_DigestInit, \
    .C_Digest = dmsc_C_Digest, \
    .C_DigestUpdate = dmsc_C_DigestUpdate, \
    .C_DigestKey = dmsc_C_DigestKey, \
    .C_DigestFinal = dmsc_C_DigestFinal, \
    .C_SignInit = dmsc_C_SignInit, \
    .C_Sign = dmsc_C_Sign, \
    .C_SignUpdate = dmsc_C_SignUpdate, \
    .C_SignFinal = dmsc_C_SignFinal, \
    .C_SignRecoverInit = dmsc_C_SignRecoverInit, \
    .C_SignRecover = dmsc_C_SignRecover, \
    .C_VerifyInit = dmsc_C_VerifyInit, \
    .C_Verify = dmsc_C_Verify, \
    .C_VerifyUpdate = dmsc_C_VerifyUpdate, \
    .C_VerifyFinal = dmsc_C_VerifyFinal, \
    .C_VerifyRecoverInit = dmsc_C_VerifyRecoverInit, \
    .C_VerifyRecover = dmsc_C_VerifyRecover, \
    .C_DigestEncryptUpdate = dmsc_C_DigestEncryptUpdate, \
    .C_DecryptDigestUpdate = dmsc_C_DecryptDigestUpdate, \
    .C_SignEncryptUpdate = dmsc_C_SignEncryptUpdate, \
    .C_DecryptVerifyUpdate = dmsc_C_DecryptVerifyUpdate, \
    .C_GenerateKey = dmsc_C_GenerateKey, \
    .C_GenerateKeyPair = dmsc_C_GenerateKeyPair, \
    .C_WrapKey = dmsc_C_WrapKey, \
    .C_UnwrapKey = dmsc_C_UnwrapKey, \
    .C_DeriveKey = dmsc_C_DeriveKey, \
    .C_SeedRandom = dmsc_C_SeedRandom, \
    .C_GenerateRandom = dmsc_C_GenerateRandom, \
    .C_GetFunctionStatus = dmsc_C_GetFunctionStatus, \
    .C_CancelFunction = dmsc_C_CancelFunction

CK_FUNCTION_LIST dmsc_function_list = {
    .version = { 2, 40 },
    .C_GetInfo = dmsc_C_GetInfo,
    .C_WaitForSlotEvent = dmsc_C_WaitForSlotEvent,
    DMSC_FUNCTIONS_2_40,
};

/* "PKCS 11" 3.0: the same module, plus the 3.0 functions (interface.c). */
CK_FUNCTION_LIST_3_0 dmsc_function_list_3_0 = {
    .version = { 3, 0 },
    .C_GetInfo = dmsc_C_GetInfo_3_0,
    .C_WaitForSlotEvent = dmsc_C_WaitForSlotEvent,
    DMSC_FUNCTIONS_2_40,
    DMSC_FUNCTIONS_3_0,
};
