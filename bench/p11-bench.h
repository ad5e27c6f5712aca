/* What the benchmark programs share: loading a PKCS#11 module and finding
 * the token they measure. Errors end the program with a message. */
#ifndef DMSC_P11_BENCH_H
#define DMSC_P11_BENCH_H

#include <p11-kit/pkcs11.h>

/* dlopen the module at path and return its function list; who names it
 * in messages. */
CK_FUNCTION_LIST_PTR bench_load_module(const char *progname, const char *who, const char *path,
				       void **dl);

/* The slot of the initialised token with this label (blank-padded, as
 * PKCS#11 keeps labels). */
CK_SLOT_ID bench_find_token(const char *progname, const char *who, CK_FUNCTION_LIST_PTR p11,
			    const char *label);

#endif
