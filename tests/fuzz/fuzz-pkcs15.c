/*
 * tests/fuzz/fuzz-pkcs15.c - libFuzzer target for the PKCS#15 decoder
 * (tokens/pcsc/pkcs15.h): every parse function on the same input, the
 * DODF encoder on what was decoded, and the PIN formatter.
 *
 * Build and run by hand (clang, Debian packages clang libclang-rt-14-dev
 * libtasn1-6-dev libtasn1-bin), from the top source directory:
 *   asn1Parser -o /tmp/pkcs15-asn1-tab.c -n dmsc_p15_asn1_tab \
 *     tokens/pcsc/pkcs15.asn
 *   cd tokens/pcsc && clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I.. ../../tests/fuzz/fuzz-pkcs15.c pkcs15.c pkcs15-der.c \
 *     pkcs15-df.c pkcs15-dodf.c pkcs15-pin.c /tmp/pkcs15-asn1-tab.c \
 *     $(pkg-config --cflags --libs libtasn1) -pthread -o /tmp/fuzz-pkcs15
 *   mkdir -p /tmp/corpus-pkcs15 && cp testdata/[a-z]*.der /tmp/corpus-pkcs15
 *   /tmp/fuzz-pkcs15 /tmp/corpus-pkcs15
 * (tests/fuzz/run-fuzz.sh pkcs15 does all of this.) Besides crashes and
 * leaks it checks, and aborts when one fails:
 *   - a refusal writes a message and leaves the output alone;
 *   - a DODF that decodes is encoded again, and that decodes to the same
 *     objects;
 *   - a formatted PIN fits its 64 bytes and, when it needs padding, is
 *     exactly storedLength long; every PIN decoded from the input as an
 *     AODF is tried on a few PINs.
 * The seeds are the unit test's fixtures (the .der files of
 * tokens/pcsc/testdata). A
 * failure found here becomes a case in tokens/pcsc/test-pkcs15.c.
 */
#include "pcsc/pkcs15.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool same_data(const dmsc_p15_data *x, const dmsc_p15_data *y)
{
    if ((x->c.label == NULL) != (y->c.label == NULL) || (x->app_name == NULL) != (y->app_name == NULL))
        return false;
    if (x->c.label != NULL && strcmp(x->c.label, y->c.label) != 0)
        return false;
    if (x->app_name != NULL && strcmp(x->app_name, y->app_name) != 0)
        return false;
    return x->oid_len == y->oid_len && memcmp(x->oid, y->oid, x->oid_len) == 0 &&
           x->c.private_obj == y->c.private_obj && x->c.modifiable == y->c.modifiable &&
           x->c.auth_id_len == y->c.auth_id_len && memcmp(x->c.auth_id, y->c.auth_id, x->c.auth_id_len) == 0 &&
           x->c.path.len == y->c.path.len && memcmp(x->c.path.path, y->c.path.path, x->c.path.len) == 0 &&
           x->c.path.has_range == y->c.path.has_range &&
           (!x->c.path.has_range || (x->c.path.index == y->c.path.index && x->c.path.length == y->c.path.length));
}

static void dodf_round_trip(const dmsc_p15_objects *o)
{
    dmsc_p15_objects back = {0};
    uint8_t *der = NULL;
    size_t len = 0;
    char err[256] = "";

    check(dmsc_p15_encode_dodf(o->data, o->n_data, &der, &len, err, sizeof err) == 0);
    check(dmsc_p15_parse_df(DMSC_P15_DODF, der, len, &back, err, sizeof err) == 0);
    check(back.n_data == o->n_data);
    for (size_t i = 0; i < o->n_data; i++)
        check(same_data(&o->data[i], &back.data[i]));
    dmsc_p15_objects_free(&back);
    free(der);
}

static void pin_try(const dmsc_p15_pin *pin, const uint8_t *in, size_t len)
{
    uint8_t out[64];
    size_t n = 999;

    if (dmsc_p15_pin_format(pin, in, len, out, &n) != 0) {
        check(n == 999);
        return;
    }
    check(n <= sizeof out);
    if (pin->flags & (1u << 5))
        check(n == pin->stored_len);
}

static void dfs(const uint8_t *data, size_t size)
{
    static const dmsc_p15_df_kind kinds[] = {DMSC_P15_PRKDF, DMSC_P15_PUKDF,       DMSC_P15_PUKDF_TRUSTED,
                                             DMSC_P15_CDF,   DMSC_P15_CDF_TRUSTED, DMSC_P15_CDF_USEFUL,
                                             DMSC_P15_DODF,  DMSC_P15_AODF};
    static const char *const pins[] = {"", "1234", "12345678", "0000000000000000", "abcDEF\xC3\xA9"};

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        dmsc_p15_objects o = {0};
        char err[256] = "";

        if (dmsc_p15_parse_df(kinds[k], data, size, &o, err, sizeof err) != 0) {
            check(err[0] != '\0');
            check(o.prkeys == NULL && o.pubkeys == NULL && o.certs == NULL && o.data == NULL && o.pins == NULL);
            check(o.n_prkeys + o.n_pubkeys + o.n_certs + o.n_data + o.n_pins == 0);
            continue;
        }
        if (kinds[k] == DMSC_P15_DODF)
            dodf_round_trip(&o);
        for (size_t i = 0; i < o.n_pins; i++) {
            for (size_t p = 0; p < sizeof pins / sizeof pins[0]; p++)
                pin_try(&o.pins[i], (const uint8_t *)pins[p], strlen(pins[p]));
            pin_try(&o.pins[i], data, size > 64 ? 64 : size);
        }
        dmsc_p15_objects_free(&o);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    dmsc_p15_path path;
    dmsc_p15_odf_entry *odf = NULL;
    size_t n = 0;
    dmsc_p15_tokeninfo ti = {0};

    memset(&path, 0xA5, sizeof path);
    if (dmsc_p15_parse_dir(data, size, &path, err, sizeof err) == 0)
        check(path.len >= 2 && path.len <= sizeof path.path && path.len % 2 == 0);
    else
        check(err[0] != '\0' && path.len == (size_t)0xA5A5A5A5A5A5A5A5ull);

    err[0] = '\0';
    if (dmsc_p15_parse_odf(data, size, &odf, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++)
            check(odf[i].path.len >= 2 && odf[i].path.len <= DMSC_P15_MAX_PATH);
        free(odf);
    } else {
        check(err[0] != '\0' && odf == NULL && n == 0);
    }

    err[0] = '\0';
    if (dmsc_p15_parse_tokeninfo(data, size, &ti, err, sizeof err) == 0) {
        check(ti.serial_len <= sizeof ti.serial);
        dmsc_p15_tokeninfo_free(&ti);
    } else {
        check(err[0] != '\0' && ti.label == NULL && ti.manufacturer == NULL);
    }

    dfs(data, size);

    /* The PIN formatter on its own: the first 8 bytes are the rules. */
    if (size >= 8) {
        dmsc_p15_pin pin = {0};

        pin.flags = data[0] | (unsigned)data[1] << 8;
        pin.type = (dmsc_p15_pin_type)(data[2] % 4);
        pin.min_len = data[3] % 70;
        pin.stored_len = data[4] % 70;
        pin.max_len = data[5] % 70;
        pin.has_pad = data[6] & 1;
        pin.pad_char = data[7];
        pin_try(&pin, data + 8, size - 8);
    }
    return 0;
}
