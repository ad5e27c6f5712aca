#!/bin/sh
# dmsc demo: installs what is missing, builds, then personalises the demo
# card (examples/demo-card/profile.xml) into a temporary card store with
# `dmsc personalise`, shows it with `dmsc status` and with the plain
# PKCS#11 tool pkcs11-tool, reads a Management Object and the DM bootstrap
# back, exports what the bootstrap sets up (`dmsc bootstrap export`), and
# runs the personalisation again (nothing is duplicated).  Then
# firmware approval (dm-ext/APPROVAL.md): the MA, a SoftHSM token made on
# the spot, signs a FUMO message naming a package; the device approves it
# on the card; a tampered package is rejected; with policy "ask" a scripted
# "no" declines it.
set -eu
cd "$(dirname "$0")"
./scripts/bootstrap.sh

MODULE="$(pwd)/.libs/dmsc-pkcs11.so"
DMSC="$(pwd)/dmsc"
PROFILE=examples/demo-card/profile.xml
STORE="$(mktemp -d)"
trap 'rm -rf "$STORE"' EXIT
# The virtual UICC lives in a temporary card store for the demo.
export DMSC_STORE="$STORE/cards"
# The demo profile takes its PINs and the DM client secret from these.
export DMSC_DEMO_SO_PIN=87654321
export DMSC_DEMO_USER_PIN=1234
export DMSC_DEMO_DM_SECRET=demo-client-secret

p11() { pkcs11-tool --module "$MODULE" "$@"; }
step() { printf '\n==> %s\n' "$*"; }

step "The card issuer's profile of the demo card ($PROFILE):"
sed -n '/<profile/,$p' "$PROFILE"

step "dmsc personalise: the profile and every file it names are checked, then a new virtual UICC gets its identity, the DM application, the MA trust anchor, a device key, the DM credential, two MOs and the bootstrap, all through PKCS#11."
"$DMSC" personalise "$PROFILE"

step "dmsc status: is a card present and activated, and does it hold provisioning data?"
"$DMSC" status

step "Any PKCS#11 application sees the objects (pkcs11-tool, logged in as the user):"
# (pkcs11-tool warns that it may not read the secret keys' values: sensitive.)
p11 --token-label DM --login --pin "$DMSC_DEMO_USER_PIN" --list-objects 2>/dev/null

step "A Management Object read back by its node path, with no dmsc code at all:"
p11 --token-label DM --read-object --type data --label ./DMAcc/OperatorX --output-file "$STORE/readback.xml"
sed -n '/<MgmtTree/,/<\/MgmtTree>/p' "$STORE/readback.xml" | head -8
echo "    ..."
if cmp -s examples/demo-card/mo/dmacc-operatorx.xml "$STORE/readback.xml"; then
    step "The MO read back is byte-identical to the profile's file."
else
    echo "error: the MO read back differs from examples/demo-card/mo/dmacc-operatorx.xml" >&2
    exit 1
fi

step "The DM bootstrap on the card is WBXML (CKA_OBJECT_ID 2.23.43.7.1); its canonical form is the XML's:"
p11 --token-label DM --read-object --type data --application-label OMA-DM:BOOTSTRAP --output-file "$STORE/boot.wbxml"
xxd "$STORE/boot.wbxml" | head -4
echo "    ..."
"$DMSC" canon -q "$STORE/boot.wbxml" >"$STORE/boot.c14n"
"$DMSC" canon -q examples/demo-card/bootstrap.xml >"$STORE/xml.c14n"
if cmp -s "$STORE/boot.c14n" "$STORE/xml.c14n"; then
    step "The same canonical form: the card's WBXML and examples/demo-card/bootstrap.xml carry one message."
else
    echo "error: the bootstrap on the card does not decode to bootstrap.xml's canonical form" >&2
    exit 1
fi

step "dmsc bootstrap export: the management tree (TNDS) and the DM account the card's bootstrap sets up, as a DM client takes them over:"
"$DMSC" bootstrap export --tnds "$STORE/bootstrap-tree.xml" --accounts "$STORE/accounts.json"
cat "$STORE/accounts.json"
sed -n '1,12p' "$STORE/bootstrap-tree.xml"
echo "    ..."

step "dmsc personalise again: everything is kept, nothing is duplicated."
"$DMSC" personalise "$PROFILE"

# ---- Firmware approval (dm-ext/APPROVAL.md): the MA signs, the card
# ---- verifies, the device policy decides.
. tests/integration/approve-lib.sh
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
AUDIT="$STORE/audit.log"
approve() {
    "$DMSC" approve --token pkcs11:token=DM --audit-log "$AUDIT" "$@"
}

step "The Management Authority's token: a SoftHSM token made on the spot, holding the MA's private key (examples/demo-card/DEMO-ONLY-ma.key.pem, the key of the trust anchor the card now holds)."
ma_token "$STORE"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label MA --login --pin "$MA_PIN" \
    --write-object examples/demo-card/DEMO-ONLY-ma.key.pem --type privkey --label ma --id 01 >/dev/null 2>&1
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label MA --login --pin "$MA_PIN" --list-objects --type privkey 2>/dev/null

# The device's files, by short names.
cd "$STORE"

step "A firmware package (4 MiB) and the FUMO message that starts its installation: it names the package's SHA-256 in ./FUMO/fw1/Ext/PkgDigest and executes ./FUMO/fw1/DownloadAndUpdate."
head -c 4194304 /dev/urandom >firmware.bin
fumo_message fumo-exec.xml "$(openssl dgst -sha256 -r firmware.bin | cut -d' ' -f1)"
grep -E 'PkgDigest|DownloadAndUpdate|<Data>[0-9a-f]{64}' fumo-exec.xml

step "dmsc sign: the MA signs the message with its key in SoftHSM (detached signature over the message's canonical form)."
"$DMSC" sign --module "$SOFTHSM_MODULE" --token pkcs11:token=MA --pin "$MA_PIN" --key ma \
    -o fumo-exec.sig fumo-exec.xml

step "dmsc approve on the device: the card verifies the message against its trust anchor and digests the package; they match, so it is approved (exit status 0)."
approve --message fumo-exec.xml --signature fumo-exec.sig firmware.bin

step "The package changed in one byte on the way: rejected (exit status 1), with the reason."
cp firmware.bin firmware-tampered.bin
# Flip every bit of byte 1000 (a fixed value would be the random one there
# once in 256 runs).
byte=$(od -An -tu1 -j1000 -N1 firmware.bin | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 255)))" | dd of=firmware-tampered.bin bs=1 seek=1000 conv=notrunc 2>/dev/null
cmp -s firmware.bin firmware-tampered.bin && { echo "error: the tampered copy is the same as the package" >&2; exit 1; }
rc=0
approve --message fumo-exec.xml --signature fumo-exec.sig firmware-tampered.bin || rc=$?
echo "    exit status $rc"
[ "$rc" -eq 1 ] || { echo "error: the tampered package was not rejected" >&2; exit 1; }

step "Device policy 'ask': the user is shown what would be installed and a scripted 'no' declines it (exit status 8)."
rc=0
printf 'no\n' | script -qec "$DMSC approve --token pkcs11:token=DM --audit-log '$AUDIT' --policy ask --message fumo-exec.xml --signature fumo-exec.sig firmware-tampered.bin" /dev/null || rc=$?
echo "    exit status $rc"
[ "$rc" -eq 8 ] || { echo "error: the scripted 'no' did not decline" >&2; exit 1; }

step "Every decision is in the audit log (JSON lines):"
cat "$AUDIT"

echo
echo "Demo done. The card store was $DMSC_STORE (removed now)."
