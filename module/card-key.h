/*
 * Private keys that stay on the card: a CKO_PRIVATE_KEY object with no
 * private value among its attributes, on a token whose backend signs
 * (dmsc_backend_ops.sign). A signing operation with such a key holds the
 * token and the object's store id instead of an EVP_PKEY, hashes in
 * software (module/ops.c) and has the card sign the DigestInfo (RSA
 * PKCS#1 v1.5) or the hash (ECDSA).
 */
#ifndef DMSC_CARD_KEY_H
#define DMSC_CARD_KEY_H

#include "object.h"
#include "token.h"

typedef struct dmsc_card_key dmsc_card_key;

/* Does the card keep obj's private value (t's backend signs with it)? */
bool dmsc_card_key_is(const dmsc_token *t, const dmsc_object *obj);

/* The key's size in bits from its public attributes: CKA_MODULUS_BITS or
 * CKA_MODULUS (RSA), the curve of CKA_EC_PARAMS (EC); 0 when unknown. */
CK_ULONG dmsc_card_key_bits_of(const dmsc_object *obj, CK_KEY_TYPE key_type);

/* A reference to the key for one operation; NULL without memory. */
dmsc_card_key *dmsc_card_key_new(dmsc_token *t, uint64_t oid, CK_KEY_TYPE key_type, CK_ULONG bits);
void dmsc_card_key_free(dmsc_card_key *k);
CK_KEY_TYPE dmsc_card_key_type(const dmsc_card_key *k);
CK_ULONG dmsc_card_key_bits(const dmsc_card_key *k);

/* Sign on the card (mech CKM_RSA_PKCS or CKM_ECDSA, as backend.h says),
 * under the token's lock, as the logged-in user; *sig_len is the room
 * in sig, then the signature's length. A card found gone ends the
 * token's sessions (CKR_DEVICE_REMOVED). */
CK_RV dmsc_card_key_sign(const dmsc_card_key *k, CK_MECHANISM_TYPE mech, const unsigned char *in,
                         CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len);

#endif
