/*
 * dm-ext/wbxml.c - a small WBXML decoder for OMA DM messages.
 *
 * Written from the WAP Binary XML Content Format specification
 * (WAP-192-WBXML, WBXML 1.1-1.3) and the OMA token tables named below.
 * The input is untrusted: the reader never looks past its buffer, every
 * integer is range-checked before use, element nesting is kept on a heap
 * stack bounded by max_depth (no recursion on input depth), and the only
 * recursion - decoding a WBXML document embedded in an OPAQUE <Data> - is
 * bounded by max_embedded.  The first failure is recorded with its byte
 * offset and the whole tree is freed by the caller-facing function.
 *
 * All memory comes from libxml2's allocator (xmlMalloc & co), so one
 * xmlMemSetup() hook sees every allocation: the tests fail each in turn.
 * libxml2 2.9 ignores some failures of its own (a name or text copy that
 * fails leaves NULL in the node), so nodes are checked after creation.
 */
#include "wbxml.h"
#include "wbxml-pages.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/xmlmemory.h>

/* Global tokens and tag bits: wbxml-pages.h (WBXML_TOK_*, WBXML_TAG_*). */

/* IANA MIBenum of UTF-8: the only charset accepted. */
#define CHARSET_UTF8 106u

/* A multi-byte integer carries 7 bits a byte: 5 bytes hold 32 bits. */
#define MB_MAX_BYTES 5

/* The code pages and document types of OMA DM are in wbxml-pages.c,
 * shared with the encoder (wbxml-enc.c). */

/* The address marks an element whose text is base64 of OPAQUE bytes. */
static char binary_mark;

/* ---- State ---- */

/* A bounded view of one document's bytes.  base is where buf starts in
 * the caller's buffer, so offsets in errors are the caller's offsets. */
struct reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	size_t base;
};

struct header {
	uint8_t version;
	uint32_t charset;
	size_t charset_at;
	const uint8_t *strtbl;
	size_t strtbl_len;
	const struct dmsc_wbxml_doctype *type;
};

/* An open element (one that has content still to come).  Its binary
 * OPAQUE, if any, is its only text: no strings and no second one (see
 * note_string() and binary_opaque()). */
struct frame {
	xmlNodePtr element;        /* the tree's node (NULL with events) */
	const char *name;
	xmlNsPtr ns;               /* its default namespace, inherited below */
	bool is_data;              /* SyncML <Data>: OPAQUE may be WBXML */
	bool has_binary;           /* a binary OPAQUE came, at binary_at */
	bool has_string;           /* a string piece came, at string_at */
	size_t binary_at;
	size_t string_at;
};

struct textbuf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

struct parser {
	dmsc_wbxml_limits lim;
	dmsc_wbxml_error *err;
	int status;                /* first failure, DMSC_WBXML_OK until then */
	xmlDocPtr doc;
	struct frame *stack;       /* shared by embedded documents */
	size_t depth;
	size_t stack_cap;
	size_t elements;
	size_t output_left;
	size_t embedded;           /* embedded documents now being decoded */
	struct textbuf text;       /* content text not yet in the tree */
	struct textbuf value;      /* the attribute value being read */
	/* Decoding into events (dmsc_wbxml_decode_events()) instead of a
	 * tree: the consumer, which gets no more calls once it failed. */
	const dmsc_dm_events *ev;
	void *ev_ctx;
	bool ev_stopped;
	struct textbuf names;      /* one element's attribute names (const
	                              char pointers) and values */
	struct textbuf values;     /* (NUL-separated), until its start */
	size_t nattrs;
};

struct document {
	struct reader rd;
	struct header hdr;
	unsigned tag_page;
	unsigned attr_page;
	xmlNodePtr parent;         /* <Data> holding this document, or NULL */
	xmlNsPtr parent_ns;
};

/* ---- Errors ---- */

/* Record the first failure; later ones are consequences of it.  p may be
 * NULL when only sniffing. */
static int fail(struct parser *p, int status, size_t offset,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, int status, size_t offset,
                const char *fmt, ...)
{
	va_list ap;

	if (p == NULL || p->status != DMSC_WBXML_OK)
		return p == NULL ? status : p->status;
	p->status = status;
	if (p->err != NULL) {
		p->err->offset = offset;
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
		va_end(ap);
	}
	return status;
}

static int fail_nomem(struct parser *p, size_t offset)
{
	return fail(p, DMSC_WBXML_NOMEM, offset, "out of memory");
}

/* Offset in the caller's buffer of a position in this reader. */
static size_t at(const struct reader *rd, size_t pos)
{
	return rd->base + pos;
}

/* A name for a token in messages. */
static const char *token_name(uint8_t tok, char buf[16])
{
	static const char *const names[] = {
		[WBXML_TOK_SWITCH_PAGE] = "SWITCH_PAGE", [WBXML_TOK_END] = "END",
		[WBXML_TOK_ENTITY] = "ENTITY", [WBXML_TOK_STR_I] = "STR_I",
		[WBXML_TOK_LITERAL] = "LITERAL", [WBXML_TOK_EXT_I_0] = "EXT_I_0",
		[WBXML_TOK_EXT_I_0 + 1] = "EXT_I_1", [WBXML_TOK_EXT_I_2] = "EXT_I_2",
		[WBXML_TOK_PI] = "PI", [WBXML_TOK_LITERAL_C] = "LITERAL_C",
		[WBXML_TOK_EXT_T_0] = "EXT_T_0", [WBXML_TOK_EXT_T_0 + 1] = "EXT_T_1",
		[WBXML_TOK_EXT_T_2] = "EXT_T_2", [WBXML_TOK_STR_T] = "STR_T",
		[WBXML_TOK_LITERAL_A] = "LITERAL_A", [WBXML_TOK_EXT_0] = "EXT_0",
		[WBXML_TOK_EXT_0 + 1] = "EXT_1", [WBXML_TOK_EXT_2] = "EXT_2",
		[WBXML_TOK_OPAQUE] = "OPAQUE", [WBXML_TOK_LITERAL_AC] = "LITERAL_AC",
	};

	if (tok < sizeof names / sizeof names[0] && names[tok] != NULL)
		return names[tok];
	snprintf(buf, 16, "token 0x%02X", tok);
	return buf;
}

/* ---- Reading primitives: bounded, report nothing ---- */

static bool read_u8(struct reader *rd, uint8_t *v)
{
	*v = 0;
	if (rd->pos >= rd->len)
		return false;
	*v = rd->buf[rd->pos++];
	return true;
}

enum mb_result { MB_OK, MB_TRUNCATED, MB_TOO_LONG, MB_OVERFLOW };

/* mb_u_int32: big-endian groups of 7 bits, bit 7 set on all but the last
 * byte.  At most 5 bytes, and the value must fit in 32 bits. */
static enum mb_result read_mb(struct reader *rd, uint32_t *v)
{
	uint32_t value = 0;

	*v = 0;
	for (int i = 0; i < MB_MAX_BYTES; i++) {
		uint8_t b;

		if (!read_u8(rd, &b))
			return MB_TRUNCATED;
		if (value > (UINT32_MAX >> 7))
			return MB_OVERFLOW;
		value = (value << 7) | (b & 0x7Fu);
		if ((b & 0x80u) == 0) {
			*v = value;
			return MB_OK;
		}
	}
	return MB_TOO_LONG;
}

/* ---- Reading with reports ---- */

static int need_u8(struct parser *p, struct reader *rd, const char *what,
                   uint8_t *v)
{
	if (!read_u8(rd, v))
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, rd->pos),
		            "truncated: expected %s", what);
	return 0;
}

static int need_mb(struct parser *p, struct reader *rd, const char *what,
                   uint32_t *v)
{
	size_t start = rd->pos;

	switch (read_mb(rd, v)) {
	case MB_OK:
		return 0;
	case MB_TRUNCATED:
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, rd->pos),
		            "truncated: expected the rest of %s (multi-byte integer)",
		            what);
	case MB_TOO_LONG:
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, start),
		            "%s: multi-byte integer longer than 5 bytes", what);
	case MB_OVERFLOW:
	default:
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, start),
		            "%s: multi-byte integer does not fit in 32 bits", what);
	}
}

/* ---- Header (WAP-192-WBXML section 5.3-5.7) ---- */

static const struct dmsc_wbxml_doctype *doc_type_by_id(uint32_t id)
{
	for (size_t i = 0; i < dmsc_wbxml_doctype_count; i++)
		if (dmsc_wbxml_doctypes[i].public_id != 0 &&
		    dmsc_wbxml_doctypes[i].public_id == id)
			return &dmsc_wbxml_doctypes[i];
	return NULL;
}

static const struct dmsc_wbxml_doctype *doc_type_by_text(const char *text)
{
	for (size_t i = 0; i < dmsc_wbxml_doctype_count; i++)
		if (strcmp(dmsc_wbxml_doctypes[i].public_text, text) == 0)
			return &dmsc_wbxml_doctypes[i];
	return NULL;
}

/* The NUL-terminated string at index of a string table.  The index may
 * point anywhere in the table (WBXML allows references into the middle of
 * a string); the string must end inside the table. */
static int table_string(struct parser *p, const struct reader *rd,
                        const uint8_t *tbl, size_t tbl_len, uint32_t index,
                        size_t index_at, const char **s, size_t *n)
{
	const uint8_t *nul;

	if (index >= tbl_len)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, index_at),
		            "string table index %" PRIu32 " is out of range "
		            "(the table has %zu bytes)", index, tbl_len);
	nul = memchr(tbl + index, 0, tbl_len - index);
	if (nul == NULL)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, index_at),
		            "string at table index %" PRIu32 " is not terminated "
		            "inside the string table", index);
	*s = (const char *)(tbl + index);
	*n = (size_t)(nul - (tbl + index));
	return 0;
}

static int read_public_id(struct parser *p, struct reader *rd,
                          uint32_t *id, uint32_t *index, size_t *index_at)
{
	int rc = need_mb(p, rd, "the public identifier", id);

	if (rc != 0 || *id != 0)
		return rc;
	*index_at = rd->pos;
	return need_mb(p, rd, "the string table index of the public identifier",
	               index);
}

static int read_string_table(struct parser *p, struct reader *rd,
                             size_t max, struct header *h)
{
	size_t len_at = rd->pos;
	uint32_t len;
	int rc = need_mb(p, rd, "the string table length", &len);

	if (rc != 0)
		return rc;
	if (len > max)
		return fail(p, DMSC_WBXML_LIMIT, at(rd, len_at),
		            "string table of %" PRIu32 " bytes is larger than "
		            "max_string_table (%zu)", len, max);
	if (len > rd->len - rd->pos)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, len_at),
		            "truncated: string table of %" PRIu32 " bytes runs "
		            "past the end of input (%zu bytes left)",
		            len, rd->len - rd->pos);
	h->strtbl = rd->buf + rd->pos;
	h->strtbl_len = len;
	rd->pos += len;
	return 0;
}

static int resolve_doc_type(struct parser *p, struct reader *rd,
                            struct header *h, uint32_t id, uint32_t index,
                            size_t id_at, size_t index_at)
{
	const char *text;
	size_t n;
	int rc;

	if (id != 0) {
		h->type = doc_type_by_id(id);
		if (h->type == NULL)
			return fail(p, DMSC_WBXML_UNSUPPORTED, at(rd, id_at),
			            "unknown public identifier 0x%" PRIX32 ": expected "
			            "SyncML 1.1 (0xFD3), SyncML 1.2 (0x1201) or "
			            "MetInf 1.2 (0x1202)", id);
		return 0;
	}
	rc = table_string(p, rd, h->strtbl, h->strtbl_len, index, index_at,
	                  &text, &n);
	if (rc != 0)
		return rc;
	h->type = doc_type_by_text(text);
	if (h->type == NULL)
		return fail(p, DMSC_WBXML_UNSUPPORTED, at(rd, index_at),
		            "unknown public identifier \"%.60s\" in the string table",
		            text);
	return 0;
}

/* Reads version, public identifier, charset and string table, and finds
 * the document type.  With p == NULL (sniffing) nothing is reported. */
static int read_header(struct parser *p, struct reader *rd, size_t strtbl_max,
                       struct header *h)
{
	uint32_t id, index = 0;
	size_t id_at, index_at = 0;
	int rc;

	rc = need_u8(p, rd, "the WBXML version byte", &h->version);
	if (rc != 0)
		return rc;
	if (h->version < 0x01 || h->version > 0x03)
		return fail(p, DMSC_WBXML_UNSUPPORTED, at(rd, 0),
		            "WBXML version byte 0x%02X: expected 0x01-0x03 "
		            "(WBXML 1.1-1.3)", h->version);
	id_at = rd->pos;
	rc = read_public_id(p, rd, &id, &index, &index_at);
	if (rc != 0)
		return rc;
	h->charset_at = rd->pos;
	rc = need_mb(p, rd, "the charset", &h->charset);
	if (rc != 0)
		return rc;
	rc = read_string_table(p, rd, strtbl_max, h);
	if (rc != 0)
		return rc;
	return resolve_doc_type(p, rd, h, id, index, id_at, index_at);
}

/* ---- Text ---- */

static bool xml_char_ok(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD ||
	       (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) ||
	       (c >= 0x10000 && c <= 0x10FFFF);
}

/* Length of the UTF-8 sequence at s (0 if malformed: overlong, surrogate,
 * above U+10FFFF, cut short), its code point in *cp. */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t b = s[0];
	uint8_t lo = 0x80, hi = 0xBF;
	size_t len;
	uint32_t c;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		len = 2;
		c = b & 0x1Fu;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		c = b & 0x0Fu;
		if (b == 0xE0)
			lo = 0xA0;        /* overlong */
		else if (b == 0xED)
			hi = 0x9F;        /* surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		c = b & 0x07u;
		if (b == 0xF0)
			lo = 0x90;        /* overlong */
		else if (b == 0xF4)
			hi = 0x8F;        /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		uint8_t cb = s[i];

		if (cb < (i == 1 ? lo : 0x80) || cb > (i == 1 ? hi : 0xBF))
			return 0;
		c = (c << 6) | (cb & 0x3Fu);
	}
	*cp = c;
	return len;
}

bool dmsc_xml_text_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (n == 0 || !xml_char_ok(cp))
			return false;
		i += n;
	}
	return true;
}

/* Text must be UTF-8 of XML characters, or its XML form could not exist
 * and the canonical form would not parse back.  Reports the first bad
 * byte's offset. */
static int check_xml_text(struct parser *p, const struct reader *rd,
                          const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (len == 0)
			return fail(p, DMSC_WBXML_MALFORMED,
			            at(rd, (size_t)(s + i - rd->buf)),
			            "invalid UTF-8 in a string");
		if (!xml_char_ok(cp))
			return fail(p, DMSC_WBXML_MALFORMED,
			            at(rd, (size_t)(s + i - rd->buf)),
			            "character U+%04" PRIX32 " is not allowed in XML",
			            cp);
		i += len;
	}
	return 0;
}

/* Room for more bytes (and a NUL) in tb, charged to the output budget. */
static int textbuf_reserve(struct parser *p, struct textbuf *tb, size_t more,
                           size_t offset)
{
	size_t need;
	unsigned char *grown;

	if (more > p->output_left)
		return fail(p, DMSC_WBXML_LIMIT, offset,
		            "decoded text would exceed max_output (%zu bytes)",
		            p->lim.max_output);
	p->output_left -= more;
	need = tb->len + more + 1;   /* bounded by max_output: no overflow */
	if (need <= tb->cap)
		return 0;
	if (need < 2 * tb->cap)
		need = 2 * tb->cap;
	grown = xmlRealloc(tb->data, need);
	if (grown == NULL)
		return fail_nomem(p, offset);
	tb->data = grown;
	tb->cap = need;
	return 0;
}

static int textbuf_append(struct parser *p, struct textbuf *tb,
                          const void *s, size_t n, size_t offset)
{
	int rc = textbuf_reserve(p, tb, n, offset);

	if (rc != 0)
		return rc;
	memcpy(tb->data + tb->len, s, n);
	tb->len += n;
	tb->data[tb->len] = 0;
	return 0;
}

static size_t utf8_encode(uint32_t c, uint8_t out[4])
{
	if (c < 0x80) {
		out[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (uint8_t)(0xC0 | (c >> 6));
		out[1] = (uint8_t)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (c >> 12));
		out[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | (c >> 18));
	out[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (uint8_t)(0x80 | (c & 0x3F));
	return 4;
}

/* RFC 4648 base64, standard alphabet, padded, no line breaks. */
static int append_base64(struct parser *p, struct textbuf *tb,
                         const uint8_t *s, size_t n, size_t offset)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t groups = n / 3 + (n % 3 != 0);
	unsigned char *o;
	int rc;

	if (groups > SIZE_MAX / 4)
		return fail(p, DMSC_WBXML_LIMIT, offset,
		            "OPAQUE too large to encode as base64");
	rc = textbuf_reserve(p, tb, groups * 4, offset);
	if (rc != 0)
		return rc;
	o = tb->data + tb->len;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (left > 2)
			v |= s[i + 2];
		*o++ = (unsigned char)alphabet[(v >> 18) & 0x3F];
		*o++ = (unsigned char)alphabet[(v >> 12) & 0x3F];
		*o++ = left > 1 ? (unsigned char)alphabet[(v >> 6) & 0x3F] : '=';
		*o++ = left > 2 ? (unsigned char)alphabet[v & 0x3F] : '=';
	}
	tb->len += groups * 4;
	tb->data[tb->len] = 0;
	return 0;
}

/* STR_I: a NUL-terminated string inline (UTF-8: one zero byte ends it). */
static int read_inline_string(struct parser *p, struct reader *rd,
                              struct textbuf *tb)
{
	const uint8_t *s = rd->buf + rd->pos;
	const uint8_t *nul = memchr(s, 0, rd->len - rd->pos);
	size_t n;
	int rc;

	if (nul == NULL)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, rd->len),
		            "truncated: inline string (STR_I) has no terminating "
		            "zero byte");
	n = (size_t)(nul - s);
	rc = check_xml_text(p, rd, s, n);
	if (rc == 0)
		rc = textbuf_append(p, tb, s, n, at(rd, rd->pos));
	rd->pos += n + 1;
	return rc;
}

/* STR_T: a string-table reference. */
static int read_table_string(struct parser *p, struct document *d,
                             struct textbuf *tb)
{
	struct reader *rd = &d->rd;
	size_t index_at = rd->pos;
	uint32_t index;
	const char *s;
	size_t n;
	int rc;

	rc = need_mb(p, rd, "the string table index of STR_T", &index);
	if (rc == 0)
		rc = table_string(p, rd, d->hdr.strtbl, d->hdr.strtbl_len, index,
		                  index_at, &s, &n);
	if (rc == 0)
		rc = check_xml_text(p, rd, (const uint8_t *)s, n);
	if (rc == 0)
		rc = textbuf_append(p, tb, s, n, at(rd, index_at));
	return rc;
}

/* ENTITY: one character by code point, emitted as UTF-8. */
static int read_entity(struct parser *p, struct reader *rd, struct textbuf *tb)
{
	size_t code_at = rd->pos;
	uint32_t code;
	uint8_t utf8[4];
	int rc = need_mb(p, rd, "the character code of ENTITY", &code);

	if (rc != 0)
		return rc;
	if (!xml_char_ok(code))
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, code_at),
		            "ENTITY code point 0x%" PRIX32 " is not an XML character",
		            code);
	return textbuf_append(p, tb, utf8, utf8_encode(code, utf8),
	                      at(rd, code_at));
}

/* OPAQUE: a length and that many bytes; *data points into the input. */
static int read_opaque(struct parser *p, struct reader *rd,
                       const uint8_t **data, size_t *n)
{
	size_t len_at = rd->pos;
	uint32_t len;
	int rc = need_mb(p, rd, "the length of OPAQUE", &len);

	if (rc != 0)
		return rc;
	if (len > rd->len - rd->pos)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, len_at),
		            "truncated: OPAQUE of %" PRIu32 " bytes runs past the end "
		            "of input (%zu bytes left)", len, rd->len - rd->pos);
	*data = rd->buf + rd->pos;
	*n = len;
	rd->pos += len;
	return 0;
}

/* ---- Tree building ---- */

static struct frame *top_frame(struct parser *p)
{
	return p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
}

/* Move pending content text into the open element as one text node. */
static int flush_text(struct parser *p, size_t offset)
{
	struct frame *top = top_frame(p);
	xmlNodePtr node;

	if (p->text.len == 0 || top == NULL)
		return 0;
	if (p->ev != NULL) {
		if (!p->ev_stopped &&
		    p->ev->text(p->ev_ctx, p->text.data, p->text.len, false) != 0)
			p->ev_stopped = true;
		p->text.len = 0;
		return 0;
	}
	if (p->text.len > INT_MAX)
		return fail(p, DMSC_WBXML_LIMIT, offset,
		            "a text node longer than libxml2 takes (%d bytes)",
		            INT_MAX);
	node = xmlNewDocTextLen(p->doc, p->text.data, (int)p->text.len);
	if (node != NULL && node->content == NULL) {
		xmlFreeNode(node);
		node = NULL;
	}
	if (node == NULL)
		return fail_nomem(p, offset);
	p->text.len = 0;
	/* xmlAddChild may merge node into a text sibling and free it. */
	if (xmlAddChild(top->element, node) == NULL) {
		xmlFreeNode(node);
		return fail_nomem(p, offset);
	}
	return 0;
}

static int push_frame(struct parser *p, const struct frame *f, size_t offset)
{
	if (p->depth == p->stack_cap) {
		size_t cap = p->stack_cap == 0 ? 16 : 2 * p->stack_cap;
		struct frame *grown;

		if (cap > p->lim.max_depth)
			cap = p->lim.max_depth;
		grown = xmlRealloc(p->stack, cap * sizeof *grown);
		if (grown == NULL)
			return fail_nomem(p, offset);
		p->stack = grown;
		p->stack_cap = cap;
	}
	p->stack[p->depth++] = *f;
	return 0;
}

/* A literal tag or attribute name: from the string table, and an XML name
 * without prefix (prefixes would need namespace declarations WBXML cannot
 * carry). */
static int read_literal_name(struct parser *p, struct document *d,
                             const char *what, const char **name)
{
	struct reader *rd = &d->rd;
	size_t index_at = rd->pos;
	uint32_t index;
	size_t n;
	int rc;

	rc = need_mb(p, rd, "the string table index of a literal name", &index);
	if (rc == 0)
		rc = table_string(p, rd, d->hdr.strtbl, d->hdr.strtbl_len, index,
		                  index_at, name, &n);
	if (rc == 0)
		rc = check_xml_text(p, rd, (const uint8_t *)*name, n);
	if (rc != 0)
		return rc;
	if (n == 0 || xmlValidateNCName((const xmlChar *)*name, 0) != 0)
		return fail(p, DMSC_WBXML_MALFORMED, at(rd, index_at),
		            "literal %s name \"%.40s\" is not an XML name without "
		            "prefix", what, *name);
	if (n > p->output_left)
		return fail(p, DMSC_WBXML_LIMIT, at(rd, index_at),
		            "decoded text would exceed max_output (%zu bytes)",
		            p->lim.max_output);
	p->output_left -= n;
	return 0;
}

/* With events: the attribute kept until the start tag is complete: its
 * name (a pointer into the string table, which outlives the decoding, as
 * the consumer may keep it) and its value followed by a NUL. */
static int keep_attribute(struct parser *p, const char *name, size_t name_at)
{
	const char **names = (const char **)(void *)p->names.data;
	int rc;

	for (size_t i = 0; i < p->nattrs; i++)
		if (strcmp(names[i], name) == 0)
			return fail(p, DMSC_WBXML_MALFORMED, name_at,
			            "duplicate attribute \"%.40s\"", name);
	/* Names and values were charged to the budget when read; these
	 * copies are bookkeeping and are not charged again. */
	p->output_left += sizeof name + p->value.len + 1;
	rc = textbuf_append(p, &p->names, &name, sizeof name, name_at);
	if (rc == 0)
		rc = textbuf_append(p, &p->values, p->value.len > 0
		                    ? p->value.data : (const unsigned char *)"",
		                    p->value.len + 1, name_at);
	if (rc != 0)
		return rc;
	p->nattrs++;
	p->value.len = 0;
	return 0;
}

static int set_attribute(struct parser *p, xmlNodePtr element,
                         const char *name, size_t name_at)
{
	if (p->ev != NULL)
		return keep_attribute(p, name, name_at);
	/* An empty value is no text child at all (libxml2 reads it as ""),
	 * so every text child asked for can be checked. */
	const xmlChar *value = p->value.len > 0 ? p->value.data : NULL;
	xmlAttrPtr attr;

	if (xmlHasProp(element, (const xmlChar *)name) != NULL)
		return fail(p, DMSC_WBXML_MALFORMED, name_at,
		            "duplicate attribute \"%.40s\"", name);
	attr = xmlNewProp(element, (const xmlChar *)name, value);
	/* Once created, the attribute is the element's to free. */
	if (attr == NULL || attr->name == NULL ||
	    (value != NULL && (attr->children == NULL ||
	                       attr->children->content == NULL)))
		return fail_nomem(p, name_at);
	p->value.len = 0;
	return 0;
}

static int refuse_token(struct parser *p, uint8_t tok, size_t offset,
                        const char *where)
{
	char buf[16];

	if (tok == WBXML_TOK_PI)
		return fail(p, DMSC_WBXML_UNSUPPORTED, offset,
		            "processing instruction (PI) %s: DM messages carry none",
		            where);
	return fail(p, DMSC_WBXML_UNSUPPORTED, offset,
	            "extension token %s %s: no extensions are defined for OMA DM",
	            token_name(tok, buf), where);
}

static bool is_extension(uint8_t tok)
{
	return (tok >= WBXML_TOK_EXT_I_0 && tok <= WBXML_TOK_EXT_I_2) ||
	       (tok >= WBXML_TOK_EXT_T_0 && tok <= WBXML_TOK_EXT_T_2) ||
	       (tok >= WBXML_TOK_EXT_0 && tok <= WBXML_TOK_EXT_2);
}

/* An attribute value piece: STR_I, STR_T or ENTITY. */
static int read_attribute_value(struct parser *p, struct document *d,
                                uint8_t tok)
{
	switch (tok) {
	case WBXML_TOK_STR_I:
		return read_inline_string(p, &d->rd, &p->value);
	case WBXML_TOK_STR_T:
		return read_table_string(p, d, &p->value);
	default: /* WBXML_TOK_ENTITY */
		return read_entity(p, &d->rd, &p->value);
	}
}

static int switch_page(struct parser *p, struct document *d, unsigned *page,
                       bool tags)
{
	size_t page_at = d->rd.pos;
	uint8_t v;
	int rc = need_u8(p, &d->rd, "the code page of SWITCH_PAGE", &v);

	if (rc != 0)
		return rc;
	/* Attribute code pages have no tokens here (only LITERAL names), so
	 * any attribute page is as good as another. */
	if (tags && (v >= DMSC_WBXML_PAGE_COUNT || d->hdr.type->pages[v] == NULL))
		return fail(p, DMSC_WBXML_MALFORMED, at(&d->rd, page_at),
		            "code page %u is not defined for %s", v,
		            d->hdr.type->name);
	*page = v;
	return 0;
}

/* The attribute list after a tag with bit 7 set, up to its END.  No
 * attribute-start or attribute-value tokens are defined for OMA DM, so
 * names come from LITERAL and values from strings and entities.  OPAQUE is
 * refused: an attribute value is text, with no Format to say what its
 * bytes would mean, and as base64 it would read like a string of those
 * characters (OMA DM defines no attributes at all). */
static int read_attributes(struct parser *p, struct document *d,
                           xmlNodePtr element)
{
	struct reader *rd = &d->rd;
	const char *name = NULL;
	size_t name_at = 0;
	char buf[16];
	int rc = 0;

	p->value.len = 0;
	for (;;) {
		size_t tok_at = rd->pos;
		uint8_t tok;

		rc = need_u8(p, rd, "an attribute or END", &tok);
		if (rc != 0)
			return rc;
		switch (tok) {
		case WBXML_TOK_SWITCH_PAGE:
			rc = switch_page(p, d, &d->attr_page, false);
			break;
		case WBXML_TOK_END:
			return name == NULL ? 0
			                    : set_attribute(p, element, name, name_at);
		case WBXML_TOK_LITERAL:
			if (name != NULL)
				rc = set_attribute(p, element, name, name_at);
			name_at = at(rd, tok_at);
			if (rc == 0)
				rc = read_literal_name(p, d, "attribute", &name);
			if (rc == 0 && strcmp(name, "xmlns") == 0)
				rc = fail(p, DMSC_WBXML_MALFORMED, name_at,
				          "attribute \"xmlns\": namespaces come from code "
				          "pages, not attributes");
			break;
		case WBXML_TOK_OPAQUE:
			return fail(p, DMSC_WBXML_UNSUPPORTED, at(rd, tok_at),
			            "OPAQUE in an attribute value: attribute values "
			            "are text (OMA DM defines no binary attribute)");
		case WBXML_TOK_STR_I:
		case WBXML_TOK_STR_T:
		case WBXML_TOK_ENTITY:
			if (name == NULL)
				return fail(p, DMSC_WBXML_MALFORMED, at(rd, tok_at),
				            "attribute value (%s) before any attribute "
				            "name", token_name(tok, buf));
			rc = read_attribute_value(p, d, tok);
			break;
		default:
			if (tok == WBXML_TOK_PI || is_extension(tok))
				return refuse_token(p, tok, at(rd, tok_at),
				                    "in an attribute list");
			return fail(p, DMSC_WBXML_MALFORMED, at(rd, tok_at),
			            "unknown attribute %s token 0x%02X on attribute code "
			            "page %u: %s defines none (only LITERAL names)",
			            tok < 0x80 ? "start" : "value", tok, d->attr_page,
			            d->hdr.type->name);
		}
		if (rc != 0)
			return rc;
	}
}

/* The element's default namespace: the parent's if it is the same, else
 * a new declaration on the element itself. */
static int set_namespace(struct parser *p, xmlNodePtr element,
                         xmlNsPtr inherited, const char *href,
                         xmlNsPtr *ns, size_t offset)
{
	if (inherited != NULL && inherited->href != NULL &&
	    strcmp((const char *)inherited->href, href) == 0) {
		*ns = inherited;
	} else {
		*ns = xmlNewNs(element, (const xmlChar *)href, NULL);
		/* A declaration without its href is still the element's. */
		if (*ns == NULL || (*ns)->href == NULL)
			return fail_nomem(p, offset);
	}
	xmlSetNs(element, *ns);
	return 0;
}

/* The element's name: from the current code page, or LITERAL. */
static int tag_name(struct parser *p, struct document *d, uint8_t tok,
                    size_t tok_at, const struct dmsc_wbxml_page *page,
                    const char **name)
{
	unsigned id = tok & WBXML_TAG_ID_MASK;

	if (id == WBXML_TOK_LITERAL)
		return read_literal_name(p, d, "tag", name);
	if (id - DMSC_WBXML_TAG_FIRST >= page->count ||
	    page->tags[id - DMSC_WBXML_TAG_FIRST] == NULL)
		return fail(p, DMSC_WBXML_MALFORMED, at(&d->rd, tok_at),
		            "unknown tag 0x%02X on code page %u (%s)", id,
		            d->tag_page, page->name);
	*name = page->tags[id - DMSC_WBXML_TAG_FIRST];
	return 0;
}

static int check_element_limits(struct parser *p, size_t offset)
{
	if (p->depth + 1 > p->lim.max_depth)
		return fail(p, DMSC_WBXML_LIMIT, offset,
		            "elements nested deeper than max_depth (%zu)",
		            p->lim.max_depth);
	if (p->elements + 1 > p->lim.max_elements)
		return fail(p, DMSC_WBXML_LIMIT, offset,
		            "more elements than max_elements (%zu)",
		            p->lim.max_elements);
	p->elements++;
	return 0;
}

static int push_frame(struct parser *p, const struct frame *f, size_t offset);

/* With events: read the attributes, then the start (and, for an element
 * without content, its end) go to the consumer. */
static int start_event(struct parser *p, struct document *d, uint8_t tok,
                       const struct dmsc_wbxml_page *page, struct frame *f,
                       size_t offset)
{
	dmsc_dm_attr small[8], *attrs = small;
	int rc = 0;

	p->names.len = p->values.len = 0;
	p->nattrs = 0;
	if (tok & WBXML_TAG_HAS_ATTRS)
		rc = read_attributes(p, d, NULL);
	if (rc == 0 && p->nattrs > sizeof small / sizeof small[0]) {
		attrs = xmlMalloc(p->nattrs * sizeof *attrs);
		if (attrs == NULL)
			rc = fail_nomem(p, offset);
	}
	if (rc == 0 && !p->ev_stopped) {
		const char **names = (const char **)(void *)p->names.data;
		size_t value_at = 0;

		for (size_t i = 0; i < p->nattrs; i++) {
			const unsigned char *av = p->values.data + value_at;
			size_t vlen = strlen((const char *)av);

			attrs[i] = (dmsc_dm_attr){ .local = names[i], .value = av,
			                           .len = vlen };
			value_at += vlen + 1;
		}
		if (p->ev->start(p->ev_ctx, f->name, NULL, page->ns, attrs,
		                 p->nattrs, 0) != 0)
			p->ev_stopped = true;
	}
	if (attrs != small)
		xmlFree(attrs);
	if (rc != 0)
		return rc;
	if (!(tok & WBXML_TAG_HAS_CONTENT)) {
		if (!p->ev_stopped && p->ev->end(p->ev_ctx) != 0)
			p->ev_stopped = true;
		return 0;
	}
	f->is_data = (tok & WBXML_TAG_ID_MASK) != WBXML_TOK_LITERAL &&
	             page->data_tag != 0 &&
	             (tok & WBXML_TAG_ID_MASK) == page->data_tag;
	return push_frame(p, f, offset);
}

/* A tag token: create the element, attach it, read its attributes, and
 * open it if content follows. */
static int start_element(struct parser *p, struct document *d, uint8_t tok,
                         size_t tok_at)
{
	const struct dmsc_wbxml_page *page = d->hdr.type->pages[d->tag_page];
	struct frame *top = top_frame(p);
	struct frame f = { 0 };
	size_t offset = at(&d->rd, tok_at);
	xmlNodePtr parent = top != NULL ? top->element : d->parent;
	xmlNsPtr inherited = top != NULL ? top->ns : d->parent_ns;
	const char *name = NULL;
	int rc;

	rc = tag_name(p, d, tok, tok_at, page, &name);
	if (rc == 0)
		rc = flush_text(p, offset);
	if (rc == 0)
		rc = check_element_limits(p, offset);
	if (rc != 0)
		return rc;
	f.name = name;
	if (p->ev != NULL)
		return start_event(p, d, tok, page, &f, offset);
	f.element = xmlNewDocNode(p->doc, NULL, (const xmlChar *)name, NULL);
	if (f.element != NULL && f.element->name == NULL) {
		xmlFreeNode(f.element);
		f.element = NULL;
	}
	if (f.element == NULL)
		return fail_nomem(p, offset);
	/* Attached at once, so the document frees it whatever happens next.
	 * There is no old root to replace: only one top-level root is read. */
	if (parent != NULL)
		xmlAddChild(parent, f.element);
	else
		xmlDocSetRootElement(p->doc, f.element);
	if (f.element->parent == NULL) {
		xmlFreeNode(f.element);
		return fail_nomem(p, offset);
	}
	rc = set_namespace(p, f.element, inherited, page->ns, &f.ns, offset);
	if (rc == 0 && (tok & WBXML_TAG_HAS_ATTRS))
		rc = read_attributes(p, d, f.element);
	if (rc != 0 || !(tok & WBXML_TAG_HAS_CONTENT))
		return rc;
	f.is_data = (tok & WBXML_TAG_ID_MASK) != WBXML_TOK_LITERAL &&
	            page->data_tag != 0 &&
	            (tok & WBXML_TAG_ID_MASK) == page->data_tag;
	return push_frame(p, &f, offset);
}

static int decode_document(struct parser *p, const uint8_t *buf, size_t len,
                           size_t base, xmlNodePtr parent, xmlNsPtr parent_ns);

/* A string piece (STR_I, STR_T, ENTITY) in content: refused in an element
 * that holds a binary OPAQUE, whose text is the base64 of those bytes and
 * nothing else.  Merged, "QUJD" and the OPAQUE "xyz" would read as the
 * bytes "ABCxyz". */
static int note_string(struct parser *p, struct frame *top, uint8_t tok,
                       size_t offset)
{
	char buf[16];

	if (top->has_binary)
		return fail(p, DMSC_WBXML_UNSUPPORTED, offset,
		            "%s in <%.40s>, which holds a binary OPAQUE (byte "
		            "%zu): strings and binary data do not mix in one "
		            "element", token_name(tok, buf),
		            top->name, top->binary_at);
	if (!top->has_string) {
		top->has_string = true;
		top->string_at = offset;
	}
	return 0;
}

/* A binary OPAQUE: the element's one piece of text, base64 on a marked
 * element.  A second one, or one beside strings, is refused: their text
 * would merge and no longer say which bytes were sent.  Elements (an
 * embedded document too) may sit beside it, as libwbxml writes the
 * blanks around a TNDS in <Data>: each is then its own text node. */
static int binary_opaque(struct parser *p, struct frame *top,
                         const uint8_t *data, size_t n, size_t tok_at,
                         size_t data_at)
{
	if (top->has_binary)
		return fail(p, DMSC_WBXML_UNSUPPORTED, tok_at,
		            "second binary OPAQUE in <%.40s> (the first at byte "
		            "%zu): an element holds at most one",
		            top->name, top->binary_at);
	if (top->has_string)
		return fail(p, DMSC_WBXML_UNSUPPORTED, tok_at,
		            "binary OPAQUE in <%.40s>, which holds a string (byte "
		            "%zu): strings and binary data do not mix in one "
		            "element", top->name, top->string_at);
	top->has_binary = true;
	top->binary_at = tok_at;
	if (p->ev != NULL) {
		/* The bytes themselves; the budget is charged as for the
		 * base64 the tree holds, so both modes stop at one limit. */
		size_t groups = n / 3 + (n % 3 != 0);

		if (groups * 4 > p->output_left)
			return fail(p, DMSC_WBXML_LIMIT, data_at,
			            "decoded text would exceed max_output (%zu "
			            "bytes)", p->lim.max_output);
		p->output_left -= groups * 4;
		if (n > 0 && !p->ev_stopped &&
		    p->ev->text(p->ev_ctx, data, n, true) != 0)
			p->ev_stopped = true;
		return 0;
	}
	top->element->_private = &binary_mark;
	return append_base64(p, &p->text, data, n, data_at);
}

/* OPAQUE in content: an embedded WBXML document if inside <Data> and it
 * looks like one, else binary, kept as base64 text on a marked element. */
static int read_content_opaque(struct parser *p, struct document *d,
                               size_t tok_at)
{
	struct frame *top = top_frame(p);
	const uint8_t *data = NULL;
	size_t n = 0, data_at;
	int rc = read_opaque(p, &d->rd, &data, &n);

	if (rc != 0)
		return rc;
	data_at = at(&d->rd, (size_t)(data - d->rd.buf));
	if (!top->is_data || !dmsc_wbxml_looks_like(data, n))
		return binary_opaque(p, top, data, n, at(&d->rd, tok_at), data_at);
	if (p->embedded >= p->lim.max_embedded)
		return fail(p, DMSC_WBXML_LIMIT, at(&d->rd, tok_at),
		            "WBXML embedded in <Data> nested deeper than "
		            "max_embedded (%zu)", p->lim.max_embedded);
	rc = flush_text(p, data_at);
	if (rc != 0)
		return rc;
	p->embedded++;
	rc = decode_document(p, data, n, data_at, top->element, top->ns);
	p->embedded--;
	return rc;
}

static int end_element(struct parser *p, size_t offset)
{
	int rc = flush_text(p, offset);

	if (rc == 0)
		p->depth--;
	if (rc == 0 && p->ev != NULL && !p->ev_stopped &&
	    p->ev->end(p->ev_ctx) != 0)
		p->ev_stopped = true;
	return rc;
}

/* One token of element content. */
static int read_content_token(struct parser *p, struct document *d)
{
	struct reader *rd = &d->rd;
	size_t tok_at = rd->pos;
	uint8_t tok;
	int rc = need_u8(p, rd, "element content or END", &tok);

	if (rc != 0)
		return rc;
	switch (tok) {
	case WBXML_TOK_SWITCH_PAGE:
		return switch_page(p, d, &d->tag_page, true);
	case WBXML_TOK_END:
		return end_element(p, at(rd, tok_at));
	case WBXML_TOK_ENTITY:
		rc = note_string(p, top_frame(p), tok, at(rd, tok_at));
		return rc != 0 ? rc : read_entity(p, rd, &p->text);
	case WBXML_TOK_STR_I:
		rc = note_string(p, top_frame(p), tok, at(rd, tok_at));
		return rc != 0 ? rc : read_inline_string(p, rd, &p->text);
	case WBXML_TOK_STR_T:
		rc = note_string(p, top_frame(p), tok, at(rd, tok_at));
		return rc != 0 ? rc : read_table_string(p, d, &p->text);
	case WBXML_TOK_OPAQUE:
		return read_content_opaque(p, d, tok_at);
	default:
		if (tok == WBXML_TOK_PI || is_extension(tok))
			return refuse_token(p, tok, at(rd, tok_at), "in content");
		return start_element(p, d, tok, tok_at);
	}
}

/* body = *pi element *pi; PIs are refused, so: page switches, one root. */
static int read_root(struct parser *p, struct document *d)
{
	struct reader *rd = &d->rd;
	char buf[16];

	for (;;) {
		size_t tok_at = rd->pos;
		uint8_t tok;
		int rc = need_u8(p, rd, "the root element", &tok);

		if (rc != 0)
			return rc;
		if (tok == WBXML_TOK_SWITCH_PAGE) {
			rc = switch_page(p, d, &d->tag_page, true);
			if (rc != 0)
				return rc;
			continue;
		}
		if (tok == WBXML_TOK_PI || is_extension(tok))
			return refuse_token(p, tok, at(rd, tok_at),
			                    "before the root element");
		if ((tok & WBXML_TAG_ID_MASK) < WBXML_TOK_LITERAL)
			return fail(p, DMSC_WBXML_MALFORMED, at(rd, tok_at),
			            "expected the root element, found %s",
			            token_name(tok, buf));
		return start_element(p, d, tok, tok_at);
	}
}

/* Decode one document (the message, or one embedded in <Data>) into the
 * tree under parent.  Its elements go on the shared stack above floor. */
static int decode_document(struct parser *p, const uint8_t *buf, size_t len,
                           size_t base, xmlNodePtr parent, xmlNsPtr parent_ns)
{
	struct document d = {
		.rd = { .buf = buf, .len = len, .pos = 0, .base = base },
		.parent = parent,
		.parent_ns = parent_ns,
	};
	size_t floor = p->depth;
	int rc;

	rc = read_header(p, &d.rd, p->lim.max_string_table, &d.hdr);
	if (rc != 0)
		return rc;
	if (d.hdr.charset != CHARSET_UTF8)
		return fail(p, DMSC_WBXML_UNSUPPORTED, at(&d.rd, d.hdr.charset_at),
		            "charset %" PRIu32 " is not UTF-8 (106): only UTF-8 "
		            "is accepted", d.hdr.charset);
	rc = read_root(p, &d);
	while (rc == 0 && p->depth > floor)
		rc = read_content_token(p, &d);
	if (rc == 0 && d.rd.pos != d.rd.len)
		rc = fail(p, DMSC_WBXML_MALFORMED, at(&d.rd, d.rd.pos),
		          "%zu trailing bytes after the root element: expected "
		          "the end of the document", d.rd.len - d.rd.pos);
	return rc;
}

/* ---- Public API ---- */

void dmsc_wbxml_limits_default(dmsc_wbxml_limits *lim)
{
	lim->max_input = DMSC_WBXML_DEFAULT_MAX_INPUT;
	lim->max_depth = DMSC_WBXML_DEFAULT_MAX_DEPTH;
	lim->max_elements = DMSC_WBXML_DEFAULT_MAX_ELEMENTS;
	lim->max_string_table = DMSC_WBXML_DEFAULT_MAX_STRING_TABLE;
	lim->max_embedded = DMSC_WBXML_DEFAULT_MAX_EMBEDDED;
	lim->max_output = DMSC_WBXML_DEFAULT_MAX_OUTPUT;
}

/* Zero fields take the default; max_embedded is capped for the stack. */
static void effective_limits(const dmsc_wbxml_limits *given,
                             dmsc_wbxml_limits *lim)
{
	dmsc_wbxml_limits_default(lim);
	if (given == NULL)
		return;
	if (given->max_input != 0)
		lim->max_input = given->max_input;
	if (given->max_depth != 0)
		lim->max_depth = given->max_depth;
	if (given->max_elements != 0)
		lim->max_elements = given->max_elements;
	if (given->max_string_table != 0)
		lim->max_string_table = given->max_string_table;
	if (given->max_embedded != 0)
		lim->max_embedded = given->max_embedded;
	if (lim->max_embedded > DMSC_WBXML_EMBEDDED_CAP)
		lim->max_embedded = DMSC_WBXML_EMBEDDED_CAP;
	if (given->max_output != 0)
		lim->max_output = given->max_output;
}

bool dmsc_wbxml_looks_like(const unsigned char *buf, size_t len)
{
	struct reader rd = { .buf = buf, .len = len, .pos = 0, .base = 0 };
	struct header h;

	if (buf == NULL)
		return false;
	return read_header(NULL, &rd, SIZE_MAX, &h) == 0;
}

int dmsc_wbxml_decode(const unsigned char *buf, size_t len,
                      const dmsc_wbxml_limits *lim, xmlDocPtr *out,
                      dmsc_wbxml_error *err)
{
	struct parser p = { .err = err, .status = DMSC_WBXML_OK };
	int rc;

	if (err != NULL) {
		err->offset = 0;
		err->message[0] = '\0';
	}
	effective_limits(lim, &p.lim);
	p.output_left = p.lim.max_output;
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (buf == NULL && len != 0)) {
		rc = fail(&p, DMSC_WBXML_MALFORMED, 0, "no input or no output given");
		goto done;
	}
	if (len > p.lim.max_input) {
		rc = fail(&p, DMSC_WBXML_LIMIT, p.lim.max_input,
		          "input of %zu bytes is larger than max_input (%zu)",
		          len, p.lim.max_input);
		goto done;
	}
	p.doc = xmlNewDoc((const xmlChar *)"1.0");
	if (p.doc == NULL) {
		rc = fail_nomem(&p, 0);
		goto done;
	}
	rc = decode_document(&p, buf != NULL ? buf : (const uint8_t *)"", len, 0,
	                     NULL, NULL);
done:
	xmlFree(p.stack);
	xmlFree(p.text.data);
	xmlFree(p.value.data);
	if (rc != DMSC_WBXML_OK)
		xmlFreeDoc(p.doc);
	else
		*out = p.doc;
	return rc;
}

int dmsc_wbxml_decode_events(const unsigned char *buf, size_t len,
                             const dmsc_wbxml_limits *lim,
                             const dmsc_dm_events *ev, void *ctx,
                             dmsc_wbxml_error *err)
{
	struct parser p = { .err = err, .status = DMSC_WBXML_OK, .ev = ev,
	                    .ev_ctx = ctx };
	int rc;

	if (err != NULL) {
		err->offset = 0;
		err->message[0] = '\0';
	}
	effective_limits(lim, &p.lim);
	p.output_left = p.lim.max_output;
	if (ev == NULL || (buf == NULL && len != 0))
		rc = fail(&p, DMSC_WBXML_MALFORMED, 0,
		          "no input or no consumer given");
	else if (len > p.lim.max_input)
		rc = fail(&p, DMSC_WBXML_LIMIT, p.lim.max_input,
		          "input of %zu bytes is larger than max_input (%zu)",
		          len, p.lim.max_input);
	else
		rc = decode_document(&p, buf != NULL ? buf : (const uint8_t *)"",
		                     len, 0, NULL, NULL);
	xmlFree(p.stack);
	if (p.text.data != NULL)
		explicit_bzero(p.text.data, p.text.cap);
	xmlFree(p.text.data);
	xmlFree(p.value.data);
	xmlFree(p.names.data);
	xmlFree(p.values.data);
	return rc;
}

bool dmsc_wbxml_is_binary(const xmlNode *element)
{
	return element != NULL && element->type == XML_ELEMENT_NODE &&
	       element->_private == &binary_mark;
}
