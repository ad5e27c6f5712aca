/*
 * dm-ext/fuzz-wbxml-enc.c - libFuzzer target for the WBXML encoder: an
 * XML DM message that the reader accepts and the encoder encodes must
 * decode to the same canonical form (a difference aborts: a bug).
 * WBXML input is skipped: a binary OPAQUE's mark does not survive a
 * round trip through text, by design (wbxml-enc.h).
 *
 * tests/fuzz/run-fuzz.sh builds and runs it (target "wbxml-enc"); by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) dm-ext/fuzz-wbxml-enc.c \
 *     dm-ext/wbxml-enc.c dm-ext/canon.c dm-ext/dmmsg.c dm-ext/base64.c \
 *     dm-ext/wbxml.c dm-ext/wbxml-pages.c -o /tmp/fuzz-wbxml-enc
 *   /tmp/fuzz-wbxml-enc -dict=dm-ext/fuzz-canon.dict /tmp/corpus dm-ext/corpus/canon
 */
#include "canon.h"
#include "dmmsg.h"
#include "wbxml-enc.h"

#include <libxml/parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	unsigned char *data;
	size_t len;
};

static int sink(void *ctx, const unsigned char *data, size_t len)
{
	struct out *o = ctx;
	unsigned char *n = realloc(o->data, o->len + len);

	if (n == NULL)
		return -1;
	memcpy(n + o->len, data, len);
	o->data = n;
	o->len += len;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out want = { NULL, 0 }, got = { NULL, 0 };
	xmlDocPtr doc = NULL;
	dmsc_dm_error err;
	dmsc_wbxml_enc_error eerr;
	unsigned char *wbxml = NULL;
	size_t wlen = 0;

	if (dmsc_dm_detect(data, size) != DMSC_DM_XML ||
	    dmsc_dm_parse(data, size, NULL, &doc, NULL, &err) != DMSC_DM_OK)
		return 0;
	if (dmsc_wbxml_encode(doc, &wbxml, &wlen, &eerr) == DMSC_WBXML_ENC_OK &&
	    dmsc_canon(data, size, NULL, sink, &want, &err) == DMSC_DM_OK) {
		int rc = dmsc_canon(wbxml, wlen, NULL, sink, &got, &err);

		if (rc != DMSC_DM_OK || got.len != want.len ||
		    memcmp(got.data, want.data, want.len) != 0) {
			fprintf(stderr, "round trip differs (rc %d: %s)\n"
			        "XML canonical:   %.*s\nWBXML canonical: %.*s\n",
			        rc, rc != DMSC_DM_OK ? err.message : "",
			        (int)want.len, (const char *)want.data,
			        (int)got.len, (const char *)got.data);
			abort();
		}
	}
	free(want.data);
	free(got.data);
	free(wbxml);
	xmlFreeDoc(doc);
	return 0;
}
