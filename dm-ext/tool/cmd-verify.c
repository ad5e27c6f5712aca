/*
 * dm-ext/tool/cmd-verify.c - `dmsc verify`: check a signed DM message or
 * package on the card, against the MA trust anchor (dm-ext/APPROVAL.md).
 * No policy, no audit log: that is `dmsc approve`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "approval.h"
#include "commands.h"
#include "dmmsg.h"
#include "p11-client.h"
#include "trust.h"

struct verify_opts {
	const char *signature;
	bool package, allow_sha1, quiet;
};

/* Is FILE a package (opaque) rather than a message?  By its first bytes,
 * as the signer decided. */
static int is_package(const char *path, bool *package)
{
	unsigned char head[DMSC_DM_SNIFF_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, head, sizeof head);
	close(fd);
	if (n < 0)
		return -1;
	*package = dmsc_dm_detect(head, (size_t)n) == DMSC_DM_OPAQUE;
	return 0;
}

static int verify(const struct verify_opts *o,
                  const struct dmsc_common *common, const char *path)
{
	const trust_anchor *who = NULL;
	unsigned char *sig = NULL, digest[32];
	unsigned long long size = 0;
	size_t sig_len = 0;
	trust_anchors t = { .n = 0 };
	char why[512];
	bool package = o->package, digested;
	dmsc_p11 *p11 = NULL;
	int rc, fd = -1;

	/* The file first: an unreadable one is the caller's problem (2),
	 * not the card's. */
	if ((!package && is_package(path, &package) != 0) ||
	    (package && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)) {
		dmsc_error("%s: cannot read: %s", path, strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	if (package && o->signature == NULL) {
		close(fd);
		dmsc_error("%s: a package has no enveloped signature: give "
		           "its --signature", path);
		return DMSC_EXIT_USAGE;
	}
	rc = dmsc_p11_open(common, &p11);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_start(p11, DMSC_P11_RO);
	if (rc != DMSC_EXIT_OK) {
		dmsc_p11_close(p11);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = trust_load(dmsc_p11_fn(p11), dmsc_p11_session(p11), &t, why,
	                sizeof why);
	if (rc == TRUST_OK && package) {
		rc = approval_read_signature(o->signature, &sig, &sig_len,
		                             why, sizeof why);
		if (rc == TRUST_OK)
			rc = trust_verify_file(&t, fd, sig, sig_len, &who,
			                       digest, &digested, &size, NULL,
			                       NULL, why,
			                       sizeof why);
	} else if (rc == TRUST_OK) {
		rc = approval_check_message(&t, path, o->signature,
		                            o->allow_sha1, NULL, &who, why,
		                            sizeof why);
	}
	if (rc == TRUST_OK) {
		if (!o->quiet)
			printf("%s: verified on the card: signed by %s "
			       "(trust anchor '%s')\n", path, who->subject,
			       who->label);
	} else {
		dmsc_error("%s%s", rc == TRUST_REFUSED ? "NOT VERIFIED: " : "",
		           why);
	}
	free(sig);
	if (fd >= 0)
		close(fd);
	trust_release(&t);
	dmsc_p11_close(p11);
	return rc == TRUST_OK ? DMSC_EXIT_OK
	       : rc == TRUST_REFUSED ? DMSC_EXIT_REFUSED : DMSC_EXIT_CARD;
}

static int verify_run(const struct dmsc_command *cmd, int argc, char **argv,
                      struct dmsc_common *common)
{
	enum { OPT_PACKAGE = 256, OPT_SHA1 };
	static const struct option longopts[] = {
		{ "signature", required_argument, NULL, 's' },
		{ "package", no_argument, NULL, OPT_PACKAGE },
		{ "allow-sha1", no_argument, NULL, OPT_SHA1 },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct verify_opts o = { .signature = NULL };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "s:" DMSC_COMMON_SHORTOPTS,
	                          longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.signature = optarg; break;
		case OPT_PACKAGE: o.package = true; break;
		case OPT_SHA1: o.allow_sha1 = true; break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	o.quiet = common->quiet;
	if (argc - optind != 1)
		return dmsc_usage_error(cmd, "expected one FILE");
	return verify(&o, common, argv[optind]);
}

const struct dmsc_command dmsc_cmd_verify = {
	.name = "verify",
	.summary = "check a signed message or package on the card (trust "
	           "anchor)",
	.synopsis = "[--signature SIG] [--package] [--allow-sha1] FILE",
	.help =
	"Verify FILE's signature on the card: the verification runs in the "
	"token, with\n"
	"the public key of the MA trust anchor (the certificate with "
	"CKA_TRUSTED on\n"
	"the DM application).  A DM message (XML or WBXML) with --signature "
	"is\n"
	"verified over its canonical form with CKM_DMSC_SHA256_RSA_PKCS or\n"
	"CKM_DMSC_ECDSA_SHA256; without it, its enveloped XML-DSig is "
	"checked\n"
	"(Reference digest, then SignedInfo).  A package (anything else, or "
	"with\n"
	"--package) is streamed through C_VerifyUpdate with its "
	"--signature.\n"
	"Exit status 1 means the signature is not the trust anchor's (or "
	"there is\n"
	"no usable anchor, or the message cannot be read); stderr says why "
	"in one\nline.\n"
	"\n"
	"Options:\n"
	"  -s, --signature SIG   the detached signature file\n"
	"      --package         FILE is a package even if it looks like "
	"XML\n"
	"      --allow-sha1      accept an XML-DSig with rsa-sha1\n",
	.examples =
	"  dmsc verify --token pkcs11:token=DM --signature fumo.sig "
	"fumo.wbxml\n"
	"      the detached signature the MA made over the XML form\n"
	"  dmsc verify --token pkcs11:token=DM fumo.signed.xml\n"
	"      an enveloped XML-DSig\n",
	.run = verify_run,
};
