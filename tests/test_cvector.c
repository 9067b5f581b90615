/*
 * test_cvector.c — control vectors made from paired prompts (heed cvector,
 * heed_control_vector_compute and _write) against llama.cpp c392e50:
 *   - tests/data/cvec-joy.txt and cvec-sorrow.txt: twelve KJV-flavoured
 *     pairs, joy and sorrow;
 *   - cvec-joy-mean-llama.gguf: llama-cvector-generator's mean of them
 *       llama-cvector-generator -m models/default.gguf --method mean -t 2 \
 *           --positive-file tests/data/cvec-joy.txt \
 *           --negative-file tests/data/cvec-sorrow.txt -o cvec-joy-mean-llama.gguf
 *   - cvec-joy-mean.gguf, cvec-joy-pca.gguf: heed's, from
 *       heed cvector models/default.gguf --positive tests/data/cvec-joy.txt \
 *           --negative tests/data/cvec-sorrow.txt --method mean|pca -o ...
 *     and the greedy texts llama-cli gives with them, e.g.
 *       llama-cli -m models/default.gguf -p "And God said" -n 24 --temp 0 -no-cnv \
 *           --no-warmup -t 2 --control-vector-scaled cvec-joy-mean.gguf 8
 *   - cvec-joy-pca-llama.gguf: its PCA (the default method), one of four
 *     runs: its PCA is not sound — every eighth element comes out 0, and
 *     some directions (in this run 3 and 4) far from the principal one,
 *     changing with its clock-seeded start — so heed's is compared with
 *     the other elements of the directions it found, and checked against
 *     the definition;
 *   - cvec-synth.gguf: a hand-written file (tests/data/make_cvec.py) for
 *     heed synth's stories15m shape, steering a synth made at test time.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"
#define DATA HEED_SOURCE_DIR "/tests/data"
#define PROMPTS "--positive '" DATA "/cvec-joy.txt' --negative '" DATA "/cvec-sorrow.txt'"

/* The directions of a control-vector file, rows K of [n_layer][n_embd]
 * (the default model: 6 layers of 256), read by heed_control_vector_add. */
static float *read_directions(const char *path)
{
    float *d = calloc(6 * 256, sizeof *d);
    cr_assert_not_null(d);
    cr_assert_eq(heed_control_vector_add(path, 1.0f, 256, 6, d), HEED_OK, "%s: %s", path,
                 heed_last_error());
    return d;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* Directions 1..5 of a and b within tol of each other, element by element. */
static void expect_close(const char *a_path, const char *b_path, double tol)
{
    float *a = read_directions(a_path), *b = read_directions(b_path);
    for (int k = 1; k < 6; k++) {
        double worst = 0;
        for (int i = 0; i < 256; i++)
            worst = fmax(worst, fabs((double)a[k * 256 + i] - b[k * 256 + i]));
        cr_expect_leq(worst, tol, "direction.%d: %s and %s differ by %g", k, a_path, b_path,
                      worst);
        cr_expect_gt(cosine(a + k * 256, b + k * 256, 256), 0.99999, "direction.%d", k);
    }
    free(a);
    free(b);
}

/* `heed cvector` with options into a temporary file named name. */
static const char *make(const char *name, const char *options)
{
    static char path[1024];
    char args[4096], *out = NULL;
    snprintf(path, sizeof path, "%s", test_tmp_path(name));
    snprintf(args, sizeof args, "cvector '%s' %s -o '%s'", DEFAULT_MODEL, options, path);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strstr(out, path), "%s", out);
    free(out);
    return path;
}

/* The greedy text of "And God said" (24 tokens) with options. */
static char *greedy(const char *options)
{
    char args[4096], *out = NULL;
    snprintf(args, sizeof args, "run '%s' -p 'And God said' -n 24 --temp 0 %s", DEFAULT_MODEL,
             options);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    return out;
}

/* --method mean is llama-cvector-generator's: the same directions (cosine
 * 1 - 3e-8 measured, elements within 5.4e-5) and the same file around
 * them, byte for byte up to the tensor data. */
Test(cvector, mean_is_llama_cpp_cvector_generators)
{
    const char *path = make("mean.gguf", PROMPTS " --method mean");
    float *heed = read_directions(path), *llama = read_directions(DATA "/cvec-joy-mean-llama.gguf");
    for (int k = 1; k < 6; k++) {
        const double cos = cosine(heed + k * 256, llama + k * 256, 256);
        cr_expect_gt(cos, 0.9999999, "direction.%d: cosine %.9f to llama.cpp's", k, cos);
        double norm = 0;
        for (int i = 0; i < 256; i++) {
            cr_expect_leq(fabs((double)heed[k * 256 + i] - llama[k * 256 + i]), 2e-4,
                          "direction.%d[%d]", k, i);
            norm += (double)heed[k * 256 + i] * heed[k * 256 + i];
        }
        cr_expect_float_eq(norm, 1.0, 1e-6, "direction.%d is not unit length", k);
    }
    free(heed);
    free(llama);
    size_t n_heed, n_llama;
    char *a = test_read_file(path, &n_heed), *b = test_read_file(DATA "/cvec-joy-mean-llama.gguf", &n_llama);
    cr_assert_eq(n_heed, n_llama);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    const uint64_t data = heed_gguf_data_offset(g);
    cr_expect_eq(memcmp(a, b, data), 0, "the files differ before the tensor data");
    heed_gguf_close(g);
    free(a);
    free(b);
    /* and the committed file heed wrote, whose llama-cli texts are below */
    expect_close(path, DATA "/cvec-joy-mean.gguf", 1e-4);
}

/* --method pca is llama-cvector-generator's where its PCA found the
 * principal direction (1, 2 and 5 in that run), up to the sign, on the
 * elements it did not zero (|cosine| 0.9999992 to 0.9999999 measured). */
Test(cvector, pca_agrees_with_llama_cpps_where_it_converged)
{
    const char *path = make("pca.gguf", PROMPTS);
    float *heed = read_directions(path), *llama = read_directions(DATA "/cvec-joy-pca-llama.gguf");
    static const int found[] = {1, 2, 5};
    for (int j = 0; j < 3; j++) {
        const int k = found[j];
        float a[224], b[224];
        for (int i = 0, o = 0; i < 256; i++)
            if (i % 8) {
                a[o] = heed[k * 256 + i];
                b[o++] = llama[k * 256 + i];
            } else {
                cr_expect_lt(fabsf(llama[k * 256 + i]), 1e-6f, "the reference changed");
            }
        const double cos = cosine(a, b, 224);
        cr_expect_gt(fabs(cos), 0.99999, "direction.%d: |cosine| %.9f to llama.cpp's", k, cos);
    }
    free(heed);
    free(llama);
}

/* A file heed writes steers heed as it steers llama-cli: llama.cpp
 * c392e50's greedy texts with heed's files (the committed ones, and the
 * same made again now), a layer range included; scale 0 changes nothing. */
Test(cvector, heeds_files_steer_as_in_llama_cli)
{
    static const struct {
        const char *file;
        const char *scale, *text;
    } cases[] = {
        {"mean", "8", "And God said unto him, mercy unto the mercy, and mercy unto the mercy.\n "
                      "mercy unto the mercy unto the mercy, mercy"},
        {"mean", "-4", "And God said unto her, What shall I say unto thee, What shall I say unto "
                       "thee, What shall I say unto thee,"},
        {"pca", "4", "And God said, I will not I fear the LORD, and he will not be my servant to "
                     "the name of the LORD.\n"},
        {"pca", "-4", "And God said unto me, Go, take up thy wife, and take her away from her "
                      "husband's wife, and take her husband"},
    };
    char *plain = greedy("");
    char fresh[2][1024];
    snprintf(fresh[0], sizeof fresh[0], "%s", make("mean.gguf", PROMPTS " --method mean"));
    snprintf(fresh[1], sizeof fresh[1], "%s", make("pca.gguf", PROMPTS " --method pca"));
    expect_close(fresh[0], DATA "/cvec-joy-mean.gguf", 1e-4);
    expect_close(fresh[1], DATA "/cvec-joy-pca.gguf", 1e-4);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const int f = strcmp(cases[i].file, "mean") != 0;
        char want[512], options[2048];
        snprintf(want, sizeof want, "%s\n", cases[i].text);
        cr_expect_str_neq(want, plain, "scale %s leaves the text as it is", cases[i].scale);
        snprintf(options, sizeof options, "--control-vector-scaled '%s/cvec-joy-%s.gguf' %s",
                 DATA, cases[i].file, cases[i].scale);
        char *out = greedy(options);
        cr_expect_str_eq(out, want, "%s", options);
        free(out);
        snprintf(options, sizeof options, "--control-vector-scaled '%s' %s", fresh[f],
                 cases[i].scale);
        out = greedy(options);
        cr_expect_str_eq(out, want, "%s", options);
        free(out);
    }
    char options[2048];
    snprintf(options, sizeof options, "--control-vector-scaled '%s' 0", fresh[1]);
    char *out = greedy(options);
    cr_expect_str_eq(out, plain, "scale 0 changed the text");
    free(out);
    /* --layers 2:4: those directions only, the same as the whole file's,
     * and llama-cli's text with them */
    const char *part = make("part.gguf", PROMPTS " --method mean --layers 2:4");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(part, &g), HEED_OK);
    cr_expect_eq(heed_gguf_n_tensors(g), 3);
    int64_t count;
    cr_expect_eq(heed_gguf_get_int(g, "controlvector.layer_count", &count), HEED_OK);
    cr_expect_eq(count, 3);
    float *whole = read_directions(fresh[0]);
    for (int k = 2; k <= 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "direction.%d", k);
        const heed_gguf_tensor *t = heed_gguf_find_tensor(g, name);
        cr_assert_not_null(t, "%s", name);
        cr_expect_eq(memcmp(t->data, whole + k * 256, 256 * sizeof(float)), 0, "%s", name);
    }
    free(whole);
    heed_gguf_close(g);
    snprintf(options, sizeof options, "--control-vector-scaled '%s' 12", part);
    out = greedy(options);
    cr_expect_str_eq(out, "And God said, mercy on the mercy, and mercy on the name.\n mercy on "
                          "the name, mercy on the name, mercy\n");
    free(out);
    free(plain);
}

/* The same on a synth: heed_synth's stories15m shape (6 layers, n_embd
 * 288, a byte-level vocabulary of 32000 whose pieces past the bytes read
 * <|synth_N|>, so the text spells the ids) at f32, seed 1, made now (its
 * bytes depend on the seed alone). A file written by hand
 * (tests/data/cvec-synth.gguf, tests/data/make_cvec.py) and files heed
 * cvector writes now for the synth steer `heed run` as they steer llama.cpp
 * c392e50's llama-cli, token for token, e.g.
 *   llama-cli -m synth.gguf -p "And God said" -n 16 --temp 0 -no-cnv --no-warmup \
 *       -t 2 -ctk f32 -ctv f32 --control-vector-scaled cvec-synth.gguf 2
 * with the files made as here. An f32 KV cache on both sides keeps their
 * logits within 2.1e-6 of each other on these paths (measured, with
 * llama.cpp's library, teacher-forced), while the smallest gap between
 * the first token and the second is 0.0106 (the logits' sd is 1): the
 * random model's near-ties do not decide the text. */
Test(cvector, synth_steers_as_in_llama_cli)
{
    static const struct {
        const char *options; /* H: the hand-written file, M and P: heed's mean and pca */
        const char *text;    /* llama-cli's, after "And God said" */
    } cases[] = {
        {"", "<|synth_31096|><|synth_3248|><|synth_3696|><|synth_9344|><|synth_21907|>"
             "<|synth_9344|><|synth_28410|><|synth_20504|><|synth_8101|><|synth_3248|>"
             "<|synth_12371|><|synth_1396|><|synth_31096|><|synth_16487|><|synth_31096|>"
             "<|synth_31096|>"},
        {"--control-vector-scaled H 2",
         "<|synth_22473|><|synth_22473|><|synth_22306|><|synth_22473|><|synth_10732|>"
         "<|synth_2554|><|synth_18495|><|synth_2554|><|synth_18495|><|synth_23826|>"
         "<|synth_1046|><|synth_18495|><|synth_23826|><|synth_18495|><|synth_23826|>"
         "<|synth_18495|>"},
        /* token 238 is the byte 0xee */
        {"--control-vector-scaled H -1 --control-vector-layer-range 2 4",
         "<|synth_8222|><|synth_4377|><|synth_9126|><|synth_20976|><|synth_9126|>"
         "<|synth_27001|><|synth_375|><|synth_12371|><|synth_31653|><|synth_9126|>"
         "<|synth_27001|>\xee<|synth_945|><|synth_375|><|synth_9126|><|synth_27001|>"},
        {"--control-vector-scaled M 4",
         "<|synth_11284|><|synth_9344|><|synth_11284|><|synth_9344|><|synth_11284|>"
         "<|synth_9344|><|synth_11284|><|synth_9344|><|synth_11284|><|synth_2733|>"
         "<|synth_2733|><|synth_2733|><|synth_2733|><|synth_2030|><|synth_6338|>"
         "<|synth_30688|>"},
        {"--control-vector-scaled P 4",
         "<|synth_11284|><|synth_3696|><|synth_16487|><|synth_9344|><|synth_11284|>"
         "<|synth_3696|><|synth_24145|><|synth_31653|><|synth_3696|><|synth_30686|>"
         "<|synth_9344|><|synth_11284|><|synth_5944|><|synth_11284|><|synth_5944|>"
         "<|synth_9344|>"},
        {"--control-vector-scaled P -8 --control-vector H",
         "<|synth_26326|><|synth_26326|><|synth_26326|><|synth_22915|><|synth_4543|>"
         "<|synth_10411|><|synth_10411|><|synth_10411|><|synth_10411|><|synth_17064|>"
         "<|synth_10411|><|synth_17064|><|synth_1378|><|synth_10411|><|synth_17064|>"
         "<|synth_1378|>"},
        /* scale 0: the text without steering */
        {"--control-vector-scaled P 0",
         "<|synth_31096|><|synth_3248|><|synth_3696|><|synth_9344|><|synth_21907|>"
         "<|synth_9344|><|synth_28410|><|synth_20504|><|synth_8101|><|synth_3248|>"
         "<|synth_12371|><|synth_1396|><|synth_31096|><|synth_16487|><|synth_31096|>"
         "<|synth_31096|>"},
    };
    char model[1024], files[3][1024], args[8192], *out = NULL;
    snprintf(model, sizeof model, "%s", test_tmp_path("synth-stories15m.gguf"));
    cr_assert_eq(heed_synth("stories15m", HEED_TYPE_F32, 1, 2, model), HEED_OK, "%s",
                 heed_last_error());
    snprintf(files[0], sizeof files[0], "%s/cvec-synth.gguf", DATA);
    for (int f = 1; f < 3; f++) {
        snprintf(files[f], sizeof files[f], "%s",
                 test_tmp_path(f == 1 ? "synth-mean.gguf" : "synth-pca.gguf"));
        snprintf(args, sizeof args, "cvector '%s' " PROMPTS " --method %s -t 2 -o '%s'", model,
                 f == 1 ? "mean" : "pca", files[f]);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        free(out);
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char options[4096], want[1024];
        size_t o = 0;
        for (const char *p = cases[i].options; *p && o < sizeof options - 1100; p++) {
            const char *f = *p == 'H' ? files[0] : *p == 'M' ? files[1] : *p == 'P' ? files[2] : NULL;
            if (f && (p[1] == ' ' || !p[1]) && p > cases[i].options && p[-1] == ' ')
                o += (size_t)snprintf(options + o, sizeof options - o, "'%s'", f);
            else
                options[o++] = *p;
        }
        options[o] = 0;
        snprintf(args, sizeof args, "run '%s' -p 'And God said' -n 16 --temp 0 -t 2 -ctk f32 "
                 "-ctv f32 %s", model, options);
        cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
        snprintf(want, sizeof want, "And God said%s\n", cases[i].text);
        cr_expect_str_eq(out, want, "%s", cases[i].options);
        free(out);
        if (i > 0 && i + 1 < sizeof cases / sizeof *cases)
            cr_expect_str_neq(cases[i].text, cases[0].text, "%s leaves the text as it is",
                              cases[i].options);
    }
}

/* The library on pairs of random token ids (some sharing a prefix): the
 * mean is the rows' mean, PCA the top eigenvector of Σ row rowᵀ turned
 * towards the mean, both unit length, rows from block K - 1's output with
 * a shared prefix's zero rows dropped; a layer range computes those rows
 * alone, bit for bit the same; the thread count changes no bit; zero
 * steering changes no logit. */
Test(cvector, compute_is_mean_and_top_eigenvector_of_the_differences)
{
    enum { PAIRS = 10, MAXLEN = 14, L = 6, E = 256 };
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    int32_t ids[2][PAIRS][MAXLEN];
    int n[2][PAIRS];
    uint64_t s = 17;
    for (int i = 0; i < PAIRS; i++) {
        const int shared = (int)(heed_splitmix64(&s) % 4);
        for (int side = 0; side < 2; side++) {
            n[side][i] = shared + 1 + (int)(heed_splitmix64(&s) % (MAXLEN - 4));
            for (int t = 0; t < n[side][i]; t++)
                ids[side][i][t] = 3 + (int32_t)(heed_splitmix64(&s) % 2000);
        }
        for (int t = 0; t < shared; t++)
            ids[1][i][t] = ids[0][i][t];
    }
    const int32_t *pos[PAIRS], *neg[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pos[i] = ids[0][i];
        neg[i] = ids[1][i];
    }
    const int32_t pad = 7;
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = MAXLEN;
    cp.n_threads = 2;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK);

    /* the rows, gathered here through the residual tap */
    float *rows = malloc(sizeof(float) * PAIRS * MAXLEN * L * E);
    float *res[2];
    for (int side = 0; side < 2; side++)
        res[side] = malloc(sizeof(float) * MAXLEN * (L + 1) * E);
    int n_rows[L] = {0};
    for (int i = 0; i < PAIRS; i++) {
        const int len = n[0][i] > n[1][i] ? n[0][i] : n[1][i];
        for (int side = 0; side < 2; side++) {
            int32_t seq[MAXLEN];
            for (int t = 0; t < len; t++)
                seq[t] = t < n[side][i] ? ids[side][i][t] : pad;
            heed_context_reset(c);
            heed_context_set_residual(c, res[side], 0, len);
            cr_assert_eq(heed_context_eval(c, seq, len, NULL, false), HEED_OK);
        }
        heed_context_set_residual(c, NULL, 0, 0);
        for (int t = 0; t < len; t++)
            for (int k = 1; k < L; k++) {
                float *d = rows + ((size_t)k * PAIRS * MAXLEN + n_rows[k]) * E;
                bool zero = true;
                for (int e = 0; e < E; e++) {
                    const size_t at = ((size_t)t * (L + 1) + k) * E + e;
                    d[e] = res[0][at] - res[1][at];
                    zero = zero && fabsf(d[e]) <= 1e-6f;
                }
                n_rows[k] += !zero;
            }
    }

    heed_control_vector_params p = heed_control_vector_default_params();
    float mean[L * E], pca[L * E];
    p.method = HEED_CONTROL_VECTOR_MEAN;
    cr_assert_eq(heed_control_vector_compute(c, pos, n[0], neg, n[1], PAIRS, pad, &p, mean),
                 HEED_OK, "%s", heed_last_error());
    p.method = HEED_CONTROL_VECTOR_PCA;
    cr_assert_eq(heed_control_vector_compute(c, pos, n[0], neg, n[1], PAIRS, pad, &p, pca),
                 HEED_OK, "%s", heed_last_error());
    int total = 0;
    for (int i = 0; i < PAIRS; i++)
        total += n[0][i] > n[1][i] ? n[0][i] : n[1][i];
    for (int k = 1; k < L; k++) {
        cr_expect(n_rows[k] > 0 && n_rows[k] < total, "layer %d: %d rows of %d (the shared "
                  "prefixes' are zero)", k, n_rows[k], total);
        const float *R = rows + (size_t)k * PAIRS * MAXLEN * E;
        double want[E] = {0}, sd[E] = {0}, norm = 0;
        for (int r = 0; r < n_rows[k]; r++)
            for (int e = 0; e < E; e++)
                want[e] += R[r * E + e];
        for (int e = 0; e < E; e++)
            norm += want[e] * want[e];
        double dot_mean = 0;
        for (int e = 0; e < E; e++) {
            cr_expect_float_eq(mean[k * E + e], want[e] / sqrt(norm), 1e-6, "mean %d[%d]", k, e);
            dot_mean += pca[k * E + e] * want[e];
        }
        cr_expect_gt(dot_mean, 0, "direction %d points away from the mean", k);
        /* S d = Rᵀ (R d) must be λ d, λ = dᵀ S d the largest eigenvalue:
         * no better than a few other unit vectors (the mean, the rows) */
        double lambda = 0;
        for (int r = 0; r < n_rows[k]; r++) {
            double u = 0;
            for (int e = 0; e < E; e++)
                u += (double)R[r * E + e] * pca[k * E + e];
            for (int e = 0; e < E; e++)
                sd[e] += u * R[r * E + e];
            lambda += u * u;
        }
        double resid = 0, sdn = 0;
        for (int e = 0; e < E; e++) {
            resid += (sd[e] - lambda * pca[k * E + e]) * (sd[e] - lambda * pca[k * E + e]);
            sdn += sd[e] * sd[e];
        }
        cr_expect_lt(sqrt(resid / sdn), 1e-5, "direction %d is not an eigenvector (%g)", k,
                     sqrt(resid / sdn));
        for (int v = 0; v < 4; v++) {
            const float *x = v ? R + (size_t)(v - 1) * E : mean + k * E;
            double xx = 0, xsx = 0;
            for (int e = 0; e < E; e++)
                xx += (double)x[e] * x[e];
            for (int r = 0; r < n_rows[k]; r++) {
                double u = 0;
                for (int e = 0; e < E; e++)
                    u += (double)R[r * E + e] * x[e];
                xsx += u * u;
            }
            cr_expect_geq(lambda * (1 + 1e-6), xsx / xx, "direction %d: a larger eigenvalue", k);
        }
    }

    /* directions 2..3 alone: the same bits, the other rows untouched */
    float part[L * E];
    for (int i = 0; i < L * E; i++)
        part[i] = 42;
    p.layer_start = 2;
    p.layer_end = 3;
    cr_assert_eq(heed_control_vector_compute(c, pos, n[0], neg, n[1], PAIRS, pad, &p, part),
                 HEED_OK);
    for (int i = 0; i < L * E; i++)
        if (i >= 2 * E && i < 4 * E)
            cr_assert_eq(memcmp(&part[i], &pca[i], sizeof(float)), 0, "element %d", i);
        else
            cr_assert_eq(part[i], 42.0f, "element %d was written", i);
    /* one thread: the same bits */
    heed_context *c1;
    cp.n_threads = 1;
    cr_assert_eq(heed_context_new(m, &cp, &c1), HEED_OK);
    float one[L * E];
    p.layer_start = p.layer_end = 0;
    cr_assert_eq(heed_control_vector_compute(c1, pos, n[0], neg, n[1], PAIRS, pad, &p, one),
                 HEED_OK);
    cr_expect_eq(memcmp(one + E, pca + E, sizeof(float) * (L - 1) * E), 0);
    heed_context_free(c1);

    /* bad input */
    p.layer_start = 0;
    p.layer_end = 6;
    cr_expect_eq(heed_control_vector_compute(c, pos, n[0], neg, n[1], PAIRS, pad, &p, one),
                 HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "layer_end <= 5"), "%s", heed_last_error());
    p.layer_end = 0;
    cr_expect_eq(heed_control_vector_compute(c, pos, n[0], pos, n[0], PAIRS, pad, &p, one),
                 HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "the same"), "%s", heed_last_error());
    int zero_len[PAIRS];
    memcpy(zero_len, n[1], sizeof zero_len);
    zero_len[3] = 0;
    cr_expect_eq(heed_control_vector_compute(c, pos, n[0], neg, zero_len, PAIRS, pad, &p, one),
                 HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "pair 4: its negative prompt has no tokens"), "%s",
              heed_last_error());
    cp.n_ctx = 4;
    cr_assert_eq(heed_context_new(m, &cp, &c1), HEED_OK);
    cr_expect_eq(heed_control_vector_compute(c1, pos, n[0], neg, n[1], PAIRS, pad, &p, one),
                 HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "n_ctx = 4"), "%s", heed_last_error());
    heed_context_free(c1);

    /* zero steering: the same logits, bit for bit */
    const int32_t prompt[] = {5, 9, 300, 7, 12};
    const int32_t n_vocab = heed_model_n_vocab(m);
    float *a = malloc(sizeof(float) * (size_t)n_vocab), *b = malloc(sizeof(float) * (size_t)n_vocab);
    float zeros[L * E] = {0};
    heed_context_reset(c);
    cr_assert_eq(heed_context_eval(c, prompt, 5, a, false), HEED_OK);
    cr_assert_eq(heed_context_set_steering(c, zeros, 1, L - 1), HEED_OK);
    heed_context_reset(c);
    cr_assert_eq(heed_context_eval(c, prompt, 5, b, false), HEED_OK);
    cr_expect_eq(memcmp(a, b, sizeof(float) * (size_t)n_vocab), 0);
    free(a);
    free(b);
    free(res[0]);
    free(res[1]);
    free(rows);
    heed_context_free(c);
    heed_model_free(m);
}

/* heed_control_vector_write: llama.cpp's keys and types, the directions
 * asked for, read back exactly; bad arguments refused. */
Test(cvector, write_reads_back)
{
    enum { E = 64 };
    float d[5 * E];
    uint64_t s = 3;
    for (int i = 0; i < 5 * E; i++)
        d[i] = test_gauss(&s);
    const char *path = test_tmp_path("written.gguf");
    cr_assert_eq(heed_control_vector_write(path, d, E, 2, 4, "qwen2"), HEED_OK, "%s",
                 heed_last_error());
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    cr_expect_eq(heed_gguf_version(g), 3);
    cr_assert_eq(heed_gguf_n_kv(g), 3);
    static const char *const keys[] = {"general.architecture", "controlvector.model_hint",
                                       "controlvector.layer_count"};
    for (int i = 0; i < 3; i++)
        cr_expect_str_eq(heed_gguf_kv_key(g, i), keys[i]);
    heed_gguf_str str;
    cr_expect_eq(heed_gguf_get_str(g, "general.architecture", &str), HEED_OK);
    cr_expect(str.len == 13 && !memcmp(str.ptr, "controlvector", 13));
    cr_expect_eq(heed_gguf_get_str(g, "controlvector.model_hint", &str), HEED_OK);
    cr_expect(str.len == 5 && !memcmp(str.ptr, "qwen2", 5));
    cr_expect_eq(heed_gguf_get(g, "controlvector.layer_count")->type, HEED_GGUF_INT32);
    cr_expect_eq(heed_gguf_get(g, "controlvector.layer_count")->v.i, 3);
    cr_assert_eq(heed_gguf_n_tensors(g), 3);
    for (int k = 2; k <= 4; k++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(g, k - 2);
        char name[32];
        snprintf(name, sizeof name, "direction.%d", k);
        cr_expect_str_eq(t->name, name);
        cr_expect(t->type == HEED_TYPE_F32 && t->n_dims == 1 && t->ne[0] == E);
        cr_expect_eq(memcmp(t->data, d + k * E, sizeof(float) * E), 0, "%s", name);
    }
    heed_gguf_close(g);
    float sum[6 * E] = {0};
    cr_assert_eq(heed_control_vector_add(path, 2.0f, E, 6, sum), HEED_OK);
    for (int i = 0; i < 6 * E; i++)
        cr_expect_eq(sum[i], i >= 2 * E && i < 5 * E ? 2 * d[i] : 0.0f, "element %d", i);
    cr_expect_eq(heed_control_vector_write(path, d, E, 0, 2, "x"), HEED_ERR_ARG);
    cr_expect_eq(heed_control_vector_write(path, d, E, 3, 2, "x"), HEED_ERR_ARG);
    cr_expect_eq(heed_control_vector_write("/nonexistent/dir/x.gguf", d, E, 1, 2, "x"),
                 HEED_ERR_IO);
}

/* Prompt files are read as llama-cvector-generator reads them: a prompt a
 * line, empty lines skipped, its escapes (\n \t \\ \" \xNN ...) turned
 * into their bytes — a file spelling the prompts so gives the same file. */
Test(cvector, prompt_files_are_read_as_llama_cpp_reads_them)
{
    char pos[1024], neg[1024];
    snprintf(pos, sizeof pos, "%s", test_tmp_path("pos.txt"));
    snprintf(neg, sizeof neg, "%s", test_tmp_path("neg.txt"));
    FILE *f = fopen(pos, "wb");
    fputs("\n\\x41nd the people rejoiced with great joy, and sang praises unto the LORD.\n\n"
          "Blessed be the LORD, for he hath given rest unto his people.\n", f);
    fclose(f);
    f = fopen(neg, "wb");
    fputs("And the people wept with a great mourning, and lamented before the LORD.\n"
          "Woe unto us, for the \\x4cORD hath forsaken his people.", f); /* no last newline */
    fclose(f);
    char options[4096];
    snprintf(options, sizeof options, "--positive '%s' --negative '%s'", pos, neg);
    const char *a = make("escaped.gguf", options);
    char a_path[1024];
    snprintf(a_path, sizeof a_path, "%s", a);
    f = fopen(pos, "wb");
    fputs("And the people rejoiced with great joy, and sang praises unto the LORD.\n"
          "Blessed be the LORD, for he hath given rest unto his people.\n", f);
    fclose(f);
    f = fopen(neg, "wb");
    fputs("And the people wept with a great mourning, and lamented before the LORD.\n"
          "Woe unto us, for the LORD hath forsaken his people.\n", f);
    fclose(f);
    const char *b = make("plain.gguf", options);
    size_t na, nb;
    char *x = test_read_file(a_path, &na), *y = test_read_file(b, &nb);
    cr_expect(na == nb && !memcmp(x, y, na), "the escaped prompts gave another file");
    free(x);
    free(y);
}

/* Bad input gets an error naming the option and the file. */
Test(cvector, bad_input_is_named)
{
    char empty[1024], two[1024];
    snprintf(empty, sizeof empty, "%s", test_tmp_path("empty.txt"));
    snprintf(two, sizeof two, "%s", test_tmp_path("two.txt"));
    FILE *f = fopen(empty, "wb");
    fputs("\n\n", f);
    fclose(f);
    f = fopen(two, "wb");
    fputs("In the beginning\nAnd God said\n", f);
    fclose(f);
    const char *out_path = test_tmp_path("bad.gguf");
    static const struct {
        const char *options, *want;
        int rc;
    } cases[] = {
        {"--positive /nonexistent.txt --negative D/cvec-sorrow.txt",
         "--positive /nonexistent.txt: cannot read the prompts", 1},
        {"--positive D/cvec-joy.txt --negative TWO",
         "cvec-joy.txt has 12 prompts, --negative TWO has 2: they pair line by line", 2},
        {"--positive EMPTY --negative EMPTY",
         "--positive EMPTY has no prompts (one per line; empty lines are skipped)", 2},
        {"--positive D/cvec-joy.txt --negative D/cvec-sorrow.txt --layers 0:3",
         "--layers '0:3': want A:B with 1 <= A <= B <= 5", 2},
        {"--positive D/cvec-joy.txt --negative D/cvec-sorrow.txt --layers 2:6",
         "--layers '2:6': want A:B with 1 <= A <= B <= 5", 2},
        {"--positive D/cvec-joy.txt --negative D/cvec-sorrow.txt --layers 4:2",
         "--layers '4:2'", 2},
        {"--positive D/cvec-joy.txt --negative D/cvec-sorrow.txt --method svd",
         "--method wants pca or mean, not 'svd'", 2},
        {"--positive D/cvec-joy.txt --negative D/cvec-joy.txt",
         "every pair's prompts give the same stream", 2},
        {"--positive D/cvec-joy.txt", "needs MODEL, --positive FILE, --negative FILE and -o", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char options[4096], want[4096], args[8192], *out = NULL;
        /* D/ is tests/data, EMPTY and TWO the files above */
        const char *src[2] = {cases[i].options, cases[i].want};
        char *dst[2] = {options, want};
        size_t size[2] = {sizeof options, sizeof want};
        for (int w = 0; w < 2; w++) {
            size_t o = 0;
            for (const char *p = src[w]; *p && o + 1100 < size[w];) /* room for a path */
                if (!strncmp(p, "D/", 2)) {
                    o += (size_t)snprintf(dst[w] + o, size[w] - o, "%s/", DATA);
                    p += 2;
                } else if (!strncmp(p, "EMPTY", 5)) {
                    o += (size_t)snprintf(dst[w] + o, size[w] - o, "%s", empty);
                    p += 5;
                } else if (!strncmp(p, "TWO", 3)) {
                    o += (size_t)snprintf(dst[w] + o, size[w] - o, "%s", two);
                    p += 3;
                } else {
                    dst[w][o++] = *p++;
                }
            dst[w][o] = 0;
        }
        snprintf(args, sizeof args, "cvector '%s' %s -o '%s' 2>&1", DEFAULT_MODEL, options,
                 out_path);
        cr_expect_eq(test_run_cli(args, &out), cases[i].rc, "%s: %s", options, out);
        cr_expect(strstr(out, "heed cvector: ") && strstr(out, want), "%s: want '%s' in %s",
                  options, want, out);
        free(out);
    }
}
