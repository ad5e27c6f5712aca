/* X.509 certificate objects: attributes taken from the DER value. */
#ifndef DMSC_CERT_H
#define DMSC_CERT_H

#include "attrs.h"

/* Parse CKA_VALUE with OpenSSL; fill CKA_SUBJECT, CKA_ISSUER,
 * CKA_SERIAL_NUMBER and CKA_PUBLIC_KEY_INFO where the template lacked
 * them, and CKA_CHECK_VALUE. CKR_ATTRIBUTE_VALUE_INVALID when the value
 * is not one DER certificate. */
CK_RV dmsc_cert_fill(dmsc_attrs *o);

#endif
