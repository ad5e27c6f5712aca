#!/bin/bash
# `dmsc status` and `dmsc mo` against SoftHSM: the tool is a plain PKCS#11
# client, so a token that holds the same objects (made here with
# pkcs11-tool, no dmsc code) gives the same answers.
#  - status --json: present, activated, the token's serial, a public MO and
#    the bootstrap counted without a login, the private MO too with a PIN;
#    PIN tries unknown (null: SoftHSM has no counter we can read);
#  - the initialised token is chosen without --token (SoftHSM also shows
#    an empty one);
#  - mo ls lists both MOs with their sizes; mo get gives pkcs11-tool's bytes;
#    mo put stores an MO pkcs11-tool reads back; a wrong PIN exits 6.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

need_cmd softhsm2-util pkcs11-tool python3 cmp
SH=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -f "$SH" ] || skip "the SoftHSM module is not at $SH (set SOFTHSM2_MODULE)"
setup_store
unset DMSC_PIN DMSC_MODULE
T=$TEST_TMP
V=${DMSC_SRCDIR:-$top}/dm-ext/vectors
mkdir "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" >"$T/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm2.conf"
softhsm2_out=$(softhsm2-util --init-token --free --label SH --so-pin 12345678 --pin 1234 2>&1) ||
    fail "softhsm2-util --init-token failed" "$softhsm2_out"

# sh ARGS: pkcs11-tool on SoftHSM's token.
sh() { timeout -k 5 "$P11_TIMEOUT" pkcs11-tool --module "$SH" --token-label SH "$@" </dev/null 2>&1; }
sh --login --pin 1234 --write-object "$V/dm12-tnds.xml" --type data --label ./DMAcc/Pub \
    --application-label OMA-DM:MO >/dev/null || fail "pkcs11-tool: write public MO"
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>' >"$T/fumo.xml"
sh --login --pin 1234 --write-object "$T/fumo.xml" --type data --label ./FUMO \
    --application-label OMA-DM:MO --private >/dev/null || fail "pkcs11-tool: write private MO"
sh --login --pin 1234 --write-object "$V/dm12-bootstrap.wbxml" --type data --label bootstrap \
    --application-label OMA-DM:BOOTSTRAP >/dev/null || fail "pkcs11-tool: write bootstrap"
serial=$(sh -T | awk -F': *' '/serial num/ { print $2; exit }')
[ -n "$serial" ] || fail "no serial number from pkcs11-tool -T"

step "status, no login, the token chosen without --token"
dmsc_expect 0 "status" --module "$SH" status --json
[ "$(json_get token_label)" = SH ] || fail "the initialised token SH is chosen" "$DOUT"
[ "$(json_get activated)" = true ] || fail "activated" "$DOUT"
[ "$(json_get iccid)" = "$serial" ] || fail "iccid is the token serial $serial" "$DOUT"
[ "$(json_get model)" = "SoftHSM v2" ] || fail "model SoftHSM v2" "$DOUT"
[ "$(json_get mo_count)" = 1 ] || fail "one public MO without a login" "$DOUT"
[ "$(json_get bootstrap)" = true ] || fail "bootstrap present" "$DOUT"
[ "$(json_get bootstrap_bytes)" = "$(stat -c %s "$V/dm12-bootstrap.wbxml")" ] || fail "bootstrap size" "$DOUT"
[ "$(json_get user_pin_tries_left)" = null ] || fail "SoftHSM's tries cannot be known" "$DOUT"
dmsc_expect 0 "status with a PIN" --module "$SH" --token 'pkcs11:token=SH' status --json --pin 1234
[ "$(json_get mo_count)" = 2 ] || fail "both MOs after a login" "$DOUT"

step "mo ls, get, put"
dmsc_expect 0 "ls" --module "$SH" mo ls --pin 1234
[ "$DOUT" = "public  $(printf '%8s' "$(stat -c %s "$V/dm12-tnds.xml")") ./DMAcc/Pub
private $(printf '%8s' 65) ./FUMO" ] || fail "ls on SoftHSM" "$DOUT"
"$DMSC" --module "$SH" mo get --pin 1234 ./FUMO >"$T/got" || fail "get ./FUMO on SoftHSM"
cmp "$T/fumo.xml" "$T/got" || fail "get ./FUMO: other bytes than pkcs11-tool wrote"
dmsc_expect 0 "put" --module "$SH" mo put --pin 1234 ./DMAcc/New "$V/dm12-tnds.wbxml"
sh --login --pin 1234 --read-object --type data --label ./DMAcc/New --application-label OMA-DM:MO \
    --output-file "$T/new" >/dev/null || fail "pkcs11-tool cannot read the MO dmsc put"
cmp "$V/dm12-tnds.wbxml" "$T/new" || fail "pkcs11-tool read other bytes than dmsc put"
dmsc_expect 6 "wrong PIN" --module "$SH" mo ls --pin 9999
derr_has "wrong user PIN" "wrong PIN on SoftHSM"
say "ok"
