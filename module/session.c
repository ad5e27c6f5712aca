/* The session table and session lifetime. */
#include "session.h"

#include "slots.h"

#include <stdlib.h>

static void free_session(dmsc_session *s)
{
    for (int i = 0; i < DMSC_OP_N; i++) {
        dmsc_op_free(s->ops[i]);
        dmsc_op_free(s->spare[i]);
    }
    free(s->found);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

CK_RV dmsc_session_open(dmsc_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
    dmsc_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(&s->lock, NULL);
    s->token = t;
    s->flags = flags;
    s->handle = dmsc_next_handle();

    pthread_mutex_lock(&t->lock);
    CK_RV rv = CKR_OK;
    if (!(flags & CKF_RW_SESSION) && t->login == CKU_SO)
        rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
    if (rv == CKR_OK) {
        t->n_sessions++;
        if (flags & CKF_RW_SESSION)
            t->n_rw_sessions++;
    }
    pthread_mutex_unlock(&t->lock);
    if (rv != CKR_OK) {
        free_session(s);
        return rv;
    }

    pthread_mutex_lock(&dmsc_g.lock);
    bool ok = dmsc_map_put(&dmsc_g.sessions, s->handle, s);
    pthread_mutex_unlock(&dmsc_g.lock);
    if (!ok) {
        pthread_mutex_lock(&t->lock);
        t->n_sessions--;
        if (flags & CKF_RW_SESSION)
            t->n_rw_sessions--;
        pthread_mutex_unlock(&t->lock);
        free_session(s);
        return CKR_HOST_MEMORY;
    }
    *out = s->handle;
    return CKR_OK;
}

CK_RV dmsc_session_get(CK_SESSION_HANDLE h, dmsc_session **out)
{
    pthread_mutex_lock(&dmsc_g.lock);
    dmsc_session *s = dmsc_map_get(&dmsc_g.sessions, h);
    if (s != NULL)
        s->refs++;
    pthread_mutex_unlock(&dmsc_g.lock);
    *out = s;
    return s ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

void dmsc_session_put(dmsc_session *s)
{
    pthread_mutex_lock(&dmsc_g.lock);
    bool last = --s->refs == 0 && s->closed;
    pthread_mutex_unlock(&dmsc_g.lock);
    if (last)
        free_session(s);
}

/* The session is out of the table: drop its objects and its share of
 * the token's state; the last session of a token logs it out. */
static void retire(dmsc_session *s)
{
    dmsc_token *t = s->token;
    pthread_mutex_lock(&t->lock);
    size_t it = 0;
    void *v;
    dmsc_object **drop = NULL;
    size_t n = 0;
    if (t->objects.count > t->by_oid.count)
        drop = malloc((t->objects.count - t->by_oid.count) * sizeof(*drop));
    while (drop && dmsc_map_next(&t->objects, &it, NULL, &v)) {
        dmsc_object *obj = v;
        if (obj->oid == 0 && obj->owner == s->handle)
            drop[n++] = obj;
    }
    for (size_t i = 0; i < n; i++)
        dmsc_token_drop_inlock(t, drop[i]);
    free(drop);
    t->n_sessions--;
    if (s->flags & CKF_RW_SESSION)
        t->n_rw_sessions--;
    if (t->n_sessions == 0 && t->login != DMSC_NOBODY) {
        t->ops->logout(t->bt);
        t->login = DMSC_NOBODY;
        dmsc_token_forget_keys_inlock(t);
    }
    pthread_mutex_unlock(&t->lock);
}

CK_RV dmsc_session_close(CK_SESSION_HANDLE h)
{
    pthread_mutex_lock(&dmsc_g.lock);
    dmsc_session *s = dmsc_map_remove(&dmsc_g.sessions, h);
    if (s != NULL) {
        s->closed = true;
        s->refs++;
    }
    pthread_mutex_unlock(&dmsc_g.lock);
    if (s == NULL)
        return CKR_SESSION_HANDLE_INVALID;
    retire(s);
    dmsc_session_put(s);
    return CKR_OK;
}

void dmsc_session_close_all(dmsc_token *t)
{
    for (;;) {
        CK_SESSION_HANDLE h = 0;
        pthread_mutex_lock(&dmsc_g.lock);
        size_t it = 0;
        uint64_t k;
        void *v;
        while (dmsc_map_next(&dmsc_g.sessions, &it, &k, &v)) {
            dmsc_session *s = v;
            if (t == NULL || s->token == t) {
                h = k;
                break;
            }
        }
        pthread_mutex_unlock(&dmsc_g.lock);
        if (h == 0)
            return;
        dmsc_session_close(h);
    }
}

bool dmsc_session_rw(const dmsc_session *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
}

CK_STATE dmsc_session_state_inlock(const dmsc_session *s)
{
    bool rw = dmsc_session_rw(s);
    switch (s->token->login) {
    case CKU_SO:
        return CKS_RW_SO_FUNCTIONS;
    case CKU_USER:
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default:
        return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}

CK_RV dmsc_session_enter(CK_SESSION_HANDLE h, bool sync, dmsc_session **s)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if ((rv = dmsc_session_get(h, s)) != CKR_OK)
        return rv;
    pthread_mutex_lock(&(*s)->token->lock);
    if (sync)
        rv = dmsc_token_sync_inlock((*s)->token);
    if (rv != CKR_OK) {
        dmsc_session_unlock_token((*s)->token);
        dmsc_session_put(*s);
    }
    return rv;
}

void dmsc_session_unlock_token(dmsc_token *t)
{
    bool gone = t->gone;
    t->gone = false;
    pthread_mutex_unlock(&t->lock);
    if (gone)
        dmsc_slots_token_gone(t);
}

void dmsc_session_leave(dmsc_session *s)
{
    dmsc_session_unlock_token(s->token);
    dmsc_session_put(s);
}

void dmsc_session_drop_spares(dmsc_token *t)
{
    pthread_mutex_lock(&dmsc_g.lock);
    size_t n = 0, it = 0;
    void *v;
    dmsc_session **list = dmsc_g.sessions.count ? malloc(dmsc_g.sessions.count * sizeof(*list)) : NULL;
    while (list && dmsc_map_next(&dmsc_g.sessions, &it, NULL, &v)) {
        dmsc_session *s = v;
        if (s->token == t) {
            s->refs++;
            list[n++] = s;
        }
    }
    pthread_mutex_unlock(&dmsc_g.lock);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&list[i]->lock);
        for (int k = 0; k < DMSC_OP_N; k++) {
            dmsc_op_free(list[i]->spare[k]);
            list[i]->spare[k] = NULL;
        }
        pthread_mutex_unlock(&list[i]->lock);
        dmsc_session_put(list[i]);
    }
    free(list);
}
