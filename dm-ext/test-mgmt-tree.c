/*
 * dm-ext/test-mgmt-tree.c - tests of the management tree (dm-ext/mgmt-tree.c) and
 * its diff (dm-ext/tnds-diff.c).
 *
 * The TNDS vector of dm-ext/vectors (XML, and the WBXML libwbxml made of
 * it) is read, checked node by node, written, read back and written again
 * byte for byte; documents in every form the content model allows pass
 * (dmsc_tnds_check too); every rule of mgmt-tree.h is broken once and must give its
 * error with the line and leave the tree as it was; URIs, add, replace,
 * delete, limits and the diff are checked with exact values.
 */
#include "mgmt-tree.h"
#include "tnds-diff.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_vector(const char *name, size_t *len)
{
	char path[1024];
	const char *src = getenv("DMSC_SRCDIR");
	FILE *f;
	unsigned char *buf;
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
	buf[size] = 0;
	*len = (size_t)size;
	return buf;
}

static char *write_all(const dmsc_tnds *t, const char *uri)
{
	char *out;
	size_t len;

	ck_assert_int_eq(dmsc_tnds_write(t, uri, &out, &len), DMSC_TNDS_OK);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static int load_str(dmsc_tnds *t, const char *doc, dmsc_dm_error *err)
{
	return dmsc_tnds_load(t, (const unsigned char *)doc, strlen(doc), err);
}

static dmsc_tnds *tree_of(const char *doc)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	dmsc_dm_error err;

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(load_str(t, doc, &err) == DMSC_TNDS_OK, "load: %s",
	              err.message);
	return t;
}

#define HEAD "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
#define TAIL "</MgmtTree>"

/* ---- The vector ---- */

static void check_vector_tree(const dmsc_tnds *t)
{
	const dmsc_tnds_node *n;

	ck_assert_uint_eq(t->nodes, 4);
	ck_assert_str_eq(t->man, "Example");
	ck_assert_str_eq(t->mod, "UICC-1");
	n = dmsc_tnds_find(t, "./DMAcc");
	ck_assert_ptr_nonnull(n);
	ck_assert(n->interior);
	ck_assert_str_eq(n->prop[DMSC_TNDS_ACL], "Get=*");
	ck_assert_str_eq(n->prop[DMSC_TNDS_FORMAT], "node");
	ck_assert(n->type_ddf);
	ck_assert_str_eq(n->prop[DMSC_TNDS_TYPE], "");
	n = dmsc_tnds_find(t, "DMAcc/ExampleDM/ServerID");
	ck_assert_ptr_nonnull(n);
	ck_assert(!n->interior);
	ck_assert_str_eq(n->value, "com.example.dm");
	ck_assert_uint_eq(n->value_len, 14);
	ck_assert_str_eq(n->prop[DMSC_TNDS_FORMAT], "chr");
	ck_assert_str_eq(n->prop[DMSC_TNDS_TYPE], "text/plain");
	ck_assert(!n->type_ddf);
	ck_assert_str_eq(n->prop[DMSC_TNDS_TITLE], "Server identifier");
	ck_assert_str_eq(n->prop[DMSC_TNDS_TSTAMP], "2024-01-01T00:00:00Z");
	ck_assert_str_eq(n->prop[DMSC_TNDS_VERNO], "3");
	ck_assert_str_eq(n->prop[DMSC_TNDS_SIZE], "14");
	/* ExampleDM: DFProperties only, interior because it has children. */
	n = dmsc_tnds_find(t, "./DMAcc/ExampleDM");
	ck_assert(n->interior);
	ck_assert_ptr_nonnull(n->dfprops);
	ck_assert_str_eq(dmsc_tnds_format(n), "node");
	/* PrefConRef: no RTProperties, no value, no children: a leaf. */
	n = dmsc_tnds_find(t, "./DMAcc/ExampleDM/PrefConRef");
	ck_assert(!n->interior);
	ck_assert_ptr_null(n->value);
	ck_assert_str_eq(dmsc_tnds_format(n), "chr");
}

START_TEST(test_vector_round_trip)
{
	static const char *const names[] = { "dm12-tnds.xml",
	                                     "dm12-tnds.wbxml" };
	char *first = NULL;

	for (size_t i = 0; i < 2; i++) {
		size_t len;
		unsigned char *buf = read_vector(names[i], &len);
		dmsc_tnds *t = dmsc_tnds_new(NULL), *again;
		dmsc_dm_error err;
		char *out, *out2;

		ck_assert_msg(dmsc_tnds_load(t, buf, len, &err) ==
		              DMSC_TNDS_OK, "%s: %s", names[i], err.message);
		check_vector_tree(t);
		out = write_all(t, ".");
		again = tree_of(out);
		check_vector_tree(again);
		out2 = write_all(again, ".");
		ck_assert_str_eq(out, out2);
		/* XML and WBXML give the same tree. */
		if (first == NULL)
			first = strdup(out);
		else
			ck_assert_str_eq(first, out);
		/* The DFProperties are written back as they came, in the
		 * document's namespace. */
		ck_assert_ptr_nonnull(strstr(out, "<DFTitle>A DM account"
		                              "</DFTitle>"));
		ck_assert_ptr_null(strstr(out, "<DFProperties xmlns"));
		free(out);
		free(out2);
		dmsc_tnds_free(again);
		dmsc_tnds_free(t);
		free(buf);
	}
	free(first);
}
END_TEST

START_TEST(test_write_subtree)
{
	dmsc_tnds *t = tree_of(HEAD
		"<Node><NodeName>A</NodeName><Path>./X/Y</Path>"
		"<RTProperties><Format><node/></Format></RTProperties>"
		"<Node><NodeName>v</NodeName><Value>1 &lt; 2</Value></Node>"
		"</Node>" TAIL);
	char *out = write_all(t, "./X/Y/A");
	dmsc_tnds *u;

	/* The implied interior nodes X and Y exist. */
	ck_assert_uint_eq(t->nodes, 4);
	ck_assert(dmsc_tnds_find(t, "./X/Y")->interior);
	ck_assert_str_eq(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<MgmtTree xmlns=\"syncml:dmddf1.2\">\n"
		"  <VerDTD>1.2</VerDTD>\n"
		"  <Node>\n"
		"    <NodeName>A</NodeName>\n"
		"    <Path>./X/Y</Path>\n"
		"    <RTProperties>\n"
		"      <Format>\n"
		"        <node/>\n"
		"      </Format>\n"
		"    </RTProperties>\n"
		"    <Node>\n"
		"      <NodeName>v</NodeName>\n"
		"      <Value>1 &lt; 2</Value>\n"
		"    </Node>\n"
		"  </Node>\n"
		"</MgmtTree>\n");
	/* Read into a fresh tree it gives the same subtree. */
	u = tree_of(out);
	ck_assert_str_eq(dmsc_tnds_find(u, "./X/Y/A/v")->value, "1 < 2");
	ck_assert_uint_eq(dmsc_tnds_diff(t, u, ".", NULL, NULL), 0);
	free(out);
	ck_assert_int_eq(dmsc_tnds_write(t, "./nope", &out, &(size_t){ 0 }),
	                 DMSC_TNDS_NOT_FOUND);
	ck_assert_ptr_null(out);
	dmsc_tnds_free(u);
	dmsc_tnds_free(t);
}
END_TEST

/* Two MO objects' subtrees read into one tree; the second may fill in
 * an interior node the first only implied, not define a node twice. */
START_TEST(test_merge)
{
	dmsc_tnds *t = tree_of(HEAD "<Node><NodeName>A</NodeName>"
	                       "<Path>./DMAcc</Path><Node><NodeName>x"
	                       "</NodeName><Value>1</Value></Node></Node>"
	                       TAIL);
	dmsc_dm_error err;
	char *before;

	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>B</NodeName>"
	                          "<Path>./DMAcc</Path></Node>" TAIL, &err),
	                 DMSC_TNDS_OK);
	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>DMAcc</NodeName>"
	                          "<RTProperties><ACL>Get=*</ACL>"
	                          "</RTProperties></Node>" TAIL, &err),
	                 DMSC_TNDS_OK);
	ck_assert_str_eq(dmsc_tnds_find(t, "./DMAcc")->prop[DMSC_TNDS_ACL],
	                 "Get=*");
	ck_assert(dmsc_tnds_find(t, "./DMAcc")->interior);
	ck_assert_uint_eq(t->nodes, 4);
	before = write_all(t, ".");
	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>A</NodeName>"
	                          "<Path>./DMAcc</Path></Node>" TAIL, &err),
	                 DMSC_TNDS_EXISTS);
	ck_assert_str_eq(err.message, "line 1: the node ./DMAcc/A is defined "
	                 "twice");
	{
		char *after = write_all(t, ".");

		ck_assert_str_eq(before, after);
		free(after);
	}
	free(before);
	dmsc_tnds_free(t);
}
END_TEST

/* A document read at a place (an MO object at its label's parent). */
START_TEST(test_load_at)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	dmsc_dm_error err;
	static const char doc[] = HEAD
		"<Node><NodeName>X</NodeName><Value>1</Value></Node>"
		"<Node><NodeName>Y</NodeName><Path>C</Path></Node>"
		"<Node><NodeName>Z</NodeName><Path>.</Path></Node>"
		"<Node><NodeName>W</NodeName><Path>./D</Path></Node>" TAIL;

	ck_assert_int_eq(dmsc_tnds_load_at(t, "./A/B", (const unsigned char *)
	                                   doc, sizeof doc - 1, &err),
	                 DMSC_TNDS_OK);
	ck_assert_str_eq(dmsc_tnds_find(t, "./A/B/X")->value, "1");
	ck_assert(dmsc_tnds_find(t, "./A")->implied);
	ck_assert_ptr_nonnull(dmsc_tnds_find(t, "./A/B/C/Y"));
	ck_assert_ptr_nonnull(dmsc_tnds_find(t, "./Z"));
	ck_assert_ptr_nonnull(dmsc_tnds_find(t, "./D/W"));
	ck_assert_uint_eq(t->nodes, 8);
	ck_assert_int_eq(dmsc_tnds_load_at(t, "./A/../B", (const unsigned char *)
	                                   doc, sizeof doc - 1, &err),
	                 DMSC_TNDS_BAD_PATH);
	ck_assert_int_eq(dmsc_tnds_load_at(t, "./A/B/X", (const unsigned char *)
	                                   doc, sizeof doc - 1, &err),
	                 DMSC_TNDS_NOT_ALLOWED);
	ck_assert_uint_eq(t->nodes, 8);
	dmsc_tnds_free(t);
}
END_TEST

/* ---- Rules: each broken once, with its line; the tree unchanged ---- */

static const struct bad_case {
	const char *doc;
	int status;
	const char *message;
} bad_cases[] = {
	{ HEAD "\n<Node><Value>1</Value></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 2: a <Node> must start with <NodeName>" },
	{ HEAD "<Node>\n<NodeName>a/b</NodeName></Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 2: <NodeName>: a node name with a '/'" },
	{ HEAD "<Node><NodeName>..</NodeName></Node>" TAIL,
	  DMSC_TNDS_MALFORMED,
	  "line 1: <NodeName>: the node name '..' (. and .. are not names)" },
	{ HEAD "<Node><NodeName></NodeName></Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: <NodeName>: an empty node name" },
	{ HEAD "<Node><NodeName>a</NodeName><Path>./x/../y</Path></Node>"
	  TAIL, DMSC_TNDS_BAD_PATH, "line 1: <Path>: the URI './x/../y' has "
	  "the node name '..' (. and .. are not names)" },
	{ HEAD "<Node><NodeName>a</NodeName><Node><NodeName>b</NodeName>"
	  "<Path>./a</Path></Node></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <Path> only on a Node directly under MgmtTree" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><Format><node/>"
	  "</Format></RTProperties>\n\n<Value>x</Value></Node>" TAIL,
	  DMSC_TNDS_NOT_ALLOWED, "line 3: a <Value> on an interior node" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><Format><chr/>"
	  "</Format></RTProperties><Node><NodeName>b</NodeName></Node>"
	  "</Node>" TAIL, DMSC_TNDS_NOT_ALLOWED,
	  "line 1: a child <Node> under a leaf (Format chr)" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><Colour/>"
	  "</RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <Colour> is not a run-time property (ACL, Format, Name, "
	  "Size, Title, TStamp, Type, VerNo)" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><ACL>1</ACL>"
	  "<ACL>2</ACL></RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: a second <ACL> in RTProperties" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><Format>chr"
	  "</Format></RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <Format> must hold exactly one element (<chr/>, <node/>, "
	  "<int/>...)" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties>x</RTProperties>"
	  "</Node>" TAIL, DMSC_TNDS_MALFORMED, "line 1: text directly in "
	  "RTProperties (only property elements belong there)" },
	{ HEAD "<Node><NodeName>a</NodeName><RTProperties><Type><Text/>"
	  "</Type></RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <Type> holds <Text>; expected <MIME> or <DDFName>" },
	{ HEAD "<Node><NodeName>a</NodeName><Value>1</Value><Value>2</Value>"
	  "</Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: a second <Value> in one <Node>" },
	{ HEAD "<Node><NodeName>a</NodeName><Value><b/></Value></Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: <Value> holds an element; expected "
	  "text" },
	{ HEAD "<Node><NodeName>a</NodeName>stray</Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: text directly in <Node> (put a value "
	  "in <Value>)" },
	{ HEAD "<Node><NodeName>a</NodeName><Size>1</Size></Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: <Size> does not belong in <Node> "
	  "(NodeName, Path, RTProperties, DFProperties, Value, Node)" },
	{ HEAD "<Leaf/>" TAIL, DMSC_TNDS_MALFORMED, "line 1: <Leaf> does not "
	  "belong in <MgmtTree> (VerDTD, Man, Mod, Node)" },
	{ HEAD "<Man>a</Man><Man>b</Man>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: a second <Man> in MgmtTree" },
	{ HEAD "<Node><NodeName>a</NodeName></Node><Node><NodeName>a"
	  "</NodeName></Node>" TAIL, DMSC_TNDS_EXISTS,
	  "line 1: the node ./a is defined twice" },
	{ HEAD "<Node><NodeName>a</NodeName><Value>1</Value></Node>"
	  "<Node><NodeName>b</NodeName><Path>./a</Path></Node>" TAIL,
	  DMSC_TNDS_NOT_ALLOWED, "line 1: <Path> ./a: a leaf is on the way" },
	/* The content model of MgmtTree and Node, and the namespace. */
	{ "<MgmtTree xmlns=\"syncml:dmddf1.2\">\n<Node><NodeName>A"
	  "</NodeName></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 2: a <MgmtTree> starts with <VerDTD>" },
	{ "<MgmtTree xmlns=\"syncml:dmddf1.2\"/>", DMSC_TNDS_MALFORMED,
	  "line 1: a <MgmtTree> starts with <VerDTD>" },
	{ HEAD "<Node/>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: a <Node> must start with <NodeName>" },
	{ HEAD "<Node><NodeName>A</NodeName><Value>v</Value>\n<Node>"
	  "<NodeName>B</NodeName></Node></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 2: a <Node> has a <Value> or child <Node>s, not both" },
	{ HEAD "<Node><NodeName>A</NodeName><Node><NodeName>B</NodeName>"
	  "</Node>\n<Value>v</Value></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 2: a <Node> has a <Value> or child <Node>s, not both" },
	{ HEAD "<Node><NodeName>A</NodeName><Path>.</Path><Path>.</Path>"
	  "</Node>" TAIL, DMSC_TNDS_MALFORMED, "line 1: <Path> only right "
	  "after <NodeName> of a Node directly under MgmtTree" },
	{ HEAD "<Node><NodeName>A</NodeName><Bogus/></Node>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: <Bogus> does not belong in <Node> "
	  "(NodeName, Path, RTProperties, DFProperties, Value, Node)" },
	{ HEAD "<Node><NodeName>A</NodeName><Value>v</Value><RTProperties>"
	  "<Size>1</Size></RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <RTProperties> after <Value>: a Node is (NodeName, "
	  "Path?, RTProperties?, DFProperties?, (Node* | Value?))" },
	{ HEAD "<Node><NodeName>A</NodeName><Node><NodeName>B</NodeName>"
	  "</Node><DFProperties/></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <DFProperties> after <Node>: a Node is (NodeName, "
	  "Path?, RTProperties?, DFProperties?, (Node* | Value?))" },
	{ HEAD "<Node><NodeName>A</NodeName><RTProperties><Size>1</Size>"
	  "<Size>2</Size></RTProperties></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: a second <Size> in RTProperties" },
	{ HEAD "stray text" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: text directly in <MgmtTree>" },
	{ HEAD "<Node><NodeName>A</NodeName></Node><Man>m</Man>" TAIL,
	  DMSC_TNDS_MALFORMED, "line 1: <Man> out of place: a MgmtTree is "
	  "(VerDTD, Man?, Mod?, Node*)" },
	{ HEAD "<Mod>x</Mod><Man>m</Man>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 1: <Man> out of place: a MgmtTree is (VerDTD, Man?, Mod?, "
	  "Node*)" },
	{ HEAD "<Node xmlns=\"urn:other\"><NodeName>A</NodeName></Node>"
	  TAIL, DMSC_TNDS_MALFORMED, "line 1: <Node> is not in the DM DDF "
	  "namespace (xmlns=\"syncml:dmddf1.2\")" },
	{ HEAD "<Node><NodeName>A</NodeName><x:Value xmlns:x=\"urn:other\">"
	  "v</x:Value></Node>" TAIL, DMSC_TNDS_MALFORMED, "line 1: <Value> "
	  "is not in the DM DDF namespace (xmlns=\"syncml:dmddf1.2\")" },
	{ HEAD "\n<Node><NodeName>A</NodeName></Node>\n<Node><NodeName>B"
	  "</NodeName>\n<Bad/></Node>" TAIL, DMSC_TNDS_MALFORMED,
	  "line 4: <Bad> does not belong in <Node> (NodeName, Path, "
	  "RTProperties, DFProperties, Value, Node)" },
	/* Refused by the DM reader already (a root it does not know). */
	{ "<MgmtTree><VerDTD>1.2</VerDTD>" TAIL, DMSC_TNDS_MALFORMED, NULL },
	{ "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr/></SyncML>",
	  DMSC_TNDS_MALFORMED, "line 1: a SyncML message, not a TNDS document "
	  "(<MgmtTree xmlns=\"syncml:dmddf1.2\">)" },
	{ "<MgmtTree xmlns=\"syncml:dmddf1.2\">\n<Node>", DMSC_TNDS_MALFORMED,
	  NULL },
	{ "", DMSC_TNDS_MALFORMED, NULL },
};

START_TEST(test_rules)
{
	const struct bad_case *c = &bad_cases[_i];
	dmsc_tnds *t = tree_of(HEAD "<Node><NodeName>keep</NodeName>"
	                       "<Value>me</Value></Node>" TAIL);
	char *before = write_all(t, "."), *after;
	dmsc_dm_error err;
	int rc = load_str(t, c->doc, &err);

	ck_assert_msg(rc == c->status, "case %d: status %d, expected %d (%s)",
	              _i, rc, c->status, err.message);
	if (c->message != NULL)
		ck_assert_str_eq(err.message, c->message);
	else
		ck_assert_uint_gt(strlen(err.message), 0);
	after = write_all(t, ".");
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	dmsc_tnds_free(t);
}
END_TEST

/* Documents that keep every rule: the forms the content model allows. */
START_TEST(test_valid_forms)
{
	static const char *const docs[] = {
		HEAD TAIL,
		HEAD "<Man>m</Man><Mod>x</Mod>" TAIL,
		HEAD "<Node><NodeName>DMAcc</NodeName><Path>.</Path>"
		"<RTProperties><Format><node/></Format><Type><DDFName/>"
		"</Type></RTProperties><Node><NodeName>S</NodeName>"
		"<Value>v</Value></Node><Node><NodeName>T</NodeName>"
		"</Node></Node>" TAIL,
		/* Comments, PIs and whitespace between elements. */
		"<?xml version=\"1.0\"?>\n<MgmtTree xmlns=\"syncml:dmddf1.2\">"
		"\n  <!-- c --><VerDTD>1.2</VerDTD>\n  <?pi x?>\n"
		"  <Node>\n    <NodeName>A</NodeName>\n  </Node>\n" TAIL,
		/* DFProperties before RTProperties. */
		HEAD "<Node><NodeName>A</NodeName><DFProperties><DFFormat>"
		"<chr/></DFFormat></DFProperties><RTProperties><Size>1"
		"</Size></RTProperties><Value>x</Value></Node>" TAIL,
	};
	dmsc_dm_error err;

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		ck_assert_msg(dmsc_tnds_check((const unsigned char *)docs[i],
		                              strlen(docs[i]), &err) ==
		              DMSC_TNDS_OK, "%s: %s", docs[i], err.message);
}
END_TEST

/* dmsc_tnds_check, what `dmsc mo put` and `dmsc personalise` call: the
 * vectors pass, a message, a broken rule and bad XML do not. */
START_TEST(test_check)
{
	static const char *const names[] = { "dm12-tnds.xml",
	                                     "dm12-tnds.wbxml" };
	static const char rule[] = HEAD "\n<Node><NodeName>A</NodeName>\n"
		"<Value>v</Value><Value>w</Value>\n</Node>" TAIL;
	static const char bad_xml[] = HEAD "\n<Node>" TAIL;
	dmsc_dm_error err;
	size_t len;
	unsigned char *buf;

	for (size_t i = 0; i < 2; i++) {
		buf = read_vector(names[i], &len);
		ck_assert_msg(dmsc_tnds_check(buf, len, &err) == DMSC_TNDS_OK,
		              "%s: %s", names[i], err.message);
		free(buf);
	}
	buf = read_vector("dm12-replace.xml", &len);
	ck_assert_int_eq(dmsc_tnds_check(buf, len, &err), DMSC_TNDS_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err.message, "not a TNDS document"));
	ck_assert_uint_eq(err.offset, DMSC_DM_NO_OFFSET);
	free(buf);
	ck_assert_int_eq(dmsc_tnds_check((const unsigned char *)rule,
	                                 sizeof rule - 1, &err),
	                 DMSC_TNDS_MALFORMED);
	ck_assert_int_eq(err.line, 3);
	ck_assert_str_eq(err.message, "line 3: a second <Value> in one <Node>");
	ck_assert_int_eq(dmsc_tnds_check((const unsigned char *)bad_xml,
	                                 sizeof bad_xml - 1, &err),
	                 DMSC_TNDS_MALFORMED);
	ck_assert_int_eq(err.line, 2);
	ck_assert_uint_ne(err.offset, DMSC_DM_NO_OFFSET);
	ck_assert_int_eq(dmsc_tnds_check(NULL, 0, &err), DMSC_TNDS_MALFORMED);
}
END_TEST

START_TEST(test_limits)
{
	dmsc_tnds_limits lim = { .max_depth = 3, .max_nodes = 4,
	                         .max_name = 5, .max_value = 4 };
	dmsc_tnds *t = dmsc_tnds_new(&lim);
	dmsc_dm_error err;
	dmsc_tnds_item leaf = { .value = "1234", .value_len = 4 };
	dmsc_tnds_item big = { .value = "12345", .value_len = 5 };

	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>abcdef</NodeName>"
	                          "</Node>" TAIL, &err), DMSC_TNDS_MALFORMED);
	ck_assert_str_eq(err.message, "line 1: <NodeName>: a node name of 6 "
	                 "bytes (at most 5)");
	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>a</NodeName>"
	                          "<Value>12345</Value></Node>" TAIL, &err),
	                 DMSC_TNDS_LIMIT);
	ck_assert_str_eq(err.message, "line 1: a value of 5 bytes (at most "
	                 "4)");
	ck_assert_int_eq(load_str(t, HEAD "<Node><NodeName>a</NodeName><Node>"
	                          "<NodeName>b</NodeName><Node><NodeName>c"
	                          "</NodeName><Node><NodeName>d</NodeName>"
	                          "</Node></Node></Node></Node>" TAIL, &err),
	                 DMSC_TNDS_LIMIT);
	ck_assert_str_eq(err.message, "line 1: deeper than 3 nodes");
	ck_assert_uint_eq(t->nodes, 0);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/b/c", &leaf), DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/b/c/d", &leaf),
	                 DMSC_TNDS_LIMIT);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/b/x/y", &leaf),
	                 DMSC_TNDS_LIMIT);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/b/d", &big), DMSC_TNDS_LIMIT);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/b/d", &leaf), DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(t, "./a/e", &leaf), DMSC_TNDS_LIMIT);
	ck_assert_uint_eq(t->nodes, 4);
	ck_assert_int_eq(dmsc_tnds_replace(t, "./a/b/d", &big),
	                 DMSC_TNDS_LIMIT);
	ck_assert_str_eq(dmsc_tnds_find(t, "./a/b/d")->value, "1234");
	dmsc_tnds_free(t);
}
END_TEST

/* ---- URIs ---- */

START_TEST(test_paths)
{
	static const struct {
		const char *in, *out;
		int rc;
		size_t depth;
	} cases[] = {
		{ ".", ".", DMSC_TNDS_OK, 0 },
		{ "./", ".", DMSC_TNDS_OK, 0 },
		{ "./A", "./A", DMSC_TNDS_OK, 1 },
		{ "A/B", "./A/B", DMSC_TNDS_OK, 2 },
		{ "./A/B/C", "./A/B/C", DMSC_TNDS_OK, 3 },
		{ "", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "./A/", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "./A//B", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "./A/../B", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "./A/./B", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "/A", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "..", NULL, DMSC_TNDS_BAD_PATH, 0 },
		{ "./A\x01", NULL, DMSC_TNDS_BAD_PATH, 0 },
	};
	char out[64], why[160];
	size_t depth;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = dmsc_tnds_path_norm(NULL, cases[i].in, out,
		                             sizeof out, &depth, why,
		                             sizeof why);

		ck_assert_msg(rc == cases[i].rc, "'%s': %d", cases[i].in, rc);
		if (rc == DMSC_TNDS_OK) {
			ck_assert_str_eq(out, cases[i].out);
			ck_assert_uint_eq(depth, cases[i].depth);
		}
	}
	ck_assert_int_eq(dmsc_tnds_path_norm(NULL, "./A/../B", out,
	                                     sizeof out, NULL, why,
	                                     sizeof why), DMSC_TNDS_BAD_PATH);
	ck_assert_str_eq(why, "the URI './A/../B' has the node name '..' "
	                 "(. and .. are not names)");
	ck_assert_int_eq(dmsc_tnds_path_norm(NULL, "./A/", out, sizeof out,
	                                     NULL, why, sizeof why),
	                 DMSC_TNDS_BAD_PATH);
	ck_assert_str_eq(why, "the URI './A/' has an empty node name (a "
	                 "trailing '/')");
	/* Depth and length. */
	{
		dmsc_tnds_limits lim = { .max_depth = 2, .max_uri = 8 };

		ck_assert_int_eq(dmsc_tnds_path_norm(&lim, "./a/b/c", out,
		                                     sizeof out, NULL, NULL,
		                                     0), DMSC_TNDS_LIMIT);
		ck_assert_int_eq(dmsc_tnds_path_norm(&lim, "./abcdefgh", out,
		                                     sizeof out, NULL, NULL,
		                                     0), DMSC_TNDS_LIMIT);
		ck_assert_int_eq(dmsc_tnds_path_norm(&lim, "./a/b", out,
		                                     sizeof out, NULL, NULL,
		                                     0), DMSC_TNDS_OK);
	}
}
END_TEST

/* ---- Changes ---- */

START_TEST(test_add_replace_delete)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	dmsc_tnds_item node = { .format = "node" };
	dmsc_tnds_item v1 = { .format = "int", .type = "text/plain",
	                      .value = "42", .value_len = 2 };
	dmsc_tnds_item v2 = { .value = "43", .value_len = 2 };
	dmsc_tnds_item bad = { .format = "node", .value = "x",
	                       .value_len = 1 };
	const dmsc_tnds_node *n;
	char uri[64];

	ck_assert_int_eq(dmsc_tnds_add(t, "./A", &node), DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(t, "./A", &node), DMSC_TNDS_EXISTS);
	ck_assert_int_eq(dmsc_tnds_add(t, ".", &node), DMSC_TNDS_EXISTS);
	ck_assert_int_eq(dmsc_tnds_add(t, "./A/B/C", &v1), DMSC_TNDS_OK);
	ck_assert(dmsc_tnds_find(t, "./A/B")->interior);
	ck_assert_int_eq(dmsc_tnds_add(t, "./A/B/C/D", &v1),
	                 DMSC_TNDS_NOT_ALLOWED);
	ck_assert_int_eq(dmsc_tnds_add(t, "./A/X", &bad),
	                 DMSC_TNDS_NOT_ALLOWED);
	ck_assert_int_eq(dmsc_tnds_add(t, "./A/../X", &v1),
	                 DMSC_TNDS_BAD_PATH);
	{
		dmsc_tnds_item ctl = { .value = "a\x01", .value_len = 2 };
		dmsc_tnds_item fmt = { .format = "a b" };
		dmsc_tnds_item nul = { .value = "a\0b", .value_len = 3 };
		/* Overlong UTF-8 (fuzz-dmcmd): xmlCheckUTF8 takes it, the
		 * XML parser does not, so the tree could not be read back. */
		dmsc_tnds_item overlong = { .value = "\xC1\xB6GEST",
		                            .value_len = 6 };

		ck_assert_int_eq(dmsc_tnds_add(t, "./A/c", &ctl),
		                 DMSC_TNDS_BAD_VALUE);
		ck_assert_int_eq(dmsc_tnds_add(t, "./A/c", &fmt),
		                 DMSC_TNDS_BAD_VALUE);
		ck_assert_int_eq(dmsc_tnds_add(t, "./A/c", &nul),
		                 DMSC_TNDS_BAD_VALUE);
		ck_assert_int_eq(dmsc_tnds_add(t, "./A/c", &overlong),
		                 DMSC_TNDS_BAD_VALUE);
		ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B/C", &overlong),
		                 DMSC_TNDS_BAD_VALUE);
		ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B/C", &ctl),
		                 DMSC_TNDS_BAD_VALUE);
	}
	ck_assert_uint_eq(t->nodes, 3);
	n = dmsc_tnds_find(t, "A/B/C");
	ck_assert_str_eq(n->value, "42");
	ck_assert_str_eq(n->prop[DMSC_TNDS_FORMAT], "int");
	ck_assert(dmsc_tnds_node_uri(n, uri, sizeof uri));
	ck_assert_str_eq(uri, "./A/B/C");
	ck_assert(!dmsc_tnds_node_uri(n, uri, 7));
	ck_assert_ptr_eq(dmsc_tnds_find_under(dmsc_tnds_find(t, "./A"), "B/C"),
	                 n);
	ck_assert_ptr_null(dmsc_tnds_find_under(&t->root, "A/X"));

	ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B/C", &v2), DMSC_TNDS_OK);
	ck_assert_str_eq(n->value, "43");
	ck_assert_str_eq(n->prop[DMSC_TNDS_FORMAT], "int");
	ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B/Z", &v2),
	                 DMSC_TNDS_NOT_FOUND);
	ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B", &v2),
	                 DMSC_TNDS_NOT_ALLOWED);
	ck_assert_int_eq(dmsc_tnds_replace(t, "./A/B/C", &node),
	                 DMSC_TNDS_NOT_ALLOWED);
	ck_assert_int_eq(dmsc_tnds_replace(t, ".", &v2),
	                 DMSC_TNDS_NOT_ALLOWED);

	ck_assert_int_eq(dmsc_tnds_delete(t, "./A/B"), DMSC_TNDS_OK);
	ck_assert_uint_eq(t->nodes, 1);
	ck_assert_ptr_null(dmsc_tnds_find(t, "./A/B/C"));
	ck_assert_int_eq(dmsc_tnds_delete(t, "./A/B"), DMSC_TNDS_NOT_FOUND);
	ck_assert_int_eq(dmsc_tnds_delete(t, "."), DMSC_TNDS_NOT_ALLOWED);
	dmsc_tnds_free(t);
}
END_TEST

START_TEST(test_clone_is_deep)
{
	size_t len;
	unsigned char *buf = read_vector("dm12-tnds.xml", &len);
	dmsc_tnds *t = dmsc_tnds_new(NULL), *c;
	char *a, *b;

	ck_assert_int_eq(dmsc_tnds_load(t, buf, len, NULL), DMSC_TNDS_OK);
	c = dmsc_tnds_clone(t);
	ck_assert_int_eq(dmsc_tnds_delete(t, "./DMAcc"), DMSC_TNDS_OK);
	ck_assert_uint_eq(t->nodes, 0);
	check_vector_tree(c);
	a = write_all(c, ".");
	dmsc_tnds_restore(t, c);
	check_vector_tree(t);
	b = write_all(t, ".");
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	free(buf);
	dmsc_tnds_free(t);
}
END_TEST

/* ---- Diff ---- */

struct seen {
	char lines[16][160];
	size_t n;
};

static void record(void *ctx, const dmsc_tnds_change *c)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n, 16);
	if (c->kind == DMSC_TNDS_CHANGED)
		snprintf(s->lines[s->n++], 160, "~ %s %s %s %s", c->uri,
		         c->what, c->a_text ? c->a_text : "-",
		         c->b_text ? c->b_text : "-");
	else
		snprintf(s->lines[s->n++], 160, "%c %s %zu",
		         c->kind == DMSC_TNDS_ONLY_A ? '-' : '+', c->uri,
		         c->below);
}

START_TEST(test_diff)
{
	dmsc_tnds *a = tree_of(HEAD
		"<Node><NodeName>M</NodeName>"
		"<Node><NodeName>same</NodeName><Value>1</Value></Node>"
		"<Node><NodeName>val</NodeName><Value>old</Value></Node>"
		"<Node><NodeName>fmt</NodeName><Value>1</Value></Node>"
		"<Node><NodeName>gone</NodeName><Node><NodeName>x</NodeName>"
		"</Node><Node><NodeName>y</NodeName></Node></Node>"
		"</Node>" TAIL);
	dmsc_tnds *b = tree_of(HEAD
		"<Node><NodeName>M</NodeName>"
		"<Node><NodeName>new</NodeName><Value>n</Value></Node>"
		"<Node><NodeName>fmt</NodeName><RTProperties><Format><int/>"
		"</Format><ACL>Get=*</ACL></RTProperties><Value>1</Value>"
		"</Node>"
		"<Node><NodeName>val</NodeName><Value>new</Value></Node>"
		"<Node><NodeName>same</NodeName><RTProperties><Format><chr/>"
		"</Format></RTProperties><Value>1</Value></Node>"
		"</Node>" TAIL);
	struct seen s = { .n = 0 };

	ck_assert_uint_eq(dmsc_tnds_diff(a, b, ".", record, &s), 5);
	ck_assert_str_eq(s.lines[0], "~ ./M/val value old new");
	ck_assert_str_eq(s.lines[1], "~ ./M/fmt ACL - Get=*");
	ck_assert_str_eq(s.lines[2], "~ ./M/fmt Format chr int");
	ck_assert_str_eq(s.lines[3], "- ./M/gone 2");
	ck_assert_str_eq(s.lines[4], "+ ./M/new 0");
	/* The same tree, the other way round, and a subtree. */
	s.n = 0;
	ck_assert_uint_eq(dmsc_tnds_diff(a, a, ".", record, &s), 0);
	ck_assert_uint_eq(dmsc_tnds_diff(a, b, "./M/same", NULL, NULL), 0);
	ck_assert_uint_eq(dmsc_tnds_diff(a, b, "./M/gone", record, &s), 1);
	ck_assert_str_eq(s.lines[0], "- ./M/gone 2");
	ck_assert_uint_eq(dmsc_tnds_diff(a, b, "./nowhere", NULL, NULL), 0);
	dmsc_tnds_free(a);
	dmsc_tnds_free(b);
}
END_TEST

static Suite *tnds_suite(void)
{
	Suite *s = suite_create("tnds");
	TCase *tc = tcase_create("tree");

	tcase_add_test(tc, test_vector_round_trip);
	tcase_add_test(tc, test_write_subtree);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_load_at);
	tcase_add_loop_test(tc, test_rules, 0,
	                    sizeof bad_cases / sizeof bad_cases[0]);
	tcase_add_test(tc, test_valid_forms);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_add_replace_delete);
	tcase_add_test(tc, test_clone_is_deep);
	tcase_add_test(tc, test_diff);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xmlInitParser();
	sr = srunner_create(tnds_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
