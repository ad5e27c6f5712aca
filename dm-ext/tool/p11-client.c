/*
 * dm-ext/tool/p11-client.c - loading the PKCS#11 module, choosing the
 * token, the session (p11-client.h).  Login is in p11-login.c, the error
 * words in p11-errors.c, the data objects in p11-data.c.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "p11-client-impl.h"

/* More tokens than this on one module is not a card. */
#define MAX_SLOTS 1024u

const char *dmsc_p11_module_path(const struct dmsc_common *common)
{
	static char built[PATH_MAX];
	const char *env = getenv("DMSC_MODULE");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (common->module != NULL)
		return common->module;
	if (env != NULL && *env != '\0')
		return env;
	/* Run from the build tree: the module libtool built beside us. */
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(built, sizeof built,
			                     "%s/.libs/dmsc-pkcs11.so", self) <
			            sizeof built &&
			    access(built, R_OK) == 0)
				return built;
		}
	}
	return DMSC_P11_DEFAULT_MODULE;
}

void dmsc_p11_field(char *out, size_t out_len, const CK_UTF8CHAR *field,
                    size_t field_len)
{
	size_t n = field_len < out_len - 1 ? field_len : out_len - 1;

	memcpy(out, field, n);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* A token URI naming one candidate, for the "which one?" error. */
static void print_token_uri(const CK_TOKEN_INFO *ti)
{
	P11KitUri *uri = p11_kit_uri_new();
	char *s = NULL;

	if (uri == NULL)
		return;
	memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof *ti);
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &s) ==
	    P11_KIT_URI_OK) {
		fprintf(stderr, "  %s\n", s);
		free(s);
	}
	p11_kit_uri_free(uri);
}

struct candidate {
	CK_SLOT_ID slot;
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO token_info;
};

/* The selection rule of p11-client.h applied to the matching tokens. */
static int choose(dmsc_p11 *p, const struct candidate *c, size_t n)
{
	size_t i, inited = 0, dm = 0, pick_inited = 0, pick_dm = 0;
	char label[sizeof c->token_info.label + 1];

	for (i = 0; i < n; i++) {
		if (!(c[i].token_info.flags & CKF_TOKEN_INITIALIZED))
			continue;
		inited++;
		pick_inited = i;
		dmsc_p11_field(label, sizeof label, c[i].token_info.label,
		               sizeof c[i].token_info.label);
		if (strcmp(label, DMSC_P11_DM_LABEL) == 0) {
			dm++;
			pick_dm = i;
		}
	}
	if (inited == 1)
		i = pick_inited;
	else if (inited > 1 && dm == 1)
		i = pick_dm;
	else if (inited == 0 && n > 0)
		i = 0;
	else {
		dmsc_error("%zu initialised tokens%s on %s; choose one with "
		           "--token URI, one of:", inited,
		           p->uri != NULL ? " match --token" : "", p->module);
		for (i = 0; i < n; i++)
			if (c[i].token_info.flags & CKF_TOKEN_INITIALIZED)
				print_token_uri(&c[i].token_info);
		return DMSC_EXIT_NO_CARD;
	}
	p->slot = c[i].slot;
	p->slot_info = c[i].slot_info;
	p->token_info = c[i].token_info;
	dmsc_p11_field(p->label, sizeof p->label, p->token_info.label,
	               sizeof p->token_info.label);
	return DMSC_EXIT_OK;
}

/* The slots with a token that match the URI (all without one). */
static int find_token(dmsc_p11 *p)
{
	CK_SLOT_ID *slots = NULL;
	struct candidate *c = NULL;
	CK_ULONG count = 0, i;
	size_t n = 0;
	CK_RV rv;
	int rc = DMSC_EXIT_NO_CARD;

	rv = p->fn->C_GetSlotList(CK_TRUE, NULL, &count);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, 0, "listing the slots of %s",
		                   p->module);
		goto done;
	}
	if (count > MAX_SLOTS)
		count = MAX_SLOTS;
	slots = calloc(count + 1, sizeof *slots);
	c = calloc(count + 1, sizeof *c);
	if (slots == NULL || c == NULL) {
		dmsc_error("out of memory");
		rc = DMSC_EXIT_USAGE;
		goto done;
	}
	rv = p->fn->C_GetSlotList(CK_TRUE, slots, &count);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, 0, "listing the slots of %s",
		                   p->module);
		goto done;
	}
	for (i = 0; i < count; i++) {
		struct candidate *k = &c[n];

		k->slot = slots[i];
		if (p->fn->C_GetSlotInfo(slots[i], &k->slot_info) != CKR_OK ||
		    !(k->slot_info.flags & CKF_TOKEN_PRESENT) ||
		    p->fn->C_GetTokenInfo(slots[i], &k->token_info) != CKR_OK)
			continue;
		if (p->uri != NULL &&
		    (p11_kit_uri_match_slot_info(p->uri, &k->slot_info) != 1 ||
		     p11_kit_uri_match_token_info(p->uri, &k->token_info) != 1))
			continue;
		n++;
	}
	if (n == 0) {
		if (p->uri != NULL)
			dmsc_error("no card: no token of %s matches --token "
			           "'%s'; 'pkcs11-tool --module %s -L' lists "
			           "them", p->module, p->uri_text, p->module);
		else
			dmsc_error("no card: %s shows no token; insert the "
			           "card, or give the store (DMSC_STORE) or "
			           "the module (--module) that holds it",
			           p->module);
		goto done;
	}
	rc = choose(p, c, n);
done:
	free(slots);
	free(c);
	return rc;
}

/* Parses --token; the module attributes are matched at load time. */
static int parse_uri(dmsc_p11 *p, const char *text)
{
	int r;

	p->uri_text = text;
	p->uri = p11_kit_uri_new();
	if (p->uri == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	r = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, p->uri);
	if (r != P11_KIT_URI_OK) {
		dmsc_error("--token '%s': %s; expected an RFC 7512 URI such "
		           "as 'pkcs11:token=DM'", text,
		           p11_kit_uri_message(r));
		return DMSC_EXIT_USAGE;
	}
	if (p11_kit_uri_any_unrecognized(p->uri)) {
		dmsc_error("--token '%s': an attribute p11-kit does not know "
		           "would match no token; use token, manufacturer, "
		           "serial, model, slot-*, library-* and pin-*", text);
		return DMSC_EXIT_USAGE;
	}
	return DMSC_EXIT_OK;
}

static int load(dmsc_p11 *p)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	char abs[PATH_MAX];
	CK_INFO info;
	CK_RV rv;

	/* p11-kit reads a relative path as relative to its module
	 * directory; the user means the current directory. */
	if (strchr(p->module, '/') != NULL && p->module[0] != '/' &&
	    realpath(p->module, abs) != NULL)
		p->module = p->module_abs = strdup(abs);
	if (p->module == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	p->fn = p11_kit_module_load(p->module, P11_KIT_MODULE_UNMANAGED);
	if (p->fn == NULL) {
		const char *why = p11_kit_message();

		dmsc_error("cannot load the PKCS#11 module %s: %s; give the "
		           "right one with --module PATH or DMSC_MODULE",
		           p->module, why != NULL ? why : "unknown error");
		return DMSC_EXIT_NO_CARD;
	}
	rv = p->fn->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		int rc = dmsc_p11_fail(p, rv, 0, "initialising %s",
		                       p->module);

		p11_kit_module_release(p->fn);
		p->fn = NULL;
		return rc == DMSC_EXIT_CARD ? DMSC_EXIT_NO_CARD : rc;
	}
	p->initialized = true;
	if (p->uri != NULL) {
		rv = p->fn->C_GetInfo(&info);
		if (rv != CKR_OK)
			return dmsc_p11_fail(p, rv, 0, "C_GetInfo of %s",
			                     p->module);
		if (p11_kit_uri_match_module_info(p->uri, &info) != 1) {
			dmsc_error("no card: the module %s does not match "
			           "--token '%s' (its library-* attributes)",
			           p->module, p->uri_text);
			return DMSC_EXIT_NO_CARD;
		}
	}
	return DMSC_EXIT_OK;
}

int dmsc_p11_open(const struct dmsc_common *common, dmsc_p11 **out)
{
	dmsc_p11 *p = calloc(1, sizeof *p);
	int rc;

	*out = NULL;
	if (p == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	p->common = common;
	p->session = CK_INVALID_HANDLE;
	p->login_as = CKU_USER;
	p->module = dmsc_p11_module_path(common);
	rc = common->token != NULL ? parse_uri(p, common->token)
	                           : DMSC_EXIT_OK;
	if (rc == DMSC_EXIT_OK)
		rc = load(p);
	if (rc == DMSC_EXIT_OK)
		rc = find_token(p);
	if (rc != DMSC_EXIT_OK) {
		dmsc_p11_close(p);
		return rc;
	}
	*out = p;
	return DMSC_EXIT_OK;
}

int dmsc_p11_start(dmsc_p11 *p, enum dmsc_p11_access access)
{
	CK_FLAGS flags = CKF_SERIAL_SESSION;
	CK_RV rv;

	if (!(p->token_info.flags & CKF_TOKEN_INITIALIZED)) {
		dmsc_error("token in slot %lu of %s is not initialised: the "
		           "card has no application there; 'dmsc "
		           "personalise' (or C_InitToken) creates one",
		           (unsigned long)p->slot, p->module);
		return DMSC_EXIT_NOT_ACTIVATED;
	}
	if (access == DMSC_P11_RW)
		flags |= CKF_RW_SESSION;
	rv = p->fn->C_OpenSession(p->slot, flags, NULL, NULL, &p->session);
	if (rv != CKR_OK) {
		p->session = CK_INVALID_HANDLE;
		return dmsc_p11_fail(p, rv, 0, "opening a session on token "
		                     "'%s'", p->label);
	}
	return DMSC_EXIT_OK;
}

void dmsc_p11_close(dmsc_p11 *p)
{
	if (p == NULL)
		return;
	if (p->fn != NULL) {
		if (p->session != CK_INVALID_HANDLE) {
			if (p->logged_in)
				p->fn->C_Logout(p->session);
			p->fn->C_CloseSession(p->session);
		}
		if (p->initialized)
			p->fn->C_Finalize(NULL);
		p11_kit_module_release(p->fn);
	}
	if (p->uri != NULL)
		p11_kit_uri_free(p->uri);
	free(p->module_abs);
	free(p);
}

CK_FUNCTION_LIST *dmsc_p11_fn(const dmsc_p11 *p)
{
	return p->fn;
}

CK_SESSION_HANDLE dmsc_p11_session(const dmsc_p11 *p)
{
	return p->session;
}

CK_SLOT_ID dmsc_p11_slot(const dmsc_p11 *p)
{
	return p->slot;
}

const char *dmsc_p11_module(const dmsc_p11 *p)
{
	return p->module;
}

bool dmsc_p11_logged_in(const dmsc_p11 *p)
{
	return p->logged_in;
}

const CK_SLOT_INFO *dmsc_p11_slot_info(const dmsc_p11 *p)
{
	return &p->slot_info;
}

const CK_TOKEN_INFO *dmsc_p11_token_info(dmsc_p11 *p)
{
	CK_RV rv = p->fn->C_GetTokenInfo(p->slot, &p->token_info);

	if (rv != CKR_OK) {
		dmsc_p11_fail(p, rv, 0, "reading the token info of '%s'",
		              p->label);
		return NULL;
	}
	return &p->token_info;
}

const char *dmsc_p11_token_label(const dmsc_p11 *p)
{
	return p->label;
}
