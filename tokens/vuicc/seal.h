/*
 * Keys at rest on the virtual UICC. Each application has a random 256-bit
 * data key (DEK). Sensitive values of private objects are sealed under it
 * with AES-256-GCM. The DEK itself is stored wrapped, once under a key
 * derived from the user PIN and once under one from the SO PIN, with
 * scrypt (memory-hard), so a PIN change re-wraps 32 bytes and re-encrypts
 * nothing. The GCM tag of the wrapped DEK is what tells a right PIN from a
 * wrong one: both cost one scrypt and one decryption.
 */
#ifndef DMSC_VUICC_SEAL_H
#define DMSC_VUICC_SEAL_H

#include "common.h"

#include <openssl/types.h>

#define VUICC_DEK_LEN 32

/* Wrap: a fresh salt and nonce each time. *blob is malloc'd. */
CK_RV vuicc_dek_wrap(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN],
                     const CK_UTF8CHAR *pin, CK_ULONG pin_len, const char *role,
                     unsigned char **blob, size_t *blob_len);
/* CKR_PIN_INCORRECT when the PIN does not open the blob,
 * CKR_DEVICE_ERROR when the blob is malformed. */
CK_RV vuicc_dek_unwrap(OSSL_LIB_CTX *libctx, const unsigned char *blob, size_t blob_len,
                       const CK_UTF8CHAR *pin, CK_ULONG pin_len, const char *role,
                       unsigned char dek[VUICC_DEK_LEN]);

/* Seal one attribute value; aad binds it to its application and type. */
CK_RV vuicc_seal(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN], uint32_t app,
                 CK_ATTRIBUTE_TYPE type, const void *plain, size_t len,
                 unsigned char **out, size_t *out_len);
CK_RV vuicc_unseal(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN], uint32_t app,
                   CK_ATTRIBUTE_TYPE type, const unsigned char *sealed, size_t len,
                   unsigned char **out, size_t *out_len);

#endif
