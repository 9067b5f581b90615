/*
 * grammar.h — grammars that constrain generation (heed.h, "grammars"):
 * the compiled form grammar_parse.c makes from GBNF, and the matcher
 * (grammar_match.c) that says which tokens may come next.
 *
 * The compiled grammar works on bytes, not characters: every character
 * class is turned into the UTF-8 byte sequences of its code points, so a
 * token that ends inside a character needs no special case and every
 * accepted text is valid UTF-8.
 *
 * A rule is a list of alternatives; an alternative is a sequence of
 * elements in elems[], each a byte set to match or a reference to a rule,
 * ended by GR_END. A position is an index into elems[].
 */
#ifndef HEED_GEN_GRAMMAR_H
#define HEED_GEN_GRAMMAR_H

#include <stdbool.h>
#include <stdint.h>

#include "text/token_trie.h"
#include "heed.h"

typedef enum gr_kind { GR_END, GR_SET, GR_REF } gr_kind;

typedef struct gr_elem {
    int32_t kind; /* gr_kind                                   */
    int32_t arg;  /* GR_SET: index into sets; GR_REF: the rule */
} gr_elem;

/* A set of bytes: bit b of bits[b / 64]. */
typedef struct gr_set {
    uint64_t bits[4];
} gr_set;

static inline bool gr_set_has(const gr_set *s, unsigned char b)
{
    return (s->bits[b >> 6] >> (b & 63)) & 1;
}

struct heed_grammar {
    const heed_vocab *v;   /* NULL: text only (no generation)           */
    gr_elem *elems;        /* [n_elems]                                 */
    int32_t n_elems;
    gr_set *sets;          /* [n_sets]                                  */
    int32_t n_sets;
    int32_t *alt_of;       /* [n_rules + 1]: rule r's alternatives are
                              alts[alt_of[r] .. alt_of[r + 1])          */
    int32_t *alts;         /* each alternative's first position         */
    int32_t n_rules, root;
    const token_trie *trie; /* v's token texts (v keeps it)              */
    int32_t *eog;          /* the vocabulary's end-of-generation ids    */
    int32_t n_eog;
};

/*
 * Compiles GBNF text into g (whose v and trie the caller sets). Errors
 * (HEED_ERR_FORMAT) name the line and column and what was expected there;
 * HEED_ERR_UNSUPPORTED for what llama.cpp's dialect has and heed does not
 * (token references); HEED_ERR_ARG for no such root rule.
 */
heed_status grammar_compile(heed_grammar *g, const char *gbnf, const char *root);

/* Grows the array *p of *cap elements of size bytes to hold need (its
 * capacity doubling); HEED_ERR_NOMEM, *p unchanged, on failure. */
heed_status grammar_grow(void **p, int32_t *cap, int32_t need, size_t size);

/* ------------------------------------------------------------- matcher */

/*
 * A matcher: where in the grammar a text is, advanced a token (or some
 * bytes) at a time. Its states are sets of parse stacks, interned, and
 * the transition of each by each byte is computed once and kept, so
 * checking the whole vocabulary is a walk of the token trie that mostly
 * reads a table. Memory is bounded: past a limit the tables are rebuilt
 * from the current state alone, and a grammar that keeps too many parses
 * alive (an ambiguous one) is an error, not a blow-up.
 */
typedef struct grammar_matcher grammar_matcher;

/* Whether id is among the preserved tokens ids[0..n) (a few: a scan). */
static inline bool grammar_preserves(const int32_t *ids, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* A matcher at the start of g. ignore_eos: end-of-generation tokens are
 * text (their pieces, empty for control tokens) rather than the end.
 * preserved[0..n_preserved) (which must outlive the matcher): control
 * tokens whose stored text is their text, as the generator shows them. */
heed_status grammar_matcher_new(const heed_grammar *g, bool ignore_eos, const int32_t *preserved,
                                int n_preserved, grammar_matcher **out);
void grammar_matcher_free(grammar_matcher *m);

/* The text so far is a whole sentence of the grammar. */
bool grammar_matcher_complete(const grammar_matcher *m);
/* ... and nothing can follow it. */
bool grammar_matcher_done(const grammar_matcher *m);

/* Feeds bytes: *ok says whether the text stays a prefix of a sentence;
 * if not, the matcher stays where the text left the grammar. */
heed_status grammar_matcher_feed(grammar_matcher *m, const char *s, size_t n, bool *ok);

/* Whether token id may come next (end-of-generation tokens: when the text
 * is complete). */
heed_status grammar_matcher_allows(grammar_matcher *m, int32_t id, bool *ok);
/* Sets logits[i] to -infinity for every token i in [0, n) that may not
 * come next; *n_allowed counts the rest. */
heed_status grammar_matcher_mask(grammar_matcher *m, float *logits, int32_t n,
                                 int32_t *n_allowed);
/* Advances past token id, which must be allowed. */
heed_status grammar_matcher_accept(grammar_matcher *m, int32_t id);

#endif
