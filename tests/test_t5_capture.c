/*
 * test_t5_capture.c — the three attentions of an encoder-decoder, captured:
 * the encoder's [src][src], the decoder's [tgt][tgt] and cross-attention
 * [tgt][src], on tiny-t5 (gated GELU) and tiny-t5-relu synths. Capture
 * changes no logit bit; every row sums to 1 over its keys (a causal row's
 * later keys 0); every row equals the softmax recomputed in double from the
 * queries and keys the qk tap hands over (T5: no 1/sqrt(d) scale; relative
 * bias in self-attention, none in cross-attention), within 1e-5 as
 * test_capture.c holds decoders' rows (measured at most: decoder 6.4e-7,
 * encoder 1.1e-6, cross 6.7e-7).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/capture.h"
#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

enum { N_SRC = 11, N_TGT = 7 };

static const int32_t SRC[N_SRC] = {5, 17, 42, 99, 3, 250, 17, 64, 128, 7, 1};
static const int32_t TGT[N_TGT] = {0, 12, 77, 301, 12, 45, 9};

static heed_model *synth_t5(const char *shape)
{
    char path[4200];
    snprintf(path, sizeof path, "%s", test_tmp_path(shape));
    cr_assert_eq(heed_synth(shape, HEED_TYPE_F32, 7, 2, path), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    return m;
}

static heed_context *f32_context(const heed_model *m)
{
    heed_context_params cp = heed_context_default_params();
    cp.type_k = cp.type_v = HEED_TYPE_F32;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK, "%s", heed_last_error());
    return c;
}

/* The decoder's logits of TGT after encoding SRC, every position. */
static void run(heed_context *c, float *logits)
{
    cr_assert_eq(heed_context_encode(c, SRC, N_SRC), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_eval(c, TGT, N_TGT, logits, true), HEED_OK, "%s",
                 heed_last_error());
}

static heed_capture *new_capture(const heed_model *m, heed_attn_kind kind)
{
    heed_capture_params p = heed_capture_default_params(kind == HEED_ATTN_ENCODER ? N_SRC
                                                                                  : N_TGT);
    p.kind = kind;
    p.n_keys = kind == HEED_ATTN_CROSS ? N_SRC : 0;
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(m, &p, &cap), HEED_OK, "%s", heed_last_error());
    return cap;
}

/* The tap's check: each row of each layer and head against the capture of
 * its kind, recomputed in double. */
typedef struct checker {
    heed_capture *caps[3];
    int rows[3];       /* rows checked, by kind */
    double max_diff[3];
} checker;

static void check_rows(void *user, const heed_qk *qk)
{
    checker *k = user;
    const heed_capture *cap = k->caps[qk->kind];
    if (qk->kind == HEED_ATTN_CROSS) {
        cr_expect_null(qk->bias, "cross-attention has no relative bias");
        cr_expect_eq(qk->n_kv, N_SRC, "cross-attention reads the %d encoded positions", N_SRC);
    }
    cr_expect_eq(qk->scale, 1.0f, "T5 scales no score");
    double *s = malloc(sizeof *s * (size_t)qk->n_kv);
    for (int i = 0; i < qk->n_q; i++) {
        const int64_t pos = qk->q_pos0 + i;
        for (int h = 0; h < qk->n_head; h++) {
            const float *q = qk->q + i * qk->q_stride + (int64_t)h * qk->head_dim;
            const int g = h / (qk->n_head / qk->n_kv_head);
            const int seen = qk->causal ? (int)(pos - qk->k_pos0 + 1) : qk->n_kv;
            double max = -INFINITY, sum = 0;
            for (int j = 0; j < seen; j++) {
                const float *kr = qk->k + g * qk->kv_head_stride + j * qk->kv_stride;
                double dot = 0;
                for (int d = 0; d < qk->head_dim; d++)
                    dot += (double)q[d] * kr[d];
                s[j] = qk->scale * dot;
                if (qk->bias)
                    s[j] += qk->bias[(int64_t)qk->bucket[pos - (qk->k_pos0 + j)] * qk->n_head + h];
                max = fmax(max, s[j]);
            }
            for (int j = 0; j < seen; j++)
                sum += exp(s[j] - max);
            const float *row = heed_capture_row(cap, qk->layer, h, (int)pos);
            cr_assert_not_null(row, "kind %d layer %d head %d row %lld not kept", qk->kind,
                               qk->layer, h, (long long)pos);
            for (int j = 0; j < heed_capture_n_keys(cap); j++) {
                const double want = j < seen ? exp(s[j] - max) / sum : 0.0;
                k->max_diff[qk->kind] = fmax(k->max_diff[qk->kind], fabs(row[j] - want));
            }
            k->rows[qk->kind]++;
        }
    }
    free(s);
}

/* Rows of a capture sum to 1 over its keys, and a causal row is 0 past
 * its own position. */
static void check_sums(const heed_model *m, const heed_capture *cap, bool causal)
{
    for (int l = 0; l < heed_model_n_layer(m); l++)
        for (int h = 0; h < heed_model_n_head(m); h++)
            for (int q = 0; q < heed_capture_n_tokens(cap); q++) {
                const float *row = heed_capture_row(cap, l, h, q);
                double sum = 0;
                for (int j = 0; j < heed_capture_n_keys(cap); j++) {
                    sum += row[j];
                    if (causal && j > q)
                        cr_expect_eq(row[j], 0.0f, "causal row %d has weight on key %d", q, j);
                }
                cr_expect(fabs(sum - 1.0) < 1e-5, "kind %d layer %d head %d row %d sums to %.9f",
                          heed_capture_kind(cap), l, h, q, sum);
            }
}

static void check_shape(const char *shape)
{
    heed_model *m = synth_t5(shape);
    const int32_t V = heed_model_n_vocab(m);
    heed_context *c = f32_context(m);
    float *plain = malloc(sizeof *plain * (size_t)N_TGT * (size_t)V);
    float *seen = malloc(sizeof *seen * (size_t)N_TGT * (size_t)V);
    run(c, plain);

    checker k = {0};
    for (int kind = 0; kind < 3; kind++) {
        k.caps[kind] = new_capture(m, (heed_attn_kind)kind);
        cr_assert_eq(heed_capture_kind(k.caps[kind]), kind);
        heed_context_set_capture(c, k.caps[kind]);
    }
    cr_expect_eq(heed_capture_n_keys(k.caps[HEED_ATTN_CROSS]), N_SRC);
    cr_expect_eq(heed_capture_n_tokens(k.caps[HEED_ATTN_CROSS]), N_TGT);
    heed_context_set_qk_tap(c, check_rows, &k);
    run(c, seen);
    heed_context_set_qk_tap(c, NULL, NULL);
    cr_expect(memcmp(plain, seen, sizeof *plain * (size_t)N_TGT * (size_t)V) == 0,
              "%s: capturing all three attentions changed the logits", shape);

    /* every layer's every row of each kind was checked */
    const int L = heed_model_n_layer(m), H = heed_model_n_head(m);
    const int want[3] = {L * H * N_TGT, L * H * N_SRC, L * H * N_TGT};
    static const char *const names[3] = {"decoder", "encoder", "cross"};
    for (int kind = 0; kind < 3; kind++) {
        cr_expect_eq(k.rows[kind], want[kind], "%s: %d %s rows checked, want %d", shape,
                     k.rows[kind], names[kind], want[kind]);
        cr_expect_lt(k.max_diff[kind], 1e-5, "%s: %s rows differ from the softmax by %g", shape,
                     names[kind], k.max_diff[kind]);
    }
    check_sums(m, k.caps[HEED_ATTN_SELF], true);
    check_sums(m, k.caps[HEED_ATTN_ENCODER], false);
    check_sums(m, k.caps[HEED_ATTN_CROSS], false);

    /* detached, the logits are the plain ones again, and nothing is recorded */
    heed_context_set_capture(c, NULL);
    const float before = heed_capture_row(k.caps[HEED_ATTN_CROSS], 0, 0, 0)[0];
    run(c, seen);
    cr_expect(memcmp(plain, seen, sizeof *plain * (size_t)N_TGT * (size_t)V) == 0);
    cr_expect_eq(heed_capture_row(k.caps[HEED_ATTN_CROSS], 0, 0, 0)[0], before);
    for (int kind = 0; kind < 3; kind++)
        heed_capture_free(k.caps[kind]);
    free(plain);
    free(seen);
    heed_context_free(c);
    heed_model_free(m);
}

Test(t5_capture, gated_gelu) { check_shape("tiny-t5"); }
Test(t5_capture, relu) { check_shape("tiny-t5-relu"); }

/* Clear errors: an encoder or cross capture of a decoder-only model, a
 * self capture whose rows are not its tokens, an unknown kind. */
Test(t5_capture, errors)
{
    heed_model *t5 = synth_t5("tiny-t5");
    heed_capture_params p = heed_capture_default_params(4);
    heed_capture *cap = NULL;
    p.n_keys = 6;
    cr_expect_eq(heed_capture_new(t5, &p, &cap), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "only cross-attention"), "%s", heed_last_error());
    p.kind = (heed_attn_kind)3;
    cr_expect_eq(heed_capture_new(t5, &p, &cap), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "unknown attention kind"), "%s", heed_last_error());
    p.kind = HEED_ATTN_CROSS;
    cr_expect_eq(heed_capture_new(t5, &p, &cap), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(heed_capture_n_keys(cap), 6);
    heed_capture_free(cap);
    heed_model_free(t5);

    char path[4200];
    snprintf(path, sizeof path, "%s", test_tmp_path("tiny-llama"));
    cr_assert_eq(heed_synth("tiny-llama", HEED_TYPE_F32, 7, 2, path), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    p.kind = HEED_ATTN_ENCODER;
    p.n_keys = 0;
    cr_expect_eq(heed_capture_new(m, &p, &cap), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "not an encoder-decoder"), "%s", heed_last_error());
    heed_model_free(m);
}

/* Cross statistics of rows stored by hand: argmax sources 0, 0 (a uniform
 * row: ties to the first), 2, 1 make two forward steps of three; one-hot
 * rows have no entropy, the uniform one ln 3. */
Test(t5_capture, cross_stats)
{
    heed_model *m = synth_t5("tiny-t5");
    heed_capture_params p = heed_capture_default_params(4);
    p.kind = HEED_ATTN_CROSS;
    p.n_keys = 3;
    heed_capture *cap;
    cr_assert_eq(heed_capture_new(m, &p, &cap), HEED_OK, "%s", heed_last_error());
    const float rows[4][3] = {{1, 0, 0}, {1.0f / 3, 1.0f / 3, 1.0f / 3}, {0, 0, 1}, {0, 1, 0}};
    for (int t = 0; t < 4; t++)
        heed_capture_store(cap, 1, 2, t, 0, rows[t], 3);
    heed_cross_stats s;
    cr_assert_eq(heed_capture_cross_stats(cap, 1, 2, 4, &s), HEED_OK, "%s", heed_last_error());
    cr_expect(fabs(s.monotonicity - 2.0 / 3.0) < 1e-12, "monotonicity %g", s.monotonicity);
    cr_expect(fabs(s.entropy - log(3.0) / 4) < 1e-6, "entropy %g", s.entropy);
    cr_assert_eq(heed_capture_cross_stats(cap, 1, 2, 2, &s), HEED_OK);
    cr_expect_eq(s.monotonicity, 1.0, "0 then 0 does not move back");
    cr_expect_eq(heed_capture_cross_stats(cap, 1, 2, 5, &s), HEED_ERR_ARG);
    heed_capture_free(cap);

    p = heed_capture_default_params(4);
    cr_assert_eq(heed_capture_new(m, &p, &cap), HEED_OK);
    cr_expect_eq(heed_capture_cross_stats(cap, 0, 0, 4, &s), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "cross-attention"), "%s", heed_last_error());
    heed_capture_free(cap);
    heed_model_free(m);
}

/* Sums of the rows of a JSON block's every head, each of n_keys weights,
 * to 1 (7 significant digits); returns the rows seen. */
static int json_rows_sum_to_one(const cJSON *block, int n_keys)
{
    int rows = 0;
    const cJSON *layer, *head, *row, *w;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItem(block, "layers"))
        cJSON_ArrayForEach(head, cJSON_GetObjectItem(layer, "heads"))
            cJSON_ArrayForEach(row, cJSON_GetObjectItem(head, "weights")) {
                double sum = 0;
                cr_expect_eq(cJSON_GetArraySize(row), n_keys);
                cJSON_ArrayForEach(w, row) sum += w->valuedouble;
                cr_expect(fabs(sum - 1) < 1e-5, "a row sums to %.9f", sum);
                rows++;
            }
    return rows;
}

/* heed attend on T5: the ids are the source, the decoder runs from its
 * start token and generates what heed run generates; the JSON holds the
 * decoder's block ("kind": "decoder") with the encoder's and the cross-
 * attention's, their rows over the source; --cross shows a target token
 * reading the source. */
Test(t5_capture, cli_attend)
{
    char gguf[4200], json[4200], args[16800], *out = NULL;
    snprintf(gguf, sizeof gguf, "%s", test_tmp_path("cli-tiny-t5.gguf"));
    snprintf(json, sizeof json, "%s", test_tmp_path("cli-tiny-t5.json"));
    cr_assert_eq(heed_synth("tiny-t5", HEED_TYPE_F32, 7, 2, gguf), HEED_OK);
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK);
    const int L = heed_model_n_layer(m), H = heed_model_n_head(m);
    const int32_t start = heed_model_decoder_start(m);
    heed_model_free(m);

    snprintf(args, sizeof args, "run '%s' --print-ids -n 4 --temp 0 --ignore-eos "
             "--ids 5,17,42,99,3,250", gguf);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    char want[256];
    snprintf(want, sizeof want, "%s", out);
    free(out);

    snprintf(args, sizeof args, "attend '%s' --ids 5,17,42,99,3,250 -n 4 --cross --token 3 "
             "--json '%s'", gguf, json);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strstr(out, "token 3 ") && strstr(out, "of 5, reading the source"), "%s", out);
    free(out);
    char *text = test_read_file(json, NULL);
    cJSON *d = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(d);
    cr_expect_str_eq(cJSON_GetObjectItem(d, "kind")->valuestring, "decoder");
    const cJSON *tokens = cJSON_GetObjectItem(d, "tokens");
    cr_assert_eq(cJSON_GetArraySize(tokens), 5);
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(tokens, 0), "id")->valueint, start);
    char got[256];
    int at = 0;
    for (int i = 1; i < 5; i++)
        at += snprintf(got + at, sizeof got - (size_t)at, "%s%d", i > 1 ? " " : "",
                       cJSON_GetObjectItem(cJSON_GetArrayItem(tokens, i), "id")->valueint);
    cr_expect(!strncmp(want, got, strlen(got)), "attend generated %s, run %s", got, want);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "source"),
                                                        "tokens")), 6);
    const cJSON *enc = cJSON_GetObjectItem(d, "encoder"), *cross = cJSON_GetObjectItem(d, "cross");
    cr_assert(enc && cross);
    cr_expect_str_eq(cJSON_GetObjectItem(enc, "kind")->valuestring, "encoder");
    cr_expect_str_eq(cJSON_GetObjectItem(cross, "kind")->valuestring, "cross");
    cr_expect_eq(json_rows_sum_to_one(enc, 6), L * H * 6);
    cr_expect_eq(json_rows_sum_to_one(cross, 6), L * H * 5);
    const cJSON *s;
    int stats = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(cross, "stats")) {
        const double mono = cJSON_GetObjectItem(s, "monotonicity")->valuedouble;
        cr_expect(mono >= 0 && mono <= 1, "monotonicity %g", mono);
        stats++;
    }
    cr_expect_eq(stats, L * H);
    cJSON_Delete(d);

    /* --svg of the cross view: 5 target rows (labelled by the targets)
     * across 6 source columns (labelled by the source tokens), none hidden */
    char svg[4200];
    snprintf(svg, sizeof svg, "%s", test_tmp_path("cli-tiny-t5-cross.svg"));
    snprintf(args, sizeof args, "attend '%s' --ids 5,17,42,99,3,250 -n 4 --cross --layer 1 "
             "--head 2 --svg '%s'", gguf, svg);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    free(out);
    text = test_read_file(svg, NULL);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "layer 1 head 2 (t5, cross-attention)") &&
              strstr(text, "rows: target tokens, columns: source tokens"), "%.300s", text);
    int cells = 0, grey = 0;
    for (const char *rect = text; (rect = strstr(rect, "<rect ")); rect++) {
        cells++;
        grey += !strncmp(strstr(rect, "fill=") + 6, "#d9d9d9", 7);
    }
    cr_expect_eq(cells, 5 * 6, "%d cells", cells);
    cr_expect_eq(grey, 0, "cross-attention hides no source token");
    /* the synth's vocabulary: id 250 is ' w250', 99 is ' P' */
    cr_expect(strstr(text, "> w250</text>") && strstr(text, "> P</text>"), "source labels");
    /* beside it the head view: targets left, sources right, a line per
     * weight of at least 1% (each target row sums to 1 over 6 sources, so
     * every row has one), none fainter */
    cr_expect(strstr(text, ">target</text>") && strstr(text, ">source</text>"), "head view columns");
    int lines = 0, faint = 0;
    for (const char *line = text; (line = strstr(line, "<line ")); line++) {
        lines++;
        faint += strtod(strstr(line, "stroke-opacity=") + 16, NULL) < 0.01;
    }
    cr_expect(lines >= 5 && lines <= 5 * 6, "%d lines", lines);
    cr_expect_eq(faint, 0);
    free(text);

    /* --npy of the cross view: (layers, heads, target rows, source keys),
     * each row summing to 1 */
    char npy[4200];
    snprintf(npy, sizeof npy, "%s", test_tmp_path("cli-tiny-t5-cross.npy"));
    snprintf(args, sizeof args, "attend '%s' --ids 5,17,42,99,3,250 -n 4 --cross --npy '%s'",
             gguf, npy);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    free(out);
    size_t bytes;
    text = test_read_file(npy, &bytes);
    cr_assert_not_null(text);
    char want_shape[64];
    snprintf(want_shape, sizeof want_shape, "'shape': (%d, %d, 5, 6)", L, H);
    cr_expect(strstr(text + 10, want_shape), "%.80s", text + 10);
    const size_t header = bytes - sizeof(float) * (size_t)(L * H * 5 * 6);
    for (int r = 0; r < L * H * 5; r++) {
        const float *row = (const float *)(text + header) + r * 6;
        double sum = 0;
        for (int k = 0; k < 6; k++)
            sum += row[k];
        cr_expect(fabs(sum - 1) < 1e-5, "npy row %d sums to %g", r, sum);
    }
    free(text);

    /* an encoder's document (t5encoder): "kind": "encoder", no T5 members */
    char encoder[4200];
    snprintf(encoder, sizeof encoder, "%s", test_tmp_path("cli-tiny-t5encoder.gguf"));
    cr_assert_eq(heed_synth("tiny-t5encoder", HEED_TYPE_F32, 7, 2, encoder), HEED_OK);
    snprintf(args, sizeof args, "attend '%s' --ids 5,17,42 --json '%s'", encoder, json);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    free(out);
    text = test_read_file(json, NULL);
    d = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(d);
    cr_expect_str_eq(cJSON_GetObjectItem(d, "kind")->valuestring, "encoder");
    cr_expect_str_eq(cJSON_GetObjectItem(d, "mask")->valuestring, "bidirectional");
    cr_expect_null(cJSON_GetObjectItem(d, "cross"));
    cr_expect_eq(json_rows_sum_to_one(d, 3), L * H * 3);
    cJSON_Delete(d);

    /* clear errors: the other views' options on other models, --npy */
    snprintf(args, sizeof args, "attend '%s' --ids 5,17 --residual r.npy 2>&1", gguf);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "--residual: not for an encoder-decoder yet"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("attend " DEFAULT_MODEL " --ids 1,2,3 --cross 2>&1", &out), 2);
    cr_expect(strstr(out, "--cross: 'llama' is not an encoder-decoder"), "%s", out);
    free(out);
}

/* heed heads on T5: the encoder's and the decoder's self-attention tables,
 * then every head's cross-attention entropy and monotonicity, equal to
 * heed_capture_cross_stats of the same run (a greedy decode as long as the
 * source), to the 3 decimals printed. */
Test(t5_capture, cli_heads)
{
    char gguf[4200], args[8400], *out = NULL;
    snprintf(gguf, sizeof gguf, "%s", test_tmp_path("heads-tiny-t5.gguf"));
    cr_assert_eq(heed_synth("tiny-t5", HEED_TYPE_F32, 7, 2, gguf), HEED_OK);
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK);
    const int L = heed_model_n_layer(m), H = heed_model_n_head(m);
    snprintf(args, sizeof args, "heads '%s' --ids 5,17,42,99,3,250", gguf);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strstr(out, "encoder self-attention (6 tokens)"), "%s", out);
    cr_expect(strstr(out, "decoder self-attention (6 tokens)"), "%s", out);
    const char *cross = strstr(out, "cross-attention (6 target tokens over 6 source tokens)");
    cr_assert_not_null(cross, "%s", out);
    cross = strchr(strchr(cross, '\n') + 1, '\n') + 1; /* past the column names */

    /* the same run through the library */
    int32_t tgt[6] = {heed_model_decoder_start(m)};
    heed_capture *cap;
    heed_capture_params p = heed_capture_default_params(6);
    p.kind = HEED_ATTN_CROSS;
    p.n_keys = 6;
    cr_assert_eq(heed_capture_new(m, &p, &cap), HEED_OK);
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = 6;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK);
    heed_context_set_capture(c, cap);
    float *logits = malloc(sizeof *logits * (size_t)heed_model_n_vocab(m));
    cr_assert_eq(heed_context_encode(c, (const int32_t[]){5, 17, 42, 99, 3, 250}, 6), HEED_OK);
    for (int t = 0; t < 6; t++) {
        if (t)
            tgt[t] = test_argmax(logits, heed_model_n_vocab(m));
        cr_assert_eq(heed_context_eval(c, tgt + t, 1, logits, false), HEED_OK);
    }
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            heed_cross_stats want;
            cr_assert_eq(heed_capture_cross_stats(cap, l, h, 6, &want), HEED_OK);
            int gl, gh;
            double ent, mono;
            cr_assert_eq(sscanf(cross, "%d %d %lf %lf", &gl, &gh, &ent, &mono), 4, "%s", cross);
            cr_expect(gl == l && gh == h && fabs(ent - want.entropy) < 6e-4 &&
                      fabs(mono - want.monotonicity) < 6e-4,
                      "L%d.H%d printed %d %d %g %g, want %g %g", l, h, gl, gh, ent, mono,
                      want.entropy, want.monotonicity);
            cross = strchr(cross, '\n') + 1;
        }
    free(logits);
    heed_context_free(c);
    heed_capture_free(cap);
    heed_model_free(m);
    free(out);
}
