/*
 * dm-ext/fuzz-dmcmd.c - libFuzzer target for the DM command engine:
 * a SyncML DM message (XML or WBXML) applied to a small tree.
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) dm-ext/fuzz-dmcmd.c \
 *     dm-ext/dmcmd.c dm-ext/mgmt-tree.c dm-ext/dmmsg.c dm-ext/base64.c \
 *     dm-ext/wbxml.c -o /tmp/fuzz-dmcmd
 *   /tmp/fuzz-dmcmd -dict=dm-ext/fuzz-dmcmd.dict /tmp/corpus-dmcmd \
 *     dm-ext/corpus/dmcmd
 * Besides crashes and leaks it checks, and aborts when one fails:
 *   - a refused message leaves the tree as it was, and gives no reply;
 *   - an accepted message's reply is itself a SyncML message our reader
 *     takes, and the tree still writes as TNDS and reads back;
 *   - when an Atomic failed and nothing else in the message could change
 *     the tree, nothing changed (report: changes 0 means same bytes).
 * A failure found here becomes a case in dm-ext/test-dmcmd.c.
 */
#include "dmcmd.h"

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
	"<Node><NodeName>Op</NodeName>"
	"<Path>./DMAcc</Path><Node><NodeName>ServerID</NodeName>"
	"<Value>x</Value></Node></Node><Node><NodeName>Example</NodeName>"
	"<Path>./Vendor</Path><RTProperties><Format><node/></Format>"
	"</RTProperties></Node></MgmtTree>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roots[] = { "./DMAcc", "./Vendor" };
	dmsc_dmcmd_opts opts = { .roots = roots, .n_roots = 2,
	                         .replace_adds = size > 0 && data[0] & 1 };
	dmsc_tnds *t = dmsc_tnds_new(NULL), *back;
	dmsc_dmcmd_report rep;
	char *before, *after, *reply;
	size_t blen, alen, rlen;
	xmlDocPtr doc;
	int rc;

	if (t == NULL ||
	    dmsc_tnds_load(t, (const unsigned char *)base_doc,
	                   sizeof base_doc - 1, NULL) != DMSC_TNDS_OK ||
	    dmsc_tnds_write(t, ".", &before, &blen) != DMSC_TNDS_OK)
		abort();
	rc = dmsc_dmcmd_apply(t, data, size, &opts, &reply, &rlen, &rep, NULL);
	if (dmsc_tnds_write(t, ".", &after, &alen) != DMSC_TNDS_OK)
		abort();
	if (rc != DMSC_DMCMD_OK || rep.changes == 0) {
		if (alen != blen || memcmp(after, before, alen) != 0)
			abort();
	}
	if (rc != DMSC_DMCMD_OK) {
		if (reply != NULL)
			abort();
	} else {
		if (dmsc_dm_parse((const unsigned char *)reply, rlen, NULL,
		                  &doc, NULL, NULL) != DMSC_DM_OK)
			abort();
		xmlFreeDoc(doc);
		back = dmsc_tnds_new(NULL);
		if (back == NULL ||
		    dmsc_tnds_load(back, (const unsigned char *)after, alen,
		                   NULL) != DMSC_TNDS_OK)
			abort();
		dmsc_tnds_free(back);
		free(reply);
	}
	free(before);
	free(after);
	dmsc_tnds_free(t);
	return 0;
}
