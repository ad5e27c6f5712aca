# shellcheck shell=bash
# Helpers of the crypto tests (test-crypto.sh, test-dm-mechanisms.sh, the
# interop tests):
# openssl as the independent reference for what the token computes.
# Source after lib.sh; the caller sets D (a scratch directory) and T (the
# pkcs11-tool arguments that select the token).

# ossl_ok WHAT ARGS...: an openssl command must succeed.
ossl_ok() {
    local what=$1
    shift
    if ! "$@" >"$D/ossl.out" 2>&1; then
        fail "$what: openssl refused it" "command: $*" "output:" "$(indent <"$D/ossl.out")"
    fi
}

# flip_bit IN OUT: OUT is IN with one bit (in its middle byte) flipped.
flip_bit() {
    local hx pos c
    hx=$(xxd -p "$1" | tr -d '\n')
    pos=$((${#hx} / 2))
    c=${hx:pos:1}
    hx="${hx:0:pos}$(printf '%x' $((16#$c ^ 1)))${hx:pos+1}"
    xxd -r -p <<<"$hx" >"$2"
}

# hexof FILE: the file's bytes in hex, one line.
hexof() { xxd -p "$1" | tr -d '\n'; }

# ec_point ID: sets POINT to the hex of the EC point (CKA_EC_POINT
# without its OCTET STRING header) of the public key with that ID, from -O.
POINT=
ec_point() {
    local hx
    p11_ok "list public keys (-O --type pubkey)" "${T[@]}" -O --type pubkey
    hx=$(awk -v want="$1" '/^Public Key Object/ { pt = "" }
        /^  EC_POINT: / { pt = $2 }
        /^  ID: / && $2 == want { print pt }' <<<"$OUT")
    [ -n "$hx" ] || fail "no EC_POINT shown for public key $1" "output:" "$(indent <<<"$OUT")"
    case $hx in
    04[0-7]*) hx=${hx:4} ;; # short form length
    0481*) hx=${hx:6} ;;
    0482*) hx=${hx:8} ;;
    *) fail "public key $1: CKA_EC_POINT is not a DER OCTET STRING" "EC_POINT: $hx" ;;
    esac
    POINT=$hx
}

# ec_spki ID CURVE OUT: OUT is the SubjectPublicKeyInfo (PEM) built from
# the token's CKA_EC_POINT on the named curve.
ec_spki() {
    local pt
    ec_point "$1"
    pt=$POINT
    cat >"$D/spki.cnf" <<EOF
asn1 = SEQUENCE:spki
[spki]
alg = SEQUENCE:alg
key = FORMAT:HEX,BITSTRING:$pt
[alg]
oid = OID:id-ecPublicKey
curve = OID:$2
EOF
    ossl_ok "build the SubjectPublicKeyInfo of EC key $1" openssl asn1parse -genconf "$D/spki.cnf" -out "$D/spki.der" -noout
    ossl_ok "openssl reads the EC public key $1" openssl pkey -pubin -inform DER -in "$D/spki.der" -out "$3"
}

# read_pub ID OUT: the public key read from the token (--read-object
# --type pubkey: DER SubjectPublicKeyInfo; pkcs11-tool 0.23 writes PEM
# for Ed25519), as PEM.
read_pub() {
    rm -f "$D/pub.raw"
    p11_ok "read public key $1" "${T[@]}" --read-object --type pubkey --id "$1" -o "$D/pub.raw"
    ossl_ok "openssl reads public key $1 from the token" openssl pkey -pubin -in "$D/pub.raw" -out "$2"
}
