/*
 * Sessions: a handle table of reference-counted sessions. A session is
 * looked up and held for the length of one call, so a C_CloseSession in
 * another thread never frees it under a running call.
 */
#ifndef DMSC_SESSION_H
#define DMSC_SESSION_H

#include "ops.h"
#include "state.h"

typedef struct dmsc_session {
    CK_SESSION_HANDLE handle;
    dmsc_token *token;
    CK_FLAGS flags;
    pthread_mutex_t lock; /* the session's operation state */
    int refs;             /* guarded by dmsc_g.lock */
    bool closed;
    /* C_FindObjects state */
    bool finding;
    CK_OBJECT_HANDLE *found;
    size_t n_found;
    size_t pos;
    /* cryptographic operations, one of each kind at a time */
    dmsc_op *ops[DMSC_OP_N];
    dmsc_op *spare[DMSC_OP_N]; /* a finished operation kept for reuse */
} dmsc_session;

CK_RV dmsc_session_open(dmsc_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *out);
/* Hold a session for one call: CKR_SESSION_HANDLE_INVALID if none. */
CK_RV dmsc_session_get(CK_SESSION_HANDLE h, dmsc_session **out);
void dmsc_session_put(dmsc_session *s);
CK_RV dmsc_session_close(CK_SESSION_HANDLE h);
/* Close every session of one token (slot), or of all when t == NULL. */
void dmsc_session_close_all(dmsc_token *t);

/* Hold the session and lock its token (lock order: session lock first
 * if wanted, then this); sync the token's cache with the store when
 * asked. Undo with dmsc_session_leave, which also ends every session of
 * the token when a backend call meanwhile found its card gone
 * (dmsc_token_note_inlock). */
CK_RV dmsc_session_enter(CK_SESSION_HANDLE h, bool sync, dmsc_session **s);
void dmsc_session_leave(dmsc_session *s);

/* Unlock a token and, if a backend call found its card gone, end its
 * sessions (the caller's hold on its own session keeps that one's memory). */
void dmsc_session_unlock_token(dmsc_token *t);

/* Drop the spare operations of every session of a token (at logout:
 * they may hold key material). */
void dmsc_session_drop_spares(dmsc_token *t);

/* The PKCS#11 session state (CKS_*) from the token's login. */
CK_STATE dmsc_session_state_inlock(const dmsc_session *s);
bool dmsc_session_rw(const dmsc_session *s);

#endif
