/*
 * Slots: one per slot of every backend, each with its module token.
 * Backends list their slots in the configuration's order; a slot id one
 * backend already holds is not taken by another (the id ranges are
 * disjoint by design: backend.h). A refresh also notices tokens that
 * went away or were replaced, and closes their sessions (see
 * session_presence in state.h).
 */
#include "slots.h"

#include "session.h"

#include <stdlib.h>
#include <string.h>

/* Tokens whose card went or changed in one refresh: their sessions are
 * closed once g.lock is released (closing takes token locks). */
typedef struct {
    dmsc_token **items;
    size_t n;
} gone_list;

static dmsc_slot *find_inlock(CK_SLOT_ID id)
{
    for (size_t i = 0; i < dmsc_g.n_slots; i++)
        if (dmsc_g.slots[i].id == id)
            return &dmsc_g.slots[i];
    return NULL;
}

static CK_RV refresh_backend_inlock(dmsc_backend *be)
{
    const dmsc_bslot *bslots = NULL;
    size_t n = 0;
    CK_RV rv = be->ops->slots(be, &bslots, &n);
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < n; i++) {
        dmsc_slot *s = find_inlock(bslots[i].id);
        if (s != NULL && s->backend != be) {
            dmsc_debug(DMSC_DEBUG_CALL, "slot %lu of backend %s ignored: backend %s has it",
                       (unsigned long)bslots[i].id, be->ops->name, s->backend->ops->name);
            continue;
        }
        if (s == NULL) {
            dmsc_slot *slots = realloc(dmsc_g.slots, (dmsc_g.n_slots + 1) * sizeof(*slots));
            if (slots == NULL)
                return CKR_HOST_MEMORY;
            dmsc_g.slots = slots;
            s = &dmsc_g.slots[dmsc_g.n_slots];
            memset(s, 0, sizeof(*s));
            s->token = dmsc_token_new(be->ops, bslots[i].token, bslots[i].id);
            if (s->token == NULL)
                return CKR_HOST_MEMORY;
            s->id = bslots[i].id;
            s->backend = be;
            s->session_presence = bslots[i].presence;
            dmsc_g.n_slots++;
        }
        s->info = bslots[i].info;
        s->presence = bslots[i].presence;
        s->listed = true;
    }
    return CKR_OK;
}

static CK_RV refresh_inlock(gone_list *gone)
{
    for (size_t j = 0; j < dmsc_g.n_slots; j++)
        dmsc_g.slots[j].listed = false; /* set again below while its backend lists it */
    CK_RV rv = CKR_OK;
    for (size_t b = 0; b < dmsc_g.n_backends && rv == CKR_OK; b++)
        rv = refresh_backend_inlock(dmsc_g.backends[b]);
    if (rv != CKR_OK)
        return rv;
    for (size_t j = 0; j < dmsc_g.n_slots; j++) {
        dmsc_slot *s = &dmsc_g.slots[j];
        if (!s->listed) {
            /* A reader unplugged, a card file gone: no token there now. */
            s->presence = 0;
            s->info.flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
        }
        if (s->presence == s->session_presence)
            continue;
        /* Another token (or none) is in the slot: the old one's sessions
         * end. Without memory to note it, the next refresh does. */
        dmsc_token **items = realloc(gone->items, (gone->n + 1) * sizeof(*items));
        if (items == NULL)
            continue;
        gone->items = items;
        gone->items[gone->n++] = s->token;
        s->session_presence = s->presence;
    }
    /* Slots list in ascending id order. */
    for (size_t i = 1; i < dmsc_g.n_slots; i++)
        for (size_t j = i; j > 0 && dmsc_g.slots[j - 1].id > dmsc_g.slots[j].id; j--) {
            dmsc_slot tmp = dmsc_g.slots[j];
            dmsc_g.slots[j] = dmsc_g.slots[j - 1];
            dmsc_g.slots[j - 1] = tmp;
        }
    return CKR_OK;
}

/* After a refresh, with g.lock released: end what the refresh found gone. */
static void close_gone(gone_list *gone)
{
    for (size_t i = 0; i < gone->n; i++)
        dmsc_slots_token_gone(gone->items[i]);
    free(gone->items);
    gone->items = NULL;
    gone->n = 0;
}

void dmsc_slots_token_gone(dmsc_token *t)
{
    dmsc_debug(DMSC_DEBUG_CALL, "the token of slot %lu went: its sessions end", (unsigned long)t->slot_id);
    /* The last session closed logs the backend out and drops parsed keys. */
    dmsc_session_close_all(t);
    pthread_mutex_lock(&t->lock);
    if (t->login != DMSC_NOBODY) {
        t->ops->logout(t->bt);
        t->login = DMSC_NOBODY;
        dmsc_token_forget_keys_inlock(t);
    }
    pthread_mutex_unlock(&t->lock);
}

CK_RV dmsc_slots_refresh(void)
{
    gone_list gone = { 0 };
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = refresh_inlock(&gone);
    pthread_mutex_unlock(&dmsc_g.lock);
    close_gone(&gone);
    return rv;
}

static CK_RV slot_token(CK_SLOT_ID id, bool refresh, bool need_token, dmsc_token **token)
{
    gone_list gone = { 0 };
    pthread_mutex_lock(&dmsc_g.lock);
    dmsc_slot *s = NULL;
    CK_RV rv = refresh ? refresh_inlock(&gone) : CKR_OK;
    if (rv == CKR_OK) {
        s = find_inlock(id);
        /* Perhaps an application another process added since our last look. */
        if (s == NULL && !refresh && (rv = refresh_inlock(&gone)) == CKR_OK)
            s = find_inlock(id);
    }
    if (rv == CKR_OK && s == NULL)
        rv = CKR_SLOT_ID_INVALID;
    else if (rv == CKR_OK && need_token && !(s->info.flags & CKF_TOKEN_PRESENT))
        rv = CKR_TOKEN_NOT_PRESENT;
    *token = rv == CKR_OK ? s->token : NULL;
    pthread_mutex_unlock(&dmsc_g.lock);
    close_gone(&gone);
    return rv;
}

CK_RV dmsc_slots_token(CK_SLOT_ID id, dmsc_token **token)
{
    return slot_token(id, false, false, token);
}

CK_RV dmsc_slots_present_token(CK_SLOT_ID id, dmsc_token **token)
{
    return slot_token(id, true, true, token);
}

CK_RV dmsc_slots_token_here(CK_SLOT_ID id, dmsc_token **token)
{
    return slot_token(id, false, true, token);
}

CK_RV dmsc_slots_list(CK_BBOOL present_only, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    gone_list gone = { 0 };
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = CKR_OK;
    /* The length query refreshes; the fetch that follows reports the same
     * list, as the spec expects of a two-call pattern. */
    if (list == NULL)
        rv = refresh_inlock(&gone);
    CK_ULONG n = 0;
    for (size_t i = 0; i < dmsc_g.n_slots; i++)
        if (!present_only || (dmsc_g.slots[i].info.flags & CKF_TOKEN_PRESENT))
            n++;
    if (rv == CKR_OK) {
        if (list == NULL) {
            *count = n;
        } else if (*count < n) {
            *count = n;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            CK_ULONG k = 0;
            for (size_t i = 0; i < dmsc_g.n_slots; i++)
                if (!present_only || (dmsc_g.slots[i].info.flags & CKF_TOKEN_PRESENT))
                    list[k++] = dmsc_g.slots[i].id;
            *count = k;
        }
    }
    pthread_mutex_unlock(&dmsc_g.lock);
    close_gone(&gone);
    return rv;
}

CK_RV dmsc_slots_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    /* Fresh: CKF_TOKEN_PRESENT is what an application polls for. */
    gone_list gone = { 0 };
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = refresh_inlock(&gone);
    dmsc_slot *s = rv == CKR_OK ? find_inlock(id) : NULL;
    if (s != NULL)
        *info = s->info;
    else if (rv == CKR_OK)
        rv = CKR_SLOT_ID_INVALID;
    pthread_mutex_unlock(&dmsc_g.lock);
    close_gone(&gone);
    return rv;
}

void dmsc_slots_free(void)
{
    for (size_t i = 0; i < dmsc_g.n_slots; i++)
        dmsc_token_free(dmsc_g.slots[i].token);
    free(dmsc_g.slots);
    dmsc_g.slots = NULL;
    dmsc_g.n_slots = 0;
}

CK_RV dmsc_slots_presence(dmsc_slot_presence **out, size_t *n)
{
    gone_list gone = { 0 };
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = refresh_inlock(&gone);
    dmsc_slot_presence *p = NULL;
    if (rv == CKR_OK && dmsc_g.n_slots > 0) {
        p = malloc(dmsc_g.n_slots * sizeof(*p));
        if (p == NULL)
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK) {
        for (size_t i = 0; i < dmsc_g.n_slots; i++) {
            p[i].id = dmsc_g.slots[i].id;
            p[i].presence = dmsc_g.slots[i].presence;
        }
        *out = p;
        *n = dmsc_g.n_slots;
    }
    pthread_mutex_unlock(&dmsc_g.lock);
    close_gone(&gone);
    return rv;
}
