/*
 * dm-ext/tnds.c - the TNDS content model on a parsed tree (tnds.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tnds.h"

/* Deeper MO trees than the reader allows cannot reach here; this bounds
 * the element path in messages. */
#define PATH_MAX_LEN 160u

static bool is_element(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       strcmp((const char *)n->ns->href, DMSC_DM_NS_DMDDF12) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

/* /MgmtTree/Node[2]/Value: the element's place, for the messages (an
 * index where it has siblings of its name). */
static void element_path(xmlNodePtr n, char *out, size_t len)
{
	char tail[PATH_MAX_LEN], step[64];
	xmlNodePtr s;
	unsigned k, total;

	out[0] = '\0';
	for (; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
		k = total = 0;
		for (s = n->parent != NULL ? n->parent->children : n;
		     s != NULL; s = s->next) {
			if (s->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)s->name,
			           (const char *)n->name) != 0)
				continue;
			total++;
			if (s == n)
				k = total;
		}
		if (total > 1)
			snprintf(step, sizeof step, "/%.40s[%u]", n->name, k);
		else
			snprintf(step, sizeof step, "/%.40s", n->name);
		snprintf(tail, sizeof tail, "%s%s", step, out);
		snprintf(out, len, "%s", tail);
	}
}

static int broken(dmsc_dm_error *err, xmlNodePtr n, const char *rule)
{
	char path[PATH_MAX_LEN];
	long line = n != NULL ? xmlGetLineNo(n) : 0;

	element_path(n, path, sizeof path);
	if (line > 0)
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, DMSC_DM_NO_OFFSET,
		                    (int)line, "line %ld: %s: %s (OMA DM TNDS)",
		                    line, path, rule);
	return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, DMSC_DM_NO_OFFSET, 0,
	                    "%s: %s (OMA DM TNDS)", path, rule);
}

/* Skips comments, PIs and whitespace text; *bad gets other text. */
static xmlNodePtr next_element(xmlNodePtr n, xmlNodePtr *bad)
{
	const xmlChar *c;

	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE)
			return n;
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			for (c = n->content; c != NULL && *c != '\0'; c++)
				if (*c != ' ' && *c != '\t' && *c != '\n' &&
				    *c != '\r') {
					*bad = n->parent;
					return NULL;
				}
		}
	}
	return NULL;
}

/* An element of text only (no child elements). */
static int text_only(xmlNodePtr n, dmsc_dm_error *err)
{
	xmlNodePtr c;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return broken(err, c, "an element inside a text-only "
			              "element (VerDTD, Man, Mod, NodeName, "
			              "Path and Value hold text)");
	return DMSC_DM_OK;
}

static int check_rtproperties(xmlNodePtr rt, dmsc_dm_error *err)
{
	static const char *const known[] = { "ACL", "Format", "Name", "Size",
	                                     "Title", "TStamp", "Type",
	                                     "VerNo" };
	unsigned seen = 0;
	xmlNodePtr c, bad = NULL;
	size_t i;

	for (c = next_element(rt->children, &bad); c != NULL;
	     c = next_element(c->next, &bad)) {
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (is_element(c, known[i]))
				break;
		if (i == sizeof known / sizeof known[0])
			return broken(err, c, "not an RTProperties element "
			              "(ACL, Format, Name, Size, Title, TStamp, "
			              "Type, VerNo)");
		if (seen & (1u << i))
			return broken(err, c, "given twice in one "
			              "RTProperties");
		seen |= 1u << i;
	}
	if (bad != NULL)
		return broken(err, bad, "text where only elements belong");
	return DMSC_DM_OK;
}

static int check_node(xmlNodePtr node, dmsc_dm_error *err)
{
	xmlNodePtr c, bad = NULL;
	xmlChar *name;
	bool has_value = false, has_child = false, has_rt = false,
	     has_df = false;
	int st;

	c = next_element(node->children, &bad);
	if (!is_element(c, "NodeName"))
		return broken(err, c != NULL ? c : node,
		              c != NULL ? "a Node starts with its NodeName"
		                        : "a Node needs a NodeName");
	if ((st = text_only(c, err)) != DMSC_DM_OK)
		return st;
	name = xmlNodeGetContent(c);
	if (name != NULL && strchr((const char *)name, '/') != NULL) {
		xmlFree(name);
		return broken(err, c, "a NodeName is one segment: no '/' "
		              "(the parents go in Path)");
	}
	xmlFree(name);
	c = next_element(c->next, &bad);
	if (is_element(c, "Path")) {
		if ((st = text_only(c, err)) != DMSC_DM_OK)
			return st;
		c = next_element(c->next, &bad);
	}
	/* The run-time and the description properties, in either order
	 * (TNDS writes RTProperties, a DDF DFProperties; a document may mix
	 * them). */
	for (;;) {
		if (is_element(c, "RTProperties") && !has_rt) {
			if ((st = check_rtproperties(c, err)) != DMSC_DM_OK)
				return st;
			has_rt = true;
		} else if (is_element(c, "DFProperties") && !has_df) {
			has_df = true;
		} else {
			break;
		}
		c = next_element(c->next, &bad);
	}
	for (; c != NULL; c = next_element(c->next, &bad)) {
		if (is_element(c, "Value")) {
			if (has_value || has_child)
				return broken(err, c, has_value
				              ? "a Node has one Value at most"
				              : "a Node has a Value or child "
				                "Nodes, not both");
			if ((st = text_only(c, err)) != DMSC_DM_OK)
				return st;
			has_value = true;
		} else if (is_element(c, "Node")) {
			if (has_value)
				return broken(err, c, "a Node has a Value or "
				              "child Nodes, not both");
			if ((st = check_node(c, err)) != DMSC_DM_OK)
				return st;
			has_child = true;
		} else {
			return broken(err, c, "out of place: a Node is "
			              "(NodeName, Path?, RTProperties?, "
			              "DFProperties?, (Node* | Value?))");
		}
	}
	if (bad != NULL)
		return broken(err, bad, "text where only elements belong");
	return DMSC_DM_OK;
}

int dmsc_tnds_check(xmlDocPtr doc, dmsc_dm_error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c, bad = NULL;
	int st;

	if (!is_element(root, "MgmtTree"))
		return broken(err, root, "the root is <MgmtTree "
		              "xmlns=\"" DMSC_DM_NS_DMDDF12 "\">");
	c = next_element(root->children, &bad);
	if (!is_element(c, "VerDTD"))
		return broken(err, c != NULL ? c : root,
		              "a MgmtTree starts with its VerDTD");
	if ((st = text_only(c, err)) != DMSC_DM_OK)
		return st;
	c = next_element(c->next, &bad);
	if (is_element(c, "Man")) {
		if ((st = text_only(c, err)) != DMSC_DM_OK)
			return st;
		c = next_element(c->next, &bad);
	}
	if (is_element(c, "Mod")) {
		if ((st = text_only(c, err)) != DMSC_DM_OK)
			return st;
		c = next_element(c->next, &bad);
	}
	for (; c != NULL; c = next_element(c->next, &bad)) {
		if (!is_element(c, "Node"))
			return broken(err, c, "out of place: a MgmtTree is "
			              "(VerDTD, Man?, Mod?, Node*)");
		if ((st = check_node(c, err)) != DMSC_DM_OK)
			return st;
	}
	if (bad != NULL)
		return broken(err, bad, "text where only elements belong");
	return DMSC_DM_OK;
}

int dmsc_tnds_read(const unsigned char *buf, size_t len, xmlDocPtr *doc,
                   dmsc_dm_error *err)
{
	xmlDocPtr d = NULL;
	dmsc_dm_kind kind;
	int st;

	if (doc != NULL)
		*doc = NULL;
	st = dmsc_dm_parse(buf, len, NULL, &d, &kind, err);
	if (st != DMSC_DM_OK)
		return st;
	if (kind != DMSC_DM_TNDS) {
		xmlFreeDoc(d);
		return dmsc_dm_fail(err, DMSC_DM_UNSUPPORTED, DMSC_DM_NO_OFFSET,
		                    0, "a SyncML message, not a TNDS "
		                    "document (<MgmtTree xmlns=\""
		                    DMSC_DM_NS_DMDDF12 "\">)");
	}
	st = dmsc_tnds_check(d, err);
	if (st != DMSC_DM_OK || doc == NULL)
		xmlFreeDoc(d);
	else
		*doc = d;
	return st;
}
