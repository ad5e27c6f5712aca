/*
 * dm-ext/tool/cmd-diff.c - `dmsc diff DEVICE.tnds`: the MOs on the card
 * against a device's management tree, node by node (DM-SC-GEN-5).
 *
 * Both sides become a dm-ext/mgmt-tree.h tree (the card's through
 * card-mos.c) and dm-ext/tnds-diff.c compares them.  As diff(1) does,
 * the exit status is 0 (same), 1 (different) or 2 and above (trouble):
 * a device tree that is not valid TNDS is trouble here (2), not 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "card-mos.h"
#include "commands.h"
#include "slurp.h"
#include "tnds-diff.h"

#define DIFF_INPUT_MAX (16u * 1024u * 1024u)
#define MAX_ROOTS DMSC_CARD_MOS_MAX_ROOTS

static const char *input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

struct out {
	bool values;
};

static void print_text(const char *s)
{
	const char *p;

	putchar('"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if ((unsigned char)*p < 0x20)
			printf("\\x%02x", (unsigned char)*p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void print_change(void *ctx, const dmsc_tnds_change *c)
{
	const struct out *o = ctx;

	switch (c->kind) {
	case DMSC_TNDS_ONLY_A:
	case DMSC_TNDS_ONLY_B:
		printf("%c %s: only %s", c->kind == DMSC_TNDS_ONLY_A ? '-'
		                                                     : '+',
		       c->uri, c->kind == DMSC_TNDS_ONLY_A
		       ? "on the card" : "on the device");
		if (c->below > 0)
			printf(" (with %zu node%s under it)", c->below,
			       c->below == 1 ? "" : "s");
		putchar('\n');
		return;
	case DMSC_TNDS_CHANGED:
		break;
	}
	printf("~ %s: %s", c->uri, c->what);
	if (strcmp(c->what, "value") == 0 && !o->values) {
		printf(" differs (card: ");
		if (c->a_text != NULL)
			printf("%zu bytes", c->a->value_len);
		else
			printf("none");
		printf(", device: ");
		if (c->b_text != NULL)
			printf("%zu bytes", c->b->value_len);
		else
			printf("none");
		puts("; --values shows them)");
		return;
	}
	printf(": card ");
	if (c->a_text != NULL)
		print_text(c->a_text);
	else
		fputs("(none)", stdout);
	printf(", device ");
	if (c->b_text != NULL)
		print_text(c->b_text);
	else
		fputs("(none)", stdout);
	putchar('\n');
}

static int run_diff(const struct dmsc_command *cmd, int argc, char **argv,
                    struct dmsc_common *common)
{
	enum { OPT_ROOT = 256, OPT_VALUES };
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "values", no_argument, NULL, OPT_VALUES },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *roots[MAX_ROOTS];
	size_t n_roots = 0, changes = 0, i;
	struct out o = { .values = false };
	unsigned char *buf = NULL;
	size_t len = 0;
	dmsc_tnds *device = NULL;
	struct dmsc_card_mos mos = { 0 };
	dmsc_p11 *p = NULL;
	dmsc_dm_error err;
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
		case OPT_VALUES:
			o.values = true;
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (argc - optind != 1)
		return dmsc_usage_error(cmd, "expected one DEVICE.tnds file "
		                        "('-' for standard input)");
	/* The device's tree first: a bad file needs no card. */
	if (slurp(argv[optind], DIFF_INPUT_MAX, &buf, &len) != 0) {
		dmsc_error("%s: cannot read: %s", input_name(argv[optind]),
		           errno == EFBIG ? "larger than 16 MiB"
		                          : strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	device = dmsc_tnds_new(NULL);
	if (device == NULL) {
		rc = DMSC_EXIT_USAGE;
		dmsc_error("out of memory");
		goto done;
	}
	if (dmsc_tnds_load(device, buf, len, &err) != DMSC_TNDS_OK) {
		dmsc_error("%s: %s", input_name(argv[optind]),
		           err.message);
		rc = DMSC_EXIT_USAGE;
		goto done;
	}
	rc = dmsc_p11_open(common, &p);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_start(p, DMSC_P11_RO);
	/* Private MOs are seen after a login, done when a PIN is given. */
	if (rc == DMSC_EXIT_OK && dmsc_p11_pin_given(p))
		rc = dmsc_p11_login(p, CKU_USER);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_card_mos_read(p, &mos);
	if (rc != DMSC_EXIT_OK)
		goto done;
	if (n_roots == 0)
		changes = dmsc_tnds_diff(mos.tree, device, ".", print_change,
		                         &o);
	for (i = 0; i < n_roots; i++)
		changes += dmsc_tnds_diff(mos.tree, device, roots[i],
		                          print_change, &o);
	if (!common->quiet) {
		if (changes == 0)
			fprintf(stderr, "dmsc: the card's MOs and %s are the "
			        "same\n", input_name(argv[optind]));
		else
			fprintf(stderr, "dmsc: %zu difference%s between the "
			        "card's MOs (-) and %s (+)\n", changes,
			        changes == 1 ? "" : "s",
			        input_name(argv[optind]));
	}
	rc = changes == 0 ? DMSC_EXIT_OK : DMSC_EXIT_REFUSED;
done:
	dmsc_card_mos_free(&mos);
	dmsc_p11_close(p);
	dmsc_tnds_free(device);
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

const struct dmsc_command dmsc_cmd_diff = {
	.name = "diff",
	.summary = "compare the MOs on the card with a device's tree (TNDS)",
	.synopsis = "[--root PATH]... [--values] [CARD OPTIONS] DEVICE.tnds",
	.help =
	"Compares the Management Objects on the card (the token's CKO_DATA\n"
	"objects of application OMA-DM:MO, read as one tree) with the\n"
	"device's management tree in DEVICE.tnds (TNDS, XML or WBXML; '-':\n"
	"standard input), node by node, and prints one line per difference:\n"
	"  - URI: only on the card (with N nodes under it)\n"
	"  + URI: only on the device (with N nodes under it)\n"
	"  ~ URI: value differs (card: N bytes, device: M bytes)\n"
	"  ~ URI: PROPERTY: card \"...\", device \"...\"\n"
	"PROPERTY is a run-time property (ACL, Format, Name, Size, Title,\n"
	"TStamp, Type, VerNo); a leaf without Format is Format chr.\n"
	"Values are not printed unless asked: they may be secrets.\n"
	"Private MOs are compared only when a PIN is given (they are read\n"
	"after a login).\n"
	"\n"
	"Options:\n"
	"      --root PATH  compare only the subtree at PATH (repeatable);\n"
	"                   default: the whole trees\n"
	"      --values     print the two values of a node whose value\n"
	"                   differs\n"
	"\n"
	"Exit status of diff (as diff(1)): 0 the same, 1 different, 2 a\n"
	"usage error or a DEVICE.tnds that cannot be read or is not valid\n"
	"TNDS, 3-7 as below.\n",
	.examples =
	"  dmsc diff device.tnds\n"
	"      every difference between the card's MOs and the device\n"
	"  dmsc diff --root ./DMAcc --values --pin 1234 device.tnds\n"
	"      the DM accounts only, private MOs included, with values\n",
	.run = run_diff,
};
