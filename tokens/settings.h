/*
 * Where the card store is and how new cards are made. DMSC_STORE (a
 * directory) overrides the store; settings come from the file named by
 * DMSC_CONF, else ~/.config/dmsc/dmsc.conf, else SYSCONFDIR/dmsc/dmsc.conf;
 * without a store setting the store is $XDG_DATA_HOME/dmsc (or
 * ~/.local/share/dmsc).
 *
 * File format: "key = value" lines, '#' starts a comment. Keys:
 *   store = DIR          the card store directory
 *   capacity = BYTES     capacity of a card created on first use
 *   iccid = DIGITS       ICCID of a card created on first use (18 to 20
 *                        digits; default: random on the test network)
 *   imsi = DIGITS        IMSI of a card created on first use (6 to 15
 *                        digits; default: random on the test network)
 *   durability = process | power
 *                        process: a change that returned survives a crash
 *                        of the process (kill -9); power: also a power loss
 *                        (an fsync per change).
 *   approve_policy = reject | ask
 *                        `dmsc approve`: what happens to a package the MA
 *                        did not approve (the module ignores it).
 *   audit_log = FILE     `dmsc approve`: where its decisions are appended.
 *   backends = NAME...   the token backends the module opens, in this
 *                        order (space- or comma-separated): vuicc (the
 *                        virtual UICC store), pcsc (PKCS#15 cards in PC/SC
 *                        readers). Default: vuicc. DMSC_BACKENDS in the
 *                        environment overrides it.
 *   pcsc_reader = NAME   repeatable: the pcsc backend uses only the readers
 *                        so named (exact names); none: every reader.
 * DMSC_CARD_CAPACITY, DMSC_CARD_ICCID and DMSC_CARD_IMSI in the environment
 * override capacity, iccid and imsi: `dmsc personalise` sets them from a
 * profile's <card>, the one way a card's identity reaches a new virtual
 * UICC (PKCS#11 has no call that sets a token's serial number).
 */
#ifndef DMSC_SETTINGS_H
#define DMSC_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMSC_DEFAULT_CAPACITY (1024u * 1024u)

typedef enum {
    DMSC_BACKEND_VUICC,
    DMSC_BACKEND_PCSC,
    DMSC_BACKEND_KINDS /* how many there are */
} dmsc_backend_kind;

/* pcsc-lite's bounds: a reader name fits 128 bytes with its NUL, and one
 * context sees at most 16 readers. */
#define DMSC_MAX_READER_NAME 127
#define DMSC_MAX_PCSC_READERS 16

typedef struct {
    char *store;        /* malloc'd */
    char *source;       /* the config file read, or NULL */
    uint64_t capacity;
    char iccid[24];     /* "" : a random one */
    char imsi[20];      /* "" : a random one */
    bool durable_power;
    char *approve_policy; /* "reject" or "ask" (malloc'd), or NULL */
    char *audit_log;      /* malloc'd, or NULL */
    dmsc_backend_kind backends[DMSC_BACKEND_KINDS]; /* in order, each once */
    size_t n_backends;    /* at least 1 */
    char **pcsc_readers;  /* malloc'd names (each malloc'd); none: every reader */
    size_t n_pcsc_readers;
} dmsc_config;

/* 0 on success; on error, fills err (a message naming the problem). */
int dmsc_config_load(dmsc_config *cfg, char *err, size_t err_len);
void dmsc_config_free(dmsc_config *cfg);

/* The name of a backend kind, as the backends setting spells it. */
const char *dmsc_backend_kind_name(dmsc_backend_kind kind);

#endif
