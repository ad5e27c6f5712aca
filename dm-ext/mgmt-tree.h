/*
 * dm-ext/mgmt-tree.h - an OMA DM management tree, read from and written as
 * TNDS (OMA DM Tree and Description Serialization 1.2: a <MgmtTree
 * xmlns="syncml:dmddf1.2"> document), for untrusted input.
 *
 * This is the one place the rules of a TNDS document are checked: the DM
 * commands read their tree with it, and `dmsc mo put` and `dmsc
 * personalise` check an MO with it (dmsc_tnds_check) before it is stored
 * as it is.
 *
 * The tree has an unnamed root, ".", and under it named nodes.  A node is
 * interior (it may have children; Format "node") or a leaf (it may have a
 * value).  Each node keeps its run-time properties (RTProperties: ACL,
 * Format, Name, Size, Title, TStamp, Type, VerNo) as text, and its
 * DFProperties, if the document gave them, as an XML copy that is written
 * back as it came (whitespace between elements dropped).  Children keep
 * the order they were added in, so writing a tree is deterministic: the
 * same tree gives the same bytes.
 *
 * Reading (dmsc_tnds_load): the document is read by dm-ext/dmmsg.c (XML
 * or WBXML, hardened); then every rule below is checked, with the line of
 * the element that breaks it (XML) or the node's path (WBXML):
 *   - every structural element is in the syncml:dmddf1.2 namespace;
 *   - the root is MgmtTree: (VerDTD, Man?, Mod?, Node*), in that order;
 *   - a Node is (NodeName, Path?, RTProperties?, DFProperties?,
 *     (Node* | Value?)), the two properties in either order; a Path only
 *     on a Node directly under MgmtTree (the URI of its parent, "." when
 *     absent);
 *   - RTProperties holds ACL, Format, Name, Size, Title, TStamp, Type,
 *     VerNo, each at most once; Format one empty element, Type one MIME
 *     or DDFName; DFProperties is kept as it came, unchecked;
 *   - VerDTD, Man, Mod, NodeName, Path, Value and the properties hold
 *     text only; text other than whitespace between structural elements
 *     is refused (comments and processing instructions are ignored);
 *   - a NodeName is 1..max_name bytes, not "." or "..", without '/' or
 *     control characters; a Path is a valid URI (dmsc_tnds_path_norm);
 *   - a node with a Value has no child Node and is not Format node;
 *   - depth, node count, value size and path length stay in the limits.
 * Interior nodes a Path names that are not in the tree yet are created
 * (with no properties).  A node the document defines that already exists
 * is an error, unless the existing node is such an implied interior node:
 * then the document's node fills it in.  This is how the MO objects of a
 * card, each holding one subtree, are read into one tree.  A failed load
 * leaves the tree as it was.
 *
 * URIs: "./A/B", "A/B" (the same node), "." and "./" (the root).  A
 * segment is never empty, ".", or ".."; a trailing '/' is refused; the
 * normal form is "./A/B" (or ".").
 */
#ifndef DMSC_DMEXT_MGMT_TREE_H
#define DMSC_DMEXT_MGMT_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "dmmsg.h"

typedef enum dmsc_tnds_status {
	DMSC_TNDS_OK = 0,
	DMSC_TNDS_MALFORMED = -1,  /* the document breaks a rule above, or is
	                              not a DM document at all */
	DMSC_TNDS_BAD_PATH = -2,   /* a URI that is not valid (see above) */
	DMSC_TNDS_NOT_FOUND = -3,  /* no node at that URI */
	DMSC_TNDS_EXISTS = -4,     /* a node is already at that URI */
	DMSC_TNDS_NOT_ALLOWED = -5,/* a child under a leaf, a value on an
	                              interior node, deleting the root */
	DMSC_TNDS_LIMIT = -6,      /* a dmsc_tnds_limits bound was hit */
	DMSC_TNDS_NOMEM = -7,
	DMSC_TNDS_BAD_VALUE = -8,  /* a value or property that is not XML
	                              text (a control character, not UTF-8),
	                              or a Format that is not an XML name */
} dmsc_tnds_status;

/* Bounds on one tree.  Zero in a field means its default. */
typedef struct dmsc_tnds_limits {
	size_t max_depth; /* segments in a URI below "." */
	size_t max_nodes; /* nodes in the tree, the root not counted */
	size_t max_name;  /* bytes in a node name */
	size_t max_value; /* bytes in one value */
	size_t max_uri;   /* bytes in a URI */
} dmsc_tnds_limits;

#define DMSC_TNDS_DEFAULT_MAX_DEPTH 32u
#define DMSC_TNDS_DEFAULT_MAX_NODES 10000u
#define DMSC_TNDS_DEFAULT_MAX_NAME  128u
#define DMSC_TNDS_DEFAULT_MAX_VALUE (1024u * 1024u)
#define DMSC_TNDS_DEFAULT_MAX_URI   1024u
/* max_uri is capped at this whatever the caller asks. */
#define DMSC_TNDS_MAX_URI_CAP       4096u
/* Room for any normalised URI and its NUL. */
#define DMSC_TNDS_URI_BUF           (DMSC_TNDS_MAX_URI_CAP + 8u)

/* The run-time properties, in the order TNDS writes them. */
typedef enum dmsc_tnds_prop {
	DMSC_TNDS_ACL = 0,
	DMSC_TNDS_FORMAT,  /* the name of Format's empty child: chr, node... */
	DMSC_TNDS_NAME,
	DMSC_TNDS_SIZE,
	DMSC_TNDS_TITLE,
	DMSC_TNDS_TSTAMP,
	DMSC_TNDS_TYPE,    /* Type's MIME text, or its DDFName text */
	DMSC_TNDS_VERNO,
	DMSC_TNDS_NPROPS
} dmsc_tnds_prop;

typedef struct dmsc_tnds_node dmsc_tnds_node;
struct dmsc_tnds_node {
	char *name;                     /* NULL for the root */
	bool interior;
	bool implied;                   /* created only because a URI or a
	                                   Path went through it */
	char *prop[DMSC_TNDS_NPROPS];   /* NULL: not given */
	bool type_ddf;                  /* Type is a DDFName, not a MIME */
	char *value;                    /* NUL-terminated; NULL: no value */
	size_t value_len;
	xmlNodePtr dfprops;             /* a copy in no document, or NULL */
	dmsc_tnds_node *parent, *child, *next;
};

typedef struct dmsc_tnds {
	dmsc_tnds_node root;
	char *verdtd, *man, *mod;       /* MgmtTree's header, NULL: absent */
	size_t nodes;
	dmsc_tnds_limits lim;
} dmsc_tnds;

/* The properties given by a DM command (Add, Replace): NULL fields are not
 * given.  value NULL: no Data. */
typedef struct dmsc_tnds_item {
	const char *format;
	const char *type;
	const char *value;
	size_t value_len;
} dmsc_tnds_item;

/* An empty tree (only the root); lim may be NULL.  NULL without memory. */
dmsc_tnds *dmsc_tnds_new(const dmsc_tnds_limits *lim);
void dmsc_tnds_free(dmsc_tnds *t);
/* A deep copy (the same limits), or NULL without memory. */
dmsc_tnds *dmsc_tnds_clone(const dmsc_tnds *t);

/* Put the tree `from` (a clone of t taken earlier) back into t, and free
 * `from`: how a caller undoes changes (Atomic). */
void dmsc_tnds_restore(dmsc_tnds *t, dmsc_tnds *from);

/* Read a TNDS document (XML or WBXML bytes) into t; see the rules above.
 * err may be NULL; on failure it names the line (or node) and the rule
 * broken, and t is unchanged. */
int dmsc_tnds_load(dmsc_tnds *t, const unsigned char *buf, size_t len,
                   dmsc_dm_error *err);

/* The same, with base as the place of the document: a top-level Node
 * without a Path sits under base, a relative Path is taken from base
 * (an absolute one, "./..." or ".", stays absolute); base's missing
 * interior nodes are created, implied.  How an MO object is read: its
 * label's parent is the base (dm-ext/mo-map.h). */
int dmsc_tnds_load_at(dmsc_tnds *t, const char *base, const unsigned char *buf,
                      size_t len, dmsc_dm_error *err);

/* Does the TNDS document (XML or WBXML bytes) follow every rule above?
 * It is read into an empty tree with the default limits, then dropped:
 * how an MO is checked before it is stored as it is.  A dmsc_tnds_status;
 * err (may be NULL) as for dmsc_tnds_load. */
int dmsc_tnds_check(const unsigned char *buf, size_t len, dmsc_dm_error *err);

/* The same for a <MgmtTree> element already read (TNDS inside a DM
 * command's <Data>), grafted under the node at base ("." for the root),
 * which must exist: a top-level Node without a Path sits under base, a
 * relative Path (not "." and not starting with "./") is taken from
 * base. */
int dmsc_tnds_load_element(dmsc_tnds *t, const char *base,
                           const xmlNode *mgmttree, dmsc_dm_error *err);

/* Write the subtree at uri ("." for the whole tree) as a TNDS document in
 * UTF-8 XML, indented; a subtree's top Node carries its parent's URI in
 * <Path>.  *out is malloc'ed (free()); returns DMSC_TNDS_OK,
 * DMSC_TNDS_NOT_FOUND, DMSC_TNDS_BAD_PATH or DMSC_TNDS_NOMEM. */
int dmsc_tnds_write(const dmsc_tnds *t, const char *uri, char **out,
                    size_t *out_len);

/* Normalise uri into out (room for outlen bytes) as "./A/B" or "."; the
 * segment count goes to *depth if not NULL.  DMSC_TNDS_BAD_PATH or
 * DMSC_TNDS_LIMIT (longer than max_uri or deeper than max_depth) with a
 * sentence in why (room for whylen bytes, may be NULL). */
int dmsc_tnds_path_norm(const dmsc_tnds_limits *lim, const char *uri,
                        char *out, size_t outlen, size_t *depth, char *why,
                        size_t whylen);

/* The node at uri, or NULL (not there, or not a valid URI). */
dmsc_tnds_node *dmsc_tnds_find(const dmsc_tnds *t, const char *uri);

/* The node at rel ("A/B", segments separated by '/') under base, or
 * NULL. */
dmsc_tnds_node *dmsc_tnds_find_under(const dmsc_tnds_node *base,
                                     const char *rel);

/* The URI of node in out ("." for the root); false if it does not fit. */
bool dmsc_tnds_node_uri(const dmsc_tnds_node *node, char *out, size_t outlen);

/* Can text (len bytes) be a value or property: UTF-8, no NUL and no
 * control character but tab, LF and CR (what XML 1.0 can carry)? */
bool dmsc_tnds_text_ok(const char *text, size_t len);

/* Add a node at uri: interior when item->format is "node", else a leaf
 * with item's value (none if NULL).  Missing interior nodes on the way are
 * created (OMA DM 1.2 Protocol, 6.6.1: implied interior nodes).
 * DMSC_TNDS_BAD_VALUE (see dmsc_tnds_text_ok), DMSC_TNDS_EXISTS if a node is there, DMSC_TNDS_NOT_ALLOWED if the root
 * or a leaf is on the way, DMSC_TNDS_LIMIT, DMSC_TNDS_BAD_PATH. */
int dmsc_tnds_add(dmsc_tnds *t, const char *uri, const dmsc_tnds_item *item);

/* Replace a leaf's value (and Format, Type when given), or an interior
 * node's Type only.  DMSC_TNDS_NOT_FOUND, DMSC_TNDS_NOT_ALLOWED (a value
 * or a Format other than node for an interior node, the root, Format
 * node for a leaf), DMSC_TNDS_LIMIT, DMSC_TNDS_BAD_VALUE. */
int dmsc_tnds_replace(dmsc_tnds *t, const char *uri,
                      const dmsc_tnds_item *item);

/* Delete the node at uri and everything under it.  DMSC_TNDS_NOT_FOUND;
 * DMSC_TNDS_NOT_ALLOWED for the root. */
int dmsc_tnds_delete(dmsc_tnds *t, const char *uri);

/* A node's Format: its Format property, else "node" for an interior node
 * and "chr" for a leaf (the DM default). */
const char *dmsc_tnds_format(const dmsc_tnds_node *node);

/* A short English name of a status, for messages. */
const char *dmsc_tnds_status_name(int status);

#endif /* DMSC_DMEXT_MGMT_TREE_H */
