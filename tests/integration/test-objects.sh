#!/bin/bash
# Token objects through pkcs11-tool (and p11-driver for what pkcs11-tool
# cannot express):
#  - DM Management Objects: CKO_DATA, CKA_APPLICATION "OMA-DM:MO", label
#    = node path, value = TNDS XML; write, read back by label and by
#    application label (identical bytes), -O listing, delete.
#  - a private data object: invisible without login, visible with it.
#  - X.509 certificate (self-signed P-256 by openssl): write, read back by
#    ID (identical bytes), -O listing; written with CKA_VALUE only, the
#    module fills subject, issuer and serial from the DER; CKA_TRUSTED
#    only by the SO.
#  - keys from templates: EC private/public key, AES secret key.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd openssl xxd cmp
need_driver
setup_store

SO=12345678
PIN=1234
T=(--token-label app1)
L=(--token-label app1 --login --pin "$PIN")
D=$TEST_TMP

init_app app1 "$SO" "$PIN"
# The card's first application is the DM application: its one object at
# the start is the network key made from the IMSI (for bootstrap MACs),
# verify only, never readable, not deletable.
object_count app1 --login --pin "$PIN"
[ "$N" -eq 1 ] || fail "a new DM application should hold only the network key, -O lists $N" "output:" "$(indent <<<"$OUT")"
out_has "Secret Key Object; Generic secret length 8" "-O on a new DM application"
out_has "label:      NETWORKID" "-O on a new DM application"
out_has "Usage:      verify" "-O on a new DM application"
out_has "Access:     sensitive, always sensitive, never extractable" "-O on a new DM application"
expect_fail "CKR_ACTION_PROHIBITED|0x1b" "delete the network key (CKR_ACTION_PROHIBITED, 0x1b to pkcs11-tool 0.23)" "${L[@]}" --delete-object --type secrkey --label NETWORKID
expect_fail CKR_ATTRIBUTE_SENSITIVE "read the network key" "${L[@]}" --read-object --type secrkey --label NETWORKID
init_app app2 "$SO" "$PIN"
object_count app2 --login --pin "$PIN"
[ "$N" -eq 0 ] || fail "a second application should hold no objects, -O lists $N" "output:" "$(indent <<<"$OUT")"

# ------------------------------------------------------------------ MOs
cat >"$D/operatorx.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<MgmtTree xmlns="syncml:dmddf1.2">
  <VerDTD>1.2</VerDTD>
  <Node>
    <NodeName>OperatorX</NodeName>
    <Path>./DMAcc</Path>
    <RTProperties><Type><DDFName>org.openmobilealliance/1.0/w7</DDFName></Type></RTProperties>
    <Node><NodeName>AppID</NodeName><Value>w7</Value></Node>
    <Node><NodeName>ServerID</NodeName><Value>operatorx.example</Value></Node>
    <Node><NodeName>Name</NodeName><Value>Operator X</Value></Node>
    <Node><NodeName>AppAddr</NodeName>
      <Node><NodeName>1</NodeName>
        <Node><NodeName>Addr</NodeName><Value>https://dm.operatorx.example/dm</Value></Node>
        <Node><NodeName>AddrType</NodeName><Value>URI</Value></Node>
      </Node>
    </Node>
  </Node>
</MgmtTree>
EOF
sed -e 's/OperatorX/OperatorY/g' -e 's/operatorx/operatory/g' -e 's/Operator X/Operator Y/' \
    "$D/operatorx.xml" >"$D/operatory.xml"

step "write two MOs as data objects with application OMA-DM:MO"
p11_ok "write MO ./DMAcc/OperatorX" "${L[@]}" --write-object "$D/operatorx.xml" --type data \
    --label ./DMAcc/OperatorX --application-label OMA-DM:MO
p11_ok "write MO ./DMAcc/OperatorY" "${L[@]}" --write-object "$D/operatory.xml" --type data \
    --label ./DMAcc/OperatorY --application-label OMA-DM:MO

step "read the MOs back (public: no login needed); bytes identical"
for node in OperatorX OperatorY; do
    lc=$(tr '[:upper:]' '[:lower:]' <<<"$node")
    rm -f "$D/out.xml"
    p11_ok "read MO ./DMAcc/$node by label" "${T[@]}" --read-object --type data --label "./DMAcc/$node" --output-file "$D/out.xml"
    cmp -s "$D/$lc.xml" "$D/out.xml" || fail "MO ./DMAcc/$node read back differs from what was written" \
        "written: $(wc -c <"$D/$lc.xml") bytes sha256 $(file_sha "$D/$lc.xml")" \
        "read:    $(wc -c <"$D/out.xml") bytes sha256 $(file_sha "$D/out.xml")"
    rm -f "$D/out.xml"
    p11_ok "read MO ./DMAcc/$node by label + application" "${T[@]}" --read-object --type data \
        --label "./DMAcc/$node" --application-label OMA-DM:MO --output-file "$D/out.xml"
    cmp -s "$D/$lc.xml" "$D/out.xml" || fail "MO ./DMAcc/$node (label + application) read back differs"
done
rm -f "$D/out.xml"
p11_ok "read an MO by application label only" "${T[@]}" --read-object --type data --application-label OMA-DM:MO --output-file "$D/out.xml"
cmp -s "$D/operatorx.xml" "$D/out.xml" || cmp -s "$D/operatory.xml" "$D/out.xml" ||
    fail "reading by application label OMA-DM:MO gave neither MO"

step "-O lists both MOs with their application"
p11_ok "-O without login" "${T[@]}" -O
out_has "label:          './DMAcc/OperatorX'" "-O listing"
out_has "label:          './DMAcc/OperatorY'" "-O listing"
[ "$(grep -c "application:    'OMA-DM:MO'" <<<"$OUT")" -eq 2 ] ||
    fail "-O should show application 'OMA-DM:MO' twice" "output:" "$(indent <<<"$OUT")"

# ------------------------------------------------------------------ private
step "a private data object is invisible without login"
head -c 300 /dev/urandom >"$D/secret.bin"
p11_ok "write private data object" "${L[@]}" --write-object "$D/secret.bin" --type data --label ./DMAcc/Secret --private
p11_ok "-O without login" "${T[@]}" -O
out_lacks "./DMAcc/Secret" "-O without login (private object)"
expect_fail_msg "object not found" "read the private object without login" \
    "${T[@]}" --read-object --type data --label ./DMAcc/Secret --output-file "$D/out.bin"
p11_ok "-O with login" "${L[@]}" -O
out_has "label:          './DMAcc/Secret'" "-O with login (private object)"
rm -f "$D/out.bin"
p11_ok "read the private object with login" "${L[@]}" --read-object --type data --label ./DMAcc/Secret --output-file "$D/out.bin"
cmp -s "$D/secret.bin" "$D/out.bin" || fail "private data object read back differs"
drv_batch init "open app1" "find ./DMAcc/Secret" "login $PIN" "find ./DMAcc/Secret" quit
[ "$(sed -n '3p;5p' <<<"$BATCH_OUT" | tr '\n' ' ')" = "count 0 count 1 " ] ||
    fail "C_FindObjects for the private object: expected 0 before login, 1 after" "driver output:" "$(indent <<<"$BATCH_OUT")"

# ------------------------------------------------------------------ certificate
step "certificate: write, read back by ID, list"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=MA \
    -keyout "$D/ma.key" -outform DER -out "$D/ma.der" 2>"$D/openssl.err" ||
    fail "openssl could not make the test certificate" "$(indent <"$D/openssl.err")"
serial=$(openssl x509 -inform DER -in "$D/ma.der" -noout -serial | cut -d= -f2)
p11_ok "write certificate" "${L[@]}" --write-object "$D/ma.der" --type cert --id 01 --label mycert
rm -f "$D/out.der"
p11_ok "read certificate by ID" "${T[@]}" --read-object --type cert --id 01 --output-file "$D/out.der"
cmp -s "$D/ma.der" "$D/out.der" || fail "certificate read back differs from the DER written" \
    "written: $(wc -c <"$D/ma.der") bytes, read: $(wc -c <"$D/out.der") bytes"
p11_ok "-O" "${T[@]}" -O --type cert
out_has "Certificate Object; type = X.509 cert" "-O certificate listing"
out_has "label:      mycert" "-O certificate listing"
out_has "subject:    DN: CN=MA" "-O certificate listing"
out_has "ID:         01" "-O certificate listing"
grep -qi "serial: *$serial" <<<"$OUT" || fail "-O should show the certificate serial $serial" "output:" "$(indent <<<"$OUT")"

step "certificate with CKA_VALUE only: the module fills subject, issuer, serial from the DER"
# Cut the TBSCertificate's fields out of the DER: d=2 items are version,
# serialNumber, signature, issuer, validity, subject, ...
openssl asn1parse -inform DER -in "$D/ma.der" >"$D/asn1.txt"
field_hex() { # N: hex of the Nth d=2 TLV
    local line off hl len
    line=$(grep ':d=2 ' "$D/asn1.txt" | sed -n "${1}p")
    off=$(sed -E 's/^ *([0-9]+):.*/\1/' <<<"$line")
    hl=$(sed -E 's/.* hl= *([0-9]+).*/\1/' <<<"$line")
    len=$(sed -E 's/.* l= *([0-9]+).*/\1/' <<<"$line")
    xxd -p -s "$off" -l $((hl + len)) "$D/ma.der" | tr -d '\n'
}
want_serial=$(field_hex 2)
want_issuer=$(field_hex 4)
want_subject=$(field_hex 6)
[[ ${want_subject:0:2} == 30 && ${want_serial:0:2} == 02 ]] ||
    fail "test bug: could not cut subject/serial out of the certificate" "$(indent <"$D/asn1.txt")"
drv_batch init "open app1" "login $PIN" "cert drvcert 02 $D/ma.der" \
    "getattr drvcert subject" "getattr drvcert issuer" "getattr drvcert serial" "getattr drvcert value" quit
mapfile -t r <<<"$BATCH_OUT"
[ "${r[3]}" = ok ] || fail "C_CreateObject of a certificate with only CKA_VALUE/CKA_ID/CKA_LABEL: expected ok, got '${r[3]}'"
[ "${r[4]}" = "hex $want_subject" ] || fail "CKA_SUBJECT filled from the DER" "expected: hex $want_subject" "got:      ${r[4]}"
[ "${r[5]}" = "hex $want_issuer" ] || fail "CKA_ISSUER filled from the DER" "expected: hex $want_issuer" "got:      ${r[5]}"
[ "${r[6]}" = "hex $want_serial" ] || fail "CKA_SERIAL_NUMBER filled from the DER" "expected: hex $want_serial" "got:      ${r[6]}"
[ "${r[7]}" = "hex $(xxd -p "$D/ma.der" | tr -d '\n')" ] || fail "CKA_VALUE of the driver's certificate differs from the DER"
p11_ok "-O" "${T[@]}" -O --type cert --id 02
out_has "subject:    DN: CN=MA" "-O listing of the certificate written without CKA_SUBJECT"

step "CKA_TRUSTED can only be set by the SO"
drv_batch init "open app1" "login $PIN" "cert trustedcert 03 $D/ma.der trusted" "find trustedcert" quit
mapfile -t r <<<"$BATCH_OUT"
[[ ${r[3]} == "err CKR_"* ]] || fail "a user creating a certificate with CKA_TRUSTED=TRUE: expected an error, got '${r[3]}'"
say "user CKA_TRUSTED certificate refused with: ${r[3]}"
[ "${r[4]}" = "count 0" ] || fail "after the refused CKA_TRUSTED certificate: expected no object 'trustedcert', got '${r[4]}'"
drv_batch init "open app1" "sologin $SO" "cert trustedcert 03 $D/ma.der trusted" "getattr trustedcert trusted" quit
mapfile -t r <<<"$BATCH_OUT"
[ "${r[3]}" = ok ] || fail "the SO creating a certificate with CKA_TRUSTED=TRUE: expected ok, got '${r[3]}'"
[ "${r[4]}" = "hex 01" ] || fail "CKA_TRUSTED of the SO's certificate: expected 'hex 01', got '${r[4]}'"

# ------------------------------------------------------------------ keys
step "keys from templates: EC private + public key, AES secret key"
openssl pkey -in "$D/ma.key" -outform DER -out "$D/ma.key.der"
openssl pkey -in "$D/ma.key" -pubout -outform DER -out "$D/ma.pub.der"
head -c 16 /dev/urandom >"$D/aes.bin"
p11_ok "write EC private key" "${L[@]}" --write-object "$D/ma.key.der" --type privkey --id 01 --label makey
p11_ok "write EC public key" "${L[@]}" --write-object "$D/ma.pub.der" --type pubkey --id 01 --label makey
p11_ok "write AES secret key" "${L[@]}" --write-object "$D/aes.bin" --type secrkey --key-type AES:16 --id 04 --label maaes --private
p11_ok "-O without login" "${T[@]}" -O
out_lacks "Private Key Object" "-O without login (private key)"
out_lacks "label:      maaes" "-O without login (private secret key)"
out_has "Public Key Object; EC" "-O without login (public key)"
p11_ok "-O with login" "${L[@]}" -O
out_has "Private Key Object; EC" "-O with login"
out_has "Public Key Object; EC" "-O with login"
out_has "Secret Key Object; AES" "-O with login"

# ------------------------------------------------------------------ delete
step "delete objects"
p11_ok "delete MO ./DMAcc/OperatorX" "${L[@]}" --delete-object --type data --label ./DMAcc/OperatorX
expect_fail_msg "object not found" "read the deleted MO" "${T[@]}" --read-object --type data --label ./DMAcc/OperatorX --output-file "$D/out.xml"
rm -f "$D/out.xml"
p11_ok "the other MO survives" "${T[@]}" --read-object --type data --label ./DMAcc/OperatorY --output-file "$D/out.xml"
cmp -s "$D/operatory.xml" "$D/out.xml" || fail "MO ./DMAcc/OperatorY changed after deleting OperatorX"
expect_fail_msg "object not found" "delete the private object without login" "${T[@]}" --delete-object --type data --label ./DMAcc/Secret
p11_ok "delete the private object with login" "${L[@]}" --delete-object --type data --label ./DMAcc/Secret
p11_ok "delete certificate 01" "${L[@]}" --delete-object --type cert --id 01
expect_fail_msg "object not found" "read the deleted certificate" "${T[@]}" --read-object --type cert --id 01 --output-file "$D/out.der"
p11_ok "-O with login after the deletes" "${L[@]}" -O
out_lacks "./DMAcc/OperatorX" "-O after deleting OperatorX"
out_lacks "./DMAcc/Secret" "-O after deleting Secret"
out_lacks "label:      mycert" "-O after deleting mycert"
out_has "./DMAcc/OperatorY" "-O after the deletes"
out_has "label:      drvcert" "-O after the deletes"

say "PASS"
