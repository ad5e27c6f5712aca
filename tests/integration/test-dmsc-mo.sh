#!/bin/bash
# `dmsc mo ls|get|put|rm` end to end against the built module, and the
# authorised applications of DM-SC-GEN-3:
#  - put (XML from a file, WBXML from stdin) creates a data object that
#    pkcs11-tool reads back byte for byte, with CKA_APPLICATION OMA-DM:MO
#    and the path as label, private unless --public; an MO pkcs11-tool
#    wrote is listed with its size and read by get;
#  - put on an existing path replaces it in place (one object, new bytes);
#  - malformed XML, a broken TNDS rule, a SyncML message, an empty file:
#    exit 1 naming file, line and rule, and the card is unchanged; a bad
#    path or a missing file: exit 2, card unchanged;
#  - wrong PIN: exit 6 with the tries left, nothing stored;
#  - rm, then get and rm again: exit 5;
#  - a full card: exit 7, "card full: N bytes needed, M free", the old MO
#    still there whole and no new object;
#  - two applications (DM and Wallet) on one card: neither lists nor reads
#    the other's private MOs or data, with its own PIN or the other's;
#    status counts an application's own data; the DM SO manages public
#    MOs (--so).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

check_module
need_cmd cmp sha256sum
setup_store
unset DMSC_PIN
T=$TEST_TMP
V=${DMSC_SRCDIR:-$top}/dm-ext/vectors
[ -f "$V/dm12-tnds.xml" ] || fail "vectors not found in $V"
make_dm_card

# mo_sha PATH: sets SHA to the sha256 of `dmsc mo get` of PATH (DM, PIN).
SHA=
mo_sha() {
    "$DMSC" mo get --pin 1234 "$1" >"$T/got" 2>"$T/err" ||
        fail "get $1 failed" "$(cat "$T/err")"
    SHA=$(file_sha "$T/got")
}
# data_count: N = the data objects pkcs11-tool lists on DM after a login.
data_count() {
    p11_ok "list data objects" --token-label DM --login --pin 1234 -O --type data
    N=$(grep -c '^Data object' <<<"$OUT" || true)
}

step "put from a file (private by default), read back by pkcs11-tool"
dmsc_expect 0 "put XML" mo put --pin 1234 ./DMAcc/OperatorX "$V/dm12-tnds.xml"
derr_has "./DMAcc/OperatorX: created on token 'DM' ($(stat -c %s "$V/dm12-tnds.xml") bytes)" "put XML"
p11_ok "read it with pkcs11-tool" --token-label DM --login --pin 1234 --read-object --type data \
    --label ./DMAcc/OperatorX --application-label OMA-DM:MO --output-file "$T/back.xml"
cmp "$V/dm12-tnds.xml" "$T/back.xml" || fail "pkcs11-tool read back other bytes than were put"
p11_ok "objects without a login" --token-label DM -O
out_lacks "./DMAcc/OperatorX" "a default put is private"
p11_ok "objects after a login" --token-label DM --login --pin 1234 -O
out_has "application:    'OMA-DM:MO'" "CKA_APPLICATION"
out_has "label:          './DMAcc/OperatorX'" "CKA_LABEL"

step "put --public from stdin (WBXML); get prints the same bytes"
# dmsc_run reads stdin from /dev/null: this one by hand.
RC=0
"$DMSC" mo put --public --pin 1234 ./DMAcc/Pub - <"$V/dm12-tnds.wbxml" 2>"$T/err" || RC=$?
[ "$RC" -eq 0 ] || fail "put WBXML from stdin: exit $RC" "$(cat "$T/err")"
grep -qF "./DMAcc/Pub: created" "$T/err" || fail "put from stdin should create ./DMAcc/Pub" "$(cat "$T/err")"
"$DMSC" mo get ./DMAcc/Pub >"$T/pub.wbxml" || fail "get without a login of a public MO failed"
cmp "$V/dm12-tnds.wbxml" "$T/pub.wbxml" || fail "get printed other bytes than were put"
p11_ok "public objects without a login" --token-label DM -O
out_has "./DMAcc/Pub" "--public makes the MO visible without a login"

step "an MO written by pkcs11-tool: listed and read"
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>' >"$T/empty.xml"
p11_ok "write MO" --token-label DM --login --pin 1234 --write-object "$T/empty.xml" --type data \
    --label ./FUMO --application-label OMA-DM:MO --private
dmsc_expect 0 "ls with PIN" mo ls --pin 1234
[ "$(grep -c . <<<"$DOUT")" -eq 3 ] || fail "ls should list 3 MOs" "$DOUT"
dout_has "private $(printf '%8s' "$(stat -c %s "$V/dm12-tnds.xml")") ./DMAcc/OperatorX" "ls line"
dout_has "public  $(printf '%8s' "$(stat -c %s "$V/dm12-tnds.wbxml")") ./DMAcc/Pub" "ls line"
dout_has "private $(printf '%8s' 65) ./FUMO" "ls line"
dmsc_expect 0 "ls without PIN" mo ls
[ "$DOUT" = "public  $(printf '%8s' "$(stat -c %s "$V/dm12-tnds.wbxml")") ./DMAcc/Pub" ] ||
    fail "ls without a login lists the public MO only" "$DOUT"
derr_has "public MOs only" "ls without a login says so"
mo_sha ./FUMO
[ "$SHA" = "$(file_sha "$T/empty.xml")" ] || fail "get ./FUMO: other bytes than pkcs11-tool wrote"

step "put on an existing path replaces it in place"
data_count
before=$N
dmsc_expect 0 "replace" mo put --pin 1234 ./FUMO "$V/dm12-tnds.xml"
derr_has "./FUMO: replaced on token 'DM'" "replace"
data_count
[ "$N" -eq "$before" ] || fail "replace changed the number of data objects ($before -> $N)"
mo_sha ./FUMO
[ "$SHA" = "$(file_sha "$V/dm12-tnds.xml")" ] || fail "after replace get prints the new TNDS"

step "bad input: refused, named, nothing changed"
mo_sha ./FUMO
keep=$SHA
data_count
before=$N
printf '<MgmtTree xmlns="syncml:dmddf1.2">\n<VerDTD>1.2</VerDTD>\n<Node><NodeName>A</NodeName>\n<Value>1</Value><Node><NodeName>B</NodeName></Node></Node>\n</MgmtTree>\n' >"$T/rule.xml"
dmsc_expect 1 "TNDS rule broken" mo put --pin 1234 ./FUMO "$T/rule.xml"
derr_has "$T/rule.xml: line 4: a <Node> has a <Value> or child <Node>s, not both; nothing was stored" "rule message"
printf '<MgmtTree xmlns="syncml:dmddf1.2">\n<VerDTD>1.2</VerDTD>\n<Node></MgmtTree>\n' >"$T/bad.xml"
dmsc_expect 1 "malformed XML" mo put --pin 1234 ./FUMO "$T/bad.xml"
derr_has "$T/bad.xml: byte" "malformed: file and byte"
derr_has "line 3" "malformed: line"
dmsc_expect 1 "a SyncML message" mo put --pin 1234 ./FUMO "$V/dm12-replace.xml"
derr_has "not a TNDS document" "SyncML refused"
: >"$T/empty"
dmsc_expect 1 "an empty file" mo put --pin 1234 ./New "$T/empty"
dmsc_expect 2 "a missing file" mo put --pin 1234 ./New "$T/none.xml"
derr_has "cannot open" "missing file"
dmsc_expect 2 "a relative path" mo put --pin 1234 DMAcc/X "$V/dm12-tnds.xml"
derr_has "not an MO path" "relative path"
dmsc_expect 2 "a path with .." mo put --pin 1234 ./DMAcc/../X "$V/dm12-tnds.xml"
dmsc_expect 2 "a trailing /" mo put --pin 1234 ./DMAcc/ "$V/dm12-tnds.xml"
dmsc_expect 2 "put without FILE" mo put ./X
dmsc_expect 2 "an unknown subcommand" mo cat ./X
mo_sha ./FUMO
[ "$SHA" = "$keep" ] || fail "a refused put changed ./FUMO"
data_count
[ "$N" -eq "$before" ] || fail "a refused put changed the number of data objects ($before -> $N)"

step "wrong PIN: nothing stored"
dmsc_expect 6 "put with a wrong PIN" mo put --pin 0000 ./New "$V/dm12-tnds.xml"
derr_has "wrong user PIN, 2 tries left" "wrong PIN"
dmsc_expect 5 "nothing was stored" mo get --pin 1234 ./New

step "rm"
dmsc_expect 0 "rm" mo rm --pin 1234 ./DMAcc/Pub
derr_has "./DMAcc/Pub: removed" "rm"
dmsc_expect 5 "get after rm" mo get --pin 1234 ./DMAcc/Pub
derr_has "no MO at ./DMAcc/Pub" "get after rm"
dmsc_expect 5 "rm again" mo rm --pin 1234 ./DMAcc/Pub
dmsc_expect 3 "no such token" mo ls --token 'pkcs11:token=Nope'

step "GEN-3: two applications keep their provisioning data apart"
init_app Wallet 11111111 5678
W=(--token 'pkcs11:token=Wallet')
dmsc_expect 0 "Wallet stores its own MO" "${W[@]}" mo put --pin 5678 ./Wallet/Cfg "$T/empty.xml"
dmsc_expect 0 "Wallet lists" "${W[@]}" mo ls --pin 5678
[ "$DOUT" = "private $(printf '%8s' 65) ./Wallet/Cfg" ] || fail "Wallet sees exactly its own MO" "$DOUT"
dmsc_expect 0 "DM lists" mo ls --pin 1234
[ "$(grep -c . <<<"$DOUT")" -eq 2 ] || fail "DM sees its two MOs" "$DOUT"
grep -qF ./Wallet/Cfg <<<"$DOUT" && fail "DM sees Wallet's MO" "$DOUT"
dmsc_expect 5 "Wallet cannot read DM's MO" "${W[@]}" mo get --pin 5678 ./DMAcc/OperatorX
dmsc_expect 5 "DM cannot read Wallet's MO" mo get --pin 1234 ./Wallet/Cfg
dmsc_expect 6 "DM's PIN does not open Wallet" "${W[@]}" mo get --pin 1234 ./Wallet/Cfg
p11_ok "Wallet's PIN in pkcs11-tool" --token-label Wallet --login --pin 5678 -O
out_lacks "./DMAcc/OperatorX" "pkcs11-tool on Wallet shows DM's MO"
dmsc_expect 5 "Wallet's status: its MO is private, not counted without a login" "${W[@]}" status
dmsc_expect 0 "Wallet's status with its PIN" "${W[@]}" status --json --pin 5678
[ "$(json_get mo_count)" = 1 ] || fail "Wallet's status counts its one MO" "$DOUT"
printf 'wallet-secret' >"$T/wallet.dat"
p11_ok "Wallet's own data (CKA_APPLICATION = its label)" --token-label Wallet --login --pin 5678 \
    --write-object "$T/wallet.dat" --type data --label cfg --application-label Wallet --private
dmsc_expect 0 "Wallet's status counts its own data" "${W[@]}" status --json --pin 5678
[ "$(json_get app_data_count)" = 1 ] || fail "Wallet's app_data_count" "$DOUT"
dmsc_expect 0 "DM's status does not see it" status --json --pin 1234
[ "$(json_get app_data_count)" = 0 ] || fail "DM sees Wallet's data" "$DOUT"
p11_ok "DM's objects" --token-label DM --login --pin 1234 -O
out_lacks "wallet" "pkcs11-tool on DM shows Wallet's data"
step "the DM SO manages public MOs"
dmsc_expect 0 "SO puts a public MO" mo put --so --pin 87654321 ./DMAcc/Pub "$T/empty.xml"
dmsc_expect 0 "anyone reads it" mo get ./DMAcc/Pub
dmsc_expect 0 "SO removes it" mo rm --so --pin 87654321 ./DMAcc/Pub
dmsc_expect 2 "SO cannot make private MOs" mo put --so --private --pin 87654321 ./X "$T/empty.xml"
dmsc_expect 6 "SO PIN wrong" mo rm --so --pin 00000000 ./FUMO
derr_has "wrong SO PIN, 2 to 9 tries left" "SO tries"

step "a full card: named, nothing changed"
export DMSC_STORE="$T/small" DMSC_CONF="$T/small.conf"
echo "capacity = 4096" >"$DMSC_CONF"
make_dm_card
dmsc_expect 0 "small MO" mo put --pin 1234 ./M "$T/empty.xml"
head -c 6000 /dev/zero | tr '\0' 'x' | sed 's/^/<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2<\/VerDTD><Node><NodeName>A<\/NodeName><Value>/; s/$/<\/Value><\/Node><\/MgmtTree>/' >"$T/big.xml"
size=$(stat -c %s "$T/big.xml")
dmsc_expect 7 "replace with one that does not fit" mo put --pin 1234 ./M "$T/big.xml"
derr_has "card full: $((size + 3 + 9)) bytes needed, " "card full message"
derr_has "(of 4096)" "card full: capacity"
derr_has "CKR_DEVICE_MEMORY" "card full: code"
derr_has "nothing was stored" "card full"
dmsc_expect 0 "the old MO is whole" mo get --pin 1234 ./M
[ "$DOUT" = "$(cat "$T/empty.xml")" ] || fail "after a failed replace the old MO should be there" "$DOUT"
dmsc_expect 7 "a new one that does not fit" mo put --pin 1234 ./N "$T/big.xml"
dmsc_expect 0 "ls" mo ls --pin 1234
[ "$DOUT" = "private $(printf '%8s' 65) ./M" ] || fail "a failed create left an object" "$DOUT"
say "ok"
