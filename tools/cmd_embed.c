/*
 * cmd_embed.c — `heed embed MODEL (-p TEXT | --ids 1,2,3) [-o FILE] [--all]
 * [--pooling none|mean|cls|last] [--no-normalize]` and `heed similarity
 * MODEL TEXT1 TEXT2 ...`: embeddings of a text, pooled as the model's
 * metadata says (or as asked) and L2-normalised (as llama-embedding does by
 * default), printed one vector per line or written as float32; and the
 * cosine similarities of several texts' embeddings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

/* Scales each of n rows of dim floats to unit length (zero rows stay). */
static void l2_normalize(float *v, int n, int dim)
{
    for (int r = 0; r < n; r++) {
        double sum = 0;
        for (int i = 0; i < dim; i++)
            sum += (double)v[r * dim + i] * v[r * dim + i];
        const float inv = sum > 0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
        for (int i = 0; i < dim; i++)
            v[r * dim + i] *= inv;
    }
}

/* The embedding rows of text (or the --ids list) in a malloc'd array;
 * *rows is the token count for HEED_POOLING_NONE, else 1. */
static heed_status embed_prompt(heed_context *c, const heed_vocab *v, const char *text,
                                const char *ids_text, heed_pooling pooling, float **out,
                                int *rows)
{
    int32_t *ids;
    int n;
    heed_status st = cli_prompt("embed", v, text, ids_text, false, &ids, &n);
    if (st)
        return st;
    const int dim = heed_model_n_embd(heed_context_model(c));
    *rows = pooling == HEED_POOLING_NONE ? n : 1;
    if (!(*out = malloc(sizeof **out * (size_t)*rows * (size_t)dim)))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    else if ((st = heed_context_embed(c, ids, n, pooling, *out))) {
        free(*out);
        *out = NULL;
    }
    free(ids);
    return st;
}

static bool parse_pooling(const char *s, heed_pooling *p)
{
    static const char *const names[] = {"none", "mean", "cls", "last"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i])) {
            *p = (heed_pooling)i;
            return true;
        }
    return false;
}

/* Loads the model, its vocabulary (when text is given) and a context. */
static heed_status open_all(const char *path, bool need_vocab, heed_model **m, heed_vocab **v,
                            heed_context **c)
{
    heed_status st = cli_load(path, need_vocab, m, v);
    if (!st)
        st = heed_context_new(*m, NULL, c);
    return st;
}

int cmd_embed(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *ids_text = NULL, *out_path = NULL;
    bool all = false, normalize = true, pooling_given = false;
    heed_pooling pooling = HEED_POOLING_NONE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") && val)
            prompt = argv[++i];
        else if (!strcmp(a, "--ids") && val)
            ids_text = argv[++i];
        else if (!strcmp(a, "-o") && val)
            out_path = argv[++i];
        else if (!strcmp(a, "--all"))
            all = true;
        else if (!strcmp(a, "--no-normalize"))
            normalize = false;
        else if (!strcmp(a, "--pooling") && parse_pooling(val, &pooling)) {
            pooling_given = true;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("embed", USAGE_EMBED, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !prompt == !ids_text)
        return cli_usage_error("embed", USAGE_EMBED, "needs MODEL and either -p TEXT or --ids");
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    float *e = NULL;
    int rows = 0, rc = EXIT_OK;
    heed_status st = open_all(model, prompt != NULL, &m, &v, &c);
    if (!st) {
        if (all)
            pooling = HEED_POOLING_NONE;
        else if (!pooling_given)
            pooling = heed_model_pooling(m);
        st = embed_prompt(c, v, prompt, ids_text, pooling, &e, &rows);
    }
    if (st) {
        rc = cli_fail("embed", st);
    } else {
        const int dim = heed_model_n_embd(m);
        if (normalize)
            l2_normalize(e, rows, dim);
        if (out_path) {
            FILE *f = fopen(out_path, "wb");
            size_t count = (size_t)rows * (size_t)dim;
            if (!f || fwrite(e, sizeof *e, count, f) != count || fclose(f) != 0) {
                fprintf(stderr, "heed embed: cannot write %s\n", out_path);
                rc = EXIT_RUNTIME;
            }
        } else {
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < dim; i++)
                    printf(i + 1 < dim ? "%.7g " : "%.7g\n", (double)e[r * dim + i]);
        }
    }
    free(e);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}

int cmd_similarity(int argc, char **argv)
{
    if (argc < 4)
        return cli_usage_error("similarity", USAGE_SIMILARITY, "needs MODEL and two texts or more");
    const int n = argc - 2;
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    float **e = calloc((size_t)n, sizeof *e);
    int rc = EXIT_OK, rows;
    heed_status st = e ? open_all(argv[1], true, &m, &v, &c)
                       : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    heed_pooling pooling = HEED_POOLING_MEAN;
    if (!st && heed_model_pooling(m) != HEED_POOLING_NONE)
        pooling = heed_model_pooling(m);
    for (int i = 0; !st && i < n; i++)
        if (!(st = embed_prompt(c, v, argv[2 + i], NULL, pooling, &e[i], &rows)))
            l2_normalize(e[i], 1, heed_model_n_embd(m));
    if (st) {
        rc = cli_fail("similarity", st);
    } else {
        const int dim = heed_model_n_embd(m);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < dim; k++)
                    dot += (double)e[i][k] * e[j][k];
                printf(j + 1 < n ? "%.4f " : "%.4f\n", dot);
            }
        }
    }
    for (int i = 0; e && i < n; i++)
        free(e[i]);
    free(e);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
