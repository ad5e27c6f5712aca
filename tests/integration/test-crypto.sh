#!/bin/bash
# The module's crypto through pkcs11-tool, checked against the openssl CLI:
#  - key pair generation: RSA 2048/3072/4096, EC P-256/P-384/P-521,
#    Ed25519; generated private keys show "sensitive, always sensitive,
#    never extractable, local"
#  - every signature mechanism: sign on the token, verify on the token,
#    verify with openssl using the public key read from the token; a
#    signature with one bit flipped is refused (CKR_SIGNATURE_INVALID)
#  - the reverse: keys made by openssl and imported; openssl's signatures
#    verify on the token; imported keys are not "local"
#  - HMAC (all five) against openssl, digests against openssl
#  - RSA-PKCS and RSA-OAEP decryption of openssl's ciphertexts; AES-CBC-PAD
#    both ways
#  - private and sensitive values cannot be read
#  - pkcs11-tool --test (with and without --allow-sw), --test-ec,
#    --test-fork
#  - AES-KEY-WRAP-PAD wrap/unwrap against openssl (id-aes256-wrap-pad)
# What pkcs11-tool 0.23 cannot express (generic secret import with known
# bytes, AES-GCM, OAEP labels on --decrypt, OAEP parameters on --wrap,
# multi-part calls, CKA_ALWAYS_AUTHENTICATE rules, Ed25519 import, the
# operation-state rules) is in test-crypto-rules.sh (p11-crypto-driver).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crypto-lib.sh
. "$(dirname "$0")/crypto-lib.sh"

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

# ------------------------------------------------------------------ helpers

# sign_ok ID MECH IN OUT [ARGS...]: pkcs11-tool signs IN with key ID.
sign_ok() {
    local id=$1 mech=$2 in=$3 out=$4
    shift 4
    rm -f "$out"
    p11_ok "sign with $mech, key $id" "${L[@]}" --sign -m "$mech" --id "$id" -i "$in" -o "$out" "$@"
    [ -s "$out" ] || fail "sign with $mech, key $id: pkcs11-tool wrote no signature" "output:" "$(indent <<<"$OUT")"
}

# verify_ok ID MECH IN SIG [ARGS...]: the token accepts the signature.
verify_ok() {
    local id=$1 mech=$2 in=$3 sig=$4
    shift 4
    p11_ok "verify $mech on the token, key $id" "${L[@]}" --verify -m "$mech" --id "$id" -i "$in" \
        --signature-file "$sig" "$@"
    out_has "Signature is valid" "verify $mech on the token, key $id"
}

# verify_bad ID MECH IN SIG [ARGS...]: the token refuses the signature.
# pkcs11-tool 0.23 prints "Invalid signature" for CKR_SIGNATURE_INVALID
# (and only for it: any other error aborts with the CKR name) and exits 0.
verify_bad() {
    local id=$1 mech=$2 in=$3 sig=$4
    shift 4
    run_p11 "${L[@]}" --verify -m "$mech" --id "$id" -i "$in" --signature-file "$sig" "$@"
    if [ "$RC" -ge 124 ] || ! grep -qF "Invalid signature" <<<"$OUT" || grep -qF "Signature is valid" <<<"$OUT"; then
        fail "verify $mech on the token with one bit flipped, key $id: expected CKR_SIGNATURE_INVALID ('Invalid signature'), got exit $RC ($(ckr_in_out))" \
            "command: pkcs11-tool --module \$DMSC_MODULE ${L[*]} --verify -m $mech --id $id -i $in --signature-file $sig $*" \
            "output:" "$(indent <<<"$OUT")"
    fi
}

# gen_pair ID LABEL KEYTYPE: generate a key pair on the token; the
# private key must be sensitive, always sensitive, never extractable and
# local, the public key local.
gen_pair() {
    local id=$1 label=$2 kt=$3 priv pub
    p11_ok "generate $kt key pair '$label'" "${L[@]}" --keypairgen --key-type "$kt" --id "$id" --label "$label"
    priv=$(awk '/^Private Key Object/ { p = 1 } /^Public Key Object/ { p = 0 } p && /Access:/' <<<"$OUT")
    pub=$(awk '/^Public Key Object/ { p = 1 } /^Private Key Object/ { p = 0 } p && /Access:/' <<<"$OUT")
    [ "$priv" = "  Access:     sensitive, always sensitive, never extractable, local" ] ||
        fail "generated $kt private key '$label': expected 'Access:     sensitive, always sensitive, never extractable, local'" \
            "got: '$priv'" "output:" "$(indent <<<"$OUT")"
    [ "$pub" = "  Access:     local" ] ||
        fail "generated $kt public key '$label': expected 'Access:     local'" "got: '$pub'" "output:" "$(indent <<<"$OUT")"
}

# access_of CLASS LABEL: sets ACCESS to the "Access:" value -O shows for
# the object of that class ("Private Key Object", ...) and label (OUT
# keeps the listing).
ACCESS=
access_of() {
    p11_ok "list objects (-O)" "${L[@]}" -O
    ACCESS=$(awk -v cls="$1" -v want="$2" '
        /^[A-Z][a-z]+ (Key )?[Oo]bject/ { inb = (index($0, cls) == 1); lab = "" }
        inb && /^  label: / { lab = $0; sub(/^  label: +/, "", lab) }
        inb && /^  Access: / && lab == want { a = $0; sub(/^  Access: +/, "", a); print a }' <<<"$OUT")
}

pub_text() { openssl pkey -pubin -in "$1" -noout -text 2>&1; }

head -c 1000 /dev/urandom >"$D/data"
head -c 100 /dev/urandom >"$D/msg"

# ------------------------------------------------------------------ key pairs
step "generate key pairs: RSA 2048/3072/4096, EC P-256/P-384/P-521, Ed25519"
gen_pair 01 rsa2048 rsa:2048
gen_pair 02 p256 EC:prime256v1
gen_pair 03 p384 EC:secp384r1
gen_pair 04 p521 EC:secp521r1
gen_pair 05 ed25519 EC:edwards25519
gen_pair 06 rsa3072 rsa:3072
gen_pair 07 rsa4096 rsa:4096

step "public keys read from the token"
read_pub 01 "$D/pub01.pem"
read_pub 05 "$D/pub05.pem"
read_pub 06 "$D/pub06.pem"
read_pub 07 "$D/pub07.pem"
# pkcs11-tool 0.23 cannot --read-object a P-384 public key ("cannot create
# EVP_PKEY", SoftHSM too): build the EC SubjectPublicKeyInfos from
# CKA_EC_POINT, and check them against --read-object where it works.
ec_spki 02 prime256v1 "$D/pub02.pem"
ec_spki 03 secp384r1 "$D/pub03.pem"
ec_spki 04 secp521r1 "$D/pub04.pem"
for id in 02 04; do
    read_pub "$id" "$D/pub$id.read.pem"
    cmp -s "$D/pub$id.pem" "$D/pub$id.read.pem" ||
        fail "EC public key $id: --read-object and CKA_EC_POINT give different keys" \
            "from CKA_EC_POINT:" "$(indent <"$D/pub$id.pem")" "--read-object:" "$(indent <"$D/pub$id.read.pem")"
done
for spec in "01:Public-Key: (2048 bit)" "06:Public-Key: (3072 bit)" "07:Public-Key: (4096 bit)" \
    "02:NIST CURVE: P-256" "03:NIST CURVE: P-384" "04:NIST CURVE: P-521" "05:ED25519 Public-Key:"; do
    id=${spec%%:*}
    txt=$(pub_text "$D/pub$id.pem")
    grep -qF -- "${spec#*:}" <<<"$txt" ||
        fail "public key $id: expected '${spec#*:}'" "openssl says:" "$(indent <<<"$txt")"
done

# ------------------------------------------------------------------ RSA signatures
step "RSA signatures: SHA*-RSA-PKCS, SHA*-RSA-PKCS-PSS, RSA-PKCS, RSA-PKCS-PSS (key 01, RSA-2048)"
for h in 1 224 256 384 512; do
    md=sha$h
    hlen=$((h / 8))
    if [ "$h" = 1 ]; then hlen=20; fi
    mech=SHA$h-RSA-PKCS
    sign_ok 01 "$mech" "$D/data" "$D/sig"
    verify_ok 01 "$mech" "$D/data" "$D/sig"
    ossl_ok "openssl verifies $mech" openssl dgst -"$md" -verify "$D/pub01.pem" -signature "$D/sig" "$D/data"
    flip_bit "$D/sig" "$D/sig.bad"
    verify_bad 01 "$mech" "$D/data" "$D/sig.bad"

    mech=SHA$h-RSA-PKCS-PSS
    sign_ok 01 "$mech" "$D/data" "$D/sig"
    out_has "salt_len=$hlen B" "$mech (pkcs11-tool's default salt is the hash length)"
    verify_ok 01 "$mech" "$D/data" "$D/sig"
    openssl dgst -"$md" -binary "$D/data" >"$D/hash"
    ossl_ok "openssl verifies $mech (salt $hlen)" openssl pkeyutl -verify -pubin -inkey "$D/pub01.pem" -in "$D/hash" \
        -sigfile "$D/sig" -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:"$hlen" -pkeyopt digest:"$md"
    flip_bit "$D/sig" "$D/sig.bad"
    verify_bad 01 "$mech" "$D/data" "$D/sig.bad"
done

sign_ok 01 SHA256-RSA-PKCS-PSS "$D/data" "$D/sig" --salt-len 0
ossl_ok "openssl verifies SHA256-RSA-PKCS-PSS with salt 0" openssl pkeyutl -verify -pubin -inkey "$D/pub01.pem" \
    -in <(openssl dgst -sha256 -binary "$D/data") -sigfile "$D/sig" \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:0 -pkeyopt digest:sha256
verify_ok 01 SHA256-RSA-PKCS-PSS "$D/data" "$D/sig" --salt-len 0

# RSA-PKCS over a DigestInfo(SHA-256) is a SHA256-RSA-PKCS signature.
{
    xxd -r -p <<<3031300d060960864801650304020105000420
    openssl dgst -sha256 -binary "$D/data"
} >"$D/digestinfo"
sign_ok 01 RSA-PKCS "$D/digestinfo" "$D/sig"
verify_ok 01 RSA-PKCS "$D/digestinfo" "$D/sig"
ossl_ok "openssl verifies RSA-PKCS over a DigestInfo as SHA-256 with RSA" \
    openssl dgst -sha256 -verify "$D/pub01.pem" -signature "$D/sig" "$D/data"
flip_bit "$D/sig" "$D/sig.bad"
verify_bad 01 RSA-PKCS "$D/digestinfo" "$D/sig.bad"

openssl dgst -sha256 -binary "$D/data" >"$D/hash"
sign_ok 01 RSA-PKCS-PSS "$D/hash" "$D/sig" --hash-algorithm SHA256 --mgf MGF1-SHA256
verify_ok 01 RSA-PKCS-PSS "$D/hash" "$D/sig" --hash-algorithm SHA256 --mgf MGF1-SHA256
ossl_ok "openssl verifies RSA-PKCS-PSS over a SHA-256 hash" openssl pkeyutl -verify -pubin -inkey "$D/pub01.pem" \
    -in "$D/hash" -sigfile "$D/sig" -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -pkeyopt digest:sha256
flip_bit "$D/sig" "$D/sig.bad"
verify_bad 01 RSA-PKCS-PSS "$D/hash" "$D/sig.bad" --hash-algorithm SHA256 --mgf MGF1-SHA256

step "RSA-3072 and RSA-4096 sign"
for id in 06 07; do
    sign_ok "$id" SHA256-RSA-PKCS "$D/data" "$D/sig"
    ossl_ok "openssl verifies SHA256-RSA-PKCS of key $id" openssl dgst -sha256 -verify "$D/pub$id.pem" \
        -signature "$D/sig" "$D/data"
    verify_ok "$id" SHA256-RSA-PKCS "$D/data" "$D/sig"
done
sign_ok 07 SHA512-RSA-PKCS-PSS "$D/data" "$D/sig"
ossl_ok "openssl verifies SHA512-RSA-PKCS-PSS of RSA-4096" openssl pkeyutl -verify -pubin -inkey "$D/pub07.pem" \
    -in <(openssl dgst -sha512 -binary "$D/data") -sigfile "$D/sig" \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:64 -pkeyopt digest:sha512

# ------------------------------------------------------------------ ECDSA
# PKCS#11 ECDSA signatures are r||s; --signature-format openssl converts
# them to the DER the openssl CLI wants.
step "ECDSA signatures: ECDSA-SHA1..512 on P-256, ECDSA-SHA384 on P-384, ECDSA-SHA512 on P-521, raw ECDSA"
for spec in 02:1 02:224 02:256 02:384 02:512 03:384 04:512; do
    id=${spec%%:*}
    h=${spec#*:}
    mech=ECDSA-SHA$h
    sign_ok "$id" "$mech" "$D/data" "$D/sig" --signature-format openssl
    ossl_ok "openssl verifies $mech of key $id" openssl dgst -sha"$h" -verify "$D/pub$id.pem" -signature "$D/sig" "$D/data"
    verify_ok "$id" "$mech" "$D/data" "$D/sig" --signature-format openssl
    sign_ok "$id" "$mech" "$D/data" "$D/sig.rs"
    verify_ok "$id" "$mech" "$D/data" "$D/sig.rs"
    flip_bit "$D/sig.rs" "$D/sig.bad"
    verify_bad "$id" "$mech" "$D/data" "$D/sig.bad"
done
for spec in 02:256:64 03:384:96 04:512:132; do
    IFS=: read -r id h len <<<"$spec"
    sign_ok "$id" ECDSA-SHA"$h" "$D/data" "$D/sig.rs"
    [ "$(wc -c <"$D/sig.rs")" -eq "$len" ] ||
        fail "ECDSA signature of key $id: expected r||s of $len bytes, got $(wc -c <"$D/sig.rs")"
    openssl dgst -sha"$h" -binary "$D/data" >"$D/hash"
    sign_ok "$id" ECDSA "$D/hash" "$D/sig" --signature-format openssl
    ossl_ok "openssl verifies raw ECDSA over a SHA-$h hash, key $id" \
        openssl pkeyutl -verify -pubin -inkey "$D/pub$id.pem" -in "$D/hash" -sigfile "$D/sig"
    verify_ok "$id" ECDSA "$D/hash" "$D/sig" --signature-format openssl
done

step "EdDSA (Ed25519)"
sign_ok 05 EDDSA "$D/data" "$D/sig"
[ "$(wc -c <"$D/sig")" -eq 64 ] || fail "Ed25519 signature: expected 64 bytes, got $(wc -c <"$D/sig")"
ossl_ok "openssl verifies EDDSA" openssl pkeyutl -verify -pubin -inkey "$D/pub05.pem" -rawin -in "$D/data" -sigfile "$D/sig"
verify_ok 05 EDDSA "$D/data" "$D/sig"
flip_bit "$D/sig" "$D/sig.bad"
verify_bad 05 EDDSA "$D/data" "$D/sig.bad"

# ------------------------------------------------------------------ openssl -> token
step "keys made by openssl, imported: openssl's signatures verify on the token"
ossl_ok "openssl makes an RSA key" openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/ork.pem"
openssl pkey -in "$D/ork.pem" -outform DER -out "$D/ork.der"
openssl pkey -in "$D/ork.pem" -pubout -out "$D/ork.pub.pem"
openssl pkey -in "$D/ork.pem" -pubout -outform DER -out "$D/ork.pub.der"
p11_ok "import the RSA private key" "${L[@]}" --write-object "$D/ork.der" --type privkey --id 10 --label osslrsa --usage-sign
p11_ok "import the RSA public key" "${L[@]}" --write-object "$D/ork.pub.der" --type pubkey --id 10 --label osslrsa --usage-sign
ossl_ok "openssl signs SHA-256 with RSA" openssl dgst -sha256 -sign "$D/ork.pem" -out "$D/osig" "$D/data"
verify_ok 10 SHA256-RSA-PKCS "$D/data" "$D/osig"
flip_bit "$D/osig" "$D/osig.bad"
verify_bad 10 SHA256-RSA-PKCS "$D/data" "$D/osig.bad"
openssl dgst -sha256 -binary "$D/data" >"$D/hash"
ossl_ok "openssl signs RSA-PSS (SHA-256, salt 32)" openssl pkeyutl -sign -inkey "$D/ork.pem" -in "$D/hash" \
    -out "$D/osig" -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -pkeyopt digest:sha256
verify_ok 10 SHA256-RSA-PKCS-PSS "$D/data" "$D/osig"
sign_ok 10 SHA384-RSA-PKCS "$D/data" "$D/sig"
ossl_ok "openssl verifies the imported key's signature with its own key" \
    openssl dgst -sha384 -verify "$D/ork.pub.pem" -signature "$D/sig" "$D/data"

for spec in 11:P-256:256:oec256 12:P-384:384:oec384; do
    IFS=: read -r id curve h label <<<"$spec"
    ossl_ok "openssl makes an EC $curve key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$curve" \
        -out "$D/$label.pem"
    openssl pkey -in "$D/$label.pem" -outform DER -out "$D/$label.der"
    openssl pkey -in "$D/$label.pem" -pubout -out "$D/$label.pub.pem"
    openssl pkey -in "$D/$label.pem" -pubout -outform DER -out "$D/$label.pub.der"
    # Different labels: the p11-driver below finds the private key by label.
    p11_ok "import the EC $curve private key" "${L[@]}" --write-object "$D/$label.der" --type privkey --id "$id" --label "$label"
    p11_ok "import the EC $curve public key" "${L[@]}" --write-object "$D/$label.pub.der" --type pubkey --id "$id" \
        --label "$label-pub"
    ossl_ok "openssl signs ECDSA-SHA$h" openssl dgst -sha"$h" -sign "$D/$label.pem" -out "$D/osig" "$D/data"
    verify_ok "$id" ECDSA-SHA"$h" "$D/data" "$D/osig" --signature-format openssl
    sign_ok "$id" ECDSA-SHA"$h" "$D/data" "$D/sig.rs"
    flip_bit "$D/sig.rs" "$D/sig.bad"
    verify_bad "$id" ECDSA-SHA"$h" "$D/data" "$D/sig.bad"
    sign_ok "$id" ECDSA-SHA"$h" "$D/data" "$D/sig" --signature-format openssl
    ossl_ok "openssl verifies the imported $curve key's signature with its own key" \
        openssl dgst -sha"$h" -verify "$D/$label.pub.pem" -signature "$D/sig" "$D/data"
done
# (pkcs11-tool 0.23 cannot import Ed25519 keys: "Unsupported key type:
# 0x43F"; p11-crypto-driver does that.)

# ------------------------------------------------------------------ attributes
step "key attributes: generated vs imported; private values unreadable"
for label in rsa2048 p256 p384 p521 ed25519 rsa3072 rsa4096; do
    access_of "Private Key Object" "$label"
    [ "$ACCESS" = "sensitive, always sensitive, never extractable, local" ] ||
        fail "-O, private key '$label': expected 'Access:     sensitive, always sensitive, never extractable, local', got '$ACCESS'" \
            "output:" "$(indent <<<"$OUT")"
done
for label in osslrsa oec256 oec384; do
    access_of "Private Key Object" "$label"
    [ "$ACCESS" = "sensitive" ] ||
        fail "-O, imported private key '$label': expected 'Access:     sensitive' (not local, not always sensitive, not never extractable), got '$ACCESS'" \
            "output:" "$(indent <<<"$OUT")"
done
# pkcs11-tool 0.23 does not read private keys ("reading private keys not
# (yet) supported"): ask for CKA_VALUE of an EC private key directly.
drv_batch init "open app1" "login $PIN" "getattr oec256 value" quit
mapfile -t r <<<"$BATCH_OUT"
[[ ${r[3]} == "err CKR_ATTRIBUTE_SENSITIVE "* ]] ||
    fail "C_GetAttributeValue(CKA_VALUE) of an imported EC private key: expected CKR_ATTRIBUTE_SENSITIVE, got '${r[3]}'"
p11_ok "generate a sensitive AES key" "${L[@]}" --keygen --key-type AES:32 --id 33 --label aes-sens --sensitive
out_has "Access:     sensitive, always sensitive, never extractable, local" "generated sensitive AES key"
expect_fail CKR_ATTRIBUTE_SENSITIVE "read the value of a sensitive AES key" \
    "${L[@]}" --read-object --type secrkey --id 33 -o "$D/out.bin"

# ------------------------------------------------------------------ HMAC
# pkcs11-tool 0.23 cannot write generic secret keys ("Unknown key type:
# 0x10"), so the known-bytes HMAC key (RFC 4231) is in p11-crypto-driver;
# here: an extractable generated key, read back for openssl.
step "HMAC: MD5, SHA-1, SHA256, SHA384, SHA512 against openssl"
p11_ok "generate a 32-byte generic secret" "${L[@]}" --keygen --key-type GENERIC:32 --id 20 --label hmac --extractable
rm -f "$D/hkey"
p11_ok "read the HMAC key" "${L[@]}" --read-object --type secrkey --id 20 -o "$D/hkey"
[ "$(wc -c <"$D/hkey")" -eq 32 ] || fail "HMAC key read back: expected 32 bytes, got $(wc -c <"$D/hkey")"
hkey=$(hexof "$D/hkey")
for spec in MD5-HMAC:md5 SHA-1-HMAC:sha1 SHA256-HMAC:sha256 SHA384-HMAC:sha384 SHA512-HMAC:sha512; do
    mech=${spec%%:*}
    md=${spec#*:}
    sign_ok 20 "$mech" "$D/data" "$D/mac"
    want=$(openssl dgst -"$md" -mac HMAC -macopt hexkey:"$hkey" -binary "$D/data" | xxd -p | tr -d '\n')
    [ "$(hexof "$D/mac")" = "$want" ] || fail "$mech differs from openssl's HMAC" \
        "openssl: $want" "token:   $(hexof "$D/mac")"
    verify_ok 20 "$mech" "$D/data" "$D/mac"
    flip_bit "$D/mac" "$D/mac.bad"
    verify_bad 20 "$mech" "$D/data" "$D/mac.bad"
done

# ------------------------------------------------------------------ digests
step "digests: MD5, SHA-1, SHA224, SHA256, SHA384, SHA512 against openssl"
for spec in MD5:md5 SHA-1:sha1 SHA224:sha224 SHA256:sha256 SHA384:sha384 SHA512:sha512; do
    rm -f "$D/digest"
    p11_ok "hash ${spec%%:*}" "${T[@]}" --hash -m "${spec%%:*}" -i "$D/data" -o "$D/digest"
    want=$(openssl dgst -"${spec#*:}" -binary "$D/data" | xxd -p | tr -d '\n')
    [ "$(hexof "$D/digest")" = "$want" ] || fail "${spec%%:*} digest differs from openssl's" \
        "openssl: $want" "token:   $(hexof "$D/digest")"
done

# ------------------------------------------------------------------ encryption
step "RSA decryption of openssl's ciphertexts: RSA-PKCS, RSA-PKCS-OAEP (SHA-1, SHA256, SHA384, SHA512)"
ossl_ok "openssl encrypts RSA-PKCS" openssl pkeyutl -encrypt -pubin -inkey "$D/pub01.pem" -in "$D/msg" -out "$D/ct" \
    -pkeyopt rsa_padding_mode:pkcs1
rm -f "$D/pt"
p11_ok "decrypt RSA-PKCS" "${L[@]}" --decrypt -m RSA-PKCS --id 01 -i "$D/ct" -o "$D/pt"
cmp -s "$D/msg" "$D/pt" || fail "RSA-PKCS decryption gave other bytes than openssl encrypted"
for spec in SHA-1:sha1:SHA1 SHA256:sha256:SHA256 SHA384:sha384:SHA384 SHA512:sha512:SHA512; do
    IFS=: read -r h md mgf <<<"$spec"
    ossl_ok "openssl encrypts RSA-OAEP $h" openssl pkeyutl -encrypt -pubin -inkey "$D/pub01.pem" -in "$D/msg" \
        -out "$D/ct" -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:"$md" -pkeyopt rsa_mgf1_md:"$md"
    rm -f "$D/pt"
    p11_ok "decrypt RSA-PKCS-OAEP $h" "${L[@]}" --decrypt -m RSA-PKCS-OAEP --hash-algorithm "$h" --mgf MGF1-"$mgf" \
        --id 01 -i "$D/ct" -o "$D/pt"
    cmp -s "$D/msg" "$D/pt" || fail "RSA-OAEP $h decryption gave other bytes than openssl encrypted"
done
# The last ciphertext is OAEP SHA-512: with SHA-1 parameters it is invalid.
expect_fail CKR_ENCRYPTED_DATA_INVALID "decrypt an OAEP SHA-512 ciphertext with OAEP SHA-1 parameters" \
    "${L[@]}" --decrypt -m RSA-PKCS-OAEP --hash-algorithm SHA-1 --mgf MGF1-SHA1 --id 01 -i "$D/ct" -o "$D/pt"
# (pkcs11-tool 0.23 has no option for an OAEP label: --test below decrypts
# with one, and p11-crypto-driver checks labels against openssl.)

step "AES-CBC-PAD both ways with openssl"
head -c 32 /dev/urandom >"$D/aes.key"
akey=$(hexof "$D/aes.key")
iv=000102030405060708090a0b0c0d0e0f
p11_ok "import a known AES-256 key" "${L[@]}" --write-object "$D/aes.key" --type secrkey --key-type AES:32 \
    --id 30 --label aes --usage-decrypt
for n in 1 16 1000; do
    head -c "$n" "$D/data" >"$D/pt.in"
    rm -f "$D/ct"
    p11_ok "AES-CBC-PAD encrypt $n bytes" "${L[@]}" --encrypt -m AES-CBC-PAD --id 30 --iv "$iv" -i "$D/pt.in" -o "$D/ct"
    want=$(openssl enc -aes-256-cbc -K "$akey" -iv "$iv" -in "$D/pt.in" | xxd -p | tr -d '\n')
    [ "$(hexof "$D/ct")" = "$want" ] || fail "AES-CBC-PAD of $n bytes differs from openssl enc -aes-256-cbc" \
        "openssl: $want" "token:   $(hexof "$D/ct")"
    openssl enc -aes-256-cbc -K "$akey" -iv "$iv" -in "$D/pt.in" -out "$D/ct.ossl"
    rm -f "$D/pt"
    p11_ok "AES-CBC-PAD decrypt openssl's $n bytes" "${L[@]}" --decrypt -m AES-CBC-PAD --id 30 --iv "$iv" \
        -i "$D/ct.ossl" -o "$D/pt"
    cmp -s "$D/pt.in" "$D/pt" || fail "AES-CBC-PAD decryption of openssl's ciphertext ($n bytes) differs"
done
# (AES-GCM: pkcs11-tool 0.23 refuses it itself, "Mechanism AES-GCM
# illegal or not supported"; p11-crypto-driver checks it against openssl.)

step "CKA_ALWAYS_AUTHENTICATE: pkcs11-tool logs in context-specific before each use"
p11_ok "generate an RSA key pair with --always-auth" "${L[@]}" --keypairgen --key-type rsa:2048 --id 08 \
    --label authkey --always-auth
out_has "Access:     always authenticate, sensitive, always sensitive, never extractable, local" "--always-auth key"
read_pub 08 "$D/pub08.pem"
sign_ok 08 SHA256-RSA-PKCS "$D/data" "$D/sig"
ossl_ok "openssl verifies the always-authenticate key's signature" openssl dgst -sha256 -verify "$D/pub08.pem" \
    -signature "$D/sig" "$D/data"
openssl pkeyutl -encrypt -pubin -inkey "$D/pub08.pem" -in "$D/msg" -out "$D/ct" -pkeyopt rsa_padding_mode:pkcs1
rm -f "$D/pt"
p11_ok "decrypt with the always-authenticate key" "${L[@]}" --decrypt -m RSA-PKCS --id 08 -i "$D/ct" -o "$D/pt"
cmp -s "$D/msg" "$D/pt" || fail "decryption with the always-authenticate key differs"

# ------------------------------------------------------------------ self tests
step "pkcs11-tool --test"
# Without --allow-sw pkcs11-tool's --test picks only CKF_HW mechanisms for
# its signature section, and the module (software, on OpenSSL) claims
# none: it prints "Signatures: not implemented" (a pkcs11-tool quirk, not
# a module gap). It still tests digests, verification and decryption
# (RSA-OAEP with and without a label). --allow-sw runs the signatures too.
p11_ok "pkcs11-tool --test" "${L[@]}" --test
out_has "No errors" "pkcs11-tool --test"
out_has "Signatures: not implemented" "pkcs11-tool --test (the module claims no CKF_HW mechanism)"
out_has "encoding parameter (Label) present" "pkcs11-tool --test decrypts RSA-OAEP with a label"
out_lacks "ERR" "pkcs11-tool --test"
p11_ok "pkcs11-tool --test --allow-sw" "${L[@]}" --test --allow-sw
out_has "No errors" "pkcs11-tool --test --allow-sw"
out_has "all 4 signature functions seem to work" "pkcs11-tool --test --allow-sw (signatures)"
out_lacks "ERR" "pkcs11-tool --test --allow-sw"

step "pkcs11-tool --test-ec"
# --test-ec generates a token key pair: it needs a R/W session.
p11_ok "pkcs11-tool --test-ec" "${L[@]}" --session-rw --test-ec --id 99 --key-type EC:prime256v1
out_has "==> OK" "pkcs11-tool --test-ec"
out_lacks "ERR" "pkcs11-tool --test-ec"

step "pkcs11-tool --test-fork"
p11_ok "pkcs11-tool --test-fork" "${L[@]}" --test-fork
out_has "Calling C_Initialize in forked child process" "pkcs11-tool --test-fork"
out_lacks "error" "pkcs11-tool --test-fork"

# ------------------------------------------------------------------ wrap
step "AES-KEY-WRAP-PAD (0x210A) with pkcs11-tool --wrap/--unwrap, against openssl id-aes256-wrap-pad"
head -c 32 /dev/urandom >"$D/kek.key"
head -c 32 /dev/urandom >"$D/target.key"
head -c 32 /dev/urandom >"$D/other.key"
kek=$(hexof "$D/kek.key")
p11_ok "import the wrapping key" "${L[@]}" --write-object "$D/kek.key" --type secrkey --key-type AES:32 \
    --id 40 --label kek --usage-wrap
p11_ok "import an extractable AES key" "${L[@]}" --write-object "$D/target.key" --type secrkey --key-type AES:32 \
    --id 41 --label target --extractable
rm -f "$D/wrapped"
p11_ok "wrap the AES key (AES-KEY-WRAP-PAD)" "${L[@]}" --wrap -m 0x210A --id 40 --application-id 41 -o "$D/wrapped"
want=$(openssl enc -id-aes256-wrap-pad -K "$kek" -iv A65959A6 -in "$D/target.key" | xxd -p | tr -d '\n')
[ "$(hexof "$D/wrapped")" = "$want" ] || fail "AES-KEY-WRAP-PAD differs from openssl enc -id-aes256-wrap-pad" \
    "openssl: $want" "token:   $(hexof "$D/wrapped")"
openssl enc -id-aes256-wrap-pad -K "$kek" -iv A65959A6 -in "$D/other.key" -out "$D/wrapped.ossl"
p11_ok "unwrap openssl's wrap" "${L[@]}" --unwrap -m 0x210A --id 40 -i "$D/wrapped.ossl" --key-type AES:32 \
    --application-id 42 --application-label unwrapped --extractable
rm -f "$D/out.key"
p11_ok "read the unwrapped key" "${L[@]}" --read-object --type secrkey --id 42 -o "$D/out.key"
cmp -s "$D/other.key" "$D/out.key" || fail "the unwrapped key differs from the key openssl wrapped" \
    "wrapped:   $(hexof "$D/other.key")" "unwrapped: $(hexof "$D/out.key")"
access_of "Secret Key Object" unwrapped
[ "$ACCESS" = "extractable" ] || fail "-O, unwrapped key: expected 'Access:     extractable' (not local), got '$ACCESS'" \
    "output:" "$(indent <<<"$OUT")"
expect_fail CKR_KEY_UNEXTRACTABLE "wrap a never-extractable key" \
    "${L[@]}" --wrap -m 0x210A --id 40 --application-id 33 -o "$D/wrapped2"
flip_bit "$D/wrapped.ossl" "$D/wrapped.bad"
expect_fail CKR_WRAPPED_KEY_INVALID "unwrap a wrap with one bit flipped" \
    "${L[@]}" --unwrap -m 0x210A --id 40 -i "$D/wrapped.bad" --key-type AES:32 --application-id 43 \
    --application-label bad --extractable

say "PASS"
