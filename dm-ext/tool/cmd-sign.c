/*
 * dm-ext/tool/cmd-sign.c - `dmsc sign`: the Management Authority signs a
 * DM message or a package with a key in its PKCS#11 token (dm-ext/
 * APPROVAL.md).
 *
 * The MA's token is usually not a dmsc card (SoftHSM, an HSM): it does not
 * know the CKM_DMSC_* mechanisms.  So the tool canonicalises the message
 * itself (dm-ext/canon, the same code the card runs) and signs the
 * canonical bytes with the standard mechanism: CKM_SHA256_RSA_PKCS over
 * the canonical form is exactly CKM_DMSC_SHA256_RSA_PKCS over the
 * message; for EC the SHA-256 is computed here and signed with raw
 * CKM_ECDSA (all SoftHSM has), which is CKM_DMSC_ECDSA_SHA256 over the
 * message.  A package is signed as the bytes it is, streamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "canon.h"
#include "commands.h"
#include "p11-client.h"
#include "slurp.h"
#include "trust.h"
#include "xmldsig.h"

#define SIG_MAX 1024u

/* The private key to sign with: --key LABEL, or a pkcs11: URI naming it
 * by object (label) and/or id. */
static int find_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                    const char *key, CK_OBJECT_HANDLE *h, CK_KEY_TYPE *type)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[3] = { { CKA_CLASS, &cls, sizeof cls } };
	CK_ATTRIBUTE kt = { CKA_KEY_TYPE, type, sizeof *type };
	CK_ULONG nt = 1, n = 0;
	CK_OBJECT_HANDLE found[2];
	P11KitUri *uri = NULL;
	CK_ATTRIBUTE *a;
	int rc = -1;

	if (strncmp(key, "pkcs11:", 7) == 0) {
		uri = p11_kit_uri_new();
		if (uri == NULL || p11_kit_uri_parse(key,
		        P11_KIT_URI_FOR_OBJECT, uri) != P11_KIT_URI_OK) {
			dmsc_error("--key: '%s' is not a valid PKCS#11 URI "
			           "(RFC 7512)", key);
			goto done;
		}
		if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL)
			t[nt++] = *a;
		if ((a = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL)
			t[nt++] = *a;
		if (nt == 1) {
			dmsc_error("--key: the URI names no object (object= "
			           "or id=)");
			goto done;
		}
	} else {
		t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)key, strlen(key) };
	}
	if (f->C_FindObjectsInit(s, t, nt) != CKR_OK)
		goto not_found;
	f->C_FindObjects(s, found, 2, &n);
	f->C_FindObjectsFinal(s);
	if (n == 0)
		goto not_found;
	if (n > 1) {
		dmsc_error("--key '%s': more than one private key matches; "
		           "name it by id in a pkcs11: URI", key);
		goto done;
	}
	*h = found[0];
	if (f->C_GetAttributeValue(s, *h, &kt, 1) != CKR_OK ||
	    (*type != CKK_RSA && *type != CKK_EC)) {
		dmsc_error("--key '%s': only RSA and EC keys sign DM "
		           "messages", key);
		goto done;
	}
	rc = 0;
	goto done;
not_found:
	dmsc_error("--key '%s': no such private key on the token (log in "
	           "with the right PIN? 'pkcs11-tool -O' lists them)", key);
done:
	p11_kit_uri_free(uri);
	return rc;
}

static int sign_bytes(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                      CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE key,
                      const unsigned char *data, size_t len,
                      unsigned char *sig, CK_ULONG *sig_len)
{
	CK_MECHANISM m = { mech, NULL, 0 };
	CK_RV rv = f->C_SignInit(s, &m, key);

	if (rv == CKR_OK)
		rv = f->C_Sign(s, (CK_BYTE_PTR)data, (CK_ULONG)len, sig,
		               sig_len);
	if (rv != CKR_OK)
		dmsc_error("the token could not sign: %s", dmsc_p11_rv_name(rv));
	return rv == CKR_OK ? 0 : -1;
}

/* An EC signature: many tokens (SoftHSM among them) have only raw
 * CKM_ECDSA, so the SHA-256 is computed here and the token signs the hash:
 * the same r || s as CKM_ECDSA_SHA256 over the data. */
static int sign_hash_ec(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE key, EVP_MD_CTX *md,
                        unsigned char *sig, CK_ULONG *sig_len)
{
	unsigned char hash[32];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(md, hash, &n) != 1 || n != sizeof hash) {
		dmsc_error("SHA-256 failed (OpenSSL)");
		return -1;
	}
	return sign_bytes(f, s, CKM_ECDSA, key, hash, n, sig, sig_len);
}

/* Sign data held in memory (a canonical form) with the key's standard
 * mechanism. */
static int sign_data(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                     CK_KEY_TYPE type, CK_OBJECT_HANDLE key,
                     const unsigned char *data, size_t len,
                     unsigned char *sig, CK_ULONG *sig_len)
{
	EVP_MD_CTX *md;
	int rc = -1;

	if (type == CKK_RSA)
		return sign_bytes(f, s, CKM_SHA256_RSA_PKCS, key, data, len,
		                  sig, sig_len);
	md = EVP_MD_CTX_new();
	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, data, len) == 1)
		rc = sign_hash_ec(f, s, key, md, sig, sig_len);
	else
		dmsc_error("SHA-256 failed (OpenSSL)");
	EVP_MD_CTX_free(md);
	return rc;
}

/* A package: its bytes, streamed through C_SignUpdate (RSA) or the
 * SHA-256 of an EC signature. */
static int sign_package(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                        CK_KEY_TYPE type, CK_OBJECT_HANDLE key,
                        const char *path, unsigned char *sig,
                        CK_ULONG *sig_len)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char *buf = malloc(TRUST_READ_CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
	EVP_MD_CTX *md = NULL;
	CK_RV rv = CKR_OK;
	ssize_t n;

	if (fd < 0 || buf == NULL) {
		dmsc_error("%s: cannot open: %s", path, strerror(errno));
		goto done;
	}
	if (type == CKK_RSA) {
		rv = f->C_SignInit(s, &m, key);
	} else {
		md = EVP_MD_CTX_new();
		if (md == NULL ||
		    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
			dmsc_error("SHA-256 failed (OpenSSL)");
			goto done;
		}
	}
	/* On a read error the signing operation is left open: closing the
	 * session (dmsc_p11_close) ends it. */
	while (rv == CKR_OK) {
		n = read(fd, buf, TRUST_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dmsc_error("%s: cannot read: %s", path,
			           strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (md != NULL) {
			if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
				dmsc_error("SHA-256 failed (OpenSSL)");
				goto done;
			}
		} else {
			rv = f->C_SignUpdate(s, buf, (CK_ULONG)n);
		}
	}
	if (md != NULL) {
		rc = sign_hash_ec(f, s, key, md, sig, sig_len);
		goto done;
	}
	if (rv == CKR_OK)
		rv = f->C_SignFinal(s, sig, sig_len);
	if (rv != CKR_OK) {
		dmsc_error("the token could not sign: %s", dmsc_p11_rv_name(rv));
		goto done;
	}
	rc = 0;
done:
	EVP_MD_CTX_free(md);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The enveloped XML-DSig: the canonical form with a Signature inside. */
static int sign_enveloped(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                          CK_OBJECT_HANDLE key, const dsig_alg *alg,
                          const struct byte_buf *c14n, const char *name,
                          char **out, size_t *out_len)
{
	CK_MECHANISM dm = { alg->digest_mechanism, NULL, 0 };
	unsigned char digest[64], sig[SIG_MAX];
	CK_ULONG digest_len = sizeof digest, sig_len = sizeof sig;
	unsigned char *content = NULL;
	size_t content_len = 0;
	xmlDocPtr doc = NULL;
	dmsc_dm_error err;
	dsig_parts parts;
	char why[256];
	const char *bad = NULL;
	int rc = -1;
	CK_RV rv;

	*out = NULL;
	/* What the Reference covers: exc-c14n of the document the device
	 * will see minus the Signature. */
	if (dmsc_dm_parse(c14n->data, c14n->len, NULL, &doc, NULL, &err) !=
	        DMSC_DM_OK ||
	    dsig_c14n(doc, NULL, false, &content, &content_len) != 0) {
		dmsc_error("%s: its canonical form cannot be read back", name);
		goto done;
	}
	xmlFreeDoc(doc);
	doc = NULL;
	rv = f->C_DigestInit(s, &dm);
	if (rv == CKR_OK)
		rv = f->C_Digest(s, content, (CK_ULONG)content_len, digest,
		                 &digest_len);
	if (rv != CKR_OK || digest_len != alg->digest_len) {
		dmsc_error("the token could not digest the message: %s",
		           dmsc_p11_rv_name(rv));
		goto done;
	}
	if (dsig_template(c14n->data, c14n->len, alg, digest, out, out_len,
	                  &bad) != 0) {
		dmsc_error("%s: %s", name, bad);
		goto done;
	}
	/* What is signed: the SignedInfo as the verifier will see it. */
	if (dmsc_dm_parse((unsigned char *)*out, *out_len, NULL, &doc, NULL,
	                  &err) != DMSC_DM_OK ||
	    dsig_parse(doc, true, &parts, why, sizeof why) != 0) {
		dmsc_error("%s: the signed form cannot be read back", name);
		goto done;
	}
	rc = sign_bytes(f, s, alg->sign_mechanism, key, parts.signed_info,
	                parts.signed_info_len, sig, &sig_len);
	dsig_parts_free(&parts);
	if (rc == 0 && dsig_fill_value(out, out_len, sig, sig_len) != 0) {
		dmsc_error("out of memory");
		rc = -1;
	}
done:
	xmlFreeDoc(doc);
	free(content);
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static int write_out(const char *path, const void *data, size_t len)
{
	FILE *fp = path == NULL ? stdout : fopen(path, "we");

	if (fp == NULL) {
		dmsc_error("%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, fp) != len || fflush(fp) != 0 ||
	    (fp != stdout && fclose(fp) != 0)) {
		dmsc_error("%s: cannot write: %s", path ? path : "stdout",
		           strerror(errno));
		return -1;
	}
	return 0;
}

struct sign_opts {
	const char *key, *output;
	bool enveloped, sha1, package, quiet;
};

static int sign(const struct sign_opts *o, const struct dmsc_common *common,
                const char *path)
{
	struct byte_buf c14n = { NULL, 0, 0 };
	unsigned char *msg = NULL, sig[SIG_MAX];
	CK_ULONG sig_len = sizeof sig;
	CK_OBJECT_HANDLE key;
	CK_KEY_TYPE type;
	size_t msg_len = 0, out_len = 0;
	char *out = NULL;
	dmsc_dm_error err = { .offset = 0 };
	dmsc_p11 *p11 = NULL;
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	bool message;
	int rc, st;

	rc = dmsc_p11_open(common, &p11);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_start(p11, DMSC_P11_RO);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_login(p11, CKU_USER);
	if (rc != DMSC_EXIT_OK) {
		dmsc_p11_close(p11);
		return rc;
	}
	f = dmsc_p11_fn(p11);
	s = dmsc_p11_session(p11);
	rc = DMSC_EXIT_USAGE;
	if (find_key(f, s, o->key, &key, &type) != 0)
		goto done;
	if (o->package) {
		message = false;
	} else {
		if (slurp(path, DMSC_DM_DEFAULT_MAX_INPUT, &msg, &msg_len) != 0
		    && errno != EFBIG) {
			dmsc_error("%s: cannot read: %s", path,
			           strerror(errno));
			goto done;
		}
		/* Over 16 MiB cannot be a message: a package. */
		message = msg != NULL &&
		          dmsc_dm_detect(msg, msg_len) != DMSC_DM_OPAQUE;
	}
	if (!message) {
		if (o->enveloped) {
			dmsc_error("%s: not an XML or WBXML DM message: only a "
			           "message carries an enveloped signature",
			           path);
			rc = DMSC_EXIT_REFUSED;
			goto done;
		}
		if (sign_package(f, s, type, key, path, sig, &sig_len) != 0)
			goto done;
		if (write_out(o->output, sig, sig_len) != 0)
			goto done;
		if (!o->quiet)
			dmsc_error("%s: package signed (%lu-byte signature)",
			           path, (unsigned long)sig_len);
		rc = DMSC_EXIT_OK;
		goto done;
	}
	st = dmsc_canon(msg, msg_len, NULL, byte_buf_append, &c14n, &err);
	if (st != DMSC_DM_OK) {
		dmsc_error("%s: %s", path, err.message);
		rc = DMSC_EXIT_REFUSED;
		goto done;
	}
	if (o->enveloped) {
		if (type != CKK_RSA) {
			dmsc_error("--enveloped signs with RSA (the OMA DM "
			           "content signature); this key is EC");
			goto done;
		}
		if (sign_enveloped(f, s, key, o->sha1 ?
		                   &dsig_rsa_sha1 : &dsig_rsa_sha256, &c14n,
		                   path, &out, &out_len) != 0 ||
		    write_out(o->output, out, out_len) != 0)
			goto done;
	} else {
		if (sign_data(f, s, type, key, c14n.data, c14n.len, sig,
		              &sig_len) != 0 ||
		    write_out(o->output, sig, sig_len) != 0)
			goto done;
	}
	if (!o->quiet)
		dmsc_error("%s: DM message signed (%s)", path,
		           o->enveloped ? (o->sha1 ? "enveloped XML-DSig, "
		                           "rsa-sha1" : "enveloped XML-DSig, "
		                           "rsa-sha256")
		                        : "detached signature over the "
		                          "canonical form");
	rc = DMSC_EXIT_OK;
done:
	/* A message may carry credentials (canon.c wipes its copies too). */
	OPENSSL_clear_free(msg, msg_len);
	OPENSSL_clear_free(c14n.data, c14n.cap);
	free(out);
	dmsc_p11_close(p11);
	return rc;
}

static int sign_run(const struct dmsc_command *cmd, int argc, char **argv,
                    struct dmsc_common *common)
{
	enum { OPT_KEY = 256, OPT_ENVELOPED, OPT_SHA1, OPT_PACKAGE };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "enveloped", no_argument, NULL, OPT_ENVELOPED },
		{ "sha1", no_argument, NULL, OPT_SHA1 },
		{ "package", no_argument, NULL, OPT_PACKAGE },
		{ "output", required_argument, NULL, 'o' },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct sign_opts o = { .key = NULL };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "o:" DMSC_COMMON_SHORTOPTS,
	                          longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_KEY: o.key = optarg; break;
		case OPT_ENVELOPED: o.enveloped = true; break;
		case OPT_SHA1: o.sha1 = true; break;
		case OPT_PACKAGE: o.package = true; break;
		case 'o': o.output = optarg; break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	o.quiet = common->quiet;
	if (o.key == NULL)
		return dmsc_usage_error(cmd, "--key LABEL or --key "
		                        "'pkcs11:object=...' names the key");
	if (o.sha1 && !o.enveloped)
		return dmsc_usage_error(cmd, "--sha1 is for --enveloped "
		                        "(XML-DSig rsa-sha1) only");
	if (o.enveloped && o.package)
		return dmsc_usage_error(cmd, "--enveloped signs a message, "
		                        "--package a package: not both");
	if (argc - optind != 1)
		return dmsc_usage_error(cmd, "expected one FILE");
	return sign(&o, common, argv[optind]);
}

const struct dmsc_command dmsc_cmd_sign = {
	.name = "sign",
	.summary = "the MA signs a DM message or a package (any PKCS#11 "
	           "token)",
	.synopsis = "--key KEY [--enveloped [--sha1] | --package] [-o OUT] "
	            "FILE",
	.help =
	"Sign FILE with the private key KEY of a PKCS#11 token (--module, "
	"--token,\n"
	"--pin: the MA's token, SoftHSM or an HSM): the Management\n"
	"Authority's step of firmware / software approval "
	"(dm-ext/APPROVAL.md).\n"
	"\n"
	"A DM message (XML or WBXML) is signed over its canonical form (dmsc "
	"canon),\n"
	"canonicalised here and signed with CKM_SHA256_RSA_PKCS (RSA) or\n"
	"CKM_ECDSA over its SHA-256 (EC P-256): the same signature as\n"
	"CKM_DMSC_SHA256_RSA_PKCS / CKM_DMSC_ECDSA_SHA256 on the card, so "
	"any token\n"
	"signs (SoftHSM, an HSM).  The output is the detached signature "
	"(raw bytes,\n"
	"as 'openssl dgst -sign' writes them), or with --enveloped the "
	"message in\n"
	"its canonical form with an XML-DSig Signature as the last child of "
	"SyncML.\n"
	"Anything else is a package: its bytes are signed as they are, "
	"streamed.\n"
	"\n"
	"Options:\n"
	"      --key KEY      the private key: its label, or a pkcs11: URI "
	"with\n"
	"                     object= and/or id=\n"
	"      --enveloped    write the message with an enveloped XML-DSig "
	"(exclusive\n"
	"                     C14N, rsa-sha256); RSA keys only\n"
	"      --sha1         with --enveloped: rsa-sha1 and sha1 (only "
	"for old devices)\n"
	"      --package      FILE is a package even if it looks like XML\n"
	"  -o, --output OUT   write there instead of stdout\n",
	.examples =
	"  dmsc sign --module /usr/lib/softhsm/libsofthsm2.so --token "
	"pkcs11:token=MA \\\n"
	"      --key ma --output fumo.sig fumo.xml\n"
	"      a detached signature over a FUMO message\n"
	"  dmsc sign --module ... --token pkcs11:token=MA --key ma "
	"--enveloped \\\n"
	"      -o fumo.signed.xml fumo.xml\n"
	"      the message with its XML-DSig inside (xmlsec1 --verify "
	"checks it)\n"
	"  dmsc sign --module ... --token pkcs11:token=MA --key ma -o fw.sig "
	"fw.bin\n"
	"      a package's detached signature, for installing from a file\n",
	.run = sign_run,
};
