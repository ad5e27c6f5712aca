/* Objects: creation, attribute replacement, handle numbers. */
#include "object.h"

#include "map.h"
#include "policy.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_ulong next_handle = 1;
static atomic_ullong next_serial = 1;

CK_ULONG dmsc_next_handle(void)
{
    return atomic_fetch_add(&next_handle, 1);
}

uint64_t dmsc_object_label_hash(const void *label, size_t len)
{
    return dmsc_hash_bytes(label, len);
}

static void refresh(dmsc_object *obj)
{
    obj->serial = atomic_fetch_add(&next_serial, 1);
    obj->klass = dmsc_policy_class(&obj->attrs);
    obj->is_private = dmsc_attrs_is_true(&obj->attrs, CKA_PRIVATE, false);
    const dmsc_attr *label = dmsc_attrs_find(&obj->attrs, CKA_LABEL);
    obj->label_hash = label ? dmsc_object_label_hash(label->value, label->len)
                            : dmsc_object_label_hash(NULL, 0);
}

dmsc_object *dmsc_object_new(dmsc_attrs *attrs)
{
    dmsc_object *obj = calloc(1, sizeof(*obj));
    if (obj == NULL)
        return NULL;
    obj->attrs = *attrs;
    dmsc_attrs_init(attrs);
    refresh(obj);
    return obj;
}

void dmsc_object_forget_key(dmsc_object *obj)
{
    EVP_PKEY_free(obj->pkey);
    obj->pkey = NULL;
}

void dmsc_object_set_attrs(dmsc_object *obj, dmsc_attrs *attrs)
{
    dmsc_object_forget_key(obj);
    dmsc_attrs_clear(&obj->attrs);
    obj->attrs = *attrs;
    dmsc_attrs_init(attrs);
    refresh(obj);
}

void dmsc_object_free(dmsc_object *obj)
{
    if (obj == NULL)
        return;
    dmsc_object_forget_key(obj);
    dmsc_attrs_clear(&obj->attrs);
    free(obj);
}
