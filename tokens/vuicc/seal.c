/* AES-256-GCM sealing and scrypt PIN keys, on OpenSSL 3. */
#include "seal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* Wrapped DEK: "W1" | log2(N) | r | p | salt[16] | nonce[12] | ct[32] | tag[16]. */
#define SALT_LEN 16
#define NONCE_LEN 12
#define TAG_LEN 16
#define WRAP_HDR 5
#define WRAP_LEN (WRAP_HDR + SALT_LEN + NONCE_LEN + VUICC_DEK_LEN + TAG_LEN)
/* scrypt N = 2^15, r = 8, p = 1: 32 MiB and some 0.1 s per PIN try.
 * The PKCS#11 fuzz target (tests/fuzz/fuzz-p11.c), and only it, is built
 * with the conventional FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: there
 * N = 2^10, so that a call sequence with a login takes milliseconds. The
 * cost is written into each wrap, so the code path is the same. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SCRYPT_LOG_N 10
#else
#define SCRYPT_LOG_N 15
#endif
#define SCRYPT_R 8
#define SCRYPT_P 1

static CK_RV derive_kek(OSSL_LIB_CTX *libctx, const CK_UTF8CHAR *pin, CK_ULONG pin_len,
                        const unsigned char *salt, unsigned log_n, unsigned r, unsigned p,
                        unsigned char kek[32])
{
    CK_RV rv = CKR_GENERAL_ERROR;
    EVP_KDF *kdf = EVP_KDF_fetch(libctx, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx == NULL)
        goto done;
    uint64_t n = (uint64_t)1 << log_n;
    uint32_t r32 = r, p32 = p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, pin_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(kctx, kek, 32, params) == 1)
        rv = CKR_OK;
    /* One line per derivation, so a test can see that a wrong PIN costs
     * the same KDF work as a right one (nothing secret in it). */
    dmsc_debug(DMSC_DEBUG_PIN, "PIN key derived (scrypt N=2^%u r=%u p=%u)", log_n, r, p);
done:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}

/* One AES-256-GCM pass. Returns 1 on success, 0 when decryption's tag
 * check fails (wrong key, or tampered data), -1 when the cipher could not
 * run at all: only 0 may be read as "wrong PIN". */
static int gcm(OSSL_LIB_CTX *libctx, int enc, const unsigned char key[32],
               const unsigned char nonce[NONCE_LEN], const unsigned char *aad, size_t aad_len,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char tag[TAG_LEN])
{
    int ok = -1, outl = 0;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(libctx, "AES-256-GCM", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL)
        goto done;
    if (EVP_CipherInit_ex2(ctx, cipher, key, nonce, enc, NULL) != 1)
        goto done;
    if (aad_len && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
        goto done;
    if (len && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
        goto done;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + outl, &outl) != 1) {
        ok = enc ? -1 : 0;
        goto done;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return ok;
}

CK_RV vuicc_dek_wrap(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN],
                     const CK_UTF8CHAR *pin, CK_ULONG pin_len, const char *role,
                     unsigned char **blob, size_t *blob_len)
{
    unsigned char kek[32];
    unsigned char *b = malloc(WRAP_LEN);
    CK_RV rv = CKR_HOST_MEMORY;
    if (b == NULL)
        return rv;
    b[0] = 'W';
    b[1] = '1';
    b[2] = SCRYPT_LOG_N;
    b[3] = SCRYPT_R;
    b[4] = SCRYPT_P;
    unsigned char *salt = b + WRAP_HDR, *nonce = salt + SALT_LEN, *ct = nonce + NONCE_LEN,
                  *tag = ct + VUICC_DEK_LEN;
    rv = CKR_GENERAL_ERROR;
    if (RAND_bytes_ex(libctx, salt, SALT_LEN + NONCE_LEN, 0) != 1)
        goto done;
    rv = derive_kek(libctx, pin, pin_len, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, kek);
    if (rv != CKR_OK)
        goto done;
    if (gcm(libctx, 1, kek, nonce, (const unsigned char *)role, strlen(role), dek,
            VUICC_DEK_LEN, ct, tag) != 1) {
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    *blob = b;
    *blob_len = WRAP_LEN;
    b = NULL;
done:
    dmsc_wipe(kek, sizeof(kek));
    free(b);
    return rv;
}

CK_RV vuicc_dek_unwrap(OSSL_LIB_CTX *libctx, const unsigned char *blob, size_t blob_len,
                       const CK_UTF8CHAR *pin, CK_ULONG pin_len, const char *role,
                       unsigned char dek[VUICC_DEK_LEN])
{
    /* Costs a stored blob may ask for: enough for any wrap we make, and
     * bounded so a tampered store cannot make a PIN check eat the memory
     * (128 * r * N bytes: at most 256 MiB) or the time of the machine. */
    if (blob == NULL || blob_len != WRAP_LEN || blob[0] != 'W' || blob[1] != '1' ||
        blob[2] < 10 || blob[2] > 20 || blob[3] == 0 || blob[3] > 16 || blob[4] == 0 ||
        blob[4] > 4 || ((uint64_t)128 * blob[3] << blob[2]) > (256u << 20))
        return CKR_DEVICE_ERROR;
    unsigned char kek[32], tag[TAG_LEN];
    const unsigned char *salt = blob + WRAP_HDR, *nonce = salt + SALT_LEN,
                        *ct = nonce + NONCE_LEN;
    memcpy(tag, ct + VUICC_DEK_LEN, TAG_LEN);
    CK_RV rv = derive_kek(libctx, pin, pin_len, salt, blob[2], blob[3], blob[4], kek);
    if (rv != CKR_OK)
        rv = CKR_DEVICE_ERROR; /* costs OpenSSL refuses: not a blob we made */
    else {
        int r = gcm(libctx, 0, kek, nonce, (const unsigned char *)role, strlen(role), ct,
                    VUICC_DEK_LEN, dek, tag);
        if (r != 1) {
            dmsc_wipe(dek, VUICC_DEK_LEN);
            rv = r == 0 ? CKR_PIN_INCORRECT : CKR_GENERAL_ERROR;
        }
    }
    dmsc_wipe(kek, sizeof(kek));
    return rv;
}

static void seal_aad(unsigned char aad[16], uint32_t app, CK_ATTRIBUTE_TYPE type)
{
    memcpy(aad, "dmsc", 4);
    for (int i = 0; i < 4; i++)
        aad[4 + i] = (unsigned char)(app >> (24 - 8 * i));
    uint64_t t = type;
    for (int i = 0; i < 8; i++)
        aad[8 + i] = (unsigned char)(t >> (56 - 8 * i));
}

CK_RV vuicc_seal(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN], uint32_t app,
                 CK_ATTRIBUTE_TYPE type, const void *plain, size_t len,
                 unsigned char **out, size_t *out_len)
{
    if (len > (1u << 28))
        return CKR_DATA_LEN_RANGE;
    unsigned char aad[16];
    unsigned char *b = malloc(NONCE_LEN + len + TAG_LEN);
    if (b == NULL)
        return CKR_HOST_MEMORY;
    seal_aad(aad, app, type);
    if (RAND_bytes_ex(libctx, b, NONCE_LEN, 0) != 1 ||
        gcm(libctx, 1, dek, b, aad, sizeof(aad), plain, len, b + NONCE_LEN, b + NONCE_LEN + len) != 1) {
        free(b);
        return CKR_GENERAL_ERROR;
    }
    *out = b;
    *out_len = NONCE_LEN + len + TAG_LEN;
    return CKR_OK;
}

CK_RV vuicc_unseal(OSSL_LIB_CTX *libctx, const unsigned char dek[VUICC_DEK_LEN], uint32_t app,
                   CK_ATTRIBUTE_TYPE type, const unsigned char *sealed, size_t len,
                   unsigned char **out, size_t *out_len)
{
    if (len < NONCE_LEN + TAG_LEN)
        return CKR_DEVICE_ERROR;
    size_t plain_len = len - NONCE_LEN - TAG_LEN;
    unsigned char aad[16], tag[TAG_LEN];
    unsigned char *b = malloc(plain_len ? plain_len : 1);
    if (b == NULL)
        return CKR_HOST_MEMORY;
    seal_aad(aad, app, type);
    memcpy(tag, sealed + NONCE_LEN + plain_len, TAG_LEN);
    if (gcm(libctx, 0, dek, sealed, aad, sizeof(aad), sealed + NONCE_LEN, plain_len, b, tag) != 1) {
        dmsc_wipe(b, plain_len);
        free(b);
        return CKR_DEVICE_ERROR; /* tampered or sealed under another key */
    }
    *out = b;
    *out_len = plain_len;
    return CKR_OK;
}
