/*
 * bench-dm: canonicalise-and-verify of DM messages through the module,
 * side by side with xmlsec1 verifying an XML-DSig over the same content.
 *
 *   bench-dm --module PATH --key KEY.pem [--pubkey PUB.pem] [--seconds S]
 *            [--xmlsec-bench PROG] [--xmlsec1 PATH] NAME=BASE ...
 *
 * Each NAME=BASE is one message: BASE.xml (SyncML DM 1.2), BASE.wbxml (its
 * WBXML form) and BASE.signed.xml (the XML with an enveloped XML-DSig:
 * exclusive C14N, RSA-SHA256, made by `xmlsec1 --sign` with KEY.pem).
 * bench/run-bench-dm.sh makes them (bench/gen-dm-msg) and the token: the
 * module must show an initialised token labelled "bench" with user PIN
 * "1234". KEY.pem is an RSA-2048 private key; it is imported into the
 * token as session objects (CKA_TOKEN false), so the module and xmlsec1
 * use the same key and nothing stays on the token.
 *
 * The module's operation, per message: C_VerifyInit
 * (CKM_DMSC_SHA256_RSA_PKCS, the public key) + C_Verify (the whole message,
 * the signature). The module reads the message, normalises it, writes its
 * exclusive C14N into SHA-256 and checks the RSA PKCS#1 v1.5 signature.
 *
 * The peers, per message (XML only: xmlsec has no WBXML):
 *   in-process  PROG (bench/bench-dm-xmlsec): libxmlsec1 with the key
 *               loaded once; parse, xmlSecDSigCtxVerify, free, in a loop.
 *               This is the honest peer: the same kind of loop as ours.
 *   per-process `xmlsec1 --verify --pubkey-pem PUB.pem BASE.signed.xml`,
 *               one process per message as a script would run it: process
 *               start, library and key loading included.
 * The WBXML rows compare with the peers' figures for the same message's
 * XML: xmlsec has no WBXML (a verifier of the WBXML message would first
 * have to decode it to XML, which is not counted for the peer).
 *
 * Checks, all before anything is timed (a failure exits 1):
 *   - the module's signature over the XML verifies over the XML and over
 *     the WBXML (one canonical form for both);
 *   - a corrupted signature, and the XML with one byte of a LocURI
 *     changed, give CKR_SIGNATURE_INVALID;
 *   - CKM_DMSC_SHA256 of the XML and of the WBXML are equal, and equal to
 *     the DigestValue of the XML-DSig as xmlsec verified it: both sides
 *     digest the same bytes;
 *   - the module's signature is RSA PKCS#1 v1.5 over that digest (OpenSSL);
 *   - xmlsec1 verifies the signed message (per process and in process),
 *     and in process not with the message changed.
 *
 * Timing: each (message, form) runs in a child process of its own that
 * reads only that message, loads the module, logs in and imports the key;
 * then it reads its resident set (idle), starts the peak over
 * (/proc/self/clear_refs) and verifies for S seconds (at least 3 messages)
 * in one thread, reads the peak, then again with 2 threads, each with its
 * own session. msgs/s = verified messages over the time until the last
 * thread stopped; MB/s = msgs/s x the bytes of the form given (10^6
 * bytes). The peak RSS is the process's during the 1-thread run; "+work"
 * is peak minus idle: the memory one verification takes above a loaded
 * module, so its growth with the message is visible. The in-process peer
 * reports the same two figures.
 *
 * The CPU time of every timed loop is measured too. The "CPU" ratio is the
 * in-process peer's CPU time per message over ours: it equals the msgs/s
 * ratio when each side had a core to itself, and stays right when other
 * work shares the machine; a cell that got less than 90% of its core(s)
 * is named under the table.
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bench-util.h"
#include "mem-bench.h"
#include "ossl-bench.h"
#include "p11-bench.h"

#include <dlfcn.h>

#include <p11-kit/pkcs11.h>
#include <dmsc/pkcs11-dm.h>

#define BENCH_TOKEN_LABEL "bench"
#define BENCH_USER_PIN "1234"
#define DEFAULT_SECONDS 2.0
#define MIN_VERIFIES 3
#define MAX_MESSAGES 8
#define MAX_THREADS 2
#define RSA_BITS 2048
#define RSA_SIG_LEN (RSA_BITS / 8)
#define SHA256_LEN 32

extern char **environ;

enum form { FORM_XML, FORM_WBXML, FORM_COUNT };

static const char *const form_names[FORM_COUNT] = { "XML", "WBXML" };
static const char *const form_ext[FORM_COUNT] = { ".xml", ".wbxml" };

struct buf {
	unsigned char *data;
	size_t len;
};

/* Peer figures for one message; NAN where not measured. inproc_cpu is the
 * CPU time per message in seconds, inproc_share the CPU time over the wall
 * time (the per-process rate includes process start-up, so no share). */
struct peer {
	double inproc_rate, inproc_cpu, inproc_share;
	long inproc_idle_kib, inproc_peak_kib;
	double proc_rate;
};

/* The module's figures for one message in one form. */
struct dmsc_result {
	double rate[MAX_THREADS];	/* index: threads - 1 */
	double share[MAX_THREADS];	/* CPU time over threads x wall time */
	double cpu;			/* 1 thread: CPU seconds per message */
	long idle_kib, peak_kib;	/* 1 thread; idle -1: no peak reset */
};

struct message {
	const char *name;
	const char *base;
	char *path[FORM_COUNT];
	struct buf form[FORM_COUNT];	/* read by the child that uses it */
	char *signed_path;
	unsigned char sig[RSA_SIG_LEN];	/* the module's, over the XML */
	unsigned char digest[SHA256_LEN];	/* CKM_DMSC_SHA256 */
	struct dmsc_result dmsc[FORM_COUNT];
	struct peer peer;
};

struct options {
	const char *module;
	const char *key;
	const char *pubkey;
	const char *xmlsec_bench;
	const char *xmlsec1;
	double seconds;
	struct message msgs[MAX_MESSAGES];
	size_t nmsgs;
};

const char *const bench_progname = "bench-dm";

/* ---- errors and small helpers ---------------------------------------- */

static void check_rv(const char *function, CK_RV rv)
{
	if (rv != CKR_OK)
		bench_fail("%s failed: CKR 0x%08lx", function, (unsigned long)rv);
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = bench_xmalloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* A message file, which may not be empty. */
static struct buf read_file(const char *path)
{
	struct buf b;

	b.data = bench_read_file(path, &b.len);
	if (b.len == 0)
		bench_fail("%s: empty", path);
	return b;
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* The XML with the byte after its first "<LocURI>" changed: still
 * well-formed, a different message. */
static struct buf changed_copy(const struct buf *xml)
{
	static const char tag[] = "<LocURI>";
	unsigned char *at = memmem(xml->data, xml->len, tag, sizeof tag - 1);
	struct buf c;

	if (!at || (size_t)(at - xml->data) + sizeof tag >= xml->len)
		bench_fail("no <LocURI> to change in the message");
	c.len = xml->len;
	c.data = bench_xmalloc(c.len);
	memcpy(c.data, xml->data, c.len);
	at = c.data + (at - xml->data) + sizeof tag - 1;
	*at = *at == 'x' ? 'y' : 'x';
	return c;
}

/* ---- child processes ------------------------------------------------------ */

/*
 * Run fn in a child process and copy the result it writes (size bytes)
 * into result. The module is only ever loaded in children, so each
 * measurement starts from a fresh process. A child that fails has already
 * said why; the parent then exits too.
 */
static void in_child(void (*fn)(void *arg, void *result), void *arg, void *result, size_t size)
{
	int fds[2], status;
	pid_t pid;
	size_t got = 0;

	if (pipe(fds) != 0)
		bench_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		unsigned char *out = bench_xmalloc(size);
		size_t done = 0;

		close(fds[0]);
		memset(out, 0, size);
		fn(arg, out);
		while (done < size) {
			ssize_t n = write(fds[1], out + done, size - done);

			if (n <= 0)
				_exit(1);
			done += (size_t)n;
		}
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	close(fds[1]);
	while (got < size) {
		ssize_t n = read(fds[0], (unsigned char *)result + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != size)
		bench_fail("a measuring process failed (see above)");
}

/* ---- the module, in a child ------------------------------------------- */

struct p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;	/* owns the key objects */
	CK_OBJECT_HANDLE priv, pub;
};

static EVP_PKEY *rsa_key;	/* loaded by the parent, inherited */

/* The RSA key as session objects of the logged-in session. */
static void import_key(struct p11 *p)
{
	struct bench_rsa_templates t;

	bench_rsa_templates(&t, rsa_key, "bench-dm-rsa2048");
	check_rv("C_CreateObject (RSA private key)",
		 p->f->C_CreateObject(p->session, t.priv, BENCH_RSA_PRIV_ATTRS, &p->priv));
	check_rv("C_CreateObject (RSA public key)",
		 p->f->C_CreateObject(p->session, t.pub, BENCH_RSA_PUB_ATTRS, &p->pub));
	bench_rsa_templates_free(&t);
}

static void require_mechanism(struct p11 *p, CK_MECHANISM_TYPE mech, const char *name)
{
	CK_MECHANISM_INFO info;
	CK_RV rv = p->f->C_GetMechanismInfo(p->slot, mech, &info);

	if (rv == CKR_MECHANISM_INVALID)
		bench_fail("the token does not offer %s", name);
	check_rv("C_GetMechanismInfo", rv);
}

static void p11_open(struct p11 *p, const char *module)
{
	CK_C_INITIALIZE_ARGS init_args;
	unsigned char pin[] = BENCH_USER_PIN;
	CK_RV rv;

	p->f = bench_load_module(bench_progname, "dmsc", module, &p->dl);
	memset(&init_args, 0, sizeof init_args);
	init_args.flags = CKF_OS_LOCKING_OK;
	check_rv("C_Initialize", p->f->C_Initialize(&init_args));
	p->slot = bench_find_token(bench_progname, "dmsc", p->f, BENCH_TOKEN_LABEL);
	require_mechanism(p, CKM_DMSC_SHA256_RSA_PKCS, "CKM_DMSC_SHA256_RSA_PKCS");
	require_mechanism(p, CKM_DMSC_SHA256, "CKM_DMSC_SHA256");
	check_rv("C_OpenSession",
		 p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				     &p->session));
	rv = p->f->C_Login(p->session, CKU_USER, pin, sizeof pin - 1);
	if (rv != CKR_USER_ALREADY_LOGGED_IN)
		check_rv("C_Login", rv);
	import_key(p);
}

static void p11_close(struct p11 *p)
{
	check_rv("C_Logout", p->f->C_Logout(p->session));
	check_rv("C_CloseSession", p->f->C_CloseSession(p->session));
	check_rv("C_Finalize", p->f->C_Finalize(NULL));
	dlclose(p->dl);
}

static CK_RV p11_verify(struct p11 *p, CK_SESSION_HANDLE s, const struct buf *msg,
			const unsigned char *sig, CK_ULONG sig_len)
{
	CK_MECHANISM mech = { CKM_DMSC_SHA256_RSA_PKCS, NULL, 0 };

	check_rv("C_VerifyInit", p->f->C_VerifyInit(s, &mech, p->pub));
	return p->f->C_Verify(s, msg->data, (CK_ULONG)msg->len, (CK_BYTE_PTR)sig, sig_len);
}

static void p11_digest(struct p11 *p, const struct buf *msg, unsigned char out[SHA256_LEN])
{
	CK_MECHANISM mech = { CKM_DMSC_SHA256, NULL, 0 };
	CK_ULONG len = SHA256_LEN;

	check_rv("C_DigestInit (CKM_DMSC_SHA256)", p->f->C_DigestInit(p->session, &mech));
	check_rv("C_Digest (CKM_DMSC_SHA256)",
		 p->f->C_Digest(p->session, msg->data, (CK_ULONG)msg->len, out, &len));
	if (len != SHA256_LEN)
		bench_fail("CKM_DMSC_SHA256 gave %lu bytes", (unsigned long)len);
}

static void expect_invalid(CK_RV rv, const char *what)
{
	if (rv != CKR_SIGNATURE_INVALID)
		bench_fail("CHECK FAILED: %s: C_Verify returned CKR 0x%08lx, expected CKR_SIGNATURE_INVALID",
		     what, (unsigned long)rv);
}

struct check_out {
	unsigned char sig[RSA_SIG_LEN];
	unsigned char digest[SHA256_LEN];
};

struct child_arg {
	const struct options *opt;
	struct message *m;
	enum form form;
};

/* The module's checks for one message (see the top of the file). */
static void child_check(void *argp, void *resultp)
{
	struct child_arg *arg = argp;
	struct message *m = arg->m;
	struct check_out *out = resultp;
	CK_MECHANISM mech = { CKM_DMSC_SHA256_RSA_PKCS, NULL, 0 };
	CK_ULONG sig_len = sizeof out->sig;
	unsigned char digest_wbxml[SHA256_LEN], bad[RSA_SIG_LEN];
	struct buf changed;
	struct p11 p;

	for (int f = 0; f < FORM_COUNT; f++)
		m->form[f] = read_file(m->path[f]);
	changed = changed_copy(&m->form[FORM_XML]);
	p11_open(&p, arg->opt->module);
	check_rv("C_SignInit (CKM_DMSC_SHA256_RSA_PKCS)",
		 p.f->C_SignInit(p.session, &mech, p.priv));
	check_rv("C_Sign (CKM_DMSC_SHA256_RSA_PKCS, the XML)",
		 p.f->C_Sign(p.session, m->form[FORM_XML].data, (CK_ULONG)m->form[FORM_XML].len,
			     out->sig, &sig_len));
	if (sig_len != RSA_SIG_LEN)
		bench_fail("C_Sign gave a %lu-byte signature", (unsigned long)sig_len);
	check_rv("C_Verify (the XML, its signature)",
		 p11_verify(&p, p.session, &m->form[FORM_XML], out->sig, sig_len));
	check_rv("C_Verify (the WBXML, the signature made over the XML)",
		 p11_verify(&p, p.session, &m->form[FORM_WBXML], out->sig, sig_len));
	memcpy(bad, out->sig, sizeof bad);
	bad[RSA_SIG_LEN / 2] ^= 0x01;
	expect_invalid(p11_verify(&p, p.session, &m->form[FORM_XML], bad, sig_len),
		       "a corrupted signature over the XML");
	expect_invalid(p11_verify(&p, p.session, &m->form[FORM_WBXML], bad, sig_len),
		       "a corrupted signature over the WBXML");
	expect_invalid(p11_verify(&p, p.session, &changed, out->sig, sig_len),
		       "the XML with a LocURI changed");
	p11_digest(&p, &m->form[FORM_XML], out->digest);
	p11_digest(&p, &m->form[FORM_WBXML], digest_wbxml);
	if (memcmp(out->digest, digest_wbxml, SHA256_LEN) != 0)
		bench_fail("CHECK FAILED: CKM_DMSC_SHA256 differs between the XML and the WBXML");
	p11_close(&p);
	free(changed.data);
	for (int f = 0; f < FORM_COUNT; f++)
		free(m->form[f].data);
}

/* ---- timing, in a child ------------------------------------------------------ */

struct cell {
	struct p11 *p;
	const struct buf *msg;
	const unsigned char *sig;
	pthread_barrier_t barrier;
	double start, deadline;
};

struct worker {
	struct cell *cell;
	pthread_t thread;
	unsigned long count;
	double end;
	double cpu;		/* the thread's CPU seconds in the loop */
};

static void *worker_main(void *argp)
{
	struct worker *w = argp;
	struct cell *c = w->cell;
	CK_SESSION_HANDLE s;
	unsigned long n = 0;
	double t, deadline, cpu;

	check_rv("C_OpenSession",
		 c->p->f->C_OpenSession(c->p->slot, CKF_SERIAL_SESSION, NULL, NULL, &s));
	bench_barrier_wait(&c->barrier);	/* all set up */
	bench_barrier_wait(&c->barrier);	/* the deadline is set */
	deadline = c->deadline;
	cpu = bench_clock_secs(CLOCK_THREAD_CPUTIME_ID);
	for (t = bench_now_secs(); n < MIN_VERIFIES || t < deadline; t = bench_now_secs()) {
		check_rv("C_Verify (CKM_DMSC_SHA256_RSA_PKCS)",
			 p11_verify(c->p, s, c->msg, c->sig, RSA_SIG_LEN));
		n++;
	}
	w->cpu = bench_clock_secs(CLOCK_THREAD_CPUTIME_ID) - cpu;
	w->count = n;
	w->end = t;
	check_rv("C_CloseSession", c->p->f->C_CloseSession(s));
	return NULL;
}

/* Messages/s over nthreads threads; *share: their CPU time over nthreads
 * x the wall time, *cpu: CPU seconds per message. */
static double run_cell(struct p11 *p, const struct buf *msg, const unsigned char *sig,
		       unsigned nthreads, double seconds, double *share, double *cpu)
{
	struct cell c = { .p = p, .msg = msg, .sig = sig };
	struct worker workers[MAX_THREADS];
	unsigned long total = 0;
	double last_end, cpu_total = 0.0;

	if (pthread_barrier_init(&c.barrier, NULL, nthreads + 1) != 0)
		bench_fail("pthread_barrier_init failed");
	for (unsigned i = 0; i < nthreads; i++) {
		workers[i] = (struct worker){ .cell = &c };
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			bench_fail("pthread_create failed");
	}
	bench_barrier_wait(&c.barrier);
	c.start = bench_now_secs();
	c.deadline = c.start + seconds;
	bench_barrier_wait(&c.barrier);
	last_end = c.start;
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_join(workers[i].thread, NULL) != 0)
			bench_fail("pthread_join failed");
		total += workers[i].count;
		cpu_total += workers[i].cpu;
		if (workers[i].end > last_end)
			last_end = workers[i].end;
	}
	pthread_barrier_destroy(&c.barrier);
	if (last_end <= c.start || total == 0)
		bench_fail("a timed cell measured nothing");
	*share = cpu_total / ((double)nthreads * (last_end - c.start));
	*cpu = cpu_total / (double)total;
	return (double)total / (last_end - c.start);
}

static void child_time(void *argp, void *resultp)
{
	struct child_arg *arg = argp;
	struct dmsc_result *r = resultp;
	struct buf *msg = &arg->m->form[arg->form];
	struct p11 p;
	double cpu2;

	/* Only this message is in the process: its peak is its own. */
	*msg = read_file(arg->m->path[arg->form]);
	p11_open(&p, arg->opt->module);
	/* Idle: the module loaded, logged in, the key imported. */
	r->idle_kib = bench_rss_kib();
	if (!bench_peak_rss_reset())
		r->idle_kib = -1;
	r->rate[0] = run_cell(&p, msg, arg->m->sig, 1, arg->opt->seconds, &r->share[0], &r->cpu);
	r->peak_kib = bench_peak_rss_kib();
	r->rate[1] = run_cell(&p, msg, arg->m->sig, 2, arg->opt->seconds, &r->share[1], &cpu2);
	p11_close(&p);
	free(msg->data);
}

/* ---- the peers ------------------------------------------------------------ */

/* Run argv with stdout to out_fd (-1: /dev/null) and stderr kept or not;
 * returns the exit status (-1: killed). */
static int run_program(char *const argv[], int out_fd, bool quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;

	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		bench_fail("cannot run %s: %s", argv[0], strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bench_fail("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct inproc_out {
	char digest[2 * SHA256_LEN + 1];
	unsigned long verifies;
	double seconds, cpu;
	long idle_kib, peak_kib;
};

/* bench-dm-xmlsec on the signed message for `seconds` (0: checks only). */
static void run_inproc(const struct options *opt, const struct message *m, double seconds,
		       struct inproc_out *out)
{
	char secs[32], line[512];
	char *argv[] = { (char *)opt->xmlsec_bench, "--pubkey", (char *)opt->pubkey,
			 "--seconds", secs, m->signed_path, NULL };
	FILE *tmp = tmpfile();
	int rc;

	if (!tmp)
		bench_fail("tmpfile: %s", strerror(errno));
	snprintf(secs, sizeof secs, "%.3f", seconds);
	fflush(stdout);
	rc = run_program(argv, fileno(tmp), false);
	if (rc != 0)
		bench_fail("%s failed on %s (exit %d)", opt->xmlsec_bench, m->signed_path, rc);
	rewind(tmp);
	if (!fgets(line, sizeof line, tmp) ||
	    sscanf(line,
		   "digest=%64s verifies=%lu seconds=%lf cpu=%lf rss_idle_kib=%ld rss_peak_kib=%ld",
		   out->digest, &out->verifies, &out->seconds, &out->cpu, &out->idle_kib,
		   &out->peak_kib) != 6)
		bench_fail("%s: unexpected output: %s", opt->xmlsec_bench, line);
	fclose(tmp);
}

/* `xmlsec1 --verify` once; its exit status. */
static int xmlsec1_verify(const struct options *opt, const char *path)
{
	char *argv[] = { (char *)opt->xmlsec1, "--verify", "--pubkey-pem", (char *)opt->pubkey,
			 "--enabled-reference-uris", "empty", (char *)path, NULL };

	return run_program(argv, -1, true);
}

/* Processes/s of `xmlsec1 --verify` over S seconds (at least 3 runs). */
static double time_xmlsec1(const struct options *opt, const struct message *m)
{
	unsigned long n = 0;
	double start = bench_now_secs(), t = start;

	while (n < MIN_VERIFIES || t - start < opt->seconds) {
		if (xmlsec1_verify(opt, m->signed_path) != 0)
			bench_fail("xmlsec1 --verify failed on %s", m->signed_path);
		n++;
		t = bench_now_secs();
	}
	return (double)n / (t - start);
}

/* ---- checks --------------------------------------------------------------- */

/* The module's signature is RSA PKCS#1 v1.5 SHA-256 with this digest. */
static bool signature_over_digest(const unsigned char sig[RSA_SIG_LEN],
				  const unsigned char digest[SHA256_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa_key, NULL);
	int ok;

	if (!ctx || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0)
		bench_ossl_fail("EVP_PKEY_verify_init");
	ok = EVP_PKEY_verify(ctx, sig, RSA_SIG_LEN, digest, SHA256_LEN);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok == 1;
}

static void check_message(const struct options *opt, struct message *m)
{
	struct child_arg arg = { opt, m, FORM_XML };
	struct check_out out;
	char hex[2 * SHA256_LEN + 1];

	in_child(child_check, &arg, &out, sizeof out);
	memcpy(m->sig, out.sig, sizeof m->sig);
	memcpy(m->digest, out.digest, sizeof m->digest);
	if (!signature_over_digest(m->sig, m->digest))
		bench_fail("CHECK FAILED: %s: the module's signature is not RSA PKCS#1 v1.5 over CKM_DMSC_SHA256's digest",
		     m->name);
	to_hex(m->digest, SHA256_LEN, hex);
	if (opt->xmlsec_bench) {
		struct inproc_out peer;

		run_inproc(opt, m, 0.0, &peer);
		if (strcmp(peer.digest, hex) != 0)
			bench_fail("CHECK FAILED: %s: xmlsec digested other bytes than the module's canonical form (%s, module %s)",
			     m->name, peer.digest, hex);
	}
	if (opt->xmlsec1 && xmlsec1_verify(opt, m->signed_path) != 0)
		bench_fail("CHECK FAILED: xmlsec1 --verify rejects %s", m->signed_path);
	fprintf(stderr,
		"%s: %s: XML and WBXML give one canonical form (SHA-256 %.16s...), the XML signature verifies over the WBXML, %s: ok\n",
		bench_progname, m->name, hex,
		opt->xmlsec_bench ? "xmlsec digests the same bytes" : "no in-process peer");
}

/* ---- output ----------------------------------------------------------------- */

static void fmt_rate(char *out, size_t size, double r)
{
	if (isnan(r))
		snprintf(out, size, "n/a");
	else if (r >= 100.0)
		snprintf(out, size, "%.0f", r);
	else
		snprintf(out, size, "%.1f", r);
}

static void fmt_size(char *out, size_t size, double bytes)
{
	if (bytes < 0)
		snprintf(out, size, "n/a");
	else if (bytes < 1024.0 * 1024.0)
		snprintf(out, size, "%.0f KiB", bytes / 1024.0);
	else
		snprintf(out, size, "%.1f MiB", bytes / (1024.0 * 1024.0));
}

static void fmt_ratio(char *out, size_t size, double a, double b)
{
	if (isnan(a) || isnan(b) || b <= 0.0)
		snprintf(out, size, "n/a");
	else
		snprintf(out, size, "%.2fx", a / b);
}

static double work_bytes(long idle_kib, long peak_kib)
{
	if (idle_kib < 0 || peak_kib < 0)
		return -1.0;
	return (double)(peak_kib > idle_kib ? peak_kib - idle_kib : 0) * 1024.0;
}

#define ROW_FMT "%-7s %-5s %9s | %9s %8s %9s %9s %9s | %9s %9s %9s | %9s | %8s %8s %8s\n"

static void print_table(const struct options *opt)
{
	printf(ROW_FMT, "message", "form", "bytes", "dmsc/s", "MB/s", "2thr/s", "peak RSS", "+work",
	       "xmlsec/s", "peak RSS", "+work", "xmlsec1/s", "ratio", "ratio", "ratio");
	printf(ROW_FMT, "", "", "", "1 thread", "", "", "", "", "in-proc", "", "", "per-proc",
	       "in-proc", "per-proc", "CPU");
	for (size_t i = 0; i < opt->nmsgs; i++) {
		const struct message *m = &opt->msgs[i];
		const struct peer *pe = &m->peer;

		for (int f = 0; f < FORM_COUNT; f++) {
			const struct dmsc_result *r = &m->dmsc[f];
			char bytes[24], rate1[16], mbs[16], rate2[16], peak[16], work[16];
			char prate[16], ppeak[16], pwork[16], xrate[16];
			char ratio_in[16], ratio_proc[16], ratio_cpu[16];
			bool inproc = !isnan(pe->inproc_rate);

			snprintf(bytes, sizeof bytes, "%zu", m->form[f].len);
			fmt_rate(rate1, sizeof rate1, r->rate[0]);
			snprintf(mbs, sizeof mbs, "%.1f", r->rate[0] * (double)m->form[f].len / 1e6);
			fmt_rate(rate2, sizeof rate2, r->rate[1]);
			fmt_size(peak, sizeof peak, (double)r->peak_kib * 1024.0);
			fmt_size(work, sizeof work, work_bytes(r->idle_kib, r->peak_kib));
			fmt_rate(prate, sizeof prate, pe->inproc_rate);
			fmt_size(ppeak, sizeof ppeak,
				 inproc ? (double)pe->inproc_peak_kib * 1024.0 : -1.0);
			fmt_size(pwork, sizeof pwork,
				 inproc ? work_bytes(pe->inproc_idle_kib, pe->inproc_peak_kib) : -1.0);
			fmt_rate(xrate, sizeof xrate, pe->proc_rate);
			fmt_ratio(ratio_in, sizeof ratio_in, r->rate[0], pe->inproc_rate);
			fmt_ratio(ratio_proc, sizeof ratio_proc, r->rate[0], pe->proc_rate);
			/* Per message CPU cost, peer over ours: the same ratio
			 * when each had a core, and unbiased when not. */
			fmt_ratio(ratio_cpu, sizeof ratio_cpu, inproc ? pe->inproc_cpu : NAN, r->cpu);
			printf(ROW_FMT, f == 0 ? m->name : "", form_names[f], bytes, rate1, mbs,
			       rate2, peak, work, prate, ppeak, pwork, xrate, ratio_in, ratio_proc,
			       ratio_cpu);
		}
	}
}

/* Whether every timed cell had its CPUs: a lower share means other work
 * ran on the machine (or it has fewer free cores than threads) and the
 * rates, not the CPU ratio, read low. */
static void print_cpu_share(const struct options *opt)
{
	double lowest = 1.0;
	const char *where = NULL, *what = NULL;

	for (size_t i = 0; i < opt->nmsgs; i++) {
		const struct message *m = &opt->msgs[i];

		for (int f = 0; f < FORM_COUNT; f++)
			for (int t = 0; t < MAX_THREADS; t++)
				if (m->dmsc[f].share[t] < lowest) {
					lowest = m->dmsc[f].share[t];
					where = m->name;
					what = t == 0 ? "dmsc, 1 thread" : "dmsc, 2 threads";
				}
		if (!isnan(m->peer.inproc_rate) && m->peer.inproc_share < lowest) {
			lowest = m->peer.inproc_share;
			where = m->name;
			what = "xmlsec in-process";
		}
	}
	if (lowest >= 0.9) {
		printf("\nCPU share: every timed cell ran on its own core(s) (>= 90%%)\n");
		return;
	}
	printf("\nCPU share: WARNING: a cell had only %.0f%% of its core(s) (%s, %s): other work\n"
	       "  on the machine, or fewer free cores than threads; its rate reads low, the CPU\n"
	       "  ratio (CPU time per message) holds\n",
	       100.0 * lowest, where, what);
}

/* How the working memory grows against the message, XML rows. */
static void print_growth(const struct options *opt)
{
	printf("\nworking memory (+work) per byte of message, 1 thread:\n");
	for (size_t i = 0; i < opt->nmsgs; i++) {
		const struct message *m = &opt->msgs[i];

		printf("  %-7s", m->name);
		for (int f = 0; f < FORM_COUNT; f++) {
			double w = work_bytes(m->dmsc[f].idle_kib, m->dmsc[f].peak_kib);

			if (w < 0)
				printf("  dmsc %-5s n/a     ", form_names[f]);
			else
				printf("  dmsc %-5s %5.1f B/B", form_names[f], w / (double)m->form[f].len);
		}
		if (!isnan(m->peer.inproc_rate))
			printf("  xmlsec in-proc %5.1f B/B",
			       work_bytes(m->peer.inproc_idle_kib, m->peer.inproc_peak_kib) /
			       (double)m->form[FORM_XML].len);
		printf("\n");
	}
	printf("  (+work is counted in pages the process touched, so at small sizes it is\n"
	       "   mostly allocator and library start-up; the large sizes show the growth)\n");
}

/* ---- main -------------------------------------------------------------------- */

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: %s --module PATH --key KEY.pem [--pubkey PUB.pem] [--seconds S]\n"
		"         [--xmlsec-bench PROG] [--xmlsec1 PATH] NAME=BASE ...\n"
		"  BASE.xml, BASE.wbxml and BASE.signed.xml per message; the module needs an\n"
		"  initialised token labelled \"%s\" with user PIN \"%s\".\n",
		bench_progname, BENCH_TOKEN_LABEL, BENCH_USER_PIN);
	exit(2);
}

static void parse_args(int argc, char **argv, struct options *opt)
{
	opt->seconds = DEFAULT_SECONDS;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		char *eq;

		if (strcmp(arg, "--module") == 0 && value) {
			opt->module = argv[++i];
		} else if (strcmp(arg, "--key") == 0 && value) {
			opt->key = argv[++i];
		} else if (strcmp(arg, "--pubkey") == 0 && value) {
			opt->pubkey = argv[++i];
		} else if (strcmp(arg, "--xmlsec-bench") == 0 && value) {
			opt->xmlsec_bench = argv[++i];
		} else if (strcmp(arg, "--xmlsec1") == 0 && value) {
			opt->xmlsec1 = argv[++i];
		} else if (strcmp(arg, "--seconds") == 0 && value) {
			char *end;

			opt->seconds = strtod(argv[++i], &end);
			if (end == argv[i] || *end != '\0' || !(opt->seconds > 0.0) ||
			    opt->seconds > 3600.0)
				bench_fail("--seconds: want a number of seconds above 0, got \"%s\"", argv[i]);
		} else if (arg[0] != '-' && (eq = strchr(arg, '=')) != NULL && eq != arg &&
			   eq[1] != '\0') {
			struct message *m;

			if (opt->nmsgs == MAX_MESSAGES)
				bench_fail("at most %d messages", MAX_MESSAGES);
			m = &opt->msgs[opt->nmsgs++];
			*eq = '\0';
			m->name = arg;
			m->base = eq + 1;
		} else {
			usage();
		}
	}
	if (!opt->module || !opt->key || opt->nmsgs == 0)
		usage();
	if ((opt->xmlsec_bench || opt->xmlsec1) && !opt->pubkey)
		bench_fail("the xmlsec peers need --pubkey");
}

static void load_key(const char *path)
{
	FILE *f = fopen(path, "r");

	if (!f)
		bench_fail("%s: %s", path, strerror(errno));
	rsa_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!rsa_key || !EVP_PKEY_is_a(rsa_key, "RSA") || EVP_PKEY_get_bits(rsa_key) != RSA_BITS)
		bench_fail("%s: expected an RSA-%d private key (PEM)", path, RSA_BITS);
}

int main(int argc, char **argv)
{
	static struct options opt;

	parse_args(argc, argv, &opt);
	load_key(opt.key);
	for (size_t i = 0; i < opt.nmsgs; i++) {
		struct message *m = &opt.msgs[i];

		for (int f = 0; f < FORM_COUNT; f++) {
			/* Here only its length: each child reads what it uses. */
			m->path[f] = concat(m->base, form_ext[f]);
			m->form[f] = read_file(m->path[f]);
			free(m->form[f].data);
			m->form[f].data = NULL;
		}
		m->signed_path = concat(m->base, ".signed.xml");
		if (access(m->signed_path, R_OK) != 0 && (opt.xmlsec_bench || opt.xmlsec1))
			bench_fail("%s: %s", m->signed_path, strerror(errno));
	}

	/* Nothing is timed until every message passed its checks. */
	for (size_t i = 0; i < opt.nmsgs; i++)
		check_message(&opt, &opt.msgs[i]);

	for (size_t i = 0; i < opt.nmsgs; i++) {
		struct message *m = &opt.msgs[i];

		for (int f = 0; f < FORM_COUNT; f++) {
			struct child_arg arg = { &opt, m, (enum form)f };

			fprintf(stderr, "%s: %s %s: dmsc\n", bench_progname, m->name,
				form_names[f]);
			in_child(child_time, &arg, &m->dmsc[f], sizeof m->dmsc[f]);
		}
		m->peer.inproc_rate = m->peer.proc_rate = NAN;
		if (opt.xmlsec_bench) {
			struct inproc_out out;

			fprintf(stderr, "%s: %s: xmlsec in-process\n", bench_progname, m->name);
			run_inproc(&opt, m, opt.seconds, &out);
			if (out.seconds <= 0.0 || out.verifies == 0)
				bench_fail("%s measured nothing", opt.xmlsec_bench);
			m->peer.inproc_rate = (double)out.verifies / out.seconds;
			m->peer.inproc_cpu = out.cpu / (double)out.verifies;
			m->peer.inproc_share = out.cpu / out.seconds;
			m->peer.inproc_idle_kib = out.idle_kib;
			m->peer.inproc_peak_kib = out.peak_kib;
		}
		if (opt.xmlsec1) {
			fprintf(stderr, "%s: %s: xmlsec1 per process\n", bench_progname, m->name);
			m->peer.proc_rate = time_xmlsec1(&opt, m);
		}
	}

	printf("bench-dm: canonicalise-and-verify, CKM_DMSC_SHA256_RSA_PKCS (RSA-2048) against an XML-DSig\n"
	       "(enveloped, exclusive C14N, RSA-SHA256) over the same message; %s, %.1f s per cell\n"
	       "  dmsc/s: C_VerifyInit + C_Verify per message, 1 thread (2thr/s: 2 threads, a session each)\n"
	       "  MB/s: 10^6 bytes of the form given; peak RSS: the 1-thread run's process; +work: peak - idle\n"
	       "  xmlsec/s in-proc: libxmlsec1 (%s), parse + xmlSecDSigCtxVerify, key loaded once\n"
	       "  xmlsec1/s per-proc: one `xmlsec1 --verify` process per message; WBXML rows: the XML's peers\n"
	       "  ratio: dmsc/s over the peer's (target: >= 3x in-proc); CPU: the in-proc peer's CPU time\n"
	       "  per message over ours\n\n",
	       OpenSSL_version(OPENSSL_VERSION), opt.seconds,
	       opt.xmlsec_bench ? opt.xmlsec_bench : "not run");
	print_table(&opt);
	print_cpu_share(&opt);
	print_growth(&opt);

	for (size_t i = 0; i < opt.nmsgs; i++) {
		for (int f = 0; f < FORM_COUNT; f++)
			free(opt.msgs[i].path[f]);
		free(opt.msgs[i].signed_path);
	}
	EVP_PKEY_free(rsa_key);
	return 0;
}
