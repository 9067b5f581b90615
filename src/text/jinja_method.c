/* jinja_method.c — `obj.name` and `obj[key]` as jinja2's sandboxed
 * environment resolves them (dotted: Python attribute first, then item;
 * subscripted: item first, then attribute), slicing, and the methods of
 * str, list and dict that templates call. Methods that change a list or
 * dict are refused as ImmutableSandboxedEnvironment refuses them (Debian's
 * jinja2 3.1.2 lets pop and clear through, and so does heed). */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "text/jinja.h"
#include "text/unicode.h"

typedef struct method {
    const char *name;
    jx_builtin fn; /* NULL: refused as unsafe */
} method;

static jx_val undefined_attr(jx *J, jx_val obj, const char *name)
{
    return jx_undef(J, "'%s' has no attribute '%s'", jx_type_name(obj), name);
}

/* ------------------------------------------------------------- helpers */

static const jx_string *str_arg(jx *J, const jx_args *a, int i, const char *name, size_t pos)
{
    const jx_val v = jx_arg(a, i, name, (jx_val){.kind = JX_UNDEF});
    if (v.kind != JX_STR)
        jx_fail(J, pos, "argument %d must be str, not %s", i + 1, jx_py_type(v));
    return v.s;
}

/* Python's slice index rules for [start:end] over n code points. */
static void bounds(jx *J, const jx_args *a, int first, size_t n, size_t *lo, size_t *hi)
{
    int64_t s = 0, e = (int64_t)n;
    const jx_val vs = jx_arg(a, first, NULL, jx_none()), ve = jx_arg(a, first + 1, NULL, jx_none());
    if (vs.kind != JX_NONE)
        s = jx_index(J, vs, a->at);
    if (ve.kind != JX_NONE)
        e = jx_index(J, ve, a->at);
    if (s < 0)
        s = s + (int64_t)n < 0 ? 0 : s + (int64_t)n;
    if (e < 0)
        e = e + (int64_t)n < 0 ? 0 : e + (int64_t)n;
    *lo = s > (int64_t)n ? n : (size_t)s;
    *hi = e > (int64_t)n ? n : (size_t)e;
}

static jx_val keep_markup(jx_val r, jx_val self)
{
    r.flags = self.flags & JX_MARKUP;
    return r;
}

/* ---------------------------------------------------------- str methods */

/* Byte offset of code point i in s. */
static size_t off(const jx_string *s, size_t i) { return jx_utf8_off(s->s, s->len, i); }

static jx_val str_affix(jx *J, jx_val self, const jx_args *a, bool end)
{
    jx_args_check(J, a, 3, NULL, end ? "endswith" : "startswith", a->at);
    const jx_val what = jx_arg(a, 0, NULL, (jx_val){.kind = JX_UNDEF});
    size_t lo, hi;
    bounds(J, a, 1, jx_utf8_len(self.s->s, self.s->len), &lo, &hi);
    const size_t bl = off(self.s, lo), bh = off(self.s, hi);
    const jx_val *opts = &what;
    size_t nopt = 1;
    if (what.kind == JX_LIST && (what.flags & JX_TUPLE)) {
        opts = what.l->v;
        nopt = what.l->n;
    }
    for (size_t k = 0; k < nopt; k++) {
        if (opts[k].kind != JX_STR)
            jx_fail(J, a->at, "%s first arg must be str or a tuple of str, not %s",
                    end ? "endswith" : "startswith", jx_py_type(opts[k]));
        const jx_string *p = opts[k].s;
        if (bh < bl || p->len > bh - bl)
            continue;
        if (!memcmp(self.s->s + (end ? bh - p->len : bl), p->s, p->len))
            return jx_bool(true);
    }
    return jx_bool(false);
}

static jx_val m_startswith(jx *J, jx_val self, const jx_args *a) { return str_affix(J, self, a, false); }
static jx_val m_endswith(jx *J, jx_val self, const jx_args *a) { return str_affix(J, self, a, true); }

/* Whether code point c is in chars (NULL: Python white space). */
static bool in_set(uint32_t c, const jx_string *chars)
{
    if (!chars)
        return jx_py_space(c);
    size_t i = 0;
    while (i < chars->len)
        if (heed_utf8_decode(chars->s, chars->len, &i) == c)
            return true;
    return false;
}

jx_val jx_str_strip(jx *J, jx_val s, jx_val chars, int which, size_t pos)
{
    if (chars.kind != JX_NONE && chars.kind != JX_STR)
        jx_fail(J, pos, "strip arg must be None or str");
    const jx_string *set = chars.kind == JX_STR ? chars.s : NULL;
    size_t lo = 0, hi = s.s->len;
    if (which <= 0) /* left */
        while (lo < hi) {
            size_t i = lo;
            if (!in_set(heed_utf8_decode(s.s->s, hi, &i), set))
                break;
            lo = i;
        }
    if (which >= 0) { /* right */
        size_t end = lo, i = lo;
        while (i < hi) {
            if (!in_set(heed_utf8_decode(s.s->s, hi, &i), set))
                end = i;
        }
        hi = end;
    }
    return keep_markup(jx_str(J, s.s->s + lo, hi - lo), s);
}

static jx_val strip_n(jx *J, jx_val self, const jx_args *a, int which)
{
    jx_args_check(J, a, 1, NULL, "strip", a->at);
    return jx_str_strip(J, self, jx_arg(a, 0, NULL, jx_none()), which, a->at);
}

static jx_val m_strip(jx *J, jx_val self, const jx_args *a) { return strip_n(J, self, a, 0); }
static jx_val m_lstrip(jx *J, jx_val self, const jx_args *a) { return strip_n(J, self, a, -1); }
static jx_val m_rstrip(jx *J, jx_val self, const jx_args *a) { return strip_n(J, self, a, 1); }

static bool cased(uint32_t c)
{
    const int k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

static void put_cp(jx *J, jx_buf *b, uint32_t c)
{
    char u[4];
    jx_buf_put(J, b, u, heed_utf8_encode(c, u));
}

jx_val jx_str_case(jx *J, jx_val s, int how, size_t pos)
{
    (void)pos;
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    size_t i = 0;
    bool prev_cased = false, first = true;
    while (i < s.s->len) {
        const utf8proc_int32_t c = (utf8proc_int32_t)heed_utf8_decode(s.s->s, s.s->len, &i);
        utf8proc_int32_t m = c;
        switch (how) {
        case CASE_LOWER: m = utf8proc_tolower(c); break;
        case CASE_UPPER: m = utf8proc_toupper(c); break;
        case CASE_TITLE:
            m = prev_cased ? utf8proc_tolower(c) : utf8proc_totitle(c);
            prev_cased = cased((uint32_t)c);
            break;
        default: m = first ? utf8proc_totitle(c) : utf8proc_tolower(c); break;
        }
        first = false;
        put_cp(J, &b, (uint32_t)m);
    }
    return keep_markup(jx_buf_str(J, &b), s);
}

static jx_val m_upper(jx *J, jx_val self, const jx_args *a) { return jx_str_case(J, self, CASE_UPPER, a->at); }
static jx_val m_lower(jx *J, jx_val self, const jx_args *a) { return jx_str_case(J, self, CASE_LOWER, a->at); }
static jx_val m_title(jx *J, jx_val self, const jx_args *a) { return jx_str_case(J, self, CASE_TITLE, a->at); }
static jx_val m_capitalize(jx *J, jx_val self, const jx_args *a)
{
    return jx_str_case(J, self, CASE_CAPITALIZE, a->at);
}

jx_val jx_str_replace(jx *J, jx_val s, jx_val old, jx_val new_, int64_t count, size_t pos)
{
    if (old.kind != JX_STR || new_.kind != JX_STR)
        jx_fail(J, pos, "replace() arguments must be str");
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    const char *p = s.s->s, *end = s.s->s + s.s->len;
    if (!old.s->len) { /* between every character, as Python does */
        size_t i = 0;
        while (count != 0) {
            jx_buf_put(J, &b, new_.s->s, new_.s->len);
            count--;
            if (i >= s.s->len)
                break;
            const size_t at = i;
            heed_utf8_decode(s.s->s, s.s->len, &i);
            jx_buf_put(J, &b, s.s->s + at, i - at);
        }
        if (i < s.s->len)
            jx_buf_put(J, &b, s.s->s + i, s.s->len - i);
        return jx_buf_str(J, &b);
    }
    while (count != 0) {
        const char *q = memmem(p, (size_t)(end - p), old.s->s, old.s->len);
        if (!q)
            break;
        jx_buf_put(J, &b, p, (size_t)(q - p));
        jx_buf_put(J, &b, new_.s->s, new_.s->len);
        p = q + old.s->len;
        count--;
    }
    jx_buf_put(J, &b, p, (size_t)(end - p));
    return jx_buf_str(J, &b);
}

static jx_val m_replace(jx *J, jx_val self, const jx_args *a)
{
    static const char *const names[] = {"count", NULL};
    jx_args_check(J, a, 3, names, "replace", a->at);
    const jx_val c = jx_arg(a, 2, "count", jx_int(-1));
    return keep_markup(jx_str_replace(J, self, jx_arg(a, 0, NULL, jx_none()),
                                      jx_arg(a, 1, NULL, jx_none()), jx_index(J, c, a->at), a->at),
                       self);
}

/* split / rsplit: by sep, or by runs of white space when sep is None. */
static jx_val split(jx *J, jx_val self, const jx_args *a, bool from_right)
{
    static const char *const names[] = {"sep", "maxsplit", NULL};
    jx_args_check(J, a, 2, names, from_right ? "rsplit" : "split", a->at);
    const jx_val sep = jx_arg(a, 0, "sep", jx_none());
    int64_t max = jx_index(J, jx_arg(a, 1, "maxsplit", jx_int(-1)), a->at);
    if (sep.kind != JX_NONE && sep.kind != JX_STR)
        jx_fail(J, a->at, "must be str or None, not %s", jx_py_type(sep));
    if (sep.kind == JX_STR && !sep.s->len)
        jx_fail(J, a->at, "empty separator");
    jx_val out = jx_list_new(J, 0);
    const char *s = self.s->s;
    const size_t n = self.s->len;
    /* collect [start, end) pieces, left to right or right to left */
    typedef struct { size_t a, b; } piece;
    piece *ps = jx_alloc(J, (n + 2) * sizeof *ps);
    size_t np = 0;
    if (sep.kind == JX_STR) {
        const size_t m = sep.s->len;
        if (!from_right) {
            size_t p = 0;
            while (max != 0) {
                const char *q = memmem(s + p, n - p, sep.s->s, m);
                if (!q)
                    break;
                ps[np++] = (piece){p, (size_t)(q - s)};
                p = (size_t)(q - s) + m;
                max--;
            }
            ps[np++] = (piece){p, n};
        } else {
            size_t e = n;
            while (max != 0 && e >= m) {
                size_t q = e - m + 1;
                bool found = false;
                while (q-- > 0)
                    if (!memcmp(s + q, sep.s->s, m)) {
                        found = true;
                        break;
                    }
                if (!found)
                    break;
                ps[np++] = (piece){q + m, e};
                e = q;
                max--;
            }
            ps[np++] = (piece){0, e};
        }
    } else {
        /* white space runs; maxsplit counts splits, the rest keeps its
         * inner white space */
        size_t cps = jx_utf8_len(s, n);
        size_t *offs = jx_alloc(J, (cps + 1) * sizeof *offs);
        bool *sp = jx_alloc(J, cps + 1);
        size_t i = 0, k = 0;
        while (i < n) {
            offs[k] = i;
            sp[k++] = jx_py_space(heed_utf8_decode(s, n, &i));
        }
        offs[k] = n;
        if (!from_right) {
            size_t p = 0;
            while (p < k) {
                while (p < k && sp[p])
                    p++;
                if (p == k)
                    break;
                if (max == 0) { /* the rest, trailing white space kept */
                    ps[np++] = (piece){offs[p], offs[k]};
                    break;
                }
                size_t q = p;
                while (q < k && !sp[q])
                    q++;
                ps[np++] = (piece){offs[p], offs[q]};
                p = q;
                max--;
            }
        } else {
            size_t e = k;
            while (e > 0) {
                while (e > 0 && sp[e - 1])
                    e--;
                if (e == 0)
                    break;
                if (max == 0) { /* the rest, leading white space kept */
                    ps[np++] = (piece){offs[0], offs[e]};
                    break;
                }
                size_t q = e;
                while (q > 0 && !sp[q - 1])
                    q--;
                ps[np++] = (piece){offs[q], offs[e]};
                e = q;
                max--;
            }
        }
    }
    for (size_t k = 0; k < np; k++) {
        const piece p = ps[from_right ? np - 1 - k : k];
        jx_list_push(J, out.l, keep_markup(jx_str(J, s + p.a, p.b - p.a), self));
    }
    return out;
}

static jx_val m_split(jx *J, jx_val self, const jx_args *a) { return split(J, self, a, false); }
static jx_val m_rsplit(jx *J, jx_val self, const jx_args *a) { return split(J, self, a, true); }

/* find, rfind, index, rindex, count over [start, end). */
static jx_val search(jx *J, jx_val self, const jx_args *a, int how)
{
    static const char *const what[] = {"find", "rfind", "index", "rindex", "count"};
    jx_args_check(J, a, 3, NULL, what[how], a->at);
    const jx_string *sub = str_arg(J, a, 0, NULL, a->at);
    const size_t n = jx_utf8_len(self.s->s, self.s->len);
    size_t lo, hi;
    bounds(J, a, 1, n, &lo, &hi);
    if (how == 4) {
        if (lo > hi)
            return jx_int(0);
        if (!sub->len)
            return jx_int((int64_t)(hi - lo + 1));
        int64_t c = 0;
        size_t p = off(self.s, lo);
        const size_t e = off(self.s, hi);
        const char *q;
        while (p <= e && (q = memmem(self.s->s + p, e - p, sub->s, sub->len))) {
            c++;
            p = (size_t)(q - self.s->s) + sub->len;
        }
        return jx_int(c);
    }
    int64_t found = -1;
    if (lo <= hi) {
        const size_t bl = off(self.s, lo), bh = off(self.s, hi);
        if (sub->len <= bh - bl) {
            if (how == 0 || how == 2) {
                const char *q = memmem(self.s->s + bl, bh - bl, sub->s, sub->len);
                if (q)
                    found = (int64_t)jx_utf8_len(self.s->s, (size_t)(q - self.s->s));
            } else {
                for (size_t p = bh - sub->len + 1; p-- > bl;)
                    if (((unsigned char)self.s->s[p] & 0xc0) != 0x80 &&
                        !memcmp(self.s->s + p, sub->s, sub->len)) {
                        found = (int64_t)jx_utf8_len(self.s->s, p);
                        break;
                    }
            }
        }
    }
    if (found < 0 && how >= 2)
        jx_fail(J, a->at, "substring not found");
    return jx_int(found);
}

static jx_val m_find(jx *J, jx_val self, const jx_args *a) { return search(J, self, a, 0); }
static jx_val m_rfind(jx *J, jx_val self, const jx_args *a) { return search(J, self, a, 1); }
static jx_val m_sindex(jx *J, jx_val self, const jx_args *a) { return search(J, self, a, 2); }
static jx_val m_rindex(jx *J, jx_val self, const jx_args *a) { return search(J, self, a, 3); }
static jx_val m_scount(jx *J, jx_val self, const jx_args *a) { return search(J, self, a, 4); }

static jx_val m_join(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 1, NULL, "join", a->at);
    const jx_list *l = jx_iterate(J, jx_arg(a, 0, NULL, jx_none()), a->at);
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].kind != JX_STR)
            jx_fail(J, a->at, "sequence item %zu: expected str instance, %s found", i,
                    jx_py_type(l->v[i]));
        if (i)
            jx_buf_put(J, &b, self.s->s, self.s->len);
        jx_buf_put(J, &b, l->v[i].s->s, l->v[i].s->len);
    }
    return jx_buf_str(J, &b);
}

/* isdigit, isalpha, ...: every code point passes, and there is one. */
static jx_val is_class(jx *J, jx_val self, const jx_args *a, int cls)
{
    jx_args_check(J, a, 0, NULL, "is...", a->at);
    size_t i = 0;
    bool any_cased = false, upper = false, lower = false;
    if (!self.s->len)
        return jx_bool(false);
    while (i < self.s->len) {
        const uint32_t c = heed_utf8_decode(self.s->s, self.s->len, &i);
        const int k = utf8proc_category((utf8proc_int32_t)c);
        const bool alpha = k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
        const bool digit = k == UTF8PROC_CATEGORY_ND || (k == UTF8PROC_CATEGORY_NO && c >= 0x2070);
        const bool numeric = k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL ||
                             k == UTF8PROC_CATEGORY_NO;
        switch (cls) {
        case 0: if (!digit) return jx_bool(false); break;
        case 1: if (!alpha) return jx_bool(false); break;
        case 2: if (!alpha && !numeric) return jx_bool(false); break;
        case 3: if (!jx_py_space(c)) return jx_bool(false); break;
        case 4: if (k != UTF8PROC_CATEGORY_ND) return jx_bool(false); break;
        case 5: if (!numeric) return jx_bool(false); break;
        default:
            if (cased(c)) {
                any_cased = true;
                upper |= k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
                lower |= k == UTF8PROC_CATEGORY_LL;
            }
        }
    }
    if (cls == 6)
        return jx_bool(any_cased && !upper);
    if (cls == 7)
        return jx_bool(any_cased && !lower);
    return jx_bool(true);
}

static jx_val m_isdigit(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 0); }
static jx_val m_isalpha(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 1); }
static jx_val m_isalnum(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 2); }
static jx_val m_isspace(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 3); }
static jx_val m_isdecimal(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 4); }
static jx_val m_isnumeric(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 5); }
static jx_val m_islower(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 6); }
static jx_val m_isupper(jx *J, jx_val self, const jx_args *a) { return is_class(J, self, a, 7); }

static jx_val affix_remove(jx *J, jx_val self, const jx_args *a, bool suffix)
{
    jx_args_check(J, a, 1, NULL, suffix ? "removesuffix" : "removeprefix", a->at);
    const jx_string *p = str_arg(J, a, 0, NULL, a->at);
    if (p->len <= self.s->len &&
        !memcmp(self.s->s + (suffix ? self.s->len - p->len : 0), p->s, p->len))
        return keep_markup(jx_str(J, self.s->s + (suffix ? 0 : p->len), self.s->len - p->len), self);
    return self;
}

static jx_val m_removeprefix(jx *J, jx_val self, const jx_args *a) { return affix_remove(J, self, a, false); }
static jx_val m_removesuffix(jx *J, jx_val self, const jx_args *a) { return affix_remove(J, self, a, true); }

static jx_val m_splitlines(jx *J, jx_val self, const jx_args *a)
{
    static const char *const names[] = {"keepends", NULL};
    jx_args_check(J, a, 1, names, "splitlines", a->at);
    const bool keep = jx_truthy(jx_arg(a, 0, "keepends", jx_bool(false)));
    jx_val out = jx_list_new(J, 0);
    const char *s = self.s->s;
    const size_t n = self.s->len;
    size_t start = 0, i = 0;
    while (i < n) {
        const size_t at = i;
        const uint32_t c = heed_utf8_decode(s, n, &i);
        const bool br = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c ||
                        c == 0x1d || c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!br)
            continue;
        if (c == '\r' && i < n && s[i] == '\n')
            i++;
        jx_list_push(J, out.l, jx_str(J, s + start, (keep ? i : at) - start));
        start = i;
    }
    if (start < n)
        jx_list_push(J, out.l, jx_str(J, s + start, n - start));
    return out;
}

/* str.format with plain fields: {}, {0}, {name}, {{ and }}. */
static jx_val m_format(jx *J, jx_val self, const jx_args *a)
{
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    const char *s = self.s->s;
    const size_t n = self.s->len;
    int auto_i = 0;
    bool manual = false;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] == '{' || s[i] == '}') && i + 1 < n && s[i + 1] == s[i]) {
            jx_buf_put(J, &b, s + i, 1);
            i++;
            continue;
        }
        if (s[i] == '}')
            jx_fail(J, a->at, "Single '}' encountered in format string");
        if (s[i] != '{') {
            jx_buf_put(J, &b, s + i, 1);
            continue;
        }
        const char *close = memchr(s + i, '}', n - i);
        if (!close)
            jx_fail(J, a->at, "Single '{' encountered in format string");
        const char *f = s + i + 1;
        const size_t len = (size_t)(close - f);
        if (memchr(f, '{', len))
            jx_fail(J, a->at, "unexpected '{' in field name");
        if (memchr(f, ':', len) || memchr(f, '!', len) || memchr(f, '.', len) || memchr(f, '[', len))
            jx_fail(J, a->at, "heed's str.format takes plain fields only ({}, {0}, {name})");
        jx_val v;
        if (!len || (f[0] >= '0' && f[0] <= '9')) {
            if ((len && auto_i > 0) || (!len && manual))
                jx_fail(J, a->at, "cannot switch from %s field specification to %s field numbering",
                        len ? "automatic" : "manual", len ? "manual" : "automatic");
            manual |= len > 0;
            const int k = len ? atoi(f) : auto_i++;
            if (k >= a->n)
                jx_fail(J, a->at, "Replacement index %d out of range for positional args tuple", k);
            v = a->pos[k];
        } else {
            int k = 0;
            while (k < a->nk && (strlen(a->names[k]) != len || memcmp(a->names[k], f, len)))
                k++;
            if (k == a->nk)
                jx_fail(J, a->at, "'%.*s'", (int)len, f);
            v = a->kv[k];
        }
        jx_to_buf(J, &b, v, false, a->at);
        i = (size_t)(close - s);
    }
    return jx_buf_str(J, &b);
}

static const method str_methods[] = {
    {"startswith", m_startswith}, {"endswith", m_endswith}, {"split", m_split},
    {"rsplit", m_rsplit}, {"strip", m_strip}, {"lstrip", m_lstrip}, {"rstrip", m_rstrip},
    {"upper", m_upper}, {"lower", m_lower}, {"title", m_title}, {"capitalize", m_capitalize},
    {"replace", m_replace}, {"find", m_find}, {"rfind", m_rfind}, {"index", m_sindex},
    {"rindex", m_rindex}, {"count", m_scount}, {"join", m_join}, {"isdigit", m_isdigit},
    {"isalpha", m_isalpha}, {"isalnum", m_isalnum}, {"isspace", m_isspace},
    {"isdecimal", m_isdecimal}, {"isnumeric", m_isnumeric}, {"islower", m_islower},
    {"isupper", m_isupper}, {"removeprefix", m_removeprefix}, {"removesuffix", m_removesuffix},
    {"splitlines", m_splitlines}, {"format", m_format}, {NULL, NULL},
};

/* ----------------------------------------------------- list and dict */

static jx_val m_lindex(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 1, NULL, "index", a->at);
    if (a->n < 1)
        jx_fail(J, a->at, "index expected at least 1 argument, got 0");
    for (size_t i = 0; i < self.l->n; i++)
        if (jx_eq(J, self.l->v[i], a->pos[0]))
            return jx_int((int64_t)i);
    jx_fail(J, a->at, "value is not in list");
}

static jx_val m_lcount(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 1, NULL, "count", a->at);
    if (a->n < 1)
        jx_fail(J, a->at, "count() takes exactly one argument (0 given)");
    int64_t c = 0;
    for (size_t i = 0; i < self.l->n; i++)
        c += jx_eq(J, self.l->v[i], a->pos[0]);
    return jx_int(c);
}

static jx_val m_pop(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 1, NULL, "pop", a->at);
    int64_t i = jx_index(J, jx_arg(a, 0, NULL, jx_int(-1)), a->at);
    jx_list *l = self.l;
    if (!l->n)
        jx_fail(J, a->at, "pop from empty list");
    if (i < 0)
        i += (int64_t)l->n;
    if (i < 0 || i >= (int64_t)l->n)
        jx_fail(J, a->at, "pop index out of range");
    const jx_val v = l->v[i];
    memmove(l->v + i, l->v + i + 1, (l->n - (size_t)i - 1) * sizeof *l->v);
    l->n--;
    return v;
}

static jx_val m_clear(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 0, NULL, "clear", a->at);
    self.l->n = 0;
    return jx_none();
}

static jx_val m_lcopy(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 0, NULL, "copy", a->at);
    jx_val r = jx_list_new(J, self.l->n);
    for (size_t i = 0; i < self.l->n; i++)
        r.l->v[r.l->n++] = self.l->v[i];
    return r;
}

static const method list_methods[] = {
    {"index", m_lindex}, {"count", m_lcount}, {"pop", m_pop}, {"clear", m_clear},
    {"copy", m_lcopy}, {"append", NULL}, {"extend", NULL}, {"insert", NULL},
    {"remove", NULL}, {"reverse", NULL}, {"sort", NULL}, {NULL, NULL},
};

static const method tuple_methods[] = {{"index", m_lindex}, {"count", m_lcount}, {NULL, NULL}};

static jx_val m_get(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 2, NULL, "get", a->at);
    if (a->n < 1)
        jx_fail(J, a->at, "get expected at least 1 argument, got 0");
    const jx_val *v = jx_dict_get(J, self.d, a->pos[0], a->at);
    return v ? *v : jx_arg(a, 1, NULL, jx_none());
}

/* items, keys, values: lists where Python gives views (they print
 * differently, and nothing else tells them apart in a template) */
static jx_val dict_view(jx *J, jx_val self, const jx_args *a, int which)
{
    jx_args_check(J, a, 0, NULL, "items", a->at);
    jx_val r = jx_list_new(J, self.d->n);
    for (size_t i = 0; i < self.d->n; i++) {
        jx_val v = which == 0 ? self.d->keys[i] : self.d->vals[i];
        if (which == 2) {
            v = jx_list_new(J, 2);
            v.flags = JX_TUPLE;
            v.l->v[0] = self.d->keys[i];
            v.l->v[1] = self.d->vals[i];
            v.l->n = 2;
        }
        r.l->v[r.l->n++] = v;
    }
    return r;
}

static jx_val m_keys(jx *J, jx_val self, const jx_args *a) { return dict_view(J, self, a, 0); }
static jx_val m_values(jx *J, jx_val self, const jx_args *a) { return dict_view(J, self, a, 1); }
static jx_val m_items(jx *J, jx_val self, const jx_args *a) { return dict_view(J, self, a, 2); }

static jx_val m_dcopy(jx *J, jx_val self, const jx_args *a)
{
    jx_args_check(J, a, 0, NULL, "copy", a->at);
    jx_val r = jx_dict_new(J);
    for (size_t i = 0; i < self.d->n; i++)
        jx_dict_set(J, r.d, self.d->keys[i], self.d->vals[i], a->at);
    return r;
}

static const method dict_methods[] = {
    {"get", m_get}, {"keys", m_keys}, {"values", m_values}, {"items", m_items},
    {"copy", m_dcopy}, {"clear", NULL}, {"pop", NULL}, {"popitem", NULL},
    {"setdefault", NULL}, {"update", NULL}, {NULL, NULL},
};

/* ---------------------------------------------------------- the loop */

static jx_val m_cycle(jx *J, jx_val self, const jx_args *a)
{
    if (!a->n)
        jx_fail(J, a->at, "no items for cycling given");
    return a->pos[self.loop->i % (size_t)a->n];
}

static jx_val m_changed(jx *J, jx_val self, const jx_args *a)
{
    jx_val now = jx_list_new(J, (size_t)a->n);
    now.flags = JX_TUPLE;
    for (int i = 0; i < a->n; i++)
        now.l->v[now.l->n++] = a->pos[i];
    jx_loop *l = self.loop;
    if (l->changed_set && jx_eq(J, l->changed_last, now))
        return jx_bool(false);
    l->changed_set = true;
    l->changed_last = now;
    return jx_bool(true);
}

static jx_val loop_attr(jx *J, jx_val self, const char *name)
{
    const jx_loop *l = self.loop;
    const int64_t i = (int64_t)l->i, n = (int64_t)l->items->n;
    if (!strcmp(name, "index"))
        return jx_int(i + 1);
    if (!strcmp(name, "index0"))
        return jx_int(i);
    if (!strcmp(name, "revindex"))
        return jx_int(n - i);
    if (!strcmp(name, "revindex0"))
        return jx_int(n - i - 1);
    if (!strcmp(name, "first"))
        return jx_bool(i == 0);
    if (!strcmp(name, "last"))
        return jx_bool(i == n - 1);
    if (!strcmp(name, "length"))
        return jx_int(n);
    if (!strcmp(name, "depth"))
        return jx_int(l->depth);
    if (!strcmp(name, "depth0"))
        return jx_int(l->depth - 1);
    if (!strcmp(name, "previtem"))
        return i > 0 ? l->items->v[i - 1] : jx_undef(J, "there is no previous item");
    if (!strcmp(name, "nextitem"))
        return i + 1 < n ? l->items->v[i + 1] : jx_undef(J, "there is no next item");
    if (!strcmp(name, "cycle"))
        return jx_func_new(J, "cycle", m_cycle, self);
    if (!strcmp(name, "changed"))
        return jx_func_new(J, "changed", m_changed, self);
    return undefined_attr(J, self, name);
}

/* ----------------------------------------------------------- lookups */

/* A method of obj by name, bound; refused ones give an undefined whose
 * use fails; *found false when obj has no such attribute. */
static jx_val method_of(jx *J, jx_val obj, const char *name, bool *found)
{
    const method *table = obj.kind == JX_STR                              ? str_methods
                        : obj.kind == JX_LIST && (obj.flags & JX_TUPLE) ? tuple_methods
                        : obj.kind == JX_LIST                             ? list_methods
                        : obj.kind == JX_DICT                             ? dict_methods
                                                                          : NULL;
    *found = true;
    for (; table && table->name; table++)
        if (!strcmp(table->name, name)) {
            if (!table->fn)
                return jx_undef(J, "access to attribute '%s' of '%s' object is unsafe.", name,
                                jx_py_type(obj));
            return jx_func_new(J, table->name, table->fn, obj);
        }
    *found = false;
    return jx_none();
}

jx_val jx_method(jx *J, jx_val obj, const char *name)
{
    if (obj.kind == JX_NS || obj.kind == JX_LOOP)
        return jx_getattr(J, obj, name, SIZE_MAX);
    bool found = false;
    const jx_val m = name[0] != '_' ? method_of(J, obj, name, &found) : jx_none();
    return found ? m : undefined_attr(J, obj, name);
}

jx_val jx_getattr(jx *J, jx_val obj, const char *attr, size_t pos)
{
    jx_need_defined(J, obj, pos);
    bool found;
    if (obj.kind == JX_LOOP)
        return loop_attr(J, obj, attr);
    if (attr[0] != '_') {
        const jx_val m = method_of(J, obj, attr, &found);
        if (found)
            return m;
    }
    if (obj.kind == JX_DICT || obj.kind == JX_NS) {
        const jx_val *v = jx_dict_gets(obj.d, attr);
        if (v)
            return *v;
    }
    return undefined_attr(J, obj, attr);
}

jx_val jx_getitem(jx *J, jx_val obj, jx_val key, size_t pos)
{
    jx_need_defined(J, obj, pos);
    switch (obj.kind) {
    case JX_DICT:
        if (jx_hashable(key)) {
            const jx_val *v = jx_dict_get(J, obj.d, key, pos);
            if (v)
                return *v;
        }
        break;
    case JX_LIST:
    case JX_STR:
        if (key.kind == JX_INT || key.kind == JX_BOOL) {
            const bool s = obj.kind == JX_STR;
            const int64_t n = s ? (int64_t)jx_utf8_len(obj.s->s, obj.s->len) : (int64_t)obj.l->n;
            int64_t i = key.kind == JX_BOOL ? key.b : key.i;
            if (i < 0)
                i += n;
            if (i >= 0 && i < n) {
                if (!s)
                    return obj.l->v[i];
                const size_t a = jx_utf8_off(obj.s->s, obj.s->len, (size_t)i);
                const size_t b = jx_utf8_off(obj.s->s, obj.s->len, (size_t)i + 1);
                return keep_markup(jx_str(J, obj.s->s + a, b - a), obj);
            }
            return jx_undef(J, "'%s' has no element %lld", jx_type_name(obj), (long long)key.i);
        }
        break;
    default: break;
    }
    if (key.kind == JX_STR) {
        if (obj.kind == JX_NS || obj.kind == JX_LOOP)
            return jx_getattr(J, obj, key.s->s, pos);
        bool found = false;
        if (key.s->s[0] != '_') {
            const jx_val m = method_of(J, obj, key.s->s, &found);
            if (found)
                return m;
        }
        return undefined_attr(J, obj, key.s->s);
    }
    jx_buf b = {0};
    jx_to_buf(J, &b, key, true, pos);
    return jx_undef(J, "'%s' has no element %s", jx_type_name(obj), b.p ? b.p : "");
}

/* Python's slice.indices: start, stop for step over n items. */
static void slice_indices(jx *J, jx_val vs, jx_val ve, int64_t step, int64_t n, int64_t *s,
                          int64_t *e, size_t pos)
{
    const int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? n - 1 : n;
    if (vs.kind == JX_NONE) {
        *s = step < 0 ? hi : lo;
    } else {
        *s = jx_index(J, vs, pos);
        if (*s < 0) {
            *s += n;
            if (*s < lo)
                *s = lo;
        } else if (*s > hi) {
            *s = hi;
        }
    }
    if (ve.kind == JX_NONE) {
        *e = step < 0 ? lo : hi;
    } else {
        *e = jx_index(J, ve, pos);
        if (*e < 0) {
            *e += n;
            if (*e < lo)
                *e = lo;
        } else if (*e > hi) {
            *e = hi;
        }
    }
}

static bool index_like(jx_val v) { return v.kind == JX_NONE || v.kind == JX_INT || v.kind == JX_BOOL; }

jx_val jx_slice(jx *J, jx_val obj, jx_val start, jx_val stop, jx_val step, size_t pos)
{
    /* a slice is Python's own subscript in jinja2, not its getitem: what
     * cannot be sliced fails */
    jx_need_defined(J, obj, pos);
    if (obj.kind == JX_DICT)
        jx_fail(J, pos, "unhashable type: 'slice'");
    if (obj.kind != JX_LIST && obj.kind != JX_STR)
        jx_fail(J, pos, "'%s' object is not subscriptable", jx_py_type(obj));
    if (!index_like(start) || !index_like(stop) || !index_like(step))
        jx_fail(J, pos, "slice indices must be integers or None or have an __index__ method");
    const int64_t st = step.kind == JX_NONE ? 1 : jx_index(J, step, pos);
    if (st == 0)
        jx_fail(J, pos, "slice step cannot be zero");
    const bool s = obj.kind == JX_STR;
    const int64_t n = s ? (int64_t)jx_utf8_len(obj.s->s, obj.s->len) : (int64_t)obj.l->n;
    int64_t a, e;
    slice_indices(J, start, stop, st, n, &a, &e, pos);
    if (!s) {
        jx_val r = jx_list_new(J, 0);
        r.flags = obj.flags;
        for (int64_t i = a; st > 0 ? i < e : i > e; i += st)
            jx_list_push(J, r.l, obj.l->v[i]);
        return r;
    }
    /* code point offsets once, then pick */
    size_t *offs = jx_alloc(J, ((size_t)n + 1) * sizeof *offs);
    size_t i = 0, k = 0;
    while (i < obj.s->len) {
        offs[k++] = i;
        heed_utf8_decode(obj.s->s, obj.s->len, &i);
    }
    offs[k] = obj.s->len;
    jx_buf b = {0};
    jx_buf_put(J, &b, "", 0);
    if (st == 1 && a < e) {
        jx_buf_put(J, &b, obj.s->s + offs[a], offs[e] - offs[a]);
    } else {
        for (int64_t p = a; st > 0 ? p < e : p > e; p += st)
            jx_buf_put(J, &b, obj.s->s + offs[p], offs[p + 1] - offs[p]);
    }
    return keep_markup(jx_buf_str(J, &b), obj);
}
