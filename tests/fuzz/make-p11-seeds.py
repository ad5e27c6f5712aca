#!/usr/bin/env python3
"""Write the seed corpus of the PKCS#11 call-sequence fuzz target.

    python3 tests/fuzz/make-p11-seeds.py tests/fuzz/corpus/p11

Each seed is a short, meaningful program in fuzz-p11.c's encoding (one
byte picks a call, the next ones its arguments), so the fuzzer starts from
sequences that reach deep: log in, then sign, verify, encrypt, decrypt,
digest, wrap, unwrap, create, copy, change, find and destroy objects,
change PINs, re-initialise the token. The byte values below follow the
switch cases and choosers of fuzz-p11.c: change one, change both.
"""
import os
import sys

# Call numbers (fuzz-p11.c, call(): the op byte modulo 64).
GET_TOKEN_INFO, INIT_TOKEN, INIT_PIN, SET_PIN, OPEN = 3, 6, 7, 8, 9
CLOSE, LOGIN, LOGOUT, CREATE, COPY, DESTROY, SIZE = 11, 14, 17, 18, 21, 22, 23
GET_ATTR, SET_ATTR, FIND_INIT, FIND, FIND_FINAL = 24, 27, 29, 31, 32
ENC_INIT, ENC, ENC_UPD, ENC_FINAL = 33, 34, 35, 36
DEC_INIT, DEC = 37, 38
DIG_INIT, DIG, DIG_UPD, DIG_KEY, DIG_FINAL = 41, 42, 43, 44, 45
SIGN_INIT, SIGN, SIGN_UPD, SIGN_FINAL = 46, 48, 49, 50
VER_INIT, VERIFY = 51, 53
GEN_KEY, GEN_PAIR, WRAP, UNWRAP, RANDOM, MISC, FIND_ALL = 56, 57, 58, 59, 61, 62, 63

# Mechanism indexes in fuzz-p11.c's mechs[].
MECHS = ["MD5", "SHA_1", "SHA224", "SHA256", "SHA384", "SHA512",
         "RSA_GEN", "RSA_PKCS", "SHA1_RSA_PKCS", "SHA256_RSA_PKCS", "SHA512_RSA_PKCS",
         "RSA_PSS", "SHA256_RSA_PSS", "SHA384_RSA_PSS", "RSA_OAEP", "EC_GEN", "ECDSA",
         "ECDSA_SHA1", "ECDSA_SHA256", "ECDSA_SHA512", "ED_GEN", "EDDSA", "GENERIC_GEN",
         "MD5_HMAC", "SHA_1_HMAC", "SHA256_HMAC", "SHA512_HMAC", "AES_GEN", "AES_GCM",
         "AES_CBC_PAD", "AES_WRAP_PAD", "AES_CBC", "AES_ECB", "DMSC_SHA256",
         "DMSC_SHA256_RSA", "DMSC_SHA256_RSA_PSS", "DMSC_ECDSA_SHA256", "DMSC_ECDSA_SHA384",
         "DMSC_EDDSA", "DMSC_SHA256_HMAC", "DMSC_AUTH_MD5", "DMSC_HMAC_MD5", "DMSC_BOOT"]


def m(name):
    return MECHS.index(name)


SESSION0 = [0]          # pick(): k < 200 -> the pool's first entry
USER, SO = [0], [4]     # user_type()
PIN_USER, PIN_SO, PIN_WRONG = [0], [3], [5]


def obj(i):             # pick(): the pool's entry i modulo its size
    return [i]


def login(who=USER, pin=PIN_USER):
    return [LOGIN] + SESSION0 + who + pin


def no_param(name):     # a mechanism with no parameter (raw, NULL, length 0)
    return [m(name), 0, 0, 0, 1]


def dm_data():          # data(): the canned DM message
    return [1]


def raw_data(payload):  # data(): k >= 4, length < 80, the bytes
    return [4, len(payload)] + list(payload)


def out_1024():         # out_buf(): a 1024-byte buffer
    return [2]


def query():            # out_buf(): NULL, length 0
    return [0]


def with_len():         # the length pointer given (not NULL)
    return [1]


def sign_with(mech, key):
    return ([SIGN_INIT] + SESSION0 + mech + [1] + obj(key)
            + [SIGN] + SESSION0 + dm_data() + query() + with_len()
            + [SIGN_INIT] + SESSION0 + mech + [1] + obj(key)
            + [SIGN] + SESSION0 + dm_data() + out_1024() + with_len())


def template(attrs):    # attrs: list of byte lists, one per attribute
    out = [len(attrs)]
    for a in attrs:
        out += a
    return out


CKA = {"CLASS": 0, "TOKEN": 1, "PRIVATE": 2, "LABEL": 3, "APPLICATION": 4, "VALUE": 5,
       "ID": 15, "SENSITIVE": 16, "ENCRYPT": 17, "SIGN": 21, "VALUE_LEN": 33,
       "EXTRACTABLE": 34, "EC_PARAMS": 42}


def a_bool(t, v=True):
    return [CKA[t], 1, 1 if v else 0]


def a_ulong(t, index):  # ulong_values[index]
    return [CKA[t], 4, index]


def a_bytes(t, payload):
    return [CKA[t], 8, len(payload)] + list(payload)


def a_canned(t, which):  # 0 P-256 OID, 1 Ed25519 OID, 2 its name, 3 F4, 4 bootstrap OID, 5 OMA-DM:MO
    return [CKA[t], 7, which]


SEEDS = {}
SEEDS["login-logout"] = login() + [GET_TOKEN_INFO, 0] + [LOGOUT] + SESSION0
SEEDS["wrong-pins"] = login(pin=PIN_WRONG) * 2 + login() + login(SO, PIN_WRONG)
SEEDS["lock-user-pin"] = login(pin=PIN_WRONG) * 3 + login() + login(SO, PIN_SO) + [INIT_PIN] + SESSION0 + PIN_USER
SEEDS["set-pin"] = login() + [SET_PIN] + SESSION0 + PIN_USER + PIN_WRONG + [LOGOUT] + SESSION0 + login(pin=PIN_WRONG)
SEEDS["reinit-token"] = [INIT_TOKEN, 1, 0] + PIN_SO + [1] + [OPEN, 0, 0, 1] + login(SO, PIN_SO)
for key in range(12):
    SEEDS[f"sign-ecdsa-key{key}"] = login() + sign_with(no_param("ECDSA_SHA256"), key)
    SEEDS[f"sign-dm-key{key}"] = login() + sign_with(no_param("DMSC_ECDSA_SHA256"), key)
for name in ["SHA256_RSA_PKCS", "EDDSA", "SHA256_HMAC", "DMSC_SHA256_HMAC", "DMSC_EDDSA",
             "DMSC_SHA256_RSA", "RSA_PKCS"]:
    SEEDS[f"sign-{name.lower()}"] = login() + sum((sign_with(no_param(name), k) for k in range(8)), [])
SEEDS["sign-multipart"] = login() + [SIGN_INIT] + SESSION0 + no_param("SHA256_HMAC") + [1] + obj(3) + \
    [SIGN_UPD] + SESSION0 + raw_data(b"abc") + [SIGN_UPD] + SESSION0 + dm_data() + \
    [SIGN_FINAL] + SESSION0 + out_1024() + with_len()
SEEDS["sign-pss"] = login() + sum(([SIGN_INIT] + SESSION0 + [m("SHA256_RSA_PSS"), 1, 1, 1, 1] + [1] + obj(k)
                                   + [SIGN] + SESSION0 + dm_data() + out_1024() + with_len()
                                   for k in range(8)), [])
SEEDS["verify"] = login() + sum(([VER_INIT] + SESSION0 + no_param("ECDSA_SHA256") + [1] + obj(k)
                                 + [VERIFY] + SESSION0 + dm_data() + raw_data(bytes(64))
                                 for k in range(8)), [])
SEEDS["digest"] = [DIG_INIT] + SESSION0 + no_param("SHA256") + [1] + [DIG] + SESSION0 + dm_data() + \
    out_1024() + with_len() + [DIG_INIT] + SESSION0 + [m("DMSC_SHA256"), 1, 1] + [1] + \
    [DIG_UPD] + SESSION0 + dm_data() + [DIG_FINAL] + SESSION0 + query() + with_len()
SEEDS["digest-key"] = login() + [DIG_INIT] + SESSION0 + no_param("SHA256") + [1] + \
    sum(([DIG_KEY] + SESSION0 + obj(k) for k in range(8)), []) + [DIG_FINAL] + SESSION0 + out_1024() + with_len()
SEEDS["aes-gcm"] = login() + sum(([ENC_INIT] + SESSION0 + [m("AES_GCM"), 1, 1, 1] + [12] * 12 + [4, 1, 0, 0, 0, 0, 1]
                                  + [1] + obj(k) + [ENC] + SESSION0 + raw_data(b"plain text")
                                  + out_1024() + with_len() for k in range(8)), [])
SEEDS["aes-cbc-pad"] = login() + sum(([ENC_INIT] + SESSION0 + [m("AES_CBC_PAD"), 1, 1] + [7] * 16 + [1] + obj(k)
                                      + [ENC_UPD] + SESSION0 + raw_data(b"0123456789abcdef!") + out_1024() + with_len()
                                      + [ENC_FINAL] + SESSION0 + out_1024() + with_len()
                                      + [DEC_INIT] + SESSION0 + [m("AES_CBC_PAD"), 1, 1] + [7] * 16 + [1] + obj(k)
                                      + [DEC] + SESSION0 + raw_data(bytes(32)) + out_1024() + with_len()
                                      for k in range(8)), [])
SEEDS["rsa-oaep"] = login() + sum(([ENC_INIT] + SESSION0 + [m("RSA_OAEP"), 1, 1, 1, 1, 0, 1] + [1] + obj(k)
                                   + [ENC] + SESSION0 + raw_data(b"secret") + out_1024() + with_len()
                                   for k in range(8)), [])
SEEDS["create-data"] = login() + [CREATE] + SESSION0 + template([
    [CKA["CLASS"], 4, 0], a_bool("TOKEN"), a_bytes("LABEL", b"./DMAcc/Y"), a_canned("APPLICATION", 5),
    a_bytes("VALUE", b"<MgmtTree/>")]) + [1] + [FIND_ALL] + SESSION0
SEEDS["create-private-then-destroy"] = login() + [CREATE] + SESSION0 + template([
    [CKA["CLASS"], 4, 0], a_bool("TOKEN"), a_bool("PRIVATE"), a_bytes("VALUE", b"v")]) + [1] + \
    sum(([DESTROY] + SESSION0 + obj(k) for k in range(10, 14)), [])
SEEDS["copy-set-get"] = login() + sum(([COPY] + SESSION0 + obj(k) + template([a_bytes("LABEL", b"copy")]) + [1]
                                       + [SET_ATTR] + SESSION0 + obj(k) + template([a_bytes("LABEL", b"new")])
                                       + [GET_ATTR] + SESSION0 + obj(k) + [3, 3, 8, 5, 8, 5, 0]
                                       + [SIZE] + SESSION0 + obj(k) + [1] for k in range(10)), [])
SEEDS["find"] = login() + [FIND_INIT] + SESSION0 + template([a_bytes("LABEL", b"ec")]) + \
    [FIND] + SESSION0 + [10, 1, 1] + [FIND_FINAL] + SESSION0 + \
    [FIND_INIT] + SESSION0 + template([a_ulong("CLASS", 4)]) + [FIND] + SESSION0 + [64, 1, 1]
SEEDS["gen-aes"] = login() + [GEN_KEY] + SESSION0 + no_param("AES_GEN") + template([
    a_ulong("VALUE_LEN", 16), a_bool("TOKEN"), a_bool("EXTRACTABLE")]) + [1] + [FIND_ALL] + SESSION0
SEEDS["gen-ec"] = login() + [GEN_PAIR] + SESSION0 + no_param("EC_GEN") + template([
    a_canned("EC_PARAMS", 0), a_bool("TOKEN")]) + template([a_bool("TOKEN"), a_bool("SIGN")])
SEEDS["gen-ed25519"] = login() + [GEN_PAIR] + SESSION0 + no_param("ED_GEN") + template([
    a_canned("EC_PARAMS", 2)]) + template([a_bool("SIGN")])
SEEDS["wrap-unwrap"] = login() + sum(([WRAP] + SESSION0 + no_param("AES_WRAP_PAD") + obj(a) + obj(b)
                                      + out_1024() + with_len()
                                      + [UNWRAP] + SESSION0 + no_param("AES_WRAP_PAD") + obj(a) + raw_data(bytes(40))
                                      + template([[CKA["CLASS"], 4, 4], [13, 4, 9]])
                                      for a in range(6) for b in range(6)), [])
SEEDS["syncml-auth"] = login() + sum(([SIGN_INIT] + SESSION0 + [m("DMSC_AUTH_MD5"), 1, 4, 4] + list(b"user")
                                      + [8, 1] + list(b"noncenon") + [1] + obj(k)
                                      + [SIGN] + SESSION0 + [0, 1] + out_1024() + with_len()
                                      for k in range(10)), [])
SEEDS["bootstrap-mac"] = sum(([VER_INIT] + SESSION0 + [m("DMSC_BOOT"), 1, 0, 6, 1] + [1] + obj(k)
                              + [VERIFY] + SESSION0 + raw_data(bytes(30)) + raw_data(b"0" * 40)
                              for k in range(8)), [])
SEEDS["random"] = [RANDOM] + SESSION0 + [32, 1, 1] + [RANDOM] + SESSION0 + [16, 1, 0]
SEEDS["sessions"] = [OPEN, 0, 0, 1] * 3 + [CLOSE, 1] + [12, 0] + [MISC] + SESSION0 + [11]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-p11-seeds.py DIRECTORY")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, prog in SEEDS.items():
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(bytes(b & 0xFF for b in prog))
    print(f"{len(SEEDS)} seeds in {sys.argv[1]}")


if __name__ == "__main__":
    main()
