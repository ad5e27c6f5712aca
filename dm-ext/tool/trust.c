/*
 * dm-ext/tool/trust.c - the MA trust anchor on the card, and every
 * verification and digest `dmsc verify` and `dmsc approve` ask of the
 * token (see trust.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "trust.h" /* <p11-kit/pkcs11.h> before <dmsc/pkcs11-dm.h> */

#include <dmsc/pkcs11-dm.h>

#include "canon.h"

#include "p11-client.h"
#include "slurp.h"

#define CERT_MAX (64u * 1024u)  /* a certificate larger than this is refused */
#define FIND_MAX 32u

/* ---- the anchors ---- */

static CK_RV get_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf,
                      CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, *len };
	CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);

	*len = a.ulValueLen;
	return rv;
}

/* The public key of x as a session object that can verify. */
static CK_RV import_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                        EVP_PKEY *pk, trust_anchor *a, char *why,
                        size_t why_len)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	unsigned char n[1024], e[16], point[160], params[16], *p;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	size_t point_len = 0;
	char group[64];
	CK_RV rv = CKR_GENERAL_ERROR;
	int n_len, e_len, params_len;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_KEY_TYPE, &a->key_type, sizeof a->key_type },
			{ CKA_TOKEN, &no, sizeof no },
			{ CKA_VERIFY, &yes, sizeof yes },
			{ CKA_MODULUS, n, 0 },
			{ CKA_PUBLIC_EXPONENT, e, 0 },
		};

		a->key_type = CKK_RSA;
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &bn_e)) {
			snprintf(why, why_len, "its RSA key cannot be read");
			goto done;
		}
		/* Sizes first: the certificate is card data, and a modulus
		 * over 8192 bits must be refused before it is copied. */
		if (BN_num_bytes(bn_n) > (int)sizeof n ||
		    BN_num_bytes(bn_e) > (int)sizeof e) {
			snprintf(why, why_len, "the trust anchor %s has an RSA "
			         "key over %zu bits (or an exponent over %zu "
			         "bits): not supported", a->subject,
			         sizeof n * 8, sizeof e * 8);
			goto done;
		}
		if ((n_len = BN_bn2binpad(bn_n, n, BN_num_bytes(bn_n))) <= 0 ||
		    (e_len = BN_bn2bin(bn_e, e)) <= 0) {
			snprintf(why, why_len, "its RSA key cannot be read");
			goto done;
		}
		t[4].ulValueLen = (CK_ULONG)n_len;
		t[5].ulValueLen = (CK_ULONG)e_len;
		a->signature_len = (size_t)n_len;
		rv = f->C_CreateObject(s, t, 6, &a->key);
	} else if (EVP_PKEY_is_a(pk, "EC") &&
	           EVP_PKEY_get_utf8_string_param(pk,
	                   OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
	                   NULL) &&
	           strcmp(group, "prime256v1") == 0) {
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_KEY_TYPE, &a->key_type, sizeof a->key_type },
			{ CKA_TOKEN, &no, sizeof no },
			{ CKA_VERIFY, &yes, sizeof yes },
			{ CKA_EC_PARAMS, params, 0 },
			{ CKA_EC_POINT, point, 0 },
		};
		ASN1_OBJECT *oid = OBJ_nid2obj(NID_X9_62_prime256v1);

		a->key_type = CKK_EC;
		/* CKA_EC_POINT is the DER OCTET STRING of the point. */
		if (!EVP_PKEY_get_octet_string_param(pk,
		            OSSL_PKEY_PARAM_PUB_KEY, point + 2,
		            sizeof point - 2, &point_len) || point_len > 127 ||
		    (params_len = i2d_ASN1_OBJECT(oid, NULL)) <= 0 ||
		    params_len > (int)sizeof params) {
			snprintf(why, why_len, "its EC key cannot be read");
			goto done;
		}
		point[0] = 0x04;
		point[1] = (unsigned char)point_len;
		p = params;
		i2d_ASN1_OBJECT(oid, &p);
		t[4].ulValueLen = (CK_ULONG)params_len;
		t[5].ulValueLen = (CK_ULONG)point_len + 2;
		a->signature_len = 64;
		rv = f->C_CreateObject(s, t, 6, &a->key);
	} else {
		snprintf(why, why_len, "its key is neither RSA nor EC P-256");
		goto done;
	}
	if (rv != CKR_OK)
		snprintf(why, why_len, "the token cannot hold its public key "
		         "for verifying: %s", dmsc_p11_rv_name(rv));
done:
	BN_free(bn_n);
	BN_free(bn_e);
	return rv;
}

/* "CN=MA,O=Operator" (RFC 2253), cut to fit. */
static void subject_of(X509 *x, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = -1;

	out[0] = '\0';
	if (b != NULL &&
	    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	                       XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, out, (int)size - 1);
	if (n > 0)
		out[n] = '\0';
	else
		snprintf(out, size, "(no subject)");
	BIO_free(b);
}

/* Look at one trusted certificate: add it to t, or say why not. */
static void consider(trust_anchors *t, CK_OBJECT_HANDLE cert, char *why,
                     size_t why_len)
{
	unsigned char *der = malloc(CERT_MAX), md[32];
	const unsigned char *p;
	CK_ULONG len = CERT_MAX, label_len;
	trust_anchor *a = &t->a[t->n];
	X509 *x = NULL;
	EVP_PKEY *pk;
	unsigned int md_len = 0, i;
	char label[sizeof a->label];

	if (der == NULL) {
		snprintf(why, why_len, "out of memory");
		return;
	}
	memset(a, 0, sizeof *a);
	label_len = sizeof label - 1;
	if (get_attr(t->f, t->session, cert, CKA_LABEL, label, &label_len) !=
	        CKR_OK || label_len >= sizeof label)
		label_len = 0;
	label[label_len] = '\0';
	snprintf(a->label, sizeof a->label, "%s", label);
	if (get_attr(t->f, t->session, cert, CKA_VALUE, der, &len) != CKR_OK ||
	    len > CERT_MAX) {
		snprintf(why, why_len, "the trusted certificate '%s' cannot be "
		         "read (or is over %u bytes)", label, CERT_MAX);
		goto done;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		snprintf(why, why_len, "the trusted certificate '%s' is not a "
		         "DER X.509 certificate", label);
		goto done;
	}
	subject_of(x, a->subject, sizeof a->subject);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		snprintf(why, why_len, "the trust anchor %s ('%s') has "
		         "expired", a->subject, label);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		snprintf(why, why_len, "the trust anchor %s ('%s') is not "
		         "valid yet", a->subject, label);
		goto done;
	}
	pk = X509_get0_pubkey(x);
	if (pk == NULL) {
		snprintf(why, why_len, "the trust anchor %s has no readable "
		         "key", a->subject);
		goto done;
	}
	if (import_key(t->f, t->session, pk, a, why, why_len) != CKR_OK)
		goto done;
	EVP_Digest(der, len, md, &md_len, EVP_sha256(), NULL);
	for (i = 0; i < md_len && i < 32; i++)
		snprintf(a->fingerprint + 2 * i, 3, "%02x", md[i]);
	t->n++;
done:
	X509_free(x);
	free(der);
}

int trust_load(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session,
               trust_anchors *out, char *why, size_t why_len)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE trusted[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_TRUSTED, &yes, sizeof yes },
	};
	CK_OBJECT_HANDLE found[FIND_MAX];
	CK_ULONG n = 0, all = 0, i;
	CK_RV rv;

	memset(out, 0, sizeof *out);
	out->f = f;
	out->session = session;
	why[0] = '\0';
	rv = f->C_FindObjectsInit(session, trusted, 2);
	if (rv == CKR_OK) {
		rv = f->C_FindObjects(session, found, FIND_MAX, &n);
		f->C_FindObjectsFinal(session);
	}
	if (rv != CKR_OK) {
		snprintf(why, why_len, "cannot look for the trust anchor on "
		         "the token: %s", dmsc_p11_rv_name(rv));
		return TRUST_ERROR;
	}
	for (i = 0; i < n && out->n < TRUST_MAX; i++)
		consider(out, found[i], why, why_len);
	if (out->n > 0)
		return TRUST_OK;
	if (n > 0)
		return TRUST_REFUSED; /* why[] says what was wrong */
	/* Say whether certificates are there that are not trusted. */
	if (f->C_FindObjectsInit(session, trusted, 1) == CKR_OK) {
		f->C_FindObjects(session, found, FIND_MAX, &all);
		f->C_FindObjectsFinal(session);
	}
	if (all > 0)
		snprintf(why, why_len, "no trust anchor on the token: %lu "
		         "certificate(s), none with CKA_TRUSTED (the MA "
		         "certificate must be made trusted by the SO)",
		         (unsigned long)all);
	else
		snprintf(why, why_len, "no trust anchor on the token: no "
		         "certificate with CKA_TRUSTED (personalise the card "
		         "with the MA certificate)");
	return TRUST_REFUSED;
}

void trust_release(trust_anchors *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->a[i].key != CK_INVALID_HANDLE)
			t->f->C_DestroyObject(t->session, t->a[i].key);
	t->n = 0;
}

/* ---- verification ---- */

static CK_MECHANISM_TYPE message_mechanism(const trust_anchor *a)
{
	return a->key_type == CKK_RSA ? CKM_DMSC_SHA256_RSA_PKCS
	                              : CKM_DMSC_ECDSA_SHA256;
}

static CK_MECHANISM_TYPE bytes_mechanism(const trust_anchor *a)
{
	return a->key_type == CKK_RSA ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256;
}

/* After every anchor failed: the one-line reason. */
static int not_verified(const trust_anchors *t, size_t sig_len,
                        const char *what, char *why, size_t why_len)
{
	if (t->n == 1 && sig_len != t->a[0].signature_len)
		snprintf(why, why_len, "the %s signature is %zu bytes; one by "
		         "the trust anchor %s is %zu (truncated, or not its "
		         "signature)", what, sig_len, t->a[0].subject,
		         t->a[0].signature_len);
	else
		snprintf(why, why_len, "the %s signature does not verify "
		         "against the trust anchor%s %s%s (another signer, "
		         "or the %s was changed)", what, t->n > 1 ? "s" : "",
		         t->a[0].subject, t->n > 1 ? ", ..." : "", what);
	return TRUST_REFUSED;
}

/* CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE say "no"; other
 * codes say the token could not answer. */
static bool is_no(CK_RV rv)
{
	return rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE;
}

/* Bytes already in memory, with the anchor's standard mechanism
 * (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256).  A token without
 * CKM_ECDSA_SHA256 (SoftHSM, p11-kit's RPC) digests with CKM_SHA256 and
 * verifies the hash with CKM_ECDSA: the same check. */
static CK_RV verify_bytes(trust_anchors *t, const trust_anchor *a,
                          const unsigned char *data, size_t len,
                          const unsigned char *sig, size_t sig_len)
{
	CK_MECHANISM m = { bytes_mechanism(a), NULL, 0 };
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	unsigned char hash[32];
	CK_ULONG hash_len = sizeof hash;
	CK_RV rv = t->f->C_VerifyInit(t->session, &m, a->key);

	if (rv == CKR_MECHANISM_INVALID && a->key_type == CKK_EC) {
		rv = t->f->C_DigestInit(t->session, &dm);
		if (rv == CKR_OK)
			rv = t->f->C_Digest(t->session, (CK_BYTE_PTR)data,
			                    (CK_ULONG)len, hash, &hash_len);
		if (rv != CKR_OK)
			return rv;
		m.mechanism = CKM_ECDSA;
		rv = t->f->C_VerifyInit(t->session, &m, a->key);
		data = hash;
		len = hash_len;
	}
	if (rv == CKR_OK)
		rv = t->f->C_Verify(t->session, (CK_BYTE_PTR)data,
		                    (CK_ULONG)len, (CK_BYTE_PTR)sig,
		                    (CK_ULONG)sig_len);
	return rv;
}

/* A token that lacks the DM mechanism (another vendor's card, p11-kit's
 * RPC, which carries no vendor mechanism): the tool canonicalises with
 * the card's own code (dm-ext/canon.c) and the token verifies the
 * canonical bytes with the standard mechanism, which is what the DM
 * mechanism computes. */
static CK_RV verify_canonical(trust_anchors *t, const trust_anchor *a,
                              const unsigned char *msg, size_t len,
                              const unsigned char *sig, size_t sig_len)
{
	struct byte_buf c14n = { NULL, 0, 0 };
	dmsc_dm_error err;
	CK_RV rv;

	if (dmsc_canon(msg, len, NULL, byte_buf_append, &c14n, &err) != DMSC_DM_OK)
		rv = CKR_DATA_INVALID;
	else
		rv = verify_bytes(t, a, c14n.data, c14n.len, sig, sig_len);
	/* A message may carry credentials. */
	OPENSSL_clear_free(c14n.data, c14n.cap);
	return rv;
}

int trust_verify_message(trust_anchors *t, const unsigned char *msg,
                         size_t len, const unsigned char *sig, size_t sig_len,
                         const trust_anchor **who, char *why, size_t why_len)
{
	size_t i;

	*who = NULL;
	for (i = 0; i < t->n; i++) {
		CK_MECHANISM m = { message_mechanism(&t->a[i]), NULL, 0 };
		CK_RV rv = t->f->C_VerifyInit(t->session, &m, t->a[i].key);

		if (rv == CKR_OK)
			rv = t->f->C_Verify(t->session, (CK_BYTE_PTR)msg,
			                    (CK_ULONG)len, (CK_BYTE_PTR)sig,
			                    (CK_ULONG)sig_len);
		else if (rv == CKR_MECHANISM_INVALID)
			rv = verify_canonical(t, &t->a[i], msg, len, sig,
			                      sig_len);
		if (rv == CKR_OK) {
			*who = &t->a[i];
			return TRUST_OK;
		}
		if (rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE) {
			snprintf(why, why_len, "the card cannot read the "
			         "message as a DM message (%s); 'dmsc canon' "
			         "says where", dmsc_p11_rv_name(rv));
			return TRUST_REFUSED;
		}
		if (!is_no(rv)) {
			snprintf(why, why_len, "the token failed to verify: "
			         "%s", dmsc_p11_rv_name(rv));
			return TRUST_ERROR;
		}
	}
	return not_verified(t, sig_len, "message", why, why_len);
}

int trust_verify_dsig(trust_anchors *t, const dsig_parts *parts,
                      const trust_anchor **who, char *why, size_t why_len)
{
	CK_MECHANISM dm = { parts->alg->digest_mechanism, NULL, 0 };
	unsigned char digest[64];
	CK_ULONG digest_len = sizeof digest;
	size_t i;
	CK_RV rv;

	*who = NULL;
	rv = t->f->C_DigestInit(t->session, &dm);
	if (rv == CKR_OK)
		rv = t->f->C_Digest(t->session, parts->content,
		                    (CK_ULONG)parts->content_len, digest,
		                    &digest_len);
	if (rv != CKR_OK) {
		snprintf(why, why_len, "the token failed to digest the "
		         "message: %s", dmsc_p11_rv_name(rv));
		return TRUST_ERROR;
	}
	if (digest_len != parts->alg->digest_len ||
	    memcmp(digest, parts->digest, digest_len) != 0) {
		snprintf(why, why_len, "the message is not the one signed: "
		         "its digest differs from the signature's "
		         "DigestValue");
		return TRUST_REFUSED;
	}
	if (parts->signature_len == 0) {
		snprintf(why, why_len, "the SignatureValue is empty");
		return TRUST_REFUSED;
	}
	for (i = 0; i < t->n; i++) {
		CK_MECHANISM m = { parts->alg->sign_mechanism, NULL, 0 };

		if (t->a[i].key_type != CKK_RSA)
			continue;
		rv = t->f->C_VerifyInit(t->session, &m, t->a[i].key);
		if (rv == CKR_OK)
			rv = t->f->C_Verify(t->session, parts->signed_info,
			                    (CK_ULONG)parts->signed_info_len,
			                    parts->signature,
			                    (CK_ULONG)parts->signature_len);
		if (rv == CKR_OK) {
			*who = &t->a[i];
			return TRUST_OK;
		}
		if (!is_no(rv)) {
			snprintf(why, why_len, "the token failed to verify: "
			         "%s", dmsc_p11_rv_name(rv));
			return TRUST_ERROR;
		}
	}
	return not_verified(t, parts->signature_len, "XML-DSig", why,
	                    why_len);
}

/* ---- packages ---- */

/* Read fd from its start to its end, handing each chunk to C_DigestUpdate
 * (digest) and C_VerifyUpdate (verify) as asked. */
static int stream(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, int fd,
                  bool digest, bool verify, unsigned long long *size,
                  trust_progress progress, void *ctx, CK_RV *rv_out,
                  char *why, size_t why_len)
{
	unsigned char *buf = malloc(TRUST_READ_CHUNK);
	unsigned long long done = 0;
	CK_RV rv = CKR_OK;
	ssize_t n;
	int rc = TRUST_ERROR;

	*rv_out = CKR_OK;
	if (buf == NULL) {
		snprintf(why, why_len, "out of memory");
		return TRUST_ERROR;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 && errno != ESPIPE) {
		snprintf(why, why_len, "cannot read the package: %s",
		         strerror(errno));
		goto done;
	}
	for (;;) {
		n = read(fd, buf, TRUST_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, why_len, "cannot read the package: %s",
			         strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (digest)
			rv = f->C_DigestUpdate(s, buf, (CK_ULONG)n);
		if (rv == CKR_OK && verify)
			rv = f->C_VerifyUpdate(s, buf, (CK_ULONG)n);
		if (rv != CKR_OK) {
			*rv_out = rv;
			snprintf(why, why_len, "the token failed on the "
			         "package: %s", dmsc_p11_rv_name(rv));
			goto done;
		}
		done += (unsigned long long)n;
		if (progress != NULL)
			progress(ctx, done);
	}
	*size = done;
	rc = TRUST_OK;
done:
	free(buf);
	return rc;
}

static int digest_final(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                        unsigned char digest[32], char *why, size_t why_len)
{
	CK_ULONG len = 32;
	CK_RV rv = f->C_DigestFinal(s, digest, &len);

	if (rv != CKR_OK || len != 32) {
		snprintf(why, why_len, "the token failed to digest the "
		         "package: %s", dmsc_p11_rv_name(rv));
		return TRUST_ERROR;
	}
	return TRUST_OK;
}

int trust_digest_file(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session,
                      int fd, unsigned char digest[32],
                      unsigned long long *size, trust_progress progress,
                      void *progress_ctx, char *why, size_t why_len)
{
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_RV rv = f->C_DigestInit(session, &m);
	int rc;

	if (rv != CKR_OK) {
		snprintf(why, why_len, "the token cannot digest with SHA-256: "
		         "%s", dmsc_p11_rv_name(rv));
		return TRUST_ERROR;
	}
	rc = stream(f, session, fd, true, false, size, progress, progress_ctx,
	            &rv, why, why_len);
	if (rc != TRUST_OK) {
		unsigned char end[32];
		CK_ULONG len = sizeof end;

		/* End the operation (a failed update has ended it already). */
		if (rv == CKR_OK)
			f->C_DigestFinal(session, end, &len);
		return rc;
	}
	return digest_final(f, session, digest, why, why_len);
}

int trust_verify_file(trust_anchors *t, int fd, const unsigned char *sig,
                      size_t sig_len, const trust_anchor **who,
                      unsigned char digest[32], bool *digested,
                      unsigned long long *size, trust_progress progress,
                      void *progress_ctx, char *why, size_t why_len)
{
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	size_t i;
	CK_RV rv;
	int rc;

	*who = NULL;
	*digested = false;
	for (i = 0; i < t->n; i++) {
		CK_MECHANISM m = { bytes_mechanism(&t->a[i]), NULL, 0 };
		bool with_digest = i == 0;

		rv = t->f->C_VerifyInit(t->session, &m, t->a[i].key);
		if (rv == CKR_MECHANISM_INVALID && t->a[i].key_type == CKK_EC) {
			/* No CKM_ECDSA_SHA256 (SoftHSM, p11-kit's RPC): the
			 * SHA-256 on the token, then CKM_ECDSA over it. */
			unsigned char hash[32];

			rc = trust_digest_file(t->f, t->session, fd, hash, size,
			                       progress, progress_ctx, why,
			                       why_len);
			if (rc != TRUST_OK)
				return rc;
			if (with_digest) {
				memcpy(digest, hash, sizeof hash);
				*digested = true;
			}
			m.mechanism = CKM_ECDSA;
			rv = t->f->C_VerifyInit(t->session, &m, t->a[i].key);
			if (rv == CKR_OK)
				rv = t->f->C_Verify(t->session, hash,
				                    sizeof hash, (CK_BYTE_PTR)sig,
				                    (CK_ULONG)sig_len);
			goto answer;
		}
		if (rv == CKR_OK && with_digest) {
			rv = t->f->C_DigestInit(t->session, &dm);
			if (rv != CKR_OK)
				t->f->C_VerifyFinal(t->session, NULL, 0);
		}
		if (rv != CKR_OK) {
			snprintf(why, why_len, "the token cannot verify the "
			         "package: %s", dmsc_p11_rv_name(rv));
			return TRUST_ERROR;
		}
		rc = stream(t->f, t->session, fd, with_digest, true, size,
		            progress, progress_ctx, &rv, why, why_len);
		if (rc != TRUST_OK) {
			if (rv == CKR_OK) {
				unsigned char end[32];
				CK_ULONG len = sizeof end;

				if (with_digest)
					t->f->C_DigestFinal(t->session, end,
					                    &len);
				t->f->C_VerifyFinal(t->session, NULL, 0);
			}
			return rc;
		}
		if (with_digest &&
		    digest_final(t->f, t->session, digest, why, why_len) !=
		        TRUST_OK) {
			t->f->C_VerifyFinal(t->session, NULL, 0);
			return TRUST_ERROR;
		}
		if (with_digest)
			*digested = true;
		rv = t->f->C_VerifyFinal(t->session, (CK_BYTE_PTR)sig,
		                         (CK_ULONG)sig_len);
answer:
		if (rv == CKR_OK) {
			*who = &t->a[i];
			return TRUST_OK;
		}
		if (!is_no(rv)) {
			snprintf(why, why_len, "the token failed to verify: "
			         "%s", dmsc_p11_rv_name(rv));
			return TRUST_ERROR;
		}
	}
	return not_verified(t, sig_len, "package", why, why_len);
}
