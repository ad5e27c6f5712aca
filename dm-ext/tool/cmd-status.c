/*
 * dm-ext/tool/cmd-status.c - `dmsc status`: is there a card, is it
 * activated, who is it, how much room is left, how many PIN tries, and
 * is there provisioning data on it (DM-SC-GEN-2, GEN-8).
 *
 * It reads what a plain PKCS#11 client can: slot and token info (no
 * login), then the data objects; private ones only after a login, which
 * happens when a PIN is given (--pin, the URI, DMSC_PIN) or --login asks
 * for the prompt.  The exit status is the answer for scripts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json-out.h"
#include "p11-client.h"

struct status {
	const CK_TOKEN_INFO *ti;
	bool activated;
	char label[33], manufacturer[33], model[17], serial[17], iccid[24];
	char user_tries[48], so_tries[48];
	int user_left, so_left;
	bool counted;            /* the objects could be read */
	bool logged_in;
	size_t mo_count, mo_bytes;
	bool bootstrap;
	size_t bootstrap_bytes;
	size_t app_count;        /* CKA_APPLICATION = the token label: an
	                            authorised application's own data */
	size_t data_count;       /* every data object the session sees */
};

/* The ICCID: the token serial (the last 16 digits of the ICCID on a
 * dmsc card), or the full ICCID when the slot description carries a run
 * of 18 to 20 digits ending in the serial (as dmsc's does). */
static void iccid_of(const CK_SLOT_INFO *si, const char *serial, char *out,
                     size_t out_len)
{
	char desc[sizeof si->slotDescription + 1];
	size_t i = 0, j, sl = strlen(serial);

	snprintf(out, out_len, "%s", serial);
	dmsc_p11_field(desc, sizeof desc, si->slotDescription,
	               sizeof si->slotDescription);
	while (desc[i] != '\0') {
		for (j = i; desc[j] >= '0' && desc[j] <= '9'; j++)
			;
		if (j - i >= 18 && j - i <= 20 && sl > 0 && sl < j - i &&
		    memcmp(desc + j - sl, serial, sl) == 0) {
			snprintf(out, out_len, "%.*s", (int)(j - i), desc + i);
			return;
		}
		i = j > i ? j : i + 1;
	}
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const char *pin_state(const CK_TOKEN_INFO *ti)
{
	if (!(ti->flags & CKF_USER_PIN_INITIALIZED))
		return "not set";
	if (ti->flags & CKF_USER_PIN_LOCKED)
		return "locked";
	if (ti->flags & CKF_USER_PIN_FINAL_TRY)
		return "final try";
	if (ti->flags & CKF_USER_PIN_COUNT_LOW)
		return "count low";
	return "ok";
}

/* Counts the DM objects; CKR_OK or why not. */
static CK_RV count_objects(dmsc_p11 *p, struct status *st)
{
	struct dmsc_p11_data *list = NULL;
	size_t n = 0, i;
	CK_RV rv = dmsc_p11_data_list(p, NULL, &list, &n);
	CK_ATTRIBUTE app = { CKA_APPLICATION, NULL, 0 };
	char name[64];

	if (rv != CKR_OK)
		return rv;
	st->data_count = n;
	for (i = 0; i < n; i++) {
		app.pValue = name;
		app.ulValueLen = sizeof name - 1;
		if (dmsc_p11_fn(p)->C_GetAttributeValue(dmsc_p11_session(p),
		                                         list[i].handle, &app,
		                                         1) != CKR_OK)
			continue;
		name[app.ulValueLen] = '\0';
		if (strcmp(name, DMSC_P11_APP_MO) == 0) {
			st->mo_count++;
			st->mo_bytes += list[i].value_len;
		} else if (strcmp(name, DMSC_P11_APP_BOOTSTRAP) == 0) {
			st->bootstrap = true;
			st->bootstrap_bytes += list[i].value_len;
		} else if (name[0] != '\0' && strcmp(name, st->label) == 0) {
			st->app_count++;
		}
	}
	dmsc_p11_data_free(list, n);
	st->counted = true;
	return CKR_OK;
}

/* Provisioning data: the bootstrap, an MO, or an authorised
 * application's own data (README, "Authorised applications"). */
static bool has_data(const struct status *st)
{
	return st->bootstrap || st->mo_count > 0 || st->app_count > 0;
}

static void print_memory_text(const CK_TOKEN_INFO *ti)
{
	if (ti->ulFreePublicMemory == CK_UNAVAILABLE_INFORMATION ||
	    ti->ulTotalPublicMemory == CK_UNAVAILABLE_INFORMATION)
		printf("memory:         unknown (the token does not say)\n");
	else
		printf("memory:         %lu of %lu bytes free\n",
		       (unsigned long)ti->ulFreePublicMemory,
		       (unsigned long)ti->ulTotalPublicMemory);
}

static void print_text(dmsc_p11 *p, const struct status *st)
{
	const CK_TOKEN_INFO *ti = st->ti;
	bool inited = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;

	printf("card:           present (slot %lu of %s)\n",
	       (unsigned long)dmsc_p11_slot(p), dmsc_p11_module(p));
	printf("token:          %s (%s %s)\n",
	       inited ? st->label : "(not initialised)", st->manufacturer,
	       st->model);
	printf("ICCID:          %s (token serial %s)\n", st->iccid,
	       st->serial);
	printf("activated:      %s\n", yes_no(st->activated));
	if (ti->flags & CKF_USER_PIN_INITIALIZED)
		printf("user PIN:       %s, %s left\n", pin_state(ti),
		       st->user_tries);
	else
		printf("user PIN:       not set\n");
	printf("SO PIN:         %s left\n", st->so_tries);
	print_memory_text(ti);
	if (!st->counted) {
		printf("provisioning:   unknown (token not initialised)\n");
		return;
	}
	printf("logged in:      %s%s\n", yes_no(st->logged_in),
	       st->logged_in ? "" : " (public objects only; give a PIN "
	                            "to count private ones)");
	if (st->bootstrap)
		printf("bootstrap:      present (%zu bytes)\n",
		       st->bootstrap_bytes);
	else
		printf("bootstrap:      none\n");
	printf("MOs:            %zu (%zu bytes)\n", st->mo_count,
	       st->mo_bytes);
	printf("app data:       %zu (application '%s')\n", st->app_count,
	       st->label);
	printf("data objects:   %zu\n", st->data_count);
}

static void json_number_or_null(const char *name, unsigned long v,
                                bool known, const char *sep)
{
	if (known)
		printf("  \"%s\": %lu%s\n", name, v, sep);
	else
		printf("  \"%s\": null%s\n", name, sep);
}

static void print_json(dmsc_p11 *p, const struct status *st)
{
	const CK_TOKEN_INFO *ti = st->ti;
	bool mem = ti->ulFreePublicMemory != CK_UNAVAILABLE_INFORMATION &&
	           ti->ulTotalPublicMemory != CK_UNAVAILABLE_INFORMATION;

	printf("{\n  \"card_present\": true,\n  \"module\": ");
	dmsc_json_string(stdout, dmsc_p11_module(p));
	printf(",\n  \"slot\": %lu,\n  \"token_label\": ",
	       (unsigned long)dmsc_p11_slot(p));
	dmsc_json_string(stdout, st->label);
	printf(",\n  \"manufacturer\": ");
	dmsc_json_string(stdout, st->manufacturer);
	printf(",\n  \"model\": ");
	dmsc_json_string(stdout, st->model);
	printf(",\n  \"iccid\": ");
	dmsc_json_string(stdout, st->iccid);
	printf(",\n  \"serial\": ");
	dmsc_json_string(stdout, st->serial);
	printf(",\n  \"token_initialized\": %s,\n",
	       ti->flags & CKF_TOKEN_INITIALIZED ? "true" : "false");
	printf("  \"user_pin_initialized\": %s,\n",
	       ti->flags & CKF_USER_PIN_INITIALIZED ? "true" : "false");
	printf("  \"user_pin_locked\": %s,\n",
	       ti->flags & CKF_USER_PIN_LOCKED ? "true" : "false");
	printf("  \"activated\": %s,\n", st->activated ? "true" : "false");
	printf("  \"user_pin\": \"%s\",\n", pin_state(ti));
	json_number_or_null("user_pin_tries_left", (unsigned long)st->user_left,
	                    st->user_left >= 0, ",");
	json_number_or_null("so_pin_tries_left", (unsigned long)st->so_left,
	                    st->so_left >= 0, ",");
	json_number_or_null("memory_total", ti->ulTotalPublicMemory, mem, ",");
	json_number_or_null("memory_free", ti->ulFreePublicMemory, mem, ",");
	printf("  \"logged_in\": %s,\n", st->logged_in ? "true" : "false");
	if (st->counted) {
		printf("  \"bootstrap\": %s,\n",
		       st->bootstrap ? "true" : "false");
		printf("  \"bootstrap_bytes\": %zu,\n", st->bootstrap_bytes);
		printf("  \"mo_count\": %zu,\n", st->mo_count);
		printf("  \"mo_bytes\": %zu,\n", st->mo_bytes);
		printf("  \"app_data_count\": %zu,\n", st->app_count);
		printf("  \"data_objects\": %zu,\n", st->data_count);
		printf("  \"provisioning_data\": %s\n}\n",
		       has_data(st) ? "true" : "false");
	} else {
		printf("  \"bootstrap\": null,\n  \"mo_count\": null,\n"
		       "  \"provisioning_data\": null\n}\n");
	}
}

static int status(const struct dmsc_common *common, bool json, bool login)
{
	struct status st;
	dmsc_p11 *p = NULL;
	int rc = dmsc_p11_open(common, &p);
	CK_RV rv;

	memset(&st, 0, sizeof st);
	if (rc != DMSC_EXIT_OK) {
		if (json && rc == DMSC_EXIT_NO_CARD)
			printf("{\n  \"card_present\": false\n}\n");
		return rc;
	}
	st.ti = dmsc_p11_token_info(p);
	if (st.ti == NULL) {
		rc = DMSC_EXIT_CARD;
		goto done;
	}
	dmsc_p11_field(st.label, sizeof st.label, st.ti->label,
	               sizeof st.ti->label);
	dmsc_p11_field(st.manufacturer, sizeof st.manufacturer,
	               st.ti->manufacturerID, sizeof st.ti->manufacturerID);
	dmsc_p11_field(st.model, sizeof st.model, st.ti->model,
	               sizeof st.ti->model);
	dmsc_p11_field(st.serial, sizeof st.serial, st.ti->serialNumber,
	               sizeof st.ti->serialNumber);
	iccid_of(dmsc_p11_slot_info(p), st.serial, st.iccid, sizeof st.iccid);
	st.user_left = dmsc_p11_tries_left(st.ti, CKU_USER, st.user_tries,
	                                   sizeof st.user_tries);
	st.so_left = dmsc_p11_tries_left(st.ti, CKU_SO, st.so_tries,
	                                 sizeof st.so_tries);
	st.activated = (st.ti->flags & CKF_TOKEN_INITIALIZED) &&
	               (st.ti->flags & CKF_USER_PIN_INITIALIZED) &&
	               !(st.ti->flags & CKF_USER_PIN_LOCKED);
	if (st.ti->flags & CKF_TOKEN_INITIALIZED) {
		rc = dmsc_p11_start(p, DMSC_P11_RO);
		if (rc != DMSC_EXIT_OK)
			goto done;
		if (st.activated && (login || dmsc_p11_pin_given(p))) {
			rc = dmsc_p11_login(p, CKU_USER);
			if (rc != DMSC_EXIT_OK)
				goto done;
			st.logged_in = true;
			/* The login may have changed the flags. */
			st.ti = dmsc_p11_token_info(p);
			if (st.ti == NULL) {
				rc = DMSC_EXIT_CARD;
				goto done;
			}
			st.user_left = dmsc_p11_tries_left(
				st.ti, CKU_USER, st.user_tries,
				sizeof st.user_tries);
		}
		rv = count_objects(p, &st);
		if (rv != CKR_OK) {
			rc = dmsc_p11_fail(p, rv, 0, "listing the data objects "
			                   "of token '%s'", st.label);
			goto done;
		}
	}
	if (json)
		print_json(p, &st);
	else
		print_text(p, &st);
	if (!st.activated)
		rc = DMSC_EXIT_NOT_ACTIVATED;
	else if (!has_data(&st))
		rc = DMSC_EXIT_NO_DATA;
	else
		rc = DMSC_EXIT_OK;
done:
	dmsc_p11_close(p);
	return rc;
}

static int status_run(const struct dmsc_command *cmd, int argc, char **argv,
                      struct dmsc_common *common)
{
	enum { OPT_JSON = 256, OPT_LOGIN };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "login", no_argument, NULL, OPT_LOGIN },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, login = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, DMSC_COMMON_SHORTOPTS, longopts,
	                          NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_LOGIN:
			login = true;
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (optind != argc)
		return dmsc_usage_error(cmd, "unexpected argument '%s'",
		                        argv[optind]);
	return status(common, json, login);
}

const struct dmsc_command dmsc_cmd_status = {
	.name = "status",
	.summary = "is a card there, activated, with room and provisioning "
	           "data?",
	.synopsis = "[--json] [--login] [--module PATH] [--token URI] "
	            "[--pin PIN]",
	.help =
	"Report on the card (the token chosen by --token): present or not, "
	"activated\n"
	"(token initialised, user PIN set and not locked), its identity "
	"(the ICCID,\n"
	"which is the token serial), free and total memory, PIN tries left, "
	"and the\n"
	"provisioning data on it: the DM bootstrap object, the MOs (dmsc "
	"mo), and\n"
	"the data objects whose CKA_APPLICATION is the token label (an "
	"authorised\n"
	"application's own data).\n"
	"\n"
	"No login is needed: without one only public objects are counted. "
	"With a PIN\n"
	"(--pin, the URI's pin-source or pin-value, DMSC_PIN) or --login "
	"(which\n"
	"prompts), private objects are counted too.\n"
	"\n"
	"The exit status is the answer: 0 activated with provisioning "
	"data, 3 no\n"
	"card, 4 not activated, 5 no provisioning data.\n"
	"\n"
	"Options:\n"
	"      --json     one JSON object on stdout instead of text "
	"(\"card_present\",\n"
	"                 \"activated\", \"iccid\", \"memory_free\", "
	"\"user_pin_tries_left\",\n"
	"                 \"bootstrap\", \"mo_count\", "
	"\"provisioning_data\", ...)\n"
	"      --login    log in as the user, prompting for the PIN if no "
	"other source\n"
	"                 gives it\n",
	.examples =
	"  dmsc status\n"
	"      the DM application's token, public objects only\n"
	"  DMSC_PIN=1234 dmsc status --json\n"
	"      everything, for a script\n"
	"  dmsc status --token 'pkcs11:token=Wallet?pin-source=wallet.pin'\n"
	"      another application's token, PIN read from a file\n"
	"  dmsc status -q >/dev/null; echo $?\n"
	"      only the answer: 0, 3, 4 or 5\n",
	.run = status_run,
};
