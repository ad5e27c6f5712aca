/*
 * p11-stress: the writers and checkers of the crash-consistency and
 * concurrency tests (test-crash-consistency.sh, test-soak.sh). It dlopens
 * $DMSC_MODULE (p11-check.c) and runs in one of three modes.
 *
 * p11-stress churn TOKEN PIN OTHERPIN PREFIX SEED SETPIN
 *   Logs in with PIN, reads the private data objects it finds (their
 *   labels, "L", and generations, "G"), then until killed picks at
 *   random (from SEED) one of: create a private token data object
 *   labelled PREFIX-N with CKA_VALUE "L:0" and CKA_APPLICATION "churn:0";
 *   update a live one to generation G+1 (one C_SetAttributeValue setting
 *   both CKA_VALUE "L:G+1" and CKA_APPLICATION "churn:G+1"); destroy a
 *   live one; change the user PIN (C_SetPIN) to the other of PIN and
 *   OTHERPIN (only when SETPIN is 1; 1% of the operations: two scrypt
 *   runs each, they take most of the time). Before each call it prints "do create L", "do update L G",
 *   "do destroy L" or "do setpin NEWPIN", after CKR_OK "ok"; any other
 *   result prints "err ..." and exits 1. stdout is written with write(2)
 *   line by line, so a line printed is in the file when the process is
 *   killed. It also stops after 100000 operations ("done").
 *
 * p11-stress dump TOKEN PIN [OTHERPIN]
 *   Prints "flags 0xFLAGS" (the token's flags before logging in), logs in
 *   with PIN, or when that is CKR_PIN_INCORRECT with OTHERPIN, prints
 *   "pin P" (the one that worked), then one line per private data object
 *   "obj L G" where G is read from CKA_VALUE, and "torn L ..." for an
 *   object whose CKA_VALUE and CKA_APPLICATION disagree or are malformed
 *   (half written). Exits 1 when no PIN works.
 *
 * p11-stress soak TOKEN PIN THREADS OPS PREFIX
 *   THREADS threads, one R/W session each (logged in with PIN through
 *   the first), each OPS rounds of: create a token object PREFIX-T-I, find
 *   it by label (exactly one), sign 32 bytes with the EC key labelled
 *   "soak" (CKM_ECDSA) and verify the signature with its public key,
 *   then destroy the object. Prints one line per thread "thread T: N ops"
 *   and "errors E" (any result other than CKR_OK, named on stderr);
 *   exits 1 when E > 0. Every call's result is checked, so a lost
 *   object (find count 0) or a CKR_GENERAL_ERROR is an error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11-check.h"

const char driver_name[] = "p11-stress";

/* One line to stdout with write(2): on the file once this returns. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(STDOUT_FILENO, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            exit(3);
        off += (int)w;
    }
}

static CK_OBJECT_CLASS data_class = CKO_DATA;
static CK_BBOOL yes = CK_TRUE;

/* ------------------------------------------------------------ churn */

typedef struct {
    char label[64];
    unsigned long gen;
    CK_OBJECT_HANDLE h;
} live_obj;

static live_obj live[4096];
static size_t n_live;

/* The private data objects of the session's token: label and generation. */
static CK_RV read_objects(CK_SESSION_HANDLE s, bool report)
{
    CK_ATTRIBUTE want[] = { { CKA_CLASS, &data_class, sizeof(data_class) },
                            { CKA_PRIVATE, &yes, sizeof(yes) } };
    CK_RV rv = p11->C_FindObjectsInit(s, want, 2);
    if (rv != CKR_OK)
        return rv;
    CK_OBJECT_HANDLE hs[256];
    CK_ULONG n;
    n_live = 0;
    while ((rv = p11->C_FindObjects(s, hs, 256, &n)) == CKR_OK && n > 0) {
        for (CK_ULONG i = 0; i < n; i++) {
            char label[64] = "", value[96] = "", app[64] = "";
            CK_ATTRIBUTE a[] = { { CKA_LABEL, label, sizeof(label) - 1 },
                                 { CKA_VALUE, value, sizeof(value) - 1 },
                                 { CKA_APPLICATION, app, sizeof(app) - 1 } };
            CK_RV r = p11->C_GetAttributeValue(s, hs[i], a, 3);
            if (r != CKR_OK) {
                p11->C_FindObjectsFinal(s);
                return r;
            }
            label[a[0].ulValueLen] = value[a[1].ulValueLen] = app[a[2].ulValueLen] = '\0';
            /* Well formed: value "L:G", application "churn:G", same G. */
            char *colon = strrchr(value, ':');
            char *end1 = NULL, *end2 = NULL;
            unsigned long g1 = colon ? strtoul(colon + 1, &end1, 10) : 0;
            unsigned long g2 = strncmp(app, "churn:", 6) == 0 ? strtoul(app + 6, &end2, 10) : 0;
            bool ok = colon != NULL && end1 != NULL && *end1 == '\0' && end1 != colon + 1 &&
                      (size_t)(colon - value) == strlen(label) &&
                      strncmp(value, label, strlen(label)) == 0 && end2 != NULL && *end2 == '\0' &&
                      end2 != app + 6 && g1 == g2;
            if (report) {
                if (ok)
                    say("obj %s %lu", label, g1);
                else
                    say("torn %s value '%s' application '%s'", label, value, app);
            }
            if (ok && n_live < N_ELEMENTS(live)) {
                snprintf(live[n_live].label, sizeof(live[n_live].label), "%s", label);
                live[n_live].gen = g1;
                live[n_live].h = hs[i];
                n_live++;
            }
        }
    }
    CK_RV r = p11->C_FindObjectsFinal(s);
    return rv != CKR_OK ? rv : r;
}

static CK_RV login_either(CK_SESSION_HANDLE s, const char *pin, const char *other, const char **used)
{
    CK_RV rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    *used = pin;
    if (rv == CKR_PIN_INCORRECT && other != NULL) {
        rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)other, strlen(other));
        *used = other;
    }
    return rv;
}

static CK_SESSION_HANDLE open_rw(const char *token)
{
    CK_SLOT_ID slot = open_token(token, NULL);
    (void)slot;
    return sess;
}

static int churn_mode(char **argv)
{
    const char *token = argv[2], *prefix = argv[5];
    char pins[2][65];
    snprintf(pins[0], sizeof(pins[0]), "%s", argv[3]);
    snprintf(pins[1], sizeof(pins[1]), "%s", argv[4]);
    unsigned int seed = (unsigned int)strtoul(argv[6], NULL, 10);
    bool setpin = strcmp(argv[7], "1") == 0;
    int cur = 0;

    open_module();
    CK_SESSION_HANDLE s = open_rw(token);
    CK_RV rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pins[0], strlen(pins[0]));
    if (rv == CKR_OK)
        rv = read_objects(s, false);
    if (rv != CKR_OK) {
        say("err %s (login, listing)", rv_name(rv));
        return 1;
    }
    say("start %zu objects", n_live);
    for (unsigned long n = 0, next = 1; n < 100000; n++) {
        unsigned r = (unsigned)rand_r(&seed) % 100;
        /* 35% creates, 35% updates, 29% deletes, 1% PIN changes (or
         * deletes, without SETPIN). */
        if (r < 35 || n_live == 0) {
            live_obj *o = n_live < N_ELEMENTS(live) ? &live[n_live] : NULL;
            if (o == NULL)
                r = 60; /* full: destroy instead */
            else {
                snprintf(o->label, sizeof(o->label), "%s-%lu", prefix, next++);
                char value[96];
                int vl = snprintf(value, sizeof(value), "%s:0", o->label);
                CK_ATTRIBUTE t[] = {
                    { CKA_CLASS, &data_class, sizeof(data_class) }, { CKA_TOKEN, &yes, 1 },
                    { CKA_PRIVATE, &yes, 1 }, { CKA_LABEL, o->label, strlen(o->label) },
                    { CKA_VALUE, value, (CK_ULONG)vl }, { CKA_APPLICATION, "churn:0", 7 },
                };
                say("do create %s", o->label);
                rv = p11->C_CreateObject(s, t, N_ELEMENTS(t), &o->h);
                if (rv != CKR_OK)
                    goto failed;
                o->gen = 0;
                n_live++;
                say("ok");
                continue;
            }
        }
        size_t i = (size_t)rand_r(&seed) % n_live;
        live_obj *o = &live[i];
        if (r < 70) {
            char value[96], app[32];
            int vl = snprintf(value, sizeof(value), "%s:%lu", o->label, o->gen + 1);
            int al = snprintf(app, sizeof(app), "churn:%lu", o->gen + 1);
            CK_ATTRIBUTE t[] = { { CKA_VALUE, value, (CK_ULONG)vl }, { CKA_APPLICATION, app, (CK_ULONG)al } };
            say("do update %s %lu", o->label, o->gen + 1);
            rv = p11->C_SetAttributeValue(s, o->h, t, 2);
            if (rv != CKR_OK)
                goto failed;
            o->gen++;
        } else if (r < 99 || !setpin) {
            say("do destroy %s", o->label);
            rv = p11->C_DestroyObject(s, o->h);
            if (rv != CKR_OK)
                goto failed;
            live[i] = live[--n_live];
        } else {
            say("do setpin %s", pins[1 - cur]);
            rv = p11->C_SetPIN(s, (CK_UTF8CHAR_PTR)pins[cur], strlen(pins[cur]),
                               (CK_UTF8CHAR_PTR)pins[1 - cur], strlen(pins[1 - cur]));
            if (rv != CKR_OK)
                goto failed;
            cur = 1 - cur;
        }
        say("ok");
    }
    p11->C_Finalize(NULL);
    say("done");
    return 0;
failed:
    say("err %s", rv_name(rv));
    return 1;
}

static int dump_mode(int argc, char **argv)
{
    open_module();
    CK_SESSION_HANDLE s = open_rw(argv[2]);
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;
    CK_RV rv = p11->C_GetSessionInfo(s, &si);
    if (rv == CKR_OK)
        rv = p11->C_GetTokenInfo(si.slotID, &ti);
    if (rv != CKR_OK) {
        say("err %s (token info)", rv_name(rv));
        return 1;
    }
    say("flags 0x%lx", (unsigned long)ti.flags);
    const char *used;
    rv = login_either(s, argv[3], argc > 4 ? argv[4] : NULL, &used);
    if (rv != CKR_OK) {
        say("err %s (login)", rv_name(rv));
        return 1;
    }
    say("pin %s", used);
    rv = read_objects(s, true);
    if (rv != CKR_OK) {
        say("err %s (listing)", rv_name(rv));
        return 1;
    }
    p11->C_Finalize(NULL);
    return 0;
}

/* ------------------------------------------------------------ soak */

static const char *soak_token, *soak_prefix;
static unsigned long soak_ops;
static CK_SLOT_ID soak_slot;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long soak_errors;

static void soak_error(int t, const char *what, CK_RV rv)
{
    pthread_mutex_lock(&err_lock);
    soak_errors++;
    fprintf(stderr, "p11-stress: thread %d: %s: %s\n", t, what, rv_name(rv));
    pthread_mutex_unlock(&err_lock);
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_ULONG *count,
                                 CK_RV *rv)
{
    CK_OBJECT_HANDLE h[4] = { CK_INVALID_HANDLE };
    *count = 0;
    *rv = p11->C_FindObjectsInit(s, t, n);
    if (*rv != CKR_OK)
        return CK_INVALID_HANDLE;
    *rv = p11->C_FindObjects(s, h, 4, count);
    CK_RV r = p11->C_FindObjectsFinal(s);
    if (*rv == CKR_OK)
        *rv = r;
    return h[0];
}

static void *soak_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    CK_SESSION_HANDLE s;
    CK_RV rv = p11->C_OpenSession(soak_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK) {
        soak_error(t, "C_OpenSession", rv);
        return NULL;
    }
    CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE kt[] = { { CKA_CLASS, &priv_class, sizeof(priv_class) }, { CKA_LABEL, "soak", 4 } };
    CK_ATTRIBUTE pt[] = { { CKA_CLASS, &pub_class, sizeof(pub_class) }, { CKA_LABEL, "soak", 4 } };
    CK_ULONG count;
    CK_OBJECT_HANDLE key = find_one(s, kt, 2, &count, &rv);
    CK_OBJECT_HANDLE pub = rv == CKR_OK ? find_one(s, pt, 2, &count, &rv) : CK_INVALID_HANDLE;
    if (rv != CKR_OK || key == CK_INVALID_HANDLE || pub == CK_INVALID_HANDLE) {
        soak_error(t, "finding the key pair 'soak'", rv == CKR_OK ? CKR_KEY_HANDLE_INVALID : rv);
        return NULL;
    }
    unsigned long done = 0;
    for (unsigned long i = 1; i <= soak_ops; i++) {
        char label[96], value[96];
        snprintf(label, sizeof(label), "%s-%d-%lu", soak_prefix, t, i);
        int vl = snprintf(value, sizeof(value), "value of %s", label);
        CK_ATTRIBUTE d[] = { { CKA_CLASS, &data_class, sizeof(data_class) }, { CKA_TOKEN, &yes, 1 },
                             { CKA_LABEL, label, strlen(label) }, { CKA_VALUE, value, (CK_ULONG)vl } };
        CK_OBJECT_HANDLE h;
        rv = p11->C_CreateObject(s, d, 4, &h);
        if (rv != CKR_OK) {
            soak_error(t, "C_CreateObject", rv);
            continue;
        }
        CK_OBJECT_HANDLE f = find_one(s, &d[2], 1, &count, &rv);
        if (rv != CKR_OK || count != 1 || f != h) {
            char what[160];
            snprintf(what, sizeof(what), "finding %s: %lu found (want 1, the created handle)", label,
                     (unsigned long)count);
            soak_error(t, what, rv == CKR_OK ? CKR_OBJECT_HANDLE_INVALID : rv);
        }
        unsigned char msg[32], sig[256];
        CK_ULONG sl = sizeof(sig);
        memset(msg, t, sizeof(msg));
        memcpy(msg, &i, sizeof(i));
        CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
        rv = p11->C_SignInit(s, &m, key);
        if (rv == CKR_OK)
            rv = p11->C_Sign(s, msg, sizeof(msg), sig, &sl);
        if (rv != CKR_OK)
            soak_error(t, "C_Sign", rv);
        else {
            rv = p11->C_VerifyInit(s, &m, pub);
            if (rv == CKR_OK)
                rv = p11->C_Verify(s, msg, sizeof(msg), sig, sl);
            if (rv != CKR_OK)
                soak_error(t, "C_Verify of the signature just made", rv);
        }
        rv = p11->C_DestroyObject(s, h);
        if (rv != CKR_OK)
            soak_error(t, "C_DestroyObject", rv);
        f = find_one(s, &d[2], 1, &count, &rv);
        if (rv != CKR_OK || count != 0)
            soak_error(t, "the destroyed object is still found", rv == CKR_OK ? CKR_GENERAL_ERROR : rv);
        done++;
    }
    p11->C_CloseSession(s);
    say("thread %d: %lu ops", t, done);
    return NULL;
}

static int soak_mode(char **argv)
{
    soak_token = argv[2];
    const char *pin = argv[3];
    int threads = atoi(argv[4]);
    soak_ops = strtoul(argv[5], NULL, 10);
    soak_prefix = argv[6];
    if (threads < 1 || threads > 64 || soak_ops == 0) {
        fprintf(stderr, "p11-stress: THREADS must be 1..64 and OPS positive\n");
        return 2;
    }
    open_module();
    soak_slot = open_token(soak_token, pin);
    pthread_t tid[64];
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, soak_thread, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "p11-stress: cannot start thread %d\n", t);
            return 2;
        }
    for (int t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    p11->C_Finalize(NULL);
    say("errors %lu", soak_errors);
    return soak_errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "churn") == 0)
        return churn_mode(argv);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "dump") == 0)
        return dump_mode(argc, argv);
    if (argc == 7 && strcmp(argv[1], "soak") == 0)
        return soak_mode(argv);
    fprintf(stderr, "usage: p11-stress churn TOKEN PIN OTHERPIN PREFIX SEED SETPIN\n"
                    "       p11-stress dump TOKEN PIN [OTHERPIN]\n"
                    "       p11-stress soak TOKEN PIN THREADS OPS PREFIX\n");
    return 2;
}
