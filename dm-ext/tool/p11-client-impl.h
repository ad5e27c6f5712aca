/*
 * dm-ext/tool/p11-client-impl.h - the client's state, shared by the
 * p11-*.c files that implement p11-client.h; commands use p11-client.h.
 */
#ifndef DMSC_TOOL_P11_CLIENT_IMPL_H
#define DMSC_TOOL_P11_CLIENT_IMPL_H

#include <p11-kit/uri.h>

#include "p11-client.h"

struct dmsc_p11 {
	const struct dmsc_common *common;
	const char *module;          /* the path loaded */
	char *module_abs;            /* owned: a relative --module made
	                                absolute */
	P11KitUri *uri;              /* --token, parsed; NULL without one */
	const char *uri_text;
	CK_FUNCTION_LIST *fn;
	bool initialized;            /* C_Initialize succeeded */
	CK_SLOT_ID slot;
	CK_SLOT_INFO slot_info;
	CK_TOKEN_INFO token_info;
	char label[sizeof ((CK_TOKEN_INFO *)0)->label + 1];
	CK_SESSION_HANDLE session;   /* CK_INVALID_HANDLE: none */
	bool logged_in;
	CK_USER_TYPE login_as;       /* whose PIN tries an error counts */
};

#endif /* DMSC_TOOL_P11_CLIENT_IMPL_H */
