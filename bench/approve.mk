# Approval benchmark (make bench-approve, and part of make bench):
# `dmsc approve` of a 1 GiB package (message verified and package digested
# on the card) against `openssl dgst -sha256` of the same file, throughput
# and peak RSS side by side.  bench/run-bench-approve.sh sets up the MA's
# SoftHSM token and the card with tests/integration/approve-lib.sh.
# BENCH_APPROVE_BYTES=67108864 make bench-approve   a quick run (64 MiB).
EXTRA_DIST += bench/run-bench-approve.sh

bench-approve: dmsc-pkcs11.la dmsc tests/integration/p11-driver
	$(SHELL) $(top_srcdir)/bench/run-bench-approve.sh '$(abs_top_builddir)/.libs/dmsc-pkcs11.so' \
		'$(abs_top_builddir)/dmsc' '$(abs_top_builddir)/tests/integration/p11-driver'

# In make bench, after the DM benchmark (one benchmark at a time).
bench: bench-approve-in-bench
bench-approve-in-bench: bench-dm-in-bench
	@$(MAKE) $(AM_MAKEFLAGS) bench-approve
.PHONY: bench-approve bench-approve-in-bench
