/*
 * dm-ext/tool/dmsc.c - the `dmsc` command-line tool: main(), the command
 * table, the options every command shares, and the help layout.
 *
 * Git-style: `dmsc [-q] COMMAND [OPTIONS] ARGS`.  The commands themselves
 * are in cmd-*.c (see commands.h); this file only finds the command and
 * hands it the rest of the command line, so a command can be read (and
 * tested) without reading the others.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "commands.h"
#include "p11-client.h"

/* In the order `dmsc --help` lists them. */
static const struct dmsc_command *const commands[] = {
	&dmsc_cmd_personalise,
	&dmsc_cmd_status,
	&dmsc_cmd_mo,
	&dmsc_cmd_canon,
	&dmsc_cmd_sign,
	&dmsc_cmd_verify,
	&dmsc_cmd_approve,
	&dmsc_cmd_bootstrap,
	&dmsc_cmd_diff,
	&dmsc_cmd_apply,
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char common_options_help[] =
	"Common options (before or after the command name):\n"
	"  -q, --quiet       print nothing on stderr but errors\n"
	"  -h, --help        print the help and exit\n"
	"Card commands also use (the others accept and ignore them):\n"
	"      --module PATH the PKCS#11 module (default: $DMSC_MODULE, else "
	"the\n"
	"                    module built beside dmsc, else\n"
	"                    " DMSC_P11_DEFAULT_MODULE ")\n"
	"      --token URI   the token, as an RFC 7512 URI, e.g.\n"
	"                    'pkcs11:token=DM' (default: the only initialised "
	"token,\n"
	"                    else the one labelled " DMSC_P11_DM_LABEL ")\n"
	"      --pin PIN     the user PIN (visible to ps until used: prefer "
	"the\n"
	"                    URI's pin-source=FILE, $DMSC_PIN or the prompt)\n";

static const char exit_status_help[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  the input was read and refused (the message says where and why)\n"
	"  2  a usage error, or a file that cannot be read or written\n"
	"  3  no card: the module cannot be loaded, or no token (or several)\n"
	"     present and matching --token\n"
	"  4  the card is not activated: token not initialised or user PIN "
	"not set\n"
	"  5  the data asked for is not on the card (status: no provisioning "
	"data)\n"
	"  6  login failed: wrong PIN, PIN locked, or no PIN given\n"
	"  7  the card refused or failed the operation (full, write-protected,\n"
	"     removed, device error)\n"
	"  8, 9  dmsc approve only: the user declined / approved (see "
	"'dmsc help approve')\n";

void dmsc_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dmsc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int dmsc_usage_error(const struct dmsc_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dmsc %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'dmsc %s --help' for more information.\n",
	        cmd->name);
	return DMSC_EXIT_USAGE;
}

static void command_help(const struct dmsc_command *cmd, FILE *out)
{
	fprintf(out, "Usage: dmsc %s %s\n\n%s\n%s\n%s\nEXAMPLES\n%s",
	        cmd->name, cmd->synopsis, cmd->help, common_options_help,
	        exit_status_help, cmd->examples);
}

/* --module, --token, --pin: the last one given counts. */
static void card_option(int opt, struct dmsc_common *common)
{
	switch (opt) {
	case DMSC_OPT_MODULE:
		common->module = optarg;
		break;
	case DMSC_OPT_TOKEN:
		common->token = optarg;
		break;
	default:
		common->pin = optarg;
		break;
	}
}

int dmsc_common_option(const struct dmsc_command *cmd, int opt,
                       struct dmsc_common *common)
{
	switch (opt) {
	case 'h':
		command_help(cmd, stdout);
		return DMSC_EXIT_OK;
	case 'q':
		common->quiet = true;
		return DMSC_OPTION_HANDLED;
	case DMSC_OPT_MODULE:
	case DMSC_OPT_TOKEN:
	case DMSC_OPT_PIN:
		card_option(opt, common);
		return DMSC_OPTION_HANDLED;
	default:
		/* '?': getopt has said what was wrong, prefixed "dmsc NAME". */
		fprintf(stderr, "Try 'dmsc %s --help' for more information.\n",
		        cmd->name);
		return DMSC_EXIT_USAGE;
	}
}

static void tool_help(FILE *out)
{
	size_t i;

	fputs("Usage: dmsc [COMMON OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
	      "       dmsc help [COMMAND]\n"
	      "       dmsc --version\n"
	      "\n"
	      "dmsc works with OMA Device Management messages and the smart "
	      "card (UICC)\nthat keeps a device's DM data, presented as "
	      "PKCS#11 tokens by dmsc-pkcs11.so.\n"
	      "\n"
	      "Commands:\n", out);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-11s %s\n", commands[i]->name,
		        commands[i]->summary);
	fprintf(out, "\n%s"
	        "\n"
	        "Other options (before the command name):\n"
	        "      --version print the version and exit\n"
	        "\n%s\n"
	        "'dmsc help COMMAND' or 'dmsc COMMAND --help' gives a "
	        "command's options and\nexamples.\n"
	        "\n"
	        "EXAMPLES\n"
	        "  dmsc status\n"
	        "      is the card there, activated, with provisioning data?\n"
	        "  DMSC_PIN=1234 dmsc mo ls\n"
	        "      the MOs on the DM application's token\n"
	        "  dmsc canon message.wbxml > message.c14n\n"
	        "      the canonical form of a WBXML DM message\n"
	        "  dmsc canon --digest message.xml\n"
	        "      its SHA-256, the digest a DM signature covers\n"
	        "  dmsc help canon\n"
	        "      everything about one command\n",
	        common_options_help, exit_status_help);
}

static const struct dmsc_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	dmsc_error("'%s' is not a dmsc command; 'dmsc --help' lists them",
	           name);
	return DMSC_EXIT_USAGE;
}

/* `dmsc help [COMMAND]`, and `dmsc --help [COMMAND]` as git takes it. */
static int help(int argc, char **argv)
{
	const struct dmsc_command *cmd;

	if (argc == 0) {
		tool_help(stdout);
		return DMSC_EXIT_OK;
	}
	if (argc > 1) {
		dmsc_error("help: expected at most one COMMAND");
		return DMSC_EXIT_USAGE;
	}
	cmd = find_command(argv[0]);
	if (cmd == NULL)
		return unknown_command(argv[0]);
	command_help(cmd, stdout);
	return DMSC_EXIT_OK;
}

/* A write error that no command noticed (the last buffer is written at
 * exit) must still fail the run: `dmsc canon f > /dev/full` is not a
 * success. */
static int close_stdout(int rc)
{
	int bad = ferror(stdout);

	if (fclose(stdout) != 0)
		bad = 1;
	if (bad && rc == DMSC_EXIT_OK) {
		dmsc_error("cannot write the output: %s", strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	return rc;
}

static int run(int argc, char **argv)
{
	enum { OPT_VERSION = 256 };
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, OPT_VERSION },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	/* getopt prefixes its messages with argv[0]: name the tool and the
	 * command, whatever path the binary was started by. */
	static char tool_name[] = "dmsc";
	static char command_name[64];
	struct dmsc_common common = { .quiet = false };
	const struct dmsc_command *cmd;
	bool want_help = false;
	int opt, first;

	argv[0] = tool_name;
	/* "+": stop at the command name; what follows is the command's. */
	while ((opt = getopt_long(argc, argv, "+" DMSC_COMMON_SHORTOPTS,
	                          longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_VERSION:
			printf("dmsc (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return DMSC_EXIT_OK;
		case 'h':
			want_help = true;
			break;
		case 'q':
			common.quiet = true;
			break;
		case DMSC_OPT_MODULE:
		case DMSC_OPT_TOKEN:
		case DMSC_OPT_PIN:
			card_option(opt, &common);
			break;
		default:
			fputs("Try 'dmsc --help' for more information.\n",
			      stderr);
			return DMSC_EXIT_USAGE;
		}
	}
	first = optind;
	if (want_help)
		return help(argc - first, argv + first);
	if (first == argc) {
		fputs("Usage: dmsc [COMMON OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
		      "Try 'dmsc --help' for the commands.\n", stderr);
		return DMSC_EXIT_USAGE;
	}
	if (strcmp(argv[first], "help") == 0)
		return help(argc - first - 1, argv + first + 1);
	cmd = find_command(argv[first]);
	if (cmd == NULL)
		return unknown_command(argv[first]);
	snprintf(command_name, sizeof command_name, "dmsc %s", cmd->name);
	argv[first] = command_name;
	/* 0, not 1: GNU getopt then starts afresh (new option string, no
	 * state left from the scan above). */
	optind = 0;
	return cmd->run(cmd, argc - first, argv + first, &common);
}

int main(int argc, char **argv)
{
	/* Once, before anything reads XML (dm-ext/dmmsg.h asks for it). */
	xmlInitParser();
	return close_stdout(run(argc, argv));
}
