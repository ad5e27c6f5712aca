/*
 * The PKCS#11 entry points that live outside pkcs11.c (the cryptographic
 * ones, in pkcs11-crypto.c), for the one function list in pkcs11.c.
 */
#ifndef DMSC_API_H
#define DMSC_API_H

#include "attrs.h"
#include "pkcs11-v3.h"

/* The two function lists (pkcs11.c): 2.40, and 3.0 for C_GetInterface. */
extern CK_FUNCTION_LIST dmsc_function_list;
extern CK_FUNCTION_LIST_3_0 dmsc_function_list_3_0;

/* PKCS#11 3.0 (interface.c). The interface functions are exported. */
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR iface,
                     CK_FLAGS flags);
CK_RV dmsc_C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
                       CK_UTF8CHAR_PTR username, CK_ULONG username_len);
CK_RV dmsc_C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags);
CK_RV dmsc_C_MessageCryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_CryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                          CK_BYTE_PTR ad, CK_ULONG ad_len, CK_BYTE_PTR in, CK_ULONG in_len,
                          CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_CryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                               CK_BYTE_PTR ad, CK_ULONG ad_len);
CK_RV dmsc_C_CryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len,
                              CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len,
                              CK_FLAGS flags);
CK_RV dmsc_C_MessageFinal(CK_SESSION_HANDLE h);
CK_RV dmsc_C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                         CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV dmsc_C_MessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len);
CK_RV dmsc_C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE_PTR data,
                           CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len);

/* The 3.0 additions to the function list. The message-based functions of
 * one kind share one signature, so one stub each answers
 * CKR_FUNCTION_NOT_SUPPORTED: the card offers no message-based mechanism. */
#define DMSC_FUNCTIONS_3_0                                                  \
    .C_GetInterfaceList = C_GetInterfaceList,                               \
    .C_GetInterface = C_GetInterface,                                       \
    .C_LoginUser = dmsc_C_LoginUser,                                        \
    .C_SessionCancel = dmsc_C_SessionCancel,                                \
    .C_MessageEncryptInit = dmsc_C_MessageCryptInit,                        \
    .C_EncryptMessage = dmsc_C_CryptMessage,                                \
    .C_EncryptMessageBegin = dmsc_C_CryptMessageBegin,                      \
    .C_EncryptMessageNext = dmsc_C_CryptMessageNext,                        \
    .C_MessageEncryptFinal = dmsc_C_MessageFinal,                           \
    .C_MessageDecryptInit = dmsc_C_MessageCryptInit,                        \
    .C_DecryptMessage = dmsc_C_CryptMessage,                                \
    .C_DecryptMessageBegin = dmsc_C_CryptMessageBegin,                      \
    .C_DecryptMessageNext = dmsc_C_CryptMessageNext,                        \
    .C_MessageDecryptFinal = dmsc_C_MessageFinal,                           \
    .C_MessageSignInit = dmsc_C_MessageCryptInit,                           \
    .C_SignMessage = dmsc_C_SignMessage,                                    \
    .C_SignMessageBegin = dmsc_C_MessageBegin,                              \
    .C_SignMessageNext = dmsc_C_SignMessage,                                \
    .C_MessageSignFinal = dmsc_C_MessageFinal,                              \
    .C_MessageVerifyInit = dmsc_C_MessageCryptInit,                         \
    .C_VerifyMessage = dmsc_C_VerifyMessage,                                \
    .C_VerifyMessageBegin = dmsc_C_MessageBegin,                            \
    .C_VerifyMessageNext = dmsc_C_VerifyMessage,                            \
    .C_MessageVerifyFinal = dmsc_C_MessageFinal

/* C_WaitForSlotEvent (events.c). */
CK_RV dmsc_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved);

CK_RV dmsc_C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV dmsc_C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

CK_RV dmsc_C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m);
CK_RV dmsc_C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV dmsc_C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV dmsc_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV dmsc_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV dmsc_C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key);
CK_RV dmsc_C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV dmsc_C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV dmsc_C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV dmsc_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR key);
CK_RV dmsc_C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub_tmpl,
                             CK_ULONG n_pub, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
                             CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv);
CK_RV dmsc_C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wrapping,
                     CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV dmsc_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE unwrapping,
                       CK_BYTE_PTR wrapped, CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE_PTR key);

/* C_Login(CKU_CONTEXT_SPECIFIC): authorise the session's pending
 * operation on a CKA_ALWAYS_AUTHENTICATE key. */
CK_RV dmsc_context_login(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);

/* Shared with pkcs11.c: store a new object built from checked attributes. */
struct dmsc_session;
CK_RV dmsc_store_new_inlock(struct dmsc_session *s, dmsc_attrs *attrs, CK_OBJECT_HANDLE *out);

#endif
