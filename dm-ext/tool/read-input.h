/*
 * dm-ext/tool/read-input.h - a whole input file (or standard input) in
 * memory, bounded, for commands that need it whole (a TNDS document to
 * validate before it goes to the card, a DM message).
 */
#ifndef DMSC_TOOL_READ_INPUT_H
#define DMSC_TOOL_READ_INPUT_H

#include <stddef.h>

/* The name to use in messages: "(standard input)" for "-". */
const char *dmsc_input_name(const char *path);

/* Reads path ("-": standard input), at most max bytes.  On success
 * DMSC_EXIT_OK, *buf malloc'ed (NUL-terminated, not counted in *len).
 * Otherwise the error is printed ("dmsc: NAME: cannot open: ...", "...
 * larger than N bytes") and the status is DMSC_EXIT_USAGE (cannot read)
 * or DMSC_EXIT_REFUSED (too large). */
int dmsc_read_input(const char *path, size_t max, unsigned char **buf,
                    size_t *len);

#endif /* DMSC_TOOL_READ_INPUT_H */
