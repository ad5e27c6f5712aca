/*
 * dm-ext/tool/cmd-personalise.c - `dmsc personalise PROFILE.xml`: the card
 * issuer's step (README, "dmsc personalise").
 *
 * 1. The profile and every file it names are read and checked
 *    (dm-ext/profile/profile.h) before the module is even loaded: a bad
 *    profile changes nothing, and does not create a card.
 * 2. The card's identity goes to a new virtual UICC through the store's
 *    creation path (DMSC_CARD_ICCID/IMSI/CAPACITY, tokens/settings.h):
 *    PKCS#11 cannot set a token's serial number.  An existing dmsc card
 *    must already have the profile's identity; with another module the
 *    identity is not checked (it cannot be set).
 * 3. Then a list of steps, each through PKCS#11 only, printed as it goes:
 *    per application C_InitToken on a spare slot (unless a token with its
 *    label exists), the SO logs in, C_InitPIN (unless the user PIN is
 *    set), the MA certificates (SO session: CKA_TRUSTED), then the user
 *    logs in for keys (C_GenerateKeyPair, or C_CreateObject to import),
 *    the DM credential, MOs and the bootstrap (C_CreateObject).  What a
 *    re-run does with what is already there: personalise-objects.c.
 * A failure stops the run; the whole list then goes to stderr with what
 * was done, what failed and why, and what was not done.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "p11-client.h"
#include "personalise.h"
#include "profile.h"

enum step_kind {
	STEP_INIT_TOKEN,             /* C_InitToken: the application */
	STEP_INIT_PIN,               /* C_InitPIN: its user PIN */
	STEP_ITEM,                   /* one profile item */
};

struct step {
	enum step_kind kind;
	size_t app;
	const struct dmsc_profile_item *item;
	struct pz_result res;
};

struct run {
	dmsc_p11 *p11;
	CK_FUNCTION_LIST *fn;
	const struct dmsc_profile *profile;
	struct step *steps;
	size_t n_steps;
	bool quiet;
	/* The application being worked on. */
	size_t app;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	CK_USER_TYPE who;            /* logged in as; (CK_USER_TYPE)-1: no one */
};

#define NOBODY ((CK_USER_TYPE)-1)

/* ---- The step list ---- */

static const char *outcome_word(enum pz_outcome o)
{
	static const char *const words[] = {
		[PZ_NOT_DONE] = "not done", [PZ_DONE] = "done",
		[PZ_KEPT] = "kept", [PZ_REPLACED] = "replaced",
		[PZ_FAILED] = "FAILED",
	};

	return words[o];
}

static void step_line(const struct run *r, const struct step *st, FILE *out)
{
	const struct dmsc_profile_app *app = &r->profile->apps[st->app];
	char what[200];

	switch (st->kind) {
	case STEP_INIT_TOKEN:
		snprintf(what, sizeof what, "application '%s' (C_InitToken)",
		         app->label);
		break;
	case STEP_INIT_PIN:
		snprintf(what, sizeof what, "application '%s': user PIN "
		         "(C_InitPIN)", app->label);
		break;
	default: {
		char name[160];

		snprintf(what, sizeof what, "application '%s': %s",
		         app->label, dmsc_profile_item_name(st->item, name,
		                                            sizeof name));
	}
	}
	fprintf(out, "  %-9s %s%s%s%s\n", outcome_word(st->res.outcome), what,
	        st->res.note[0] ? " (" : "", st->res.note,
	        st->res.note[0] ? ")" : "");
}

static int plan(struct run *r)
{
	const struct dmsc_profile *p = r->profile;
	size_t n = 0;

	for (size_t i = 0; i < p->n_apps; i++)
		n += 2 + p->apps[i].n_items;
	r->steps = calloc(n, sizeof *r->steps);
	if (r->steps == NULL)
		return -1;
	for (size_t i = 0; i < p->n_apps; i++) {
		const struct dmsc_profile_app *app = &p->apps[i];

		r->steps[r->n_steps++] = (struct step){
			.kind = STEP_INIT_TOKEN, .app = i };
		r->steps[r->n_steps++] = (struct step){
			.kind = STEP_INIT_PIN, .app = i };
		/* SO work first (the trust anchor), then the user's. */
		for (int so = 1; so >= 0; so--)
			for (size_t j = 0; j < app->n_items; j++)
				if (pz_item_needs_so(&app->items[j]) == (so == 1))
					r->steps[r->n_steps++] = (struct step){
						.kind = STEP_ITEM, .app = i,
						.item = &app->items[j] };
	}
	return 0;
}

/* ---- Slots and sessions ---- */

static bool label_is(const CK_TOKEN_INFO *ti, const char *label)
{
	char have[sizeof ti->label + 1];

	dmsc_p11_field(have, sizeof have, ti->label, sizeof ti->label);
	return strcmp(have, label) == 0;
}

/* The slots with a token present (malloc'ed). */
static CK_RV slots(struct run *r, CK_SLOT_ID **out, CK_ULONG *n)
{
	CK_RV rv = r->fn->C_GetSlotList(CK_TRUE, NULL, n);

	*out = NULL;
	if (rv != CKR_OK)
		return rv;
	*out = calloc(*n + 1, sizeof **out);
	if (*out == NULL)
		return CKR_HOST_MEMORY;
	rv = r->fn->C_GetSlotList(CK_TRUE, *out, n);
	if (rv != CKR_OK) {
		free(*out);
		*out = NULL;
	}
	return rv;
}

/* The slot of the initialised token labelled label (found true), or of an
 * uninitialised token (found false, spare true), or neither. */
static CK_RV find_slot(struct run *r, const char *label, CK_SLOT_ID *slot,
                       bool *found, bool *spare)
{
	CK_SLOT_ID *list;
	CK_ULONG n;
	CK_RV rv = slots(r, &list, &n);

	*found = *spare = false;
	for (CK_ULONG i = 0; rv == CKR_OK && i < n && !*found; i++) {
		CK_TOKEN_INFO ti;

		if (r->fn->C_GetTokenInfo(list[i], &ti) != CKR_OK)
			continue;
		if (ti.flags & CKF_TOKEN_INITIALIZED) {
			if (label_is(&ti, label)) {
				*slot = list[i];
				*found = true;
			}
		} else if (!*spare) {
			*slot = list[i];
			*spare = true;
		}
	}
	free(list);
	return rv;
}

/* Every dmsc virtual UICC token must be the profile's card: its serial is
 * the ICCID's last 16 digits, its total memory the capacity. */
static int check_identity(struct run *r)
{
	const struct dmsc_profile *p = r->profile;
	size_t il = strlen(p->iccid);
	const char *tail = il > 16 ? p->iccid + il - 16 : p->iccid;
	CK_SLOT_ID *list;
	CK_ULONG n;
	CK_RV rv = slots(r, &list, &n);

	if (rv != CKR_OK)
		return dmsc_p11_fail(r->p11, rv, 0, "listing the card's slots");
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		char maker[33], serial[17];

		if (r->fn->C_GetTokenInfo(list[i], &ti) != CKR_OK)
			continue;
		dmsc_p11_field(maker, sizeof maker, ti.manufacturerID,
		               sizeof ti.manufacturerID);
		dmsc_p11_field(serial, sizeof serial, ti.serialNumber,
		               sizeof ti.serialNumber);
		if (strcmp(maker, "dmsc") != 0)
			continue;
		if (strcmp(serial, tail) != 0 ||
		    ti.ulTotalPublicMemory != p->capacity) {
			dmsc_error("%s:%ld: this card is another card: its "
			           "serial number (the ICCID's last 16 digits) "
			           "is %s and its capacity %lu bytes; the profile "
			           "says ICCID %s, capacity %llu.  A virtual UICC "
			           "gets its identity when it is created: "
			           "personalise into an empty card store "
			           "(DMSC_STORE=NEW-DIRECTORY)", p->name,
			           p->card_line, serial,
			           (unsigned long)ti.ulTotalPublicMemory, p->iccid,
			           (unsigned long long)p->capacity);
			free(list);
			return DMSC_EXIT_CARD;
		}
	}
	free(list);
	return DMSC_EXIT_OK;
}

static void end_session(struct run *r)
{
	if (r->session == CK_INVALID_HANDLE)
		return;
	if (r->who != NOBODY)
		r->fn->C_Logout(r->session);
	r->fn->C_CloseSession(r->session);
	r->session = CK_INVALID_HANDLE;
	r->who = NOBODY;
}

/* A R/W session on the application's token, logged in as who. */
static int become(struct run *r, size_t app, CK_USER_TYPE who)
{
	const struct dmsc_profile_app *a = &r->profile->apps[app];
	const struct dmsc_profile_secret *pin =
		who == CKU_SO ? &a->so_pin : &a->user_pin;
	bool found, spare;
	CK_RV rv;

	if (r->session != CK_INVALID_HANDLE && r->app == app && r->who == who)
		return DMSC_EXIT_OK;
	if (r->session != CK_INVALID_HANDLE && r->app != app)
		end_session(r);
	if (r->session == CK_INVALID_HANDLE) {
		rv = find_slot(r, a->label, &r->slot, &found, &spare);
		if (rv == CKR_OK && !found)
			rv = CKR_TOKEN_NOT_PRESENT;
		if (rv == CKR_OK)
			rv = r->fn->C_OpenSession(r->slot, CKF_SERIAL_SESSION |
			                          CKF_RW_SESSION, NULL, NULL,
			                          &r->session);
		if (rv != CKR_OK)
			return dmsc_p11_fail(r->p11, rv, 0, "opening a session "
			                     "on application '%s'", a->label);
		r->app = app;
		r->who = NOBODY;
	}
	if (r->who != NOBODY) {
		r->fn->C_Logout(r->session);
		r->who = NOBODY;
	}
	rv = r->fn->C_Login(r->session, who, pin->bytes, (CK_ULONG)pin->len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return dmsc_p11_fail(r->p11, rv, 0, "%s:%ld: logging in to "
		                     "application '%s' as %s with the profile's "
		                     "PIN", r->profile->name, pin->line, a->label,
		                     who == CKU_SO ? "the SO" : "the user");
	r->who = who;
	return DMSC_EXIT_OK;
}

/* ---- The steps ---- */

static int init_token(struct run *r, struct step *st)
{
	const struct dmsc_profile_app *a = &r->profile->apps[st->app];
	unsigned char label[32];
	CK_SLOT_ID slot;
	bool found, spare;
	CK_RV rv = find_slot(r, a->label, &slot, &found, &spare);

	if (rv != CKR_OK)
		return dmsc_p11_fail(r->p11, rv, 0, "listing the card's slots");
	if (found) {
		st->res.outcome = PZ_KEPT;
		snprintf(st->res.note, sizeof st->res.note,
		         "a token labelled '%s' is on the card", a->label);
		return DMSC_EXIT_OK;
	}
	if (!spare) {
		st->res.outcome = PZ_FAILED;
		dmsc_error("no spare slot to create application '%s': the "
		           "card (or module) has no uninitialised token left",
		           a->label);
		return DMSC_EXIT_CARD;
	}
	memset(label, ' ', sizeof label);
	memcpy(label, a->label, strlen(a->label));
	rv = r->fn->C_InitToken(slot, a->so_pin.bytes, (CK_ULONG)a->so_pin.len,
	                        label);
	if (rv != CKR_OK) {
		st->res.outcome = PZ_FAILED;
		return dmsc_p11_fail(r->p11, rv, 0, "creating application '%s' "
		                     "(C_InitToken)", a->label);
	}
	st->res.outcome = PZ_DONE;
	snprintf(st->res.note, sizeof st->res.note, "slot %lu",
	         (unsigned long)slot);
	return DMSC_EXIT_OK;
}

static int init_pin(struct run *r, struct step *st)
{
	const struct dmsc_profile_app *a = &r->profile->apps[st->app];
	CK_TOKEN_INFO ti;
	int rc = become(r, st->app, CKU_SO);
	CK_RV rv;

	if (rc != DMSC_EXIT_OK)
		return rc;
	rv = r->fn->C_GetTokenInfo(r->slot, &ti);
	if (rv == CKR_OK && (ti.flags & CKF_USER_PIN_INITIALIZED)) {
		st->res.outcome = PZ_KEPT;
		snprintf(st->res.note, sizeof st->res.note, "set already; not "
		         "changed");
		return DMSC_EXIT_OK;
	}
	if (rv == CKR_OK)
		rv = r->fn->C_InitPIN(r->session, a->user_pin.bytes,
		                      (CK_ULONG)a->user_pin.len);
	if (rv != CKR_OK) {
		st->res.outcome = PZ_FAILED;
		return dmsc_p11_fail(r->p11, rv, 0, "setting the user PIN of "
		                     "application '%s'", a->label);
	}
	st->res.outcome = PZ_DONE;
	return DMSC_EXIT_OK;
}

static int item(struct run *r, struct step *st)
{
	char name[160];
	int rc = become(r, st->app,
	                pz_item_needs_so(st->item) ? CKU_SO : CKU_USER);

	if (rc != DMSC_EXIT_OK)
		return rc;
	pz_item(r->fn, r->session, st->item, &st->res);
	if (st->res.outcome != PZ_FAILED)
		return DMSC_EXIT_OK;
	dmsc_profile_item_name(st->item, name, sizeof name);
	if (st->res.why[0] != '\0') {
		dmsc_error("%s:%ld: %s: %s", r->profile->name, st->item->line,
		           name, st->res.why);
		return DMSC_EXIT_CARD;
	}
	return dmsc_p11_fail(r->p11, st->res.rv, st->res.needed, "%s:%ld: %s",
	                     r->profile->name, st->item->line, name);
}

static int run_steps(struct run *r)
{
	int rc = DMSC_EXIT_OK;
	size_t i;

	for (i = 0; i < r->n_steps && rc == DMSC_EXIT_OK; i++) {
		struct step *st = &r->steps[i];

		switch (st->kind) {
		case STEP_INIT_TOKEN:
			end_session(r);
			rc = init_token(r, st);
			break;
		case STEP_INIT_PIN:
			rc = init_pin(r, st);
			break;
		default:
			rc = item(r, st);
			break;
		}
		if (rc != DMSC_EXIT_OK)
			st->res.outcome = PZ_FAILED;
		else if (!r->quiet)
			step_line(r, st, stdout);
	}
	end_session(r);
	if (rc != DMSC_EXIT_OK) {
		fflush(stdout);
		fprintf(stderr, "dmsc: personalise stopped; the card now holds "
		        "what is marked done, kept or replaced:\n");
		for (size_t j = 0; j < r->n_steps; j++)
			step_line(r, &r->steps[j], stderr);
		fprintf(stderr, "dmsc: fix the cause and run the same command "
		        "again: what is on the card already is kept\n");
	}
	return rc;
}

/* ---- The command ---- */

static int read_profile(const char *name, struct dmsc_profile **out)
{
	dmsc_profile_error err;
	unsigned char *buf;
	size_t len = 0;
	FILE *f = fopen(name, "rb");
	int rc;

	*out = NULL;
	if (f == NULL) {
		dmsc_error("%s: cannot be read: %s", name, strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	buf = malloc(DMSC_PROFILE_MAX_BYTES + 1);
	if (buf != NULL)
		len = fread(buf, 1, DMSC_PROFILE_MAX_BYTES + 1, f);
	if (buf == NULL || ferror(f)) {
		dmsc_error("%s: cannot be read: %s", name,
		           buf == NULL ? "out of memory" : strerror(errno));
		fclose(f);
		free(buf);
		return DMSC_EXIT_USAGE;
	}
	fclose(f);
	rc = dmsc_profile_parse(name, buf, len, dmsc_profile_schema,
	                        dmsc_profile_schema_len, out, &err);
	/* It may hold PINs (value="..."). */
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc == DMSC_PROFILE_OK) {
		rc = dmsc_profile_load(*out, &err);
		if (rc != DMSC_PROFILE_OK) {
			dmsc_profile_free(*out);
			*out = NULL;
		}
	}
	if (rc == DMSC_PROFILE_OK)
		return DMSC_EXIT_OK;
	dmsc_error("%s", err.message);
	return rc == DMSC_PROFILE_INVALID ? DMSC_EXIT_REFUSED : DMSC_EXIT_USAGE;
}

static int set_identity(const struct dmsc_profile *p)
{
	char capacity[32];

	snprintf(capacity, sizeof capacity, "%llu",
	         (unsigned long long)p->capacity);
	if (setenv("DMSC_CARD_ICCID", p->iccid, 1) != 0 ||
	    setenv("DMSC_CARD_IMSI", p->imsi, 1) != 0 ||
	    setenv("DMSC_CARD_CAPACITY", capacity, 1) != 0) {
		dmsc_error("cannot set the card identity: %s", strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	return DMSC_EXIT_OK;
}

static size_t count_items(const struct dmsc_profile *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_apps; i++)
		n += p->apps[i].n_items;
	return n;
}

static int run(const struct dmsc_command *cmd, int argc, char **argv,
               struct dmsc_common *common)
{
	enum { OPT_CHECK = 256 };
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, OPT_CHECK },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { .session = CK_INVALID_HANDLE, .who = NOBODY };
	struct dmsc_profile *profile = NULL;
	bool check_only = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, DMSC_COMMON_SHORTOPTS, longopts,
	                          NULL)) != -1) {
		if (opt == OPT_CHECK) {
			check_only = true;
			continue;
		}
		rc = dmsc_common_option(cmd, opt, common);
		if (rc != DMSC_OPTION_HANDLED)
			return rc;
	}
	if (argc - optind != 1)
		return dmsc_usage_error(cmd, "expected one PROFILE.xml");
	rc = read_profile(argv[optind], &profile);
	if (rc != DMSC_EXIT_OK)
		return rc;
	if (check_only) {
		if (!common->quiet)
			printf("%s: valid: card %s, %zu application(s), %zu "
			       "object(s); every file it names was read and "
			       "checked\n", profile->name, profile->iccid,
			       profile->n_apps, count_items(profile));
		dmsc_profile_free(profile);
		return DMSC_EXIT_OK;
	}
	r.profile = profile;
	r.quiet = common->quiet;
	rc = set_identity(profile);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_open(common, &r.p11);
	if (rc == DMSC_EXIT_OK) {
		r.fn = dmsc_p11_fn(r.p11);
		rc = check_identity(&r);
	}
	if (rc == DMSC_EXIT_OK && plan(&r) != 0) {
		dmsc_error("out of memory");
		rc = DMSC_EXIT_USAGE;
	}
	if (rc == DMSC_EXIT_OK) {
		if (!r.quiet)
			printf("Personalising card %s from %s (module %s):\n",
			       profile->iccid, profile->name,
			       dmsc_p11_module(r.p11));
		rc = run_steps(&r);
	}
	if (rc == DMSC_EXIT_OK && !r.quiet)
		printf("Card %s personalised: %zu application(s), %zu "
		       "object(s).\n", profile->iccid, profile->n_apps,
		       count_items(profile));
	free(r.steps);
	dmsc_p11_close(r.p11);
	dmsc_profile_free(profile);
	return rc;
}

const struct dmsc_command dmsc_cmd_personalise = {
	.name = "personalise",
	.summary = "personalise a card from a profile (PINs, keys, MOs, "
	           "bootstrap)",
	.synopsis = "[--check] [--module PATH] PROFILE.xml",
	.help =
	"Personalises a card from PROFILE.xml, the card issuer's description of\n"
	"the card (schema: profile.rng in dmsc's data directory; README,\n"
	"\"dmsc personalise\"), entirely through PKCS#11: C_InitToken and\n"
	"C_InitPIN for each application, C_CreateObject for the MA certificate\n"
	"(CKA_TRUSTED, as the SO), the DM credential, MOs and the bootstrap\n"
	"(stored as WBXML), C_GenerateKeyPair for keys.  The profile and every\n"
	"file it names are checked before the card is touched.  A new virtual\n"
	"UICC gets the profile's ICCID, IMSI and capacity; an existing card must\n"
	"have them already.  Running it again adds what is missing and keeps\n"
	"what is there; MOs, the bootstrap and the MA certificate are replaced\n"
	"when their value differs, keys never.\n"
	"\n"
	"Options:\n"
	"      --check        check the profile and its files only; no card\n"
	"      --module PATH  the PKCS#11 module (default: dmsc's)\n"
	"\n"
	"Further exit statuses: 3 no card, 6 a PIN of the profile is refused,\n"
	"7 the card refused a step (full: \"card full: N bytes needed, M free\").\n",
	.examples =
	"  DMSC_DEMO_SO_PIN=87654321 DMSC_DEMO_USER_PIN=1234 \\\n"
	"  DMSC_DEMO_DM_SECRET=s3cret dmsc personalise examples/demo-card/profile.xml\n"
	"      personalise the demo card (an empty DMSC_STORE makes a new one)\n"
	"  dmsc personalise --check profile.xml\n"
	"      is the profile right, and can every file it names be used?\n",
	.run = run,
};
