/*
 * dm-ext/canon-events.h - the canonical form written straight from the
 * reader's events (dmsc_dm_read()), with no libxml2 tree and no libxml2
 * C14N: the fast path behind dmsc_canon() and the streaming API.
 *
 * It gives the bytes dm-ext/CANON.md defines, the same as the tree path
 * (dmsc_canon_tree_limits(), kept as the reference the tests and the
 * differential fuzzer compare with), or refuses what that refuses.  What
 * it holds, and why (canon-events.c says how):
 *   - an element whose bytes depend on what follows it in its parent:
 *     SyncML <Data>, <Item> and <Meta> and DM DDF <Value> and
 *     <RTProperties> wait for their parent's end (the Format that applies
 *     to a Data may come after it, and a Meta's Format "bin" says "b64"
 *     only if some Data was read in it), and every sibling after such an
 *     element waits with it;
 *   - with a CmdID unit, each command in the SyncBody (or in an Atomic or
 *     Sequence) until its end, when its CmdID is known;
 *   - whitespace-only text until the next element or the parent's end.
 * So a SyncML message is held one command at a time, not whole.
 */
#ifndef DMSC_DMEXT_CANON_EVENTS_H
#define DMSC_DMEXT_CANON_EVENTS_H

#include "canon.h"
#include "dmmsg.h"

typedef struct dmsc_canon_ev dmsc_canon_ev;

/* A consumer writing sel's unit (NULL: the message) to sink.  sel is used
 * until dmsc_canon_ev_free().  NULL only if out of memory. */
dmsc_canon_ev *dmsc_canon_ev_new(const dmsc_canon_select *sel,
                                 dmsc_canon_sink sink, void *ctx);

/* The callbacks to give dmsc_dm_read() with the consumer as ctx. */
const dmsc_dm_events *dmsc_canon_ev_events(void);

/* After dmsc_dm_read() returned DMSC_DM_OK: the consumer's own verdict
 * (a normalisation error, the unit not found, a sink failure) and the
 * last bytes to the sink.  Returns DMSC_DM_OK or a dmsc_dm_status. */
int dmsc_canon_ev_finish(dmsc_canon_ev *c, dmsc_dm_error *err);

void dmsc_canon_ev_free(dmsc_canon_ev *c);

/* Is this UTF-8 (RFC 3629, strict) made of XML characters?  *bad: the
 * first byte that is not.  Both implementations of the canonical form
 * decide with it whether OPAQUE bytes can stand as text. */
bool dmsc_canon_xml_text_ok(const unsigned char *s, size_t n, size_t *bad);

#endif /* DMSC_DMEXT_CANON_EVENTS_H */
