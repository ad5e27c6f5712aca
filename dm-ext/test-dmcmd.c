/*
 * dm-ext/test-dmcmd.c - tests of the DM command engine (dm-ext/dmcmd.c).
 *
 * Each test applies a SyncML DM message to a tree and compares the reply's
 * Status lines, written compactly as "Cmd CmdRef TargetRef Code" (one per
 * line, the SyncHdr's first), its Results, and the tree afterwards.  Every
 * status code dmcmd.h lists is produced at least once; Atomic must leave
 * the tree byte for byte as it was; malformed messages are refused with
 * their line and leave the tree unchanged.
 */
#include "dmcmd.h"
#include "wbxml-enc.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_HEAD "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr>" \
	"<VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>" \
	"<SessionID>7</SessionID><MsgID>3</MsgID>" \
	"<Target><LocURI>IMEI:1</LocURI></Target>" \
	"<Source><LocURI>https://dm.example</LocURI></Source>" \
	"</SyncHdr><SyncBody>"
#define MSG_TAIL "<Final/></SyncBody></SyncML>"
#define HDR_LINE "SyncHdr 0 IMEI:1 200\n"

#define TNDS_HEAD "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"

struct reply {
	char statuses[2048];
	char results[2048];
	char *xml;
	dmsc_dmcmd_report rep;
};

static char *text(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return (char *)xmlNodeGetContent(c);
	return NULL;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static void append(char *buf, size_t cap, const char *s)
{
	size_t l = strlen(buf);

	ck_assert_uint_lt(l + strlen(s), cap);
	strcpy(buf + l, s);
}

/* Summarise the reply; it must itself be a DM message our reader takes,
 * with MsgRef 3 and CmdIDs 1, 2, 3... */
static void summarise(struct reply *r)
{
	xmlDocPtr doc;
	dmsc_dm_kind kind;
	dmsc_dm_error err;
	xmlNodePtr body;
	unsigned id = 0;

	ck_assert_msg(dmsc_dm_parse((const unsigned char *)r->xml,
	                            strlen(r->xml), NULL, &doc, &kind, &err) ==
	              DMSC_DM_OK, "reply: %s", err.message);
	ck_assert_int_eq(kind, DMSC_DM_SYNCML12);
	body = child(xmlDocGetRootElement(doc), "SyncBody");
	r->statuses[0] = r->results[0] = '\0';
	for (xmlNodePtr c = body->children; c != NULL; c = c->next) {
		char line[512], *cmdid, *msgref;

		if (c->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)c->name, "Final") == 0)
			continue;
		cmdid = text(c, "CmdID");
		msgref = text(c, "MsgRef");
		ck_assert_uint_eq((unsigned)atoi(cmdid), ++id);
		ck_assert_str_eq(msgref, "3");
		xmlFree(cmdid);
		xmlFree(msgref);
		if (strcmp((const char *)c->name, "Status") == 0) {
			char *cmd = text(c, "Cmd"), *ref = text(c, "CmdRef");
			char *target = text(c, "TargetRef");
			char *data = text(c, "Data");

			snprintf(line, sizeof line, "%s %s %s%s%s\n", cmd, ref,
			         target != NULL ? target : "",
			         target != NULL ? " " : "", data);
			append(r->statuses, sizeof r->statuses, line);
			xmlFree(cmd);
			xmlFree(ref);
			xmlFree(target);
			xmlFree(data);
			continue;
		}
		ck_assert_str_eq((const char *)c->name, "Results");
		for (xmlNodePtr it = c->children; it != NULL; it = it->next) {
			char *uri, *fmt, *type, *data, *ref;

			if (it->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)it->name, "Item") != 0)
				continue;
			ref = text(c, "CmdRef");
			uri = text(child(it, "Source"), "LocURI");
			fmt = text(child(it, "Meta"), "Format");
			type = text(child(it, "Meta"), "Type");
			data = text(it, "Data");
			snprintf(line, sizeof line, "%s %s %s %s %s\n", ref, uri,
			         fmt, type != NULL ? type : "-", data);
			append(r->results, sizeof r->results, line);
			xmlFree(ref);
			xmlFree(uri);
			xmlFree(fmt);
			xmlFree(type);
			xmlFree(data);
		}
	}
	xmlFreeDoc(doc);
}

static void apply_opts(dmsc_tnds *t, const char *body,
                       const dmsc_dmcmd_opts *o, struct reply *r)
{
	size_t len, out_len;
	char *msg;
	dmsc_dm_error err;
	int rc;

	len = strlen(MSG_HEAD) + strlen(body) + strlen(MSG_TAIL);
	msg = malloc(len + 1);
	ck_assert_ptr_nonnull(msg);
	snprintf(msg, len + 1, "%s%s%s", MSG_HEAD, body, MSG_TAIL);
	rc = dmsc_dmcmd_apply(t, (const unsigned char *)msg, len, o, &r->xml,
	                      &out_len, &r->rep, &err);
	ck_assert_msg(rc == DMSC_DMCMD_OK, "apply: %s", err.message);
	ck_assert_uint_eq(strlen(r->xml), out_len);
	summarise(r);
	free(msg);
}

static void apply(dmsc_tnds *t, const char *body, struct reply *r)
{
	apply_opts(t, body, NULL, r);
}

static char *dump(const dmsc_tnds *t)
{
	char *out;
	size_t len;

	ck_assert_int_eq(dmsc_tnds_write(t, ".", &out, &len), DMSC_TNDS_OK);
	return out;
}

static const char *value_at(const dmsc_tnds *t, const char *uri)
{
	const dmsc_tnds_node *n = dmsc_tnds_find(t, uri);

	return n != NULL && n->value != NULL ? n->value : NULL;
}

#define ADD_NODE(id, uri) "<Add><CmdID>" id "</CmdID><Item><Target><LocURI>" \
	uri "</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">node" \
	"</Format></Meta></Item></Add>"
#define ADD_LEAF(id, uri, v) "<Add><CmdID>" id "</CmdID><Item><Target>" \
	"<LocURI>" uri "</LocURI></Target><Data>" v "</Data></Item></Add>"
#define REPLACE(id, uri, v) "<Replace><CmdID>" id "</CmdID><Item><Target>" \
	"<LocURI>" uri "</LocURI></Target><Data>" v "</Data></Item></Replace>"
#define DELETE(id, uri) "<Delete><CmdID>" id "</CmdID><Item><Target>" \
	"<LocURI>" uri "</LocURI></Target></Item></Delete>"
#define GET(id, uri) "<Get><CmdID>" id "</CmdID><Item><Target><LocURI>" \
	uri "</LocURI></Target></Item></Get>"

static void reply_free(struct reply *r)
{
	free(r->xml);
	r->xml = NULL;
}

START_TEST(test_basic_commands)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	struct reply r;

	apply(t, ADD_NODE("1", "./A")
	         "<Add><CmdID>2</CmdID><Meta><Type xmlns=\"syncml:metinf\">"
	         "text/plain</Type></Meta>"
	         "<Item><Target><LocURI>./A/x</LocURI></Target>"
	         "<Meta><Format xmlns=\"syncml:metinf\">int</Format></Meta>"
	         "<Data>1</Data></Item>"
	         "<Item><Target><LocURI>A/y</LocURI></Target><Data>two</Data>"
	         "</Item></Add>"
	         ADD_LEAF("3", "./A/x", "again")
	         REPLACE("4", "./A/y", "deux")
	         GET("5", "./A")
	         "<Get><CmdID>6</CmdID><Item><Target><LocURI>./A/x</LocURI>"
	         "</Target></Item><Item><Target><LocURI>./A/z</LocURI>"
	         "</Target></Item></Get>"
	         DELETE("7", "./A/y")
	         DELETE("8", "./A/y")
	         REPLACE("9", "./B", "x"), &r);
	ck_assert_str_eq(r.statuses, HDR_LINE
	                 "Add 1 ./A 200\n"
	                 "Add 2 ./A/x 200\n"
	                 "Add 2 A/y 200\n"
	                 "Add 3 ./A/x 418\n"
	                 "Replace 4 ./A/y 200\n"
	                 "Get 5 ./A 200\n"
	                 "Get 6 ./A/x 200\n"
	                 "Get 6 ./A/z 404\n"
	                 "Delete 7 ./A/y 200\n"
	                 "Delete 8 ./A/y 404\n"
	                 "Replace 9 ./B 404\n");
	ck_assert_str_eq(r.results, "5 ./A node - x/y\n"
	                 "6 ./A/x int text/plain 1\n");
	ck_assert_uint_eq(r.rep.commands, 11);
	ck_assert_uint_eq(r.rep.failed, 4);
	ck_assert_uint_eq(r.rep.changes, 5);
	ck_assert(!r.rep.atomic_failed);
	ck_assert_str_eq(value_at(t, "./A/x"), "1");
	ck_assert_ptr_null(dmsc_tnds_find(t, "./A/y"));
	/* The reply's header answers the server. */
	ck_assert_ptr_nonnull(strstr(r.xml, "<Target>\n      <LocURI>"
	                             "https://dm.example</LocURI>"));
	ck_assert_ptr_nonnull(strstr(r.xml, "<SourceRef>https://dm.example"
	                             "</SourceRef>"));
	ck_assert_ptr_nonnull(strstr(r.xml, "<SessionID>7</SessionID>"));
	reply_free(&r);
	dmsc_tnds_free(t);
}
END_TEST

/* 405, 406, 400, 413, 414, 415, 420 and NoResp. */
START_TEST(test_refusals)
{
	dmsc_tnds_limits lim = { .max_value = 8, .max_uri = 40,
	                         .max_nodes = 3 };
	dmsc_tnds *t = dmsc_tnds_new(&lim);
	struct reply r;

	apply(t, ADD_LEAF("1", "./L", "v")
	         ADD_LEAF("2", "./L/under", "v")
	         REPLACE("3", ".", "v")
	         DELETE("4", ".")
	         "<Replace><CmdID>5</CmdID><Item><Target><LocURI>./L</LocURI>"
	         "</Target><Meta><Format xmlns=\"syncml:metinf\">node"
	         "</Format></Meta></Item></Replace>"
	         "<Exec><CmdID>6</CmdID><Item><Target><LocURI>./L</LocURI>"
	         "</Target></Item></Exec>"
	         "<Copy><CmdID>7</CmdID></Copy>"
	         "<Alert><CmdID>8</CmdID><Data>1100</Data></Alert>"
	         GET("9", "./L?list=Struct")
	         ADD_LEAF("10", "./A/../B", "v")
	         "<Add><CmdID>11</CmdID><Item><Data>v</Data></Item></Add>"
	         "<Add><CmdID>12</CmdID></Add>"
	         ADD_LEAF("13", "./big", "123456789")
	         ADD_LEAF("14", "./aaaaaaaaaa/bbbbbbbbbb/cccccccccc/dddddddddd",
	                  "v")
	         "<Add><CmdID>15</CmdID><Item><Target><LocURI>./x</LocURI>"
	         "</Target><Data><b>no</b></Data></Item></Add>"
	         ADD_LEAF("16", "./M/N", "v")
	         ADD_LEAF("17", "./M/O", "v")
	         "<Add><CmdID>18</CmdID><NoResp/><Item><Target><LocURI>./L"
	         "</LocURI></Target><Data>v</Data></Item></Add>"
	         "<Status><CmdID>19</CmdID><MsgRef>1</MsgRef><CmdRef>1"
	         "</CmdRef><Cmd>Alert</Cmd><Data>200</Data></Status>", &r);
	ck_assert_str_eq(r.statuses, HDR_LINE
	                 "Add 1 ./L 200\n"
	                 "Add 2 ./L/under 405\n"
	                 "Replace 3 . 405\n"
	                 "Delete 4 . 405\n"
	                 "Replace 5 ./L 405\n"
	                 "Exec 6 406\n"
	                 "Copy 7 406\n"
	                 "Alert 8 406\n"
	                 "Get 9 ./L?list=Struct 406\n"
	                 "Add 10 ./A/../B 400\n"
	                 "Add 11 400\n"
	                 "Add 12 400\n"
	                 "Add 13 ./big 413\n"
	                 "Add 14 ./aaaaaaaaaa/bbbbbbbbbb/cccccccccc/dddddddddd "
	                 "414\n"
	                 "Add 15 ./x 415\n"
	                 "Add 16 ./M/N 200\n"
	                 "Add 17 ./M/O 420\n");
	ck_assert_uint_eq(r.rep.changes, 2);
	ck_assert_uint_eq(t->nodes, 3);
	reply_free(&r);
	dmsc_tnds_free(t);
}
END_TEST

START_TEST(test_atomic_rollback)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	struct reply r;
	char *before, *after;

	apply(t, ADD_LEAF("1", "./A/keep", "k"), &r);
	reply_free(&r);
	before = dump(t);
	apply(t, "<Atomic><CmdID>2</CmdID>"
	         ADD_LEAF("3", "./A/new", "n")
	         REPLACE("4", "./A/keep", "changed")
	         GET("5", "./A/keep")
	         DELETE("6", "./A/missing")
	         ADD_LEAF("7", "./A/later", "l")
	         "<Sequence><CmdID>8</CmdID>" DELETE("9", "./A/keep")
	         "</Sequence>"
	         "</Atomic>"
	         GET("10", "./A/keep"), &r);
	ck_assert_str_eq(r.statuses, HDR_LINE
	                 "Atomic 2 507\n"
	                 "Add 3 ./A/new 216\n"
	                 "Replace 4 ./A/keep 216\n"
	                 "Get 5 ./A/keep 216\n"
	                 "Delete 6 ./A/missing 404\n"
	                 "Add 7 215\n"
	                 "Sequence 8 215\n"
	                 "Get 10 ./A/keep 200\n");
	/* The Get inside the Atomic saw "changed"; its Results are gone,
	 * and the Get after it sees the value from before. */
	ck_assert_str_eq(r.results, "10 ./A/keep chr - k\n");
	ck_assert(r.rep.atomic_failed);
	ck_assert_uint_eq(r.rep.changes, 0);
	after = dump(t);
	ck_assert_str_eq(before, after);
	free(after);
	reply_free(&r);

	/* All succeed: 200 for the Atomic, changes kept. */
	apply(t, "<Atomic><CmdID>1</CmdID>" ADD_LEAF("2", "./A/new", "n")
	         REPLACE("3", "./A/keep", "changed") "</Atomic>", &r);
	ck_assert_str_eq(r.statuses, HDR_LINE "Atomic 1 200\n"
	                 "Add 2 ./A/new 200\n" "Replace 3 ./A/keep 200\n");
	ck_assert(!r.rep.atomic_failed);
	ck_assert_uint_eq(r.rep.changes, 2);
	ck_assert_str_eq(value_at(t, "./A/keep"), "changed");
	reply_free(&r);
	free(before);
	dmsc_tnds_free(t);
}
END_TEST

START_TEST(test_sequence_goes_on)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	struct reply r;

	apply(t, "<Sequence><CmdID>1</CmdID>" ADD_LEAF("2", "./S/a", "1")
	         DELETE("3", "./S/nothing") ADD_LEAF("4", "./S/b", "2")
	         "</Sequence>"
	         "<Sequence><CmdID>5</CmdID><NoResp/>"
	         ADD_LEAF("6", "./S/c", "3") "</Sequence>", &r);
	ck_assert_str_eq(r.statuses, HDR_LINE "Sequence 1 200\n"
	                 "Add 2 ./S/a 200\n" "Delete 3 ./S/nothing 404\n"
	                 "Add 4 ./S/b 200\n" "Add 6 ./S/c 200\n");
	ck_assert_str_eq(value_at(t, "./S/b"), "2");
	ck_assert_str_eq(value_at(t, "./S/c"), "3");
	reply_free(&r);
	dmsc_tnds_free(t);
}
END_TEST

START_TEST(test_roots)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	const char *roots[] = { "./DMAcc/Op", "Vendor" };
	dmsc_dmcmd_opts o = { .roots = roots, .n_roots = 2 };
	struct reply r;

	apply_opts(t, ADD_LEAF("1", "./DMAcc/Op/x", "1")
	              ADD_LEAF("2", "./DMAcc/Other/x", "1")
	              ADD_LEAF("3", "./DMAcc/Op2", "1")
	              ADD_LEAF("4", "./Vendor/y", "1")
	              GET("5", "./DevInfo/Man")
	              DELETE("6", "./DMAcc/Other"), &o, &r);
	ck_assert_str_eq(r.statuses, HDR_LINE "Add 1 ./DMAcc/Op/x 200\n"
	                 "Add 2 ./DMAcc/Other/x 404\n"
	                 "Add 3 ./DMAcc/Op2 404\n"
	                 "Add 4 ./Vendor/y 200\n"
	                 "Get 5 ./DevInfo/Man 404\n"
	                 "Delete 6 ./DMAcc/Other 404\n");
	ck_assert_uint_eq(t->nodes, 5);
	reply_free(&r);
	dmsc_tnds_free(t);
}
END_TEST

/* Binary values: b64 kept as base64, chr from WBXML decoded (the vector
 * test below); a TNDS in Data is grafted under the Target. */
START_TEST(test_tnds_in_data)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	struct reply r;

	apply(t, ADD_NODE("1", "./Vendor")
	         "<Add><CmdID>2</CmdID><Item><Target><LocURI>./Vendor"
	         "</LocURI></Target><Data>" TNDS_HEAD "<Node><NodeName>Ex"
	         "</NodeName><Node><NodeName>On</NodeName><Value>true</Value>"
	         "</Node></Node></MgmtTree></Data></Item></Add>"
	         "<Add><CmdID>3</CmdID><Item><Target><LocURI>./Vendor"
	         "</LocURI></Target><Data>" TNDS_HEAD "<Node><NodeName>Ex"
	         "</NodeName></Node></MgmtTree></Data></Item></Add>"
	         "<Add><CmdID>4</CmdID><Item><Data>" TNDS_HEAD "<Node>"
	         "<NodeName>Abs</NodeName><Path>./Vendor/Ex</Path></Node>"
	         "</MgmtTree></Data></Item></Add>"
	         "<Replace><CmdID>5</CmdID><Item><Target><LocURI>./Vendor"
	         "</LocURI></Target><Data>" TNDS_HEAD "</MgmtTree></Data>"
	         "</Item></Replace>"
	         "<Add><CmdID>6</CmdID><Item><Target><LocURI>./Nowhere"
	         "</LocURI></Target><Data>" TNDS_HEAD "</MgmtTree></Data>"
	         "</Item></Add>", &r);
	ck_assert_str_eq(r.statuses, HDR_LINE "Add 1 ./Vendor 200\n"
	                 "Add 2 ./Vendor 200\n" "Add 3 ./Vendor 418\n"
	                 "Add 4 200\n" "Replace 5 ./Vendor 406\n"
	                 "Add 6 ./Nowhere 404\n");
	ck_assert_str_eq(value_at(t, "./Vendor/Ex/On"), "true");
	ck_assert_ptr_nonnull(dmsc_tnds_find(t, "./Vendor/Ex/Abs"));
	reply_free(&r);
	dmsc_tnds_free(t);
}
END_TEST

static unsigned char *read_vector(const char *name, size_t *len)
{
	char path[1024];
	const char *src = getenv("DMSC_SRCDIR");
	FILE *f;
	unsigned char *buf;
	long size;

	snprintf(path, sizeof path, "%s/dm-ext/vectors/%s",
	         src != NULL ? src : DMSC_TOP_SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/* The bootstrap vector, XML and the WBXML libwbxml made of it (Data as
 * OPAQUE): chr values decoded, bin kept as base64; the TNDS-in-Data
 * vector gives the same tree from both. */
START_TEST(test_bootstrap_vectors)
{
	static const char *const names[] = { "dm12-bootstrap.xml",
	                                     "dm12-bootstrap.wbxml",
	                                     "dm12-tnds-in-data.xml",
	                                     "dm12-tnds-in-data.wbxml" };
	char *first[2] = { NULL, NULL };

	for (size_t i = 0; i < 4; i++) {
		size_t len, out_len;
		unsigned char *buf = read_vector(names[i], &len);
		dmsc_tnds *t = dmsc_tnds_new(NULL);
		dmsc_dmcmd_report rep;
		dmsc_dm_error err;
		char *out, *tree;
		dmsc_dmcmd_opts boot = { .replace_adds = true };

		ck_assert_msg(dmsc_dmcmd_apply(t, buf, len, &boot, &out,
		                               &out_len, &rep, &err) ==
		              DMSC_DMCMD_OK, "%s: %s", names[i], err.message);
		ck_assert_uint_eq(rep.failed, 0);
		tree = dump(t);
		if (i < 2) {
			ck_assert_uint_eq(rep.changes, 7);
			ck_assert_str_eq(value_at(t, "./DMAcc/ExampleDM/"
			                          "ServerID"), "com.example.dm");
			ck_assert_str_eq(value_at(t, "./DMAcc/ExampleDM/"
			                          "AppAddr/SrvAddr/Addr"),
			                 "https://dm.example.com/manage");
			/* libwbxml put the characters of the bin Data into
			 * an OPAQUE, which holds the bytes themselves under
			 * bin (dm-ext/CANON.md): the WBXML's secret is
			 * another one. */
			ck_assert_str_eq(value_at(t, "./DMAcc/ExampleDM/AppAuth/"
			                          "Srv/AAuthSecret"),
			                 i == 0 ? "c2VjcmV0" : "YzJWamNtVjA=");
			ck_assert_str_eq(value_at(t, "./Con/Example/NAP/Addr"),
			                 "internet.example");
		} else {
			ck_assert_str_eq(value_at(t, "./Vendor/Example/"
			                          "Enabled"), "true");
		}
		if (first[i / 2] == NULL)
			first[i / 2] = tree;
		else if (i == 1) {
			free(tree); /* the secret differs, see above */
		} else {
			ck_assert_str_eq(first[i / 2], tree);
			free(tree);
		}
		free(out);
		free(buf);
		dmsc_tnds_free(t);
	}
	free(first[0]);
	free(first[1]);
}
END_TEST

static const struct bad_msg {
	const char *msg;
	const char *message;
} bad_msgs[] = {
	{ MSG_HEAD "\n<Add><Item/></Add>" MSG_TAIL,
	  "line 2: <Add> has no <CmdID> (every command needs one, RepPro "
	  "6.5)" },
	{ MSG_HEAD "<Atomic><CmdID>1</CmdID>\n\n" ADD_LEAF("2", "./a", "1")
	  "<Replace/></Atomic>" MSG_TAIL,
	  "line 3: <Replace> has no <CmdID> (every command needs one, RepPro "
	  "6.5)" },
	{ "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>"
	  "</SyncHdr><SyncBody/></SyncML>", "line 1: <SyncHdr> has no "
	  "<MsgID> (RepPro 6.1.13): the reply could not refer to it" },
	{ "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody/></SyncML>",
	  "line 1: a SyncML message needs <SyncHdr> and <SyncBody> (RepPro "
	  "6.1)" },
	{ TNDS_HEAD "</MgmtTree>", "line 1: expected a SyncML DM message "
	  "(<SyncML xmlns=\"SYNCML:SYNCML1.2\">), not a TNDS document" },
	{ MSG_HEAD ADD_LEAF("1", "./a", "1"), NULL },
	{ "not xml", NULL },
};

START_TEST(test_malformed)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	struct reply r;
	char *before, *after, *out = (char *)"x";
	size_t out_len = 1;
	dmsc_dm_error err;
	const struct bad_msg *b = &bad_msgs[_i];

	apply(t, ADD_LEAF("1", "./keep", "k"), &r);
	reply_free(&r);
	before = dump(t);
	ck_assert_int_eq(dmsc_dmcmd_apply(t, (const unsigned char *)b->msg,
	                                  strlen(b->msg), NULL, &out,
	                                  &out_len, NULL, &err),
	                 DMSC_DMCMD_MALFORMED);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(out_len, 0);
	if (b->message != NULL)
		ck_assert_str_eq(err.message, b->message);
	else
		ck_assert_uint_gt(strlen(err.message), 0);
	after = dump(t);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	dmsc_tnds_free(t);
}
END_TEST

/* Found by fuzz-dmcmd: a WBXML OPAQUE value holding an overlong UTF-8 form
 * (C1 B6), which libxml2's xmlCheckUTF8 takes, went into the tree, and the
 * tree's TNDS then did not parse back.  The message is encoded by our WBXML
 * encoder with a six-letter STR_I (03 "QQQQQQ" 00) in ./V's Data, and that
 * is patched into an OPAQUE of the same length (C3 06 C1 B6 "GEST"). */
START_TEST(test_opaque_overlong_utf8)
{
	static const unsigned char str_i[] = { 0x03, 'Q', 'Q', 'Q', 'Q', 'Q',
	                                       'Q', 0x00 };
	static const unsigned char opaque[] = { 0xC3, 0x06, 0xC1, 0xB6, 'G',
	                                        'E', 'S', 'T' };
	static const char xml[] = MSG_HEAD ADD_LEAF("1", "./V", "QQQQQQ")
		ADD_LEAF("2", "./W", "ok") MSG_TAIL;
	dmsc_tnds *t = dmsc_tnds_new(NULL), *back = dmsc_tnds_new(NULL);
	xmlDocPtr doc = xmlReadMemory(xml, sizeof xml - 1, NULL, NULL,
	                              XML_PARSE_NONET);
	unsigned char *wb;
	size_t wb_len, found = 0, out_len;
	char *tree;
	struct reply r;
	dmsc_dm_error err;

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(dmsc_wbxml_encode(doc, &wb, &wb_len, NULL),
	                 DMSC_WBXML_ENC_OK);
	xmlFreeDoc(doc);
	for (size_t i = 0; i + sizeof str_i <= wb_len; i++)
		if (memcmp(wb + i, str_i, sizeof str_i) == 0) {
			memcpy(wb + i, opaque, sizeof opaque);
			found++;
		}
	ck_assert_uint_eq(found, 1);
	ck_assert_int_eq(dmsc_dmcmd_apply(t, wb, wb_len, NULL, &r.xml,
	                                  &out_len, &r.rep, &err),
	                 DMSC_DMCMD_OK);
	summarise(&r);
	ck_assert_str_eq(r.statuses, HDR_LINE "Add 1 ./V 400\nAdd 2 ./W 200\n");
	ck_assert_ptr_null(dmsc_tnds_find(t, "./V"));
	ck_assert_str_eq(value_at(t, "./W"), "ok");
	tree = dump(t);
	ck_assert_int_eq(dmsc_tnds_load(back, (const unsigned char *)tree,
	                                strlen(tree), &err), DMSC_TNDS_OK);
	free(tree);
	free(wb);
	reply_free(&r);
	dmsc_tnds_free(back);
	dmsc_tnds_free(t);
}
END_TEST

static Suite *dmcmd_suite(void)
{
	Suite *s = suite_create("dmcmd");
	TCase *tc = tcase_create("commands");

	tcase_add_test(tc, test_basic_commands);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_atomic_rollback);
	tcase_add_test(tc, test_sequence_goes_on);
	tcase_add_test(tc, test_roots);
	tcase_add_test(tc, test_tnds_in_data);
	tcase_add_test(tc, test_bootstrap_vectors);
	tcase_add_test(tc, test_opaque_overlong_utf8);
	tcase_add_loop_test(tc, test_malformed, 0,
	                    sizeof bad_msgs / sizeof bad_msgs[0]);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xmlInitParser();
	sr = srunner_create(dmcmd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
