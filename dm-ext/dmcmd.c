/*
 * dm-ext/dmcmd.c - the DM command engine (see dmcmd.h for what each
 * command answers and the spec sections behind it).
 *
 * The reply is built as a libxml2 tree while the commands run.  Atomic
 * takes a copy of the management tree first; when one of its commands
 * fails the copy is put back and the Status lines written since the
 * Atomic began are rewritten in place (2xx to 216, Results dropped), so
 * no second list of outcomes is kept.  CmdIDs of the reply are numbered
 * at the end, after Results may have been dropped.
 */
#include "dmcmd.h"

#include "base64.h"
#include "wbxml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OMA DM status codes used here (RepPro section 10). */
enum {
	SC_OK = 200,
	SC_NOT_EXECUTED = 215,
	SC_ROLLED_BACK = 216,
	SC_BAD_REQUEST = 400,
	SC_NOT_FOUND = 404,
	SC_NOT_ALLOWED = 405,
	SC_NOT_SUPPORTED = 406,
	SC_TOO_LARGE = 413,
	SC_URI_TOO_LONG = 414,
	SC_BAD_FORMAT = 415,
	SC_EXISTS = 418,
	SC_FULL = 420,
	SC_FAILED = 500,
	SC_ATOMIC_FAILED = 507,
};

struct engine {
	dmsc_tnds *t;
	char **roots;           /* normalised, or NULL: every URI */
	size_t n_roots;
	bool replace_adds;
	xmlDocPtr out;
	xmlNodePtr body;
	xmlNsPtr ns, metinf;
	const char *msgid;
	dmsc_dmcmd_report rep;
	bool nomem;
};

static bool is_el(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static const xmlNode *child_el(const xmlNode *n, const char *name)
{
	const xmlNode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (is_el(c, name))
			return c;
	return NULL;
}

/* The text of an element, trimmed of XML whitespace at both ends (DM
 * identifiers and URIs never carry it); malloc'ed, NULL when absent. */
static char *text_of(const xmlNode *n)
{
	xmlChar *s;
	char *d;
	size_t b = 0, e;

	if (n == NULL)
		return NULL;
	s = xmlNodeGetContent(n);
	if (s == NULL)
		return strdup("");
	e = strlen((const char *)s);
	while (b < e && strchr(" \t\r\n", s[b]) != NULL)
		b++;
	while (e > b && strchr(" \t\r\n", s[e - 1]) != NULL)
		e--;
	d = strndup((const char *)s + b, e - b);
	xmlFree(s);
	return d;
}

static char *child_text(const xmlNode *n, const char *name)
{
	return text_of(child_el(n, name));
}

/* ---- The reply ---- */

static xmlNodePtr add_el(struct engine *e, xmlNodePtr parent, xmlNsPtr ns,
                         const char *name, const char *text)
{
	xmlNodePtr c;

	if (e->nomem)
		return NULL;
	c = xmlNewChild(parent, ns, BAD_CAST name, NULL);
	if (c != NULL && text != NULL && *text != '\0') {
		xmlNodePtr tx;
		char *clean = strdup(text), *p;

		/* What the message said is echoed (TargetRef, LocURI): a
		 * control character a WBXML string may hold has no place
		 * in XML 1.0, and becomes '?'. */
		if (clean == NULL) {
			e->nomem = true;
			return NULL;
		}
		for (p = clean; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t' &&
			    *p != '\n' && *p != '\r')
				*p = '?';
		tx = xmlNewText(BAD_CAST clean);
		free(clean);

		if (tx == NULL)
			c = NULL;
		else
			xmlAddChild(c, tx);
	}
	if (c == NULL)
		e->nomem = true;
	return c;
}

static void set_code(xmlNodePtr status, int code)
{
	char num[8];
	xmlNodePtr data = (xmlNodePtr)child_el(status, "Data");

	snprintf(num, sizeof num, "%d", code);
	if (data != NULL)
		xmlNodeSetContent(data, BAD_CAST num);
}

static int code_of(const xmlNode *status)
{
	char *t = child_text(status, "Data");
	int code = t != NULL ? atoi(t) : 0;

	free(t);
	return code;
}

/* A Status for one command (target NULL: the command as a whole). */
static xmlNodePtr status_add(struct engine *e, const char *cmdid,
                             const char *cmd, const char *target, int code,
                             bool count)
{
	xmlNodePtr s = add_el(e, e->body, e->ns, "Status", NULL);
	char num[8];

	snprintf(num, sizeof num, "%d", code);
	add_el(e, s, e->ns, "CmdID", "0");
	add_el(e, s, e->ns, "MsgRef", e->msgid);
	add_el(e, s, e->ns, "CmdRef", cmdid);
	add_el(e, s, e->ns, "Cmd", cmd);
	if (target != NULL)
		add_el(e, s, e->ns, "TargetRef", target);
	add_el(e, s, e->ns, "Data", num);
	if (count) {
		e->rep.commands++;
		if (code >= 300)
			e->rep.failed++;
	}
	return s;
}

/* ---- Items ---- */

/* What an item of Add or Replace carries. */
struct item {
	char *target;           /* normalised URI, or NULL */
	char *format, *type;    /* from the item's Meta, else the command's */
	char *value;            /* Data as text, NULL when there is no Data */
	size_t value_len;
	const xmlNode *tnds;    /* a <MgmtTree> inside Data */
};

static void item_clear(struct item *it)
{
	free(it->target);
	free(it->format);
	free(it->type);
	if (it->value != NULL) {
		/* A value may be a secret (AAuthSecret). */
		memset(it->value, 0, it->value_len);
		free(it->value);
	}
	memset(it, 0, sizeof *it);
}

static char *meta_text(const xmlNode *item, const xmlNode *cmd,
                       const char *name)
{
	const xmlNode *m = child_el(child_el(item, "Meta"), name);

	if (m == NULL)
		m = child_el(child_el(cmd, "Meta"), name);
	return text_of(m);
}

static bool binary_format(const char *fmt)
{
	return fmt != NULL &&
	       (strcmp(fmt, "b64") == 0 || strcmp(fmt, "bin") == 0);
}

/* Is uri (normalised) one the tree holds? */
static bool held(const struct engine *e, const char *uri)
{
	size_t i;

	if (e->roots == NULL)
		return true;
	for (i = 0; i < e->n_roots; i++) {
		const char *r = e->roots[i];
		size_t l = strlen(r);

		if (strcmp(r, ".") == 0 ||
		    (strncmp(uri, r, l) == 0 &&
		     (uri[l] == '\0' || uri[l] == '/')))
			return true;
	}
	return false;
}

/* Check the Target of an item (*raw, as written, read by the caller for
 * TargetRef) into it->target; 0 or the status code that answers the
 * item. */
static int read_target(struct engine *e, struct item *it, char **raw,
                       bool required)
{
	char norm[DMSC_TNDS_URI_BUF];
	int rc;

	if (*raw == NULL)
		return required ? SC_BAD_REQUEST : 0;
	if (strchr(*raw, '?') != NULL)
		return SC_NOT_SUPPORTED;
	rc = dmsc_tnds_path_norm(&e->t->lim, *raw, norm, sizeof norm, NULL,
	                         NULL, 0);
	if (rc == DMSC_TNDS_LIMIT)
		return SC_URI_TOO_LONG;
	if (rc != DMSC_TNDS_OK)
		return SC_BAD_REQUEST;
	if (!held(e, norm))
		return SC_NOT_FOUND;
	it->target = strdup(norm);
	if (it->target == NULL)
		return SC_FAILED;
	return 0;
}

/* Data: text, base64 decoded back for a chr value that came from a WBXML
 * OPAQUE (as dm-ext/CANON.md reads it), or a TNDS element. */
static int read_data(struct engine *e, const xmlNode *item, struct item *it)
{
	const xmlNode *d = child_el(item, "Data"), *c;
	xmlChar *s;
	size_t len;

	if (d == NULL)
		return 0;
	for (c = d->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			if (is_el(c, "MgmtTree") && c->ns != NULL &&
			    xmlStrcmp(c->ns->href,
			              BAD_CAST DMSC_DM_NS_DMDDF12) == 0) {
				it->tnds = c;
				return 0;
			}
			return SC_BAD_FORMAT;
		}
	s = xmlNodeGetContent(d);
	if (s == NULL)
		return SC_FAILED;
	len = strlen((const char *)s);
	if (dmsc_wbxml_is_binary(d) && !binary_format(it->format)) {
		unsigned char *raw = malloc(len / 4 * 3 + 1);
		size_t n, bad;

		if (raw == NULL) {
			xmlFree(s);
			return SC_FAILED;
		}
		if (!dmsc_base64_decode((const char *)s, len, true, raw, &n,
		                        &bad) || memchr(raw, 0, n) != NULL ||
		    (raw[n] = '\0', !dmsc_xml_text_valid(raw, n))) {
			free(raw);
			xmlFree(s);
			return SC_BAD_REQUEST;
		}
		it->value = (char *)raw;
		it->value_len = n;
	} else {
		it->value = strdup((const char *)s);
		it->value_len = len;
	}
	memset(s, 0, len);
	xmlFree(s);
	if (it->value == NULL)
		return SC_FAILED;
	if (it->value_len > e->t->lim.max_value)
		return SC_TOO_LARGE;
	return 0;
}

static int tnds_code(int rc)
{
	switch (rc) {
	case DMSC_TNDS_OK: return SC_OK;
	case DMSC_TNDS_EXISTS: return SC_EXISTS;
	case DMSC_TNDS_NOT_FOUND: return SC_NOT_FOUND;
	case DMSC_TNDS_NOT_ALLOWED: return SC_NOT_ALLOWED;
	case DMSC_TNDS_BAD_PATH: return SC_BAD_REQUEST;
	case DMSC_TNDS_MALFORMED: return SC_BAD_REQUEST;
	case DMSC_TNDS_BAD_VALUE: return SC_BAD_REQUEST;
	case DMSC_TNDS_LIMIT: return SC_FULL;
	default: return SC_FAILED;
	}
}

/* Add, Replace or Delete of one item; returns its status code. */
static int change_item(struct engine *e, const char *cmd,
                       const xmlNode *cmd_el, const xmlNode *item,
                       char **raw)
{
	struct item it = { 0 };
	dmsc_tnds_item ti;
	bool is_add = strcmp(cmd, "Add") == 0;
	int code;

	*raw = child_text(child_el(item, "Target"), "LocURI");
	it.format = meta_text(item, cmd_el, "Format");
	it.type = meta_text(item, cmd_el, "Type");
	code = read_data(e, item, &it);
	if (code == 0)
		code = read_target(e, &it, raw, !(is_add && it.tnds != NULL));
	if (code != 0)
		goto done;
	if (it.tnds != NULL) {
		/* TNDS in Data (TNDS 1.2, 6: Add of a serialised subtree):
		 * its Paths are under the Target, or absolute. */
		if (!is_add) {
			code = SC_NOT_SUPPORTED;
			goto done;
		}
		if ((it.target == NULL && !held(e, ".")) ||
		    (it.target != NULL &&
		     dmsc_tnds_find(e->t, it.target) == NULL)) {
			code = SC_NOT_FOUND;
			goto done;
		}
		code = tnds_code(dmsc_tnds_load_element(
			e->t, it.target != NULL ? it.target : ".", it.tnds,
			NULL));
		goto done;
	}
	ti.format = it.format;
	ti.type = it.type;
	ti.value = it.value;
	ti.value_len = it.value_len;
	if (is_add)
		code = tnds_code(dmsc_tnds_add(e->t, it.target, &ti));
	else if (strcmp(cmd, "Replace") == 0 && e->replace_adds &&
	         dmsc_tnds_find(e->t, it.target) == NULL)
		code = tnds_code(dmsc_tnds_add(e->t, it.target, &ti));
	else if (strcmp(cmd, "Replace") == 0)
		code = tnds_code(dmsc_tnds_replace(e->t, it.target, &ti));
	else
		code = tnds_code(dmsc_tnds_delete(e->t, it.target));
done:
	if (code == SC_OK)
		e->rep.changes++;
	item_clear(&it);
	return code;
}

/* One Results item for a Get. */
static void result_item(struct engine *e, xmlNodePtr *results,
                        const char *cmdid, const char *uri,
                        const dmsc_tnds_node *n)
{
	xmlNodePtr item, meta, data;
	const dmsc_tnds_node *c;

	if (*results == NULL) {
		*results = add_el(e, e->body, e->ns, "Results", NULL);
		add_el(e, *results, e->ns, "CmdID", "0");
		add_el(e, *results, e->ns, "MsgRef", e->msgid);
		add_el(e, *results, e->ns, "CmdRef", cmdid);
	}
	item = add_el(e, *results, e->ns, "Item", NULL);
	add_el(e, add_el(e, item, e->ns, "Source", NULL), e->ns, "LocURI",
	       uri);
	meta = add_el(e, item, e->ns, "Meta", NULL);
	add_el(e, meta, e->metinf, "Format", dmsc_tnds_format(n));
	if (n->prop[DMSC_TNDS_TYPE] != NULL)
		add_el(e, meta, e->metinf, "Type", n->prop[DMSC_TNDS_TYPE]);
	data = add_el(e, item, e->ns, "Data", NULL);
	if (data == NULL)
		return;
	if (!n->interior) {
		if (n->value != NULL && n->value_len > 0)
			xmlNodeAddContentLen(data, BAD_CAST n->value,
			                     (int)n->value_len);
		return;
	}
	/* An interior node's value is its children's names, '/' between
	 * them (TND 1.2, 7.7). */
	for (c = n->child; c != NULL; c = c->next) {
		if (c != n->child)
			xmlNodeAddContent(data, BAD_CAST "/");
		xmlNodeAddContent(data, BAD_CAST c->name);
	}
}

static int get_item(struct engine *e, const char *cmdid,
                    const xmlNode *item, char **raw, xmlNodePtr *results)
{
	struct item it = { 0 };
	const dmsc_tnds_node *n;
	int code;

	*raw = child_text(child_el(item, "Target"), "LocURI");
	code = read_target(e, &it, raw, true);

	if (code == 0) {
		n = dmsc_tnds_find(e->t, it.target);
		if (n == NULL) {
			code = SC_NOT_FOUND;
		} else {
			result_item(e, results, cmdid, it.target, n);
			code = SC_OK;
		}
	}
	item_clear(&it);
	return code;
}

/* ---- Commands ---- */

static bool run_command(struct engine *e, const xmlNode *cmd);

static bool no_resp(const xmlNode *cmd)
{
	return child_el(cmd, "NoResp") != NULL;
}

/* Add, Replace, Delete, Get: one Status per Item. */
static bool run_items(struct engine *e, const xmlNode *cmd,
                      const char *cmdid)
{
	const char *name = (const char *)cmd->name;
	const xmlNode *item;
	xmlNodePtr results = NULL;
	bool ok = true, any = false, quiet = no_resp(cmd);

	for (item = cmd->children; item != NULL; item = item->next) {
		char *raw = NULL;
		int code;

		if (!is_el(item, "Item"))
			continue;
		any = true;
		if (strcmp(name, "Get") == 0)
			code = get_item(e, cmdid, item, &raw, &results);
		else
			code = change_item(e, name, cmd, item, &raw);
		if (code >= 300)
			ok = false;
		if (!quiet)
			status_add(e, cmdid, name, raw, code, true);
		free(raw);
	}
	if (!any) {
		/* RepPro 6.5: these commands carry one or more Items. */
		if (!quiet)
			status_add(e, cmdid, name, NULL, SC_BAD_REQUEST, true);
		ok = false;
	}
	return ok;
}

/* Rewrite what the commands of a failed Atomic answered, from the reply
 * element after mark on: successes were rolled back (216), Results are
 * gone. */
static void roll_back_reply(struct engine *e, xmlNodePtr mark)
{
	xmlNodePtr c = mark != NULL ? mark->next : e->body->children, next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (is_el(c, "Results")) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		} else if (is_el(c, "Status")) {
			int code = code_of(c);

			if (code >= 200 && code < 300 && code != SC_NOT_EXECUTED)
				set_code(c, SC_ROLLED_BACK);
		}
	}
}

/* Skip: a command not run because an Atomic failed before it. */
static void not_executed(struct engine *e, const xmlNode *cmd)
{
	char *cmdid = child_text(cmd, "CmdID");

	if (!no_resp(cmd))
		status_add(e, cmdid, (const char *)cmd->name, NULL,
		           SC_NOT_EXECUTED, true);
	free(cmdid);
}

static bool is_command(const xmlNode *n)
{
	static const char *const names[] = {
		"Add", "Replace", "Delete", "Get", "Atomic", "Sequence",
		"Copy", "Exec", "Alert", "Put", "Map", "Sync", "Search",
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (is_el(n, names[i]))
			return true;
	return false;
}

static bool run_atomic(struct engine *e, const xmlNode *cmd,
                       const char *cmdid)
{
	dmsc_tnds *snapshot = dmsc_tnds_clone(e->t);
	xmlNodePtr own, mark;
	const xmlNode *c;
	size_t changes = e->rep.changes;
	bool failed = false;

	own = no_resp(cmd) ? NULL : status_add(e, cmdid, "Atomic", NULL,
	                                        SC_OK, true);
	if (snapshot == NULL) {
		/* Nothing can be undone: run nothing. */
		if (own != NULL) {
			set_code(own, SC_FAILED);
			e->rep.failed++;
		}
		for (c = cmd->children; c != NULL; c = c->next)
			if (is_command(c))
				not_executed(e, c);
		return false;
	}
	mark = e->body->last;
	for (c = cmd->children; c != NULL; c = c->next) {
		if (!is_command(c))
			continue;
		if (failed)
			not_executed(e, c);
		else if (!run_command(e, c))
			failed = true;
	}
	if (!failed) {
		dmsc_tnds_free(snapshot);
		return true;
	}
	dmsc_tnds_restore(e->t, snapshot);
	e->rep.changes = changes;
	e->rep.atomic_failed = true;
	roll_back_reply(e, mark);
	if (own != NULL) {
		set_code(own, SC_ATOMIC_FAILED);
		e->rep.failed++;
	}
	return false;
}

static bool run_sequence(struct engine *e, const xmlNode *cmd,
                         const char *cmdid)
{
	const xmlNode *c;
	bool ok = true;

	if (!no_resp(cmd))
		status_add(e, cmdid, "Sequence", NULL, SC_OK, true);
	for (c = cmd->children; c != NULL; c = c->next)
		if (is_command(c) && !run_command(e, c))
			ok = false;
	return ok;
}

static bool run_command(struct engine *e, const xmlNode *cmd)
{
	char *cmdid = child_text(cmd, "CmdID");
	bool ok;

	if (cmdid == NULL) {
		e->nomem = true;
		return false;
	}
	if (is_el(cmd, "Add") || is_el(cmd, "Replace") ||
	    is_el(cmd, "Delete") || is_el(cmd, "Get")) {
		ok = run_items(e, cmd, cmdid);
	} else if (is_el(cmd, "Atomic")) {
		ok = run_atomic(e, cmd, cmdid);
	} else if (is_el(cmd, "Sequence")) {
		ok = run_sequence(e, cmd, cmdid);
	} else {
		if (!no_resp(cmd))
			status_add(e, cmdid, (const char *)cmd->name, NULL,
			           SC_NOT_SUPPORTED, true);
		ok = false;
	}
	free(cmdid);
	return ok;
}

/* ---- The message ---- */

/* Every command, nested ones too, has a CmdID: checked before anything
 * runs, so a refused message changes nothing. */
static int check_commands(const xmlNode *parent, dmsc_dm_error *err)
{
	const xmlNode *c;

	for (c = parent->children; c != NULL; c = c->next) {
		char *id;
		int rc;

		if (!is_command(c))
			continue;
		id = child_text(c, "CmdID");
		if (id == NULL || *id == '\0') {
			free(id);
			return dmsc_dm_fail(err, DMSC_DMCMD_MALFORMED,
			                    DMSC_DM_NO_OFFSET,
			                    (int)xmlGetLineNo(c),
			                    "line %ld: <%s> has no <CmdID> "
			                    "(every command needs one, RepPro "
			                    "6.5)", xmlGetLineNo(c), c->name);
		}
		free(id);
		if ((is_el(c, "Atomic") || is_el(c, "Sequence")) &&
		    (rc = check_commands(c, err)) != DMSC_DMCMD_OK)
			return rc;
	}
	return DMSC_DMCMD_OK;
}

static int refuse(dmsc_dm_error *err, const xmlNode *at, const char *what)
{
	long line = at != NULL ? xmlGetLineNo(at) : 0;

	if (line > 0)
		return dmsc_dm_fail(err, DMSC_DMCMD_MALFORMED,
		                    DMSC_DM_NO_OFFSET, (int)line,
		                    "line %ld: %s", line, what);
	return dmsc_dm_fail(err, DMSC_DMCMD_MALFORMED, DMSC_DM_NO_OFFSET, 0,
	                    "%s", what);
}

static void number_reply(xmlNodePtr body)
{
	xmlNodePtr c;
	unsigned n = 0;
	char num[16];

	for (c = body->children; c != NULL; c = c->next) {
		xmlNodePtr id = (xmlNodePtr)child_el(c, "CmdID");

		if (id == NULL)
			continue;
		snprintf(num, sizeof num, "%u", ++n);
		xmlNodeSetContent(id, BAD_CAST num);
	}
}

static void free_roots(char **roots, size_t n)
{
	size_t i;

	for (i = 0; roots != NULL && i < n; i++)
		free(roots[i]);
	free(roots);
}

/* Start the reply: header from the message's, Status for the SyncHdr. */
static void start_reply(struct engine *e, const xmlNode *root,
                        const xmlNode *hdr)
{
	xmlNodePtr r, h;
	char *v;
	const char *ns = (const char *)root->ns->href;

	r = xmlNewDocNode(e->out, NULL, BAD_CAST "SyncML", NULL);
	if (r == NULL) {
		e->nomem = true;
		return;
	}
	xmlDocSetRootElement(e->out, r);
	e->ns = xmlNewNs(r, BAD_CAST ns, NULL);
	e->metinf = xmlNewNs(r, BAD_CAST DMSC_DM_NS_METINF, BAD_CAST "mi");
	if (e->ns == NULL || e->metinf == NULL) {
		e->nomem = true;
		return;
	}
	xmlSetNs(r, e->ns);
	h = add_el(e, r, e->ns, "SyncHdr", NULL);
	v = child_text(hdr, "VerDTD");
	add_el(e, h, e->ns, "VerDTD", v);
	free(v);
	v = child_text(hdr, "VerProto");
	add_el(e, h, e->ns, "VerProto", v);
	free(v);
	v = child_text(hdr, "SessionID");
	add_el(e, h, e->ns, "SessionID", v);
	free(v);
	add_el(e, h, e->ns, "MsgID", e->msgid);
	v = child_text(child_el(hdr, "Source"), "LocURI");
	add_el(e, add_el(e, h, e->ns, "Target", NULL), e->ns, "LocURI", v);
	free(v);
	v = child_text(child_el(hdr, "Target"), "LocURI");
	add_el(e, add_el(e, h, e->ns, "Source", NULL), e->ns, "LocURI", v);
	free(v);
	e->body = add_el(e, r, e->ns, "SyncBody", NULL);
	if (e->body == NULL)
		return;
	{
		xmlNodePtr s = status_add(e, "0", "SyncHdr", NULL, SC_OK,
		                          false);
		char *tr = child_text(child_el(hdr, "Target"), "LocURI");
		char *sr = child_text(child_el(hdr, "Source"), "LocURI");
		xmlNodePtr data = (xmlNodePtr)child_el(s, "Data");

		/* RepPro 6.1.12: TargetRef and SourceRef of a SyncHdr
		 * status, before Data. */
		if (data != NULL && tr != NULL) {
			xmlNodePtr x = xmlNewDocNode(e->out, e->ns,
			                             BAD_CAST "TargetRef",
			                             BAD_CAST tr);

			if (x == NULL || xmlAddPrevSibling(data, x) == NULL)
				e->nomem = true;
		}
		if (data != NULL && sr != NULL) {
			xmlNodePtr x = xmlNewDocNode(e->out, e->ns,
			                             BAD_CAST "SourceRef",
			                             BAD_CAST sr);

			if (x == NULL || xmlAddPrevSibling(data, x) == NULL)
				e->nomem = true;
		}
		free(tr);
		free(sr);
	}
}

int dmsc_dmcmd_apply_doc(dmsc_tnds *t, xmlDocPtr doc,
                         const dmsc_dmcmd_opts *opts, char **out,
                         size_t *out_len, dmsc_dmcmd_report *rep,
                         dmsc_dm_error *err)
{
	struct engine e = { .t = t };
	const xmlNode *root = xmlDocGetRootElement(doc), *hdr, *body, *c;
	dmsc_tnds *before = NULL;
	char *msgid = NULL;
	xmlChar *mem = NULL;
	int mem_len = 0, rc = DMSC_DMCMD_NOMEM;
	size_t i;

	*out = NULL;
	*out_len = 0;
	if (root == NULL || !is_el(root, "SyncML") || root->ns == NULL)
		return refuse(err, root, "expected a SyncML DM message "
		              "(<SyncML xmlns=\"SYNCML:SYNCML1.2\">), not a "
		              "TNDS document");
	hdr = child_el(root, "SyncHdr");
	body = child_el(root, "SyncBody");
	if (hdr == NULL || body == NULL)
		return refuse(err, root, "a SyncML message needs <SyncHdr> "
		              "and <SyncBody> (RepPro 6.1)");
	msgid = child_text(hdr, "MsgID");
	if (msgid == NULL || *msgid == '\0') {
		free(msgid);
		return refuse(err, hdr, "<SyncHdr> has no <MsgID> (RepPro "
		              "6.1.13): the reply could not refer to it");
	}
	if ((rc = check_commands(body, err)) != DMSC_DMCMD_OK) {
		free(msgid);
		return rc;
	}
	e.msgid = msgid;
	e.replace_adds = opts != NULL && opts->replace_adds;
	rc = DMSC_DMCMD_NOMEM;
	if (opts != NULL && opts->n_roots > 0) {
		e.roots = calloc(opts->n_roots, sizeof *e.roots);
		if (e.roots == NULL)
			goto done;
		for (i = 0; i < opts->n_roots; i++) {
			char norm[DMSC_TNDS_URI_BUF];

			if (dmsc_tnds_path_norm(&t->lim, opts->roots[i], norm,
			                        sizeof norm, NULL, NULL, 0) !=
			    DMSC_TNDS_OK)
				continue; /* the caller checked; matches none */
			if ((e.roots[e.n_roots] = strdup(norm)) == NULL)
				goto done;
			e.n_roots++;
		}
	}
	/* Out of memory half-way must leave t as it was. */
	before = dmsc_tnds_clone(t);
	e.out = xmlNewDoc(BAD_CAST "1.0");
	if (before == NULL || e.out == NULL)
		goto done;
	start_reply(&e, root, hdr);
	for (c = body->children; c != NULL && !e.nomem; c = c->next)
		if (is_command(c))
			run_command(&e, c);
	if (e.nomem)
		goto done;
	number_reply(e.body);
	add_el(&e, e.body, e.ns, "Final", NULL);
	xmlDocDumpFormatMemoryEnc(e.out, &mem, &mem_len, "UTF-8", 1);
	if (e.nomem || mem == NULL || mem_len < 0 ||
	    (*out = malloc((size_t)mem_len + 1)) == NULL)
		goto done;
	memcpy(*out, mem, (size_t)mem_len);
	(*out)[mem_len] = '\0';
	*out_len = (size_t)mem_len;
	if (rep != NULL)
		*rep = e.rep;
	rc = DMSC_DMCMD_OK;
done:
	if (rc != DMSC_DMCMD_OK) {
		if (before != NULL) {
			dmsc_tnds_restore(t, before);
			before = NULL;
		}
		dmsc_dm_fail(err, rc, DMSC_DM_NO_OFFSET, 0, "out of memory");
	}
	dmsc_tnds_free(before);
	xmlFree(mem);
	if (e.out != NULL)
		xmlFreeDoc(e.out);
	free_roots(e.roots, opts != NULL ? opts->n_roots : 0);
	free(msgid);
	return rc;
}

int dmsc_dmcmd_apply(dmsc_tnds *t, const unsigned char *buf, size_t len,
                     const dmsc_dmcmd_opts *opts, char **out,
                     size_t *out_len, dmsc_dmcmd_report *rep,
                     dmsc_dm_error *err)
{
	xmlDocPtr doc = NULL;
	dmsc_dm_kind kind;
	int rc = dmsc_dm_parse(buf, len, NULL, &doc, &kind, err);

	*out = NULL;
	*out_len = 0;
	if (rc != DMSC_DM_OK)
		return rc == DMSC_DM_LIMIT ? DMSC_DMCMD_LIMIT
		       : rc == DMSC_DM_NOMEM ? DMSC_DMCMD_NOMEM
		       : DMSC_DMCMD_MALFORMED;
	rc = dmsc_dmcmd_apply_doc(t, doc, opts, out, out_len, rep, err);
	xmlFreeDoc(doc);
	return rc;
}
