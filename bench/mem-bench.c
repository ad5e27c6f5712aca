/* Resident set and its peak for the benchmark programs. */
#include "mem-bench.h"

#include <stdio.h>
#include <string.h>

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			if (sscanf(line + n + 1, "%ld", &kib) != 1)
				kib = -1;
			break;
		}
	fclose(f);
	return kib;
}

long bench_rss_kib(void)
{
	return status_kib("VmRSS");
}

long bench_peak_rss_kib(void)
{
	return status_kib("VmHWM");
}

bool bench_peak_rss_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}
