/* test_cli_edit.c — the commands that change what the model does, as a
 * user runs them: heed patch (its JSON: the cell that patches the whole
 * answer is exactly 1, cells before the first difference exactly 0),
 * heed attribute (its JSON's parts sum to its logit) and heed ablate. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"
#define CLEAN "In the beginning God created the heaven and the"
#define CORRUPT "In the beginning God created the water and the"

static cJSON *read_json(const char *path)
{
    size_t size;
    char *text = test_read_file(path, &size);
    cr_assert_not_null(text, "%s", path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(j, "%s is not JSON", path);
    return j;
}

static double cell(const cJSON *values, int row, int col)
{
    return cJSON_GetArrayItem(cJSON_GetArrayItem(values, row), col)->valuedouble;
}

Test(cli_edit, patch_resid_restores_exactly_at_the_answer_and_nothing_before_the_difference)
{
    char json[512], html[512];
    snprintf(json, sizeof json, "%s", test_tmp_path("patch.json"));
    snprintf(html, sizeof html, "%s", test_tmp_path("patch.html"));
    char args[4096], *out = NULL;
    snprintf(args, sizeof args, "patch %s --clean '" CLEAN "' --corrupt '" CORRUPT "' "
             "--answer ' earth' --foil ' sea' --json %s --html %s", DEFAULT_MODEL, json, html);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s\n%s", args, out);
    free(out);
    cJSON *j = read_json(json);
    const cJSON *values = cJSON_GetObjectItem(j, "values");
    const int L = cJSON_GetArraySize(cJSON_GetObjectItem(j, "layers"));
    const int P = cJSON_GetArraySize(cJSON_GetObjectItem(j, "positions"));
    cr_assert_eq(L, 6);
    cr_assert_eq(cJSON_GetArraySize(values), L);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")), P);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metric"), "name")->valuestring,
                     "logit_diff");
    /* the first position whose tokens differ */
    int first = 0;
    const cJSON *tokens = cJSON_GetObjectItem(j, "tokens");
    while (first < P) {
        const cJSON *t = cJSON_GetArrayItem(tokens, first);
        if (cJSON_GetObjectItem(cJSON_GetObjectItem(t, "clean"), "id")->valueint !=
            cJSON_GetObjectItem(cJSON_GetObjectItem(t, "corrupt"), "id")->valueint)
            break;
        first++;
    }
    cr_assert(first > 0 && first < P, "the prompts differ in one word: %d", first);
    cr_expect_eq(cell(values, L - 1, P - 1), 1.0, "the last layer's last position: exactly 1");
    for (int l = 0; l < L; l++) {
        for (int p = 0; p < first; p++)
            cr_expect_eq(cell(values, l, p), 0.0, "layer %d position %d: exactly 0", l, p);
        if (l < L - 1) /* the last layer's stream there reaches no later position */
            cr_expect_gt(cell(values, l, first), 0.05, "layer %d: the differing word", l);
    }
    for (int p = first; p < P - 1; p++) /* the last block only reaches the rest through p */
        cr_expect_eq(cell(values, L - 1, p), 0.0, "the last layer at position %d", p);
    cJSON_Delete(j);
    size_t size;
    char *page = test_read_file(html, &size);
    cr_assert_not_null(page);
    cr_expect(strstr(page, "<svg") && strstr(page, "id=\"patch\""), "the page has both");
    free(page);
}

Test(cli_edit, patch_heads_and_bad_input)
{
    char json[512], svg[512];
    snprintf(json, sizeof json, "%s", test_tmp_path("patch-heads.json"));
    snprintf(svg, sizeof svg, "%s", test_tmp_path("patch.svg"));
    char args[4096], *out = NULL;
    snprintf(args, sizeof args, "patch %s --clean '" CLEAN "' --corrupt '" CORRUPT "' "
             "--answer ' earth' --what heads --json %s --svg %s", DEFAULT_MODEL, json, svg);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s\n%s", args, out);
    free(out);
    cJSON *j = read_json(json);
    const cJSON *values = cJSON_GetObjectItem(j, "values");
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "heads")), 8);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetArrayItem(values, 0)), 8);
    cr_expect_str_eq(cJSON_GetObjectItem(j, "what")->valuestring, "heads");
    double top = 0;
    for (int l = 0; l < 6; l++)
        for (int h = 0; h < 8; h++)
            top = fmax(top, fabs(cell(values, l, h)));
    cr_expect_gt(top, 0.01, "some head carries the difference");
    cJSON_Delete(j);

    snprintf(args, sizeof args, "patch %s --clean 'In the beginning' --corrupt 'In the "
             "beginning God' --answer ' God' 2>&1", DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    cr_expect(strstr(out, "same length"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "patch %s --clean 'a b' --corrupt 'a c' --answer ' heaven and' 2>&1",
             DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    cr_expect(strstr(out, "not one"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "patch %s --clean 'a b' --corrupt 'a c' --answer x --what nope 2>&1",
             DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    free(out);
}

Test(cli_edit, attribute_json_parts_sum_to_the_logit)
{
    char json[512], svg[512];
    snprintf(json, sizeof json, "%s", test_tmp_path("attribute.json"));
    snprintf(svg, sizeof svg, "%s", test_tmp_path("attribute.svg"));
    char args[4096], *out = NULL;
    snprintf(args, sizeof args, "attribute %s -p '" CLEAN "' --token ' earth' --json %s --svg %s",
             DEFAULT_MODEL, json, svg);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s\n%s", args, out);
    cr_expect(strstr(out, "' earth' after"), "%s", out);
    free(out);
    cJSON *j = read_json(json);
    double sum = cJSON_GetObjectItem(j, "embed")->valuedouble +
                 cJSON_GetObjectItem(j, "bias")->valuedouble +
                 cJSON_GetObjectItem(j, "steer")->valuedouble;
    const cJSON *heads = cJSON_GetObjectItem(j, "heads"), *mlp = cJSON_GetObjectItem(j, "mlp");
    cr_assert_eq(cJSON_GetArraySize(heads), 6);
    for (int l = 0; l < 6; l++) {
        sum += cJSON_GetArrayItem(mlp, l)->valuedouble;
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetArrayItem(heads, l)), 8);
        for (int h = 0; h < 8; h++)
            sum += cell(heads, l, h);
    }
    const double logit = cJSON_GetObjectItem(j, "logit")->valuedouble;
    cr_expect_leq(fabs(sum - logit), 1e-3, "the parts sum to %g, the logit is %g", sum, logit);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "target"), "piece")->valuestring,
                     " earth");
    cJSON_Delete(j);
    snprintf(args, sizeof args, "attribute %s -p 'x' --token 'heaven and earth' 2>&1", DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    cr_expect(strstr(out, "--token"), "%s", out);
    free(out);
}

/* heed ablate: the table before and after and a KL that is > 0; a head
 * out of range is refused naming the model's size. */
Test(cli_edit, ablate_tables_and_kl)
{
    char args[4096], *out = NULL;
    snprintf(args, sizeof args, "ablate %s -p '" CLEAN "' --heads 4.5,1.* -k 3", DEFAULT_MODEL);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s\n%s", args, out);
    const char *kl = strstr(out, "KL(before || after) = ");
    cr_assert_not_null(kl, "%s", out);
    cr_expect_gt(atof(kl + 22), 0, "%s", out);
    cr_expect(strstr(out, "' earth'"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "ablate %s -p 'x' --heads 6.0 2>&1", DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    cr_expect(strstr(out, "6 layers of 8 heads"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "ablate %s -p 'x' --heads 1-2 2>&1", DEFAULT_MODEL);
    cr_expect_eq(test_run_cli(args, &out), 2, "%s", out);
    free(out);
}
