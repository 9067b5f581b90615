/*
 * bpe_train.c — see bpe_train.h.
 *
 * The text is split into words by the gpt-2 pre-tokenizer and the unique
 * words are counted (a word occurring n times is held once, weighted n).
 * Each word is an array of token ids. A hash map holds the count of every
 * adjacent pair and an indexed max-heap orders the pairs, so the next merge
 * is the heap's top. Each pair also lists the words it was seen in: a merge
 * rewrites only those words and updates the counts of the pairs around
 * each occurrence, never recounting the corpus. Memory is proportional to
 * the text (its unique words and their pairs).
 */
#include <stdlib.h>
#include <string.h>

#include "text/pretokenize.h"
#include "text/strmap.h"
#include "text/unicode.h"
#include "train/bpe_train.h"
#include "util/error.h"

/* Bytes pre-tokenized at a time: the splitter needs about 60 bytes of
 * scratch per code point, which for a whole corpus would be large. */
#ifndef HEED_BPE_TRAIN_CHUNK
#define HEED_BPE_TRAIN_CHUNK ((size_t)1 << 18)
#endif

#define MAX_VOCAB (1 << 20)

static bool is_graph(unsigned char c) { return c >= 0x21 && c <= 0x7E; }
static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* Whether the gpt-2 regex splits the text before byte i whatever lies
 * further away, so that chunks split there give the words of the whole:
 * "x y" before the space (a letter run ends, " ?\p{L}+" starts), or
 * "x\ny" before y (the lone "\n" is a piece either way). */
static bool safe_split(const unsigned char *s, size_t len, size_t i)
{
    if (i < 2 || i + 1 >= len)
        return false;
    if (s[i] == ' ')
        return is_alpha(s[i - 1]) && is_alpha(s[i + 1]);
    return s[i - 1] == '\n' && is_graph(s[i - 2]) && is_graph(s[i]);
}

typedef struct pair {
    int32_t left, right;
    int64_t count;       /* weighted occurrences now in the words */
    int32_t heap_pos;    /* -1 while count is 0 */
    bool merged;         /* already in the merge list */
    int32_t *words;      /* words it was seen in (may hold stale ones) */
    uint32_t n_words, cap_words;
} pair;

typedef struct trainer {
    /* the unique words: ids sym[off[w] .. off[w] + len[w]), weight count[w] */
    int32_t n_words;
    int32_t *sym;
    size_t *off, *len;
    int64_t *count;
    uint32_t *stamp;     /* last merge that rewrote the word */
    /* pairs by (left, right): open addressing, slot = pair index + 1 */
    pair *pairs;
    int32_t n_pairs, cap_pairs;
    int32_t *slots;
    size_t n_slots;
    int32_t *heap;       /* pair indices; top: highest count, then lowest ids */
    int32_t n_heap;
    /* the tokens' bytes, entry i being token i; it also finds duplicates */
    heed_strmap tok;
    int32_t n_tok;
    int32_t (*merges)[2];
    int32_t n_merges, cap_merges;
    bool oom;
} trainer;

/* ------------------------------------------------------------ the heap */

static bool above(const trainer *t, int32_t x, int32_t y)
{
    const pair *a = &t->pairs[x], *b = &t->pairs[y];
    if (a->count != b->count)
        return a->count > b->count;
    if (a->left != b->left)
        return a->left < b->left;
    return a->right < b->right;
}

static void heap_set(trainer *t, int32_t pos, int32_t p)
{
    t->heap[pos] = p;
    t->pairs[p].heap_pos = pos;
}

static void sift_up(trainer *t, int32_t pos)
{
    int32_t p = t->heap[pos];
    while (pos > 0) {
        int32_t parent = (pos - 1) / 2;
        if (!above(t, p, t->heap[parent]))
            break;
        heap_set(t, pos, t->heap[parent]);
        pos = parent;
    }
    heap_set(t, pos, p);
}

static void sift_down(trainer *t, int32_t pos)
{
    int32_t p = t->heap[pos];
    for (;;) {
        int32_t c = 2 * pos + 1;
        if (c >= t->n_heap)
            break;
        if (c + 1 < t->n_heap && above(t, t->heap[c + 1], t->heap[c]))
            c++;
        if (!above(t, t->heap[c], p))
            break;
        heap_set(t, pos, t->heap[c]);
        pos = c;
    }
    heap_set(t, pos, p);
}

static void heap_remove(trainer *t, int32_t p)
{
    int32_t pos = t->pairs[p].heap_pos, last = t->heap[--t->n_heap];
    t->pairs[p].heap_pos = -1;
    if (last == p)
        return;
    heap_set(t, pos, last);
    sift_up(t, pos);
    sift_down(t, t->pairs[last].heap_pos);
}

/* ------------------------------------------------------- the pair map */

static size_t slot_of(const trainer *t, int32_t l, int32_t r)
{
    uint64_t h = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) * 0x9E3779B97F4A7C15u;
    size_t mask = t->n_slots - 1, i = (size_t)(h >> 32) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t s = t->slots[i];
        if (!s || (t->pairs[s - 1].left == l && t->pairs[s - 1].right == r))
            return i;
    }
}

static int32_t find_pair(const trainer *t, int32_t l, int32_t r)
{
    return t->slots[slot_of(t, l, r)] - 1;
}

/* The pair (l, r), created with count 0 if new; -1 when out of memory. */
static int32_t get_pair(trainer *t, int32_t l, int32_t r)
{
    size_t i = slot_of(t, l, r);
    if (t->slots[i])
        return t->slots[i] - 1;
    if (t->n_pairs == t->cap_pairs) {
        if (t->cap_pairs > INT32_MAX / 2 - 1)
            return -1;
        int32_t nc = t->cap_pairs ? 2 * t->cap_pairs : 4096;
        pair *np = realloc(t->pairs, (size_t)nc * sizeof *np);
        int32_t *nh = realloc(t->heap, (size_t)nc * sizeof *nh);
        if (np)
            t->pairs = np;
        if (nh)
            t->heap = nh;
        if (!np || !nh)
            return -1;
        t->cap_pairs = nc;
    }
    int32_t p = t->n_pairs++;
    t->pairs[p] = (pair){.left = l, .right = r, .heap_pos = -1};
    t->slots[i] = p + 1;
    if (2 * (size_t)t->n_pairs + 2 > t->n_slots) { /* keep the load under 1/2 */
        size_t n = 2 * t->n_slots;
        int32_t *ns = calloc(n, sizeof *ns);
        if (!ns)
            return -1;
        free(t->slots);
        t->slots = ns;
        t->n_slots = n;
        for (int32_t q = 0; q < t->n_pairs; q++)
            t->slots[slot_of(t, t->pairs[q].left, t->pairs[q].right)] = q + 1;
    }
    return p;
}

/* Adds c occurrences of (l, r) in word w. */
static void inc(trainer *t, int32_t l, int32_t r, int64_t c, int32_t w)
{
    int32_t p = get_pair(t, l, r);
    if (p < 0) {
        t->oom = true;
        return;
    }
    pair *q = &t->pairs[p];
    if (!q->n_words || q->words[q->n_words - 1] != w) {
        if (q->n_words == q->cap_words) {
            uint32_t nc = q->cap_words ? 2 * q->cap_words : 4;
            int32_t *nw = nc > q->cap_words ? realloc(q->words, nc * sizeof *nw) : NULL;
            if (!nw) {
                t->oom = true;
                return;
            }
            q->words = nw;
            q->cap_words = nc;
        }
        q->words[q->n_words++] = w;
    }
    q->count += c;
    if (q->heap_pos < 0) {
        t->heap[t->n_heap] = p;
        sift_up(t, t->n_heap++);
    } else {
        sift_up(t, q->heap_pos);
    }
}

/* Removes c occurrences of (l, r), which the words hold. */
static void dec(trainer *t, int32_t l, int32_t r, int64_t c)
{
    int32_t p = find_pair(t, l, r);
    if (p < 0)
        return; /* cannot happen: every pair in the words was counted */
    pair *q = &t->pairs[p];
    q->count -= c;
    if (q->count <= 0) {
        q->count = 0;
        if (q->heap_pos >= 0)
            heap_remove(t, p);
    } else {
        sift_down(t, q->heap_pos);
    }
}

/* --------------------------------------------------------- the words */

/* Counts the unique words of text into t and the word map m. */
static heed_status count_words(trainer *t, heed_strmap *m, const char *text, size_t len)
{
    heed_pretok *pre = NULL;
    heed_pretok_info info;
    heed_status st = heed_pretok_new("gpt-2", &pre, &info);
    if (st)
        return st;
    size_t chunk_cap = 0, cap_words = 0;
    uint32_t *cpts = NULL;
    size_t *boff = NULL;
    const unsigned char *u = (const unsigned char *)text;
    for (size_t cs = 0; cs < len && !st;) {
        size_t ce = len;
        if (len - cs > HEED_BPE_TRAIN_CHUNK) {
            ce = cs + HEED_BPE_TRAIN_CHUNK;
            while (ce < len && !safe_split(u, len, ce))
                ce++;
        }
        if (ce - cs > chunk_cap) {
            chunk_cap = ce - cs;
            free(cpts);
            free(boff);
            cpts = malloc(chunk_cap * sizeof *cpts);
            boff = malloc((chunk_cap + 1) * sizeof *boff);
            if (!cpts || !boff) {
                st = heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the text");
                break;
            }
        }
        size_t n = 0;
        for (size_t off = cs; off < ce; n++) {
            boff[n] = off;
            cpts[n] = heed_utf8_decode(text, ce, &off);
        }
        boff[n] = ce;
        heed_span *spans = NULL;
        size_t n_spans = 0;
        if ((st = heed_pretok_split(pre, cpts, n, &spans, &n_spans)))
            break;
        for (size_t i = 0; i < n_spans && !st; i++) {
            const char *w = text + boff[spans[i].start];
            size_t wl = boff[spans[i].end] - boff[spans[i].start];
            int32_t id = heed_strmap_get(m, w, wl);
            if (id >= 0) {
                t->count[id]++;
                continue;
            }
            if (t->n_words == INT32_MAX) {
                st = heed_fail(HEED_ERR_NOMEM, "bpe train: too many distinct words");
                break;
            }
            if ((size_t)t->n_words == cap_words) {
                cap_words = cap_words ? 2 * cap_words : 4096;
                int64_t *nc = realloc(t->count, cap_words * sizeof *nc);
                if (!nc) {
                    st = heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the words");
                    break;
                }
                t->count = nc;
            }
            t->count[t->n_words] = 1;
            st = heed_strmap_put(m, w, wl, t->n_words++, false);
        }
        free(spans);
        cs = ce;
    }
    free(cpts);
    free(boff);
    heed_pretok_free(pre);
    return st;
}

/* Lays the words out as byte ids and counts their pairs. */
static heed_status build_words(trainer *t, const heed_strmap *m)
{
    size_t n = (size_t)t->n_words;
    t->off = malloc((n ? n : 1) * sizeof *t->off);
    t->len = malloc((n ? n : 1) * sizeof *t->len);
    t->stamp = calloc(n ? n : 1, sizeof *t->stamp);
    t->sym = malloc((m->arena_len ? m->arena_len : 1) * sizeof *t->sym);
    t->n_slots = 1 << 14;
    t->slots = calloc(t->n_slots, sizeof *t->slots);
    if (!t->off || !t->len || !t->stamp || !t->sym || !t->slots)
        return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for %zu words", n);
    size_t at = 0;
    for (size_t w = 0; w < n; w++) {
        const struct heed_strmap_entry *e = &m->entries[w];
        t->off[w] = at;
        t->len[w] = e->len;
        for (size_t i = 0; i < e->len; i++)
            t->sym[at + i] = (unsigned char)m->arena[e->off + i];
        for (size_t i = 1; i < e->len; i++)
            inc(t, t->sym[at + i - 1], t->sym[at + i], t->count[w], (int32_t)w);
        if (t->oom)
            return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the pairs");
        at += e->len;
    }
    return HEED_OK;
}

/* Replaces each (a, b) in word w by z, left to right, moving the counts of
 * the neighbouring pairs: x a b y loses (x,a) (a,b) (b,y), gains (x,z) (z,y). */
static void merge_word(trainer *t, int32_t w, int32_t a, int32_t b, int32_t z)
{
    int32_t *s = t->sym + t->off[w];
    const size_t n = t->len[w];
    const int64_t c = t->count[w];
    size_t r = 0, o = 0; /* read and write positions: o <= r */
    while (r < n) {
        if (r + 1 < n && s[r] == a && s[r + 1] == b) {
            if (o > 0) { /* the left neighbour may be a z just written */
                dec(t, s[o - 1], a, c);
                inc(t, s[o - 1], z, c, w);
            }
            if (r + 2 < n) {
                dec(t, b, s[r + 2], c);
                inc(t, z, s[r + 2], c, w);
            }
            dec(t, a, b, c);
            s[o++] = z;
            r += 2;
        } else {
            s[o++] = s[r++];
        }
    }
    t->len[w] = o;
}

/* The token spelled by a's bytes then b's: an existing one, else a new id. */
static int32_t token_of(trainer *t, int32_t a, int32_t b, char **buf, size_t *cap)
{
    const struct heed_strmap_entry *ea = &t->tok.entries[a], *eb = &t->tok.entries[b];
    size_t n = ea->len + eb->len;
    if (n > *cap) {
        char *nb = realloc(*buf, 2 * n);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = 2 * n;
    }
    memcpy(*buf, t->tok.arena + ea->off, ea->len);
    memcpy(*buf + ea->len, t->tok.arena + eb->off, eb->len);
    int32_t id = heed_strmap_get(&t->tok, *buf, n);
    if (id >= 0)
        return id;
    if (heed_strmap_put(&t->tok, *buf, n, t->n_tok, false))
        return -1;
    return t->n_tok++;
}

static heed_status learn(trainer *t, int32_t vocab_size)
{
    char *buf = NULL;
    size_t cap = 0;
    uint32_t round = 0;
    heed_status st = HEED_OK;
    while (t->n_heap && t->n_tok + 1 < vocab_size) {
        const int32_t p = t->heap[0], a = t->pairs[p].left, b = t->pairs[p].right;
        const int32_t z = token_of(t, a, b, &buf, &cap);
        if (z < 0) {
            st = heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the tokens");
            break;
        }
        /* a pair merged before can come back when another merge spelled
         * its left or right token; the first rank is the one that counts */
        if (!t->pairs[p].merged) {
            if (t->n_merges == t->cap_merges) {
                int32_t nc = t->cap_merges ? 2 * t->cap_merges : 1024;
                void *nm = realloc(t->merges, (size_t)nc * sizeof *t->merges);
                if (!nm) {
                    st = heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the merges");
                    break;
                }
                t->merges = nm;
                t->cap_merges = nc;
            }
            t->merges[t->n_merges][0] = a;
            t->merges[t->n_merges][1] = b;
            t->n_merges++;
            t->pairs[p].merged = true;
        }
        /* the new pairs all hold z, so (a, b)'s list is not appended to */
        int32_t *words = t->pairs[p].words;
        const uint32_t n_words = t->pairs[p].n_words;
        t->pairs[p].words = NULL;
        t->pairs[p].n_words = t->pairs[p].cap_words = 0;
        round++;
        for (uint32_t i = 0; i < n_words; i++) {
            int32_t w = words[i];
            if (t->stamp[w] == round)
                continue;
            t->stamp[w] = round;
            merge_word(t, w, a, b, z);
        }
        free(words);
        if (t->oom) {
            st = heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the pairs");
            break;
        }
        if (t->pairs[p].heap_pos >= 0) /* every occurrence went: cannot happen */
            heap_remove(t, p);
    }
    free(buf);
    return st;
}

/* ------------------------------------------------------------ results */

/* GPT-2's printable form of token id's bytes. */
static char *mapped(const trainer *t, int32_t id, char (*bytes)[3], const unsigned char *blen)
{
    const struct heed_strmap_entry *e = &t->tok.entries[id];
    char *s = malloc(2 * e->len + 1), *p = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < e->len; i++) {
        unsigned char c = (unsigned char)t->tok.arena[e->off + i];
        memcpy(p, bytes[c], blen[c]);
        p += blen[c];
    }
    *p = 0;
    return s;
}

static heed_status to_vocab(const trainer *t, heed_bpe_vocab *v)
{
    char bytes[256][3];
    unsigned char blen[256];
    for (int c = 0; c < 256; c++)
        blen[c] = (unsigned char)heed_utf8_encode(heed_byte_to_cpt((unsigned char)c), bytes[c]);
    v->n_tokens = t->n_tok + 1;
    v->eos = t->n_tok;
    v->n_merges = t->n_merges;
    v->tokens = calloc((size_t)v->n_tokens, sizeof *v->tokens);
    v->types = malloc((size_t)v->n_tokens * sizeof *v->types);
    v->merges = calloc(t->n_merges ? (size_t)t->n_merges : 1, sizeof *v->merges);
    if (!v->tokens || !v->types || !v->merges)
        return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the vocabulary");
    for (int32_t i = 0; i < t->n_tok; i++) {
        if (!(v->tokens[i] = mapped(t, i, bytes, blen)))
            return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the vocabulary");
        v->types[i] = 1;
    }
    if (!(v->tokens[v->eos] = strdup("<|endoftext|>")))
        return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the vocabulary");
    v->types[v->eos] = 3;
    for (int32_t i = 0; i < t->n_merges; i++) {
        const char *l = v->tokens[t->merges[i][0]], *r = v->tokens[t->merges[i][1]];
        size_t ll = strlen(l), rl = strlen(r);
        if (!(v->merges[i] = malloc(ll + rl + 2)))
            return heed_fail(HEED_ERR_NOMEM, "bpe train: out of memory for the merges");
        memcpy(v->merges[i], l, ll);
        v->merges[i][ll] = ' ';
        memcpy(v->merges[i] + ll + 1, r, rl + 1);
    }
    return HEED_OK;
}

static void trainer_free(trainer *t)
{
    for (int32_t p = 0; p < t->n_pairs; p++)
        free(t->pairs[p].words);
    free(t->pairs);
    free(t->slots);
    free(t->heap);
    free(t->sym);
    free(t->off);
    free(t->len);
    free(t->count);
    free(t->stamp);
    free(t->merges);
    heed_strmap_free(&t->tok);
}

heed_status heed_bpe_train(const char *text, size_t len, int32_t vocab_size,
                           heed_bpe_vocab *out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "bpe train: no output vocabulary");
    memset(out, 0, sizeof *out);
    if (!text || len < 2)
        return heed_fail(HEED_ERR_ARG, "bpe train: the text has %zu bytes; at least 2 are "
                         "needed to learn a merge", text ? len : 0);
    if (vocab_size < 258 || vocab_size > MAX_VOCAB)
        return heed_fail(HEED_ERR_ARG, "bpe train: vocab_size %d is outside [258, %d] (256 "
                         "byte tokens, at least one merge, <|endoftext|>)", vocab_size, MAX_VOCAB);
    size_t bad = heed_utf8_invalid_at(text, len);
    if (bad < len)
        return heed_fail(HEED_ERR_FORMAT, "bpe train: the text is not valid UTF-8: bad byte "
                         "0x%02x at offset %zu", (unsigned char)text[bad], bad);

    trainer t = {0};
    heed_strmap words;
    heed_status st = heed_strmap_init(&words, 1 << 12);
    if (!st)
        st = count_words(&t, &words, text, len);
    if (!st)
        st = build_words(&t, &words);
    heed_strmap_free(&words);
    if (!st)
        st = heed_strmap_init(&t.tok, (size_t)vocab_size);
    for (int c = 0; c < 256 && !st; c++) {
        char b = (char)c;
        st = heed_strmap_put(&t.tok, &b, 1, c, false);
    }
    t.n_tok = 256;
    if (!st)
        st = learn(&t, vocab_size);
    if (!st)
        st = to_vocab(&t, out);
    trainer_free(&t);
    if (st)
        heed_bpe_vocab_free(out);
    return st;
}

void heed_bpe_vocab_free(heed_bpe_vocab *v)
{
    if (!v)
        return;
    for (int32_t i = 0; v->tokens && i < v->n_tokens; i++)
        free(v->tokens[i]);
    for (int32_t i = 0; v->merges && i < v->n_merges; i++)
        free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

heed_status heed_bpe_vocab_write(const heed_bpe_vocab *v, heed_gguf_writer *w)
{
    if (!v || !w || v->n_tokens < 1 || !v->tokens || !v->types || (v->n_merges && !v->merges) ||
        v->eos < 0 || v->eos >= v->n_tokens)
        return heed_fail(HEED_ERR_ARG, "bpe vocab write: no vocabulary, writer or end token");
    heed_status st = heed_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    if (!st)
        st = heed_gguf_writer_set_str(w, "tokenizer.ggml.pre", "gpt-2");
    if (!st)
        st = heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                          (const char *const *)v->tokens, (uint64_t)v->n_tokens);
    if (!st)
        st = heed_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", HEED_GGUF_INT32, v->types,
                                      (uint64_t)v->n_tokens);
    if (!st)
        st = heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges",
                                          (const char *const *)v->merges, (uint64_t)v->n_merges);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->eos);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos);
    if (!st)
        st = heed_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    return st;
}
