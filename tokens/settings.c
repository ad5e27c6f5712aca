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

static const char *const backend_names[DMSC_BACKEND_KINDS] = {
    [DMSC_BACKEND_VUICC] = "vuicc",
    [DMSC_BACKEND_PCSC] = "pcsc",
};

const char *dmsc_backend_kind_name(dmsc_backend_kind kind)
{
    return kind < DMSC_BACKEND_KINDS ? backend_names[kind] : "?";
}

/* value as a list of backend names (space- or comma-separated), each
 * known and named once, into cfg; where names the setting in errors
 * ("FILE:LINE: backends" or "DMSC_BACKENDS"). */
static int parse_backends(dmsc_config *cfg, const char *value, const char *where, char *err, size_t err_len)
{
    dmsc_backend_kind list[DMSC_BACKEND_KINDS];
    size_t n = 0;
    const char *p = value;
    for (;;) {
        p += strspn(p, " \t,");
        if (*p == '\0')
            break;
        size_t len = strcspn(p, " \t,");
        size_t k = 0;
        while (k < DMSC_BACKEND_KINDS && !(strlen(backend_names[k]) == len && memcmp(backend_names[k], p, len) == 0))
            k++;
        if (k == DMSC_BACKEND_KINDS) {
            snprintf(err, err_len, "%s: unknown backend '%.*s' (allowed: vuicc, pcsc)", where,
                     len > 64 ? 64 : (int)len, p);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (list[i] == (dmsc_backend_kind)k) {
                snprintf(err, err_len, "%s: backend '%s' named twice", where, backend_names[k]);
                return -1;
            }
        list[n++] = (dmsc_backend_kind)k;
        p += len;
    }
    if (n == 0) {
        snprintf(err, err_len, "%s: name at least one backend (allowed: vuicc, pcsc)", where);
        return -1;
    }
    memcpy(cfg->backends, list, n * sizeof(list[0]));
    cfg->n_backends = n;
    return 0;
}

/* One more pcsc_reader line. */
static int add_reader(dmsc_config *cfg, const char *value, const char *where, char *err, size_t err_len)
{
    size_t len = strlen(value);
    if (len == 0 || len > DMSC_MAX_READER_NAME) {
        snprintf(err, err_len, "%s: must be a reader name of 1 to %d bytes", where,
                 DMSC_MAX_READER_NAME);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_pcsc_readers; i++)
        if (strcmp(cfg->pcsc_readers[i], value) == 0) {
            snprintf(err, err_len, "%s: reader '%s' named twice", where, value);
            return -1;
        }
    if (cfg->n_pcsc_readers == DMSC_MAX_PCSC_READERS) {
        snprintf(err, err_len, "%s: at most %d pcsc_reader lines", where, DMSC_MAX_PCSC_READERS);
        return -1;
    }
    char **grown = realloc(cfg->pcsc_readers, (cfg->n_pcsc_readers + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    cfg->pcsc_readers = grown;
    if ((grown[cfg->n_pcsc_readers] = strdup(value)) == NULL)
        return -1;
    cfg->n_pcsc_readers++;
    return 0;
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
        } else if (strcmp(key, "backends") == 0 || strcmp(key, "pcsc_reader") == 0) {
            char where[4200];
            snprintf(where, sizeof(where), "%s:%u: %s", path, lineno, key);
            int rc = key[0] == 'b' ? parse_backends(cfg, value, where, err, err_len)
                                   : add_reader(cfg, value, where, err, err_len);
            if (rc != 0)
                return -1;
        } else {
            snprintf(err, err_len, "%s:%u: unknown setting '%s' (known: store, capacity, iccid, imsi, durability, approve_policy, audit_log, backends, pcsc_reader)", path, lineno, key);
            return -1;
        }
    }
    return 0;
}

int dmsc_config_load(dmsc_config *cfg, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->capacity = DMSC_DEFAULT_CAPACITY;
    cfg->backends[0] = DMSC_BACKEND_VUICC;
    cfg->n_backends = 1;
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

    /* Tests choose the backends without writing a config file. */
    v = getenv("DMSC_BACKENDS");
    if (v != NULL && *v != '\0' && parse_backends(cfg, v, "DMSC_BACKENDS", err, err_len) != 0)
        goto fail;

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
    for (size_t i = 0; i < cfg->n_pcsc_readers; i++)
        free(cfg->pcsc_readers[i]);
    free(cfg->pcsc_readers);
    cfg->pcsc_readers = NULL;
    cfg->n_pcsc_readers = 0;
    cfg->store = NULL;
    cfg->source = NULL;
    cfg->approve_policy = NULL;
    cfg->audit_log = NULL;
}
