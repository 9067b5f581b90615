/* jinja_value.c — the values a template computes with, and what Python
 * does with them: truth, equality, order, hashing (dict keys), str() and
 * repr(). Invariants: a JX_STR is valid UTF-8 and NUL-terminated; a dict's
 * keys are distinct by Python equality; a tuple is a JX_LIST with
 * JX_TUPLE set, and equals only tuples. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/jinja.h"
#include "text/unicode.h"

jx_val jx_none(void) { return (jx_val){.kind = JX_NONE}; }
jx_val jx_bool(bool b) { return (jx_val){.kind = JX_BOOL, .b = b}; }
jx_val jx_int(int64_t i) { return (jx_val){.kind = JX_INT, .i = i}; }
jx_val jx_float(double f) { return (jx_val){.kind = JX_FLOAT, .f = f}; }

jx_val jx_str(jx *J, const char *s, size_t n)
{
    jx_string *p = jx_alloc(J, sizeof *p + n + 1);
    p->len = n;
    if (n)
        memcpy(p->s, s, n);
    p->s[n] = 0;
    return (jx_val){.kind = JX_STR, .s = p};
}

jx_val jx_cstr(jx *J, const char *s) { return jx_str(J, s, strlen(s)); }

jx_val jx_undef(jx *J, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return (jx_val){.kind = JX_UNDEF, .undef = jx_strndup(J, tmp, strlen(tmp))};
}

jx_val jx_list_new(jx *J, size_t cap)
{
    jx_list *l = jx_alloc(J, sizeof *l);
    *l = (jx_list){.cap = cap};
    l->v = cap ? jx_alloc(J, cap * sizeof *l->v) : NULL;
    return (jx_val){.kind = JX_LIST, .l = l};
}

void jx_list_push(jx *J, jx_list *l, jx_val v)
{
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 4;
        jx_val *nv = jx_alloc(J, cap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

jx_val jx_dict_new(jx *J)
{
    jx_dict *d = jx_alloc(J, sizeof *d);
    *d = (jx_dict){0};
    return (jx_val){.kind = JX_DICT, .d = d};
}

jx_val jx_func_new(jx *J, const char *name, jx_builtin fn, jx_val self)
{
    jx_func *f = jx_alloc(J, sizeof *f);
    *f = (jx_func){.name = name, .fn = fn, .self = self};
    return (jx_val){.kind = JX_FUNC, .fn = f};
}

jx_val jx_gen_new(jx *J, jx_list *l)
{
    jx_gen *g = jx_alloc(J, sizeof *g);
    *g = (jx_gen){.l = l};
    return (jx_val){.kind = JX_GEN, .gen = g};
}

/* --------------------------------------------------------------- UTF-8 */

size_t jx_utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

size_t jx_utf8_off(const char *s, size_t n, size_t i)
{
    size_t off = 0;
    while (i && off < n) {
        off++;
        while (off < n && ((unsigned char)s[off] & 0xc0) == 0x80)
            off++;
        i--;
    }
    return off;
}

bool jx_py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* --------------------------------------------------------------- numbers */

int64_t jx_add_i(jx *J, int64_t a, int64_t b, size_t pos)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        jx_fail(J, pos, "integer overflow (heed's integers are 64-bit)");
    return r;
}

int64_t jx_mul_i(jx *J, int64_t a, int64_t b, size_t pos)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        jx_fail(J, pos, "integer overflow (heed's integers are 64-bit)");
    return r;
}

int64_t jx_index(jx *J, jx_val v, size_t pos)
{
    if (v.kind == JX_INT)
        return v.i;
    if (v.kind == JX_BOOL)
        return v.b;
    jx_need_defined(J, v, pos);
    jx_fail(J, pos, "'%s' object cannot be interpreted as an integer", jx_py_type(v));
}

bool jx_is_num(jx_val v) { return v.kind == JX_BOOL || v.kind == JX_INT || v.kind == JX_FLOAT; }

double jx_num(jx_val v)
{
    return v.kind == JX_FLOAT ? v.f : v.kind == JX_INT ? (double)v.i : v.kind == JX_BOOL ? v.b : 0;
}

static int64_t ival(jx_val v) { return v.kind == JX_BOOL ? v.b : v.i; }

/* Python compares int with float exactly: -1, 0, 1 (NaN: 2). */
static int cmp_num(jx_val a, jx_val b)
{
    if (a.kind != JX_FLOAT && b.kind != JX_FLOAT) {
        const int64_t x = ival(a), y = ival(b);
        return (x > y) - (x < y);
    }
    if (a.kind == JX_FLOAT && b.kind == JX_FLOAT)
        return isnan(a.f) || isnan(b.f) ? 2 : (a.f > b.f) - (a.f < b.f);
    const bool flip = a.kind == JX_FLOAT;
    const int64_t i = ival(flip ? b : a);
    const double f = flip ? a.f : b.f;
    int r;
    if (isnan(f))
        return 2;
    if (f >= 9223372036854775808.0)
        r = -1;
    else if (f < -9223372036854775808.0)
        r = 1;
    else {
        const double t = trunc(f);
        const int64_t ft = (int64_t)t;
        r = i < ft ? -1 : i > ft ? 1 : t < f ? -1 : t > f ? 1 : 0;
    }
    return flip ? -r : r;
}

/* ------------------------------------------------------------ equality */

bool jx_truthy(jx_val v)
{
    switch (v.kind) {
    case JX_UNDEF:
    case JX_NONE: return false;
    case JX_BOOL: return v.b;
    case JX_INT: return v.i != 0;
    case JX_FLOAT: return v.f != 0;
    case JX_STR: return v.s->len > 0;
    case JX_LIST: return v.l->n > 0;
    case JX_DICT: return v.d->n > 0;
    default: return true;
    }
}

bool jx_eq(jx *J, jx_val a, jx_val b)
{
    if (jx_is_num(a) && jx_is_num(b))
        return cmp_num(a, b) == 0;
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case JX_UNDEF:
    case JX_NONE: return true;
    case JX_STR: return a.s->len == b.s->len && memcmp(a.s->s, b.s->s, a.s->len) == 0;
    case JX_LIST:
        if ((a.flags & JX_TUPLE) != (b.flags & JX_TUPLE) || a.l->n != b.l->n)
            return false;
        if (a.l == b.l)
            return true;
        jx_nest_enter(J, SIZE_MAX);
        for (size_t i = 0; i < a.l->n; i++)
            if (!jx_eq(J, a.l->v[i], b.l->v[i])) {
                jx_nest_leave(J);
                return false;
            }
        jx_nest_leave(J);
        return true;
    case JX_DICT:
        if (a.d->n != b.d->n)
            return false;
        jx_nest_enter(J, SIZE_MAX);
        for (size_t i = 0; i < a.d->n; i++) {
            jx_val *o = jx_dict_get(J, b.d, a.d->keys[i], SIZE_MAX);
            if (!o || !jx_eq(J, a.d->vals[i], *o)) {
                jx_nest_leave(J);
                return false;
            }
        }
        jx_nest_leave(J);
        return true;
    case JX_NS: return a.d == b.d;
    case JX_LOOP: return a.loop == b.loop;
    case JX_FUNC: return a.fn == b.fn;
    case JX_GEN: return a.gen == b.gen;
    default: return false;
    }
}

/* ------------------------------------------------------------- hashing */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Equal keys hash equal: 1, 1.0 and True alike. */
static uint64_t hash(jx *J, jx_val k, size_t pos)
{
    switch (k.kind) {
    case JX_NONE: return 0x9e3779b97f4a7c15ull;
    case JX_BOOL:
    case JX_INT: return mix((uint64_t)ival(k));
    case JX_FLOAT:
        if (k.f == trunc(k.f) && fabs(k.f) < 9e18)
            return mix((uint64_t)(int64_t)k.f);
        uint64_t bits;
        memcpy(&bits, &k.f, sizeof bits);
        return mix(bits);
    case JX_STR: {
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < k.s->len; i++)
            h = (h ^ (unsigned char)k.s->s[i]) * 1099511628211ull;
        return h;
    }
    case JX_LIST:
        if (k.flags & JX_TUPLE) {
            uint64_t h = 0x345678;
            for (size_t i = 0; i < k.l->n; i++)
                h = mix(h ^ hash(J, k.l->v[i], pos));
            return h;
        }
        break;
    case JX_FUNC: return mix((uint64_t)(uintptr_t)k.fn);
    case JX_GEN: return mix((uint64_t)(uintptr_t)k.gen);
    case JX_UNDEF: return 0x5bd1e995; /* all undefined values are equal */
    default: break;
    }
    jx_fail(J, pos, "unhashable type: '%s'", jx_py_type(k));
}

bool jx_hashable(jx_val k)
{
    if (k.kind == JX_LIST && (k.flags & JX_TUPLE)) {
        for (size_t i = 0; i < k.l->n; i++)
            if (!jx_hashable(k.l->v[i]))
                return false;
        return true;
    }
    return k.kind != JX_LIST && k.kind != JX_DICT && k.kind != JX_NS && k.kind != JX_LOOP;
}

static void reindex(jx *J, jx_dict *d)
{
    d->index_cap = 16;
    while (d->index_cap < 2 * d->cap)
        d->index_cap *= 2;
    d->index = jx_alloc(J, d->index_cap * sizeof *d->index);
    memset(d->index, 0, d->index_cap * sizeof *d->index);
    for (size_t i = 0; i < d->n; i++) {
        size_t s = hash(J, d->keys[i], SIZE_MAX) & (d->index_cap - 1);
        while (d->index[s])
            s = (s + 1) & (d->index_cap - 1);
        d->index[s] = (uint32_t)i + 1;
    }
}

/* The entry of key, or where it would go (*slot, for an indexed dict). */
static long find(jx *J, jx_dict *d, jx_val key, size_t pos, size_t *slot)
{
    if (!d->index) {
        if (key.kind != JX_STR)
            hash(J, key, pos); /* unhashable: fail as Python does */
        for (size_t i = 0; i < d->n; i++)
            if (jx_eq(J, d->keys[i], key))
                return (long)i;
        return -1;
    }
    size_t s = hash(J, key, pos) & (d->index_cap - 1);
    while (d->index[s]) {
        const size_t i = d->index[s] - 1;
        if (jx_eq(J, d->keys[i], key))
            return (long)i;
        s = (s + 1) & (d->index_cap - 1);
    }
    *slot = s;
    return -1;
}

jx_val *jx_dict_get(jx *J, jx_dict *d, jx_val key, size_t pos)
{
    size_t slot;
    const long i = find(J, d, key, pos, &slot);
    return i < 0 ? NULL : &d->vals[i];
}

void jx_dict_set(jx *J, jx_dict *d, jx_val key, jx_val v, size_t pos)
{
    size_t slot = 0;
    const long i = find(J, d, key, pos, &slot);
    if (i >= 0) {
        d->vals[i] = v;
        return;
    }
    if (d->n == d->cap) {
        const size_t cap = d->cap ? 2 * d->cap : 4;
        jx_val *k = jx_alloc(J, cap * sizeof *k), *vals = jx_alloc(J, cap * sizeof *vals);
        if (d->n) {
            memcpy(k, d->keys, d->n * sizeof *k);
            memcpy(vals, d->vals, d->n * sizeof *vals);
        }
        d->keys = k;
        d->vals = vals;
        d->cap = cap;
        if (d->index || cap > 8) {
            d->keys[d->n] = key;
            d->vals[d->n] = v;
            d->n++;
            reindex(J, d);
            return;
        }
    }
    d->keys[d->n] = key;
    d->vals[d->n] = v;
    if (d->index)
        d->index[slot] = (uint32_t)d->n + 1;
    d->n++;
}

jx_val *jx_dict_gets(jx_dict *d, const char *key)
{
    const size_t n = strlen(key);
    for (size_t i = 0; i < d->n; i++)
        if (d->keys[i].kind == JX_STR && d->keys[i].s->len == n && !memcmp(d->keys[i].s->s, key, n))
            return &d->vals[i];
    return NULL;
}

void jx_dict_sets(jx *J, jx_dict *d, const char *key, jx_val v)
{
    jx_dict_set(J, d, jx_cstr(J, key), v, SIZE_MAX);
}

/* --------------------------------------------------------------- order */

const char *jx_py_type(jx_val v)
{
    static const char *const names[] = {
        [JX_UNDEF] = "Undefined", [JX_NONE] = "NoneType", [JX_BOOL] = "bool",
        [JX_INT] = "int", [JX_FLOAT] = "float", [JX_STR] = "str", [JX_LIST] = "list",
        [JX_DICT] = "dict", [JX_NS] = "Namespace", [JX_LOOP] = "LoopContext",
        [JX_FUNC] = "function", [JX_GEN] = "generator",
    };
    if (v.kind == JX_LIST && (v.flags & JX_TUPLE))
        return "tuple";
    if (v.kind == JX_STR && (v.flags & JX_MARKUP))
        return "Markup";
    return names[v.kind];
}

const char *jx_type_name(jx_val v)
{
    switch (v.kind) {
    case JX_NONE: return "None";
    case JX_BOOL: return "bool object";
    case JX_INT: return "int object";
    case JX_FLOAT: return "float object";
    case JX_STR: return v.flags & JX_MARKUP ? "markupsafe.Markup object" : "str object";
    case JX_LIST: return v.flags & JX_TUPLE ? "tuple object" : "list object";
    case JX_DICT: return "dict object";
    case JX_NS: return "jinja2.utils.Namespace object";
    case JX_LOOP: return "jinja2.runtime.LoopContext object";
    case JX_FUNC: return v.fn->macro ? "jinja2.runtime.Macro object" : "builtin_function_or_method object";
    case JX_GEN: return "generator object";
    default: return "jinja2.runtime.Undefined object";
    }
}

void jx_need_defined(jx *J, jx_val v, size_t pos)
{
    if (v.kind == JX_UNDEF)
        jx_fail(J, pos, "%s", v.undef);
}

static const char *const op_sym[] = {"<", "<=", ">", ">="};

bool jx_order(jx *J, jx_val a, jx_val b, int op, size_t pos)
{
    jx_need_defined(J, a, pos);
    jx_need_defined(J, b, pos);
    int c;
    if (jx_is_num(a) && jx_is_num(b)) {
        c = cmp_num(a, b);
        if (c == 2)
            return false;
    } else if (a.kind == JX_STR && b.kind == JX_STR) {
        const size_t n = a.s->len < b.s->len ? a.s->len : b.s->len;
        c = memcmp(a.s->s, b.s->s, n);
        c = c ? (c > 0) - (c < 0) : (a.s->len > b.s->len) - (a.s->len < b.s->len);
    } else if (a.kind == JX_LIST && b.kind == JX_LIST && (a.flags & JX_TUPLE) == (b.flags & JX_TUPLE)) {
        /* the first unequal items decide, else the lengths */
        size_t i = 0;
        while (i < a.l->n && i < b.l->n && jx_eq(J, a.l->v[i], b.l->v[i]))
            i++;
        if (i < a.l->n && i < b.l->n) {
            jx_nest_enter(J, pos);
            const bool r = jx_order(J, a.l->v[i], b.l->v[i], op, pos);
            jx_nest_leave(J);
            return r;
        }
        c = (a.l->n > b.l->n) - (a.l->n < b.l->n);
    } else {
        jx_fail(J, pos, "'%s' not supported between instances of '%s' and '%s'", op_sym[op],
                jx_py_type(a), jx_py_type(b));
    }
    switch (op) {
    case 0: return c < 0;
    case 1: return c <= 0;
    case 2: return c > 0;
    default: return c >= 0;
    }
}

int jx_cmp(jx *J, jx_val a, jx_val b, size_t pos)
{
    return jx_order(J, a, b, 0, pos) ? -1 : jx_order(J, b, a, 0, pos) ? 1 : 0;
}

/* ------------------------------------------------------------ printing */

void jx_fmt_float(double f, char *buf)
{
    if (isnan(f)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(buf, f < 0 ? "-inf" : "inf");
        return;
    }
    if (f == 0) {
        strcpy(buf, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    /* the shortest digits that read back as f, as Python's repr */
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    char digits[24];
    int nd = 0;
    const char *p = tmp;
    char *o = buf;
    if (*p == '-')
        *o++ = *p++;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    const int decpt = atoi(p + 1) + 1; /* f = 0.d1d2... * 10^decpt */
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            o += sprintf(o, "0.");
            for (int i = 0; i < -decpt; i++)
                *o++ = '0';
            memcpy(o, digits, (size_t)nd);
            o += nd;
        } else if (decpt >= nd) {
            memcpy(o, digits, (size_t)nd);
            o += nd;
            for (int i = nd; i < decpt; i++)
                *o++ = '0';
            o += sprintf(o, ".0");
        } else {
            memcpy(o, digits, (size_t)decpt);
            o += decpt;
            *o++ = '.';
            memcpy(o, digits + decpt, (size_t)(nd - decpt));
            o += nd - decpt;
        }
        *o = 0;
        return;
    }
    *o++ = digits[0];
    if (nd > 1) {
        *o++ = '.';
        memcpy(o, digits + 1, (size_t)(nd - 1));
        o += nd - 1;
    }
    const int e = decpt - 1;
    sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

/* Python's isprintable for one code point. */
static bool printable(uint32_t c)
{
    if (c == ' ')
        return true;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

static void repr_str(jx *J, jx_buf *b, const jx_string *s)
{
    const bool dq = memchr(s->s, '\'', s->len) && !memchr(s->s, '"', s->len);
    const char q = dq ? '"' : '\'';
    jx_buf_put(J, b, &q, 1);
    size_t i = 0;
    while (i < s->len) {
        const size_t at = i;
        const uint32_t c = heed_utf8_decode(s->s, s->len, &i);
        if (c == (uint32_t)q || c == '\\') {
            jx_buf_put(J, b, "\\", 1);
            jx_buf_put(J, b, s->s + at, 1);
        } else if (c == '\n') {
            jx_buf_puts(J, b, "\\n");
        } else if (c == '\r') {
            jx_buf_puts(J, b, "\\r");
        } else if (c == '\t') {
            jx_buf_puts(J, b, "\\t");
        } else if (printable(c)) {
            jx_buf_put(J, b, s->s + at, i - at);
        } else {
            jx_buf_printf(J, b, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", c);
        }
    }
    jx_buf_put(J, b, &q, 1);
}

void jx_to_buf(jx *J, jx_buf *b, jx_val v, bool repr, size_t pos)
{
    char num[40];
    switch (v.kind) {
    case JX_UNDEF: jx_buf_puts(J, b, repr ? "Undefined" : ""); return;
    case JX_NONE: jx_buf_puts(J, b, "None"); return;
    case JX_BOOL: jx_buf_puts(J, b, v.b ? "True" : "False"); return;
    case JX_INT: jx_buf_printf(J, b, "%lld", (long long)v.i); return;
    case JX_FLOAT:
        jx_fmt_float(v.f, num);
        jx_buf_puts(J, b, num);
        return;
    case JX_STR:
        if (!repr) {
            jx_buf_put(J, b, v.s->s, v.s->len);
        } else {
            if (v.flags & JX_MARKUP)
                jx_buf_puts(J, b, "Markup(");
            repr_str(J, b, v.s);
            if (v.flags & JX_MARKUP)
                jx_buf_puts(J, b, ")");
        }
        return;
    case JX_LIST: {
        const bool tuple = v.flags & JX_TUPLE;
        jx_nest_enter(J, pos);
        jx_buf_puts(J, b, tuple ? "(" : "[");
        for (size_t i = 0; i < v.l->n; i++) {
            if (i)
                jx_buf_puts(J, b, ", ");
            jx_to_buf(J, b, v.l->v[i], true, pos);
        }
        jx_buf_puts(J, b, tuple ? v.l->n == 1 ? ",)" : ")" : "]");
        jx_nest_leave(J);
        return;
    }
    case JX_NS:
    case JX_DICT:
        jx_nest_enter(J, pos);
        jx_buf_puts(J, b, v.kind == JX_NS ? "<Namespace {" : "{");
        for (size_t i = 0; i < v.d->n; i++) {
            if (i)
                jx_buf_puts(J, b, ", ");
            jx_to_buf(J, b, v.d->keys[i], true, pos);
            jx_buf_puts(J, b, ": ");
            jx_to_buf(J, b, v.d->vals[i], true, pos);
        }
        jx_buf_puts(J, b, v.kind == JX_NS ? "}>" : "}");
        jx_nest_leave(J);
        return;
    case JX_LOOP:
        jx_buf_printf(J, b, "<LoopContext %zu/%zu>", v.loop->i + 1, v.loop->items->n);
        return;
    case JX_GEN: jx_buf_puts(J, b, "<generator object>"); return;
    case JX_FUNC:
        if (v.fn->macro)
            jx_buf_printf(J, b, "<Macro '%s'>", v.fn->name);
        else
            jx_buf_printf(J, b, "<built-in function %s>", v.fn->name);
        return;
    }
}

jx_val jx_to_str(jx *J, jx_val v, size_t pos)
{
    if (v.kind == JX_STR)
        return v;
    jx_buf b = {0};
    jx_to_buf(J, &b, v, false, pos);
    return jx_buf_str(J, &b);
}

jx_list *jx_iterate(jx *J, jx_val v, size_t pos)
{
    switch (v.kind) {
    case JX_UNDEF: return jx_list_new(J, 0).l;
    case JX_LIST: return v.l;
    case JX_GEN: {
        jx_list *l = jx_list_new(J, v.gen->l->n - v.gen->at).l;
        for (; v.gen->at < v.gen->l->n; v.gen->at++)
            l->v[l->n++] = v.gen->l->v[v.gen->at];
        return l;
    }
    case JX_DICT: {
        jx_list *l = jx_list_new(J, v.d->n).l;
        for (size_t i = 0; i < v.d->n; i++)
            l->v[l->n++] = v.d->keys[i];
        return l;
    }
    case JX_STR: {
        jx_list *l = jx_list_new(J, 0).l;
        size_t i = 0;
        while (i < v.s->len) {
            const size_t at = i;
            heed_utf8_decode(v.s->s, v.s->len, &i);
            jx_list_push(J, l, jx_str(J, v.s->s + at, i - at)); /* str, even from Markup */
        }
        return l;
    }
    default: jx_fail(J, pos, "'%s' object is not iterable", jx_py_type(v));
    }
}

jx_val jx_escape(jx *J, jx_val v, size_t pos)
{
    if (v.kind == JX_STR && (v.flags & JX_MARKUP))
        return v;
    const jx_val s = jx_to_str(J, v, pos);
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    for (size_t i = 0; i < s.s->len; i++) {
        const char c = s.s->s[i];
        switch (c) {
        case '&': jx_buf_puts(J, &b, "&amp;"); break;
        case '<': jx_buf_puts(J, &b, "&lt;"); break;
        case '>': jx_buf_puts(J, &b, "&gt;"); break;
        case '\'': jx_buf_puts(J, &b, "&#39;"); break;
        case '"': jx_buf_puts(J, &b, "&#34;"); break;
        default: jx_buf_put(J, &b, &c, 1);
        }
    }
    jx_val r = jx_buf_str(J, &b);
    r.flags = JX_MARKUP;
    return r;
}
