/*
 * dm-ext/dmsec.c - DM 1.2 session security and DM bootstrap MACs (see
 * dmsec.h and DMSEC.md).
 *
 * Every buffer that holds a secret or a value derived from one (the key
 * B64(H(user ":" secret)), a bootstrap key, an expected MAC) is wiped with
 * OPENSSL_cleanse on every way out; the contexts are allocated with
 * OPENSSL_zalloc and freed with OPENSSL_clear_free, and OpenSSL's own
 * digest and HMAC states wipe themselves when freed.
 */
#include "dmsec.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdbool.h>
#include <string.h>

static const unsigned char colon = ':';

struct dmsc_dmsec_hmac_ctx {
	EVP_MD_CTX *outer; /* H(B64(H(user ":" secret)) ":" nonce ":" ... */
	EVP_MD_CTX *body;  /* H(body) so far */
	bool spent;
};

struct dmsc_dmsec_boot_ctx {
	EVP_MAC_CTX *mac;  /* HMAC-SHA1 keyed with the SEC method's key */
	bool spent;
};

const char *dmsc_dmsec_strerror(dmsc_dmsec_rv rv)
{
	switch (rv) {
	case DMSC_DMSEC_OK:
		return "success";
	case DMSC_DMSEC_ERR_ARGS:
		return "invalid arguments";
	case DMSC_DMSEC_ERR_IMSI:
		return "the IMSI is not 6 to 15 decimal digits";
	case DMSC_DMSEC_ERR_PIN:
		return "the user PIN is missing or too long";
	case DMSC_DMSEC_ERR_FORMAT:
		return "the received value is not of the expected form";
	case DMSC_DMSEC_ERR_MISMATCH:
		return "the received value does not match";
	case DMSC_DMSEC_ERR_CRYPTO:
		return "the cryptographic library failed";
	}
	return "unknown error";
}

/* Bytes given as (pointer, length): NULL only when empty. */
static bool bytes_ok(const void *p, size_t len)
{
	return p != NULL || len == 0;
}

static bool digest_update(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	return len == 0 || EVP_DigestUpdate(ctx, p, len) == 1;
}

/* Base64 of an MD5 digest: 24 characters and a NUL. */
static void b64_md5(const unsigned char d[DMSC_DMSEC_MD5_LEN],
                    char out[DMSC_DMSEC_B64_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, d, DMSC_DMSEC_MD5_LEN);
}

/* Starts outer (already allocated) with B64(H(user ":" secret)) ":" nonce,
 * the part both DM formulas share. */
static dmsc_dmsec_rv start_outer(const EVP_MD *md, EVP_MD_CTX *outer,
                                 const unsigned char *user, size_t user_len,
                                 const unsigned char *secret, size_t secret_len,
                                 const unsigned char *nonce, size_t nonce_len)
{
	dmsc_dmsec_rv rv = DMSC_DMSEC_ERR_CRYPTO;
	unsigned char ad[DMSC_DMSEC_MD5_LEN];
	char ad64[DMSC_DMSEC_B64_LEN + 1];
	unsigned int n = 0;
	EVP_MD_CTX *inner = EVP_MD_CTX_new();

	if (inner == NULL)
		goto done;
	if (EVP_DigestInit_ex2(inner, md, NULL) != 1 ||
	    !digest_update(inner, user, user_len) ||
	    !digest_update(inner, &colon, 1) ||
	    !digest_update(inner, secret, secret_len) ||
	    EVP_DigestFinal_ex(inner, ad, &n) != 1 || n != sizeof ad)
		goto done;
	b64_md5(ad, ad64);
	if (EVP_DigestInit_ex2(outer, md, NULL) != 1 ||
	    !digest_update(outer, ad64, DMSC_DMSEC_B64_LEN) ||
	    !digest_update(outer, &colon, 1) ||
	    !digest_update(outer, nonce, nonce_len))
		goto done;
	rv = DMSC_DMSEC_OK;
done:
	EVP_MD_CTX_free(inner);
	OPENSSL_cleanse(ad, sizeof ad);
	OPENSSL_cleanse(ad64, sizeof ad64);
	return rv;
}

/* Ends a digest and writes its Base64. */
static dmsc_dmsec_rv final_b64(EVP_MD_CTX *ctx, char out[DMSC_DMSEC_B64_LEN + 1])
{
	unsigned char d[DMSC_DMSEC_MD5_LEN];
	unsigned int n = 0;
	dmsc_dmsec_rv rv = DMSC_DMSEC_ERR_CRYPTO;

	if (EVP_DigestFinal_ex(ctx, d, &n) == 1 && n == sizeof d) {
		b64_md5(d, out);
		rv = DMSC_DMSEC_OK;
	}
	OPENSSL_cleanse(d, sizeof d);
	return rv;
}

/* A received Base64 digest against the expected one: all 24 characters, or
 * the 22 before the "==" every 16-byte value ends with.  Constant time in
 * the content; the length is public. */
static dmsc_dmsec_rv compare_b64(const char expected[DMSC_DMSEC_B64_LEN + 1],
                                 const char *got, size_t got_len)
{
	if (got == NULL ||
	    (got_len != DMSC_DMSEC_B64_LEN && got_len != DMSC_DMSEC_B64_UNPADDED))
		return DMSC_DMSEC_ERR_FORMAT;
	return CRYPTO_memcmp(expected, got, got_len) == 0 ?
	       DMSC_DMSEC_OK : DMSC_DMSEC_ERR_MISMATCH;
}

static bool auth_args_ok(const unsigned char *user, size_t user_len,
                         const unsigned char *secret, size_t secret_len,
                         const unsigned char *nonce, size_t nonce_len)
{
	return bytes_ok(user, user_len) && bytes_ok(secret, secret_len) &&
	       bytes_ok(nonce, nonce_len);
}

/* ---- syncml:auth-md5 ---- */

dmsc_dmsec_rv dmsc_dmsec_auth_md5(OSSL_LIB_CTX *libctx,
                                  const unsigned char *user, size_t user_len,
                                  const unsigned char *secret, size_t secret_len,
                                  const unsigned char *nonce, size_t nonce_len,
                                  char out[DMSC_DMSEC_B64_LEN + 1])
{
	dmsc_dmsec_rv rv = DMSC_DMSEC_ERR_CRYPTO;
	EVP_MD *md = NULL;
	EVP_MD_CTX *outer = NULL;

	if (out == NULL ||
	    !auth_args_ok(user, user_len, secret, secret_len, nonce, nonce_len))
		return DMSC_DMSEC_ERR_ARGS;
	md = EVP_MD_fetch(libctx, "MD5", NULL);
	outer = EVP_MD_CTX_new();
	if (md == NULL || outer == NULL)
		goto done;
	rv = start_outer(md, outer, user, user_len, secret, secret_len,
	                 nonce, nonce_len);
	if (rv == DMSC_DMSEC_OK)
		rv = final_b64(outer, out);
done:
	EVP_MD_CTX_free(outer);
	EVP_MD_free(md);
	return rv;
}

dmsc_dmsec_rv dmsc_dmsec_auth_md5_verify(OSSL_LIB_CTX *libctx,
                                         const unsigned char *user, size_t user_len,
                                         const unsigned char *secret, size_t secret_len,
                                         const unsigned char *nonce, size_t nonce_len,
                                         const char *cred, size_t cred_len)
{
	char expected[DMSC_DMSEC_B64_LEN + 1];
	dmsc_dmsec_rv rv;

	if (!bytes_ok(cred, cred_len))
		return DMSC_DMSEC_ERR_ARGS;
	rv = dmsc_dmsec_auth_md5(libctx, user, user_len, secret, secret_len,
	                         nonce, nonce_len, expected);
	if (rv == DMSC_DMSEC_OK)
		rv = compare_b64(expected, cred, cred_len);
	OPENSSL_cleanse(expected, sizeof expected);
	return rv;
}

/* ---- x-syncml-hmac ---- */

void dmsc_dmsec_hmac_free(dmsc_dmsec_hmac_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->outer);
	EVP_MD_CTX_free(ctx->body);
	OPENSSL_clear_free(ctx, sizeof *ctx);
}

dmsc_dmsec_rv dmsc_dmsec_hmac_new(OSSL_LIB_CTX *libctx,
                                  const unsigned char *user, size_t user_len,
                                  const unsigned char *secret, size_t secret_len,
                                  const unsigned char *nonce, size_t nonce_len,
                                  dmsc_dmsec_hmac_ctx **ctx)
{
	dmsc_dmsec_rv rv = DMSC_DMSEC_ERR_CRYPTO;
	dmsc_dmsec_hmac_ctx *c = NULL;
	EVP_MD *md = NULL;

	if (ctx == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	*ctx = NULL;
	if (!auth_args_ok(user, user_len, secret, secret_len, nonce, nonce_len))
		return DMSC_DMSEC_ERR_ARGS;
	c = OPENSSL_zalloc(sizeof *c);
	md = EVP_MD_fetch(libctx, "MD5", NULL);
	if (c == NULL || md == NULL)
		goto done;
	c->outer = EVP_MD_CTX_new();
	c->body = EVP_MD_CTX_new();
	if (c->outer == NULL || c->body == NULL)
		goto done;
	rv = start_outer(md, c->outer, user, user_len, secret, secret_len,
	                 nonce, nonce_len);
	if (rv != DMSC_DMSEC_OK)
		goto done;
	rv = DMSC_DMSEC_ERR_CRYPTO;
	if (!digest_update(c->outer, &colon, 1) ||
	    EVP_DigestInit_ex2(c->body, md, NULL) != 1)
		goto done;
	*ctx = c;
	c = NULL;
	rv = DMSC_DMSEC_OK;
done:
	dmsc_dmsec_hmac_free(c);
	EVP_MD_free(md);
	return rv;
}

dmsc_dmsec_rv dmsc_dmsec_hmac_update(dmsc_dmsec_hmac_ctx *ctx,
                                     const unsigned char *body, size_t len)
{
	if (ctx == NULL || ctx->spent || !bytes_ok(body, len))
		return DMSC_DMSEC_ERR_ARGS;
	return digest_update(ctx->body, body, len) ?
	       DMSC_DMSEC_OK : DMSC_DMSEC_ERR_CRYPTO;
}

dmsc_dmsec_rv dmsc_dmsec_hmac_final(dmsc_dmsec_hmac_ctx *ctx,
                                    char out[DMSC_DMSEC_B64_LEN + 1])
{
	char body64[DMSC_DMSEC_B64_LEN + 1];
	dmsc_dmsec_rv rv;

	if (ctx == NULL || ctx->spent || out == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	ctx->spent = true;
	rv = final_b64(ctx->body, body64);
	if (rv == DMSC_DMSEC_OK)
		rv = digest_update(ctx->outer, body64, DMSC_DMSEC_B64_LEN) ?
		     final_b64(ctx->outer, out) : DMSC_DMSEC_ERR_CRYPTO;
	/* The keyed state is no longer needed: wipe it now. */
	EVP_MD_CTX_free(ctx->outer);
	EVP_MD_CTX_free(ctx->body);
	ctx->outer = NULL;
	ctx->body = NULL;
	OPENSSL_cleanse(body64, sizeof body64);
	return rv;
}

dmsc_dmsec_rv dmsc_dmsec_hmac_verify(dmsc_dmsec_hmac_ctx *ctx,
                                     const char *mac, size_t mac_len)
{
	char expected[DMSC_DMSEC_B64_LEN + 1];
	dmsc_dmsec_rv rv;

	if (!bytes_ok(mac, mac_len))
		return DMSC_DMSEC_ERR_ARGS;
	rv = dmsc_dmsec_hmac_final(ctx, expected);
	if (rv == DMSC_DMSEC_OK)
		rv = compare_b64(expected, mac, mac_len);
	OPENSSL_cleanse(expected, sizeof expected);
	return rv;
}

dmsc_dmsec_rv dmsc_dmsec_hmac_compute(OSSL_LIB_CTX *libctx,
                                      const unsigned char *user, size_t user_len,
                                      const unsigned char *secret, size_t secret_len,
                                      const unsigned char *nonce, size_t nonce_len,
                                      const unsigned char *body, size_t body_len,
                                      char out[DMSC_DMSEC_B64_LEN + 1])
{
	dmsc_dmsec_hmac_ctx *ctx = NULL;
	dmsc_dmsec_rv rv;

	if (out == NULL || !bytes_ok(body, body_len))
		return DMSC_DMSEC_ERR_ARGS;
	rv = dmsc_dmsec_hmac_new(libctx, user, user_len, secret, secret_len,
	                         nonce, nonce_len, &ctx);
	if (rv == DMSC_DMSEC_OK)
		rv = dmsc_dmsec_hmac_update(ctx, body, body_len);
	if (rv == DMSC_DMSEC_OK)
		rv = dmsc_dmsec_hmac_final(ctx, out);
	dmsc_dmsec_hmac_free(ctx);
	return rv;
}

/* ---- DM bootstrap MAC ---- */

dmsc_dmsec_rv dmsc_dmsec_imsi_key(const char *imsi, size_t imsi_len,
                                  unsigned char key[DMSC_DMSEC_IMSI_KEY_MAX],
                                  size_t *key_len)
{
	size_t i, o;
	bool odd;

	if (key == NULL || key_len == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	if (imsi == NULL || imsi_len < DMSC_DMSEC_IMSI_MIN ||
	    imsi_len > DMSC_DMSEC_IMSI_MAX)
		return DMSC_DMSEC_ERR_IMSI;
	for (i = 0; i < imsi_len; i++)
		if (imsi[i] < '0' || imsi[i] > '9')
			return DMSC_DMSEC_ERR_IMSI;
	odd = imsi_len % 2 == 1;
	/* Digit 1, odd/even indicator, type of identity 001 (IMSI). */
	key[0] = (unsigned char)((imsi[0] - '0') << 4 | (odd ? 0x8 : 0x0) | 0x1);
	o = 1;
	for (i = 1; i < imsi_len; i += 2) {
		unsigned lo = (unsigned)(imsi[i] - '0');
		unsigned hi = i + 1 < imsi_len ? (unsigned)(imsi[i + 1] - '0') : 0xF;

		key[o++] = (unsigned char)(hi << 4 | lo);
	}
	*key_len = o;
	return DMSC_DMSEC_OK;
}

/* Is netw what dmsc_dmsec_imsi_key makes of some valid IMSI? */
static bool netw_ok(const unsigned char *netw, size_t len)
{
	bool odd;

	if (netw == NULL || len < DMSC_DMSEC_IMSI_MIN / 2 + 1 ||
	    len > DMSC_DMSEC_IMSI_KEY_MAX)
		return false;
	if ((netw[0] & 0x0F) == 0x9)
		odd = true;
	else if ((netw[0] & 0x0F) == 0x1)
		odd = false;
	else
		return false;
	if (netw[0] >> 4 > 9)
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned lo = netw[i] & 0x0F, hi = netw[i] >> 4;
		bool filler = !odd && i == len - 1;

		if (lo > 9 || (filler ? hi != 0xF : hi > 9))
			return false;
	}
	/* 4..8 bytes hold 7..15 (odd) or 6..14 (even) digits: all valid. */
	return true;
}

static bool pin_ok(const unsigned char *pin, size_t len)
{
	return pin != NULL && len >= 1 && len <= DMSC_DMSEC_PIN_MAX;
}

dmsc_dmsec_rv dmsc_dmsec_boot_key(dmsc_dmsec_sec sec,
                                  const unsigned char *netw, size_t netw_len,
                                  const unsigned char *pin, size_t pin_len,
                                  unsigned char key[DMSC_DMSEC_BOOT_KEY_MAX],
                                  size_t *key_len)
{
	bool use_netw, use_pin;

	if (key == NULL || key_len == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	switch (sec) {
	case DMSC_DMSEC_NETWPIN:
		use_netw = true;
		use_pin = false;
		break;
	case DMSC_DMSEC_USERPIN:
		use_netw = false;
		use_pin = true;
		break;
	case DMSC_DMSEC_USERNETWPIN:
		use_netw = true;
		use_pin = true;
		break;
	default:
		return DMSC_DMSEC_ERR_ARGS;
	}
	if (use_netw && !netw_ok(netw, netw_len))
		return DMSC_DMSEC_ERR_IMSI;
	if (use_pin && !pin_ok(pin, pin_len))
		return DMSC_DMSEC_ERR_PIN;
	*key_len = 0;
	if (use_netw) {
		memcpy(key, netw, netw_len);
		*key_len = netw_len;
	}
	if (use_pin) {
		memcpy(key + *key_len, pin, pin_len);
		*key_len += pin_len;
	}
	return DMSC_DMSEC_OK;
}

void dmsc_dmsec_boot_free(dmsc_dmsec_boot_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MAC_CTX_free(ctx->mac);
	OPENSSL_clear_free(ctx, sizeof *ctx);
}

dmsc_dmsec_rv dmsc_dmsec_boot_new(OSSL_LIB_CTX *libctx, dmsc_dmsec_sec sec,
                                  const unsigned char *netw, size_t netw_len,
                                  const unsigned char *pin, size_t pin_len,
                                  dmsc_dmsec_boot_ctx **ctx)
{
	unsigned char key[DMSC_DMSEC_BOOT_KEY_MAX];
	size_t key_len = 0;
	char digest[] = "SHA1";
	OSSL_PARAM params[2];
	dmsc_dmsec_boot_ctx *c = NULL;
	EVP_MAC *hmac = NULL;
	dmsc_dmsec_rv rv;

	if (ctx == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	*ctx = NULL;
	rv = dmsc_dmsec_boot_key(sec, netw, netw_len, pin, pin_len, key, &key_len);
	if (rv != DMSC_DMSEC_OK)
		goto done;
	rv = DMSC_DMSEC_ERR_CRYPTO;
	c = OPENSSL_zalloc(sizeof *c);
	hmac = EVP_MAC_fetch(libctx, "HMAC", NULL);
	if (c == NULL || hmac == NULL)
		goto done;
	c->mac = EVP_MAC_CTX_new(hmac);
	if (c->mac == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(c->mac, key, key_len, params) != 1)
		goto done;
	*ctx = c;
	c = NULL;
	rv = DMSC_DMSEC_OK;
done:
	OPENSSL_cleanse(key, sizeof key);
	dmsc_dmsec_boot_free(c);
	EVP_MAC_free(hmac);
	return rv;
}

dmsc_dmsec_rv dmsc_dmsec_boot_update(dmsc_dmsec_boot_ctx *ctx,
                                     const unsigned char *msg, size_t len)
{
	if (ctx == NULL || ctx->spent || !bytes_ok(msg, len))
		return DMSC_DMSEC_ERR_ARGS;
	if (len == 0)
		return DMSC_DMSEC_OK;
	return EVP_MAC_update(ctx->mac, msg, len) == 1 ?
	       DMSC_DMSEC_OK : DMSC_DMSEC_ERR_CRYPTO;
}

dmsc_dmsec_rv dmsc_dmsec_boot_final(dmsc_dmsec_boot_ctx *ctx,
                                    unsigned char mac[DMSC_DMSEC_SHA1_LEN])
{
	size_t n = 0;
	dmsc_dmsec_rv rv = DMSC_DMSEC_ERR_CRYPTO;

	if (ctx == NULL || ctx->spent || mac == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	ctx->spent = true;
	if (EVP_MAC_final(ctx->mac, mac, &n, DMSC_DMSEC_SHA1_LEN) == 1 &&
	    n == DMSC_DMSEC_SHA1_LEN)
		rv = DMSC_DMSEC_OK;
	/* The keyed state is no longer needed: wipe it now. */
	EVP_MAC_CTX_free(ctx->mac);
	ctx->mac = NULL;
	return rv;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

dmsc_dmsec_rv dmsc_dmsec_mac_from_hex(const char *text, size_t len,
                                      unsigned char mac[DMSC_DMSEC_SHA1_LEN])
{
	if (mac == NULL)
		return DMSC_DMSEC_ERR_ARGS;
	if (text == NULL || len != DMSC_DMSEC_HEX_LEN)
		return DMSC_DMSEC_ERR_FORMAT;
	for (size_t i = 0; i < DMSC_DMSEC_SHA1_LEN; i++) {
		int hi = hex_value((unsigned char)text[2 * i]);
		int lo = hex_value((unsigned char)text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return DMSC_DMSEC_ERR_FORMAT;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	return DMSC_DMSEC_OK;
}

void dmsc_dmsec_mac_to_hex(const unsigned char mac[DMSC_DMSEC_SHA1_LEN],
                           char out[DMSC_DMSEC_HEX_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < DMSC_DMSEC_SHA1_LEN; i++) {
		out[2 * i] = digits[mac[i] >> 4];
		out[2 * i + 1] = digits[mac[i] & 0x0F];
	}
	out[DMSC_DMSEC_HEX_LEN] = '\0';
}

dmsc_dmsec_rv dmsc_dmsec_boot_verify(dmsc_dmsec_boot_ctx *ctx,
                                     const unsigned char *sig, size_t sig_len)
{
	unsigned char got[DMSC_DMSEC_SHA1_LEN];
	unsigned char expected[DMSC_DMSEC_SHA1_LEN];
	dmsc_dmsec_rv rv, parsed = DMSC_DMSEC_OK;

	if (ctx == NULL || ctx->spent || !bytes_ok(sig, sig_len))
		return DMSC_DMSEC_ERR_ARGS;
	if (sig_len == DMSC_DMSEC_SHA1_LEN)
		memcpy(got, sig, sizeof got);
	else
		parsed = dmsc_dmsec_mac_from_hex((const char *)sig, sig_len, got);
	/* The operation ends either way, as C_Verify's does. */
	rv = dmsc_dmsec_boot_final(ctx, expected);
	if (rv == DMSC_DMSEC_OK)
		rv = parsed != DMSC_DMSEC_OK ? parsed :
		     CRYPTO_memcmp(expected, got, sizeof got) == 0 ?
		     DMSC_DMSEC_OK : DMSC_DMSEC_ERR_MISMATCH;
	OPENSSL_cleanse(expected, sizeof expected);
	OPENSSL_cleanse(got, sizeof got);
	return rv;
}
