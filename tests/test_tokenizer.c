/* test_tokenizer.c — tokenizers against llama.cpp: every vocab test file
 * (.inp/.out) of the fixtures, the fixture models' sentence, ids taken from
 * llama-tokenize for the vocabularies without test files and for texts of
 * unusual Unicode, round trips, the streaming decoder and the error
 * paths. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_vocab *load_vocab(const char *name)
{
    char path[4096];
    FIXTURE_PATH(path, name);
    heed_vocab *v = NULL;
    cr_assert_eq(heed_vocab_load_file(path, &v), HEED_OK, "%s", heed_last_error());
    return v;
}

/* The texts of an .inp file, split as llama.cpp's test-tokenizer-0 does. */
typedef struct texts { char *raw; size_t n; const char *s[256]; size_t len[256]; } texts;

static void read_inp(const char *path, texts *t)
{
    size_t size;
    t->raw = test_read_file(path, &size);
    cr_assert_not_null(t->raw, "cannot read %s", path);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t pos = 0;
    t->n = 0;
    while (pos < size && t->n < 256) {
        const char *m = memmem(t->raw + pos, size - pos, sep, sizeof sep - 1);
        size_t end = m ? (size_t)(m - t->raw) : size;
        t->s[t->n] = t->raw + pos;
        t->len[t->n++] = end - pos;
        if (!m)
            break;
        pos = end + sizeof sep - 1;
    }
}

/* Every text of inp tokenized by v gives its line of out. */
static void check_inp_special(const heed_vocab *v, const char *name, const char *inp,
                              const char *out_path, size_t n_texts, bool add_special)
{
    texts t;
    read_inp(inp, &t);
    size_t out_size;
    char *out = test_read_file(out_path, &out_size);
    cr_assert_not_null(out, "cannot read %s", out_path);
    char *line = out;
    size_t ok = 0;
    for (size_t i = 0; i < t.n; i++) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "%s: fewer .out lines than texts", name);
        *nl = 0;
        int32_t *ids;
        size_t n;
        cr_assert_eq(heed_tokenize(v, t.s[i], t.len[i], add_special, false, &ids, &n), HEED_OK);
        char got[16384];
        size_t k = 0;
        for (size_t j = 0; j < n && k < sizeof got - 16; j++)
            k += (size_t)snprintf(got + k, sizeof got - k, " %d", ids[j]);
        got[k] = 0;
        cr_expect_str_eq(got, line, "%s: text %zu '%.*s'", name, i, (int)t.len[i], t.s[i]);
        ok += !strcmp(got, line);
        free(ids);
        line = nl + 1;
    }
    cr_expect_eq(ok, t.n, "%s: %zu of %zu texts match", name, ok, t.n);
    cr_expect_eq(t.n, n_texts);
    free(out);
    free(t.raw);
}

static void check_inp(const heed_vocab *v, const char *name, const char *inp, const char *out_path,
                      size_t n_texts)
{
    check_inp_special(v, name, inp, out_path, n_texts, false);
}

static void check_vocab_file(const char *name)
{
    char base[4096], path[4200], inp[4200];
    FIXTURE_PATH(base, "vocab");
    heed_vocab *v = NULL;
    snprintf(path, sizeof path, "%s/%s", base, name);
    cr_assert_eq(heed_vocab_load_file(path, &v), HEED_OK, "%s", heed_last_error());
    snprintf(inp, sizeof inp, "%s/%s.inp", base, name);
    snprintf(path, sizeof path, "%s/%s.out", base, name);
    check_inp(v, name, inp, path, 46);
    heed_vocab_free(v);
}

Test(tokenizer, vocab_llama_spm) { check_vocab_file("ggml-vocab-llama-spm.gguf"); }
Test(tokenizer, vocab_phi_3) { check_vocab_file("ggml-vocab-phi-3.gguf"); }
Test(tokenizer, vocab_gpt_2) { check_vocab_file("ggml-vocab-gpt-2.gguf"); }
Test(tokenizer, vocab_starcoder) { check_vocab_file("ggml-vocab-starcoder.gguf"); }
Test(tokenizer, vocab_deepseek_coder) { check_vocab_file("ggml-vocab-deepseek-coder.gguf"); }
Test(tokenizer, vocab_bert_bge) { check_vocab_file("ggml-vocab-bert-bge.gguf"); }

/* The o200k pre-tokenizer (gpt-4o: gpt-oss's), which no vocabulary of the
 * fixtures has: the fixtures' falcon vocabulary relabelled "gpt-4o" (the
 * same bytes but for its tokenizer.ggml.pre), against ik_llama.cpp
 * 8337e4cd3's llama-tokenize of the same file on tests/data/o200k.inp
 * (texts for its case, contraction and digit rules) and on the gpt-2 test
 * texts (tests/data/o200k-gpt-2-texts.out). */
Test(tokenizer, pre_gpt_4o)
{
    char path[4096], out[4200], inp[4200];
    FIXTURE_PATH(path, "vocab/ggml-vocab-falcon.gguf");
    size_t size;
    char *bytes = test_read_file(path, &size);
    cr_assert_not_null(bytes);
    char *key = memmem(bytes, size, "tokenizer.ggml.pre", 18);
    cr_assert_not_null(key);
    cr_assert_eq(memcmp(key + 18 + 12, "falcon", 6), 0); /* type, length, then the value */
    memcpy(key + 18 + 12, "gpt-4o", 6);
    const char *relabelled = test_tmp_path("vocab-gpt-4o.gguf");
    FILE *f = fopen(relabelled, "wb");
    cr_assert(f && fwrite(bytes, 1, size, f) == size && fclose(f) == 0);
    free(bytes);
    heed_vocab *v = NULL;
    cr_assert_eq(heed_vocab_load_file(relabelled, &v), HEED_OK, "%s", heed_last_error());
    snprintf(inp, sizeof inp, "%s/tests/data/o200k.inp", HEED_SOURCE_DIR);
    snprintf(out, sizeof out, "%s/tests/data/o200k.out", HEED_SOURCE_DIR);
    check_inp(v, "o200k.inp", inp, out, 15);
    FIXTURE_PATH(inp, "vocab/ggml-vocab-gpt-2.gguf.inp");
    snprintf(out, sizeof out, "%s/tests/data/o200k-gpt-2-texts.out", HEED_SOURCE_DIR);
    check_inp(v, "gpt-2 texts", inp, out, 46);
    heed_vocab_free(v);
}

/* Texts with unusual white space (U+0085, U+00A0, U+1680, U+2000-U+200A,
 * U+2028/9, U+202F, U+205F, U+3000), format characters (U+180E, which
 * PCRE2's tables count as \s and llama.cpp's do not; U+200B-U+200F,
 * U+2060-U+2064, U+FEFF, U+00AD, U+061C, U+FFF9-U+FFFB, tags), the code
 * points Unicode 15.1 assigned and ASCII's other controls, in every
 * vocabulary of the fixtures and the gpt2 and qwen2 models':
 * tests/data/unicode-texts/VOCAB.out are llama.cpp's ids
 * (tests/oracle/peer_tokenize.c at the reference commit). */
Test(tokenizer, unusual_unicode)
{
    static const char *const files[] = {
        "vocab/ggml-vocab-baichuan.gguf", "vocab/ggml-vocab-bert-bge.gguf",
        "vocab/ggml-vocab-deepseek-coder.gguf", "vocab/ggml-vocab-deepseek-llm.gguf",
        "vocab/ggml-vocab-falcon.gguf", "vocab/ggml-vocab-gpt-2.gguf",
        "vocab/ggml-vocab-gpt-neox.gguf", "vocab/ggml-vocab-llama-spm.gguf",
        "vocab/ggml-vocab-mpt.gguf", "vocab/ggml-vocab-phi-3.gguf",
        "vocab/ggml-vocab-refact.gguf", "vocab/ggml-vocab-starcoder.gguf", "gpt2-tiny.gguf",
        "qwen2-tiny.gguf"};
    char inp[4200], out[4200];
    snprintf(inp, sizeof inp, "%s/tests/data/unicode-texts.inp", HEED_SOURCE_DIR);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        heed_vocab *v = load_vocab(files[i]);
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        snprintf(out, sizeof out, "%s/tests/data/unicode-texts/%.*s.out", HEED_SOURCE_DIR,
                 (int)(strlen(base) - 5), base);
        check_inp(v, base, inp, out, 20);
        heed_vocab_free(v);
    }
}

/* gemma-tiny.gguf with Gemma's tokenizer keys: no space prefix
 * (tokenizer.ggml.add_space_prefix false) and the turn markers as
 * user-defined tokens, which are matched in text without parse_special
 * ("<mask>", a control token, is not); they take the ids of three CJK
 * characters the texts do not use. */
static const char *write_gemma_vocab(void)
{
    char path[4096];
    FIXTURE_PATH(path, "gemma-tiny.gguf");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_not_null(w);
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        cr_assert_eq(heed_gguf_writer_set(w, heed_gguf_kv_key(g, i), heed_gguf_kv_value(g, i)),
                     HEED_OK);
    const heed_gguf_value *toks, *types;
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &toks), HEED_OK);
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.token_type", HEED_GGUF_INT32, &types),
                 HEED_OK);
    size_t n = toks->v.arr.n;
    char **strs = malloc(n * sizeof *strs);
    int32_t *type = malloc(n * sizeof *type);
    cr_assert(strs && type && types->v.arr.n == n && n == 32000);
    memcpy(type, types->v.arr.data, n * sizeof *type);
    for (size_t i = 0; i < n; i++)
        strs[i] = strndup(toks->v.arr.strs[i].ptr, toks->v.arr.strs[i].len);
    static const struct { int32_t id; const char *text; int32_t type; } added[] = {
        {31997, "<start_of_turn>", 4}, {31998, "<end_of_turn>", 4}, {31999, "<mask>", 3}};
    for (size_t i = 0; i < 3; i++) {
        free(strs[added[i].id]);
        strs[added[i].id] = strdup(added[i].text);
        type[added[i].id] = added[i].type;
    }
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)strs,
                                              n), HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", HEED_GGUF_INT32, type, n),
                 HEED_OK);
    cr_assert_eq(heed_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false), HEED_OK);
    const char *out = test_tmp_path("gemma-vocab.gguf");
    cr_assert_eq(heed_gguf_writer_write(w, out), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);
    heed_gguf_close(g);
    for (size_t i = 0; i < n; i++)
        free(strs[i]);
    free(strs);
    free(type);
    return out;
}

/* Gemma's SentencePiece with byte fallback (gemma-tiny.gguf as it is and
 * with Gemma's keys) and SmolLM3's pre-tokenizer (its files say
 * smaug-bpe: llama3's regex, merges not ignored; the fixtures' starcoder
 * vocabulary relabelled, same length) on texts of emoji, CJK, control
 * bytes, invalid UTF-8, runs of spaces and newlines, and literal special
 * tokens: tests/data/gemma-smollm3/NAME[.bos].out are llama.cpp's ids
 * (tests/oracle/peer_tokenize.c at the reference commit; .bos with
 * add_special). */
Test(tokenizer, gemma_smollm3)
{
    char path[4096], inp[4200], out[4200];
    snprintf(inp, sizeof inp, "%s/tests/data/gemma-smollm3.inp", HEED_SOURCE_DIR);
    FIXTURE_PATH(path, "vocab/ggml-vocab-starcoder.gguf");
    size_t size;
    char *bytes = test_read_file(path, &size);
    cr_assert_not_null(bytes);
    char *key = memmem(bytes, size, "tokenizer.ggml.pre", 18);
    cr_assert(key && !memcmp(key + 18 + 12, "starcoder", 9));
    memcpy(key + 18 + 12, "smaug-bpe", 9);
    char relabelled[4200], gemma_keys[4200]; /* test_tmp_path's buffer is reused */
    snprintf(relabelled, sizeof relabelled, "%s", test_tmp_path("vocab-smaug-bpe.gguf"));
    FILE *f = fopen(relabelled, "wb");
    cr_assert(f && fwrite(bytes, 1, size, f) == size && fclose(f) == 0);
    free(bytes);
    snprintf(gemma_keys, sizeof gemma_keys, "%s", write_gemma_vocab());
    FIXTURE_PATH(path, "gemma-tiny.gguf");
    static const char *const names[] = {"gemma-tiny", "gemma-keys", "smaug-bpe"};
    const char *files[] = {path, gemma_keys, relabelled};
    for (size_t i = 0; i < 3; i++) {
        heed_vocab *v = NULL;
        cr_assert_eq(heed_vocab_load_file(files[i], &v), HEED_OK, "%s", heed_last_error());
        for (int bos = 0; bos < 2; bos++) {
            snprintf(out, sizeof out, "%s/tests/data/gemma-smollm3/%s%s.out", HEED_SOURCE_DIR,
                     names[i], bos ? ".bos" : "");
            check_inp_special(v, names[i], inp, out, 24, bos);
        }
        heed_vocab_free(v);
    }
}

/* The sentence of every fixture model, add_special=true, parse_special=false. */
Test(tokenizer, manifest_sentence)
{
    char path[4096];
    FIXTURE_PATH(path, "manifest.json");
    size_t size;
    char *json = test_read_file(path, &size);
    cr_assert_not_null(json);
    cJSON *m = cJSON_Parse(json);
    cr_assert_not_null(m);
    const char *dir = test_fixtures_dir();
    int checked = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases")) {
        cJSON *tok = cJSON_GetObjectItem(c, "tokenizer");
        const char *file = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "model"), "file")->valuestring;
        if (!cJSON_IsObject(tok) || !strstr(file, ".gguf"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        heed_vocab *v;
        cr_assert_eq(heed_vocab_load_file(path, &v), HEED_OK, "%s", heed_last_error());
        const char *s = cJSON_GetObjectItem(tok, "sentence")->valuestring;
        int32_t *ids;
        size_t n;
        cr_assert_eq(heed_tokenize(v, s, strlen(s), true, false, &ids, &n), HEED_OK);
        cJSON *want = cJSON_GetObjectItem(tok, "ids");
        cr_expect_eq(n, (size_t)cJSON_GetArraySize(want), "%s: %zu ids", file, n);
        for (size_t i = 0; i < n && i < (size_t)cJSON_GetArraySize(want); i++)
            cr_expect_eq(ids[i], cJSON_GetArrayItem(want, (int)i)->valueint, "%s: id %zu", file, i);
        /* the pieces the manifest lists, rendered with special tokens */
        cJSON *pieces = cJSON_GetObjectItem(tok, "pieces");
        for (size_t i = 0; pieces && i < n && i < (size_t)cJSON_GetArraySize(pieces); i++) {
            size_t pl;
            const char *p = heed_token_to_piece(v, ids[i], true, &pl);
            char buf[256];
            snprintf(buf, sizeof buf, "%.*s", (int)pl, p);
            cr_expect_str_eq(buf, cJSON_GetArrayItem(pieces, (int)i)->valuestring, "%s", file);
        }
        free(ids);
        heed_vocab_free(v);
        checked++;
    }
    cr_expect_geq(checked, 6);
    cJSON_Delete(m);
    free(json);
}

/* Vocabularies without test files: ids from llama.cpp's llama-tokenize
 * (reference commit) for one mixed text, add_special=true. */
Test(tokenizer, vocab_without_tests)
{
    static const char text[] = "Hello world! It's 2024, isn't it?  \xC3\x87" "a va? "
                               "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C 123456789";
    static const struct { const char *file; int32_t ids[40]; } cases[] = {
        {"vocab/ggml-vocab-baichuan.gguf", {1, 24568, 1275, 80, 1025, 31155, 31114, 31106, 54, 52,
          54, 56, 31125, 3361, 31155, 31108, 747, 81, 31106, 31106, 35183, 31109, 22343, 81, 9875,
          31213, 2781, 31106, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1}},
        {"vocab/ggml-vocab-deepseek-llm.gguf", {100000, 17464, 1843, 0, 809, 6, 82, 207, 17, 15,
          17, 19, 11, 4269, 6, 83, 359, 30, 207, 83609, 64, 821, 30, 207, 84313, 4997, 207, 16,
          17, 18, 19, 20, 21, 22, 23, 24, -1}},
        {"vocab/ggml-vocab-falcon.gguf", {9856, 1079, 12, 605, 18, 94, 204, 905, 31, 23, 2414, 18,
          95, 334, 42, 204, 53905, 7975, 42, 62116, 133, 238, 3997, 133, 22602, 204, 10963,
          27681, 43380, -1}},
        {"vocab/ggml-vocab-gpt-neox.gguf", {12092, 1533, 2, 733, 8, 84, 209, 18161, 21, 13, 3548,
          8, 85, 352, 32, 50276, 127, 218, 66, 13460, 32, 209, 24553, 34439, 42848, 45261, 209,
          10683, 25133, 24, 2511, -1}},
        {"vocab/ggml-vocab-mpt.gguf", {12092, 1533, 2, 733, 434, 1384, 1348, 13, 3548, 626, 352,
          32, 50276, 127, 218, 66, 13460, 32, 209, 24553, 34439, 42848, 45261, 1249, 16767,
          43784, -1}},
        {"vocab/ggml-vocab-refact.gguf", {8279, 5788, 19, 2030, 1182, 225, 36, 34, 36, 38, 30,
          7735, 1330, 561, 49, 225, 3441, 234, 83, 13082, 49, 225, 7387, 10620, 33181, 225, 35,
          36, 37, 38, 39, 40, 41, 42, 43, -1}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        heed_vocab *v = load_vocab(cases[c].file);
        int32_t *ids;
        size_t n, want = 0;
        while (cases[c].ids[want] >= 0)
            want++;
        cr_assert_eq(heed_tokenize(v, text, strlen(text), true, false, &ids, &n), HEED_OK);
        cr_expect_eq(n, want, "%s: %zu ids, expected %zu", cases[c].file, n, want);
        for (size_t i = 0; i < n && i < want; i++)
            cr_expect_eq(ids[i], cases[c].ids[i], "%s: id %zu", cases[c].file, i);
        free(ids);
        heed_vocab_free(v);
    }
}

/* Round trips over the .inp texts. SentencePiece (the prefix space is
 * removed again) and byte-level BPE without clean-up give the text back;
 * GPT-2-style vocabularies clean " ," " 's" ... so give clean(text);
 * WordPiece lower-cases, strips accents and spaces: no round trip. */
static void round_trip(const char *name, bool cleaned)
{
    char base[4096], path[4200];
    FIXTURE_PATH(base, "vocab");
    snprintf(path, sizeof path, "%s/%s", base, name);
    heed_vocab *v;
    cr_assert_eq(heed_vocab_load_file(path, &v), HEED_OK);
    texts t;
    snprintf(path, sizeof path, "%s/%s.inp", base, name);
    read_inp(path, &t);
    for (size_t i = 0; i < t.n; i++) {
        int32_t *ids;
        size_t n, len;
        char *back;
        /* as test-tokenizer-0: no BOS (llama.cpp keeps the prefix space
         * when remove_special drops a BOS) */
        cr_assert_eq(heed_tokenize(v, t.s[i], t.len[i], false, false, &ids, &n), HEED_OK);
        cr_assert_eq(heed_detokenize(v, ids, n, false, false, &back, &len), HEED_OK);
        char *want = malloc(t.len[i] + 1);
        memcpy(want, t.s[i], t.len[i]);
        want[t.len[i]] = 0;
        extern size_t heed_clean_spaces(char *text, size_t len);
        if (cleaned)
            want[heed_clean_spaces(want, t.len[i])] = 0;
        cr_expect_str_eq(back, want, "%s: text %zu", name, i);

        /* the stream gives the same text, in pieces that are whole UTF-8 */
        heed_detok_stream *s = NULL;
        cr_assert_eq(heed_detok_stream_new(v, false, &s), HEED_OK, "%s", heed_last_error());
        char *all = malloc(len + 64);
        size_t k = 0;
        for (size_t j = 0; j <= n; j++) {
            const char *o;
            size_t ol;
            if (j < n)
                cr_assert_eq(heed_detok_stream_push(s, ids[j], &o, &ol), HEED_OK);
            else
                heed_detok_stream_flush(s, &o, &ol);
            if (ol) {
                unsigned char last = (unsigned char)o[ol - 1];
                cr_expect(last < 0x80 || (last & 0xC0) == 0x80, "%s: piece ends mid-sequence", name);
            }
            cr_assert_leq(k + ol, len + 64);
            memcpy(all + k, o, ol);
            k += ol;
        }
        all[k] = 0;
        /* the stream is detokenize without remove_special, without clean-up */
        char *back2;
        size_t len2;
        cr_assert_eq(heed_detokenize(v, ids, n, false, false, &back2, &len2), HEED_OK);
        if (!cleaned)
            cr_expect_str_eq(all, back2, "%s: stream, text %zu", name, i);
        free(back2);
        heed_detok_stream_free(s);
        free(all);
        free(want);
        free(back);
        free(ids);
    }
    free(t.raw);
    heed_vocab_free(v);
}

Test(tokenizer, round_trip_spm) { round_trip("ggml-vocab-llama-spm.gguf", false); }
Test(tokenizer, round_trip_bpe) { round_trip("ggml-vocab-deepseek-coder.gguf", false); }
Test(tokenizer, round_trip_bpe_cleaned) { round_trip("ggml-vocab-gpt-2.gguf", true); }

Test(tokenizer, special_tokens)
{
    heed_vocab *v = load_vocab("vocab/ggml-vocab-gpt-2.gguf");
    static const char text[] = "a<|endoftext|>b";
    int32_t *ids;
    size_t n;
    int32_t eot = heed_vocab_token_id(v, "<|endoftext|>", 13);
    cr_assert_geq(eot, 0);
    cr_assert(heed_vocab_is_control(v, eot));
    cr_assert(heed_vocab_is_eog(v, eot));
    cr_assert_eq(heed_tokenize(v, text, strlen(text), false, true, &ids, &n), HEED_OK);
    cr_expect_eq(n, 3);
    cr_expect_eq(ids[1], eot);
    free(ids);
    cr_assert_eq(heed_tokenize(v, text, strlen(text), false, false, &ids, &n), HEED_OK);
    for (size_t i = 0; i < n; i++)
        cr_expect_neq(ids[i], eot, "control token matched without parse_special");
    free(ids);
    /* rendered or not */
    size_t pl;
    cr_expect_eq(heed_token_to_piece(v, eot, false, &pl)[0], 0);
    cr_expect_eq(pl, 0);
    cr_expect_eq(strncmp(heed_token_to_piece(v, eot, true, &pl), "<|endoftext|>", 13), 0);
    heed_vocab_free(v);

    /* SentencePiece: byte fallback pieces decode to their bytes */
    v = load_vocab("vocab/ggml-vocab-llama-spm.gguf");
    cr_assert_eq(heed_tokenize(v, "\xF0\x9F\xA6\x99", 4, false, false, &ids, &n), HEED_OK);
    char *back;
    size_t len;
    cr_assert_eq(heed_detokenize(v, ids, n, false, false, &back, &len), HEED_OK);
    cr_expect_str_eq(back, "\xF0\x9F\xA6\x99");
    free(back);
    free(ids);
    heed_vocab_free(v);
}

/* A tiny gpt2 vocabulary with the given pre-tokenizer, written to a file. */
static const char *write_vocab(const char *model, const char *pre, bool tokens_as_ints)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_not_null(w);
    if (model)
        cr_assert_eq(heed_gguf_writer_set_str(w, "tokenizer.ggml.model", model), HEED_OK);
    if (pre)
        cr_assert_eq(heed_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre), HEED_OK);
    static const char *const toks[] = {"a", "b", "ab"};
    static const char *const merges[] = {"a b"};
    if (tokens_as_ints) {
        int32_t t[3] = {1, 2, 3};
        cr_assert_eq(heed_gguf_writer_set_arr(w, "tokenizer.ggml.tokens", HEED_GGUF_INT32, t, 3), HEED_OK);
    } else {
        cr_assert_eq(heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3), HEED_OK);
    }
    cr_assert_eq(heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1), HEED_OK);
    const char *path = test_tmp_path("vocab.gguf");
    cr_assert_eq(heed_gguf_writer_write(w, path), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);
    return path;
}

Test(tokenizer, errors)
{
    heed_vocab *v = NULL;
    cr_expect_eq(heed_vocab_load_file(write_vocab("gpt2", "no-such-pre", false), &v),
                 HEED_ERR_UNSUPPORTED);
    cr_expect(strstr(heed_last_error(), "no-such-pre") != NULL, "%s", heed_last_error());
    cr_expect_null(v);
    cr_expect_eq(heed_vocab_load_file(write_vocab("sentencepiece-x", NULL, false), &v),
                 HEED_ERR_UNSUPPORTED);
    cr_expect(strstr(heed_last_error(), "sentencepiece-x") != NULL, "%s", heed_last_error());
    cr_expect_eq(heed_vocab_load_file(write_vocab(NULL, NULL, false), &v), HEED_ERR_NOT_FOUND);
    cr_expect(strstr(heed_last_error(), "tokenizer.ggml.model") != NULL, "%s", heed_last_error());
    cr_expect_eq(heed_vocab_load_file(write_vocab("gpt2", "gpt-2", true), &v), HEED_ERR_TYPE);
    cr_expect(strstr(heed_last_error(), "tokenizer.ggml.tokens") != NULL, "%s", heed_last_error());

    /* a working one: "ab" merges */
    cr_assert_eq(heed_vocab_load_file(write_vocab("gpt2", "gpt-2", false), &v), HEED_OK,
                 "%s", heed_last_error());
    int32_t *ids;
    size_t n;
    cr_assert_eq(heed_tokenize(v, "ab", 2, false, false, &ids, &n), HEED_OK);
    cr_expect_eq(n, 1);
    cr_expect_eq(ids[0], 2);
    free(ids);
    char *text;
    size_t len;
    int32_t bad[2] = {0, 7};
    cr_expect_eq(heed_detokenize(v, bad, 2, false, false, &text, &len), HEED_ERR_ARG);
    cr_expect_null(text);
    heed_vocab_free(v);
}
