/*
 * dm-ext/dmmsg.c - reading OMA DM messages (XML or WBXML) into a libxml2
 * tree, for untrusted input (see dmmsg.h).
 *
 * XML: libxml2's parser, driven through a parser context of our own whose
 * SAX handler is libxml2's tree builder with a few callbacks replaced:
 *   - element start/end count elements and depth, and check the root, so
 *     a limit stops the parser at once, with the byte offset;
 *   - every declaration callback of the internal subset refuses it, and
 *     the entity reference callback refuses the reference: nothing is ever
 *     declared, so nothing can be expanded or loaded;
 *   - external subset and entity resolution do nothing: even if an option
 *     asked for it, no DTD or entity would be read.
 * Options: XML_PARSE_NONET (belt and braces), XML_PARSE_NOCDATA (CDATA is
 * text, as canonical XML has it), XML_PARSE_BIG_LINES (true line numbers
 * past 65535); never XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR,
 * XML_PARSE_XINCLUDE or XML_PARSE_HUGE.  The first error or warning
 * libxml2 reports is kept, with its line and byte offset, and fails the
 * parse.  libxml2 reports some errors without a parser context (character
 * conversion) or only through its generic handler (its list and hash code
 * out of memory): the per-thread structured and generic handlers are set
 * for the call, so those land here too and never on stderr.
 */
#include "dmmsg.h"

#include "wbxml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

int dmsc_dm_fail(dmsc_dm_error *err, int status, size_t offset, int line,
                 const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return status;
	err->offset = offset;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return status;
}

void dmsc_dm_limits_default(dmsc_dm_limits *lim)
{
	lim->max_input = DMSC_DM_DEFAULT_MAX_INPUT;
	lim->max_depth = DMSC_DM_DEFAULT_MAX_DEPTH;
	lim->max_elements = DMSC_DM_DEFAULT_MAX_ELEMENTS;
}

/* Zero fields take the default; the input is capped for libxml2's int
 * lengths and the depth for its own nesting limit. */
static void effective_limits(const dmsc_dm_limits *given, dmsc_dm_limits *lim)
{
	dmsc_dm_limits_default(lim);
	if (given != NULL) {
		if (given->max_input != 0)
			lim->max_input = given->max_input;
		if (given->max_depth != 0)
			lim->max_depth = given->max_depth;
		if (given->max_elements != 0)
			lim->max_elements = given->max_elements;
	}
	if (lim->max_input > DMSC_DM_MAX_INPUT_CAP)
		lim->max_input = DMSC_DM_MAX_INPUT_CAP;
	if (lim->max_depth > 256)
		lim->max_depth = 256;
}

/* ---- Sniffing ---- */

static bool xml_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dmsc_dm_sniff(const unsigned char *buf, size_t len, bool final)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	size_t n = len < DMSC_DM_SNIFF_MAX ? len : DMSC_DM_SNIFF_MAX;
	bool whole = final || len >= DMSC_DM_SNIFF_MAX;
	size_t i = 0;

	if (buf == NULL)
		n = 0;
	/* XML: optional whitespace, then '<' or a byte-order mark. */
	while (i < n && xml_space(buf[i]))
		i++;
	if (i < n) {
		size_t left = n - i;

		if (buf[i] == '<')
			return DMSC_DM_XML;
		if (memcmp(buf + i, bom, left < 3 ? left : 3) == 0) {
			if (left >= 3)
				return DMSC_DM_XML;
			if (!whole)
				return -1;  /* a partial byte-order mark */
		}
	} else if (!whole) {
		return -1;          /* only whitespace so far */
	}
	/* WBXML: the header decides; it cannot start with whitespace, '<'
	 * or 0xEF (its first byte is the version, 1-3). */
	if (n > 0 && buf[0] >= 0x01 && buf[0] <= 0x03) {
		if (dmsc_wbxml_looks_like(buf, n))
			return DMSC_DM_WBXML;
		if (!whole)
			return -1;      /* the header may not be complete yet */
	}
	return DMSC_DM_OPAQUE;
}

dmsc_dm_repr dmsc_dm_detect(const unsigned char *buf, size_t len)
{
	return (dmsc_dm_repr)dmsc_dm_sniff(buf, len, true);
}

/* ---- The root element ---- */

static bool ns_is(const xmlChar *uri, const char *want)
{
	return uri != NULL && strcmp((const char *)uri, want) == 0;
}

/* The kind of document a root element starts, 0 if none. */
static int root_kind(const xmlChar *localname, const xmlChar *uri)
{
	if (strcmp((const char *)localname, "SyncML") == 0) {
		if (ns_is(uri, DMSC_DM_NS_SYNCML11))
			return DMSC_DM_SYNCML11;
		if (ns_is(uri, DMSC_DM_NS_SYNCML12))
			return DMSC_DM_SYNCML12;
	} else if (strcmp((const char *)localname, "MgmtTree") == 0) {
		if (ns_is(uri, DMSC_DM_NS_DMDDF12))
			return DMSC_DM_TNDS;
	}
	return 0;
}

static int refuse_root(dmsc_dm_error *err, size_t offset, int line,
                       const xmlChar *localname, const xmlChar *uri)
{
	return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, offset, line,
	                    "root element <%.40s> in namespace \"%.40s\": "
	                    "expected <SyncML> in " DMSC_DM_NS_SYNCML11 " or "
	                    DMSC_DM_NS_SYNCML12 ", or <MgmtTree> in "
	                    DMSC_DM_NS_DMDDF12, (const char *)localname,
	                    uri != NULL ? (const char *)uri : "");
}

/* ---- XML ---- */

struct xml_reader {
	dmsc_dm_limits lim;
	dmsc_dm_error *err;
	int status;               /* first failure, DMSC_DM_OK until then */
	size_t depth;
	size_t elements;
	int kind;
	xmlParserCtxtPtr ctxt;
	startElementNsSAX2Func start_element;  /* libxml2's tree builder */
	endElementNsSAX2Func end_element;
	/* Reading as events (dmsc_dm_read()): the consumer, instead of the
	 * tree builder; stopped once it has failed. */
	const dmsc_dm_events *ev;
	void *ev_ctx;
	bool ev_stopped;
	dmsc_dm_attr *attrs;      /* one element's attributes, reused */
	size_t attrs_cap;
};

/* Where the parser is, in input bytes.  Only without an encoding
 * conversion: then input and parser bytes are the same (UTF-8 and its
 * byte-order mark need none).  xmlByteConsumed() would map a converted
 * position back, but from inside an error callback it may read a buffer
 * being reallocated (found by fuzzing: an error raised by the converter
 * itself), so with a conversion the offset is found afterwards from the
 * line (line_start()). */
static size_t xml_offset(xmlParserCtxtPtr ctxt)
{
	const xmlParserInput *in = ctxt->input;

	if (in == NULL || in->cur == NULL || in->base == NULL ||
	    (in->buf != NULL && in->buf->encoder != NULL))
		return DMSC_DM_NO_OFFSET;
	return in->consumed + (size_t)(in->cur - in->base);
}

/* The offset of the first byte of a line, counting line feeds as
 * libxml2 does: exact for encodings that keep ASCII's LF in one byte (the
 * ISO 8859 family), an estimate for others. */
static size_t line_start(const unsigned char *buf, size_t len, int line)
{
	size_t i = 0;

	for (int n = 1; n < line && i < len; n++) {
		const unsigned char *lf = memchr(buf + i, '\n', len - i);

		i = lf != NULL ? (size_t)(lf - buf) + 1 : len;
	}
	return i;
}

static int xml_line(xmlParserCtxtPtr ctxt)
{
	return ctxt->input != NULL ? ctxt->input->line : 0;
}

/* Record the first failure and stop the parser. */
static void xml_fail(struct xml_reader *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void xml_fail(struct xml_reader *r, int status, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof r->err->message];

	if (r->status == DMSC_DM_OK) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		r->status = dmsc_dm_fail(r->err, status, xml_offset(r->ctxt),
		                         xml_line(r->ctxt), "%s", msg);
	}
	xmlStopParser(r->ctxt);
}

static struct xml_reader *reader_of(void *ctx)
{
	return ((xmlParserCtxtPtr)ctx)->_private;
}

/* libxml2's report of an error or warning: the first one fails the parse. */
static void xml_report(struct xml_reader *r, const xmlError *e)
{
	char text[160], where[40];
	size_t n;
	int status = DMSC_DM_MALFORMED;
	int line;

	if (r->status != DMSC_DM_OK || e == NULL)
		return;
	/* Errors raised without the parser context (the character
	 * converter's) carry no position: the parser's line then. */
	line = e->line > 0 ? e->line : xml_line(r->ctxt);
	if (e->int2 > 0)
		snprintf(where, sizeof where, "line %d, column %d", line, e->int2);
	else
		snprintf(where, sizeof where, "line %d", line);
	snprintf(text, sizeof text, "%s",
	         e->message != NULL ? e->message : "unknown error");
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (e->code == XML_ERR_NO_MEMORY) {
		status = DMSC_DM_NOMEM;
	} else if (e->level == XML_ERR_WARNING) {
		status = DMSC_DM_UNSUPPORTED;
	}
	if (status == DMSC_DM_NOMEM)
		r->status = dmsc_dm_fail(r->err, status, xml_offset(r->ctxt),
		                         line, "out of memory");
	else
		r->status = dmsc_dm_fail(r->err, status, xml_offset(r->ctxt),
		                         line, "%s: %s%s", where, text,
		                         e->level == XML_ERR_WARNING ?
		                         " (a parser warning: refused)" : "");
	/* No xmlStopParser() here: errors are fatal to libxml2 already, and
	 * after a warning it may finish; the document is thrown away. */
}

/* The parser context's structured handler: ctx is the parser context. */
static void xml_ctxt_error(void *ctx, xmlErrorPtr e)
{
	xml_report(reader_of(ctx), e);
}

/* The per-thread handler, for errors raised without a parser context. */
static void xml_global_error(void *ctx, xmlErrorPtr e)
{
	xml_report(ctx, e);
}

/* Some libxml2 2.9 code reports only through the generic handler (its
 * list and hash code when out of memory) and goes on: such a report fails
 * the parse as well. */
static void xml_generic_error(void *ctx, const char *msg, ...)
	__attribute__((format(printf, 2, 3)));

static void xml_generic_error(void *ctx, const char *msg, ...)
{
	struct xml_reader *r = ctx;
	char text[160];
	va_list ap;

	if (r->status != DMSC_DM_OK)
		return;
	va_start(ap, msg);
	vsnprintf(text, sizeof text, msg, ap);
	va_end(ap);
	text[strcspn(text, "\n")] = '\0';
	if (strstr(text, "memory") != NULL)
		r->status = dmsc_dm_fail(r->err, DMSC_DM_NOMEM, xml_offset(r->ctxt),
		                         xml_line(r->ctxt), "out of memory");
	else
		r->status = dmsc_dm_fail(r->err, DMSC_DM_MALFORMED,
		                         xml_offset(r->ctxt), xml_line(r->ctxt),
		                         "libxml2: %s", text);
}

/* An element start as an event.  libxml2 hands attribute values over
 * with each '&' as "&#38;" still to replace (its tree builder does that
 * later, with the function used here); every other reference is replaced
 * already, or refused (no entity is ever declared). */
static void xml_start_event(struct xml_reader *r, const xmlChar *localname,
                            const xmlChar *prefix, const xmlChar *uri,
                            int nb_attributes, const xmlChar **attributes)
{
	size_t n = nb_attributes > 0 ? (size_t)nb_attributes : 0;
	xmlChar **decoded = NULL;
	int rc;

	if (r->ev_stopped)
		return;
	if (n > r->attrs_cap) {
		dmsc_dm_attr *grown = xmlRealloc(r->attrs, n * sizeof *grown);

		if (grown == NULL) {
			xml_fail(r, DMSC_DM_NOMEM, "out of memory");
			return;
		}
		r->attrs = grown;
		r->attrs_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const xmlChar **a = attributes + 5 * i;
		dmsc_dm_attr *at = &r->attrs[i];

		at->local = (const char *)a[0];
		at->prefix = (const char *)a[1];
		at->uri = (const char *)a[2];
		at->value = a[3];
		at->len = (size_t)(a[4] - a[3]);
		if (memchr(a[3], '&', at->len) == NULL)
			continue;
		if (decoded == NULL) {
			decoded = xmlMalloc(n * sizeof *decoded);
			if (decoded != NULL)
				memset(decoded, 0, n * sizeof *decoded);
		}
		if (decoded != NULL) {
			decoded[i] = xmlStringLenDecodeEntities(r->ctxt, a[3],
			                                        (int)at->len,
			                                        XML_SUBSTITUTE_REF,
			                                        0, 0, 0);
		}
		if (decoded == NULL || decoded[i] == NULL) {
			xml_fail(r, DMSC_DM_NOMEM, "out of memory");
			goto done;
		}
		at->value = decoded[i];
		at->len = (size_t)xmlStrlen(decoded[i]);
	}
	rc = r->ev->start(r->ev_ctx, (const char *)localname,
	                  (const char *)prefix, (const char *)uri, r->attrs, n,
	                  xml_line(r->ctxt));
	if (rc != 0)
		r->ev_stopped = true;
done:
	if (decoded != NULL) {
		for (size_t i = 0; i < n; i++)
			xmlFree(decoded[i]);
		xmlFree(decoded);
	}
}

static void xml_start_element(void *ctx, const xmlChar *localname,
                              const xmlChar *prefix, const xmlChar *uri,
                              int nb_namespaces, const xmlChar **namespaces,
                              int nb_attributes, int nb_defaulted,
                              const xmlChar **attributes)
{
	struct xml_reader *r = reader_of(ctx);

	if (r->status != DMSC_DM_OK)
		return;
	if (r->depth == 0 && r->elements == 0) {
		r->kind = root_kind(localname, uri);
		if (r->kind == 0) {
			r->status = refuse_root(r->err, xml_offset(r->ctxt),
			                        xml_line(r->ctxt), localname, uri);
			xmlStopParser(r->ctxt);
			return;
		}
	}
	if (++r->depth > r->lim.max_depth) {
		xml_fail(r, DMSC_DM_LIMIT, "line %d: <%.40s> nests elements "
		         "deeper than max_depth (%zu)", xml_line(r->ctxt),
		         (const char *)localname, r->lim.max_depth);
		return;
	}
	if (++r->elements > r->lim.max_elements) {
		xml_fail(r, DMSC_DM_LIMIT, "line %d: more elements than "
		         "max_elements (%zu)", xml_line(r->ctxt),
		         r->lim.max_elements);
		return;
	}
	if (r->ev != NULL)
		xml_start_event(r, localname, prefix, uri, nb_attributes,
		                attributes);
	else
		r->start_element(ctx, localname, prefix, uri, nb_namespaces,
		                 namespaces, nb_attributes, nb_defaulted,
		                 attributes);
}

static void xml_end_element(void *ctx, const xmlChar *localname,
                            const xmlChar *prefix, const xmlChar *uri)
{
	struct xml_reader *r = reader_of(ctx);

	if (r->status != DMSC_DM_OK)
		return;
	r->depth--;
	if (r->ev == NULL)
		r->end_element(ctx, localname, prefix, uri);
	else if (!r->ev_stopped && r->ev->end(r->ev_ctx) != 0)
		r->ev_stopped = true;
}

static void xml_characters(void *ctx, const xmlChar *ch, int len)
{
	struct xml_reader *r = reader_of(ctx);

	if (r->status != DMSC_DM_OK || r->ev_stopped || len <= 0)
		return;
	if (r->ev->text(r->ev_ctx, ch, (size_t)len, false) != 0)
		r->ev_stopped = true;
}

static void refuse_declaration(void *ctx, const char *what,
                               const xmlChar *name)
{
	struct xml_reader *r = reader_of(ctx);

	xml_fail(r, DMSC_DM_UNSUPPORTED, "line %d: the DOCTYPE's internal "
	         "subset declares %s '%.40s': expected no declarations (DTDs "
	         "are never read, entities never expanded)", xml_line(r->ctxt),
	         what, name != NULL ? (const char *)name : "");
}

static void xml_entity_decl(void *ctx, const xmlChar *name, int type,
                            const xmlChar *public_id, const xmlChar *system_id,
                            xmlChar *content)
{
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	refuse_declaration(ctx, "entity", name);
}

static void xml_unparsed_entity_decl(void *ctx, const xmlChar *name,
                                     const xmlChar *public_id,
                                     const xmlChar *system_id,
                                     const xmlChar *notation)
{
	(void)public_id;
	(void)system_id;
	(void)notation;
	refuse_declaration(ctx, "entity", name);
}

static void xml_notation_decl(void *ctx, const xmlChar *name,
                              const xmlChar *public_id,
                              const xmlChar *system_id)
{
	(void)public_id;
	(void)system_id;
	refuse_declaration(ctx, "notation", name);
}

static void xml_attribute_decl(void *ctx, const xmlChar *elem,
                               const xmlChar *fullname, int type, int def,
                               const xmlChar *default_value,
                               xmlEnumerationPtr tree)
{
	(void)elem;
	(void)type;
	(void)def;
	(void)default_value;
	/* The callee owns the enumeration. */
	xmlFreeEnumeration(tree);
	refuse_declaration(ctx, "attribute", fullname);
}

static void xml_element_decl(void *ctx, const xmlChar *name, int type,
                             xmlElementContentPtr content)
{
	(void)type;
	(void)content;
	refuse_declaration(ctx, "element", name);
}

static void xml_reference(void *ctx, const xmlChar *name)
{
	struct xml_reader *r = reader_of(ctx);

	xml_fail(r, DMSC_DM_UNSUPPORTED, "line %d: reference to entity "
	         "&%.40s;: expected text or one of the five predefined "
	         "entities (entities are never expanded)", xml_line(r->ctxt),
	         (const char *)name);
}

static void xml_external_subset(void *ctx, const xmlChar *name,
                                const xmlChar *external_id,
                                const xmlChar *system_id)
{
	/* Never read: the DOCTYPE of a DM message names a DTD on the web. */
	(void)ctx;
	(void)name;
	(void)external_id;
	(void)system_id;
}

static xmlParserInputPtr xml_resolve_entity(void *ctx, const xmlChar *public_id,
                                            const xmlChar *system_id)
{
	struct xml_reader *r = reader_of(ctx);

	(void)public_id;
	xml_fail(r, DMSC_DM_UNSUPPORTED, "line %d: the document asks to load "
	         "\"%.60s\": expected nothing from outside the message",
	         xml_line(r->ctxt),
	         system_id != NULL ? (const char *)system_id : "");
	return NULL;
}

/* Into a tree (*out), or, with ev, into ev's calls (out NULL). */
static int parse_xml(const unsigned char *buf, size_t len,
                     const dmsc_dm_limits *lim, xmlDocPtr *out,
                     const dmsc_dm_events *ev, void *ev_ctx,
                     dmsc_dm_kind *kind, dmsc_dm_error *err)
{
	struct xml_reader r = { .lim = *lim, .err = err, .ev = ev,
	                        .ev_ctx = ev_ctx };
	xmlStructuredErrorFunc saved_handler = xmlStructuredError;
	void *saved_context = xmlStructuredErrorContext;
	xmlGenericErrorFunc saved_generic = xmlGenericError;
	void *saved_generic_context = xmlGenericErrorContext;
	xmlSAXHandlerPtr sax;
	xmlDocPtr doc;

	r.ctxt = xmlNewParserCtxt();
	if (r.ctxt == NULL || r.ctxt->sax == NULL) {
		xmlFreeParserCtxt(r.ctxt);
		return dmsc_dm_fail(err, DMSC_DM_NOMEM, 0, 0, "out of memory");
	}
	r.ctxt->_private = &r;
	sax = r.ctxt->sax;
	r.start_element = sax->startElementNs;
	r.end_element = sax->endElementNs;
	sax->startElementNs = xml_start_element;
	sax->endElementNs = xml_end_element;
	sax->entityDecl = xml_entity_decl;
	sax->unparsedEntityDecl = xml_unparsed_entity_decl;
	sax->notationDecl = xml_notation_decl;
	sax->attributeDecl = xml_attribute_decl;
	sax->elementDecl = xml_element_decl;
	sax->reference = xml_reference;
	sax->externalSubset = xml_external_subset;
	sax->resolveEntity = xml_resolve_entity;
	sax->serror = xml_ctxt_error;
	if (ev != NULL) {
		/* Text to the consumer; comments and processing instructions
		 * are not in the canonical form and give no event. */
		sax->characters = xml_characters;
		sax->ignorableWhitespace = xml_characters;
		sax->comment = NULL;
		sax->processingInstruction = NULL;
	}

	xmlSetStructuredErrorFunc(&r, xml_global_error);
	xmlSetGenericErrorFunc(&r, xml_generic_error);
	doc = xmlCtxtReadMemory(r.ctxt, (const char *)buf, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOCDATA |
	                        XML_PARSE_BIG_LINES);
	xmlSetGenericErrorFunc(saved_generic_context, saved_generic);
	xmlSetStructuredErrorFunc(saved_context, saved_handler);

	if (r.status == DMSC_DM_OK && (doc == NULL || !r.ctxt->wellFormed))
		r.status = dmsc_dm_fail(err, DMSC_DM_MALFORMED, xml_offset(r.ctxt),
		                        xml_line(r.ctxt), "not well-formed XML");
	if (r.status == DMSC_DM_OK && r.kind == 0)
		r.status = dmsc_dm_fail(err, DMSC_DM_MALFORMED, xml_offset(r.ctxt),
		                        xml_line(r.ctxt), "no root element");
	xmlFreeParserCtxt(r.ctxt);
	xmlFree(r.attrs);
	if (ev != NULL) {
		/* Only the document node and its DTD node were built. */
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (r.status != DMSC_DM_OK) {
		if (err != NULL && err->offset == DMSC_DM_NO_OFFSET &&
		    err->line > 0)
			err->offset = line_start(buf, len, err->line);
		xmlFreeDoc(doc);
		return r.status;
	}
	if (out != NULL)
		*out = doc;
	if (kind != NULL)
		*kind = (dmsc_dm_kind)r.kind;
	return DMSC_DM_OK;
}

/* ---- WBXML ---- */

/* The decoder's limits for a message's. */
static void wbxml_limits(const dmsc_dm_limits *lim, dmsc_wbxml_limits *wl)
{
	dmsc_wbxml_limits_default(wl);
	wl->max_input = lim->max_input;
	wl->max_depth = lim->max_depth;
	wl->max_elements = lim->max_elements;
	/* Binary OPAQUE grows by a third as base64: let a message of
	 * max_input bytes be all binary. */
	if (wl->max_output < lim->max_input / 3 * 4 + 4)
		wl->max_output = lim->max_input / 3 * 4 + 4;
}

/* A decoder failure as a reader status. */
static int wbxml_status(int rc, const dmsc_wbxml_error *we,
                        dmsc_dm_error *err)
{
	switch (rc) {
	case DMSC_WBXML_UNSUPPORTED:
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, we->offset, 0,
		                    "WBXML byte %zu: %s", we->offset, we->message);
	case DMSC_WBXML_LIMIT:
		return dmsc_dm_fail(err, DMSC_DM_LIMIT, we->offset, 0,
		                    "WBXML byte %zu: %s", we->offset, we->message);
	case DMSC_WBXML_NOMEM:
		return dmsc_dm_fail(err, DMSC_DM_NOMEM, we->offset, 0,
		                    "out of memory");
	default:
		return dmsc_dm_fail(err, DMSC_DM_MALFORMED, we->offset, 0,
		                    "WBXML byte %zu: %s", we->offset, we->message);
	}
}

static int parse_wbxml(const unsigned char *buf, size_t len,
                       const dmsc_dm_limits *lim, xmlDocPtr *out,
                       dmsc_dm_kind *kind, dmsc_dm_error *err)
{
	dmsc_wbxml_limits wl;
	dmsc_wbxml_error we;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc, k;

	wbxml_limits(lim, &wl);
	rc = dmsc_wbxml_decode(buf, len, &wl, &doc, &we);
	if (rc != DMSC_WBXML_OK)
		return wbxml_status(rc, &we, err);
	root = xmlDocGetRootElement(doc);
	k = root_kind(root->name, root->ns != NULL ? root->ns->href : NULL);
	if (k == 0) {
		rc = refuse_root(err, 0, 0, root->name,
		                 root->ns != NULL ? root->ns->href : NULL);
		xmlFreeDoc(doc);
		return rc;
	}
	*out = doc;
	if (kind != NULL)
		*kind = (dmsc_dm_kind)k;
	return DMSC_DM_OK;
}

/* ---- Entry point ---- */

int dmsc_dm_parse(const unsigned char *buf, size_t len,
                  const dmsc_dm_limits *given, xmlDocPtr *doc,
                  dmsc_dm_kind *kind, dmsc_dm_error *err)
{
	dmsc_dm_limits lim;

	if (err != NULL) {
		err->offset = DMSC_DM_NO_OFFSET;
		err->line = 0;
		err->message[0] = '\0';
	}
	if (doc == NULL)
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no place for the document given");
	*doc = NULL;
	if (buf == NULL && len != 0)
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no input given");
	effective_limits(given, &lim);
	if (len > lim.max_input)
		return dmsc_dm_fail(err, DMSC_DM_LIMIT, lim.max_input, 0,
		                    "input of %zu bytes is larger than max_input "
		                    "(%zu)", len, lim.max_input);
	switch (dmsc_dm_detect(buf, len)) {
	case DMSC_DM_XML:
		return parse_xml(buf, len, &lim, doc, NULL, NULL, kind, err);
	case DMSC_DM_WBXML:
		return parse_wbxml(buf, len, &lim, doc, kind, err);
	default:
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, 0, 0,
		                    "expected a DM message as XML (starting with "
		                    "'<') or WBXML (a SyncML or DM DDF header): "
		                    "the input is neither");
	}
}

/* ---- Reading as events ---- */

/* WBXML events pass through here first: the root must be a DM
 * document's, as parse_wbxml() checks on the tree. */
struct wbxml_root_check {
	const dmsc_dm_events *ev;
	void *ctx;
	bool seen;
	int kind;
	int status;               /* the root's refusal */
	dmsc_dm_error *err;
};

static int check_start(void *ctx, const char *local, const char *prefix,
                       const char *uri, const dmsc_dm_attr *attrs, size_t n,
                       int line)
{
	struct wbxml_root_check *w = ctx;

	if (!w->seen) {
		w->seen = true;
		w->kind = root_kind((const xmlChar *)local, (const xmlChar *)uri);
		if (w->kind == 0) {
			w->status = refuse_root(w->err, 0, 0,
			                        (const xmlChar *)local,
			                        (const xmlChar *)uri);
			return 1;
		}
	}
	return w->ev->start(w->ctx, local, prefix, uri, attrs, n, line);
}

static int check_text(void *ctx, const unsigned char *s, size_t n, bool opaque)
{
	struct wbxml_root_check *w = ctx;

	return w->ev->text(w->ctx, s, n, opaque);
}

static int check_end(void *ctx)
{
	struct wbxml_root_check *w = ctx;

	return w->ev->end(w->ctx);
}

static int read_wbxml(const unsigned char *buf, size_t len,
                      const dmsc_dm_limits *lim, const dmsc_dm_events *ev,
                      void *ctx, dmsc_dm_kind *kind, dmsc_dm_error *err)
{
	static const dmsc_dm_events checked = { check_start, check_text,
	                                        check_end };
	struct wbxml_root_check w = { .ev = ev, .ctx = ctx, .err = err };
	dmsc_wbxml_limits wl;
	dmsc_wbxml_error we;
	int rc;

	wbxml_limits(lim, &wl);
	rc = dmsc_wbxml_decode_events(buf, len, &wl, &checked, &w, &we);
	if (rc != DMSC_WBXML_OK)
		return wbxml_status(rc, &we, err);
	if (w.status != DMSC_DM_OK)
		return w.status;
	if (kind != NULL)
		*kind = (dmsc_dm_kind)w.kind;
	return DMSC_DM_OK;
}

int dmsc_dm_read(const unsigned char *buf, size_t len,
                 const dmsc_dm_limits *given, const dmsc_dm_events *ev,
                 void *ctx, dmsc_dm_kind *kind, dmsc_dm_error *err)
{
	dmsc_dm_limits lim;

	if (err != NULL) {
		err->offset = DMSC_DM_NO_OFFSET;
		err->line = 0;
		err->message[0] = '\0';
	}
	if (ev == NULL || (buf == NULL && len != 0))
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no input or no consumer given");
	effective_limits(given, &lim);
	if (len > lim.max_input)
		return dmsc_dm_fail(err, DMSC_DM_LIMIT, lim.max_input, 0,
		                    "input of %zu bytes is larger than max_input "
		                    "(%zu)", len, lim.max_input);
	switch (dmsc_dm_detect(buf, len)) {
	case DMSC_DM_XML:
		return parse_xml(buf, len, &lim, NULL, ev, ctx, kind, err);
	case DMSC_DM_WBXML:
		return read_wbxml(buf, len, &lim, ev, ctx, kind, err);
	default:
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, 0, 0,
		                    "expected a DM message as XML (starting with "
		                    "'<') or WBXML (a SyncML or DM DDF header): "
		                    "the input is neither");
	}
}
