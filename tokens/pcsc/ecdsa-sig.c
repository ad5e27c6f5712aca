/* A card's ECDSA signature (raw r || s or DER) into PKCS#11's r || s. */
#include "ecdsa-sig.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <string.h>

/* The DER ECDSA-Sig-Value in der, all of it and nothing else, strictly. */
static bool der_to_raw(const unsigned char *der, size_t len, size_t half, unsigned char *out)
{
    if (len > 16 * PCSC_ECDSA_MAX_HALF)
        return false;
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (sig == NULL)
        return false;
    unsigned char *again = NULL;
    int again_len = i2d_ECDSA_SIG(sig, &again);
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    bool ok = p == der + len && again_len == (int)len && memcmp(again, der, len) == 0 && !BN_is_negative(r) &&
              !BN_is_negative(s) && !BN_is_zero(r) && !BN_is_zero(s) &&
              BN_bn2binpad(r, out, (int)half) == (int)half && BN_bn2binpad(s, out + half, (int)half) == (int)half;
    OPENSSL_free(again);
    ECDSA_SIG_free(sig);
    return ok;
}

bool pcsc_ecdsa_to_raw(const unsigned char *sig, size_t len, size_t half, unsigned char *out)
{
    if (sig == NULL || out == NULL || half == 0 || half > PCSC_ECDSA_MAX_HALF)
        return false;
    if (len == 2 * half) {
        memcpy(out, sig, len);
        return true;
    }
    return der_to_raw(sig, len, half, out);
}
