/*
 * The card behind dmsc_card, internal to the transport: a raw exchange
 * function (SCardTransmit for a PC/SC card, a table or the fuzzer's bytes
 * in tests) plus what the ISO 7816 layer learns about the card. reader.c
 * builds PC/SC cards on it; dmsc_card_over_transmit lets the unit tests
 * and the fuzz target play the card without pcscd.
 */
#ifndef DMSC_PCSC_CARD_H
#define DMSC_PCSC_CARD_H

#include "reader.h"

typedef struct {
    /* The raw exchange (required). */
    dmsc_transmit_fn transmit;
    /* Optional: SCardBeginTransaction / EndTransaction. */
    CK_RV (*begin)(void *ctx);
    void (*end)(void *ctx);
    /* Optional: release ctx when the card is disconnected. */
    void (*release)(void *ctx);
} dmsc_card_ops;

struct dmsc_card {
    const dmsc_card_ops *ops;
    void *ctx;
    /* Learnt from the card's refusals, so each refusal costs one APDU once:
     * SELECT with P2 04 (return the FCP) refused; SELECT by path (P1 08/09)
     * refused, select file by file instead. */
    bool no_fcp;
    bool no_path_select;
    bool owns_ops; /* ops were allocated for this card (dmsc_card_over_transmit) */
    /* Transactions begun and not ended: only the outermost one talks to
     * the reader, so an operation may run inside a caller's transaction. */
    unsigned depth;
};

/* A card over ops (copied by reference: ops must outlive the card). */
CK_RV dmsc_card_new(const dmsc_card_ops *ops, void *ctx, dmsc_card **out);

/* A card whose every exchange is tx(ctx, ...): tests and fuzzing. */
CK_RV dmsc_card_over_transmit(dmsc_transmit_fn tx, void *ctx, dmsc_card **out);

#endif
