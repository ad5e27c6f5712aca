/*
 * dm-ext/tool/cmd-mo.c - `dmsc mo ls|get|put|rm`: the Management Objects
 * on the card, as TNDS documents by node path (DM-SC-GEN-1, GEN-7).
 *
 * An MO is a CKO_DATA token object: CKA_APPLICATION "OMA-DM:MO",
 * CKA_LABEL its root path, CKA_VALUE its TNDS (DESIGN.md).  `put`
 * validates the TNDS (dm-ext/mgmt-tree.h) before it opens the card, and
 * stores it with one PKCS#11 call, so the card holds the old MO or the
 * new one, never a mix, and nothing changes on any error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "commands.h"
#include "mo-path.h"
#include "p11-client.h"
#include "read-input.h"
#include "mgmt-tree.h"

struct mo_opts {
	bool login;              /* --login: log in even without a PIN */
	bool so;                 /* --so: log in as the SO (put, rm) */
	int privacy;             /* --private 1, --public 0, neither -1 */
};

static int check_path(const struct dmsc_command *cmd, const char *path)
{
	const char *why;

	if (!dmsc_mo_path_ok(path, &why))
		return dmsc_usage_error(cmd, "'%s' is not an MO path: %s",
		                        path, why);
	return DMSC_EXIT_OK;
}

/* Module, token, session; a login as the options and the need say.
 * need_login: the command changes the card (put, rm). */
static int mo_connect(const struct dmsc_common *common,
                   const struct mo_opts *o, bool need_login, dmsc_p11 **p)
{
	int rc = dmsc_p11_open(common, p);

	if (rc != DMSC_EXIT_OK)
		return rc;
	rc = dmsc_p11_start(*p, need_login ? DMSC_P11_RW : DMSC_P11_RO);
	if (rc == DMSC_EXIT_OK &&
	    (need_login || o->login || dmsc_p11_pin_given(*p)))
		rc = dmsc_p11_login(*p, o->so ? CKU_SO : CKU_USER);
	if (rc != DMSC_EXIT_OK) {
		dmsc_p11_close(*p);
		*p = NULL;
	}
	return rc;
}

/* "no MO at PATH", with the hint a missing login deserves. */
static int not_found(dmsc_p11 *p, const char *path)
{
	dmsc_error("no MO at %s on token '%s'%s; 'dmsc mo ls' lists them",
	           path, dmsc_p11_token_label(p),
	           dmsc_p11_logged_in(p) ? ""
	           : " (private MOs are seen only after a login: give the "
	             "PIN)");
	return DMSC_EXIT_NO_DATA;
}

/* The one MO at path: DMSC_EXIT_OK and *h, or the error printed. */
static int find_mo(dmsc_p11 *p, const char *path, CK_OBJECT_HANDLE *h)
{
	bool found;
	CK_RV rv = dmsc_p11_data_find(p, DMSC_P11_APP_MO, path, h, &found);

	if (rv == CKR_GENERAL_ERROR) {
		dmsc_error("token '%s' holds several MOs labelled %s: remove "
		           "the extra ones with pkcs11-tool --delete-object",
		           dmsc_p11_token_label(p), path);
		return DMSC_EXIT_CARD;
	}
	if (rv != CKR_OK)
		return dmsc_p11_fail(p, rv, 0, "looking for %s", path);
	if (!found)
		return not_found(p, path);
	return DMSC_EXIT_OK;
}

static int mo_ls(const struct dmsc_common *common, const struct mo_opts *o)
{
	struct dmsc_p11_data *list = NULL;
	dmsc_p11 *p;
	size_t n = 0, i;
	int rc = mo_connect(common, o, false, &p);
	CK_RV rv;

	if (rc != DMSC_EXIT_OK)
		return rc;
	rv = dmsc_p11_data_list(p, DMSC_P11_APP_MO, &list, &n);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, 0, "listing the MOs of token '%s'",
		                   dmsc_p11_token_label(p));
		goto done;
	}
	for (i = 0; i < n; i++)
		printf("%-7s %8zu %s\n",
		       list[i].is_private ? "private" : "public",
		       list[i].value_len, list[i].label);
	if (!common->quiet && !dmsc_p11_logged_in(p))
		fprintf(stderr, "dmsc: public MOs only; give the PIN to "
		        "list private ones too\n");
done:
	dmsc_p11_data_free(list, n);
	dmsc_p11_close(p);
	return rc;
}

static int mo_get(const struct dmsc_common *common, const struct mo_opts *o,
                  const char *path)
{
	unsigned char *value = NULL;
	size_t len = 0;
	CK_OBJECT_HANDLE h;
	dmsc_p11 *p;
	int rc = mo_connect(common, o, false, &p);
	CK_RV rv;

	if (rc != DMSC_EXIT_OK)
		return rc;
	rc = find_mo(p, path, &h);
	if (rc != DMSC_EXIT_OK)
		goto done;
	rv = dmsc_p11_data_read(p, h, &value, &len);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, 0, "reading %s", path);
		goto done;
	}
	if (len > 0 && fwrite(value, 1, len, stdout) != len) {
		dmsc_error("cannot write %s to the output", path);
		rc = DMSC_EXIT_USAGE;
	}
done:
	free(value);
	dmsc_p11_close(p);
	return rc;
}

/* The TNDS must be an MO before anything touches the card. */
static int validate(const char *file, const unsigned char *buf, size_t len)
{
	dmsc_dm_error err = { .offset = 0 };
	char at[32];
	int st = dmsc_tnds_check(buf, len, &err);

	if (st == DMSC_TNDS_OK)
		return DMSC_EXIT_OK;
	if (st == DMSC_TNDS_NOMEM) {
		dmsc_error("%s: out of memory", dmsc_input_name(file));
		return DMSC_EXIT_USAGE;
	}
	/* As `dmsc canon` words it: the byte where the reader knows it. */
	snprintf(at, sizeof at, "byte %zu", err.offset);
	if (err.offset != DMSC_DM_NO_OFFSET && strstr(err.message, at) == NULL)
		dmsc_error("%s: %s: %s; nothing was stored",
		           dmsc_input_name(file), at, err.message);
	else
		dmsc_error("%s: %s; nothing was stored",
		           dmsc_input_name(file), err.message);
	return DMSC_EXIT_REFUSED;
}

static int mo_put(const struct dmsc_common *common, const struct mo_opts *o,
                  const char *path, const char *file)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	dmsc_p11 *p = NULL;
	bool created = false;
	int rc = dmsc_read_input(file, DMSC_P11_VALUE_MAX, &buf, &len);
	CK_RV rv;

	if (rc == DMSC_EXIT_OK)
		rc = validate(file, buf, len);
	if (rc == DMSC_EXIT_OK)
		rc = mo_connect(common, o, true, &p);
	if (rc != DMSC_EXIT_OK)
		goto done;
	/* New MOs are private unless asked (a DMAcc holds credentials);
	 * the SO cannot create private objects (PKCS#11). */
	rv = dmsc_p11_data_put(p, DMSC_P11_APP_MO, path, buf, len,
	                       o->so ? false : o->privacy != 0, &created);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, len + strlen(path) +
		                   strlen(DMSC_P11_APP_MO), "storing %s", path);
		if (rc == DMSC_EXIT_CARD)
			fprintf(stderr, "dmsc: nothing was stored; the card "
			        "holds what it held before\n");
		goto done;
	}
	if (!common->quiet)
		fprintf(stderr, "dmsc: %s: %s on token '%s' (%zu bytes)\n",
		        path, created ? "created" : "replaced",
		        dmsc_p11_token_label(p), len);
done:
	free(buf);
	dmsc_p11_close(p);
	return rc;
}

static int mo_rm(const struct dmsc_common *common, const struct mo_opts *o,
                 const char *path)
{
	CK_OBJECT_HANDLE h;
	dmsc_p11 *p;
	int rc = mo_connect(common, o, true, &p);
	CK_RV rv;

	if (rc != DMSC_EXIT_OK)
		return rc;
	rc = find_mo(p, path, &h);
	if (rc != DMSC_EXIT_OK)
		goto done;
	rv = dmsc_p11_data_destroy(p, h);
	if (rv != CKR_OK) {
		rc = dmsc_p11_fail(p, rv, 0, "removing %s", path);
		goto done;
	}
	if (!common->quiet)
		fprintf(stderr, "dmsc: %s: removed from token '%s'\n", path,
		        dmsc_p11_token_label(p));
done:
	dmsc_p11_close(p);
	return rc;
}

/* Checks the arguments of one subcommand and runs it. */
static int dispatch(const struct dmsc_command *cmd, int argc, char **argv,
                    struct dmsc_common *common, const struct mo_opts *o)
{
	const char *sub = argv[0];
	int want, rc;

	if (strcmp(sub, "ls") == 0)
		want = 1;
	else if (strcmp(sub, "get") == 0 || strcmp(sub, "rm") == 0)
		want = 2;
	else if (strcmp(sub, "put") == 0)
		want = 3;
	else
		return dmsc_usage_error(cmd, "'%s' is not ls, get, put or rm",
		                        sub);
	if (argc != want)
		return dmsc_usage_error(cmd, "%s takes %s", sub,
		                        want == 1 ? "no argument"
		                        : want == 2 ? "one PATH"
		                                    : "PATH and FILE (- for "
		                                      "standard input)");
	if (o->so && want != 3 && strcmp(sub, "rm") != 0)
		return dmsc_usage_error(cmd, "--so is for put and rm");
	if (o->privacy >= 0 && want != 3)
		return dmsc_usage_error(cmd, "--private and --public are for "
		                        "put");
	if (o->so && o->privacy == 1)
		return dmsc_usage_error(cmd, "--so stores public MOs only "
		                        "(PKCS#11: the SO cannot create "
		                        "private objects)");
	if (want >= 2 && (rc = check_path(cmd, argv[1])) != DMSC_EXIT_OK)
		return rc;
	if (want == 1)
		return mo_ls(common, o);
	if (want == 3)
		return mo_put(common, o, argv[1], argv[2]);
	if (strcmp(sub, "get") == 0)
		return mo_get(common, o, argv[1]);
	return mo_rm(common, o, argv[1]);
}

static int mo_run(const struct dmsc_command *cmd, int argc, char **argv,
                  struct dmsc_common *common)
{
	enum { OPT_LOGIN = 256, OPT_SO, OPT_PRIVATE, OPT_PUBLIC };
	static const struct option longopts[] = {
		{ "login", no_argument, NULL, OPT_LOGIN },
		{ "so", no_argument, NULL, OPT_SO },
		{ "private", no_argument, NULL, OPT_PRIVATE },
		{ "public", no_argument, NULL, OPT_PUBLIC },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mo_opts o = { .login = false, .so = false, .privacy = -1 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, DMSC_COMMON_SHORTOPTS, longopts,
	                          NULL)) != -1) {
		switch (opt) {
		case OPT_LOGIN:
			o.login = true;
			break;
		case OPT_SO:
			o.so = true;
			break;
		case OPT_PRIVATE:
			o.privacy = 1;
			break;
		case OPT_PUBLIC:
			o.privacy = 0;
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (optind == argc)
		return dmsc_usage_error(cmd, "expected ls, get, put or rm");
	return dispatch(cmd, argc - optind, argv + optind, common, &o);
}

const struct dmsc_command dmsc_cmd_mo = {
	.name = "mo",
	.summary = "list, read, store and remove the MOs on the card (TNDS)",
	.synopsis = "ls | get PATH | put [--private|--public] [--so] PATH "
	            "FILE | rm [--so] PATH",
	.help =
	"The Management Objects on the card (the token chosen by --token), "
	"each a\n"
	"TNDS document (<MgmtTree xmlns=\"syncml:dmddf1.2\">) kept as a "
	"data object:\n"
	"CKA_APPLICATION \"OMA-DM:MO\", CKA_LABEL = PATH, the MO root's "
	"node path\n"
	"(./DMAcc/OperatorX), CKA_VALUE = the TNDS. Works on any "
	"application token.\n"
	"\n"
	"  ls            list the MOs: public/private, size in bytes, path\n"
	"  get PATH      print the MO's TNDS on stdout\n"
	"  put PATH FILE store FILE (- for stdin), XML or WBXML TNDS, as "
	"the MO at\n"
	"                PATH: created, or replaced whole in one step. "
	"FILE is\n"
	"                checked first (TNDS content model); on any error "
	"nothing\n"
	"                on the card changes\n"
	"  rm PATH       remove the MO\n"
	"\n"
	"ls and get log in only when a PIN is given (or --login): without "
	"a login\n"
	"they see public MOs only. put and rm always log in.\n"
	"\n"
	"Options:\n"
	"      --private  put: a new MO is private (the default: readable "
	"only after\n"
	"                 a login with the application's PIN)\n"
	"      --public   put: a new MO is public (readable without a "
	"login)\n"
	"                 A replaced MO keeps what it was.\n"
	"      --so       put, rm: log in as the token's security officer "
	"(the PIN\n"
	"                 sources give the SO PIN); the SO manages public "
	"MOs\n"
	"      --login    ls, get: log in, prompting for the PIN if no "
	"source gives it\n",
	.examples =
	"  dmsc mo put ./DMAcc/OperatorX operatorx.xml\n"
	"      store an MO (private), asking for the PIN\n"
	"  DMSC_PIN=1234 dmsc mo ls\n"
	"      every MO with its size\n"
	"  dmsc mo get --pin 1234 ./DMAcc/OperatorX > operatorx.xml\n"
	"      its TNDS\n"
	"  dmsc --token 'pkcs11:token=Wallet' mo put --public ./Wallet/Cfg "
	"cfg.wbxml\n"
	"      an authorised application's own MO, on its own token\n"
	"  dmsc mo rm ./DMAcc/OperatorX\n"
	"      remove it\n",
	.run = mo_run,
};
