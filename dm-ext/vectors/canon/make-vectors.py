#!/usr/bin/env python3
"""Writes the derived vectors of dm-ext/vectors/canon (see README): XML
variants of the hand-written messages, and the hand-made WBXML for what
libwbxml's xml2wbxml cannot write (attributes, bin OPAQUEs).
Run from this directory: python3 make-vectors.py"""

import re

# SyncML code page 0, MetInf code page 1 and DM DDF code page 2, tokens from
# 0x05 (SyncML Representation Protocol, section 8; SyncML Meta Information;
# OMA-TS-DM_TND-V1_2 section 8.6).
SYNCML = ("Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data "
          "Delete Exec Final Get Item Lang LocName LocURI Map MapItem Meta "
          "MsgID MsgRef NoResp NoResults Put Replace RespURI Results Search "
          "Sequence SessionID SftDel Source SourceRef Status Sync SyncBody "
          "SyncHdr SyncML Target TargetRef (reserved) VerDTD VerProto").split()
METINF = ("Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf "
          "Next NextNonce SharedMem Size Type Version MaxObjSize").split()
DMDDF = ("AccessType ACL Add b64 bin bool chr CaseSense CIS Copy CS date "
         "DDFName DefaultValue Delete Description DFFormat DFProperties "
         "DFTitle DFType Dynamic Exec float Format Get int Man MgmtTree MIME "
         "Mod Name Node node NodeName null Occurrence One OneOrMore OneOrN "
         "Path Permanent Replace RTProperties Scope Size time Title TStamp "
         "Type Value VerDTD VerNo xml ZeroOrMore ZeroOrN ZeroOrOne").split()


def mb(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, 0x80 | (n & 0x7F))
        n >>= 7
    return bytes(out)


class Writer:
    def __init__(self, literals):
        self.table = b""
        self.index = {}
        for name in literals:
            self.index[name] = len(self.table)
            self.table += name.encode() + b"\0"
        self.body = b""
        self.page = 0

    def el(self, name, *content, attrs=(), page=0):
        names = (SYNCML, METINF, DMDDF)[page]
        if name in names:
            if page != self.page:
                self.body += bytes([0x00, page])
                self.page = page
            tok = names.index(name) + 0x05
            index = b""
        else:                       # a literal tag on the current page
            tok = 0x04
            index = mb(self.index[name])
        tok |= 0x40 if content else 0
        tok |= 0x80 if attrs else 0
        self.body += bytes([tok]) + index
        if attrs:
            for key, value in attrs:
                self.body += b"\x04" + mb(self.index[key])
                self.body += b"\x03" + value.encode() + b"\0"
            self.body += b"\x01"
        for c in content:
            if callable(c):
                c()
            elif isinstance(c, bytes):      # OPAQUE
                self.body += b"\xC3" + mb(len(c)) + c
            else:                           # STR_I
                self.body += b"\x03" + c.encode() + b"\0"
        if content:
            self.body += b"\x01"

    def bytes(self):
        # WBXML 1.3, SyncML 1.2 (0x1201), UTF-8 (106), string table.
        return (b"\x03" + mb(0x1201) + mb(106) + mb(len(self.table)) +
                self.table + self.body)


def header(w, session, msg):
    e = w.el
    e("SyncHdr",
      lambda: e("VerDTD", "1.2"),
      lambda: e("VerProto", "DM/1.2"),
      lambda: e("SessionID", session),
      lambda: e("MsgID", msg),
      lambda: e("Target", lambda: e("LocURI", "IMEI:359881030314356")),
      lambda: e("Source",
                lambda: e("LocURI", "https://dm.operator.example/oma")))


def binary():
    """binary.bin.wbxml: binary.xml with Format bin and the bytes as OPAQUE."""
    data = b"\x00\xff" + bytes((i * 37 + 11) % 256 for i in range(98))
    w = Writer([])
    e = w.el
    item1 = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example/Certificate")),
        lambda: e("Meta",
                  lambda: e("Format", "bin", page=1),
                  lambda: e("Type", "application/octet-stream", page=1)),
        lambda: e("Data", data))
    item2 = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example/Label")),
        lambda: e("Data", "plain text, Format chr"))
    e("SyncML",
      lambda: header(w, "1A2C", "4"),
      lambda: e("SyncBody",
                lambda: e("Replace", lambda: e("CmdID", "2"), item1, item2),
                lambda: e("Final")))
    return w.bytes()


def inherit():
    """inherit.bin.wbxml: inherit.xml with the command's Format bin, the
    bytes of its Data and of the TNDS <bin/> Value in OPAQUEs, the chr Data
    as an OPAQUE of its characters (as libwbxml writes it), and the TNDS
    inline on code page 2."""
    key = bytes((i * 53 + 7) % 256 for i in range(48))
    secret = bytes([0x00, 0x01, 0x02, 0xFE, 0xFF]) + b"dm-key"
    w = Writer([])
    e = w.el
    d = lambda name, *c: e(name, *c, page=2)
    item1 = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example/Key")),
        lambda: e("Meta",
                  lambda: e("Type", "application/octet-stream", page=1)),
        lambda: e("Data", key))
    item2 = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example/Label")),
        lambda: e("Meta", lambda: e("Format", "chr", page=1)),
        lambda: e("Data", b"QUJD"))
    node = lambda name, fmt, value: d(
        "Node",
        lambda: d("NodeName", name),
        lambda: d("Path", "./Vendor/Example"),
        lambda: d("RTProperties", lambda: d("Format", lambda: d(fmt))),
        lambda: d("Value", value))
    tree = lambda: d("MgmtTree",
                     lambda: d("VerDTD", "1.2"),
                     lambda: node("Secret", "bin", secret),
                     lambda: node("Name", "chr", "QUJD"))
    item3 = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example")),
        lambda: e("Meta", lambda: e("Format", "xml", page=1)),
        lambda: e("Data", tree))
    e("SyncML",
      lambda: header(w, "1A2E", "6"),
      lambda: e("SyncBody",
                lambda: e("Replace", lambda: e("CmdID", "2"),
                          lambda: e("Meta",
                                    lambda: e("Format", "bin", page=1)),
                          item1, item2),
                lambda: e("Add", lambda: e("CmdID", "3"), item3),
                lambda: e("Final")))
    return w.bytes()


def attributes():
    """attrs.wbxml: attrs.a.xml, its Config and Entry as literal tags."""
    w = Writer(["Config", "Entry", "mode", "level", "name", "key", "value"])
    e = w.el
    config = lambda: e(
        "Config",
        lambda: e("Entry", attrs=[("value", "1"), ("key", "z")]),
        lambda: e("Entry", "two", attrs=[("key", "y"), ("value", "<2>")]),
        attrs=[("level", "3"), ("name", 'a&b "q"'), ("mode", "auto")])
    item = lambda: e(
        "Item",
        lambda: e("Target", lambda: e("LocURI", "./Vendor/Example/Config")),
        lambda: e("Meta",
                  lambda: e("Format", "xml", page=1),
                  lambda: e("Type", "text/xml", page=1)),
        lambda: e("Data", config))
    e("SyncML",
      lambda: header(w, "1A2D", "5"),
      lambda: e("SyncBody",
                lambda: e("Add", lambda: e("CmdID", "7"), item),
                lambda: e("Final")))
    return w.bytes()


def compact(xml, join_base64):
    """No declaration or DOCTYPE (the first two lines), no layout between
    tags; with join_base64, base64 Data and Value on one line."""
    c = re.sub(r">\s+<", "><", xml.split("\n", 2)[2]).strip()
    if not join_base64:
        return c
    return re.sub(r"<(Data|Value)>\s+([A-Za-z0-9+/=\s]+?)\s+</(Data|Value)>",
                  lambda m: "<%s>%s</%s>" % (m.group(1),
                                             "".join(m.group(2).split()),
                                             m.group(3)), c)


def replace_variants():
    pretty = open("replace.pretty.xml", encoding="utf-8").read()
    out = {"replace.compact.xml": compact(pretty, False)}

    attrs = pretty.replace(
        '<SyncML xmlns="SYNCML:SYNCML1.2">',
        "<SyncML\n    xmlns:unused = 'urn:example:unused'\n"
        "    xmlns='SYNCML:SYNCML1.2' >")
    attrs = attrs.replace('<Format xmlns="syncml:metinf">',
                          "<Format xmlns = 'syncml:metinf' >")
    attrs = attrs.replace('<MaxMsgSize xmlns="syncml:metinf">',
                          "<MaxMsgSize\n        xmlns='syncml:metinf'>")
    out["replace.attrs.xml"] = attrs.replace("<Final/>", "<Final\n    />")

    latin = pretty.replace('encoding="UTF-8"', "encoding='ISO-8859-1'")
    out["replace.latin1.xml"] = latin.encode("latin-1", "xmlcharrefreplace")

    com = pretty.replace(
        "<!DOCTYPE", "<!-- a DM 1.2 message, with comments -->\n"
        '<?dm-note signed="yes"?>\n<!DOCTYPE', 1)
    com = com.replace("<SyncHdr>", "<SyncHdr><!-- header -->", 1)
    com = com.replace(
        "<Data>Grüße, «Café» — 你好 &amp; &lt;ok&gt;</Data>",
        "<Data>Grüße, <!-- split -->«Café» — <?keep this?>你好 "
        "<![CDATA[& <ok>]]></Data>")
    com = com.replace("<CmdID>3</CmdID>",
                      "<!--\n      atomic: both or neither\n    -->\n"
                      "      <CmdID>3</CmdID>")
    out["replace.comment.xml"] = com.rstrip("\n") + "\n<!-- end -->\n"

    crlf = pretty.replace("\n", "\r\n")
    out["replace.crlf.xml"] = crlf.replace("<Data>200</Data>",
                                           "<Data>200</Data>\t")
    return out


if __name__ == "__main__":
    files = replace_variants()
    for name in ("binary", "tnds", "inherit"):
        with open(name + ".xml", encoding="utf-8") as f:
            files[name + ".compact.xml"] = compact(f.read(), True)
    for name in ("binary", "inherit"):
        with open(name + ".xml", encoding="utf-8") as f:
            files[name + ".bin.xml"] = f.read().replace(
                '<Format xmlns="syncml:metinf">b64</Format>',
                '<Format xmlns="syncml:metinf">bin</Format>')
    files["binary.bin.wbxml"] = binary()
    files["inherit.bin.wbxml"] = inherit()
    files["attrs.wbxml"] = attributes()
    for name, content in files.items():
        if isinstance(content, str):
            content = content.encode("utf-8")
        with open(name, "wb") as f:
            f.write(content)
