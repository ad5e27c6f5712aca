/*
 * dm-ext/tnds-diff.c - node-level differences between two trees (see
 * tnds-diff.h).
 */
#include "tnds-diff.h"

#include <string.h>

static const char *const prop_name[DMSC_TNDS_NPROPS] = {
	"ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo",
};

struct walk {
	dmsc_tnds_change_cb cb;
	void *ctx;
	size_t count;
	char uri[DMSC_TNDS_URI_BUF];
};

static size_t count_below(const dmsc_tnds_node *n)
{
	size_t k = 0;
	const dmsc_tnds_node *c;

	for (c = n->child; c != NULL; c = c->next)
		k += 1 + count_below(c);
	return k;
}

static const dmsc_tnds_node *child_named(const dmsc_tnds_node *n,
                                         const char *name)
{
	const dmsc_tnds_node *c;

	for (c = n->child; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void report(struct walk *w, dmsc_tnds_change_kind kind,
                   const dmsc_tnds_node *a, const dmsc_tnds_node *b,
                   const char *what, const char *at, const char *bt)
{
	dmsc_tnds_change c = {
		.kind = kind, .uri = w->uri, .a = a, .b = b, .what = what,
		.a_text = at, .b_text = bt,
		.below = kind == DMSC_TNDS_ONLY_A ? count_below(a)
		         : kind == DMSC_TNDS_ONLY_B ? count_below(b) : 0,
	};

	w->count++;
	if (w->cb != NULL)
		w->cb(w->ctx, &c);
}

static bool same_text(const char *x, const char *y)
{
	return (x == NULL && y == NULL) ||
	       (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static void compare(struct walk *w, const dmsc_tnds_node *a,
                    const dmsc_tnds_node *b);

/* Append "/name" to the URI being walked, compare or report, cut back. */
static void visit_child(struct walk *w, const dmsc_tnds_node *a,
                        const dmsc_tnds_node *b)
{
	size_t len = strlen(w->uri);
	const char *name = a != NULL ? a->name : b->name;

	if (len + 1 + strlen(name) + 1 > sizeof w->uri)
		return; /* deeper than any tree's limits allow */
	w->uri[len] = '/';
	strcpy(w->uri + len + 1, name);
	if (a == NULL)
		report(w, DMSC_TNDS_ONLY_B, NULL, b, NULL, NULL, NULL);
	else if (b == NULL)
		report(w, DMSC_TNDS_ONLY_A, a, NULL, NULL, NULL, NULL);
	else
		compare(w, a, b);
	w->uri[len] = '\0';
}

static void compare(struct walk *w, const dmsc_tnds_node *a,
                    const dmsc_tnds_node *b)
{
	const dmsc_tnds_node *c;
	size_t i;

	if (!same_text(a->value, b->value) ||
	    (a->value != NULL && a->value_len != b->value_len))
		report(w, DMSC_TNDS_CHANGED, a, b, "value", a->value,
		       b->value);
	for (i = 0; i < DMSC_TNDS_NPROPS; i++) {
		const char *x = a->prop[i], *y = b->prop[i];

		if (i == DMSC_TNDS_FORMAT) {
			x = dmsc_tnds_format(a);
			y = dmsc_tnds_format(b);
		}
		if (!same_text(x, y) || (i == DMSC_TNDS_TYPE && x != NULL &&
		                         a->type_ddf != b->type_ddf))
			report(w, DMSC_TNDS_CHANGED, a, b, prop_name[i], x, y);
	}
	for (c = a->child; c != NULL; c = c->next)
		visit_child(w, c, child_named(b, c->name));
	for (c = b->child; c != NULL; c = c->next)
		if (child_named(a, c->name) == NULL)
			visit_child(w, NULL, c);
}

size_t dmsc_tnds_diff(const dmsc_tnds *a, const dmsc_tnds *b, const char *uri,
                      dmsc_tnds_change_cb cb, void *ctx)
{
	struct walk w = { .cb = cb, .ctx = ctx, .count = 0 };
	const dmsc_tnds_node *na = dmsc_tnds_find(a, uri);
	const dmsc_tnds_node *nb = dmsc_tnds_find(b, uri);
	const dmsc_tnds_node *n = na != NULL ? na : nb;

	if (n == NULL || !dmsc_tnds_node_uri(n, w.uri, sizeof w.uri))
		return 0;
	if (na == NULL)
		report(&w, DMSC_TNDS_ONLY_B, NULL, nb, NULL, NULL, NULL);
	else if (nb == NULL)
		report(&w, DMSC_TNDS_ONLY_A, na, NULL, NULL, NULL, NULL);
	else
		compare(&w, na, nb);
	return w.count;
}
