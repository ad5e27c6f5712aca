/*
 * dm-ext/test-canon.c - tests of the DM message reader (dmmsg.c) and the
 * canonical form (canon.c), against dm-ext/CANON.md.
 *
 * Vector groups (dm-ext/vectors/canon/, made as its README says): every
 * member of a group gives the group's committed .c14n byte for byte.  The
 * WBXML/XML pairs of dm-ext/vectors/ agree too.  Then the rules one by one
 * with small inline messages, streaming against one-shot, and every error
 * path, including that nothing is ever loaded from outside the message.
 * Run under valgrind with CK_FORK=no.
 */
#include "base64.h"
#include "canon.h"
#include "dmmsg.h"

#include <check.h>
#include <dirent.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DMSC_DMEXT_VECTORS
#define DMSC_DMEXT_VECTORS "dm-ext/vectors"
#endif

/* WBXML: SyncML 1.2 header and the tokens used below (_C: with content). */
#define HDR_SYNCML12 0x03, 0xA4, 0x01, 0x6A, 0x00
#define HDR_METINF12 0x03, 0xA4, 0x02, 0x6A, 0x00
#define T_SYNCML_C 0x6D
#define T_SYNCBODY_C 0x6B
#define T_REPLACE_C 0x60
#define T_CMDID_C 0x4B
#define T_ITEM_C 0x54
#define T_ATOMIC_C 0x48
#define T_META_C 0x5A
#define T_DATA_C 0x4F
#define T_LOCURI_C 0x57
#define T_FINAL 0x12
#define M_FORMAT_C 0x47
#define M_MAXMSGSIZE_C 0x4C
#define STR_I 0x03
#define OPAQUE 0xC3
#define END 0x01

static const char ddf_public_id[] = "-//OMA//DTD-DM-DDF 1.2//EN";

/* ---- Helpers ---- */

struct bytes {
	unsigned char *data;
	size_t len;
	size_t cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		ck_assert_ptr_nonnull(b->data);
	}
	if (n != 0)
		memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = 0;   /* printable as a string */
}

static void put_u8(struct bytes *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(b, &c, 1);
}

static void put_str(struct bytes *b, const char *s)
{
	put(b, s, strlen(s));
}

static const char *vector_path(const char *name, char *buf, size_t len)
{
	const char *src = getenv("DMSC_SRCDIR");

	if (src != NULL)
		snprintf(buf, len, "%s/dm-ext/vectors/%s", src, name);
	else
		snprintf(buf, len, "%s/%s", DMSC_DMEXT_VECTORS, name);
	return buf;
}

static unsigned char *read_vector(const char *name, size_t *len)
{
	char path[1024];
	FILE *f = fopen(vector_path(name, path, sizeof path), "rb");
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
	buf[size] = 0;
	*len = (size_t)size;
	return buf;
}

/* A sink collecting the output; stop_at > 0 makes call number stop_at
 * fail. */
struct collect {
	struct bytes out;
	int calls;
	int stop_at;
};

static int collect_sink(void *ctx, const unsigned char *data, size_t len)
{
	struct collect *c = ctx;

	ck_assert_uint_gt(len, 0);
	if (++c->calls == c->stop_at)
		return -1;
	put(&c->out, data, len);
	return 0;
}

static void collect_free(struct collect *c)
{
	free(c->out.data);
	memset(c, 0, sizeof *c);
}

/* Canonicalise; the status and output (NUL-terminated, caller frees). */
static int canon_sel_lim(const void *buf, size_t len,
                         const dmsc_canon_select *sel,
                         const dmsc_dm_limits *lim, struct collect *out,
                         dmsc_dm_error *err)
{
	memset(out, 0, sizeof *out);
	put(&out->out, "", 0);
	return dmsc_canon_limits(buf, len, lim, sel, collect_sink, out, err);
}

/* Canonicalise a string that must succeed; returns the output. */
static char *canon_ok_sel(const char *doc, const dmsc_canon_select *sel)
{
	struct collect c;
	dmsc_dm_error err;
	int rc = canon_sel_lim(doc, strlen(doc), sel, NULL, &c, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "canon failed (%d) at %zu line %d: %s",
	              rc, err.offset, err.line, err.message);
	return (char *)c.out.data;
}

static char *canon_ok(const char *doc)
{
	return canon_ok_sel(doc, NULL);
}

static char *canon_bytes_ok(const struct bytes *b)
{
	struct collect c;
	dmsc_dm_error err;
	int rc = canon_sel_lim(b->data, b->len, NULL, NULL, &c, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "canon failed (%d) at %zu: %s", rc,
	              err.offset, err.message);
	return (char *)c.out.data;
}

/* Canonicalising must fail with this status, saying this, writing
 * nothing; returns the error for more checks. */
static dmsc_dm_error expect_fail_lim(const void *buf, size_t len,
                                     const dmsc_canon_select *sel,
                                     const dmsc_dm_limits *lim, int status,
                                     const char *says)
{
	struct collect c;
	dmsc_dm_error err;
	int rc = canon_sel_lim(buf, len, sel, lim, &c, &err);

	ck_assert_msg(rc == status, "status %d, expected %d (%s)", rc, status,
	              err.message);
	ck_assert_msg(strstr(err.message, says) != NULL,
	              "message \"%s\" does not say \"%s\"", err.message, says);
	ck_assert_uint_eq(c.out.len, 0);
	ck_assert_int_eq(c.calls, 0);
	collect_free(&c);
	return err;
}

static dmsc_dm_error expect_fail(const char *doc, int status,
                                 const char *says)
{
	return expect_fail_lim(doc, strlen(doc), NULL, NULL, status, says);
}

static void assert_canon(const char *doc, const char *want)
{
	char *got = canon_ok(doc);

	ck_assert_str_eq(got, want);
	free(got);
}

/* Two inputs with the same canonical form. */
static void assert_same(const char *a, const char *b)
{
	char *ca = canon_ok(a), *cb = canon_ok(b);

	ck_assert_str_eq(ca, cb);
	free(ca);
	free(cb);
}

/* ---- A SyncML message with one Data, as XML or WBXML ---- */

#define MSG_HEAD "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody><Replace>" \
	"<CmdID>1</CmdID><Item>"
#define MSG_TAIL "</Item></Replace></SyncBody></SyncML>"
#define META(f) "<Meta><Format xmlns=\"syncml:metinf\">" f "</Format></Meta>"

/* WBXML of MSG_HEAD [META(format)] <Data>payload</Data> MSG_TAIL, the
 * payload as OPAQUE or as STR_I. */
static void wbxml_data(struct bytes *b, const char *format,
                       const void *payload, size_t n, bool opaque)
{
	static const unsigned char head[] = {
		HDR_SYNCML12, T_SYNCML_C, T_SYNCBODY_C, T_REPLACE_C,
		T_CMDID_C, STR_I, '1', 0x00, END, T_ITEM_C,
	};

	b->len = 0;
	put(b, head, sizeof head);
	if (format != NULL) {
		put_u8(b, T_META_C);
		put_u8(b, 0x00);
		put_u8(b, 0x01);
		put_u8(b, M_FORMAT_C);
		put_u8(b, STR_I);
		put(b, format, strlen(format) + 1);
		put_u8(b, END);
		put_u8(b, 0x00);
		put_u8(b, 0x00);
		put_u8(b, END);
	}
	put_u8(b, T_DATA_C);
	if (opaque) {
		ck_assert_uint_lt(n, 0x80);
		put_u8(b, OPAQUE);
		put_u8(b, (unsigned)n);
		put(b, payload, n);
	} else {
		put_u8(b, STR_I);
		put(b, payload, n);
		put_u8(b, 0x00);
	}
	put_u8(b, END);
	put_u8(b, END);  /* Item */
	put_u8(b, END);  /* Replace */
	put_u8(b, END);  /* SyncBody */
	put_u8(b, END);  /* SyncML */
}

/* WBXML that must canonicalise to want. */
static void got_is(const struct bytes *b, const char *want)
{
	char *got = canon_bytes_ok(b);

	ck_assert_str_eq(got, want);
	free(got);
}

/* ---- Vector groups ---- */

static const struct group {
	const char *c14n;
	const char *inputs[8];
} groups[] = {
	{ "canon/replace.c14n", {
		"canon/replace.pretty.xml", "canon/replace.compact.xml",
		"canon/replace.attrs.xml", "canon/replace.latin1.xml",
		"canon/replace.comment.xml", "canon/replace.crlf.xml",
		"canon/replace.wbxml", NULL } },
	{ "canon/binary.c14n", {
		"canon/binary.xml", "canon/binary.compact.xml",
		"canon/binary.bin.xml", "canon/binary.b64.wbxml",
		"canon/binary.bin.wbxml", NULL } },
	{ "canon/attrs.c14n", {
		"canon/attrs.a.xml", "canon/attrs.b.xml", "canon/attrs.wbxml",
		NULL } },
	{ "canon/tnds.c14n", {
		"canon/tnds.xml", "canon/tnds.compact.xml", "canon/tnds.wbxml",
		NULL } },
	{ "canon/inherit.c14n", {
		"canon/inherit.xml", "canon/inherit.compact.xml",
		"canon/inherit.bin.xml", "canon/inherit.b64.wbxml",
		"canon/inherit.bin.wbxml", NULL } },
};
#define GROUP_COUNT ((int)(sizeof groups / sizeof groups[0]))

static void check_file(const char *input, const dmsc_canon_select *sel,
                       const char *expected)
{
	size_t len, want_len;
	unsigned char *buf = read_vector(input, &len);
	unsigned char *want = read_vector(expected, &want_len);
	struct collect c;
	dmsc_dm_error err;
	int rc = canon_sel_lim(buf, len, sel, NULL, &c, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "%s: failed (%d): %s", input, rc,
	              err.message);
	ck_assert_msg(c.out.len == want_len &&
	              memcmp(c.out.data, want, want_len) == 0,
	              "%s: canonical form differs from %s:\n%s", input,
	              expected, (char *)c.out.data);
	collect_free(&c);
	free(buf);
	free(want);
}

START_TEST(test_group)
{
	const struct group *g = &groups[_i];
	int n = 0;

	for (const char *const *in = g->inputs; *in != NULL; in++, n++)
		check_file(*in, NULL, g->c14n);
	ck_assert_int_ge(n, 3);
}
END_TEST

/* The detection sees what each vector is. */
START_TEST(test_group_detect)
{
	for (int g = 0; g < GROUP_COUNT; g++) {
		for (const char *const *in = groups[g].inputs; *in != NULL; in++) {
			size_t len;
			unsigned char *buf = read_vector(*in, &len);
			dmsc_dm_repr want = strstr(*in, ".wbxml") != NULL ?
			                    DMSC_DM_WBXML : DMSC_DM_XML;

			ck_assert_int_eq(dmsc_dm_detect(buf, len), want);
			free(buf);
		}
	}
}
END_TEST

/* dm-ext/vectors: each XML and the WBXML libwbxml made of it agree. */
static const struct {
	const char *xml, *wbxml;
} pairs[] = {
	{ "dm12-replace.xml", "dm12-replace.wbxml" },
	{ "dm12-replace.xml", "dm12-replace.v11.wbxml" },
	{ "dm12-commands.xml", "dm12-commands.wbxml" },
	{ "dm12-tnds.xml", "dm12-tnds.wbxml" },
	{ "dm12-tnds-in-data.xml", "dm12-tnds-in-data.wbxml" },
	{ "dm11-replace.xml", "dm11-replace.wbxml" },
	{ "all-tags-syncml12.xml", "all-tags-syncml12.wbxml" },
	{ "all-tags-syncml11.xml", "all-tags-syncml11.wbxml" },
	{ "all-tags-dmddf12.xml", "all-tags-dmddf12.wbxml" },
};
#define PAIR_COUNT ((int)(sizeof pairs / sizeof pairs[0]))

static char *canon_file(const char *name)
{
	size_t len;
	unsigned char *buf = read_vector(name, &len);
	struct collect c;
	dmsc_dm_error err;
	int rc = canon_sel_lim(buf, len, NULL, NULL, &c, &err);

	ck_assert_msg(rc == DMSC_DM_OK, "%s: failed (%d): %s", name, rc,
	              err.message);
	free(buf);
	return (char *)c.out.data;
}

START_TEST(test_wbxml_pairs)
{
	char *x = canon_file(pairs[_i].xml), *w = canon_file(pairs[_i].wbxml);

	ck_assert_str_eq(x, w);
	free(x);
	free(w);
}
END_TEST

/* The one pair that must differ: dm12-bootstrap.xml has Format bin with
 * text "c2VjcmV0" (base64 of "secret", text being base64 under bin), and
 * libwbxml copied the text into an OPAQUE, which under bin holds the bytes
 * themselves: "c2VjcmV0" as bytes.  Two messages, two canonical forms. */
START_TEST(test_bootstrap_bin_from_libwbxml)
{
	char *x = canon_file("dm12-bootstrap.xml");
	char *w = canon_file("dm12-bootstrap.wbxml");
	char *w12 = canon_file("dm12-bootstrap.v12.wbxml");
	const char *meta = "<Meta><Format xmlns=\"syncml:metinf\">b64</Format>"
	                   "</Meta>";
	char want_x[128], want_w[128];

	snprintf(want_x, sizeof want_x, "%s<Data>c2VjcmV0</Data>", meta);
	snprintf(want_w, sizeof want_w, "%s<Data>YzJWamNtVjA=</Data>", meta);
	ck_assert_ptr_nonnull(strstr(x, want_x));
	ck_assert_ptr_nonnull(strstr(w, want_w));
	ck_assert_str_eq(w, w12);
	free(x);
	free(w);
	free(w12);
}
END_TEST

/* ---- Unit selection ---- */

START_TEST(test_select_syncbody_and_cmdid)
{
	static const char *const inputs[] = {
		"canon/replace.pretty.xml", "canon/replace.wbxml",
		"canon/replace.comment.xml",
	};
	dmsc_canon_select body = { DMSC_CANON_SYNCBODY, NULL };
	dmsc_canon_select cmd4 = { DMSC_CANON_CMDID, "4" };
	dmsc_canon_select whole = { DMSC_CANON_MESSAGE, "ignored" };

	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		check_file(inputs[i], &body, "canon/replace.syncbody.c14n");
		check_file(inputs[i], &cmd4, "canon/replace.cmdid-4.c14n");
		check_file(inputs[i], &whole, "canon/replace.c14n");
	}
}
END_TEST

START_TEST(test_select_commands)
{
	static const char msg[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2' xmlns:m='syncml:metinf'>"
		"<SyncHdr><MsgID>1</MsgID></SyncHdr><SyncBody>"
		"<Status><CmdID>1</CmdID><Data>200</Data></Status>"
		"<Sequence><CmdID>2</CmdID>"
		" <Atomic><CmdID>3</CmdID>"
		"  <Add><CmdID> 4 </CmdID><Meta><m:Type>t</m:Type></Meta></Add>"
		" </Atomic>"
		"</Sequence>"
		"<Get><CmdID>5</CmdID></Get><Final/></SyncBody></SyncML>";
	dmsc_canon_select sel = { DMSC_CANON_CMDID, "1" };
	char *out;

	out = canon_ok_sel(msg, &sel);
	ck_assert_str_eq(out, "<Status xmlns=\"SYNCML:SYNCML1.2\"><CmdID>1"
	                 "</CmdID><Data>200</Data></Status>");
	free(out);
	/* Inside Sequence/Atomic; CmdID text compared without the blanks
	 * around it; the prefix the unit uses is declared on it. */
	sel.cmdid = "4";
	out = canon_ok_sel(msg, &sel);
	ck_assert_str_eq(out, "<Add xmlns=\"SYNCML:SYNCML1.2\"><CmdID> 4 "
	                 "</CmdID><Meta><m:Type xmlns:m=\"syncml:metinf\">t"
	                 "</m:Type></Meta></Add>");
	free(out);
	/* A container is a unit too, with what it holds. */
	sel.cmdid = "3";
	out = canon_ok_sel(msg, &sel);
	ck_assert_str_eq(out, "<Atomic xmlns=\"SYNCML:SYNCML1.2\"><CmdID>3"
	                 "</CmdID><Add><CmdID> 4 </CmdID><Meta><m:Type "
	                 "xmlns:m=\"syncml:metinf\">t</m:Type></Meta></Add>"
	                 "</Atomic>");
	free(out);
	sel.cmdid = "5";
	out = canon_ok_sel(msg, &sel);
	ck_assert_str_eq(out, "<Get xmlns=\"SYNCML:SYNCML1.2\"><CmdID>5</CmdID>"
	                 "</Get>");
	free(out);
}
END_TEST

START_TEST(test_select_errors)
{
	static const char msg[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><CmdID>9</CmdID>"
		"</SyncHdr><SyncBody><Get><CmdID>1</CmdID></Get>"
		"<Atomic><CmdID>2</CmdID><Get><CmdID>1</CmdID></Get></Atomic>"
		"<Replace><Item><CmdID>7</CmdID></Item></Replace>"
		"</SyncBody></SyncML>";
	static const char tnds[] = "<MgmtTree xmlns='syncml:dmddf1.2'/>";
	static const char nobody[] = "<SyncML xmlns='SYNCML:SYNCML1.1'/>";
	dmsc_canon_select sel = { DMSC_CANON_CMDID, "8" };
	dmsc_canon_select body = { DMSC_CANON_SYNCBODY, NULL };
	dmsc_dm_error err;

	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_NOT_FOUND,
	                "no command with CmdID \"8\"");
	/* Only commands of the SyncBody count: not the header, not an Item. */
	sel.cmdid = "9";
	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_NOT_FOUND,
	                "no command with CmdID \"9\"");
	sel.cmdid = "7";
	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_NOT_FOUND,
	                "no command with CmdID \"7\"");
	/* Two commands with one CmdID: which one would a signature cover? */
	sel.cmdid = "1";
	err = expect_fail_lim(msg, strlen(msg), &sel, NULL,
	                      DMSC_DM_UNSUPPORTED, "names 2 commands");
	ck_assert_ptr_nonnull(strstr(err.message, "/SyncML/SyncBody/Get"));
	sel.cmdid = "";
	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_BAD_ARGS,
	                "no CmdID given");
	sel.cmdid = NULL;
	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_BAD_ARGS,
	                "no CmdID given");
	sel.unit = (dmsc_canon_unit)7;
	expect_fail_lim(msg, strlen(msg), &sel, NULL, DMSC_DM_BAD_ARGS,
	                "unknown unit");
	expect_fail_lim(tnds, strlen(tnds), &body, NULL, DMSC_DM_NOT_FOUND,
	                "(<MgmtTree>) has none");
	expect_fail_lim(nobody, strlen(nobody), &body, NULL, DMSC_DM_NOT_FOUND,
	                "<SyncBody>");
}
END_TEST

/* ---- The rules ---- */

START_TEST(test_whitespace)
{
	/* Whitespace-only text between elements goes; a text-only element
	 * keeps its text, blanks and all; mixed content keeps its words. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'>\n\t<A> </A>\r\n"
	             "  <B>  x \n</B> <C><D/> <E/>\n</C><F>a <G/> <H/> b</F>"
	             "</SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><A> </A><B>  x \n</B>"
	             "<C><D></D><E></E></C><F>a <G></G><H></H> b</F></SyncML>");
	/* Carriage returns: XML line ends are LF, a CR kept by a character
	 * reference is escaped. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><A>a\r\nb&#xD;</A>"
	             "</SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><A>a\nb&#xD;</A>"
	             "</SyncML>");
}
END_TEST

START_TEST(test_comments_pi_cdata)
{
	assert_same("<?xml version='1.0'?>\n<!-- c --><?pi a?>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'><A>x<!-- c -->y<?p?>z"
	            "<![CDATA[<&>]]></A> <!-- c --> <B/></SyncML><!-- c -->",
	            "<SyncML xmlns='SYNCML:SYNCML1.2'><A>xyz&lt;&amp;&gt;</A>"
	            "<B/></SyncML>");
	/* A comment between blanks: the blanks meet and go together. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><A> <!--x--> <B/></A>"
	             "</SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><A><B></B></A>"
	             "</SyncML>");
}
END_TEST

START_TEST(test_namespaces)
{
	/* Declarations nobody uses go; the one in use goes where it is
	 * used; an element out of the default namespace says so. */
	assert_canon("<SyncML xmlns:x='urn:x' xmlns='SYNCML:SYNCML1.2' "
	             "xmlns:m='syncml:metinf'><Meta><m:Type>t</m:Type>"
	             "<Format xmlns='syncml:metinf'>chr</Format></Meta>"
	             "<N xmlns=''>n</N></SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Meta><m:Type "
	             "xmlns:m=\"syncml:metinf\">t</m:Type><Format "
	             "xmlns=\"syncml:metinf\">chr</Format></Meta><N xmlns=\"\">"
	             "n</N></SyncML>");
	/* Encoding declarations and a byte-order mark do not matter. */
	assert_same("\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8' "
	            "standalone='yes'?><SyncML xmlns='SYNCML:SYNCML1.2'>"
	            "<A>\xC3\xA9</A></SyncML>",
	            "<?xml version='1.0' encoding='ISO-8859-1'?>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'><A>\xE9</A></SyncML>");
}
END_TEST

START_TEST(test_b64_normalised)
{
	/* Line breaks and blanks anywhere in base64 text do not matter,
	 * nor do the unused bits of the last character. */
	assert_canon(MSG_HEAD META("b64") "<Data>\n  QU\tJD\r\n  RA= =\n"
	             "</Data>" MSG_TAIL,
	             MSG_HEAD META("b64") "<Data>QUJDRA==</Data>" MSG_TAIL);
	assert_same(MSG_HEAD META("b64") "<Data>QR==</Data>" MSG_TAIL,
	            MSG_HEAD META("b64") "<Data>QQ==</Data>" MSG_TAIL);
	/* Empty, and blanks only: no bytes. */
	assert_canon(MSG_HEAD META("b64") "<Data>  \n </Data>" MSG_TAIL,
	             MSG_HEAD META("b64") "<Data></Data>" MSG_TAIL);
	assert_canon(MSG_HEAD META("b64") "<Data/>" MSG_TAIL,
	             MSG_HEAD META("b64") "<Data></Data>" MSG_TAIL);
	/* chr (the default) keeps base64-looking text as it is. */
	assert_canon(MSG_HEAD "<Data> QR== </Data>" MSG_TAIL,
	             MSG_HEAD "<Data> QR== </Data>" MSG_TAIL);
}
END_TEST

/* Format bin and b64 both say binary: text is base64 under both, and the
 * canonical Format is b64. */
START_TEST(test_bin_is_b64)
{
	assert_canon(MSG_HEAD META(" bin ") "<Data>QUJD\nRA==</Data>" MSG_TAIL,
	             MSG_HEAD META("b64") "<Data>QUJDRA==</Data>" MSG_TAIL);
	/* Meta Format without the MetInf namespace, and inside MetInf. */
	assert_canon(MSG_HEAD "<Meta><Format>bin</Format></Meta><Data>QUJD"
	             "</Data>" MSG_TAIL,
	             MSG_HEAD "<Meta><Format>b64</Format></Meta><Data>QUJD"
	             "</Data>" MSG_TAIL);
	assert_canon(MSG_HEAD "<Meta><MetInf xmlns='syncml:metinf'><Format>"
	             "bin</Format></MetInf></Meta><Data>QU JD</Data>" MSG_TAIL,
	             MSG_HEAD "<Meta><MetInf xmlns=\"syncml:metinf\"><Format>"
	             "b64</Format></MetInf></Meta><Data>QUJD</Data>" MSG_TAIL);
	/* A bin Format that no Data was read in keeps its text. */
	assert_canon(MSG_HEAD META("bin") MSG_TAIL, MSG_HEAD META("bin")
	             MSG_TAIL);
	/* Not a Meta Format: left alone. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><Format>bin</Format>"
	             "</SyncML>", "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Format>"
	             "bin</Format></SyncML>");
}
END_TEST

/* Which Meta applies: the Item's, else the command's; chr by default. */
START_TEST(test_which_meta)
{
	static const char command_meta[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody><Replace>"
		"<CmdID>1</CmdID><Meta><Format xmlns='syncml:metinf'>b64"
		"</Format></Meta>"
		"<Item><Data>QU\nJD</Data></Item>"
		"<Item><Meta><Format xmlns='syncml:metinf'>chr</Format></Meta>"
		"<Data>QU\nJD</Data></Item>"
		"</Replace><Status><CmdID>2</CmdID><Data> QU JD </Data></Status>"
		"<Alert><CmdID>3</CmdID><Meta><Format xmlns='syncml:metinf'>b64"
		"</Format></Meta><Data>QU JD</Data></Alert>"
		"</SyncBody></SyncML>";
	static const char want[] =
		"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody><Replace>"
		"<CmdID>1</CmdID><Meta><Format xmlns=\"syncml:metinf\">b64"
		"</Format></Meta>"
		"<Item><Data>QUJD</Data></Item>"
		"<Item><Meta><Format xmlns=\"syncml:metinf\">chr</Format></Meta>"
		"<Data>QU\nJD</Data></Item>"
		"</Replace><Status><CmdID>2</CmdID><Data> QU JD </Data></Status>"
		"<Alert><CmdID>3</CmdID><Meta><Format xmlns=\"syncml:metinf\">b64"
		"</Format></Meta><Data>QUJD</Data></Alert>"
		"</SyncBody></SyncML>";

	assert_canon(command_meta, want);
}
END_TEST

/* Only a Format that decided how some Data was read becomes b64: the one
 * a Data's holder (its Item, else the command) has first.  Any other keeps
 * "bin": as read, it said nothing about any bytes, and b64 there would
 * claim that the Data under it had been read as base64. */
START_TEST(test_bin_rewrite_where_read)
{
	/* Atomic's Meta is not the Format of the commands in it (nor is the
	 * SyncHdr's): both stay bin, the Data is chr. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr>" META("bin")
	             "</SyncHdr><SyncBody><Atomic><CmdID>1</CmdID>" META("bin")
	             "<Replace><CmdID>2</CmdID><Item><Data>QU JD</Data></Item>"
	             "</Replace></Atomic></SyncBody></SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr>" META("bin")
	             "</SyncHdr><SyncBody><Atomic><CmdID>1</CmdID>" META("bin")
	             "<Replace><CmdID>2</CmdID><Item><Data>QU JD</Data></Item>"
	             "</Replace></Atomic></SyncBody></SyncML>");
	/* The second Format of a Meta is not read. */
	assert_canon(MSG_HEAD "<Meta><Format xmlns='syncml:metinf'>b64</Format>"
	             "<Format xmlns='syncml:metinf'>bin</Format></Meta>"
	             "<Data>QU JD</Data>" MSG_TAIL,
	             MSG_HEAD "<Meta><Format xmlns=\"syncml:metinf\">b64</Format>"
	             "<Format xmlns=\"syncml:metinf\">bin</Format></Meta>"
	             "<Data>QUJD</Data>" MSG_TAIL);
	/* A command's bin: b64 once an Item without a Format of its own
	 * (a Meta with only a Type has none) was read in it; kept if every
	 * Item has its own. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody>"
	             "<Replace><CmdID>1</CmdID>" META("bin")
	             "<Item><Meta><Type xmlns='syncml:metinf'>t</Type></Meta>"
	             "<Data>QU JD</Data></Item>"
	             "<Item>" META("chr") "<Data>QU JD</Data></Item></Replace>"
	             "<Add><CmdID>2</CmdID>" META("bin")
	             "<Item>" META("chr") "<Data>QU JD</Data></Item></Add>"
	             "</SyncBody></SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody>"
	             "<Replace><CmdID>1</CmdID>" META("b64")
	             "<Item><Meta><Type xmlns=\"syncml:metinf\">t</Type></Meta>"
	             "<Data>QUJD</Data></Item>"
	             "<Item>" META("chr") "<Data>QU JD</Data></Item></Replace>"
	             "<Add><CmdID>2</CmdID>" META("bin")
	             "<Item>" META("chr") "<Data>QU JD</Data></Item></Add>"
	             "</SyncBody></SyncML>");
	/* Data directly in a command (Status, Cred): its Meta. */
	assert_canon("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><Cred>"
	             META("bin") "<Data>dX Nl cg==</Data></Cred></SyncHdr>"
	             "</SyncML>",
	             "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><Cred>"
	             META("b64") "<Data>dXNlcg==</Data></Cred></SyncHdr>"
	             "</SyncML>");
	/* Format values compare exactly: "BIN" is not bin (text, kept). */
	assert_canon(MSG_HEAD META("BIN") "<Data>QU JD</Data>" MSG_TAIL,
	             MSG_HEAD META("BIN") "<Data>QU JD</Data>" MSG_TAIL);
}
END_TEST

/* What the bin rewrite must not do: an Atomic's Meta Format bin over an
 * OPAQUE of "QUJD" must not canonicalise like an Atomic's b64 over the
 * text "QUJD".  As read, both Data are chr, so the Formats stay apart. */
START_TEST(test_unread_bin_not_confused)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_SYNCBODY_C, T_ATOMIC_C,
		T_CMDID_C, STR_I, '1', 0x00, END,
		T_META_C, 0x00, 0x01, M_FORMAT_C, STR_I, 'b', 'i', 'n', 0x00, END,
		0x00, 0x00, END,
		T_REPLACE_C, T_CMDID_C, STR_I, '2', 0x00, END,
		T_ITEM_C, T_DATA_C, OPAQUE, 0x04, 'Q', 'U', 'J', 'D', END, END,
		END, END, END, END,
	};
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody><Atomic>"
		"<CmdID>1</CmdID>" META("b64") "<Replace><CmdID>2</CmdID><Item>"
		"<Data>QUJD</Data></Item></Replace></Atomic></SyncBody></SyncML>";
	struct bytes b = { 0 };
	char *w, *x;

	put(&b, wb, sizeof wb);
	w = canon_bytes_ok(&b);
	x = canon_ok(xml);
	ck_assert_str_eq(w, "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody>"
	                 "<Atomic><CmdID>1</CmdID>" META("bin") "<Replace>"
	                 "<CmdID>2</CmdID><Item><Data>QUJD</Data></Item>"
	                 "</Replace></Atomic></SyncBody></SyncML>");
	ck_assert_ptr_nonnull(strstr(x, META("b64")));
	ck_assert_str_ne(w, x);
	free(w);
	free(x);
	free(b.data);
}
END_TEST

/* A Format sent as an OPAQUE is read as its text wherever it stands: here
 * after the Data it applies to.  Under bin the OPAQUE "QUJD" is those four
 * bytes, so the message is not the XML b64 "QUJD" (the bytes "ABC"). */
START_TEST(test_format_opaque_after_data)
{
	static const unsigned char head[] = {
		HDR_SYNCML12, T_SYNCML_C, T_SYNCBODY_C, T_REPLACE_C,
		T_CMDID_C, STR_I, '1', 0x00, END, T_ITEM_C,
	};
	static const unsigned char data[] = {
		T_DATA_C, OPAQUE, 0x04, 'Q', 'U', 'J', 'D', END,
	};
	static const unsigned char meta[] = {
		T_META_C, 0x00, 0x01, M_FORMAT_C, OPAQUE, 0x03, 'b', 'i', 'n', END,
		0x00, 0x00, END,
	};
	static const unsigned char tail[] = { END, END, END, END };
	struct bytes after = { 0 }, before = { 0 };
	char *a, *bf, *x;

	put(&after, head, sizeof head);
	put(&after, data, sizeof data);
	put(&after, meta, sizeof meta);
	put(&after, tail, sizeof tail);
	put(&before, head, sizeof head);
	put(&before, meta, sizeof meta);
	put(&before, data, sizeof data);
	put(&before, tail, sizeof tail);
	a = canon_bytes_ok(&after);
	bf = canon_bytes_ok(&before);
	x = canon_ok(MSG_HEAD "<Data>QUJD</Data>" META("b64") MSG_TAIL);
	ck_assert_str_eq(a, MSG_HEAD "<Data>UVVKRA==</Data>" META("b64")
	                 MSG_TAIL);
	ck_assert_str_eq(bf, MSG_HEAD META("b64") "<Data>UVVKRA==</Data>"
	                 MSG_TAIL);
	ck_assert_str_eq(x, MSG_HEAD "<Data>QUJD</Data>" META("b64") MSG_TAIL);
	free(a);
	free(bf);
	free(x);
	free(after.data);
	free(before.data);
}
END_TEST

/* An Item's Format is read by its Data and, as fallback, by the Data of
 * Items inside it (not valid SyncML, but read): all of them see bin, so
 * the OPAQUEs are bytes in both, and only then does it say b64. */
START_TEST(test_nested_item_reads_bin)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_ITEM_C,
		T_META_C, 0x00, 0x01, M_FORMAT_C, STR_I, 'b', 'i', 'n', 0x00, END,
		0x00, 0x00, END,
		T_DATA_C, OPAQUE, 0x03, 'A', 'B', 'C', END,
		T_ITEM_C, T_DATA_C, OPAQUE, 0x04, 'Q', 'U', 'J', 'D', END, END,
		END, END,
	};
	struct bytes b = { 0 };
	char *got;

	put(&b, wb, sizeof wb);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Item>"
	                 META("b64") "<Data>QUJD</Data><Item><Data>UVVKRA=="
	                 "</Data></Item></Item></SyncML>");
	free(got);
	free(b.data);
}
END_TEST

/* The readings of one Data, XML and WBXML: text stays text, binary is the
 * base64 of its bytes, and the two never meet.  Each row is one message;
 * rows in one class canonicalise alike, classes differ. */
START_TEST(test_binary_and_text_readings)
{
	struct bytes b = { 0 };
	char *text, *abc, *bytes_quid, *got;

	/* Text "QUJD" (no Format: chr). */
	text = canon_ok(MSG_HEAD "<Data>QUJD</Data>" MSG_TAIL);
	ck_assert_str_eq(text, MSG_HEAD "<Data>QUJD</Data>" MSG_TAIL);
	wbxml_data(&b, NULL, "QUJD", 4, false);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, text);
	free(got);
	wbxml_data(&b, NULL, "QUJD", 4, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, text);
	free(got);

	/* The bytes "ABC": base64 text under b64 or bin in XML, an OPAQUE of
	 * the bytes under bin, of the base64 characters under b64, a string
	 * of base64 under either. */
	abc = canon_ok(MSG_HEAD META("b64") "<Data>QUJD</Data>" MSG_TAIL);
	ck_assert_str_eq(abc, MSG_HEAD META("b64") "<Data>QUJD</Data>"
	                 MSG_TAIL);
	got = canon_ok(MSG_HEAD META("bin") "<Data>QU\n JD</Data>" MSG_TAIL);
	ck_assert_str_eq(got, abc);
	free(got);
	wbxml_data(&b, "bin", "ABC", 3, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, abc);
	free(got);
	wbxml_data(&b, "b64", "QUJD", 4, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, abc);
	free(got);
	wbxml_data(&b, "bin", "QUJD", 4, false);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, abc);
	free(got);

	/* The bytes "QUJD": an OPAQUE of them under bin. */
	wbxml_data(&b, "bin", "QUJD", 4, true);
	bytes_quid = canon_bytes_ok(&b);
	ck_assert_str_eq(bytes_quid, MSG_HEAD META("b64") "<Data>UVVKRA=="
	                 "</Data>" MSG_TAIL);

	/* And the text "ABC" from an OPAQUE of those bytes under chr. */
	wbxml_data(&b, NULL, "ABC", 3, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, MSG_HEAD "<Data>ABC</Data>" MSG_TAIL);
	ck_assert_str_ne(got, text);
	free(got);

	ck_assert_str_ne(text, abc);
	ck_assert_str_ne(abc, bytes_quid);
	free(text);
	free(abc);
	free(bytes_quid);
	free(b.data);
}
END_TEST

/* A string and an OPAQUE in one element cannot be read apart once merged,
 * so the decoder refuses them (dm-ext/WBXML.md): "QUJD" + OPAQUE "xyz"
 * would give the text "ABCxyz", like an OPAQUE "ABCxyz".  Beside elements
 * one OPAQUE is fine: libwbxml's blanks around a TNDS in <Data> go, as in
 * XML; under b64 the elements are an error. */
START_TEST(test_opaque_mixing)
{
	static const unsigned char mixed[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, STR_I, 'Q', 'U', 'J', 'D', 0x00,
		OPAQUE, 0x03, 'x', 'y', 'z', END, END,
	};
	static const unsigned char alone[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, OPAQUE, 0x06,
		'A', 'B', 'C', 'x', 'y', 'z', END, END,
	};
	/* In <Data>: a DM DDF document (public ID in its string table) of
	 * one empty <MgmtTree> (0x20), 33 bytes; then blanks. */
	static const unsigned char tnds_blanks[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, OPAQUE, 0x21,
		0x03, 0x00, 0x00, 0x6A, sizeof ddf_public_id,
		'-', '/', '/', 'O', 'M', 'A', '/', '/', 'D', 'T', 'D', '-', 'D', 'M',
		'-', 'D', 'D', 'F', ' ', '1', '.', '2', '/', '/', 'E', 'N', 0x00,
		0x20, OPAQUE, 0x03, '\r', '\n', ' ', END, END,
	};
	struct bytes b = { 0 };
	dmsc_dm_error err;
	char *got;

	err = expect_fail_lim(mixed, sizeof mixed, NULL, NULL,
	                      DMSC_DM_UNSUPPORTED, "WBXML byte 13: binary "
	                      "OPAQUE in <Data>, which holds a string (byte 7)");
	ck_assert_uint_eq(err.offset, 13);
	put(&b, alone, sizeof alone);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Data>ABCxyz"
	                 "</Data></SyncML>");
	free(got);

	b.len = 0;
	put(&b, tnds_blanks, sizeof tnds_blanks);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Data>"
	                 "<MgmtTree xmlns=\"syncml:dmddf1.2\"></MgmtTree></Data>"
	                 "</SyncML>");
	free(got);
	free(b.data);
}
END_TEST

/* Many Data under one Format: each holder's Format is read once (a lookup
 * per Data made this quadratic: 65000 Data in one Item took 35 s). */
START_TEST(test_many_data)
{
	struct bytes b = { 0 };
	char *got;
	size_t count = 0;

	put_str(&b, "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody><Replace>"
	        "<CmdID>1</CmdID>" META("bin"));
	for (int i = 0; i < 3000; i++)
		put_str(&b, "<Item><Data>Q Q==</Data></Item>");
	put_str(&b, "<Item>");
	for (int i = 0; i < 3000; i++)
		put_str(&b, "<Data>Qg==</Data>");
	put_str(&b, "</Item></Replace></SyncBody></SyncML>");
	got = canon_bytes_ok(&b);
	ck_assert_ptr_nonnull(strstr(got, "<CmdID>1</CmdID>" META("b64")
	                             "<Item><Data>QQ==</Data></Item>"));
	for (const char *p = got; (p = strstr(p, "<Data>QQ==</Data>")) != NULL;
	     p++)
		count++;
	ck_assert_uint_eq(count, 3000);
	count = 0;
	for (const char *p = got; (p = strstr(p, "<Data>Qg==</Data>")) != NULL;
	     p++)
		count++;
	ck_assert_uint_eq(count, 3000);
	free(got);
	free(b.data);
}
END_TEST

/* WBXML OPAQUE in <Data>, format by format, against the XML form. */
START_TEST(test_opaque_by_format)
{
	static const unsigned char raw[] = { 0x00, 0xFF, 0x10, 0x80 };
	struct bytes b = { 0 };
	char *got, *want;

	/* bin: the bytes; XML carries their base64. */
	wbxml_data(&b, "bin", raw, sizeof raw, true);
	got = canon_bytes_ok(&b);
	want = canon_ok(MSG_HEAD META("b64") "<Data>AP8QgA==</Data>" MSG_TAIL);
	ck_assert_str_eq(got, want);
	free(got);
	/* b64: the OPAQUE holds base64 characters (libwbxml writes it so). */
	wbxml_data(&b, "b64", "AP8Q\ngA==", 9, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, want);
	free(got);
	/* b64 or bin as a string: base64 text, as in XML. */
	wbxml_data(&b, "b64", "AP8QgA==", 8, false);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, want);
	free(got);
	wbxml_data(&b, "bin", "AP8Q gA==", 9, false);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	/* chr, by default or named: the OPAQUE holds UTF-8 text. */
	wbxml_data(&b, NULL, "caf\xC3\xA9 <&>", 9, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, MSG_HEAD "<Data>caf\xC3\xA9 &lt;&amp;&gt;</Data>"
	                 MSG_TAIL);
	free(got);
	wbxml_data(&b, "chr", "x", 1, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, MSG_HEAD META("chr") "<Data>x</Data>" MSG_TAIL);
	free(got);
	/* Empty OPAQUE: no text. */
	wbxml_data(&b, "bin", "", 0, true);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, MSG_HEAD META("b64") "<Data></Data>" MSG_TAIL);
	free(got);
	free(b.data);
}
END_TEST

/* Base64 that is already canonical is kept as it is, not decoded and
 * encoded again (canon.c binary_content): for random bytes of every length
 * up to 72 (a wrapped OPAQUE stays below 128 bytes) the kept text (XML, a
 * WBXML string, a bin OPAQUE's base64, a b64 OPAQUE's characters) and the
 * decoded-and-encoded one (wrapped, or unused bits set) give the same
 * bytes; errors stay where they were. */
START_TEST(test_canonical_base64_kept)
{
	uint32_t seed = 12345;
	struct bytes b = { 0 };
	char doc[1024], want[1024];

	for (size_t len = 0; len <= 72; len++) {
		unsigned char raw[72];
		char enc[124], wrapped[200];
		size_t elen, wlen = 0;
		char *got;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			raw[i] = (unsigned char)(seed >> 16);
		}
		elen = dmsc_base64_encode(raw, len, enc);
		enc[elen] = 0;
		for (size_t i = 0; i < elen; i++) {
			wrapped[wlen++] = enc[i];
			if (i % 8 == 5)
				wrapped[wlen++] = '\n';
		}
		wrapped[wlen] = 0;
		snprintf(want, sizeof want, MSG_HEAD META("b64") "<Data>%s"
		         "</Data>" MSG_TAIL, enc);
		/* XML: canonical (kept) and wrapped, under b64 and bin. */
		snprintf(doc, sizeof doc, MSG_HEAD META("b64") "<Data>%s</Data>"
		         MSG_TAIL, enc);
		assert_canon(doc, want);
		snprintf(doc, sizeof doc, MSG_HEAD META("bin") "<Data>%s</Data>"
		         MSG_TAIL, wrapped);
		assert_canon(doc, want);
		/* WBXML: the bytes in a bin OPAQUE; the characters in a b64
		 * OPAQUE, canonical and wrapped; a b64 string. */
		wbxml_data(&b, "bin", raw, len, true);
		got = canon_bytes_ok(&b);
		ck_assert_str_eq(got, want);
		free(got);
		wbxml_data(&b, "b64", enc, elen, true);
		got = canon_bytes_ok(&b);
		ck_assert_str_eq(got, want);
		free(got);
		wbxml_data(&b, "b64", wrapped, wlen, true);
		got = canon_bytes_ok(&b);
		ck_assert_str_eq(got, want);
		free(got);
		wbxml_data(&b, "b64", enc, elen, false);
		got = canon_bytes_ok(&b);
		ck_assert_str_eq(got, want);
		free(got);
	}
	/* Unused bits set: not canonical, so encoded again, in XML and in a
	 * b64 OPAQUE alike. */
	assert_canon(MSG_HEAD META("b64") "<Data>QUJ=</Data>" MSG_TAIL,
	             MSG_HEAD META("b64") "<Data>QUI=</Data>" MSG_TAIL);
	wbxml_data(&b, "b64", "QR==", 4, true);
	got_is(&b, MSG_HEAD META("b64") "<Data>QQ==</Data>" MSG_TAIL);
	wbxml_data(&b, "b64", "QUJ=", 4, true);
	got_is(&b, MSG_HEAD META("b64") "<Data>QUI=</Data>" MSG_TAIL);
	/* Errors in a b64 OPAQUE: the same messages as for text. */
	wbxml_data(&b, "b64", "QUJ*", 4, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_MALFORMED,
	                "Format b64, but character 3 of the text is not "
	                "base64");
	wbxml_data(&b, "b64", "QQ==QQ==", 8, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_MALFORMED,
	                "Format b64, but character 4 of the text");
	wbxml_data(&b, "b64", "QUJ", 3, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_MALFORMED,
	                "Format b64, but character 3 of the text");
	free(b.data);
}
END_TEST

/* OPAQUE outside <Data> is text (libwbxml writes none there, but an
 * encoder may). */
START_TEST(test_opaque_elsewhere_is_text)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_LOCURI_C, OPAQUE, 0x05, '.', '/', 'a',
		'/', 'b', END, END,
	};
	struct bytes b = { 0 };
	char *got;

	put(&b, wb, sizeof wb);
	got = canon_bytes_ok(&b);
	ck_assert_str_eq(got, "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><LocURI>./a/b"
	                 "</LocURI></SyncML>");
	free(got);
	free(b.data);
}
END_TEST

/* TNDS <Value> follows its Node's RTProperties/Format. */
START_TEST(test_tnds_value_format)
{
	static const unsigned char head[] = {
		0x03, 0x00, 0x00, 0x6A, sizeof ddf_public_id,
	};
	/* MgmtTree Node NodeName "K" RTProperties Format <bin/> Value OPAQUE */
	static const unsigned char body[] = {
		0x60, 0x64, 0x66, STR_I, 'K', 0x00, END, 0x6F, 0x5C, 0x09, END,
		END, 0x76, OPAQUE, 0x03, 0x00, 0xFF, 0x10, END, END, END,
	};
	static const char xml[] =
		"<MgmtTree xmlns='syncml:dmddf1.2'><Node><NodeName>K</NodeName>"
		"<RTProperties><Format><bin/></Format></RTProperties><Value>"
		"AP8\n Q</Value></Node></MgmtTree>";
	struct bytes b = { 0 };
	char *got, *want;

	put(&b, head, sizeof head);
	put(&b, ddf_public_id, sizeof ddf_public_id);
	put(&b, body, sizeof body);
	got = canon_bytes_ok(&b);
	want = canon_ok(xml);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_nonnull(strstr(want, "<Value>AP8Q</Value>"));
	free(got);
	free(want);
	/* <b64/>: base64 normalised; <chr/>: text kept. */
	assert_canon("<MgmtTree xmlns='syncml:dmddf1.2'><Node><RTProperties>"
	             "<Format><b64/></Format></RTProperties><Value> QU JD "
	             "</Value></Node><Node><RTProperties><Format><chr/>"
	             "</Format></RTProperties><Value> QU JD </Value></Node>"
	             "<Value> QU </Value></MgmtTree>",
	             "<MgmtTree xmlns=\"syncml:dmddf1.2\"><Node><RTProperties>"
	             "<Format><b64></b64></Format></RTProperties><Value>QUJD"
	             "</Value></Node><Node><RTProperties><Format><chr></chr>"
	             "</Format></RTProperties><Value> QU JD </Value></Node>"
	             "<Value> QU </Value></MgmtTree>");
	free(b.data);
}
END_TEST

START_TEST(test_data_errors)
{
	struct bytes b = { 0 };
	dmsc_dm_error err;

	err = expect_fail("<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody>\n"
	                  "<Replace><CmdID>1</CmdID><Item>" META("b64") "\n"
	                  "<Data>QUJ*</Data>" MSG_TAIL, DMSC_DM_MALFORMED,
	                  "character 3 of the text is not base64");
	ck_assert_int_eq(err.line, 3);
	ck_assert_uint_eq(err.offset, DMSC_DM_NO_OFFSET);
	ck_assert_ptr_nonnull(strstr(err.message, "/SyncML/SyncBody/Replace/"
	                             "Item/Data (line 3)"));
	expect_fail(MSG_HEAD META("b64") "<Data>QUJ</Data>" MSG_TAIL,
	            DMSC_DM_MALFORMED, "character 3 of the text is not base64");
	expect_fail(MSG_HEAD META("bin") "<Data>QQ==QQ==</Data>" MSG_TAIL,
	            DMSC_DM_MALFORMED, "Format bin, but character 4");
	expect_fail(MSG_HEAD META("b64") "<Data>QUJD<x/></Data>" MSG_TAIL,
	            DMSC_DM_UNSUPPORTED, "Format b64, but the content has "
	            "elements");
	/* chr OPAQUE that is not UTF-8 text, or holds a control character. */
	wbxml_data(&b, NULL, "ab\xFF", 3, true);
	err = expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_UNSUPPORTED,
	                      "OPAQUE byte 2 (0xFF) is not UTF-8 text");
	ck_assert_ptr_nonnull(strstr(err.message, "/SyncML/SyncBody/Replace/"
	                             "Item/Data: "));
	ck_assert_int_eq(err.line, 0);
	wbxml_data(&b, "chr", "a\0b", 3, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_UNSUPPORTED,
	                "OPAQUE byte 1 (0x00)");
	/* Not UTF-8: a continuation byte first (found by fuzzing: libxml2's
	 * own check took it), overlong forms, a surrogate, past U+10FFFF, a
	 * truncated sequence; and U+FFFE, not an XML character. */
	{
		static const char *const bad[] = {
			"C\x9F\x8F", "C\xC0\xAF", "C\xE0\x80\xAF", "C\xED\xA0\x80",
			"C\xF0\x8F\xBF\xBF", "C\xF4\x90\x80\x80", "C\xF8\x88\x80\x80",
			"C\xE4\xBD", "C\xEF\xBF\xBE",
		};

		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			wbxml_data(&b, NULL, bad[i], strlen(bad[i]), true);
			expect_fail_lim(b.data, b.len, NULL, NULL,
			                DMSC_DM_UNSUPPORTED, "OPAQUE byte 1 (0x");
		}
		/* The edges that are fine. */
		wbxml_data(&b, NULL, "\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF4\x8F"
		           "\xBF\xBD\xF0\x90\x80\x80", 16, true);
		free(canon_bytes_ok(&b));
	}
	/* b64 OPAQUE that is not base64 characters. */
	wbxml_data(&b, "b64", "QU\0D", 4, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_MALFORMED,
	                "holds a zero byte");
	wbxml_data(&b, "b64", "QU\xC3\xA9", 4, true);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_MALFORMED,
	                "character 2 of the text is not base64");
	/* A string and an OPAQUE in one Data: refused by the decoder. */
	{
		static const unsigned char mixed[] = {
			HDR_SYNCML12, T_SYNCML_C, T_DATA_C, STR_I, 'x', 0x00,
			OPAQUE, 0x02, 'a', 'b', END, END,
		};

		err = expect_fail_lim(mixed, sizeof mixed, NULL, NULL,
		                      DMSC_DM_UNSUPPORTED, "strings and binary "
		                      "data do not mix in one element");
		ck_assert_uint_eq(err.offset, 10);
	}
	/* Under b64, a TNDS beside an OPAQUE is elements in base64 content. */
	{
		static const unsigned char tnds_b64[] = {
			HDR_SYNCML12, T_SYNCML_C, T_META_C, 0x00, 0x01, M_FORMAT_C,
			STR_I, 'b', '6', '4', 0x00, END, 0x00, 0x00, END,
			T_DATA_C, OPAQUE, 0x01, 'x', OPAQUE, 0x06,
			HDR_SYNCML12, T_FINAL, END, END,
		};

		expect_fail_lim(tnds_b64, sizeof tnds_b64, NULL, NULL,
		                DMSC_DM_UNSUPPORTED, "Format b64, but the content "
		                "has elements");
	}
	free(b.data);
}
END_TEST

/* ---- Opaque input and streaming ---- */

static unsigned char *opaque_sample(size_t n, unsigned char first)
{
	unsigned char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + 7);
	if (n > 0)
		p[0] = first;
	return p;
}

START_TEST(test_opaque_passthrough)
{
	static const struct {
		const char *data;
		size_t len;
	} inputs[] = {
		{ "", 0 },
		{ "\x7F" "ELF\x02\x01\x01", 7 },
		{ "hello, world", 12 },
		{ " \n\t ", 4 },
		{ "\x03\x00", 2 },              /* WBXML-like, too short */
		{ "\x03\xA4\x01\x6A\x00", 5 },  /* header only... */
		{ "\x03\x7F\x6A\x00\x6D", 5 },  /* unknown public ID */
		{ "\xEF\xBB", 2 },              /* half a byte-order mark */
		{ " x<", 3 },
	};
	dmsc_canon_select sel = { DMSC_CANON_SYNCBODY, NULL };

	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct collect c;
		dmsc_dm_error err;
		int rc;
		/* 03 A4 01 6A 00 is a whole header: WBXML, and truncated. */
		bool wbxml = i == 5;

		ck_assert_int_eq(dmsc_dm_detect((const unsigned char *)
		                                inputs[i].data, inputs[i].len),
		                 wbxml ? DMSC_DM_WBXML : DMSC_DM_OPAQUE);
		if (wbxml)
			continue;
		rc = canon_sel_lim(inputs[i].data, inputs[i].len, NULL, NULL, &c,
		                   &err);
		ck_assert_int_eq(rc, DMSC_DM_OK);
		ck_assert_uint_eq(c.out.len, inputs[i].len);
		ck_assert(memcmp(c.out.data, inputs[i].data, inputs[i].len) == 0);
		ck_assert_int_eq(c.calls, inputs[i].len != 0);
		collect_free(&c);
		/* A unit of opaque data: there is none. */
		expect_fail_lim(inputs[i].data, inputs[i].len, &sel, NULL,
		                DMSC_DM_UNSUPPORTED, "the input is opaque");
	}
}
END_TEST

START_TEST(test_detect)
{
	static const unsigned char bom[] = { 0xEF, 0xBB, 0xBF, 'x' };
	unsigned char *big = opaque_sample(DMSC_DM_SNIFF_MAX + 10, ' ');

	ck_assert_int_eq(dmsc_dm_detect((const unsigned char *)"<", 1),
	                 DMSC_DM_XML);
	ck_assert_int_eq(dmsc_dm_detect((const unsigned char *)"\r\n <?xml", 8),
	                 DMSC_DM_XML);
	ck_assert_int_eq(dmsc_dm_detect(bom, sizeof bom), DMSC_DM_XML);
	ck_assert_int_eq(dmsc_dm_detect(NULL, 0), DMSC_DM_OPAQUE);
	/* Partial prefixes: undecided until they cannot change. */
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)"  ", 2, false), -1);
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)"  ", 2, true),
	                 DMSC_DM_OPAQUE);
	ck_assert_int_eq(dmsc_dm_sniff(bom, 2, false), -1);
	ck_assert_int_eq(dmsc_dm_sniff(bom, 3, false), DMSC_DM_XML);
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)"\x03\xA4", 2,
	                               false), -1);
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)"\x03\xA4\x01\x6A"
	                               "\x00", 5, false), DMSC_DM_WBXML);
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)"\x04", 1, false),
	                 DMSC_DM_OPAQUE);
	ck_assert_int_eq(dmsc_dm_sniff((const unsigned char *)" a", 2, false),
	                 DMSC_DM_OPAQUE);
	/* Whitespace past the sniff window: opaque, however it goes on. */
	memset(big, ' ', DMSC_DM_SNIFF_MAX);
	big[DMSC_DM_SNIFF_MAX] = '<';
	ck_assert_int_eq(dmsc_dm_sniff(big, DMSC_DM_SNIFF_MAX - 1, false), -1);
	ck_assert_int_eq(dmsc_dm_sniff(big, DMSC_DM_SNIFF_MAX, false),
	                 DMSC_DM_OPAQUE);
	ck_assert_int_eq(dmsc_dm_detect(big, DMSC_DM_SNIFF_MAX + 10),
	                 DMSC_DM_OPAQUE);
	big[DMSC_DM_SNIFF_MAX - 1] = '<';
	ck_assert_int_eq(dmsc_dm_detect(big, DMSC_DM_SNIFF_MAX + 10),
	                 DMSC_DM_XML);
	free(big);
}
END_TEST

/* Feed input in chunks; the status and output. */
static int stream_in_chunks(const unsigned char *buf, size_t len,
                            size_t chunk, const dmsc_canon_select *sel,
                            const dmsc_dm_limits *lim, struct collect *out,
                            dmsc_dm_error *err)
{
	dmsc_canon_stream *s;
	int rc = DMSC_DM_OK;

	memset(out, 0, sizeof *out);
	put(&out->out, "", 0);
	s = dmsc_canon_stream_new(lim, sel, collect_sink, out);
	if (s == NULL) {    /* out of memory, in check_out_of_memory() */
		snprintf(err->message, sizeof err->message, "out of memory");
		return DMSC_DM_NOMEM;
	}
	for (size_t at = 0; at < len && rc == DMSC_DM_OK; at += chunk)
		rc = dmsc_canon_stream_update(s, buf + at,
		                              len - at < chunk ? len - at : chunk,
		                              err);
	if (rc == DMSC_DM_OK)
		rc = dmsc_canon_stream_final(s, err);
	dmsc_canon_stream_free(s);
	return rc;
}

static void check_stream_equals_one_shot(const unsigned char *buf,
                                         size_t len,
                                         const dmsc_canon_select *sel,
                                         const char *what)
{
	static const size_t chunks[] = { 1, 7, 4096 };
	struct collect one, many;
	dmsc_dm_error e1, e2;
	int rc1 = canon_sel_lim(buf, len, sel, NULL, &one, &e1);

	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		int rc2 = stream_in_chunks(buf, len, chunks[i], sel, NULL, &many,
		                           &e2);

		ck_assert_msg(rc1 == rc2, "%s, chunks of %zu: status %d, one-shot "
		              "%d (%s)", what, chunks[i], rc2, rc1, e2.message);
		ck_assert_msg(one.out.len == many.out.len &&
		              memcmp(one.out.data, many.out.data, one.out.len) == 0,
		              "%s, chunks of %zu: output differs", what, chunks[i]);
		if (rc1 != DMSC_DM_OK)
			ck_assert_str_eq(e1.message, e2.message);
		collect_free(&many);
	}
	collect_free(&one);
}

START_TEST(test_stream_vectors)
{
	dmsc_canon_select body = { DMSC_CANON_SYNCBODY, NULL };

	for (int g = 0; g < GROUP_COUNT; g++) {
		for (const char *const *in = groups[g].inputs; *in != NULL; in++) {
			size_t len;
			unsigned char *buf = read_vector(*in, &len);

			check_stream_equals_one_shot(buf, len, NULL, *in);
			check_stream_equals_one_shot(buf, len, &body, *in);
			free(buf);
		}
	}
}
END_TEST

START_TEST(test_stream_opaque_and_errors)
{
	static const char *const texts[] = {
		"", "hello", "   ", "<SyncML xmlns='SYNCML:SYNCML1.2'><A>",
		"<SyncML xmlns='SYNCML:SYNCML1.2'/>", "\x03\xA4\x01\x6A\x00\x6D",
		"\xEF\xBB\xBF<SyncML xmlns='SYNCML:SYNCML1.2'/>",
	};
	/* Sizes around the sniff window, starting like WBXML (held until
	 * the window is full) and not. */
	static const size_t sizes[] = {
		1, 4095, 4096, DMSC_DM_SNIFF_MAX - 1, DMSC_DM_SNIFF_MAX,
		DMSC_DM_SNIFF_MAX + 1, 3 * DMSC_DM_SNIFF_MAX + 5,
	};

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		check_stream_equals_one_shot((const unsigned char *)texts[i],
		                             strlen(texts[i]), NULL, texts[i]);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *a = opaque_sample(sizes[i], 0x03);
		unsigned char *b = opaque_sample(sizes[i], 0xFE);

		check_stream_equals_one_shot(a, sizes[i], NULL, "0x03...");
		check_stream_equals_one_shot(b, sizes[i], NULL, "0xFE...");
		free(a);
		free(b);
	}
}
END_TEST

/* Opaque chunks reach the sink as they come, not at the end. */
START_TEST(test_stream_opaque_is_not_held)
{
	size_t n = 1024 * 1024;
	unsigned char *data = opaque_sample(n, 0x7F);
	struct collect c = { 0 };
	dmsc_canon_stream *s = dmsc_canon_stream_new(NULL, NULL, collect_sink, &c);
	dmsc_dm_error err;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dmsc_canon_stream_repr(s), -1);
	ck_assert_int_eq(dmsc_canon_stream_update(s, data, 1, &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_repr(s), DMSC_DM_OPAQUE);
	ck_assert_uint_eq(c.out.len, 1);
	for (size_t at = 1; at < n; at += 65536) {
		size_t k = n - at < 65536 ? n - at : 65536;

		ck_assert_int_eq(dmsc_canon_stream_update(s, data + at, k, &err),
		                 DMSC_DM_OK);
		ck_assert_uint_eq(c.out.len, at + k);
	}
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_OK);
	ck_assert(memcmp(c.out.data, data, n) == 0);
	/* Ended: no more input. */
	ck_assert_int_eq(dmsc_canon_stream_update(s, data, 1, &err),
	                 DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_BAD_ARGS);
	dmsc_canon_stream_free(s);
	collect_free(&c);
	free(data);
}
END_TEST

/* Empty parts (NULL, 0: what C_SignUpdate may pass) change nothing, before
 * the representation is known and after. Found by the ASan+UBSan run:
 * the held message's memcpy was given NULL. */
START_TEST(test_stream_empty_parts)
{
	static const char msg[] = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody>"
	                          "<Final/></SyncBody></SyncML>";
	size_t len = sizeof msg - 1;
	struct collect a = { 0 }, b = { 0 };
	dmsc_canon_stream *s = dmsc_canon_stream_new(NULL, NULL, collect_sink, &a);
	dmsc_dm_error err;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dmsc_canon_stream_update(s, NULL, 0, &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_repr(s), -1);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg, 3, &err),
	                 DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_update(s, NULL, 0, &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg + 3, len - 3,
	                                          &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_update(s, NULL, 0, &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_OK);
	dmsc_canon_stream_free(s);

	s = dmsc_canon_stream_new(NULL, NULL, collect_sink, &b);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg, len, &err),
	                 DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_OK);
	dmsc_canon_stream_free(s);
	ck_assert_uint_gt(a.out.len, 0);
	ck_assert_uint_eq(a.out.len, b.out.len);
	ck_assert(memcmp(a.out.data, b.out.data, a.out.len) == 0);
	collect_free(&a);
	collect_free(&b);
}
END_TEST

START_TEST(test_stream_limits_and_sink)
{
	static const char msg[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncBody><Final/></SyncBody>"
		"</SyncML>";
	dmsc_dm_limits lim = { .max_input = 40 };
	dmsc_canon_select sel = { DMSC_CANON_CMDID, "1" };
	struct collect c = { 0 };
	dmsc_canon_stream *s;
	dmsc_dm_error err;
	char cmdid[] = "1";

	/* XML is held up to max_input, then refused at once. */
	s = dmsc_canon_stream_new(&lim, NULL, collect_sink, &c);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg,
	                                          30, &err), DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg
	                                          + 30, 11, &err), DMSC_DM_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "longer than max_input (40"));
	/* The failure stays. */
	err.message[0] = '\0';
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)"x",
	                                          1, &err), DMSC_DM_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "max_input"));
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_LIMIT);
	ck_assert_uint_eq(c.out.len, 0);
	dmsc_canon_stream_free(s);

	/* The selection is copied: the caller's string may go. */
	sel.cmdid = cmdid;
	s = dmsc_canon_stream_new(NULL, &sel, collect_sink, &c);
	cmdid[0] = '2';
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)msg,
	                                          sizeof msg - 1, &err),
	                 DMSC_DM_OK);
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.message, "CmdID \"1\""));
	dmsc_canon_stream_free(s);

	/* Opaque data with a unit: refused as soon as it is known. */
	s = dmsc_canon_stream_new(NULL, &sel, collect_sink, &c);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)"ab",
	                                          2, &err), DMSC_DM_UNSUPPORTED);
	dmsc_canon_stream_free(s);

	/* A sink that says stop. */
	c.stop_at = 1;
	s = dmsc_canon_stream_new(NULL, NULL, collect_sink, &c);
	ck_assert_int_eq(dmsc_canon_stream_update(s, (const unsigned char *)"ab",
	                                          2, &err), DMSC_DM_SINK);
	ck_assert_int_eq(dmsc_canon_stream_final(s, &err), DMSC_DM_SINK);
	dmsc_canon_stream_free(s);
	c.calls = 0;
	c.stop_at = 1;
	ck_assert_int_eq(dmsc_canon((const unsigned char *)msg, sizeof msg - 1,
	                            NULL, collect_sink, &c, &err), DMSC_DM_SINK);
	ck_assert_ptr_nonnull(strstr(err.message, "sink stopped"));
	c.calls = 0;
	ck_assert_int_eq(dmsc_canon((const unsigned char *)"ab", 2, NULL,
	                            collect_sink, &c, &err), DMSC_DM_SINK);
	collect_free(&c);

	/* Bad arguments. */
	ck_assert_int_eq(dmsc_canon_stream_update(NULL, (const unsigned char *)
	                                          "a", 1, &err),
	                 DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_canon_stream_final(NULL, NULL), DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_canon_stream_repr(NULL), -1);
	dmsc_canon_stream_free(NULL);
	ck_assert_int_eq(dmsc_canon(NULL, 3, NULL, collect_sink, &c, &err),
	                 DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_canon((const unsigned char *)"a", 1, NULL, NULL,
	                            NULL, NULL), DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_canon_doc(NULL, NULL, collect_sink, &c, &err),
	                 DMSC_DM_BAD_ARGS);
}
END_TEST

/* The fuzz target's properties over its seed corpus, crash inputs
 * included: streaming equals one call, and a canonical form is its own. */
START_TEST(test_corpus_properties)
{
	char path[1024];
	DIR *dir = opendir(vector_path("../corpus/canon", path, sizeof path));
	struct dirent *e;
	int files = 0;

	ck_assert_msg(dir != NULL, "cannot open %s", path);
	while ((e = readdir(dir)) != NULL) {
		char name[300];
		size_t len;
		unsigned char *buf;
		struct collect one, again;
		dmsc_dm_error err;
		int rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof name, "../corpus/canon/%s", e->d_name);
		buf = read_vector(name, &len);
		check_stream_equals_one_shot(buf, len, NULL, e->d_name);
		rc = canon_sel_lim(buf, len, NULL, NULL, &one, &err);
		if (rc == DMSC_DM_OK && dmsc_dm_detect(buf, len) != DMSC_DM_OPAQUE) {
			rc = canon_sel_lim(one.out.data, one.out.len, NULL, NULL,
			                   &again, &err);
			ck_assert_msg(rc == DMSC_DM_OK, "%s: output refused: %s",
			              e->d_name, err.message);
			ck_assert_msg(one.out.len == again.out.len &&
			              memcmp(one.out.data, again.out.data,
			                     one.out.len) == 0,
			              "%s: not idempotent", e->d_name);
			collect_free(&again);
		}
		collect_free(&one);
		free(buf);
		files++;
	}
	closedir(dir);
	ck_assert_int_gt(files, 20);
}
END_TEST

/* ---- The reader's errors ---- */

START_TEST(test_malformed_xml)
{
	/* Line 3, "</SyncBody>" closes <SyncHdr>; offset: where the parser
	 * was, inside that line. */
	static const char msg[] = "<SyncML xmlns='SYNCML:SYNCML1.2'>\n"
	                          "<SyncHdr>\n<MsgID>1</MsgID></SyncBody>\n"
	                          "</SyncML>";
	size_t line3 = strchr(strchr(msg, '\n') + 1, '\n') + 1 - msg;
	dmsc_dm_error err = expect_fail(msg, DMSC_DM_MALFORMED,
	                                "line 3, column");

	ck_assert_int_eq(err.line, 3);
	ck_assert_uint_gt(err.offset, line3);
	ck_assert_uint_le(err.offset, line3 + strlen("<MsgID>1</MsgID>"
	                                             "</SyncBody>"));
	ck_assert_ptr_nonnull(strstr(err.message, "mismatch"));
	expect_fail("<", DMSC_DM_MALFORMED, "line 1");
	expect_fail("  <SyncML xmlns='SYNCML:SYNCML1.2'>", DMSC_DM_MALFORMED,
	            "line 1");
	expect_fail("<SyncML xmlns='SYNCML:SYNCML1.2'/><x/>", DMSC_DM_MALFORMED,
	            "Extra content");
	expect_fail("<SyncML xmlns='SYNCML:SYNCML1.2'>\x01</SyncML>",
	            DMSC_DM_MALFORMED, "PCDATA invalid Char value 1");
}
END_TEST

/* Input in another encoding: the offset is where the line starts (in
 * input bytes), the message says the line and column. */
START_TEST(test_malformed_latin1_offset)
{
	static const char msg[] =
		"<?xml version='1.0' encoding='ISO-8859-1'?>\r\n\r\n"
		"<SyncML xmlns='SYNCML:SYNCML1.2'><A>\xE9\xE9\xE9\xE9</B>"
		"</SyncML>";
	dmsc_dm_error err = expect_fail(msg, DMSC_DM_MALFORMED, "line 3, column");

	ck_assert_int_eq(err.line, 3);
	ck_assert_uint_eq(err.offset, (size_t)(strchr(msg, '\r') - msg) + 4);
}
END_TEST

/* Found by fuzzing: an error raised by the character converter itself
 * (UTF-7 declared, bytes that are not UTF-7) used to read the parser's
 * buffer while it was reallocated.  A clean error now. */
START_TEST(test_converter_error)
{
	size_t len;
	unsigned char *buf = read_vector("../corpus/canon/crash-utf7-offset.xml",
	                                 &len);
	dmsc_dm_error err = expect_fail_lim(buf, len, NULL, NULL,
	                                    DMSC_DM_MALFORMED, "line ");

	ck_assert_int_gt(err.line, 0);
	ck_assert_uint_lt(err.offset, len);
	free(buf);
}
END_TEST

START_TEST(test_root_refused)
{
	struct bytes b = { 0 };
	static const unsigned char metinf[] = { HDR_METINF12, M_MAXMSGSIZE_C,
	                                        STR_I, '1', 0x00, END };

	expect_fail("<foo/>", DMSC_DM_UNSUPPORTED, "root element <foo>");
	expect_fail("<SyncML/>", DMSC_DM_UNSUPPORTED, "root element <SyncML> in "
	            "namespace \"\"");
	expect_fail("<SyncML xmlns='SYNCML:SYNCML1.3'/>", DMSC_DM_UNSUPPORTED,
	            "expected <SyncML> in SYNCML:SYNCML1.1 or SYNCML:SYNCML1.2");
	expect_fail("<MgmtTree xmlns='SYNCML:SYNCML1.2'/>",
	            DMSC_DM_UNSUPPORTED, "<MgmtTree> in syncml:dmddf1.2");
	expect_fail("<s:SyncML xmlns:s='syncml:metinf'/>", DMSC_DM_UNSUPPORTED,
	            "namespace \"syncml:metinf\"");
	put(&b, metinf, sizeof metinf);
	expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_UNSUPPORTED,
	                "root element <MaxMsgSize>");
	free(b.data);
}
END_TEST

/* An external entity loader that counts: nothing may ever be loaded. */
static int loads;
static xmlExternalEntityLoader default_loader;

static xmlParserInputPtr counting_loader(const char *url, const char *id,
                                         xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	loads++;
	return xmlNewStringInputStream(ctxt, (const xmlChar *)"LOADED");
}

START_TEST(test_nothing_loaded)
{
	static const char *const refused[] = {
		/* The classic XXE. */
		"<!DOCTYPE SyncML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Data>&x;</Data></SyncML>",
		/* A parameter entity pulling in a DTD. */
		"<!DOCTYPE SyncML [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
		"%p;]><SyncML xmlns='SYNCML:SYNCML1.2'/>",
		/* Billion laughs: refused at the first declaration. */
		"<!DOCTYPE SyncML [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
		"\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Data>&b;</Data></SyncML>",
	};
	static const char *const fine[] = {
		/* An external DTD is named, never read. */
		"<!DOCTYPE SyncML SYSTEM \"file:///etc/passwd\">"
		"<SyncML xmlns='SYNCML:SYNCML1.2'/>",
		"<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" "
		"\"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_"
		"RepPro_DTD-V1_2.dtd\"><SyncML xmlns='SYNCML:SYNCML1.2'/>",
		/* XInclude is not processed: it stays an element. */
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Data><xi:include "
		"xmlns:xi='http://www.w3.org/2001/XInclude' "
		"href='file:///etc/passwd' parse='text'/></Data></SyncML>",
	};

	default_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(counting_loader);
	loads = 0;
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		dmsc_dm_error err = expect_fail(refused[i], DMSC_DM_UNSUPPORTED,
		                                "internal subset declares entity");

		ck_assert_int_eq(err.line, 1);
		ck_assert_uint_ne(err.offset, DMSC_DM_NO_OFFSET);
	}
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		char *out = canon_ok(fine[i]);

		ck_assert_ptr_null(strstr(out, "LOADED"));
		ck_assert_ptr_null(strstr(out, "root:"));
		if (i == 2)
			ck_assert_ptr_nonnull(strstr(out, "<xi:include"));
		free(out);
	}
	ck_assert_int_eq(loads, 0);
	xmlSetExternalEntityLoader(default_loader);
}
END_TEST

START_TEST(test_doctype_refused)
{
	expect_fail("<!DOCTYPE SyncML [<!ELEMENT SyncML ANY>]>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>", DMSC_DM_UNSUPPORTED,
	            "declares element 'SyncML'");
	expect_fail("<!DOCTYPE SyncML [<!ATTLIST SyncML a CDATA 'x'>]>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>", DMSC_DM_UNSUPPORTED,
	            "declares attribute 'a'");
	expect_fail("<!DOCTYPE SyncML [<!NOTATION n SYSTEM 'x'>]>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>", DMSC_DM_UNSUPPORTED,
	            "declares notation 'n'");
	expect_fail("<!DOCTYPE SyncML [<!ENTITY u SYSTEM 'x' NDATA n>]>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>", DMSC_DM_UNSUPPORTED,
	            "declares entity 'u'");
	/* An entity the message does not declare, behind an external DTD
	 * (which is never read, so nothing is declared). */
	expect_fail("<!DOCTYPE SyncML SYSTEM 'x.dtd'>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'><A>&nbsp;</A></SyncML>",
	            DMSC_DM_MALFORMED, "Entity 'nbsp' not defined");
	/* Without a DTD it is not well-formed. */
	expect_fail("<SyncML xmlns='SYNCML:SYNCML1.2'><A>&nbsp;</A></SyncML>",
	            DMSC_DM_MALFORMED, "Entity 'nbsp' not defined");
	/* An empty internal subset, comments only, is no harm. */
	assert_same("<!DOCTYPE SyncML [ <!-- nothing --> ]>"
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>",
	            "<SyncML xmlns='SYNCML:SYNCML1.2'/>");
}
END_TEST

START_TEST(test_warnings_refused)
{
	expect_fail("<SyncML xmlns='SYNCML:SYNCML1.2'><A xmlns='rel'/>"
	            "</SyncML>", DMSC_DM_UNSUPPORTED, "not absolute");
	expect_fail("<?xml version='1.1'?><SyncML xmlns='SYNCML:SYNCML1.2'/>",
	            DMSC_DM_UNSUPPORTED, "parser warning");
}
END_TEST

/* n elements nested in <Data>, after the root. */
static void nested(struct bytes *b, int n)
{
	b->len = 0;
	put_str(b, "<SyncML xmlns='SYNCML:SYNCML1.2'>");
	for (int i = 0; i < n; i++)
		put_str(b, "<a>");
	for (int i = 0; i < n; i++)
		put_str(b, "</a>");
	put_str(b, "</SyncML>");
}

START_TEST(test_limits)
{
	struct bytes b = { 0 };
	dmsc_dm_limits lim = { .max_depth = 5 };
	struct collect c;
	dmsc_dm_error err;

	/* Depth: the default is 64, the root counting as 1. */
	nested(&b, 63);
	ck_assert_int_eq(canon_sel_lim(b.data, b.len, NULL, NULL, &c, &err),
	                 DMSC_DM_OK);
	collect_free(&c);
	nested(&b, 64);
	err = expect_fail_lim(b.data, b.len, NULL, NULL, DMSC_DM_LIMIT,
	                      "deeper than max_depth (64)");
	ck_assert_uint_le(err.offset, b.len);
	ck_assert_int_eq(err.line, 1);
	nested(&b, 4);
	ck_assert_int_eq(canon_sel_lim(b.data, b.len, NULL, &lim, &c, &err),
	                 DMSC_DM_OK);
	collect_free(&c);
	nested(&b, 5);
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "deeper than max_depth (5)");
	/* Past libxml2's own limit, ours is capped to it. */
	lim.max_depth = 100000;
	nested(&b, 300);
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "deeper than max_depth (256)");
	/* Elements: the root and nine more fit in ten. */
	lim = (dmsc_dm_limits){ .max_elements = 10 };
	b.len = 0;
	put_str(&b, "<SyncML xmlns='SYNCML:SYNCML1.2'>");
	for (int i = 0; i < 9; i++)
		put_str(&b, "<a/>");
	put_str(&b, "</SyncML>");
	ck_assert_int_eq(canon_sel_lim(b.data, b.len, NULL, &lim, &c, &err),
	                 DMSC_DM_OK);
	collect_free(&c);
	b.len -= strlen("</SyncML>");
	put_str(&b, "<a/></SyncML>");
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "more elements than max_elements (10)");
	/* Size: checked before parsing; opaque input has none. */
	lim = (dmsc_dm_limits){ .max_input = 16 };
	err = expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                      "larger than max_input (16)");
	ck_assert_uint_eq(err.offset, 16);
	{
		unsigned char *big = opaque_sample(100, 0x7F);

		ck_assert_int_eq(canon_sel_lim(big, 100, NULL, &lim, &c, &err),
		                 DMSC_DM_OK);
		ck_assert_uint_eq(c.out.len, 100);
		collect_free(&c);
		free(big);
	}
	free(b.data);
}
END_TEST

START_TEST(test_wbxml_errors)
{
	struct bytes b = { 0 };
	dmsc_dm_limits lim = { .max_depth = 2 };
	dmsc_dm_error err;
	static const unsigned char truncated[] = { HDR_SYNCML12, T_SYNCML_C,
	                                           T_DATA_C, STR_I, 'a' };
	static const unsigned char charset[] = { 0x03, 0xA4, 0x01, 0x04, 0x00,
	                                         T_SYNCML_C, END };

	err = expect_fail_lim(truncated, sizeof truncated, NULL, NULL,
	                      DMSC_DM_MALFORMED, "WBXML byte 9: truncated");
	ck_assert_uint_eq(err.offset, 9);
	ck_assert_int_eq(err.line, 0);
	expect_fail_lim(charset, sizeof charset, NULL, NULL,
	                DMSC_DM_UNSUPPORTED, "is not UTF-8");
	wbxml_data(&b, "chr", "x", 1, false);
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "max_depth (2)");
	lim = (dmsc_dm_limits){ .max_elements = 3 };
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "max_elements (3)");
	lim = (dmsc_dm_limits){ .max_input = 10 };
	expect_fail_lim(b.data, b.len, NULL, &lim, DMSC_DM_LIMIT,
	                "larger than max_input (10)");
	/* Every truncation of a vector fails cleanly. */
	{
		size_t len;
		unsigned char *buf = read_vector("canon/replace.wbxml", &len);

		for (size_t cut = 5; cut < len; cut++) {
			struct collect c;

			ck_assert_int_lt(canon_sel_lim(buf, cut, NULL, NULL, &c, &err),
			                 0);
			ck_assert_uint_eq(c.out.len, 0);
			collect_free(&c);
		}
		free(buf);
	}
	free(b.data);
}
END_TEST

START_TEST(test_parse_api)
{
	static const char tnds[] = "<MgmtTree xmlns='syncml:dmddf1.2'/>";
	static const char dm11[] = "<SyncML xmlns='SYNCML:SYNCML1.1'/>";
	xmlDocPtr doc = (xmlDocPtr)1;
	dmsc_dm_kind kind = 0;
	dmsc_dm_error err;

	ck_assert_int_eq(dmsc_dm_parse((const unsigned char *)tnds,
	                               sizeof tnds - 1, NULL, &doc, &kind, &err),
	                 DMSC_DM_OK);
	ck_assert_int_eq(kind, DMSC_DM_TNDS);
	xmlFreeDoc(doc);
	ck_assert_int_eq(dmsc_dm_parse((const unsigned char *)dm11,
	                               sizeof dm11 - 1, NULL, &doc, &kind, NULL),
	                 DMSC_DM_OK);
	ck_assert_int_eq(kind, DMSC_DM_SYNCML11);
	xmlFreeDoc(doc);
	{
		size_t len;
		unsigned char *buf = read_vector("canon/replace.wbxml", &len);

		ck_assert_int_eq(dmsc_dm_parse(buf, len, NULL, &doc, &kind, &err),
		                 DMSC_DM_OK);
		ck_assert_int_eq(kind, DMSC_DM_SYNCML12);
		xmlFreeDoc(doc);
		free(buf);
	}
	ck_assert_int_eq(dmsc_dm_parse((const unsigned char *)"abc", 3, NULL,
	                               &doc, NULL, &err), DMSC_DM_UNSUPPORTED);
	ck_assert_ptr_null(doc);
	ck_assert_ptr_nonnull(strstr(err.message, "neither"));
	ck_assert_int_eq(dmsc_dm_parse(NULL, 3, NULL, &doc, NULL, &err),
	                 DMSC_DM_BAD_ARGS);
	ck_assert_int_eq(dmsc_dm_parse((const unsigned char *)"<a/>", 4, NULL,
	                               NULL, NULL, &err), DMSC_DM_BAD_ARGS);
}
END_TEST

START_TEST(test_base64)
{
	unsigned char out[16];
	char enc[16];
	size_t n, bad;

	ck_assert_uint_eq(dmsc_base64_encoded_len(0), 0);
	ck_assert_uint_eq(dmsc_base64_encoded_len(4), 8);
	ck_assert_uint_eq(dmsc_base64_encode((const unsigned char *)"ab", 2, enc),
	                  4);
	ck_assert(memcmp(enc, "YWI=", 4) == 0);
	ck_assert(dmsc_base64_decode("YWI=", 4, false, out, &n, &bad));
	ck_assert_uint_eq(n, 2);
	ck_assert(dmsc_base64_decode("", 0, false, out, &n, &bad));
	ck_assert_uint_eq(n, 0);
	ck_assert(!dmsc_base64_decode("YW I=", 5, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 2);
	ck_assert(dmsc_base64_decode("YW I=\n", 6, true, out, &n, &bad));
	ck_assert(!dmsc_base64_decode("Y===", 4, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 1);
	ck_assert(!dmsc_base64_decode("YW=I", 4, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 3);
	ck_assert(!dmsc_base64_decode("YWI=YWI=", 8, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 4);
	ck_assert(!dmsc_base64_decode("YWI", 3, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 3);
	ck_assert(!dmsc_base64_decode("YW-_", 4, false, out, &n, &bad));
	ck_assert_uint_eq(bad, 2);
}
END_TEST

/* ---- Out of memory: fail each allocation in turn ---- */

static long alloc_countdown = -1;   /* fail when it reaches 0; <0: never */
static bool alloc_failed;
static xmlFreeFunc real_free;
static xmlMallocFunc real_malloc;
static xmlReallocFunc real_realloc;
static xmlStrdupFunc real_strdup;

static bool alloc_should_fail(void)
{
	if (alloc_countdown < 0 || alloc_countdown-- != 0)
		return false;
	alloc_failed = true;
	return true;
}

static void *failing_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : real_malloc(n);
}

static void *failing_realloc(void *ptr, size_t n)
{
	return alloc_should_fail() ? NULL : real_realloc(ptr, n);
}

static char *failing_strdup(const char *s)
{
	char *copy = failing_malloc(strlen(s) + 1);

	return copy != NULL ? strcpy(copy, s) : NULL;
}

static void quiet_errors(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* Each allocation failure gives NOMEM (libxml2 2.9 turns a few into
 * other errors, which must still be failures) and leaks nothing; no
 * failure gives the right output. */
static void check_out_of_memory(const char *name, bool stream)
{
	size_t len;
	unsigned char *buf = read_vector(name, &len);
	char *want = canon_file(name);
	long n;
	int nomem = 0;

	xmlMemGet(&real_free, &real_malloc, &real_realloc, &real_strdup);
	xmlSetGenericErrorFunc(NULL, quiet_errors);
	xmlMemSetup(real_free, failing_malloc, failing_realloc, failing_strdup);
	for (n = 0;; n++) {
		struct collect c;
		dmsc_dm_error err;
		int rc;

		alloc_countdown = n;
		alloc_failed = false;
		if (stream)
			rc = stream_in_chunks(buf, len, 100, NULL, NULL, &c, &err);
		else
			rc = canon_sel_lim(buf, len, NULL, NULL, &c, &err);
		alloc_countdown = -1;
		if (!alloc_failed) {
			ck_assert_int_eq(rc, DMSC_DM_OK);
			ck_assert_str_eq((char *)c.out.data, want);
			collect_free(&c);
			break;
		}
		if (rc == DMSC_DM_OK) {
			/* libxml2 absorbed the failure: the output is whole. */
			ck_assert_str_eq((char *)c.out.data, want);
		} else {
			ck_assert_msg(rc < 0, "allocation %ld: status %d", n, rc);
			nomem += rc == DMSC_DM_NOMEM;
		}
		collect_free(&c);
	}
	xmlMemSetup(real_free, real_malloc, real_realloc, real_strdup);
	xmlSetGenericErrorFunc(NULL, NULL);
	ck_assert_int_gt(n, 10);
	ck_assert_int_gt(nomem, n / 2);
	free(want);
	free(buf);
}

static const char *const oom_inputs[] = {
	"canon/replace.comment.xml", "canon/replace.wbxml",
	"canon/binary.bin.wbxml", "canon/binary.b64.wbxml",
	"canon/tnds.xml", "canon/replace.latin1.xml",
};
#define OOM_COUNT ((int)(sizeof oom_inputs / sizeof oom_inputs[0]))

START_TEST(test_out_of_memory)
{
	check_out_of_memory(oom_inputs[_i], false);
}
END_TEST

START_TEST(test_out_of_memory_stream)
{
	check_out_of_memory(oom_inputs[_i], true);
}
END_TEST

static Suite *canon_suite(void)
{
	Suite *s = suite_create("canon");
	TCase *vectors = tcase_create("vectors");
	TCase *rules = tcase_create("rules");
	TCase *stream = tcase_create("streaming");
	TCase *errors = tcase_create("errors");

	tcase_add_loop_test(vectors, test_group, 0, GROUP_COUNT);
	tcase_add_test(vectors, test_group_detect);
	tcase_add_loop_test(vectors, test_wbxml_pairs, 0, PAIR_COUNT);
	tcase_add_test(vectors, test_bootstrap_bin_from_libwbxml);
	tcase_add_test(vectors, test_select_syncbody_and_cmdid);
	suite_add_tcase(s, vectors);

	tcase_add_test(rules, test_select_commands);
	tcase_add_test(rules, test_select_errors);
	tcase_add_test(rules, test_whitespace);
	tcase_add_test(rules, test_comments_pi_cdata);
	tcase_add_test(rules, test_namespaces);
	tcase_add_test(rules, test_b64_normalised);
	tcase_add_test(rules, test_bin_is_b64);
	tcase_add_test(rules, test_which_meta);
	tcase_add_test(rules, test_bin_rewrite_where_read);
	tcase_add_test(rules, test_unread_bin_not_confused);
	tcase_add_test(rules, test_format_opaque_after_data);
	tcase_add_test(rules, test_nested_item_reads_bin);
	tcase_add_test(rules, test_binary_and_text_readings);
	tcase_add_test(rules, test_opaque_mixing);
	tcase_add_test(rules, test_many_data);
	tcase_add_test(rules, test_opaque_by_format);
	tcase_add_test(rules, test_canonical_base64_kept);
	tcase_add_test(rules, test_opaque_elsewhere_is_text);
	tcase_add_test(rules, test_tnds_value_format);
	tcase_add_test(rules, test_data_errors);
	tcase_add_test(rules, test_base64);
	suite_add_tcase(s, rules);

	tcase_add_test(stream, test_opaque_passthrough);
	tcase_add_test(stream, test_detect);
	tcase_add_test(stream, test_stream_vectors);
	tcase_add_test(stream, test_stream_opaque_and_errors);
	tcase_add_test(stream, test_stream_opaque_is_not_held);
	tcase_add_test(stream, test_stream_empty_parts);
	tcase_add_test(stream, test_stream_limits_and_sink);
	tcase_add_test(stream, test_corpus_properties);
	suite_add_tcase(s, stream);

	tcase_add_test(errors, test_malformed_xml);
	tcase_add_test(errors, test_malformed_latin1_offset);
	tcase_add_test(errors, test_converter_error);
	tcase_add_test(errors, test_root_refused);
	tcase_add_test(errors, test_nothing_loaded);
	tcase_add_test(errors, test_doctype_refused);
	tcase_add_test(errors, test_warnings_refused);
	tcase_add_test(errors, test_limits);
	tcase_add_test(errors, test_wbxml_errors);
	tcase_add_test(errors, test_parse_api);
	tcase_add_loop_test(errors, test_out_of_memory, 0, OOM_COUNT);
	tcase_add_loop_test(errors, test_out_of_memory_stream, 0, OOM_COUNT);
	suite_add_tcase(s, errors);

	/* Valgrind runs are slow. */
	tcase_set_timeout(vectors, 300);
	tcase_set_timeout(rules, 300);
	tcase_set_timeout(stream, 300);
	tcase_set_timeout(errors, 600);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xmlInitParser();
	sr = srunner_create(canon_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
