/*
 * dm-ext/tool/trust.h - verification on the card against the MA trust
 * anchor (dm-ext/APPROVAL.md, "Who signs").
 *
 * The trust anchor is a certificate with CKA_TRUSTED = TRUE on the DM
 * application's token (only the SO can set that).  PKCS#11 verifies with a
 * key, not a certificate, so each usable anchor's public key is put on the
 * token as a session object (made from the certificate, gone with the
 * session) and every digest and verification is a C_Digest* / C_Verify*
 * call on the token: the tool itself computes no digest it then trusts.
 *
 * Messages are verified with the DM mechanisms (CKM_DMSC_SHA256_RSA_PKCS,
 * CKM_DMSC_ECDSA_SHA256: the card canonicalises), packages streamed with
 * CKM_SHA256 / CKM_SHA256_RSA_PKCS / CKM_ECDSA_SHA256 (a package is bytes,
 * whatever it looks like).
 */
#ifndef DMSC_TOOL_TRUST_H
#define DMSC_TOOL_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "xmldsig.h"

#define TRUST_MAX 8

typedef struct trust_anchor {
	CK_OBJECT_HANDLE key;      /* session public key from the certificate */
	CK_KEY_TYPE key_type;      /* CKK_RSA or CKK_EC */
	size_t signature_len;      /* what a signature with it measures */
	char subject[256];         /* one line, RFC 2253 */
	char label[128];           /* the certificate's CKA_LABEL */
	char fingerprint[65];      /* SHA-256 of the certificate, hex */
} trust_anchor;

typedef struct trust_anchors {
	trust_anchor a[TRUST_MAX];
	size_t n;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE session;
} trust_anchors;

/* Results of the checks below. */
enum {
	TRUST_OK = 0,
	TRUST_REFUSED = 1,  /* verified and not approved: why[] says why */
	TRUST_ERROR = 2,    /* the token or a file failed: why[] says which */
};

/* Find the usable anchors on the token of `session`: trusted
 * certificates within their validity period, RSA or EC P-256.  TRUST_OK
 * with at least one; TRUST_REFUSED naming what is there instead (none, not
 * trusted, expired, not yet valid, an unsupported key).  Release with
 * trust_release(). */
int trust_load(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session,
               trust_anchors *out, char *why, size_t why_len);
void trust_release(trust_anchors *t);

/* A DM message (XML or WBXML, as received) and its detached signature
 * over the canonical form.  *who is the anchor that verified. */
int trust_verify_message(trust_anchors *t, const unsigned char *msg,
                         size_t len, const unsigned char *sig, size_t sig_len,
                         const trust_anchor **who, char *why, size_t why_len);

/* An enveloped XML-DSig taken apart by dsig_parse(): the Reference's
 * digest recomputed on the token, then the SignedInfo verified. */
int trust_verify_dsig(trust_anchors *t, const dsig_parts *parts,
                      const trust_anchor **who, char *why, size_t why_len);

/* Reading a package: called with the bytes done so far, to draw a
 * progress bar. */
typedef void (*trust_progress)(void *ctx, unsigned long long done);

/* SHA-256 of a file on the token, streamed with C_DigestUpdate. */
int trust_digest_file(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session,
                      int fd, unsigned char digest[32],
                      unsigned long long *size, trust_progress progress,
                      void *progress_ctx, char *why, size_t why_len);

/* A package file and its detached signature over its bytes, streamed with
 * C_VerifyUpdate (alternative flow), and with C_DigestUpdate beside it for
 * the digest the audit log names (*digested says whether it was
 * computed: the file was read through).  The file is read again for each
 * further anchor tried. */
int trust_verify_file(trust_anchors *t, int fd, const unsigned char *sig,
                      size_t sig_len, const trust_anchor **who,
                      unsigned char digest[32], bool *digested,
                      unsigned long long *size, trust_progress progress,
                      void *progress_ctx, char *why, size_t why_len);

/* How much of a package is read per C_*Update. */
#define TRUST_READ_CHUNK (1024u * 1024u)

#endif /* DMSC_TOOL_TRUST_H */
