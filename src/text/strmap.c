/* strmap.c — see strmap.h. Invariant: the load factor stays under 1/2, so
 * probing always reaches an empty slot. */
#include <stdlib.h>
#include <string.h>

#include "text/strmap.h"
#include "util/error.h"

static uint64_t hash_bytes(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

heed_status heed_strmap_init(heed_strmap *m, size_t n)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    m->cap = cap;
    if (!m->slots)
        return heed_fail(HEED_ERR_NOMEM, "hash map: out of memory for %zu keys", n);
    return HEED_OK;
}

void heed_strmap_free(heed_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m->entries);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static size_t find_slot(const heed_strmap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s)
            return i;
        const struct heed_strmap_entry *e = &m->entries[s - 1];
        if (e->hash == h && e->len == len && !memcmp(m->arena + e->off, key, len))
            return i;
    }
}

static heed_status grow(heed_strmap *m)
{
    size_t cap = m->cap * 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return heed_fail(HEED_ERR_NOMEM, "hash map: out of memory");
    for (size_t e = 0; e < m->n; e++) {
        size_t i = (size_t)m->entries[e].hash & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)(e + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return HEED_OK;
}

heed_status heed_strmap_put(heed_strmap *m, const char *key, size_t len, int32_t value,
                            bool replace)
{
    uint64_t h = hash_bytes(key, len);
    size_t i = find_slot(m, key, len, h);
    if (m->slots[i]) {
        if (replace)
            m->entries[m->slots[i] - 1].value = value;
        return HEED_OK;
    }
    if (m->n >= UINT32_MAX - 1)
        return heed_fail(HEED_ERR_NOMEM, "hash map: too many keys");
    if (m->n == m->n_cap) {
        size_t nc = m->n_cap ? m->n_cap * 2 : 64;
        void *p = realloc(m->entries, nc * sizeof *m->entries);
        if (!p)
            return heed_fail(HEED_ERR_NOMEM, "hash map: out of memory");
        m->entries = p;
        m->n_cap = nc;
    }
    if (m->arena_len + len > m->arena_cap) {
        size_t nc = m->arena_cap ? m->arena_cap : 4096;
        while (nc < m->arena_len + len)
            nc *= 2;
        char *p = realloc(m->arena, nc);
        if (!p)
            return heed_fail(HEED_ERR_NOMEM, "hash map: out of memory");
        m->arena = p;
        m->arena_cap = nc;
    }
    if (len)
        memcpy(m->arena + m->arena_len, key, len);
    m->entries[m->n] = (struct heed_strmap_entry){m->arena_len, len, h, value};
    m->arena_len += len;
    m->slots[i] = (uint32_t)(++m->n);
    if (2 * m->n + 2 > m->cap)
        return grow(m);
    return HEED_OK;
}

int32_t heed_strmap_get(const heed_strmap *m, const char *key, size_t len)
{
    if (!m->slots)
        return -1;
    size_t i = find_slot(m, key, len, hash_bytes(key, len));
    return m->slots[i] ? m->entries[m->slots[i] - 1].value : -1;
}
