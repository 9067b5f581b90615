/*
 * cmd_attend.c — `heed attend MODEL (-p TEXT | --ids 1,2,3) ...`: what the
 * model attends to. The prompt runs once with capture on (then, with -n,
 * that many greedy tokens, captured too); for the chosen token (default
 * the last) each layer's K most attended tokens are listed with weights
 * and a bar — the mean over the heads, or one --head's. The capture can
 * also go out whole: --json, --html (the interactive page), --svg
 * (heatmaps), --npy (the dense rows), --residual (the residual stream).
 *
 * An encoder-decoder (T5) encodes the prompt (the source), then its
 * decoder runs from its start token and -n greedy tokens (the targets);
 * all three attentions are captured, and the view is the decoder's, the
 * cross-attention's (--cross: a target token over the source tokens) or
 * the encoder's (--encoder: a source token over the source).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attend_page.h"
#include "attend_svg.h"
#include "cli.h"
#include "cli_error.h"


typedef struct attend_options {
    const char *model, *prompt, *ids, *word, *rows;
    const char *json, *html, *svg, *npy, *residual;
    long token, layer, head, top_k, keep_top, generate, max_mib, threads;
    bool cross, encoder; /* T5's view: cross-attention, or the encoder's */
} attend_options;

/* An encoder-decoder's source and the captures of its other attentions. */
typedef struct source {
    int32_t *ids;
    int n;
    heed_capture *enc, *cross;
} source;

/* The first token whose text, without leading spaces (or "▁"), is word
 * (case-insensitive); -1 if none. */
static int find_word(const heed_vocab *v, const int32_t *ids, int n, const char *word)
{
    for (int i = 0; v && i < n; i++) {
        size_t len;
        const char *p = heed_token_to_piece(v, ids[i], false, &len);
        while (p && len && (*p == ' ' || (len >= 3 && !memcmp(p, "\xe2\x96\x81", 3)))) {
            size_t skip = *p == ' ' ? 1 : 3;
            p += skip;
            len -= skip;
        }
        if (p && len == strlen(word) && !strncasecmp(p, word, len))
            return i;
    }
    return -1;
}

/* Prints the top_k keys of one row of n weights (those above 0). */
static void print_row(const heed_vocab *v, const int32_t *ids, const float *w, int n, int top_k)
{
    int32_t *best = malloc(sizeof *best * (size_t)top_k);
    if (!best)
        return;
    const int count = heed_top_k(w, n, top_k, best);
    for (int i = 0; i < count && w[best[i]] > 0.0f; i++) {
        char text[96];
        printf("    %-24s #%-4d %6.3f ", cli_piece(v, ids[best[i]], text, sizeof text), best[i],
               (double)w[best[i]]);
        cli_bar(w[best[i]]);
        putchar('\n');
    }
    free(best);
}

/* The terminal view: for each kept layer, the mean over the kept heads of
 * the row of token (one of queries[0..n_q)) in cap, over the keys. */
static void print_view(const heed_capture_doc *d, const heed_capture *cap,
                       const int32_t *queries, int n_q, const int32_t *keys, int token,
                       long head, int top_k)
{
    static const char *const reads[] = {"attending to", "encoder, attending to",
                                        "reading the source"};
    const int n = heed_capture_n_keys(cap);
    float *row = malloc(sizeof *row * (size_t)n), *mean = malloc(sizeof *mean * (size_t)n);
    char text[96];
    printf("token %d %s of %d, %s:\n", token, cli_piece(d->v, queries[token], text, sizeof text),
           n_q, reads[heed_capture_kind(cap)]);
    for (int l = 0; row && mean && l < heed_model_n_layer(d->m); l++) {
        int heads = 0;
        memset(mean, 0, sizeof *mean * (size_t)n);
        for (int h = 0; h < heed_model_n_head(d->m); h++) {
            if (!heed_capture_dense_row(cap, l, h, token, row))
                continue;
            for (int k = 0; k < n; k++)
                mean[k] += row[k];
            heads++;
        }
        if (!heads)
            continue;
        for (int k = 0; k < n; k++)
            mean[k] /= (float)heads;
        if (head >= 0)
            printf("  layer %d head %ld\n", l, head);
        else
            printf("  layer %d (mean of %d heads)\n", l, heads);
        print_row(d->v, keys, mean, n, top_k);
    }
    free(row);
    free(mean);
}

/* Parses --rows A:B (a Python slice of query positions; either end may be
 * left out). */
static bool parse_rows(const char *text, int n, int *begin, int *end)
{
    const char *colon = strchr(text, ':');
    char *stop;
    long a = 0, b = n;
    if (!colon)
        return false;
    if (colon > text && ((a = strtol(text, &stop, 10)), stop != colon))
        return false;
    if (colon[1] && ((b = strtol(colon + 1, &stop, 10)), *stop))
        return false;
    if (a < 0 || b > n || a >= b)
        return false;
    *begin = (int)a;
    *end = (int)b;
    return true;
}

static int parse(int argc, char **argv, attend_options *o)
{
    *o = (attend_options){.token = -1, .layer = -1, .head = -1, .top_k = 5, .max_mib = 1024};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *num = !strcmp(a, "--token")      ? &o->token
                    : !strcmp(a, "--layer")    ? &o->layer
                    : !strcmp(a, "--head")     ? &o->head
                    : !strcmp(a, "-k")         ? &o->top_k
                    : !strcmp(a, "--top-keys") ? &o->keep_top
                    : !strcmp(a, "-n")         ? &o->generate
                    : !strcmp(a, "--max-mib")  ? &o->max_mib
                    : !strcmp(a, "-t")         ? &o->threads
                                               : NULL;
        const char **str = !strcmp(a, "-p")           ? &o->prompt
                           : !strcmp(a, "--ids")      ? &o->ids
                           : !strcmp(a, "--word")     ? &o->word
                           : !strcmp(a, "--rows")     ? &o->rows
                           : !strcmp(a, "--json")     ? &o->json
                           : !strcmp(a, "--html")     ? &o->html
                           : !strcmp(a, "--svg")      ? &o->svg
                           : !strcmp(a, "--npy")      ? &o->npy
                           : !strcmp(a, "--residual") ? &o->residual
                                                      : NULL;
        bool *flag = !strcmp(a, "--cross") ? &o->cross : !strcmp(a, "--encoder") ? &o->encoder
                                                                               : NULL;
        if (flag) {
            *flag = true;
        } else if (num) {
            const long lo = num == &o->top_k || num == &o->max_mib ? 1 : 0;
            if (!cli_parse_int("attend", a, v, lo, num == &o->threads ? 512 : 1L << 30, num))
                return EXIT_BAD_INPUT;
            i++;
        } else if (str && v) {
            *str = argv[++i];
        } else if (a[0] == '-' || o->model) {
            return cli_usage_error("attend", USAGE_ATTEND, "unknown or incomplete option");
        } else {
            o->model = a;
        }
    }
    if (!o->model || !o->prompt == !o->ids)
        return cli_usage_error("attend", USAGE_ATTEND, "needs MODEL and either -p TEXT or --ids");
    if (o->word && o->token >= 0)
        return cli_usage_error("attend", USAGE_ATTEND, "--token and --word exclude each other");
    if (o->npy && o->keep_top)
        return cli_usage_error("attend", USAGE_ATTEND, "--npy holds whole rows: it excludes "
                               "--top-keys");
    if (o->cross && o->encoder)
        return cli_usage_error("attend", USAGE_ATTEND, "--cross and --encoder exclude each "
                               "other");
    return -1;
}

/* Runs the prompt (then generate greedy tokens) with cap attached; ids has
 * room for the generated ones. An encoder-decoder encodes src first (its
 * captures attached too), and ids[0..n_prompt) is its start token. */
static heed_status run(const heed_model *m, heed_capture *cap, const source *src,
                       float *residual, const attend_options *o, int32_t *ids, int n_prompt,
                       int row_begin, int row_end)
{
    const int n = n_prompt + (int)o->generate;
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n > src->n ? n : src->n;
    cp.n_threads = (int)o->threads;
    heed_context *c = NULL;
    heed_sampler *greedy = NULL;
    heed_sampler_params sp = heed_sampler_default_params();
    sp.temp = 0; /* argmax, ties to the lowest id, as heed run --temp 0 */
    const int32_t V = heed_model_n_vocab(m);
    float *logits = malloc(sizeof *logits * (size_t)(heed_model_is_encoder(m) ? heed_model_n_embd(m) : V));
    heed_status st = logits ? heed_context_new(m, &cp, &c)
                            : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (!st && o->generate)
        st = heed_sampler_new(&sp, V, &greedy);
    if (st) {
        heed_context_free(c);
        free(logits);
        return st;
    }
    heed_context_set_capture(c, cap);
    if (src->ids) { /* NULL would detach cap too */
        heed_context_set_capture(c, src->enc);
        heed_context_set_capture(c, src->cross);
    }
    heed_context_set_residual(c, residual, row_begin, row_end);
    if (src->ids)
        st = heed_context_encode(c, src->ids, src->n);
    if (st) {
    } else if (heed_model_is_encoder(m)) {
        st = heed_context_embed(c, ids, n, HEED_POOLING_CLS, logits);
    } else {
        st = heed_context_eval(c, ids, n_prompt, logits, false);
        for (int t = n_prompt; !st && t < n; t++) { /* greedy decode steps */
            ids[t] = heed_sampler_sample(greedy, logits);
            st = heed_context_eval(c, ids + t, 1, logits, false);
        }
    }
    heed_sampler_free(greedy);
    heed_context_free(c);
    free(logits);
    return st;
}

/* Writes the JSON (or, for --html, the page holding it), and the SVG of
 * view. */
static heed_status write_outputs(const attend_options *o, const heed_capture_doc *d,
                                 const attend_view *view)
{
    heed_status st = HEED_OK;
    if (o->json) {
        FILE *f = fopen(o->json, "wb");
        st = f ? heed_capture_write_json(f, d) : cli_set_error(HEED_ERR_IO, "%s: cannot create", o->json);
        if (f && fclose(f) != 0 && !st)
            st = cli_set_error(HEED_ERR_IO, "%s: cannot write", o->json);
    }
    if (!st && o->html) {
        char *json = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&json, &len);
        st = f ? heed_capture_write_json(f, d) : cli_set_error(HEED_ERR_NOMEM, "out of memory");
        if (f && fclose(f) != 0 && !st)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory for the page");
        if (!st)
            st = attend_page_write(o->html, json, len);
        free(json);
    }
    if (!st && o->svg)
        st = attend_svg_write(o->svg, view, (int)o->layer, (int)o->head);
    return st;
}

int cmd_attend(int argc, char **argv)
{
    attend_options o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_capture *cap = NULL;
    source src = {0};
    int32_t *prompt_ids = NULL, *ids = NULL;
    float *residual = NULL;
    int n_prompt = 0, n = 0, row_begin = 0, row_end = 0;
    /* --ids alone can do without a vocabulary (tokens then show as ids) */
    heed_status st = cli_load(o.model, o.prompt || o.word, &m, &v);
    if (!st && !v && cli_model_vocab(m, o.model, &v) != HEED_OK)
        v = NULL;
    if (!st)
        st = cli_prompt("attend", v, o.prompt, o.ids, false, &prompt_ids, &n_prompt);
    if (!st && o.generate && heed_model_is_encoder(m))
        st = cli_set_error(HEED_ERR_ARG, "-n: '%s' is an encoder, it generates nothing",
                           heed_model_arch(m));
    if (!st && o.generate > (1 << 20))
        st = cli_set_error(HEED_ERR_ARG, "-n %ld: too many tokens", o.generate);
    const int32_t start = st ? -1 : heed_model_decoder_start(m);
    if (!st && (o.cross || o.encoder) && start < 0)
        st = cli_set_error(HEED_ERR_ARG, "%s: '%s' is not an encoder-decoder",
                           o.cross ? "--cross" : "--encoder", heed_model_arch(m));
    if (!st && start >= 0 && o.residual)
        st = cli_set_error(HEED_ERR_ARG, "--residual: not for an encoder-decoder yet");
    if (!st && start >= 0) { /* the prompt is the source; the decoder starts alone */
        src.ids = prompt_ids;
        src.n = n_prompt;
        n_prompt = 1;
    }
    if (!st) {
        n = n_prompt + (int)o.generate;
        row_end = n;
        if (!(ids = malloc(sizeof *ids * (size_t)n)))
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
        else if (src.ids)
            ids[0] = start;
        else
            memcpy(ids, prompt_ids, sizeof *ids * (size_t)n_prompt);
    }
    if (!st && o.rows && !parse_rows(o.rows, n, &row_begin, &row_end))
        st = cli_set_error(HEED_ERR_ARG, "--rows '%s': want A:B with 0 <= A < B <= %d (the "
                           "tokens, generated ones included)", o.rows, n);
    const int n_layer = st ? 0 : heed_model_n_layer(m), n_head = st ? 0 : heed_model_n_head(m);
    if (!st && (o.layer >= n_layer || o.head >= n_head))
        st = cli_set_error(HEED_ERR_ARG, "the model has %d layers of %d heads", n_layer, n_head);
    const int layer = (int)o.layer, head = (int)o.head;
    heed_capture_params p = heed_capture_default_params(n);
    p.layers = o.layer >= 0 ? &layer : NULL;
    p.n_layers = 1;
    p.heads = o.head >= 0 ? &head : NULL;
    p.n_heads = 1;
    p.row_begin = row_begin;
    p.row_end = row_end;
    p.top_k = (int)o.keep_top;
    p.npy_path = o.cross || o.encoder ? NULL : o.npy; /* --npy: the view's rows */
    p.max_bytes = (int64_t)o.max_mib << 20;
    if (!st)
        st = heed_capture_new(m, &p, &cap);
    if (!st && src.ids) { /* the encoder's every row; cross rows as the decoder's */
        heed_capture_params e = p;
        e.kind = HEED_ATTN_ENCODER;
        e.n_tokens = src.n;
        e.row_begin = e.row_end = 0;
        e.npy_path = o.encoder ? o.npy : NULL;
        st = heed_capture_new(m, &e, &src.enc);
        p.kind = HEED_ATTN_CROSS;
        p.n_keys = src.n;
        p.npy_path = o.cross ? o.npy : NULL;
        if (!st)
            st = heed_capture_new(m, &p, &src.cross);
    }
    if (!st && o.residual) {
        const int64_t floats = (int64_t)(row_end - row_begin) * (n_layer + 1) *
                               heed_model_n_embd(m);
        if (floats * 4 > p.max_bytes)
            st = cli_set_error(HEED_ERR_ARG, "--residual: %d positions x %d layers need %.1f MiB, "
                               "above --max-mib %ld (choose fewer --rows)", row_end - row_begin,
                               n_layer + 1, (double)floats * 4 / 1048576.0, o.max_mib);
        else if (!(residual = malloc(sizeof *residual * (size_t)floats)))
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory for the residual stream");
    }
    if (!st)
        st = run(m, cap, &src, residual, &o, ids, n_prompt, row_begin, row_end);
    /* the view's queries: the targets (or a decoder's tokens), or the source */
    const int32_t *queries = o.encoder ? src.ids : ids;
    const int n_q = o.encoder ? src.n : n;
    int token = (int)o.token;
    if (!st && o.word && (token = find_word(v, queries, n_q, o.word)) < 0)
        st = cli_set_error(HEED_ERR_ARG, "no token of the %s is the word '%s'",
                           o.encoder ? "source" : "prompt", o.word);
    if (!st && token < 0)
        token = o.encoder ? n_q - 1 : row_end - 1; /* the last token kept */
    if (!st && token >= n_q)
        st = cli_set_error(HEED_ERR_ARG, "--token %d: there are %d %s tokens", token, n_q,
                           o.encoder ? "source" : src.ids ? "target" : "");
    if (!st && !o.encoder && (token < row_begin || token >= row_end))
        st = cli_set_error(HEED_ERR_ARG, "token %d is outside --rows %d:%d", token, row_begin,
                           row_end);
    const heed_capture_doc doc = {m, v, cap, ids, n, n_prompt, row_begin, row_end,
                                  (int)o.keep_top, src.enc, src.cross, src.ids, src.n};
    /* the view: the decoder's (or a model's own), the cross-attention's or
     * the encoder's */
    attend_view view = {m, v, cap, ids, ids, row_begin, row_end, n, !heed_model_is_encoder(m)};
    if (o.cross)
        view = (attend_view){m, v, src.cross, ids, src.ids, row_begin, row_end, src.n, false};
    else if (o.encoder)
        view = (attend_view){m, v, src.enc, src.ids, src.ids, 0, src.n, src.n, false};
    if (!st)
        st = write_outputs(&o, &doc, &view);
    if (!st && residual) {
        const int64_t shape[3] = {row_end - row_begin, n_layer + 1, heed_model_n_embd(m)};
        st = heed_npy_write(o.residual, residual, shape, 3);
    }
    rc = st ? cli_fail("attend", st) : EXIT_OK;
    if (!st && o.encoder)
        print_view(&doc, src.enc, src.ids, src.n, src.ids, token, o.head, (int)o.top_k);
    else if (!st && o.cross)
        print_view(&doc, src.cross, ids, n, src.ids, token, o.head, (int)o.top_k);
    else if (!st)
        print_view(&doc, cap, ids, n, ids, token, o.head, (int)o.top_k);
    free(residual);
    free(prompt_ids);
    free(ids);
    heed_capture_free(cap);
    heed_capture_free(src.enc);
    heed_capture_free(src.cross);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
