/*
 * dm-ext/wbxml-enc.h - encode a DM message or TNDS tree as WBXML.
 *
 * The card keeps the DM bootstrap as WBXML (DESIGN.md, "DM objects on the
 * card"); an issuer usually writes it as XML.  This encoder turns a tree
 * read by dmsc_dm_parse() (dm-ext/dmmsg.h) into WBXML 1.3 with the same
 * code-page tables the decoder uses (wbxml-pages.c), so that decoding the
 * result gives the same canonical form (dm-ext/CANON.md) as the XML.
 *
 * What it writes:
 *   - the header: version 1.3, the document type's public identifier (the
 *     OMNA number for SyncML 1.1 / 1.2; the formal public identifier in the
 *     string table for a TNDS document, which has no number), UTF-8;
 *   - each element as its token on the code page of its namespace
 *     (SWITCH_PAGE where the page changes: MetInf <Meta> content, a TNDS
 *     tree inline in SyncML 1.2 <Data>);
 *   - text and CDATA as inline strings (STR_I); whitespace-only text
 *     beside child elements is dropped, as the canonical form drops it;
 *   - comments and processing instructions are left out (the canonical
 *     form leaves them out too).
 * What it refuses, naming the element and its line: an element in no
 * namespace or in one the document type has no code page for, an element
 * name its page does not define, an attribute (OMA DM defines none), a
 * text with a NUL byte, nesting deeper than DMSC_WBXML_ENC_MAX_DEPTH, and
 * output past DMSC_WBXML_ENC_MAX_OUTPUT.
 */
#ifndef DMSC_DMEXT_WBXML_ENC_H
#define DMSC_DMEXT_WBXML_ENC_H

#include <stddef.h>

#include <libxml/tree.h>

#define DMSC_WBXML_ENC_MAX_DEPTH  64u
#define DMSC_WBXML_ENC_MAX_OUTPUT (16u * 1024u * 1024u)

typedef enum dmsc_wbxml_enc_status {
	DMSC_WBXML_ENC_OK = 0,
	DMSC_WBXML_ENC_REFUSED = -1, /* the tree cannot be written as WBXML
	                                of a known DM document type */
	DMSC_WBXML_ENC_NOMEM = -2,
} dmsc_wbxml_enc_status;

/* Why encoding stopped: line of the element in the XML it came from (0
 * when unknown) and one sentence naming the element and the rule. */
typedef struct dmsc_wbxml_enc_error {
	long line;
	char message[200];
} dmsc_wbxml_enc_error;

/* Encode doc.  On success returns DMSC_WBXML_ENC_OK and a new buffer in
 * *out (free with free()) of *out_len bytes; on failure a negative status,
 * *out NULL, and *err (if not NULL) filled. */
int dmsc_wbxml_encode(xmlDocPtr doc, unsigned char **out, size_t *out_len,
                      dmsc_wbxml_enc_error *err);

#endif /* DMSC_DMEXT_WBXML_ENC_H */
