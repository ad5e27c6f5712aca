/*
 * Readers and cards over pcsc-lite. One SCARDCONTEXT per dmsc_pcsc,
 * established lazily: no pcscd is "no readers", and each poll tries
 * again. Readers keep their index for the life of the dmsc_pcsc (a
 * reader that goes away stays as gone and gets its index back when it
 * returns), so slot ids stay stable.
 *
 * Locking: p->lock guards the context handle, the reader table and the
 * count of connected cards. A card's own calls (transmit, transactions)
 * take no lock of ours: its token's lock serialises them, and pcsc-lite
 * serialises calls on one context itself. The context is never released
 * while a card holds a handle on it: a context whose pcscd went away is
 * only marked stale (every reader gone) until the last card is
 * disconnected, so no card ever calls into a released context.
 */
#include "config.h"

#include "card.h"
#include "debug.h"

#include <PCSC/winscard.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    bool gone, present;
    uint64_t insertions;
    uint8_t atr[MAX_ATR_SIZE];
    size_t atr_len;
    DWORD events; /* pcsc-lite's event count (high word of dwEventState) */
    bool events_known;
} reader;

struct dmsc_pcsc {
    pthread_mutex_t lock;
    SCARDCONTEXT ctx;
    bool have_ctx;
    bool stale; /* pcscd went away: re-establish once no card uses ctx */
    size_t n_cards;
    char **only; /* the reader names to use; none: every reader */
    size_t n_only;
    reader *readers;
    size_t n_readers;
    dmsc_reader_state *snapshot;
};

typedef struct {
    dmsc_pcsc *p;
    SCARDHANDLE h;
    DWORD protocol;
    const char *reader; /* for traces: owned by p */
} pcsc_card;

/* pcscd or its client socket is gone (stopped, restarted). */
static bool service_gone(LONG rv)
{
    return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED || rv == SCARD_E_INVALID_HANDLE ||
           rv == SCARD_F_COMM_ERROR;
}

/* One map from PC/SC errors of a card to PKCS#11, with a trace. pcscd
 * gone is the card gone for us (CKR_DEVICE_REMOVED, the token absent at
 * the next poll), whether the call found no service or pcscd died while
 * it waited for the answer (SCARD_F_COMM_ERROR: the socket closed). */
static CK_RV card_error(const char *what, const char *reader_name, LONG rv)
{
    switch (rv) {
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_E_INVALID_HANDLE:
    case SCARD_F_COMM_ERROR:
        dmsc_debug(DMSC_DEBUG_CARD, "%s on '%s': %s: no card (or reader) there", what, reader_name,
                   pcsc_stringify_error(rv));
        return CKR_DEVICE_REMOVED;
    case SCARD_E_NO_MEMORY:
        return CKR_HOST_MEMORY;
    default:
        dmsc_debug(DMSC_DEBUG_CARD, "%s on '%s': %s (0x%08lX)", what, reader_name, pcsc_stringify_error(rv),
                   (unsigned long)rv);
        return CKR_DEVICE_ERROR;
    }
}

/* ---- the context and the reader table ---- */

static void establish_inlock(dmsc_pcsc *p)
{
    if (p->stale && p->n_cards == 0) {
        SCardReleaseContext(p->ctx);
        p->have_ctx = false;
        p->stale = false;
    }
    if (p->have_ctx)
        return;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
    if (rv == SCARD_S_SUCCESS) {
        p->have_ctx = true;
        dmsc_debug(DMSC_DEBUG_CARD, "PC/SC context established");
    } else {
        dmsc_debug(DMSC_DEBUG_CARD, "no PC/SC service (%s): no readers for now", pcsc_stringify_error(rv));
    }
}

static void lose_context_inlock(dmsc_pcsc *p, LONG why)
{
    dmsc_debug(DMSC_DEBUG_CARD, "PC/SC service lost (%s)", pcsc_stringify_error(why));
    if (p->n_cards == 0) {
        SCardReleaseContext(p->ctx);
        p->have_ctx = false;
    } else {
        p->stale = true;
    }
}

static bool wanted(const dmsc_pcsc *p, const char *name)
{
    if (p->n_only == 0)
        return true;
    for (size_t i = 0; i < p->n_only; i++)
        if (strcmp(p->only[i], name) == 0)
            return true;
    return false;
}

static reader *find_or_add_inlock(dmsc_pcsc *p, const char *name)
{
    for (size_t i = 0; i < p->n_readers; i++)
        if (strcmp(p->readers[i].name, name) == 0)
            return &p->readers[i];
    reader *r = realloc(p->readers, (p->n_readers + 1) * sizeof(*r));
    if (r == NULL)
        return NULL;
    p->readers = r;
    r = &p->readers[p->n_readers];
    memset(r, 0, sizeof(*r));
    if ((r->name = strdup(name)) == NULL)
        return NULL;
    r->gone = true; /* until listed */
    p->n_readers++;
    return r;
}

static void mark_gone(reader *r)
{
    r->gone = true;
    r->present = false;
    r->atr_len = 0;
    r->events_known = false;
}

/* The names pcscd lists now (a multi-string), or NULL with *rv. */
static char *list_readers_inlock(dmsc_pcsc *p, LONG *rv)
{
    DWORD len = 0;
    *rv = SCardListReaders(p->ctx, NULL, NULL, &len);
    if (*rv != SCARD_S_SUCCESS || len == 0 || len > 65536)
        return NULL;
    char *names = calloc(1, (size_t)len + 2);
    if (names == NULL) {
        *rv = SCARD_E_NO_MEMORY;
        return NULL;
    }
    *rv = SCardListReaders(p->ctx, NULL, names, &len);
    if (*rv != SCARD_S_SUCCESS) {
        free(names);
        return NULL;
    }
    return names; /* two NULs at the end whatever pcscd wrote */
}

/* Presence, ATR and insertions of the listed readers, without blocking. */
static CK_RV update_states_inlock(dmsc_pcsc *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_readers; i++)
        n += !p->readers[i].gone;
    if (n == 0)
        return CKR_OK;
    SCARD_READERSTATE *st = calloc(n, sizeof(*st));
    size_t *which = calloc(n, sizeof(*which));
    if (st == NULL || which == NULL) {
        free(st);
        free(which);
        return CKR_HOST_MEMORY;
    }
    for (size_t i = 0, k = 0; i < p->n_readers; i++) {
        if (p->readers[i].gone)
            continue;
        st[k].szReader = p->readers[i].name;
        st[k].dwCurrentState = SCARD_STATE_UNAWARE;
        which[k++] = i;
    }
    LONG rv = SCardGetStatusChange(p->ctx, 0, st, (DWORD)n);
    if (rv == SCARD_S_SUCCESS || rv == SCARD_E_TIMEOUT) {
        for (size_t k = 0; k < n; k++) {
            reader *r = &p->readers[which[k]];
            DWORD ev = st[k].dwEventState;
            if (ev & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE | SCARD_STATE_UNAVAILABLE)) {
                mark_gone(r); /* went away since it was listed */
                continue;
            }
            bool present = (ev & SCARD_STATE_PRESENT) && !(ev & SCARD_STATE_MUTE);
            DWORD events = (ev >> 16) & 0xFFFF;
            /* A new card: it was absent, or pcsc-lite counted events (a
             * removal and an insertion) between two polls that both saw
             * a card. */
            if (present && (!r->present || (r->events_known && events != r->events)))
                r->insertions++;
            r->present = present;
            r->events = events;
            r->events_known = true;
            size_t atr_len = st[k].cbAtr <= sizeof(r->atr) ? st[k].cbAtr : 0;
            r->atr_len = present ? atr_len : 0;
            if (r->atr_len > 0)
                memcpy(r->atr, st[k].rgbAtr, r->atr_len);
        }
    } else if (service_gone(rv)) {
        lose_context_inlock(p, rv);
        for (size_t i = 0; i < p->n_readers; i++)
            mark_gone(&p->readers[i]);
    } else {
        dmsc_debug(DMSC_DEBUG_CARD, "reader states: %s", pcsc_stringify_error(rv));
    }
    free(st);
    free(which);
    return CKR_OK;
}

static CK_RV poll_inlock(dmsc_pcsc *p)
{
    establish_inlock(p);
    if (!p->have_ctx || p->stale) {
        for (size_t i = 0; i < p->n_readers; i++)
            mark_gone(&p->readers[i]);
        return CKR_OK;
    }
    LONG rv;
    char *names = list_readers_inlock(p, &rv);
    if (names == NULL && service_gone(rv)) {
        lose_context_inlock(p, rv);
        if (p->n_cards == 0) { /* pcscd restarted: try the new one now */
            establish_inlock(p);
            if (p->have_ctx)
                names = list_readers_inlock(p, &rv);
        }
    }
    if (names == NULL && rv != SCARD_E_NO_READERS_AVAILABLE && rv != SCARD_S_SUCCESS && !service_gone(rv))
        dmsc_debug(DMSC_DEBUG_CARD, "listing readers: %s", pcsc_stringify_error(rv));
    bool *listed = calloc(p->n_readers + 1, sizeof(*listed));
    if (listed == NULL) {
        free(names);
        return CKR_HOST_MEMORY;
    }
    CK_RV ret = CKR_OK;
    for (const char *s = names; s != NULL && *s != '\0'; s += strlen(s) + 1) {
        if (!wanted(p, s))
            continue;
        size_t before = p->n_readers;
        reader *r = find_or_add_inlock(p, s);
        if (r == NULL) {
            ret = CKR_HOST_MEMORY;
            break;
        }
        if (p->n_readers != before) {
            bool *more = realloc(listed, (p->n_readers + 1) * sizeof(*more));
            if (more == NULL) {
                ret = CKR_HOST_MEMORY;
                break;
            }
            listed = more;
            listed[p->n_readers - 1] = false;
            dmsc_debug(DMSC_DEBUG_CARD, "reader %zu: '%s'", p->n_readers - 1, s);
        }
        listed[r - p->readers] = true;
    }
    free(names);
    if (ret == CKR_OK) {
        for (size_t i = 0; i < p->n_readers; i++) {
            if (!listed[i])
                mark_gone(&p->readers[i]);
            else
                p->readers[i].gone = false;
        }
        if (p->have_ctx && !p->stale)
            ret = update_states_inlock(p);
    }
    free(listed);
    return ret;
}

CK_RV dmsc_pcsc_new(const char *const *readers, size_t n_readers, dmsc_pcsc **out)
{
    if (out == NULL || (readers == NULL && n_readers > 0))
        return CKR_ARGUMENTS_BAD;
    dmsc_pcsc *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CKR_HOST_MEMORY;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return CKR_CANT_LOCK;
    }
    if (n_readers > 0) {
        p->only = calloc(n_readers, sizeof(*p->only));
        if (p->only == NULL) {
            dmsc_pcsc_free(p);
            return CKR_HOST_MEMORY;
        }
        for (; p->n_only < n_readers; p->n_only++) {
            if (readers[p->n_only] == NULL || (p->only[p->n_only] = strdup(readers[p->n_only])) == NULL) {
                dmsc_pcsc_free(p);
                return readers[p->n_only] == NULL ? CKR_ARGUMENTS_BAD : CKR_HOST_MEMORY;
            }
        }
    }
    pthread_mutex_lock(&p->lock);
    establish_inlock(p);
    pthread_mutex_unlock(&p->lock);
    *out = p;
    return CKR_OK;
}

void dmsc_pcsc_free(dmsc_pcsc *p)
{
    if (p == NULL)
        return;
    if (p->have_ctx)
        SCardReleaseContext(p->ctx);
    for (size_t i = 0; i < p->n_only; i++)
        free(p->only[i]);
    free(p->only);
    for (size_t i = 0; i < p->n_readers; i++)
        free(p->readers[i].name);
    free(p->readers);
    free(p->snapshot);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

CK_RV dmsc_pcsc_poll(dmsc_pcsc *p, const dmsc_reader_state **readers, size_t *n)
{
    if (p == NULL || readers == NULL || n == NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&p->lock);
    CK_RV rv = poll_inlock(p);
    if (rv == CKR_OK && p->n_readers > 0) {
        dmsc_reader_state *s = realloc(p->snapshot, p->n_readers * sizeof(*s));
        if (s == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            p->snapshot = s;
            for (size_t i = 0; i < p->n_readers; i++) {
                const reader *r = &p->readers[i];
                s[i] = (dmsc_reader_state){ .name = r->name, .gone = r->gone, .present = r->present,
                                            .insertions = r->insertions, .atr_len = r->atr_len };
                memcpy(s[i].atr, r->atr, r->atr_len);
            }
        }
    }
    if (rv == CKR_OK) {
        *readers = p->snapshot;
        *n = p->n_readers;
    }
    pthread_mutex_unlock(&p->lock);
    return rv;
}

/* ---- a card ---- */

/* Another application reset the card: the handle is re-established
 * (leaving the card as it is) and the caller told once. */
static CK_RV reconnect_after_reset(pcsc_card *pc)
{
    DWORD proto = 0;
    LONG rv = SCardReconnect(pc->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD,
                             &proto);
    if (rv != SCARD_S_SUCCESS)
        return card_error("reconnect after reset", pc->reader, rv);
    pc->protocol = proto;
    dmsc_debug(DMSC_DEBUG_CARD, "card in '%s' was reset by another application: reconnected", pc->reader);
    return DMSC_CKR_CARD_RESET;
}

static CK_RV pcsc_transmit(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    pcsc_card *pc = ctx;
    const SCARD_IO_REQUEST *pci = pc->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    DWORD n = (DWORD)*resp_len;
    LONG rv = SCardTransmit(pc->h, pci, cmd, (DWORD)cmd_len, NULL, resp, &n);
    if (rv == SCARD_S_SUCCESS) {
        *resp_len = n;
        return CKR_OK;
    }
    if (rv == SCARD_W_RESET_CARD)
        return reconnect_after_reset(pc);
    return card_error("transmit", pc->reader, rv);
}

static CK_RV pcsc_begin(void *ctx)
{
    pcsc_card *pc = ctx;
    LONG rv = SCardBeginTransaction(pc->h);
    if (rv == SCARD_S_SUCCESS)
        return CKR_OK;
    if (rv == SCARD_W_RESET_CARD)
        return reconnect_after_reset(pc);
    return card_error("begin transaction", pc->reader, rv);
}

static void pcsc_end(void *ctx)
{
    pcsc_card *pc = ctx;
    LONG rv = SCardEndTransaction(pc->h, SCARD_LEAVE_CARD);
    if (rv != SCARD_S_SUCCESS)
        dmsc_debug(DMSC_DEBUG_CARD, "end transaction on '%s': %s", pc->reader, pcsc_stringify_error(rv));
}

static void pcsc_release(void *ctx)
{
    pcsc_card *pc = ctx;
    SCardDisconnect(pc->h, SCARD_LEAVE_CARD);
    pthread_mutex_lock(&pc->p->lock);
    pc->p->n_cards--;
    pthread_mutex_unlock(&pc->p->lock);
    free(pc);
}

static const dmsc_card_ops pcsc_card_ops = {
    .transmit = pcsc_transmit,
    .begin = pcsc_begin,
    .end = pcsc_end,
    .release = pcsc_release,
};

CK_RV dmsc_card_connect(dmsc_pcsc *p, size_t index, dmsc_card **out)
{
    if (p == NULL || out == NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&p->lock);
    CK_RV ret;
    if (index >= p->n_readers) {
        ret = CKR_ARGUMENTS_BAD;
        goto out;
    }
    reader *r = &p->readers[index];
    if (r->gone || !p->have_ctx || p->stale) {
        ret = CKR_DEVICE_REMOVED;
        goto out;
    }
    pcsc_card *pc = calloc(1, sizeof(*pc));
    if (pc == NULL) {
        ret = CKR_HOST_MEMORY;
        goto out;
    }
    pc->p = p;
    pc->reader = r->name;
    LONG rv = SCardConnect(p->ctx, r->name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &pc->h,
                           &pc->protocol);
    if (rv != SCARD_S_SUCCESS) {
        free(pc);
        ret = card_error("connect", r->name, rv);
        goto out;
    }
    ret = dmsc_card_new(&pcsc_card_ops, pc, out);
    if (ret != CKR_OK) {
        SCardDisconnect(pc->h, SCARD_LEAVE_CARD);
        free(pc);
        goto out;
    }
    p->n_cards++;
    dmsc_debug(DMSC_DEBUG_CARD, "connected to the card in '%s' (T=%d)", r->name,
               pc->protocol == SCARD_PROTOCOL_T0 ? 0 : 1);
out:
    pthread_mutex_unlock(&p->lock);
    return ret;
}
