/*
 * Slot events for C_WaitForSlotEvent: a token that comes (C_InitToken on
 * a spare slot, by any process), goes (an application deleted from the
 * card) or is re-initialised, and slots that appear. Events are counted
 * from C_Initialize: each is reported once, to one caller.
 */
#ifndef DMSC_EVENTS_H
#define DMSC_EVENTS_H

#include "common.h"

/* C_Initialize: what the slots hold now is the baseline. */
CK_RV dmsc_events_start(void);
/* C_Finalize, before the state goes: wake every waiter (it answers
 * CKR_CRYPTOKI_NOT_INITIALIZED) and wait until all have left. */
void dmsc_events_stop(void);
/* C_Finalize, after the state went: waiting may start again after the
 * next C_Initialize. */
void dmsc_events_stopped(void);
/* C_Initialize in a forked child: the parent's waiters do not exist here
 * and its locks may be held by threads that were not copied. */
void dmsc_events_forget_parent(void);

#endif
