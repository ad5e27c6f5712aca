/*
 * The libtasn1 side of the PKCS#15 decoder: the definitions, decoding one
 * DER object (bounded, strict DER), the walk over a directory file, and
 * readers that copy a decoded field into a bounded place. Card bytes are
 * untrusted: every size is checked before it is used, and every failure
 * names the file, the object and the field.
 */
#include "pkcs15-int.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static asn1_node defs;
static pthread_once_t defs_once = PTHREAD_ONCE_INIT;

static void defs_make(void)
{
    char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";

    if (asn1_array2tree(dmsc_p15_asn1_tab, &defs, why) != ASN1_SUCCESS)
        defs = NULL;
}

asn1_node_const p15_defs(void)
{
    pthread_once(&defs_once, defs_make);
    return defs;
}

int p15_fail(p15_ctx *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->err == NULL || c->err_len == 0)
        return -1;
    if (c->object > 0)
        n = snprintf(c->err, c->err_len, "%s object %zu: ", c->file, c->object);
    else
        n = snprintf(c->err, c->err_len, "%s: ", c->file);
    if (n < 0 || (size_t)n >= c->err_len)
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

bool p15_utf8_ok(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t b = s[i];
        size_t more;
        uint32_t cp, min;

        if (b == 0)
            return false;
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) {
            more = 1, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            more = 2, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            more = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* No overlong forms, surrogates or values past U+10FFFF. */
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += more + 1;
    }
    return true;
}

/* asn1_read_value into buf (cap bytes): 0, P15_ABSENT, or -1 reported. */
static int read_raw(p15_ctx *c, asn1_node_const n, const char *name, const char *what, void *buf, size_t cap,
                    int *len, bool optional)
{
    int rc;

    *len = cap > INT_MAX ? INT_MAX : (int)cap;
    rc = asn1_read_value(n, name, buf, len);
    if (rc == ASN1_SUCCESS)
        return 0;
    if (rc == ASN1_ELEMENT_NOT_FOUND || rc == ASN1_VALUE_NOT_FOUND) {
        if (optional)
            return P15_ABSENT;
        return p15_fail(c, "%s is missing", what);
    }
    if (rc == ASN1_MEM_ERROR)
        return p15_fail(c, "%s is too long (%d bytes, at most %zu)", what, *len, cap);
    return p15_fail(c, "%s cannot be read (libtasn1: %s)", what, asn1_strerror(rc));
}

int p15_read_octets(p15_ctx *c, asn1_node_const n, const char *name, const char *what, uint8_t *out,
                    size_t cap, size_t *len, bool optional)
{
    int l, rc = read_raw(c, n, name, what, out, cap, &l, optional);

    if (rc == 0)
        *len = (size_t)l;
    return rc;
}

int p15_read_label(p15_ctx *c, asn1_node_const n, const char *name, const char *what, char **out, bool optional)
{
    uint8_t buf[P15_MAX_LABEL];
    int l, rc = read_raw(c, n, name, what, buf, sizeof buf, &l, optional);
    char *s;

    if (rc != 0)
        return rc;
    if (!p15_utf8_ok(buf, (size_t)l))
        return p15_fail(c, "%s is not UTF-8 text (or holds a NUL)", what);
    s = malloc((size_t)l + 1);
    if (s == NULL)
        return p15_fail(c, "out of memory for %s", what);
    memcpy(s, buf, (size_t)l);
    s[l] = '\0';
    *out = s;
    return 0;
}

int p15_read_uint(p15_ctx *c, asn1_node_const n, const char *name, const char *what, uint32_t max, uint32_t *out,
                  bool optional)
{
    uint8_t buf[8];
    uint64_t v = 0;
    int l, rc = read_raw(c, n, name, what, buf, sizeof buf, &l, optional);

    if (rc != 0) /* absent, or reported (missing, more than 8 bytes) */
        return rc;
    if (l == 0)
        return p15_fail(c, "%s is an empty INTEGER", what);
    if (buf[0] & 0x80)
        return p15_fail(c, "%s is negative", what);
    for (int i = 0; i < l; i++)
        v = (v << 8) | buf[i];
    if (v > max)
        return p15_fail(c, "%s is %llu, more than %u", what, (unsigned long long)v, max);
    *out = (uint32_t)v;
    return 0;
}

int p15_read_bits(p15_ctx *c, asn1_node_const n, const char *name, const char *what, unsigned *out, bool optional)
{
    /* Bit strings longer than this are not PKCS#15 flags. */
    uint8_t buf[16];
    unsigned v = 0;
    int bits, rc;

    rc = read_raw(c, n, name, what, buf, sizeof buf, &bits, optional);
    if (rc == P15_ABSENT) {
        *out = 0;
        return rc;
    }
    if (rc != 0)
        return -1;
    /* asn1_read_value gives a BIT STRING's length in bits. */
    if (bits < 0 || (size_t)bits > 8 * sizeof buf)
        return p15_fail(c, "%s has a bad length", what);
    for (int i = 0; i < bits && i < 32; i++)
        if (buf[i / 8] & (0x80u >> (i % 8)))
            v |= 1u << i;
    *out = v;
    return 0;
}

int p15_read_bool(p15_ctx *c, asn1_node_const n, const char *name, const char *what, bool *out)
{
    char buf[8];
    int l, rc = read_raw(c, n, name, what, buf, sizeof buf - 1, &l, false);

    if (rc != 0)
        return -1;
    buf[l] = '\0';
    if (strcmp(buf, "TRUE") == 0)
        *out = true;
    else if (strcmp(buf, "FALSE") == 0)
        *out = false;
    else
        return p15_fail(c, "%s is not a BOOLEAN", what);
    return 0;
}

int p15_read_choice(p15_ctx *c, asn1_node_const n, const char *name, const char *what, char *out, size_t cap)
{
    int l, rc = read_raw(c, n, name, what, out, cap - 1, &l, false);

    if (rc != 0)
        return -1;
    out[l] = '\0';
    return 0;
}

int p15_read_path(p15_ctx *c, asn1_node_const n, const char *name, const char *what, dmsc_p15_path *out,
                  bool optional)
{
    char f[256];
    dmsc_p15_path p = {0};
    int rc, ri, rl;

    snprintf(f, sizeof f, "%s.path", name);
    rc = p15_read_octets(c, n, f, what, p.path, sizeof p.path, &p.len, optional);
    if (rc != 0)
        return rc;
    if (p.len == 0 || p.len % 2 != 0)
        return p15_fail(c, "%s has %zu bytes: file ids are 2 bytes each", what, p.len);
    snprintf(f, sizeof f, "%s.index", name);
    ri = p15_read_uint(c, n, f, "the path's index", UINT32_MAX, &p.index, true);
    if (ri < 0)
        return -1;
    snprintf(f, sizeof f, "%s.length", name);
    rl = p15_read_uint(c, n, f, "the path's length", UINT32_MAX, &p.length, true);
    if (rl < 0)
        return -1;
    if (ri != rl)
        return p15_fail(c, "%s has an index without a length or a length without an index", what);
    p.has_range = ri == 0;
    *out = p;
    return 0;
}

int p15_read_object_value(p15_ctx *c, asn1_node_const n, const char *name, dmsc_p15_path *out)
{
    char f[256], alt[32];

    if (p15_read_choice(c, n, name, "the object's value", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "indirect") != 0)
        return P15_ABSENT;
    snprintf(f, sizeof f, "%s.indirect", name);
    if (p15_read_choice(c, n, f, "the object's value", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "path") != 0)
        return P15_ABSENT;
    snprintf(f, sizeof f, "%s.indirect.path", name);
    return p15_read_path(c, n, f, "the value's path", out, false);
}

int p15_read_common(p15_ctx *c, asn1_node_const n, const char *name, dmsc_p15_common *out)
{
    char f[256];
    unsigned flags;

    snprintf(f, sizeof f, "%s.label", name);
    if (p15_read_label(c, n, f, "the label", &out->label, true) < 0)
        return -1;
    snprintf(f, sizeof f, "%s.flags", name);
    if (p15_read_bits(c, n, f, "the object flags", &flags, true) < 0)
        return -1;
    out->private_obj = flags & 1u;
    out->modifiable = flags & 2u;
    snprintf(f, sizeof f, "%s.authId", name);
    if (p15_read_octets(c, n, f, "the authId", out->auth_id, sizeof out->auth_id, &out->auth_id_len, true) < 0)
        return -1;
    return 0;
}

int p15_decode(p15_ctx *c, const char *type, const uint8_t *der, size_t len, asn1_node *node)
{
    char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
    const char *w = why;
    asn1_node_const d = p15_defs();
    int l, rc;

    *node = NULL;
    if (d == NULL)
        return p15_fail(c, "the PKCS#15 ASN.1 definitions do not load (a build problem)");
    if (len > P15_MAX_FILE)
        return p15_fail(c, "%zu bytes, more than a card file holds (%d)", len, P15_MAX_FILE);
    rc = asn1_create_element(d, type, node);
    if (rc != ASN1_SUCCESS)
        return p15_fail(c, "no ASN.1 type %s (libtasn1: %s)", type, asn1_strerror(rc));
    l = (int)len;
    rc = asn1_der_decoding2(node, der, &l, ASN1_DECODE_FLAG_STRICT_DER, why);
    if (rc != ASN1_SUCCESS) {
        /* libtasn1 deletes the structure on failure; be sure. */
        asn1_delete_structure(node);
        /* libtasn1's description starts with ":: ". */
        while (*w == ':' || *w == ' ')
            w++;
        return p15_fail(c, "not a DER %s (libtasn1: %s%s%s)", strchr(type, '.') + 1, asn1_strerror(rc),
                        *w ? ": " : "", w);
    }
    if ((size_t)l != len) {
        asn1_delete_structure(node);
        return p15_fail(c, "%zu bytes after the %s", len - (size_t)l, strchr(type, '.') + 1);
    }
    return 0;
}

/* The length of the DER object at der[0..len): tag, length and contents,
 * or 0 when its header is bad or it runs past the end. */
static size_t object_size(const uint8_t *der, size_t len)
{
    unsigned char cls;
    unsigned long tag;
    int tag_len, len_len;
    long body;

    if (asn1_get_tag_der(der, (int)len, &cls, &tag_len, &tag) != ASN1_SUCCESS)
        return 0;
    /* Negative: indefinite (not DER), too big, or past the end. */
    body = asn1_get_length_der(der + tag_len, (int)len - tag_len, &len_len);
    if (body < 0)
        return 0;
    return (size_t)tag_len + (size_t)len_len + (size_t)body;
}

int p15_each_object(p15_ctx *c, const char *type, const uint8_t *der, size_t len, p15_object_fn fn, void *arg)
{
    size_t off = 0;

    c->object = 0;
    if (der == NULL && len > 0)
        return p15_fail(c, "no data");
    if (len > P15_MAX_FILE)
        return p15_fail(c, "%zu bytes, more than a card file holds (%d)", len, P15_MAX_FILE);
    while (off < len && der[off] != 0x00 && der[off] != 0xFF) {
        asn1_node obj;
        size_t size;
        int rc;

        c->object++;
        c->tag = der[off];
        size = object_size(der + off, len - off);
        if (size == 0)
            return p15_fail(c, "its DER header is bad or claims more than the %zu bytes left (truncated file?)",
                            len - off);
        if (p15_decode(c, type, der + off, size, &obj) < 0)
            return -1;
        rc = fn(c, obj, arg);
        asn1_delete_structure(&obj);
        if (rc < 0)
            return -1;
        off += size;
    }
    return 0;
}

int p15_other(p15_ctx *c, const char *what)
{
    if ((c->tag & 0xC0) == 0x80)
        return 0;
    return p15_fail(c, "tag %02X is not %s", c->tag, what);
}

void p15_common_free(dmsc_p15_common *c)
{
    free(c->label);
    c->label = NULL;
}
