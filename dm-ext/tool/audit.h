/*
 * dm-ext/tool/audit.h - the approval audit log: one JSON object per line,
 * appended for every decision `dmsc approve` takes (README, "Audit log").
 *
 * A record is written with one write() on a file opened O_APPEND, so
 * records of processes deciding at the same time never interleave.  The
 * file is created 0600; an existing one must be a regular file that group
 * and others cannot write.
 */
#ifndef DMSC_TOOL_AUDIT_H
#define DMSC_TOOL_AUDIT_H

#include <stddef.h>

typedef struct audit_record {
	const char *operation;   /* "./FUMO/fw1/DownloadAndUpdate", or
	                            "install-from-file" (alternative flow) */
	const char *package;     /* the package file */
	long long size;          /* bytes, or -1 if unknown */
	const char *digest;      /* SHA-256 hex, or NULL if not computed */
	const char *signer;      /* the trust anchor's subject, or NULL */
	const char *certificate; /* its SHA-256 fingerprint (hex), or NULL */
	const char *key;         /* its CKA_LABEL on the card, or NULL */
	const char *result;      /* approved, approved-by-user, rejected,
	                            declined-by-user, error */
	const char *policy;      /* reject | ask */
	const char *reason;      /* why, for all but approved; else NULL */
} audit_record;

/* Append one record to path.  0, or -1 with why[] (errno's text). */
int audit_append(const char *path, const audit_record *r, char *why,
                 size_t why_len);

#endif /* DMSC_TOOL_AUDIT_H */
