/*
 * dm-ext/fuzz-wbxml.c - libFuzzer target for the WBXML decoder.
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     $(pkg-config --cflags --libs libxml-2.0) \
 *     dm-ext/fuzz-wbxml.c dm-ext/wbxml.c dm-ext/wbxml-pages.c -o /tmp/fuzz-wbxml
 *   /tmp/fuzz-wbxml -max_total_time=600 /tmp/corpus dm-ext/corpus/wbxml
 * A crash or leak found here becomes a case in dm-ext/test-wbxml.c.
 */
#include "wbxml.h"

#include <libxml/parser.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmlDocPtr doc = NULL;
	dmsc_wbxml_error err;
	dmsc_wbxml_limits lim;

	dmsc_wbxml_limits_default(&lim);
	(void)dmsc_wbxml_looks_like(data, size);
	if (dmsc_wbxml_decode(data, size, &lim, &doc, &err) == DMSC_WBXML_OK) {
		/* Walk what was built: a tree that frees cleanly and serialises. */
		xmlChar *text = NULL;
		int len = 0;

		xmlDocDumpMemory(doc, &text, &len);
		xmlFree(text);
		xmlFreeDoc(doc);
	}
	return 0;
}
