/*
 * dm-ext/fuzz-canon-diff.c - differential libFuzzer target: the canonical
 * form written from reader events (canon-events.c, what dmsc_canon() and
 * the module use) against the reference tree path (dmsc_canon_tree_limits():
 * a libxml2 tree, normalised, libxml2's exclusive C14N).
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev),
 * or through tests/fuzz/run-fuzz.sh canon-diff:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) dm-ext/fuzz-canon-diff.c \
 *     dm-ext/canon.c dm-ext/canon-events.c dm-ext/dmmsg.c dm-ext/base64.c \
 *     dm-ext/wbxml.c dm-ext/wbxml-pages.c -o /tmp/fuzz-canon-diff
 *   /tmp/fuzz-canon-diff -max_total_time=600 -dict=dm-ext/fuzz-canon.dict \
 *     /tmp/corpus-canon-diff dm-ext/corpus/canon
 * For the whole message, the SyncBody and the CmdIDs "1" and "2" it aborts
 * unless both paths succeed with the same bytes, or both fail with the
 * same PKCS#11 answer (module/ops.c: a limit is CKR_DATA_LEN_RANGE, out
 * of memory CKR_HOST_MEMORY, every other refusal CKR_DATA_INVALID; which
 * refusal comes first may differ, as the tree path reads the whole message
 * before it looks at any Data, the event path in document order).
 * A failure found here becomes a case in dm-ext/test-canon-diff.c.
 */
#include "canon.h"

#include <libxml/parser.h>
#include <stdio.h>
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

/* The PKCS#11 class of a status, as module/ops.c maps it. */
static int answer(int status)
{
	switch (status) {
	case DMSC_DM_OK:
	case DMSC_DM_LIMIT:
	case DMSC_DM_NOMEM:
	case DMSC_DM_SINK:
	case DMSC_DM_BAD_ARGS:
		return status;
	default:
		return DMSC_DM_MALFORMED;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

static void compare(const uint8_t *data, size_t size,
                    const dmsc_canon_select *sel)
{
	struct out tree = { 0 }, events = { 0 };
	dmsc_dm_error te, ee;
	int trc = dmsc_canon_tree_limits(data, size, NULL, sel, collect, &tree,
	                                 &te);
	int erc = dmsc_canon(data, size, sel, collect, &events, &ee);

	if (answer(trc) != answer(erc) ||
	    (trc == DMSC_DM_OK &&
	     (tree.len != events.len ||
	      (tree.len != 0 && memcmp(tree.data, events.data, tree.len) != 0)))) {
		fprintf(stderr, "unit %d: tree %d (%s), events %d (%s)\n",
		        (int)sel->unit, trc, trc ? te.message : "",
		        erc, erc ? ee.message : "");
		fprintf(stderr, "tree:   %.*s\nevents: %.*s\n", (int)tree.len,
		        tree.data, (int)events.len, events.data);
		abort();
	}
	free(tree.data);
	free(events.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const dmsc_canon_select sels[] = {
		{ DMSC_CANON_MESSAGE, NULL },
		{ DMSC_CANON_SYNCBODY, NULL },
		{ DMSC_CANON_CMDID, "1" },
		{ DMSC_CANON_CMDID, "2" },
	};

	for (size_t i = 0; i < sizeof sels / sizeof sels[0]; i++)
		compare(data, size, &sels[i]);
	return 0;
}
