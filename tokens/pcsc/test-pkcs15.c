/*
 * tokens/pcsc/test-pkcs15.c: the PKCS#15 decoder and encoder on DER made
 * by another encoder (Python's asn1crypto: testdata/make-p15-fixtures.py,
 * whose values are the ones asserted here), the DODF round trip, padding,
 * PIN formats, and bad input: each refusal is -1 with a message naming the
 * file and the problem, and leaves what it was given unchanged.
 */
#include "pcsc/pkcs15.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DMSC_P15_TESTDATA
#error "DMSC_P15_TESTDATA (the fixtures' directory) is set by tokens/pcsc/pkcs15.mk"
#endif

typedef struct {
    uint8_t *b;
    size_t len;
} blob;

static blob load(const char *name)
{
    char path[1024];
    blob f = {0};
    FILE *fp;
    long n;

    snprintf(path, sizeof path, "%s/%s", DMSC_P15_TESTDATA, name);
    fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open fixture %s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    ck_assert_int_gt(n, 0);
    rewind(fp);
    f.b = malloc((size_t)n);
    ck_assert_ptr_nonnull(f.b);
    ck_assert_uint_eq(fread(f.b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    f.len = (size_t)n;
    return f;
}

static bool path_is(const dmsc_p15_path *p, const char *hex)
{
    size_t n = strlen(hex) / 2;

    if (p->len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || p->path[i] != v)
            return false;
    }
    return true;
}

/* The decoder refuses der as kind with a message holding `want`, and
 * leaves objs as it was (one RSA key from prkdf.der). */
static void refused_df(dmsc_p15_df_kind kind, const uint8_t *der, size_t len, const char *want)
{
    blob pk = load("prkdf.der");
    dmsc_p15_objects objs = {0};
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_PRKDF, pk.b, pk.len, &objs, err, sizeof err), 0);
    ck_assert_uint_eq(objs.n_prkeys, 2);
    dmsc_p15_prkey *before = objs.prkeys;
    ck_assert_int_eq(dmsc_p15_parse_df(kind, der, len, &objs, err, sizeof err), -1);
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' does not say '%s'", err, want);
    ck_assert_uint_eq(objs.n_prkeys, 2);
    ck_assert_ptr_eq(objs.prkeys, before);
    ck_assert_uint_eq(objs.n_data + objs.n_pins + objs.n_certs + objs.n_pubkeys, 0);
    ck_assert_str_eq(objs.prkeys[0].c.label, "DM signing key");
    dmsc_p15_objects_free(&objs);
    free(pk.b);
}

static void refused_fixture(dmsc_p15_df_kind kind, const char *name, const char *want)
{
    blob f = load(name);
    refused_df(kind, f.b, f.len, want);
    free(f.b);
}

START_TEST(test_dir)
{
    blob f = load("dir.der");
    dmsc_p15_path p;
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_dir(f.b, f.len, &p, err, sizeof err), 0);
    ck_assert(path_is(&p, "3F005015"));
    ck_assert(!p.has_range);
    /* Only the USIM's record (the first 21 bytes): no PKCS#15 application. */
    ck_assert_int_eq(dmsc_p15_parse_dir(f.b, 21, &p, err, sizeof err), -1);
    ck_assert_str_eq(err, "EF(DIR): no PKCS#15 application (AID A000000063504B43532D3135) is listed");
    /* Cut inside the second record. */
    ck_assert_int_eq(dmsc_p15_parse_dir(f.b, f.len - 1, &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "EF(DIR) object 2: ") == err, "%s", err);
    /* A record that is not an [APPLICATION 1]. */
    f.b[0] = 0x30;
    ck_assert_int_eq(dmsc_p15_parse_dir(f.b, f.len, &p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "EF(DIR) object 1: not a DER DIRRecord") == err, "%s", err);
    free(f.b);
}
END_TEST

START_TEST(test_odf)
{
    blob f = load("odf.der");
    dmsc_p15_odf_entry *e = NULL;
    size_t n = 0;
    char err[256] = "";
    static const dmsc_p15_df_kind kinds[] = {DMSC_P15_PRKDF,       DMSC_P15_PUKDF,       DMSC_P15_PUKDF_TRUSTED,
                                             DMSC_P15_CDF,         DMSC_P15_CDF_TRUSTED, DMSC_P15_CDF_USEFUL,
                                             DMSC_P15_DODF,        DMSC_P15_AODF};
    static const char *const paths[] = {"3F0050154400", "3F0050154401", "3F0050154402", "3F0050154404",
                                        "3F0050154405", "3F0050154406", "3F0050154407", "3F0050154408"};

    ck_assert_int_eq(dmsc_p15_parse_odf(f.b, f.len, &e, &n, err, sizeof err), 0);
    /* Nine entries, the secretKeys one skipped; the 00 padding ends it. */
    ck_assert_uint_eq(n, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(e[i].kind, kinds[i]);
        ck_assert_msg(path_is(&e[i].path, paths[i]), "entry %zu", i);
    }
    free(e);

    /* Truncated inside the third entry: refused, *out untouched. */
    e = (dmsc_p15_odf_entry *)&n;
    ck_assert_int_eq(dmsc_p15_parse_odf(f.b, 30, &e, &n, err, sizeof err), -1);
    ck_assert_ptr_eq(e, (dmsc_p15_odf_entry *)&n);
    ck_assert_msg(strstr(err, "ODF object 3: ") == err, "%s", err);
    /* A universal tag where an entry should be. */
    uint8_t bad[] = {0x04, 0x02, 0x44, 0x00};
    ck_assert_int_eq(dmsc_p15_parse_odf(bad, sizeof bad, &e, &n, err, sizeof err), -1);
    ck_assert_str_eq(err, "ODF object 1: tag 04 is not an ODF entry");
    free(f.b);
}
END_TEST

START_TEST(test_tokeninfo)
{
    blob f = load("tokeninfo.der");
    dmsc_p15_tokeninfo ti = {0};
    char err[256] = "";
    static const uint8_t iccid[] = {0x98, 0x10, 0x13, 0, 0, 0, 0, 0, 0, 0xF1};

    ck_assert_int_eq(dmsc_p15_parse_tokeninfo(f.b, f.len, &ti, err, sizeof err), 0);
    ck_assert_uint_eq(ti.serial_len, sizeof iccid);
    ck_assert_mem_eq(ti.serial, iccid, sizeof iccid);
    ck_assert_str_eq(ti.manufacturer, "dmsc test");
    ck_assert_str_eq(ti.label, "DM card");
    ck_assert_uint_eq(ti.flags, 0x6); /* loginRequired, prnGeneration */
    dmsc_p15_tokeninfo_free(&ti);

    /* In a bigger EF: FF padding after it. */
    uint8_t *padded = malloc(f.len + 20);
    memcpy(padded, f.b, f.len);
    memset(padded + f.len, 0xFF, 20);
    ck_assert_int_eq(dmsc_p15_parse_tokeninfo(padded, f.len + 20, &ti, err, sizeof err), 0);
    ck_assert_str_eq(ti.label, "DM card");
    dmsc_p15_tokeninfo_free(&ti);
    /* Something else after it. */
    padded[f.len + 3] = 0x30;
    ck_assert_int_eq(dmsc_p15_parse_tokeninfo(padded, f.len + 20, &ti, err, sizeof err), -1);
    ck_assert_str_eq(err, "TokenInfo: bytes other than padding after the TokenInfo");
    ck_assert_ptr_null(ti.label);
    free(padded);

    /* Every truncation is refused. */
    for (size_t l = 0; l < f.len; l++) {
        err[0] = '\0';
        ck_assert_int_eq(dmsc_p15_parse_tokeninfo(f.b, l, &ti, err, sizeof err), -1);
        ck_assert_msg(strncmp(err, "TokenInfo: ", 11) == 0, "length %zu: '%s'", l, err);
        ck_assert_ptr_null(ti.label);
    }
    free(f.b);
}
END_TEST

START_TEST(test_prkdf)
{
    blob f = load("prkdf.der");
    dmsc_p15_objects o = {0};
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_PRKDF, f.b, f.len, &o, err, sizeof err), 0);
    /* RSA, then a DSA key (skipped), then EC; FF padding after. */
    ck_assert_uint_eq(o.n_prkeys, 2);
    const dmsc_p15_prkey *k = &o.prkeys[0];
    ck_assert_int_eq(k->type, DMSC_P15_KEY_RSA);
    ck_assert_str_eq(k->c.label, "DM signing key");
    ck_assert(k->c.private_obj);
    ck_assert(!k->c.modifiable);
    ck_assert_uint_eq(k->c.auth_id_len, 1);
    ck_assert_uint_eq(k->c.auth_id[0], 0x01);
    ck_assert_uint_eq(k->c.id_len, 1);
    ck_assert_uint_eq(k->c.id[0], 0x45);
    ck_assert_uint_eq(k->usage, (1u << 2) | (1u << 9)); /* sign, nonRepudiation */
    ck_assert(k->has_key_ref);
    ck_assert_uint_eq(k->key_ref, 0x81);
    ck_assert_uint_eq(k->bits, 2048);
    ck_assert(path_is(&k->c.path, "3F0050154B01"));
    k = &o.prkeys[1];
    ck_assert_int_eq(k->type, DMSC_P15_KEY_EC);
    ck_assert_str_eq(k->c.label, "EC key");
    ck_assert_uint_eq(k->c.id_len, 2);
    ck_assert_uint_eq(k->c.id[1], 0x47);
    ck_assert_uint_eq(k->usage, (1u << 2) | (1u << 8)); /* sign, derive */
    ck_assert_uint_eq(k->key_ref, 2);
    ck_assert_uint_eq(k->bits, 0);
    ck_assert(path_is(&k->c.path, "4B02"));
    dmsc_p15_objects_free(&o);
    ck_assert_ptr_null(o.prkeys);
    free(f.b);
}
END_TEST

START_TEST(test_pukdf_cdf)
{
    blob pu = load("pukdf.der"), put = load("pukdf-trusted.der");
    blob cd = load("cdf.der"), cdt = load("cdf-trusted.der"), cdu = load("cdf-useful.der");
    dmsc_p15_objects o = {0};
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_PUKDF, pu.b, pu.len, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_PUKDF_TRUSTED, put.b, put.len, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.n_pubkeys, 2);
    ck_assert_int_eq(o.pubkeys[0].type, DMSC_P15_KEY_RSA);
    ck_assert(!o.pubkeys[0].trusted);
    ck_assert(o.pubkeys[0].c.modifiable);
    ck_assert_uint_eq(o.pubkeys[0].usage, 1u << 6); /* verify */
    ck_assert_uint_eq(o.pubkeys[0].c.id[0], 0x45);
    ck_assert(path_is(&o.pubkeys[0].c.path, "3F0050155501"));
    ck_assert_int_eq(o.pubkeys[1].type, DMSC_P15_KEY_EC);
    ck_assert(o.pubkeys[1].trusted);
    ck_assert_str_eq(o.pubkeys[1].c.label, "Trusted EC key");

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_CDF, cd.b, cd.len, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_CDF_TRUSTED, cdt.b, cdt.len, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_CDF_USEFUL, cdu.b, cdu.len, &o, err, sizeof err), 0);
    /* The attribute certificate in cdf.der is skipped. */
    ck_assert_uint_eq(o.n_certs, 3);
    ck_assert_str_eq(o.certs[0].c.label, "DM client certificate");
    ck_assert(!o.certs[0].authority && !o.certs[0].trusted);
    ck_assert_uint_eq(o.certs[0].c.id[0], 0x45);
    ck_assert(path_is(&o.certs[0].c.path, "3F0050154331"));
    ck_assert_str_eq(o.certs[1].c.label, "MA certificate");
    ck_assert(o.certs[1].authority && o.certs[1].trusted);
    ck_assert_uint_eq(o.certs[1].c.id_len, 2);
    ck_assert(path_is(&o.certs[2].c.path, "3F0050154333"));
    ck_assert(o.certs[2].authority && !o.certs[2].trusted);
    ck_assert(o.certs[2].c.path.has_range);
    ck_assert_uint_eq(o.certs[2].c.path.index, 0);
    ck_assert_uint_eq(o.certs[2].c.path.length, 512);
    dmsc_p15_objects_free(&o);
    free(pu.b), free(put.b), free(cd.b), free(cdt.b), free(cdu.b);
}
END_TEST

START_TEST(test_dodf)
{
    blob f = load("dodf.der");
    dmsc_p15_objects o = {0};
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, f.b, f.len, &o, err, sizeof err), 0);
    /* Bootstrap, MO, spare; the externalIDO skipped; FF padding. */
    ck_assert_uint_eq(o.n_data, 3);
    const dmsc_p15_data *d = &o.data[0];
    ck_assert_str_eq(d->c.label, "DM bootstrap");
    ck_assert_ptr_null(d->app_name);
    ck_assert_uint_eq(d->oid_len, sizeof DMSC_P15_DM_BOOTSTRAP_OID);
    ck_assert_mem_eq(d->oid, DMSC_P15_DM_BOOTSTRAP_OID, sizeof DMSC_P15_DM_BOOTSTRAP_OID);
    ck_assert(!d->c.modifiable && !d->c.private_obj);
    ck_assert(path_is(&d->c.path, "3F0050156001"));
    ck_assert(!d->c.path.has_range);
    d = &o.data[1];
    ck_assert_str_eq(d->c.label, "./DMAcc/OperatorX");
    ck_assert_str_eq(d->app_name, DMSC_P15_MO_APP);
    ck_assert_uint_eq(d->oid_len, 0);
    ck_assert(d->c.modifiable && d->c.private_obj);
    ck_assert_uint_eq(d->c.auth_id_len, 1);
    ck_assert(path_is(&d->c.path, "3F0050156002"));
    ck_assert(d->c.path.has_range);
    ck_assert_uint_eq(d->c.path.index, 0);
    ck_assert_uint_eq(d->c.path.length, 300);
    d = &o.data[2];
    ck_assert_str_eq(d->c.label, "");
    ck_assert_str_eq(d->app_name, DMSC_P15_SPARE_APP);
    ck_assert(path_is(&d->c.path, "3F0050156003"));
    dmsc_p15_objects_free(&o);
    free(f.b);
}
END_TEST

START_TEST(test_aodf)
{
    blob f = load("aodf.der");
    dmsc_p15_objects o = {0};
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_AODF, f.b, f.len, &o, err, sizeof err), 0);
    /* User PIN, a biometric template (skipped), PUK, SO PIN. */
    ck_assert_uint_eq(o.n_pins, 3);
    const dmsc_p15_pin *p = &o.pins[0];
    ck_assert_str_eq(p->c.label, "User PIN");
    ck_assert_uint_eq(p->c.auth_id_len, 1);
    ck_assert_uint_eq(p->c.auth_id[0], 0x01);
    ck_assert_uint_eq(p->flags, (1u << 1) | (1u << 4) | (1u << 5)); /* local, initialized, needs-padding */
    ck_assert_int_eq(p->type, DMSC_P15_PIN_ASCII_NUMERIC);
    ck_assert_uint_eq(p->min_len, 4);
    ck_assert_uint_eq(p->stored_len, 8);
    ck_assert_uint_eq(p->max_len, 8);
    ck_assert(p->has_ref);
    ck_assert_uint_eq(p->ref, 1);
    ck_assert(p->has_pad);
    ck_assert_uint_eq(p->pad_char, 0xFF);
    ck_assert(path_is(&p->c.path, "3F005015"));
    p = &o.pins[1];
    ck_assert_str_eq(p->c.label, "PUK");
    ck_assert_uint_eq(p->c.auth_id[0], 0x02);
    /* local, unblock-disabled, initialized, unblockingPin, soPin */
    ck_assert_uint_eq(p->flags, (1u << 1) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 7));
    ck_assert_int_eq(p->type, DMSC_P15_PIN_BCD);
    ck_assert_uint_eq(p->min_len, 8);
    ck_assert_uint_eq(p->max_len, 0);
    ck_assert_uint_eq(p->ref, 2);
    ck_assert(!p->has_pad);
    ck_assert_uint_eq(p->c.path.len, 0);
    p = &o.pins[2];
    ck_assert_str_eq(p->c.label, "SO PIN");
    ck_assert_int_eq(p->type, DMSC_P15_PIN_UTF8);
    ck_assert_uint_eq(p->flags, 1u | (1u << 4) | (1u << 7));
    /* pinReference left out: its DEFAULT, 0. */
    ck_assert(p->has_ref);
    ck_assert_uint_eq(p->ref, 0);
    ck_assert_uint_eq(p->stored_len, 16);
    dmsc_p15_objects_free(&o);
    free(f.b);
}
END_TEST

START_TEST(test_padding)
{
    dmsc_p15_objects o = {0};
    char err[256] = "";
    uint8_t ff[64], zero[3] = {0};

    memset(ff, 0xFF, sizeof ff);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, ff, sizeof ff, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, zero, sizeof zero, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_AODF, NULL, 0, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.n_data + o.n_pins, 0);
    ck_assert_ptr_null(o.data);

    /* Two files into one set: appended. */
    blob d = load("dodf.der"), a = load("aodf.der");
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, d.b, d.len, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, d.b, d.len, &o, err, sizeof err), 0);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_AODF, a.b, a.len, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.n_data, 6);
    ck_assert_uint_eq(o.n_pins, 3);
    ck_assert_str_eq(o.data[4].app_name, DMSC_P15_MO_APP);
    dmsc_p15_objects_free(&o);
    free(d.b), free(a.b);
}
END_TEST

/* encode_dodf's output decodes to the same objects, and the objects the
 * two encoders write alike (no empty flags) are byte for byte the same as
 * asn1crypto's. */
START_TEST(test_dodf_round_trip)
{
    blob f = load("dodf.der");
    dmsc_p15_objects o = {0}, back = {0};
    uint8_t *der = NULL;
    size_t len = 0;
    char err[256] = "";

    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, f.b, f.len, &o, err, sizeof err), 0);
    ck_assert_msg(dmsc_p15_encode_dodf(o.data, o.n_data, &der, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, der, len, &back, err, sizeof err), 0);
    ck_assert_uint_eq(back.n_data, o.n_data);
    for (size_t i = 0; i < o.n_data; i++) {
        const dmsc_p15_data *x = &o.data[i], *y = &back.data[i];
        ck_assert_str_eq(x->c.label, y->c.label);
        ck_assert((x->app_name == NULL) == (y->app_name == NULL));
        if (x->app_name)
            ck_assert_str_eq(x->app_name, y->app_name);
        ck_assert_uint_eq(x->oid_len, y->oid_len);
        ck_assert_mem_eq(x->oid, y->oid, x->oid_len);
        ck_assert_int_eq(x->c.private_obj, y->c.private_obj);
        ck_assert_int_eq(x->c.modifiable, y->c.modifiable);
        ck_assert_uint_eq(x->c.auth_id_len, y->c.auth_id_len);
        ck_assert_mem_eq(&x->c.path, &y->c.path, sizeof x->c.path);
    }
    /* Objects 2 and 3 (MO and spare): asn1crypto's bytes. The fixture's
     * bootstrap entry (first) has an empty flags BIT STRING dmsc leaves out. */
    size_t first = 2 + f.b[1], mo_spare = (2 + f.b[first + 1]) + (2 + f.b[first + 2 + f.b[first + 1] + 1]);
    ck_assert_uint_ge(len, mo_spare);
    ck_assert_mem_eq(der + len - mo_spare, f.b + first, mo_spare);

    /* A new MO written to the spare EF: the entries as the backend would
     * write them. */
    dmsc_p15_data mo = o.data[1];
    mo.c.path = o.data[2].c.path;
    mo.c.path.has_range = true;
    mo.c.path.index = 0;
    mo.c.path.length = 77;
    free(der);
    ck_assert_int_eq(dmsc_p15_encode_dodf(&mo, 1, &der, &len, err, sizeof err), 0);
    dmsc_p15_objects_free(&back);
    ck_assert_int_eq(dmsc_p15_parse_df(DMSC_P15_DODF, der, len, &back, err, sizeof err), 0);
    ck_assert_uint_eq(back.n_data, 1);
    ck_assert(path_is(&back.data[0].c.path, "3F0050156003"));
    ck_assert_uint_eq(back.data[0].c.path.length, 77);
    ck_assert_str_eq(back.data[0].c.label, "./DMAcc/OperatorX");
    free(der);

    /* No objects: an empty file. */
    ck_assert_int_eq(dmsc_p15_encode_dodf(NULL, 0, &der, &len, err, sizeof err), 0);
    ck_assert_uint_eq(len, 0);
    free(der);
    dmsc_p15_objects_free(&back);
    dmsc_p15_objects_free(&o);
    free(f.b);
}
END_TEST

START_TEST(test_encode_refusals)
{
    dmsc_p15_data d = {0};
    uint8_t *der = (uint8_t *)&d;
    size_t len = 99;
    char err[256] = "", big[300];

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    d.c.path.len = 2;
    d.c.path.path[0] = 0x60;
    d.c.label = big;
    ck_assert_int_eq(dmsc_p15_encode_dodf(&d, 1, &der, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "DODF object 1: the label has 299 bytes, more than 255");
    ck_assert_ptr_eq(der, (uint8_t *)&d);
    ck_assert_uint_eq(len, 99);
    d.c.label = (char *)"\xC3";
    ck_assert_int_eq(dmsc_p15_encode_dodf(&d, 1, &der, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "DODF object 1: the label is not UTF-8 text");
    d.c.label = (char *)"ok";
    d.c.path.len = 3;
    ck_assert_int_eq(dmsc_p15_encode_dodf(&d, 1, &der, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "DODF object 1: the value's path has 3 bytes: 2 to 16, 2 per file id");
    d.c.path.len = 2;
    d.oid_len = 3;
    memcpy(d.oid, "\x06\x05\x67", 3);
    ck_assert_int_eq(dmsc_p15_encode_dodf(&d, 1, &der, &len, err, sizeof err), -1);
    ck_assert_str_eq(err, "DODF object 1: the applicationOID is not the DER of an OBJECT IDENTIFIER");
    ck_assert_ptr_eq(der, (uint8_t *)&d);
}
END_TEST

START_TEST(test_bad_values)
{
    refused_fixture(DMSC_P15_DODF, "bad-label-long.der", "DODF object 1: the label is too long");
    refused_fixture(DMSC_P15_DODF, "bad-path-long.der", "DODF object 1: the value's path is too long");
    refused_fixture(DMSC_P15_PRKDF, "bad-id-long.der", "PrKDF object 1: the key's iD is too long");
    refused_fixture(DMSC_P15_PRKDF, "bad-keyref-big.der", "PrKDF object 1: the keyReference is 256, more than 255");
    refused_fixture(DMSC_P15_DODF, "bad-path-odd.der", "DODF object 1: the value's path has 3 bytes");
    refused_fixture(DMSC_P15_DODF, "bad-path-half-range.der", "an index without a length");
    refused_fixture(DMSC_P15_DODF, "bad-label-nul.der", "DODF object 1: the label is not UTF-8 text (or holds a NUL)");
    refused_fixture(DMSC_P15_DODF, "bad-label-utf8.der", "DODF object 1: the label is not UTF-8 text");
}
END_TEST

START_TEST(test_bad_der)
{
    blob f = load("dodf.der");
    size_t first = 2 + f.b[1];

    /* Every cut inside the second object. */
    for (size_t l = first + 1; l < first + 2 + f.b[first + 1]; l++)
        refused_df(DMSC_P15_DODF, f.b, l, "DODF object 2: ");
    /* A whole file of the wrong kind. */
    refused_df(DMSC_P15_AODF, f.b, f.len,
               "AODF object 1: not a DER AuthenticationType (libtasn1: TAG_ERROR: tag error near element "
               "'pin.classAttributes.authId.')");
    refused_df(DMSC_P15_CDF, f.b, f.len, "CDF object 1: not a DER CertificateType");
    /* Lengths past the end of the data, long forms, indefinite (BER). */
    static const uint8_t past[] = {0x30, 0x82, 0xFF, 0xFF, 0x30, 0x00};
    refused_df(DMSC_P15_DODF, past, sizeof past, "DODF object 1: its DER header is bad or claims more than the 6 bytes left");
    static const uint8_t huge[] = {0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0x30};
    refused_df(DMSC_P15_DODF, huge, sizeof huge, "DODF object 1: its DER header is bad");
    static const uint8_t indef[] = {0x30, 0x80, 0x30, 0x00, 0x00, 0x00};
    refused_df(DMSC_P15_DODF, indef, sizeof indef, "DODF object 1: its DER header is bad");
    /* A universal tag is not an unknown later alternative. */
    static const uint8_t octets[] = {0x04, 0x01, 0x00};
    refused_df(DMSC_P15_DODF, octets, sizeof octets, "DODF object 1: tag 04 is not a data object");
    /* An unknown kind. */
    refused_df((dmsc_p15_df_kind)42, f.b, f.len, "unknown kind 42");
    free(f.b);
}
END_TEST

static dmsc_p15_pin user_pin(void)
{
    dmsc_p15_pin p = {0};
    p.flags = (1u << 4) | (1u << 5);
    p.type = DMSC_P15_PIN_ASCII_NUMERIC;
    p.min_len = 4;
    p.stored_len = 8;
    p.max_len = 8;
    p.has_pad = true;
    p.pad_char = 0xFF;
    return p;
}

START_TEST(test_pin_format)
{
    dmsc_p15_pin p = user_pin();
    uint8_t out[64];
    size_t n = 0;

    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"1234", 4, out, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert_mem_eq(out, "1234\xFF\xFF\xFF\xFF", 8);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"12345678", 8, out, &n), 0);
    ck_assert_mem_eq(out, "12345678", 8);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"123", 3, out, &n), -1);       /* < min */
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"123456789", 9, out, &n), -1); /* > max */
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"12a4", 4, out, &n), -1);      /* not a digit */
    /* Without needs-padding: as it is. */
    p.flags = 0;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"98765", 5, out, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(out, "98765", 5);
    /* Padding with no padChar given: FF. A PIN longer than storedLength
     * cannot be padded. */
    p = user_pin();
    p.has_pad = false;
    p.max_len = 0;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"00001", 5, out, &n), 0);
    ck_assert_mem_eq(out, "00001\xFF\xFF\xFF", 8);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"123456789", 9, out, &n), -1);

    /* BCD: two digits a byte; odd: the padChar's low nibble. */
    p = user_pin();
    p.type = DMSC_P15_PIN_BCD;
    p.flags = 0;
    p.min_len = 1;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"12345678", 8, out, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(out, "\x12\x34\x56\x78", 4);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"907", 3, out, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_mem_eq(out, "\x90\x7F", 2);
    p.flags = 1u << 5;
    p.pad_char = 0x00;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"907", 3, out, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert_mem_eq(out, "\x90\x70\0\0\0\0\0\0", 8);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"9x", 2, out, &n), -1);

    /* UTF-8: upper case unless case-sensitive. */
    p = user_pin();
    p.type = DMSC_P15_PIN_UTF8;
    p.flags = 0;
    p.max_len = 16;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"abc\xC3\xA9", 5, out, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(out, "ABC\xC3\xA9", 5);
    p.flags = 1;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"abcd", 4, out, &n), 0);
    ck_assert_mem_eq(out, "abcd", 4);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"ab\xC3z", 4, out, &n), -1);
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"ab\0d", 4, out, &n), -1);

    /* Rules that cannot hold. */
    p.stored_len = 65;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"abcd", 4, out, &n), -1);
    p.stored_len = 8;
    p.type = (dmsc_p15_pin_type)7;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, (const uint8_t *)"abcd", 4, out, &n), -1);
    ck_assert_int_eq(dmsc_p15_pin_format(NULL, (const uint8_t *)"abcd", 4, out, &n), -1);
    p = user_pin();
    p.min_len = 0;
    ck_assert_int_eq(dmsc_p15_pin_format(&p, NULL, 1, out, &n), -1);
}
END_TEST

static Suite *pkcs15_suite(void)
{
    Suite *s = suite_create("pkcs15");
    TCase *t = tcase_create("decode");
    tcase_add_test(t, test_dir);
    tcase_add_test(t, test_odf);
    tcase_add_test(t, test_tokeninfo);
    tcase_add_test(t, test_prkdf);
    tcase_add_test(t, test_pukdf_cdf);
    tcase_add_test(t, test_dodf);
    tcase_add_test(t, test_aodf);
    tcase_add_test(t, test_padding);
    suite_add_tcase(s, t);
    t = tcase_create("encode");
    tcase_add_test(t, test_dodf_round_trip);
    tcase_add_test(t, test_encode_refusals);
    suite_add_tcase(s, t);
    t = tcase_create("refusals");
    tcase_add_test(t, test_bad_values);
    tcase_add_test(t, test_bad_der);
    suite_add_tcase(s, t);
    t = tcase_create("pin");
    tcase_add_test(t, test_pin_format);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pkcs15_suite());
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
