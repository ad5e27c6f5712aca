/*
 * dm-ext/base64.h - RFC 4648 base64 (standard alphabet, padded) for the
 * DM extension's canonical form.
 *
 * Encoding writes no line breaks.  Decoding is strict about the alphabet
 * and the padding (the length, without skipped whitespace, is a multiple
 * of 4; '=' only as the last one or two characters); it can skip XML
 * whitespace (space, tab, CR, LF) anywhere, as base64 in XML text is often
 * wrapped.  Bits below the last full byte are ignored, so "QR==" and
 * "QQ==" both give "A": re-encoding the bytes gives the one canonical
 * spelling.
 */
#ifndef DMSC_DMEXT_BASE64_H
#define DMSC_DMEXT_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the encoding of n bytes (without a terminating NUL), or 0 if
 * it would not fit in a size_t (n > 0). */
size_t dmsc_base64_encoded_len(size_t n);

/* Encode n bytes into out, which has room for dmsc_base64_encoded_len(n)
 * characters; no NUL is written.  Returns the number of characters. */
size_t dmsc_base64_encode(const unsigned char *in, size_t n, char *out);

/* Decode len characters of in into out, which has room for len / 4 * 3
 * bytes (an upper bound).  With skip_space, XML whitespace is ignored
 * wherever it is.  Returns true and the byte count in *n, or false if the
 * text is not base64; then *bad is the index in `in` of the first
 * character that is wrong (len if the text ends too early). */
bool dmsc_base64_decode(const char *in, size_t len, bool skip_space,
                        unsigned char *out, size_t *n, size_t *bad);

/* Is in (len characters) base64 exactly as dmsc_base64_encode() writes
 * it: no whitespace, a length that is a multiple of 4, '=' only as the
 * padding of the last quantum and zero unused bits before it?  Then
 * decoding and encoding again gives the same characters, and a caller
 * that wants the canonical spelling can keep the text as it is.  The
 * empty text is canonical (it encodes no bytes). */
bool dmsc_base64_is_canonical(const char *in, size_t len);

#endif /* DMSC_DMEXT_BASE64_H */
