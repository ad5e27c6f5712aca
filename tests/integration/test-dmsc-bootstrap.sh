#!/bin/bash
# `dmsc bootstrap show|export` end to end: a DM bootstrap written as XML,
# encoded by libwbxml's xml2wbxml, stored with pkcs11-tool as the card's
# bootstrap object (application OMA-DM:BOOTSTRAP, object ID 2.23.43.7.1),
# then decoded and exported by dmsc:
#  - show: the message as XML, the secret hidden unless --secrets;
#  - export: the tree as TNDS (read back by python, values checked) and
#    the DM account as JSON (server ID, address, the secret null; with
#    --secrets present and the files 0600);
#  - no bootstrap (exit 5), one with another object ID (ignored: exit 5),
#    a private one seen only with a PIN, a malformed one (exit 1).
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

step "no bootstrap on the card: exit 5"
dmsc_expect 5 "show without a bootstrap" bootstrap show
derr_has "no DM bootstrap on the card" "no bootstrap"

step "a bootstrap with another object ID is not the DM bootstrap"
printf 'x' >"$T/other.bin"
p11_ok "write other object" --token-label DM --login --pin 1234 --write-object "$T/other.bin" \
    --type data --label other --application-label OMA-DM:BOOTSTRAP --application-id 2.23.43.7.2
dmsc_expect 5 "show with only another OID" bootstrap show

step "the bootstrap: XML, xml2wbxml, pkcs11-tool"
cat >"$T/boot.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<SyncML xmlns="SYNCML:SYNCML1.2">
  <SyncHdr>
    <VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>
    <Target><LocURI>IMEI:493005100592800</LocURI></Target>
    <Source><LocURI>com.example.dm</LocURI></Source>
  </SyncHdr>
  <SyncBody>
    <Add>
      <CmdID>1</CmdID>
      <Item><Target><LocURI>./DMAcc/ExampleDM</LocURI></Target>
        <Meta><Format xmlns="syncml:metinf">node</Format></Meta></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/ServerID</LocURI></Target><Data>com.example.dm</Data></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/Name</LocURI></Target><Data>Example DM</Data></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/AppAddr/Srv/Addr</LocURI></Target><Data>https://dm.example.com/manage</Data></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/AppAuth/Srv/AAuthType</LocURI></Target><Data>DIGEST</Data></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/AppAuth/Srv/AAuthName</LocURI></Target><Data>device-7</Data></Item>
      <Item><Target><LocURI>./DMAcc/ExampleDM/AppAuth/Srv/AAuthSecret</LocURI></Target><Data>s3cr3t-pass</Data></Item>
    </Add>
    <Replace>
      <CmdID>2</CmdID>
      <Item><Target><LocURI>./Con/Example/NAP/Addr</LocURI></Target><Data>internet.example</Data></Item>
    </Replace>
    <Final/>
  </SyncBody>
</SyncML>
EOF
xml2wbxml -o "$T/boot.wbxml" "$T/boot.xml" >/dev/null 2>&1 || fail "xml2wbxml failed"
[ "$(head -c 1 "$T/boot.wbxml" | xxd -p)" = 03 ] || fail "xml2wbxml did not write WBXML 1.3"
p11_ok "write bootstrap" --token-label DM --login --pin 1234 --write-object "$T/boot.wbxml" \
    --type data --label bootstrap --application-label OMA-DM:BOOTSTRAP --application-id 2.23.43.7.1

step "show: decoded, the secret hidden"
dmsc_expect 0 "bootstrap show" bootstrap show
dout_has "<LocURI>./DMAcc/ExampleDM/ServerID</LocURI>" "show"
dout_has "<Data>com.example.dm</Data>" "show"
dout_has "(secret: 11 characters; --secrets shows it)" "show hides the secret"
grep -qF "s3cr3t-pass" <<<"$DOUT" && fail "show printed the secret" "$DOUT"
derr_has "1 secret value hidden" "show"
dmsc_expect 0 "bootstrap show --secrets" bootstrap show --secrets
dout_has "<Data>s3cr3t-pass</Data>" "show --secrets"

step "export: the tree as TNDS and the account as JSON"
dmsc_expect 0 "bootstrap export" bootstrap export --tnds "$T/tree.xml" --accounts "$T/acc.json"
derr_has "left out the secret value of ./DMAcc/ExampleDM/AppAuth/Srv/AAuthSecret" "export"
python3 - "$T/tree.xml" <<'EOF' || fail "the exported TNDS is not what the bootstrap sets up" "$(cat "$T/tree.xml")"
import sys, xml.etree.ElementTree as ET
ns = "{syncml:dmddf1.2}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "MgmtTree", root.tag
values = {}
def walk(node, path):
    p = path + "/" + node.findtext(ns + "NodeName")
    v = node.find(ns + "Value")
    values[p] = v.text if v is not None else None
    for c in node.findall(ns + "Node"):
        walk(c, p)
for n in root.findall(ns + "Node"):
    walk(n, ".")
assert values["./DMAcc/ExampleDM/ServerID"] == "com.example.dm", values
assert values["./DMAcc/ExampleDM/AppAddr/Srv/Addr"] == "https://dm.example.com/manage", values
assert values["./DMAcc/ExampleDM/AppAuth/Srv/AAuthSecret"] is None, values
assert values["./Con/Example/NAP/Addr"] == "internet.example", values
EOF
python3 - "$T/acc.json" <<'EOF' || fail "the accounts JSON is not right" "$(cat "$T/acc.json")"
import json, sys
a = json.load(open(sys.argv[1]))["accounts"]
assert len(a) == 1, a
a = a[0]
assert a["uri"] == "./DMAcc/ExampleDM" and a["dm_version"] == "1.2", a
assert a["server_id"] == "com.example.dm", a
assert a["addresses"] == ["https://dm.example.com/manage"], a
assert a["nodes"]["AppAuth/Srv/AAuthName"] == "device-7", a
assert a["nodes"]["AppAuth/Srv/AAuthSecret"] is None, a
EOF
[ "$(stat -c %a "$T/acc.json")" = 644 ] || fail "without secrets the file is 0644, not $(stat -c %a "$T/acc.json")"
dmsc_expect 0 "bootstrap export --secrets" bootstrap export --secrets --accounts "$T/acc2.json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accounts"][0]; assert a["nodes"]["AppAuth/Srv/AAuthSecret"] == "s3cr3t-pass", a' \
    "$T/acc2.json" || fail "--secrets should export the secret" "$(cat "$T/acc2.json")"
[ "$(stat -c %a "$T/acc2.json")" = 600 ] || fail "with secrets the file must be 0600, not $(stat -c %a "$T/acc2.json")"
dmsc_expect 0 "bootstrap export to stdout" bootstrap export
dout_has "<NodeName>ExampleDM</NodeName>" "export to stdout"

step "a private bootstrap is seen only with a PIN; a malformed one is refused"
p11_ok "delete the public bootstrap" --token-label DM --login --pin 1234 --delete-object --type data --label bootstrap
printf '\x03\x01\x6a\x00\x6d\x6c\x71\x03' >"$T/bad.wbxml"
p11_ok "write a private bootstrap" --token-label DM --login --pin 1234 --write-object "$T/bad.wbxml" \
    --type data --label boot2 --application-label OMA-DM:BOOTSTRAP --application-id 2.23.43.7.1 --private
dmsc_expect 5 "private bootstrap without a PIN" bootstrap show
derr_has "a private one is seen only with a PIN" "private"
dmsc_expect 1 "malformed bootstrap" bootstrap show --pin 1234
derr_has "the bootstrap 'boot2' on the card is not a DM message" "malformed"
dmsc_expect 2 "bad subcommand" bootstrap frobnicate

say "PASS"
