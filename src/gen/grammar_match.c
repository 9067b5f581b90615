/*
 * grammar_match.c — the matcher of grammar.h: which bytes, and so which
 * tokens, may come next.
 *
 * A parse stack is a chain of frames, each a position to go on at and
 * the frame below it. Frames are interned, (pos, parent) -> id, so equal
 * stacks are equal ids and stacks share their tails. The closure expands
 * references and pops ended alternatives until every stack's top frame
 * waits on a byte set; a stack that pops its last frame means the text
 * so far is a whole sentence.
 *
 * A state is the sorted set of those stacks plus that "complete" flag,
 * interned too; state 0 is dead (no stacks, not complete). A state's
 * transition by each byte is computed once and kept in a 256-entry table,
 * so walking the vocabulary's token trie mostly reads tables.
 *
 * Invariants:
 *  - a reference that ends its alternative pushes no frame (a tail call),
 *    so a repetition (R ::= S R |) keeps the stack depth constant;
 *  - the grammar has no left recursion (grammar_parse.c), so a closure
 *    ends; its work and a state's stacks are bounded anyway (MAX_WORK,
 *    MAX_STACKS: an ambiguous grammar is an error, not a blow-up);
 *  - between tokens, past SOFT_FRAMES frames or SOFT_STATES states, the
 *    tables are rebuilt from the current state alone; within one step,
 *    HARD_FRAMES, HARD_STATES and HARD_POOL bound them (an error past
 *    any).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/grammar.h"
#include "text/strmap.h"
#include "text/vocab.h"
#include "util/error.h"

#define MAX_STACKS 4096
#define MAX_WORK (1 << 20)
#define SOFT_FRAMES (1 << 18)
#define SOFT_STATES (1 << 12)
#define HARD_FRAMES (1 << 21)  /* about 100 MiB with their index */
#define HARD_STATES (1 << 15)  /* 32 MiB of transition tables */
#define HARD_POOL (1 << 24)    /* 64 MiB of the states' stacks */

typedef struct frame {
    int32_t pos, parent; /* parent: the frame below, -1 at the bottom */
} frame;

typedef struct mstate {
    int32_t off;         /* its stacks: pool[off .. off + n)          */
    int32_t n;
    bool complete;
    int32_t *next;       /* [256] state by byte, -1 not yet known; or NULL */
} mstate;

struct grammar_matcher {
    const heed_grammar *g;
    bool ignore_eos;
    const int32_t *preserved; /* control tokens that are their stored text */
    int n_preserved;
    bool strip;            /* the next token is the first, and the detokenizer
                              drops its leading space (SentencePiece's prefix) */
    frame *frames;
    int32_t n_frames, cap_frames;
    heed_strmap frame_ids;
    int32_t *pool;
    int32_t n_pool, cap_pool;
    mstate *states;
    int32_t n_states, cap_states;
    heed_strmap state_ids;
    int32_t cur;
    /* scratch */
    frame *work;           /* the closure's to-do list */
    int32_t n_work, cap_work;
    long work_done;
    int32_t *out;          /* the state being made: [0] complete, then stacks */
    int32_t n_out, cap_out;
    int32_t *walk;         /* [max token length + 1] states down the trie */
    unsigned char *allowed;/* [vocabulary size] */
};

static heed_status nomem(void)
{
    return heed_fail(HEED_ERR_NOMEM, "grammar: out of memory");
}

/* ------------------------------------------------------------- interning */

static heed_status intern_frame(grammar_matcher *m, int32_t pos, int32_t parent, int32_t *id)
{
    const frame f = {pos, parent};
    *id = heed_strmap_get(&m->frame_ids, (const char *)&f, sizeof f);
    if (*id >= 0)
        return HEED_OK;
    if (m->n_frames >= HARD_FRAMES)
        return heed_fail(HEED_ERR_UNSUPPORTED, "grammar: more than %d parse frames in one step "
                         "(the grammar is too ambiguous or too deep)", HARD_FRAMES);
    heed_status st = grammar_grow((void **)&m->frames, &m->cap_frames, m->n_frames + 1, sizeof f);
    if (!st)
        st = heed_strmap_put(&m->frame_ids, (const char *)&f, sizeof f, m->n_frames, false);
    if (st)
        return st;
    m->frames[*id = m->n_frames++] = f;
    return HEED_OK;
}

static int by_id(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* The state of m->out (its stacks in any order, with repeats). */
static heed_status make_state(grammar_matcher *m, int32_t *id)
{
    int32_t n = 0;
    qsort(m->out + 1, (size_t)(m->n_out - 1), sizeof *m->out, by_id);
    for (int32_t i = 1; i < m->n_out; i++)
        if (!n || m->out[i] != m->out[n])
            m->out[++n] = m->out[i];
    if (n > MAX_STACKS)
        return heed_fail(HEED_ERR_UNSUPPORTED, "grammar: more than %d parses of the text are "
                         "alive at once (an ambiguous grammar); make its alternatives "
                         "distinct", MAX_STACKS);
    const size_t key = sizeof *m->out * (size_t)(n + 1);
    *id = heed_strmap_get(&m->state_ids, (const char *)m->out, key);
    if (*id >= 0)
        return HEED_OK;
    if (m->n_states >= HARD_STATES || m->n_pool + n > HARD_POOL)
        return heed_fail(HEED_ERR_UNSUPPORTED, "grammar: more than %d matcher states or %d "
                         "parse stacks in one step (the grammar is too large to check against "
                         "the vocabulary)", HARD_STATES, HARD_POOL);
    heed_status st = grammar_grow((void **)&m->states, &m->cap_states, m->n_states + 1,
                                  sizeof *m->states);
    if (!st)
        st = grammar_grow((void **)&m->pool, &m->cap_pool, m->n_pool + n, sizeof *m->pool);
    if (!st)
        st = heed_strmap_put(&m->state_ids, (const char *)m->out, key, m->n_states, false);
    if (st)
        return st;
    if (n)
        memcpy(m->pool + m->n_pool, m->out + 1, sizeof *m->pool * (size_t)n);
    m->states[*id = m->n_states++] = (mstate){m->n_pool, n, m->out[0] != 0, NULL};
    m->n_pool += n;
    return HEED_OK;
}

/* ---------------------------------------------------------------- closure */

static heed_status push_work(grammar_matcher *m, int32_t pos, int32_t parent)
{
    heed_status st = grammar_grow((void **)&m->work, &m->cap_work, m->n_work + 1,
                                  sizeof *m->work);
    if (!st)
        m->work[m->n_work++] = (frame){pos, parent};
    return st;
}

/* Adds to m->out the stacks that continuing at pos, then parent, reaches
 * with a byte set on top (and notes when one pops its last frame). */
static heed_status closure(grammar_matcher *m, int32_t pos, int32_t parent)
{
    const heed_grammar *g = m->g;
    heed_status st = push_work(m, pos, parent);
    while (!st && m->n_work) {
        const frame f = m->work[--m->n_work];
        if (++m->work_done > MAX_WORK) {
            st = heed_fail(HEED_ERR_UNSUPPORTED, "grammar: one step expands more than %d "
                           "alternatives (an ambiguous grammar); make its alternatives "
                           "distinct", MAX_WORK);
            break;
        }
        const gr_elem x = g->elems[f.pos];
        if (x.kind == GR_END) {
            if (f.parent < 0)
                m->out[0] = 1;
            else
                st = push_work(m, m->frames[f.parent].pos, m->frames[f.parent].parent);
        } else if (x.kind == GR_SET) {
            int32_t id;
            if (!(st = intern_frame(m, f.pos, f.parent, &id)) &&
                !(st = grammar_grow((void **)&m->out, &m->cap_out, m->n_out + 1,
                                    sizeof *m->out)))
                m->out[m->n_out++] = id;
        } else {
            int32_t cont = f.parent; /* a tail call continues at the parent */
            if (g->elems[f.pos + 1].kind != GR_END)
                st = intern_frame(m, f.pos + 1, f.parent, &cont);
            for (int32_t a = g->alt_of[x.arg]; a < g->alt_of[x.arg + 1] && !st; a++)
                st = push_work(m, g->alts[a], cont);
        }
    }
    m->n_work = 0;
    return st;
}

static void begin_state(grammar_matcher *m)
{
    m->n_out = 1;
    m->out[0] = 0;
    m->work_done = 0;
}

/* Where state s goes on byte b (0: nowhere). */
static heed_status transition(grammar_matcher *m, int32_t s, unsigned char b, int32_t *to)
{
    if (m->states[s].next && m->states[s].next[b] >= 0) {
        *to = m->states[s].next[b];
        return HEED_OK;
    }
    const heed_grammar *g = m->g;
    begin_state(m);
    heed_status st = HEED_OK;
    for (int32_t i = 0; i < m->states[s].n && !st; i++) {
        const frame f = m->frames[m->pool[m->states[s].off + i]];
        if (gr_set_has(&g->sets[g->elems[f.pos].arg], b))
            st = closure(m, f.pos + 1, f.parent);
    }
    if (!st)
        st = make_state(m, to);
    if (!st && !m->states[s].next) {
        if (!(m->states[s].next = malloc(256 * sizeof *m->states[s].next)))
            return nomem();
        memset(m->states[s].next, 0xFF, 256 * sizeof *m->states[s].next); /* all -1 */
    }
    if (!st)
        m->states[s].next[b] = *to;
    return st;
}

/* The state after bytes s[0..n) from state from (0: dead). */
static heed_status walk_bytes(grammar_matcher *m, int32_t from, const char *s, size_t n,
                              int32_t *to)
{
    *to = from;
    heed_status st = HEED_OK;
    for (size_t i = 0; i < n && *to && !st; i++)
        st = transition(m, *to, (unsigned char)s[i], to);
    return st;
}

/* ------------------------------------------------------------- the tables */

static void clear_tables(grammar_matcher *m)
{
    for (int32_t i = 0; i < m->n_states; i++)
        free(m->states[i].next);
    m->n_states = 0;
    m->n_frames = 0;
    m->n_pool = 0;
    heed_strmap_free(&m->frame_ids);
    heed_strmap_free(&m->state_ids);
}

/* Empty tables holding only the dead state. */
static heed_status init_tables(grammar_matcher *m)
{
    heed_status st = heed_strmap_init(&m->frame_ids, 1024);
    if (!st)
        st = heed_strmap_init(&m->state_ids, 256);
    if (!st && !m->out)
        st = grammar_grow((void **)&m->out, &m->cap_out, 64, sizeof *m->out);
    if (st)
        return st;
    int32_t dead;
    begin_state(m);
    return make_state(m, &dead);
}

/* Rebuilds the tables from the current state alone (its stacks copied
 * frame by frame), forgetting every other state and transition. */
static heed_status rebuild(grammar_matcher *m)
{
    const mstate cur = m->states[m->cur];
    size_t n_pos = 0;
    for (int32_t i = 0; i < cur.n; i++)
        for (int32_t f = m->pool[cur.off + i]; f >= 0; f = m->frames[f].parent)
            n_pos++;
    /* each stack bottom-up, after its length */
    int32_t *keep = malloc(sizeof *keep * (n_pos + (size_t)cur.n));
    if (!keep)
        return nomem();
    size_t at = 0;
    for (int32_t i = 0; i < cur.n; i++) {
        const size_t start = at++;
        for (int32_t f = m->pool[cur.off + i]; f >= 0; f = m->frames[f].parent)
            keep[at++] = m->frames[f].pos;
        keep[start] = (int32_t)(at - start - 1);
    }
    clear_tables(m);
    heed_status st = init_tables(m);
    begin_state(m); /* (m->out outlives the tables) */
    m->out[0] = cur.complete;
    for (size_t i = 0; i < at && !st;) {
        const int32_t len = keep[i];
        int32_t id = -1;
        for (int32_t k = len; k >= 1 && !st; k--) /* from the bottom frame up */
            st = intern_frame(m, keep[i + (size_t)k], id, &id);
        if (!st)
            st = grammar_grow((void **)&m->out, &m->cap_out, m->n_out + 1, sizeof *m->out);
        if (!st)
            m->out[m->n_out++] = id;
        i += (size_t)len + 1;
    }
    free(keep);
    return st ? st : make_state(m, &m->cur);
}

/* -------------------------------------------------------------- the API */

void grammar_matcher_free(grammar_matcher *m)
{
    if (!m)
        return;
    clear_tables(m);
    free(m->frames);
    free(m->pool);
    free(m->states);
    free(m->work);
    free(m->out);
    free(m->walk);
    free(m->allowed);
    free(m);
}

heed_status grammar_matcher_new(const heed_grammar *g, bool ignore_eos, const int32_t *preserved,
                                int n_preserved, grammar_matcher **out)
{
    *out = NULL;
    grammar_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return nomem();
    m->g = g;
    m->ignore_eos = ignore_eos;
    m->preserved = preserved;
    m->n_preserved = n_preserved;
    m->strip = g->v && g->v->add_space_prefix;
    heed_status st = init_tables(m);
    if (!st && g->v) {
        m->walk = malloc(sizeof *m->walk * (size_t)(g->trie->max_depth + 1));
        m->allowed = malloc((size_t)heed_vocab_n_tokens(g->v) + 1);
        if (!m->walk || !m->allowed)
            st = nomem();
    }
    if (!st) /* the start: every alternative of the root */
        begin_state(m);
    for (int32_t a = g->alt_of[g->root]; a < g->alt_of[g->root + 1] && !st; a++)
        st = closure(m, g->alts[a], -1);
    if (!st)
        st = make_state(m, &m->cur);
    if (st) {
        grammar_matcher_free(m);
        return st;
    }
    *out = m;
    return HEED_OK;
}

bool grammar_matcher_complete(const grammar_matcher *m)
{
    return m->states[m->cur].complete;
}

bool grammar_matcher_done(const grammar_matcher *m)
{
    return m->states[m->cur].complete && !m->states[m->cur].n;
}

/* Over the soft limits, rebuilds the tables from the current state. */
static heed_status tidy(grammar_matcher *m)
{
    return m->n_frames > SOFT_FRAMES || m->n_states > SOFT_STATES ? rebuild(m) : HEED_OK;
}

heed_status grammar_matcher_feed(grammar_matcher *m, const char *s, size_t n, bool *ok)
{
    *ok = true;
    heed_status st = HEED_OK;
    for (size_t i = 0; i < n && *ok && !st; i++) {
        int32_t to;
        if (!(st = transition(m, m->cur, (unsigned char)s[i], &to)) && (*ok = to != 0)) {
            m->cur = to;
            st = tidy(m);
        }
    }
    *ok = *ok && !st;
    return st;
}

/* Whether id ends the generation here rather than being text. */
static bool ends(const grammar_matcher *m, int32_t id)
{
    return heed_vocab_is_eog(m->g->v, id) && (!m->ignore_eos || grammar_matcher_done(m));
}

/* The text id adds (the first token's leading space dropped as the
 * detokenizer drops it). */
static const char *token_text(const grammar_matcher *m, int32_t id, size_t *len)
{
    const bool shown = grammar_preserves(m->preserved, m->n_preserved, id);
    const char *s = heed_token_to_piece(m->g->v, id, shown, len);
    if (s && m->strip && *len && s[0] == ' ')
        s++, (*len)--;
    return s;
}

heed_status grammar_matcher_allows(grammar_matcher *m, int32_t id, bool *ok)
{
    if (ends(m, id)) {
        *ok = grammar_matcher_complete(m);
        return HEED_OK;
    }
    size_t len;
    const char *s = token_text(m, id, &len);
    int32_t to = 0;
    heed_status st = s && len ? walk_bytes(m, m->cur, s, len, &to) : HEED_OK;
    *ok = !st && to;
    return st;
}

heed_status grammar_matcher_accept(grammar_matcher *m, int32_t id)
{
    if (ends(m, id))
        return HEED_OK;
    size_t len;
    const char *s = token_text(m, id, &len);
    int32_t to = 0;
    heed_status st = s && len ? walk_bytes(m, m->cur, s, len, &to) : HEED_OK;
    if (st)
        return st;
    if (!to)
        return heed_fail(HEED_ERR_ARG, "grammar: token %d does not fit the grammar here", id);
    m->cur = to;
    m->strip = false;
    return tidy(m);
}

heed_status grammar_matcher_mask(grammar_matcher *m, float *logits, int32_t n,
                                 int32_t *n_allowed)
{
    const token_trie *t = m->g->trie;
    const int32_t n_tok = heed_vocab_n_tokens(m->g->v);
    memset(m->allowed, 0, (size_t)n_tok);
    m->walk[0] = m->cur;
    heed_status st = HEED_OK;
    for (int32_t i = 0; i < t->n && !st;) {
        const token_trie_node *nd = &t->nodes[i];
        const int32_t s = m->walk[nd->depth - 1];
        const bool dropped = m->strip && nd->depth == 1 && nd->byte == ' ';
        int32_t to = dropped ? s : m->states[s].next ? m->states[s].next[nd->byte] : -1;
        if (to < 0)
            st = transition(m, s, nd->byte, &to);
        if (!to) { /* dead: no token below fits */
            i = nd->end;
            continue;
        }
        m->walk[nd->depth] = to;
        for (int32_t k = 0; k < nd->n_tok && !dropped; k++)
            m->allowed[t->ids[nd->tok + k]] = 1;
        i++;
    }
    for (int k = 0; k < m->n_preserved && !st; k++) { /* not in the trie: their text is "" */
        const int32_t id = m->preserved[k];
        if (ends(m, id))
            continue;
        size_t len;
        const char *s = token_text(m, id, &len);
        int32_t to = 0;
        st = len ? walk_bytes(m, m->cur, s, len, &to) : HEED_OK;
        m->allowed[id] |= to != 0;
    }
    if (st)
        return st;
    const bool done = grammar_matcher_done(m);
    for (int32_t k = 0; k < m->g->n_eog; k++)
        if (!m->ignore_eos || done)
            m->allowed[m->g->eog[k]] = grammar_matcher_complete(m);
    int32_t count = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i < n_tok && m->allowed[i])
            count++;
        else
            logits[i] = -INFINITY;
    }
    *n_allowed = count;
    return HEED_OK;
}

heed_status heed_grammar_match(const heed_grammar *g, const char *text, size_t len,
                               bool *prefix, bool *complete)
{
    *prefix = *complete = false;
    if (!g || (!text && len))
        return heed_fail(HEED_ERR_ARG, "grammar: no grammar or no text");
    grammar_matcher *m;
    heed_status st = grammar_matcher_new(g, false, NULL, 0, &m);
    if (!st)
        st = grammar_matcher_feed(m, text, len, prefix);
    *complete = !st && *prefix && grammar_matcher_complete(m);
    grammar_matcher_free(m);
    return st;
}
