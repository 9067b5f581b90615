/*
 * test_lookup.c — prompt-lookup decoding: the draft finder on its own,
 * and `heed run --lookup N` giving exactly the tokens of plain decoding,
 * greedy and sampled, on every decoder fixture.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

Test(lookup, drafts_what_followed_the_latest_occurrence)
{
    /* ... 5 6 7 8 9 | ... 5 6 7 1 2 | ... 6 7: the latest "6 7" is at 11 */
    const int32_t h[] = {1, 5, 6, 7, 8, 9, 3, 5, 6, 7, 1, 6, 7, 2, 4, 6, 7};
    const int n = (int)(sizeof h / sizeof *h);
    int32_t d[8];
    /* "6 7" at 11: 2 4 6 7, then the copy goes on into itself */
    cr_assert_eq(heed_lookup_draft(h, n, 1, 3, d, 8), 8);
    const int32_t want[8] = {2, 4, 6, 7, 2, 4, 6, 7};
    cr_assert_arr_eq(d, want, sizeof want);
    cr_assert_eq(heed_lookup_draft(h, n, 1, 3, d, 2), 2); /* at most max_draft */
    /* the longest n-gram wins: "5 6 7" occurs at 7 and 1, latest at 7 */
    const int32_t h2[] = {5, 6, 7, 8, 0, 5, 6, 7, 9, 6, 7, 3, 5, 6, 7};
    cr_assert_eq(heed_lookup_draft(h2, 15, 1, 3, d, 1), 1);
    cr_assert_eq(d[0], 9);
    /* a run of one token drafts max_draft of it, not the one token after */
    const int32_t h4[] = {3, 9, 9};
    cr_assert_eq(heed_lookup_draft(h4, 3, 1, 2, d, 5), 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(d[i], 9);
    /* nothing to find, and bad arguments */
    const int32_t h3[] = {1, 2, 3, 4};
    cr_assert_eq(heed_lookup_draft(h3, 4, 1, 3, d, 8), 0);
    cr_assert_eq(heed_lookup_draft(h3, 1, 1, 3, d, 8), 0);
    cr_assert_eq(heed_lookup_draft(NULL, 4, 1, 3, d, 8), 0);
    cr_assert_eq(heed_lookup_draft(h, n, 0, 3, d, 8), 0);
    cr_assert_eq(heed_lookup_draft(h, n, 1, 3, d, 0), 0);
}

/* The ids `heed run` prints for model with args. */
static char *run_ids(const char *model, const char *args)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "run '%s' --print-ids -c 128 %s", model, args);
    cr_assert_eq(test_run_cli(cmd, &out), 0, "%s", cmd);
    return out;
}

Test(lookup, gives_the_tokens_of_plain_decoding_on_every_fixture, .timeout = 120)
{
    static const char *const models[] = {
        "llama-tiny-f32.gguf",  "llama-tiny-f16.gguf",  "llama-tiny-bf16.gguf",
        "llama-tiny-q4_0.gguf", "llama-tiny-q4_k.gguf", "llama-tiny-q6_k.gguf",
        "llama-tiny-q8_0.gguf", "qwen2-tiny.gguf",      "phi3-tiny.gguf",
        "gemma-tiny.gguf",      "gpt2-tiny.gguf",       "stories260K.bin",
    };
    /* a prompt that repeats itself, so drafts are found and tried */
    static const char *const modes[] = {"--temp 0", "--temp 0.9 --seed 7 --top-k 0 --top-p 1 --min-p 0"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char path[512];
        FIXTURE_PATH(path, models[i]);
        for (size_t k = 0; k < sizeof modes / sizeof *modes; k++) {
            char plain_args[256], lookup_args[300];
            snprintf(plain_args, sizeof plain_args,
                     "--ids 1,300,301,302,303,304,300,301,302,303 -n 40 --ignore-eos %s", modes[k]);
            snprintf(lookup_args, sizeof lookup_args, "%s --lookup 5", plain_args);
            char *plain = run_ids(path, plain_args), *lookup = run_ids(path, lookup_args);
            cr_expect_str_eq(lookup, plain, "%s %s", models[i], modes[k]);
            free(plain);
            free(lookup);
        }
    }
}
