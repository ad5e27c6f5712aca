/*
 * bench-objects: object-store benchmark for PKCS#11 modules.
 *
 *   bench-objects [--sizes 1000,3000,10000,100000] [--ops N]
 *                 NAME=MODULE_PATH[@MAXSIZE] ...
 *
 * A generic PKCS#11 client: it knows nothing of dmsc, so the same code
 * measures our module and the reference ones (SoftHSM) alike. Each module
 * must show an initialised token labelled "bench" with user PIN "1234"
 * (bench/run-bench.sh prepares them).
 *
 * For every store size S (ascending, skipping sizes above a module's
 * MAXSIZE) the token is filled with S token data objects, untimed, then
 * three operations are timed, each for at most --ops operations or about
 * TIME_BUDGET_SECS of wall time, whichever comes first:
 *   creates   new token data objects, growing the store from S;
 *   destroys  the objects just created, bringing the store back to S;
 *   finds     CKA_CLASS + CKA_LABEL of a random existing object, at
 *             exactly S objects; every find must return exactly one handle.
 * Destroys run before finds so that finds see the store at exactly S.
 *
 * Any PKCS#11 error prints the function and its CKR code and exits 1.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bench-util.h"
#include "p11-bench.h"

#include <dlfcn.h>

#include <p11-kit/pkcs11.h>

#define BENCH_TOKEN_LABEL "bench"
#define BENCH_APPLICATION "bench"
#define BENCH_USER_PIN "1234"
#define VALUE_LEN 64
#define LABEL_LEN 32
#define TIME_BUDGET_SECS 3.0
#define DEFAULT_OPS 1000
#define DEFAULT_SIZES "1000,3000,10000,100000"
#define MAX_SIZES 16
#define MAX_MODULES 8
/* Handles fetched per C_FindObjects call when collecting for cleanup. */
#define CLEANUP_BATCH 256

/* One timed phase: how many operations completed in how long. */
struct phase {
	size_t done;
	double secs;
	bool capped;	/* stopped by the time budget before --ops */
};

struct result {
	bool ran;
	struct phase create;
	struct phase find;
	struct phase destroy;
};

struct module {
	const char *name;
	const char *path;
	size_t max_size;	/* SIZE_MAX: no limit */
	void *dl;
	CK_FUNCTION_LIST_PTR p11;
	CK_SESSION_HANDLE session;
	/*
	 * Fill objects present, labelled obj-0 .. obj-(filled-1). Objects of
	 * the create phase take the labels just above and are all destroyed
	 * before the next fill, so labels stay unique and a random existing
	 * label is just a random number below `filled`.
	 */
	size_t filled;
	struct result results[MAX_SIZES];
};

struct options {
	size_t sizes[MAX_SIZES];
	size_t nsizes;
	size_t ops;
	struct module modules[MAX_MODULES];
	size_t nmodules;
};

/* One benchmarked operation; `i` counts operations within the phase. */
typedef void (*bench_op)(struct module *m, size_t i, void *ctx);

const char *const bench_progname = "bench-objects";

/* ---- errors ---------------------------------------------------------- */

static void check_rv(const struct module *m, const char *function, CK_RV rv)
{
	if (rv != CKR_OK)
		bench_fail("%s: %s failed: CKR 0x%08lx", m->name, function,
		     (unsigned long)rv);
}

/* ---- time and randomness --------------------------------------------- */

/*
 * xorshift64*: object values and label picks need to be varied, not
 * secret, and a syscall per pick would be measured along with the find.
 */
static uint64_t rng_state;

static void rng_seed(void)
{
	if (getrandom(&rng_state, sizeof rng_state, 0) != sizeof rng_state)
		bench_fail("getrandom failed");
	if (rng_state == 0)
		rng_state = 1;
}

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/* The modulo bias is negligible for store sizes far below 2^64. */
static size_t rng_below(size_t n)
{
	return (size_t)(rng_next() % n);
}

static void rng_fill(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(rng_next() >> 56);
}

/* ---- objects ----------------------------------------------------------- */

static void format_label(char *buf, size_t size, size_t label_no)
{
	snprintf(buf, size, "obj-%zu", label_no);
}

static CK_OBJECT_HANDLE create_data_object(struct module *m, size_t label_no)
{
	CK_OBJECT_CLASS data_class = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char application[] = BENCH_APPLICATION;
	char label[LABEL_LEN];
	unsigned char value[VALUE_LEN];
	CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;

	format_label(label, sizeof label, label_no);
	rng_fill(value, sizeof value);
	CK_ATTRIBUTE template[] = {
		{ CKA_CLASS, &data_class, sizeof data_class },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &no, sizeof no },
		{ CKA_APPLICATION, application, sizeof application - 1 },
		{ CKA_LABEL, label, strlen(label) },
		{ CKA_VALUE, value, sizeof value },
	};
	check_rv(m, "C_CreateObject",
		 m->p11->C_CreateObject(m->session, template,
					sizeof template / sizeof template[0],
					&handle));
	return handle;
}

/*
 * Count the objects of class DATA with the given label, calling
 * C_FindObjects until it reports no more: a module may return fewer
 * handles per call than asked even when more match, and a duplicate
 * must not go unnoticed.
 */
static size_t count_by_label(struct module *m, size_t label_no)
{
	CK_OBJECT_CLASS data_class = CKO_DATA;
	char label[LABEL_LEN];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG count;
	size_t total = 0;

	format_label(label, sizeof label, label_no);
	CK_ATTRIBUTE template[] = {
		{ CKA_CLASS, &data_class, sizeof data_class },
		{ CKA_LABEL, label, strlen(label) },
	};
	check_rv(m, "C_FindObjectsInit",
		 m->p11->C_FindObjectsInit(m->session, template,
					   sizeof template / sizeof template[0]));
	do {
		count = 0;
		check_rv(m, "C_FindObjects",
			 m->p11->C_FindObjects(m->session, found, 2, &count));
		total += count;
	} while (count > 0 && total < 2);
	check_rv(m, "C_FindObjectsFinal",
		 m->p11->C_FindObjectsFinal(m->session));
	return total;
}

/* All token data objects this benchmark made (CKA_APPLICATION "bench"). */
static CK_OBJECT_HANDLE *collect_bench_objects(struct module *m, size_t *n)
{
	CK_OBJECT_CLASS data_class = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	char application[] = BENCH_APPLICATION;
	CK_ATTRIBUTE template[] = {
		{ CKA_CLASS, &data_class, sizeof data_class },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_APPLICATION, application, sizeof application - 1 },
	};
	size_t capacity = CLEANUP_BATCH, total = 0;
	CK_OBJECT_HANDLE *handles = bench_xcalloc(capacity, sizeof *handles);
	CK_ULONG count;

	check_rv(m, "C_FindObjectsInit",
		 m->p11->C_FindObjectsInit(m->session, template,
					   sizeof template / sizeof template[0]));
	do {
		if (capacity - total < CLEANUP_BATCH) {
			capacity *= 2;
			handles = realloc(handles, capacity * sizeof *handles);
			if (!handles)
				bench_fail("out of memory");
		}
		count = 0;
		check_rv(m, "C_FindObjects",
			 m->p11->C_FindObjects(m->session, handles + total,
					       CLEANUP_BATCH, &count));
		total += count;
	} while (count > 0);
	check_rv(m, "C_FindObjectsFinal",
		 m->p11->C_FindObjectsFinal(m->session));
	*n = total;
	return handles;
}

/*
 * Destroy after the search has ended: destroying objects while a search
 * over them is active is left undefined by PKCS#11.
 */
static size_t destroy_bench_objects(struct module *m)
{
	size_t n;
	CK_OBJECT_HANDLE *handles = collect_bench_objects(m, &n);

	for (size_t i = 0; i < n; i++)
		check_rv(m, "C_DestroyObject",
			 m->p11->C_DestroyObject(m->session, handles[i]));
	free(handles);
	m->filled = 0;
	return n;
}

/* ---- module lifecycle ---------------------------------------------------- */

static void load_module(struct module *m)
{
	m->p11 = bench_load_module(bench_progname, m->name, m->path, &m->dl);
}

static CK_SLOT_ID find_bench_slot(struct module *m)
{
	return bench_find_token(bench_progname, m->name, m->p11, BENCH_TOKEN_LABEL);
}

static void open_module(struct module *m)
{
	CK_C_INITIALIZE_ARGS init_args;
	unsigned char pin[] = BENCH_USER_PIN;
	CK_SLOT_ID slot;
	CK_RV rv;

	load_module(m);
	memset(&init_args, 0, sizeof init_args);
	init_args.flags = CKF_OS_LOCKING_OK;
	check_rv(m, "C_Initialize", m->p11->C_Initialize(&init_args));
	slot = find_bench_slot(m);
	check_rv(m, "C_OpenSession",
		 m->p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
				       NULL, NULL, &m->session));
	rv = m->p11->C_Login(m->session, CKU_USER, pin, sizeof pin - 1);
	if (rv != CKR_USER_ALREADY_LOGGED_IN)
		check_rv(m, "C_Login", rv);
}

static void close_module(struct module *m)
{
	check_rv(m, "C_Logout", m->p11->C_Logout(m->session));
	check_rv(m, "C_CloseSession", m->p11->C_CloseSession(m->session));
	check_rv(m, "C_Finalize", m->p11->C_Finalize(NULL));
	dlclose(m->dl);
	m->dl = NULL;
	m->p11 = NULL;
}

/* ---- the benchmark --------------------------------------------------- */

/* Run `op` up to `ops` times, stopping once the time budget is spent. */
static struct phase run_timed(struct module *m, size_t ops, bench_op op,
			      void *ctx)
{
	struct phase p = { 0, 0.0, false };
	double start = bench_now_secs(), elapsed = 0.0;

	while (p.done < ops && elapsed < TIME_BUDGET_SECS) {
		op(m, p.done, ctx);
		p.done++;
		elapsed = bench_now_secs() - start;
	}
	p.secs = elapsed;
	p.capped = p.done < ops;
	return p;
}

static void op_create(struct module *m, size_t i, void *ctx)
{
	CK_OBJECT_HANDLE *created = ctx;

	created[i] = create_data_object(m, m->filled + i);
}

static void op_destroy(struct module *m, size_t i, void *ctx)
{
	CK_OBJECT_HANDLE *created = ctx;

	check_rv(m, "C_DestroyObject",
		 m->p11->C_DestroyObject(m->session, created[i]));
}

static void op_find(struct module *m, size_t i, void *ctx)
{
	size_t label_no = rng_below(m->filled);
	size_t count = count_by_label(m, label_no);

	(void)i;
	(void)ctx;
	if (count != 1)
		bench_fail("%s: find of label obj-%zu returned %zu objects, expected exactly 1",
		     m->name, label_no, count);
}

static void fill_to(struct module *m, size_t size)
{
	double start = bench_now_secs();
	size_t before = m->filled;

	while (m->filled < size) {
		create_data_object(m, m->filled);
		m->filled++;
	}
	fprintf(stderr, "%s: %zu objects: filled %zu in %.1f s\n", m->name,
		size, size - before, bench_now_secs() - start);
}

static void report_phase(const struct module *m, size_t size,
			 const char *what, const struct phase *p)
{
	fprintf(stderr, "%s: %zu objects: %zu %s in %.3f s%s\n", m->name, size,
		p->done, what, p->secs, p->capped ? " (time budget reached)" : "");
}

static void bench_size(struct module *m, size_t size, size_t ops,
		       CK_OBJECT_HANDLE *created, struct result *r)
{
	fill_to(m, size);

	r->create = run_timed(m, ops, op_create, created);
	report_phase(m, size, "creates", &r->create);

	r->destroy = run_timed(m, r->create.done, op_destroy, created);
	report_phase(m, size, "destroys", &r->destroy);
	/* Whatever the time budget left standing goes too, untimed. */
	for (size_t i = r->destroy.done; i < r->create.done; i++)
		op_destroy(m, i, created);

	r->find = run_timed(m, ops, op_find, NULL);
	report_phase(m, size, "finds", &r->find);
	r->ran = true;
}

static void run_module(const struct options *opt, struct module *m)
{
	CK_OBJECT_HANDLE *created = bench_xcalloc(opt->ops, sizeof *created);
	size_t leftovers, removed;

	open_module(m);
	/* A run that died halfway leaves objects whose labels would clash. */
	leftovers = destroy_bench_objects(m);
	if (leftovers > 0)
		fprintf(stderr, "%s: removed %zu objects left by an earlier run\n",
			m->name, leftovers);
	for (size_t i = 0; i < opt->nsizes; i++) {
		if (opt->sizes[i] > m->max_size)
			continue;
		bench_size(m, opt->sizes[i], opt->ops, created, &m->results[i]);
	}
	removed = destroy_bench_objects(m);
	fprintf(stderr, "%s: cleaned up %zu objects\n", m->name, removed);
	close_module(m);
	free(created);
}

/* ---- report ---------------------------------------------------------- */

static double phase_rate(const struct phase *p)
{
	return p->secs > 0.0 ? (double)p->done / p->secs : 0.0;
}

static void format_rate(char *buf, size_t size, const struct phase *p)
{
	if (p->done == 0 || p->secs <= 0.0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1f%s", phase_rate(p),
			 p->capped ? "*" : "");
}

static void format_ratio(char *buf, size_t size, const struct phase *a,
			 const struct phase *b)
{
	if (phase_rate(a) > 0.0 && phase_rate(b) > 0.0)
		snprintf(buf, size, "%.2f", phase_rate(a) / phase_rate(b));
	else
		snprintf(buf, size, "-");
}

static void print_row(size_t size, int name_width, const char *name,
		      const char *create, const char *find, const char *destroy)
{
	printf("%-9zu %-*s %12s %12s %12s\n", size, name_width, name, create,
	       find, destroy);
}

static void print_result_row(size_t size, int name_width,
			     const struct module *m, const struct result *r)
{
	char create[32], find[32], destroy[32];

	format_rate(create, sizeof create, &r->create);
	format_rate(find, sizeof find, &r->find);
	format_rate(destroy, sizeof destroy, &r->destroy);
	print_row(size, name_width, m->name, create, find, destroy);
}

/* The first module is the one under test: compare it with each other. */
static void print_ratio_row(size_t size, int name_width,
			    const struct module *first,
			    const struct module *other, size_t size_index)
{
	const struct result *a = &first->results[size_index];
	const struct result *b = &other->results[size_index];
	char name[64], create[32], find[32], destroy[32];

	snprintf(name, sizeof name, "%s/%s", first->name, other->name);
	format_ratio(create, sizeof create, &a->create, &b->create);
	format_ratio(find, sizeof find, &a->find, &b->find);
	format_ratio(destroy, sizeof destroy, &a->destroy, &b->destroy);
	print_row(size, name_width, name, create, find, destroy);
}

static int name_column_width(const struct options *opt)
{
	size_t width = strlen("module");

	for (size_t j = 0; j < opt->nmodules; j++) {
		size_t len = strlen(opt->modules[j].name);

		if (j > 0)	/* ratio rows: "first/other" */
			len += strlen(opt->modules[0].name) + 1;
		if (len > width)
			width = len;
	}
	return width > 63 ? 63 : (int)width;
}

static void print_table(const struct options *opt)
{
	int width = name_column_width(opt);
	bool any_capped = false;

	printf("%-9s %-*s %12s %12s %12s\n", "objects", width, "module",
	       "creates/s", "finds/s", "destroys/s");
	for (size_t i = 0; i < opt->nsizes; i++) {
		const struct module *first = &opt->modules[0];

		for (size_t j = 0; j < opt->nmodules; j++) {
			const struct result *r = &opt->modules[j].results[i];

			if (!r->ran)
				continue;
			print_result_row(opt->sizes[i], width, &opt->modules[j], r);
			any_capped |= r->create.capped || r->find.capped ||
				      r->destroy.capped;
		}
		if (!first->results[i].ran)
			continue;
		for (size_t j = 1; j < opt->nmodules; j++)
			if (opt->modules[j].results[i].ran)
				print_ratio_row(opt->sizes[i], width, first,
						&opt->modules[j], i);
	}
	if (any_capped)
		printf("* stopped after ~%.0f s, before %zu ops (counts in the log)\n",
		       TIME_BUDGET_SECS, opt->ops);
}

/* ---- command line ---------------------------------------------------- */

static _Noreturn void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: %s [--sizes N,N,...] [--ops N] NAME=MODULE_PATH[@MAXSIZE] ...\n"
		"  --sizes  store sizes to measure at (default " DEFAULT_SIZES ")\n"
		"  --ops    operations per measurement (default %d; each stops after ~%.0f s)\n"
		"  MAXSIZE  skip store sizes above this for that module\n"
		"The first module is compared with each other one.\n",
		bench_progname, DEFAULT_OPS, TIME_BUDGET_SECS);
	exit(status);
}

static bool parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0 || v > SIZE_MAX)
		return false;
	*out = (size_t)v;
	return true;
}

static int compare_sizes(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Sizes run ascending: each fill only tops up the previous one. */
static void parse_sizes(const char *list, struct options *opt)
{
	char *copy = strdup(list), *save = NULL;
	size_t n = 0;

	if (!copy)
		bench_fail("out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_SIZES)
			bench_fail("at most %d sizes", MAX_SIZES);
		if (!parse_count(tok, &opt->sizes[n]))
			bench_fail("bad size \"%s\"", tok);
		n++;
	}
	free(copy);
	if (n == 0)
		bench_fail("--sizes needs at least one size");
	qsort(opt->sizes, n, sizeof opt->sizes[0], compare_sizes);
	opt->nsizes = 0;
	for (size_t i = 0; i < n; i++)
		if (opt->nsizes == 0 || opt->sizes[opt->nsizes - 1] != opt->sizes[i])
			opt->sizes[opt->nsizes++] = opt->sizes[i];
}

/* NAME=MODULE_PATH[@MAXSIZE]; edits `spec` in place. */
static void parse_module(char *spec, struct module *m)
{
	char *eq = strchr(spec, '='), *at;

	if (!eq || eq == spec || eq[1] == '\0')
		bench_fail("bad module \"%s\": want NAME=MODULE_PATH[@MAXSIZE]", spec);
	*eq = '\0';
	m->name = spec;
	m->path = eq + 1;
	m->max_size = SIZE_MAX;
	/* Only a trailing @digits is a limit; an '@' elsewhere is path. */
	at = strrchr(eq + 1, '@');
	if (at && at != eq + 1 && parse_count(at + 1, &m->max_size))
		*at = '\0';
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	int i;

	memset(opt, 0, sizeof *opt);
	opt->ops = DEFAULT_OPS;
	parse_sizes(DEFAULT_SIZES, opt);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			usage(0);
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			usage(2);
		if (strcmp(argv[i], "--sizes") == 0)
			parse_sizes(argv[++i], opt);
		else if (strcmp(argv[i], "--ops") == 0) {
			if (!parse_count(argv[++i], &opt->ops))
				bench_fail("bad --ops \"%s\"", argv[i]);
		} else
			usage(2);
	}
	for (; i < argc; i++) {
		if (opt->nmodules == MAX_MODULES)
			bench_fail("at most %d modules", MAX_MODULES);
		parse_module(argv[i], &opt->modules[opt->nmodules++]);
	}
	if (opt->nmodules == 0)
		usage(2);
}

int main(int argc, char **argv)
{
	struct options opt;

	parse_options(argc, argv, &opt);
	rng_seed();
	for (size_t j = 0; j < opt.nmodules; j++)
		run_module(&opt, &opt.modules[j]);
	print_table(&opt);
	return 0;
}
