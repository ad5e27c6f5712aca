#!/bin/bash
# run-bench-crypto.sh: the crypto benchmark behind `make bench-crypto`.
#
#   run-bench-crypto.sh MODULE BENCH_CRYPTO
#
# MODULE is our built module, BENCH_CRYPTO the bench-crypto program. Both
# our module and SoftHSM get a throw-away token in a temporary directory,
# labelled "bench" with user PIN 1234, which bench-crypto expects; it
# imports its keys as session objects, so nothing else lands on them.
# BENCH_SECONDS (default 2) is the measuring time of each table cell.
# make runs this with $(SHELL), which may be a plain sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

readonly TOKEN_LABEL=bench
readonly SO_PIN=12345678
readonly USER_PIN=1234
readonly SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so

die() {
	echo "run-bench-crypto.sh: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: run-bench-crypto.sh MODULE BENCH_CRYPTO"
mod=$1
bench_crypto=$2
[ -f "$mod" ] || die "no module at $mod"
[ -x "$bench_crypto" ] || die "no bench-crypto program at $bench_crypto"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool (opensc) is needed"
[ -f "$SOFTHSM_MODULE" ] || die "SoftHSM is needed: no $SOFTHSM_MODULE"
command -v softhsm2-util >/dev/null || die "softhsm2-util (softhsm2) is needed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-bench-crypto.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Make an interrupt run the EXIT trap too.
trap 'exit 130' INT TERM HUP

# SoftHSM: a file-backed token store of our own.
mkdir "$tmp/softhsm-tokens"
cat >"$tmp/softhsm2.conf" <<EOF
directories.tokendir = $tmp/softhsm-tokens
objectstore.backend = file
EOF
export SOFTHSM2_CONF="$tmp/softhsm2.conf"
softhsm2-util --init-token --free --label "$TOKEN_LABEL" \
	--so-pin "$SO_PIN" --pin "$USER_PIN"

# Ours: a fresh card store and an empty configuration file.
export DMSC_STORE="$tmp/dmsc-store"
: >"$tmp/dmsc.conf"
export DMSC_CONF="$tmp/dmsc.conf"
pkcs11-tool --module "$mod" --init-token --slot 0 --label "$TOKEN_LABEL" \
	--so-pin "$SO_PIN"
pkcs11-tool --module "$mod" --token-label "$TOKEN_LABEL" --login \
	--login-type so --so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN"

echo "== crypto: PKCS#11 modules against raw OpenSSL =="
"$bench_crypto" --seconds "${BENCH_SECONDS:-2}" \
	ours="$mod" softhsm="$SOFTHSM_MODULE"
