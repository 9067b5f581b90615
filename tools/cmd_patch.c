/*
 * cmd_patch.c — `heed patch MODEL --clean TEXT --corrupt TEXT --answer TOKEN
 * [--foil TOKEN] [--what resid|resid_pre|resid_mid|attn|mlp|heads] [--json F]
 * [--svg F] [--html F]`: activation patching, the classic experiment. The
 * metric is the answer's logit minus the foil's (or the answer's logit) at
 * the last position; each cell is a run of the corrupt prompt with one
 * activation taken from the clean run — a (layer, position) of the stream,
 * of attention's or the MLP's output, or a head's output at every
 * position — scored (m - m_corrupt) / (m_clean - m_corrupt): 1 restores
 * the clean answer, 0 does nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart_svg.h"
#include "cli.h"
#include "cli_error.h"

/* What --what patches: a hook point, by position or by head. */
typedef struct patch_kind {
    const char *name;
    heed_hook_point point;
    bool by_head; /* cells are (layer, head), each over every position */
} patch_kind;

static const patch_kind kinds[] = {
    {"resid", HEED_HOOK_RESID_POST, false},   {"resid_post", HEED_HOOK_RESID_POST, false},
    {"resid_pre", HEED_HOOK_RESID_PRE, false}, {"resid_mid", HEED_HOOK_RESID_MID, false},
    {"attn", HEED_HOOK_ATTN_OUT, false},      {"mlp", HEED_HOOK_MLP_OUT, false},
    {"heads", HEED_HOOK_Z, true},
};

/* The clean run's activation at one point, every layer and position. */
typedef struct recording {
    int n_pos, width;
    float *rows; /* [layer][pos][width] */
} recording;

static void on_record(void *user, heed_activation *a)
{
    recording *r = user;
    memcpy(r->rows + ((size_t)a->layer * (size_t)r->n_pos + (size_t)a->pos0) * (size_t)r->width,
           a->data, sizeof(float) * (size_t)a->n * (size_t)a->width);
}

typedef struct experiment {
    heed_context *c;
    heed_edits *e;
    const int32_t *corrupt;
    int n, V;
    int32_t answer, foil;
    float *logits;
} experiment;

/* The metric of the corrupt prompt under x's edits (none when e is NULL). */
static heed_status metric(experiment *x, const heed_edits *e, const int32_t *ids, double *out)
{
    heed_context_reset(x->c);
    heed_status st = heed_context_set_edits(x->c, e);
    if (!st)
        st = heed_context_eval(x->c, ids, x->n, x->logits, false);
    heed_context_set_edits(x->c, NULL);
    *out = x->logits[x->answer] - (x->foil >= 0 ? x->logits[x->foil] : 0.0);
    return st;
}

/* Token labels for the columns: the clean piece, "clean/corrupt" where
 * the two differ. */
static char **position_labels(const heed_vocab *v, const int32_t *clean, const int32_t *corrupt,
                              int n)
{
    char **labels = calloc((size_t)n, sizeof *labels);
    for (int i = 0; labels && i < n; i++) {
        char a[64], b[64];
        cli_piece_utf8(v, clean[i], a, sizeof a);
        cli_piece_utf8(v, corrupt[i], b, sizeof b);
        const size_t size = strlen(a) + strlen(b) + 16;
        if (!(labels[i] = malloc(size)))
            break;
        if (clean[i] == corrupt[i])
            snprintf(labels[i], size, "%d %s", i, a);
        else
            snprintf(labels[i], size, "%d %s/%s", i, a, b);
    }
    return labels;
}

typedef struct result {
    const patch_kind *kind;
    int rows, cols;        /* layers × positions or heads */
    double *values;        /* [rows][cols]                */
    double m_clean, m_corrupt;
} result;

static void put_json(FILE *f, const result *r, const heed_vocab *v, const int32_t *clean,
                     const int32_t *corrupt, int n, int32_t answer, int32_t foil)
{
    fprintf(f, "{\"what\":\"%s\",\"metric\":{\"name\":\"%s\",\"answer\":", r->kind->name,
            foil >= 0 ? "logit_diff" : "logit");
    cli_json_token(f, v, answer);
    fputs(",\"foil\":", f);
    if (foil >= 0)
        cli_json_token(f, v, foil);
    else
        fputs("null", f);
    fprintf(f, ",\"clean\":%.7g,\"corrupt\":%.7g},\"layers\":[", r->m_clean, r->m_corrupt);
    for (int l = 0; l < r->rows; l++)
        fprintf(f, "%s%d", l ? "," : "", l);
    fprintf(f, "],\"%s\":[", r->kind->by_head ? "heads" : "positions");
    for (int k = 0; k < r->cols; k++)
        fprintf(f, "%s%d", k ? "," : "", k);
    fputs("],\"tokens\":[", f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ",{\"clean\":" : "{\"clean\":", f);
        cli_json_token(f, v, clean[i]);
        fputs(",\"corrupt\":", f);
        cli_json_token(f, v, corrupt[i]);
        fputc('}', f);
    }
    fputs("],\"values\":[", f);
    for (int l = 0; l < r->rows; l++) {
        fputs(l ? ",[" : "[", f);
        for (int k = 0; k < r->cols; k++)
            fprintf(f, "%s%.7g", k ? "," : "", r->values[(size_t)l * (size_t)r->cols + (size_t)k]);
        fputc(']', f);
    }
    fputs("]}", f);
}

static heed_status write_json(const char *path, const result *r, const heed_vocab *v,
                              const int32_t *clean, const int32_t *corrupt, int n,
                              int32_t answer, int32_t foil)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot open for writing", path);
    put_json(f, r, v, clean, corrupt, n, answer, foil);
    fputc('\n', f);
    return cli_close(f, path);
}

/* The heatmap, rows the layers, columns the positions (or heads). */
static heed_status put_svg(FILE *f, const result *r, char **pos_labels, const char *title)
{
    char **rows = calloc((size_t)r->rows, sizeof *rows);
    char **cols = r->kind->by_head ? calloc((size_t)r->cols, sizeof *cols) : pos_labels;
    heed_status st = rows && cols ? HEED_OK : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    for (int l = 0; !st && l < r->rows; l++)
        if (!(rows[l] = malloc(16)) || snprintf(rows[l], 16, "layer %d", l) < 0)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    for (int h = 0; !st && r->kind->by_head && h < r->cols; h++)
        if (!(cols[h] = malloc(16)) || snprintf(cols[h], 16, "head %d", h) < 0)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        chart_svg_heatmap(f, title, (const char *const *)rows, r->rows,
                          (const char *const *)cols, r->cols, r->values);
    for (int l = 0; rows && l < r->rows; l++)
        free(rows[l]);
    free(rows);
    if (r->kind->by_head && cols) {
        for (int h = 0; h < r->cols; h++)
            free(cols[h]);
        free(cols);
    }
    return st;
}

static heed_status write_svg(const char *path, const result *r, char **pos_labels,
                             const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot open for writing", path);
    const heed_status st = put_svg(f, r, pos_labels, title);
    const heed_status closed = cli_close(f, path);
    return st ? st : closed;
}

/* A page of its own: the heatmap inline and the JSON beside it. */
static heed_status write_html(const char *path, const result *r, char **pos_labels,
                              const heed_vocab *v, const int32_t *clean, const int32_t *corrupt,
                              int n, int32_t answer, int32_t foil, const char *title)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot open for writing", path);
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    svg_escaped(f, title, strlen(title));
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}"
          "p{max-width:50em}</style></head><body>\n<h1>", f);
    svg_escaped(f, title, strlen(title));
    fprintf(f, "</h1>\n<p>Each cell: the corrupt prompt run with one activation taken from the "
            "clean run, scored (m &minus; m<sub>corrupt</sub>) / (m<sub>clean</sub> &minus; "
            "m<sub>corrupt</sub>): 1 restores the clean answer, 0 changes nothing. "
            "m<sub>clean</sub> = %.4f, m<sub>corrupt</sub> = %.4f. Hover a cell for its "
            "value.</p>\n", r->m_clean, r->m_corrupt);
    heed_status st = put_svg(f, r, pos_labels, title);
    fputs("<script type=\"application/json\" id=\"patch\">", f);
    put_json(f, r, v, clean, corrupt, n, answer, foil);
    fputs("</script>\n</body></html>\n", f);
    const heed_status closed = cli_close(f, path);
    return st ? st : closed;
}

/* Runs every cell of the experiment into r->values. */
static heed_status run_cells(experiment *x, const recording *clean, result *r, int D)
{
    heed_status st = HEED_OK;
    for (int l = 0; !st && l < r->rows; l++)
        for (int k = 0; !st && k < r->cols; k++) {
            heed_edits_clear(x->e);
            const float *layer = clean->rows + (size_t)l * (size_t)clean->n_pos * clean->width;
            if (r->kind->by_head) /* head k at every position */
                for (int p = 0; !st && p < x->n; p++)
                    st = heed_edits_patch(x->e, HEED_HOOK_Z, l, p, k,
                                          layer + (size_t)p * clean->width + (size_t)k * D);
            else
                st = heed_edits_patch(x->e, r->kind->point, l, k, -1,
                                      layer + (size_t)k * clean->width);
            double m = 0;
            if (!st)
                st = metric(x, x->e, x->corrupt, &m);
            r->values[(size_t)l * (size_t)r->cols + (size_t)k] =
                (m - r->m_corrupt) / (r->m_clean - r->m_corrupt);
        }
    return st;
}

int cmd_patch(int argc, char **argv)
{
    const char *model = NULL, *clean_text = NULL, *corrupt_text = NULL, *answer_text = NULL;
    const char *foil_text = NULL, *what = "resid", *json = NULL, *svg = NULL, *html = NULL;
    long threads = 0;
    const cli_string_opt strings[] = {
        {"--clean", &clean_text}, {"--corrupt", &corrupt_text}, {"--answer", &answer_text},
        {"--foil", &foil_text},   {"--what", &what},            {"--json", &json},
        {"--svg", &svg},          {"--html", &html}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_take_string(strings, sizeof strings / sizeof *strings, a, v))
            i++;
        else if (!strcmp(a, "-t")) {
            if (!cli_parse_int("patch", a, v, 0, 1024, &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("patch", USAGE_PATCH, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !clean_text || !corrupt_text || !answer_text)
        return cli_usage_error("patch", USAGE_PATCH,
                               "needs MODEL, --clean, --corrupt and --answer");
    const patch_kind *kind = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(what, kinds[i].name))
            kind = &kinds[i];
    if (!kind)
        return cli_usage_error("patch", USAGE_PATCH, "--what wants resid, resid_pre, resid_mid, "
                               "attn, mlp or heads");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    experiment x = {.answer = -1, .foil = -1};
    int32_t *clean = NULL, *corrupt = NULL;
    int n_clean = 0, n_corrupt = 0;
    recording rec = {0};
    result r = {.kind = kind};
    char **labels = NULL;
    heed_status st = cli_load(model, true, &m, &v);
    if (!st)
        st = cli_prompt("patch", v, clean_text, NULL, false, &clean, &n_clean);
    if (!st)
        st = cli_prompt("patch", v, corrupt_text, NULL, false, &corrupt, &n_corrupt);
    if (!st && n_clean != n_corrupt)
        st = cli_set_error(HEED_ERR_ARG, "--clean is %d tokens and --corrupt %d: patching "
                           "pairs position with position, so they must tokenize to the same "
                           "length (see heed tokenize)", n_clean, n_corrupt);
    if (!st)
        st = cli_token(v, "--answer", answer_text, &x.answer);
    if (!st && foil_text)
        st = cli_token(v, "--foil", foil_text, &x.foil);
    const int L = m ? heed_model_n_layer(m) : 0, H = m ? heed_model_n_head(m) : 0;
    const int D = m ? heed_model_head_dim(m) : 0;
    x.n = n_clean;
    x.corrupt = corrupt;
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = x.n;
    cp.n_threads = (int)threads;
    if (!st)
        st = heed_context_new(m, &cp, &x.c);
    if (!st)
        st = heed_edits_new(m, &x.e);
    if (!st) {
        x.V = heed_model_n_vocab(m);
        rec.n_pos = x.n;
        rec.width = kind->point == HEED_HOOK_Z ? H * D : heed_model_n_embd(m);
        r.rows = L;
        r.cols = kind->by_head ? H : x.n;
        rec.rows = malloc(sizeof(float) * (size_t)L * (size_t)x.n * (size_t)rec.width);
        r.values = malloc(sizeof(double) * (size_t)r.rows * (size_t)r.cols);
        x.logits = malloc(sizeof(float) * (size_t)x.V);
        labels = position_labels(v, clean, corrupt, x.n);
        if (!rec.rows || !r.values || !x.logits || !labels)
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    }
    if (!st) { /* the clean run, recorded */
        heed_context_set_hook(x.c, 1u << kind->point, on_record, &rec);
        st = metric(&x, NULL, clean, &r.m_clean);
        heed_context_set_hook(x.c, 0, NULL, NULL);
    }
    if (!st)
        st = metric(&x, NULL, corrupt, &r.m_corrupt);
    if (!st && r.m_clean == r.m_corrupt)
        st = cli_set_error(HEED_ERR_ARG, "the clean and corrupt prompts give the same metric "
                           "(%g): there is no difference to restore", r.m_clean);
    if (!st)
        st = run_cells(&x, &rec, &r, D);
    char title[512], ans[128], foil[128];
    snprintf(title, sizeof title, "activation patching (%s): %s%s%s restored", kind->name,
             cli_piece(v, x.answer, ans, sizeof ans), x.foil >= 0 ? " minus " : "",
             x.foil >= 0 ? cli_piece(v, x.foil, foil, sizeof foil) : "");
    if (!st && json)
        st = write_json(json, &r, v, clean, corrupt, x.n, x.answer, x.foil);
    if (!st && svg)
        st = write_svg(svg, &r, labels, title);
    if (!st && html)
        st = write_html(html, &r, labels, v, clean, corrupt, x.n, x.answer, x.foil, title);
    int rc = EXIT_OK;
    if (st) {
        rc = cli_fail("patch", st);
    } else {
        printf("%s\nmetric: clean %.4f, corrupt %.4f; cells: (m - corrupt) / (clean - corrupt)"
               "\n", title, r.m_clean, r.m_corrupt);
        printf("%-8s", kind->by_head ? "layer\\head" : "layer\\pos");
        for (int k = 0; k < r.cols; k++)
            printf(" %6d", k);
        putchar('\n');
        for (int l = 0; l < r.rows; l++) {
            printf("%-8d", l);
            for (int k = 0; k < r.cols; k++)
                printf(" %6.3f", r.values[(size_t)l * (size_t)r.cols + (size_t)k]);
            putchar('\n');
        }
        if (!kind->by_head)
            for (int k = 0; k < x.n; k++)
                printf("position %d: %s\n", k, labels[k]);
    }
    for (int i = 0; labels && i < x.n; i++)
        free(labels[i]);
    free(labels);
    free(rec.rows);
    free(r.values);
    free(x.logits);
    heed_edits_free(x.e);
    heed_context_free(x.c);
    free(clean);
    free(corrupt);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
