/* jinja_global.c — the names every template sees: jinja2's range (with
 * the sandbox's cap of 100000 items), namespace and dict, and HF's
 * raise_exception and strftime_now. */
#include <string.h>
#include <time.h>

#include "text/jinja.h"

static jx_val g_range(jx *J, jx_val self, const jx_args *a)
{
    (void)self;
    jx_args_check(J, a, 3, NULL, "range", a->at);
    if (a->n < 1)
        jx_fail(J, a->at, "range expected at least 1 argument, got 0");
    int64_t start = 0, stop, step = 1;
    if (a->n == 1) {
        stop = jx_index(J, a->pos[0], a->at);
    } else {
        start = jx_index(J, a->pos[0], a->at);
        stop = jx_index(J, a->pos[1], a->at);
        if (a->n == 3)
            step = jx_index(J, a->pos[2], a->at);
    }
    if (!step)
        jx_fail(J, a->at, "range() arg 3 must not be zero");
    /* the length Python computes, in 128 bits against overflow */
    __int128 n = 0;
    if (step > 0 && start < stop)
        n = ((__int128)stop - start - 1) / step + 1;
    else if (step < 0 && start > stop)
        n = ((__int128)start - stop - 1) / -(__int128)step + 1;
    if (n > 100000)
        jx_fail(J, a->at, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    jx_val l = jx_list_new(J, (size_t)n);
    for (int64_t i = 0; i < (int64_t)n; i++)
        l.l->v[l.l->n++] = jx_int(start + i * step);
    return l;
}

/* dict(mapping or pairs, **kwargs), which namespace() takes too. */
static jx_val make_dict(jx *J, const jx_args *a, const char *what)
{
    if (a->n > 1)
        jx_fail(J, a->at, "%s expected at most 1 argument, got %d", what, a->n);
    jx_val d = jx_dict_new(J);
    if (a->n == 1) {
        const jx_val src = a->pos[0];
        jx_need_defined(J, src, a->at); /* dict() asks it for keys */
        if (src.kind == JX_DICT || src.kind == JX_NS) {
            for (size_t i = 0; i < src.d->n; i++)
                jx_dict_set(J, d.d, src.d->keys[i], src.d->vals[i], a->at);
        } else {
            const jx_list *pairs = jx_iterate(J, src, a->at);
            for (size_t i = 0; i < pairs->n; i++) {
                const jx_val p = pairs->v[i];
                const jx_list *kv = jx_iterate(J, p, a->at);
                if (kv->n != 2)
                    jx_fail(J, a->at, "dictionary update sequence element #%zu has length %zu; 2 "
                                      "is required", i, kv->n);
                jx_dict_set(J, d.d, kv->v[0], kv->v[1], a->at);
            }
        }
    }
    for (int k = 0; k < a->nk; k++)
        jx_dict_sets(J, d.d, a->names[k], a->kv[k]);
    return d;
}

static jx_val g_dict(jx *J, jx_val self, const jx_args *a)
{
    (void)self;
    return make_dict(J, a, "dict");
}

static jx_val g_namespace(jx *J, jx_val self, const jx_args *a)
{
    (void)self;
    jx_val ns = make_dict(J, a, "namespace");
    ns.kind = JX_NS;
    return ns;
}

static jx_val g_raise_exception(jx *J, jx_val self, const jx_args *a)
{
    (void)self;
    const jx_val msg = a->n ? jx_to_str(J, a->pos[0], a->at) : jx_cstr(J, "");
    jx_fail(J, a->at, "%s", msg.s->s);
}

static jx_val g_strftime_now(jx *J, jx_val self, const jx_args *a)
{
    (void)self;
    jx_args_check(J, a, 1, NULL, "strftime_now", a->at);
    if (a->n != 1 || a->pos[0].kind != JX_STR)
        jx_fail(J, a->at, "strftime_now() takes one format string");
    const jx_string *f = a->pos[0].s;
    if (f->len > 256)
        jx_fail(J, a->at, "strftime_now() format too long");
    /* datetime.strftime: %f is the microseconds, the rest is libc's */
    struct timespec ts;
    if (J->now >= 0) {
        ts.tv_sec = (time_t)J->now;
        ts.tv_nsec = 0;
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
    }
    char fmt[1600], us[24];
    snprintf(us, sizeof us, "%06ld", ts.tv_nsec / 1000);
    size_t o = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->s[i] == '%' && i + 1 < f->len && f->s[i + 1] == 'f') {
            memcpy(fmt + o, us, 6);
            o += 6;
            i++;
        } else if (f->s[i] == '%' && i + 1 < f->len) {
            fmt[o++] = f->s[i++];
            fmt[o++] = f->s[i];
        } else {
            fmt[o++] = f->s[i];
        }
    }
    fmt[o] = 0;
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char out[4096];
    const size_t n = strftime(out, sizeof out, fmt, &tm);
    return jx_str(J, out, n);
}

void jx_add_globals(jx *J, jx_scope *s)
{
    static const struct {
        const char *name;
        jx_builtin fn;
    } globals[] = {
        {"range", g_range},
        {"dict", g_dict},
        {"namespace", g_namespace},
        {"raise_exception", g_raise_exception},
        {"strftime_now", g_strftime_now},
    };
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++)
        jx_dict_sets(J, &s->vars, globals[i].name,
                     jx_func_new(J, globals[i].name, globals[i].fn, jx_none()));
}
