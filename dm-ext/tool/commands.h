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
};

/* The options every command takes, before or after the command name. */
struct dmsc_common {
	bool quiet;              /* -q: nothing on stderr but errors */
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

/* getopt_long entries for the common options; a command puts these in its
 * own option strings and tables and passes what getopt returns that is not
 * its own to dmsc_common_option(). */
#define DMSC_COMMON_SHORTOPTS "hq"
#define DMSC_COMMON_LONGOPTS                                                \
	{ "help", no_argument, NULL, 'h' },                                 \
	{ "quiet", no_argument, NULL, 'q' }

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
