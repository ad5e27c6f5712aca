/*
 * Talking to the card in a reader: connecting once per insertion,
 * finding the PKCS#15 application (EF(DIR), else SELECT by AID), reading
 * its structure (ODF, TokenInfo, the directory files it names) and the
 * values of its objects. A card reset by another application is noticed
 * here: the login is gone and the application is selected again.
 */
#include "pcsc-token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_OK 0x9000

static const uint8_t EF_DIR[] = { 0x3F, 0x00, 0x2F, 0x00 };
static const dmsc_p15_path ODF_PATH = { .path = { 0x50, 0x31 }, .len = 2 };
static const dmsc_p15_path TOKENINFO_PATH = { .path = { 0x50, 0x32 }, .len = 2 };

void pcsc_trace_sw(const char *what, uint16_t sw)
{
    dmsc_debug(PCSC_DEBUG, "pcsc: %s: the card answered %04X (%s)", what, sw, dmsc_apdu_sw_text(sw));
}

uint64_t pcsc_presence(const dmsc_btoken *t)
{
    if (t->card == NULL || !t->has_app)
        return 0;
    uint64_t p = (t->insertion << 16) | (t->resets & 0xffff);
    return p != 0 ? p : 1;
}

void pcsc_forget_login(dmsc_btoken *t)
{
    t->user_in = false;
    t->so_in = false;
    dmsc_wipe(t->puk, sizeof(t->puk));
    t->puk_len = 0;
}

void pcsc_model_free(pcsc_model *m)
{
    if (m == NULL)
        return;
    dmsc_p15_tokeninfo_free(&m->ti);
    dmsc_p15_objects_free(&m->objs);
    for (size_t i = 0; i < m->n_obj; i++) {
        if (m->obj[i].value != NULL)
            dmsc_wipe(m->obj[i].value, m->obj[i].value_len);
        free(m->obj[i].value);
    }
    free(m->obj);
    free(m->data_dodf);
    free(m->dodfs);
    for (size_t i = 0; i < m->n_dodfs; i++)
        free(m->dodf_raw[i]);
    free(m->dodf_raw);
    free(m->dodf_len);
    free(m->dodf_cap);
    free(m);
}

void pcsc_card_drop(dmsc_btoken *t)
{
    if (t->card != NULL)
        dmsc_card_disconnect(t->card);
    t->card = NULL;
    t->card_drops++;
    pcsc_model_free(t->model);
    t->model = NULL;
    pcsc_forget_login(t);
    t->probed = false;
    t->has_app = false;
    t->in_app = false;
    t->have_app_path = false;
    t->gen++;
}

CK_RV pcsc_select_app(dmsc_btoken *t, uint16_t *sw)
{
    size_t size;
    CK_RV rv = CKR_OK;
    *sw = 0;
    if (t->have_app_path)
        rv = dmsc_iso_select_path(t->card, t->app_path.path, t->app_path.len, &size, sw);
    if (rv == CKR_OK && *sw != SW_OK)
        rv = dmsc_iso_select_aid(t->card, DMSC_P15_AID, sizeof(DMSC_P15_AID), sw);
    t->in_app = rv == CKR_OK && *sw == SW_OK;
    return rv;
}

static bool is_absolute(const dmsc_p15_path *p)
{
    return p->len >= 2 && p->path[0] == 0x3F && p->path[1] == 0x00;
}

bool pcsc_path_reachable(const dmsc_p15_path *p)
{
    return !p->has_range || dmsc_iso_binary_reaches(p->index, p->length);
}

CK_RV pcsc_select(dmsc_btoken *t, const dmsc_p15_path *p, size_t *size, uint16_t *sw)
{
    CK_RV rv;
    if (p->len < 2 || p->len % 2 != 0) {
        *sw = 0x6A82; /* no file has that path */
        return CKR_OK;
    }
    if (!is_absolute(p) && !t->in_app) {
        if ((rv = pcsc_select_app(t, sw)) != CKR_OK || *sw != SW_OK)
            return rv;
    }
    rv = dmsc_iso_select_path(t->card, p->path, p->len, size, sw);
    /* Selecting an EF of the application keeps it the current DF; a
     * longer or absolute path may leave another DF current. */
    t->in_app = t->in_app && rv == CKR_OK && !is_absolute(p) && p->len == 2;
    return rv;
}

CK_RV pcsc_read_path(dmsc_btoken *t, const dmsc_p15_path *p, size_t max, unsigned char **out, size_t *len,
                     uint16_t *sw)
{
    *out = NULL;
    *len = 0;
    size_t size = 0;
    CK_RV rv;
    if (!p->has_range) {
        if (p->len < 2 || p->len % 2 != 0) {
            *sw = 0x6A82;
            return CKR_OK;
        }
        if (!is_absolute(p) && !t->in_app) {
            if ((rv = pcsc_select_app(t, sw)) != CKR_OK || *sw != SW_OK)
                return rv;
        }
        uint8_t *buf = NULL;
        rv = dmsc_iso_read_ef(t->card, p->path, p->len, max, &buf, len, sw);
        t->in_app = t->in_app && rv == CKR_OK && !is_absolute(p) && p->len == 2;
        if (rv == CKR_OK && *sw == SW_OK)
            *out = buf;
        else
            free(buf);
        return rv;
    }
    if (!pcsc_path_reachable(p)) {
        /* READ BINARY cannot name those offsets: the card is never asked. */
        dmsc_debug(PCSC_DEBUG, "pcsc: a path names bytes %lu..%lu, past the offset %u READ BINARY reaches",
                   (unsigned long)p->index, (unsigned long)p->index + p->length, DMSC_ISO_MAX_OFFSET);
        *sw = 0x6B00; /* wrong offset, as a card would say */
        return CKR_OK;
    }
    if (p->length > max)
        return CKR_DEVICE_MEMORY;
    if ((rv = pcsc_select(t, p, &size, sw)) != CKR_OK || *sw != SW_OK)
        return rv;
    if (size != 0 && ((uint64_t)p->index + p->length > size)) {
        dmsc_debug(PCSC_DEBUG, "pcsc: a path names bytes %u..%u of an EF of %zu bytes", (unsigned)p->index,
                   (unsigned)(p->index + p->length), size);
        *sw = 0x6B00; /* wrong offset, as a card would say */
        return CKR_OK;
    }
    unsigned char *buf = malloc(p->length ? p->length : 1);
    if (buf == NULL)
        return CKR_HOST_MEMORY;
    size_t off = 0;
    while (off < p->length) {
        size_t chunk = p->length - off < 256 ? p->length - off : 256;
        size_t got = 0;
        rv = dmsc_iso_read_binary(t->card, p->index + off, chunk, buf + off, &got, sw);
        if (rv != CKR_OK || *sw != SW_OK || got == 0) {
            if (rv == CKR_OK && *sw == SW_OK)
                *sw = 0x6282; /* end of file before the length */
            free(buf);
            return rv;
        }
        off += got;
    }
    *out = buf;
    *len = p->length;
    return CKR_OK;
}

CK_RV pcsc_card_failed(dmsc_btoken *t, CK_RV rv)
{
    if (rv == DMSC_CKR_CARD_RESET) {
        /* Another application reset the card: every PIN verified and the
         * selected DF are gone. The module's login follows at next sync. */
        dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: the card was reset; logged out", t->index);
        t->resets++;
        pcsc_forget_login(t);
        t->tell_logged_out = true;
        t->in_app = false;
        t->gen++;
        uint16_t sw = 0;
        CK_RV rv2 = pcsc_select_app(t, &sw);
        if (rv2 == DMSC_CKR_CARD_RESET || rv2 == CKR_DEVICE_REMOVED)
            return pcsc_card_failed(t, rv2 == DMSC_CKR_CARD_RESET ? CKR_DEVICE_ERROR : rv2);
        if (rv2 != CKR_OK)
            return rv2;
        if (sw != SW_OK) {
            pcsc_trace_sw("selecting the PKCS#15 application after a reset", sw);
            return CKR_DEVICE_ERROR;
        }
        return CKR_OK;
    }
    if (rv == CKR_DEVICE_REMOVED)
        pcsc_card_drop(t);
    return rv;
}

/* fn in one card transaction: no other application's commands come
 * between ours. Between two transactions another application (or a reset
 * the card did not report) may have made any DF current: the application
 * is selected again before a relative path is used. */
static CK_RV run_in_transaction(dmsc_btoken *t, CK_RV (*fn)(dmsc_btoken *t, void *ctx), void *ctx)
{
    dmsc_card *card = t->card;
    uint64_t drops = t->card_drops;
    CK_RV rv = dmsc_card_begin(card);
    if (rv != CKR_OK)
        return rv;
    t->in_app = false;
    rv = fn(t, ctx);
    /* fn may have dropped the card (freed it, and a new connection may
     * even sit at the same address): a counter tells, never comparing
     * a pointer that may be freed. */
    if (t->card_drops == drops)
        dmsc_card_end(card);
    return rv;
}

CK_RV pcsc_card_run(dmsc_btoken *t, CK_RV (*fn)(dmsc_btoken *t, void *ctx), void *ctx)
{
    if (t->card == NULL)
        return CKR_TOKEN_NOT_PRESENT;
    CK_RV rv = run_in_transaction(t, fn, ctx);
    if (rv == DMSC_CKR_CARD_RESET) {
        rv = pcsc_card_failed(t, rv);
        if (rv == CKR_OK)
            rv = run_in_transaction(t, fn, ctx);
    }
    if (rv == DMSC_CKR_CARD_RESET || rv == CKR_DEVICE_REMOVED) {
        CK_RV rv2 = pcsc_card_failed(t, rv);
        /* Reset twice in a row: say the card misbehaves, never the
         * vendor code (it is not for applications). */
        rv = rv == CKR_DEVICE_REMOVED ? rv : (rv2 == CKR_OK ? CKR_DEVICE_ERROR : rv2);
    }
    return rv;
}

/* ---- finding the application ---- */

/* EF(DIR): transparent on some cards, linear fixed (records) on a UICC. */
static CK_RV find_app_path(dmsc_btoken *t, void *ctx)
{
    (void)ctx;
    uint16_t sw = 0;
    uint8_t *dir = NULL;
    size_t len = 0;
    char err[256];
    t->have_app_path = false;
    CK_RV rv = dmsc_iso_read_ef(t->card, EF_DIR, sizeof(EF_DIR), PCSC_MAX_DIR, &dir, &len, &sw);
    if (rv == CKR_DEVICE_MEMORY)
        rv = CKR_OK; /* a huge EF(DIR): select by AID */
    if (rv != CKR_OK) {
        free(dir);
        return rv;
    }
    if (sw == SW_OK) {
        t->have_app_path = dmsc_p15_parse_dir(dir, len, &t->app_path, err, sizeof(err)) == 0;
        if (!t->have_app_path)
            dmsc_debug(PCSC_DEBUG, "pcsc: EF(DIR) as one file: %s", err);
    }
    free(dir);
    if (!t->have_app_path && (sw == SW_OK || sw == 0x6981 || sw == 0x6986)) {
        /* Records: the EF is still selected when READ BINARY was refused
         * (6981/6986); after a whole read, select it again. */
        size_t size;
        if (sw == SW_OK && (rv = dmsc_iso_select_path(t->card, EF_DIR, sizeof(EF_DIR), &size, &sw)) != CKR_OK)
            return rv;
        for (uint8_t rec = 1; rec <= 16 && !t->have_app_path; rec++) {
            uint8_t buf[256];
            size_t got = 0;
            if ((rv = dmsc_iso_read_record(t->card, rec, buf, sizeof(buf), &got, &sw)) != CKR_OK)
                return rv;
            if (sw != SW_OK)
                break;
            t->have_app_path = dmsc_p15_parse_dir(buf, got, &t->app_path, err, sizeof(err)) == 0;
        }
    }
    if (t->have_app_path && !is_absolute(&t->app_path)) {
        /* EF(DIR) paths are from the MF. */
        if (t->app_path.len + 2 > DMSC_P15_MAX_PATH) {
            t->have_app_path = false;
        } else {
            memmove(t->app_path.path + 2, t->app_path.path, t->app_path.len);
            t->app_path.path[0] = 0x3F;
            t->app_path.path[1] = 0x00;
            t->app_path.len += 2;
        }
    }
    if (t->have_app_path && t->app_path.len <= 2)
        t->have_app_path = false; /* the MF itself is no application DF */
    rv = pcsc_select_app(t, &sw);
    if (rv == CKR_OK)
        t->has_app = sw == SW_OK;
    if (rv == CKR_OK && !t->has_app)
        dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: no PKCS#15 application on the card (%04X)", t->index, sw);
    return rv;
}

CK_RV pcsc_card_probe(dmsc_btoken *t, const dmsc_reader_state *rs)
{
    if (t->card != NULL && t->insertion == rs->insertions && t->probed)
        return CKR_OK;
    if (t->card != NULL)
        pcsc_card_drop(t);
    t->insertion = rs->insertions;
    t->resets = 0;
    /* Another card (or the same one again): the most tries seen were the
     * last card's, and its maximum may be larger than this one's. */
    t->user_tries_max = t->so_tries_max = -1;
    t->probed = false;
    t->has_app = false;
    CK_RV rv = dmsc_card_connect(t->be->pcsc, t->index, &t->card);
    if (rv != CKR_OK) {
        t->card = NULL;
        dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: cannot connect to the card (%s)", t->index, dmsc_rv_name(rv));
        return CKR_TOKEN_NOT_PRESENT;
    }
    rv = pcsc_card_run(t, find_app_path, NULL);
    if (rv == CKR_DEVICE_REMOVED)
        return CKR_TOKEN_NOT_PRESENT;
    if (rv != CKR_OK)
        return rv;
    t->probed = true;
    t->gen++;
    return CKR_OK;
}

/* ---- the structure ---- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static bool oid_taken(const pcsc_model *m, uint64_t oid)
{
    for (size_t i = 0; i < m->n_obj; i++)
        if (m->obj[i].oid == oid)
            return true;
    return false;
}

/* Unique in the model and never 0 (0 means "no store id" to the module). */
static uint64_t unique_oid(const pcsc_model *m, uint64_t h)
{
    while (h == 0 || oid_taken(m, h))
        h++;
    return h;
}

uint64_t pcsc_data_oid(const pcsc_model *m, const dmsc_p15_data *d)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, "data", 5);
    h = hash_str(h, d->app_name);
    h = hash_str(h, d->c.label);
    h = fnv1a(h, d->oid, d->oid_len);
    return unique_oid(m, h);
}

static uint64_t key_oid(const pcsc_model *m, const char *kind, const dmsc_p15_common *c)
{
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, kind, strlen(kind) + 1);
    h = fnv1a(h, c->id, c->id_len);
    h = hash_str(h, c->label);
    h = fnv1a(h, c->path.path, c->path.len);
    return unique_oid(m, h);
}

bool pcsc_data_is_spare(const dmsc_p15_data *d)
{
    return d->app_name != NULL && strcmp(d->app_name, DMSC_P15_SPARE_APP) == 0;
}

bool pcsc_data_is_bootstrap(const dmsc_p15_data *d)
{
    return d->oid_len == sizeof(DMSC_P15_DM_BOOTSTRAP_OID) &&
           memcmp(d->oid, DMSC_P15_DM_BOOTSTRAP_OID, d->oid_len) == 0;
}

bool pcsc_data_is_mo(const dmsc_p15_data *d)
{
    return d->app_name != NULL && strcmp(d->app_name, DMSC_P15_MO_APP) == 0 && !pcsc_data_is_bootstrap(d);
}

pcsc_obj *pcsc_obj_find(dmsc_btoken *t, uint64_t oid)
{
    if (t->model == NULL)
        return NULL;
    for (size_t i = 0; i < t->model->n_obj; i++)
        if (t->model->obj[i].oid == oid)
            return &t->model->obj[i];
    return NULL;
}

static CK_RV add_obj(pcsc_model *m, pcsc_obj_kind kind, size_t index, uint64_t oid)
{
    pcsc_obj *o = realloc(m->obj, (m->n_obj + 1) * sizeof(*o));
    if (o == NULL)
        return CKR_HOST_MEMORY;
    m->obj = o;
    m->obj[m->n_obj++] = (pcsc_obj){ .oid = oid, .kind = kind, .index = index };
    return CKR_OK;
}

static const char *kind_name(dmsc_p15_df_kind k)
{
    switch (k) {
    case DMSC_P15_PRKDF: return "PrKDF";
    case DMSC_P15_PUKDF: return "PuKDF";
    case DMSC_P15_PUKDF_TRUSTED: return "PuKDF (trusted)";
    case DMSC_P15_CDF: return "CDF";
    case DMSC_P15_CDF_TRUSTED: return "CDF (trusted)";
    case DMSC_P15_CDF_USEFUL: return "CDF (useful)";
    case DMSC_P15_DODF: return "DODF";
    case DMSC_P15_AODF: return "AODF";
    }
    return "?";
}

/* Takes der: the DODF's bytes, compared before a write (p15-write.c). */
static CK_RV add_dodf(pcsc_model *m, const dmsc_p15_path *p, unsigned char *der, size_t len, size_t cap)
{
    size_t n = m->n_dodfs + 1;
    unsigned char **raw = realloc(m->dodf_raw, n * sizeof(*raw));
    if (raw == NULL) {
        free(der);
        return CKR_HOST_MEMORY;
    }
    m->dodf_raw = raw;
    m->dodf_raw[m->n_dodfs] = der;
    dmsc_p15_path *paths = realloc(m->dodfs, n * sizeof(*paths));
    if (paths != NULL)
        m->dodfs = paths;
    size_t *lens = realloc(m->dodf_len, n * sizeof(*lens));
    if (lens != NULL)
        m->dodf_len = lens;
    size_t *caps = realloc(m->dodf_cap, n * sizeof(*caps));
    if (caps != NULL)
        m->dodf_cap = caps;
    if (paths == NULL || lens == NULL || caps == NULL) {
        free(der);
        m->dodf_raw[m->n_dodfs] = NULL;
        return CKR_HOST_MEMORY;
    }
    m->dodfs[m->n_dodfs] = *p;
    m->dodf_len[m->n_dodfs] = len;
    m->dodf_cap[m->n_dodfs] = cap;
    m->n_dodfs = n;
    return CKR_OK;
}

/* Read one directory file the ODF names into the model. A file that
 * cannot be read or parsed is left out (traced): the rest still shows. */
static CK_RV read_df(dmsc_btoken *t, pcsc_model *m, const dmsc_p15_odf_entry *e)
{
    uint16_t sw = 0;
    unsigned char *der = NULL;
    size_t len = 0, cap = 0;
    char err[256];
    CK_RV rv;
    if (e->kind == DMSC_P15_DODF && !e->path.has_range) {
        /* Its EF's size bounds a rewritten DODF. */
        if ((rv = pcsc_select(t, &e->path, &cap, &sw)) != CKR_OK)
            return rv;
    }
    rv = pcsc_read_path(t, &e->path, PCSC_MAX_DF, &der, &len, &sw);
    if (rv == CKR_DEVICE_MEMORY) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the %s is larger than %u bytes: left out", kind_name(e->kind), PCSC_MAX_DF);
        m->df_left_out = true; /* its objects' bytes are unknown: a write keeps off any */
        return CKR_OK;
    }
    if (rv != CKR_OK)
        return rv;
    if (sw != SW_OK) {
        pcsc_trace_sw(kind_name(e->kind), sw);
        m->df_left_out = true;
        return CKR_OK;
    }
    if (e->kind == DMSC_P15_DODF && pcsc_dodf_torn(der, len)) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the DODF starts with 00 but holds data: a write of it by an older version "
                   "was cut (the card taken out or powered off mid-write); its objects are left out, the rest of "
                   "the token is shown: the issuer must rewrite the DODF");
        m->df_left_out = true;
        free(der);
        return CKR_OK;
    }
    size_t before = m->objs.n_data;
    if (dmsc_p15_parse_df(e->kind, der, len, &m->objs, err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the %s is left out: %s", kind_name(e->kind), err);
        m->df_left_out = true;
        free(der);
        return CKR_OK;
    }
    if (e->kind != DMSC_P15_DODF) {
        free(der);
        return CKR_OK;
    }
    size_t *dd = realloc(m->data_dodf, (m->objs.n_data ? m->objs.n_data : 1) * sizeof(*dd));
    if (dd == NULL) {
        free(der);
        return CKR_HOST_MEMORY;
    }
    m->data_dodf = dd;
    for (size_t i = before; i < m->objs.n_data; i++)
        m->data_dodf[i] = m->n_dodfs;
    return add_dodf(m, &e->path, der, len, e->path.has_range ? e->path.length : cap);
}

static CK_RV load_model(dmsc_btoken *t, void *ctx)
{
    (void)ctx;
    pcsc_model *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return CKR_HOST_MEMORY;
    uint16_t sw = 0;
    unsigned char *der = NULL;
    size_t len = 0;
    char err[256];
    dmsc_p15_odf_entry *odf = NULL;
    size_t n_odf = 0;
    CK_RV rv = pcsc_select_app(t, &sw);
    if (rv == CKR_OK && sw != SW_OK) {
        pcsc_trace_sw("selecting the PKCS#15 application", sw);
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    }
    /* TokenInfo: the label and serial number. */
    if (rv == CKR_OK)
        rv = pcsc_read_path(t, &TOKENINFO_PATH, PCSC_MAX_DF, &der, &len, &sw);
    if (rv == CKR_OK && sw == SW_OK && dmsc_p15_parse_tokeninfo(der, len, &m->ti, err, sizeof(err)) != 0)
        dmsc_debug(PCSC_DEBUG, "pcsc: TokenInfo: %s", err);
    else if (rv == CKR_OK && sw != SW_OK)
        pcsc_trace_sw("reading TokenInfo (5032)", sw);
    free(der);
    der = NULL;
    /* ODF: where the directory files are. */
    if (rv == CKR_OK)
        rv = pcsc_read_path(t, &ODF_PATH, PCSC_MAX_DF, &der, &len, &sw);
    if (rv == CKR_OK && sw != SW_OK) {
        pcsc_trace_sw("reading the ODF (5031)", sw);
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    }
    if (rv == CKR_OK && dmsc_p15_parse_odf(der, len, &odf, &n_odf, err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the ODF: %s", err);
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    }
    free(der);
    for (size_t i = 0; i < n_odf && rv == CKR_OK; i++)
        rv = read_df(t, m, &odf[i]);
    free(odf);
    /* The objects, each with an oid from what names it. */
    for (size_t i = 0; i < m->objs.n_data && rv == CKR_OK; i++)
        rv = add_obj(m, PCSC_OBJ_DATA, i, pcsc_data_oid(m, &m->objs.data[i]));
    for (size_t i = 0; i < m->objs.n_certs && rv == CKR_OK; i++)
        rv = add_obj(m, PCSC_OBJ_CERT, i, key_oid(m, "cert", &m->objs.certs[i].c));
    for (size_t i = 0; i < m->objs.n_pubkeys && rv == CKR_OK; i++)
        rv = add_obj(m, PCSC_OBJ_PUBKEY, i, key_oid(m, "pubkey", &m->objs.pubkeys[i].c));
    for (size_t i = 0; i < m->objs.n_prkeys && rv == CKR_OK; i++)
        rv = add_obj(m, PCSC_OBJ_PRKEY, i, key_oid(m, "prkey", &m->objs.prkeys[i].c));
    if (rv != CKR_OK) {
        pcsc_model_free(m);
        return rv;
    }
    pcsc_model_free(t->model);
    t->model = m;
    t->gen++;
    dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: %zu data objects, %zu certificates, %zu public keys, "
               "%zu private keys, %zu PINs", t->index, m->objs.n_data, m->objs.n_certs, m->objs.n_pubkeys,
               m->objs.n_prkeys, m->objs.n_pins);
    return pcsc_read_values(t);
}

static const dmsc_p15_common *obj_common(const pcsc_model *m, const pcsc_obj *o)
{
    switch (o->kind) {
    case PCSC_OBJ_DATA: return &m->objs.data[o->index].c;
    case PCSC_OBJ_CERT: return &m->objs.certs[o->index].c;
    case PCSC_OBJ_PUBKEY: return &m->objs.pubkeys[o->index].c;
    case PCSC_OBJ_PRKEY: return &m->objs.prkeys[o->index].c;
    }
    return NULL;
}

CK_RV pcsc_read_values(dmsc_btoken *t)
{
    pcsc_model *m = t->model;
    if (m == NULL)
        return CKR_OK;
    for (size_t i = 0; i < m->n_obj; i++) {
        pcsc_obj *o = &m->obj[i];
        if (o->value_read || o->kind == PCSC_OBJ_PRKEY)
            continue;
        const dmsc_p15_common *c = obj_common(m, o);
        if (o->kind == PCSC_OBJ_DATA && pcsc_data_is_spare(&m->objs.data[o->index]))
            continue; /* empty by definition; never shown */
        if (c->private_obj && !t->user_in)
            continue; /* read after login */
        if (!pcsc_path_reachable(&c->path)) {
            /* One bad entry leaves out its object, not the token. */
            dmsc_debug(PCSC_DEBUG, "pcsc: object '%s' is left out: its path names bytes %lu..%lu, past the "
                       "offset %u READ BINARY reaches", c->label ? c->label : "", (unsigned long)c->path.index,
                       (unsigned long)c->path.index + c->path.length, DMSC_ISO_MAX_OFFSET);
            o->value_read = true;
            o->left_out = true;
            continue;
        }
        uint16_t sw = 0;
        unsigned char *v = NULL;
        size_t len = 0;
        CK_RV rv = pcsc_read_path(t, &c->path, PCSC_MAX_VALUE, &v, &len, &sw);
        if (rv == CKR_DEVICE_MEMORY) {
            /* Bigger than we accept, or than READ BINARY's 15-bit offsets
             * reach (an EF of 32769..65536 bytes): either way one object
             * is left out, not the token. The line before gives the size. */
            unsigned most = PCSC_MAX_VALUE < DMSC_ISO_MAX_OFFSET + 1u ? PCSC_MAX_VALUE : DMSC_ISO_MAX_OFFSET + 1u;
            dmsc_debug(PCSC_DEBUG, "pcsc: object '%s' is left out: its value is larger than %u bytes, the most "
                       "that is read (READ BINARY's offsets end at %u)", c->label ? c->label : "", most,
                       DMSC_ISO_MAX_OFFSET);
            o->value_read = true;
            o->left_out = true;
            continue;
        }
        if (rv != CKR_OK)
            return rv;
        if (sw == 0x6982 && !t->user_in)
            continue; /* its EF wants the PIN: read after login */
        o->value_read = true;
        if (sw != SW_OK) {
            /* Refused (or not found): the object is left out rather than
             * shown with an empty value an application would take as its. */
            char what[160];
            snprintf(what, sizeof(what), "reading object '%s' (left out)", c->label ? c->label : "");
            pcsc_trace_sw(what, sw);
            o->left_out = true;
            continue;
        }
        o->value = v;
        o->value_len = len;
        t->gen++;
    }
    return CKR_OK;
}

CK_RV pcsc_card_ready(dmsc_btoken *t)
{
    const dmsc_reader_state *rs = NULL;
    size_t n = 0;
    CK_RV rv = dmsc_pcsc_poll(t->be->pcsc, &rs, &n);
    if (rv != CKR_OK)
        return rv;
    if (t->index >= n || rs[t->index].gone || !rs[t->index].present) {
        if (t->card != NULL)
            pcsc_card_drop(t);
        return CKR_TOKEN_NOT_PRESENT;
    }
    if ((rv = pcsc_card_probe(t, &rs[t->index])) != CKR_OK)
        return rv;
    if (!t->has_app)
        return CKR_TOKEN_NOT_PRESENT;
    if (t->model == NULL)
        rv = pcsc_card_run(t, load_model, NULL);
    if (rv == CKR_DEVICE_REMOVED)
        rv = CKR_TOKEN_NOT_PRESENT;
    return rv;
}
