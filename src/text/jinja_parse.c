/* jinja_parse.c — tokens to a syntax tree, by jinja2's grammar (its
 * parser.py, rule for rule, so precedence and quirks agree: filters bind
 * looser than unary minus, `{{ a, b }}` is a tuple, a test takes one bare
 * argument).
 *
 * Node fields by type:
 *   N_CONST val · N_NAME name · N_GETATTR a.name · N_GETITEM a[b] ·
 *   N_SLICE a:b:c (each may be NULL) · N_CALL a(kids, names=kw) ·
 *   N_FILTER a|name(kids, names=kw), a NULL in a filter block's chain ·
 *   N_TEST a is name(kids, names=kw) · N_NOT/N_NEG/N_POS a ·
 *   N_BINOP a op b · N_AND/N_OR a b · N_CONCAT kids ·
 *   N_COMPARE a, then kids each {op, a} · N_COND b if a else c ·
 *   N_LIST/N_TUPLE kids · N_DICT kids: kw · N_NSREF name.attr (set target)
 *   N_BODY kids · N_DATA val · N_OUTPUT a · N_IF a b else c ·
 *   N_FOR a in b if c: d else e (flag: recursive) · N_SET a = b ·
 *   N_SETBLOCK a = b, filtered by c · N_MACRO name(names = kw) b ·
 *   N_CALLBLOCK a with caller(names = kw) b · N_FILTERBLOCK c on b ·
 *   N_WITH kids = kw, b · N_BLOCK name b · N_BREAK · N_CONTINUE.
 *
 * As jinja2 does at compile time: an unknown filter or test is an error
 * unless it sits inside an if or a conditional expression (there it fails
 * only when run), and break/continue need an enclosing loop. */
#include <stdlib.h>
#include <string.h>

#include "text/jinja.h"

typedef struct parser {
    jx *J;
    jx_tok *t;
    size_t i, n;
    int depth;
    bool soft;      /* inside an if: unknown filters fail at run time */
    int loops;      /* enclosing for loops, for break and continue    */
    const char *tags[64]; /* the open blocks, for messages            */
    int ntags;
} parser;

static jx_tok *cur(parser *P) { return &P->t[P->i]; }
static jx_tok *peek(parser *P) { return &P->t[P->i + 1 < P->n ? P->i + 1 : P->i]; }
static jx_tok *next(parser *P)
{
    jx_tok *t = cur(P);
    if (P->i + 1 < P->n)
        P->i++;
    return t;
}

static bool is_op(const jx_tok *t, const char *op)
{
    return t->type == TK_OP && !strcmp(t->s, op);
}

static bool is_name(const jx_tok *t, const char *name)
{
    return t->type == TK_NAME && !strcmp(t->s, name);
}

static const char *describe(const jx_tok *t)
{
    switch (t->type) {
    case TK_EOF: return "end of template";
    case TK_DATA: return "template data";
    case TK_VAR_BEGIN: return "begin of print statement";
    case TK_VAR_END: return "end of print statement";
    case TK_BLOCK_BEGIN: return "begin of statement block";
    case TK_BLOCK_END: return "end of statement block";
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "float";
    default: return t->s;
    }
}

static _Noreturn void unexpected(parser *P, const char *expected)
{
    jx_fail(P->J, cur(P)->pos, "expected %s, got '%s'", expected, describe(cur(P)));
}

static void expect_op(parser *P, const char *op)
{
    if (!is_op(cur(P), op)) {
        char e[16];
        snprintf(e, sizeof e, "'%s'", op);
        unexpected(P, e);
    }
    next(P);
}

static const char *expect_name(parser *P)
{
    if (cur(P)->type != TK_NAME)
        unexpected(P, "a name");
    return next(P)->s;
}

static void expect(parser *P, jx_tok_type type)
{
    if (cur(P)->type != type)
        unexpected(P, type == TK_BLOCK_END ? "'end of statement block'" : "'end of print statement'");
    next(P);
}

static jx_node *node(parser *P, jx_node_type type, size_t pos)
{
    jx_node *n = jx_alloc(P->J, sizeof *n);
    *n = (jx_node){.type = type, .pos = pos};
    return n;
}

/* A growing array of nodes (or names). */
typedef struct vec {
    void **p;
    size_t n, cap;
} vec;

static void push(parser *P, vec *v, void *x)
{
    if (v->n == v->cap) {
        const size_t cap = v->cap ? 2 * v->cap : 4;
        void **p = jx_alloc(P->J, cap * sizeof *p);
        if (v->n)
            memcpy(p, v->p, v->n * sizeof *p);
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = x;
}

static void enter(parser *P)
{
    if (++P->depth > 200)
        jx_fail(P->J, cur(P)->pos, "the template nests too deeply");
}

static jx_node *expression(parser *P, bool with_cond);
static jx_node *unary(parser *P, bool with_filter);
static jx_node *primary(parser *P);
static jx_node *postfix(parser *P, jx_node *n);

/* ------------------------------------------------------------ expressions */

/* Arguments in parentheses: positional, then name=value. */
static void call_args(parser *P, jx_node *n)
{
    const size_t pos = cur(P)->pos;
    expect_op(P, "(");
    vec args = {0}, kw = {0}, names = {0};
    while (!is_op(cur(P), ")")) {
        if (args.n || kw.n) {
            expect_op(P, ",");
            if (is_op(cur(P), ")"))
                break;
        }
        if (is_op(cur(P), "*") || is_op(cur(P), "**"))
            jx_fail(P->J, cur(P)->pos, "heed does not support *args or **kwargs in calls");
        if (cur(P)->type == TK_NAME && is_op(peek(P), "=")) {
            push(P, &names, (void *)next(P)->s);
            next(P);
            push(P, &kw, expression(P, true));
        } else {
            if (kw.n)
                jx_fail(P->J, pos, "invalid syntax for function call expression");
            push(P, &args, expression(P, true));
        }
    }
    expect_op(P, ")");
    n->kids = (jx_node **)args.p;
    n->n = args.n;
    n->kw = (jx_node **)kw.p;
    n->names = (const char **)names.p;
    n->nk = kw.n;
}

static const char *dotted_name(parser *P)
{
    const char *name = expect_name(P);
    while (is_op(cur(P), ".")) {
        next(P);
        const char *more = expect_name(P);
        const size_t a = strlen(name), b = strlen(more);
        char *s = jx_alloc(P->J, a + b + 2);
        memcpy(s, name, a);
        s[a] = '.';
        memcpy(s + a + 1, more, b + 1);
        name = s;
    }
    return name;
}

/* `| name(args)` filters, applied to n (NULL: a block's filter chain). */
static jx_node *filters(parser *P, jx_node *n, bool start_inline)
{
    while (is_op(cur(P), "|") || start_inline) {
        if (!start_inline)
            next(P);
        start_inline = false;
        const size_t pos = cur(P)->pos;
        jx_node *f = node(P, N_FILTER, pos);
        f->name = dotted_name(P);
        if (!P->soft && !jx_filter_exists(f->name))
            jx_fail(P->J, pos, "No filter named '%s'.", f->name);
        f->a = n;
        if (is_op(cur(P), "("))
            call_args(P, f);
        n = f;
    }
    return n;
}

static jx_node *test(parser *P, jx_node *n)
{
    const size_t pos = next(P)->pos; /* "is" */
    const bool negated = is_name(cur(P), "not");
    if (negated)
        next(P);
    jx_node *t = node(P, N_TEST, pos);
    const size_t name_pos = cur(P)->pos;
    t->name = dotted_name(P);
    if (!P->soft && !jx_test_exists(t->name))
        jx_fail(P->J, name_pos, "No test named '%s'.", t->name);
    t->a = n;
    const jx_tok *c = cur(P);
    if (is_op(c, "(")) {
        call_args(P, t);
    } else if ((c->type == TK_NAME || c->type == TK_STRING || c->type == TK_INT ||
                c->type == TK_FLOAT || is_op(c, "[") || is_op(c, "{")) &&
               !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
        if (is_name(c, "is"))
            jx_fail(P->J, c->pos, "You cannot chain multiple tests with is");
        t->kids = jx_alloc(P->J, sizeof *t->kids);
        t->kids[0] = postfix(P, primary(P));
        t->n = 1;
    }
    if (!negated)
        return t;
    jx_node *not = node(P, N_NOT, pos);
    not->a = t;
    return not;
}

static jx_node *filter_expr(parser *P, jx_node *n)
{
    for (;;) {
        if (is_op(cur(P), "|")) {
            n = filters(P, n, false);
        } else if (is_name(cur(P), "is")) {
            n = test(P, n);
        } else if (is_op(cur(P), "(")) {
            jx_node *c = node(P, N_CALL, cur(P)->pos);
            c->a = n;
            call_args(P, c);
            n = c;
        } else {
            return n;
        }
    }
}

/* One subscript: an expression or a slice a:b:c. */
static jx_node *subscribed(parser *P)
{
    const size_t pos = cur(P)->pos;
    jx_node *args[3] = {NULL, NULL, NULL};
    if (is_op(cur(P), ":")) {
        next(P);
    } else {
        jx_node *e = expression(P, true);
        if (!is_op(cur(P), ":"))
            return e;
        next(P);
        args[0] = e;
    }
    if (!is_op(cur(P), ":") && !is_op(cur(P), "]") && !is_op(cur(P), ","))
        args[1] = expression(P, true);
    if (is_op(cur(P), ":")) {
        next(P);
        if (!is_op(cur(P), "]") && !is_op(cur(P), ","))
            args[2] = expression(P, true);
    }
    jx_node *s = node(P, N_SLICE, pos);
    s->a = args[0];
    s->b = args[1];
    s->c = args[2];
    return s;
}

static jx_node *postfix(parser *P, jx_node *n)
{
    for (;;) {
        const jx_tok *t = cur(P);
        if (is_op(t, ".")) {
            next(P);
            const jx_tok *a = next(P);
            if (a->type == TK_NAME) {
                jx_node *g = node(P, N_GETATTR, t->pos);
                g->a = n;
                g->name = a->s;
                n = g;
            } else if (a->type == TK_INT) {
                jx_node *g = node(P, N_GETITEM, t->pos);
                g->a = n;
                g->b = node(P, N_CONST, a->pos);
                g->b->val = jx_int(a->i);
                n = g;
            } else {
                jx_fail(P->J, a->pos, "expected name or number");
            }
        } else if (is_op(t, "[")) {
            next(P);
            vec args = {0};
            while (!is_op(cur(P), "]")) {
                if (args.n)
                    expect_op(P, ",");
                push(P, &args, subscribed(P));
            }
            expect_op(P, "]");
            jx_node *g = node(P, N_GETITEM, t->pos);
            g->a = n;
            if (args.n == 1) {
                g->b = args.p[0];
            } else {
                g->b = node(P, N_TUPLE, t->pos);
                g->b->kids = (jx_node **)args.p;
                g->b->n = args.n;
            }
            n = g;
        } else if (is_op(t, "(")) {
            jx_node *c = node(P, N_CALL, t->pos);
            c->a = n;
            call_args(P, c);
            n = c;
        } else {
            return n;
        }
    }
}

static jx_node *tuple(parser *P, bool simplified, bool with_cond, const char *extra_end,
                      bool explicit_parens);

static jx_node *primary(parser *P)
{
    enter(P);
    jx_tok *t = cur(P);
    jx_node *n;
    if (t->type == TK_NAME) {
        n = node(P, N_CONST, t->pos);
        if (!strcmp(t->s, "true") || !strcmp(t->s, "True"))
            n->val = jx_bool(true);
        else if (!strcmp(t->s, "false") || !strcmp(t->s, "False"))
            n->val = jx_bool(false);
        else if (!strcmp(t->s, "none") || !strcmp(t->s, "None"))
            n->val = jx_none();
        else {
            n->type = N_NAME;
            n->name = t->s;
        }
        next(P);
    } else if (t->type == TK_STRING) {
        /* adjacent literals join, as in Python */
        jx_buf b = {0};
        jx_buf_put(P->J, &b, "", 0);
        while (cur(P)->type == TK_STRING) {
            jx_buf_put(P->J, &b, cur(P)->s, cur(P)->len);
            next(P);
        }
        n = node(P, N_CONST, t->pos);
        n->val = jx_buf_str(P->J, &b);
    } else if (t->type == TK_INT || t->type == TK_FLOAT) {
        n = node(P, N_CONST, t->pos);
        n->val = t->type == TK_INT ? jx_int(t->i) : jx_float(t->f);
        next(P);
    } else if (is_op(t, "(")) {
        next(P);
        n = tuple(P, false, true, NULL, true);
        expect_op(P, ")");
    } else if (is_op(t, "[") || is_op(t, "{")) {
        const bool dict = is_op(t, "{");
        next(P);
        n = node(P, dict ? N_DICT : N_LIST, t->pos);
        vec items = {0}, vals = {0};
        const char *close = dict ? "}" : "]";
        while (!is_op(cur(P), close)) {
            if (items.n) {
                expect_op(P, ",");
                if (is_op(cur(P), close))
                    break;
            }
            push(P, &items, expression(P, true));
            if (dict) {
                expect_op(P, ":");
                push(P, &vals, expression(P, true));
            }
        }
        expect_op(P, close);
        n->kids = (jx_node **)items.p;
        n->n = items.n;
        n->kw = (jx_node **)vals.p;
        n->nk = vals.n;
    } else {
        jx_fail(P->J, t->pos, "unexpected '%s'", describe(t));
    }
    P->depth--;
    return n;
}

static jx_node *unary(parser *P, bool with_filter)
{
    enter(P);
    const jx_tok *t = cur(P);
    jx_node *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        next(P);
        n = node(P, is_op(t, "-") ? N_NEG : N_POS, t->pos);
        n->a = unary(P, false);
    } else {
        n = primary(P);
    }
    n = postfix(P, n);
    if (with_filter)
        n = filter_expr(P, n);
    P->depth--;
    return n;
}

static jx_node *binop(parser *P, int op, jx_node *a, jx_node *b, size_t pos)
{
    jx_node *n = node(P, N_BINOP, pos);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static jx_node *power(parser *P)
{
    jx_node *n = unary(P, true);
    while (is_op(cur(P), "**")) {
        const size_t pos = next(P)->pos;
        n = binop(P, OP_POW, n, unary(P, true), pos);
    }
    return n;
}

static jx_node *math2(parser *P)
{
    jx_node *n = power(P);
    for (;;) {
        const jx_tok *t = cur(P);
        const int op = is_op(t, "*") ? OP_MUL : is_op(t, "/") ? OP_DIV
                     : is_op(t, "//") ? OP_FLOORDIV : is_op(t, "%") ? OP_MOD : -1;
        if (op < 0)
            return n;
        next(P);
        n = binop(P, op, n, power(P), t->pos);
    }
}

static jx_node *concat(parser *P)
{
    jx_node *first = math2(P);
    if (!is_op(cur(P), "~"))
        return first;
    jx_node *n = node(P, N_CONCAT, cur(P)->pos);
    vec items = {0};
    push(P, &items, first);
    while (is_op(cur(P), "~")) {
        next(P);
        push(P, &items, math2(P));
    }
    n->kids = (jx_node **)items.p;
    n->n = items.n;
    return n;
}

static jx_node *math1(parser *P)
{
    jx_node *n = concat(P);
    while (is_op(cur(P), "+") || is_op(cur(P), "-")) {
        const jx_tok *t = next(P);
        n = binop(P, is_op(t, "+") ? OP_ADD : OP_SUB, n, concat(P), t->pos);
    }
    return n;
}

static jx_node *compare(parser *P)
{
    const size_t pos = cur(P)->pos;
    jx_node *first = math1(P);
    vec ops = {0};
    for (;;) {
        const jx_tok *t = cur(P);
        int op = is_op(t, "==") ? OP_EQ : is_op(t, "!=") ? OP_NE : is_op(t, "<") ? OP_LT
               : is_op(t, "<=") ? OP_LE : is_op(t, ">") ? OP_GT : is_op(t, ">=") ? OP_GE
               : is_name(t, "in") ? OP_IN : -1;
        if (op >= 0) {
            next(P);
        } else if (is_name(t, "not") && is_name(peek(P), "in")) {
            next(P);
            next(P);
            op = OP_NOTIN;
        } else {
            break;
        }
        jx_node *o = node(P, N_COMPARE, t->pos);
        o->op = op;
        o->a = math1(P);
        push(P, &ops, o);
    }
    if (!ops.n)
        return first;
    jx_node *n = node(P, N_COMPARE, pos);
    n->a = first;
    n->kids = (jx_node **)ops.p;
    n->n = ops.n;
    return n;
}

static jx_node *not_expr(parser *P)
{
    if (is_name(cur(P), "not")) {
        enter(P);
        jx_node *n = node(P, N_NOT, next(P)->pos);
        n->a = not_expr(P);
        P->depth--;
        return n;
    }
    return compare(P);
}

static jx_node *and_expr(parser *P)
{
    jx_node *n = not_expr(P);
    while (is_name(cur(P), "and")) {
        jx_node *a = node(P, N_AND, next(P)->pos);
        a->a = n;
        a->b = not_expr(P);
        n = a;
    }
    return n;
}

static jx_node *or_expr(parser *P)
{
    jx_node *n = and_expr(P);
    while (is_name(cur(P), "or")) {
        jx_node *o = node(P, N_OR, next(P)->pos);
        o->a = n;
        o->b = and_expr(P);
        n = o;
    }
    return n;
}

static jx_node *expression(parser *P, bool with_cond)
{
    enter(P);
    jx_node *n = or_expr(P);
    if (with_cond) {
        while (is_name(cur(P), "if")) {
            const bool soft = P->soft;
            P->soft = true;
            jx_node *c = node(P, N_COND, next(P)->pos);
            c->b = n;
            c->a = or_expr(P);
            if (is_name(cur(P), "else")) {
                next(P);
                c->c = expression(P, true);
            }
            P->soft = soft;
            n = c;
        }
    }
    P->depth--;
    return n;
}

static bool tuple_end(parser *P, const char *extra_end)
{
    const jx_tok *t = cur(P);
    return t->type == TK_VAR_END || t->type == TK_BLOCK_END || is_op(t, ")") ||
           (extra_end && is_name(t, extra_end));
}

/* Expressions separated by commas: a tuple if there is a comma. */
static jx_node *tuple(parser *P, bool simplified, bool with_cond, const char *extra_end,
                      bool explicit_parens)
{
    const size_t pos = cur(P)->pos;
    vec items = {0};
    bool is_tuple = false;
    for (;;) {
        if (items.n)
            expect_op(P, ",");
        if (tuple_end(P, extra_end))
            break;
        push(P, &items, simplified ? primary(P) : expression(P, with_cond));
        if (is_op(cur(P), ","))
            is_tuple = true;
        else
            break;
    }
    if (!is_tuple) {
        if (items.n)
            return items.p[0];
        if (!explicit_parens)
            jx_fail(P->J, cur(P)->pos, "Expected an expression, got '%s'", describe(cur(P)));
    }
    jx_node *n = node(P, N_TUPLE, pos);
    n->kids = (jx_node **)items.p;
    n->n = items.n;
    return n;
}

/* ------------------------------------------------------------- statements */

static jx_node *subparse(parser *P, const char *const *end);

/* The body up to one of end (NULL-terminated), whose name is left as the
 * current token. */
static jx_node *statements(parser *P, const char *const *end)
{
    if (is_op(cur(P), ":"))
        next(P);
    expect(P, TK_BLOCK_END);
    jx_node *body = subparse(P, end);
    if (cur(P)->type == TK_EOF) {
        char want[128] = "";
        for (int k = 0; end[k]; k++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'", k ? " or " : "",
                     end[k]);
        jx_fail(P->J, cur(P)->pos,
                "Unexpected end of template. Jinja was looking for the following tags: %s. "
                "The innermost block that needs to be closed is '%s'.",
                want, P->ntags ? P->tags[P->ntags - 1] : "?");
    }
    return body;
}

static jx_node *statements_to(parser *P, const char *end)
{
    const char *const ends[] = {end, NULL};
    jx_node *b = statements(P, ends);
    next(P);
    return b;
}

static jx_node *assign_target(parser *P, bool with_ns, const char *extra_end)
{
    const jx_tok *t = cur(P);
    jx_node *n;
    if (with_ns && t->type == TK_NAME && is_op(peek(P), ".")) {
        n = node(P, N_NSREF, t->pos);
        n->name = next(P)->s;
        next(P);
        n->attr = expect_name(P);
        return n;
    }
    n = tuple(P, true, true, extra_end, false);
    if (n->type == N_TUPLE) {
        for (size_t k = 0; k < n->n; k++)
            if (n->kids[k]->type != N_NAME)
                jx_fail(P->J, n->kids[k]->pos, "can't assign to '%s'", "const");
    } else if (n->type != N_NAME) {
        jx_fail(P->J, n->pos, "can't assign to '%s'", "const");
    }
    return n;
}

/* (a, b=default, ...) of a macro or a call block. */
static void signature(parser *P, jx_node *n)
{
    expect_op(P, "(");
    vec names = {0}, defs = {0};
    bool any_default = false;
    while (!is_op(cur(P), ")")) {
        if (names.n)
            expect_op(P, ",");
        push(P, &names, (void *)expect_name(P));
        jx_node *d = NULL;
        if (is_op(cur(P), "=")) {
            next(P);
            d = expression(P, true);
            any_default = true;
        } else if (any_default) {
            jx_fail(P->J, cur(P)->pos, "non-default argument follows default argument");
        }
        push(P, &defs, d);
    }
    expect_op(P, ")");
    n->names = (const char **)names.p;
    n->kw = (jx_node **)defs.p;
    n->nk = names.n;
}

/* A body of its own scope: soft and loop context start afresh, as
 * jinja2's inner frames do. */
static jx_node *scoped_body(parser *P, const char *end, bool keep_loops)
{
    const bool soft = P->soft;
    const int loops = P->loops;
    P->soft = false;
    if (!keep_loops)
        P->loops = 0;
    jx_node *b = statements_to(P, end);
    P->soft = soft;
    P->loops = loops;
    return b;
}

static jx_node *statement(parser *P)
{
    jx_tok *t = cur(P);
    if (t->type != TK_NAME)
        jx_fail(P->J, t->pos, "tag name expected");
    const char *tag = t->s;
    if (P->ntags == 64)
        jx_fail(P->J, t->pos, "the template nests too deeply");
    P->tags[P->ntags++] = tag;
    enter(P);
    jx_node *n;
    if (!strcmp(tag, "if")) {
        next(P);
        n = node(P, N_IF, t->pos);
        jx_node *at = n;
        const bool soft = P->soft;
        P->soft = true;
        for (;;) {
            at->a = tuple(P, false, false, NULL, false);
            static const char *const ends[] = {"elif", "else", "endif", NULL};
            at->b = statements(P, ends);
            jx_tok *e = next(P);
            if (is_name(e, "elif")) {
                jx_node *elif = node(P, N_IF, e->pos);
                at->c = node(P, N_BODY, e->pos);
                at->c->kids = jx_alloc(P->J, sizeof *at->c->kids);
                at->c->kids[0] = elif;
                at->c->n = 1;
                at = elif;
                continue;
            }
            if (is_name(e, "else"))
                at->c = statements_to(P, "endif");
            break;
        }
        P->soft = soft;
    } else if (!strcmp(tag, "for")) {
        next(P);
        n = node(P, N_FOR, t->pos);
        const bool soft = P->soft;
        n->a = assign_target(P, false, "in");
        if (!is_name(cur(P), "in"))
            unexpected(P, "'in'");
        next(P);
        n->b = tuple(P, false, false, "recursive", false);
        P->soft = false;
        if (is_name(cur(P), "if")) {
            next(P);
            n->c = expression(P, true);
        }
        if (is_name(cur(P), "recursive")) {
            next(P);
            n->flag = true;
        }
        P->loops++;
        static const char *const ends[] = {"endfor", "else", NULL};
        n->d = statements(P, ends);
        P->loops--;
        if (is_name(next(P), "else"))
            n->e = statements_to(P, "endfor");
        P->soft = soft;
    } else if (!strcmp(tag, "set")) {
        next(P);
        n = node(P, N_SET, t->pos);
        n->a = assign_target(P, true, NULL);
        if (is_op(cur(P), "=")) {
            next(P);
            n->b = tuple(P, false, true, NULL, false);
        } else {
            n->type = N_SETBLOCK;
            const bool soft = P->soft;
            P->soft = false;
            n->c = filters(P, NULL, false);
            P->soft = soft;
            n->b = scoped_body(P, "endset", true);
        }
    } else if (!strcmp(tag, "macro")) {
        next(P);
        n = node(P, N_MACRO, t->pos);
        n->name = expect_name(P);
        const bool soft = P->soft;
        P->soft = false;
        signature(P, n);
        P->soft = soft;
        n->b = scoped_body(P, "endmacro", false);
    } else if (!strcmp(tag, "call")) {
        next(P);
        n = node(P, N_CALLBLOCK, t->pos);
        if (is_op(cur(P), "(")) {
            const bool soft = P->soft;
            P->soft = false;
            signature(P, n);
            P->soft = soft;
        }
        n->a = expression(P, true);
        if (n->a->type != N_CALL)
            jx_fail(P->J, t->pos, "expected call");
        n->b = scoped_body(P, "endcall", false);
    } else if (!strcmp(tag, "filter")) {
        next(P);
        n = node(P, N_FILTERBLOCK, t->pos);
        const bool soft = P->soft;
        P->soft = false;
        n->c = filters(P, NULL, true);
        P->soft = soft;
        n->b = scoped_body(P, "endfilter", true);
    } else if (!strcmp(tag, "with")) {
        next(P);
        n = node(P, N_WITH, t->pos);
        vec names = {0}, vals = {0};
        while (cur(P)->type != TK_BLOCK_END) {
            if (names.n)
                expect_op(P, ",");
            push(P, &names, assign_target(P, false, NULL));
            expect_op(P, "=");
            push(P, &vals, expression(P, true));
        }
        n->kids = (jx_node **)names.p;
        n->n = names.n;
        n->kw = (jx_node **)vals.p;
        n->nk = vals.n;
        n->b = scoped_body(P, "endwith", true);
    } else if (!strcmp(tag, "generation")) {
        /* HF's AssistantTracker: the body, rendered as a call block's */
        next(P);
        n = node(P, N_WITH, t->pos);
        n->b = scoped_body(P, "endgeneration", false);
    } else if (!strcmp(tag, "block")) {
        next(P);
        n = node(P, N_BLOCK, t->pos);
        n->name = expect_name(P);
        if (is_name(cur(P), "scoped") || is_name(cur(P), "required"))
            jx_fail(P->J, cur(P)->pos, "heed does not support scoped or required blocks");
        n->b = scoped_body(P, "endblock", false);
        if (is_name(cur(P), n->name))
            next(P);
    } else if (!strcmp(tag, "break") || !strcmp(tag, "continue")) {
        next(P);
        if (!P->loops)
            jx_fail(P->J, t->pos, "'%s' outside loop", tag);
        n = node(P, tag[0] == 'b' ? N_BREAK : N_CONTINUE, t->pos);
    } else if (!strcmp(tag, "print")) {
        /* each of its comma-separated expressions printed */
        next(P);
        n = node(P, N_BODY, t->pos);
        vec outs = {0};
        while (cur(P)->type != TK_BLOCK_END) {
            if (outs.n)
                expect_op(P, ",");
            jx_node *o = node(P, N_OUTPUT, cur(P)->pos);
            o->a = expression(P, true);
            push(P, &outs, o);
        }
        n->kids = (jx_node **)outs.p;
        n->n = outs.n;
    } else if (!strcmp(tag, "include") || !strcmp(tag, "import") || !strcmp(tag, "from") ||
               !strcmp(tag, "extends")) {
        jx_fail(P->J, t->pos, "'%s' needs other templates, and chat templates have none", tag);
    } else {
        P->ntags--;
        jx_fail(P->J, t->pos, "Encountered unknown tag '%s'.", tag);
    }
    P->depth--;
    P->ntags--;
    return n;
}

static jx_node *subparse(parser *P, const char *const *end)
{
    jx_node *body = node(P, N_BODY, cur(P)->pos);
    vec kids = {0};
    for (;;) {
        jx_tok *t = cur(P);
        if (t->type == TK_EOF)
            break;
        if (t->type == TK_DATA) {
            jx_node *d = node(P, N_DATA, t->pos);
            d->val = jx_str(P->J, t->s, t->len);
            push(P, &kids, d);
            next(P);
        } else if (t->type == TK_VAR_BEGIN) {
            next(P);
            jx_node *o = node(P, N_OUTPUT, cur(P)->pos);
            o->a = tuple(P, false, true, NULL, false);
            expect(P, TK_VAR_END);
            push(P, &kids, o);
        } else if (t->type == TK_BLOCK_BEGIN) {
            next(P);
            if (end)
                for (int k = 0; end[k]; k++)
                    if (is_name(cur(P), end[k]))
                        goto done;
            push(P, &kids, statement(P));
            expect(P, TK_BLOCK_END);
        } else {
            jx_fail(P->J, t->pos, "unexpected '%s'", describe(t));
        }
    }
done:
    body->kids = (jx_node **)kids.p;
    body->n = kids.n;
    return body;
}

jx_node *jx_parse(jx *J)
{
    parser P = {.J = J};
    P.t = jx_lex(J, &P.n);
    jx_node *body = subparse(&P, NULL);
    return body;
}
