/*
 * dm-ext/test-wbxml.c - tests of the WBXML decoder.
 *
 * Round trips: DM messages written as XML (dm-ext/vectors/NAME.xml) were
 * encoded by libwbxml's xml2wbxml, an independent encoder
 * (dm-ext/vectors/README); each WBXML is decoded here and compared with
 * the XML parsed by libxml2.  Then every error path once, with hand-made
 * WBXML bytes.
 */
#include "wbxml.h"

#include <check.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DMSC_DMEXT_VECTORS
#define DMSC_DMEXT_VECTORS "dm-ext/vectors"
#endif

/* WBXML 1.3 headers: version, public ID, charset UTF-8, empty string table. */
#define HDR_SYNCML12 0x03, 0xA4, 0x01, 0x6A, 0x00
#define HDR_SYNCML11 0x03, 0x9F, 0x53, 0x6A, 0x00
#define HDR_METINF12 0x03, 0xA4, 0x02, 0x6A, 0x00

/* Tag tokens used below (content bit 0x40 set where named _C). */
#define T_SYNCML_C 0x6D
#define T_SYNCBODY_C 0x6B
#define T_FINAL 0x12
#define T_ATOMIC_C 0x48
#define T_DATA_C 0x4F
#define T_META_C 0x5A
#define T_LOCURI_C 0x57
#define T_CMDID_C 0x4B
#define M_TYPE_C 0x53       /* MetInf page */
#define M_FORMAT_C 0x47
#define END 0x01

/* ---- Helpers ---- */

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
	*len = (size_t)size;
	return buf;
}

static xmlDocPtr parse_vector_xml(const char *name)
{
	char path[1024];
	xmlDocPtr doc = xmlReadFile(vector_path(name, path, sizeof path), NULL,
	                            XML_PARSE_NONET);

	ck_assert_msg(doc != NULL, "cannot parse %s", path);
	return doc;
}

static xmlDocPtr decode_ok_lim(const unsigned char *buf, size_t len,
                               const dmsc_wbxml_limits *lim)
{
	xmlDocPtr doc = NULL;
	dmsc_wbxml_error err;
	int rc = dmsc_wbxml_decode(buf, len, lim, &doc, &err);

	ck_assert_msg(rc == DMSC_WBXML_OK, "decode failed (%d) at %zu: %s", rc,
	              err.offset, err.message);
	ck_assert_ptr_nonnull(doc);
	return doc;
}

static xmlDocPtr decode_ok(const unsigned char *buf, size_t len)
{
	return decode_ok_lim(buf, len, NULL);
}

/* Decoding must fail with this status, at this offset, saying this. */
static void expect_fail_lim(const unsigned char *buf, size_t len,
                            const dmsc_wbxml_limits *lim, int status,
                            size_t offset, const char *says)
{
	xmlDocPtr doc = (xmlDocPtr)1;
	dmsc_wbxml_error err;
	int rc = dmsc_wbxml_decode(buf, len, lim, &doc, &err);

	ck_assert_msg(rc == status, "status %d, expected %d (%zu: %s)", rc,
	              status, err.offset, err.message);
	ck_assert_ptr_null(doc);
	ck_assert_msg(err.offset == offset, "offset %zu, expected %zu (%s)",
	              err.offset, offset, err.message);
	ck_assert_msg(strstr(err.message, says) != NULL,
	              "message \"%s\" does not say \"%s\"", err.message, says);
}

static void expect_fail(const unsigned char *buf, size_t len, int status,
                        size_t offset, const char *says)
{
	expect_fail_lim(buf, len, NULL, status, offset, says);
}

/* A growing byte buffer for generated inputs. */
struct bytes {
	unsigned char *data;
	size_t len;
	size_t cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
		ck_assert_ptr_nonnull(b->data);
	}
	memcpy(b->data + b->len, src, n);
	b->len += n;
}

static void put_u8(struct bytes *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(b, &c, 1);
}

static void put_mb(struct bytes *b, uint32_t v)
{
	unsigned char tmp[5];
	int n = 0;

	do {
		tmp[n++] = (unsigned char)(v & 0x7F);
		v >>= 7;
	} while (v != 0);
	while (n > 1)
		put_u8(b, tmp[--n] | 0x80u);
	put_u8(b, tmp[0]);
}

/* ---- Tree comparison ---- */

static bool blank(const xmlChar *s)
{
	for (; s != NULL && *s != 0; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static int base64_value(int c)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != 0 ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

/* Decodes padded base64 in place; returns the length. */
static size_t base64_decode(char *s)
{
	size_t n = strlen(s), out = 0;

	ck_assert_uint_eq(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : base64_value(s[i + k]);
		ck_assert(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0);
		s[out++] = (char)((v[0] << 2) | (v[1] >> 4));
		if (s[i + 2] != '=')
			s[out++] = (char)(((v[1] & 0xF) << 4) | (v[2] >> 2));
		if (s[i + 3] != '=')
			s[out++] = (char)(((v[2] & 0x3) << 6) | v[3]);
	}
	s[out] = 0;
	return out;
}

/* The text of consecutive text nodes from *n on; *n moves past them. */
static char *take_text(xmlNodePtr *n)
{
	struct bytes b = { 0 };

	for (; *n != NULL; *n = (*n)->next) {
		if ((*n)->type == XML_TEXT_NODE || (*n)->type == XML_CDATA_SECTION_NODE)
			put(&b, (*n)->content, strlen((const char *)(*n)->content));
		else if ((*n)->type != XML_COMMENT_NODE)
			break;
	}
	put_u8(&b, 0);
	return (char *)b.data;
}

/* The next element or non-blank text run, NULL at the end. */
static xmlNodePtr next_item(xmlNodePtr n, char **text)
{
	*text = NULL;
	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE)
			return n;
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			xmlNodePtr start = n;
			char *t = take_text(&n);

			if (!blank((const xmlChar *)t)) {
				*text = t;
				return start;
			}
			free(t);
			continue;
		}
		n = n->next;
	}
	return NULL;
}

static xmlNodePtr skip_item(xmlNodePtr n)
{
	if (n->type == XML_ELEMENT_NODE)
		return n->next;
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static void compare_elements(xmlNodePtr got, xmlNodePtr want);

static void compare_attributes(xmlNodePtr got, xmlNodePtr want)
{
	int ngot = 0, nwant = 0;

	for (xmlAttrPtr a = got->properties; a != NULL; a = a->next)
		ngot++;
	for (xmlAttrPtr a = want->properties; a != NULL; a = a->next) {
		xmlChar *v = xmlGetNsProp(got, a->name,
		                          a->ns != NULL ? a->ns->href : NULL);
		xmlChar *w = xmlNodeGetContent((xmlNodePtr)a);

		ck_assert_msg(v != NULL, "<%s> lacks attribute %s", want->name,
		              a->name);
		ck_assert_str_eq((char *)v, (char *)w);
		xmlFree(v);
		xmlFree(w);
		nwant++;
	}
	ck_assert_int_eq(ngot, nwant);
}

/* libwbxml writes <Data> text as OPAQUE, which decodes to base64 on an
 * element marked binary: for its vectors, compare the bytes under the
 * base64 with the XML text.  Elsewhere base64 text is compared as text
 * (the design rule: binary OPAQUE == its base64 as XML text). */
static bool opaque_holds_text;

/* Text of an element marked binary is base64 of the original bytes. */
static void compare_text(xmlNodePtr got_parent, char *got, const char *want)
{
	if (opaque_holds_text && dmsc_wbxml_is_binary(got_parent)) {
		size_t n = base64_decode(got);

		ck_assert_uint_eq(n, strlen(want));
	}
	ck_assert_msg(strcmp(got, want) == 0, "<%s>: \"%s\" != \"%s\"",
	              got_parent->name, got, want);
}

static void compare_children(xmlNodePtr got, xmlNodePtr want)
{
	xmlNodePtr g = got->children, w = want->children;

	for (;;) {
		char *gt, *wt;

		g = next_item(g, &gt);
		w = next_item(w, &wt);
		ck_assert_msg((g == NULL) == (w == NULL),
		              "<%s>: different number of children", want->name);
		if (g == NULL)
			return;
		ck_assert_msg((gt == NULL) == (wt == NULL),
		              "<%s>: text where the other has an element", want->name);
		if (gt != NULL)
			compare_text(got, gt, wt);
		else
			compare_elements(g, w);
		free(gt);
		free(wt);
		g = skip_item(g);
		w = skip_item(w);
	}
}

static void compare_elements(xmlNodePtr got, xmlNodePtr want)
{
	const xmlChar *gns = got->ns != NULL ? got->ns->href : NULL;
	const xmlChar *wns = want->ns != NULL ? want->ns->href : NULL;

	ck_assert_str_eq((const char *)got->name, (const char *)want->name);
	ck_assert_msg((gns == NULL && wns == NULL) ||
	              (gns != NULL && wns != NULL && xmlStrEqual(gns, wns)),
	              "<%s>: namespace %s != %s", want->name,
	              gns ? (const char *)gns : "(none)",
	              wns ? (const char *)wns : "(none)");
	compare_attributes(got, want);
	compare_children(got, want);
}

static void compare_docs(xmlDocPtr got, xmlDocPtr want)
{
	compare_elements(xmlDocGetRootElement(got), xmlDocGetRootElement(want));
}

/* Decoded WBXML equals the XML it was made from. */
static void check_vector(const char *wbxml, const char *xml)
{
	size_t len;
	unsigned char *buf = read_vector(wbxml, &len);
	xmlDocPtr got, want;

	ck_assert(dmsc_wbxml_looks_like(buf, len));
	got = decode_ok(buf, len);
	want = parse_vector_xml(xml);
	opaque_holds_text = true;
	compare_docs(got, want);
	opaque_holds_text = false;
	xmlFreeDoc(got);
	xmlFreeDoc(want);
	free(buf);
}

static const struct {
	const char *wbxml, *xml;
} vectors[] = {
	{ "dm12-replace.wbxml", "dm12-replace.xml" },
	{ "dm12-replace.v11.wbxml", "dm12-replace.xml" },
	{ "dm12-commands.wbxml", "dm12-commands.xml" },
	{ "dm12-bootstrap.wbxml", "dm12-bootstrap.xml" },
	{ "dm12-bootstrap.v12.wbxml", "dm12-bootstrap.xml" },
	{ "dm12-tnds.wbxml", "dm12-tnds.xml" },
	{ "dm12-tnds-in-data.wbxml", "dm12-tnds-in-data.xml" },
	{ "dm11-replace.wbxml", "dm11-replace.xml" },
	{ "metinf12.wbxml", "metinf12.xml" },
	{ "all-tags-syncml12.wbxml", "all-tags-syncml12.xml" },
	{ "all-tags-syncml11.wbxml", "all-tags-syncml11.xml" },
	{ "all-tags-dmddf12.wbxml", "all-tags-dmddf12.xml" },
};
#define VECTOR_COUNT ((int)(sizeof vectors / sizeof vectors[0]))

/* Hand-made inputs for what xml2wbxml does not write (attributes,
 * literals, entities, inline DDF, page switches back). */
static const unsigned char hand_attributes[] = {
	0x03, 0xA4, 0x01, 0x6A, 0x0E,
	'V', 'e', 'n', 'd', 'o', 'r', 0x00, 'n', 'a', 'm', 'e', 0x00, 'x', 0x00,
	T_SYNCML_C,
	0xC4, 0x00,                     /* LITERAL_AC "Vendor" */
	0x04, 0x07,                     /* attribute "name" */
	0x03, 'a', 0x00, 0x02, 0x81, 0x69, 0x83, 0x0C, 0x03, '&', 0x00,
	0x04, 0x0C,                     /* attribute "x" */
	0x03, 'A', 'P', '8', '=', 0x00,
	END,
	0x03, 'v', 0x00, END,
	0x84, 0x0C, 0x04, 0x07, END,    /* LITERAL_A "x" name="" no content */
	END,
};

static const unsigned char hand_entities[] = {
	HDR_SYNCML12, T_SYNCML_C, T_CMDID_C, 0x02, 0x81, 0xE8, 0x1E,
	0x03, 0xC3, 0xA9, 0x00, 0x02, 0x87, 0xA2, 0x1E, 0x02, 0x09, END, END,
};

static const unsigned char hand_namespaces[] = {
	HDR_SYNCML12, T_SYNCML_C, T_META_C, 0x00, 0x01, M_TYPE_C, 0x03, 't',
	0x00, END, M_FORMAT_C, 0x03, 'f', 0x00, END, END, 0x00, 0x00,
	T_CMDID_C, 0x03, '1', 0x00, END, END,
};

static const unsigned char hand_inline_ddf[] = {
	HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0x00, 0x02, 0x60, 0x77, 0x03, '1',
	'.', '2', 0x00, END, END, END, END,
};

/* Text, then a WBXML document, in one <Data>. */
static const unsigned char hand_text_then_embedded[] = {
	HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0x03, 'x', 0x00, 0xC3, 0x06,
	HDR_SYNCML12, T_FINAL, END, END,
};

/* A WBXML document, then blanks as a binary OPAQUE, in one <Data>: what
 * libwbxml writes for a TNDS in <Data> with layout around it. */
static const unsigned char hand_embedded_then_blanks[] = {
	HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x06,
	HDR_SYNCML12, T_FINAL, 0xC3, 0x04, '\r', '\n', ' ', ' ', END, END,
};

static const struct {
	const unsigned char *data;
	size_t len;
} hand_inputs[] = {
	{ hand_text_then_embedded, sizeof hand_text_then_embedded },
	{ hand_embedded_then_blanks, sizeof hand_embedded_then_blanks },
	{ hand_attributes, sizeof hand_attributes },
	{ hand_entities, sizeof hand_entities },
	{ hand_namespaces, sizeof hand_namespaces },
	{ hand_inline_ddf, sizeof hand_inline_ddf },
};
#define HAND_COUNT ((int)(sizeof hand_inputs / sizeof hand_inputs[0]))

/* ---- Round trips ---- */

START_TEST(test_vector)
{
	check_vector(vectors[_i].wbxml, vectors[_i].xml);
}
END_TEST

/* The all-tags vectors cross-check every token of every table against
 * libwbxml's: they hold every tag once, and libwbxml wrote each as a
 * token, not a LITERAL name (the string tables are empty but for the
 * DDF public ID), so a wrong token would decode to a wrong name. */
START_TEST(test_all_tags_are_tokens)
{
	static const struct {
		const char *name;
		unsigned table_len;
	} all[] = {
		{ "all-tags-syncml12.wbxml", 0 },
		{ "all-tags-syncml11.wbxml", 0 },
		{ "all-tags-dmddf12.wbxml", sizeof "-//OMA//DTD-DM-DDF 1.2//EN" },
	};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		size_t len;
		unsigned char *buf = read_vector(all[i].name, &len);

		/* version, public ID (2 bytes, or 0 and index 0), charset: the
		 * string table length is byte 4 in all three. */
		ck_assert_uint_eq(buf[4], all[i].table_len);
		free(buf);
	}
}
END_TEST

/* The embedded TNDS is a tree under <Data>, in its own namespace. */
START_TEST(test_tnds_in_data_is_a_tree)
{
	size_t len;
	unsigned char *buf = read_vector("dm12-tnds-in-data.wbxml", &len);
	xmlDocPtr doc = decode_ok(buf, len);
	xmlNodePtr n = xmlDocGetRootElement(doc);

	/* SyncML/SyncBody/Add/Item/Data/MgmtTree */
	n = xmlLastElementChild(n);
	n = xmlFirstElementChild(n);
	n = xmlLastElementChild(n);
	n = xmlLastElementChild(n);
	ck_assert_str_eq((const char *)n->name, "Data");
	ck_assert(!dmsc_wbxml_is_binary(n));
	n = xmlFirstElementChild(n);
	ck_assert_str_eq((const char *)n->name, "MgmtTree");
	ck_assert_str_eq((const char *)n->ns->href, "syncml:dmddf1.2");
	ck_assert_ptr_nonnull(n->nsDef);
	xmlFreeDoc(doc);
	free(buf);
}
END_TEST

/* DM 1.3 names SyncML 1.2 by its string public ID: same tree. */
START_TEST(test_string_public_id)
{
	static const char id[] = "-//SYNCML//DTD SyncML 1.2//EN";
	size_t len;
	unsigned char *buf = read_vector("dm12-replace.wbxml", &len);
	/* 03 A4 01 6A <table length> <table>: the ID goes after the table,
	 * so the body's STR_T indices stay right. */
	size_t table = buf[4];
	struct bytes b = { 0 };
	xmlDocPtr got, want;

	ck_assert_uint_lt(table, 0x80 - sizeof id);
	put_u8(&b, 0x03);
	put_u8(&b, 0x00);           /* public ID in the string table */
	put_mb(&b, (uint32_t)table);
	put_u8(&b, 0x6A);
	put_mb(&b, (uint32_t)(table + sizeof id));
	put(&b, buf + 5, table);
	put(&b, id, sizeof id);
	put(&b, buf + 5 + table, len - 5 - table);
	ck_assert(dmsc_wbxml_looks_like(b.data, b.len));
	got = decode_ok(b.data, b.len);
	want = parse_vector_xml("dm12-replace.xml");
	opaque_holds_text = true;
	compare_docs(got, want);
	opaque_holds_text = false;
	xmlFreeDoc(got);
	xmlFreeDoc(want);
	free(b.data);
	free(buf);
}
END_TEST

/* The design rule: a binary OPAQUE in WBXML gives the same tree as its
 * base64 as text in XML, and the element says it was binary. */
START_TEST(test_binary_opaque_is_base64)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x04, 0x00, 0xFF, 0x10, 0x80,
		END, END,
	};
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Data>AP8QgA==</Data></SyncML>";
	xmlDocPtr got = decode_ok(wb, sizeof wb);
	xmlDocPtr want = xmlReadMemory(xml, sizeof xml - 1, NULL, NULL, 0);
	xmlNodePtr data = xmlFirstElementChild(xmlDocGetRootElement(got));
	xmlChar *text = xmlNodeGetContent(data);

	ck_assert(dmsc_wbxml_is_binary(data));
	ck_assert(!dmsc_wbxml_is_binary(xmlDocGetRootElement(got)));
	ck_assert_str_eq((char *)text, "AP8QgA==");
	/* The comparison, text for text, as the canonicaliser sees it. */
	compare_elements(xmlDocGetRootElement(got), xmlDocGetRootElement(want));
	xmlFree(text);
	xmlFreeDoc(got);
	xmlFreeDoc(want);
}
END_TEST

/* OPAQUE anywhere else is binary too; empty OPAQUE gives no text. */
START_TEST(test_opaque_outside_data)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_LOCURI_C, 0xC3, 0x03, 'a', 'b', 'c', END,
		T_DATA_C, 0xC3, 0x00, END, END,
	};
	xmlDocPtr doc = decode_ok(wb, sizeof wb);
	xmlNodePtr loc = xmlFirstElementChild(xmlDocGetRootElement(doc));
	xmlChar *text = xmlNodeGetContent(loc);

	ck_assert(dmsc_wbxml_is_binary(loc));
	ck_assert_str_eq((char *)text, "YWJj");
	ck_assert(dmsc_wbxml_is_binary(loc->next));
	ck_assert_ptr_null(loc->next->children);
	xmlFree(text);
	xmlFreeDoc(doc);
}
END_TEST

/* A binary OPAQUE beside elements (an embedded document here) is one text
 * node of its own, on a marked element: as libwbxml writes the layout
 * around a TNDS in <Data>. */
START_TEST(test_binary_opaque_beside_elements)
{
	static const unsigned char child_strings[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x01, 'a',
		T_LOCURI_C, 0x03, 'x', 0x00, END, END, END,
	};
	xmlDocPtr doc = decode_ok(hand_embedded_then_blanks,
	                          sizeof hand_embedded_then_blanks);
	xmlNodePtr data = xmlFirstElementChild(xmlDocGetRootElement(doc));
	xmlNodePtr inner = data->children;
	size_t len;
	unsigned char *buf;

	ck_assert(dmsc_wbxml_is_binary(data));
	ck_assert_str_eq((const char *)inner->name, "Final");
	ck_assert(!dmsc_wbxml_is_binary(inner));
	ck_assert_int_eq(inner->next->type, XML_TEXT_NODE);
	ck_assert_str_eq((const char *)inner->next->content, "DQogIA==");
	ck_assert_ptr_null(inner->next->next);
	xmlFreeDoc(doc);

	/* Strings in a child element are the child's, not the Data's. */
	doc = decode_ok(child_strings, sizeof child_strings);
	data = xmlFirstElementChild(xmlDocGetRootElement(doc));
	ck_assert(dmsc_wbxml_is_binary(data));
	ck_assert_str_eq((const char *)data->children->content, "YQ==");
	ck_assert(!dmsc_wbxml_is_binary(data->children->next));
	xmlFreeDoc(doc);

	/* The same from libwbxml: SyncML/SyncBody/Add/Item/Data holds the
	 * TNDS, then the blanks after it as an OPAQUE (CRLF line ends). */
	buf = read_vector("canon/inherit.b64.wbxml", &len);
	doc = decode_ok(buf, len);
	data = xmlLastElementChild(xmlDocGetRootElement(doc)); /* SyncBody */
	data = xmlFirstElementChild(data)->next;                /* Add */
	data = xmlLastElementChild(xmlLastElementChild(data));  /* Item/Data */
	ck_assert_str_eq((const char *)data->name, "Data");
	ck_assert(dmsc_wbxml_is_binary(data));
	inner = data->children;
	ck_assert_str_eq((const char *)inner->name, "MgmtTree");
	ck_assert_int_eq(inner->next->type, XML_TEXT_NODE);
	ck_assert_ptr_null(inner->next->next);
	{
		char *blanks = strdup((const char *)inner->next->content);
		size_t n = base64_decode(blanks);

		ck_assert_uint_gt(n, 2);
		ck_assert(blank((const xmlChar *)blanks));
		ck_assert(blanks[0] == '\r' && blanks[1] == '\n');
		free(blanks);
	}
	xmlFreeDoc(doc);
	free(buf);
}
END_TEST

/* Code page switches: <Meta><Type xmlns="syncml:metinf"> and back. */
START_TEST(test_namespaces_follow_code_pages)
{
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Meta>"
		"<Type xmlns='syncml:metinf'>t</Type>"
		"<Format xmlns='syncml:metinf'>f</Format></Meta>"
		"<CmdID>1</CmdID></SyncML>";
	xmlDocPtr got = decode_ok(hand_namespaces, sizeof hand_namespaces);
	xmlDocPtr want = xmlReadMemory(xml, sizeof xml - 1, NULL, NULL, 0);
	xmlNodePtr meta = xmlFirstElementChild(xmlDocGetRootElement(got));

	compare_docs(got, want);
	/* Declared where the namespace changes, not on the same-page parent. */
	ck_assert_ptr_null(meta->nsDef);
	ck_assert_ptr_nonnull(xmlFirstElementChild(meta)->nsDef);
	ck_assert_ptr_null(xmlDocGetRootElement(got)->ns->prefix);
	xmlFreeDoc(got);
	xmlFreeDoc(want);
}
END_TEST

/* DDF written inline in SyncML 1.2 on code page 2, and DDF / MetInf alone
 * on page 0 (no SWITCH_PAGE) give the same trees as with the switch. */
START_TEST(test_ddf_pages)
{
	static const char inline_xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'><Data>"
		"<MgmtTree xmlns='syncml:dmddf1.2'><VerDTD>1.2</VerDTD></MgmtTree>"
		"</Data></SyncML>";
	static const unsigned char metinf_page0[] = {
		HDR_METINF12, 0x4E, M_FORMAT_C, 0x03, 'b', '6', '4', 0x00, END, END,
	};
	static const char metinf_xml[] =
		"<MetInf xmlns='syncml:metinf'><Format>b64</Format></MetInf>";
	xmlDocPtr got = decode_ok(hand_inline_ddf, sizeof hand_inline_ddf);
	xmlDocPtr want = xmlReadMemory(inline_xml, sizeof inline_xml - 1, NULL,
	                               NULL, 0);
	size_t len;
	unsigned char *tnds = read_vector("dm12-tnds.wbxml", &len);
	unsigned char *body;

	compare_docs(got, want);
	xmlFreeDoc(got);
	xmlFreeDoc(want);

	got = decode_ok(metinf_page0, sizeof metinf_page0);
	want = xmlReadMemory(metinf_xml, sizeof metinf_xml - 1, NULL, NULL, 0);
	compare_docs(got, want);
	xmlFreeDoc(got);
	xmlFreeDoc(want);

	/* The vector switches to page 2 (00 02) first: drop the switch. */
	body = memmem(tnds, len, "\x00\x02\x60", 3);
	ck_assert_ptr_nonnull(body);
	memmove(body, body + 2, len - (size_t)(body + 2 - tnds));
	got = decode_ok(tnds, len - 2);
	want = parse_vector_xml("dm12-tnds.xml");
	opaque_holds_text = true;
	compare_docs(got, want);
	opaque_holds_text = false;
	xmlFreeDoc(got);
	xmlFreeDoc(want);
	free(tnds);
}
END_TEST

/* LITERAL tags take the current page's namespace; attributes come as
 * LITERAL names with STR_I / STR_T / ENTITY values. */
START_TEST(test_literals_and_attributes)
{
	static const char xml[] =
		"<SyncML xmlns='SYNCML:SYNCML1.2'>"
		"<Vendor name='a\xC3\xA9x&amp;' x='AP8='>v</Vendor><x name=''/>"
		"</SyncML>";
	xmlDocPtr got = decode_ok(hand_attributes, sizeof hand_attributes);
	xmlDocPtr want = xmlReadMemory(xml, sizeof xml - 1, NULL, NULL, 0);

	compare_docs(got, want);
	xmlFreeDoc(got);
	xmlFreeDoc(want);
}
END_TEST

START_TEST(test_entity_and_utf8)
{
	xmlDocPtr doc = decode_ok(hand_entities, sizeof hand_entities);
	xmlChar *text = xmlNodeGetContent(xmlDocGetRootElement(doc));

	/* U+741E (mb 81 E8 1E), é inline, U+1D11E (mb 87 A2 1E), tab */
	ck_assert_str_eq((char *)text, "\xE7\x90\x9E\xC3\xA9\xF0\x9D\x84\x9E\t");
	xmlFree(text);
	xmlFreeDoc(doc);
}
END_TEST

/* Valid multi-byte UTF-8, inline and from the string table. */
START_TEST(test_utf8_multibyte)
{
	static const char text[] = "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9D\x84\x9E "
	                           "\xEF\xBF\xBD\xF4\x8F\xBF\xBD\xEE\x80\x80";
	static const unsigned char hdr[] = { 0x03, 0xA4, 0x01, 0x6A };
	struct bytes b = { 0 };
	xmlDocPtr doc;
	xmlChar *content;

	put(&b, hdr, sizeof hdr);
	put_mb(&b, sizeof text);
	put(&b, text, sizeof text);
	put_u8(&b, T_SYNCML_C);
	put_u8(&b, 0x03);
	put(&b, text, sizeof text);
	put_u8(&b, 0x83);
	put_u8(&b, 0x00);
	put_u8(&b, END);
	doc = decode_ok(b.data, b.len);
	content = xmlNodeGetContent(xmlDocGetRootElement(doc));
	ck_assert_uint_eq(strlen((char *)content), 2 * strlen(text));
	ck_assert(strncmp((char *)content, text, strlen(text)) == 0);
	ck_assert_str_eq((char *)content + strlen(text), text);
	xmlFree(content);
	xmlFreeDoc(doc);
	free(b.data);
}
END_TEST

/* SWITCH_PAGE in an attribute list switches attribute pages, which hold
 * no tokens here: accepted, and it changes nothing. */
START_TEST(test_attribute_page_switch)
{
	static const unsigned char wb[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x02, 'a', 0x00,
		0xAD, 0x00, 0x05, 0x04, 0x00, 0x03, 'v', 0x00, 0x00, 0x00, END,
	};
	xmlDocPtr doc = decode_ok(wb, sizeof wb);
	xmlChar *v = xmlGetProp(xmlDocGetRootElement(doc), (const xmlChar *)"a");

	ck_assert_str_eq((char *)v, "v");
	xmlFree(v);
	xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_looks_like)
{
	static const unsigned char xml[] = "<?xml version='1.0'?><SyncML/>";
	static const unsigned char wb[] = { HDR_SYNCML12, 0x2D };
	static const unsigned char short_hdr[] = { 0x03, 0xA4 };
	static const unsigned char binary[] = { 0x03, 0x00, 0x05, 0x6A, 0x02,
	                                        'x', 0x00 };
	static const unsigned char unknown[] = { 0x03, 0x01, 0x6A, 0x00 };

	ck_assert(!dmsc_wbxml_looks_like(xml, sizeof xml - 1));
	ck_assert(!dmsc_wbxml_looks_like(wb, 0));
	ck_assert(!dmsc_wbxml_looks_like(NULL, 10));
	ck_assert(dmsc_wbxml_looks_like(wb, sizeof wb));
	ck_assert(!dmsc_wbxml_looks_like(short_hdr, sizeof short_hdr));
	ck_assert(!dmsc_wbxml_looks_like(binary, sizeof binary));
	ck_assert(!dmsc_wbxml_looks_like(unknown, sizeof unknown));
}
END_TEST

/* ---- Every error path ---- */

/* Cut at every byte: always a clean failure, never a crash or a leak. */
static void check_truncations(const unsigned char *buf, size_t len,
                              const char *name)
{
	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly cut bytes, so ASan sees any overread. */
		unsigned char *part = malloc(cut + 1);
		xmlDocPtr doc = (xmlDocPtr)1;
		dmsc_wbxml_error err;
		int rc;

		memcpy(part, buf, cut);
		rc = dmsc_wbxml_decode(part, cut, NULL, &doc, &err);
		ck_assert_msg(rc != DMSC_WBXML_OK, "%s cut at %zu decoded", name,
		              cut);
		ck_assert_ptr_null(doc);
		ck_assert_uint_le(err.offset, cut);
		ck_assert_msg(err.message[0] != 0, "no message at cut %zu", cut);
		free(part);
	}
}

START_TEST(test_truncated_everywhere)
{
	size_t len;
	unsigned char *buf = read_vector(vectors[_i].wbxml, &len);

	check_truncations(buf, len, vectors[_i].wbxml);
	free(buf);
}
END_TEST

START_TEST(test_truncated_hand_inputs)
{
	check_truncations(hand_inputs[_i].data, hand_inputs[_i].len,
	                  "hand-made input");
}
END_TEST

START_TEST(test_bad_version)
{
	static const unsigned char v0[] = { 0x00, 0xA4, 0x01, 0x6A, 0x00, 0x2D };
	static const unsigned char v4[] = { 0x04, 0xA4, 0x01, 0x6A, 0x00, 0x2D };

	expect_fail(v0, sizeof v0, DMSC_WBXML_UNSUPPORTED, 0,
	            "WBXML version byte 0x00");
	expect_fail(v4, sizeof v4, DMSC_WBXML_UNSUPPORTED, 0,
	            "expected 0x01-0x03");
	expect_fail(v4, 0, DMSC_WBXML_MALFORMED, 0, "expected the WBXML version");
}
END_TEST

START_TEST(test_unknown_public_id)
{
	static const unsigned char syncml10[] = { 0x03, 0x9F, 0x51, 0x6A, 0x00,
	                                          0x2D };
	static const unsigned char unknown[] = { 0x03, 0x01, 0x6A, 0x00, 0x2D };
	static const unsigned char text[] = {
		0x03, 0x00, 0x00, 0x6A, 0x1C, '-', '/', '/', 'W', 'A', 'P', 'F', 'O',
		'R', 'U', 'M', '/', '/', 'D', 'T', 'D', ' ', 'S', 'I', ' ', '1', '.',
		'0', '/', '/', 'E', 'N', 0x00, 0x45, 0x01,
	};

	expect_fail(syncml10, sizeof syncml10, DMSC_WBXML_UNSUPPORTED, 1,
	            "unknown public identifier 0xFD1");
	expect_fail(unknown, sizeof unknown, DMSC_WBXML_UNSUPPORTED, 1,
	            "unknown public identifier 0x1");
	expect_fail(text, sizeof text, DMSC_WBXML_UNSUPPORTED, 2,
	            "unknown public identifier \"-//WAPFORUM//DTD SI 1.0//EN\"");
}
END_TEST

START_TEST(test_mb_u_int32_too_long)
{
	static const unsigned char six[] = { 0x03, 0x80, 0x80, 0x80, 0x80, 0x80,
	                                     0x01, 0x6A, 0x00, 0x2D };
	static const unsigned char wide[] = { 0x03, 0x90, 0x80, 0x80, 0x80, 0x00,
	                                      0x6A, 0x00, 0x2D };
	static const unsigned char len_in_opaque[] = {
		HDR_SYNCML12, T_SYNCML_C, 0xC3, 0x80, 0x80, 0x80, 0x80, 0x81, 0x7F,
	};
	/* 0x8F FF FF FF 7F = 2^32 - 1: fits, then runs past the end. */
	static const unsigned char max[] = { HDR_SYNCML12, T_SYNCML_C, 0xC3, 0x8F,
	                                     0xFF, 0xFF, 0xFF, 0x7F };

	expect_fail(six, sizeof six, DMSC_WBXML_MALFORMED, 1,
	            "longer than 5 bytes");
	expect_fail(wide, sizeof wide, DMSC_WBXML_MALFORMED, 1,
	            "does not fit in 32 bits");
	expect_fail(len_in_opaque, sizeof len_in_opaque, DMSC_WBXML_MALFORMED, 7,
	            "longer than 5 bytes");
	expect_fail(max, sizeof max, DMSC_WBXML_MALFORMED, 7,
	            "OPAQUE of 4294967295 bytes runs past the end");
}
END_TEST

START_TEST(test_string_table_index_out_of_range)
{
	static const unsigned char str_t[] = { 0x03, 0xA4, 0x01, 0x6A, 0x02, 'a',
	                                       0x00, T_SYNCML_C, 0x83, 0x02, END };
	static const unsigned char literal[] = { 0x03, 0xA4, 0x01, 0x6A, 0x02, 'a',
	                                         0x00, 0x04, 0x05 };
	static const unsigned char unterminated[] = { 0x03, 0xA4, 0x01, 0x6A,
	                                              0x02, 'a', 'b', T_SYNCML_C,
	                                              0x83, 0x00, END };
	static const unsigned char public_index[] = { 0x03, 0x00, 0x03, 0x6A,
	                                              0x01, 0x00, 0x2D };
	static const unsigned char table_past_end[] = { 0x03, 0xA4, 0x01, 0x6A,
	                                                0x05, 'a', 0x00 };

	expect_fail(str_t, sizeof str_t, DMSC_WBXML_MALFORMED, 9,
	            "string table index 2 is out of range (the table has 2 bytes)");
	expect_fail(literal, sizeof literal, DMSC_WBXML_MALFORMED, 8,
	            "string table index 5 is out of range");
	expect_fail(unterminated, sizeof unterminated, DMSC_WBXML_MALFORMED, 9,
	            "is not terminated inside the string table");
	expect_fail(public_index, sizeof public_index, DMSC_WBXML_MALFORMED, 2,
	            "string table index 3 is out of range");
	expect_fail(table_past_end, sizeof table_past_end, DMSC_WBXML_MALFORMED,
	            4, "string table of 5 bytes runs past the end");
}
END_TEST

START_TEST(test_unknown_tag)
{
	static const unsigned char syncml12[] = { HDR_SYNCML12, T_SYNCML_C, 0x3D,
	                                          END };
	static const unsigned char reserved[] = { HDR_SYNCML12, T_SYNCML_C, 0x30,
	                                          END };
	static const unsigned char syncml11[] = { HDR_SYNCML11, T_SYNCML_C, 0x35,
	                                          END };
	static const unsigned char metinf11[] = { HDR_SYNCML11, T_SYNCML_C, 0x00,
	                                          0x01, 0x16, END };
	static const unsigned char page2_in_11[] = { HDR_SYNCML11, T_SYNCML_C,
	                                             0x00, 0x02, 0x20, END };
	static const unsigned char page3[] = { HDR_SYNCML12, 0x00, 0x03, 0x2D };

	expect_fail(syncml12, sizeof syncml12, DMSC_WBXML_MALFORMED, 6,
	            "unknown tag 0x3D on code page 0 (SyncML 1.2)");
	expect_fail(reserved, sizeof reserved, DMSC_WBXML_MALFORMED, 6,
	            "unknown tag 0x30 on code page 0");
	expect_fail(syncml11, sizeof syncml11, DMSC_WBXML_MALFORMED, 6,
	            "unknown tag 0x35 on code page 0 (SyncML 1.1)");
	expect_fail(metinf11, sizeof metinf11, DMSC_WBXML_MALFORMED, 8,
	            "unknown tag 0x16 on code page 1 (MetInf 1.1)");
	expect_fail(page2_in_11, sizeof page2_in_11, DMSC_WBXML_MALFORMED, 7,
	            "code page 2 is not defined for SyncML 1.1");
	expect_fail(page3, sizeof page3, DMSC_WBXML_MALFORMED, 6,
	            "code page 3 is not defined for SyncML 1.2");
}
END_TEST

START_TEST(test_depth_limit)
{
	dmsc_wbxml_limits lim = { .max_depth = 10 };
	struct bytes b = { 0 };
	static const unsigned char hdr[] = { HDR_SYNCML12 };
	xmlDocPtr doc;

	put(&b, hdr, sizeof hdr);
	for (int i = 0; i < 10; i++)
		put_u8(&b, T_ATOMIC_C);
	put_u8(&b, T_FINAL);    /* the eleventh level */
	for (int i = 0; i < 10; i++)
		put_u8(&b, END);
	expect_fail_lim(b.data, b.len, &lim, DMSC_WBXML_LIMIT, 15,
	                "nested deeper than max_depth (10)");
	lim.max_depth = 11;
	doc = decode_ok_lim(b.data, b.len, &lim);
	xmlFreeDoc(doc);
	free(b.data);
}
END_TEST

/* The default depth holds against a long run of open tags. */
START_TEST(test_default_depth_limit)
{
	struct bytes b = { 0 };
	static const unsigned char hdr[] = { HDR_SYNCML12 };

	put(&b, hdr, sizeof hdr);
	for (int i = 0; i < 100000; i++)
		put_u8(&b, T_ATOMIC_C);
	expect_fail(b.data, b.len, DMSC_WBXML_LIMIT,
	            5 + DMSC_WBXML_DEFAULT_MAX_DEPTH, "max_depth (64)");
	free(b.data);
}
END_TEST

START_TEST(test_element_count_limit)
{
	dmsc_wbxml_limits lim = { .max_elements = 100 };
	struct bytes b = { 0 };
	static const unsigned char hdr[] = { HDR_SYNCML12 };
	xmlDocPtr doc;

	put(&b, hdr, sizeof hdr);
	put_u8(&b, T_SYNCML_C);
	for (int i = 0; i < 100; i++)
		put_u8(&b, T_FINAL);
	put_u8(&b, END);
	expect_fail_lim(b.data, b.len, &lim, DMSC_WBXML_LIMIT, 6 + 99,
	                "more elements than max_elements (100)");
	lim.max_elements = 101;
	doc = decode_ok_lim(b.data, b.len, &lim);
	xmlFreeDoc(doc);
	free(b.data);
}
END_TEST

START_TEST(test_unbalanced_end)
{
	static const unsigned char end_first[] = { HDR_SYNCML12, END };
	static const unsigned char missing_end[] = { HDR_SYNCML12, T_SYNCML_C,
	                                             T_SYNCBODY_C, END };
	static const unsigned char extra_end[] = { HDR_SYNCML12, T_SYNCML_C, END,
	                                           END };

	expect_fail(end_first, sizeof end_first, DMSC_WBXML_MALFORMED, 5,
	            "expected the root element, found END");
	expect_fail(missing_end, sizeof missing_end, DMSC_WBXML_MALFORMED, 8,
	            "truncated: expected element content or END");
	expect_fail(extra_end, sizeof extra_end, DMSC_WBXML_MALFORMED, 7,
	            "1 trailing bytes after the root element");
}
END_TEST

START_TEST(test_trailing_bytes)
{
	static const unsigned char after_root[] = { HDR_SYNCML12, 0x2D, 0x2D,
	                                            0x00 };
	static const unsigned char after_empty_root[] = { HDR_SYNCML12, T_FINAL,
	                                                  0xFF };

	expect_fail(after_root, sizeof after_root, DMSC_WBXML_MALFORMED, 6,
	            "2 trailing bytes after the root element");
	expect_fail(after_empty_root, sizeof after_empty_root,
	            DMSC_WBXML_MALFORMED, 6, "1 trailing bytes");
}
END_TEST

START_TEST(test_charset_refused)
{
	static const unsigned char latin1[] = { 0x03, 0xA4, 0x01, 0x04, 0x00,
	                                        0x2D };
	static const unsigned char unknown[] = { 0x03, 0xA4, 0x01, 0x00, 0x00,
	                                         0x2D };

	expect_fail(latin1, sizeof latin1, DMSC_WBXML_UNSUPPORTED, 3,
	            "charset 4 is not UTF-8 (106)");
	expect_fail(unknown, sizeof unknown, DMSC_WBXML_UNSUPPORTED, 3,
	            "charset 0 is not UTF-8");
}
END_TEST

START_TEST(test_extensions_and_pi_refused)
{
	static const unsigned char ext_i[] = { HDR_SYNCML12, T_SYNCML_C, 0x40, 'x',
	                                       0x00, END };
	static const unsigned char ext_t[] = { HDR_SYNCML12, T_SYNCML_C, 0x81,
	                                       0x00, END };
	static const unsigned char ext[] = { HDR_SYNCML12, T_SYNCML_C, 0xC2, END };
	static const unsigned char pi[] = { HDR_SYNCML12, T_SYNCML_C, 0x43, 0x05,
	                                    END, END };
	static const unsigned char pi_first[] = { HDR_SYNCML12, 0x43, 0x05, END,
	                                          0x2D };
	static const unsigned char ext_in_attr[] = { 0x03, 0xA4, 0x01, 0x6A, 0x02,
	                                             'a', 0x00, 0xAD, 0x04, 0x00,
	                                             0x80, 0x00, END };

	expect_fail(ext_i, sizeof ext_i, DMSC_WBXML_UNSUPPORTED, 6,
	            "extension token EXT_I_0 in content");
	expect_fail(ext_t, sizeof ext_t, DMSC_WBXML_UNSUPPORTED, 6,
	            "extension token EXT_T_1");
	expect_fail(ext, sizeof ext, DMSC_WBXML_UNSUPPORTED, 6,
	            "extension token EXT_2");
	expect_fail(pi, sizeof pi, DMSC_WBXML_UNSUPPORTED, 6,
	            "processing instruction (PI) in content");
	expect_fail(pi_first, sizeof pi_first, DMSC_WBXML_UNSUPPORTED, 5,
	            "processing instruction (PI) before the root element");
	expect_fail(ext_in_attr, sizeof ext_in_attr, DMSC_WBXML_UNSUPPORTED, 10,
	            "extension token EXT_T_0 in an attribute list");
}
END_TEST

START_TEST(test_bad_characters)
{
	static const unsigned char surrogate[] = { HDR_SYNCML12, T_SYNCML_C, 0x02,
	                                           0x83, 0xB0, 0x00, END };
	static const unsigned char too_big[] = { HDR_SYNCML12, T_SYNCML_C, 0x02,
	                                         0xC4, 0x80, 0x00, END };
	static const unsigned char nul[] = { HDR_SYNCML12, T_SYNCML_C, 0x02, 0x00,
	                                     END };
	static const unsigned char bad_utf8[] = { HDR_SYNCML12, T_SYNCML_C, 0x03,
	                                          'a', 0xC3, 0x28, 0x00, END };
	static const unsigned char overlong[] = { HDR_SYNCML12, T_SYNCML_C, 0x03,
	                                          0xC0, 0xAF, 0x00, END };
	static const unsigned char control[] = { HDR_SYNCML12, T_SYNCML_C, 0x03,
	                                         0x01, 0x00, END };
	static const unsigned char unterminated[] = { HDR_SYNCML12, T_SYNCML_C,
	                                              0x03, 'a', 'b' };

	expect_fail(surrogate, sizeof surrogate, DMSC_WBXML_MALFORMED, 7,
	            "ENTITY code point 0xD800 is not an XML character");
	expect_fail(too_big, sizeof too_big, DMSC_WBXML_MALFORMED, 7,
	            "code point 0x110000");
	expect_fail(nul, sizeof nul, DMSC_WBXML_MALFORMED, 7, "code point 0x0 ");
	expect_fail(bad_utf8, sizeof bad_utf8, DMSC_WBXML_MALFORMED, 8,
	            "invalid UTF-8");
	expect_fail(overlong, sizeof overlong, DMSC_WBXML_MALFORMED, 7,
	            "invalid UTF-8");
	expect_fail(control, sizeof control, DMSC_WBXML_MALFORMED, 7,
	            "character U+0001 is not allowed in XML");
	expect_fail(unterminated, sizeof unterminated, DMSC_WBXML_MALFORMED, 9,
	            "STR_I) has no terminating zero byte");
}
END_TEST

/* Each malformed UTF-8 form, inside an STR_I after "ab": the offset is
 * that of the bad sequence. */
START_TEST(test_bad_utf8_forms)
{
	static const struct {
		const char *bytes;
		const char *says;
	} forms[] = {
		{ "\xED\xA0\x80", "invalid UTF-8" },          /* surrogate U+D800 */
		{ "\xE0\x80\xAF", "invalid UTF-8" },          /* overlong, 3 bytes */
		{ "\xF0\x80\x80\xAF", "invalid UTF-8" },      /* overlong, 4 bytes */
		{ "\xF4\x90\x80\x80", "invalid UTF-8" },      /* above U+10FFFF */
		{ "\xF5\x80\x80\x80", "invalid UTF-8" },      /* no such lead byte */
		{ "\x80", "invalid UTF-8" },                  /* lone continuation */
		{ "\xE4\xBD", "invalid UTF-8" },              /* cut short */
		{ "\xE4\x28\xA0", "invalid UTF-8" },          /* bad continuation */
		{ "\xF0\x9D\x84\x28", "invalid UTF-8" },      /* bad last byte */
		{ "\xEF\xBF\xBE", "U+FFFE is not allowed" },  /* not a Char */
		{ "\xEF\xBF\xBF", "U+FFFF is not allowed" },
		{ "\x1F", "U+001F is not allowed" },
	};
	static const unsigned char hdr[] = { HDR_SYNCML12, T_SYNCML_C, 0x03, 'a',
	                                     'b' };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct bytes b = { 0 };

		put(&b, hdr, sizeof hdr);
		put(&b, forms[i].bytes, strlen(forms[i].bytes) + 1);
		put_u8(&b, END);
		expect_fail(b.data, b.len, DMSC_WBXML_MALFORMED, sizeof hdr,
		            forms[i].says);
		free(b.data);
	}
}
END_TEST

START_TEST(test_bad_literal_names)
{
	static const unsigned char digit[] = { 0x03, 0xA4, 0x01, 0x6A, 0x03, '1',
	                                       'x', 0x00, 0x04, 0x00 };
	static const unsigned char prefixed[] = { 0x03, 0xA4, 0x01, 0x6A, 0x04,
	                                          'a', ':', 'b', 0x00, 0x04, 0x00 };
	static const unsigned char empty[] = { 0x03, 0xA4, 0x01, 0x6A, 0x01, 0x00,
	                                       0x04, 0x00 };

	expect_fail(digit, sizeof digit, DMSC_WBXML_MALFORMED, 9,
	            "literal tag name \"1x\" is not an XML name");
	expect_fail(prefixed, sizeof prefixed, DMSC_WBXML_MALFORMED, 10,
	            "literal tag name \"a:b\"");
	expect_fail(empty, sizeof empty, DMSC_WBXML_MALFORMED, 7,
	            "literal tag name \"\"");
}
END_TEST

START_TEST(test_bad_attributes)
{
	/* string table: "a\0xmlns\0" */
	static const unsigned char duplicate[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x08, 'a', 0x00, 'x', 'm', 'l', 'n', 's',
		0x00, 0xAD, 0x04, 0x00, 0x04, 0x00, END,
	};
	static const unsigned char value_first[] = { HDR_SYNCML12, 0xAD, 0x03,
	                                             'v', 0x00, END };
	static const unsigned char start_token[] = { HDR_SYNCML12, 0xAD, 0x05,
	                                             END };
	static const unsigned char value_token[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x02, 'a', 0x00, 0xAD, 0x04, 0x00, 0x85, END,
	};
	static const unsigned char xmlns[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x08, 'a', 0x00, 'x', 'm', 'l', 'n', 's',
		0x00, 0xAD, 0x04, 0x02, 0x03, 'u', 0x00, END,
	};
	static const unsigned char unended[] = { 0x03, 0xA4, 0x01, 0x6A, 0x02, 'a',
	                                         0x00, 0xAD, 0x04, 0x00 };
	/* a=OPAQUE: an attribute value is text, whatever bytes it could
	 * stand for; and OPAQUE after a string in the value. */
	static const unsigned char opaque[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x02, 'a', 0x00, 0xAD, 0x04, 0x00,
		0xC3, 0x01, 0xFF, END,
	};
	static const unsigned char string_then_opaque[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x02, 'a', 0x00, 0xAD, 0x04, 0x00,
		0x03, 'Q', 0x00, 0xC3, 0x01, 0xFF, END,
	};

	expect_fail(duplicate, sizeof duplicate, DMSC_WBXML_MALFORMED, 16,
	            "duplicate attribute \"a\"");
	expect_fail(value_first, sizeof value_first, DMSC_WBXML_MALFORMED, 6,
	            "attribute value (STR_I) before any attribute name");
	expect_fail(start_token, sizeof start_token, DMSC_WBXML_MALFORMED, 6,
	            "unknown attribute start token 0x05 on attribute code page 0");
	expect_fail(value_token, sizeof value_token, DMSC_WBXML_MALFORMED, 10,
	            "unknown attribute value token 0x85");
	expect_fail(xmlns, sizeof xmlns, DMSC_WBXML_MALFORMED, 14,
	            "attribute \"xmlns\"");
	expect_fail(unended, sizeof unended, DMSC_WBXML_MALFORMED, 10,
	            "truncated: expected an attribute or END");
	expect_fail(opaque, sizeof opaque, DMSC_WBXML_UNSUPPORTED, 10,
	            "OPAQUE in an attribute value: attribute values are text");
	expect_fail(string_then_opaque, sizeof string_then_opaque,
	            DMSC_WBXML_UNSUPPORTED, 13, "OPAQUE in an attribute value");
}
END_TEST

/* A binary OPAQUE is the only text of its element: no strings (STR_I,
 * STR_T, ENTITY, even empty) before or after it, anywhere in the element,
 * and no second one.  The error names the later token's offset and the
 * earlier one's. */
START_TEST(test_binary_opaque_alone)
{
	/* Offsets: header 0-4, SyncML 5, Data 6, content from 7. */
	static const unsigned char string_then_binary[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0x03, 'x', 0x00,
		0xC3, 0x02, 'a', 'b', END, END,
	};
	static const unsigned char binary_then_string[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x01, 'a',
		0x03, 'x', 0x00, END, END,
	};
	static const unsigned char binary_then_entity[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x01, 'a',
		0x02, 0x41, END, END,
	};
	/* String table "s": header 0-6, SyncML 7, Data 8, OPAQUE 9. */
	static const unsigned char binary_then_table_string[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x02, 's', 0x00, T_SYNCML_C, T_DATA_C,
		0xC3, 0x01, 'a', 0x83, 0x00, END, END,
	};
	static const unsigned char two_binaries[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x01, 'a',
		0xC3, 0x01, 'b', END, END,
	};
	/* Not next to each other: an element between does not help. */
	static const unsigned char binary_element_binary[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x01, 'a', T_FINAL,
		0xC3, 0x01, 'b', END, END,
	};
	static const unsigned char string_element_binary[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0x03, 'x', 0x00, T_FINAL,
		0xC3, 0x01, 'b', END, END,
	};
	/* Outside <Data> too, and an empty string or OPAQUE counts. */
	static const unsigned char locuri_empty_string[] = {
		HDR_SYNCML12, T_SYNCML_C, T_LOCURI_C, 0xC3, 0x01, 'a',
		0x03, 0x00, END, END,
	};
	static const unsigned char empty_binary_then_string[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x00,
		0x03, 'x', 0x00, END, END,
	};
	/* Inside an embedded document: offsets in the outer buffer (the
	 * inner document starts at 9). */
	static const unsigned char embedded[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x0F,
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0x03, 'x', 0x00,
		0xC3, 0x01, 'a', END, END,
		END, END,
	};

	expect_fail(string_then_binary, sizeof string_then_binary,
	            DMSC_WBXML_UNSUPPORTED, 10,
	            "binary OPAQUE in <Data>, which holds a string (byte 7): "
	            "strings and binary data do not mix in one element");
	expect_fail(binary_then_string, sizeof binary_then_string,
	            DMSC_WBXML_UNSUPPORTED, 10,
	            "STR_I in <Data>, which holds a binary OPAQUE (byte 7)");
	expect_fail(binary_then_entity, sizeof binary_then_entity,
	            DMSC_WBXML_UNSUPPORTED, 10,
	            "ENTITY in <Data>, which holds a binary OPAQUE (byte 7)");
	expect_fail(binary_then_table_string, sizeof binary_then_table_string,
	            DMSC_WBXML_UNSUPPORTED, 12,
	            "STR_T in <Data>, which holds a binary OPAQUE (byte 9)");
	expect_fail(two_binaries, sizeof two_binaries, DMSC_WBXML_UNSUPPORTED,
	            10, "second binary OPAQUE in <Data> (the first at byte 7): "
	            "an element holds at most one");
	expect_fail(binary_element_binary, sizeof binary_element_binary,
	            DMSC_WBXML_UNSUPPORTED, 11,
	            "second binary OPAQUE in <Data> (the first at byte 7)");
	expect_fail(string_element_binary, sizeof string_element_binary,
	            DMSC_WBXML_UNSUPPORTED, 11,
	            "binary OPAQUE in <Data>, which holds a string (byte 7)");
	expect_fail(locuri_empty_string, sizeof locuri_empty_string,
	            DMSC_WBXML_UNSUPPORTED, 10,
	            "STR_I in <LocURI>, which holds a binary OPAQUE (byte 7)");
	expect_fail(empty_binary_then_string, sizeof empty_binary_then_string,
	            DMSC_WBXML_UNSUPPORTED, 9,
	            "STR_I in <Data>, which holds a binary OPAQUE (byte 7)");
	expect_fail(embedded, sizeof embedded, DMSC_WBXML_UNSUPPORTED, 9 + 10,
	            "binary OPAQUE in <Data>, which holds a string (byte 16)");
}
END_TEST

/* A message whose <Data> holds a message whose <Data> holds ... */
static void nested_message(struct bytes *b, int levels)
{
	static const unsigned char hdr[] = { HDR_SYNCML12 };
	struct bytes inner = { 0 };

	put(b, hdr, sizeof hdr);
	put_u8(b, T_SYNCML_C);
	if (levels > 0) {
		nested_message(&inner, levels - 1);
		put_u8(b, T_DATA_C);
		put_u8(b, 0xC3);
		put_mb(b, (uint32_t)inner.len);
		put(b, inner.data, inner.len);
		put_u8(b, END);
		free(inner.data);
	} else {
		put_u8(b, T_FINAL);
	}
	put_u8(b, END);
}

static int count_nested_messages(xmlNodePtr n)
{
	int count = 0;

	while (n != NULL && xmlStrEqual(n->name, (const xmlChar *)"SyncML")) {
		xmlNodePtr child = xmlFirstElementChild(n);

		count++;
		if (child == NULL || !xmlStrEqual(child->name, (const xmlChar *)"Data"))
			break;
		n = xmlFirstElementChild(child);
	}
	return count;
}

START_TEST(test_embedded_nesting_limit)
{
	dmsc_wbxml_limits lim = { .max_embedded = 2 };
	struct bytes b = { 0 };
	xmlDocPtr doc;

	nested_message(&b, 3);
	/* The third OPAQUE token: 5 + 2 + 1 per level before it. */
	expect_fail_lim(b.data, b.len, &lim, DMSC_WBXML_LIMIT, 2 * 9 + 7,
	                "nested deeper than max_embedded (2)");
	free(b.data);
	/* Whatever the caller asks, recursion stops at the cap. */
	b = (struct bytes){ 0 };
	nested_message(&b, DMSC_WBXML_EMBEDDED_CAP + 1);
	lim.max_embedded = 1000;
	expect_fail_lim(b.data, b.len, &lim, DMSC_WBXML_LIMIT,
	                DMSC_WBXML_EMBEDDED_CAP * 9 + 7, "max_embedded (8)");
	free(b.data);
	b = (struct bytes){ 0 };
	nested_message(&b, 3);
	lim.max_embedded = 3;
	doc = decode_ok_lim(b.data, b.len, &lim);
	/* SyncML/Data/SyncML/Data/SyncML/Data/SyncML/Final: one tree. */
	ck_assert_int_eq(count_nested_messages(xmlDocGetRootElement(doc)), 4);
	xmlFreeDoc(doc);
	free(b.data);
}
END_TEST

/* Errors inside an embedded document give offsets in the outer buffer. */
START_TEST(test_embedded_error_offset)
{
	static const unsigned char wb[] = {
		HDR_SYNCML12, T_SYNCML_C, T_DATA_C, 0xC3, 0x08,
		HDR_SYNCML12, T_SYNCML_C, 0x3E, END,
		END, END,
	};

	expect_fail(wb, sizeof wb, DMSC_WBXML_MALFORMED, 9 + 6,
	            "unknown tag 0x3E on code page 0");
}
END_TEST

START_TEST(test_size_limits)
{
	dmsc_wbxml_limits lim = { .max_input = 8 };
	static const unsigned char big_table[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x08, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 0x00,
		0x2D,
	};
	struct bytes b = { 0 };
	static const unsigned char hdr[] = { 0x03, 0xA4, 0x01, 0x6A, 0x65 };
	char hundred[101];

	expect_fail_lim(big_table, sizeof big_table, &lim, DMSC_WBXML_LIMIT, 8,
	                "input of 14 bytes is larger than max_input (8)");
	lim = (dmsc_wbxml_limits){ .max_string_table = 7 };
	expect_fail_lim(big_table, sizeof big_table, &lim, DMSC_WBXML_LIMIT, 4,
	                "string table of 8 bytes is larger than max_string_table");

	/* 101-byte table, referenced 20 times: 2020 bytes of text. */
	memset(hundred, 'x', 100);
	hundred[100] = 0;
	put(&b, hdr, sizeof hdr);
	put(&b, hundred, sizeof hundred);
	put_u8(&b, T_SYNCML_C);
	for (int i = 0; i < 20; i++) {
		put_u8(&b, 0x83);
		put_u8(&b, 0x00);
	}
	put_u8(&b, END);
	lim = (dmsc_wbxml_limits){ .max_output = 1000 };
	expect_fail_lim(b.data, b.len, &lim, DMSC_WBXML_LIMIT, 107 + 2 * 10 + 1,
	                "exceed max_output (1000 bytes)");
	free(b.data);
}
END_TEST

/* Literal names and base64 count against max_output too. */
START_TEST(test_output_limit_names_and_base64)
{
	static const unsigned char literal[] = {
		0x03, 0xA4, 0x01, 0x6A, 0x07, 'V', 'e', 'n', 'd', 'o', 'r', 0x00,
		0x04, 0x00,
	};
	static const unsigned char opaque[] = {
		HDR_SYNCML12, T_SYNCML_C, 0xC3, 0x07, 1, 2, 3, 4, 5, 6, 7, END,
	};
	dmsc_wbxml_limits lim = { .max_output = 5 };
	xmlDocPtr doc;

	expect_fail_lim(literal, sizeof literal, &lim, DMSC_WBXML_LIMIT, 13,
	                "exceed max_output (5 bytes)");
	lim.max_output = 6;
	doc = decode_ok_lim(literal, sizeof literal, &lim);
	xmlFreeDoc(doc);
	/* 7 bytes: 12 base64 characters. */
	lim.max_output = 11;
	expect_fail_lim(opaque, sizeof opaque, &lim, DMSC_WBXML_LIMIT, 8,
	                "exceed max_output (11 bytes)");
	lim.max_output = 12;
	doc = decode_ok_lim(opaque, sizeof opaque, &lim);
	xmlFreeDoc(doc);
}
END_TEST

/* ---- Out of memory: fail each allocation in turn ---- */

static long alloc_countdown;     /* fail when it reaches 0; <0: never */
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

/* Every allocation failure gives NOMEM and frees everything. */
static void check_out_of_memory(const unsigned char *buf, size_t len)
{
	long n;

	xmlMemGet(&real_free, &real_malloc, &real_realloc, &real_strdup);
	xmlSetGenericErrorFunc(NULL, quiet_errors);
	xmlMemSetup(real_free, failing_malloc, failing_realloc, failing_strdup);
	for (n = 0;; n++) {
		xmlDocPtr doc = (xmlDocPtr)1;
		dmsc_wbxml_error err;
		int rc;

		alloc_countdown = n;
		alloc_failed = false;
		rc = dmsc_wbxml_decode(buf, len, NULL, &doc, &err);
		alloc_countdown = -1;
		if (!alloc_failed) {
			ck_assert_int_eq(rc, DMSC_WBXML_OK);
			xmlFreeDoc(doc);
			break;
		}
		ck_assert_msg(rc == DMSC_WBXML_NOMEM,
		              "allocation %ld failed: status %d (%s)", n, rc,
		              err.message);
		ck_assert_ptr_null(doc);
		ck_assert_str_eq(err.message, "out of memory");
	}
	xmlMemSetup(real_free, real_malloc, real_realloc, real_strdup);
	xmlSetGenericErrorFunc(NULL, NULL);
	ck_assert_int_gt(n, 3);
}

START_TEST(test_out_of_memory)
{
	size_t len;
	unsigned char *buf = read_vector(vectors[_i].wbxml, &len);

	check_out_of_memory(buf, len);
	free(buf);
}
END_TEST

START_TEST(test_out_of_memory_hand_inputs)
{
	check_out_of_memory(hand_inputs[_i].data, hand_inputs[_i].len);
}
END_TEST

/* dmsc_xml_text_valid: strict UTF-8 of XML characters. */
START_TEST(test_xml_text_valid)
{
	static const struct {
		const char *s;
		size_t len;
		bool ok;
	} cases[] = {
		{ "", 0, true },
		{ "plain\t\n\r", 8, true },
		{ "\xC3\xA9", 2, true },                 /* U+00E9 */
		{ "\xEF\xBF\xBD", 3, true },             /* U+FFFD */
		{ "\xF0\x9F\x98\x80", 4, true },         /* U+1F600 */
		{ "\xF4\x8F\xBF\xBF", 4, true },         /* U+10FFFF */
		{ "\xC1\xB6GEST", 6, false },            /* overlong 'v' */
		{ "\xC0\x80", 2, false },                /* overlong NUL */
		{ "\xE0\x80\x80", 3, false },            /* overlong */
		{ "\xF0\x80\x80\x80", 4, false },        /* overlong */
		{ "\xED\xA0\x80", 3, false },            /* surrogate */
		{ "\xF4\x90\x80\x80", 4, false },        /* above U+10FFFF */
		{ "\xEF\xBF\xBE", 3, false },            /* U+FFFE */
		{ "\xC3", 1, false },                    /* cut short */
		{ "\x80", 1, false },                    /* lone continuation */
		{ "a\x01", 2, false },                   /* control */
		{ "a\0b", 3, false },                    /* NUL inside */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(dmsc_xml_text_valid(
			(const unsigned char *)cases[i].s, cases[i].len) ==
			cases[i].ok, "case %zu", i);
}
END_TEST

START_TEST(test_bad_arguments)
{
	static const unsigned char wb[] = { HDR_SYNCML12, T_FINAL };
	dmsc_wbxml_error err;
	xmlDocPtr doc;

	ck_assert_int_eq(dmsc_wbxml_decode(wb, sizeof wb, NULL, NULL, &err),
	                 DMSC_WBXML_MALFORMED);
	ck_assert_int_eq(dmsc_wbxml_decode(NULL, 5, NULL, &doc, &err),
	                 DMSC_WBXML_MALFORMED);
	ck_assert_ptr_null(doc);
	/* A NULL error sink is fine. */
	ck_assert_int_eq(dmsc_wbxml_decode(wb, 3, NULL, &doc, NULL),
	                 DMSC_WBXML_MALFORMED);
	doc = decode_ok(wb, sizeof wb);
	xmlFreeDoc(doc);
}
END_TEST

static Suite *wbxml_suite(void)
{
	Suite *s = suite_create("wbxml");
	TCase *round = tcase_create("round trips");
	TCase *errors = tcase_create("errors");

	tcase_add_loop_test(round, test_vector, 0, VECTOR_COUNT);
	tcase_add_test(round, test_all_tags_are_tokens);
	tcase_add_test(round, test_tnds_in_data_is_a_tree);
	tcase_add_test(round, test_string_public_id);
	tcase_add_test(round, test_binary_opaque_is_base64);
	tcase_add_test(round, test_opaque_outside_data);
	tcase_add_test(round, test_binary_opaque_beside_elements);
	tcase_add_test(round, test_namespaces_follow_code_pages);
	tcase_add_test(round, test_ddf_pages);
	tcase_add_test(round, test_literals_and_attributes);
	tcase_add_test(round, test_entity_and_utf8);
	tcase_add_test(round, test_utf8_multibyte);
	tcase_add_test(round, test_attribute_page_switch);
	tcase_add_test(round, test_looks_like);
	suite_add_tcase(s, round);

	tcase_add_loop_test(errors, test_truncated_everywhere, 0, VECTOR_COUNT);
	tcase_add_loop_test(errors, test_truncated_hand_inputs, 0, HAND_COUNT);
	tcase_add_test(errors, test_bad_version);
	tcase_add_test(errors, test_unknown_public_id);
	tcase_add_test(errors, test_mb_u_int32_too_long);
	tcase_add_test(errors, test_string_table_index_out_of_range);
	tcase_add_test(errors, test_unknown_tag);
	tcase_add_test(errors, test_depth_limit);
	tcase_add_test(errors, test_default_depth_limit);
	tcase_add_test(errors, test_element_count_limit);
	tcase_add_test(errors, test_unbalanced_end);
	tcase_add_test(errors, test_trailing_bytes);
	tcase_add_test(errors, test_charset_refused);
	tcase_add_test(errors, test_extensions_and_pi_refused);
	tcase_add_test(errors, test_bad_characters);
	tcase_add_test(errors, test_bad_utf8_forms);
	tcase_add_test(errors, test_bad_literal_names);
	tcase_add_test(errors, test_bad_attributes);
	tcase_add_test(errors, test_binary_opaque_alone);
	tcase_add_test(errors, test_embedded_nesting_limit);
	tcase_add_test(errors, test_embedded_error_offset);
	tcase_add_test(errors, test_size_limits);
	tcase_add_test(errors, test_output_limit_names_and_base64);
	tcase_add_loop_test(errors, test_out_of_memory, 0, VECTOR_COUNT);
	tcase_add_loop_test(errors, test_out_of_memory_hand_inputs, 0, HAND_COUNT);
	tcase_add_test(errors, test_bad_arguments);
	tcase_add_test(errors, test_xml_text_valid);
	/* Valgrind runs are slow. */
	tcase_set_timeout(errors, 120);
	tcase_set_timeout(round, 120);
	suite_add_tcase(s, errors);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xmlInitParser();
	sr = srunner_create(wbxml_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
