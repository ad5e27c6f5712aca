#!/bin/bash
# One card across processes through p11-kit's RPC: `p11-kit server
# --provider $DMSC_MODULE "pkcs11:token=DM"` exports the DM application on
# a unix socket in the test's directory; pkcs11-tool in other processes
# loads p11-kit-client.so with P11_KIT_SERVER_ADDRESS and lists the token,
# reads a Management Object, signs and verifies; `dmsc status` and
# `dmsc mo` (ls, get, put, rm) work through the socket as on the card.
#
# p11-kit 0.24's RPC carries a mechanism only when its own allow-list
# (rpc-message.c: p11_rpc_mechanism_is_supported) names it, because a
# mechanism parameter is a pointer it must know how to serialise. No
# vendor mechanism is on the list, so the CKM_DMSC_* mechanisms do not
# cross: the client drops them from C_GetMechanismList and answers
# C_SignInit with CKR_MECHANISM_INVALID itself. What crosses is the
# signature of the canonical form: `dmsc canon` on the client side, then
# CKM_ECDSA over its SHA-256, or CKM_SHA256_RSA_PKCS over it, through the
# socket; the test checks that these are the very signatures the DM
# mechanisms (CKM_DMSC_ECDSA_SHA256, CKM_DMSC_SHA256_RSA_PKCS) make and
# verify on the card directly.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

check_module
need_cmd p11-kit openssl pkg-config cmp
setup_store
CLIENT=$(pkg-config --variable=p11_module_path p11-kit-1)/p11-kit-client.so
[ -f "$CLIENT" ] || fail "p11-kit's client module is not at $CLIENT" "install the Debian package p11-kit-modules"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

# Vendor mechanism numbers (include/dmsc/pkcs11-dm.h).
CKM_DMSC_SHA256_RSA_PKCS=0xC44D0010
CKM_DMSC_ECDSA_SHA256=0xC44D0020

# remote_ok / remote_fail: the p11 helpers of lib.sh on p11-kit-client.so.
remote_ok() {
    local DMSC_MODULE=$CLIENT
    p11_ok "$@"
}
remote_fail() {
    local DMSC_MODULE=$CLIENT
    expect_fail "$@"
}

step "a card with a DM application (keys, an MO) and a second application"
init_app DM 87654321 1234
init_app other 87654321 1234
p11_ok "EC key on DM" --token-label DM --login --pin 1234 --keypairgen --key-type EC:prime256v1 --id 01 --label dm-ec
p11_ok "RSA key on DM" --token-label DM --login --pin 1234 --keypairgen --key-type rsa:2048 --id 02 --label dm-rsa
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>OperatorX</NodeName></Node></MgmtTree>' >"$TEST_TMP/mo.xml"
p11_ok "write the MO" --token-label DM --login --pin 1234 --write-object "$TEST_TMP/mo.xml" --type data \
    --label ./DMAcc/OperatorX --application-label OMA-DM:MO
# A DM message whose canonical form differs from its bytes (whitespace
# between elements, attribute quoting).
printf '<SyncML xmlns=\x27SYNCML:SYNCML1.2\x27>\n  <SyncHdr>\n    <VerDTD>1.2</VerDTD>\n    <SessionID>1</SessionID>\n  </SyncHdr>\n  <SyncBody><Final/></SyncBody>\n</SyncML>\n' >"$TEST_TMP/msg.xml"
"$DMSC" -q canon "$TEST_TMP/msg.xml" >"$TEST_TMP/msg.c14n" || fail "dmsc canon failed on the test message"
cmp -s "$TEST_TMP/msg.xml" "$TEST_TMP/msg.c14n" && fail "the test message should not be its own canonical form"
openssl dgst -sha256 -binary "$TEST_TMP/msg.c14n" >"$TEST_TMP/msg.sha256"

step "p11-kit server exports the DM token on a unix socket"
sock=$TEST_TMP/p11-kit.sock
p11-kit server -f --provider "$DMSC_MODULE" -n "$sock" "pkcs11:token=DM" \
    >"$TEST_TMP/server.out" 2>"$TEST_TMP/server.err" &
server=$!
CLEANUP_PIDS+=("$server")
# The socket can appear before the address line is written: wait for both
# (under load, e.g. the ASan run, the line comes a little later).
for _ in $(seq 200); do
    [ -S "$sock" ] && grep -qF "P11_KIT_SERVER_ADDRESS=" "$TEST_TMP/server.out" && break
    kill -0 "$server" 2>/dev/null || fail "p11-kit server exited" "stderr:" "$(indent <"$TEST_TMP/server.err")"
    sleep 0.05
done
[ -S "$sock" ] || fail "p11-kit server made no socket at $sock" "stderr:" "$(indent <"$TEST_TMP/server.err")"
grep -qF "P11_KIT_SERVER_ADDRESS=unix:path=$sock;" "$TEST_TMP/server.out" ||
    fail "p11-kit server should print the address to use" "stdout:" "$(indent <"$TEST_TMP/server.out")"
export P11_KIT_SERVER_ADDRESS=unix:path=$sock

step "another process sees exactly the exported token"
remote_ok "list tokens through p11-kit-client.so" -T
[ "$(grep -c '^Slot [0-9]' <<<"$OUT")" -eq 1 ] || fail "the client should see one slot (the token the URI names)" "$(indent <<<"$OUT")"
out_has "token label        : DM" "the exported token"
out_lacks "other" "the application the URI does not name"

step "read the MO through the socket"
remote_ok "read the MO" --token-label DM --read-object --type data --label ./DMAcc/OperatorX \
    --output-file "$TEST_TMP/mo.remote"
cmp -s "$TEST_TMP/mo.xml" "$TEST_TMP/mo.remote" || fail "the MO read through p11-kit differs from the one written"

step "the DM mechanisms do not cross p11-kit 0.24's RPC"
p11_ok "mechanisms on the card directly" --slot-index 0 -M
out_has "mechtype-${CKM_DMSC_ECDSA_SHA256}" "the card offers CKM_DMSC_ECDSA_SHA256"
remote_ok "mechanisms through the socket" -M
if grep -qi "mechtype-0xC44D" <<<"$OUT"; then
    # A p11-kit whose RPC passes vendor mechanisms: then they must work.
    remote_ok "DM signature through the socket" --token-label DM --login --pin 1234 --sign \
        -m "$CKM_DMSC_ECDSA_SHA256" --id 01 -i "$TEST_TMP/msg.xml" -o "$TEST_TMP/sig.dm"
    p11_ok "verify it on the card" --token-label DM --verify -m "$CKM_DMSC_ECDSA_SHA256" --id 01 \
        -i "$TEST_TMP/msg.xml" --signature-file "$TEST_TMP/sig.dm"
else
    remote_fail CKR_MECHANISM_INVALID "CKM_DMSC_ECDSA_SHA256 through p11-kit 0.24" --token-label DM \
        --login --pin 1234 --sign -m "$CKM_DMSC_ECDSA_SHA256" --id 01 -i "$TEST_TMP/msg.xml" -o "$TEST_TMP/sig.dm"
fi

step "a DM signature across the socket: the canonical form signed with the standard mechanisms"
remote_ok "ECDSA over SHA-256(canonical form) through the socket" --token-label DM --login --pin 1234 \
    --sign -m ECDSA --id 01 -i "$TEST_TMP/msg.sha256" -o "$TEST_TMP/sig.ec"
p11_ok "CKM_DMSC_ECDSA_SHA256 on the card accepts it for the message" --token-label DM \
    --verify -m "$CKM_DMSC_ECDSA_SHA256" --id 01 -i "$TEST_TMP/msg.xml" --signature-file "$TEST_TMP/sig.ec"
out_has "Signature is valid" "CKM_DMSC_ECDSA_SHA256 verification"
remote_ok "SHA256-RSA-PKCS over the canonical form through the socket" --token-label DM --login --pin 1234 \
    --sign -m SHA256-RSA-PKCS --id 02 -i "$TEST_TMP/msg.c14n" -o "$TEST_TMP/sig.rsa"
p11_ok "CKM_DMSC_SHA256_RSA_PKCS on the card accepts it for the message" --token-label DM \
    --verify -m "$CKM_DMSC_SHA256_RSA_PKCS" --id 02 -i "$TEST_TMP/msg.xml" --signature-file "$TEST_TMP/sig.rsa"
out_has "Signature is valid" "CKM_DMSC_SHA256_RSA_PKCS verification"
# And openssl agrees, with the public key read through the socket.
remote_ok "read the RSA public key through the socket" --token-label DM --read-object --type pubkey --id 02 \
    --output-file "$TEST_TMP/rsa.der"
openssl pkey -pubin -inform DER -in "$TEST_TMP/rsa.der" -out "$TEST_TMP/rsa.pem" 2>/dev/null ||
    fail "openssl cannot read the public key read through p11-kit"
openssl dgst -sha256 -verify "$TEST_TMP/rsa.pem" -signature "$TEST_TMP/sig.rsa" "$TEST_TMP/msg.c14n" >/dev/null ||
    fail "openssl does not verify the signature made through p11-kit over the canonical form"

step "the other way: a signature the DM mechanism made, verified through the socket"
p11_ok "CKM_DMSC_ECDSA_SHA256 signature on the card" --token-label DM --login --pin 1234 \
    --sign -m "$CKM_DMSC_ECDSA_SHA256" --id 01 -i "$TEST_TMP/msg.xml" -o "$TEST_TMP/sig.dm-ec"
remote_ok "ECDSA verification of it through the socket" --token-label DM --verify -m ECDSA --id 01 \
    -i "$TEST_TMP/msg.sha256" --signature-file "$TEST_TMP/sig.dm-ec"
out_has "Signature is valid" "ECDSA verification through p11-kit"

step "dmsc status through the socket"
dmsc_expect 0 "dmsc status on the card directly (activated, with an MO)" \
    status --module "$DMSC_MODULE" --token 'pkcs11:token=DM' --pin 1234 --json
direct_iccid=$(json_get iccid)
direct_free=$(json_get memory_free)
dmsc_expect 0 "dmsc status through p11-kit-client.so" \
    status --module "$CLIENT" --token 'pkcs11:token=DM' --pin 1234 --json
[ "$(json_get iccid)" = "$direct_iccid" ] || fail "dmsc status through the socket: iccid '$(json_get iccid)', directly '$direct_iccid'"
[ "$(json_get memory_free)" = "$direct_free" ] ||
    fail "dmsc status through the socket: memory_free '$(json_get memory_free)', directly '$direct_free'"
[ "$(json_get mo_count)" = 1 ] || fail "dmsc status through the socket should count the MO" "$(indent <<<"$DOUT")"
[ "$(json_get activated)" = true ] || fail "dmsc status through the socket: not activated" "$(indent <<<"$DOUT")"

step "dmsc mo through the socket: ls, get, put, rm"
dmsc_expect 0 "dmsc mo ls through the socket" mo ls --module "$CLIENT" --token 'pkcs11:token=DM' --pin 1234
dout_has "./DMAcc/OperatorX" "dmsc mo ls through the socket"
dmsc_expect 0 "dmsc mo get through the socket" mo get --module "$CLIENT" --token 'pkcs11:token=DM' ./DMAcc/OperatorX
[ "$DOUT" = "$(cat "$TEST_TMP/mo.xml")" ] || fail "dmsc mo get through the socket should print the MO written on the card" \
    "got:" "$(indent <<<"$DOUT")"
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>OperatorY</NodeName></Node></MgmtTree>' >"$TEST_TMP/moY.xml"
dmsc_expect 0 "dmsc mo put through the socket" mo put --public --module "$CLIENT" --token 'pkcs11:token=DM' --pin 1234 \
    ./DMAcc/OperatorY "$TEST_TMP/moY.xml"
p11_ok "read the MO put through the socket, on the card directly" --token-label DM --read-object --type data \
    --label ./DMAcc/OperatorY --output-file "$TEST_TMP/moY.card"
cmp -s "$TEST_TMP/moY.xml" "$TEST_TMP/moY.card" || fail "the MO dmsc put through p11-kit differs on the card"
dmsc_expect 0 "dmsc mo rm through the socket" mo rm --module "$CLIENT" --token 'pkcs11:token=DM' --pin 1234 ./DMAcc/OperatorY
expect_fail_msg "object not found" "the MO removed through the socket is gone from the card" --token-label DM \
    --read-object --type data --label ./DMAcc/OperatorY --output-file "$TEST_TMP/moY.gone"

step "a changed message fails"
sed 's/<SessionID>1</<SessionID>2</' "$TEST_TMP/msg.xml" >"$TEST_TMP/msg2.xml"
# (pkcs11-tool 0.23 says "Invalid signature" and exits 0.)
run_p11 --token-label DM --verify -m "$CKM_DMSC_ECDSA_SHA256" --id 01 -i "$TEST_TMP/msg2.xml" \
    --signature-file "$TEST_TMP/sig.ec"
out_has "Invalid signature" "the signature of another message"
out_lacks "Signature is valid" "the signature of another message"

say "PASS"
