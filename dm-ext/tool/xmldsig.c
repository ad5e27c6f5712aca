/*
 * dm-ext/tool/xmldsig.c - build and take apart the enveloped XML-DSig of a
 * signed DM message (see xmldsig.h and dm-ext/APPROVAL.md).
 *
 * Canonicalisation is libxml2's Exclusive C14N 1.0 (xmlC14NExecute) with
 * a visibility callback that selects the node-set XML-DSig defines: the
 * whole document minus the Signature subtree for a Reference with URI=""
 * and the enveloped-signature transform, the SignedInfo subtree for the
 * signature itself.  xmlsec1 computes the same node-sets, which is what
 * the tests check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>
#include <libxml/c14n.h>
#include <libxml/xmlsave.h>

#include "base64.h"
#include "xmldsig.h"

const dsig_alg dsig_rsa_sha256 = {
	.name = "rsa-sha256",
	.signature_uri = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
	.digest_uri = "http://www.w3.org/2001/04/xmlenc#sha256",
	.sign_mechanism = CKM_SHA256_RSA_PKCS,
	.digest_mechanism = CKM_SHA256,
	.digest_len = 32,
};

const dsig_alg dsig_rsa_sha1 = {
	.name = "rsa-sha1",
	.signature_uri = DSIG_NS "rsa-sha1",
	.digest_uri = DSIG_NS "sha1",
	.sign_mechanism = CKM_SHA1_RSA_PKCS,
	.digest_mechanism = CKM_SHA_1,
	.digest_len = 20,
};

/* ---- canonicalisation of a node-set ---- */

struct nodeset {
	xmlNodePtr node;
	bool subtree_only;
};

static bool within(xmlNodePtr n, xmlNodePtr top)
{
	for (; n != NULL; n = n->parent)
		if (n == top)
			return true;
	return false;
}

static int visible(void *ctx, xmlNodePtr node, xmlNodePtr parent)
{
	const struct nodeset *set = ctx;
	/* A namespace node is given as an xmlNs with its element as parent. */
	xmlNodePtr n = node == NULL || node->type == XML_NAMESPACE_DECL
	               ? parent : node;
	bool in;

	if (set->node == NULL)
		return 1;
	in = within(n, set->node);
	return set->subtree_only ? in : !in;
}

int dsig_c14n(xmlDocPtr doc, xmlNodePtr node, bool subtree_only,
              unsigned char **out, size_t *out_len)
{
	struct nodeset set = { .node = node, .subtree_only = subtree_only };
	xmlBufferPtr buf = xmlBufferCreate();
	xmlOutputBufferPtr ob;
	int n;

	*out = NULL;
	*out_len = 0;
	if (buf == NULL)
		return -1;
	ob = xmlOutputBufferCreateBuffer(buf, NULL);
	if (ob == NULL) {
		xmlBufferFree(buf);
		return -1;
	}
	n = xmlC14NExecute(doc, visible, &set, XML_C14N_EXCLUSIVE_1_0, NULL, 0,
	                   ob);
	if (xmlOutputBufferClose(ob) < 0 || n < 0) {
		xmlBufferFree(buf);
		return -1;
	}
	*out_len = (size_t)xmlBufferLength(buf);
	*out = malloc(*out_len + 1);
	if (*out == NULL) {
		xmlBufferFree(buf);
		return -1;
	}
	memcpy(*out, xmlBufferContent(buf), *out_len);
	(*out)[*out_len] = '\0';
	xmlBufferFree(buf);
	return 0;
}

/* ---- the MA's side ---- */

/* The Signature, written in its own canonical form (empty elements as
 * start and end tag) so that what the MA signs is what it wrote.  The
 * arguments: SignatureMethod, DigestMethod, DigestValue. */
#define SIGNATURE_FORMAT                                                   \
	"<Signature xmlns=\"" DSIG_NS "\"><SignedInfo>"                     \
	"<CanonicalizationMethod Algorithm=\"" DSIG_EXC_C14N "\">"          \
	"</CanonicalizationMethod>"                                        \
	"<SignatureMethod Algorithm=\"%s\"></SignatureMethod>"              \
	"<Reference URI=\"\"><Transforms>"                                  \
	"<Transform Algorithm=\"" DSIG_ENVELOPED "\"></Transform>"          \
	"<Transform Algorithm=\"" DSIG_EXC_C14N "\"></Transform>"           \
	"</Transforms><DigestMethod Algorithm=\"%s\"></DigestMethod>"       \
	"<DigestValue>%s</DigestValue></Reference></SignedInfo>"           \
	"<SignatureValue></SignatureValue></Signature>"

int dsig_template(const unsigned char *c14n, size_t len, const dsig_alg *alg,
                  const unsigned char *digest, char **out, size_t *out_len,
                  const char **why)
{
	char b64[128];
	const unsigned char *end;
	char *doc;
	size_t b64_len, at, sig_len, n;
	int sl;

	*out = NULL;
	/* The root's end tag is the last "</" of a canonical form. */
	for (end = c14n + len; end > c14n; end--)
		if (end - c14n >= 2 && end[-2] == '<' && end[-1] == '/')
			break;
	if (end == c14n || c14n[len - 1] != '>') {
		*why = "its canonical form has no end tag to put the Signature "
		       "before";
		return -1;
	}
	at = (size_t)(end - 2 - c14n);
	b64_len = dmsc_base64_encode(digest, alg->digest_len, b64);
	b64[b64_len] = '\0';
	sl = snprintf(NULL, 0,
	              SIGNATURE_FORMAT,
	              alg->signature_uri, alg->digest_uri, b64);
	if (sl < 0) {
		*why = "out of memory";
		return -1;
	}
	sig_len = (size_t)sl;
	n = len + sig_len;
	doc = malloc(n + 1);
	if (doc == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(doc, c14n, at);
	snprintf(doc + at, sig_len + 1,
	         SIGNATURE_FORMAT,
	         alg->signature_uri, alg->digest_uri, b64);
	memcpy(doc + at + sig_len, c14n + at, len - at);
	doc[n] = '\0';
	*out = doc;
	*out_len = n;
	return 0;
}

int dsig_fill_value(char **doc, size_t *len, const unsigned char *sig,
                    size_t sig_len)
{
	static const char empty[] = "<SignatureValue></SignatureValue>";
	const size_t open_len = sizeof "<SignatureValue>" - 1;
	char *at = memmem(*doc, *len, empty, sizeof empty - 1), *out;
	size_t b64_len = dmsc_base64_encoded_len(sig_len), head;

	if (at == NULL || (sig_len > 0 && b64_len == 0))
		return -1;
	head = (size_t)(at - *doc) + open_len;
	out = malloc(*len + b64_len + 1);
	if (out == NULL)
		return -1;
	memcpy(out, *doc, head);
	dmsc_base64_encode(sig, sig_len, out + head);
	memcpy(out + head + b64_len, *doc + head, *len - head);
	out[*len + b64_len] = '\0';
	free(*doc);
	*doc = out;
	*len += b64_len;
	return 0;
}

/* ---- the device's side ---- */

static bool is_dsig(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       xmlStrEqual(n->ns->href, BAD_CAST DSIG_NS) &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

/* The element children of n, skipping whitespace-only text; anything else
 * (text, another element) where an element is expected is a reason to
 * refuse, since the form is fixed. */
static xmlNodePtr next_element(xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE)
			return n;
		if (n->type == XML_TEXT_NODE && !xmlIsBlankNode(n))
			return n; /* caller sees a non-element and refuses */
	}
	return NULL;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
	return n == NULL ? NULL : next_element(n->children);
}

static xmlNodePtr following_element(xmlNodePtr n)
{
	return n == NULL ? NULL : next_element(n->next);
}

static bool algorithm_is(xmlNodePtr n, const char *uri)
{
	xmlChar *a = xmlGetNoNsProp(n, BAD_CAST "Algorithm");
	bool same = a != NULL && xmlStrEqual(a, BAD_CAST uri);

	xmlFree(a);
	return same;
}

static xmlNodePtr find_signature(xmlDocPtr doc, int *count)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), n, found = NULL;

	*count = 0;
	if (root == NULL)
		return NULL;
	for (n = root->children; n != NULL; n = n->next)
		if (is_dsig(n, "Signature")) {
			(*count)++;
			found = n;
		}
	return found;
}

bool dsig_present(xmlDocPtr doc)
{
	int count;

	return find_signature(doc, &count) != NULL;
}

/* Decode the Base64 text content of n into a malloc'd buffer. */
static int b64_content(xmlNodePtr n, unsigned char **out, size_t *out_len)
{
	xmlChar *text = xmlNodeGetContent(n);
	size_t len, bad;
	bool ok;

	*out = NULL;
	if (text == NULL)
		return -1;
	len = (size_t)xmlStrlen(text);
	*out = malloc(len / 4 * 3 + 1);
	ok = *out != NULL &&
	     dmsc_base64_decode((const char *)text, len, true, *out, out_len,
	                        &bad);
	xmlFree(text);
	if (!ok) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

#define REFUSE(...) do { snprintf(why, why_len, __VA_ARGS__); goto fail; } \
	while (0)

int dsig_parse(xmlDocPtr doc, bool allow_sha1, dsig_parts *parts,
               char *why, size_t why_len)
{
	xmlNodePtr sig, si, cm, sm, ref, tr, t1, t2, dm, dv, sv;
	unsigned char *digest = NULL;
	size_t digest_len = 0;
	xmlChar *uri = NULL;
	int count;

	memset(parts, 0, sizeof *parts);
	sig = find_signature(doc, &count);
	if (sig == NULL)
		REFUSE("no XML-DSig Signature (namespace " DSIG_NS ") as a "
		       "child of the root element");
	if (count > 1)
		REFUSE("%d Signature elements; a signed message has one",
		       count);
	si = first_element(sig);
	if (!is_dsig(si, "SignedInfo"))
		REFUSE("Signature: the first child is not SignedInfo");
	sv = following_element(si);
	if (!is_dsig(sv, "SignatureValue"))
		REFUSE("Signature: SignedInfo is not followed by "
		       "SignatureValue");
	/* No KeyInfo (the card, not the message, says whom to trust) and no
	 * Object: a Signature's subtree is outside what its Reference
	 * covers, so nothing unsigned may ride in it. */
	if (following_element(sv) != NULL)
		REFUSE("Signature: something follows SignatureValue (KeyInfo, "
		       "Object); a signed DM message has nothing there");
	cm = first_element(si);
	if (!is_dsig(cm, "CanonicalizationMethod") ||
	    !algorithm_is(cm, DSIG_EXC_C14N))
		REFUSE("SignedInfo: the CanonicalizationMethod must be "
		       "exclusive C14N (" DSIG_EXC_C14N ")");
	sm = following_element(cm);
	if (!is_dsig(sm, "SignatureMethod"))
		REFUSE("SignedInfo: no SignatureMethod");
	if (algorithm_is(sm, dsig_rsa_sha256.signature_uri))
		parts->alg = &dsig_rsa_sha256;
	else if (algorithm_is(sm, dsig_rsa_sha1.signature_uri) && allow_sha1)
		parts->alg = &dsig_rsa_sha1;
	else if (algorithm_is(sm, dsig_rsa_sha1.signature_uri))
		REFUSE("SignatureMethod rsa-sha1 is refused (--allow-sha1 "
		       "accepts it)");
	else
		REFUSE("SignatureMethod: only rsa-sha256 (%s) is accepted",
		       dsig_rsa_sha256.signature_uri);
	ref = following_element(sm);
	if (!is_dsig(ref, "Reference"))
		REFUSE("SignedInfo: no Reference");
	if (following_element(ref) != NULL)
		REFUSE("SignedInfo: more than one Reference; a signed DM "
		       "message has one, covering the whole message");
	uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
	if (uri == NULL || uri[0] != '\0')
		REFUSE("Reference: URI must be \"\" (the whole message)");
	tr = first_element(ref);
	if (!is_dsig(tr, "Transforms"))
		REFUSE("Reference: no Transforms (enveloped-signature, "
		       "exclusive C14N)");
	t1 = first_element(tr);
	t2 = following_element(t1);
	if (!is_dsig(t1, "Transform") || !algorithm_is(t1, DSIG_ENVELOPED) ||
	    (t2 != NULL && (!is_dsig(t2, "Transform") ||
	                    !algorithm_is(t2, DSIG_EXC_C14N))) ||
	    following_element(t2) != NULL)
		REFUSE("Reference: the Transforms must be enveloped-signature "
		       "then exclusive C14N");
	dm = following_element(tr);
	if (!is_dsig(dm, "DigestMethod") ||
	    !algorithm_is(dm, parts->alg->digest_uri))
		REFUSE("Reference: the DigestMethod must be %s with %s",
		       parts->alg->digest_uri, parts->alg->name);
	dv = following_element(dm);
	if (!is_dsig(dv, "DigestValue") || b64_content(dv, &digest,
	                                               &digest_len) != 0)
		REFUSE("Reference: no DigestValue in Base64");
	if (following_element(dv) != NULL)
		REFUSE("Reference: something follows DigestValue");
	if (digest_len != parts->alg->digest_len)
		REFUSE("DigestValue: %zu bytes, %s has %zu", digest_len,
		       parts->alg->name, parts->alg->digest_len);
	memcpy(parts->digest, digest, digest_len);
	if (b64_content(sv, &parts->signature, &parts->signature_len) != 0)
		REFUSE("SignatureValue is not Base64");
	if (dsig_c14n(doc, si, true, &parts->signed_info,
	              &parts->signed_info_len) != 0 ||
	    dsig_c14n(doc, sig, false, &parts->content,
	              &parts->content_len) != 0)
		REFUSE("exclusive C14N failed (out of memory?)");
	free(digest);
	xmlFree(uri);
	return 0;
fail:
	free(digest);
	xmlFree(uri);
	dsig_parts_free(parts);
	return -1;
}

void dsig_parts_free(dsig_parts *parts)
{
	free(parts->signed_info);
	free(parts->content);
	free(parts->signature);
	memset(parts, 0, sizeof *parts);
}
