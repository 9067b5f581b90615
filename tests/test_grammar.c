/* test_grammar.c — GBNF grammars (heed_grammar_*): what the parser
 * refuses and how it says so, which byte strings the matcher accepts,
 * its bounds on ambiguous and long inputs, and the vocabulary mask against
 * token-by-token checks (generation under a grammar: test_generator.c). */
#include <stdlib.h>
#include <string.h>

#include "gen/grammar.h"
#include "heed.h"
#include "testutil.h"

#define DEFAULT_MODEL HEED_SOURCE_DIR "/models/default.gguf"

/* text against gbnf: 'n' not a prefix, 'p' a prefix only, 'c' complete. */
static char match(const char *gbnf, const char *text, size_t len)
{
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(NULL, gbnf, NULL, &g), HEED_OK, "%s: %s", gbnf,
                 heed_last_error());
    bool prefix, complete;
    cr_assert_eq(heed_grammar_match(g, text, len, &prefix, &complete), HEED_OK, "%s",
                 heed_last_error());
    heed_grammar_free(g);
    return complete ? 'c' : prefix ? 'p' : 'n';
}

#define EXPECT_MATCH(gbnf, text, want) \
    cr_expect_eq(match(gbnf, text, strlen(text)), want, "%s on '%s'", gbnf, text)

/* The parse fails with st and a message containing want. */
static void refuses(const char *gbnf, heed_status st, const char *want)
{
    heed_grammar *g = (heed_grammar *)1;
    cr_expect_eq(heed_grammar_new(NULL, gbnf, NULL, &g), st, "'%s': %s", gbnf,
                 heed_last_error());
    cr_expect_null(g);
    cr_expect(strstr(heed_last_error(), want), "'%s': '%s' lacks '%s'", gbnf, heed_last_error(),
              want);
}

Test(grammar_parse, errors_say_where_and_what_was_expected)
{
    refuses("root ::= [a-", HEED_ERR_FORMAT, "line 1, column 10: this class has no closing ']'");
    refuses("root ::= \"abc", HEED_ERR_FORMAT, "column 10: this literal has no closing '\"'");
    refuses("root := \"a\"", HEED_ERR_FORMAT, "line 1, column 6: expected '::=' after the rule "
            "name 'root'");
    refuses("root ::= \"a\"\n\n  x ::= ( \"b\" \"c\"\n", HEED_ERR_FORMAT,
            "line 3, column 9: this '(' has no closing ')'");
    refuses("root ::= \"a\" )", HEED_ERR_FORMAT, "column 14: expected a literal, a class, a "
            "rule name, '(', '|', a repetition or the end of the line");
    refuses("root ::= \"a\"{3,1}", HEED_ERR_FORMAT, "{m,n} needs m <= n");
    refuses("root ::= \"a\"{,1}", HEED_ERR_FORMAT, "expected a count after '{'");
    refuses("root ::= \"a\"{2 x}", HEED_ERR_FORMAT, "expected ',' or '}'");
    refuses("root ::= \"\\q\"", HEED_ERR_FORMAT, "unknown escape");
    refuses("root ::= \"\\x4\"", HEED_ERR_FORMAT, "expected 2 hex digits after '\\x'");
    refuses("root ::= \"\\uD800\"", HEED_ERR_FORMAT, "surrogate");
    refuses("root ::= [\\U00110000]", HEED_ERR_FORMAT, "past the last code point");
    refuses("root ::= [z-a]", HEED_ERR_FORMAT, "the range ends before it starts");
    refuses("root ::= [^\\x00-\\U0010FFFF]", HEED_ERR_FORMAT, "matches no character");
    refuses("root ::= *", HEED_ERR_FORMAT, "nothing before this to repeat");
    refuses("root ::= \"\"+", HEED_ERR_FORMAT, "nothing before this to repeat");
    refuses("root ::= a\n", HEED_ERR_FORMAT, "line 1, column 10: rule 'a' is used but never "
            "defined");
    refuses("root ::= \"a\"\nroot ::= \"b\"", HEED_ERR_FORMAT, "line 2, column 1: rule 'root' "
            "is defined twice (first on line 1)");
    refuses("root ::= <[42]>", HEED_ERR_UNSUPPORTED, "token references");
    refuses("x ::= \"a\"", HEED_ERR_ARG, "no rule 'root'");
    refuses("", HEED_ERR_FORMAT, "defines no rule");
    refuses("# only a comment\n", HEED_ERR_FORMAT, "defines no rule");
    refuses("root ::= \"\xff\"", HEED_ERR_FORMAT, "not valid UTF-8");
    refuses("root ::= \"a\"{200000}", HEED_ERR_UNSUPPORTED, "repetition counts go up to");
    refuses("root ::= \"aaaaaaaaaaaaaaaaaaaa\"{100000}", HEED_ERR_UNSUPPORTED, "grows past");
}

Test(grammar_parse, left_recursion_is_refused)
{
    refuses("root ::= root \"a\" | \"b\"", HEED_ERR_FORMAT,
            "rule 'root' is left-recursive (root -> root)");
    refuses("root ::= x\nx ::= y \"a\"\ny ::= z? x\nz ::= \"q\"", HEED_ERR_FORMAT,
            "rule 'x' is left-recursive");
    refuses("root ::= (\"a\"?)*", HEED_ERR_FORMAT, "a group or repetition in rule 'root' is "
            "left-recursive");
    /* right recursion and recursion after a byte are fine */
    EXPECT_MATCH("root ::= \"(\" root \")\" | \"x\"", "((x))", 'c');
    EXPECT_MATCH("root ::= \"a\" root | \"\"", "aaa", 'c');
}

Test(grammar_match, literals_classes_and_repetition)
{
    const char *g = "root ::= \"ab\" [c-e]+ \"x\"?";
    EXPECT_MATCH(g, "abcdex", 'c');
    EXPECT_MATCH(g, "abc", 'c');
    EXPECT_MATCH(g, "ab", 'p');
    EXPECT_MATCH(g, "", 'p');
    EXPECT_MATCH(g, "abcdexx", 'n');
    EXPECT_MATCH(g, "abf", 'n');
    EXPECT_MATCH("root ::= [^a-c\\n]*", "xyz!", 'c');
    EXPECT_MATCH("root ::= [^a-c\\n]*", "xbz", 'n');
    EXPECT_MATCH("root ::= [^a-c\\n]*", "x\ny", 'n');
    EXPECT_MATCH("root ::= [a\\-]+", "a-a", 'c');  /* an escaped '-' is itself */
    EXPECT_MATCH("root ::= [a-]+", "a-a", 'c');    /* so is one before ']' */
    EXPECT_MATCH("root ::= [\\]]", "]", 'c');
    EXPECT_MATCH("root ::= \"a\"{3}", "aaa", 'c');
    EXPECT_MATCH("root ::= \"a\"{3}", "aaaa", 'n');
    EXPECT_MATCH("root ::= \"ab\"{2,}", "abababab", 'c');
    EXPECT_MATCH("root ::= \"ab\"{2,}", "ab", 'p');
    EXPECT_MATCH("root ::= \"a\"{1,3} \"b\"", "aaab", 'c');
    EXPECT_MATCH("root ::= \"a\"{1,3} \"b\"", "aaaab", 'n');
    EXPECT_MATCH("root ::= \"a\"{0,2}", "", 'c');
    EXPECT_MATCH("root ::= (\"a\" | \"bc\")* \"d\"", "abcabcd", 'c');
    EXPECT_MATCH("root ::= (\"a\" | \"bc\")* \"d\"", "abd", 'n');
    EXPECT_MATCH("root ::= \"\\x41\\u00e9\\U0001F600\\t\\\"\"", "A\xc3\xa9\xf0\x9f\x98\x80\t\"",
                 'c');
}

Test(grammar_match, layout_comments_and_rules)
{
    const char *g = "# a comment\n"
                    "root ::= greeting \" \" name   # trailing comment\n"
                    "\n"
                    "greeting ::= (\n"
                    "    \"hello\"\n"
                    "  | \"hi\"\n"
                    ")\n"
                    "name ::= [A-Z] [a-z]* |\n"
                    "  \"you\"\r\n";
    EXPECT_MATCH(g, "hello World", 'c');
    EXPECT_MATCH(g, "hi you", 'c');
    EXPECT_MATCH(g, "hi there", 'n');
    heed_grammar *gr;
    cr_expect_eq(heed_grammar_new(NULL, g, "name", &gr), HEED_OK);
    bool p, c;
    cr_expect_eq(heed_grammar_match(gr, "Bob", 3, &p, &c), HEED_OK);
    cr_expect(p && c, "from the rule 'name'");
    heed_grammar_free(gr);
}

/* Classes work on code points, the matcher on bytes: a character may be
 * fed in pieces, and only valid UTF-8 is ever accepted. */
Test(grammar_match, utf8)
{
    const char *any = "root ::= .{2,3}";
    EXPECT_MATCH(any, "\xe6\x97\xa5\xe6\x9c\xac", 'c');              /* two characters */
    EXPECT_MATCH(any, "\xe6\x97\xa5\xe6", 'p');                      /* half of the second */
    EXPECT_MATCH(any, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9ex", 'n'); /* four */
    EXPECT_MATCH(any, "\xc0\x80", 'n');                              /* overlong */
    EXPECT_MATCH(any, "\xed\xa0\x80\x41", 'n');                      /* a surrogate */
    EXPECT_MATCH(any, "\xf4\x90\x80\x80", 'n');                      /* past U+10FFFF */
    EXPECT_MATCH(any, "\xff", 'n');
    const char *not_quote = "root ::= \"\\\"\" [^\"\\\\]* \"\\\"\"";
    EXPECT_MATCH(not_quote, "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"", 'c');
    EXPECT_MATCH(not_quote, "\"a\"b", 'n');
    const char *range = "root ::= [\\u00e0-\\u00ff\\U0001F600-\\U0001F64F]+";
    EXPECT_MATCH(range, "\xc3\xa9\xf0\x9f\x98\x81", 'c');
    EXPECT_MATCH(range, "\xc3\x9f", 'n'); /* U+00DF, just below */
    EXPECT_MATCH(range, "\xf0\x9f\x99\x90", 'n'); /* U+1F650, just above */
}

/* The JSON grammar of llama.cpp's grammars/json.gbnf, written out here. */
static const char *json_gbnf =
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::=\n"
    "  \"{\" ws (\n"
    "            string \":\" ws value\n"
    "    (\",\" ws string \":\" ws value)*\n"
    "  )? \"}\" ws\n"
    "array  ::=\n"
    "  \"[\" ws (\n"
    "            value\n"
    "    (\",\" ws value)*\n"
    "  )? \"]\" ws\n"
    "string ::=\n"
    "  \"\\\"\" (\n"
    "    [^\"\\\\\\x7F\\x00-\\x1F] |\n"
    "    \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4})\n"
    "  )* \"\\\"\" ws\n"
    "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? "
    "([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";

Test(grammar_match, json)
{
    EXPECT_MATCH(json_gbnf, "{\"a\": [1, -2.5e3, true, null, {\"b\": \"x\\n\\u00e9\"}]}", 'c');
    EXPECT_MATCH(json_gbnf, "{\n  \"k\": \"v\"\n}\n", 'c');
    EXPECT_MATCH(json_gbnf, "{\"a\": [1, 2", 'p');
    EXPECT_MATCH(json_gbnf, "{\"a\": [1, 2}", 'n');
    EXPECT_MATCH(json_gbnf, "{\"a\" 1}", 'n');
    EXPECT_MATCH(json_gbnf, "[1]", 'n');
    EXPECT_MATCH(json_gbnf, "{\"a\": \"\x01\"}", 'n');
}

/* A grammar whose parses double with every byte: an error past the
 * bound, not a blow-up. */
Test(grammar_match, ambiguity_is_bounded)
{
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(NULL, "root ::= s\ns ::= \"x\" s \"y\" | \"x\" s \"z\" | \"\"",
                                  NULL, &g), HEED_OK);
    char x[40];
    memset(x, 'x', sizeof x);
    bool p, c;
    cr_expect_eq(heed_grammar_match(g, x, 8, &p, &c), HEED_OK);
    cr_expect(p);
    cr_expect_eq(heed_grammar_match(g, x, sizeof x, &p, &c), HEED_ERR_UNSUPPORTED);
    cr_expect(strstr(heed_last_error(), "ambiguous"), "%s", heed_last_error());
    heed_grammar_free(g);
}

/* Long texts: a counting grammar makes a new state at every byte (the
 * tables are rebuilt as they grow), a nesting one a deeper stack. */
Test(grammar_match, long_and_deep_texts)
{
    enum { N = 20000 };
    char *text = malloc(2 * N + 1);
    memset(text, 'a', N);
    cr_expect_eq(match("root ::= \"a\"{0,20000}", text, N), 'c');
    cr_expect_eq(match("root ::= \"a\"{0,19999}", text, N), 'n');
    memset(text, '(', N);
    text[N] = 'x';
    memset(text + N + 1, ')', N);
    cr_expect_eq(match("root ::= \"(\" root \")\" | \"x\"", text, 2 * N + 1), 'c');
    cr_expect_eq(match("root ::= \"(\" root \")\" | \"x\"", text, 2 * N), 'p');
    free(text);
}

/* The vocabulary mask (a walk of the token trie) allows exactly the
 * tokens the matcher takes one at a time, in states of several kinds. */
Test(grammar_match, mask_equals_token_by_token)
{
    heed_vocab *v;
    cr_assert_eq(heed_vocab_load_file(DEFAULT_MODEL, &v), HEED_OK, "%s", heed_last_error());
    const int32_t V = heed_vocab_n_tokens(v);
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(v, json_gbnf, NULL, &g), HEED_OK, "%s", heed_last_error());
    const char *prefixes[] = {"", "{", "{\"a", "{\"a\": 1", "{\"a\": [tr", "{}"};
    float *logits = malloc(sizeof *logits * (size_t)(V + 7));
    for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++) {
        grammar_matcher *m;
        cr_assert_eq(grammar_matcher_new(g, false, NULL, 0, &m), HEED_OK);
        bool ok;
        cr_assert_eq(grammar_matcher_feed(m, prefixes[k], strlen(prefixes[k]), &ok), HEED_OK);
        cr_assert(ok, "%s", prefixes[k]);
        for (int32_t i = 0; i < V + 7; i++)
            logits[i] = 1;
        int32_t n_allowed;
        cr_assert_eq(grammar_matcher_mask(m, logits, V + 7, &n_allowed), HEED_OK);
        int32_t count = 0;
        for (int32_t i = 0; i < V; i++) {
            bool allowed;
            cr_assert_eq(grammar_matcher_allows(m, i, &allowed), HEED_OK);
            cr_expect_eq(allowed, logits[i] == 1, "after '%s', token %d", prefixes[k], i);
            count += allowed;
        }
        for (int32_t i = V; i < V + 7; i++) /* past the vocabulary (a padded model) */
            cr_expect(isinf(logits[i]));
        cr_expect_eq(count, n_allowed);
        cr_expect_gt(n_allowed, 0, "after '%s'", prefixes[k]);
        cr_expect_eq(logits[heed_vocab_eos(v)] == 1, k == 5, "EOS only once complete");
        grammar_matcher_free(m);
    }
    free(logits);
    heed_grammar_free(g);
    heed_vocab_free(v);
}
