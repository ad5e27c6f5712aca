#!/bin/bash
# An EC P-256 key on a PKCS#15 card, through the module: the emulated card
# of tests/pcsc (make-card.py --ec-key: privateECKey iD 02, keyReference 2,
# keyInfo with the named curve; publicECKey iD 02) signs with ECDSA on the
# card (MSE SET DST + PSO COMPUTE DIGITAL SIGNATURE over the hash the
# module computed), and openssl verifies with the card's public key.
#  - the objects: CKK_EC private and public key, CKA_EC_PARAMS = the DER
#    OID of prime256v1, CKA_EC_POINT the card's point; the public key read
#    back is the card's
#  - CKM_ECDSA (the host's hash) and CKM_ECDSA_SHA1 .. SHA512 give r || s
#    of 64 bytes that openssl verifies (pkcs11-tool's --signature-format
#    openssl turns r || s into DER)
#  - both answer forms real cards use (dmcard.py's ecdsa_sig): the DER
#    ECDSA-Sig-Value, and raw r || s; raw with r's first byte 0x30 forced
#    (the card re-signs until it is: a valid signature a host must not
#    take for DER), seen in the card's APDU trace; a batch of raw
#    signatures in one session (PyKCS11), each verified by openssl
#  - a wrong PIN refuses and is counted by the card; the right one signs
#    again
set -euo pipefail

. "${DMSC_SRCDIR:-.}/tests/integration/lib.sh"
. "${DMSC_SRCDIR:-.}/tests/pcsc/pcsc-lib.sh"

check_module
need_cmd openssl xxd
setup_store
pcsc_need

SLOT=$((0x10000))
# The python3 that loads the module through PyKCS11: under ASan
# (tests/sanitize/run-asan.sh) DMSC_PYTHON preloads the runtime.
P11_PYTHON=${DMSC_PYTHON:-$PCSC_PYTHON}
P256_PARAMS=06082a8648ce3d030107 # DER OID 1.2.840.10045.3.1.7 (prime256v1)
cat >"$DMSC_CONF" <<EOF
backends = vuicc pcsc
EOF

pcsc_make_card
pcsc_start

pk_ok() {
    local what=$1
    shift
    p11_ok "$what" --slot "$SLOT" "$@"
}
has() { grep -qF -- "$1" <<<"$OUT" || fail "$2: '$1' is not in the output" "$(indent <<<"$OUT")"; }

# card_form der|raw|raw-r30: the card answers ECDSA in that form from now
# on (its image changed while it is out of the reader, as a different card).
card_form() {
    pcsc_card_remove
    "$PCSC_PYTHON" -c 'import json, sys
p = sys.argv[1]
im = json.load(open(p))
im["ecdsa_sig"] = sys.argv[2]
json.dump(im, open(p, "w"), indent=1)' "$PCSC_IMAGE" "$1"
    pcsc_card_insert
}

# last_pso_answer: the data of the card's last PSO COMPUTE DIGITAL
# SIGNATURE answer (hex, status word removed), from its APDU trace.
last_pso_answer() {
    awk '/^C: ..2A9E9A/ { pso = 1; next } pso && /^R: / { last = substr($2, 1, length($2) - 4); pso = 0 }
        END { print last }' "$PCSC_TRACE"
}

# sign_verify MECH DGST WHAT: pkcs11-tool signs $TEST_TMP/msg with the card's
# EC key (iD 02); r || s must be 64 bytes, and openssl must verify the DER
# form with the card's public key, and refuse it for another message.
sign_verify() {
    local mech=$1 dgst=$2 what=$3 in=$TEST_TMP/msg
    if [ "$mech" = ECDSA ]; then
        # CKM_ECDSA signs what it is given: the host's hash
        openssl dgst "-$dgst" -binary "$TEST_TMP/msg" >"$TEST_TMP/msg.hash"
        in=$TEST_TMP/msg.hash
    fi
    pk_ok "$what: $mech (r || s)" --login --pin "$PCSC_PIN" --sign -m "$mech" --id 02 -i "$in" -o "$TEST_TMP/sig.rs"
    [ "$(stat -c %s "$TEST_TMP/sig.rs")" = 64 ] ||
        fail "$what: $mech gave $(stat -c %s "$TEST_TMP/sig.rs") bytes, not r || s of 64" "$(xxd "$TEST_TMP/sig.rs" | indent)"
    pk_ok "$what: $mech (DER)" --login --pin "$PCSC_PIN" --sign -m "$mech" --id 02 -i "$in" \
        --signature-format openssl -o "$TEST_TMP/sig.der"
    if [ "$mech" = ECDSA ]; then
        openssl pkeyutl -verify -pubin -inkey "$PCSC_EC_PUBKEY" -in "$in" -sigfile "$TEST_TMP/sig.der" >/dev/null 2>&1 ||
            fail "$what: openssl does not verify the card's $mech signature over the $dgst hash"
    else
        openssl dgst "-$dgst" -verify "$PCSC_EC_PUBKEY" -signature "$TEST_TMP/sig.der" "$TEST_TMP/msg" >/dev/null 2>&1 ||
            fail "$what: openssl does not verify the card's $mech signature"
        ! openssl dgst "-$dgst" -verify "$PCSC_EC_PUBKEY" -signature "$TEST_TMP/sig.der" "$TEST_TMP/other" \
            >/dev/null 2>&1 || fail "$what: the $mech signature verifies another message: the check proves nothing"
    fi
}
printf 'a DM message signed by the card EC key\n' >"$TEST_TMP/msg"
printf 'another message\n' >"$TEST_TMP/other"

step "the card's EC key as PKCS#11 objects"
pk_ok "list objects after login" -O --login --pin "$PCSC_PIN"
has "Private Key Object; EC" "the EC private key"
has "label:      DM EC key" "the EC key's label"
grep -A12 "Public Key Object; EC" <<<"$OUT" | grep -qF "EC_POINT 256 bits" ||
    fail "no EC public key of 256 bits" "$(indent <<<"$OUT")"
grep -A12 "Public Key Object; EC" <<<"$OUT" | grep -qiF "EC_PARAMS:  $P256_PARAMS" ||
    fail "the EC public key's CKA_EC_PARAMS is not prime256v1's OID" "$(indent <<<"$OUT")"
has "Private Key Object; RSA" "the RSA key stays"
pk_ok "the EC public key" --read-object --type pubkey --id 02 -o "$TEST_TMP/ec-pub.der"
openssl pkey -pubin -inform DER -in "$TEST_TMP/ec-pub.der" -out "$TEST_TMP/ec-pub.pem" 2>/dev/null ||
    fail "the EC public key read is not a public key openssl reads"
cmp -s "$TEST_TMP/ec-pub.pem" "$PCSC_EC_PUBKEY" || fail "the EC public key read is not the card's"
# CKA_EC_PARAMS of the private key, and the public key's point, attribute by attribute
"$P11_PYTHON" - "$DMSC_MODULE" "$SLOT" "$PCSC_PIN" "$PCSC_EC_PUBKEY" >"$TEST_TMP/attrs.out" 2>&1 <<'EOF' ||
import sys
import PyKCS11
from PyKCS11 import LowLevel
from cryptography.hazmat.primitives import serialization
module, slot, pin, pub = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lib = PyKCS11.PyKCS11Lib()
lib.load(module)
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
s.login(pin)
def one(klass):
    objs = s.findObjects([(PyKCS11.CKA_CLASS, klass), (PyKCS11.CKA_ID, (2,))])
    assert len(objs) == 1, "%d objects of class %d with iD 02" % (len(objs), klass)
    return objs[0]
prk, puk = one(PyKCS11.CKO_PRIVATE_KEY), one(PyKCS11.CKO_PUBLIC_KEY)
for name, o in (("private", prk), ("public", puk)):
    kt, params = s.getAttributeValue(o, [PyKCS11.CKA_KEY_TYPE, PyKCS11.CKA_EC_PARAMS])
    print(name, "key type", kt, "params", bytes(params).hex())
sign, = s.getAttributeValue(prk, [PyKCS11.CKA_SIGN])
print("private sign", bool(sign))
point = bytes(s.getAttributeValue(puk, [PyKCS11.CKA_EC_POINT])[0])
key = serialization.load_pem_public_key(open(pub, "rb").read())
raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
print("point is the card's", point == b"\x04" + bytes([len(raw)]) + raw)
s.logout()
EOF
    fail "PyKCS11 could not read the EC keys' attributes" "$(indent <"$TEST_TMP/attrs.out")"
OUT=$(cat "$TEST_TMP/attrs.out")
has "private key type 3 params $P256_PARAMS" "the private key: CKK_EC on prime256v1"
has "public key type 3 params $P256_PARAMS" "the public key: CKK_EC on prime256v1"
has "private sign True" "the private key signs"
has "point is the card's True" "CKA_EC_POINT"

step "the card answers DER ECDSA-Sig-Values: every ECDSA mechanism signs"
for d in sha1 sha224 sha256 sha384 sha512; do
    sign_verify "ECDSA-${d^^}" "$d" "DER answers"
done
sign_verify ECDSA sha256 "DER answers"
sign_verify ECDSA sha384 "DER answers"
ans=$(last_pso_answer)
[ "${ans:0:2}" = 30 ] && [ "${#ans}" -ne 128 ] || fail "the card's last answer is not DER: $ans"

step "a wrong PIN refuses and is counted by the card; the right one signs again"
expect_fail CKR_PIN_INCORRECT "sign with a wrong PIN" --slot "$SLOT" --login --pin 0000 --sign -m ECDSA-SHA256 \
    --id 02 -i "$TEST_TMP/msg" -o "$TEST_TMP/wrong.sig"
[ "$(pcsc_image_pin_tries 1)" = 2 ] || fail "the card's own counter is not 2 ($(pcsc_image_pin_tries 1))"
sign_verify ECDSA-SHA256 sha256 "after a wrong PIN"
[ "$(pcsc_image_pin_tries 1)" = 3 ] || fail "the right PIN did not reset the card's counter ($(pcsc_image_pin_tries 1))"

step "raw r || s answers whose r starts with 0x30 are not taken for DER"
card_form raw-r30
sign_verify ECDSA-SHA256 sha256 "raw answers, r from 0x30"
ans=$(last_pso_answer)
[ "${ans:0:2}" = 30 ] && [ "${#ans}" -eq 128 ] || fail "the card's last answer is not raw r || s from 0x30: $ans"
sign_verify ECDSA sha256 "raw answers, r from 0x30"
sign_verify ECDSA-SHA512 sha512 "raw answers, r from 0x30"

step "raw r || s answers: a batch of signatures in one session, each verified by openssl"
card_form raw
N=40
mkdir "$TEST_TMP/batch"
"$P11_PYTHON" - "$DMSC_MODULE" "$SLOT" "$PCSC_PIN" "$TEST_TMP/batch" "$N" >"$TEST_TMP/batch.out" 2>&1 <<'EOF' ||
import os
import sys
import PyKCS11
from cryptography.hazmat.primitives.asymmetric import utils
module, slot, pin, out, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
lib = PyKCS11.PyKCS11Lib()
lib.load(module)
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
s.login(pin)
key = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, (2,))])[0]
r30 = 0
for i in range(n):
    msg = os.urandom(100)
    sig = bytes(s.sign(key, msg, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA_SHA256, None)))
    assert len(sig) == 64, "signature %d: %d bytes" % (i, len(sig))
    r30 += sig[0] == 0x30
    with open(os.path.join(out, "%d.msg" % i), "wb") as f:
        f.write(msg)
    # r || s into DER for openssl (only the form changes)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    with open(os.path.join(out, "%d.sig" % i), "wb") as f:
        f.write(der)
s.logout()
print("signed", n, "r from 0x30:", r30)
EOF
    fail "PyKCS11 could not sign the batch" "$(indent <"$TEST_TMP/batch.out")"
say "$(cat "$TEST_TMP/batch.out")"
for ((i = 0; i < N; i++)); do
    openssl dgst -sha256 -verify "$PCSC_EC_PUBKEY" -signature "$TEST_TMP/batch/$i.sig" "$TEST_TMP/batch/$i.msg" \
        >/dev/null 2>&1 || fail "batch signature $i does not verify"
done
ans=$(last_pso_answer)
[ "${#ans}" -eq 128 ] || fail "the card's last answer is not raw r || s: $ans"

say "ok"
