# Crypto benchmark: RSA, ECDSA, EdDSA, HMAC and SHA-256 throughput of our
# module and SoftHSM against raw OpenSSL (make bench-crypto).
EXTRA_PROGRAMS += bench/bench-crypto
bench_bench_crypto_SOURCES = bench/bench-crypto.c bench/p11-bench.h bench/p11-bench.c \
	bench/bench-util.h bench/bench-util.c bench/ossl-bench.h bench/ossl-bench.c
bench_bench_crypto_LDADD = $(OPENSSL_LIBS) -ldl -lpthread
CLEANFILES += bench/bench-crypto
EXTRA_DIST += bench/run-bench-crypto.sh
bench-crypto: dmsc-pkcs11.la bench/bench-crypto
	$(SHELL) $(top_srcdir)/bench/run-bench-crypto.sh '$(abs_top_builddir)/.libs/dmsc-pkcs11.so' '$(abs_top_builddir)/bench/bench-crypto'
.PHONY: bench-crypto
