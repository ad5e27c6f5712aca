/*
 * dm-ext/dmsec-driver.c - a tiny command-line front end to dm-ext/dmsec.h
 * for tests/integration/test-dmsec.sh, which checks it against values it
 * computes with the openssl command.  A test tool, never installed: the
 * secrets are given on the command line.
 *
 *   dmsec-driver auth-md5 USER SECRET NONCEHEX
 *   dmsec-driver auth-md5-verify USER SECRET NONCEHEX CRED
 *   dmsec-driver hmac USER SECRET NONCEHEX CHUNK          < body
 *   dmsec-driver hmac-verify USER SECRET NONCEHEX MAC     < body
 *   dmsec-driver imsi-key IMSI
 *   dmsec-driver boot SEC IMSI PIN CHUNK                  < message
 *   dmsec-driver boot-verify SEC IMSI PIN MAC             < message
 *
 * NONCEHEX is the nonce's bytes in hexadecimal ("" for none).  CHUNK is
 * the size of the pieces stdin is fed in (0: all at once).  SEC is
 * NETWPIN, USERPIN or USERNETWPIN; IMSI or PIN "-" means none.  Output:
 * the credential or MAC on stdout.  Exit status: 0 success, 1 a verify
 * found a mismatch, 2 another error (dmsc_dmsec_strerror on stderr),
 * 64 usage.
 */
#include "dmsec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_MISMATCH 1
#define EXIT_ERROR 2
#define EXIT_USAGE 64

static int usage(void)
{
	fputs("usage: dmsec-driver auth-md5|auth-md5-verify|hmac|hmac-verify|"
	      "imsi-key|boot|boot-verify ARGS... (see dmsec-driver.c)\n", stderr);
	return EXIT_USAGE;
}

static int result(dmsc_dmsec_rv rv)
{
	if (rv == DMSC_DMSEC_OK)
		return EXIT_SUCCESS;
	fprintf(stderr, "dmsec-driver: %s\n", dmsc_dmsec_strerror(rv));
	return rv == DMSC_DMSEC_ERR_MISMATCH ? EXIT_MISMATCH : EXIT_ERROR;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into a malloc'ed buffer (at least 1 byte); false if bad. */
static bool unhex(const char *hex, unsigned char **out, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 != 0 || (*out = malloc(n / 2 + 1)) == NULL)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(*out);
			return false;
		}
		(*out)[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

static bool parse_chunk(const char *s, size_t *chunk)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0')
		return false;
	*chunk = v;
	return true;
}

/* All of stdin in a malloc'ed buffer. */
static unsigned char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0, got;
	unsigned char *buf = malloc(cap), *bigger;

	if (buf == NULL)
		return NULL;
	while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n == cap) {
			bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	if (ferror(stdin)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static const unsigned char *u8(const char *s)
{
	return (const unsigned char *)s;
}

static int cmd_auth(int argc, char **argv, bool verify)
{
	unsigned char *nonce;
	size_t nonce_len;
	char out[DMSC_DMSEC_B64_LEN + 1];
	dmsc_dmsec_rv rv;

	if (argc != (verify ? 6 : 5))
		return usage();
	if (!unhex(argv[4], &nonce, &nonce_len))
		return usage();
	if (verify)
		rv = dmsc_dmsec_auth_md5_verify(NULL, u8(argv[2]), strlen(argv[2]),
		                                u8(argv[3]), strlen(argv[3]),
		                                nonce, nonce_len,
		                                argv[5], strlen(argv[5]));
	else
		rv = dmsc_dmsec_auth_md5(NULL, u8(argv[2]), strlen(argv[2]),
		                         u8(argv[3]), strlen(argv[3]),
		                         nonce, nonce_len, out);
	free(nonce);
	if (rv == DMSC_DMSEC_OK && !verify)
		puts(out);
	return result(rv);
}

static int cmd_hmac(int argc, char **argv, bool verify)
{
	unsigned char *nonce, *body = NULL;
	size_t nonce_len, body_len = 0, chunk = 0;
	char out[DMSC_DMSEC_B64_LEN + 1];
	dmsc_dmsec_hmac_ctx *ctx = NULL;
	dmsc_dmsec_rv rv;

	if (argc != 6 || (!verify && !parse_chunk(argv[5], &chunk)))
		return usage();
	if (!unhex(argv[4], &nonce, &nonce_len))
		return usage();
	body = read_stdin(&body_len);
	if (body == NULL) {
		free(nonce);
		return result(DMSC_DMSEC_ERR_ARGS);
	}
	rv = dmsc_dmsec_hmac_new(NULL, u8(argv[2]), strlen(argv[2]),
	                         u8(argv[3]), strlen(argv[3]),
	                         nonce, nonce_len, &ctx);
	for (size_t off = 0; rv == DMSC_DMSEC_OK && off < body_len;) {
		size_t n = chunk == 0 || chunk > body_len - off ? body_len - off : chunk;

		rv = dmsc_dmsec_hmac_update(ctx, body + off, n);
		off += n;
	}
	if (rv == DMSC_DMSEC_OK)
		rv = verify ? dmsc_dmsec_hmac_verify(ctx, argv[5], strlen(argv[5])) :
		     dmsc_dmsec_hmac_final(ctx, out);
	dmsc_dmsec_hmac_free(ctx);
	free(body);
	free(nonce);
	if (rv == DMSC_DMSEC_OK && !verify)
		puts(out);
	return result(rv);
}

static int cmd_imsi_key(int argc, char **argv)
{
	unsigned char key[DMSC_DMSEC_IMSI_KEY_MAX];
	size_t key_len = 0;
	dmsc_dmsec_rv rv;

	if (argc != 3)
		return usage();
	rv = dmsc_dmsec_imsi_key(argv[2], strlen(argv[2]), key, &key_len);
	if (rv == DMSC_DMSEC_OK) {
		for (size_t i = 0; i < key_len; i++)
			printf("%02X", key[i]);
		putchar('\n');
	}
	return result(rv);
}

static bool parse_sec(const char *s, dmsc_dmsec_sec *sec)
{
	if (strcmp(s, "NETWPIN") == 0 || strcmp(s, "0") == 0)
		*sec = DMSC_DMSEC_NETWPIN;
	else if (strcmp(s, "USERPIN") == 0 || strcmp(s, "1") == 0)
		*sec = DMSC_DMSEC_USERPIN;
	else if (strcmp(s, "USERNETWPIN") == 0 || strcmp(s, "2") == 0)
		*sec = DMSC_DMSEC_USERNETWPIN;
	else
		return false;
	return true;
}

static int cmd_boot(int argc, char **argv, bool verify)
{
	dmsc_dmsec_sec sec;
	unsigned char netw[DMSC_DMSEC_IMSI_KEY_MAX], mac[DMSC_DMSEC_SHA1_LEN];
	char hex[DMSC_DMSEC_HEX_LEN + 1];
	size_t netw_len = 0, chunk = 0, msg_len = 0;
	const char *pin = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
	unsigned char *msg;
	dmsc_dmsec_boot_ctx *ctx = NULL;
	dmsc_dmsec_rv rv = DMSC_DMSEC_OK;

	if (argc != 6 || !parse_sec(argv[2], &sec) ||
	    (!verify && !parse_chunk(argv[5], &chunk)))
		return usage();
	if (strcmp(argv[3], "-") != 0)
		rv = dmsc_dmsec_imsi_key(argv[3], strlen(argv[3]), netw, &netw_len);
	if (rv != DMSC_DMSEC_OK)
		return result(rv);
	msg = read_stdin(&msg_len);
	if (msg == NULL)
		return result(DMSC_DMSEC_ERR_ARGS);
	rv = dmsc_dmsec_boot_new(NULL, sec, netw_len ? netw : NULL, netw_len,
	                         u8(pin), pin ? strlen(pin) : 0, &ctx);
	for (size_t off = 0; rv == DMSC_DMSEC_OK && off < msg_len;) {
		size_t n = chunk == 0 || chunk > msg_len - off ? msg_len - off : chunk;

		rv = dmsc_dmsec_boot_update(ctx, msg + off, n);
		off += n;
	}
	if (rv == DMSC_DMSEC_OK)
		rv = verify ? dmsc_dmsec_boot_verify(ctx, u8(argv[5]), strlen(argv[5])) :
		     dmsc_dmsec_boot_final(ctx, mac);
	dmsc_dmsec_boot_free(ctx);
	free(msg);
	if (rv == DMSC_DMSEC_OK && !verify) {
		dmsc_dmsec_mac_to_hex(mac, hex);
		puts(hex);
	}
	return result(rv);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "auth-md5") == 0)
		return cmd_auth(argc, argv, false);
	if (strcmp(argv[1], "auth-md5-verify") == 0)
		return cmd_auth(argc, argv, true);
	if (strcmp(argv[1], "hmac") == 0)
		return cmd_hmac(argc, argv, false);
	if (strcmp(argv[1], "hmac-verify") == 0)
		return cmd_hmac(argc, argv, true);
	if (strcmp(argv[1], "imsi-key") == 0)
		return cmd_imsi_key(argc, argv);
	if ((strcmp(argv[1], "boot") == 0 || strcmp(argv[1], "boot-verify") == 0) &&
	    argc == 6)
		return cmd_boot(argc, argv, strcmp(argv[1], "boot-verify") == 0);
	return usage();
}
