/*
 * DM 1.2 session security on the card: the operations behind
 * CKM_DMSC_SYNCML_AUTH_MD5, CKM_DMSC_SYNCML_HMAC_MD5 and
 * CKM_DMSC_BOOTSTRAP_HMAC_SHA1 (<dmsc/pkcs11-dm.h>), over dm-ext/dmsec.h.
 * The secret (a DM credential, or the card's network key) comes from a
 * secret key object and stays in the module.
 */
#ifndef DMSC_DMSEC_OP_H
#define DMSC_DMSEC_OP_H

#include "mechs.h"

#include <openssl/types.h>

typedef struct dmsc_dmsec_op dmsc_dmsec_op;

/* Check the mechanism's parameter and start. secret is borrowed: it must
 * outlive the operation. *out_len: the length C_Sign gives. */
CK_RV dmsc_dmsec_op_init(OSSL_LIB_CTX *libctx, const dmsc_mech *m, const CK_MECHANISM *mech,
                         const unsigned char *secret, size_t secret_len, dmsc_dmsec_op **out,
                         size_t *out_len);
CK_RV dmsc_dmsec_op_update(dmsc_dmsec_op *op, const unsigned char *in, size_t len);
/* The credential or MAC text, *out_len bytes as init said. */
CK_RV dmsc_dmsec_op_sign(dmsc_dmsec_op *op, unsigned char *out);
CK_RV dmsc_dmsec_op_verify(dmsc_dmsec_op *op, const unsigned char *sig, size_t sig_len);
void dmsc_dmsec_op_free(dmsc_dmsec_op *op);

#endif
