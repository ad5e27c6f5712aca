/*
 * tests/integration/p11-check.c - the support code the integration test
 * drivers share (see p11-check.h).
 */
#include "p11-check.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

CK_FUNCTION_LIST_PTR p11;
CK_SESSION_HANDLE sess = CK_INVALID_HANDLE;

static int n_checks, n_failed;

/* ------------------------------------------------------------ module */

void load_module(void)
{
    const char *path = getenv("DMSC_MODULE");
    if (path == NULL || *path == '\0') {
        fprintf(stderr, "%s: DMSC_MODULE is not set\n", driver_name);
        exit(2);
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "%s: dlopen %s: %s\n", driver_name, path, dlerror());
        exit(2);
    }
    CK_C_GetFunctionList getfl;
    void *sym = dlsym(h, "C_GetFunctionList");
    if (sym == NULL) {
        fprintf(stderr, "%s: %s has no C_GetFunctionList\n", driver_name, path);
        exit(2);
    }
    memcpy(&getfl, &sym, sizeof getfl);
    CK_RV rv = getfl(&p11);
    if (rv != CKR_OK || p11 == NULL)
        die("C_GetFunctionList", rv);
}

void open_module(void)
{
    load_module();
    CK_C_INITIALIZE_ARGS args = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL };
    CK_RV rv = p11->C_Initialize(&args);
    if (rv != CKR_OK)
        die("C_Initialize", rv);
}

CK_SLOT_ID open_token(const char *label, const char *pin)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = N_ELEMENTS(slots);
    CK_RV rv = p11->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        die("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        char l[33];
        if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        memcpy(l, ti.label, 32);
        l[32] = '\0';
        for (int j = 31; j >= 0 && l[j] == ' '; j--)
            l[j] = '\0';
        if (strcmp(l, label) != 0)
            continue;
        rv = p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess);
        if (rv != CKR_OK)
            die("C_OpenSession", rv);
        if (pin != NULL) {
            rv = p11->C_Login(sess, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
            if (rv != CKR_OK)
                die("C_Login", rv);
        }
        return slots[i];
    }
    fprintf(stderr, "%s: no token labelled '%s'\n", driver_name, label);
    exit(2);
}

/* ------------------------------------------------------------ reporting */

struct rv_name {
    CK_RV rv;
    const char *name;
};

#define RV(x) { x, #x }
static const struct rv_name rv_names[] = {
    RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
    RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD),
    RV(CKR_NO_EVENT), RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK),
    RV(CKR_ATTRIBUTE_READ_ONLY), RV(CKR_ATTRIBUTE_SENSITIVE),
    RV(CKR_ATTRIBUTE_TYPE_INVALID), RV(CKR_ATTRIBUTE_VALUE_INVALID),
    RV(CKR_ACTION_PROHIBITED), RV(CKR_DATA_INVALID), RV(CKR_DATA_LEN_RANGE),
    RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY), RV(CKR_DEVICE_REMOVED),
    RV(CKR_ENCRYPTED_DATA_INVALID), RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
    RV(CKR_FUNCTION_CANCELED), RV(CKR_FUNCTION_NOT_PARALLEL),
    RV(CKR_FUNCTION_NOT_SUPPORTED), RV(CKR_KEY_HANDLE_INVALID),
    RV(CKR_KEY_SIZE_RANGE), RV(CKR_KEY_TYPE_INCONSISTENT),
    RV(CKR_KEY_NOT_NEEDED), RV(CKR_KEY_CHANGED), RV(CKR_KEY_NEEDED),
    RV(CKR_KEY_INDIGESTIBLE), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
    RV(CKR_KEY_NOT_WRAPPABLE), RV(CKR_KEY_UNEXTRACTABLE),
    RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
    RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
    RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
    RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED),
    RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT),
    RV(CKR_SESSION_HANDLE_INVALID), RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    RV(CKR_SESSION_READ_ONLY), RV(CKR_SESSION_EXISTS),
    RV(CKR_SESSION_READ_ONLY_EXISTS), RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
    RV(CKR_SIGNATURE_INVALID), RV(CKR_SIGNATURE_LEN_RANGE),
    RV(CKR_TEMPLATE_INCOMPLETE), RV(CKR_TEMPLATE_INCONSISTENT),
    RV(CKR_TOKEN_NOT_PRESENT), RV(CKR_TOKEN_NOT_RECOGNIZED),
    RV(CKR_TOKEN_WRITE_PROTECTED), RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    RV(CKR_UNWRAPPING_KEY_SIZE_RANGE), RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
    RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
    RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
    RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), RV(CKR_USER_TOO_MANY_TYPES),
    RV(CKR_WRAPPED_KEY_INVALID), RV(CKR_WRAPPED_KEY_LEN_RANGE),
    RV(CKR_WRAPPING_KEY_HANDLE_INVALID), RV(CKR_WRAPPING_KEY_SIZE_RANGE),
    RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT), RV(CKR_RANDOM_SEED_NOT_SUPPORTED),
    RV(CKR_RANDOM_NO_RNG), RV(CKR_DOMAIN_PARAMS_INVALID),
    RV(CKR_CURVE_NOT_SUPPORTED), RV(CKR_BUFFER_TOO_SMALL),
    RV(CKR_SAVED_STATE_INVALID), RV(CKR_INFORMATION_SENSITIVE),
    RV(CKR_STATE_UNSAVEABLE), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_MUTEX_BAD),
    RV(CKR_MUTEX_NOT_LOCKED), RV(CKR_NEW_PIN_MODE), RV(CKR_NEXT_OTP),
    RV(CKR_EXCEEDED_MAX_ITERATIONS), RV(CKR_FIPS_SELF_TEST_FAILED),
    RV(CKR_LIBRARY_LOAD_FAILED), RV(CKR_PIN_TOO_WEAK),
    RV(CKR_PUBLIC_KEY_INVALID), RV(CKR_FUNCTION_REJECTED),
};
#undef RV

const char *rv_name(CK_RV rv)
{
    static char bufs[4][32];
    static unsigned next;
    for (size_t i = 0; i < N_ELEMENTS(rv_names); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    char *b = bufs[next++ % N_ELEMENTS(bufs)];
    snprintf(b, sizeof bufs[0], "CKR_0x%lx", (unsigned long)rv);
    return b;
}

void die(const char *msg, CK_RV rv)
{
    fprintf(stderr, "%s: %s: %s\n", driver_name, msg, rv_name(rv));
    exit(2);
}

bool check(bool cond, const char *fmt, ...)
{
    va_list ap;
    n_checks++;
    if (!cond)
        n_failed++;
    fputs(cond ? "ok   " : "FAIL ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return cond;
}

bool expect(CK_RV got, CK_RV want, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (got == want)
        return check(true, "%s: %s", what, rv_name(got));
    return check(false, "%s: expected %s, got %s", what, rv_name(want), rv_name(got));
}

bool expect_error(CK_RV got, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return check(got != CKR_OK, "%s: expected an error, got %s", what, rv_name(got));
}

const char *hex(const unsigned char *p, size_t n)
{
    static char bufs[2][200];
    static unsigned next;
    char *b = bufs[next++ % 2];
    size_t i, o = 0;
    for (i = 0; i < n && o + 3 < sizeof bufs[0] - 4; i++)
        o += (size_t)snprintf(b + o, sizeof bufs[0] - o, "%02x", p[i]);
    if (i < n)
        snprintf(b + o, sizeof bufs[0] - o, "...");
    return b;
}

bool same_bytes(const unsigned char *got, size_t got_len, const unsigned char *want, size_t want_len,
                const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0))
        return check(true, "%s", what);
    return check(false, "%s: expected %zu bytes %s, got %zu bytes %s", what, want_len, hex(want, want_len),
                 got_len, hex(got, got_len));
}

void section(const char *name)
{
    printf("# %s\n", name);
    fflush(stdout);
}

int checks_done(void)
{
    printf("# %d checks, %d failed\n", n_checks, n_failed);
    return n_failed ? 1 : 0;
}

/* ------------------------------------------------------------ bytes */

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", driver_name);
        exit(2);
    }
    return p;
}

void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

const char *read_file(const char *path, buf_t *b)
{
    const char *why = NULL;
    b->p = NULL;
    b->n = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return strerror(errno);
    size_t cap = 0;
    for (;;) {
        if (b->n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *p = realloc(b->p, cap);
            if (p == NULL) {
                why = "out of memory";
                break;
            }
            b->p = p;
        }
        size_t got = fread(b->p + b->n, 1, cap - b->n, f);
        b->n += got;
        if (got == 0)
            break;
    }
    if (why == NULL && ferror(f))
        why = "read error";
    fclose(f);
    if (why != NULL)
        buf_free(b);
    return why;
}
