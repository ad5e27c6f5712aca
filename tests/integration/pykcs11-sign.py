#!/usr/bin/python3
"""Sign a file with a card key through Debian's python3-pykcs11.

Used by test-interop-python.sh: it opens a session on the token named by
its label, checks the session state before and after C_Login (and that a
second session shares the login), finds the private key by label, signs
the file, and writes the signature in the form openssl verifies (ECDSA's
r || s as a DER ECDSA-Sig-Value). It prints the key's CKA_PUBLIC_KEY_INFO
in hex ("spki=...").

Usage: pykcs11-sign.py MODULE TOKEN PIN KEY-LABEL SCHEME IN OUT
SCHEME: rsa-pkcs (CKM_SHA256_RSA_PKCS), rsa-pss (CKM_SHA256_RSA_PKCS_PSS,
MGF1-SHA-256, 32-byte salt), ecdsa (CKM_ECDSA_SHA256).
Exit codes: 0 signed; 1 a check failed (message on stderr); 2 bad usage;
3 the token refused the PIN (the PKCS#11 error on stderr).
"""

import sys

import PyKCS11


def fail(msg, code=1):
    print(f"pykcs11-sign: {msg}", file=sys.stderr)
    sys.exit(code)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_int(raw):
    """A DER INTEGER from unsigned big-endian bytes."""
    raw = raw.lstrip(b"\0") or b"\0"
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return b"\x02" + der_len(len(raw)) + raw


def ecdsa_der(sig):
    """PKCS#11 ECDSA gives r || s; X.509 and openssl use SEQUENCE { r, s }."""
    if len(sig) == 0 or len(sig) % 2:
        fail(f"an ECDSA signature of {len(sig)} bytes is not r || s")
    half = len(sig) // 2
    body = der_int(sig[:half]) + der_int(sig[half:])
    return b"\x30" + der_len(len(body)) + body


def session_state(session, want, what):
    state = session.getSessionInfo().state
    if state != want:
        fail(f"{what}: session state {PyKCS11.CKS[state]}, expected {PyKCS11.CKS[want]}")


def main(argv):
    if len(argv) != 8:
        fail(__doc__.split("\n\n")[2], 2)
    module, token, pin, label, scheme, infile, outfile = argv[1:]
    mechs = {
        "rsa-pkcs": PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None),
        "rsa-pss": PyKCS11.RSA_PSS_Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS_PSS, PyKCS11.CKM_SHA256,
                                             PyKCS11.CKG_MGF1_SHA256, 32),
        "ecdsa": PyKCS11.Mechanism(PyKCS11.CKM_ECDSA_SHA256, None),
    }
    if scheme not in mechs:
        fail(f"unknown scheme '{scheme}' (rsa-pkcs, rsa-pss, ecdsa)", 2)
    with open(infile, "rb") as f:
        data = f.read()

    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    info = lib.getInfo()
    if info.manufacturerID.strip() != "dmsc":
        fail(f"C_GetInfo: manufacturer '{info.manufacturerID.strip()}', expected 'dmsc'")
    slot = None
    for s in lib.getSlotList(tokenPresent=True):
        try:
            if lib.getTokenInfo(s).label.strip() == token:
                slot = s
                break
        except PyKCS11.PyKCS11Error:
            continue  # the spare slot's token is not initialised
    if slot is None:
        fail(f"no token labelled '{token}'")

    session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
    session_state(session, PyKCS11.CKS_RW_PUBLIC_SESSION, "before C_Login")
    if session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY)]):
        fail("private keys are visible before C_Login")
    try:
        session.login(pin)
    except PyKCS11.PyKCS11Error as e:
        fail(f"C_Login: {e}", 3)
    session_state(session, PyKCS11.CKS_RW_USER_FUNCTIONS, "after C_Login")
    # The login belongs to the application, not the session (PKCS#11 2.40
    # 5.6): a second session is logged in too.
    second = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
    session_state(second, PyKCS11.CKS_RO_USER_FUNCTIONS, "a second (read-only) session")
    second.closeSession()

    keys = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                                (PyKCS11.CKA_LABEL, label)])
    if len(keys) != 1:
        fail(f"{len(keys)} private keys labelled '{label}', expected 1")
    ktype = session.getAttributeValue(keys[0], [PyKCS11.CKA_KEY_TYPE])[0]
    want = PyKCS11.CKK_EC if scheme == "ecdsa" else PyKCS11.CKK_RSA
    if ktype != want:
        fail(f"key '{label}' is {PyKCS11.CKK[ktype]}, scheme {scheme} needs {PyKCS11.CKK[want]}")

    # CKA_PUBLIC_KEY_INFO: the SubjectPublicKeyInfo of the key's public half
    # (the test compares it with the public key pkcs11-tool reads).
    spki = bytes(session.getAttributeValue(keys[0], [PyKCS11.CKA_PUBLIC_KEY_INFO], allAsBinary=True)[0] or b"")
    if not spki:
        fail(f"key '{label}' has no CKA_PUBLIC_KEY_INFO")

    sig = bytes(session.sign(keys[0], data, mechs[scheme]))
    if scheme == "ecdsa":
        sig = ecdsa_der(sig)
    with open(outfile, "wb") as f:
        f.write(sig)
    session.logout()
    session_state(session, PyKCS11.CKS_RW_PUBLIC_SESSION, "after C_Logout")
    session.closeSession()
    print(f"signed {len(data)} bytes with '{label}' ({scheme}): {len(sig)} bytes")
    print(f"spki={spki.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
