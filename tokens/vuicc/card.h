/*
 * One virtual UICC: a SQLite database (WAL) holding the card's identity,
 * capacity, applications (one PKCS#11 token each, with their wrapped
 * data keys and PIN retry counters) and objects. Several processes share
 * a card file; each change is one transaction, and a generation counter
 * lets every process pick up what the others changed.
 *
 * The caller holds card->lock around every call below.
 */
#ifndef DMSC_VUICC_CARD_H
#define DMSC_VUICC_CARD_H

#include "common.h"
#include "settings.h"

#include <pthread.h>
#include <sqlite3.h>

#define VUICC_USER_TRIES 3
#define VUICC_SO_TRIES 10
#define VUICC_MAX_APPS 255
#define VUICC_OBJECT_OVERHEAD 32 /* bytes a card spends on an object's header */

typedef struct {
    pthread_mutex_t lock;
    char *path;
    sqlite3 *db;
    CK_RV status; /* CKR_OK, or why the card cannot be used */
    unsigned index;
    char iccid[24];
    char imsi[20];
    /* Prepared statements, keyed by the address of their SQL literal. */
    const char *stmt_sql[32];
    sqlite3_stmt *stmt_cache[32];
} vuicc_card;

typedef struct {
    uint32_t slot;
    unsigned char label[32];
    uint64_t epoch;
    unsigned char *so_wrap;
    size_t so_wrap_len;
    unsigned so_tries;
    unsigned char *user_wrap; /* NULL: user PIN not initialised */
    size_t user_wrap_len;
    unsigned user_tries;
} vuicc_app;

typedef struct {
    uint64_t capacity;
    uint64_t used;
    uint64_t gen;
    uint64_t pruned; /* tombstones at or below this generation are gone */
} vuicc_meta;

/* Open an existing card file; never creates or rewrites one. On failure
 * the card is still returned with status set (TOKEN_NOT_RECOGNIZED for a
 * foreign file, DEVICE_ERROR for an unreadable or corrupt one). */
vuicc_card *vuicc_card_open(const char *path, unsigned index, const dmsc_config *cfg);
/* Create a new card file atomically at path; EEXIST is not an error. */
CK_RV vuicc_card_create(const char *path, const dmsc_config *cfg);
void vuicc_card_free(vuicc_card *c);

CK_RV vuicc_card_begin(vuicc_card *c, bool write);
CK_RV vuicc_card_commit(vuicc_card *c);
void vuicc_card_rollback(vuicc_card *c);

CK_RV vuicc_card_meta(vuicc_card *c, vuicc_meta *m);
CK_RV vuicc_card_set_meta(vuicc_card *c, const vuicc_meta *m);
int64_t vuicc_card_data_version(vuicc_card *c);

/* Slots numbers of the applications, ascending, and (epochs != NULL)
 * each one's epoch, which changes when the application is re-initialised. */
CK_RV vuicc_card_app_slots(vuicc_card *c, uint32_t *slots, uint64_t *epochs, size_t max, size_t *n);
/* CKR_OK and found=false when the slot holds no application. */
CK_RV vuicc_card_app_get(vuicc_card *c, uint32_t slot, vuicc_app *app, bool *found);
CK_RV vuicc_card_app_put(vuicc_card *c, const vuicc_app *app);
void vuicc_app_clear(vuicc_app *app);

/* Objects of one application. */
CK_RV vuicc_card_object_insert(vuicc_card *c, uint32_t slot, uint64_t rev,
                               const unsigned char *blob, size_t len, uint64_t *oid);
/* *size: the stored size before the change (for capacity accounting). */
CK_RV vuicc_card_object_size(vuicc_card *c, uint32_t slot, uint64_t oid, uint64_t *size, bool *found);
CK_RV vuicc_card_object_update(vuicc_card *c, uint64_t oid, uint64_t rev,
                               const unsigned char *blob, size_t len);
CK_RV vuicc_card_object_delete(vuicc_card *c, uint32_t slot, uint64_t oid, uint64_t rev);
/* Delete every object of an application; *freed: bytes given back. */
CK_RV vuicc_card_objects_wipe(vuicc_card *c, uint32_t slot, uint64_t *freed);
CK_RV vuicc_card_prune(vuicc_card *c, uint64_t below);

typedef CK_RV (*vuicc_object_fn)(void *ctx, uint64_t oid, const unsigned char *blob, size_t len);
typedef void (*vuicc_gone_fn)(void *ctx, uint64_t oid);
/* Objects of the slot with rev > since (since = 0: all of them). */
CK_RV vuicc_card_objects_since(vuicc_card *c, uint32_t slot, uint64_t since,
                               vuicc_object_fn fn, void *ctx);
CK_RV vuicc_card_gone_since(vuicc_card *c, uint32_t slot, uint64_t since,
                            vuicc_gone_fn fn, void *ctx);

/* Map a SQLite result to a PKCS#11 one: the one place this happens. */
CK_RV vuicc_sqlite_rv(vuicc_card *c, int rc, const char *what);

#endif
