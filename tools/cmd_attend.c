/*
 * cmd_attend.c — `heed attend MODEL (-p TEXT | --ids 1,2,3) [--token I |
 * --word W] [--layer L] [--head H] [-k K]`: what one token attends to. The
 * prompt is run once with capture on; for the chosen token (default the
 * last), each layer's K most attended earlier tokens are listed with their
 * weights and a bar — averaged over the heads, or one head's with --head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "util/error.h"

typedef struct attend_options {
    const char *model, *prompt, *ids, *word, *json;
    long token, layer, head, top_k;
} attend_options;

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

/* Prints the top_k keys of one row of n weights. */
static void print_row(const heed_vocab *v, const int32_t *ids, const float *w, int n, int top_k)
{
    int *order = malloc(sizeof *order * (size_t)n);
    if (!order)
        return;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 0; i < n && i < top_k; i++) { /* partial selection sort */
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (w[order[j]] > w[order[best]])
                best = j;
        int t = order[i];
        order[i] = order[best];
        order[best] = t;
        if (w[order[i]] <= 0.0f)
            break;
        char text[96];
        printf("    %-24s #%-4d %6.3f ", cli_piece(v, ids[order[i]], text, sizeof text),
               order[i], (double)w[order[i]]);
        cli_bar(w[order[i]]);
        putchar('\n');
    }
    free(order);
}

/* True when s[0..len) is well-formed UTF-8 (JSON strings must be). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        const unsigned char c = s[i];
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!n || i + n > len || (n == 2 && c < 0xc2))
            return false;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

/*
 * Writes the whole capture as JSON: the tokens (id, and text — or, for a
 * piece that is not whole UTF-8 such as a fallback byte, its bytes), then
 * attention[layer][head][query] = the weights of keys 0..query (the causal
 * triangle; every key for an encoder).
 */
static heed_status write_json(const char *path, const heed_model *m, const heed_vocab *v,
                              const heed_capture *cap, const int32_t *ids, int n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "architecture", heed_model_arch(m));
    cJSON_AddNumberToObject(root, "n_layer", heed_model_n_layer(m));
    cJSON_AddNumberToObject(root, "n_head", heed_model_n_head(m));
    cJSON_AddBoolToObject(root, "causal", !heed_model_is_encoder(m));
    cJSON *tokens = cJSON_AddArrayToObject(root, "tokens");
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        size_t len = 0;
        const char *p = v ? heed_token_to_piece(v, ids[i], true, &len) : NULL;
        cJSON_AddNumberToObject(t, "id", ids[i]);
        if (p && utf8_valid((const unsigned char *)p, len) && !memchr(p, 0, len)) {
            char *text = strndup(p, len);
            cJSON_AddStringToObject(t, "text", text ? text : "");
            free(text);
        } else if (p) {
            cJSON *bytes = cJSON_AddArrayToObject(t, "bytes");
            for (size_t k = 0; k < len; k++)
                cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)p[k]));
        }
        cJSON_AddItemToArray(tokens, t);
    }
    cJSON *layers = cJSON_AddArrayToObject(root, "attention");
    for (int l = 0; l < heed_model_n_layer(m); l++) {
        cJSON *heads = cJSON_CreateArray();
        for (int h = 0; h < heed_model_n_head(m); h++) {
            cJSON *rows = cJSON_CreateArray();
            for (int q = 0; q < n; q++) {
                const float *row = heed_capture_row(cap, l, h, q);
                const int keys = heed_model_is_encoder(m) ? n : q + 1;
                cJSON *r = cJSON_CreateArray();
                for (int k = 0; k < keys; k++)
                    cJSON_AddItemToArray(r, cJSON_CreateNumber((double)row[k]));
                cJSON_AddItemToArray(rows, r);
            }
            cJSON_AddItemToArray(heads, rows);
        }
        cJSON_AddItemToArray(layers, heads);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return heed_fail(HEED_ERR_NOMEM, "out of memory for the JSON");
    FILE *f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = false;
    free(text);
    return ok ? HEED_OK : heed_fail(HEED_ERR_IO, "%s: cannot write", path);
}

static int parse(int argc, char **argv, attend_options *o)
{
    o->token = -1;
    o->layer = -1;
    o->head = -1;
    o->top_k = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *dst = !strcmp(a, "--token") ? &o->token
                    : !strcmp(a, "--layer") ? &o->layer
                    : !strcmp(a, "--head")  ? &o->head
                    : !strcmp(a, "-k")      ? &o->top_k
                                            : NULL;
        if (dst) {
            if (!cli_parse_int("attend", a, v, dst == &o->top_k ? 1 : 0, 1L << 30, dst))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "-p") && v)
            o->prompt = argv[++i];
        else if (!strcmp(a, "--ids") && v)
            o->ids = argv[++i];
        else if (!strcmp(a, "--word") && v)
            o->word = argv[++i];
        else if (!strcmp(a, "--json") && v)
            o->json = argv[++i];
        else if (a[0] == '-' || o->model)
            return cli_usage_error("attend", USAGE_ATTEND, "unknown or incomplete option");
        else
            o->model = a;
    }
    if (!o->model || !o->prompt == !o->ids)
        return cli_usage_error("attend", USAGE_ATTEND, "needs MODEL and either -p TEXT or --ids");
    if (o->word && o->token >= 0)
        return cli_usage_error("attend", USAGE_ATTEND, "--token and --word exclude each other");
    return -1;
}

int cmd_attend(int argc, char **argv)
{
    attend_options o = {0};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    heed_model *m = NULL;
    heed_vocab *v = NULL;
    heed_capture *cap = NULL;
    int32_t *ids = NULL;
    int n = 0, n_layer = 0, n_head = 0;
    /* --ids alone can do without a vocabulary (tokens then show as ids) */
    heed_status st = cli_load(o.model, o.prompt || o.word, &m, &v);
    if (!st && !v && cli_model_vocab(m, o.model, &v) != HEED_OK)
        v = NULL;
    if (!st) {
        n_layer = heed_model_n_layer(m);
        n_head = heed_model_n_head(m);
        st = cli_prompt("attend", v, o.prompt, o.ids, false, &ids, &n);
    }
    if (!st)
        st = heed_capture_prompt(m, ids, n, (int64_t)1 << 30, &cap);
    int token = (int)o.token;
    if (!st && o.word && (token = find_word(v, ids, n, o.word)) < 0)
        st = heed_fail(HEED_ERR_ARG, "no token of the prompt is the word '%s'", o.word);
    if (!st && token < 0)
        token = n - 1;
    if (!st && token >= n)
        st = heed_fail(HEED_ERR_ARG, "--token %d: the prompt has %d tokens", token, n);
    if (!st && (o.layer >= n_layer || o.head >= n_head))
        st = heed_fail(HEED_ERR_ARG, "the model has %d layers of %d heads", n_layer, n_head);
    if (!st && o.json)
        st = write_json(o.json, m, v, cap, ids, n);
    rc = EXIT_OK;
    if (st) {
        rc = cli_fail("attend", st);
    } else {
        char text[96];
        printf("token %d %s of %d, attending to:\n", token,
               cli_piece(v, ids[token], text, sizeof text), n);
        float *mean = malloc(sizeof *mean * (size_t)n);
        for (int l = 0; mean && l < n_layer; l++) {
            if (o.layer >= 0 && l != o.layer)
                continue;
            for (int k = 0; k < n; k++) {
                double sum = 0;
                for (int h = 0; h < n_head; h++)
                    if (o.head < 0 || h == o.head)
                        sum += heed_capture_row(cap, l, h, token)[k];
                mean[k] = (float)(o.head < 0 ? sum / n_head : sum);
            }
            if (o.head < 0)
                printf("  layer %d (mean of %d heads)\n", l, n_head);
            else
                printf("  layer %d head %ld\n", l, o.head);
            print_row(v, ids, mean, n, (int)o.top_k);
        }
        free(mean);
    }
    free(ids);
    heed_capture_free(cap);
    heed_vocab_free(v);
    heed_model_free(m);
    return rc;
}
