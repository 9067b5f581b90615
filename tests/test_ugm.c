/* test_ugm.c — the unigram (T5, "UGM") tokenizer against llama.cpp:
 * tests/data/ugm/{kjv,multi}-ugm.gguf (spm_train unigram vocabularies,
 * see tests/data/ugm/make.sh) on KJV verses, multilingual lines and hostile
 * texts, whose llama.cpp ids (tests/oracle/peer_tokenize.c at c392e50) are
 * tests/data/ugm/VOCAB/TEXTS.out; then EOS, decoding, user-defined tokens
 * and malformed charsmaps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_vocab *load_ugm(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/ugm/%s-ugm.gguf", HEED_SOURCE_DIR, name);
    heed_vocab *v = NULL;
    cr_assert_eq(heed_vocab_load_file(path, &v), HEED_OK, "%s", heed_last_error());
    return v;
}

/* Every text of TEXTS.inp tokenized by VOCAB gives its line of the .out;
 * returns the number of texts. */
static size_t check_texts(const char *vocab, const char *name)
{
    char path[4096];
    size_t inp_size, out_size;
    snprintf(path, sizeof path, "%s/tests/data/ugm/%s.inp", HEED_SOURCE_DIR, name);
    char *inp = test_read_file(path, &inp_size);
    snprintf(path, sizeof path, "%s/tests/data/ugm/%s/%s.out", HEED_SOURCE_DIR, vocab, name);
    char *out = test_read_file(path, &out_size);
    cr_assert(inp && out, "cannot read the %s texts", name);
    heed_vocab *v = load_ugm(vocab);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t n_texts = 0, ok = 0, pos = 0;
    char *line = out;
    for (;;) {
        const char *m = memmem(inp + pos, inp_size - pos, sep, sizeof sep - 1);
        size_t end = m ? (size_t)(m - inp) : inp_size;
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "%s/%s: fewer .out lines than texts", vocab, name);
        *nl = 0;
        int32_t *ids;
        size_t n;
        cr_assert_eq(heed_tokenize(v, inp + pos, end - pos, false, false, &ids, &n), HEED_OK);
        char *got = malloc(12 * n + 1);
        size_t k = 0;
        got[0] = 0;
        for (size_t j = 0; j < n; j++)
            k += (size_t)sprintf(got + k, " %d", ids[j]);
        cr_expect_str_eq(got, line, "%s/%s: text %zu '%.*s'", vocab, name, n_texts,
                         (int)(end - pos > 80 ? 80 : end - pos), inp + pos);
        ok += !strcmp(got, line);
        n_texts++;
        free(got);
        free(ids);
        line = nl + 1;
        if (!m)
            break;
        pos = end + sizeof sep - 1;
    }
    cr_expect_eq(ok, n_texts, "%s/%s: %zu of %zu texts match", vocab, name, ok, n_texts);
    cr_expect_eq(*line, 0, "%s/%s: more .out lines than texts", vocab, name);
    heed_vocab_free(v);
    free(inp);
    free(out);
    return n_texts;
}

Test(ugm, llama_ids)
{
    static const char *const vocabs[] = {"kjv", "multi"}, *const names[] = {"kjv", "multi",
                                                                            "hostile"};
    static const size_t counts[] = {208, 336, 375};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            cr_expect_eq(check_texts(vocabs[i], names[j]), counts[j]);
}

static int32_t *tok(const heed_vocab *v, const char *s, bool add_special, size_t *n)
{
    int32_t *ids;
    cr_assert_eq(heed_tokenize(v, s, strlen(s), add_special, false, &ids, n), HEED_OK,
                 "%s", heed_last_error());
    return ids;
}

/* T5's specials: EOS (1) added, no BOS; pad 0, unk 2; decoding drops the
 * prefix space and, with remove_special, the EOS; verses come back whole. */
Test(ugm, specials_and_decoding)
{
    heed_vocab *v = load_ugm("kjv");
    cr_expect_str_eq(heed_vocab_model(v), "t5");
    cr_expect_eq(heed_vocab_eos(v), 1);
    cr_expect_eq(heed_vocab_unk(v), 2);
    cr_expect_eq(heed_vocab_pad(v), 0);
    cr_expect_eq(heed_vocab_bos(v), -1);
    cr_expect(!heed_vocab_add_bos(v) && heed_vocab_add_eos(v));
    static const char *const verses[] = {
        "In the beginning God created the heaven and the earth.",
        "And God said, Let there be light: and there was light.",
        "Jesus wept.", "For God so loved the world,  that he gave"};
    for (size_t i = 0; i < 4; i++) {
        size_t n, plain;
        int32_t *ids = tok(v, verses[i], true, &n);
        free(tok(v, verses[i], false, &plain));
        cr_expect_eq(n, plain + 1);
        cr_expect_eq(ids[n - 1], 1, "EOS last");
        char *text;
        size_t len;
        cr_assert_eq(heed_detokenize(v, ids, n, true, false, &text, &len), HEED_OK);
        cr_expect_str_eq(text, verses[i]);
        free(text);
        free(ids);
    }
    /* an unknown character: one [UNK] for a run, decoded as nothing */
    size_t n;
    int32_t *ids = tok(v, "God\xE2\x98\x83\xE2\x98\x83 said", false, &n);
    int unks = 0;
    for (size_t i = 0; i < n; i++)
        unks += ids[i] == 2;
    cr_expect_eq(unks, 1);
    free(ids);
    heed_vocab_free(v);
}

/* <extra_id_N> are user-defined (ids 8000..8009, N = 9 - (id - 8000)):
 * cut out of the text even without parse_special, decoded as written,
 * the text after one a fragment of its own (with its prefix space);
 * full-width letters are folded by the charsmap. */
Test(ugm, user_defined_and_charsmap)
{
    heed_vocab *v = load_ugm("multi");
    size_t n, m;
    int32_t *ids = tok(v, "a<extra_id_9>b", false, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += ids[i] == 8000;
    cr_expect_eq(found, 1);
    char *text;
    size_t len;
    cr_assert_eq(heed_detokenize(v, ids, n, false, false, &text, &len), HEED_OK);
    cr_expect_str_eq(text, "a<extra_id_9> b");
    free(text);
    free(ids);
    int32_t *wide = tok(v, "\xEF\xBC\xA8\xEF\xBD\x85\xEF\xBD\x8C\xEF\xBD\x8C\xEF\xBD\x8F", false,
                        &n); /* "Ｈｅｌｌｏ" */
    int32_t *narrow = tok(v, "Hello", false, &m);
    cr_assert_eq(n, m);
    cr_expect_arr_eq(wide, narrow, n * sizeof *wide);
    free(wide);
    free(narrow);
    heed_vocab_free(v);
}

/* multi-ugm.gguf with its precompiled_charsmap replaced. */
static heed_status load_with_charsmap(heed_gguf_type type, const void *data, size_t n,
                                      heed_vocab **v)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/ugm/multi-ugm.gguf", HEED_SOURCE_DIR);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        cr_assert_eq(heed_gguf_writer_set(w, heed_gguf_kv_key(g, i), heed_gguf_kv_value(g, i)),
                     HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr(w, "tokenizer.ggml.precompiled_charsmap", type, data,
                                          n), HEED_OK, "%s", heed_last_error());
    const char *out = test_tmp_path("ugm-charsmap.gguf");
    cr_assert_eq(heed_gguf_writer_write(w, out), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);
    heed_gguf_close(g);
    return heed_vocab_load_file(out, v);
}

Test(ugm, bad_charsmap)
{
    heed_vocab *v = NULL;
    unsigned char small[3] = {1, 2, 3};
    cr_expect_eq(load_with_charsmap(HEED_GGUF_UINT8, small, 3, &v), HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "precompiled_charsmap"), "%s", heed_last_error());
    unsigned char big[16] = {12, 0, 0, 0}; /* a 12-byte trie leaves no strings */
    cr_expect_eq(load_with_charsmap(HEED_GGUF_UINT8, big, 16, &v), HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "precompiled_charsmap"), "%s", heed_last_error());
    int32_t ints[4] = {4, 0, 0, 0};
    cr_expect_eq(load_with_charsmap(HEED_GGUF_INT32, ints, 4, &v), HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "precompiled_charsmap"), "%s", heed_last_error());
    cr_expect_null(v);
    /* garbage trie units and string offsets: every text still tokenizes */
    unsigned char junk[4 + 4096 + 64];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
    junk[0] = 0, junk[1] = 16, junk[2] = 0, junk[3] = 0; /* 4096 bytes of trie */
    cr_assert_eq(load_with_charsmap(HEED_GGUF_UINT8, junk, sizeof junk, &v), HEED_OK, "%s",
                 heed_last_error());
    char text[256];
    for (int i = 0; i < 255; i++)
        text[i] = (char)(i + 1);
    for (size_t len = 0; len <= 255; len += 15) {
        int32_t *ids;
        size_t n;
        cr_expect_eq(heed_tokenize(v, text + 255 - len, len, true, true, &ids, &n), HEED_OK);
        for (size_t i = 0; i < n; i++)
            cr_expect(ids[i] >= 0 && ids[i] < heed_vocab_n_tokens(v));
        free(ids);
    }
    heed_vocab_free(v);
}

/* The [UNK] penalty: "☃" (no token of multi's) costs the lowest normal
 * score m less 10 as [UNK]; the unused token 8015 renamed "☃☃" with score
 * 2(m - 10) + 1 beats two of them (and loses to them at a penalty of 9). */
Test(ugm, unknown_penalty)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/ugm/multi-ugm.gguf", HEED_SOURCE_DIR);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    const heed_gguf_value *toks, *scores, *types;
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &toks), HEED_OK);
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, &scores),
                 HEED_OK);
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.token_type", HEED_GGUF_INT32, &types),
                 HEED_OK);
    size_t n = toks->v.arr.n;
    cr_assert_eq(n, 8016);
    char **strs = malloc(n * sizeof *strs);
    float *sc = malloc(n * sizeof *sc), m = 0;
    for (size_t i = 0; i < n; i++) {
        strs[i] = strndup(toks->v.arr.strs[i].ptr, toks->v.arr.strs[i].len);
        sc[i] = (float)heed_gguf_arr_get(scores, i).v.f;
        if (heed_gguf_arr_get(types, i).v.i == 1 && sc[i] < m)
            m = sc[i];
    }
    cr_assert_eq(heed_gguf_arr_get(types, 8015).v.i, 5, "8015 is unused");
    free(strs[8015]);
    strs[8015] = strdup("\xE2\x98\x83\xE2\x98\x83");
    sc[8015] = 2 * (m - 10) + 1;
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        cr_assert_eq(heed_gguf_writer_set(w, heed_gguf_kv_key(g, i), heed_gguf_kv_value(g, i)),
                     HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                              (const char *const *)strs, n), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr(w, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, sc, n),
                 HEED_OK);
    const char *out = test_tmp_path("ugm-penalty.gguf");
    cr_assert_eq(heed_gguf_writer_write(w, out), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);
    heed_gguf_close(g);
    for (size_t i = 0; i < n; i++)
        free(strs[i]);
    free(strs);
    free(sc);
    heed_vocab *v = NULL;
    cr_assert_eq(heed_vocab_load_file(out, &v), HEED_OK, "%s", heed_last_error());
    size_t k;
    int32_t *ids = tok(v, "\xE2\x98\x83", false, &k);
    cr_assert(k >= 1 && ids[k - 1] == 2, "one snowman is [UNK]");
    free(ids);
    ids = tok(v, "\xE2\x98\x83\xE2\x98\x83", false, &k);
    cr_assert(k >= 1);
    cr_expect_eq(ids[k - 1], 8015);
    free(ids);
    heed_vocab_free(v);
}
