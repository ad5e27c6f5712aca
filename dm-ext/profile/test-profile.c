/*
 * dm-ext/profile/test-profile.c - tests of the card profile reader
 * (profile.h) with the schema built into it: what a valid profile reads
 * as, every kind of refusal with its file, line and rule, and the secret
 * sources of step 2.  The files a profile names are exercised end to end
 * by tests/integration/test-dmsc-personalise.sh.
 */
#include "profile.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS "<profile xmlns='urn:dmsc:profile:1'>"
#define CARD "<card iccid='8900101000000000019' imsi='001010123456789' capacity='65536'/>"
#define PINS "<so-pin value='87654321'/><user-pin env='TEST_PROFILE_PIN'/>"

static int parse(const char *xml, struct dmsc_profile **p, dmsc_profile_error *err)
{
	return dmsc_profile_parse("t/p.xml", (const unsigned char *)xml,
	                          strlen(xml), dmsc_profile_schema,
	                          dmsc_profile_schema_len, p, err);
}

/* Refused with DMSC_PROFILE_INVALID and a message holding want. */
static void refused(const char *xml, const char *want)
{
	struct dmsc_profile *p = (struct dmsc_profile *)1;
	dmsc_profile_error err;

	ck_assert_int_eq(parse(xml, &p, &err), DMSC_PROFILE_INVALID);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err.message, want) != NULL,
	              "message '%s' lacks '%s'", err.message, want);
}

START_TEST(test_valid)
{
	static const char xml[] =
		"<?xml version='1.0'?>\n" NS "\n" CARD "\n"
		"<application label='DM'>\n" PINS "\n"
		"<key type='rsa' bits='3072' label='r' id='0A0b'/>\n"
		"<key type='ec' curve='P-521' label='e' id='02'/>\n"
		"<key type='ed25519' label='d' id='03'/>\n"
		"<import-key label='i' id='04' file='k.pem'/>\n"
		"<ma-certificate label='MA' id='10' file='/abs/ma.pem'/>\n"
		"<dm-credential label='srv' id='20' file='secret'/>\n"
		"<mo path='./DMAcc/X' file='x.xml'/>\n"
		"<bootstrap file='b.xml'/>\n"
		"</application>\n"
		"<application label='app 2'><so-pin file='so'/><user-pin value='1234'/></application>\n"
		"</profile>\n";
	struct dmsc_profile *p = NULL;
	dmsc_profile_error err;
	const struct dmsc_profile_item *it;
	char name[160];

	ck_assert_msg(parse(xml, &p, &err) == DMSC_PROFILE_OK, "%s",
	              err.message);
	ck_assert_str_eq(p->iccid, "8900101000000000019");
	ck_assert_str_eq(p->imsi, "001010123456789");
	ck_assert_uint_eq(p->capacity, 65536);
	ck_assert_int_eq(p->card_line, 3);
	ck_assert_str_eq(p->dir, "t");
	ck_assert_uint_eq(p->n_apps, 2);
	ck_assert_str_eq(p->apps[0].label, "DM");
	ck_assert_int_eq(p->apps[0].so_pin.source, DMSC_SECRET_VALUE);
	ck_assert_str_eq(p->apps[0].so_pin.ref, "87654321");
	ck_assert_int_eq(p->apps[0].user_pin.source, DMSC_SECRET_ENV);
	ck_assert_str_eq(p->apps[0].user_pin.ref, "TEST_PROFILE_PIN");
	ck_assert_uint_eq(p->apps[0].n_items, 8);
	it = p->apps[0].items;
	ck_assert_int_eq(it[0].kind, DMSC_ITEM_KEY);
	ck_assert_int_eq(it[0].key_type, DMSC_KEY_RSA);
	ck_assert_uint_eq(it[0].bits, 3072);
	ck_assert_uint_eq(it[0].id_len, 2);
	ck_assert_uint_eq(it[0].id[0], 0x0A);
	ck_assert_uint_eq(it[0].id[1], 0x0B);
	ck_assert_int_eq(it[0].line, 6);
	ck_assert_int_eq(it[1].key_type, DMSC_KEY_EC);
	ck_assert_str_eq(it[1].curve, "P-521");
	ck_assert_int_eq(it[2].key_type, DMSC_KEY_ED25519);
	ck_assert_int_eq(it[3].kind, DMSC_ITEM_IMPORT_KEY);
	ck_assert_str_eq(it[3].file, "k.pem");
	ck_assert_int_eq(it[4].kind, DMSC_ITEM_MA_CERT);
	ck_assert_int_eq(it[5].kind, DMSC_ITEM_DM_CREDENTIAL);
	ck_assert_int_eq(it[5].secret.source, DMSC_SECRET_FILE);
	ck_assert_int_eq(it[6].kind, DMSC_ITEM_MO);
	ck_assert_str_eq(it[6].label, "./DMAcc/X");
	ck_assert_int_eq(it[7].kind, DMSC_ITEM_BOOTSTRAP);
	ck_assert_str_eq(dmsc_profile_item_name(&it[6], name, sizeof name),
	                 "MO ./DMAcc/X");
	ck_assert_str_eq(dmsc_profile_item_name(&it[4], name, sizeof name),
	                 "MA certificate 'MA' (trusted)");
	ck_assert_str_eq(p->apps[1].label, "app 2");
	ck_assert_uint_eq(p->apps[1].n_items, 0);
	dmsc_profile_free(p);
}
END_TEST

START_TEST(test_refused)
{
	refused("<profile", "t/p.xml:1: not well-formed XML");
	refused("<!DOCTYPE profile [<!ENTITY x 'y'>]>" NS CARD "</profile>",
	        "a DOCTYPE is not allowed");
	refused("<profile xmlns='urn:other'/>", "breaks the profile schema");
	/* No application. */
	refused(NS "\n" CARD "\n</profile>", "t/p.xml:1: <profile>: breaks the profile schema");
	refused(NS CARD "<application label='DM'>\n" PINS
	        "\n<key type='rsa' bits='1000' label='k' id='01'/>"
	        "</application></profile>",
	        "t/p.xml:3: <key>: breaks the profile schema");
	refused(NS CARD "<application label='DM'>" PINS
	        "<key type='ec' curve='P-256' label='k' id='0'/>"
	        "</application></profile>", "<key>: breaks the profile schema");
	refused(NS "<card iccid='89001' imsi='001010123456789' capacity='65536'/>"
	        "<application label='DM'>" PINS "</application></profile>",
	        "<card>: breaks the profile schema");
	refused(NS CARD "<application label='DM'>" PINS "</application>\n"
	        "<application label='DM'>" PINS "</application></profile>",
	        "t/p.xml:2: application label 'DM' is already used on line 1");
	refused(NS CARD "<application label='DM'>" PINS
	        "\n<key type='ed25519' label='a' id='01'/>"
	        "\n<import-key label='b' id='01' file='k.pem'/>"
	        "</application></profile>",
	        "t/p.xml:3: this id is already used on line 2");
	refused(NS CARD "<application label='DM'>" PINS
	        "<mo path='./A' file='a'/>\n<mo path='./A' file='b'/>"
	        "</application></profile>",
	        "t/p.xml:2: label './A' is already used on line 1");
	refused(NS CARD "<application label='DM'><user-pin value='1234'/>"
	        "<so-pin value='1234'/></application></profile>",
	        "breaks the profile schema");
}
END_TEST

/* Step 2 for secrets only: value, environment (set, unset, too short),
 * a file's first line. */
START_TEST(test_secrets)
{
	char dir[] = "/tmp/dmsc-test-profile.XXXXXX";
	char name[128], xml[1024], path[256];
	struct dmsc_profile *p = NULL;
	dmsc_profile_error err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/so.pin", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("55556666\nsecond line\n", f);
	fclose(f);
	snprintf(name, sizeof name, "%s/p.xml", dir);
	snprintf(xml, sizeof xml, NS CARD "<application label='DM'>"
	         "<so-pin file='so.pin'/><user-pin env='TEST_PROFILE_PIN'/>"
	         "</application></profile>");
	ck_assert_int_eq(dmsc_profile_parse(name, (unsigned char *)xml,
	                                    strlen(xml), dmsc_profile_schema,
	                                    dmsc_profile_schema_len, &p, &err),
	                 DMSC_PROFILE_OK);
	unsetenv("TEST_PROFILE_PIN");
	ck_assert_int_eq(dmsc_profile_load(p, &err), DMSC_PROFILE_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "<user-pin>: the environment "
	                             "variable TEST_PROFILE_PIN is not set"));
	ck_assert_str_eq((const char *)p->apps[0].so_pin.bytes, "55556666");
	setenv("TEST_PROFILE_PIN", "12", 1);
	ck_assert_int_eq(dmsc_profile_load(p, &err), DMSC_PROFILE_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "is 2 bytes; it must be 4 to 64"));
	dmsc_profile_free(p);
	ck_assert_int_eq(dmsc_profile_parse(name, (unsigned char *)xml,
	                                    strlen(xml), dmsc_profile_schema,
	                                    dmsc_profile_schema_len, &p, &err),
	                 DMSC_PROFILE_OK);
	setenv("TEST_PROFILE_PIN", "4321", 1);
	ck_assert_int_eq(dmsc_profile_load(p, &err), DMSC_PROFILE_OK);
	ck_assert_uint_eq(p->apps[0].so_pin.len, 8);
	ck_assert_str_eq((const char *)p->apps[0].user_pin.bytes, "4321");
	dmsc_profile_free(p);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("read");
	SRunner *sr;
	int failed;

	xmlInitParser();
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_secrets);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? 0 : 1;
}
