/*
 * Debug tracing, switched on by the environment variable DMSC_DEBUG
 * (any value; "all" or a comma list of areas: call,store,pin,object,card).
 * It traces calls, return codes and store events only: never a PIN,
 * a key or an attribute value.
 */
#ifndef DMSC_DEBUG_H
#define DMSC_DEBUG_H

#include <p11-kit/pkcs11.h>

enum dmsc_debug_area {
    DMSC_DEBUG_CALL = 1 << 0,
    DMSC_DEBUG_STORE = 1 << 1,
    DMSC_DEBUG_PIN = 1 << 2,
    DMSC_DEBUG_OBJECT = 1 << 3,
    DMSC_DEBUG_CARD = 1 << 4, /* PC/SC readers and APDUs: headers and status words, no data */
};

extern int dmsc_debug_flags;

void dmsc_debug_init(void);
void dmsc_debug_message(int area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dmsc_debug_bug(const char *func, const char *expr);
const char *dmsc_rv_name(CK_RV rv);

#define dmsc_debug(area, ...)                                               \
    do {                                                                    \
        if (dmsc_debug_flags & (area))                                      \
            dmsc_debug_message((area), __VA_ARGS__);                        \
    } while (0)

/* Return from a PKCS#11 entry point, tracing its name and result. */
#define DMSC_TRACE_RETURN(name, expr)                                       \
    do {                                                                    \
        CK_RV rv_ = (expr);                                                 \
        dmsc_debug(DMSC_DEBUG_CALL, "%s = %s", name, dmsc_rv_name(rv_));    \
        return rv_;                                                         \
    } while (0)

#endif
