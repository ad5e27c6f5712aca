/*
 * dm-ext/fuzz-canon.c - libFuzzer target for the canonical form: the
 * reader (XML and WBXML), the normalisation, unit selection, C14N output
 * and streaming.
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) dm-ext/fuzz-canon.c \
 *     dm-ext/canon.c dm-ext/canon-events.c dm-ext/dmmsg.c dm-ext/base64.c \
 *     dm-ext/wbxml.c dm-ext/wbxml-pages.c \
 *     -o /tmp/fuzz-canon
 *   mkdir -p /tmp/corpus-canon
 *   /tmp/fuzz-canon -max_total_time=600 -dict=dm-ext/fuzz-canon.dict \
 *     /tmp/corpus-canon dm-ext/corpus/canon
 * Besides crashes and leaks it checks two properties, and aborts when one
 * fails:
 *   - streaming in chunks (of 1 to 16 bytes, from the input) gives the
 *     same status and bytes as one call;
 *   - the canonical form of a message is its own canonical form
 *     (canonicalising the output again changes nothing).
 * Unit selection (SyncBody, CmdID "2") runs too.
 * A failure found here becomes a case in dm-ext/test-canon.c.
 */
#include "canon.h"

#include <libxml/parser.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	unsigned char *data;
	size_t len;
	size_t cap;
};

static int collect(void *ctx, const unsigned char *data, size_t len)
{
	struct out *o = ctx;

	if (o->len + len > o->cap) {
		size_t cap = (o->len + len) * 2;
		unsigned char *grown = realloc(o->data, cap);

		if (grown == NULL)
			return -1;
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, data, len);
	o->len += len;
	return 0;
}

static bool same(const struct out *a, const struct out *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

static int stream(const uint8_t *data, size_t size, size_t chunk,
                  const dmsc_canon_select *sel, struct out *o)
{
	dmsc_canon_stream *s = dmsc_canon_stream_new(NULL, sel, collect, o);
	dmsc_dm_error err;
	int rc = DMSC_DM_OK;

	if (s == NULL)
		abort();
	for (size_t at = 0; at < size && rc == DMSC_DM_OK; at += chunk)
		rc = dmsc_canon_stream_update(s, data + at, size - at < chunk ?
		                              size - at : chunk, &err);
	if (rc == DMSC_DM_OK)
		rc = dmsc_canon_stream_final(s, &err);
	dmsc_canon_stream_free(s);
	return rc;
}

/* Selection runs on every message; its output is checked by the tests
 * (a unit's namespace declarations differ from the whole message's, so
 * it is no plain substring of it). */
static void select_unit(const uint8_t *data, size_t size,
                        const dmsc_canon_select *sel)
{
	struct out u = { 0 };
	dmsc_dm_error err;

	if (dmsc_canon(data, size, sel, collect, &u, &err) == DMSC_DM_OK &&
	    (u.len == 0 || u.data[0] != '<' || u.data[u.len - 1] != '>'))
		abort();
	free(u.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out one = { 0 }, many = { 0 }, again = { 0 };
	dmsc_canon_select body = { DMSC_CANON_SYNCBODY, NULL };
	dmsc_canon_select cmd = { DMSC_CANON_CMDID, "2" };
	dmsc_dm_error err;
	size_t chunk = size > 0 ? 1 + data[size - 1] % 16 : 1;
	int rc = dmsc_canon(data, size, NULL, collect, &one, &err);

	if (stream(data, size, chunk, NULL, &many) != rc || !same(&one, &many))
		abort();
	if (rc == DMSC_DM_OK && dmsc_dm_detect(data, size) != DMSC_DM_OPAQUE) {
		if (dmsc_canon(one.data, one.len, NULL, collect, &again,
		               &err) != DMSC_DM_OK || !same(&one, &again))
			abort();
		select_unit(data, size, &body);
		select_unit(data, size, &cmd);
	}
	free(one.data);
	free(many.data);
	free(again.data);
	return 0;
}
