#!/bin/bash
# `dmsc personalise` end to end, checked with pkcs11-tool and p11-driver:
#  - bad profiles (not well-formed, schema violation, missing file, bad
#    PEM, bad TNDS, unset PIN variable, duplicate label): exit status, a
#    message naming the file, line and rule, and nothing created or
#    changed on the card (no card for a fresh store; the same object
#    list and free memory for a personalised one);
#  - the demo profile into a fresh store: the card's ICCID and capacity,
#    the token, every object (labels, CKA_TRUSTED of the MA certificate,
#    MOs byte for byte, the bootstrap's CKA_OBJECT_ID and WBXML bytes whose
#    canonical form is the XML's and libwbxml's xml2wbxml's), dmsc status;
#  - a re-run: every step kept, the same objects; a changed MO replaced;
#  - another card's identity, a wrong SO PIN: refused before any write;
#  - keys imported from PEM (EC, Ed25519) sign what openssl verifies with
#    the original public key; a second application;
#  - a card too small: "card full: N bytes needed, M free", the step list
#    with done / FAILED / not done, exit 7;
#  - iccid/imsi in the configuration file and DMSC_CARD_*: used or refused;
#  - the same profile on a SoftHSM token, and again (all kept).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=dmsc-lib.sh
. "$(dirname "$0")/dmsc-lib.sh"

check_module
need_cmd openssl xml2wbxml sha256sum
setup_store
T=$TEST_TMP
DRIVER=${P11_DRIVER:-$DMSC_BUILDDIR/tests/integration/p11-driver}
[ -x "$DRIVER" ] || fail "p11-driver is not built: $DRIVER"

export DMSC_DEMO_SO_PIN=87654321 DMSC_DEMO_USER_PIN=1234 DMSC_DEMO_DM_SECRET=s3cret-demo
DEMO=$T/demo
cp -R "$DMSC_SRCDIR/examples/demo-card" "$DEMO"
chmod -R u+w "$DEMO"
PROFILE=$DEMO/profile.xml
ICCID=8900101000000000019

# p11-driver commands (one a line on stdin) -> their result lines.
drive() { printf '%s\n' "$@" quit | DMSC_MODULE=$DMSC_MODULE timeout 60 "$DRIVER"; }

# Everything a logged-in user sees on the DM token, and its free memory.
card_state() {
    p11_ok "list objects" --token-label DM --login --pin 1234 --list-objects
    printf '%s\n' "$OUT" | grep -v '^Using slot'
    p11_ok "token info" -T
    grep -i 'free\|serial' <<<"$OUT" || true
}

# bad_profile STATUS TEXT WHAT FILE: personalise FILE must exit STATUS and
# say TEXT on stderr.
bad_profile() {
    dmsc_expect "$1" "$3" personalise "$4"
    derr_has "$2" "$3"
}

# A variant of the demo profile: sed expression applied to profile.xml.
variant() {
    local name=$1
    shift
    sed "$@" "$PROFILE" >"$DEMO/$name.xml"
    printf '%s' "$DEMO/$name.xml"
}

# The objects in a pkcs11-tool --list-objects output (OUT).
count_objects() { grep -cE '^(Certificate|Private Key|Public Key|Secret Key) Object|^Data object' <<<"$OUT" || true; }

line_of() { grep -n -- "$1" "$PROFILE" | head -1 | cut -d: -f1; }

step "--check: the demo profile and all its files are valid; no card is made"
dmsc_expect 0 "personalise --check" personalise --check "$PROFILE"
dout_has "valid: card $ICCID, 1 application(s), 6 object(s)" "--check"
[ ! -e "$DMSC_STORE" ] || fail "--check created a card store"

step "bad profiles into a fresh store: refused, naming file and line; no card made"
printf '<profile xmlns="urn:dmsc:profile:1">\n<card iccid="1"\n</profile>\n' >"$DEMO/broken.xml"
bad_profile 1 "$DEMO/broken.xml:3: not well-formed XML" "not well-formed" "$DEMO/broken.xml"
key_line=$(line_of '<key type="ec"')
f=$(variant bits -e 's|<key type="ec" curve="P-256"|<key type="rsa" bits="1000"|')
bad_profile 1 "bits.xml:$key_line: <key>: breaks the profile schema" "RSA key of 1000 bits" "$f"
f=$(variant nocard -e '/<card /d')
bad_profile 1 "breaks the profile schema" "no <card>" "$f"
mo_line=$(line_of 'mo/fumo.xml')
f=$(variant missing -e 's|mo/fumo.xml|mo/missing.xml|')
bad_profile 2 "missing.xml:$mo_line: <mo>: $DEMO/mo/missing.xml: cannot be read: No such file" "missing MO file" "$f"
cert_line=$(line_of '<ma-certificate')
printf -- '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' >"$DEMO/bad.pem"
f=$(variant badpem -e 's|file="ma.cert.pem"|file="bad.pem"|')
bad_profile 1 "badpem.xml:$cert_line: <ma-certificate>: bad.pem: not a PEM X.509 certificate" "bad PEM" "$f"
sed 's|</NodeName>|</Nodename>|' "$DEMO/mo/fumo.xml" >"$DEMO/mo/bad.xml"
f=$(variant badtnds -e 's|mo/fumo.xml|mo/bad.xml|')
bad_profile 1 "badtnds.xml:$mo_line: <mo>: mo/bad.xml:6: " "bad TNDS" "$f"
derr_has "mismatch" "bad TNDS names the XML rule"
sed 's|<NodeName>PkgVersion</NodeName>|<Path>x</Path>|' "$DEMO/mo/fumo.xml" >"$DEMO/mo/model.xml"
f=$(variant badmodel -e 's|mo/fumo.xml|mo/model.xml|')
bad_profile 1 "badmodel.xml:$mo_line: <mo>: mo/model.xml:9: not TNDS: " "TNDS content model" "$f"
derr_has "a <Node> must start with <NodeName>" "the TNDS rule broken"
f=$(variant sametnds -e 's|mo/fumo.xml|bootstrap.xml|')
bad_profile 1 "<mo>: bootstrap.xml: a SyncML message, not TNDS" "a message as an MO" "$f"
f=$(variant duplabel -e 's|label="MA"|label="device"|' -e 's|<key type="ec" curve="P-256" label="device"|<key type="ec" curve="P-256" label="MA"|')
dmsc_expect 0 "a certificate and a key may share a label" personalise --check "$f"
f=$(variant dupmo -e 's|"./FUMO"|"./DMAcc/OperatorX"|')
bad_profile 1 "dupmo.xml:$mo_line: label './DMAcc/OperatorX' is already used on line" "two MOs at one path" "$f"
(
    unset DMSC_DEMO_USER_PIN
    pin_line=$(line_of '<user-pin')
    bad_profile 1 "profile.xml:$pin_line: <user-pin>: the environment variable DMSC_DEMO_USER_PIN is not set" \
        "unset PIN variable" "$PROFILE"
)
[ ! -e "$DMSC_STORE" ] || fail "a refused profile created a card store"

step "the demo profile into a fresh store"
dmsc_expect 0 "personalise the demo card" personalise "$PROFILE"
for want in "done      application 'DM' (C_InitToken)" "done      application 'DM': user PIN" \
    "done      application 'DM': MA certificate 'MA'" "done      application 'DM': key pair 'device'" \
    "done      application 'DM': DM credential 'OperatorX'" "done      application 'DM': MO ./DMAcc/OperatorX" \
    "done      application 'DM': MO ./FUMO" "done      application 'DM': DM bootstrap" \
    "Card $ICCID personalised: 1 application(s), 6 object(s)."; do
    dout_has "$want" "first personalisation"
done

step "the card: identity, token, objects"
dmsc_expect 0 "dmsc status" status --json
[ "$(json_get iccid)" = "$ICCID" ] || fail "ICCID $(json_get iccid), expected $ICCID" "$DOUT"
[ "$(json_get memory_total)" = 65536 ] || fail "capacity $(json_get memory_total), expected 65536" "$DOUT"
[ "$(json_get token_label)" = DM ] || fail "token label $(json_get token_label)" "$DOUT"
[ "$(json_get activated)" = true ] || fail "not activated" "$DOUT"
[ "$(json_get mo_count)" = 2 ] || fail "mo_count $(json_get mo_count), expected 2" "$DOUT"
[ "$(json_get bootstrap)" = true ] || fail "no bootstrap" "$DOUT"
p11_ok "token info" -T
out_has "serial num         : ${ICCID: -16}" "token serial"
p11_ok "objects" --token-label DM --login --pin 1234 --list-objects
for want in "label:      MA" "subject:    DN: O=dmsc demo, CN=Demo Management Authority (DEMO ONLY)" \
    "Private Key Object; EC" "label:      device" "label:      OperatorX" \
    "label:          './DMAcc/OperatorX'" "label:          './FUMO'" \
    "label:          'bootstrap'" "application:    'OMA-DM:BOOTSTRAP'"; do
    out_has "$want" "the personalised objects"
done
objects=$(count_objects)
# certificate, private and public key, credential, network key, 2 MOs, bootstrap
[ "$objects" -eq 8 ] || fail "expected 8 objects, pkcs11-tool lists $objects" "$OUT"
r=$(drive init "open DM" "getattr MA trusted" "getattr bootstrap objectid" | tr '\n' '|')
[ "$r" = "ok|ok|hex 01|hex 0604672b0701|ok|" ] ||
    fail "CKA_TRUSTED of the MA certificate, CKA_OBJECT_ID of the bootstrap: $r"
expect_fail CKR_ATTRIBUTE_SENSITIVE "the DM credential is never readable" --token-label DM --login --pin 1234 \
    --read-object --type secrkey --label OperatorX
for mo in "./DMAcc/OperatorX:dmacc-operatorx.xml" "./FUMO:fumo.xml"; do
    p11_ok "read MO ${mo%%:*}" --token-label DM --read-object --type data --label "${mo%%:*}" \
        --output-file "$T/readback.xml"
    cmp -s "$T/readback.xml" "$DEMO/mo/${mo#*:}" || fail "MO ${mo%%:*} read back differs from ${mo#*:}"
done

step "the bootstrap: OID 2.23.43.7.1 (DER), WBXML with the XML's canonical form"
p11_ok "read the bootstrap" --token-label DM --read-object --type data --application-label OMA-DM:BOOTSTRAP \
    --output-file "$T/boot.wbxml"
[ "$(head -c 4 "$T/boot.wbxml" | xxd -p)" = 03a4016a ] ||
    fail "the bootstrap is not WBXML 1.3 SyncML 1.2: $(head -c 8 "$T/boot.wbxml" | xxd -p)"
dmsc_expect 0 "canonical form of the stored bootstrap" canon "$T/boot.wbxml"
card_c14n=$DOUT
dmsc_expect 0 "canonical form of bootstrap.xml" canon "$DEMO/bootstrap.xml"
[ "$card_c14n" = "$DOUT" ] || fail "the stored bootstrap's canonical form is not the XML's" \
    "card: $card_c14n" "xml:  $DOUT"
xml2wbxml -o "$T/libwbxml.wbxml" "$DEMO/bootstrap.xml" >/dev/null 2>&1 || fail "xml2wbxml failed"
dmsc_expect 0 "canonical form of libwbxml's encoding" canon "$T/libwbxml.wbxml"
[ "$card_c14n" = "$DOUT" ] || fail "libwbxml's encoding has another canonical form than ours"
# pkcs11-tool 0.23 reads CKA_OBJECT_ID as bare OID content, so it prints
# the DER 06 04 67 2B 07 01 as 0.6.4.103.43.7.1: that is the DER here.
p11_ok "objects" --token-label DM --list-objects --type data
out_has "app_id:         0.6.4.103.43.7.1" "CKA_OBJECT_ID = DER of 2.23.43.7.1"

step "a re-run keeps everything"
state_before=$(card_state)
dmsc_expect 0 "personalise again" personalise "$PROFILE"
kept=$(grep -c '^  kept ' <<<"$DOUT")
[ "$kept" -eq 8 ] || fail "expected 8 steps kept, got $kept" "$DOUT"
[ "$(card_state)" = "$state_before" ] || fail "the re-run changed the card" "$(card_state)"

step "bad profiles against the personalised card: refused, card unchanged"
for f in "$DEMO/broken.xml" "$DEMO/bits.xml" "$DEMO/missing.xml" "$DEMO/badpem.xml" "$DEMO/badtnds.xml" \
    "$DEMO/badmodel.xml"; do
    dmsc_run personalise "$f"
    [ "$RC" -eq 1 ] || [ "$RC" -eq 2 ] || fail "$f: exit $RC" "$DERR"
done
[ "$(card_state)" = "$state_before" ] || fail "a refused profile changed the card" "$(card_state)"

step "another card's identity, a wrong SO PIN: refused before writing"
f=$(variant othercard -e "s|$ICCID|8900101000000000027|")
card_line=$(line_of '<card ')
bad_profile 7 "othercard.xml:$card_line: this card is another card: its serial number" "another ICCID" "$f"
derr_has "DMSC_STORE=NEW-DIRECTORY" "the fix"
f=$(variant wrongso -e 's|<so-pin env="DMSC_DEMO_SO_PIN"/>|<so-pin value="11111111"/>|')
bad_profile 6 "logging in to application 'DM' as the SO" "wrong SO PIN" "$f"
derr_has "personalise stopped" "the step list after a failure"
derr_has "kept      application 'DM' (C_InitToken)" "step list: what is there"
derr_has "FAILED    application 'DM': user PIN" "step list: the failed step"
derr_has "not done  application 'DM': DM bootstrap" "step list: what was not done"
[ "$(card_state)" = "$state_before" ] || fail "a refused run changed the card" "$(card_state)"
r=$(drive init "open DM" "sologin 87654321" | tr '\n' '|')
[ "$r" = "ok|ok|ok|ok|" ] || fail "the right SO PIN (restoring its tries): $r"

step "a changed MO is replaced; nothing is duplicated"
sed -i 's|<Value>1.0.0</Value>|<Value>1.0.1</Value>|' "$DEMO/mo/fumo.xml"
dmsc_expect 0 "personalise with a changed MO" personalise "$PROFILE"
dout_has "replaced  application 'DM': MO ./FUMO" "changed MO"
p11_ok "read MO ./FUMO" --token-label DM --read-object --type data --label ./FUMO --output-file "$T/fumo.xml"
grep -q '<Value>1.0.1</Value>' "$T/fumo.xml" || fail "./FUMO was not replaced"
p11_ok "objects" --token-label DM --login --pin 1234 --list-objects
[ "$(count_objects)" -eq 8 ] || fail "the re-run duplicated objects" "$OUT"

step "imported keys sign what openssl verifies; a second application"
export DMSC_STORE=$T/store2
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$DEMO/ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$DEMO/ed.pem" 2>/dev/null
f=$(variant imports -e 's|<mo path="./FUMO" file="mo/fumo.xml"/>|<import-key label="ec-in" id="31" file="ec.pem"/><import-key label="ed-in" id="32" file="ed.pem"/>|' \
    -e 's|</profile>|<application label="wallet"><so-pin value="22223333"/><user-pin value="5678"/><key type="ed25519" label="w" id="01"/></application></profile>|')
dmsc_expect 0 "personalise with imported keys and two applications" personalise "$f"
dout_has "done      application 'wallet': key pair 'w' (generated) (Ed25519" "second application"
printf 'signed by an imported key' >"$T/msg"
p11_ok "sign with the imported EC key" --token-label DM --login --pin 1234 --sign -m ECDSA-SHA256 \
    --signature-format openssl --id 31 -i "$T/msg" -o "$T/msg.sig"
openssl pkey -in "$DEMO/ec.pem" -pubout -out "$T/ec.pub" 2>/dev/null
openssl dgst -sha256 -verify "$T/ec.pub" -signature "$T/msg.sig" "$T/msg" >/dev/null ||
    fail "openssl does not verify the imported EC key's signature"
p11_ok "sign with the imported Ed25519 key" --token-label DM --login --pin 1234 --sign -m EDDSA \
    --id 32 -i "$T/msg" -o "$T/ed.sig"
openssl pkey -in "$DEMO/ed.pem" -pubout -out "$T/ed.pub" 2>/dev/null
openssl pkeyutl -verify -pubin -inkey "$T/ed.pub" -rawin -in "$T/msg" -sigfile "$T/ed.sig" >/dev/null ||
    fail "openssl does not verify the imported Ed25519 key's signature"
p11_ok "tokens" -L
out_has "token label        : wallet" "the second application"

step "a card too small: card full, the step list, exit 7"
export DMSC_STORE=$T/store3
head -c 3000 /dev/zero | tr '\0' 'x' >"$DEMO/big.txt"
{
    printf '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>Big</NodeName>'
    printf '<Value>%s</Value></Node></MgmtTree>\n' "$(cat "$DEMO/big.txt")"
} >"$DEMO/mo/big.xml"
f=$(variant small -e 's|capacity="65536"|capacity="6144"|' -e 's|mo/fumo.xml|mo/big.xml|')
bad_profile 7 "card full: " "a full card" "$f"
derr_has "bytes needed, " "card full names the bytes needed"
derr_has " free" "card full names the bytes free"
derr_has "FAILED    application 'DM': MO ./FUMO" "the failed step"
derr_has "done      application 'DM': MO ./DMAcc/OperatorX" "what was done before"
derr_has "not done  application 'DM': DM bootstrap" "what was not done"
say "card full: $(grep 'card full' <<<"$DERR")"
expect_fail_msg "object not found" "./FUMO did not fit: not on the card" --token-label DM --read-object \
    --type data --label ./FUMO --output-file "$T/none"
step "the configuration file's iccid and imsi make a new card's identity; bad ones are refused"
export DMSC_STORE=$T/store4
printf 'iccid = 89001019999999999998\nimsi = 001019999999999\n' >"$DMSC_CONF"
p11_ok "token info of a card made with iccid = ..." -L
out_has "dmsc virtual UICC 89001019999999999998" "the configured ICCID"
printf 'iccid = 8900\n' >"$DMSC_CONF"
export DMSC_STORE=$T/store5
expect_fail_msg "dmsc.conf:1: iccid must be 18 to 20 decimal digits" "a short iccid" -L
printf 'imsi = 00101x\n' >"$DMSC_CONF"
expect_fail_msg "dmsc.conf:1: imsi must be 6 to 15 decimal digits" "a bad imsi" -L
: >"$DMSC_CONF"
DMSC_CARD_CAPACITY=12 expect_fail_msg "DMSC_CARD_CAPACITY must be a number of bytes" "a bad DMSC_CARD_CAPACITY" -L
[ ! -e "$T/store5" ] || fail "a refused setting created a card"

step "the same profile on a SoftHSM token: a plain PKCS#11 client"
SOFTHSM_LIB=/usr/lib/softhsm/libsofthsm2.so
[ -f "$SOFTHSM_LIB" ] || fail "SoftHSM is not installed ($SOFTHSM_LIB; Debian: softhsm2)"
mkdir -p "$T/softhsm"
printf 'directories.tokendir = %s\n' "$T/softhsm" >"$T/softhsm2.conf"
export SOFTHSM2_CONF=$T/softhsm2.conf
dmsc_expect 0 "personalise a SoftHSM token" personalise --module "$SOFTHSM_LIB" "$PROFILE"
dout_has "done      application 'DM': MA certificate 'MA' (trusted)" "SoftHSM: trust anchor"
dout_has "done      application 'DM': DM bootstrap" "SoftHSM: bootstrap"
dmsc_expect 0 "personalise the SoftHSM token again" personalise --module "$SOFTHSM_LIB" "$PROFILE"
[ "$(grep -c '^  kept ' <<<"$DOUT")" -eq 8 ] || fail "SoftHSM re-run: expected 8 steps kept" "$DOUT"
dmsc_expect 0 "dmsc status on SoftHSM" status --module "$SOFTHSM_LIB" --json
[ "$(json_get mo_count)" = 2 ] || fail "SoftHSM: mo_count $(json_get mo_count), expected 2" "$DOUT"
say "PASS"
