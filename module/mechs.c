/* The mechanism table. */
#include "mechs.h"

#include <dmsc/pkcs11-dm.h>
#include <string.h>

#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)
#define WU (CKF_WRAP | CKF_UNWRAP)
#define ECF (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

/* Key sizes: bits for RSA and EC, bytes for secret keys, as the spec counts. */
static const dmsc_mech mechs[] = {
    { CKM_MD5, MK_DIGEST, "MD5", { 0, 0, CKF_DIGEST }, false },
    { CKM_SHA_1, MK_DIGEST, "SHA1", { 0, 0, CKF_DIGEST }, false },
    { CKM_SHA224, MK_DIGEST, "SHA224", { 0, 0, CKF_DIGEST }, false },
    { CKM_SHA256, MK_DIGEST, "SHA256", { 0, 0, CKF_DIGEST }, false },
    { CKM_SHA384, MK_DIGEST, "SHA384", { 0, 0, CKF_DIGEST }, false },
    { CKM_SHA512, MK_DIGEST, "SHA512", { 0, 0, CKF_DIGEST }, false },

    { CKM_RSA_PKCS_KEY_PAIR_GEN, MK_GEN_RSA, NULL, { 2048, 4096, CKF_GENERATE_KEY_PAIR }, false },
    { CKM_RSA_PKCS, MK_RSA_PKCS, NULL, { 1024, 8192, SV | ED | WU }, false },
    { CKM_SHA1_RSA_PKCS, MK_RSA_PKCS, "SHA1", { 1024, 8192, SV }, false },
    { CKM_SHA224_RSA_PKCS, MK_RSA_PKCS, "SHA224", { 1024, 8192, SV }, false },
    { CKM_SHA256_RSA_PKCS, MK_RSA_PKCS, "SHA256", { 1024, 8192, SV }, false },
    { CKM_SHA384_RSA_PKCS, MK_RSA_PKCS, "SHA384", { 1024, 8192, SV }, false },
    { CKM_SHA512_RSA_PKCS, MK_RSA_PKCS, "SHA512", { 1024, 8192, SV }, false },
    { CKM_RSA_PKCS_PSS, MK_RSA_PSS, NULL, { 1024, 8192, SV }, false },
    { CKM_SHA1_RSA_PKCS_PSS, MK_RSA_PSS, "SHA1", { 1024, 8192, SV }, false },
    { CKM_SHA224_RSA_PKCS_PSS, MK_RSA_PSS, "SHA224", { 1024, 8192, SV }, false },
    { CKM_SHA256_RSA_PKCS_PSS, MK_RSA_PSS, "SHA256", { 1024, 8192, SV }, false },
    { CKM_SHA384_RSA_PKCS_PSS, MK_RSA_PSS, "SHA384", { 1024, 8192, SV }, false },
    { CKM_SHA512_RSA_PKCS_PSS, MK_RSA_PSS, "SHA512", { 1024, 8192, SV }, false },
    { CKM_RSA_PKCS_OAEP, MK_RSA_OAEP, NULL, { 1024, 8192, ED | WU }, false },

    { CKM_EC_KEY_PAIR_GEN, MK_GEN_EC, NULL, { 256, 521, CKF_GENERATE_KEY_PAIR | ECF }, false },
    { CKM_ECDSA, MK_ECDSA, NULL, { 256, 521, SV | ECF }, false },
    { CKM_ECDSA_SHA1, MK_ECDSA, "SHA1", { 256, 521, SV | ECF }, false },
    { CKM_ECDSA_SHA224, MK_ECDSA, "SHA224", { 256, 521, SV | ECF }, false },
    { CKM_ECDSA_SHA256, MK_ECDSA, "SHA256", { 256, 521, SV | ECF }, false },
    { CKM_ECDSA_SHA384, MK_ECDSA, "SHA384", { 256, 521, SV | ECF }, false },
    { CKM_ECDSA_SHA512, MK_ECDSA, "SHA512", { 256, 521, SV | ECF }, false },
    { CKM_EC_EDWARDS_KEY_PAIR_GEN, MK_GEN_EDWARDS, NULL, { 255, 255, CKF_GENERATE_KEY_PAIR }, false },
    { CKM_EDDSA, MK_EDDSA, NULL, { 255, 255, SV }, false },

    { CKM_GENERIC_SECRET_KEY_GEN, MK_GEN_GENERIC, NULL, { 1, 512, CKF_GENERATE }, false },
    { CKM_MD5_HMAC, MK_HMAC, "MD5", { 1, 512, SV }, false },
    { CKM_SHA_1_HMAC, MK_HMAC, "SHA1", { 1, 512, SV }, false },
    { CKM_SHA256_HMAC, MK_HMAC, "SHA256", { 1, 512, SV }, false },
    { CKM_SHA384_HMAC, MK_HMAC, "SHA384", { 1, 512, SV }, false },
    { CKM_SHA512_HMAC, MK_HMAC, "SHA512", { 1, 512, SV }, false },

    { CKM_AES_KEY_GEN, MK_GEN_AES, NULL, { 16, 32, CKF_GENERATE }, false },
    { CKM_AES_GCM, MK_AES_GCM, NULL, { 16, 32, ED }, false },
    { CKM_AES_CBC_PAD, MK_AES_CBC_PAD, NULL, { 16, 32, ED }, false },
    { CKM_AES_KEY_WRAP_PAD, MK_AES_WRAP_PAD, NULL, { 16, 32, WU }, false },

    /* DM mechanisms (<dmsc/pkcs11-dm.h>): the same algorithms over the
     * canonical form of a DM message (dm-ext/CANON.md). */
    { CKM_DMSC_SHA256, MK_DIGEST, "SHA256", { 0, 0, CKF_DIGEST }, true },
    { CKM_DMSC_SHA256_RSA_PKCS, MK_RSA_PKCS, "SHA256", { 1024, 8192, SV }, true },
    { CKM_DMSC_SHA256_RSA_PKCS_PSS, MK_RSA_PSS, "SHA256", { 1024, 8192, SV }, true },
    { CKM_DMSC_ECDSA_SHA256, MK_ECDSA, "SHA256", { 256, 521, SV | ECF }, true },
    { CKM_DMSC_ECDSA_SHA384, MK_ECDSA, "SHA384", { 256, 521, SV | ECF }, true },
    { CKM_DMSC_EDDSA, MK_EDDSA, NULL, { 255, 255, SV }, true },
    { CKM_DMSC_SHA256_HMAC, MK_HMAC, "SHA256", { 1, 512, SV }, true },

    /* DM 1.2 session security: the key is the DM credential's secret, or
     * the card's network key (NETWORKID, 4 to 8 bytes of semi-octets). */
    { CKM_DMSC_SYNCML_AUTH_MD5, MK_DM_SYNCML, "MD5", { 1, 512, SV }, false },
    { CKM_DMSC_SYNCML_HMAC_MD5, MK_DM_SYNCML, "MD5", { 1, 512, SV }, false },
    { CKM_DMSC_BOOTSTRAP_HMAC_SHA1, MK_DM_BOOT_HMAC, "SHA1", { 4, 8, CKF_VERIFY }, false },
};

const dmsc_mech *dmsc_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(mechs); i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

CK_RV dmsc_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    CK_ULONG n = DMSC_N_ELEMENTS(mechs);
    if (list == NULL) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < n; i++)
        list[i] = mechs[i].type;
    *count = n;
    return CKR_OK;
}

const char *dmsc_mech_digest_name(CK_MECHANISM_TYPE hash)
{
    switch (hash) {
    case CKM_SHA_1: return "SHA1";
    case CKM_SHA224: return "SHA224";
    case CKM_SHA256: return "SHA256";
    case CKM_SHA384: return "SHA384";
    case CKM_SHA512: return "SHA512";
    default: return NULL;
    }
}

const char *dmsc_mgf_digest_name(CK_RSA_PKCS_MGF_TYPE mgf)
{
    switch (mgf) {
    case CKG_MGF1_SHA1: return "SHA1";
    case CKG_MGF1_SHA224: return "SHA224";
    case CKG_MGF1_SHA256: return "SHA256";
    case CKG_MGF1_SHA384: return "SHA384";
    case CKG_MGF1_SHA512: return "SHA512";
    default: return NULL;
    }
}

/* The digest of a typed HMAC key. */
static const char *hmac_key_digest(CK_KEY_TYPE key_type)
{
    switch (key_type) {
    case CKK_MD5_HMAC: return "MD5";
    case CKK_SHA_1_HMAC: return "SHA1";
    case CKK_SHA256_HMAC: return "SHA256";
    case CKK_SHA384_HMAC: return "SHA384";
    case CKK_SHA512_HMAC: return "SHA512";
    default: return NULL;
    }
}

bool dmsc_mech_key_ok(const dmsc_mech *m, CK_KEY_TYPE key_type)
{
    switch (m->kind) {
    case MK_RSA_PKCS:
    case MK_RSA_PSS:
    case MK_RSA_OAEP:
        return key_type == CKK_RSA;
    case MK_ECDSA:
        return key_type == CKK_EC;
    case MK_EDDSA:
        return key_type == CKK_EC_EDWARDS;
    case MK_HMAC: {
        /* A generic secret serves any HMAC; a typed HMAC key the HMACs of
         * its digest (CKK_SHA256_HMAC: CKM_SHA256_HMAC and the DM one). */
        const char *md = hmac_key_digest(key_type);
        return key_type == CKK_GENERIC_SECRET || (md != NULL && strcmp(md, m->md) == 0);
    }
    case MK_AES_GCM:
    case MK_AES_CBC_PAD:
    case MK_AES_WRAP_PAD:
        return key_type == CKK_AES;
    case MK_DM_SYNCML:
    case MK_DM_BOOT_HMAC:
        return key_type == CKK_GENERIC_SECRET;
    default:
        return false;
    }
}
