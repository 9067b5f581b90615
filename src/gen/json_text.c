/* json_text.c — JSON values in free text, and their compact form
 * (json_text.h). The scanner is iterative, its nesting bounded, so any
 * text costs time linear in its length and no recursion. */
#include "gen/json_text.h"

#include <string.h>

#include "text/unicode.h"

typedef struct scan {
    const char *s;
    size_t n, i;
    bool final;
    bool decode; /* strings: their characters to out, not their JSON */
    strbuf *out;
} scan;

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_ws(scan *c)
{
    while (c->i < c->n && is_ws(c->s[c->i]))
        c->i++;
}

static void emit(scan *c, const char *s, size_t n)
{
    if (c->out)
        sb_add(c->out, s, n);
}

/* The text ended inside a value. */
static json_scan ended(const scan *c) { return c->final ? JSON_BAD : JSON_MORE; }

/* Appends code point u (a character of a string) as the compact form
 * writes it. */
static void put_cpt(strbuf *out, uint32_t u)
{
    static const char esc[] = {['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
                               ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    char buf[8];
    if (u < sizeof esc && esc[u]) {
        buf[0] = '\\';
        buf[1] = esc[u];
        sb_add(out, buf, 2);
    } else if (u < 0x20) {
        static const char hex[] = "0123456789abcdef";
        memcpy(buf, "\\u00", 4);
        buf[4] = hex[u >> 4];
        buf[5] = hex[u & 15];
        sb_add(out, buf, 6);
    } else {
        sb_add(out, buf, heed_utf8_encode(u, buf));
    }
}

void json_put_string(strbuf *out, const char *s, size_t n)
{
    sb_putc(out, '"');
    for (size_t i = 0; i < n;) {
        const int len = heed_utf8_strict_len(s + i, n - i);
        if (len <= 0) {
            put_cpt(out, 0xFFFD);
            i++;
        } else if (len == 1) {
            put_cpt(out, (unsigned char)s[i++]);
        } else {
            sb_add(out, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
    sb_putc(out, '"');
}

/* Four hex digits at s[i..]: the value, -1 for a non-hex digit, -2 when
 * the text ends first. */
static long hex4(const scan *c, size_t i)
{
    long v = 0;
    for (size_t k = 0; k < 4; k++, i++) {
        if (i >= c->n)
            return -2;
        const char h = c->s[i];
        const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A string from the opening quote at c->i, written canonically (or
 * decoded). On JSON_MORE and JSON_BAD, c->i is where the characters
 * written end. */
static json_scan string(scan *c)
{
    if (!c->decode)
        emit(c, "\"", 1);
    c->i++;
    while (c->i < c->n) {
        const unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            if (!c->decode)
                emit(c, "\"", 1);
            return JSON_OK;
        }
        if (ch < 0x20)
            return JSON_BAD;
        if (ch != '\\') {
            const int len = heed_utf8_strict_len(c->s + c->i, c->n - c->i);
            if (len < 0)
                return ended(c);
            if (len == 0)
                return JSON_BAD;
            emit(c, c->s + c->i, (size_t)len);
            c->i += (size_t)len;
            continue;
        }
        if (c->i + 1 >= c->n)
            return ended(c);
        const char e = c->s[c->i + 1];
        static const char plain[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
        const char *p = e ? strchr(plain, e) : NULL;
        uint32_t u;
        if (p) {
            u = (unsigned char)value[p - plain];
            c->i += 2;
        } else if (e == 'u') {
            const long h = hex4(c, c->i + 2);
            if (h == -2)
                return ended(c);
            if (h < 0 || (h >= 0xDC00 && h <= 0xDFFF))
                return JSON_BAD;
            size_t j = c->i + 6;
            u = (uint32_t)h;
            if (h >= 0xD800 && h <= 0xDBFF) { /* a high surrogate: its low half follows */
                const char *want = "\\u";
                for (size_t k = 0; k < 2; k++) {
                    if (j + k >= c->n)
                        return ended(c);
                    if (c->s[j + k] != want[k])
                        return JSON_BAD;
                }
                const long lo = hex4(c, j + 2);
                if (lo == -2)
                    return ended(c);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return JSON_BAD;
                j += 6;
                u = 0x10000 + (((uint32_t)h - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            }
            c->i = j;
        } else {
            return JSON_BAD;
        }
        if (c->out && c->decode) {
            char buf[4];
            sb_add(c->out, buf, heed_utf8_encode(u, buf));
        } else if (c->out) {
            put_cpt(c->out, u);
        }
    }
    return ended(c);
}

static bool digit(const scan *c, size_t i) { return i < c->n && c->s[i] >= '0' && c->s[i] <= '9'; }

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?, as written. A number
 * that reaches the end of the text may go on, unless it is final. */
static json_scan number(scan *c)
{
    size_t i = c->i;
    if (c->s[i] == '-')
        i++;
    if (i == c->n)
        return ended(c);
    if (c->s[i] == '0')
        i++;
    else if (digit(c, i))
        while (digit(c, i))
            i++;
    else
        return JSON_BAD;
    if (i < c->n && c->s[i] == '.') {
        if (!digit(c, ++i))
            return i == c->n ? ended(c) : JSON_BAD;
        while (digit(c, i))
            i++;
    }
    if (i < c->n && (c->s[i] == 'e' || c->s[i] == 'E')) {
        if (++i < c->n && (c->s[i] == '+' || c->s[i] == '-'))
            i++;
        if (!digit(c, i))
            return i == c->n ? ended(c) : JSON_BAD;
        while (digit(c, i))
            i++;
    }
    if (i == c->n && !c->final)
        return JSON_MORE;
    emit(c, c->s + c->i, i - c->i);
    c->i = i;
    return JSON_OK;
}

static json_scan literal(scan *c)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        const size_t len = strlen(words[w]);
        const size_t have = c->n - c->i < len ? c->n - c->i : len;
        if (memcmp(c->s + c->i, words[w], have))
            continue;
        if (have < len)
            return ended(c);
        emit(c, words[w], len);
        c->i += len;
        return JSON_OK;
    }
    return JSON_BAD;
}

json_scan json_string_prefix(const char *s, size_t n, bool final, size_t *end, strbuf *out)
{
    scan c = {s, n, 0, final, true, out};
    const json_scan r = n && s[0] == '"' ? string(&c) : JSON_BAD;
    *end = c.i;
    return r;
}

json_scan json_value(const char *s, size_t n, bool final, size_t *end, strbuf *out)
{
    scan c = {s, n, 0, final, false, out};
    char stack[JSON_MAX_DEPTH];
    int depth = 0;
    enum { VALUE, KEY, AFTER } state = VALUE;
    for (;;) {
        skip_ws(&c);
        if (state == AFTER && depth == 0) {
            *end = c.i;
            return JSON_OK;
        }
        if (c.i == c.n)
            return ended(&c);
        const char ch = s[c.i];
        json_scan r = JSON_OK;
        if (state == KEY) {
            if (ch != '"' || (r = string(&c)))
                return ch != '"' ? JSON_BAD : r;
            skip_ws(&c);
            if (c.i == c.n)
                return ended(&c);
            if (s[c.i] != ':')
                return JSON_BAD;
            emit(&c, ":", 1);
            c.i++;
            state = VALUE;
        } else if (state == AFTER) {
            const char close = stack[depth - 1] == '{' ? '}' : ']';
            if (ch == close) {
                emit(&c, &close, 1);
                c.i++;
                depth--;
            } else if (ch == ',') {
                emit(&c, ",", 1);
                c.i++;
                state = stack[depth - 1] == '{' ? KEY : VALUE;
            } else {
                return JSON_BAD;
            }
        } else if (ch == '{' || ch == '[') {
            if (depth == JSON_MAX_DEPTH)
                return JSON_BAD;
            stack[depth++] = ch;
            emit(&c, &ch, 1);
            c.i++;
            skip_ws(&c);
            if (c.i == c.n)
                return ended(&c);
            const char close = ch == '{' ? '}' : ']';
            if (s[c.i] == close) {
                emit(&c, &close, 1);
                c.i++;
                depth--;
                state = AFTER;
            } else {
                state = ch == '{' ? KEY : VALUE;
            }
        } else {
            r = ch == '"' ? string(&c) : ch == '-' || (ch >= '0' && ch <= '9') ? number(&c)
                                                                              : literal(&c);
            if (r)
                return r;
            state = AFTER;
        }
    }
}

/* The end of the compact value at c[i] (compact text is valid: only
 * brackets and strings need following). */
static size_t skip_value(const char *c, size_t n, size_t i)
{
    int depth = 0;
    bool in_str = false;
    for (; i < n; i++) {
        const char ch = c[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
            if (!in_str && !depth)
                return i + 1;
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (--depth <= 0)
                return depth < 0 ? i : i + 1;
        } else if (!depth && ch == ',')
            return i;
    }
    return n;
}

bool json_next_item(const char *c, size_t n, size_t *pos, const char **v, size_t *len)
{
    size_t i = *pos;
    if (i == 0) {
        if (n < 2 || (c[0] != '[' && c[0] != '{'))
            return false;
        i = 1;
    }
    if (i >= n || c[i] == ']' || c[i] == '}')
        return false;
    if (c[0] == '{') /* a member: its value */
        i = skip_value(c, n, i) + 1;
    const size_t e = skip_value(c, n, i);
    *v = c + i;
    *len = e - i;
    *pos = e < n && c[e] == ',' ? e + 1 : e;
    return true;
}

bool json_member(const char *obj, size_t n, const char *key, const char **v, size_t *len)
{
    if (n < 2 || obj[0] != '{')
        return false;
    const size_t klen = strlen(key);
    for (size_t i = 1; i < n && obj[i] == '"';) {
        const size_t k = skip_value(obj, n, i), e = skip_value(obj, n, k + 1);
        if (k - i == klen + 2 && !memcmp(obj + i + 1, key, klen)) {
            *v = obj + k + 1;
            *len = e - k - 1;
            return true;
        }
        i = e + 1;
    }
    return false;
}

bool json_string_bytes(const char *v, size_t len, strbuf *out)
{
    if (len < 2 || v[0] != '"')
        return false;
    for (size_t i = 1; i + 1 < len; i++) {
        if (v[i] != '\\') {
            sb_putc(out, v[i]);
            continue;
        }
        const char e = v[++i];
        if (e == 'u') { /* compact strings escape only control characters */
            unsigned u = 0;
            for (int k = 1; k <= 4; k++)
                u = u * 16 + (unsigned)(v[i + k] <= '9' ? v[i + k] - '0' : v[i + k] - 'a' + 10);
            sb_putc(out, (char)u);
            i += 4;
        } else {
            static const char plain[] = "\"\\bfnrt", value[] = "\"\\\b\f\n\r\t";
            sb_putc(out, value[strchr(plain, e) - plain]);
        }
    }
    return true;
}
