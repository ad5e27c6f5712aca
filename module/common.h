/*
 * Shared by every file of the module: the PKCS#11 header (p11-kit's, never
 * our own), the debug trace and a few helpers for programmer errors.
 */
#ifndef DMSC_COMMON_H
#define DMSC_COMMON_H

#include "config.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "debug.h"

/* Largest attribute value accepted: an MO's TNDS fits with room. */
#define DMSC_MAX_ATTRIBUTE_LEN (4ul * 1024 * 1024)

#define DMSC_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Only for programmer errors inside the module: caller input is checked
 * explicitly and answered with the spec's return code. */
#define dmsc_return_val_if_fail(expr, val)                                  \
    do {                                                                    \
        if (!(expr)) {                                                      \
            dmsc_debug_bug(__func__, #expr);                                \
            return (val);                                                   \
        }                                                                   \
    } while (0)

/* Pad a UTF-8 string with blanks into a fixed-size PKCS#11 info field. */
void dmsc_pad_copy(unsigned char *dst, size_t dst_len, const char *src, size_t src_len);

/* Wipe memory holding a secret (PIN, key) so the compiler cannot drop it. */
void dmsc_wipe(void *p, size_t len);

#endif
