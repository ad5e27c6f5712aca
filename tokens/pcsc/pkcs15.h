/*
 * The PKCS#15 structures of a DM smart card (PKCS#15 v1.1, ISO 7816-15),
 * decoded and encoded with libtasn1 from the ASN.1 in pkcs15.asn: EF(DIR)
 * records, EF(ODF), EF(TokenInfo) and the directory files the ODF points
 * to (PrKDF, PuKDF, CDF, DODF, AODF). Card bytes are untrusted: every
 * length is bounded, every failure says which file and what was wrong.
 */
#ifndef DMSC_PCSC_PKCS15_H
#define DMSC_PCSC_PKCS15_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A00000006350 4B43532D3135: the PKCS#15 application. */
extern const uint8_t DMSC_P15_AID[12];
/* DER of OID 2.23.43.7.1 (06 04 67 2B 07 01): the DM bootstrap in the
 * DODF (OMA DM bootstrap). Compare with dmsc_p15_data.oid/oid_len. */
extern const uint8_t DMSC_P15_DM_BOOTSTRAP_OID[6];
/* A DODF data object's applicationName marking an MO (the label is its
 * node path), as CKA_APPLICATION marks it on the virtual UICC. */
#define DMSC_P15_MO_APP "OMA-DM:MO"
/* A DODF data object's applicationName marking a spare EF: its path names
 * an EF the backend may write a new MO value into. */
#define DMSC_P15_SPARE_APP "OMA-DM:SPARE"

#define DMSC_P15_MAX_PATH 16
#define DMSC_P15_MAX_ID 64

typedef struct {
    uint8_t path[DMSC_P15_MAX_PATH]; /* file ids, 2 bytes each; 3F00... is absolute */
    size_t len;
    bool has_range;                  /* index/length name a part of the EF */
    uint32_t index, length;
} dmsc_p15_path;

typedef enum {
    DMSC_P15_PRKDF,
    DMSC_P15_PUKDF,
    DMSC_P15_PUKDF_TRUSTED,
    DMSC_P15_CDF,
    DMSC_P15_CDF_TRUSTED,
    DMSC_P15_CDF_USEFUL,
    DMSC_P15_DODF,
    DMSC_P15_AODF,
} dmsc_p15_df_kind;

typedef struct {
    dmsc_p15_df_kind kind;
    dmsc_p15_path path;
} dmsc_p15_odf_entry;

typedef struct {
    uint8_t serial[32];   /* TokenInfo.serialNumber (the ICCID on a UICC) */
    size_t serial_len;
    char *manufacturer;   /* malloc'd or NULL */
    char *label;          /* malloc'd or NULL */
    unsigned flags;       /* TokenFlags bits: 0 readonly, 1 loginRequired, ... */
} dmsc_p15_tokeninfo;

/* What every PKCS#15 object has (CommonObjectAttributes and the id). */
typedef struct {
    char *label;                     /* malloc'd UTF-8, or NULL */
    bool private_obj, modifiable;    /* CommonObjectFlags */
    uint8_t auth_id[DMSC_P15_MAX_ID]; /* the PIN that guards it; len 0: none */
    size_t auth_id_len;
    uint8_t id[DMSC_P15_MAX_ID];     /* iD of keys and certificates; len 0: none */
    size_t id_len;
    dmsc_p15_path path;              /* where the value is (indirect objects) */
} dmsc_p15_common;

typedef enum { DMSC_P15_KEY_RSA, DMSC_P15_KEY_EC } dmsc_p15_key_type;

typedef struct {
    dmsc_p15_common c;
    dmsc_p15_key_type type;
    unsigned usage;         /* KeyUsageFlags bits: 0 encrypt, 1 decrypt, 2 sign, ... */
    bool has_key_ref;
    uint8_t key_ref;        /* keyReference: the card's key number for MSE */
    uint32_t bits;          /* modulusLength (RSA); 0 when not given */
} dmsc_p15_prkey;

typedef struct {
    dmsc_p15_common c;
    dmsc_p15_key_type type;
    unsigned usage;
    bool trusted;           /* from a trustedPublicKeys PuKDF */
} dmsc_p15_pubkey;

typedef struct {
    dmsc_p15_common c;
    bool authority, trusted; /* CommonCertificateAttributes.authority; trustedCertificates CDF */
} dmsc_p15_cert;

typedef struct {
    dmsc_p15_common c;
    char *app_name;          /* applicationName, malloc'd or NULL */
    uint8_t oid[32];         /* applicationOID as DER (06 len ...); len 0: none */
    size_t oid_len;
} dmsc_p15_data;

typedef enum { DMSC_P15_PIN_BCD, DMSC_P15_PIN_ASCII_NUMERIC, DMSC_P15_PIN_UTF8 } dmsc_p15_pin_type;

typedef struct {
    dmsc_p15_common c;       /* c.auth_id is the PIN's own authId */
    unsigned flags;          /* PinFlags bits: 0 case-sensitive, 1 local, ... 4 initialized,
                                5 needs-padding, 6 unblockingPin, 7 soPin */
    dmsc_p15_pin_type type;
    size_t min_len, stored_len, max_len; /* max_len 0: not given */
    bool has_ref;
    uint8_t ref;             /* pinReference for VERIFY */
    bool has_pad;
    uint8_t pad_char;
} dmsc_p15_pin;

typedef struct {
    dmsc_p15_prkey *prkeys;   size_t n_prkeys;
    dmsc_p15_pubkey *pubkeys; size_t n_pubkeys;
    dmsc_p15_cert *certs;     size_t n_certs;
    dmsc_p15_data *data;      size_t n_data;
    dmsc_p15_pin *pins;       size_t n_pins;
} dmsc_p15_objects;

/* Each returns 0, or -1 with a message naming the problem in err. A
 * directory file's trailing 00 or FF padding ends it. */
int dmsc_p15_parse_dir(const uint8_t *der, size_t len, dmsc_p15_path *app_path, char *err, size_t err_len);
int dmsc_p15_parse_odf(const uint8_t *der, size_t len, dmsc_p15_odf_entry **out, size_t *n, char *err,
                       size_t err_len);
int dmsc_p15_parse_tokeninfo(const uint8_t *der, size_t len, dmsc_p15_tokeninfo *out, char *err, size_t err_len);
/* Decode one directory file of the given kind, appending to objs (on
 * failure objs is unchanged). Skipped without an error, as PKCS#15 wants
 * unknown alternatives skipped: keys other than RSA and EC, certificates
 * other than X.509, data objects other than opaqueDO, authentication
 * objects other than PINs, PINs of type half-nibble-bcd or iso9564-1, and
 * public keys, certificates and data objects whose value is not an
 * indirect path (URL, direct or protected values are not supported); a
 * private key whose value is not a path is kept with c.path.len 0 (it is
 * used by keyReference). In the AODF, c.path is the PIN's DF (PinAttributes
 * path) and has_ref is always true (pinReference is DEFAULT 0). The ODF
 * skips secretKeys entries and entries not given by a path. */
int dmsc_p15_parse_df(dmsc_p15_df_kind kind, const uint8_t *der, size_t len, dmsc_p15_objects *objs, char *err,
                      size_t err_len);

/* The DER of a whole DODF holding these data objects (for writing MOs:
 * the entries are rewritten after the MO's EF, so a torn write leaves the
 * old DODF naming the old, whole MO). *der is malloc'd. */
int dmsc_p15_encode_dodf(const dmsc_p15_data *objs, size_t n, uint8_t **der, size_t *len, char *err,
                         size_t err_len);

/* The PIN as the card wants it in VERIFY: BCD or ASCII, padded with
 * pad_char to stored_len when needs-padding. -1 when the PIN's length or
 * characters do not fit the AODF's rules. out must hold 64 bytes. */
int dmsc_p15_pin_format(const dmsc_p15_pin *pin, const uint8_t *in, size_t len, uint8_t out[64], size_t *out_len);

void dmsc_p15_tokeninfo_free(dmsc_p15_tokeninfo *ti);
void dmsc_p15_objects_free(dmsc_p15_objects *objs);

#endif
