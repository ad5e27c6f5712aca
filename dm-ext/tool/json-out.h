/*
 * dm-ext/tool/json-out.h - the little JSON the tool's --json outputs
 * need: a string with RFC 8259 escapes.
 */
#ifndef DMSC_TOOL_JSON_OUT_H
#define DMSC_TOOL_JSON_OUT_H

#include <stdio.h>

/* s as a JSON string, quotes included; bytes below 0x20, '"' and '\\'
 * escaped, others (UTF-8) copied. */
void dmsc_json_string(FILE *out, const char *s);

#endif /* DMSC_TOOL_JSON_OUT_H */
