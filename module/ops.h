/*
 * Cryptographic operations of a session: sign, verify, encrypt, decrypt,
 * digest, on OpenSSL 3. An operation holds its own reference to the key
 * (an EVP_PKEY, or a copy of a secret key's value), so it runs without
 * any token lock and a key destroyed meanwhile does not pull the floor
 * from under it.
 *
 * Length queries (out == NULL) and CKR_BUFFER_TOO_SMALL leave the
 * operation as it was; the caller ends the operation on any other error
 * and after its last call.
 */
#ifndef DMSC_OPS_H
#define DMSC_OPS_H

#include "card-key.h"
#include "mechs.h"

#include <openssl/types.h>

typedef enum {
    DMSC_OP_SIGN,
    DMSC_OP_VERIFY,
    DMSC_OP_ENCRYPT,
    DMSC_OP_DECRYPT,
    DMSC_OP_DIGEST,
    DMSC_OP_N,
} dmsc_op_kind;

typedef struct dmsc_op dmsc_op;

typedef struct {
    EVP_PKEY *pkey;              /* public or private key; a reference is taken */
    unsigned char *secret;       /* a secret key's value, malloc'd; dmsc_op_init takes it */
    size_t secret_len;
    dmsc_card_key *card;         /* a key the card keeps (signing only); dmsc_op_init takes it */
} dmsc_op_key;

/* Fetch the algorithms once for a library context; release before it goes. */
void dmsc_ops_prepare(OSSL_LIB_CTX *libctx);
void dmsc_ops_release(void);

CK_RV dmsc_op_init(OSSL_LIB_CTX *libctx, dmsc_op_kind kind, const dmsc_mech *m,
                   const CK_MECHANISM *mech, const dmsc_op_key *key, dmsc_op **out);
void dmsc_op_free(dmsc_op *op);

/* Reuse a finished operation for the same mechanism and key: an HMAC
 * keeps its keyed state, so a session that MACs many messages with one
 * key does not key it again each time. serial identifies the key
 * object's attributes (dmsc_object.serial). */
void dmsc_op_set_key_serial(dmsc_op *op, uint64_t serial);
bool dmsc_op_reusable(const dmsc_op *op, const dmsc_mech *m, const CK_MECHANISM *mech, uint64_t serial);
CK_RV dmsc_op_restart(dmsc_op *op);
/* May this finished operation wait for reuse? */
bool dmsc_op_can_wait(const dmsc_op *op);

/* The operation's mechanism. */
const dmsc_mech *dmsc_op_mech(const dmsc_op *op);

/* Has C_*Update been called (one-shot calls are then refused)? */
bool dmsc_op_is_multi(const dmsc_op *op);

/* Sign, verify and digest input; encrypt and decrypt streaming. */
CK_RV dmsc_op_update(dmsc_op *op, const unsigned char *in, CK_ULONG in_len,
                     unsigned char *out, CK_ULONG *out_len);
/* Sign / digest / encrypt / decrypt: the last output. */
CK_RV dmsc_op_final(dmsc_op *op, unsigned char *out, CK_ULONG *out_len);
/* Single-part: all input at once. */
CK_RV dmsc_op_oneshot(dmsc_op *op, const unsigned char *in, CK_ULONG in_len,
                      unsigned char *out, CK_ULONG *out_len);
CK_RV dmsc_op_verify_final(dmsc_op *op, const unsigned char *sig, CK_ULONG sig_len);

/* Context-specific login (CKA_ALWAYS_AUTHENTICATE keys). */
void dmsc_op_require_login(dmsc_op *op);
bool dmsc_op_needs_login(const dmsc_op *op);
void dmsc_op_logged_in(dmsc_op *op);

#endif
