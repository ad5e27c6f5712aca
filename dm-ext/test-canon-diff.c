/*
 * dm-ext/test-canon-diff.c - the event path of the canonical form
 * (canon-events.c, behind dmsc_canon() and the module) against the
 * reference tree path (dmsc_canon_tree_limits(): libxml2 tree, normalised,
 * libxml2's exclusive C14N), over every vector and seed input in dm-ext
 * (vectors/, vectors/canon/, corpus/canon/, corpus/wbxml/), each cut short
 * and with bytes changed, and over hand-made messages that put the rules'
 * corner cases where streaming finds them hard (a Format after its Data, a
 * CmdID last, namespaces undeclared, layout split by comments).
 *
 * For every input and unit (message, SyncBody, CmdIDs "1" to "6"): both
 * succeed with the same bytes, or both fail with the same PKCS#11 answer
 * (module/ops.c's mapping: limit, out of memory, any other refusal).
 * dm-ext/fuzz-canon-diff.c checks the same property on generated inputs.
 */
#include "canon.h"

#include <check.h>
#include <dirent.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DMSC_DMEXT_VECTORS
#define DMSC_DMEXT_VECTORS "dm-ext/vectors"
#endif

struct bytes {
	unsigned char *data;
	size_t len;
};

static int collect(void *ctx, const unsigned char *data, size_t len)
{
	struct bytes *b = ctx;
	unsigned char *grown = realloc(b->data, b->len + len + 1);

	if (grown == NULL)
		return -1;
	b->data = grown;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

/* The PKCS#11 answer to a status (module/ops.c). */
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

static const dmsc_canon_select units[] = {
	{ DMSC_CANON_MESSAGE, NULL }, { DMSC_CANON_SYNCBODY, NULL },
	{ DMSC_CANON_CMDID, "1" }, { DMSC_CANON_CMDID, "2" },
	{ DMSC_CANON_CMDID, "3" }, { DMSC_CANON_CMDID, "4" },
	{ DMSC_CANON_CMDID, "5" }, { DMSC_CANON_CMDID, "6" },
};
#define UNIT_COUNT (sizeof units / sizeof units[0])

/* Both paths on one input and unit; returns the status. */
static int compare(const char *what, const unsigned char *buf, size_t len,
                   const dmsc_canon_select *sel)
{
	struct bytes tree = { 0 }, events = { 0 };
	dmsc_dm_error te, ee;
	int trc = dmsc_canon_tree_limits(buf, len, NULL, sel, collect, &tree,
	                                 &te);
	int erc = dmsc_canon(buf, len, sel, collect, &events, &ee);

	ck_assert_msg(answer(trc) == answer(erc),
	              "%s, unit %d: tree %d (%s), events %d (%s)", what,
	              (int)sel->unit, trc, trc != 0 ? te.message : "", erc,
	              erc != 0 ? ee.message : "");
	if (trc == DMSC_DM_OK)
		ck_assert_msg(tree.len == events.len &&
		              memcmp(tree.data, events.data, tree.len) == 0,
		              "%s, unit %d: the outputs differ:\ntree:   %s\n"
		              "events: %s", what, (int)sel->unit,
		              (const char *)tree.data, (const char *)events.data);
	free(tree.data);
	free(events.data);
	return trc;
}

struct tally {
	int inputs;
	int ok;        /* (input, unit) pairs both paths canonicalised */
	int refused;   /* pairs both refused */
};

static void compare_all_units(const char *what, const unsigned char *buf,
                              size_t len, struct tally *t)
{
	t->inputs++;
	for (size_t u = 0; u < UNIT_COUNT; u++) {
		if (compare(what, buf, len, &units[u]) == DMSC_DM_OK)
			t->ok++;
		else
			t->refused++;
	}
}

static const char *dmext_dir(char *buf, size_t len)
{
	const char *src = getenv("DMSC_SRCDIR");

	if (src != NULL)
		snprintf(buf, len, "%s/dm-ext", src);
	else
		snprintf(buf, len, "%s/..", DMSC_DMEXT_VECTORS);
	return buf;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/* Each file of a directory of dm-ext, as it is, then cut short at seven
 * points and with 24 bytes changed (one at a time, to '<', '>', a blank,
 * '&', 0x00, 0xC3, 0xFF and the byte + 1, at spread positions). */
static void compare_dir(const char *sub, struct tally *whole,
                        struct tally *mutated)
{
	char top[512], dir[1024], path[1300], what[1400];
	DIR *d;
	struct dirent *e;
	int files = 0;

	snprintf(dir, sizeof dir, "%s/%s", dmext_dir(top, sizeof top), sub);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		static const unsigned char subst[] = { '<', '>', ' ', '&', 0x00,
		                                       0xC3, 0xFF, 0 };
		struct stat st;
		unsigned char *buf;
		size_t len;

		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode) || strstr(e->d_name, ".c14n") != NULL ||
		    strcmp(e->d_name, "README") == 0 ||
		    strstr(e->d_name, ".py") != NULL)
			continue;
		files++;
		buf = read_file(path, &len);
		compare_all_units(path, buf, len, whole);
		for (size_t k = 1; k < 8; k++) {
			snprintf(what, sizeof what, "%s cut at %zu", path,
			         len * k / 8);
			compare_all_units(what, buf, len * k / 8, mutated);
		}
		for (size_t k = 0; len > 0 && k < 24; k++) {
			size_t at = (len * (2 * k + 1)) / 48;
			unsigned char was = buf[at];

			buf[at] = k % 8 == 7 ? (unsigned char)(was + 1)
			                     : subst[k % 8];
			snprintf(what, sizeof what, "%s, byte %zu 0x%02X -> 0x%02X",
			         path, at, was, buf[at]);
			compare_all_units(what, buf, len, mutated);
			buf[at] = was;
		}
		free(buf);
	}
	closedir(d);
	ck_assert_msg(files > 0, "no inputs in %s", dir);
}

START_TEST(test_all_inputs)
{
	struct tally whole = { 0 }, mutated = { 0 };

	compare_dir("vectors", &whole, &mutated);
	compare_dir("vectors/canon", &whole, &mutated);
	compare_dir("corpus/canon", &whole, &mutated);
	compare_dir("corpus/wbxml", &whole, &mutated);
	printf("test-canon-diff: %d inputs as they are (%d units "
	       "canonicalised alike, %d refused alike), %d changed inputs "
	       "(%d alike, %d refused alike)\n", whole.inputs, whole.ok,
	       whole.refused, mutated.inputs, mutated.ok, mutated.refused);
	/* The vectors are DM messages: most canonicalise; every message has
	 * a SyncBody or is a TNDS document. */
	ck_assert_int_ge(whole.inputs, 80);
	ck_assert_int_ge(whole.ok, whole.inputs);
	ck_assert_int_gt(mutated.refused, 0);
	ck_assert_int_gt(mutated.ok, 0);
}
END_TEST

#define SYNCML "<SyncML xmlns='SYNCML:SYNCML1.2'>"
#define METINF "xmlns='syncml:metinf'"

/* Messages whose rules depend on what comes later. */
static const char *const hand[] = {
	/* The command's Format after its Items (bin, so rewritten). */
	SYNCML "<SyncBody><Replace><CmdID>1</CmdID><Item><Data>QU JD\n"
	"</Data></Item><Meta><Format " METINF ">bin</Format></Meta>"
	"</Replace></SyncBody></SyncML>",
	/* An Item's own Meta after its Data; a second Meta's Format. */
	SYNCML "<SyncBody><Add><CmdID>2</CmdID><Meta><Type " METINF ">x"
	"</Type></Meta><Item><Data>QUJD</Data><Meta><Format " METINF ">"
	" b64 </Format></Meta></Item><Meta><Format " METINF ">bin</Format>"
	"</Meta><Item><Data>QQ==</Data></Item></Add></SyncBody></SyncML>",
	/* A bin Format no Data reads: stays bin. */
	SYNCML "<SyncHdr><Meta><Format " METINF ">bin</Format></Meta>"
	"</SyncHdr><SyncBody><Atomic><CmdID>3</CmdID><Meta><Format " METINF
	">bin</Format></Meta><Replace><CmdID>4</CmdID><Item><Data>QUJD</Data>"
	"</Item></Replace></Atomic></SyncBody></SyncML>",
	/* Layout split by comments and PIs; CDATA; text beside elements. */
	SYNCML "<SyncBody> <!-- a --> <?pi x?>\n<Get><CmdID> 1 <!--x--> "
	"</CmdID><Item><Data>  <![CDATA[<&>]]> <!-- --> </Data></Item>"
	"<Item><Data> <!-- --> </Data></Item> x <Final/> </Get>\n"
	"</SyncBody></SyncML>",
	/* CmdID last; the same CmdID twice (refused); a command in a
	 * Sequence in an Atomic. */
	SYNCML "<SyncBody><Get><Item><Data>a</Data></Item><CmdID>5</CmdID>"
	"</Get><Atomic><CmdID>6</CmdID><Sequence><CmdID>2</CmdID><Delete>"
	"<CmdID>3</CmdID></Delete></Sequence></Atomic><Exec><CmdID>3</CmdID>"
	"</Exec></SyncBody></SyncML>",
	/* Prefixes, an undeclared default, attributes in namespaces. */
	"<s:SyncML xmlns:s='SYNCML:SYNCML1.2' xmlns:z='urn:z' xmlns:a='urn:a'>"
	"<s:SyncBody><s:Put><s:CmdID>1</s:CmdID><s:Item><s:Data>"
	"<r xmlns='urn:r' z:k='1' a:k='2' k='3' xml:lang='en'><q xmlns=''>"
	"<w a:t='x&#9;y&#10;&amp;&lt;&quot;'/></q><z:e/></r></s:Data>"
	"</s:Item></s:Put></s:SyncBody></s:SyncML>",
	/* Something before the SyncBody; a second SyncBody. */
	SYNCML "<Meta><Format " METINF ">bin</Format></Meta><SyncBody>"
	"<Alert><CmdID>1</CmdID><Data>1201</Data></Alert></SyncBody>"
	"<SyncBody><Alert><CmdID>2</CmdID></Alert></SyncBody></SyncML>",
	/* A TNDS Node's RTProperties after its Value. */
	"<MgmtTree xmlns='syncml:dmddf1.2'><Node><NodeName>a</NodeName>"
	"<Value>QU\nJD</Value><RTProperties><Format><b64/></Format>"
	"</RTProperties></Node><Node><Value> QUJD </Value></Node></MgmtTree>",
	/* Data holding elements under a binary Format: refused. */
	SYNCML "<SyncBody><Replace><CmdID>1</CmdID><Meta><Format " METINF
	">b64</Format></Meta><Item><Data>QUJD<x/></Data></Item></Replace>"
	"</SyncBody></SyncML>",
	/* Not base64 after a later Format: refused. */
	SYNCML "<SyncBody><Replace><CmdID>1</CmdID><Item><Data>QUJ*</Data>"
	"</Item><Meta><Format " METINF ">b64</Format></Meta></Replace>"
	"</SyncBody></SyncML>",
};

START_TEST(test_hand_made)
{
	int ok = 0;

	for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) {
		char what[32];

		snprintf(what, sizeof what, "hand-made message %zu", i);
		for (size_t u = 0; u < UNIT_COUNT; u++)
			if (compare(what, (const unsigned char *)hand[i],
			            strlen(hand[i]), &units[u]) == DMSC_DM_OK)
				ok++;
	}
	ck_assert_int_ge(ok, 20);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("canon-diff");
	TCase *tc = tcase_create("diff");
	SRunner *sr;
	int failed;

	xmlInitParser();
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_hand_made);
	tcase_add_test(tc, test_all_inputs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? 0 : 1;
}
