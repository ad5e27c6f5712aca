/*
 * The PC/SC backend: a PKCS#15 DM card in a PC/SC reader as a token.
 * One slot per reader (slot id DMSC_PCSC_SLOT_BASE + the reader's
 * index), the token present while a card with the PKCS#15 application
 * is in it. The card's structure is read once per insertion and kept
 * (p15-card.c); the objects are the same PKCS#11 objects the virtual
 * UICC shows (p15-attrs.c).
 *
 * One backend lock serialises every operation: the tokens share the
 * PC/SC context, and a card is slower than any lock.
 */
#include "pcsc-token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const dmsc_backend_ops pcsc_ops;

static pcsc_backend *backend_of(dmsc_btoken *t)
{
    return t->be;
}

#define LOCKED(t, expr)                                                     \
    do {                                                                    \
        pthread_mutex_lock(&backend_of(t)->lock);                           \
        CK_RV rv_ = (expr);                                                 \
        pthread_mutex_unlock(&backend_of(t)->lock);                         \
        return rv_;                                                         \
    } while (0)

/* ---- slots ---- */

static dmsc_btoken *token_for(pcsc_backend *be, size_t index)
{
    while (be->n_tokens <= index) {
        dmsc_btoken **tokens = realloc(be->tokens, (be->n_tokens + 1) * sizeof(*tokens));
        if (tokens == NULL)
            return NULL;
        be->tokens = tokens;
        dmsc_btoken *t = calloc(1, sizeof(*t));
        if (t == NULL)
            return NULL;
        t->be = be;
        t->index = be->n_tokens;
        t->user_tries_max = t->so_tries_max = -1;
        be->tokens[be->n_tokens++] = t;
    }
    return be->tokens[index];
}

static CK_RV pcsc_slots_inlock(pcsc_backend *be, const dmsc_bslot **slots, size_t *n)
{
    const dmsc_reader_state *rs = NULL;
    size_t nr = 0;
    CK_RV rv = dmsc_pcsc_poll(be->pcsc, &rs, &nr);
    if (rv != CKR_OK)
        return rv;
    if (nr > be->n_slots) {
        dmsc_bslot *s = realloc(be->slots, nr * sizeof(*s));
        if (s == NULL)
            return CKR_HOST_MEMORY;
        be->slots = s;
    }
    /* Copy what the poll said first: probing a card polls again. */
    for (size_t i = 0; i < nr; i++) {
        dmsc_bslot *s = &be->slots[i];
        memset(s, 0, sizeof(*s));
        s->id = DMSC_PCSC_SLOT_BASE + i;
        if ((s->token = token_for(be, i)) == NULL)
            return CKR_HOST_MEMORY;
        const char *name = rs[i].name ? rs[i].name : "PC/SC reader";
        dmsc_pad_copy(s->info.slotDescription, sizeof(s->info.slotDescription), name, strlen(name));
        dmsc_pad_copy(s->info.manufacturerID, sizeof(s->info.manufacturerID), "dmsc (PC/SC)", 12);
        s->info.flags = CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
        s->info.hardwareVersion.major = 0;
        s->info.hardwareVersion.minor = 1;
        s->info.firmwareVersion.major = 0;
        s->info.firmwareVersion.minor = 1;
    }
    dmsc_reader_state *state = calloc(nr ? nr : 1, sizeof(*state));
    if (state == NULL)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < nr; i++) {
        state[i] = rs[i];
        state[i].name = NULL; /* not kept past the next poll */
    }
    for (size_t i = 0; i < nr; i++) {
        bool present = !state[i].gone && state[i].present;
        dmsc_btoken *t = be->slots[i].token;
        if (!present) {
            if (t->card != NULL)
                pcsc_card_drop(t);
        } else if ((rv = pcsc_card_probe(t, &state[i])) != CKR_OK && rv != CKR_TOKEN_NOT_PRESENT) {
            dmsc_debug(PCSC_DEBUG, "pcsc: reader %zu: %s", i, dmsc_rv_name(rv));
        }
        if (present && t->has_app)
            be->slots[i].info.flags |= CKF_TOKEN_PRESENT;
        be->slots[i].presence = pcsc_presence(t);
    }
    free(state);
    be->n_slots = nr;
    *slots = be->slots;
    *n = nr;
    return CKR_OK;
}

static CK_RV pcsc_slots(dmsc_backend *base, const dmsc_bslot **slots, size_t *n)
{
    pcsc_backend *be = (pcsc_backend *)base;
    pthread_mutex_lock(&be->lock);
    CK_RV rv = pcsc_slots_inlock(be, slots, n);
    pthread_mutex_unlock(&be->lock);
    return rv;
}

/* ---- token info ---- */

/* TokenInfo's serialNumber as the digits of the ICCID: BCD (F pads),
 * printable digits as they are, anything else in hex. The field holds
 * 16 characters: the last 16, as for the virtual UICC. */
static void serial_text(const dmsc_p15_tokeninfo *ti, char *out, size_t out_len)
{
    char s[2 * sizeof(ti->serial) + 1];
    size_t n = 0;
    bool printable = ti->serial_len > 0;
    for (size_t i = 0; i < ti->serial_len; i++)
        printable &= ti->serial[i] >= '0' && ti->serial[i] <= '9';
    if (printable) {
        memcpy(s, ti->serial, ti->serial_len);
        n = ti->serial_len;
    } else {
        bool bcd = true;
        for (size_t i = 0; i < ti->serial_len; i++) {
            unsigned hi = ti->serial[i] >> 4, lo = ti->serial[i] & 0xf;
            bcd &= (hi <= 9 || hi == 0xf) && (lo <= 9 || lo == 0xf);
        }
        static const char hex[] = "0123456789ABCDEF";
        for (size_t i = 0; i < ti->serial_len; i++) {
            unsigned hi = ti->serial[i] >> 4, lo = ti->serial[i] & 0xf;
            if (!bcd || hi != 0xf)
                s[n++] = hex[hi];
            if (!bcd || lo != 0xf)
                s[n++] = hex[lo];
        }
    }
    /* The last characters that fit (memcpy, not snprintf: the cut is
     * meant, and gcc -O1 warns on a truncating snprintf). */
    if (out_len == 0)
        return;
    size_t keep = n < out_len - 1 ? n : out_len - 1;
    memcpy(out, s + n - keep, keep);
    out[keep] = '\0';
}

static void pin_flags(CK_FLAGS *flags, int tries, int max, CK_FLAGS low, CK_FLAGS final, CK_FLAGS locked)
{
    if (tries < 0)
        return;
    if (tries == 0)
        *flags |= locked;
    else if (tries == 1)
        *flags |= final | low;
    else if (tries < max)
        *flags |= low;
}

static CK_RV pcsc_token_info_inlock(dmsc_btoken *t, CK_TOKEN_INFO *info)
{
    CK_RV rv = pcsc_card_ready(t);
    if (rv != CKR_OK)
        return rv;
    const pcsc_model *m = t->model;
    memset(info, 0, sizeof(*info));
    const char *label = m->ti.label ? m->ti.label : "PKCS#15 card";
    dmsc_pad_copy(info->label, sizeof(info->label), label, strlen(label));
    const char *maker = m->ti.manufacturer ? m->ti.manufacturer : "unknown";
    dmsc_pad_copy(info->manufacturerID, sizeof(info->manufacturerID), maker, strlen(maker));
    dmsc_pad_copy(info->model, sizeof(info->model), "PKCS#15 UICC", 12);
    char serial[17];
    serial_text(&m->ti, serial, sizeof(serial));
    dmsc_pad_copy(info->serialNumber, sizeof(info->serialNumber), serial, strlen(serial));
    info->flags = CKF_TOKEN_INITIALIZED;
    if (m->ti.flags & 1u)
        info->flags |= CKF_WRITE_PROTECTED;
    const dmsc_p15_pin *user = pcsc_user_pin(m), *so = pcsc_so_pin(m);
    /* Asking the card for tries left may find it gone, which frees the
     * model that m, user and so point into: take from them first, and
     * look at t->model again after each question. */
    if (user != NULL) {
        info->flags |= CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
        info->ulMinPinLen = user->min_len;
        info->ulMaxPinLen = user->max_len ? user->max_len : user->stored_len ? user->stored_len : 8;
        if (info->ulMaxPinLen > PCSC_MAX_PIN) /* a longer PIN is refused (CKR_PIN_LEN_RANGE) */
            info->ulMaxPinLen = PCSC_MAX_PIN;
        /* A UICC PIN has 3 tries, a PUK 10; the card says only how many are left. */
        int tries = pcsc_pin_tries(t, user);
        if (t->model == NULL)
            return CKR_DEVICE_REMOVED;
        int max = t->user_tries_max > 3 ? t->user_tries_max : 3;
        pin_flags(&info->flags, tries, max, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED);
    }
    if (so != NULL) {
        int tries = pcsc_pin_tries(t, so);
        if (t->model == NULL)
            return CKR_DEVICE_REMOVED;
        int max = t->so_tries_max > 10 ? t->so_tries_max : 10;
        pin_flags(&info->flags, tries, max, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED);
    }
    /* A card does not say how much room it has. */
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = CK_UNAVAILABLE_INFORMATION;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.major = 0;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
    memset(info->utcTime, ' ', sizeof(info->utcTime));
    return CKR_OK;
}

static CK_RV pcsc_token_info(dmsc_btoken *t, CK_TOKEN_INFO *info)
{
    LOCKED(t, pcsc_token_info_inlock(t, info));
}

/* ---- sync ---- */

static CK_RV pcsc_sync_inlock(dmsc_btoken *t, const dmsc_sync_sink *sink)
{
    CK_RV rv = pcsc_card_ready(t);
    uint64_t presence = pcsc_presence(t);
    if (presence != t->seen_presence) {
        /* Another card, or none, or a reset: nothing cached holds. */
        if (t->seen_presence != 0 || t->tell_logged_out)
            sink->logged_out(sink->ctx);
        sink->reset(sink->ctx);
        t->n_shown = 0;
        t->seen_presence = presence;
        t->tell_logged_out = false;
        t->seen_gen = t->gen - 1;
    }
    if (rv != CKR_OK)
        return rv;
    if (t->tell_logged_out) {
        sink->logged_out(sink->ctx);
        t->tell_logged_out = false;
    }
    if (t->seen_gen == t->gen)
        return CKR_OK;
    uint64_t *now = calloc(t->model->n_obj ? t->model->n_obj : 1, sizeof(*now));
    if (now == NULL)
        return CKR_HOST_MEMORY;
    size_t n_now = 0;
    for (size_t i = 0; i < t->model->n_obj && rv == CKR_OK; i++) {
        const pcsc_obj *o = &t->model->obj[i];
        dmsc_attrs attrs;
        CK_RV r = pcsc_obj_attrs(t, o, &attrs);
        if (r == CKR_FUNCTION_REJECTED)
            continue; /* not shown (a spare, a private object before login) */
        if (r != CKR_OK) {
            rv = r;
            break;
        }
        rv = sink->upsert(sink->ctx, o->oid, &attrs);
        if (rv == CKR_OK)
            now[n_now++] = o->oid;
    }
    if (rv == CKR_OK) {
        for (size_t i = 0; i < t->n_shown; i++) {
            bool still = false;
            for (size_t j = 0; j < n_now && !still; j++)
                still = now[j] == t->shown[i];
            if (!still)
                sink->remove(sink->ctx, t->shown[i]);
        }
        free(t->shown);
        t->shown = now;
        t->n_shown = n_now;
        t->seen_gen = t->gen;
    } else {
        free(now);
    }
    return rv;
}

static CK_RV pcsc_sync(dmsc_btoken *t, const dmsc_sync_sink *sink)
{
    LOCKED(t, pcsc_sync_inlock(t, sink));
}

/* ---- the rest, under the lock ---- */

static CK_RV pcsc_init_token(dmsc_btoken *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_len,
                             const CK_UTF8CHAR label[32])
{
    (void)t, (void)so_pin, (void)so_len, (void)label;
    /* A card is personalised by its issuer, not through PKCS#11. */
    return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV pcsc_login_op(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    LOCKED(t, pcsc_login(t, user, pin, len));
}

static void pcsc_logout_op(dmsc_btoken *t)
{
    pthread_mutex_lock(&t->be->lock);
    pcsc_logout(t);
    pthread_mutex_unlock(&t->be->lock);
}

static CK_RV pcsc_init_pin_op(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    LOCKED(t, pcsc_init_pin(t, pin, len));
}

static CK_RV pcsc_set_pin_op(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
                             const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
    LOCKED(t, pcsc_set_pin(t, who, old_pin, old_len, new_pin, new_len));
}

static CK_RV pcsc_create_op(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored)
{
    LOCKED(t, pcsc_create(t, attrs, oid, stored));
}

static CK_RV pcsc_update_op(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    LOCKED(t, pcsc_update(t, oid, attrs, stored));
}

static CK_RV pcsc_destroy_op(dmsc_btoken *t, uint64_t oid)
{
    LOCKED(t, pcsc_destroy(t, oid));
}

static CK_RV pcsc_unseal(dmsc_btoken *t, const dmsc_attr *sealed, void **plain, CK_ULONG *len)
{
    (void)t, (void)sealed, (void)plain, (void)len;
    /* Nothing is sealed: private values stay on the card until login. */
    return CKR_GENERAL_ERROR;
}

static CK_RV pcsc_sign_op(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in,
                          CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len)
{
    LOCKED(t, pcsc_sign(t, oid, mech, in, in_len, sig, sig_len));
}

static void pcsc_free(dmsc_backend *base)
{
    pcsc_backend *be = (pcsc_backend *)base;
    for (size_t i = 0; i < be->n_tokens; i++) {
        dmsc_btoken *t = be->tokens[i];
        pcsc_card_drop(t);
        free(t->shown);
        free(t);
    }
    free(be->tokens);
    free(be->slots);
    dmsc_pcsc_free(be->pcsc);
    pthread_mutex_destroy(&be->lock);
    free(be);
}

static const dmsc_backend_ops pcsc_ops = {
    .name = "pcsc",
    .free = pcsc_free,
    .slots = pcsc_slots,
    .token_info = pcsc_token_info,
    .sync = pcsc_sync,
    .init_token = pcsc_init_token,
    .login = pcsc_login_op,
    .logout = pcsc_logout_op,
    .init_pin = pcsc_init_pin_op,
    .set_pin = pcsc_set_pin_op,
    .create = pcsc_create_op,
    .update = pcsc_update_op,
    .destroy = pcsc_destroy_op,
    .unseal = pcsc_unseal,
    .sign = pcsc_sign_op,
};

CK_RV dmsc_pcsc_open(OSSL_LIB_CTX *libctx, const char *const *readers, size_t n_readers, dmsc_backend **out)
{
    pcsc_backend *be = calloc(1, sizeof(*be));
    if (be == NULL)
        return CKR_HOST_MEMORY;
    be->base.ops = &pcsc_ops;
    be->libctx = libctx;
    CK_RV rv = dmsc_pcsc_new(readers, n_readers, &be->pcsc);
    if (rv != CKR_OK) {
        free(be);
        return rv;
    }
    pthread_mutex_init(&be->lock, NULL);
    *out = &be->base;
    return CKR_OK;
}
