/* dm-ext/tool/read-input.c - whole, bounded inputs (read-input.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "read-input.h"

#define CHUNK (64u * 1024u)

const char *dmsc_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

int dmsc_read_input(const char *path, size_t max, unsigned char **buf,
                    size_t *len)
{
	const char *name = dmsc_input_name(path);
	int fd = STDIN_FILENO, rc = DMSC_EXIT_USAGE;
	unsigned char *b = NULL, *bigger;
	size_t have = 0, cap = 0;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			dmsc_error("%s: cannot open: %s", name, strerror(errno));
			return DMSC_EXIT_USAGE;
		}
	}
	for (;;) {
		if (cap - have < CHUNK) {
			/* One byte past max tells "too large" from "max". */
			size_t want = cap + CHUNK;

			if (want > max + 2)
				want = max + 2;
			if (want <= have + 1) {
				dmsc_error("%s: larger than %zu bytes: refused",
				           name, max);
				rc = DMSC_EXIT_REFUSED;
				goto done;
			}
			bigger = realloc(b, want);
			if (bigger == NULL) {
				dmsc_error("%s: out of memory", name);
				goto done;
			}
			b = bigger;
			cap = want;
		}
		n = read(fd, b + have, cap - have - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dmsc_error("%s: cannot read: %s", name, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			dmsc_error("%s: larger than %zu bytes: refused", name,
			           max);
			rc = DMSC_EXIT_REFUSED;
			goto done;
		}
	}
	if (b == NULL && (b = malloc(1)) == NULL) {
		dmsc_error("%s: out of memory", name);
		goto done;
	}
	b[have] = '\0';
	*buf = b;
	*len = have;
	b = NULL;
	rc = DMSC_EXIT_OK;
done:
	free(b);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
