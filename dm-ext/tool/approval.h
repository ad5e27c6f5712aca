/*
 * dm-ext/tool/approval.h - one signed DM message checked on the card: the
 * part `dmsc verify` and `dmsc approve` share (dm-ext/APPROVAL.md).
 */
#ifndef DMSC_TOOL_APPROVAL_H
#define DMSC_TOOL_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pkgref.h"
#include "trust.h"

/* The largest detached signature file read. */
#define APPROVAL_SIG_MAX (16u * 1024u)

/* Verify the message at msg_path on the card against the trust anchors:
 * with the detached signature at sig_path, or (sig_path NULL) its
 * enveloped XML-DSig; then add the packages it names to *refs (refs may
 * be NULL).  TRUST_OK with *who set; TRUST_REFUSED (bad or missing
 * signature, malformed message, a malformed package reference) or
 * TRUST_ERROR (the message cannot be read, the token failed), why[] one
 * line naming the file. */
int approval_check_message(trust_anchors *t, const char *msg_path,
                           const char *sig_path, bool allow_sha1,
                           pkgrefs *refs, const trust_anchor **who,
                           char *why, size_t why_len);

/* The operation (first Exec target) a message claims, read without any
 * check, for showing the user what a message that did not verify asks
 * for: "./FUMO/fw1/DownloadAndUpdate (unverified)".  0, or -1 when the
 * message cannot be read or has no Exec. */
int approval_claimed_operation(const char *msg_path, char *out,
                               size_t out_len);

/* Read a detached signature file: TRUST_OK, or TRUST_REFUSED (missing,
 * empty, too large) with why[]. */
int approval_read_signature(const char *path, unsigned char **sig,
                            size_t *len, char *why, size_t why_len);

#endif /* DMSC_TOOL_APPROVAL_H */
