/* C_Initialize / C_Finalize and the fork rule. */
#include "state.h"

#include <libxml/parser.h>

#include "events.h"
#include "ops.h"
#include "session.h"
#include "slots.h"

#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

dmsc_state dmsc_g;

/* Serialises C_Initialize and C_Finalize against each other. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Bumped in every child of a fork(). The handler only marks; the child's
 * next C_Initialize does the work. (getpid() on every call would cost a
 * system call per PKCS#11 call.) glibc drops the handler if the module
 * is unloaded. */
static volatile unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forked_child(void)
{
    fork_generation++;
}

/*
 * The parents' states a forked child left behind when it initialised
 * again (dmsc_state_initialize): kept reachable on purpose, one per fork
 * generation, and never freed, since freeing them would take their
 * mutexes and close their SQLite connections (see there). Without this
 * list the memory would look lost to a leak checker while it is held by
 * design.
 */
typedef struct left_behind {
    struct left_behind *next;
    dmsc_state state;
} left_behind;
static left_behind *parents_states;

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forked_child);
}

CK_RV dmsc_check_initialized(void)
{
    /* A forked child sees its parent's state but must not use it: the
     * card connections and locks belong to the parent. */
    if (!dmsc_g.initialized || dmsc_g.generation != fork_generation)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return CKR_OK;
}

#define MAX_TEST_BACKENDS 4
static dmsc_backend_opener test_openers[MAX_TEST_BACKENDS];
static size_t n_test_openers;

void dmsc_state_test_backends(const dmsc_backend_opener *openers, size_t n)
{
    n_test_openers = n < MAX_TEST_BACKENDS ? n : MAX_TEST_BACKENDS;
    for (size_t i = 0; i < n_test_openers; i++)
        test_openers[i] = openers[i];
}

static void close_backends(void)
{
    for (size_t i = dmsc_g.n_backends; i > 0; i--)
        dmsc_g.backends[i - 1]->ops->free(dmsc_g.backends[i - 1]);
    free(dmsc_g.backends);
    dmsc_g.backends = NULL;
    dmsc_g.n_backends = 0;
    dmsc_config_free(&dmsc_g.cfg);
}

/* Open the configured backends (or a test's), in order. The settings
 * stay in dmsc_g.cfg for the backends' lifetime (the reader names). */
static CK_RV open_backends(void)
{
    char err[512];
    if (dmsc_config_load(&dmsc_g.cfg, err, sizeof(err)) != 0) {
        /* The message names the file and line; it is the user's to fix.
         * Said on stderr: C_Initialize fails, and the user must know why. */
        fprintf(stderr, "dmsc: %s\n", err);
        return CKR_GENERAL_ERROR;
    }
    size_t n = n_test_openers ? n_test_openers : dmsc_g.cfg.n_backends;
    dmsc_g.backends = calloc(n, sizeof(*dmsc_g.backends));
    if (dmsc_g.backends == NULL)
        return CKR_HOST_MEMORY;
    CK_RV rv = CKR_OK;
    for (size_t i = 0; i < n && rv == CKR_OK; i++) {
        dmsc_backend *be = NULL;
        if (n_test_openers)
            rv = test_openers[i](dmsc_g.libctx, &be);
        else if (dmsc_g.cfg.backends[i] == DMSC_BACKEND_VUICC)
            rv = dmsc_vuicc_open(dmsc_g.libctx, &be);
        else
            rv = dmsc_pcsc_open(dmsc_g.libctx, (const char *const *)dmsc_g.cfg.pcsc_readers,
                                dmsc_g.cfg.n_pcsc_readers, &be);
        if (rv == CKR_OK)
            dmsc_g.backends[dmsc_g.n_backends++] = be;
        else
            dmsc_debug(DMSC_DEBUG_CALL, "backend %s did not open: %s",
                       n_test_openers ? "(test)" : dmsc_backend_kind_name(dmsc_g.cfg.backends[i]),
                       dmsc_rv_name(rv));
    }
    return rv;
}

static CK_RV check_args(CK_C_INITIALIZE_ARGS_PTR args)
{
    if (args == NULL)
        return CKR_OK;
    if (args->pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    int fns = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
              (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (fns != 0 && fns != 4)
        return CKR_ARGUMENTS_BAD;
    /* We lock with the OS's primitives. With application mutex functions
     * and no permission to use the OS's, we cannot honour the request. */
    if (fns == 4 && !(args->flags & CKF_OS_LOCKING_OK))
        return CKR_CANT_LOCK;
    /* The module makes no threads of its own, so CKF_LIBRARY_CANT_CREATE_OS_THREADS
     * needs nothing of us. */
    return CKR_OK;
}

CK_RV dmsc_state_initialize(CK_VOID_PTR init_args)
{
    CK_RV rv = check_args(init_args);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&init_lock);
    pthread_once(&atfork_once, register_atfork);
    if (dmsc_g.initialized && dmsc_g.generation == fork_generation) {
        pthread_mutex_unlock(&init_lock);
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    if (dmsc_g.initialized) {
        /* The parent's state, inherited through fork(). Its SQLite
         * connections must not be touched from this process (SQLite's
         * rule), nor its mutexes (they may be held by parent threads
         * that do not exist here): leave it all behind, start afresh. */
        left_behind *keep = malloc(sizeof(*keep));
        if (keep != NULL) {
            memcpy(&keep->state, &dmsc_g, sizeof(dmsc_g));
            keep->next = parents_states;
            parents_states = keep;
        }
        memset(&dmsc_g, 0, sizeof(dmsc_g));
        dmsc_events_forget_parent();
    }
    dmsc_debug_init();
    pthread_mutex_init(&dmsc_g.lock, NULL);
    dmsc_map_init(&dmsc_g.sessions);
    /* A private library context: the application's OpenSSL configuration
     * (providers, properties) does not change what the card computes. */
    dmsc_g.libctx = OSSL_LIB_CTX_new();
    if (dmsc_g.libctx != NULL)
        dmsc_g.provider = OSSL_PROVIDER_load(dmsc_g.libctx, "default");
    if (dmsc_g.provider == NULL)
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK) {
        /* The DM mechanisms read messages with libxml2; its one-time set-up
         * is thread-safe and idempotent, and it is never torn down here
         * (the application may use libxml2 too). */
        xmlInitParser();
        dmsc_ops_prepare(dmsc_g.libctx);
        rv = open_backends();
        if (rv != CKR_OK)
            close_backends();
    }
    if (rv == CKR_OK) {
        dmsc_g.initialized = true;
        dmsc_g.pid = getpid();
        dmsc_g.generation = fork_generation;
        rv = dmsc_slots_refresh();
        if (rv == CKR_OK)
            rv = dmsc_events_start();
        if (rv != CKR_OK) {
            dmsc_slots_free();
            close_backends();
            dmsc_g.initialized = false;
        }
    }
    if (rv != CKR_OK) {
        dmsc_map_clear(&dmsc_g.sessions);
        pthread_mutex_destroy(&dmsc_g.lock);
        dmsc_ops_release();
        if (dmsc_g.provider)
            OSSL_PROVIDER_unload(dmsc_g.provider);
        dmsc_g.provider = NULL;
        OSSL_LIB_CTX_free(dmsc_g.libctx);
        dmsc_g.libctx = NULL;
    }
    pthread_mutex_unlock(&init_lock);
    dmsc_debug(DMSC_DEBUG_CALL, "C_Initialize = %s", dmsc_rv_name(rv));
    return rv;
}

CK_RV dmsc_state_finalize(CK_VOID_PTR reserved)
{
    if (reserved != NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&init_lock);
    CK_RV rv = dmsc_check_initialized();
    if (rv == CKR_OK) {
        /* A thread blocked in C_WaitForSlotEvent returns first. */
        dmsc_events_stop();
        dmsc_session_close_all(NULL);
        dmsc_slots_free();
        close_backends();
        dmsc_map_clear(&dmsc_g.sessions);
        pthread_mutex_destroy(&dmsc_g.lock);
        dmsc_ops_release();
        if (dmsc_g.provider)
            OSSL_PROVIDER_unload(dmsc_g.provider);
        OSSL_LIB_CTX_free(dmsc_g.libctx);
        memset(&dmsc_g, 0, sizeof(dmsc_g));
        dmsc_events_stopped();
    }
    pthread_mutex_unlock(&init_lock);
    return rv;
}
