/*
 * C_WaitForSlotEvent by polling. Every card is a SQLite file that other
 * processes change; the module compares each slot's presence
 * (dmsc_bslot) with what it last reported. A poll is a directory read
 * plus one small query per card, so a blocked waiter polls every
 * POLL_MS and costs next to no CPU; inotify would save those queries but
 * would also wake on every object written to a card, and would not see a
 * store on a network file system.
 */
#include "events.h"

#include "api.h"
#include "slots.h"
#include "state.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 200

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* signalled at C_Finalize and when the last waiter leaves */
    bool stopping;            /* C_Finalize is under way */
    unsigned waiters;
    dmsc_slot_presence *seen; /* what the last report (or C_Initialize) saw */
    size_t n_seen;
} ev = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static bool cond_ready;

/* A monotonic clock: a change of the wall clock must not stretch a wait. */
static void init_cond(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&ev.cond, &a);
    pthread_condattr_destroy(&a);
    cond_ready = true;
}

CK_RV dmsc_events_start(void)
{
    pthread_once(&cond_once, init_cond);
    dmsc_slot_presence *now = NULL;
    size_t n = 0;
    CK_RV rv = dmsc_slots_presence(&now, &n);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&ev.lock);
    free(ev.seen);
    ev.seen = now;
    ev.n_seen = n;
    pthread_mutex_unlock(&ev.lock);
    return CKR_OK;
}

void dmsc_events_stop(void)
{
    pthread_once(&cond_once, init_cond);
    pthread_mutex_lock(&ev.lock);
    ev.stopping = true;
    pthread_cond_broadcast(&ev.cond);
    while (ev.waiters > 0)
        pthread_cond_wait(&ev.cond, &ev.lock);
    free(ev.seen);
    ev.seen = NULL;
    ev.n_seen = 0;
    pthread_mutex_unlock(&ev.lock);
}

void dmsc_events_stopped(void)
{
    pthread_mutex_lock(&ev.lock);
    ev.stopping = false;
    pthread_mutex_unlock(&ev.lock);
}

void dmsc_events_forget_parent(void)
{
    /* The parent's lock may be held by a thread that does not exist here:
     * a new one. Its baseline is plain heap this process alone uses now
     * (its only thread is this one): freed without that lock. */
    pthread_mutex_init(&ev.lock, NULL);
    ev.stopping = false;
    ev.waiters = 0;
    free(ev.seen);
    ev.seen = NULL;
    ev.n_seen = 0;
    if (cond_ready)
        init_cond();
}

/* The first slot whose presence differs from what was seen; that slot's
 * entry is brought up to date (the others stay pending for later calls). */
static bool take_event_inlock(const dmsc_slot_presence *now, size_t n, CK_SLOT_ID *slot)
{
    for (size_t i = 0; i < n; i++) {
        dmsc_slot_presence *seen = NULL;
        for (size_t j = 0; j < ev.n_seen && seen == NULL; j++)
            if (ev.seen[j].id == now[i].id)
                seen = &ev.seen[j];
        if (seen != NULL && seen->presence == now[i].presence)
            continue;
        if (seen == NULL) {
            /* A new slot. Without memory for it, report it again next time. */
            dmsc_slot_presence *grown = realloc(ev.seen, (ev.n_seen + 1) * sizeof(*grown));
            if (grown != NULL) {
                ev.seen = grown;
                ev.seen[ev.n_seen++] = now[i];
            }
        } else {
            seen->presence = now[i].presence;
        }
        *slot = now[i].id;
        return true;
    }
    return false;
}

static CK_RV poll_once(CK_SLOT_ID *slot, bool *found)
{
    dmsc_slot_presence *now = NULL;
    size_t n = 0;
    CK_RV rv = dmsc_slots_presence(&now, &n);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&ev.lock);
    *found = take_event_inlock(now, n, slot);
    pthread_mutex_unlock(&ev.lock);
    free(now);
    return CKR_OK;
}

/* Sleep one poll period, or less when C_Finalize starts; true if it did. */
static bool nap_inlock(void)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += POLL_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!ev.stopping && pthread_cond_timedwait(&ev.cond, &ev.lock, &until) != ETIMEDOUT)
        ;
    return ev.stopping;
}

CK_RV dmsc_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
    CK_RV rv = dmsc_check_initialized();
    if (rv != CKR_OK)
        return rv;
    if (slot == NULL || reserved != NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_once(&cond_once, init_cond);
    pthread_mutex_lock(&ev.lock);
    if (ev.stopping || dmsc_check_initialized() != CKR_OK) {
        pthread_mutex_unlock(&ev.lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    ev.waiters++;
    pthread_mutex_unlock(&ev.lock);

    bool found = false, stopped = false;
    while (rv == CKR_OK && !found && !stopped) {
        rv = poll_once(slot, &found);
        if (rv != CKR_OK || found)
            break;
        if (flags & CKF_DONT_BLOCK) {
            rv = CKR_NO_EVENT;
            break;
        }
        pthread_mutex_lock(&ev.lock);
        stopped = nap_inlock();
        pthread_mutex_unlock(&ev.lock);
    }

    pthread_mutex_lock(&ev.lock);
    if (ev.stopping)
        rv = CKR_CRYPTOKI_NOT_INITIALIZED; /* the spec's answer to a C_Finalize meanwhile */
    if (--ev.waiters == 0)
        pthread_cond_broadcast(&ev.cond);
    pthread_mutex_unlock(&ev.lock);
    DMSC_TRACE_RETURN("C_WaitForSlotEvent", rv);
}
