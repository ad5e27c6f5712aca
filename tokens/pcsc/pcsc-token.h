/*
 * The PC/SC backend's own state, shared by its files: a token per reader,
 * the card's PKCS#15 structure as read once per insertion (the "model"),
 * and the card objects it shows as PKCS#11 objects.
 *
 * Files: backend.c (ops table, slots, token info, sync), p15-card.c
 * (talking to the card: selecting, reading, the structure), p15-attrs.c
 * (PKCS#11 attribute sets from the structure), p15-pin.c (PINs),
 * p15-sign.c (signing on the card), p15-write.c (MO writes).
 */
#ifndef DMSC_PCSC_TOKEN_H
#define DMSC_PCSC_TOKEN_H

#include "backend.h"
#include "iso7816.h"
#include "pkcs15.h"
#include "reader.h"

#include <pthread.h>

/* CKA_APPLICATION of the DM bootstrap, as on the virtual UICC (DESIGN.md). */
#define PCSC_BOOTSTRAP_APP "OMA-DM:BOOTSTRAP"

/* The debug area of the backend's traces (DMSC_DEBUG=card). */
#define PCSC_DEBUG DMSC_DEBUG_CARD

/* Bounds on what is read from a card (its bytes are untrusted). */
#define PCSC_MAX_DF (16u * 1024)      /* ODF, TokenInfo, a directory file */
#define PCSC_MAX_VALUE (64u * 1024)   /* a data object, certificate or public key */
#define PCSC_MAX_DIR 1024             /* EF(DIR) */
/* The longest PIN the module takes (dmsc_p15_pin_format's block): a
 * longer one is refused whatever the AODF's maxLength says. */
#define PCSC_MAX_PIN 64

typedef enum { PCSC_OBJ_DATA, PCSC_OBJ_CERT, PCSC_OBJ_PUBKEY, PCSC_OBJ_PRKEY } pcsc_obj_kind;

/* One card object: where it is in the model, its value once read. */
typedef struct {
    uint64_t oid;            /* stable while the card stays inserted */
    pcsc_obj_kind kind;
    size_t index;            /* into the model's array of that kind */
    unsigned char *value;    /* the EF's bytes (data, certificate, public key) */
    size_t value_len;
    bool value_read;
    bool left_out;           /* its value cannot be read whole (too big, past READ BINARY's offsets): not shown */
} pcsc_obj;

/* The card's PKCS#15 application as read at insertion. */
typedef struct {
    dmsc_p15_tokeninfo ti;
    dmsc_p15_objects objs;
    size_t *data_dodf;       /* per data object: which DODF (index into dodfs) */
    dmsc_p15_path *dodfs;    /* the DODFs, in ODF order */
    unsigned char **dodf_raw; /* each DODF's bytes as read (or last written) */
    size_t *dodf_len;
    size_t *dodf_cap;        /* each DODF EF's size (0: the card did not say) */
    size_t n_dodfs;
    bool df_left_out;        /* a directory file was not read or parsed: objects may lie where none is known */
    pcsc_obj *obj;
    size_t n_obj;
} pcsc_model;

typedef struct pcsc_backend pcsc_backend;

struct dmsc_btoken {
    pcsc_backend *be;
    size_t index;            /* the reader's index: slot DMSC_PCSC_SLOT_BASE + index */
    dmsc_card *card;         /* connected, or NULL */
    uint64_t card_drops;     /* counts pcsc_card_drop: has card been freed (and maybe replaced) since? */
    uint64_t insertion;      /* the reader's insertion count the card belongs to */
    bool probed, has_app;    /* for that insertion: is the PKCS#15 application there */
    uint64_t resets;         /* card resets seen in this insertion */
    bool in_app;             /* the application DF is the current DF */
    bool have_app_path;      /* found through EF(DIR); else selected by AID */
    dmsc_p15_path app_path;
    pcsc_model *model;       /* NULL until read */
    /* Login state, as the card holds it (a reset clears it). */
    bool user_in, so_in;
    uint8_t puk[64];         /* the verified PUK, formatted, for C_InitPIN in an SO session */
    size_t puk_len;
    int user_tries_max, so_tries_max; /* the most tries seen since the insertion (a card does not say its maximum) */
    /* What the module's cache holds. */
    uint64_t gen, seen_gen;
    uint64_t seen_presence;
    bool tell_logged_out;
    uint64_t *shown;         /* oids the cache holds */
    size_t n_shown;
};

struct pcsc_backend {
    dmsc_backend base;
    OSSL_LIB_CTX *libctx;
    dmsc_pcsc *pcsc;
    pthread_mutex_t lock;    /* every op: tokens share the PC/SC context */
    dmsc_btoken **tokens;    /* one per reader index, never freed before the backend */
    size_t n_tokens;
    dmsc_bslot *slots;
    size_t n_slots;
};

/* ---- p15-card.c ---- */

/* The presence value of the token: see dmsc_bslot. */
uint64_t pcsc_presence(const dmsc_btoken *t);
/* Make sure the token's card is connected and its structure read
 * (polling the reader first). CKR_TOKEN_NOT_PRESENT: no card, or no
 * PKCS#15 application on it. */
CK_RV pcsc_card_ready(dmsc_btoken *t);
/* Connect and look for the PKCS#15 application (once per insertion). */
CK_RV pcsc_card_probe(dmsc_btoken *t, const dmsc_reader_state *rs);
/* Forget the card: disconnect, drop the structure and the login. */
void pcsc_card_drop(dmsc_btoken *t);
/* What a transmit error means for the token: a reset is handled (the
 * login is gone, the application re-selected); a removal drops the card.
 * Returns rv, or CKR_OK when a reset was handled and the caller may retry. */
CK_RV pcsc_card_failed(dmsc_btoken *t, CK_RV rv);
/* Forget every login state (the card's and ours). */
void pcsc_forget_login(dmsc_btoken *t);
/* Select the application DF. */
CK_RV pcsc_select_app(dmsc_btoken *t, uint16_t *sw);
/* Select a PKCS#15 path (relative paths from the application DF). */
CK_RV pcsc_select(dmsc_btoken *t, const dmsc_p15_path *p, size_t *size, uint16_t *sw);
/* Can READ/UPDATE BINARY reach the bytes a path's index/length name
 * (offsets up to DMSC_ISO_MAX_OFFSET)? Without a range: true. */
bool pcsc_path_reachable(const dmsc_p15_path *p);
/* The bytes a path names (a whole EF, or index/length of it), at most
 * max; CKR_OK with *sw the card's answer (*out is set only on 9000). */
CK_RV pcsc_read_path(dmsc_btoken *t, const dmsc_p15_path *p, size_t max, unsigned char **out, size_t *len,
                     uint16_t *sw);
/* Run a card operation in one card transaction that starts with no DF
 * taken as current (the application is selected again before a relative
 * path); after a card reset (the login is gone, the application
 * re-selected) it runs once more. */
CK_RV pcsc_card_run(dmsc_btoken *t, CK_RV (*fn)(dmsc_btoken *t, void *ctx), void *ctx);
/* Read values not read yet (private ones need the user logged in). */
CK_RV pcsc_read_values(dmsc_btoken *t);
void pcsc_model_free(pcsc_model *m);
pcsc_obj *pcsc_obj_find(dmsc_btoken *t, uint64_t oid);
/* The oid of a data object (node path for MOs): the same on every read. */
uint64_t pcsc_data_oid(const pcsc_model *m, const dmsc_p15_data *d);
/* Is this DODF entry a spare EF, the bootstrap, an MO? */
bool pcsc_data_is_spare(const dmsc_p15_data *d);
bool pcsc_data_is_bootstrap(const dmsc_p15_data *d);
bool pcsc_data_is_mo(const dmsc_p15_data *d);
/* Trace a status word the backend cannot map: sw and what it means. */
void pcsc_trace_sw(const char *what, uint16_t sw);

/* ---- p15-attrs.c ---- */

/* The PKCS#11 attributes of a card object; CKR_FUNCTION_REJECTED when it
 * is not shown (a spare, a private value not read, a key without its
 * public half). */
CK_RV pcsc_obj_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out);
/* The size in bits of a private key (its public half's); 0 unknown. */
size_t pcsc_key_bits(dmsc_btoken *t, const dmsc_p15_common *key);

/* ---- p15-pin.c ---- */

/* The user PIN and the unblocking PIN (PUK) of the AODF, or NULL. */
const dmsc_p15_pin *pcsc_user_pin(const pcsc_model *m);
const dmsc_p15_pin *pcsc_so_pin(const pcsc_model *m);
/* Tries left (VERIFY without data): -1 unknown, else 0.. */
int pcsc_pin_tries(dmsc_btoken *t, const dmsc_p15_pin *pin);
/* After the card refused a command for want of the PIN (6982): if the
 * card has forgotten the user PIN (another application logged it out),
 * the login ends here too; the module hears it at the next sync. */
void pcsc_check_login(dmsc_btoken *t);
CK_RV pcsc_login(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len);
void pcsc_logout(dmsc_btoken *t);
CK_RV pcsc_init_pin(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV pcsc_set_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
                   const CK_UTF8CHAR *new_pin, CK_ULONG new_len);

/* ---- p15-sign.c ---- */

CK_RV pcsc_sign(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in, CK_ULONG in_len,
                unsigned char *sig, CK_ULONG *sig_len);

/* ---- p15-write.c ---- */

CK_RV pcsc_create(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored);
CK_RV pcsc_update(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored);
CK_RV pcsc_destroy(dmsc_btoken *t, uint64_t oid);
/* Does this DODF (as read) start with 00 and hold data after it (the
 * mark older versions of this module wrote first in a long DODF write,
 * left by a cut)? Its entries cannot be trusted: the DODF is left out. */
bool pcsc_dodf_torn(const unsigned char *der, size_t len);

#endif
