/* Slots: one per backend slot, each with its module token. */
#include "slots.h"

#include <stdlib.h>
#include <string.h>

static CK_RV refresh_inlock(void)
{
    const dmsc_bslot *bslots = NULL;
    size_t n = 0;
    CK_RV rv = dmsc_g.backend->ops->slots(dmsc_g.backend, &bslots, &n);
    if (rv != CKR_OK)
        return rv;
    for (size_t j = 0; j < dmsc_g.n_slots; j++)
        dmsc_g.slots[j].presence = 0; /* set again below while the backend lists it */
    for (size_t i = 0; i < n; i++) {
        dmsc_slot *s = NULL;
        for (size_t j = 0; j < dmsc_g.n_slots; j++)
            if (dmsc_g.slots[j].id == bslots[i].id)
                s = &dmsc_g.slots[j];
        if (s == NULL) {
            dmsc_slot *slots = realloc(dmsc_g.slots, (dmsc_g.n_slots + 1) * sizeof(*slots));
            if (slots == NULL)
                return CKR_HOST_MEMORY;
            dmsc_g.slots = slots;
            s = &dmsc_g.slots[dmsc_g.n_slots];
            s->token = dmsc_token_new(dmsc_g.backend->ops, bslots[i].token, bslots[i].id);
            if (s->token == NULL)
                return CKR_HOST_MEMORY;
            s->id = bslots[i].id;
            dmsc_g.n_slots++;
        }
        s->info = bslots[i].info;
        s->presence = bslots[i].presence;
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

CK_RV dmsc_slots_refresh(void)
{
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = refresh_inlock();
    pthread_mutex_unlock(&dmsc_g.lock);
    return rv;
}

static dmsc_slot *find_inlock(CK_SLOT_ID id)
{
    for (size_t i = 0; i < dmsc_g.n_slots; i++)
        if (dmsc_g.slots[i].id == id)
            return &dmsc_g.slots[i];
    return NULL;
}

CK_RV dmsc_slots_token(CK_SLOT_ID id, dmsc_token **token)
{
    pthread_mutex_lock(&dmsc_g.lock);
    dmsc_slot *s = find_inlock(id);
    if (s == NULL) {
        /* Perhaps an application another process added since our last look. */
        if (refresh_inlock() == CKR_OK)
            s = find_inlock(id);
    }
    *token = s ? s->token : NULL;
    pthread_mutex_unlock(&dmsc_g.lock);
    return s ? CKR_OK : CKR_SLOT_ID_INVALID;
}

CK_RV dmsc_slots_list(CK_BBOOL present_only, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    (void)present_only; /* a virtual card is always present */
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = CKR_OK;
    /* The length query refreshes; the fetch that follows reports the same
     * list, as the spec expects of a two-call pattern. */
    if (list == NULL)
        rv = refresh_inlock();
    if (rv == CKR_OK) {
        if (list == NULL) {
            *count = dmsc_g.n_slots;
        } else if (*count < dmsc_g.n_slots) {
            *count = dmsc_g.n_slots;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            for (size_t i = 0; i < dmsc_g.n_slots; i++)
                list[i] = dmsc_g.slots[i].id;
            *count = dmsc_g.n_slots;
        }
    }
    pthread_mutex_unlock(&dmsc_g.lock);
    return rv;
}

CK_RV dmsc_slots_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    pthread_mutex_lock(&dmsc_g.lock);
    dmsc_slot *s = find_inlock(id);
    if (s == NULL && refresh_inlock() == CKR_OK)
        s = find_inlock(id);
    if (s != NULL)
        *info = s->info;
    pthread_mutex_unlock(&dmsc_g.lock);
    return s ? CKR_OK : CKR_SLOT_ID_INVALID;
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
    pthread_mutex_lock(&dmsc_g.lock);
    CK_RV rv = refresh_inlock();
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
    return rv;
}
