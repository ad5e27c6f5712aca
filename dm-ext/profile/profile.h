/*
 * dm-ext/profile/profile.h - a card profile: what `dmsc personalise` puts
 * on a card (the card's identity, its applications, their PINs and
 * content), read from XML and checked against dm-ext/profile/profile.rng.
 *
 * Reading happens in two steps, both before anything is written to a card:
 *   1. dmsc_profile_parse(): the XML (from memory: bounded, no DTD, no
 *      entities, nothing fetched) validated against the RELAX NG schema,
 *      then the rules the schema cannot say (labels unique, ...), into a
 *      struct dmsc_profile.  No file is opened: this step is fuzzed
 *      (dm-ext/profile/fuzz-profile.c).
 *   2. dmsc_profile_load(): every file the profile names (relative to the
 *      profile's directory) is read and checked - PEM certificates and
 *      keys, TNDS, the bootstrap message (XML is encoded to WBXML here) -
 *      and every secret is fetched from its source (value, environment,
 *      file).
 * Each failure is one message naming the file and line and the rule
 * broken, "PROFILE:LINE: <element>: what is wrong (and the fix)"; for an
 * error inside a referenced file, that file's name and line follow.
 *
 * Secrets (PINs, the DM client secret) are wiped (OPENSSL_cleanse) by
 * dmsc_profile_free().  libxml2 must be initialised (xmlInitParser()).
 */
#ifndef DMSC_PROFILE_H
#define DMSC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Bounds: a profile, and any one file it names. */
#define DMSC_PROFILE_MAX_BYTES (1024u * 1024u)
#define DMSC_PROFILE_MAX_FILE  (4u * 1024u * 1024u)
#define DMSC_PROFILE_PIN_MIN    4u    /* the virtual UICC's PIN bounds */
#define DMSC_PROFILE_PIN_MAX    64u
#define DMSC_PROFILE_SECRET_MAX 256u  /* a DM client secret */
#define DMSC_PROFILE_ID_MAX     32u   /* CKA_ID bytes */

typedef struct dmsc_profile_error {
	char message[768];
} dmsc_profile_error;

enum dmsc_profile_status {
	DMSC_PROFILE_OK = 0,
	DMSC_PROFILE_INVALID = -1,   /* the profile or a file it names is
	                                refused (the message says why) */
	DMSC_PROFILE_IO = -2,        /* a file cannot be read */
	DMSC_PROFILE_NOMEM = -3,
};

/* Where a secret comes from. */
enum dmsc_secret_source {
	DMSC_SECRET_VALUE,           /* value="..." in the profile */
	DMSC_SECRET_ENV,             /* env="VARIABLE" */
	DMSC_SECRET_FILE,            /* file="PATH": its first line */
};

struct dmsc_profile_secret {
	enum dmsc_secret_source source;
	char *ref;                   /* the value, variable or path as written */
	long line;
	/* After dmsc_profile_load(): */
	unsigned char *bytes;
	size_t len;
};

enum dmsc_profile_item_kind {
	DMSC_ITEM_KEY,               /* <key>: generate a key pair */
	DMSC_ITEM_IMPORT_KEY,        /* <import-key>: a PEM private key */
	DMSC_ITEM_MA_CERT,           /* <ma-certificate>: the trust anchor */
	DMSC_ITEM_DM_CREDENTIAL,     /* <dm-credential>: a generic secret */
	DMSC_ITEM_MO,                /* <mo>: TNDS at a node path */
	DMSC_ITEM_BOOTSTRAP,         /* <bootstrap>: stored as WBXML */
};

enum dmsc_key_type { DMSC_KEY_RSA, DMSC_KEY_EC, DMSC_KEY_ED25519 };

struct dmsc_profile_item {
	enum dmsc_profile_item_kind kind;
	long line;
	char *label;                 /* CKA_LABEL; an MO's node path */
	unsigned char id[DMSC_PROFILE_ID_MAX]; /* CKA_ID (not MO, bootstrap) */
	size_t id_len;
	char *file;                  /* as written; NULL for <key> */
	/* <key> */
	enum dmsc_key_type key_type;
	unsigned bits;               /* RSA */
	const char *curve;           /* EC: "P-256", "P-384", "P-521" */
	/* <dm-credential> */
	struct dmsc_profile_secret secret;
	/* After dmsc_profile_load(): the bytes to store (a certificate's DER,
	 * an MO's TNDS, the bootstrap's WBXML), or the imported key. */
	unsigned char *value;
	size_t value_len;
	EVP_PKEY *pkey;
	X509 *cert;                  /* <ma-certificate>, parsed */
};

struct dmsc_profile_app {
	char *label;                 /* the token label, 1-32 bytes */
	long line;
	struct dmsc_profile_secret so_pin;
	struct dmsc_profile_secret user_pin;
	struct dmsc_profile_item *items;
	size_t n_items;
};

struct dmsc_profile {
	char *name;                  /* the profile file, as given */
	char *dir;                   /* its directory: files are relative */
	char iccid[24];
	char imsi[20];
	uint64_t capacity;
	long card_line;
	struct dmsc_profile_app *apps;
	size_t n_apps;
};

/* The schema's text, built into the tool from profile.rng (the file
 * installed as $(datadir)/dmsc/profile.rng is the same), so the tool and
 * its schema cannot drift apart.  Generated: profile-rng.c. */
extern const unsigned char dmsc_profile_schema[];
extern const size_t dmsc_profile_schema_len;

/* Step 1.  name is the profile's file name (for messages and, through
 * its directory, step 2); schema is the RELAX NG grammar's text.  On
 * success *out is the profile (dmsc_profile_free it). */
int dmsc_profile_parse(const char *name, const unsigned char *xml,
                       size_t len, const unsigned char *schema,
                       size_t schema_len, struct dmsc_profile **out,
                       dmsc_profile_error *err);

/* Step 2: read, check and convert every file; fetch every secret. */
int dmsc_profile_load(struct dmsc_profile *p, dmsc_profile_error *err);

/* What an item is, for messages and step lists: "MO ./FUMO", "MA
 * certificate 'MA'", ... (into buf). */
const char *dmsc_profile_item_name(const struct dmsc_profile_item *it,
                                   char *buf, size_t len);

void dmsc_profile_free(struct dmsc_profile *p);

#endif /* DMSC_PROFILE_H */
