/*
 * dm-ext/tool/pkgref.h - what a signed DM message says about the packages
 * it approves (dm-ext/APPROVAL.md, "How a message names its package").
 *
 * A package is named by an Add or Replace of the node NODE/Ext/PkgDigest,
 * whose Data is the package's SHA-256 in hexadecimal; NODE is the FUMO or
 * SCOMO node the operation works on (./FUMO/fw1, ./SCOMO/Download/app1).
 * NODE/PkgName (FUMO) or NODE/Name (SCOMO) in the same message gives the
 * name shown to the user, and an Exec on a node under NODE is the
 * operation (./FUMO/fw1/DownloadAndUpdate).  Commands are found in the
 * SyncBody and inside Atomic and Sequence.
 */
#ifndef DMSC_TOOL_PKGREF_H
#define DMSC_TOOL_PKGREF_H

#include <stddef.h>

#include <libxml/tree.h>

#define PKGREF_MAX 16          /* packages one message may name */
#define PKGREF_PATH_MAX 256    /* longest node path kept */

typedef struct pkgref {
	char node[PKGREF_PATH_MAX];      /* ./FUMO/fw1 */
	char operation[PKGREF_PATH_MAX]; /* the Exec target, or "" */
	char name[PKGREF_PATH_MAX];      /* PkgName / Name, or "" */
	unsigned char digest[32];        /* SHA-256 */
} pkgref;

typedef struct pkgrefs {
	pkgref ref[PKGREF_MAX];
	size_t n;
	char first_exec[PKGREF_PATH_MAX]; /* any Exec target, or "" */
} pkgrefs;

/* Collect the named packages of a parsed message (appends to *out, so
 * several messages add up).  0, or -1 with why[] naming the node and what
 * is wrong with it (a PkgDigest that is not 64 hexadecimal digits, the
 * same node twice with different digests, more than PKGREF_MAX). */
int pkgref_collect(xmlDocPtr doc, pkgrefs *out, char *why, size_t why_len);

/* The reference whose digest is `digest`, or NULL. */
const pkgref *pkgref_find(const pkgrefs *refs, const unsigned char *digest);

#endif /* DMSC_TOOL_PKGREF_H */
