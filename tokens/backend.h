/*
 * The token backend interface: what the module asks of a card. The
 * virtual UICC (tokens/vuicc) and the PC/SC UICC (tokens/pcsc, a PKCS#15
 * card in a reader) implement it. The module keeps sessions, handles, the object
 * cache and the attribute policy; a backend keeps slots, PINs and the
 * objects at rest.
 *
 * Every call on one backend token is made with that token's module lock
 * held, so a backend needs its own locking only for state that several
 * tokens share (a card file holding several applications).
 */
#ifndef DMSC_BACKEND_H
#define DMSC_BACKEND_H

#include "attrs.h"

#include <openssl/types.h>

typedef struct dmsc_backend dmsc_backend;
typedef struct dmsc_btoken dmsc_btoken;

typedef struct {
    CK_SLOT_ID id;       /* stable for the life of the store */
    CK_SLOT_INFO info;   /* description, manufacturer, flags, versions */
    dmsc_btoken *token;  /* owned by the backend; stable while the backend lives */
    /* Which token the slot holds, for C_WaitForSlotEvent: changes when a
     * token comes, goes or is re-initialised (by any process); 0 for a
     * slot with no initialised token. */
    uint64_t presence;
} dmsc_bslot;

/* Receives the changes a sync finds. upsert takes ownership of attrs. */
typedef struct {
    void *ctx;
    void (*reset)(void *ctx);        /* forget every cached token object */
    void (*logged_out)(void *ctx);   /* the token was re-initialised elsewhere */
    CK_RV (*upsert)(void *ctx, uint64_t oid, dmsc_attrs *attrs);
    void (*remove)(void *ctx, uint64_t oid);
} dmsc_sync_sink;

typedef struct {
    const char *name;
    void (*free)(dmsc_backend *be);
    /* Current slots; the array stays valid until the next call. */
    CK_RV (*slots)(dmsc_backend *be, const dmsc_bslot **slots, size_t *n);

    /* Token state. info: label, serial, flags, memory, PIN lengths. */
    CK_RV (*token_info)(dmsc_btoken *t, CK_TOKEN_INFO *info);
    /* Bring the caller's cache up to date; cheap when nothing changed. */
    CK_RV (*sync)(dmsc_btoken *t, const dmsc_sync_sink *sink);

    CK_RV (*init_token)(dmsc_btoken *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_len,
                        const CK_UTF8CHAR label[32]);
    CK_RV (*login)(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len);
    void (*logout)(dmsc_btoken *t);
    /* Called in an SO login: set (or unblock) the user PIN. */
    CK_RV (*init_pin)(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len);
    CK_RV (*set_pin)(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin,
                     CK_ULONG old_len, const CK_UTF8CHAR *new_pin, CK_ULONG new_len);

    /* Token objects. attrs are plain on the way in; the backend may seal
     * values at rest and hand them back sealed through sync. Each call
     * is durable when it returns CKR_OK and changes nothing otherwise. */
    CK_RV (*create)(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored);
    CK_RV (*update)(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored);
    CK_RV (*destroy)(dmsc_btoken *t, uint64_t oid);
    /* Open a sealed value (needs a login); *plain is malloc'd, wipe it. */
    CK_RV (*unseal)(dmsc_btoken *t, const dmsc_attr *sealed, void **plain, CK_ULONG *len);

    /* Sign with a private key that never leaves the card: the object oid
     * is a CKO_PRIVATE_KEY with no private value among its attributes.
     * NULL for a backend whose keys are values (the virtual UICC).
     * mech is CKM_RSA_PKCS (in: the DigestInfo, or the raw data, to pad
     * and sign) or CKM_ECDSA (in: the hash; out: r || s as PKCS#11 has
     * it); others are CKR_MECHANISM_INVALID. sig has *sig_len bytes of
     * room; *sig_len is set to the signature's length. Needs a login. */
    CK_RV (*sign)(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in,
                  CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len);
} dmsc_backend_ops;

struct dmsc_backend {
    const dmsc_backend_ops *ops;
};

/* The virtual UICC backend over the configured store; its keys at rest
 * are computed in the module's OpenSSL library context. */
CK_RV dmsc_vuicc_open(OSSL_LIB_CTX *libctx, dmsc_backend **out);

/* The PC/SC backend: one slot per reader (or per reader named in the
 * configuration's pcsc_readers), a PKCS#15 DM card in it as the token.
 * Slot ids are DMSC_PCSC_SLOT_BASE + the reader's index. */
#define DMSC_PCSC_SLOT_BASE ((CK_SLOT_ID)0x10000)
CK_RV dmsc_pcsc_open(OSSL_LIB_CTX *libctx, const char *const *readers, size_t n_readers, dmsc_backend **out);

#endif
