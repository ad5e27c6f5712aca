/*
 * dm-ext/tool/approval.c - check one signed DM message on the card and
 * read the packages it names (see approval.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "approval.h"
#include "canon.h"
#include "dmmsg.h"
#include "slurp.h"
#include "xmldsig.h"

static int discard(void *ctx, const unsigned char *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

int approval_read_signature(const char *path, unsigned char **sig,
                            size_t *len, char *why, size_t why_len)
{
	if (slurp(path, APPROVAL_SIG_MAX, sig, len) != 0) {
		snprintf(why, why_len, "%s: no signature: %s", path,
		         errno == EFBIG ? "over 16 KiB, not a signature"
		                        : strerror(errno));
		return TRUST_REFUSED;
	}
	if (*len == 0) {
		snprintf(why, why_len, "%s: the signature file is empty",
		         path);
		free(*sig);
		*sig = NULL;
		return TRUST_REFUSED;
	}
	return TRUST_OK;
}

int approval_check_message(trust_anchors *t, const char *msg_path,
                           const char *sig_path, bool allow_sha1,
                           pkgrefs *refs, const trust_anchor **who,
                           char *why, size_t why_len)
{
	unsigned char *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	xmlDocPtr doc = NULL;
	dmsc_dm_error err = { .offset = 0 };
	dsig_parts parts = { .alg = NULL };
	char reason[400];
	int rc;

	*who = NULL;
	if (slurp(msg_path, DMSC_DM_DEFAULT_MAX_INPUT, &msg, &msg_len) != 0) {
		if (errno == EFBIG) {
			snprintf(why, why_len, "%s: over 16 MiB, not a DM "
			         "message", msg_path);
			return TRUST_REFUSED;
		}
		snprintf(why, why_len, "%s: cannot read: %s", msg_path,
		         strerror(errno));
		return TRUST_ERROR;
	}
	/* Read it first: a message that is not one is refused before any
	 * signature is looked at, with the reader's own reason. */
	if (dmsc_dm_parse(msg, msg_len, NULL, &doc, NULL, &err) !=
	        DMSC_DM_OK) {
		snprintf(why, why_len, "%s: not a readable DM message: %s",
		         msg_path, err.message);
		rc = TRUST_REFUSED;
		goto done;
	}
	if (sig_path != NULL) {
		if (dsig_present(doc)) {
			snprintf(why, why_len, "%s: carries an enveloped "
			         "Signature and a detached one was given: "
			         "give one", msg_path);
			rc = TRUST_REFUSED;
			goto done;
		}
		rc = approval_read_signature(sig_path, &sig, &sig_len, why,
		                             why_len);
		if (rc != TRUST_OK)
			goto done;
		rc = trust_verify_message(t, msg, msg_len, sig, sig_len, who,
		                          reason, sizeof reason);
	} else {
		if (!dsig_present(doc)) {
			snprintf(why, why_len, "%s: no signature: neither a "
			         "detached signature (--signature) nor an "
			         "enveloped XML-DSig", msg_path);
			rc = TRUST_REFUSED;
			goto done;
		}
		if (dsig_parse(doc, allow_sha1, &parts, reason,
		               sizeof reason) != 0)
			rc = TRUST_REFUSED;
		else
			rc = trust_verify_dsig(t, &parts, who, reason,
			                       sizeof reason);
	}
	if (rc != TRUST_OK) {
		snprintf(why, why_len, "%s: %s", msg_path, reason);
		goto done;
	}
	/* Only now, from the very bytes the card verified, normalised as
	 * the canonical form is (a WBXML chr <Data> read back as text). */
	if (refs != NULL &&
	    dmsc_canon_doc(doc, NULL, discard, NULL, &err) != DMSC_DM_OK) {
		snprintf(why, why_len, "%s: %s", msg_path, err.message);
		*who = NULL;
		rc = TRUST_REFUSED;
	} else if (refs != NULL &&
	    pkgref_collect(doc, refs, reason, sizeof reason) != 0) {
		snprintf(why, why_len, "%s: %s", msg_path, reason);
		*who = NULL;
		rc = TRUST_REFUSED;
	}
done:
	dsig_parts_free(&parts);
	xmlFreeDoc(doc);
	OPENSSL_clear_free(msg, msg_len);
	free(sig);
	return rc;
}

int approval_claimed_operation(const char *msg_path, char *out,
                               size_t out_len)
{
	unsigned char *msg = NULL;
	size_t msg_len = 0;
	xmlDocPtr doc = NULL;
	pkgrefs *refs = calloc(1, sizeof *refs);
	char why[256];
	int rc = -1;

	if (refs != NULL &&
	    slurp(msg_path, DMSC_DM_DEFAULT_MAX_INPUT, &msg, &msg_len) == 0 &&
	    dmsc_dm_parse(msg, msg_len, NULL, &doc, NULL, NULL) ==
	        DMSC_DM_OK &&
	    dmsc_canon_doc(doc, NULL, discard, NULL, NULL) == DMSC_DM_OK &&
	    pkgref_collect(doc, refs, why, sizeof why) == 0 &&
	    refs->first_exec[0] != '\0') {
		snprintf(out, out_len, "%s (unverified)", refs->first_exec);
		rc = 0;
	}
	xmlFreeDoc(doc);
	OPENSSL_clear_free(msg, msg_len);
	free(refs);
	return rc;
}
