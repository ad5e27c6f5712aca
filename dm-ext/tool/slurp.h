/*
 * dm-ext/tool/slurp.h - read a whole (small) file: a DM message, a
 * signature, a certificate.  Packages are never read whole (trust.c
 * streams them).
 */
#ifndef DMSC_TOOL_SLURP_H
#define DMSC_TOOL_SLURP_H

#include <stddef.h>

/* Read path ("-": standard input) into a malloc'd buffer (with a NUL
 * after the data, not counted).  0; -1 with errno set (EFBIG: over max
 * bytes). */
int slurp(const char *path, size_t max, unsigned char **out, size_t *len);

/* A growing in-memory buffer, filled by byte_buf_append (the output
 * callback of dmsc_canon); the caller frees data. */
struct byte_buf {
	unsigned char *data;
	size_t len, cap;
};

/* Append len bytes to the byte_buf ctx.  0; 1 when out of memory. */
int byte_buf_append(void *ctx, const unsigned char *data, size_t len);

#endif /* DMSC_TOOL_SLURP_H */
