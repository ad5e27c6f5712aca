/*
 * A hash map from 64-bit keys to pointers: object and session handles,
 * store ids. Keys are never 0 (0 is CK_INVALID_HANDLE).
 */
#ifndef DMSC_MAP_H
#define DMSC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *keys; /* 0 = empty, UINT64_MAX = deleted */
    void **values;
    size_t cap;   /* power of two */
    size_t count; /* live entries */
    size_t used;  /* live + deleted */
} dmsc_map;

void dmsc_map_init(dmsc_map *m);
void dmsc_map_clear(dmsc_map *m);
void *dmsc_map_get(const dmsc_map *m, uint64_t key);
/* false on allocation failure */
bool dmsc_map_put(dmsc_map *m, uint64_t key, void *value);
void *dmsc_map_remove(dmsc_map *m, uint64_t key);

/* Iterate: for (size_t i = 0; dmsc_map_next(m, &i, &k, &v);) */
bool dmsc_map_next(const dmsc_map *m, size_t *iter, uint64_t *key, void **value);

/* 64-bit FNV-1a, for string indexes. Never returns 0 or UINT64_MAX. */
uint64_t dmsc_hash_bytes(const void *data, size_t len);

#endif
