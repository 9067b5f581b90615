/* test_synth.c — `heed synth`: random-weight models of real shapes load,
 * run, and are the same bytes for a seed whatever the thread count. */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

Test(synth, stories15m_has_its_shape_and_runs)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", test_tmp_path("s15-1.gguf"));
    snprintf(b, sizeof b, "%s", test_tmp_path("s15-2.gguf"));
    cr_assert_eq(heed_synth("stories15m", HEED_TYPE_Q8_0, 7, 1, a), HEED_OK, "%s",
                 heed_last_error());
    cr_assert_eq(heed_synth("stories15m", HEED_TYPE_Q8_0, 7, 2, b), HEED_OK);
    size_t na, nb;
    char *fa = test_read_file(a, &na), *fb = test_read_file(b, &nb);
    cr_assert(na == nb && !memcmp(fa, fb, na), "the thread count changed the file");
    free(fa);
    free(fb);
    cr_assert_eq(heed_synth("stories15m", HEED_TYPE_Q8_0, 8, 2, b), HEED_OK);
    fb = test_read_file(b, &nb);
    fa = test_read_file(a, &na);
    cr_expect(na == nb && memcmp(fa, fb, na), "another seed, other weights");
    free(fa);
    free(fb);

    heed_model *m;
    cr_assert_eq(heed_model_load(a, &m), HEED_OK, "%s", heed_last_error());
    cr_expect_str_eq(heed_model_arch(m), "llama");
    cr_expect_eq(heed_model_n_layer(m), 6);
    cr_expect_eq(heed_model_n_head(m), 6);
    cr_expect_eq(heed_model_n_embd(m), 288);
    cr_expect_eq(heed_model_n_vocab(m), 32000);
    heed_model_free(m);
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "run '%s' -p 'Once upon a time' -n 4 --temp 0 --print-ids", a);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    int ids[4];
    cr_expect_eq(sscanf(out, "%d %d %d %d", &ids[0], &ids[1], &ids[2], &ids[3]), 4, "%s", out);
    free(out);
}

Test(synth, bad_requests_say_what_is_known)
{
    cr_expect_eq(heed_synth("gpt5", HEED_TYPE_F16, 1, 1, test_tmp_path("x.gguf")), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "known: stories15m"), "%s", heed_last_error());
    cr_expect_eq(heed_synth("stories15m", HEED_TYPE_IQ2_XXS, 1, 1, test_tmp_path("x.gguf")),
                 HEED_ERR_UNSUPPORTED);
}

/* Rows that q4_K's 256-element blocks do not divide (288) fall back to
 * q5_0, as llama.cpp does. */
Test(synth, k_quants_fall_back_where_blocks_do_not_fit)
{
    const char *path = test_tmp_path("s15-q4k.gguf");
    cr_assert_eq(heed_synth("stories15m", HEED_TYPE_Q4_K, 1, 2, path), HEED_OK);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK);
    cr_expect_eq(heed_gguf_find_tensor(g, "blk.0.attn_q.weight")->type, HEED_TYPE_Q5_0);
    cr_expect_eq(heed_gguf_find_tensor(g, "blk.0.ffn_down.weight")->type, HEED_TYPE_Q4_K);
    cr_expect_eq(heed_gguf_find_tensor(g, "blk.0.attn_norm.weight")->type, HEED_TYPE_F32);
    heed_gguf_close(g);
}

/* `heed bench` runs (no timing is asserted) and ends with the line scripts
 * read; `--capture` adds the captured prompt's line. */
Test(synth, bench_prints_its_machine_readable_line)
{
    char model[4096], args[4400], *out = NULL;
    FIXTURE_PATH(model, "llama-tiny-q4_0.gguf");
    snprintf(args, sizeof args, "bench '%s' -p 8 -n 4 -r 1 --capture", model);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    const char *last = NULL; /* the last line that starts with "pp8 " */
    for (const char *s = strstr(out, "\npp8 "); s; s = strstr(s + 1, "\npp8 "))
        last = s;
    cr_assert_not_null(last, "%s", out);
    double pp, tg, bw, roof;
    cr_expect_eq(sscanf(last, "\npp8 %lf tg4 %lf bw %lf roofline %lf", &pp, &tg, &bw, &roof), 4,
                 "%s", last);
    cr_expect(pp > 0 && tg > 0 && bw > 0 && roof > 0, "%s", last);
    cr_expect(strstr(out, "with capture"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "bench '%s' -r 0", model);
    cr_expect_eq(test_run_cli(args, NULL), 2);
}
