/* jinja_lex.c — template text to tokens, as jinja2's lexer splits it with
 * HF's settings: trim_blocks (a block or comment tag eats the newline after
 * it), lstrip_blocks (spaces before a block or comment tag on its own line
 * go), "-" inside a tag's delimiter strips all white space on that side,
 * "+" keeps it. White space is Python's (str.isspace). Inside {{ }} and
 * {% %}, an end delimiter counts only where brackets balance. */
#include <string.h>
#include <utf8proc.h>

#include "text/jinja.h"
#include "text/unicode.h"

typedef struct lexer {
    jx *J;
    const char *s;
    size_t n;
    jx_tok *t;
    size_t nt, cap;
    char stack[256]; /* the closing brackets expected */
    int depth;
    bool line_starting;
} lexer;

static void emit(lexer *L, jx_tok tok)
{
    if (L->nt == L->cap) {
        const size_t cap = L->cap ? 2 * L->cap : 256;
        jx_tok *t = jx_alloc(L->J, cap * sizeof *t);
        if (L->nt)
            memcpy(t, L->t, L->nt * sizeof *t);
        L->t = t;
        L->cap = cap;
    }
    L->t[L->nt++] = tok;
}

static bool at(const lexer *L, size_t i, const char *w)
{
    const size_t n = strlen(w);
    return i <= L->n && L->n - i >= n && !memcmp(L->s + i, w, n);
}

/* Past the Python white space starting at i. */
static size_t skip_space(const lexer *L, size_t i)
{
    while (i < L->n) {
        size_t j = i;
        if (!jx_py_space(heed_utf8_decode(L->s, L->n, &j)))
            break;
        i = j;
    }
    return i;
}

/* End of [a, b) with trailing white space removed (str.rstrip). */
static size_t rstrip(const lexer *L, size_t a, size_t b)
{
    size_t end = a;
    while (a < b) {
        const uint32_t c = heed_utf8_decode(L->s, b, &a);
        if (!jx_py_space(c))
            end = a;
    }
    return end;
}

/* The data before a tag, stripped as its sign ('-', '+' or 0) and
 * lstrip_blocks say (block and comment tags only). */
static void data(lexer *L, size_t a, size_t b, char sign, bool is_var)
{
    if (sign == '-') {
        b = rstrip(L, a, b);
    } else if (sign != '+' && !is_var) {
        size_t l = b;
        while (l > a && L->s[l - 1] != '\n')
            l--;
        if ((l > a || L->line_starting) && l < b && skip_space(L, l) == b)
            b = l;
    }
    if (b > a)
        emit(L, (jx_tok){.type = TK_DATA, .pos = a, .s = L->s + a, .len = b - a});
}

/* "-%}" + white space, "+%}", or "%}" + one newline (trim_blocks); end
 * is the given delimiter ("%}" or "#}"). Returns the end, or 0. */
static size_t tag_end(const lexer *L, size_t i, const char *end, bool trim)
{
    if (L->s[i] == '+' && at(L, i + 1, end))
        return i + 3;
    if (L->s[i] == '-' && at(L, i + 1, end))
        return skip_space(L, i + 3);
    if (at(L, i, end))
        return i + 2 + (trim && at(L, i + 2, "\n"));
    return 0;
}

/* "{%" sign? space* word space* — the opening of raw and endraw. */
static size_t raw_tag(const lexer *L, size_t i, const char *word, char *sign)
{
    if (!at(L, i, "{%"))
        return 0;
    i += 2;
    *sign = L->s[i] == '-' || L->s[i] == '+' ? L->s[i++] : 0;
    i = skip_space(L, i);
    if (!at(L, i, word))
        return 0;
    return skip_space(L, i + strlen(word));
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Digits with single underscores between them: (\d+_)*\d+. */
static size_t digits(const lexer *L, size_t i)
{
    if (i >= L->n || !is_digit(L->s[i]))
        return 0;
    while (i < L->n) {
        if (is_digit(L->s[i]))
            i++;
        else if (L->s[i] == '_' && i + 1 < L->n && is_digit(L->s[i + 1]))
            i++;
        else
            break;
    }
    return i;
}

static void number(lexer *L, size_t i, size_t *end)
{
    jx *J = L->J;
    char buf[128];
    size_t nb = 0;
    /* a float: digits, then a fraction and/or an exponent */
    size_t e = i > 0 && L->s[i - 1] == '.' ? 0 : digits(L, i);
    if (e) {
        size_t f = e, x = 0;
        if (L->s[f] == '.' && (x = digits(L, f + 1)))
            f = x;
        size_t ex = 0;
        if (f < L->n && (L->s[f] == 'e' || L->s[f] == 'E')) {
            size_t k = f + 1;
            if (k < L->n && (L->s[k] == '+' || L->s[k] == '-'))
                k++;
            ex = digits(L, k);
        }
        if (ex || f > e) {
            const size_t stop = ex ? ex : f;
            for (size_t k = i; k < stop && nb < sizeof buf - 1; k++)
                if (L->s[k] != '_')
                    buf[nb++] = L->s[k];
            buf[nb] = 0;
            emit(L, (jx_tok){.type = TK_FLOAT, .pos = i, .f = strtod(buf, NULL)});
            *end = stop;
            return;
        }
    }
    /* an integer: 0b, 0o, 0x, decimal, or zeros */
    int base = 10;
    size_t k = i;
    const char c1 = i + 1 < L->n ? (char)(L->s[i + 1] | 0x20) : 0;
    if (L->s[i] == '0' && (c1 == 'b' || c1 == 'o' || c1 == 'x')) {
        base = c1 == 'b' ? 2 : c1 == 'o' ? 8 : 16;
        k = i + 2;
    }
    uint64_t v = 0;
    bool any = false, over = false;
    for (;;) {
        size_t d = k;
        if (d < L->n && L->s[d] == '_' && (base != 10 || any))
            d++;
        if (d >= L->n)
            break;
        const char c = (char)(L->s[d] | 0x20);
        int dv = is_digit(L->s[d]) ? L->s[d] - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
        if (dv >= base || (base == 10 && L->s[i] == '0' && dv != 0))
            break;
        if (v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base)
            over = true;
        v = v * (uint64_t)base + (uint64_t)dv;
        any = true;
        k = d + 1;
    }
    if (!any) /* "0b" with no digits: the "0" alone */
        k = i + 1;
    if (over || v > INT64_MAX)
        jx_fail(J, i, "integer literal too large (heed's integers are 64-bit)");
    emit(L, (jx_tok){.type = TK_INT, .pos = i, .i = (int64_t)v});
    *end = k;
}

static void put_cp(lexer *L, jx_buf *b, uint32_t c, size_t pos)
{
    if (c >= 0xd800 && c < 0xe000)
        jx_fail(L->J, pos, "a lone surrogate in a string literal");
    if (c > 0x10ffff)
        jx_fail(L->J, pos, "illegal Unicode character");
    char u[4];
    jx_buf_put(L->J, b, u, heed_utf8_encode(c, u));
}

static int hexval(char c)
{
    c = (char)(c | 0x20);
    return is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A string literal from i (the quote); its value as Python's
 * unicode-escape decoding gives. Returns the end, or 0 if unterminated. */
static size_t string(lexer *L, size_t i)
{
    const char q = L->s[i];
    size_t k = i + 1;
    while (k < L->n && L->s[k] != q)
        k += L->s[k] == '\\' ? 2 : 1;
    if (k >= L->n)
        return 0;
    jx_buf b = {0};
    jx_buf_put(L->J, &b, "", 0);
    for (size_t p = i + 1; p < k;) {
        if (L->s[p] != '\\') {
            jx_buf_put(L->J, &b, L->s + p, 1);
            p++;
            continue;
        }
        const char e = L->s[p + 1];
        p += 2;
        const char *simple = strchr("\\'\"abfnrtv", e);
        if (e && simple) {
            static const char out[] = "\\'\"\a\b\f\n\r\t\v";
            jx_buf_put(L->J, &b, &out[simple - "\\'\"abfnrtv"], 1);
        } else if (e == '\n') {
            /* a line continuation */
        } else if (e >= '0' && e <= '7') {
            uint32_t v = (uint32_t)(e - '0');
            for (int n = 0; n < 2 && p < k && L->s[p] >= '0' && L->s[p] <= '7'; n++)
                v = v * 8 + (uint32_t)(L->s[p++] - '0');
            put_cp(L, &b, v, i);
        } else if (e == 'x' || e == 'u' || e == 'U') {
            const int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int n = 0; n < len; n++) {
                const int h = p < k ? hexval(L->s[p]) : -1;
                if (h < 0)
                    jx_fail(L->J, i, "truncated \\%c escape", e);
                v = v * 16 + (uint32_t)h;
                p++;
            }
            put_cp(L, &b, v, i);
        } else if (e == 'N') {
            jx_fail(L->J, i, "heed does not know \\N{...} escapes");
        } else if ((unsigned char)e >= 0x80) {
            /* Python escapes the character first ("\\xe9"), then reads
             * the backslash pair: a backslash and the escape's letters */
            size_t cp = p - 1;
            const uint32_t c = heed_utf8_decode(L->s, k, &cp);
            jx_buf_printf(L->J, &b, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", c);
            p = cp;
        } else {
            jx_buf_put(L->J, &b, L->s + p - 2, 2); /* kept as written */
        }
    }
    emit(L, (jx_tok){.type = TK_STRING, .pos = i, .s = b.p, .len = b.len});
    return k + 1;
}

static const char *const ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%",
                                  "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":",
                                  "|", ",", ";"};

static bool ident_start(uint32_t c)
{
    if (c < 0x80)
        return c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    const int k = utf8proc_category((utf8proc_int32_t)c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO ? true : k == UTF8PROC_CATEGORY_NL;
}

static bool ident_cont(uint32_t c)
{
    if (ident_start(c) || (c >= '0' && c <= '9'))
        return true;
    const int k = utf8proc_category((utf8proc_int32_t)c);
    return c >= 0x80 && (k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC ||
                         k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_PC);
}

/* The tokens of a {{ }} or {% %} from i to its end delimiter. */
static size_t tag(lexer *L, size_t i, bool block)
{
    jx *J = L->J;
    for (;;) {
        if (i >= L->n)
            jx_fail(J, L->n, "unexpected end of template, expected '%s'", block ? "%}" : "}}");
        if (!L->depth) {
            const size_t end = block ? tag_end(L, i, "%}", true)
                           : at(L, i, "-}}")  ? skip_space(L, i + 3)
                           : at(L, i, "}}")   ? i + 2
                                              : 0;
            if (end) {
                emit(L, (jx_tok){.type = block ? TK_BLOCK_END : TK_VAR_END, .pos = i});
                L->line_starting = L->s[end - 1] == '\n';
                return end;
            }
        }
        size_t j = i, e;
        const uint32_t c = heed_utf8_decode(L->s, L->n, &j);
        if (jx_py_space(c)) {
            i = skip_space(L, i);
        } else if (is_digit(L->s[i])) {
            number(L, i, &i);
        } else if (ident_start(c)) {
            const size_t a = i;
            i = j;
            while (i < L->n) {
                size_t k = i;
                if (!ident_cont(heed_utf8_decode(L->s, L->n, &k)))
                    break;
                i = k;
            }
            emit(L, (jx_tok){.type = TK_NAME, .pos = a, .s = jx_strndup(J, L->s + a, i - a),
                             .len = i - a});
        } else if ((L->s[i] == '\'' || L->s[i] == '"') && (e = string(L, i))) {
            i = e;
        } else {
            size_t k = 0;
            while (k < sizeof ops / sizeof *ops && !at(L, i, ops[k]))
                k++;
            if (k == sizeof ops / sizeof *ops)
                jx_fail(J, i, "unexpected char '%.*s'", (int)(j - i), L->s + i);
            const char o = ops[k][0];
            if (!ops[k][1] && (o == '(' || o == '[' || o == '{')) {
                if (L->depth == (int)sizeof L->stack)
                    jx_fail(J, i, "brackets nest too deeply");
                L->stack[L->depth++] = o == '(' ? ')' : o == '[' ? ']' : '}';
            } else if (!ops[k][1] && (o == ')' || o == ']' || o == '}')) {
                if (!L->depth)
                    jx_fail(J, i, "unexpected '%c'", o);
                if (L->stack[--L->depth] != o)
                    jx_fail(J, i, "unexpected '%c', expected '%c'", o, L->stack[L->depth]);
            }
            emit(L, (jx_tok){.type = TK_OP, .pos = i, .s = ops[k], .len = strlen(ops[k])});
            i += strlen(ops[k]);
        }
    }
}

jx_tok *jx_lex(jx *J, size_t *n)
{
    lexer L = {.J = J, .s = J->src, .n = J->src_len, .line_starting = true};
    size_t i = 0;
    while (i < L.n) {
        /* the next "{{", "{%" or "{#" */
        size_t t = i;
        for (const char *b; t + 1 < L.n && (b = memchr(L.s + t, '{', L.n - t - 1)); t++) {
            t = (size_t)(b - L.s);
            if (strchr("{%#", L.s[t + 1]))
                break;
        }
        if (t + 1 >= L.n || L.s[t] != '{') {
            emit(&L, (jx_tok){.type = TK_DATA, .pos = i, .s = L.s + i, .len = L.n - i});
            break;
        }
        const char kind = L.s[t + 1];
        const char sign = L.s[t + 2] == '-' || L.s[t + 2] == '+' ? L.s[t + 2] : 0;
        char rs;
        size_t r = kind == '%' ? raw_tag(&L, t, "raw", &rs) : 0;
        size_t re = r ? (L.s[r] == '-' && at(&L, r + 1, "%}") ? skip_space(&L, r + 3)
                         : at(&L, r, "%}")                  ? r + 2
                                                             : 0)
                      : 0;
        data(&L, i, t, sign, kind == '{');
        L.line_starting = false;
        if (re) {
            /* {% raw %}: the text up to {% endraw %}, as data */
            L.line_starting = L.s[re - 1] == '\n';
            size_t k = re, e = 0;
            char es = 0;
            for (; k < L.n; k++) {
                size_t w = raw_tag(&L, k, "endraw", &es);
                if (w && (e = tag_end(&L, w, "%}", true)))
                    break;
            }
            if (!e && k > re) /* jinja2 says nothing when the text ends right there */
                jx_fail(J, t, "missing end of raw directive");
            if (!e)
                break;
            data(&L, re, k, es, false);
            L.line_starting = L.s[e - 1] == '\n';
            i = e;
        } else if (kind == '#') {
            const size_t from = t + 2 + (sign != 0);
            size_t k = from, e = 0;
            while (k < L.n && !(e = tag_end(&L, k, "#}", true)))
                k++;
            if (!e && from < L.n) /* jinja2 says nothing when the text ends right there */
                jx_fail(J, t, "missing end of comment tag");
            if (!e)
                break;
            L.line_starting = L.s[e - 1] == '\n';
            i = e;
        } else {
            emit(&L, (jx_tok){.type = kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, .pos = t});
            i = tag(&L, t + 2 + (sign != 0), kind == '%');
        }
    }
    emit(&L, (jx_tok){.type = TK_EOF, .pos = L.n});
    *n = L.nt;
    return L.t;
}
