/*
 * test_archs.c — the architectures the shared fixtures lack, against a
 * peer engine (ik_llama.cpp 8337e4cd3, the oracle the issue names for
 * them): a tiny `heed synth` model of each, its prompt's logits and 32
 * greedy ids as the peer computed them (tests/models/SHAPE-TYPE.json and
 * .logits.f32, made by tests/oracle/make_fixture.sh). Both sides use an
 * f16 KV cache (the peer refuses an f32 one without flash attention).
 *
 * Tolerances, by weight type, are the shared fixtures' (README, "Suggested
 * tolerances", emulating column: at least twice the largest difference
 * llama.cpp itself shows between equivalent runs); both caches round k
 * and v to f16 alike, so no allowance for the cache is added. Greedy ids
 * must agree up to the first step whose peer margin is below twice the
 * max-abs bound (the README's criterion).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

typedef struct tolerance {
    const char *type;
    double max_abs, rms;
} tolerance;

static const tolerance tolerances[] = {
    {"f32", 0.001, 0.0001},
};

static int32_t argmax(const float *x, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static int32_t *int_array(const cJSON *a, int *n)
{
    *n = cJSON_GetArraySize(a);
    int32_t *v = malloc(sizeof *v * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++)
        v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

static void check_arch(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/models/%s.json", HEED_SOURCE_DIR, name);
    char *text = test_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    cJSON *c = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(c, "bad JSON in %s", path);
    const char *shape = cJSON_GetObjectItem(c, "shape")->valuestring;
    const char *type_name = cJSON_GetObjectItem(c, "type")->valuestring;
    const tolerance *tol = NULL;
    for (size_t i = 0; i < sizeof tolerances / sizeof *tolerances; i++)
        if (!strcmp(tolerances[i].type, type_name))
            tol = &tolerances[i];
    cr_assert_not_null(tol, "%s: no tolerance for type %s", name, type_name);

    const char *gguf = test_tmp_path(name);
    cr_assert_eq(heed_synth(shape, heed_type_from_name(type_name),
                            (uint64_t)cJSON_GetObjectItem(c, "seed")->valuedouble, 2, gguf),
                 HEED_OK, "%s", heed_last_error());
    heed_model *m;
    cr_assert_eq(heed_model_load(gguf, &m), HEED_OK, "%s", heed_last_error());
    const int32_t V = heed_model_n_vocab(m);

    int n, n_greedy;
    int32_t *ids = int_array(cJSON_GetObjectItem(c, "ids"), &n);
    int32_t *greedy = int_array(cJSON_GetObjectItem(c, "greedy"), &n_greedy);
    snprintf(path, sizeof path, "%s/tests/models/%s.logits.f32", HEED_SOURCE_DIR, name);
    size_t bytes;
    float *ref = test_read_file(path, &bytes);
    cr_assert_not_null(ref, "cannot read %s", path);
    cr_assert_eq(bytes, sizeof(float) * (size_t)n * (size_t)V,
                 "%s: %zu bytes of reference logits for %d ids of %d (if heed synth changed, "
                 "remake them with tests/oracle/make_fixture.sh)", name, bytes, n, V);

    heed_context_params cp = heed_context_default_params();
    cp.type_k = cp.type_v = HEED_TYPE_F16;
    heed_context *ctx;
    cr_assert_eq(heed_context_new(m, &cp, &ctx), HEED_OK, "%s", heed_last_error());
    float *logits = malloc(bytes);
    cr_assert_eq(heed_context_eval(ctx, ids, n, logits, true), HEED_OK, "%s", heed_last_error());
    double max_abs = 0, sq = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)V; i++) {
        const double d = fabs((double)logits[i] - ref[i]);
        max_abs = fmax(max_abs, d);
        sq += d * d;
    }
    const double rms = sqrt(sq / ((double)n * V));
    cr_log_info("%s: prompt logits max |diff| %.3g (tolerance %.3g), rms %.3g (%.3g)", name,
                max_abs, tol->max_abs, rms, tol->rms);
    cr_expect_leq(max_abs, tol->max_abs, "%s: max |diff| %g (if heed synth changed, remake "
                  "the reference with tests/oracle/make_fixture.sh)", name, max_abs);
    cr_expect_leq(rms, tol->rms, "%s: rms %g", name, rms);

    const cJSON *margins = cJSON_GetObjectItem(c, "greedy_margins");
    int32_t next = argmax(logits + (size_t)(n - 1) * (size_t)V, V);
    for (int s = 0; s < n_greedy; s++) {
        if (cJSON_GetArrayItem(margins, s)->valuedouble < 2 * tol->max_abs)
            break;
        cr_assert_eq(next, greedy[s], "%s: greedy step %d: got %d, want %d", name, s, next,
                     greedy[s]);
        cr_assert_eq(heed_context_eval(ctx, &next, 1, logits, false), HEED_OK, "%s",
                     heed_last_error());
        next = argmax(logits, V);
    }

    free(logits);
    free(ref);
    free(greedy);
    free(ids);
    heed_context_free(ctx);
    heed_model_free(m);
    cJSON_Delete(c);
}

Test(archs, qwen3) { check_arch("tiny-qwen3-f32"); }
