/*
 * The module over several backends at once, with a removable card and
 * keys that stay on the card, through the real PKCS#11 entry points.
 *
 * The card is a small backend of this test's own ("reader 0" with a card
 * that can be taken out, put back, swapped or reset; "reader 1" empty),
 * registered beside the virtual UICC with dmsc_state_test_backends. Its
 * sign op signs with OpenSSL keys this test holds, as a card would with
 * keys the module never sees; every signature is checked with OpenSSL on
 * the public key, or with the module's own software verification on the
 * card's public key object. Every test runs in its own process (Check's
 * fork mode) on its own store.
 */
#include "attrs.h"
#include "backend.h"
#include "state.h"

#include <dmsc/pkcs11-dm.h>

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RV_EQ(expr, want)                                                   \
    do {                                                                    \
        CK_RV rv_ = (expr);                                                 \
        ck_assert_msg(rv_ == (CK_RV)(want), "%s = 0x%lx, expected %s (0x%lx)", #expr, \
                      (unsigned long)rv_, #want, (unsigned long)(want));    \
    } while (0)
#define RV_OK(expr) RV_EQ(expr, CKR_OK)
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#define CARD_SLOT DMSC_PCSC_SLOT_BASE
#define EMPTY_SLOT (DMSC_PCSC_SLOT_BASE + 1)
#define CARD_PIN "1234"
#define PINARG(s) (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

enum { OID_RSA = 1, OID_RSA_PUB, OID_EC, OID_EC_PUB };

static CK_FUNCTION_LIST_PTR p11;
static char root_dir[PATH_MAX];
static char test_dir[PATH_MAX + 16];
static char path_buf[PATH_MAX + 64];
static EVP_PKEY *rsa_key, *ec_key; /* the card's keys, made once in main */

/* ---- the test card ---- */

struct dmsc_btoken {
    int reader;
};

static struct dmsc_btoken readers[2] = { { 0 }, { 1 } };
static dmsc_bslot bslots[2];

static struct {
    bool inserted;        /* a card in reader 0 */
    uint64_t presence;    /* bumped at each insertion and swap */
    uint64_t synced;      /* the presence the module's cache reflects */
    bool reset;           /* the next sync reports a reset */
    bool logged_in;
    CK_RV fail;           /* what sign answers instead of signing, when set */
    int signs;
    CK_MECHANISM_TYPE last_mech;
    size_t last_in_len;
} card;

static void card_insert(void)
{
    card.inserted = true;
    card.presence++;
    card.logged_in = false;
}

static void card_remove(void)
{
    card.inserted = false;
    card.logged_in = false;
}

static void test_free(dmsc_backend *be)
{
    free(be);
}

static void fill_slot(dmsc_bslot *s, CK_SLOT_ID id, dmsc_btoken *t, bool present, uint64_t presence)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->token = t;
    s->presence = present ? presence : 0;
    memset(s->info.slotDescription, ' ', sizeof(s->info.slotDescription));
    memcpy(s->info.slotDescription, "test reader", 11);
    memset(s->info.manufacturerID, ' ', sizeof(s->info.manufacturerID));
    s->info.flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (present ? CKF_TOKEN_PRESENT : 0);
}

static CK_RV test_slots(dmsc_backend *be, const dmsc_bslot **slots, size_t *n)
{
    (void)be;
    fill_slot(&bslots[0], CARD_SLOT, &readers[0], card.inserted, card.presence);
    fill_slot(&bslots[1], EMPTY_SLOT, &readers[1], false, 0);
    *slots = bslots;
    *n = 2;
    return CKR_OK;
}

static CK_RV test_token_info(dmsc_btoken *t, CK_TOKEN_INFO *info)
{
    if (t->reader != 0 || !card.inserted)
        return CKR_TOKEN_NOT_PRESENT;
    memset(info, 0, sizeof(*info));
    memset(info->label, ' ', sizeof(info->label));
    memcpy(info->label, "test card", 9);
    memset(info->manufacturerID, ' ', sizeof(info->manufacturerID));
    memset(info->model, ' ', sizeof(info->model));
    memset(info->serialNumber, ' ', sizeof(info->serialNumber));
    memset(info->utcTime, ' ', sizeof(info->utcTime));
    info->flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_WRITE_PROTECTED;
    info->ulMinPinLen = 4;
    info->ulMaxPinLen = 8;
    info->ulTotalPublicMemory = info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    return CKR_OK;
}

static void set_bn(dmsc_attrs *a, CK_ATTRIBUTE_TYPE type, const EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(key, param, &bn), 1);
    unsigned char buf[1024];
    int len = BN_bn2bin(bn, buf);
    BN_free(bn);
    ck_assert_uint_eq(dmsc_attrs_set(a, type, buf, (CK_ULONG)len), CKR_OK);
}

/* P-256's OID, DER. */
static const unsigned char p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* A key object as a PKCS#15 card shows it: the private key with its
 * public attributes only. */
static void key_attrs(dmsc_attrs *a, CK_OBJECT_CLASS klass, CK_KEY_TYPE type, const char *label)
{
    dmsc_attrs_init(a);
    bool priv = klass == CKO_PRIVATE_KEY;
    ck_assert_uint_eq(dmsc_attrs_set_ulong(a, CKA_CLASS, klass), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_ulong(a, CKA_KEY_TYPE, type), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_TOKEN, true), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_PRIVATE, priv), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(a, CKA_LABEL, label, (CK_ULONG)strlen(label)), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set(a, CKA_ID, label, 1), CKR_OK);
    ck_assert_uint_eq(dmsc_attrs_set_bool(a, priv ? CKA_SIGN : CKA_VERIFY, true), CKR_OK);
    if (priv) {
        /* Allowed by the card's attributes; refused as the card cannot. */
        ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_DECRYPT, type == CKK_RSA), CKR_OK);
        ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_SENSITIVE, true), CKR_OK);
        ck_assert_uint_eq(dmsc_attrs_set_bool(a, CKA_EXTRACTABLE, false), CKR_OK);
    }
    if (type == CKK_RSA) {
        /* No CKA_MODULUS_BITS: the module takes the size from the modulus. */
        set_bn(a, CKA_MODULUS, rsa_key, OSSL_PKEY_PARAM_RSA_N);
        set_bn(a, CKA_PUBLIC_EXPONENT, rsa_key, OSSL_PKEY_PARAM_RSA_E);
    } else {
        ck_assert_uint_eq(dmsc_attrs_set(a, CKA_EC_PARAMS, p256_params, sizeof(p256_params)), CKR_OK);
        if (!priv) {
            unsigned char point[2 + 65];
            size_t len = 0;
            ck_assert_int_eq(EVP_PKEY_get_octet_string_param(ec_key, OSSL_PKEY_PARAM_PUB_KEY, point + 2, 65, &len), 1);
            ck_assert_uint_eq(len, 65);
            point[0] = 0x04; /* CKA_EC_POINT: the point in a DER OCTET STRING */
            point[1] = 65;
            ck_assert_uint_eq(dmsc_attrs_set(a, CKA_EC_POINT, point, sizeof(point)), CKR_OK);
        }
    }
}

static CK_RV test_sync(dmsc_btoken *t, const dmsc_sync_sink *sink)
{
    if (t->reader != 0)
        return CKR_TOKEN_NOT_PRESENT;
    if (!card.inserted)
        return CKR_DEVICE_REMOVED;
    if (card.reset || (card.synced != 0 && card.synced != card.presence)) {
        /* Reset, or another card: what was verified on it is void. */
        card.reset = false;
        card.logged_in = false;
        sink->logged_out(sink->ctx);
    }
    if (card.synced == card.presence)
        return CKR_OK;
    sink->reset(sink->ctx);
    static const struct {
        uint64_t oid;
        CK_OBJECT_CLASS klass;
        CK_KEY_TYPE type;
        const char *label;
    } objs[] = {
        { OID_RSA, CKO_PRIVATE_KEY, CKK_RSA, "rsa" },
        { OID_RSA_PUB, CKO_PUBLIC_KEY, CKK_RSA, "rsa" },
        { OID_EC, CKO_PRIVATE_KEY, CKK_EC, "ec" },
        { OID_EC_PUB, CKO_PUBLIC_KEY, CKK_EC, "ec" },
    };
    for (size_t i = 0; i < N_ELEMENTS(objs); i++) {
        dmsc_attrs a;
        key_attrs(&a, objs[i].klass, objs[i].type, objs[i].label);
        CK_RV rv = sink->upsert(sink->ctx, objs[i].oid, &a);
        if (rv != CKR_OK)
            return rv;
    }
    card.synced = card.presence;
    return CKR_OK;
}

static CK_RV test_login(dmsc_btoken *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    if (t->reader != 0 || !card.inserted)
        return CKR_DEVICE_REMOVED;
    if (user != CKU_USER || len != strlen(CARD_PIN) || memcmp(pin, CARD_PIN, len) != 0)
        return CKR_PIN_INCORRECT;
    card.logged_in = true;
    return CKR_OK;
}

static void test_logout(dmsc_btoken *t)
{
    (void)t;
    card.logged_in = false;
}

static CK_RV test_init_token(dmsc_btoken *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_len, const CK_UTF8CHAR label[32])
{
    (void)t, (void)so_pin, (void)so_len, (void)label;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_init_pin(dmsc_btoken *t, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    (void)t, (void)pin, (void)len;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_set_pin(dmsc_btoken *t, CK_USER_TYPE who, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
                          const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
    (void)t, (void)who, (void)old_pin, (void)old_len, (void)new_pin, (void)new_len;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_create(dmsc_btoken *t, const dmsc_attrs *attrs, uint64_t *oid, dmsc_attrs *stored)
{
    (void)t, (void)attrs, (void)oid, (void)stored;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_update(dmsc_btoken *t, uint64_t oid, const dmsc_attrs *attrs, dmsc_attrs *stored)
{
    (void)t, (void)oid, (void)attrs, (void)stored;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_destroy(dmsc_btoken *t, uint64_t oid)
{
    (void)t, (void)oid;
    return CKR_TOKEN_WRITE_PROTECTED;
}

static CK_RV test_unseal(dmsc_btoken *t, const dmsc_attr *sealed, void **plain, CK_ULONG *len)
{
    (void)t, (void)sealed, (void)plain, (void)len;
    return CKR_GENERAL_ERROR; /* nothing on this card is sealed */
}

/* The card's signature: PKCS#1 v1.5 padding of the input (the DigestInfo
 * or raw data), or ECDSA of the input (a hash) as r || s. */
static CK_RV test_sign(dmsc_btoken *t, uint64_t oid, CK_MECHANISM_TYPE mech, const unsigned char *in,
                       CK_ULONG in_len, unsigned char *sig, CK_ULONG *sig_len)
{
    if (t->reader != 0 || !card.inserted)
        return CKR_DEVICE_REMOVED;
    if (!card.logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    if (card.fail != CKR_OK)
        return card.fail;
    card.signs++;
    card.last_mech = mech;
    card.last_in_len = in_len;
    bool rsa = oid == OID_RSA && mech == CKM_RSA_PKCS;
    if (!rsa && !(oid == OID_EC && mech == CKM_ECDSA))
        return CKR_MECHANISM_INVALID;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa ? rsa_key : ec_key, NULL);
    unsigned char der[600];
    size_t len = sizeof(der);
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             (!rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
             EVP_PKEY_sign(ctx, der, &len, in, in_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return CKR_DATA_LEN_RANGE;
    if (rsa) {
        if (*sig_len < len)
            return CKR_BUFFER_TOO_SMALL;
        memcpy(sig, der, len);
        *sig_len = len;
        return CKR_OK;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    ck_assert_ptr_nonnull(es);
    if (*sig_len < 64) {
        ECDSA_SIG_free(es);
        return CKR_BUFFER_TOO_SMALL;
    }
    ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
    ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
    ECDSA_SIG_free(es);
    *sig_len = 64;
    return CKR_OK;
}

static const dmsc_backend_ops test_ops = {
    .name = "test card",
    .free = test_free,
    .slots = test_slots,
    .token_info = test_token_info,
    .sync = test_sync,
    .init_token = test_init_token,
    .login = test_login,
    .logout = test_logout,
    .init_pin = test_init_pin,
    .set_pin = test_set_pin,
    .create = test_create,
    .update = test_update,
    .destroy = test_destroy,
    .unseal = test_unseal,
    .sign = test_sign,
};

static CK_RV test_open(OSSL_LIB_CTX *libctx, dmsc_backend **out)
{
    (void)libctx;
    dmsc_backend *be = calloc(1, sizeof(*be));
    if (be == NULL)
        return CKR_HOST_MEMORY;
    be->ops = &test_ops;
    *out = be;
    return CKR_OK;
}

/* ---- fixture ---- */

static void setup(void)
{
    snprintf(test_dir, sizeof(test_dir), "%s/t-XXXXXX", root_dir);
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    snprintf(path_buf, sizeof(path_buf), "%s/store", test_dir);
    setenv("DMSC_STORE", path_buf, 1);
    snprintf(path_buf, sizeof(path_buf), "%s/dmsc.conf", test_dir);
    FILE *f = fopen(path_buf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# dmsc unit test: defaults\n", f);
    fclose(f);
    setenv("DMSC_CONF", path_buf, 1);
    /* Never a pcscd of the machine's: this socket does not exist. */
    snprintf(path_buf, sizeof(path_buf), "%s/no-pcscd.comm", test_dir);
    setenv("PCSCLITE_CSOCK_NAME", path_buf, 1);
    unsetenv("DMSC_BACKENDS");
    memset(&card, 0, sizeof(card));
    card_insert();
    static const dmsc_backend_opener both[] = { dmsc_vuicc_open, test_open };
    dmsc_state_test_backends(both, N_ELEMENTS(both));
    ck_assert_int_eq(C_GetFunctionList(&p11), CKR_OK);
    RV_OK(p11->C_Initialize(NULL));
}

static void teardown(void)
{
    p11->C_Finalize(NULL);
}

/* ---- helpers ---- */

static CK_ULONG slot_list(CK_BBOOL present, CK_SLOT_ID *slots, CK_ULONG max)
{
    CK_ULONG n = 0;
    RV_OK(p11->C_GetSlotList(present, NULL, &n));
    ck_assert_uint_le(n, max);
    n = max;
    RV_OK(p11->C_GetSlotList(present, slots, &n));
    return n;
}

static bool listed(CK_BBOOL present, CK_SLOT_ID id)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = slot_list(present, slots, 64);
    for (CK_ULONG i = 0; i < n; i++)
        if (slots[i] == id)
            return true;
    return false;
}

static CK_SESSION_HANDLE open_card_session(void)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    RV_OK(p11->C_OpenSession(CARD_SLOT, CKF_SERIAL_SESSION, NULL, NULL, &h));
    return h;
}

static CK_SESSION_HANDLE logged_in_session(void)
{
    CK_SESSION_HANDLE h = open_card_session();
    RV_OK(p11->C_Login(h, CKU_USER, PINARG(CARD_PIN)));
    return h;
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE h, CK_OBJECT_CLASS klass, const char *label)
{
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &klass, sizeof(klass) },
        { CKA_LABEL, (void *)label, strlen(label) },
    };
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    RV_OK(p11->C_FindObjectsInit(h, t, N_ELEMENTS(t)));
    RV_OK(p11->C_FindObjects(h, found, 2, &n));
    RV_OK(p11->C_FindObjectsFinal(h));
    ck_assert_uint_eq(n, 1);
    return found[0];
}

static CK_STATE session_state(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    RV_OK(p11->C_GetSessionInfo(h, &si));
    return si.state;
}

static CK_RV sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key)
{
    CK_MECHANISM m = { type, NULL, 0 };
    return p11->C_SignInit(h, &m, key);
}

/* Sign data single-part (after a length query and a too-small buffer,
 * which both leave the operation going) or in three parts. */
static CK_ULONG card_sign(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type, CK_OBJECT_HANDLE key,
                          const unsigned char *data, size_t len, bool multi, unsigned char *sig,
                          CK_ULONG expect_len)
{
    RV_OK(sign_init(h, type, key));
    CK_ULONG sig_len = 0;
    if (!multi) {
        RV_OK(p11->C_Sign(h, (CK_BYTE_PTR)data, len, NULL, &sig_len));
        ck_assert_uint_eq(sig_len, expect_len);
        sig_len = expect_len - 1;
        RV_EQ(p11->C_Sign(h, (CK_BYTE_PTR)data, len, sig, &sig_len), CKR_BUFFER_TOO_SMALL);
        ck_assert_uint_eq(sig_len, expect_len);
        int before = card.signs;
        RV_OK(p11->C_Sign(h, (CK_BYTE_PTR)data, len, sig, &sig_len));
        ck_assert_int_eq(card.signs, before + 1);
    } else {
        size_t a = len / 3, b = len / 2;
        RV_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)data, a));
        RV_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)data + a, b - a));
        RV_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)data + b, len - b));
        RV_OK(p11->C_SignFinal(h, NULL, &sig_len));
        ck_assert_uint_eq(sig_len, expect_len);
        RV_OK(p11->C_SignFinal(h, sig, &sig_len));
    }
    ck_assert_uint_eq(sig_len, expect_len);
    /* The operation has ended. */
    RV_EQ(p11->C_SignFinal(h, sig, &sig_len), CKR_OPERATION_NOT_INITIALIZED);
    return sig_len;
}

/* OpenSSL's verdict on a signature, with a digest (md) or on raw input. */
static bool openssl_verifies(EVP_PKEY *key, const char *md, const unsigned char *data, size_t len,
                             const unsigned char *sig, size_t sig_len)
{
    unsigned char der[160];
    const unsigned char *s = sig;
    size_t s_len = sig_len;
    if (EVP_PKEY_is_a(key, "EC")) {
        /* r || s to DER */
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)sig_len / 2, NULL), *ss = BN_bin2bn(sig + sig_len / 2, (int)sig_len / 2, NULL);
        ck_assert_int_eq(ECDSA_SIG_set0(es, r, ss), 1);
        unsigned char *p = der;
        int n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        ck_assert_int_gt(n, 0);
        s = der;
        s_len = (size_t)n;
    }
    int ok;
    if (md != NULL) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = EVP_DigestVerifyInit(ctx, NULL, EVP_get_digestbyname(md), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, s, s_len, data, len) == 1;
        EVP_MD_CTX_free(ctx);
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
        ok = EVP_PKEY_verify_init(ctx) == 1 &&
             (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
             EVP_PKEY_verify(ctx, s, s_len, data, len) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    return ok;
}

static const unsigned char message[] =
    "A firmware package, or any data the device signs with the key its card keeps.";

/* ---- several backends; slots without a token ---- */

START_TEST(test_slots_of_two_backends)
{
    CK_SLOT_ID all[64], present[64];
    CK_ULONG n_all = slot_list(CK_FALSE, all, 64);
    CK_ULONG n_present = slot_list(CK_TRUE, present, 64);
    /* The virtual UICC's slots first (ids below the PC/SC range), then the readers. */
    ck_assert_uint_ge(n_all, 3);
    ck_assert_uint_eq(all[n_all - 2], CARD_SLOT);
    ck_assert_uint_eq(all[n_all - 1], EMPTY_SLOT);
    for (CK_ULONG i = 0; i + 2 < n_all; i++)
        ck_assert_uint_lt(all[i], DMSC_PCSC_SLOT_BASE);
    for (CK_ULONG i = 1; i < n_all; i++)
        ck_assert_uint_lt(all[i - 1], all[i]);
    /* CKF_TOKEN_PRESENT honoured: the empty reader is left out. */
    ck_assert_uint_eq(n_present, n_all - 1);
    ck_assert_uint_eq(present[n_present - 1], CARD_SLOT);

    CK_SLOT_INFO si;
    RV_OK(p11->C_GetSlotInfo(EMPTY_SLOT, &si));
    ck_assert_uint_eq(si.flags & CKF_TOKEN_PRESENT, 0);
    ck_assert_uint_ne(si.flags & CKF_REMOVABLE_DEVICE, 0);
    CK_TOKEN_INFO ti;
    RV_EQ(p11->C_GetTokenInfo(EMPTY_SLOT, &ti), CKR_TOKEN_NOT_PRESENT);
    CK_SESSION_HANDLE h;
    RV_EQ(p11->C_OpenSession(EMPTY_SLOT, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_TOKEN_NOT_PRESENT);
    CK_ULONG n_mechs = 0;
    RV_EQ(p11->C_GetMechanismList(EMPTY_SLOT, NULL, &n_mechs), CKR_TOKEN_NOT_PRESENT);
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    RV_EQ(p11->C_InitToken(EMPTY_SLOT, PINARG("12345678"), label), CKR_TOKEN_NOT_PRESENT);

    RV_OK(p11->C_GetTokenInfo(CARD_SLOT, &ti));
    ck_assert_mem_eq(ti.label, "test card ", 10);
    /* The virtual UICC's first slot works beside it. */
    RV_OK(p11->C_GetTokenInfo(all[0], &ti));
    ck_assert_mem_eq(ti.model, "virtual UICC", 12);
}
END_TEST

/* The configured backends: C_Initialize does not need a pcscd. */
START_TEST(test_configured_backends)
{
    CK_SLOT_ID slots[64];
    RV_OK(p11->C_Finalize(NULL));
    dmsc_state_test_backends(NULL, 0);
    RV_OK(p11->C_Initialize(NULL));
    CK_ULONG vuicc_only = slot_list(CK_FALSE, slots, 64);
    ck_assert_uint_ge(vuicc_only, 1);
    RV_OK(p11->C_Finalize(NULL));

    setenv("DMSC_BACKENDS", "vuicc, pcsc", 1);
    RV_OK(p11->C_Initialize(NULL));
    ck_assert_uint_eq(slot_list(CK_FALSE, slots, 64), vuicc_only);
    RV_OK(p11->C_Finalize(NULL));

    setenv("DMSC_BACKENDS", "pcsc", 1);
    RV_OK(p11->C_Initialize(NULL));
    ck_assert_uint_eq(slot_list(CK_FALSE, slots, 64), 0);
    RV_OK(p11->C_Finalize(NULL));

    setenv("DMSC_BACKENDS", "vuicc smartcard", 1);
    RV_EQ(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    unsetenv("DMSC_BACKENDS");
    RV_OK(p11->C_Initialize(NULL));
}
END_TEST

/* ---- keys that stay on the card ---- */

START_TEST(test_card_signs_rsa)
{
    CK_SESSION_HANDLE h = logged_in_session();
    CK_OBJECT_HANDLE key = find_key(h, CKO_PRIVATE_KEY, "rsa");
    static const struct {
        CK_MECHANISM_TYPE type;
        const char *md;
        size_t digest_info_len;
    } mechs[] = {
        { CKM_SHA1_RSA_PKCS, "SHA1", 15 + 20 },
        { CKM_SHA256_RSA_PKCS, "SHA256", 19 + 32 },
        { CKM_SHA384_RSA_PKCS, "SHA384", 19 + 48 },
        { CKM_SHA512_RSA_PKCS, "SHA512", 19 + 64 },
    };
    unsigned char sig[512];
    for (size_t i = 0; i < N_ELEMENTS(mechs); i++)
        for (int multi = 0; multi < 2; multi++) {
            CK_ULONG len = card_sign(h, mechs[i].type, key, message, sizeof(message), multi, sig, 256);
            /* The card got the DigestInfo; the signature verifies with OpenSSL. */
            ck_assert_uint_eq(card.last_mech, CKM_RSA_PKCS);
            ck_assert_uint_eq(card.last_in_len, mechs[i].digest_info_len);
            ck_assert_msg(openssl_verifies(rsa_key, mechs[i].md, message, sizeof(message), sig, len),
                          "%s (%s) does not verify", mechs[i].md, multi ? "multi-part" : "single-part");
            sig[10] ^= 1;
            ck_assert(!openssl_verifies(rsa_key, mechs[i].md, message, sizeof(message), sig, len));
        }
    /* CKM_RSA_PKCS: the input as given, padded by the card. */
    for (int multi = 0; multi < 2; multi++) {
        CK_ULONG len = card_sign(h, CKM_RSA_PKCS, key, message, sizeof(message), multi, sig, 256);
        ck_assert_uint_eq(card.last_in_len, sizeof(message));
        ck_assert(openssl_verifies(rsa_key, NULL, message, sizeof(message), sig, len));
    }
    /* At most k - 11 bytes: refused before the card sees them. */
    unsigned char big[246];
    memset(big, 7, sizeof(big));
    int before = card.signs;
    CK_ULONG len = sizeof(sig);
    RV_OK(sign_init(h, CKM_RSA_PKCS, key));
    RV_EQ(p11->C_Sign(h, big, sizeof(big), sig, &len), CKR_DATA_LEN_RANGE);
    ck_assert_int_eq(card.signs, before);
    card_sign(h, CKM_RSA_PKCS, key, big, 245, false, sig, 256);
}
END_TEST

START_TEST(test_card_signs_ecdsa)
{
    CK_SESSION_HANDLE h = logged_in_session();
    CK_OBJECT_HANDLE key = find_key(h, CKO_PRIVATE_KEY, "ec");
    static const struct {
        CK_MECHANISM_TYPE type;
        const char *md;
        size_t hash_len;
    } mechs[] = {
        { CKM_ECDSA_SHA256, "SHA256", 32 },
        { CKM_ECDSA_SHA384, "SHA384", 48 },
    };
    unsigned char sig[128];
    for (size_t i = 0; i < N_ELEMENTS(mechs); i++)
        for (int multi = 0; multi < 2; multi++) {
            CK_ULONG len = card_sign(h, mechs[i].type, key, message, sizeof(message), multi, sig, 64);
            ck_assert_uint_eq(card.last_mech, CKM_ECDSA);
            ck_assert_uint_eq(card.last_in_len, mechs[i].hash_len);
            ck_assert_msg(openssl_verifies(ec_key, mechs[i].md, message, sizeof(message), sig, len),
                          "ECDSA with %s (%s) does not verify", mechs[i].md, multi ? "multi-part" : "single-part");
            sig[40] ^= 1;
            ck_assert(!openssl_verifies(ec_key, mechs[i].md, message, sizeof(message), sig, len));
        }
    /* CKM_ECDSA: the hash is the input. */
    unsigned char hash[32];
    unsigned int hash_len = 0;
    ck_assert_int_eq(EVP_Digest(message, sizeof(message), hash, &hash_len, EVP_sha256(), NULL), 1);
    for (int multi = 0; multi < 2; multi++) {
        CK_ULONG len = card_sign(h, CKM_ECDSA, key, hash, sizeof(hash), multi, sig, 64);
        ck_assert_uint_eq(card.last_in_len, 32);
        ck_assert(openssl_verifies(ec_key, NULL, hash, sizeof(hash), sig, len));
    }
    unsigned char too_long[65] = { 0 };
    CK_ULONG len = sizeof(sig);
    RV_OK(sign_init(h, CKM_ECDSA, key));
    RV_EQ(p11->C_Sign(h, too_long, sizeof(too_long), sig, &len), CKR_DATA_LEN_RANGE);
}
END_TEST

static const char *dm_message(size_t *len)
{
    const char *src = getenv("DMSC_SRCDIR");
    snprintf(path_buf, sizeof(path_buf), "%s/dm-ext/vectors/dm11-replace.xml", src && *src ? src : ".");
    FILE *f = fopen(path_buf, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path_buf);
    static char buf[8192];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_uint_gt(*len, 100);
    return buf;
}

/* The DM mechanisms: the card signs the canonical form's hash; the
 * module's software verification with the public key object agrees. */
START_TEST(test_card_signs_dm)
{
    size_t msg_len;
    const char *msg = dm_message(&msg_len);
    CK_SESSION_HANDLE h = logged_in_session();
    static const struct {
        CK_MECHANISM_TYPE type;
        const char *label;
        CK_ULONG sig_len;
    } mechs[] = {
        { CKM_DMSC_SHA256_RSA_PKCS, "rsa", 256 },
        { CKM_DMSC_ECDSA_SHA256, "ec", 64 },
        { CKM_DMSC_ECDSA_SHA384, "ec", 64 },
    };
    unsigned char sig[512];
    for (size_t i = 0; i < N_ELEMENTS(mechs); i++)
        for (int multi = 0; multi < 2; multi++) {
            CK_OBJECT_HANDLE key = find_key(h, CKO_PRIVATE_KEY, mechs[i].label);
            CK_OBJECT_HANDLE pub = find_key(h, CKO_PUBLIC_KEY, mechs[i].label);
            CK_ULONG len = card_sign(h, mechs[i].type, key, (const unsigned char *)msg, msg_len, multi, sig,
                                     mechs[i].sig_len);
            CK_MECHANISM m = { mechs[i].type, NULL, 0 };
            RV_OK(p11->C_VerifyInit(h, &m, pub));
            RV_OK(p11->C_Verify(h, (CK_BYTE_PTR)msg, msg_len, sig, len));
            sig[5] ^= 1;
            RV_OK(p11->C_VerifyInit(h, &m, pub));
            RV_EQ(p11->C_Verify(h, (CK_BYTE_PTR)msg, msg_len, sig, len), CKR_SIGNATURE_INVALID);
        }
}
END_TEST

START_TEST(test_card_refuses)
{
    CK_SESSION_HANDLE h = logged_in_session();
    CK_OBJECT_HANDLE rsa = find_key(h, CKO_PRIVATE_KEY, "rsa");
    CK_OBJECT_HANDLE ec = find_key(h, CKO_PRIVATE_KEY, "ec");
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM m_pss = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss) };
    CK_MECHANISM m_raw_pss = { CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };
    RV_EQ(p11->C_SignInit(h, &m_pss, rsa), CKR_MECHANISM_INVALID);
    RV_EQ(p11->C_SignInit(h, &m_raw_pss, rsa), CKR_MECHANISM_INVALID);
    RV_EQ(sign_init(h, CKM_DMSC_SHA256_RSA_PKCS_PSS, rsa), CKR_MECHANISM_INVALID);
    /* The card only signs. */
    CK_MECHANISM m_pkcs = { CKM_RSA_PKCS, NULL, 0 };
    RV_EQ(p11->C_DecryptInit(h, &m_pkcs, rsa), CKR_MECHANISM_INVALID);
    CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m_oaep = { CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) };
    RV_EQ(p11->C_DecryptInit(h, &m_oaep, rsa), CKR_MECHANISM_INVALID);
    /* CKA_DECRYPT is false on the EC key. */
    RV_EQ(p11->C_DecryptInit(h, &m_pkcs, ec), CKR_KEY_TYPE_INCONSISTENT);
    /* Not keys for these mechanisms at all. */
    RV_EQ(sign_init(h, CKM_EDDSA, ec), CKR_KEY_TYPE_INCONSISTENT);
    RV_EQ(sign_init(h, CKM_DMSC_EDDSA, rsa), CKR_KEY_TYPE_INCONSISTENT);
    RV_EQ(sign_init(h, CKM_SHA256_HMAC, rsa), CKR_KEY_TYPE_INCONSISTENT);
    RV_EQ(sign_init(h, CKM_ECDSA, rsa), CKR_KEY_TYPE_INCONSISTENT);
    RV_EQ(sign_init(h, CKM_SHA256_RSA_PKCS, ec), CKR_KEY_TYPE_INCONSISTENT);
    /* Its value cannot be had. */
    CK_BYTE value[16];
    CK_ATTRIBUTE a = { CKA_PRIVATE_EXPONENT, value, sizeof(value) };
    RV_EQ(p11->C_GetAttributeValue(h, rsa, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_int_eq(card.signs, 0);
}
END_TEST

/* The card's own errors, and a logout between C_SignInit and C_Sign. */
START_TEST(test_card_errors_pass_through)
{
    CK_SESSION_HANDLE h = open_card_session();
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_OBJECT_HANDLE pub = find_key(h, CKO_PUBLIC_KEY, "rsa");
    /* Not logged in: the private key is not even visible. */
    RV_EQ(p11->C_SignInit(h, &m, pub + 1000), CKR_KEY_HANDLE_INVALID);
    RV_OK(p11->C_Login(h, CKU_USER, PINARG(CARD_PIN)));
    CK_OBJECT_HANDLE key = find_key(h, CKO_PRIVATE_KEY, "rsa");
    unsigned char sig[256];
    CK_ULONG len = sizeof(sig);
    RV_OK(p11->C_SignInit(h, &m, key));
    RV_OK(p11->C_Logout(h));
    RV_EQ(p11->C_Sign(h, (CK_BYTE_PTR)message, sizeof(message), sig, &len), CKR_USER_NOT_LOGGED_IN);
    RV_OK(p11->C_Login(h, CKU_USER, PINARG(CARD_PIN)));
    card.fail = CKR_DEVICE_ERROR;
    RV_OK(p11->C_SignInit(h, &m, key));
    len = sizeof(sig);
    RV_EQ(p11->C_Sign(h, (CK_BYTE_PTR)message, sizeof(message), sig, &len), CKR_DEVICE_ERROR);
    card.fail = CKR_PIN_EXPIRED;
    RV_OK(p11->C_SignInit(h, &m, key));
    RV_OK(p11->C_SignUpdate(h, (CK_BYTE_PTR)message, sizeof(message)));
    len = sizeof(sig);
    RV_EQ(p11->C_SignFinal(h, sig, &len), CKR_PIN_EXPIRED);
    card.fail = CKR_OK;
    card_sign(h, CKM_SHA256_RSA_PKCS, key, message, sizeof(message), false, sig, 256);
}
END_TEST

/* ---- a removable token ---- */

START_TEST(test_card_removed_during_sign)
{
    CK_SESSION_HANDLE h = logged_in_session();
    CK_SESSION_HANDLE h2 = open_card_session();
    CK_OBJECT_HANDLE key = find_key(h, CKO_PRIVATE_KEY, "rsa");
    RV_OK(sign_init(h, CKM_SHA256_RSA_PKCS, key));
    card_remove();
    unsigned char sig[256];
    CK_ULONG len = sizeof(sig);
    RV_EQ(p11->C_Sign(h, (CK_BYTE_PTR)message, sizeof(message), sig, &len), CKR_DEVICE_REMOVED);
    /* Every session of the token is closed. */
    CK_SESSION_INFO si;
    RV_EQ(p11->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    RV_EQ(p11->C_GetSessionInfo(h2, &si), CKR_SESSION_HANDLE_INVALID);
    RV_EQ(p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    ck_assert(!listed(CK_TRUE, CARD_SLOT));
    ck_assert(listed(CK_FALSE, CARD_SLOT));
    CK_TOKEN_INFO ti;
    RV_EQ(p11->C_GetTokenInfo(CARD_SLOT, &ti), CKR_TOKEN_NOT_PRESENT);
    RV_EQ(p11->C_OpenSession(CARD_SLOT, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_TOKEN_NOT_PRESENT);
}
END_TEST

START_TEST(test_card_removed_between_calls)
{
    CK_SESSION_HANDLE h = logged_in_session();
    card_remove();
    /* The next call on the session finds the card gone. */
    CK_ATTRIBUTE none[1];
    RV_EQ(p11->C_FindObjectsInit(h, none, 0), CKR_DEVICE_REMOVED);
    CK_SESSION_INFO si;
    RV_EQ(p11->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);

    /* Put back: a new token, logged out, its objects there again. */
    card_insert();
    ck_assert(listed(CK_TRUE, CARD_SLOT));
    h = open_card_session();
    ck_assert_uint_eq(session_state(h), CKS_RO_PUBLIC_SESSION);
    find_key(h, CKO_PUBLIC_KEY, "ec");
    RV_OK(p11->C_Login(h, CKU_USER, PINARG(CARD_PIN)));
    find_key(h, CKO_PRIVATE_KEY, "ec");

    /* Taken out and noticed by a slot query: the sessions end there. */
    card_remove();
    CK_SLOT_INFO slot;
    RV_OK(p11->C_GetSlotInfo(CARD_SLOT, &slot));
    ck_assert_uint_eq(slot.flags & CKF_TOKEN_PRESENT, 0);
    RV_EQ(p11->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
}
END_TEST

/* Another card in the reader: the old card's sessions end; a reset of
 * the card drops the login and keeps the sessions. */
START_TEST(test_card_swapped_or_reset)
{
    CK_SESSION_HANDLE h = logged_in_session();
    ck_assert_uint_eq(session_state(h), CKS_RO_USER_FUNCTIONS);
    card.reset = true;
    ck_assert_uint_eq(session_state(h), CKS_RO_PUBLIC_SESSION);
    RV_OK(p11->C_Login(h, CKU_USER, PINARG(CARD_PIN)));
    find_key(h, CKO_PRIVATE_KEY, "rsa");

    card_insert(); /* another card, without a removal seen between */
    ck_assert(listed(CK_TRUE, CARD_SLOT));
    CK_SESSION_INFO si;
    RV_EQ(p11->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    h = open_card_session();
    ck_assert_uint_eq(session_state(h), CKS_RO_PUBLIC_SESSION);
}
END_TEST

START_TEST(test_slot_events)
{
    CK_SLOT_ID slot = 0;
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    card_remove();
    RV_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
    ck_assert_uint_eq(slot, CARD_SLOT);
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    card_insert();
    slot = 0;
    RV_OK(p11->C_WaitForSlotEvent(0, &slot, NULL)); /* blocks until a poll sees it: it is there */
    ck_assert_uint_eq(slot, CARD_SLOT);
    RV_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static EVP_PKEY *make_key(const char *type, const char *param)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;
    if (ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
        (strcmp(type, "RSA") == 0 ? EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048)
                                  : EVP_PKEY_CTX_set_group_name(ctx, param)) == 1)
        EVP_PKEY_generate(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root_dir, sizeof(root_dir), "%s/dmsc-test-backends-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(root_dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    unsetenv("DMSC_DEBUG");
    rsa_key = make_key("RSA", NULL);
    ec_key = make_key("EC", "P-256");
    if (rsa_key == NULL || ec_key == NULL) {
        fprintf(stderr, "cannot make the card's keys\n");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("backends");
    TCase *tc = tcase_create("slots");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_slots_of_two_backends);
    tcase_add_test(tc, test_configured_backends);
    suite_add_tcase(s, tc);
    tc = tcase_create("card keys");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_card_signs_rsa);
    tcase_add_test(tc, test_card_signs_ecdsa);
    tcase_add_test(tc, test_card_signs_dm);
    tcase_add_test(tc, test_card_refuses);
    tcase_add_test(tc, test_card_errors_pass_through);
    suite_add_tcase(s, tc);
    tc = tcase_create("removable");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_card_removed_during_sign);
    tcase_add_test(tc, test_card_removed_between_calls);
    tcase_add_test(tc, test_card_swapped_or_reset);
    tcase_add_test(tc, test_slot_events);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
