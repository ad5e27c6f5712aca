/*
 * dm-ext/wbxml.h - a small WBXML decoder for OMA DM messages.
 *
 * DM messages arrive from the network, so this decoder is written for
 * untrusted input: every length and index is checked, all work is bounded
 * by caller-given limits, and every failure says where (byte offset) and
 * what was expected.  It decodes WBXML 1.1-1.3 for the document types of
 * OMA DM only (SyncML 1.1 / 1.2 with MetInf, MetInf 1.2, DM DDF 1.2 / TNDS)
 * into a libxml2 tree; see dm-ext/WBXML.md for what is accepted and why.
 *
 * The tree:
 *   - every element is in the namespace of the code page it came from
 *     (SYNCML:SYNCML1.1, SYNCML:SYNCML1.2, syncml:metinf, syncml:dmddf1.2);
 *     a default-namespace declaration sits on the root and on each element
 *     whose namespace differs from its parent's, as DM XML writes it
 *     (<Meta><Type xmlns="syncml:metinf">);
 *   - STR_I, STR_T and ENTITY become text nodes (adjacent pieces merged);
 *   - an OPAQUE inside SyncML <Data> whose bytes are themselves a WBXML
 *     document of a known type (dmsc_wbxml_looks_like()) is decoded and its
 *     root element becomes a child of <Data> (TNDS inside a DM command);
 *   - any other OPAQUE is binary: it becomes a text node holding its
 *     base64 (RFC 4648, standard alphabet, padded, no line breaks), and the
 *     element holding it is marked binary (dmsc_wbxml_is_binary());
 *   - a binary OPAQUE is the only text of its element: one beside a string
 *     (STR_I, STR_T, ENTITY) or a second one in the same element is refused
 *     (DMSC_WBXML_UNSUPPORTED), so every text node of a marked element is
 *     the base64 of exactly one OPAQUE; elements may sit beside it;
 *   - OPAQUE in an attribute value is refused (attribute values are text).
 *
 * The binary mark.  It lives in the element's `_private` pointer, which
 * libxml2 never serialises, so the tree reads exactly like the XML form of
 * the message with base64 text in <Data>.  The canonicaliser reads the
 * mark to know that the text is base64 *of the original bytes*: for a
 * <Data> whose Meta/Format is b64 or bin, the base64 text is the canonical
 * form (a `bin` OPAQUE and the same bytes as b64 text give the same tree);
 * for Format chr (the default) encoders such as libwbxml still put the
 * characters in an OPAQUE, so the canonicaliser decodes the base64 back to
 * text.  The decoder does not look at Meta/Format itself: which Meta
 * applies to which Data is DM semantics, not WBXML.  The mark does not
 * survive xmlCopyNode()/xmlCopyDoc(), and must not be overwritten by other
 * users of `_private` on trees this decoder returns.
 *
 * libxml2 must be initialised by the caller (xmlInitParser() once, before
 * threads start); this file only builds trees, it never parses XML text.
 */
#ifndef DMSC_DMEXT_WBXML_H
#define DMSC_DMEXT_WBXML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "dmevents.h"

/* Bounds on the work one decode may do.  Zero in any field means "use the
 * default" (dmsc_wbxml_limits_default()). */
typedef struct dmsc_wbxml_limits {
	size_t max_input;        /* bytes of WBXML accepted */
	size_t max_depth;        /* element nesting, embedded documents included */
	size_t max_elements;     /* elements in the whole tree */
	size_t max_string_table; /* bytes in one document's string table */
	size_t max_embedded;     /* WBXML documents nested inside OPAQUE <Data>
	                            (1: a TNDS inside a message, no deeper);
	                            at most DMSC_WBXML_EMBEDDED_CAP */
	size_t max_output;       /* bytes of text, names and attribute values
	                            produced: bounds the amplification of
	                            repeated string-table references */
} dmsc_wbxml_limits;

#define DMSC_WBXML_DEFAULT_MAX_INPUT        (1024u * 1024u)
#define DMSC_WBXML_DEFAULT_MAX_DEPTH        64u
#define DMSC_WBXML_DEFAULT_MAX_ELEMENTS     65536u
#define DMSC_WBXML_DEFAULT_MAX_STRING_TABLE (64u * 1024u)
#define DMSC_WBXML_DEFAULT_MAX_EMBEDDED     2u
#define DMSC_WBXML_DEFAULT_MAX_OUTPUT       (8u * 1024u * 1024u)
/* Embedded documents are decoded by recursion: this caps it whatever the
 * caller asks. */
#define DMSC_WBXML_EMBEDDED_CAP             8u

/* Where decoding stopped and why.  offset counts bytes from the start of
 * the buffer given to dmsc_wbxml_decode(), also inside embedded documents;
 * message is one sentence naming what was expected or which limit was hit. */
typedef struct dmsc_wbxml_error {
	size_t offset;
	char message[160];
} dmsc_wbxml_error;

typedef enum dmsc_wbxml_status {
	DMSC_WBXML_OK = 0,
	DMSC_WBXML_MALFORMED = -1,   /* not well-formed WBXML of a known type */
	DMSC_WBXML_UNSUPPORTED = -2, /* well-formed but refused: a charset other
	                                than UTF-8, EXT_*, PI, unknown public ID */
	DMSC_WBXML_LIMIT = -3,       /* a dmsc_wbxml_limits bound was hit */
	DMSC_WBXML_NOMEM = -4,       /* out of memory */
} dmsc_wbxml_status;

/* Fill *lim with the DMSC_WBXML_DEFAULT_* values. */
void dmsc_wbxml_limits_default(dmsc_wbxml_limits *lim);

/* A cheap sniff: true if buf starts with a WBXML header this decoder knows
 * (version 1.1-1.3 and a known public identifier, numeric or from the
 * string table).  Reads only the header; never allocates.  XML text, empty
 * input and ordinary binary data give false. */
bool dmsc_wbxml_looks_like(const unsigned char *buf, size_t len);

/* Decode one WBXML document.  lim may be NULL (defaults), err may be NULL.
 * On success returns DMSC_WBXML_OK and stores a new document in *out, to
 * free with xmlFreeDoc().  On failure returns a negative status, sets *out
 * to NULL, fills *err, and has freed everything it allocated. */
int dmsc_wbxml_decode(const unsigned char *buf, size_t len,
                      const dmsc_wbxml_limits *lim, xmlDocPtr *out,
                      dmsc_wbxml_error *err);

/* The same decoding, with the same checks, limits and errors, into a
 * consumer's calls instead of a tree (dmevents.h): each element's start
 * with its code page's namespace and no prefix, its text (STR_I, STR_T and
 * ENTITY pieces, merged), a binary OPAQUE as its raw bytes (opaque true:
 * no base64 round trip), its end; a WBXML document in an OPAQUE <Data>
 * continues inside that Data.  The consumer failing stops the calls, not
 * the decoding: the return value is the decoder's own verdict. */
int dmsc_wbxml_decode_events(const unsigned char *buf, size_t len,
                             const dmsc_wbxml_limits *lim,
                             const dmsc_dm_events *ev, void *ctx,
                             dmsc_wbxml_error *err);

/* True if s[0..len) is UTF-8 (strict: no overlong form, surrogate, code
 * point above U+10FFFF or cut sequence) of XML 1.0 characters only: text
 * that an XML document can hold and parse back.  libxml2's xmlCheckUTF8
 * is not enough: it takes overlong forms (C0 80, C1 B6) that its own
 * parser then refuses. */
bool dmsc_xml_text_valid(const unsigned char *s, size_t len);

/* True if element's text came from an OPAQUE that was not WBXML, i.e. is
 * the base64 of the original bytes (see "The binary mark" above). */
bool dmsc_wbxml_is_binary(const xmlNode *element);

#endif /* DMSC_DMEXT_WBXML_H */
