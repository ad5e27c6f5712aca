/* What the benchmark programs that link OpenSSL share (bench-crypto,
 * bench-dm): OpenSSL errors, and an RSA key as PKCS#11 templates. */
#ifndef DMSC_OSSL_BENCH_H
#define DMSC_OSSL_BENCH_H

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

/* "PROGNAME: openssl: WHAT failed", OpenSSL's error queue, exit 1. */
_Noreturn void bench_ossl_fail(const char *what);

#define BENCH_RSA_PRIV_ATTRS 15
#define BENCH_RSA_PUB_ATTRS 8

/* The C_CreateObject templates of an RSA key pair as session objects
 * (CKA_TOKEN false) labelled label: a private, sensitive key that signs
 * and a public key that verifies. */
struct bench_rsa_templates {
	CK_ATTRIBUTE priv[BENCH_RSA_PRIV_ATTRS];
	CK_ATTRIBUTE pub[BENCH_RSA_PUB_ATTRS];
};

/* Fill t from pkey; label must outlive t. Free with
 * bench_rsa_templates_free, which wipes the key's numbers. */
void bench_rsa_templates(struct bench_rsa_templates *t, EVP_PKEY *pkey, const char *label);
void bench_rsa_templates_free(struct bench_rsa_templates *t);

#endif
