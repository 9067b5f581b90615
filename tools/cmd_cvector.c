/*
 * cmd_cvector.c — `heed cvector MODEL --positive FILE --negative FILE -o
 * OUT.gguf [--method pca|mean] [--layers A:B] ...`: a control vector from
 * pairs of prompts, as llama.cpp's llama-cvector-generator makes one. The
 * files hold one prompt per line, read as it reads them (empty lines
 * skipped; \n, \t, \\, \xNN ... escapes turned into their bytes), line i
 * of one paired with line i of the other; each prompt is tokenized with
 * BOS as the vocabulary asks and control tokens recognised, and the
 * shorter of a pair padded with the last token of " ". The library
 * (heed_control_vector_compute, heed_control_vector_write) does the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_error.h"

/* llama.cpp's string_process_escapes, in place; returns the new length. */
static size_t process_escapes(char *s, size_t len)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\' || i + 1 >= len) {
            s[out++] = s[i];
            continue;
        }
        const char c = s[++i];
        switch (c) {
        case 'n': s[out++] = '\n'; break;
        case 'r': s[out++] = '\r'; break;
        case 't': s[out++] = '\t'; break;
        case '\'': s[out++] = '\''; break;
        case '"': s[out++] = '"'; break;
        case '\\': s[out++] = '\\'; break;
        default:
            if (c == 'x' && i + 2 < len) {
                const char x[3] = {s[i + 1], s[i + 2], 0};
                char *end;
                const long v = strtol(x, &end, 16);
                if (end == x + 2) {
                    i += 2;
                    s[out++] = (char)v;
                    break;
                }
            }
            s[out++] = '\\';
            s[out++] = c;
        }
    }
    return out;
}

/* A prompt file's lines, tokenized: *ids[i] of (*n)[i] tokens, *count
 * lines. Errors name the option and the file. */
static heed_status read_prompts(const heed_vocab *v, const char *opt, const char *path,
                                int32_t ***ids, int **n, int *count)
{
    *ids = NULL;
    *n = NULL;
    *count = 0;
    size_t len;
    char *text = cli_read_file("cvector", path, &len); /* says why it cannot */
    if (!text)
        return cli_set_error(HEED_ERR_IO, "%s %s: cannot read the prompts", opt, path);
    int cap = 0;
    heed_status st = HEED_OK;
    for (size_t at = 0; !st && at < len;) {
        char *line = text + at, *nl = memchr(line, '\n', len - at);
        size_t line_len = nl ? (size_t)(nl - line) : len - at;
        at += line_len + 1;
        if (!line_len) /* skipped, as llama.cpp does */
            continue;
        line_len = process_escapes(line, line_len);
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            int32_t **bigger_ids = realloc(*ids, sizeof **ids * (size_t)cap);
            if (bigger_ids)
                *ids = bigger_ids;
            int *bigger_n = realloc(*n, sizeof **n * (size_t)cap);
            if (bigger_n)
                *n = bigger_n;
            if (!bigger_ids || !bigger_n) {
                st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
                break;
            }
        }
        size_t got;
        st = heed_tokenize(v, line, line_len, heed_vocab_add_bos(v), true, &(*ids)[*count], &got);
        if (!st && (got == 0 || got > INT32_MAX)) {
            free((*ids)[*count]);
            st = cli_set_error(HEED_ERR_ARG, "%s %s: prompt %d has no tokens", opt, path,
                               *count + 1);
        }
        if (!st)
            (*n)[(*count)++] = (int)got;
    }
    if (!st && !*count)
        st = cli_set_error(HEED_ERR_ARG, "%s %s has no prompts (one per line; empty lines are "
                           "skipped)", opt, path);
    free(text);
    return st;
}

static void free_prompts(int32_t **ids, int *n, int count)
{
    for (int i = 0; ids && i < count; i++)
        free(ids[i]);
    free(ids);
    free(n);
}

/* --layers A:B, inclusive, either end may be left out (1, n_layer - 1). */
static bool parse_layers(const char *text, int last, int *a, int *b)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return false;
    char *end;
    *a = 1;
    *b = last;
    if (colon != text) {
        errno = 0;
        const long v = strtol(text, &end, 10);
        if (end != colon || errno || v < 1 || v > last)
            return false;
        *a = (int)v;
    }
    if (colon[1]) {
        errno = 0;
        const long v = strtol(colon + 1, &end, 10);
        if (*end || errno || v < 1 || v > last)
            return false;
        *b = (int)v;
    }
    return *a <= *b;
}

static void progress(void *user, int done, int total)
{
    (void)user;
    fprintf(stderr, "\rheed cvector: pair %d of %d", done, total);
    if (done == total)
        fputc('\n', stderr);
}

int cmd_cvector(int argc, char **argv)
{
    const char *model = NULL, *pos_path = NULL, *neg_path = NULL, *out = NULL, *method = "pca",
               *layers = NULL;
    long threads = 0, iters = 1000;
    heed_control_vector_params p = heed_control_vector_default_params();
    heed_context_params cp = heed_context_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int kv = cli_cache_type("cvector", argc, argv, &i, &cp);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
        if (!strcmp(a, "--positive") && v)
            pos_path = argv[++i];
        else if (!strcmp(a, "--negative") && v)
            neg_path = argv[++i];
        else if (!strcmp(a, "-o") && v)
            out = argv[++i];
        else if (!strcmp(a, "--method") && v)
            method = argv[++i];
        else if (!strcmp(a, "--layers") && v)
            layers = argv[++i];
        else if (!strcmp(a, "--pca-iter")) {
            if (!cli_parse_int("cvector", a, v, 1, 1000000, &iters))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "--seed")) {
            long s;
            if (!cli_parse_int("cvector", a, v, 0, __LONG_MAX__, &s))
                return EXIT_BAD_INPUT;
            p.seed = (uint64_t)s;
            i++;
        } else if (!strcmp(a, "-t")) {
            if (!cli_parse_int("cvector", a, v, 1, 1024, &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("cvector", USAGE_CVECTOR, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !pos_path || !neg_path || !out)
        return cli_usage_error("cvector", USAGE_CVECTOR,
                               "needs MODEL, --positive FILE, --negative FILE and -o OUT.gguf");
    if (!strcmp(method, "pca"))
        p.method = HEED_CONTROL_VECTOR_PCA;
    else if (!strcmp(method, "mean"))
        p.method = HEED_CONTROL_VECTOR_MEAN;
    else {
        char msg[160];
        snprintf(msg, sizeof msg, "--method wants pca or mean, not '%.100s'", method);
        return cli_usage_error("cvector", USAGE_CVECTOR, msg);
    }
    p.pca_iterations = (int)iters;

    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_context *c = NULL;
    int32_t **pos = NULL, **neg = NULL;
    int *n_pos = NULL, *n_neg = NULL, count_pos = 0, count_neg = 0;
    float *dirs = NULL;
    heed_status st = cli_load(model, true, &m, &v);
    const int L = m ? heed_model_n_layer(m) : 0, E = m ? heed_model_n_embd(m) : 0;
    if (!st && L < 2)
        st = cli_set_error(HEED_ERR_UNSUPPORTED, "%s has %d block: a control vector has "
                           "directions for blocks 1 .. n_layer - 1", model, L);
    if (!st && layers && !parse_layers(layers, L - 1, &p.layer_start, &p.layer_end))
        st = cli_set_error(HEED_ERR_ARG, "--layers '%s': want A:B with 1 <= A <= B <= %d (the "
                           "model has %d blocks; direction K is added after block K)", layers,
                           L - 1, L);
    if (!st)
        st = read_prompts(v, "--positive", pos_path, &pos, &n_pos, &count_pos);
    if (!st)
        st = read_prompts(v, "--negative", neg_path, &neg, &n_neg, &count_neg);
    if (!st && count_pos != count_neg)
        st = cli_set_error(HEED_ERR_ARG, "--positive %s has %d prompts, --negative %s has %d: "
                           "they pair line by line", pos_path, count_pos, neg_path, count_neg);
    /* the padding: the last token of " ", as llama.cpp pads */
    int32_t pad = -1;
    int longest = 0;
    if (!st) {
        int32_t *space;
        size_t n_space;
        st = heed_tokenize(v, " ", 1, false, false, &space, &n_space);
        if (!st && !n_space)
            st = cli_set_error(HEED_ERR_UNSUPPORTED, "the vocabulary has no token for \" \", the "
                               "padding");
        if (!st)
            pad = space[n_space - 1];
        free(space);
    }
    for (int i = 0; !st && i < count_pos; i++) {
        longest = n_pos[i] > longest ? n_pos[i] : longest;
        longest = n_neg[i] > longest ? n_neg[i] : longest;
    }
    if (!st) {
        cp.n_ctx = longest;
        cp.n_threads = (int)threads;
        st = heed_context_new(m, &cp, &c);
    }
    if (!st && !(dirs = calloc((size_t)L * (size_t)E, sizeof *dirs)))
        st = cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (!st) {
        if (isatty(STDERR_FILENO))
            p.progress = progress;
        st = heed_control_vector_compute(c, (const int32_t *const *)pos, n_pos,
                                         (const int32_t *const *)neg, n_neg, count_pos, pad, &p,
                                         dirs);
    }
    if (!st) {
        const heed_gguf *g = heed_model_gguf(m);
        heed_gguf_str arch = {0};
        char hint[128];
        if (g && !heed_gguf_get_str(g, "general.architecture", &arch) && arch.len < sizeof hint) {
            memcpy(hint, arch.ptr, arch.len);
            hint[arch.len] = 0;
        } else {
            snprintf(hint, sizeof hint, "%s", heed_model_arch(m));
        }
        const int k0 = p.layer_start ? p.layer_start : 1, k1 = p.layer_end ? p.layer_end : L - 1;
        st = heed_control_vector_write(out, dirs, E, k0, k1, hint);
        if (!st)
            printf("%s: direction.%d .. direction.%d (%s of %d pairs, n_embd %d) for %s\n", out,
                   k0, k1, method, count_pos, E, hint);
    }
    const int rc = st ? cli_fail("cvector", st) : EXIT_OK;
    free(dirs);
    free_prompts(pos, n_pos, count_pos);
    free_prompts(neg, n_neg, count_neg);
    heed_context_free(c);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
