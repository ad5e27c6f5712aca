"""The emulated DM smart card of the PC/SC tests: a card OS on top of
python3-virtualsmartcard (vsmartcard's vicc library).

What comes from virtualsmartcard: the ISO 7816-4 shell (Iso7816OS: APDU
parsing, the ATR, GET RESPONSE / 61xx), the file system (MF, DF,
TransparentStructureEF: SELECT by FID, path or AID with FCP/FCI, READ
BINARY) and the vpcd connection (VirtualICC).  What is ours: the security
part a UICC has and vicc's stock SAM lacks (see /work/briefs/vicc-notes.md):
several PINs by reference with retry counters (63Cx, 6983), the empty
VERIFY that only asks, CHANGE REFERENCE DATA, RESET RETRY COUNTER with the
PUK, UPDATE BINARY only after the PIN and never past the end of an EF,
MSE SET DST + PSO COMPUTE DIGITAL SIGNATURE with an RSA or an EC P-256 key,
and a reset that clears the security status.

The card is a JSON "image" (make-card.py writes it):
  {"format": "dmsc-test-card-1",
   "files": [{"path": "2F00", "data": HEX}, {"path": "5015", "aid": HEX},
             {"path": "5015/5031", "data": HEX}, ...],   # paths below 3F00
   "pins": {"1": {"value": HEX, "max_tries": 3, "tries_left": 3,
                  "unblocked_by": "2"}, "2": {...}},
   "keys": {"1": {"n": HEX, "e": HEX, "d": HEX, "pin": "1"},       # RSA
            "2": {"curve": "P-256", "d": HEX, "pin": "1"}},        # EC
   "write_pin": "1",
   "short_read": "6282" | "6Cxx",   # READ BINARY past the end (see below)
   "ecdsa_sig": "der" | "raw" | "raw-r30",   # the form of an ECDSA answer
   "pin_df": "5015",                 # optional: the PINs are this DF's (below)
   "tear": {"path": "5015/4406", "n": 2}}   # optional test hook, below
An EC key signs the hash the host sends (PSO CDS data = the hash, 20 to 64
bytes: SHA-1 .. SHA-512 sized) with ECDSA (python3-cryptography; no EC math
here). Real cards answer in one of two forms: the DER ECDSA-Sig-Value
("der", the default) or r || s, each the size of the order ("raw").
"raw-r30" is "raw" where the card signs again (a fresh random k each time)
until r's first byte is 0x30, the first byte of a DER SEQUENCE: a valid
signature a host must not take for DER (it happens once in 256 otherwise).
With "pin_df" the PIN references are local to that DF (ISO 7816-4
specific reference data, as on a UICC whose application PINs belong to
the ADF): VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER answer
6A88 (referenced data not found) unless that DF, or an EF in it, is the
current file; another client's SELECT of the MF makes them unusable
until the DF is selected again.
Every command that changes what a card keeps (EF contents, retry
counters, PINs) writes the image back at once, as a card's EEPROM would:
killing the emulator at any moment leaves the state of the last APDU.

The "tear" hook cuts the card between two APDUs, as a card pulled out
mid-write: the n-th UPDATE BINARY into the EF at "path" (counted from the
emulator's start) is not carried out, the hook is dropped from the image
(so the card works when put back) and the emulator exits at once without
an answer: the reader sees the card gone.
"""

import json
import logging
import os
import sys
import types

# Debian's python3-virtualsmartcard 3.3 installs its package one directory
# too deep for Debian's python3 (site-packages/virtualsmartcard/...), and
# its CryptoUtils imports PyCrypto's "Crypto" at import time, falling back
# to Python 2's "sha".  Nothing we call needs either: a stub "sha" lets the
# import succeed.
VSC_DIRS = ("/usr/lib/python3/site-packages/virtualsmartcard",
            "/usr/lib/python3/dist-packages")
for _d in VSC_DIRS:
    if os.path.isdir(os.path.join(_d, "virtualsmartcard")) and _d not in sys.path:
        sys.path.append(_d)
try:
    import Crypto.Cipher  # noqa: F401  (PyCrypto, when installed)
except ImportError:
    sys.modules.setdefault("sha", types.ModuleType("sha"))

from virtualsmartcard.VirtualSmartcard import Iso7816OS  # noqa: E402
from virtualsmartcard.SmartcardFilesystem import MF, DF, TransparentStructureEF  # noqa: E402
from virtualsmartcard.SWutils import SwError, SW  # noqa: E402
from virtualsmartcard.utils import C_APDU  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils  # noqa: E402

IMAGE_FORMAT = "dmsc-test-card-1"

# The curves an EC key may be on, and the hash an ECDSA input is taken for
# (by its size: the card signs whatever hash the host computed).
EC_CURVES = {"P-256": ec.SECP256R1}
ECDSA_HASH_BY_SIZE = {20: hashes.SHA1, 28: hashes.SHA224, 32: hashes.SHA256,
                      48: hashes.SHA384, 64: hashes.SHA512}
ECDSA_SIG_FORMS = ("der", "raw", "raw-r30")

# Commands whose data is secret: the trace shows their header only.
SECRET_INS = (0x20, 0x24, 0x2C)


def tries_left_error(n):
    """63Cx: x tries left (vicc's SwError only knows fixed status words)."""
    e = SwError(SW["WARN_NOINFO63"])
    e.sw = 0x63C0 | n
    e.message = "verification failed, %d tries left" % n
    return e


class CardError(Exception):
    """An image that cannot be a card: says what and where."""


def _hex(b):
    return b.hex().upper()


def _unhex(s, what):
    try:
        return bytes.fromhex(s)
    except (TypeError, ValueError):
        raise CardError("%s: not hexadecimal: %r" % (what, s))


class Security:
    """PINs, keys and the security status of one card session."""

    def __init__(self, pins, keys, write_pin, ecdsa_sig="der"):
        self.ecdsa_sig = ecdsa_sig
        self.pins = pins          # ref(int) -> dict(value, max_tries, tries_left, unblocked_by)
        self.keys = keys          # ref(int) -> dict(n, e, d: int, pin: int) or dict(ec: key, pin: int)
        self.write_pin = write_pin
        self.verified = set()
        self.dst_key = None

    def reset(self):
        """A reset or power cycle: nothing stays verified or selected."""
        self.verified.clear()
        self.dst_key = None

    # ---- PIN checks -------------------------------------------------------
    def _pin(self, ref):
        if ref not in self.pins:
            raise SwError(SW["ERR_DATANOTFOUND"])      # 6A88
        return self.pins[ref]

    def _check(self, ref, value):
        """Spends a try on a wrong value: 63Cx, 6983 once blocked."""
        pin = self._pin(ref)
        if pin["tries_left"] == 0:
            raise SwError(SW["ERR_AUTHBLOCKED"])       # 6983
        if len(value) != len(pin["value"]):
            raise SwError(SW["ERR_WRONGLENGTH"])       # 6700, no try spent
        if value != pin["value"]:
            pin["tries_left"] -= 1
            self.verified.discard(ref)
            raise tries_left_error(pin["tries_left"])
        pin["tries_left"] = pin["max_tries"]
        self.verified.add(ref)

    def verify(self, p1, p2, data):
        pin = self._pin(p2)
        if p1 == 0xFF and not data:                    # ISO 7816-4: log out
            self.verified.discard(p2)
            return SW["NORMAL"], b""
        if p1 != 0x00:
            raise SwError(SW["ERR_INCORRECTP1P2"])
        if not data:                                   # only asks
            if pin["tries_left"] == 0:
                raise SwError(SW["ERR_AUTHBLOCKED"])
            if p2 in self.verified:
                return SW["NORMAL"], b""
            raise tries_left_error(pin["tries_left"])
        self._check(p2, data)
        return SW["NORMAL"], b""

    def change_reference_data(self, p1, p2, data):
        pin = self._pin(p2)
        n = len(pin["value"])
        if p1 == 0x00:
            if len(data) != 2 * n:
                raise SwError(SW["ERR_WRONGLENGTH"])
            self._check(p2, data[:n])
            new = data[n:]
        elif p1 == 0x01:
            if p2 not in self.verified:
                raise SwError(SW["ERR_SECSTATUS"])
            new = data
        else:
            raise SwError(SW["ERR_INCORRECTP1P2"])
        if len(new) != n:
            raise SwError(SW["ERR_WRONGLENGTH"])
        pin["value"] = bytes(new)
        return SW["NORMAL"], b""

    def reset_retry_counter(self, p1, p2, data):
        pin = self._pin(p2)
        puk_ref = pin.get("unblocked_by")
        if puk_ref is None:
            raise SwError(SW["ERR_CONDITIONNOTSATISFIED"])
        m = len(self._pin(puk_ref)["value"])
        n = len(pin["value"])
        if p1 == 0x00:
            if len(data) != m + n:
                raise SwError(SW["ERR_WRONGLENGTH"])
            self._check(puk_ref, data[:m])
            pin["value"] = bytes(data[m:])
        elif p1 == 0x01:
            if len(data) != m:
                raise SwError(SW["ERR_WRONGLENGTH"])
            self._check(puk_ref, data)
        else:
            raise SwError(SW["ERR_INCORRECTP1P2"])
        pin["tries_left"] = pin["max_tries"]
        self.verified.discard(puk_ref)
        return SW["NORMAL"], b""

    # ---- signature ----------------------------------------------------------
    def manage_security_environment(self, p1, p2, data):
        if p1 == 0xF3:                                 # RESTORE: the default SE
            self.dst_key = None
            return SW["NORMAL"], b""
        if p1 != 0x41 or p2 != 0xB6:
            raise SwError(SW["ERR_INCORRECTP1P2"])
        i, key = 0, None
        while i + 2 <= len(data):
            tag, ln = data[i], data[i + 1]
            val = data[i + 2:i + 2 + ln]
            if len(val) != ln:
                raise SwError(SW["ERR_INCORRECTPARAMETERS"])
            if tag == 0x84:
                key = int.from_bytes(val, "big")
            i += 2 + ln
        if i != len(data) or key is None:
            raise SwError(SW["ERR_INCORRECTPARAMETERS"])
        if key not in self.keys:
            raise SwError(SW["ERR_DATANOTFOUND"])
        self.dst_key = key
        return SW["NORMAL"], b""

    def perform_security_operation(self, p1, p2, data):
        if (p1, p2) != (0x9E, 0x9A):
            raise SwError(SW["ERR_INCORRECTP1P2"])
        if self.dst_key is None:
            raise SwError(SW["ERR_CONDITIONNOTSATISFIED"])
        key = self.keys[self.dst_key]
        if key["pin"] not in self.verified:
            raise SwError(SW["ERR_SECSTATUS"])
        if "ec" in key:
            return SW["NORMAL"], self._ecdsa(key["ec"], bytes(data))
        k = (key["n"].bit_length() + 7) // 8
        if not data or len(data) > k - 11:
            raise SwError(SW["ERR_WRONGLENGTH"])
        # PKCS#1 v1.5 block type 1 around whatever the host sent (a
        # DigestInfo for RSASSA-PKCS1-v1_5), then the private operation.
        block = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + bytes(data)
        sig = pow(int.from_bytes(block, "big"), key["d"], key["n"])
        return SW["NORMAL"], sig.to_bytes(k, "big")

    def _ecdsa(self, key, digest):
        """ECDSA over the hash the host sent, in the card's answer form."""
        algo = ECDSA_HASH_BY_SIZE.get(len(digest))
        if algo is None:
            raise SwError(SW["ERR_WRONGLENGTH"])       # 6700: not a hash
        half = (key.curve.key_size + 7) // 8
        while True:
            der = key.sign(digest, ec.ECDSA(asym_utils.Prehashed(algo())))
            if self.ecdsa_sig == "der":
                return der
            r, s = asym_utils.decode_dss_signature(der)
            raw = r.to_bytes(half, "big") + s.to_bytes(half, "big")
            if self.ecdsa_sig == "raw" or raw[0] == 0x30:
                return raw

    # No secure messaging on this card.
    def parse_SM_CAPDU(self, capdu, header_authentication):
        raise SwError(SW["ERR_SECMESSNOTSUPPORTED"])

    def protect_result(self, sw, result):
        return sw, result


class DMCardOS(Iso7816OS):
    """Iso7816OS with our security, fixed-size EFs and a persistent image."""

    def __init__(self, image_path):
        self.image_path = image_path
        with open(image_path, "r", encoding="utf-8") as f:
            self.image = json.load(f)
        if self.image.get("format") != IMAGE_FORMAT:
            raise CardError("%s: not a %s image" % (image_path, IMAGE_FORMAT))
        mf, self.efs, dfs = self._build_fs(self.image["files"])
        self.pin_df = None
        if self.image.get("pin_df"):
            self.pin_df = dfs.get(str(self.image["pin_df"]).upper().strip("/"))
            if self.pin_df is None:
                raise CardError("pin_df %r: no such DF in the image" % self.image["pin_df"])
        sec = self._build_security(self.image)
        self.trace = None
        # READ BINARY of more than is left: "6282" (the rest + 6282, T=1
        # style) or "6Cxx" (T=0 style: the terminal re-sends with Le=xx).
        self.short_read = self.image.get("short_read", "6282")
        if self.short_read not in ("6282", "6Cxx"):
            raise CardError("short_read: 6282 or 6Cxx, not %r" % self.short_read)
        handlers = {
            0xA4: self.select_file,
            0xB0: mf.readBinaryPlain,
            0xB2: mf.readRecordPlain,
            0xC0: self.getResponse,
            0xD6: self.update_binary,
            0x20: self._persisting(self._local_pins(sec.verify)),
            0x24: self._persisting(self._local_pins(sec.change_reference_data)),
            0x2C: self._persisting(self._local_pins(sec.reset_retry_counter)),
            0x22: sec.manage_security_environment,
            0x2A: sec.perform_security_operation,
        }
        Iso7816OS.__init__(self, mf, sec, ins2handler=handlers)

    # ---- building from the image ----------------------------------------
    @staticmethod
    def _build_fs(files):
        mf = MF()
        dfs = {"": mf}
        efs = {}
        for ent in files:
            path = ent["path"].upper().strip("/")
            parts = path.split("/")
            parent = dfs.get("/".join(parts[:-1]))
            if parent is None or len(parts[-1]) != 4:
                raise CardError("file %s: bad path or parent DF not defined before it" % path)
            fid = int(parts[-1], 16)
            if "aid" in ent or ent.get("type") == "DF":
                aid = _unhex(ent["aid"], path) if "aid" in ent else None
                df = DF(parent=parent, fid=fid, dfname=aid)
                parent.append(df)
                dfs[path] = df
            else:
                data = _unhex(ent.get("data", ""), path)
                ef = TransparentStructureEF(parent=parent, fid=fid, data=data)
                parent.append(ef)
                efs[path] = ef
        return mf, efs, dfs

    @staticmethod
    def _build_security(image):
        pins = {}
        for ref, p in image.get("pins", {}).items():
            pins[int(ref, 0)] = {
                "value": _unhex(p["value"], "pin " + ref),
                "max_tries": int(p["max_tries"]),
                "tries_left": int(p["tries_left"]),
                "unblocked_by": int(p["unblocked_by"], 0) if p.get("unblocked_by") else None,
            }
        keys = {}
        for ref, k in image.get("keys", {}).items():
            if "curve" in k:
                curve = EC_CURVES.get(k["curve"])
                if curve is None:
                    raise CardError("key %s: curve %r is not one of %s" % (ref, k["curve"], ", ".join(EC_CURVES)))
                key = ec.derive_private_key(int(k["d"], 16), curve())
                keys[int(ref, 0)] = {"ec": key, "pin": int(k["pin"], 0)}
            else:
                keys[int(ref, 0)] = {"n": int(k["n"], 16), "e": int(k["e"], 16),
                                     "d": int(k["d"], 16), "pin": int(k["pin"], 0)}
        form = image.get("ecdsa_sig", "der")
        if form not in ECDSA_SIG_FORMS:
            raise CardError("ecdsa_sig: one of %s, not %r" % (", ".join(ECDSA_SIG_FORMS), form))
        return Security(pins, keys, int(image.get("write_pin", "1"), 0), form)

    # ---- persistence --------------------------------------------------------
    def save(self):
        """Writes EF contents and PIN state back (atomically: rename)."""
        for ent in self.image["files"]:
            ef = self.efs.get(ent["path"].upper().strip("/"))
            if ef is not None:
                ent["data"] = _hex(ef.data)
        for ref, p in self.SAM.pins.items():
            ent = self.image["pins"][[r for r in self.image["pins"] if int(r, 0) == ref][0]]
            ent["value"] = _hex(p["value"])
            ent["tries_left"] = p["tries_left"]
        tmp = self.image_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.image, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.image_path)

    def _persisting(self, handler):
        def run(p1, p2, data):
            try:
                return handler(p1, p2, data)
            finally:
                self.save()
        return run

    def _local_pins(self, handler):
        """With "pin_df": PIN commands find the PINs only in that DF."""
        def run(p1, p2, data):
            if self.pin_df is not None:
                cur = self.mf.current
                df = cur if isinstance(cur, DF) else cur.parent
                if df is not self.pin_df:
                    raise SwError(SW["ERR_DATANOTFOUND"])  # 6A88, no try spent
            return handler(p1, p2, data)
        return run

    # ---- commands ---------------------------------------------------------------
    @staticmethod
    def _tlv(tag, value):
        n = len(value)
        if n < 0x80:
            length = bytes([n])
        elif n < 0x100:
            length = bytes([0x81, n])
        else:
            length = bytes([0x82, n >> 8, n & 0xFF])
        return bytes([tag]) + length + value

    def select_file(self, p1, p2, data):
        # vicc 3.3's selectFile cannot build an FCI or FCP under Python 3
        # (TLVutils.pack joins bytes as a list): its file search is reused,
        # the answer built here.
        f = self.mf._selectFile(p1, p2, data)
        kind = p2 & 0x0C
        if kind in (0x00, 0x04):
            answer = self._tlv(0x6F if kind == 0x00 else 0x62, MF.encodeFileControlParameter(f))
        else:                                          # 08 FMD (none here), 0C nothing
            answer = b""
        self.mf.current = f
        return SW["NORMAL"], answer

    def update_binary(self, p1, p2, data):
        if self.SAM.write_pin not in self.SAM.verified:
            raise SwError(SW["ERR_SECSTATUS"])
        ef, offsets, datalist = self.mf.dataUnitsDecodePlain(p1, p2, data)
        if not isinstance(ef, TransparentStructureEF):
            raise SwError(SW["ERR_INCOMPATIBLEWITHFILE"])
        if offsets[0] + len(data) > len(ef.data):      # EFs have a fixed size
            raise SwError(SW["ERR_OFFSETOUTOFFILE"])
        self._maybe_tear(ef)
        ef.updatebinary(offsets, datalist)
        self.save()
        return SW["NORMAL"], b""

    def _maybe_tear(self, ef):
        """The "tear" hook (see the top): pulls the card before this write."""
        tear = self.image.get("tear")
        if not tear or self.efs.get(str(tear.get("path", "")).upper().strip("/")) is not ef:
            return
        self.tear_count = getattr(self, "tear_count", 0) + 1
        if self.tear_count < int(tear.get("n", 1)):
            return
        del self.image["tear"]
        self.save()
        if self.trace:
            self.trace.write("(torn: the card is pulled before UPDATE BINARY %d into %s)\n"
                             % (self.tear_count, tear["path"]))
            self.trace.flush()
        os._exit(3)

    def formatResult(self, seekable, le, data, sw, sm):
        # vicc compares Le with the data length even when the command had
        # no Le (UPDATE BINARY): no Le is Ne = 0.
        if seekable and le is None:
            le = 0
        return Iso7816OS.formatResult(self, seekable, le, data, sw, sm)

    def _wrong_le_6cxx(self, msg):
        """A T=0 card's answer to READ BINARY asking more than the EF has
        left: 6Cxx (xx = what is left), no data; None: answer normally."""
        try:
            c = C_APDU(msg)
            if c.cla & 0xEC or c.ins != 0xB0 or not hasattr(c, "_Le"):
                return None
            _, data = self.mf.readBinaryPlain(c.p1, c.p2, c.data)
        except (SwError, ValueError):
            return None
        if len(data) < c.effective_Le:
            return bytes([0x6C, len(data)])
        return None

    def execute(self, msg):
        try:
            answer = self._wrong_le_6cxx(msg) if self.short_read == "6Cxx" else None
            if answer is None:
                answer = Iso7816OS.execute(self, msg)
        except Exception as e:  # a card answers; it does not die on a bad APDU
            logging.error("internal error on an APDU: %r", e)
            answer = b"\x6f\x00"
        if self.trace:
            shown = msg[:4] if len(msg) > 4 and msg[1] in SECRET_INS else msg
            self.trace.write("C: %s%s\nR: %s\n" % (_hex(shown), " (data hidden)" if shown is not msg else "",
                                                   _hex(answer)))
            self.trace.flush()
        return answer

    def powerUp(self):
        self.SAM.reset()
        self.mf.current = self.mf

    def powerDown(self):
        self.SAM.reset()
        self.mf.current = self.mf

    def reset(self):
        self.SAM.reset()
        self.mf.current = self.mf
