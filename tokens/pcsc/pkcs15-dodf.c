/*
 * Writing a DODF: each data object as a DER opaqueDO (DataType) made by
 * libtasn1 from pkcs15.asn, the objects one after the other. The backend
 * writes MO values into spare EFs first and this file last, so a torn
 * write leaves the old DODF naming the old, whole MO.
 */
#include "pkcs15-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets (value != NULL) or leaves out (NULL) one field; -1 reported. */
static int put(p15_ctx *c, asn1_node n, const char *name, const void *value, int len)
{
    int rc = asn1_write_value(n, name, value, len);

    if (rc != ASN1_SUCCESS)
        return p15_fail(c, "cannot set %s (libtasn1: %s)", name, asn1_strerror(rc));
    return 0;
}

/* The four extension slots and other optional fields dmsc never writes. */
static int leave_out(p15_ctx *c, asn1_node n, const char *prefix, const char *const *fields)
{
    char f[128];

    for (size_t i = 0; fields[i] != NULL; i++) {
        snprintf(f, sizeof f, "%s.%s", prefix, fields[i]);
        if (put(c, n, f, NULL, 0) < 0)
            return -1;
    }
    return 0;
}

static int check_text(p15_ctx *c, const char *s, const char *what)
{
    size_t len = strlen(s);

    if (len > P15_MAX_LABEL)
        return p15_fail(c, "%s has %zu bytes, more than %d", what, len, P15_MAX_LABEL);
    if (!p15_utf8_ok((const uint8_t *)s, len))
        return p15_fail(c, "%s is not UTF-8 text", what);
    return 0;
}

/* The DER of one data object, into a malloc'd *der. */
static int encode_one(p15_ctx *c, const dmsc_p15_data *d, uint8_t **der, size_t *len)
{
    static const char *const coa_unused[] = {"userConsent", "accessControlRules", "ext1", "ext2", "ext3", "ext4",
                                             NULL};
    static const char *const cda_unused[] = {"ext1", "ext2", "ext3", "ext4", NULL};
    char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "", oid[128], num[16];
    const dmsc_p15_path *p = &d->c.path;
    asn1_node n = NULL;
    uint8_t flags = (uint8_t)((d->c.private_obj ? 0x80 : 0) | (d->c.modifiable ? 0x40 : 0));
    int rc, l = 0;

    if (d->c.label != NULL && check_text(c, d->c.label, "the label") < 0)
        return -1;
    if (d->app_name != NULL && check_text(c, d->app_name, "the applicationName") < 0)
        return -1;
    if (d->c.auth_id_len > sizeof d->c.auth_id)
        return p15_fail(c, "the authId has %zu bytes, more than %zu", d->c.auth_id_len, sizeof d->c.auth_id);
    if (p->len == 0 || p->len % 2 != 0 || p->len > sizeof p->path)
        return p15_fail(c, "the value's path has %zu bytes: 2 to %zu, 2 per file id", p->len, sizeof p->path);
    if (d->oid_len > 0) {
        int used;

        if (d->oid_len > sizeof d->oid || d->oid[0] != 0x06 ||
            asn1_get_object_id_der(d->oid + 1, (int)d->oid_len - 1, &used, oid, sizeof oid) != ASN1_SUCCESS ||
            (size_t)used != d->oid_len - 1)
            return p15_fail(c, "the applicationOID is not the DER of an OBJECT IDENTIFIER");
    }

    if (asn1_create_element(p15_defs(), "PKCS15.DataType", &n) != ASN1_SUCCESS)
        return p15_fail(c, "cannot make a DataType (libtasn1)");
    if (put(c, n, "", "opaqueDO", 1) < 0 ||
        put(c, n, "opaqueDO.commonObjectAttributes.label", d->c.label, d->c.label ? (int)strlen(d->c.label) : 0) <
            0 ||
        /* A named BIT STRING has no trailing zero bits in DER. */
        put(c, n, "opaqueDO.commonObjectAttributes.flags", flags ? &flags : NULL,
            d->c.modifiable ? 2 : d->c.private_obj ? 1 : 0) < 0 ||
        put(c, n, "opaqueDO.commonObjectAttributes.authId", d->c.auth_id_len ? d->c.auth_id : NULL,
            (int)d->c.auth_id_len) < 0 ||
        leave_out(c, n, "opaqueDO.commonObjectAttributes", coa_unused) < 0 ||
        put(c, n, "opaqueDO.classAttributes.applicationName", d->app_name,
            d->app_name ? (int)strlen(d->app_name) : 0) < 0 ||
        put(c, n, "opaqueDO.classAttributes.applicationOID", d->oid_len ? oid : NULL, d->oid_len ? 1 : 0) < 0 ||
        leave_out(c, n, "opaqueDO.classAttributes", cda_unused) < 0 ||
        put(c, n, "opaqueDO.subClassAttributes", NULL, 0) < 0 ||
        put(c, n, "opaqueDO.typeAttributes", "indirect", 1) < 0 ||
        put(c, n, "opaqueDO.typeAttributes.indirect", "path", 1) < 0 ||
        put(c, n, "opaqueDO.typeAttributes.indirect.path.path", p->path, (int)p->len) < 0)
        goto fail;
    if (p->has_range) {
        snprintf(num, sizeof num, "%u", p->index);
        if (put(c, n, "opaqueDO.typeAttributes.indirect.path.index", num, 0) < 0)
            goto fail;
        snprintf(num, sizeof num, "%u", p->length);
        if (put(c, n, "opaqueDO.typeAttributes.indirect.path.length", num, 0) < 0)
            goto fail;
    } else if (put(c, n, "opaqueDO.typeAttributes.indirect.path.index", NULL, 0) < 0 ||
               put(c, n, "opaqueDO.typeAttributes.indirect.path.length", NULL, 0) < 0) {
        goto fail;
    }
    rc = asn1_der_coding(n, "", NULL, &l, why);
    if (rc != ASN1_MEM_ERROR || l <= 0) {
        p15_fail(c, "cannot encode (libtasn1: %s%s%s)", asn1_strerror(rc), why[0] ? ": " : "", why);
        goto fail;
    }
    *der = malloc((size_t)l);
    if (*der == NULL) {
        p15_fail(c, "out of memory");
        goto fail;
    }
    rc = asn1_der_coding(n, "", *der, &l, why);
    if (rc != ASN1_SUCCESS) {
        free(*der);
        *der = NULL;
        p15_fail(c, "cannot encode (libtasn1: %s%s%s)", asn1_strerror(rc), why[0] ? ": " : "", why);
        goto fail;
    }
    *len = (size_t)l;
    asn1_delete_structure(&n);
    return 0;
fail:
    asn1_delete_structure(&n);
    return -1;
}

int dmsc_p15_encode_dodf(const dmsc_p15_data *objs, size_t n, uint8_t **der, size_t *len, char *err,
                         size_t err_len)
{
    p15_ctx c = {.file = "DODF", .err = err, .err_len = err_len};
    uint8_t *all = NULL;
    size_t total = 0;

    if (p15_defs() == NULL)
        return p15_fail(&c, "the PKCS#15 ASN.1 definitions do not load (a build problem)");
    if (objs == NULL && n > 0)
        return p15_fail(&c, "no objects");
    for (size_t i = 0; i < n; i++) {
        uint8_t *one = NULL, *grown;
        size_t one_len = 0;

        c.object = i + 1;
        if (encode_one(&c, &objs[i], &one, &one_len) < 0)
            goto fail;
        if (total + one_len > P15_MAX_FILE) {
            free(one);
            p15_fail(&c, "the DODF would be more than %d bytes", P15_MAX_FILE);
            goto fail;
        }
        grown = realloc(all, total + one_len);
        if (grown == NULL) {
            free(one);
            p15_fail(&c, "out of memory");
            goto fail;
        }
        memcpy(grown + total, one, one_len);
        free(one);
        all = grown;
        total += one_len;
    }
    if (all == NULL && (all = malloc(1)) == NULL) {
        c.object = 0;
        return p15_fail(&c, "out of memory");
    }
    *der = all;
    *len = total;
    return 0;
fail:
    free(all);
    return -1;
}
