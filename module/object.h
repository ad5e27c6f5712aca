/*
 * An object as the module holds it: its attributes (secret values of
 * private token objects still sealed, as the store keeps them), its
 * handle, and the few facts a search needs without parsing attributes.
 */
#ifndef DMSC_OBJECT_H
#define DMSC_OBJECT_H

#include "attrs.h"

#include <openssl/types.h>

typedef struct dmsc_object {
    CK_OBJECT_HANDLE handle;
    uint64_t oid;                /* store id; 0 for a session object */
    CK_SESSION_HANDLE owner;     /* creating session of a session object */
    dmsc_attrs attrs;
    CK_OBJECT_CLASS klass;
    bool is_private;
    uint64_t label_hash;
    struct dmsc_object *label_next; /* chain of the label index */
    EVP_PKEY *pkey;              /* parsed once from the attributes, on first use */
    uint64_t serial;             /* new for every set of attributes: a cache key */
} dmsc_object;

/* A new object taking the attributes (attrs is left empty). */
dmsc_object *dmsc_object_new(dmsc_attrs *attrs);
void dmsc_object_free(dmsc_object *obj);
/* Replace the attributes (taking them) and refresh the cached facts. */
void dmsc_object_set_attrs(dmsc_object *obj, dmsc_attrs *attrs);
/* Forget the parsed key (attributes changed, or the user logged out). */
void dmsc_object_forget_key(dmsc_object *obj);
uint64_t dmsc_object_label_hash(const void *label, size_t len);

/* Next handle number: unique in the process, never reused. */
CK_ULONG dmsc_next_handle(void);

#endif
