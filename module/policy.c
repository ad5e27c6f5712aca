/* The attribute policy table and the checks built on it. */
#include "policy.h"

#include "cert.h"

#include <stdlib.h>
#include <string.h>

/* Object kinds an attribute belongs to. */
enum {
    O_DATA = 1 << 0,
    O_CERT = 1 << 1,
    O_PUB = 1 << 2,
    O_PRIV = 1 << 3,
    O_SECRET = 1 << 4,
    O_KEY = O_PUB | O_PRIV | O_SECRET,
    O_ALL = O_DATA | O_CERT | O_KEY,
};

/* Key types an attribute belongs to (0: any). */
enum {
    K_RSA = 1 << 0,
    K_EC = 1 << 1, /* CKK_EC and CKK_EC_EDWARDS */
    K_SECRET = 1 << 2,
};

enum kind { V_BOOL, V_ULONG, V_BYTES, V_DATE, V_MECHS };

/* The spec's footnotes, as flags. */
enum {
    F_REQUIRED = 1 << 0,    /* must be given to C_CreateObject (1) */
    F_NO_CREATE = 1 << 1,   /* computed by the token, never given (2) */
    F_MODIFIABLE = 1 << 2,  /* may change after creation (8) */
    F_SECRET = 1 << 3,      /* not revealed if sensitive/unextractable (7) */
    F_SO_TRUE = 1 << 4,     /* only the SO may set it to true (10) */
    F_STICKY_TRUE = 1 << 5, /* once true, stays true (11) */
    F_STICKY_FALSE = 1 << 6,/* once false, stays false (12) */
    F_COPY_CHANGE = 1 << 7, /* may be changed by C_CopyObject's template */
    F_SEAL = 1 << 8,        /* encrypted at rest when the object is private */
};

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    unsigned objects;
    unsigned keys;
    enum kind kind;
    unsigned flags;
} rule;

static const rule rules[] = {
    /* every object */
    { CKA_CLASS, O_ALL, 0, V_ULONG, F_REQUIRED },
    { CKA_TOKEN, O_ALL, 0, V_BOOL, F_COPY_CHANGE },
    { CKA_PRIVATE, O_ALL, 0, V_BOOL, F_COPY_CHANGE },
    { CKA_MODIFIABLE, O_ALL, 0, V_BOOL, F_COPY_CHANGE },
    { CKA_COPYABLE, O_ALL, 0, V_BOOL, F_STICKY_FALSE | F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_DESTROYABLE, O_ALL, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_LABEL, O_ALL, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    /* data objects: the DM Management Objects and bootstrap live here */
    { CKA_APPLICATION, O_DATA, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_OBJECT_ID, O_DATA, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_VALUE, O_DATA, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE | F_SEAL },
    /* certificates (X.509) */
    { CKA_CERTIFICATE_TYPE, O_CERT, 0, V_ULONG, F_REQUIRED },
    { CKA_TRUSTED, O_CERT | O_PUB | O_SECRET, 0, V_BOOL, F_SO_TRUE | F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_CERTIFICATE_CATEGORY, O_CERT, 0, V_ULONG, 0 },
    { CKA_CHECK_VALUE, O_CERT | O_SECRET, 0, V_BYTES, 0 },
    { CKA_START_DATE, O_CERT | O_KEY, 0, V_DATE, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_END_DATE, O_CERT | O_KEY, 0, V_DATE, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_PUBLIC_KEY_INFO, O_CERT | O_PUB | O_PRIV, 0, V_BYTES, 0 },
    { CKA_SUBJECT, O_CERT, 0, V_BYTES, 0 },
    { CKA_ID, O_CERT | O_KEY, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_ISSUER, O_CERT, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_SERIAL_NUMBER, O_CERT, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_VALUE, O_CERT, 0, V_BYTES, F_REQUIRED },
    { CKA_URL, O_CERT, 0, V_BYTES, 0 },
    { CKA_HASH_OF_SUBJECT_PUBLIC_KEY, O_CERT, 0, V_BYTES, 0 },
    { CKA_HASH_OF_ISSUER_PUBLIC_KEY, O_CERT, 0, V_BYTES, 0 },
    { CKA_JAVA_MIDP_SECURITY_DOMAIN, O_CERT, 0, V_ULONG, 0 },
    { CKA_NAME_HASH_ALGORITHM, O_CERT, 0, V_ULONG, 0 },
    /* every key */
    { CKA_KEY_TYPE, O_KEY, 0, V_ULONG, F_REQUIRED },
    { CKA_DERIVE, O_KEY, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_LOCAL, O_KEY, 0, V_BOOL, F_NO_CREATE },
    { CKA_KEY_GEN_MECHANISM, O_KEY, 0, V_ULONG, F_NO_CREATE },
    { CKA_ALLOWED_MECHANISMS, O_KEY, 0, V_MECHS, 0 },
    { CKA_SUBJECT, O_PUB | O_PRIV, 0, V_BYTES, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_ENCRYPT, O_PUB | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_VERIFY, O_PUB | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_VERIFY_RECOVER, O_PUB, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_WRAP, O_PUB | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_DECRYPT, O_PRIV | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_SIGN, O_PRIV | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_SIGN_RECOVER, O_PRIV, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_UNWRAP, O_PRIV | O_SECRET, 0, V_BOOL, F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_SENSITIVE, O_PRIV | O_SECRET, 0, V_BOOL, F_STICKY_TRUE | F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_EXTRACTABLE, O_PRIV | O_SECRET, 0, V_BOOL, F_STICKY_FALSE | F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_ALWAYS_SENSITIVE, O_PRIV | O_SECRET, 0, V_BOOL, F_NO_CREATE },
    { CKA_NEVER_EXTRACTABLE, O_PRIV | O_SECRET, 0, V_BOOL, F_NO_CREATE },
    { CKA_WRAP_WITH_TRUSTED, O_PRIV | O_SECRET, 0, V_BOOL, F_STICKY_TRUE | F_MODIFIABLE | F_COPY_CHANGE },
    { CKA_ALWAYS_AUTHENTICATE, O_PRIV, 0, V_BOOL, 0 },
    /* RSA */
    { CKA_MODULUS, O_PUB | O_PRIV, K_RSA, V_BYTES, F_REQUIRED },
    { CKA_MODULUS_BITS, O_PUB, K_RSA, V_ULONG, F_NO_CREATE },
    { CKA_PUBLIC_EXPONENT, O_PUB, K_RSA, V_BYTES, F_REQUIRED },
    { CKA_PUBLIC_EXPONENT, O_PRIV, K_RSA, V_BYTES, 0 },
    { CKA_PRIVATE_EXPONENT, O_PRIV, K_RSA, V_BYTES, F_REQUIRED | F_SECRET | F_SEAL },
    { CKA_PRIME_1, O_PRIV, K_RSA, V_BYTES, F_SECRET | F_SEAL },
    { CKA_PRIME_2, O_PRIV, K_RSA, V_BYTES, F_SECRET | F_SEAL },
    { CKA_EXPONENT_1, O_PRIV, K_RSA, V_BYTES, F_SECRET | F_SEAL },
    { CKA_EXPONENT_2, O_PRIV, K_RSA, V_BYTES, F_SECRET | F_SEAL },
    { CKA_COEFFICIENT, O_PRIV, K_RSA, V_BYTES, F_SECRET | F_SEAL },
    /* EC and EdDSA */
    { CKA_EC_PARAMS, O_PUB | O_PRIV, K_EC, V_BYTES, F_REQUIRED },
    { CKA_EC_POINT, O_PUB, K_EC, V_BYTES, F_REQUIRED },
    { CKA_VALUE, O_PRIV, K_EC, V_BYTES, F_REQUIRED | F_SECRET | F_SEAL },
    /* secret keys */
    { CKA_VALUE, O_SECRET, K_SECRET, V_BYTES, F_REQUIRED | F_SECRET | F_SEAL },
    { CKA_VALUE_LEN, O_SECRET, K_SECRET, V_ULONG, F_NO_CREATE },
};

static const struct {
    CK_KEY_TYPE type;
    unsigned key;
    unsigned objects;
} key_types[] = {
    { CKK_RSA, K_RSA, O_PUB | O_PRIV },
    { CKK_EC, K_EC, O_PUB | O_PRIV },
    { CKK_EC_EDWARDS, K_EC, O_PUB | O_PRIV },
    { CKK_GENERIC_SECRET, K_SECRET, O_SECRET },
    { CKK_AES, K_SECRET, O_SECRET },
    { CKK_SHA_1_HMAC, K_SECRET, O_SECRET },
    { CKK_SHA256_HMAC, K_SECRET, O_SECRET },
    { CKK_SHA384_HMAC, K_SECRET, O_SECRET },
    { CKK_SHA512_HMAC, K_SECRET, O_SECRET },
    { CKK_MD5_HMAC, K_SECRET, O_SECRET },
};

static unsigned object_bit(CK_OBJECT_CLASS klass)
{
    switch (klass) {
    case CKO_DATA: return O_DATA;
    case CKO_CERTIFICATE: return O_CERT;
    case CKO_PUBLIC_KEY: return O_PUB;
    case CKO_PRIVATE_KEY: return O_PRIV;
    case CKO_SECRET_KEY: return O_SECRET;
    default: return 0;
    }
}

static bool key_bits(CK_KEY_TYPE type, unsigned objects, unsigned *key)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(key_types); i++)
        if (key_types[i].type == type && (key_types[i].objects & objects)) {
            *key = key_types[i].key;
            return true;
        }
    return false;
}

/* The rule for type on an object of this kind, or NULL. */
static const rule *find_rule(CK_ATTRIBUTE_TYPE type, unsigned objects, unsigned key)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(rules); i++) {
        const rule *r = &rules[i];
        if (r->type == type && (r->objects & objects) && (r->keys == 0 || (r->keys & key)))
            return r;
    }
    return NULL;
}

CK_OBJECT_CLASS dmsc_policy_class(const dmsc_attrs *obj)
{
    CK_ULONG klass;
    return dmsc_attrs_get_ulong(obj, CKA_CLASS, &klass) ? klass : CK_UNAVAILABLE_INFORMATION;
}

/* The kind of an existing object, for the rule lookup. */
static void object_kind(const dmsc_attrs *obj, unsigned *objects, unsigned *key)
{
    *objects = object_bit(dmsc_policy_class(obj));
    *key = 0;
    CK_ULONG kt;
    if ((*objects & O_KEY) && dmsc_attrs_get_ulong(obj, CKA_KEY_TYPE, &kt))
        key_bits(kt, *objects, key);
}

static bool valid_date(const CK_ATTRIBUTE *a)
{
    if (a->ulValueLen == 0)
        return true; /* an empty date means "not set" */
    if (a->ulValueLen != sizeof(CK_DATE))
        return false;
    const unsigned char *p = a->pValue;
    for (size_t i = 0; i < sizeof(CK_DATE); i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static CK_RV check_value(const rule *r, const CK_ATTRIBUTE *a)
{
    if (a->pValue == NULL && a->ulValueLen != 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (r->kind) {
    case V_BOOL:
        return a->ulValueLen == sizeof(CK_BBOOL) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case V_ULONG:
        return a->ulValueLen == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case V_DATE:
        return valid_date(a) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case V_MECHS:
        return a->ulValueLen % sizeof(CK_MECHANISM_TYPE) == 0 && a->ulValueLen <= 4096
                   ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case V_BYTES:
        return a->ulValueLen <= DMSC_MAX_ATTRIBUTE_LEN ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_ATTRIBUTE_VALUE_INVALID;
}

/* Store a template value; booleans normalised to CK_TRUE/CK_FALSE. */
static CK_RV store_value(dmsc_attrs *out, const rule *r, const CK_ATTRIBUTE *a)
{
    if (r->kind == V_BOOL) {
        bool b = false;
        dmsc_template_bool(a, &b);
        return dmsc_attrs_set_bool(out, a->type, b);
    }
    return dmsc_attrs_set(out, a->type, a->pValue, a->ulValueLen);
}

static CK_RV set_default_bool(dmsc_attrs *o, CK_ATTRIBUTE_TYPE type, bool value)
{
    return dmsc_attrs_find(o, type) ? CKR_OK : dmsc_attrs_set_bool(o, type, value);
}

static CK_RV apply_defaults(dmsc_attrs *o, unsigned objects, unsigned key, CK_KEY_TYPE key_type)
{
    CK_RV rv = CKR_OK;
    bool is_key_with_secret = (objects & (O_PRIV | O_SECRET)) != 0;
#define DEF(type, v) if (rv == CKR_OK) rv = set_default_bool(o, type, v)
    DEF(CKA_TOKEN, false);
    /* Keys that hold a secret are private unless the template says otherwise. */
    DEF(CKA_PRIVATE, is_key_with_secret);
    DEF(CKA_MODIFIABLE, true);
    DEF(CKA_COPYABLE, true);
    DEF(CKA_DESTROYABLE, true);
    if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_LABEL))
        rv = dmsc_attrs_set(o, CKA_LABEL, NULL, 0);
    if (objects == O_DATA) {
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_APPLICATION))
            rv = dmsc_attrs_set(o, CKA_APPLICATION, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_OBJECT_ID))
            rv = dmsc_attrs_set(o, CKA_OBJECT_ID, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_VALUE))
            rv = dmsc_attrs_set(o, CKA_VALUE, NULL, 0);
    }
    if (objects == O_CERT) {
        DEF(CKA_TRUSTED, false);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_CERTIFICATE_CATEGORY))
            rv = dmsc_attrs_set_ulong(o, CKA_CERTIFICATE_CATEGORY, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_ID))
            rv = dmsc_attrs_set(o, CKA_ID, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_START_DATE))
            rv = dmsc_attrs_set(o, CKA_START_DATE, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_END_DATE))
            rv = dmsc_attrs_set(o, CKA_END_DATE, NULL, 0);
    }
    if (objects & O_KEY) {
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_ID))
            rv = dmsc_attrs_set(o, CKA_ID, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_START_DATE))
            rv = dmsc_attrs_set(o, CKA_START_DATE, NULL, 0);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_END_DATE))
            rv = dmsc_attrs_set(o, CKA_END_DATE, NULL, 0);
        DEF(CKA_DERIVE, false);
        DEF(CKA_LOCAL, false);
        if (rv == CKR_OK)
            rv = dmsc_attrs_set_ulong(o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_ALLOWED_MECHANISMS))
            rv = dmsc_attrs_set(o, CKA_ALLOWED_MECHANISMS, NULL, 0);
    }
    if (objects & (O_PUB | O_PRIV)) {
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_SUBJECT))
            rv = dmsc_attrs_set(o, CKA_SUBJECT, NULL, 0);
        /* Empty unless known: the key material fills it (keys.c). */
        if (rv == CKR_OK && !dmsc_attrs_find(o, CKA_PUBLIC_KEY_INFO))
            rv = dmsc_attrs_set(o, CKA_PUBLIC_KEY_INFO, NULL, 0);
    }
    /* EC and EdDSA keys sign; they neither encrypt nor wrap. */
    bool crypt = key != K_EC;
    if (objects & (O_PUB | O_SECRET)) {
        DEF(CKA_ENCRYPT, crypt);
        DEF(CKA_VERIFY, true);
        DEF(CKA_WRAP, crypt);
    }
    if (objects == O_PUB) {
        DEF(CKA_VERIFY_RECOVER, key == K_RSA);
        DEF(CKA_TRUSTED, false);
    }
    if (objects & (O_PRIV | O_SECRET)) {
        DEF(CKA_DECRYPT, crypt);
        DEF(CKA_SIGN, true);
        DEF(CKA_UNWRAP, crypt);
        /* Card keys are sensitive and stay on the card unless asked. */
        DEF(CKA_SENSITIVE, true);
        DEF(CKA_EXTRACTABLE, false);
        DEF(CKA_WRAP_WITH_TRUSTED, false);
        /* Imported: the token cannot vouch for the key's past. */
        if (rv == CKR_OK)
            rv = dmsc_attrs_set_bool(o, CKA_ALWAYS_SENSITIVE, false);
        if (rv == CKR_OK)
            rv = dmsc_attrs_set_bool(o, CKA_NEVER_EXTRACTABLE, false);
    }
    if (objects == O_PRIV) {
        DEF(CKA_SIGN_RECOVER, key == K_RSA);
        DEF(CKA_ALWAYS_AUTHENTICATE, false);
    }
    if (objects == O_SECRET)
        DEF(CKA_TRUSTED, false);
#undef DEF
    (void)key_type;
    return rv;
}

/* Checks a template entry against the rules at creation. */
static CK_RV check_create_entry(const CK_ATTRIBUTE *a, unsigned objects, unsigned key,
                                dmsc_policy_who who, const rule **out)
{
    const rule *r = find_rule(a->type, objects, key);
    if (r == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    CK_RV rv = check_value(r, a);
    if (rv != CKR_OK)
        return rv;
    if (r->flags & F_NO_CREATE)
        return CKR_ATTRIBUTE_READ_ONLY;
    bool b;
    if ((r->flags & F_SO_TRUE) && dmsc_template_bool(a, &b) && b && !who.so)
        return CKR_ATTRIBUTE_READ_ONLY;
    *out = r;
    return CKR_OK;
}

/* Class-specific consistency, after defaults. */
static CK_RV check_object(dmsc_attrs *o, unsigned objects, CK_KEY_TYPE key_type, unsigned key)
{
    dmsc_attr *v;
    if (objects == O_CERT) {
        CK_ULONG ct;
        dmsc_attrs_get_ulong(o, CKA_CERTIFICATE_TYPE, &ct);
        if (ct != CKC_X_509)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        CK_ULONG cat;
        if (dmsc_attrs_get_ulong(o, CKA_CERTIFICATE_CATEGORY, &cat) && cat > 3)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return dmsc_cert_fill(o);
    }
    if (key == K_SECRET) {
        v = dmsc_attrs_find(o, CKA_VALUE);
        if (v == NULL || v->len == 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (key_type == CKK_AES && v->len != 16 && v->len != 24 && v->len != 32)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        CK_RV rv = dmsc_attrs_set_ulong(o, CKA_VALUE_LEN, v->len);
        if (rv != CKR_OK)
            return rv;
    }
    if (key == K_RSA) {
        v = dmsc_attrs_find(o, CKA_MODULUS);
        if (v == NULL || v->len == 0 || v->len > 2048)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (objects == O_PUB) {
            /* MODULUS_BITS is the token's to state, from the modulus. */
            const unsigned char *m = v->value;
            size_t i = 0;
            while (i < v->len && m[i] == 0)
                i++;
            CK_ULONG bits = (CK_ULONG)(v->len - i) * 8;
            for (int b = 7; i < v->len && b >= 0 && !(m[i] & (1u << b)); b--)
                bits--;
            CK_RV rv = dmsc_attrs_set_ulong(o, CKA_MODULUS_BITS, bits);
            if (rv != CKR_OK)
                return rv;
        }
    }
    if (key == K_EC) {
        v = dmsc_attrs_find(o, CKA_EC_PARAMS);
        if (v == NULL || v->len < 2)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

CK_RV dmsc_policy_create(const CK_ATTRIBUTE *tmpl, CK_ULONG n, dmsc_policy_who who, dmsc_attrs *out)
{
    dmsc_attrs_init(out);
    if (tmpl == NULL && n > 0)
        return CKR_ARGUMENTS_BAD;
    const CK_ATTRIBUTE *ca = dmsc_template_find(tmpl, n, CKA_CLASS);
    CK_ULONG klass;
    if (ca == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!dmsc_template_ulong(ca, &klass))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    unsigned objects = object_bit(klass);
    if (objects == 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    unsigned key = 0;
    CK_KEY_TYPE key_type = CK_UNAVAILABLE_INFORMATION;
    if (objects & O_KEY) {
        const CK_ATTRIBUTE *kt = dmsc_template_find(tmpl, n, CKA_KEY_TYPE);
        if (kt == NULL)
            return CKR_TEMPLATE_INCOMPLETE;
        if (!dmsc_template_ulong(kt, &key_type) || !key_bits(key_type, objects, &key))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }

    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        const rule *r = NULL;
        /* The same type twice cannot be both values. */
        for (CK_ULONG j = 0; j < i; j++)
            if (tmpl[j].type == tmpl[i].type)
                rv = CKR_TEMPLATE_INCONSISTENT;
        if (rv == CKR_OK)
            rv = check_create_entry(&tmpl[i], objects, key, who, &r);
        if (rv == CKR_OK)
            rv = store_value(out, r, &tmpl[i]);
    }
    /* Everything required is there? */
    for (size_t i = 0; i < DMSC_N_ELEMENTS(rules) && rv == CKR_OK; i++) {
        const rule *r = &rules[i];
        if ((r->flags & F_REQUIRED) && (r->objects & objects) && (r->keys == 0 || (r->keys & key)) &&
            !dmsc_attrs_find(out, r->type))
            rv = CKR_TEMPLATE_INCOMPLETE;
    }
    if (rv == CKR_OK)
        rv = apply_defaults(out, objects, key, key_type);
    if (rv == CKR_OK)
        rv = check_object(out, objects, key_type, key);
    if (rv != CKR_OK)
        dmsc_attrs_clear(out);
    return rv;
}

CK_RV dmsc_policy_modify(const dmsc_attrs *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         dmsc_policy_who who, bool copying, dmsc_attrs *out)
{
    dmsc_attrs_init(out);
    if (tmpl == NULL && n > 0)
        return CKR_ARGUMENTS_BAD;
    unsigned objects, key;
    object_kind(obj, &objects, &key);
    CK_RV rv = dmsc_attrs_copy(out, obj);
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        const CK_ATTRIBUTE *a = &tmpl[i];
        const rule *r = find_rule(a->type, objects, key);
        if (r == NULL) {
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
            break;
        }
        if ((rv = check_value(r, a)) != CKR_OK)
            break;
        bool allowed = copying ? (r->flags & F_COPY_CHANGE) != 0 : (r->flags & F_MODIFIABLE) != 0;
        const dmsc_attr *cur = dmsc_attrs_find(obj, a->type);
        /* Setting an attribute to the value it has is no change. */
        bool same = cur != NULL && !cur->sealed && cur->len == a->ulValueLen &&
                    (a->ulValueLen == 0 || memcmp(cur->value, a->pValue, a->ulValueLen) == 0);
        if (r->kind == V_BOOL && cur != NULL && cur->len == 1) {
            bool nb = false;
            dmsc_template_bool(a, &nb);
            same = (*(const CK_BBOOL *)cur->value != CK_FALSE) == nb;
            bool was = *(const CK_BBOOL *)cur->value != CK_FALSE;
            if (!same && (r->flags & F_STICKY_TRUE) && was)
                allowed = false;
            if (!same && (r->flags & F_STICKY_FALSE) && !was)
                allowed = false;
            if (!same && (r->flags & F_SO_TRUE) && nb && !who.so)
                allowed = false;
        }
        /* Nor by "setting" it to a guess. */
        if (same && (r->flags & F_SECRET) && dmsc_policy_readable(obj, a->type) == CKR_ATTRIBUTE_SENSITIVE)
            same = false;
        if (!allowed && !same) {
            rv = CKR_ATTRIBUTE_READ_ONLY;
            break;
        }
        rv = store_value(out, r, a);
    }
    if (rv == CKR_OK && objects == O_SECRET) {
        dmsc_attr *v = dmsc_attrs_find(out, CKA_VALUE);
        if (v && !v->sealed)
            rv = dmsc_attrs_set_ulong(out, CKA_VALUE_LEN, v->len);
    }
    if (rv != CKR_OK)
        dmsc_attrs_clear(out);
    return rv;
}

CK_RV dmsc_policy_readable(const dmsc_attrs *obj, CK_ATTRIBUTE_TYPE type)
{
    unsigned objects, key;
    object_kind(obj, &objects, &key);
    const rule *r = find_rule(type, objects, key);
    if (r == NULL || dmsc_attrs_find(obj, type) == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if ((r->flags & F_SECRET) && (dmsc_attrs_is_true(obj, CKA_SENSITIVE, true) ||
                                  !dmsc_attrs_is_true(obj, CKA_EXTRACTABLE, false)))
        return CKR_ATTRIBUTE_SENSITIVE;
    return CKR_OK;
}

bool dmsc_policy_seal_at_rest(const dmsc_attrs *obj, CK_ATTRIBUTE_TYPE type)
{
    if (!dmsc_attrs_is_true(obj, CKA_PRIVATE, false))
        return false;
    unsigned objects, key;
    object_kind(obj, &objects, &key);
    const rule *r = find_rule(type, objects, key);
    return r != NULL && (r->flags & F_SEAL);
}

/* Generation parameters a template names but the object keeps as the
 * token computes them. */
static bool generation_parameter(CK_ATTRIBUTE_TYPE type)
{
    return type == CKA_MODULUS_BITS || type == CKA_VALUE_LEN;
}

CK_RV dmsc_policy_generate(const CK_ATTRIBUTE *tmpl, CK_ULONG n, dmsc_policy_who who,
                           CK_OBJECT_CLASS klass, CK_KEY_TYPE key_type, const dmsc_attrs *material,
                           CK_MECHANISM_TYPE gen_mech, dmsc_attrs *out)
{
    dmsc_attrs_init(out);
    if (tmpl == NULL && n > 0)
        return CKR_ARGUMENTS_BAD;
    if (n > 65536)
        return CKR_ARGUMENTS_BAD; /* no object has that many attributes */
    CK_ATTRIBUTE *all = calloc(n + material->n + 2, sizeof(*all));
    if (all == NULL)
        return CKR_HOST_MEMORY;
    CK_ULONG k = 0;
    CK_RV rv = CKR_OK;
    all[k++] = (CK_ATTRIBUTE){ CKA_CLASS, &klass, sizeof(klass) };
    all[k++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &key_type, sizeof(key_type) };
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        const CK_ATTRIBUTE *a = &tmpl[i];
        CK_ULONG v;
        if (a->type == CKA_CLASS || a->type == CKA_KEY_TYPE) {
            CK_ULONG want = a->type == CKA_CLASS ? klass : key_type;
            if (!dmsc_template_ulong(a, &v) || v != want)
                rv = CKR_TEMPLATE_INCONSISTENT;
            continue;
        }
        if (generation_parameter(a->type))
            continue;
        const dmsc_attr *made = dmsc_attrs_find(material, a->type);
        if (made != NULL) {
            /* Parameters the generator took from the template agree;
             * key material is the token's to make. */
            if (a->type != CKA_EC_PARAMS && a->type != CKA_PUBLIC_EXPONENT)
                rv = CKR_TEMPLATE_INCONSISTENT;
            continue;
        }
        all[k++] = *a;
    }
    for (size_t i = 0; i < material->n && rv == CKR_OK; i++)
        all[k++] = (CK_ATTRIBUTE){ material->items[i].type, material->items[i].value,
                                   material->items[i].len };
    if (rv == CKR_OK)
        rv = dmsc_policy_create(all, k, who, out);
    free(all);
    if (rv != CKR_OK)
        return rv;
    bool local = gen_mech != CK_UNAVAILABLE_INFORMATION;
    bool secret = klass == CKO_PRIVATE_KEY || klass == CKO_SECRET_KEY;
    rv = dmsc_attrs_set_bool(out, CKA_LOCAL, local);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set_ulong(out, CKA_KEY_GEN_MECHANISM, gen_mech);
    if (rv == CKR_OK && secret) {
        rv = dmsc_attrs_set_bool(out, CKA_ALWAYS_SENSITIVE,
                                 local && dmsc_attrs_is_true(out, CKA_SENSITIVE, true));
        if (rv == CKR_OK)
            rv = dmsc_attrs_set_bool(out, CKA_NEVER_EXTRACTABLE,
                                     local && !dmsc_attrs_is_true(out, CKA_EXTRACTABLE, false));
    }
    if (rv != CKR_OK)
        dmsc_attrs_clear(out);
    return rv;
}
