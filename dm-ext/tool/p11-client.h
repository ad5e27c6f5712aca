/*
 * dm-ext/tool/p11-client.h - the PKCS#11 client layer every card command
 * of `dmsc` uses: load a module, pick a token, open a session, log in,
 * work with CKO_DATA objects, and turn a CK_RV into an error a person can
 * act on.
 *
 * The tool is a plain PKCS#11 client (like p11tool): nothing here knows
 * our module's internals, so every command works on any token that holds
 * the objects (SoftHSM in the tests).
 *
 * How a command uses it:
 *
 *     dmsc_p11 *p11;
 *     int rc = dmsc_p11_open(common, &p11);        module + token
 *     if (rc != DMSC_EXIT_OK)
 *         return rc;                                 (error printed)
 *     rc = dmsc_p11_start(p11, DMSC_P11_RW);       session
 *     if (rc == DMSC_EXIT_OK)
 *         rc = dmsc_p11_login(p11, CKU_USER);      PIN from its sources
 *     ... dmsc_p11_fn(p11)->C_Xxx(dmsc_p11_session(p11), ...) ...
 *     ... or the CKO_DATA helpers below ...
 *     if (rv != CKR_OK)
 *         rc = dmsc_p11_fail(p11, rv, needed, "storing %s", path);
 *     dmsc_p11_close(p11);                          logout, finalize
 *
 * Every function that can fail prints one error on stderr ("dmsc: ...",
 * naming the problem and the fix) and returns a DMSC_EXIT_* status, so a
 * command only passes the status on.  Nothing here exits the process.
 *
 * Which module (dmsc_p11_module_path): --module PATH, else the
 * environment variable DMSC_MODULE, else the module built beside the
 * tool (BUILDDIR/.libs/dmsc-pkcs11.so, when the tool runs from its build
 * tree), else the installed DMSC_P11_DEFAULT_MODULE.  A path with a '/'
 * is made absolute from the current directory; a bare file name is left
 * to p11-kit, which looks in its module directory.
 *
 * Which token (dmsc_p11_open): the tokens present that match --token (an
 * RFC 7512 "pkcs11:" URI; its module, slot and token attributes are
 * matched with p11-kit's p11_kit_uri_match_*), or all tokens present
 * without one.  Of those: the only initialised one; else the only
 * initialised one labelled DMSC_P11_DM_LABEL (the DM application);
 * else, when none is initialised, the first one (so `dmsc status` can say
 * "not activated"); anything else is ambiguous and the error lists the
 * candidates' URIs.
 *
 * Which PIN (dmsc_p11_login), the first of: --pin; the URI's pin-value;
 * the URI's pin-source (a file, "file:PATH" or a path; its first line);
 * the environment variable DMSC_PIN; a prompt on the terminal with echo
 * off.  No terminal: an error naming these sources.  Tokens with a
 * protected authentication path (a PIN pad) get no PIN.  The PIN is
 * wiped (OPENSSL_cleanse) as soon as C_Login returns, and so is the
 * --pin argument in argv (it no longer shows in ps after that).
 */
#ifndef DMSC_TOOL_P11_CLIENT_H
#define DMSC_TOOL_P11_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "commands.h"

/* The token label of the DM application, chosen when no URI says which
 * of several initialised tokens to use. */
#define DMSC_P11_DM_LABEL "DM"

/* CKA_APPLICATION of the DM objects (DESIGN.md, "DM objects on the
 * card"). */
#define DMSC_P11_APP_MO "OMA-DM:MO"
#define DMSC_P11_APP_BOOTSTRAP "OMA-DM:BOOTSTRAP"

/* A PIN longer than this is refused before it reaches the token. */
#define DMSC_P11_PIN_MAX 256u

/* A data object value larger than this is refused when read (a TNDS or
 * bootstrap is far smaller; the module takes 4 MiB per attribute). */
#define DMSC_P11_VALUE_MAX (16u * 1024u * 1024u)

typedef struct dmsc_p11 dmsc_p11;

enum dmsc_p11_access {
	DMSC_P11_RO,             /* read-only session */
	DMSC_P11_RW,             /* read/write session (to change objects,
	                            or to log in as the SO) */
};

/* The module a run would load, from --module, DMSC_MODULE, the build
 * tree or the default (see above).  Never NULL. */
const char *dmsc_p11_module_path(const struct dmsc_common *common);

/* Loads the module, C_Initialize, finds the token (see above).  On
 * success *out is the client (dmsc_p11_close it); on error *out is NULL,
 * the error is printed and the status is DMSC_EXIT_NO_CARD (module not
 * loadable, no token present or matching, several match) or
 * DMSC_EXIT_USAGE (a malformed URI). */
int dmsc_p11_open(const struct dmsc_common *common, dmsc_p11 **out);

/* C_OpenSession on the chosen token.  DMSC_EXIT_NOT_ACTIVATED when the
 * token is not initialised. */
int dmsc_p11_start(dmsc_p11 *p, enum dmsc_p11_access access);

/* C_Login as CKU_USER or CKU_SO with the PIN from its sources (see
 * above); needs a session (a RW one for CKU_SO).  Statuses:
 * DMSC_EXIT_PIN (wrong PIN: says how many tries are left; locked: says
 * how to unblock; no PIN to be had), DMSC_EXIT_NOT_ACTIVATED (user PIN
 * not set). */
int dmsc_p11_login(dmsc_p11 *p, CK_USER_TYPE who);

/* Whether a PIN was given without a prompt (--pin, the URI's pin-value
 * or pin-source, DMSC_PIN): commands that work without a login log in
 * only then (or when asked to). */
bool dmsc_p11_pin_given(const dmsc_p11 *p);

/* Logs out, closes the session, C_Finalize, unloads.  NULL is fine. */
void dmsc_p11_close(dmsc_p11 *p);

/* What the commands call directly. */
CK_FUNCTION_LIST *dmsc_p11_fn(const dmsc_p11 *p);
CK_SESSION_HANDLE dmsc_p11_session(const dmsc_p11 *p);
CK_SLOT_ID dmsc_p11_slot(const dmsc_p11 *p);
const char *dmsc_p11_module(const dmsc_p11 *p);     /* its path */
bool dmsc_p11_logged_in(const dmsc_p11 *p);
/* The slot's info as read at open time. */
const CK_SLOT_INFO *dmsc_p11_slot_info(const dmsc_p11 *p);
/* The token's info, read again now (flags and free memory change);
 * NULL when that failed (error printed). */
const CK_TOKEN_INFO *dmsc_p11_token_info(dmsc_p11 *p);
/* The token label without its blank padding (a NUL-terminated copy). */
const char *dmsc_p11_token_label(const dmsc_p11 *p);

/* A fixed-size blank-padded PKCS#11 text field as a C string in out
 * (out_len >= field_len + 1). */
void dmsc_p11_field(char *out, size_t out_len, const CK_UTF8CHAR *field,
                    size_t field_len);

/* ---------------------------------------------------------- errors */

/* The PIN tries left, as far as the token flags tell (PKCS#11 has no
 * count, only CKF_*_PIN_COUNT_LOW / _FINAL_TRY / _LOCKED; on a dmsc
 * virtual UICC the maximum is known, 3 for the user and 10 for the SO,
 * which makes the user count exact).  Returns the number, or -1 when it
 * is not known; text gets the words ("2 tries", "1 try (the final
 * one)", "no tries (locked)", "at least 2 tries (count low)"). */
int dmsc_p11_tries_left(const CK_TOKEN_INFO *ti, CK_USER_TYPE who,
                        char *text, size_t text_len);

/* "CKR_PIN_INCORRECT", or "CKR_0x..." for a code without a name. */
const char *dmsc_p11_rv_name(CK_RV rv);

/* Prints "dmsc: WHAT: " and what rv means for the user, with the fix
 * where there is one, and returns the exit status it maps to:
 *   CKR_DEVICE_MEMORY   "card full: N bytes needed, M free" (needed =
 *                       the bytes the caller tried to store, 0 unknown;
 *                       M from the token info)        DMSC_EXIT_CARD
 *   CKR_PIN_INCORRECT   "wrong user PIN, 2 tries left" DMSC_EXIT_PIN
 *   CKR_PIN_LOCKED      how the SO unblocks it         DMSC_EXIT_PIN
 *   CKR_USER_NOT_LOGGED_IN, ..._PIN_NOT_INITIALIZED, CKR_TOKEN_NOT_PRESENT,
 *   CKR_DEVICE_REMOVED, CKR_TOKEN_WRITE_PROTECTED, ... their own words
 *   anything else       its CKR name                   DMSC_EXIT_CARD */
int dmsc_p11_fail(dmsc_p11 *p, CK_RV rv, size_t needed, const char *what, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------- CKO_DATA objects */

/* One token object of class CKO_DATA found by application (and label). */
struct dmsc_p11_data {
	CK_OBJECT_HANDLE handle;
	char *label;             /* CKA_LABEL, NUL-terminated ("" if none) */
	size_t value_len;        /* length of CKA_VALUE */
	bool is_private;         /* CKA_PRIVATE */
};

/* Every CKO_DATA token object with CKA_APPLICATION = app (all data
 * objects if app is NULL) the session can see, sorted by label.  *out
 * is an array of *n entries (free it with dmsc_p11_data_free). */
CK_RV dmsc_p11_data_list(dmsc_p11 *p, const char *app,
                         struct dmsc_p11_data **out, size_t *n);
void dmsc_p11_data_free(struct dmsc_p11_data *list, size_t n);

/* The one CKO_DATA token object with this application and label:
 * CKR_OK and *found; CKR_OK and !*found when there is none;
 * CKR_GENERAL_ERROR when there are several (a damaged card: the error is
 * the caller's to word). */
CK_RV dmsc_p11_data_find(dmsc_p11 *p, const char *app, const char *label,
                         CK_OBJECT_HANDLE *handle, bool *found);

/* CKA_VALUE of an object, malloc'ed (*value NULL when empty), at most
 * DMSC_P11_VALUE_MAX bytes (CKR_DATA_LEN_RANGE beyond). */
CK_RV dmsc_p11_data_read(dmsc_p11 *p, CK_OBJECT_HANDLE handle,
                         unsigned char **value, size_t *len);

/* Stores value as the object (app, label): one C_SetAttributeValue of
 * CKA_VALUE when it exists (the card replaces it whole or not at all),
 * else one C_CreateObject of a token object, private when is_private.
 * *created says which (may be NULL). */
CK_RV dmsc_p11_data_put(dmsc_p11 *p, const char *app, const char *label,
                        const unsigned char *value, size_t len,
                        bool is_private, bool *created);

/* C_DestroyObject. */
CK_RV dmsc_p11_data_destroy(dmsc_p11 *p, CK_OBJECT_HANDLE handle);

#endif /* DMSC_TOOL_P11_CLIENT_H */
