/*
 * dm-ext/test-wbxml-enc.c - tests of the WBXML encoder (wbxml-enc.c).
 *
 * Round trips: every XML vector of dm-ext/vectors read (dmmsg.c), encoded,
 * decoded again by our decoder, gives the canonical form of the XML, and
 * the canonical form of libwbxml's encoding of the same XML (the committed
 * NAME.wbxml, made by xml2wbxml).  Then the header bytes, whitespace and
 * comments, and every refusal, each naming the element and its line.
 */
#include "canon.h"
#include "dmmsg.h"
#include "wbxml-enc.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DMSC_DMEXT_VECTORS
#define DMSC_DMEXT_VECTORS "dm-ext/vectors"
#endif

struct text {
	char *data;
	size_t len;
};

static int text_sink(void *ctx, const unsigned char *data, size_t len)
{
	struct text *t = ctx;
	char *n = realloc(t->data, t->len + len + 1);

	ck_assert_ptr_nonnull(n);
	memcpy(n + t->len, data, len);
	t->len += len;
	n[t->len] = 0;
	t->data = n;
	return 0;
}

static char *canon_of(const unsigned char *buf, size_t len, const char *what)
{
	struct text t = { NULL, 0 };
	dmsc_dm_error err;
	int rc = dmsc_canon(buf, len, NULL, text_sink, &t, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "%s: canonical form failed: %s", what,
	              err.message);
	return t.data;
}

static unsigned char *read_vector(const char *name, size_t *len)
{
	const char *src = getenv("DMSC_SRCDIR");
	char path[1024];
	unsigned char *buf;
	FILE *f;
	long size;

	if (src != NULL)
		snprintf(path, sizeof path, "%s/dm-ext/vectors/%s", src, name);
	else
		snprintf(path, sizeof path, "%s/%s", DMSC_DMEXT_VECTORS, name);
	f = fopen(path, "rb");
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

/* Encode an XML message; returns the WBXML (the test fails on refusal). */
static unsigned char *encode_ok(const unsigned char *xml, size_t len,
                                size_t *out_len, const char *what)
{
	xmlDocPtr doc = NULL;
	dmsc_dm_error err;
	dmsc_wbxml_enc_error eerr;
	unsigned char *out = NULL;
	int rc = dmsc_dm_parse(xml, len, NULL, &doc, NULL, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "%s: %s", what, err.message);
	rc = dmsc_wbxml_encode(doc, &out, out_len, &eerr);
	ck_assert_msg(rc == DMSC_WBXML_ENC_OK, "%s: line %ld: %s", what,
	              eerr.line, eerr.message);
	ck_assert_uint_eq(dmsc_dm_detect(out, *out_len), DMSC_DM_WBXML);
	xmlFreeDoc(doc);
	return out;
}

/* Refused: the status, and the message holds want; returns the line. */
static long encode_refused(const char *xml, const char *want)
{
	xmlDocPtr doc = NULL;
	dmsc_dm_error err;
	dmsc_wbxml_enc_error eerr;
	unsigned char *out = (unsigned char *)"x";
	size_t out_len = 1;
	int rc = dmsc_dm_parse((const unsigned char *)xml, strlen(xml), NULL,
	                       &doc, NULL, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "%s", err.message);
	rc = dmsc_wbxml_encode(doc, &out, &out_len, &eerr);
	ck_assert_int_eq(rc, DMSC_WBXML_ENC_REFUSED);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_msg(strstr(eerr.message, want) != NULL,
	              "message '%s' lacks '%s'", eerr.message, want);
	xmlFreeDoc(doc);
	return eerr.line;
}

/* XML vectors and libwbxml's encoding of each (NULL: none committed). */
static const struct {
	const char *xml, *libwbxml;
} vectors[] = {
	{ "dm12-replace.xml", "dm12-replace.wbxml" },
	{ "dm12-commands.xml", "dm12-commands.wbxml" },
	{ "dm12-tnds.xml", "dm12-tnds.wbxml" },
	{ "dm12-tnds-in-data.xml", "dm12-tnds-in-data.wbxml" },
	{ "dm11-replace.xml", "dm11-replace.wbxml" },
	{ "all-tags-syncml12.xml", "all-tags-syncml12.wbxml" },
	{ "all-tags-syncml11.xml", "all-tags-syncml11.wbxml" },
	{ "all-tags-dmddf12.xml", "all-tags-dmddf12.wbxml" },
	/* libwbxml writes its Format bin text as bytes (test-canon.c,
	 * test_bootstrap_bin_from_libwbxml): only our round trip counts. */
	{ "dm12-bootstrap.xml", NULL },
	{ "canon/binary.xml", NULL },
	{ "canon/binary.bin.xml", NULL },
	{ "canon/binary.compact.xml", NULL },
	{ "canon/inherit.xml", NULL },
	{ "canon/inherit.bin.xml", NULL },
	{ "canon/inherit.compact.xml", NULL },
	{ "canon/replace.comment.xml", NULL },
	{ "canon/replace.compact.xml", NULL },
	{ "canon/replace.crlf.xml", NULL },
	{ "canon/replace.latin1.xml", NULL },
	{ "canon/replace.pretty.xml", NULL },
	{ "canon/tnds.xml", NULL },
	{ "canon/tnds.compact.xml", NULL },
};
#define VECTOR_COUNT ((int)(sizeof vectors / sizeof vectors[0]))

START_TEST(test_round_trip)
{
	size_t xlen, wlen;
	unsigned char *xml = read_vector(vectors[_i].xml, &xlen);
	unsigned char *wbxml = encode_ok(xml, xlen, &wlen, vectors[_i].xml);
	char *want = canon_of(xml, xlen, vectors[_i].xml);
	char *got = canon_of(wbxml, wlen, "our WBXML");

	ck_assert_str_eq(got, want);
	if (vectors[_i].libwbxml != NULL) {
		size_t llen;
		unsigned char *lib = read_vector(vectors[_i].libwbxml, &llen);
		char *theirs = canon_of(lib, llen, vectors[_i].libwbxml);

		ck_assert_str_eq(got, theirs);
		free(theirs);
		free(lib);
	}
	free(got);
	free(want);
	free(wbxml);
	free(xml);
}
END_TEST

START_TEST(test_header_and_tokens)
{
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody>"
		"<Final/></SyncBody></SyncML>";
	/* version 1.3, public ID 0x1201, UTF-8, no string table; SyncML
	 * (0x2D) with content, SyncBody (0x2B) with content, Final (0x12)
	 * empty, END, END. */
	static const unsigned char want[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6B, 0x12, 0x01, 0x01,
	};
	size_t len;
	unsigned char *out = encode_ok((const unsigned char *)xml,
	                               strlen(xml), &len, "inline");

	ck_assert_uint_eq(len, sizeof want);
	ck_assert_mem_eq(out, want, sizeof want);
	free(out);
}
END_TEST

START_TEST(test_tnds_public_text)
{
	static const char xml[] =
		"<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD>"
		"</MgmtTree>";
	static const char fpi[] = "-//OMA//DTD-DM-DDF 1.2//EN";
	size_t len;
	unsigned char *out = encode_ok((const unsigned char *)xml,
	                               strlen(xml), &len, "inline");

	/* version, public ID 0 + index 0, UTF-8, table of the FPI. */
	ck_assert_uint_ge(len, 5 + sizeof fpi);
	ck_assert_uint_eq(out[0], 0x03);
	ck_assert_uint_eq(out[1], 0x00);
	ck_assert_uint_eq(out[2], 0x00);
	ck_assert_uint_eq(out[3], 0x6A);
	ck_assert_uint_eq(out[4], sizeof fpi);
	ck_assert_mem_eq(out + 5, fpi, sizeof fpi);
	free(out);
}
END_TEST

/* Whitespace beside elements, comments and PIs are left out; a leaf's
 * text, blank or not, and text around a comment are kept whole. */
START_TEST(test_whitespace_and_comments)
{
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'>\n  <SyncHdr>\n"
		"    <VerDTD> 1.2 </VerDTD><!-- c --><?pi x?>\n"
		"    <SessionID>a<!-- split -->b</SessionID>\n"
		"    <MsgID> </MsgID>\n  </SyncHdr>\n</SyncML>\n";
	size_t len;
	unsigned char *out = encode_ok((const unsigned char *)xml,
	                               strlen(xml), &len, "inline");
	char *want = canon_of((const unsigned char *)xml, strlen(xml), "xml");
	char *got = canon_of(out, len, "wbxml");

	ck_assert_str_eq(got, want);
	ck_assert_ptr_nonnull(strstr(got, "<VerDTD> 1.2 </VerDTD>"));
	ck_assert_ptr_nonnull(strstr(got, "<SessionID>ab</SessionID>"));
	ck_assert_ptr_null(memmem(out, len, " c ", 3));
	ck_assert_ptr_null(memmem(out, len, "\n  ", 3));
	free(got);
	free(want);
	free(out);
}
END_TEST

START_TEST(test_refusals)
{
	long line;

	line = encode_refused("<SyncML xmlns='SYNCML:SYNCML1.2'>\n"
	                      "<SyncHdr a='1'/></SyncML>", "attribute (a)");
	ck_assert_int_eq(line, 2);
	line = encode_refused("<SyncML xmlns='SYNCML:SYNCML1.2'>\n\n"
	                      "<Bogus/></SyncML>", "<Bogus> is not defined");
	ck_assert_int_eq(line, 3);
	encode_refused("<SyncML xmlns='SYNCML:SYNCML1.2'><Data>"
	               "<x xmlns='urn:other'/></Data></SyncML>",
	               "namespace urn:other");
	/* SyncML 1.1 has no DM DDF page, and MetInf 1.1 no FieldLevel. */
	encode_refused("<SyncML xmlns='SYNCML:SYNCML1.1'><Data>"
	               "<MgmtTree xmlns='syncml:dmddf1.2'/></Data></SyncML>",
	               "no code page");
	encode_refused("<SyncML xmlns='SYNCML:SYNCML1.1'><Meta>"
	               "<FieldLevel xmlns='syncml:metinf'/></Meta></SyncML>",
	               "<FieldLevel> is not defined in MetInf 1.1");
	encode_refused("<SyncML xmlns='SYNCML:SYNCML1.2'><Data>"
	               "<Item xmlns=''/></Data></SyncML>", "no namespace");
}
END_TEST

/* A tree deeper than the bound, built by hand (the reader stops at 64). */
START_TEST(test_depth_bound)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewDocNode(doc, NULL, BAD_CAST "SyncML", NULL);
	xmlNsPtr ns = xmlNewNs(root, BAD_CAST "SYNCML:SYNCML1.2", NULL);
	xmlNodePtr cur = root;
	dmsc_wbxml_enc_error err;
	unsigned char *out = NULL;
	size_t len = 0;

	xmlSetNs(root, ns);
	xmlDocSetRootElement(doc, root);
	for (int i = 0; i < 100; i++)
		cur = xmlNewChild(cur, ns, BAD_CAST "Atomic", NULL);
	ck_assert_int_eq(dmsc_wbxml_encode(doc, &out, &len, &err),
	                 DMSC_WBXML_ENC_REFUSED);
	ck_assert_ptr_nonnull(strstr(err.message, "deeper than 64"));
	ck_assert_ptr_null(out);
	xmlFreeDoc(doc);

	ck_assert_int_eq(dmsc_wbxml_encode(NULL, &out, &len, &err),
	                 DMSC_WBXML_ENC_REFUSED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wbxml-enc");
	TCase *tc = tcase_create("encode");
	SRunner *sr;
	int failed;

	xmlInitParser();
	tcase_add_loop_test(tc, test_round_trip, 0, VECTOR_COUNT);
	tcase_add_test(tc, test_header_and_tokens);
	tcase_add_test(tc, test_tnds_public_text);
	tcase_add_test(tc, test_whitespace_and_comments);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_depth_bound);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? 0 : 1;
}
