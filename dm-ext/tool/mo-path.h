/*
 * dm-ext/tool/mo-path.h - is a string an MO's node path as the card
 * labels MOs (CKA_LABEL = the MO root's absolute URI, "./DMAcc/X")?
 */
#ifndef DMSC_TOOL_MO_PATH_H
#define DMSC_TOOL_MO_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest path accepted (a CKA_LABEL, and well past DM's URI limits). */
#define DMSC_MO_PATH_MAX 1024u

/* True for "./SEG[/SEG...]": segments non-empty, not "." or "..", no
 * control characters, at most DMSC_MO_PATH_MAX bytes.  Otherwise false
 * and *why says which rule (a static string). */
bool dmsc_mo_path_ok(const char *path, const char **why);

#endif /* DMSC_TOOL_MO_PATH_H */
