/* The slot table, kept in step with the backend's slots. */
#ifndef DMSC_SLOTS_H
#define DMSC_SLOTS_H

#include "state.h"

/* Re-read the backend's slots (new applications, new cards). */
CK_RV dmsc_slots_refresh(void);
/* The token in a slot; CKR_SLOT_ID_INVALID when there is no such slot. */
CK_RV dmsc_slots_token(CK_SLOT_ID id, dmsc_token **token);
/* As dmsc_slots_token after a refresh, and CKR_TOKEN_NOT_PRESENT when the
 * slot holds no token (a reader without a card). */
CK_RV dmsc_slots_present_token(CK_SLOT_ID id, dmsc_token **token);
/* As dmsc_slots_present_token without the refresh: the slot as last seen
 * (for calls an application makes many times, C_GetMechanismInfo). */
CK_RV dmsc_slots_token_here(CK_SLOT_ID id, dmsc_token **token);
/* The token's card went (removed, replaced, found gone by a call): close
 * its sessions and drop its login. Call with no lock held. */
void dmsc_slots_token_gone(dmsc_token *t);
CK_RV dmsc_slots_list(CK_BBOOL present_only, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV dmsc_slots_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info);
void dmsc_slots_free(void);

/* One slot as C_WaitForSlotEvent compares it (presence: see dmsc_bslot). */
typedef struct {
    CK_SLOT_ID id;
    uint64_t presence;
} dmsc_slot_presence;
/* Re-read the backend's slots and give every slot's presence, ascending
 * by id; *out is malloc'd (free it). */
CK_RV dmsc_slots_presence(dmsc_slot_presence **out, size_t *n);

#endif
