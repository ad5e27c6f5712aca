/* Certificate attributes from the DER, with OpenSSL. */
#include "cert.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>

typedef int (*i2d_fn)(const void *, unsigned char **);

static CK_RV set_der(dmsc_attrs *o, CK_ATTRIBUTE_TYPE type, const void *item, i2d_fn i2d)
{
    const dmsc_attr *cur = dmsc_attrs_find(o, type);
    if (cur != NULL && cur->len > 0)
        return CKR_OK; /* the template's value stands */
    unsigned char *der = NULL;
    int len = i2d(item, &der);
    if (len <= 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    CK_RV rv = dmsc_attrs_set(o, type, der, (CK_ULONG)len);
    OPENSSL_free(der);
    return rv;
}

CK_RV dmsc_cert_fill(dmsc_attrs *o)
{
    const dmsc_attr *v = dmsc_attrs_find(o, CKA_VALUE);
    if (v == NULL || v->len == 0 || v->sealed)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    const unsigned char *p = v->value;
    X509 *x = d2i_X509(NULL, &p, (long)v->len);
    if (x == NULL || p != (const unsigned char *)v->value + v->len) {
        X509_free(x);
        return CKR_ATTRIBUTE_VALUE_INVALID; /* not exactly one DER certificate */
    }
    CK_RV rv = set_der(o, CKA_SUBJECT, X509_get_subject_name(x), (i2d_fn)i2d_X509_NAME);
    if (rv == CKR_OK)
        rv = set_der(o, CKA_ISSUER, X509_get_issuer_name(x), (i2d_fn)i2d_X509_NAME);
    if (rv == CKR_OK)
        rv = set_der(o, CKA_SERIAL_NUMBER, X509_get0_serialNumber(x), (i2d_fn)i2d_ASN1_INTEGER);
    if (rv == CKR_OK)
        rv = set_der(o, CKA_PUBLIC_KEY_INFO, X509_get_X509_PUBKEY(x), (i2d_fn)i2d_X509_PUBKEY);
    if (rv == CKR_OK) {
        /* The spec's check value: the first 3 bytes of the SHA-1 of the value. */
        unsigned char md[SHA_DIGEST_LENGTH];
        unsigned int md_len = 0;
        v = dmsc_attrs_find(o, CKA_VALUE);
        if (EVP_Digest(v->value, v->len, md, &md_len, EVP_sha1(), NULL) == 1)
            rv = dmsc_attrs_set(o, CKA_CHECK_VALUE, md, 3);
    }
    X509_free(x);
    return rv;
}
