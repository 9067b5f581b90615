/* unicode.c — see unicode.h. Categories and decompositions come from
 * utf8proc; the whitespace set is Unicode's White_Space, as llama.cpp.
 * llama.cpp's classes are Unicode 15.1's: the code points 15.1 assigned
 * are added here where utf8proc (Debian 12's 2.8: Unicode 15.0) leaves
 * them unassigned. tests/test_unicode.c compares every code point. */
#include <string.h>
#include <utf8proc.h>

#include "heed.h"
#include "text/unicode.h"

size_t heed_utf8_len(unsigned char c)
{
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

static int cont(const char *s, size_t len, size_t i)
{
    return i < len && ((unsigned char)s[i] & 0xC0) == 0x80;
}

uint32_t heed_utf8_decode(const char *s, size_t len, size_t *off)
{
    size_t i = *off;
    unsigned c = (unsigned char)s[i];
    if (c < 0x80) {
        *off = i + 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0 && cont(s, len, i + 1)) {
        *off = i + 2;
        return ((c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
    }
    if ((c & 0xF0) == 0xE0 && cont(s, len, i + 1) && cont(s, len, i + 2)) {
        *off = i + 3;
        return ((c & 0x0F) << 12) | (((unsigned char)s[i + 1] & 0x3F) << 6) |
               ((unsigned char)s[i + 2] & 0x3F);
    }
    if ((c & 0xF8) == 0xF0 && cont(s, len, i + 1) && cont(s, len, i + 2) &&
        cont(s, len, i + 3)) {
        *off = i + 4;
        return ((c & 0x07) << 18) | (((unsigned char)s[i + 1] & 0x3F) << 12) |
               (((unsigned char)s[i + 2] & 0x3F) << 6) | ((unsigned char)s[i + 3] & 0x3F);
    }
    *off = i + 1;
    return 0xFFFD;
}

/* Offset of the first byte sequence that is not strict UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included), or len. */
int heed_utf8_strict_len(const char *text, size_t avail)
{
    const unsigned char *s = (const unsigned char *)text;
    const unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c == 0xE0)
        n = 2, lo = 0xA0;
    else if (c == 0xED)
        n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
        n = 2;
    else if (c == 0xF0)
        n = 3, lo = 0x90;
    else if (c == 0xF4)
        n = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3)
        n = 3;
    else
        return 0;
    for (size_t k = 1; k <= n; k++) {
        if (k >= avail)
            return -1;
        if (k == 1 ? s[1] < lo || s[1] > hi : (s[k] & 0xC0) != 0x80)
            return 0;
    }
    return (int)n + 1;
}

size_t heed_utf8_invalid_at(const char *text, size_t len)
{
    for (size_t i = 0; i < len;) {
        const int n = heed_utf8_strict_len(text + i, len - i);
        if (n <= 0)
            return i;
        i += (size_t)n;
    }
    return len;
}

size_t heed_utf8_encode(uint32_t cpt, char *out)
{
    if (cpt <= 0x7F) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt <= 0x7FF) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt > 0x10FFFF)
        cpt = 0xFFFD;
    if (cpt <= 0xFFFF) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cpt >> 18));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

static int is_whitespace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* The 627 code points Unicode 15.1 assigned: CJK Unified Ideographs
 * Extension I (Lo), four Ideographic Description Characters and a CJK
 * stroke (So). */
static int unicode_15_1(uint32_t c, unsigned *flags)
{
    if (c >= 0x2EBF0 && c <= 0x2EE5D)
        *flags = HEED_CPT_LETTER;
    else if ((c >= 0x2FFC && c <= 0x2FFF) || c == 0x31EF)
        *flags = HEED_CPT_SYMBOL;
    else
        return 0;
    return 1;
}

unsigned heed_cpt_flags(uint32_t cpt)
{
    unsigned ws = is_whitespace(cpt) ? HEED_CPT_WHITESPACE : 0;
    if (cpt > 0x10FFFF)
        return HEED_CPT_UNDEFINED;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cpt);
    unsigned added;
    if (cat == UTF8PROC_CATEGORY_CN && unicode_15_1(cpt, &added))
        return added;
    switch (cat) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return HEED_CPT_LETTER | ws;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return HEED_CPT_MARK | ws;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return HEED_CPT_NUMBER | ws;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return HEED_CPT_PUNCTUATION | ws;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return HEED_CPT_SYMBOL | ws;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return HEED_CPT_SEPARATOR | ws;
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        return HEED_CPT_CONTROL | ws;
    default:
        return HEED_CPT_UNDEFINED | ws;
    }
}

uint32_t heed_cpt_tolower(uint32_t cpt)
{
    return cpt > 0x10FFFF ? cpt : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cpt);
}

uint32_t heed_cpt_nfd_first(uint32_t cpt)
{
    if (cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF))
        return cpt;
    utf8proc_int32_t buf[8];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cpt, buf, 8,
                                                 UTF8PROC_DECOMPOSE, &last);
    return n >= 1 && n <= 8 ? (uint32_t)buf[0] : cpt;
}

/* Printable bytes stand for themselves; the others get 256, 257, ... in
 * byte order (GPT-2's bytes_to_unicode). */
static int printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t heed_byte_to_cpt(unsigned char b)
{
    if (printable(b))
        return b;
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++)
        n += !printable(c);
    return 256 + n;
}

int heed_cpt_to_byte(uint32_t cpt)
{
    if (cpt < 256)
        return printable(cpt) ? (int)cpt : -1;
    unsigned n = 0;
    for (unsigned c = 0; c < 256; c++)
        if (!printable(c) && 256 + n++ == cpt)
            return (int)c;
    return -1;
}

size_t heed_utf8_repair(char *dst, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        const unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 && c >= 0xc2 ? 2 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 && c <= 0xf4 ? 4 : 0;
        for (size_t k = 1; n && k < n; k++)
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                n = 0;
        if (!n || !c) { /* U+FFFD for a byte that starts no valid sequence, or a NUL */
            memcpy(dst + at, "\xef\xbf\xbd", 3);
            at += 3;
            i++;
        } else {
            memcpy(dst + at, s + i, n);
            at += n;
            i += n;
        }
    }
    return at;
}
