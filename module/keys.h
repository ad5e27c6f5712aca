/*
 * Keys between PKCS#11 attributes and OpenSSL: an EVP_PKEY built once from
 * a key object's attributes (and kept on the object), and the attributes
 * of a key OpenSSL generated.
 */
#ifndef DMSC_KEYS_H
#define DMSC_KEYS_H

#include "attrs.h"

#include <openssl/types.h>

typedef struct {
    int nid;
    const char *group;       /* OpenSSL group name */
    CK_KEY_TYPE key_type;    /* CKK_EC or CKK_EC_EDWARDS */
    CK_ULONG bits;
} dmsc_curve;

/* The curve CKA_EC_PARAMS names: a named-curve OID, or the printable
 * string form ("edwards25519", "prime256v1") some tools send. NULL when
 * it is not one we support. */
const dmsc_curve *dmsc_curve_from_params(const void *der, size_t len);
/* CKA_EC_PARAMS (DER OID) for a curve; *der is OPENSSL_malloc'd. */
CK_RV dmsc_curve_params(const dmsc_curve *c, unsigned char **der, size_t *len);

/* An EVP_PKEY from plain attributes of a public or private key object. */
CK_RV dmsc_pkey_from_attrs(OSSL_LIB_CTX *libctx, const dmsc_attrs *attrs, CK_OBJECT_CLASS klass,
                           CK_KEY_TYPE key_type, EVP_PKEY **out);

/* CKA_PUBLIC_KEY_INFO of a new public or private key object (C_CreateObject)
 * from its key material, where the template gave none (NSS, Java and
 * libp11 read it to find a key's public half). Other objects, and keys
 * OpenSSL cannot build, are left as they are. */
CK_RV dmsc_pkey_spki_fill(OSSL_LIB_CTX *libctx, dmsc_attrs *o);

/* Add the key-material attributes of pkey to pub and priv (either may be
 * NULL): RSA modulus, exponents and CRT values; EC params, point and
 * private value; Ed25519 likewise; and to both CKA_PUBLIC_KEY_INFO. */
CK_RV dmsc_pkey_to_attrs(const EVP_PKEY *pkey, CK_KEY_TYPE key_type, const dmsc_curve *curve,
                         dmsc_attrs *pub, dmsc_attrs *priv);

/*
 * Key type names for EVP_PKEY_CTX_new_from_name. The OIDs, not "RSA" or
 * "EC": OpenSSL 3.0 maps a short name to a legacy type id and then hands
 * the context to any ENGINE the application made default for that type
 * (openssl -engine pkcs11 does: libp11 then gets our keys). An OID name
 * has no such id, so the context always comes from our library context's
 * provider.
 */
#define DMSC_KEYTYPE_RSA "1.2.840.113549.1.1.1"
#define DMSC_KEYTYPE_EC "1.2.840.10045.2.1"
#define DMSC_KEYTYPE_ED25519 "1.3.101.112"

/* Size in bits of the key (modulus bits, curve bits, secret bits). */
CK_ULONG dmsc_pkey_bits(const EVP_PKEY *pkey);

#endif
