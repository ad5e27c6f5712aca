/*
 * dm-ext/tool/card-mos.c - the card's MO objects as one tree, and back
 * (see card-mos.h).
 */
#include "card-mos.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "mo-map.h"

void dmsc_card_mos_free(struct dmsc_card_mos *m)
{
	dmsc_tnds_free(m->tree);
	dmsc_p11_data_free(m->objs, m->n);
	memset(m, 0, sizeof *m);
}

int dmsc_card_mos_read(dmsc_p11 *p, struct dmsc_card_mos *m)
{
	CK_RV rv;
	size_t i;

	memset(m, 0, sizeof *m);
	m->tree = dmsc_tnds_new(NULL);
	if (m->tree == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	rv = dmsc_p11_data_list(p, DMSC_P11_APP_MO, &m->objs, &m->n);
	if (rv != CKR_OK) {
		dmsc_card_mos_free(m);
		return dmsc_p11_fail(p, rv, 0, "listing the MOs on the card");
	}
	for (i = 0; i < m->n; i++) {
		unsigned char *value = NULL;
		size_t len = 0;
		dmsc_dm_error err;
		char norm[DMSC_TNDS_URI_BUF];
		int rc;

		if (dmsc_tnds_path_norm(NULL, m->objs[i].label, norm,
		                        sizeof norm, NULL, NULL, 0) !=
		    DMSC_TNDS_OK || strcmp(norm, ".") == 0)
			continue; /* not a node URI: no part of the tree */
		rv = dmsc_p11_data_read(p, m->objs[i].handle, &value, &len);
		if (rv != CKR_OK) {
			rc = dmsc_p11_fail(p, rv, 0, "reading the MO %s",
			                   m->objs[i].label);
			dmsc_card_mos_free(m);
			return rc;
		}
		/* The object's place is its label's parent: a top node
		 * without a Path is the object's root (mo-map.h). */
		*strrchr(norm, '/') = '\0';
		rc = len == 0 ? DMSC_TNDS_OK
		     : dmsc_tnds_load_at(m->tree, norm[0] != '\0' ? norm : ".",
		                         value, len, &err);
		if (value != NULL)
			OPENSSL_cleanse(value, len); /* may hold secrets */
		free(value);
		if (rc != DMSC_TNDS_OK) {
			dmsc_error("the MO %s on the card is not valid TNDS: "
			           "%s; fix or remove it (dmsc mo put, dmsc mo "
			           "rm)", m->objs[i].label, err.message);
			dmsc_card_mos_free(m);
			return DMSC_EXIT_CARD;
		}
	}
	return DMSC_EXIT_OK;
}

/* What was written before a failure, so a re-run can be judged. */
static void say_done(const dmsc_mo_action *a, size_t done)
{
	size_t i;

	if (done == 0) {
		dmsc_error("nothing was written to the card");
		return;
	}
	for (i = 0; i < done; i++)
		dmsc_error("already written: %s %s",
		           a[i].kind == DMSC_MO_CREATE ? "created"
		           : a[i].kind == DMSC_MO_REPLACE ? "replaced"
		                                          : "destroyed",
		           a[i].label);
}

int dmsc_card_mos_write(dmsc_p11 *p, const struct dmsc_card_mos *m,
                        const dmsc_tnds *after, bool quiet, size_t *written)
{
	const char **labels = calloc(m->n + 1, sizeof *labels);
	dmsc_mo_action *a = NULL;
	size_t n = 0, i;
	int rc;

	if (written != NULL)
		*written = 0;
	if (labels == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	for (i = 0; i < m->n; i++)
		labels[i] = m->objs[i].label;
	rc = dmsc_mo_plan(m->tree, after, labels, m->n, &a, &n);
	free(labels);
	if (rc != DMSC_TNDS_OK) {
		dmsc_error("cannot work out what to write: %s; nothing was "
		           "written", dmsc_tnds_status_name(rc));
		return DMSC_EXIT_USAGE;
	}
	rc = DMSC_EXIT_OK;
	for (i = 0; i < n && rc == DMSC_EXIT_OK; i++) {
		CK_RV rv;

		if (a[i].kind == DMSC_MO_DESTROY)
			rv = dmsc_p11_data_destroy(p, m->objs[a[i].object]
			                           .handle);
		else
			rv = dmsc_p11_data_put(p, DMSC_P11_APP_MO,
			                       a[i].kind == DMSC_MO_REPLACE
			                       ? m->objs[a[i].object].label
			                       : a[i].label,
			                       (const unsigned char *)a[i].bytes,
			                       a[i].len,
			                       a[i].kind == DMSC_MO_REPLACE
			                       ? m->objs[a[i].object].is_private
			                       : true, NULL);
		if (rv != CKR_OK) {
			rc = dmsc_p11_fail(p, rv, a[i].len, "%s the MO %s",
			                   a[i].kind == DMSC_MO_CREATE
			                   ? "creating"
			                   : a[i].kind == DMSC_MO_REPLACE
			                   ? "replacing" : "destroying",
			                   a[i].label);
			say_done(a, i);
			break;
		}
		if (!quiet)
			fprintf(stderr, "dmsc: %s the MO %s\n",
			        a[i].kind == DMSC_MO_CREATE ? "created"
			        : a[i].kind == DMSC_MO_REPLACE ? "replaced"
			                                       : "destroyed",
			        a[i].label);
		if (written != NULL)
			(*written)++;
	}
	for (i = 0; i < n; i++)
		if (a[i].bytes != NULL)
			OPENSSL_cleanse(a[i].bytes, a[i].len);
	dmsc_mo_actions_free(a, n);
	return rc;
}

int dmsc_card_mos_root_option(const struct dmsc_command *cmd, const char *arg,
                              const char **roots, size_t *n_roots)
{
	char norm[DMSC_TNDS_URI_BUF], why[160];

	if (*n_roots == DMSC_CARD_MOS_MAX_ROOTS)
		return dmsc_usage_error(cmd, "at most %d --root options",
		                        DMSC_CARD_MOS_MAX_ROOTS);
	if (dmsc_tnds_path_norm(NULL, arg, norm, sizeof norm, NULL, why,
	                        sizeof why) != DMSC_TNDS_OK)
		return dmsc_usage_error(cmd, "--root: %s", why);
	roots[(*n_roots)++] = arg;
	return 0;
}
