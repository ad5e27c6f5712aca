/*
 * dm-ext/test-tnds.c - the TNDS content model (tnds.c): documents that
 * are MOs pass, the XML and WBXML vectors included, and each rule broken
 * is refused with the line, the element's path and the rule.
 */
#include "dmmsg.h"
#include "tnds.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DMSC_DMEXT_VECTORS
#define DMSC_DMEXT_VECTORS "dm-ext/vectors"
#endif

#define HEAD "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
#define TAIL "</MgmtTree>"

static int read_str(const char *s, dmsc_dm_error *err)
{
	memset(err, 0, sizeof *err);
	return dmsc_tnds_read((const unsigned char *)s, strlen(s), NULL, err);
}

/* s is refused as UNSUPPORTED and the message contains every want. */
static void refused(const char *s, const char *want1, const char *want2)
{
	dmsc_dm_error err;
	int st = read_str(s, &err);

	ck_assert_msg(st == DMSC_DM_UNSUPPORTED, "accepted (%d): %s", st, s);
	ck_assert_msg(strstr(err.message, want1) != NULL,
	              "message '%s' lacks '%s'", err.message, want1);
	if (want2 != NULL)
		ck_assert_msg(strstr(err.message, want2) != NULL,
		              "message '%s' lacks '%s'", err.message, want2);
}

static void accepted(const char *s)
{
	dmsc_dm_error err;
	int st = read_str(s, &err);

	ck_assert_msg(st == DMSC_DM_OK, "refused (%d: %s): %s", st,
	              err.message, s);
}

static unsigned char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	unsigned char *buf;
	long n;

	snprintf(path, sizeof path, "%s/%s", DMSC_DMEXT_VECTORS, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 1);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

START_TEST(test_valid)
{
	accepted(HEAD TAIL);
	accepted(HEAD "<Man>m</Man><Mod>x</Mod>" TAIL);
	accepted(HEAD "<Node><NodeName>DMAcc</NodeName><Path>.</Path>"
	         "<RTProperties><Format><node/></Format><Type><DDFName/>"
	         "</Type></RTProperties><Node><NodeName>S</NodeName>"
	         "<Value>v</Value></Node><Node><NodeName>T</NodeName>"
	         "</Node></Node>" TAIL);
	/* Comments, PIs and whitespace between elements are fine. */
	accepted("<?xml version=\"1.0\"?>\n<MgmtTree xmlns=\"syncml:dmddf1.2\">"
	         "\n  <!-- c --><VerDTD>1.2</VerDTD>\n  <?pi x?>\n"
	         "  <Node>\n    <NodeName>A</NodeName>\n  </Node>\n" TAIL);
	/* DFProperties before RTProperties. */
	accepted(HEAD "<Node><NodeName>A</NodeName><DFProperties><DFFormat>"
	         "<chr/></DFFormat></DFProperties><RTProperties><Size>1"
	         "</Size></RTProperties><Value>x</Value></Node>" TAIL);
}
END_TEST

START_TEST(test_vectors)
{
	static const char *const names[] = { "dm12-tnds.xml",
	                                     "dm12-tnds.wbxml" };
	size_t i, len;

	for (i = 0; i < 2; i++) {
		unsigned char *buf = slurp(names[i], &len);
		dmsc_dm_error err;
		xmlDocPtr doc = NULL;
		int st = dmsc_tnds_read(buf, len, &doc, &err);

		ck_assert_msg(st == DMSC_DM_OK, "%s: %s", names[i],
		              err.message);
		ck_assert_ptr_nonnull(doc);
		xmlFreeDoc(doc);
		free(buf);
	}
}
END_TEST

START_TEST(test_not_tnds)
{
	dmsc_dm_error err;
	size_t len;
	unsigned char *buf = slurp("dm12-replace.xml", &len);

	ck_assert_int_eq(dmsc_tnds_read(buf, len, NULL, &err),
	                 DMSC_DM_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err.message, "not a TNDS document"));
	free(buf);
	ck_assert_int_eq(read_str("<MgmtTree><VerDTD>1.2</VerDTD>" TAIL, &err),
	                 DMSC_DM_UNSUPPORTED);
	ck_assert_int_eq(read_str(HEAD "<Node>", &err), DMSC_DM_MALFORMED);
	ck_assert_int_eq(read_str("", &err), DMSC_DM_UNSUPPORTED);
}
END_TEST

START_TEST(test_rules)
{
	refused("<MgmtTree xmlns=\"syncml:dmddf1.2\"><Node><NodeName>A"
	        "</NodeName></Node>" TAIL, "/MgmtTree/Node",
	        "starts with its VerDTD");
	refused("<MgmtTree xmlns=\"syncml:dmddf1.2\"/>", "/MgmtTree",
	        "starts with its VerDTD");
	refused(HEAD "<Node><Value>v</Value></Node>" TAIL,
	        "/MgmtTree/Node/Value", "starts with its NodeName");
	refused(HEAD "<Node/>" TAIL, "/MgmtTree/Node", "needs a NodeName");
	refused(HEAD "<Node><NodeName>a/b</NodeName></Node>" TAIL,
	        "/MgmtTree/Node/NodeName", "no '/'");
	refused(HEAD "<Node><NodeName>A</NodeName><Value>v</Value><Node>"
	        "<NodeName>B</NodeName></Node></Node>" TAIL,
	        "/MgmtTree/Node/Node", "a Value or child Nodes, not both");
	refused(HEAD "<Node><NodeName>A</NodeName><Node><NodeName>B"
	        "</NodeName></Node><Value>v</Value></Node>" TAIL,
	        "/MgmtTree/Node/Value", "not both");
	refused(HEAD "<Node><NodeName>A</NodeName><Value>v</Value><Value>w"
	        "</Value></Node>" TAIL, "/MgmtTree/Node/Value[2]",
	        "one Value at most");
	refused(HEAD "<Node><NodeName>A</NodeName><Path>.</Path><Path>.</Path>"
	        "</Node>" TAIL, "/MgmtTree/Node/Path[2]", "out of place");
	refused(HEAD "<Node><NodeName>A</NodeName><Bogus/></Node>" TAIL,
	        "/MgmtTree/Node/Bogus", "out of place");
	refused(HEAD "<Node><NodeName>A</NodeName><RTProperties><Colour/>"
	        "</RTProperties></Node>" TAIL,
	        "/MgmtTree/Node/RTProperties/Colour", "not an RTProperties");
	refused(HEAD "<Node><NodeName>A</NodeName><RTProperties><Size>1"
	        "</Size><Size>2</Size></RTProperties></Node>" TAIL,
	        "/MgmtTree/Node/RTProperties/Size[2]", "given twice");
	refused(HEAD "stray text" TAIL, "/MgmtTree", "text where only");
	refused(HEAD "<Node><NodeName>A</NodeName><Value><b>x</b></Value>"
	        "</Node>" TAIL, "/MgmtTree/Node/Value/b", "text-only");
	refused(HEAD "<Node><NodeName>A</NodeName></Node><Man>m</Man>" TAIL,
	        "/MgmtTree/Man", "(VerDTD, Man?, Mod?, Node*)");
	refused(HEAD "<Node xmlns=\"urn:other\"><NodeName>A</NodeName></Node>"
	        TAIL, "/MgmtTree/Node", "out of place");
	/* Siblings get an index. */
	refused(HEAD "<Node><NodeName>A</NodeName></Node><Node><NodeName>B"
	        "</NodeName><Bad/></Node>" TAIL, "/MgmtTree/Node[2]/Bad",
	        NULL);
}
END_TEST

START_TEST(test_line)
{
	dmsc_dm_error err;
	const char *s = "<MgmtTree xmlns=\"syncml:dmddf1.2\">\n"
	                "<VerDTD>1.2</VerDTD>\n"
	                "<Node>\n"
	                "<NodeName>A</NodeName>\n"
	                "<Value>v</Value><Value>w</Value>\n"
	                "</Node>\n" TAIL;

	ck_assert_int_eq(read_str(s, &err), DMSC_DM_UNSUPPORTED);
	ck_assert_int_eq(err.line, 5);
	ck_assert_msg(strncmp(err.message, "line 5: ", 8) == 0, "%s",
	              err.message);
	ck_assert_ptr_nonnull(strstr(err.message, "(OMA DM TNDS)"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tnds");
	TCase *tc = tcase_create("tnds");
	SRunner *sr;
	int failed;

	xmlInitParser();
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_not_tnds);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
