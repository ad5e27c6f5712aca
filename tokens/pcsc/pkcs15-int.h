/*
 * What the pkcs15*.c files share: the libtasn1 definitions made from
 * pkcs15.asn, error reporting that names the file and the object, bounded
 * readers of decoded fields, and the walk over a directory file's objects.
 * Not for other units: pkcs15.h is the interface.
 */
#ifndef DMSC_PCSC_PKCS15_INT_H
#define DMSC_PCSC_PKCS15_INT_H

#include "pkcs15.h"

#include <libtasn1.h>
#include <stdarg.h>

/* PKCS#15's upper bounds (pkcs15-ub-label, -identifier, -reference). */
#define P15_MAX_LABEL 255
#define P15_MAX_REF 255
/* The largest file accepted: an ISO 7816 EF's offsets are 15 bits. */
#define P15_MAX_FILE 65535

/* The table asn1Parser makes from pkcs15.asn (pkcs15-asn1-tab.c). */
extern const asn1_static_node dmsc_p15_asn1_tab[];

/* The parsed definitions, made once (thread-safe); NULL only if the
 * table itself is broken, which the unit test would show. */
asn1_node_const p15_defs(void);

/* Where a decoding is: "PrKDF object 2: ..." in every message. */
typedef struct {
    const char *file; /* "EF(DIR)", "ODF", "TokenInfo", "PrKDF", ... */
    size_t object;    /* 1-based object number in the file; 0: the file */
    uint8_t tag;      /* the first byte of the object being decoded */
    char *err;
    size_t err_len;
} p15_ctx;

/* Writes "<file>[ object N]: <message>" into c->err; returns -1. */
int p15_fail(p15_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Result of an optional read: present, absent, or an error (reported). */
enum { P15_ABSENT = 1 };

/* Each reads the field `name` of a decoded node. Those with `optional`
 * return P15_ABSENT when it is not there (and leave *out alone), else a
 * missing field is an error. `what` names the field in messages. */
int p15_read_octets(p15_ctx *c, asn1_node_const n, const char *name, const char *what, uint8_t *out,
                    size_t cap, size_t *len, bool optional);
/* A Label (UTF8String): valid UTF-8, no NUL, at most 255 bytes; malloc'd. */
int p15_read_label(p15_ctx *c, asn1_node_const n, const char *name, const char *what, char **out, bool optional);
/* A non-negative INTEGER (or ENUMERATED) no larger than max. */
int p15_read_uint(p15_ctx *c, asn1_node_const n, const char *name, const char *what, uint32_t max, uint32_t *out,
                  bool optional);
/* A BIT STRING as flags: bit i of the string is bit i of *out (named bits
 * beyond 31 are ignored). Absent optional: *out = 0. */
int p15_read_bits(p15_ctx *c, asn1_node_const n, const char *name, const char *what, unsigned *out, bool optional);
/* A BOOLEAN (DEFAULT values come from the definitions). */
int p15_read_bool(p15_ctx *c, asn1_node_const n, const char *name, const char *what, bool *out);
/* The name of the alternative a decoded CHOICE took. */
int p15_read_choice(p15_ctx *c, asn1_node_const n, const char *name, const char *what, char *out, size_t cap);
/* A Path: file ids (even length, 2..16 bytes), index and length both or
 * neither. */
int p15_read_path(p15_ctx *c, asn1_node_const n, const char *name, const char *what, dmsc_p15_path *out,
                  bool optional);
/* An ObjectValue: 0 and *out for an indirect path; P15_ABSENT for the
 * kinds dmsc does not read (URL, direct, protected). */
int p15_read_object_value(p15_ctx *c, asn1_node_const n, const char *name, dmsc_p15_path *out);
/* CommonObjectAttributes at `name`: label, flags, authId into *out. */
int p15_read_common(p15_ctx *c, asn1_node_const n, const char *name, dmsc_p15_common *out);

/* An object whose CHOICE took "other": skipped (0) when its tag is a
 * context-specific one, as the standard's later alternatives are; -1
 * reported for any other tag (not an object of this file at all). */
int p15_other(p15_ctx *c, const char *what);

/* Is s (len bytes) UTF-8 (RFC 3629) without NUL? */
bool p15_utf8_ok(const uint8_t *s, size_t len);

/* Decodes der[0..len) as one `type` ("PKCS15.TokenInfo"), which must
 * take all of it. *node is the decoded tree (asn1_delete_structure). */
int p15_decode(p15_ctx *c, const char *type, const uint8_t *der, size_t len, asn1_node *node);

/* Calls fn for each object of a directory file (a concatenation of DER
 * objects of `type`, ended by the data's end or by 00 or FF padding),
 * c->object counting them. Stops at the first error fn returns. */
typedef int (*p15_object_fn)(p15_ctx *c, asn1_node_const obj, void *arg);
int p15_each_object(p15_ctx *c, const char *type, const uint8_t *der, size_t len, p15_object_fn fn, void *arg);

void p15_common_free(dmsc_p15_common *c);

#endif
