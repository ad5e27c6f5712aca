/* Store location and card settings, from the environment and a config file. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* value as a capacity in bytes: 1024 to 2^40. */
static bool parse_capacity(const char *value, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < 1024 || v > (1ULL << 40))
        return false;
    *out = v;
    return true;
}

/* value as a string of min to max decimal digits, copied to out. */
static bool parse_digits(const char *value, size_t min, size_t max, char *out, size_t out_len)
{
    size_t n = strlen(value);
    if (n < min || n > max || n >= out_len || strspn(value, "0123456789") != n)
        return false;
    memcpy(out, value, n + 1);
    return true;
}

#define ICCID_RULE "iccid must be 18 to 20 decimal digits"
#define IMSI_RULE "imsi must be 6 to 15 decimal digits"

static int parse_file(dmsc_config *cfg, const char *path, FILE *f, char *err, size_t err_len)
{
    char line[4096];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, err_len, "%s:%u: expected 'key = value'", path, lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (strcmp(key, "store") == 0) {
            free(cfg->store);
            cfg->store = strdup(value);
            if (cfg->store == NULL)
                return -1;
        } else if (strcmp(key, "capacity") == 0) {
            if (!parse_capacity(value, &cfg->capacity)) {
                snprintf(err, err_len, "%s:%u: capacity must be a number of bytes between 1024 and 2^40", path, lineno);
                return -1;
            }
        } else if (strcmp(key, "iccid") == 0) {
            if (!parse_digits(value, 18, 20, cfg->iccid, sizeof(cfg->iccid))) {
                snprintf(err, err_len, "%s:%u: " ICCID_RULE, path, lineno);
                return -1;
            }
        } else if (strcmp(key, "imsi") == 0) {
            if (!parse_digits(value, 6, 15, cfg->imsi, sizeof(cfg->imsi))) {
                snprintf(err, err_len, "%s:%u: " IMSI_RULE, path, lineno);
                return -1;
            }
        } else if (strcmp(key, "durability") == 0) {
            if (strcmp(value, "process") == 0)
                cfg->durable_power = false;
            else if (strcmp(value, "power") == 0)
                cfg->durable_power = true;
            else {
                snprintf(err, err_len, "%s:%u: durability must be 'process' or 'power'", path, lineno);
                return -1;
            }
        } else if (strcmp(key, "approve_policy") == 0) {
            if (strcmp(value, "reject") != 0 && strcmp(value, "ask") != 0) {
                snprintf(err, err_len, "%s:%u: approve_policy must be 'reject' or 'ask'", path, lineno);
                return -1;
            }
            free(cfg->approve_policy);
            cfg->approve_policy = strdup(value);
            if (cfg->approve_policy == NULL)
                return -1;
        } else if (strcmp(key, "audit_log") == 0) {
            if (*value != '/') {
                snprintf(err, err_len, "%s:%u: audit_log must be an absolute path", path, lineno);
                return -1;
            }
            free(cfg->audit_log);
            cfg->audit_log = strdup(value);
            if (cfg->audit_log == NULL)
                return -1;
        } else {
            snprintf(err, err_len, "%s:%u: unknown setting '%s' (known: store, capacity, iccid, imsi, durability, approve_policy, audit_log)", path, lineno, key);
            return -1;
        }
    }
    return 0;
}

int dmsc_config_load(dmsc_config *cfg, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->capacity = DMSC_DEFAULT_CAPACITY;
    err[0] = '\0';

    const char *home = getenv("HOME");
    const char *conf_env = getenv("DMSC_CONF");
    char *candidates[3] = { NULL, NULL, NULL };
    int n = 0;
    if (conf_env != NULL && *conf_env != '\0') {
        candidates[n++] = strdup(conf_env);
    } else {
        if (home != NULL && *home != '\0')
            candidates[n++] = join(home, "/.config/dmsc/dmsc.conf");
        candidates[n++] = strdup(SYSCONFDIR "/dmsc/dmsc.conf");
    }

    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (candidates[i] == NULL) {
            rc = -1;
            break;
        }
        FILE *f = fopen(candidates[i], "re");
        if (f == NULL) {
            if (conf_env != NULL && *conf_env != '\0') {
                snprintf(err, err_len, "DMSC_CONF names %s, which cannot be read: %s",
                         candidates[i], strerror(errno));
                rc = -1;
            }
            continue;
        }
        rc = parse_file(cfg, candidates[i], f, err, err_len);
        fclose(f);
        if (rc == 0) {
            cfg->source = candidates[i];
            candidates[i] = NULL;
        }
        break;
    }
    for (int i = 0; i < n; i++)
        free(candidates[i]);
    if (rc != 0)
        goto fail;

    /* The identity of a card created from now on, from the environment. */
    const char *v = getenv("DMSC_CARD_CAPACITY");
    if (v != NULL && *v != '\0' && !parse_capacity(v, &cfg->capacity)) {
        snprintf(err, err_len, "DMSC_CARD_CAPACITY must be a number of bytes between 1024 and 2^40");
        goto fail;
    }
    v = getenv("DMSC_CARD_ICCID");
    if (v != NULL && *v != '\0' && !parse_digits(v, 18, 20, cfg->iccid, sizeof(cfg->iccid))) {
        snprintf(err, err_len, "DMSC_CARD_ICCID: " ICCID_RULE);
        goto fail;
    }
    v = getenv("DMSC_CARD_IMSI");
    if (v != NULL && *v != '\0' && !parse_digits(v, 6, 15, cfg->imsi, sizeof(cfg->imsi))) {
        snprintf(err, err_len, "DMSC_CARD_IMSI: " IMSI_RULE);
        goto fail;
    }

    const char *store_env = getenv("DMSC_STORE");
    if (store_env != NULL && *store_env != '\0') {
        free(cfg->store);
        cfg->store = strdup(store_env);
    } else if (cfg->store == NULL) {
        const char *xdg = getenv("XDG_DATA_HOME");
        if (xdg != NULL && *xdg == '/')
            cfg->store = join(xdg, "/dmsc");
        else if (home != NULL && *home != '\0')
            cfg->store = join(home, "/.local/share/dmsc");
        else {
            snprintf(err, err_len, "no card store: set DMSC_STORE to a directory (HOME is not set)");
            goto fail;
        }
    }
    if (cfg->store == NULL)
        goto fail;
    return 0;
fail:
    if (err[0] == '\0')
        snprintf(err, err_len, "out of memory reading the configuration");
    dmsc_config_free(cfg);
    return -1;
}

void dmsc_config_free(dmsc_config *cfg)
{
    free(cfg->store);
    free(cfg->source);
    free(cfg->approve_policy);
    free(cfg->audit_log);
    cfg->store = NULL;
    cfg->source = NULL;
    cfg->approve_policy = NULL;
    cfg->audit_log = NULL;
}
