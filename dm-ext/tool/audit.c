/*
 * dm-ext/tool/audit.c - append one JSON line per approval decision.
 *
 * The line is built in memory (open_memstream, strings escaped by
 * json-out.c) and written with one write() on an O_APPEND descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "json-out.h"

static void field(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",\"%s\":", name);
	if (value == NULL)
		fputs("null", out);
	else
		dmsc_json_string(out, value);
}

int audit_append(const char *path, const audit_record *r, char *why,
                 size_t why_len)
{
	char now[32], *line = NULL;
	size_t len = 0;
	struct stat st;
	struct tm tm;
	time_t t = time(NULL);
	FILE *out = open_memstream(&line, &len);
	ssize_t n;
	int fd, rc = -1;

	if (out == NULL) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "{\"time\":\"%s\"", now);
	field(out, "operation", r->operation);
	field(out, "package", r->package);
	if (r->size < 0)
		fputs(",\"size\":null", out);
	else
		fprintf(out, ",\"size\":%lld", r->size);
	field(out, "digest", r->digest);
	field(out, "signer", r->signer);
	field(out, "certificate", r->certificate);
	field(out, "key", r->key);
	field(out, "result", r->result);
	field(out, "policy", r->policy);
	field(out, "reason", r->reason);
	fputs("}\n", out);
	if (fclose(out) != 0 || line == NULL) {
		snprintf(why, why_len, "out of memory");
		goto done;
	}
	/* O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of
	 * blocking the decision for ever. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	          O_NONBLOCK, 0600);
	if (fd < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		goto done;
	}
	/* A record must stay where it was written, as it was written. */
	if (fstat(fd, &st) != 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		close(fd);
		goto done;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, why_len, "%s", !S_ISREG(st.st_mode)
		         ? "not a regular file"
		         : "writable by group or others, who could forge or "
		           "erase records (chmod go-w it)");
		close(fd);
		goto done;
	}
	n = write(fd, line, len);
	if (n < 0 || (size_t)n != len) {
		snprintf(why, why_len, "%s",
		         n < 0 ? strerror(errno) : "short write");
		close(fd);
		goto done;
	}
	if (close(fd) != 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		goto done;
	}
	rc = 0;
done:
	free(line);
	return rc;
}
