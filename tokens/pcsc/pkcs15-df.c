/*
 * The directory files: PrKDF, PuKDF, CDF, DODF and AODF, each a run of DER
 * objects of one CHOICE type. An alternative dmsc does not read (a DSA
 * key, an attribute certificate, a biometric template) or an object whose
 * value is not given by a path (where dmsc needs one) is skipped, not an
 * error; a malformed object fails the whole file and changes nothing.
 */
#include "pkcs15-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends item (size bytes) to *arr of *n items. */
static int append(p15_ctx *c, void **arr, size_t *n, size_t size, const void *item)
{
    void *v = realloc(*arr, (*n + 1) * size);

    if (v == NULL)
        return p15_fail(c, "out of memory");
    memcpy((char *)v + *n * size, item, size);
    *arr = v;
    (*n)++;
    return 0;
}
#define APPEND(c, arr, n, item) append((c), (void **)&(arr), &(n), sizeof *(arr), &(item))

/* What each object callback gets: where to add, and which file it is. */
typedef struct {
    dmsc_p15_objects *objs;
    dmsc_p15_df_kind kind;
} df_walk;

/* What keys share: CommonObjectAttributes and CommonKeyAttributes under
 * the alternative `alt`. */
static int read_key(p15_ctx *c, asn1_node_const o, const char *alt, dmsc_p15_common *common, unsigned *usage,
                    bool *has_ref, uint8_t *ref)
{
    char f[128];
    uint32_t r;
    int rc;

    snprintf(f, sizeof f, "%s.commonObjectAttributes", alt);
    if (p15_read_common(c, o, f, common) < 0)
        return -1;
    snprintf(f, sizeof f, "%s.classAttributes.iD", alt);
    if (p15_read_octets(c, o, f, "the key's iD", common->id, sizeof common->id, &common->id_len, false) < 0)
        return -1;
    snprintf(f, sizeof f, "%s.classAttributes.usage", alt);
    if (p15_read_bits(c, o, f, "the key usage", usage, false) < 0)
        return -1;
    if (has_ref != NULL) {
        snprintf(f, sizeof f, "%s.classAttributes.keyReference", alt);
        rc = p15_read_uint(c, o, f, "the keyReference", P15_MAX_REF, &r, true);
        if (rc < 0)
            return -1;
        *has_ref = rc == 0;
        *ref = rc == 0 ? (uint8_t)r : 0;
    }
    return 0;
}

static int key_alt(const char *alt, const char *rsa, const char *ec, dmsc_p15_key_type *type)
{
    if (strcmp(alt, rsa) == 0)
        *type = DMSC_P15_KEY_RSA;
    else if (strcmp(alt, ec) == 0)
        *type = DMSC_P15_KEY_EC;
    else
        return -1;
    return 0;
}

static int prkey(p15_ctx *c, asn1_node_const o, void *arg)
{
    dmsc_p15_objects *objs = ((df_walk *)arg)->objs;
    dmsc_p15_prkey k = {0};
    char alt[32], f[128];

    if (p15_read_choice(c, o, "", "the key type", alt, sizeof alt) < 0)
        return -1;
    if (key_alt(alt, "privateRSAKey", "privateECKey", &k.type) < 0)
        return p15_other(c, "a private key");
    if (read_key(c, o, alt, &k.c, &k.usage, &k.has_key_ref, &k.key_ref) < 0)
        goto fail;
    /* A key given other than by path (or not at all) is still usable by
     * its keyReference: c.path stays empty. */
    snprintf(f, sizeof f, "%s.typeAttributes.value", alt);
    if (p15_read_object_value(c, o, f, &k.c.path) < 0)
        goto fail;
    if (k.type == DMSC_P15_KEY_RSA) {
        snprintf(f, sizeof f, "%s.typeAttributes.modulusLength", alt);
        if (p15_read_uint(c, o, f, "the modulusLength", UINT32_MAX, &k.bits, false) < 0)
            goto fail;
    }
    if (APPEND(c, objs->prkeys, objs->n_prkeys, k) < 0)
        goto fail;
    return 0;
fail:
    p15_common_free(&k.c);
    return -1;
}

static int pubkey(p15_ctx *c, asn1_node_const o, void *arg)
{
    dmsc_p15_objects *objs = ((df_walk *)arg)->objs;
    dmsc_p15_pubkey k = {0};
    char alt[32], f[128];
    int rc;

    if (p15_read_choice(c, o, "", "the key type", alt, sizeof alt) < 0)
        return -1;
    if (key_alt(alt, "publicRSAKey", "publicECKey", &k.type) < 0)
        return p15_other(c, "a public key");
    if (read_key(c, o, alt, &k.c, &k.usage, NULL, NULL) < 0)
        goto fail;
    snprintf(f, sizeof f, "%s.typeAttributes.value", alt);
    rc = p15_read_object_value(c, o, f, &k.c.path);
    if (rc < 0)
        goto fail;
    if (rc == P15_ABSENT) { /* a direct or URL value: not read by dmsc */
        p15_common_free(&k.c);
        return 0;
    }
    k.trusted = ((df_walk *)arg)->kind == DMSC_P15_PUKDF_TRUSTED;
    if (APPEND(c, objs->pubkeys, objs->n_pubkeys, k) < 0)
        goto fail;
    return 0;
fail:
    p15_common_free(&k.c);
    return -1;
}

static int cert(p15_ctx *c, asn1_node_const o, void *arg)
{
    dmsc_p15_objects *objs = ((df_walk *)arg)->objs;
    dmsc_p15_cert x = {0};
    char alt[32];
    int rc;

    if (p15_read_choice(c, o, "", "the certificate type", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "x509Certificate") != 0)
        return p15_other(c, "a certificate");
    if (p15_read_common(c, o, "x509Certificate.commonObjectAttributes", &x.c) < 0 ||
        p15_read_octets(c, o, "x509Certificate.classAttributes.iD", "the certificate's iD", x.c.id,
                        sizeof x.c.id, &x.c.id_len, false) < 0 ||
        p15_read_bool(c, o, "x509Certificate.classAttributes.authority", "the authority flag", &x.authority) < 0)
        goto fail;
    rc = p15_read_object_value(c, o, "x509Certificate.typeAttributes.value", &x.c.path);
    if (rc < 0)
        goto fail;
    if (rc == P15_ABSENT) {
        p15_common_free(&x.c);
        return 0;
    }
    x.trusted = ((df_walk *)arg)->kind == DMSC_P15_CDF_TRUSTED;
    if (APPEND(c, objs->certs, objs->n_certs, x) < 0)
        goto fail;
    return 0;
fail:
    p15_common_free(&x.c);
    return -1;
}

static int data(p15_ctx *c, asn1_node_const o, void *arg)
{
    dmsc_p15_objects *objs = ((df_walk *)arg)->objs;
    dmsc_p15_data d = {0};
    char alt[32], oid[128];
    size_t oid_len;
    int rc, der_len;

    if (p15_read_choice(c, o, "", "the data object type", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "opaqueDO") != 0)
        return p15_other(c, "a data object");
    if (p15_read_common(c, o, "opaqueDO.commonObjectAttributes", &d.c) < 0 ||
        p15_read_label(c, o, "opaqueDO.classAttributes.applicationName", "the applicationName", &d.app_name,
                       true) < 0)
        goto fail;
    rc = p15_read_octets(c, o, "opaqueDO.classAttributes.applicationOID", "the applicationOID", (uint8_t *)oid,
                         sizeof oid - 1, &oid_len, true);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        /* libtasn1 gives it dotted ("2.23.43.7.1"); PKCS#11 wants DER. */
        oid[oid_len] = '\0';
        der_len = (int)sizeof d.oid;
        if (asn1_object_id_der(oid, d.oid, &der_len, 0) != ASN1_SUCCESS) {
            p15_fail(c, "the applicationOID %s is too long for dmsc (%zu bytes of DER at most)", oid,
                     sizeof d.oid);
            goto fail;
        }
        d.oid_len = (size_t)der_len;
    }
    rc = p15_read_object_value(c, o, "opaqueDO.typeAttributes", &d.c.path);
    if (rc < 0)
        goto fail;
    if (rc == P15_ABSENT) { /* a direct or URL value: not read by dmsc */
        free(d.app_name);
        p15_common_free(&d.c);
        return 0;
    }
    if (APPEND(c, objs->data, objs->n_data, d) < 0)
        goto fail;
    return 0;
fail:
    free(d.app_name);
    p15_common_free(&d.c);
    return -1;
}

static int pin(p15_ctx *c, asn1_node_const o, void *arg)
{
    dmsc_p15_objects *objs = ((df_walk *)arg)->objs;
    dmsc_p15_pin p = {0};
    char alt[32];
    uint32_t type, min, stored, max, ref;
    size_t pad_len;
    int rc;

    if (p15_read_choice(c, o, "", "the authentication type", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "pin") != 0)
        return p15_other(c, "an authentication object");
    if (p15_read_common(c, o, "pin.commonObjectAttributes", &p.c) < 0 ||
        p15_read_octets(c, o, "pin.classAttributes.authId", "the PIN's authId", p.c.auth_id, sizeof p.c.auth_id,
                        &p.c.auth_id_len, false) < 0 ||
        p15_read_bits(c, o, "pin.typeAttributes.pinFlags", "the PIN flags", &p.flags, false) < 0 ||
        p15_read_uint(c, o, "pin.typeAttributes.pinType", "the pinType", UINT32_MAX, &type, false) < 0 ||
        p15_read_uint(c, o, "pin.typeAttributes.minLength", "the minLength", 64, &min, false) < 0 ||
        p15_read_uint(c, o, "pin.typeAttributes.storedLength", "the storedLength", 64, &stored, false) < 0)
        goto fail;
    rc = p15_read_uint(c, o, "pin.typeAttributes.maxLength", "the maxLength", 255, &max, true);
    if (rc < 0)
        goto fail;
    p.max_len = rc == 0 ? max : 0;
    if (rc == 0 && max < min) {
        p15_fail(c, "the maxLength %u is less than the minLength %u", max, min);
        goto fail;
    }
    /* pinReference is DEFAULT 0: always there once decoded. */
    if (p15_read_uint(c, o, "pin.typeAttributes.pinReference", "the pinReference", P15_MAX_REF, &ref, false) < 0)
        goto fail;
    rc = p15_read_octets(c, o, "pin.typeAttributes.padChar", "the padChar", &p.pad_char, 1, &pad_len, true);
    if (rc < 0)
        goto fail;
    if (rc == 0 && pad_len != 1) {
        p15_fail(c, "the padChar is empty");
        goto fail;
    }
    p.has_pad = rc == 0;
    if (p15_read_path(c, o, "pin.typeAttributes.path", "the PIN's path", &p.c.path, true) < 0)
        goto fail;
    switch (type) {
    case 0: p.type = DMSC_P15_PIN_BCD; break;
    case 1: p.type = DMSC_P15_PIN_ASCII_NUMERIC; break;
    case 2: p.type = DMSC_P15_PIN_UTF8; break;
    default: /* half-nibble-bcd, iso9564-1, later ones: not supported */
        p15_common_free(&p.c);
        return 0;
    }
    p.min_len = min;
    p.stored_len = stored;
    p.has_ref = true;
    p.ref = (uint8_t)ref;
    if (APPEND(c, objs->pins, objs->n_pins, p) < 0)
        goto fail;
    return 0;
fail:
    p15_common_free(&p.c);
    return -1;
}

/* Moves what tmp holds to the end of objs' arrays. All room is made
 * first, so that running out of memory leaves objs as it was. */
#define GROW(field, n_field)                                                                                  \
    do {                                                                                                      \
        if (tmp->n_field > 0) {                                                                               \
            void *v = realloc(objs->field, (objs->n_field + tmp->n_field) * sizeof *objs->field);             \
            if (v == NULL)                                                                                    \
                return -1;                                                                                    \
            objs->field = v;                                                                                  \
        }                                                                                                     \
    } while (0)
#define MOVE(field, n_field)                                                                                  \
    do {                                                                                                      \
        if (tmp->n_field > 0)                                                                                 \
            memcpy(objs->field + objs->n_field, tmp->field, tmp->n_field * sizeof *objs->field);            \
        objs->n_field += tmp->n_field;                                                                        \
        free(tmp->field);                                                                                     \
    } while (0)

static int merge(dmsc_p15_objects *objs, dmsc_p15_objects *tmp)
{
    GROW(prkeys, n_prkeys);
    GROW(pubkeys, n_pubkeys);
    GROW(certs, n_certs);
    GROW(data, n_data);
    GROW(pins, n_pins);
    MOVE(prkeys, n_prkeys);
    MOVE(pubkeys, n_pubkeys);
    MOVE(certs, n_certs);
    MOVE(data, n_data);
    MOVE(pins, n_pins);
    memset(tmp, 0, sizeof *tmp);
    return 0;
}

int dmsc_p15_parse_df(dmsc_p15_df_kind kind, const uint8_t *der, size_t len, dmsc_p15_objects *objs, char *err,
                      size_t err_len)
{
    static const struct {
        const char *file, *type;
        p15_object_fn fn;
    } kinds[] = {
        [DMSC_P15_PRKDF] = {"PrKDF", "PKCS15.PrivateKeyType", prkey},
        [DMSC_P15_PUKDF] = {"PuKDF", "PKCS15.PublicKeyType", pubkey},
        [DMSC_P15_PUKDF_TRUSTED] = {"PuKDF (trusted)", "PKCS15.PublicKeyType", pubkey},
        [DMSC_P15_CDF] = {"CDF", "PKCS15.CertificateType", cert},
        [DMSC_P15_CDF_TRUSTED] = {"CDF (trusted)", "PKCS15.CertificateType", cert},
        [DMSC_P15_CDF_USEFUL] = {"CDF (useful)", "PKCS15.CertificateType", cert},
        [DMSC_P15_DODF] = {"DODF", "PKCS15.DataType", data},
        [DMSC_P15_AODF] = {"AODF", "PKCS15.AuthenticationType", pin},
    };
    p15_ctx c = {.file = "directory file", .err = err, .err_len = err_len};
    dmsc_p15_objects tmp = {0};

    if ((unsigned)kind >= sizeof kinds / sizeof kinds[0] || kinds[kind].file == NULL)
        return p15_fail(&c, "unknown kind %d", (int)kind);
    if (objs == NULL)
        return p15_fail(&c, "no objects to add to");
    c.file = kinds[kind].file;
    df_walk w = {&tmp, kind};

    if (p15_each_object(&c, kinds[kind].type, der, len, kinds[kind].fn, &w) < 0) {
        dmsc_p15_objects_free(&tmp);
        return -1;
    }
    if (merge(objs, &tmp) < 0) {
        dmsc_p15_objects_free(&tmp);
        c.object = 0;
        return p15_fail(&c, "out of memory");
    }
    return 0;
}
