/*
 * PINs as the card's AODF describes them: the user PIN (VERIFY, CHANGE
 * REFERENCE DATA) and the unblocking PIN, the PUK, which plays the SO:
 * an SO login verifies it and keeps it, formatted, for C_InitPIN's RESET
 * RETRY COUNTER until logout. The card counts every try (63Cx).
 * Every PIN buffer is wiped after use.
 */
#include "pcsc-token.h"

#include <stdlib.h>
#include <string.h>

#define SW_OK 0x9000

/* PinFlags bits (PKCS#15). */
#define PIN_UNBLOCKING (1u << 6)
#define PIN_SO (1u << 7)

const dmsc_p15_pin *pcsc_user_pin(const pcsc_model *m)
{
    if (m == NULL)
        return NULL;
    /* The PIN guarding the first private key, else the first plain PIN. */
    for (size_t k = 0; k < m->objs.n_prkeys; k++) {
        const dmsc_p15_common *kc = &m->objs.prkeys[k].c;
        for (size_t i = 0; i < m->objs.n_pins && kc->auth_id_len > 0; i++) {
            const dmsc_p15_pin *p = &m->objs.pins[i];
            if (p->c.auth_id_len == kc->auth_id_len && memcmp(p->c.auth_id, kc->auth_id, kc->auth_id_len) == 0 &&
                !(p->flags & (PIN_UNBLOCKING | PIN_SO)))
                return p;
        }
    }
    for (size_t i = 0; i < m->objs.n_pins; i++)
        if (!(m->objs.pins[i].flags & (PIN_UNBLOCKING | PIN_SO)))
            return &m->objs.pins[i];
    return NULL;
}

const dmsc_p15_pin *pcsc_so_pin(const pcsc_model *m)
{
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < m->objs.n_pins; i++)
        if (m->objs.pins[i].flags & PIN_UNBLOCKING)
            return &m->objs.pins[i];
    for (size_t i = 0; i < m->objs.n_pins; i++)
        if (m->objs.pins[i].flags & PIN_SO)
            return &m->objs.pins[i];
    return NULL;
}

typedef struct {
    const dmsc_p15_pin *pin;
    const uint8_t *a, *b;    /* formatted PINs */
    size_t a_len, b_len;
    uint16_t sw;
} pin_op;

static bool same_path(const dmsc_p15_path *a, const dmsc_p15_path *b)
{
    return a->len == b->len && memcmp(a->path, b->path, a->len) == 0;
}

/* A PIN reference may be local to a DF (the application's, or the one
 * the AODF's PinAttributes path names), and between two of our
 * transactions another application may have made any DF current: the
 * PIN's DF is selected first, in the PIN command's own transaction, so
 * the command reaches that PIN (not another DF's, not "not found"). A
 * DF that cannot be selected is CKR_DEVICE_ERROR (traced), never a
 * status word taken for the PIN's. */
static CK_RV select_pin_df(dmsc_btoken *t, const dmsc_p15_pin *p)
{
    uint16_t sw = 0;
    CK_RV rv = pcsc_select_app(t, &sw);
    if (rv == CKR_OK && sw != SW_OK) {
        pcsc_trace_sw("selecting the PKCS#15 application for a PIN command", sw);
        return CKR_DEVICE_ERROR;
    }
    if (rv != CKR_OK || p->c.path.len == 0 || (t->have_app_path && same_path(&p->c.path, &t->app_path)))
        return rv;
    size_t size;
    rv = pcsc_select(t, &p->c.path, &size, &sw);
    t->in_app = false; /* another DF is current now */
    if (rv == CKR_OK && sw != SW_OK) {
        pcsc_trace_sw("selecting the PIN's DF (the AODF's path)", sw);
        return CKR_DEVICE_ERROR;
    }
    return rv;
}

static CK_RV op_verify(dmsc_btoken *t, void *ctx)
{
    pin_op *op = ctx;
    CK_RV rv = select_pin_df(t, op->pin);
    if (rv != CKR_OK)
        return rv;
    return dmsc_iso_verify(t->card, op->pin->ref, op->a, op->a_len, &op->sw);
}

static CK_RV op_change(dmsc_btoken *t, void *ctx)
{
    pin_op *op = ctx;
    CK_RV rv = select_pin_df(t, op->pin);
    if (rv != CKR_OK)
        return rv;
    return dmsc_iso_change_reference_data(t->card, op->pin->ref, op->a, op->a_len, op->b, op->b_len, &op->sw);
}

static CK_RV op_reset_counter(dmsc_btoken *t, void *ctx)
{
    pin_op *op = ctx;
    if (!t->so_in)
        return CKR_USER_NOT_LOGGED_IN; /* a card reset ended the SO session (and wiped the PUK) */
    CK_RV rv = select_pin_df(t, op->pin);
    if (rv != CKR_OK)
        return rv;
    return dmsc_iso_reset_retry_counter(t->card, op->pin->ref, op->a, op->a_len, op->b, op->b_len, &op->sw);
}

void pcsc_check_login(dmsc_btoken *t)
{
    const dmsc_p15_pin *p = pcsc_user_pin(t->model);
    if (!t->user_in || p == NULL || !p->has_ref)
        return;
    pin_op op = { .pin = p };
    if (pcsc_card_run(t, op_verify, &op) != CKR_OK || op.sw == SW_OK || !t->user_in)
        return;
    /* The card's security status is the card's, not this process's. */
    dmsc_debug(DMSC_DEBUG_PIN, "pcsc: reader %zu: the card no longer has the user PIN verified "
               "(another application logged out): logged out", t->index);
    pcsc_forget_login(t);
    t->tell_logged_out = true;
    t->gen++;
}

/* Remember the most tries seen: the card does not say its maximum. */
static void saw_tries(dmsc_btoken *t, const dmsc_p15_pin *pin, int tries)
{
    int *max = pin == pcsc_so_pin(t->model) ? &t->so_tries_max : &t->user_tries_max;
    if (tries > *max)
        *max = tries;
}

int pcsc_pin_tries(dmsc_btoken *t, const dmsc_p15_pin *pin)
{
    if (pin == NULL || !pin->has_ref || t->card == NULL)
        return -1;
    pin_op op = { .pin = pin };
    if (pcsc_card_run(t, op_verify, &op) != CKR_OK)
        return -1;
    int tries = -1;
    if (op.sw == 0x6983)
        tries = 0;
    else if (dmsc_apdu_tries_left(op.sw) >= 0)
        tries = dmsc_apdu_tries_left(op.sw);
    if (tries >= 0)
        saw_tries(t, pin, tries);
    return tries;
}

/* What a PIN command's status word means to the application. */
static CK_RV pin_status(dmsc_btoken *t, const dmsc_p15_pin *pin, const char *what, uint16_t sw)
{
    int tries = dmsc_apdu_tries_left(sw);
    if (sw == SW_OK)
        return CKR_OK;
    if (tries >= 0) {
        saw_tries(t, pin, tries);
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: %s: wrong PIN, %d tries left", what, tries);
        return tries == 0 ? CKR_PIN_LOCKED : CKR_PIN_INCORRECT;
    }
    switch (sw) {
    case 0x6983: return CKR_PIN_LOCKED;
    case 0x6982: return CKR_USER_NOT_LOGGED_IN;
    case 0x6A80:
    case 0x6700: return CKR_PIN_LEN_RANGE;
    case 0x6D00:
    case 0x6E00: return CKR_FUNCTION_NOT_SUPPORTED;
    default:
        pcsc_trace_sw(what, sw);
        return CKR_DEVICE_ERROR;
    }
}

/* The PIN lengths the AODF allows (and no more than a formatted PIN
 * holds): a PIN outside them is CKR_PIN_LEN_RANGE without a command to
 * the card, so no try is spent on it. */
static bool pin_len_ok(const dmsc_p15_pin *p, CK_ULONG len)
{
    return len <= PCSC_MAX_PIN && len >= p->min_len && (p->max_len == 0 || len <= p->max_len);
}

static CK_RV op_read_values(dmsc_btoken *t, void *ctx)
{
    (void)ctx;
    return pcsc_read_values(t);
}

static CK_RV ready_pin(dmsc_btoken *t, bool so, const dmsc_p15_pin **pin)
{
    CK_RV rv = pcsc_card_ready(t);
    if (rv != CKR_OK)
        return rv;
    *pin = so ? pcsc_so_pin(t->model) : pcsc_user_pin(t->model);
    if (*pin == NULL || !(*pin)->has_ref) {
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: the AODF has no %s with a pinReference", so ? "unblocking PIN" : "user PIN");
        return so ? CKR_FUNCTION_NOT_SUPPORTED : CKR_USER_PIN_NOT_INITIALIZED;
    }
    return CKR_OK;
}

CK_RV pcsc_login(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    bool so = user == CKU_SO;
    const dmsc_p15_pin *p;
    CK_RV rv = ready_pin(t, so, &p);
    if (rv != CKR_OK)
        return rv;
    uint8_t f[64];
    size_t f_len = 0;
    if (!pin_len_ok(p, len)) {
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: a PIN of %lu characters: the AODF allows %zu to %zu", (unsigned long)len,
                   p->min_len, p->max_len && p->max_len < PCSC_MAX_PIN ? p->max_len : (size_t)PCSC_MAX_PIN);
        return CKR_PIN_LEN_RANGE;
    }
    if (dmsc_p15_pin_format(p, pin, len, f, &f_len) != 0)
        return CKR_PIN_INCORRECT; /* no PIN of that form can be right: no try spent */
    pin_op op = { .pin = p, .a = f, .a_len = f_len };
    rv = pcsc_card_run(t, op_verify, &op);
    if (rv == CKR_OK)
        rv = pin_status(t, p, so ? "VERIFY (unblocking PIN)" : "VERIFY (user PIN)", op.sw);
    if (rv == CKR_OK) {
        if (so) {
            memcpy(t->puk, f, f_len);
            t->puk_len = f_len;
            t->so_in = true;
        } else {
            t->user_in = true;
            /* Values that wait for the PIN (private data objects). */
            rv = pcsc_card_run(t, op_read_values, NULL);
            if (rv != CKR_OK)
                dmsc_debug(PCSC_DEBUG, "pcsc: reading private objects after login: %s", dmsc_rv_name(rv));
            rv = CKR_OK;
        }
        t->gen++;
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: reader %zu: %s logged in", t->index, so ? "SO (PUK)" : "user");
    }
    dmsc_wipe(f, sizeof(f));
    return rv;
}

/* VERIFY with P1 = FF (ISO 7816-4:2013) tells the card to forget the
 * verified state; cards that do not know it answer an error, ignored. */
static CK_RV op_unverify(dmsc_btoken *t, void *ctx)
{
    const dmsc_p15_pin *p = ctx;
    uint8_t out[2];
    size_t got = 0;
    uint16_t sw = 0;
    CK_RV rv = select_pin_df(t, p);
    if (rv != CKR_OK)
        return rv;
    dmsc_apdu a = { .cla = 0x00, .ins = 0x20, .p1 = 0xFF, .p2 = p->ref };
    return dmsc_card_transmit(t->card, &a, out, sizeof(out), &got, &sw);
}

void pcsc_logout(dmsc_btoken *t)
{
    if (t->card != NULL && t->model != NULL) {
        const dmsc_p15_pin *p = t->so_in ? pcsc_so_pin(t->model) : pcsc_user_pin(t->model);
        if (p != NULL && p->has_ref && (t->user_in || t->so_in))
            pcsc_card_run(t, op_unverify, (void *)p);
    }
    pcsc_forget_login(t);
    /* Private values read under the login are dropped with it. */
    for (size_t i = 0; t->model != NULL && i < t->model->n_obj; i++) {
        pcsc_obj *o = &t->model->obj[i];
        const dmsc_p15_common *c = NULL;
        if (o->kind == PCSC_OBJ_DATA)
            c = &t->model->objs.data[o->index].c;
        else if (o->kind == PCSC_OBJ_CERT)
            c = &t->model->objs.certs[o->index].c;
        else if (o->kind == PCSC_OBJ_PUBKEY)
            c = &t->model->objs.pubkeys[o->index].c;
        if (c != NULL && c->private_obj && o->value != NULL) {
            dmsc_wipe(o->value, o->value_len);
            free(o->value);
            o->value = NULL;
            o->value_len = 0;
            o->value_read = false;
        }
    }
    t->gen++;
}

CK_RV pcsc_set_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
                   const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
    bool so = who == CKU_SO;
    const dmsc_p15_pin *p;
    CK_RV rv = ready_pin(t, so, &p);
    if (rv != CKR_OK)
        return rv;
    uint8_t fo[64], fn[64];
    size_t fo_len = 0, fn_len = 0;
    if (old_len > 64 || dmsc_p15_pin_format(p, old_pin, old_len, fo, &fo_len) != 0)
        rv = CKR_PIN_INCORRECT;
    else if (new_len > 64 || dmsc_p15_pin_format(p, new_pin, new_len, fn, &fn_len) != 0)
        rv = CKR_PIN_LEN_RANGE;
    if (rv == CKR_OK) {
        pin_op op = { .pin = p, .a = fo, .a_len = fo_len, .b = fn, .b_len = fn_len };
        rv = pcsc_card_run(t, op_change, &op);
        if (rv == CKR_OK)
            rv = pin_status(t, p, "CHANGE REFERENCE DATA", op.sw);
        if (rv == CKR_OK && so && t->so_in) {
            memcpy(t->puk, fn, fn_len);
            t->puk_len = fn_len;
        }
    }
    dmsc_wipe(fo, sizeof(fo));
    dmsc_wipe(fn, sizeof(fn));
    if (rv == CKR_OK)
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: reader %zu: %s changed", t->index, so ? "unblocking PIN" : "user PIN");
    return rv;
}

CK_RV pcsc_init_pin(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    const dmsc_p15_pin *p;
    CK_RV rv = ready_pin(t, false, &p);
    if (rv != CKR_OK)
        return rv;
    if (!t->so_in || t->puk_len == 0)
        return CKR_USER_NOT_LOGGED_IN;
    uint8_t fn[64];
    size_t fn_len = 0;
    if (len > 64 || dmsc_p15_pin_format(p, pin, len, fn, &fn_len) != 0)
        return CKR_PIN_LEN_RANGE;
    pin_op op = { .pin = p, .a = t->puk, .a_len = t->puk_len, .b = fn, .b_len = fn_len };
    rv = pcsc_card_run(t, op_reset_counter, &op);
    if (rv == CKR_OK)
        rv = pin_status(t, pcsc_so_pin(t->model), "RESET RETRY COUNTER", op.sw);
    dmsc_wipe(fn, sizeof(fn));
    if (rv == CKR_OK)
        dmsc_debug(DMSC_DEBUG_PIN, "pcsc: reader %zu: user PIN set with the PUK", t->index);
    return rv;
}
