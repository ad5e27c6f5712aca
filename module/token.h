/*
 * A token as the module sees it: the backend token behind a slot, the
 * process's login state on it, and the cache of its objects with the
 * indexes a search uses (by handle, by store id, by label). Functions
 * ending in _inlock expect token->lock held.
 */
#ifndef DMSC_TOKEN_H
#define DMSC_TOKEN_H

#include "backend.h"
#include "map.h"
#include "object.h"
#include "policy.h"

#include <pthread.h>

#define DMSC_NOBODY ((CK_USER_TYPE)-1)

typedef struct dmsc_token {
    pthread_mutex_t lock;
    const dmsc_backend_ops *ops;
    dmsc_btoken *bt;
    CK_SLOT_ID slot_id;
    CK_USER_TYPE login;       /* CKU_USER, CKU_SO or DMSC_NOBODY */
    CK_ULONG n_sessions;
    CK_ULONG n_rw_sessions;
    dmsc_map objects;         /* handle -> object, token and session objects */
    dmsc_map by_oid;          /* store id -> token object */
    dmsc_map by_label;        /* label hash -> chain of objects */
    uint64_t synced_at_ms;    /* monotonic time of the last sync */
    bool gone;                /* a backend call found the card removed: its
                                 sessions end when the call leaves */
} dmsc_token;

dmsc_token *dmsc_token_new(const dmsc_backend_ops *ops, dmsc_btoken *bt, CK_SLOT_ID slot_id);
void dmsc_token_free(dmsc_token *t);

/* Note a backend call's answer: CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT
 * (the card left its reader) marks the token gone and is answered as
 * CKR_DEVICE_REMOVED, the code of a session call whose token went. */
CK_RV dmsc_token_note_inlock(dmsc_token *t, CK_RV rv);

/* Pick up changes other processes made to the store. */
CK_RV dmsc_token_sync_inlock(dmsc_token *t);

/* As dmsc_token_sync_inlock, unless the last sync is younger than
 * max_age_ms: for the hot path of cryptographic operations, where a
 * store round trip per call would cost more than the operation. */
CK_RV dmsc_token_sync_recent_inlock(dmsc_token *t, unsigned max_age_ms);

/* Take obj into the cache, giving it a handle. */
CK_RV dmsc_token_add_inlock(dmsc_token *t, dmsc_object *obj);
/* Take obj out of the cache and free it. */
void dmsc_token_drop_inlock(dmsc_token *t, dmsc_object *obj);
/* Replace obj's attributes (taking attrs), keeping the indexes right. */
void dmsc_token_replace_inlock(dmsc_token *t, dmsc_object *obj, dmsc_attrs *attrs);
/* Forget every cached token object (session objects stay). */
void dmsc_token_forget_inlock(dmsc_token *t);

/* The object behind a handle if the caller may see it, else NULL. */
dmsc_object *dmsc_token_lookup_inlock(dmsc_token *t, CK_OBJECT_HANDLE h);
bool dmsc_token_visible_inlock(const dmsc_token *t, const dmsc_object *obj);

/* The plain value of an attribute, unsealing if needed; *plain is
 * either the object's own buffer (*owned = false) or a malloc'd copy
 * the caller wipes and frees (*owned = true). */
CK_RV dmsc_token_value_inlock(dmsc_token *t, const dmsc_object *obj, const dmsc_attr *a,
                              const void **plain, CK_ULONG *len, bool *owned);

/* The object's key as an EVP_PKEY, parsed on first use and kept on the
 * object (no reference is added: take one to use it unlocked). */
CK_RV dmsc_token_pkey_inlock(dmsc_token *t, dmsc_object *obj, OSSL_LIB_CTX *libctx, EVP_PKEY **out);
/* Drop every parsed key (the user logged out: key material leaves memory). */
void dmsc_token_forget_keys_inlock(dmsc_token *t);

/* A malloc'd plain copy of one attribute's value (the caller wipes and
 * frees it); CKR_ATTRIBUTE_TYPE_INVALID when the object has none. */
CK_RV dmsc_token_value_copy_inlock(dmsc_token *t, const dmsc_object *obj, CK_ATTRIBUTE_TYPE type,
                                   unsigned char **out, CK_ULONG *len);
/* A copy of all the object's attributes with every sealed value opened. */
CK_RV dmsc_token_plain_attrs_inlock(dmsc_token *t, const dmsc_object *obj, dmsc_attrs *out);
/* Who is logged in, as the attribute policy asks it. */
dmsc_policy_who dmsc_token_who_inlock(const dmsc_token *t);

/* Every visible object matching the template, as handles (malloc'd). */
CK_RV dmsc_token_find_inlock(dmsc_token *t, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                             CK_OBJECT_HANDLE **found, size_t *n_found);

#endif
