/* Keys the card keeps: recognised by their attributes, used through the backend. */
#include "card-key.h"

#include "keys.h"
#include "session.h"

#include <stdlib.h>

struct dmsc_card_key {
    dmsc_token *token; /* lives until C_Finalize, after every operation */
    uint64_t oid;
    CK_KEY_TYPE key_type;
    CK_ULONG bits;
};

bool dmsc_card_key_is(const dmsc_token *t, const dmsc_object *obj)
{
    return obj->klass == CKO_PRIVATE_KEY && t->ops->sign != NULL && obj->oid != 0 &&
           dmsc_attrs_find(&obj->attrs, CKA_PRIVATE_EXPONENT) == NULL &&
           dmsc_attrs_find(&obj->attrs, CKA_VALUE) == NULL;
}

/* Bits of a big-endian unsigned number, leading zero bytes ignored. */
static CK_ULONG number_bits(const unsigned char *p, CK_ULONG len)
{
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len == 0)
        return 0;
    CK_ULONG bits = (len - 1) * 8;
    for (unsigned char top = *p; top != 0; top >>= 1)
        bits++;
    return bits;
}

CK_ULONG dmsc_card_key_bits_of(const dmsc_object *obj, CK_KEY_TYPE key_type)
{
    if (key_type == CKK_RSA) {
        CK_ULONG bits;
        if (dmsc_attrs_get_ulong(&obj->attrs, CKA_MODULUS_BITS, &bits))
            return bits;
        const dmsc_attr *n = dmsc_attrs_find(&obj->attrs, CKA_MODULUS);
        return n != NULL && !n->sealed ? number_bits(n->value, n->len) : 0;
    }
    if (key_type == CKK_EC) {
        const dmsc_attr *p = dmsc_attrs_find(&obj->attrs, CKA_EC_PARAMS);
        const dmsc_curve *c = p != NULL && !p->sealed ? dmsc_curve_from_params(p->value, p->len) : NULL;
        return c != NULL && c->key_type == CKK_EC ? c->bits : 0;
    }
    return 0;
}

dmsc_card_key *dmsc_card_key_new(dmsc_token *t, uint64_t oid, CK_KEY_TYPE key_type, CK_ULONG bits)
{
    dmsc_card_key *k = calloc(1, sizeof(*k));
    if (k != NULL) {
        k->token = t;
        k->oid = oid;
        k->key_type = key_type;
        k->bits = bits;
    }
    return k;
}

void dmsc_card_key_free(dmsc_card_key *k)
{
    free(k);
}

CK_KEY_TYPE dmsc_card_key_type(const dmsc_card_key *k)
{
    return k->key_type;
}

CK_ULONG dmsc_card_key_bits(const dmsc_card_key *k)
{
    return k->bits;
}

CK_RV dmsc_card_key_sign(const dmsc_card_key *k, CK_MECHANISM_TYPE mech, const unsigned char *in,
                         CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len)
{
    dmsc_token *t = k->token;
    pthread_mutex_lock(&t->lock);
    CK_RV rv;
    /* The user may have logged out since C_SignInit. */
    if (t->login != CKU_USER)
        rv = CKR_USER_NOT_LOGGED_IN;
    else
        rv = dmsc_token_note_inlock(t, t->ops->sign(t->bt, k->oid, mech, in, in_len, sig, sig_len));
    dmsc_session_unlock_token(t);
    return rv;
}
