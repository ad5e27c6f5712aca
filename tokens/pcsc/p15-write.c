/*
 * Writing MOs to the card (GEN-7): only DODF data objects of application
 * "OMA-DM:MO" change; the issuer's objects (bootstrap, keys,
 * certificates) stay as personalised.
 *
 * A new value goes into a spare EF (a DODF entry "OMA-DM:SPARE" naming
 * an empty EF) with UPDATE BINARY; then the DODF is rewritten, last, so
 * that the MO's entry names the new EF and its old EF becomes a spare.
 * A write torn before the DODF leaves the old DODF naming the old, whole
 * MO. Of the DODF only the bytes that change are written: one UPDATE
 * BINARY when they fit one command (a card completes or drops a command
 * as a whole), else first 00 over its first byte, then the rest, then its
 * first byte: a tear in between leaves a DODF that starts with 00 but
 * holds data, which the reader refuses (pcsc_dodf_torn) rather than show
 * a mix of old and new entries.
 *
 * Several objects may share one EF, each with its index/length (PKCS#15
 * allows it): a write never goes outside the range a spare owns, and a
 * released entry keeps its range unless no other entry names its EF.
 */
#include "pcsc-token.h"

#include <stdlib.h>
#include <string.h>

#define SW_OK 0x9000
#define NONE ((size_t)-1)
/* The most data one UPDATE BINARY carries (short APDU: iso7816.c's chunk). */
#define ONE_COMMAND 255

/* What a write command's status word means to the application. */
static CK_RV write_status(const char *what, uint16_t sw)
{
    switch (sw) {
    case SW_OK: return CKR_OK;
    case 0x6982: return CKR_USER_NOT_LOGGED_IN;
    case 0x6985:
    case 0x6986: return CKR_TOKEN_WRITE_PROTECTED;
    case 0x6A84:
    case 0x6B00: return CKR_DEVICE_MEMORY;
    case 0x6D00:
    case 0x6E00:
    case 0x6A81:
        pcsc_trace_sw(what, sw);
        return CKR_FUNCTION_NOT_SUPPORTED;
    default:
        pcsc_trace_sw(what, sw);
        return CKR_DEVICE_ERROR;
    }
}

/* ---- a draft of one DODF ---- */

typedef struct {
    size_t dodf;            /* which DODF of the model */
    dmsc_p15_data *d;       /* its entries, deep copies */
    size_t *map;            /* entry -> the model's data index */
    size_t n;
} draft;

static void data_clear(dmsc_p15_data *d)
{
    free(d->c.label);
    free(d->app_name);
    memset(d, 0, sizeof(*d));
}

static void draft_free(draft *df)
{
    for (size_t i = 0; i < df->n; i++)
        data_clear(&df->d[i]);
    free(df->d);
    free(df->map);
    memset(df, 0, sizeof(*df));
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static CK_RV set_str(char **dst, const char *s)
{
    char *c = dup_or_null(s);
    if (s != NULL && c == NULL)
        return CKR_HOST_MEMORY;
    free(*dst);
    *dst = c;
    return CKR_OK;
}

static CK_RV draft_new(const pcsc_model *m, size_t dodf, draft *df)
{
    memset(df, 0, sizeof(*df));
    df->dodf = dodf;
    size_t n = 0;
    for (size_t i = 0; i < m->objs.n_data; i++)
        n += m->data_dodf[i] == dodf;
    df->d = calloc(n ? n : 1, sizeof(*df->d));
    df->map = calloc(n ? n : 1, sizeof(*df->map));
    if (df->d == NULL || df->map == NULL) {
        draft_free(df);
        return CKR_HOST_MEMORY;
    }
    for (size_t i = 0; i < m->objs.n_data; i++) {
        if (m->data_dodf[i] != dodf)
            continue;
        dmsc_p15_data *d = &df->d[df->n];
        *d = m->objs.data[i];
        d->c.label = dup_or_null(m->objs.data[i].c.label);
        d->app_name = dup_or_null(m->objs.data[i].app_name);
        df->map[df->n++] = i;
        if ((m->objs.data[i].c.label && !d->c.label) || (m->objs.data[i].app_name && !d->app_name)) {
            draft_free(df);
            return CKR_HOST_MEMORY;
        }
    }
    return CKR_OK;
}

static size_t draft_entry(const draft *df, size_t model_index)
{
    for (size_t i = 0; i < df->n; i++)
        if (df->map[i] == model_index)
            return i;
    return NONE;
}

/* ---- which bytes an entry owns ---- */

/* Can two paths name one EF? The last file id decides: a relative and
 * an absolute path to one EF differ before it (so this may say yes for
 * two EFs of one id in different DFs: safe for writing, never no for one). */
static bool same_ef(const dmsc_p15_path *a, const dmsc_p15_path *b)
{
    return a->len >= 2 && b->len >= 2 && memcmp(a->path + a->len - 2, b->path + b->len - 2, 2) == 0;
}

/* Do two paths name overlapping bytes? No range: the whole EF. */
static bool overlap(const dmsc_p15_path *a, const dmsc_p15_path *b)
{
    if (!same_ef(a, b))
        return false;
    if (!a->has_range || !b->has_range)
        return true;
    uint64_t a0 = a->index, a1 = a0 + a->length, b0 = b->index, b1 = b0 + b->length;
    return a0 < b1 && b0 < a1;
}

/* Call fn with the path of every object of the card but self, until it
 * says stop: the draft's entries for its DODF (df NULL: the model's), the
 * other DODFs', keys, certificates, PINs, and the DODFs themselves. True
 * when fn stopped it. */
static bool each_other_path(const pcsc_model *m, const draft *df, const dmsc_p15_data *self,
                            bool (*fn)(const dmsc_p15_path *q, void *ctx), void *ctx)
{
    for (size_t i = 0; df != NULL && i < df->n; i++)
        if (&df->d[i] != self && fn(&df->d[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_data; i++)
        if ((df == NULL || m->data_dodf[i] != df->dodf) && &m->objs.data[i] != self &&
            fn(&m->objs.data[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_certs; i++)
        if (fn(&m->objs.certs[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_pubkeys; i++)
        if (fn(&m->objs.pubkeys[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_prkeys; i++)
        if (fn(&m->objs.prkeys[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_pins; i++)
        if (fn(&m->objs.pins[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->n_dodfs; i++) /* a spare naming a DODF's bytes is no spare */
        if (fn(&m->dodfs[i], ctx))
            return true;
    return false;
}

typedef struct {
    const dmsc_p15_path *p;
    bool whole_ef;
} name_q;

static bool names(const dmsc_p15_path *q, void *ctx)
{
    const name_q *nq = ctx;
    return nq->whole_ef ? same_ef(q, nq->p) : overlap(q, nq->p);
}

/* Does an object other than self name bytes of p (whole_ef: any byte of
 * p's EF)? */
static bool others_name(const pcsc_model *m, const draft *df, const dmsc_p15_data *self, const dmsc_p15_path *p,
                        bool whole_ef)
{
    name_q nq = { .p = p, .whole_ef = whole_ef };
    return each_other_path(m, df, self, names, &nq);
}

/* The free bytes around a range in a shared EF: from the end of the
 * object before it to the start of the one after it (none after: its
 * own end, the EF's size being unknown here). */
typedef struct {
    const dmsc_p15_path *p;
    uint64_t lo, hi;
    bool has_hi, stuck;      /* stuck: another object has no range, or overlaps */
} gap_q;

static bool gap_edge(const dmsc_p15_path *q, void *ctx)
{
    gap_q *g = ctx;
    if (!same_ef(q, g->p))
        return false;
    if (!q->has_range || overlap(q, g->p)) {
        g->stuck = true;
        return true;
    }
    uint64_t q0 = q->index, q1 = q0 + q->length;
    if (q1 <= g->p->index && q1 > g->lo)
        g->lo = q1;
    if (q0 >= (uint64_t)g->p->index + g->p->length && (!g->has_hi || q0 < g->hi)) {
        g->hi = q0;
        g->has_hi = true;
    }
    return false;
}

/* An entry of the draft becomes a spare naming the bytes it named. The
 * next value goes there, never past them: the whole EF when no other
 * object names it, else its range grown to the free bytes around it. */
static CK_RV make_spare(const pcsc_model *m, const draft *df, dmsc_p15_data *d)
{
    CK_RV rv = set_str(&d->app_name, DMSC_P15_SPARE_APP);
    if (rv != CKR_OK)
        return rv;
    free(d->c.label);
    d->c.label = NULL;
    d->c.private_obj = false;
    d->c.modifiable = true;
    d->c.auth_id_len = 0;
    d->c.id_len = 0;
    d->oid_len = 0;
    dmsc_p15_path *p = &d->c.path;
    if (!p->has_range)
        return CKR_OK;
    if (!others_name(m, df, d, p, true)) {
        p->has_range = false;
        p->index = p->length = 0;
        return CKR_OK;
    }
    gap_q g = { .p = p };
    each_other_path(m, df, d, gap_edge, &g);
    uint64_t own_end = (uint64_t)p->index + p->length, reach = DMSC_ISO_MAX_OFFSET + 1;
    uint64_t end = g.has_hi ? g.hi : own_end;
    if (end > reach && own_end <= reach)
        end = reach; /* grown, it stays where UPDATE BINARY reaches */
    if (!g.stuck && end - g.lo <= UINT32_MAX) {
        p->index = (uint32_t)g.lo;
        p->length = (uint32_t)(end - g.lo);
    }
    return CKR_OK;
}

/* ---- what the new value is ---- */

typedef struct {
    const char *label;           /* the node path */
    size_t label_len;
    bool private_obj;
    const uint8_t *oid;
    size_t oid_len;
    const unsigned char *value;
    size_t value_len;
} mo_value;

static CK_RV mo_from_attrs(const dmsc_attrs *a, mo_value *mv, char **label)
{
    memset(mv, 0, sizeof(*mv));
    *label = NULL;
    CK_ULONG klass;
    if (!dmsc_attrs_get_ulong(a, CKA_CLASS, &klass) || klass != CKO_DATA)
        return CKR_FUNCTION_NOT_SUPPORTED; /* a card's keys and certificates are its issuer's */
    const dmsc_attr *app = dmsc_attrs_find(a, CKA_APPLICATION);
    if (app == NULL || app->len != strlen(DMSC_P15_MO_APP) || memcmp(app->value, DMSC_P15_MO_APP, app->len) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: only data objects of application " DMSC_P15_MO_APP " are written to a card");
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    const dmsc_attr *lab = dmsc_attrs_find(a, CKA_LABEL);
    const dmsc_attr *val = dmsc_attrs_find(a, CKA_VALUE);
    const dmsc_attr *oid = dmsc_attrs_find(a, CKA_OBJECT_ID);
    if (lab == NULL || lab->len == 0 || lab->len > 255 || memchr(lab->value, 0, lab->len) != NULL) {
        dmsc_debug(PCSC_DEBUG, "pcsc: an MO needs its node path as CKA_LABEL (1 to 255 bytes)");
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (val == NULL || val->sealed || val->len == 0 || val->len > PCSC_MAX_VALUE) {
        dmsc_debug(PCSC_DEBUG, "pcsc: an MO's value must be 1 to %u bytes", PCSC_MAX_VALUE);
        return val != NULL && val->len > PCSC_MAX_VALUE ? CKR_DEVICE_MEMORY : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (oid != NULL && oid->len > 0 &&
        (oid->len > sizeof(((dmsc_p15_data *)0)->oid) || ((const uint8_t *)oid->value)[0] != 0x06)) {
        dmsc_debug(PCSC_DEBUG, "pcsc: CKA_OBJECT_ID is not a DER OID of at most 32 bytes");
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    *label = strndup(lab->value, lab->len);
    if (*label == NULL)
        return CKR_HOST_MEMORY;
    mv->label = *label;
    mv->label_len = lab->len;
    mv->private_obj = dmsc_attrs_is_true(a, CKA_PRIVATE, false);
    mv->oid = oid != NULL ? oid->value : NULL;
    mv->oid_len = oid != NULL ? oid->len : 0;
    mv->value = val->value;
    mv->value_len = val->len;
    return CKR_OK;
}

/* The entry as the MO: label, flags, OID. */
static CK_RV set_mo(dmsc_btoken *t, dmsc_p15_data *d, const mo_value *mv)
{
    CK_RV rv = set_str(&d->app_name, DMSC_P15_MO_APP);
    if (rv == CKR_OK)
        rv = set_str(&d->c.label, mv->label);
    if (rv != CKR_OK)
        return rv;
    d->c.private_obj = mv->private_obj;
    d->c.modifiable = true;
    d->c.auth_id_len = 0;
    const dmsc_p15_pin *pin = pcsc_user_pin(t->model);
    if (mv->private_obj && pin != NULL) {
        memcpy(d->c.auth_id, pin->c.auth_id, pin->c.auth_id_len);
        d->c.auth_id_len = pin->c.auth_id_len;
    }
    if (mv->oid_len > 0)
        memcpy(d->oid, mv->oid, mv->oid_len);
    d->oid_len = mv->oid_len;
    return CKR_OK;
}

/* ---- the card ---- */

typedef struct {
    const dmsc_p15_data *d;
    size_t room;
} room_op;

/* The room in a spare: its range, else its EF's size (0: unknown). */
static CK_RV op_room(dmsc_btoken *t, void *ctx)
{
    room_op *ro = ctx;
    const dmsc_p15_data *d = ro->d;
    size_t *room = &ro->room;
    *room = 0;
    if (d->c.path.has_range) {
        /* A range UPDATE BINARY cannot reach holds nothing. */
        *room = pcsc_path_reachable(&d->c.path) ? d->c.path.length : 0;
        return CKR_OK;
    }
    uint16_t sw = 0;
    CK_RV rv = pcsc_select(t, &d->c.path, room, &sw);
    if (rv == CKR_OK && sw != SW_OK)
        *room = 0;
    if (*room > DMSC_ISO_MAX_OFFSET + 1)
        *room = DMSC_ISO_MAX_OFFSET + 1; /* what P1-P2 offsets reach */
    return rv;
}

typedef struct {
    const draft *df;
    size_t mo_entry;        /* the MO's entry in the draft */
    const mo_value *mv;
    bool write_value;
    unsigned char *dodf;    /* the encoded DODF, padded */
    size_t dodf_len;
    CK_RV status;           /* from the card's status words */
    bool stale;             /* the card's DODF is not the one read: another application wrote it */
} write_op;

static CK_RV update_at(dmsc_btoken *t, const dmsc_p15_path *p, size_t offset, const unsigned char *v, size_t len,
                       const char *what, CK_RV *status)
{
    size_t size = 0;
    uint16_t sw = 0;
    if (!dmsc_iso_binary_reaches(offset, len)) {
        dmsc_debug(PCSC_DEBUG, "pcsc: %s: bytes %zu..%zu are past the offset %u UPDATE BINARY reaches", what,
                   offset, offset + len, DMSC_ISO_MAX_OFFSET);
        *status = CKR_DEVICE_MEMORY;
        return CKR_OK;
    }
    CK_RV rv = pcsc_select(t, p, &size, &sw);
    if (rv == CKR_OK && sw == SW_OK)
        rv = dmsc_iso_update_binary(t->card, offset, v, len, &sw);
    if (rv == CKR_OK)
        *status = write_status(what, sw);
    return rv;
}

/*
 * The DODF from old (the card's bytes, checked in this transaction) to
 * new: only the bytes that differ. One command when they fit one (the
 * card does it whole or not at all). Else 00 over the first byte, the
 * other changed bytes, the first byte last: cut anywhere in between, the
 * DODF starts with 00 and holds data after it, which pcsc_dodf_torn
 * refuses on the next read, instead of a mix of old and new entries.
 */
static CK_RV write_dodf(dmsc_btoken *t, const dmsc_p15_path *p, const unsigned char *old, size_t old_len,
                        const unsigned char *new, size_t len, CK_RV *status)
{
    size_t first = NONE, last = 0;
    for (size_t i = 0; i < len; i++) {
        if (i < old_len && old[i] == new[i])
            continue;
        if (first == NONE)
            first = i;
        last = i;
    }
    if (first == NONE)
        return CKR_OK;
    size_t base = p->has_range ? p->index : 0;
    if (!dmsc_iso_binary_reaches(base, len)) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the DODF's bytes %zu..%zu are past the offset %u UPDATE BINARY reaches", base,
                   base + len, DMSC_ISO_MAX_OFFSET);
        *status = CKR_DEVICE_MEMORY;
        return CKR_OK;
    }
    size_t size = 0;
    uint16_t sw = 0;
    CK_RV rv = pcsc_select(t, p, &size, &sw);
    if (rv != CKR_OK || sw != SW_OK) {
        if (rv == CKR_OK)
            *status = write_status("SELECT (DODF)", sw);
        return rv;
    }
    if (last - first < ONE_COMMAND || new[0] == 0x00) {
        rv = dmsc_iso_update_binary(t->card, base + first, new + first, last - first + 1, &sw);
        if (rv == CKR_OK)
            *status = write_status("UPDATE BINARY (DODF)", sw);
        return rv;
    }
    static const unsigned char mark = 0x00;
    size_t from = first > 0 ? first : 1;
    rv = dmsc_iso_update_binary(t->card, base, &mark, 1, &sw);
    if (rv == CKR_OK && sw == SW_OK)
        rv = dmsc_iso_update_binary(t->card, base + from, new + from, last - from + 1, &sw);
    if (rv == CKR_OK && sw == SW_OK)
        rv = dmsc_iso_update_binary(t->card, base, new, 1, &sw);
    if (rv == CKR_OK)
        *status = write_status("UPDATE BINARY (DODF)", sw);
    return rv;
}

bool pcsc_dodf_torn(const unsigned char *der, size_t len)
{
    if (len < 2 || der[0] != 0x00)
        return false;
    for (size_t i = 1; i < len; i++)
        if (der[i] != 0x00 && der[i] != 0xFF)
            return true;
    return false;
}

static CK_RV op_write(dmsc_btoken *t, void *ctx)
{
    write_op *op = ctx;
    op->status = CKR_OK;
    /* As op_sign: after a reset the login is gone, whoever verified since. */
    if (!t->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = dmsc_card_begin(t->card);
    if (rv != CKR_OK)
        return rv;
    const dmsc_p15_path *dodf_path = &t->model->dodfs[op->df->dodf];
    /* Inside the transaction: the DODF is still the one this draft
     * comes from, or another application changed the card since. */
    unsigned char *cur = NULL;
    size_t cur_len = 0;
    uint16_t sw = 0;
    rv = pcsc_read_path(t, dodf_path, PCSC_MAX_DF, &cur, &cur_len, &sw);
    if (rv == CKR_OK && sw != SW_OK)
        op->status = write_status("READ BINARY (DODF)", sw);
    else if (rv == CKR_OK && (cur_len != t->model->dodf_len[op->df->dodf] ||
                              (cur_len > 0 && memcmp(cur, t->model->dodf_raw[op->df->dodf], cur_len) != 0))) {
        op->stale = true;
        op->status = CKR_FUNCTION_FAILED;
    }
    free(cur);
    if (rv == CKR_OK && op->status == CKR_OK && op->write_value) {
        /* The draft's MO entry names the spare's EF now, with its range. */
        const dmsc_p15_path *p = &op->df->d[op->mo_entry].c.path;
        rv = update_at(t, p, p->index, op->mv->value, op->mv->value_len, "UPDATE BINARY (the MO's new EF)",
                       &op->status);
    }
    if (rv == CKR_OK && op->status == CKR_OK)
        rv = write_dodf(t, dodf_path, t->model->dodf_raw[op->df->dodf], t->model->dodf_len[op->df->dodf], op->dodf,
                        op->dodf_len, &op->status);
    dmsc_card_end(t->card);
    return rv;
}

/* Best effort: zeros over an MO's old value, once no entry names it. */
static CK_RV op_wipe(dmsc_btoken *t, void *ctx)
{
    const dmsc_p15_path *p = ctx;
    size_t size = 0;
    uint16_t sw = 0;
    CK_RV rv = pcsc_select(t, p, &size, &sw);
    size_t len = p->has_range ? p->length : size;
    if (rv != CKR_OK || sw != SW_OK || len == 0 || len > PCSC_MAX_VALUE)
        return rv;
    unsigned char *zero = calloc(1, len);
    if (zero == NULL)
        return CKR_HOST_MEMORY;
    rv = dmsc_iso_update_binary(t->card, p->has_range ? p->index : 0, zero, len, &sw);
    free(zero);
    return rv;
}

/* Install a written draft as the model's entries; takes dodf, the DODF's bytes now. */
static void commit(dmsc_btoken *t, draft *df, unsigned char *dodf, size_t dodf_len)
{
    pcsc_model *m = t->model;
    for (size_t i = 0; i < df->n; i++) {
        data_clear(&m->objs.data[df->map[i]]);
        m->objs.data[df->map[i]] = df->d[i];
        memset(&df->d[i], 0, sizeof(df->d[i]));
    }
    free(m->dodf_raw[df->dodf]);
    m->dodf_raw[df->dodf] = dodf;
    m->dodf_len[df->dodf] = dodf_len;
    t->gen++;
}

static pcsc_obj *data_obj(pcsc_model *m, size_t index)
{
    if (m == NULL)
        return NULL; /* the card went away: its model is gone */
    for (size_t i = 0; i < m->n_obj; i++)
        if (m->obj[i].kind == PCSC_OBJ_DATA && m->obj[i].index == index)
            return &m->obj[i];
    return NULL;
}

static void set_value(pcsc_obj *o, unsigned char *v, size_t len)
{
    if (o->value != NULL)
        dmsc_wipe(o->value, o->value_len);
    free(o->value);
    o->value = v;
    o->value_len = len;
    o->value_read = true;
    o->left_out = false; /* what was just written is what it holds */
}

/*
 * The one write path. mo: the model's index of the MO (NONE: a new one);
 * mv: its new state (NULL: destroy). On success *index is the model's
 * index of the MO's entry.
 */
static CK_RV write_mo(dmsc_btoken *t, size_t mo, const mo_value *mv, size_t *index, bool *stale)
{
    *stale = false;
    pcsc_model *m = t->model;
    if (m->ti.flags & 1u)
        return CKR_TOKEN_WRITE_PROTECTED; /* TokenInfo: readonly */
    if (m->n_dodfs == 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the card has no DODF to write MOs into");
        return CKR_DEVICE_MEMORY;
    }
    bool write_value = mv != NULL && (mo == NONE || data_obj(m, mo) == NULL ||
                                      data_obj(m, mo)->value_len != mv->value_len ||
                                      memcmp(data_obj(m, mo)->value, mv->value, mv->value_len) != 0);
    /* The smallest spare with room, in the MO's DODF (a new MO: any). */
    size_t spare = NONE, best = 0;
    CK_RV rv = CKR_OK;
    /* rv first: a card found gone frees the model m points to. */
    for (size_t i = 0; rv == CKR_OK && write_value && i < m->objs.n_data; i++) {
        const dmsc_p15_data *d = &m->objs.data[i];
        if (!pcsc_data_is_spare(d) || (mo != NONE && m->data_dodf[i] != m->data_dodf[mo]))
            continue;
        if (others_name(m, NULL, d, &d->c.path, false)) {
            /* A spare owns its bytes alone, or writing it would overwrite another object. */
            dmsc_debug(PCSC_DEBUG, "pcsc: a spare's bytes are named by another object of the card too: not used");
            continue;
        }
        room_op ro = { .d = d };
        rv = pcsc_card_run(t, op_room, &ro);
        size_t room = ro.room;
        if (rv == CKR_OK && room >= mv->value_len && (spare == NONE || room < best)) {
            spare = i;
            best = room;
        }
    }
    if (rv != CKR_OK)
        return rv;
    if (write_value && spare == NONE) {
        dmsc_debug(PCSC_DEBUG, "pcsc: no spare EF holds %zu bytes: the MO is not written", mv->value_len);
        return CKR_DEVICE_MEMORY;
    }
    size_t dodf = mo != NONE ? m->data_dodf[mo] : m->data_dodf[spare == NONE ? 0 : spare];
    draft df;
    if ((rv = draft_new(m, dodf, &df)) != CKR_OK)
        return rv;
    size_t e_mo = mo != NONE ? draft_entry(&df, mo) : NONE;
    size_t e_spare = spare != NONE ? draft_entry(&df, spare) : NONE;
    dmsc_p15_path old_path = {0};
    size_t old_owner = NONE; /* the draft's entry that owns the old value's bytes afterwards */
    if (mv == NULL) {
        /* Destroy: the entry becomes a spare. */
        old_path = df.d[e_mo].c.path;
        old_owner = e_mo;
        rv = make_spare(m, &df, &df.d[e_mo]);
    } else if (!write_value) {
        rv = set_mo(t, &df.d[e_mo], mv);
    } else {
        /* The new value goes at the start of the spare's bytes (it fits: room). */
        dmsc_p15_path room = df.d[e_spare].c.path;
        dmsc_p15_path to = room;
        to.has_range = true;
        to.index = room.has_range ? room.index : 0;
        to.length = (uint32_t)mv->value_len;
        if (e_mo == NONE) {
            e_mo = e_spare; /* the spare's entry becomes the MO */
            df.d[e_mo].c.path = to;
        } else {
            /* Swap: the MO's entry takes the spare's bytes, the spare the
             * old ones (the MO's entry first: it no longer names them). */
            old_path = df.d[e_mo].c.path;
            old_owner = e_spare;
            df.d[e_mo].c.path = to;
            df.d[e_spare].c.path = old_path;
            rv = make_spare(m, &df, &df.d[e_spare]);
        }
        if (rv == CKR_OK)
            rv = set_mo(t, &df.d[e_mo], mv);
    }
    unsigned char *der = NULL;
    size_t der_len = 0;
    char err[256];
    if (rv == CKR_OK && dmsc_p15_encode_dodf(df.d, df.n, &der, &der_len, err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the new DODF cannot be encoded: %s", err);
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    }
    /* The DODF must fit its EF; the old one's tail is overwritten with 00 (it ends a directory file). */
    size_t cap = m->dodf_cap[dodf] ? m->dodf_cap[dodf] : m->dodf_len[dodf];
    if (rv == CKR_OK && der_len > cap) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the new DODF needs %zu bytes, its EF has %zu", der_len, cap);
        rv = CKR_DEVICE_MEMORY;
    }
    size_t padded = der_len > m->dodf_len[dodf] ? der_len : m->dodf_len[dodf];
    if (padded > cap)
        padded = cap;
    unsigned char *buf = NULL, *copy = NULL;
    if (rv == CKR_OK && (buf = calloc(1, padded ? padded : 1)) == NULL)
        rv = CKR_HOST_MEMORY;
    /* Before the card changes: after it, nothing may fail. */
    if (rv == CKR_OK && write_value && (copy = malloc(mv->value_len)) == NULL)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK) {
        memcpy(buf, der, der_len);
        write_op op = { .df = &df, .mo_entry = e_mo, .mv = mv,
                        .write_value = write_value, .dodf = buf, .dodf_len = padded };
        rv = pcsc_card_run(t, op_write, &op);
        if (rv == CKR_OK)
            rv = op.status;
        if (rv == CKR_USER_NOT_LOGGED_IN)
            pcsc_check_login(t);
        *stale = op.stale;
    }
    free(der);
    if (rv != CKR_OK) {
        free(buf);
        free(copy);
        draft_free(&df);
        return rv;
    }
    size_t mo_index = df.map[e_mo];
    size_t old_index = old_owner != NONE ? df.map[old_owner] : NONE;
    commit(t, &df, buf, padded);
    draft_free(&df);
    pcsc_obj *o = data_obj(m, mo_index);
    if (o != NULL && mv != NULL) {
        if (write_value) {
            memcpy(copy, mv->value, mv->value_len);
            set_value(o, copy, mv->value_len);
        }
        if (mo == NONE) {
            o->oid = 0; /* the spare's: not a name to keep */
            o->oid = pcsc_data_oid(m, &m->objs.data[mo_index]);
        }
    }
    if (mv == NULL && o != NULL)
        set_value(o, NULL, 0);
    if (write_value && mo != NONE) {
        /* The spare that took the old EF has no value to show. */
        pcsc_obj *s = data_obj(m, spare);
        if (s != NULL)
            set_value(s, NULL, 0);
    }
    /* Never over bytes another object names (its EF shared). */
    if (old_index != NONE && t->model != NULL && !others_name(t->model, NULL, &t->model->objs.data[old_index], &old_path, false))
        pcsc_card_run(t, op_wipe, &old_path);
    *index = mo_index;
    return CKR_OK;
}

/* ---- the backend ops ---- */

/* Another application wrote the DODF since it was read: read the card
 * again (the next sync shows what it holds now). */
static CK_RV reread(dmsc_btoken *t)
{
    dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: the DODF changed on the card since it was read: reading it again",
               t->index);
    pcsc_model_free(t->model);
    t->model = NULL;
    t->gen++;
    return pcsc_card_ready(t);
}

/* The MO an oid names, or an error for what may not be written. */
static CK_RV find_mo(dmsc_btoken *t, uint64_t oid, pcsc_obj **out)
{
    pcsc_obj *o = pcsc_obj_find(t, oid);
    if (o == NULL)
        return CKR_OBJECT_HANDLE_INVALID;
    if (o->kind != PCSC_OBJ_DATA || !pcsc_data_is_mo(&t->model->objs.data[o->index]))
        return CKR_ACTION_PROHIBITED; /* the issuer's objects stay as personalised */
    *out = o;
    return CKR_OK;
}

/* create (oid NULL: a new MO), update (mv and oid) or destroy (mv NULL):
 * once more on a card another application changed meanwhile. */
static CK_RV write_retrying(dmsc_btoken *t, const uint64_t *oid, const mo_value *mv, size_t *index)
{
    CK_RV rv = CKR_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        pcsc_obj *o = NULL;
        if (oid != NULL && (rv = find_mo(t, *oid, &o)) != CKR_OK)
            return rv;
        bool stale = false;
        rv = write_mo(t, o != NULL ? o->index : NONE, mv, index, &stale);
        if (!stale)
            return rv;
        if ((rv = reread(t)) != CKR_OK)
            return rv;
        rv = CKR_FUNCTION_FAILED;
    }
    dmsc_debug(PCSC_DEBUG, "pcsc: the card's DODF keeps changing under this write: not written");
    return rv;
}

CK_RV pcsc_create(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored)
{
    dmsc_attrs_init(stored);
    CK_RV rv = pcsc_card_ready(t);
    if (rv != CKR_OK)
        return rv;
    mo_value mv;
    char *label = NULL;
    if ((rv = mo_from_attrs(attrs, &mv, &label)) != CKR_OK)
        return rv;
    size_t index = NONE;
    rv = write_retrying(t, NULL, &mv, &index);
    free(label);
    if (rv != CKR_OK)
        return rv;
    pcsc_obj *o = data_obj(t->model, index);
    if (o == NULL)
        return t->model == NULL ? CKR_DEVICE_REMOVED : CKR_GENERAL_ERROR;
    *oid = o->oid;
    dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: MO written", t->index);
    /* Written: what the card now shows is what the cache keeps. */
    if (pcsc_obj_attrs(t, o, stored) != CKR_OK)
        return dmsc_attrs_copy(stored, attrs);
    return CKR_OK;
}

CK_RV pcsc_update(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    dmsc_attrs_init(stored);
    CK_RV rv = pcsc_card_ready(t);
    pcsc_obj *o = NULL;
    if (rv == CKR_OK)
        rv = find_mo(t, oid, &o);
    if (rv != CKR_OK)
        return rv;
    mo_value mv;
    char *label = NULL;
    if ((rv = mo_from_attrs(attrs, &mv, &label)) != CKR_OK)
        return rv == CKR_FUNCTION_NOT_SUPPORTED ? CKR_ATTRIBUTE_VALUE_INVALID : rv;
    size_t index = NONE;
    rv = write_retrying(t, &oid, &mv, &index);
    free(label);
    if (rv != CKR_OK)
        return rv;
    dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: MO rewritten", t->index);
    o = pcsc_obj_find(t, oid);
    if (o == NULL || pcsc_obj_attrs(t, o, stored) != CKR_OK)
        return dmsc_attrs_copy(stored, attrs);
    return CKR_OK;
}

CK_RV pcsc_destroy(dmsc_btoken *t, uint64_t oid)
{
    CK_RV rv = pcsc_card_ready(t);
    if (rv != CKR_OK)
        return rv;
    size_t index = NONE;
    rv = write_retrying(t, &oid, NULL, &index);
    if (rv == CKR_OK)
        dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: MO removed; its EF is a spare", t->index);
    return rv;
}
