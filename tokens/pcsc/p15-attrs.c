/*
 * The PKCS#11 objects of a PKCS#15 card, as DESIGN.md lays them out and
 * the virtual UICC shows them: each attribute set goes through the
 * module's attribute policy (dmsc_policy_create), so defaults and the
 * certificate attributes taken from the DER are the same as for an
 * object an application made.
 *
 * DODF data objects: the DM bootstrap (applicationOID 2.23.43.7.1) is
 * CKA_APPLICATION "OMA-DM:BOOTSTRAP"; an MO is "OMA-DM:MO" with its node
 * path as label and its TNDS as value; spare EFs are not shown.
 * Private keys carry their public half (from the public key or the
 * certificate with the same iD) and no private value: they sign on the card.
 */
#include "pcsc-token.h"

#include "keys.h"
#include "policy.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* KeyUsageFlags bits (PKCS#15). */
#define USAGE_DECRYPT (1u << 1)
#define USAGE_SIGN (1u << 2)
#define USAGE_SIGN_RECOVER (1u << 3)
#define USAGE_NON_REPUDIATION (1u << 9)
/* TokenFlags bit 0: the card is read-only. */
#define TOKEN_READONLY (1u << 0)

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* A template under construction. */
typedef struct {
    CK_ATTRIBUTE a[40];
    CK_ULONG n;
} tmpl;

static void put(tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    if (t->n < DMSC_N_ELEMENTS(t->a))
        t->a[t->n++] = (CK_ATTRIBUTE){ type, (void *)v, len };
}

static void put_bool(tmpl *t, CK_ATTRIBUTE_TYPE type, bool v)
{
    put(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

static void put_str(tmpl *t, CK_ATTRIBUTE_TYPE type, const char *s)
{
    put(t, type, s ? s : "", s ? (CK_ULONG)strlen(s) : 0);
}

/* The attributes the card states, through the policy; the token itself
 * sets them, as the SO could (CKA_TRUSTED). */
static CK_RV build(const tmpl *t, dmsc_attrs *out)
{
    dmsc_policy_who who = { .so = true, .user = true };
    return dmsc_policy_create(t->a, t->n, who, out);
}

static bool read_only(const dmsc_btoken *t)
{
    return (t->model->ti.flags & TOKEN_READONLY) != 0;
}

static CK_RV data_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out)
{
    const dmsc_p15_data *d = &t->model->objs.data[o->index];
    if (pcsc_data_is_spare(d) || !o->value_read || (d->c.private_obj && !t->user_in) || o->left_out ||
        !pcsc_path_reachable(&d->c.path)) /* a bad entry: left out (p15-card.c) */
        return CKR_FUNCTION_REJECTED;
    static const CK_OBJECT_CLASS klass = CKO_DATA;
    bool mo = pcsc_data_is_mo(d);
    const char *app = pcsc_data_is_bootstrap(d) ? PCSC_BOOTSTRAP_APP : d->app_name;
    tmpl t1 = { .n = 0 };
    put(&t1, CKA_CLASS, &klass, sizeof(klass));
    put_bool(&t1, CKA_TOKEN, true);
    put_bool(&t1, CKA_PRIVATE, d->c.private_obj);
    /* MOs are written through spare EFs (p15-write.c); the rest is the issuer's. */
    put_bool(&t1, CKA_MODIFIABLE, mo && !read_only(t));
    put_bool(&t1, CKA_DESTROYABLE, mo && !read_only(t));
    put_str(&t1, CKA_LABEL, d->c.label);
    put_str(&t1, CKA_APPLICATION, app);
    put(&t1, CKA_OBJECT_ID, d->oid, (CK_ULONG)d->oid_len);
    put(&t1, CKA_VALUE, o->value ? o->value : (const void *)"", (CK_ULONG)o->value_len);
    return build(&t1, out);
}

static CK_RV cert_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out)
{
    const dmsc_p15_cert *c = &t->model->objs.certs[o->index];
    if (o->value == NULL || (c->c.private_obj && !t->user_in))
        return CKR_FUNCTION_REJECTED;
    static const CK_OBJECT_CLASS klass = CKO_CERTIFICATE;
    static const CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    /* 2: authority, 1: the token user's own (it has a private key). */
    static const CK_ULONG authority = 2, own = 1, unspecified = 0;
    bool has_key = false;
    for (size_t i = 0; i < t->model->objs.n_prkeys && c->c.id_len > 0; i++) {
        const dmsc_p15_common *k = &t->model->objs.prkeys[i].c;
        has_key |= k->id_len == c->c.id_len && memcmp(k->id, c->c.id, k->id_len) == 0;
    }
    tmpl t1 = { .n = 0 };
    put(&t1, CKA_CLASS, &klass, sizeof(klass));
    put(&t1, CKA_CERTIFICATE_TYPE, &x509, sizeof(x509));
    put_bool(&t1, CKA_TOKEN, true);
    put_bool(&t1, CKA_PRIVATE, c->c.private_obj);
    put_bool(&t1, CKA_MODIFIABLE, false);
    put_bool(&t1, CKA_DESTROYABLE, false);
    put_bool(&t1, CKA_TRUSTED, c->trusted);
    put(&t1, CKA_CERTIFICATE_CATEGORY, c->authority || c->trusted ? &authority : has_key ? &own : &unspecified,
        sizeof(CK_ULONG));
    put_str(&t1, CKA_LABEL, c->c.label);
    put(&t1, CKA_ID, c->c.id, (CK_ULONG)c->c.id_len);
    put(&t1, CKA_VALUE, o->value, (CK_ULONG)o->value_len);
    CK_RV rv = build(&t1, out);
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID) {
        dmsc_debug(PCSC_DEBUG, "pcsc: certificate '%s' is not one DER X.509 certificate: not shown",
                   c->c.label ? c->c.label : "");
        rv = CKR_FUNCTION_REJECTED;
    }
    return rv;
}

/* A public key from a PuKDF value (SubjectPublicKeyInfo, or PKCS#1
 * RSAPublicKey) or from a certificate. */
static EVP_PKEY *pkey_from_value(OSSL_LIB_CTX *libctx, const unsigned char *v, size_t len, bool is_cert)
{
    const unsigned char *p = v;
    EVP_PKEY *pk = NULL;
    if (is_cert) {
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL) {
            pk = X509_get_pubkey(x);
            X509_free(x);
        }
        return pk;
    }
    pk = d2i_PUBKEY_ex(NULL, &p, (long)len, libctx, NULL);
    if (pk == NULL) {
        p = v;
        pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    return pk;
}

/* The key-material attributes of a public key (modulus and exponent, or
 * EC parameters and point; CKA_PUBLIC_KEY_INFO) and its key type. */
static CK_RV public_parts(const EVP_PKEY *pk, CK_KEY_TYPE *type, dmsc_attrs *pub)
{
    dmsc_attrs_init(pub);
    const dmsc_curve *curve = NULL;
    if (EVP_PKEY_is_a(pk, "RSA")) {
        *type = CKK_RSA;
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        char group[64];
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &glen) != 1)
            return CKR_FUNCTION_REJECTED;
        ASN1_OBJECT *obj = OBJ_txt2obj(group, 0);
        unsigned char der[64], *q = der;
        int dl = obj != NULL && i2d_ASN1_OBJECT(obj, NULL) <= (int)sizeof(der) ? i2d_ASN1_OBJECT(obj, &q) : -1;
        ASN1_OBJECT_free(obj);
        if (dl <= 0 || (curve = dmsc_curve_from_params(der, (size_t)dl)) == NULL)
            return CKR_FUNCTION_REJECTED;
        *type = CKK_EC;
    } else {
        return CKR_FUNCTION_REJECTED;
    }
    CK_RV rv = dmsc_pkey_to_attrs(pk, *type, curve, pub, NULL);
    if (rv != CKR_OK)
        dmsc_attrs_clear(pub);
    return rv == CKR_OK ? CKR_OK : CKR_FUNCTION_REJECTED;
}

static void put_attr(tmpl *t, const dmsc_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    const dmsc_attr *v = dmsc_attrs_find(a, type);
    if (v != NULL)
        put(t, type, v->value, v->len);
}

static CK_RV pubkey_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out)
{
    const dmsc_p15_pubkey *k = &t->model->objs.pubkeys[o->index];
    if (o->value == NULL || (k->c.private_obj && !t->user_in))
        return CKR_FUNCTION_REJECTED;
    EVP_PKEY *pk = pkey_from_value(t->be->libctx, o->value, o->value_len, false);
    if (pk == NULL) {
        dmsc_debug(PCSC_DEBUG, "pcsc: public key '%s' is not a key OpenSSL reads: not shown",
                   k->c.label ? k->c.label : "");
        return CKR_FUNCTION_REJECTED;
    }
    dmsc_attrs pub;
    CK_KEY_TYPE type;
    CK_RV rv = public_parts(pk, &type, &pub);
    EVP_PKEY_free(pk);
    if (rv != CKR_OK)
        return rv;
    static const CK_OBJECT_CLASS klass = CKO_PUBLIC_KEY;
    tmpl t1 = { .n = 0 };
    put(&t1, CKA_CLASS, &klass, sizeof(klass));
    put(&t1, CKA_KEY_TYPE, &type, sizeof(type));
    put_bool(&t1, CKA_TOKEN, true);
    put_bool(&t1, CKA_PRIVATE, k->c.private_obj);
    put_bool(&t1, CKA_MODIFIABLE, false);
    put_bool(&t1, CKA_DESTROYABLE, false);
    put_bool(&t1, CKA_TRUSTED, k->trusted);
    put_bool(&t1, CKA_VERIFY, true);
    put_bool(&t1, CKA_ENCRYPT, false);
    put_bool(&t1, CKA_WRAP, false);
    put_str(&t1, CKA_LABEL, k->c.label);
    put(&t1, CKA_ID, k->c.id, (CK_ULONG)k->c.id_len);
    put_attr(&t1, &pub, CKA_MODULUS);
    put_attr(&t1, &pub, CKA_PUBLIC_EXPONENT);
    put_attr(&t1, &pub, CKA_EC_PARAMS);
    put_attr(&t1, &pub, CKA_EC_POINT);
    put_attr(&t1, &pub, CKA_PUBLIC_KEY_INFO);
    rv = build(&t1, out);
    dmsc_attrs_clear(&pub);
    return rv;
}

/* The public half of a private key: the public key, else the
 * certificate, with the same iD. */
static EVP_PKEY *key_public_half(dmsc_btoken *t, const dmsc_p15_common *c)
{
    pcsc_model *m = t->model;
    if (c->id_len == 0)
        return NULL;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->n_obj; i++) {
            const pcsc_obj *o = &m->obj[i];
            if (o->value == NULL || o->kind != (pass == 0 ? PCSC_OBJ_PUBKEY : PCSC_OBJ_CERT))
                continue;
            const dmsc_p15_common *oc = pass == 0 ? &m->objs.pubkeys[o->index].c : &m->objs.certs[o->index].c;
            if (oc->id_len != c->id_len || memcmp(oc->id, c->id, c->id_len) != 0)
                continue;
            EVP_PKEY *pk = pkey_from_value(t->be->libctx, o->value, o->value_len, pass == 1);
            if (pk != NULL)
                return pk;
        }
    return NULL;
}

size_t pcsc_key_bits(dmsc_btoken *t, const dmsc_p15_common *key)
{
    EVP_PKEY *pk = key_public_half(t, key);
    int bits = pk != NULL ? EVP_PKEY_get_bits(pk) : 0;
    EVP_PKEY_free(pk);
    return bits > 0 ? (size_t)bits : 0;
}

static CK_RV prkey_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out)
{
    const dmsc_p15_prkey *k = &t->model->objs.prkeys[o->index];
    EVP_PKEY *pk = key_public_half(t, &k->c);
    if (pk == NULL) {
        dmsc_debug(PCSC_DEBUG, "pcsc: private key '%s' has no public key or certificate with its iD: not shown",
                   k->c.label ? k->c.label : "");
        return CKR_FUNCTION_REJECTED;
    }
    dmsc_attrs pub;
    CK_KEY_TYPE type;
    CK_RV rv = public_parts(pk, &type, &pub);
    EVP_PKEY_free(pk);
    if (rv != CKR_OK)
        return rv;
    static const CK_OBJECT_CLASS klass = CKO_PRIVATE_KEY;
    /* The policy wants a private value for a private key object; the
     * card keeps it. A placeholder passes the check and is removed. */
    static const unsigned char placeholder = 1;
    bool sign = (k->usage & (USAGE_SIGN | USAGE_NON_REPUDIATION)) != 0 || k->usage == 0;
    tmpl t1 = { .n = 0 };
    put(&t1, CKA_CLASS, &klass, sizeof(klass));
    put(&t1, CKA_KEY_TYPE, &type, sizeof(type));
    put_bool(&t1, CKA_TOKEN, true);
    /* A key is the user's: shown after login, as on the virtual UICC. */
    put_bool(&t1, CKA_PRIVATE, true);
    put_bool(&t1, CKA_MODIFIABLE, false);
    put_bool(&t1, CKA_DESTROYABLE, false);
    put_bool(&t1, CKA_COPYABLE, false);
    put_bool(&t1, CKA_SIGN, sign && k->has_key_ref);
    /* Only signing goes through the backend interface. */
    put_bool(&t1, CKA_DECRYPT, false);
    put_bool(&t1, CKA_UNWRAP, false);
    put_bool(&t1, CKA_SIGN_RECOVER, false);
    put_bool(&t1, CKA_DERIVE, false);
    put_bool(&t1, CKA_SENSITIVE, true);
    put_bool(&t1, CKA_EXTRACTABLE, false);
    put_str(&t1, CKA_LABEL, k->c.label);
    put(&t1, CKA_ID, k->c.id, (CK_ULONG)k->c.id_len);
    put_attr(&t1, &pub, CKA_MODULUS);
    put_attr(&t1, &pub, CKA_PUBLIC_EXPONENT);
    put_attr(&t1, &pub, CKA_EC_PARAMS);
    put(&t1, type == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, &placeholder, 1);
    rv = build(&t1, out);
    if (rv == CKR_OK) {
        dmsc_attrs_remove(out, type == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE);
        /* Made on the card or loaded by the issuer: it never left it. */
        rv = dmsc_attrs_set_bool(out, CKA_ALWAYS_SENSITIVE, true);
        if (rv == CKR_OK)
            rv = dmsc_attrs_set_bool(out, CKA_NEVER_EXTRACTABLE, true);
        const dmsc_attr *spki = dmsc_attrs_find(&pub, CKA_PUBLIC_KEY_INFO);
        if (rv == CKR_OK && spki != NULL)
            rv = dmsc_attrs_set(out, CKA_PUBLIC_KEY_INFO, spki->value, spki->len);
        if (rv != CKR_OK)
            dmsc_attrs_clear(out);
    }
    dmsc_attrs_clear(&pub);
    return rv;
}

CK_RV pcsc_obj_attrs(dmsc_btoken *t, const pcsc_obj *o, dmsc_attrs *out)
{
    dmsc_attrs_init(out);
    switch (o->kind) {
    case PCSC_OBJ_DATA: return data_attrs(t, o, out);
    case PCSC_OBJ_CERT: return cert_attrs(t, o, out);
    case PCSC_OBJ_PUBKEY: return pubkey_attrs(t, o, out);
    case PCSC_OBJ_PRKEY: return prkey_attrs(t, o, out);
    }
    return CKR_FUNCTION_REJECTED;
}
