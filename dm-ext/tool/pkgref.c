/*
 * dm-ext/tool/pkgref.c - find the package digests, names and operations
 * a DM message names (see pkgref.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pkgref.h"

#define DIGEST_SUFFIX "/Ext/PkgDigest"

static bool named(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (n = n == NULL ? NULL : n->children; n != NULL; n = n->next)
		if (named(n, name))
			return n;
	return NULL;
}

/* The trimmed text of n into buf; false if it does not fit or is absent. */
static bool text_of(xmlNodePtr n, char *buf, size_t size)
{
	xmlChar *t = n == NULL ? NULL : xmlNodeGetContent(n);
	const char *s = (const char *)t, *e;
	bool ok = false;

	if (t == NULL)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if ((size_t)(e - s) < size) {
		memcpy(buf, s, (size_t)(e - s));
		buf[e - s] = '\0';
		ok = true;
	}
	xmlFree(t);
	return ok;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool parse_digest(const char *hex, unsigned char *out)
{
	size_t i;

	if (strlen(hex) != 64)
		return false;
	for (i = 0; i < 32; i++) {
		int hi = hex_digit((unsigned char)hex[2 * i]);
		int lo = hex_digit((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static pkgref *ref_for(pkgrefs *out, const char *node, bool create)
{
	size_t i;

	for (i = 0; i < out->n; i++)
		if (strcmp(out->ref[i].node, node) == 0)
			return &out->ref[i];
	if (!create || out->n == PKGREF_MAX)
		return NULL;
	memset(&out->ref[out->n], 0, sizeof out->ref[0]);
	snprintf(out->ref[out->n].node, PKGREF_PATH_MAX, "%s", node);
	return &out->ref[out->n++];
}

/* Names and Exec targets are matched once every digest is known. */
struct pending {
	char path[PKGREF_PATH_MAX];
	char value[PKGREF_PATH_MAX];
	bool exec;
};

#define PENDING_MAX 64

struct walk {
	pkgrefs *out;
	struct pending pending[PENDING_MAX];
	size_t n_pending;
	char *why;
	size_t why_len;
};

static int item(struct walk *w, xmlNodePtr cmd, xmlNodePtr it)
{
	char path[PKGREF_PATH_MAX], value[PKGREF_PATH_MAX];
	unsigned char digest[32];
	pkgref *r;

	if (!text_of(child(child(it, "Target"), "LocURI"), path, sizeof path))
		return 0; /* no target, or one too long to be ours */
	if (named(cmd, "Exec")) {
		if (w->out->first_exec[0] == '\0')
			snprintf(w->out->first_exec, PKGREF_PATH_MAX, "%s",
			         path);
		if (w->n_pending < PENDING_MAX) {
			w->pending[w->n_pending].exec = true;
			snprintf(w->pending[w->n_pending].path,
			         PKGREF_PATH_MAX, "%s", path);
			w->n_pending++;
		}
		return 0;
	}
	if (ends_with(path, DIGEST_SUFFIX)) {
		path[strlen(path) - strlen(DIGEST_SUFFIX)] = '\0';
		if (!text_of(child(it, "Data"), value, sizeof value) ||
		    !parse_digest(value, digest)) {
			snprintf(w->why, w->why_len, "%s" DIGEST_SUFFIX ": the "
			         "Data is not a SHA-256 in 64 hexadecimal "
			         "digits", path);
			return -1;
		}
		r = ref_for(w->out, path, false);
		if (r != NULL && memcmp(r->digest, digest, 32) != 0) {
			snprintf(w->why, w->why_len, "%s" DIGEST_SUFFIX " is "
			         "given twice with different digests", path);
			return -1;
		}
		r = ref_for(w->out, path, true);
		if (r == NULL) {
			snprintf(w->why, w->why_len, "more than %d packages "
			         "named", PKGREF_MAX);
			return -1;
		}
		memcpy(r->digest, digest, 32);
		return 0;
	}
	if ((ends_with(path, "/PkgName") || ends_with(path, "/Name")) &&
	    text_of(child(it, "Data"), value, sizeof value) &&
	    w->n_pending < PENDING_MAX) {
		w->pending[w->n_pending].exec = false;
		*strrchr(path, '/') = '\0';
		snprintf(w->pending[w->n_pending].path, PKGREF_PATH_MAX, "%s",
		         path);
		snprintf(w->pending[w->n_pending].value, PKGREF_PATH_MAX, "%s",
		         value);
		w->n_pending++;
	}
	return 0;
}

static int walk(struct walk *w, xmlNodePtr parent)
{
	xmlNodePtr n, it;

	for (n = parent->children; n != NULL; n = n->next) {
		if (named(n, "Atomic") || named(n, "Sequence")) {
			if (walk(w, n) != 0)
				return -1;
			continue;
		}
		if (!named(n, "Add") && !named(n, "Replace") &&
		    !named(n, "Exec"))
			continue;
		for (it = n->children; it != NULL; it = it->next)
			if (named(it, "Item") && item(w, n, it) != 0)
				return -1;
	}
	return 0;
}

/* Is path NODE itself or under NODE/ ? */
static bool under(const char *path, const char *node)
{
	size_t n = strlen(node);

	return strncmp(path, node, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

int pkgref_collect(xmlDocPtr doc, pkgrefs *out, char *why, size_t why_len)
{
	struct walk w = { .out = out, .why = why, .why_len = why_len };
	xmlNodePtr root = xmlDocGetRootElement(doc), body;
	size_t i, j;

	body = named(root, "SyncML") ? child(root, "SyncBody") : NULL;
	if (body == NULL) {
		snprintf(why, why_len, "not a SyncML DM message (no SyncBody)");
		return -1;
	}
	if (walk(&w, body) != 0)
		return -1;
	for (i = 0; i < w.n_pending; i++)
		for (j = 0; j < out->n; j++) {
			pkgref *r = &out->ref[j];
			const struct pending *p = &w.pending[i];

			if (p->exec && r->operation[0] == '\0' &&
			    under(p->path, r->node))
				snprintf(r->operation, PKGREF_PATH_MAX, "%s",
				         p->path);
			else if (!p->exec && strcmp(p->path, r->node) == 0)
				snprintf(r->name, PKGREF_PATH_MAX, "%s",
				         p->value);
		}
	return 0;
}

const pkgref *pkgref_find(const pkgrefs *refs, const unsigned char *digest)
{
	size_t i;

	for (i = 0; i < refs->n; i++)
		if (memcmp(refs->ref[i].digest, digest, 32) == 0)
			return &refs->ref[i];
	return NULL;
}
