/*
 * dm-ext/tool/card-mos.h - the MO objects of a token as one management
 * tree, and the changes to that tree written back to the objects, for
 * `dmsc apply` and `dmsc diff`.
 *
 * Which object holds which nodes is dm-ext/mo-map.h's rule.  Reading: every
 * CKO_DATA object with CKA_APPLICATION "OMA-DM:MO" the session sees, in
 * label order, is read into one tree (dmsc_tnds_load: the same rules as
 * any TNDS document); an object whose label is not a node URI is no part
 * of the tree.  A private object is seen only after a login.
 */
#ifndef DMSC_TOOL_CARD_MOS_H
#define DMSC_TOOL_CARD_MOS_H

#include <stdbool.h>
#include <stddef.h>

#include "p11-client.h"
#include "mgmt-tree.h"

struct dmsc_card_mos {
	dmsc_tnds *tree;             /* the tree as the card holds it */
	struct dmsc_p11_data *objs;  /* the MO objects, by label */
	size_t n;
};

/* Reads the MOs.  DMSC_EXIT_OK, or the error is printed and the status
 * is the card's (p11-client.h) or DMSC_EXIT_CARD for an object whose
 * TNDS is malformed (named with its label, line and rule). */
int dmsc_card_mos_read(dmsc_p11 *p, struct dmsc_card_mos *m);

/* Writes what changed from m->tree to after (dm-ext/mo-map.h): each
 * object in one PKCS#11 call (its value replaced whole, created, or
 * destroyed), new objects private.  Unless quiet, says on stderr what it
 * did.  A failure part-way says what was already written.  *written (may
 * be NULL) gets the number of objects changed. */
int dmsc_card_mos_write(dmsc_p11 *p, const struct dmsc_card_mos *m,
                        const dmsc_tnds *after, bool quiet, size_t *written);

void dmsc_card_mos_free(struct dmsc_card_mos *m);

/* How many --root options a command takes. */
#define DMSC_CARD_MOS_MAX_ROOTS 64

struct dmsc_command;

/* One --root PATH option of cmd: checked as a TNDS path and appended to
 * roots (room for DMSC_CARD_MOS_MAX_ROOTS).  0; else the usage error's
 * exit code, the problem already printed. */
int dmsc_card_mos_root_option(const struct dmsc_command *cmd, const char *arg,
                              const char **roots, size_t *n_roots);

#endif /* DMSC_TOOL_CARD_MOS_H */
