/*
 * bench-crypto: crypto throughput of PKCS#11 modules against raw OpenSSL.
 *
 *   bench-crypto [--seconds S] NAME=MODULE_PATH ...
 *
 * A generic PKCS#11 client: it knows nothing of dmsc, so the same code
 * measures our module and the reference ones (SoftHSM) alike, all loaded
 * side by side in this one process. Each module must show an initialised
 * token labelled "bench" with user PIN "1234" (bench/run-bench-crypto.sh
 * prepares them). One login per token is shared by all its sessions.
 *
 * The keys are generated here with OpenSSL and imported into every token
 * as session objects (CKA_TOKEN false), so the modules and the OpenSSL
 * baseline all use the same keys and nothing is left on the tokens.
 *
 * Operations, each a full Init + one-shot call per message, as an
 * application does it:
 *   RSA-2048 sign/verify   CKM_SHA256_RSA_PKCS over 256 bytes
 *   P-256 sign/verify      CKM_ECDSA_SHA256 over 256 bytes (a module
 *                          without it gets CKM_ECDSA over a SHA-256 digest
 *                          the bench computes per operation, and a note)
 *   Ed25519 sign/verify    CKM_EDDSA over 256 bytes ("n/a" for a module
 *                          without CKM_EDDSA)
 *   HMAC-SHA256            CKM_SHA256_HMAC over 1 KiB, 32-byte key
 *   SHA-256                CKM_SHA256 over 1 MiB (C_DigestInit + C_Digest)
 * The OpenSSL baseline does the same with the EVP API on loaded keys:
 * EVP_DigestSignInit + EVP_DigestSign (Verify alike), EVP_MAC_CTX_new +
 * EVP_MAC_init + update + final (the MAC fetched once), EVP_Digest.
 *
 * Every module's outputs are checked against OpenSSL before anything is
 * timed: its signatures verify with OpenSSL (and equal OpenSSL's where the
 * scheme is deterministic), it verifies OpenSSL's signatures and rejects a
 * corrupted one, its HMAC and SHA-256 equal OpenSSL's. A failed check
 * exits 1 before any timing.
 *
 * Each cell (operation x thread count x implementation) runs for a fixed
 * time: the threads, each with its own session, start together at a
 * barrier and stop at a shared deadline; ops/s = completed operations over
 * the time until the last thread stopped. Any PKCS#11 error prints the
 * function and its CKR code and exits 1.
 */

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "bench-util.h"
#include "ossl-bench.h"
#include "p11-bench.h"

#include <dlfcn.h>

#include <p11-kit/pkcs11.h>

#define BENCH_TOKEN_LABEL "bench"
#define BENCH_USER_PIN "1234"
#define DEFAULT_SECONDS 2.0
#define MAX_MODULES 8

#define MSG_LEN 256			/* signed messages */
#define HMAC_DATA_LEN 1024		/* HMAC input */
#define DIGEST_DATA_LEN (1024 * 1024)	/* SHA-256 input */
#define RSA_BITS 2048
#define RSA_SIG_LEN (RSA_BITS / 8)
#define EC_FIELD_LEN 32			/* P-256 */
#define EC_SIG_LEN (2 * EC_FIELD_LEN)	/* PKCS#11 r || s */
#define EC_DER_SIG_MAX 80
#define ED_KEY_LEN 32
#define ED_SIG_LEN 64
#define HMAC_KEY_LEN 32
#define SHA256_LEN 32
#define SIG_BUF_LEN 512

/* DER OIDs for CKA_EC_PARAMS. */
static const unsigned char oid_p256[] = {	/* 1.2.840.10045.3.1.7 */
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const unsigned char oid_ed25519[] = {	/* 1.3.101.112 */
	0x06, 0x03, 0x2b, 0x65, 0x70
};

static const unsigned thread_counts[] = { 1, 2 };
#define NTHREAD_COUNTS (sizeof thread_counts / sizeof thread_counts[0])
#define MAX_THREADS 2

enum op_kind {
	OP_RSA_SIGN,
	OP_RSA_VERIFY,
	OP_EC_SIGN,
	OP_EC_VERIFY,
	OP_ED_SIGN,
	OP_ED_VERIFY,
	OP_HMAC,
	OP_SHA256,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[OP_RSA_SIGN] = "RSA-2048 sign",
	[OP_RSA_VERIFY] = "RSA-2048 verify",
	[OP_EC_SIGN] = "P-256 sign",
	[OP_EC_VERIFY] = "P-256 verify",
	[OP_ED_SIGN] = "Ed25519 sign",
	[OP_ED_VERIFY] = "Ed25519 verify",
	[OP_HMAC] = "HMAC-SHA256 1KiB",
	[OP_SHA256] = "SHA-256 1MiB",
};

/* Keys, inputs and OpenSSL's reference outputs; read-only once timing starts. */
struct material {
	EVP_PKEY *rsa;
	EVP_PKEY *ec;
	EVP_PKEY *ed;
	unsigned char hmac_key[HMAC_KEY_LEN];
	EVP_MD *sha256;		/* fetched once */
	EVP_MAC *hmac;		/* fetched once */

	unsigned char msg[MSG_LEN];
	unsigned char hmac_data[HMAC_DATA_LEN];
	unsigned char *big;	/* DIGEST_DATA_LEN bytes */

	unsigned char rsa_sig[RSA_SIG_LEN];
	unsigned char ec_sig_der[EC_DER_SIG_MAX];
	size_t ec_sig_der_len;
	unsigned char ec_sig_raw[EC_SIG_LEN];
	unsigned char ed_sig[ED_SIG_LEN];
	unsigned char hmac_mac[SHA256_LEN];
	unsigned char big_digest[SHA256_LEN];
};

static struct material mat;

struct module {
	const char *name;
	const char *path;
	void *dl;
	CK_FUNCTION_LIST_PTR p11;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;	/* setup session: owns the key objects */
	CK_INFO info;

	bool ecdsa_prehash;	/* no CKM_ECDSA_SHA256: CKM_ECDSA on our digest */
	bool has_eddsa;

	CK_OBJECT_HANDLE rsa_priv, rsa_pub;
	CK_OBJECT_HANDLE ec_priv, ec_pub;
	CK_OBJECT_HANDLE ed_priv, ed_pub;
	CK_OBJECT_HANDLE hmac;
};

struct options {
	double seconds;
	struct module modules[MAX_MODULES];
	size_t nmodules;
};

/* One timed cell: an operation, an implementation, a thread count. */
struct cell {
	enum op_kind op;
	struct module *m;	/* NULL: raw OpenSSL */
	unsigned nthreads;
	pthread_barrier_t barrier;
	double start;
	double deadline;
};

struct worker {
	struct cell *cell;
	pthread_t thread;
	unsigned long count;
	double end;
};

const char *const bench_progname = "bench-crypto";

/* ---- errors ---------------------------------------------------------- */

static void check_rv(const struct module *m, const char *function, CK_RV rv)
{
	if (rv != CKR_OK)
		bench_fail("%s: %s failed: CKR 0x%08lx", m->name, function,
		     (unsigned long)rv);
}

/* ---- raw OpenSSL operations ----------------------------------------- */

/* One message signature: EVP_DigestSignInit + EVP_DigestSign. */
static size_t ossl_sign(EVP_PKEY *pkey, const EVP_MD *md,
			const unsigned char *data, size_t len,
			unsigned char *sig, size_t sig_size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = sig_size;

	if (!ctx)
		bench_ossl_fail("EVP_MD_CTX_new");
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) != 1)
		bench_ossl_fail("EVP_DigestSignInit");
	if (EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1)
		bench_ossl_fail("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	return sig_len;
}

/* 1: valid, 0: not valid. */
static int ossl_verify(EVP_PKEY *pkey, const EVP_MD *md,
		       const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		bench_ossl_fail("EVP_MD_CTX_new");
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1)
		bench_ossl_fail("EVP_DigestVerifyInit");
	ok = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok == 1;
}

static void ossl_hmac(const unsigned char *data, size_t len,
		      unsigned char mac[SHA256_LEN])
{
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 digest_name, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mat.hmac);
	size_t mac_len = 0;

	if (!ctx)
		bench_ossl_fail("EVP_MAC_CTX_new");
	if (EVP_MAC_init(ctx, mat.hmac_key, sizeof mat.hmac_key, params) != 1)
		bench_ossl_fail("EVP_MAC_init");
	if (EVP_MAC_update(ctx, data, len) != 1)
		bench_ossl_fail("EVP_MAC_update");
	if (EVP_MAC_final(ctx, mac, &mac_len, SHA256_LEN) != 1 ||
	    mac_len != SHA256_LEN)
		bench_ossl_fail("EVP_MAC_final");
	EVP_MAC_CTX_free(ctx);
}

static void ossl_sha256(const unsigned char *data, size_t len,
			unsigned char digest[SHA256_LEN])
{
	unsigned int digest_len = 0;

	if (EVP_Digest(data, len, digest, &digest_len, mat.sha256, NULL) != 1 ||
	    digest_len != SHA256_LEN)
		bench_ossl_fail("EVP_Digest");
}

static void ossl_op(enum op_kind op)
{
	unsigned char out[SIG_BUF_LEN];

	switch (op) {
	case OP_RSA_SIGN:
		if (ossl_sign(mat.rsa, mat.sha256, mat.msg, MSG_LEN, out,
			      sizeof out) != RSA_SIG_LEN)
			bench_ossl_fail("RSA signature length");
		break;
	case OP_RSA_VERIFY:
		if (!ossl_verify(mat.rsa, mat.sha256, mat.msg, MSG_LEN,
				 mat.rsa_sig, sizeof mat.rsa_sig))
			bench_ossl_fail("RSA verify");
		break;
	case OP_EC_SIGN:
		ossl_sign(mat.ec, mat.sha256, mat.msg, MSG_LEN, out,
			  sizeof out);
		break;
	case OP_EC_VERIFY:
		if (!ossl_verify(mat.ec, mat.sha256, mat.msg, MSG_LEN,
				 mat.ec_sig_der, mat.ec_sig_der_len))
			bench_ossl_fail("ECDSA verify");
		break;
	case OP_ED_SIGN:
		if (ossl_sign(mat.ed, NULL, mat.msg, MSG_LEN, out,
			      sizeof out) != ED_SIG_LEN)
			bench_ossl_fail("Ed25519 signature length");
		break;
	case OP_ED_VERIFY:
		if (!ossl_verify(mat.ed, NULL, mat.msg, MSG_LEN, mat.ed_sig,
				 sizeof mat.ed_sig))
			bench_ossl_fail("Ed25519 verify");
		break;
	case OP_HMAC:
		ossl_hmac(mat.hmac_data, HMAC_DATA_LEN, out);
		break;
	case OP_SHA256:
		ossl_sha256(mat.big, DIGEST_DATA_LEN, out);
		break;
	case OP_COUNT:
		break;
	}
}

/* ---- ECDSA signature formats ----------------------------------------- */

/* PKCS#11 r || s to DER ECDSA-Sig-Value; returns the DER length. */
static size_t ecdsa_raw_to_der(const unsigned char raw[EC_SIG_LEN],
			       unsigned char der[EC_DER_SIG_MAX])
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, EC_FIELD_LEN, NULL);
	BIGNUM *s = BN_bin2bn(raw + EC_FIELD_LEN, EC_FIELD_LEN, NULL);
	unsigned char *p = der;
	int len;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1)
		bench_ossl_fail("ECDSA_SIG_set0");
	len = i2d_ECDSA_SIG(sig, NULL);
	if (len <= 0 || len > EC_DER_SIG_MAX || i2d_ECDSA_SIG(sig, &p) != len)
		bench_ossl_fail("i2d_ECDSA_SIG");
	ECDSA_SIG_free(sig);
	return (size_t)len;
}

static void ecdsa_der_to_raw(const unsigned char *der, size_t der_len,
			     unsigned char raw[EC_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;

	if (!sig)
		bench_ossl_fail("d2i_ECDSA_SIG");
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, EC_FIELD_LEN) != EC_FIELD_LEN ||
	    BN_bn2binpad(s, raw + EC_FIELD_LEN, EC_FIELD_LEN) != EC_FIELD_LEN)
		bench_ossl_fail("BN_bn2binpad");
	ECDSA_SIG_free(sig);
}

/* ---- key material ----------------------------------------------------- */

struct blob {
	unsigned char *data;
	size_t len;
};

/* A big number as exactly `len` big-endian bytes. */
static struct blob bn_param_padded(EVP_PKEY *pkey, const char *name,
				   size_t len)
{
	BIGNUM *bn = NULL;
	struct blob b;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		bench_ossl_fail(name);
	b.len = len;
	b.data = bench_xmalloc(len);
	if (BN_bn2binpad(bn, b.data, (int)len) != (int)len)
		bench_ossl_fail("BN_bn2binpad");
	BN_clear_free(bn);
	return b;
}

/* DER OCTET STRING around a short value (< 128 bytes), for CKA_EC_POINT. */
static struct blob der_octet_string(const unsigned char *value, size_t len)
{
	struct blob b;

	if (len >= 128)
		bench_fail("EC point too long");
	b.len = len + 2;
	b.data = bench_xmalloc(b.len);
	b.data[0] = 0x04;
	b.data[1] = (unsigned char)len;
	memcpy(b.data + 2, value, len);
	return b;
}

static void blob_free(struct blob *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static void make_material(void)
{
	unsigned char der[EC_DER_SIG_MAX];
	size_t der_len;

	mat.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!mat.sha256)
		bench_ossl_fail("EVP_MD_fetch SHA256");
	mat.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mat.hmac)
		bench_ossl_fail("EVP_MAC_fetch HMAC");

	mat.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	if (!mat.rsa)
		bench_ossl_fail("RSA-2048 key generation");
	mat.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!mat.ec)
		bench_ossl_fail("P-256 key generation");
	mat.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!mat.ed)
		bench_ossl_fail("Ed25519 key generation");

	mat.big = bench_xmalloc(DIGEST_DATA_LEN);
	if (RAND_bytes(mat.hmac_key, sizeof mat.hmac_key) != 1 ||
	    RAND_bytes(mat.msg, sizeof mat.msg) != 1 ||
	    RAND_bytes(mat.hmac_data, sizeof mat.hmac_data) != 1 ||
	    RAND_bytes(mat.big, DIGEST_DATA_LEN) != 1)
		bench_ossl_fail("RAND_bytes");

	/* OpenSSL's reference outputs, each checked by OpenSSL itself. */
	if (ossl_sign(mat.rsa, mat.sha256, mat.msg, MSG_LEN, mat.rsa_sig,
		      sizeof mat.rsa_sig) != RSA_SIG_LEN ||
	    !ossl_verify(mat.rsa, mat.sha256, mat.msg, MSG_LEN, mat.rsa_sig,
			 sizeof mat.rsa_sig))
		bench_ossl_fail("RSA reference signature");
	mat.ec_sig_der_len = ossl_sign(mat.ec, mat.sha256, mat.msg, MSG_LEN,
				       mat.ec_sig_der, sizeof mat.ec_sig_der);
	if (!ossl_verify(mat.ec, mat.sha256, mat.msg, MSG_LEN, mat.ec_sig_der,
			 mat.ec_sig_der_len))
		bench_ossl_fail("ECDSA reference signature");
	ecdsa_der_to_raw(mat.ec_sig_der, mat.ec_sig_der_len, mat.ec_sig_raw);
	/* The r || s form must convert back to a valid DER signature. */
	der_len = ecdsa_raw_to_der(mat.ec_sig_raw, der);
	if (!ossl_verify(mat.ec, mat.sha256, mat.msg, MSG_LEN, der, der_len))
		bench_ossl_fail("ECDSA r||s round trip");
	if (ossl_sign(mat.ed, NULL, mat.msg, MSG_LEN, mat.ed_sig,
		      sizeof mat.ed_sig) != ED_SIG_LEN ||
	    !ossl_verify(mat.ed, NULL, mat.msg, MSG_LEN, mat.ed_sig,
			 sizeof mat.ed_sig))
		bench_ossl_fail("Ed25519 reference signature");
	ossl_hmac(mat.hmac_data, HMAC_DATA_LEN, mat.hmac_mac);
	ossl_sha256(mat.big, DIGEST_DATA_LEN, mat.big_digest);
}

static void free_material(void)
{
	EVP_PKEY_free(mat.rsa);
	EVP_PKEY_free(mat.ec);
	EVP_PKEY_free(mat.ed);
	EVP_MD_free(mat.sha256);
	EVP_MAC_free(mat.hmac);
	free(mat.big);
	OPENSSL_cleanse(mat.hmac_key, sizeof mat.hmac_key);
}

/* ---- module lifecycle ---------------------------------------------------- */

static void load_module(struct module *m)
{
	m->p11 = bench_load_module(bench_progname, m->name, m->path, &m->dl);
}

static CK_SLOT_ID find_bench_slot(struct module *m)
{
	return bench_find_token(bench_progname, m->name, m->p11, BENCH_TOKEN_LABEL);
}

/* Whether the token offers `mech`; any error but "no such mechanism" fails. */
static bool has_mechanism(struct module *m, CK_MECHANISM_TYPE mech)
{
	CK_MECHANISM_INFO info;
	CK_RV rv = m->p11->C_GetMechanismInfo(m->slot, mech, &info);

	if (rv == CKR_MECHANISM_INVALID)
		return false;
	check_rv(m, "C_GetMechanismInfo", rv);
	return true;
}

static void require_mechanism(struct module *m, CK_MECHANISM_TYPE mech,
			      const char *name)
{
	if (!has_mechanism(m, mech))
		bench_fail("%s: the token does not offer %s", m->name, name);
}

static void open_module(struct module *m)
{
	CK_C_INITIALIZE_ARGS init_args;
	unsigned char pin[] = BENCH_USER_PIN;
	CK_RV rv;

	load_module(m);
	memset(&init_args, 0, sizeof init_args);
	init_args.flags = CKF_OS_LOCKING_OK;
	check_rv(m, "C_Initialize", m->p11->C_Initialize(&init_args));
	check_rv(m, "C_GetInfo", m->p11->C_GetInfo(&m->info));
	m->slot = find_bench_slot(m);
	check_rv(m, "C_OpenSession",
		 m->p11->C_OpenSession(m->slot,
				       CKF_SERIAL_SESSION | CKF_RW_SESSION,
				       NULL, NULL, &m->session));
	rv = m->p11->C_Login(m->session, CKU_USER, pin, sizeof pin - 1);
	if (rv != CKR_USER_ALREADY_LOGGED_IN)
		check_rv(m, "C_Login", rv);

	require_mechanism(m, CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS");
	if (has_mechanism(m, CKM_ECDSA_SHA256)) {
		m->ecdsa_prehash = false;
	} else {
		require_mechanism(m, CKM_ECDSA, "CKM_ECDSA_SHA256 nor CKM_ECDSA");
		m->ecdsa_prehash = true;
	}
	m->has_eddsa = has_mechanism(m, CKM_EDDSA);
	require_mechanism(m, CKM_SHA256_HMAC, "CKM_SHA256_HMAC");
	require_mechanism(m, CKM_SHA256, "CKM_SHA256");
}

/* Closing the setup session destroys the session key objects. */
static void close_module(struct module *m)
{
	check_rv(m, "C_Logout", m->p11->C_Logout(m->session));
	check_rv(m, "C_CloseSession", m->p11->C_CloseSession(m->session));
	check_rv(m, "C_Finalize", m->p11->C_Finalize(NULL));
	dlclose(m->dl);
	m->dl = NULL;
	m->p11 = NULL;
}

/* ---- key import ----------------------------------------------------------- */

static CK_OBJECT_HANDLE create_object(struct module *m, const char *what,
				      CK_ATTRIBUTE *template, CK_ULONG count)
{
	CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
	CK_RV rv = m->p11->C_CreateObject(m->session, template, count, &handle);

	if (rv != CKR_OK)
		bench_fail("%s: C_CreateObject (%s) failed: CKR 0x%08lx", m->name,
		     what, (unsigned long)rv);
	return handle;
}

#define COUNT(a) ((CK_ULONG)(sizeof(a) / sizeof((a)[0])))
#define ATTR(type, ptr, len) { (type), (void *)(ptr), (CK_ULONG)(len) }
#define ATTR_VAL(type, var) ATTR(type, &(var), sizeof(var))
#define ATTR_BLOB(type, b) ATTR(type, (b).data, (b).len)

static void import_rsa(struct module *m)
{
	struct bench_rsa_templates t;

	bench_rsa_templates(&t, mat.rsa, "bench-rsa2048");
	m->rsa_priv = create_object(m, "RSA-2048 private key", t.priv, COUNT(t.priv));
	m->rsa_pub = create_object(m, "RSA-2048 public key", t.pub, COUNT(t.pub));
	bench_rsa_templates_free(&t);
}

static void import_ec(struct module *m)
{
	CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
	CK_KEY_TYPE type = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char label[] = "bench-p256";
	unsigned char point[2 * EC_FIELD_LEN + 1];
	size_t point_len = 0;
	struct blob value = bn_param_padded(mat.ec, OSSL_PKEY_PARAM_PRIV_KEY,
					    EC_FIELD_LEN);
	struct blob ec_point;

	if (EVP_PKEY_get_octet_string_param(mat.ec, OSSL_PKEY_PARAM_PUB_KEY,
					    point, sizeof point,
					    &point_len) != 1 ||
	    point_len != sizeof point || point[0] != 0x04)
		bench_ossl_fail("P-256 uncompressed public point");
	ec_point = der_octet_string(point, point_len);

	CK_ATTRIBUTE priv[] = {
		ATTR_VAL(CKA_CLASS, priv_class),
		ATTR_VAL(CKA_KEY_TYPE, type),
		ATTR_VAL(CKA_TOKEN, no),
		ATTR_VAL(CKA_PRIVATE, yes),
		ATTR_VAL(CKA_SENSITIVE, yes),
		ATTR_VAL(CKA_SIGN, yes),
		ATTR(CKA_LABEL, label, sizeof label - 1),
		ATTR(CKA_EC_PARAMS, oid_p256, sizeof oid_p256),
		ATTR_BLOB(CKA_VALUE, value),
	};
	CK_ATTRIBUTE pub[] = {
		ATTR_VAL(CKA_CLASS, pub_class),
		ATTR_VAL(CKA_KEY_TYPE, type),
		ATTR_VAL(CKA_TOKEN, no),
		ATTR_VAL(CKA_PRIVATE, no),
		ATTR_VAL(CKA_VERIFY, yes),
		ATTR(CKA_LABEL, label, sizeof label - 1),
		ATTR(CKA_EC_PARAMS, oid_p256, sizeof oid_p256),
		ATTR_BLOB(CKA_EC_POINT, ec_point),
	};

	m->ec_priv = create_object(m, "P-256 private key", priv, COUNT(priv));
	m->ec_pub = create_object(m, "P-256 public key", pub, COUNT(pub));
	blob_free(&value);
	blob_free(&ec_point);
}

static void import_ed25519(struct module *m)
{
	CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
	CK_KEY_TYPE type = CKK_EC_EDWARDS;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char label[] = "bench-ed25519";
	unsigned char seed[ED_KEY_LEN], pub_raw[ED_KEY_LEN];
	size_t seed_len = sizeof seed, pub_len = sizeof pub_raw;
	struct blob ec_point;

	if (EVP_PKEY_get_raw_private_key(mat.ed, seed, &seed_len) != 1 ||
	    seed_len != ED_KEY_LEN ||
	    EVP_PKEY_get_raw_public_key(mat.ed, pub_raw, &pub_len) != 1 ||
	    pub_len != ED_KEY_LEN)
		bench_ossl_fail("Ed25519 raw keys");
	ec_point = der_octet_string(pub_raw, pub_len);

	CK_ATTRIBUTE priv[] = {
		ATTR_VAL(CKA_CLASS, priv_class),
		ATTR_VAL(CKA_KEY_TYPE, type),
		ATTR_VAL(CKA_TOKEN, no),
		ATTR_VAL(CKA_PRIVATE, yes),
		ATTR_VAL(CKA_SENSITIVE, yes),
		ATTR_VAL(CKA_SIGN, yes),
		ATTR(CKA_LABEL, label, sizeof label - 1),
		ATTR(CKA_EC_PARAMS, oid_ed25519, sizeof oid_ed25519),
		ATTR(CKA_VALUE, seed, seed_len),
	};
	CK_ATTRIBUTE pub[] = {
		ATTR_VAL(CKA_CLASS, pub_class),
		ATTR_VAL(CKA_KEY_TYPE, type),
		ATTR_VAL(CKA_TOKEN, no),
		ATTR_VAL(CKA_PRIVATE, no),
		ATTR_VAL(CKA_VERIFY, yes),
		ATTR(CKA_LABEL, label, sizeof label - 1),
		ATTR(CKA_EC_PARAMS, oid_ed25519, sizeof oid_ed25519),
		ATTR_BLOB(CKA_EC_POINT, ec_point),
	};

	m->ed_priv = create_object(m, "Ed25519 private key", priv, COUNT(priv));
	m->ed_pub = create_object(m, "Ed25519 public key", pub, COUNT(pub));
	OPENSSL_cleanse(seed, sizeof seed);
	blob_free(&ec_point);
}

static void import_hmac(struct module *m)
{
	CK_OBJECT_CLASS key_class = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char label[] = "bench-hmac";
	CK_ATTRIBUTE key[] = {
		ATTR_VAL(CKA_CLASS, key_class),
		ATTR_VAL(CKA_KEY_TYPE, type),
		ATTR_VAL(CKA_TOKEN, no),
		ATTR_VAL(CKA_PRIVATE, yes),
		ATTR_VAL(CKA_SENSITIVE, yes),
		ATTR_VAL(CKA_SIGN, yes),
		ATTR_VAL(CKA_VERIFY, yes),
		ATTR(CKA_LABEL, label, sizeof label - 1),
		ATTR(CKA_VALUE, mat.hmac_key, sizeof mat.hmac_key),
	};

	m->hmac = create_object(m, "HMAC generic secret key", key, COUNT(key));
}

static void import_keys(struct module *m)
{
	import_rsa(m);
	import_ec(m);
	if (m->has_eddsa)
		import_ed25519(m);
	import_hmac(m);
}

/* ---- PKCS#11 operations --------------------------------------------------- */

static CK_SESSION_HANDLE open_session(struct module *m)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

	check_rv(m, "C_OpenSession",
		 m->p11->C_OpenSession(m->slot, CKF_SERIAL_SESSION, NULL, NULL,
				       &s));
	return s;
}

static void close_session(struct module *m, CK_SESSION_HANDLE s)
{
	check_rv(m, "C_CloseSession", m->p11->C_CloseSession(s));
}

/* C_SignInit + C_Sign; returns the signature length. */
static CK_ULONG p11_sign(struct module *m, CK_SESSION_HANDLE s,
			 CK_MECHANISM_TYPE mech_type, CK_OBJECT_HANDLE key,
			 const unsigned char *data, size_t len,
			 unsigned char *sig, CK_ULONG sig_size)
{
	CK_MECHANISM mech = { mech_type, NULL, 0 };
	CK_ULONG sig_len = sig_size;

	check_rv(m, "C_SignInit", m->p11->C_SignInit(s, &mech, key));
	check_rv(m, "C_Sign",
		 m->p11->C_Sign(s, (CK_BYTE_PTR)data, (CK_ULONG)len, sig,
				&sig_len));
	return sig_len;
}

/* C_VerifyInit + C_Verify; returns C_Verify's code (C_VerifyInit must work). */
static CK_RV p11_verify_rv(struct module *m, CK_SESSION_HANDLE s,
			   CK_MECHANISM_TYPE mech_type, CK_OBJECT_HANDLE key,
			   const unsigned char *data, size_t len,
			   const unsigned char *sig, size_t sig_len)
{
	CK_MECHANISM mech = { mech_type, NULL, 0 };

	check_rv(m, "C_VerifyInit", m->p11->C_VerifyInit(s, &mech, key));
	return m->p11->C_Verify(s, (CK_BYTE_PTR)data, (CK_ULONG)len,
				(CK_BYTE_PTR)sig, (CK_ULONG)sig_len);
}

static void p11_verify(struct module *m, CK_SESSION_HANDLE s,
		       CK_MECHANISM_TYPE mech_type, CK_OBJECT_HANDLE key,
		       const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t sig_len)
{
	check_rv(m, "C_Verify",
		 p11_verify_rv(m, s, mech_type, key, data, len, sig, sig_len));
}

static CK_ULONG p11_digest(struct module *m, CK_SESSION_HANDLE s,
			   const unsigned char *data, size_t len,
			   unsigned char *digest, CK_ULONG digest_size)
{
	CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
	CK_ULONG digest_len = digest_size;

	check_rv(m, "C_DigestInit", m->p11->C_DigestInit(s, &mech));
	check_rv(m, "C_Digest",
		 m->p11->C_Digest(s, (CK_BYTE_PTR)data, (CK_ULONG)len, digest,
				  &digest_len));
	return digest_len;
}

/*
 * ECDSA over mat.msg: CKM_ECDSA_SHA256 on the message, or, for a module
 * without it, CKM_ECDSA on the message's SHA-256 computed here (per
 * operation, so it is timed with the signature as the hash would be).
 */
static CK_ULONG p11_ecdsa_sign(struct module *m, CK_SESSION_HANDLE s,
			       unsigned char sig[SIG_BUF_LEN])
{
	unsigned char digest[SHA256_LEN];

	if (!m->ecdsa_prehash)
		return p11_sign(m, s, CKM_ECDSA_SHA256, m->ec_priv, mat.msg,
				MSG_LEN, sig, SIG_BUF_LEN);
	ossl_sha256(mat.msg, MSG_LEN, digest);
	return p11_sign(m, s, CKM_ECDSA, m->ec_priv, digest, sizeof digest,
			sig, SIG_BUF_LEN);
}

static CK_RV p11_ecdsa_verify_rv(struct module *m, CK_SESSION_HANDLE s,
				 const unsigned char sig[EC_SIG_LEN])
{
	unsigned char digest[SHA256_LEN];

	if (!m->ecdsa_prehash)
		return p11_verify_rv(m, s, CKM_ECDSA_SHA256, m->ec_pub,
				     mat.msg, MSG_LEN, sig, EC_SIG_LEN);
	ossl_sha256(mat.msg, MSG_LEN, digest);
	return p11_verify_rv(m, s, CKM_ECDSA, m->ec_pub, digest,
			     sizeof digest, sig, EC_SIG_LEN);
}

static void expect_len(const struct module *m, const char *what,
		       CK_ULONG got, CK_ULONG want)
{
	if (got != want)
		bench_fail("%s: %s returned %lu bytes, expected %lu", m->name, what,
		     (unsigned long)got, (unsigned long)want);
}

/* One timed operation; every call is checked. */
static void p11_op(struct module *m, CK_SESSION_HANDLE s, enum op_kind op)
{
	unsigned char out[SIG_BUF_LEN];

	switch (op) {
	case OP_RSA_SIGN:
		expect_len(m, "C_Sign (CKM_SHA256_RSA_PKCS)",
			   p11_sign(m, s, CKM_SHA256_RSA_PKCS, m->rsa_priv,
				    mat.msg, MSG_LEN, out, sizeof out),
			   RSA_SIG_LEN);
		break;
	case OP_RSA_VERIFY:
		p11_verify(m, s, CKM_SHA256_RSA_PKCS, m->rsa_pub, mat.msg,
			   MSG_LEN, mat.rsa_sig, sizeof mat.rsa_sig);
		break;
	case OP_EC_SIGN:
		expect_len(m, "C_Sign (ECDSA)", p11_ecdsa_sign(m, s, out),
			   EC_SIG_LEN);
		break;
	case OP_EC_VERIFY:
		check_rv(m, "C_Verify", p11_ecdsa_verify_rv(m, s, mat.ec_sig_raw));
		break;
	case OP_ED_SIGN:
		expect_len(m, "C_Sign (CKM_EDDSA)",
			   p11_sign(m, s, CKM_EDDSA, m->ed_priv, mat.msg,
				    MSG_LEN, out, sizeof out),
			   ED_SIG_LEN);
		break;
	case OP_ED_VERIFY:
		p11_verify(m, s, CKM_EDDSA, m->ed_pub, mat.msg, MSG_LEN,
			   mat.ed_sig, sizeof mat.ed_sig);
		break;
	case OP_HMAC:
		expect_len(m, "C_Sign (CKM_SHA256_HMAC)",
			   p11_sign(m, s, CKM_SHA256_HMAC, m->hmac,
				    mat.hmac_data, HMAC_DATA_LEN, out,
				    sizeof out),
			   SHA256_LEN);
		break;
	case OP_SHA256:
		expect_len(m, "C_Digest (CKM_SHA256)",
			   p11_digest(m, s, mat.big, DIGEST_DATA_LEN, out,
				      sizeof out),
			   SHA256_LEN);
		break;
	case OP_COUNT:
		break;
	}
}

static bool op_available(const struct module *m, enum op_kind op)
{
	if (op == OP_ED_SIGN || op == OP_ED_VERIFY)
		return m->has_eddsa;
	return true;
}

/* ---- correctness checks ------------------------------------------------ */

static unsigned check_failures;

static void check(const struct module *m, bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s: CHECK FAILED: %s: %s\n", bench_progname,
			m->name, what);
		check_failures++;
	}
}

/* A verify of a corrupted signature must say CKR_SIGNATURE_INVALID. */
static void check_rejects(const struct module *m, CK_RV rv, const char *what)
{
	if (rv != CKR_SIGNATURE_INVALID) {
		fprintf(stderr,
			"%s: CHECK FAILED: %s: %s: C_Verify returned CKR 0x%08lx, expected CKR_SIGNATURE_INVALID\n",
			bench_progname, m->name, what, (unsigned long)rv);
		check_failures++;
	}
}

/*
 * Check the module against OpenSSL, in a session of its own as the timed
 * threads use, before anything is timed.
 */
static void check_module(struct module *m)
{
	CK_SESSION_HANDLE s = open_session(m);
	unsigned char out[SIG_BUF_LEN], bad[SIG_BUF_LEN];
	unsigned char der[EC_DER_SIG_MAX];
	CK_ULONG len;
	unsigned before = check_failures;

	/* RSA PKCS#1 v1.5 is deterministic: equal to OpenSSL's, and valid. */
	len = p11_sign(m, s, CKM_SHA256_RSA_PKCS, m->rsa_priv, mat.msg, MSG_LEN,
		       out, sizeof out);
	check(m, len == RSA_SIG_LEN &&
		 ossl_verify(mat.rsa, mat.sha256, mat.msg, MSG_LEN, out, len),
	      "CKM_SHA256_RSA_PKCS signature does not verify with OpenSSL");
	check(m, len == RSA_SIG_LEN && memcmp(out, mat.rsa_sig, len) == 0,
	      "CKM_SHA256_RSA_PKCS signature differs from OpenSSL's");
	check_rv(m, "C_Verify (CKM_SHA256_RSA_PKCS, OpenSSL's signature)",
		 p11_verify_rv(m, s, CKM_SHA256_RSA_PKCS, m->rsa_pub, mat.msg,
			       MSG_LEN, mat.rsa_sig, sizeof mat.rsa_sig));
	memcpy(bad, mat.rsa_sig, sizeof mat.rsa_sig);
	bad[RSA_SIG_LEN / 2] ^= 0x01;
	check_rejects(m, p11_verify_rv(m, s, CKM_SHA256_RSA_PKCS, m->rsa_pub,
				       mat.msg, MSG_LEN, bad, RSA_SIG_LEN),
		      "CKM_SHA256_RSA_PKCS, corrupted signature");

	/* ECDSA: r || s, converted to DER for OpenSSL. */
	len = p11_ecdsa_sign(m, s, out);
	if (len == EC_SIG_LEN) {
		size_t der_len = ecdsa_raw_to_der(out, der);

		check(m, ossl_verify(mat.ec, mat.sha256, mat.msg, MSG_LEN, der,
				     der_len),
		      "ECDSA signature does not verify with OpenSSL");
	} else {
		check(m, false, "ECDSA signature is not 64 bytes (r || s)");
	}
	check_rv(m, "C_Verify (ECDSA, OpenSSL's signature)",
		 p11_ecdsa_verify_rv(m, s, mat.ec_sig_raw));
	memcpy(bad, mat.ec_sig_raw, EC_SIG_LEN);
	bad[EC_FIELD_LEN / 2] ^= 0x01;
	check_rejects(m, p11_ecdsa_verify_rv(m, s, bad),
		      "ECDSA, corrupted signature");

	/* Ed25519 is deterministic too. */
	if (m->has_eddsa) {
		len = p11_sign(m, s, CKM_EDDSA, m->ed_priv, mat.msg, MSG_LEN,
			       out, sizeof out);
		check(m, len == ED_SIG_LEN &&
			 ossl_verify(mat.ed, NULL, mat.msg, MSG_LEN, out, len),
		      "CKM_EDDSA signature does not verify with OpenSSL");
		check(m, len == ED_SIG_LEN &&
			 memcmp(out, mat.ed_sig, ED_SIG_LEN) == 0,
		      "CKM_EDDSA signature differs from OpenSSL's");
		check_rv(m, "C_Verify (CKM_EDDSA, OpenSSL's signature)",
			 p11_verify_rv(m, s, CKM_EDDSA, m->ed_pub, mat.msg,
				       MSG_LEN, mat.ed_sig, ED_SIG_LEN));
		memcpy(bad, mat.ed_sig, ED_SIG_LEN);
		bad[ED_SIG_LEN / 4] ^= 0x01;
		check_rejects(m, p11_verify_rv(m, s, CKM_EDDSA, m->ed_pub,
					       mat.msg, MSG_LEN, bad,
					       ED_SIG_LEN),
			      "CKM_EDDSA, corrupted signature");
	}

	len = p11_sign(m, s, CKM_SHA256_HMAC, m->hmac, mat.hmac_data,
		       HMAC_DATA_LEN, out, sizeof out);
	check(m, len == SHA256_LEN &&
		 memcmp(out, mat.hmac_mac, SHA256_LEN) == 0,
	      "CKM_SHA256_HMAC differs from OpenSSL's HMAC-SHA256");

	len = p11_digest(m, s, mat.big, DIGEST_DATA_LEN, out, sizeof out);
	check(m, len == SHA256_LEN &&
		 memcmp(out, mat.big_digest, SHA256_LEN) == 0,
	      "CKM_SHA256 digest differs from OpenSSL's SHA-256");

	close_session(m, s);
	if (check_failures == before)
		fprintf(stderr, "%s: %s: outputs checked against OpenSSL: ok\n",
			bench_progname, m->name);
}

/* ---- timing ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cell *c = w->cell;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	unsigned long n = 0;
	double t, deadline;

	if (c->m)
		s = open_session(c->m);
	bench_barrier_wait(&c->barrier);	/* all set up */
	bench_barrier_wait(&c->barrier);	/* main has set the deadline */
	deadline = c->deadline;
	for (t = bench_now_secs(); t < deadline; t = bench_now_secs()) {
		if (c->m)
			p11_op(c->m, s, c->op);
		else
			ossl_op(c->op);
		n++;
	}
	w->count = n;
	w->end = t;
	if (c->m)
		close_session(c->m, s);
	return NULL;
}

/* Ops/s of one cell: completed operations over the time to the last stop. */
static double run_cell(enum op_kind op, struct module *m, unsigned nthreads,
		       double seconds)
{
	struct cell c = { .op = op, .m = m, .nthreads = nthreads };
	struct worker workers[MAX_THREADS];
	unsigned long total = 0;
	double last_end;

	if (nthreads > MAX_THREADS)
		bench_fail("too many threads");
	if (pthread_barrier_init(&c.barrier, NULL, nthreads + 1) != 0)
		bench_fail("pthread_barrier_init failed");
	for (unsigned i = 0; i < nthreads; i++) {
		workers[i] = (struct worker){ .cell = &c };
		if (pthread_create(&workers[i].thread, NULL, worker_main,
				   &workers[i]) != 0)
			bench_fail("pthread_create failed");
	}
	bench_barrier_wait(&c.barrier);
	c.start = bench_now_secs();
	c.deadline = c.start + seconds;
	bench_barrier_wait(&c.barrier);
	last_end = c.start;
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_join(workers[i].thread, NULL) != 0)
			bench_fail("pthread_join failed");
		total += workers[i].count;
		if (workers[i].end > last_end)
			last_end = workers[i].end;
	}
	pthread_barrier_destroy(&c.barrier);
	if (last_end <= c.start)
		return 0.0;
	return (double)total / (last_end - c.start);
}

/* ---- output ------------------------------------------------------------ */

static unsigned online_cpus(void)
{
	cpu_set_t set;

	/* What nproc prints: the CPUs this process may run on. */
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	return (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
}

/* A blank-padded, fixed-size PKCS#11 string, trimmed. */
static void print_padded(const unsigned char *s, size_t size)
{
	while (size > 0 && s[size - 1] == ' ')
		size--;
	fwrite(s, 1, size, stdout);
}

static void print_header(const struct options *opt)
{
	printf("bench-crypto: nproc %u, %s (built with %s), %.1f s per cell\n",
	       online_cpus(), OpenSSL_version(OPENSSL_VERSION),
	       OPENSSL_VERSION_TEXT, opt->seconds);
	for (size_t i = 0; i < opt->nmodules; i++) {
		const struct module *m = &opt->modules[i];

		printf("  %-10s %s: ", m->name, m->path);
		print_padded(m->info.libraryDescription,
			     sizeof m->info.libraryDescription);
		printf(" %u.%u (", m->info.libraryVersion.major,
		       m->info.libraryVersion.minor);
		print_padded(m->info.manufacturerID,
			     sizeof m->info.manufacturerID);
		printf(")\n");
	}
	for (size_t i = 0; i < opt->nmodules; i++) {
		const struct module *m = &opt->modules[i];

		if (m->ecdsa_prehash)
			printf("  note: %s has no CKM_ECDSA_SHA256: its P-256 rows use CKM_ECDSA over a SHA-256 digest computed by the bench (timed with each op)\n",
			       m->name);
		if (!m->has_eddsa)
			printf("  note: %s has no CKM_EDDSA: its Ed25519 rows are n/a\n",
			       m->name);
	}
	printf("  each op: Init + one-shot call; %d-byte messages; ops/s summed over threads, one session per thread\n\n",
	       MSG_LEN);
}

static void print_table(const struct options *opt,
			double rates[OP_COUNT][NTHREAD_COUNTS][1 + MAX_MODULES])
{
	char head[64];

	printf("%-18s %7s %10s", "operation", "threads", "openssl");
	for (size_t i = 0; i < opt->nmodules; i++)
		printf(" %10s", opt->modules[i].name);
	for (size_t i = 0; i < opt->nmodules; i++) {
		snprintf(head, sizeof head, "%s/openssl", opt->modules[i].name);
		printf(" %15s", head);
	}
	printf("\n");
	for (int op = 0; op < OP_COUNT; op++) {
		for (size_t t = 0; t < NTHREAD_COUNTS; t++) {
			double base = rates[op][t][0];

			printf("%-18s %7u %10.0f", op_names[op],
			       thread_counts[t], base);
			for (size_t i = 0; i < opt->nmodules; i++) {
				double r = rates[op][t][1 + i];

				if (isnan(r))
					printf(" %10s", "n/a");
				else
					printf(" %10.0f", r);
			}
			for (size_t i = 0; i < opt->nmodules; i++) {
				double r = rates[op][t][1 + i];

				if (isnan(r) || base <= 0.0)
					printf(" %15s", "n/a");
				else
					printf(" %15.2f", r / base);
			}
			printf("\n");
		}
	}
}

/* ---- main -------------------------------------------------------------- */

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: %s [--seconds S] NAME=MODULE_PATH ...\n"
		"  Each module needs an initialised token labelled \"%s\" with user PIN \"%s\".\n",
		bench_progname, BENCH_TOKEN_LABEL, BENCH_USER_PIN);
	exit(2);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
	opt->seconds = DEFAULT_SECONDS;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char *eq;

		if (strcmp(arg, "--seconds") == 0) {
			char *end;

			if (++i >= argc)
				usage();
			opt->seconds = strtod(argv[i], &end);
			if (end == argv[i] || *end != '\0' ||
			    !(opt->seconds > 0.0) || opt->seconds > 3600.0)
				bench_fail("--seconds: want a number of seconds above 0, got \"%s\"",
				     argv[i]);
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage();
		} else if (arg[0] == '-') {
			fprintf(stderr, "%s: unknown option %s\n", bench_progname, arg);
			usage();
		} else if ((eq = strchr(arg, '=')) != NULL && eq != arg &&
			   eq[1] != '\0') {
			struct module *m;

			if (opt->nmodules == MAX_MODULES)
				bench_fail("at most %d modules", MAX_MODULES);
			m = &opt->modules[opt->nmodules++];
			*eq = '\0';
			m->name = arg;
			m->path = eq + 1;
		} else {
			fprintf(stderr, "%s: expected NAME=MODULE_PATH, got \"%s\"\n",
				bench_progname, arg);
			usage();
		}
	}
	if (opt->nmodules == 0)
		usage();
}

int main(int argc, char **argv)
{
	static struct options opt;
	static double rates[OP_COUNT][NTHREAD_COUNTS][1 + MAX_MODULES];

	parse_args(argc, argv, &opt);
	make_material();

	for (size_t i = 0; i < opt.nmodules; i++) {
		open_module(&opt.modules[i]);
		import_keys(&opt.modules[i]);
	}
	/* No timing until every module has produced right results. */
	for (size_t i = 0; i < opt.nmodules; i++)
		check_module(&opt.modules[i]);
	if (check_failures) {
		fprintf(stderr, "%s: %u check(s) failed: nothing timed\n",
			bench_progname, check_failures);
		return 1;
	}

	print_header(&opt);
	fflush(stdout);
	for (int op = 0; op < OP_COUNT; op++) {
		for (size_t t = 0; t < NTHREAD_COUNTS; t++) {
			unsigned n = thread_counts[t];

			fprintf(stderr, "%s: %s, %u thread(s): openssl",
				bench_progname, op_names[op], n);
			rates[op][t][0] = run_cell((enum op_kind)op, NULL, n,
						   opt.seconds);
			for (size_t i = 0; i < opt.nmodules; i++) {
				struct module *m = &opt.modules[i];

				fprintf(stderr, " %s", m->name);
				rates[op][t][1 + i] =
					op_available(m, (enum op_kind)op) ?
					run_cell((enum op_kind)op, m, n,
						 opt.seconds) :
					NAN;
			}
			fprintf(stderr, "\n");
		}
	}
	print_table(&opt, rates);

	for (size_t i = 0; i < opt.nmodules; i++)
		close_module(&opt.modules[i]);
	free_material();
	return 0;
}
