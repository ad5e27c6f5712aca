/*
 * dm-ext/mo-map.c - the tree to MO objects rule and the write-back plan
 * (see mo-map.h).
 *
 * Whether an object changed is decided on the TNDS this writer makes of
 * its subtree before and after, never on the bytes stored: an object
 * written by another tool (indented otherwise, in WBXML) that the
 * message did not touch is left as it is.
 */
#include "mo-map.h"

#include <stdlib.h>
#include <string.h>

/* Is uri the label or under it? */
static bool under(const char *uri, const char *label)
{
	size_t l = strlen(label);

	if (strcmp(label, ".") == 0)
		return true;
	return strncmp(uri, label, l) == 0 &&
	       (uri[l] == '\0' || uri[l] == '/');
}

int dmsc_mo_object_tnds(const dmsc_tnds *t, const char *label,
                        const char *const *labels, size_t n, char **out,
                        size_t *out_len)
{
	dmsc_tnds *c;
	size_t i;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (dmsc_tnds_find(t, label) == NULL)
		return DMSC_TNDS_OK;
	c = dmsc_tnds_clone(t);
	if (c == NULL)
		return DMSC_TNDS_NOMEM;
	for (i = 0; i < n; i++)
		if (labels[i] != NULL && strcmp(labels[i], label) != 0 &&
		    under(labels[i], label))
			(void)dmsc_tnds_delete(c, labels[i]);
	rc = dmsc_tnds_write(c, label, out, out_len);
	dmsc_tnds_free(c);
	return rc;
}

struct plan {
	dmsc_mo_action *a;
	size_t n, cap;
	const char **labels;    /* existing (normalised) and new labels */
	size_t n_labels, n_existing;
	const dmsc_tnds *before, *after;
};

static int push(struct plan *p, dmsc_mo_action_kind kind, const char *label,
                size_t object, char *bytes, size_t len)
{
	dmsc_mo_action *a;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		dmsc_mo_action *g = realloc(p->a, cap * sizeof *g);

		if (g == NULL)
			return DMSC_TNDS_NOMEM;
		p->a = g;
		p->cap = cap;
	}
	a = &p->a[p->n];
	a->label = strdup(label);
	if (a->label == NULL)
		return DMSC_TNDS_NOMEM;
	a->kind = kind;
	a->object = object;
	a->bytes = bytes;
	a->len = len;
	p->n++;
	return DMSC_TNDS_OK;
}

static bool covered(const struct plan *p, const char *uri)
{
	size_t i;

	for (i = 0; i < p->n_labels; i++)
		if (p->labels[i] != NULL && under(uri, p->labels[i]))
			return true;
	return false;
}

static bool holds_a_label(const struct plan *p, const char *uri)
{
	size_t i;

	for (i = 0; i < p->n_labels; i++)
		if (p->labels[i] != NULL && strcmp(p->labels[i], uri) != 0 &&
		    under(p->labels[i], uri))
			return true;
	return false;
}

/* A new object at uri when its TNDS is not what `before` had there. */
static int create(struct plan *p, const char *uri)
{
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	const char **grown;
	int rc;

	rc = dmsc_mo_object_tnds(p->after, uri, p->labels, p->n_labels, &a,
	                         &alen);
	if (rc == DMSC_TNDS_OK)
		rc = dmsc_mo_object_tnds(p->before, uri, p->labels,
		                         p->n_labels, &b, &blen);
	if (rc != DMSC_TNDS_OK || a == NULL ||
	    (b != NULL && alen == blen && memcmp(a, b, alen) == 0)) {
		free(a);
		free(b);
		return rc;
	}
	free(b);
	grown = realloc(p->labels, (p->n_labels + 1) * sizeof *grown);
	if (grown == NULL) {
		free(a);
		return DMSC_TNDS_NOMEM;
	}
	p->labels = grown;
	rc = push(p, DMSC_MO_CREATE, uri, 0, a, alen);
	if (rc != DMSC_TNDS_OK) {
		free(a);
		return rc;
	}
	p->labels[p->n_labels++] = p->a[p->n - 1].label;
	return DMSC_TNDS_OK;
}

static int place(struct plan *p, const dmsc_tnds_node *n, size_t depth)
{
	char uri[DMSC_TNDS_URI_BUF];
	const dmsc_tnds_node *c;
	int rc;

	if (!dmsc_tnds_node_uri(n, uri, sizeof uri))
		return DMSC_TNDS_LIMIT;
	if (covered(p, uri))
		return DMSC_TNDS_OK;
	if ((depth >= 2 || n->child == NULL) && !holds_a_label(p, uri))
		return create(p, uri);
	for (c = n->child; c != NULL; c = c->next)
		if ((rc = place(p, c, depth + 1)) != DMSC_TNDS_OK)
			return rc;
	return DMSC_TNDS_OK;
}

static int cmp_action(const void *x, const void *y)
{
	const dmsc_mo_action *a = x, *b = y;
	int da = a->kind == DMSC_MO_DESTROY, db = b->kind == DMSC_MO_DESTROY;

	if (da != db)
		return da - db;
	return strcmp(a->label, b->label);
}

void dmsc_mo_actions_free(dmsc_mo_action *actions, size_t n)
{
	size_t i;

	for (i = 0; actions != NULL && i < n; i++) {
		free(actions[i].label);
		free(actions[i].bytes);
	}
	free(actions);
}

int dmsc_mo_plan(const dmsc_tnds *before, const dmsc_tnds *after,
                 const char *const *labels, size_t n_labels,
                 dmsc_mo_action **actions, size_t *n)
{
	struct plan p = { .before = before, .after = after };
	char **norm = calloc(n_labels + 1, sizeof *norm);
	const dmsc_tnds_node *c;
	size_t i;
	int rc = DMSC_TNDS_NOMEM;

	*actions = NULL;
	*n = 0;
	p.labels = calloc(n_labels + 1, sizeof *p.labels);
	if (norm == NULL || p.labels == NULL)
		goto done;
	for (i = 0; i < n_labels; i++) {
		char buf[DMSC_TNDS_URI_BUF];

		if (dmsc_tnds_path_norm(&after->lim, labels[i], buf, sizeof buf,
		                        NULL, NULL, 0) != DMSC_TNDS_OK)
			continue;
		if ((norm[i] = strdup(buf)) == NULL)
			goto done;
		p.labels[i] = norm[i];
	}
	p.n_labels = p.n_existing = n_labels;
	rc = DMSC_TNDS_OK;
	for (i = 0; i < n_labels && rc == DMSC_TNDS_OK; i++) {
		char *a = NULL, *b = NULL;
		size_t alen, blen;

		if (norm[i] == NULL)
			continue;
		rc = dmsc_mo_object_tnds(after, norm[i], p.labels, n_labels,
		                         &a, &alen);
		if (rc == DMSC_TNDS_OK)
			rc = dmsc_mo_object_tnds(before, norm[i], p.labels,
			                         n_labels, &b, &blen);
		if (rc == DMSC_TNDS_OK && a == NULL && b != NULL)
			rc = push(&p, DMSC_MO_DESTROY, norm[i], i, NULL, 0);
		else if (rc == DMSC_TNDS_OK && a != NULL &&
		         (b == NULL || alen != blen ||
		          memcmp(a, b, alen) != 0)) {
			rc = push(&p, DMSC_MO_REPLACE, norm[i], i, a, alen);
			if (rc == DMSC_TNDS_OK)
				a = NULL;
		}
		free(a);
		free(b);
	}
	for (c = after->root.child; c != NULL && rc == DMSC_TNDS_OK;
	     c = c->next)
		rc = place(&p, c, 1);
	if (rc == DMSC_TNDS_OK) {
		/* No actions: p.a is NULL, which qsort may not be given. */
		if (p.n > 1)
			qsort(p.a, p.n, sizeof *p.a, cmp_action);
		*actions = p.a;
		*n = p.n;
		p.a = NULL;
		p.n = 0;
	}
done:
	dmsc_mo_actions_free(p.a, p.n);
	for (i = 0; norm != NULL && i < n_labels; i++)
		free(norm[i]);
	free(norm);
	free(p.labels);
	return rc;
}
