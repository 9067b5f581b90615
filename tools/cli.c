/* cli.c — error reporting and argument parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

int cli_fail(const char *cmd, heed_status st)
{
    fprintf(stderr, "heed %s: %s\n", cmd, cli_error_message());
    return st == HEED_ERR_NOMEM || st == HEED_ERR_IO ? EXIT_RUNTIME : EXIT_BAD_INPUT;
}

int cli_usage_error(const char *cmd, const char *usage, const char *msg)
{
    fprintf(stderr, "heed %s: %s\nusage: %s\n", cmd, msg, usage);
    return EXIT_BAD_INPUT;
}

int32_t *cli_parse_ids(const char *cmd, const char *text, int *n)
{
    int cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) {
        fprintf(stderr, "heed %s: out of memory\n", cmd);
        return NULL;
    }
    const char *p = text;
    for (*n = 0; *n < cap; (*n)++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            fprintf(stderr, "heed %s: --ids: '%s' is not a list of token ids like 1,2,3 "
                    "(problem at character %d)\n", cmd, text, (int)(p - text) + 1);
            free(ids);
            return NULL;
        }
        ids[*n] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    return ids;
}

bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                   long *out)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "heed %s: %s wants an integer in %ld..%ld, not '%s'\n", cmd, opt, lo,
                hi, text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *cmd, const char *opt, const char *text, double lo,
                     double hi, double *out)
{
    char *end;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "heed %s: %s wants a number in %g..%g, not '%s'\n", cmd, opt, lo, hi,
                text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

int cli_cache_type(const char *cmd, int argc, char **argv, int *i, heed_context_params *p)
{
    const char *a = argv[*i];
    heed_type *to = !strcmp(a, "-ctk") || !strcmp(a, "--cache-type-k")   ? &p->type_k
                    : !strcmp(a, "-ctv") || !strcmp(a, "--cache-type-v") ? &p->type_v
                                                                         : NULL;
    if (!to)
        return 0;
    const char *v = *i + 1 < argc ? argv[*i + 1] : "";
    const heed_type t = heed_type_from_name(v);
    if (t == HEED_TYPE_NONE || !heed_kv_type_ok(t)) {
        fprintf(stderr, "heed %s: %s wants f32, f16, bf16 or q8_0, not '%s'\n", cmd, a, v);
        return -1;
    }
    *to = t;
    *i += 1;
    return 1;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "heed %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    bool failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "heed %s: cannot read %s\n", cmd, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

heed_status cli_model_vocab(const heed_model *m, const char *path, heed_vocab **v)
{
    *v = NULL;
    if (!heed_model_gguf(m))
        return cli_set_error(HEED_ERR_ARG, "%s: llama2.c checkpoints carry no tokenizer; give the "
                             "prompt as --ids", path);
    return heed_vocab_load(heed_model_gguf(m), v);
}

heed_status cli_load(const char *path, bool need_vocab, heed_model **m, heed_vocab **v)
{
    *v = NULL;
    heed_status st = heed_model_load(path, m);
    if (!st && need_vocab)
        st = cli_model_vocab(*m, path, v);
    return st;
}

heed_status cli_prompt(const char *cmd, const heed_vocab *v, const char *text,
                       const char *ids_text, bool parse_special, int32_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    if (!text) {
        *ids = cli_parse_ids(cmd, ids_text, n); /* says what is wrong */
        return *ids ? HEED_OK : cli_set_error(HEED_ERR_ARG, "--ids: expected token ids like 1,2,3");
    }
    size_t count;
    heed_status st = heed_tokenize(v, text, strlen(text), true, parse_special, ids, &count);
    if (!st && (count == 0 || count > INT32_MAX))
        st = cli_set_error(HEED_ERR_ARG, "the prompt has no tokens");
    *n = (int)count;
    return st;
}

heed_status cli_token(const heed_vocab *v, const char *opt, const char *text, int32_t *id)
{
    char *end;
    if (text[0] == '#' && text[1]) {
        const long k = strtol(text + 1, &end, 10);
        if (*end || k < 0 || k >= heed_vocab_n_tokens(v))
            return cli_set_error(HEED_ERR_ARG, "%s %s: no such token id (the vocabulary has "
                                 "%d)", opt, text, heed_vocab_n_tokens(v));
        *id = (int32_t)k;
        return HEED_OK;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    heed_status st = heed_tokenize(v, text, strlen(text), false, false, &ids, &n);
    if (!st && n != 1) {
        char pieces[256] = "";
        size_t at = 0;
        for (size_t i = 0; i < n && at + 40 < sizeof pieces; i++) {
            char piece[32];
            at += (size_t)snprintf(pieces + at, sizeof pieces - at, "%s%s", i ? " " : "",
                                   cli_piece(v, ids[i], piece, sizeof piece));
        }
        st = cli_set_error(HEED_ERR_ARG, "%s '%s' is %zu tokens (%s), not one: give one "
                           "token's text, or #ID", opt, text, n, n ? pieces : "none");
    }
    if (!st)
        *id = ids[0];
    free(ids);
    return st;
}

size_t cli_piece_utf8(const heed_vocab *v, int32_t id, char *buf, size_t size)
{
    size_t len = 0;
    const char *p = v ? heed_token_to_piece(v, id, true, &len) : NULL;
    char idbuf[16];
    if (!p)
        len = (size_t)snprintf(idbuf, sizeof idbuf, "#%d", id);
    if (3 * len + 1 > size)
        len = (size - 1) / 3;
    const size_t n = heed_utf8_repair(buf, p ? p : idbuf, len);
    buf[n] = 0;
    return n;
}

bool cli_take_string(const cli_string_opt *opts, size_t n, const char *a, const char *v)
{
    for (size_t i = 0; v && i < n; i++)
        if (!strcmp(a, opts[i].name)) {
            *opts[i].dst = v;
            return true;
        }
    return false;
}

int cli_cvec_option(const char *cmd, int argc, char **argv, int *i, cli_cvecs *cv)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--control-vector-layer-range")) {
        if (!cli_parse_int(cmd, a, v, -1, 1L << 20, &cv->first) ||
            !cli_parse_int(cmd, a, *i + 2 < argc ? argv[*i + 2] : NULL, -1, 1L << 20, &cv->last))
            return -1;
        *i += 2;
        return 1;
    }
    const bool scaled = !strcmp(a, "--control-vector-scaled");
    if (!scaled && strcmp(a, "--control-vector"))
        return 0;
    if (!v) {
        fprintf(stderr, "heed %s: %s wants a file\n", cmd, a);
        return -1;
    }
    if (cv->n == CLI_MAX_CVECS) {
        fprintf(stderr, "heed %s: at most %d control vectors\n", cmd, CLI_MAX_CVECS);
        return -1;
    }
    double scale = 1.0;
    if (scaled && !cli_parse_float(cmd, a, *i + 2 < argc ? argv[*i + 2] : NULL, -1e6, 1e6, &scale))
        return -1;
    cv->path[cv->n] = v;
    cv->scale[cv->n++] = (float)scale;
    *i += scaled ? 2 : 1;
    return 1;
}

void cli_cvec_range(const cli_cvecs *cv, int n_layer, int *first, int *last)
{
    *first = cv->first > 0 ? (int)cv->first : 1;
    *last = cv->last > 0 ? (int)cv->last : n_layer;
}

heed_status cli_cvec_apply(const cli_cvecs *cv, heed_context *c)
{
    if (!cv->n)
        return HEED_OK;
    const heed_model *m = heed_context_model(c);
    const int L = heed_model_n_layer(m), E = heed_model_n_embd(m);
    float *sum = calloc((size_t)L * (size_t)E, sizeof *sum);
    if (!sum)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory");
    heed_status st = HEED_OK;
    for (int i = 0; i < cv->n && !st; i++)
        st = heed_control_vector_add(cv->path[i], cv->scale[i], E, L, sum);
    int first, last;
    cli_cvec_range(cv, L, &first, &last);
    if (!st)
        st = heed_context_set_steering(c, sum, first, last);
    free(sum);
    return st;
}

void cli_json_token(FILE *f, const heed_vocab *v, int32_t id)
{
    char piece[256];
    cli_piece_utf8(v, id, piece, sizeof piece);
    fprintf(f, "{\"id\":%d,\"piece\":\"", id);
    for (const char *c = piece; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if ((unsigned char)*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
            fprintf(f, "\\u%04x", (unsigned char)*c); /* < > &: safe inside <script> */
        else
            fputc(*c, f);
    }
    fputs("\"}", f);
}

heed_status cli_close(FILE *f, const char *path)
{
    const bool bad = ferror(f);
    if (fclose(f) || bad)
        return cli_set_error(HEED_ERR_IO, "%s: cannot write it (disk full?)", path);
    return HEED_OK;
}

heed_status cli_fits(const heed_context *c, int n)
{
    const int room = heed_context_n_ctx(c) - heed_context_n_past(c);
    if (n <= room)
        return HEED_OK;
    return cli_set_error(HEED_ERR_ARG, "%d tokens do not fit: %d of the context's %d positions "
                         "are free (raise it with -c)", n, room, heed_context_n_ctx(c));
}

const char *cli_piece(const heed_vocab *v, int32_t id, char *buf, size_t size)
{
    size_t len = 0, o = 0;
    const char *p = v ? heed_token_to_piece(v, id, true, &len) : NULL;
    if (!p) {
        snprintf(buf, size, "#%d", id);
        return buf;
    }
    buf[o++] = '\'';
    for (size_t i = 0; i < len && o + 6 < size; i++) {
        const unsigned char ch = (unsigned char)p[i];
        if (ch == '\n')
            o += (size_t)snprintf(buf + o, size - o, "\\n");
        else if (ch < 0x20)
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

size_t cli_utf8_append(char *buf, size_t at, const char *piece, size_t len)
{
    return at + heed_utf8_repair(buf + at, piece, len);
}

void cli_bar(double w)
{
    for (int i = 0; i < (int)(w * 40.0 + 0.5); i++)
        fputs("█", stdout);
}
