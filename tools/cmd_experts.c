/*
 * cmd_experts.c — `heed experts MODEL (-p TEXT | --ids 1,2,3) [--layer L]
 * [--json F]`: for a mixture-of-experts model, which experts each token
 * was routed to in every layer, with the weights the layer summed their
 * outputs with, and each layer's load (tokens per expert).
 *
 * JSON: {"architecture", "n_expert", "n_expert_used", "text", "tokens":
 * [{id, piece, start, end}], "layers": [{"layer", "experts": [[...] per
 * token], "weights": [[...] per token], "load": [tokens per expert]}]}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

typedef struct experts_run {
    const heed_model *m;
    const heed_vocab *v;
    const heed_capture *cap;
    const int32_t *ids;
    int n, n_expert, n_used;
} experts_run;

/* Tokens routed to each expert of layer l. */
static void layer_load(const experts_run *r, int l, int *load)
{
    memset(load, 0, sizeof *load * (size_t)r->n_expert);
    for (int t = 0; t < r->n; t++) {
        const int32_t *e;
        const float *w;
        const int k = heed_capture_experts(r->cap, l, t, &e, &w);
        for (int j = 0; j < k; j++)
            load[e[j]]++;
    }
}

static void print_layer(const experts_run *r, int l, int *load)
{
    char piece[64];
    printf("layer %d\n  %4s  %-20s experts (weight)\n", l, "pos", "token");
    for (int t = 0; t < r->n; t++) {
        const int32_t *e;
        const float *w;
        const int k = heed_capture_experts(r->cap, l, t, &e, &w);
        printf("  %4d  %-20s", t, cli_piece(r->v, r->ids[t], piece, sizeof piece));
        for (int j = 0; j < k; j++)
            printf(" %3d %.3f", e[j], (double)w[j]);
        putchar('\n');
    }
    layer_load(r, l, load);
    printf("  load (tokens per expert):");
    for (int e = 0; e < r->n_expert; e++)
        if (load[e])
            printf(" %d:%d", e, load[e]);
    printf("\n");
}

static heed_status write_json(const experts_run *r, const char *path, int *load)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot create", path);
    const heed_capture_doc d = {.m = r->m, .v = r->v, .cap = r->cap, .ids = r->ids, .n = r->n,
                          .n_prompt = r->n};
    fprintf(f, "{\"architecture\":\"%s\",\"n_expert\":%d,\"n_expert_used\":%d,",
            heed_model_arch(r->m), r->n_expert, r->n_used);
    heed_status st = heed_capture_json_tokens(f, &d);
    fputs(",\"layers\":[", f);
    for (int l = 0; !st && l < heed_model_n_layer(r->m); l++) {
        fprintf(f, "%s{\"layer\":%d,", l ? "," : "", l);
        heed_capture_json_routing(f, r->cap, l, r->n);
        layer_load(r, l, load);
        fputs(",\"load\":[", f);
        for (int e = 0; e < r->n_expert; e++)
            fprintf(f, e ? ",%d" : "%d", load[e]);
        fputs("]}", f);
    }
    fputs("]}\n", f);
    const bool bad = ferror(f) != 0;
    if (fclose(f) || bad)
        st = st ? st : cli_set_error(HEED_ERR_IO, "%s: cannot write", path);
    return st;
}

int cmd_experts(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *ids_text = NULL, *json = NULL;
    long layer = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && v)
            prompt = argv[++i];
        else if (!strcmp(a, "--ids") && v)
            ids_text = argv[++i];
        else if (!strcmp(a, "--json") && v)
            json = argv[++i];
        else if (!strcmp(a, "--layer")) {
            if (!cli_parse_int("experts", "--layer", v, 0, 1 << 16, &layer))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("experts", USAGE_EXPERTS, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !prompt == !ids_text)
        return cli_usage_error("experts", USAGE_EXPERTS,
                               "needs MODEL and either -p TEXT or --ids");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    heed_capture *cap = NULL;
    int32_t *ids = NULL;
    int *load = NULL;
    int n = 0;
    heed_status st = cli_load(model, true, &m, &v);
    if (!st && !heed_model_n_expert(m))
        st = cli_set_error(HEED_ERR_ARG, "%s: a dense model (%s, no experts)", model,
                           heed_model_arch(m));
    if (!st && layer >= heed_model_n_layer(m))
        st = cli_set_error(HEED_ERR_ARG, "--layer %ld: the model has %d layers", layer,
                           heed_model_n_layer(m));
    if (!st)
        st = cli_prompt("experts", v, prompt, ids_text, false, &ids, &n);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    heed_capture_params pp = heed_capture_default_params(n);
    const int none = 0;
    pp.layers = &none; /* no attention rows: the routing alone */
    pp.n_layers = 0;
    if (!st)
        st = heed_capture_new(m, &pp, &cap);
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st) {
        heed_context_set_capture(c, cap);
        st = heed_context_eval(c, ids, n, NULL, false);
    }
    if (!st && !(load = malloc(sizeof *load * (size_t)heed_model_n_expert(m))))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    int rc = EXIT_OK;
    if (st) {
        rc = cli_fail("experts", st);
    } else {
        const experts_run r = {m, v, cap, ids, n, heed_model_n_expert(m),
                               heed_model_n_expert_used(m)};
        printf("%s: %d experts per layer, %d routed per token (weights as the layer sums "
               "their outputs)\n", heed_model_arch(m), r.n_expert, r.n_used);
        for (int l = 0; l < heed_model_n_layer(m); l++)
            if (layer < 0 || l == layer)
                print_layer(&r, l, load);
        if (json && (st = write_json(&r, json, load)))
            rc = cli_fail("experts", st);
    }
    free(load);
    free(ids);
    heed_context_free(c);
    heed_capture_free(cap);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
