/*
 * dm-ext/test-base64.c - tests of dm-ext/base64.c's fast paths.
 *
 * The decoder takes runs of four alphabet characters through a table-driven
 * fast loop and everything else (whitespace, padding, errors) one
 * character at a time.  Both must give what the decoder gave before the
 * fast loop existed: ref_decode() below is that decoder, kept as the
 * oracle.  Every result is compared with it, bytes, count and the index of
 * the first bad character, for random inputs of every length 0..300 in
 * many spellings, and with an invalid character at every position.
 * dmsc_base64_is_canonical() is checked against its definition: the text
 * decodes (no whitespace skipped) and encodes back to itself.
 */
#include "base64.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES 300
/* Room for the longest spelling built below: every character followed by
 * up to 3 blanks, plus line breaks. */
#define MAX_TEXT (MAX_BYTES / 3 * 4 + 8) * 5

/* ---- The oracle: the decoder before the fast path, unchanged ---- */

static int ref_value_of(unsigned char c)
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

static bool ref_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ref_decode(const char *in, size_t len, bool skip_space,
                       unsigned char *out, size_t *n, size_t *bad)
{
	uint32_t quantum = 0;
	int have = 0;
	int pad = 0;
	bool ended = false;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (skip_space && ref_is_space(c))
			continue;
		if (ended) {
			*bad = i;
			return false;
		}
		if (c == '=') {
			if (have < 2) {
				*bad = i;
				return false;
			}
			pad++;
			v = 0;
		} else {
			v = ref_value_of(c);
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

/* ---- Helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* xorshift64: the same inputs every run. */
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static void random_bytes(unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)rnd();
}

/* Decode with both decoders, with and without skipping whitespace, and
 * require the same answer; returns whether it decoded (with skip_space)
 * and its bytes in out/n. */
static bool same_as_ref(const char *in, size_t len, unsigned char *out,
                        size_t *n)
{
	bool ok = false;

	for (int skip = 1; skip >= 0; skip--) {
		unsigned char got[MAX_TEXT], want[MAX_TEXT];
		size_t got_n = 0, want_n = 0, got_bad = 0, want_bad = 0;
		bool got_ok = dmsc_base64_decode(in, len, skip, got, &got_n,
		                                 &got_bad);
		bool want_ok = ref_decode(in, len, skip, want, &want_n,
		                          &want_bad);

		/* ck_abort_msg() only on a mismatch: each ck_assert
		 * records its place through check's pipe, and these run
		 * millions of times. */
		if (got_ok != want_ok)
			ck_abort_msg("\"%.*s\" (skip %d): %d, expected %d",
			             (int)len, in, skip, got_ok, want_ok);
		if (want_ok && (got_n != want_n ||
		                memcmp(got, want, want_n) != 0))
			ck_abort_msg("\"%.*s\" (skip %d): other bytes",
			             (int)len, in, skip);
		if (!want_ok && got_bad != want_bad)
			ck_abort_msg("\"%.*s\" (skip %d): bad %zu, expected "
			             "%zu", (int)len, in, skip, got_bad,
			             want_bad);
		if (skip) {
			ok = got_ok;
			if (ok) {
				memcpy(out, got, got_n);
				*n = got_n;
			}
		}
	}
	return ok;
}

/* dmsc_base64_is_canonical() against its definition. */
static void check_canonical(const char *in, size_t len)
{
	unsigned char bytes[MAX_TEXT];
	char again[MAX_TEXT];
	size_t n, bad;
	bool want = ref_decode(in, len, false, bytes, &n, &bad) &&
	            dmsc_base64_encode(bytes, n, again) == len &&
	            memcmp(again, in, len) == 0;

	if (dmsc_base64_is_canonical(in, len) != want)
		ck_abort_msg("\"%.*s\": canonical %d, expected %d", (int)len,
		             in, !want, want);
}

/* Copy in to out with blanks: `every` > 0 puts one after each character
 * whose index is 1 mod `every` (every 4: one inside each quantum, so no
 * quantum is plain and the careful path reads them all); `every` == 0
 * puts random whitespace at random places, and wraps at 76 characters
 * with CR LF and an indent, as XML writers do. */
static size_t spaced(const char *in, size_t len, int every, char *out)
{
	static const char blanks[] = " \t\r\n";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		out[o++] = in[i];
		if (every > 0 && i % (size_t)every == 1)
			out[o++] = ' ';
		if (every == 0 && rnd() % 8 == 0)
			out[o++] = blanks[rnd() % 4];
		if (every == 0 && i % 76 == 75) {
			memcpy(out + o, "\r\n  ", 4);
			o += 4;
		}
	}
	return o;
}

/* ---- Tests ---- */

/* Random bytes of every length 0..300: the encoding decodes to them on
 * the fast path, on the careful path (a blank in each quantum), wrapped
 * and with random whitespace; all as the oracle says. */
START_TEST(test_fast_and_careful_agree)
{
	for (size_t len = 0; len <= MAX_BYTES; len++) {
		unsigned char bytes[MAX_BYTES] = { 0 }, got[MAX_TEXT];
		char enc[MAX_TEXT], text[MAX_TEXT];
		size_t elen, tlen, n;

		random_bytes(bytes, len);
		elen = dmsc_base64_encode(bytes, len, enc);
		ck_assert_uint_eq(elen, dmsc_base64_encoded_len(len));
		ck_assert(dmsc_base64_is_canonical(enc, elen));

		ck_assert(same_as_ref(enc, elen, got, &n));
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(got, bytes, len) == 0);
		for (int every = 0; every <= 4; every++) {
			if (every == 1)
				continue;   /* nothing is 1 mod 1 */
			tlen = spaced(enc, elen, every, text);
			ck_assert(same_as_ref(text, tlen, got, &n));
			ck_assert_uint_eq(n, len);
			ck_assert(memcmp(got, bytes, len) == 0);
			check_canonical(text, tlen);
		}
	}
}
END_TEST

/* The padding and the unused bits: set unused bits decode to the same
 * bytes but are not canonical; padding missing, doubled or followed by
 * more text is refused where the oracle refuses it. */
START_TEST(test_padding_variants)
{
	for (size_t len = 0; len <= MAX_BYTES; len++) {
		unsigned char bytes[MAX_BYTES] = { 0 }, got[MAX_TEXT];
		char enc[MAX_TEXT], text[MAX_TEXT];
		size_t elen, n;

		random_bytes(bytes, len);
		elen = dmsc_base64_encode(bytes, len, enc);
		if (len % 3 != 0) {
			/* The character before the padding with its unused
			 * bits set: "QQ==" -> "QR==", "QUI=" -> "QUJ=". */
			size_t at = elen - (len % 3 == 1 ? 3 : 2);

			memcpy(text, enc, elen);
			/* Its value is even (canonical), so the next
			 * character sets bit 0 alone; 'Z' + 1 is 'a'. */
			text[at] = text[at] == 'Z' ? 'a' : (char)(text[at] + 1);
			ck_assert(same_as_ref(text, elen, got, &n));
			ck_assert_uint_eq(n, len);
			ck_assert(memcmp(got, bytes, len) == 0);
			ck_assert(!dmsc_base64_is_canonical(text, elen));
			check_canonical(text, elen);
			/* Padding dropped, or one '=' of two. */
			for (size_t cut = 1; cut <= 2 && enc[elen - cut] == '=';
			     cut++) {
				ck_assert(!same_as_ref(enc, elen - cut, got, &n));
				check_canonical(enc, elen - cut);
			}
		}
		/* Text after the last quantum, padded or not. */
		memcpy(text, enc, elen);
		memcpy(text + elen, "QUJD", 4);
		same_as_ref(text, elen + 4, got, &n);
		check_canonical(text, elen + 4);
		memcpy(text + elen, "=", 1);
		same_as_ref(text, elen + 1, got, &n);
		memcpy(text + elen, "====", 4);
		same_as_ref(text, elen + 4, got, &n);
		check_canonical(text, elen + 4);
	}
}
END_TEST

/* One character replaced, at every position of the encoding of every
 * length: the first bad index is the oracle's.  The characters are the
 * ones next to the alphabet's ranges, padding, whitespace, NUL and high
 * bytes. */
START_TEST(test_invalid_at_every_position)
{
	static const char wrong[] = "=- \n\t\r.:@[`{_\x7F\x80\xFF";

	for (size_t len = 0; len <= MAX_BYTES; len++) {
		unsigned char bytes[MAX_BYTES] = { 0 }, got[MAX_TEXT];
		char enc[MAX_TEXT], text[MAX_TEXT];
		size_t elen, n;

		random_bytes(bytes, len);
		elen = dmsc_base64_encode(bytes, len, enc);
		for (size_t at = 0; at < elen; at++) {
			memcpy(text, enc, elen);
			/* sizeof wrong counts the NUL: it is tried too. */
			for (size_t w = 0; w < sizeof wrong; w++) {
				text[at] = wrong[w];
				same_as_ref(text, elen, got, &n);
				check_canonical(text, elen);
			}
		}
	}
}
END_TEST

/* Short texts: every byte value at every position. */
START_TEST(test_every_byte_short)
{
	for (size_t len = 0; len <= 9; len++) {
		unsigned char bytes[16] = { 0 }, got[MAX_TEXT];
		char enc[MAX_TEXT], text[MAX_TEXT];
		size_t elen, n;

		random_bytes(bytes, len);
		elen = dmsc_base64_encode(bytes, len, enc);
		for (size_t at = 0; at < elen; at++) {
			memcpy(text, enc, elen);
			for (int v = 0; v < 256; v++) {
				text[at] = (char)v;
				same_as_ref(text, elen, got, &n);
				check_canonical(text, elen);
			}
		}
	}
}
END_TEST

/* Every 4-character text over a set that meets each branch of
 * dmsc_base64_is_canonical(), alone and after a plain quantum. */
START_TEST(test_canonical_exhaustive)
{
	static const char set[] = "AQRBgw/+09=- ";
	const size_t k = sizeof set - 1;
	char text[8] = { 'Q', 'U', 'J', 'D' };

	for (size_t a = 0; a < k; a++)
		for (size_t b = 0; b < k; b++)
			for (size_t c = 0; c < k; c++)
				for (size_t d = 0; d < k; d++) {
					text[4] = set[a];
					text[5] = set[b];
					text[6] = set[c];
					text[7] = set[d];
					check_canonical(text + 4, 4);
					check_canonical(text, 8);
				}
	ck_assert(dmsc_base64_is_canonical("", 0));
	ck_assert(dmsc_base64_is_canonical("QQ==", 4));
	ck_assert(!dmsc_base64_is_canonical("QR==", 4));
	ck_assert(dmsc_base64_is_canonical("QUI=", 4));
	ck_assert(!dmsc_base64_is_canonical("QUJ=", 4));
	ck_assert(!dmsc_base64_is_canonical("QUJD\n", 5));
	ck_assert(!dmsc_base64_is_canonical("QQ==QUJD", 8));
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("fast paths");

	tcase_add_test(tc, test_fast_and_careful_agree);
	tcase_add_test(tc, test_padding_variants);
	tcase_add_test(tc, test_invalid_at_every_position);
	tcase_add_test(tc, test_every_byte_short);
	tcase_add_test(tc, test_canonical_exhaustive);
	/* Valgrind runs are slow. */
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(base64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
