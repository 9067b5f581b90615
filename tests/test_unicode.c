/* test_unicode.c — heed's Unicode classes against llama.cpp's for every
 * code point 0..0x10FFFF: tests/data/unicode-classes.txt, written by
 * tests/oracle/peer_unicode.cpp from the reference commit's own tables
 * and regex paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "text/pretokenize.h"
#include "text/unicode.h"

#define N_CPT 0x110000u

/* The oracle's bits for every code point (malloc'd). */
static uint16_t *load_classes(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/unicode-classes.txt", HEED_SOURCE_DIR);
    size_t size;
    char *text = test_read_file(path, &size);
    cr_assert_not_null(text, "cannot read %s", path);
    uint16_t *bits = malloc(N_CPT * sizeof *bits);
    cr_assert_not_null(bits);
    uint32_t at = 0, bit = 0;
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned start, b;
        if (line[0] == '#')
            continue;
        cr_assert_eq(sscanf(line, "%x %x", &start, &b), 2, "bad line '%s'", line);
        cr_assert(start >= at && start < N_CPT && (lines == 0) == (start == 0));
        while (at < start)
            bits[at++] = (uint16_t)bit;
        bit = b;
        lines++;
    }
    while (at < N_CPT)
        bits[at++] = (uint16_t)bit;
    free(text);
    return bits;
}

/* Counts and reports the code points where got (bit set or not) and the
 * oracle's bit disagree. */
static size_t report(const char *what, const uint16_t *bits, unsigned bit, const uint8_t *got)
{
    size_t bad = 0;
    for (uint32_t c = 0; c < N_CPT; c++)
        if (!!(bits[c] >> bit & 1) != got[c] && bad++ < 5)
            cr_log_error("%s: U+%04X is %s in llama.cpp", what, c, got[c] ? "not" : "");
    cr_expect_eq(bad, 0, "%s: %zu code points disagree", what, bad);
    return bad;
}

/* Category and white space: llama.cpp's unicode_cpt_flags (the gpt2 and
 * llama3 splitters read these directly). */
Test(unicode, flags)
{
    static const char *const names[] = {"undefined", "number", "letter", "separator", "mark",
                                        "punctuation", "symbol", "control", "white space"};
    uint16_t *bits = load_classes();
    uint8_t *got = malloc(N_CPT);
    cr_assert_not_null(got);
    for (unsigned b = 0; b < 9; b++) {
        for (uint32_t c = 0; c < N_CPT; c++)
            got[c] = heed_cpt_flags(c) >> b & 1;
        report(names[b], bits, b, got);
    }
    free(got);
    free(bits);
}

/* What heed's pre-tokenizer regexes match, one class at a time, against
 * what llama.cpp's regex paths match: the text sep c sep c ... sep of every
 * code point is split, and c was matched when it is a piece of its own. */
Test(unicode, regex_classes)
{
    static const struct { const char *re; char sep; } probes[] = {
        {"\\p{N}", '!'}, {"\\p{L}", '!'}, {"\\p{P}", 'a'}, {"\\p{M}", '!'}, {"\\p{S}", '!'},
        {"\\s|x\\p{N}", 'a'}, /* \s where a class is named: x never precedes a number */
        {"\\s", 'a'},
    };
    uint16_t *bits = load_classes();
    uint8_t *got = malloc(N_CPT);
    uint32_t *cpts = malloc((2 * N_CPT + 1) * sizeof *cpts);
    cr_assert(got && cpts);
    for (unsigned p = 0; p < sizeof probes / sizeof *probes; p++) {
        for (uint32_t c = 0; c < N_CPT; c++) {
            cpts[2 * c] = (uint32_t)probes[p].sep;
            cpts[2 * c + 1] = c;
        }
        cpts[2 * N_CPT] = (uint32_t)probes[p].sep;
        const char *re[] = {probes[p].re, NULL};
        heed_pretok *pt;
        cr_assert_eq(heed_pretok_compile(re, probes[p].re, &pt), HEED_OK, "%s", heed_last_error());
        heed_span *spans;
        size_t n;
        cr_assert_eq(heed_pretok_split(pt, cpts, 2 * N_CPT + 1, &spans, &n), HEED_OK);
        memset(got, 0, N_CPT);
        for (size_t i = 0; i < n; i++)
            if (spans[i].end == spans[i].start + 1 && spans[i].start % 2 == 1)
                got[spans[i].start / 2] = 1;
        report(probes[p].re, bits, 9 + p, got);
        free(spans);
        heed_pretok_free(pt);
    }
    free(cpts);
    free(got);
    free(bits);
}
