/*
 * test_t5.c — encoder-decoders (t5) against llama.cpp c392e50: a tiny
 * `heed synth` T5 (gated GELU, and ReLU with tied output), its encoder
 * input through llama_encode, then a decoder prompt starting with the
 * decoder start token, the decoder's logits at every position and 32
 * greedy ids as llama.cpp computed them (tests/models/tiny-t5*-f32.json
 * and .logits.f32, made by tests/oracle/make_fixture.sh), f32 KV cache on
 * both sides.
 *
 * Tolerances, as test_archs.c takes them from the shared fixtures' table
 * (README, "Suggested tolerances"): ReLU, the F32 row (max |diff| 1e-3,
 * rms 1e-4; observed 1.5e-5, rms 1.9e-6); gated GELU, the gemma row (5e-3,
 * 5e-4: the GELU goes through llama.cpp's f16 table, as heed computes it,
 * where a last-bit difference in a gate flips an f16 step; observed 7.4e-4,
 * rms 1.3e-4, over the F32 row's rms). Greedy ids must agree up to the
 * first step whose peer margin is below twice the max-abs bound.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"


typedef struct fixture {
    cJSON *json;
    heed_model *m;
    int32_t *enc, *dec, *greedy;
    int n_enc, n_dec, n_greedy;
    float *ref;
    char gguf[4096];
} fixture;

static void fixture_load(fixture *f, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/models/%s.json", HEED_SOURCE_DIR, name);
    char *text = test_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    f->json = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(f->json, "bad JSON in %s", path);
    snprintf(f->gguf, sizeof f->gguf, "%s", test_tmp_path(name));
    cr_assert_eq(heed_synth(cJSON_GetObjectItem(f->json, "shape")->valuestring, HEED_TYPE_F32,
                            (uint64_t)cJSON_GetObjectItem(f->json, "seed")->valuedouble, 2,
                            f->gguf),
                 HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_model_load(f->gguf, &f->m), HEED_OK, "%s", heed_last_error());
    f->enc = test_json_ids(cJSON_GetObjectItem(f->json, "ids"), &f->n_enc);
    f->dec = test_json_ids(cJSON_GetObjectItem(f->json, "dec_ids"), &f->n_dec);
    f->greedy = test_json_ids(cJSON_GetObjectItem(f->json, "greedy"), &f->n_greedy);
    snprintf(path, sizeof path, "%s/tests/models/%s.logits.f32", HEED_SOURCE_DIR, name);
    size_t bytes;
    f->ref = test_read_file(path, &bytes);
    cr_assert_not_null(f->ref, "cannot read %s", path);
    cr_assert_eq(bytes, sizeof(float) * (size_t)f->n_dec * (size_t)heed_model_n_vocab(f->m),
                 "%s: %zu bytes of reference logits (remake them with "
                 "tests/oracle/make_fixture.sh)", name, bytes);
}

static void fixture_free(fixture *f)
{
    free(f->enc);
    free(f->dec);
    free(f->greedy);
    free(f->ref);
    heed_model_free(f->m);
    cJSON_Delete(f->json);
}

static heed_context *f32_context(const heed_model *m)
{
    heed_context_params cp = heed_context_default_params();
    cp.type_k = cp.type_v = HEED_TYPE_F32;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK, "%s", heed_last_error());
    return c;
}

static void check_t5(const char *name, double MAX_ABS, double RMS)
{
    fixture f;
    fixture_load(&f, name);
    const int32_t V = heed_model_n_vocab(f.m);
    cr_assert_eq(f.dec[0], heed_model_decoder_start(f.m), "%s: the decoder starts from %d", name,
                 heed_model_decoder_start(f.m));
    heed_context *ctx = f32_context(f.m);
    float *logits = malloc(sizeof *logits * (size_t)f.n_dec * (size_t)V);
    cr_assert_eq(heed_context_encode(ctx, f.enc, f.n_enc), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_eval(ctx, f.dec, f.n_dec, logits, true), HEED_OK, "%s",
                 heed_last_error());
    double max_abs = 0, sq = 0;
    for (size_t i = 0; i < (size_t)f.n_dec * (size_t)V; i++) {
        const double d = fabs((double)logits[i] - f.ref[i]);
        max_abs = fmax(max_abs, d);
        sq += d * d;
    }
    const double rms = sqrt(sq / ((double)f.n_dec * V));
    cr_log_info("%s: decoder logits max |diff| %.3g (tolerance %.3g), rms %.3g (%.3g)", name,
                max_abs, MAX_ABS, rms, RMS);
    cr_expect_leq(max_abs, MAX_ABS, "%s: max |diff| %g", name, max_abs);
    cr_expect_leq(rms, RMS, "%s: rms %g", name, rms);

    const cJSON *margins = cJSON_GetObjectItem(f.json, "greedy_margins");
    int n_greedy = f.n_greedy;
    for (int s = 0; s < n_greedy; s++) /* up to the first thin margin */
        if (cJSON_GetArrayItem(margins, s)->valuedouble < 2 * MAX_ABS)
            n_greedy = s;
    cr_log_info("%s: %d of %d greedy ids checked", name, n_greedy, f.n_greedy);
    test_expect_greedy(ctx, logits + (size_t)(f.n_dec - 1) * (size_t)V, f.greedy, n_greedy, V,
                       logits, name);
    free(logits);
    heed_context_free(ctx);
    fixture_free(&f);
}

Test(t5, gated_gelu) { check_t5("tiny-t5-f32", 5e-3, 5e-4); }
Test(t5, relu_tied) { check_t5("tiny-t5-relu-f32", 1e-3, 1e-4); }

/* The decoder token by token gives the logits of the prompt in one batch
 * (the causal buckets and the cache); reset keeps the encoding and empties
 * the decoder; a new encoding replaces the old one. */
Test(t5, decoder_steps_and_reset)
{
    fixture f;
    fixture_load(&f, "tiny-t5-f32");
    const int32_t V = heed_model_n_vocab(f.m);
    heed_context *ctx = f32_context(f.m);
    float *all = malloc(sizeof *all * (size_t)f.n_dec * (size_t)V);
    float *one = malloc(sizeof *one * (size_t)V);
    cr_assert_eq(heed_context_encode(ctx, f.enc, f.n_enc), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_context_eval(ctx, f.dec, f.n_dec, all, true), HEED_OK);
    heed_context_reset(ctx);
    double max_abs = 0;
    for (int t = 0; t < f.n_dec; t++) {
        cr_assert_eq(heed_context_eval(ctx, &f.dec[t], 1, one, false), HEED_OK, "%s",
                     heed_last_error());
        for (int i = 0; i < V; i++)
            max_abs = fmax(max_abs, fabs((double)one[i] - all[(size_t)t * V + i]));
    }
    cr_expect_leq(max_abs, 1e-4, "token by token differs by %g", max_abs);

    /* another input gives other logits for the start token */
    cr_assert_eq(heed_context_encode(ctx, f.enc, f.n_enc / 2), HEED_OK);
    cr_assert_eq(heed_context_n_past(ctx), 0);
    cr_assert_eq(heed_context_eval(ctx, f.dec, 1, one, false), HEED_OK);
    double diff = 0;
    for (int i = 0; i < V; i++)
        diff = fmax(diff, fabs((double)one[i] - all[i]));
    cr_expect_gt(diff, 1e-3, "a shorter encoder input left the logits as they were");
    free(all);
    free(one);
    heed_context_free(ctx);
    fixture_free(&f);
}

/* Clear errors: decoding before encoding, encoding a decoder-only model,
 * bad encoder ids, an input longer than the context. */
Test(t5, errors)
{
    fixture f;
    fixture_load(&f, "tiny-t5-f32");
    heed_context *ctx = f32_context(f.m);
    float *logits = malloc(sizeof *logits * (size_t)heed_model_n_vocab(f.m));
    cr_assert_eq(heed_context_eval(ctx, f.dec, 1, logits, false), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "heed_context_encode"), "%s", heed_last_error());
    const int32_t bad = heed_model_n_vocab(f.m);
    cr_assert_eq(heed_context_encode(ctx, &bad, 1), HEED_ERR_ARG);
    cr_assert_eq(heed_context_encode(ctx, f.enc, 0), HEED_ERR_ARG);
    cr_assert_eq(heed_context_encode(ctx, f.enc, heed_context_n_ctx(ctx) + 1), HEED_ERR_ARG);
    heed_context_free(ctx);

    const char *path = test_tmp_path("t5-errors-llama");
    cr_assert_eq(heed_synth("tiny-llama", HEED_TYPE_F32, 1, 2, path), HEED_OK);
    heed_model *m;
    cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_model_decoder_start(m), -1);
    cr_assert_eq(heed_context_new(m, NULL, &ctx), HEED_OK);
    cr_assert_eq(heed_context_encode(ctx, f.enc, 2), HEED_ERR_UNSUPPORTED);
    heed_context_free(ctx);
    heed_model_free(m);
    free(logits);
    fixture_free(&f);
}

/* heed run with --ids: the ids are the encoder's input, the decoder starts
 * itself and generates llama.cpp's greedy ids from the start token alone
 * (greedy_from_start; every peer margin above twice the case's bound, so
 * all 32 are checked; EOS, id 1, may be among them: --ignore-eos, as the
 * peer does not stop). */
static void check_cli(const char *name)
{
    fixture f;
    fixture_load(&f, name);
    int n;
    int32_t *greedy = test_json_ids(cJSON_GetObjectItem(f.json, "greedy_from_start"), &n);
    char args[8192], *out = NULL;
    int at = snprintf(args, sizeof args, "run '%s' --print-ids -n %d --temp 0 --ignore-eos "
                      "-ctk f32 -ctv f32 --ids ", f.gguf, n);
    for (int i = 0; i < f.n_enc; i++)
        at += snprintf(args + at, sizeof args - (size_t)at, "%s%d", i ? "," : "", f.enc[i]);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    char want[4096];
    at = 0;
    for (int i = 0; i < n; i++)
        at += snprintf(want + at, sizeof want - (size_t)at, "%s%d", i ? " " : "", greedy[i]);
    cr_expect(!strncmp(out, want, strlen(want)), "%s: got %s\nwant %s", name, out, want);
    free(out);
    free(greedy);
    fixture_free(&f);
}

Test(t5, cli_run_ids_gated) { check_cli("tiny-t5-f32"); }
Test(t5, cli_run_ids_relu) { check_cli("tiny-t5-relu-f32"); }

/* t5encoder: heed_context_embed's per-token states (after enc.output_norm)
 * are llama_encode's embeddings (tests/models/tiny-t5encoder-f32.embd.f32,
 * peer_logits on the encoder-only synth), within the F32 row (ReLU FFN;
 * observed below 1e-5), and mean pooling is their mean. */
Test(t5, t5encoder_embeddings)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/models/tiny-t5encoder-f32.json", HEED_SOURCE_DIR);
    char *text = test_read_file(path, NULL);
    cr_assert_not_null(text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    int n;
    int32_t *ids = test_json_ids(cJSON_GetObjectItem(j, "ids"), &n);
    const char *gguf = test_tmp_path("tiny-t5encoder");
    cr_assert_eq(heed_synth("tiny-t5encoder", HEED_TYPE_F32, 1, 2, gguf), HEED_OK, "%s",
                 heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    cr_assert(heed_model_is_encoder(m));
    cr_assert_eq(heed_model_decoder_start(m), -1);
    const int E = heed_model_n_embd(m);
    snprintf(path, sizeof path, "%s/tests/models/tiny-t5encoder-f32.embd.f32", HEED_SOURCE_DIR);
    size_t bytes;
    float *ref = test_read_file(path, &bytes);
    cr_assert_eq(bytes, sizeof(float) * (size_t)n * (size_t)E);
    heed_context *c;
    cr_assert_eq(heed_context_new(m, NULL, &c), HEED_OK, "%s", heed_last_error());
    float *rows = malloc(sizeof *rows * (size_t)n * (size_t)E), *mean = malloc(sizeof *mean * (size_t)E);
    cr_assert_eq(heed_context_embed(c, ids, n, HEED_POOLING_NONE, rows), HEED_OK, "%s",
                 heed_last_error());
    double max_abs = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)E; i++)
        max_abs = fmax(max_abs, fabs((double)rows[i] - ref[i]));
    cr_log_info("tiny-t5encoder: embeddings max |diff| %.3g (tolerance 1e-3)", max_abs);
    cr_expect_leq(max_abs, 1e-3, "embeddings differ by %g", max_abs);
    cr_assert_eq(heed_context_embed(c, ids, n, HEED_POOLING_MEAN, mean), HEED_OK);
    for (int i = 0; i < E; i++) {
        double sum = 0;
        for (int t = 0; t < n; t++)
            sum += ref[(size_t)t * E + i];
        cr_expect_leq(fabs(mean[i] - sum / n), 1e-3, "mean pooling, element %d", i);
    }
    free(rows);
    free(mean);
    free(ref);
    free(ids);
    heed_context_free(c);
    heed_model_free(m);
    cJSON_Delete(j);
}

/* What one decoder step reads (heed bench's bandwidth), counted from the
 * file's tensor table: the decoder's matrices but the cross keys' and
 * values' (made once per encoding), and the output head (the embedding
 * table where tied) — no encoder matrix. */
Test(t5, matrix_bytes_are_a_decoder_step)
{
    static const char *const shapes[] = {"tiny-t5", "tiny-t5-relu"};
    for (int s = 0; s < 2; s++) {
        const char *path = test_tmp_path(shapes[s]);
        cr_assert_eq(heed_synth(shapes[s], HEED_TYPE_F16, 1, 2, path), HEED_OK);
        heed_gguf *g;
        cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
        const heed_gguf_tensor *out = heed_gguf_find_tensor(g, "output.weight");
        int64_t want = (int64_t)(out ? out : heed_gguf_find_tensor(g, "token_embd.weight"))->nbytes;
        for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
            const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
            if (!strncmp(t->name, "dec.", 4) && t->n_dims == 2 && !strstr(t->name, "rel_b") &&
                !strstr(t->name, "cross_attn_k.") && !strstr(t->name, "cross_attn_v."))
                want += (int64_t)t->nbytes;
        }
        heed_gguf_close(g);
        heed_model *m;
        cr_assert_eq(heed_model_load(path, &m), HEED_OK, "%s", heed_last_error());
        cr_expect_eq(heed_model_matrix_bytes(m), want, "%s: %lld, want %lld", shapes[s],
                     (long long)heed_model_matrix_bytes(m), (long long)want);
        heed_model_free(m);
    }
}

/* heed bench on T5: pp encodes, tg decodes reading that encoding, after a
 * decoder depth and with the encoder's attention captured too; it ends
 * with the line scripts read. -np (streams in one pass) is refused. */
Test(t5, cli_bench)
{
    const char *path = test_tmp_path("t5-bench");
    cr_assert_eq(heed_synth("tiny-t5", HEED_TYPE_F16, 1, 2, path), HEED_OK);
    static const char *const opts[] = {"-p 8 -n 4", "-p 8 -n 4 -d 3 --capture", "-p 0 -n 4"};
    for (int i = 0; i < 3; i++) {
        char args[4400], *out = NULL;
        snprintf(args, sizeof args, "bench '%s' -r 1 %s", path, opts[i]);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        const char *last = strrchr(out, '\n');
        while (last > out && last[-1] != '\n' && last[-1])
            last--; /* the start of the last line */
        double pp, tg;
        cr_expect_eq(sscanf(last, i < 2 ? "pp8 %lf tg4 %lf" : "pp0 %lf tg4 %lf", &pp, &tg), 2,
                     "%s", out);
        cr_expect((i < 2 ? pp > 0 : pp == 0) && tg > 0, "%s: %s", args, out);
        cr_expect(i != 1 || strstr(out, "with capture"), "%s", out);
        free(out);
    }
    char args[4400], *out = NULL;
    snprintf(args, sizeof args, "bench '%s' -r 1 -p 8 -n 4 -np 2 2>&1", path);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", args);
    cr_expect(strstr(out, "-np: an encoder-decoder"), "%s", out);
    free(out);
}
