/*
 * Writing MOs to the card (GEN-7): only DODF data objects of application
 * "OMA-DM:MO" change; the issuer's objects (bootstrap, keys,
 * certificates) stay as personalised.
 *
 * A new value goes into a spare EF (a DODF entry "OMA-DM:SPARE" naming
 * an empty EF) with UPDATE BINARY; then the DODF is changed, last. Each
 * DODF command is one UPDATE BINARY of at most 255 bytes, one contiguous
 * run (a card completes or drops a command as a whole), and the DODF
 * after each one parses and shows the old, whole MO or the new one;
 * every entry keeps its place:
 *  - rewrite, two commands: the MO's entry names the new bytes (only its
 *    path changes: same length, so nothing after it moves), then the
 *    spare's entry names the old bytes, as a spare whose filler label
 *    keeps its length. Cut before the first: the old MO; after it: the
 *    new MO (then the old bytes are named by nothing, and the spare names
 *    the MO's bytes: a spare an object overlaps is never used).
 *  - new MO, one command: the spare's entry becomes the MO's; the entries
 *    after it move, so the spare whose run to the DODF's end is shortest
 *    is taken.
 *  - removal, one command: the MO's entry becomes a spare of its length.
 * A write whose DODF change needs a longer command is refused before
 * anything is written (CKR_DEVICE_MEMORY, DMSC_DEBUG=card says why). The
 * old value is zeroed in the same card transaction, after the DODF, where
 * no other object names its bytes. A DODF command that failed midway
 * drops the model: the next call reads what the card holds.
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
 * other DODFs', keys, certificates, PINs, and the DODFs themselves; spare
 * entries only with spares (a spare holds nothing: bytes two spares name
 * are free, and taking them for a value makes the other spare overlap an
 * MO, so unused). True when fn stopped it. */
static bool each_other_path(const pcsc_model *m, const draft *df, const dmsc_p15_data *self, bool spares,
                            bool (*fn)(const dmsc_p15_path *q, void *ctx), void *ctx)
{
    for (size_t i = 0; df != NULL && i < df->n; i++)
        if (&df->d[i] != self && (spares || !pcsc_data_is_spare(&df->d[i])) && fn(&df->d[i].c.path, ctx))
            return true;
    for (size_t i = 0; i < m->objs.n_data; i++)
        if ((df == NULL || m->data_dodf[i] != df->dodf) && &m->objs.data[i] != self &&
            (spares || !pcsc_data_is_spare(&m->objs.data[i])) && fn(&m->objs.data[i].c.path, ctx))
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
 * p's EF; spares: spare entries count too)? */
static bool others_name(const pcsc_model *m, const draft *df, const dmsc_p15_data *self, const dmsc_p15_path *p,
                        bool whole_ef, bool spares)
{
    name_q nq = { .p = p, .whole_ef = whole_ef };
    return each_other_path(m, df, self, spares, names, &nq);
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
 * object names it, else its range grown to the free bytes around it;
 * exact: the range as it was (the card has objects the model left out,
 * whose bytes may lie anywhere around it). */
static CK_RV make_spare(const pcsc_model *m, const draft *df, dmsc_p15_data *d, bool exact)
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
    if (!p->has_range || exact)
        return CKR_OK;
    if (!others_name(m, df, d, p, true, true)) {
        p->has_range = false;
        p->index = p->length = 0;
        return CKR_OK;
    }
    gap_q g = { .p = p };
    each_other_path(m, df, d, true, gap_edge, &g);
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

/* The DER length of one entry as this module encodes it. */
static CK_RV entry_len(const dmsc_p15_data *d, size_t *len)
{
    uint8_t *der = NULL;
    char err[256];
    if (dmsc_p15_encode_dodf(d, 1, &der, len, err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: a DODF entry cannot be encoded: %s", err);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    free(der);
    return CKR_OK;
}

/*
 * Entry e of the draft becomes a spare (make_spare) whose DER has exactly
 * want bytes, the length of the record it replaces: the change then stays
 * inside that record (no entry after it moves), and one UPDATE BINARY
 * makes it. The spare's label is a filler of the length that does it
 * (none, empty, or "spare..." of 1 to 255 bytes: every length is tried,
 * as the DER length fields grow at 128 and 256), with the modifiable
 * flag, else without it (4 bytes less). If nothing fits with the range
 * grown, the exact range is tried. CKR_DEVICE_MEMORY if nothing does.
 */
static CK_RV spare_of_length(const pcsc_model *m, draft *df, size_t e, size_t want)
{
    dmsc_p15_path named = df->d[e].c.path;
    char fill[256];
    for (int exact = m->df_left_out ? 1 : 0; exact < 2; exact++) {
        df->d[e].c.path = named;
        CK_RV rv = make_spare(m, df, &df->d[e], exact != 0);
        for (int mod = 1; mod >= 0 && rv == CKR_OK; mod--) {
            df->d[e].c.modifiable = mod != 0;
            for (int n = -1; rv == CKR_OK && n <= 255; n++) {
                for (int k = 0; k < n; k++)
                    fill[k] = k < 5 ? "spare"[k] : '.';
                fill[n < 0 ? 0 : n] = 0;
                if ((rv = set_str(&df->d[e].c.label, n >= 0 ? fill : NULL)) != CKR_OK)
                    break;
                size_t len = 0;
                if ((rv = entry_len(&df->d[e], &len)) == CKR_OK && len == want)
                    return CKR_OK;
                if (len > want)
                    break; /* longer labels only make it longer */
            }
        }
        if (rv != CKR_OK)
            return rv;
    }
    df->d[e].c.path = named;
    dmsc_debug(PCSC_DEBUG, "pcsc: no spare entry has the %zu bytes of the entry it replaces (a change of the "
               "DODF in one UPDATE BINARY needs it): not written; the issuer can shorten the node path", want);
    return CKR_DEVICE_MEMORY;
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

/* The entry as the MO: label, flags, OID. A public MO's entry rewritten
 * keeps the authId it has (the issuer's PIN for changing it; and the
 * entry keeps its length, so a rewrite changes only its path's bytes). */
static CK_RV set_mo(dmsc_btoken *t, dmsc_p15_data *d, const mo_value *mv)
{
    bool keep_auth = pcsc_data_is_mo(d) && !d->c.private_obj;
    CK_RV rv = set_str(&d->app_name, DMSC_P15_MO_APP);
    if (rv == CKR_OK)
        rv = set_str(&d->c.label, mv->label);
    if (rv != CKR_OK)
        return rv;
    d->c.private_obj = mv->private_obj;
    d->c.modifiable = true;
    if (mv->private_obj || !keep_auth)
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

/* ---- the DODF's states, one UPDATE BINARY apart ---- */

/* The most DODF commands one write sends: the MO's entry, the spare's. */
#define MAX_CMDS 2

/*
 * A write as the DODF's states: state[0] the card's bytes as read, then
 * the bytes after each command, each len bytes (the DODF's DER, then the
 * EF's padding). Each command writes one contiguous run of at most
 * ONE_COMMAND bytes, which a card does whole or not at all: a cut leaves
 * one of the states, and each state parses and shows the old MO or the
 * new one.
 */
typedef struct {
    draft df;                           /* the entries at the end */
    unsigned char *state[MAX_CMDS + 1];
    size_t der_len[MAX_CMDS + 1];       /* the DER in each state (state[0]: as this module encodes it) */
    size_t n_cmds, len;
    size_t at[MAX_CMDS], n[MAX_CMDS];   /* each command: offset in the DODF and bytes (0: none) */
    size_t widest;                      /* the most bytes one command writes */
    size_t e_mo;                        /* the MO's entry (NONE: destroyed) */
    size_t e_old;                       /* the entry naming the old value's bytes afterwards, or NONE */
    dmsc_p15_path old_path;
    bool wipe;                          /* zero the old value: no other object names its bytes */
} plan;

static void plan_free(plan *pl)
{
    draft_free(&pl->df);
    for (size_t i = 0; i <= MAX_CMDS; i++)
        free(pl->state[i]);
    memset(pl, 0, sizeof(*pl));
}

/* The draft as it stands, as the DODF's next state (its DER only). */
static CK_RV add_state(plan *pl)
{
    char err[256];
    uint8_t *der = NULL;
    size_t len = 0;
    if (dmsc_p15_encode_dodf(pl->df.d, pl->df.n, &der, &len, err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the new DODF cannot be encoded: %s", err);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    pl->n_cmds++;
    pl->state[pl->n_cmds] = der;
    pl->der_len[pl->n_cmds] = len;
    return CKR_OK;
}

/*
 * All states padded to one length, and the command between each two: the
 * bytes that differ, first to last. A state's bytes after its DER: 00
 * where the state before had DER (a shorter DODF ends there), else the
 * state before's padding as it was (00 or FF). Refused when the DODF does
 * not fit its EF or a command names bytes UPDATE BINARY cannot reach:
 * before anything is written, the value included.
 */
static CK_RV finish_plan(const pcsc_model *m, size_t dodf, plan *pl)
{
    size_t cap = m->dodf_cap[dodf] ? m->dodf_cap[dodf] : m->dodf_len[dodf];
    size_t len = m->dodf_len[dodf];
    for (size_t k = 1; k <= pl->n_cmds; k++) {
        if (pl->der_len[k] > cap) {
            dmsc_debug(PCSC_DEBUG, "pcsc: the new DODF needs %zu bytes, its EF has %zu: not written", pl->der_len[k],
                       cap);
            return CKR_DEVICE_MEMORY;
        }
        if (pl->der_len[k] > len)
            len = pl->der_len[k];
    }
    pl->len = len;
    for (size_t k = 0; k <= pl->n_cmds; k++) {
        unsigned char *b = realloc(pl->state[k], len ? len : 1);
        if (b == NULL)
            return CKR_HOST_MEMORY;
        pl->state[k] = b;
        size_t have = k == 0 ? m->dodf_len[dodf] : pl->der_len[k];
        for (size_t i = have; i < len; i++)
            b[i] = k == 0 || i < pl->der_len[k - 1] ? 0x00 : pl->state[k - 1][i];
    }
    const dmsc_p15_path *p = &m->dodfs[dodf];
    size_t base = p->has_range ? p->index : 0;
    pl->widest = 0;
    for (size_t k = 0; k < pl->n_cmds; k++) {
        size_t first = NONE, last = 0;
        for (size_t i = 0; i < len; i++) {
            if (pl->state[k][i] == pl->state[k + 1][i])
                continue;
            if (first == NONE)
                first = i;
            last = i;
        }
        pl->at[k] = first == NONE ? 0 : first;
        pl->n[k] = first == NONE ? 0 : last - first + 1;
        if (pl->n[k] > pl->widest)
            pl->widest = pl->n[k];
        if (pl->n[k] > 0 && !dmsc_iso_binary_reaches(base + pl->at[k], pl->n[k])) {
            dmsc_debug(PCSC_DEBUG, "pcsc: the DODF's bytes %zu..%zu are past the offset %u UPDATE BINARY reaches: "
                       "not written", base + pl->at[k], base + pl->at[k] + pl->n[k], DMSC_ISO_MAX_OFFSET);
            return CKR_DEVICE_MEMORY;
        }
    }
    return CKR_OK;
}

/*
 * The plan of one write. mo: the model's MO (NONE: a new one); mv: its
 * new state (NULL: destroy); spare: the model's spare the new value goes
 * into (NONE: no value written), at offset skip of its bytes (0 or 128:
 * how many bytes the range's index takes in DER, to keep the MO's entry
 * as long as it was). Every entry keeps its place in the DODF.
 *  - rewrite: first the MO's entry names the new bytes (same node path,
 *    so most often the same length: the command stays inside the entry),
 *    then the spare's entry names the old bytes, as a spare of the same
 *    length (spare_of_length). A cut between the two leaves the new MO;
 *    its old bytes are then named by nothing (not wiped, not reused) and
 *    the spare names the MO's bytes: it is not used while the MO does.
 *  - new MO: one command, the spare's entry becomes the MO's (its length
 *    changes, so the entries after it move: the run is from it to the
 *    DODF's end).
 *  - removal: one command, the MO's entry becomes a spare of its length.
 *  - other attributes only: one command, the MO's entry rewritten.
 */
static CK_RV make_plan(dmsc_btoken *t, size_t mo, const mo_value *mv, size_t spare, size_t skip, plan *pl)
{
    pcsc_model *m = t->model;
    memset(pl, 0, sizeof(*pl));
    pl->e_mo = pl->e_old = NONE;
    size_t dodf = mo != NONE ? m->data_dodf[mo] : m->data_dodf[spare];
    CK_RV rv = draft_new(m, dodf, &pl->df);
    if (rv != CKR_OK)
        return rv;
    draft *df = &pl->df;
    size_t e_mo = mo != NONE ? draft_entry(df, mo) : NONE;
    size_t e_spare = spare != NONE ? draft_entry(df, spare) : NONE;
    char err[256];
    if (dmsc_p15_encode_dodf(df->d, df->n, &pl->state[0], &pl->der_len[0], err, sizeof(err)) != 0) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the DODF as read cannot be encoded again: %s", err);
        return CKR_DEVICE_ERROR;
    }
    /* The entries as this module encodes them must be the card's bytes
     * (then padding): else the states after it would mix two encodings,
     * and the commands' runs would not be what changes. */
    size_t raw_len = m->dodf_len[dodf];
    bool same = pl->der_len[0] <= raw_len && memcmp(pl->state[0], m->dodf_raw[dodf], pl->der_len[0]) == 0;
    for (size_t i = pl->der_len[0]; same && i < raw_len; i++)
        same = m->dodf_raw[dodf][i] == 0x00 || m->dodf_raw[dodf][i] == 0xFF;
    if (!same) {
        dmsc_debug(PCSC_DEBUG, "pcsc: the card's DODF is not in the DER this module writes (its entries encoded "
                   "otherwise, or data after padding): a change could not be made in one UPDATE BINARY per step: "
                   "not written");
        return CKR_DEVICE_MEMORY;
    }
    /* state[0] is the card's bytes; der_len[0] what the draft encodes to. */
    free(pl->state[0]);
    if ((pl->state[0] = malloc(m->dodf_len[dodf] ? m->dodf_len[dodf] : 1)) == NULL)
        return CKR_HOST_MEMORY;
    memcpy(pl->state[0], m->dodf_raw[dodf], m->dodf_len[dodf]);
    if (mv == NULL) {
        /* Removal: the MO's entry a spare of its bytes. */
        size_t want = 0;
        pl->old_path = df->d[e_mo].c.path;
        pl->e_old = e_mo;
        if ((rv = entry_len(&df->d[e_mo], &want)) == CKR_OK)
            rv = spare_of_length(m, df, e_mo, want);
    } else if (e_spare == NONE) {
        rv = set_mo(t, &df->d[e_mo], mv);
        pl->e_mo = e_mo;
    } else {
        /* The new value at skip in the spare's bytes (it fits: room). */
        dmsc_p15_path room = df->d[e_spare].c.path, to = room;
        to.has_range = true;
        to.index = (room.has_range ? room.index : 0) + (uint32_t)skip;
        to.length = (uint32_t)mv->value_len;
        pl->e_mo = e_mo != NONE ? e_mo : e_spare;
        df->d[pl->e_mo].c.path = to;
        rv = set_mo(t, &df->d[pl->e_mo], mv);
        if (rv == CKR_OK && e_mo != NONE) {
            /* Rewrite: the MO's entry first, then the spare's. */
            size_t want = 0;
            pl->old_path = m->objs.data[mo].c.path;
            pl->e_old = e_spare;
            if ((rv = entry_len(&df->d[e_spare], &want)) == CKR_OK && (rv = add_state(pl)) == CKR_OK) {
                df->d[e_spare].c.path = pl->old_path;
                rv = spare_of_length(m, df, e_spare, want);
            }
        }
    }
    if (rv == CKR_OK)
        rv = add_state(pl);
    /* Never zero bytes another object names (its EF shared). */
    if (rv == CKR_OK && pl->e_old != NONE)
        pl->wipe = !others_name(m, df, &df->d[pl->e_old], &pl->old_path, false, false);
    if (rv == CKR_OK)
        rv = finish_plan(m, dodf, pl);
    return rv;
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
    const plan *pl;
    const mo_value *mv;
    bool write_value;
    CK_RV status;           /* from the card's status words */
    bool stale;             /* the card's DODF is not the one read: another application wrote it */
    bool sent;              /* a DODF command went out: the card may hold any state of the plan */
    CK_RV wipe_rv;          /* the wipe's transport result (the write itself is done) */
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

bool pcsc_dodf_torn(const unsigned char *der, size_t len)
{
    if (len < 2 || der[0] != 0x00)
        return false;
    for (size_t i = 1; i < len; i++)
        if (der[i] != 0x00 && der[i] != 0xFF)
            return true;
    return false;
}

/* Best effort: zeros over an MO's old value, once no entry names it. */
static CK_RV wipe(dmsc_btoken *t, const dmsc_p15_path *p)
{
    size_t size = 0;
    uint16_t sw = 0;
    CK_RV rv = pcsc_select(t, p, &size, &sw);
    size_t len = p->has_range ? p->length : size;
    size_t at = p->has_range ? p->index : 0;
    if (rv != CKR_OK || sw != SW_OK || len == 0 || len > PCSC_MAX_VALUE || !dmsc_iso_binary_reaches(at, len))
        return rv;
    unsigned char *zero = calloc(1, len);
    if (zero == NULL)
        return CKR_HOST_MEMORY;
    rv = dmsc_iso_update_binary(t->card, at, zero, len, &sw);
    free(zero);
    return rv;
}

static CK_RV op_write(dmsc_btoken *t, void *ctx)
{
    write_op *op = ctx;
    const plan *pl = op->pl;
    op->status = CKR_OK;
    /* As op_sign: after a reset the login is gone, whoever verified since. */
    if (!t->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = dmsc_card_begin(t->card);
    if (rv != CKR_OK)
        return rv;
    const dmsc_p15_path *dodf_path = &t->model->dodfs[pl->df.dodf];
    /* Inside the transaction: the DODF is still the one this plan
     * comes from, or another application changed the card since. */
    unsigned char *cur = NULL;
    size_t cur_len = 0;
    uint16_t sw = 0;
    rv = pcsc_read_path(t, dodf_path, PCSC_MAX_DF, &cur, &cur_len, &sw);
    if (rv == CKR_OK && sw != SW_OK)
        op->status = write_status("READ BINARY (DODF)", sw);
    else if (rv == CKR_OK && (cur_len != t->model->dodf_len[pl->df.dodf] ||
                              (cur_len > 0 && memcmp(cur, t->model->dodf_raw[pl->df.dodf], cur_len) != 0))) {
        op->stale = true;
        op->status = CKR_FUNCTION_FAILED;
    }
    free(cur);
    if (rv == CKR_OK && op->status == CKR_OK && op->write_value) {
        /* The plan's MO entry names the spare's EF, with its range. */
        const dmsc_p15_path *p = &pl->df.d[pl->e_mo].c.path;
        rv = update_at(t, p, p->index, op->mv->value, op->mv->value_len, "UPDATE BINARY (the MO's new EF)",
                       &op->status);
    }
    /* The DODF is selected once: the transaction keeps every other
     * application's commands off the card until its end. */
    size_t base = dodf_path->has_range ? dodf_path->index : 0;
    bool selected = false;
    for (size_t k = 0; k < pl->n_cmds && rv == CKR_OK && op->status == CKR_OK; k++) {
        if (pl->n[k] == 0)
            continue;
        if (!selected) {
            size_t size = 0;
            sw = 0;
            if ((rv = pcsc_select(t, dodf_path, &size, &sw)) != CKR_OK)
                break;
            if (sw != SW_OK) {
                op->status = write_status("SELECT (DODF)", sw);
                break;
            }
            selected = true;
        }
        op->sent = true;
        rv = dmsc_iso_update_binary(t->card, base + pl->at[k], pl->state[k + 1] + pl->at[k], pl->n[k], &sw);
        if (rv == CKR_OK)
            op->status = write_status("UPDATE BINARY (DODF)", sw);
    }
    /* In this transaction, after the DODF: no other application can have
     * taken the old bytes (now a spare) for a value of its own yet. */
    if (rv == CKR_OK && op->status == CKR_OK && pl->wipe)
        op->wipe_rv = wipe(t, &pl->old_path);
    dmsc_card_end(t->card);
    return rv;
}

/* Install a written plan as the model's entries and DODF bytes. */
static void commit(dmsc_btoken *t, plan *pl)
{
    pcsc_model *m = t->model;
    draft *df = &pl->df;
    for (size_t i = 0; i < df->n; i++) {
        data_clear(&m->objs.data[df->map[i]]);
        m->objs.data[df->map[i]] = df->d[i];
        memset(&df->d[i], 0, sizeof(df->d[i]));
    }
    free(m->dodf_raw[df->dodf]);
    m->dodf_raw[df->dodf] = pl->state[pl->n_cmds];
    m->dodf_len[df->dodf] = pl->len;
    pl->state[pl->n_cmds] = NULL;
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
    size_t *rooms = calloc(m->objs.n_data ? m->objs.n_data : 1, sizeof(*rooms));
    if (rooms == NULL)
        return CKR_HOST_MEMORY;
    CK_RV rv = CKR_OK;
    bool any_room = false;
    /* rv first: a card found gone frees the model m points to. */
    for (size_t i = 0; rv == CKR_OK && write_value && i < m->objs.n_data; i++) {
        const dmsc_p15_data *d = &m->objs.data[i];
        if (!pcsc_data_is_spare(d) || (mo != NONE && m->data_dodf[i] != m->data_dodf[mo]))
            continue;
        if (others_name(m, NULL, d, &d->c.path, false, false)) {
            /* Writing it would overwrite another object (a cut rewrite
             * leaves a spare naming the MO's new bytes, for one). */
            dmsc_debug(PCSC_DEBUG, "pcsc: a spare's bytes are named by another object of the card too: not used");
            continue;
        }
        room_op ro = { .d = d };
        rv = pcsc_card_run(t, op_room, &ro);
        rooms[i] = rv == CKR_OK ? ro.room : 0;
        any_room = any_room || (rv == CKR_OK && ro.room >= mv->value_len);
    }
    if (rv != CKR_OK) {
        free(rooms);
        return rv;
    }
    if (write_value && !any_room) {
        free(rooms);
        dmsc_debug(PCSC_DEBUG, "pcsc: no spare EF holds %zu bytes: the MO is not written", mv->value_len);
        return CKR_DEVICE_MEMORY;
    }
    /* Of the spares with room, the one whose plan has the shortest
     * command (for a new MO the last spare, typically: only the entries
     * after it move), then the least room; each command at most
     * ONE_COMMAND. Each spare with its value at offset 0, and at 128
     * (a 2-byte index in DER) if that keeps the MO's entry's length. */
    plan best = {0}, pl;
    bool have = false;
    size_t spare = NONE, widest = 0;
    CK_RV why = CKR_OK;
    for (size_t c = 0; c < (write_value ? 2 * m->objs.n_data : 1) && rv == CKR_OK; c++) {
        size_t i = c / 2, skip = c % 2 ? 128 : 0;
        if (write_value && (rooms[i] == 0 || rooms[i] < mv->value_len + skip))
            continue;
        CK_RV r = make_plan(t, mo, mv, write_value ? i : NONE, skip, &pl);
        if (r == CKR_HOST_MEMORY)
            rv = r;
        if (r == CKR_OK && pl.widest > widest)
            widest = pl.widest;
        if (r == CKR_OK && pl.widest <= ONE_COMMAND &&
            (!have || pl.widest < best.widest || (pl.widest == best.widest && rooms[i] < rooms[spare]))) {
            plan_free(&best);
            best = pl;
            have = true;
            spare = write_value ? i : NONE;
        } else {
            if (r != CKR_OK && why == CKR_OK)
                why = r;
            plan_free(&pl);
        }
    }
    free(rooms);
    if (rv == CKR_OK && !have) {
        if (widest > ONE_COMMAND)
            dmsc_debug(PCSC_DEBUG, "pcsc: the DODF change needs more than one UPDATE BINARY (%zu bytes at once, at "
                       "most %d) for each step, so a cut could leave neither the old nor the new MO: not written; "
                       "the issuer can put the spare entries at the DODF's end, or the MO needs a shorter node path",
                       widest, ONE_COMMAND);
        rv = why != CKR_OK ? why : CKR_DEVICE_MEMORY;
    }
    if (rv != CKR_OK) {
        plan_free(&best);
        return rv;
    }
    for (size_t k = 0; k < best.n_cmds; k++)
        dmsc_debug(PCSC_DEBUG, "pcsc: DODF command %zu: bytes %zu..%zu", k + 1, best.at[k], best.at[k] + best.n[k]);
    /* Before the card changes: after it, nothing may fail. */
    unsigned char *copy = NULL;
    if (write_value && (copy = malloc(mv->value_len)) == NULL) {
        plan_free(&best);
        return CKR_HOST_MEMORY;
    }
    write_op op = { .pl = &best, .mv = mv, .write_value = write_value };
    rv = pcsc_card_run(t, op_write, &op);
    if (rv == CKR_OK)
        rv = op.status;
    *stale = op.stale;
    if (rv != CKR_OK) {
        if (rv == CKR_USER_NOT_LOGGED_IN)
            pcsc_check_login(t); /* with the model: it names the PIN */
        if (op.sent && t->model != NULL) {
            /* The card may hold any state of the plan now (each one
             * whole): forget what was read, the next call reads it. */
            dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: a DODF write failed midway: the card is read again", t->index);
            pcsc_model_free(t->model);
            t->model = NULL;
            t->gen++;
        }
        plan_free(&best);
        free(copy);
        return rv;
    }
    size_t mo_index = best.df.map[best.e_mo != NONE ? best.e_mo : best.e_old];
    commit(t, &best);
    plan_free(&best);
    /* Every entry kept its place: the MO's object is its entry's. */
    pcsc_obj *o_mo = data_obj(m, mo_index);
    if (mo == NONE && o_mo != NULL) {
        o_mo->oid = 0; /* the spare's: not a name to keep */
        o_mo->oid = pcsc_data_oid(m, &m->objs.data[mo_index]);
    }
    if (mo != NONE && spare != NONE && data_obj(m, spare) != NULL)
        set_value(data_obj(m, spare), NULL, 0); /* the spare that took the old bytes has no value to show */
    if (o_mo != NULL) {
        if (mv == NULL)
            set_value(o_mo, NULL, 0);
        else if (write_value) {
            memcpy(copy, mv->value, mv->value_len);
            set_value(o_mo, copy, mv->value_len);
            copy = NULL;
        }
    }
    free(copy);
    if (op.wipe_rv == DMSC_CKR_CARD_RESET || op.wipe_rv == CKR_DEVICE_REMOVED)
        pcsc_card_failed(t, op.wipe_rv); /* written; what happened after it is the card's news */
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
        /* What the card holds now may not be a token (PKCS#11 lists no
         * CKR_TOKEN_NOT_RECOGNIZED for these functions). */
        if ((rv = reread(t)) != CKR_OK)
            return rv == CKR_TOKEN_NOT_RECOGNIZED ? CKR_DEVICE_ERROR : rv;
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
