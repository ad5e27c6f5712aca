/*
 * dm-ext/tool/p11-errors.c - what a CK_RV means for the person at the
 * keyboard, and what to do about it (p11-client.h, dmsc_p11_fail).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "debug.h"
#include "p11-client-impl.h"

/* What a dmsc virtual UICC allows (README, "The card model"). */
#define DMSC_USER_TRIES 3
#define DMSC_SO_TRIES 10

const char *dmsc_p11_rv_name(CK_RV rv)
{
	static char unknown[32];
	const char *name = dmsc_rv_name(rv);  /* module/debug.c's table */

	if (strcmp(name, "CKR_(unknown)") != 0)
		return name;
	snprintf(unknown, sizeof unknown, "CKR_0x%lx", (unsigned long)rv);
	return unknown;
}

static bool is_dmsc_uicc(const CK_TOKEN_INFO *ti)
{
	char manufacturer[sizeof ti->manufacturerID + 1];
	char model[sizeof ti->model + 1];

	dmsc_p11_field(manufacturer, sizeof manufacturer, ti->manufacturerID,
	               sizeof ti->manufacturerID);
	dmsc_p11_field(model, sizeof model, ti->model, sizeof ti->model);
	return strcmp(manufacturer, "dmsc") == 0 &&
	       strcmp(model, "virtual UICC") == 0;
}

int dmsc_p11_tries_left(const CK_TOKEN_INFO *ti, CK_USER_TYPE who,
                        char *text, size_t text_len)
{
	bool so = who == CKU_SO;
	CK_FLAGS locked = so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
	CK_FLAGS final = so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
	CK_FLAGS low = so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
	int max = is_dmsc_uicc(ti) ? (so ? DMSC_SO_TRIES : DMSC_USER_TRIES)
	                           : -1;

	if (ti->flags & locked) {
		snprintf(text, text_len, "no tries (locked)");
		return 0;
	}
	if (ti->flags & final) {
		snprintf(text, text_len, "1 try (the final one)");
		return 1;
	}
	if (ti->flags & low) {
		/* Low = at least one failed try and more than one left: exact
		 * only when the maximum is 3. */
		if (max == 3) {
			snprintf(text, text_len, "2 tries");
			return 2;
		}
		if (max > 0)
			snprintf(text, text_len, "2 to %d tries", max - 1);
		else
			snprintf(text, text_len, "at least 2 tries (count low)");
		return -1;
	}
	if (max > 0) {
		snprintf(text, text_len, "%d tries", max);
		return max;
	}
	snprintf(text, text_len, "all tries (none failed)");
	return -1;
}

/* The words for rv after "dmsc: WHAT: ", and the exit status. */
static int explain(dmsc_p11 *p, CK_RV rv, size_t needed)
{
	CK_TOKEN_INFO ti;
	bool have_ti = p->fn != NULL &&
	               p->fn->C_GetTokenInfo(p->slot, &ti) == CKR_OK;
	char tries[48];

	switch (rv) {
	case CKR_DEVICE_MEMORY:
		fputs("card full: ", stderr);
		if (needed > 0)
			fprintf(stderr, "%zu bytes needed, ", needed);
		if (have_ti && ti.ulFreePublicMemory !=
		                       CK_UNAVAILABLE_INFORMATION)
			fprintf(stderr, "%lu free (of %lu)",
			        (unsigned long)ti.ulFreePublicMemory,
			        (unsigned long)ti.ulTotalPublicMemory);
		else
			fputs("free memory unknown", stderr);
		fputs("; remove objects the card no longer needs (dmsc mo rm)"
		      " (CKR_DEVICE_MEMORY)\n", stderr);
		return DMSC_EXIT_CARD;
	case CKR_PIN_INCORRECT:
		if (have_ti) {
			dmsc_p11_tries_left(&ti, p->login_as, tries,
			                    sizeof tries);
			fprintf(stderr, "wrong %s PIN, %s left "
			        "(CKR_PIN_INCORRECT)\n",
			        p->login_as == CKU_SO ? "SO" : "user", tries);
		} else {
			fputs("wrong PIN (CKR_PIN_INCORRECT)\n", stderr);
		}
		return DMSC_EXIT_PIN;
	case CKR_PIN_LOCKED:
		if (p->login_as == CKU_SO) {
			fputs("the SO PIN is locked after too many wrong "
			      "tries; the card issuer must replace the card "
			      "(CKR_PIN_LOCKED)\n", stderr);
			return DMSC_EXIT_PIN;
		}
		fprintf(stderr, "the user PIN is locked after too many wrong "
		        "tries; the card's security officer unblocks it by "
		        "setting a new one: pkcs11-tool --module %s "
		        "--token-label '%s' --login --login-type so "
		        "--init-pin (CKR_PIN_LOCKED)\n", p->module, p->label);
		return DMSC_EXIT_PIN;
	case CKR_PIN_EXPIRED:
		fputs("the PIN has expired: set a new one (C_SetPIN, "
		      "pkcs11-tool --change-pin) (CKR_PIN_EXPIRED)\n", stderr);
		return DMSC_EXIT_PIN;
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_INVALID:
		fprintf(stderr, "the token does not accept a PIN of that "
		        "length or those characters (%s)\n",
		        dmsc_p11_rv_name(rv));
		return DMSC_EXIT_PIN;
	case CKR_USER_PIN_NOT_INITIALIZED:
		fprintf(stderr, "the user PIN of token '%s' is not set: the "
		        "card is not activated; the SO sets it with C_InitPIN "
		        "(pkcs11-tool --login --login-type so --init-pin) "
		        "(CKR_USER_PIN_NOT_INITIALIZED)\n", p->label);
		return DMSC_EXIT_NOT_ACTIVATED;
	case CKR_USER_NOT_LOGGED_IN:
		fputs("this needs a login: give the PIN (--pin, pin-source in "
		      "the --token URI, DMSC_PIN, or the prompt) "
		      "(CKR_USER_NOT_LOGGED_IN)\n", stderr);
		return DMSC_EXIT_PIN;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_REMOVED:
	case CKR_SLOT_ID_INVALID:
		fprintf(stderr, "no card: the card was removed (%s)\n",
		        dmsc_p11_rv_name(rv));
		return DMSC_EXIT_NO_CARD;
	case CKR_TOKEN_NOT_RECOGNIZED:
		fputs("the card's contents are not recognised (a foreign or "
		      "damaged store) (CKR_TOKEN_NOT_RECOGNIZED)\n", stderr);
		return DMSC_EXIT_NO_CARD;
	case CKR_TOKEN_WRITE_PROTECTED:
		fputs("the card is write-protected (CKR_TOKEN_WRITE_PROTECTED)"
		      "\n", stderr);
		return DMSC_EXIT_CARD;
	case CKR_DEVICE_ERROR:
		fputs("the card failed (CKR_DEVICE_ERROR); DMSC_DEBUG=all "
		      "shows why for the dmsc module\n", stderr);
		return DMSC_EXIT_CARD;
	case CKR_HOST_MEMORY:
		fputs("out of memory (CKR_HOST_MEMORY)\n", stderr);
		return DMSC_EXIT_USAGE;
	default:
		fprintf(stderr, "the token answered %s\n",
		        dmsc_p11_rv_name(rv));
		return DMSC_EXIT_CARD;
	}
}

int dmsc_p11_fail(dmsc_p11 *p, CK_RV rv, size_t needed, const char *what, ...)
{
	va_list ap;

	fputs("dmsc: ", stderr);
	va_start(ap, what);
	vfprintf(stderr, what, ap);
	va_end(ap);
	fputs(": ", stderr);
	return explain(p, rv, needed);
}
