#!/bin/bash
# run-bench-dm.sh: the DM canonical-form benchmark behind `make bench-dm`.
#
#   run-bench-dm.sh --check-tools
#   run-bench-dm.sh MODULE BENCH_DM GEN_DM_MSG BENCH_DM_XMLSEC
#
# --check-tools says which Debian package to install for each missing tool
# and exits 1 if any is missing (make runs it before building the
# libxmlsec1 peer). Otherwise, in a temporary directory: a throw-away
# token of our module labelled "bench" with user PIN 1234 (as bench-dm
# expects), an RSA-2048 key made with openssl, and for each size a DM
# message made by GEN_DM_MSG (the same bytes every run), its WBXML form
# (xml2wbxml -n) and an enveloped XML-DSig of it made with
# `xmlsec1 --sign` with that key; then BENCH_DM prints the table.
# BENCH_SECONDS (default 2) is the measuring time of each cell.
# BENCH_DM_SIZES (default 1KiB=1024,64KiB=65536,1MiB=1048576): NAME=BYTES,...
# make runs this with $(SHELL), which may be a plain sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

readonly TOKEN_LABEL=bench
readonly SO_PIN=12345678
readonly USER_PIN=1234
readonly SIZES="${BENCH_DM_SIZES:-1KiB=1024,64KiB=65536,1MiB=1048576}"

die() {
	echo "run-bench-dm.sh: $*" >&2
	exit 1
}

# Each tool and the Debian 12 package that has it.
check_tools() {
	local missing=""

	command -v xmlsec1 >/dev/null || missing="$missing xmlsec1"
	command -v xml2wbxml >/dev/null || missing="$missing libwbxml2-utils"
	command -v pkcs11-tool >/dev/null || missing="$missing opensc"
	command -v openssl >/dev/null || missing="$missing openssl"
	if ! command -v pkg-config >/dev/null; then
		missing="$missing pkg-config"
	elif ! pkg-config --exists xmlsec1-openssl; then
		missing="$missing libxmlsec1-dev"
	fi
	if [ -n "$missing" ]; then
		echo "run-bench-dm.sh: missing tools; install the Debian packages:$missing" >&2
		echo "  apt-get install$missing" >&2
		return 1
	fi
}

if [ "${1:-}" = --check-tools ]; then
	check_tools
	exit
fi
[ $# -eq 4 ] || die "usage: run-bench-dm.sh MODULE BENCH_DM GEN_DM_MSG BENCH_DM_XMLSEC"
mod=$1
bench_dm=$2
gen=$3
bench_xmlsec=$4
[ -f "$mod" ] || die "no module at $mod"
for p in "$bench_dm" "$gen" "$bench_xmlsec"; do
	[ -x "$p" ] || die "no program at $p"
done
check_tools || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmsc-bench-dm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Make an interrupt run the EXIT trap too.
trap 'exit 130' INT TERM HUP

# Ours: a fresh card store and an empty configuration file.
export DMSC_STORE="$tmp/dmsc-store"
: >"$tmp/dmsc.conf"
export DMSC_CONF="$tmp/dmsc.conf"
pkcs11-tool --module "$mod" --init-token --slot 0 --label "$TOKEN_LABEL" \
	--so-pin "$SO_PIN" >/dev/null
pkcs11-tool --module "$mod" --token-label "$TOKEN_LABEL" --login \
	--login-type so --so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN" >/dev/null

# One RSA-2048 key for both sides: bench-dm imports it into the token.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem"

set --
IFS=, read -r -a sizes <<<"$SIZES"
for spec in "${sizes[@]}"; do
	name=${spec%%=*}
	bytes=${spec#*=}
	[[ "$name" =~ ^[A-Za-z0-9]+$ && "$bytes" =~ ^[0-9]+$ ]] ||
		die "BENCH_DM_SIZES: expected NAME=BYTES,..., got \"$spec\""
	base="$tmp/msg-$name"
	"$gen" "$bytes" "$base.xml" "$base.template.xml"
	# -n: no string table (libwbxml's takes minutes on a 1 MiB message).
	xml2wbxml -n -o "$base.wbxml" "$base.xml" >/dev/null
	xmlsec1 --sign --privkey-pem "$tmp/key.pem" --output "$base.signed.xml" \
		"$base.template.xml"
	set -- "$@" "$name=$base"
done

echo "== DM messages: canonicalise and verify, against xmlsec1 =="
"$bench_dm" --seconds "${BENCH_SECONDS:-2}" --module "$mod" --key "$tmp/key.pem" \
	--pubkey "$tmp/pub.pem" --xmlsec-bench "$bench_xmlsec" \
	--xmlsec1 "$(command -v xmlsec1)" "$@"
