/*
 * dm-ext/fuzz-tnds.c - libFuzzer target for the management tree: reading
 * a TNDS document (XML or WBXML, every rule of dm-ext/mgmt-tree.h), writing it,
 * and the diff.
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) dm-ext/fuzz-tnds.c \
 *     dm-ext/mgmt-tree.c dm-ext/tnds-diff.c dm-ext/dmmsg.c dm-ext/base64.c \
 *     dm-ext/wbxml.c -o /tmp/fuzz-tnds
 *   /tmp/fuzz-tnds -dict=dm-ext/fuzz-tnds.dict /tmp/corpus-tnds \
 *     dm-ext/corpus/tnds
 * Besides crashes and leaks it checks, and aborts when one fails:
 *   - a tree that was read is written, and what is written reads back
 *     into a tree that writes the same bytes and has no difference from
 *     the first (dmsc_tnds_diff gives 0);
 *   - a failed read leaves the tree it was read into unchanged.
 * A failure found here becomes a case in dm-ext/test-mgmt-tree.c.
 */
#include "mgmt-tree.h"
#include "tnds-diff.h"

#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

static const char base_doc[] =
	"<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
	"<Node><NodeName>a</NodeName>"
	"<Path>./DMAcc</Path><Value>1</Value></Node></MgmtTree>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL), *again;
	char *before, *out, *out2;
	size_t len, len2, blen;

	if (t == NULL ||
	    dmsc_tnds_load(t, (const unsigned char *)base_doc,
	                   sizeof base_doc - 1, NULL) != DMSC_TNDS_OK ||
	    dmsc_tnds_write(t, ".", &before, &blen) != DMSC_TNDS_OK)
		abort();
	if (dmsc_tnds_load(t, data, size, NULL) != DMSC_TNDS_OK) {
		if (dmsc_tnds_write(t, ".", &out, &len) != DMSC_TNDS_OK ||
		    len != blen || memcmp(out, before, len) != 0)
			abort();
		free(out);
		goto done;
	}
	if (dmsc_tnds_write(t, ".", &out, &len) != DMSC_TNDS_OK)
		abort();
	again = dmsc_tnds_new(NULL);
	if (again == NULL ||
	    dmsc_tnds_load(again, (const unsigned char *)out, len, NULL) !=
	    DMSC_TNDS_OK ||
	    dmsc_tnds_write(again, ".", &out2, &len2) != DMSC_TNDS_OK ||
	    len2 != len || memcmp(out, out2, len) != 0 ||
	    dmsc_tnds_diff(t, again, ".", NULL, NULL) != 0)
		abort();
	free(out2);
	free(out);
	dmsc_tnds_free(again);
done:
	free(before);
	dmsc_tnds_free(t);
	return 0;
}
