/*
 * The virtual UICC backend. A store directory holds card files; each card
 * shows one slot per application plus one spare slot that C_InitToken
 * turns into a new application. PIN retry counters are decremented and
 * committed before a PIN is checked, so no crash or kill gives a try back.
 */
#include "vuicc.h"

#include "card.h"
#include "netkey.h"
#include "settings.h"
#include "policy.h"
#include "seal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dmsc_btoken {
    vuicc_card *card;
    uint32_t slot;
    /* What this process's cache reflects. */
    bool synced;
    int64_t seen_version;
    uint64_t seen_gen;
    uint64_t seen_epoch;
    bool seen_exists;
    /* The data key, while a user or the SO is logged in. */
    bool have_dek;
    unsigned char dek[VUICC_DEK_LEN];
};

typedef struct {
    dmsc_backend base;
    dmsc_config cfg;
    vuicc_card **cards;
    size_t n_cards;
    dmsc_btoken **tokens; /* every token ever handed out; freed with the backend */
    size_t n_tokens;
    dmsc_bslot *slots;
    size_t n_slots;
} vuicc_backend;

static const dmsc_backend_ops vuicc_ops;

/* The module's OpenSSL library context: the application's OpenSSL
 * settings must not change how PINs and sealed values are computed. */
static OSSL_LIB_CTX *vuicc_libctx;

static dmsc_btoken *token_for(vuicc_backend *be, vuicc_card *card, uint32_t slot)
{
    for (size_t i = 0; i < be->n_tokens; i++)
        if (be->tokens[i]->card == card && be->tokens[i]->slot == slot)
            return be->tokens[i];
    dmsc_btoken **tokens = realloc(be->tokens, (be->n_tokens + 1) * sizeof(*tokens));
    if (tokens == NULL)
        return NULL;
    be->tokens = tokens;
    dmsc_btoken *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->card = card;
    t->slot = slot;
    be->tokens[be->n_tokens++] = t;
    return t;
}

/* presence: see dmsc_bslot; an application's is its epoch + 1. */
static CK_RV add_slot(vuicc_backend *be, vuicc_card *card, uint32_t slot, uint64_t presence, size_t *cap)
{
    if (be->n_slots == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        dmsc_bslot *slots = realloc(be->slots, n * sizeof(*slots));
        if (slots == NULL)
            return CKR_HOST_MEMORY;
        be->slots = slots;
        *cap = n;
    }
    dmsc_btoken *t = token_for(be, card, slot);
    if (t == NULL)
        return CKR_HOST_MEMORY;
    dmsc_bslot *s = &be->slots[be->n_slots++];
    memset(s, 0, sizeof(*s));
    s->id = VUICC_SLOT_ID(card->index, slot);
    s->token = t;
    s->presence = presence;
    char desc[80];
    if (card->status != CKR_OK)
        snprintf(desc, sizeof(desc), "dmsc virtual UICC %u (unreadable card file)", card->index);
    else
        snprintf(desc, sizeof(desc), "dmsc virtual UICC %s application %u", card->iccid, slot);
    dmsc_pad_copy(s->info.slotDescription, sizeof(s->info.slotDescription), desc, strlen(desc));
    dmsc_pad_copy(s->info.manufacturerID, sizeof(s->info.manufacturerID), "dmsc", 4);
    s->info.flags = CKF_TOKEN_PRESENT;
    s->info.hardwareVersion.major = 0;
    s->info.hardwareVersion.minor = 1;
    s->info.firmwareVersion.major = 0;
    s->info.firmwareVersion.minor = 1;
    return CKR_OK;
}

static int is_card_name(const char *name, unsigned *index)
{
    unsigned n;
    int used = 0;
    char canonical[32];
    /* Only the canonical spelling: uicc-01.db or uicc-+1.db would give a
     * second file the same card number. */
    if (sscanf(name, "uicc-%u.db%n", &n, &used) == 1 && name[used] == '\0' && n < VUICC_MAX_CARDS &&
        (size_t)snprintf(canonical, sizeof(canonical), "uicc-%u.db", n) < sizeof(canonical) &&
        strcmp(canonical, name) == 0) {
        *index = n;
        return 1;
    }
    return 0;
}

/* mkdir -p, each new directory 0700. */
static int make_dirs(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(path, dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Find the card files; create the first card on first use. */
static CK_RV scan_store(vuicc_backend *be)
{
    const char *dir = be->cfg.store;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || make_dirs(dir) != 0) {
            /* Said on stderr too: C_Initialize fails, and the user must know why. */
            fprintf(stderr, "dmsc: cannot create the card store %s: %s (set DMSC_STORE to a writable directory)\n",
                    dir, strerror(errno));
            return CKR_DEVICE_ERROR;
        }
        dmsc_debug(DMSC_DEBUG_STORE, "created card store %s", dir);
    } else if (!S_ISDIR(st.st_mode)) {
        dmsc_debug(DMSC_DEBUG_STORE, "card store %s is not a directory", dir);
        return CKR_DEVICE_ERROR;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        dmsc_debug(DMSC_DEBUG_STORE, "cannot read the card store %s: %s", dir, strerror(errno));
        return CKR_DEVICE_ERROR;
    }
    struct dirent *e;
    bool any = false;
    while ((e = readdir(d)) != NULL) {
        unsigned index;
        if (!is_card_name(e->d_name, &index))
            continue;
        any = true;
        bool known = false;
        for (size_t i = 0; i < be->n_cards; i++)
            known |= be->cards[i]->index == index;
        if (known)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        vuicc_card **cards = realloc(be->cards, (be->n_cards + 1) * sizeof(*cards));
        if (cards == NULL) {
            closedir(d);
            return CKR_HOST_MEMORY;
        }
        be->cards = cards;
        vuicc_card *c = vuicc_card_open(path, index, &be->cfg);
        if (c == NULL) {
            closedir(d);
            return CKR_HOST_MEMORY;
        }
        be->cards[be->n_cards++] = c;
    }
    closedir(d);
    if (!any) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/uicc-0.db", dir);
        CK_RV rv = vuicc_card_create(path, &be->cfg);
        if (rv != CKR_OK)
            return rv;
        return scan_store(be);
    }
    /* Keep cards in index order so slot ids list in order. */
    for (size_t i = 1; i < be->n_cards; i++)
        for (size_t j = i; j > 0 && be->cards[j - 1]->index > be->cards[j]->index; j--) {
            vuicc_card *tmp = be->cards[j];
            be->cards[j] = be->cards[j - 1];
            be->cards[j - 1] = tmp;
        }
    return CKR_OK;
}

/* The presence of the one slot an unreadable card file shows. */
#define UNREADABLE_CARD UINT64_MAX

static CK_RV vuicc_slots(dmsc_backend *base, const dmsc_bslot **slots, size_t *n)
{
    vuicc_backend *be = (vuicc_backend *)base;
    CK_RV rv = scan_store(be);
    if (rv != CKR_OK)
        return rv;
    be->n_slots = 0;
    size_t cap = 0;
    for (size_t i = 0; i < be->n_cards; i++) {
        vuicc_card *c = be->cards[i];
        if (c->status != CKR_OK) {
            if ((rv = add_slot(be, c, 0, UNREADABLE_CARD, &cap)) != CKR_OK)
                return rv;
            continue;
        }
        uint32_t apps[VUICC_MAX_APPS];
        uint64_t epochs[VUICC_MAX_APPS];
        size_t n_apps = 0;
        pthread_mutex_lock(&c->lock);
        rv = vuicc_card_app_slots(c, apps, epochs, VUICC_MAX_APPS, &n_apps);
        if (rv != CKR_OK && rv != CKR_HOST_MEMORY) {
            /* A damaged card shows as one unreadable slot; it must not
             * hide the healthy cards beside it. */
            c->status = rv;
            sqlite3_close_v2(c->db);
            c->db = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        if (rv == CKR_HOST_MEMORY)
            return rv;
        if (rv != CKR_OK) {
            if ((rv = add_slot(be, c, 0, UNREADABLE_CARD, &cap)) != CKR_OK)
                return rv;
            continue;
        }
        uint32_t spare = 0;
        for (size_t k = 0; k < n_apps; k++) {
            if ((rv = add_slot(be, c, apps[k], epochs[k] + 1, &cap)) != CKR_OK)
                return rv;
            if (apps[k] == spare)
                spare++;
        }
        if (n_apps < VUICC_MAX_APPS && (rv = add_slot(be, c, spare, 0, &cap)) != CKR_OK)
            return rv;
    }
    *slots = be->slots;
    *n = be->n_slots;
    return CKR_OK;
}

static void vuicc_free(dmsc_backend *base)
{
    vuicc_backend *be = (vuicc_backend *)base;
    for (size_t i = 0; i < be->n_tokens; i++) {
        dmsc_wipe(be->tokens[i]->dek, sizeof(be->tokens[i]->dek));
        free(be->tokens[i]);
    }
    for (size_t i = 0; i < be->n_cards; i++)
        vuicc_card_free(be->cards[i]);
    free(be->tokens);
    free(be->cards);
    free(be->slots);
    dmsc_config_free(&be->cfg);
    free(be);
}

CK_RV dmsc_vuicc_open(OSSL_LIB_CTX *libctx, dmsc_backend **out)
{
    vuicc_libctx = libctx;
    vuicc_backend *be = calloc(1, sizeof(*be));
    if (be == NULL)
        return CKR_HOST_MEMORY;
    be->base.ops = &vuicc_ops;
    char err[512];
    if (dmsc_config_load(&be->cfg, err, sizeof(err)) != 0) {
        /* The message names the file and line; it is the user's to fix. */
        fprintf(stderr, "dmsc: %s\n", err);
        free(be);
        return CKR_GENERAL_ERROR;
    }
    dmsc_debug(DMSC_DEBUG_STORE, "card store %s (settings from %s)", be->cfg.store,
               be->cfg.source ? be->cfg.source : "defaults");
    *out = &be->base;
    return CKR_OK;
}

/* ---- token state ---- */

/* Lock the token's card and check it is usable. */
static CK_RV card_enter(dmsc_btoken *t)
{
    if (t->card->status != CKR_OK)
        return t->card->status;
    pthread_mutex_lock(&t->card->lock);
    return CKR_OK;
}

static void card_leave(dmsc_btoken *t)
{
    pthread_mutex_unlock(&t->card->lock);
}

static void pin_flags(CK_FLAGS *flags, unsigned tries, unsigned max, CK_FLAGS low,
                      CK_FLAGS final, CK_FLAGS locked)
{
    if (tries == 0)
        *flags |= locked;
    else if (tries < max) {
        *flags |= low;
        if (tries == 1)
            *flags |= final;
    }
}

static CK_RV vuicc_token_info(dmsc_btoken *t, CK_TOKEN_INFO *info)
{
    CK_RV rv = card_enter(t);
    if (rv != CKR_OK)
        return rv;
    vuicc_meta meta;
    vuicc_app app = { 0 };
    bool found = false;
    rv = vuicc_card_begin(t->card, false);
    if (rv == CKR_OK)
        rv = vuicc_card_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_app_get(t->card, t->slot, &app, &found);
    vuicc_card_rollback(t->card);
    card_leave(t);
    if (rv != CKR_OK)
        return rv;

    memset(info->label, ' ', sizeof(info->label));
    if (found)
        memcpy(info->label, app.label, sizeof(info->label));
    dmsc_pad_copy(info->manufacturerID, sizeof(info->manufacturerID), "dmsc", 4);
    dmsc_pad_copy(info->model, sizeof(info->model), "virtual UICC", 12);
    /* The serial number field holds 16 characters: the ICCID's last 16. */
    size_t il = strlen(t->card->iccid);
    const char *serial = il > 16 ? t->card->iccid + il - 16 : t->card->iccid;
    dmsc_pad_copy(info->serialNumber, sizeof(info->serialNumber), serial, strlen(serial));
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
    if (found) {
        info->flags |= CKF_TOKEN_INITIALIZED;
        if (app.user_wrap != NULL)
            info->flags |= CKF_USER_PIN_INITIALIZED;
        pin_flags(&info->flags, app.user_tries, VUICC_USER_TRIES, CKF_USER_PIN_COUNT_LOW,
                  CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED);
        pin_flags(&info->flags, app.so_tries, VUICC_SO_TRIES, CKF_SO_PIN_COUNT_LOW,
                  CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED);
    }
    info->ulMaxPinLen = VUICC_MAX_PIN;
    info->ulMinPinLen = VUICC_MIN_PIN;
    info->ulTotalPublicMemory = meta.capacity;
    info->ulFreePublicMemory = meta.capacity > meta.used ? meta.capacity - meta.used : 0;
    info->ulTotalPrivateMemory = info->ulTotalPublicMemory;
    info->ulFreePrivateMemory = info->ulFreePublicMemory;
    info->hardwareVersion.major = 0;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
    memset(info->utcTime, ' ', sizeof(info->utcTime));
    vuicc_app_clear(&app);
    return CKR_OK;
}

typedef struct {
    const dmsc_sync_sink *sink;
    CK_RV rv;
} sync_ctx;

static CK_RV sync_object(void *ctx, uint64_t oid, const unsigned char *blob, size_t len)
{
    sync_ctx *sc = ctx;
    dmsc_attrs attrs;
    CK_RV rv = dmsc_attrs_parse(blob, len, &attrs);
    if (rv != CKR_OK) {
        /* One damaged object does not hide the others: skip it, say so. */
        dmsc_debug(DMSC_DEBUG_STORE, "object %llu is damaged and skipped", (unsigned long long)oid);
        return rv == CKR_HOST_MEMORY ? rv : CKR_OK;
    }
    return sc->sink->upsert(sc->sink->ctx, oid, &attrs);
}

static void sync_gone(void *ctx, uint64_t oid)
{
    sync_ctx *sc = ctx;
    sc->sink->remove(sc->sink->ctx, oid);
}

static void forget_login(dmsc_btoken *t)
{
    dmsc_wipe(t->dek, sizeof(t->dek));
    t->have_dek = false;
}

static CK_RV vuicc_sync(dmsc_btoken *t, const dmsc_sync_sink *sink)
{
    CK_RV rv = card_enter(t);
    if (rv != CKR_OK)
        return rv;
    int64_t version = vuicc_card_data_version(t->card);
    if (t->synced && version == t->seen_version && version >= 0) {
        card_leave(t);
        return CKR_OK;
    }
    vuicc_meta meta;
    vuicc_app app = { 0 };
    bool found = false;
    rv = vuicc_card_begin(t->card, false);
    if (rv == CKR_OK)
        rv = vuicc_card_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_app_get(t->card, t->slot, &app, &found);
    if (rv != CKR_OK)
        goto done;

    bool full = !t->synced || found != t->seen_exists || (found && app.epoch != t->seen_epoch) ||
                t->seen_gen < meta.pruned;
    if (full) {
        if (t->synced && (found != t->seen_exists || app.epoch != t->seen_epoch)) {
            /* Re-initialised by another process: our login is void. */
            forget_login(t);
            sink->logged_out(sink->ctx);
        }
        sink->reset(sink->ctx);
        t->seen_gen = 0;
        /* The DM application (the card's first) shows the network key. */
        if (found && t->slot == 0) {
            dmsc_attrs attrs;
            rv = vuicc_netkey_attrs(t->card->imsi, &attrs);
            if (rv == CKR_OK) {
                rv = sink->upsert(sink->ctx, VUICC_NETKEY_OID, &attrs);
            } else if (rv == CKR_DEVICE_ERROR) {
                /* A damaged identity costs the network key, not the token. */
                dmsc_debug(DMSC_DEBUG_STORE, "the card's IMSI is not 6 to 15 digits: no network key");
                rv = CKR_OK;
            }
            if (rv != CKR_OK)
                goto done;
        }
    }
    if (found && meta.gen != t->seen_gen) {
        sync_ctx sc = { sink, CKR_OK };
        rv = vuicc_card_objects_since(t->card, t->slot, t->seen_gen, sync_object, &sc);
        if (rv == CKR_OK && t->seen_gen != 0)
            rv = vuicc_card_gone_since(t->card, t->slot, t->seen_gen, sync_gone, &sc);
    }
    if (rv == CKR_OK) {
        t->synced = true;
        t->seen_version = version;
        t->seen_gen = meta.gen;
        t->seen_exists = found;
        t->seen_epoch = found ? app.epoch : 0;
    } else {
        t->synced = false;
    }
done:
    vuicc_card_rollback(t->card);
    card_leave(t);
    vuicc_app_clear(&app);
    return rv;
}

static bool pin_len_ok(CK_ULONG len)
{
    return len >= VUICC_MIN_PIN && len <= VUICC_MAX_PIN;
}

/*
 * Check a PIN the way a UICC does: spend a try (committed), then check,
 * then give the tries back on success. The slow scrypt runs without the
 * card lock. On success the data key is in dek.
 */
static CK_RV verify_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *pin, CK_ULONG len,
                        unsigned char dek[VUICC_DEK_LEN])
{
    bool user = who == CKU_USER;
    const char *role = user ? "dmsc-user" : "dmsc-so";
    CK_RV rv = card_enter(t);
    if (rv != CKR_OK)
        return rv;
    vuicc_app app = { 0 };
    bool found = false;
    rv = vuicc_card_begin(t->card, true);
    if (rv == CKR_OK)
        rv = vuicc_card_app_get(t->card, t->slot, &app, &found);
    if (rv == CKR_OK && !found)
        rv = CKR_USER_PIN_NOT_INITIALIZED; /* the token is not initialised */
    else if (rv == CKR_OK && user && app.user_wrap == NULL)
        rv = CKR_USER_PIN_NOT_INITIALIZED;
    else if (rv == CKR_OK && (user ? app.user_tries : app.so_tries) == 0)
        rv = CKR_PIN_LOCKED;
    if (rv == CKR_OK) {
        if (user)
            app.user_tries--;
        else
            app.so_tries--;
        rv = vuicc_card_app_put(t->card, &app);
    }
    if (rv == CKR_OK)
        rv = vuicc_card_commit(t->card);
    vuicc_card_rollback(t->card);
    card_leave(t);
    if (rv != CKR_OK) {
        vuicc_app_clear(&app);
        return rv;
    }
    dmsc_debug(DMSC_DEBUG_PIN, "slot %u: %s PIN try counted", t->slot, user ? "user" : "SO");

    rv = user ? vuicc_dek_unwrap(vuicc_libctx, app.user_wrap, app.user_wrap_len, pin, len, role, dek)
              : vuicc_dek_unwrap(vuicc_libctx, app.so_wrap, app.so_wrap_len, pin, len, role, dek);
    vuicc_app_clear(&app);
    if (rv == CKR_PIN_INCORRECT) {
        dmsc_debug(DMSC_DEBUG_PIN, "slot %u: %s PIN rejected", t->slot, user ? "user" : "SO");
        return rv;
    }
    /* Success gives the tries back; so does a failure that never judged
     * the PIN (the key derivation or the cipher could not run). */
    CK_RV judged = rv;

    /* Right PIN: give the tries back. Re-read, another process may have
     * changed the row meanwhile. */
    CK_RV rv2 = card_enter(t);
    if (rv2 == CKR_OK) {
        rv2 = vuicc_card_begin(t->card, true);
        if (rv2 == CKR_OK)
            rv2 = vuicc_card_app_get(t->card, t->slot, &app, &found);
        if (rv2 == CKR_OK && found) {
            /* Right PIN: all tries back; unjudged: the one spent. */
            if (user)
                app.user_tries = judged == CKR_OK ? VUICC_USER_TRIES
                                                  : (app.user_tries < VUICC_USER_TRIES ? app.user_tries + 1 : app.user_tries);
            else
                app.so_tries = judged == CKR_OK ? VUICC_SO_TRIES
                                                : (app.so_tries < VUICC_SO_TRIES ? app.so_tries + 1 : app.so_tries);
            rv2 = vuicc_card_app_put(t->card, &app);
            if (rv2 == CKR_OK)
                rv2 = vuicc_card_commit(t->card);
        }
        vuicc_card_rollback(t->card);
        card_leave(t);
        vuicc_app_clear(&app);
    }
    if (judged != CKR_OK || rv2 != CKR_OK) {
        dmsc_wipe(dek, VUICC_DEK_LEN);
        return judged != CKR_OK ? judged : rv2;
    }
    return CKR_OK;
}

static CK_RV vuicc_login(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    if (!pin_len_ok(len))
        return CKR_PIN_INCORRECT; /* no PIN of that length can be right */
    unsigned char dek[VUICC_DEK_LEN];
    CK_RV rv = verify_pin(t, user, pin, len, dek);
    if (rv == CKR_OK) {
        memcpy(t->dek, dek, sizeof(dek));
        t->have_dek = true;
    }
    dmsc_wipe(dek, sizeof(dek));
    return rv;
}

static void vuicc_logout(dmsc_btoken *t)
{
    forget_login(t);
}

static CK_RV vuicc_init_token(dmsc_btoken *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_len,
                              const CK_UTF8CHAR label[32])
{
    if (!pin_len_ok(so_len))
        return CKR_PIN_LEN_RANGE;
    CK_RV rv = card_enter(t);
    if (rv != CKR_OK)
        return rv;
    vuicc_app app = { 0 };
    bool found = false;
    rv = vuicc_card_app_get(t->card, t->slot, &app, &found);
    card_leave(t);
    vuicc_app_clear(&app);
    if (rv != CKR_OK)
        return rv;

    unsigned char dek[VUICC_DEK_LEN];
    if (found) {
        /* Re-initialising: only with the SO PIN (counted like a login). */
        rv = verify_pin(t, CKU_SO, so_pin, so_len, dek);
        dmsc_wipe(dek, sizeof(dek));
        if (rv != CKR_OK)
            return rv;
    }
    if (RAND_priv_bytes_ex(vuicc_libctx, dek, sizeof(dek), 0) != 1)
        return CKR_GENERAL_ERROR;
    unsigned char *so_wrap = NULL;
    size_t so_wrap_len = 0;
    rv = vuicc_dek_wrap(vuicc_libctx, dek, so_pin, so_len, "dmsc-so", &so_wrap, &so_wrap_len);
    dmsc_wipe(dek, sizeof(dek));
    if (rv != CKR_OK)
        return rv;

    if ((rv = card_enter(t)) != CKR_OK) {
        free(so_wrap);
        return rv;
    }
    vuicc_meta meta;
    bool exists_now = false;
    rv = vuicc_card_begin(t->card, true);
    if (rv == CKR_OK)
        rv = vuicc_card_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_app_get(t->card, t->slot, &app, &exists_now);
    if (rv == CKR_OK && exists_now != found)
        rv = CKR_FUNCTION_FAILED; /* another process initialised it meanwhile */
    vuicc_app_clear(&app);
    if (rv == CKR_OK && found) {
        uint64_t freed = 0;
        rv = vuicc_card_objects_wipe(t->card, t->slot, &freed);
        meta.used = meta.used > freed ? meta.used - freed : 0;
    }
    if (rv == CKR_OK) {
        meta.gen++;
        app.slot = t->slot;
        memcpy(app.label, label, sizeof(app.label));
        app.epoch = meta.gen;
        app.so_wrap = so_wrap;
        app.so_wrap_len = so_wrap_len;
        app.so_tries = VUICC_SO_TRIES;
        app.user_wrap = NULL;
        app.user_tries = VUICC_USER_TRIES;
        rv = vuicc_card_app_put(t->card, &app);
        app.so_wrap = NULL;
    }
    if (rv == CKR_OK)
        rv = vuicc_card_set_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_commit(t->card);
    vuicc_card_rollback(t->card);
    card_leave(t);
    free(so_wrap);
    if (rv == CKR_OK) {
        forget_login(t);
        t->synced = false;
        dmsc_debug(DMSC_DEBUG_PIN, "slot %u: token %s", t->slot, found ? "re-initialised" : "initialised");
    }
    return rv;
}

/* Store a new wrap of the data key under pin for who. */
static CK_RV rewrap(dmsc_btoken *t, CK_USER_TYPE who, const unsigned char dek[VUICC_DEK_LEN],
                    const CK_UTF8CHAR *pin, CK_ULONG len)
{
    bool user = who == CKU_USER;
    unsigned char *wrap = NULL;
    size_t wrap_len = 0;
    CK_RV rv = vuicc_dek_wrap(vuicc_libctx, dek, pin, len, user ? "dmsc-user" : "dmsc-so", &wrap, &wrap_len);
    if (rv != CKR_OK)
        return rv;
    if ((rv = card_enter(t)) != CKR_OK) {
        free(wrap);
        return rv;
    }
    vuicc_app app = { 0 };
    bool found = false;
    rv = vuicc_card_begin(t->card, true);
    if (rv == CKR_OK)
        rv = vuicc_card_app_get(t->card, t->slot, &app, &found);
    if (rv == CKR_OK && !found)
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    if (rv == CKR_OK) {
        if (user) {
            free(app.user_wrap);
            app.user_wrap = wrap;
            app.user_wrap_len = wrap_len;
            app.user_tries = VUICC_USER_TRIES;
        } else {
            free(app.so_wrap);
            app.so_wrap = wrap;
            app.so_wrap_len = wrap_len;
            app.so_tries = VUICC_SO_TRIES;
        }
        wrap = NULL;
        rv = vuicc_card_app_put(t->card, &app);
    }
    if (rv == CKR_OK)
        rv = vuicc_card_commit(t->card);
    vuicc_card_rollback(t->card);
    card_leave(t);
    vuicc_app_clear(&app);
    free(wrap);
    return rv;
}

static CK_RV vuicc_init_pin(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    if (!pin_len_ok(len))
        return CKR_PIN_LEN_RANGE;
    if (!t->have_dek)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = rewrap(t, CKU_USER, t->dek, pin, len);
    if (rv == CKR_OK)
        dmsc_debug(DMSC_DEBUG_PIN, "slot %u: user PIN set by the SO", t->slot);
    return rv;
}

static CK_RV vuicc_set_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin,
                           CK_ULONG old_len, const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
    if (!pin_len_ok(old_len))
        return CKR_PIN_INCORRECT;
    if (!pin_len_ok(new_len))
        return CKR_PIN_LEN_RANGE;
    unsigned char dek[VUICC_DEK_LEN];
    CK_RV rv = verify_pin(t, who, old_pin, old_len, dek);
    if (rv == CKR_OK)
        rv = rewrap(t, who, dek, new_pin, new_len);
    dmsc_wipe(dek, sizeof(dek));
    if (rv == CKR_OK)
        dmsc_debug(DMSC_DEBUG_PIN, "slot %u: %s PIN changed", t->slot, who == CKU_USER ? "user" : "SO");
    return rv;
}

/* ---- objects ---- */

/* The attributes as the card keeps them: secret values of private
 * objects sealed under the data key. */
static CK_RV seal_for_store(dmsc_btoken *t, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    CK_RV rv = dmsc_attrs_copy(stored, attrs);
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < stored->n; i++) {
        dmsc_attr *a = &stored->items[i];
        if (a->sealed || !dmsc_policy_seal_at_rest(attrs, a->type))
            continue;
        if (!t->have_dek) {
            dmsc_attrs_clear(stored);
            return CKR_USER_NOT_LOGGED_IN;
        }
        unsigned char *sealed = NULL;
        size_t sealed_len = 0;
        rv = vuicc_seal(vuicc_libctx, t->dek, t->slot, a->type, a->value, a->len, &sealed, &sealed_len);
        if (rv != CKR_OK) {
            dmsc_attrs_clear(stored);
            return rv;
        }
        rv = dmsc_attrs_take(stored, a->type, sealed, sealed_len, true);
        if (rv != CKR_OK) {
            dmsc_attrs_clear(stored);
            return rv;
        }
    }
    return CKR_OK;
}

/* Write one object change in one transaction; size_delta is checked
 * against the free memory before anything is written. */
static CK_RV write_object(dmsc_btoken *t, uint64_t *oid, const dmsc_attrs *attrs,
                          dmsc_attrs *stored, bool insert)
{
    CK_RV rv = seal_for_store(t, attrs, stored);
    if (rv != CKR_OK)
        return rv;
    unsigned char *blob = NULL;
    size_t len = 0;
    rv = dmsc_attrs_serialize(stored, &blob, &len);
    if (rv != CKR_OK)
        goto fail;
    if ((rv = card_enter(t)) != CKR_OK)
        goto fail;
    vuicc_meta meta;
    uint64_t old_size = 0;
    bool found = true;
    rv = vuicc_card_begin(t->card, true);
    if (rv == CKR_OK)
        rv = vuicc_card_meta(t->card, &meta);
    if (rv == CKR_OK && !insert) {
        rv = vuicc_card_object_size(t->card, t->slot, *oid, &old_size, &found);
        if (rv == CKR_OK && !found)
            rv = CKR_OBJECT_HANDLE_INVALID; /* destroyed by another process */
    }
    uint64_t new_size = len + VUICC_OBJECT_OVERHEAD;
    uint64_t prev_gen = meta.gen;
    if (rv == CKR_OK) {
        uint64_t used = meta.used - (old_size <= meta.used ? old_size : meta.used);
        if (used + new_size > meta.capacity) {
            dmsc_debug(DMSC_DEBUG_STORE, "card full: %llu bytes needed, %llu free",
                       (unsigned long long)new_size,
                       (unsigned long long)(meta.capacity > used ? meta.capacity - used : 0));
            rv = CKR_DEVICE_MEMORY;
        } else {
            meta.used = used + new_size;
            meta.gen++;
        }
    }
    if (rv == CKR_OK)
        rv = insert ? vuicc_card_object_insert(t->card, t->slot, meta.gen, blob, len, oid)
                    : vuicc_card_object_update(t->card, *oid, meta.gen, blob, len);
    if (rv == CKR_OK)
        rv = vuicc_card_set_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_commit(t->card);
    vuicc_card_rollback(t->card);
    /* Our cache already holds this change; if it held all before it, it
     * is still complete. */
    if (rv == CKR_OK && t->synced && t->seen_gen == prev_gen)
        t->seen_gen = meta.gen;
    card_leave(t);
    free(blob);
    blob = NULL;
    if (rv == CKR_OK)
        return CKR_OK;
fail:
    free(blob);
    dmsc_attrs_clear(stored);
    return rv;
}

static CK_RV vuicc_create(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored)
{
    return write_object(t, oid, attrs, stored, true);
}

static CK_RV vuicc_update(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    if (oid == VUICC_NETKEY_OID)
        return CKR_ACTION_PROHIBITED; /* made from the card's identity, not stored */
    return write_object(t, &oid, attrs, stored, false);
}

static CK_RV vuicc_destroy(dmsc_btoken *t, uint64_t oid)
{
    if (oid == VUICC_NETKEY_OID)
        return CKR_ACTION_PROHIBITED;
    CK_RV rv = card_enter(t);
    if (rv != CKR_OK)
        return rv;
    vuicc_meta meta;
    uint64_t size = 0;
    bool found = false;
    rv = vuicc_card_begin(t->card, true);
    if (rv == CKR_OK)
        rv = vuicc_card_meta(t->card, &meta);
    if (rv == CKR_OK)
        rv = vuicc_card_object_size(t->card, t->slot, oid, &size, &found);
    uint64_t prev_gen = meta.gen;
    if (rv == CKR_OK && found) {
        meta.gen++;
        meta.used = meta.used > size ? meta.used - size : 0;
        rv = vuicc_card_object_delete(t->card, t->slot, oid, meta.gen);
        /* Deletion records let other processes drop their copies; keep
         * the last 65536 generations of them. */
        if (rv == CKR_OK && meta.gen % 4096 == 0 && meta.gen > 65536) {
            meta.pruned = meta.gen - 65536;
            rv = vuicc_card_prune(t->card, meta.pruned);
        }
        if (rv == CKR_OK)
            rv = vuicc_card_set_meta(t->card, &meta);
        if (rv == CKR_OK)
            rv = vuicc_card_commit(t->card);
    }
    vuicc_card_rollback(t->card);
    if (rv == CKR_OK && found && t->synced && t->seen_gen == prev_gen)
        t->seen_gen = meta.gen;
    card_leave(t);
    /* Already gone (another process destroyed it): the outcome is the same. */
    return rv;
}

static CK_RV vuicc_unseal_attr(dmsc_btoken *t, const dmsc_attr *sealed, void **plain, CK_ULONG *len)
{
    if (!t->have_dek)
        return CKR_USER_NOT_LOGGED_IN;
    unsigned char *out = NULL;
    size_t out_len = 0;
    CK_RV rv = vuicc_unseal(vuicc_libctx, t->dek, t->slot, sealed->type, sealed->value, sealed->len,
                            &out, &out_len);
    if (rv != CKR_OK) {
        dmsc_debug(DMSC_DEBUG_STORE, "slot %u: a sealed value does not open: damaged or tampered",
                   t->slot);
        return rv;
    }
    *plain = out;
    *len = out_len;
    return CKR_OK;
}

static const dmsc_backend_ops vuicc_ops = {
    .name = "vuicc",
    .free = vuicc_free,
    .slots = vuicc_slots,
    .token_info = vuicc_token_info,
    .sync = vuicc_sync,
    .init_token = vuicc_init_token,
    .login = vuicc_login,
    .logout = vuicc_logout,
    .init_pin = vuicc_init_pin,
    .set_pin = vuicc_set_pin,
    .create = vuicc_create,
    .update = vuicc_update,
    .destroy = vuicc_destroy,
    .unseal = vuicc_unseal_attr,
};
