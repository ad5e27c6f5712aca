/*
 * dm-ext/dmsec.h - DM 1.2 session security and DM bootstrap MACs: plain
 * bytes in, bytes out, no PKCS#11 handles.  The module's mechanisms
 * CKM_DMSC_SYNCML_AUTH_MD5, CKM_DMSC_SYNCML_HMAC_MD5 and
 * CKM_DMSC_BOOTSTRAP_HMAC_SHA1 (<dmsc/pkcs11-dm.h>) are built on it.
 *
 * The rules, where they come from and the points the specifications leave
 * open are written down in dm-ext/DMSEC.md.  In short (H = MD5, B64 =
 * RFC 4648 Base64 with padding, ":" = the byte 0x3A):
 *
 *  syncml:auth-md5   B64(H(B64(H(user ":" secret)) ":" nonce))
 *                    (OMA-TS-DM_Security 5.1.3.2; SyncML RepPro 1.1)
 *  x-syncml-hmac     B64(H(B64(H(user ":" secret)) ":" nonce ":" B64(H(body))))
 *                    (OMA-TS-DM_Security 5.1.4.2; body = the message bytes
 *                    as sent, XML or WBXML)
 *  bootstrap MAC     HMAC-SHA1(K, WBXML bytes), 40 hex digits on the wire
 *                    (OMA-WAP-TS-ProvBoot, OMA-TS-DM_Bootstrap/_Security)
 *      NETWPIN       K = the IMSI as semi-octets (3GPP TS 24.008 mobile
 *                        identity digits: no IEI, no length byte)
 *      USERPIN       K = the user PIN's bytes
 *      USERNETWPIN   K = NETWPIN key || user PIN bytes (no separator)
 *
 * The nonce is the raw bytes (the Base64-decoded NextNonce), not its text.
 * Secrets never appear in a return value, a message or a log; every
 * buffer that held one is wiped with OPENSSL_cleanse before it is freed or
 * goes out of scope.  Each function takes an OSSL_LIB_CTX (NULL: OpenSSL's
 * default) from which MD5, SHA-1 and HMAC are fetched; a context without
 * them (a FIPS-only one has no MD5) gives DMSC_DMSEC_ERR_CRYPTO.
 *
 * A pointer may be NULL where its length is 0.  Contexts are not
 * thread-safe; distinct contexts may be used from different threads.
 */
#ifndef DMSC_DMEXT_DMSEC_H
#define DMSC_DMEXT_DMSEC_H

#include <openssl/types.h>
#include <stddef.h>

/* Sizes. */
#define DMSC_DMSEC_MD5_LEN        16  /* an MD5 digest */
#define DMSC_DMSEC_B64_LEN        24  /* Base64 of an MD5 digest, with "==" */
#define DMSC_DMSEC_B64_UNPADDED   22  /* the same without the padding */
#define DMSC_DMSEC_SHA1_LEN       20  /* a bootstrap MAC */
#define DMSC_DMSEC_HEX_LEN        40  /* a bootstrap MAC in hexadecimal */
#define DMSC_DMSEC_IMSI_MIN        6  /* IMSI digits: MCC + MNC + MSIN */
#define DMSC_DMSEC_IMSI_MAX       15
#define DMSC_DMSEC_IMSI_KEY_MAX    8  /* semi-octets of 15 digits */
#define DMSC_DMSEC_PIN_MAX        64  /* user PIN bytes (as the public header) */
#define DMSC_DMSEC_BOOT_KEY_MAX   (DMSC_DMSEC_IMSI_KEY_MAX + DMSC_DMSEC_PIN_MAX)

/* Results.  Only DMSC_DMSEC_ERR_CRYPTO leaves entries on OpenSSL's error
 * queue (never with secret data); the others are decided here. */
typedef enum dmsc_dmsec_rv {
	DMSC_DMSEC_OK = 0,
	DMSC_DMSEC_ERR_ARGS,     /* NULL where bytes are needed, unknown SEC
	                          * method, a context used after its end */
	DMSC_DMSEC_ERR_IMSI,     /* not 6..15 ASCII decimal digits, or a
	                          * network key that is not such an IMSI
	                          * in semi-octets */
	DMSC_DMSEC_ERR_PIN,      /* user PIN missing (NULL or empty) or over
	                          * DMSC_DMSEC_PIN_MAX bytes */
	DMSC_DMSEC_ERR_FORMAT,   /* a received MAC or credential that is not
	                          * of its form (length, alphabet) */
	DMSC_DMSEC_ERR_MISMATCH, /* well-formed, but not the expected value */
	DMSC_DMSEC_ERR_CRYPTO,   /* OpenSSL failed (algorithm not available in
	                          * the library context, out of memory) */
} dmsc_dmsec_rv;

/* A fixed English sentence for rv (never NULL, never with data in it). */
const char *dmsc_dmsec_strerror(dmsc_dmsec_rv rv);

/* ---- syncml:auth-md5 ---- */

/* The credential's <Data>: 24 Base64 characters and a NUL in out. */
dmsc_dmsec_rv dmsc_dmsec_auth_md5(OSSL_LIB_CTX *libctx,
                                  const unsigned char *user, size_t user_len,
                                  const unsigned char *secret, size_t secret_len,
                                  const unsigned char *nonce, size_t nonce_len,
                                  char out[DMSC_DMSEC_B64_LEN + 1]);

/* Checks a received credential (a server's, against the server secret):
 * the 24 characters, or the 22 without "==" (the x-syncml-hmac grammar
 * allows either; see DMSEC.md), compared in constant time.  Only the
 * canonical spelling is accepted.  DMSC_DMSEC_OK, _ERR_FORMAT (wrong
 * length) or _ERR_MISMATCH (anything else that differs). */
dmsc_dmsec_rv dmsc_dmsec_auth_md5_verify(OSSL_LIB_CTX *libctx,
                                         const unsigned char *user, size_t user_len,
                                         const unsigned char *secret, size_t secret_len,
                                         const unsigned char *nonce, size_t nonce_len,
                                         const char *cred, size_t cred_len);

/* ---- x-syncml-hmac (streaming) ---- */

typedef struct dmsc_dmsec_hmac_ctx dmsc_dmsec_hmac_ctx;

/* Starts a MAC: *ctx holds the digest state after B64(H(user ":" secret))
 * ":" nonce ":" (no copy of the secret) and the digest of the body. */
dmsc_dmsec_rv dmsc_dmsec_hmac_new(OSSL_LIB_CTX *libctx,
                                  const unsigned char *user, size_t user_len,
                                  const unsigned char *secret, size_t secret_len,
                                  const unsigned char *nonce, size_t nonce_len,
                                  dmsc_dmsec_hmac_ctx **ctx);

/* Feeds len bytes of the message body (any split gives the same MAC). */
dmsc_dmsec_rv dmsc_dmsec_hmac_update(dmsc_dmsec_hmac_ctx *ctx,
                                     const unsigned char *body, size_t len);

/* Ends the MAC: the mac= value, 24 Base64 characters and a NUL.  The
 * context is then spent: update, final and verify give
 * DMSC_DMSEC_ERR_ARGS until it is freed. */
dmsc_dmsec_rv dmsc_dmsec_hmac_final(dmsc_dmsec_hmac_ctx *ctx,
                                    char out[DMSC_DMSEC_B64_LEN + 1]);

/* Ends the MAC and compares it with a received mac= value as
 * dmsc_dmsec_auth_md5_verify does (24 or 22 characters, constant time). */
dmsc_dmsec_rv dmsc_dmsec_hmac_verify(dmsc_dmsec_hmac_ctx *ctx,
                                     const char *mac, size_t mac_len);

/* Wipes and frees the context (NULL is fine). */
void dmsc_dmsec_hmac_free(dmsc_dmsec_hmac_ctx *ctx);

/* One call: new, one update, final, free. */
dmsc_dmsec_rv dmsc_dmsec_hmac_compute(OSSL_LIB_CTX *libctx,
                                      const unsigned char *user, size_t user_len,
                                      const unsigned char *secret, size_t secret_len,
                                      const unsigned char *nonce, size_t nonce_len,
                                      const unsigned char *body, size_t body_len,
                                      char out[DMSC_DMSEC_B64_LEN + 1]);

/* ---- DM bootstrap MAC (HMAC-SHA1) ---- */

/* The SEC methods, with the values of the WSP SEC parameter and of
 * CKD_DMSC_SEC_* in <dmsc/pkcs11-dm.h>.  USERPINMAC (3) is not supported. */
typedef enum dmsc_dmsec_sec {
	DMSC_DMSEC_NETWPIN = 0,
	DMSC_DMSEC_USERPIN = 1,
	DMSC_DMSEC_USERNETWPIN = 2,
} dmsc_dmsec_sec;

/* The NETWPIN key of an IMSI given as 6..15 ASCII digits (nothing else,
 * no NUL counted in imsi_len): the identity digits of a 3GPP TS 24.008
 * mobile identity (the bytes of EF_IMSI after its length byte).  First
 * byte: digit 1 in the high nibble, then the odd/even bit (0x8 when the
 * count is odd) and type 001 (IMSI) in the low nibble; then two digits per
 * byte, the earlier one in the low nibble; for an even count the last
 * high nibble is the filler 0xF.  *key_len = digits / 2 + 1 (4..8):
 * "123456789012345" -> 19 32 54 76 98 10 32 54,
 * "21407650123456"  -> 21 41 70 56 10 32 54 F6. */
dmsc_dmsec_rv dmsc_dmsec_imsi_key(const char *imsi, size_t imsi_len,
                                  unsigned char key[DMSC_DMSEC_IMSI_KEY_MAX],
                                  size_t *key_len);

/* The HMAC key of one SEC method into key (room for
 * DMSC_DMSEC_BOOT_KEY_MAX bytes), *key_len its length:
 *   NETWPIN      netw: the network key as the card keeps it, which must
 *                be a semi-octet IMSI as dmsc_dmsec_imsi_key makes it
 *                (checked, so IMSI digits given by mistake are refused);
 *                pin ignored
 *   USERPIN      pin, 1..DMSC_DMSEC_PIN_MAX bytes; netw ignored
 *   USERNETWPIN  netw || pin
 * The caller wipes key.  DMSC_DMSEC_ERR_ARGS for an unknown method,
 * DMSC_DMSEC_ERR_IMSI for a netw that is not a semi-octet IMSI,
 * DMSC_DMSEC_ERR_PIN for a missing or over-long pin. */
dmsc_dmsec_rv dmsc_dmsec_boot_key(dmsc_dmsec_sec sec,
                                  const unsigned char *netw, size_t netw_len,
                                  const unsigned char *pin, size_t pin_len,
                                  unsigned char key[DMSC_DMSEC_BOOT_KEY_MAX],
                                  size_t *key_len);

typedef struct dmsc_dmsec_boot_ctx dmsc_dmsec_boot_ctx;

/* Starts a bootstrap MAC with the key of dmsc_dmsec_boot_key (built here
 * and wiped at once; only OpenSSL's HMAC state keeps it). */
dmsc_dmsec_rv dmsc_dmsec_boot_new(OSSL_LIB_CTX *libctx, dmsc_dmsec_sec sec,
                                  const unsigned char *netw, size_t netw_len,
                                  const unsigned char *pin, size_t pin_len,
                                  dmsc_dmsec_boot_ctx **ctx);

/* Feeds len bytes of the bootstrap message (WBXML as received). */
dmsc_dmsec_rv dmsc_dmsec_boot_update(dmsc_dmsec_boot_ctx *ctx,
                                     const unsigned char *msg, size_t len);

/* Ends the MAC: the 20 bytes.  The context is then spent. */
dmsc_dmsec_rv dmsc_dmsec_boot_final(dmsc_dmsec_boot_ctx *ctx,
                                    unsigned char mac[DMSC_DMSEC_SHA1_LEN]);

/* Ends the MAC and compares it, in constant time, with the received one:
 * 40 hexadecimal digits in either case (the MAC= parameter) or the 20 raw
 * bytes.  DMSC_DMSEC_OK, _ERR_FORMAT (another length, a non-hex digit) or
 * _ERR_MISMATCH. */
dmsc_dmsec_rv dmsc_dmsec_boot_verify(dmsc_dmsec_boot_ctx *ctx,
                                     const unsigned char *sig, size_t sig_len);

/* Wipes and frees the context (NULL is fine). */
void dmsc_dmsec_boot_free(dmsc_dmsec_boot_ctx *ctx);

/* Parses a received MAC= value: exactly 40 hexadecimal digits, either
 * case, nothing else.  DMSC_DMSEC_OK or DMSC_DMSEC_ERR_FORMAT. */
dmsc_dmsec_rv dmsc_dmsec_mac_from_hex(const char *text, size_t len,
                                      unsigned char mac[DMSC_DMSEC_SHA1_LEN]);

/* Writes a MAC as the 40 upper-case hexadecimal digits senders use
 * (ProvBoot's examples, NowSMS, Gecko), and a NUL. */
void dmsc_dmsec_mac_to_hex(const unsigned char mac[DMSC_DMSEC_SHA1_LEN],
                           char out[DMSC_DMSEC_HEX_LEN + 1]);

#endif /* DMSC_DMEXT_DMSEC_H */
