/*
 * The PKCS#15 application's top files: EF(DIR) (where the application
 * is), EF(ODF) (where its directory files are) and EF(TokenInfo); and
 * freeing what the decoders return. The directory files themselves are
 * in pkcs15-df.c, the DODF encoder in pkcs15-dodf.c, PINs in pkcs15-pin.c.
 */
#include "pkcs15-int.h"

#include <stdlib.h>
#include <string.h>

const uint8_t DMSC_P15_AID[12] = {0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35};
/* OBJECT IDENTIFIER 2.23.43.7.1: 67 = 2*40 + 23, then 43, 7, 1. */
const uint8_t DMSC_P15_DM_BOOTSTRAP_OID[6] = {0x06, 0x04, 0x67, 0x2B, 0x07, 0x01};

/* EF(DIR) ------------------------------------------------------------- */

typedef struct {
    dmsc_p15_path path;
    bool found;
} dir_find;

static int dir_record(p15_ctx *c, asn1_node_const rec, void *arg)
{
    dir_find *f = arg;
    uint8_t aid[16];
    size_t aid_len;
    dmsc_p15_path p = {0};

    if (p15_read_octets(c, rec, "aid", "the AID", aid, sizeof aid, &aid_len, false) < 0)
        return -1;
    if (aid_len != sizeof DMSC_P15_AID || memcmp(aid, DMSC_P15_AID, aid_len) != 0 || f->found)
        return 0; /* another application, or a second PKCS#15 one: the first counts */
    if (p15_read_octets(c, rec, "path", "the application's path", p.path, sizeof p.path, &p.len, false) < 0)
        return -1;
    if (p.len == 0 || p.len % 2 != 0)
        return p15_fail(c, "the application's path has %zu bytes: file ids are 2 bytes each", p.len);
    f->path = p;
    f->found = true;
    return 0;
}

int dmsc_p15_parse_dir(const uint8_t *der, size_t len, dmsc_p15_path *app_path, char *err, size_t err_len)
{
    p15_ctx c = {.file = "EF(DIR)", .err = err, .err_len = err_len};
    dir_find f = {0};

    if (p15_each_object(&c, "PKCS15.DIRRecord", der, len, dir_record, &f) < 0)
        return -1;
    c.object = 0;
    if (!f.found)
        return p15_fail(&c, "no PKCS#15 application (AID A000000063504B43532D3135) is listed");
    *app_path = f.path;
    return 0;
}

/* EF(ODF) ------------------------------------------------------------- */

typedef struct {
    dmsc_p15_odf_entry *v;
    size_t n, cap;
} odf_list;

static const struct {
    const char *name;
    dmsc_p15_df_kind kind;
} odf_kinds[] = {
    {"privateKeys", DMSC_P15_PRKDF},
    {"publicKeys", DMSC_P15_PUKDF},
    {"trustedPublicKeys", DMSC_P15_PUKDF_TRUSTED},
    {"certificates", DMSC_P15_CDF},
    {"trustedCertificates", DMSC_P15_CDF_TRUSTED},
    {"usefulCertificates", DMSC_P15_CDF_USEFUL},
    {"dataObjects", DMSC_P15_DODF},
    {"authObjects", DMSC_P15_AODF},
};

static int odf_entry(p15_ctx *c, asn1_node_const e, void *arg)
{
    odf_list *l = arg;
    char alt[32], f[64];
    dmsc_p15_odf_entry entry;
    size_t i;

    if (p15_read_choice(c, e, "", "the entry", alt, sizeof alt) < 0)
        return -1;
    for (i = 0; i < sizeof odf_kinds / sizeof odf_kinds[0]; i++)
        if (strcmp(alt, odf_kinds[i].name) == 0)
            break;
    if (i == sizeof odf_kinds / sizeof odf_kinds[0]) /* secret keys, or a later kind */
        return strcmp(alt, "other") == 0 ? p15_other(c, "an ODF entry") : 0;
    snprintf(f, sizeof f, "%s", alt);
    if (p15_read_choice(c, e, f, "the entry", alt, sizeof alt) < 0)
        return -1;
    if (strcmp(alt, "path") != 0)
        return 0; /* objects in the ODF itself: not supported */
    entry.kind = odf_kinds[i].kind;
    snprintf(f, sizeof f, "%s.path", odf_kinds[i].name);
    if (p15_read_path(c, e, f, "the directory file's path", &entry.path, false) < 0)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        dmsc_p15_odf_entry *v = realloc(l->v, cap * sizeof *v);

        if (v == NULL)
            return p15_fail(c, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = entry;
    return 0;
}

int dmsc_p15_parse_odf(const uint8_t *der, size_t len, dmsc_p15_odf_entry **out, size_t *n, char *err,
                       size_t err_len)
{
    p15_ctx c = {.file = "ODF", .err = err, .err_len = err_len};
    odf_list l = {0};

    if (p15_each_object(&c, "PKCS15.PKCS15Objects", der, len, odf_entry, &l) < 0) {
        free(l.v);
        return -1;
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

/* EF(TokenInfo) ------------------------------------------------------- */

int dmsc_p15_parse_tokeninfo(const uint8_t *der, size_t len, dmsc_p15_tokeninfo *out, char *err, size_t err_len)
{
    p15_ctx c = {.file = "TokenInfo", .err = err, .err_len = err_len};
    dmsc_p15_tokeninfo ti = {0};
    asn1_node n;
    uint32_t version;
    size_t end;
    int rc = -1;

    if (der == NULL && len > 0)
        return p15_fail(&c, "no data");
    if (len == 0 || der[0] == 0x00 || der[0] == 0xFF)
        return p15_fail(&c, "the file is empty (no TokenInfo before the padding)");
    /* The EF may be bigger than the TokenInfo: what the DER header says
     * the TokenInfo takes is decoded, and only padding may follow. */
    {
        unsigned char cls;
        unsigned long tag;
        int tag_len, len_len;
        long body;

        if (len > P15_MAX_FILE)
            return p15_fail(&c, "%zu bytes, more than a card file holds (%d)", len, P15_MAX_FILE);
        if (asn1_get_tag_der(der, (int)len, &cls, &tag_len, &tag) != ASN1_SUCCESS ||
            (body = asn1_get_length_der(der + tag_len, (int)len - tag_len, &len_len)) < 0)
            return p15_fail(&c, "its DER header is bad or claims more than the file's %zu bytes (truncated?)", len);
        end = (size_t)tag_len + (size_t)len_len + (size_t)body;
        for (size_t i = end; i < len; i++)
            if (der[i] != 0x00 && der[i] != 0xFF)
                return p15_fail(&c, "bytes other than padding after the TokenInfo");
    }
    if (p15_decode(&c, "PKCS15.TokenInfo", der, end, &n) < 0)
        return -1;
    if (p15_read_uint(&c, n, "version", "the version", UINT32_MAX, &version, false) < 0 ||
        p15_read_octets(&c, n, "serialNumber", "the serial number", ti.serial, sizeof ti.serial, &ti.serial_len,
                        false) < 0 ||
        p15_read_label(&c, n, "manufacturerID", "the manufacturer", &ti.manufacturer, true) < 0 ||
        p15_read_label(&c, n, "label", "the label", &ti.label, true) < 0 ||
        p15_read_bits(&c, n, "tokenflags", "the token flags", &ti.flags, false) < 0)
        goto done;
    *out = ti;
    memset(&ti, 0, sizeof ti);
    rc = 0;
done:
    asn1_delete_structure(&n);
    dmsc_p15_tokeninfo_free(&ti);
    return rc;
}

void dmsc_p15_tokeninfo_free(dmsc_p15_tokeninfo *ti)
{
    if (ti == NULL)
        return;
    free(ti->manufacturer);
    free(ti->label);
    ti->manufacturer = ti->label = NULL;
}

void dmsc_p15_objects_free(dmsc_p15_objects *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n_prkeys; i++)
        p15_common_free(&o->prkeys[i].c);
    for (size_t i = 0; i < o->n_pubkeys; i++)
        p15_common_free(&o->pubkeys[i].c);
    for (size_t i = 0; i < o->n_certs; i++)
        p15_common_free(&o->certs[i].c);
    for (size_t i = 0; i < o->n_data; i++) {
        p15_common_free(&o->data[i].c);
        free(o->data[i].app_name);
    }
    for (size_t i = 0; i < o->n_pins; i++)
        p15_common_free(&o->pins[i].c);
    free(o->prkeys);
    free(o->pubkeys);
    free(o->certs);
    free(o->data);
    free(o->pins);
    memset(o, 0, sizeof *o);
}
