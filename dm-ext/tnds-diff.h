/*
 * dm-ext/tnds-diff.h - node-level differences between two management
 * trees (dm-ext/mgmt-tree.h): what `dmsc diff` reports between the MOs on the
 * card and a device's tree.
 *
 * The trees are walked side by side from one URI down; children match by
 * name (their order does not matter).  A node in only one tree is one
 * change (the nodes under it are counted, not listed); a node in both is
 * compared on its value and each run-time property (Format compared as
 * dmsc_tnds_format() gives it, so a leaf without a Format equals one with
 * Format chr).  DFProperties describe the kind of node, not its state,
 * and are not compared.
 */
#ifndef DMSC_DMEXT_TNDS_DIFF_H
#define DMSC_DMEXT_TNDS_DIFF_H

#include <stddef.h>

#include "mgmt-tree.h"

typedef enum dmsc_tnds_change_kind {
	DMSC_TNDS_ONLY_A = 1,   /* in the first tree only */
	DMSC_TNDS_ONLY_B = 2,   /* in the second tree only */
	DMSC_TNDS_CHANGED = 3,  /* in both, one value or property differs */
} dmsc_tnds_change_kind;

typedef struct dmsc_tnds_change {
	dmsc_tnds_change_kind kind;
	const char *uri;
	const dmsc_tnds_node *a, *b; /* NULL for the tree it is not in */
	const char *what;       /* CHANGED: "value" or a property's element
	                           name ("Format", "ACL", ...) */
	const char *a_text, *b_text; /* CHANGED: the two texts, NULL when
	                           that side has none */
	size_t below;           /* ONLY_*: nodes under it */
} dmsc_tnds_change;

typedef void (*dmsc_tnds_change_cb)(void *ctx, const dmsc_tnds_change *c);

/* Compare the subtrees at uri of a and b; call cb (may be NULL) for each
 * change, parents before children, children in a's order then b's.
 * Returns the number of changes.  A uri in neither tree gives 0; in one
 * only, one change. */
size_t dmsc_tnds_diff(const dmsc_tnds *a, const dmsc_tnds *b, const char *uri,
                      dmsc_tnds_change_cb cb, void *ctx);

#endif /* DMSC_DMEXT_TNDS_DIFF_H */
