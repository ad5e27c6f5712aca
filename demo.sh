#!/bin/sh
# dmsc demo: installs what is missing, builds, then personalises the demo
# card (examples/demo-card/profile.xml) into a temporary card store with
# `dmsc personalise`, shows it with `dmsc status` and with the plain
# PKCS#11 tool pkcs11-tool, reads a Management Object and the DM bootstrap
# back, and runs the personalisation again (nothing is duplicated).
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

step "dmsc personalise again: everything is kept, nothing is duplicated."
"$DMSC" personalise "$PROFILE"

echo
echo "Demo done. The card store was $DMSC_STORE (removed now)."
