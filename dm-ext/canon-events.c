/*
 * dm-ext/canon-events.c - the canonical form from reader events (see
 * canon-events.h and dm-ext/CANON.md).
 *
 * Open elements are frames.  A frame is either written as it goes (its
 * start tag is out, its children follow one by one) or held: built as a
 * small tree of our own (struct node) inside its parent, because its
 * bytes depend on what comes later (canon-events.h lists which).  Once a
 * written frame holds a child back, every later child queues behind it,
 * so the output keeps document order; a queued child goes out as soon as
 * it is complete and nothing later can change it, the rest at the
 * frame's end.
 *
 * The rules are the tree path's (canon.c), applied at the same point of
 * an element's life: at the end of each element, its own step (a WBXML
 * OPAQUE outside Data and Value becomes text; its Data, its Items' Data
 * and its Node's Values are read in their Format; its Meta Format "bin"
 * is marked to be written "b64" if it decided some Data; whitespace-only
 * text goes where it also holds elements).  Everything such a step looks
 * at is held when it runs.  A Data's or Value's whitespace goes after it
 * is read, as in the tree path, where a converted OPAQUE may turn out to
 * be blanks.
 *
 * Exclusive C14N 1.0 is written by hand, as libxml2 writes it: namespace
 * declarations where visibly utilised and not yet in force in the output,
 * sorted by prefix; attributes sorted by namespace name then local name;
 * the C14N escapes in text and attribute values; empty elements as a
 * start and an end tag.  Output collects in a buffer that goes to the
 * sink when full and at the end.
 *
 * A normalisation error does not stop the reader: the first one is kept
 * and reported by dmsc_canon_ev_finish(), unless the reader fails first.
 * Memory comes from libxml2's allocator, as in the rest of dm-ext.
 */
#include "canon-events.h"

#include "base64.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/chvalid.h>
#include <libxml/xmlmemory.h>

#define OUT_CAP (64u * 1024u)
#define NAME_CACHE 61u

/* Namespaces the rules know. */
enum ns { NS_OTHER, NS_SYNCML, NS_METINF, NS_DDF };

/* Element names the rules look at. */
enum name {
	N_OTHER, N_DATA, N_ITEM, N_META, N_FORMAT, N_METINF, N_VALUE, N_NODE,
	N_RTPROPS, N_B64, N_BIN, N_CMDID, N_ATOMIC, N_SEQUENCE, N_SYNCBODY,
	N_SYNCML,
};

enum format { FORMAT_TEXT, FORMAT_B64, FORMAT_BIN };

/* A held element or text. */
struct node {
	struct node *next;
	struct node *parent;              /* NULL: in a written frame's queue */
	size_t frame_depth;               /* frames open when it started */
	struct node *children, *last;     /* element */
	const char *local, *prefix, *uri; /* element */
	dmsc_dm_attr *attrs;              /* element, one block with values */
	size_t nattrs;
	unsigned char *text;              /* text */
	size_t len, cap;
	int line;                         /* element: of its start tag */
	uint8_t ns, name;
	bool is_text;
	bool opaque;       /* text: the raw bytes of a WBXML OPAQUE */
	bool complete;     /* element: ended, its own step done */
	bool as_b64;       /* Format "bin" that decided Data: write "b64" */
	bool is_unit;      /* the SyncBody of a SyncBody unit */
	bool candidate;    /* CmdID unit: a command that may be the unit */
	bool container;    /* CmdID unit: its commands are candidates */
};

enum run { RUN_NONE, RUN_SPACE, RUN_TEXT };

struct frame {
	struct node *node;                /* held: the node being built */
	const char *local, *prefix;       /* written: for the end tag */
	uint8_t ns, name;
	bool render;       /* written: inside the unit, so output */
	bool container;
	bool has_element;  /* written: an element child came */
	size_t ns_mark;    /* written and rendered: namespaces in force */
	struct node *qhead, *qtail;       /* written: children held back */
	enum run run;      /* written: the text run now open */
};

struct nsdecl {
	const char *prefix;   /* "" for the default namespace */
	const char *uri;      /* "" for none */
};

struct dmsc_canon_ev {
	dmsc_canon_unit unit;
	const char *cmdid;
	bool bad_select;
	dmsc_canon_sink sink;
	void *ctx;
	struct frame *frames;
	size_t depth, frames_cap;
	struct nsdecl *ns;
	size_t ns_len, ns_cap;
	unsigned char *space;             /* the open whitespace-only run */
	size_t space_len, space_cap;
	bool root_is_syncml;
	char root[48];                    /* its local name (the reader's
	                                     strings are gone at the end) */
	bool body_seen;                   /* the SyncBody to select from */
	int found;                        /* CmdID matches */
	char first_path[96];              /* where the first one is */
	int first_line;
	int status;                       /* first failure */
	dmsc_dm_error failure;
	const char *last_uri;             /* the ns_of() cache */
	uint8_t last_ns;
	const char *name_key[NAME_CACHE]; /* the name_of() cache */
	uint8_t name_val[NAME_CACHE];
	size_t out_len;
	size_t out_used;                  /* the most of out ever used */
	unsigned char out[OUT_CAP];
};

/* ---- Failures ---- */

static int fail(struct dmsc_canon_ev *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct dmsc_canon_ev *c, int status, const char *fmt, ...)
{
	va_list ap;

	if (c->status != DMSC_DM_OK)
		return c->status;
	c->status = status;
	c->failure.offset = DMSC_DM_NO_OFFSET;
	c->failure.line = 0;
	va_start(ap, fmt);
	vsnprintf(c->failure.message, sizeof c->failure.message, fmt, ap);
	va_end(ap);
	return status;
}

static int nomem(struct dmsc_canon_ev *c)
{
	return fail(c, DMSC_DM_NOMEM, "out of memory");
}

/* "/SyncML/SyncBody/Replace/Item/Data": the names of the written frames
 * around n (all open ones if n is NULL), then of its held ancestors. */
static void where(const struct dmsc_canon_ev *c, const struct node *n,
                  char *out, size_t size)
{
	const struct node *chain[64];
	size_t depth = c->depth, held = 0, pos = 0;

	for (const struct node *k = n; k != NULL; k = k->parent) {
		if (held < sizeof chain / sizeof chain[0])
			chain[held++] = k;
		if (k->parent == NULL)
			depth = k->frame_depth;
	}
	out[0] = '\0';
	for (size_t i = 0; i < depth && i < c->depth && pos < size; i++) {
		int len = snprintf(out + pos, size - pos, "/%.40s",
		                   c->frames[i].local);

		if (len < 0)
			return;
		pos += (size_t)len;
	}
	while (held > 0 && pos < size) {
		int len = snprintf(out + pos, size - pos, "/%.40s",
		                   chain[--held]->local);

		if (len < 0)
			return;
		pos += (size_t)len;
	}
}

static int node_fail(struct dmsc_canon_ev *c, const struct node *n,
                     int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int node_fail(struct dmsc_canon_ev *c, const struct node *n,
                     int status, const char *fmt, ...)
{
	char path[96], what[160];
	va_list ap;

	bool first = c->status == DMSC_DM_OK;

	where(c, n, path, sizeof path);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (n == NULL || n->line <= 0)
		return fail(c, status, "%s: %s", path, what);
	fail(c, status, "%s (line %d): %s", path, n->line, what);
	if (first)
		c->failure.line = n->line;
	return status;
}

/* ---- Output ---- */

static void flush(struct dmsc_canon_ev *c)
{
	if (c->out_len == 0)
		return;
	if (c->out_len > c->out_used)
		c->out_used = c->out_len;
	if (c->status == DMSC_DM_OK && c->sink(c->ctx, c->out, c->out_len) != 0)
		fail(c, DMSC_DM_SINK, "the output sink stopped the canonical "
		     "form");
	c->out_len = 0;
}

static void put(struct dmsc_canon_ev *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len <= OUT_CAP - c->out_len) {
		memcpy(c->out + c->out_len, p, len);
		c->out_len += len;
		return;
	}
	while (len > 0) {
		size_t room = OUT_CAP - c->out_len;
		size_t n = len < room ? len : room;

		memcpy(c->out + c->out_len, p, n);
		c->out_len += n;
		p += n;
		len -= n;
		if (c->out_len == OUT_CAP)
			flush(c);
	}
}

static void puts_(struct dmsc_canon_ev *c, const char *s)
{
	put(c, s, strlen(s));
}

/* Does any of the 8 bytes in x equal b?  (The zero-byte test of
 * x ^ b repeated.) */
static uint64_t has_byte(uint64_t x, unsigned char b)
{
	uint64_t v = x ^ (0x0101010101010101ull * b);

	return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
}

/* Text as C14N escapes it: & < > and CR.  Most text has none of them:
 * it is checked 8 bytes at a time and copied in runs. */
static void put_text(struct dmsc_canon_ev *c, const unsigned char *s,
                     size_t len)
{
	size_t start = 0, i = 0;

	while (i < len) {
		const char *esc;

		if (len - i >= 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if ((has_byte(x, '&') | has_byte(x, '<') |
			     has_byte(x, '>') | has_byte(x, '\r')) == 0) {
				i += 8;
				continue;
			}
		}
		switch (s[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '\r': esc = "&#xD;"; break;
		default: i++; continue;
		}
		put(c, s + start, i - start);
		puts_(c, esc);
		start = ++i;
	}
	put(c, s + start, len - start);
}

/* An attribute value as C14N escapes it: & < " TAB LF CR. */
static void put_attr_value(struct dmsc_canon_ev *c, const unsigned char *s,
                           size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		const char *esc;

		switch (s[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '"': esc = "&quot;"; break;
		case '\t': esc = "&#x9;"; break;
		case '\n': esc = "&#xA;"; break;
		case '\r': esc = "&#xD;"; break;
		default: continue;
		}
		put(c, s + start, i - start);
		puts_(c, esc);
		start = i + 1;
	}
	put(c, s + start, len - start);
}

/* A namespace name quoted as libxml2's C14N writes it (it does not
 * escape it): in double quotes, in single quotes if it holds a double
 * one, with &quot; if it holds both. */
static void put_ns_uri(struct dmsc_canon_ev *c, const char *uri)
{
	if (strchr(uri, '"') == NULL) {
		puts_(c, "\"");
		puts_(c, uri);
		puts_(c, "\"");
	} else if (strchr(uri, '\'') == NULL) {
		puts_(c, "'");
		puts_(c, uri);
		puts_(c, "'");
	} else {
		puts_(c, "\"");
		for (const char *p = uri; *p != '\0'; p++) {
			if (*p == '"')
				puts_(c, "&quot;");
			else
				put(c, p, 1);
		}
		puts_(c, "\"");
	}
}

/* ---- Exclusive C14N of one start tag ---- */

#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Is prefix already bound to uri in the output?  The nearest declaration
 * of the prefix decides; with none, only the empty default is. */
static bool ns_rendered(const struct dmsc_canon_ev *c, const char *prefix,
                        const char *uri)
{
	for (size_t i = c->ns_len; i > 0; i--) {
		const struct nsdecl *d = &c->ns[i - 1];

		if (d->prefix == prefix || strcmp(d->prefix, prefix) == 0)
			return d->uri == uri || strcmp(d->uri, uri) == 0;
	}
	return prefix[0] == '\0' && uri[0] == '\0';
}

static int ns_push(struct dmsc_canon_ev *c, const char *prefix,
                   const char *uri)
{
	if (c->ns_len == c->ns_cap) {
		size_t cap = c->ns_cap == 0 ? 32 : 2 * c->ns_cap;
		struct nsdecl *grown = xmlRealloc(c->ns, cap * sizeof *grown);

		if (grown == NULL)
			return nomem(c);
		c->ns = grown;
		c->ns_cap = cap;
	}
	c->ns[c->ns_len++] = (struct nsdecl){ prefix, uri };
	return 0;
}

static int attr_order(const dmsc_dm_attr *a, const dmsc_dm_attr *b)
{
	int r;

	if ((a->uri == NULL) != (b->uri == NULL))
		return a->uri == NULL ? -1 : 1;
	if (a->uri != NULL) {
		r = strcmp(a->uri, b->uri);
		if (r != 0)
			return r;
	}
	return strcmp(a->local, b->local);
}

/* Write "<name xmlns...attrs>" and bring the namespaces in force.  The
 * caller restores c->ns_len at the element's end. */
static int start_tag(struct dmsc_canon_ev *c, const char *local,
                     const char *prefix, const char *uri,
                     const dmsc_dm_attr *attrs, size_t n)
{
	struct nsdecl decl[9], *list = decl;
	const dmsc_dm_attr *sorted_small[8], **sorted = sorted_small;
	size_t nl = 0;
	int rc = 0;

	if (n + 1 > 9) {
		list = xmlMalloc((n + 1) * sizeof *list);
		sorted = xmlMalloc(n * sizeof *sorted);
		if (list == NULL || sorted == NULL) {
			rc = nomem(c);
			goto done;
		}
	}
	/* The element's own namespace, the default one if it has no
	 * prefix ("" if none: then xmlns="" where a default is in force). */
	if (uri == NULL || strcmp(uri, XML_NS_URI) != 0) {
		const char *p = nz(prefix), *u = nz(uri);

		if (!ns_rendered(c, p, u))
			list[nl++] = (struct nsdecl){ p, u };
		rc = ns_push(c, p, u);
	}
	/* Namespaces of prefixed attributes (never the xml one). */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const dmsc_dm_attr *a = &attrs[i];

		sorted[i] = a;
		if (a->uri == NULL || strcmp(a->uri, XML_NS_URI) == 0)
			continue;
		if (!ns_rendered(c, nz(a->prefix), a->uri))
			list[nl++] = (struct nsdecl){ nz(a->prefix), a->uri };
		rc = ns_push(c, nz(a->prefix), a->uri);
	}
	if (rc != 0)
		goto done;
	/* Insertion sorts: both lists are short. */
	for (size_t i = 1; i < nl; i++)
		for (size_t j = i; j > 0 &&
		     strcmp(list[j - 1].prefix, list[j].prefix) > 0; j--) {
			struct nsdecl t = list[j];

			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && attr_order(sorted[j - 1], sorted[j]) > 0;
		     j--) {
			const dmsc_dm_attr *t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	puts_(c, "<");
	if (prefix != NULL) {
		puts_(c, prefix);
		puts_(c, ":");
	}
	puts_(c, local);
	for (size_t i = 0; i < nl; i++) {
		if (list[i].prefix[0] != '\0') {
			puts_(c, " xmlns:");
			puts_(c, list[i].prefix);
			puts_(c, "=");
		} else {
			puts_(c, " xmlns=");
		}
		put_ns_uri(c, list[i].uri);
	}
	for (size_t i = 0; i < n; i++) {
		puts_(c, " ");
		if (sorted[i]->prefix != NULL) {
			puts_(c, sorted[i]->prefix);
			puts_(c, ":");
		}
		puts_(c, sorted[i]->local);
		puts_(c, "=\"");
		put_attr_value(c, sorted[i]->value, sorted[i]->len);
		puts_(c, "\"");
	}
	puts_(c, ">");
done:
	if (list != decl)
		xmlFree(list);
	if (sorted != sorted_small)
		xmlFree(sorted);
	return rc;
}

static void end_tag(struct dmsc_canon_ev *c, const char *local,
                    const char *prefix)
{
	puts_(c, "</");
	if (prefix != NULL) {
		puts_(c, prefix);
		puts_(c, ":");
	}
	puts_(c, local);
	puts_(c, ">");
}

/* ---- Names ---- */

static uint8_t ns_lookup(const char *uri)
{
	if (uri == NULL)
		return NS_OTHER;
	if (strcmp(uri, DMSC_DM_NS_SYNCML12) == 0 ||
	    strcmp(uri, DMSC_DM_NS_SYNCML11) == 0)
		return NS_SYNCML;
	if (strcmp(uri, DMSC_DM_NS_METINF) == 0)
		return NS_METINF;
	if (strcmp(uri, DMSC_DM_NS_DMDDF12) == 0)
		return NS_DDF;
	return NS_OTHER;
}

static uint8_t name_lookup(const char *local)
{
	static const struct { const char *s; size_t len; uint8_t id; } names[] = {
		{ "Data", 4, N_DATA }, { "Item", 4, N_ITEM },
		{ "Meta", 4, N_META }, { "Node", 4, N_NODE },
		{ "Format", 6, N_FORMAT }, { "MetInf", 6, N_METINF },
		{ "Atomic", 6, N_ATOMIC }, { "SyncML", 6, N_SYNCML },
		{ "Value", 5, N_VALUE }, { "CmdID", 5, N_CMDID },
		{ "RTProperties", 12, N_RTPROPS }, { "b64", 3, N_B64 },
		{ "bin", 3, N_BIN }, { "Sequence", 8, N_SEQUENCE },
		{ "SyncBody", 8, N_SYNCBODY },
	};
	size_t len = strlen(local);

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].len == len && memcmp(local, names[i].s, len) == 0)
			return names[i].id;
	return N_OTHER;
}

/* The reader's names are interned (libxml2's dictionary, the WBXML code
 * page tables), so most lookups are answered by the pointer, from a
 * small cache that lives as long as the message. */
static uint8_t ns_of(struct dmsc_canon_ev *c, const char *uri)
{
	if (uri == NULL)
		return NS_OTHER;
	if (uri != c->last_uri) {
		c->last_uri = uri;
		c->last_ns = ns_lookup(uri);
	}
	return c->last_ns;
}

static uint8_t name_of(struct dmsc_canon_ev *c, const char *local)
{
	size_t slot = ((uintptr_t)local >> 3) % NAME_CACHE;

	if (c->name_key[slot] != local) {
		c->name_key[slot] = local;
		c->name_val[slot] = name_lookup(local);
	}
	return c->name_val[slot];
}

static bool is_el(const struct node *n, uint8_t ns, uint8_t name)
{
	return n != NULL && !n->is_text && n->ns == ns && n->name == name;
}

/* Held by its parent until the parent's end: what it writes depends on
 * later siblings, or a later sibling's on it. */
static bool waits_for_parent(uint8_t ns, uint8_t name)
{
	return (ns == NS_SYNCML &&
	        (name == N_DATA || name == N_ITEM || name == N_META)) ||
	       (ns == NS_DDF && (name == N_VALUE || name == N_RTPROPS));
}

static bool xml_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool all_space(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!xml_space(s[i]))
			return false;
	return true;
}

/* ---- Held nodes ---- */

static void node_free(struct node *n)
{
	while (n != NULL) {
		struct node *next = n->next;

		node_free(n->children);
		if (n->text != NULL)
			explicit_bzero(n->text, n->len);
		xmlFree(n->text);
		xmlFree(n->attrs);
		xmlFree(n);
		n = next;
	}
}

static struct node *new_element(struct dmsc_canon_ev *c, const char *local,
                                const char *prefix, const char *uri,
                                const dmsc_dm_attr *attrs, size_t n)
{
	struct node *e = xmlMalloc(sizeof *e);
	size_t bytes = n * sizeof(dmsc_dm_attr);
	unsigned char *values;

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof *e);
	e->local = local;
	e->prefix = prefix;
	e->uri = uri;
	e->ns = ns_of(c, uri);
	e->name = name_of(c, local);
	if (n == 0)
		return e;
	for (size_t i = 0; i < n; i++)
		bytes += attrs[i].len;
	e->attrs = xmlMalloc(bytes);
	if (e->attrs == NULL) {
		xmlFree(e);
		return NULL;
	}
	e->nattrs = n;
	values = (unsigned char *)(e->attrs + n);
	for (size_t i = 0; i < n; i++) {
		e->attrs[i] = (dmsc_dm_attr){ attrs[i].local, attrs[i].prefix,
		                              attrs[i].uri, values, attrs[i].len };
		memcpy(values, attrs[i].value, attrs[i].len);
		values += attrs[i].len;
	}
	return e;
}

static void append_child(struct node **head, struct node **tail,
                         struct node *n)
{
	if (*tail != NULL)
		(*tail)->next = n;
	else
		*head = n;
	*tail = n;
}

static int text_append(struct dmsc_canon_ev *c, struct node *t,
                       const unsigned char *s, size_t n)
{
	if (n > t->cap - t->len) {
		size_t cap = t->cap < 64 ? 64 : t->cap;
		unsigned char *grown;

		while (cap - t->len < n) {
			if (cap > SIZE_MAX / 2)
				return nomem(c);
			cap *= 2;
		}
		/* Not xmlRealloc: the old block is wiped before it goes. */
		grown = xmlMallocAtomic(cap);
		if (grown == NULL)
			return nomem(c);
		if (t->len > 0)
			memcpy(grown, t->text, t->len);
		if (t->text != NULL)
			explicit_bzero(t->text, t->len);
		xmlFree(t->text);
		t->text = grown;
		t->cap = cap;
	}
	memcpy(t->text + t->len, s, n);
	t->len += n;
	return 0;
}

/* Add text to a list of children: to the last text node unless either
 * piece is an OPAQUE (each is its own text). */
static int add_text(struct dmsc_canon_ev *c, struct node **head,
                    struct node **tail, const unsigned char *s, size_t n,
                    bool opaque)
{
	struct node *t = *tail;

	if (t == NULL || !t->is_text || t->opaque || opaque) {
		t = xmlMalloc(sizeof *t);
		if (t == NULL)
			return nomem(c);
		memset(t, 0, sizeof *t);
		t->is_text = true;
		t->opaque = opaque;
		append_child(head, tail, t);
	}
	return text_append(c, t, s, n);
}

/* Replace a text node's bytes. */
static int text_set(struct dmsc_canon_ev *c, struct node *t,
                    const unsigned char *s, size_t n)
{
	if (t->text != NULL)
		explicit_bzero(t->text, t->len);
	t->len = 0;
	t->opaque = false;
	return text_append(c, t, s, n);
}

/* ---- The rules (CANON.md section 3), on held children ---- */

/* The text of an element holding one text and nothing else ("" if
 * empty), NULL otherwise. */
static bool simple_text(const struct node *el, const unsigned char **s,
                        size_t *n)
{
	const struct node *t = el->children;

	if (t == NULL) {
		*s = (const unsigned char *)"";
		*n = 0;
		return true;
	}
	if (t->next != NULL || !t->is_text || t->opaque)
		return false;
	*s = t->text != NULL ? t->text : (const unsigned char *)"";
	*n = t->len;
	return true;
}

/* True if s is word with only XML whitespace around it. */
static bool text_is(const unsigned char *s, size_t n, const char *word)
{
	size_t w = strlen(word), i = 0;

	while (i < n && xml_space(s[i]))
		i++;
	if (n - i < w || memcmp(s + i, word, w) != 0)
		return false;
	return all_space(s + i + w, n - i - w);
}

/* The Format of a holder's Meta: Meta/Format (MetInf or SyncML
 * namespace) or Meta/MetInf/Format (MetInf), the first in document
 * order. */
static struct node *meta_format(struct node *children)
{
	for (struct node *m = children; m != NULL; m = m->next) {
		if (!is_el(m, NS_SYNCML, N_META))
			continue;
		for (struct node *f = m->children; f != NULL; f = f->next) {
			if (!f->is_text && f->name == N_FORMAT &&
			    (f->ns == NS_METINF || f->ns == NS_SYNCML))
				return f;
			if (is_el(f, NS_METINF, N_METINF))
				for (struct node *g = f->children; g != NULL;
				     g = g->next)
					if (is_el(g, NS_METINF, N_FORMAT))
						return g;
		}
	}
	return NULL;
}

static enum format format_of(const struct node *f)
{
	const unsigned char *s;
	size_t n;

	if (f == NULL || !simple_text(f, &s, &n))
		return FORMAT_TEXT;
	if (text_is(s, n, "b64"))
		return FORMAT_B64;
	if (text_is(s, n, "bin"))
		return FORMAT_BIN;
	return FORMAT_TEXT;
}

/* A TNDS Node's format, from RTProperties/Format/<b64/> or <bin/>. */
static enum format node_format(const struct node *children)
{
	for (const struct node *p = children; p != NULL; p = p->next) {
		if (!is_el(p, NS_DDF, N_RTPROPS))
			continue;
		for (const struct node *f = p->children; f != NULL; f = f->next) {
			const struct node *kind = f->children;

			if (!is_el(f, NS_DDF, N_FORMAT))
				continue;
			while (kind != NULL && kind->is_text)
				kind = kind->next;
			if (is_el(kind, NS_DDF, N_B64))
				return FORMAT_B64;
			if (is_el(kind, NS_DDF, N_BIN))
				return FORMAT_BIN;
			return FORMAT_TEXT;
		}
	}
	return FORMAT_TEXT;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF) and its code
 * point, or 0.  (libxml2 2.9's xmlGetUTF8Char() takes a continuation byte
 * as a lead byte and overlong forms: found by fuzzing.) */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		v = s[0] & 0x1Fu;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		v = s[0] & 0x0Fu;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		v = s[0] & 0x07u;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3Fu);
	}
	*cp = v;
	return len;
}

bool dmsc_canon_xml_text_ok(const unsigned char *s, size_t n, size_t *bad)
{
	size_t i = 0;

	while (i < n) {
		uint32_t ch;
		size_t len = s[i] < 0x80 ? 1 : utf8_char(s + i, n - i, &ch);

		if (len == 1 && s[i] < 0x80)
			ch = s[i];
		if (len == 0 || !xmlIsCharQ(ch)) {
			*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

/* An OPAQUE read as text: UTF-8 of XML characters, else refused. */
static int opaque_as_text(struct dmsc_canon_ev *c, const struct node *el,
                          const unsigned char *s, size_t n)
{
	size_t bad;

	if (dmsc_canon_xml_text_ok(s, n, &bad))
		return 0;
	return node_fail(c, el, DMSC_DM_UNSUPPORTED, "OPAQUE byte %zu (0x%02X) "
	                 "is not UTF-8 text, but the Format is not bin or b64",
	                 bad, s[bad]);
}

static int opaque_to_text(struct dmsc_canon_ev *c, struct node *el)
{
	for (struct node *t = el->children; t != NULL; t = t->next) {
		int rc;

		if (!t->is_text || !t->opaque)
			continue;
		rc = opaque_as_text(c, el, t->text, t->len);
		if (rc != 0)
			return rc;
		t->opaque = false;
	}
	return 0;
}

/* Bytes written as the text's new content, base64. */
static int set_base64(struct dmsc_canon_ev *c, struct node *t,
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
	rc = text_set(c, t, (const unsigned char *)b64, len);
	xmlFree(b64);
	return rc;
}

/* Format b64 or bin (canon.c's binary_content()). */
static int binary_content(struct dmsc_canon_ev *c, struct node *el,
                          enum format fmt)
{
	const char *name = fmt == FORMAT_B64 ? "b64" : "bin";
	struct node *t = el->children;
	unsigned char *bytes;
	const unsigned char *b64;
	size_t n, len, bad;
	int rc;

	for (struct node *k = el->children; k != NULL; k = k->next)
		if (!k->is_text)
			return node_fail(c, el, DMSC_DM_UNSUPPORTED, "Format %s, "
			                 "but the content has elements: expected "
			                 "base64 text", name);
	if (t == NULL)
		return 0;
	if (t->opaque && fmt == FORMAT_BIN)
		return set_base64(c, t, t->text, t->len);
	if (t->opaque && memchr(t->text, 0, t->len) != NULL)
		return node_fail(c, el, DMSC_DM_MALFORMED, "Format b64, but the "
		                 "OPAQUE holds a zero byte: expected base64 text");
	b64 = t->text;
	len = t->len;
	if (len != 0 && dmsc_base64_is_canonical((const char *)b64, len)) {
		t->opaque = false;
		return 0;
	}
	bytes = xmlMallocAtomic(len / 4 * 3 + 1);
	if (bytes == NULL)
		return nomem(c);
	if (!dmsc_base64_decode((const char *)b64, len, true, bytes, &n, &bad))
		rc = node_fail(c, el, DMSC_DM_MALFORMED, "Format %s, but "
		               "character %zu of the text is not base64: expected "
		               "A-Z a-z 0-9 + / and '=' padding at the end", name,
		               bad);
	else
		rc = set_base64(c, t, bytes, n);
	xmlFree(bytes);
	return rc;
}

/* Whitespace-only text where the element also holds elements goes. */
static void drop_layout(struct node *el)
{
	struct node **link = &el->children, *n;
	bool has_element = false;

	for (n = el->children; n != NULL; n = n->next)
		if (!n->is_text)
			has_element = true;
	if (!has_element)
		return;
	el->last = NULL;
	while ((n = *link) != NULL) {
		if (n->is_text && !n->opaque && all_space(n->text, n->len)) {
			*link = n->next;
			n->next = NULL;
			node_free(n);
			continue;
		}
		el->last = n;
		link = &n->next;
	}
}

/* One Data or Value in its format, then its layout. */
static int read_content(struct dmsc_canon_ev *c, struct node *el,
                        enum format fmt)
{
	int rc = fmt != FORMAT_TEXT ? binary_content(c, el, fmt)
	                            : opaque_to_text(c, el);

	if (rc == 0) {
		/* An emptied text goes, as in the tree. */
		struct node *t = el->children;

		if (t != NULL && t->is_text && t->next == NULL && t->len == 0) {
			node_free(t);
			el->children = el->last = NULL;
		}
		drop_layout(el);
	}
	return rc;
}

/* An Item's Data, in the Item's Format, else in fallback. */
static int item_data(struct dmsc_canon_ev *c, struct node *item,
                     struct node *fallback, bool *used_fallback)
{
	struct node *own = meta_format(item->children);
	enum format fmt = format_of(own != NULL ? own : fallback);
	int rc = 0;

	for (struct node *d = item->children; rc == 0 && d != NULL; d = d->next)
		if (is_el(d, NS_SYNCML, N_DATA)) {
			rc = read_content(c, d, fmt);
			if (own == NULL)
				*used_fallback = true;
		}
	return rc;
}

/* canon.c's data_children() for the holder (ns, name) with these held
 * children. */
static int data_children(struct dmsc_canon_ev *c, uint8_t ns, uint8_t name,
                         struct node *children)
{
	bool is_item = ns == NS_SYNCML && name == N_ITEM;
	struct node *own = meta_format(children);
	enum format fmt = format_of(own);
	enum format value_fmt = ns == NS_DDF && name == N_NODE
	                        ? node_format(children) : FORMAT_TEXT;
	bool used = false;
	int rc = 0;

	for (struct node *n = children; rc == 0 && n != NULL; n = n->next) {
		if (is_el(n, NS_SYNCML, N_DATA)) {
			if (!is_item)
				rc = read_content(c, n, fmt);
			used = true;
		} else if (is_el(n, NS_SYNCML, N_ITEM)) {
			rc = item_data(c, n, own, &used);
		} else if (is_el(n, NS_DDF, N_VALUE)) {
			rc = read_content(c, n, value_fmt);
		}
	}
	if (rc == 0 && used && own != NULL && format_of(own) == FORMAT_BIN)
		own->as_b64 = true;
	return rc;
}

static bool is_content(uint8_t ns, uint8_t name)
{
	return (ns == NS_SYNCML && name == N_DATA) ||
	       (ns == NS_DDF && name == N_VALUE);
}

/* A held element's own step, at its end. */
static int own_step(struct dmsc_canon_ev *c, struct node *el)
{
	int rc = 0;

	if (!is_content(el->ns, el->name))
		rc = opaque_to_text(c, el);
	if (rc == 0)
		rc = data_children(c, el->ns, el->name, el->children);
	if (rc == 0 && !is_content(el->ns, el->name))
		drop_layout(el);
	el->complete = true;
	return rc;
}

/* ---- Writing held nodes ---- */

static bool cmdid_matches(const struct dmsc_canon_ev *c, const struct node *n)
{
	const unsigned char *s;
	size_t len;

	for (const struct node *k = n->children; k != NULL; k = k->next)
		if (is_el(k, NS_SYNCML, N_CMDID))
			return simple_text(k, &s, &len) &&
			       text_is(s, len, c->cmdid);
	return false;
}

static void write_node(struct dmsc_canon_ev *c, const struct node *n,
                       bool render);

static void write_children(struct dmsc_canon_ev *c, const struct node *n,
                           bool render)
{
	for (const struct node *k = n->children; k != NULL; k = k->next)
		write_node(c, k, render);
}

/* Write n if render; else only look for the unit in it. */
static void write_node(struct dmsc_canon_ev *c, const struct node *n,
                       bool render)
{
	size_t mark = c->ns_len;

	if (!render) {
		if (n->is_unit) {
			write_node(c, n, true);
		} else if (n->candidate && cmdid_matches(c, n)) {
			if (c->found++ == 0) {
				where(c, n, c->first_path,
				      sizeof c->first_path);
				c->first_line = n->line;
				write_node(c, n, true);
			}
		}
		if (n->container)
			write_children(c, n, false);
		return;
	}
	if (n->is_text) {
		put_text(c, n->text, n->len);
		return;
	}
	if (start_tag(c, n->local, n->prefix, n->uri, n->attrs, n->nattrs) != 0)
		return;
	if (n->as_b64)
		puts_(c, "b64");
	else
		write_children(c, n, true);
	end_tag(c, n->local, n->prefix);
	c->ns_len = mark;
}

/* ---- Frames ---- */

static struct frame *top(struct dmsc_canon_ev *c)
{
	return c->depth > 0 ? &c->frames[c->depth - 1] : NULL;
}

static int push_frame(struct dmsc_canon_ev *c, const struct frame *f)
{
	if (c->depth == c->frames_cap) {
		size_t cap = c->frames_cap == 0 ? 32 : 2 * c->frames_cap;
		struct frame *grown = xmlRealloc(c->frames, cap * sizeof *grown);

		if (grown == NULL)
			return nomem(c);
		c->frames = grown;
		c->frames_cap = cap;
	}
	c->frames[c->depth++] = *f;
	return 0;
}

/* Queued children of a written frame that can go: texts (a blank one,
 * behind an element, is layout and goes unwritten) and complete
 * elements that wait for nothing; at the frame's end, all. */
static void drain(struct dmsc_canon_ev *c, struct frame *f, bool all)
{
	struct node *n;

	while ((n = f->qhead) != NULL) {
		if (!all && !n->is_text &&
		    (!n->complete || waits_for_parent(n->ns, n->name)))
			break;
		if (!n->is_text || !all_space(n->text, n->len))
			write_node(c, n, f->render);
		f->qhead = n->next;
		if (f->qhead == NULL)
			f->qtail = NULL;
		n->next = NULL;
		node_free(n);
	}
}

/* The end of a written frame's text run. */
static void end_run(struct dmsc_canon_ev *c, struct frame *f, bool at_end)
{
	if (f->run == RUN_SPACE && at_end && !f->has_element && f->render)
		put_text(c, c->space, c->space_len);
	f->run = RUN_NONE;
	c->space_len = 0;
}

static int keep_space(struct dmsc_canon_ev *c, const unsigned char *s,
                      size_t n)
{
	if (n > c->space_cap - c->space_len) {
		size_t cap = c->space_cap < 256 ? 256 : c->space_cap;
		unsigned char *grown;

		while (cap - c->space_len < n) {
			if (cap > SIZE_MAX / 2)
				return nomem(c);
			cap *= 2;
		}
		grown = xmlRealloc(c->space, cap);
		if (grown == NULL)
			return nomem(c);
		c->space = grown;
		c->space_cap = cap;
	}
	memcpy(c->space + c->space_len, s, n);
	c->space_len += n;
	return 0;
}

static int ev_start(void *ctx, const char *local, const char *prefix,
                    const char *uri, const dmsc_dm_attr *attrs, size_t n,
                    int line)
{
	struct dmsc_canon_ev *c = ctx;
	struct frame *parent = top(c), f = { 0 };
	uint8_t ns = ns_of(c, uri), name = name_of(c, local);
	bool is_unit = false, container = false, candidate;

	if (c->status != DMSC_DM_OK)
		return 1;
	if (parent == NULL) {
		/* The root: written, output only for the whole message. */
		c->root_is_syncml = ns == NS_SYNCML && name == N_SYNCML;
		snprintf(c->root, sizeof c->root, "%.40s", local);
		f = (struct frame){ .local = local, .prefix = prefix, .ns = ns,
		                    .name = name, .ns_mark = c->ns_len,
		                    .render = c->unit == DMSC_CANON_MESSAGE &&
		                              !c->bad_select };
		if (f.render) {
			if (start_tag(c, local, prefix, uri, attrs, n) != 0)
				return 1;
		}
		return push_frame(c, &f) != 0;
	}
	/* The SyncBody that SyncBody and CmdID units select from. */
	if (c->depth == 1 && c->root_is_syncml && ns == NS_SYNCML &&
	    name == N_SYNCBODY && !c->body_seen && !c->bad_select) {
		c->body_seen = true;
		is_unit = c->unit == DMSC_CANON_SYNCBODY;
		container = c->unit == DMSC_CANON_CMDID;
	}
	if (parent->node != NULL) {
		struct node *p = parent->node, *e;

		candidate = p->container && ns == NS_SYNCML;
		e = new_element(c, local, prefix, uri, attrs, n);
		if (e == NULL)
			return nomem(c) != 0;
		e->line = line;
		e->is_unit = is_unit;
		e->candidate = candidate;
		e->container = container ||
		               (candidate && (name == N_ATOMIC ||
		                              name == N_SEQUENCE));
		e->parent = p;
		append_child(&p->children, &p->last, e);
		f.node = e;
		f.local = local;
		return push_frame(c, &f) != 0;
	}
	/* A child of a written frame: written too if nothing waits before
	 * it and nothing after it can change it. */
	if (parent->run == RUN_SPACE)
		end_run(c, parent, false);
	parent->run = RUN_NONE;
	parent->has_element = true;
	candidate = parent->container && ns == NS_SYNCML;
	if (waits_for_parent(ns, name) || parent->qhead != NULL || candidate) {
		struct node *e = new_element(c, local, prefix, uri, attrs, n);

		if (e == NULL)
			return nomem(c) != 0;
		e->line = line;
		e->frame_depth = c->depth;
		e->is_unit = is_unit;
		e->candidate = candidate;
		e->container = container ||
		               (candidate && (name == N_ATOMIC ||
		                              name == N_SEQUENCE));
		append_child(&parent->qhead, &parent->qtail, e);
		f.node = e;
		f.local = local;
		return push_frame(c, &f) != 0;
	}
	f = (struct frame){ .local = local, .prefix = prefix, .ns = ns,
	                    .name = name, .ns_mark = c->ns_len,
	                    .render = parent->render || is_unit,
	                    .container = container };
	if (f.render && start_tag(c, local, prefix, uri, attrs, n) != 0)
		return 1;
	return push_frame(c, &f) != 0;
}

static int ev_text(void *ctx, const unsigned char *s, size_t n, bool opaque)
{
	struct dmsc_canon_ev *c = ctx;
	struct frame *f = top(c);

	if (c->status != DMSC_DM_OK || f == NULL)
		return c->status != DMSC_DM_OK;
	if (f->node != NULL) {
		struct node *p = f->node;

		/* An empty OPAQUE is no text (the tree has no node for it). */
		if (n == 0)
			return 0;
		return add_text(c, &p->children, &p->last, s, n, opaque) != 0;
	}
	/* A written frame is never a Data or Value: an OPAQUE in it is
	 * text (walk 1 of the tree path). */
	if (opaque && opaque_as_text(c, NULL, s, n) != 0)
		return 1;
	if (n == 0)
		return 0;
	if (f->qhead != NULL)
		return add_text(c, &f->qhead, &f->qtail, s, n, false) != 0;
	if (f->run == RUN_TEXT) {
		if (f->render)
			put_text(c, s, n);
		return c->status != DMSC_DM_OK;
	}
	if (all_space(s, n)) {
		f->run = RUN_SPACE;
		return keep_space(c, s, n) != 0;
	}
	if (f->run == RUN_SPACE && f->render)
		put_text(c, c->space, c->space_len);
	c->space_len = 0;
	f->run = RUN_TEXT;
	if (f->render)
		put_text(c, s, n);
	return c->status != DMSC_DM_OK;
}

static int ev_end(void *ctx)
{
	struct dmsc_canon_ev *c = ctx;
	struct frame f, *parent;

	if (c->status != DMSC_DM_OK || c->depth == 0)
		return 1;
	f = c->frames[--c->depth];
	parent = top(c);
	if (f.node != NULL) {
		if (own_step(c, f.node) != 0)
			return 1;
		if (parent != NULL && parent->node == NULL)
			drain(c, parent, false);
		return c->status != DMSC_DM_OK;
	}
	/* The frame's own step, on the children it held back; the frame
	 * still counts as open, for the paths in errors. */
	c->depth++;
	end_run(c, &f, true);
	if (data_children(c, f.ns, f.name, f.qhead) != 0) {
		c->frames[c->depth - 1] = f;
		return 1;
	}
	drain(c, &f, true);
	c->depth--;
	if (f.render) {
		end_tag(c, f.local, f.prefix);
		c->ns_len = f.ns_mark;
	}
	return c->status != DMSC_DM_OK;
}

static const dmsc_dm_events events = { ev_start, ev_text, ev_end };

const dmsc_dm_events *dmsc_canon_ev_events(void)
{
	return &events;
}

/* ---- Entry points ---- */

dmsc_canon_ev *dmsc_canon_ev_new(const dmsc_canon_select *sel,
                                 dmsc_canon_sink sink, void *ctx)
{
	dmsc_canon_ev *c = xmlMalloc(sizeof *c);

	if (c == NULL)
		return NULL;
	memset(c, 0, offsetof(struct dmsc_canon_ev, out));
	c->sink = sink;
	c->ctx = ctx;
	c->unit = sel != NULL ? sel->unit : DMSC_CANON_MESSAGE;
	c->cmdid = sel != NULL ? sel->cmdid : NULL;
	/* Refused at the end, as the tree path does after reading. */
	c->bad_select = (c->unit != DMSC_CANON_MESSAGE &&
	                 c->unit != DMSC_CANON_SYNCBODY &&
	                 c->unit != DMSC_CANON_CMDID) ||
	                (c->unit == DMSC_CANON_CMDID &&
	                 (c->cmdid == NULL || c->cmdid[0] == '\0'));
	return c;
}

int dmsc_canon_ev_finish(dmsc_canon_ev *c, dmsc_dm_error *err)
{
	int rc;

	if (c->status == DMSC_DM_OK && c->depth != 0)
		fail(c, DMSC_DM_MALFORMED, "the document ended inside an element");
	if (c->status == DMSC_DM_OK && c->bad_select)
		fail(c, DMSC_DM_BAD_ARGS, c->unit == DMSC_CANON_CMDID
		     ? "no CmdID given to select" : "unknown unit %d",
		     (int)c->unit);
	if (c->status == DMSC_DM_OK && c->unit != DMSC_CANON_MESSAGE &&
	    !c->body_seen)
		fail(c, DMSC_DM_NOT_FOUND, "expected a <SyncBody> to select "
		     "from: the document (<%s>) has none", c->root);
	if (c->status == DMSC_DM_OK && c->unit == DMSC_CANON_CMDID) {
		if (c->found == 0)
			fail(c, DMSC_DM_NOT_FOUND, "no command with CmdID "
			     "\"%.40s\" in the SyncBody (nor in its Atomic or "
			     "Sequence)", c->cmdid);
		else if (c->found > 1)
			fail(c, DMSC_DM_UNSUPPORTED, "%s (line %d): CmdID "
			     "\"%.40s\" names %d commands: expected one",
			     c->first_path, c->first_line, c->cmdid, c->found);
	}
	flush(c);
	rc = c->status;
	if (rc != DMSC_DM_OK && err != NULL)
		*err = c->failure;
	return rc;
}

void dmsc_canon_ev_free(dmsc_canon_ev *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->depth; i++)
		if (c->frames[i].node == NULL)
			node_free(c->frames[i].qhead);
	/* Held nodes of open held frames hang in a written frame's queue. */
	xmlFree(c->frames);
	xmlFree(c->ns);
	if (c->space != NULL)
		explicit_bzero(c->space, c->space_cap);
	xmlFree(c->space);
	/* The output may hold a credential (a <Cred>'s Data) too. */
	explicit_bzero(c->out, c->out_used > c->out_len ? c->out_used
	                                                 : c->out_len);
	xmlFree(c);
}
