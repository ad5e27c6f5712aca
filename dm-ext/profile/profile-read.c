/*
 * dm-ext/profile/profile-read.c - step 1 of reading a card profile (see
 * profile.h): the XML, the RELAX NG schema, and the rules the schema
 * cannot state, into a struct dmsc_profile.  Opens no file.
 */
#include "profile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>
#include <openssl/crypto.h>

#define PROFILE_NS "urn:dmsc:profile:1"

static int fail(dmsc_profile_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(dmsc_profile_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return status;
}

/* A libxml2 message without its trailing newline. */
static void trim_message(char *dst, size_t len, const char *msg)
{
	size_t n;

	snprintf(dst, len, "%s", msg != NULL ? msg : "(no message)");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

/* ---- The schema: the first error it reports ---- */

struct first_error {
	bool seen;
	long line;
	char element[64];
	char message[400];
};

static void keep_first(void *ctx, xmlErrorPtr e)
{
	struct first_error *fe = ctx;
	const xmlNode *node = e != NULL ? e->node : NULL;

	if (fe->seen || e == NULL)
		return;
	fe->seen = true;
	fe->line = e->line;
	if (node != NULL && node->type == XML_ELEMENT_NODE) {
		if (fe->line <= 0)
			fe->line = xmlGetLineNo(node);
		snprintf(fe->element, sizeof fe->element, "%s",
		         (const char *)node->name);
	}
	trim_message(fe->message, sizeof fe->message, e->message);
}

static int validate(const char *name, xmlDocPtr doc,
                    const unsigned char *schema, size_t schema_len,
                    dmsc_profile_error *err)
{
	struct first_error fe = { 0 };
	xmlRelaxNGParserCtxtPtr pc;
	xmlRelaxNGPtr rng = NULL;
	xmlRelaxNGValidCtxtPtr vc = NULL;
	int rc = DMSC_PROFILE_NOMEM, v;

	if (schema_len > INT32_MAX)
		return fail(err, DMSC_PROFILE_INVALID, "the schema is too big");
	pc = xmlRelaxNGNewMemParserCtxt((const char *)schema, (int)schema_len);
	if (pc == NULL)
		return fail(err, rc, "out of memory");
	xmlRelaxNGSetParserStructuredErrors(pc, keep_first, &fe);
	rng = xmlRelaxNGParse(pc);
	xmlRelaxNGFreeParserCtxt(pc);
	if (rng == NULL)
		return fail(err, DMSC_PROFILE_INVALID,
		            "the profile schema cannot be read: %s "
		            "(a damaged installation: reinstall dmsc)",
		            fe.seen ? fe.message : "unknown error");
	vc = xmlRelaxNGNewValidCtxt(rng);
	if (vc == NULL) {
		xmlRelaxNGFree(rng);
		return fail(err, rc, "out of memory");
	}
	memset(&fe, 0, sizeof fe);
	xmlRelaxNGSetValidStructuredErrors(vc, keep_first, &fe);
	v = xmlRelaxNGValidateDoc(vc, doc);
	if (v == 0)
		rc = DMSC_PROFILE_OK;
	else if (fe.seen)
		rc = fail(err, DMSC_PROFILE_INVALID,
		          "%s:%ld: %s%s%sbreaks the profile schema (profile.rng):"
		          " %s", name, fe.line, fe.element[0] ? "<" : "",
		          fe.element, fe.element[0] ? ">: " : "", fe.message);
	else
		rc = fail(err, DMSC_PROFILE_INVALID,
		          "%s: does not follow the profile schema (profile.rng)",
		          name);
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(rng);
	return rc;
}

/* ---- The tree, once valid ---- */

static bool is_el(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       strcmp((const char *)n->ns->href, PROFILE_NS) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

/* A copy of attribute name (malloc), or NULL if absent or out of memory
 * (*nomem says which). */
static char *attr(const xmlNode *n, const char *name, bool *nomem)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	char *copy;

	if (v == NULL)
		return NULL;
	copy = strdup((const char *)v);
	if (copy == NULL)
		*nomem = true;
	/* A PIN may be in it. */
	OPENSSL_cleanse(v, (size_t)xmlStrlen(v));
	xmlFree(v);
	return copy;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct walk {
	const char *name;
	dmsc_profile_error *err;
	bool nomem;
};

static int read_secret(struct walk *w, const xmlNode *n,
                       struct dmsc_profile_secret *s)
{
	static const struct {
		const char *attr;
		enum dmsc_secret_source source;
	} kinds[] = {
		{ "value", DMSC_SECRET_VALUE },
		{ "env", DMSC_SECRET_ENV },
		{ "file", DMSC_SECRET_FILE },
	};

	s->line = xmlGetLineNo(n);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		s->ref = attr(n, kinds[i].attr, &w->nomem);
		if (s->ref != NULL) {
			s->source = kinds[i].source;
			return DMSC_PROFILE_OK;
		}
	}
	if (w->nomem)
		return fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	return fail(w->err, DMSC_PROFILE_INVALID,
	            "%s:%ld: <%s>: needs value=, env= or file=", w->name,
	            s->line, (const char *)n->name);
}

static int read_label_id(struct walk *w, const xmlNode *n,
                         struct dmsc_profile_item *it)
{
	char *hex = attr(n, "id", &w->nomem);
	size_t len = hex != NULL ? strlen(hex) : 0;

	it->label = attr(n, "label", &w->nomem);
	if (w->nomem) {
		free(hex);
		return fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	}
	if (hex == NULL)
		return DMSC_PROFILE_OK;
	/* The schema says hexBinary of 1 to 32 bytes; checked again here, as
	 * the bytes go into a fixed buffer. */
	if (len == 0 || len % 2 != 0 || len / 2 > DMSC_PROFILE_ID_MAX) {
		free(hex);
		return fail(w->err, DMSC_PROFILE_INVALID,
		            "%s:%ld: <%s>: id must be 1 to %u bytes in hex",
		            w->name, it->line, (const char *)n->name,
		            DMSC_PROFILE_ID_MAX);
	}
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

		if (hi < 0 || lo < 0) {
			free(hex);
			return fail(w->err, DMSC_PROFILE_INVALID,
			            "%s:%ld: <%s>: id is not hexadecimal",
			            w->name, it->line, (const char *)n->name);
		}
		it->id[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	it->id_len = len / 2;
	free(hex);
	return DMSC_PROFILE_OK;
}

static int read_key_spec(struct walk *w, const xmlNode *n,
                         struct dmsc_profile_item *it)
{
	char *type = attr(n, "type", &w->nomem);
	char *bits = attr(n, "bits", &w->nomem);
	char *curve = attr(n, "curve", &w->nomem);
	static const char *const curves[] = { "P-256", "P-384", "P-521" };
	int rc = DMSC_PROFILE_OK;

	if (w->nomem)
		rc = fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	else if (type != NULL && strcmp(type, "rsa") == 0 && bits != NULL) {
		it->key_type = DMSC_KEY_RSA;
		it->bits = (unsigned)strtoul(bits, NULL, 10);
	} else if (type != NULL && strcmp(type, "ec") == 0 && curve != NULL) {
		it->key_type = DMSC_KEY_EC;
		for (size_t i = 0; i < 3; i++)
			if (strcmp(curve, curves[i]) == 0)
				it->curve = curves[i];
	} else if (type != NULL && strcmp(type, "ed25519") == 0) {
		it->key_type = DMSC_KEY_ED25519;
	}
	if (rc == DMSC_PROFILE_OK &&
	    ((it->key_type == DMSC_KEY_RSA &&
	      (it->bits < 2048 || it->bits > 4096)) ||
	     (it->key_type == DMSC_KEY_EC && it->curve == NULL)))
		rc = fail(w->err, DMSC_PROFILE_INVALID,
		          "%s:%ld: <key>: an RSA key needs bits (2048, 3072, "
		          "4096), an EC key a curve (P-256, P-384, P-521)",
		          w->name, it->line);
	free(type);
	free(bits);
	free(curve);
	return rc;
}

static const struct {
	const char *element;
	enum dmsc_profile_item_kind kind;
} item_elements[] = {
	{ "key", DMSC_ITEM_KEY },
	{ "import-key", DMSC_ITEM_IMPORT_KEY },
	{ "ma-certificate", DMSC_ITEM_MA_CERT },
	{ "dm-credential", DMSC_ITEM_DM_CREDENTIAL },
	{ "mo", DMSC_ITEM_MO },
	{ "bootstrap", DMSC_ITEM_BOOTSTRAP },
};

static int read_item(struct walk *w, const xmlNode *n,
                     enum dmsc_profile_item_kind kind,
                     struct dmsc_profile_item *it)
{
	int rc = DMSC_PROFILE_OK;

	it->kind = kind;
	it->line = xmlGetLineNo(n);
	switch (kind) {
	case DMSC_ITEM_KEY:
		rc = read_label_id(w, n, it);
		if (rc == DMSC_PROFILE_OK)
			rc = read_key_spec(w, n, it);
		break;
	case DMSC_ITEM_IMPORT_KEY:
	case DMSC_ITEM_MA_CERT:
		rc = read_label_id(w, n, it);
		it->file = attr(n, "file", &w->nomem);
		break;
	case DMSC_ITEM_DM_CREDENTIAL:
		rc = read_label_id(w, n, it);
		if (rc == DMSC_PROFILE_OK)
			rc = read_secret(w, n, &it->secret);
		break;
	case DMSC_ITEM_MO:
		it->label = attr(n, "path", &w->nomem);
		it->file = attr(n, "file", &w->nomem);
		break;
	case DMSC_ITEM_BOOTSTRAP:
		it->file = attr(n, "file", &w->nomem);
		break;
	}
	if (rc == DMSC_PROFILE_OK && w->nomem)
		rc = fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	return rc;
}

/* The kinds that share a label namespace on the card: keys (generated
 * and imported: private and public key objects), certificates, secret
 * keys, data objects. */
static int label_class(enum dmsc_profile_item_kind k)
{
	switch (k) {
	case DMSC_ITEM_KEY:
	case DMSC_ITEM_IMPORT_KEY:
		return 0;
	case DMSC_ITEM_MA_CERT:
		return 1;
	case DMSC_ITEM_DM_CREDENTIAL:
		return 2;
	default:
		return 3;
	}
}

/* Two items that would be the same object on the card. */
static int check_unique(struct walk *w, const struct dmsc_profile_app *app)
{
	for (size_t i = 0; i < app->n_items; i++) {
		const struct dmsc_profile_item *a = &app->items[i];

		for (size_t j = 0; j < i; j++) {
			const struct dmsc_profile_item *b = &app->items[j];
			bool same_class = label_class(a->kind) ==
			                  label_class(b->kind);

			if (!same_class || a->kind == DMSC_ITEM_BOOTSTRAP)
				continue;
			if (a->label != NULL && b->label != NULL &&
			    strcmp(a->label, b->label) == 0)
				return fail(w->err, DMSC_PROFILE_INVALID,
				            "%s:%ld: label '%s' is already used "
				            "on line %ld in application '%s': "
				            "each object needs its own",
				            w->name, a->line, a->label, b->line,
				            app->label);
			if (a->id_len != 0 && a->id_len == b->id_len &&
			    memcmp(a->id, b->id, a->id_len) == 0)
				return fail(w->err, DMSC_PROFILE_INVALID,
				            "%s:%ld: this id is already used on "
				            "line %ld in application '%s': each "
				            "object needs its own", w->name,
				            a->line, b->line, app->label);
		}
	}
	return DMSC_PROFILE_OK;
}

static int read_app(struct walk *w, const xmlNode *n,
                    struct dmsc_profile_app *app)
{
	size_t count = 0;
	int rc;

	app->line = xmlGetLineNo(n);
	app->label = attr(n, "label", &w->nomem);
	if (w->nomem)
		return fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			count++;
	app->items = calloc(count + 1, sizeof *app->items);
	if (app->items == NULL)
		return fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		rc = DMSC_PROFILE_OK;
		if (is_el(c, "so-pin"))
			rc = read_secret(w, c, &app->so_pin);
		else if (is_el(c, "user-pin"))
			rc = read_secret(w, c, &app->user_pin);
		else
			for (size_t i = 0; i < sizeof item_elements /
			     sizeof item_elements[0]; i++)
				if (is_el(c, item_elements[i].element))
					rc = read_item(w, c,
					               item_elements[i].kind,
					               &app->items[app->n_items++]);
		if (rc != DMSC_PROFILE_OK)
			return rc;
	}
	if (app->so_pin.ref == NULL || app->user_pin.ref == NULL)
		return fail(w->err, DMSC_PROFILE_INVALID,
		            "%s:%ld: <application>: needs <so-pin> and "
		            "<user-pin>", w->name, app->line);
	return check_unique(w, app);
}

static int read_card(struct walk *w, const xmlNode *n, struct dmsc_profile *p)
{
	char *iccid = attr(n, "iccid", &w->nomem);
	char *imsi = attr(n, "imsi", &w->nomem);
	char *capacity = attr(n, "capacity", &w->nomem);
	int rc = DMSC_PROFILE_OK;

	p->card_line = xmlGetLineNo(n);
	if (w->nomem)
		rc = fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	else if (iccid == NULL || imsi == NULL || capacity == NULL ||
	         strlen(iccid) >= sizeof p->iccid ||
	         strlen(imsi) >= sizeof p->imsi)
		rc = fail(w->err, DMSC_PROFILE_INVALID,
		          "%s:%ld: <card>: needs iccid (18-20 digits), imsi "
		          "(6-15 digits) and capacity", w->name, p->card_line);
	else {
		strcpy(p->iccid, iccid);
		strcpy(p->imsi, imsi);
		p->capacity = strtoull(capacity, NULL, 10);
	}
	free(iccid);
	free(imsi);
	free(capacity);
	return rc;
}

static int read_tree(struct walk *w, const xmlNode *root,
                     struct dmsc_profile *p)
{
	size_t count = 0;
	int rc;

	for (const xmlNode *c = root->children; c != NULL; c = c->next)
		if (is_el(c, "application"))
			count++;
	p->apps = calloc(count + 1, sizeof *p->apps);
	if (p->apps == NULL)
		return fail(w->err, DMSC_PROFILE_NOMEM, "out of memory");
	for (const xmlNode *c = root->children; c != NULL; c = c->next) {
		if (is_el(c, "card")) {
			rc = read_card(w, c, p);
		} else if (is_el(c, "application")) {
			struct dmsc_profile_app *app = &p->apps[p->n_apps++];

			rc = read_app(w, c, app);
			for (size_t i = 0; rc == DMSC_PROFILE_OK &&
			     i + 1 < p->n_apps; i++)
				if (strcmp(p->apps[i].label, app->label) == 0)
					rc = fail(w->err, DMSC_PROFILE_INVALID,
					          "%s:%ld: application label "
					          "'%s' is already used on line "
					          "%ld: each application is a "
					          "token with its own label",
					          w->name, app->line, app->label,
					          p->apps[i].line);
		} else {
			continue;
		}
		if (rc != DMSC_PROFILE_OK)
			return rc;
	}
	if (p->n_apps == 0 || p->iccid[0] == '\0')
		return fail(w->err, DMSC_PROFILE_INVALID,
		            "%s: a profile needs <card> and an <application>",
		            w->name);
	return DMSC_PROFILE_OK;
}

/* PINs written in the profile (value="...") are secrets: wiped in the
 * tree before libxml2 frees it. */
static void wipe_values(xmlNodePtr n, unsigned depth)
{
	for (; n != NULL && depth < 8; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
			if (strcmp((const char *)a->name, "value") == 0)
				for (xmlNodePtr t = a->children; t != NULL;
				     t = t->next)
					if (t->content != NULL)
						OPENSSL_cleanse(t->content,
						                (size_t)xmlStrlen(
						                        t->content));
		wipe_values(n->children, depth + 1);
	}
}

static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == name)
		return strdup("/");
	return strndup(name, (size_t)(slash - name));
}

int dmsc_profile_parse(const char *name, const unsigned char *xml,
                       size_t len, const unsigned char *schema,
                       size_t schema_len, struct dmsc_profile **out,
                       dmsc_profile_error *err)
{
	struct walk w = { .name = name, .err = err };
	struct dmsc_profile *p = NULL;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	*out = NULL;
	if (len > DMSC_PROFILE_MAX_BYTES)
		return fail(err, DMSC_PROFILE_INVALID,
		            "%s: a profile may be %u bytes at most", name,
		            DMSC_PROFILE_MAX_BYTES);
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return fail(err, DMSC_PROFILE_NOMEM, "out of memory");
	/* No network, no entity substitution, no DTD loaded; errors come
	 * back here rather than on stderr. */
	doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, name, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR |
	                        XML_PARSE_NOWARNING);
	if (doc == NULL) {
		xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
		char msg[400];

		trim_message(msg, sizeof msg, e != NULL ? e->message : NULL);
		rc = fail(err, DMSC_PROFILE_INVALID,
		          "%s:%d: not well-formed XML: %s", name,
		          e != NULL ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return rc;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset != NULL) {
		rc = fail(err, DMSC_PROFILE_INVALID,
		          "%s:%ld: a DOCTYPE is not allowed in a profile "
		          "(remove it)", name,
		          xmlGetLineNo((xmlNodePtr)doc->intSubset));
		goto done;
	}
	rc = validate(name, doc, schema, schema_len, err);
	if (rc != DMSC_PROFILE_OK)
		goto done;
	root = xmlDocGetRootElement(doc);
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->name = strdup(name)) == NULL ||
	    (p->dir = dir_of(name)) == NULL) {
		rc = fail(err, DMSC_PROFILE_NOMEM, "out of memory");
		goto done;
	}
	rc = is_el(root, "profile") ? read_tree(&w, root, p)
	                            : fail(err, DMSC_PROFILE_INVALID,
	                                   "%s: the root is not <profile>",
	                                   name);
done:
	wipe_values(xmlDocGetRootElement(doc), 0);
	xmlFreeDoc(doc);
	if (rc != DMSC_PROFILE_OK) {
		dmsc_profile_free(p);
		return rc;
	}
	*out = p;
	return DMSC_PROFILE_OK;
}

const char *dmsc_profile_item_name(const struct dmsc_profile_item *it,
                                   char *buf, size_t len)
{
	switch (it->kind) {
	case DMSC_ITEM_KEY:
		snprintf(buf, len, "key pair '%s' (generated)", it->label);
		break;
	case DMSC_ITEM_IMPORT_KEY:
		snprintf(buf, len, "key pair '%s' (imported from %s)",
		         it->label, it->file);
		break;
	case DMSC_ITEM_MA_CERT:
		snprintf(buf, len, "MA certificate '%s' (trusted)", it->label);
		break;
	case DMSC_ITEM_DM_CREDENTIAL:
		snprintf(buf, len, "DM credential '%s'", it->label);
		break;
	case DMSC_ITEM_MO:
		snprintf(buf, len, "MO %s", it->label);
		break;
	case DMSC_ITEM_BOOTSTRAP:
		snprintf(buf, len, "DM bootstrap (from %s)", it->file);
		break;
	}
	return buf;
}

static void secret_free(struct dmsc_profile_secret *s)
{
	if (s->ref != NULL) {
		OPENSSL_cleanse(s->ref, strlen(s->ref));
		free(s->ref);
	}
	if (s->bytes != NULL) {
		OPENSSL_cleanse(s->bytes, s->len);
		free(s->bytes);
	}
	s->ref = NULL;
	s->bytes = NULL;
	s->len = 0;
}

void dmsc_profile_free(struct dmsc_profile *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_apps; i++) {
		struct dmsc_profile_app *app = &p->apps[i];

		for (size_t j = 0; j < app->n_items; j++) {
			struct dmsc_profile_item *it = &app->items[j];

			free(it->label);
			free(it->file);
			secret_free(&it->secret);
			free(it->value);
			EVP_PKEY_free(it->pkey);
			X509_free(it->cert);
		}
		free(app->items);
		free(app->label);
		secret_free(&app->so_pin);
		secret_free(&app->user_pin);
	}
	free(p->apps);
	free(p->name);
	free(p->dir);
	free(p);
}
