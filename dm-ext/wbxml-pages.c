/*
 * dm-ext/wbxml-pages.c - the code pages and document types of OMA DM,
 * shared by the WBXML decoder (wbxml.c) and encoder (wbxml-enc.c).
 *
 * Each table lists tag names by token, starting at 0x05; NULL marks a
 * reserved token.  Sources:
 *   SyncML:  SyncML Representation Protocol 1.1 (syncml_represent_v11,
 *            section 8 "WBXML Definition") for tokens 0x05-0x34;
 *            OMA-TS-SyncML_RepPro-V1_2 (section 8) adds 0x35-0x3C.
 *            0x30 is "reserved for future use" in both.
 *   MetInf:  SyncML Meta Information 1.1 (syncml_metinf_v11, WBXML
 *            definition, code page 1) for 0x05-0x15;
 *            OMA-TS-SyncML_MetaInfo-V1_2 adds FieldLevel 0x16.
 *   DM DDF:  OMA-TS-DM_TND-V1_2 section 8.6 "WBXML Definition": code page
 *            0x02, tokens 0x05-0x3C.
 * Cross-checked by reading (not copying) libwbxml's and Syncroton's tables
 * and against the output of libwbxml's xml2wbxml. */
#include "wbxml-pages.h"

#include <string.h>

static const char *const syncml_tags[] = {
	"Add", "Alert", "Archive", "Atomic",                      /* 0x05 */
	"Chal", "Cmd", "CmdID", "CmdRef",                         /* 0x09 */
	"Copy", "Cred", "Data", "Delete",                         /* 0x0D */
	"Exec", "Final", "Get", "Item",                           /* 0x11 */
	"Lang", "LocName", "LocURI", "Map",                       /* 0x15 */
	"MapItem", "Meta", "MsgID", "MsgRef",                     /* 0x19 */
	"NoResp", "NoResults", "Put", "Replace",                  /* 0x1D */
	"RespURI", "Results", "Search", "Sequence",               /* 0x21 */
	"SessionID", "SftDel", "Source", "SourceRef",             /* 0x25 */
	"Status", "Sync", "SyncBody", "SyncHdr",                  /* 0x29 */
	"SyncML", "Target", "TargetRef", NULL,                    /* 0x2D */
	"VerDTD", "VerProto", "NumberOfChanges", "MoreData",      /* 0x31 */
	/* SyncML 1.2 only */
	"Field", "Filter", "Record", "FilterType",                /* 0x35 */
	"SourceParent", "TargetParent", "Move", "Correlator",     /* 0x39 */
};
#define SYNCML11_TAG_COUNT (0x34 - DMSC_WBXML_TAG_FIRST + 1)
#define SYNCML12_TAG_COUNT (sizeof syncml_tags / sizeof syncml_tags[0])
#define SYNCML_DATA_TAG 0x0F

static const char *const metinf_tags[] = {
	"Anchor", "EMI", "Format", "FreeID",                      /* 0x05 */
	"FreeMem", "Last", "Mark", "MaxMsgSize",                  /* 0x09 */
	"Mem", "MetInf", "Next", "NextNonce",                     /* 0x0D */
	"SharedMem", "Size", "Type", "Version",                   /* 0x11 */
	"MaxObjSize",                                             /* 0x15 */
	/* MetInf 1.2 only */
	"FieldLevel",                                             /* 0x16 */
};
#define METINF11_TAG_COUNT (0x15 - DMSC_WBXML_TAG_FIRST + 1)
#define METINF12_TAG_COUNT (sizeof metinf_tags / sizeof metinf_tags[0])

static const char *const dmddf_tags[] = {
	"AccessType", "ACL", "Add", "b64",                        /* 0x05 */
	"bin", "bool", "chr", "CaseSense",                        /* 0x09 */
	"CIS", "Copy", "CS", "date",                              /* 0x0D */
	"DDFName", "DefaultValue", "Delete", "Description",       /* 0x11 */
	"DFFormat", "DFProperties", "DFTitle", "DFType",          /* 0x15 */
	"Dynamic", "Exec", "float", "Format",                     /* 0x19 */
	"Get", "int", "Man", "MgmtTree",                          /* 0x1D */
	"MIME", "Mod", "Name", "Node",                            /* 0x21 */
	"node", "NodeName", "null", "Occurrence",                 /* 0x25 */
	"One", "OneOrMore", "OneOrN", "Path",                     /* 0x29 */
	"Permanent", "Replace", "RTProperties", "Scope",          /* 0x2D */
	"Size", "time", "Title", "TStamp",                        /* 0x31 */
	"Type", "Value", "VerDTD", "VerNo",                       /* 0x35 */
	"xml", "ZeroOrMore", "ZeroOrN", "ZeroOrOne",              /* 0x39 */
};
#define DMDDF_TAG_COUNT (sizeof dmddf_tags / sizeof dmddf_tags[0])

static const struct dmsc_wbxml_page page_syncml11 = {
	"SyncML 1.1", "SYNCML:SYNCML1.1", syncml_tags, SYNCML11_TAG_COUNT,
	SYNCML_DATA_TAG,
};
static const struct dmsc_wbxml_page page_syncml12 = {
	"SyncML 1.2", "SYNCML:SYNCML1.2", syncml_tags, SYNCML12_TAG_COUNT,
	SYNCML_DATA_TAG,
};
static const struct dmsc_wbxml_page page_metinf11 = {
	"MetInf 1.1", "syncml:metinf", metinf_tags, METINF11_TAG_COUNT, 0,
};
static const struct dmsc_wbxml_page page_metinf12 = {
	"MetInf 1.2", "syncml:metinf", metinf_tags, METINF12_TAG_COUNT, 0,
};
static const struct dmsc_wbxml_page page_dmddf12 = {
	"DM DDF 1.2", "syncml:dmddf1.2", dmddf_tags, DMDDF_TAG_COUNT, 0,
};

/* SyncML 1.2 also carries DM DDF on code page 2, so a TNDS tree can be
 * written inline in a DM message (OMA-TS-DM_TND section 8.6 numbers the
 * DDF page 2 for that reason).  MetInf and DDF alone have no page 0 of
 * their own: WBXML starts every document on page 0, so page 0 is taken as
 * their one page too (libwbxml switches to page 1 / 2 first; a decoder
 * accepting both loses nothing, as both give the same tree). */
const struct dmsc_wbxml_doctype dmsc_wbxml_doctypes[] = {
	{ "SyncML 1.1", 0x0FD3, "-//SYNCML//DTD SyncML 1.1//EN",
	  { &page_syncml11, &page_metinf11, NULL } },
	{ "SyncML 1.2", 0x1201, "-//SYNCML//DTD SyncML 1.2//EN",
	  { &page_syncml12, &page_metinf12, &page_dmddf12 } },
	{ "MetInf 1.2", 0x1202, "-//OMA//DTD SYNCML-METINF 1.2//EN",
	  { &page_metinf12, &page_metinf12, NULL } },
	{ "DM DDF 1.2", 0, "-//OMA//DTD-DM-DDF 1.2//EN",
	  { &page_dmddf12, NULL, &page_dmddf12 } },
};
const size_t dmsc_wbxml_doctype_count =
	sizeof dmsc_wbxml_doctypes / sizeof dmsc_wbxml_doctypes[0];


unsigned dmsc_wbxml_page_token(const struct dmsc_wbxml_page *page,
                               const char *name)
{
	for (size_t i = 0; i < page->count; i++)
		if (page->tags[i] != NULL && strcmp(page->tags[i], name) == 0)
			return (unsigned)(DMSC_WBXML_TAG_FIRST + i);
	return 0;
}
