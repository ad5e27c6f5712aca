/*
 * dm-ext/tool/cmd-bootstrap.c - `dmsc bootstrap show|export`: the DM
 * bootstrap kept on the card, decoded, and what a device takes from it
 * (DM-SC-GEN-6).
 *
 * The bootstrap object is the CKO_DATA object of application
 * OMA-DM:BOOTSTRAP whose CKA_OBJECT_ID is the DER of 2.23.43.7.1 (an
 * object without CKA_OBJECT_ID is taken too: pkcs11-tool writes one only
 * when asked, and then only the OID's content octets, 67 2B 07 01, which
 * are taken as well).  Its value, WBXML (or XML), is read by dm-ext/dmmsg.c.
 * `export` runs its commands on an empty tree with the command engine in
 * bootstrap mode (a Replace of a missing node adds it) and writes the
 * tree as TNDS and the DM accounts it holds as JSON.
 *
 * Secrets: a node whose name says it holds one (AAuthSecret, AAuthData,
 * ClientPW, ServerPW, ClientNonce, ServerNonce, or any name ending in
 * Secret, PW, Password or Nonce) is shown as "(secret: N bytes)" by
 * `show`, left out of the TNDS (its Value) and null in the accounts by
 * `export`, unless --secrets is given; files written with secrets are
 * created 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "commands.h"
#include "dmcmd.h"
#include "json-out.h"
#include "p11-client.h"
#include "mgmt-tree.h"
#include "wbxml.h"

/* DER of OID 2.23.43.7.1, the DM bootstrap file in a card's PKCS#15
 * DODF (DESIGN.md). */
static const unsigned char bootstrap_oid[] = { 0x06, 0x04, 0x67, 0x2b, 0x07,
                                               0x01 };

static bool secret_name(const char *name)
{
	static const char *const exact[] = {
		"AAuthSecret", "AAuthData", "ClientPW", "ServerPW",
		"ClientNonce", "ServerNonce",
	};
	static const char *const suffix[] = { "Secret", "PW", "Password",
	                                      "Nonce" };
	size_t i, l = strlen(name);

	for (i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		size_t s = strlen(suffix[i]);

		if (l >= s && strcmp(name + l - s, suffix[i]) == 0)
			return true;
	}
	return false;
}

/* ---- Finding and reading the object ---- */

/* Is the object's CKA_OBJECT_ID the bootstrap OID, or absent? */
static bool is_bootstrap(dmsc_p11 *p, CK_OBJECT_HANDLE h)
{
	unsigned char oid[32];
	CK_ATTRIBUTE a = { CKA_OBJECT_ID, oid, sizeof oid };
	CK_RV rv = dmsc_p11_fn(p)->C_GetAttributeValue(dmsc_p11_session(p), h,
	                                                &a, 1);

	if (rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	    (rv == CKR_OK && a.ulValueLen == 0))
		return true;
	if (rv != CKR_OK)
		return false;
	/* The DER, or only its content octets: OpenSC's pkcs11-tool
	 * (0.23) stores --application-id so. */
	return (a.ulValueLen == sizeof bootstrap_oid &&
	        memcmp(oid, bootstrap_oid, sizeof bootstrap_oid) == 0) ||
	       (a.ulValueLen == sizeof bootstrap_oid - 2 &&
	        memcmp(oid, bootstrap_oid + 2, sizeof bootstrap_oid - 2) == 0);
}

/* The bootstrap's value; the error printed. */
static int read_bootstrap(dmsc_p11 *p, const char *label,
                          unsigned char **value, size_t *len,
                          char **found_label)
{
	struct dmsc_p11_data *list = NULL;
	size_t n = 0, i, hits = 0, pick = 0;
	CK_RV rv = dmsc_p11_data_list(p, DMSC_P11_APP_BOOTSTRAP, &list, &n);
	int rc = DMSC_EXIT_OK;

	if (rv != CKR_OK)
		return dmsc_p11_fail(p, rv, 0, "listing the bootstrap objects");
	for (i = 0; i < n; i++) {
		if ((label != NULL && strcmp(list[i].label, label) != 0) ||
		    !is_bootstrap(p, list[i].handle))
			continue;
		if (hits++ == 0)
			pick = i;
	}
	if (hits == 0) {
		dmsc_error("no DM bootstrap on the card%s%s%s (a data object "
		           "of application " DMSC_P11_APP_BOOTSTRAP ", object "
		           "ID 2.23.43.7.1)%s", label ? " labelled '" : "",
		           label ? label : "", label ? "'" : "",
		           dmsc_p11_logged_in(p) ? ""
		           : "; a private one is seen only with a PIN");
		rc = DMSC_EXIT_NO_DATA;
	} else if (hits > 1) {
		dmsc_error("%zu DM bootstraps on the card; choose one with "
		           "--label:", hits);
		for (i = 0; i < n; i++)
			if (is_bootstrap(p, list[i].handle))
				dmsc_error("  '%s'", list[i].label);
		rc = DMSC_EXIT_USAGE;
	} else {
		rv = dmsc_p11_data_read(p, list[pick].handle, value, len);
		if (rv != CKR_OK)
			rc = dmsc_p11_fail(p, rv, 0, "reading the bootstrap");
		else if ((*found_label = strdup(list[pick].label)) == NULL) {
			dmsc_error("out of memory");
			rc = DMSC_EXIT_USAGE;
		}
	}
	dmsc_p11_data_free(list, n);
	return rc;
}

/* ---- show ---- */

static const xmlNode *child_el(const xmlNode *n, const char *name)
{
	const xmlNode *c;

	for (c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(c->name, BAD_CAST name) == 0)
			return c;
	return NULL;
}

/* Replace an element's content by text (not parsed for entities, as
 * xmlNodeSetContent would). */
static void set_text(xmlNodePtr el, const char *text)
{
	xmlNodePtr t = xmlNewText(BAD_CAST text);

	if (t == NULL)
		return;
	xmlNodeSetContent(el, NULL);
	xmlAddChild(el, t);
}

static char *meta_format(const xmlNode *item)
{
	const xmlNode *f = child_el(child_el(item, "Meta"), "Format");

	if (f == NULL && item->parent != NULL)
		f = child_el(child_el(item->parent, "Meta"), "Format");
	return f != NULL ? (char *)xmlNodeGetContent(f) : NULL;
}

/* WBXML encoders put Data text in an OPAQUE, which the decoder gives as
 * base64 (dm-ext/wbxml.h): for show, a Data whose Format is not b64 or
 * bin is turned back into its characters when they are text. */
static void readable_data(xmlNodePtr n)
{
	xmlNodePtr c;

	for (c = n->children; c != NULL; c = c->next) {
		xmlNodePtr data;
		char *fmt;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		readable_data(c);
		if (xmlStrcmp(c->name, BAD_CAST "Item") != 0)
			continue;
		data = (xmlNodePtr)child_el(c, "Data");
		if (data == NULL || !dmsc_wbxml_is_binary(data))
			continue;
		fmt = meta_format(c);
		if (fmt == NULL || (strcmp(fmt, "b64") != 0 &&
		                    strcmp(fmt, "bin") != 0)) {
			xmlChar *b64 = xmlNodeGetContent(data);
			size_t len = b64 != NULL ? strlen((char *)b64) : 0, n_out,
			       bad;
			unsigned char *raw = malloc(len / 4 * 3 + 1);

			if (raw != NULL && b64 != NULL &&
			    dmsc_base64_decode((char *)b64, len, true, raw,
			                       &n_out, &bad) &&
			    (raw[n_out] = '\0',
			     dmsc_tnds_text_ok((char *)raw, n_out)))
				set_text(data, (char *)raw);
			if (raw != NULL) {
				OPENSSL_cleanse(raw, len / 4 * 3 + 1);
				free(raw);
			}
			if (b64 != NULL) {
				OPENSSL_cleanse(b64, len);
				xmlFree(b64);
			}
		}
		xmlFree(fmt);
	}
}

/* Hide the Data of every Item whose Target names a secret node. */
static size_t hide_secrets(xmlNodePtr n)
{
	size_t hidden = 0;
	xmlNodePtr c;

	for (c = n->children; c != NULL; c = c->next) {
		const xmlNode *uri;
		xmlNodePtr data;
		xmlChar *s, *last;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		hidden += hide_secrets(c);
		if (xmlStrcmp(c->name, BAD_CAST "Item") != 0)
			continue;
		uri = child_el(child_el(c, "Target"), "LocURI");
		data = (xmlNodePtr)child_el(c, "Data");
		if (uri == NULL || data == NULL)
			continue;
		s = xmlNodeGetContent(uri);
		last = s != NULL ? (xmlChar *)strrchr((char *)s, '/') : NULL;
		if (s != NULL && secret_name(last != NULL ? (char *)last + 1
		                                          : (char *)s)) {
			xmlChar *v = xmlNodeGetContent(data);
			char note[80];

			snprintf(note, sizeof note, "(secret: %zu characters; "
			         "--secrets shows it)",
			         v != NULL ? strlen((char *)v) : 0);
			if (v != NULL) {
				OPENSSL_cleanse(v, strlen((char *)v));
				xmlFree(v);
			}
			xmlNodeSetContent(data, BAD_CAST note);
			hidden++;
		}
		xmlFree(s);
	}
	return hidden;
}

static int show(xmlDocPtr doc, bool secrets, bool quiet)
{
	xmlChar *mem = NULL;
	int len = 0;
	size_t hidden;

	readable_data((xmlNodePtr)doc);
	hidden = secrets ? 0 : hide_secrets((xmlNodePtr)doc);

	xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
	if (mem == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	fwrite(mem, 1, (size_t)len, stdout);
	OPENSSL_cleanse(mem, (size_t)len);
	xmlFree(mem);
	if (hidden > 0 && !quiet)
		fprintf(stderr, "dmsc: %zu secret value%s hidden; --secrets "
		        "shows them\n", hidden, hidden == 1 ? "" : "s");
	return DMSC_EXIT_OK;
}

/* ---- export ---- */

/* Remove the values of secret nodes; list them on stderr. */
static size_t drop_secrets(dmsc_tnds_node *n, bool quiet)
{
	size_t k = 0;
	dmsc_tnds_node *c;

	for (c = n->child; c != NULL; c = c->next)
		k += drop_secrets(c, quiet);
	if (n->name != NULL && n->value != NULL && secret_name(n->name)) {
		char uri[DMSC_TNDS_URI_BUF];

		if (!quiet && dmsc_tnds_node_uri(n, uri, sizeof uri))
			fprintf(stderr, "dmsc: left out the secret value of "
			        "%s (--secrets keeps it)\n", uri);
		OPENSSL_cleanse(n->value, n->value_len);
		free(n->value);
		n->value = NULL;
		n->value_len = 0;
		k++;
	}
	return k;
}

/* Open FILE for writing ("-" or NULL: standard output), 0600 when it
 * will hold secrets. */
static FILE *open_out(const char *path, bool secrets)
{
	int fd;
	FILE *f;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	          secrets ? 0600 : 0644);
	if (fd < 0) {
		dmsc_error("%s: cannot create: %s", path, strerror(errno));
		return NULL;
	}
	if (secrets && fchmod(fd, 0600) != 0) {
		dmsc_error("%s: cannot make it private (0600): %s", path,
		           strerror(errno));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		dmsc_error("%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (f == stdout)
		return fflush(f) == 0 ? DMSC_EXIT_OK : DMSC_EXIT_USAGE;
	if (ferror(f) | fclose(f)) {
		dmsc_error("%s: cannot write: %s", path, strerror(errno));
		return DMSC_EXIT_USAGE;
	}
	return DMSC_EXIT_OK;
}

/* One account: every leaf under it, by path relative to it. */
static void json_leaves(FILE *f, const dmsc_tnds_node *n, const char *rel,
                        bool *first, bool secrets)
{
	const dmsc_tnds_node *c;
	char path[DMSC_TNDS_URI_BUF];

	for (c = n->child; c != NULL; c = c->next) {
		if (rel[0] != '\0')
			snprintf(path, sizeof path, "%s/%s", rel, c->name);
		else
			snprintf(path, sizeof path, "%s", c->name);
		if (c->interior) {
			json_leaves(f, c, path, first, secrets);
			continue;
		}
		fputs(*first ? "\n      " : ",\n      ", f);
		*first = false;
		dmsc_json_string(f, path);
		fputs(": ", f);
		if (c->value == NULL || (secret_name(c->name) && !secrets))
			fputs("null", f);
		else
			dmsc_json_string(f, c->value);
	}
}

/* A leaf's value under an account, or NULL. */
static const char *leaf(const dmsc_tnds_node *acct, const char *rel)
{
	const dmsc_tnds_node *n = dmsc_tnds_find_under(acct, rel);

	return n != NULL && !n->interior ? n->value : NULL;
}

/* The DM accounts of the tree: the children of ./DMAcc (DM 1.2 and 1.3)
 * and of ./SyncML/DMAcc (DM 1.1). */
static void json_accounts(FILE *f, const dmsc_tnds *t, bool secrets)
{
	static const struct {
		const char *uri, *version, *server_id, *addr;
	} places[] = {
		{ "./DMAcc", "1.2", "ServerID", NULL },
		{ "./SyncML/DMAcc", "1.1", "ServerId", "Addr" },
	};
	bool first_acct = true;
	size_t i;

	fputs("{\n  \"accounts\": [", f);
	for (i = 0; i < sizeof places / sizeof places[0]; i++) {
		const dmsc_tnds_node *parent = dmsc_tnds_find(t, places[i].uri);
		const dmsc_tnds_node *a;

		for (a = parent != NULL ? parent->child : NULL; a != NULL;
		     a = a->next) {
			char uri[DMSC_TNDS_URI_BUF];
			const char *sid = leaf(a, places[i].server_id);
			const char *addr = places[i].addr != NULL
			                   ? leaf(a, places[i].addr) : NULL;
			const dmsc_tnds_node *srv, *c;
			bool first = true;

			if (!a->interior ||
			    !dmsc_tnds_node_uri(a, uri, sizeof uri))
				continue;
			fputs(first_acct ? "\n    {" : ",\n    {", f);
			first_acct = false;
			fputs("\n    \"uri\": ", f);
			dmsc_json_string(f, uri);
			fprintf(f, ",\n    \"dm_version\": \"%s\"",
			        places[i].version);
			fputs(",\n    \"server_id\": ", f);
			if (sid != NULL)
				dmsc_json_string(f, sid);
			else
				fputs("null", f);
			/* DM 1.2: AppAddr/<x>/Addr, each address. */
			fputs(",\n    \"addresses\": [", f);
			if (addr != NULL) {
				dmsc_json_string(f, addr);
			} else {
				bool fa = true;

				srv = NULL;
				for (c = a->child; c != NULL; c = c->next)
					if (strcmp(c->name, "AppAddr") == 0)
						srv = c;
				for (c = srv != NULL ? srv->child : NULL;
				     c != NULL; c = c->next) {
					const char *v = leaf(c, "Addr");

					if (v == NULL)
						continue;
					fputs(fa ? "" : ", ", f);
					fa = false;
					dmsc_json_string(f, v);
				}
			}
			fputs("],\n    \"nodes\": {", f);
			json_leaves(f, a, "", &first, secrets);
			fputs(first ? "}\n    }" : "\n    }\n    }", f);
		}
	}
	fputs(first_acct ? "]\n}\n" : "\n  ]\n}\n", f);
}

static int export(xmlDocPtr doc, const char *tnds_path,
                  const char *accounts_path, bool secrets, bool quiet)
{
	dmsc_tnds *t = dmsc_tnds_new(NULL);
	dmsc_dmcmd_opts opts = { .replace_adds = true };
	dmsc_dmcmd_report rep;
	dmsc_dm_error err;
	char *reply = NULL, *out = NULL;
	size_t reply_len = 0, out_len = 0;
	FILE *f;
	int rc;

	if (t == NULL) {
		dmsc_error("out of memory");
		return DMSC_EXIT_USAGE;
	}
	rc = dmsc_dmcmd_apply_doc(t, doc, &opts, &reply, &reply_len, &rep,
	                          &err);
	if (rc != DMSC_DMCMD_OK) {
		dmsc_error("the bootstrap on the card: %s", err.message);
		dmsc_tnds_free(t);
		return DMSC_EXIT_REFUSED;
	}
	free(reply);
	if (rep.failed > 0 && !quiet)
		fprintf(stderr, "dmsc: %zu of the bootstrap's %zu command "
		        "items failed (dmsc bootstrap show lists them)\n",
		        rep.failed, rep.commands);
	if (!secrets)
		drop_secrets(&t->root, quiet);
	rc = DMSC_EXIT_OK;
	if (tnds_path != NULL || accounts_path == NULL) {
		if (dmsc_tnds_write(t, ".", &out, &out_len) != DMSC_TNDS_OK) {
			dmsc_error("out of memory");
			rc = DMSC_EXIT_USAGE;
		} else if ((f = open_out(tnds_path, secrets)) == NULL) {
			rc = DMSC_EXIT_USAGE;
		} else {
			fwrite(out, 1, out_len, f);
			rc = close_out(f, tnds_path);
		}
		if (out != NULL)
			OPENSSL_cleanse(out, out_len);
		free(out);
	}
	if (rc == DMSC_EXIT_OK && accounts_path != NULL) {
		f = open_out(accounts_path, secrets);
		if (f == NULL) {
			rc = DMSC_EXIT_USAGE;
		} else {
			json_accounts(f, t, secrets);
			rc = close_out(f, accounts_path);
		}
	}
	dmsc_tnds_free(t);
	return rc;
}

static int run_bootstrap(const struct dmsc_command *cmd, int argc,
                         char **argv, struct dmsc_common *common)
{
	enum { OPT_LABEL = 256, OPT_SECRETS, OPT_TNDS, OPT_ACCOUNTS };
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "secrets", no_argument, NULL, OPT_SECRETS },
		{ "tnds", required_argument, NULL, OPT_TNDS },
		{ "accounts", required_argument, NULL, OPT_ACCOUNTS },
		DMSC_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL, *tnds_path = NULL, *accounts_path = NULL;
	bool secrets = false, is_show;
	unsigned char *value = NULL;
	size_t len = 0;
	char *found = NULL;
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	dmsc_dm_error err;
	dmsc_p11 *p = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, DMSC_COMMON_SHORTOPTS, longopts,
	                          NULL)) != -1) {
		switch (opt) {
		case OPT_LABEL:
			label = optarg;
			break;
		case OPT_SECRETS:
			secrets = true;
			break;
		case OPT_TNDS:
			tnds_path = optarg;
			break;
		case OPT_ACCOUNTS:
			accounts_path = optarg;
			break;
		default:
			rc = dmsc_common_option(cmd, opt, common);
			if (rc != DMSC_OPTION_HANDLED)
				return rc;
		}
	}
	if (argc - optind != 1 || (strcmp(argv[optind], "show") != 0 &&
	                           strcmp(argv[optind], "export") != 0))
		return dmsc_usage_error(cmd, "expected 'show' or 'export'");
	is_show = strcmp(argv[optind], "show") == 0;
	if (is_show && (tnds_path != NULL || accounts_path != NULL))
		return dmsc_usage_error(cmd, "--tnds and --accounts are "
		                        "options of 'export'");
	rc = dmsc_p11_open(common, &p);
	if (rc == DMSC_EXIT_OK)
		rc = dmsc_p11_start(p, DMSC_P11_RO);
	if (rc == DMSC_EXIT_OK && dmsc_p11_pin_given(p))
		rc = dmsc_p11_login(p, CKU_USER);
	if (rc == DMSC_EXIT_OK)
		rc = read_bootstrap(p, label, &value, &len, &found);
	dmsc_p11_close(p);
	if (rc != DMSC_EXIT_OK)
		goto done;
	rc = dmsc_dm_parse(value, len, NULL, &doc, &kind, &err);
	if (rc == DMSC_DM_OK && kind == DMSC_DM_TNDS) {
		rc = dmsc_dm_fail(&err, DMSC_DM_UNSUPPORTED, 0, 1, "a TNDS "
		                  "document, not a bootstrap message");
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (rc != DMSC_DM_OK) {
		dmsc_error("the bootstrap '%s' on the card is not a DM message: "
		           "%s", found, err.message);
		rc = DMSC_EXIT_REFUSED;
		goto done;
	}
	rc = is_show ? show(doc, secrets, common->quiet)
	             : export(doc, tnds_path, accounts_path, secrets,
	                      common->quiet);
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (value != NULL)
		OPENSSL_cleanse(value, len);
	free(value);
	free(found);
	return rc;
}

const struct dmsc_command dmsc_cmd_bootstrap = {
	.name = "bootstrap",
	.summary = "show the card's DM bootstrap, or export what it sets up",
	.synopsis = "show|export [--label L] [--secrets] [--tnds FILE] "
	            "[--accounts FILE] [CARD OPTIONS]",
	.help =
	"Reads the DM bootstrap on the card: the data object of application\n"
	"OMA-DM:BOOTSTRAP with object ID 2.23.43.7.1 (DER 06 04 67 2B 07 01),\n"
	"a SyncML DM message in WBXML (or XML).\n"
	"  show    prints it decoded, as indented XML\n"
	"  export  applies its commands to an empty management tree (a\n"
	"          Replace of a missing node adds it, as a bootstrap does)\n"
	"          and writes the tree as TNDS, and the DM accounts it sets\n"
	"          up (./DMAcc/*, ./SyncML/DMAcc/*) as JSON: what a DM\n"
	"          client takes over as it is\n"
	"Secret values (AAuthSecret, AAuthData, ClientPW, ServerPW, nonces,\n"
	"names ending in Secret, PW, Password, Nonce) are hidden by show,\n"
	"and left out of the TNDS and null in the JSON by export, unless\n"
	"--secrets is given. A private bootstrap is read only with a PIN.\n"
	"\n"
	"Options:\n"
	"      --label L        the bootstrap object labelled L (when the card\n"
	"                       holds several)\n"
	"      --secrets        show / export secret values too (files are\n"
	"                       then created 0600)\n"
	"      --tnds FILE      export: the tree as TNDS to FILE (default:\n"
	"                       standard output, unless only --accounts)\n"
	"      --accounts FILE  export: the DM accounts as JSON to FILE\n"
	"\n"
	"Exit status 5 means the card holds no bootstrap.\n",
	.examples =
	"  dmsc bootstrap show\n"
	"      the bootstrap message, readable\n"
	"  dmsc bootstrap export --tnds tree.xml --accounts accounts.json\n"
	"      the tree and the DM accounts, secrets left out\n"
	"  dmsc bootstrap export --secrets --pin 1234 --tnds tree.xml\n"
	"      everything, for the DM client to take over\n",
	.run = run_bootstrap,
};
