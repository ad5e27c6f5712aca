/* The token cache: objects by handle, store id and label. */
#include "token.h"

#include "keys.h"
#include "policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

dmsc_token *dmsc_token_new(const dmsc_backend_ops *ops, dmsc_btoken *bt, CK_SLOT_ID slot_id)
{
    dmsc_token *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->ops = ops;
    t->bt = bt;
    t->slot_id = slot_id;
    t->login = DMSC_NOBODY;
    dmsc_map_init(&t->objects);
    dmsc_map_init(&t->by_oid);
    dmsc_map_init(&t->by_label);
    return t;
}

void dmsc_token_free(dmsc_token *t)
{
    if (t == NULL)
        return;
    size_t it = 0;
    void *v;
    while (dmsc_map_next(&t->objects, &it, NULL, &v))
        dmsc_object_free(v);
    dmsc_map_clear(&t->objects);
    dmsc_map_clear(&t->by_oid);
    dmsc_map_clear(&t->by_label);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static bool label_link(dmsc_token *t, dmsc_object *obj)
{
    obj->label_next = dmsc_map_get(&t->by_label, obj->label_hash);
    return dmsc_map_put(&t->by_label, obj->label_hash, obj);
}

static void label_unlink(dmsc_token *t, dmsc_object *obj)
{
    dmsc_object *head = dmsc_map_get(&t->by_label, obj->label_hash);
    if (head == obj) {
        if (obj->label_next)
            dmsc_map_put(&t->by_label, obj->label_hash, obj->label_next);
        else
            dmsc_map_remove(&t->by_label, obj->label_hash);
    } else {
        for (dmsc_object *p = head; p != NULL; p = p->label_next)
            if (p->label_next == obj) {
                p->label_next = obj->label_next;
                break;
            }
    }
    obj->label_next = NULL;
}

CK_RV dmsc_token_add_inlock(dmsc_token *t, dmsc_object *obj)
{
    obj->handle = dmsc_next_handle();
    if (!dmsc_map_put(&t->objects, obj->handle, obj))
        return CKR_HOST_MEMORY;
    if (obj->oid != 0 && !dmsc_map_put(&t->by_oid, obj->oid, obj)) {
        dmsc_map_remove(&t->objects, obj->handle);
        return CKR_HOST_MEMORY;
    }
    if (!label_link(t, obj)) {
        dmsc_map_remove(&t->objects, obj->handle);
        if (obj->oid)
            dmsc_map_remove(&t->by_oid, obj->oid);
        return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

void dmsc_token_drop_inlock(dmsc_token *t, dmsc_object *obj)
{
    label_unlink(t, obj);
    dmsc_map_remove(&t->objects, obj->handle);
    if (obj->oid)
        dmsc_map_remove(&t->by_oid, obj->oid);
    dmsc_object_free(obj);
}

void dmsc_token_replace_inlock(dmsc_token *t, dmsc_object *obj, dmsc_attrs *attrs)
{
    label_unlink(t, obj);
    dmsc_object_set_attrs(obj, attrs);
    /* Relinking only fails on allocation failure growing the label map;
     * the head slot exists already in the common case. A miss then only
     * costs a find by label of this object until the next change. */
    label_link(t, obj);
}

void dmsc_token_forget_inlock(dmsc_token *t)
{
    size_t it = 0;
    uint64_t oid;
    void *v;
    dmsc_object **drop = NULL;
    size_t n = 0;
    if (t->by_oid.count > 0)
        drop = malloc(t->by_oid.count * sizeof(*drop));
    while (drop && dmsc_map_next(&t->by_oid, &it, &oid, &v))
        drop[n++] = v;
    for (size_t i = 0; i < n; i++)
        dmsc_token_drop_inlock(t, drop[i]);
    free(drop);
}

/* ---- the sync sink: the backend tells, the cache follows ---- */

static void sink_reset(void *ctx)
{
    dmsc_token_forget_inlock(ctx);
}

static void sink_logged_out(void *ctx)
{
    dmsc_token *t = ctx;
    t->login = DMSC_NOBODY;
    dmsc_token_forget_keys_inlock(t);
}

static CK_RV sink_upsert(void *ctx, uint64_t oid, dmsc_attrs *attrs)
{
    dmsc_token *t = ctx;
    dmsc_object *obj = dmsc_map_get(&t->by_oid, oid);
    if (obj != NULL) {
        dmsc_token_replace_inlock(t, obj, attrs);
        return CKR_OK;
    }
    obj = dmsc_object_new(attrs);
    if (obj == NULL) {
        dmsc_attrs_clear(attrs);
        return CKR_HOST_MEMORY;
    }
    obj->oid = oid;
    CK_RV rv = dmsc_token_add_inlock(t, obj);
    if (rv != CKR_OK)
        dmsc_object_free(obj);
    return rv;
}

static void sink_remove(void *ctx, uint64_t oid)
{
    dmsc_token *t = ctx;
    dmsc_object *obj = dmsc_map_get(&t->by_oid, oid);
    if (obj != NULL)
        dmsc_token_drop_inlock(t, obj);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

CK_RV dmsc_token_note_inlock(dmsc_token *t, CK_RV rv)
{
    if (rv != CKR_DEVICE_REMOVED && rv != CKR_TOKEN_NOT_PRESENT)
        return rv;
    t->gone = true;
    return CKR_DEVICE_REMOVED;
}

CK_RV dmsc_token_sync_inlock(dmsc_token *t)
{
    dmsc_sync_sink sink = { t, sink_reset, sink_logged_out, sink_upsert, sink_remove };
    CK_RV rv = dmsc_token_note_inlock(t, t->ops->sync(t->bt, &sink));
    if (rv == CKR_OK)
        t->synced_at_ms = now_ms();
    return rv;
}

CK_RV dmsc_token_sync_recent_inlock(dmsc_token *t, unsigned max_age_ms)
{
    if (t->synced_at_ms != 0 && now_ms() - t->synced_at_ms <= max_age_ms)
        return CKR_OK;
    return dmsc_token_sync_inlock(t);
}

bool dmsc_token_visible_inlock(const dmsc_token *t, const dmsc_object *obj)
{
    return !obj->is_private || t->login == CKU_USER;
}

dmsc_object *dmsc_token_lookup_inlock(dmsc_token *t, CK_OBJECT_HANDLE h)
{
    dmsc_object *obj = dmsc_map_get(&t->objects, h);
    if (obj == NULL || !dmsc_token_visible_inlock(t, obj))
        return NULL;
    return obj;
}

CK_RV dmsc_token_value_inlock(dmsc_token *t, const dmsc_object *obj, const dmsc_attr *a,
                              const void **plain, CK_ULONG *len, bool *owned)
{
    (void)obj;
    if (!a->sealed) {
        *plain = a->value;
        *len = a->len;
        *owned = false;
        return CKR_OK;
    }
    void *p = NULL;
    CK_RV rv = t->ops->unseal(t->bt, a, &p, len);
    if (rv != CKR_OK)
        return rv;
    *plain = p;
    *owned = true;
    return CKR_OK;
}

/* Does obj hold exactly this value for every attribute in the template? */
static bool matches(dmsc_token *t, const dmsc_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const dmsc_attr *a = dmsc_attrs_find(&obj->attrs, tmpl[i].type);
        if (a == NULL)
            return false;
        /* A value the caller may not read may not be guessed by search. */
        if (dmsc_policy_readable(&obj->attrs, tmpl[i].type) == CKR_ATTRIBUTE_SENSITIVE)
            return false;
        if (!a->sealed) {
            if (a->len != tmpl[i].ulValueLen ||
                (a->len && memcmp(a->value, tmpl[i].pValue, a->len) != 0))
                return false;
            continue;
        }
        const void *plain;
        CK_ULONG len;
        bool owned;
        if (dmsc_token_value_inlock(t, obj, a, &plain, &len, &owned) != CKR_OK)
            return false;
        /* A value sealed at rest is compared in constant time: the
         * time of a search must not tell how much of a guess matched. */
        bool same = len == tmpl[i].ulValueLen && (len == 0 || CRYPTO_memcmp(plain, tmpl[i].pValue, len) == 0);
        if (owned) {
            dmsc_wipe((void *)plain, len);
            free((void *)plain);
        }
        if (!same)
            return false;
    }
    return true;
}

typedef struct {
    CK_OBJECT_HANDLE *items;
    size_t n, cap;
} handle_list;

static bool push(handle_list *l, CK_OBJECT_HANDLE h)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        CK_OBJECT_HANDLE *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = h;
    return true;
}

CK_RV dmsc_token_find_inlock(dmsc_token *t, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                             CK_OBJECT_HANDLE **found, size_t *n_found)
{
    handle_list l = { 0 };
    for (CK_ULONG i = 0; i < n; i++)
        if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen != 0)
            return CKR_ARGUMENTS_BAD;
    const CK_ATTRIBUTE *label = dmsc_template_find(tmpl, n, CKA_LABEL);
    if (label != NULL) {
        /* The label index makes the common search cost the same at any size. */
        uint64_t h = dmsc_object_label_hash(label->pValue, label->ulValueLen);
        for (dmsc_object *obj = dmsc_map_get(&t->by_label, h); obj; obj = obj->label_next)
            if (dmsc_token_visible_inlock(t, obj) && matches(t, obj, tmpl, n) && !push(&l, obj->handle))
                goto oom;
    } else {
        size_t it = 0;
        void *v;
        while (dmsc_map_next(&t->objects, &it, NULL, &v)) {
            dmsc_object *obj = v;
            if (dmsc_token_visible_inlock(t, obj) && matches(t, obj, tmpl, n) && !push(&l, obj->handle))
                goto oom;
        }
    }
    *found = l.items;
    *n_found = l.n;
    return CKR_OK;
oom:
    free(l.items);
    return CKR_HOST_MEMORY;
}

CK_RV dmsc_token_pkey_inlock(dmsc_token *t, dmsc_object *obj, OSSL_LIB_CTX *libctx, EVP_PKEY **out)
{
    if (obj->pkey != NULL) {
        *out = obj->pkey;
        return CKR_OK;
    }
    CK_ULONG key_type;
    if (!dmsc_attrs_get_ulong(&obj->attrs, CKA_KEY_TYPE, &key_type))
        return CKR_KEY_TYPE_INCONSISTENT;
    /* Open the sealed values only for the moment of parsing. */
    dmsc_attrs plain;
    CK_RV rv = dmsc_token_plain_attrs_inlock(t, obj, &plain);
    if (rv == CKR_OK)
        rv = dmsc_pkey_from_attrs(libctx, &plain, obj->klass, key_type, &obj->pkey);
    dmsc_attrs_clear(&plain);
    if (rv == CKR_OK)
        *out = obj->pkey;
    return rv;
}

void dmsc_token_forget_keys_inlock(dmsc_token *t)
{
    size_t it = 0;
    void *v;
    while (dmsc_map_next(&t->objects, &it, NULL, &v))
        dmsc_object_forget_key(v);
}

CK_RV dmsc_token_plain_attrs_inlock(dmsc_token *t, const dmsc_object *obj, dmsc_attrs *out)
{
    CK_RV rv = dmsc_attrs_copy(out, &obj->attrs);
    for (size_t i = 0; i < out->n && rv == CKR_OK; i++) {
        dmsc_attr *a = &out->items[i];
        if (!a->sealed)
            continue;
        void *plain = NULL;
        CK_ULONG len = 0;
        rv = t->ops->unseal(t->bt, a, &plain, &len);
        if (rv == CKR_OK)
            rv = dmsc_attrs_take(out, a->type, plain, len, false);
    }
    if (rv != CKR_OK)
        dmsc_attrs_clear(out);
    return rv;
}

CK_RV dmsc_token_value_copy_inlock(dmsc_token *t, const dmsc_object *obj, CK_ATTRIBUTE_TYPE type,
                                   unsigned char **out, CK_ULONG *len)
{
    const dmsc_attr *a = dmsc_attrs_find(&obj->attrs, type);
    if (a == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    const void *plain;
    bool owned;
    CK_RV rv = dmsc_token_value_inlock(t, obj, a, &plain, len, &owned);
    if (rv != CKR_OK)
        return rv;
    if (owned) {
        *out = (unsigned char *)plain;
        return CKR_OK;
    }
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
        return CKR_HOST_MEMORY;
    memcpy(*out, plain, *len);
    return CKR_OK;
}

dmsc_policy_who dmsc_token_who_inlock(const dmsc_token *t)
{
    dmsc_policy_who who = { t->login == CKU_SO, t->login == CKU_USER };
    return who;
}
