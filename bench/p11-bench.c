/* Module loading and token lookup shared by the benchmark programs. */
#include "p11-bench.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void die(const char *progname, const char *who, const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s: %s%s%s\n", progname, who, what, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static void check(const char *progname, const char *who, const char *function, CK_RV rv)
{
	char detail[32];

	if (rv == CKR_OK)
		return;
	snprintf(detail, sizeof(detail), "CKR 0x%08lx", (unsigned long)rv);
	fprintf(stderr, "%s: %s: %s failed: %s\n", progname, who, function, detail);
	exit(1);
}

CK_FUNCTION_LIST_PTR bench_load_module(const char *progname, const char *who, const char *path,
				       void **dl)
{
	CK_C_GetFunctionList get_function_list;
	CK_FUNCTION_LIST_PTR p11 = NULL;

	*dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*dl)
		die(progname, who, "cannot load the module", dlerror());
	get_function_list = (CK_C_GetFunctionList)dlsym(*dl, "C_GetFunctionList");
	if (!get_function_list)
		die(progname, who, "the module has no C_GetFunctionList", path);
	check(progname, who, "C_GetFunctionList", get_function_list(&p11));
	return p11;
}

static bool label_is(const unsigned char label[32], const char *want)
{
	size_t len = strlen(want);

	if (len > 32 || memcmp(label, want, len) != 0)
		return false;
	/* Token labels are blank-padded, not NUL-terminated. */
	for (size_t i = len; i < 32; i++)
		if (label[i] != ' ')
			return false;
	return true;
}

CK_SLOT_ID bench_find_token(const char *progname, const char *who, CK_FUNCTION_LIST_PTR p11,
			    const char *label)
{
	CK_ULONG n = 0;
	CK_SLOT_ID *slots;

	check(progname, who, "C_GetSlotList", p11->C_GetSlotList(CK_TRUE, NULL, &n));
	slots = calloc(n ? n : 1, sizeof *slots);
	if (!slots)
		die(progname, who, "out of memory", NULL);
	check(progname, who, "C_GetSlotList", p11->C_GetSlotList(CK_TRUE, slots, &n));
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO info;

		check(progname, who, "C_GetTokenInfo", p11->C_GetTokenInfo(slots[i], &info));
		if ((info.flags & CKF_TOKEN_INITIALIZED) && label_is(info.label, label)) {
			CK_SLOT_ID found = slots[i];

			free(slots);
			return found;
		}
	}
	free(slots);
	fprintf(stderr, "%s: %s: no initialised token labelled \"%s\"\n", progname, who, label);
	exit(1);
}
