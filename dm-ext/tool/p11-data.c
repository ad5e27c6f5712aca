/*
 * dm-ext/tool/p11-data.c - CKO_DATA token objects by CKA_APPLICATION and
 * CKA_LABEL (DESIGN.md, "DM objects on the card"; p11-client.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11-client-impl.h"

/* Objects fetched per C_FindObjects call. */
#define FIND_BATCH 64u
/* More than this many data objects of one application: refused, not
 * read into memory. */
#define MAX_OBJECTS 65536u

/* The handles of the token's CKO_DATA objects of app (any app if NULL)
 * and label (any label if NULL). */
static CK_RV find(dmsc_p11 *p, const char *app, const char *label,
                  CK_OBJECT_HANDLE **out, size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[4] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_TOKEN, &yes, sizeof yes },
	};
	CK_ULONG nt = 2, got;
	CK_OBJECT_HANDLE *h = NULL, *bigger;
	size_t have = 0, cap = 0;
	CK_RV rv, frv;

	if (app != NULL)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_APPLICATION, (void *)app,
		                             strlen(app) };
	if (label != NULL)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label,
		                             strlen(label) };
	rv = p->fn->C_FindObjectsInit(p->session, tmpl, nt);
	if (rv != CKR_OK)
		return rv;
	for (;;) {
		if (have + FIND_BATCH > cap) {
			if (cap >= MAX_OBJECTS) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			cap = cap == 0 ? FIND_BATCH : cap * 2;
			bigger = realloc(h, cap * sizeof *h);
			if (bigger == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			h = bigger;
		}
		rv = p->fn->C_FindObjects(p->session, h + have, FIND_BATCH,
		                          &got);
		if (rv != CKR_OK || got == 0)
			break;
		have += got;
	}
	frv = p->fn->C_FindObjectsFinal(p->session);
	if (rv == CKR_OK)
		rv = frv;
	if (rv != CKR_OK) {
		free(h);
		return rv;
	}
	*out = h;
	*n = have;
	return CKR_OK;
}

CK_RV dmsc_p11_data_find(dmsc_p11 *p, const char *app, const char *label,
                         CK_OBJECT_HANDLE *handle, bool *found)
{
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	CK_RV rv = find(p, app, label, &h, &n);

	*found = false;
	if (rv != CKR_OK)
		return rv;
	if (n > 1)
		rv = CKR_GENERAL_ERROR;
	else if (n == 1) {
		*handle = h[0];
		*found = true;
	}
	free(h);
	return rv;
}

/* Label, size and privacy of one object. */
static CK_RV describe(dmsc_p11 *p, CK_OBJECT_HANDLE h,
                      struct dmsc_p11_data *d)
{
	CK_BBOOL priv = CK_FALSE;
	CK_ATTRIBUTE a[3] = {
		{ CKA_LABEL, NULL, 0 },
		{ CKA_VALUE, NULL, 0 },
		{ CKA_PRIVATE, &priv, sizeof priv },
	};
	CK_RV rv = p->fn->C_GetAttributeValue(p->session, h, a, 3);

	if (rv != CKR_OK)
		return rv;
	if (a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a[0].ulValueLen > DMSC_P11_VALUE_MAX)
		a[0].ulValueLen = 0;
	d->handle = h;
	d->value_len = a[1].ulValueLen == CK_UNAVAILABLE_INFORMATION
	                       ? 0 : a[1].ulValueLen;
	d->is_private = priv == CK_TRUE;
	d->label = calloc(1, a[0].ulValueLen + 1);
	if (d->label == NULL)
		return CKR_HOST_MEMORY;
	if (a[0].ulValueLen == 0)
		return CKR_OK;
	a[0].pValue = d->label;
	return p->fn->C_GetAttributeValue(p->session, h, a, 1);
}

static int by_label(const void *a, const void *b)
{
	const struct dmsc_p11_data *x = a, *y = b;

	return strcmp(x->label, y->label);
}

CK_RV dmsc_p11_data_list(dmsc_p11 *p, const char *app,
                         struct dmsc_p11_data **out, size_t *n)
{
	CK_OBJECT_HANDLE *h = NULL;
	struct dmsc_p11_data *list = NULL;
	size_t count = 0, i;
	CK_RV rv = find(p, app, NULL, &h, &count);

	*out = NULL;
	*n = 0;
	if (rv != CKR_OK)
		return rv;
	list = calloc(count + 1, sizeof *list);
	if (list == NULL) {
		free(h);
		return CKR_HOST_MEMORY;
	}
	for (i = 0; i < count && rv == CKR_OK; i++)
		rv = describe(p, h[i], &list[i]);
	free(h);
	if (rv != CKR_OK) {
		dmsc_p11_data_free(list, count);
		return rv;
	}
	qsort(list, count, sizeof *list, by_label);
	*out = list;
	*n = count;
	return CKR_OK;
}

void dmsc_p11_data_free(struct dmsc_p11_data *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		free(list[i].label);
	free(list);
}

CK_RV dmsc_p11_data_read(dmsc_p11 *p, CK_OBJECT_HANDLE handle,
                         unsigned char **value, size_t *len)
{
	CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
	CK_RV rv = p->fn->C_GetAttributeValue(p->session, handle, &a, 1);

	*value = NULL;
	*len = 0;
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_SENSITIVE;
	if (a.ulValueLen > DMSC_P11_VALUE_MAX)
		return CKR_DATA_LEN_RANGE;
	if (a.ulValueLen == 0)
		return CKR_OK;
	a.pValue = malloc(a.ulValueLen);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	rv = p->fn->C_GetAttributeValue(p->session, handle, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*value = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

CK_RV dmsc_p11_data_put(dmsc_p11 *p, const char *app, const char *label,
                        const unsigned char *value, size_t len,
                        bool is_private, bool *created)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, priv = is_private ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE val = { CKA_VALUE, (void *)value, len };
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &priv, sizeof priv },
		{ CKA_APPLICATION, (void *)app, strlen(app) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		val,
	};
	CK_OBJECT_HANDLE h;
	bool found;
	CK_RV rv = dmsc_p11_data_find(p, app, label, &h, &found);

	if (created != NULL)
		*created = false;
	if (rv != CKR_OK)
		return rv;
	if (found)
		return p->fn->C_SetAttributeValue(p->session, h, &val, 1);
	rv = p->fn->C_CreateObject(p->session, tmpl,
	                           sizeof tmpl / sizeof tmpl[0], &h);
	if (rv == CKR_OK && created != NULL)
		*created = true;
	return rv;
}

CK_RV dmsc_p11_data_destroy(dmsc_p11 *p, CK_OBJECT_HANDLE handle)
{
	return p->fn->C_DestroyObject(p->session, handle);
}
