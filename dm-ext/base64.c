/*
 * dm-ext/base64.c - RFC 4648 base64 for the DM extension (see base64.h).
 */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t dmsc_base64_encoded_len(size_t n)
{
	size_t groups = n / 3 + (n % 3 != 0);

	return groups > SIZE_MAX / 4 ? 0 : groups * 4;
}

size_t dmsc_base64_encode(const unsigned char *in, size_t n, char *out)
{
	char *o = out;

	for (size_t i = 0; i < n; i += 3) {
		size_t left = n - i;
		uint32_t v = (uint32_t)in[i] << 16;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		*o++ = alphabet[(v >> 18) & 0x3F];
		*o++ = alphabet[(v >> 12) & 0x3F];
		*o++ = left > 1 ? alphabet[(v >> 6) & 0x3F] : '=';
		*o++ = left > 2 ? alphabet[v & 0x3F] : '=';
	}
	return (size_t)(o - out);
}

/* The value of one base64 character, -1 for anything else. */
static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool dmsc_base64_decode(const char *in, size_t len, bool skip_space,
                        unsigned char *out, size_t *n, size_t *bad)
{
	uint32_t quantum = 0;
	int have = 0;    /* characters in the quantum */
	int pad = 0;     /* '=' in the quantum */
	bool ended = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (skip_space && is_space(c))
			continue;
		if (ended) {
			*bad = i;      /* anything after the padded quantum */
			return false;
		}
		if (c == '=') {
			/* Only in places 3 and 4 of a quantum, and a '=' in
			 * place 3 needs one in place 4. */
			if (have < 2) {
				*bad = i;
				return false;
			}
			pad++;
			v = 0;
		} else {
			v = value_of(c);
			if (v < 0 || pad > 0) {
				*bad = i;
				return false;
			}
		}
		quantum = (quantum << 6) | (uint32_t)v;
		if (++have < 4)
			continue;
		out[o++] = (unsigned char)(quantum >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(quantum >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)quantum;
		ended = pad > 0;
		quantum = 0;
		have = 0;
		pad = 0;
	}
	if (have != 0) {
		*bad = len;
		return false;
	}
	*n = o;
	return true;
}
