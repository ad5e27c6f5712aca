/*
 * gen-dm-msg: a reproducible SyncML DM 1.2 server message of about a given
 * size, for bench/bench-dm (make bench-dm).
 *
 *   gen-dm-msg BYTES MESSAGE.xml TEMPLATE.xml
 *
 * MESSAGE.xml is a DM 1.2 message as a server sends it in a management
 * session: a SyncHdr with server credentials (Cred, Format b64), then a
 * SyncBody of a Status, an Add carrying a TNDS document (Format xml), a
 * Replace (Format chr), then commands until the message would pass BYTES:
 * Replaces of 1-4 Items (Format chr and int, some text non-ASCII or with
 * entities), Adds of certificate-sized blobs (Format b64, 600-1800 bytes)
 * and Atomics (a Replace and a Delete), then Final. The fixed part is
 * about 1.1 KiB, so a smaller target gives that. The same BYTES always give
 * the same bytes (a fixed PRNG seed).
 *
 * TEMPLATE.xml is the same message with an XML-DSig template (enveloped
 * signature, exclusive C14N, RSA-SHA256, SHA-256) as the last child of
 * <SyncML>, for `xmlsec1 --sign`.
 *
 * The message is written so that its XML form, its WBXML form made by
 * xml2wbxml, and the document an enveloped signature covers all have the
 * same canonical form (dm-ext/CANON.md): no whitespace between elements
 * and none around values (libwbxml drops or trims it), base64 on one line,
 * no Type on the TNDS Item (libwbxml rewrites dmtnds+xml to +wbxml). So the
 * canonical form is exactly what an exclusive C14N of the XML gives, and
 * xmlsec1 and dmsc digest the same bytes (bench-dm checks that). No
 * DOCTYPE, as many DM servers send it (C14N drops it anyway).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"

#define MAX_BYTES (16ul * 1024 * 1024)

const char *const bench_progname = "gen-dm-msg";

static const char xml_decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
static const char metinf[] = " xmlns=\"syncml:metinf\"";

/* The XML-DSig template xmlsec1 --sign fills in. */
static const char dsig_template[] =
	"<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"
	"<SignedInfo>"
	"<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
	"<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
	"<Reference URI=\"\">"
	"<Transforms>"
	"<Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
	"<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
	"</Transforms>"
	"<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
	"<DigestValue></DigestValue>"
	"</Reference>"
	"</SignedInfo>"
	"<SignatureValue></SignatureValue>"
	"</Signature>";

/* ---- output: one growing buffer ---- */

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			bench_fail("formatting failed");
		if ((size_t)n < o->cap - o->len)
			break;
		o->cap = (o->cap + (size_t)n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			bench_fail("out of memory");
	}
	o->len += (size_t)n;
}

/* ---- reproducible content ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: the same sequence everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned rng_range(unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rng() % (hi - lo + 1));
}

static void put_base64(struct out *o, size_t nbytes)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char b[3];

	for (size_t i = 0; i < nbytes; i += 3) {
		size_t n = nbytes - i < 3 ? nbytes - i : 3;
		char q[5];

		for (size_t k = 0; k < 3; k++)
			b[k] = k < n ? (unsigned char)rng() : 0;
		q[0] = alphabet[b[0] >> 2];
		q[1] = alphabet[((b[0] & 3) << 4) | (b[1] >> 4)];
		q[2] = n > 1 ? alphabet[((b[1] & 15) << 2) | (b[2] >> 6)] : '=';
		q[3] = n > 2 ? alphabet[b[2] & 63] : '=';
		q[4] = '\0';
		put(o, "%s", q);
	}
}

/* ---- the message ---- */

struct msg {
	struct out o;
	unsigned cmdid;
	unsigned node;           /* numbers the management objects touched */
};

static void sync_hdr(struct msg *m)
{
	put(&m->o, "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
	    "<SessionID>%04X</SessionID><MsgID>2</MsgID>"
	    "<Target><LocURI>IMEI:35988103%07u</LocURI></Target>"
	    "<Source><LocURI>https://dm.operator.example/dm</LocURI></Source>"
	    "<Cred><Meta><Format%s>b64</Format><Type%s>syncml:auth-md5</Type></Meta>"
	    "<Data>",
	    (unsigned)(rng() & 0xFFFF), rng_range(0, 9999999), metinf, metinf);
	put_base64(&m->o, 16);
	put(&m->o, "</Data></Cred>"
	    "</SyncHdr>");
}

static void status_hdr(struct msg *m)
{
	put(&m->o, "<Status><CmdID>%u</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef>"
	    "<Cmd>SyncHdr</Cmd><Data>212</Data></Status>",
	    ++m->cmdid);
}

/* An Add whose one Item carries a TNDS document (DM account settings). */
static void add_tnds(struct msg *m)
{
	unsigned acc = ++m->node;

	put(&m->o, "<Add><CmdID>%u</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target>"
	    "<Meta><Format%s>xml</Format></Meta>"
	    "<Data><MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>"
	    "<Node><NodeName>Op%u</NodeName><Path>./DMAcc</Path>"
	    "<Node><NodeName>Name</NodeName><Value>Op\xC3\xA9rateur &amp; Co</Value></Node>"
	    "</Node></MgmtTree></Data></Item></Add>",
	    ++m->cmdid, metinf, acc);
}

/* One Item of Format chr: a connectivity or device setting. */
static void item_chr(struct msg *m)
{
	unsigned n = ++m->node;

	switch (rng() % 4) {
	case 0:
		put(&m->o, "<Item><Target><LocURI>./Con/Op/NAP/%u/NAPAddr</LocURI></Target>"
		    "<Meta><Format%s>chr</Format><Type%s>text/plain</Type></Meta>"
		    "<Data>apn%u.operator.example</Data></Item>", n, metinf, metinf, n);
		break;
	case 1:
		put(&m->o, "<Item><Target><LocURI>./DMAcc/Operator/AppAddr/%u/Addr</LocURI></Target>"
		    "<Meta><Format%s>chr</Format></Meta>"
		    "<Data>https://dm.operator.example:443/oma/dm?node=%u&amp;v=2</Data></Item>",
		    n, metinf, n);
		break;
	case 2:
		put(&m->o, "<Item><Target><LocURI>./DevDetail/Ext/Conf/Label%u</LocURI></Target>"
		    "<Data>Gr\xC3\xBC\xC3\x9F" "e %u: &lt;R\xC3\xA9seau&gt; \xC2\xAB" "Caf\xC3\xA9\xC2\xBB</Data></Item>",
		    n, n);
		break;
	default:
		put(&m->o, "<Item><Target><LocURI>./Vendor/Policy/%u/Timeout</LocURI></Target>"
		    "<Meta><Format%s>int</Format></Meta><Data>%u</Data></Item>",
		    n, metinf, rng_range(30, 86400));
		break;
	}
}

/* One Item of Format b64: a certificate or configuration blob. */
static void item_b64(struct msg *m, size_t nbytes)
{
	put(&m->o, "<Item><Target><LocURI>./Vendor/Certs/%u/Cert</LocURI></Target>"
	    "<Meta><Format%s>b64</Format><Type%s>application/pkix-cert</Type></Meta><Data>",
	    ++m->node, metinf, metinf);
	put_base64(&m->o, nbytes);
	put(&m->o, "</Data></Item>");
}

static void replace_cmd(struct msg *m, unsigned items)
{
	put(&m->o, "<Replace><CmdID>%u</CmdID>", ++m->cmdid);
	for (unsigned i = 0; i < items; i++)
		item_chr(m);
	put(&m->o, "</Replace>");
}

static void add_b64_cmd(struct msg *m, size_t nbytes)
{
	put(&m->o, "<Add><CmdID>%u</CmdID>", ++m->cmdid);
	item_b64(m, nbytes);
	put(&m->o, "</Add>");
}

static void atomic_cmd(struct msg *m)
{
	put(&m->o, "<Atomic><CmdID>%u</CmdID>", ++m->cmdid);
	replace_cmd(m, 2);
	put(&m->o, "<Delete><CmdID>%u</CmdID><Item><Target><LocURI>./Con/Op/NAP/%u</LocURI>"
	    "</Target></Item></Delete>", ++m->cmdid, ++m->node);
	put(&m->o, "</Atomic>");
}

/* A command drawn from the mix a bulk provisioning message has. */
static void some_command(struct msg *m)
{
	unsigned r = (unsigned)(rng() % 10);

	if (r < 6)
		replace_cmd(m, rng_range(1, 4));
	else if (r < 9)
		add_b64_cmd(m, rng_range(600, 1800));
	else
		atomic_cmd(m);
}

static const char body_end[] = "<Final/></SyncBody>";
static const char doc_end[] = "</SyncML>\n";

static void make_message(struct msg *m, size_t target)
{
	rng_state = 0x9E3779B97F4A7C15ULL;
	put(&m->o, "%s<SyncML xmlns=\"SYNCML:SYNCML1.2\">", xml_decl);
	sync_hdr(m);
	put(&m->o, "<SyncBody>");
	status_hdr(m);
	add_tnds(m);
	replace_cmd(m, 1);
	/* Until the next command would pass the target; a b64 Add first. */
	for (bool first = true;; first = false) {
		size_t len = m->o.len;
		unsigned cmdid = m->cmdid, node = m->node;
		uint64_t state = rng_state;

		if (first)
			add_b64_cmd(m, 600);
		else
			some_command(m);
		if (m->o.len + sizeof body_end + sizeof doc_end > target) {
			m->o.len = len;
			m->cmdid = cmdid;
			m->node = node;
			rng_state = state;
			break;
		}
	}
	put(&m->o, "%s", body_end);
}

static void write_file(const char *path, const char *a, size_t alen, const char *b,
		       size_t blen, const char *c, size_t clen)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		bench_fail("%s: %s", path, strerror(errno));
	if (fwrite(a, 1, alen, f) != alen || fwrite(b, 1, blen, f) != blen ||
	    fwrite(c, 1, clen, f) != clen || fclose(f) != 0)
		bench_fail("%s: write failed", path);
}

int main(int argc, char **argv)
{
	struct msg m = { { NULL, 0, 0 }, 0, 0 };
	char *end;
	unsigned long target;

	if (argc != 4) {
		fprintf(stderr, "usage: %s BYTES MESSAGE.xml TEMPLATE.xml\n", bench_progname);
		return 2;
	}
	errno = 0;
	target = strtoul(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || target == 0 || target > MAX_BYTES)
		bench_fail("BYTES: want 1..%lu, got \"%s\"", MAX_BYTES, argv[1]);
	m.o.cap = 4096;
	m.o.buf = malloc(m.o.cap);
	if (!m.o.buf)
		bench_fail("out of memory");
	make_message(&m, (size_t)target);
	write_file(argv[2], m.o.buf, m.o.len, "", 0, doc_end, strlen(doc_end));
	write_file(argv[3], m.o.buf, m.o.len, dsig_template, strlen(dsig_template), doc_end,
		   strlen(doc_end));
	free(m.o.buf);
	return 0;
}
