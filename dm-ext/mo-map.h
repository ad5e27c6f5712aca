/*
 * dm-ext/mo-map.h - how a management tree maps to the MO objects on a
 * card, and what to write back after the tree changed.
 *
 * An MO object (CKO_DATA, CKA_APPLICATION "OMA-DM:MO", DESIGN.md) has as
 * CKA_LABEL the URI of its root node and as CKA_VALUE the TNDS of its
 * subtree, read with the label's parent as its place (dmsc_tnds_load_at:
 * a top Node without a Path, as in <NodeName>OperatorX</NodeName> stored
 * at ./DMAcc/OperatorX, is the root; this writer puts the absolute
 * <Path> in).  The rule:
 *   - a node belongs to the object whose label is the longest one that
 *     is the node's URI or a prefix of it ending at a '/';
 *   - an object's TNDS holds its root and everything under it except the
 *     subtrees of objects with a longer label (they hold those);
 *   - nodes above every object's root (./DMAcc above ./DMAcc/OperatorX)
 *     belong to no object: they exist in the tree because a Path names
 *     them, and their properties are not stored;
 *   - a node that belongs to no object after a change is given a new
 *     object: its root is the node's ancestor (or itself) two levels
 *     below "." (./A/B: ./DMAcc/OperatorX, ./FUMO/Pkg1, ./Vendor/X), or
 *     the node one level below "." when it has no children (./A); when
 *     such a root would hold another object's subtree, its children are
 *     taken one by one instead;
 *   - an object whose root node is gone is destroyed.
 * Objects whose label is not a valid URI are no part of the tree: they
 * are left alone.
 */
#ifndef DMSC_DMEXT_MO_MAP_H
#define DMSC_DMEXT_MO_MAP_H

#include <stddef.h>

#include "mgmt-tree.h"

typedef enum dmsc_mo_action_kind {
	DMSC_MO_REPLACE = 1, /* the object exists: its value becomes bytes */
	DMSC_MO_CREATE = 2,  /* a new object with this label and bytes */
	DMSC_MO_DESTROY = 3, /* the object's root node is gone */
} dmsc_mo_action_kind;

typedef struct dmsc_mo_action {
	dmsc_mo_action_kind kind;
	char *label;         /* normalised URI */
	size_t object;       /* REPLACE, DESTROY: index in the labels given */
	char *bytes;         /* REPLACE, CREATE: the TNDS (UTF-8 XML) */
	size_t len;
} dmsc_mo_action;

/* The TNDS that the object labelled label holds of tree t, given every
 * object's label (labels, n; label itself among them): *out malloc'ed,
 * or NULL with DMSC_TNDS_OK when its root is not in t.  Returns a
 * dmsc_tnds_status. */
int dmsc_mo_object_tnds(const dmsc_tnds *t, const char *label,
                        const char *const *labels, size_t n, char **out,
                        size_t *out_len);

/* What to write so the card holds `after`, when it held `before` under
 * these labels (normalised URIs; invalid ones are skipped): the objects
 * whose TNDS changed, the new ones, the ones to destroy, in label order
 * (creates and replaces before destroys).  *actions is an array of *n
 * (dmsc_mo_actions_free).  Returns a dmsc_tnds_status. */
int dmsc_mo_plan(const dmsc_tnds *before, const dmsc_tnds *after,
                 const char *const *labels, size_t n_labels,
                 dmsc_mo_action **actions, size_t *n);

void dmsc_mo_actions_free(dmsc_mo_action *actions, size_t n);

#endif /* DMSC_DMEXT_MO_MAP_H */
