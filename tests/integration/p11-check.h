/*
 * tests/integration/p11-check.h - the support code the integration test
 * drivers (p11-driver, p11-crypto-driver, p11-dm-driver, p11-dmsec-driver)
 * share: loading the module named by $DMSC_MODULE, opening a session on a
 * token by label, CKR names, the "ok   " / "FAIL " checks with their
 * "# N checks, M failed" summary, and byte buffers read from files.
 *
 * Each driver defines driver_name, the prefix of what it says on stderr.
 * Setup errors (the module cannot be loaded, no such token, out of memory)
 * are said on stderr and exit with status 2.
 */
#ifndef DMSC_TESTS_P11_CHECK_H
#define DMSC_TESTS_P11_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* The driver's name, e.g. "p11-dm-driver" (defined by the driver). */
extern const char driver_name[];

/* The module's function list (set by load_module) and the session
 * open_token opened. */
extern CK_FUNCTION_LIST_PTR p11;
extern CK_SESSION_HANDLE sess;

/* ------------------------------------------------------------ module */

/* dlopen $DMSC_MODULE and set p11 from its C_GetFunctionList. */
void load_module(void);

/* load_module, then C_Initialize with CKF_OS_LOCKING_OK. */
void open_module(void);

/* Open a R/W session (sess) on the token labelled label and, unless pin is
 * NULL, log the user in; the token's slot. */
CK_SLOT_ID open_token(const char *label, const char *pin);

/* ------------------------------------------------------------ reporting */

/* The name of rv ("CKR_0x..." when unknown); up to four may be used in one
 * printf. */
const char *rv_name(CK_RV rv);

/* "DRIVER: msg: CKR_NAME" on stderr, exit 2. */
__attribute__((noreturn)) void die(const char *msg, CK_RV rv);

/* Counts a check and prints "ok   WHAT" or "FAIL WHAT"; returns cond. */
__attribute__((format(printf, 2, 3))) bool check(bool cond, const char *fmt, ...);

/* The call returned want (the check names what it got otherwise). */
__attribute__((format(printf, 3, 4))) bool expect(CK_RV got, CK_RV want, const char *fmt, ...);

/* The call failed cleanly (any error), e.g. where the spec names none. */
__attribute__((format(printf, 2, 3))) bool expect_error(CK_RV got, const char *fmt, ...);

/* Two byte strings are equal; prints both when not. */
__attribute__((format(printf, 5, 6))) bool same_bytes(const unsigned char *got, size_t got_len,
                                                      const unsigned char *want, size_t want_len,
                                                      const char *fmt, ...);

/* Up to about 97 bytes in hex ("..." after); up to two in one printf. */
const char *hex(const unsigned char *p, size_t n);

/* "# name" */
void section(const char *name);

/* Prints "# N checks, M failed"; the exit status (1 when a check failed). */
int checks_done(void);

/* ------------------------------------------------------------ bytes */

typedef struct {
    unsigned char *p;
    size_t n;
} buf_t;

/* malloc that never returns NULL (n may be 0). */
void *xmalloc(size_t n);

void buf_free(buf_t *b);

/* The whole file into *b (malloc'd); NULL, or why not (*b is then empty). */
const char *read_file(const char *path, buf_t *b);

#endif
