/*
 * dm-ext/tool/test-approval.c - unit tests of the approval pieces that
 * need no token: how a message names its packages (pkgref.c), the
 * enveloped XML-DSig's form (xmldsig.c) and the audit record (audit.c).
 * The end-to-end behaviour is tests/integration/test-approve.sh.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "audit.h"
#include "pkgref.h"
#include "xmldsig.h"

#define D1 "2acf6091baf8608e80e5936cf3fc9ea1e35226488f3d3b64f7309fc12a457399"
#define D2 "0000000000000000000000000000000000000000000000000000000000000007"

static xmlDocPtr parse(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
	                              XML_PARSE_NONET);

	ck_assert_ptr_nonnull(doc);
	return doc;
}

/* A SyncML message whose SyncBody is body. */
static xmlDocPtr message(const char *body)
{
	char xml[16384];

	snprintf(xml, sizeof xml,
	         "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2"
	         "</VerDTD></SyncHdr><SyncBody>%s<Final/></SyncBody></SyncML>",
	         body);
	return parse(xml);
}

#define ITEM(path, data) \
	"<Item><Target><LocURI>" path "</LocURI></Target><Data>" data \
	"</Data></Item>"
#define EXEC(path) \
	"<Exec><CmdID>9</CmdID><Item><Target><LocURI>" path \
	"</LocURI></Target></Item></Exec>"

static int collect(const char *body, pkgrefs *refs, char *why)
{
	xmlDocPtr doc = message(body);
	int rc;

	memset(refs, 0, sizeof *refs);
	rc = pkgref_collect(doc, refs, why, 256);
	xmlFreeDoc(doc);
	return rc;
}

static void hex_to(const char *hex, unsigned char *out)
{
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* ---- pkgref ---- */

START_TEST(test_pkgref_fumo)
{
	pkgrefs refs;
	char why[256];
	unsigned char d[32];
	const pkgref *r;

	ck_assert_int_eq(collect("<Replace><CmdID>3</CmdID>"
	                         ITEM("./FUMO/fw1/PkgName", "Firmware 2.0")
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", " " D1 "\n")
	                         "</Replace>"
	                         EXEC("./FUMO/fw10/DownloadAndUpdate")
	                         EXEC("./FUMO/fw1/DownloadAndUpdate"),
	                         &refs, why), 0);
	ck_assert_uint_eq(refs.n, 1);
	hex_to(D1, d);
	r = pkgref_find(&refs, d);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->node, "./FUMO/fw1");
	ck_assert_str_eq(r->name, "Firmware 2.0");
	/* ./FUMO/fw10 is not under ./FUMO/fw1. */
	ck_assert_str_eq(r->operation, "./FUMO/fw1/DownloadAndUpdate");
	d[0] ^= 1;
	ck_assert_ptr_null(pkgref_find(&refs, d));
}
END_TEST

START_TEST(test_pkgref_scomo_atomic_uppercase)
{
	pkgrefs refs;
	char why[256], upper[65];
	unsigned char d[32];
	const pkgref *r;
	char body[2048];

	for (int i = 0; i < 64; i++)
		upper[i] = (char)(D1[i] >= 'a' ? D1[i] - 32 : D1[i]);
	upper[64] = '\0';
	snprintf(body, sizeof body,
	         "<Atomic><CmdID>2</CmdID><Sequence><CmdID>3</CmdID>"
	         "<Add><CmdID>4</CmdID>"
	         ITEM("./SCOMO/Download/app1/Name", "Maps")
	         ITEM("./SCOMO/Download/app1/Ext/PkgDigest", "%s")
	         "</Add></Sequence></Atomic>"
	         EXEC("./SCOMO/Download/app1/Operations/DownloadInstall"),
	         upper);
	ck_assert_int_eq(collect(body, &refs, why), 0);
	hex_to(D1, d);
	r = pkgref_find(&refs, d);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, "Maps");
	ck_assert_str_eq(r->operation,
	                 "./SCOMO/Download/app1/Operations/DownloadInstall");
}
END_TEST

START_TEST(test_pkgref_refused)
{
	pkgrefs refs;
	char why[256], body[8192];
	size_t at = 0;

	ck_assert_int_eq(collect("<Replace>"
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", "abc")
	                         "</Replace>", &refs, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "./FUMO/fw1/Ext/PkgDigest"));
	ck_assert_ptr_nonnull(strstr(why, "64 hexadecimal digits"));
	ck_assert_int_eq(collect("<Replace>"
	                         ITEM("./FUMO/fw1/Ext/PkgDigest",
	                              "gacf6091baf8608e80e5936cf3fc9ea1e3"
	                              "5226488f3d3b64f7309fc12a457399")
	                         "</Replace>", &refs, why), -1);
	ck_assert_int_eq(collect("<Replace>"
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", D1)
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", D2)
	                         "</Replace>", &refs, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "different digests"));
	/* The same digest twice is one package. */
	ck_assert_int_eq(collect("<Replace>"
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", D1)
	                         ITEM("./FUMO/fw1/Ext/PkgDigest", D1)
	                         "</Replace>", &refs, why), 0);
	ck_assert_uint_eq(refs.n, 1);
	/* More than PKGREF_MAX packages. */
	at += (size_t)snprintf(body + at, sizeof body - at, "<Replace>");
	for (int i = 0; i <= PKGREF_MAX; i++)
		at += (size_t)snprintf(body + at, sizeof body - at,
		                       ITEM("./FUMO/f%d/Ext/PkgDigest", D1), i);
	snprintf(body + at, sizeof body - at, "</Replace>");
	ck_assert_int_eq(collect(body, &refs, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "more than"));
}
END_TEST

START_TEST(test_pkgref_not_syncml)
{
	xmlDocPtr doc = parse("<MgmtTree xmlns=\"syncml:dmddf1.2\"/>");
	pkgrefs refs = { .n = 0 };
	char why[256];

	ck_assert_int_eq(pkgref_collect(doc, &refs, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "SyncBody"));
	xmlFreeDoc(doc);
}
END_TEST

/* ---- xmldsig ---- */

static const char c14n_msg[] =
	"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody><Final></Final>"
	"</SyncBody></SyncML>";

/* A signed form of c14n_msg with a fake signature value. */
static char *signed_doc(const dsig_alg *alg, size_t *len)
{
	unsigned char digest[32] = { 1, 2, 3 }, sig[4] = { 9, 9, 9, 9 };
	const char *why = NULL;
	char *doc;

	ck_assert_int_eq(dsig_template((const unsigned char *)c14n_msg,
	                               strlen(c14n_msg), alg, digest, &doc,
	                               len, &why), 0);
	ck_assert_int_eq(dsig_fill_value(&doc, len, sig, sizeof sig), 0);
	return doc;
}

START_TEST(test_dsig_roundtrip)
{
	size_t len;
	char *doc = signed_doc(&dsig_rsa_sha256, &len), why[256];
	xmlDocPtr x = parse(doc);
	dsig_parts parts;

	ck_assert(dsig_present(x));
	ck_assert_int_eq(dsig_parse(x, false, &parts, why, sizeof why), 0);
	ck_assert_ptr_eq(parts.alg, &dsig_rsa_sha256);
	/* What the Reference covers is the message without the Signature. */
	ck_assert_uint_eq(parts.content_len, strlen(c14n_msg));
	ck_assert_mem_eq(parts.content, c14n_msg, parts.content_len);
	ck_assert_uint_eq(parts.digest[0], 1);
	ck_assert_uint_eq(parts.signature_len, 4);
	ck_assert_uint_eq(parts.signature[3], 9);
	/* What is signed is the SignedInfo with the namespace on it. */
	ck_assert_ptr_nonnull(strstr((char *)parts.signed_info,
	        "<SignedInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"));
	ck_assert_ptr_null(strstr((char *)parts.signed_info,
	                          "SignatureValue"));
	dsig_parts_free(&parts);
	xmlFreeDoc(x);
	free(doc);
}
END_TEST

START_TEST(test_dsig_sha1_on_request)
{
	size_t len;
	char *doc = signed_doc(&dsig_rsa_sha1, &len), why[256];
	xmlDocPtr x = parse(doc);
	dsig_parts parts;

	ck_assert_int_eq(dsig_parse(x, false, &parts, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "rsa-sha1 is refused"));
	ck_assert_int_eq(dsig_parse(x, true, &parts, why, sizeof why), 0);
	ck_assert_ptr_eq(parts.alg, &dsig_rsa_sha1);
	dsig_parts_free(&parts);
	xmlFreeDoc(x);
	free(doc);
}
END_TEST

/* Replace the first `from` in the signed document by `to`, and check that
 * dsig_parse refuses it naming `expect`. */
static void refused(const char *from, const char *to, const char *expect)
{
	size_t len;
	char *doc = signed_doc(&dsig_rsa_sha256, &len), why[256];
	char *at = strstr(doc, from), *changed;
	xmlDocPtr x;
	dsig_parts parts;

	ck_assert_msg(at != NULL, "'%s' is not in the signed document", from);
	changed = malloc(len + strlen(to) + 1);
	ck_assert_ptr_nonnull(changed);
	sprintf(changed, "%.*s%s%s", (int)(at - doc), doc, to,
	        at + strlen(from));
	x = parse(changed);
	ck_assert_int_eq(dsig_parse(x, false, &parts, why, sizeof why), -1);
	ck_assert_msg(strstr(why, expect) != NULL, "'%s' does not say '%s'",
	              why, expect);
	xmlFreeDoc(x);
	free(changed);
	free(doc);
}

START_TEST(test_dsig_refused)
{
	refused("xml-exc-c14n#\"></CanonicalizationMethod>",
	        "REC-xml-c14n-20010315\"></CanonicalizationMethod>",
	        "CanonicalizationMethod");
	refused("URI=\"\"", "URI=\"#body\"", "URI must be");
	refused("<Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#"
	        "enveloped-signature\"></Transform>", "", "Transforms");
	refused("</Reference>", "</Reference><Reference URI=\"\"/>",
	        "more than one Reference");
	refused("xmlenc#sha256", "xmldsig-more#sha384", "DigestMethod");
	refused("rsa-sha256", "ecdsa-sha256", "SignatureMethod");
	refused("</Signature>", "</Signature><Signature xmlns=\"http://www.w3."
	        "org/2000/09/xmldsig#\"/>", "2 Signature elements");
	refused("<Signature xmlns", "<Signature xmlns=\"urn:other\" x",
	        "no XML-DSig Signature");
	/* Nothing rides unsigned inside the Signature. */
	refused("</SignatureValue>", "</SignatureValue><KeyInfo><KeyName>ma"
	        "</KeyName></KeyInfo>", "something follows SignatureValue");
	refused("</SignatureValue>", "</SignatureValue><Object><SyncBody>"
	        "<Exec/></SyncBody></Object>", "something follows "
	        "SignatureValue");
	refused("</SignatureValue>", "</SignatureValue>text",
	        "something follows SignatureValue");
	refused("</DigestValue>", "</DigestValue><Object/>",
	        "something follows DigestValue");
}
END_TEST

START_TEST(test_dsig_whitespace_allowed)
{
	const char *xml =
		"<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncBody/>\n"
		"  <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n"
		"    <SignedInfo>\n"
		"      <CanonicalizationMethod Algorithm=\"" DSIG_EXC_C14N "\"/>\n"
		"      <SignatureMethod Algorithm=\"http://www.w3.org/2001/04/"
		"xmldsig-more#rsa-sha256\"/>\n"
		"      <Reference URI=\"\"><Transforms>\n"
		"        <Transform Algorithm=\"" DSIG_ENVELOPED "\"/>\n"
		"      </Transforms>\n"
		"      <DigestMethod Algorithm=\"http://www.w3.org/2001/04/"
		"xmlenc#sha256\"/>\n"
		"      <DigestValue>AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		"</DigestValue></Reference>\n"
		"    </SignedInfo>\n"
		"    <SignatureValue>CQkJCQ==</SignatureValue>\n"
		"  </Signature>\n</SyncML>";
	xmlDocPtr x = parse(xml);
	dsig_parts parts;
	char why[256];

	ck_assert_int_eq(dsig_parse(x, false, &parts, why, sizeof why), 0);
	/* The whitespace outside the Signature is part of what is covered. */
	ck_assert_ptr_nonnull(memmem(parts.content, parts.content_len,
	                             "<SyncBody></SyncBody>\n  \n</SyncML>",
	                             strlen("<SyncBody></SyncBody>\n  \n"
	                                    "</SyncML>")));
	dsig_parts_free(&parts);
	xmlFreeDoc(x);
}
END_TEST

/* ---- audit ---- */

START_TEST(test_audit_record)
{
	char dir[] = "/tmp/dmsc-test-audit.XXXXXX", path[64], line[2048];
	char why[128];
	audit_record r = {
		.operation = "./FUMO/fw1/DownloadAndUpdate",
		.package = "odd \"name\"\n\\x.bin",
		.size = 3000000,
		.digest = D1,
		.signer = NULL,
		.result = "rejected",
		.policy = "reject",
		.reason = "tab\there",
	};
	struct stat st;
	off_t size;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/audit.log", dir);
	ck_assert_int_eq(audit_append(path, &r, why, sizeof why), 0);
	r.result = "approved";
	r.reason = NULL;
	r.size = -1;
	ck_assert_int_eq(audit_append(path, &r, why, sizeof why), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_ptr_nonnull(strstr(line,
	        "\"operation\":\"./FUMO/fw1/DownloadAndUpdate\","
	        "\"package\":\"odd \\\"name\\\"\\n\\\\x.bin\","
	        "\"size\":3000000,\"digest\":\"" D1 "\",\"signer\":null,"
	        "\"certificate\":null,\"key\":null,\"result\":\"rejected\","
	        "\"policy\":\"reject\",\"reason\":\"tab\\u0009here\"}\n"));
	ck_assert_int_eq(strncmp(line, "{\"time\":\"", 9), 0);
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_ptr_nonnull(strstr(line, "\"size\":null,"));
	ck_assert_ptr_nonnull(strstr(line, "\"reason\":null}\n"));
	ck_assert_ptr_null(fgets(line, sizeof line, f));
	fclose(f);
	/* A log others may write to is refused (they could forge or erase
	 * records), and nothing is appended. */
	ck_assert_int_eq(stat(path, &st), 0);
	size = st.st_size;
	ck_assert_int_eq(chmod(path, 0622), 0);
	ck_assert_int_eq(audit_append(path, &r, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "writable by group or others"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, size);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(audit_append(path, &r, why, sizeof why), 0);
	unlink(path);
	/* A FIFO (or any non-file) is refused at once, not waited on. */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(audit_append(path, &r, why, sizeof why), -1);
	unlink(path);
	rmdir(dir);
	/* A log that cannot be opened says why. */
	ck_assert_int_eq(audit_append("/nonexistent-dir/audit.log", &r, why,
	                              sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "No such file"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("approval");
	TCase *p = tcase_create("pkgref"), *d = tcase_create("xmldsig"),
	      *a = tcase_create("audit");

	tcase_add_test(p, test_pkgref_fumo);
	tcase_add_test(p, test_pkgref_scomo_atomic_uppercase);
	tcase_add_test(p, test_pkgref_refused);
	tcase_add_test(p, test_pkgref_not_syncml);
	tcase_add_test(d, test_dsig_roundtrip);
	tcase_add_test(d, test_dsig_sha1_on_request);
	tcase_add_test(d, test_dsig_refused);
	tcase_add_test(d, test_dsig_whitespace_allowed);
	tcase_add_test(a, test_audit_record);
	suite_add_tcase(s, p);
	suite_add_tcase(s, d);
	suite_add_tcase(s, a);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	xmlInitParser();
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
