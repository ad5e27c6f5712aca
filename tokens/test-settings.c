/*
 * Unit tests of the settings that choose the token backends: backends
 * (and DMSC_BACKENDS) and pcsc_reader, read through dmsc_config_load
 * from a config file of the test's own (DMSC_CONF).
 */
#include "settings.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[PATH_MAX];
static char conf[PATH_MAX + 16];
static char err[512];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s/dmsc-settings-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/dmsc.conf", dir);
    setenv("DMSC_CONF", conf, 1);
    setenv("DMSC_STORE", dir, 1);
    unsetenv("DMSC_BACKENDS");
}

static void teardown(void)
{
    unlink(conf);
    rmdir(dir);
}

/* Load with this config file; returns dmsc_config_load's result. */
static int load(const char *text, dmsc_config *cfg)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    return dmsc_config_load(cfg, err, sizeof(err));
}

static void assert_err_has(const char *part)
{
    ck_assert_msg(strstr(err, part) != NULL, "error '%s' does not say '%s'", err, part);
}

START_TEST(test_default_is_vuicc)
{
    dmsc_config cfg;
    ck_assert_int_eq(load("# nothing\n", &cfg), 0);
    ck_assert_uint_eq(cfg.n_backends, 1);
    ck_assert_int_eq(cfg.backends[0], DMSC_BACKEND_VUICC);
    ck_assert_uint_eq(cfg.n_pcsc_readers, 0);
    dmsc_config_free(&cfg);
}
END_TEST

START_TEST(test_backends_in_order)
{
    static const struct {
        const char *text;
        size_t n;
        dmsc_backend_kind first, second;
    } cases[] = {
        { "backends = vuicc pcsc\n", 2, DMSC_BACKEND_VUICC, DMSC_BACKEND_PCSC },
        { "backends = pcsc,vuicc\n", 2, DMSC_BACKEND_PCSC, DMSC_BACKEND_VUICC },
        { "backends=  pcsc ,\tvuicc , \n", 2, DMSC_BACKEND_PCSC, DMSC_BACKEND_VUICC },
        { "backends = pcsc # the card only\n", 1, DMSC_BACKEND_PCSC, DMSC_BACKEND_PCSC },
        { "backends = vuicc\nbackends = pcsc\n", 1, DMSC_BACKEND_PCSC, DMSC_BACKEND_PCSC },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dmsc_config cfg;
        ck_assert_msg(load(cases[i].text, &cfg) == 0, "'%s' refused: %s", cases[i].text, err);
        ck_assert_uint_eq(cfg.n_backends, cases[i].n);
        ck_assert_int_eq(cfg.backends[0], cases[i].first);
        if (cases[i].n == 2)
            ck_assert_int_eq(cfg.backends[1], cases[i].second);
        dmsc_config_free(&cfg);
    }
    ck_assert_str_eq(dmsc_backend_kind_name(DMSC_BACKEND_PCSC), "pcsc");
    ck_assert_str_eq(dmsc_backend_kind_name(DMSC_BACKEND_VUICC), "vuicc");
}
END_TEST

START_TEST(test_backends_refused)
{
    dmsc_config cfg;
    ck_assert_int_eq(load("\nbackends = vuicc smartcard\n", &cfg), -1);
    assert_err_has(":2: backends");
    assert_err_has("'smartcard'");
    assert_err_has("allowed: vuicc, pcsc");
    ck_assert_int_eq(load("backends =\n", &cfg), -1);
    assert_err_has("backends: name at least one backend");
    ck_assert_int_eq(load("backends = , ,\n", &cfg), -1);
    assert_err_has("at least one");
    ck_assert_int_eq(load("backends = pcsc vuicc pcsc\n", &cfg), -1);
    assert_err_has("'pcsc' named twice");
    ck_assert_int_eq(load("backends = PCSC\n", &cfg), -1); /* names are exact */
    assert_err_has("'PCSC'");
    ck_assert_int_eq(load("backend = pcsc\n", &cfg), -1);
    assert_err_has("unknown setting 'backend'");
    assert_err_has("backends, pcsc_reader");
}
END_TEST

START_TEST(test_readers)
{
    dmsc_config cfg;
    ck_assert_int_eq(load("backends = pcsc\n"
                          "pcsc_reader = Virtual PCD 00 00\n"
                          "pcsc_reader=  Gemalto USB Shell Token V2 (12345678) 01 00   # the second\n",
                          &cfg), 0);
    ck_assert_uint_eq(cfg.n_pcsc_readers, 2);
    ck_assert_str_eq(cfg.pcsc_readers[0], "Virtual PCD 00 00");
    ck_assert_str_eq(cfg.pcsc_readers[1], "Gemalto USB Shell Token V2 (12345678) 01 00");
    dmsc_config_free(&cfg);
    ck_assert_ptr_null(cfg.pcsc_readers);
    ck_assert_uint_eq(cfg.n_pcsc_readers, 0);
}
END_TEST

START_TEST(test_readers_refused)
{
    dmsc_config cfg;
    ck_assert_int_eq(load("pcsc_reader = A\npcsc_reader = A\n", &cfg), -1);
    assert_err_has(":2: pcsc_reader: reader 'A' named twice");
    ck_assert_int_eq(load("pcsc_reader =\n", &cfg), -1);
    assert_err_has("1 to 127 bytes");
    char text[400] = "pcsc_reader = ";
    memset(text + strlen(text), 'x', 128);
    strcat(text, "\n");
    ck_assert_int_eq(load(text, &cfg), -1);
    assert_err_has("1 to 127 bytes");
    /* 127 is still a name */
    text[strlen(text) - 2] = '\n';
    text[strlen(text) - 1] = '\0';
    ck_assert_int_eq(load(text, &cfg), 0);
    ck_assert_uint_eq(strlen(cfg.pcsc_readers[0]), 127);
    dmsc_config_free(&cfg);
    char many[1024] = "";
    for (int i = 0; i <= DMSC_MAX_PCSC_READERS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "pcsc_reader = reader %d\n", i);
    ck_assert_int_eq(load(many, &cfg), -1);
    assert_err_has(":17: pcsc_reader: at most 16");
}
END_TEST

START_TEST(test_env_overrides)
{
    dmsc_config cfg;
    setenv("DMSC_BACKENDS", "pcsc,vuicc", 1);
    ck_assert_int_eq(load("backends = vuicc\n", &cfg), 0);
    ck_assert_uint_eq(cfg.n_backends, 2);
    ck_assert_int_eq(cfg.backends[0], DMSC_BACKEND_PCSC);
    ck_assert_int_eq(cfg.backends[1], DMSC_BACKEND_VUICC);
    dmsc_config_free(&cfg);
    /* The environment does not excuse a bad file. */
    ck_assert_int_eq(load("backends = nfc\n", &cfg), -1);
    assert_err_has("'nfc'");
    setenv("DMSC_BACKENDS", "vuicc nfc", 1);
    ck_assert_int_eq(load("backends = pcsc\n", &cfg), -1);
    assert_err_has("DMSC_BACKENDS: unknown backend 'nfc' (allowed: vuicc, pcsc)");
    setenv("DMSC_BACKENDS", "", 1); /* empty: as if unset */
    ck_assert_int_eq(load("backends = pcsc\n", &cfg), 0);
    ck_assert_uint_eq(cfg.n_backends, 1);
    ck_assert_int_eq(cfg.backends[0], DMSC_BACKEND_PCSC);
    dmsc_config_free(&cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("backends");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_default_is_vuicc);
    tcase_add_test(tc, test_backends_in_order);
    tcase_add_test(tc, test_backends_refused);
    tcase_add_test(tc, test_readers);
    tcase_add_test(tc, test_readers_refused);
    tcase_add_test(tc, test_env_overrides);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
