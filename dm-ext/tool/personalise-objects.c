/*
 * dm-ext/tool/personalise-objects.c - one profile item as PKCS#11 objects
 * (README, "dmsc personalise"; DESIGN.md, "DM objects on the card").
 *
 * A re-run does not duplicate: each item is looked for first (by class and
 * label; the bootstrap by its application) and then
 *   - a data object (MO, bootstrap) or the MA certificate with the same
 *     value is kept; with another value it is replaced by the profile's
 *     (the profile is the issuer's truth for provisioning data);
 *   - a key pair or DM credential with that label is kept when its id
 *     (and key type) match: secret values cannot be read back to compare,
 *     and a key is never silently replaced; if they differ, the step fails
 *     naming the object, and nothing of it is changed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11-client.h"
#include "personalise.h"

/* 2.23.43.7.1: OBJECT IDENTIFIER of 4 bytes: 2*40+23 = 103, 43, 7, 1. */
const unsigned char pz_bootstrap_oid[] = { 0x06, 0x04, 0x67, 0x2B, 0x07,
                                           0x01 };
const size_t pz_bootstrap_oid_len = sizeof pz_bootstrap_oid;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* Named-curve OIDs for CKA_EC_PARAMS. */
static const unsigned char oid_p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE,
                                          0x3D, 0x03, 0x01, 0x07 };
static const unsigned char oid_p384[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00,
                                          0x22 };
static const unsigned char oid_p521[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00,
                                          0x23 };
static const unsigned char oid_ed25519[] = { 0x06, 0x03, 0x2B, 0x65, 0x70 };

#define MAX_ATTRS 20

struct tmpl {
	CK_ATTRIBUTE a[MAX_ATTRS];
	CK_ULONG n;
};

static void add(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v,
                size_t len)
{
	if (t->n < MAX_ATTRS)
		t->a[t->n++] = (CK_ATTRIBUTE){ type, (void *)v, (CK_ULONG)len };
}

static size_t tmpl_bytes(const struct tmpl *t)
{
	size_t n = 0;

	for (CK_ULONG i = 0; i < t->n; i++)
		n += t->a[i].ulValueLen;
	return n;
}

bool pz_item_needs_so(const struct dmsc_profile_item *it)
{
	return it->kind == DMSC_ITEM_MA_CERT;
}

static void set_fail(struct pz_result *r, CK_RV rv, size_t needed)
{
	r->outcome = PZ_FAILED;
	r->rv = rv;
	r->needed = needed;
}

/* A step that cannot be done without losing what the card holds. */
static void conflict(struct pz_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conflict(struct pz_result *r, const char *fmt, ...)
{
	va_list ap;

	r->outcome = PZ_FAILED;
	r->rv = CKR_GENERAL_ERROR;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
}

/* The handles of the token objects matching t (at most max). */
static CK_RV find(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                  const struct tmpl *t, CK_OBJECT_HANDLE *h, CK_ULONG max,
                  CK_ULONG *count)
{
	CK_RV rv = fn->C_FindObjectsInit(s, (CK_ATTRIBUTE_PTR)t->a, t->n);
	CK_RV frv;

	*count = 0;
	if (rv != CKR_OK)
		return rv;
	rv = fn->C_FindObjects(s, h, max, count);
	frv = fn->C_FindObjectsFinal(s);
	return rv != CKR_OK ? rv : frv;
}

/* CKA_VALUE of an object equals value? */
static CK_RV same_value(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, const unsigned char *value,
                        size_t len, bool *same)
{
	CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
	CK_RV rv = fn->C_GetAttributeValue(s, h, &a, 1);

	*same = false;
	if (rv != CKR_OK || a.ulValueLen != len)
		return rv;
	a.pValue = malloc(len + 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = fn->C_GetAttributeValue(s, h, &a, 1);
	*same = rv == CKR_OK && a.ulValueLen == len &&
	        memcmp(a.pValue, value, len) == 0;
	free(a.pValue);
	return rv;
}

/* CKA_ID of h equals the item's? */
static bool same_id(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                    CK_OBJECT_HANDLE h, const struct dmsc_profile_item *it)
{
	unsigned char id[DMSC_PROFILE_ID_MAX];
	CK_ATTRIBUTE a = { CKA_ID, id, sizeof id };

	return fn->C_GetAttributeValue(s, h, &a, 1) == CKR_OK &&
	       a.ulValueLen == it->id_len && memcmp(id, it->id, it->id_len) == 0;
}

/* ---- Data objects: MO and bootstrap ---- */

static void put_data(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                     const struct dmsc_profile_item *it,
                     struct pz_result *r)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	bool boot = it->kind == DMSC_ITEM_BOOTSTRAP;
	const char *app = boot ? DMSC_P11_APP_BOOTSTRAP : DMSC_P11_APP_MO;
	const char *label = boot ? PZ_BOOTSTRAP_LABEL : it->label;
	struct tmpl t = { .n = 0 };
	CK_OBJECT_HANDLE h[2], created;
	CK_ULONG count;
	bool same;
	CK_RV rv;

	add(&t, CKA_CLASS, &cls, sizeof cls);
	add(&t, CKA_TOKEN, &yes, sizeof yes);
	add(&t, CKA_APPLICATION, app, strlen(app));
	if (!boot)
		add(&t, CKA_LABEL, label, strlen(label));
	rv = find(fn, s, &t, h, 2, &count);
	if (rv != CKR_OK)
		return set_fail(r, rv, 0);
	if (count > 1) {
		r->outcome = PZ_FAILED;
		r->rv = CKR_GENERAL_ERROR;
		snprintf(r->why, sizeof r->why, "the card holds several %s "
		         "objects%s%s: remove the extra ones (pkcs11-tool "
		         "--delete-object) and run again", app,
		         boot ? "" : " labelled ", boot ? "" : label);
		return;
	}
	if (count == 1) {
		CK_ATTRIBUTE v = { CKA_VALUE, it->value,
		                   (CK_ULONG)it->value_len };

		rv = same_value(fn, s, h[0], it->value, it->value_len, &same);
		if (rv != CKR_OK)
			return set_fail(r, rv, 0);
		if (same) {
			r->outcome = PZ_KEPT;
			snprintf(r->note, sizeof r->note, "the same %zu bytes "
			         "are on the card", it->value_len);
			return;
		}
		/* One C_SetAttributeValue: the card replaces it whole or not
		 * at all. */
		rv = fn->C_SetAttributeValue(s, h[0], &v, 1);
		if (rv != CKR_OK)
			return set_fail(r, rv, it->value_len);
		r->outcome = PZ_REPLACED;
		snprintf(r->note, sizeof r->note, "%zu bytes, another value "
		         "was on the card", it->value_len);
		return;
	}
	add(&t, CKA_PRIVATE, &no, sizeof no);
	add(&t, CKA_VALUE, it->value, it->value_len);
	if (boot) {
		add(&t, CKA_LABEL, label, strlen(label));
		add(&t, CKA_OBJECT_ID, pz_bootstrap_oid, pz_bootstrap_oid_len);
	}
	rv = fn->C_CreateObject(s, t.a, t.n, &created);
	if (rv != CKR_OK)
		return set_fail(r, rv, tmpl_bytes(&t));
	r->outcome = PZ_DONE;
	snprintf(r->note, sizeof r->note, "%zu bytes%s", it->value_len,
	         boot ? ", WBXML, CKA_OBJECT_ID 2.23.43.7.1" : "");
}

/* ---- The MA certificate ---- */

static void put_cert(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                     const struct dmsc_profile_item *it,
                     struct pz_result *r)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	unsigned char *subject = NULL, *issuer = NULL, *serial = NULL;
	int subject_len, issuer_len, serial_len;
	struct tmpl t = { .n = 0 };
	CK_OBJECT_HANDLE h[2], created;
	CK_ULONG count;
	bool same = false, replaced = false;
	CK_RV rv;

	add(&t, CKA_CLASS, &cls, sizeof cls);
	add(&t, CKA_TOKEN, &yes, sizeof yes);
	add(&t, CKA_LABEL, it->label, strlen(it->label));
	rv = find(fn, s, &t, h, 2, &count);
	if (rv != CKR_OK)
		return set_fail(r, rv, 0);
	if (count > 1)
		return conflict(r, "the card holds several certificates "
		                "labelled '%s': remove the extra ones and run "
		                "again", it->label);
	if (count == 1) {
		CK_BBOOL trusted = CK_FALSE;
		CK_ATTRIBUTE a = { CKA_TRUSTED, &trusted, sizeof trusted };

		rv = same_value(fn, s, h[0], it->value, it->value_len, &same);
		if (rv == CKR_OK && same &&
		    fn->C_GetAttributeValue(s, h[0], &a, 1) == CKR_OK &&
		    trusted == CK_TRUE && same_id(fn, s, h[0], it)) {
			r->outcome = PZ_KEPT;
			snprintf(r->note, sizeof r->note,
			         "the same certificate is on the card, trusted");
			return;
		}
		/* Another certificate under this label: the profile's trust
		 * anchor replaces it (created first would leave two). */
		rv = fn->C_DestroyObject(s, h[0]);
		if (rv != CKR_OK)
			return set_fail(r, rv, 0);
		replaced = true;
	}
	/* Subject, issuer and serial number from the certificate: dmsc
	 * would fill them in, other tokens (SoftHSM) insist on them. */
	subject_len = i2d_X509_NAME(X509_get_subject_name(it->cert), &subject);
	issuer_len = i2d_X509_NAME(X509_get_issuer_name(it->cert), &issuer);
	serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(it->cert), &serial);
	if (subject_len <= 0 || issuer_len <= 0 || serial_len <= 0) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	add(&t, CKA_CERTIFICATE_TYPE, &ct, sizeof ct);
	add(&t, CKA_PRIVATE, &no, sizeof no);
	add(&t, CKA_TRUSTED, &yes, sizeof yes);
	add(&t, CKA_ID, it->id, it->id_len);
	add(&t, CKA_SUBJECT, subject, (size_t)subject_len);
	add(&t, CKA_ISSUER, issuer, (size_t)issuer_len);
	add(&t, CKA_SERIAL_NUMBER, serial, (size_t)serial_len);
	add(&t, CKA_VALUE, it->value, it->value_len);
	rv = fn->C_CreateObject(s, t.a, t.n, &created);
done:
	OPENSSL_free(subject);
	OPENSSL_free(issuer);
	OPENSSL_free(serial);
	if (rv != CKR_OK) {
		if (replaced)
			snprintf(r->note, sizeof r->note, "the old certificate "
			         "labelled '%s' was removed", it->label);
		return set_fail(r, rv, tmpl_bytes(&t));
	}
	r->outcome = replaced ? PZ_REPLACED : PZ_DONE;
	snprintf(r->note, sizeof r->note, "%zu bytes, CKA_TRUSTED%s",
	         it->value_len,
	         replaced ? "; another certificate had this label" : "");
}

/* ---- Keys ---- */

/* An existing private key with this label: kept if its id and type are
 * the profile's; a conflict otherwise.  Returns true when the step is
 * decided (kept or failed). */
static bool existing_key(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                         const struct dmsc_profile_item *it,
                         CK_KEY_TYPE want, struct pz_result *r)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	struct tmpl t = { .n = 0 };
	CK_OBJECT_HANDLE h[2];
	CK_ULONG count;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof kt };
	CK_RV rv;

	add(&t, CKA_CLASS, &cls, sizeof cls);
	add(&t, CKA_TOKEN, &yes, sizeof yes);
	add(&t, CKA_LABEL, it->label, strlen(it->label));
	rv = find(fn, s, &t, h, 2, &count);
	if (rv != CKR_OK) {
		set_fail(r, rv, 0);
		return true;
	}
	if (count == 0)
		return false;
	if (count == 1 && same_id(fn, s, h[0], it) &&
	    fn->C_GetAttributeValue(s, h[0], &a, 1) == CKR_OK && kt == want) {
		r->outcome = PZ_KEPT;
		snprintf(r->note, sizeof r->note, "a key of this label, id "
		         "and type is on the card (keys are never replaced)");
		return true;
	}
	conflict(r, "the card holds another private key labelled '%s' "
	         "(another id or key type); keys are never replaced: delete "
	         "it (pkcs11-tool --delete-object --type privkey --label "
	         "'%s') or change the profile's label", it->label, it->label);
	return true;
}

static CK_KEY_TYPE key_type_of(const struct dmsc_profile_item *it)
{
	switch (it->key_type) {
	case DMSC_KEY_RSA:
		return CKK_RSA;
	case DMSC_KEY_EC:
		return CKK_EC;
	default:
		return CKK_EC_EDWARDS;
	}
}

static const unsigned char *curve_oid(const struct dmsc_profile_item *it,
                                      size_t *len)
{
	const unsigned char *oid = oid_ed25519;

	*len = sizeof oid_ed25519;
	if (it->key_type == DMSC_KEY_EC && strcmp(it->curve, "P-384") == 0) {
		oid = oid_p384;
		*len = sizeof oid_p384;
	} else if (it->key_type == DMSC_KEY_EC &&
	           strcmp(it->curve, "P-521") == 0) {
		oid = oid_p521;
		*len = sizeof oid_p521;
	} else if (it->key_type == DMSC_KEY_EC) {
		oid = oid_p256;
		*len = sizeof oid_p256;
	}
	return oid;
}

/* The attributes both halves of a pair share. */
static void key_common(struct tmpl *t, const struct dmsc_profile_item *it)
{
	add(t, CKA_TOKEN, &yes, sizeof yes);
	add(t, CKA_LABEL, it->label, strlen(it->label));
	add(t, CKA_ID, it->id, it->id_len);
}

static void priv_flags(struct tmpl *t, bool rsa)
{
	add(t, CKA_PRIVATE, &yes, sizeof yes);
	add(t, CKA_SENSITIVE, &yes, sizeof yes);
	add(t, CKA_EXTRACTABLE, &no, sizeof no);
	add(t, CKA_SIGN, &yes, sizeof yes);
	if (rsa)
		add(t, CKA_DECRYPT, &yes, sizeof yes);
}

static void pub_flags(struct tmpl *t, bool rsa)
{
	add(t, CKA_PRIVATE, &no, sizeof no);
	add(t, CKA_VERIFY, &yes, sizeof yes);
	if (rsa)
		add(t, CKA_ENCRYPT, &yes, sizeof yes);
}

static void gen_key(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                    const struct dmsc_profile_item *it, struct pz_result *r)
{
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };
	CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = key_type_of(it);
	CK_ULONG bits = it->bits;
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	struct tmpl pub = { .n = 0 }, priv = { .n = 0 };
	CK_OBJECT_HANDLE hpub, hpriv;
	bool rsa = kt == CKK_RSA;
	size_t oid_len;
	const unsigned char *oid = curve_oid(it, &oid_len);
	CK_RV rv;

	if (existing_key(fn, s, it, kt, r))
		return;
	add(&pub, CKA_CLASS, &pubc, sizeof pubc);
	add(&pub, CKA_KEY_TYPE, &kt, sizeof kt);
	add(&priv, CKA_CLASS, &privc, sizeof privc);
	add(&priv, CKA_KEY_TYPE, &kt, sizeof kt);
	key_common(&pub, it);
	key_common(&priv, it);
	pub_flags(&pub, rsa);
	priv_flags(&priv, rsa);
	if (rsa) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		add(&pub, CKA_MODULUS_BITS, &bits, sizeof bits);
		add(&pub, CKA_PUBLIC_EXPONENT, f4, sizeof f4);
	} else {
		if (kt == CKK_EC_EDWARDS)
			mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		add(&pub, CKA_EC_PARAMS, oid, oid_len);
	}
	rv = fn->C_GenerateKeyPair(s, &mech, pub.a, pub.n, priv.a, priv.n,
	                           &hpub, &hpriv);
	if (rv != CKR_OK)
		return set_fail(r, rv, 0);
	r->outcome = PZ_DONE;
	if (rsa)
		snprintf(r->note, sizeof r->note, "RSA %u bits, generated on "
		         "the card", it->bits);
	else
		snprintf(r->note, sizeof r->note, "%s, generated on the card",
		         kt == CKK_EC ? it->curve : "Ed25519");
}

/* ---- Imported keys ---- */

/* A big-endian copy of a key parameter; NULL if absent. */
static unsigned char *bn_param(const EVP_PKEY *pkey, const char *name,
                               size_t *len)
{
	BIGNUM *bn = NULL;
	unsigned char *out = NULL;

	*len = 0;
	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return NULL;
	*len = (size_t)BN_num_bytes(bn);
	out = OPENSSL_secure_malloc(*len + 1);
	if (out != NULL)
		BN_bn2bin(bn, out);
	BN_clear_free(bn);
	return out;
}

/* DER OCTET STRING around data (for CKA_EC_POINT). */
static unsigned char *octet_string(const unsigned char *data, size_t len,
                                   size_t *out_len)
{
	unsigned char *out = malloc(len + 4);
	size_t h = 0;

	if (out == NULL || len > 0xFFFF) {
		free(out);
		return NULL;
	}
	out[h++] = 0x04;
	if (len < 0x80) {
		out[h++] = (unsigned char)len;
	} else if (len < 0x100) {
		out[h++] = 0x81;
		out[h++] = (unsigned char)len;
	} else {
		out[h++] = 0x82;
		out[h++] = (unsigned char)(len >> 8);
		out[h++] = (unsigned char)len;
	}
	memcpy(out + h, data, len);
	*out_len = h + len;
	return out;
}

#define RSA_PARTS 8

static void import_key(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                       const struct dmsc_profile_item *it,
                       struct pz_result *r)
{
	static const struct {
		const char *param;
		CK_ATTRIBUTE_TYPE type;
	} rsa_parts[RSA_PARTS] = {
		{ OSSL_PKEY_PARAM_RSA_N, CKA_MODULUS },
		{ OSSL_PKEY_PARAM_RSA_E, CKA_PUBLIC_EXPONENT },
		{ OSSL_PKEY_PARAM_RSA_D, CKA_PRIVATE_EXPONENT },
		{ OSSL_PKEY_PARAM_RSA_FACTOR1, CKA_PRIME_1 },
		{ OSSL_PKEY_PARAM_RSA_FACTOR2, CKA_PRIME_2 },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT1, CKA_EXPONENT_1 },
		{ OSSL_PKEY_PARAM_RSA_EXPONENT2, CKA_EXPONENT_2 },
		{ OSSL_PKEY_PARAM_RSA_COEFFICIENT1, CKA_COEFFICIENT },
	};
	CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = key_type_of(it);
	struct tmpl pub = { .n = 0 }, priv = { .n = 0 };
	unsigned char *parts[RSA_PARTS] = { NULL };
	size_t lens[RSA_PARTS] = { 0 };
	unsigned char *secret = NULL, *point = NULL, *wrapped = NULL;
	unsigned char raw[160];
	size_t secret_len = 0, point_len = 0, wrapped_len = 0, oid_len;
	const unsigned char *oid = curve_oid(it, &oid_len);
	CK_OBJECT_HANDLE hpriv, hpub;
	CK_RV rv = CKR_OK;

	if (existing_key(fn, s, it, kt, r))
		return;
	add(&pub, CKA_CLASS, &pubc, sizeof pubc);
	add(&pub, CKA_KEY_TYPE, &kt, sizeof kt);
	add(&priv, CKA_CLASS, &privc, sizeof privc);
	add(&priv, CKA_KEY_TYPE, &kt, sizeof kt);
	key_common(&pub, it);
	key_common(&priv, it);
	pub_flags(&pub, kt == CKK_RSA);
	priv_flags(&priv, kt == CKK_RSA);
	if (kt == CKK_RSA) {
		for (size_t i = 0; i < RSA_PARTS; i++) {
			parts[i] = bn_param(it->pkey, rsa_parts[i].param,
			                    &lens[i]);
			if (parts[i] == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			add(&priv, rsa_parts[i].type, parts[i], lens[i]);
			if (i < 2)
				add(&pub, rsa_parts[i].type, parts[i], lens[i]);
		}
	} else if (kt == CKK_EC) {
		secret = bn_param(it->pkey, OSSL_PKEY_PARAM_PRIV_KEY,
		                  &secret_len);
		if (secret == NULL ||
		    EVP_PKEY_get_octet_string_param(it->pkey,
		                                    OSSL_PKEY_PARAM_PUB_KEY, raw,
		                                    sizeof raw, &point_len) != 1)
			rv = CKR_HOST_MEMORY;
		point = raw;
	} else {
		secret_len = 32;
		secret = OPENSSL_secure_malloc(secret_len);
		point_len = 32;
		if (secret == NULL ||
		    EVP_PKEY_get_raw_private_key(it->pkey, secret,
		                                 &secret_len) != 1 ||
		    EVP_PKEY_get_raw_public_key(it->pkey, raw, &point_len) != 1)
			rv = CKR_HOST_MEMORY;
		point = raw;
	}
	if (rv == CKR_OK && kt != CKK_RSA) {
		wrapped = octet_string(point, point_len, &wrapped_len);
		if (wrapped == NULL)
			rv = CKR_HOST_MEMORY;
		add(&priv, CKA_EC_PARAMS, oid, oid_len);
		add(&priv, CKA_VALUE, secret, secret_len);
		add(&pub, CKA_EC_PARAMS, oid, oid_len);
		add(&pub, CKA_EC_POINT, wrapped, wrapped_len);
	}
	if (rv == CKR_OK) {
		rv = fn->C_CreateObject(s, priv.a, priv.n, &hpriv);
		if (rv == CKR_OK) {
			rv = fn->C_CreateObject(s, pub.a, pub.n, &hpub);
			/* Both or neither: a lone private key would make the
			 * re-run keep a half pair. */
			if (rv != CKR_OK)
				fn->C_DestroyObject(s, hpriv);
		}
	}
	if (rv != CKR_OK)
		set_fail(r, rv, tmpl_bytes(&priv) + tmpl_bytes(&pub));
	else {
		r->outcome = PZ_DONE;
		snprintf(r->note, sizeof r->note, "%s key imported",
		         kt == CKK_RSA ? "RSA" : kt == CKK_EC ? it->curve
		                                              : "Ed25519");
	}
	for (size_t i = 0; i < RSA_PARTS; i++)
		OPENSSL_secure_clear_free(parts[i], lens[i]);
	OPENSSL_secure_clear_free(secret, secret_len);
	free(wrapped);
}

/* ---- The DM client credential ---- */

static void put_credential(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                           const struct dmsc_profile_item *it,
                           struct pz_result *r)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	struct tmpl t = { .n = 0 };
	CK_OBJECT_HANDLE h[2], created;
	CK_ULONG count;
	CK_RV rv;

	add(&t, CKA_CLASS, &cls, sizeof cls);
	add(&t, CKA_TOKEN, &yes, sizeof yes);
	add(&t, CKA_LABEL, it->label, strlen(it->label));
	rv = find(fn, s, &t, h, 2, &count);
	if (rv != CKR_OK)
		return set_fail(r, rv, 0);
	if (count == 1 && same_id(fn, s, h[0], it)) {
		r->outcome = PZ_KEPT;
		snprintf(r->note, sizeof r->note, "a credential of this label "
		         "and id is on the card (it cannot be read back to "
		         "compare; delete it to change it)");
		return;
	}
	if (count != 0)
		return conflict(r, "the card holds another secret key labelled "
		                "'%s' (another id, or several): delete it "
		                "(pkcs11-tool --delete-object --type secrkey "
		                "--label '%s') or change the profile's label",
		                it->label, it->label);
	add(&t, CKA_KEY_TYPE, &kt, sizeof kt);
	add(&t, CKA_ID, it->id, it->id_len);
	add(&t, CKA_PRIVATE, &yes, sizeof yes);
	add(&t, CKA_SENSITIVE, &yes, sizeof yes);
	add(&t, CKA_EXTRACTABLE, &no, sizeof no);
	/* For the DM session security mechanisms only (C_Sign/C_Verify). */
	add(&t, CKA_SIGN, &yes, sizeof yes);
	add(&t, CKA_VERIFY, &yes, sizeof yes);
	add(&t, CKA_ENCRYPT, &no, sizeof no);
	add(&t, CKA_DECRYPT, &no, sizeof no);
	add(&t, CKA_WRAP, &no, sizeof no);
	add(&t, CKA_UNWRAP, &no, sizeof no);
	add(&t, CKA_DERIVE, &no, sizeof no);
	add(&t, CKA_VALUE, it->secret.bytes, it->secret.len);
	rv = fn->C_CreateObject(s, t.a, t.n, &created);
	if (rv != CKR_OK)
		return set_fail(r, rv, tmpl_bytes(&t));
	r->outcome = PZ_DONE;
	snprintf(r->note, sizeof r->note, "generic secret, sensitive, never "
	         "extractable");
}

void pz_item(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE session,
             const struct dmsc_profile_item *it, struct pz_result *res)
{
	memset(res, 0, sizeof *res);
	switch (it->kind) {
	case DMSC_ITEM_KEY:
		gen_key(fn, session, it, res);
		break;
	case DMSC_ITEM_IMPORT_KEY:
		import_key(fn, session, it, res);
		break;
	case DMSC_ITEM_MA_CERT:
		put_cert(fn, session, it, res);
		break;
	case DMSC_ITEM_DM_CREDENTIAL:
		put_credential(fn, session, it, res);
		break;
	case DMSC_ITEM_MO:
	case DMSC_ITEM_BOOTSTRAP:
		put_data(fn, session, it, res);
		break;
	}
}
