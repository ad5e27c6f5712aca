/* The virtual UICC's card file on SQLite. */
#include "card.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "DMSC" in PRAGMA application_id marks a dmsc card; user_version is the
 * schema version this code reads. */
#define CARD_APPLICATION_ID 0x444d5343
#define CARD_SCHEMA_VERSION 1

static const char schema[] =
    "PRAGMA application_id = 1145918275;"
    "PRAGMA user_version = 1;"
    "CREATE TABLE card(id INTEGER PRIMARY KEY CHECK (id = 1), iccid TEXT NOT NULL,"
    " imsi TEXT NOT NULL, capacity INTEGER NOT NULL, used INTEGER NOT NULL,"
    " gen INTEGER NOT NULL, pruned INTEGER NOT NULL);"
    "CREATE TABLE app(slot INTEGER PRIMARY KEY, label BLOB NOT NULL, epoch INTEGER NOT NULL,"
    " so_wrap BLOB NOT NULL, so_tries INTEGER NOT NULL, user_wrap BLOB,"
    " user_tries INTEGER NOT NULL);"
    "CREATE TABLE object(id INTEGER PRIMARY KEY AUTOINCREMENT, slot INTEGER NOT NULL,"
    " rev INTEGER NOT NULL, size INTEGER NOT NULL, attrs BLOB NOT NULL);"
    "CREATE INDEX object_slot_rev ON object(slot, rev);"
    "CREATE TABLE gone(id INTEGER PRIMARY KEY, slot INTEGER NOT NULL, rev INTEGER NOT NULL);"
    "CREATE INDEX gone_slot_rev ON gone(slot, rev);";

CK_RV vuicc_sqlite_rv(vuicc_card *c, int rc, const char *what)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return CKR_OK;
    case SQLITE_NOMEM:
        return CKR_HOST_MEMORY;
    case SQLITE_FULL:
        dmsc_debug(DMSC_DEBUG_STORE, "%s: %s: disk full", c ? c->path : "?", what);
        return CKR_DEVICE_MEMORY;
    case SQLITE_NOTADB:
        dmsc_debug(DMSC_DEBUG_STORE, "%s: %s: not a database: not a dmsc card file",
                   c ? c->path : "?", what);
        return CKR_TOKEN_NOT_RECOGNIZED;
    default:
        dmsc_debug(DMSC_DEBUG_STORE, "%s: %s: %s (sqlite code %d)", c ? c->path : "?", what,
                   c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), rc);
        return CKR_DEVICE_ERROR;
    }
}

static CK_RV exec(vuicc_card *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CKR_OK : vuicc_sqlite_rv(c, rc, sql);
}

/* Statements are prepared once per connection and kept; callers pass
 * string literals, so the literal's address is the key. */
static sqlite3_stmt *stmt(vuicc_card *c, const char *sql)
{
    size_t i;
    for (i = 0; i < DMSC_N_ELEMENTS(c->stmt_sql) && c->stmt_sql[i] != NULL; i++) {
        if (c->stmt_sql[i] == sql) {
            sqlite3_reset(c->stmt_cache[i]);
            sqlite3_clear_bindings(c->stmt_cache[i]);
            return c->stmt_cache[i];
        }
    }
    sqlite3_stmt *s = NULL;
    if (i == DMSC_N_ELEMENTS(c->stmt_sql)) {
        dmsc_debug_bug(__func__, "statement cache full");
        return NULL;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        vuicc_sqlite_rv(c, sqlite3_errcode(c->db), sql);
        return NULL;
    }
    c->stmt_sql[i] = sql;
    c->stmt_cache[i] = s;
    return s;
}

static CK_RV step_done(vuicc_card *c, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? CKR_OK : vuicc_sqlite_rv(c, rc, what);
}

static void luhn_append(char *digits)
{
    size_t n = strlen(digits);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    digits[n] = (char)('0' + (10 - sum % 10) % 10);
    digits[n + 1] = '\0';
}

static void random_digits(char *out, size_t n)
{
    unsigned char r[32];
    if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
        memset(r, 0, sizeof(r));
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + r[i] % 10);
    out[n] = '\0';
}

static CK_RV configure_connection(vuicc_card *c, const dmsc_config *cfg)
{
    sqlite3_busy_timeout(c->db, 15000);
    sqlite3_extended_result_codes(c->db, 1);
    CK_RV rv = exec(c, "PRAGMA foreign_keys = OFF; PRAGMA trusted_schema = OFF;");
    if (rv == CKR_OK)
        rv = exec(c, cfg->durable_power ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
    return rv;
}

CK_RV vuicc_card_create(const char *path, const dmsc_config *cfg)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new-%ld", path, (long)getpid()) >= sizeof(tmp))
        return CKR_ARGUMENTS_BAD;
    unlink(tmp);
    int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        dmsc_debug(DMSC_DEBUG_STORE, "cannot create %s: %s", tmp, strerror(errno));
        return CKR_DEVICE_ERROR;
    }
    close(fd);

    vuicc_card c = { .path = tmp };
    CK_RV rv = CKR_DEVICE_ERROR;
    int rc = sqlite3_open_v2(tmp, &c.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto done;
    if ((rv = exec(&c, "PRAGMA journal_mode = WAL;")) != CKR_OK ||
        (rv = exec(&c, "BEGIN IMMEDIATE;")) != CKR_OK || (rv = exec(&c, schema)) != CKR_OK)
        goto done;

    /* The configured identity (dmsc personalise passes a profile's), else
     * a random one on the test network. */
    char iccid[24], imsi[20];
    if (cfg->iccid[0] != '\0') {
        memcpy(iccid, cfg->iccid, sizeof(iccid));
    } else {
        memcpy(iccid, "8900101", 7); /* 89: telecom, 001 01: the test network */
        random_digits(iccid + 7, 11);
        luhn_append(iccid);
    }
    if (cfg->imsi[0] != '\0') {
        memcpy(imsi, cfg->imsi, sizeof(imsi));
    } else {
        memcpy(imsi, "00101", 5);
        random_digits(imsi + 5, 10);
    }
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(c.db, "INSERT INTO card VALUES (1, ?, ?, ?, 0, 1, 0)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, iccid, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, imsi, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)cfg->capacity);
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_DONE) {
        rv = vuicc_sqlite_rv(&c, rc, "create card");
        goto done;
    }
    if ((rv = exec(&c, "COMMIT;")) != CKR_OK)
        goto done;
    sqlite3_close(c.db);
    c.db = NULL;
    /* link() fails if the card appeared meanwhile: never overwrite one. */
    if (link(tmp, path) != 0 && errno != EEXIST) {
        dmsc_debug(DMSC_DEBUG_STORE, "cannot create %s: %s", path, strerror(errno));
        rv = CKR_DEVICE_ERROR;
    } else {
        dmsc_debug(DMSC_DEBUG_STORE, "created card %s", path);
        rv = CKR_OK;
    }
done:
    if (c.db)
        sqlite3_close(c.db);
    unlink(tmp);
    char side[4200];
    snprintf(side, sizeof(side), "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", tmp);
    unlink(side);
    return rv;
}

static CK_RV check_identity(vuicc_card *c)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA application_id", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return vuicc_sqlite_rv(c, rc, "read application_id");
    rc = sqlite3_step(s);
    sqlite3_int64 app_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return vuicc_sqlite_rv(c, rc, "read application_id");
    if (app_id != CARD_APPLICATION_ID) {
        dmsc_debug(DMSC_DEBUG_STORE, "%s: an SQLite database of another program (application_id %lld), left alone",
                   c->path, (long long)app_id);
        return CKR_TOKEN_NOT_RECOGNIZED;
    }
    rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return vuicc_sqlite_rv(c, rc, "read user_version");
    rc = sqlite3_step(s);
    sqlite3_int64 version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (version != CARD_SCHEMA_VERSION) {
        dmsc_debug(DMSC_DEBUG_STORE, "%s: card format %lld, this module reads format %d",
                   c->path, (long long)version, CARD_SCHEMA_VERSION);
        return CKR_TOKEN_NOT_RECOGNIZED;
    }
    rc = sqlite3_prepare_v2(c->db, "SELECT iccid, imsi FROM card WHERE id = 1", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return vuicc_sqlite_rv(c, rc, "read card");
    rc = sqlite3_step(s);
    CK_RV rv = CKR_DEVICE_ERROR;
    if (rc == SQLITE_ROW) {
        const char *iccid = (const char *)sqlite3_column_text(s, 0);
        const char *imsi = (const char *)sqlite3_column_text(s, 1);
        if (iccid && imsi && strlen(iccid) < sizeof(c->iccid) && strlen(imsi) < sizeof(c->imsi)) {
            strcpy(c->iccid, iccid);
            strcpy(c->imsi, imsi);
            rv = CKR_OK;
        }
    } else {
        rv = vuicc_sqlite_rv(c, rc, "read card");
    }
    sqlite3_finalize(s);
    if (rv == CKR_DEVICE_ERROR)
        dmsc_debug(DMSC_DEBUG_STORE, "%s: card identity missing or malformed", c->path);
    return rv;
}

vuicc_card *vuicc_card_open(const char *path, unsigned index, const dmsc_config *cfg)
{
    vuicc_card *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->index = index;
    c->path = strdup(path);
    if (c->path == NULL) {
        vuicc_card_free(c);
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        dmsc_debug(DMSC_DEBUG_STORE, "%s: not a regular file", path);
        c->status = CKR_DEVICE_ERROR;
        return c;
    }
    if (st.st_mode & 077)
        dmsc_debug(DMSC_DEBUG_STORE, "%s: readable by others (mode %o); cards should be 0600",
                   path, (unsigned)(st.st_mode & 0777));
    /* No SQLITE_OPEN_CREATE: an existing file is opened as it is. */
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        c->status = vuicc_sqlite_rv(c, rc, "open");
        return c;
    }
    /* Before the first read: another process may hold the card's locks
     * for a moment (a commit, a checkpoint), and a read must wait for it
     * rather than fail. */
    sqlite3_busy_timeout(c->db, 15000);
    sqlite3_extended_result_codes(c->db, 1);
    c->status = check_identity(c);
    if (c->status == CKR_OK)
        c->status = configure_connection(c, cfg);
    if (c->status == CKR_OK)
        c->status = exec(c, "PRAGMA journal_mode = WAL;");
    if (c->status != CKR_OK) {
        sqlite3_close(c->db);
        c->db = NULL;
    }
    return c;
}

void vuicc_card_free(vuicc_card *c)
{
    if (c == NULL)
        return;
    if (c->db) {
        sqlite3_stmt *s;
        while ((s = sqlite3_next_stmt(c->db, NULL)) != NULL)
            sqlite3_finalize(s);
        sqlite3_close(c->db);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->path);
    free(c);
}

CK_RV vuicc_card_begin(vuicc_card *c, bool write)
{
    return exec(c, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

CK_RV vuicc_card_commit(vuicc_card *c)
{
    return exec(c, "COMMIT");
}

void vuicc_card_rollback(vuicc_card *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

CK_RV vuicc_card_meta(vuicc_card *c, vuicc_meta *m)
{
    sqlite3_stmt *s = stmt(c, "SELECT capacity, used, gen, pruned FROM card WHERE id = 1");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    int rc = sqlite3_step(s);
    CK_RV rv = CKR_OK;
    if (rc == SQLITE_ROW) {
        m->capacity = (uint64_t)sqlite3_column_int64(s, 0);
        m->used = (uint64_t)sqlite3_column_int64(s, 1);
        m->gen = (uint64_t)sqlite3_column_int64(s, 2);
        m->pruned = (uint64_t)sqlite3_column_int64(s, 3);
    } else {
        rv = rc == SQLITE_DONE ? CKR_DEVICE_ERROR : vuicc_sqlite_rv(c, rc, "read card");
    }
    sqlite3_reset(s);
    return rv;
}

CK_RV vuicc_card_set_meta(vuicc_card *c, const vuicc_meta *m)
{
    sqlite3_stmt *s = stmt(c, "UPDATE card SET used = ?, gen = ?, pruned = ? WHERE id = 1");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->used);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)m->gen);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)m->pruned);
    return step_done(c, s, "update card");
}

int64_t vuicc_card_data_version(vuicc_card *c)
{
    sqlite3_stmt *s = stmt(c, "PRAGMA data_version");
    if (s == NULL)
        return -1;
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return v;
}

CK_RV vuicc_card_app_slots(vuicc_card *c, uint32_t *slots, uint64_t *epochs, size_t max, size_t *n)
{
    sqlite3_stmt *s = stmt(c, "SELECT slot, epoch FROM app ORDER BY slot");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sqlite3_int64 slot = sqlite3_column_int64(s, 0);
        if (slot < 0 || slot >= VUICC_MAX_APPS || *n >= max) {
            sqlite3_reset(s);
            dmsc_debug(DMSC_DEBUG_STORE, "%s: application slot %lld out of range", c->path, (long long)slot);
            return CKR_DEVICE_ERROR;
        }
        if (epochs != NULL)
            epochs[*n] = (uint64_t)sqlite3_column_int64(s, 1);
        slots[(*n)++] = (uint32_t)slot;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? CKR_OK : vuicc_sqlite_rv(c, rc, "list applications");
}

static unsigned char *dup_blob(const void *p, int len)
{
    if (p == NULL || len <= 0)
        return NULL;
    unsigned char *b = malloc((size_t)len);
    if (b)
        memcpy(b, p, (size_t)len);
    return b;
}

void vuicc_app_clear(vuicc_app *app)
{
    free(app->so_wrap);
    free(app->user_wrap);
    memset(app, 0, sizeof(*app));
}

CK_RV vuicc_card_app_get(vuicc_card *c, uint32_t slot, vuicc_app *app, bool *found)
{
    memset(app, 0, sizeof(*app));
    *found = false;
    sqlite3_stmt *s = stmt(c, "SELECT label, epoch, so_wrap, so_tries, user_wrap, user_tries"
                              " FROM app WHERE slot = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    int rc = sqlite3_step(s);
    CK_RV rv = CKR_OK;
    if (rc == SQLITE_ROW) {
        const void *label = sqlite3_column_blob(s, 0);
        int label_len = sqlite3_column_bytes(s, 0);
        app->slot = slot;
        memset(app->label, ' ', sizeof(app->label));
        if (label && label_len > 0)
            memcpy(app->label, label, label_len < 32 ? (size_t)label_len : 32);
        app->epoch = (uint64_t)sqlite3_column_int64(s, 1);
        app->so_wrap_len = (size_t)sqlite3_column_bytes(s, 2);
        app->so_wrap = dup_blob(sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2));
        app->so_tries = (unsigned)sqlite3_column_int(s, 3);
        if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
            app->user_wrap_len = (size_t)sqlite3_column_bytes(s, 4);
            app->user_wrap = dup_blob(sqlite3_column_blob(s, 4), sqlite3_column_bytes(s, 4));
        }
        app->user_tries = (unsigned)sqlite3_column_int(s, 5);
        if (app->so_wrap == NULL || app->so_tries > VUICC_SO_TRIES ||
            app->user_tries > VUICC_USER_TRIES) {
            dmsc_debug(DMSC_DEBUG_STORE, "%s: application %u malformed", c->path, slot);
            vuicc_app_clear(app);
            rv = CKR_DEVICE_ERROR;
        } else {
            *found = true;
        }
    } else if (rc != SQLITE_DONE) {
        rv = vuicc_sqlite_rv(c, rc, "read application");
    }
    sqlite3_reset(s);
    return rv;
}

CK_RV vuicc_card_app_put(vuicc_card *c, const vuicc_app *app)
{
    sqlite3_stmt *s = stmt(c, "INSERT OR REPLACE INTO app(slot, label, epoch, so_wrap, so_tries,"
                              " user_wrap, user_tries) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, app->slot);
    sqlite3_bind_blob(s, 2, app->label, sizeof(app->label), SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)app->epoch);
    sqlite3_bind_blob(s, 4, app->so_wrap, (int)app->so_wrap_len, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, (int)app->so_tries);
    if (app->user_wrap)
        sqlite3_bind_blob(s, 6, app->user_wrap, (int)app->user_wrap_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int(s, 7, (int)app->user_tries);
    return step_done(c, s, "write application");
}

CK_RV vuicc_card_object_insert(vuicc_card *c, uint32_t slot, uint64_t rev,
                               const unsigned char *blob, size_t len, uint64_t *oid)
{
    sqlite3_stmt *s = stmt(c, "INSERT INTO object(slot, rev, size, attrs) VALUES (?, ?, ?, ?)");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)rev);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)(len + VUICC_OBJECT_OVERHEAD));
    sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_STATIC);
    CK_RV rv = step_done(c, s, "insert object");
    if (rv == CKR_OK)
        *oid = (uint64_t)sqlite3_last_insert_rowid(c->db);
    return rv;
}

CK_RV vuicc_card_object_size(vuicc_card *c, uint32_t slot, uint64_t oid, uint64_t *size, bool *found)
{
    sqlite3_stmt *s = stmt(c, "SELECT size FROM object WHERE id = ? AND slot = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)oid);
    sqlite3_bind_int64(s, 2, slot);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (*found)
        *size = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CKR_OK : vuicc_sqlite_rv(c, rc, "object size");
}

CK_RV vuicc_card_object_update(vuicc_card *c, uint64_t oid, uint64_t rev,
                               const unsigned char *blob, size_t len)
{
    sqlite3_stmt *s = stmt(c, "UPDATE object SET rev = ?, size = ?, attrs = ? WHERE id = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)rev);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)(len + VUICC_OBJECT_OVERHEAD));
    sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)oid);
    return step_done(c, s, "update object");
}

CK_RV vuicc_card_object_delete(vuicc_card *c, uint32_t slot, uint64_t oid, uint64_t rev)
{
    sqlite3_stmt *s = stmt(c, "DELETE FROM object WHERE id = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)oid);
    CK_RV rv = step_done(c, s, "delete object");
    if (rv != CKR_OK)
        return rv;
    s = stmt(c, "INSERT OR REPLACE INTO gone(id, slot, rev) VALUES (?, ?, ?)");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)oid);
    sqlite3_bind_int64(s, 2, slot);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)rev);
    return step_done(c, s, "record deletion");
}

CK_RV vuicc_card_objects_wipe(vuicc_card *c, uint32_t slot, uint64_t *freed)
{
    sqlite3_stmt *s = stmt(c, "SELECT COALESCE(SUM(size), 0) FROM object WHERE slot = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    int rc = sqlite3_step(s);
    *freed = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return vuicc_sqlite_rv(c, rc, "sum objects");
    s = stmt(c, "DELETE FROM object WHERE slot = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    CK_RV rv = step_done(c, s, "wipe objects");
    if (rv != CKR_OK)
        return rv;
    s = stmt(c, "DELETE FROM gone WHERE slot = ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    return step_done(c, s, "wipe deletions");
}

CK_RV vuicc_card_prune(vuicc_card *c, uint64_t below)
{
    sqlite3_stmt *s = stmt(c, "DELETE FROM gone WHERE rev <= ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)below);
    return step_done(c, s, "prune deletions");
}

CK_RV vuicc_card_objects_since(vuicc_card *c, uint32_t slot, uint64_t since,
                               vuicc_object_fn fn, void *ctx)
{
    sqlite3_stmt *s = stmt(c, "SELECT id, attrs FROM object WHERE slot = ? AND rev > ? ORDER BY id");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)since);
    int rc;
    CK_RV rv = CKR_OK;
    while (rv == CKR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *blob = sqlite3_column_blob(s, 1);
        int len = sqlite3_column_bytes(s, 1);
        rv = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), blob, len > 0 ? (size_t)len : 0);
    }
    if (rv == CKR_OK && rc != SQLITE_DONE)
        rv = vuicc_sqlite_rv(c, rc, "read objects");
    sqlite3_reset(s);
    return rv;
}

CK_RV vuicc_card_gone_since(vuicc_card *c, uint32_t slot, uint64_t since,
                            vuicc_gone_fn fn, void *ctx)
{
    sqlite3_stmt *s = stmt(c, "SELECT id FROM gone WHERE slot = ? AND rev > ?");
    if (s == NULL)
        return CKR_DEVICE_ERROR;
    sqlite3_bind_int64(s, 1, slot);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)since);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(ctx, (uint64_t)sqlite3_column_int64(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? CKR_OK : vuicc_sqlite_rv(c, rc, "read deletions");
}
