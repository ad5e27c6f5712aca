/* OpenSSL errors and RSA key templates for the benchmark programs. */
#include "ossl-bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "bench-util.h"

_Noreturn void bench_ossl_fail(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "%s: openssl: %s failed\n", bench_progname, what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* What the templates point at: constant, so the templates stay valid as
 * long as the numbers and the label do. */
static CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
static CK_KEY_TYPE rsa_type = CKK_RSA;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* The big-endian bytes of one of pkey's numbers. */
static void bn_attr(EVP_PKEY *pkey, const char *name, CK_ATTRIBUTE *a, CK_ATTRIBUTE_TYPE type)
{
	BIGNUM *bn = NULL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		bench_ossl_fail(name);
	a->type = type;
	a->ulValueLen = (CK_ULONG)BN_num_bytes(bn);
	a->pValue = bench_xmalloc(a->ulValueLen);
	BN_bn2bin(bn, a->pValue);
	BN_clear_free(bn);
}

void bench_rsa_templates(struct bench_rsa_templates *t, EVP_PKEY *pkey, const char *label)
{
	CK_ATTRIBUTE head[7] = {
		{ CKA_CLASS, &priv_class, sizeof priv_class },
		{ CKA_KEY_TYPE, &rsa_type, sizeof rsa_type },
		{ CKA_TOKEN, &no, sizeof no },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
	};
	CK_ATTRIBUTE *priv = t->priv;

	memcpy(priv, head, sizeof head);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_N, &priv[7], CKA_MODULUS);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_E, &priv[8], CKA_PUBLIC_EXPONENT);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_D, &priv[9], CKA_PRIVATE_EXPONENT);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &priv[10], CKA_PRIME_1);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &priv[11], CKA_PRIME_2);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, &priv[12], CKA_EXPONENT_1);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, &priv[13], CKA_EXPONENT_2);
	bn_attr(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &priv[14], CKA_COEFFICIENT);

	/* The public key: its own class, not private, verifies; the rest
	 * (type, token, label, modulus, exponent) as the private key's. */
	t->pub[0] = (CK_ATTRIBUTE){ CKA_CLASS, &pub_class, sizeof pub_class };
	t->pub[1] = priv[1];
	t->pub[2] = priv[2];
	t->pub[3] = (CK_ATTRIBUTE){ CKA_PRIVATE, &no, sizeof no };
	t->pub[4] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof yes };
	t->pub[5] = priv[6];
	t->pub[6] = priv[7];
	t->pub[7] = priv[8];
}

void bench_rsa_templates_free(struct bench_rsa_templates *t)
{
	/* The numbers: priv[7] on; pub shares the first two. */
	for (size_t i = 7; i < BENCH_RSA_PRIV_ATTRS; i++) {
		OPENSSL_cleanse(t->priv[i].pValue, t->priv[i].ulValueLen);
		free(t->priv[i].pValue);
	}
	memset(t, 0, sizeof *t);
}
