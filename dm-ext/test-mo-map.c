/*
 * dm-ext/test-mo-map.c - tests of the tree to MO objects rule and the
 * write-back plan (dm-ext/mo-map.c), with exact labels and TNDS.
 */
#include "mo-map.h"

#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
#define TAIL "</MgmtTree>"

static void load(dmsc_tnds *t, const char *doc)
{
	dmsc_dm_error err;

	ck_assert_msg(dmsc_tnds_load(t, (const unsigned char *)doc,
	                             strlen(doc), &err) == DMSC_TNDS_OK,
	              "%s", err.message);
}

/* The card: two objects and an empty one, as dmsc reads them. */
static dmsc_tnds *card(void)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);

	load(t, HEAD "<Node><NodeName>Op</NodeName><Path>./DMAcc</Path>"
	        "<Node><NodeName>ServerID</NodeName><Value>a</Value></Node>"
	        "</Node>" TAIL);
	load(t, HEAD "<Node><NodeName>Sub</NodeName><Path>./DMAcc/Op</Path>"
	        "<Node><NodeName>k</NodeName><Value>1</Value></Node></Node>"
	        TAIL);
	return t;
}

static const char *const labels[] = { "./DMAcc/Op", "./DMAcc/Op/Sub",
                                      "./Vendor/X", "not a uri/" };

static char *plan_summary(const dmsc_tnds *before, const dmsc_tnds *after)
{
	dmsc_mo_action *a;
	size_t n;
	static char buf[1024];

	ck_assert_int_eq(dmsc_mo_plan(before, after, labels, 4, &a, &n),
	                 DMSC_TNDS_OK);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(buf);

		snprintf(buf + l, sizeof buf - l, "%s %s;",
		         a[i].kind == DMSC_MO_CREATE ? "create"
		         : a[i].kind == DMSC_MO_REPLACE ? "replace" : "destroy",
		         a[i].label);
		if (a[i].kind == DMSC_MO_DESTROY)
			ck_assert_ptr_null(a[i].bytes);
		else
			ck_assert_uint_eq(strlen(a[i].bytes), a[i].len);
	}
	dmsc_mo_actions_free(a, n);
	return buf;
}

START_TEST(test_object_tnds_excludes_longer_labels)
{
	dmsc_tnds *t = card();
	char *out;
	size_t len;

	ck_assert_int_eq(dmsc_mo_object_tnds(t, "./DMAcc/Op", labels, 4, &out,
	                                     &len), DMSC_TNDS_OK);
	ck_assert_ptr_nonnull(strstr(out, "<NodeName>ServerID</NodeName>"));
	ck_assert_ptr_null(strstr(out, "<NodeName>Sub</NodeName>"));
	ck_assert_ptr_nonnull(strstr(out, "<Path>./DMAcc</Path>"));
	free(out);
	ck_assert_int_eq(dmsc_mo_object_tnds(t, "./DMAcc/Op/Sub", labels, 4,
	                                     &out, &len), DMSC_TNDS_OK);
	ck_assert_ptr_nonnull(strstr(out, "<NodeName>k</NodeName>"));
	ck_assert_ptr_nonnull(strstr(out, "<Path>./DMAcc/Op</Path>"));
	free(out);
	ck_assert_int_eq(dmsc_mo_object_tnds(t, "./Vendor/X", labels, 4, &out,
	                                     &len), DMSC_TNDS_OK);
	ck_assert_ptr_null(out);
	dmsc_tnds_free(t);
}
END_TEST

START_TEST(test_plan)
{
	dmsc_tnds *before = card(), *after = dmsc_tnds_clone(before);
	dmsc_tnds_item v = { .value = "b", .value_len = 1 };

	/* Nothing changed: nothing to write. */
	ck_assert_str_eq(plan_summary(before, after), "");
	/* A value in one object; new nodes in an empty object, under
	 * ./DMAcc (a new object two levels down), a childless top node,
	 * and a top node with children (one object per child). */
	ck_assert_int_eq(dmsc_tnds_replace(after, "./DMAcc/Op/ServerID", &v),
	                 DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./Vendor/X/y", &v),
	                 DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./DMAcc/New/AppID", &v),
	                 DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./Top", &v), DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./FUMO/P1/State", &v),
	                 DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./FUMO/P2", &v),
	                 DMSC_TNDS_OK);
	ck_assert_str_eq(plan_summary(before, after),
	                 "create ./DMAcc/New;replace ./DMAcc/Op;"
	                 "create ./FUMO/P1;create ./FUMO/P2;create ./Top;"
	                 "replace ./Vendor/X;");
	dmsc_tnds_free(after);

	/* The sub-object's node changes: only it is written. */
	after = dmsc_tnds_clone(before);
	ck_assert_int_eq(dmsc_tnds_replace(after, "./DMAcc/Op/Sub/k", &v),
	                 DMSC_TNDS_OK);
	ck_assert_str_eq(plan_summary(before, after),
	                 "replace ./DMAcc/Op/Sub;");
	/* The root of an object gone: it and its sub-object go. */
	ck_assert_int_eq(dmsc_tnds_delete(after, "./DMAcc/Op"), DMSC_TNDS_OK);
	ck_assert_str_eq(plan_summary(before, after),
	                 "destroy ./DMAcc/Op;destroy ./DMAcc/Op/Sub;");
	dmsc_tnds_free(after);
	dmsc_tnds_free(before);
}
END_TEST

/* A node added above existing labels (./DMAcc itself) is not stored, and
 * a new top node that holds a label gets objects per child. */
START_TEST(test_plan_around_labels)
{
	dmsc_tnds *before = card(), *after = dmsc_tnds_clone(before);
	dmsc_tnds_item v = { .value = "b", .value_len = 1 };

	ck_assert_int_eq(dmsc_tnds_add(after, "./Vendor/Y", &v), DMSC_TNDS_OK);
	ck_assert_int_eq(dmsc_tnds_add(after, "./Vendor/X/z", &v),
	                 DMSC_TNDS_OK);
	ck_assert_str_eq(plan_summary(before, after),
	                 "replace ./Vendor/X;create ./Vendor/Y;");
	dmsc_tnds_free(after);
	dmsc_tnds_free(before);
}
END_TEST

static Suite *mo_map_suite(void)
{
	Suite *s = suite_create("mo-map");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, test_object_tnds_excludes_longer_labels);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_plan_around_labels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	xmlInitParser();
	sr = srunner_create(mo_map_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xmlCleanupParser();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
