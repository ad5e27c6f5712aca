/*
 * bench-dm-xmlsec: the in-process peer of bench-dm. Verifies an enveloped
 * XML-DSig (exclusive C14N, RSA-SHA256) with libxmlsec1 (OpenSSL) in a
 * loop, as a server verifying DM messages would: the key is loaded once
 * into a keys manager, and each message is parsed from memory and checked
 * with xmlSecDSigCtxVerify, which is what `xmlsec1 --verify` does once per
 * process.
 *
 *   bench-dm-xmlsec --pubkey PUB.pem [--seconds S] SIGNED.xml
 *
 * Each verification: xmlReadMemory (XML_PARSE_NONET) of the signed
 * document, xmlSecFindNode for <Signature>, xmlSecDSigCtxCreate,
 * xmlSecDSigCtxVerify (enveloped-signature and exclusive C14N transforms,
 * SHA-256 of the canonical bytes, then C14N of SignedInfo and RSA), a
 * check that the status is "succeeded", xmlSecDSigCtxDestroy, xmlFreeDoc.
 * References may only be URI="" (nothing is loaded from anywhere).
 *
 * Before timing it checks that the document verifies and that a copy with
 * one byte of the message changed (the first LocURI's) does not. With
 * --seconds 0 it stops there. Then it verifies for S seconds (at least 3
 * times) and prints one line, for bench-dm to read:
 *
 *   digest=HEX verifies=N seconds=T cpu=C rss_idle_kib=K rss_peak_kib=K
 *
 * digest is the SHA-256 the verified Reference covered (bench-dm compares it with
 * the module's CKM_DMSC_SHA256 of the same message: the same bytes are
 * digested on both sides). cpu is the process's CPU seconds in the loop
 * (below seconds when other work shares the machine). rss_idle_kib is the resident set after set-up
 * (libraries, key, the file read), rss_peak_kib the peak from there on.
 * Errors print a message and exit 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <xmlsec/base64.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "bench-util.h"
#include "mem-bench.h"

#define MIN_VERIFIES 3

const char *const bench_progname = "bench-dm-xmlsec";

static xmlSecKeysMngrPtr init_xmlsec(const char *pubkey)
{
	xmlSecKeysMngrPtr mngr;
	xmlSecKeyPtr key;

	xmlInitParser();
	LIBXML_TEST_VERSION
	if (xmlSecInit() < 0)
		bench_fail("xmlSecInit failed");
	if (xmlSecCheckVersion() != 1)
		bench_fail("libxmlsec1 is not the version this program was built with");
	if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
		bench_fail("xmlsec crypto (OpenSSL) initialisation failed");
	mngr = xmlSecKeysMngrCreate();
	if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0)
		bench_fail("cannot make a keys manager");
	key = xmlSecCryptoAppKeyLoad(pubkey, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
	if (!key)
		bench_fail("%s: cannot load the public key", pubkey);
	if (xmlSecCryptoAppDefaultKeysMngrAdoptKey(mngr, key) < 0)
		bench_fail("cannot add the key to the keys manager");
	return mngr;
}

static void done_xmlsec(xmlSecKeysMngrPtr mngr)
{
	xmlSecKeysMngrDestroy(mngr);
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
}

/*
 * One verification of the signed document in buf: true if the signature
 * is valid. With digest (32 bytes) set, the Reference's digest is copied
 * there. Any error but an invalid signature ends the program.
 */
static bool verify(xmlSecKeysMngrPtr mngr, const unsigned char *buf, size_t len,
		   unsigned char digest[32])
{
	xmlDocPtr doc = xmlReadMemory((const char *)buf, (int)len, NULL, NULL, XML_PARSE_NONET);
	xmlNodePtr node;
	xmlSecDSigCtxPtr ctx;
	bool ok;

	if (!doc || !xmlDocGetRootElement(doc))
		bench_fail("the signed document does not parse");
	node = xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs);
	if (!node)
		bench_fail("no <Signature> in the signed document");
	ctx = xmlSecDSigCtxCreate(mngr);
	if (!ctx)
		bench_fail("xmlSecDSigCtxCreate failed");
	ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
	if (xmlSecDSigCtxVerify(ctx, node) < 0)
		bench_fail("xmlSecDSigCtxVerify failed");
	ok = ctx->status == xmlSecDSigStatusSucceeded;
	if (digest && ok) {
		/* A verified Reference computed exactly its DigestValue. */
		xmlSecDSigReferenceCtxPtr ref = xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1 ?
			xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
		xmlNodePtr value = xmlSecFindNode(node, xmlSecNodeDigestValue, xmlSecDSigNs);
		xmlChar *text = value ? xmlNodeGetContent(value) : NULL;
		xmlSecByte bytes[64];
		xmlSecSize n = 0;

		if (!ref || ref->status != xmlSecDSigStatusSucceeded || !text ||
		    xmlSecBase64Decode_ex(text, bytes, sizeof bytes, &n) < 0 || n != 32)
			bench_fail("expected one verified Reference with a SHA-256 DigestValue");
		memcpy(digest, bytes, 32);
		xmlFree(text);
	}
	xmlSecDSigCtxDestroy(ctx);
	xmlFreeDoc(doc);
	return ok;
}

/* The signed document must verify, and not with the message changed. */
static void check(xmlSecKeysMngrPtr mngr, const unsigned char *buf, size_t len,
		  unsigned char digest[32])
{
	static const char tag[] = "<LocURI>";
	unsigned char *copy;
	unsigned char *at;

	if (!verify(mngr, buf, len, digest))
		bench_fail("the signature does not verify");
	at = memmem(buf, len, tag, sizeof tag - 1);
	if (!at || at + sizeof tag >= buf + len)
		bench_fail("no <LocURI> to change in the message");
	copy = malloc(len);
	if (!copy)
		bench_fail("out of memory");
	memcpy(copy, buf, len);
	at = copy + (at - buf) + sizeof tag - 1;
	*at = *at == 'x' ? 'y' : 'x';
	/* xmlsec reports a digest mismatch as an error too: silence it. */
	xmlSecErrorsDefaultCallbackEnableOutput(0);
	if (verify(mngr, copy, len, NULL))
		bench_fail("a changed message still verifies");
	xmlSecErrorsDefaultCallbackEnableOutput(1);
	free(copy);
}

int main(int argc, char **argv)
{
	const char *pubkey = NULL, *path = NULL;
	double seconds = 2.0, start, end, cpu;
	unsigned char digest[32];
	unsigned long count = 0;
	xmlSecKeysMngrPtr mngr;
	unsigned char *buf;
	size_t len;
	long idle, peak;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc) {
			pubkey = argv[++i];
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			char *e;

			seconds = strtod(argv[++i], &e);
			if (*e != '\0' || !(seconds >= 0.0) || seconds > 3600.0)
				bench_fail("--seconds: want 0..3600, got \"%s\"", argv[i]);
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			fprintf(stderr, "usage: %s --pubkey PUB.pem [--seconds S] SIGNED.xml\n",
				bench_progname);
			return 2;
		}
	}
	if (!pubkey || !path) {
		fprintf(stderr, "usage: %s --pubkey PUB.pem [--seconds S] SIGNED.xml\n",
			bench_progname);
		return 2;
	}

	mngr = init_xmlsec(pubkey);
	buf = bench_read_file(path, &len);
	if (len > (size_t)1 << 30)
		bench_fail("%s: too large", path);
	idle = bench_rss_kib();
	if (!bench_peak_rss_reset())
		idle = -1;
	check(mngr, buf, len, digest);
	cpu = bench_clock_secs(CLOCK_PROCESS_CPUTIME_ID);
	start = bench_clock_secs(CLOCK_MONOTONIC);
	end = start;
	if (seconds > 0.0)
		while (count < MIN_VERIFIES || end - start < seconds) {
			if (!verify(mngr, buf, len, NULL))
				bench_fail("the signature did not verify");
			count++;
			end = bench_clock_secs(CLOCK_MONOTONIC);
		}
	cpu = bench_clock_secs(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	peak = bench_peak_rss_kib();

	printf("digest=");
	for (size_t i = 0; i < sizeof digest; i++)
		printf("%02x", digest[i]);
	printf(" verifies=%lu seconds=%.6f cpu=%.6f rss_idle_kib=%ld rss_peak_kib=%ld\n", count,
	       end - start, cpu, idle, idle < 0 ? -1 : peak);
	free(buf);
	done_xmlsec(mngr);
	return 0;
}
