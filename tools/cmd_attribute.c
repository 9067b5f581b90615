/*
 * cmd_attribute.c — `heed attribute MODEL (-p TEXT | --ids 1,2,3) [--token T]
 * [--foil T] [-k 20] [--json F] [--svg F]`: direct logit attribution. The
 * logit of the next token (the model's top one, or --token; minus --foil's)
 * split into what the embedding, each head, each MLP, the steering and the
 * biases wrote into the stream (heed_context_attribute), ranked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart_svg.h"
#include "cli.h"
#include "cli_error.h"

/* One part of the attribution: a label and its share of the logit. */
typedef struct part {
    char label[24];
    double value;
} part;

static int by_size(const void *a, const void *b)
{
    const double x = fabs(((const part *)a)->value), y = fabs(((const part *)b)->value);
    return (x < y) - (x > y);
}

/* Every part, largest first: heads, MLPs, the embedding, biases, steering. */
static part *rank_parts(const heed_attribution *a, int L, int H, int *n)
{
    part *p = malloc(sizeof *p * (size_t)(L * H + L + 3));
    if (!p)
        return NULL;
    int k = 0;
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < H; h++) {
            snprintf(p[k].label, sizeof p[k].label, "L%d.H%d", l, h);
            p[k++].value = a->heads[l * H + h];
        }
        snprintf(p[k].label, sizeof p[k].label, "L%d.mlp", l);
        p[k++].value = a->mlp[l];
    }
    const struct { const char *name; double v; } rest[] = {
        {"embedding", a->embed}, {"biases", a->bias}, {"steering", a->steer}};
    for (int i = 0; i < 3; i++) {
        snprintf(p[k].label, sizeof p[k].label, "%s", rest[i].name);
        p[k++].value = rest[i].v;
    }
    qsort(p, (size_t)k, sizeof *p, by_size);
    *n = k;
    return p;
}

static heed_status write_json(const char *path, const heed_attribution *a, const heed_model *m,
                              const heed_vocab *v, const int32_t *ids, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot open for writing", path);
    const int L = heed_model_n_layer(m), H = heed_model_n_head(m);
    fputc('{', f);
    heed_capture_doc d = {.m = m, .v = v, .ids = ids, .n = n, .n_prompt = n};
    heed_status st = heed_capture_json_tokens(f, &d);
    fputs(",\"target\":", f);
    cli_json_token(f, v, a->token);
    fputs(",\"foil\":", f);
    if (a->foil >= 0)
        cli_json_token(f, v, a->foil);
    else
        fputs("null", f);
    fprintf(f, ",\"position\":%d,\"logit\":%.7g,\"model_logit\":%.7g,\"total\":%.7g,"
            "\"final_norm_scale\":%.7g,\"embed\":%.7g,\"bias\":%.7g,\"steer\":%.7g,\"mlp\":[",
            a->position, a->logit, a->model_logit, a->total, a->scale, a->embed, a->bias,
            a->steer);
    for (int l = 0; l < L; l++)
        fprintf(f, "%s%.7g", l ? "," : "", a->mlp[l]);
    fputs("],\"heads\":[", f);
    for (int l = 0; l < L; l++) {
        fputs(l ? ",[" : "[", f);
        for (int h = 0; h < H; h++)
            fprintf(f, "%s%.7g", h ? "," : "", a->heads[l * H + h]);
        fputc(']', f);
    }
    fputs("]}\n", f);
    const heed_status closed = cli_close(f, path);
    return st ? st : closed;
}

static heed_status write_svg(const char *path, const part *p, int k, const heed_vocab *v,
                             const heed_attribution *a)
{
    const char **labels = malloc(sizeof *labels * (size_t)k);
    double *values = malloc(sizeof *values * (size_t)k);
    if (!labels || !values) {
        free(labels);
        free(values);
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < k; i++) {
        labels[i] = p[i].label;
        values[i] = p[i].value;
    }
    char title[320], target[128], foil[128];
    cli_piece(v, a->token, target, sizeof target);
    if (a->foil >= 0)
        cli_piece(v, a->foil, foil, sizeof foil);
    snprintf(title, sizeof title, "direct logit attribution: %s%s%s (logit %.3f)", target,
             a->foil >= 0 ? " minus " : "", a->foil >= 0 ? foil : "", a->logit);
    FILE *f = fopen(path, "w");
    heed_status st = f ? HEED_OK : cli_set_error(HEED_ERR_IO, "%s: cannot open for writing", path);
    if (f) {
        chart_svg_bars(f, title, labels, values, k);
        st = cli_close(f, path);
    }
    free(labels);
    free(values);
    return st;
}

int cmd_attribute(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *ids_text = NULL, *token_text = NULL;
    const char *foil_text = NULL, *json = NULL, *svg = NULL;
    long k = 20, threads = 0;
    const cli_string_opt strings[] = {{"-p", &prompt},       {"--ids", &ids_text},
                                      {"--token", &token_text}, {"--foil", &foil_text},
                                      {"--json", &json},        {"--svg", &svg}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_take_string(strings, sizeof strings / sizeof *strings, a, v))
            i++;
        else if (!strcmp(a, "-k") || !strcmp(a, "-t")) {
            if (!cli_parse_int("attribute", a, v, a[1] == 'k' ? 1 : 0, 100000,
                               a[1] == 'k' ? &k : &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("attribute", USAGE_ATTRIBUTE, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !prompt == !ids_text)
        return cli_usage_error("attribute", USAGE_ATTRIBUTE,
                               "needs MODEL and either -p TEXT or --ids");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    int32_t *ids = NULL, token = -1, foil = -1;
    int n = 0;
    float *logits = NULL;
    part *parts = NULL;
    heed_attribution a = {0};
    heed_status st = cli_load(model, true, &m, &v);
    if (!st)
        st = cli_prompt("attribute", v, prompt, ids_text, false, &ids, &n);
    if (!st && token_text)
        st = cli_token(v, "--token", token_text, &token);
    if (!st && foil_text)
        st = cli_token(v, "--foil", foil_text, &foil);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    cp.n_threads = (int)threads;
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st && token < 0) { /* the model's own next token */
        if (!(logits = malloc(sizeof *logits * (size_t)heed_model_n_vocab(m))))
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
        if (!st && !(st = heed_context_eval(c, ids, n, logits, false)))
            heed_top_k(logits, heed_model_n_vocab(m), 1, &token);
    }
    if (!st)
        st = heed_context_attribute(c, ids, n, token, foil, &a);
    const int L = m ? heed_model_n_layer(m) : 0, H = m ? heed_model_n_head(m) : 0;
    int n_parts = 0;
    if (!st && !(parts = rank_parts(&a, L, H, &n_parts)))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (k > n_parts)
        k = n_parts;
    if (!st && json)
        st = write_json(json, &a, m, v, ids, n);
    if (!st && svg)
        st = write_svg(svg, parts, (int)k, v, &a);
    int rc = EXIT_OK;
    if (st) {
        rc = cli_fail("attribute", st);
    } else {
        char piece[128], other[128];
        printf("%s%s%s after %d tokens: logit %.4f (the model's %.4f); the parts sum to %.4f "
               "(final norm's scale frozen at %.4g)\n", cli_piece(v, token, piece, sizeof piece),
               foil >= 0 ? " minus " : "", foil >= 0 ? cli_piece(v, foil, other, sizeof other)
                                                   : "", n, a.logit, a.model_logit, a.total,
               a.scale);
        double heads = 0, mlps = 0;
        for (int i = 0; i < L * H; i++)
            heads += a.heads[i];
        for (int l = 0; l < L; l++)
            mlps += a.mlp[l];
        printf("by kind: heads %+.4f  MLPs %+.4f  embedding %+.4f  biases %+.4f  steering "
               "%+.4f\n", heads, mlps, a.embed, a.bias, a.steer);
        double top = 0;
        for (int i = 0; i < k; i++)
            top = fmax(top, fabs(parts[i].value));
        printf("the %ld largest parts:\n", k);
        for (int i = 0; i < k; i++) {
            printf("  %3d  %-10s %+9.4f  ", i + 1, parts[i].label, parts[i].value);
            cli_bar(top > 0 ? fabs(parts[i].value) / top : 0);
            putchar('\n');
        }
    }
    heed_attribution_free(&a);
    free(parts);
    free(logits);
    free(ids);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
