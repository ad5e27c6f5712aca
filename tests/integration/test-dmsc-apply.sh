#!/bin/bash
# `dmsc apply` and `dmsc diff` end to end against the built module, with
# the MO objects written and read back by pkcs11-tool:
#  - a message (XML) changes one MO, creates one (./DMAcc/New), answers
#    Get with Results and every failing item with its code (404, 405,
#    406, 418); the objects hold what the reply says;
#  - the same with a WBXML message made by libwbxml's xml2wbxml;
#  - Atomic with a failing command: 507/216/215, nothing written (every
#    MO's bytes as before);
#  - --root: commands outside get 404, nothing changes there;
#  - a Delete of an object's root destroys the object;
#  - malformed messages (no CmdID, not XML, a TNDS): exit 1, the line,
#    nothing changed;
#  - diff: same (0), value/property changed, added, removed (1), a
#    malformed DEVICE.tnds (2), --root and --values.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

check_module
need_cmd python3 xml2wbxml
setup_store
unset DMSC_PIN
T=$TEST_TMP
make_dm_card

# statuses: the reply on stdout as "Cmd CmdRef TargetRef Code" lines.
statuses() {
    python3 -c '
import sys, xml.etree.ElementTree as ET
ns = "{SYNCML:SYNCML1.2}"
body = ET.fromstring(sys.stdin.read()).find(ns + "SyncBody")
for s in body.findall(ns + "Status"):
    f = lambda n: (s.findtext(ns + n) or "").strip()
    print(" ".join(x for x in (f("Cmd"), f("CmdRef"), f("TargetRef"), f("Data")) if x))
' <<<"$DOUT" || fail "the reply is not SyncML XML" "$DOUT"
}
expect_statuses() {
    local got
    got=$(statuses)
    [ "$got" = "$1" ] || fail "$2: unexpected statuses" "expected:" "$(indent <<<"$1")" \
        "got:" "$(indent <<<"$got")" "stderr:" "$(indent <<<"$DERR")"
}
# mo_value LABEL: the object's value (pkcs11-tool), into $MO.
mo_value() {
    p11_ok "read MO $1" --token-label DM --login --pin 1234 --read-object --type data \
        --label "$1" --application-label OMA-DM:MO
    MO=$OUT
}
mo_labels() {
    p11_ok "list objects" --token-label DM --login --pin 1234 -O --type data
    sed -n "s/^ *label: *'\(\.\/[^']*\)'.*/\1/p" <<<"$OUT" | sort | tr '\n' ' '
}
# snapshot: every MO's bytes, to compare after a refused change.
snapshot() {
    local l s=""
    for l in $(mo_labels); do
        mo_value "$l"
        s="$s$l=$(sha256sum <<<"$MO")"$'\n'
    done
    printf '%s' "$s"
}

HDR='<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>https://dm.example</LocURI></Source></SyncHdr>'
msg() { printf '<SyncML xmlns="SYNCML:SYNCML1.2">%s<SyncBody>%s<Final/></SyncBody></SyncML>\n' "$HDR" "$1"; }
add() { printf '<Add><CmdID>%s</CmdID><Item><Target><LocURI>%s</LocURI></Target><Data>%s</Data></Item></Add>' "$@"; }
replace() { printf '<Replace><CmdID>%s</CmdID><Item><Target><LocURI>%s</LocURI></Target><Data>%s</Data></Item></Replace>' "$@"; }
delete() { printf '<Delete><CmdID>%s</CmdID><Item><Target><LocURI>%s</LocURI></Target></Item></Delete>' "$@"; }
get() { printf '<Get><CmdID>%s</CmdID><Item><Target><LocURI>%s</LocURI></Target></Item></Get>' "$@"; }

step "an MO written by pkcs11-tool (no Path: its label's parent is its place)"
cat >"$T/op.xml" <<'EOF'
<MgmtTree xmlns="syncml:dmddf1.2">
  <VerDTD>1.2</VerDTD>
  <Node>
    <NodeName>Op</NodeName>
    <RTProperties><Format><node/></Format></RTProperties>
    <Node><NodeName>ServerID</NodeName><Value>op.example</Value></Node>
    <Node><NodeName>Leaf</NodeName><Value>x</Value></Node>
  </Node>
</MgmtTree>
EOF
p11_ok "write MO" --token-label DM --login --pin 1234 --write-object "$T/op.xml" --type data \
    --label ./DMAcc/Op --application-label OMA-DM:MO

step "apply (XML): change, create, Get, and the failures"
msg "$(add 1 ./DMAcc/Op/Name Operator)$(replace 2 ./DMAcc/Op/ServerID op2.example)$(add 3 ./DMAcc/New/ServerID new.example)$(get 4 ./DMAcc/Op/ServerID)$(delete 5 ./DMAcc/Op/Gone)$(add 6 ./DMAcc/Op/Leaf/Under v)$(add 7 ./DMAcc/Op/ServerID again)<Exec><CmdID>8</CmdID><Item><Target><LocURI>./DMAcc/Op</LocURI></Target></Item></Exec>" >"$T/m1.xml"
dmsc_expect 0 "apply m1" apply --pin 1234 "$T/m1.xml"
expect_statuses "SyncHdr 0 IMEI:1 200
Add 1 ./DMAcc/Op/Name 200
Replace 2 ./DMAcc/Op/ServerID 200
Add 3 ./DMAcc/New/ServerID 200
Get 4 ./DMAcc/Op/ServerID 200
Delete 5 ./DMAcc/Op/Gone 404
Add 6 ./DMAcc/Op/Leaf/Under 405
Add 7 ./DMAcc/Op/ServerID 418
Exec 8 406" "apply m1"
dout_has "<Data>op2.example</Data>" "Get's Results"
derr_has "replaced the MO ./DMAcc/Op" "apply m1"
derr_has "created the MO ./DMAcc/New" "apply m1"
derr_has "8 command items, 4 failed; 2 MO objects written" "apply m1"
mo_value ./DMAcc/Op
grep -qF "<Value>op2.example</Value>" <<<"$MO" || fail "./DMAcc/Op should hold the new ServerID" "$MO"
grep -qF "<NodeName>Name</NodeName>" <<<"$MO" || fail "./DMAcc/Op should hold Name" "$MO"
mo_value ./DMAcc/New
grep -qF "<Value>new.example</Value>" <<<"$MO" || fail "./DMAcc/New should hold its ServerID" "$MO"
grep -qF "<Path>./DMAcc</Path>" <<<"$MO" || fail "./DMAcc/New should be rooted at ./DMAcc/New" "$MO"
# The new MO is private: not listed without a login.
p11_ok "list public objects" --token-label DM -O --type data
grep -qF "./DMAcc/New" <<<"$OUT" && fail "the new MO should be private" "$OUT"
[ "$(mo_labels)" = "./DMAcc/New ./DMAcc/Op " ] || fail "unexpected MOs: $(mo_labels)"

step "apply (WBXML from xml2wbxml)"
msg "$(replace 1 ./DMAcc/New/ServerID wbxml.example)$(get 2 ./DMAcc/New)" >"$T/m2.xml"
xml2wbxml -o "$T/m2.wbxml" "$T/m2.xml" >/dev/null 2>&1 || fail "xml2wbxml failed"
dmsc_expect 0 "apply m2.wbxml" apply --pin 1234 --output "$T/reply2.xml" "$T/m2.wbxml"
DOUT=$(cat "$T/reply2.xml")
expect_statuses "SyncHdr 0 IMEI:1 200
Replace 1 ./DMAcc/New/ServerID 200
Get 2 ./DMAcc/New 200" "apply m2.wbxml"
dout_has "<Data>ServerID</Data>" "Get of an interior node lists its children"
mo_value ./DMAcc/New
grep -qF "<Value>wbxml.example</Value>" <<<"$MO" || fail "./DMAcc/New should hold the WBXML's value" "$MO"

step "Atomic with a failing command: rolled back, nothing written"
before=$(snapshot)
msg "<Atomic><CmdID>1</CmdID>$(add 2 ./DMAcc/Op/Extra 1)$(replace 3 ./DMAcc/Op/ServerID changed)$(delete 4 ./DMAcc/Op/Missing)$(add 5 ./DMAcc/Other/x 1)</Atomic>" >"$T/m3.xml"
dmsc_expect 0 "apply m3" apply --pin 1234 "$T/m3.xml"
expect_statuses "SyncHdr 0 IMEI:1 200
Atomic 1 507
Add 2 ./DMAcc/Op/Extra 216
Replace 3 ./DMAcc/Op/ServerID 216
Delete 4 ./DMAcc/Op/Missing 404
Add 5 215" "atomic"
derr_has "(an Atomic was rolled back); 0 MO objects written" "atomic"
[ "$(snapshot)" = "$before" ] || fail "the MOs changed after a failed Atomic" "before:" "$before" "after:" "$(snapshot)"

step "--root: other targets are not held (404)"
msg "$(replace 1 ./DMAcc/Op/ServerID outside)$(replace 2 ./DMAcc/New/ServerID inside)" >"$T/m4.xml"
dmsc_expect 0 "apply --root" apply --pin 1234 --root ./DMAcc/New "$T/m4.xml"
expect_statuses "SyncHdr 0 IMEI:1 200
Replace 1 ./DMAcc/Op/ServerID 404
Replace 2 ./DMAcc/New/ServerID 200" "--root"
mo_value ./DMAcc/Op
grep -qF "<Value>op2.example</Value>" <<<"$MO" || fail "./DMAcc/Op should not have changed" "$MO"
dmsc_expect 2 "a bad --root" apply --root ./a/../b "$T/m4.xml"
derr_has "--root: the URI './a/../b' has the node name '..'" "bad --root"

step "malformed messages change nothing"
before=$(snapshot)
msg "$(add 1 ./DMAcc/Op/A 1)
<Replace><Item><Target><LocURI>./DMAcc/Op/ServerID</LocURI></Target><Data>z</Data></Item></Replace>" >"$T/bad1.xml"
dmsc_expect 1 "a command without CmdID" apply --pin 1234 "$T/bad1.xml"
derr_has "line 2: <Replace> has no <CmdID>" "no CmdID"
derr_has "nothing was changed" "no CmdID"
printf '<SyncML xmlns="SYNCML:SYNCML1.2">\n<SyncHdr>' >"$T/bad2.xml"
dmsc_expect 1 "not well-formed" apply --pin 1234 "$T/bad2.xml"
derr_has "bad2.xml: line 2" "not well-formed"
dmsc_expect 1 "a TNDS is no message" apply --pin 1234 "$T/op.xml"
derr_has "a TNDS document, not a DM message" "TNDS"
dmsc_expect 2 "no such file" apply --pin 1234 "$T/none.xml"
[ "$(snapshot)" = "$before" ] || fail "a refused message changed the card"

step "diff: the same, then each kind of difference"
mo_value ./DMAcc/Op
printf '%s\n' "$MO" >"$T/device.xml"
dmsc_expect 0 "diff of the same subtree" diff --pin 1234 --root ./DMAcc/Op "$T/device.xml"
derr_has "are the same" "diff same"
dmsc_expect 1 "diff of the whole tree" diff --pin 1234 "$T/device.xml"
dout_has "- ./DMAcc/New: only on the card (with 1 node under it)" "diff whole"
# Without a PIN the private ./DMAcc/New is not seen.
dmsc_expect 0 "diff without a login" diff "$T/device.xml"
sed -e 's|<Value>op2.example</Value>|<Value>device.example</Value>|' \
    -e 's|<NodeName>Leaf</NodeName>|<NodeName>Leaf</NodeName><RTProperties><ACL>Get=*</ACL></RTProperties>|' \
    -e 's|</MgmtTree>|<Node><NodeName>Extra</NodeName><Path>./DMAcc/Op</Path><Value>e</Value></Node></MgmtTree>|' \
    -e 's|<NodeName>Name</NodeName>|<NodeName>Renamed</NodeName>|' \
    "$T/device.xml" >"$T/device2.xml"
dmsc_expect 1 "diff with changes" diff --pin 1234 --root ./DMAcc/Op "$T/device2.xml"
dout_has "~ ./DMAcc/Op/ServerID: value differs (card: 11 bytes, device: 14 bytes; --values shows them)" "diff value"
dout_has '~ ./DMAcc/Op/Leaf: ACL: card (none), device "Get=*"' "diff property"
dout_has "- ./DMAcc/Op/Name: only on the card" "diff removed"
dout_has "+ ./DMAcc/Op/Renamed: only on the device" "diff added"
dout_has "+ ./DMAcc/Op/Extra: only on the device" "diff added"
derr_has "5 differences" "diff count"
dmsc_expect 1 "diff --values" diff --pin 1234 --root ./DMAcc/Op --values "$T/device2.xml"
dout_has '~ ./DMAcc/Op/ServerID: value: card "op2.example", device "device.example"' "diff --values"
printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>\n<Node><NodeName>a/b</NodeName></Node></MgmtTree>' >"$T/bad.tnds"
dmsc_expect 2 "diff of a malformed tree" diff "$T/bad.tnds"
derr_has "bad.tnds: line 2: <NodeName>: a node name with a '/'" "diff malformed"

step "Delete of an MO's root destroys the object"
msg "$(delete 1 ./DMAcc/New)" >"$T/m5.xml"
dmsc_expect 0 "apply m5" apply --pin 1234 "$T/m5.xml"
expect_statuses "SyncHdr 0 IMEI:1 200
Delete 1 ./DMAcc/New 200" "delete"
derr_has "destroyed the MO ./DMAcc/New" "delete"
[ "$(mo_labels)" = "./DMAcc/Op " ] || fail "./DMAcc/New should be gone: $(mo_labels)"

say "PASS"
