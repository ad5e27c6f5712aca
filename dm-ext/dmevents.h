/*
 * dm-ext/dmevents.h - a DM document as a sequence of events (element
 * start, text, element end), as the XML reader (dmsc_dm_read(),
 * dmmsg.h) and the WBXML decoder (dmsc_wbxml_decode_events(), wbxml.h)
 * give it to a consumer such as the canonicaliser (canon-events.h), with
 * no tree in between.  Strings passed are valid until the reading call
 * returns.
 */
#ifndef DMSC_DMEXT_DMEVENTS_H
#define DMSC_DMEXT_DMEVENTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dmsc_dm_attr {
	const char *local;
	const char *prefix;          /* NULL: none */
	const char *uri;             /* NULL: no namespace */
	const unsigned char *value;  /* len bytes, as read (references
	                                replaced, attribute-value
	                                normalisation done) */
	size_t len;
} dmsc_dm_attr;

/* Each callback returns 0 to go on; anything else means the consumer has
 * failed (it keeps its own error).  The reader then makes no more calls
 * but reads on to the end, so that an error of the input itself (not
 * well-formed, a limit) is what dmsc_dm_read() reports, as
 * dmsc_dm_parse() would: the consumer's error comes second. */
typedef struct dmsc_dm_events {
	/* An element starts: local name, prefix (NULL: none), namespace
	 * (NULL: none), its attributes (not namespace declarations) and the
	 * line of its start tag (XML; 0 for WBXML), for errors. */
	int (*start)(void *ctx, const char *local, const char *prefix,
	             const char *uri, const dmsc_dm_attr *attrs, size_t n,
	             int line);
	/* Text of the element now open, in pieces: adjacent pieces are one
	 * text.  opaque: the raw bytes of a WBXML binary OPAQUE (one piece,
	 * the only text of its element), else UTF-8 characters. */
	int (*text)(void *ctx, const unsigned char *s, size_t n, bool opaque);
	/* The element open last ends. */
	int (*end)(void *ctx);
} dmsc_dm_events;

#endif /* DMSC_DMEXT_DMEVENTS_H */
