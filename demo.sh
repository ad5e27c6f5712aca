#!/bin/sh
# dmsc demo: installs what is missing, builds, then shows a virtual UICC at
# work through the plain PKCS#11 tool pkcs11-tool: its slots and token,
# an application made on the card, and a DM Management Object stored on
# the card and read back.
set -eu
cd "$(dirname "$0")"
./scripts/bootstrap.sh

MODULE="$(pwd)/.libs/dmsc-pkcs11.so"
STORE="$(mktemp -d)"
trap 'rm -rf "$STORE"' EXIT
# The virtual UICC lives in a temporary card store for the demo.
export DMSC_STORE="$STORE/cards"
SO_PIN=87654321
USER_PIN=1234

p11() { pkcs11-tool --module "$MODULE" "$@"; }
step() { printf '\n==> %s\n' "$*"; }

step "A fresh card store: the module makes a virtual UICC on first use. Its one spare slot awaits an application."
p11 --list-slots

step "The card issuer creates the DM application (C_InitToken on the spare slot, then the user PIN)."
p11 --init-token --slot 0 --label "DM" --so-pin "$SO_PIN"
p11 --token-label DM --login --login-type so --so-pin "$SO_PIN" --init-pin --new-pin "$USER_PIN"

step "The card now shows the DM application's token, and a new spare slot."
p11 --list-token-slots

MO="$STORE/OperatorX.tnds.xml"
cat > "$MO" <<'XML'
<MgmtTree xmlns="syncml:dmddf1.2">
  <VerDTD>1.2</VerDTD>
  <Node>
    <NodeName>OperatorX</NodeName>
    <Node><NodeName>ServerID</NodeName><Value>dm.operator-x.example</Value></Node>
    <Node><NodeName>Name</NodeName><Value>Operator X</Value></Node>
  </Node>
</MgmtTree>
XML

step "The device stores a Management Object on the card: a data object, application OMA-DM:MO, labelled with its node path."
p11 --token-label DM --login --pin "$USER_PIN" --write-object "$MO" --type data \
    --label ./DMAcc/OperatorX --application-label OMA-DM:MO

step "Objects on the card, as any PKCS#11 application sees them."
p11 --token-label DM --list-objects --type data

step "Read back from the card by its node path."
p11 --token-label DM --read-object --type data --label ./DMAcc/OperatorX --output-file "$STORE/readback.xml"
cat "$STORE/readback.xml"
if cmp -s "$MO" "$STORE/readback.xml"; then
    step "The MO read back is byte-identical to the one written."
else
    echo "error: the MO read back differs from the one written" >&2
    exit 1
fi

step "Token information of the DM application: its flags say the user PIN is set and not locked."
p11 --token-label DM --list-token-slots | sed -n '/token label *: DM/,/serial/p'
echo
echo "Demo done. The card store was $DMSC_STORE (removed now)."
