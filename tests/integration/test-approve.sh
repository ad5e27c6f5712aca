#!/bin/bash
# Firmware / software approval end to end (dm-ext/APPROVAL.md): the MA
# signs with a key in a SoftHSM token (`dmsc sign`), the card verifies
# against its trust anchor (`dmsc verify`, `dmsc approve`), the device
# policy decides, every decision lands in the audit log.
#  - detached signature over the XML form, approved from the XML and from
#    the WBXML form (xml2wbxml); enveloped XML-DSig made by dmsc verifies
#    with xmlsec1 --verify, and one made by xmlsec1 --sign is approved;
#    rsa-sha1 only with --allow-sha1; the alternative flow (a package and
#    its detached signature, no message);
#  - every Bad input of issue 6: missing, empty, truncated and swapped
#    signatures, a message without any signature, another signer, an
#    untrusted and an expired certificate, a package changed by one byte,
#    a message naming another package, a malformed message, a changed
#    signed message: exit 1, one line, an audit record "rejected";
#  - policy ask: no terminal rejects, a scripted "no" declines (3), "yes"
#    approves (4), through a pseudo-terminal (script); the setting from
#    dmsc.conf; a progress bar only on a terminal;
#  - an audit log that cannot be written is an error (2), nothing approved;
#  - through p11-kit's RPC, which carries no vendor mechanism, RSA and EC
#    anchors still verify (canonical form in the tool, standard mechanisms
#    on the card);
#  - a sparse package of 2 GiB + 1 byte streams through the card with a
#    peak RSS under 32 MB.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=approve-lib.sh
. "$(dirname "$0")/approve-lib.sh"

check_module
need_cmd softhsm2-util openssl xmlsec1 xml2wbxml script setsid truncate p11-kit pkg-config
[ -f "$SOFTHSM_MODULE" ] || skip "SoftHSM's module is not at $SOFTHSM_MODULE"
DMSC=${DMSC_TOOL:-${DMSC_BUILDDIR:?}/dmsc}
[ -x "$DMSC" ] || fail "the dmsc tool is not built: $DMSC"
setup_store
T=$TEST_TMP
CARD=(--module "$DMSC_MODULE" --token "pkcs11:token=DM")
MA=(--module "$SOFTHSM_MODULE" --token "pkcs11:token=MA" --pin "$MA_PIN")
AUDIT=$T/audit.log

step "the MA's token (SoftHSM) with the MA key and another key; the card"
ma_token "$T"
ma_key "$T" ma 01
ma_key "$T" other 02
card "$DMSC_STORE" "$T/ma.der" trusted || fail "cannot put the trust anchor on the card"

head -c 3000000 /dev/urandom >"$T/fw.bin"
DIGEST=$(openssl dgst -sha256 -r "$T/fw.bin" | cut -d' ' -f1)
fumo_message "$T/fumo.xml" "$DIGEST"
# The same package changed in one byte: that byte's bits all flipped (a
# fixed new value would equal the random old one once in 256 runs, and the
# "changed" package would then be the signed one).
cp "$T/fw.bin" "$T/fw-changed.bin"
OLD_BYTE=$(od -An -tu1 -j1234567 -N1 "$T/fw.bin" | tr -d ' ')
printf "$(printf '\\%03o' $((OLD_BYTE ^ 255)))" |
    dd of="$T/fw-changed.bin" bs=1 seek=1234567 conv=notrunc status=none
cmp -s "$T/fw.bin" "$T/fw-changed.bin" && fail "the changed package is the same as the package"

# run ARGS...: dmsc; stdout in $T/out, stderr in $T/err, status in RC.
RC=0
run() {
    RC=0
    "$DMSC" "$@" >"$T/out" 2>"$T/err" </dev/null || RC=$?
}
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC" \
        "stdout:" "$(indent <"$T/out")" "stderr:" "$(indent <"$T/err")"
}
err_has() {
    grep -qF -- "$1" "$T/err" || fail "$2: expected stderr to contain '$1'" \
        "stderr:" "$(indent <"$T/err")"
}
# approve ARGS...: dmsc approve on the card with the test's audit log.
approve() { run approve "${CARD[@]}" --audit-log "$AUDIT" "$@"; }
# audit_has TEXT WHAT: the last audit record contains TEXT.
audit_has() {
    tail -n 1 "$AUDIT" | grep -qF -- "$1" ||
        fail "$2: expected the last audit record to contain '$1'" \
            "$(tail -n 1 "$AUDIT" 2>/dev/null | indent)"
}
audit_lines() { wc -l <"$AUDIT" | tr -d ' '; }
# rejected WHAT REASON ARGS...: approve ARGS exits 1 with one "rejected"
# line naming REASON, and adds one audit record saying so.
rejected() {
    local what=$1 reason=$2 before
    shift 2
    before=$(audit_lines)
    approve "$@"
    expect_rc 1 "$what"
    err_has "rejected: " "$what"
    err_has "$reason" "$what"
    [ "$(grep -c . "$T/err")" -eq 1 ] || fail "$what: expected one line on stderr" \
        "$(indent <"$T/err")"
    [ "$(audit_lines)" -eq $((before + 1)) ] || fail "$what: expected one new audit record"
    audit_has '"result":"rejected"' "$what"
    audit_has '"policy":"reject"' "$what"
}
rm -f "$AUDIT"; (umask 077; : >"$AUDIT") # dmsc refuses a log others may write

step "dmsc sign: detached, enveloped (sha256 and sha1), package"
run sign "${MA[@]}" --key ma -o "$T/fumo.sig" "$T/fumo.xml"
expect_rc 0 "sign a message"
[ "$(wc -c <"$T/fumo.sig")" -eq 256 ] || fail "an RSA-2048 signature is 256 bytes"
# The signature is over the canonical form: plain openssl agrees.
"$DMSC" canon -q "$T/fumo.xml" >"$T/fumo.c14n"
openssl dgst -sha256 -verify "$T/ma.pub" -signature "$T/fumo.sig" "$T/fumo.c14n" >/dev/null ||
    fail "openssl does not verify the detached signature over dmsc canon's bytes"
run sign "${MA[@]}" --key "pkcs11:object=ma;id=%01" --enveloped -o "$T/fumo.signed.xml" "$T/fumo.xml"
expect_rc 0 "sign enveloped (key by URI)"
xmlsec1 --verify --pubkey-pem "$T/ma.pub" "$T/fumo.signed.xml" >/dev/null 2>&1 ||
    fail "xmlsec1 --verify refuses the XML-DSig dmsc sign made"
if xmlsec1 --verify --pubkey-pem "$T/other.pub" "$T/fumo.signed.xml" >/dev/null 2>&1; then
    fail "xmlsec1 --verify accepts the XML-DSig with another key: the check proves nothing"
fi
grep -qF 'xmldsig-more#rsa-sha256' "$T/fumo.signed.xml" || fail "not rsa-sha256"
run sign "${MA[@]}" --key ma --enveloped --sha1 -o "$T/fumo.sha1.xml" "$T/fumo.xml"
expect_rc 0 "sign enveloped sha1"
grep -qF 'xmldsig#rsa-sha1' "$T/fumo.sha1.xml" || fail "--sha1 did not give rsa-sha1"
xmlsec1 --verify --pubkey-pem "$T/ma.pub" "$T/fumo.sha1.xml" >/dev/null 2>&1 ||
    fail "xmlsec1 --verify refuses the rsa-sha1 XML-DSig"
run sign "${MA[@]}" --key ma -o "$T/fw.sig" "$T/fw.bin"
expect_rc 0 "sign a package"
openssl dgst -sha256 -verify "$T/ma.pub" -signature "$T/fw.sig" "$T/fw.bin" >/dev/null ||
    fail "openssl does not verify the package signature"
run sign "${MA[@]}" --key other -o "$T/fumo.other.sig" "$T/fumo.xml"
expect_rc 0 "sign with the other key"
run sign "${MA[@]}" --key nosuchkey "$T/fumo.xml"
expect_rc 2 "sign with a key that is not there"
err_has "no such private key" "sign with a key that is not there"

step "dmsc verify on the card"
run verify "${CARD[@]}" --signature "$T/fumo.sig" "$T/fumo.xml"
expect_rc 0 "verify detached"
grep -qF "signed by CN=ma" "$T/out" || fail "verify does not name the signer" "$(indent <"$T/out")"
run verify "${CARD[@]}" "$T/fumo.signed.xml"
expect_rc 0 "verify enveloped"
run verify "${CARD[@]}" --signature "$T/fw.sig" "$T/fw.bin"
expect_rc 0 "verify a package"
run verify "${CARD[@]}" --signature "$T/fumo.other.sig" "$T/fumo.xml"
expect_rc 1 "verify another signer's signature"
err_has "NOT VERIFIED" "verify another signer's signature"
run verify "${CARD[@]}" --package --signature "$T/fw.sig" "$T/no-such.bin"
expect_rc 2 "verify a package that is not there"
run verify "${CARD[@]}" --signature "$T/fw.sig" "$T/fw-truncated.bin"
expect_rc 2 "verify a file that is not there"

step "approve: the normal flow"
approve --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 0 "approve, detached signature"
grep -qF "approved: $T/fw.bin (./FUMO/fw1/DownloadAndUpdate), SHA-256 $DIGEST" "$T/out" ||
    fail "approve does not say what it approved" "$(indent <"$T/out")"
fp=$(openssl x509 -in "$T/ma.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
audit_has "\"operation\":\"./FUMO/fw1/DownloadAndUpdate\",\"package\":\"$T/fw.bin\",\"size\":3000000,\"digest\":\"$DIGEST\",\"signer\":\"CN=ma\",\"certificate\":\"$fp\",\"key\":\"MA\",\"result\":\"approved\",\"policy\":\"reject\",\"reason\":null}" \
    "the audit record of an approval"
grep -qE '^\{"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",' "$AUDIT" ||
    fail "the audit record has no UTC time"
xml2wbxml -n -o "$T/fumo.wbxml" "$T/fumo.xml" >/dev/null 2>&1 || fail "xml2wbxml failed"
approve --message "$T/fumo.wbxml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 0 "approve the WBXML form with the signature made over the XML"
approve --message "$T/fumo.signed.xml" "$T/fw.bin"
expect_rc 0 "approve, enveloped XML-DSig by dmsc sign"

step "approve: an XML-DSig made by xmlsec1 --sign"
sed 's|</SyncML>|  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">\
    <SignedInfo>\
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\
      <Reference URI="">\
        <Transforms>\
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>\
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
        </Transforms>\
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>\
        <DigestValue/>\
      </Reference>\
    </SignedInfo>\
    <SignatureValue/>\
  </Signature>\
</SyncML>|' "$T/fumo.xml" >"$T/tmpl.xml"
xmlsec1 --sign --privkey-pem "$T/ma.key" --output "$T/xmlsec.xml" "$T/tmpl.xml" 2>/dev/null ||
    fail "xmlsec1 --sign failed"
approve --message "$T/xmlsec.xml" "$T/fw.bin"
expect_rc 0 "approve an XML-DSig made by xmlsec1"
xmlsec1 --sign --privkey-pem "$T/other.key" --output "$T/xmlsec-other.xml" "$T/tmpl.xml" 2>/dev/null
rejected "an xmlsec1 XML-DSig by another key" "does not verify against the trust anchor" \
    --message "$T/xmlsec-other.xml" "$T/fw.bin"

step "approve: rsa-sha1 only on request"
rejected "rsa-sha1 without --allow-sha1" "rsa-sha1 is refused" --message "$T/fumo.sha1.xml" "$T/fw.bin"
approve --allow-sha1 --message "$T/fumo.sha1.xml" "$T/fw.bin"
expect_rc 0 "rsa-sha1 with --allow-sha1"

step "approve: the alternative flow (a package and its detached signature)"
approve --signature "$T/fw.sig" "$T/fw.bin"
expect_rc 0 "approve a package from a file"
audit_has "\"operation\":\"install-from-file\"" "alternative flow audit"
audit_has "\"digest\":\"$DIGEST\"" "alternative flow audit digest"

step "approve: two messages, two packages"
head -c 100000 /dev/urandom >"$T/app.bin"
fumo_message "$T/fumo2.xml" "$(openssl dgst -sha256 -r "$T/app.bin" | cut -d' ' -f1)" ./FUMO/fw2 "Modem 1.1"
"$DMSC" sign -q "${MA[@]}" --key ma -o "$T/fumo2.sig" "$T/fumo2.xml"
before=$(audit_lines)
approve --message "$T/fumo.xml" --signature "$T/fumo.sig" --message "$T/fumo2.xml" \
    --signature "$T/fumo2.sig" "$T/fw.bin" "$T/app.bin"
expect_rc 0 "two messages, two packages"
[ "$(audit_lines)" -eq $((before + 2)) ] || fail "two packages: expected two audit records"
grep -qF '"operation":"./FUMO/fw2/DownloadAndUpdate","package":"'"$T/app.bin"'"' "$AUDIT" ||
    fail "the second package is not recorded with its own operation"
printf 'y' >>"$T/app.bin"
approve --message "$T/fumo.xml" --signature "$T/fumo.sig" --message "$T/fumo2.xml" \
    --signature "$T/fumo2.sig" "$T/fw.bin" "$T/app.bin"
expect_rc 1 "two packages, the second changed"
if [ "$(tail -n 2 "$AUDIT" | grep -c '"result":"approved"')" -ne 1 ] ||
    [ "$(tail -n 2 "$AUDIT" | grep -c '"result":"rejected"')" -ne 1 ]; then
    fail "two packages, one changed: expected one approved and one rejected record"
fi

step "two trust anchors: each package is recorded with the anchor whose message named it"
card "$T/store-two" "$T/ma.der" trusted
printf 'init\nopen DM\nsologin %s\ncert OTHER 02 %s trusted\nquit\n' "$CARD_SO_PIN" "$T/other.der" |
    DMSC_STORE=$T/store-two DMSC_MODULE=$DMSC_MODULE \
        "${P11_DRIVER:-$DMSC_BUILDDIR/tests/integration/p11-driver}" | grep -v '^ok$' &&
    fail "cannot put the second trust anchor on the card"
head -c 50000 /dev/urandom >"$T/app2.bin"
fumo_message "$T/fumo3.xml" "$(openssl dgst -sha256 -r "$T/app2.bin" | cut -d' ' -f1)" ./FUMO/fw3 "Radio 3"
"$DMSC" sign -q "${MA[@]}" --key other -o "$T/fumo3.sig" "$T/fumo3.xml"
fp_other=$(openssl x509 -in "$T/other.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
DMSC_STORE=$T/store-two approve --message "$T/fumo.xml" --signature "$T/fumo.sig" \
    --message "$T/fumo3.xml" --signature "$T/fumo3.sig" "$T/fw.bin" "$T/app2.bin"
expect_rc 0 "two messages signed by two trust anchors"
grep -qF "approved: $T/app2.bin (./FUMO/fw3/DownloadAndUpdate), SHA-256 " "$T/out" ||
    fail "the second package was not approved" "$(indent <"$T/out")"
grep -qF "signed by CN=other" "$T/out" ||
    fail "the package the other anchor's message names is not shown as signed by it" "$(indent <"$T/out")"
audit_has "\"package\":\"$T/app2.bin\",\"size\":50000,\"digest\":\"$(openssl dgst -sha256 -r "$T/app2.bin" | cut -d' ' -f1)\",\"signer\":\"CN=other\",\"certificate\":\"$fp_other\",\"key\":\"OTHER\"" \
    "the audit record names the anchor that signed the message naming the package"
tail -n 2 "$AUDIT" | head -n 1 | grep -qF '"package":"'"$T"'/fw.bin","size":3000000,"digest":"'"$DIGEST"'","signer":"CN=ma"' ||
    fail "the first package is not recorded as signed by CN=ma" "$(tail -n 2 "$AUDIT" | indent)"

step "an EC P-256 MA key"
ma_key "$T" maec 03 ec -pkeyopt ec_paramgen_curve:P-256
card "$T/store-ec" "$T/maec.der" trusted
run sign "${MA[@]}" --key maec -o "$T/fumo.ec.sig" "$T/fumo.xml"
expect_rc 0 "sign with an EC key"
[ "$(wc -c <"$T/fumo.ec.sig")" -eq 64 ] || fail "an ECDSA P-256 signature is 64 bytes (r || s)"
run sign "${MA[@]}" --key maec -o "$T/fw.ec.sig" "$T/fw.bin"
expect_rc 0 "sign a package with an EC key"
DMSC_STORE=$T/store-ec approve --message "$T/fumo.wbxml" --signature "$T/fumo.ec.sig" "$T/fw.bin"
expect_rc 0 "approve with an EC trust anchor (WBXML form)"
DMSC_STORE=$T/store-ec approve --signature "$T/fw.ec.sig" "$T/fw.bin"
expect_rc 0 "approve a package with an EC trust anchor"
DMSC_STORE=$T/store-ec rejected "an RSA signature for an EC trust anchor" "signature is 256 bytes" \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
run sign "${MA[@]}" --key maec --enveloped "$T/fumo.xml"
expect_rc 2 "enveloped with an EC key"
err_has "RSA" "enveloped with an EC key"

step "through p11-kit's RPC (no vendor mechanisms cross): the tool canonicalises, the card verifies"
CLIENT=$(pkg-config --variable=p11_module_path p11-kit-1)/p11-kit-client.so
[ -f "$CLIENT" ] || fail "p11-kit's client module is not at $CLIENT"
# serve STORE: p11-kit server exporting that store's DM token on a socket
# in the test's directory; sets SERVER (its pid) and P11_KIT_SERVER_ADDRESS.
serve() {
    local sock=$T/p11-kit-$RANDOM.sock i
    DMSC_STORE=$1 p11-kit server -f --provider "$DMSC_MODULE" -n "$sock" "pkcs11:token=DM" \
        >"$T/server.out" 2>"$T/server.err" &
    SERVER=$!
    CLEANUP_PIDS+=("$SERVER")
    for i in $(seq 200); do
        [ -S "$sock" ] && break
        kill -0 "$SERVER" 2>/dev/null || fail "p11-kit server exited" "$(indent <"$T/server.err")"
        sleep 0.05
    done
    [ -S "$sock" ] || fail "p11-kit server made no socket"
    export P11_KIT_SERVER_ADDRESS=unix:path=$sock
}
remote() { run approve --module "$CLIENT" --token pkcs11:token=DM --audit-log "$AUDIT" "$@"; }
serve "$DMSC_STORE"
remote --message "$T/fumo.wbxml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 0 "approve through p11-kit (RSA, WBXML)"
remote --signature "$T/fw.sig" "$T/fw.bin"
expect_rc 0 "approve a package through p11-kit (RSA)"
remote --message "$T/fumo.xml" --signature "$T/fumo.other.sig" "$T/fw.bin"
expect_rc 1 "another signer through p11-kit"
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
serve "$T/store-ec"
remote --message "$T/fumo.xml" --signature "$T/fumo.ec.sig" "$T/fw.bin"
expect_rc 0 "approve through p11-kit (EC: CKM_SHA256 then CKM_ECDSA)"
remote --signature "$T/fw.ec.sig" "$T/fw.bin"
expect_rc 0 "approve a package through p11-kit (EC)"
audit_has "\"digest\":\"$DIGEST\"" "the package digest through p11-kit"
remote --signature "$T/fw.ec.sig" "$T/fw-changed.bin"
expect_rc 1 "a changed package through p11-kit (EC)"
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
unset P11_KIT_SERVER_ADDRESS

step "Bad input: each rejected with one line, exit 1 and an audit record"
head -c 255 "$T/fumo.sig" >"$T/fumo.truncated.sig"
: >"$T/empty.sig"
rejected "missing signature file" "no signature" \
    --message "$T/fumo.xml" --signature "$T/no-such.sig" "$T/fw.bin"
audit_has '"digest":"'"$DIGEST"'"' "a rejection still names the package digest"
rejected "empty signature file" "signature file is empty" \
    --message "$T/fumo.xml" --signature "$T/empty.sig" "$T/fw.bin"
rejected "no signature at all" "no signature: neither a detached signature" \
    --message "$T/fumo.xml" "$T/fw.bin"
rejected "truncated signature" "signature is 255 bytes" \
    --message "$T/fumo.xml" --signature "$T/fumo.truncated.sig" "$T/fw.bin"
rejected "swapped signature (the package's, on the message)" "does not verify against the trust anchor" \
    --message "$T/fumo.xml" --signature "$T/fw.sig" "$T/fw.bin"
rejected "swapped signature (the message's, on the package)" "does not verify against the trust anchor" \
    --signature "$T/fumo.sig" "$T/fw.bin"
rejected "signed by a key that is not the trust anchor" "does not verify against the trust anchor" \
    --message "$T/fumo.xml" --signature "$T/fumo.other.sig" "$T/fw.bin"
audit_has '"operation":"./FUMO/fw1/DownloadAndUpdate (unverified)"' \
    "the operation an unverified message claims is recorded as unverified"
audit_has '"signer":null' "no signer when the message did not verify"
rejected "a package changed in one byte" "is not the one the signed message names" \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
audit_has "\"signer\":\"CN=ma\"" "the signer of a valid message is recorded"
rejected "a package changed in one byte (alternative flow)" "does not verify" \
    --signature "$T/fw.sig" "$T/fw-changed.bin"
fumo_message "$T/fumo-other.xml" "$(printf '%064d' 7)"
"$DMSC" sign -q "${MA[@]}" --key ma -o "$T/fumo-other.sig" "$T/fumo-other.xml"
rejected "a message naming another package" "is not the one the signed message names" \
    --message "$T/fumo-other.xml" --signature "$T/fumo-other.sig" "$T/fw.bin"
sed 's|</SyncBody>|</SyncBod>|' "$T/fumo.xml" >"$T/fumo-malformed.xml"
rejected "a malformed message" "not a readable DM message" \
    --message "$T/fumo-malformed.xml" --signature "$T/fumo.sig" "$T/fw.bin"
sed 's|Firmware 2.0|Firmware 6.6|' "$T/fumo.xml" >"$T/fumo-changed.xml"
rejected "a changed message (detached signature)" "does not verify against the trust anchor" \
    --message "$T/fumo-changed.xml" --signature "$T/fumo.sig" "$T/fw.bin"
sed 's|Firmware 2.0|Firmware 6.6|' "$T/fumo.signed.xml" >"$T/fumo-signed-changed.xml"
rejected "a changed message (enveloped)" "its digest differs from the signature's DigestValue" \
    --message "$T/fumo-signed-changed.xml" "$T/fw.bin"
sed "s|$DIGEST|${DIGEST:0:63}|" "$T/fumo.xml" >"$T/fumo-baddigest.xml"
"$DMSC" sign -q "${MA[@]}" --key ma -o "$T/fumo-baddigest.sig" "$T/fumo-baddigest.xml"
rejected "a signed message with a malformed PkgDigest" "not a SHA-256 in 64 hexadecimal digits" \
    --message "$T/fumo-baddigest.xml" --signature "$T/fumo-baddigest.sig" "$T/fw.bin"

step "Bad input: an untrusted and an expired certificate"
card "$T/store-untrusted" "$T/ma.der" untrusted
DMSC_STORE=$T/store-untrusted rejected "the MA certificate without CKA_TRUSTED" "none with CKA_TRUSTED" \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
mkdir "$T/ca"
: >"$T/ca/index.txt"
echo 01 >"$T/ca/serial"
printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s\nserial = %s\nnew_certs_dir = %s\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n' \
    "$T/ca/index.txt" "$T/ca/serial" "$T/ca" >"$T/ca.cnf"
openssl req -new -key "$T/ma.key" -subj /CN=ma -out "$T/old.csr"
openssl ca -batch -config "$T/ca.cnf" -selfsign -keyfile "$T/ma.key" -in "$T/old.csr" \
    -startdate 20200101000000Z -enddate 20210101000000Z -notext -out "$T/old.pem" 2>/dev/null
openssl x509 -in "$T/old.pem" -outform DER -out "$T/old.der"
card "$T/store-expired" "$T/old.der" trusted
DMSC_STORE=$T/store-expired rejected "an expired trust anchor" "has expired" \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
# A trusted certificate is card data: one whose RSA modulus is 16384 bits
# (more than the 8192 the tool copies) is refused by name, not copied into
# a smaller buffer.  The key is made up (only its size matters); the
# certificate is signed by another key.
printf 'asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\nkey=BITWRAP,SEQUENCE:rsa\n[alg]\noid=OID:rsaEncryption\np=NULL\n[rsa]\nn=INTEGER:0xC%s\ne=INTEGER:0x010001\n' \
    "$(printf '5%.0s' $(seq 4095))" >"$T/bigkey.cnf"
openssl asn1parse -genconf "$T/bigkey.cnf" -noout -out "$T/bigkey.der"
openssl pkey -pubin -inform DER -in "$T/bigkey.der" -out "$T/bigkey.pub"
openssl x509 -new -subj /CN=big -force_pubkey "$T/bigkey.pub" -key "$T/other.key" -days 365 \
    -outform DER -out "$T/big-anchor.der"
card "$T/store-bigkey" "$T/big-anchor.der" trusted
DMSC_STORE=$T/store-bigkey rejected "a trust anchor with a 16384-bit RSA key" \
    "the trust anchor CN=big has an RSA key over 8192 bits" \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"

step "policy ask: no terminal rejects; 'no' declines, 'yes' approves on a terminal"
before=$(audit_lines)
RC=0
setsid -w "$DMSC" approve "${CARD[@]}" --audit-log "$AUDIT" --policy ask \
    --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin" \
    </dev/null >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "policy ask without a terminal"
err_has "no terminal to ask on" "policy ask without a terminal"
audit_has '"result":"rejected","policy":"ask"' "policy ask without a terminal"
if grep -q $'\r' "$T/err"; then fail "a progress bar was drawn without a terminal"; fi
# ask_on_tty ANSWER ARGS...: dmsc approve --policy ask on a pseudo-terminal
# that types ANSWER; the session's output in $T/tty, status in RC.
# script(1) runs its command with $SHELL: the command is quoted with bash's
# printf %q ($'...' for the escape in a file name below), which /bin/sh
# would take literally, so SHELL is bash whatever the caller's is.
ask_on_tty() {
    local answer=$1 cmd q
    shift
    cmd=$(printf '%q ' "$DMSC" approve "${CARD[@]}" --audit-log "$AUDIT" --policy ask "$@")
    RC=0
    printf '%s\n' "$answer" | SHELL=/bin/bash script -qec "$cmd" /dev/null >"$T/tty" 2>&1 || RC=$?
    for q in "operation: ./FUMO/fw1/DownloadAndUpdate" "package:   $T/fw-changed.bin" \
             "size:      3000000 bytes" "SHA-256:   " "signed by: CN=ma" "Type 'yes'"; do
        grep -qF -- "$q" "$T/tty" || fail "the question on the terminal lacks '$q'" "$(indent <"$T/tty")"
    done
}
ask_on_tty no --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
expect_rc 8 "policy ask, the user types no"
audit_has '"result":"declined-by-user","policy":"ask"' "declined by the user"
grep -qF '100%' "$T/tty" || fail "no progress bar on the terminal" "$(indent <"$T/tty")"
ask_on_tty yes --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
expect_rc 9 "policy ask, the user types yes"
audit_has '"result":"approved-by-user","policy":"ask"' "approved by the user"
ask_on_tty y --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
expect_rc 8 "policy ask: 'y' is not an explicit yes"
[ "$(audit_lines)" -eq $((before + 4)) ] || fail "expected four new audit records"
ask_on_tty YES --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
expect_rc 8 "policy ask: only 'yes' as the question says, not 'YES'"
# What the question shows comes from outside (an unverified message's
# text, the package's file name): a line break or an escape sequence in it
# must not draw a line of its own ("signed by: CN=ma") or erase one.
sed 's|<LocURI>./FUMO/fw1/DownloadAndUpdate</LocURI>|<LocURI>./FUMO/fw1/DownloadAndUpdate\&#xA;  signed by: CN=ma (forged)</LocURI>|' \
    "$T/fumo.xml" >"$T/fumo-forged.xml"
grep -qF '&#xA;  signed by' "$T/fumo-forged.xml" || fail "the forged message was not made"
"$DMSC" sign -q "${MA[@]}" --key other -o "$T/fumo-forged.sig" "$T/fumo-forged.xml"
esc_pkg=$T/fw$'\e'[1A$'\e'[2K.bin
cp "$T/fw-changed.bin" "$esc_pkg"
cmd=$(printf '%q ' "$DMSC" approve "${CARD[@]}" --audit-log "$AUDIT" --policy ask \
    --message "$T/fumo-forged.xml" --signature "$T/fumo-forged.sig" "$esc_pkg")
RC=0
printf 'no\n' | SHELL=/bin/bash script -qec "$cmd" /dev/null >"$T/tty" 2>&1 || RC=$?
expect_rc 8 "policy ask, a forged operation and an escape in the file name, the user types no"
grep -qF "operation: ./FUMO/fw1/DownloadAndUpdate?  signed by: CN=ma (forged) (unverified)" "$T/tty" ||
    fail "the line break in the operation is not shown as '?'" "$(indent <"$T/tty")"
if grep -q '^ *signed by: CN=ma' "$T/tty"; then
    fail "a line break in the message drew a forged 'signed by:' line" "$(indent <"$T/tty")"
fi
if grep -q $'\e' "$T/tty"; then
    fail "an escape sequence in the file name reached the terminal" "$(cat -v "$T/tty" | indent)"
fi
audit_has '"operation":"./FUMO/fw1/DownloadAndUpdate\n  signed by: CN=ma (forged) (unverified)"' \
    "the audit log keeps the operation as it came, escaped"
audit_has '"package":"'"$T"'/fw\u001b[1A\u001b[2K.bin"' "the audit log keeps the file name, escaped"
rm -f "$esc_pkg"
printf 'approve_policy = ask\n' >"$DMSC_CONF"
ask_on_tty no --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw-changed.bin"
expect_rc 8 "approve_policy = ask in dmsc.conf"
printf 'approve_policy = maybe\n' >"$DMSC_CONF"
approve --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 2 "a bad approve_policy"
err_has "approve_policy must be 'reject' or 'ask'" "a bad approve_policy"
printf 'audit_log = %s\n' "$T/conf-audit.log" >"$DMSC_CONF"
run approve "${CARD[@]}" --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 0 "audit_log in dmsc.conf"
grep -qF '"result":"approved"' "$T/conf-audit.log" || fail "audit_log in dmsc.conf was not written"
[ "$(stat -c %a "$T/conf-audit.log")" = 600 ] || fail "the audit log is not 0600"
: >"$DMSC_CONF"

step "an audit log that cannot be written: error, nothing approved"
approve_unwritable() {
    RC=0
    "$DMSC" approve "${CARD[@]}" --audit-log "$T/no-such-dir/audit.log" "$@" \
        >"$T/out" 2>"$T/err" </dev/null || RC=$?
}
approve_unwritable --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/fw.bin"
expect_rc 2 "unwritable audit log"
err_has "cannot append to the audit log" "unwritable audit log"

step "errors: no package file, a usage error"
approve --message "$T/fumo.xml" --signature "$T/fumo.sig" "$T/no-such.bin"
expect_rc 2 "a package that is not there"
audit_has '"result":"error"' "a package that is not there"
approve --signature "$T/fw.sig" "$T/fw.bin" "$T/fw.bin"
expect_rc 2 "two packages, one signature"

step "a sparse package of 2 GiB + 1 byte, streamed with bounded memory"
truncate -s 2G "$T/big.bin"
printf 'x' >>"$T/big.bin"
big=$(openssl dgst -sha256 -r "$T/big.bin" | cut -d' ' -f1)
fumo_message "$T/big.xml" "$big"
"$DMSC" sign -q "${MA[@]}" --key ma -o "$T/big.sig" "$T/big.xml"
RC=0
/usr/bin/time -f '%M' -o "$T/rss" "$DMSC" approve "${CARD[@]}" --audit-log "$AUDIT" \
    --message "$T/big.xml" --signature "$T/big.sig" "$T/big.bin" >"$T/out" 2>"$T/err" </dev/null || RC=$?
expect_rc 0 "approve a 2 GiB package"
audit_has "\"size\":2147483649,\"digest\":\"$big\"" "the 2 GiB package's audit record"
rss=$(tail -n 1 "$T/rss")
[ "$rss" -le 32768 ] || fail "approving 2 GiB took a peak RSS of $rss KiB (limit 32 MiB)"
say "2 GiB + 1 byte approved, peak RSS $rss KiB"
rm -f "$T/big.bin"
say "PASS"
