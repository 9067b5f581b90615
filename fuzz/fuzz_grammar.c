/*
 * fuzz_grammar.c — libFuzzer harness for grammars: the bytes up to the
 * first NUL are GBNF text (or, when they begin with '{', a JSON schema),
 * the rest a text to match against it. Bad grammars must be errors;
 * the GBNF a schema becomes must always compile (past the size bounds,
 * an UNSUPPORTED error); matching must answer without crashing, a whole
 * sentence always being a prefix of one.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const unsigned char *nul = memchr(data, 0, size);
    const size_t n = nul ? (size_t)(nul - data) : size;
    char *rules = malloc(n + 1);
    if (!rules)
        return 0;
    memcpy(rules, data, n);
    rules[n] = 0;
    heed_grammar *g = NULL;
    if (rules[0] == '{') {
        char *gbnf = NULL;
        if (!heed_json_schema_to_gbnf(rules, &gbnf)) {
            const heed_status st = heed_grammar_new(NULL, gbnf, "root", &g);
            if (st && st != HEED_ERR_UNSUPPORTED)
                abort(); /* the converter wrote GBNF that does not parse */
        }
        free(gbnf);
    } else {
        (void)heed_grammar_new(NULL, rules, "root", &g);
    }
    if (g) {
        const char *text = nul ? (const char *)nul + 1 : "";
        bool prefix, complete;
        if (!heed_grammar_match(g, text, nul ? size - n - 1 : 0, &prefix, &complete) &&
            complete && !prefix)
            abort();
    }
    heed_grammar_free(g);
    free(rules);
    return 0;
}
