# DM canonical-form benchmark (make bench-dm, and part of make bench):
# canonicalise-and-verify of DM messages (1 KiB, 64 KiB, 1 MiB; XML and
# WBXML) through the module with CKM_DMSC_SHA256_RSA_PKCS, side by side
# with xmlsec1 verifying an XML-DSig (exclusive C14N, RSA-SHA256) over the
# same messages, in process (libxmlsec1) and one process per message.
# bench/run-bench-dm.sh makes the token, key and messages and runs it all.
#
# Tools it needs beyond the build's (Debian packages): xmlsec1,
# libwbxml2-utils (xml2wbxml), libxmlsec1-dev (with libxmlsec1-openssl, for
# the in-process peer), opensc (pkcs11-tool), openssl. The script says
# which is missing before anything is built against libxmlsec1.

EXTRA_PROGRAMS += bench/bench-dm bench/gen-dm-msg
bench_bench_dm_SOURCES = bench/bench-dm.c bench/p11-bench.h bench/p11-bench.c \
	bench/mem-bench.h bench/mem-bench.c bench/bench-util.h bench/bench-util.c \
	bench/ossl-bench.h bench/ossl-bench.c
bench_bench_dm_LDADD = $(OPENSSL_LIBS) -ldl -lpthread
bench_gen_dm_msg_SOURCES = bench/gen-dm-msg.c bench/bench-util.h bench/bench-util.c
CLEANFILES += bench/bench-dm bench/gen-dm-msg bench/bench-dm-xmlsec
EXTRA_DIST += bench/run-bench-dm.sh bench/bench-dm-xmlsec.c

# The in-process peer links libxmlsec1, which nothing else needs: built
# with pkg-config's flags only when the benchmark runs, so configure does
# not ask for libxmlsec1-dev.
bench_dm_xmlsec_src = $(srcdir)/bench/bench-dm-xmlsec.c $(srcdir)/bench/mem-bench.c \
	$(srcdir)/bench/bench-util.c
bench/bench-dm-xmlsec: $(bench_dm_xmlsec_src) $(srcdir)/bench/mem-bench.h \
		$(srcdir)/bench/bench-util.h
	$(AM_V_CCLD)$(CC) $(AM_CFLAGS) $(CFLAGS) $(CPPFLAGS) \
		`$(PKG_CONFIG) --cflags xmlsec1-openssl` -o $@ $(bench_dm_xmlsec_src) \
		$(LDFLAGS) `$(PKG_CONFIG) --libs xmlsec1-openssl`

bench-dm: dmsc-pkcs11.la bench/bench-dm bench/gen-dm-msg
	@$(SHELL) $(top_srcdir)/bench/run-bench-dm.sh --check-tools
	@$(MAKE) $(AM_MAKEFLAGS) bench/bench-dm-xmlsec
	$(SHELL) $(top_srcdir)/bench/run-bench-dm.sh '$(abs_top_builddir)/.libs/dmsc-pkcs11.so' \
		'$(abs_top_builddir)/bench/bench-dm' '$(abs_top_builddir)/bench/gen-dm-msg' \
		'$(abs_top_builddir)/bench/bench-dm-xmlsec'

# In make bench, after the crypto benchmark (never beside it under -j:
# two benchmarks sharing the CPUs would both measure less).
bench: bench-dm-in-bench
bench-dm-in-bench: bench-crypto
	@$(MAKE) $(AM_MAKEFLAGS) bench-dm
.PHONY: bench-dm bench-dm-in-bench
