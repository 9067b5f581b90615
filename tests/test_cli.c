/* test_cli.c — the CLI as a user runs it: `heed info` on every fixture,
 * exit codes on bad input, and `heed quantize` end to end. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

/* `heed info --json` of path, parsed; checks it agrees with the reader. */
static void check_info_json(const char *path)
{
    char args[8600], *out = NULL;
    snprintf(args, sizeof args, "info --json '%s'", path);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cJSON *j = cJSON_Parse(out);
    cr_assert_not_null(j, "invalid JSON from %s", args);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    cJSON *tensors = cJSON_GetObjectItem(j, "tensors");
    cr_expect_eq(cJSON_GetArraySize(tensors), heed_gguf_n_tensors(g));
    double params = 0;
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, i);
        cJSON *jt = cJSON_GetArrayItem(tensors, (int)i);
        cr_expect_str_eq(cJSON_GetObjectItem(jt, "name")->valuestring, t->name);
        cr_expect_str_eq(cJSON_GetObjectItem(jt, "type")->valuestring, heed_type_name(t->type));
        cr_expect_eq(cJSON_GetObjectItem(jt, "bytes")->valuedouble, (double)t->nbytes);
        params += (double)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    }
    cr_expect_eq(cJSON_GetObjectItem(j, "n_params")->valuedouble, params);
    cr_expect_eq(cJSON_GetObjectItem(j, "file_size")->valuedouble,
                 (double)heed_gguf_file_size(g));
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "metadata")), heed_gguf_n_kv(g));
    const heed_gguf_value *tokens;
    if (heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &tokens) == HEED_OK) {
        cJSON *tok = cJSON_GetObjectItem(j, "tokenizer");
        cr_expect_eq(cJSON_GetObjectItem(tok, "n_vocab")->valuedouble, (double)tokens->v.arr.n);
    }
    heed_gguf_close(g);
    cJSON_Delete(j);
    free(out);
}

Test(cli, info_every_fixture)
{
    char dir[4096];
    FIXTURE_PATH(dir, "");
    const char *subdirs[] = {"", "vocab/"};
    int seen = 0;
    for (int s = 0; s < 2; s++) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s%s", dir, subdirs[s]);
        DIR *d = opendir(sub);
        cr_assert_not_null(d, "%s", sub);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 5, ".gguf"))
                continue;
            char path[8400];
            snprintf(path, sizeof path, "%s%s", sub, e->d_name);
            char args[8500], *out = NULL;
            snprintf(args, sizeof args, "info '%s'", path);
            cr_expect_eq(test_run_cli(args, &out), 0, "%s", args);
            cr_expect(out && strstr(out, "tensors ("), "%s", args);
            free(out);
            check_info_json(path);
            seen++;
        }
        closedir(d);
    }
    cr_expect_geq(seen, 11, "found only %d GGUF fixtures", seen);
}

Test(cli, info_text_names_architecture_and_tokenizer)
{
    char path[4096], args[4200], *out = NULL;
    FIXTURE_PATH(path, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "info '%s'", path);
    cr_assert_eq(test_run_cli(args, &out), 0);
    cr_expect(strstr(out, "architecture  qwen2"), "%s", out);
    cr_expect(strstr(out, "qwen2.attention.head_count "), "%s", out);
    cr_expect(strstr(out, "model gpt2"), "%s", out);
    cr_expect(strstr(out, "50257 tokens"), "%s", out);
    cr_expect(strstr(out, "token_embd.weight"), "%s", out);
    free(out);
}

Test(cli, bad_input_exits_2_with_a_message_naming_the_file)
{
    const char *path = test_tmp_path("truncated.gguf");
    FILE *f = fopen(path, "wb");
    fwrite("GGUF\3\0\0\0\1\0\0\0", 1, 12, f); /* cut inside the tensor count */
    fclose(f);
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "info '%s' 2>&1", path);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, path) && strstr(out, "offset 8"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("info", NULL), 2);
    cr_expect_eq(test_run_cli("info a b", NULL), 2);
    cr_expect_eq(test_run_cli("no-such-command", NULL), 2);
    cr_expect_eq(test_run_cli("--help", NULL), 0);
}

/* heed quantize of the F32 fixture gives the tensors llama-quantize wrote. */
/* Every tensor of the file `heed quantize IN OUT type` writes has the type
 * and bytes of ref_path's, and the files' general.file_type agree. */
static void check_quantize_against(const char *in, const char *type, const char *ref_path,
                                   const char *out_name)
{
    char args[9000];
    const char *out = test_tmp_path(out_name);
    snprintf(args, sizeof args, "quantize '%s' '%s' %s -t 2", in, out, type);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    heed_gguf *got, *ref;
    cr_assert_eq(heed_gguf_open(out, &got), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_open(ref_path, &ref), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_n_tensors(got), heed_gguf_n_tensors(ref));
    for (int64_t i = 0; i < heed_gguf_n_tensors(got); i++) {
        const heed_gguf_tensor *a = heed_gguf_tensor_at(got, i);
        const heed_gguf_tensor *b = heed_gguf_find_tensor(ref, a->name);
        cr_assert_not_null(b, "%s", a->name);
        cr_expect_eq(a->type, b->type, "%s: %s vs %s", a->name, heed_type_name(a->type),
                     heed_type_name(b->type));
        cr_assert_eq(a->nbytes, b->nbytes, "%s", a->name);
        cr_expect(memcmp(a->data, b->data, a->nbytes) == 0, "%s: bytes differ", a->name);
    }
    uint64_t ft_got, ft_ref;
    cr_expect_eq(heed_gguf_get_uint(got, "general.file_type", &ft_got), HEED_OK);
    cr_expect_eq(heed_gguf_get_uint(ref, "general.file_type", &ft_ref), HEED_OK);
    cr_expect_eq(ft_got, ft_ref);
    heed_gguf_close(got);
    heed_gguf_close(ref);
}

static void check_quantize(const char *type, const char *fixture)
{
    char in[4096], ref_path[4096];
    FIXTURE_PATH(in, "llama-tiny-f32.gguf");
    FIXTURE_PATH(ref_path, fixture);
    check_quantize_against(in, type, ref_path, fixture);
}

Test(cli, quantize_q8_0_matches_llama_quantize) { check_quantize("q8_0", "llama-tiny-q8_0.gguf"); }
Test(cli, quantize_q4_0_matches_llama_quantize) { check_quantize("q4_0", "llama-tiny-q4_0.gguf"); }
Test(cli, quantize_q4_K_matches_llama_quantize) { check_quantize("q4_K", "llama-tiny-q4_k.gguf"); }
Test(cli, quantize_q6_K_matches_llama_quantize) { check_quantize("Q6_K", "llama-tiny-q6_k.gguf"); }
Test(cli, quantize_f16_matches_llama_quantize) { check_quantize("f16", "llama-tiny-f16.gguf"); }
Test(cli, quantize_bf16_matches_llama_quantize) { check_quantize("bf16", "llama-tiny-bf16.gguf"); }

/* The codebook types against the committed files llama.cpp c392e50's
 * `llama-quantize --pure` made from `heed synth --seed 1` models:
 * tiny-llama-iq4_nl.gguf from tiny-llama in f32, tiny-llama-256-iq4_xs.gguf
 * from tiny-llama-256 in f16 (so this also quantises from f16). */
static void check_quantize_synth(const char *shape, int src_type, const char *type,
                                 const char *model)
{
    char in[4096], ref_path[4096], name[256];
    snprintf(name, sizeof name, "%s-synth.gguf", shape);
    snprintf(in, sizeof in, "%s", test_tmp_path(name));
    cr_assert_eq(heed_synth(shape, src_type, 1, 2, in), HEED_OK, "%s", heed_last_error());
    snprintf(ref_path, sizeof ref_path, "%s/tests/models/%s", HEED_SOURCE_DIR, model);
    check_quantize_against(in, type, ref_path, "quantized.gguf");
}

Test(cli, quantize_iq4_nl_matches_llama_quantize)
{
    check_quantize_synth("tiny-llama", HEED_TYPE_F32, "IQ4_NL", "tiny-llama-iq4_nl.gguf");
}
Test(cli, quantize_iq4_xs_matches_llama_quantize)
{
    check_quantize_synth("tiny-llama-256", HEED_TYPE_F16, "iq4_xs", "tiny-llama-256-iq4_xs.gguf");
}

/* Rows that q4_K's 256-element blocks do not divide fall back as in
 * llama.cpp; 1-D tensors are left alone. */
Test(cli, quantize_falls_back_and_keeps_1d_tensors)
{
    enum { ROWS = 4 };
    static float w96[96 * ROWS], w256[256 * ROWS], w40[40 * ROWS], norm[96];
    for (int i = 0; i < 96 * ROWS; i++)
        w96[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int i = 0; i < 256 * ROWS; i++)
        w256[i] = (float)((i * 53) % 97) / 48.0f - 1.0f;
    for (int i = 0; i < 40 * ROWS; i++)
        w40[i] = (float)i / 80.0f;
    for (int i = 0; i < 96; i++)
        norm[i] = 1.0f;
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_str(w, "general.architecture", "test"), HEED_OK);
    int64_t ne96[2] = {96, ROWS}, ne256[2] = {256, ROWS}, ne40[2] = {40, ROWS}, ne1[1] = {96};
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "w96", HEED_TYPE_F32, 2, ne96, w96), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "w256", HEED_TYPE_F32, 2, ne256, w256), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "w40", HEED_TYPE_F32, 2, ne40, w40), HEED_OK);
    cr_assert_eq(heed_gguf_writer_add_tensor(w, "norm", HEED_TYPE_F32, 1, ne1, norm), HEED_OK);
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", test_tmp_path("fallback-in.gguf"));
    cr_assert_eq(heed_gguf_writer_write(w, in), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);

    snprintf(out, sizeof out, "%s", test_tmp_path("fallback-out.gguf"));
    cr_assert_eq(heed_quantize_file(in, out, HEED_TYPE_Q4_K, 1), HEED_OK, "%s", heed_last_error());
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(out, &g), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(heed_gguf_find_tensor(g, "w96")->type, HEED_TYPE_Q5_0);
    cr_expect_eq(heed_gguf_find_tensor(g, "w256")->type, HEED_TYPE_Q4_K);
    cr_expect_eq(heed_gguf_find_tensor(g, "w40")->type, HEED_TYPE_F16);
    const heed_gguf_tensor *n = heed_gguf_find_tensor(g, "norm");
    cr_expect_eq(n->type, HEED_TYPE_F32);
    cr_expect(memcmp(n->data, norm, sizeof norm) == 0);
    /* The fallback data is what the fallback type's own quantiser gives. */
    static unsigned char expect[sizeof w96];
    heed_type_get(HEED_TYPE_Q5_0)->from_float(w96, expect, 96 * ROWS);
    const heed_gguf_tensor *q = heed_gguf_find_tensor(g, "w96");
    cr_expect(memcmp(q->data, expect, q->nbytes) == 0);
    heed_gguf_close(g);

    /* q2_K, q3_K and iq4_xs fall back to iq4_nl */
    cr_assert_eq(heed_quantize_file(in, out, HEED_TYPE_IQ4_XS, 1), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_gguf_open(out, &g), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(heed_gguf_find_tensor(g, "w96")->type, HEED_TYPE_IQ4_NL);
    cr_expect_eq(heed_gguf_find_tensor(g, "w256")->type, HEED_TYPE_IQ4_XS);
    cr_expect_eq(heed_gguf_find_tensor(g, "w40")->type, HEED_TYPE_F16);
    heed_type_get(HEED_TYPE_IQ4_NL)->from_float(w96, expect, 96 * ROWS);
    q = heed_gguf_find_tensor(g, "w96");
    cr_expect(memcmp(q->data, expect, q->nbytes) == 0);
    heed_gguf_close(g);

    cr_expect_eq(heed_quantize_file(in, out, HEED_TYPE_IQ2_XXS, 1), HEED_ERR_UNSUPPORTED);
    char args[2048];
    snprintf(args, sizeof args, "quantize '%s' '%s' q9_9", in, out);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}

/* `heed logits` writes [n][n_vocab] float32 that match llama.cpp's (with
 * its references' f32 KV cache). */
Test(cli, logits_match_the_reference)
{
    char model[4096], ref_path[4096], args[9000];
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    FIXTURE_PATH(ref_path, "llama_f32.logits.f32");
    const char *out = test_tmp_path("logits.f32");
    snprintf(args, sizeof args, "logits '%s' --ids 1,450,13019,3282,29915,29873,4891,278,"
             "11952,1363,372,471,23407,29889 -o '%s' -t 2 -ctk f32 -ctv f32", model, out);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    size_t n_got, n_ref;
    float *got = test_read_file(out, &n_got), *ref = test_read_file(ref_path, &n_ref);
    cr_assert_eq(n_got, n_ref);
    float max_abs = 0;
    for (size_t i = 0; i < n_ref / sizeof(float); i++)
        max_abs = fmaxf(max_abs, fabsf(got[i] - ref[i]));
    cr_expect_leq(max_abs, 1e-3f, "max |diff| %g", max_abs);
    free(got);
    free(ref);
}

/* `heed run --temp 0 --print-ids` prints llama.cpp's greedy ids. */
Test(cli, run_greedy_prints_the_reference_ids)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "run '%s' --ids 464,5044,1422,470,3272,262,4675,780,340,373,"
             "10032,13 -n 8 --temp 0 --print-ids", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect_str_eq(out, "39038 26839 44989 3016 47796 46309 7342 36309\n");
    free(out);
}

/* -ctk / -ctv: every cache type gives llama.cpp's (f32-cache) greedy ids
 * up to the first step whose reference top-1 margin is below 0.1 (step 5,
 * 0.048: a q8_0 cache moves these logits by ~0.4); a type a cache cannot
 * have, or one the head size does not fit, is refused naming it. */
Test(cli, run_cache_types)
{
    char model[4096], qwen[4096], args[9000], *out = NULL;
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    FIXTURE_PATH(qwen, "qwen2-tiny.gguf");
    static const char *types[] = {"f32", "f16", "bf16", "q8_0"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        snprintf(args, sizeof args, "run '%s' --ids 1,450,13019,3282,29915,29873,4891,278,"
                 "11952,1363,372,471,23407,29889 -n 5 --temp 0 --print-ids -ctk %s "
                 "--cache-type-v %s", model, types[i], types[i]);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        cr_expect_str_eq(out, "14099 23339 31531 19628 8159\n", "%s cache", types[i]);
        free(out);
    }
    snprintf(args, sizeof args, "run '%s' --ids 1 -ctk q4_0 2>&1", model);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "-ctk wants f32, f16, bf16 or q8_0, not 'q4_0'"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "bench '%s' -p 8 -n 0 -r 1 -ctv q8_0 2>&1", qwen);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "value cache type q8_0 needs head_dim a multiple of 32 (this "
                          "model's is 16)"), "%s", out);
    free(out);
}

Test(cli, run_sampling_is_reproducible_by_seed)
{
    char model[4096], args[4600], *a = NULL, *b = NULL, *c = NULL;
    FIXTURE_PATH(model, "llama-tiny-q8_0.gguf");
    snprintf(args, sizeof args, "run '%s' --ids 1,450 -n 24 --temp 1 --top-k 0 --top-p 1 "
             "--min-p 0 --seed 7 --print-ids", model);
    cr_assert_eq(test_run_cli(args, &a), 0);
    cr_assert_eq(test_run_cli(args, &b), 0);
    cr_expect_str_eq(a, b);
    snprintf(args, sizeof args, "run '%s' --ids 1,450 -n 24 --temp 1 --top-k 0 --top-p 1 "
             "--min-p 0 --seed 8 --print-ids", model);
    cr_assert_eq(test_run_cli(args, &c), 0);
    cr_expect_str_neq(a, c);
    free(a);
    free(b);
    free(c);
}

Test(cli, run_and_logits_refuse_bad_input_with_exit_2)
{
    char model[4096], bert[4096], args[9000], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    FIXTURE_PATH(bert, "bert-tiny.gguf");
    snprintf(args, sizeof args, "run '%s' --ids 1,99999999 --print-ids 2>&1", model);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "out of range"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run '%s' --ids 1,x --print-ids 2>&1", model);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "not a list of token ids"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run '%s' --ids 1 --print-ids 2>&1", bert);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "'bert' is an encoder"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "run '%s' --ids 1 --temp -1 --print-ids", model);
    cr_expect_eq(test_run_cli(args, NULL), 2);
    snprintf(args, sizeof args, "logits '%s' --ids 1,2", model); /* no -o */
    cr_expect_eq(test_run_cli(args, NULL), 2);
    snprintf(args, sizeof args, "run '%s' --ids 1,2 -c 1 --print-ids", model);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}

/* `heed run -p TEXT`: the prompt is tokenized as llama.cpp does, so greedy
 * decoding gives the reference ids; text output starts with the prompt. */
Test(cli, run_with_a_text_prompt)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "run '%s' -p \"The animal didn't cross the street because it "
             "was tired.\" -n 8 --temp 0 --print-ids", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect_str_eq(out, "39038 26839 44989 3016 47796 46309 7342 36309\n");
    free(out);
    snprintf(args, sizeof args, "run '%s' -p 'The animal' -n 4 --temp 0", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strncmp(out, "The animal", 10) == 0 && strlen(out) > 12, "%s", out);
    free(out);
    FIXTURE_PATH(model, "stories260K.bin");
    snprintf(args, sizeof args, "run '%s' -p Once 2>&1", model);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "carry no tokenizer"), "%s", out);
    free(out);
}

/* `heed perplexity` agrees with llama-perplexity (c392e50, -c 64 -b 64
 * -ctk f32 -ctv f32, 1 thread) on the same model and text: it printed
 * PPL = 115220916.4306 +/- 24748709.43925. (The tiny model's weights are
 * random, hence the size.) */
Test(cli, perplexity_matches_llama_perplexity)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "perplexity '%s' -f '%s/tests/data/perplexity.txt' -c 64 "
             "-ctk f32 -ctv f32", model, HEED_SOURCE_DIR);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    double ppl, err;
    cr_assert_eq(sscanf(out, "PPL = %lf +/- %lf", &ppl, &err), 2, "%s", out);
    cr_expect_float_eq(ppl, 115220916.4306, 1e-4 * 115220916.4306, "%s", out);
    cr_expect_float_eq(err, 24748709.43925, 1e-3 * 24748709.43925, "%s", out);
    cr_expect(strstr(out, "341 predictions in 11 windows"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "perplexity '%s' -f '%s/tests/data/perplexity.txt' -c 4096",
             model, HEED_SOURCE_DIR);
    cr_expect_eq(test_run_cli(args, NULL), 2); /* too few tokens for the window */
}

/* `heed tokenize --inp` prints llama.cpp's .out file exactly. */
Test(cli, tokenize_inp_prints_the_out_file)
{
    char inp[4096], outp[4096], args[9000], *out = NULL;
    FIXTURE_PATH(inp, "vocab/ggml-vocab-gpt-2.gguf.inp");
    FIXTURE_PATH(outp, "vocab/ggml-vocab-gpt-2.gguf.out");
    snprintf(args, sizeof args, "tokenize '%.*s' --inp '%s'", (int)(strlen(inp) - 4), inp, inp);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    char *want = test_read_file(outp, NULL);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

/* `heed embed` on bert: the tokenizer adds [CLS]/[SEP], the model pools as
 * its metadata says (CLS), and the raw vector is llama.cpp's. */
Test(cli, embed_and_similarity)
{
    char model[4096], ref_path[4096], args[9000], *out = NULL;
    FIXTURE_PATH(model, "bert-tiny.gguf");
    FIXTURE_PATH(ref_path, "bert.embd_cls.f32");
    char path[512];
    snprintf(path, sizeof path, "%s", test_tmp_path("cls.f32"));
    snprintf(args, sizeof args, "embed '%s' -p \"The animal didn't cross the street because "
             "it was tired.\" --no-normalize -o '%s'", model, path);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    size_t n_got, n_ref;
    float *got = test_read_file(path, &n_got), *ref = test_read_file(ref_path, &n_ref);
    cr_assert_eq(n_got, n_ref);
    for (size_t i = 0; i < n_ref / sizeof(float); i++)
        cr_expect_leq(fabsf(got[i] - ref[i]), 1e-3f, "element %zu", i);
    free(got);
    free(ref);

    snprintf(args, sizeof args, "embed '%s' -p 'The animal' -o '%s'", model, path);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    got = test_read_file(path, &n_got);
    double norm = 0;
    for (size_t i = 0; i < n_got / sizeof(float); i++)
        norm += (double)got[i] * got[i];
    cr_expect_float_eq(norm, 1.0, 1e-5);
    free(got);

    snprintf(args, sizeof args, "similarity '%s' 'The animal was tired' 'A cat slept' "
             "'The animal was tired'", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    float s[9];
    cr_assert_eq(sscanf(out, "%f %f %f %f %f %f %f %f %f", &s[0], &s[1], &s[2], &s[3], &s[4],
                        &s[5], &s[6], &s[7], &s[8]), 9, "%s", out);
    cr_expect_float_eq(s[0], 1.0f, 1e-4f);
    cr_expect_float_eq(s[2], 1.0f, 1e-4f); /* the same text twice */
    cr_expect_float_eq(s[1], s[3], 1e-6f);
    cr_expect_lt(s[1], 0.999f);
    free(out);
    snprintf(args, sizeof args, "similarity '%s' 'only one'", model);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}

/* --stop ends generation once the text contains the stop string. */
Test(cli, run_stops_at_a_stop_string)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    /* greedy from "The animal": " Human Human Human Human Sina Sina ..." */
    snprintf(args, sizeof args, "run '%s' -p 'The animal' -n 20 --temp 0 --stop Sina "
             "--print-ids", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect_str_eq(out, "5524 5524 5524 5524 28743\n");
    free(out);
}

/* `heed next`: the table's first token is llama.cpp's greedy choice, the
 * probabilities fall, and the logit lens at the last layer is the table. */
Test(cli, next_token_table_and_logit_lens)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "next '%s' -p \"The animal didn't cross the street because it "
             "was tired.\" -k 3 --lens", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    /* reference greedy id 39038 is " correcting" */
    cr_expect(strstr(out, "    1  ' correcting'"), "%s", out);
    float p1, p2, p3;
    const char *r1 = strstr(out, "' correcting'");
    cr_assert_not_null(r1);
    cr_assert_eq(sscanf(r1 + 13, "%f", &p1), 1);
    const char *r2 = strstr(out, "    2  '");
    const char *r3 = strstr(out, "    3  '");
    cr_assert(r2 && r3, "%s", out);
    cr_assert_eq(sscanf(strchr(r2 + 8, '\'') + 1, "%f", &p2), 1);
    cr_assert_eq(sscanf(strchr(r3 + 8, '\'') + 1, "%f", &p3), 1);
    cr_expect(p1 >= p2 && p2 >= p3 && p3 > 0 && p1 < 1, "%g %g %g", p1, p2, p3);
    char last[64];
    snprintf(last, sizeof last, "layer  1 ' correcting' %.3f", p1);
    cr_expect(strstr(out, last), "want '%s' in %s", last, out);
    free(out);
}

/* `heed heads`: one row per head with scores recomputed here from the
 * capture of the same text. */
Test(cli, heads_table_matches_the_capture)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    snprintf(args, sizeof args, "heads '%s' --sort prev", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    /* the seed sentence's ids (fixtures manifest) */
    const int32_t ids[] = {1, 450, 13019, 3282, 29915, 29873, 4891, 278, 11952, 1363, 372, 471,
                           23407, 29889};
    const int n = 14;
    heed_model *m;
    cr_assert_eq(heed_model_load(model, &m), HEED_OK);
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(m, ids, n, (int64_t)1 << 30, &cap), HEED_OK);
    int rows = 0;
    double last_prev = 2;
    for (const char *line = strstr(out, "induction\n") + 10; *line; line = strchr(line, '\n') + 1) {
        int l, h;
        double ent, prev, sink, self, ind;
        if (sscanf(line, "%d %d %lf %lf %lf %lf %lf", &l, &h, &ent, &prev, &sink, &self, &ind) != 7)
            break;
        double want = 0;
        for (int q = 1; q < n; q++)
            want += heed_capture_row(cap, l, h, q)[q - 1];
        want /= n - 1;
        cr_expect_float_eq(prev, want, 6e-4, "layer %d head %d: %g vs %g", l, h, prev, want);
        cr_expect_leq(prev, last_prev + 1e-9, "not ranked by prev");
        cr_expect(ent >= 0 && sink >= 0 && sink <= 1 && self >= 0 && self <= 1 && ind >= 0 &&
                  ind <= 1);
        last_prev = prev;
        rows++;
    }
    cr_expect_eq(rows, 2 * 4);
    heed_capture_free(cap);
    heed_model_free(m);
    free(out);
}

/* `heed experts`: the table and the JSON agree with the capture's routing
 * of the same ids, and the loads add up to tokens × experts per token; a
 * dense model is refused with exit 2. `heed attend --json` carries the
 * same routing. */
Test(cli, experts_table_and_json_match_the_capture)
{
    char gguf[1024], json[1024], attend[1024]; /* test_tmp_path reuses its buffer */
    snprintf(gguf, sizeof gguf, "%s", test_tmp_path("experts-qwen3moe.gguf"));
    snprintf(json, sizeof json, "%s", test_tmp_path("experts.json"));
    snprintf(attend, sizeof attend, "%s", test_tmp_path("attend.json"));
    cr_assert_eq(heed_synth("tiny-qwen3moe", HEED_TYPE_F32, 1, 2, gguf), HEED_OK);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "experts '%s' --ids 5,9,300,7,12,5,9 --json '%s'", gguf, json);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    const int32_t ids[] = {5, 9, 300, 7, 12, 5, 9};
    const int n = 7;
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK);
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(m, ids, n, (int64_t)1 << 30, &cap), HEED_OK);
    char *text = test_read_file(json, NULL);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s", text);
    cr_expect_eq(cJSON_GetObjectItem(j, "n_expert")->valueint, 8);
    cr_expect_eq(cJSON_GetObjectItem(j, "n_expert_used")->valueint, 2);
    const cJSON *layers = cJSON_GetObjectItem(j, "layers");
    cr_assert_eq(cJSON_GetArraySize(layers), heed_model_n_layer(m));
    for (int l = 0; l < heed_model_n_layer(m); l++) {
        const cJSON *L = cJSON_GetArrayItem(layers, l);
        const cJSON *ex = cJSON_GetObjectItem(L, "experts"), *w = cJSON_GetObjectItem(L, "weights");
        int load = 0;
        for (int e = 0; e < 8; e++)
            load += cJSON_GetArrayItem(cJSON_GetObjectItem(L, "load"), e)->valueint;
        cr_expect_eq(load, n * 2, "layer %d: load %d", l, load);
        for (int t = 0; t < n; t++) {
            const int32_t *want_e;
            const float *want_w;
            cr_assert_eq(heed_capture_experts(cap, l, t, &want_e, &want_w), 2);
            for (int k = 0; k < 2; k++) {
                cr_expect_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(ex, t), k)->valueint, want_e[k]);
                cr_expect_float_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(w, t), k)->valuedouble,
                                   want_w[k], 1e-6);
            }
            char row[64]; /* the table's line of token t in layer l */
            snprintf(row, sizeof row, " %3d %.3f %3d %.3f\n", want_e[0], (double)want_w[0],
                     want_e[1], (double)want_w[1]);
            cr_expect(strstr(out, row), "layer %d token %d: want '%s' in %s", l, t, row, out);
        }
    }
    cJSON_Delete(j);
    free(text);
    free(out);
    out = NULL;
    /* the same routing in heed attend --json */
    snprintf(args, sizeof args, "attend '%s' --ids 5,9,300,7,12,5,9 --json '%s'", gguf, attend);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    text = test_read_file(attend, NULL);
    j = cJSON_Parse(text);
    cr_assert_not_null(j);
    const cJSON *ex = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "experts"), 1),
                                          "experts");
    const int32_t *want_e;
    const float *want_w;
    cr_assert_eq(heed_capture_experts(cap, 1, 6, &want_e, &want_w), 2);
    cr_expect_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(ex, 6), 1)->valueint, want_e[1]);
    cJSON_Delete(j);
    free(text);
    free(out);
    out = NULL;
    char dense[4096];
    FIXTURE_PATH(dense, "llama-tiny-f32.gguf");
    snprintf(args, sizeof args, "experts '%s' -p hello 2>&1", dense);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    cr_expect(strstr(out, "a dense model"), "%s", out);
    free(out);
    heed_capture_free(cap);
    heed_model_free(m);
}

/* `heed attend --json` on a model with attention sinks (tiny-gpt-oss):
 * each head's "sink" share and its row's weights add up to 1, some sink
 * takes a visible share, and the shares are the capture's. */
Test(cli, attend_json_reports_the_sink_share)
{
    char gguf[1024], json[1024], args[4096], *out = NULL;
    snprintf(gguf, sizeof gguf, "%s", test_tmp_path("sinks.gguf"));
    snprintf(json, sizeof json, "%s", test_tmp_path("sinks.json"));
    cr_assert_eq(heed_synth("tiny-gpt-oss", HEED_TYPE_F32, 1, 2, gguf), HEED_OK);
    snprintf(args, sizeof args, "attend '%s' --ids 5,9,300,7,12,5,9,40 --json '%s'", gguf, json);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    char *text = test_read_file(json, NULL);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j);
    double largest = 0;
    int rows = 0;
    const cJSON *L, *H;
    cJSON_ArrayForEach(L, cJSON_GetObjectItem(j, "layers"))
    cJSON_ArrayForEach(H, cJSON_GetObjectItem(L, "heads")) {
        const cJSON *w = cJSON_GetObjectItem(H, "weights"), *sink = cJSON_GetObjectItem(H, "sink");
        cr_assert_not_null(sink, "no sink in layer %d head %d",
                           cJSON_GetObjectItem(L, "layer")->valueint,
                           cJSON_GetObjectItem(H, "head")->valueint);
        cr_assert_eq(cJSON_GetArraySize(sink), cJSON_GetArraySize(w));
        for (int q = 0; q < cJSON_GetArraySize(w); q++) {
            double sum = cJSON_GetArrayItem(sink, q)->valuedouble;
            const cJSON *x;
            cJSON_ArrayForEach(x, cJSON_GetArrayItem(w, q)) sum += x->valuedouble;
            cr_expect_float_eq(sum, 1.0, 1e-5, "row %d: weights and sink sum to %g", q, sum);
            largest = fmax(largest, cJSON_GetArrayItem(sink, q)->valuedouble);
            rows++;
        }
    }
    cr_expect_eq(rows, 4 * 4 * 8, "every layer, head and row");
    cr_expect_gt(largest, 0.1, "no sink takes a visible share (largest %g)", largest);
    cJSON_Delete(j);
    free(text);
    free(out);
}

/* Control vectors, read and applied as llama.cpp does: the same files and
 * options give llama-cli's greedy text (llama.cpp c392e50; the files and
 * the command in tests/data/make_cvec.py), several files summed with
 * their scales, a layer range included; a file for another width is
 * refused, naming the tensor. */
Test(cli, run_control_vectors_as_llama_cpp)
{
    static const struct {
        const char *options, *text;
    } cases[] = {
        {"", "And God said unto me, I will not go with thee, but I will not go up to the king "
             "of Assyria.\nAnd"},
        {"--control-vector-scaled D/cvec-a.gguf 0.8 --control-vector D/cvec-b.gguf",
         "And God said unto me, I pray thee, thou son of the LORD thy God, and the other man, "
         "and the other man"},
        {"--control-vector-scaled D/cvec-a.gguf 1.5 --control-vector-layer-range 1 3",
         "And God said, Behold, the man of the man, and the priest, and the priest, and the "
         "priest, and the priest"},
        {"--control-vector-scaled D/cvec-a.gguf 1.5 --control-vector-layer-range 2 5",
         "And God said, Thou shalt not die, thou, and the house of the house of the house of "
         "the house of the house of"},
        {"--control-vector-scaled D/cvec-a.gguf 1.5 --control-vector-layer-range 0 2",
         "And God said, I will be with you, and with you.\nAnd the sons of the sons of the sons "
         "of the sons"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char options[512], args[1024], want[512], *out = NULL;
        size_t o = 0;
        for (const char *p = cases[i].options; *p && o < sizeof options - 64; p++)
            if (p[0] == 'D' && p[1] == '/')
                o += (size_t)snprintf(options + o, sizeof options - o, "%s/tests/data", HEED_SOURCE_DIR);
            else
                options[o++] = *p;
        options[o] = 0;
        snprintf(args, sizeof args, "run '%s/models/default.gguf' -p 'And God said' -n 24 --temp 0 %s",
                 HEED_SOURCE_DIR, options);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        snprintf(want, sizeof want, "%s\n", cases[i].text);
        cr_expect_str_eq(out, want, "%s", cases[i].options);
        free(out);
    }
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "run '%s/models/default.gguf' -p x -n 2 --control-vector "
             "'%s/tests/data/cvec-128.gguf' 2>&1", HEED_SOURCE_DIR, HEED_SOURCE_DIR);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "cvec-128.gguf: tensor 'direction.1' has 128 elements, the model's "
                          "n_embd is 256"), "%s", out);
    free(out);
}

/* --logit-bias as llama-cli's: the same greedy text as llama.cpp c392e50's
 * llama-cli with the same options on the default model. */
Test(cli, run_logit_bias_as_llama_cli)
{
    static const struct { const char *opts, *want; } cases[] = {
        {"", "In the beginning of his power, and in\n"},
        {"--logit-bias 386+5", "In the beginning of his power, and God\n"},
        {"--logit-bias 386-inf --logit-bias 12+2.5", "In the beginning of his power, and in\n"},
        {"--logit-bias 268-inf", "In the beginning, and in the beginning,\n"}, /* ' of' banned */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[1024], *out = NULL;
        snprintf(args, sizeof args, "run '%s/models/default.gguf' -p 'In the beginning' -n 6 "
                 "--temp 0 %s", HEED_SOURCE_DIR, cases[i].opts);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        cr_expect_str_eq(out, cases[i].want, "%s", args);
        free(out);
    }
    char *out = NULL;
    cr_expect_eq(test_run_cli("run x -p y --logit-bias 5 2>&1", &out), 2);
    cr_expect(strstr(out, "--logit-bias wants"), "%s", out);
    free(out);
}
