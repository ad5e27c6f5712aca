/*
 * dm-ext/profile/profile-load.c - step 2 of reading a card profile (see
 * profile.h): every file it names is read and checked, every secret
 * fetched, before `dmsc personalise` writes anything to a card.
 */
#include "profile.h"

#include "dmmsg.h"
#include "mgmt-tree.h"
#include "wbxml-enc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* "PROFILE:LINE: <element ...>: " then the message. */
struct where {
	const struct dmsc_profile *p;
	long line;
	const char *element;
	dmsc_profile_error *err;
};

static int fail(const struct where *w, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct where *w, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->err == NULL)
		return status;
	n = snprintf(w->err->message, sizeof w->err->message, "%s:%ld: %s: ",
	             w->p->name, w->line, w->element);
	if (n < 0 || (size_t)n >= sizeof w->err->message)
		return status;
	va_start(ap, fmt);
	vsnprintf(w->err->message + n, sizeof w->err->message - (size_t)n,
	          fmt, ap);
	va_end(ap);
	return status;
}

/* The first OpenSSL error's reason, for messages. */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "no PEM data found";
}

static char *resolve(const struct dmsc_profile *p, const char *file)
{
	size_t n;
	char *path;

	if (file[0] == '/')
		return strdup(file);
	n = strlen(p->dir) + 1 + strlen(file) + 1;
	path = malloc(n);
	if (path != NULL)
		snprintf(path, n, "%s/%s", p->dir, file);
	return path;
}

/* The whole of a regular file of at most max bytes. */
static int read_file(const struct where *w, const char *file, size_t max,
                     unsigned char **out, size_t *len)
{
	char *path = resolve(w->p, file);
	unsigned char *buf = NULL;
	struct stat st;
	FILE *f;
	int rc = DMSC_PROFILE_OK;

	*out = NULL;
	*len = 0;
	if (path == NULL)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	f = fopen(path, "rb");
	if (f == NULL) {
		rc = fail(w, DMSC_PROFILE_IO, "%s: cannot be read: %s (the "
		          "path is relative to the profile's directory)",
		          path, strerror(errno));
		goto done;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fail(w, DMSC_PROFILE_IO, "%s: not a regular file", path);
		goto done;
	}
	if ((uintmax_t)st.st_size > max) {
		rc = fail(w, DMSC_PROFILE_INVALID, "%s: %jd bytes, more than "
		          "the %zu allowed", path, (intmax_t)st.st_size, max);
		goto done;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = fail(w, DMSC_PROFILE_NOMEM, "out of memory");
		goto done;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || *len != (size_t)st.st_size) {
		rc = fail(w, DMSC_PROFILE_IO, "%s: cannot be read whole",
		          path);
		goto done;
	}
	buf[*len] = 0;
	*out = buf;
	buf = NULL;
done:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(path);
	return rc;
}

/* ---- Secrets ---- */

static int fetch_secret(const struct dmsc_profile *p,
                        struct dmsc_profile_secret *s, const char *element,
                        size_t min, size_t max, dmsc_profile_error *err)
{
	struct where w = { p, s->line, element, err };
	const char *text = NULL;
	unsigned char *file = NULL;
	size_t file_len = 0, n;
	int rc;

	switch (s->source) {
	case DMSC_SECRET_VALUE:
		text = s->ref;
		break;
	case DMSC_SECRET_ENV:
		text = getenv(s->ref);
		if (text == NULL)
			return fail(&w, DMSC_PROFILE_INVALID, "the environment "
			            "variable %s is not set (export it, or give "
			            "value= or file=)", s->ref);
		break;
	case DMSC_SECRET_FILE:
		rc = read_file(&w, s->ref, 4096, &file, &file_len);
		if (rc != DMSC_PROFILE_OK)
			return rc;
		text = (const char *)file;
		break;
	}
	/* The first line: a file's newline is not part of the secret. */
	n = strcspn(text, "\r\n");
	if (s->bytes != NULL) {
		/* Fetched before (a second dmsc_profile_load()). */
		OPENSSL_cleanse(s->bytes, s->len);
		free(s->bytes);
		s->bytes = NULL;
	}
	if (n < min || n > max) {
		if (file != NULL) {
			OPENSSL_cleanse(file, file_len);
			free(file);
		}
		return fail(&w, DMSC_PROFILE_INVALID, "the secret from %s "
		            "%s is %zu bytes; it must be %zu to %zu",
		            s->source == DMSC_SECRET_VALUE ? "value"
		            : s->source == DMSC_SECRET_ENV ? "variable" : "file",
		            s->source == DMSC_SECRET_VALUE ? "=" : s->ref, n,
		            min, max);
	}
	s->bytes = malloc(n + 1);
	if (s->bytes != NULL) {
		memcpy(s->bytes, text, n);
		s->bytes[n] = 0;
		s->len = n;
	}
	if (file != NULL) {
		OPENSSL_cleanse(file, file_len);
		free(file);
	}
	return s->bytes != NULL ? DMSC_PROFILE_OK
	                        : fail(&w, DMSC_PROFILE_NOMEM, "out of memory");
}

/* ---- Files ---- */

/* PEM private keys are read without a passphrase: an encrypted key is
 * refused with a message rather than a prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int load_import_key(const struct where *w, struct dmsc_profile_item *it,
                           const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char group[32] = "";
	int type;

	if (bio == NULL)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	ERR_clear_error();
	it->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (it->pkey == NULL)
		return fail(w, DMSC_PROFILE_INVALID, "%s: not a PEM private "
		            "key without a passphrase (%s); make one with "
		            "openssl genpkey, or remove its passphrase with "
		            "openssl pkey", it->file, ossl_reason());
	type = EVP_PKEY_get_base_id(it->pkey);
	if (type == EVP_PKEY_RSA) {
		it->key_type = DMSC_KEY_RSA;
		it->bits = (unsigned)EVP_PKEY_get_bits(it->pkey);
		if (it->bits < 2048 || it->bits > 4096)
			return fail(w, DMSC_PROFILE_INVALID, "%s: an RSA key of "
			            "%u bits; the card takes 2048 to 4096",
			            it->file, it->bits);
		return DMSC_PROFILE_OK;
	}
	if (type == EVP_PKEY_ED25519) {
		it->key_type = DMSC_KEY_ED25519;
		return DMSC_PROFILE_OK;
	}
	if (type == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(it->pkey,
	                                   OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                   sizeof group, NULL) == 1) {
		static const struct {
			const char *ossl, *name;
		} curves[] = {
			{ "prime256v1", "P-256" },
			{ "secp384r1", "P-384" },
			{ "secp521r1", "P-521" },
		};

		it->key_type = DMSC_KEY_EC;
		for (size_t i = 0; i < 3; i++)
			if (strcmp(group, curves[i].ossl) == 0)
				it->curve = curves[i].name;
		if (it->curve != NULL)
			return DMSC_PROFILE_OK;
	}
	return fail(w, DMSC_PROFILE_INVALID, "%s: a %s key%s%s; the card "
	            "takes RSA, EC (P-256, P-384, P-521) and Ed25519 keys",
	            it->file, OBJ_nid2sn(type), group[0] ? " on " : "",
	            group);
}

static int load_cert(const struct where *w, struct dmsc_profile_item *it,
                     const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	unsigned char *der = NULL;
	int n;

	if (bio == NULL)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	ERR_clear_error();
	x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (x == NULL)
		return fail(w, DMSC_PROFILE_INVALID, "%s: not a PEM X.509 "
		            "certificate (%s): the file should start with "
		            "-----BEGIN CERTIFICATE-----", it->file,
		            ossl_reason());
	n = i2d_X509(x, &der);
	it->cert = x;
	if (n <= 0)
		return fail(w, DMSC_PROFILE_INVALID, "%s: the certificate "
		            "cannot be encoded (%s)", it->file, ossl_reason());
	it->value = malloc((size_t)n);
	if (it->value != NULL) {
		memcpy(it->value, der, (size_t)n);
		it->value_len = (size_t)n;
	}
	OPENSSL_free(der);
	return it->value != NULL ? DMSC_PROFILE_OK
	                         : fail(w, DMSC_PROFILE_NOMEM, "out of memory");
}

/* A DM document read with dm-ext's reader: its error names the file, the
 * line (XML) or byte (WBXML). */
static int parse_dm(const struct where *w, const struct dmsc_profile_item *it,
                    const unsigned char *buf, size_t len, xmlDocPtr *doc,
                    dmsc_dm_kind *kind)
{
	dmsc_dm_error e;
	int rc = dmsc_dm_parse(buf, len, NULL, doc, kind, &e);

	if (rc == DMSC_DM_OK)
		return DMSC_PROFILE_OK;
	if (rc == DMSC_DM_NOMEM)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	if (e.line > 0)
		return fail(w, DMSC_PROFILE_INVALID, "%s:%d: %s", it->file,
		            e.line, e.message);
	if (e.offset != DMSC_DM_NO_OFFSET)
		return fail(w, DMSC_PROFILE_INVALID, "%s: byte %zu: %s",
		            it->file, e.offset, e.message);
	return fail(w, DMSC_PROFILE_INVALID, "%s: %s", it->file, e.message);
}

static int load_mo(const struct where *w, struct dmsc_profile_item *it,
                   unsigned char **buf, size_t len)
{
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	dmsc_dm_error e;
	int rc;

	if (dmsc_dm_detect(*buf, len) != DMSC_DM_XML)
		return fail(w, DMSC_PROFILE_INVALID, "%s: an MO file is TNDS "
		            "as XML (<MgmtTree xmlns=\"syncml:dmddf1.2\">)",
		            it->file);
	rc = parse_dm(w, it, *buf, len, &doc, &kind);
	if (rc != DMSC_PROFILE_OK)
		return rc;
	if (kind != DMSC_DM_TNDS) {
		xmlFreeDoc(doc);
		return fail(w, DMSC_PROFILE_INVALID, "%s: a SyncML message, "
		            "not TNDS: an MO file's root is <MgmtTree "
		            "xmlns=\"syncml:dmddf1.2\">", it->file);
	}
	xmlFreeDoc(doc);
	/* Every TNDS rule, as `dmsc mo put` checks them. */
	rc = dmsc_tnds_check(*buf, len, &e);
	if (rc == DMSC_TNDS_NOMEM)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	if (rc != DMSC_TNDS_OK)
		return fail(w, DMSC_PROFILE_INVALID, "%s:%d: not TNDS: %s",
		            it->file, e.line, e.message);
	it->value = *buf;
	it->value_len = len;
	*buf = NULL;
	return DMSC_PROFILE_OK;
}

static int load_bootstrap(const struct where *w, struct dmsc_profile_item *it,
                          unsigned char **buf, size_t len)
{
	dmsc_dm_repr repr = dmsc_dm_detect(*buf, len);
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	dmsc_wbxml_enc_error e;
	int rc;

	if (repr == DMSC_DM_OPAQUE)
		return fail(w, DMSC_PROFILE_INVALID, "%s: neither XML nor "
		            "WBXML: the bootstrap is a SyncML DM message",
		            it->file);
	rc = parse_dm(w, it, *buf, len, &doc, &kind);
	if (rc != DMSC_PROFILE_OK)
		return rc;
	if (kind == DMSC_DM_TNDS) {
		xmlFreeDoc(doc);
		return fail(w, DMSC_PROFILE_INVALID, "%s: TNDS, not a SyncML "
		            "DM message: the bootstrap's root is <SyncML>",
		            it->file);
	}
	if (repr == DMSC_DM_WBXML) {
		/* Stored as it came: it decoded cleanly. */
		xmlFreeDoc(doc);
		it->value = *buf;
		it->value_len = len;
		*buf = NULL;
		return DMSC_PROFILE_OK;
	}
	rc = dmsc_wbxml_encode(doc, &it->value, &it->value_len, &e);
	xmlFreeDoc(doc);
	if (rc == DMSC_WBXML_ENC_NOMEM)
		return fail(w, DMSC_PROFILE_NOMEM, "out of memory");
	if (rc != DMSC_WBXML_ENC_OK)
		return fail(w, DMSC_PROFILE_INVALID, "%s:%ld: cannot be "
		            "encoded as WBXML: %s", it->file, e.line,
		            e.message);
	return DMSC_PROFILE_OK;
}

static const char *element_of(enum dmsc_profile_item_kind k)
{
	static const char *const names[] = {
		[DMSC_ITEM_KEY] = "<key>",
		[DMSC_ITEM_IMPORT_KEY] = "<import-key>",
		[DMSC_ITEM_MA_CERT] = "<ma-certificate>",
		[DMSC_ITEM_DM_CREDENTIAL] = "<dm-credential>",
		[DMSC_ITEM_MO] = "<mo>",
		[DMSC_ITEM_BOOTSTRAP] = "<bootstrap>",
	};

	return names[k];
}

static int load_item(const struct dmsc_profile *p,
                     struct dmsc_profile_item *it, dmsc_profile_error *err)
{
	struct where w = { p, it->line, element_of(it->kind), err };
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if (it->kind == DMSC_ITEM_KEY)
		return DMSC_PROFILE_OK;
	if (it->kind == DMSC_ITEM_DM_CREDENTIAL)
		return fetch_secret(p, &it->secret, "<dm-credential>", 1,
		                    DMSC_PROFILE_SECRET_MAX, err);
	rc = read_file(&w, it->file, DMSC_PROFILE_MAX_FILE, &buf, &len);
	if (rc != DMSC_PROFILE_OK)
		return rc;
	switch (it->kind) {
	case DMSC_ITEM_IMPORT_KEY:
		rc = load_import_key(&w, it, buf, len);
		OPENSSL_cleanse(buf, len);
		break;
	case DMSC_ITEM_MA_CERT:
		rc = load_cert(&w, it, buf, len);
		break;
	case DMSC_ITEM_MO:
		rc = load_mo(&w, it, &buf, len);
		break;
	default:
		rc = load_bootstrap(&w, it, &buf, len);
		break;
	}
	free(buf);
	return rc;
}

int dmsc_profile_load(struct dmsc_profile *p, dmsc_profile_error *err)
{
	int rc = DMSC_PROFILE_OK;

	for (size_t i = 0; i < p->n_apps && rc == DMSC_PROFILE_OK; i++) {
		struct dmsc_profile_app *app = &p->apps[i];

		rc = fetch_secret(p, &app->so_pin, "<so-pin>",
		                  DMSC_PROFILE_PIN_MIN, DMSC_PROFILE_PIN_MAX,
		                  err);
		if (rc == DMSC_PROFILE_OK)
			rc = fetch_secret(p, &app->user_pin, "<user-pin>",
			                  DMSC_PROFILE_PIN_MIN,
			                  DMSC_PROFILE_PIN_MAX, err);
		for (size_t j = 0; j < app->n_items && rc == DMSC_PROFILE_OK;
		     j++)
			rc = load_item(p, &app->items[j], err);
	}
	return rc;
}
