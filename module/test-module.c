/*
 * Unit tests of the whole module through its PKCS#11 function list
 * (linked from libdmsc-testable.la). Every test runs in its own process
 * (Check's fork mode) on its own fresh store: DMSC_STORE is a directory
 * the module creates, DMSC_CONF an (empty unless the test says) file, so
 * no user or system configuration leaks in. A PIN check costs one scrypt
 * (some 0.1 s): the tests keep their PIN operations few.
 */
#include "attrs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <p11-kit/pkcs11.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RV_EQ(expr, want)                                                   \
    do {                                                                    \
        CK_RV rv_ = (expr);                                                 \
        ck_assert_msg(rv_ == (CK_RV)(want), "%s = 0x%lx, expected %s (0x%lx)", #expr, \
                      (unsigned long)rv_, #want, (unsigned long)(want));    \
    } while (0)
#define RV_OK(expr) RV_EQ(expr, CKR_OK)
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#define USER_PIN "user-pin-42"
#define SO_PIN "so-pin-0000"
#define PINARG(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

static CK_FUNCTION_LIST_PTR p11;
static char root_dir[PATH_MAX];  /* made by main, removed by main */
static char test_dir[PATH_MAX + 16]; /* one per test, under root_dir */
static char store_dir[PATH_MAX + 32];
static char conf_path[PATH_MAX + 32];

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS c_data = CKO_DATA;

/* ---- fixture ---- */

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

static void write_conf(const char *text)
{
    write_file(conf_path, text, strlen(text), 0644);
}

static void setup(void)
{
    snprintf(test_dir, sizeof(test_dir), "%s/t-XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    snprintf(store_dir, sizeof(store_dir), "%s/store", test_dir);
    snprintf(conf_path, sizeof(conf_path), "%s/dmsc.conf", test_dir);
    write_conf("# dmsc unit test: defaults\n");
    setenv("DMSC_STORE", store_dir, 1);
    setenv("DMSC_CONF", conf_path, 1);
    ck_assert_int_eq(C_GetFunctionList(&p11), CKR_OK);
    ck_assert_ptr_nonnull(p11);
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

/* ---- helpers ---- */

static void init(void)
{
    RV_OK(p11->C_Initialize(NULL));
}

static void reinit(void)
{
    RV_OK(p11->C_Finalize(NULL));
    RV_OK(p11->C_Initialize(NULL));
}

static CK_ULONG slot_count(void)
{
    CK_ULONG n = 0;
    RV_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
    return n;
}

static CK_SLOT_ID slot_at(CK_ULONG i)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    RV_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
    ck_assert_uint_lt(i, n);
    n = 64;
    RV_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
    return slots[i];
}

static CK_TOKEN_INFO token_info(CK_SLOT_ID slot)
{
    CK_TOKEN_INFO ti;
    memset(&ti, 0, sizeof(ti));
    RV_OK(p11->C_GetTokenInfo(slot, &ti));
    return ti;
}

static CK_FLAGS token_flags(CK_SLOT_ID slot)
{
    return token_info(slot).flags;
}

static void pad32(CK_UTF8CHAR out[32], const char *s)
{
    memset(out, ' ', 32);
    memcpy(out, s, strlen(s));
}

static void init_token(CK_SLOT_ID slot, const char *so_pin, const char *label)
{
    CK_UTF8CHAR l[32];
    pad32(l, label);
    RV_OK(p11->C_InitToken(slot, PINARG(so_pin), l));
}

static CK_SESSION_HANDLE open_session(CK_SLOT_ID slot, bool rw)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    RV_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h));
    ck_assert_uint_ne(h, CK_INVALID_HANDLE);
    return h;
}

static CK_RV login(CK_SESSION_HANDLE h, CK_USER_TYPE who, const char *pin)
{
    return p11->C_Login(h, who, PINARG(pin));
}

static CK_STATE session_state(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    RV_OK(p11->C_GetSessionInfo(h, &si));
    return si.state;
}

/* Initialise the module and the first token, with the user PIN set and
 * nobody logged in. */
static CK_SLOT_ID ready_token(void)
{
    init();
    CK_SLOT_ID slot = slot_at(0);
    init_token(slot, SO_PIN, "unit test token");
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_SO, SO_PIN));
    RV_OK(p11->C_InitPIN(h, PINARG(USER_PIN)));
    RV_OK(p11->C_CloseSession(h));
    return slot;
}

/* A data object; value may be NULL. */
static CK_RV try_create_data(CK_SESSION_HANDLE h, const char *label, const void *value, size_t len,
                             bool token, bool priv, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &c_data, sizeof(c_data) },
        { CKA_TOKEN, token ? &yes : &no, 1 },
        { CKA_PRIVATE, priv ? &yes : &no, 1 },
        { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_VALUE, (void *)value, value ? len : 0 },
    };
    *out = CK_INVALID_HANDLE;
    return p11->C_CreateObject(h, t, N_ELEMENTS(t), out);
}

static CK_OBJECT_HANDLE create_data(CK_SESSION_HANDLE h, const char *label, const void *value,
                                    size_t len, bool token, bool priv)
{
    CK_OBJECT_HANDLE o;
    RV_OK(try_create_data(h, label, value, len, token, priv, &o));
    ck_assert_uint_ne(o, CK_INVALID_HANDLE);
    return o;
}

/* Count the matches (and return the handles, up to 64). */
/* Is o the card's network key (the DM application's NETWORKID)? */
static bool is_network_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
    char label[16];
    CK_OBJECT_CLASS klass = 0;
    CK_ATTRIBUTE a[] = { { CKA_CLASS, &klass, sizeof(klass) }, { CKA_LABEL, label, sizeof(label) } };
    if (p11->C_GetAttributeValue(h, o, a, 2) != CKR_OK)
        return false;
    return klass == CKO_SECRET_KEY && a[1].ulValueLen == 9 && memcmp(label, "NETWORKID", 9) == 0;
}

/* The objects a search finds, leaving out the network key that the
 * card's first application always shows (test_network_key covers it). */
static CK_ULONG find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_HANDLE buf[64];
    CK_ULONG total = 0, got;
    RV_OK(p11->C_FindObjectsInit(h, t, n));
    do {
        got = 0;
        RV_OK(p11->C_FindObjects(h, buf, 64, &got));
        for (CK_ULONG i = 0; i < got; i++) {
            if (is_network_key(h, buf[i]))
                continue;
            if (out && total < 64)
                out[total] = buf[i];
            total++;
        }
    } while (got > 0);
    RV_OK(p11->C_FindObjectsFinal(h));
    return total;
}

static CK_ULONG find_label(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, strlen(label) } };
    return find(h, t, 1, out);
}

/* The attribute's value into buf (NUL-terminated); its length. */
static CK_ULONG get_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf,
                         CK_ULONG size)
{
    CK_ATTRIBUTE a = { type, buf, size - 1 };
    RV_OK(p11->C_GetAttributeValue(h, o, &a, 1));
    ((char *)buf)[a.ulValueLen] = '\0';
    return a.ulValueLen;
}

static void assert_label(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, const char *want)
{
    char buf[256];
    CK_ULONG len = get_attr(h, o, CKA_LABEL, buf, sizeof(buf));
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_str_eq(buf, want);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void card_path(char *out, size_t size, const char *suffix)
{
    snprintf(out, size, "%s/uicc-0.db%s", store_dir, suffix);
}

/* ---- C_Initialize ---- */

static CK_RV fake_create(CK_VOID_PTR_PTR m) { *m = malloc(1); return CKR_OK; }
static CK_RV fake_destroy(CK_VOID_PTR m) { free(m); return CKR_OK; }
static CK_RV fake_lock(CK_VOID_PTR m) { (void)m; return CKR_OK; }
static CK_RV fake_unlock(CK_VOID_PTR m) { (void)m; return CKR_OK; }

START_TEST(test_initialize_args)
{
    CK_C_INITIALIZE_ARGS a;
    memset(&a, 0, sizeof(a));
    a.pReserved = &a;
    RV_EQ(p11->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.pReserved = NULL;
    /* Some but not all of the mutex functions, with and without
     * permission to use the OS's locking. */
    for (int mask = 1; mask < 15; mask++) {
        for (int os = 0; os < 2; os++) {
            a.CreateMutex = mask & 1 ? fake_create : NULL;
            a.DestroyMutex = mask & 2 ? fake_destroy : NULL;
            a.LockMutex = mask & 4 ? fake_lock : NULL;
            a.UnlockMutex = mask & 8 ? fake_unlock : NULL;
            a.flags = os ? CKF_OS_LOCKING_OK : 0;
            CK_RV rv = p11->C_Initialize(&a);
            ck_assert_msg(rv == CKR_ARGUMENTS_BAD, "mutex function mask %d, os %d: 0x%lx", mask, os,
                          (unsigned long)rv);
        }
    }
    /* The module was never initialised by those. */
    CK_ULONG n;
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* All four, but only the application's locking allowed. */
    a.CreateMutex = fake_create;
    a.DestroyMutex = fake_destroy;
    a.LockMutex = fake_lock;
    a.UnlockMutex = fake_unlock;
    a.flags = 0;
    RV_EQ(p11->C_Initialize(&a), CKR_CANT_LOCK);
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    a.flags = CKF_OS_LOCKING_OK;
    RV_OK(p11->C_Initialize(&a));
    RV_EQ(p11->C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    RV_EQ(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    RV_EQ(p11->C_Finalize(&a), CKR_ARGUMENTS_BAD);
    RV_OK(p11->C_Finalize(NULL));
    RV_EQ(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* OS locking only; no locking flags at all; CANT_CREATE_OS_THREADS. */
    memset(&a, 0, sizeof(a));
    a.flags = CKF_OS_LOCKING_OK;
    RV_OK(p11->C_Initialize(&a));
    RV_OK(p11->C_Finalize(NULL));
    a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
    RV_OK(p11->C_Initialize(&a));
    RV_OK(p11->C_Finalize(NULL));
    RV_OK(p11->C_Initialize(NULL));
    RV_EQ(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    RV_OK(p11->C_Finalize(NULL));
}
END_TEST

static void assert_all_not_initialized(void)
{
    CK_INFO info;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_INFO ssi;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    CK_ULONG n = 0;
    CK_UTF8CHAR label[32];
    pad32(label, "x");
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c_data, sizeof(c_data) } };
    RV_EQ(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_GetSlotInfo(0, &si), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_GetTokenInfo(0, &ti), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_InitToken(0, PINARG(SO_PIN), label), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_CloseAllSessions(0), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_GetSessionInfo(1, &ssi), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_Login(1, CKU_USER, PINARG(USER_PIN)), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_Logout(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_InitPIN(1, PINARG(USER_PIN)), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_CreateObject(1, t, 1, &o), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_DestroyObject(1, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_GetAttributeValue(1, 1, t, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_FindObjectsInit(1, t, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_FindObjects(1, &o, 1, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    RV_EQ(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

START_TEST(test_not_initialized)
{
    CK_FUNCTION_LIST_PTR l = NULL;
    RV_OK(C_GetFunctionList(&l)); /* always available */
    ck_assert_ptr_eq(l, p11);
    RV_EQ(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(p11->version.major, 2);
    assert_all_not_initialized();
    init();
    CK_INFO info;
    RV_OK(p11->C_GetInfo(&info));
    ck_assert_uint_eq(info.cryptokiVersion.major, 2);
    RV_OK(p11->C_Finalize(NULL));
    assert_all_not_initialized();
}
END_TEST

/* ---- a fresh store, tokens ---- */

START_TEST(test_fresh_store)
{
    init();
    ck_assert_uint_eq(slot_count(), 1);
    CK_SLOT_ID slot = slot_at(0);
    CK_SLOT_INFO si;
    RV_OK(p11->C_GetSlotInfo(slot, &si));
    ck_assert(si.flags & CKF_TOKEN_PRESENT);
    CK_TOKEN_INFO ti = token_info(slot);
    ck_assert(!(ti.flags & CKF_TOKEN_INITIALIZED));
    ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED));
    CK_SESSION_HANDLE h;
    RV_EQ(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_TOKEN_NOT_RECOGNIZED);
    RV_EQ(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
          CKR_TOKEN_NOT_RECOGNIZED);
    /* Unknown slots. */
    RV_EQ(p11->C_GetSlotInfo(slot + 1000, &si), CKR_SLOT_ID_INVALID);
    RV_EQ(p11->C_GetTokenInfo(slot + 1000, &ti), CKR_SLOT_ID_INVALID);
    RV_EQ(p11->C_OpenSession(slot + 1000, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SLOT_ID_INVALID);

    CK_UTF8CHAR label[32];
    pad32(label, "first token");
    RV_EQ(p11->C_InitToken(slot, PINARG("123"), label), CKR_PIN_LEN_RANGE);
    RV_EQ(p11->C_InitToken(slot, NULL, 4, label), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(slot_count(), 1);
    RV_OK(p11->C_InitToken(slot, PINARG(SO_PIN), label));
    /* The spare slot: a second, uninitialised token appears. */
    ck_assert_uint_eq(slot_count(), 2);
    ck_assert_uint_eq(slot_at(0), slot);
    CK_SLOT_ID one[1];
    CK_ULONG n = 1;
    RV_EQ(p11->C_GetSlotList(CK_FALSE, one, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
    CK_SLOT_ID spare = slot_at(1);
    ck_assert_uint_ne(spare, slot);
    ti = token_info(slot);
    ck_assert(ti.flags & CKF_TOKEN_INITIALIZED);
    ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED));
    ck_assert_mem_eq(ti.label, label, 32);
    ck_assert_uint_eq(ti.ulMinPinLen, 4);
    ck_assert_uint_eq(ti.ulMaxPinLen, 64);
    ck_assert(!(token_flags(spare) & CKF_TOKEN_INITIALIZED));
    RV_EQ(p11->C_OpenSession(spare, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_TOKEN_NOT_RECOGNIZED);
    h = open_session(slot, false);
    RV_OK(p11->C_CloseSession(h));
    /* All of it is in the store. */
    reinit();
    ck_assert_uint_eq(slot_count(), 2);
    ck_assert(token_flags(slot) & CKF_TOKEN_INITIALIZED);
}
END_TEST

START_TEST(test_reinit_token)
{
    CK_SLOT_ID slot = ready_token();
    CK_ULONG free0 = token_info(slot).ulFreePublicMemory;
    CK_SESSION_HANDLE h = open_session(slot, true);
    create_data(h, "doomed", "some bytes", 10, true, false);
    ck_assert_uint_lt(token_info(slot).ulFreePublicMemory, free0);
    RV_OK(p11->C_CloseSession(h));
    CK_UTF8CHAR label[32];
    pad32(label, "second life");
    /* Re-initialising takes the SO PIN. */
    RV_EQ(p11->C_InitToken(slot, PINARG("wrong-so-pin"), label), CKR_PIN_INCORRECT);
    RV_OK(p11->C_InitToken(slot, PINARG(SO_PIN), label));
    CK_TOKEN_INFO ti = token_info(slot);
    ck_assert_mem_eq(ti.label, label, 32);
    ck_assert(!(ti.flags & CKF_USER_PIN_INITIALIZED)); /* a new application */
    ck_assert_uint_eq(ti.ulFreePublicMemory, free0);    /* objects wiped */
    ck_assert_uint_eq(slot_count(), 2);                 /* no new spare slot */
    h = open_session(slot, true);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 0);
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
}
END_TEST

START_TEST(test_store_modes)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "x", "private bytes", 13, true, true);
    struct stat st;
    ck_assert_int_eq(stat(store_dir, &st), 0);
    ck_assert_msg((st.st_mode & 07777) == 0700, "store directory mode %o", (unsigned)(st.st_mode & 07777));
    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_msg((st.st_mode & 07777) == 0600, "card file mode %o", (unsigned)(st.st_mode & 07777));
    /* The WAL and shared-memory files too, while the card is open. */
    static const char *const side[] = { "-wal", "-shm" };
    for (size_t i = 0; i < 2; i++) {
        card_path(path, sizeof(path), side[i]);
        if (stat(path, &st) == 0)
            ck_assert_msg((st.st_mode & 077) == 0, "%s mode %o", path, (unsigned)(st.st_mode & 07777));
    }
}
END_TEST

/* ---- PINs ---- */

START_TEST(test_initpin_needs_so_rw)
{
    init();
    CK_SLOT_ID slot = slot_at(0);
    init_token(slot, SO_PIN, "pins");
    CK_SESSION_HANDLE rw = open_session(slot, true), ro = open_session(slot, false);
    RV_EQ(p11->C_InitPIN(rw, PINARG(USER_PIN)), CKR_USER_NOT_LOGGED_IN);
    RV_EQ(p11->C_InitPIN(ro, PINARG(USER_PIN)), CKR_USER_NOT_LOGGED_IN);
    RV_OK(p11->C_CloseSession(ro));
    RV_OK(login(rw, CKU_SO, SO_PIN));
    RV_OK(p11->C_InitPIN(rw, PINARG(USER_PIN)));
    ck_assert(token_flags(slot) & CKF_USER_PIN_INITIALIZED);
    RV_OK(p11->C_Logout(rw));
    RV_EQ(p11->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
    RV_OK(login(rw, CKU_USER, USER_PIN));
    RV_EQ(p11->C_InitPIN(rw, PINARG("999999")), CKR_USER_NOT_LOGGED_IN);
    RV_OK(p11->C_Logout(rw));
    /* The user PIN did not change. */
    RV_OK(login(rw, CKU_USER, USER_PIN));
}
END_TEST

START_TEST(test_user_pin_not_initialized)
{
    init();
    CK_SLOT_ID slot = slot_at(0);
    init_token(slot, SO_PIN, "no user pin");
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    CK_FLAGS f = token_flags(slot);
    ck_assert(!(f & CKF_USER_PIN_INITIALIZED));
    ck_assert(!(f & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED))); /* no try spent */
    ck_assert_uint_eq(session_state(h), CKS_RW_PUBLIC_SESSION);
}
END_TEST

#define USER_PIN_FLAGS (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)

static void assert_user_pin_flags(CK_SLOT_ID slot, CK_FLAGS want, const char *when)
{
    CK_FLAGS f = token_flags(slot) & USER_PIN_FLAGS;
    ck_assert_msg(f == want, "%s: user PIN flags 0x%lx, expected 0x%lx", when, (unsigned long)f,
                  (unsigned long)want);
}

START_TEST(test_pin_lockout)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "kept", "private data", 12, true, true);
    RV_OK(p11->C_Logout(h));
    assert_user_pin_flags(slot, 0, "fresh");
    RV_EQ(login(h, CKU_USER, "000000"), CKR_PIN_INCORRECT);
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW, "one wrong");
    RV_EQ(login(h, CKU_USER, "000000"), CKR_PIN_INCORRECT);
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY, "two wrong");
    CK_RV rv = login(h, CKU_USER, "000000");
    ck_assert_msg(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED, "third wrong PIN: 0x%lx", (unsigned long)rv);
    ck_assert(token_flags(slot) & CKF_USER_PIN_LOCKED);
    ck_assert(!(token_flags(slot) & CKF_USER_PIN_FINAL_TRY));
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    ck_assert_uint_eq(session_state(h), CKS_RW_PUBLIC_SESSION);

    /* Locked in the store, not just in this process. */
    reinit();
    ck_assert(token_flags(slot) & CKF_USER_PIN_LOCKED);
    h = open_session(slot, true);
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_PIN_LOCKED);

    /* The SO unblocks by setting a new user PIN. */
    RV_OK(login(h, CKU_SO, SO_PIN));
    RV_OK(p11->C_InitPIN(h, PINARG("new-user-pin")));
    RV_OK(p11->C_Logout(h));
    assert_user_pin_flags(slot, 0, "after C_InitPIN");
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    RV_OK(login(h, CKU_USER, "new-user-pin"));
    assert_user_pin_flags(slot, 0, "after the right PIN");
    /* Unblocking loses no data: the private object still opens. */
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "kept", found), 1);
    char buf[32];
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), 12);
    ck_assert_str_eq(buf, "private data");
}
END_TEST

START_TEST(test_pin_counter_persisted_and_reset)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_EQ(login(h, CKU_USER, "999999"), CKR_PIN_INCORRECT);
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW, "one wrong");
    reinit();
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW, "one wrong, re-initialised");
    h = open_session(slot, true);
    RV_EQ(login(h, CKU_USER, "999999"), CKR_PIN_INCORRECT);
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY, "two wrong");
    /* The right PIN gives every try back. */
    RV_OK(login(h, CKU_USER, USER_PIN));
    assert_user_pin_flags(slot, 0, "right PIN");
    RV_OK(p11->C_Logout(h));
    RV_EQ(login(h, CKU_USER, "999999"), CKR_PIN_INCORRECT);
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW, "one wrong after reset");
    reinit();
    assert_user_pin_flags(slot, CKF_USER_PIN_COUNT_LOW, "one wrong after reset, re-initialised");
}
END_TEST

#define SO_PIN_FLAGS (CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED)

START_TEST(test_so_pin_tries)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    ck_assert_uint_eq(token_flags(slot) & SO_PIN_FLAGS, 0);
    for (int i = 1; i <= 9; i++) {
        RV_EQ(login(h, CKU_SO, "not-the-so-pin"), CKR_PIN_INCORRECT);
        CK_FLAGS f = token_flags(slot);
        ck_assert_msg(f & CKF_SO_PIN_COUNT_LOW, "after %d wrong SO PINs: flags 0x%lx", i, (unsigned long)f);
        ck_assert_msg(!(f & CKF_SO_PIN_LOCKED), "after %d wrong SO PINs: locked", i);
        ck_assert_msg(!!(f & CKF_SO_PIN_FINAL_TRY) == (i == 9), "after %d wrong SO PINs: final try %d", i,
                      !!(f & CKF_SO_PIN_FINAL_TRY));
        ck_assert_uint_eq(f & USER_PIN_FLAGS, 0); /* the user's counter is separate */
    }
    CK_RV rv = login(h, CKU_SO, "not-the-so-pin");
    ck_assert_msg(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED, "tenth wrong SO PIN: 0x%lx", (unsigned long)rv);
    ck_assert(token_flags(slot) & CKF_SO_PIN_LOCKED);
    RV_EQ(login(h, CKU_SO, SO_PIN), CKR_PIN_LOCKED);
    /* The user is not locked out with the SO. */
    RV_OK(login(h, CKU_USER, USER_PIN));
}
END_TEST

START_TEST(test_set_pin)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "kept", "private data", 12, true, true);
    RV_OK(p11->C_SetPIN(h, PINARG(USER_PIN), PINARG("654321")));
    RV_OK(p11->C_Logout(h));
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    RV_OK(login(h, CKU_USER, "654321"));
    RV_EQ(p11->C_SetPIN(h, PINARG("000000"), PINARG("111111")), CKR_PIN_INCORRECT);
    RV_OK(p11->C_Logout(h));
    /* In a public R/W session C_SetPIN changes the user's PIN. */
    RV_OK(p11->C_SetPIN(h, PINARG("654321"), PINARG("111111")));
    RV_OK(login(h, CKU_USER, "111111"));
    RV_OK(p11->C_Logout(h));
    /* Never in a read-only session. */
    CK_SESSION_HANDLE ro = open_session(slot, false);
    RV_EQ(p11->C_SetPIN(ro, PINARG("111111"), PINARG("222222")), CKR_SESSION_READ_ONLY);
    RV_OK(p11->C_CloseSession(ro));
    /* The SO's own PIN. */
    RV_OK(login(h, CKU_SO, SO_PIN));
    RV_OK(p11->C_SetPIN(h, PINARG(SO_PIN), PINARG("new-so-pin")));
    RV_OK(p11->C_Logout(h));
    RV_EQ(login(h, CKU_SO, SO_PIN), CKR_PIN_INCORRECT);
    RV_OK(login(h, CKU_SO, "new-so-pin"));
    RV_OK(p11->C_Logout(h));
    /* Changes are in the store. */
    reinit();
    h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, "111111"));
    /* The private object opens under the changed PIN. */
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "kept", found), 1);
    char buf[32];
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), 12);
    ck_assert_str_eq(buf, "private data");
}
END_TEST

START_TEST(test_pin_len_range)
{
    char p64[65], p65[66];
    memset(p64, 'a', 64);
    p64[64] = '\0';
    memset(p65, 'b', 65);
    p65[65] = '\0';
    init();
    CK_SLOT_ID slot = slot_at(0);
    CK_UTF8CHAR label[32];
    pad32(label, "lengths");
    RV_EQ(p11->C_InitToken(slot, PINARG(p65), label), CKR_PIN_LEN_RANGE);
    RV_EQ(p11->C_InitToken(slot, PINARG("abc"), label), CKR_PIN_LEN_RANGE);
    RV_OK(p11->C_InitToken(slot, PINARG(p64), label));
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_SO, p64));
    RV_EQ(p11->C_InitPIN(h, PINARG("123")), CKR_PIN_LEN_RANGE);
    RV_EQ(p11->C_InitPIN(h, PINARG(p65)), CKR_PIN_LEN_RANGE);
    RV_EQ(p11->C_InitPIN(h, (CK_UTF8CHAR_PTR) "", 0), CKR_PIN_LEN_RANGE);
    ck_assert(!(token_flags(slot) & CKF_USER_PIN_INITIALIZED));
    RV_OK(p11->C_InitPIN(h, PINARG("1234"))); /* 4: the shortest */
    RV_OK(p11->C_InitPIN(h, PINARG(p64)));    /* 64: the longest */
    RV_OK(p11->C_Logout(h));
    RV_OK(login(h, CKU_USER, p64));
    RV_EQ(p11->C_SetPIN(h, PINARG(p64), PINARG("123")), CKR_PIN_LEN_RANGE);
    RV_EQ(p11->C_SetPIN(h, PINARG(p64), PINARG(p65)), CKR_PIN_LEN_RANGE);
    RV_OK(p11->C_Logout(h));
    RV_OK(login(h, CKU_USER, p64)); /* unchanged */
}
END_TEST

/* ---- sessions ---- */

START_TEST(test_serial_session)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h;
    RV_EQ(p11->C_OpenSession(slot, 0, NULL, NULL, &h), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    RV_EQ(p11->C_OpenSession(slot, CKF_RW_SESSION, NULL, NULL, &h), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    RV_EQ(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    CK_TOKEN_INFO ti = token_info(slot);
    ck_assert_uint_eq(ti.ulSessionCount, 0);
}
END_TEST

START_TEST(test_so_and_read_only_sessions)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE ro = open_session(slot, false), rw = open_session(slot, true);
    RV_EQ(login(rw, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
    RV_EQ(login(ro, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
    RV_OK(p11->C_CloseSession(ro));
    RV_OK(login(rw, CKU_SO, SO_PIN));
    CK_SESSION_HANDLE h;
    RV_EQ(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SESSION_READ_WRITE_SO_EXISTS);
    CK_SESSION_HANDLE rw2 = open_session(slot, true);
    ck_assert_uint_eq(session_state(rw2), CKS_RW_SO_FUNCTIONS);
    RV_OK(p11->C_Logout(rw));
    ro = open_session(slot, false);
    ck_assert_uint_eq(session_state(ro), CKS_RO_PUBLIC_SESSION);
}
END_TEST

START_TEST(test_login_twice)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE rw = open_session(slot, true), ro = open_session(slot, false);
    RV_OK(login(rw, CKU_USER, USER_PIN));
    RV_EQ(login(rw, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN);
    RV_EQ(login(ro, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN); /* login is per token */
    RV_OK(p11->C_CloseSession(ro));
    RV_EQ(login(rw, CKU_SO, SO_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    ck_assert_uint_eq(session_state(rw), CKS_RW_USER_FUNCTIONS);
    RV_EQ(p11->C_Login(rw, 42, PINARG(USER_PIN)), CKR_USER_TYPE_INVALID);
    RV_OK(p11->C_Logout(rw));
    RV_OK(login(rw, CKU_SO, SO_PIN));
    RV_EQ(login(rw, CKU_SO, SO_PIN), CKR_USER_ALREADY_LOGGED_IN);
    RV_EQ(login(rw, CKU_USER, USER_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
}
END_TEST

START_TEST(test_session_info_states)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE ro = open_session(slot, false), rw = open_session(slot, true);
    CK_SESSION_INFO si;
    RV_OK(p11->C_GetSessionInfo(ro, &si));
    ck_assert_uint_eq(si.slotID, slot);
    ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
    ck_assert_uint_eq(si.flags, CKF_SERIAL_SESSION);
    RV_OK(p11->C_GetSessionInfo(rw, &si));
    ck_assert_uint_eq(si.state, CKS_RW_PUBLIC_SESSION);
    ck_assert_uint_eq(si.flags, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    RV_EQ(p11->C_GetSessionInfo(rw, NULL), CKR_ARGUMENTS_BAD);
    CK_TOKEN_INFO ti = token_info(slot);
    ck_assert_uint_eq(ti.ulSessionCount, 2);
    ck_assert_uint_eq(ti.ulRwSessionCount, 1);

    RV_OK(login(ro, CKU_USER, USER_PIN));
    ck_assert_uint_eq(session_state(ro), CKS_RO_USER_FUNCTIONS);
    ck_assert_uint_eq(session_state(rw), CKS_RW_USER_FUNCTIONS);
    RV_OK(p11->C_Logout(rw));
    ck_assert_uint_eq(session_state(ro), CKS_RO_PUBLIC_SESSION);
    ck_assert_uint_eq(session_state(rw), CKS_RW_PUBLIC_SESSION);
    RV_OK(p11->C_CloseSession(ro));
    RV_OK(login(rw, CKU_SO, SO_PIN));
    ck_assert_uint_eq(session_state(rw), CKS_RW_SO_FUNCTIONS);
}
END_TEST

START_TEST(test_token_object_read_only_session)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE ro = open_session(slot, false), rw = open_session(slot, true);
    CK_OBJECT_HANDLE o;
    RV_EQ(try_create_data(ro, "t", "v", 1, true, false, &o), CKR_SESSION_READ_ONLY);
    ck_assert_uint_eq(find_label(rw, "t", NULL), 0);
    /* Session objects are fine in a read-only session. */
    CK_OBJECT_HANDLE so = create_data(ro, "s", "v", 1, false, false);
    CK_ATTRIBUTE lab = { CKA_LABEL, "s2", 2 };
    RV_OK(p11->C_SetAttributeValue(ro, so, &lab, 1));
    /* A token object cannot be changed, copied to the token or destroyed there. */
    CK_OBJECT_HANDLE to = create_data(rw, "tok", "v", 1, true, false);
    RV_EQ(p11->C_SetAttributeValue(ro, to, &lab, 1), CKR_SESSION_READ_ONLY);
    RV_EQ(p11->C_DestroyObject(ro, to), CKR_SESSION_READ_ONLY);
    CK_OBJECT_HANDLE c;
    RV_EQ(p11->C_CopyObject(ro, to, NULL, 0, &c), CKR_SESSION_READ_ONLY);
    ck_assert_uint_eq(find_label(rw, "tok", NULL), 1);
    RV_OK(p11->C_DestroyObject(ro, so));
}
END_TEST

START_TEST(test_private_needs_login)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE rw = open_session(slot, true);
    CK_OBJECT_HANDLE o;
    RV_EQ(try_create_data(rw, "p", "v", 1, false, true, &o), CKR_USER_NOT_LOGGED_IN);
    RV_EQ(try_create_data(rw, "p", "v", 1, true, true, &o), CKR_USER_NOT_LOGGED_IN);
    /* A secret key is private by default. */
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    unsigned char key[16] = { 1 };
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
                         { CKA_VALUE, key, sizeof(key) } };
    RV_EQ(p11->C_CreateObject(rw, t, 3, &o), CKR_USER_NOT_LOGGED_IN);
    /* Nor as the SO. */
    RV_OK(login(rw, CKU_SO, SO_PIN));
    RV_EQ(try_create_data(rw, "p", "v", 1, true, true, &o), CKR_USER_NOT_LOGGED_IN);
    RV_OK(p11->C_Logout(rw));
    RV_OK(login(rw, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find(rw, NULL, 0, NULL), 0); /* nothing was stored */
    create_data(rw, "p", "v", 1, true, true);
    RV_OK(p11->C_CreateObject(rw, t, 3, &o));
}
END_TEST

START_TEST(test_init_token_session_exists)
{
    init();
    CK_SLOT_ID slot = slot_at(0);
    init_token(slot, SO_PIN, "busy");
    CK_SESSION_HANDLE h = open_session(slot, false);
    CK_UTF8CHAR label[32];
    pad32(label, "again");
    RV_EQ(p11->C_InitToken(slot, PINARG(SO_PIN), label), CKR_SESSION_EXISTS);
    RV_OK(p11->C_CloseSession(h));
    RV_OK(p11->C_InitToken(slot, PINARG(SO_PIN), label));
    ck_assert_mem_eq(token_info(slot).label, label, 32);
}
END_TEST

START_TEST(test_close_last_session_logs_out)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE s1 = open_session(slot, true), s2 = open_session(slot, false);
    RV_OK(login(s1, CKU_USER, USER_PIN));
    RV_OK(p11->C_CloseSession(s1));
    ck_assert_uint_eq(session_state(s2), CKS_RO_USER_FUNCTIONS); /* still logged in */
    RV_OK(p11->C_CloseSession(s2));
    CK_SESSION_HANDLE s3 = open_session(slot, true);
    ck_assert_uint_eq(session_state(s3), CKS_RW_PUBLIC_SESSION);
    RV_OK(login(s3, CKU_USER, USER_PIN)); /* not "already logged in" */
    CK_SESSION_HANDLE s4 = open_session(slot, false);
    (void)s4;
    RV_OK(p11->C_CloseAllSessions(slot));
    ck_assert_uint_eq(token_info(slot).ulSessionCount, 0);
    CK_SESSION_HANDLE s5 = open_session(slot, false);
    ck_assert_uint_eq(session_state(s5), CKS_RO_PUBLIC_SESSION);
}
END_TEST

/* ---- handles ---- */

START_TEST(test_object_handles)
{
    init();
    CK_SLOT_ID a = slot_at(0);
    init_token(a, SO_PIN, "token A");
    CK_SLOT_ID b = slot_at(1);
    init_token(b, SO_PIN, "token B");
    CK_SESSION_HANDLE sa = open_session(a, true), sb = open_session(b, true);
    CK_OBJECT_HANDLE sess_obj = create_data(sa, "on A", "a", 1, false, false);
    CK_OBJECT_HANDLE tok_obj = create_data(sa, "on A too", "a", 1, true, false);
    char buf[64];
    CK_ATTRIBUTE lab = { CKA_LABEL, buf, sizeof(buf) };
    CK_ULONG size;
    CK_OBJECT_HANDLE c;
    /* Another token's objects are not there for B's sessions. */
    CK_OBJECT_HANDLE foreign[] = { sess_obj, tok_obj };
    for (size_t i = 0; i < 2; i++) {
        RV_EQ(p11->C_GetAttributeValue(sb, foreign[i], &lab, 1), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_SetAttributeValue(sb, foreign[i], &lab, 1), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_GetObjectSize(sb, foreign[i], &size), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_CopyObject(sb, foreign[i], NULL, 0, &c), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_DestroyObject(sb, foreign[i]), CKR_OBJECT_HANDLE_INVALID);
    }
    ck_assert_uint_eq(find(sb, NULL, 0, NULL), 0);
    /* Random handles. */
    CK_OBJECT_HANDLE bogus[] = { CK_INVALID_HANDLE, 0xdeadbeef, (CK_OBJECT_HANDLE)-1, sess_obj + 1000 };
    for (size_t i = 0; i < N_ELEMENTS(bogus); i++) {
        lab.ulValueLen = sizeof(buf);
        RV_EQ(p11->C_GetAttributeValue(sa, bogus[i], &lab, 1), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_DestroyObject(sa, bogus[i]), CKR_OBJECT_HANDLE_INVALID);
    }
    /* Stale: destroyed. */
    RV_OK(p11->C_DestroyObject(sa, sess_obj));
    RV_OK(p11->C_DestroyObject(sa, tok_obj));
    for (size_t i = 0; i < 2; i++) {
        lab.ulValueLen = sizeof(buf);
        RV_EQ(p11->C_GetAttributeValue(sa, foreign[i], &lab, 1), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_SetAttributeValue(sa, foreign[i], &lab, 1), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_GetObjectSize(sa, foreign[i], &size), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_CopyObject(sa, foreign[i], NULL, 0, &c), CKR_OBJECT_HANDLE_INVALID);
        RV_EQ(p11->C_DestroyObject(sa, foreign[i]), CKR_OBJECT_HANDLE_INVALID);
    }
    /* A new object never gets a destroyed one's handle. */
    CK_OBJECT_HANDLE fresh = create_data(sa, "new", "n", 1, true, false);
    ck_assert_uint_ne(fresh, sess_obj);
    ck_assert_uint_ne(fresh, tok_obj);
}
END_TEST

START_TEST(test_session_handles)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    CK_SESSION_HANDLE live = open_session(slot, true);
    CK_OBJECT_HANDLE o = create_data(live, "x", "v", 1, false, false);
    RV_OK(p11->C_CloseSession(h));
    CK_SESSION_HANDLE bad[] = { h, CK_INVALID_HANDLE, 0x7fffffff, live + 1000 };
    CK_SESSION_INFO si;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &c_data, sizeof(c_data) } };
    CK_OBJECT_HANDLE out;
    for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
        RV_EQ(p11->C_GetSessionInfo(bad[i], &si), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_CloseSession(bad[i]), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(login(bad[i], CKU_USER, USER_PIN), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_Logout(bad[i]), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_CreateObject(bad[i], t, 1, &out), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_GetAttributeValue(bad[i], o, t, 1), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_FindObjectsInit(bad[i], t, 1), CKR_SESSION_HANDLE_INVALID);
        RV_EQ(p11->C_DestroyObject(bad[i], o), CKR_SESSION_HANDLE_INVALID);
    }
    /* Sessions from before C_Finalize are gone after it. */
    reinit();
    RV_EQ(p11->C_GetSessionInfo(live, &si), CKR_SESSION_HANDLE_INVALID);
    CK_SESSION_HANDLE again = open_session(slot, true);
    ck_assert_uint_ne(again, live);
    ck_assert_uint_ne(again, h);
}
END_TEST

/* ---- objects ---- */

START_TEST(test_get_attribute_value)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    unsigned char value[100];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (unsigned char)(i + 1);
    CK_OBJECT_HANDLE o = create_data(h, "hello", value, sizeof(value), false, false);

    /* NULL pValue: the length. */
    CK_ATTRIBUTE q[] = { { CKA_LABEL, NULL, 0 }, { CKA_VALUE, NULL, 12345 }, { CKA_APPLICATION, NULL, 7 } };
    RV_OK(p11->C_GetAttributeValue(h, o, q, 3));
    ck_assert_uint_eq(q[0].ulValueLen, 5);
    ck_assert_uint_eq(q[1].ulValueLen, 100);
    ck_assert_uint_eq(q[2].ulValueLen, 0);

    /* A buffer too small for one; the others are still filled. */
    char label[64];
    unsigned char small[10];
    CK_OBJECT_CLASS cls = 0;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, label, sizeof(label) }, { CKA_VALUE, small, sizeof(small) },
                         { CKA_CLASS, &cls, sizeof(cls) } };
    RV_EQ(p11->C_GetAttributeValue(h, o, t, 3), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(t[0].ulValueLen, 5);
    ck_assert_mem_eq(label, "hello", 5);
    ck_assert_uint_eq(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(t[2].ulValueLen, sizeof(cls));
    ck_assert_uint_eq(cls, CKO_DATA);
    /* One byte short; exactly right; larger. */
    unsigned char big[200];
    CK_ATTRIBUTE v = { CKA_VALUE, big, 99 };
    RV_EQ(p11->C_GetAttributeValue(h, o, &v, 1), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(v.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    v.ulValueLen = 100;
    RV_OK(p11->C_GetAttributeValue(h, o, &v, 1));
    ck_assert_uint_eq(v.ulValueLen, 100);
    ck_assert_mem_eq(big, value, 100);
    v.ulValueLen = sizeof(big);
    RV_OK(p11->C_GetAttributeValue(h, o, &v, 1));
    ck_assert_uint_eq(v.ulValueLen, 100);

    /* An attribute the object does not have. */
    unsigned char mod[8];
    CK_ATTRIBUTE u[] = { { CKA_LABEL, label, sizeof(label) }, { CKA_MODULUS, mod, sizeof(mod) },
                         { CKA_VENDOR_DEFINED + 77, mod, sizeof(mod) } };
    RV_EQ(p11->C_GetAttributeValue(h, o, u, 3), CKR_ATTRIBUTE_TYPE_INVALID);
    ck_assert_uint_eq(u[0].ulValueLen, 5);
    ck_assert_uint_eq(u[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(u[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);

    /* A sensitive secret key value. */
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    unsigned char key[32];
    memset(key, 0x6b, sizeof(key));
    CK_ATTRIBUTE kt_t[] = { { CKA_CLASS, &sk, sizeof(sk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
                            { CKA_VALUE, key, sizeof(key) }, { CKA_TOKEN, &yes, 1 } };
    CK_OBJECT_HANDLE k;
    RV_OK(p11->C_CreateObject(h, kt_t, 4, &k));
    unsigned char kbuf[64];
    memset(kbuf, 0, sizeof(kbuf));
    CK_ULONG vlen = 0;
    CK_ATTRIBUTE s[] = { { CKA_VALUE, kbuf, sizeof(kbuf) }, { CKA_VALUE_LEN, &vlen, sizeof(vlen) } };
    RV_EQ(p11->C_GetAttributeValue(h, k, s, 2), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(s[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(s[1].ulValueLen, sizeof(vlen));
    ck_assert_uint_eq(vlen, 32);
    ck_assert_ptr_null(memmem(kbuf, sizeof(kbuf), key, 8));
    s[0].pValue = NULL;
    RV_EQ(p11->C_GetAttributeValue(h, k, s, 1), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(s[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);

    /* Not sensitive and extractable: the key value is readable. */
    CK_ATTRIBUTE open_key[] = { { CKA_CLASS, &sk, sizeof(sk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
                                { CKA_VALUE, key, sizeof(key) }, { CKA_TOKEN, &yes, 1 },
                                { CKA_SENSITIVE, &no, 1 }, { CKA_EXTRACTABLE, &yes, 1 } };
    RV_OK(p11->C_CreateObject(h, open_key, 6, &k));
    s[0].pValue = kbuf;
    s[0].ulValueLen = sizeof(kbuf);
    RV_OK(p11->C_GetAttributeValue(h, k, s, 1));
    ck_assert_uint_eq(s[0].ulValueLen, 32);
    ck_assert_mem_eq(kbuf, key, 32);

    /* A private token object's value comes back as it went in. */
    CK_OBJECT_HANDLE p = create_data(h, "private", value, sizeof(value), true, true);
    v.ulValueLen = sizeof(big);
    memset(big, 0, sizeof(big));
    RV_OK(p11->C_GetAttributeValue(h, p, &v, 1));
    ck_assert_uint_eq(v.ulValueLen, 100);
    ck_assert_mem_eq(big, value, 100);

    RV_OK(p11->C_GetAttributeValue(h, o, NULL, 0));
    RV_EQ(p11->C_GetAttributeValue(h, o, NULL, 1), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(test_set_attribute_persists)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    CK_OBJECT_HANDLE o = create_data(h, "before", "old value", 9, true, false);
    CK_OBJECT_HANDLE p = create_data(h, "private before", "old secret", 10, true, true);
    CK_ATTRIBUTE t[] = { { CKA_LABEL, "after", 5 }, { CKA_VALUE, "new value!", 10 } };
    RV_OK(p11->C_SetAttributeValue(h, o, t, 2));
    assert_label(h, o, "after");
    CK_ATTRIBUTE tp[] = { { CKA_LABEL, "private after", 13 }, { CKA_VALUE, "new secret", 10 } };
    RV_OK(p11->C_SetAttributeValue(h, p, tp, 2));
    /* Read-only attributes refuse, and change nothing. */
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
    CK_ATTRIBUTE bad[] = { { CKA_LABEL, "nope", 4 }, { CKA_CLASS, &cert, sizeof(cert) } };
    RV_EQ(p11->C_SetAttributeValue(h, o, bad, 2), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE tok[] = { { CKA_TOKEN, &no, 1 } };
    RV_EQ(p11->C_SetAttributeValue(h, o, tok, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_label(h, o, "after");
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "before", NULL), 0);
    ck_assert_uint_eq(find_label(h, "after", found), 1);
    ck_assert_uint_eq(found[0], o);

    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find_label(h, "before", NULL), 0);
    ck_assert_uint_eq(find_label(h, "after", found), 1);
    char buf[64];
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), 10);
    ck_assert_str_eq(buf, "new value!");
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find_label(h, "private before", NULL), 0);
    ck_assert_uint_eq(find_label(h, "private after", found), 1);
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), 10);
    ck_assert_str_eq(buf, "new secret");
}
END_TEST

START_TEST(test_not_modifiable)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    for (int token = 0; token < 2; token++) {
        CK_ATTRIBUTE t[] = { { CKA_CLASS, &c_data, sizeof(c_data) }, { CKA_TOKEN, token ? &yes : &no, 1 },
                             { CKA_MODIFIABLE, &no, 1 }, { CKA_LABEL, "fixed", 5 } };
        CK_OBJECT_HANDLE o;
        RV_OK(p11->C_CreateObject(h, t, 4, &o));
        CK_ATTRIBUTE lab = { CKA_LABEL, "moved", 5 };
        RV_EQ(p11->C_SetAttributeValue(h, o, &lab, 1), CKR_ACTION_PROHIBITED);
        assert_label(h, o, "fixed");
        /* It can still be destroyed. */
        RV_OK(p11->C_DestroyObject(h, o));
    }
}
END_TEST

START_TEST(test_copy_object)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    CK_OBJECT_HANDLE o = create_data(h, "orig", "payload", 7, true, false);
    CK_ATTRIBUTE t[] = { { CKA_TOKEN, &no, 1 }, { CKA_LABEL, "copy", 4 } };
    CK_OBJECT_HANDLE c = CK_INVALID_HANDLE;
    RV_OK(p11->C_CopyObject(h, o, t, 2, &c));
    ck_assert_uint_ne(c, CK_INVALID_HANDLE);
    ck_assert_uint_ne(c, o);
    assert_label(h, c, "copy");
    assert_label(h, o, "orig");
    char buf[64];
    ck_assert_uint_eq(get_attr(h, c, CKA_VALUE, buf, sizeof(buf)), 7);
    ck_assert_str_eq(buf, "payload");
    CK_BBOOL tokflag = CK_TRUE;
    CK_ATTRIBUTE q = { CKA_TOKEN, &tokflag, 1 };
    RV_OK(p11->C_GetAttributeValue(h, c, &q, 1));
    ck_assert_uint_eq(tokflag, CK_FALSE);

    /* A private token object copied to a session object: the value is
     * the plain value, not what the store keeps. */
    CK_OBJECT_HANDLE p = create_data(h, "private orig", "sealed at rest", 14, true, true);
    CK_ATTRIBUTE t2[] = { { CKA_TOKEN, &no, 1 } };
    RV_OK(p11->C_CopyObject(h, p, t2, 1, &c));
    ck_assert_uint_eq(get_attr(h, c, CKA_VALUE, buf, sizeof(buf)), 14);
    ck_assert_str_eq(buf, "sealed at rest");
    /* And a token copy of it survives. */
    CK_ATTRIBUTE t3[] = { { CKA_LABEL, "private copy", 12 } };
    RV_OK(p11->C_CopyObject(h, p, t3, 1, &c));

    /* Not copyable. */
    CK_ATTRIBUTE nc[] = { { CKA_CLASS, &c_data, sizeof(c_data) }, { CKA_COPYABLE, &no, 1 },
                          { CKA_LABEL, "stay", 4 } };
    CK_OBJECT_HANDLE n;
    RV_OK(p11->C_CreateObject(h, nc, 3, &n));
    RV_EQ(p11->C_CopyObject(h, n, NULL, 0, &c), CKR_ACTION_PROHIBITED);
    /* Class cannot change in a copy. */
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
    CK_ATTRIBUTE cc[] = { { CKA_CLASS, &cert, sizeof(cert) } };
    RV_EQ(p11->C_CopyObject(h, o, cc, 1, &c), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_uint_eq(find_label(h, "stay", NULL), 1);

    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find_label(h, "copy", NULL), 0); /* a session copy */
    ck_assert_uint_eq(find_label(h, "orig", NULL), 1);
    RV_OK(login(h, CKU_USER, USER_PIN));
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "private copy", found), 1);
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), 14);
    ck_assert_str_eq(buf, "sealed at rest");
}
END_TEST

START_TEST(test_destroy_object)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    CK_OBJECT_HANDLE t = create_data(h, "token one", "v", 1, true, false);
    CK_OBJECT_HANDLE keep = create_data(h, "token two", "v", 1, true, false);
    CK_OBJECT_HANDLE s = create_data(h, "session one", "v", 1, false, false);
    RV_OK(p11->C_DestroyObject(h, t));
    RV_OK(p11->C_DestroyObject(h, s));
    ck_assert_uint_eq(find_label(h, "token one", NULL), 0);
    ck_assert_uint_eq(find_label(h, "session one", NULL), 0);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    CK_ATTRIBUTE nd[] = { { CKA_CLASS, &c_data, sizeof(c_data) }, { CKA_DESTROYABLE, &no, 1 },
                          { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "forever", 7 } };
    CK_OBJECT_HANDLE f;
    RV_OK(p11->C_CreateObject(h, nd, 4, &f));
    RV_EQ(p11->C_DestroyObject(h, f), CKR_ACTION_PROHIBITED);
    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find_label(h, "token one", NULL), 0);
    ck_assert_uint_eq(find_label(h, "token two", NULL), 1);
    ck_assert_uint_eq(find_label(h, "forever", NULL), 1);
    (void)keep;
}
END_TEST

START_TEST(test_object_size)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    unsigned char v[110] = { 0 };
    CK_OBJECT_HANDLE a = create_data(h, "a", v, 10, false, false);
    CK_OBJECT_HANDLE b = create_data(h, "b", v, 110, false, false);
    CK_OBJECT_HANDLE c = create_data(h, "c", v, 110, true, false);
    CK_ULONG sa = 0, sb = 0, sc = 0;
    RV_OK(p11->C_GetObjectSize(h, a, &sa));
    RV_OK(p11->C_GetObjectSize(h, b, &sb));
    RV_OK(p11->C_GetObjectSize(h, c, &sc));
    ck_assert_uint_ge(sa, 10);
    ck_assert_uint_ge(sb, 110);
    ck_assert_uint_ge(sb - sa, 100);
    ck_assert_uint_ge(sc, 110);
    RV_EQ(p11->C_GetObjectSize(h, a, NULL), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(test_find)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    struct {
        const char *label, *app;
        bool token;
    } objs[] = { { "a", "app1", true }, { "b", "app2", false }, { "b", "app1", true }, { "c", "app1", false } };
    CK_OBJECT_HANDLE made[4];
    for (size_t i = 0; i < 4; i++) {
        CK_ATTRIBUTE t[] = { { CKA_CLASS, &c_data, sizeof(c_data) },
                             { CKA_TOKEN, objs[i].token ? &yes : &no, 1 },
                             { CKA_LABEL, (void *)objs[i].label, 1 },
                             { CKA_APPLICATION, (void *)objs[i].app, 4 } };
        RV_OK(p11->C_CreateObject(h, t, 4, &made[i]));
    }
    /* An RSA public key labelled "a" too. */
    CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE rsa = CKK_RSA;
    unsigned char mod[128], e[] = { 1, 0, 1 };
    memset(mod, 0xcd, sizeof(mod));
    CK_ATTRIBUTE kt[] = { { CKA_CLASS, &pub, sizeof(pub) }, { CKA_KEY_TYPE, &rsa, sizeof(rsa) },
                          { CKA_MODULUS, mod, sizeof(mod) }, { CKA_PUBLIC_EXPONENT, e, sizeof(e) },
                          { CKA_LABEL, "a", 1 } };
    CK_OBJECT_HANDLE key;
    RV_OK(p11->C_CreateObject(h, kt, 5, &key));

    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find(h, NULL, 0, found), 5);
    /* Each object once. */
    for (size_t i = 0; i < 4; i++) {
        int seen = 0;
        for (size_t j = 0; j < 5; j++)
            seen += found[j] == made[i];
        ck_assert_int_eq(seen, 1);
    }
    ck_assert_uint_eq(find_label(h, "a", NULL), 2);
    ck_assert_uint_eq(find_label(h, "b", NULL), 2);
    ck_assert_uint_eq(find_label(h, "c", found), 1);
    ck_assert_uint_eq(found[0], made[3]);
    ck_assert_uint_eq(find_label(h, "none", NULL), 0);
    ck_assert_uint_eq(find_label(h, "", NULL), 0);
    CK_ATTRIBUTE by_class[] = { { CKA_CLASS, &c_data, sizeof(c_data) } };
    ck_assert_uint_eq(find(h, by_class, 1, NULL), 4);
    CK_ATTRIBUTE by_pub[] = { { CKA_CLASS, &pub, sizeof(pub) } };
    ck_assert_uint_eq(find(h, by_pub, 1, found), 1);
    ck_assert_uint_eq(found[0], key);
    CK_ATTRIBUTE by_app[] = { { CKA_APPLICATION, "app1", 4 } };
    ck_assert_uint_eq(find(h, by_app, 1, NULL), 3);
    CK_ATTRIBUTE by_both[] = { { CKA_LABEL, "b", 1 }, { CKA_APPLICATION, "app1", 4 } };
    ck_assert_uint_eq(find(h, by_both, 2, found), 1);
    ck_assert_uint_eq(found[0], made[2]);
    CK_ATTRIBUTE by_token[] = { { CKA_TOKEN, &yes, 1 } };
    ck_assert_uint_eq(find(h, by_token, 1, NULL), 2);
    CK_ATTRIBUTE by_mod[] = { { CKA_MODULUS, mod, sizeof(mod) } };
    ck_assert_uint_eq(find(h, by_mod, 1, NULL), 1);
    CK_ATTRIBUTE by_prefix[] = { { CKA_APPLICATION, "app", 3 } };
    ck_assert_uint_eq(find(h, by_prefix, 1, NULL), 0);

    /* One at a time, each once. */
    RV_OK(p11->C_FindObjectsInit(h, NULL, 0));
    CK_ULONG n, total = 0;
    CK_OBJECT_HANDLE one;
    do {
        n = 99;
        RV_OK(p11->C_FindObjects(h, &one, 1, &n));
        ck_assert_uint_le(n, 1);
        total += n;
    } while (n == 1);
    ck_assert_uint_eq(total, 6); /* the five and the network key */
    /* The operation rules. */
    RV_EQ(p11->C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
    RV_OK(p11->C_FindObjectsFinal(h));
    RV_EQ(p11->C_FindObjects(h, &one, 1, &n), CKR_OPERATION_NOT_INITIALIZED);
    RV_EQ(p11->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);

    /* Only the token objects survive. */
    reinit();
    h = open_session(slot, false);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 2);
    ck_assert_uint_eq(find(h, by_app, 1, NULL), 2);
    ck_assert_uint_eq(find_label(h, "b", NULL), 1);
}
END_TEST

START_TEST(test_private_visibility)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    CK_OBJECT_HANDLE p = create_data(h, "private", "p", 1, true, true);
    CK_OBJECT_HANDLE ps = create_data(h, "private session", "p", 1, false, true);
    create_data(h, "public", "q", 1, true, false);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 3);
    RV_OK(p11->C_Logout(h));
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    ck_assert_uint_eq(find_label(h, "private", NULL), 0);
    CK_ATTRIBUTE priv[] = { { CKA_PRIVATE, &yes, 1 } };
    ck_assert_uint_eq(find(h, priv, 1, NULL), 0);
    char buf[16];
    CK_ATTRIBUTE lab = { CKA_LABEL, buf, sizeof(buf) };
    RV_EQ(p11->C_GetAttributeValue(h, p, &lab, 1), CKR_OBJECT_HANDLE_INVALID);
    RV_EQ(p11->C_GetAttributeValue(h, ps, &lab, 1), CKR_OBJECT_HANDLE_INVALID);
    RV_EQ(p11->C_DestroyObject(h, p), CKR_OBJECT_HANDLE_INVALID);
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 3);
    assert_label(h, p, "private");
    /* The SO does not see them either. */
    RV_OK(p11->C_Logout(h));
    RV_OK(login(h, CKU_SO, SO_PIN));
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    RV_OK(p11->C_Logout(h));
    /* Closing every session logs out: invisible again. */
    RV_OK(login(h, CKU_USER, USER_PIN));
    RV_OK(p11->C_CloseAllSessions(slot));
    h = open_session(slot, false);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    /* After re-initialising: the same. */
    reinit();
    h = open_session(slot, false);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 2);
}
END_TEST

START_TEST(test_session_objects_vanish)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE s1 = open_session(slot, true), s2 = open_session(slot, false);
    CK_OBJECT_HANDLE o = create_data(s1, "session", "v", 1, false, false);
    create_data(s1, "token", "v", 1, true, false);
    /* Session objects are visible to the application's other sessions. */
    assert_label(s2, o, "session");
    ck_assert_uint_eq(find_label(s2, "session", NULL), 1);
    RV_OK(p11->C_CloseSession(s1));
    char buf[16];
    CK_ATTRIBUTE lab = { CKA_LABEL, buf, sizeof(buf) };
    RV_EQ(p11->C_GetAttributeValue(s2, o, &lab, 1), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_uint_eq(find_label(s2, "session", NULL), 0);
    ck_assert_uint_eq(find_label(s2, "token", NULL), 1);
    ck_assert_uint_eq(find(s2, NULL, 0, NULL), 1);
}
END_TEST

/* ---- capacity ---- */

/* A small card: capacity = 4096 in the configuration read at C_Initialize
 * (the card is made on first use). */
static CK_SLOT_ID small_card(CK_ULONG *free0)
{
    write_conf("capacity = 4096\n");
    init();
    CK_SLOT_ID slot = slot_at(0);
    init_token(slot, SO_PIN, "small card");
    CK_TOKEN_INFO ti = token_info(slot);
    ck_assert_uint_eq(ti.ulTotalPublicMemory, 4096);
    ck_assert_uint_le(ti.ulFreePublicMemory, 4096);
    ck_assert_uint_gt(ti.ulFreePublicMemory, 1000);
    *free0 = ti.ulFreePublicMemory;
    return slot;
}

/*
 * Regression test: before commit 700507b, tokens/vuicc/vuicc.c
 * write_object() freed its blob twice on any error after the card was
 * entered (here CKR_DEVICE_MEMORY): this test and test_capacity_grow
 * aborted with "double free or corruption".
 */
START_TEST(test_capacity_create)
{
    CK_ULONG free0;
    CK_SLOT_ID slot = small_card(&free0);
    CK_SESSION_HANDLE h = open_session(slot, true);
    unsigned char big[5000];
    memset(big, 0x42, sizeof(big));
    CK_OBJECT_HANDLE o;
    RV_EQ(try_create_data(h, "too big", big, sizeof(big), true, false, &o), CKR_DEVICE_MEMORY);
    ck_assert_uint_eq(find_label(h, "too big", NULL), 0);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 0);
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free0);
    /* A session object of that size takes no card memory. */
    create_data(h, "session big", big, sizeof(big), false, false);
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free0);
    /* What fits, fits. */
    create_data(h, "fits", big, 500, true, false);
    ck_assert_uint_le(token_info(slot).ulFreePublicMemory, free0 - 500);
    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 1);
    ck_assert_uint_eq(find_label(h, "too big", NULL), 0);
    ck_assert_uint_eq(token_info(slot).ulTotalPublicMemory, 4096);
}
END_TEST

/* Growing an object past the capacity fails the same way and changes nothing. */
START_TEST(test_capacity_grow)
{
    CK_ULONG free0;
    CK_SLOT_ID slot = small_card(&free0);
    CK_SESSION_HANDLE h = open_session(slot, true);
    unsigned char big[5000];
    memset(big, 0x42, sizeof(big));
    CK_OBJECT_HANDLE o = create_data(h, "fits", big, 500, true, false);
    CK_ULONG free1 = token_info(slot).ulFreePublicMemory;
    ck_assert_uint_le(free1, free0 - 500);
    CK_ATTRIBUTE grow[] = { { CKA_LABEL, "grown", 5 }, { CKA_VALUE, big, sizeof(big) } };
    RV_EQ(p11->C_SetAttributeValue(h, o, grow, 2), CKR_DEVICE_MEMORY);
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free1);
    CK_ATTRIBUTE q = { CKA_VALUE, NULL, 0 };
    RV_OK(p11->C_GetAttributeValue(h, o, &q, 1));
    ck_assert_uint_eq(q.ulValueLen, 500);
    assert_label(h, o, "fits");
    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find_label(h, "fits", NULL), 1);
    ck_assert_uint_eq(find_label(h, "grown", NULL), 0);
}
END_TEST

START_TEST(test_free_memory)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    CK_ULONG free0 = token_info(slot).ulFreePublicMemory;
    ck_assert_uint_gt(free0, 0);
    unsigned char v[2000] = { 0 };
    CK_OBJECT_HANDLE a = create_data(h, "a", v, 1000, true, false);
    CK_ULONG free1 = token_info(slot).ulFreePublicMemory;
    ck_assert_uint_le(free1, free0 - 1000);
    CK_OBJECT_HANDLE b = create_data(h, "b", v, 1000, true, false);
    CK_ULONG free2 = token_info(slot).ulFreePublicMemory;
    ck_assert_uint_le(free2, free1 - 1000);
    /* Session objects take no card memory. */
    create_data(h, "s", v, 2000, false, false);
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free2);
    /* Growing and shrinking a value. */
    CK_ATTRIBUTE grow = { CKA_VALUE, v, 2000 };
    RV_OK(p11->C_SetAttributeValue(h, b, &grow, 1));
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free2 - 1000);
    CK_ATTRIBUTE shrink = { CKA_VALUE, v, 1000 };
    RV_OK(p11->C_SetAttributeValue(h, b, &shrink, 1));
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free2);
    /* Destroying gives it back, exactly. */
    RV_OK(p11->C_DestroyObject(h, b));
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free1);
    RV_OK(p11->C_DestroyObject(h, a));
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free0);
    reinit();
    ck_assert_uint_eq(token_info(slot).ulFreePublicMemory, free0);
}
END_TEST

/* ---- foreign files in the store ---- */

static void check_foreign_card(const unsigned char *before, size_t before_len)
{
    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    init();
    ck_assert_uint_ge(slot_count(), 1);
    CK_SLOT_ID slot = slot_at(0);
    CK_TOKEN_INFO ti;
    CK_RV rv = p11->C_GetTokenInfo(slot, &ti);
    ck_assert_msg(rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_ERROR, "C_GetTokenInfo: 0x%lx",
                  (unsigned long)rv);
    CK_SESSION_HANDLE h;
    rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    ck_assert_msg(rv != CKR_OK, "C_OpenSession on a foreign file succeeded");
    CK_UTF8CHAR label[32];
    pad32(label, "overwrite?");
    rv = p11->C_InitToken(slot, PINARG(SO_PIN), label);
    ck_assert_msg(rv != CKR_OK, "C_InitToken on a foreign file succeeded");
    RV_OK(p11->C_Finalize(NULL));
    size_t after_len;
    unsigned char *after = read_all(path, &after_len);
    ck_assert_uint_eq(after_len, before_len);
    ck_assert_msg(memcmp(after, before, before_len) == 0, "the foreign file changed");
    free(after);
}

START_TEST(test_foreign_random_file)
{
    ck_assert_int_eq(mkdir(store_dir, 0700), 0);
    size_t len = 8192;
    unsigned char *junk = malloc(len);
    ck_assert_ptr_nonnull(junk);
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    write_file(path, junk, len, 0600);
    check_foreign_card(junk, len);
    free(junk);
}
END_TEST

START_TEST(test_foreign_sqlite)
{
    ck_assert_int_eq(mkdir(store_dir, 0700), 0);
    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('theirs');", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    ck_assert_int_eq(chmod(path, 0600), 0);
    size_t len;
    unsigned char *before = read_all(path, &len);
    check_foreign_card(before, len);
    free(before);
    /* Still their database, with only their table. */
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}
END_TEST

/* ---- fork ---- */

/* The child's steps; it reports the first that failed as its status. */
static int child_work(CK_SLOT_ID slot)
{
    CK_ULONG n = 0;
    if (p11->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 10; /* the parent's state is not the child's */
    if (p11->C_Initialize(NULL) != CKR_OK)
        return 11;
    if (p11->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n < 1)
        return 12;
    CK_SESSION_HANDLE h;
    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h) != CKR_OK)
        return 13;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, "from parent", 11 } };
    CK_OBJECT_HANDLE o[4];
    CK_ULONG got = 0;
    if (p11->C_FindObjectsInit(h, t, 1) != CKR_OK || p11->C_FindObjects(h, o, 4, &got) != CKR_OK ||
        p11->C_FindObjectsFinal(h) != CKR_OK || got != 1)
        return 14;
    if (p11->C_Login(h, CKU_USER, PINARG(USER_PIN)) != CKR_OK)
        return 15;
    CK_OBJECT_HANDLE c;
    if (try_create_data(h, "from child", "c", 1, true, true, &c) != CKR_OK)
        return 16;
    if (p11->C_Finalize(NULL) != CKR_OK)
        return 17;
    return 0;
}

START_TEST(test_fork)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    create_data(h, "from parent", "p", 1, true, false);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_work(slot));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child did not exit (status 0x%x)", status);
    ck_assert_msg(WEXITSTATUS(status) == 0, "child failed at step %d", WEXITSTATUS(status));
    /* The parent carries on with its session, and sees the child's object. */
    ck_assert_uint_eq(session_state(h), CKS_RW_PUBLIC_SESSION);
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find_label(h, "from child", NULL), 1);
    create_data(h, "after fork", "a", 1, true, false);
    reinit();
    h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 3);
}
END_TEST

/* The token re-initialised by another process: this process's login on
 * it is void, its old objects are gone, and once the module sees the new
 * token in the slot the old token's sessions are closed. */
START_TEST(test_reinit_by_another_process)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "old private", "p", 1, true, true);
    create_data(h, "old public", "q", 1, true, false);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CK_UTF8CHAR label[32];
        pad32(label, "new life");
        if (p11->C_Initialize(NULL) != CKR_OK)
            _exit(11);
        if (p11->C_InitToken(slot, PINARG(SO_PIN), label) != CKR_OK)
            _exit(12);
        _exit(p11->C_Finalize(NULL) == CKR_OK ? 0 : 13);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status 0x%x)", status);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 0);
    ck_assert_uint_eq(session_state(h), CKS_RW_PUBLIC_SESSION);
    /* A new token is in the slot: the module's next look at the slot ends
     * the old token's sessions, as for a card taken out. */
    CK_UTF8CHAR label[32];
    pad32(label, "new life");
    ck_assert_mem_eq(token_info(slot).label, label, 32);
    RV_EQ(login(h, CKU_USER, USER_PIN), CKR_SESSION_HANDLE_INVALID);
    CK_SESSION_HANDLE h2 = open_session(slot, true);
    ck_assert_uint_eq(find(h2, NULL, 0, NULL), 0);
    RV_EQ(login(h2, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    RV_OK(login(h2, CKU_SO, SO_PIN));
}
END_TEST

/* A damaged object in the card file hides none of the others; a tampered
 * sealed value is refused, never returned. (Edits the card with SQLite:
 * knows the object table of tokens/vuicc/card.c.) */
START_TEST(test_damaged_objects)
{
    static const unsigned char garbage[] = { 'D', 'A', '1', 0xff, 0xff, 0xff, 0xff };
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "good", "g", 1, true, false);
    create_data(h, "garbled", "x", 1, true, false);
    create_data(h, "tampered", "the secret", 10, true, true);
    RV_OK(p11->C_Finalize(NULL));

    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *sel, *upd;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, attrs FROM object", -1, &sel, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "UPDATE object SET attrs = ? WHERE id = ?", -1, &upd, NULL), SQLITE_OK);
    int edited = 0;
    while (sqlite3_step(sel) == SQLITE_ROW) {
        dmsc_attrs a;
        ck_assert_uint_eq(dmsc_attrs_parse(sqlite3_column_blob(sel, 1), (size_t)sqlite3_column_bytes(sel, 1), &a),
                          CKR_OK);
        const dmsc_attr *label = dmsc_attrs_find(&a, CKA_LABEL);
        ck_assert_ptr_nonnull(label);
        unsigned char *blob = NULL;
        size_t len = 0;
        if (label->len == 7 && memcmp(label->value, "garbled", 7) == 0) {
            blob = malloc(sizeof(garbage));
            memcpy(blob, garbage, sizeof(garbage));
            len = sizeof(garbage);
        } else if (label->len == 8 && memcmp(label->value, "tampered", 8) == 0) {
            dmsc_attr *v = dmsc_attrs_find(&a, CKA_VALUE);
            ck_assert_ptr_nonnull(v);
            ck_assert(v->sealed);
            ((unsigned char *)v->value)[v->len / 2] ^= 0x01;
            ck_assert_uint_eq(dmsc_attrs_serialize(&a, &blob, &len), CKR_OK);
        }
        if (blob) {
            sqlite3_bind_blob(upd, 1, blob, (int)len, SQLITE_TRANSIENT);
            sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
            ck_assert_int_eq(sqlite3_step(upd), SQLITE_DONE);
            sqlite3_reset(upd);
            edited++;
            free(blob);
        }
        dmsc_attrs_clear(&a);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    ck_assert_int_eq(edited, 2);

    init();
    h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    ck_assert_uint_eq(find_label(h, "good", NULL), 1);
    ck_assert_uint_eq(find_label(h, "garbled", NULL), 0);
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "tampered", found), 1);
    char buf[64];
    memset(buf, 0, sizeof(buf));
    CK_ATTRIBUTE v = { CKA_VALUE, buf, sizeof(buf) };
    RV_EQ(p11->C_GetAttributeValue(h, found[0], &v, 1), CKR_DEVICE_ERROR);
    ck_assert_uint_eq(v.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_ptr_null(memmem(buf, sizeof(buf), "secret", 6));
    CK_ATTRIBUTE byval[] = { { CKA_VALUE, "the secret", 10 } };
    ck_assert_uint_eq(find(h, byval, 1, NULL), 0);
    assert_label(h, found[0], "tampered");
}
END_TEST

/* ---- secrets at rest ---- */

static unsigned char *read_store(size_t *len)
{
    /* The card file and, should one be left, its WAL. */
    char path[PATH_MAX + 64];
    card_path(path, sizeof(path), "");
    unsigned char *all = read_all(path, len);
    card_path(path, sizeof(path), "-wal");
    if (access(path, F_OK) == 0) {
        size_t wl;
        unsigned char *w = read_all(path, &wl);
        all = realloc(all, *len + wl);
        ck_assert_ptr_nonnull(all);
        memcpy(all + *len, w, wl);
        *len += wl;
        free(w);
    }
    return all;
}

START_TEST(test_secrets_at_rest)
{
    static const char secret[] = "dmsc-PRIVATE-marker-5e1f0c77a9";
    static const char public_value[] = "dmsc-PUBLIC-marker-3b6d2e1180";
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "secret data", secret, strlen(secret), true, true);
    create_data(h, "public data", public_value, strlen(public_value), true, false);
    RV_OK(p11->C_Finalize(NULL));
    size_t len;
    unsigned char *raw = read_store(&len);
    /* The test reads the right bytes: the public value is there. */
    ck_assert_msg(memmem(raw, len, public_value, strlen(public_value)) != NULL,
                  "the public value is not in the card file: wrong file?");
    ck_assert_msg(memmem(raw, len, secret, strlen(secret)) == NULL, "the private value is in the clear at rest");
    ck_assert_msg(memmem(raw, len, secret + 5, 12) == NULL, "part of the private value is in the clear at rest");
    /* Nor the PINs. */
    ck_assert(memmem(raw, len, USER_PIN, strlen(USER_PIN)) == NULL);
    ck_assert(memmem(raw, len, SO_PIN, strlen(SO_PIN)) == NULL);
    free(raw);
    /* And it opens again with the PIN. */
    init();
    h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "secret data", found), 1);
    char buf[64];
    ck_assert_uint_eq(get_attr(h, found[0], CKA_VALUE, buf, sizeof(buf)), strlen(secret));
    ck_assert_str_eq(buf, secret);
    /* Find by a private value works too (matching on the plain value). */
    CK_ATTRIBUTE byval[] = { { CKA_VALUE, (void *)secret, strlen(secret) } };
    ck_assert_uint_eq(find(h, byval, 1, NULL), 1);
}
END_TEST

/* ---- more: the label index, two tokens on one card, configuration ---- */

START_TEST(test_label_index)
{
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    CK_OBJECT_HANDLE o[4];
    for (int i = 0; i < 4; i++)
        o[i] = create_data(h, "same", "v", 1, i % 2 == 0, false);
    ck_assert_uint_eq(find_label(h, "same", NULL), 4);
    /* Out of the middle, the newest and the oldest of the chain. */
    RV_OK(p11->C_DestroyObject(h, o[1]));
    ck_assert_uint_eq(find_label(h, "same", NULL), 3);
    CK_ATTRIBUTE other = { CKA_LABEL, "other", 5 };
    RV_OK(p11->C_SetAttributeValue(h, o[3], &other, 1));
    ck_assert_uint_eq(find_label(h, "same", NULL), 2);
    ck_assert_uint_eq(find_label(h, "other", NULL), 1);
    RV_OK(p11->C_SetAttributeValue(h, o[0], &other, 1));
    CK_OBJECT_HANDLE found[64];
    ck_assert_uint_eq(find_label(h, "same", found), 1);
    ck_assert_uint_eq(found[0], o[2]);
    ck_assert_uint_eq(find_label(h, "other", NULL), 2);
    /* Back to the old label, then an empty one. */
    CK_ATTRIBUTE same = { CKA_LABEL, "same", 4 }, empty = { CKA_LABEL, NULL, 0 };
    RV_OK(p11->C_SetAttributeValue(h, o[3], &same, 1));
    ck_assert_uint_eq(find_label(h, "same", NULL), 2);
    RV_OK(p11->C_SetAttributeValue(h, o[2], &empty, 1));
    ck_assert_uint_eq(find_label(h, "same", found), 1);
    ck_assert_uint_eq(found[0], o[3]);
    ck_assert_uint_eq(find_label(h, "", found), 1);
    ck_assert_uint_eq(found[0], o[2]);
    RV_OK(p11->C_DestroyObject(h, o[3]));
    ck_assert_uint_eq(find_label(h, "same", NULL), 0);
    ck_assert_uint_eq(find(h, NULL, 0, NULL), 2);
    reinit();
    h = open_session(slot, true);
    ck_assert_uint_eq(find_label(h, "other", NULL), 1); /* o[0]: a token object */
    ck_assert_uint_eq(find_label(h, "", NULL), 1);      /* o[2] */
}
END_TEST

/* The DM application (the card's first) shows the network key made from
 * the IMSI: verify only, unreadable, unchangeable; the others do not. */
START_TEST(test_network_key)
{
    CK_SLOT_ID a = ready_token();
    CK_SLOT_ID b = slot_at(1);
    init_token(b, SO_PIN, "token B");
    CK_SESSION_HANDLE sa = open_session(a, true), sb = open_session(b, true);
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &klass, sizeof(klass) }, { CKA_LABEL, "NETWORKID", 9 } };
    CK_OBJECT_HANDLE o[4];
    CK_ULONG got = 0;
    RV_OK(p11->C_FindObjectsInit(sa, t, 2));
    RV_OK(p11->C_FindObjects(sa, o, 4, &got));
    RV_OK(p11->C_FindObjectsFinal(sa));
    ck_assert_uint_eq(got, 1);
    CK_BBOOL sign = CK_TRUE, verify = CK_FALSE, sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ULONG len = 0;
    CK_ATTRIBUTE flags[] = { { CKA_SIGN, &sign, sizeof(sign) }, { CKA_VERIFY, &verify, sizeof(verify) },
                         { CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
                         { CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
                         { CKA_VALUE_LEN, &len, sizeof(len) } };
    RV_OK(p11->C_GetAttributeValue(sa, o[0], flags, 5));
    ck_assert(!sign && verify && sensitive && !extractable);
    ck_assert_uint_eq(len, 8); /* 15 IMSI digits in semi-octets */
    unsigned char value[16];
    CK_ATTRIBUTE v = { CKA_VALUE, value, sizeof(value) };
    RV_EQ(p11->C_GetAttributeValue(sa, o[0], &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_ATTRIBUTE relabel = { CKA_LABEL, "mine", 4 };
    RV_EQ(p11->C_SetAttributeValue(sa, o[0], &relabel, 1), CKR_ACTION_PROHIBITED);
    RV_EQ(p11->C_DestroyObject(sa, o[0]), CKR_ACTION_PROHIBITED);
    /* Nor can its digest be had (it would give the IMSI away by search). */
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
    RV_OK(p11->C_DigestInit(sa, &sha));
    RV_EQ(p11->C_DigestKey(sa, o[0]), CKR_KEY_INDIGESTIBLE);
    got = 0;
    RV_OK(p11->C_FindObjectsInit(sb, t, 2));
    RV_OK(p11->C_FindObjects(sb, o, 4, &got));
    RV_OK(p11->C_FindObjectsFinal(sb));
    ck_assert_uint_eq(got, 0);
}
END_TEST

START_TEST(test_two_tokens)
{
    CK_SLOT_ID a = ready_token();
    CK_SLOT_ID b = slot_at(1);
    init_token(b, "so-pin-of-b", "token B");
    ck_assert_uint_eq(slot_count(), 3);
    CK_SESSION_HANDLE sa = open_session(a, true), sb = open_session(b, true);
    create_data(sa, "a's", "a", 1, true, false);
    create_data(sb, "b's", "b", 1, true, false);
    ck_assert_uint_eq(find(sa, NULL, 0, NULL), 1);
    ck_assert_uint_eq(find(sb, NULL, 0, NULL), 1);
    ck_assert_uint_eq(find_label(sb, "a's", NULL), 0);
    /* Logins are per token; A's PINs do not open B. */
    RV_OK(login(sa, CKU_USER, USER_PIN));
    ck_assert_uint_eq(session_state(sb), CKS_RW_PUBLIC_SESSION);
    RV_EQ(login(sb, CKU_SO, SO_PIN), CKR_PIN_INCORRECT);
    ck_assert(token_flags(b) & CKF_SO_PIN_COUNT_LOW);
    ck_assert(!(token_flags(a) & CKF_SO_PIN_COUNT_LOW));
    /* Re-initialising B leaves A alone. */
    RV_OK(p11->C_CloseSession(sb));
    CK_UTF8CHAR label[32];
    pad32(label, "token B again");
    RV_OK(p11->C_InitToken(b, PINARG("so-pin-of-b"), label));
    ck_assert_uint_eq(session_state(sa), CKS_RW_USER_FUNCTIONS);
    ck_assert_uint_eq(find(sa, NULL, 0, NULL), 1);
    sb = open_session(b, true);
    ck_assert_uint_eq(find(sb, NULL, 0, NULL), 0);
    reinit();
    sa = open_session(a, true);
    ck_assert_uint_eq(find_label(sa, "a's", NULL), 1);
    ck_assert(token_flags(a) & CKF_USER_PIN_INITIALIZED);
}
END_TEST

START_TEST(test_bad_config)
{
    struct stat st;
    write_conf("capacity = 12\n");
    CK_RV rv = p11->C_Initialize(NULL);
    ck_assert_msg(rv != CKR_OK, "capacity 12 accepted");
    write_conf("no such setting = 1\n");
    rv = p11->C_Initialize(NULL);
    ck_assert_msg(rv != CKR_OK, "unknown setting accepted");
    char missing[PATH_MAX + 64];
    snprintf(missing, sizeof(missing), "%s/does-not-exist.conf", test_dir);
    setenv("DMSC_CONF", missing, 1);
    rv = p11->C_Initialize(NULL);
    ck_assert_msg(rv != CKR_OK, "a missing DMSC_CONF file accepted");
    ck_assert_msg(stat(store_dir, &st) != 0, "a store was made under a bad configuration");
    CK_ULONG n;
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* Fixed, it starts. */
    setenv("DMSC_CONF", conf_path, 1);
    write_conf("capacity = 8192 # a comment\n\n");
    init();
    ck_assert_uint_eq(token_info(slot_at(0)).ulTotalPublicMemory, 8192);
}
END_TEST

START_TEST(test_unusable_store_then_good)
{
    /* The store is a regular file: C_Initialize fails, cleanly. */
    write_file(store_dir, "x", 1, 0600);
    CK_RV rv = p11->C_Initialize(NULL);
    ck_assert_msg(rv != CKR_OK, "a file as the store accepted");
    CK_ULONG n;
    RV_EQ(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    rv = p11->C_Initialize(NULL);
    ck_assert_msg(rv != CKR_OK, "a file as the store accepted (second try)");
    /* Then a good store: everything works. */
    ck_assert_int_eq(unlink(store_dir), 0);
    CK_SLOT_ID slot = ready_token();
    CK_SESSION_HANDLE h = open_session(slot, true);
    RV_OK(login(h, CKU_USER, USER_PIN));
    create_data(h, "works", "v", 1, true, true);
}
END_TEST

static Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    struct {
        const char *name;
        const TTest *tests[16];
    } groups[] = {
        { "initialize", { test_initialize_args, test_not_initialized } },
        { "tokens", { test_fresh_store, test_reinit_token, test_store_modes } },
        { "pins",
          { test_initpin_needs_so_rw, test_user_pin_not_initialized, test_pin_lockout,
            test_pin_counter_persisted_and_reset, test_so_pin_tries, test_set_pin, test_pin_len_range } },
        { "sessions",
          { test_serial_session, test_so_and_read_only_sessions, test_login_twice, test_session_info_states,
            test_token_object_read_only_session, test_private_needs_login, test_init_token_session_exists,
            test_close_last_session_logs_out } },
        { "handles", { test_object_handles, test_session_handles } },
        { "objects",
          { test_get_attribute_value, test_set_attribute_persists, test_not_modifiable, test_copy_object,
            test_destroy_object, test_object_size, test_find, test_private_visibility,
            test_session_objects_vanish } },
        { "capacity", { test_capacity_create, test_capacity_grow, test_free_memory } },
        { "store", { test_foreign_random_file, test_foreign_sqlite, test_secrets_at_rest, test_damaged_objects } },
        { "fork", { test_fork, test_reinit_by_another_process } },
        { "more", { test_label_index, test_network_key, test_two_tokens, test_bad_config, test_unusable_store_then_good } },
    };
    for (size_t g = 0; g < N_ELEMENTS(groups); g++) {
        TCase *tc = tcase_create(groups[g].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        for (size_t i = 0; i < 16 && groups[g].tests[i]; i++)
            tcase_add_test(tc, groups[g].tests[i]);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root_dir, sizeof(root_dir), "%s/dmsc-test-module-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(root_dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    unsetenv("DMSC_DEBUG");
    SRunner *sr = srunner_create(module_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
