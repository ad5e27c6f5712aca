/* The virtual UICC backend: a directory of card files (uicc-N.db). */
#ifndef DMSC_VUICC_H
#define DMSC_VUICC_H

#include "backend.h"

/* Slot id of application slot `slot` on the card at `index` in the store. */
#define VUICC_SLOT_ID(index, slot) ((CK_SLOT_ID)(index) * 256u + (slot))

#define VUICC_MIN_PIN 4
#define VUICC_MAX_PIN 64

#endif
