/*
 * The card's mechanisms: one table says what each does (its kind, its
 * digest, the key type it takes), what C_GetMechanismInfo reports, and
 * which functions it serves. Nothing here claims CKF_HW: the virtual
 * card computes in software, on OpenSSL 3.
 */
#ifndef DMSC_MECHS_H
#define DMSC_MECHS_H

#include "common.h"

typedef enum {
    MK_DIGEST,
    MK_RSA_PKCS,     /* PKCS#1 v1.5: raw (DigestInfo given) or hash-and-sign */
    MK_RSA_PSS,
    MK_RSA_OAEP,
    MK_ECDSA,
    MK_EDDSA,
    MK_HMAC,
    MK_AES_GCM,
    MK_AES_CBC_PAD,
    MK_AES_WRAP_PAD,
    MK_GEN_RSA,
    MK_GEN_EC,
    MK_GEN_EDWARDS,
    MK_GEN_GENERIC,
    MK_GEN_AES,
    MK_DM_SYNCML,    /* DM 1.2 syncml:auth-md5 and x-syncml-hmac (module/dmsec-op.c) */
    MK_DM_BOOT_HMAC, /* the DM bootstrap MAC, verify only */
} dmsc_mech_kind;

typedef struct {
    CK_MECHANISM_TYPE type;
    dmsc_mech_kind kind;
    const char *md;       /* digest name, NULL when the input is already a digest */
    CK_MECHANISM_INFO info;
    bool canon;           /* a DM mechanism: the input is a DM message and the
                             operation covers its canonical form */
} dmsc_mech;

const dmsc_mech *dmsc_mech_find(CK_MECHANISM_TYPE type);
CK_RV dmsc_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);

/* The digest name of a CKM_SHA* digest mechanism (for PSS/OAEP params). */
const char *dmsc_mech_digest_name(CK_MECHANISM_TYPE hash);
/* The digest of a CKG_MGF1_* generator. */
const char *dmsc_mgf_digest_name(CK_RSA_PKCS_MGF_TYPE mgf);

/* May a key of this type serve this mechanism? */
bool dmsc_mech_key_ok(const dmsc_mech *m, CK_KEY_TYPE key_type);

#endif
