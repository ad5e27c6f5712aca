/*
 * A card's ECDSA signature in the form PKCS#11 gives it: r || s, each
 * the size of the group order.
 *
 * Cards answer PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE for
 * an EC key in one of two forms: most give the DER ECDSA-Sig-Value
 * (SEQUENCE { INTEGER r, INTEGER s }), some the raw r || s. Raw r starts
 * with 0x30, the tag of a SEQUENCE, once in 256 signatures, so the first
 * byte says nothing: the form is decided by the length and a strict DER
 * parse (see pcsc_ecdsa_to_raw).
 */
#ifndef DMSC_PCSC_ECDSA_SIG_H
#define DMSC_PCSC_ECDSA_SIG_H

#include <stdbool.h>
#include <stddef.h>

/* The largest order size handled: P-521's 66 bytes. */
#define PCSC_ECDSA_MAX_HALF 66

/* The card's answer sig (len bytes) for a key whose order is half bytes
 * long, into out (2 * half bytes):
 *  - exactly 2 * half bytes: raw r || s, copied. A DER ECDSA-Sig-Value
 *    of that length would need r and s both some 3 bytes shorter than
 *    the order (chance about 2^-45 for P-256), rarer than raw r || s that
 *    happens to parse as DER (about 2^-40): the length wins.
 *  - any other length: one DER ECDSA-Sig-Value, strictly: OpenSSL's
 *    d2i_ECDSA_SIG consumes every byte, the encoding is the DER one
 *    (re-encoding gives the same bytes: no long-form or padded lengths,
 *    no superfluous leading zeros), r and s are positive and fit in half
 *    bytes.
 * False (out unspecified) when it is neither, or half is 0 or above
 * PCSC_ECDSA_MAX_HALF. */
bool pcsc_ecdsa_to_raw(const unsigned char *sig, size_t len, size_t half, unsigned char *out);

#endif
