/*
 * dm-ext/tool/cmd-canon.c - `dmsc canon`: the canonical form of a DM
 * message (dm-ext/CANON.md), the bytes a CKM_DMSC_* signature or digest
 * covers, or its SHA-256.
 *
 * The input is read in chunks into dmsc_canon_stream_*: opaque input (a
 * firmware package of any size) goes to the output, or into the hash, as
 * it arrives and is never held; XML and WBXML are held by the stream, up
 * to its 16 MiB limit, because a message is canonicalised as a whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "canon.h"
#include "commands.h"

#define READ_CHUNK (64u * 1024u)

/* feed()'s answer when reading failed: no dmsc_dm_status is positive. */
#define READ_FAILED 1

/* Enough of the output for the first start tag and its xmlns. */
#define HEAD_MAX 512u

/* Where the canonical bytes go: to stdout, or into the hash.  The
 * canonical form of a DM message is written as it is made, so a message
 * refused late would leave part of it behind: it is kept here and goes to
 * stdout only once the whole message was accepted (the message itself is
 * held until then anyway, at most 16 MiB).  Opaque input goes straight
 * through. */
struct canon_out {
	EVP_MD_CTX *md;             /* --digest; NULL: write to stdout */
	const dmsc_canon_stream *stream;
	unsigned char *kept;        /* a DM message's form, not yet written */
	size_t kept_len, kept_cap;
	unsigned long long bytes;
	char head[HEAD_MAX];        /* the first bytes, to name the kind */
	size_t head_len;
	int write_errno;            /* set when stdout refused a write */
	bool digest_failed;
};

static int canon_sink(void *ctx, const unsigned char *data, size_t len)
{
	struct canon_out *o = ctx;

	if (o->head_len < HEAD_MAX) {
		size_t n = HEAD_MAX - o->head_len < len ? HEAD_MAX - o->head_len
		                                        : len;

		memcpy(o->head + o->head_len, data, n);
		o->head_len += n;
	}
	o->bytes += len;
	if (o->md != NULL) {
		if (EVP_DigestUpdate(o->md, data, len) != 1) {
			o->digest_failed = true;
			return 1;
		}
		return 0;
	}
	if (dmsc_canon_stream_repr(o->stream) != DMSC_DM_OPAQUE) {
		if (len > o->kept_cap - o->kept_len) {
			size_t cap = o->kept_cap == 0 ? READ_CHUNK : o->kept_cap;
			unsigned char *grown;

			while (cap - o->kept_len < len) {
				if (cap > SIZE_MAX / 2)
					return 1;
				cap *= 2;
			}
			grown = realloc(o->kept, cap);
			if (grown == NULL) {
				o->write_errno = ENOMEM;
				return 1;
			}
			o->kept = grown;
			o->kept_cap = cap;
		}
		memcpy(o->kept + o->kept_len, data, len);
		o->kept_len += len;
		return 0;
	}
	if (fwrite(data, 1, len, stdout) != len) {
		o->write_errno = errno != 0 ? errno : EIO;
		return 1;
	}
	return 0;
}

/* The kind of DM document, read back from the output.  The stream API
 * says only XML, WBXML or opaque; the canonical form's first start tag
 * declares the namespace of its element (CANON.md section 5), and that
 * namespace says SyncML 1.1, SyncML 1.2 (DM 1.2 and 1.3) or TNDS.  NULL
 * when it is none of these. */
static const char *kind_name(const char *head, size_t len)
{
	const char *end = memchr(head, '>', len), *name, *p, *value, *quote;
	size_t prefix_len = 0;
	char decl[HEAD_MAX + 16];

	if (len == 0 || head[0] != '<' || end == NULL)
		return NULL;
	name = head + 1;
	for (p = name; p < end && *p != ' ' && *p != ':'; p++)
		;
	if (p < end && *p == ':')
		prefix_len = (size_t)(p - name);
	if (prefix_len == 0)
		snprintf(decl, sizeof decl, " xmlns=\"");
	else
		snprintf(decl, sizeof decl, " xmlns:%.*s=\"", (int)prefix_len,
		         name);
	value = memmem(head, (size_t)(end - head), decl, strlen(decl));
	if (value == NULL)
		return NULL;
	value += strlen(decl);
	quote = memchr(value, '"', (size_t)(end - value));
	if (quote == NULL)
		return NULL;
#define NS_IS(ns) ((size_t)(quote - value) == strlen(ns) && \
                   memcmp(value, ns, strlen(ns)) == 0)
	if (NS_IS(DMSC_DM_NS_SYNCML11))
		return "SyncML 1.1";
	if (NS_IS(DMSC_DM_NS_SYNCML12))
		return "SyncML 1.2";
	if (NS_IS(DMSC_DM_NS_DMDDF12))
		return "TNDS";
#undef NS_IS
	return NULL;
}

/* --unit: message, syncbody or cmdid=ID. */
static bool parse_unit(const char *arg, dmsc_canon_select *sel)
{
	if (strcmp(arg, "message") == 0) {
		sel->unit = DMSC_CANON_MESSAGE;
		return true;
	}
	if (strcmp(arg, "syncbody") == 0) {
		sel->unit = DMSC_CANON_SYNCBODY;
		return true;
	}
	if (strncmp(arg, "cmdid=", 6) == 0 && arg[6] != '\0') {
		sel->unit = DMSC_CANON_CMDID;
		sel->cmdid = arg + 6;
		return true;
	}
	return false;
}

/* "dmsc: NAME: WBXML (SyncML 1.2), canonical form 1234 bytes". */
static void report(const char *name, int repr, const dmsc_canon_select *sel,
                   const struct canon_out *o)
{
	const char *kind = kind_name(o->head, o->head_len);
	char unit[80] = "";

	if (sel->unit == DMSC_CANON_SYNCBODY)
		snprintf(unit, sizeof unit, ", SyncBody");
	else if (sel->unit == DMSC_CANON_CMDID)
		snprintf(unit, sizeof unit, ", command CmdID %.40s",
		         sel->cmdid);
	if (repr == DMSC_DM_OPAQUE)
		dmsc_error("%s: opaque data (passed unchanged), canonical form "
		           "%llu bytes", name, o->bytes);
	else
		dmsc_error("%s: %s%s%s%s%s, canonical form %llu bytes", name,
		           repr == DMSC_DM_WBXML ? "WBXML" : "XML",
		           kind != NULL ? " (" : "", kind != NULL ? kind : "",
		           kind != NULL ? ")" : "", unit, o->bytes);
}

/* A failed canonicalisation: one line, and the exit status it earns. */
static int failed(const char *name, int status, const dmsc_dm_error *err,
                  const struct canon_out *o)
{
	char at[32];

	switch (status) {
	case DMSC_DM_SINK:
		if (o->digest_failed)
			dmsc_error("%s: SHA-256 failed (OpenSSL)", name);
		else
			dmsc_error("%s: cannot write the canonical form: %s",
			           name, strerror(o->write_errno));
		return DMSC_EXIT_USAGE;
	case DMSC_DM_NOMEM:
		dmsc_error("%s: out of memory", name);
		return DMSC_EXIT_USAGE;
	case DMSC_DM_BAD_ARGS:
		/* Ours, not the input's: we gave the library something wrong. */
		dmsc_error("%s: internal error: %s", name, err->message);
		return DMSC_EXIT_USAGE;
	default:
		break;
	}
	/* The WBXML reader's messages name the byte already ("WBXML byte
	 * 40: ..."), XML's give line and column: add the byte where it is
	 * known and not said yet. */
	snprintf(at, sizeof at, "byte %zu", err->offset);
	if (err->offset != DMSC_DM_NO_OFFSET && strstr(err->message, at) == NULL)
		dmsc_error("%s: %s: %s", name, at, err->message);
	else
		dmsc_error("%s: %s", name, err->message);
	return DMSC_EXIT_REFUSED;
}

static int print_digest(EVP_MD_CTX *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_DigestFinal_ex(md, d, &n) != 1)
		return -1;
	for (i = 0; i < n; i++)
		printf("%02x", d[i]);
	putchar('\n');
	return 0;
}

/* Read fd to its end through the stream; returns a dmsc_dm_status, or
 * READ_FAILED with *read_errno set. */
static int feed(int fd, dmsc_canon_stream *s, dmsc_dm_error *err,
                int *read_errno)
{
	unsigned char *buf = malloc(READ_CHUNK);
	int status = DMSC_DM_OK;
	ssize_t n;

	if (buf == NULL)
		return DMSC_DM_NOMEM;
	for (;;) {
		n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*read_errno = errno;
			status = READ_FAILED;
			break;
		}
		if (n == 0) {
			status = dmsc_canon_stream_final(s, err);
			break;
		}
		status = dmsc_canon_stream_update(s, buf, (size_t)n, err);
		if (status != DMSC_DM_OK)
			break;
	}
	free(buf);
	return status;
}

static int canon(const char *path, const dmsc_canon_select *sel,
                 bool digest, bool quiet)
{
	const char *name = strcmp(path, "-") == 0 ? "(standard input)" : path;
	struct canon_out out = { .md = NULL };
	dmsc_canon_stream *s = NULL;
	dmsc_dm_error err = { .offset = 0 };
	int fd = STDIN_FILENO, status, read_errno = 0, rc = DMSC_EXIT_USAGE;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			dmsc_error("%s: cannot open: %s", name, strerror(errno));
			return DMSC_EXIT_USAGE;
		}
	}
	if (digest) {
		out.md = EVP_MD_CTX_new();
		if (out.md == NULL ||
		    EVP_DigestInit_ex(out.md, EVP_sha256(), NULL) != 1) {
			dmsc_error("%s: SHA-256 is not available (OpenSSL)",
			           name);
			goto done;
		}
	}
	s = dmsc_canon_stream_new(NULL, sel, canon_sink, &out);
	if (s == NULL) {
		dmsc_error("%s: out of memory", name);
		goto done;
	}
	out.stream = s;
	status = feed(fd, s, &err, &read_errno);
	if (status == READ_FAILED) {
		dmsc_error("%s: cannot read: %s", name, strerror(read_errno));
		goto done;
	}
	if (status != DMSC_DM_OK) {
		rc = failed(name, status, &err, &out);
		goto done;
	}
	if (digest && print_digest(out.md) != 0) {
		dmsc_error("%s: SHA-256 failed (OpenSSL)", name);
		goto done;
	}
	/* Flush here, not at exit, so a full disk is named with the file. */
	if ((out.kept_len > 0 &&
	     fwrite(out.kept, 1, out.kept_len, stdout) != out.kept_len) ||
	    fflush(stdout) != 0) {
		dmsc_error("%s: cannot write the canonical form: %s", name,
		           strerror(errno));
		goto done;
	}
	if (!quiet)
		report(name, dmsc_canon_stream_repr(s), sel, &out);
	rc = DMSC_EXIT_OK;
done:
	dmsc_canon_stream_free(s);
	free(out.kept);
	EVP_MD_CTX_free(out.md);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

static int canon_run(const struct dmsc_command *cmd, int argc, char **argv,
                     struct dmsc_common *common)
{
	enum { OPT_DIGEST = 256 };
	static const struct option longopts[] = {
		{ "digest", no_argument, NULL, OPT_DIGEST },
		{ "unit", required_argument, NULL, 'u' },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	dmsc_canon_select sel = { .unit = DMSC_CANON_MESSAGE };
	bool digest = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "u:" DMSC_COMMON_SHORTOPTS,
	                          longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DIGEST:
			digest = true;
			break;
		case 'u':
			if (!parse_unit(optarg, &sel))
				return dmsc_usage_error(cmd, "--unit: expected "
				       "message, syncbody or cmdid=ID, got '%s'",
				       optarg);
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (optind == argc)
		return dmsc_usage_error(cmd, "expected a FILE (- for standard "
		                        "input)");
	if (argc - optind > 1)
		return dmsc_usage_error(cmd, "expected one FILE, got %d",
		                        argc - optind);
	return canon(argv[optind], &sel, digest, common->quiet);
}

const struct dmsc_command dmsc_cmd_canon = {
	.name = "canon",
	.summary = "print the canonical form of a DM message, or its SHA-256",
	.synopsis = "[--digest] [--unit message|syncbody|cmdid=ID] FILE",
	.help =
	"Print the canonical form of FILE (- for standard input): the bytes "
	"that DM\n"
	"signatures and digests (the CKM_DMSC_* mechanisms) cover, as "
	"dm-ext/CANON.md\n"
	"defines them.\n"
	"\n"
	"A DM message or TNDS document, XML or WBXML, gives the Exclusive "
	"XML\n"
	"Canonicalization 1.0 of the message after normalisation, so a "
	"message and\n"
	"its WBXML form give the same bytes. A message may be 16 MiB at "
	"most.\n"
	"Anything else (a firmware package) is opaque: its own canonical "
	"form,\n"
	"copied unchanged as it is read, whatever its size.\n"
	"\n"
	"stderr names what FILE was found to be and the size of the "
	"canonical form.\n"
	"On an error nothing useful is on stdout (a partial copy of opaque "
	"input at\n"
	"most): discard it.\n"
	"\n"
	"Options:\n"
	"      --digest     print the SHA-256 of the canonical form, in "
	"lower-case hex\n"
	"                   and a newline, instead of the canonical form\n"
	"  -u, --unit UNIT  what to canonicalise: message (the default), "
	"syncbody\n"
	"                   (the message's SyncBody), or cmdid=ID (the "
	"command whose\n"
	"                   CmdID is ID, in the SyncBody or inside an "
	"Atomic or\n"
	"                   Sequence); opaque input has no units\n",
	.examples =
	"  dmsc canon message.xml > message.c14n\n"
	"      the canonical form of an XML DM message\n"
	"  dmsc canon --digest message.wbxml\n"
	"      the SHA-256 a signature over it covers: the same for the XML "
	"form\n"
	"  dmsc canon --unit cmdid=4 message.xml\n"
	"      only the command with CmdID 4\n"
	"  curl -s https://fw.example/pkg.bin | dmsc canon --digest -\n"
	"      the digest of a firmware package, read as it streams in\n",
	.run = canon_run,
};
