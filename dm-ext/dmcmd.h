/*
 * dm-ext/dmcmd.h - the DM command engine: apply the commands of a SyncML
 * DM message (XML or WBXML, read by dm-ext/dmmsg.c) to a management tree
 * (dm-ext/mgmt-tree.h) and produce the reply a DM client sends back: a SyncML
 * message whose SyncBody holds one Status per command item and the
 * Results of Get, as OMA DM 1.2 defines them.
 *
 * References: OMA-TS-DM_RepPro-V1_2 (RepPro), section 6.5 (commands) and
 * 10 (status codes); OMA-TS-DM_Protocol-V1_2 (Protocol), 6.6 and 8.
 *
 * What is answered (dmcmd.c says why for each):
 *   SyncHdr      200 (CmdRef 0, TargetRef/SourceRef from the header:
 *                RepPro 6.1.12; authentication is the DM client's job)
 *   Add          200 added (RepPro 10: 200 is DM's success code; 201 is
 *                the SyncML DS "item added" and is not used by DM
 *                clients), 418 already exists, 405 under a leaf or with
 *                Data on an interior node, 404 TNDS under a missing node
 *   Replace      200, 404 not found, 405 the root / value on an interior
 *                node / Format change between leaf and interior
 *   Delete       200, 404, 405 the root
 *   Get          200 and a Results item (a leaf's value with its Format
 *                and Type; an interior node's child names joined by '/',
 *                Format node: Protocol 6.6.7 / TND 7.7), 404, 406 a URI
 *                with a '?' query (not supported)
 *   Atomic       200 when every command in it succeeded; else 507 (Atomic
 *                failed), the tree is as before the Atomic, the commands
 *                that had succeeded get 216 (rolled back), the failing one
 *                its own code, the ones after it 215 (not executed), and
 *                Results of Gets inside it are dropped (RepPro 6.6.3)
 *   Sequence     200; its commands run in order, each with its own Status
 *                (a failure does not stop the next: all-or-nothing is
 *                Atomic's job)
 *   Copy, Exec, Alert, Put, Map, Sync, Search
 *                406 (optional feature not supported): the card keeps
 *                data, it executes nothing
 *   Status, Results, Final from the server: no reply
 * Item-level errors: 400 no Target, not a valid URI, Data holding
 * something other than TNDS, a binary chr value that is not text;
 * 404 a target outside the roots given (the node is not held here:
 * RepPro 10, 404 "the requested target was not found"); 413 a value over
 * the tree's limit; 414 a URI over it; 415 a Data element in a format not
 * supported; 420 the tree is full (node limit); 500 out of memory.
 * NoResp on a command suppresses that command's own Status lines.
 *
 * A message that is not well-formed, not SyncML, has no SyncHdr, MsgID or
 * SyncBody, or has a command without CmdID is refused as a whole
 * (DMSC_DMCMD_MALFORMED, with the line and the rule in err) and the tree
 * is not changed.
 */
#ifndef DMSC_DMEXT_DMCMD_H
#define DMSC_DMEXT_DMCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "dmmsg.h"
#include "mgmt-tree.h"

typedef enum dmsc_dmcmd_status {
	DMSC_DMCMD_OK = 0,
	DMSC_DMCMD_MALFORMED = -1,  /* the message was refused, see err */
	DMSC_DMCMD_LIMIT = -3,      /* the message is over a reader limit */
	DMSC_DMCMD_NOMEM = -4,
} dmsc_dmcmd_status;

typedef struct dmsc_dmcmd_opts {
	/* Targets the tree holds: a node URI under (or equal to) one of
	 * these is worked on; any other gets 404.  n_roots 0: every URI. */
	const char *const *roots;
	size_t n_roots;
	/* Bootstrap: a Replace of a node that is not there adds it.  A DM
	 * bootstrap (OMA-TS-DM_Bootstrap-V1_2, 5.3) sets a device's account
	 * and connectivity nodes whether or not the device had them, and
	 * servers write Replace for nodes every device has (./Con...); on
	 * an empty tree those would all be 404. */
	bool replace_adds;
} dmsc_dmcmd_opts;

/* What one message did. */
typedef struct dmsc_dmcmd_report {
	size_t commands;   /* command items answered (Status lines, SyncHdr
	                      not counted) */
	size_t failed;     /* of these, with a code of 300 or more */
	size_t changes;    /* successful Add, Replace, Delete (after any
	                      roll back) */
	bool atomic_failed;
} dmsc_dmcmd_report;

/* Apply the message in buf to t (opts may be NULL: every URI).  On
 * success *out is the reply (UTF-8 XML, malloc'ed, free()) and *rep (may
 * be NULL) says what happened; command failures are in the reply, not in
 * the return value.  On failure t is unchanged, *out is NULL and err (may
 * be NULL) names the line and rule. */
int dmsc_dmcmd_apply(dmsc_tnds *t, const unsigned char *buf, size_t len,
                     const dmsc_dmcmd_opts *opts, char **out,
                     size_t *out_len, dmsc_dmcmd_report *rep,
                     dmsc_dm_error *err);

/* The same on a message already read (doc from dmsc_dm_parse). */
int dmsc_dmcmd_apply_doc(dmsc_tnds *t, xmlDocPtr doc,
                         const dmsc_dmcmd_opts *opts, char **out,
                         size_t *out_len, dmsc_dmcmd_report *rep,
                         dmsc_dm_error *err);

#endif /* DMSC_DMEXT_DMCMD_H */
