/*
 * PC/SC readers (pcsc-lite) and the card in each. Readers become slots:
 * a reader keeps its index for the life of the context (a reader that is
 * unplugged stays listed as gone), so slot ids stay stable.
 */
#ifndef DMSC_PCSC_READER_H
#define DMSC_PCSC_READER_H

#include "apdu.h"

#include <stdbool.h>

/* Returned by dmsc_card_transmit (never to an application): another
 * application reset the card. The link is re-established; every security
 * state on the card (PIN verified, selected files, SE) is gone. */
#define DMSC_CKR_CARD_RESET (CKR_VENDOR_DEFINED | 0x44430001UL)

typedef struct dmsc_pcsc dmsc_pcsc;
typedef struct dmsc_card dmsc_card;

typedef struct {
    const char *name;    /* the reader's name as PC/SC gives it */
    bool gone;           /* the reader was unplugged */
    bool present;        /* a card is in the reader */
    uint64_t insertions; /* counts card insertions: a new value is a new card */
    uint8_t atr[33];
    size_t atr_len;
} dmsc_reader_state;

/* A PC/SC context. readers: the names of the readers to use (exact
 * names), n_readers 0 for every reader. No pcscd running is not an
 * error: the context lists no readers until one appears. */
CK_RV dmsc_pcsc_new(const char *const *readers, size_t n_readers, dmsc_pcsc **out);
/* Every card of p must be disconnected first. */
void dmsc_pcsc_free(dmsc_pcsc *p);

/* The readers and the card presence now, without blocking; the array
 * stays valid until the next call or dmsc_pcsc_free (callers polling
 * from several threads serialise their polls). */
CK_RV dmsc_pcsc_poll(dmsc_pcsc *p, const dmsc_reader_state **readers, size_t *n);

/* Connect to the card in reader index (shared mode, T=0 or T=1). */
CK_RV dmsc_card_connect(dmsc_pcsc *p, size_t index, dmsc_card **out);
void dmsc_card_disconnect(dmsc_card *c);

/* dmsc_apdu_transmit over this card. Card removed: CKR_DEVICE_REMOVED;
 * reset by another application: DMSC_CKR_CARD_RESET (once; the caller
 * re-selects what it needs and, if it must, sends the command again). */
CK_RV dmsc_card_transmit(dmsc_card *c, const dmsc_apdu *a, uint8_t *out, size_t cap, size_t *out_len,
                         uint16_t *sw);

/* SCardBeginTransaction/EndTransaction around a sequence of APDUs that
 * another application must not interleave with (select, verify, sign).
 * begin returns DMSC_CKR_CARD_RESET (once, no transaction held) when the
 * card was reset meanwhile, CKR_DEVICE_REMOVED when it is gone. They
 * nest: a begin inside a transaction held only counts, and the reader's
 * transaction ends with the outermost end. */
CK_RV dmsc_card_begin(dmsc_card *c);
void dmsc_card_end(dmsc_card *c);

#endif
