#!/bin/sh
# run-bench.sh: the benchmarks behind `make bench`.
#
#   run-bench.sh [MODULE [BENCH_OBJECTS]]
#
# MODULE is our built module (default $DMSC_MODULE), BENCH_OBJECTS the
# bench-objects program (default bench/bench-objects under the current
# directory). Everything runs against throw-away tokens in a temporary
# directory: a SoftHSM token as the reference and a dmsc store, both
# labelled "bench" with user PIN 1234, which bench-objects expects.
#
# A new benchmark adds a run_* function below and a call at the end.
set -eu

readonly TOKEN_LABEL=bench
readonly SO_PIN=12345678
readonly USER_PIN=1234
# BENCH_SIZES=100,1000 make bench: a quick run while working on the store.
readonly SIZES="${BENCH_SIZES:-1000,3000,10000,100000}"
# SoftHSM reads every object file on each find or destroy (~20/s at 3,000
# objects), so filling and emptying larger stores would take hours.
readonly SOFTHSM_MAX_SIZE=3000

mod=${1:-${DMSC_MODULE:-}}
bench_objects=${2:-bench/bench-objects}
softhsm_mod=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

die() {
	echo "run-bench.sh: $*" >&2
	exit 1
}

[ -n "$mod" ] || die "usage: run-bench.sh MODULE [BENCH_OBJECTS] (or set DMSC_MODULE)"
[ -f "$mod" ] || die "no module at $mod"
[ -x "$bench_objects" ] || die "no bench-objects program at $bench_objects"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool (opensc) is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Make an interrupt run the EXIT trap too.
trap 'exit 130' INT TERM HUP

# Without SoftHSM the benchmark still runs, for our module alone.
softhsm_available() {
	[ -f "$softhsm_mod" ] && command -v softhsm2-util >/dev/null
}

setup_softhsm() {
	mkdir "$tmp/softhsm-tokens"
	cat >"$tmp/softhsm2.conf" <<-EOF
		directories.tokendir = $tmp/softhsm-tokens
		objectstore.backend = file
	EOF
	export SOFTHSM2_CONF="$tmp/softhsm2.conf"
	softhsm2-util --init-token --free --label "$TOKEN_LABEL" \
		--so-pin "$SO_PIN" --pin "$USER_PIN"
}

# The id of the first slot whose token is not initialised yet, from
# `pkcs11-tool -L` lines like "Slot 0 (0x1): ..." followed by
# "  token state:   uninitialized".
first_free_slot() {
	pkcs11-tool --module "$mod" -L | awk '
		/^Slot [0-9]+ \(0x[0-9a-fA-F]+\)/ {
			slot = $3; gsub(/[():]/, "", slot)
		}
		/token state:[[:space:]]*uninitialized/ && slot != "" {
			print slot; exit
		}'
}

setup_dmsc() {
	export DMSC_STORE="$tmp/dmsc-store"
	# The store's capacity defaults to a small card; the largest
	# store size needs far more.
	echo "capacity = 1073741824" >"$tmp/dmsc.conf"
	export DMSC_CONF="$tmp/dmsc.conf"
	slot=$(first_free_slot)
	[ -n "$slot" ] || die "dmsc shows no uninitialised slot"
	pkcs11-tool --module "$mod" --slot "$slot" --init-token \
		--label "$TOKEN_LABEL" --so-pin "$SO_PIN"
	pkcs11-tool --module "$mod" --token-label "$TOKEN_LABEL" --login \
		--login-type so --so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN"
}

# Arguments: the bench-objects modules, NAME=PATH[@MAXSIZE].
run_object_bench() {
	echo "== object store: create, find, destroy token data objects =="
	"$bench_objects" --sizes "$SIZES" "$@"
}

setup_dmsc
# Our module first: bench-objects compares the first with the others.
set -- "ours=$mod"
if softhsm_available; then
	setup_softhsm
	set -- "$@" "softhsm=$softhsm_mod@$SOFTHSM_MAX_SIZE"
else
	echo "run-bench.sh: SoftHSM not found, benchmarking dmsc alone" >&2
fi
run_object_bench "$@"
