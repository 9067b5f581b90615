/*
 * peer_unicode.cpp — the oracle side of heed's Unicode class test: how
 * llama.cpp classifies every code point 0..0x10FFFF, written as
 * run-length ranges for tests/data/unicode-classes.txt. Built by
 * tests/oracle/unicode.sh against the peer's own src/unicode.cpp and
 * src/unicode-data.cpp; not part of heed's build.
 *
 *   peer_unicode > tests/data/unicode-classes.txt
 *
 * Each line "START BITS" (hex) gives the classes of START up to the next
 * line's START. Bits 0-8 are unicode_cpt_flags_from_cpt: undefined,
 * number, letter, separator, mark, punctuation, symbol, control (its
 * grouping of the general categories) and whitespace (what the gpt2 and
 * llama3 splitters call \s). Bits 9-15 are what unicode_regex_split's
 * regex paths match: \p{N}, \p{L}, \p{P}, \p{M}, \p{S} and \s where a
 * regex names a \p{..} category (text "collapsed" to one byte per code
 * point, std::regex), and \s where it does not (std::wregex).
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "unicode.h"

static const uint32_t N_CPT = 0x110000;

/* The code points of [lo, hi) that regex matches on its own: the text
 * sep c sep c ... sep is split, and c was matched when it is a piece of
 * its own (sep is chosen so that the regex never matches it). */
static void probe(const char *regex, char sep, uint32_t lo, uint32_t hi, unsigned bit,
                  std::vector<uint32_t> &bits)
{
    std::string text(1, sep);
    for (uint32_t c = lo; c < hi; c++)
        text += unicode_cpt_to_utf8(c) + sep;
    std::vector<std::string> words = unicode_regex_split(text, {regex});
    size_t pos = 0; /* code point index in text: c = lo + (pos - 1) / 2 at odd pos */
    for (const std::string &w : words) {
        /* the words come byte-encoded (GPT-2's table): count the code
         * points of the bytes they stand for */
        size_t len = 0;
        for (uint32_t cpt : unicode_cpts_from_utf8(w))
            len += (unicode_utf8_to_byte(unicode_cpt_to_utf8(cpt)) & 0xC0) != 0x80;
        if (len == 1 && pos % 2 == 1)
            bits[lo + (pos - 1) / 2] |= 1u << bit;
        pos += len;
    }
    if (pos != 2 * (size_t)(hi - lo) + 1) {
        fprintf(stderr, "%s: %zu code points split, %zu expected\n", regex, pos,
                2 * (size_t)(hi - lo) + 1);
        exit(1);
    }
}

int main()
{
    std::vector<uint32_t> bits(N_CPT);
    for (uint32_t c = 0; c < N_CPT; c++)
        bits[c] = unicode_cpt_flags_from_cpt(c).as_uint() & 0x1FF;
    static const struct { const char *regex; char sep; } probes[] = {
        {"\\p{N}", '!'}, {"\\p{L}", '!'}, {"\\p{P}", 'a'}, {"\\p{M}", '!'}, {"\\p{S}", '!'},
        {"\\s|x\\p{N}", 'a'}, /* \s in a regex that is collapsed: x never precedes a number */
        {"\\s", 'a'},
    };
    for (unsigned p = 0; p < sizeof probes / sizeof *probes; p++)
        for (uint32_t lo = 0; lo < N_CPT; lo += 0x10000)
            probe(probes[p].regex, probes[p].sep, lo, lo + 0x10000, 9 + p, bits);
    printf("# llama.cpp's Unicode classes per code point (tests/oracle/peer_unicode.cpp):\n"
           "# START BITS, hex, until the next START. Bits: 0 undefined, 1 number, 2 letter,\n"
           "# 3 separator, 4 mark, 5 punctuation, 6 symbol, 7 control, 8 whitespace\n"
           "# (unicode_cpt_flags); in regexes naming a \\p{..} class: 9 \\p{N}, 10 \\p{L},\n"
           "# 11 \\p{P}, 12 \\p{M}, 13 \\p{S}, 14 \\s; in other regexes: 15 \\s.\n");
    for (uint32_t c = 0; c < N_CPT; c++)
        if (c == 0 || bits[c] != bits[c - 1])
            printf("%X %X\n", c, bits[c]);
    return 0;
}
