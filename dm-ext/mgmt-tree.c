/*
 * dm-ext/mgmt-tree.c - the management tree and its TNDS form (see mgmt-tree.h).
 *
 * The tree is plain C (names, properties and values are malloc'ed
 * strings), so the command engine and the tool change it without libxml2;
 * libxml2 is used only to read a document (through dmmsg.c) and to write
 * one.  Loading works on a copy of the tree, swapped in at the end, so a
 * document that breaks a rule half-way changes nothing.
 */
#include "mgmt-tree.h"

#include "base64.h"
#include "wbxml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlsave.h>

/* The element names of the run-time properties, in dmsc_tnds_prop order:
 * the order of RTProperties in the DM DDF 1.2 DTD. */
static const char *const prop_element[DMSC_TNDS_NPROPS] = {
	"ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo",
};

const char *dmsc_tnds_status_name(int status)
{
	switch (status) {
	case DMSC_TNDS_OK: return "ok";
	case DMSC_TNDS_MALFORMED: return "not a valid TNDS document";
	case DMSC_TNDS_BAD_PATH: return "not a valid URI";
	case DMSC_TNDS_NOT_FOUND: return "no such node";
	case DMSC_TNDS_EXISTS: return "the node already exists";
	case DMSC_TNDS_NOT_ALLOWED: return "not allowed on this node";
	case DMSC_TNDS_LIMIT: return "over a limit";
	case DMSC_TNDS_NOMEM: return "out of memory";
	case DMSC_TNDS_BAD_VALUE: return "a value that is not text";
	default: return "unknown error";
	}
}

static void effective_limits(const dmsc_tnds_limits *given,
                             dmsc_tnds_limits *lim)
{
	lim->max_depth = given && given->max_depth ? given->max_depth
	                                           : DMSC_TNDS_DEFAULT_MAX_DEPTH;
	lim->max_nodes = given && given->max_nodes ? given->max_nodes
	                                           : DMSC_TNDS_DEFAULT_MAX_NODES;
	lim->max_name = given && given->max_name ? given->max_name
	                                         : DMSC_TNDS_DEFAULT_MAX_NAME;
	lim->max_value = given && given->max_value ? given->max_value
	                                           : DMSC_TNDS_DEFAULT_MAX_VALUE;
	lim->max_uri = given && given->max_uri ? given->max_uri
	                                       : DMSC_TNDS_DEFAULT_MAX_URI;
	if (lim->max_uri > DMSC_TNDS_MAX_URI_CAP)
		lim->max_uri = DMSC_TNDS_MAX_URI_CAP;
}

/* ---- Nodes ---- */

static void node_free_contents(dmsc_tnds_node *n)
{
	size_t i;

	free(n->name);
	for (i = 0; i < DMSC_TNDS_NPROPS; i++)
		free(n->prop[i]);
	free(n->value);
	if (n->dfprops != NULL)
		xmlFreeNode(n->dfprops);
}

/* Frees n's children and n itself; returns how many nodes went. */
static size_t node_free(dmsc_tnds_node *n)
{
	size_t count = 1;
	dmsc_tnds_node *c = n->child, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		count += node_free(c);
	}
	node_free_contents(n);
	free(n);
	return count;
}

static void unlink_node(dmsc_tnds_node *n)
{
	dmsc_tnds_node **p = &n->parent->child;

	while (*p != n)
		p = &(*p)->next;
	*p = n->next;
	n->next = NULL;
	n->parent = NULL;
}

static void append_child(dmsc_tnds_node *parent, dmsc_tnds_node *n)
{
	dmsc_tnds_node **p = &parent->child;

	while (*p != NULL)
		p = &(*p)->next;
	*p = n;
	n->parent = parent;
}

static dmsc_tnds_node *child_named(const dmsc_tnds_node *parent,
                                   const char *name, size_t len)
{
	dmsc_tnds_node *c;

	for (c = parent->child; c != NULL; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

static dmsc_tnds_node *new_node(const char *name, size_t len, bool interior)
{
	dmsc_tnds_node *n = calloc(1, sizeof *n);

	if (n == NULL)
		return NULL;
	n->name = strndup(name, len);
	if (n->name == NULL) {
		free(n);
		return NULL;
	}
	n->interior = interior;
	return n;
}

/* Copies everything but the links. */
static bool copy_contents(dmsc_tnds_node *to, const dmsc_tnds_node *from)
{
	size_t i;

	if (from->name != NULL && (to->name = strdup(from->name)) == NULL)
		return false;
	to->interior = from->interior;
	to->implied = from->implied;
	to->type_ddf = from->type_ddf;
	for (i = 0; i < DMSC_TNDS_NPROPS; i++)
		if (from->prop[i] != NULL &&
		    (to->prop[i] = strdup(from->prop[i])) == NULL)
			return false;
	if (from->value != NULL) {
		to->value = malloc(from->value_len + 1);
		if (to->value == NULL)
			return false;
		memcpy(to->value, from->value, from->value_len + 1);
		to->value_len = from->value_len;
	}
	if (from->dfprops != NULL &&
	    (to->dfprops = xmlDocCopyNode(from->dfprops, NULL, 1)) == NULL)
		return false;
	return true;
}

static bool copy_children(dmsc_tnds_node *to, const dmsc_tnds_node *from)
{
	const dmsc_tnds_node *c;

	for (c = from->child; c != NULL; c = c->next) {
		dmsc_tnds_node *n = calloc(1, sizeof *n);

		if (n == NULL)
			return false;
		append_child(to, n);
		if (!copy_contents(n, c) || !copy_children(n, c))
			return false;
	}
	return true;
}

dmsc_tnds *dmsc_tnds_new(const dmsc_tnds_limits *lim)
{
	dmsc_tnds *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->root.interior = true;
	effective_limits(lim, &t->lim);
	return t;
}

static void tree_clear(dmsc_tnds *t)
{
	dmsc_tnds_node *c, *next;

	for (c = t->root.child; c != NULL; c = next) {
		next = c->next;
		node_free(c);
	}
	node_free_contents(&t->root);
	free(t->verdtd);
	free(t->man);
	free(t->mod);
}

void dmsc_tnds_free(dmsc_tnds *t)
{
	if (t == NULL)
		return;
	tree_clear(t);
	free(t);
}

static char *dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

dmsc_tnds *dmsc_tnds_clone(const dmsc_tnds *t)
{
	dmsc_tnds *c = dmsc_tnds_new(&t->lim);
	bool ok = true;

	if (c == NULL)
		return NULL;
	c->verdtd = dup_or_null(t->verdtd, &ok);
	c->man = dup_or_null(t->man, &ok);
	c->mod = dup_or_null(t->mod, &ok);
	c->nodes = t->nodes;
	if (!ok || !copy_contents(&c->root, &t->root) ||
	    !copy_children(&c->root, &t->root)) {
		dmsc_tnds_free(c);
		return NULL;
	}
	return c;
}

/* Put what `from` holds into `to` and free the rest of `from`. */
static void tree_take(dmsc_tnds *to, dmsc_tnds *from)
{
	dmsc_tnds_node *c;

	tree_clear(to);
	*to = *from;
	for (c = to->root.child; c != NULL; c = c->next)
		c->parent = &to->root;
	free(from);
}

void dmsc_tnds_restore(dmsc_tnds *t, dmsc_tnds *from)
{
	tree_take(t, from);
}

const char *dmsc_tnds_format(const dmsc_tnds_node *node)
{
	if (node->prop[DMSC_TNDS_FORMAT] != NULL)
		return node->prop[DMSC_TNDS_FORMAT];
	return node->interior ? "node" : "chr";
}

/* ---- URIs ---- */

static int path_fail(char *why, size_t whylen, int status, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

static int path_fail(char *why, size_t whylen, int status, const char *fmt,
                     ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return status;
}

/* A node name is 1..max bytes, not "." or "..", no '/' and no control
 * character (OMA DM 1.2 TND, 7: URIs; control characters have no place in
 * a name and would make messages unreadable). */
static bool name_ok(const char *name, size_t len, size_t max, char *why,
                    size_t whylen)
{
	size_t i;

	if (len == 0) {
		path_fail(why, whylen, 0, "an empty node name");
		return false;
	}
	if (len > max) {
		path_fail(why, whylen, 0, "a node name of %zu bytes (at most "
		          "%zu)", len, max);
		return false;
	}
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		path_fail(why, whylen, 0, "the node name '%.*s' (. and .. "
		          "are not names)", (int)len, name);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c < 0x20 || c == 0x7f) {
			path_fail(why, whylen, 0, "a node name with %s",
			          c == '/' ? "a '/'" : "a control character");
			return false;
		}
	}
	return true;
}

int dmsc_tnds_path_norm(const dmsc_tnds_limits *given, const char *uri,
                        char *out, size_t outlen, size_t *depth, char *why,
                        size_t whylen)
{
	dmsc_tnds_limits lim;
	const char *p = uri, *seg;
	size_t n = 0, used;
	char reason[120];

	effective_limits(given, &lim);
	if (uri == NULL || outlen < 2)
		return path_fail(why, whylen, DMSC_TNDS_BAD_PATH, "no URI");
	if (strlen(uri) > lim.max_uri)
		return path_fail(why, whylen, DMSC_TNDS_LIMIT, "a URI of %zu "
		                 "bytes (at most %zu)", strlen(uri),
		                 lim.max_uri);
	if (strcmp(p, ".") == 0 || strcmp(p, "./") == 0) {
		strcpy(out, ".");
		if (depth != NULL)
			*depth = 0;
		return DMSC_TNDS_OK;
	}
	if (p[0] == '.' && p[1] == '/')
		p += 2;
	if (*p == '\0')
		return path_fail(why, whylen, DMSC_TNDS_BAD_PATH,
		                 "the URI '%s' names no node", uri);
	strcpy(out, ".");
	used = 1;
	for (seg = p;; seg = p + 1) {
		size_t len;

		p = strchr(seg, '/');
		len = p != NULL ? (size_t)(p - seg) : strlen(seg);
		if (!name_ok(seg, len, lim.max_name, reason, sizeof reason))
			return path_fail(why, whylen, DMSC_TNDS_BAD_PATH,
			                 "the URI '%s' has %s%s", uri, reason,
			                 len == 0 && p == NULL
			                 ? " (a trailing '/')" : "");
		if (++n > lim.max_depth)
			return path_fail(why, whylen, DMSC_TNDS_LIMIT,
			                 "the URI '%s' is deeper than %zu nodes",
			                 uri, lim.max_depth);
		if (used + 1 + len + 1 > outlen)
			return path_fail(why, whylen, DMSC_TNDS_LIMIT,
			                 "the URI '%s' is too long", uri);
		out[used++] = '/';
		memcpy(out + used, seg, len);
		used += len;
		out[used] = '\0';
		if (p == NULL)
			break;
	}
	if (depth != NULL)
		*depth = n;
	return DMSC_TNDS_OK;
}

/* The node at a normalised URI, or NULL. */
static dmsc_tnds_node *find_norm(const dmsc_tnds *t, const char *norm)
{
	const dmsc_tnds_node *n = &t->root;
	const char *p = norm + 1;

	while (n != NULL && *p == '/') {
		const char *seg = p + 1, *end = strchr(seg, '/');
		size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);

		n = child_named(n, seg, len);
		p = seg + len;
	}
	return (dmsc_tnds_node *)n;
}

dmsc_tnds_node *dmsc_tnds_find(const dmsc_tnds *t, const char *uri)
{
	char norm[DMSC_TNDS_URI_BUF];

	if (dmsc_tnds_path_norm(&t->lim, uri, norm, sizeof norm, NULL, NULL,
	                        0) != DMSC_TNDS_OK)
		return NULL;
	return find_norm(t, norm);
}

dmsc_tnds_node *dmsc_tnds_find_under(const dmsc_tnds_node *base,
                                     const char *rel)
{
	const dmsc_tnds_node *n = base;
	const char *seg = rel;

	while (n != NULL && *seg != '\0') {
		const char *end = strchr(seg, '/');
		size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);

		n = child_named(n, seg, len);
		seg = end != NULL ? end + 1 : seg + len;
	}
	return (dmsc_tnds_node *)n;
}

bool dmsc_tnds_node_uri(const dmsc_tnds_node *node, char *out, size_t outlen)
{
	size_t len = 1;
	const dmsc_tnds_node *n;

	for (n = node; n->parent != NULL; n = n->parent)
		len += 1 + strlen(n->name);
	if (len + 1 > outlen)
		return false;
	out[len] = '\0';
	for (n = node; n->parent != NULL; n = n->parent) {
		size_t l = strlen(n->name);

		len -= l;
		memcpy(out + len, n->name, l);
		out[--len] = '/';
	}
	out[0] = '.';
	return true;
}

/* ---- Changes ---- */

bool dmsc_tnds_text_ok(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f)
			return false;
	}
	return text[len] == '\0' &&
	       dmsc_xml_text_valid((const unsigned char *)text, len);
}

/* What a command gives: text values, a Format that is an XML name (it
 * is written as an element, <Format><chr/></Format>). */
static bool item_ok(const dmsc_tnds_item *item)
{
	return (item->value == NULL ||
	        dmsc_tnds_text_ok(item->value, item->value_len)) &&
	       (item->type == NULL ||
	        dmsc_tnds_text_ok(item->type, strlen(item->type))) &&
	       (item->format == NULL ||
	        xmlValidateNCName((const xmlChar *)item->format, 0) == 0);
}

/* Normalise uri into a malloc'ed buffer. */
static int norm_alloc(const dmsc_tnds *t, const char *uri, char **norm,
                      size_t *depth)
{
	size_t cap = DMSC_TNDS_URI_BUF;
	int rc;

	*norm = malloc(cap);
	if (*norm == NULL)
		return DMSC_TNDS_NOMEM;
	rc = dmsc_tnds_path_norm(&t->lim, uri, *norm, cap, depth, NULL, 0);
	if (rc != DMSC_TNDS_OK) {
		free(*norm);
		*norm = NULL;
	}
	return rc;
}

static bool set_str(char **slot, const char *value)
{
	char *d = strdup(value);

	if (d == NULL)
		return false;
	free(*slot);
	*slot = d;
	return true;
}

static int set_value(const dmsc_tnds *t, dmsc_tnds_node *n, const char *v,
                     size_t len)
{
	char *d;

	if (len > t->lim.max_value)
		return DMSC_TNDS_LIMIT;
	d = malloc(len + 1);
	if (d == NULL)
		return DMSC_TNDS_NOMEM;
	memcpy(d, v, len);
	d[len] = '\0';
	free(n->value);
	n->value = d;
	n->value_len = len;
	return DMSC_TNDS_OK;
}

/* Walk to the parent of norm, creating missing interior nodes when create
 * is set; *last gets the last segment.  Returns the parent or NULL with
 * *rc set. */
static dmsc_tnds_node *walk_to_parent(dmsc_tnds *t, const char *norm,
                                      bool create, const char **last,
                                      int *rc)
{
	dmsc_tnds_node *n = &t->root;
	const char *p = norm + 1;

	for (;;) {
		const char *seg = p + 1, *end = strchr(seg, '/');
		size_t len;
		dmsc_tnds_node *c;

		if (end == NULL) {
			*last = seg;
			if (!n->interior) {
				*rc = DMSC_TNDS_NOT_ALLOWED;
				return NULL;
			}
			return n;
		}
		len = (size_t)(end - seg);
		c = child_named(n, seg, len);
		if (c == NULL) {
			if (!create) {
				*rc = DMSC_TNDS_NOT_FOUND;
				return NULL;
			}
			if (!n->interior) {
				*rc = DMSC_TNDS_NOT_ALLOWED;
				return NULL;
			}
			if (t->nodes >= t->lim.max_nodes) {
				*rc = DMSC_TNDS_LIMIT;
				return NULL;
			}
			c = new_node(seg, len, true);
			if (c == NULL) {
				*rc = DMSC_TNDS_NOMEM;
				return NULL;
			}
			c->implied = true;
			append_child(n, c);
			t->nodes++;
		}
		n = c;
		p = end;
	}
}

/* The checks of dmsc_tnds_add before anything changes. */
static int add_allowed(const dmsc_tnds *t, const char *norm,
                       const dmsc_tnds_item *item, size_t *missing)
{
	const dmsc_tnds_node *n = &t->root;
	const char *p = norm + 1;
	bool interior = item->format != NULL &&
	                strcmp(item->format, "node") == 0;

	*missing = 0;
	if (!item_ok(item))
		return DMSC_TNDS_BAD_VALUE;
	if (interior && item->value != NULL)
		return DMSC_TNDS_NOT_ALLOWED;
	if (item->value != NULL && item->value_len > t->lim.max_value)
		return DMSC_TNDS_LIMIT;
	while (*p == '/') {
		const char *seg = p + 1, *end = strchr(seg, '/');
		size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);
		const dmsc_tnds_node *c;

		if (!n->interior)
			return DMSC_TNDS_NOT_ALLOWED;
		c = child_named(n, seg, len);
		if (c == NULL) {
			*missing = 1;
			while ((end = strchr(seg, '/')) != NULL) {
				seg = end + 1;
				(*missing)++;
			}
			return DMSC_TNDS_OK;
		}
		n = c;
		p = seg + len;
	}
	return DMSC_TNDS_EXISTS;
}

int dmsc_tnds_add(dmsc_tnds *t, const char *uri, const dmsc_tnds_item *item)
{
	char *norm;
	const char *last;
	dmsc_tnds_node *parent, *n;
	size_t missing;
	int rc = norm_alloc(t, uri, &norm, NULL);

	if (rc != DMSC_TNDS_OK)
		return rc;
	if (strcmp(norm, ".") == 0) {
		rc = DMSC_TNDS_EXISTS;
		goto done;
	}
	rc = add_allowed(t, norm, item, &missing);
	if (rc != DMSC_TNDS_OK)
		goto done;
	if (t->nodes + missing > t->lim.max_nodes) {
		rc = DMSC_TNDS_LIMIT;
		goto done;
	}
	parent = walk_to_parent(t, norm, true, &last, &rc);
	if (parent == NULL)
		goto done;
	n = new_node(last, strlen(last), item->format != NULL &&
	             strcmp(item->format, "node") == 0);
	if (n == NULL) {
		rc = DMSC_TNDS_NOMEM;
		goto done;
	}
	if ((item->format != NULL &&
	     !set_str(&n->prop[DMSC_TNDS_FORMAT], item->format)) ||
	    (item->type != NULL && !set_str(&n->prop[DMSC_TNDS_TYPE],
	                                    item->type)) ||
	    (item->value != NULL &&
	     set_value(t, n, item->value, item->value_len) != DMSC_TNDS_OK)) {
		node_free(n);
		rc = DMSC_TNDS_NOMEM;
		goto done;
	}
	append_child(parent, n);
	t->nodes++;
done:
	free(norm);
	return rc;
}

int dmsc_tnds_replace(dmsc_tnds *t, const char *uri,
                      const dmsc_tnds_item *item)
{
	dmsc_tnds_node *n = dmsc_tnds_find(t, uri);
	bool to_node = item->format != NULL &&
	               strcmp(item->format, "node") == 0;
	char *fmt = NULL, *type = NULL;
	int rc;

	if (n == NULL)
		return DMSC_TNDS_NOT_FOUND;
	if (n == &t->root)
		return DMSC_TNDS_NOT_ALLOWED;
	if (n->interior ? (item->value != NULL ||
	                   (item->format != NULL && !to_node))
	                : to_node)
		return DMSC_TNDS_NOT_ALLOWED;
	if (item->value != NULL && item->value_len > t->lim.max_value)
		return DMSC_TNDS_LIMIT;
	if (!item_ok(item))
		return DMSC_TNDS_BAD_VALUE;
	if ((item->format != NULL && (fmt = strdup(item->format)) == NULL) ||
	    (item->type != NULL && (type = strdup(item->type)) == NULL)) {
		free(fmt);
		return DMSC_TNDS_NOMEM;
	}
	if (item->value != NULL) {
		rc = set_value(t, n, item->value, item->value_len);
		if (rc != DMSC_TNDS_OK) {
			free(fmt);
			free(type);
			return rc;
		}
	}
	if (fmt != NULL) {
		free(n->prop[DMSC_TNDS_FORMAT]);
		n->prop[DMSC_TNDS_FORMAT] = fmt;
	}
	if (type != NULL) {
		free(n->prop[DMSC_TNDS_TYPE]);
		n->prop[DMSC_TNDS_TYPE] = type;
		n->type_ddf = false;
	}
	return DMSC_TNDS_OK;
}

int dmsc_tnds_delete(dmsc_tnds *t, const char *uri)
{
	dmsc_tnds_node *n = dmsc_tnds_find(t, uri);

	if (n == NULL)
		return DMSC_TNDS_NOT_FOUND;
	if (n == &t->root)
		return DMSC_TNDS_NOT_ALLOWED;
	unlink_node(n);
	t->nodes -= node_free(n);
	return DMSC_TNDS_OK;
}

/* ---- Reading ---- */

struct loader {
	dmsc_tnds *t;
	dmsc_dm_error *err;
	int status;
};

static bool in_ddf_ns(const xmlNode *n)
{
	return n->ns != NULL &&
	       xmlStrcmp(n->ns->href, BAD_CAST DMSC_DM_NS_DMDDF12) == 0;
}

/* A structural element: its name in the DM DDF 1.2 namespace (a <Node>
 * of another vocabulary is not a node). */
static bool is_el(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && in_ddf_ns(n) &&
	       xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* Where a rule was broken: the element's line (XML), else the URI of the
 * node being read (WBXML has no lines). */
static int load_fail(struct loader *ld, const xmlNode *el, const char *at,
                     int status, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int load_fail(struct loader *ld, const xmlNode *el, const char *at,
                     int status, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	long line = el != NULL ? xmlGetLineNo(el) : -1;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (line > 0)
		dmsc_dm_fail(ld->err, status, DMSC_DM_NO_OFFSET, (int)line,
		             "line %ld: %s", line, what);
	else
		dmsc_dm_fail(ld->err, status, DMSC_DM_NO_OFFSET, 0,
		             "at %s: %s", at != NULL ? at : "MgmtTree", what);
	ld->status = status;
	return status;
}

/* An element of another namespace where a DM DDF one belongs. */
static int not_ddf(struct loader *ld, const xmlNode *el, const char *at)
{
	return load_fail(ld, el, at, DMSC_TNDS_MALFORMED, "<%s> is not in "
	                 "the DM DDF namespace (xmlns=\"" DMSC_DM_NS_DMDDF12
	                 "\")", el->name);
}

/* Only elements (and whitespace, comments, PIs) are allowed between
 * structural elements. */
static bool only_blank_text(const xmlNode *n)
{
	const xmlChar *p;

	if (n->type != XML_TEXT_NODE && n->type != XML_CDATA_SECTION_NODE)
		return true;
	for (p = n->content; p != NULL && *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	return true;
}

/* The text of a leaf element (text, CDATA and entity-free content only);
 * malloc'ed, "" for an empty element, NULL without memory or when the
 * element holds other elements (*nested set). */
static char *leaf_text(const xmlNode *el, bool *nested)
{
	const xmlNode *c;

	*nested = false;
	for (c = el->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			*nested = true;
			return NULL;
		}
	{
		xmlChar *s = xmlNodeGetContent(el);
		char *d;

		if (s == NULL)
			return strdup("");
		d = strdup((const char *)s);
		xmlFree(s);
		return d;
	}
}

/* The single child element of el (Format's <chr/>, Type's <MIME>), or
 * NULL when there is not exactly one (text around it is blank). */
static const xmlNode *only_child_element(const xmlNode *el)
{
	const xmlNode *c, *found = NULL;

	for (c = el->children; c != NULL; c = c->next) {
		if (!only_blank_text(c))
			return NULL;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (found != NULL)
			return NULL;
		found = c;
	}
	return found;
}

static int load_rtprops(struct loader *ld, dmsc_tnds_node *n,
                        const xmlNode *rt, const char *at)
{
	const xmlNode *c;
	size_t i;

	for (c = rt->children; c != NULL; c = c->next) {
		bool nested;
		char *text = NULL;

		if (!only_blank_text(c))
			return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
			                 "text directly in RTProperties (only "
			                 "property elements belong there)");
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (i = 0; i < DMSC_TNDS_NPROPS; i++)
			if (is_el(c, prop_element[i]))
				break;
		if (i == DMSC_TNDS_NPROPS)
			return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
			                 "<%s> is not a run-time property (ACL, "
			                 "Format, Name, Size, Title, TStamp, "
			                 "Type, VerNo)", (const char *)c->name);
		if (n->prop[i] != NULL)
			return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
			                 "a second <%s> in RTProperties",
			                 prop_element[i]);
		if (i == DMSC_TNDS_FORMAT || i == DMSC_TNDS_TYPE) {
			const xmlNode *v = only_child_element(c);

			if (v == NULL)
				return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
				                 "<%s> must hold exactly one "
				                 "element (%s)", prop_element[i],
				                 i == DMSC_TNDS_FORMAT
				                 ? "<chr/>, <node/>, <int/>..."
				                 : "<MIME> or <DDFName>");
			if (i == DMSC_TNDS_FORMAT) {
				if (v->children != NULL &&
				    !only_blank_text(v->children))
					return load_fail(ld, v, at,
					                 DMSC_TNDS_MALFORMED,
					                 "<Format>'s <%s> must be "
					                 "empty", v->name);
				text = strdup((const char *)v->name);
			} else {
				if (!is_el(v, "MIME") && !is_el(v, "DDFName"))
					return load_fail(ld, v, at,
					                 DMSC_TNDS_MALFORMED,
					                 "<Type> holds <%s>; "
					                 "expected <MIME> or "
					                 "<DDFName>", v->name);
				n->type_ddf = is_el(v, "DDFName");
				text = leaf_text(v, &nested);
				if (nested)
					return load_fail(ld, v, at,
					                 DMSC_TNDS_MALFORMED,
					                 "<%s> holds an element; "
					                 "expected text", v->name);
			}
		} else {
			text = leaf_text(c, &nested);
			if (nested)
				return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
				                 "<%s> holds an element; "
				                 "expected text", c->name);
		}
		if (text == NULL)
			return load_fail(ld, c, at, DMSC_TNDS_NOMEM,
			                 "out of memory");
		if (!dmsc_tnds_text_ok(text, strlen(text))) {
			free(text);
			return load_fail(ld, c, at, DMSC_TNDS_BAD_VALUE,
			                 "<%s> holds a control character or "
			                 "is not UTF-8", prop_element[i]);
		}
		n->prop[i] = text;
	}
	return DMSC_TNDS_OK;
}

/* Drop blank text (whitespace between elements) and comments from a
 * DFProperties copy, so it writes back the same however it was indented. */
static void strip_blanks(xmlNodePtr n)
{
	xmlNodePtr c = n->children, next;

	for (; c != NULL; c = next) {
		next = c->next;
		if ((c->type == XML_TEXT_NODE && only_blank_text(c) &&
		     (c->prev != NULL || c->next != NULL)) ||
		    c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		} else if (c->type == XML_ELEMENT_NODE) {
			strip_blanks(c);
		}
	}
}

/* DFProperties are kept without the DM DDF namespace (its elements have
 * no ns and the copy declares it nowhere), so they are written back into
 * the document's namespace by set_ns() and not with a declaration of
 * their own.  Elements in other namespaces keep theirs. */
static void drop_ddf_ns(xmlNodePtr n)
{
	xmlNsPtr *p = &n->nsDef;
	xmlNodePtr c;

	if (n->ns != NULL &&
	    xmlStrcmp(n->ns->href, BAD_CAST DMSC_DM_NS_DMDDF12) == 0)
		n->ns = NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			drop_ddf_ns(c);
	while (*p != NULL) {
		xmlNsPtr d = *p;

		if (xmlStrcmp(d->href, BAD_CAST DMSC_DM_NS_DMDDF12) == 0 &&
		    d->prefix == NULL) {
			*p = d->next;
			d->next = NULL;
			xmlFreeNs(d);
		} else {
			p = &d->next;
		}
	}
}

static void set_ns(xmlNodePtr n, xmlNsPtr ns)
{
	xmlNodePtr c;

	if (n->ns == NULL)
		n->ns = ns;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			set_ns(c, ns);
}

/* A Value's text: base64 of the original bytes when it came from a WBXML
 * OPAQUE, which for a Format other than b64 and bin is decoded back (the
 * characters themselves, as dm-ext/CANON.md treats them). */
static int value_text(struct loader *ld, const xmlNode *v,
                      const dmsc_tnds_node *n, const char *at, char **out,
                      size_t *out_len)
{
	bool nested;
	char *text = leaf_text(v, &nested);
	const char *fmt = dmsc_tnds_format(n);

	if (nested)
		return load_fail(ld, v, at, DMSC_TNDS_MALFORMED,
		                 "<Value> holds an element; expected text");
	if (text == NULL)
		return load_fail(ld, v, at, DMSC_TNDS_NOMEM, "out of memory");
	*out_len = strlen(text);
	if (dmsc_wbxml_is_binary(v) && strcmp(fmt, "b64") != 0 &&
	    strcmp(fmt, "bin") != 0) {
		size_t n_out, bad;
		unsigned char *raw = malloc(*out_len / 4 * 3 + 1);

		if (raw == NULL) {
			free(text);
			return load_fail(ld, v, at, DMSC_TNDS_NOMEM,
			                 "out of memory");
		}
		if (!dmsc_base64_decode(text, *out_len, true, raw, &n_out,
		                        &bad) ||
		    memchr(raw, '\0', n_out) != NULL ||
		    !dmsc_xml_text_valid((raw[n_out] = '\0', raw), n_out)) {
			free(raw);
			free(text);
			return load_fail(ld, v, at, DMSC_TNDS_MALFORMED,
			                 "a binary <Value> of Format %s is not "
			                 "UTF-8 text", fmt);
		}
		free(text);
		text = (char *)raw;
		*out_len = n_out;
	}
	if (!dmsc_tnds_text_ok(text, *out_len)) {
		free(text);
		return load_fail(ld, v, at, DMSC_TNDS_BAD_VALUE, "<Value> holds "
		                 "a control character or is not UTF-8");
	}
	if (*out_len > ld->t->lim.max_value) {
		free(text);
		return load_fail(ld, v, at, DMSC_TNDS_LIMIT,
		                 "a value of %zu bytes (at most %zu)", *out_len,
		                 ld->t->lim.max_value);
	}
	*out = text;
	return DMSC_TNDS_OK;
}

static int load_node(struct loader *ld, dmsc_tnds_node *parent,
                     const xmlNode *el, size_t depth, bool top,
                     const char *base);

/* Read a <Node>'s children into n (already linked under its parent). */
static int load_node_body(struct loader *ld, dmsc_tnds_node *n,
                          const xmlNode *first, const char *at, size_t depth)
{
	const xmlNode *c, *rt = NULL, *df = NULL, *val = NULL, *kid = NULL;
	int rc;

	/* The content model: (NodeName, Path?, RTProperties?, DFProperties?,
	 * (Node* | Value?)), the two properties in either order (TNDS
	 * writes RTProperties, a DDF DFProperties; a document may mix
	 * them). */
	for (c = first; c != NULL; c = c->next) {
		if (!only_blank_text(c))
			return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
			                 "text directly in <Node> (put a value "
			                 "in <Value>)");
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_el(c, "Node") || is_el(c, "Value")) {
			if (val != NULL || (kid != NULL && is_el(c, "Value")))
				return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
				                 is_el(c, "Value") && val != NULL
				                 ? "a second <Value> in one <Node>"
				                 : "a <Node> has a <Value> or "
				                   "child <Node>s, not both");
			if (is_el(c, "Value"))
				val = c;
			else
				kid = c;
			continue;
		}
		if (is_el(c, "RTProperties") || is_el(c, "DFProperties")) {
			const xmlNode **slot = is_el(c, "RTProperties") ? &rt
			                       : &df;

			if (*slot != NULL)
				return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
				                 "a second <%s> in one <Node>",
				                 c->name);
			if (val != NULL || kid != NULL)
				return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
				                 "<%s> after <%s>: a Node is "
				                 "(NodeName, Path?, RTProperties?, "
				                 "DFProperties?, (Node* | Value?))",
				                 c->name, val != NULL ? "Value"
				                                      : "Node");
			*slot = c;
			continue;
		}
		if (!in_ddf_ns(c))
			return not_ddf(ld, c, at);
		if (is_el(c, "Path"))
			return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
			                 "<Path> only right after <NodeName> of "
			                 "a Node directly under MgmtTree");
		return load_fail(ld, c, at, DMSC_TNDS_MALFORMED,
		                 "<%s> does not belong in <Node> (NodeName, "
		                 "Path, RTProperties, DFProperties, Value, "
		                 "Node)", c->name);
	}
	if (rt != NULL && (rc = load_rtprops(ld, n, rt, at)) != DMSC_TNDS_OK)
		return rc;
	if (n->prop[DMSC_TNDS_FORMAT] != NULL) {
		n->interior = strcmp(n->prop[DMSC_TNDS_FORMAT], "node") == 0;
		if (!n->interior && n->child != NULL)
			return load_fail(ld, rt, at, DMSC_TNDS_NOT_ALLOWED,
			                 "Format %s for a node that has "
			                 "children", dmsc_tnds_format(n));
	}
	for (c = first; c != NULL; c = c->next)
		if (is_el(c, "Node")) {
			if (!n->interior &&
			    n->prop[DMSC_TNDS_FORMAT] != NULL)
				return load_fail(ld, c, at,
				                 DMSC_TNDS_NOT_ALLOWED,
				                 "a child <Node> under a leaf "
				                 "(Format %s)", dmsc_tnds_format(n));
			n->interior = true;
		}
	if (val != NULL) {
		if (n->interior)
			return load_fail(ld, val, at, DMSC_TNDS_NOT_ALLOWED,
			                 "a <Value> on an interior node");
		rc = value_text(ld, val, n, at, &n->value, &n->value_len);
		if (rc != DMSC_TNDS_OK)
			return rc;
	}
	if (df != NULL) {
		n->dfprops = xmlDocCopyNode((xmlNodePtr)df, NULL, 1);
		if (n->dfprops == NULL)
			return load_fail(ld, df, at, DMSC_TNDS_NOMEM,
			                 "out of memory");
		strip_blanks(n->dfprops);
		drop_ddf_ns(n->dfprops);
	}
	for (c = first; c != NULL; c = c->next)
		if (is_el(c, "Node") &&
		    (rc = load_node(ld, n, c, depth + 1, false, NULL)) !=
		    DMSC_TNDS_OK)
			return rc;
	return DMSC_TNDS_OK;
}

/* The first element child of el, skipping blank text and comments; text
 * that is not blank is returned too, so the caller refuses it. */
static const xmlNode *first_significant(const xmlNode *c)
{
	while (c != NULL && only_blank_text(c) && c->type != XML_ELEMENT_NODE)
		c = c->next;
	return c;
}

static int load_node(struct loader *ld, dmsc_tnds_node *parent,
                     const xmlNode *el, size_t depth, bool top,
                     const char *base)
{
	const xmlNode *name_el = first_significant(el->children), *next;
	char at[DMSC_TNDS_URI_BUF], why[160];
	char *name;
	bool nested;
	dmsc_tnds_node *n;
	size_t pdepth = 0;

	if (!dmsc_tnds_node_uri(parent, at, sizeof at))
		strcpy(at, "a deep node");
	if (name_el == NULL || !is_el(name_el, "NodeName"))
		return load_fail(ld, name_el != NULL ? name_el : el, at,
		                 DMSC_TNDS_MALFORMED, "a <Node> must start with "
		                 "<NodeName>");
	name = leaf_text(name_el, &nested);
	if (name == NULL)
		return load_fail(ld, name_el, at, nested ? DMSC_TNDS_MALFORMED
		                 : DMSC_TNDS_NOMEM, nested ? "<NodeName> holds "
		                 "an element; expected text" : "out of memory");
	if (!name_ok(name, strlen(name), ld->t->lim.max_name, why,
	             sizeof why)) {
		free(name);
		return load_fail(ld, name_el, at, DMSC_TNDS_MALFORMED,
		                 "<NodeName>: %s", why);
	}
	next = first_significant(name_el->next);
	if (next != NULL && is_el(next, "Path")) {
		char *path = leaf_text(next, &nested), norm[DMSC_TNDS_URI_BUF];
		char joined[2 * DMSC_TNDS_URI_BUF];
		dmsc_tnds_node *p;
		int rc;

		if (path == NULL) {
			free(name);
			return load_fail(ld, next, at, DMSC_TNDS_MALFORMED,
			                 "<Path> must be text");
		}
		if (!top) {
			free(path);
			free(name);
			return load_fail(ld, next, at, DMSC_TNDS_MALFORMED,
			                 "<Path> only on a Node directly under "
			                 "MgmtTree");
		}
		/* Under a base (TNDS in a command's Data), a relative Path
		 * is relative to it. */
		if (base != NULL && strcmp(base, ".") != 0 &&
		    strncmp(path, "./", 2) != 0 && strcmp(path, ".") != 0)
			snprintf(joined, sizeof joined, "%s/%s", base, path);
		else
			snprintf(joined, sizeof joined, "%s", path);
		free(path);
		rc = dmsc_tnds_path_norm(&ld->t->lim, joined, norm,
		                         sizeof norm, &pdepth, why, sizeof why);
		if (rc != DMSC_TNDS_OK) {
			free(name);
			return load_fail(ld, next, at, rc, "<Path>: %s", why);
		}
		/* Create the implied interior nodes of the Path. */
		if (strcmp(norm, ".") != 0) {
			const char *last;
			char probe[DMSC_TNDS_URI_BUF + 4];
			int wrc = DMSC_TNDS_OK;

			snprintf(probe, sizeof probe, "%s/x", norm);
			p = walk_to_parent(ld->t, probe, true, &last, &wrc);
			if (p == NULL) {
				free(name);
				return load_fail(ld, next, at, wrc, "<Path> "
				                 "%s: %s", norm,
				                 wrc == DMSC_TNDS_NOT_ALLOWED
				                 ? "a leaf is on the way"
				                 : dmsc_tnds_status_name(wrc));
			}
			parent = p;
		}
		snprintf(at, sizeof at, "%s", norm);
	} else if (top && base != NULL) {
		dmsc_tnds_node *p = dmsc_tnds_find(ld->t, base);

		if (p == NULL) {
			free(name);
			return load_fail(ld, el, at, DMSC_TNDS_NOT_FOUND,
			                 "no node at %s to hold the TNDS", base);
		}
		parent = p;
		snprintf(at, sizeof at, "%s", base);
	}
	depth += pdepth;
	if (depth > ld->t->lim.max_depth) {
		free(name);
		return load_fail(ld, el, at, DMSC_TNDS_LIMIT, "deeper than %zu "
		                 "nodes", ld->t->lim.max_depth);
	}
	if (!parent->interior) {
		free(name);
		return load_fail(ld, el, at, DMSC_TNDS_NOT_ALLOWED,
		                 "a child node under the leaf %s", at);
	}
	n = child_named(parent, name, strlen(name));
	if (n != NULL) {
		if (!n->implied) {
			load_fail(ld, name_el, at, DMSC_TNDS_EXISTS, "the node "
			          "%s/%s is defined twice", at, name);
			free(name);
			return ld->status;
		}
		free(name);
		n->implied = false;
	} else {
		if (ld->t->nodes >= ld->t->lim.max_nodes) {
			free(name);
			return load_fail(ld, el, at, DMSC_TNDS_LIMIT, "more "
			                 "than %zu nodes", ld->t->lim.max_nodes);
		}
		n = calloc(1, sizeof *n);
		if (n == NULL) {
			free(name);
			return load_fail(ld, el, at, DMSC_TNDS_NOMEM,
			                 "out of memory");
		}
		n->name = name;
		append_child(parent, n);
		ld->t->nodes++;
	}
	/* Until the document says otherwise, a node is a leaf (or stays
	 * interior: an implied node that already has children). */
	n->interior = n->child != NULL;
	{
		size_t l = strlen(at);

		snprintf(at + l, sizeof at - l, "/%s", n->name);
	}
	next = name_el->next;
	if (next != NULL && first_significant(next) != NULL &&
	    is_el(first_significant(next), "Path"))
		next = first_significant(next)->next;
	return load_node_body(ld, n, next, at, depth);
}

/* A header element: at most once per document; the last document read
 * sets the tree's. */
static int load_header(struct loader *ld, const xmlNode *c, char **slot,
                       bool *seen)
{
	bool nested;
	char *text;

	if (*seen)
		return load_fail(ld, c, NULL, DMSC_TNDS_MALFORMED, "a second "
		                 "<%s> in MgmtTree", c->name);
	text = leaf_text(c, &nested);
	if (text == NULL)
		return load_fail(ld, c, NULL, nested ? DMSC_TNDS_MALFORMED
		                 : DMSC_TNDS_NOMEM, nested ? "<%s> holds an "
		                 "element; expected text" : "out of memory",
		                 c->name);
	if (!dmsc_tnds_text_ok(text, strlen(text))) {
		free(text);
		return load_fail(ld, c, NULL, DMSC_TNDS_BAD_VALUE, "<%s> holds "
		                 "a control character or is not UTF-8",
		                 c->name);
	}
	free(*slot);
	*slot = text;
	*seen = true;
	return DMSC_TNDS_OK;
}

static int load_tree(struct loader *ld, const xmlNode *root, const char *base)
{
	const xmlNode *c;
	bool seen_verdtd = false, seen_man = false, seen_mod = false,
	     seen_node = false;
	int rc;

	if (root->type != XML_ELEMENT_NODE || !is_el(root, "MgmtTree") ||
	    root->ns == NULL ||
	    xmlStrcmp(root->ns->href, BAD_CAST DMSC_DM_NS_DMDDF12) != 0)
		return load_fail(ld, root, NULL, DMSC_TNDS_MALFORMED, "expected "
		                 "<MgmtTree xmlns=\"" DMSC_DM_NS_DMDDF12 "\">");
	for (c = root->children; c != NULL; c = c->next) {
		if (!only_blank_text(c))
			return load_fail(ld, c, NULL, DMSC_TNDS_MALFORMED,
			                 "text directly in <MgmtTree>");
		if (c->type != XML_ELEMENT_NODE)
			continue;
		/* The content model: (VerDTD, Man?, Mod?, Node*). */
		if (!seen_verdtd && !is_el(c, "VerDTD"))
			return load_fail(ld, c, NULL, DMSC_TNDS_MALFORMED,
			                 "a <MgmtTree> starts with <VerDTD>");
		if ((is_el(c, "Man") && (seen_mod || seen_node)) ||
		    (is_el(c, "Mod") && seen_node))
			return load_fail(ld, c, NULL, DMSC_TNDS_MALFORMED,
			                 "<%s> out of place: a MgmtTree is "
			                 "(VerDTD, Man?, Mod?, Node*)", c->name);
		if (is_el(c, "VerDTD"))
			rc = load_header(ld, c, &ld->t->verdtd, &seen_verdtd);
		else if (is_el(c, "Man"))
			rc = load_header(ld, c, &ld->t->man, &seen_man);
		else if (is_el(c, "Mod"))
			rc = load_header(ld, c, &ld->t->mod, &seen_mod);
		else if (is_el(c, "Node"))
			rc = load_node(ld, &ld->t->root, c, 1, true, base);
		else if (!in_ddf_ns(c))
			rc = not_ddf(ld, c, NULL);
		else
			rc = load_fail(ld, c, NULL, DMSC_TNDS_MALFORMED, "<%s> "
			               "does not belong in <MgmtTree> (VerDTD, "
			               "Man, Mod, Node)", c->name);
		if (rc != DMSC_TNDS_OK)
			return rc;
		seen_node = seen_node || is_el(c, "Node");
	}
	if (!seen_verdtd)
		return load_fail(ld, root, NULL, DMSC_TNDS_MALFORMED,
		                 "a <MgmtTree> starts with <VerDTD>");
	return DMSC_TNDS_OK;
}

/* create_base: make base's missing interior nodes (implied) first. */
static int load_into_copy(dmsc_tnds *t, const xmlNode *root, const char *base,
                          bool create_base, dmsc_dm_error *err)
{
	struct loader ld = { .err = err, .status = DMSC_TNDS_OK };
	int rc;

	ld.t = dmsc_tnds_clone(t);
	if (ld.t == NULL)
		return dmsc_dm_fail(err, DMSC_TNDS_NOMEM, DMSC_DM_NO_OFFSET, 0,
		                    "out of memory");
	if (create_base && base != NULL && strcmp(base, ".") != 0) {
		char probe[DMSC_TNDS_URI_BUF + 4];
		const char *last;
		int wrc = DMSC_TNDS_OK;

		snprintf(probe, sizeof probe, "%s/x", base);
		if (walk_to_parent(ld.t, probe, true, &last, &wrc) == NULL) {
			dmsc_tnds_free(ld.t);
			return dmsc_dm_fail(err, wrc, DMSC_DM_NO_OFFSET, 0,
			                    "%s: %s", base,
			                    wrc == DMSC_TNDS_NOT_ALLOWED
			                    ? "a leaf is on the way"
			                    : dmsc_tnds_status_name(wrc));
		}
	}
	rc = load_tree(&ld, root, base);
	if (rc != DMSC_TNDS_OK) {
		dmsc_tnds_free(ld.t);
		return rc;
	}
	tree_take(t, ld.t);
	return DMSC_TNDS_OK;
}

int dmsc_tnds_load(dmsc_tnds *t, const unsigned char *buf, size_t len,
                   dmsc_dm_error *err)
{
	return dmsc_tnds_load_at(t, ".", buf, len, err);
}

int dmsc_tnds_load_at(dmsc_tnds *t, const char *base, const unsigned char *buf,
                      size_t len, dmsc_dm_error *err)
{
	char norm[DMSC_TNDS_URI_BUF], why[160];
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	int rc = dmsc_tnds_path_norm(&t->lim, base, norm, sizeof norm, NULL,
	                             why, sizeof why);

	if (rc != DMSC_TNDS_OK)
		return dmsc_dm_fail(err, rc, DMSC_DM_NO_OFFSET, 0, "%s", why);
	rc = dmsc_dm_parse(buf, len, NULL, &doc, &kind, err);
	if (rc != DMSC_DM_OK)
		return rc == DMSC_DM_LIMIT ? DMSC_TNDS_LIMIT
		       : rc == DMSC_DM_NOMEM ? DMSC_TNDS_NOMEM
		       : DMSC_TNDS_MALFORMED;
	if (kind != DMSC_DM_TNDS) {
		xmlFreeDoc(doc);
		return dmsc_dm_fail(err, DMSC_TNDS_MALFORMED, DMSC_DM_NO_OFFSET,
		                    1, "line 1: "
		                    "a SyncML message, not a TNDS document "
		                    "(<MgmtTree xmlns=\"" DMSC_DM_NS_DMDDF12
		                    "\">)");
	}
	rc = load_into_copy(t, xmlDocGetRootElement(doc),
	                    strcmp(norm, ".") == 0 ? NULL : norm, true, err);
	xmlFreeDoc(doc);
	return rc;
}

int dmsc_tnds_check(const unsigned char *buf, size_t len, dmsc_dm_error *err)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	int rc;

	if (t == NULL)
		return dmsc_dm_fail(err, DMSC_TNDS_NOMEM, DMSC_DM_NO_OFFSET, 0,
		                    "out of memory");
	rc = dmsc_tnds_load(t, buf, len, err);
	dmsc_tnds_free(t);
	return rc;
}

int dmsc_tnds_load_element(dmsc_tnds *t, const char *base,
                           const xmlNode *mgmttree, dmsc_dm_error *err)
{
	if (base == NULL || mgmttree == NULL)
		return dmsc_dm_fail(err, DMSC_TNDS_MALFORMED, DMSC_DM_NO_OFFSET,
		                    0, "no TNDS given");
	return load_into_copy(t, mgmttree, base, false, err);
}

/* ---- Writing ---- */

static bool add_text_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
                           const char *text)
{
	xmlNodePtr c = xmlNewChild(parent, ns, BAD_CAST name, NULL);

	if (c == NULL)
		return false;
	if (text != NULL && *text != '\0') {
		xmlNodePtr tx = xmlNewText(BAD_CAST text);

		if (tx == NULL)
			return false;
		xmlAddChild(c, tx);
	}
	return true;
}

static bool write_node(xmlNodePtr parent, xmlNsPtr ns,
                       const dmsc_tnds_node *n, const char *path)
{
	xmlNodePtr el = xmlNewChild(parent, ns, BAD_CAST "Node", NULL);
	xmlNodePtr rt = NULL;
	const dmsc_tnds_node *c;
	size_t i;

	if (el == NULL || !add_text_child(el, ns, "NodeName", n->name))
		return false;
	if (path != NULL && !add_text_child(el, ns, "Path", path))
		return false;
	for (i = 0; i < DMSC_TNDS_NPROPS; i++) {
		xmlNodePtr p;

		if (n->prop[i] == NULL)
			continue;
		if (rt == NULL &&
		    (rt = xmlNewChild(el, ns, BAD_CAST "RTProperties",
		                      NULL)) == NULL)
			return false;
		if (i == DMSC_TNDS_FORMAT) {
			p = xmlNewChild(rt, ns, BAD_CAST "Format", NULL);
			if (p == NULL || xmlNewChild(p, ns,
			                             BAD_CAST n->prop[i],
			                             NULL) == NULL)
				return false;
		} else if (i == DMSC_TNDS_TYPE) {
			p = xmlNewChild(rt, ns, BAD_CAST "Type", NULL);
			if (p == NULL ||
			    !add_text_child(p, ns, n->type_ddf ? "DDFName"
			                                       : "MIME",
			                    n->prop[i]))
				return false;
		} else if (!add_text_child(rt, ns, prop_element[i],
		                           n->prop[i])) {
			return false;
		}
	}
	if (n->dfprops != NULL) {
		xmlNodePtr df = xmlDocCopyNode(n->dfprops, parent->doc, 1);

		if (df == NULL)
			return false;
		xmlAddChild(el, df);
		set_ns(df, ns);
	}
	if (n->value != NULL && !add_text_child(el, ns, "Value", n->value))
		return false;
	for (c = n->child; c != NULL; c = c->next)
		if (!write_node(el, ns, c, NULL))
			return false;
	return true;
}

int dmsc_tnds_write(const dmsc_tnds *t, const char *uri, char **out,
                    size_t *out_len)
{
	const dmsc_tnds_node *n = dmsc_tnds_find(t, uri);
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlNsPtr ns;
	xmlChar *mem = NULL;
	int mem_len = 0, rc = DMSC_TNDS_NOMEM;
	char parent_uri[DMSC_TNDS_URI_BUF], *pu = NULL;

	*out = NULL;
	*out_len = 0;
	if (n == NULL)
		return DMSC_TNDS_NOT_FOUND;
	if (n->parent != NULL && n->parent->parent != NULL) {
		pu = parent_uri;
		if (!dmsc_tnds_node_uri(n->parent, pu, sizeof parent_uri))
			return DMSC_TNDS_LIMIT;
	}
	doc = xmlNewDoc(BAD_CAST "1.0");
	if (doc == NULL)
		return DMSC_TNDS_NOMEM;
	root = xmlNewDocNode(doc, NULL, BAD_CAST "MgmtTree", NULL);
	if (root == NULL)
		goto done;
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, BAD_CAST DMSC_DM_NS_DMDDF12, NULL);
	if (ns == NULL)
		goto done;
	xmlSetNs(root, ns);
	if (!add_text_child(root, ns, "VerDTD", t->verdtd != NULL ? t->verdtd
	                                                         : "1.2") ||
	    (t->man != NULL && !add_text_child(root, ns, "Man", t->man)) ||
	    (t->mod != NULL && !add_text_child(root, ns, "Mod", t->mod)))
		goto done;
	if (n->parent == NULL) {
		const dmsc_tnds_node *c;

		for (c = n->child; c != NULL; c = c->next)
			if (!write_node(root, ns, c, NULL))
				goto done;
	} else if (!write_node(root, ns, n, pu)) {
		goto done;
	}
	xmlDocDumpFormatMemoryEnc(doc, &mem, &mem_len, "UTF-8", 1);
	if (mem == NULL || mem_len < 0)
		goto done;
	*out = malloc((size_t)mem_len + 1);
	if (*out == NULL)
		goto done;
	memcpy(*out, mem, (size_t)mem_len);
	(*out)[mem_len] = '\0';
	*out_len = (size_t)mem_len;
	rc = DMSC_TNDS_OK;
done:
	xmlFree(mem);
	xmlFreeDoc(doc);
	return rc;
}
