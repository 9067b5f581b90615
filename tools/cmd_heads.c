/*
 * cmd_heads.c — `heed heads MODEL [-p TEXT] [--sort KEY]`: every attention
 * head's behaviour, from captured weights, one row per head:
 *
 *   entropy    mean over queries of -Σ w ln w (nats): low = focused
 *   prev       mean weight on the previous token (previous-token heads)
 *   sink       mean weight on the first token (attention sinks)
 *   self       mean weight on the query's own position
 *   induction  on a random token sequence repeated twice, the mean weight a
 *              token in the second copy gives the token that followed its
 *              earlier occurrence (induction heads copy that token)
 *
 * The first four are measured on TEXT (by default the seed sentence), over
 * queries 1..n-1 (heed_capture_head_stats); rows are ranked by --sort
 * (default induction). An encoder-decoder's three attentions are measured
 * by heads_t5.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

enum { REPEAT = 32 };  /* length of the random sequence that is repeated */

enum { ENTROPY, PREV, SINK, SELF, INDUCTION, N_SCORES };
static const char *const score_names[N_SCORES] = {"entropy", "prev", "sink", "self",
                                                  "induction"};

typedef struct head_row {
    int layer, head;
    double score[N_SCORES];
} head_row;

static int sort_key;

heed_status heads_t5(const heed_model *m, const int32_t *src, int n_src);

static int by_score(const void *a, const void *b)
{
    const double x = ((const head_row *)a)->score[sort_key];
    const double y = ((const head_row *)b)->score[sort_key];
    /* entropy ranks the most focused first, the others the strongest */
    return sort_key == ENTROPY ? (x > y) - (x < y) : (x < y) - (x > y);
}

/* The random sequence (after BOS when the model has one), twice. */
static int induction_ids(const heed_model *m, int32_t *ids)
{
    const int32_t bos = heed_model_bos(m), V = heed_model_n_vocab(m);
    int n = 0;
    if (bos >= 0)
        ids[n++] = bos;
    uint64_t state = 0x9e3779b97f4a7c15u; /* fixed: the same sequence every run */
    for (int i = 0; i < REPEAT; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        /* the middle of the vocabulary: no control or byte tokens */
        ids[n + i] = V / 10 + (int32_t)((state >> 33) % (uint64_t)(V / 2 - V / 10));
    }
    memcpy(ids + n + REPEAT, ids + n, sizeof *ids * REPEAT);
    return n + 2 * REPEAT;
}

int cmd_heads(int argc, char **argv)
{
    const char *model = NULL, *id_list = NULL, *prompt = "The animal didn't cross the street because it was "
                                        "tired.";
    sort_key = INDUCTION;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-p") && i + 1 < argc) {
            prompt = argv[++i];
        } else if (!strcmp(a, "--ids") && i + 1 < argc) {
            id_list = argv[++i];
        } else if (!strcmp(a, "--sort") && i + 1 < argc) {
            for (sort_key = 0; sort_key < N_SCORES; sort_key++)
                if (!strcmp(argv[i + 1], score_names[sort_key]))
                    break;
            if (sort_key == N_SCORES)
                return cli_usage_error("heads", USAGE_HEADS, "--sort wants entropy, prev, "
                                       "sink, self or induction");
            i++;
        } else if (a[0] == '-' || model) {
            return cli_usage_error("heads", USAGE_HEADS, "unknown or incomplete option");
        } else {
            model = a;
        }
    }
    if (!model)
        return cli_usage_error("heads", USAGE_HEADS, "needs MODEL");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    heed_capture *text_cap = NULL, *ind_cap = NULL;
    int32_t *ids = NULL, rep[1 + 2 * REPEAT];
    int n = 0;
    head_row *rows = NULL;
    int rc = EXIT_OK;
    heed_status st = cli_load(model, !id_list, &m, &v);
    if (!st)
        st = cli_prompt("heads", v, id_list ? NULL : prompt, id_list, false, &ids, &n);
    if (!st && n < 2)
        st = cli_set_error(HEED_ERR_ARG, "the text needs two tokens or more");
    if (!st && heed_model_decoder_start(m) >= 0) {
        st = heads_t5(m, ids, n);
        rc = st ? cli_fail("heads", st) : EXIT_OK;
        goto done;
    }
    const int n_rep = st ? 0 : induction_ids(m, rep);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n > n_rep ? n : n_rep;
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st)
        st = heed_context_capture(c, ids, n, (int64_t)1 << 30, &text_cap);
    if (!st && !heed_model_is_encoder(m))
        st = heed_context_capture(c, rep, n_rep, (int64_t)1 << 30, &ind_cap);
    const int L = st ? 0 : heed_model_n_layer(m), H = st ? 0 : heed_model_n_head(m);
    if (!st && !(rows = calloc((size_t)L * (size_t)H, sizeof *rows)))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (st) {
        rc = cli_fail("heads", st);
        goto done;
    }
    for (int l = 0; !st && l < L; l++) {
        for (int h = 0; !st && h < H; h++) {
            head_row *r = &rows[l * H + h];
            r->layer = l;
            r->head = h;
            heed_head_stats text, ind = {0};
            st = heed_capture_head_stats(text_cap, l, h, ids, n, &text);
            if (!st && ind_cap)
                st = heed_capture_head_stats(ind_cap, l, h, rep, n_rep, &ind);
            r->score[ENTROPY] = text.entropy;
            r->score[PREV] = text.prev_token;
            r->score[SINK] = text.sink;
            r->score[SELF] = text.self;
            r->score[INDUCTION] = ind.induction;
        }
    }
    if (st) {
        rc = cli_fail("heads", st);
        goto done;
    }
    qsort(rows, (size_t)(L * H), sizeof *rows, by_score);
    printf("%d layers x %d heads, ranked by %s (text: %d tokens; induction: %d random "
           "tokens repeated)\n", L, H, score_names[sort_key], n, REPEAT);
    printf("layer head  entropy    prev    sink    self  induction\n");
    for (int i = 0; i < L * H; i++) {
        printf("%5d %4d  %7.3f  %6.3f  %6.3f  %6.3f  ", rows[i].layer, rows[i].head,
               rows[i].score[ENTROPY], rows[i].score[PREV], rows[i].score[SINK],
               rows[i].score[SELF]);
        if (ind_cap) /* an encoder sees the later copy too: no induction test */
            printf("%9.3f\n", rows[i].score[INDUCTION]);
        else
            printf("%9s\n", "-");
    }
done:
    free(rows);
    free(ids);
    heed_capture_free(text_cap);
    heed_capture_free(ind_cap);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
