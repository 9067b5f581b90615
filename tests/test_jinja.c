/* test_jinja.c — the Jinja interpreter against jinja2: every template in
 * tests/jinja rendered with its context and compared byte for byte with
 * what jinja2 (set up as Hugging Face does, scripts/jinja_expected.py)
 * rendered, or, where jinja2 raised, failing too on the line it named.
 * Then what jinja2 does not bound and heed does (loops, recursion, output,
 * memory, nesting), errors' line:column, and heed_chat_context. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heed.h"
#include "testutil.h"
#include "text/jinja.h"

#define CASES HEED_SOURCE_DIR "/tests/jinja/"

static void fixed_now(void)
{
    setenv("HEED_TEMPLATE_NOW", "1721952000", 1);
    setenv("TZ", "UTC", 1);
    tzset();
}

static char *read_text(const char *name, const char *ext)
{
    char path[512];
    snprintf(path, sizeof path, CASES "%s%s", name, ext);
    size_t n;
    return test_read_file(path, &n);
}

/* One template against its expected file; false (said why) if it differs. */
static bool check_case(const char *name, const char *context)
{
    char *tmpl = read_text(name, ".jinja"), *own = read_text(name, ".json");
    char *want = read_text(name, ".out"), *err = want ? NULL : read_text(name, ".err");
    char *out = NULL;
    size_t len = 0;
    bool ok = true;
    cr_assert(tmpl && (want || err), "%s: no template or no expected file", name);
    const heed_status st = heed_template_render(tmpl, own ? own : context, &out, &len);
    if (want) {
        if (st) {
            cr_log_error("%s: heed fails: %s", name, heed_last_error());
            ok = false;
        } else if (len != strlen(want) || memcmp(out, want, len)) {
            size_t i = 0;
            while (i < len && want[i] && out[i] == want[i])
                i++;
            cr_log_error("%s: differs at byte %zu:\n  jinja2: %.60s\n  heed:   %.60s", name, i,
                         want + (i > 20 ? i - 20 : 0), out + (i > 20 ? i - 20 : 0));
            ok = false;
        }
    } else {
        /* "LINE\nmessage": heed must fail, at that line when jinja2 names one */
        char prefix[32];
        snprintf(prefix, sizeof prefix, "template:%d:", atoi(err));
        if (!st) {
            cr_log_error("%s: jinja2 raises (%s) but heed renders", name, strchr(err, '\n') + 1);
            ok = false;
        } else if (strncmp(err, "None", 4) && strncmp(heed_last_error(), prefix, strlen(prefix))) {
            cr_log_error("%s: heed fails elsewhere: %s (jinja2: line %d)", name, heed_last_error(),
                         atoi(err));
            ok = false;
        }
    }
    free(out);
    free(tmpl);
    free(own);
    free(want);
    free(err);
    return ok;
}

Test(jinja, matches_jinja2)
{
    fixed_now();
    char *context = read_text("context", ".json");
    cr_assert_not_null(context);
    DIR *d = opendir(CASES);
    cr_assert_not_null(d);
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".jinja"))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len - 6), e->d_name);
        n++;
        bad += !check_case(name, context);
    }
    closedir(d);
    free(context);
    cr_expect_gt(n, 100, "only %d templates found", n);
    cr_expect_eq(bad, 0, "%d of %d templates differ from jinja2", bad, n);
}

/* heed_template_render's message for src, which must fail. */
static const char *fails(const char *src)
{
    char *out = NULL;
    cr_assert_neq(heed_template_render(src, "{}", &out, NULL), HEED_OK, "renders: %s", out);
    cr_assert_null(out);
    return heed_last_error();
}

Test(jinja, bounded)
{
    /* each within the default limits, each failing fast with its reason */
    cr_expect(strstr(fails("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                           "{% endfor %}"),
                     "loop iterations"));
    cr_expect(strstr(fails("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}"),
                     "recursion deeper than 100"));
    cr_expect(strstr(fails("{% macro r(n) %}{% for i in range(2) %}{{ r(n + 1) }}{% endfor %}"
                           "{% endmacro %}{{ r(0) }}"),
                     "recursion deeper"));
    cr_expect(strstr(fails("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"),
                     "output exceeds 16384 KiB"));
    cr_expect(strstr(fails("{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
                           "{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
                     "more than 262144 KiB"));
    cr_expect(strstr(fails("{{ 'x' * 1000000000000 }}"), "more than 262144 KiB"));
    cr_expect(strstr(fails("{% set ns = namespace(x=[]) %}{% for i in range(2000) %}"
                           "{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"),
                     "nested too deeply"));
    char deep[3000];
    memset(deep, 0, sizeof deep);
    strcpy(deep, "{{ ");
    for (int i = 0; i < 100; i++)
        strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 100; i++)
        strcat(deep, ")");
    strcat(deep, " }}");
    cr_expect(strstr(fails(deep), "nests too deeply"));
    memset(deep + 3, '[', 900);
    cr_expect(strstr(fails(deep), "brackets nest too deeply"));
    cr_expect(strstr(fails("{{ 2 ** 63 }}"), "64-bit"));
    cr_expect(strstr(fails("{{ 9223372036854775808 }}"), "64-bit"));
}

Test(jinja, errors_say_line_and_column)
{
    cr_expect_str_eq(fails("ab\n  {{ x.y }}"), "template:2:7: 'x' is undefined");
    cr_expect_str_eq(fails("{% if true %}\n\t{{ 1 +\n }}"), "template:3:2: unexpected 'end of print statement'");
    cr_expect_str_eq(fails("é✓ {{ raise_exception('stop: ' ~ 1) }}"),
                     "template:1:22: stop: 1");
    cr_expect_str_eq(fails("{% for x in 3 %}{% endfor %}"), "template:1:13: 'int' object is not iterable");
    cr_expect_str_eq(fails("x\n{% endif %}"), "template:2:4: Encountered unknown tag 'endif'.");
    cr_expect(strstr(fails("{{ \"unterminated }}"), "template:1:4: unexpected char '\"'"));
    cr_expect(strstr(fails("\xff{{ 1 }}"), "not valid UTF-8"));
    char *out = NULL;
    cr_expect_eq(heed_template_render("{{ x }}", "[1]", &out, NULL), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "must be a JSON object"));
    cr_expect_eq(heed_template_render("{{ x }}", "{\"x\": 01}", &out, NULL), HEED_ERR_ARG);
    cr_expect_eq(heed_template_render(NULL, "{}", &out, NULL), HEED_ERR_ARG);
}

Test(jinja, output_may_hold_nul)
{
    char *out = NULL;
    size_t len = 0;
    cr_assert_eq(heed_template_render("[{{ s }}]", "{\"s\": \"a\\u0000b\"}", &out, &len), HEED_OK);
    cr_expect_eq(len, 5);
    cr_expect_eq(memcmp(out, "[a\0b]", 5), 0);
    free(out);
    cr_assert_eq(heed_template_render("", NULL, &out, &len), HEED_OK);
    cr_expect_str_eq(out, "");
    free(out);
}

Test(jinja, chat_context)
{
    char *ctx = NULL, *out = NULL;
    cr_assert_eq(heed_chat_context(NULL, "[{\"role\": \"user\", \"content\": \"hi\", \"x\": 1.0}]",
                                   NULL, true, "{\"enable_thinking\": false, \"bos_token\": \"B\"}",
                                   &ctx),
                 HEED_OK, "%s", heed_last_error());
    cr_expect_str_eq(ctx, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"x\": 1.0}], "
                          "\"tools\": null, \"add_generation_prompt\": true, \"bos_token\": \"\", "
                          "\"eos_token\": \"\", \"enable_thinking\": false, \"bos_token\": \"B\"}");
    cr_assert_eq(heed_template_render("{{ bos_token }}{{ messages[0].x }}{{ tools is none }}"
                                      "{{ enable_thinking }}{{ add_generation_prompt }}",
                                      ctx, &out, NULL),
                 HEED_OK);
    cr_expect_str_eq(out, "B1.0TrueFalseTrue");
    free(out);
    free(ctx);
    cr_expect_eq(heed_chat_context(NULL, "{}", NULL, true, NULL, &ctx), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "chat context: the messages must be a JSON array"));
    cr_expect_eq(heed_chat_context(NULL, "[]", "{\"a\":", true, NULL, &ctx), HEED_ERR_ARG);
    cr_expect_eq(heed_chat_context(NULL, "[]", NULL, true, "[]", &ctx), HEED_ERR_ARG);
    cr_expect_null(ctx);
    cr_assert_eq(heed_chat_context(NULL, "[]", "[]", false, "{ }", &ctx), HEED_OK);
    cr_expect_str_eq(ctx, "{\"messages\": [], \"tools\": [], \"add_generation_prompt\": false, "
                          "\"bos_token\": \"\", \"eos_token\": \"\"}");
    free(ctx);
}

/* The fuzzer's limits are small; the same template must fail the same way
 * under them and render under the defaults. */
Test(jinja, limits_are_parameters)
{
    const jx_limits small = {.memory = 1 << 20, .output = 1 << 10, .steps = 1000, .depth = 10};
    char *out = NULL;
    cr_expect_eq(jx_render_limited("{% for i in range(2000) %}{% endfor %}", "{}", &small, &out, NULL),
                 HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "1000 loop iterations"));
    cr_expect_eq(jx_render_limited("{{ 'x' * 2000 }}", "{}", &small, &out, NULL), HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "output exceeds"));
    cr_assert_eq(heed_template_render("{% for i in range(2000) %}{% endfor %}{{ 'x' * 2000 }}", "{}",
                                      &out, NULL),
                 HEED_OK);
    free(out);
}

Test(jinja, cli_template)
{
    char *out = NULL;
    cr_assert_eq(test_run_cli("template --template-file " HEED_SOURCE_DIR "/tests/serve/chat.jinja"
                              " --messages " HEED_SOURCE_DIR "/tests/serve/chat.json"
                              " --context greeting='\"Ahoy\"' --no-generation-prompt",
                              &out),
                 0);
    cr_expect_str_eq(out, "Ahoy\n<|im_start|>user\nWeather in Paris?<|im_end|><|im_start|>assistant\n"
                          "<call>weather {\"city\": \"Paris\", \"days\": 1.0}</call><|im_end|>"
                          "<|im_start|>tool\nSunny.<|im_end|>");
    free(out);
    /* a model's own template, its bos text: the default model has none */
    cr_expect_eq(test_run_cli("template " HEED_SOURCE_DIR "/models/default.gguf --messages "
                              HEED_SOURCE_DIR "/tests/serve/chat.json 2>&1", &out), 2);
    cr_expect(strstr(out, "has no chat template"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("template --messages x.json 2>&1", &out), 2);
    cr_expect(strstr(out, "usage: heed template"), "%s", out);
    free(out);
    cr_expect_eq(test_run_cli("template --template-file " HEED_SOURCE_DIR "/tests/serve/chat.jinja"
                              " --messages " HEED_SOURCE_DIR "/tests/jinja/context.json 2>&1", &out),
                 2);
    cr_expect(strstr(out, "the messages must be a JSON array"), "%s", out);
    free(out);
}
