/*
 * Unit tests of the PKCS#11 3.0 interface (C_GetInterfaceList,
 * C_GetInterface, the 3.0 function list, C_LoginUser, C_SessionCancel,
 * the message-based stubs) and of C_WaitForSlotEvent, through the entry
 * points of libdmsc-testable.la. Each test runs in its own process
 * (Check's fork mode) on its own fresh store.
 */
#include "api.h"

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RV_EQ(expr, want)                                                   \
    do {                                                                    \
        CK_RV rv_ = (expr);                                                 \
        ck_assert_msg(rv_ == (CK_RV)(want), "%s = 0x%lx, expected %s (0x%lx)", #expr, \
                      (unsigned long)rv_, #want, (unsigned long)(want));    \
    } while (0)
#define RV_OK(expr) RV_EQ(expr, CKR_OK)
#define PINARG(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

#define SO_PIN "so-pin-0000"
#define USER_PIN "user-pin-42"

static char root_dir[PATH_MAX];
static char test_dir[PATH_MAX + 16];
static char store_dir[PATH_MAX + 32];
static char conf_path[PATH_MAX + 32];
static CK_FUNCTION_LIST_3_0 *p11; /* the 3.0 list: every test goes through it */

static void setup(void)
{
    snprintf(test_dir, sizeof(test_dir), "%s/t-XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    snprintf(store_dir, sizeof(store_dir), "%s/store", test_dir);
    snprintf(conf_path, sizeof(conf_path), "%s/dmsc.conf", test_dir);
    FILE *f = fopen(conf_path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    setenv("DMSC_STORE", store_dir, 1);
    setenv("DMSC_CONF", conf_path, 1);
    CK_INTERFACE *i = NULL;
    RV_OK(C_GetInterface(NULL, NULL, &i, 0));
    p11 = i->pFunctionList;
}

static void teardown(void)
{
    if (p11)
        p11->C_Finalize(NULL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* The slots, ascending; returns how many. */
static CK_ULONG slots(CK_SLOT_ID *out, CK_ULONG max)
{
    CK_ULONG n = 0;
    RV_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
    ck_assert_uint_le(n, max);
    RV_OK(p11->C_GetSlotList(CK_FALSE, out, &n));
    return n;
}

/* Initialise the spare slot's token; returns its slot. */
static CK_SLOT_ID add_application(const char *label)
{
    CK_SLOT_ID ids[16];
    CK_ULONG n = slots(ids, 16);
    CK_SLOT_ID spare = ids[n - 1];
    CK_UTF8CHAR padded[32];
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, label, strlen(label));
    RV_OK(p11->C_InitToken(spare, PINARG(SO_PIN), padded));
    return spare;
}

static bool version_is(const CK_VERSION *v, int major, int minor)
{
    return v->major == major && v->minor == minor;
}

/* ---- interfaces ---- */

START_TEST(test_interface_list)
{
    /* No C_Initialize needed: this is how an application finds it. */
    CK_ULONG n = 0;
    RV_EQ(C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    RV_OK(C_GetInterfaceList(NULL, &n));
    ck_assert_uint_eq(n, 2);
    CK_INTERFACE list[3];
    memset(list, 0, sizeof(list));
    n = 1;
    RV_EQ(C_GetInterfaceList(list, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(list[0].pFunctionList); /* nothing written */
    n = 3;
    RV_OK(C_GetInterfaceList(list, &n));
    ck_assert_uint_eq(n, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq((const char *)list[i].pInterfaceName, "PKCS 11");
        ck_assert_uint_eq(list[i].flags, 0); /* not fork-safe: a child calls C_Initialize */
    }
    ck_assert(version_is(list[0].pFunctionList, 3, 0));
    ck_assert(version_is(list[1].pFunctionList, 2, 40));
    CK_FUNCTION_LIST *l240 = NULL;
    RV_OK(C_GetFunctionList(&l240));
    ck_assert_ptr_eq(list[1].pFunctionList, l240);
    /* The 3.0 list reaches the interface functions too. */
    CK_FUNCTION_LIST_3_0 *l30 = list[0].pFunctionList;
    ck_assert_ptr_eq(l30->C_GetInterfaceList, C_GetInterfaceList);
    ck_assert_ptr_eq(l30->C_GetInterface, C_GetInterface);
    ck_assert_ptr_eq(l30->C_GetFunctionList, C_GetFunctionList);
}
END_TEST

START_TEST(test_get_interface)
{
    CK_INTERFACE *i = NULL;
    RV_EQ(C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    RV_OK(C_GetInterface(NULL, NULL, &i, 0));
    ck_assert(version_is(i->pFunctionList, 3, 0)); /* the default */
    CK_VERSION v240 = { 2, 40 }, v30 = { 3, 0 }, v31 = { 3, 1 }, v220 = { 2, 20 };
    RV_OK(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &i, 0));
    ck_assert(version_is(i->pFunctionList, 2, 40));
    RV_OK(C_GetInterface(NULL, &v30, &i, 0));
    ck_assert(version_is(i->pFunctionList, 3, 0));
    RV_OK(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &i, 0));
    ck_assert(version_is(i->pFunctionList, 3, 0));
    /* No match: the specification's CKR_ARGUMENTS_BAD, *iface untouched. */
    CK_INTERFACE *before = i;
    RV_EQ(C_GetInterface(NULL, &v31, &i, 0), CKR_ARGUMENTS_BAD);
    RV_EQ(C_GetInterface(NULL, &v220, &i, 0), CKR_ARGUMENTS_BAD);
    RV_EQ(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11 ", NULL, &i, 0), CKR_ARGUMENTS_BAD);
    RV_EQ(C_GetInterface((CK_UTF8CHAR_PTR) "Vendor dmsc", NULL, &i, 0), CKR_ARGUMENTS_BAD);
    RV_EQ(C_GetInterface(NULL, NULL, &i, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
    ck_assert_ptr_eq(i, before);
}
END_TEST

START_TEST(test_v3_list)
{
    CK_INFO info;
    RV_EQ(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_LoginUser(1, CKU_USER, PINARG(USER_PIN), NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_SessionCancel(1, CKF_SIGN), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_MessageSignInit(1, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_OK(p11->C_Initialize(NULL));
    /* Each list's C_GetInfo reports its own version. */
    RV_OK(p11->C_GetInfo(&info));
    ck_assert(version_is(&info.cryptokiVersion, 3, 0));
    CK_FUNCTION_LIST *l240 = NULL;
    RV_OK(C_GetFunctionList(&l240));
    RV_OK(l240->C_GetInfo(&info));
    ck_assert(version_is(&info.cryptokiVersion, 2, 40));
    /* Both lists share one module state. */
    RV_EQ(l240->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);

    CK_SLOT_ID slot = add_application("v3");
    CK_SESSION_HANDLE h;
    RV_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h));
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_BYTE buf[64];
    CK_ULONG len = sizeof(buf);
    RV_EQ(p11->C_MessageEncryptInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_EncryptMessage(h, NULL, 0, NULL, 0, buf, 1, buf, &len), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_DecryptMessageNext(h, NULL, 0, buf, 1, buf, &len, 0), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_MessageDecryptFinal(h), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_SignMessage(h, NULL, 0, buf, 1, buf, &len), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_VerifyMessageBegin(h, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    RV_EQ(p11->C_MessageVerifyFinal(h), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

START_TEST(test_session_cancel)
{
    RV_OK(p11->C_Initialize(NULL));
    CK_SLOT_ID slot = add_application("cancel");
    CK_SESSION_HANDLE h;
    RV_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h));
    RV_EQ(p11->C_SessionCancel(h + 1000, CKF_DIGEST), CKR_SESSION_HANDLE_INVALID);
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    RV_OK(p11->C_DigestInit(h, &m));
    RV_OK(p11->C_FindObjectsInit(h, NULL, 0));
    /* Flags of other kinds leave both alone. */
    RV_OK(p11->C_SessionCancel(h, CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT));
    RV_EQ(p11->C_DigestInit(h, &m), CKR_OPERATION_ACTIVE);
    RV_EQ(p11->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
    RV_OK(p11->C_SessionCancel(h, CKF_DIGEST));
    CK_BYTE d[32];
    CK_ULONG len = sizeof(d);
    RV_EQ(p11->C_DigestFinal(h, d, &len), CKR_OPERATION_NOT_INITIALIZED);
    RV_OK(p11->C_DigestInit(h, &m)); /* a new one may start */
    RV_OK(p11->C_SessionCancel(h, CKF_FIND_OBJECTS));
    CK_OBJECT_HANDLE o;
    CK_ULONG found;
    RV_EQ(p11->C_FindObjects(h, &o, 1, &found), CKR_OPERATION_NOT_INITIALIZED);
    /* Nothing active is not an error. */
    RV_OK(p11->C_SessionCancel(h, CKF_FIND_OBJECTS | CKF_DIGEST | CKF_SIGN));
    RV_EQ(p11->C_DigestFinal(h, d, &len), CKR_OPERATION_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_login_user)
{
    RV_OK(p11->C_Initialize(NULL));
    CK_SLOT_ID slot = add_application("login");
    CK_SESSION_HANDLE h;
    RV_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    /* For the SO the user name is ignored. */
    RV_OK(p11->C_LoginUser(h, CKU_SO, PINARG(SO_PIN), PINARG("anyone")));
    RV_OK(p11->C_InitPIN(h, PINARG(USER_PIN)));
    RV_OK(p11->C_Logout(h));
    /* The application's user has no name: a name is refused, not ignored,
     * and costs no PIN try. */
    RV_EQ(p11->C_LoginUser(h, CKU_USER, PINARG(USER_PIN), PINARG("bob")), CKR_ARGUMENTS_BAD);
    RV_EQ(p11->C_LoginUser(h, CKU_USER, PINARG(USER_PIN), NULL, 3), CKR_ARGUMENTS_BAD);
    CK_TOKEN_INFO ti;
    RV_OK(p11->C_GetTokenInfo(slot, &ti));
    ck_assert_uint_eq(ti.flags & CKF_USER_PIN_COUNT_LOW, 0);
    RV_EQ(p11->C_LoginUser(h, 42, PINARG(USER_PIN), NULL, 0), CKR_USER_TYPE_INVALID);
    RV_OK(p11->C_LoginUser(h, CKU_USER, PINARG(USER_PIN), NULL, 0));
    CK_SESSION_INFO si;
    RV_OK(p11->C_GetSessionInfo(h, &si));
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
}
END_TEST

/* ---- slot events ---- */

START_TEST(test_event_args)
{
    CK_SLOT_ID slot = 99;
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_OK(p11->C_Initialize(NULL));
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, &slot), CKR_ARGUMENTS_BAD);
    /* What was there at C_Initialize is no event. */
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    ck_assert_uint_eq(slot, 99);
}
END_TEST

START_TEST(test_event_added_and_removed)
{
    RV_OK(p11->C_Initialize(NULL));
    CK_SLOT_ID ids[16];
    ck_assert_uint_eq(slots(ids, 16), 1);
    CK_SLOT_ID first = add_application("first");
    ck_assert_uint_eq(first, ids[0]);
    /* The spare slot got a token, then a new spare slot appeared: two
     * events, in slot order, each reported once. */
    CK_SLOT_ID slot = 0;
    RV_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    ck_assert_uint_eq(slot, first);
    ck_assert_uint_eq(slots(ids, 16), 2);
    RV_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    ck_assert_uint_eq(slot, ids[1]);
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);

    /* Re-initialising an application is the token leaving and another
     * coming: one event. */
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    RV_OK(p11->C_InitToken(first, PINARG(SO_PIN), label));
    RV_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    ck_assert_uint_eq(slot, first);
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);

    /* An application deleted from the card file by another program. */
    char card[PATH_MAX + 64];
    snprintf(card, sizeof(card), "%s/uicc-0.db", store_dir);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(card, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char sql[64];
    snprintf(sql, sizeof(sql), "DELETE FROM app WHERE slot = %lu", (unsigned long)(first % 256));
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    RV_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    ck_assert_uint_eq(slot, first);
    CK_TOKEN_INFO ti;
    RV_OK(p11->C_GetTokenInfo(first, &ti));
    ck_assert_uint_eq(ti.flags & CKF_TOKEN_INITIALIZED, 0); /* the spare slot again */
}
END_TEST

static void *wait_blocking(void *arg)
{
    CK_RV *rv = arg;
    CK_SLOT_ID slot;
    *rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
    return NULL;
}

START_TEST(test_event_finalize_wakes_waiter)
{
    RV_OK(p11->C_Initialize(NULL));
    CK_RV rv = CKR_GENERAL_ERROR;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_blocking, &rv), 0);
    /* Let the waiter block (were it late, it would get the same answer). */
    usleep(300 * 1000);
    RV_OK(p11->C_Finalize(NULL));
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    RV_EQ(rv, CKR_CRYPTOKI_NOT_INITIALIZED);
    /* And the module can start again. */
    RV_OK(p11->C_Initialize(NULL));
    CK_SLOT_ID slot;
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
}
END_TEST

static void *add_soon(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    add_application("late");
    return NULL;
}

START_TEST(test_event_blocking_wakes)
{
    RV_OK(p11->C_Initialize(NULL));
    CK_SLOT_ID ids[16];
    slots(ids, 16);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, add_soon, NULL), 0);
    CK_SLOT_ID slot = 12345;
    RV_OK(p11->C_WaitForSlotEvent(0, &slot, NULL));
    ck_assert_uint_eq(slot, ids[0]);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

static Suite *interface_suite(void)
{
    Suite *s = suite_create("interface");
    TCase *tc = tcase_create("interface");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_interface_list);
    tcase_add_test(tc, test_get_interface);
    tcase_add_test(tc, test_v3_list);
    tcase_add_test(tc, test_session_cancel);
    tcase_add_test(tc, test_login_user);
    suite_add_tcase(s, tc);
    tc = tcase_create("events");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_event_args);
    tcase_add_test(tc, test_event_added_and_removed);
    tcase_add_test(tc, test_event_finalize_wakes_waiter);
    tcase_add_test(tc, test_event_blocking_wakes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root_dir, sizeof(root_dir), "%s/dmsc-test-interface-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(root_dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    unsetenv("DMSC_DEBUG");
    SRunner *sr = srunner_create(interface_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
