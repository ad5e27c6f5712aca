/* Debug tracing to stderr, off unless DMSC_DEBUG is set. */
#include "common.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dmsc_debug_flags = 0;

static const struct {
    const char *name;
    int flag;
} areas[] = {
    { "call", DMSC_DEBUG_CALL },
    { "store", DMSC_DEBUG_STORE },
    { "pin", DMSC_DEBUG_PIN },
    { "object", DMSC_DEBUG_OBJECT },
    { "card", DMSC_DEBUG_CARD },
};

void dmsc_debug_init(void)
{
    const char *env = getenv("DMSC_DEBUG");
    dmsc_debug_flags = 0;
    if (env == NULL || *env == '\0')
        return;
    if (strcmp(env, "all") == 0 || strcmp(env, "1") == 0 || strcmp(env, "yes") == 0) {
        dmsc_debug_flags = ~0;
        return;
    }
    for (size_t i = 0; i < DMSC_N_ELEMENTS(areas); i++)
        if (strstr(env, areas[i].name) != NULL)
            dmsc_debug_flags |= areas[i].flag;
}

void dmsc_debug_message(int area, const char *fmt, ...)
{
    const char *name = "dmsc";
    for (size_t i = 0; i < DMSC_N_ELEMENTS(areas); i++)
        if (areas[i].flag == area)
            name = areas[i].name;
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "dmsc[%ld] %s: ", (long)getpid(), name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

void dmsc_debug_bug(const char *func, const char *expr)
{
    fprintf(stderr, "dmsc: internal check failed in %s: %s\n", func, expr);
}

void dmsc_pad_copy(unsigned char *dst, size_t dst_len, const char *src, size_t src_len)
{
    memset(dst, ' ', dst_len);
    memcpy(dst, src, src_len < dst_len ? src_len : dst_len);
}

void dmsc_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

#define RV(x) { x, #x }
static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY), RV(CKR_SLOT_ID_INVALID),
    RV(CKR_GENERAL_ERROR), RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD),
    RV(CKR_NO_EVENT), RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK),
    RV(CKR_ATTRIBUTE_READ_ONLY), RV(CKR_ATTRIBUTE_SENSITIVE),
    RV(CKR_ATTRIBUTE_TYPE_INVALID), RV(CKR_ATTRIBUTE_VALUE_INVALID),
    RV(CKR_DATA_INVALID), RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR),
    RV(CKR_DEVICE_MEMORY), RV(CKR_DEVICE_REMOVED), RV(CKR_FUNCTION_CANCELED),
    RV(CKR_FUNCTION_NOT_PARALLEL), RV(CKR_FUNCTION_NOT_SUPPORTED),
    RV(CKR_KEY_HANDLE_INVALID), RV(CKR_MECHANISM_INVALID),
    RV(CKR_MECHANISM_PARAM_INVALID), RV(CKR_OBJECT_HANDLE_INVALID),
    RV(CKR_OPERATION_ACTIVE), RV(CKR_OPERATION_NOT_INITIALIZED),
    RV(CKR_PIN_INCORRECT), RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE),
    RV(CKR_PIN_EXPIRED), RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED),
    RV(CKR_SESSION_COUNT), RV(CKR_SESSION_HANDLE_INVALID),
    RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED), RV(CKR_SESSION_READ_ONLY),
    RV(CKR_SESSION_EXISTS), RV(CKR_SESSION_READ_ONLY_EXISTS),
    RV(CKR_SESSION_READ_WRITE_SO_EXISTS), RV(CKR_SIGNATURE_INVALID),
    RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TEMPLATE_INCOMPLETE),
    RV(CKR_TEMPLATE_INCONSISTENT), RV(CKR_TOKEN_NOT_PRESENT),
    RV(CKR_TOKEN_NOT_RECOGNIZED), RV(CKR_TOKEN_WRITE_PROTECTED),
    RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
    RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
    RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), RV(CKR_USER_TOO_MANY_TYPES),
    RV(CKR_BUFFER_TOO_SMALL), RV(CKR_RANDOM_NO_RNG),
    RV(CKR_CRYPTOKI_NOT_INITIALIZED), RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    RV(CKR_MUTEX_BAD), RV(CKR_MUTEX_NOT_LOCKED), RV(CKR_ACTION_PROHIBITED),
    RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
    RV(CKR_KEY_SIZE_RANGE), RV(CKR_OBJECT_HANDLE_INVALID),
};
#undef RV

const char *dmsc_rv_name(CK_RV rv)
{
    for (size_t i = 0; i < DMSC_N_ELEMENTS(rv_names); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    return "CKR_(unknown)";
}
