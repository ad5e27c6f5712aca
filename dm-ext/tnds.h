/*
 * dm-ext/tnds.h - is a document a TNDS Management Object as the card
 * keeps one (DESIGN.md, "DM objects on the card")?
 *
 * dmsc_dm_parse() (dmmsg.h) reads the XML or WBXML safely; this checks
 * the content model of OMA-TS-DM_TNDS 1.2 on the tree, so a malformed MO
 * is refused before it reaches the card:
 *
 *   MgmtTree     (VerDTD, Man?, Mod?, Node*)
 *   Node         (NodeName, Path?, RTProperties?, DFProperties?,
 *                 (Node* | Value?)), the two properties in either order
 *   RTProperties any of ACL, Format, Name, Size, Title, TStamp, Type,
 *                VerNo, each at most once (their insides, and those of
 *                DFProperties, are not checked)
 *   NodeName     text without '/'; VerDTD, Path, Value: text only
 *
 * all in the syncml:dmddf1.2 namespace.  Text other than whitespace
 * between the structural elements is refused; comments and processing
 * instructions are ignored.
 */
#ifndef DMSC_DMEXT_TNDS_H
#define DMSC_DMEXT_TNDS_H

#include <stddef.h>

#include <libxml/tree.h>

#include "dmmsg.h"

/* Checks a tree dmsc_dm_parse() gave as DMSC_DM_TNDS.  DMSC_DM_OK, or
 * DMSC_DM_UNSUPPORTED with *err (may be NULL) saying where (the line for
 * XML, and the element's path, e.g. /MgmtTree/Node[2]/Value) and which
 * rule was broken. */
int dmsc_tnds_check(xmlDocPtr doc, dmsc_dm_error *err);

/* dmsc_dm_parse() with default limits, refusing any document that is not
 * TNDS, then dmsc_tnds_check().  *doc (may be NULL: then only checked)
 * receives the tree on success.  Returns a dmsc_dm_status. */
int dmsc_tnds_read(const unsigned char *buf, size_t len, xmlDocPtr *doc,
                   dmsc_dm_error *err);

#endif /* DMSC_DMEXT_TNDS_H */
