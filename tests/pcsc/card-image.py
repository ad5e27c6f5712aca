#!/usr/bin/python3
"""card-image.py: looks into (and arms) an emulated card's image, the
card's own memory, independently of the module and of OpenSC.

Usage:
  card-image.py dodf IMAGE          the DODF's entries, one a line:
                                    LABEL|APPNAME|FLAGS|AUTHID|PATH|INDEX|LENGTH
                                    (FLAGS: private,modifiable or -; AUTHID hex
                                    or -; INDEX/LENGTH - when the path has none)
  card-image.py bytes IMAGE FID [INDEX LENGTH]
                                    the bytes of EF 5015/FID (or of its range)
                                    to stdout
  card-image.py tear IMAGE PATH N   arms dmcard.py's tear hook: the N-th UPDATE
                                    BINARY into EF PATH (e.g. 5015/4406) pulls
                                    the card before it is carried out

The DODF is found through the ODF (5015/5031) and decoded with the classes
of make-card.py (asn1crypto). Exit status: 0 done; 1 bad arguments or an
image without that file; 2 (dodf) the DODF starts with 00 but holds data
(a write of it was cut), printed as "torn".
"""

import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("make_card", os.path.join(HERE, "make-card.py"))
mc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mc)


def load(image):
    with open(image, encoding="utf-8") as f:
        return json.load(f)


def ef_bytes(img, path):
    for ent in img["files"]:
        if ent["path"].upper() == path.upper() and "data" in ent:
            return bytes.fromhex(ent["data"])
    raise KeyError("no EF %s in the image" % path)


def der_items(data):
    """The DER values one after another, up to 00/FF padding."""
    i = 0
    while i < len(data) and data[i] not in (0x00, 0xFF):
        n = data[i + 1]
        head = 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[i + 2:i + 2 + k], "big")
            head = 2 + k
        yield data[i:i + head + n]
        i += head + n


def dodf_path(img):
    for item in der_items(ef_bytes(img, "5015/5031")):
        entry = mc.OdfEntry.load(item)
        if entry.name == "dataObjects":
            path = entry.chosen["path"].native.hex().upper()
            return "5015/" + path[-4:]
    raise KeyError("the ODF names no DODF")


def cmd_dodf(img):
    data = ef_bytes(img, dodf_path(img))
    if data[:1] == b"\x00" and any(b not in (0x00, 0xFF) for b in data[1:]):
        print("torn")
        return 2
    for item in der_items(data):
        do = mc.OpaqueDataObject.load(item)
        common = do["commonObjectAttributes"]
        flags = common["flags"].native if common["flags"].native else set()
        auth = common["authId"].native
        path = do["typeAttributes"]
        idx = path["index"].native
        length = path["length"].native
        print("|".join([
            common["label"].native or "",
            do["classAttributes"]["applicationName"].native or "",
            ",".join(f for f in ("private", "modifiable") if f in flags) or "-",
            auth.hex().upper() if auth else "-",
            path["path"].native.hex().upper(),
            "-" if idx is None else str(idx),
            "-" if length is None else str(length)]))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "dodf":
        return cmd_dodf(load(argv[2]))
    if len(argv) in (4, 6) and argv[1] == "bytes":
        data = ef_bytes(load(argv[2]), "5015/" + argv[3])
        if len(argv) == 6:
            data = data[int(argv[4]):int(argv[4]) + int(argv[5])]
        sys.stdout.buffer.write(data)
        return 0
    if len(argv) == 5 and argv[1] == "tear":
        img = load(argv[2])
        ef_bytes(img, argv[3])
        img["tear"] = {"path": argv[3], "n": int(argv[4])}
        with open(argv[2], "w", encoding="utf-8") as f:
            json.dump(img, f, indent=1)
        return 0
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, KeyError, ValueError) as e:
        print("card-image: %s" % e, file=sys.stderr)
        sys.exit(1)
