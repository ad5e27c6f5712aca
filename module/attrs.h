/*
 * An object's attributes: a small owned array of (type, value) pairs.
 * Values are copied in and wiped on the way out, since some of them are
 * key material. A "sealed" value is ciphertext as the token keeps it at
 * rest; only the token backend can open it.
 */
#ifndef DMSC_ATTRS_H
#define DMSC_ATTRS_H

#include "common.h"

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    void *value; /* owned; NULL when len == 0 */
    CK_ULONG len;
    bool sealed;
} dmsc_attr;

typedef struct {
    dmsc_attr *items;
    size_t n;
    size_t cap;
} dmsc_attrs;

void dmsc_attrs_init(dmsc_attrs *a);
/* Frees and wipes every value. */
void dmsc_attrs_clear(dmsc_attrs *a);

dmsc_attr *dmsc_attrs_find(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type);
/* Copies value in, replacing any earlier value of the type. */
CK_RV dmsc_attrs_set(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);
/* As dmsc_attrs_set, but takes ownership of value (freed with free()). */
CK_RV dmsc_attrs_take(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, void *value, CK_ULONG len, bool sealed);
CK_RV dmsc_attrs_set_bool(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool value);
CK_RV dmsc_attrs_set_ulong(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG value);
bool dmsc_attrs_remove(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type);

/* Read a CK_BBOOL / CK_ULONG attribute; false when absent or malformed. */
bool dmsc_attrs_get_bool(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool *value);
bool dmsc_attrs_get_ulong(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *value);
/* A boolean attribute that defaults to def when absent. */
bool dmsc_attrs_is_true(const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, bool def);

CK_RV dmsc_attrs_copy(dmsc_attrs *dst, const dmsc_attrs *src);
/* Bytes the values take, as counted against the card's capacity. */
size_t dmsc_attrs_size(const dmsc_attrs *a);

/* Stable binary form for the store; parse checks every length. */
CK_RV dmsc_attrs_serialize(const dmsc_attrs *a, unsigned char **out, size_t *out_len);
CK_RV dmsc_attrs_parse(const unsigned char *buf, size_t len, dmsc_attrs *a);

/* Turn a caller's CK_BBOOL/CK_ULONG template entry into a value. */
bool dmsc_template_bool(const CK_ATTRIBUTE *attr, bool *value);
bool dmsc_template_ulong(const CK_ATTRIBUTE *attr, CK_ULONG *value);
const CK_ATTRIBUTE *dmsc_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);

#endif
