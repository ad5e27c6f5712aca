#!/bin/bash
# run-bench-approve.sh: `dmsc approve` of a large package against
# `openssl dgst -sha256` of the same file, behind `make bench-approve`.
#
#   run-bench-approve.sh MODULE DMSC P11_DRIVER
#
# In a temporary directory: the MA's token (SoftHSM) and a card whose DM
# application holds the MA certificate as trust anchor (the set-up of
# tests/integration/approve-lib.sh), a package of BENCH_APPROVE_BYTES
# (default 1 GiB, random, made once and read from the page cache
# by both), a FUMO message naming its SHA-256 and the MA's detached
# signature over the message.  Then, BENCH_APPROVE_RUNS times each
# (default 3, the best run counts), `openssl dgst -sha256 FILE` and
# `dmsc approve --message ... FILE` (message verified on the card, package
# digested on the card through C_DigestUpdate), under /usr/bin/time for
# the peak resident set.  Prints throughput and peak RSS side by side and
# the ratio; the targets (issue 6) are >= 0.9x openssl's throughput and
# <= 32 MiB.  A benchmark, not a test: it never fails on a figure.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

die() {
	echo "run-bench-approve.sh: $*" >&2
	exit 1
}

[ $# -eq 3 ] || die "usage: run-bench-approve.sh MODULE DMSC P11_DRIVER"
export DMSC_MODULE=$1
DMSC=$2
export P11_DRIVER=$3
BYTES=${BENCH_APPROVE_BYTES:-1073741824}
RUNS=${BENCH_APPROVE_RUNS:-3}
[[ "$BYTES" =~ ^[0-9]+$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] ||
	die "BENCH_APPROVE_BYTES and BENCH_APPROVE_RUNS must be numbers"
for t in softhsm2-util pkcs11-tool openssl; do
	command -v "$t" >/dev/null || die "$t is needed (Debian: softhsm2, opensc, openssl)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian: time)"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/integration/approve-lib.sh
. "$here/../tests/integration/approve-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-bench-approve.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
export DMSC_STORE="$tmp/store" DMSC_CONF="$tmp/dmsc.conf"
: >"$DMSC_CONF"

ma_token "$tmp"
ma_key "$tmp" ma 01
card "$DMSC_STORE" "$tmp/ma.der" trusted || die "cannot make the card"
openssl rand -out "$tmp/pkg.bin" "$BYTES"
digest=$(openssl dgst -sha256 -r "$tmp/pkg.bin" | cut -d' ' -f1)
fumo_message "$tmp/fumo.xml" "$digest"
"$DMSC" sign -q --module "$SOFTHSM_MODULE" --token pkcs11:token=MA --pin "$MA_PIN" \
	--key ma -o "$tmp/fumo.sig" "$tmp/fumo.xml"

# measure NAME COMMAND...: the best wall time (s) and the peak RSS (KiB)
# of RUNS runs, in BEST_S and BEST_KB.
measure() {
	local i t0 t1 s kb
	BEST_S=
	BEST_KB=
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >"$tmp/out" 2>"$tmp/err" ||
			die "$1 failed: $(cat "$tmp/err")"
		t1=$EPOCHREALTIME
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
		kb=$(tail -n 1 "$tmp/rss")
		if [ -z "$BEST_S" ] || awk -v a="$s" -v b="$BEST_S" 'BEGIN { exit !(a < b) }'; then
			BEST_S=$s
		fi
		if [ -z "$BEST_KB" ] || [ "$kb" -gt "$BEST_KB" ]; then
			BEST_KB=$kb
		fi
	done
}

cat "$tmp/pkg.bin" >/dev/null  # into the page cache for both
measure openssl dgst -sha256 "$tmp/pkg.bin"
grep -q "$digest" "$tmp/out" || die "openssl printed another digest"
ossl_s=$BEST_S ossl_kb=$BEST_KB
measure "$DMSC" approve -q --module "$DMSC_MODULE" --token pkcs11:token=DM \
	--audit-log "$tmp/audit.log" --message "$tmp/fumo.xml" --signature "$tmp/fumo.sig" \
	"$tmp/pkg.bin"
grep -q '"result":"approved"' "$tmp/audit.log" || die "dmsc approve did not approve"
dmsc_s=$BEST_S dmsc_kb=$BEST_KB

echo "== dmsc approve of a package vs openssl dgst -sha256 (best of $RUNS) =="
awk -v bytes="$BYTES" -v os="$ossl_s" -v ok="$ossl_kb" -v ds="$dmsc_s" -v dk="$dmsc_kb" 'BEGIN {
	mib = bytes / 1048576
	printf "%-36s %10s %10s %12s\n", "", "seconds", "MiB/s", "peak RSS"
	printf "%-36s %10.3f %10.1f %9.1f MiB\n", "openssl dgst -sha256", os, mib / os, ok / 1024
	printf "%-36s %10.3f %10.1f %9.1f MiB\n", "dmsc approve (card: C_DigestUpdate)", ds, mib / ds, dk / 1024
	printf "package %.0f MiB; throughput ratio dmsc/openssl %.2fx (target >= 0.90x); peak RSS %.1f MiB (target <= 32 MiB)\n", mib, os / ds, dk / 1024
}'
