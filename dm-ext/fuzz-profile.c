/*
 * dm-ext/fuzz-profile.c - libFuzzer target for the card profile
 * reader (step 1, dmsc_profile_parse(): XML, the RELAX NG schema, the
 * rules after it).  Step 2 reads files and is not fuzzed here.
 *
 * tests/fuzz/run-fuzz.sh builds and runs it (target "profile"); by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Idm-ext/profile \
 *     $(pkg-config --cflags --libs libxml-2.0 libcrypto) \
 *     dm-ext/fuzz-profile.c dm-ext/profile/profile-read.c \
 *     -o /tmp/fuzz-profile
 *   DMSC_SRCDIR=$PWD /tmp/fuzz-profile -dict=dm-ext/fuzz-profile.dict \
 *     /tmp/corpus-profile dm-ext/corpus/profile
 * The schema is read once from $DMSC_SRCDIR/dm-ext/profile/profile.rng.
 */
#include "profile.h"

#include <libxml/parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *schema;
static size_t schema_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *src = getenv("DMSC_SRCDIR");
	char path[4096];
	FILE *f;

	(void)argc;
	(void)argv;
	xmlInitParser();
	snprintf(path, sizeof path, "%s/dm-ext/profile/profile.rng",
	         src != NULL ? src : ".");
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "fuzz-profile: cannot read %s (set DMSC_SRCDIR)\n",
		        path);
		exit(1);
	}
	schema = malloc(1024 * 1024);
	if (schema == NULL)
		exit(1);
	schema_len = fread(schema, 1, 1024 * 1024, f);
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmsc_profile *p = NULL;
	dmsc_profile_error err;
	char name[64];

	if (dmsc_profile_parse("fuzz/profile.xml", data, size, schema,
	                       schema_len, &p, &err) == DMSC_PROFILE_OK) {
		/* Walk what was read. */
		for (size_t i = 0; i < p->n_apps; i++)
			for (size_t j = 0; j < p->apps[i].n_items; j++)
				dmsc_profile_item_name(&p->apps[i].items[j],
				                       name, sizeof name);
		dmsc_profile_free(p);
	}
	return 0;
}
