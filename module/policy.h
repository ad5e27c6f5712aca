/*
 * The attribute policy: one table says, for every attribute of every
 * object class we support, its type, whether it must be given at
 * creation, whether it may change afterwards, whether it is secret
 * (never revealed when the object is sensitive or unextractable), and
 * who may set it. Creation, C_SetAttributeValue, C_CopyObject and
 * C_GetAttributeValue all ask this table, so no class bends the spec.
 */
#ifndef DMSC_POLICY_H
#define DMSC_POLICY_H

#include "attrs.h"

typedef struct {
    bool so;        /* the SO is logged in */
    bool user;      /* the normal user is logged in */
} dmsc_policy_who;

/* Build a new object's attributes from a C_CreateObject template:
 * checks every type and value, applies defaults, fills derived
 * attributes (certificate subject/issuer/serial), checks completeness. */
CK_RV dmsc_policy_create(const CK_ATTRIBUTE *tmpl, CK_ULONG n, dmsc_policy_who who, dmsc_attrs *out);

/* A key the token made (C_GenerateKey/Pair: gen_mech is the mechanism)
 * or unwrapped (gen_mech = CK_UNAVAILABLE_INFORMATION): the caller's
 * template, checked as at creation, plus the key material, which the
 * template may not give itself. Sets CKA_LOCAL, CKA_KEY_GEN_MECHANISM,
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE as the spec says. */
CK_RV dmsc_policy_generate(const CK_ATTRIBUTE *tmpl, CK_ULONG n, dmsc_policy_who who,
                           CK_OBJECT_CLASS klass, CK_KEY_TYPE key_type, const dmsc_attrs *material,
                           CK_MECHANISM_TYPE gen_mech, dmsc_attrs *out);

/* Apply a C_SetAttributeValue (copying = false) or C_CopyObject
 * (copying = true) template to a copy of obj, into out. */
CK_RV dmsc_policy_modify(const dmsc_attrs *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         dmsc_policy_who who, bool copying, dmsc_attrs *out);

/* May this attribute be read? CKR_OK, CKR_ATTRIBUTE_SENSITIVE or
 * CKR_ATTRIBUTE_TYPE_INVALID (not an attribute of this object). */
CK_RV dmsc_policy_readable(const dmsc_attrs *obj, CK_ATTRIBUTE_TYPE type);

/* Is the value kept encrypted at rest (secret values of private objects)? */
bool dmsc_policy_seal_at_rest(const dmsc_attrs *obj, CK_ATTRIBUTE_TYPE type);

/* The object's class; CK_UNAVAILABLE_INFORMATION when it has none. */
CK_OBJECT_CLASS dmsc_policy_class(const dmsc_attrs *obj);

#endif
