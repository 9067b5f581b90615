/* jinja_eval.c — running the syntax tree. Scoping is jinja2's: a for
 * loop's body gets a fresh scope each iteration (what it sets is gone at
 * the next), macros, call blocks, with, set blocks and filter blocks get
 * their own; if does not. A name is looked up through the scopes at the
 * time of use, macros through the scope they were defined in. Operators
 * have Python's meaning on Python's types. */
#include <math.h>
#include <string.h>

#include "text/jinja.h"

typedef enum { FLOW_NEXT, FLOW_BREAK, FLOW_CONTINUE } flow;

/* Bits of a macro or call block's op: names its body refers to. */
enum { USES_CALLER = 1, USES_VARARGS = 2, USES_KWARGS = 4 };

static jx_val eval(jx *J, jx_scope *S, const jx_node *n);
static flow exec(jx *J, jx_scope *S, const jx_node *n);

jx_scope *jx_scope_new(jx *J, jx_scope *parent)
{
    jx_scope *s = jx_alloc(J, sizeof *s);
    *s = (jx_scope){.parent = parent};
    return s;
}

static jx_val *lookup(jx_scope *S, const char *name)
{
    for (; S; S = S->parent) {
        jx_val *v = jx_dict_gets(&S->vars, name);
        if (v)
            return v;
    }
    return NULL;
}

static void set_var(jx *J, jx_scope *S, const char *name, jx_val v)
{
    jx_val *old = jx_dict_gets(&S->vars, name);
    if (old)
        *old = v;
    else
        jx_dict_sets(J, &S->vars, name, v);
}

/* Empties a scope for the next iteration. */
static void scope_reset(jx_scope *S)
{
    S->vars.n = 0;
    if (S->vars.index)
        memset(S->vars.index, 0, S->vars.index_cap * sizeof *S->vars.index);
}

/* ------------------------------------------------------------ operators */

static _Noreturn void bad_operands(jx *J, const char *op, jx_val a, jx_val b, size_t pos)
{
    jx_fail(J, pos, "unsupported operand type(s) for %s: '%s' and '%s'", op, jx_py_type(a),
            jx_py_type(b));
}

static bool intlike(jx_val v) { return v.kind == JX_INT || v.kind == JX_BOOL; }
static int64_t as_int(jx_val v) { return v.kind == JX_BOOL ? v.b : v.i; }

/* Python's divmod for floats (floor division and its remainder). */
static void float_divmod(double a, double b, double *div, double *mod)
{
    double m = fmod(a, b);
    double d = (a - m) / b;
    if (m) {
        if ((b < 0) != (m < 0)) {
            m += b;
            d -= 1.0;
        }
    } else {
        m = copysign(0.0, b);
    }
    double f = 0;
    if (d) {
        f = floor(d);
        if (d - f > 0.5)
            f += 1.0;
    } else {
        f = copysign(0.0, a / b);
    }
    *div = f;
    *mod = m;
}

static jx_val repeat(jx *J, jx_val seq, int64_t times, size_t pos)
{
    if (times < 0)
        times = 0;
    if (seq.kind == JX_STR) {
        if (times && seq.s->len > J->lim.memory / (uint64_t)times)
            jx_fail(J, pos, "the template needs more than %zu KiB of memory", J->lim.memory >> 10);
        jx_buf b = {0};
        jx_buf_put(J, &b, "", 0);
        for (int64_t k = 0; k < times; k++)
            jx_buf_put(J, &b, seq.s->s, seq.s->len);
        jx_val r = jx_buf_str(J, &b);
        r.flags = seq.flags;
        return r;
    }
    if (times && seq.l->n > J->lim.memory / sizeof(jx_val) / (uint64_t)times)
        jx_fail(J, pos, "the template needs more than %zu KiB of memory", J->lim.memory >> 10);
    jx_val r = jx_list_new(J, seq.l->n * (size_t)times);
    for (int64_t k = 0; k < times; k++)
        for (size_t i = 0; i < seq.l->n; i++)
            r.l->v[r.l->n++] = seq.l->v[i];
    r.flags = seq.flags;
    return r;
}

jx_val jx_binop(jx *J, int op, jx_val a, jx_val b, size_t pos)
{
    static const char *const sym[] = {"+", "-", "*", "/", "//", "%", "**"};
    jx_need_defined(J, a, pos);
    jx_need_defined(J, b, pos);
    const bool nums = jx_is_num(a) && jx_is_num(b), ints = intlike(a) && intlike(b);
    switch (op) {
    case OP_ADD:
        if (ints)
            return jx_int(jx_add_i(J, as_int(a), as_int(b), pos));
        if (nums)
            return jx_float(jx_num(a) + jx_num(b));
        if (a.kind == JX_STR && b.kind == JX_STR) {
            /* Markup + str escapes the str, as markupsafe does */
            const bool markup = (a.flags | b.flags) & JX_MARKUP;
            if (markup) {
                a = jx_escape(J, a, pos);
                b = jx_escape(J, b, pos);
            }
            jx_buf buf = {0};
            jx_buf_put(J, &buf, a.s->s, a.s->len);
            jx_buf_put(J, &buf, b.s->s, b.s->len);
            jx_val r = jx_buf_str(J, &buf);
            r.flags = markup ? JX_MARKUP : 0;
            return r;
        }
        if (a.kind == JX_LIST && b.kind == JX_LIST && (a.flags & JX_TUPLE) == (b.flags & JX_TUPLE)) {
            jx_val r = jx_list_new(J, a.l->n + b.l->n);
            for (size_t i = 0; i < a.l->n; i++)
                r.l->v[r.l->n++] = a.l->v[i];
            for (size_t i = 0; i < b.l->n; i++)
                r.l->v[r.l->n++] = b.l->v[i];
            r.flags = a.flags;
            return r;
        }
        if (a.kind == JX_STR)
            jx_fail(J, pos, "can only concatenate str (not \"%s\") to str", jx_py_type(b));
        if (a.kind == JX_LIST)
            jx_fail(J, pos, "can only concatenate %s (not \"%s\") to %s", jx_py_type(a),
                    jx_py_type(b), jx_py_type(a));
        bad_operands(J, sym[op], a, b, pos);
    case OP_SUB:
        if (ints)
            return jx_int(jx_add_i(J, as_int(a), -as_int(b), pos));
        if (nums)
            return jx_float(jx_num(a) - jx_num(b));
        bad_operands(J, sym[op], a, b, pos);
    case OP_MUL:
        if (ints)
            return jx_int(jx_mul_i(J, as_int(a), as_int(b), pos));
        if (nums)
            return jx_float(jx_num(a) * jx_num(b));
        if ((a.kind == JX_STR || a.kind == JX_LIST) && intlike(b))
            return repeat(J, a, as_int(b), pos);
        if ((b.kind == JX_STR || b.kind == JX_LIST) && intlike(a))
            return repeat(J, b, as_int(a), pos);
        bad_operands(J, sym[op], a, b, pos);
    case OP_DIV:
        if (!nums)
            bad_operands(J, sym[op], a, b, pos);
        if (jx_num(b) == 0)
            jx_fail(J, pos, "division by zero");
        if (ints && (as_int(a) > (1ll << 53) || as_int(a) < -(1ll << 53) ||
                     as_int(b) > (1ll << 53) || as_int(b) < -(1ll << 53)))
            return jx_float((double)((long double)as_int(a) / (long double)as_int(b)));
        return jx_float(jx_num(a) / jx_num(b));
    case OP_FLOORDIV:
    case OP_MOD:
        if (a.kind == JX_STR && op == OP_MOD)
            jx_fail(J, pos, "heed does not support %%-formatting of strings");
        if (!nums)
            bad_operands(J, sym[op], a, b, pos);
        if (jx_num(b) == 0)
            jx_fail(J, pos, ints ? "integer division or modulo by zero" : "float division by zero");
        if (ints) {
            const int64_t x = as_int(a), y = as_int(b);
            if (x == INT64_MIN && y == -1) {
                if (op == OP_MOD)
                    return jx_int(0);
                jx_fail(J, pos, "integer overflow (heed's integers are 64-bit)");
            }
            int64_t q = x / y, r = x % y;
            if (r && ((r < 0) != (y < 0))) {
                q--;
                r += y;
            }
            return jx_int(op == OP_MOD ? r : q);
        } else {
            double d, m;
            float_divmod(jx_num(a), jx_num(b), &d, &m);
            return jx_float(op == OP_MOD ? m : d);
        }
    case OP_POW:
        if (!nums)
            bad_operands(J, "** or pow()", a, b, pos);
        if (ints && as_int(b) >= 0) {
            int64_t r = 1, base = as_int(a), e = as_int(b);
            while (e) {
                if (e & 1)
                    r = jx_mul_i(J, r, base, pos);
                e >>= 1;
                if (e)
                    base = jx_mul_i(J, base, base, pos);
            }
            return jx_int(r);
        }
        if (jx_num(a) == 0 && jx_num(b) < 0)
            jx_fail(J, pos, "0.0 cannot be raised to a negative power");
        if (jx_num(a) < 0 && jx_num(b) != trunc(jx_num(b)))
            jx_fail(J, pos, "heed has no complex numbers (a negative number to a fractional power)");
        const double r = pow(jx_num(a), jx_num(b));
        if (isinf(r) && isfinite(jx_num(a)) && isfinite(jx_num(b)))
            jx_fail(J, pos, "(34, 'Numerical result out of range')"); /* Python's OverflowError */
        return jx_float(r);
    }
    jx_fail(J, pos, "unknown operator");
}

bool jx_contains(jx *J, jx_val hay, jx_val needle, size_t pos)
{
    switch (hay.kind) {
    case JX_UNDEF: return false;
    case JX_STR:
        if (needle.kind != JX_STR)
            jx_fail(J, pos, "'in <string>' requires string as left operand, not %s",
                    jx_py_type(needle));
        return memmem(hay.s->s, hay.s->len, needle.s->s, needle.s->len) != NULL;
    case JX_LIST:
        for (size_t i = 0; i < hay.l->n; i++)
            if (jx_eq(J, hay.l->v[i], needle))
                return true;
        return false;
    case JX_DICT: return jx_dict_get(J, hay.d, needle, pos) != NULL;
    case JX_GEN: /* consumed up to the first match */
        while (hay.gen->at < hay.gen->l->n)
            if (jx_eq(J, hay.gen->l->v[hay.gen->at++], needle))
                return true;
        return false;
    default: jx_fail(J, pos, "argument of type '%s' is not iterable", jx_py_type(hay));
    }
}

static bool compare(jx *J, int op, jx_val a, jx_val b, size_t pos)
{
    switch (op) {
    case OP_EQ: return jx_eq(J, a, b);
    case OP_NE: return !jx_eq(J, a, b);
    case OP_LT: return jx_order(J, a, b, 0, pos);
    case OP_LE: return jx_order(J, a, b, 1, pos);
    case OP_GT: return jx_order(J, a, b, 2, pos);
    case OP_GE: return jx_order(J, a, b, 3, pos);
    case OP_IN: return jx_contains(J, b, a, pos);
    default: return !jx_contains(J, b, a, pos);
    }
}

/* ---------------------------------------------------------- expressions */

static void eval_args(jx *J, jx_scope *S, const jx_node *n, jx_args *a, int extra)
{
    a->n = (int)n->n;
    a->nk = (int)n->nk;
    a->at = n->pos;
    a->pos = n->n ? jx_alloc(J, n->n * sizeof *a->pos) : NULL;
    a->kv = jx_alloc(J, (n->nk + (size_t)extra + 1) * sizeof *a->kv);
    a->names = jx_alloc(J, (n->nk + (size_t)extra + 1) * sizeof *a->names);
    for (size_t i = 0; i < n->n; i++)
        a->pos[i] = eval(J, S, n->kids[i]);
    for (size_t i = 0; i < n->nk; i++) {
        a->names[i] = n->names[i];
        a->kv[i] = eval(J, S, n->kw[i]);
    }
}

/* A filter chain (innermost a == NULL) applied to v. */
static jx_val filter_chain(jx *J, jx_scope *S, const jx_node *f, jx_val v)
{
    if (f->a)
        v = filter_chain(J, S, f->a, v);
    jx_args a;
    eval_args(J, S, f, &a, 0);
    return jx_filter(J, f->name, v, &a, f->pos);
}

static jx_val eval(jx *J, jx_scope *S, const jx_node *n)
{
    switch (n->type) {
    case N_CONST: return n->val;
    case N_NAME: {
        jx_val *v = lookup(S, n->name);
        return v ? *v : jx_undef(J, "'%s' is undefined", n->name);
    }
    case N_GETATTR: return jx_getattr(J, eval(J, S, n->a), n->name, n->pos);
    case N_GETITEM: {
        const jx_val obj = eval(J, S, n->a);
        if (n->b->type == N_SLICE) {
            const jx_node *s = n->b;
            return jx_slice(J, obj, s->a ? eval(J, S, s->a) : jx_none(),
                            s->b ? eval(J, S, s->b) : jx_none(), s->c ? eval(J, S, s->c) : jx_none(),
                            n->pos);
        }
        return jx_getitem(J, obj, eval(J, S, n->b), n->pos);
    }
    case N_CALL: {
        const jx_val fn = eval(J, S, n->a);
        jx_args a;
        eval_args(J, S, n, &a, 0);
        return jx_call(J, fn, &a, n->pos);
    }
    case N_FILTER: {
        const jx_val v = eval(J, S, n->a);
        jx_args a;
        eval_args(J, S, n, &a, 0);
        return jx_filter(J, n->name, v, &a, n->pos);
    }
    case N_TEST: {
        const jx_val v = eval(J, S, n->a);
        jx_args a;
        eval_args(J, S, n, &a, 0);
        return jx_bool(jx_test(J, n->name, v, &a, n->pos));
    }
    case N_NOT: return jx_bool(!jx_truthy(eval(J, S, n->a)));
    case N_NEG:
    case N_POS: {
        const jx_val v = eval(J, S, n->a);
        jx_need_defined(J, v, n->pos);
        const bool neg = n->type == N_NEG;
        if (intlike(v)) {
            if (neg && as_int(v) == INT64_MIN)
                jx_fail(J, n->pos, "integer overflow (heed's integers are 64-bit)");
            return jx_int(neg ? -as_int(v) : as_int(v));
        }
        if (v.kind == JX_FLOAT)
            return jx_float(neg ? -v.f : v.f);
        jx_fail(J, n->pos, "bad operand type for unary %c: '%s'", neg ? '-' : '+', jx_py_type(v));
    }
    case N_BINOP: {
        const jx_val a = eval(J, S, n->a);
        return jx_binop(J, n->op, a, eval(J, S, n->b), n->pos);
    }
    case N_AND:
    case N_OR: {
        const jx_val a = eval(J, S, n->a);
        return jx_truthy(a) == (n->type == N_OR) ? a : eval(J, S, n->b);
    }
    case N_CONCAT: {
        jx_buf b = {0};
        jx_buf_put(J, &b, "", 0);
        for (size_t i = 0; i < n->n; i++)
            jx_to_buf(J, &b, eval(J, S, n->kids[i]), false, n->pos);
        return jx_buf_str(J, &b);
    }
    case N_COMPARE: {
        jx_val left = eval(J, S, n->a);
        for (size_t i = 0; i < n->n; i++) {
            const jx_val right = eval(J, S, n->kids[i]->a);
            if (!compare(J, n->kids[i]->op, left, right, n->kids[i]->pos))
                return jx_bool(false);
            left = right;
        }
        return jx_bool(true);
    }
    case N_COND:
        if (jx_truthy(eval(J, S, n->a)))
            return eval(J, S, n->b);
        if (n->c)
            return eval(J, S, n->c);
        return jx_undef(J, "the inline if-expression evaluated to false and no else section "
                           "was defined.");
    case N_LIST:
    case N_TUPLE: {
        jx_val l = jx_list_new(J, n->n);
        for (size_t i = 0; i < n->n; i++)
            l.l->v[l.l->n++] = eval(J, S, n->kids[i]);
        l.flags = n->type == N_TUPLE ? JX_TUPLE : 0;
        return l;
    }
    case N_DICT: {
        jx_val d = jx_dict_new(J);
        for (size_t i = 0; i < n->n; i++) {
            const jx_val k = eval(J, S, n->kids[i]);
            jx_dict_set(J, d.d, k, eval(J, S, n->kw[i]), n->kids[i]->pos);
        }
        return d;
    }
    default: jx_fail(J, n->pos, "not an expression");
    }
}

/* ----------------------------------------------------------- statements */

static void assign(jx *J, jx_scope *S, const jx_node *target, jx_val v, size_t pos)
{
    if (target->type == N_NAME) {
        set_var(J, S, target->name, v);
        return;
    }
    if (target->type == N_NSREF) {
        jx_val *ns = lookup(S, target->name);
        if (!ns || ns->kind != JX_NS)
            jx_fail(J, pos, "cannot assign attribute on non-namespace object");
        jx_dict_sets(J, ns->d, target->attr, v);
        return;
    }
    /* a tuple of names: unpack exactly */
    const jx_list *items = jx_iterate(J, v, pos);
    if (items->n != target->n) {
        if (items->n > target->n)
            jx_fail(J, pos, "too many values to unpack (expected %zu)", target->n);
        jx_fail(J, pos, "not enough values to unpack (expected %zu, got %zu)", target->n, items->n);
    }
    for (size_t i = 0; i < target->n; i++)
        set_var(J, S, target->kids[i]->name, items->v[i]);
}

/* Runs body with output into a string of its own. */
static jx_val capture(jx *J, jx_scope *S, const jx_node *body)
{
    jx_buf *saved = J->out, b = {0};
    jx_buf_put(J, &b, "", 0);
    J->out = &b;
    exec(J, S, body);
    J->out = saved;
    return jx_buf_str(J, &b);
}

static flow run_loop(jx *J, jx_scope *S, const jx_node *n, jx_val iterable, int depth);

static jx_val loop_again(jx *J, jx_loop *loop, const jx_args *a, size_t pos)
{
    if (!loop->node->flag)
        jx_fail(J, pos, "Tried to call non recursive loop. Maybe you forgot the 'recursive' "
                        "modifier.");
    if (a->n != 1 || a->nk)
        jx_fail(J, pos, "loop() takes exactly one argument");
    jx_buf *saved = J->out, b = {0};
    jx_buf_put(J, &b, "", 0);
    J->out = &b;
    if (++J->depth > J->lim.depth)
        jx_fail(J, pos, "recursion deeper than %d calls", J->lim.depth);
    run_loop(J, loop->scope, loop->node, a->pos[0], loop->depth + 1);
    J->depth--;
    J->out = saved;
    return jx_buf_str(J, &b);
}

static flow run_loop(jx *J, jx_scope *S, const jx_node *n, jx_val iterable, int depth)
{
    const jx_list *all = jx_iterate(J, iterable, n->b->pos);
    jx_scope *it = jx_scope_new(J, S);
    jx_list *items = (jx_list *)all; /* live, as Python's list iterator: the body may pop */
    if (n->c) { /* for x in xs if cond: filtered before loop.length counts */
        items = jx_list_new(J, 0).l;
        for (size_t i = 0; i < all->n; i++) {
            jx_step(J, n->pos);
            scope_reset(it);
            assign(J, it, n->a, all->v[i], n->a->pos);
            if (jx_truthy(eval(J, it, n->c)))
                jx_list_push(J, items, all->v[i]);
        }
    }
    jx_loop *loop = jx_alloc(J, sizeof *loop);
    *loop = (jx_loop){.items = items, .depth = depth, .node = n, .scope = S};
    const jx_val lv = {.kind = JX_LOOP, .loop = loop};
    for (size_t i = 0; i < items->n; i++) {
        jx_step(J, n->pos);
        loop->i = i;
        scope_reset(it);
        assign(J, it, n->a, items->v[i], n->a->pos);
        set_var(J, it, "loop", lv);
        if (exec(J, it, n->d) == FLOW_BREAK)
            break;
    }
    if (!items->n && n->e)
        exec(J, jx_scope_new(J, S), n->e);
    return FLOW_NEXT;
}

/* A macro or caller: its own scope over the one it was defined in. */
static jx_val call_macro(jx *J, const jx_func *f, const jx_args *a, size_t pos)
{
    const jx_node *m = f->macro;
    jx_step(J, pos);
    if (++J->depth > J->lim.depth)
        jx_fail(J, pos, "recursion deeper than %d calls", J->lim.depth);
    jx_scope *S = jx_scope_new(J, f->closure);
    const size_t np = m->nk;
    if ((size_t)a->n > np && !(m->op & USES_VARARGS))
        jx_fail(J, pos, "macro '%s' takes not more than %zu argument(s)", f->name, np);
    bool *given = jx_alloc(J, np + 1);
    memset(given, 0, np + 1);
    for (size_t i = 0; i < np && i < (size_t)a->n; i++) {
        set_var(J, S, m->names[i], a->pos[i]);
        given[i] = true;
    }
    jx_val kwargs = jx_dict_new(J);
    bool have_caller = false;
    for (int k = 0; k < a->nk; k++) {
        size_t i = 0;
        while (i < np && strcmp(m->names[i], a->names[k]))
            i++;
        if (i < np) {
            if (given[i])
                jx_fail(J, pos, "macro '%s' got multiple values for argument '%s'", f->name,
                        a->names[k]);
            set_var(J, S, m->names[i], a->kv[k]);
            given[i] = true;
        } else if (!strcmp(a->names[k], "caller") && f->closure && m->type == N_MACRO) {
            if (!(m->op & USES_CALLER))
                jx_fail(J, pos, "macro '%s' was invoked with two values for the special caller "
                                "argument. This is most likely a bug.", f->name);
            set_var(J, S, "caller", a->kv[k]);
            have_caller = true;
        } else if (m->op & USES_KWARGS) {
            jx_dict_sets(J, kwargs.d, a->names[k], a->kv[k]);
        } else {
            jx_fail(J, pos, "macro '%s' takes no keyword argument '%s'", f->name, a->names[k]);
        }
    }
    for (size_t i = 0; i < np; i++)
        if (!given[i])
            set_var(J, S, m->names[i],
                    m->kw[i] ? eval(J, S, m->kw[i])
                             : jx_undef(J, "parameter '%s' was not provided", m->names[i]));
    if (m->op & USES_VARARGS) {
        jx_val rest = jx_list_new(J, 0);
        rest.flags = JX_TUPLE;
        for (int i = (int)np; i < a->n; i++)
            jx_list_push(J, rest.l, a->pos[i]);
        set_var(J, S, "varargs", rest);
    }
    if (m->op & USES_KWARGS)
        set_var(J, S, "kwargs", kwargs);
    if ((m->op & USES_CALLER) && !have_caller && m->type == N_MACRO)
        set_var(J, S, "caller", jx_undef(J, "No caller defined"));
    const jx_val r = capture(J, S, m->b);
    J->depth--;
    return r;
}

jx_val jx_call(jx *J, jx_val fn, const jx_args *a, size_t pos)
{
    if (fn.kind == JX_LOOP)
        return loop_again(J, fn.loop, a, pos);
    jx_need_defined(J, fn, pos);
    if (fn.kind != JX_FUNC)
        jx_fail(J, pos, "'%s' object is not callable", jx_py_type(fn));
    if (fn.fn->macro)
        return call_macro(J, fn.fn, a, pos);
    return fn.fn->fn(J, fn.fn->self, a);
}

static flow exec(jx *J, jx_scope *S, const jx_node *n)
{
    switch (n->type) {
    case N_BODY:
        for (size_t i = 0; i < n->n; i++) {
            const flow f = exec(J, S, n->kids[i]);
            if (f != FLOW_NEXT)
                return f;
        }
        return FLOW_NEXT;
    case N_DATA: jx_buf_put(J, J->out, n->val.s->s, n->val.s->len); return FLOW_NEXT;
    case N_OUTPUT: jx_to_buf(J, J->out, eval(J, S, n->a), false, n->pos); return FLOW_NEXT;
    case N_IF:
        if (jx_truthy(eval(J, S, n->a)))
            return exec(J, S, n->b);
        return n->c ? exec(J, S, n->c) : FLOW_NEXT;
    case N_FOR: return run_loop(J, S, n, eval(J, S, n->b), 1);
    case N_SET: assign(J, S, n->a, eval(J, S, n->b), n->pos); return FLOW_NEXT;
    case N_SETBLOCK: {
        jx_scope *inner = jx_scope_new(J, S);
        jx_val v = capture(J, inner, n->b);
        if (n->c)
            v = filter_chain(J, inner, n->c, v);
        assign(J, S, n->a, v, n->pos);
        return FLOW_NEXT;
    }
    case N_FILTERBLOCK: {
        jx_scope *inner = jx_scope_new(J, S);
        const jx_val v = filter_chain(J, inner, n->c, capture(J, inner, n->b));
        jx_to_buf(J, J->out, v, false, n->pos);
        return FLOW_NEXT;
    }
    case N_MACRO: {
        jx_func *f = jx_alloc(J, sizeof *f);
        *f = (jx_func){.name = n->name, .macro = n, .closure = S};
        set_var(J, S, n->name, (jx_val){.kind = JX_FUNC, .fn = f});
        return FLOW_NEXT;
    }
    case N_CALLBLOCK: {
        jx_func *caller = jx_alloc(J, sizeof *caller);
        *caller = (jx_func){.name = "caller", .macro = n, .closure = S};
        const jx_node *call = n->a;
        const jx_val fn = eval(J, S, call->a);
        jx_args a;
        eval_args(J, S, call, &a, 1);
        a.names[a.nk] = "caller";
        a.kv[a.nk++] = (jx_val){.kind = JX_FUNC, .fn = caller};
        jx_to_buf(J, J->out, jx_call(J, fn, &a, call->pos), false, n->pos);
        return FLOW_NEXT;
    }
    case N_WITH: {
        jx_scope *inner = jx_scope_new(J, S);
        for (size_t i = 0; i < n->n; i++)
            assign(J, inner, n->kids[i], eval(J, S, n->kw[i]), n->kids[i]->pos);
        return exec(J, inner, n->b);
    }
    case N_BLOCK: return exec(J, jx_scope_new(J, S), n->b);
    case N_BREAK: return FLOW_BREAK;
    case N_CONTINUE: return FLOW_CONTINUE;
    default: jx_fail(J, n->pos, "not a statement");
    }
}

/* Whether n refers to name anywhere (jinja2 looks for caller, varargs and
 * kwargs in a macro's body to decide what it accepts). */
static bool refers(const jx_node *n, const char *name)
{
    if (!n)
        return false;
    if (n->type == N_NAME && !strcmp(n->name, name))
        return true;
    if (refers(n->a, name) || refers(n->b, name) || refers(n->c, name) || refers(n->d, name) ||
        refers(n->e, name))
        return true;
    for (size_t i = 0; i < n->n; i++)
        if (refers(n->kids[i], name))
            return true;
    for (size_t i = 0; i < n->nk; i++)
        if (n->kw && refers(n->kw[i], name))
            return true;
    return false;
}

/* Marks what each macro's body refers to. */
static void mark_macros(jx_node *n)
{
    if (!n)
        return;
    if (n->type == N_MACRO || n->type == N_CALLBLOCK) {
        n->op = (refers(n->b, "caller") ? USES_CALLER : 0) |
                (refers(n->b, "varargs") ? USES_VARARGS : 0) |
                (refers(n->b, "kwargs") ? USES_KWARGS : 0);
    }
    mark_macros(n->a);
    mark_macros(n->b);
    mark_macros(n->c);
    mark_macros(n->d);
    mark_macros(n->e);
    for (size_t i = 0; i < n->n; i++)
        mark_macros(n->kids[i]);
    for (size_t i = 0; i < n->nk; i++)
        if (n->kw)
            mark_macros(n->kw[i]);
}

void jx_run(jx *J, const jx_node *body, jx_val ctx)
{
    mark_macros((jx_node *)body);
    jx_scope *globals = jx_scope_new(J, NULL);
    jx_add_globals(J, globals);
    jx_scope *vars = jx_scope_new(J, globals);
    if (ctx.kind == JX_DICT)
        vars->vars = *ctx.d;
    exec(J, jx_scope_new(J, vars), body);
}
