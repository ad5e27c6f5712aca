# Benchmarks: `make bench` (never part of `make check`: timings vary with
# the machine and a run takes minutes).
#
# Each benchmark is an EXTRA_PROGRAMS entry, built only when `bench` asks
# for it, and a run_* step in bench/run-bench.sh, which sets up throw-away
# tokens and runs them all. To add one: its program lines here, the
# program as a prerequisite of `bench`, its path as a run-bench.sh
# argument, and its run_* step in the script.
# BENCH_SIZES=100,1000 make bench   a quick run at small store sizes.

# Object store: create, find and destroy token objects, against SoftHSM.
EXTRA_PROGRAMS += bench/bench-objects
bench_bench_objects_SOURCES = bench/bench-objects.c bench/p11-bench.h bench/p11-bench.c \
	bench/bench-util.h bench/bench-util.c
bench_bench_objects_LDADD = -ldl
CLEANFILES += bench/bench-objects

EXTRA_DIST += bench/run-bench.sh

bench: dmsc-pkcs11.la bench/bench-objects bench-crypto
	$(SHELL) $(top_srcdir)/bench/run-bench.sh '$(abs_top_builddir)/.libs/dmsc-pkcs11.so' '$(abs_top_builddir)/bench/bench-objects'
.PHONY: bench
