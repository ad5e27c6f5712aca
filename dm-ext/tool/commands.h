/*
 * dm-ext/tool/commands.h - what a `dmsc` command is, and the little the
 * commands share with the frame in dmsc.c.
 *
 * The tool is git-style: `dmsc [COMMON OPTIONS] COMMAND [OPTIONS] ARGS`.
 * dmsc.c owns main(), the command table, the options every command takes
 * and the help layout; each command lives in its own cmd-NAME.c and is
 * one struct dmsc_command.  Adding a command = a new cmd-NAME.c, its
 * extern line below, its row in the table in dmsc.c, and its file in
 * dm-ext/tool/tool.mk.
 */
#ifndef DMSC_TOOL_COMMANDS_H
#define DMSC_TOOL_COMMANDS_H

#include <getopt.h>
#include <stdbool.h>

/* Exit statuses, the same for every command (README, "dmsc canon"). */
enum {
	DMSC_EXIT_OK = 0,
	DMSC_EXIT_REFUSED = 1,   /* the input was read and refused: not a DM
	                            message, malformed, over a limit, the
	                            selected unit is not there */
	DMSC_EXIT_USAGE = 2,     /* the command line is wrong, or the tool could
	                            not do its job (a file that cannot be read,
	                            output that cannot be written, no memory) */
	/* The card commands (p11-client.h): */
	DMSC_EXIT_NO_CARD = 3,   /* no card: the module cannot be loaded, no
	                            token is present, none matches --token, or
	                            several do */
	DMSC_EXIT_NOT_ACTIVATED = 4, /* the token is not initialised, or its
	                            user PIN is not set */
	DMSC_EXIT_NO_DATA = 5,   /* the data asked for is not on the card (no
	                            MO at that path; `status`: no provisioning
	                            data at all) */
	DMSC_EXIT_PIN = 6,       /* login failed: wrong PIN, PIN locked, or no
	                            PIN to be had */
	DMSC_EXIT_CARD = 7,      /* the card refused or failed an operation
	                            (full, write-protected, removed, device
	                            error) */
};

/* The options every command takes, before or after the command name.
 * The card commands hand the struct to dmsc_p11_open() (p11-client.h). */
struct dmsc_common {
	bool quiet;              /* -q: nothing on stderr but errors */
	const char *module;      /* --module PATH: the PKCS#11 module */
	const char *token;       /* --token URI: RFC 7512 token URI */
	char *pin;               /* --pin PIN: points into argv, which
	                            dmsc_p11_login() wipes after use */
};

struct dmsc_command {
	const char *name;
	const char *summary;     /* one line, for the list in `dmsc --help` */
	const char *synopsis;    /* after "Usage: dmsc NAME " */
	/* `dmsc NAME --help` is the synopsis, help (description and the
	 * command's own options), then the common options and the exit
	 * statuses, which dmsc.c adds so every command shows them the same
	 * way, then EXAMPLES. */
	const char *help;
	const char *examples;
	/* argv[0] is "dmsc NAME" (getopt's messages start with it); the
	 * common options seen before the name are already in *common.
	 * Returns a DMSC_EXIT_* status. */
	int (*run)(const struct dmsc_command *cmd, int argc, char **argv,
	           struct dmsc_common *common);
};

extern const struct dmsc_command dmsc_cmd_canon;
extern const struct dmsc_command dmsc_cmd_status;
extern const struct dmsc_command dmsc_cmd_mo;
extern const struct dmsc_command dmsc_cmd_sign;
extern const struct dmsc_command dmsc_cmd_verify;
extern const struct dmsc_command dmsc_cmd_approve;
extern const struct dmsc_command dmsc_cmd_personalise;
extern const struct dmsc_command dmsc_cmd_bootstrap;
extern const struct dmsc_command dmsc_cmd_diff;
extern const struct dmsc_command dmsc_cmd_apply;

/* getopt_long entries for the common options; a command puts these in its
 * own option strings and tables and passes what getopt returns that is not
 * its own to dmsc_common_option(). */
#define DMSC_COMMON_SHORTOPTS "hq"
#define DMSC_OPT_MODULE 0x4d0001   /* getopt values of the long-only ones */
#define DMSC_OPT_TOKEN 0x4d0002
#define DMSC_OPT_PIN 0x4d0003
#define DMSC_COMMON_LONGOPTS                                                \
	{ "help", no_argument, NULL, 'h' },                                 \
	{ "quiet", no_argument, NULL, 'q' },                                \
	{ "module", required_argument, NULL, DMSC_OPT_MODULE },             \
	{ "token", required_argument, NULL, DMSC_OPT_TOKEN },               \
	{ "pin", required_argument, NULL, DMSC_OPT_PIN }

/* dmsc_common_option() returns this to say "handled, go on parsing";
 * anything else is the exit status the command returns at once (0 after
 * --help, DMSC_EXIT_USAGE after an unknown option, whose message getopt
 * has printed). */
#define DMSC_OPTION_HANDLED (-1)

int dmsc_common_option(const struct dmsc_command *cmd, int opt,
                       struct dmsc_common *common);

/* "dmsc: " + the message + newline on stderr. */
void dmsc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "dmsc NAME: " + the message, then how to get help, on stderr; returns
 * DMSC_EXIT_USAGE. */
int dmsc_usage_error(const struct dmsc_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* DMSC_TOOL_COMMANDS_H */
