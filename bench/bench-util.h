/* What the benchmark programs share beyond PKCS#11 and OpenSSL: dying
 * with a message, memory that is never NULL, the clocks, reading a whole
 * file. Nothing here needs a module or a library, so the programs that
 * load no module (gen-dm-msg, bench-dm-xmlsec) use it too. */
#ifndef DMSC_BENCH_UTIL_H
#define DMSC_BENCH_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* The program's name, for messages: each program defines it. */
extern const char *const bench_progname;

/* Flush stdout, print "PROGNAME: " and the message on stderr, exit 1. */
_Noreturn void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc and calloc that fail (out of memory) instead of returning NULL;
 * a size of 0 still gives a block. */
void *bench_xmalloc(size_t size);
void *bench_xcalloc(size_t n, size_t size);

/* A clock in seconds. Inline: the timed loops read it between
 * operations. */
static inline double bench_clock_secs(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time: CLOCK_MONOTONIC in seconds. */
static inline double bench_now_secs(void)
{
	return bench_clock_secs(CLOCK_MONOTONIC);
}

/* pthread_barrier_wait that fails on an error. Inline, so that the
 * programs without threads need no pthread functions. */
static inline void bench_barrier_wait(pthread_barrier_t *b)
{
	int rc = pthread_barrier_wait(b);

	if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		bench_fail("pthread_barrier_wait failed");
}

/* The whole file at path (malloc'd, *len bytes, maybe 0); fails if it
 * cannot be read. */
unsigned char *bench_read_file(const char *path, size_t *len);

#endif
