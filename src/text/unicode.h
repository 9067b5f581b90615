/* unicode.h — the code-point facts the tokenizers need, with llama.cpp's
 * rules where they differ from strict UTF-8 (its decoder is lenient). */
#ifndef HEED_TEXT_UNICODE_H
#define HEED_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Category flags, as llama.cpp groups Unicode general categories. */
enum {
    HEED_CPT_UNDEFINED = 1 << 0,
    HEED_CPT_NUMBER = 1 << 1,
    HEED_CPT_LETTER = 1 << 2,
    HEED_CPT_SEPARATOR = 1 << 3,
    HEED_CPT_MARK = 1 << 4,
    HEED_CPT_PUNCTUATION = 1 << 5,
    HEED_CPT_SYMBOL = 1 << 6,
    HEED_CPT_CONTROL = 1 << 7,
    HEED_CPT_WHITESPACE = 1 << 8,
};

/* Bytes of the sequence led by byte c (1 for continuation bytes). */
size_t heed_utf8_len(unsigned char c);
/* Decodes the code point at s[*off] (off < len) as llama.cpp does: lenient
 * about overlong forms and surrogates; an invalid sequence consumes one
 * byte and gives U+FFFD. */
uint32_t heed_utf8_decode(const char *s, size_t len, size_t *off);
/* Offset of the first byte sequence of text that is not strict UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included), or
 * len when it all is. */
size_t heed_utf8_invalid_at(const char *text, size_t len);
/* The length (1 to 4) of the strict UTF-8 sequence at text[0] (avail > 0
 * bytes there), 0 when it is not one, -1 when text ends inside one that is
 * valid so far. */
int heed_utf8_strict_len(const char *text, size_t avail);
/* Encodes cpt into out (up to 4 bytes); a code point above U+10FFFF
 * becomes U+FFFD. Returns the byte count. */
size_t heed_utf8_encode(uint32_t cpt, char *out);

/* cpt's category (one flag) and HEED_CPT_WHITESPACE if it is white space:
 * llama.cpp's unicode_cpt_flags, code point for code point. */
unsigned heed_cpt_flags(uint32_t cpt);
uint32_t heed_cpt_tolower(uint32_t cpt);
/* First code point of cpt's canonical decomposition (llama.cpp's "NFD"). */
uint32_t heed_cpt_nfd_first(uint32_t cpt);

/* GPT-2's byte <-> printable code point table. */
uint32_t heed_byte_to_cpt(unsigned char b);
/* The byte a code point stands for, or -1. */
int heed_cpt_to_byte(uint32_t cpt);

#endif
