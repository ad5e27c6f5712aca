/*
 * dm-ext/dmmsg.h - reading OMA DM messages (XML or WBXML) into a libxml2
 * tree, for untrusted input.
 *
 * Accepted documents (the root element decides):
 *   - a SyncML message, DM 1.1 (SYNCML:SYNCML1.1) or DM 1.2 / 1.3
 *     (SYNCML:SYNCML1.2), bootstrap messages included: root <SyncML>;
 *   - a TNDS document: root <MgmtTree> in syncml:dmddf1.2.
 * Elements inside may be in any namespace (MetInf is syncml:metinf, and
 * <Data> may carry other XML).
 *
 * XML is parsed by libxml2 with nothing loaded from anywhere: no network,
 * no external DTD or entity, no entity expansion.  A DOCTYPE may name an
 * external DTD (DM messages do), which is never read; a DOCTYPE with an
 * internal subset that declares anything (entities, elements, attribute
 * lists, notations) is refused, as is any reference to an entity other
 * than the five predefined ones.  Any parser warning is an error too
 * (a relative namespace name, an undeclared entity, XML 1.1): a signed
 * message has one reading, or none.  WBXML is read by dm-ext/wbxml.c.
 *
 * libxml2 must be initialised by the caller (xmlInitParser() once, before
 * threads start).  Functions here keep no state between calls; libxml2's
 * per-thread error handler is borrowed during a call and put back.
 */
#ifndef DMSC_DMEXT_DMMSG_H
#define DMSC_DMEXT_DMMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "dmevents.h"

/* How a buffer is represented, by a sniff of its first bytes. */
typedef enum dmsc_dm_repr {
	DMSC_DM_OPAQUE = 0,   /* neither: a firmware package, any other data */
	DMSC_DM_XML = 1,
	DMSC_DM_WBXML = 2,
} dmsc_dm_repr;

/* The sniff reads at most this many bytes: the leading whitespace of XML
 * and a WBXML header with its string table (64 KiB at most, the WBXML
 * decoder's default) must fit.  Streaming buffers at most this much before
 * it knows what the input is. */
#define DMSC_DM_SNIFF_MAX (64u * 1024u + 32u)

/* What kind of DM document a tree holds. */
typedef enum dmsc_dm_kind {
	DMSC_DM_SYNCML11 = 1, /* <SyncML xmlns="SYNCML:SYNCML1.1"> (DM 1.1) */
	DMSC_DM_SYNCML12 = 2, /* <SyncML xmlns="SYNCML:SYNCML1.2"> (DM 1.2, 1.3) */
	DMSC_DM_TNDS = 3,     /* <MgmtTree xmlns="syncml:dmddf1.2"> */
} dmsc_dm_kind;

#define DMSC_DM_NS_SYNCML11 "SYNCML:SYNCML1.1"
#define DMSC_DM_NS_SYNCML12 "SYNCML:SYNCML1.2"
#define DMSC_DM_NS_METINF   "syncml:metinf"
#define DMSC_DM_NS_DMDDF12  "syncml:dmddf1.2"

typedef enum dmsc_dm_status {
	DMSC_DM_OK = 0,
	DMSC_DM_MALFORMED = -1,   /* not well-formed XML / WBXML */
	DMSC_DM_UNSUPPORTED = -2, /* well-formed but refused: not a DM
	                             document, a DOCTYPE with declarations, an
	                             entity reference, a parser warning, opaque
	                             input where a message is needed */
	DMSC_DM_LIMIT = -3,       /* a dmsc_dm_limits bound was hit */
	DMSC_DM_NOMEM = -4,
	DMSC_DM_NOT_FOUND = -5,   /* the selected unit is not in the message */
	DMSC_DM_SINK = -6,        /* the output sink said stop */
	DMSC_DM_BAD_ARGS = -7,    /* a programming error: NULL where not allowed,
	                             a stream used after it ended */
} dmsc_dm_status;

/* Bounds on one message.  Zero in a field means its default. */
typedef struct dmsc_dm_limits {
	size_t max_input;    /* bytes of XML or WBXML */
	size_t max_depth;    /* element nesting */
	size_t max_elements; /* elements in the tree */
} dmsc_dm_limits;

#define DMSC_DM_DEFAULT_MAX_INPUT    (16u * 1024u * 1024u)
#define DMSC_DM_DEFAULT_MAX_DEPTH    64u
#define DMSC_DM_DEFAULT_MAX_ELEMENTS 65536u
/* libxml2 takes an int length (and its own limits apply: without
 * XML_PARSE_HUGE, 256 levels and 10 MB in one text node). */
#define DMSC_DM_MAX_INPUT_CAP        (256u * 1024u * 1024u)

/* Where reading stopped and why.  offset is the byte offset in the input
 * (XML in UTF-8: where the parser was; XML in another encoding: the first
 * byte of the line; WBXML: the decoder's offset), or DMSC_DM_NO_OFFSET for
 * an error found in the tree after reading; line is the 1-based line of
 * XML input, 0 for WBXML or when unknown; message is one sentence saying
 * where (line and column, or the element's path) and what was expected. */
typedef struct dmsc_dm_error {
	size_t offset;
	int line;
	char message[200];
} dmsc_dm_error;

#define DMSC_DM_NO_OFFSET SIZE_MAX

/* Fill *lim with the defaults. */
void dmsc_dm_limits_default(dmsc_dm_limits *lim);

/* Sniff: skipping leading XML whitespace (within DMSC_DM_SNIFF_MAX bytes),
 * '<' or a UTF-8 byte-order mark means XML; a WBXML header of a type
 * dm-ext/wbxml.c decodes (dmsc_wbxml_looks_like() on the first
 * DMSC_DM_SNIFF_MAX bytes) means WBXML; anything else, empty input
 * included, is opaque.  Never allocates. */
dmsc_dm_repr dmsc_dm_detect(const unsigned char *buf, size_t len);

/* The sniff on a prefix of the input: returns -1 while more bytes could
 * still change the answer (final false), else what dmsc_dm_detect() gives
 * for any input starting with these bytes.  With final true it is
 * dmsc_dm_detect(). */
int dmsc_dm_sniff(const unsigned char *buf, size_t len, bool final);

/* Read a DM message or TNDS document, XML or WBXML (opaque input is
 * refused).  lim may be NULL (defaults); err may be NULL.  On success
 * returns DMSC_DM_OK and a new document in *doc (free with xmlFreeDoc()),
 * as read: comments, processing instructions and whitespace are still in
 * it, and WBXML binary marks (dmsc_wbxml_is_binary()) are kept.  If kind
 * is not NULL it receives the document's kind.  On failure returns a
 * negative dmsc_dm_status, *doc is NULL, *err says where and why. */
int dmsc_dm_parse(const unsigned char *buf, size_t len,
                  const dmsc_dm_limits *lim, xmlDocPtr *doc,
                  dmsc_dm_kind *kind, dmsc_dm_error *err);

/* ---- Reading as events ----
 *
 * The same reader, with the same hardening, limits and errors, calling a
 * consumer for each element and text instead of building a tree: what
 * the streaming canonicaliser (canon-events.c) takes.  Comments,
 * processing instructions and the DOCTYPE give no event; CDATA is text.
 * Strings passed are valid until dmsc_dm_read() returns. */
/* Read buf (XML or WBXML, as dmsc_dm_parse()) into ev's calls.  Returns
 * DMSC_DM_OK when the input was read in full and is a DM document, else
 * the reader's status and *err; a consumer failure is not reported here
 * (the consumer knows it).  kind and err may be NULL. */
int dmsc_dm_read(const unsigned char *buf, size_t len,
                 const dmsc_dm_limits *lim, const dmsc_dm_events *ev,
                 void *ctx, dmsc_dm_kind *kind, dmsc_dm_error *err);

/* Fill *err (if not NULL); returns status.  For this directory's files. */
int dmsc_dm_fail(dmsc_dm_error *err, int status, size_t offset, int line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif /* DMSC_DMEXT_DMMSG_H */
