/*
 * All module state in one place: whether C_Initialize ran (and in which
 * process), the backends, the slot table and the session table.
 * g.lock guards the slot and session tables only, and is never held
 * while a token or session lock is taken (lock order: session, token,
 * card; g.lock alone).
 */
#ifndef DMSC_STATE_H
#define DMSC_STATE_H

#include "backend.h"
#include "map.h"
#include "settings.h"
#include "token.h"

#include <openssl/types.h>
#include <pthread.h>
#include <sys/types.h>

typedef struct {
    CK_SLOT_ID id;
    CK_SLOT_INFO info;  /* CKF_TOKEN_PRESENT cleared once the backend no longer lists the slot */
    dmsc_token *token;
    dmsc_backend *backend; /* the one that lists the slot */
    bool listed;        /* in the backend's latest list */
    uint64_t presence; /* the backend's (dmsc_bslot); 0 once the backend no longer lists it */
    /* The presence the token's sessions belong to: when presence moves
     * away from it, the card they were opened on is gone (slots.c). */
    uint64_t session_presence;
} dmsc_slot;

typedef struct {
    bool initialized;
    pid_t pid;
    unsigned generation; /* fork generation C_Initialize ran in */
    pthread_mutex_t lock;
    dmsc_config cfg;          /* the settings C_Initialize read */
    dmsc_backend **backends;  /* in the configuration's order */
    size_t n_backends;
    dmsc_slot *slots;
    size_t n_slots;
    dmsc_map sessions;
    OSSL_LIB_CTX *libctx; /* the module's own OpenSSL context */
    OSSL_PROVIDER *provider;
} dmsc_state;

extern dmsc_state dmsc_g;

/* CKR_OK when the module is initialised in this very process. */
CK_RV dmsc_check_initialized(void);

CK_RV dmsc_state_initialize(CK_VOID_PTR init_args);
CK_RV dmsc_state_finalize(CK_VOID_PTR reserved);

/* Tests only: the backends the next C_Initialize opens instead of the
 * configured ones, in this order (n = 0: the configuration again). A
 * unit test registers a backend of its own this way. */
typedef CK_RV (*dmsc_backend_opener)(OSSL_LIB_CTX *libctx, dmsc_backend **out);
void dmsc_state_test_backends(const dmsc_backend_opener *openers, size_t n);

#endif
