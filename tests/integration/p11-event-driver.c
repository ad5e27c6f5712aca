/*
 * p11-event-driver: C_WaitForSlotEvent as an application sees it, for
 * tests/integration/test-slot-events.sh. It loads $DMSC_MODULE, calls
 * C_Initialize, then reads one command per line on stdin and answers each
 * with one line on stdout (and "wait" with two):
 *
 *   poll       C_WaitForSlotEvent(CKF_DONT_BLOCK): "event 0xID" or the CKR name
 *   wait       "blocking", then the blocking call's "event 0xID" or CKR name
 *   slots      each slot as "0xID:app" or "0xID:spare", space-separated
 *   finalize   a thread blocks in C_WaitForSlotEvent, the main thread
 *              calls C_Finalize: the thread's CKR name (the spec says
 *              CKR_CRYPTOKI_NOT_INITIALIZED); the module is initialised
 *              again afterwards
 *   quit       C_Finalize, "ok", exit 0
 *
 * Setup errors exit with status 2 (p11-check.h).
 */
#include "p11-check.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char driver_name[] = "p11-event-driver";

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void say_event(CK_RV rv, CK_SLOT_ID slot)
{
    if (rv == CKR_OK)
        reply("event 0x%lx", (unsigned long)slot);
    else
        reply("%s", rv_name(rv));
}

static void list_slots(void)
{
    CK_SLOT_ID ids[64];
    CK_ULONG n = N_ELEMENTS(ids);
    CK_RV rv = p11->C_GetSlotList(CK_FALSE, ids, &n);
    if (rv != CKR_OK) {
        reply("%s", rv_name(rv));
        return;
    }
    char line[64 * 32] = "";
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        rv = p11->C_GetTokenInfo(ids[i], &ti);
        char one[32];
        snprintf(one, sizeof(one), "%s0x%lx:%s", i ? " " : "", (unsigned long)ids[i],
                 rv != CKR_OK ? rv_name(rv) : (ti.flags & CKF_TOKEN_INITIALIZED) ? "app" : "spare");
        strncat(line, one, sizeof(line) - strlen(line) - 1);
    }
    reply("%s", line);
}

static void *blocked_waiter(void *arg)
{
    CK_RV *rv = arg;
    CK_SLOT_ID slot;
    *rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
    return NULL;
}

static void finalize_under_waiter(void)
{
    CK_RV waiter_rv = CKR_GENERAL_ERROR;
    pthread_t t;
    if (pthread_create(&t, NULL, blocked_waiter, &waiter_rv) != 0)
        die("pthread_create", CKR_HOST_MEMORY);
    /* Give the waiter time to block; a waiter that came late would get
     * the same answer, so the outcome does not depend on it. */
    usleep(300 * 1000);
    CK_RV rv = p11->C_Finalize(NULL);
    pthread_join(t, NULL);
    if (rv != CKR_OK)
        die("C_Finalize", rv);
    CK_C_INITIALIZE_ARGS args = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL };
    if ((rv = p11->C_Initialize(&args)) != CKR_OK)
        die("C_Initialize again", rv);
    reply("%s", rv_name(waiter_rv));
}

int main(void)
{
    open_module();
    char line[256];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        CK_SLOT_ID slot = 0;
        if (strcmp(line, "poll") == 0) {
            CK_RV rv = p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL);
            say_event(rv, slot);
        } else if (strcmp(line, "wait") == 0) {
            reply("blocking");
            CK_RV rv = p11->C_WaitForSlotEvent(0, &slot, NULL);
            say_event(rv, slot);
        } else if (strcmp(line, "slots") == 0) {
            list_slots();
        } else if (strcmp(line, "finalize") == 0) {
            finalize_under_waiter();
        } else if (strcmp(line, "quit") == 0) {
            CK_RV rv = p11->C_Finalize(NULL);
            reply("%s", rv == CKR_OK ? "ok" : rv_name(rv));
            return rv == CKR_OK ? 0 : 1;
        } else {
            reply("unknown command '%s'", line);
        }
    }
    return 0;
}
