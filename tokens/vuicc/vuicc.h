/* The virtual UICC backend: a directory of card files (uicc-N.db). */
#ifndef DMSC_VUICC_H
#define DMSC_VUICC_H

#include "backend.h"

/* Slot id of application slot `slot` on the card at `index` in the store. */
#define VUICC_SLOT_ID(index, slot) ((CK_SLOT_ID)(index) * 256u + (slot))

/* Card files uicc-0.db to uicc-255.db: their slot ids stay below the
 * PC/SC backend's, so both backends can be open at once. */
#define VUICC_MAX_CARDS 256
_Static_assert(VUICC_SLOT_ID(VUICC_MAX_CARDS - 1, 255) < DMSC_PCSC_SLOT_BASE,
               "virtual UICC slot ids overlap the PC/SC slot ids");

#define VUICC_MIN_PIN 4
#define VUICC_MAX_PIN 64

#endif
