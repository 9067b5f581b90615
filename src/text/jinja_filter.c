/* jinja_filter.c — jinja2's filters and tests, each as its filters.py and
 * tests.py define it (argument names and defaults included), tojson as HF
 * overrides it: json.dumps(x, ensure_ascii=False, indent, separators,
 * sort_keys). Filters that jinja2 writes as generators (map, select,
 * reject, selectattr, rejectattr, unique, batch, slice, items, reverse of
 * a list) give a generator here too: always true, no length, one pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/jinja.h"
#include "text/unicode.h"

#define NONE ((jx_val){.kind = JX_NONE})
#define MISSING ((jx_val){.kind = JX_UNDEF, .undef = "missing"})

/* A required argument (positional i or by name) of the filter `what`. */
static jx_val required(jx *J, const jx_args *a, int i, const char *name, const char *what)
{
    const jx_val v = jx_arg(a, i, name, MISSING);
    if (v.kind == JX_UNDEF && v.undef == MISSING.undef)
        jx_fail(J, a->at, "%s() missing 1 required positional argument: '%s'", what, name);
    return v;
}

jx_val jx_arg(const jx_args *a, int i, const char *name, jx_val def)
{
    if (i >= 0 && i < a->n)
        return a->pos[i];
    for (int k = 0; name && k < a->nk; k++)
        if (!strcmp(a->names[k], name))
            return a->kv[k];
    return def;
}

void jx_args_check(jx *J, const jx_args *a, int max, const char *const *names, const char *what,
                   size_t pos)
{
    if (a->n > max)
        jx_fail(J, pos, "%s() takes at most %d argument%s (%d given)", what, max,
                max == 1 ? "" : "s", a->n);
    for (int k = 0; k < a->nk; k++) {
        bool ok = false;
        for (int i = 0; names && names[i] && !ok; i++)
            ok = !strcmp(names[i], a->names[k]);
        if (!ok)
            jx_fail(J, pos, "%s() got an unexpected keyword argument '%s'", what, a->names[k]);
    }
}

/* Checks a against the parameter names (positional in this order). */
static void params(jx *J, const jx_args *a, const char *const *names, const char *what)
{
    int n = 0;
    while (names[n])
        n++;
    jx_args_check(J, a, n, names, what, a->at);
}

static jx_val str_of(jx *J, jx_val v, size_t pos)
{
    jx_val s = jx_to_str(J, v, pos);
    s.flags = v.kind == JX_STR ? v.flags & JX_MARKUP : 0;
    return s;
}

static int64_t length(jx *J, jx_val v, size_t pos)
{
    switch (v.kind) {
    case JX_UNDEF: return 0;
    case JX_STR: return (int64_t)jx_utf8_len(v.s->s, v.s->len);
    case JX_LIST: return (int64_t)v.l->n;
    case JX_DICT: return (int64_t)v.d->n;
    case JX_LOOP: return (int64_t)v.loop->items->n;
    default: jx_fail(J, pos, "object of type '%s' has no len()", jx_py_type(v));
    }
}

/* make_attrgetter: "a.b.0" looked up part by part, item first; digits
 * as integers. */
static jx_val attr_path(jx *J, jx_val item, jx_val attr, size_t pos)
{
    if (attr.kind != JX_STR)
        return jx_getitem(J, item, attr, pos);
    const char *s = attr.s->s;
    for (;;) {
        const char *dot = strchr(s, '.');
        const size_t n = dot ? (size_t)(dot - s) : strlen(s);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++)
            digits &= s[i] >= '0' && s[i] <= '9';
        jx_val key = digits ? jx_int(strtoll(s, NULL, 10)) : jx_str(J, s, n);
        item = jx_getitem(J, item, key, pos);
        if (!dot)
            return item;
        s = dot + 1;
    }
}

static jx_val lower_if_str(jx *J, jx_val v, bool case_sensitive, size_t pos)
{
    return !case_sensitive && v.kind == JX_STR ? jx_str_case(J, v, CASE_LOWER, pos) : v;
}

/* A stable merge sort of v[0..n) by keys k (Python's sorted is stable,
 * reverse keeps equal items in order). */
static void sort_by(jx *J, jx_val *v, jx_val *k, size_t n, bool reverse, size_t pos)
{
    if (n < 2)
        return;
    const size_t h = n / 2;
    sort_by(J, v, k, h, reverse, pos);
    sort_by(J, v + h, k + h, n - h, reverse, pos);
    jx_val *tv = jx_alloc(J, n * sizeof *tv), *tk = jx_alloc(J, n * sizeof *tk);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n) {
        const bool take_right = reverse ? jx_order(J, k[i], k[j], 0, pos)
                                        : jx_order(J, k[j], k[i], 0, pos);
        const size_t s = take_right ? j++ : i++;
        tv[o] = v[s];
        tk[o++] = k[s];
    }
    while (i < h) {
        tv[o] = v[i];
        tk[o++] = k[i++];
    }
    while (j < n) {
        tv[o] = v[j];
        tk[o++] = k[j++];
    }
    memcpy(v, tv, n * sizeof *v);
    memcpy(k, tk, n * sizeof *k);
}

/* ------------------------------------------------------------- filters */

typedef jx_val (*filter_fn)(jx *J, jx_val v, const jx_args *a);

static jx_val f_abs(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "abs");
    if (v.kind == JX_INT || v.kind == JX_BOOL) {
        const int64_t i = v.kind == JX_BOOL ? v.b : v.i;
        if (i == INT64_MIN)
            jx_fail(J, a->at, "integer overflow (heed's integers are 64-bit)");
        return jx_int(i < 0 ? -i : i);
    }
    if (v.kind == JX_FLOAT)
        return jx_float(fabs(v.f));
    jx_fail(J, a->at, "bad operand type for abs(): '%s'", jx_py_type(v));
}

static jx_val f_attr(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"name", NULL}, "attr");
    const jx_val name = jx_arg(a, 0, "name", NONE);
    if (name.kind != JX_STR)
        jx_fail(J, a->at, "attribute name must be string");
    jx_need_defined(J, v, a->at);
    return jx_method(J, v, name.s->s);
}

static jx_val f_batch(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"linecount", "fill_with", NULL}, "batch");
    const int64_t count = jx_index(J, required(J, a, 0, "linecount", "do_batch"), a->at);
    const jx_val fill = jx_arg(a, 1, "fill_with", NONE);
    const jx_list *items = jx_iterate(J, v, a->at);
    jx_list *out = jx_list_new(J, 0).l;
    jx_val tmp = jx_list_new(J, 0);
    for (size_t i = 0; i < items->n; i++) {
        if ((int64_t)tmp.l->n == count) {
            jx_list_push(J, out, tmp);
            tmp = jx_list_new(J, 0);
        }
        jx_list_push(J, tmp.l, items->v[i]);
    }
    if (tmp.l->n) {
        if (fill.kind != JX_NONE)
            while ((int64_t)tmp.l->n < count)
                jx_list_push(J, tmp.l, fill);
        jx_list_push(J, out, tmp);
    }
    return jx_gen_new(J, out);
}

static jx_val f_capitalize(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "capitalize");
    return jx_str_case(J, str_of(J, v, a->at), CASE_CAPITALIZE, a->at);
}

static jx_val f_center(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"width", NULL}, "center");
    const jx_val s = jx_to_str(J, v, a->at);
    const int64_t width = jx_index(J, jx_arg(a, 0, "width", jx_int(80)), a->at);
    const int64_t n = (int64_t)jx_utf8_len(s.s->s, s.s->len);
    if (width <= n)
        return s;
    if (width > 1 << 24)
        jx_fail(J, a->at, "center() width too large");
    const int64_t marg = width - n, left = marg / 2 + (marg & width & 1);
    jx_buf b = {0};
    for (int64_t i = 0; i < left; i++)
        jx_buf_put(J, &b, " ", 1);
    jx_buf_put(J, &b, s.s->s, s.s->len);
    for (int64_t i = 0; i < marg - left; i++)
        jx_buf_put(J, &b, " ", 1);
    return jx_buf_str(J, &b);
}

static jx_val f_length(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "length");
    return jx_int(length(J, v, a->at));
}

static jx_val f_default(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"default_value", "boolean", NULL}, "default");
    const jx_val def = jx_arg(a, 0, "default_value", jx_cstr(J, ""));
    const bool boolean = jx_truthy(jx_arg(a, 1, "boolean", jx_bool(false)));
    return v.kind == JX_UNDEF || (boolean && !jx_truthy(v)) ? def : v;
}

static jx_val f_dictsort(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"case_sensitive", "by", "reverse", NULL}, "dictsort");
    const bool cs = jx_truthy(jx_arg(a, 0, "case_sensitive", jx_bool(false)));
    const jx_val by = jx_arg(a, 1, "by", jx_cstr(J, "key"));
    const bool reverse = jx_index(J, jx_arg(a, 2, "reverse", jx_bool(false)), a->at) != 0;
    int at;
    if (by.kind == JX_STR && !strcmp(by.s->s, "key"))
        at = 0;
    else if (by.kind == JX_STR && !strcmp(by.s->s, "value"))
        at = 1;
    else
        jx_fail(J, a->at, "You can only sort by either \"key\" or \"value\"");
    if (v.kind != JX_DICT)
        jx_fail(J, a->at, "dictsort needs a mapping, not %s", jx_py_type(v));
    const size_t n = v.d->n;
    jx_val out = jx_list_new(J, n), *keys = jx_alloc(J, (n + 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        jx_val pair = jx_list_new(J, 2);
        pair.flags = JX_TUPLE;
        pair.l->v[0] = v.d->keys[i];
        pair.l->v[1] = v.d->vals[i];
        pair.l->n = 2;
        out.l->v[out.l->n++] = pair;
        keys[i] = lower_if_str(J, at ? v.d->vals[i] : v.d->keys[i], cs, a->at);
    }
    sort_by(J, out.l->v, keys, n, reverse, a->at);
    return out;
}

static jx_val f_escape(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "escape");
    return jx_escape(J, v, a->at);
}

static jx_val f_forceescape(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "forceescape");
    jx_val s = jx_to_str(J, v, a->at);
    s.flags = 0;
    return jx_escape(J, s, a->at);
}

static jx_val f_first(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "first");
    if (v.kind == JX_GEN) {
        if (v.gen->at < v.gen->l->n)
            return v.gen->l->v[v.gen->at++];
    } else {
        const jx_list *l = jx_iterate(J, v, a->at);
        if (l->n)
            return l->v[0];
    }
    return jx_undef(J, "No first item, sequence was empty.");
}

static jx_val f_last(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "last");
    if (v.kind == JX_GEN)
        jx_fail(J, a->at, "'generator' object is not reversible");
    const jx_list *l = jx_iterate(J, v, a->at);
    if (l->n)
        return l->v[l->n - 1];
    return jx_undef(J, "No last item, sequence was empty.");
}

/* Python's float(str) of a stripped string: underscores between digits,
 * inf/infinity/nan in any case; no hex. */
static bool py_float(const jx_string *s, double *out)
{
    const char *p = s->s, *e = s->s + s->len;
    char buf[128];
    size_t n = 0;
    const char *q = p;
    if (q < e && (*q == '+' || *q == '-'))
        buf[n++] = *q++;
    const size_t rest = (size_t)(e - q);
    static const char *const words[] = {"inf", "infinity", "nan"};
    for (int w = 0; w < 3; w++)
        if (rest == strlen(words[w]) && !strncasecmp(q, words[w], rest)) {
            memcpy(buf + n, words[w], rest);
            buf[n + rest] = 0;
            *out = strtod(buf, NULL);
            return true;
        }
    bool digits = false, prev_digit = false;
    for (; q < e && n < sizeof buf - 1; q++) {
        const char c = *q;
        if (c >= '0' && c <= '9') {
            digits = prev_digit = true;
            buf[n++] = c;
        } else if (c == '_' && prev_digit && q + 1 < e && q[1] >= '0' && q[1] <= '9') {
            prev_digit = false;
        } else if (c == '.' || c == 'e' || c == 'E' || ((c == '+' || c == '-') && n &&
                                                         (buf[n - 1] == 'e' || buf[n - 1] == 'E'))) {
            prev_digit = false;
            buf[n++] = c;
        } else {
            return false;
        }
    }
    if (!digits || q < e)
        return false;
    buf[n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0;
}

/* Python's int(str, base) of a stripped string: base 2 to 36 (a prefix
 * 0x, 0o or 0b as the base allows) or 0 (the prefix decides); underscores
 * between digits. */
static bool py_int(const jx_string *s, int64_t base, int64_t *out)
{
    const char *p = s->s, *e = s->s + s->len;
    bool neg = false;
    if (p < e && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (base != 0 && (base < 2 || base > 36))
        return false;
    const char c1 = e - p >= 2 && p[0] == '0' ? (char)(p[1] | 0x20) : 0;
    const int64_t pb = c1 == 'x' ? 16 : c1 == 'o' ? 8 : c1 == 'b' ? 2 : 0;
    bool prev_digit = false;
    if (pb && (base == 0 || base == pb)) {
        base = pb;
        p += 2;
        prev_digit = true; /* "0x_1f" is allowed */
    } else if (base == 0) {
        base = 10;
        if (e - p > 1 && p[0] == '0') /* no leading zeros but in zero */
            for (const char *z = p; z < e; z++)
                if (*z != '0' && *z != '_')
                    return false;
    }
    if (p == e)
        return false;
    uint64_t v = 0;
    bool any = false;
    for (; p < e; p++) {
        const char c = (char)(*p | 0x20);
        const int d = *p >= '0' && *p <= '9' ? *p - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
        if (d < base) {
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                return false;
            v = v * (uint64_t)base + (uint64_t)d;
            prev_digit = any = true;
        } else if (*p == '_' && prev_digit && p + 1 < e) {
            prev_digit = false;
        } else {
            return false;
        }
    }
    if (!any || !prev_digit || v > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static jx_val f_float(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"default", NULL}, "float");
    jx_need_defined(J, v, a->at);
    double f;
    if (jx_is_num(v))
        return jx_float(jx_num(v));
    if (v.kind == JX_STR && py_float(jx_str_strip(J, v, NONE, 0, a->at).s, &f))
        return jx_float(f);
    return jx_arg(a, 0, "default", jx_float(0));
}

static jx_val f_int(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"default", "base", NULL}, "int");
    jx_need_defined(J, v, a->at);
    const jx_val def = jx_arg(a, 0, "default", jx_int(0));
    const int64_t base = jx_index(J, jx_arg(a, 1, "base", jx_int(10)), a->at);
    if (v.kind == JX_INT || v.kind == JX_BOOL)
        return jx_int(v.kind == JX_BOOL ? v.b : v.i);
    double f;
    int64_t i;
    const jx_val t = v.kind == JX_STR ? jx_str_strip(J, v, NONE, 0, a->at) : v;
    if (v.kind == JX_STR && py_int(t.s, base, &i))
        return jx_int(i);
    if (v.kind == JX_FLOAT || (v.kind == JX_STR && py_float(t.s, &f))) {
        f = v.kind == JX_FLOAT ? v.f : f;
        if (isnan(f))
            return def;
        if (isinf(f))
            jx_fail(J, a->at, "cannot convert float infinity to integer");
        if (f >= 9223372036854775808.0 || f < -9223372036854775808.0)
            jx_fail(J, a->at, "integer overflow (heed's integers are 64-bit)");
        return jx_int((int64_t)f);
    }
    return def;
}

/* Python's str.splitlines line breaks. */
static bool line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
           c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static jx_val f_indent(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"width", "first", "blank", NULL}, "indent");
    const jx_val w = jx_arg(a, 0, "width", jx_int(4));
    const bool first = jx_truthy(jx_arg(a, 1, "first", jx_bool(false)));
    const bool blank = jx_truthy(jx_arg(a, 2, "blank", jx_bool(false)));
    jx_need_defined(J, v, a->at);
    if (v.kind != JX_STR)
        jx_fail(J, a->at, "unsupported operand type(s) for +=: '%s' and 'str'", jx_py_type(v));
    jx_buf ind = {0};
    jx_buf_put(J, &ind, "", 0);
    if (w.kind == JX_STR) {
        jx_buf_put(J, &ind, w.s->s, w.s->len);
    } else {
        const int64_t n = jx_index(J, w, a->at);
        if (n > 1 << 20)
            jx_fail(J, a->at, "indent width too large");
        for (int64_t i = 0; i < n; i++)
            jx_buf_put(J, &ind, " ", 1);
    }
    /* (s + "\n").splitlines(), then joined with the indent */
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    if (first)
        jx_buf_put(J, &b, ind.p, ind.len);
    const char *s = v.s->s;
    const size_t n = v.s->len;
    size_t start = 0, i = 0, line = 0;
    bool done = false;
    while (!done) {
        size_t end;
        if (i >= n) { /* the last line, empty after a final newline */
            end = n;
            done = true;
        } else {
            const size_t at = i;
            const uint32_t c = heed_utf8_decode(s, n, &i);
            if (!line_break(c))
                continue;
            if (c == '\r' && i < n && s[i] == '\n')
                i++;
            end = at;
        }
        if (line > 0) {
            jx_buf_put(J, &b, "\n", 1);
            if (blank || end > start)
                jx_buf_put(J, &b, ind.p, ind.len);
        }
        jx_buf_put(J, &b, s + start, end - start);
        line++;
        start = i;
    }
    jx_val r = jx_buf_str(J, &b);
    r.flags = v.flags & JX_MARKUP;
    return r;
}

static jx_val f_items(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "items");
    if (v.kind == JX_UNDEF)
        return jx_gen_new(J, jx_list_new(J, 0).l);
    if (v.kind != JX_DICT)
        jx_fail(J, a->at, "Can only get item pairs from a mapping.");
    jx_list *l = jx_list_new(J, v.d->n).l;
    for (size_t i = 0; i < v.d->n; i++) {
        jx_val pair = jx_list_new(J, 2);
        pair.flags = JX_TUPLE;
        pair.l->v[0] = v.d->keys[i];
        pair.l->v[1] = v.d->vals[i];
        pair.l->n = 2;
        l->v[l->n++] = pair;
    }
    return jx_gen_new(J, l);
}

static jx_val f_join(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"d", "attribute", NULL}, "join");
    const jx_val d = jx_to_str(J, jx_arg(a, 0, "d", jx_cstr(J, "")), a->at);
    const jx_val attr = jx_arg(a, 1, "attribute", NONE);
    const jx_list *l = jx_iterate(J, v, a->at);
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            jx_buf_put(J, &b, d.s->s, d.s->len);
        const jx_val item = attr.kind == JX_NONE ? l->v[i] : attr_path(J, l->v[i], attr, a->at);
        jx_to_buf(J, &b, item, false, a->at);
    }
    return jx_buf_str(J, &b);
}

static jx_val f_list(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "list");
    const jx_list *l = jx_iterate(J, v, a->at);
    jx_val r = jx_list_new(J, l->n);
    for (size_t i = 0; i < l->n; i++)
        r.l->v[r.l->n++] = l->v[i];
    return r;
}

static jx_val f_lower(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "lower");
    return jx_str_case(J, str_of(J, v, a->at), CASE_LOWER, a->at);
}

static jx_val f_upper(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "upper");
    return jx_str_case(J, str_of(J, v, a->at), CASE_UPPER, a->at);
}

/* Arguments from index `from` on, as a call's own. */
static jx_args rest_args(const jx_args *a, int from)
{
    jx_args r = *a;
    r.n = a->n > from ? a->n - from : 0;
    r.pos = r.n ? a->pos + from : NULL;
    return r;
}

static jx_val f_map(jx *J, jx_val v, const jx_args *a)
{
    jx_list *out = jx_list_new(J, 0).l;
    if (!jx_truthy(v))
        return jx_gen_new(J, out);
    const jx_list *items = jx_iterate(J, v, a->at);
    const jx_val attr = jx_arg(a, -1, "attribute", MISSING);
    if (!a->n && !(attr.kind == JX_UNDEF && attr.undef == MISSING.undef)) {
        jx_args_check(J, a, 0, (const char *const[]){"attribute", "default", NULL}, "map", a->at);
        const jx_val def = jx_arg(a, -1, "default", NONE);
        for (size_t i = 0; i < items->n; i++) {
            jx_val x = attr_path(J, items->v[i], attr, a->at);
            if (def.kind != JX_NONE && x.kind == JX_UNDEF)
                x = def;
            jx_list_push(J, out, x);
        }
        return jx_gen_new(J, out);
    }
    if (!a->n)
        jx_fail(J, a->at, "map requires a filter argument");
    if (a->pos[0].kind != JX_STR)
        jx_fail(J, a->at, "map's filter name must be a string");
    const jx_args fa = rest_args(a, 1);
    for (size_t i = 0; i < items->n; i++)
        jx_list_push(J, out, jx_filter(J, a->pos[0].s->s, items->v[i], &fa, a->at));
    return jx_gen_new(J, out);
}

static jx_val min_max(jx *J, jx_val v, const jx_args *a, bool max)
{
    params(J, a, (const char *const[]){"case_sensitive", "attribute", NULL}, max ? "max" : "min");
    const bool cs = jx_truthy(jx_arg(a, 0, "case_sensitive", jx_bool(false)));
    const jx_val attr = jx_arg(a, 1, "attribute", NONE);
    const jx_list *l = jx_iterate(J, v, a->at);
    if (!l->n)
        return jx_undef(J, "No aggregated item, sequence was empty.");
    size_t best = 0;
    jx_val bk = {0};
    for (size_t i = 0; i < l->n; i++) {
        jx_val k = attr.kind == JX_NONE ? l->v[i] : attr_path(J, l->v[i], attr, a->at);
        k = lower_if_str(J, k, cs, a->at);
        if (i == 0 || jx_order(J, max ? bk : k, max ? k : bk, 0, a->at)) {
            best = i;
            bk = k;
        }
    }
    return l->v[best];
}

static jx_val f_min(jx *J, jx_val v, const jx_args *a) { return min_max(J, v, a, false); }
static jx_val f_max(jx *J, jx_val v, const jx_args *a) { return min_max(J, v, a, true); }

/* select, reject, selectattr, rejectattr */
static jx_val select_items(jx *J, jx_val v, const jx_args *a, bool keep, bool by_attr)
{
    jx_list *out = jx_list_new(J, 0).l;
    if (!jx_truthy(v))
        return jx_gen_new(J, out);
    const jx_list *items = jx_iterate(J, v, a->at);
    const int off = by_attr ? 1 : 0;
    if (by_attr && a->n < 1)
        jx_fail(J, a->at, "Missing parameter for attribute name");
    const bool has_test = a->n > off;
    if (has_test && a->pos[off].kind != JX_STR)
        jx_fail(J, a->at, "a test's name must be a string");
    const jx_args ta = rest_args(a, off + 1);
    for (size_t i = 0; i < items->n; i++) {
        const jx_val x = by_attr ? attr_path(J, items->v[i], a->pos[0], a->at) : items->v[i];
        const bool t = has_test ? jx_test(J, a->pos[off].s->s, x, &ta, a->at) : jx_truthy(x);
        if (t == keep)
            jx_list_push(J, out, items->v[i]);
    }
    return jx_gen_new(J, out);
}

static jx_val f_select(jx *J, jx_val v, const jx_args *a) { return select_items(J, v, a, true, false); }
static jx_val f_reject(jx *J, jx_val v, const jx_args *a) { return select_items(J, v, a, false, false); }
static jx_val f_selectattr(jx *J, jx_val v, const jx_args *a) { return select_items(J, v, a, true, true); }
static jx_val f_rejectattr(jx *J, jx_val v, const jx_args *a) { return select_items(J, v, a, false, true); }

static jx_val f_replace(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"old", "new", "count", NULL}, "replace");
    const jx_val count = jx_arg(a, 2, "count", NONE);
    return jx_str_replace(J, jx_to_str(J, v, a->at), jx_to_str(J, required(J, a, 0, "old", "do_replace"), a->at),
                          jx_to_str(J, required(J, a, 1, "new", "do_replace"), a->at),
                          count.kind == JX_NONE ? -1 : jx_index(J, count, a->at), a->at);
}

static jx_val f_reverse(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "reverse");
    if (v.kind == JX_STR) {
        jx_val none = NONE;
        return jx_slice(J, v, none, none, jx_int(-1), a->at);
    }
    const jx_list *l = jx_iterate(J, v, a->at);
    jx_val r = jx_list_new(J, l->n);
    for (size_t i = l->n; i-- > 0;)
        r.l->v[r.l->n++] = l->v[i];
    return v.kind == JX_GEN ? r : jx_gen_new(J, r.l);
}

static jx_val f_round(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"precision", "method", NULL}, "round");
    const int64_t prec = jx_index(J, jx_arg(a, 0, "precision", jx_int(0)), a->at);
    const jx_val method = jx_arg(a, 1, "method", jx_cstr(J, "common"));
    if (method.kind != JX_STR ||
        (strcmp(method.s->s, "common") && strcmp(method.s->s, "ceil") && strcmp(method.s->s, "floor")))
        jx_fail(J, a->at, "method must be common, ceil or floor");
    jx_need_defined(J, v, a->at);
    if (!jx_is_num(v))
        jx_fail(J, a->at, "type %s doesn't define __round__ method", jx_py_type(v));
    if (prec < -300 || prec > 300)
        jx_fail(J, a->at, "round() precision out of range");
    if (strcmp(method.s->s, "common")) {
        const double p = pow(10, (double)prec);
        const double x = jx_num(v) * p;
        return jx_float((method.s->s[0] == 'c' ? ceil(x) : floor(x)) / p);
    }
    if (v.kind != JX_FLOAT) { /* round(int, n) stays an int */
        const int64_t i = v.kind == JX_BOOL ? v.b : v.i;
        if (prec >= 0)
            return jx_int(i);
        int64_t p = 1;
        for (int64_t k = 0; k < -prec && p <= INT64_MAX / 10; k++)
            p *= 10;
        int64_t q = i / p, r = i % p;
        if (r < 0) {
            q--;
            r += p;
        }
        if (2 * r > p || (2 * r == p && (q & 1)))
            q++;
        return jx_int(q * p);
    }
    /* correctly rounded, half to even on the exact value, as Python */
    if (!isfinite(v.f) || prec > 300)
        return v;
    char buf[400];
    if (prec >= 0) {
        snprintf(buf, sizeof buf, "%.*f", (int)prec, v.f);
        return jx_float(strtod(buf, NULL));
    }
    const double p = pow(10, (double)-prec);
    double q = v.f / p, fl = floor(q);
    double r = q - fl;
    if (r > 0.5 || (r == 0.5 && fmod(fl, 2) != 0))
        fl += 1;
    return jx_float(fl * p);
}

static jx_val f_safe(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "safe");
    jx_val s = jx_to_str(J, v, a->at);
    if (s.s == v.s && v.kind == JX_STR && !(v.flags & JX_MARKUP))
        s = jx_str(J, v.s->s, v.s->len);
    s.flags = JX_MARKUP;
    return s;
}

static jx_val f_slice(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"slices", "fill_with", NULL}, "slice");
    const int64_t slices = jx_index(J, required(J, a, 0, "slices", "do_slice"), a->at);
    const jx_val fill = jx_arg(a, 1, "fill_with", NONE);
    const jx_list *seq = jx_iterate(J, v, a->at);
    if (slices <= 0)
        jx_fail(J, a->at, "integer division or modulo by zero");
    const int64_t n = (int64_t)seq->n, per = n / slices, extra = n % slices;
    jx_list *out = jx_list_new(J, 0).l;
    int64_t offset = 0;
    for (int64_t s = 0; s < slices; s++) {
        jx_step(J, a->at);
        const int64_t start = offset + s * per;
        if (s < extra)
            offset++;
        const int64_t end = offset + (s + 1) * per;
        jx_val tmp = jx_list_new(J, 0);
        for (int64_t i = start; i < end; i++)
            jx_list_push(J, tmp.l, seq->v[i]);
        if (fill.kind != JX_NONE && s >= extra)
            jx_list_push(J, tmp.l, fill);
        jx_list_push(J, out, tmp);
    }
    return jx_gen_new(J, out);
}

static jx_val f_sort(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"reverse", "case_sensitive", "attribute", NULL}, "sort");
    /* sorted() takes reverse as an integer */
    const bool reverse = jx_index(J, jx_arg(a, 0, "reverse", jx_bool(false)), a->at) != 0;
    const bool cs = jx_truthy(jx_arg(a, 1, "case_sensitive", jx_bool(false)));
    const jx_val attr = jx_arg(a, 2, "attribute", NONE);
    const jx_list *l = jx_iterate(J, v, a->at);
    jx_val out = jx_list_new(J, l->n);
    jx_val *keys = jx_alloc(J, (l->n + 1) * sizeof *keys);
    /* make_multi_attrgetter: the key is a list, one value per
     * comma-separated attribute */
    jx_list *attrs = jx_list_new(J, 0).l;
    if (attr.kind == JX_STR) {
        const char *s = attr.s->s;
        for (;;) {
            const char *c = strchr(s, ',');
            jx_list_push(J, attrs, jx_str(J, s, c ? (size_t)(c - s) : strlen(s)));
            if (!c)
                break;
            s = c + 1;
        }
    } else if (attr.kind != JX_NONE) {
        jx_list_push(J, attrs, attr);
    }
    for (size_t i = 0; i < l->n; i++) {
        out.l->v[out.l->n++] = l->v[i];
        jx_val k = jx_list_new(J, attrs->n ? attrs->n : 1);
        if (!attrs->n)
            k.l->v[k.l->n++] = lower_if_str(J, l->v[i], cs, a->at);
        for (size_t p = 0; p < attrs->n; p++)
            k.l->v[k.l->n++] = lower_if_str(J, attr_path(J, l->v[i], attrs->v[p], a->at), cs, a->at);
        keys[i] = k;
    }
    sort_by(J, out.l->v, keys, l->n, reverse, a->at);
    return out;
}

static jx_val f_string(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "string");
    return str_of(J, v, a->at);
}

static jx_val f_sum(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"attribute", "start", NULL}, "sum");
    const jx_val attr = jx_arg(a, 0, "attribute", NONE);
    jx_val total = jx_arg(a, 1, "start", jx_int(0));
    const jx_list *l = jx_iterate(J, v, a->at);
    if (total.kind == JX_STR)
        jx_fail(J, a->at, "sum() can't sum strings [use ''.join(seq) instead]");
    for (size_t i = 0; i < l->n; i++)
        total = jx_binop(J, OP_ADD, total, attr.kind == JX_NONE ? l->v[i] : attr_path(J, l->v[i], attr, a->at),
                    a->at);
    return total;
}

/* jinja2's title: words start after any of -, white space, (, {, [, <. */
static jx_val f_title(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "title");
    const jx_val s = str_of(J, v, a->at);
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    size_t i = 0;
    bool start = true;
    while (i < s.s->len) {
        const uint32_t c = heed_utf8_decode(s.s->s, s.s->len, &i);
        const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || jx_py_space(c);
        const uint32_t m = sep ? c
                         : start ? (uint32_t)utf8proc_toupper((utf8proc_int32_t)c)
                                 : (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        start = sep;
        char u[4];
        jx_buf_put(J, &b, u, heed_utf8_encode(m, u));
    }
    jx_val r = jx_buf_str(J, &b);
    r.flags = s.flags;
    return r;
}

static jx_val f_tojson(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"ensure_ascii", "indent", "separators", "sort_keys", NULL},
           "tojson");
    const jx_val indent = jx_arg(a, 1, "indent", NONE), seps = jx_arg(a, 2, "separators", NONE);
    jx_json_opts o = {
        .ensure_ascii = jx_truthy(jx_arg(a, 0, "ensure_ascii", jx_bool(false))),
        .sort_keys = jx_truthy(jx_arg(a, 3, "sort_keys", jx_bool(false))),
    };
    if (indent.kind == JX_STR) {
        o.indent = indent.s->s;
    } else if (indent.kind != JX_NONE) {
        const int64_t n = jx_index(J, indent, a->at);
        char *sp = jx_alloc(J, (size_t)(n > 0 ? n : 0) + 1);
        if (n > 1 << 16)
            jx_fail(J, a->at, "tojson indent too large");
        memset(sp, ' ', (size_t)(n > 0 ? n : 0));
        sp[n > 0 ? n : 0] = 0;
        o.indent = sp;
    }
    o.item_sep = o.indent ? "," : ", ";
    o.key_sep = ": ";
    if (seps.kind != JX_NONE) {
        if (seps.kind != JX_LIST || seps.l->n != 2 || seps.l->v[0].kind != JX_STR ||
            seps.l->v[1].kind != JX_STR)
            jx_fail(J, a->at, "tojson separators must be two strings");
        o.item_sep = seps.l->v[0].s->s;
        o.key_sep = seps.l->v[1].s->s;
    }
    return jx_json_dump(J, v, &o, a->at);
}

static jx_val f_trim(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"chars", NULL}, "trim");
    return jx_str_strip(J, str_of(J, v, a->at), jx_arg(a, 0, "chars", NONE), 0, a->at);
}

static jx_val f_truncate(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"length", "killwords", "end", "leeway", NULL}, "truncate");
    const int64_t len = jx_index(J, jx_arg(a, 0, "length", jx_int(255)), a->at);
    const bool kill = jx_truthy(jx_arg(a, 1, "killwords", jx_bool(false)));
    const jx_val end = jx_arg(a, 2, "end", jx_cstr(J, "..."));
    const jx_val lw = jx_arg(a, 3, "leeway", NONE);
    const int64_t leeway = lw.kind == JX_NONE ? 5 : jx_index(J, lw, a->at);
    if (v.kind != JX_STR || end.kind != JX_STR)
        jx_fail(J, a->at, "truncate needs strings");
    const int64_t nend = (int64_t)jx_utf8_len(end.s->s, end.s->len);
    if (len < nend)
        jx_fail(J, a->at, "expected length >= %lld, got %lld", (long long)nend, (long long)len);
    if (leeway < 0)
        jx_fail(J, a->at, "expected leeway >= 0, got %lld", (long long)leeway);
    const int64_t n = (int64_t)jx_utf8_len(v.s->s, v.s->len);
    if (n <= len + leeway)
        return v;
    const size_t cut = jx_utf8_off(v.s->s, v.s->len, (size_t)(len - nend));
    size_t keep = cut;
    if (!kill) { /* up to the last space */
        const char *sp = NULL;
        for (size_t i = 0; i < cut; i++)
            if (v.s->s[i] == ' ')
                sp = v.s->s + i;
        if (sp)
            keep = (size_t)(sp - v.s->s);
    }
    jx_buf b = {0};
    jx_buf_put(J, &b, v.s->s, keep);
    jx_buf_put(J, &b, end.s->s, end.s->len);
    return jx_buf_str(J, &b);
}

static jx_val f_unique(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){"case_sensitive", "attribute", NULL}, "unique");
    const bool cs = jx_truthy(jx_arg(a, 0, "case_sensitive", jx_bool(false)));
    const jx_val attr = jx_arg(a, 1, "attribute", NONE);
    const jx_list *l = jx_iterate(J, v, a->at);
    jx_val seen = jx_dict_new(J);
    jx_list *out = jx_list_new(J, 0).l;
    for (size_t i = 0; i < l->n; i++) {
        jx_val k = attr.kind == JX_NONE ? l->v[i] : attr_path(J, l->v[i], attr, a->at);
        k = lower_if_str(J, k, cs, a->at);
        if (!jx_dict_get(J, seen.d, k, a->at)) {
            jx_dict_set(J, seen.d, k, jx_none(), a->at);
            jx_list_push(J, out, l->v[i]);
        }
    }
    return jx_gen_new(J, out);
}

static jx_val f_wordcount(jx *J, jx_val v, const jx_args *a)
{
    params(J, a, (const char *const[]){NULL}, "wordcount");
    const jx_val s = jx_to_str(J, v, a->at);
    int64_t n = 0;
    bool in = false;
    size_t i = 0;
    while (i < s.s->len) {
        const uint32_t c = heed_utf8_decode(s.s->s, s.s->len, &i);
        const int k = utf8proc_category((utf8proc_int32_t)c);
        const bool w = c == '_' || (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
                       (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
        n += w && !in;
        in = w;
    }
    return jx_int(n);
}

static jx_val f_unsupported(jx *J, jx_val v, const jx_args *a)
{
    (void)v;
    jx_fail(J, a->at, "heed does not implement this filter (chat templates do not use it)");
}

typedef struct filter {
    const char *name;
    filter_fn fn;
} filter;

static const filter filters[] = {
    {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"capitalize", f_capitalize},
    {"center", f_center}, {"count", f_length}, {"d", f_default}, {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape}, {"escape", f_escape},
    {"filesizeformat", f_unsupported}, {"first", f_first}, {"float", f_float},
    {"forceescape", f_forceescape}, {"format", f_unsupported}, {"groupby", f_unsupported},
    {"indent", f_indent}, {"int", f_int}, {"join", f_join}, {"last", f_last},
    {"length", f_length}, {"list", f_list}, {"lower", f_lower}, {"items", f_items},
    {"map", f_map}, {"min", f_min}, {"max", f_max}, {"pprint", f_unsupported},
    {"random", f_unsupported}, {"reject", f_reject}, {"rejectattr", f_rejectattr},
    {"replace", f_replace}, {"reverse", f_reverse}, {"round", f_round}, {"safe", f_safe},
    {"select", f_select}, {"selectattr", f_selectattr}, {"slice", f_slice}, {"sort", f_sort},
    {"string", f_string}, {"striptags", f_unsupported}, {"sum", f_sum}, {"title", f_title},
    {"trim", f_trim}, {"truncate", f_truncate}, {"unique", f_unique}, {"upper", f_upper},
    {"urlencode", f_unsupported}, {"urlize", f_unsupported}, {"wordcount", f_wordcount},
    {"wordwrap", f_unsupported}, {"xmlattr", f_unsupported}, {"tojson", f_tojson},
};

static const filter *find_filter(const char *name)
{
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++)
        if (!strcmp(filters[i].name, name))
            return &filters[i];
    return NULL;
}

bool jx_filter_exists(const char *name) { return find_filter(name) != NULL; }

jx_val jx_filter(jx *J, const char *name, jx_val v, const jx_args *a, size_t pos)
{
    const filter *f = find_filter(name);
    if (!f)
        jx_fail(J, pos, "No filter named '%s'.", name);
    jx_args at = *a;
    at.at = pos;
    return f->fn(J, v, &at);
}

/* --------------------------------------------------------------- tests */

/* Python's `v % m == want`. */
static bool remainder_is(jx *J, jx_val v, jx_val m, int want, size_t pos)
{
    return jx_eq(J, jx_binop(J, OP_MOD, v, m, pos), jx_int(want));
}

/* Python's str.islower / isupper of str(v). */
static bool all_case(jx *J, jx_val v, bool upper, size_t pos)
{
    const jx_val s = jx_to_str(J, v, pos);
    bool any = false;
    size_t i = 0;
    while (i < s.s->len) {
        const uint32_t c = heed_utf8_decode(s.s->s, s.s->len, &i);
        const int k = utf8proc_category((utf8proc_int32_t)c);
        if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT) {
            if (!upper)
                return false;
            any = true;
        } else if (k == UTF8PROC_CATEGORY_LL) {
            if (upper)
                return false;
            any = true;
        }
    }
    return any;
}

/* Python's `is`, as far as values can tell: the same object for
 * containers, equal for None, bools and small ints. */
static bool same(jx_val x, jx_val y)
{
    if (x.kind != y.kind)
        return false;
    switch (x.kind) {
    case JX_NONE: return true;
    case JX_BOOL: return x.b == y.b;
    case JX_INT: return x.i == y.i && x.i >= -5 && x.i <= 256;
    case JX_STR: return x.s == y.s;
    case JX_LIST: return x.l == y.l;
    case JX_DICT:
    case JX_NS: return x.d == y.d;
    case JX_FUNC: return x.fn == y.fn;
    case JX_LOOP: return x.loop == y.loop;
    case JX_GEN: return x.gen == y.gen;
    default: return false;
    }
}

static const char *const test_names[] = {
    "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean",
    "false", "true", "integer", "float", "lower", "upper", "string", "mapping", "number",
    "sequence", "iterable", "callable", "sameas", "escaped", "in", "==", "eq", "equalto", "!=",
    "ne", ">", "gt", "greaterthan", "ge", ">=", "<", "lt", "lessthan", "<=", "le", NULL,
};

bool jx_test_exists(const char *name)
{
    for (int i = 0; test_names[i]; i++)
        if (!strcmp(test_names[i], name))
            return true;
    return false;
}

bool jx_test(jx *J, const char *name, jx_val v, const jx_args *a, size_t pos)
{
    if (!jx_test_exists(name))
        jx_fail(J, pos, "No test named '%s'.", name);
    const jx_val x = jx_arg(a, 0, NULL, MISSING);
    const bool one = a->n == 1 && !a->nk;
    const char *n = name;
    int arity = !strcmp(n, "divisibleby") || !strcmp(n, "sameas") || !strcmp(n, "in") ||
                !strcmp(n, "==") || !strcmp(n, "eq") || !strcmp(n, "equalto") || !strcmp(n, "!=") ||
                !strcmp(n, "ne") || !strcmp(n, ">") || !strcmp(n, "gt") || !strcmp(n, "greaterthan") ||
                !strcmp(n, "ge") || !strcmp(n, ">=") || !strcmp(n, "<") || !strcmp(n, "lt") ||
                !strcmp(n, "lessthan") || !strcmp(n, "<=") || !strcmp(n, "le");
    if (arity ? !one : (a->n || a->nk))
        jx_fail(J, pos, "the test '%s' takes %s argument%s", name, arity ? "one" : "no",
                arity ? "" : "s");
    if (!strcmp(n, "odd"))
        return remainder_is(J, v, jx_int(2), 1, pos);
    if (!strcmp(n, "even"))
        return remainder_is(J, v, jx_int(2), 0, pos);
    if (!strcmp(n, "divisibleby"))
        return remainder_is(J, v, x, 0, pos);
    if (!strcmp(n, "defined"))
        return v.kind != JX_UNDEF;
    if (!strcmp(n, "undefined"))
        return v.kind == JX_UNDEF;
    if (!strcmp(n, "filter") || !strcmp(n, "test")) { /* `v in env.filters` */
        if (!jx_hashable(v))
            jx_fail(J, pos, "unhashable type: '%s'", jx_py_type(v));
        return v.kind == JX_STR && (n[0] == 'f' ? jx_filter_exists(v.s->s) : jx_test_exists(v.s->s));
    }
    if (!strcmp(n, "none"))
        return v.kind == JX_NONE;
    if (!strcmp(n, "boolean"))
        return v.kind == JX_BOOL;
    if (!strcmp(n, "false"))
        return v.kind == JX_BOOL && !v.b;
    if (!strcmp(n, "true"))
        return v.kind == JX_BOOL && v.b;
    if (!strcmp(n, "integer"))
        return v.kind == JX_INT;
    if (!strcmp(n, "float"))
        return v.kind == JX_FLOAT;
    if (!strcmp(n, "lower") || !strcmp(n, "upper"))
        return all_case(J, v, n[0] == 'u', pos);
    if (!strcmp(n, "string"))
        return v.kind == JX_STR;
    if (!strcmp(n, "mapping"))
        return v.kind == JX_DICT;
    if (!strcmp(n, "number"))
        return jx_is_num(v);
    if (!strcmp(n, "sequence"))
        return v.kind == JX_STR || v.kind == JX_LIST || v.kind == JX_DICT || v.kind == JX_UNDEF;
    if (!strcmp(n, "iterable"))
        return v.kind == JX_STR || v.kind == JX_LIST || v.kind == JX_DICT || v.kind == JX_UNDEF ||
               v.kind == JX_GEN || v.kind == JX_LOOP;
    if (!strcmp(n, "callable"))
        return v.kind == JX_FUNC || v.kind == JX_LOOP || v.kind == JX_UNDEF;
    if (!strcmp(n, "sameas"))
        return same(v, x);
    if (!strcmp(n, "escaped"))
        return v.kind == JX_STR && (v.flags & JX_MARKUP);
    if (!strcmp(n, "in"))
        return jx_contains(J, x, v, pos);
    if (!strcmp(n, "==") || !strcmp(n, "eq") || !strcmp(n, "equalto"))
        return jx_eq(J, v, x);
    if (!strcmp(n, "!=") || !strcmp(n, "ne"))
        return !jx_eq(J, v, x);
    if (!strcmp(n, "<") || !strcmp(n, "lt") || !strcmp(n, "lessthan"))
        return jx_order(J, v, x, 0, pos);
    if (!strcmp(n, "<=") || !strcmp(n, "le"))
        return jx_order(J, v, x, 1, pos);
    if (!strcmp(n, ">") || !strcmp(n, "gt") || !strcmp(n, "greaterthan"))
        return jx_order(J, v, x, 2, pos);
    return jx_order(J, v, x, 3, pos);
}
