/* test_attend.c — `heed attend`: the terminal view, and the capture as
 * JSON, SVG, .npy and residual stream, each checked against the library's
 * own capture of the same tokens. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static const char *const SEED = "\"The animal didn't cross the street because it was tired.\"";

/* `heed attend`: the chosen token's most attended tokens per layer, as
 * text pieces with weights; bad choices exit 2. */
Test(cli, attend_lists_the_most_attended_tokens)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    const char *prompt = "\"The animal didn't cross the street because it was tired.\"";
    snprintf(args, sizeof args, "attend '%s' -p %s --word it -k 3", model, prompt);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strstr(out, "token 8 ' it' of 12"), "%s", out);
    cr_expect(strstr(out, "layer 0 (mean of 2 heads)") && strstr(out, "layer 1 (mean of 2 heads)"),
              "%s", out);
    /* three rows per layer, weights in (0, 1], the first row the largest */
    float w1, w2, w3;
    const char *l0 = strstr(out, "layer 0");
    cr_assert_eq(sscanf(strchr(strstr(l0, "#"), ' '), "%f", &w1), 1, "%s", out);
    const char *r2 = strstr(strstr(l0, "#") + 1, "#");
    cr_assert_eq(sscanf(strchr(r2, ' '), "%f", &w2), 1, "%s", out);
    const char *r3 = strstr(r2 + 1, "#");
    cr_assert_eq(sscanf(strchr(r3, ' '), "%f", &w3), 1, "%s", out);
    cr_expect(w1 >= w2 && w2 >= w3 && w3 > 0 && w1 <= 1, "%g %g %g", w1, w2, w3);
    free(out);
    snprintf(args, sizeof args, "attend '%s' -p %s --layer 1 --head 1", model, prompt);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strstr(out, "layer 1 head 1") && !strstr(out, "layer 0"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "attend '%s' -p %s --layer 2", model, prompt);
    cr_expect_eq(test_run_cli(args, NULL), 2);
    snprintf(args, sizeof args, "attend '%s' -p %s --word zebra", model, prompt);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}

static cJSON *run_json(const char *model, const char *opts)
{
    char path[512], args[5200];
    snprintf(path, sizeof path, "%s", test_tmp_path("attend.json"));
    snprintf(args, sizeof args, "attend '%s' %s --json '%s'", model, opts, path);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    char *text = test_read_file(path, NULL);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "invalid JSON from %s", args);
    free(text);
    return j;
}

static int get_int(const cJSON *j, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem(j, key);
    cr_assert(cJSON_IsNumber(item), "no number '%s'", key);
    return item->valueint;
}

/* The capture the library makes of the JSON's own tokens. */
static heed_capture *library_capture(const char *path, const cJSON *tokens, heed_model **m)
{
    const int n = cJSON_GetArraySize(tokens);
    int32_t *ids = malloc(sizeof *ids * (size_t)n);
    for (int i = 0; i < n; i++)
        ids[i] = get_int(cJSON_GetArrayItem(tokens, i), "id");
    cr_assert_eq(heed_model_load(path, m), HEED_OK);
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(*m, ids, n, 1 << 24, &cap), HEED_OK);
    free(ids);
    return cap;
}

/* The schema (README), the text and offsets of the pieces (a byte-fallback
 * emoji included), every row against the library's capture within the 7
 * significant digits written, and stats and KV telemetry consistent with
 * the rows. */
Test(attend, json_holds_the_capture)
{
    char model[4096];
    FIXTURE_PATH(model, "llama-tiny-q8_0.gguf");
    cJSON *j = run_json(model, "-p 'Führer <b>&🦙'");
    cr_expect_str_eq(cJSON_GetObjectItem(j, "architecture")->valuestring, "llama");
    cr_expect_str_eq(cJSON_GetObjectItem(j, "mask")->valuestring, "causal");
    cr_expect_str_eq(cJSON_GetObjectItem(j, "kind")->valuestring, "decoder");
    cr_expect(!cJSON_GetObjectItem(j, "source") && !cJSON_GetObjectItem(j, "cross"),
              "a decoder-only model's document has no encoder-decoder members");
    const char *text = cJSON_GetObjectItem(j, "text")->valuestring;
    cJSON *tokens = cJSON_GetObjectItem(j, "tokens");
    const int n = cJSON_GetArraySize(tokens);
    cr_expect_gt(n, 5);
    cr_expect_eq(get_int(j, "n_prompt"), n);
    cr_expect_eq(get_int(j, "n_layer"), 2);
    cr_expect_eq(get_int(j, "n_head"), 4);
    cr_expect_eq(get_int(j, "top_k"), 0);
    cJSON *rows = cJSON_GetObjectItem(j, "rows");
    cr_expect(get_int(j, "n_head") && cJSON_GetArrayItem(rows, 0)->valueint == 0 &&
              cJSON_GetArrayItem(rows, 1)->valueint == n);
    int end = 0, replaced = 0;
    for (int i = 0; i < n; i++) { /* pieces tile the text */
        const cJSON *t = cJSON_GetArrayItem(tokens, i);
        const char *piece = cJSON_GetObjectItem(t, "piece")->valuestring;
        cr_expect_eq(get_int(t, "start"), end);
        end = get_int(t, "end");
        cr_expect_eq((size_t)(end - get_int(t, "start")), strlen(piece));
        cr_expect(!strncmp(text + get_int(t, "start"), piece, strlen(piece)));
        replaced += strstr(piece, "\xef\xbf\xbd") != NULL;
    }
    cr_expect_eq((size_t)end, strlen(text));
    cr_expect(strstr(text, "<s>") && strstr(text, "<b>&"), "%s", text);
    cr_expect_eq(replaced, 4, "the emoji's four fallback bytes show as U+FFFD each");

    heed_model *m;
    heed_capture *cap = library_capture(model, tokens, &m);
    cJSON *layers = cJSON_GetObjectItem(j, "layers"), *layer;
    cr_assert_eq(cJSON_GetArraySize(layers), 2);
    double worst = 0;
    cJSON_ArrayForEach(layer, layers) {
        const int l = get_int(layer, "layer");
        cJSON *heads = cJSON_GetObjectItem(layer, "heads"), *head;
        cr_assert_eq(cJSON_GetArraySize(heads), 4);
        cJSON_ArrayForEach(head, heads) {
            const int h = get_int(head, "head");
            cJSON *w = cJSON_GetObjectItem(head, "weights");
            cr_assert_eq(cJSON_GetArraySize(w), n);
            for (int q = 0; q < n; q++) {
                cJSON *row = cJSON_GetArrayItem(w, q);
                cr_assert_eq(cJSON_GetArraySize(row), q + 1);
                const float *want = heed_capture_row(cap, l, h, q);
                double sum = 0;
                for (int k = 0; k <= q; k++) {
                    const double got = cJSON_GetArrayItem(row, k)->valuedouble;
                    worst = fmax(worst, fabs(got - want[k]) / fmax(want[k], 1e-30));
                    sum += got;
                }
                cr_expect_float_eq(sum, 1.0, 1e-5, "layer %d head %d query %d", l, h, q);
            }
        }
    }
    cr_expect_leq(worst, 5e-7, "7 significant digits: relative error %g", worst);
    cJSON *stats = cJSON_GetObjectItem(j, "stats"), *s;
    cr_expect_eq(cJSON_GetArraySize(stats), 8);
    cJSON_ArrayForEach(s, stats) {
        const int l = get_int(s, "layer"), h = get_int(s, "head");
        double prev = 0;
        for (int q = 1; q < n; q++)
            prev += heed_capture_row(cap, l, h, q)[q - 1];
        cr_expect_float_eq(cJSON_GetObjectItem(s, "prev_token")->valuedouble, prev / (n - 1),
                           1e-6);
        cr_expect_geq(cJSON_GetObjectItem(s, "entropy")->valuedouble, 0);
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(s, "induction")));
    }
    cJSON *kv = cJSON_GetObjectItem(j, "kv_received");
    cr_assert_eq(cJSON_GetArraySize(kv), 2);
    for (int l = 0; l < 2; l++) { /* every row gives out a total of 1 */
        double total = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetArrayItem(kv, l))
            total += x->valuedouble;
        cr_expect_float_eq(total, 4.0 * n, 1e-4, "layer %d: %g", l, total);
    }
    heed_capture_free(cap);
    heed_model_free(m);
    cJSON_Delete(j);
}

/* -n: greedy tokens after the prompt, captured too; they are `heed run`'s
 * greedy ids. */
Test(attend, generated_tokens_are_captured)
{
    char model[4096], args[4600], *out = NULL;
    FIXTURE_PATH(model, "qwen2-tiny.gguf");
    snprintf(args, sizeof args, "-p %s -n 4", SEED);
    cJSON *j = run_json(model, args);
    cJSON *tokens = cJSON_GetObjectItem(j, "tokens");
    const int n = cJSON_GetArraySize(tokens), n_prompt = get_int(j, "n_prompt");
    cr_expect_eq(n, n_prompt + 4);
    snprintf(args, sizeof args, "run '%s' -p %s -n 4 --temp 0 --print-ids", model, SEED);
    cr_assert_eq(test_run_cli(args, &out), 0);
    char want[256] = "", id[16];
    for (int i = n_prompt; i < n; i++) {
        snprintf(id, sizeof id, i > n_prompt ? " %d" : "%d",
                 get_int(cJSON_GetArrayItem(tokens, i), "id"));
        strcat(want, id);
    }
    strcat(want, "\n");
    cr_expect_str_eq(out, want);
    cJSON *w = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(j, "layers"), 1), "heads"), 1), "weights");
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetArrayItem(w, n - 1)), n);
    free(out);
    cJSON_Delete(j);
}

/* --layer, --head, --rows and --top-keys narrow the capture and the JSON. */
Test(attend, json_of_a_narrowed_capture)
{
    char model[4096], opts[512];
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    snprintf(opts, sizeof opts, "-p %s --layer 1 --head 2 --rows 5:12 --top-keys 3", SEED);
    cJSON *j = run_json(model, opts);
    cr_expect_eq(get_int(j, "top_k"), 3);
    cJSON *layers = cJSON_GetObjectItem(j, "layers");
    cr_assert_eq(cJSON_GetArraySize(layers), 1);
    cr_expect_eq(get_int(cJSON_GetArrayItem(layers, 0), "layer"), 1);
    cJSON *heads = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 0), "heads");
    cr_assert_eq(cJSON_GetArraySize(heads), 1);
    cJSON *head = cJSON_GetArrayItem(heads, 0);
    cr_expect_eq(get_int(head, "head"), 2);
    heed_model *m;
    heed_capture *cap = library_capture(model, cJSON_GetObjectItem(j, "tokens"), &m);
    cJSON *w = cJSON_GetObjectItem(head, "weights"), *keys = cJSON_GetObjectItem(head, "keys");
    cr_assert_eq(cJSON_GetArraySize(w), 7);
    cr_assert_eq(cJSON_GetArraySize(keys), 7);
    for (int r = 0; r < 7; r++) {
        const float *want = heed_capture_row(cap, 1, 2, 5 + r);
        cJSON *wr = cJSON_GetArrayItem(w, r), *kr = cJSON_GetArrayItem(keys, r);
        cr_assert_eq(cJSON_GetArraySize(wr), 3);
        float top = 0;
        for (int k = 0; k < 16; k++)
            top = fmaxf(top, k <= 5 + r ? want[k] : 0);
        cr_expect_float_eq(cJSON_GetArrayItem(wr, 0)->valuedouble, top, 1e-6);
        for (int i = 0; i < 3; i++)
            cr_expect_float_eq(cJSON_GetArrayItem(wr, i)->valuedouble,
                               want[cJSON_GetArrayItem(kr, i)->valueint], 1e-6);
    }
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "stats")), 1);
    heed_capture_free(cap);
    heed_model_free(m);
    cJSON_Delete(j);
}

/* Reads a .npy header: returns the data offset, checks the shape text. */
static size_t npy_data(const char *file, size_t len, const char *shape)
{
    cr_assert_geq(len, 10);
    cr_assert(!memcmp(file, "\x93NUMPY\x01\x00", 8));
    const size_t header = 10 + (size_t)(unsigned char)file[8] + 256u * (unsigned char)file[9];
    cr_expect_eq(header % 64, 0);
    cr_expect(strstr(file + 10, shape), "want %s in %.*s", shape, (int)header - 10, file + 10);
    return header;
}

/* --npy: the dense rows, laid out (layers, heads, rows, tokens); and
 * --residual: (positions, n_layer + 1, n_embd), entry 0 the embedding. */
Test(attend, npy_rows_and_residual_stream)
{
    char model[4096], args[5200], npy[512], res[512];
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    snprintf(npy, sizeof npy, "%s", test_tmp_path("rows.npy"));
    snprintf(res, sizeof res, "%s", test_tmp_path("residual.npy"));
    snprintf(args, sizeof args, "attend '%s' --ids 1,450,13019,3282,29915 --rows 1:5 "
             "--npy '%s' --residual '%s'", model, npy, res);
    cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
    heed_model *m;
    cr_assert_eq(heed_model_load(model, &m), HEED_OK);
    const int32_t ids[] = {1, 450, 13019, 3282, 29915};
    heed_capture *cap;
    cr_assert_eq(test_capture_prompt(m, ids, 5, 1 << 20, &cap), HEED_OK);
    size_t len;
    char *file = test_read_file(npy, &len);
    size_t at = npy_data(file, len, "'shape': (2, 4, 4, 5), }");
    cr_assert_eq(len, at + sizeof(float) * 2 * 4 * 4 * 5);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 4; h++)
            for (int r = 0; r < 4; r++)
                cr_expect(!memcmp(file + at + sizeof(float) * (size_t)(((l * 4 + h) * 4 + r) * 5),
                                  heed_capture_row(cap, l, h, r + 1), sizeof(float) * 5));
    free(file);
    file = test_read_file(res, &len);
    at = npy_data(file, len, "'shape': (4, 3, 256), }");
    cr_assert_eq(len, at + sizeof(float) * 4 * 3 * 256);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(model, &g), HEED_OK);
    const float *emb = heed_gguf_find_tensor(g, "token_embd.weight")->data;
    for (int p = 0; p < 4; p++)
        cr_expect(!memcmp(file + at + sizeof(float) * (size_t)p * 3 * 256,
                          emb + (size_t)ids[p + 1] * 256, sizeof(float) * 256));
    heed_gguf_close(g);
    free(file);
    heed_capture_free(cap);
    heed_model_free(m);
}

/* --svg: well-formed (xmllint parses it), one cell per query × key. */
Test(attend, svg_is_well_formed)
{
    char model[4096], args[5200], path[512], *out = NULL;
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    snprintf(path, sizeof path, "%s", test_tmp_path("head.svg"));
    for (int grid = 0; grid < 2; grid++) {
        snprintf(args, sizeof args, "attend '%s' -p %s %s --svg '%s'", model, SEED,
                 grid ? "" : "--layer 1 --head 3", path);
        cr_assert_eq(test_run_cli(args, NULL), 0, "%s", args);
        snprintf(args, sizeof args, "xmllint --noout '%s' 2>&1 && echo ok", path);
        FILE *p = popen(args, "r");
        char line[256] = "";
        cr_assert(fgets(line, sizeof line, p));
        pclose(p);
        cr_expect_str_eq(line, "ok\n", "xmllint: %s", line);
        char *svg = test_read_file(path, NULL);
        int rects = 0;
        for (const char *s = svg; (s = strstr(s, "<rect")); s++)
            rects++;
        cr_expect_eq(rects, (grid ? 8 : 1) * 14 * 14, "%d cells", rects);
        cr_expect(grid || strstr(svg, "animal"), "token labels");
        free(svg);
    }
    free(out);
}

/* A capture above --max-mib is refused before anything runs, saying how
 * much it needs and how to shrink it; --top-keys makes it fit. */
Test(attend, refuses_a_capture_above_the_limit)
{
    char model[4096], args[8400], ids[4096] = "1";
    FIXTURE_PATH(model, "llama-tiny-f32.gguf");
    for (int i = 1; i < 300; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), ",%d", 100 + i);
    char *out = NULL;
    snprintf(args, sizeof args, "attend '%s' --ids %s --max-mib 1 2>&1", model, ids);
    cr_expect_eq(test_run_cli(args, &out), 2);
    cr_expect(strstr(out, "needs 2.7 MiB, above the limit of 1.0 MiB"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "attend '%s' --ids %s --max-mib 1 --top-keys 4", model, ids);
    cr_expect_eq(test_run_cli(args, NULL), 0);
    snprintf(args, sizeof args, "attend '%s' --ids %s --rows 9:3", model, ids);
    cr_expect_eq(test_run_cli(args, NULL), 2);
    snprintf(args, sizeof args, "attend '%s' --ids 1,2 --npy x.npy --top-keys 2", model);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}
