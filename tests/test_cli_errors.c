/*
 * test_cli_errors.c — who says what when something fails: the library's
 * messages name its own parameters (n_ctx), never a CLI option; the CLI
 * adds its option where one helps, and reports the library's message when
 * the library failed (not a stale message of its own).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

Test(cli_errors, a_full_context_names_n_ctx_not_an_option)
{
    heed_model *m;
    cr_assert_eq(heed_model_load(DEFAULT_MODEL, &m), HEED_OK, "%s", heed_last_error());
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = 4;
    heed_context *c;
    cr_assert_eq(heed_context_new(m, &cp, &c), HEED_OK);
    const int32_t five[] = {1, 2, 3, 4, 5};
    cr_expect_eq(heed_context_eval(c, five, 5, NULL, false), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "n_ctx = 4"), "%s", heed_last_error());
    cr_expect_null(strstr(heed_last_error(), "-c"), "%s", heed_last_error());
    heed_context_free(c);
    heed_model_free(m);
}

Test(cli_errors, the_cli_names_its_option)
{
    char *out = NULL;
    cr_expect_eq(test_run_cli("run " DEFAULT_MODEL " -p 'In the beginning God' -c 3 -n 2 2>&1",
                              &out), 2);
    cr_expect(strstr(out, "heed run: ") && strstr(out, "(raise it with -c)"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("logits " DEFAULT_MODEL " --ids 1,2,3,4 -c 2 -o /dev/null 2>&1",
                              &out), 2);
    cr_expect(strstr(out, "heed logits: 4 tokens do not fit") && strstr(out, "-c"), "%s", out);
    free(out);
}

Test(cli_errors, a_library_failure_is_reported_as_the_library_says)
{
    char *out = NULL;
    cr_expect_eq(test_run_cli("run " DEFAULT_MODEL " --ids 1,99999 -n 2 2>&1", &out), 2);
    cr_expect(strstr(out, "heed run: token id 99999 at index 1 is out of range"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("run /nonexistent.gguf -p hi 2>&1", &out), 1);
    cr_expect(strstr(out, "heed run: ") && strstr(out, "/nonexistent.gguf"), "%s", out);
    free(out);
}
