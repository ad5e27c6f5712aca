#!/bin/bash
# The canonical-form DM mechanisms (<dmsc/pkcs11-dm.h>, dm-ext/CANON.md)
# through pkcs11-tool, checked against the openssl CLI and the committed
# canonical forms (dm-ext/vectors/canon/*.c14n):
#  - pkcs11-tool -M lists each DM mechanism with the flags and key sizes of
#    the algorithm it runs
#  - every signature mechanism (RSA PKCS#1 v1.5 and PSS on RSA-2048, ECDSA
#    SHA-256 on P-256, ECDSA SHA-384 on P-384, Ed25519, HMAC-SHA-256 on a
#    secret made with --keygen): the XML form of each vector group is signed
#    on the token, and the signature verifies on the token over every form
#    of the group (XML pretty, compact, reordered attributes, Latin-1,
#    comments, CRLF, WBXML, ...) and with openssl over the group's .c14n;
#    the WBXML form signed verifies over the XML form; RSA PKCS#1 and HMAC
#    give the plain mechanism's bytes over the .c14n
#    (pkcs11-tool 0.23 cannot sign or verify with CKM_DMSC_SHA256_HMAC: it
#    looks for a private / public key for a mechanism it does not know, so
#    p11-dm-driver's sign / verify run that one)
#  - a content change that stays well-formed (a Data value, blanks in a
#    Data, an extra attribute, a changed CmdID, a command less, a byte of a
#    WBXML string) gives CKR_SIGNATURE_INVALID for every mechanism
#  - malformed or refused input (truncated XML and WBXML, a DOCTYPE with
#    entities, an internal subset, a wrong root, bad base64 in a b64 Data)
#    gives CKR_DATA_INVALID for sign, verify and digest, and the token is
#    still usable afterwards
#  - CKM_DMSC_SHA256 of every form equals the SHA-256 of the .c14n
#  - opaque input (a 100 MiB "firmware package") is its own canonical form:
#    digest = sha256sum, signatures verify with openssl over the same file
#    and equal the plain mechanism's (RSA PKCS#1 is deterministic)
#  - an XML message of exactly CKD_DMSC_DM_MAX_MESSAGE (16 MiB) is taken,
#    one byte more is CKR_DATA_LEN_RANGE
# What pkcs11-tool cannot express (CK_DMSC_DM_PARAMS units and bad
# parameters, multi-part cuts, length queries, the 16 MiB limit inside one
# operation, C_DigestKey, HMAC with a known key) is in test-dm-rules.sh
# (p11-dm-driver).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crypto-lib.sh
. "$(dirname "$0")/crypto-lib.sh"

check_module
need_cmd openssl xxd cmp sha256sum perl
setup_store

SO=12345678
PIN=1234
T=(--token-label app1)
L=(--token-label app1 --login --pin "$PIN")
D=$TEST_TMP
V=${DMSC_SRCDIR:-.}/dm-ext/vectors/canon
[ -f "$V/replace.c14n" ] || fail "the canonical-form vectors are not at $V"

# The vendor mechanisms (pkcs11-tool takes them as numbers).
M_DIGEST=0xC44D0001
M_RSA=0xC44D0010
M_PSS=0xC44D0011
M_ECDSA256=0xC44D0020
M_ECDSA384=0xC44D0021
M_EDDSA=0xC44D0030
M_HMAC=0xC44D0040
# The largest XML or WBXML message (CKD_DMSC_DM_MAX_MESSAGE).
MAX_MESSAGE=$((16 * 1024 * 1024))

# Each vector group: its XML form (signed) first, then every other form.
declare -A FORMS=(
    [replace]="replace.pretty.xml replace.compact.xml replace.attrs.xml replace.latin1.xml replace.comment.xml replace.crlf.xml replace.wbxml"
    [binary]="binary.xml binary.compact.xml binary.b64.wbxml binary.bin.wbxml"
    [attrs]="attrs.a.xml attrs.b.xml attrs.wbxml"
    [tnds]="tnds.xml tnds.compact.xml tnds.wbxml"
)
GROUPS_ALL="replace binary attrs tnds"

init_app app1 "$SO" "$PIN"

# ------------------------------------------------------------------ helpers

# pkcs11-tool 0.23 looks for a private key to sign and a public key to
# verify with any mechanism it does not know, so it cannot run
# CKM_DMSC_SHA256_HMAC with a secret key: p11-dm-driver's sign / verify
# do that, and answer as pkcs11-tool does.
DM_DRIVER=${P11_DM_DRIVER:-${DMSC_BUILDDIR:-.}/tests/integration/p11-dm-driver}
[ -x "$DM_DRIVER" ] || fail "p11-dm-driver not found at $DM_DRIVER" \
    "build it (make check builds it) or set P11_DM_DRIVER=/path/to/p11-dm-driver"

# run_sign ID MECH IN OUT / run_verify ID MECH IN SIG: sets OUT, RC and CMD.
CMD=
run_sign() {
    rm -f "$4"
    if [ "$2" = "$M_HMAC" ]; then
        CMD="p11-dm-driver sign app1 $PIN $2 $1 $3 $4"
        RC=0
        OUT=$(timeout -k 5 "$P11_TIMEOUT" "$DM_DRIVER" sign app1 "$PIN" "$2" "$1" "$3" "$4" 2>&1 </dev/null) || RC=$?
    else
        CMD="pkcs11-tool --module \$DMSC_MODULE ${L[*]} --sign -m $2 --id $1 -i $3 -o $4"
        run_p11 "${L[@]}" --sign -m "$2" --id "$1" -i "$3" -o "$4"
    fi
}
run_verify() {
    if [ "$2" = "$M_HMAC" ]; then
        CMD="p11-dm-driver verify app1 $PIN $2 $1 $3 $4"
        RC=0
        OUT=$(timeout -k 5 "$P11_TIMEOUT" "$DM_DRIVER" verify app1 "$PIN" "$2" "$1" "$3" "$4" 2>&1 </dev/null) || RC=$?
    else
        # Public keys are public objects: no login (and no PIN hashing).
        CMD="pkcs11-tool --module \$DMSC_MODULE ${T[*]} --verify -m $2 --id $1 -i $3 --signature-file $4"
        run_p11 "${T[@]}" --verify -m "$2" --id "$1" -i "$3" --signature-file "$4"
    fi
}

# sign_ok ID MECH IN OUT: key ID signs IN.
sign_ok() {
    local what
    what="sign $(basename "$3") with $2, key $1"
    run_sign "$@"
    [ "$RC" -eq 0 ] || fail "$what: expected success, exit $RC ($(ckr_in_out))" "command: $CMD" \
        "output:" "$(indent <<<"$OUT")"
    [ -s "$4" ] || fail "$what: no signature written" "command: $CMD" "output:" "$(indent <<<"$OUT")"
}

# verify_ok ID MECH IN SIG: the token accepts the signature over IN.
verify_ok() {
    local what
    what="verify $2 over $(basename "$3"), key $1"
    run_verify "$@"
    if [ "$RC" -ne 0 ] || ! grep -qF "Signature is valid" <<<"$OUT"; then
        fail "$what: expected 'Signature is valid', exit $RC ($(ckr_in_out))" "command: $CMD" \
            "output:" "$(indent <<<"$OUT")"
    fi
}

# verify_bad ID MECH IN SIG WHAT: the token refuses the signature with
# CKR_SIGNATURE_INVALID. pkcs11-tool 0.23 prints "Invalid signature" for
# that rv only (any other error aborts with the CKR name).
verify_bad() {
    run_verify "$1" "$2" "$3" "$4"
    if [ "$RC" -ge 124 ] || ! grep -qF "Invalid signature" <<<"$OUT" || grep -qF "Signature is valid" <<<"$OUT"; then
        fail "verify $2, key $1, $5: expected CKR_SIGNATURE_INVALID ('Invalid signature'), got exit $RC ($(ckr_in_out))" \
            "command: $CMD" "output:" "$(indent <<<"$OUT")"
    fi
}

# sign_fails CKR ID MECH IN / verify_fails CKR ID MECH IN SIG: refused
# with that rv (printed by pkcs11-tool and the driver alike).
sign_fails() {
    run_sign "$2" "$3" "$4" "$D/sig.refused"
    if [ "$RC" -eq 0 ] || [ "$RC" -ge 124 ] || ! grep -qw -- "$1" <<<"$OUT"; then
        fail "sign $(basename "$4") with $3, key $2: expected $1, got exit $RC ($(ckr_in_out))" "command: $CMD" \
            "output:" "$(indent <<<"$OUT")"
    fi
}
verify_fails() {
    run_verify "$2" "$3" "$4" "$5"
    if [ "$RC" -eq 0 ] || [ "$RC" -ge 124 ] || ! grep -qw -- "$1" <<<"$OUT"; then
        fail "verify $3 over $(basename "$4"), key $2: expected $1, got exit $RC ($(ckr_in_out))" "command: $CMD" \
            "output:" "$(indent <<<"$OUT")"
    fi
}

# dm_digest IN: sets DIGEST to the hex of CKM_DMSC_SHA256 of IN.
DIGEST=
dm_digest() {
    rm -f "$D/digest"
    p11_ok "CKM_DMSC_SHA256 of $(basename "$1")" "${T[@]}" --hash -m "$M_DIGEST" -i "$1" -o "$D/digest"
    [ -s "$D/digest" ] || fail "CKM_DMSC_SHA256 of $(basename "$1"): pkcs11-tool wrote no digest"
    DIGEST=$(hexof "$D/digest")
}

# r||s (PKCS#11 ECDSA) in IN to the DER ECDSA-Sig-Value openssl wants in OUT.
rs_to_der() {
    local hx n
    hx=$(hexof "$1")
    n=$((${#hx} / 2))
    cat >"$D/sig.cnf" <<EOF
asn1 = SEQUENCE:sig
[sig]
r = INTEGER:0x${hx:0:n}
s = INTEGER:0x${hx:n}
EOF
    ossl_ok "convert an ECDSA signature to DER" openssl asn1parse -genconf "$D/sig.cnf" -out "$2" -noout
}

# ossl_verify MECH SIG FILE: openssl verifies the token's signature (or
# recomputes the HMAC) over FILE, the canonical form.
ossl_verify() {
    local mech=$1 sig=$2 file=$3 want
    case $mech in
    "$M_RSA")
        ossl_ok "openssl verifies $mech over $(basename "$file")" \
            openssl dgst -sha256 -verify "$D/pub01.pem" -signature "$sig" "$file" ;;
    "$M_PSS")
        ossl_ok "openssl verifies $mech (PSS, SHA-256, MGF1-SHA-256, salt 32) over $(basename "$file")" \
            openssl dgst -sha256 -verify "$D/pub01.pem" -signature "$sig" -sigopt rsa_padding_mode:pss \
            -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 "$file" ;;
    "$M_ECDSA256" | "$M_ECDSA384")
        local id=02 md=sha256 len=64
        if [ "$mech" = "$M_ECDSA384" ]; then id=03 md=sha384 len=96; fi
        [ "$(wc -c <"$sig")" -eq "$len" ] ||
            fail "$mech signature: expected r||s of $len bytes, got $(wc -c <"$sig")"
        rs_to_der "$sig" "$D/sig.der"
        ossl_ok "openssl verifies $mech over $(basename "$file")" \
            openssl dgst -"$md" -verify "$D/pub$id.pem" -signature "$D/sig.der" "$file" ;;
    "$M_EDDSA")
        [ "$(wc -c <"$sig")" -eq 64 ] || fail "Ed25519 signature: expected 64 bytes, got $(wc -c <"$sig")"
        ossl_ok "openssl verifies $mech (Ed25519) over $(basename "$file")" \
            openssl pkeyutl -verify -pubin -inkey "$D/pub04.pem" -rawin -in "$file" -sigfile "$sig" ;;
    "$M_HMAC")
        want=$(openssl dgst -sha256 -mac HMAC -macopt hexkey:"$HKEY" -binary "$file" | xxd -p | tr -d '\n')
        [ "$(hexof "$sig")" = "$want" ] || fail "$mech over $(basename "$file") differs from openssl's HMAC-SHA256" \
            "openssl: $want" "token:   $(hexof "$sig")" ;;
    *) fail "ossl_verify: unknown mechanism $mech" ;;
    esac
}

# Mechanism and key: which key signs with which DM mechanism.
SIGS="$M_RSA:01 $M_PSS:01 $M_ECDSA256:02 $M_ECDSA384:03 $M_EDDSA:04 $M_HMAC:05"

# ------------------------------------------------------------------ mechanisms
step "pkcs11-tool -M lists the DM mechanisms with the flags of their algorithms"
p11_ok "list mechanisms (-M)" "${T[@]}" -M
for want in \
    "mechtype-0xC44D0001, digest" \
    "mechtype-0xC44D0010, keySize={1024,8192}, sign, verify" \
    "mechtype-0xC44D0011, keySize={1024,8192}, sign, verify" \
    "mechtype-0xC44D0020, keySize={256,521}, sign, verify, EC F_P, EC OID, EC uncompressed" \
    "mechtype-0xC44D0021, keySize={256,521}, sign, verify, EC F_P, EC OID, EC uncompressed" \
    "mechtype-0xC44D0030, keySize={255,255}, sign, verify" \
    "mechtype-0xC44D0040, keySize={1,512}, sign, verify"; do
    grep -qxF "  $want" <<<"$OUT" || fail "pkcs11-tool -M: expected the line '$want'" \
        "DM lines listed:" "$(grep -i 'C44D' <<<"$OUT" | indent)"
done
# The same flags and key sizes as the plain mechanism each one runs.
for pair in 0xC44D0001:SHA256 0xC44D0010:SHA256-RSA-PKCS 0xC44D0011:SHA256-RSA-PKCS-PSS \
    0xC44D0020:ECDSA-SHA256 0xC44D0021:ECDSA-SHA384 0xC44D0030:EDDSA 0xC44D0040:SHA256-HMAC; do
    dm=$(grep "^  mechtype-${pair%%:*}," <<<"$OUT" | sed 's/^[^,]*//')
    plain=$(grep "^  ${pair#*:}," <<<"$OUT" | sed 's/^[^,]*//')
    if [ -z "$plain" ] || [ "$dm" != "$plain" ]; then
        fail "pkcs11-tool -M: ${pair%%:*} should have the flags of ${pair#*:}" "DM:    '$dm'" "plain: '$plain'"
    fi
done

# ------------------------------------------------------------------ keys
step "keys on the token: RSA-2048, EC P-256, EC P-384, Ed25519, a 32-byte generic secret"
p11_ok "generate RSA-2048" "${L[@]}" --keypairgen --key-type rsa:2048 --id 01 --label rsa
p11_ok "generate EC P-256" "${L[@]}" --keypairgen --key-type EC:prime256v1 --id 02 --label p256
p11_ok "generate EC P-384" "${L[@]}" --keypairgen --key-type EC:secp384r1 --id 03 --label p384
p11_ok "generate Ed25519" "${L[@]}" --keypairgen --key-type EC:edwards25519 --id 04 --label ed25519
# Extractable, so openssl can recompute the MAC with the same key.
p11_ok "generate a generic secret" "${L[@]}" --keygen --key-type GENERIC:32 --id 05 --label hmac --extractable
read_pub 01 "$D/pub01.pem"
ec_spki 02 prime256v1 "$D/pub02.pem"
ec_spki 03 secp384r1 "$D/pub03.pem"
read_pub 04 "$D/pub04.pem"
rm -f "$D/hkey"
p11_ok "read the HMAC key" "${L[@]}" --read-object --type secrkey --id 05 -o "$D/hkey"
[ "$(wc -c <"$D/hkey")" -eq 32 ] || fail "HMAC key read back: expected 32 bytes, got $(wc -c <"$D/hkey")"
HKEY=$(hexof "$D/hkey")

# ------------------------------------------------------------------ digests
step "CKM_DMSC_SHA256 of every form of every vector group = SHA-256 of its .c14n"
for g in $GROUPS_ALL; do
    want=$(file_sha "$V/$g.c14n")
    for f in ${FORMS[$g]}; do
        dm_digest "$V/$f"
        [ "$DIGEST" = "$want" ] || fail "CKM_DMSC_SHA256 of $f: expected sha256sum of $g.c14n" \
            "sha256sum $g.c14n: $want" "token:             $DIGEST"
    done
    # A canonical form is its own canonical form.
    dm_digest "$V/$g.c14n"
    [ "$DIGEST" = "$want" ] || fail "CKM_DMSC_SHA256 of $g.c14n: expected its own sha256sum" \
        "sha256sum: $want" "token:     $DIGEST"
done
# The plain SHA256 of a form is not the canonical digest (the mechanism
# really canonicalises, and the vectors really differ from their .c14n).
rm -f "$D/digest"
p11_ok "plain SHA256 of replace.wbxml" "${T[@]}" --hash -m SHA256 -i "$V/replace.wbxml" -o "$D/digest"
if [ "$(hexof "$D/digest")" != "$(file_sha "$V/replace.wbxml")" ] ||
    [ "$(hexof "$D/digest")" = "$(file_sha "$V/replace.c14n")" ]; then
    fail "plain SHA256 of replace.wbxml should be the SHA-256 of its bytes, not of replace.c14n"
fi

# ------------------------------------------------------------------ signatures
step "each signature mechanism: sign the XML form, verify every form on the token and the .c14n with openssl"
for spec in $SIGS; do
    mech=${spec%%:*}
    id=${spec#*:}
    for g in $GROUPS_ALL; do
        # shellcheck disable=SC2206 # word splitting of the form list
        forms=(${FORMS[$g]})
        sig="$D/sig.$mech.$g"
        sign_ok "$id" "$mech" "$V/${forms[0]}" "$sig"
        ossl_verify "$mech" "$sig" "$V/$g.c14n"
        for f in "${forms[@]}"; do
            verify_ok "$id" "$mech" "$V/$f" "$sig"
        done
        verify_ok "$id" "$mech" "$V/$g.c14n" "$sig"
    done
    # The other direction: signed over WBXML, verified over the XML form.
    sign_ok "$id" "$mech" "$V/replace.wbxml" "$D/sig.$mech.wbxml"
    ossl_verify "$mech" "$D/sig.$mech.wbxml" "$V/replace.c14n"
    verify_ok "$id" "$mech" "$V/replace.pretty.xml" "$D/sig.$mech.wbxml"
    flip_bit "$D/sig.$mech.replace" "$D/sig.bad"
    verify_bad "$id" "$mech" "$V/replace.wbxml" "$D/sig.bad" "a signature with one bit flipped"
done
# RSA PKCS#1 v1.5 and HMAC are deterministic: the XML and the WBXML form
# give the very same bytes, and so do the plain mechanisms over the .c14n.
for pair in "$M_RSA:SHA256-RSA-PKCS:01" "$M_HMAC:SHA256-HMAC:05"; do
    IFS=: read -r mech plain id <<<"$pair"
    cmp -s "$D/sig.$mech.replace" "$D/sig.$mech.wbxml" ||
        fail "$mech: the XML and the WBXML form of replace give different signatures"
    sign_ok "$id" "$plain" "$V/replace.c14n" "$D/sig.plain"
    cmp -s "$D/sig.$mech.replace" "$D/sig.plain" ||
        fail "$mech over replace.pretty.xml differs from $plain over replace.c14n" \
            "$mech: $(hexof "$D/sig.$mech.replace" | head -c 64)..." "$plain: $(hexof "$D/sig.plain" | head -c 64)..."
done

# ------------------------------------------------------------------ tampering
step "a well-formed content change: CKR_SIGNATURE_INVALID for every mechanism"
P=$V/replace.pretty.xml
sed 's/apn\.operator\.example/apn.attacker.example/' "$P" >"$D/t-value.xml"
sed 's/<Data>  two  spaces  <\/Data>/<Data> two  spaces  <\/Data>/' "$P" >"$D/t-blank.xml"
sed 's/<Status>/<Status id="1">/' "$P" >"$D/t-attr.xml"
sed 's/<CmdID>4<\/CmdID>/<CmdID>6<\/CmdID>/' "$P" >"$D/t-cmdid.xml"
sed '/<Final\/>/d' "$P" >"$D/t-final.xml"
# In the WBXML form: one byte of the text of a Data (an OPAQUE, same length).
perl -0777 -pe 's/apn\.operator\.example/apn.operatox.example/' "$V/replace.wbxml" >"$D/t-string.wbxml"
TAMPERED="t-value.xml t-blank.xml t-attr.xml t-cmdid.xml t-final.xml t-string.wbxml"
for t in $TAMPERED; do
    if cmp -s "$D/$t" "$P" || cmp -s "$D/$t" "$V/replace.wbxml"; then
        fail "tampered input $t was not changed (the vector changed?)"
    fi
    # Still a well-formed DM message: it has a canonical form of its own.
    dm_digest "$D/$t"
    [ "$DIGEST" != "$(file_sha "$V/replace.c14n")" ] || fail "tampered input $t canonicalises to replace.c14n"
done
for spec in $SIGS; do
    mech=${spec%%:*}
    id=${spec#*:}
    for t in $TAMPERED; do
        verify_bad "$id" "$mech" "$D/$t" "$D/sig.$mech.replace" "replace signed, $t given"
    done
done

# ------------------------------------------------------------------ malformed
step "malformed or refused input: CKR_DATA_INVALID; the token stays usable"
head -c 1000 "$P" >"$D/m-trunc.xml"
head -c 200 "$V/replace.wbxml" >"$D/m-trunc.wbxml"
cat >"$D/m-xxe.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE SyncML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>https://dm.example/</LocURI></Source></SyncHdr><SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>&xxe;</Data></Status><Final/></SyncBody></SyncML>
EOF
cat >"$D/m-lol.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE SyncML [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Status><CmdID>1</CmdID><Data>&c;</Data></Status><Final/></SyncBody></SyncML>
EOF
# An internal subset that declares only an element (no entity) is refused too.
sed '2s/.*/<!DOCTYPE SyncML [<!ELEMENT SyncML ANY>]>/' "$P" >"$D/m-subset.xml"
printf '<Foo xmlns="SYNCML:SYNCML1.2"><Bar/></Foo>' >"$D/m-root.xml"
sed 's/AP8LMFV6/AP8L*FV6/' "$V/binary.xml" >"$D/m-b64.xml"
MALFORMED="m-trunc.xml m-trunc.wbxml m-xxe.xml m-lol.xml m-subset.xml m-root.xml m-b64.xml"
cmp -s "$D/m-b64.xml" "$V/binary.xml" && fail "m-b64.xml: the base64 text to spoil is not in binary.xml"
cmp -s "$D/m-subset.xml" "$P" && fail "m-subset.xml: the DOCTYPE line to replace is not in replace.pretty.xml"
for m in $MALFORMED; do
    expect_fail CKR_DATA_INVALID "CKM_DMSC_SHA256 of $m" "${T[@]}" --hash -m "$M_DIGEST" -i "$D/$m" -o "$D/digest"
    sign_fails CKR_DATA_INVALID 01 "$M_RSA" "$D/$m"
    verify_fails CKR_DATA_INVALID 01 "$M_RSA" "$D/$m" "$D/sig.$M_RSA.replace"
done
for spec in $SIGS; do
    for m in m-xxe.xml m-trunc.wbxml; do
        sign_fails CKR_DATA_INVALID "${spec#*:}" "${spec%%:*}" "$D/$m"
        verify_fails CKR_DATA_INVALID "${spec#*:}" "${spec%%:*}" "$D/$m" "$D/sig.${spec%%:*}.replace"
    done
done
expect_flags app1 "after the refused messages" -"user PIN count low" -"user PIN locked" -"final user PIN try"
sign_ok 01 "$M_RSA" "$V/replace.wbxml" "$D/sig.after"
cmp -s "$D/sig.after" "$D/sig.$M_RSA.replace" ||
    fail "after the refused messages, $M_RSA over replace.wbxml gives another signature than before"
verify_ok 02 "$M_ECDSA256" "$V/replace.comment.xml" "$D/sig.$M_ECDSA256.replace"

# ------------------------------------------------------------------ opaque
step "opaque input (a 100 MiB firmware package) is its own canonical form, streamed"
# A magic that is neither '<', blank, a BOM nor a WBXML header: always opaque.
{ printf 'DMFW\001\000'; head -c $((100 * 1024 * 1024)) /dev/urandom; } >"$D/fw.bin"
fw_sha=$(file_sha "$D/fw.bin")
dm_digest "$D/fw.bin"
[ "$DIGEST" = "$fw_sha" ] || fail "CKM_DMSC_SHA256 of a 100 MiB opaque file: expected its sha256sum" \
    "sha256sum: $fw_sha" "token:     $DIGEST"
for spec in "$M_RSA:01" "$M_PSS:01" "$M_ECDSA256:02" "$M_ECDSA384:03" "$M_HMAC:05"; do
    mech=${spec%%:*}
    id=${spec#*:}
    sign_ok "$id" "$mech" "$D/fw.bin" "$D/sig.fw"
    ossl_verify "$mech" "$D/sig.fw" "$D/fw.bin"
    verify_ok "$id" "$mech" "$D/fw.bin" "$D/sig.fw"
    if [ "$mech" = "$M_RSA" ]; then cp "$D/sig.fw" "$D/sig.fw.rsa"; fi
done
sign_ok 01 SHA256-RSA-PKCS "$D/fw.bin" "$D/sig.plain"
cmp -s "$D/sig.fw.rsa" "$D/sig.plain" ||
    fail "$M_RSA over an opaque file differs from SHA256-RSA-PKCS over the same file"
rm -f "$D/fw.bin"
# CKM_DMSC_EDDSA holds its whole input (pure Ed25519 reads the message
# twice) and the module takes at most 64 MiB of it, unlike the streaming
# mechanisms: a smaller package for all. A changed bit anywhere is a bad
# signature for every mechanism.
{ printf 'DMFW\001\000'; head -c $((1024 * 1024)) /dev/urandom; } >"$D/fw1.bin"
flip_bit "$D/fw1.bin" "$D/fw1.bad"
for spec in $SIGS; do
    mech=${spec%%:*}
    id=${spec#*:}
    sign_ok "$id" "$mech" "$D/fw1.bin" "$D/sig.fw1"
    ossl_verify "$mech" "$D/sig.fw1" "$D/fw1.bin"
    verify_ok "$id" "$mech" "$D/fw1.bin" "$D/sig.fw1"
    verify_bad "$id" "$mech" "$D/fw1.bad" "$D/sig.fw1" "an opaque file with one bit flipped"
done

# ------------------------------------------------------------------ 16 MiB
step "XML messages of CKD_DMSC_DM_MAX_MESSAGE bytes (taken) and one byte more (CKR_DATA_LEN_RANGE)"
# replace.c14n with a longer <Data>: its own canonical form, so the digest
# of the whole message is its sha256sum and openssl verifies over it.
c14n=$(cat "$V/replace.c14n")
pre=${c14n%%apn.operator.example*}apn.operator.example
post=${c14n#*apn.operator.example}
if [ "$pre$post" != "$c14n" ] || [ "$post" = "$c14n" ]; then
    fail "replace.c14n has no 'apn.operator.example' to pad"
fi
# big_xml SIZE OUT: that message, SIZE bytes long.
big_xml() {
    local pl ql
    pl=$(printf '%s' "$pre" | wc -c)
    ql=$(printf '%s' "$post" | wc -c)
    { printf '%s' "$pre"; head -c $(($1 - pl - ql)) /dev/zero | tr '\0' x; printf '%s' "$post"; } >"$2"
    [ "$(wc -c <"$2")" -eq "$1" ] || fail "could not make a message of $1 bytes"
}
big_xml "$MAX_MESSAGE" "$D/max.xml"
dm_digest "$D/max.xml"
[ "$DIGEST" = "$(file_sha "$D/max.xml")" ] ||
    fail "CKM_DMSC_SHA256 of a canonical XML message of exactly 16 MiB: expected its sha256sum"
sign_ok 01 "$M_RSA" "$D/max.xml" "$D/sig.max"
ossl_verify "$M_RSA" "$D/sig.max" "$D/max.xml"
big_xml $((MAX_MESSAGE + 1)) "$D/over.xml"
expect_fail CKR_DATA_LEN_RANGE "CKM_DMSC_SHA256 of an XML message of 16 MiB + 1 byte" \
    "${T[@]}" --hash -m "$M_DIGEST" -i "$D/over.xml" -o "$D/digest"
for spec in "$M_RSA:01" "$M_HMAC:05"; do
    sign_fails CKR_DATA_LEN_RANGE "${spec#*:}" "${spec%%:*}" "$D/over.xml"
    verify_fails CKR_DATA_LEN_RANGE "${spec#*:}" "${spec%%:*}" "$D/over.xml" "$D/sig.max"
done
rm -f "$D/max.xml" "$D/over.xml"

say "PASS"
