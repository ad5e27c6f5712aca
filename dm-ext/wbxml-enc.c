/*
 * dm-ext/wbxml-enc.c - encode a DM message or TNDS tree as WBXML (see
 * wbxml-enc.h).  Tokens come from wbxml-pages.c, the decoder's tables.
 *
 * The walk recurses once per element level, bounded by
 * DMSC_WBXML_ENC_MAX_DEPTH whatever tree it is given; the output grows in
 * one buffer bounded by DMSC_WBXML_ENC_MAX_OUTPUT.
 */
#include "wbxml-enc.h"

#include "wbxml-pages.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBXML_VERSION_1_3 0x03u
#define CHARSET_UTF8      106u

struct encoder {
	unsigned char *buf;
	size_t len;
	size_t cap;
	int status;
	dmsc_wbxml_enc_error *err;
	const struct dmsc_wbxml_doctype *type;
	unsigned page;             /* the tag code page in force */
};

static int refuse(struct encoder *e, const xmlNode *node, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

static int refuse(struct encoder *e, const xmlNode *node, const char *fmt,
                  ...)
{
	va_list ap;

	if (e->status != DMSC_WBXML_ENC_OK)
		return e->status;
	e->status = DMSC_WBXML_ENC_REFUSED;
	if (e->err != NULL) {
		e->err->line = node != NULL ? xmlGetLineNo(node) : 0;
		if (e->err->line < 0)
			e->err->line = 0;
		va_start(ap, fmt);
		vsnprintf(e->err->message, sizeof e->err->message, fmt, ap);
		va_end(ap);
	}
	return e->status;
}

static int nomem(struct encoder *e)
{
	if (e->status == DMSC_WBXML_ENC_OK) {
		e->status = DMSC_WBXML_ENC_NOMEM;
		if (e->err != NULL) {
			e->err->line = 0;
			snprintf(e->err->message, sizeof e->err->message,
			         "out of memory");
		}
	}
	return e->status;
}

static int put(struct encoder *e, const void *data, size_t n)
{
	if (e->status != DMSC_WBXML_ENC_OK)
		return e->status;
	if (n > DMSC_WBXML_ENC_MAX_OUTPUT - e->len)
		return refuse(e, NULL, "the WBXML would be longer than %u bytes",
		              DMSC_WBXML_ENC_MAX_OUTPUT);
	if (e->len + n > e->cap) {
		size_t cap = e->cap == 0 ? 256 : e->cap;
		unsigned char *nb;

		while (cap < e->len + n)
			cap *= 2;
		nb = realloc(e->buf, cap);
		if (nb == NULL)
			return nomem(e);
		e->buf = nb;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, data, n);
	e->len += n;
	return 0;
}

static int put_u8(struct encoder *e, unsigned v)
{
	unsigned char b = (unsigned char)v;

	return put(e, &b, 1);
}

/* mb_u_int32: 7 bits a byte, most significant first, bit 7 on all but the
 * last byte. */
static int put_mb(struct encoder *e, uint32_t v)
{
	unsigned char tmp[5];
	size_t n = 0;

	do {
		tmp[n++] = (unsigned char)(v & 0x7Fu);
		v >>= 7;
	} while (v != 0);
	for (size_t i = n; i > 0; i--)
		if (put_u8(e, tmp[i - 1] | (i > 1 ? 0x80u : 0)) != 0)
			return e->status;
	return 0;
}

static bool is_ns(const xmlNs *ns, const char *href)
{
	return ns != NULL && ns->href != NULL &&
	       strcmp((const char *)ns->href, href) == 0;
}

/* The document type whose first page is the root's namespace. */
static const struct dmsc_wbxml_doctype *type_of_root(const xmlNode *root)
{
	for (size_t i = 0; i < dmsc_wbxml_doctype_count; i++) {
		const struct dmsc_wbxml_doctype *t = &dmsc_wbxml_doctypes[i];

		if (is_ns(root->ns, t->pages[0]->ns) &&
		    dmsc_wbxml_page_token(t->pages[0],
		                          (const char *)root->name) != 0)
			return t;
	}
	return NULL;
}

static int write_header(struct encoder *e)
{
	const char *text = e->type->public_text;

	if (put_u8(e, WBXML_VERSION_1_3) != 0)
		return e->status;
	if (e->type->public_id != 0) {
		/* Known by number: no string table needed. */
		put_mb(e, e->type->public_id);
		put_mb(e, CHARSET_UTF8);
		return put_mb(e, 0);
	}
	/* Public ID 0, then the index of its formal text in the table. */
	put_mb(e, 0);
	put_mb(e, 0);
	put_mb(e, CHARSET_UTF8);
	put_mb(e, (uint32_t)strlen(text) + 1);
	return put(e, text, strlen(text) + 1);
}

/* The tag token of element, switching code page first if its namespace
 * is on another page. */
static int tag_token(struct encoder *e, const xmlNode *el, unsigned *tok)
{
	const char *name = (const char *)el->name;
	const struct dmsc_wbxml_page *cur = e->type->pages[e->page];

	if (el->ns == NULL || el->ns->href == NULL)
		return refuse(e, el, "element <%s> has no namespace: a DM "
		              "element is in the namespace of its DTD (e.g. "
		              "SYNCML:SYNCML1.2, syncml:metinf)", name);
	if (cur != NULL && is_ns(el->ns, cur->ns) &&
	    (*tok = dmsc_wbxml_page_token(cur, name)) != 0)
		return 0;
	for (unsigned i = 0; i < DMSC_WBXML_PAGE_COUNT; i++) {
		const struct dmsc_wbxml_page *pg = e->type->pages[i];

		if (pg == NULL || !is_ns(el->ns, pg->ns))
			continue;
		*tok = dmsc_wbxml_page_token(pg, name);
		if (*tok == 0)
			return refuse(e, el, "element <%s> is not defined in "
			              "%s (namespace %s)", name, pg->name,
			              pg->ns);
		e->page = i;
		put_u8(e, WBXML_TOK_SWITCH_PAGE);
		return put_u8(e, i);
	}
	return refuse(e, el, "element <%s> is in namespace %s, which %s "
	              "has no code page for", name,
	              (const char *)el->ns->href, e->type->name);
}

static bool is_text(const xmlNode *n)
{
	return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static bool skipped(const xmlNode *n)
{
	return n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE;
}

static bool has_element_child(const xmlNode *el)
{
	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return true;
	return false;
}

/* True if the run of text (comments between its pieces left out) from
 * first up to the next element is XML whitespace only. */
static bool run_is_blank(const xmlNode *first)
{
	for (const xmlNode *n = first; n != NULL && !(n->type ==
	     XML_ELEMENT_NODE); n = n->next) {
		if (!is_text(n) || n->content == NULL)
			continue;
		for (const xmlChar *s = n->content; *s != '\0'; s++)
			if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
				return false;
	}
	return true;
}

static int write_text(struct encoder *e, const xmlNode *n)
{
	const xmlChar *s = n->content != NULL ? n->content : BAD_CAST "";

	/* XML text never holds NUL; STR_I ends at one. */
	put_u8(e, WBXML_TOK_STR_I);
	return put(e, s, (size_t)xmlStrlen(s) + 1);
}

static int write_element(struct encoder *e, const xmlNode *el, unsigned depth);

static int write_content(struct encoder *e, const xmlNode *el, unsigned depth)
{
	bool drop_blank = has_element_child(el);
	bool in_run = false, keep_run = true;

	for (const xmlNode *c = el->children; c != NULL; c = c->next) {
		if (e->status != DMSC_WBXML_ENC_OK)
			return e->status;
		if (c->type == XML_ELEMENT_NODE) {
			in_run = false;
			write_element(e, c, depth + 1);
		} else if (is_text(c)) {
			if (!in_run) {
				in_run = true;
				keep_run = !drop_blank || !run_is_blank(c);
			}
			if (keep_run && c->content != NULL && *c->content != 0)
				write_text(e, c);
		} else if (!skipped(c)) {
			return refuse(e, c, "in <%s>: a node of XML type %d "
			              "(an entity reference?) cannot be written "
			              "as WBXML", (const char *)el->name,
			              (int)c->type);
		}
	}
	return e->status;
}

static int write_element(struct encoder *e, const xmlNode *el, unsigned depth)
{
	unsigned tok = 0;
	bool content;

	if (depth > DMSC_WBXML_ENC_MAX_DEPTH)
		return refuse(e, el, "elements nested deeper than %u",
		              DMSC_WBXML_ENC_MAX_DEPTH);
	if (el->properties != NULL)
		return refuse(e, el, "element <%s> has an attribute (%s): OMA "
		              "DM defines none, and they are not encoded",
		              (const char *)el->name,
		              (const char *)el->properties->name);
	if (tag_token(e, el, &tok) != 0)
		return e->status;
	content = false;
	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE ||
		    (is_text(c) && c->content != NULL && *c->content != 0 &&
		     !(has_element_child(el) && run_is_blank(c))))
			content = true;
	if (put_u8(e, tok | (content ? WBXML_TAG_HAS_CONTENT : 0)) != 0 ||
	    !content)
		return e->status;
	if (write_content(e, el, depth) != 0)
		return e->status;
	return put_u8(e, WBXML_TOK_END);
}

int dmsc_wbxml_encode(xmlDocPtr doc, unsigned char **out, size_t *out_len,
                      dmsc_wbxml_enc_error *err)
{
	struct encoder e = { .err = err, .status = DMSC_WBXML_ENC_OK };
	xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;

	*out = NULL;
	*out_len = 0;
	if (err != NULL) {
		err->line = 0;
		err->message[0] = '\0';
	}
	if (root == NULL)
		return refuse(&e, NULL, "the document has no root element");
	e.type = type_of_root(root);
	if (e.type == NULL)
		return refuse(&e, root, "root element <%s> in namespace %s is "
		              "not a SyncML DM message or TNDS document",
		              (const char *)root->name,
		              root->ns != NULL ? (const char *)root->ns->href
		                               : "(none)");
	write_header(&e);
	write_element(&e, root, 1);
	if (e.status != DMSC_WBXML_ENC_OK) {
		free(e.buf);
		return e.status;
	}
	*out = e.buf;
	*out_len = e.len;
	return DMSC_WBXML_ENC_OK;
}
