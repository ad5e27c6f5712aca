/*
 * p11-driver: a small, generic PKCS#11 client for the integration tests.
 *
 * It dlopens the module named by $DMSC_MODULE (no dmsc headers: only the
 * standard interface through <p11-kit/pkcs11.h>) and runs in one of two
 * modes.
 *
 * Command mode (no arguments): reads one command a line on stdin and
 * prints exactly one result line on stdout per command, flushed at once,
 * so a shell can drive it through a coprocess or fifos:
 *
 *   init                     C_Initialize(NULL)                 -> ok
 *   open TOKENLABEL          R/W session on the token so named  -> ok
 *   openidx N                R/W session on the Nth slot with a token -> ok
 *   slots                    C_GetSlotList(CK_TRUE)             -> count N
 *   tokeninfo N              C_GetTokenInfo of the Nth slot     -> ok 0xFLAGS LABEL
 *   flags                    flags of the open session's token  -> flags 0xFLAGS
 *   login PIN                C_Login(CKU_USER)                  -> ok
 *   sologin PIN              C_Login(CKU_SO)                    -> ok
 *   logout                   C_Logout                           -> ok
 *   initpin PIN              C_InitPIN (in an SO session)       -> ok
 *   setpin OLD NEW           C_SetPIN                           -> ok
 *   create LABEL             public token CKO_DATA, value=LABEL -> ok
 *   createpriv LABEL         the same with CKA_PRIVATE=TRUE     -> ok
 *   createfile LABEL FILE    public token CKO_DATA, value=FILE's bytes -> ok
 *   cert LABEL HEXID FILE [trusted]
 *                            token X.509 certificate with only CKA_VALUE,
 *                            CKA_ID and CKA_LABEL (subject, issuer and
 *                            serial left to the module)           -> ok
 *   getattr LABEL subject|issuer|serial|value|trusted|objectid
 *                            the attribute of the first object with that
 *                            label, in hex                       -> hex HEX
 *   find LABEL               objects (any class) with that label -> count N
 *   destroy LABEL            destroys every object with that label -> ok
 *   forkfind LABEL           fork(); the child calls C_Initialize, opens
 *                            the same token, finds LABEL and reports to
 *                            the parent; prints the child's line (count N
 *                            or err ...) once the child has exited
 *   close                    C_CloseSession                     -> ok
 *   finalize                 C_Finalize                         -> ok
 *   quit                     close, finalize and exit           -> ok
 *
 * A failing call prints "err CKR_NAME 0xHEX" (the name is CKR_0x... when
 * unknown); a bad command prints "err usage ...".
 *
 * Writer mode:  p11-driver writer LABELPREFIX COUNT [TOKENLABEL [PIN]]
 *   opens a R/W session on TOKENLABEL (default: the first slot whose token
 *   is initialised), logs in if PIN is given, then creates COUNT public
 *   token data objects labelled LABELPREFIX-1 .. LABELPREFIX-COUNT,
 *   printing "created <label>" (flushed) after each one C_CreateObject
 *   returned CKR_OK for. Prints "done" at the end; on an error prints
 *   "err ..." and exits 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "p11-check.h"

const char driver_name[] = "p11-driver";

static CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
static CK_SLOT_ID session_slot;
static char session_token[33];

/* "CKR_NAME 0xHEX" for rv, in a static buffer. */
static const char *rv_str(CK_RV rv)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "%s 0x%lx", rv_name(rv), (unsigned long)rv);
    return buf;
}

__attribute__((format(printf, 1, 2)))
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void reply_rv(CK_RV rv)
{
    if (rv == CKR_OK)
        reply("ok");
    else
        reply("err %s", rv_str(rv));
}

/* Copy a blank-padded PKCS#11 string into a C string without the padding. */
static void unpad(char *dst, const unsigned char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

/* The slots with a token present; *slots is malloc'd. */
static CK_RV token_slots(CK_SLOT_ID **slots, CK_ULONG *n)
{
    CK_RV rv;
    *slots = NULL;
    for (;;) {
        rv = p11->C_GetSlotList(CK_TRUE, NULL, n);
        if (rv != CKR_OK)
            return rv;
        free(*slots);
        *slots = calloc(*n + 1, sizeof **slots);
        if (*slots == NULL)
            return CKR_HOST_MEMORY;
        rv = p11->C_GetSlotList(CK_TRUE, *slots, n);
        if (rv != CKR_BUFFER_TOO_SMALL)
            break;
    }
    if (rv != CKR_OK) {
        free(*slots);
        *slots = NULL;
    }
    return rv;
}

/* Finds the slot whose token has this label (or, label NULL, the first
 * initialised token). CKR_TOKEN_NOT_PRESENT when there is none. */
static CK_RV find_token(const char *label, CK_SLOT_ID *slot, char name[33])
{
    CK_SLOT_ID *slots;
    CK_ULONG n;
    CK_RV rv = token_slots(&slots, &n);
    if (rv != CKR_OK)
        return rv;
    CK_RV last = CKR_TOKEN_NOT_PRESENT;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        rv = p11->C_GetTokenInfo(slots[i], &ti);
        if (rv != CKR_OK) {
            last = rv;
            continue;
        }
        unpad(name, ti.label, sizeof ti.label);
        if (label == NULL ? (ti.flags & CKF_TOKEN_INITIALIZED) != 0 : strcmp(name, label) == 0) {
            *slot = slots[i];
            free(slots);
            return CKR_OK;
        }
    }
    free(slots);
    return last;
}

static void close_session(void)
{
    if (session != CK_INVALID_HANDLE)
        p11->C_CloseSession(session);
    session = CK_INVALID_HANDLE;
}

static CK_RV open_slot(CK_SLOT_ID slot, const char *name)
{
    close_session();
    CK_RV rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session);
    if (rv != CKR_OK) {
        session = CK_INVALID_HANDLE;
        return rv;
    }
    session_slot = slot;
    snprintf(session_token, sizeof session_token, "%s", name);
    return CKR_OK;
}

static CK_RV open_by_label(const char *label)
{
    CK_SLOT_ID slot;
    char name[33];
    CK_RV rv = find_token(label, &slot, name);
    if (rv != CKR_OK)
        return rv;
    return open_slot(slot, name);
}

static CK_RV create_data_value(const char *label, CK_BBOOL priv, const void *value, size_t len)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    static char app[] = "dmsc-integration-test";
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &priv, sizeof priv },
        { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_APPLICATION, app, strlen(app) },
        { CKA_VALUE, (void *)value, len },
    };
    CK_OBJECT_HANDLE h;
    return p11->C_CreateObject(session, t, sizeof t / sizeof t[0], &h);
}

static CK_RV create_data(const char *label, CK_BBOOL priv)
{
    return create_data_value(label, priv, label, strlen(label));
}

/* Every object with this label (up to max); *n is the count found. */
static CK_RV find_label(const char *label, CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *n)
{
    CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, strlen(label) } };
    CK_RV rv = p11->C_FindObjectsInit(session, t, 1);
    if (rv != CKR_OK)
        return rv;
    *n = 0;
    for (;;) {
        CK_OBJECT_HANDLE buf[64];
        CK_ULONG got = 0;
        rv = p11->C_FindObjects(session, buf, 64, &got);
        if (rv != CKR_OK || got == 0)
            break;
        for (CK_ULONG i = 0; i < got; i++) {
            if (hs != NULL && *n < max)
                hs[*n] = buf[i];
            (*n)++;
        }
    }
    CK_RV rv2 = p11->C_FindObjectsFinal(session);
    return rv != CKR_OK ? rv : rv2;
}

static int hex_to_bin(const char *hex, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

static void cmd_createfile(char *args)
{
    char *save = NULL;
    char *label = strtok_r(args, " ", &save);
    char *path = strtok_r(NULL, " ", &save);
    if (label == NULL || path == NULL) {
        reply("err usage createfile LABEL FILE");
        return;
    }
    buf_t data;
    const char *why = read_file(path, &data);
    if (why != NULL) {
        reply("err usage cannot read %s: %s", path, why);
        return;
    }
    reply_rv(create_data_value(label, CK_FALSE, data.p, data.n));
    buf_free(&data);
}

static void cmd_cert(char *args)
{
    char *save = NULL;
    char *label = strtok_r(args, " ", &save);
    char *hexid = strtok_r(NULL, " ", &save);
    char *path = strtok_r(NULL, " ", &save);
    char *opt = strtok_r(NULL, " ", &save);
    unsigned char id[64];
    size_t id_len;
    if (label == NULL || hexid == NULL || path == NULL ||
        (opt != NULL && strcmp(opt, "trusted") != 0) ||
        hex_to_bin(hexid, id, sizeof id, &id_len) != 0) {
        reply("err usage cert LABEL HEXID FILE [trusted]");
        return;
    }
    buf_t der;
    const char *why = read_file(path, &der);
    if (why != NULL) {
        reply("err usage cannot read %s: %s", path, why);
        return;
    }
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_CERTIFICATE_TYPE, &ct, sizeof ct },
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &no, sizeof no },
        { CKA_LABEL, label, strlen(label) },
        { CKA_ID, id, id_len },
        { CKA_VALUE, der.p, der.n },
        { CKA_TRUSTED, &yes, sizeof yes },
    };
    CK_ULONG n = sizeof t / sizeof t[0];
    if (opt == NULL)
        n--;
    CK_OBJECT_HANDLE h;
    reply_rv(p11->C_CreateObject(session, t, n, &h));
    buf_free(&der);
}

static void cmd_getattr(char *args)
{
    char *save = NULL;
    char *label = strtok_r(args, " ", &save);
    char *what = strtok_r(NULL, " ", &save);
    CK_ATTRIBUTE_TYPE type;
    if (label == NULL || what == NULL) {
        reply("err usage getattr LABEL subject|issuer|serial|value|trusted|objectid");
        return;
    }
    if (strcmp(what, "subject") == 0)
        type = CKA_SUBJECT;
    else if (strcmp(what, "issuer") == 0)
        type = CKA_ISSUER;
    else if (strcmp(what, "serial") == 0)
        type = CKA_SERIAL_NUMBER;
    else if (strcmp(what, "value") == 0)
        type = CKA_VALUE;
    else if (strcmp(what, "trusted") == 0)
        type = CKA_TRUSTED;
    else if (strcmp(what, "objectid") == 0)
        type = CKA_OBJECT_ID;
    else {
        reply("err usage getattr: unknown attribute %s", what);
        return;
    }
    CK_OBJECT_HANDLE h;
    CK_ULONG n;
    CK_RV rv = find_label(label, &h, 1, &n);
    if (rv == CKR_OK && n == 0)
        rv = CKR_OBJECT_HANDLE_INVALID;
    if (rv != CKR_OK) {
        reply_rv(rv);
        return;
    }
    CK_ATTRIBUTE a = { type, NULL, 0 };
    rv = p11->C_GetAttributeValue(session, h, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        reply_rv(rv != CKR_OK ? rv : CKR_ATTRIBUTE_TYPE_INVALID);
        return;
    }
    unsigned char *buf = malloc(a.ulValueLen + 1);
    if (buf == NULL) {
        reply_rv(CKR_HOST_MEMORY);
        return;
    }
    a.pValue = buf;
    rv = p11->C_GetAttributeValue(session, h, &a, 1);
    if (rv != CKR_OK) {
        reply_rv(rv);
    } else {
        printf("hex ");
        for (CK_ULONG i = 0; i < a.ulValueLen; i++)
            printf("%02x", buf[i]);
        reply("%s", "");
    }
    free(buf);
}

static void cmd_forkfind(const char *label)
{
    int fds[2];
    if (session == CK_INVALID_HANDLE) {
        reply_rv(CKR_SESSION_HANDLE_INVALID);
        return;
    }
    if (pipe(fds) != 0) {
        reply("err usage pipe: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        reply("err usage fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        FILE *out = fdopen(fds[1], "w");
        if (out == NULL)
            _exit(3);
        CK_RV rv = p11->C_Initialize(NULL);
        if (rv != CKR_OK) {
            fprintf(out, "err child C_Initialize %s\n", rv_str(rv));
            fclose(out);
            _exit(0);
        }
        session = CK_INVALID_HANDLE;
        rv = open_by_label(session_token);
        CK_ULONG n = 0;
        if (rv == CKR_OK)
            rv = find_label(label, NULL, 0, &n);
        if (rv != CKR_OK)
            fprintf(out, "err %s\n", rv_str(rv));
        else
            fprintf(out, "count %lu\n", (unsigned long)n);
        close_session();
        p11->C_Finalize(NULL);
        fclose(out);
        _exit(0);
    }
    close(fds[1]);
    char line[256] = "";
    FILE *in = fdopen(fds[0], "r");
    if (in == NULL || fgets(line, sizeof line, in) == NULL)
        line[0] = '\0';
    if (in != NULL)
        fclose(in);
    else
        close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    line[strcspn(line, "\n")] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        reply("err child died (status 0x%x) after '%s'", (unsigned)st, line);
    else if (line[0] == '\0')
        reply("err child reported nothing");
    else
        reply("%s", line);
}

static void cmd_tokeninfo(const char *arg)
{
    CK_SLOT_ID *slots;
    CK_ULONG n;
    char *end;
    unsigned long idx = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0') {
        reply("err usage tokeninfo N");
        return;
    }
    CK_RV rv = token_slots(&slots, &n);
    if (rv == CKR_OK && idx >= n)
        rv = CKR_SLOT_ID_INVALID;
    if (rv == CKR_OK) {
        CK_TOKEN_INFO ti;
        rv = p11->C_GetTokenInfo(slots[idx], &ti);
        if (rv == CKR_OK) {
            char name[33];
            unpad(name, ti.label, sizeof ti.label);
            reply("ok 0x%lx %s", (unsigned long)ti.flags, name);
        }
    }
    if (rv != CKR_OK)
        reply_rv(rv);
    free(slots);
}

static void cmd_openidx(const char *arg)
{
    CK_SLOT_ID *slots;
    CK_ULONG n;
    char *end;
    unsigned long idx = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0') {
        reply("err usage openidx N");
        return;
    }
    CK_RV rv = token_slots(&slots, &n);
    if (rv == CKR_OK && idx >= n)
        rv = CKR_SLOT_ID_INVALID;
    if (rv == CKR_OK)
        rv = open_slot(slots[idx], "");
    reply_rv(rv);
    free(slots);
}

static int command_mode(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *cmd = line;
        char *args = strchr(line, ' ');
        if (args != NULL)
            *args++ = '\0';
        else
            args = line + len;
        if (*cmd == '\0') {
            continue;
        } else if (strcmp(cmd, "init") == 0) {
            reply_rv(p11->C_Initialize(NULL));
        } else if (strcmp(cmd, "open") == 0) {
            reply_rv(open_by_label(args));
        } else if (strcmp(cmd, "openidx") == 0) {
            cmd_openidx(args);
        } else if (strcmp(cmd, "slots") == 0) {
            CK_SLOT_ID *slots;
            CK_ULONG n;
            CK_RV rv = token_slots(&slots, &n);
            if (rv == CKR_OK)
                reply("count %lu", (unsigned long)n);
            else
                reply_rv(rv);
            free(slots);
        } else if (strcmp(cmd, "tokeninfo") == 0) {
            cmd_tokeninfo(args);
        } else if (strcmp(cmd, "flags") == 0) {
            CK_TOKEN_INFO ti;
            CK_RV rv = session == CK_INVALID_HANDLE ? CKR_SESSION_HANDLE_INVALID
                                                    : p11->C_GetTokenInfo(session_slot, &ti);
            if (rv == CKR_OK)
                reply("flags 0x%lx", (unsigned long)ti.flags);
            else
                reply_rv(rv);
        } else if (strcmp(cmd, "login") == 0 || strcmp(cmd, "sologin") == 0) {
            CK_USER_TYPE who = cmd[0] == 's' ? CKU_SO : CKU_USER;
            reply_rv(p11->C_Login(session, who, (CK_UTF8CHAR_PTR)args, strlen(args)));
        } else if (strcmp(cmd, "logout") == 0) {
            reply_rv(p11->C_Logout(session));
        } else if (strcmp(cmd, "initpin") == 0) {
            reply_rv(p11->C_InitPIN(session, (CK_UTF8CHAR_PTR)args, strlen(args)));
        } else if (strcmp(cmd, "setpin") == 0) {
            char *sp = strchr(args, ' ');
            if (sp == NULL) {
                reply("err usage setpin OLD NEW");
            } else {
                *sp++ = '\0';
                reply_rv(p11->C_SetPIN(session, (CK_UTF8CHAR_PTR)args, strlen(args),
                                       (CK_UTF8CHAR_PTR)sp, strlen(sp)));
            }
        } else if (strcmp(cmd, "create") == 0 || strcmp(cmd, "createpriv") == 0) {
            if (*args == '\0')
                reply("err usage %s LABEL", cmd);
            else
                reply_rv(create_data(args, strcmp(cmd, "createpriv") == 0 ? CK_TRUE : CK_FALSE));
        } else if (strcmp(cmd, "createfile") == 0) {
            cmd_createfile(args);
        } else if (strcmp(cmd, "cert") == 0) {
            cmd_cert(args);
        } else if (strcmp(cmd, "getattr") == 0) {
            cmd_getattr(args);
        } else if (strcmp(cmd, "find") == 0) {
            CK_ULONG n;
            CK_RV rv = find_label(args, NULL, 0, &n);
            if (rv == CKR_OK)
                reply("count %lu", (unsigned long)n);
            else
                reply_rv(rv);
        } else if (strcmp(cmd, "destroy") == 0) {
            CK_OBJECT_HANDLE hs[256];
            CK_ULONG n;
            CK_RV rv = find_label(args, hs, 256, &n);
            if (rv == CKR_OK && n == 0)
                rv = CKR_OBJECT_HANDLE_INVALID;
            for (CK_ULONG i = 0; rv == CKR_OK && i < n && i < 256; i++)
                rv = p11->C_DestroyObject(session, hs[i]);
            reply_rv(rv);
        } else if (strcmp(cmd, "forkfind") == 0) {
            cmd_forkfind(args);
        } else if (strcmp(cmd, "close") == 0) {
            CK_RV rv = p11->C_CloseSession(session);
            session = CK_INVALID_HANDLE;
            reply_rv(rv);
        } else if (strcmp(cmd, "finalize") == 0) {
            session = CK_INVALID_HANDLE;
            reply_rv(p11->C_Finalize(NULL));
        } else if (strcmp(cmd, "quit") == 0) {
            close_session();
            p11->C_Finalize(NULL);
            reply("ok");
            free(line);
            return 0;
        } else {
            reply("err usage unknown command '%s'", cmd);
        }
    }
    free(line);
    return 0;
}

static int writer_mode(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: p11-driver writer LABELPREFIX COUNT [TOKENLABEL [PIN]]\n");
        return 2;
    }
    const char *prefix = argv[2];
    char *end;
    unsigned long count = strtoul(argv[3], &end, 10);
    if (*argv[3] == '\0' || *end != '\0') {
        fprintf(stderr, "p11-driver: bad COUNT '%s'\n", argv[3]);
        return 2;
    }
    CK_RV rv = p11->C_Initialize(NULL);
    if (rv == CKR_OK)
        rv = open_by_label(argc > 4 ? argv[4] : NULL);
    if (rv == CKR_OK && argc > 5)
        rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)argv[5], strlen(argv[5]));
    if (rv != CKR_OK) {
        reply("err %s", rv_str(rv));
        return 1;
    }
    for (unsigned long i = 1; i <= count; i++) {
        char label[256];
        snprintf(label, sizeof label, "%s-%lu", prefix, i);
        rv = create_data(label, CK_FALSE);
        if (rv != CKR_OK) {
            reply("err %s (creating %s)", rv_str(rv), label);
            return 1;
        }
        reply("created %s", label);
    }
    close_session();
    p11->C_Finalize(NULL);
    reply("done");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "writer") != 0) {
        fprintf(stderr, "usage: p11-driver            (commands on stdin)\n"
                        "       p11-driver writer LABELPREFIX COUNT [TOKENLABEL [PIN]]\n");
        return 2;
    }
    load_module();
    if (argc > 1)
        return writer_mode(argc, argv);
    return command_mode();
}
