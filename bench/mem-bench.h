/* The memory a benchmark process uses, from /proc/self/status (Linux). */
#ifndef DMSC_MEM_BENCH_H
#define DMSC_MEM_BENCH_H

#include <stdbool.h>

/* Resident set now (VmRSS) and its peak (VmHWM), in KiB; -1 if unknown. */
long bench_rss_kib(void);
long bench_peak_rss_kib(void);

/* Start the peak over from the current resident set ("5" into
 * /proc/self/clear_refs, Linux 4.0+), so the peak of what follows can be
 * read alone. False if the kernel refused. */
bool bench_peak_rss_reset(void);

#endif
