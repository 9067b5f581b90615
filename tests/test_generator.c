/* test_generator.c — the library's generation loop (heed_generator_*)
 * against a loop written out by hand on the same context, its stop
 * strings, log-probabilities, endings and refusals, generation under a
 * grammar; and the two reductions it shares with the CLI (heed_top_k,
 * heed_log_sum_exp). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

typedef struct fixture {
    heed_model *m;
    heed_vocab *v;
    heed_context *c;
    int32_t ids[64];
    size_t n;
} fixture;

static void setup(fixture *f, const char *prompt, int n_ctx)
{
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &f->m), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_vocab_load(heed_model_gguf(f->m), &f->v), HEED_OK, "%s", heed_last_error());
    int32_t *ids;
    cr_assert_eq(heed_tokenize(f->v, prompt, strlen(prompt), true, false, &ids, &f->n), HEED_OK);
    cr_assert_leq(f->n, 64);
    memcpy(f->ids, ids, sizeof *ids * f->n);
    free(ids);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_threads = 1;
    cr_assert_eq(heed_context_new(f->m, &cp, &f->c), HEED_OK, "%s", heed_last_error());
}

static void teardown(fixture *f)
{
    heed_context_free(f->c);
    heed_vocab_free(f->v);
    heed_model_free(f->m);
}

/* Runs g to the end: the concatenated text (malloc'd), the ids. No
 * forbidden token (-inf) is ever listed as an alternative. */
static char *run_all(heed_generator *g, int32_t *ids, int *n_ids)
{
    char *all = calloc(1, 1);
    size_t len = 0;
    *n_ids = 0;
    for (bool more = true; more;) {
        const char *t;
        size_t n;
        heed_gen_token tok;
        more = heed_generator_step(g, &t, &n, &tok);
        for (int k = 0; k < tok.n_top; k++)
            cr_expect(isfinite(tok.top_logprobs[k]));
        if (heed_generator_n_tokens(g) > *n_ids)
            ids[(*n_ids)++] = tok.id;
        all = realloc(all, len + n + 1);
        memcpy(all + len, t, n);
        all[len += n] = 0;
    }
    return all;
}

/* Greedy generation is the argmax loop: eval, pick, eval the pick. */
Test(generator, greedy_equals_the_loop_by_hand)
{
    fixture f;
    setup(&f, "The animal didn't cross the street because it", 256);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 0;
    p.max_tokens = 24;
    p.ignore_eos = true;
    heed_generator *g;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK, "%s",
                 heed_last_error());
    int32_t got[64];
    int n_got;
    char *text = run_all(g, got, &n_got);
    cr_expect_eq(heed_generator_finish(g), HEED_GEN_LENGTH);
    cr_expect_eq(n_got, 24);
    heed_generator_free(g);

    const int V = heed_model_n_vocab(f.m);
    float *logits = malloc(sizeof *logits * (size_t)V);
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, (int)f.n, logits, false), HEED_OK);
    for (int i = 0; i < n_got; i++) {
        int32_t best;
        heed_top_k(logits, V, 1, &best);
        cr_expect_eq(got[i], best, "token %d: %d, by hand %d", i, got[i], best);
        cr_assert_eq(heed_context_eval(f.c, &best, 1, logits, false), HEED_OK);
    }
    char *want;
    size_t want_len;
    cr_assert_eq(heed_detokenize(f.v, got, (size_t)n_got, false, false, &want, &want_len), HEED_OK);
    cr_expect_str_eq(text, want, "the streamed text is the detokenized ids");
    free(want);
    free(text);
    free(logits);
    teardown(&f);
}

/* With several stop strings the text ends before the first to appear;
 * what a step handed out is never taken back (the concatenation is the
 * text), and the stop string itself is not in it. */
Test(generator, stops_at_the_earliest_stop_string)
{
    fixture f;
    setup(&f, "Once upon a time", 256);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 0;
    p.max_tokens = 60;
    p.ignore_eos = true;
    heed_generator *g;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    int32_t ids[64];
    int n;
    char *free_text = run_all(g, ids, &n);
    heed_generator_free(g);
    cr_assert_gt(strlen(free_text), 20, "%s", free_text);
    /* two stops taken from the free text: the earlier one must win. It
     * spans two tokens' pieces, so its first bytes arrive a step before
     * the rest, and must be held back until it is complete. */
    char late[8], early[8];
    const size_t len = strlen(free_text);
    memcpy(late, free_text + len - 6, 5);
    late[5] = 0;
    size_t cut = 0;
    for (int k = n / 2; k < n - 1 && !cut; k++) {
        char *a, *b;
        size_t la, lb;
        cr_assert_eq(heed_detokenize(f.v, ids, (size_t)k, false, false, &a, &la), HEED_OK);
        cr_assert_eq(heed_detokenize(f.v, ids, (size_t)k + 1, false, false, &b, &lb), HEED_OK);
        if (la >= 2 && lb >= la + 2)
            cut = la;
        free(a);
        free(b);
    }
    cr_assert_gt(cut, 0, "no boundary between pieces of 2 bytes or more");
    memcpy(early, free_text + cut - 2, 4);
    early[4] = 0;
    const char *first = strstr(free_text, early);
    const char *stops[] = {late, early};
    p.stops = stops;
    p.n_stops = 2;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    char *stopped = run_all(g, ids, &n);
    cr_expect_eq(heed_generator_finish(g), HEED_GEN_STOP);
    cr_expect_eq(strlen(stopped), (size_t)(first - free_text), "'%s' in '%s' -> '%s'", early,
                 free_text, stopped);
    cr_expect(strncmp(stopped, free_text, strlen(stopped)) == 0);
    heed_generator_free(g);
    free(stopped);
    free(free_text);
    teardown(&f);
}

/* Log-probabilities: the token's and the top ones equal a log-softmax in
 * double; the top ids are the largest logits, best first. */
Test(generator, logprobs_are_the_log_softmax)
{
    fixture f;
    setup(&f, "I love", 64);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.seed = 3;
    p.max_tokens = 1;
    p.top_logprobs = 5;
    heed_generator *g;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    const char *t;
    size_t n;
    heed_gen_token tok;
    heed_generator_step(g, &t, &n, &tok);
    heed_generator_free(g);
    const int V = heed_model_n_vocab(f.m);
    float *logits = malloc(sizeof *logits * (size_t)V);
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, (int)f.n, logits, false), HEED_OK);
    double max = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++)
        max = fmax(max, logits[i]);
    for (int i = 0; i < V; i++)
        sum += exp(logits[i] - max);
    const double lse = max + log(sum);
    cr_expect_float_eq(tok.logprob, logits[tok.id] - lse, 1e-5);
    cr_assert_eq(tok.n_top, 5);
    for (int k = 0; k < 5; k++) {
        cr_expect_float_eq(tok.top_logprobs[k], logits[tok.top_ids[k]] - lse, 1e-5);
        int above = 0;
        for (int i = 0; i < V; i++)
            above += logits[i] > logits[tok.top_ids[k]];
        cr_expect_eq(above, k, "top %d has %d larger logits", k, above);
    }
    free(logits);
    teardown(&f);
}

/* Lookup drafts change nothing but speed: the same ids as plain decoding,
 * sampled or greedy; a full context ends generation with its reason. */
Test(generator, lookup_and_a_full_context)
{
    fixture f;
    setup(&f, "the cat sat on the mat. the cat sat on the mat. the cat", 48);
    for (int sampled = 0; sampled < 2; sampled++) {
        int32_t plain[64], drafted[64];
        int n_plain, n_drafted;
        heed_generate_params p = heed_generate_default_params();
        p.sampler.temp = sampled ? 0.9f : 0;
        p.sampler.seed = 11;
        p.ignore_eos = true;
        heed_generator *g;
        cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
        free(run_all(g, plain, &n_plain));
        cr_expect_eq(heed_generator_finish(g), HEED_GEN_CONTEXT_FULL);
        cr_expect_eq(n_plain, 48 - (int)f.n + 1, "the last token fills no position");
        heed_generator_free(g);
        p.lookup = 6;
        cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
        free(run_all(g, drafted, &n_drafted));
        heed_generator_free(g);
        cr_assert_eq(n_drafted, n_plain);
        cr_expect_arr_eq(drafted, plain, sizeof *plain * (size_t)n_plain, "sampled %d", sampled);
    }
    teardown(&f);
}

/* Bad parameters are refused with a message; a stop ends it at once. */
Test(generator, refusals_and_stop)
{
    fixture f;
    setup(&f, "Hello", 64);
    heed_generator *g = (heed_generator *)1;
    heed_generate_params p = heed_generate_default_params();
    p.top_logprobs = 21;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    cr_expect_null(g);
    cr_expect(strstr(heed_last_error(), "top_logprobs"));
    p = heed_generate_default_params();
    const char *empty[] = {""};
    p.stops = empty;
    p.n_stops = 1;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    p.n_stops = 0;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, 0, &p, &g), HEED_ERR_ARG);
    int32_t bad = 1 << 30;
    cr_expect_eq(heed_generator_new(f.c, f.v, &bad, 1, &p, &g), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "1073741824"), "%s", heed_last_error());
    p.preserved = &bad; /* preserved tokens: in the vocabulary, at most 64, with one */
    p.n_preserved = 1;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "1073741824"), "%s", heed_last_error());
    p.preserved = f.ids;
    cr_expect_eq(heed_generator_new(f.c, NULL, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    p.n_preserved = HEED_GEN_MAX_PRESERVED + 1;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    p.n_preserved = 0;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    const char *t;
    size_t n;
    heed_generator_stop(g, &t, &n);
    cr_expect_eq(heed_generator_finish(g), HEED_GEN_LENGTH);
    cr_expect_not(heed_generator_step(g, &t, &n, NULL));
    cr_expect_eq(n, 0);
    heed_generator_free(g);
    teardown(&f);
}

Test(generator, top_k_and_log_sum_exp)
{
    const float x[] = {1, 3, NAN, 3, -INFINITY, 2, 5};
    int32_t ids[8];
    cr_expect_eq(heed_top_k(x, 7, 4, ids), 4);
    cr_expect(ids[0] == 6 && ids[1] == 1 && ids[2] == 3 && ids[3] == 5, "ties to the lower id");
    cr_expect_eq(heed_top_k(x, 7, 8, ids), 6, "NaN skipped");
    cr_expect_eq(ids[5], 4);
    cr_expect_eq(heed_top_k(x, 0, 3, ids), 0);
    const float y[] = {0, 0, 0, 0};
    cr_expect_float_eq(heed_log_sum_exp(y, 4), log(4.0), 1e-12);
    const float big[] = {1000, 1000};
    cr_expect_float_eq(heed_log_sum_exp(big, 2), 1000 + log(2.0), 1e-9, "no overflow");
    const float none[] = {-INFINITY, -INFINITY};
    cr_expect(isinf(heed_log_sum_exp(none, 2)) && heed_log_sum_exp(none, 2) < 0);
}

/* Logit biases: the greedy loop by hand with the biases added to each
 * row, with and without lookup drafts; a banned token never comes, a
 * token's biases add, and the log-probabilities are the biased row's. */
Test(generator, logit_bias_is_added_to_every_row)
{
    fixture f;
    setup(&f, "And God said, Let there be light: and there was light", 256);
    const int V = heed_model_n_vocab(f.m);
    float *logits = malloc(sizeof *logits * (size_t)V);
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, (int)f.n, logits, false), HEED_OK);
    int32_t first;
    heed_top_k(logits, V, 1, &first);
    const heed_logit_bias bias[] = {{first, -INFINITY}, {17, 1.5f}, {17, 1.5f}, {200, -2.0f}};
    for (int lookup = 0; lookup <= 4; lookup += 4) {
        heed_generate_params p = heed_generate_default_params();
        p.sampler.temp = 0;
        p.max_tokens = 20;
        p.ignore_eos = true;
        p.lookup = lookup;
        p.top_logprobs = 2;
        p.logit_bias = bias;
        p.n_logit_bias = 4;
        heed_generator *g;
        cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK, "%s",
                     heed_last_error());
        int32_t got[64];
        float logprob[64];
        int n_got = 0;
        for (bool more = true; more;) {
            const char *t;
            size_t n;
            heed_gen_token tok;
            more = heed_generator_step(g, &t, &n, &tok);
            logprob[n_got] = tok.logprob;
            got[n_got++] = tok.id;
        }
        heed_generator_free(g);
        cr_expect_eq(n_got, 20);
        heed_context_reset(f.c);
        cr_assert_eq(heed_context_eval(f.c, f.ids, (int)f.n, logits, false), HEED_OK);
        for (int i = 0; i < n_got; i++) {
            logits[first] = -INFINITY;
            logits[17] += 3.0f;
            logits[200] -= 2.0f;
            int32_t best;
            heed_top_k(logits, V, 1, &best);
            cr_expect_eq(got[i], best, "lookup %d, token %d: %d, by hand %d", lookup, i, got[i],
                         best);
            cr_expect_neq(got[i], first, "banned");
            const double lse = heed_log_sum_exp(logits, V);
            cr_expect_float_eq(logprob[i], logits[best] - lse, 1e-4, "the biased row's");
            cr_assert_eq(heed_context_eval(f.c, &best, 1, logits, false), HEED_OK);
        }
    }
    heed_generate_params p = heed_generate_default_params();
    heed_logit_bias bad = {V, 1.0f};
    p.logit_bias = &bad;
    p.n_logit_bias = 1;
    heed_generator *g;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "out of range"), "%s", heed_last_error());
    free(logits);
    teardown(&f);
}

/* A prompt whose first tokens the context already holds: the generator
 * keeps them (heed_generator_n_cached), evaluates the rest, and gives the
 * tokens a fresh start gives; a claim beyond what the cache holds falls
 * back to the whole prompt. */
Test(generator, n_cached_reuses_the_prefix)
{
    fixture f;
    setup(&f, "And God said, Let there be light: and there was light. And God saw", 256);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 0;
    p.max_tokens = 16;
    p.ignore_eos = true;
    heed_generator *g;
    int32_t fresh[64], reused[64];
    int n_fresh, n_reused;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    cr_expect_eq(heed_generator_n_cached(g), 0);
    free(run_all(g, fresh, &n_fresh));
    heed_generator_free(g);
    /* the context now holds the prompt and the tokens generated: a prompt
     * sharing its first n - 3 tokens reuses them */
    p.n_cached = (int)f.n - 3;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    cr_expect_eq(heed_generator_n_cached(g), (int)f.n - 3);
    free(run_all(g, reused, &n_reused));
    heed_generator_free(g);
    cr_expect_eq(n_reused, n_fresh);
    cr_expect_arr_eq(reused, fresh, sizeof *fresh * (size_t)n_fresh);
    /* all of it cached: the last token is evaluated again for its logits */
    p.n_cached = (int)f.n;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    cr_expect_eq(heed_generator_n_cached(g), (int)f.n - 1);
    free(run_all(g, reused, &n_reused));
    heed_generator_free(g);
    cr_expect_arr_eq(reused, fresh, sizeof *fresh * (size_t)n_fresh);
    /* more than the cache holds: from scratch */
    heed_context_reset(f.c);
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    cr_expect_eq(heed_generator_n_cached(g), 0);
    free(run_all(g, reused, &n_reused));
    heed_generator_free(g);
    cr_expect_arr_eq(reused, fresh, sizeof *fresh * (size_t)n_fresh);
    p.n_cached = -1;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_ERR_ARG);
    teardown(&f);
}

/* A prompt the caller evaluated (heed_generator_new_evaluated, as the
 * server's batched prefill does) generates what heed_generator_new does —
 * seeded sampling, a stop string — and the context must hold exactly it. */
Test(generator, new_evaluated_equals_new)
{
    fixture f;
    setup(&f, "And God said, Let there be light", 256);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 0.9f;
    p.sampler.seed = 17;
    p.max_tokens = 24;
    const char *stop[] = {" day"};
    p.stops = stop;
    p.n_stops = 1;
    heed_generator *g;
    int32_t want[64], got[64];
    int n_want, n_got;
    cr_assert_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &g), HEED_OK);
    char *want_text = run_all(g, want, &n_want);
    heed_generator_free(g);
    const int V = heed_model_n_vocab(f.m);
    float *row = malloc(sizeof *row * (size_t)V);
    heed_context_reset(f.c);
    cr_assert_eq(heed_context_eval(f.c, f.ids, (int)f.n - 1, NULL, false), HEED_OK);
    cr_expect_eq(heed_generator_new_evaluated(f.c, f.v, f.ids, (int)f.n, &p, row, &g),
                 HEED_ERR_ARG); /* the context lacks the last token */
    cr_expect_null(g);
    cr_assert_eq(heed_context_eval(f.c, f.ids + f.n - 1, 1, row, false), HEED_OK);
    cr_assert_eq(heed_generator_new_evaluated(f.c, f.v, f.ids, (int)f.n, &p, row, &g), HEED_OK,
                 "%s", heed_last_error());
    cr_expect_eq(heed_generator_n_cached(g), (int)f.n);
    char *got_text = run_all(g, got, &n_got);
    heed_generator_free(g);
    cr_expect_str_eq(got_text, want_text);
    cr_expect_eq(n_got, n_want);
    cr_expect_arr_eq(got, want, sizeof *want * (size_t)n_want);
    free(want_text);
    free(got_text);
    free(row);
    teardown(&f);
}

/* -------------------------------------------------------------- grammars */

/* The whole output of a generation under p (on a context of at most 128
 * positions); its finish in *finish. */
static char *generate(fixture *f, const heed_generate_params *p, heed_gen_finish *finish,
                      int *n_tokens)
{
    heed_generator *gen;
    cr_assert_eq(heed_generator_new(f->c, f->v, f->ids, (int)f->n, p, &gen), HEED_OK, "%s",
                 heed_last_error());
    int32_t ids[128];
    int n;
    char *all = run_all(gen, ids, &n);
    *finish = heed_generator_finish(gen);
    cr_expect_neq(*finish, HEED_GEN_ERROR, "%s", heed_last_error());
    if (n_tokens)
        *n_tokens = heed_generator_n_tokens(gen);
    heed_generator_free(gen);
    return all;
}

/* At temperature 1 the small model's own choices seldom fit; every
 * output must match all the same, and end by itself once whole. */
Test(generator, grammar_outputs_always_match)
{
    fixture f;
    setup(&f, "And the king said", 128);
    const char *gbnf = "root ::= \"The \" (\"lord\" | \"king\") \" said, \" word "
                       "(\" \" word){0,4} \".\"\n"
                       "word ::= [a-z]{1,8}";
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(f.v, gbnf, NULL, &g), HEED_OK, "%s", heed_last_error());
    for (int seed = 0; seed < 8; seed++) {
        heed_generate_params p = heed_generate_default_params();
        p.sampler.temp = 1;
        p.sampler.seed = (uint64_t)seed;
        p.max_tokens = 80;
        p.grammar = g;
        p.top_logprobs = seed % 2 ? 3 : -1; /* the row masked first, or only when needed */
        heed_gen_finish fin;
        char *out = generate(&f, &p, &fin, NULL);
        bool prefix, complete;
        cr_assert_eq(heed_grammar_match(g, out, strlen(out), &prefix, &complete), HEED_OK);
        cr_expect(complete && fin == HEED_GEN_EOG, "seed %d: '%s' (finish %d)", seed, out, fin);
        free(out);
    }
    heed_grammar_free(g);
    teardown(&f);
}

/* Greedy under a grammar is the argmax of the tokens it allows; prompt
 * lookup changes nothing; cut short, the text is a prefix. */
Test(generator, grammar_greedy_lookup_and_length)
{
    fixture f;
    setup(&f, "And the king said unto him, and the king said unto him", 128);
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(f.v, "root ::= ([a-z ,]{1,12} \".\"){1,3}", NULL, &g),
                 HEED_OK);
    heed_generate_params p = heed_generate_default_params();
    p.sampler.temp = 0;
    p.max_tokens = 60;
    p.grammar = g;
    heed_gen_finish fin, fin2;
    char *plain = generate(&f, &p, &fin, NULL);
    p.lookup = 4;
    char *looked = generate(&f, &p, &fin2, NULL);
    cr_expect_str_eq(looked, plain);
    cr_expect_eq(fin, fin2);
    bool prefix, complete;
    cr_assert_eq(heed_grammar_match(g, plain, strlen(plain), &prefix, &complete), HEED_OK);
    cr_expect(complete, "'%s'", plain);
    p.lookup = 0;
    p.max_tokens = 2;
    int n;
    char *cut = generate(&f, &p, &fin, &n);
    cr_expect_eq(fin, HEED_GEN_LENGTH);
    cr_expect_eq(n, 2);
    cr_expect_eq(strncmp(cut, plain, strlen(cut)), 0, "'%s' begins '%s'", plain, cut);
    free(plain);
    free(looked);
    free(cut);
    heed_grammar_free(g);
    teardown(&f);
}

/* A grammar of one text ends the generation once it is written, even
 * with ignore_eos, and one of the empty text at once; a grammar made for
 * another vocabulary is refused. */
Test(generator, grammar_ends_and_refusals)
{
    fixture f;
    setup(&f, "And the", 128);
    heed_grammar *g, *empty, *other;
    cr_assert_eq(heed_grammar_new(f.v, "root ::= \"yes, my lord\"", NULL, &g), HEED_OK);
    cr_assert_eq(heed_grammar_new(f.v, "root ::= \"\"", NULL, &empty), HEED_OK);
    cr_assert_eq(heed_grammar_new(NULL, "root ::= \"x\"", NULL, &other), HEED_OK);
    heed_generate_params p = heed_generate_default_params();
    p.grammar = g;
    p.ignore_eos = true;
    heed_gen_finish fin;
    int n;
    char *out = generate(&f, &p, &fin, &n);
    cr_expect_str_eq(out, "yes, my lord");
    cr_expect_eq(fin, HEED_GEN_EOG);
    free(out);
    p.grammar = empty;
    out = generate(&f, &p, &fin, &n);
    cr_expect_str_eq(out, "");
    cr_expect_eq(fin, HEED_GEN_EOG);
    cr_expect_eq(n, 0);
    free(out);
    p.grammar = other;
    heed_generator *gen = NULL;
    cr_expect_eq(heed_generator_new(f.c, f.v, f.ids, (int)f.n, &p, &gen), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "another vocabulary"), "%s", heed_last_error());
    heed_grammar_free(g);
    heed_grammar_free(empty);
    heed_grammar_free(other);
    teardown(&f);
}
