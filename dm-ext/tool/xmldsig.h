/*
 * dm-ext/tool/xmldsig.h - the enveloped XML-DSig of a signed DM message
 * (dm-ext/APPROVAL.md, "Enveloped signature"), without the cryptography.
 *
 * The form is fixed: one <Signature xmlns="http://www.w3.org/2000/09/
 * xmldsig#"> as the last child of the message's root element, Exclusive
 * C14N 1.0 (no comments) as its CanonicalizationMethod, RSA with SHA-256
 * (or SHA-1 on request), one Reference with URI="" and the transforms
 * enveloped-signature then exclusive C14N.  This file builds it (the MA's
 * side) and takes it apart (the device's side): the bytes to digest, the
 * bytes to verify, the values to compare.  The digest and the signature
 * themselves are computed by a PKCS#11 token (cmd-sign.c, trust.c), so the
 * verification happens on the card.
 */
#ifndef DMSC_TOOL_XMLDSIG_H
#define DMSC_TOOL_XMLDSIG_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define DSIG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define DSIG_ENVELOPED DSIG_NS "enveloped-signature"

/* One signature algorithm with its digest: the URIs XML-DSig names them
 * by and the PKCS#11 mechanisms that compute them (CK_ULONG values, kept
 * as unsigned long so this header needs no PKCS#11 header). */
typedef struct dsig_alg {
	const char *name;            /* "rsa-sha256" */
	const char *signature_uri;
	const char *digest_uri;
	unsigned long sign_mechanism;   /* CKM_SHA256_RSA_PKCS */
	unsigned long digest_mechanism; /* CKM_SHA256 */
	size_t digest_len;
} dsig_alg;

extern const dsig_alg dsig_rsa_sha256;
extern const dsig_alg dsig_rsa_sha1;

/* Exclusive C14N 1.0 without comments of the whole document minus the
 * subtree at `omit` (NULL: nothing omitted), or (whole == false) of the
 * subtree at `omit` alone.  *out is malloc'd.  0, or -1 (libxml2 failed
 * or out of memory). */
int dsig_c14n(xmlDocPtr doc, xmlNodePtr node, bool subtree_only,
              unsigned char **out, size_t *out_len);

/* The MA's side.  `c14n` is the canonical form of the message (dmsc
 * canon); the result is that document with a Signature whose DigestValue
 * is `digest` and whose SignatureValue is empty, ready for
 * dsig_fill_value() once the SignedInfo (dsig_parse) is signed.  0, or -1
 * with *why set. */
int dsig_template(const unsigned char *c14n, size_t len, const dsig_alg *alg,
                  const unsigned char *digest, char **out, size_t *out_len,
                  const char **why);

/* Put the Base64 of sig into the empty <SignatureValue></SignatureValue>
 * of a document from dsig_template(); *doc is replaced. 0 or -1. */
int dsig_fill_value(char **doc, size_t *len, const unsigned char *sig,
                    size_t sig_len);

/* What a signed document says, taken apart.  All malloc'd. */
typedef struct dsig_parts {
	const dsig_alg *alg;
	unsigned char *signed_info;  /* exc-c14n of SignedInfo: what is signed */
	size_t signed_info_len;
	unsigned char *content;      /* exc-c14n of the document without the
	                                Signature: what DigestValue covers */
	size_t content_len;
	unsigned char digest[64];    /* DigestValue */
	unsigned char *signature;    /* SignatureValue */
	size_t signature_len;
} dsig_parts;

/* The device's side: find the one Signature (a child of the root) in a
 * parsed message and check that it has the form above, allowing SHA-1
 * only if allow_sha1.  0, or -1 with why[] saying what is wrong (one
 * sentence). */
int dsig_parse(xmlDocPtr doc, bool allow_sha1, dsig_parts *parts,
               char *why, size_t why_len);

/* Does the root element carry a Signature child? */
bool dsig_present(xmlDocPtr doc);

void dsig_parts_free(dsig_parts *parts);

#endif /* DMSC_TOOL_XMLDSIG_H */
