/*
 * dm-ext/wbxml-pages.h - what WBXML and OMA DM define for a WBXML document:
 * the global tokens (WAP-192-WBXML section 7.1) and the code pages and
 * document types of OMA DM.  One table, read by the decoder (wbxml.c) and
 * the encoder (wbxml-enc.c), so the two cannot disagree on a token.
 */
#ifndef DMSC_DMEXT_WBXML_PAGES_H
#define DMSC_DMEXT_WBXML_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* Global tokens (WAP-192-WBXML section 7.1). */
enum {
	WBXML_TOK_SWITCH_PAGE = 0x00,
	WBXML_TOK_END = 0x01,
	WBXML_TOK_ENTITY = 0x02,
	WBXML_TOK_STR_I = 0x03,
	WBXML_TOK_LITERAL = 0x04,
	WBXML_TOK_EXT_I_0 = 0x40,
	WBXML_TOK_EXT_I_2 = 0x42,
	WBXML_TOK_PI = 0x43,
	WBXML_TOK_LITERAL_C = 0x44,
	WBXML_TOK_EXT_T_0 = 0x80,
	WBXML_TOK_EXT_T_2 = 0x82,
	WBXML_TOK_STR_T = 0x83,
	WBXML_TOK_LITERAL_A = 0x84,
	WBXML_TOK_EXT_0 = 0xC0,
	WBXML_TOK_EXT_2 = 0xC2,
	WBXML_TOK_OPAQUE = 0xC3,
	WBXML_TOK_LITERAL_AC = 0xC4,
};

/* A tag token: bit 7 says attributes follow, bit 6 says content follows,
 * the low six bits name the tag (0x04 = LITERAL: name in the string table). */
#define WBXML_TAG_HAS_ATTRS   0x80u
#define WBXML_TAG_HAS_CONTENT 0x40u
#define WBXML_TAG_ID_MASK     0x3Fu

/* The first tag token of a code page; tokens below are global. */
#define DMSC_WBXML_TAG_FIRST 0x05u

/* Code pages a document type may use: SyncML 0, MetInf 1, DM DDF 2. */
#define DMSC_WBXML_PAGE_COUNT 3

/* One code page: its tag names by token. */
struct dmsc_wbxml_page {
	const char *name;          /* for messages */
	const char *ns;            /* namespace of its elements */
	const char *const *tags;   /* tags[token - DMSC_WBXML_TAG_FIRST], NULL:
	                              a reserved token */
	size_t count;
	unsigned data_tag;         /* token of SyncML <Data>, 0 if none */
};

/* One document type: its public identifier and code pages (NULL: the
 * page is not defined for it). */
struct dmsc_wbxml_doctype {
	const char *name;          /* for messages */
	uint32_t public_id;        /* OMNA number, 0 if it has none */
	const char *public_text;   /* formal public identifier */
	const struct dmsc_wbxml_page *pages[DMSC_WBXML_PAGE_COUNT];
};

/* SyncML 1.1, SyncML 1.2, MetInf 1.2, DM DDF 1.2 (wbxml-pages.c). */
extern const struct dmsc_wbxml_doctype dmsc_wbxml_doctypes[];
extern const size_t dmsc_wbxml_doctype_count;

/* The tag token of name on page (DMSC_WBXML_TAG_FIRST and up), or 0 when
 * the page has no such tag. */
unsigned dmsc_wbxml_page_token(const struct dmsc_wbxml_page *page,
                               const char *name);

#endif /* DMSC_DMEXT_WBXML_PAGES_H */
