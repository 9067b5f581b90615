/*
 * grammar_mask.c — the grammar's own cost per generated token, apart from
 * the model's: checking the one token the sampler drew, and masking the
 * whole vocabulary (a walk of the token trie) when it is refused, in
 * states of a JSON schema's grammar where few tokens fit (punctuation,
 * digits) and where nearly all do (inside a string). Best of REPS, so
 * that other load on the machine counts as little as it can.
 *
 *   built and run by bench/grammar.sh:  grammar_mask MODEL.gguf [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen/grammar.h"
#include "heed.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: grammar_mask MODEL.gguf [REPS]\n");
        return 2;
    }
    const int reps = argc > 2 ? atoi(argv[2]) : 50;
    const char *schema = "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": "
                         "\"string\"}, \"n\": {\"type\": \"array\", \"items\": {\"type\": "
                         "\"integer\", \"minimum\": 0, \"maximum\": 99}}}, \"required\": "
                         "[\"name\", \"n\"]}";
    static const struct { const char *text, *state; } at[] = {
        {"", "the start: only '{' fits"},
        {"{\"name\": \"ab", "inside a string: nearly every token fits"},
        {"{\"name\": \"ab\", \"n\": [1", "in a number: digits, ',' or ']'"},
    };
    heed_vocab *v;
    heed_grammar *g;
    double t0 = now();
    if (heed_vocab_load_file(argv[1], &v)) {
        fprintf(stderr, "%s\n", heed_last_error());
        return 1;
    }
    const double t_vocab = now() - t0;
    t0 = now();
    if (heed_grammar_from_json_schema(v, schema, &g)) {
        fprintf(stderr, "%s\n", heed_last_error());
        return 1;
    }
    const double t_first = now() - t0; /* with the vocabulary's token trie */
    heed_grammar_free(g);
    t0 = now();
    heed_grammar_from_json_schema(v, schema, &g);
    const double t_again = now() - t0;
    const int32_t n = heed_vocab_n_tokens(v);
    printf("%s: %d tokens; vocabulary %.0f ms; grammar %.1f ms the first time (the token "
           "trie, kept by the vocabulary), %.2f ms after\n", argv[1], n, 1e3 * t_vocab,
           1e3 * t_first, 1e3 * t_again);
    float *logits = malloc(sizeof *logits * (size_t)n);
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        grammar_matcher *m;
        bool ok;
        grammar_matcher_new(g, false, &m);
        grammar_matcher_feed(m, at[k].text, strlen(at[k].text), &ok);
        double best_mask = 1e9, best_check = 1e9;
        int32_t allowed = 0;
        for (int r = 0; r < reps; r++) {
            t0 = now();
            grammar_matcher_mask(m, logits, n, &allowed);
            const double t1 = now();
            for (int32_t id = 0; id < 1000; id++)
                grammar_matcher_allows(m, (int32_t)((uint32_t)id * 2654435761u % (uint32_t)n),
                                       &ok);
            best_mask = t1 - t0 < best_mask ? t1 - t0 : best_mask;
            best_check = (now() - t1) / 1000 < best_check ? (now() - t1) / 1000 : best_check;
        }
        printf("  %-45s %7d allowed: mask %.3f ms, one token %.2f us\n", at[k].state, allowed,
               1e3 * best_mask, 1e6 * best_check);
        grammar_matcher_free(m);
    }
    free(logits);
    heed_grammar_free(g);
    heed_vocab_free(v);
    return 0;
}
