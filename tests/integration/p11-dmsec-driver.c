/*
 * p11-dmsec-driver: a command-line PKCS#11 client for the DM 1.2 session
 * security mechanisms of <dmsc/pkcs11-dm.h>, for
 * tests/integration/test-dm-session-security.sh (which computes every
 * expected value with the openssl command; this driver computes nothing).
 *
 *   p11-dmsec-driver TOKENLABEL USERPIN COMMAND ARGS... [-- COMMAND ARGS...]...
 *
 * It dlopens the module named by $DMSC_MODULE, opens a R/W session on the
 * token so labelled, logs the user in (not when USERPIN is "-") and runs
 * the commands in that one session, so a session object made by the first
 * can be used by the next. Commands:
 *
 *   import LABEL HEXVALUE token|session [plain]
 *           C_CreateObject of a DM credential: CKO_SECRET_KEY,
 *           CKK_GENERIC_SECRET, CKA_VALUE = the bytes of HEXVALUE (the DM
 *           password), CKA_SIGN and CKA_VERIFY true, CKA_PRIVATE true,
 *           sensitive and not extractable ("plain": not sensitive,
 *           extractable); prints "created"
 *   auth-md5 sign KEY USER NONCEHEX [DATAHEX [CHUNK]]
 *   auth-md5 verify KEY USER NONCEHEX MAC [DATAHEX [CHUNK]]
 *           CKM_DMSC_SYNCML_AUTH_MD5 with CK_DMSC_SYNCML_AUTH_PARAMS
 *           {USER, the bytes of NONCEHEX}; C_Sign / C_Verify over the data
 *           (none unless DATAHEX; "" is none too), or C_*Update calls of
 *           CHUNK bytes and C_*Final; sign prints the credential text
 *   hmac sign KEY USER NONCEHEX FILE CHUNK
 *   hmac verify KEY USER NONCEHEX FILE CHUNK MAC
 *           CKM_DMSC_SYNCML_HMAC_MD5 over the bytes of FILE: CHUNK 0 is one
 *           C_Sign / C_Verify, else C_*Update calls of CHUNK bytes and
 *           C_*Final; sign prints the mac= text
 *   boot-verify SEC PIN FILE MAC [CHUNK [KEY]]
 *           CKM_DMSC_BOOTSTRAP_HMAC_SHA1 with CK_DMSC_BOOTSTRAP_PARAMS
 *           {SEC, PIN} ("-": pUserPin NULL, length 0; "" a non-NULL empty
 *           PIN), the key label:NETWORKID unless KEY is given
 *   init sign|verify MECH KEY [noparam|badlen]
 *           only C_SignInit / C_VerifyInit of MECH (a number, e.g.
 *           0xC44D0101) with a valid parameter for a DM session security
 *           mechanism (user "u", nonce "n"; SEC 0), none for another one,
 *           or none / a parameter of the wrong size; prints "ok" and ends
 *           the operation
 *   value KEY      C_GetAttributeValue(CKA_VALUE): prints the value in hex
 *   flags KEY      prints the key's boolean attributes and CKA_VALUE_LEN
 *   find LABEL     prints how many objects with that CKA_LABEL the session sees
 *   mechinfo MECH  prints C_GetMechanismInfo: "min=N max=N sign=0|1 verify=0|1"
 *
 * KEY is label:NAME, the one secret key object with that CKA_LABEL. A MAC
 * is given as text (the Base64 or hex characters), or as x:HEX for raw
 * bytes. Secrets are given in hex so any byte can be tested.
 *
 * A failed PKCS#11 call prints "error: C_Xxx: CKR_NAME" on stdout and the
 * driver goes on with the next command; "valid" is what a successful
 * verification prints. Exit status: 0 when every call succeeded, 1 when one
 * failed, 2 on a usage or setup error (stderr says which).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include <dmsc/pkcs11-dm.h>

#include "p11-check.h"

const char driver_name[] = "p11-dmsec-driver";

static bool failed; /* a PKCS#11 call failed */

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* ------------------------------------------------------------ reporting */

/* A PKCS#11 call failed: say which and how, go on with the next command. */
static void call_failed(const char *fn, CK_RV rv)
{
    printf("error: %s: %s\n", fn, rv_name(rv));
    failed = true;
}

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("p11-dmsec-driver: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see the comment at the top of p11-dmsec-driver.c)\n", stderr);
    exit(2);
}

/* ------------------------------------------------------------ bytes */

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static buf_t from_hex(const char *what, const char *s)
{
    size_t len = strlen(s);
    if (len % 2)
        usage_error("%s: an odd number of hex digits", what);
    buf_t b = { xmalloc(len / 2), len / 2 };
    for (size_t i = 0; i < b.n; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            usage_error("%s: not hex: '%s'", what, s);
        b.p[i] = (unsigned char)(hi << 4 | lo);
    }
    return b;
}

static buf_t from_text(const char *s)
{
    buf_t b = { xmalloc(strlen(s)), strlen(s) };
    memcpy(b.p, s, b.n);
    return b;
}

/* A MAC argument: the text itself, or x:HEX for raw bytes. */
static buf_t mac_arg(const char *s)
{
    return strncmp(s, "x:", 2) == 0 ? from_hex("MAC", s + 2) : from_text(s);
}

static buf_t read_arg(const char *path)
{
    buf_t b;
    const char *why = read_file(path, &b);
    if (why != NULL)
        usage_error("%s: %s", path, why);
    return b;
}

static unsigned long number(const char *what, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (*s == '\0' || *end != '\0' || errno != 0)
        usage_error("%s: not a number: '%s'", what, s);
    return v;
}

/* ------------------------------------------------------------ objects */

/* Objects with that label (and class, unless CK_UNAVAILABLE_INFORMATION). */
static CK_ULONG find_objects(const char *label, CK_OBJECT_CLASS klass, CK_OBJECT_HANDLE *first)
{
    CK_ATTRIBUTE t[] = {
        { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) },
        { CKA_CLASS, &klass, sizeof klass },
    };
    CK_OBJECT_HANDLE h[16];
    CK_ULONG n = 0, total = 0;
    CK_RV rv = p11->C_FindObjectsInit(sess, t, klass == CK_UNAVAILABLE_INFORMATION ? 1 : 2);
    if (rv != CKR_OK)
        die("C_FindObjectsInit", rv);
    *first = CK_INVALID_HANDLE;
    do {
        rv = p11->C_FindObjects(sess, h, N_ELEMENTS(h), &n);
        if (rv != CKR_OK)
            die("C_FindObjects", rv);
        if (n > 0 && total == 0)
            *first = h[0];
        total += n;
    } while (n > 0);
    rv = p11->C_FindObjectsFinal(sess);
    if (rv != CKR_OK)
        die("C_FindObjectsFinal", rv);
    return total;
}

/* KEY: label:NAME, exactly one secret key so labelled. */
static CK_OBJECT_HANDLE key_arg(const char *spec)
{
    if (strncmp(spec, "label:", 6) != 0)
        usage_error("a key is label:NAME, not '%s'", spec);
    CK_OBJECT_HANDLE h;
    CK_ULONG n = find_objects(spec + 6, CKO_SECRET_KEY, &h);
    if (n != 1)
        usage_error("%lu secret keys labelled '%s' (need exactly one)", (unsigned long)n, spec + 6);
    return h;
}

static void cmd_import(char **argv, int argc)
{
    if (argc < 3 || argc > 4 || (strcmp(argv[2], "token") != 0 && strcmp(argv[2], "session") != 0) ||
        (argc == 4 && strcmp(argv[3], "plain") != 0))
        usage_error("import LABEL HEXVALUE token|session [plain]");
    buf_t value = from_hex("HEXVALUE", argv[1]);
    bool plain = argc == 4;
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &klass, sizeof klass },
        { CKA_KEY_TYPE, &type, sizeof type },
        { CKA_TOKEN, strcmp(argv[2], "token") == 0 ? &yes : &no, sizeof(CK_BBOOL) },
        { CKA_PRIVATE, &yes, sizeof(CK_BBOOL) },
        { CKA_SENSITIVE, plain ? &no : &yes, sizeof(CK_BBOOL) },
        { CKA_EXTRACTABLE, plain ? &yes : &no, sizeof(CK_BBOOL) },
        { CKA_SIGN, &yes, sizeof(CK_BBOOL) },
        { CKA_VERIFY, &yes, sizeof(CK_BBOOL) },
        { CKA_LABEL, argv[0], (CK_ULONG)strlen(argv[0]) },
        { CKA_VALUE, value.p, (CK_ULONG)value.n },
    };
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11->C_CreateObject(sess, t, N_ELEMENTS(t), &h);
    memset(value.p, 0, value.n);
    buf_free(&value);
    if (rv != CKR_OK)
        call_failed("C_CreateObject", rv);
    else
        printf("created\n");
}

static void cmd_value(char **argv, int argc)
{
    if (argc != 1)
        usage_error("value KEY");
    CK_OBJECT_HANDLE h = key_arg(argv[0]);
    unsigned char v[1024];
    CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof v };
    CK_RV rv = p11->C_GetAttributeValue(sess, h, &a, 1);
    if (rv != CKR_OK) {
        /* PKCS#11 5.7: the length of an attribute that cannot be revealed
         * is CK_UNAVAILABLE_INFORMATION. */
        printf("error: C_GetAttributeValue: %s", rv_name(rv));
        if (a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
            printf(" but ulValueLen %lu, not CK_UNAVAILABLE_INFORMATION", (unsigned long)a.ulValueLen);
        putchar('\n');
        failed = true;
        return;
    }
    for (CK_ULONG i = 0; i < a.ulValueLen; i++)
        printf("%02x", v[i]);
    putchar('\n');
}

static void cmd_flags(char **argv, int argc)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *name;
    } bools[] = {
        { CKA_TOKEN, "token" },         { CKA_PRIVATE, "private" },
        { CKA_SENSITIVE, "sensitive" }, { CKA_EXTRACTABLE, "extractable" },
        { CKA_ALWAYS_SENSITIVE, "always_sensitive" },
        { CKA_NEVER_EXTRACTABLE, "never_extractable" },
        { CKA_SIGN, "sign" },           { CKA_VERIFY, "verify" },
        { CKA_MODIFIABLE, "modifiable" }, { CKA_DESTROYABLE, "destroyable" },
    };
    if (argc != 1)
        usage_error("flags KEY");
    CK_OBJECT_HANDLE h = key_arg(argv[0]);
    for (size_t i = 0; i < N_ELEMENTS(bools); i++) {
        CK_BBOOL b = CK_FALSE;
        CK_ATTRIBUTE a = { bools[i].type, &b, sizeof b };
        CK_RV rv = p11->C_GetAttributeValue(sess, h, &a, 1);
        if (rv != CKR_OK)
            printf("%s=%s ", bools[i].name, rv_name(rv));
        else
            printf("%s=%d ", bools[i].name, b ? 1 : 0);
    }
    CK_ULONG len = 0;
    CK_ATTRIBUTE a = { CKA_VALUE_LEN, &len, sizeof len };
    CK_RV rv = p11->C_GetAttributeValue(sess, h, &a, 1);
    if (rv != CKR_OK)
        printf("value_len=%s\n", rv_name(rv));
    else
        printf("value_len=%lu\n", (unsigned long)len);
}

static void cmd_find(char **argv, int argc)
{
    if (argc != 1)
        usage_error("find LABEL");
    CK_OBJECT_HANDLE h;
    printf("%lu\n", (unsigned long)find_objects(argv[0], CK_UNAVAILABLE_INFORMATION, &h));
}

static void cmd_mechinfo(char **argv, int argc)
{
    if (argc != 1)
        usage_error("mechinfo MECH");
    CK_SESSION_INFO si;
    CK_RV rv = p11->C_GetSessionInfo(sess, &si);
    if (rv != CKR_OK)
        die("C_GetSessionInfo", rv);
    CK_MECHANISM_INFO mi;
    rv = p11->C_GetMechanismInfo(si.slotID, number("MECH", argv[0]), &mi);
    if (rv != CKR_OK) {
        call_failed("C_GetMechanismInfo", rv);
        return;
    }
    printf("min=%lu max=%lu sign=%d verify=%d\n", (unsigned long)mi.ulMinKeySize, (unsigned long)mi.ulMaxKeySize,
           (mi.flags & CKF_SIGN) != 0, (mi.flags & CKF_VERIFY) != 0);
}

/* ------------------------------------------------------------ operations */

/* Sign data with an initialised operation: one C_Sign (chunk 0) or
 * C_SignUpdate calls of chunk bytes and C_SignFinal, each after a length
 * query. Prints the output as text (the mechanisms give Base64). */
static void sign_data(const buf_t *data, size_t chunk)
{
    unsigned char out[256];
    CK_ULONG want = 0, len = sizeof out;
    CK_RV rv;
    if (chunk == 0) {
        rv = p11->C_Sign(sess, data->p, (CK_ULONG)data->n, NULL, &want);
        if (rv != CKR_OK) {
            call_failed("C_Sign (length query)", rv);
            return;
        }
        rv = p11->C_Sign(sess, data->p, (CK_ULONG)data->n, out, &len);
        if (rv != CKR_OK) {
            call_failed("C_Sign", rv);
            return;
        }
    } else {
        for (size_t off = 0; off < data->n; off += chunk) {
            size_t n = data->n - off < chunk ? data->n - off : chunk;
            rv = p11->C_SignUpdate(sess, data->p + off, (CK_ULONG)n);
            if (rv != CKR_OK) {
                call_failed("C_SignUpdate", rv);
                return;
            }
        }
        rv = p11->C_SignFinal(sess, NULL, &want);
        if (rv != CKR_OK) {
            call_failed("C_SignFinal (length query)", rv);
            return;
        }
        rv = p11->C_SignFinal(sess, out, &len);
        if (rv != CKR_OK) {
            call_failed("C_SignFinal", rv);
            return;
        }
    }
    if (len != want) {
        printf("error: the length query said %lu bytes, the signature has %lu\n", (unsigned long)want,
               (unsigned long)len);
        failed = true;
        return;
    }
    printf("%.*s\n", (int)len, (const char *)out);
}

/* Verify: one C_Verify (chunk 0) or C_VerifyUpdate calls and C_VerifyFinal. */
static void verify_data(const buf_t *data, size_t chunk, const buf_t *sig)
{
    CK_RV rv;
    const char *fn = "C_Verify";
    if (chunk == 0) {
        rv = p11->C_Verify(sess, data->p, (CK_ULONG)data->n, sig->p, (CK_ULONG)sig->n);
    } else {
        rv = CKR_OK;
        fn = "C_VerifyUpdate";
        for (size_t off = 0; rv == CKR_OK && off < data->n; off += chunk) {
            size_t n = data->n - off < chunk ? data->n - off : chunk;
            rv = p11->C_VerifyUpdate(sess, data->p + off, (CK_ULONG)n);
        }
        if (rv == CKR_OK) {
            fn = "C_VerifyFinal";
            rv = p11->C_VerifyFinal(sess, sig->p, (CK_ULONG)sig->n);
        }
    }
    if (rv != CKR_OK)
        call_failed(fn, rv);
    else
        printf("valid\n");
}

static CK_RV op_init(bool sign, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    CK_RV rv = sign ? p11->C_SignInit(sess, m, key) : p11->C_VerifyInit(sess, m, key);
    if (rv != CKR_OK)
        call_failed(sign ? "C_SignInit" : "C_VerifyInit", rv);
    return rv;
}

static bool sign_or_verify(const char *s)
{
    if (strcmp(s, "sign") == 0)
        return true;
    if (strcmp(s, "verify") != 0)
        usage_error("sign or verify, not '%s'", s);
    return false;
}

/* auth-md5 sign|verify KEY USER NONCEHEX [MAC] [DATAHEX [CHUNK]]
 * hmac sign|verify KEY USER NONCEHEX FILE CHUNK [MAC] */
static void cmd_syncml(CK_MECHANISM_TYPE type, char **argv, int argc)
{
    bool hmac = type == CKM_DMSC_SYNCML_HMAC_MD5;
    if (argc < 1)
        usage_error("auth-md5|hmac sign|verify ...");
    bool sign = sign_or_verify(argv[0]);
    int need = 4 + (hmac ? 2 : 0) + (sign ? 0 : 1);
    if (argc != need && (hmac || argc > need + 2))
        usage_error(hmac ? "hmac sign KEY USER NONCEHEX FILE CHUNK | hmac verify KEY USER NONCEHEX FILE CHUNK MAC"
                         : "auth-md5 sign KEY USER NONCEHEX [DATAHEX [CHUNK]] | "
                           "auth-md5 verify KEY USER NONCEHEX MAC [DATAHEX [CHUNK]]");
    CK_OBJECT_HANDLE key = key_arg(argv[1]);
    buf_t nonce = from_hex("NONCEHEX", argv[3]);
    CK_DMSC_SYNCML_AUTH_PARAMS params = {
        (CK_UTF8CHAR *)(strlen(argv[2]) ? argv[2] : NULL), (CK_ULONG)strlen(argv[2]),
        nonce.n ? nonce.p : NULL, (CK_ULONG)nonce.n,
    };
    CK_MECHANISM m = { type, &params, sizeof params };
    buf_t data = { NULL, 0 }, sig = { NULL, 0 };
    size_t chunk = 0;
    if (hmac) {
        data = read_arg(argv[4]);
        chunk = number("CHUNK", argv[5]);
        if (!sign)
            sig = mac_arg(argv[6]);
    } else {
        if (!sign)
            sig = mac_arg(argv[4]);
        if (argc > need)
            data = from_hex("DATAHEX", argv[need]);
        if (argc > need + 1)
            chunk = number("CHUNK", argv[need + 1]);
    }
    if (op_init(sign, &m, key) == CKR_OK) {
        if (sign)
            sign_data(&data, chunk);
        else
            verify_data(&data, chunk, &sig);
    }
    buf_free(&nonce);
    buf_free(&data);
    buf_free(&sig);
}

/* boot-verify SEC PIN FILE MAC [CHUNK [KEY]] */
static void cmd_boot_verify(char **argv, int argc)
{
    if (argc < 4 || argc > 6)
        usage_error("boot-verify SEC PIN FILE MAC [CHUNK [KEY]]");
    bool no_pin = strcmp(argv[1], "-") == 0;
    CK_DMSC_BOOTSTRAP_PARAMS params = {
        number("SEC", argv[0]),
        no_pin ? NULL : (CK_UTF8CHAR *)argv[1],
        no_pin ? 0 : (CK_ULONG)strlen(argv[1]),
    };
    CK_MECHANISM m = { CKM_DMSC_BOOTSTRAP_HMAC_SHA1, &params, sizeof params };
    buf_t data = read_arg(argv[2]);
    buf_t sig = mac_arg(argv[3]);
    size_t chunk = argc > 4 ? number("CHUNK", argv[4]) : 0;
    CK_OBJECT_HANDLE key = key_arg(argc > 5 ? argv[5] : "label:NETWORKID");
    if (op_init(false, &m, key) == CKR_OK)
        verify_data(&data, chunk, &sig);
    buf_free(&data);
    buf_free(&sig);
}

/* init sign|verify MECH KEY [noparam|badlen] */
static void cmd_init(char **argv, int argc)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "noparam") != 0 && strcmp(argv[3], "badlen") != 0))
        usage_error("init sign|verify MECH KEY [noparam|badlen]");
    bool sign = sign_or_verify(argv[0]);
    CK_MECHANISM m = { number("MECH", argv[1]), NULL, 0 };
    CK_OBJECT_HANDLE key = key_arg(argv[2]);
    CK_DMSC_SYNCML_AUTH_PARAMS sp = { (CK_UTF8CHAR *)"u", 1, (CK_BYTE *)"n", 1 };
    CK_DMSC_BOOTSTRAP_PARAMS bp = { CKD_DMSC_SEC_NETWPIN, NULL, 0 };
    if (m.mechanism == CKM_DMSC_SYNCML_AUTH_MD5 || m.mechanism == CKM_DMSC_SYNCML_HMAC_MD5) {
        m.pParameter = &sp;
        m.ulParameterLen = sizeof sp;
    } else if (m.mechanism == CKM_DMSC_BOOTSTRAP_HMAC_SHA1) {
        m.pParameter = &bp;
        m.ulParameterLen = sizeof bp;
    }
    if (argc == 4 && strcmp(argv[3], "noparam") == 0) {
        m.pParameter = NULL;
        m.ulParameterLen = 0;
    } else if (argc == 4) {
        m.ulParameterLen -= sizeof(CK_ULONG); /* one field short */
    }
    if (op_init(sign, &m, key) != CKR_OK)
        return;
    printf("ok\n");
    /* End the operation so the next command can start one: a final call
     * with a full buffer ends it whatever it answers. */
    unsigned char out[256] = { 0 };
    CK_ULONG len = sizeof out;
    if (sign)
        (void)p11->C_SignFinal(sess, out, &len);
    else
        (void)p11->C_VerifyFinal(sess, out, 20);
}

/* ------------------------------------------------------------ main */

static void run(char **argv, int argc)
{
    const char *c = argv[0];
    if (strcmp(c, "import") == 0)
        cmd_import(argv + 1, argc - 1);
    else if (strcmp(c, "auth-md5") == 0)
        cmd_syncml(CKM_DMSC_SYNCML_AUTH_MD5, argv + 1, argc - 1);
    else if (strcmp(c, "hmac") == 0)
        cmd_syncml(CKM_DMSC_SYNCML_HMAC_MD5, argv + 1, argc - 1);
    else if (strcmp(c, "boot-verify") == 0)
        cmd_boot_verify(argv + 1, argc - 1);
    else if (strcmp(c, "init") == 0)
        cmd_init(argv + 1, argc - 1);
    else if (strcmp(c, "value") == 0)
        cmd_value(argv + 1, argc - 1);
    else if (strcmp(c, "flags") == 0)
        cmd_flags(argv + 1, argc - 1);
    else if (strcmp(c, "find") == 0)
        cmd_find(argv + 1, argc - 1);
    else if (strcmp(c, "mechinfo") == 0)
        cmd_mechinfo(argv + 1, argc - 1);
    else
        usage_error("unknown command '%s'", c);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: p11-dmsec-driver TOKENLABEL USERPIN|- COMMAND ARGS... [-- COMMAND ARGS...]...\n"
                        "(with DMSC_MODULE set; see the comment at the top of p11-dmsec-driver.c)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    open_module();
    open_token(argv[1], strcmp(argv[2], "-") != 0 ? argv[2] : NULL);
    /* The commands, separated by "--". */
    for (int i = 3; i < argc;) {
        int j = i;
        while (j < argc && strcmp(argv[j], "--") != 0)
            j++;
        if (j == i)
            usage_error("an empty command");
        run(argv + i, j - i);
        i = j + 1;
    }
    CK_RV rv = p11->C_CloseSession(sess);
    if (rv != CKR_OK)
        die("C_CloseSession", rv);
    rv = p11->C_Finalize(NULL);
    if (rv != CKR_OK)
        die("C_Finalize", rv);
    return failed ? 1 : 0;
}
