/*
 * dm-ext/tool/cmd-approve.c - `dmsc approve`: the device's decision to
 * install a firmware or software package (dm-ext/APPROVAL.md; the
 * requirements' use case "Firmware / Software approval", steps 3 and 4).
 *
 * Step 3, on the card: the DM message(s) describing the operation verify
 * against the MA trust anchor, and each package's SHA-256 (computed by the
 * card, streamed with C_DigestUpdate) is one a verified message names.
 * Or, with no message (a package from a memory card or a PC), each
 * package's detached signature verifies, streamed with C_VerifyUpdate.
 * Step 4, the device policy, for what is not approved: reject, or ask the
 * user on the terminal (no terminal: reject).  Every decision is one
 * line in the audit log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "approval.h"
#include "audit.h"
#include "commands.h"
#include "p11-client.h"
#include "settings.h"
#include "trust.h"

/* Exit statuses of `dmsc approve` (README, "dmsc approve"): the common
 * ones (commands.h) where they fit, two of its own for the user's answer.
 * Only 0 and APPROVE_USER_APPROVED mean "install". */
enum {
	APPROVE_APPROVED = DMSC_EXIT_OK,      /* every package approved by
	                                         the MA */
	APPROVE_REJECTED = DMSC_EXIT_REFUSED, /* not approved; policy reject
	                                         (or ask without a terminal) */
	APPROVE_ERROR = DMSC_EXIT_USAGE,      /* usage, or the check could
	                                         not be made (3-7: the card's
	                                         statuses); nothing approved */
	APPROVE_DECLINED = 8,                 /* not approved; the user said
	                                         no */
	APPROVE_USER_APPROVED = 9,            /* not approved by the MA; the
	                                         user said yes */
};

#define MAX_FILES 16

struct approve_opts {
	const char *policy, *audit_log;
	const char *messages[MAX_FILES], *signatures[MAX_FILES];
	size_t n_messages, n_signatures;
	bool allow_sha1, quiet;
};

/* One package and what was found out about it. */
struct package {
	const char *path;
	unsigned long long size;
	bool have_digest, have_size;
	char digest[65];
	const char *operation;        /* from the message, or a default */
	const char *name;             /* PkgName, or NULL */
	const trust_anchor *signer;   /* who signed what names it, or NULL */
	int state;                    /* TRUST_OK / _REFUSED / _ERROR */
	char why[512];
};

/* ---- what is shown ---- */

/* s fit for a terminal, in buf: a message's text (&#xA;, &#xD;, WBXML
 * strings) and a file name can carry line breaks and escape sequences
 * that would redraw the question (a forged "signed by:" line, the
 * warning erased), so C0 controls, DEL and C1 controls (U+0080..U+009F
 * in UTF-8) are shown as '?'.  Cut to fit buf.  The audit log keeps the
 * text as it came (JSON-escaped). */
static const char *shown(const char *s, char *buf, size_t size)
{
	const unsigned char *c = (const unsigned char *)s;
	size_t i = 0;

	for (; *c != '\0' && i + 1 < size; c++)
		if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
			buf[i++] = '?';
			c++;
		} else
			buf[i++] = *c < 0x20 || *c == 0x7f ? '?' : (char)*c;
	buf[i] = '\0';
	return buf;
}

#define SHOWN_MAX 4096

/* ---- progress on a terminal ---- */

struct progress {
	const char *name;
	unsigned long long total;
	int last;                     /* the last percentage drawn */
};

static void draw(void *ctx, unsigned long long done)
{
	struct progress *p = ctx;
	int pct = p->total == 0 ? 100 : (int)(done * 100 / p->total), i;
	char bar[41], name[31];

	if (pct == p->last)
		return;
	p->last = pct;
	for (i = 0; i < 40; i++)
		bar[i] = i < pct * 40 / 100 ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %llu MiB",
	        shown(p->name, name, sizeof name), bar, pct, done >> 20);
	if (done >= p->total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- the user's answer ---- */

static void hex(const unsigned char *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Show what is about to be installed and read an explicit "yes".  -1: no
 * terminal; 0: no; 1: yes. */
static int ask(const struct package *pk)
{
	FILE *tty = fopen("/dev/tty", "r+e");
	char line[64], op[SHOWN_MAX], path[SHOWN_MAX], name[SHOWN_MAX];
	char why[SHOWN_MAX], signer[SHOWN_MAX];
	size_t n;
	int yes;

	if (tty == NULL)
		return -1;
	fprintf(tty,
	        "\nThe Management Authority did NOT approve this "
	        "installation.\n"
	        "  operation: %s\n"
	        "  package:   %s%s%s%s\n"
	        "  size:      %llu bytes\n"
	        "  SHA-256:   %s\n"
	        "  signed by: %s\n"
	        "  why:       %s\n"
	        "Install it anyway? Type 'yes' to install, anything else "
	        "refuses: ",
	        shown(pk->operation, op, sizeof op),
	        shown(pk->path, path, sizeof path), pk->name ? " (" : "",
	        pk->name ? shown(pk->name, name, sizeof name) : "",
	        pk->name ? ")" : "", pk->size, pk->digest,
	        shown(pk->signer ? pk->signer->subject
	                         : "not approved (no valid signature)",
	              signer, sizeof signer),
	        shown(pk->why, why, sizeof why));
	fflush(tty);
	if (fgets(line, sizeof line, tty) == NULL) {
		fclose(tty);
		return 0;
	}
	fclose(tty);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	/* Exactly "yes", as the question says: not "y", not "YES". */
	yes = strcmp(line, "yes") == 0;
	return yes;
}

/* ---- the checks ---- */

static void check_package_digest(trust_anchors *t, const pkgrefs *refs,
                                 bool messages_ok,
                                 const trust_anchor *signer,
                                 const trust_anchor *const *signers,
                                 const char *message_why, struct package *pk,
                                 bool show_progress)
{
	struct progress prog = { .name = pk->path, .last = -1 };
	unsigned char digest[32];
	struct stat st;
	const pkgref *r;
	int fd = open(pk->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(pk->why, sizeof pk->why, "%s: cannot open the "
		         "package: %s", pk->path, strerror(errno));
		pk->state = TRUST_ERROR;
		if (fd >= 0)
			close(fd);
		return;
	}
	prog.total = (unsigned long long)st.st_size;
	pk->state = trust_digest_file(t->f, t->session, fd, digest, &pk->size,
	                              show_progress ? draw : NULL, &prog,
	                              pk->why, sizeof pk->why);
	close(fd);
	if (pk->state != TRUST_OK)
		return;
	pk->have_size = pk->have_digest = true;
	hex(digest, 32, pk->digest);
	if (!messages_ok) {
		snprintf(pk->why, sizeof pk->why, "%s", message_why);
		pk->state = TRUST_REFUSED;
		return;
	}
	/* Until a message names it, the signer shown is the first one. */
	pk->signer = signer;
	r = pkgref_find(refs, digest);
	if (r == NULL) {
		if (refs->n == 0)
			snprintf(pk->why, sizeof pk->why, "the signed "
			         "message names no package digest (NODE/Ext/"
			         "PkgDigest)");
		else
			snprintf(pk->why, sizeof pk->why, "%s: its SHA-256 "
			         "is not the one the signed message names "
			         "(%s/Ext/PkgDigest): another or a changed "
			         "package", pk->path, refs->ref[0].node);
		pk->state = TRUST_REFUSED;
		return;
	}
	/* The anchor that signed the message naming it, not the first. */
	pk->signer = signers[r - refs->ref];
	pk->operation = r->operation[0] != '\0' ? r->operation : r->node;
	pk->name = r->name[0] != '\0' ? r->name : NULL;
	pk->state = TRUST_OK;
}

static void check_package_signature(trust_anchors *t, const char *sig_path,
                                    struct package *pk, bool show_progress)
{
	struct progress prog = { .name = pk->path, .last = -1 };
	unsigned char *sig = NULL, digest[32];
	size_t sig_len = 0;
	struct stat st;
	int fd = open(pk->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(pk->why, sizeof pk->why, "%s: cannot open the "
		         "package: %s", pk->path, strerror(errno));
		pk->state = TRUST_ERROR;
		if (fd >= 0)
			close(fd);
		return;
	}
	prog.total = (unsigned long long)st.st_size;
	pk->size = prog.total;
	pk->have_size = true;
	pk->state = approval_read_signature(sig_path, &sig, &sig_len, pk->why,
	                                    sizeof pk->why);
	if (pk->state == TRUST_OK) {
		pk->state = trust_verify_file(t, fd, sig, sig_len, &pk->signer,
		                              digest, &pk->have_digest,
		                              &pk->size,
		                              show_progress ? draw : NULL,
		                              &prog, pk->why, sizeof pk->why);
		if (pk->have_digest)
			hex(digest, 32, pk->digest);
	}
	if (pk->state == TRUST_REFUSED && strncmp(pk->why, pk->path,
	                                          strlen(pk->path)) != 0) {
		char why[sizeof pk->why];

		snprintf(why, sizeof why, "%s: %s", pk->path, pk->why);
		memcpy(pk->why, why, sizeof why);
	}
	free(sig);
	close(fd);
}

/* ---- the decision ---- */

static int record(const struct approve_opts *o, const struct package *pk,
                  const char *result)
{
	audit_record r = {
		.operation = pk->operation,
		.package = pk->path,
		.size = pk->have_size ? (long long)pk->size : -1,
		.digest = pk->have_digest ? pk->digest : NULL,
		.signer = pk->signer ? pk->signer->subject : NULL,
		.certificate = pk->signer ? pk->signer->fingerprint : NULL,
		.key = pk->signer ? pk->signer->label : NULL,
		.result = result,
		.policy = o->policy,
		.reason = strcmp(result, "approved") == 0 ? NULL : pk->why,
	};
	char why[256];

	if (audit_append(o->audit_log, &r, why, sizeof why) != 0) {
		dmsc_error("cannot append to the audit log %s: %s (nothing "
		           "is approved without a record)", o->audit_log, why);
		return -1;
	}
	return 0;
}

static int decide(const struct approve_opts *o, struct package *pks,
                  size_t n)
{
	size_t i;
	int rc = APPROVE_APPROVED, answer;
	bool audit_failed = false;

	for (i = 0; i < n; i++) {
		struct package *pk = &pks[i];
		char path[SHOWN_MAX], op[SHOWN_MAX], text[SHOWN_MAX];
		const char *result;

		if (pk->state == TRUST_OK) {
			result = "approved";
			if (!o->quiet)
				printf("approved: %s (%s), SHA-256 %s, signed "
				       "by %s\n",
				       shown(pk->path, path, sizeof path),
				       shown(pk->operation, op, sizeof op),
				       pk->digest, pk->signer->subject);
		} else if (pk->state == TRUST_ERROR) {
			result = "error";
			dmsc_error("error: %s (nothing approved)",
			           shown(pk->why, text, sizeof text));
			rc = APPROVE_ERROR;
		} else if (strcmp(o->policy, "ask") == 0 &&
		           (answer = ask(pk)) >= 0) {
			result = answer ? "approved-by-user"
			                : "declined-by-user";
			if (!o->quiet)
				printf("%s: %s (%s)\n", answer ?
				       "approved by the user" :
				       "declined by the user",
				       shown(pk->path, path, sizeof path),
				       shown(pk->why, text, sizeof text));
			if (!answer && (rc == APPROVE_APPROVED ||
			                rc == APPROVE_USER_APPROVED))
				rc = APPROVE_DECLINED;
			else if (answer && rc == APPROVE_APPROVED)
				rc = APPROVE_USER_APPROVED;
		} else {
			if (strcmp(o->policy, "ask") == 0) {
				char why[sizeof pk->why];

				snprintf(why, sizeof why, "%s; policy ask, "
				         "but no terminal to ask on", pk->why);
				memcpy(pk->why, why, sizeof why);
			}
			result = "rejected";
			dmsc_error("rejected: %s",
			           shown(pk->why, text, sizeof text));
			if (rc == APPROVE_APPROVED ||
			    rc == APPROVE_USER_APPROVED)
				rc = APPROVE_REJECTED;
		}
		if (record(o, pk, result) != 0)
			audit_failed = true;
	}
	return audit_failed ? APPROVE_ERROR : rc;
}

static int approve(const struct approve_opts *o,
                   const struct dmsc_common *common, char **paths, size_t n)
{
	struct package pks[MAX_FILES];
	/* signers[i]: the anchor whose message named refs->ref[i]. */
	const trust_anchor *signers[PKGREF_MAX] = { NULL }, *signer = NULL;
	const trust_anchor *who;
	size_t named = 0;
	trust_anchors t = { .n = 0 };
	pkgrefs *refs = calloc(1, sizeof *refs);
	char why[512] = "", msg_why[512] = "";
	char claimed[PKGREF_PATH_MAX + 16];
	bool show = !o->quiet && isatty(STDERR_FILENO);
	bool messages_ok = true;
	int st = TRUST_ERROR, rc, open_rc = DMSC_EXIT_OK;
	dmsc_p11 *p11 = NULL;
	size_t i;

	memset(pks, 0, sizeof pks);
	for (i = 0; i < n; i++) {
		pks[i].path = paths[i];
		pks[i].operation = o->n_messages > 0 ? "(unnamed operation)"
		                                     : "install-from-file";
	}
	if (refs == NULL) {
		snprintf(why, sizeof why, "out of memory");
	} else {
		open_rc = dmsc_p11_open(common, &p11);
		if (open_rc == DMSC_EXIT_OK)
			open_rc = dmsc_p11_start(p11, DMSC_P11_RO);
		if (open_rc == DMSC_EXIT_OK)
			st = trust_load(dmsc_p11_fn(p11),
			                dmsc_p11_session(p11), &t, why,
			                sizeof why);
		else
			snprintf(why, sizeof why, "the card cannot be used "
			         "(said above)");
	}
	if (st != TRUST_OK) {
		/* No anchor (or no card): nothing can be approved. */
		for (i = 0; i < n; i++) {
			pks[i].state = st == TRUST_REFUSED ? TRUST_REFUSED
			                                   : TRUST_ERROR;
			snprintf(pks[i].why, sizeof pks[i].why, "%s", why);
		}
		rc = decide(o, pks, n);
		goto done;
	}
	for (i = 0; i < o->n_messages && messages_ok; i++) {
		st = approval_check_message(&t, o->messages[i],
		                            i < o->n_signatures ?
		                            o->signatures[i] : NULL,
		                            o->allow_sha1, refs, &who, msg_why,
		                            sizeof msg_why);
		if (st == TRUST_ERROR) {
			for (size_t j = 0; j < n; j++) {
				pks[j].state = TRUST_ERROR;
				snprintf(pks[j].why, sizeof pks[j].why, "%s",
				         msg_why);
			}
			rc = decide(o, pks, n);
			goto done;
		}
		if (st != TRUST_OK) {
			messages_ok = false;
			if (approval_claimed_operation(o->messages[i], claimed,
			                               sizeof claimed) == 0)
				for (size_t j = 0; j < n; j++)
					pks[j].operation = claimed;
		} else {
			if (signer == NULL)
				signer = who;
			for (; named < refs->n; named++)
				signers[named] = who;
		}
	}
	if (refs->first_exec[0] != '\0')
		for (i = 0; i < n; i++)
			pks[i].operation = refs->first_exec;
	for (i = 0; i < n; i++) {
		if (o->n_messages > 0)
			check_package_digest(&t, refs, messages_ok, signer,
			                     signers, msg_why, &pks[i], show);
		else
			check_package_signature(&t, o->signatures[i], &pks[i],
			                        show);
	}
	rc = decide(o, pks, n);
done:
	trust_release(&t);
	dmsc_p11_close(p11);
	free(refs);
	return rc == APPROVE_ERROR && open_rc != DMSC_EXIT_OK ? open_rc : rc;
}

/* ---- options ---- */

/* Where the audit log goes without --audit-log or audit_log: the XDG
 * state directory ($XDG_STATE_HOME/dmsc/audit.log, or
 * ~/.local/state/dmsc/audit.log), made 0700 if missing. */
static char *default_audit_log(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[4096], *path;
	size_t len;

	if (xdg != NULL && xdg[0] == '/')
		snprintf(dir, sizeof dir, "%s", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(dir, sizeof dir, "%s/.local/state", home);
	else
		return NULL;
	/* mkdir -p of the last two levels at most: .local/state, dmsc. */
	len = strlen(dir);
	if (strlen(dir) + sizeof "/dmsc/audit.log" > sizeof dir)
		return NULL;
	if (mkdir(dir, 0700) != 0 && errno == ENOENT) {
		char *slash = strrchr(dir, '/');

		*slash = '\0';
		mkdir(dir, 0700);
		*slash = '/';
		mkdir(dir, 0700);
	}
	memcpy(dir + len, "/dmsc", sizeof "/dmsc");
	mkdir(dir, 0700);
	path = malloc(strlen(dir) + sizeof "/audit.log");
	if (path != NULL)
		sprintf(path, "%s/audit.log", dir);
	return path;
}

static int approve_run(const struct dmsc_command *cmd, int argc,
                       char **argv, struct dmsc_common *common)
{
	enum { OPT_POLICY = 256, OPT_AUDIT, OPT_SHA1 };
	static const struct option longopts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "signature", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "audit-log", required_argument, NULL, OPT_AUDIT },
		{ "allow-sha1", no_argument, NULL, OPT_SHA1 },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct approve_opts o = { .policy = NULL };
	dmsc_config cfg = { .store = NULL };
	char err[512], *audit_default = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "m:s:" DMSC_COMMON_SHORTOPTS,
	                          longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (o.n_messages == MAX_FILES)
				return dmsc_usage_error(cmd, "at most %d "
				       "messages", MAX_FILES);
			o.messages[o.n_messages++] = optarg;
			break;
		case 's':
			if (o.n_signatures == MAX_FILES)
				return dmsc_usage_error(cmd, "at most %d "
				       "signatures", MAX_FILES);
			o.signatures[o.n_signatures++] = optarg;
			break;
		case OPT_POLICY:
			if (strcmp(optarg, "reject") != 0 &&
			    strcmp(optarg, "ask") != 0)
				return dmsc_usage_error(cmd, "--policy: "
				       "reject or ask, not '%s'", optarg);
			o.policy = optarg;
			break;
		case OPT_AUDIT: o.audit_log = optarg; break;
		case OPT_SHA1: o.allow_sha1 = true; break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	o.quiet = common->quiet;
	if (optind == argc)
		return dmsc_usage_error(cmd, "expected the PACKAGE file(s)");
	if (argc - optind > MAX_FILES)
		return dmsc_usage_error(cmd, "at most %d packages", MAX_FILES);
	if (o.n_messages > 0 && o.n_signatures > o.n_messages)
		return dmsc_usage_error(cmd, "%zu --signature for %zu "
		       "--message: each message's detached signature, in "
		       "order", o.n_signatures, o.n_messages);
	if (o.n_messages == 0 &&
	    o.n_signatures != (size_t)(argc - optind))
		return dmsc_usage_error(cmd, "without --message, each PACKAGE "
		       "needs its --signature, in order (%zu for %d)",
		       o.n_signatures, argc - optind);
	if (dmsc_config_load(&cfg, err, sizeof err) != 0) {
		dmsc_error("%s", err);
		return APPROVE_ERROR;
	}
	if (o.policy == NULL)
		o.policy = cfg.approve_policy != NULL ? cfg.approve_policy
		                                      : "reject";
	if (o.audit_log == NULL)
		o.audit_log = cfg.audit_log != NULL
		              ? cfg.audit_log
		              : (audit_default = default_audit_log());
	if (o.audit_log == NULL) {
		dmsc_config_free(&cfg);
		dmsc_error("no audit log: set HOME, or give --audit-log FILE");
		return APPROVE_ERROR;
	}
	rc = approve(&o, common, argv + optind, (size_t)(argc - optind));
	free(audit_default);
	dmsc_config_free(&cfg);
	return rc;
}

const struct dmsc_command dmsc_cmd_approve = {
	.name = "approve",
	.summary = "was this firmware / software package approved? (policy, "
	           "audit)",
	.synopsis = "[--policy reject|ask] [--audit-log FILE] "
	            "[--allow-sha1]\n"
	            "       (--message MSG [--signature SIG])... PACKAGE...\n"
	            "   or: dmsc approve [OPTIONS] (--signature SIG)... "
	            "PACKAGE...",
	.help =
	"The device's step of firmware / software approval "
	"(dm-ext/APPROVAL.md).\n"
	"\n"
	"With --message: each DM message (XML or WBXML) that describes the "
	"operation\n"
	"must verify on the card against the MA trust anchor (the "
	"certificate with\n"
	"CKA_TRUSTED), with its detached --signature (the i-th for the i-th "
	"message)\n"
	"or its enveloped XML-DSig, and each PACKAGE's SHA-256, computed by "
	"the card\n"
	"as the file streams through C_DigestUpdate, must be one a signed "
	"message\n"
	"names in NODE/Ext/PkgDigest.  Without --message (a package from a "
	"memory\n"
	"card or a PC): each PACKAGE's detached --signature must verify, "
	"streamed\n"
	"through C_VerifyUpdate.  A progress bar is drawn on a terminal.\n"
	"\n"
	"What is not approved goes to the policy: reject, or ask (show the "
	"operation,\n"
	"package, size, SHA-256 and signer, wait for 'yes'; no terminal "
	"means reject).\n"
	"Every decision is appended to the audit log as a JSON line.\n"
	"\n"
	"Options:\n"
	"  -m, --message MSG      a DM message describing the operation "
	"(repeatable)\n"
	"  -s, --signature SIG    a detached signature (repeatable, in "
	"order)\n"
	"      --policy P         reject (the default) or ask; overrides "
	"approve_policy\n"
	"                         in dmsc.conf\n"
	"      --audit-log FILE   overrides audit_log in dmsc.conf "
	"(default\n"
	"                         ~/.local/state/dmsc/audit.log)\n"
	"      --allow-sha1       accept an XML-DSig with rsa-sha1\n"
	"\n"
	"Exit status of approve (instead of the common ones):\n"
	"  0  approved by the MA (every package)\n"
	"  1  rejected: not approved, and the policy rejects (or asks "
	"without a\n"
	"     terminal)\n"
	"  2  error: a usage error, or the check could not be made (an "
	"unreadable\n"
	"     package, the audit log cannot be written); nothing approved\n"
	"  3-7 the card could not be used (as for every card command); "
	"nothing\n"
	"     approved\n"
	"  8  declined by the user (policy ask)\n"
	"  9  approved by the user (policy ask), not by the MA\n",
	.examples =
	"  dmsc approve --token pkcs11:token=DM --message fumo.xml "
	"--signature fumo.sig \\\n"
	"      fw.bin\n"
	"      the normal flow: a FUMO message signed by the MA, the "
	"downloaded package\n"
	"  dmsc approve --token pkcs11:token=DM --message fumo.signed.xml "
	"fw.bin\n"
	"      the same with an enveloped XML-DSig\n"
	"  dmsc approve --token pkcs11:token=DM --policy ask --signature "
	"fw.sig fw.bin\n"
	"      a package from a memory card, its detached signature; ask if "
	"not approved\n",
	.run = approve_run,
};
