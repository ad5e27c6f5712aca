/*
 * dmsc_card: one card, whatever carries its APDUs (reader.c: PC/SC; tests
 * and fuzzing: a function playing the card). The trace names the command
 * and the card's status word, never the command or response data: a
 * VERIFY carries a PIN.
 */
#include "config.h"

#include "card.h"
#include "debug.h"

#include <stdlib.h>

CK_RV dmsc_card_new(const dmsc_card_ops *ops, void *ctx, dmsc_card **out)
{
    if (ops == NULL || ops->transmit == NULL || out == NULL)
        return CKR_ARGUMENTS_BAD;
    dmsc_card *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return CKR_HOST_MEMORY;
    c->ops = ops;
    c->ctx = ctx;
    *out = c;
    return CKR_OK;
}

CK_RV dmsc_card_over_transmit(dmsc_transmit_fn tx, void *ctx, dmsc_card **out)
{
    /* The ops hold the function, so each such card has its own. */
    if (tx == NULL || out == NULL)
        return CKR_ARGUMENTS_BAD;
    dmsc_card_ops *ops = calloc(1, sizeof(*ops));
    if (ops == NULL)
        return CKR_HOST_MEMORY;
    ops->transmit = tx;
    CK_RV rv = dmsc_card_new(ops, ctx, out);
    if (rv != CKR_OK) {
        free(ops);
        return rv;
    }
    (*out)->owns_ops = true;
    return CKR_OK;
}

void dmsc_card_disconnect(dmsc_card *c)
{
    if (c == NULL)
        return;
    if (c->ops->release != NULL)
        c->ops->release(c->ctx);
    if (c->owns_ops)
        free((void *)c->ops);
    free(c);
}

CK_RV dmsc_card_transmit(dmsc_card *c, const dmsc_apdu *a, uint8_t *out, size_t cap, size_t *out_len,
                         uint16_t *sw)
{
    if (c == NULL || a == NULL)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = dmsc_apdu_transmit(c->ops->transmit, c->ctx, a, out, cap, out_len, sw);
    if (rv == CKR_OK)
        dmsc_debug(DMSC_DEBUG_CARD, "APDU %02X %02X %02X %02X Lc=%zu Le=%zu: %zu bytes, %s", a->cla, a->ins,
                   a->p1, a->p2, a->data_len, a->le, *out_len, dmsc_apdu_sw_text(*sw));
    else
        dmsc_debug(DMSC_DEBUG_CARD, "APDU %02X %02X %02X %02X Lc=%zu Le=%zu: %s", a->cla, a->ins, a->p1, a->p2,
                   a->data_len, a->le, rv == DMSC_CKR_CARD_RESET ? "card reset" : dmsc_rv_name(rv));
    return rv;
}

CK_RV dmsc_card_begin(dmsc_card *c)
{
    if (c == NULL)
        return CKR_ARGUMENTS_BAD;
    if (c->depth > 0) { /* inside a transaction this process holds */
        c->depth++;
        return CKR_OK;
    }
    CK_RV rv = c->ops->begin != NULL ? c->ops->begin(c->ctx) : CKR_OK;
    if (rv == CKR_OK)
        c->depth = 1;
    return rv;
}

void dmsc_card_end(dmsc_card *c)
{
    if (c == NULL || c->depth == 0)
        return;
    if (--c->depth == 0 && c->ops->end != NULL)
        c->ops->end(c->ctx);
}
