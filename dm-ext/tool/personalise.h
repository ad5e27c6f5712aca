/*
 * dm-ext/tool/personalise.h - what cmd-personalise.c (the steps, the
 * applications, the sessions) shares with personalise-objects.c (one
 * profile item as PKCS#11 objects).
 */
#ifndef DMSC_TOOL_PERSONALISE_H
#define DMSC_TOOL_PERSONALISE_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "profile.h"

/* What a step did, as the step list prints it. */
enum pz_outcome {
	PZ_NOT_DONE,
	PZ_DONE,                     /* created or set */
	PZ_KEPT,                     /* already on the card (see the note) */
	PZ_REPLACED,                 /* on the card with another value: the
	                                profile's replaced it */
	PZ_FAILED,
};

/* The result of one item: on failure rv is the PKCS#11 error (or
 * CKR_GENERAL_ERROR with why saying what was found), needed the bytes the
 * object would have taken (for "card full"). */
struct pz_result {
	enum pz_outcome outcome;
	CK_RV rv;
	size_t needed;
	char note[160];              /* printed after the step */
	char why[240];               /* on failure without a CKR meaning */
};

/* Put one item on the token of session (logged in as the item needs: SO
 * for the MA certificate, the user for the rest). */
void pz_item(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE session,
             const struct dmsc_profile_item *it, struct pz_result *res);

/* Whether the item is written in an SO session (CKA_TRUSTED). */
bool pz_item_needs_so(const struct dmsc_profile_item *it);

/* The DER of OID 2.23.43.7.1, the DM bootstrap's CKA_OBJECT_ID. */
extern const unsigned char pz_bootstrap_oid[];
extern const size_t pz_bootstrap_oid_len;
#define PZ_BOOTSTRAP_LABEL "bootstrap"

#endif /* DMSC_TOOL_PERSONALISE_H */
