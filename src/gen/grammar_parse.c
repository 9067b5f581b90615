/*
 * grammar_parse.c — GBNF text to the compiled grammar of grammar.h, in
 * llama.cpp's dialect (its grammars/README.md):
 *
 *   name ::= alternatives       one rule; a newline ends it, but newlines
 *                               inside ( ) and after "::=" or "|" do not
 *   a b | c                     sequences and alternatives
 *   "text"  [a-z0-9_]  [^"\\]   literals, classes, negated classes
 *   .  name  ( ... )            any character, a rule, a group
 *   * + ? {m} {m,} {m,n}        repetition of the item before
 *   # ...                       a comment, to the end of the line
 *
 * Names are [a-zA-Z0-9-]+. Escapes (in literals and classes): \n \r \t
 * \\ \" \[ \] \- and \xHH \uHHHH \UHHHHHHHH, code points.
 *
 * Repetitions are rewritten into rules, as llama.cpp does:
 *   S{m,n} -> S ... S (m times) R(n-m), R(1) ::= S | , R(k) ::= S R(k-1) |
 *   S{m,}  -> S ... S (m times) R,      R ::= S R |
 * A class becomes one byte set when all its characters are ASCII, else a
 * rule whose alternatives are the UTF-8 byte sequences of its code points
 * (surrogates, which UTF-8 cannot encode, left out); equal classes share
 * that rule.
 *
 * Then every rule used must be defined, and no rule may derive itself
 * before consuming a byte (left recursion, which a pushdown matcher would
 * expand forever).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/grammar.h"
#include "text/strmap.h"
#include "text/unicode.h"
#include "util/error.h"

/* Bounds on what one grammar may grow into (repetitions multiply). */
#define MAX_ELEMS (1 << 20)
#define MAX_REPEAT 100000
#define MAX_NESTING 256

enum { P_ALT = GR_REF + 1 }; /* separates alternatives in a rule being parsed */

typedef struct prule {
    char *name;
    gr_elem *body;          /* alternatives separated by P_ALT */
    int32_t n, cap;
    int line;               /* of its definition; 0: not defined (yet), -1: made here */
    const char *first_use;  /* where it was first named */
} prule;

typedef struct cp_range {
    uint32_t lo, hi;
} cp_range;

typedef struct parser {
    const char *src, *p;
    prule *rules;
    int32_t n_rules, cap_rules;
    heed_strmap names;       /* rule name -> id */
    gr_set *sets;
    int32_t n_sets, cap_sets;
    heed_strmap set_ids;     /* a set's bytes -> its index */
    heed_strmap class_rules; /* a multi-byte class's ranges -> its rule */
    cp_range *ranges;        /* the class being read */
    int32_t n_ranges, cap_ranges;
    size_t n_elems;
    int depth;
} parser;

/* --------------------------------------------------------------- errors */

static int line_of(const parser *ps, const char *at, int *col)
{
    int line = 1;
    *col = 1;
    for (const char *q = ps->src; q < at; q++) {
        if (*q == '\n') {
            line++;
            *col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            (*col)++;
        }
    }
    return line;
}

/* Fails with "grammar: line L, column C: <message>, near '<text there>'". */
static heed_status HEED_PRINTF(4, 5) fail_at(const parser *ps, const char *at, heed_status st,
                                            const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int col;
    const int line = line_of(ps, at, &col);
    int near = 0;
    while (near < 24 && at[near] && at[near] != '\n' && at[near] != '\r')
        near++;
    while (near > 0 && ((unsigned char)at[near] & 0xC0) == 0x80)
        near--; /* whole characters */
    if (!*at)
        return heed_fail(st, "grammar: line %d, column %d: %s, at the end of the text", line,
                         col, msg);
    return heed_fail(st, "grammar: line %d, column %d: %s, near '%.*s'", line, col, msg, near,
                     at);
}

static heed_status nomem(void)
{
    return heed_fail(HEED_ERR_NOMEM, "grammar: out of memory");
}

/* ---------------------------------------------------------------- rules */

heed_status grammar_grow(void **p, int32_t *cap, int32_t need, size_t size)
{
    if (need <= *cap)
        return HEED_OK;
    int32_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, size * (size_t)c);
    if (!q)
        return nomem();
    *p = q;
    *cap = c;
    return HEED_OK;
}

static heed_status new_rule(parser *ps, const char *name, size_t len, int line, int32_t *id)
{
    heed_status st = grammar_grow((void **)&ps->rules, &ps->cap_rules, ps->n_rules + 1,
                                  sizeof *ps->rules);
    char *copy = st ? NULL : strndup(name, len);
    if (st || !copy || (st = heed_strmap_put(&ps->names, name, len, ps->n_rules, false))) {
        free(copy);
        return st ? st : nomem();
    }
    ps->rules[ps->n_rules] = (prule){.name = copy, .line = line};
    *id = ps->n_rules++;
    return HEED_OK;
}

/* A rule made by the parser (a group, a repetition, a class), named after
 * the rule it serves as llama.cpp names them: "root_4". */
static heed_status made_rule(parser *ps, int32_t parent, int32_t *id)
{
    char name[300];
    snprintf(name, sizeof name, "%.256s_%d", ps->rules[parent].name, ps->n_rules);
    return new_rule(ps, name, strlen(name), -1, id);
}

static heed_status push(parser *ps, int32_t r, int32_t kind, int32_t arg, const char *at)
{
    if (++ps->n_elems > MAX_ELEMS)
        return fail_at(ps, at, HEED_ERR_UNSUPPORTED,
                       "the grammar grows past %d elements (repetitions multiply it)", MAX_ELEMS);
    prule *ru = &ps->rules[r];
    heed_status st = grammar_grow((void **)&ru->body, &ru->cap, ru->n + 1, sizeof *ru->body);
    if (!st)
        ru->body[ru->n++] = (gr_elem){kind, arg};
    return st;
}

static heed_status push_set(parser *ps, int32_t r, const gr_set *s, const char *at)
{
    int32_t id = heed_strmap_get(&ps->set_ids, (const char *)s, sizeof *s);
    if (id < 0) {
        heed_status st = grammar_grow((void **)&ps->sets, &ps->cap_sets, ps->n_sets + 1,
                                      sizeof *ps->sets);
        if (!st)
            st = heed_strmap_put(&ps->set_ids, (const char *)s, sizeof *s, ps->n_sets, false);
        if (st)
            return st;
        ps->sets[id = ps->n_sets++] = *s;
    }
    return push(ps, r, GR_SET, id, at);
}

static heed_status push_byte(parser *ps, int32_t r, unsigned char b, const char *at)
{
    gr_set s = {{0}};
    s.bits[b >> 6] |= 1ull << (b & 63);
    return push_set(ps, r, &s, at);
}

/* ----------------------------------------------------------- characters */

static void skip_space(parser *ps, bool newlines)
{
    for (;;) {
        const char c = *ps->p;
        if (c == '#') {
            while (*ps->p && *ps->p != '\n' && *ps->p != '\r')
                ps->p++;
        } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
            ps->p++;
        } else {
            return;
        }
    }
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* One character of a literal or class, an escape or a UTF-8 sequence (the
 * text was checked to be UTF-8). */
static heed_status parse_char(parser *ps, uint32_t *cp)
{
    const char *at = ps->p;
    if (!*at)
        return fail_at(ps, at, HEED_ERR_FORMAT, "expected a character");
    if (*at != '\\') {
        size_t off = 0;
        *cp = heed_utf8_decode(at, heed_utf8_len((unsigned char)*at), &off);
        ps->p += off;
        return HEED_OK;
    }
    int digits = 0;
    switch (at[1]) {
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    case 'n': *cp = '\n'; break;
    case 'r': *cp = '\r'; break;
    case 't': *cp = '\t'; break;
    case '\\': case '"': case '[': case ']': case '-': *cp = (unsigned char)at[1]; break;
    default:
        return fail_at(ps, at, HEED_ERR_FORMAT, "unknown escape (known: \\n \\r \\t \\\\ \\\" "
                       "\\[ \\] \\- \\xHH \\uHHHH \\UHHHHHHHH)");
    }
    ps->p += 2;
    if (!digits)
        return HEED_OK;
    uint32_t v = 0;
    for (int i = 0; i < digits; i++, ps->p++) {
        const char c = *ps->p;
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return fail_at(ps, at, HEED_ERR_FORMAT, "expected %d hex digits after '\\%c'",
                           digits, at[1]);
        v = v * 16 + (uint32_t)d;
    }
    if (v > 0x10FFFF)
        return fail_at(ps, at, HEED_ERR_FORMAT, "U+%X is past the last code point, U+10FFFF", v);
    *cp = v;
    return HEED_OK;
}

/* -------------------------------------------------------------- classes */

static int by_lo(const void *a, const void *b)
{
    const cp_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static heed_status add_range(parser *ps, uint32_t lo, uint32_t hi)
{
    heed_status st = grammar_grow((void **)&ps->ranges, &ps->cap_ranges, ps->n_ranges + 1,
                          sizeof *ps->ranges);
    if (!st)
        ps->ranges[ps->n_ranges++] = (cp_range){lo, hi};
    return st;
}

/* Appends lo..hi, less the surrogates, to ps->ranges. */
static heed_status take(parser *ps, uint32_t lo, uint32_t hi)
{
    heed_status st = HEED_OK;
    if (lo < 0xD800)
        st = add_range(ps, lo, hi < 0xD800 ? hi : 0xD7FF);
    if (!st && hi > 0xDFFF)
        st = add_range(ps, lo > 0xE000 ? lo : 0xE000, hi);
    return st;
}

/* Sorts and merges ps->ranges, complements them if negate, and takes the
 * surrogates out. */
static heed_status normalize(parser *ps, bool negate)
{
    if (ps->n_ranges)
        qsort(ps->ranges, (size_t)ps->n_ranges, sizeof *ps->ranges, by_lo);
    int32_t n = 0;
    for (int32_t i = 0; i < ps->n_ranges; i++) {
        if (n && ps->ranges[i].lo <= ps->ranges[n - 1].hi + 1) {
            if (ps->ranges[i].hi > ps->ranges[n - 1].hi)
                ps->ranges[n - 1].hi = ps->ranges[i].hi;
        } else {
            ps->ranges[n++] = ps->ranges[i];
        }
    }
    ps->n_ranges = n;
    /* the result goes after the n merged ranges, then moves down */
    heed_status st = HEED_OK;
    uint32_t next = 0;
    for (int32_t i = 0; i < n && !st; i++) {
        const cp_range r = ps->ranges[i];
        if (!negate)
            st = take(ps, r.lo, r.hi);
        else if (r.lo > next)
            st = take(ps, next, r.lo - 1);
        next = r.hi + 1;
    }
    if (!st && negate && next <= 0x10FFFF)
        st = take(ps, next, 0x10FFFF);
    if (n)
        memmove(ps->ranges, ps->ranges + n, sizeof *ps->ranges * (size_t)(ps->n_ranges - n));
    ps->n_ranges -= n;
    return st;
}

/* Appends to rule r, as alternatives, the byte sequences of the code
 * points lo..hi, all of n bytes in UTF-8: split until every byte after
 * the first differing one covers its whole range, then one sequence of
 * byte ranges. */
static heed_status utf8_seqs(parser *ps, int32_t r, uint32_t lo, uint32_t hi, int n,
                             const char *at)
{
    for (int i = 1; i < n; i++) {
        const uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) == (hi & ~m))
            continue;
        if (lo & m) {
            heed_status st = utf8_seqs(ps, r, lo, lo | m, n, at);
            return st ? st : utf8_seqs(ps, r, (lo | m) + 1, hi, n, at);
        }
        if ((hi & m) != m) {
            heed_status st = utf8_seqs(ps, r, lo, (hi & ~m) - 1, n, at);
            return st ? st : utf8_seqs(ps, r, hi & ~m, hi, n, at);
        }
    }
    char a[4], b[4];
    heed_utf8_encode(lo, a);
    heed_utf8_encode(hi, b);
    heed_status st = ps->rules[r].n ? push(ps, r, P_ALT, 0, at) : HEED_OK;
    for (int k = 0; k < n && !st; k++) {
        gr_set s = {{0}};
        for (unsigned c = (unsigned char)a[k]; c <= (unsigned char)b[k]; c++)
            s.bits[c >> 6] |= 1ull << (c & 63);
        st = push_set(ps, r, &s, at);
    }
    return st;
}

/* The class in ps->ranges (normalized) as one item of rule r. */
static heed_status push_class(parser *ps, int32_t r, const char *at)
{
    if (!ps->n_ranges)
        return fail_at(ps, at, HEED_ERR_FORMAT, "this class matches no character");
    gr_set ascii = {{0}};
    bool multi = false, have_ascii = false;
    for (int32_t i = 0; i < ps->n_ranges; i++) {
        for (uint32_t c = ps->ranges[i].lo; c <= ps->ranges[i].hi && c < 0x80; c++) {
            ascii.bits[c >> 6] |= 1ull << (c & 63);
            have_ascii = true;
        }
        multi = multi || ps->ranges[i].hi >= 0x80;
    }
    if (!multi)
        return push_set(ps, r, &ascii, at);
    const char *key = (const char *)ps->ranges;
    const size_t key_len = sizeof *ps->ranges * (size_t)ps->n_ranges;
    int32_t cr = heed_strmap_get(&ps->class_rules, key, key_len);
    if (cr < 0) {
        heed_status st = made_rule(ps, r, &cr);
        if (!st)
            st = heed_strmap_put(&ps->class_rules, key, key_len, cr, false);
        if (!st && have_ascii)
            st = push_set(ps, cr, &ascii, at);
        static const uint32_t band[5] = {0, 0x80, 0x800, 0x10000, 0x110000};
        for (int32_t i = 0; i < ps->n_ranges && !st; i++)
            for (int n = 2; n <= 4 && !st; n++) {
                const uint32_t lo = ps->ranges[i].lo > band[n - 1] ? ps->ranges[i].lo : band[n - 1];
                const uint32_t hi = ps->ranges[i].hi < band[n] - 1 ? ps->ranges[i].hi : band[n] - 1;
                if (lo <= hi)
                    st = utf8_seqs(ps, cr, lo, hi, n, at);
            }
        if (st)
            return st;
    }
    return push(ps, r, GR_REF, cr, at);
}

/* [...] at ps->p, into rule r. */
static heed_status parse_class(parser *ps, int32_t r)
{
    const char *at = ps->p++;
    const bool negate = *ps->p == '^';
    ps->p += negate;
    ps->n_ranges = 0;
    while (*ps->p != ']') {
        if (!*ps->p)
            return fail_at(ps, at, HEED_ERR_FORMAT, "this class has no closing ']'");
        uint32_t lo, hi;
        heed_status st = parse_char(ps, &lo);
        hi = lo;
        if (!st && ps->p[0] == '-' && ps->p[1] != ']' && ps->p[1]) {
            const char *range = ps->p++;
            st = parse_char(ps, &hi);
            if (!st && hi < lo)
                st = fail_at(ps, range - 1, HEED_ERR_FORMAT, "the range ends before it starts");
        }
        if (!st)
            st = add_range(ps, lo, hi);
        if (st)
            return st;
    }
    ps->p++;
    heed_status st = normalize(ps, negate);
    return st ? st : push_class(ps, r, at);
}

/* ---------------------------------------------------------- structure */

static heed_status parse_alternates(parser *ps, int32_t r, bool nested);

/* Rewrites the item body[start..n) of rule r as item{min,max} (max < 0:
 * no upper bound). */
static heed_status repeat(parser *ps, int32_t r, int32_t start, long min, long max,
                          const char *at)
{
    const int32_t n_sym = ps->rules[r].n - start;
    if (start < 0 || n_sym <= 0)
        return fail_at(ps, at, HEED_ERR_FORMAT, "there is nothing before this to repeat");
    gr_elem *sym = malloc(sizeof *sym * (size_t)n_sym);
    if (!sym)
        return nomem();
    memcpy(sym, ps->rules[r].body + start, sizeof *sym * (size_t)n_sym);
    ps->rules[r].n = start;
    ps->n_elems -= (size_t)n_sym;
    heed_status st = HEED_OK;
    for (long i = 0; i < min && !st; i++)
        for (int32_t k = 0; k < n_sym && !st; k++)
            st = push(ps, r, sym[k].kind, sym[k].arg, at);
    /* R ::= S R | (no bound), or the chain R(k) ::= S R(k-1) | */
    int32_t last = -1;
    for (long k = 0; k < (max < 0 ? 1 : max - min) && !st; k++) {
        int32_t rr;
        st = made_rule(ps, r, &rr);
        for (int32_t j = 0; j < n_sym && !st; j++)
            st = push(ps, rr, sym[j].kind, sym[j].arg, at);
        if (!st && (max < 0 || last >= 0))
            st = push(ps, rr, GR_REF, max < 0 ? rr : last, at);
        if (!st)
            st = push(ps, rr, P_ALT, 0, at);
        last = rr;
    }
    free(sym);
    return st || last < 0 ? st : push(ps, r, GR_REF, last, at);
}

/* {m}, {m,} or {m,n} at ps->p. */
static heed_status parse_counts(parser *ps, long *min, long *max)
{
    const char *at = ps->p++;
    long v[2] = {0, -1};
    int k = 0;
    for (;; k++) {
        skip_space(ps, false);
        if (*ps->p >= '0' && *ps->p <= '9') {
            v[k] = 0;
            while (*ps->p >= '0' && *ps->p <= '9') {
                v[k] = v[k] * 10 + (*ps->p++ - '0');
                if (v[k] > MAX_REPEAT)
                    return fail_at(ps, at, HEED_ERR_UNSUPPORTED,
                                   "repetition counts go up to %d", MAX_REPEAT);
            }
        } else if (k == 0) {
            return fail_at(ps, ps->p, HEED_ERR_FORMAT, "expected a count after '{'");
        }
        skip_space(ps, false);
        if (*ps->p == '}' || k == 1)
            break;
        if (*ps->p != ',')
            return fail_at(ps, ps->p, HEED_ERR_FORMAT, "expected ',' or '}' in {m,n}");
        ps->p++;
    }
    if (*ps->p != '}')
        return fail_at(ps, ps->p, HEED_ERR_FORMAT, "expected '}' to end {m,n}");
    ps->p++;
    *min = v[0];
    *max = k == 0 ? v[0] : v[1];
    if (*max >= 0 && *max < *min)
        return fail_at(ps, at, HEED_ERR_FORMAT, "{m,n} needs m <= n");
    return HEED_OK;
}

static heed_status parse_sequence(parser *ps, int32_t r, bool nested)
{
    int32_t last = -1; /* where the last item starts in the body */
    for (;;) {
        const char *at = ps->p;
        const char c = *at;
        heed_status st = HEED_OK;
        const int32_t here = ps->rules[r].n;
        if (c == '"') {
            ps->p++;
            while (!st && *ps->p != '"') {
                if (!*ps->p)
                    return fail_at(ps, at, HEED_ERR_FORMAT, "this literal has no closing '\"'");
                uint32_t cp;
                char utf8[4];
                if (!(st = parse_char(ps, &cp)) && cp >= 0xD800 && cp <= 0xDFFF)
                    st = fail_at(ps, at, HEED_ERR_FORMAT, "U+%X is a surrogate, which UTF-8 "
                                 "cannot encode", cp);
                const size_t n = st ? 0 : heed_utf8_encode(cp, utf8);
                for (size_t k = 0; k < n && !st; k++)
                    st = push_byte(ps, r, (unsigned char)utf8[k], at);
            }
            ps->p++;
            last = here;
        } else if (c == '[') {
            st = parse_class(ps, r);
            last = here;
        } else if (c == '.') {
            ps->p++;
            ps->n_ranges = 0;
            if (!(st = normalize(ps, true)))
                st = push_class(ps, r, at);
            last = here;
        } else if (name_char(c)) {
            while (name_char(*ps->p))
                ps->p++;
            int32_t ref = heed_strmap_get(&ps->names, at, (size_t)(ps->p - at));
            if (ref < 0 && !(st = new_rule(ps, at, (size_t)(ps->p - at), 0, &ref)))
                ps->rules[ref].first_use = at;
            if (!st)
                st = push(ps, r, GR_REF, ref, at);
            last = here;
        } else if (c == '(') {
            if (++ps->depth > MAX_NESTING)
                return fail_at(ps, at, HEED_ERR_UNSUPPORTED, "groups nest deeper than %d",
                               MAX_NESTING);
            ps->p++;
            skip_space(ps, true);
            int32_t sub;
            if (!(st = made_rule(ps, r, &sub)))
                st = parse_alternates(ps, sub, true);
            if (!st && *ps->p != ')')
                st = fail_at(ps, at, HEED_ERR_FORMAT, "this '(' has no closing ')'");
            if (!st)
                st = push(ps, r, GR_REF, sub, at);
            ps->p++;
            ps->depth--;
            last = here;
        } else if (c == '*' || c == '+' || c == '?') {
            ps->p++;
            st = repeat(ps, r, last, c == '+', c == '?' ? 1 : -1, at);
        } else if (c == '{') {
            long min = 0, max = 0;
            if (!(st = parse_counts(ps, &min, &max)))
                st = repeat(ps, r, last, min, max, at);
        } else if (c == '<' || c == '!') {
            return fail_at(ps, at, HEED_ERR_UNSUPPORTED, "token references (<...>, !<...>) are "
                           "not supported; write the token's text as a literal");
        } else {
            return HEED_OK;
        }
        if (st)
            return st;
        skip_space(ps, nested);
    }
}

static heed_status parse_alternates(parser *ps, int32_t r, bool nested)
{
    heed_status st = parse_sequence(ps, r, nested);
    while (!st && *ps->p == '|') {
        st = push(ps, r, P_ALT, 0, ps->p);
        ps->p++;
        skip_space(ps, true);
        if (!st)
            st = parse_sequence(ps, r, nested);
    }
    return st;
}

static heed_status parse_rule(parser *ps)
{
    const char *at = ps->p;
    if (!name_char(*at))
        return fail_at(ps, at, HEED_ERR_FORMAT, "expected a rule name ([a-zA-Z0-9-]+)");
    while (name_char(*ps->p))
        ps->p++;
    const size_t len = (size_t)(ps->p - at);
    int col;
    const int line = line_of(ps, at, &col);
    int32_t r = heed_strmap_get(&ps->names, at, len);
    heed_status st = HEED_OK;
    if (r >= 0 && ps->rules[r].line)
        return fail_at(ps, at, HEED_ERR_FORMAT, "rule '%.*s' is defined twice (first on line %d)",
                       (int)len, at, ps->rules[r].line);
    if (r < 0 && (st = new_rule(ps, at, len, line, &r)))
        return st;
    ps->rules[r].line = line;
    skip_space(ps, false);
    if (strncmp(ps->p, "::=", 3))
        return fail_at(ps, ps->p, HEED_ERR_FORMAT, "expected '::=' after the rule name '%.*s'",
                       (int)len, at);
    ps->p += 3;
    skip_space(ps, true);
    if ((st = parse_alternates(ps, r, false)))
        return st;
    if (*ps->p == '\r' || *ps->p == '\n')
        ps->p++;
    else if (*ps->p)
        return fail_at(ps, ps->p, HEED_ERR_FORMAT, "expected a literal, a class, a rule name, "
                       "'(', '|', a repetition or the end of the line");
    skip_space(ps, true);
    return HEED_OK;
}

/* ------------------------------------------------------------ checking */

/* Every alternative and element into g, rules by id. */
static heed_status flatten(const parser *ps, heed_grammar *g)
{
    size_t n_alts = 0, n_elems = 0;
    for (int32_t r = 0; r < ps->n_rules; r++) {
        n_alts++;
        n_elems += (size_t)ps->rules[r].n + 1;
        for (int32_t i = 0; i < ps->rules[r].n; i++)
            n_alts += ps->rules[r].body[i].kind == P_ALT;
    }
    g->elems = malloc(sizeof *g->elems * n_elems);
    g->alts = malloc(sizeof *g->alts * n_alts);
    g->alt_of = malloc(sizeof *g->alt_of * (size_t)(ps->n_rules + 1));
    g->sets = malloc(sizeof *g->sets * (size_t)(ps->n_sets ? ps->n_sets : 1));
    if (!g->elems || !g->alts || !g->alt_of || !g->sets)
        return nomem();
    if (ps->n_sets) /* (none in a grammar of the empty text) */
        memcpy(g->sets, ps->sets, sizeof *g->sets * (size_t)ps->n_sets);
    g->n_sets = ps->n_sets;
    g->n_rules = ps->n_rules;
    int32_t e = 0, a = 0;
    for (int32_t r = 0; r < ps->n_rules; r++) {
        g->alt_of[r] = a;
        g->alts[a++] = e;
        for (int32_t i = 0; i < ps->rules[r].n; i++) {
            const gr_elem x = ps->rules[r].body[i];
            if (x.kind == P_ALT) {
                g->elems[e++] = (gr_elem){GR_END, 0};
                g->alts[a++] = e;
            } else {
                g->elems[e++] = x;
            }
        }
        g->elems[e++] = (gr_elem){GR_END, 0};
    }
    g->alt_of[ps->n_rules] = a;
    g->n_elems = e;
    return HEED_OK;
}

/*
 * Finds left recursion: a depth-first walk over the references each
 * alternative makes before its first byte (those after only nullable
 * rules), which works out which rules are nullable as it goes. Meeting a
 * rule still on the walk's path is a rule reaching itself that way.
 */
static heed_status check_left_recursion(const parser *ps, const heed_grammar *g)
{
    const int32_t R = g->n_rules;
    unsigned char *state = calloc((size_t)R, 1); /* 0 new, 1 on the path, 2 done; +4 nullable */
    struct walk { int32_t r, alt, pos; } *path = malloc(sizeof *path * (size_t)R);
    if (!state || !path) {
        free(state);
        free(path);
        return nomem();
    }
    heed_status st = HEED_OK;
    for (int32_t s = 0; s < R && !st; s++) {
        if (state[s])
            continue;
        int32_t depth = 0;
        path[depth++] = (struct walk){s, g->alt_of[s], g->alts[g->alt_of[s]]};
        state[s] = 1;
        while (depth && !st) {
            struct walk *w = &path[depth - 1];
            if (w->alt == g->alt_of[w->r + 1]) { /* all alternatives seen */
                state[w->r] = (unsigned char)((state[w->r] & 4) | 2);
                depth--;
                continue;
            }
            const gr_elem x = g->elems[w->pos];
            if (x.kind == GR_REF && (state[x.arg] & 3) == 0) {
                state[x.arg] = 1;
                path[depth++] = (struct walk){x.arg, g->alt_of[x.arg],
                                              g->alts[g->alt_of[x.arg]]};
                continue;
            }
            if (x.kind == GR_REF && (state[x.arg] & 3) == 1) {
                char chain[400];
                size_t at = 0;
                int32_t from = depth - 1;
                while (from > 0 && path[from].r != x.arg)
                    from--;
                for (int32_t i = from; i < depth && at < sizeof chain - 1; i++)
                    at += (size_t)snprintf(chain + at, sizeof chain - at, "%s -> ",
                                           ps->rules[path[i].r].name);
                if (at < sizeof chain - 1)
                    snprintf(chain + at, sizeof chain - at, "%s", ps->rules[x.arg].name);
                const char *name = ps->rules[x.arg].name, *cut = strchr(name, '_');
                if (cut)
                    st = heed_fail(HEED_ERR_FORMAT, "grammar: a group or repetition in rule "
                                   "'%.*s' is left-recursive (%s): it can reach itself before "
                                   "matching any text, as a repetition of what can match the "
                                   "empty text does", (int)(cut - name), name, chain);
                else
                    st = heed_fail(HEED_ERR_FORMAT, "grammar: rule '%s' is left-recursive (%s): "
                                   "it can reach itself before matching any text; write the "
                                   "repetition with * or + instead", name, chain);
                break;
            }
            if (x.kind == GR_END) /* all of this alternative is nullable */
                state[w->r] |= 4;
            if (x.kind == GR_REF && (state[x.arg] & 4)) {
                w->pos++;
                continue;
            }
            w->alt++; /* a byte, a rule that is not nullable, or the end */
            if (w->alt < g->alt_of[w->r + 1])
                w->pos = g->alts[w->alt];
        }
    }
    free(state);
    free(path);
    return st;
}

static void parser_free(parser *ps)
{
    for (int32_t r = 0; r < ps->n_rules; r++) {
        free(ps->rules[r].name);
        free(ps->rules[r].body);
    }
    free(ps->rules);
    free(ps->sets);
    free(ps->ranges);
    heed_strmap_free(&ps->names);
    heed_strmap_free(&ps->set_ids);
    heed_strmap_free(&ps->class_rules);
}

heed_status grammar_compile(heed_grammar *g, const char *gbnf, const char *root)
{
    if (!gbnf || !root)
        return heed_fail(HEED_ERR_ARG, "grammar: no grammar text or no root rule name");
    parser ps = {.src = gbnf, .p = gbnf};
    const size_t len = strlen(gbnf), bad = heed_utf8_invalid_at(gbnf, len);
    if (bad < len)
        return fail_at(&ps, gbnf + bad, HEED_ERR_FORMAT, "the text is not valid UTF-8");
    heed_status st = heed_strmap_init(&ps.names, 64);
    if (!st)
        st = heed_strmap_init(&ps.set_ids, 64);
    if (!st)
        st = heed_strmap_init(&ps.class_rules, 16);
    skip_space(&ps, true);
    while (!st && *ps.p)
        st = parse_rule(&ps);
    for (int32_t r = 0; r < ps.n_rules && !st; r++)
        if (!ps.rules[r].line)
            st = fail_at(&ps, ps.rules[r].first_use, HEED_ERR_FORMAT, "rule '%s' is used but "
                         "never defined", ps.rules[r].name);
    if (!st && !ps.n_rules)
        st = heed_fail(HEED_ERR_FORMAT, "grammar: the text defines no rule");
    g->root = st ? -1 : heed_strmap_get(&ps.names, root, strlen(root));
    if (!st && (g->root < 0 || ps.rules[g->root].line < 0))
        st = heed_fail(HEED_ERR_ARG, "grammar: there is no rule '%.64s' to start from", root);
    if (!st)
        st = flatten(&ps, g);
    if (!st)
        st = check_left_recursion(&ps, g);
    parser_free(&ps);
    return st;
}

/* ------------------------------------------------------------------ API */

void heed_grammar_free(heed_grammar *g)
{
    if (!g)
        return;
    free(g->elems);
    free(g->sets);
    free(g->alt_of);
    free(g->alts);
    free(g->eog);
    free(g);
}

heed_status heed_grammar_new(const heed_vocab *v, const char *gbnf, const char *root,
                             heed_grammar **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "grammar: out is NULL");
    *out = NULL;
    heed_grammar *g = calloc(1, sizeof *g);
    if (!g)
        return nomem();
    g->v = v;
    heed_status st = grammar_compile(g, gbnf, root ? root : "root");
    if (!st && v)
        st = token_trie_of(v, &g->trie);
    const int32_t n_tok = v ? heed_vocab_n_tokens(v) : 0;
    for (int32_t id = 0; id < n_tok && !st; id++) {
        if (!heed_vocab_is_eog(v, id))
            continue;
        int32_t *e = realloc(g->eog, sizeof *e * (size_t)(g->n_eog + 1));
        if (!e)
            st = nomem();
        else
            (g->eog = e)[g->n_eog++] = id;
    }
    if (st) {
        heed_grammar_free(g);
        return st;
    }
    *out = g;
    return HEED_OK;
}
