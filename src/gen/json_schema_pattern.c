/*
 * json_schema_pattern.c — a JSON schema's "pattern" (an ECMAScript
 * regular expression, as validators run it with the u flag) as the GBNF
 * of the JSON string contents whose value it matches (json_schema.h).
 *
 * The subset: literals and escaped metacharacters; . [...] [^...] with
 * ranges; \d \w \s \D \W \S; \n \r \t \f \v \0 \xHH \uHHHH \u{H...};
 * groups ( ) (?: ) (?<name> ); alternation; * + ? {n} {n,} {n,m} and their
 * lazy forms (the same strings). ^ only first and $ only last. Anything
 * else (backreferences, lookaround, \b, \p{...}) is refused by name.
 *
 * A pattern matches anywhere in the string unless anchored, so without ^
 * any characters may come first, and without $ any may follow. Reading
 * ^ and $ as anchoring the whole alternation takes a subset of what the
 * pattern matches (each string then matches some alternative whole).
 *
 * Each regex character (a set of code points) is written as its JSON
 * encodings: raw where JSON allows it, else \" \\ or \u00XX.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen/json_schema.h"
#include "util/error.h"

#define MAX_NESTING 64
#define MAX_RANGES 512

typedef struct cp_set {
    uint32_t lo[MAX_RANGES], hi[MAX_RANGES];
    int n;
} cp_set;

typedef struct rx {
    const char *src, *p, *end, *path;
    FILE *f;
    int depth;
} rx;

static heed_status HEED_PRINTF(3, 4) refuse(const rx *r, const char *at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return heed_fail(HEED_ERR_UNSUPPORTED, "json schema: %s: 'pattern' /%.60s/ at offset %d: %s",
                     r->path, r->src, (int)(at - r->src), msg);
}

/* -------------------------------------------------------------- sets */

static heed_status add(const rx *r, cp_set *s, uint32_t lo, uint32_t hi)
{
    if (s->n == MAX_RANGES)
        return refuse(r, r->p, "a class of over %d ranges", MAX_RANGES);
    s->lo[s->n] = lo;
    s->hi[s->n++] = hi;
    return HEED_OK;
}

/* Sorts and merges the ranges; complements them when negate. */
static void normalize(cp_set *s, bool negate)
{
    for (int i = 1; i < s->n; i++) /* insertion sort: classes are short */
        for (int j = i; j > 0 && s->lo[j - 1] > s->lo[j]; j--) {
            uint32_t t = s->lo[j];
            s->lo[j] = s->lo[j - 1], s->lo[j - 1] = t;
            t = s->hi[j];
            s->hi[j] = s->hi[j - 1], s->hi[j - 1] = t;
        }
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        if (n && s->lo[i] <= s->hi[n - 1] + 1) {
            s->hi[n - 1] = s->hi[i] > s->hi[n - 1] ? s->hi[i] : s->hi[n - 1];
        } else {
            s->lo[n] = s->lo[i];
            s->hi[n++] = s->hi[i];
        }
    }
    s->n = n;
    if (!negate)
        return;
    cp_set c = {.n = 0};
    uint32_t next = 0;
    for (int i = 0; i < n; i++) {
        if (s->lo[i] > next)
            c.lo[c.n] = next, c.hi[c.n++] = s->lo[i] - 1;
        next = s->hi[i] + 1;
    }
    if (next <= 0x10FFFF)
        c.lo[c.n] = next, c.hi[c.n++] = 0x10FFFF;
    *s = c;
}

/* The shorthand classes, as ECMAScript defines them. */
static heed_status shorthand(const rx *r, char c, cp_set *s)
{
    static const uint32_t space[][2] = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680},
        {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
        {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
    cp_set t = {.n = 0};
    heed_status st = HEED_OK;
    switch (c | 0x20) {
    case 'd':
        st = add(r, &t, '0', '9');
        break;
    case 'w':
        st = add(r, &t, '0', '9');
        st = st ? st : add(r, &t, 'A', 'Z');
        st = st ? st : add(r, &t, '_', '_');
        st = st ? st : add(r, &t, 'a', 'z');
        break;
    default: /* s */
        for (size_t i = 0; i < sizeof space / sizeof *space && !st; i++)
            st = add(r, &t, space[i][0], space[i][1]);
    }
    normalize(&t, c >= 'A' && c <= 'Z');
    for (int i = 0; i < t.n && !st; i++)
        st = add(r, s, t.lo[i], t.hi[i]);
    return st;
}

/* ---------------------------------------------------------- writing */

static void put_cp(FILE *f, uint32_t c)
{
    if (c >= 0x20 && c < 0x7F && !strchr("\\]-^[\"", (int)c))
        fputc((int)c, f);
    else if (c < 0x80)
        fprintf(f, "\\x%02X", c);
    else if (c <= 0xFFFF)
        fprintf(f, "\\u%04X", c);
    else
        fprintf(f, "\\U%08X", c);
}

/* One character of s as its JSON encodings, a group of alternatives: a
 * class of what JSON takes raw, then \" \\ and \u00XX for the rest. */
static void put_set(FILE *f, const cp_set *s)
{
    bool quote = false, slash = false, alt = false;
    fputc('(', f);
    for (int i = 0; i < s->n; i++) {
        /* s->lo[i]..s->hi[i] less controls, '"' and '\\', as up to 3 ranges */
        const uint32_t cut[][2] = {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x10FFFF}};
        for (int k = 0; k < 3; k++) {
            const uint32_t lo = s->lo[i] > cut[k][0] ? s->lo[i] : cut[k][0];
            const uint32_t hi = s->hi[i] < cut[k][1] ? s->hi[i] : cut[k][1];
            if (lo > hi)
                continue;
            fputs(alt ? "" : "[", f);
            put_cp(f, lo);
            if (hi > lo)
                fputc('-', f), put_cp(f, hi);
            alt = true;
        }
        quote = quote || (s->lo[i] <= 0x22 && s->hi[i] >= 0x22);
        slash = slash || (s->lo[i] <= 0x5C && s->hi[i] >= 0x5C);
    }
    fputs(alt ? "]" : "", f);
    if (quote)
        fprintf(f, "%s\"\\\\\\\"\"", alt ? " | " : ""), alt = true;
    if (slash)
        fprintf(f, "%s\"\\\\\\\\\"", alt ? " | " : ""), alt = true;
    for (int i = 0; i < s->n; i++) /* the short escapes where JSON has them */
        for (uint32_t c = s->lo[i]; c <= s->hi[i] && c < 0x20; c++, alt = true) {
            const char e = c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r'
                         : c == '\t' ? 't' : 0;
            if (e)
                fprintf(f, "%s\"\\\\%c\"", alt ? " | " : "", e);
            else
                fprintf(f, "%s\"\\\\u00%02X\"", alt ? " | " : "", c);
        }
    fputc(')', f);
}

/* ------------------------------------------------------------- parsing */

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f'
           ? (c | 0x20) - 'a' + 10 : -1;
}

/* The code point of an escape after '\' (at r->p), or a shorthand class
 * into s (*cp = -1 then). */
static heed_status escape(rx *r, int64_t *cp, cp_set *s)
{
    const char *at = r->p - 1;
    const char c = *r->p++;
    *cp = -1;
    switch (c) {
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        return shorthand(r, c, s);
    case 'n': *cp = '\n'; return HEED_OK;
    case 'r': *cp = '\r'; return HEED_OK;
    case 't': *cp = '\t'; return HEED_OK;
    case 'f': *cp = '\f'; return HEED_OK;
    case 'v': *cp = '\v'; return HEED_OK;
    case '0': *cp = 0; return HEED_OK;
    case 'x': case 'u': {
        int64_t v = 0;
        int n = c == 'x' ? 2 : 4;
        const bool braces = c == 'u' && *r->p == '{';
        r->p += braces;
        int k = 0;
        for (; (braces || k < n) && hex(*r->p) >= 0 && k < 8; k++)
            v = v * 16 + hex(*r->p++);
        if ((braces ? *r->p++ != '}' || !k : k < n) || v > 0x10FFFF)
            return refuse(r, at, "a malformed \\%c escape", c);
        if (v >= 0xD800 && v <= 0xDFFF)
            return refuse(r, at, "a surrogate escape (write the character itself)");
        *cp = v;
        return HEED_OK;
    }
    default:
        if (c && strchr("^$\\.*+?()[]{}|/-", c)) {
            *cp = (unsigned char)c;
            return HEED_OK;
        }
        if (c >= '1' && c <= '9')
            return refuse(r, at, "backreferences are not supported");
        if (c == 'b' || c == 'B')
            return refuse(r, at, "\\%c (word boundaries) is not supported", c);
        if (c == 'p' || c == 'P')
            return refuse(r, at, "\\%c{...} (Unicode properties) is not supported", c);
        return refuse(r, at, "the escape \\%c is not supported", c ? c : ' ');
    }
}

/* One code point of the pattern's UTF-8 text. */
static uint32_t next_cp(rx *r)
{
    const unsigned char *u = (const unsigned char *)r->p;
    int n = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
    uint32_t c = n == 1 ? u[0] : u[0] & (0x3F >> (n - 1));
    for (int i = 1; i < n; i++)
        c = c << 6 | (u[i] & 0x3F);
    r->p += n;
    return c;
}

/* [...] (r->p after '['), into s. */
static heed_status parse_class(rx *r, cp_set *s)
{
    const char *at = r->p - 1;
    const bool negate = *r->p == '^';
    r->p += negate;
    heed_status st = HEED_OK;
    while (!st && *r->p != ']') {
        if (r->p >= r->end)
            return refuse(r, at, "a class without its ']'");
        int64_t lo;
        if (*r->p == '\\') {
            r->p++;
            st = escape(r, &lo, s);
        } else {
            lo = next_cp(r);
        }
        if (st || lo < 0)
            continue;
        int64_t hi = lo;
        if (r->p[0] == '-' && r->p[1] != ']' && r->p + 1 < r->end) {
            r->p++;
            if (*r->p == '\\') {
                r->p++;
                st = escape(r, &hi, s);
                if (!st && hi < 0)
                    return refuse(r, at, "a range that ends in a class");
            } else {
                hi = next_cp(r);
            }
            if (!st && hi < lo)
                return refuse(r, at, "a range that ends before it starts");
        }
        if (!st)
            st = add(r, s, (uint32_t)lo, (uint32_t)hi);
    }
    r->p++;
    normalize(s, negate);
    return st;
}

static heed_status parse_alt(rx *r);

/* One item (r->p at it) without its quantifier. */
static heed_status parse_atom(rx *r)
{
    const char *at = r->p;
    cp_set *s = calloc(1, sizeof *s);
    if (!s)
        return heed_fail(HEED_ERR_NOMEM, "json schema: out of memory");
    heed_status st = HEED_OK;
    const char c = *r->p++;
    if (c == '(') {
        if (*r->p == '?') {
            if (r->p[1] == ':')
                r->p += 2;
            else if (r->p[1] == '<' && r->p[2] != '=' && r->p[2] != '!')
                while (r->p < r->end && *r->p++ != '>')
                    ;
            else
                st = refuse(r, at, "lookaround is not supported");
        }
        if (!st && ++r->depth > MAX_NESTING)
            st = refuse(r, at, "groups nest deeper than %d", MAX_NESTING);
        if (!st)
            st = parse_alt(r);
        if (!st && *r->p++ != ')')
            st = refuse(r, at, "a group without its ')'");
        r->depth--;
    } else if (c == '[') {
        if (!(st = parse_class(r, s)))
            put_set(r->f, s);
    } else if (c == '.') { /* all but line terminators */
        s->n = 3;
        s->lo[0] = s->hi[0] = '\n';
        s->lo[1] = s->hi[1] = '\r';
        s->lo[2] = 0x2028, s->hi[2] = 0x2029;
        normalize(s, true);
        put_set(r->f, s);
    } else {
        int64_t cp = (unsigned char)c;
        if (c == '\\')
            st = escape(r, &cp, s);
        else if ((unsigned char)c >= 0x80)
            r->p--, cp = next_cp(r);
        else if (strchr("*+?{", c))
            st = refuse(r, at, "nothing to repeat");
        else if (c == ')' || c == ']' || c == '}')
            st = refuse(r, at, "an unmatched '%c'", c);
        else if (c == '^' || c == '$')
            st = refuse(r, at, "'%c' is supported only at the start and end", c);
        if (!st && cp >= 0)
            add(r, s, (uint32_t)cp, (uint32_t)cp);
        if (!st)
            put_set(r->f, s);
    }
    free(s);
    return st;
}

/* A quantifier, if one follows, as GBNF. */
static heed_status parse_quantifier(rx *r)
{
    const char *at = r->p;
    const char c = *r->p;
    if (c == '*' || c == '+' || c == '?') {
        fputc(c, r->f);
        r->p++;
    } else if (c == '{' && r->p[1] >= '0' && r->p[1] <= '9') {
        long lo = strtol(r->p + 1, (char **)&r->p, 10), hi = lo;
        if (*r->p == ',')
            hi = r->p[1] == '}' ? -1 : strtol(r->p + 1, (char **)&r->p, 10);
        r->p += *r->p == ',';
        if (*r->p++ != '}' || (hi >= 0 && hi < lo) || lo > 10000 || hi > 10000)
            return refuse(r, at, "a malformed or too large {n,m}");
        if (hi < 0)
            fprintf(r->f, "{%ld,}", lo);
        else
            fprintf(r->f, "{%ld,%ld}", lo, hi);
    } else {
        return HEED_OK;
    }
    r->p += *r->p == '?'; /* lazy: the same strings */
    if (*r->p == '*' || *r->p == '+' || *r->p == '?' || *r->p == '{')
        return refuse(r, r->p, "a quantifier of a quantifier");
    return HEED_OK;
}

static heed_status parse_alt(rx *r)
{
    heed_status st = HEED_OK;
    fputc('(', r->f);
    for (;;) {
        int n = 0;
        while (!st && r->p < r->end && *r->p != '|' && *r->p != ')') {
            fputs(n++ ? " " : "", r->f);
            if (!(st = parse_atom(r)))
                st = parse_quantifier(r);
        }
        fputs(n ? "" : "\"\"", r->f);
        if (st || r->p >= r->end || *r->p != '|')
            break;
        fputs(" | ", r->f);
        r->p++;
    }
    fputc(')', r->f);
    return st;
}

heed_status schema_pattern(FILE *f, const char *pattern, const char *any_char,
                           const char *path)
{
    rx r = {.src = pattern, .p = pattern, .end = pattern + strlen(pattern), .path = path,
            .f = f};
    const bool start = *r.p == '^';
    r.p += start;
    size_t slashes = 0; /* an unescaped '$' at the end anchors it */
    while (r.end - 1 - (ptrdiff_t)slashes > r.p && r.end[-2 - (ptrdiff_t)slashes] == '\\')
        slashes++;
    const bool end = r.end > r.p && r.end[-1] == '$' && slashes % 2 == 0;
    r.end -= end;
    if (!start)
        fprintf(f, "%s* ", any_char);
    heed_status st = parse_alt(&r);
    if (!st && r.p < r.end)
        st = refuse(&r, r.p, "an unmatched ')'");
    if (!end)
        fprintf(f, " %s*", any_char);
    return st;
}
