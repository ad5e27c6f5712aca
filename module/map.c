/* Open-addressing hash map with linear probing and tombstones. */
#include "map.h"

#include <stdlib.h>
#include <string.h>

#define TOMB UINT64_MAX

void dmsc_map_init(dmsc_map *m)
{
    memset(m, 0, sizeof(*m));
}

void dmsc_map_clear(dmsc_map *m)
{
    free(m->keys);
    free(m->values);
    dmsc_map_init(m);
}

static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void *dmsc_map_get(const dmsc_map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0 || key == TOMB)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return m->values[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

static bool grow(dmsc_map *m)
{
    size_t cap = m->cap ? m->cap : 16;
    while (m->count * 2 + 2 > cap)
        cap *= 2;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    void **values = calloc(cap, sizeof(*values));
    if (keys == NULL || values == NULL) {
        free(keys);
        free(values);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t k = m->keys[i];
        if (k == 0 || k == TOMB)
            continue;
        size_t j = slot_of(k, cap);
        while (keys[j] != 0)
            j = (j + 1) & (cap - 1);
        keys[j] = k;
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    m->used = m->count;
    return true;
}

bool dmsc_map_put(dmsc_map *m, uint64_t key, void *value)
{
    if (key == 0 || key == TOMB)
        return false;
    if ((m->used + 1) * 4 >= m->cap * 3 && !grow(m))
        return false;
    size_t tomb = SIZE_MAX;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->values[i] = value;
            return true;
        }
        if (m->keys[i] == TOMB && tomb == SIZE_MAX)
            tomb = i;
        if (m->keys[i] == 0) {
            if (tomb != SIZE_MAX)
                i = tomb;
            else
                m->used++;
            m->keys[i] = key;
            m->values[i] = value;
            m->count++;
            return true;
        }
    }
}

void *dmsc_map_remove(dmsc_map *m, uint64_t key)
{
    if (m->cap == 0 || key == 0 || key == TOMB)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            void *v = m->values[i];
            m->keys[i] = TOMB;
            m->values[i] = NULL;
            m->count--;
            return v;
        }
        if (m->keys[i] == 0)
            return NULL;
    }
}

bool dmsc_map_next(const dmsc_map *m, size_t *iter, uint64_t *key, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (m->keys[i] != 0 && m->keys[i] != TOMB) {
            if (key)
                *key = m->keys[i];
            if (value)
                *value = m->values[i];
            *iter = i + 1;
            return true;
        }
    }
    *iter = m->cap;
    return false;
}

uint64_t dmsc_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    if (h == 0 || h == TOMB)
        h = 1;
    return h;
}
