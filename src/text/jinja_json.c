/* jinja_json.c — JSON into template values as Python's json.loads reads
 * it, and values back to JSON as json.dumps writes them (the tojson filter
 * HF defines). A reader of its own, not cJSON: a template prints 1 and 1.0
 * differently, and cJSON keeps no such difference. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja.h"
#include "text/unicode.h"

/* ---------------------------------------------------------------- reading */

typedef struct reader {
    jx *J;
    const char *s;
    size_t n, i;
    const char *what;
    int depth;
} reader;

static _Noreturn void bad(reader *r, const char *expected)
{
    jx_fail(r->J, SIZE_MAX, "%s is not JSON: %s at byte %zu", r->what, expected, r->i);
}

static void skip_ws(reader *r)
{
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
                           r->s[r->i] == '\r'))
        r->i++;
}

static bool lit(reader *r, const char *w)
{
    const size_t n = strlen(w);
    if (r->n - r->i >= n && !memcmp(r->s + r->i, w, n)) {
        r->i += n;
        return true;
    }
    return false;
}

static int hex4(reader *r)
{
    if (r->n - r->i < 4)
        bad(r, "four hex digits after \\u");
    int v = 0;
    for (int k = 0; k < 4; k++) {
        const char c = r->s[r->i++];
        v = v * 16 + (c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : (bad(r, "four hex digits after \\u"), 0));
    }
    return v;
}

static jx_val read_string(reader *r)
{
    r->i++; /* the opening quote */
    jx_buf b = {0};
    jx_buf_put(r->J, &b, "", 0);
    for (;;) {
        if (r->i >= r->n)
            bad(r, "an unterminated string");
        const unsigned char c = (unsigned char)r->s[r->i];
        if (c == '"') {
            r->i++;
            return jx_buf_str(r->J, &b);
        }
        if (c < 0x20)
            bad(r, "a control character in a string");
        if (c != '\\') {
            size_t j = r->i;
            while (j < r->n && r->s[j] != '"' && r->s[j] != '\\' && (unsigned char)r->s[j] >= 0x20)
                j++;
            jx_buf_put(r->J, &b, r->s + r->i, j - r->i);
            r->i = j;
            continue;
        }
        if (++r->i >= r->n)
            bad(r, "an unterminated string");
        const char e = r->s[r->i++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (simple && e) {
            static const char out[] = "\"\\/\b\f\n\r\t";
            jx_buf_put(r->J, &b, &out[simple - "\"\\/bfnrt"], 1);
            continue;
        }
        if (e != 'u')
            bad(r, "a valid escape");
        uint32_t cp = (uint32_t)hex4(r);
        if (cp >= 0xd800 && cp < 0xdc00 && r->n - r->i >= 6 && r->s[r->i] == '\\' &&
            r->s[r->i + 1] == 'u') {
            const size_t at = r->i;
            r->i += 2;
            const uint32_t lo = (uint32_t)hex4(r);
            if (lo >= 0xdc00 && lo < 0xe000)
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            else
                r->i = at;
        }
        if (cp >= 0xd800 && cp < 0xe000)
            bad(r, "no lone surrogate (heed's strings are UTF-8)");
        char u[4];
        jx_buf_put(r->J, &b, u, heed_utf8_encode(cp, u));
    }
}

static bool digit(reader *r) { return r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9'; }

static jx_val read_number(reader *r)
{
    const size_t start = r->i;
    bool is_float = false;
    if (r->s[r->i] == '-') {
        r->i++;
        if (lit(r, "Infinity"))
            return jx_float(-INFINITY);
    }
    if (!digit(r))
        bad(r, "a value");
    if (r->s[r->i] == '0')
        r->i++;
    else
        while (digit(r))
            r->i++;
    if (r->i + 1 < r->n && r->s[r->i] == '.' && r->s[r->i + 1] >= '0' && r->s[r->i + 1] <= '9') {
        is_float = true;
        r->i++;
        while (digit(r))
            r->i++;
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        size_t j = r->i + 1;
        if (j < r->n && (r->s[j] == '+' || r->s[j] == '-'))
            j++;
        if (j < r->n && r->s[j] >= '0' && r->s[j] <= '9') {
            is_float = true;
            r->i = j;
            while (digit(r))
                r->i++;
        }
    }
    char tmp[400];
    const size_t len = r->i - start;
    if (len >= sizeof tmp)
        bad(r, "a number of fewer than 400 characters");
    memcpy(tmp, r->s + start, len);
    tmp[len] = 0;
    if (is_float)
        return jx_float(strtod(tmp, NULL));
    errno = 0;
    const long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
        bad(r, "an integer within 64 bits");
    return jx_int(v);
}

static jx_val read_value(reader *r)
{
    skip_ws(r);
    if (r->i >= r->n)
        bad(r, "a value");
    const char c = r->s[r->i];
    if (c == '{' || c == '[') {
        if (++r->depth > 512)
            bad(r, "no more than 512 levels of nesting");
        r->i++;
        jx_val v = c == '{' ? jx_dict_new(r->J) : jx_list_new(r->J, 0);
        skip_ws(r);
        const char close = c == '{' ? '}' : ']';
        if (r->i < r->n && r->s[r->i] == close) {
            r->i++;
            r->depth--;
            return v;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(r);
                if (r->i >= r->n || r->s[r->i] != '"')
                    bad(r, "a key in double quotes");
                const jx_val k = read_string(r);
                skip_ws(r);
                if (!lit(r, ":"))
                    bad(r, "':'");
                jx_dict_set(r->J, v.d, k, read_value(r), SIZE_MAX);
            } else {
                jx_list_push(r->J, v.l, read_value(r));
            }
            skip_ws(r);
            if (lit(r, ","))
                continue;
            if (!lit(r, close == '}' ? "}" : "]"))
                bad(r, close == '}' ? "',' or '}'" : "',' or ']'");
            r->depth--;
            return v;
        }
    }
    if (c == '"')
        return read_string(r);
    if (lit(r, "true"))
        return jx_bool(true);
    if (lit(r, "false"))
        return jx_bool(false);
    if (lit(r, "null"))
        return jx_none();
    if (lit(r, "NaN"))
        return jx_float(NAN);
    if (lit(r, "Infinity"))
        return jx_float(INFINITY);
    return read_number(r);
}

jx_val jx_json_read(jx *J, const char *text, size_t len, const char *what)
{
    reader r = {J, text, len, 0, what, 0};
    if (heed_utf8_invalid_at(text, len) != len) {
        r.i = heed_utf8_invalid_at(text, len);
        bad(&r, "valid UTF-8");
    }
    const jx_val v = read_value(&r);
    skip_ws(&r);
    if (r.i != len)
        bad(&r, "the end of the text");
    return v;
}

/* ---------------------------------------------------------------- writing */

static void put_string(jx *J, jx_buf *b, const jx_string *s, bool ascii)
{
    jx_buf_put(J, b, "\"", 1);
    size_t i = 0;
    while (i < s->len) {
        const size_t at = i;
        const uint32_t c = heed_utf8_decode(s->s, s->len, &i);
        switch (c) {
        case '"': jx_buf_puts(J, b, "\\\""); continue;
        case '\\': jx_buf_puts(J, b, "\\\\"); continue;
        case '\n': jx_buf_puts(J, b, "\\n"); continue;
        case '\r': jx_buf_puts(J, b, "\\r"); continue;
        case '\t': jx_buf_puts(J, b, "\\t"); continue;
        case '\b': jx_buf_puts(J, b, "\\b"); continue;
        case '\f': jx_buf_puts(J, b, "\\f"); continue;
        default: break;
        }
        if (c < 0x20 || (ascii && c > 0x7e)) {
            if (c >= 0x10000)
                jx_buf_printf(J, b, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
                              0xdc00 + ((c - 0x10000) & 0x3ff));
            else
                jx_buf_printf(J, b, "\\u%04x", c);
        } else {
            jx_buf_put(J, b, s->s + at, i - at);
        }
    }
    jx_buf_put(J, b, "\"", 1);
}

static void put_float(jx *J, jx_buf *b, double f)
{
    char num[40];
    if (isnan(f))
        strcpy(num, "NaN");
    else if (isinf(f))
        strcpy(num, f < 0 ? "-Infinity" : "Infinity");
    else
        jx_fmt_float(f, num);
    jx_buf_puts(J, b, num);
}

static void newline(jx *J, jx_buf *b, const jx_json_opts *o, int level)
{
    jx_buf_put(J, b, "\n", 1);
    for (int k = 0; k < level; k++)
        jx_buf_puts(J, b, o->indent);
}

/* The key as json.dumps turns it into a string. */
static void put_key(jx *J, jx_buf *b, jx_val k, const jx_json_opts *o, size_t pos)
{
    switch (k.kind) {
    case JX_STR: put_string(J, b, k.s, o->ensure_ascii); return;
    case JX_FLOAT:
        jx_buf_put(J, b, "\"", 1);
        put_float(J, b, k.f);
        jx_buf_put(J, b, "\"", 1);
        return;
    case JX_BOOL: jx_buf_puts(J, b, k.b ? "\"true\"" : "\"false\""); return;
    case JX_NONE: jx_buf_puts(J, b, "\"null\""); return;
    case JX_INT: jx_buf_printf(J, b, "\"%lld\"", (long long)k.i); return;
    default:
        jx_fail(J, pos, "keys must be str, int, float, bool or None, not %s", jx_py_type(k));
    }
}

static void dump(jx *J, jx_buf *b, jx_val v, const jx_json_opts *o, int level, size_t pos);

static void dump_dict(jx *J, jx_buf *b, jx_dict *d, const jx_json_opts *o, int level, size_t pos)
{
    if (!d->n) {
        jx_buf_puts(J, b, "{}");
        return;
    }
    size_t *order = jx_alloc(J, d->n * sizeof *order);
    for (size_t i = 0; i < d->n; i++)
        order[i] = i;
    if (o->sort_keys) /* insertion sort: stable, and keys are few */
        for (size_t i = 1; i < d->n; i++)
            for (size_t j = i; j > 0 && jx_cmp(J, d->keys[order[j]], d->keys[order[j - 1]], pos) < 0;
                 j--) {
                const size_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
    jx_buf_put(J, b, "{", 1);
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            jx_buf_puts(J, b, o->item_sep);
        if (o->indent)
            newline(J, b, o, level + 1);
        put_key(J, b, d->keys[order[i]], o, pos);
        jx_buf_puts(J, b, o->key_sep);
        dump(J, b, d->vals[order[i]], o, level + 1, pos);
    }
    if (o->indent)
        newline(J, b, o, level);
    jx_buf_put(J, b, "}", 1);
}

static void dump(jx *J, jx_buf *b, jx_val v, const jx_json_opts *o, int level, size_t pos)
{
    switch (v.kind) {
    case JX_NONE: jx_buf_puts(J, b, "null"); return;
    case JX_BOOL: jx_buf_puts(J, b, v.b ? "true" : "false"); return;
    case JX_INT: jx_buf_printf(J, b, "%lld", (long long)v.i); return;
    case JX_FLOAT: put_float(J, b, v.f); return;
    case JX_STR: put_string(J, b, v.s, o->ensure_ascii); return;
    case JX_LIST:
        jx_nest_enter(J, pos);
        if (!v.l->n) {
            jx_buf_puts(J, b, "[]");
        } else {
            jx_buf_put(J, b, "[", 1);
            for (size_t i = 0; i < v.l->n; i++) {
                if (i)
                    jx_buf_puts(J, b, o->item_sep);
                if (o->indent)
                    newline(J, b, o, level + 1);
                dump(J, b, v.l->v[i], o, level + 1, pos);
            }
            if (o->indent)
                newline(J, b, o, level);
            jx_buf_put(J, b, "]", 1);
        }
        jx_nest_leave(J);
        return;
    case JX_DICT:
        jx_nest_enter(J, pos);
        dump_dict(J, b, v.d, o, level, pos);
        jx_nest_leave(J);
        return;
    default: jx_fail(J, pos, "Object of type %s is not JSON serializable", jx_py_type(v));
    }
}

jx_val jx_json_dump(jx *J, jx_val v, const jx_json_opts *o, size_t pos)
{
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    dump(J, &b, v, o, 0, pos);
    return jx_buf_str(J, &b);
}
