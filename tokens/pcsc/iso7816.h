/*
 * The ISO 7816-4/-8/-9 commands the PKCS#15 backend uses, over one card.
 * Each returns what dmsc_card_transmit returns; on CKR_OK, *sw is the
 * card's status word (0x9000 success) for the caller to judge.
 */
#ifndef DMSC_PCSC_ISO7816_H
#define DMSC_PCSC_ISO7816_H

#include "reader.h"

/* SELECT by DF name (AID). */
CK_RV dmsc_iso_select_aid(dmsc_card *c, const uint8_t *aid, size_t len, uint16_t *sw);
/* SELECT a file by path: a path starting 3F00 is absolute, else it is
 * relative to the current DF (PKCS#15 Path semantics). *size: the EF's
 * size from the FCP (tag 80 or 81), 0 when the card does not say. */
CK_RV dmsc_iso_select_path(dmsc_card *c, const uint8_t *path, size_t len, size_t *size, uint16_t *sw);
/* The EF size an FCP (62) or FCI (6F) template states: tag 80, else 81;
 * 0 when it states none or is malformed. */
size_t dmsc_iso_fcp_size(const uint8_t *fcp, size_t len);
/* READ BINARY and UPDATE BINARY give the offset in P1-P2: 15 bits. */
#define DMSC_ISO_MAX_OFFSET 0x7FFF
/* Are len bytes from offset all at offsets P1-P2 can name (so every
 * READ/UPDATE BINARY for them starts at one)? len 0: is offset one. */
bool dmsc_iso_binary_reaches(size_t offset, size_t len);
/* READ BINARY at offset, up to len bytes (<= 256) of the current EF. */
CK_RV dmsc_iso_read_binary(dmsc_card *c, size_t offset, size_t len, uint8_t *out, size_t *got, uint16_t *sw);
/* Select path and read the whole EF (its FCP size, else until the card
 * says end of file), at most max bytes. An EF larger than max, or than
 * the DMSC_ISO_MAX_OFFSET + 1 bytes READ BINARY reaches, is
 * CKR_DEVICE_MEMORY (traced). *out is malloc'd. */
CK_RV dmsc_iso_read_ef(dmsc_card *c, const uint8_t *path, size_t path_len, size_t max, uint8_t **out,
                       size_t *len, uint16_t *sw);
/* READ RECORD number rec (1-based) of the current linear EF. */
CK_RV dmsc_iso_read_record(dmsc_card *c, uint8_t rec, uint8_t *out, size_t cap, size_t *got, uint16_t *sw);
/* UPDATE BINARY of the current EF from offset, in chunks as needed. */
CK_RV dmsc_iso_update_binary(dmsc_card *c, size_t offset, const uint8_t *data, size_t len, uint16_t *sw);

/* VERIFY reference ref with pin (already formatted: padded as the AODF
 * says); len 0 asks for the retry counter (63Cx) without spending a try. */
CK_RV dmsc_iso_verify(dmsc_card *c, uint8_t ref, const uint8_t *pin, size_t len, uint16_t *sw);
/* CHANGE REFERENCE DATA: old then new, both formatted. */
CK_RV dmsc_iso_change_reference_data(dmsc_card *c, uint8_t ref, const uint8_t *old_pin, size_t old_len,
                                     const uint8_t *new_pin, size_t new_len, uint16_t *sw);
/* RESET RETRY COUNTER with the unblocking PIN (PUK) and the new PIN. */
CK_RV dmsc_iso_reset_retry_counter(dmsc_card *c, uint8_t ref, const uint8_t *puk, size_t puk_len,
                                   const uint8_t *new_pin, size_t new_len, uint16_t *sw);

/* MANAGE SECURITY ENVIRONMENT: SET for the digital signature template:
 * the private key reference (tag 84) and, when alg_ref >= 0, the
 * algorithm reference (tag 80). */
CK_RV dmsc_iso_mse_set_dst(dmsc_card *c, uint8_t key_ref, int alg_ref, uint16_t *sw);
/* PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE over in (a
 * DigestInfo for RSA PKCS#1 v1.5, a hash for ECDSA). */
CK_RV dmsc_iso_pso_cds(dmsc_card *c, const uint8_t *in, size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
                       uint16_t *sw);

#endif
