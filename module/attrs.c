/* Attribute arrays: the one place values are copied, compared and encoded. */
#include "attrs.h"

#include <stdlib.h>
#include <string.h>

/* Serialised form: "DA1" then a 32-bit count, then per attribute a 64-bit
 * type, an 8-bit flag byte and a 32-bit length, all big-endian. */
static const unsigned char magic[3] = { 'D', 'A', '1' };
#define MAX_ATTRS 4096
#define MAX_VALUE (16u * 1024 * 1024)

void dmsc_attrs_init(dmsc_attrs *a)
{
    a->items = NULL;
    a->n = 0;
    a->cap = 0;
}

void dmsc_attrs_clear(dmsc_attrs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        dmsc_wipe(a->items[i].value, a->items[i].len);
        free(a->items[i].value);
    }
    free(a->items);
    dmsc_attrs_init(a);
}

dmsc_attr *dmsc_attrs_find(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].type == type)
            return &a->items[i];
    return NULL;
}

CK_RV dmsc_attrs_take(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, void *value, CK_ULONG len, bool sealed)
{
    dmsc_attr *at = dmsc_attrs_find(a, type);
    if (at == NULL) {
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 8;
            dmsc_attr *items = realloc(a->items, cap * sizeof(*items));
            if (items == NULL) {
                dmsc_wipe(value, len);
                free(value);
                return CKR_HOST_MEMORY;
            }
            a->items = items;
            a->cap = cap;
        }
        at = &a->items[a->n++];
    } else {
        dmsc_wipe(at->value, at->len);
        free(at->value);
    }
    at->type = type;
    at->value = len ? value : NULL;
    at->len = len;
    at->sealed = sealed;
    if (len == 0)
        free(value);
    return CKR_OK;
}

CK_RV dmsc_attrs_set(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
    void *copy = NULL;
    if (len > 0) {
        if (value == NULL)
            return CKR_ARGUMENTS_BAD;
        copy = malloc(len);
        if (copy == NULL)
            return CKR_HOST_MEMORY;
        memcpy(copy, value, len);
    }
    return dmsc_attrs_take(a, type, copy, len, false);
}

CK_RV dmsc_attrs_set_bool(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool value)
{
    CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
    return dmsc_attrs_set(a, type, &b, sizeof(b));
}

CK_RV dmsc_attrs_set_ulong(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
    return dmsc_attrs_set(a, type, &value, sizeof(value));
}

bool dmsc_attrs_remove(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    dmsc_attr *at = dmsc_attrs_find(a, type);
    if (at == NULL)
        return false;
    dmsc_wipe(at->value, at->len);
    free(at->value);
    size_t idx = (size_t)(at - a->items);
    memmove(at, at + 1, (a->n - idx - 1) * sizeof(*at));
    a->n--;
    return true;
}

bool dmsc_attrs_get_bool(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool *value)
{
    const dmsc_attr *at = dmsc_attrs_find(a, type);
    if (at == NULL || at->sealed || at->len != sizeof(CK_BBOOL))
        return false;
    *value = *(const CK_BBOOL *)at->value != CK_FALSE;
    return true;
}

bool dmsc_attrs_get_ulong(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *value)
{
    const dmsc_attr *at = dmsc_attrs_find(a, type);
    if (at == NULL || at->sealed || at->len != sizeof(CK_ULONG))
        return false;
    memcpy(value, at->value, sizeof(CK_ULONG));
    return true;
}

bool dmsc_attrs_is_true(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool def)
{
    bool b;
    return dmsc_attrs_get_bool(a, type, &b) ? b : def;
}

CK_RV dmsc_attrs_copy(dmsc_attrs *dst, const dmsc_attrs *src)
{
    dmsc_attrs_init(dst);
    for (size_t i = 0; i < src->n; i++) {
        const dmsc_attr *at = &src->items[i];
        CK_RV rv = dmsc_attrs_set(dst, at->type, at->value, at->len);
        if (rv != CKR_OK) {
            dmsc_attrs_clear(dst);
            return rv;
        }
        dst->items[dst->n - 1].sealed = at->sealed;
    }
    return CKR_OK;
}

size_t dmsc_attrs_size(const dmsc_attrs *a)
{
    size_t size = 0;
    for (size_t i = 0; i < a->n; i++)
        size += a->items[i].len + 16; /* type and length as a card would keep them */
    return size;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

CK_RV dmsc_attrs_serialize(const dmsc_attrs *a, unsigned char **out, size_t *out_len)
{
    size_t len = sizeof(magic) + 4;
    for (size_t i = 0; i < a->n; i++)
        len += 8 + 1 + 4 + a->items[i].len;
    unsigned char *buf = malloc(len);
    if (buf == NULL)
        return CKR_HOST_MEMORY;
    unsigned char *p = buf;
    memcpy(p, magic, sizeof(magic));
    p += sizeof(magic);
    put_be(p, a->n, 4);
    p += 4;
    for (size_t i = 0; i < a->n; i++) {
        const dmsc_attr *at = &a->items[i];
        put_be(p, at->type, 8);
        p[8] = at->sealed ? 1 : 0;
        put_be(p + 9, at->len, 4);
        p += 13;
        if (at->len)
            memcpy(p, at->value, at->len);
        p += at->len;
    }
    *out = buf;
    *out_len = len;
    return CKR_OK;
}

CK_RV dmsc_attrs_parse(const unsigned char *buf, size_t len, dmsc_attrs *a)
{
    dmsc_attrs_init(a);
    if (buf == NULL || len < sizeof(magic) + 4 || memcmp(buf, magic, sizeof(magic)) != 0)
        return CKR_DEVICE_ERROR;
    const unsigned char *p = buf + sizeof(magic), *end = buf + len;
    uint64_t n = get_be(p, 4);
    p += 4;
    if (n > MAX_ATTRS)
        return CKR_DEVICE_ERROR;
    for (uint64_t i = 0; i < n; i++) {
        if ((size_t)(end - p) < 13)
            goto bad;
        CK_ATTRIBUTE_TYPE type = (CK_ATTRIBUTE_TYPE)get_be(p, 8);
        unsigned flags = p[8];
        uint64_t vlen = get_be(p + 9, 4);
        p += 13;
        if (flags > 1 || vlen > MAX_VALUE || vlen > (uint64_t)(end - p) || dmsc_attrs_find(a, type))
            goto bad;
        CK_RV rv = dmsc_attrs_set(a, type, p, (CK_ULONG)vlen);
        if (rv != CKR_OK) {
            dmsc_attrs_clear(a);
            return rv;
        }
        a->items[a->n - 1].sealed = flags == 1;
        p += vlen;
    }
    if (p != end)
        goto bad;
    return CKR_OK;
bad:
    dmsc_attrs_clear(a);
    return CKR_DEVICE_ERROR;
}

bool dmsc_template_bool(const CK_ATTRIBUTE *attr, bool *value)
{
    if (attr->pValue == NULL || attr->ulValueLen != sizeof(CK_BBOOL))
        return false;
    /* Any non-zero byte is true, as most modules and applications read it. */
    *value = *(const CK_BBOOL *)attr->pValue != CK_FALSE;
    return true;
}

bool dmsc_template_ulong(const CK_ATTRIBUTE *attr, CK_ULONG *value)
{
    if (attr->pValue == NULL || attr->ulValueLen != sizeof(CK_ULONG))
        return false;
    memcpy(value, attr->pValue, sizeof(CK_ULONG));
    return true;
}

const CK_ATTRIBUTE *dmsc_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}
