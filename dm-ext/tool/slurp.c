/*
 * dm-ext/tool/slurp.c - read a whole small file, bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slurp.h"

int slurp(const char *path, size_t max, unsigned char **out, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO
	                                : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	unsigned char *buf = NULL, *p;
	ssize_t r;
	int saved;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		if (n + 1 >= cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			p = realloc(buf, cap);
			if (p == NULL) {
				errno = ENOMEM;
				goto fail;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	saved = errno;
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	errno = saved;
	return -1;
}

int byte_buf_append(void *ctx, const unsigned char *data, size_t len)
{
	struct byte_buf *b = ctx;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		unsigned char *p = realloc(b->data, cap);

		if (p == NULL)
			return 1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}
