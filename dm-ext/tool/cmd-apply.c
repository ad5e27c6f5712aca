/*
 * dm-ext/tool/cmd-apply.c - `dmsc apply MESSAGE`: the DM server's
 * commands stored on the card (DM-SC-GEN-7).
 *
 * The message is read and checked before the card is opened; the card's
 * MOs are read into one tree (card-mos.c), the command engine
 * (dm-ext/dmcmd.c) runs on a copy, and only then are the objects whose
 * subtree changed written, each in one PKCS#11 call.  An Atomic that
 * failed was rolled back in the copy, so nothing of it is written.  The
 * reply (Status and Results) is printed only once the card holds what it
 * reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card-mos.h"
#include "commands.h"
#include "dmcmd.h"
#include "slurp.h"

#define APPLY_INPUT_MAX (16u * 1024u * 1024u)
#define MAX_ROOTS DMSC_CARD_MOS_MAX_ROOTS

static const char *input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

static int write_reply(const char *path, const char *reply, size_t len)
{
	FILE *f = stdout;

	if (path != NULL && strcmp(path, "-") != 0) {
		f = fopen(path, "w");
		if (f == NULL) {
			dmsc_error("%s: cannot create the reply file: %m; the "
			           "card was changed already", path);
			return DMSC_EXIT_USAGE;
		}
	}
	if (fwrite(reply, 1, len, f) != len ||
	    (f != stdout && fclose(f) != 0)) {
		dmsc_error("%s: cannot write the reply: %m; the card was "
		           "changed already", path != NULL ? path
		                                           : "standard output");
		return DMSC_EXIT_USAGE;
	}
	return DMSC_EXIT_OK;
}

static int run_apply(const struct dmsc_command *cmd, int argc, char **argv,
                     struct dmsc_common *common)
{
	enum { OPT_ROOT = 256, OPT_OUTPUT };
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *roots[MAX_ROOTS], *output = NULL, *name;
	size_t n_roots = 0, len = 0, reply_len = 0, written = 0;
	unsigned char *buf = NULL;
	char *reply = NULL;
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	dmsc_dm_error err;
	dmsc_tnds *after = NULL;
	struct dmsc_card_mos mos = { 0 };
	dmsc_dmcmd_report rep;
	dmsc_dmcmd_opts opts;
	dmsc_p11 *p = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, DMSC_COMMON_SHORTOPTS, longopts,
	                          NULL)) != -1) {
		switch (opt) {
		case OPT_ROOT:
			rc = dmsc_card_mos_root_option(cmd, optarg, roots,
			                               &n_roots);
			if (rc != 0)
				return rc;
			break;
		case OPT_OUTPUT:
			output = optarg;
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (argc - optind != 1)
		return dmsc_usage_error(cmd, "expected one MESSAGE file (XML or "
		                        "WBXML; '-' for standard input)");
	name = input_name(argv[optind]);
	if (slurp(argv[optind], APPLY_INPUT_MAX, &buf, &len) != 0) {
		if (errno == EFBIG) {
			dmsc_error("%s: larger than 16 MiB: not a DM message "
			           "this tool takes", name);
			return DMSC_EXIT_REFUSED;
		}
		dmsc_error("%s: cannot read: %s", name, strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	/* The message first: a refused one needs no card. */
	rc = dmsc_dm_parse(buf, len, NULL, &doc, &kind, &err);
	if (rc == DMSC_DM_OK && kind == DMSC_DM_TNDS) {
		xmlFreeDoc(doc);
		doc = NULL;
		rc = dmsc_dm_fail(&err, DMSC_DM_UNSUPPORTED, 0, 1, "a TNDS "
		                  "document, not a DM message (to store an MO "
		                  "as it is: dmsc mo put)");
	}
	if (rc != DMSC_DM_OK) {
		dmsc_error("%s: %s; nothing was changed", name, err.message);
		rc = rc == DMSC_DM_NOMEM ? DMSC_EXIT_USAGE : DMSC_EXIT_REFUSED;
		goto done;
	}
	rc = dmsc_p11_open(common, &p);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_start(p, DMSC_P11_RW);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_login(p, CKU_USER);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_card_mos_read(p, &mos);
	if (rc != DMSC_EXIT_OK)
		goto done;
	after = dmsc_tnds_clone(mos.tree);
	if (after == NULL) {
		dmsc_error("out of memory; nothing was changed");
		rc = DMSC_EXIT_USAGE;
		goto done;
	}
	opts = (dmsc_dmcmd_opts){ .roots = roots, .n_roots = n_roots };
	rc = dmsc_dmcmd_apply_doc(after, doc, &opts, &reply, &reply_len, &rep,
	                          &err);
	if (rc != DMSC_DMCMD_OK) {
		dmsc_error("%s: %s; nothing was changed", name, err.message);
		rc = rc == DMSC_DMCMD_NOMEM ? DMSC_EXIT_USAGE
		                            : DMSC_EXIT_REFUSED;
		goto done;
	}
	rc = dmsc_card_mos_write(p, &mos, after, common->quiet, &written);
	if (rc != DMSC_EXIT_OK) {
		dmsc_error("the reply is not printed: the card does not hold "
		           "all it would report");
		goto done;
	}
	rc = write_reply(output, reply, reply_len);
	if (!common->quiet)
		fprintf(stderr, "dmsc: %s: %zu command item%s, %zu failed%s; "
		        "%zu MO object%s written\n", name, rep.commands,
		        rep.commands == 1 ? "" : "s", rep.failed,
		        rep.atomic_failed ? " (an Atomic was rolled back)" : "",
		        written, written == 1 ? "" : "s");
done:
	if (reply != NULL)
		OPENSSL_cleanse(reply, reply_len); /* Results may hold secrets */
	free(reply);
	dmsc_tnds_free(after);
	dmsc_card_mos_free(&mos);
	dmsc_p11_close(p);
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

const struct dmsc_command dmsc_cmd_apply = {
	.name = "apply",
	.summary = "store a DM server's commands on the card, print the reply",
	.synopsis = "[--root PATH]... [--output FILE] [CARD OPTIONS] MESSAGE",
	.help =
	"Applies the commands of a SyncML DM message (XML or WBXML; '-':\n"
	"standard input) to the Management Objects on the card, as a DM\n"
	"client hands over what belongs on the card, and prints the reply a\n"
	"DM client sends back: a SyncML message with a Status for the\n"
	"SyncHdr and for each command item, and the Results of Get.\n"
	"\n"
	"Add, Replace, Delete and Get work on the tree of all MOs on the card;\n"
	"Atomic is all-or-nothing (nothing of a failed Atomic is written);\n"
	"Sequence runs its commands in order. Other commands (Exec, Copy,\n"
	"Alert...) are answered 406. The status codes are OMA DM 1.2's: 200,\n"
	"215, 216, 400, 404, 405, 406, 413, 414, 415, 418, 420, 500, 507\n"
	"(README, \"dmsc apply\"). The objects whose subtree changed are then\n"
	"written, each in one PKCS#11 call; new nodes outside every MO get\n"
	"a new private MO rooted two levels down (./DMAcc/NAME). A message\n"
	"that is not valid is refused with its line and changes nothing.\n"
	"Needs the user PIN.\n"
	"\n"
	"Options:\n"
	"      --root PATH    the card holds only the subtree at PATH\n"
	"                     (repeatable); commands on other nodes get 404,\n"
	"                     as a node the device does not hold; default:\n"
	"                     every node\n"
	"      --output FILE  write the reply to FILE (default: standard\n"
	"                     output)\n",
	.examples =
	"  dmsc apply --pin 1234 server-msg.wbxml > reply.xml\n"
	"      store the server's commands, keep the reply for the DM client\n"
	"  dmsc apply --root ./DMAcc --root ./FUMO server-msg.xml\n"
	"      only the DM accounts and FUMO nodes are on the card\n",
	.run = run_apply,
};
