#!/usr/bin/python3
"""make-card.py: the image of an emulated DM smart card (for dm-vicc.py).

Usage:
  make-card.py --out IMAGE --key KEY.pem --cert CERT.pem --ma-cert MA.pem
               --bootstrap BOOT.wbxml --mo NODEPATH=FILE [--mo ...]
               [--pin 1234] [--puk 12345678] [--iccid DIGITS] [--label DM]
               [--spares 3] [--spare-size 2048] [--dodf-size 2048]
               [--short-read 6282|6Cxx] [--private-mo NODEPATH=FILE ...]
               [--relative-paths] [--bad-ranges] [--big-ef] [--pack-mos | --whole-ef-mos]
               [--pin-tries 3]
               [--local-pins app|df] [--pin-max-len 8]
               [--ec-key EC.pem [--ecdsa-sig der|raw|raw-r30]]

The card: MF 3F00 with EF(DIR) 2F00 naming the PKCS#15 application (AID
A0 00 00 00 63 50 4B 43 53 2D 31 35, DF 3F00/5015), and in it, PKCS#15 v1.1
(ISO 7816-15) encoded here with asn1crypto (independent of the C side's
libtasn1 decoder):
  5031 ODF          -> the directory files below
  5032 TokenInfo    serialNumber = the ICCID's digits as BCD (F-padded),
                    manufacturerID "dmsc test card", label --label
  4401 AODF         user PIN (authId 01, pinReference 01, ascii-numeric,
                    4..8 digits stored as 8 bytes padded with FF, 3 tries,
                    initialized + needs-padding; unblocked by the PUK) and
                    PUK (authId 02, pinReference 02, 8 digits, 10 tries,
                    unblockingPin + soPin)
  4402 PrKDF        RSA sign key, iD 01, keyReference 01, guarded by PIN 01;
                    with --ec-key also an EC P-256 sign key (privateECKey,
                    "DM EC key"), iD 02, keyReference 02, PIN 01, keyInfo
                    paramsAndOps with the named curve prime256v1
  4403 PuKDF        its public key (4601: RSAPublicKey DER), iD 01; the EC
                    key's (publicECKey, 4602: SubjectPublicKeyInfo DER), iD 02
  4404 CDF          its certificate (4701), iD 01
  4405 CDF (trusted, ODF trustedCertificates) the MA certificate (4702),
                    iD 10, authority
  4406 DODF         opaque data objects, 2048-byte EF padded with 00:
                    the DM bootstrap (applicationOID 2.23.43.7.1; EF 4B01,
                    exact size, path without index/length), one "OMA-DM:MO"
                    per --mo (label = node path, value = the file's bytes in
                    a --spare-size EF 4B02.., path with index 0 and length;
                    --pack-mos: all MO values one after another in the one
                    EF 4B02, each entry with its own index and length, as
                    PKCS#15 allows and real cards do), and --spares
                    "OMA-DM:SPARE" entries naming empty (all 00) EFs of
                    --spare-size bytes.
Options for the backend's robustness tests:
  --whole-ef-mos    each MO's value in an EF of exactly its size, its DODF
                    entry naming the whole EF (a path without index/length),
                    as many issuers write them
  --private-mo      an MO like --mo, flagged private (read after login)
  --relative-paths  every path in the ODF and the directory files is
                    relative to the application DF (its file id only); the
                    MF holds, beside EF(DIR), a decoy EF with the same file
                    id and size for each data EF (bootstrap, MOs, spares),
                    other bytes: a read from the wrong DF gets wrong bytes,
                    not an error
  --pin-tries       the user PIN's retry counter: its maximum and tries left
  --bad-ranges      a 32832-byte EF 4BFE and two DODF entries into it whose
                    bytes lie past the offset 32767 READ BINARY reaches:
                    "./BadIndex" (index 32768, length 16) and "./BadRange"
                    (index 32512, length 288)
  --local-pins      the PINs are local to a DF (dmcard.py's "pin_df": a PIN
                    command answers 6A88 while another DF is current):
                    "app" the application DF, the AODF giving no path; "df"
                    a DF 5100 in the application DF, named by the AODF
                    entries' PinAttributes path
  --pin-max-len     the user PIN's maxLength in the AODF (default 8; the PIN
                    is still stored as 8 bytes)
  --big-ef          a 40000-byte EF 4BFD and a DODF entry "./BigEF" naming
                    it whole (a path without index/length): READ BINARY's
                    offsets (0..32767) cannot reach all of it; and an entry
                    "./NoEF" naming an EF 4BFC the card does not have (6A82)
The keys never leave the card image (no EF holds them); VERIFY, UPDATE
BINARY and PSO follow dmcard.py's rules. --ecdsa-sig is the form of the EC
key's signatures (dmcard.py): DER ECDSA-Sig-Value, raw r || s, or raw with
r's first byte always 0x30.

Exit status: 0 written, 1 an input is missing or unusable (message says which).
"""

import argparse
import json
import sys

from asn1crypto import core, keys, pem, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

P15_AID = bytes.fromhex("A000000063504B43532D3135")
DM_BOOTSTRAP_OID = "2.23.43.7.1"
IMAGE_FORMAT = "dmsc-test-card-1"
APP_DF = "5015"


# ---- PKCS#15 v1.1 ASN.1 (the parts a DM card uses) ---------------------------
# The module is IMPLICIT TAGS; tags on CHOICEs and on the parameterised
# types (subClassAttributes [0], typeAttributes [1]) are explicit.
OPT = {"optional": True}


class Path(core.Sequence):
    _fields = [("path", core.OctetString), ("index", core.Integer, OPT),
               ("length", core.Integer, {"implicit": 0, "optional": True})]


class OdfEntry(core.Choice):  # PKCS15Objects, each a PathOrObjects (path)
    _alternatives = [(name, Path, {"explicit": tag}) for tag, name in enumerate(
        ("privateKeys", "publicKeys", "trustedPublicKeys", "secretKeys", "certificates",
         "trustedCertificates", "usefulCertificates", "dataObjects", "authObjects"))]


class TokenFlags(core.BitString):
    _map = {0: "readonly", 1: "loginRequired", 2: "prnGeneration", 3: "eidCompliant"}


class TokenInfo(core.Sequence):
    _fields = [("version", core.Integer), ("serialNumber", core.OctetString),
               ("manufacturerID", core.UTF8String, OPT),
               ("label", core.UTF8String, {"implicit": 0, "optional": True}),
               ("tokenflags", TokenFlags)]


class CommonObjectFlags(core.BitString):
    _map = {0: "private", 1: "modifiable"}


class CommonObjectAttributes(core.Sequence):
    _fields = [("label", core.UTF8String, OPT), ("flags", CommonObjectFlags, OPT),
               ("authId", core.OctetString, OPT)]


class KeyUsageFlags(core.BitString):
    _map = {0: "encrypt", 1: "decrypt", 2: "sign", 3: "signRecover", 4: "wrap", 5: "unwrap",
            6: "verify", 7: "verifyRecover", 8: "derive", 9: "nonRepudiation"}


class KeyAccessFlags(core.BitString):
    _map = {0: "sensitive", 1: "extractable", 2: "alwaysSensitive", 3: "neverExtractable",
            4: "local"}


class CommonKeyAttributes(core.Sequence):
    _fields = [("iD", core.OctetString), ("usage", KeyUsageFlags),
               ("native", core.Boolean, {"default": True}),
               ("accessFlags", KeyAccessFlags, OPT), ("keyReference", core.Integer, OPT)]


class RSAKeyAttributes(core.Sequence):  # PrivateRSAKeyAttributes, PublicRSAKeyAttributes
    _fields = [("value", Path), ("modulusLength", core.Integer)]


class RSAKeyObject(core.Sequence):      # privateRSAKey / publicRSAKey (untagged alternatives)
    _fields = [("commonObjectAttributes", CommonObjectAttributes),
               ("classAttributes", CommonKeyAttributes),
               ("typeAttributes", RSAKeyAttributes, {"explicit": 1})]


class ECKeyInfo(core.Sequence):
    """KeyInfo's paramsAndOps: the parameters are X9.62 ECParameters, here
    the namedCurve alternative (an OID), as PKCS#15 v1.1 and ISO 7816-15
    put a key's curve."""
    _fields = [("parameters", core.ObjectIdentifier)]


class ECKeyAttributes(core.Sequence):   # PrivateECKeyAttributes, PublicECKeyAttributes
    _fields = [("value", Path), ("keyInfo", ECKeyInfo, OPT)]


class ECKeyObject(core.Sequence):       # privateECKey [0] / publicECKey [0] (implicit)
    _fields = [("commonObjectAttributes", CommonObjectAttributes),
               ("classAttributes", CommonKeyAttributes),
               ("typeAttributes", ECKeyAttributes, {"explicit": 1})]


class CommonCertificateAttributes(core.Sequence):
    _fields = [("iD", core.OctetString), ("authority", core.Boolean, {"default": False})]


class X509CertificateAttributes(core.Sequence):
    _fields = [("value", Path)]


class X509CertificateObject(core.Sequence):
    _fields = [("commonObjectAttributes", CommonObjectAttributes),
               ("classAttributes", CommonCertificateAttributes),
               ("typeAttributes", X509CertificateAttributes, {"explicit": 1})]


class CommonDataObjectAttributes(core.Sequence):
    _fields = [("applicationName", core.UTF8String, OPT),
               ("applicationOID", core.ObjectIdentifier, OPT)]


class OpaqueDataObject(core.Sequence):  # opaqueDO: the value is indirect, a path
    _fields = [("commonObjectAttributes", CommonObjectAttributes),
               ("classAttributes", CommonDataObjectAttributes),
               ("typeAttributes", Path, {"explicit": 1})]


class PinFlags(core.BitString):
    _map = {0: "case-sensitive", 1: "local", 2: "change-disabled", 3: "unblock-disabled",
            4: "initialized", 5: "needs-padding", 6: "unblockingPin", 7: "soPin",
            8: "disable-allowed", 9: "integrity-protected", 10: "confidentiality-protected",
            11: "exchangeRefData"}


class PinType(core.Enumerated):
    _map = {0: "bcd", 1: "ascii-numeric", 2: "utf8"}


class PinAttributes(core.Sequence):
    _fields = [("pinFlags", PinFlags), ("pinType", PinType), ("minLength", core.Integer),
               ("storedLength", core.Integer), ("maxLength", core.Integer, OPT),
               ("pinReference", core.Integer, {"implicit": 0, "default": 0}),
               ("padChar", core.OctetString, OPT),
               ("lastPinChange", core.GeneralizedTime, OPT), ("path", Path, OPT)]


class CommonAuthenticationObjectAttributes(core.Sequence):
    _fields = [("authId", core.OctetString)]


class PinObject(core.Sequence):
    _fields = [("commonObjectAttributes", CommonObjectAttributes),
               ("classAttributes", CommonAuthenticationObjectAttributes),
               ("typeAttributes", PinAttributes, {"explicit": 1})]


class DirRecord(core.Sequence):          # EF(DIR) application template, tag 61
    class_ = 1
    tag = 1
    _fields = [("aid", core.OctetString, {"implicit": ("application", 15)}),
               ("label", core.UTF8String, {"implicit": ("application", 16), "optional": True}),
               ("path", core.OctetString, {"implicit": ("application", 17)})]


# ---- helpers --------------------------------------------------------------------
class InputError(Exception):
    pass


def read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError("%s %s: %s" % (what, path, e.strerror))


def der_of(path, what):
    data = read_file(path, what)
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def iccid_bcd(iccid):
    if not iccid.isdigit() or not 10 <= len(iccid) <= 20:
        raise InputError("--iccid %r: 10 to 20 decimal digits expected" % iccid)
    return bytes.fromhex(iccid + ("F" if len(iccid) % 2 else ""))


def pin_block(pin, stored, what):
    if not pin.isdigit() or not 4 <= len(pin) <= stored:
        raise InputError("%s: 4 to %d decimal digits expected" % (what, stored))
    return pin.encode("ascii") + b"\xff" * (stored - len(pin))


RELATIVE = False


def fpath(*fids):
    """A path in the application DF: absolute, or (--relative-paths) from the DF."""
    if RELATIVE and fids:
        return bytes.fromhex("".join(fids))
    return bytes.fromhex("3F00" + APP_DF + "".join(fids))


def padded(data, size, what):
    if len(data) > size:
        raise InputError("%s: %d bytes do not fit the %d-byte EF (raise --spare-size)"
                         % (what, len(data), size))
    return data + b"\x00" * (size - len(data))


P256_OID = "1.2.840.10045.3.1.7"


def ec_key(path):
    """(private scalar, SubjectPublicKeyInfo DER) of a P-256 key file."""
    data = read_file(path, "--ec-key")
    try:
        if pem.detect(data):
            key = serialization.load_pem_private_key(data, None)
        else:
            key = serialization.load_der_private_key(data, None)
    except (ValueError, TypeError) as ex:
        raise InputError("--ec-key %s: not an unencrypted private key: %s" % (path, ex))
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InputError("--ec-key %s: an EC key on P-256 (prime256v1) is expected" % path)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.private_numbers().private_value, spki


def build(args):
    # the key, its certificate, the MA certificate
    try:
        pki = keys.PrivateKeyInfo.load(der_of(args.key, "--key"))
        if pki["private_key_algorithm"]["algorithm"].native != "rsa":
            raise InputError("--key %s: an RSA key is expected" % args.key)
        rsa = pki["private_key"].parsed
        n, e, d = (rsa[f].native for f in ("modulus", "public_exponent", "private_exponent"))
        cert_der = der_of(args.cert, "--cert")
        cert = x509.Certificate.load(cert_der)
        cert_pub = cert.public_key["public_key"].parsed
        ma_der = der_of(args.ma_cert, "--ma-cert")
        x509.Certificate.load(ma_der).native  # noqa: B018  (parses it all: fails early)
    except (ValueError, TypeError, KeyError) as ex:
        raise InputError("a key or certificate file is not a PKCS#8 RSA key / X.509 certificate: %s" % ex)
    if cert_pub["modulus"].native != n:
        raise InputError("--cert %s does not certify the key of --key %s" % (args.cert, args.key))
    bits = n.bit_length()
    pub_der = keys.RSAPublicKey({"modulus": n, "public_exponent": e}).dump()
    boot = read_file(args.bootstrap, "--bootstrap")
    ec_d, ec_spki = ec_key(args.ec_key) if args.ec_key else (None, None)

    files = [("2F00", DirRecord({"aid": P15_AID, "label": args.label,
                                 "path": fpath()}).dump()), (APP_DF, None)]
    ef = {}

    def add(fid, data):
        ef[fid] = data

    # AODF
    pin_path = {}
    pin_df = None
    if args.local_pins == "app":
        pin_df = APP_DF
    elif args.local_pins == "df":
        pin_df = APP_DF + "/5100"
        files.append((pin_df, None))
        pin_path = {"path": {"path": fpath("5100")}}
    user = PinObject({
        "commonObjectAttributes": {"label": "User PIN", "flags": {"modifiable"}, "authId": b"\x02"},
        "classAttributes": {"authId": b"\x01"},
        "typeAttributes": {"pinFlags": {"local", "initialized", "needs-padding"},
                           "pinType": "ascii-numeric", "minLength": 4, "storedLength": 8,
                           "maxLength": args.pin_max_len, "pinReference": 1, "padChar": b"\xff",
                           **pin_path}})
    puk = PinObject({
        "commonObjectAttributes": {"label": "PUK", "flags": {"modifiable"}},
        "classAttributes": {"authId": b"\x02"},
        "typeAttributes": {"pinFlags": {"local", "initialized", "needs-padding", "unblockingPin",
                                        "soPin"},
                           "pinType": "ascii-numeric", "minLength": 8, "storedLength": 8,
                           "maxLength": 8, "pinReference": 2, "padChar": b"\xff", **pin_path}})
    add("4401", user.dump() + puk.dump())

    # PrKDF, PuKDF, CDF, trusted CDF
    key_common = {"label": "DM device key", "flags": {"private"}, "authId": b"\x01"}
    key_access = {"sensitive", "alwaysSensitive", "neverExtractable", "local"}
    prkdf = RSAKeyObject({
        "commonObjectAttributes": key_common,
        "classAttributes": {"iD": b"\x01", "usage": {"sign"}, "keyReference": 1,
                            "accessFlags": key_access},
        "typeAttributes": {"value": {"path": fpath()}, "modulusLength": bits}}).dump()
    pukdf = RSAKeyObject({
        "commonObjectAttributes": {"label": "DM device key"},
        "classAttributes": {"iD": b"\x01", "usage": {"verify"}},
        "typeAttributes": {"value": {"path": fpath("4601")}, "modulusLength": bits}}).dump()
    add("4601", pub_der)
    if ec_d is not None:
        # privateECKey [0] and publicECKey [0]: IMPLICIT TAGS, so A0 in
        # place of the SEQUENCE tag.
        curve = {"parameters": P256_OID}
        prkdf += ECKeyObject({
            "commonObjectAttributes": dict(key_common, label="DM EC key"),
            "classAttributes": {"iD": b"\x02", "usage": {"sign"}, "keyReference": 2,
                                "accessFlags": key_access},
            "typeAttributes": {"value": {"path": fpath()}, "keyInfo": curve}}, implicit=0).dump()
        pukdf += ECKeyObject({
            "commonObjectAttributes": {"label": "DM EC key"},
            "classAttributes": {"iD": b"\x02", "usage": {"verify"}},
            "typeAttributes": {"value": {"path": fpath("4602")}, "keyInfo": curve}}, implicit=0).dump()
        add("4602", ec_spki)
    add("4402", prkdf)
    add("4403", pukdf)
    add("4404", X509CertificateObject({
        "commonObjectAttributes": {"label": "DM device certificate"},
        "classAttributes": {"iD": b"\x01"},
        "typeAttributes": {"value": {"path": fpath("4701")}}}).dump())
    add("4701", cert_der)
    add("4405", X509CertificateObject({
        "commonObjectAttributes": {"label": "MA"},
        "classAttributes": {"iD": b"\x10", "authority": True},
        "typeAttributes": {"value": {"path": fpath("4702")}}}).dump())
    add("4702", ma_der)

    # DODF and the data EFs
    dodf = OpaqueDataObject({
        "commonObjectAttributes": {"label": "DM bootstrap"},
        "classAttributes": {"applicationOID": DM_BOOTSTRAP_OID},
        "typeAttributes": {"path": fpath("4B01")}}).dump()
    add("4B01", boot)
    fid = 0x4B02
    mo_common = {"flags": {"modifiable"}, "authId": b"\x01"}
    packed = b""
    mos = [(mo, False) for mo in args.mo] + [(mo, True) for mo in args.private_mo]
    for mo, private in mos:
        node, sep, fname = mo.partition("=")
        if not sep or not node.startswith("./") or not fname:
            raise InputError("--mo %r: NODEPATH=FILE expected, the node path starting ./" % mo)
        value = read_file(fname, "--mo")
        flags = {"modifiable", "private"} if private else {"modifiable"}
        where = {"path": fpath("%04X" % fid), "index": len(packed), "length": len(value)}
        if args.whole_ef_mos:
            where = {"path": fpath("%04X" % fid)}
        dodf += OpaqueDataObject({
            "commonObjectAttributes": dict(mo_common, label=node, flags=flags),
            "classAttributes": {"applicationName": "OMA-DM:MO"},
            "typeAttributes": where}).dump()
        if args.pack_mos:
            packed += value
        elif args.whole_ef_mos:
            add("%04X" % fid, value)
            fid += 1
        else:
            add("%04X" % fid, padded(value, args.spare_size, "--mo " + node))
            fid += 1
    if args.pack_mos and mos:
        add("%04X" % fid, padded(packed, args.spare_size, "--pack-mos (the MOs together)"))
        fid += 1
    for i in range(args.spares):
        dodf += OpaqueDataObject({
            "commonObjectAttributes": dict(mo_common, label="spare %d" % (i + 1)),
            "classAttributes": {"applicationName": "OMA-DM:SPARE"},
            "typeAttributes": {"path": fpath("%04X" % fid)}}).dump()
        add("%04X" % fid, b"\x00" * args.spare_size)
        fid += 1
    if args.bad_ranges:
        for node, index, length in (("./BadIndex", 0x8000, 16), ("./BadRange", 0x7F00, 0x120)):
            dodf += OpaqueDataObject({
                "commonObjectAttributes": dict(mo_common, label=node),
                "classAttributes": {"applicationName": "OMA-DM:MO"},
                "typeAttributes": {"path": fpath("4BFE"), "index": index, "length": length}}).dump()
        add("4BFE", bytes(range(256)) * 128 + b"\x00" * 64)
    if args.big_ef:
        dodf += OpaqueDataObject({
            "commonObjectAttributes": dict(mo_common, label="./BigEF"),
            "classAttributes": {"applicationName": "OMA-DM:MO"},
            "typeAttributes": {"path": fpath("4BFD")}}).dump()
        add("4BFD", bytes(range(256)) * 156 + b"\x00" * 64)
        # And one whose EF is not on the card: SELECT answers 6A82.
        dodf += OpaqueDataObject({
            "commonObjectAttributes": dict(mo_common, label="./NoEF"),
            "classAttributes": {"applicationName": "OMA-DM:MO"},
            "typeAttributes": {"path": fpath("4BFC")}}).dump()
    add("4406", padded(dodf, args.dodf_size, "the DODF"))

    odf = b"".join(OdfEntry(name=k, value={"path": fpath(v)}).dump() for k, v in (
        ("privateKeys", "4402"), ("publicKeys", "4403"), ("certificates", "4404"),
        ("trustedCertificates", "4405"), ("dataObjects", "4406"), ("authObjects", "4401")))
    add("5031", odf)
    add("5032", TokenInfo({"version": 0, "serialNumber": iccid_bcd(args.iccid),
                           "manufacturerID": "dmsc test card", "label": args.label,
                           "tokenflags": set()}).dump())

    if RELATIVE:
        # Decoys in the MF: same file ids and sizes as the data EFs.
        for fid_hex in sorted(ef):
            if fid_hex.startswith("4B"):
                decoy = b"DECOY " + fid_hex.encode("ascii") + b" "
                files.append((fid_hex, (decoy * (len(ef[fid_hex]) // len(decoy) + 1))[:len(ef[fid_hex])]))
    image_files = []
    for path, data in files:
        if data is None and path == APP_DF:
            image_files.append({"path": path, "aid": P15_AID.hex().upper()})
        elif data is None:
            image_files.append({"path": path, "type": "DF"})
        else:
            image_files.append({"path": path, "data": data.hex().upper()})
    for fid_hex in sorted(ef):
        image_files.append({"path": APP_DF + "/" + fid_hex, "data": ef[fid_hex].hex().upper()})
    card_keys = {"1": {"n": "%X" % n, "e": "%X" % e, "d": "%X" % d, "pin": "1"}}
    if ec_d is not None:
        card_keys["2"] = {"curve": "P-256", "d": "%064X" % ec_d, "pin": "1"}
    return {
        "format": IMAGE_FORMAT,
        "files": image_files,
        "pins": {"1": {"value": pin_block(args.pin, 8, "--pin").hex().upper(), "max_tries": args.pin_tries,
                       "tries_left": args.pin_tries, "unblocked_by": "2"},
                 "2": {"value": pin_block(args.puk, 8, "--puk").hex().upper(), "max_tries": 10,
                       "tries_left": 10}},
        "keys": card_keys,
        "write_pin": "1",
        "short_read": args.short_read,
        "ecdsa_sig": args.ecdsa_sig,
        "pin_df": pin_df,
    }


def main():
    ap = argparse.ArgumentParser(description="the image of an emulated DM smart card")
    ap.add_argument("--out", required=True, help="the image to write (JSON)")
    ap.add_argument("--key", required=True, help="the card's RSA private key (PEM/DER PKCS#8)")
    ap.add_argument("--cert", required=True, help="the certificate of that key (PEM/DER)")
    ap.add_argument("--ma-cert", required=True, help="the MA certificate, the trust anchor")
    ap.add_argument("--bootstrap", required=True, help="the DM bootstrap (WBXML)")
    ap.add_argument("--mo", action="append", default=[], help="NODEPATH=FILE: an MO (TNDS)")
    ap.add_argument("--pin", default="1234")
    ap.add_argument("--puk", default="12345678")
    ap.add_argument("--iccid", default="8944100000000000015")
    ap.add_argument("--label", default="DM")
    ap.add_argument("--spares", type=int, default=3)
    ap.add_argument("--spare-size", type=int, default=2048)
    ap.add_argument("--dodf-size", type=int, default=2048)
    ap.add_argument("--short-read", choices=("6282", "6Cxx"), default="6282",
                    help="the answer to READ BINARY asking more than the EF has left: "
                         "the rest with 6282 (default), or 6Cxx as a T=0 card")
    ap.add_argument("--private-mo", action="append", default=[],
                    help="NODEPATH=FILE: an MO flagged private")
    ap.add_argument("--relative-paths", action="store_true",
                    help="paths relative to the application DF, decoy EFs in the MF")
    ap.add_argument("--pin-tries", type=int, choices=range(1, 16), default=3,
                    help="the user PIN's retry counter (maximum and tries left), 1 to 15")
    ap.add_argument("--bad-ranges", action="store_true",
                    help="two DODF entries naming bytes past READ BINARY's offsets")
    ap.add_argument("--local-pins", choices=("app", "df"),
                    help="PINs local to the application DF (app) or to a DF 5100 in it named by the "
                         "AODF's PinAttributes path (df): unusable while another DF is current")
    ap.add_argument("--pin-max-len", type=int, choices=range(4, 256), default=8, metavar="4..255",
                    help="the user PIN's maxLength in the AODF (default 8)")
    ap.add_argument("--big-ef", action="store_true",
                    help="a DODF entry naming a whole 40000-byte EF (past READ BINARY's offsets)")
    ap.add_argument("--whole-ef-mos", action="store_true",
                    help="each MO value in an EF of exactly its size, its DODF entry naming the whole EF "
                         "(a path without index/length)")
    ap.add_argument("--pack-mos", action="store_true",
                    help="all MO values in one EF (4B02), each DODF entry with its index/length")
    ap.add_argument("--ec-key", help="an EC P-256 private key for the card (PEM/DER PKCS#8 or SEC1): "
                    "key reference 2, iD 02")
    ap.add_argument("--ecdsa-sig", choices=("der", "raw", "raw-r30"), default="der",
                    help="the form of the card's ECDSA signatures: DER ECDSA-Sig-Value (default), "
                         "r || s, or r || s with r's first byte 0x30")
    args = ap.parse_args()
    if args.pack_mos and args.whole_ef_mos:
        ap.error("--pack-mos and --whole-ef-mos: give one (packed MOs need their index/length)")
    global RELATIVE
    RELATIVE = args.relative_paths
    try:
        image = build(args)
    except InputError as e:
        print("make-card: %s" % e, file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(image, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
