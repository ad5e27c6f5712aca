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

/* The value of each byte as a base64 character, NOT_B64 for every other
 * byte ('=' and whitespace included: the careful path deals with those).
 * A table rather than range tests: on random base64 the chain of
 * comparisons mispredicts a branch on about every other character, which
 * made decoding most of the canonicaliser's time on large binary Data. */
#define NOT_B64 0xFF
#define XX NOT_B64
static const unsigned char value_of[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX,
	XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};
#undef XX

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The fast path: decode whole quanta of four alphabet characters from the
 * start of in, stopping before the first quantum that holds anything else
 * (whitespace, '=', an invalid character) or is cut short by the end.
 * Returns the number of characters used, a multiple of 4; 3 bytes per 4
 * characters went to out.  All values are below 64 and NOT_B64 has bit 7
 * set, so one test of the OR of four values finds any non-alphabet one. */
static size_t decode_quanta(const unsigned char *in, size_t len,
                            unsigned char *out)
{
	size_t i = 0;

	for (; len - i >= 4; i += 4) {
		uint32_t a = value_of[in[i]], b = value_of[in[i + 1]],
		         c = value_of[in[i + 2]], d = value_of[in[i + 3]];
		uint32_t v;

		if ((a | b | c | d) & 0x80)
			break;
		v = a << 18 | b << 12 | c << 6 | d;
		*out++ = (unsigned char)(v >> 16);
		*out++ = (unsigned char)(v >> 8);
		*out++ = (unsigned char)v;
	}
	return i;
}

bool dmsc_base64_decode(const char *in, size_t len, bool skip_space,
                        unsigned char *out, size_t *n, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t quantum = 0;
	int have = 0;    /* characters in the quantum */
	int pad = 0;     /* '=' in the quantum */
	bool ended = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c;
		int v;

		/* At a quantum boundary, before any padding, the fast path
		 * takes the run of plain quanta (all of a compact text, each
		 * line of a wrapped one).  What it stops at is read below
		 * one character at a time, in the same state the careful
		 * loop would be in there, so output and errors are the
		 * same.  After padding (ended) it must not run: anything
		 * there is an error. */
		if (have == 0 && !ended) {
			size_t used = decode_quanta(s + i, len - i, out + o);

			i += used;
			o += used / 4 * 3;
			if (i == len)
				break;
		}
		c = s[i];
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
			v = value_of[c];
			if (v == NOT_B64 || pad > 0) {
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

bool dmsc_base64_is_canonical(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned all = 0, a, b, c, d;
	size_t last;

	if (len % 4 != 0)
		return false;
	if (len == 0)
		return true;
	/* Every quantum but the last: alphabet characters only (no
	 * whitespace, no padding).  OR-ing the values needs no branch per
	 * character; NOT_B64's bit 7 survives.  A test after each block
	 * turns wrapped text away at its first line break, not after a
	 * whole pass. */
	last = len - 4;
	for (size_t i = 0; i < last;) {
		size_t end = last - i > 64 ? i + 64 : last;

		for (; i < end; i++)
			all |= value_of[s[i]];
		if (all & 0x80)
			return false;
	}
	a = value_of[s[last]];
	b = value_of[s[last + 1]];
	if ((a | b) & 0x80)
		return false;
	if (s[last + 2] == '=') {
		/* "xy==": one byte, so the low 4 bits of y are unused and
		 * the encoder writes them as zero. */
		return s[last + 3] == '=' && (b & 0x0F) == 0;
	}
	c = value_of[s[last + 2]];
	if (c & 0x80)
		return false;
	if (s[last + 3] == '=')
		return (c & 0x03) == 0;   /* "xyz=": two bytes, 2 bits unused */
	d = value_of[s[last + 3]];
	return (d & 0x80) == 0;
}
