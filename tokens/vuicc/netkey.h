/*
 * The card's network key: the object through which the DM application
 * verifies a DM bootstrap MAC keyed by the IMSI (SEC=NETWPIN and
 * USERNETWPIN, CKM_DMSC_BOOTSTRAP_HMAC_SHA1). A UICC keeps its IMSI in
 * EF_IMSI, not as a PKCS#11 object, so the card shows it as a read-only
 * secret key made from its identity: never stored, never readable, good
 * for that one mechanism and for verification only.
 */
#ifndef DMSC_VUICC_NETKEY_H
#define DMSC_VUICC_NETKEY_H

#include "attrs.h"

/* The object id it takes in the DM application's token (no stored object
 * has it: store ids are SQLite rowids, below 2^63). */
#define VUICC_NETKEY_OID (UINT64_C(1) << 63)

/* Its label. */
#define VUICC_NETKEY_LABEL "NETWORKID"

/* The attributes for an IMSI given as digits; *attrs is initialised here.
 * CKR_DEVICE_ERROR when the card's IMSI is not 6..15 digits. */
CK_RV vuicc_netkey_attrs(const char *imsi, dmsc_attrs *attrs);

#endif
