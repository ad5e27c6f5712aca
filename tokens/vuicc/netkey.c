/* The card's network key object, made from its IMSI. */
#include "netkey.h"

#include <dmsc/pkcs11-dm.h>
#include <string.h>

#include "dmsec.h"

CK_RV vuicc_netkey_attrs(const char *imsi, dmsc_attrs *attrs)
{
    unsigned char key[DMSC_DMSEC_IMSI_KEY_MAX];
    size_t key_len = 0;
    dmsc_attrs_init(attrs);
    if (dmsc_dmsec_imsi_key(imsi, strlen(imsi), key, &key_len) != DMSC_DMSEC_OK)
        return CKR_DEVICE_ERROR;
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        bool value;
    } flags[] = {
        { CKA_TOKEN, true },        { CKA_PRIVATE, false },    { CKA_MODIFIABLE, false },
        { CKA_COPYABLE, false },    { CKA_DESTROYABLE, false }, { CKA_LOCAL, false },
        { CKA_SENSITIVE, true },    { CKA_ALWAYS_SENSITIVE, true },
        { CKA_EXTRACTABLE, false }, { CKA_NEVER_EXTRACTABLE, true },
        { CKA_VERIFY, true },       { CKA_SIGN, false },       { CKA_ENCRYPT, false },
        { CKA_DECRYPT, false },     { CKA_WRAP, false },       { CKA_UNWRAP, false },
        { CKA_DERIVE, false },      { CKA_TRUSTED, false },    { CKA_WRAP_WITH_TRUSTED, false },
    };
    /* Verify only: with CKA_SIGN the card would make bootstrap MACs for
     * anyone, which is the operator's privilege. */
    CK_MECHANISM_TYPE allowed = CKM_DMSC_BOOTSTRAP_HMAC_SHA1;
    CK_RV rv = dmsc_attrs_set_ulong(attrs, CKA_CLASS, CKO_SECRET_KEY);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set_ulong(attrs, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
    for (size_t i = 0; rv == CKR_OK && i < DMSC_N_ELEMENTS(flags); i++)
        rv = dmsc_attrs_set_bool(attrs, flags[i].type, flags[i].value);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_LABEL, VUICC_NETKEY_LABEL, strlen(VUICC_NETKEY_LABEL));
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_ID, NULL, 0);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_START_DATE, NULL, 0);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_END_DATE, NULL, 0);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set_ulong(attrs, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_ALLOWED_MECHANISMS, &allowed, sizeof(allowed));
    if (rv == CKR_OK)
        rv = dmsc_attrs_set_ulong(attrs, CKA_VALUE_LEN, key_len);
    if (rv == CKR_OK)
        rv = dmsc_attrs_set(attrs, CKA_VALUE, key, key_len);
    dmsc_wipe(key, sizeof(key));
    if (rv != CKR_OK)
        dmsc_attrs_clear(attrs);
    return rv;
}
