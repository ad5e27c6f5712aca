/*
 * dm-ext/canon.h - the canonical form of DM messages, the bytes that DM
 * signatures and digests cover (specification: dm-ext/CANON.md).
 *
 * A DM message, XML or WBXML, is read (dm-ext/dmmsg.h), normalised (no
 * comments or processing instructions, no whitespace-only text between
 * elements, <Data> and TNDS <Value> in one representation per Format),
 * one unit is selected (the message, its SyncBody, or one command by
 * CmdID), and that unit is written with Exclusive XML Canonicalization 1.0
 * without comments.  Input that is neither XML nor WBXML is opaque and is
 * its own canonical form: it is passed through unchanged.
 *
 * Output goes to a sink as it is produced, so a caller can hash it without
 * holding it.  One-shot (dmsc_canon) and streaming (dmsc_canon_stream_*)
 * give the same bytes for the same input however it is cut into chunks.
 *
 * libxml2 must be initialised by the caller (xmlInitParser()).
 */
#ifndef DMSC_DMEXT_CANON_H
#define DMSC_DMEXT_CANON_H

#include <stddef.h>

#include <libxml/tree.h>

#include "dmmsg.h"

/* Which atomic unit of a message the canonical form covers. */
typedef enum dmsc_canon_unit {
	DMSC_CANON_MESSAGE = 0,  /* the whole document (default) */
	DMSC_CANON_SYNCBODY = 1, /* the <SyncBody> of a SyncML message */
	DMSC_CANON_CMDID = 2,    /* the command whose <CmdID> is cmdid: a child
	                            of SyncBody, or inside Atomic / Sequence */
} dmsc_canon_unit;

typedef struct dmsc_canon_select {
	dmsc_canon_unit unit;
	const char *cmdid;       /* for DMSC_CANON_CMDID */
} dmsc_canon_select;

/* Receives canonical bytes in order; returns 0 to go on, anything else to
 * stop (the call then fails with DMSC_DM_SINK). */
typedef int (*dmsc_canon_sink)(void *ctx, const unsigned char *data,
                               size_t len);

/* Canonicalise buf with the default limits.  sel may be NULL (the whole
 * message); err may be NULL.  Returns DMSC_DM_OK or a negative
 * dmsc_dm_status; on failure the sink may have had part of the output
 * (the form is written as it is made, in pieces of up to 64 KiB), which
 * the caller discards.  Opaque input with a unit other than the message is
 * refused.  Written from the reader's events (canon-events.h). */
int dmsc_canon(const unsigned char *buf, size_t len,
               const dmsc_canon_select *sel, dmsc_canon_sink sink, void *ctx,
               dmsc_dm_error *err);

/* The same with limits (NULL: the defaults; they apply to XML and WBXML,
 * opaque input has no size limit). */
int dmsc_canon_limits(const unsigned char *buf, size_t len,
                      const dmsc_dm_limits *lim, const dmsc_canon_select *sel,
                      dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err);

/* The same through the reference implementation: a libxml2 tree
 * (dmsc_dm_parse()), normalised in place, written by libxml2's
 * xmlC14NExecute().  dmsc_canon() and dmsc_canon_limits() write the same
 * bytes from the reader's events without a tree (canon-events.h); the
 * tests and the differential fuzzer hold the two to each other. */
int dmsc_canon_tree_limits(const unsigned char *buf, size_t len,
                           const dmsc_dm_limits *lim,
                           const dmsc_canon_select *sel,
                           dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err);

/* Normalise a tree from dmsc_dm_parse() in place and write the selected
 * unit: the part of dmsc_canon() after reading.  The tree is changed. */
int dmsc_canon_doc(xmlDocPtr doc, const dmsc_canon_select *sel,
                   dmsc_canon_sink sink, void *ctx, dmsc_dm_error *err);

/* ---- Streaming ----
 *
 * The representation is decided from the first bytes (dmsc_dm_sniff():
 * at most DMSC_DM_SNIFF_MAX are held before it is known).  Opaque input
 * then goes straight to the sink, chunk by chunk, never held.  XML and
 * WBXML are held until dmsc_canon_stream_final(), up to the limits'
 * max_input (default DMSC_DM_DEFAULT_MAX_INPUT, 16 MiB): a longer message
 * fails with DMSC_DM_LIMIT as soon as it goes past.  After a failure every
 * call returns the same status (err filled again). */
typedef struct dmsc_canon_stream dmsc_canon_stream;

/* A new stream; lim and sel may be NULL and are copied (sel->cmdid too).
 * Returns NULL only if out of memory. */
dmsc_canon_stream *dmsc_canon_stream_new(const dmsc_dm_limits *lim,
                                         const dmsc_canon_select *sel,
                                         dmsc_canon_sink sink, void *ctx);

int dmsc_canon_stream_update(dmsc_canon_stream *s, const unsigned char *buf,
                             size_t len, dmsc_dm_error *err);

/* End of input: canonicalises a held message, or ends opaque input.
 * Afterwards only dmsc_canon_stream_free() may be called. */
int dmsc_canon_stream_final(dmsc_canon_stream *s, dmsc_dm_error *err);

/* What the input is: -1 while not yet known, else a dmsc_dm_repr. */
int dmsc_canon_stream_repr(const dmsc_canon_stream *s);

void dmsc_canon_stream_free(dmsc_canon_stream *s);

#endif /* DMSC_DMEXT_CANON_H */
