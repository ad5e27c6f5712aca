/*
 * PKCS#11 3.0: the interfaces the module offers (C_GetInterfaceList,
 * C_GetInterface) and the 3.0 functions. Two interfaces, both named
 * "PKCS 11": version 3.0 (the default, first in the list) and 2.40 (the
 * list C_GetFunctionList returns). Neither claims CKF_INTERFACE_FORK_SAFE:
 * a forked child must call C_Initialize again (state.c).
 */
#include "common.h"

#include "api.h"
#include "session.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

#define INTERFACE_NAME "PKCS 11"

static CK_INTERFACE interfaces[] = {
    { (CK_CHAR *)INTERFACE_NAME, &dmsc_function_list_3_0, 0 },
    { (CK_CHAR *)INTERFACE_NAME, &dmsc_function_list, 0 },
};

/* Neither function needs C_Initialize: they are how an application finds
 * C_Initialize in the first place. */
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    const CK_ULONG n = DMSC_N_ELEMENTS(interfaces);
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    if (list == NULL) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(list, interfaces, sizeof(interfaces));
    *count = n;
    return CKR_OK;
}

static const CK_VERSION *version_of(const CK_INTERFACE *i)
{
    /* Both lists begin with their CK_VERSION. */
    return (const CK_VERSION *)i->pFunctionList;
}

CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR iface,
                     CK_FLAGS flags)
{
    if (iface == NULL)
        return CKR_ARGUMENTS_BAD;
    /* The first interface that matches every criterion given; no name
     * and no version select the default, 3.0. */
    for (size_t i = 0; i < DMSC_N_ELEMENTS(interfaces); i++) {
        CK_INTERFACE *c = &interfaces[i];
        if (name != NULL && strcmp((const char *)name, (const char *)c->pInterfaceName) != 0)
            continue;
        if (version != NULL && (version->major != version_of(c)->major ||
                                version->minor != version_of(c)->minor))
            continue;
        if ((c->flags & flags) != flags)
            continue;
        *iface = c;
        return CKR_OK;
    }
    /* The specification's answer when no interface matches. */
    return CKR_ARGUMENTS_BAD;
}

/* An application's PIN is the card application's one user: there are no
 * user names. Without one, C_LoginUser is C_Login; a name given for
 * CKU_USER cannot be honoured and is refused rather than ignored (an
 * application asking for a named user must not be logged in as another).
 * For CKU_SO and CKU_CONTEXT_SPECIFIC the name is ignored, as the
 * specification says. */
CK_RV dmsc_C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
                       CK_UTF8CHAR_PTR username, CK_ULONG username_len)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (user == CKU_USER && username_len != 0) {
        dmsc_debug(DMSC_DEBUG_CALL, "C_LoginUser: the card's applications have no user names");
        return CKR_ARGUMENTS_BAD;
    }
    return dmsc_function_list.C_Login(h, user, pin, pin_len);
}

/* The operation kinds C_SessionCancel's flags name. */
static const struct {
    CK_FLAGS flag;
    dmsc_op_kind kind;
} cancellable[] = {
    { CKF_SIGN, DMSC_OP_SIGN },
    { CKF_VERIFY, DMSC_OP_VERIFY },
    { CKF_ENCRYPT, DMSC_OP_ENCRYPT },
    { CKF_DECRYPT, DMSC_OP_DECRYPT },
    { CKF_DIGEST, DMSC_OP_DIGEST },
};

/* Ends the session's active operations of the kinds flags names; a kind
 * with no active operation (or one the card never runs: recover,
 * message-based, derive) is not an error. */
CK_RV dmsc_C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
    CK_RV rv = dmsc_check_initialized();
    dmsc_session *s;
    if (rv == CKR_OK)
        rv = dmsc_session_get(h, &s);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < DMSC_N_ELEMENTS(cancellable); i++) {
        if (!(flags & cancellable[i].flag) || s->ops[cancellable[i].kind] == NULL)
            continue;
        dmsc_op_free(s->ops[cancellable[i].kind]);
        s->ops[cancellable[i].kind] = NULL;
    }
    if ((flags & CKF_FIND_OBJECTS) && s->finding) {
        free(s->found);
        s->found = NULL;
        s->n_found = s->pos = 0;
        s->finding = false;
    }
    pthread_mutex_unlock(&s->lock);
    dmsc_session_put(s);
    return CKR_OK;
}

/* ---- message-based functions: no mechanism of the card offers them ---- */

static CK_RV no_messages(void)
{
    CK_RV rv = dmsc_check_initialized();
    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV dmsc_C_MessageCryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
    (void)h, (void)m, (void)key;
    return no_messages();
}

CK_RV dmsc_C_CryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                          CK_BYTE_PTR ad, CK_ULONG ad_len, CK_BYTE_PTR in, CK_ULONG in_len,
                          CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    (void)h, (void)param, (void)param_len, (void)ad, (void)ad_len, (void)in, (void)in_len;
    (void)out, (void)out_len;
    return no_messages();
}

CK_RV dmsc_C_CryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                               CK_BYTE_PTR ad, CK_ULONG ad_len)
{
    (void)h, (void)param, (void)param_len, (void)ad, (void)ad_len;
    return no_messages();
}

CK_RV dmsc_C_CryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                              CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len,
                              CK_FLAGS flags)
{
    (void)h, (void)param, (void)param_len, (void)in, (void)in_len, (void)out, (void)out_len;
    (void)flags;
    return no_messages();
}

CK_RV dmsc_C_MessageFinal(CK_SESSION_HANDLE h)
{
    (void)h;
    return no_messages();
}

CK_RV dmsc_C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                         CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    (void)h, (void)param, (void)param_len, (void)data, (void)data_len, (void)sig, (void)sig_len;
    return no_messages();
}

CK_RV dmsc_C_MessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len)
{
    (void)h, (void)param, (void)param_len;
    return no_messages();
}

CK_RV dmsc_C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                           CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    (void)h, (void)param, (void)param_len, (void)data, (void)data_len, (void)sig, (void)sig_len;
    return no_messages();
}
