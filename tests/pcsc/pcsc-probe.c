/*
 * pcsc-probe: the PC/SC transport (tokens/pcsc: reader.c, apdu.c,
 * iso7816.c) driven line by line from stdin, for
 * tests/pcsc/test-pcsc-transport.sh against a real pcscd and card.
 *
 *   pcsc-probe [READER...]      (readers: exact names to use; none: all)
 *
 * Commands, one per line; each answer is one or more lines ending with a
 * line "." (so a driving script knows when to read the next one):
 *   poll                    reader INDEX gone=0|1 present=0|1 insertions=N atr=HEX NAME
 *   connect INDEX           connect: RV
 *   disconnect              disconnect: CKR_OK
 *   select-aid HEX          select-aid: RV sw=XXXX
 *   read-ef PATHHEX MAX     read-ef: RV sw=XXXX len=N data=HEX
 *   read-binary OFF LEN     read-binary: RV sw=XXXX len=N data=HEX   (current EF)
 *   apdu HEADER DATA LE     apdu: RV sw=XXXX len=N data=HEX   (HEADER: CLA INS P1 P2 as 8 hex
 *                           digits; DATA: hex, or - for none; LE: 0 none, 1..256; sent through
 *                           dmsc_card_transmit, so 61xx and 6Cxx are handled by apdu.c)
 *   verify REF [PIN]        verify: RV sw=XXXX tries=N   (PIN ASCII, padded FF to 8; none: empty)
 *   begin / end             begin: RV / end: CKR_OK
 *   reset-other INDEX       reset-other: OK|<pcsc error>   (another PC/SC connection resets the card)
 *   quit                    quit: OK, then disconnects, frees the context and exits 0 (as at end
 *                           of input: a driving script cannot always make its end of input seen,
 *                           e.g. when a service it started later holds the write end of a fifo)
 * RV is the PKCS#11 name (CKR_OK, CKR_DEVICE_REMOVED, ...) or
 * DMSC_CKR_CARD_RESET. Exit 0 at quit or end of input; 2 on a usage error.
 */
#include "config.h"

#include "pcsc/iso7816.h"
#include "debug.h"

#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *rv_text(CK_RV rv)
{
    return rv == DMSC_CKR_CARD_RESET ? "DMSC_CKR_CARD_RESET" : dmsc_rv_name(rv);
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02X", p[i]);
}

static size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned v;
    while (s[0] != '\0' && s[1] != '\0' && n < cap && sscanf(s, "%2x", &v) == 1) {
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* Another application resets the card: its own context and connection. */
static void reset_other(dmsc_pcsc *p, size_t index)
{
    const dmsc_reader_state *rs;
    size_t n;
    if (dmsc_pcsc_poll(p, &rs, &n) != CKR_OK || index >= n) {
        printf("reset-other: no such reader\n");
        return;
    }
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    DWORD proto;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv == SCARD_S_SUCCESS) {
        rv = SCardConnect(ctx, rs[index].name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                          &proto);
        if (rv == SCARD_S_SUCCESS) {
            rv = SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD,
                                &proto);
            SCardDisconnect(h, SCARD_LEAVE_CARD);
        }
        SCardReleaseContext(ctx);
    }
    printf("reset-other: %s\n", rv == SCARD_S_SUCCESS ? "OK" : pcsc_stringify_error(rv));
}

int main(int argc, char **argv)
{
    dmsc_debug_init();
    dmsc_pcsc *p;
    CK_RV rv = dmsc_pcsc_new((const char *const *)(argv + 1), (size_t)(argc - 1), &p);
    if (rv != CKR_OK) {
        fprintf(stderr, "pcsc-probe: dmsc_pcsc_new: %s\n", rv_text(rv));
        return 1;
    }
    dmsc_card *card = NULL;
    char line[1024];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char cmd[32] = "", a1[512] = "", a2[512] = "", a3[32] = "";
        if (sscanf(line, "%31s %511s %511s %31s", cmd, a1, a2, a3) < 1)
            continue;
        if (strcmp(cmd, "quit") == 0) {
            printf("quit: OK\n.\n");
            break;
        }
        uint16_t sw = 0;
        if (strcmp(cmd, "poll") == 0) {
            const dmsc_reader_state *rs;
            size_t n;
            rv = dmsc_pcsc_poll(p, &rs, &n);
            printf("poll: %s readers=%zu\n", rv_text(rv), rv == CKR_OK ? n : 0);
            for (size_t i = 0; rv == CKR_OK && i < n; i++) {
                printf("reader %zu gone=%d present=%d insertions=%llu atr=", i, rs[i].gone, rs[i].present,
                       (unsigned long long)rs[i].insertions);
                print_hex(rs[i].atr, rs[i].atr_len);
                printf(" %s\n", rs[i].name);
            }
        } else if (strcmp(cmd, "connect") == 0) {
            dmsc_card_disconnect(card);
            card = NULL;
            rv = dmsc_card_connect(p, strtoul(a1, NULL, 10), &card);
            printf("connect: %s\n", rv_text(rv));
        } else if (strcmp(cmd, "disconnect") == 0) {
            dmsc_card_disconnect(card);
            card = NULL;
            printf("disconnect: CKR_OK\n");
        } else if (card == NULL && strcmp(cmd, "reset-other") != 0) {
            printf("%s: not connected\n", cmd);
        } else if (strcmp(cmd, "select-aid") == 0) {
            uint8_t aid[16];
            size_t n = parse_hex(a1, aid, sizeof(aid));
            rv = dmsc_iso_select_aid(card, aid, n, &sw);
            printf("select-aid: %s sw=%04X\n", rv_text(rv), sw);
        } else if (strcmp(cmd, "read-ef") == 0) {
            uint8_t path[16], *data = NULL;
            size_t n = parse_hex(a1, path, sizeof(path)), len = 0;
            rv = dmsc_iso_read_ef(card, path, n, strtoul(a2, NULL, 10), &data, &len, &sw);
            printf("read-ef: %s sw=%04X len=%zu data=", rv_text(rv), sw, len);
            print_hex(data, len);
            printf("\n");
            free(data);
        } else if (strcmp(cmd, "apdu") == 0) {
            uint8_t hdr[4], data[255], resp[1024];
            size_t len = 0;
            if (parse_hex(a1, hdr, sizeof(hdr)) != sizeof(hdr)) {
                fprintf(stderr, "pcsc-probe: apdu: HEADER is CLA INS P1 P2 (8 hex digits), not '%s'\n", a1);
                return 2;
            }
            dmsc_apdu a = { .cla = hdr[0], .ins = hdr[1], .p1 = hdr[2], .p2 = hdr[3],
                            .le = strtoul(a3, NULL, 10) };
            if (strcmp(a2, "-") != 0) {
                a.data_len = parse_hex(a2, data, sizeof(data));
                a.data = data;
            }
            rv = dmsc_card_transmit(card, &a, resp, sizeof(resp), &len, &sw);
            printf("apdu: %s sw=%04X len=%zu data=", rv_text(rv), sw, len);
            print_hex(resp, len);
            printf("\n");
        } else if (strcmp(cmd, "read-binary") == 0) {
            uint8_t data[256];
            size_t len = 0;
            rv = dmsc_iso_read_binary(card, strtoul(a1, NULL, 10), strtoul(a2, NULL, 10), data, &len, &sw);
            printf("read-binary: %s sw=%04X len=%zu data=", rv_text(rv), sw, len);
            print_hex(data, len);
            printf("\n");
        } else if (strcmp(cmd, "verify") == 0) {
            uint8_t pin[8];
            size_t len = 0;
            if (a2[0] != '\0') {
                memset(pin, 0xFF, sizeof(pin));
                len = strlen(a2) < sizeof(pin) ? strlen(a2) : sizeof(pin);
                memcpy(pin, a2, len);
                len = sizeof(pin);
            }
            rv = dmsc_iso_verify(card, (uint8_t)strtoul(a1, NULL, 16), pin, len, &sw);
            printf("verify: %s sw=%04X tries=%d\n", rv_text(rv), sw, dmsc_apdu_tries_left(sw));
        } else if (strcmp(cmd, "begin") == 0) {
            printf("begin: %s\n", rv_text(dmsc_card_begin(card)));
        } else if (strcmp(cmd, "end") == 0) {
            dmsc_card_end(card);
            printf("end: CKR_OK\n");
        } else if (strcmp(cmd, "reset-other") == 0) {
            reset_other(p, strtoul(a1, NULL, 10));
        } else {
            fprintf(stderr, "pcsc-probe: unknown command '%s'\n", cmd);
            return 2;
        }
        printf(".\n");
    }
    dmsc_card_disconnect(card);
    dmsc_pcsc_free(p);
    return 0;
}
