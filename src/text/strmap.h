/* strmap.h — a hash map from byte strings to int32 values (token text -> id,
 * merge pair -> rank). Open addressing, keys copied into one arena. */
#ifndef HEED_TEXT_STRMAP_H
#define HEED_TEXT_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "heed.h"

typedef struct heed_strmap {
    uint32_t *slots;   /* entry index + 1, 0 = empty; capacity a power of two */
    size_t cap;
    struct heed_strmap_entry { size_t off, len; uint64_t hash; int32_t value; } *entries;
    size_t n, n_cap;
    char *arena;       /* the keys, back to back */
    size_t arena_len, arena_cap;
} heed_strmap;

/* Sizes the map for about n keys. HEED_ERR_NOMEM on failure. */
heed_status heed_strmap_init(heed_strmap *m, size_t n);
void heed_strmap_free(heed_strmap *m);
/* Sets key -> value. replace=false keeps an existing value (first wins). */
heed_status heed_strmap_put(heed_strmap *m, const char *key, size_t len, int32_t value,
                            bool replace);
/* Value of key, or -1. */
int32_t heed_strmap_get(const heed_strmap *m, const char *key, size_t len);

#endif
