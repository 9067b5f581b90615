/*
 * capture_json.c — writes a capture as one JSON object, streamed row by row
 * (a capture can be far larger than a tree of JSON nodes should be):
 *
 *   {"architecture", "text", "tokens": [{id, piece, start, end}], "n_prompt",
 *    "n_layer", "n_head", "mask", "kind", "rows": [begin, end], "top_k",
 *    "layers": [{"layer", "heads": [{"head", "weights": [[...], ...]
 *                                    (, "keys": [[...], ...] with top_k)
 *                                    (, "sink": [...] with sinks)}]}],
 *    "stats": [{layer, head, entropy, prev_token, sink, self, induction}],
 *    "kv_received": [[...] per layer],
 *    "experts": [{"layer", "experts": [[...] per token], "weights": [[...]]}]
 *    (a mixture of experts' routing, else empty)
 *    (, "source": {"text", "tokens"}, "encoder": BLOCK, "cross": BLOCK: an
 *     encoder-decoder's, each BLOCK {"kind", "mask", "rows", "layers",
 *     "stats" (the cross block's: {layer, head, entropy, monotonicity}),
 *     "kv_received"})}
 *
 * Numbers have 7 significant digits. Strings are valid UTF-8 (a piece's
 * invalid bytes become U+FFFD) with <, > and & escaped, so the JSON can sit
 * inside an HTML <script> element.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "util/error.h"

static void put_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

heed_status heed_capture_json_tokens(FILE *f, const heed_capture_doc *d)
{
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    size_t *start = malloc(sizeof *start * (size_t)(d->n + 1));
    for (int i = 0; text && start && i < d->n; i++) {
        char idbuf[16];
        size_t plen = 0;
        const char *p = d->v ? heed_token_to_piece(d->v, d->ids[i], true, &plen) : NULL;
        if (!p)
            plen = (size_t)snprintf(idbuf, sizeof idbuf, "#%d", d->ids[i]);
        if (len + 3 * plen + 1 > cap) {
            cap = 2 * (len + 3 * plen + 1);
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
        }
        start[i] = len;
        len = len + heed_utf8_repair(text + len, p ? p : idbuf, plen);
    }
    if (!text || !start) {
        free(text);
        free(start);
        return heed_fail(HEED_ERR_NOMEM, "out of memory for the token text");
    }
    start[d->n] = len;
    fputs("\"text\":", f);
    put_string(f, text, len);
    fputs(",\"tokens\":[", f);
    for (int i = 0; i < d->n; i++) {
        fprintf(f, "%s{\"id\":%d,\"piece\":", i ? "," : "", d->ids[i]);
        put_string(f, text + start[i], start[i + 1] - start[i]);
        fprintf(f, ",\"start\":%zu,\"end\":%zu}", start[i], start[i + 1]);
    }
    fputc(']', f);
    free(text);
    free(start);
    return HEED_OK;
}

static void put_numbers(FILE *f, const float *x, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ",%.7g" : "%.7g", (double)x[i]);
    fputc(']', f);
}

/* One attention of a document: its capture, the query rows written and
 * the keys a dense row shows (n_keys; a causal row only keys 0..q). */
typedef struct block {
    const heed_capture *cap;
    int row_begin, row_end, n_keys;
    bool causal;
} block;

/* One head's rows: dense, or top-k "weights" and "keys". */
static void put_head(FILE *f, const heed_capture_doc *d, const block *b, int l, int h)
{
    fprintf(f, "{\"head\":%d,\"weights\":[", h);
    for (int q = b->row_begin; q < b->row_end; q++) {
        fputs(q > b->row_begin ? "," : "", f);
        const int32_t *keys;
        const float *w;
        if (d->top_k) {
            const int count = heed_capture_top(b->cap, l, h, q, &keys, &w);
            put_numbers(f, w, count);
        } else {
            put_numbers(f, heed_capture_row(b->cap, l, h, q), b->causal ? q + 1 : b->n_keys);
        }
    }
    fputc(']', f);
    if (d->top_k) {
        fputs(",\"keys\":[", f);
        for (int q = b->row_begin; q < b->row_end; q++) {
            const int32_t *keys;
            const float *w;
            const int count = heed_capture_top(b->cap, l, h, q, &keys, &w);
            fputs(q > b->row_begin ? ",[" : "[", f);
            for (int i = 0; i < count; i++)
                fprintf(f, i ? ",%d" : "%d", keys[i]);
            fputc(']', f);
        }
        fputc(']', f);
    }
    if (heed_model_has_sinks(d->m)) {
        fputs(",\"sink\":[", f);
        for (int q = b->row_begin; q < b->row_end; q++)
            fprintf(f, q > b->row_begin ? ",%.7g" : "%.7g",
                    (double)heed_capture_sink(b->cap, l, h, q));
        fputc(']', f);
    }
    fputc('}', f);
}

void heed_capture_json_routing(FILE *f, const heed_capture *cap, int layer, int n)
{
    for (int part = 0; part < 2; part++) {
        fputs(part ? ",\"weights\":[" : "\"experts\":[", f);
        for (int t = 0; t < n; t++) {
            const int32_t *e;
            const float *w;
            const int k = heed_capture_experts(cap, layer, t, &e, &w);
            fputs(t ? ",[" : "[", f);
            for (int j = 0; j < k; j++)
                if (part)
                    fprintf(f, j ? ",%.7g" : "%.7g", (double)w[j]);
                else
                    fprintf(f, j ? ",%d" : "%d", e[j]);
            fputc(']', f);
        }
        fputc(']', f);
    }
}

/* "layers": every kept layer's kept heads. */
static void put_layers(FILE *f, const heed_capture_doc *d, const block *b)
{
    const int L = heed_model_n_layer(d->m), H = heed_model_n_head(d->m);
    fputs("\"layers\":[", f);
    bool first_layer = true;
    for (int l = 0; l < L; l++) {
        bool first_head = true;
        for (int h = 0; h < H; h++) {
            if (!heed_capture_has(b->cap, l, h, b->row_begin))
                continue;
            if (first_head)
                fprintf(f, "%s{\"layer\":%d,\"heads\":[", first_layer ? "" : ",", l);
            fputs(first_head ? "" : ",", f);
            put_head(f, d, b, l, h);
            first_head = first_layer = false;
        }
        if (!first_head)
            fputs("]}", f);
    }
    fputc(']', f);
}

/* "stats": each kept head's statistics over the first n queries (ids):
 * a self-attention's, or a cross-attention's alignment. */
static heed_status put_stats(FILE *f, const heed_capture_doc *d, const heed_capture *cap,
                             const int32_t *ids, int n)
{
    const int L = heed_model_n_layer(d->m), H = heed_model_n_head(d->m);
    const int row = heed_capture_kind(cap) == HEED_ATTN_ENCODER ? 0 : d->row_begin;
    heed_status st = HEED_OK;
    bool first = true;
    fputs("\"stats\":[", f);
    for (int l = 0; !st && l < L; l++)
        for (int h = 0; !st && h < H; h++) {
            heed_head_stats s;
            heed_cross_stats x;
            if (!heed_capture_has(cap, l, h, row))
                continue;
            fprintf(f, "%s{\"layer\":%d,\"head\":%d,", first ? "" : ",", l, h);
            first = false;
            if (heed_capture_kind(cap) == HEED_ATTN_CROSS) {
                if (!(st = heed_capture_cross_stats(cap, l, h, n, &x)))
                    fprintf(f, "\"entropy\":%.7g,\"monotonicity\":%.7g}", x.entropy,
                            x.monotonicity);
            } else if (!(st = heed_capture_head_stats(cap, l, h, ids, n, &s))) {
                fprintf(f, "\"entropy\":%.7g,\"prev_token\":%.7g,\"sink\":%.7g,"
                        "\"self\":%.7g,\"induction\":%.7g}", s.entropy, s.prev_token, s.sink,
                        s.self, s.induction);
            }
        }
    fputc(']', f);
    return st;
}

/* "kv_received": each layer's telemetry over the n keys. */
static void put_received(FILE *f, const heed_capture_doc *d, const heed_capture *cap, int n)
{
    fputs("\"kv_received\":[", f);
    for (int l = 0; l < heed_model_n_layer(d->m); l++) {
        const double *r = heed_capture_received(cap, l);
        fputs(l ? ",[" : "[", f);
        for (int k = 0; k < n; k++)
            fprintf(f, k ? ",%.7g" : "%.7g", r[k]);
        fputc(']', f);
    }
    fputc(']', f);
}

/* An encoder-decoder's "source", "encoder" and "cross" members. */
static heed_status put_encoder_decoder(FILE *f, const heed_capture_doc *d)
{
    heed_capture_doc src = *d;
    src.ids = d->src;
    src.n = d->n_src;
    fputs(",\"source\":{", f);
    heed_status st = heed_capture_json_tokens(f, &src);
    if (st)
        return st;
    const block enc = {d->enc, 0, d->n_src, d->n_src, false};
    fprintf(f, "},\"encoder\":{\"kind\":\"encoder\",\"mask\":\"bidirectional\","
            "\"rows\":[0,%d],", d->n_src);
    put_layers(f, d, &enc);
    fputc(',', f);
    if ((st = put_stats(f, d, d->enc, d->src, d->n_src)))
        return st;
    fputc(',', f);
    put_received(f, d, d->enc, d->n_src);
    const block cross = {d->cross, d->row_begin, d->row_end, d->n_src, false};
    fprintf(f, "},\"cross\":{\"kind\":\"cross\",\"mask\":\"none\",\"rows\":[%d,%d],",
            d->row_begin, d->row_end);
    put_layers(f, d, &cross);
    fputc(',', f);
    if ((st = put_stats(f, d, d->cross, NULL, d->row_end)))
        return st;
    fputc(',', f);
    put_received(f, d, d->cross, d->n_src);
    fputc('}', f);
    return HEED_OK;
}

heed_status heed_capture_write_json(FILE *f, const heed_capture_doc *d)
{
    const int L = heed_model_n_layer(d->m);
    if ((d->enc || d->cross) && !(d->enc && d->cross && d->src && d->n_src > 0 &&
                                  heed_capture_n_keys(d->cross) == d->n_src &&
                                  heed_capture_n_tokens(d->enc) == d->n_src))
        return heed_fail(HEED_ERR_ARG, "heed_capture_write_json: an encoder-decoder's "
                         "document needs its encoder and cross captures and the source ids "
                         "they were made from");
    const bool encoder = heed_model_is_encoder(d->m);
    fputs("{\"architecture\":", f);
    put_string(f, heed_model_arch(d->m), strlen(heed_model_arch(d->m)));
    fputc(',', f);
    heed_status st = heed_capture_json_tokens(f, d);
    if (st)
        return st;
    fprintf(f, ",\"n_prompt\":%d,\"n_layer\":%d,\"n_head\":%d,\"mask\":\"%s\","
            "\"kind\":\"%s\",\"rows\":[%d,%d],\"top_k\":%d,", d->n_prompt, L,
            heed_model_n_head(d->m), encoder ? "bidirectional" : "causal",
            encoder ? "encoder" : "decoder", d->row_begin, d->row_end, d->top_k);
    const block self = {d->cap, d->row_begin, d->row_end, d->n, !encoder};
    put_layers(f, d, &self);
    fputc(',', f);
    if ((st = put_stats(f, d, d->cap, d->ids, d->n)))
        return st;
    fputc(',', f);
    put_received(f, d, d->cap, d->n);
    fputs(",\"experts\":[", f);
    for (int l = 0; heed_model_n_expert(d->m) && l < L; l++) {
        fprintf(f, "%s{\"layer\":%d,", l ? "," : "", l);
        heed_capture_json_routing(f, d->cap, l, d->n);
        fputc('}', f);
    }
    fputc(']', f);
    if (d->enc && (st = put_encoder_decoder(f, d)))
        return st;
    fputs("}\n", f);
    return ferror(f) ? heed_fail(HEED_ERR_IO, "cannot write the JSON") : HEED_OK;
}
