/* dm-ext/tool/mo-path.c - MO node paths (mo-path.h). */
#include <string.h>

#include "mo-path.h"

bool dmsc_mo_path_ok(const char *path, const char **why)
{
	const char *seg, *end;
	size_t len = strlen(path), n;

	if (len > DMSC_MO_PATH_MAX) {
		*why = "longer than 1024 bytes";
		return false;
	}
	if (strncmp(path, "./", 2) != 0 || len == 2) {
		*why = "an MO path is absolute: ./ and the node names, as in "
		       "./DMAcc/OperatorX";
		return false;
	}
	for (seg = path + 2; ; seg = end + 1) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (n == 0) {
			*why = "an empty node name (// or a trailing /)";
			return false;
		}
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			*why = "a node name . or .. (give the path without "
			       "them)";
			return false;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f) {
				*why = "a control character";
				return false;
			}
		if (end == NULL)
			return true;
	}
}
