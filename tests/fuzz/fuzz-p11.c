/*
 * tests/fuzz/fuzz-p11.c - libFuzzer target driving random sequences of
 * PKCS#11 calls against a scratch virtual UICC.
 *
 * Each input is a program: one byte picks the next call (of some sixty:
 * every function of the 2.40 list but the blocking C_WaitForSlotEvent),
 * the following bytes its arguments: session, object and slot handles
 * (ones the module gave out earlier in the same input, or any number),
 * mechanisms (every one the module lists, or any number) with parameters
 * (well-formed structures with fuzzed fields, or raw bytes), templates
 * (known and unknown attribute types, well-typed or raw values, NULL
 * values and length queries), PINs (right, wrong, odd lengths), data and
 * output buffers (NULL length queries, too small, large enough).
 * Pointers the caller passes are always valid for the lengths it gives,
 * as the PKCS#11 contract asks of a caller; everything else is fair game.
 *
 * Before each input the card store is put back to the same scratch card
 * (made once, in LLVMFuzzerInitialize: an application "fuzz" with SO PIN
 * 87654321 and user PIN 1234 holding data objects, an AES key, an HMAC
 * key, EC, Ed25519 and RSA key pairs), the module is initialised, and
 * after it the module is finalised: every input runs from the same state,
 * so a crash reproduces from its input alone, and leaks are seen.
 *
 * The module's sources are compiled into the target (run-fuzz.sh builds
 * it with clang -fsanitize=fuzzer,address,undefined and
 * -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes the PIN KDF
 * cheap so that a sequence with a login runs in milliseconds, not 0.1 s).
 * The card lives in a temporary directory, removed at exit.
 *
 *   FUZZ_SECONDS=600 tests/fuzz/run-fuzz.sh p11
 * Replaying one input with DMSC_DEBUG=call shows the calls it makes and
 * what they returned.
 *
 * A crash found here becomes a regression case in module/test-module.c
 * (or its own unit test), and its input goes to tests/fuzz/corpus/p11.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "dmsc/pkcs11-dm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SO_PIN "87654321"
#define USER_PIN "1234"
#define MAX_CALLS 64
#define MAX_BUF 4096

static CK_FUNCTION_LIST_PTR p11;
static char work_dir[256], store_dir[300], pristine_dir[300];

/* ---------------------------------------------------------------- input */

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t u8(input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static uint16_t u16(input *in)
{
    return (uint16_t)(u8(in) | u8(in) << 8);
}

static CK_ULONG ulong_any(input *in)
{
    CK_ULONG v = 0;
    for (int i = 0; i < 4; i++)
        v |= (CK_ULONG)u8(in) << (8 * i);
    if (u8(in) & 1)
        v |= (CK_ULONG)u16(in) << 48;
    return v;
}

/* Everything malloc'd for one input, freed after it. */
static void *arena[16384];
static size_t n_arena;

/* Never NULL: a full arena or no memory is the harness's bug (abort). */
static void *alloc(size_t len)
{
    void *p = n_arena < sizeof(arena) / sizeof(arena[0]) ? calloc(1, len ? len : 1) : NULL;
    if (p == NULL)
        abort();
    arena[n_arena++] = p;
    return p;
}

static void arena_free(void)
{
    while (n_arena > 0)
        free(arena[--n_arena]);
}

/* len bytes from the input (zero-filled past its end), in a fresh buffer. */
static uint8_t *bytes(input *in, size_t len)
{
    uint8_t *b = alloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = u8(in);
    return b;
}

/* A short length, mostly small, sometimes up to MAX_BUF. */
static size_t length(input *in)
{
    uint8_t k = u8(in);
    if (k < 200)
        return k % 80;
    return u16(in) % (MAX_BUF + 1);
}

/* ---------------------------------------------------------------- pools */

static CK_SESSION_HANDLE sessions[16];
static size_t n_sessions;
static CK_OBJECT_HANDLE objects[64];
static size_t n_objects;
static CK_SLOT_ID slots[16];
static size_t n_slots;

static void add_session(CK_SESSION_HANDLE h)
{
    sessions[n_sessions++ % 16] = h;
    if (n_sessions > 16)
        n_sessions = 16;
}

static void add_object(CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < n_objects; i++)
        if (objects[i] == h)
            return;
    if (n_objects < 64)
        objects[n_objects++] = h;
    else
        objects[h % 64] = h;
}

static CK_ULONG pick(input *in, const CK_ULONG *pool, size_t n)
{
    uint8_t k = u8(in);
    if (k < 200 && n > 0)
        return pool[k % n];
    if (k < 220)
        return k % 32;
    if (k < 230)
        return 0;
    return ulong_any(in);
}

static CK_SESSION_HANDLE session(input *in)
{
    return pick(in, sessions, n_sessions);
}

static CK_OBJECT_HANDLE object(input *in)
{
    return pick(in, objects, n_objects);
}

static CK_SLOT_ID slot(input *in)
{
    return pick(in, slots, n_slots);
}

static void refresh_slots(void)
{
    CK_ULONG n = 16;
    if (p11->C_GetSlotList(CK_FALSE, slots, &n) == CKR_OK)
        n_slots = n;
}

/* ---------------------------------------------------------------- values */

/* A PIN: right user or SO PIN, a wrong one, or any bytes. */
static void pin(input *in, CK_UTF8CHAR_PTR *p, CK_ULONG *len)
{
    uint8_t k = u8(in) % 8;
    const char *fixed = NULL;
    switch (k) {
    case 0: case 1: case 2: fixed = USER_PIN; break;
    case 3: case 4: fixed = SO_PIN; break;
    case 5: fixed = "0000"; break;
    case 6:
        *p = NULL;
        *len = u8(in) & 1 ? 0 : u8(in);
        return;
    default:
        *len = u8(in) % 72;
        *p = bytes(in, *len);
        return;
    }
    *len = strlen(fixed);
    *p = alloc(*len);
    memcpy(*p, fixed, *len);
}

/* A small SyncML DM message the DM mechanisms can canonicalise. */
static const char dm_message[] =
    "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
    "<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target>"
    "<Source><LocURI>srv</LocURI></Source></SyncHdr><SyncBody><Replace><CmdID>2</CmdID>"
    "<Item><Target><LocURI>./DevInfo/Lang</LocURI></Target><Data>en</Data></Item></Replace>"
    "<Final/></SyncBody></SyncML>";

/* Input data for an operation: bytes, the DM message, or NULL. */
static void data(input *in, CK_BYTE_PTR *p, CK_ULONG *len)
{
    uint8_t k = u8(in) % 16;
    if (k == 0) {
        *p = NULL;
        *len = u8(in) & 1 ? 0 : length(in);
    } else if (k < 4) {
        *len = sizeof(dm_message) - 1;
        *p = alloc(*len);
        memcpy(*p, dm_message, *len);
    } else {
        *len = length(in);
        *p = bytes(in, *len);
    }
}

/* An output buffer: NULL (a length query, with any length in *len), or
 * a buffer of exactly *len bytes (too small or large enough). */
static void out_buf(input *in, CK_BYTE_PTR *p, CK_ULONG *len)
{
    uint8_t k = u8(in) % 8;
    if (k < 2) {
        *p = NULL;
        *len = k == 0 ? 0 : ulong_any(in);
        return;
    }
    *len = k < 5 ? 1024 : length(in);
    *p = alloc(*len);
}

static const CK_ATTRIBUTE_TYPE attr_types[] = {
    CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_APPLICATION, CKA_VALUE, CKA_OBJECT_ID,
    CKA_CERTIFICATE_TYPE, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
    CKA_CHECK_VALUE, CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE, CKA_ENCRYPT, CKA_DECRYPT,
    CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER, CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_DERIVE,
    CKA_START_DATE, CKA_END_DATE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
    CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_VALUE_LEN, CKA_EXTRACTABLE, CKA_LOCAL,
    CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE,
    CKA_COPYABLE, CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ALWAYS_AUTHENTICATE,
    CKA_WRAP_WITH_TRUSTED, CKA_ALLOWED_MECHANISMS, CKA_PUBLIC_KEY_INFO, CKA_URL,
    CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY, CKA_VENDOR_DEFINED,
};

static const CK_ULONG ulong_values[] = {
    CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY,
    CKK_RSA, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET, CKK_AES, CKK_SHA256_HMAC,
    CKC_X_509, 0, 1, 16, 24, 32, 64, 1024, 2048, 3072, (CK_ULONG)-1,
};

/* DER values for the byte attributes: EC parameters (P-256, Ed25519, the
 * printable form), a public exponent, the DM bootstrap OID. */
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t ed25519_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t ed25519_name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's',
                                        '2', '5', '5', '1', '9' };
static const uint8_t f4[] = { 0x01, 0x00, 0x01 };
static const uint8_t boot_oid[] = { 0x06, 0x05, 0x67, 0x2b, 0x07, 0x01 };

static void value_bytes(CK_ATTRIBUTE *a, const void *src, size_t len)
{
    a->pValue = alloc(len);
    memcpy(a->pValue, src, len);
    a->ulValueLen = len;
}

/* One attribute: a known or any type; a typed, canned or raw value, or
 * NULL (with any length: C_GetAttributeValue's length query). */
static void attribute(input *in, CK_ATTRIBUTE *a, bool for_get)
{
    uint8_t k = u8(in);
    if (k < 240)
        a->type = attr_types[k % (sizeof(attr_types) / sizeof(attr_types[0]))];
    else
        a->type = ulong_any(in) & ~CKF_ARRAY_ATTRIBUTE; /* never a nested template */
    uint8_t v = u8(in) % 16;
    if (for_get) {
        if (v < 6) {
            a->pValue = NULL;
            a->ulValueLen = v < 3 ? 0 : ulong_any(in);
        } else {
            a->ulValueLen = v < 12 ? 256 : length(in);
            a->pValue = alloc(a->ulValueLen);
        }
        return;
    }
    switch (v) {
    case 0:
        a->pValue = NULL;
        a->ulValueLen = 0;
        break;
    case 1: case 2: case 3: { /* CK_BBOOL */
        CK_BBOOL b = u8(in) % 3 == 0 ? CK_FALSE : CK_TRUE;
        value_bytes(a, &b, 1);
        break;
    }
    case 4: case 5: case 6: { /* CK_ULONG */
        uint8_t i = u8(in);
        CK_ULONG l = i < 240 ? ulong_values[i % (sizeof(ulong_values) / sizeof(ulong_values[0]))]
                             : ulong_any(in);
        value_bytes(a, &l, sizeof(l));
        break;
    }
    case 7:
        switch (u8(in) % 6) {
        case 0: value_bytes(a, p256_oid, sizeof(p256_oid)); break;
        case 1: value_bytes(a, ed25519_oid, sizeof(ed25519_oid)); break;
        case 2: value_bytes(a, ed25519_name, sizeof(ed25519_name)); break;
        case 3: value_bytes(a, f4, sizeof(f4)); break;
        case 4: value_bytes(a, boot_oid, sizeof(boot_oid)); break;
        default: value_bytes(a, "OMA-DM:MO", 9); break;
        }
        break;
    default:
        a->ulValueLen = length(in);
        a->pValue = bytes(in, a->ulValueLen);
        break;
    }
}

static CK_ATTRIBUTE *template(input *in, CK_ULONG *n, bool for_get)
{
    uint8_t k = u8(in);
    *n = k % 10;
    if (k >= 250)
        return NULL; /* with a count: CKR_ARGUMENTS_BAD, never a read */
    CK_ATTRIBUTE *t = alloc(sizeof(*t) * (*n ? *n : 1));
    for (CK_ULONG i = 0; i < *n; i++)
        attribute(in, &t[i], for_get);
    return t;
}

static const CK_MECHANISM_TYPE mechs[] = {
    CKM_MD5, CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512,
    CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS,
    CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS,
    CKM_RSA_PKCS_OAEP, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA512, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_GENERIC_SECRET_KEY_GEN,
    CKM_MD5_HMAC, CKM_SHA_1_HMAC, CKM_SHA256_HMAC, CKM_SHA512_HMAC, CKM_AES_KEY_GEN,
    CKM_AES_GCM, CKM_AES_CBC_PAD, CKM_AES_KEY_WRAP_PAD, CKM_AES_CBC, CKM_AES_ECB,
    CKM_DMSC_SHA256, CKM_DMSC_SHA256_RSA_PKCS, CKM_DMSC_SHA256_RSA_PKCS_PSS,
    CKM_DMSC_ECDSA_SHA256, CKM_DMSC_ECDSA_SHA384, CKM_DMSC_EDDSA, CKM_DMSC_SHA256_HMAC,
    CKM_DMSC_SYNCML_AUTH_MD5, CKM_DMSC_SYNCML_HMAC_MD5, CKM_DMSC_BOOTSTRAP_HMAC_SHA1,
};

/* Parameter sizes that hold pointers for some mechanism: raw bytes are
 * never passed with these lengths (a module may take them for the
 * structure and follow the pointers, which the caller must not break). */
static bool pointer_size(size_t len)
{
    return len == sizeof(CK_GCM_PARAMS) || len == sizeof(CK_RSA_PKCS_OAEP_PARAMS) ||
           len == sizeof(CK_DMSC_DM_PARAMS) || len == sizeof(CK_DMSC_SYNCML_AUTH_PARAMS) ||
           len == sizeof(CK_DMSC_BOOTSTRAP_PARAMS);
}

static void raw_param(input *in, CK_MECHANISM *m)
{
    size_t len = u8(in) % 40;
    if (pointer_size(len))
        len++;
    m->pParameter = u8(in) % 4 == 0 ? NULL : bytes(in, len);
    m->ulParameterLen = m->pParameter == NULL && u8(in) % 2 ? 0 : len;
}

static CK_MECHANISM *mechanism(input *in)
{
    CK_MECHANISM *m = alloc(sizeof(*m));
    uint8_t k = u8(in);
    m->mechanism = k < 245 ? mechs[k % (sizeof(mechs) / sizeof(mechs[0]))] : ulong_any(in);
    if (u8(in) % 5 == 0) {
        raw_param(in, m);
        return m;
    }
    switch (m->mechanism) {
    case CKM_AES_GCM: {
        CK_GCM_PARAMS *p = alloc(sizeof(*p));
        p->ulIvLen = u8(in) % 2 ? 12 : length(in);
        p->pIv = u8(in) % 8 == 0 ? NULL : bytes(in, p->ulIvLen);
        p->ulIvBits = p->ulIvLen * 8;
        p->ulAADLen = length(in);
        p->pAAD = u8(in) % 8 == 0 ? NULL : bytes(in, p->ulAADLen);
        p->ulTagBits = u8(in) % 2 ? 128 : u8(in);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    case CKM_AES_CBC_PAD: case CKM_AES_CBC:
        m->ulParameterLen = u8(in) % 2 ? 16 : u8(in) % 40;
        m->pParameter = bytes(in, m->ulParameterLen);
        break;
    case CKM_RSA_PKCS_OAEP: {
        CK_RSA_PKCS_OAEP_PARAMS *p = alloc(sizeof(*p));
        p->hashAlg = u8(in) % 2 ? CKM_SHA256 : mechs[u8(in) % 6];
        p->mgf = u8(in) % 2 ? CKG_MGF1_SHA256 : u8(in) % 6;
        p->source = u8(in) % 2 ? CKZ_DATA_SPECIFIED : ulong_any(in);
        p->ulSourceDataLen = length(in);
        p->pSourceData = u8(in) % 4 == 0 ? NULL : bytes(in, p->ulSourceDataLen);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    case CKM_RSA_PKCS_PSS: case CKM_SHA256_RSA_PKCS_PSS: case CKM_SHA384_RSA_PKCS_PSS:
    case CKM_DMSC_SHA256_RSA_PKCS_PSS: {
        CK_RSA_PKCS_PSS_PARAMS *p = alloc(sizeof(*p));
        p->hashAlg = u8(in) % 2 ? CKM_SHA256 : mechs[u8(in) % 6];
        p->mgf = u8(in) % 2 ? CKG_MGF1_SHA256 : u8(in) % 6;
        p->sLen = u8(in) % 2 ? 32 : ulong_any(in);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    case CKM_DMSC_SHA256: case CKM_DMSC_SHA256_RSA_PKCS: case CKM_DMSC_ECDSA_SHA256:
    case CKM_DMSC_ECDSA_SHA384: case CKM_DMSC_EDDSA: case CKM_DMSC_SHA256_HMAC: {
        if (u8(in) % 2) {
            m->pParameter = NULL;
            m->ulParameterLen = 0;
            break;
        }
        CK_DMSC_DM_PARAMS *p = alloc(sizeof(*p));
        p->unit = u8(in) % 4;
        p->ulCmdIDLen = u8(in) % 70;
        p->pCmdID = u8(in) % 4 == 0 ? NULL : bytes(in, p->ulCmdIDLen);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    case CKM_DMSC_SYNCML_AUTH_MD5: case CKM_DMSC_SYNCML_HMAC_MD5: {
        CK_DMSC_SYNCML_AUTH_PARAMS *p = alloc(sizeof(*p));
        p->ulUserNameLen = length(in);
        p->pUserName = u8(in) % 8 == 0 ? NULL : bytes(in, p->ulUserNameLen);
        p->ulNonceLen = length(in);
        p->pNonce = u8(in) % 8 == 0 ? NULL : bytes(in, p->ulNonceLen);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    case CKM_DMSC_BOOTSTRAP_HMAC_SHA1: {
        CK_DMSC_BOOTSTRAP_PARAMS *p = alloc(sizeof(*p));
        p->sec = u8(in) % 5;
        pin(in, &p->pUserPin, &p->ulUserPinLen);
        m->pParameter = p;
        m->ulParameterLen = sizeof(*p);
        break;
    }
    default:
        raw_param(in, m);
        break;
    }
    return m;
}

/* ---------------------------------------------------------------- calls */

static CK_USER_TYPE user_type(input *in)
{
    uint8_t k = u8(in) % 8;
    return k < 4 ? CKU_USER : k < 6 ? CKU_SO : k == 6 ? CKU_CONTEXT_SPECIFIC : ulong_any(in);
}

static void find_all(CK_SESSION_HANDLE s)
{
    if (p11->C_FindObjectsInit(s, NULL, 0) != CKR_OK)
        return;
    CK_OBJECT_HANDLE h[64];
    CK_ULONG n = 0;
    if (p11->C_FindObjects(s, h, 64, &n) == CKR_OK)
        for (CK_ULONG i = 0; i < n; i++)
            add_object(h[i]);
    p11->C_FindObjectsFinal(s);
}

typedef CK_RV (*crypt_init_fn)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
/* C_Encrypt, C_EncryptUpdate, C_Sign, C_DigestEncryptUpdate...: data in,
 * data out; they share one shape. */
typedef CK_RV (*one_shot_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*update_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG);
typedef CK_RV (*final_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR);

static void one_shot(input *in, one_shot_fn f)
{
    CK_BYTE_PTR d, o;
    CK_ULONG dl, ol;
    CK_SESSION_HANDLE s = session(in);
    data(in, &d, &dl);
    out_buf(in, &o, &ol);
    f(s, d, dl, o, u8(in) % 16 == 0 ? NULL : &ol);
}

static void final_out(input *in, final_fn f)
{
    CK_BYTE_PTR o;
    CK_ULONG ol;
    CK_SESSION_HANDLE s = session(in);
    out_buf(in, &o, &ol);
    f(s, o, u8(in) % 16 == 0 ? NULL : &ol);
}

static void update_in(input *in, update_fn f)
{
    CK_BYTE_PTR d;
    CK_ULONG dl;
    CK_SESSION_HANDLE s = session(in);
    data(in, &d, &dl);
    f(s, d, dl);
}

static void crypt_init(input *in, crypt_init_fn f)
{
    CK_SESSION_HANDLE s = session(in);
    CK_MECHANISM *m = mechanism(in);
    f(s, u8(in) % 16 == 0 ? NULL : m, object(in));
}

static void call(input *in)
{
    CK_RV rv;
    uint8_t op = u8(in) % 64;
    switch (op) {
    case 0: {
        CK_INFO info;
        p11->C_GetInfo(u8(in) % 16 == 0 ? NULL : &info);
        break;
    }
    case 1: {
        CK_ULONG n = u8(in) % 20;
        CK_SLOT_ID *list = u8(in) % 3 == 0 ? NULL : alloc(sizeof(*list) * (n ? n : 1));
        p11->C_GetSlotList(u8(in) & 1, list, u8(in) % 16 == 0 ? NULL : &n);
        break;
    }
    case 2: {
        CK_SLOT_INFO info;
        p11->C_GetSlotInfo(slot(in), u8(in) % 16 == 0 ? NULL : &info);
        break;
    }
    case 3: {
        CK_TOKEN_INFO info;
        p11->C_GetTokenInfo(slot(in), u8(in) % 16 == 0 ? NULL : &info);
        break;
    }
    case 4: {
        CK_ULONG n = u8(in) % 80;
        CK_MECHANISM_TYPE *list = u8(in) % 3 == 0 ? NULL : alloc(sizeof(*list) * (n ? n : 1));
        p11->C_GetMechanismList(slot(in), list, u8(in) % 16 == 0 ? NULL : &n);
        break;
    }
    case 5: {
        CK_MECHANISM_INFO info;
        CK_MECHANISM *m = mechanism(in);
        p11->C_GetMechanismInfo(slot(in), m->mechanism, u8(in) % 16 == 0 ? NULL : &info);
        break;
    }
    case 6: {
        CK_UTF8CHAR_PTR p;
        CK_ULONG l;
        CK_UTF8CHAR label[32];
        memset(label, ' ', sizeof(label));
        memcpy(label, u8(in) % 2 ? "fuzz" : "app2", 4);
        CK_SLOT_ID sl = slot(in);
        pin(in, &p, &l);
        p11->C_InitToken(sl, p, l, u8(in) % 16 == 0 ? NULL : label);
        refresh_slots();
        break;
    }
    case 7: {
        CK_UTF8CHAR_PTR p;
        CK_ULONG l;
        CK_SESSION_HANDLE s = session(in);
        pin(in, &p, &l);
        p11->C_InitPIN(s, p, l);
        break;
    }
    case 8: {
        CK_UTF8CHAR_PTR o, n;
        CK_ULONG ol, nl;
        CK_SESSION_HANDLE s = session(in);
        pin(in, &o, &ol);
        pin(in, &n, &nl);
        p11->C_SetPIN(s, o, ol, n, nl);
        break;
    }
    case 9: case 10: {
        CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
        uint8_t f = u8(in) % 8;
        CK_FLAGS flags = f < 5 ? CKF_SERIAL_SESSION | CKF_RW_SESSION
                       : f < 7 ? CKF_SERIAL_SESSION : ulong_any(in);
        rv = p11->C_OpenSession(slot(in), flags, NULL, NULL, u8(in) % 16 == 0 ? NULL : &h);
        if (rv == CKR_OK)
            add_session(h);
        break;
    }
    case 11:
        p11->C_CloseSession(session(in));
        break;
    case 12:
        p11->C_CloseAllSessions(slot(in));
        break;
    case 13: {
        CK_SESSION_INFO info;
        p11->C_GetSessionInfo(session(in), u8(in) % 16 == 0 ? NULL : &info);
        break;
    }
    case 14: case 15: case 16: {
        CK_UTF8CHAR_PTR p;
        CK_ULONG l;
        CK_SESSION_HANDLE s = session(in);
        CK_USER_TYPE t = user_type(in);
        pin(in, &p, &l);
        if (p11->C_Login(s, t, p, l) == CKR_OK)
            find_all(s);
        break;
    }
    case 17:
        p11->C_Logout(session(in));
        break;
    case 18: case 19: case 20: {
        CK_ULONG n;
        CK_SESSION_HANDLE s = session(in);
        CK_ATTRIBUTE *t = template(in, &n, false);
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        if (p11->C_CreateObject(s, t, n, u8(in) % 16 == 0 ? NULL : &h) == CKR_OK)
            add_object(h);
        break;
    }
    case 21: {
        CK_ULONG n;
        CK_SESSION_HANDLE s = session(in);
        CK_OBJECT_HANDLE o = object(in);
        CK_ATTRIBUTE *t = template(in, &n, false);
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        if (p11->C_CopyObject(s, o, t, n, u8(in) % 16 == 0 ? NULL : &h) == CKR_OK)
            add_object(h);
        break;
    }
    case 22: {
        CK_SESSION_HANDLE s = session(in);
        p11->C_DestroyObject(s, object(in));
        break;
    }
    case 23: {
        CK_ULONG size;
        CK_SESSION_HANDLE s = session(in);
        CK_OBJECT_HANDLE o = object(in);
        p11->C_GetObjectSize(s, o, u8(in) % 16 == 0 ? NULL : &size);
        break;
    }
    case 24: case 25: case 26: {
        CK_ULONG n;
        CK_SESSION_HANDLE s = session(in);
        CK_OBJECT_HANDLE o = object(in);
        CK_ATTRIBUTE *t = template(in, &n, true);
        p11->C_GetAttributeValue(s, o, t, n);
        break;
    }
    case 27: case 28: {
        CK_ULONG n;
        CK_SESSION_HANDLE s = session(in);
        CK_OBJECT_HANDLE o = object(in);
        CK_ATTRIBUTE *t = template(in, &n, false);
        p11->C_SetAttributeValue(s, o, t, n);
        break;
    }
    case 29: case 30: {
        CK_ULONG n;
        CK_SESSION_HANDLE s = session(in);
        CK_ATTRIBUTE *t = template(in, &n, false);
        p11->C_FindObjectsInit(s, t, n);
        break;
    }
    case 31: {
        CK_SESSION_HANDLE s = session(in);
        CK_ULONG max = u8(in) % 70, n = 0;
        CK_OBJECT_HANDLE *h = u8(in) % 16 == 0 ? NULL : alloc(sizeof(*h) * (max ? max : 1));
        if (p11->C_FindObjects(s, h, max, u8(in) % 16 == 0 ? NULL : &n) == CKR_OK && h != NULL)
            for (CK_ULONG i = 0; i < n && i < max; i++)
                add_object(h[i]);
        break;
    }
    case 32:
        p11->C_FindObjectsFinal(session(in));
        break;
    case 33: crypt_init(in, p11->C_EncryptInit); break;
    case 34: one_shot(in, p11->C_Encrypt); break;
    case 35: one_shot(in, p11->C_EncryptUpdate); break;
    case 36: final_out(in, p11->C_EncryptFinal); break;
    case 37: crypt_init(in, p11->C_DecryptInit); break;
    case 38: one_shot(in, p11->C_Decrypt); break;
    case 39: one_shot(in, p11->C_DecryptUpdate); break;
    case 40: final_out(in, p11->C_DecryptFinal); break;
    case 41: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        p11->C_DigestInit(s, u8(in) % 16 == 0 ? NULL : m);
        break;
    }
    case 42: one_shot(in, p11->C_Digest); break;
    case 43: update_in(in, p11->C_DigestUpdate); break;
    case 44: {
        CK_SESSION_HANDLE s = session(in);
        p11->C_DigestKey(s, object(in));
        break;
    }
    case 45: final_out(in, p11->C_DigestFinal); break;
    case 46: case 47: crypt_init(in, p11->C_SignInit); break;
    case 48: one_shot(in, p11->C_Sign); break;
    case 49: update_in(in, p11->C_SignUpdate); break;
    case 50: final_out(in, p11->C_SignFinal); break;
    case 51: case 52: crypt_init(in, p11->C_VerifyInit); break;
    case 53: {
        CK_BYTE_PTR d, sig;
        CK_ULONG dl, sl;
        CK_SESSION_HANDLE s = session(in);
        data(in, &d, &dl);
        data(in, &sig, &sl);
        p11->C_Verify(s, d, dl, sig, sl);
        break;
    }
    case 54: update_in(in, p11->C_VerifyUpdate); break;
    case 55: {
        CK_BYTE_PTR sig;
        CK_ULONG sl;
        CK_SESSION_HANDLE s = session(in);
        data(in, &sig, &sl);
        p11->C_VerifyFinal(s, sig, sl);
        break;
    }
    case 56: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        CK_ULONG n;
        CK_ATTRIBUTE *t = template(in, &n, false);
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        if (p11->C_GenerateKey(s, m, t, n, u8(in) % 16 == 0 ? NULL : &h) == CKR_OK)
            add_object(h);
        break;
    }
    case 57: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        CK_ULONG npub, npriv;
        CK_ATTRIBUTE *pub = template(in, &npub, false);
        CK_ATTRIBUTE *priv = template(in, &npriv, false);
        CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
        /* RSA key generation takes long: only with a 2048-bit template. */
        if (m->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
            for (CK_ULONG i = 0; pub != NULL && i < npub; i++)
                if (pub[i].type == CKA_MODULUS_BITS && pub[i].pValue != NULL &&
                    pub[i].ulValueLen == sizeof(CK_ULONG))
                    *(CK_ULONG *)pub[i].pValue = 2048;
        if (p11->C_GenerateKeyPair(s, m, pub, npub, priv, npriv, &hpub, &hpriv) == CKR_OK) {
            add_object(hpub);
            add_object(hpriv);
        }
        break;
    }
    case 58: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        CK_OBJECT_HANDLE wrapping = object(in), key = object(in);
        CK_BYTE_PTR o;
        CK_ULONG ol;
        out_buf(in, &o, &ol);
        p11->C_WrapKey(s, m, wrapping, key, o, u8(in) % 16 == 0 ? NULL : &ol);
        break;
    }
    case 59: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        CK_OBJECT_HANDLE unwrapping = object(in);
        CK_BYTE_PTR d;
        CK_ULONG dl, n;
        data(in, &d, &dl);
        CK_ATTRIBUTE *t = template(in, &n, false);
        CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
        if (p11->C_UnwrapKey(s, m, unwrapping, d, dl, t, n, &h) == CKR_OK)
            add_object(h);
        break;
    }
    case 60: {
        CK_SESSION_HANDLE s = session(in);
        CK_MECHANISM *m = mechanism(in);
        CK_OBJECT_HANDLE base = object(in), h = CK_INVALID_HANDLE;
        CK_ULONG n;
        CK_ATTRIBUTE *t = template(in, &n, false);
        p11->C_DeriveKey(s, m, base, t, n, &h);
        break;
    }
    case 61: {
        CK_SESSION_HANDLE s = session(in);
        CK_ULONG l = length(in);
        CK_BYTE_PTR b = u8(in) % 16 == 0 ? NULL : alloc(l);
        if (u8(in) % 2)
            p11->C_GenerateRandom(s, b, l);
        else
            p11->C_SeedRandom(s, b, b ? l : 0);
        break;
    }
    case 62: {
        /* The rarely used rest: operation state, dual functions, recover,
         * parallel-function stubs, a non-blocking slot event, and
         * finalising and initialising again in the middle. */
        CK_SESSION_HANDLE s = session(in);
        CK_BYTE_PTR o, d;
        CK_ULONG ol, dl;
        switch (u8(in) % 12) {
        case 0: out_buf(in, &o, &ol); p11->C_GetOperationState(s, o, &ol); break;
        case 1: data(in, &d, &dl); p11->C_SetOperationState(s, d, dl, 0, 0); break;
        case 2: crypt_init(in, p11->C_SignRecoverInit); break;
        case 3: one_shot(in, p11->C_SignRecover); break;
        case 4: crypt_init(in, p11->C_VerifyRecoverInit); break;
        case 5: one_shot(in, p11->C_VerifyRecover); break;
        case 6: one_shot(in, p11->C_DigestEncryptUpdate); break;
        case 7: one_shot(in, p11->C_DecryptVerifyUpdate); break;
        case 8: one_shot(in, p11->C_SignEncryptUpdate); break;
        case 9: p11->C_GetFunctionStatus(s); p11->C_CancelFunction(s); break;
        case 10: {
            CK_SLOT_ID sl;
            p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &sl, NULL);
            break;
        }
        default:
            p11->C_Finalize(NULL);
            n_sessions = 0;
            p11->C_Initialize(NULL);
            refresh_slots();
            break;
        }
        break;
    }
    default: {
        /* Look around: every object the session sees joins the pool. */
        find_all(session(in));
        break;
    }
    }
}

/* ---------------------------------------------------------------- the card */

static void die(const char *what)
{
    fprintf(stderr, "fuzz-p11: %s\n", what);
    abort();
}

static void copy_dir(const char *from, const char *to)
{
    DIR *d = opendir(to);
    struct dirent *e;
    char a[600], b[600];
    if (d != NULL) { /* empty the target first */
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.') {
                snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
                unlink(b);
            }
        closedir(d);
    } else if (mkdir(to, 0700) != 0) {
        die("cannot make the store directory");
    }
    if ((d = opendir(from)) == NULL)
        die("cannot open the pristine store");
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0)
            die("cannot copy the store");
        char buf[65536];
        ssize_t r;
        while ((r = read(in, buf, sizeof(buf))) > 0)
            if (write(out, buf, (size_t)r) != r)
                die("cannot copy the store");
        close(in);
        close(out);
    }
    closedir(d);
}

static void remove_work(void)
{
    char cmd[400];
    if (work_dir[0] == '\0')
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz-p11: could not remove %s\n", work_dir);
}

#define MUST(call)                                                                  \
    do {                                                                            \
        CK_RV must_rv = (call);                                                     \
        if (must_rv != CKR_OK) {                                                    \
            fprintf(stderr, "fuzz-p11: %s = 0x%lx\n", #call, (unsigned long)must_rv); \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* The scratch card: application "fuzz" with keys and objects of each kind. */
static void make_card(void)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_SLOT_ID list[8];
    CK_ULONG n = 8;
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h, h2;

    MUST(p11->C_Initialize(NULL));
    MUST(p11->C_GetSlotList(CK_TRUE, list, &n));
    if (n != 1)
        die("a new store should show one spare slot");
    memset(label, ' ', sizeof(label));
    memcpy(label, "fuzz", 4);
    MUST(p11->C_InitToken(list[0], (CK_UTF8CHAR_PTR)SO_PIN, 8, label));
    MUST(p11->C_OpenSession(list[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    MUST(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, 8));
    MUST(p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, 4));
    MUST(p11->C_Logout(s));
    MUST(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 4));

    CK_OBJECT_CLASS data_class = CKO_DATA;
    static const char mo[] = "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD></MgmtTree>";
    CK_ATTRIBUTE pub_data[] = {
        { CKA_CLASS, &data_class, sizeof(data_class) }, { CKA_TOKEN, &yes, 1 },
        { CKA_LABEL, "./DMAcc/X", 9 }, { CKA_APPLICATION, "OMA-DM:MO", 9 },
        { CKA_VALUE, (void *)mo, sizeof(mo) - 1 },
    };
    MUST(p11->C_CreateObject(s, pub_data, 5, &h));
    CK_ATTRIBUTE priv_data[] = {
        { CKA_CLASS, &data_class, sizeof(data_class) }, { CKA_TOKEN, &yes, 1 },
        { CKA_PRIVATE, &yes, 1 }, { CKA_LABEL, "secret", 6 }, { CKA_VALUE, "hidden", 6 },
    };
    MUST(p11->C_CreateObject(s, priv_data, 5, &h));

    CK_ULONG len32 = 32;
    CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_ATTRIBUTE aes[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "aes", 3 }, { CKA_VALUE_LEN, &len32, sizeof(len32) },
        { CKA_ENCRYPT, &yes, 1 }, { CKA_DECRYPT, &yes, 1 }, { CKA_WRAP, &yes, 1 },
        { CKA_UNWRAP, &yes, 1 }, { CKA_EXTRACTABLE, &yes, 1 }, { CKA_SENSITIVE, &no, 1 },
    };
    MUST(p11->C_GenerateKey(s, &aes_gen, aes, 9, &h));
    CK_MECHANISM gen_gen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    CK_ATTRIBUTE hmac[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "hmac", 4 }, { CKA_VALUE_LEN, &len32, sizeof(len32) },
        { CKA_SIGN, &yes, 1 }, { CKA_VERIFY, &yes, 1 }, { CKA_EXTRACTABLE, &yes, 1 },
    };
    MUST(p11->C_GenerateKey(s, &gen_gen, hmac, 6, &h));

    CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE ec_pub[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ec", 2 }, { CKA_ID, "\x01", 1 },
        { CKA_EC_PARAMS, (void *)p256_oid, sizeof(p256_oid) }, { CKA_VERIFY, &yes, 1 },
    };
    CK_ATTRIBUTE ec_priv[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ec", 2 }, { CKA_ID, "\x01", 1 },
        { CKA_SIGN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
    };
    MUST(p11->C_GenerateKeyPair(s, &ec_gen, ec_pub, 5, ec_priv, 5, &h, &h2));
    CK_MECHANISM ed_gen = { CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE ed_pub[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ed", 2 },
        { CKA_EC_PARAMS, (void *)ed25519_name, sizeof(ed25519_name) }, { CKA_VERIFY, &yes, 1 },
    };
    CK_ATTRIBUTE ed_priv[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ed", 2 }, { CKA_SIGN, &yes, 1 } };
    MUST(p11->C_GenerateKeyPair(s, &ed_gen, ed_pub, 4, ed_priv, 3, &h, &h2));
    CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE rsa_pub[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "rsa", 3 }, { CKA_MODULUS_BITS, &bits, sizeof(bits) },
        { CKA_PUBLIC_EXPONENT, (void *)f4, sizeof(f4) }, { CKA_VERIFY, &yes, 1 },
        { CKA_ENCRYPT, &yes, 1 }, { CKA_WRAP, &yes, 1 },
    };
    CK_ATTRIBUTE rsa_priv[] = {
        { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "rsa", 3 }, { CKA_SIGN, &yes, 1 },
        { CKA_DECRYPT, &yes, 1 }, { CKA_UNWRAP, &yes, 1 },
    };
    MUST(p11->C_GenerateKeyPair(s, &rsa_gen, rsa_pub, 7, rsa_priv, 5, &h, &h2));
    MUST(p11->C_Finalize(NULL));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof(work_dir), "%s/dmsc-fuzz-p11.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(work_dir) == NULL)
        die("cannot make a temporary directory");
    atexit(remove_work);
    snprintf(store_dir, sizeof(store_dir), "%s/store", work_dir);
    snprintf(pristine_dir, sizeof(pristine_dir), "%s/pristine", work_dir);
    char conf[320];
    snprintf(conf, sizeof(conf), "%s/dmsc.conf", work_dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        die("cannot write the configuration file");
    fclose(f);
    setenv("DMSC_STORE", store_dir, 1);
    setenv("DMSC_CONF", conf, 1);

    if (C_GetFunctionList(&p11) != CKR_OK)
        die("C_GetFunctionList failed");
    make_card();
    copy_dir(store_dir, pristine_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data_in, size_t size)
{
    input in = { data_in, size };
    copy_dir(pristine_dir, store_dir);
    n_sessions = n_objects = n_slots = 0;
    if (p11->C_Initialize(NULL) != CKR_OK)
        die("C_Initialize failed on the scratch card");
    refresh_slots();
    /* One session to start from, and the objects it sees. */
    CK_SESSION_HANDLE s;
    if (n_slots > 0 &&
        p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) == CKR_OK) {
        add_session(s);
        find_all(s);
    }
    for (int i = 0; i < MAX_CALLS && in.n > 0; i++)
        call(&in);
    p11->C_Finalize(NULL);
    arena_free();
    return 0;
}
