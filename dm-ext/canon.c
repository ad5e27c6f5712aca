/*
 * dm-ext/canon.c - the canonical form of DM messages (see canon.h and the
 * specification, dm-ext/CANON.md).
 *
 * After reading (dmmsg.c), the tree is normalised in two walks:
 *   1. comments and processing instructions go, adjacent text is merged
 *      (so that "is this text whitespace only" and "what is the Format"
 *      read whole texts), and a WBXML OPAQUE outside <Data> and <Value>
 *      becomes its text;
 *   2. <Data> and TNDS <Value> take one representation per Format (text,
 *      or base64 of the bytes), read from the element that decides their
 *      format; a Meta Format "bin" that decided some Data then becomes
 *      "b64" (both now say "binary, shown as base64"); whitespace-only
 *      text in elements that hold elements goes.
 * The walks are iterative, and a step only changes nodes below the one it
 * visits, which the walk has not reached yet.  Then the unit is chosen and
 * written with libxml2's Exclusive C14N 1.0 (without comments) to an output
 * buffer whose writes go to the caller's sink.
 *
 * All memory comes from libxml2's allocator (xmlMalloc & co), as in
 * wbxml.c, so the tests can fail each allocation in turn.
 */
#include "canon.h"

#include "base64.h"
#include "canon-events.h"
#include "wbxml.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/chvalid.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

/* How the content of a <Data> or <Value> is represented. */
enum format {
	FORMAT_TEXT,   /* characters (chr, the default, and every other) */
	FORMAT_B64,    /* base64 text of the bytes */
	FORMAT_BIN,    /* the bytes themselves */
};

struct canon {
	xmlDocPtr doc;
	dmsc_dm_error *err;
};

/* ---- Names ---- */

static bool is_syncml_ns(const xmlNs *ns)
{
	return ns != NULL &&
	       (strcmp((const char *)ns->href, DMSC_DM_NS_SYNCML12) == 0 ||
	        strcmp((const char *)ns->href, DMSC_DM_NS_SYNCML11) == 0);
}

static bool is_ns(const xmlNs *ns, const char *href)
{
	return ns != NULL && strcmp((const char *)ns->href, href) == 0;
}

static bool named(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static bool syncml_el(const xmlNode *n, const char *name)
{
	return named(n, name) && is_syncml_ns(n->ns);
}

static bool ddf_el(const xmlNode *n, const char *name)
{
	return named(n, name) && is_ns(n->ns, DMSC_DM_NS_DMDDF12);
}

static bool is_text(const xmlNode *n)
{
	return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

static bool xml_space(xmlChar c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool all_space(const xmlChar *s)
{
	for (; s != NULL && *s != 0; s++)
		if (!xml_space(*s))
			return false;
	return true;
}

/* True if s is word with only XML whitespace around it. */
static bool text_is(const xmlChar *s, const char *word)
{
	size_t n = strlen(word);

	if (s == NULL)
		return false;
	while (xml_space(*s))
		s++;
	if (strncmp((const char *)s, word, n) != 0)
		return false;
	return all_space(s + n);
}

/* The text of an element that holds one text node and nothing else ("" if
 * it is empty), NULL if it holds anything else.  After the first walk
 * adjacent texts are one node. */
static const xmlChar *simple_text(const xmlNode *el)
{
	const xmlNode *c = el->children;

	if (c == NULL)
		return (const xmlChar *)"";
	if (c->next != NULL || c->type != XML_TEXT_NODE || c->content == NULL)
		return NULL;
	return c->content;
}

static xmlNodePtr first_child_element(const xmlNode *n)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	return NULL;
}

/* ---- Errors ---- */

/* "/SyncML/SyncBody/Replace[2]/Item/Data": local names, with a position
 * where an element has same-named siblings; long paths keep their end. */
static void node_path(const xmlNode *node, char *out, size_t size)
{
	char path[1024];
	size_t pos = sizeof path;

	path[--pos] = '\0';
	for (const xmlNode *n = node; n != NULL && n->type == XML_ELEMENT_NODE;
	     n = n->parent) {
		char step[64];
		int index = 0, same = 0, len;

		for (const xmlNode *s = n->parent != NULL ? n->parent->children
		                                          : n;
		     s != NULL; s = s->next) {
			if (s->type != XML_ELEMENT_NODE ||
			    !xmlStrEqual(s->name, n->name))
				continue;
			same++;
			if (s == n)
				index = same;
		}
		if (same > 1)
			len = snprintf(step, sizeof step, "/%.40s[%d]",
			               (const char *)n->name, index);
		else
			len = snprintf(step, sizeof step, "/%.40s",
			               (const char *)n->name);
		if (len < 0 || (size_t)len >= pos)
			break;
		pos -= (size_t)len;
		memcpy(path + pos, step, (size_t)len);
	}
	if (strlen(path + pos) >= size)
		snprintf(out, size, "...%s",
		         path + pos + strlen(path + pos) - (size - 4));
	else
		snprintf(out, size, "%s", path + pos);
}

static int node_fail(struct canon *c, const xmlNode *node, int status,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int node_fail(struct canon *c, const xmlNode *node, int status,
                     const char *fmt, ...)
{
	char path[96], what[160];
	long line = xmlGetLineNo(node);
	va_list ap;

	node_path(node, path, sizeof path);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (line > 0)
		return dmsc_dm_fail(c->err, status, DMSC_DM_NO_OFFSET,
		                    line > INT_MAX ? INT_MAX : (int)line,
		                    "%s (line %ld): %s", path, line, what);
	return dmsc_dm_fail(c->err, status, DMSC_DM_NO_OFFSET, 0, "%s: %s",
	                    path, what);
}

static int nomem(struct canon *c)
{
	return dmsc_dm_fail(c->err, DMSC_DM_NOMEM, DMSC_DM_NO_OFFSET, 0,
	                    "out of memory");
}

/* ---- Tree edits ---- */

static void drop(xmlNodePtr n)
{
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

/* Replace text node old by one holding len bytes (none: just remove it).
 * libxml2 2.9 leaves a NULL content when a copy fails, hence the check. */
static int replace_text(struct canon *c, xmlNodePtr old, const void *bytes,
                        size_t len)
{
	xmlNodePtr text;

	if (len == 0) {
		drop(old);
		return 0;
	}
	if (len > INT_MAX)
		return node_fail(c, old->parent, DMSC_DM_LIMIT,
		                 "a text of %zu bytes is too long", len);
	text = xmlNewDocTextLen(c->doc, bytes, (int)len);
	if (text != NULL && text->content == NULL) {
		xmlFreeNode(text);
		text = NULL;
	}
	if (text == NULL)
		return nomem(c);
	xmlReplaceNode(old, text);
	xmlFreeNode(old);
	return 0;
}

/* ---- Walk 1: comments, processing instructions, adjacent text ---- */

/* Merge the run of text nodes starting at first into one text node (a
 * lone CDATA section becomes a text node too); *next: the node after it. */
static int merge_text_run(struct canon *c, xmlNodePtr first, xmlNodePtr *next)
{
	xmlNodePtr end = first->next;
	size_t total = 0;
	xmlChar *joined;
	int rc;

	while (end != NULL && is_text(end))
		end = end->next;
	*next = end;
	if (first->next == end && first->type == XML_TEXT_NODE)
		return 0;
	for (xmlNodePtr n = first; n != end; n = n->next)
		total += (size_t)xmlStrlen(n->content);
	joined = xmlMallocAtomic(total + 1);
	if (joined == NULL)
		return nomem(c);
	total = 0;
	for (xmlNodePtr n = first; n != end; n = n->next) {
		size_t len = (size_t)xmlStrlen(n->content);

		memcpy(joined + total, n->content, len);
		total += len;
	}
	while (first->next != end)
		drop(first->next);
	rc = replace_text(c, first, joined, total);
	xmlFree(joined);
	return rc;
}

/* Comments, processing instructions and the DOCTYPE go; then texts that
 * were apart only by those meet and are merged. */
static int clean_children(struct canon *c, xmlNodePtr node)
{
	xmlNodePtr n, next;
	int rc;

	for (n = node->children; n != NULL; n = next) {
		next = n->next;
		switch (n->type) {
		case XML_ELEMENT_NODE:
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			drop(n);
			break;
		case XML_DTD_NODE:
			/* Never written by C14N; out of the way. */
			xmlUnlinkNode(n);
			xmlFreeDtd((xmlDtdPtr)n);
			break;
		default:
			return node_fail(c, node, DMSC_DM_UNSUPPORTED,
			                 "holds a node of type %d: expected "
			                 "elements and text only", (int)n->type);
		}
	}
	for (n = node->children; n != NULL; n = next) {
		next = n->next;
		if (is_text(n)) {
			rc = merge_text_run(c, n, &next);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* ---- Walk 2: Data and Value, whitespace ---- */

/* The Format element of a Meta among holder's children: Meta/Format (in
 * syncml:metinf, or in the SyncML namespace where the message did not
 * declare MetInf) or Meta/MetInf/Format. */
static xmlNodePtr meta_format(const xmlNode *holder)
{
	for (xmlNodePtr m = holder->children; m != NULL; m = m->next) {
		if (!syncml_el(m, "Meta"))
			continue;
		for (xmlNodePtr f = m->children; f != NULL; f = f->next) {
			if (named(f, "Format") &&
			    (is_ns(f->ns, DMSC_DM_NS_METINF) || is_syncml_ns(f->ns)))
				return f;
			if (named(f, "MetInf") && is_ns(f->ns, DMSC_DM_NS_METINF))
				for (xmlNodePtr g = f->children; g != NULL;
				     g = g->next)
					if (named(g, "Format") &&
					    is_ns(g->ns, DMSC_DM_NS_METINF))
						return g;
		}
	}
	return NULL;
}

/* What a Meta Format element (or none) says: its text, without the XML
 * whitespace around it, compared exactly. */
static enum format format_of(const xmlNode *f)
{
	const xmlChar *text = f != NULL ? simple_text(f) : NULL;

	if (text_is(text, "b64"))
		return FORMAT_B64;
	if (text_is(text, "bin"))
		return FORMAT_BIN;
	return FORMAT_TEXT;
}

/* A TNDS Node's format, for its <Value>: RTProperties/Format/<b64/> or
 * <bin/>, else chr. */
static enum format node_format(const xmlNode *node)
{
	for (xmlNodePtr p = node->children; p != NULL; p = p->next) {
		if (!ddf_el(p, "RTProperties"))
			continue;
		for (xmlNodePtr f = p->children; f != NULL; f = f->next) {
			xmlNodePtr kind;

			if (!ddf_el(f, "Format"))
				continue;
			kind = first_child_element(f);
			if (ddf_el(kind, "b64"))
				return FORMAT_B64;
			if (ddf_el(kind, "bin"))
				return FORMAT_BIN;
			return FORMAT_TEXT;
		}
	}
	return FORMAT_TEXT;
}

/* Decode a text node's base64 into a new buffer; NULL with *ok false if it
 * is not base64 (*bad: where), NULL with *ok true if out of memory. */
static unsigned char *decode_text(const xmlChar *text, bool skip_space,
                                  size_t *n, bool *ok, size_t *bad)
{
	size_t len = (size_t)xmlStrlen(text);
	unsigned char *out = xmlMallocAtomic(len / 4 * 3 + 1);

	*ok = true;
	if (out == NULL)
		return NULL;
	if (!dmsc_base64_decode((const char *)text, len, skip_space, out, n,
	                        bad)) {
		xmlFree(out);
		*ok = false;
		return NULL;
	}
	return out;
}

/* The base64 text the decoder made of OPAQUE bytes, back to the bytes. */
static int opaque_bytes(struct canon *c, xmlNodePtr el, xmlNodePtr text,
                        unsigned char **bytes, size_t *n)
{
	bool ok;
	size_t bad;

	*bytes = decode_text(text->content, false, n, &ok, &bad);
	if (*bytes != NULL)
		return 0;
	if (ok)
		return nomem(c);
	/* The decoder gives a marked element the base64 of one OPAQUE and no
	 * other text; a tree built otherwise is refused, not guessed at. */
	return node_fail(c, el, DMSC_DM_UNSUPPORTED, "marked as WBXML binary, "
	                 "but its text is not the base64 of one OPAQUE");
}

/* Format chr (or any text format) on an element holding WBXML OPAQUE:
 * the bytes are the characters. */
static int opaque_to_text(struct canon *c, xmlNodePtr el)
{
	xmlNodePtr t = el->children, next;

	for (; t != NULL; t = next) {
		unsigned char *bytes;
		size_t n, bad;
		int rc;

		next = t->next;
		if (t->type != XML_TEXT_NODE)
			continue;
		rc = opaque_bytes(c, el, t, &bytes, &n);
		if (rc != 0)
			return rc;
		if (!dmsc_canon_xml_text_ok(bytes, n, &bad))
			rc = node_fail(c, el, DMSC_DM_UNSUPPORTED, "OPAQUE byte "
			               "%zu (0x%02X) is not UTF-8 text, but the "
			               "Format is not bin or b64", bad, bytes[bad]);
		else
			rc = replace_text(c, t, bytes, n);
		xmlFree(bytes);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Write bytes as the element's only content, as base64. */
static int set_base64(struct canon *c, xmlNodePtr text,
                      const unsigned char *bytes, size_t n)
{
	size_t len = dmsc_base64_encoded_len(n);
	char *b64;
	int rc;

	if (len == 0 && n != 0)
		return nomem(c);
	b64 = xmlMallocAtomic(len + 1);
	if (b64 == NULL)
		return nomem(c);
	dmsc_base64_encode(bytes, n, b64);
	rc = replace_text(c, text, b64, len);
	xmlFree(b64);
	return rc;
}

/* Format b64 or bin: the content is bytes, written as base64.  Text (XML,
 * or a WBXML string) is base64 of the bytes under either Format; a WBXML
 * OPAQUE holds the bytes themselves under bin, and the base64 characters
 * under b64 (OMA-TS-DM_TND, "Format": over WBXML, bin if base64 is not
 * used, b64 if it is). */
static int binary_content(struct canon *c, xmlNodePtr el, enum format fmt,
                          bool marked)
{
	const char *name = fmt == FORMAT_B64 ? "b64" : "bin";
	xmlNodePtr text = el->children;
	const xmlChar *b64;
	unsigned char *bytes = NULL, *chars = NULL;
	size_t n = 0, bad;
	bool ok;
	int rc = 0;

	if (first_child_element(el) != NULL)
		return node_fail(c, el, DMSC_DM_UNSUPPORTED, "Format %s, but "
		                 "the content has elements: expected base64 text",
		                 name);
	if (text == NULL)
		return 0;
	/* One text node after walk 1. */
	b64 = text->content;
	/* Base64 that is already canonical would be decoded and encoded
	 * again into the same characters: keep it (the text node too, which
	 * is no different from a new one).  That is a compact b64 Data, and
	 * always a marked bin element, whose text the WBXML decoder wrote as
	 * the canonical base64 of the OPAQUE's bytes, which is what we would
	 * write.  Anything else, errors included, takes the path below.  The
	 * empty text does too: that path drops its node. */
	if ((!marked || fmt == FORMAT_BIN) && b64 != NULL && *b64 != 0 &&
	    dmsc_base64_is_canonical((const char *)b64,
	                             (size_t)xmlStrlen(b64)))
		return 0;
	if (marked && fmt == FORMAT_BIN) {
		rc = opaque_bytes(c, el, text, &bytes, &n);
		if (rc == 0)
			rc = set_base64(c, text, bytes, n);
		xmlFree(bytes);
		return rc;
	}
	if (marked) {
		rc = opaque_bytes(c, el, text, &chars, &n);
		if (rc != 0)
			return rc;
		if (memchr(chars, 0, n) != NULL) {
			xmlFree(chars);
			return node_fail(c, el, DMSC_DM_MALFORMED, "Format b64, "
			                 "but the OPAQUE holds a zero byte: "
			                 "expected base64 text");
		}
		/* The OPAQUE's characters are the base64: when they are
		 * canonical they are the text, with no second decoding and
		 * encoding. */
		if (n != 0 && dmsc_base64_is_canonical((const char *)chars, n)) {
			rc = replace_text(c, text, chars, n);
			xmlFree(chars);
			return rc;
		}
		chars[n] = 0;   /* decode_text() wants a C string */
		b64 = chars;
	}
	bytes = decode_text(b64, true, &n, &ok, &bad);
	if (bytes == NULL)
		rc = ok ? nomem(c)
		        : node_fail(c, el, DMSC_DM_MALFORMED, "Format %s, but "
		                    "character %zu of the text is not base64: "
		                    "expected A-Z a-z 0-9 + / and '=' padding at "
		                    "the end", name, bad);
	else
		rc = set_base64(c, text, bytes, n);
	xmlFree(bytes);
	xmlFree(chars);
	return rc;
}

/* One <Data> or <Value> in its format: base64 of the bytes for b64 and
 * bin, else text (a WBXML OPAQUE then holds UTF-8). */
static int read_content(struct canon *c, xmlNodePtr el, enum format fmt)
{
	bool marked = dmsc_wbxml_is_binary(el);

	if (fmt != FORMAT_TEXT)
		return binary_content(c, el, fmt, marked);
	return marked ? opaque_to_text(c, el) : 0;
}

/* A Format bin that decided how Data were read says b64 once they are:
 * both now mean "binary, as base64".  A Format that decided nothing keeps
 * its text: it said nothing about any bytes here. */
static int bin_to_b64(struct canon *c, xmlNodePtr f)
{
	if (f == NULL || format_of(f) != FORMAT_BIN)
		return 0;
	return replace_text(c, f->children, "b64", 3);
}

/* The <Data> of one Item, read in the Item's Format, else in fallback (the
 * Format of the element holding the Item).  *used_fallback is set if a
 * Data was read in fallback.  The Item's own Format is rewritten at the
 * Item's step: Items inside it may still read it. */
static int item_data(struct canon *c, xmlNodePtr item, xmlNodePtr fallback,
                     bool *used_fallback)
{
	xmlNodePtr own = meta_format(item);
	enum format fmt = format_of(own != NULL ? own : fallback);
	int rc = 0;

	for (xmlNodePtr d = item->children; rc == 0 && d != NULL; d = d->next) {
		if (syncml_el(d, "Data")) {
			rc = read_content(c, d, fmt);
			if (own == NULL)
				*used_fallback = true;
		}
	}
	return rc;
}

/* Every <Data> and TNDS <Value> is read at the step of the element that
 * decides its format, which reads that Format once: a Data's holder (the
 * element it is in) or, for a Data in an Item, the Item's parent, which
 * knows both the Item's Format and its own; a Value's Node.  (Looking the
 * Format up from each Data would scan the holder once per Data: quadratic
 * in a message of many Data.)  Then p's Format, if it decided any Data,
 * says b64 for bin: for an Item, its Data were read at its parent's step,
 * and Items in it read it as fallback here; nothing reads it later.  Only
 * nodes below p change, and the walk has not been below p yet. */
static int data_children(struct canon *c, xmlNodePtr p)
{
	bool is_item = syncml_el(p, "Item");
	xmlNodePtr own = p->type == XML_ELEMENT_NODE ? meta_format(p) : NULL;
	enum format fmt = format_of(own);
	enum format value_fmt = ddf_el(p, "Node") ? node_format(p) : FORMAT_TEXT;
	bool used = false;
	int rc = 0;

	for (xmlNodePtr n = p->children; rc == 0 && n != NULL; n = n->next) {
		if (syncml_el(n, "Data")) {
			if (!is_item)
				rc = read_content(c, n, fmt);
			used = true;
		} else if (syncml_el(n, "Item")) {
			rc = item_data(c, n, own, &used);
		} else if (ddf_el(n, "Value")) {
			rc = read_content(c, n, value_fmt);
		}
	}
	if (rc == 0 && used)
		rc = bin_to_b64(c, own);
	return rc;
}

/* Whitespace-only text between elements is layout, not content. */
static void drop_layout(xmlNodePtr el)
{
	xmlNodePtr n, next;

	if (first_child_element(el) == NULL)
		return;
	for (n = el->children; n != NULL; n = next) {
		next = n->next;
		if (n->type == XML_TEXT_NODE && all_space(n->content))
			drop(n);
	}
}

/* ---- Walking ---- */

/* Call step on the document node and on every element, parents before
 * children; a step changes only nodes below the one it is given (its
 * children are read after it returns), never that node or its siblings. */
static int walk(struct canon *c, int (*step)(struct canon *, xmlNodePtr))
{
	xmlNodePtr top = (xmlNodePtr)c->doc, n;
	int rc = step(c, top);

	n = top->children;
	while (rc == 0 && n != NULL) {
		if (n->type == XML_ELEMENT_NODE) {
			rc = step(c, n);
			if (rc != 0)
				break;
			if (n->children != NULL) {
				n = n->children;
				continue;
			}
		}
		while (n != top && n->next == NULL)
			n = n->parent;
		n = n == top ? NULL : n->next;
	}
	return rc;
}

/* Walk 1.  An OPAQUE outside <Data> and <Value> is text, as for chr, and
 * becomes text here, before any Format is read: a Format sent as an OPAQUE
 * "bin" must say bin to every Data it applies to, wherever they stand. */
static int walk_step_clean(struct canon *c, xmlNodePtr n)
{
	int rc = clean_children(c, n);

	if (rc == 0 && dmsc_wbxml_is_binary(n) && !syncml_el(n, "Data") &&
	    !ddf_el(n, "Value"))
		rc = opaque_to_text(c, n);
	return rc;
}

/* Walk 2, on the document node too: it holds the root (an Item, if the
 * tree is not a DM message). */
static int walk_step_data(struct canon *c, xmlNodePtr n)
{
	int rc = data_children(c, n);

	if (rc == 0 && n->type == XML_ELEMENT_NODE)
		drop_layout(n);
	return rc;
}

/* ---- Selection ---- */

static xmlNodePtr syncml_child(const xmlNode *parent, const char *name)
{
	for (xmlNodePtr n = parent->children; n != NULL; n = n->next)
		if (syncml_el(n, name))
			return n;
	return NULL;
}

/* Commands with this CmdID among container's children, in Atomic and
 * Sequence too; nesting is bounded by the reader's depth limit. */
static void find_cmdid(const xmlNode *container, const char *cmdid,
                       xmlNodePtr *found, int *count)
{
	for (xmlNodePtr n = container->children; n != NULL; n = n->next) {
		xmlNodePtr id;

		if (n->type != XML_ELEMENT_NODE || !is_syncml_ns(n->ns))
			continue;
		id = syncml_child(n, "CmdID");
		if (id != NULL && text_is(simple_text(id), cmdid)) {
			if ((*count)++ == 0)
				*found = n;
		}
		if (syncml_el(n, "Atomic") || syncml_el(n, "Sequence"))
			find_cmdid(n, cmdid, found, count);
	}
}

static int select_unit(struct canon *c, const dmsc_canon_select *sel,
                       xmlNodePtr *unit)
{
	xmlNodePtr root = xmlDocGetRootElement(c->doc), body;
	int count = 0;

	*unit = root;
	if (sel == NULL || sel->unit == DMSC_CANON_MESSAGE)
		return 0;
	if (sel->unit != DMSC_CANON_SYNCBODY && sel->unit != DMSC_CANON_CMDID)
		return dmsc_dm_fail(c->err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "unknown unit %d", (int)sel->unit);
	if (sel->unit == DMSC_CANON_CMDID &&
	    (sel->cmdid == NULL || sel->cmdid[0] == '\0'))
		return dmsc_dm_fail(c->err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no CmdID given to select");
	body = syncml_el(root, "SyncML") ? syncml_child(root, "SyncBody") : NULL;
	if (body == NULL)
		return dmsc_dm_fail(c->err, DMSC_DM_NOT_FOUND, DMSC_DM_NO_OFFSET, 0,
		                    "expected a <SyncBody> to select from: the "
		                    "document (<%.40s>) has none",
		                    (const char *)root->name);
	*unit = body;
	if (sel->unit == DMSC_CANON_SYNCBODY)
		return 0;
	find_cmdid(body, sel->cmdid, unit, &count);
	if (count == 0)
		return dmsc_dm_fail(c->err, DMSC_DM_NOT_FOUND, DMSC_DM_NO_OFFSET, 0,
		                    "no command with CmdID \"%.40s\" in the "
		                    "SyncBody (nor in its Atomic or Sequence)",
		                    sel->cmdid);
	if (count > 1)
		return node_fail(c, *unit, DMSC_DM_UNSUPPORTED, "CmdID \"%.40s\" "
		                 "names %d commands: expected one", sel->cmdid,
		                 count);
	return 0;
}

/* ---- Output ---- */

struct output {
	dmsc_canon_sink sink;
	void *ctx;
	bool sink_failed;
	int error_code;          /* first libxml2 error during C14N */
	char error[120];
};

static int output_write(void *context, const char *buffer, int len)
{
	struct output *o = context;

	if (len <= 0)
		return 0;
	if (o->sink(o->ctx, (const unsigned char *)buffer, (size_t)len) != 0) {
		o->sink_failed = true;
		return -1;
	}
	return len;
}

static void output_error(void *context, xmlErrorPtr e)
{
	struct output *o = context;

	if (o->error_code != 0 || e == NULL)
		return;
	o->error_code = e->code != 0 ? e->code : -1;
	snprintf(o->error, sizeof o->error, "%s",
	         e->message != NULL ? e->message : "unknown error");
	o->error[strcspn(o->error, "\n")] = '\0';
}

/* Some libxml2 2.9 code reports only through the generic handler, and
 * goes on: its list code, failing to allocate a C14N namespace stack
 * entry, prints "Cannot initialize memory for new link" and the output
 * then lacks a namespace declaration.  Any such report fails the call. */
static void output_generic_error(void *context, const char *msg, ...)
	__attribute__((format(printf, 2, 3)));

static void output_generic_error(void *context, const char *msg, ...)
{
	struct output *o = context;
	va_list ap;

	if (o->error_code != 0)
		return;
	va_start(ap, msg);
	vsnprintf(o->error, sizeof o->error, msg, ap);
	va_end(ap);
	o->error[strcspn(o->error, "\n")] = '\0';
	o->error_code = strstr(o->error, "memory") != NULL ? XML_ERR_NO_MEMORY
	                                                   : -1;
}

/* C14N decides visibility node by node: the unit and what is below it. */
static int in_unit(void *user_data, xmlNodePtr node, xmlNodePtr parent)
{
	const xmlNode *unit = user_data;

	if (node != NULL && node->type == XML_NAMESPACE_DECL)
		node = parent;
	for (; node != NULL; node = node->parent)
		if (node == unit)
			return 1;
	return 0;
}

static int write_c14n(struct canon *c, xmlNodePtr unit, dmsc_canon_sink sink,
                      void *ctx)
{
	struct output o = { .sink = sink, .ctx = ctx };
	xmlStructuredErrorFunc saved_handler = xmlStructuredError;
	void *saved_context = xmlStructuredErrorContext;
	xmlGenericErrorFunc saved_generic = xmlGenericError;
	void *saved_generic_context = xmlGenericErrorContext;
	xmlOutputBufferPtr buf;
	bool whole = unit == xmlDocGetRootElement(c->doc);
	int written, closed;

	buf = xmlOutputBufferCreateIO(output_write, NULL, &o, NULL);
	if (buf == NULL)
		return nomem(c);
	xmlSetStructuredErrorFunc(&o, output_error);
	xmlSetGenericErrorFunc(&o, output_generic_error);
	written = xmlC14NExecute(c->doc, whole ? NULL : in_unit, unit,
	                         XML_C14N_EXCLUSIVE_1_0, NULL, 0, buf);
	closed = xmlOutputBufferClose(buf);
	xmlSetGenericErrorFunc(saved_generic_context, saved_generic);
	xmlSetStructuredErrorFunc(saved_context, saved_handler);
	if (o.sink_failed)
		return dmsc_dm_fail(c->err, DMSC_DM_SINK, DMSC_DM_NO_OFFSET, 0,
		                    "the output sink stopped the canonical form");
	if (written >= 0 && closed >= 0 && o.error_code == 0)
		return DMSC_DM_OK;
	if (o.error_code == XML_ERR_NO_MEMORY || o.error_code == 0)
		return nomem(c);
	return dmsc_dm_fail(c->err, DMSC_DM_UNSUPPORTED, DMSC_DM_NO_OFFSET, 0,
	                    "exclusive C14N refused the tree: %s", o.error);
}

/* ---- Entry points ---- */

static void clear_error(dmsc_dm_error *err)
{
	if (err != NULL) {
		err->offset = DMSC_DM_NO_OFFSET;
		err->line = 0;
		err->message[0] = '\0';
	}
}

int dmsc_canon_doc(xmlDocPtr doc, const dmsc_canon_select *sel,
                   dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err)
{
	struct canon c = { .doc = doc, .err = err };
	xmlNodePtr unit;
	int rc;

	clear_error(err);
	if (doc == NULL || sink == NULL || xmlDocGetRootElement(doc) == NULL)
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no document or no sink given");
	rc = walk(&c, walk_step_clean);
	if (rc == 0)
		rc = walk(&c, walk_step_data);
	if (rc == 0)
		rc = select_unit(&c, sel, &unit);
	if (rc == 0)
		rc = write_c14n(&c, unit, sink, ctx);
	return rc;
}

/* Opaque input is its own canonical form (both paths). */
static int canon_opaque(const unsigned char *buf, size_t len,
                        const dmsc_canon_select *sel, dmsc_canon_sink sink,
                        void *ctx, dmsc_dm_error *err)
{
	if (sel != NULL && sel->unit != DMSC_CANON_MESSAGE)
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, 0, 0,
		                    "expected a DM message to select a unit "
		                    "from: the input is opaque data");
	if (len != 0 && sink(ctx, buf, len) != 0)
		return dmsc_dm_fail(err, DMSC_DM_SINK, DMSC_DM_NO_OFFSET, 0,
		                    "the output sink stopped the canonical form");
	return DMSC_DM_OK;
}

/* The fast path: the canonical form written from the reader's events
 * (canon-events.c), no tree. */
int dmsc_canon_limits(const unsigned char *buf, size_t len,
                      const dmsc_dm_limits *lim, const dmsc_canon_select *sel,
                      dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err)
{
	dmsc_canon_ev *c;
	int rc;

	clear_error(err);
	if (sink == NULL || (buf == NULL && len != 0))
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no input or no sink given");
	if (dmsc_dm_detect(buf, len) == DMSC_DM_OPAQUE)
		return canon_opaque(buf, len, sel, sink, ctx, err);
	c = dmsc_canon_ev_new(sel, sink, ctx);
	if (c == NULL)
		return dmsc_dm_fail(err, DMSC_DM_NOMEM, DMSC_DM_NO_OFFSET, 0,
		                    "out of memory");
	rc = dmsc_dm_read(buf, len, lim, dmsc_canon_ev_events(), c, NULL, err);
	if (rc == DMSC_DM_OK)
		rc = dmsc_canon_ev_finish(c, err);
	dmsc_canon_ev_free(c);
	return rc;
}

/* The reference: read into a libxml2 tree, normalise it, libxml2's
 * C14N. */
int dmsc_canon_tree_limits(const unsigned char *buf, size_t len,
                           const dmsc_dm_limits *lim,
                           const dmsc_canon_select *sel,
                           dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err)
{
	xmlDocPtr doc;
	int rc;

	clear_error(err);
	if (sink == NULL || (buf == NULL && len != 0))
		return dmsc_dm_fail(err, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		                    "no input or no sink given");
	if (dmsc_dm_detect(buf, len) == DMSC_DM_OPAQUE)
		return canon_opaque(buf, len, sel, sink, ctx, err);
	rc = dmsc_dm_parse(buf, len, lim, &doc, NULL, err);
	if (rc != DMSC_DM_OK)
		return rc;
	rc = dmsc_canon_doc(doc, sel, sink, ctx, err);
	xmlFreeDoc(doc);
	return rc;
}

int dmsc_canon(const unsigned char *buf, size_t len,
               const dmsc_canon_select *sel, dmsc_canon_sink sink, void *ctx,
               dmsc_dm_error *err)
{
	return dmsc_canon_limits(buf, len, NULL, sel, sink, ctx, err);
}

/* ---- Streaming ---- */

struct dmsc_canon_stream {
	dmsc_dm_limits lim;
	dmsc_canon_select sel;
	char *cmdid;             /* our copy of sel.cmdid */
	dmsc_canon_sink sink;
	void *ctx;
	int repr;                /* -1 until known */
	unsigned char *held;     /* the sniffed prefix, or the whole message */
	size_t len;
	size_t cap;
	int status;              /* first failure, kept */
	dmsc_dm_error failure;
	bool ended;
};

dmsc_canon_stream *dmsc_canon_stream_new(const dmsc_dm_limits *lim,
                                         const dmsc_canon_select *sel,
                                         dmsc_canon_sink sink, void *ctx)
{
	dmsc_canon_stream *s = xmlMalloc(sizeof *s);

	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof *s);
	dmsc_dm_limits_default(&s->lim);
	if (lim != NULL) {
		if (lim->max_input != 0)
			s->lim.max_input = lim->max_input;
		if (lim->max_depth != 0)
			s->lim.max_depth = lim->max_depth;
		if (lim->max_elements != 0)
			s->lim.max_elements = lim->max_elements;
	}
	if (sel != NULL) {
		s->sel = *sel;
		if (sel->cmdid != NULL) {
			s->cmdid = (char *)xmlStrdup((const xmlChar *)sel->cmdid);
			if (s->cmdid == NULL) {
				xmlFree(s);
				return NULL;
			}
		}
		s->sel.cmdid = s->cmdid;
	}
	if (s->lim.max_input > DMSC_DM_MAX_INPUT_CAP)
		s->lim.max_input = DMSC_DM_MAX_INPUT_CAP;
	s->sink = sink;
	s->ctx = ctx;
	s->repr = -1;
	return s;
}

/* Keep the first failure; report it to this call's err too. */
static int stream_fail(dmsc_canon_stream *s, int status,
                       const dmsc_dm_error *e, dmsc_dm_error *err)
{
	s->status = status;
	s->failure = *e;
	if (err != NULL)
		*err = *e;
	return status;
}

static int stream_failed(const dmsc_canon_stream *s, dmsc_dm_error *err)
{
	if (err != NULL)
		*err = s->failure;
	return s->status;
}

/* Free the held input, wiped first: a SyncML header may carry a
 * credential (<Cred> with auth-basic is user:password in Base64). */
static void held_release(dmsc_canon_stream *s)
{
	if (s->held != NULL)
		explicit_bzero(s->held, s->cap);
	xmlFree(s->held);
}

static int hold(dmsc_canon_stream *s, const unsigned char *buf, size_t len,
                dmsc_dm_error *err)
{
	dmsc_dm_error e;
	size_t limit = s->repr < 0 ? DMSC_DM_SNIFF_MAX : s->lim.max_input;

	/* An empty part (C_SignUpdate with NULL, 0 is legal) adds nothing;
	 * memcpy may not be given NULL even for no bytes. */
	if (len == 0)
		return DMSC_DM_OK;
	if (len > limit || s->len > limit - len)
		return stream_fail(s, dmsc_dm_fail(&e, DMSC_DM_LIMIT, limit, 0,
		                   "a message longer than max_input (%zu bytes)",
		                   limit), &e, err);
	if (s->len + len > s->cap) {
		size_t cap = s->cap == 0 ? 4096 : s->cap;
		unsigned char *grown;

		while (cap < s->len + len)
			cap = cap > limit / 2 ? limit : cap * 2;
		/* Not xmlRealloc: the old block is wiped before it goes. */
		grown = xmlMalloc(cap);
		if (grown == NULL)
			return stream_fail(s, dmsc_dm_fail(&e, DMSC_DM_NOMEM,
			                   DMSC_DM_NO_OFFSET, 0, "out of memory"),
			                   &e, err);
		if (s->len > 0)
			memcpy(grown, s->held, s->len);
		held_release(s);
		s->held = grown;
		s->cap = cap;
	}
	memcpy(s->held + s->len, buf, len);
	s->len += len;
	return DMSC_DM_OK;
}

static int pass(dmsc_canon_stream *s, const unsigned char *buf, size_t len,
                dmsc_dm_error *err)
{
	dmsc_dm_error e;

	if (len == 0 || s->sink(s->ctx, buf, len) == 0)
		return DMSC_DM_OK;
	return stream_fail(s, dmsc_dm_fail(&e, DMSC_DM_SINK, DMSC_DM_NO_OFFSET,
	                   0, "the output sink stopped the canonical form"),
	                   &e, err);
}

/* The representation is now known: opaque input passes what is held. */
static int decided(dmsc_canon_stream *s, int repr, dmsc_dm_error *err)
{
	dmsc_dm_error e;
	int rc;

	s->repr = repr;
	if (repr != DMSC_DM_OPAQUE)
		return DMSC_DM_OK;
	if (s->sel.unit != DMSC_CANON_MESSAGE)
		return stream_fail(s, dmsc_dm_fail(&e, DMSC_DM_UNSUPPORTED, 0, 0,
		                   "expected a DM message to select a unit from: "
		                   "the input is opaque data"), &e, err);
	rc = pass(s, s->held, s->len, err);
	held_release(s);
	s->held = NULL;
	s->len = s->cap = 0;
	return rc;
}

int dmsc_canon_stream_update(dmsc_canon_stream *s, const unsigned char *buf,
                             size_t len, dmsc_dm_error *err)
{
	dmsc_dm_error e;
	int rc;

	clear_error(err);
	if (s == NULL || s->ended || (buf == NULL && len != 0)) {
		dmsc_dm_fail(&e, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		             "no stream, a stream already ended, or no input");
		if (err != NULL)
			*err = e;
		return DMSC_DM_BAD_ARGS;
	}
	if (s->status != DMSC_DM_OK)
		return stream_failed(s, err);
	/* An empty part changes nothing; buf may be NULL (C_DigestUpdate
	 * with NULL, 0), and NULL + 0 is undefined (fuzz-p11, UBSan). */
	if (len == 0)
		return DMSC_DM_OK;
	if (s->repr < 0) {
		/* Take only what the sniff may need, then decide. */
		size_t room = DMSC_DM_SNIFF_MAX - s->len;
		size_t take = len < room ? len : room;
		int repr;

		rc = hold(s, buf, take, err);
		if (rc != DMSC_DM_OK)
			return rc;
		buf += take;
		len -= take;
		repr = dmsc_dm_sniff(s->held, s->len, false);
		if (repr < 0)
			return DMSC_DM_OK;   /* len is 0: all was taken */
		rc = decided(s, repr, err);
		if (rc != DMSC_DM_OK)
			return rc;
	}
	if (s->repr == DMSC_DM_OPAQUE)
		return pass(s, buf, len, err);
	return hold(s, buf, len, err);
}

int dmsc_canon_stream_final(dmsc_canon_stream *s, dmsc_dm_error *err)
{
	dmsc_dm_error e;
	int rc;

	clear_error(err);
	if (s == NULL || s->ended) {
		dmsc_dm_fail(&e, DMSC_DM_BAD_ARGS, DMSC_DM_NO_OFFSET, 0,
		             "no stream, or a stream already ended");
		if (err != NULL)
			*err = e;
		return DMSC_DM_BAD_ARGS;
	}
	s->ended = true;
	if (s->status != DMSC_DM_OK)
		return stream_failed(s, err);
	if (s->repr < 0) {
		rc = decided(s, dmsc_dm_sniff(s->held, s->len, true), err);
		if (rc != DMSC_DM_OK)
			return rc;
	}
	if (s->repr == DMSC_DM_OPAQUE)
		return DMSC_DM_OK;
	rc = dmsc_canon_limits(s->held != NULL ? s->held : (const unsigned char *)"",
	                       s->len, &s->lim, &s->sel, s->sink, s->ctx, &e);
	if (rc != DMSC_DM_OK)
		return stream_fail(s, rc, &e, err);
	return DMSC_DM_OK;
}

int dmsc_canon_stream_repr(const dmsc_canon_stream *s)
{
	return s != NULL ? s->repr : -1;
}

void dmsc_canon_stream_free(dmsc_canon_stream *s)
{
	if (s == NULL)
		return;
	held_release(s);
	xmlFree(s->cmdid);
	xmlFree(s);
}
