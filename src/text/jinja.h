/* jinja.h — the Jinja interpreter chat templates are written for, as
 * Hugging Face runs them: jinja2's ImmutableSandboxedEnvironment with
 * trim_blocks, lstrip_blocks and loop controls, its own tojson,
 * raise_exception and strftime_now. Values follow Python's semantics
 * (str, int, float, bool, None, list, tuple, dict in insertion order) and
 * jinja2's default Undefined.
 *
 * One render owns one arena: the syntax tree, every value and every
 * intermediate string live in it, so an error anywhere is a longjmp back
 * to the render call, which frees the arena and returns the message
 * ("template:LINE:COL: ..."). Memory, output, loop iterations plus macro
 * calls, and call depth are bounded (jx_limits); exceeding one is such an
 * error too.
 *
 * Files: jinja_arena.c (arena, errors, buffers), jinja_lex.c (tokens),
 * jinja_parse.c (syntax tree), jinja_value.c (values: Python's equality,
 * order, hashing, str and repr), jinja_json.c (JSON in, tojson out),
 * jinja_eval.c (statements and expressions), jinja_filter.c (filters and
 * tests), jinja_method.c (attributes and methods of str, list, dict),
 * jinja_global.c (range, namespace, dict, raise_exception, strftime_now),
 * jinja_render.c (the public entry points). */
#ifndef HEED_TEXT_JINJA_H
#define HEED_TEXT_JINJA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heed.h"

typedef struct jx jx;
typedef struct jx_node jx_node;
typedef struct jx_scope jx_scope;

/* ---------------------------------------------------------------- values */

typedef enum jx_kind {
    JX_UNDEF, /* jinja2's Undefined: prints "", iterates empty, errors on use */
    JX_NONE,
    JX_BOOL,
    JX_INT,   /* Python int within int64 (overflow is an error)   */
    JX_FLOAT,
    JX_STR,   /* UTF-8; lengths and indices count code points      */
    JX_LIST,  /* a list, or a tuple (JX_TUPLE in flags)             */
    JX_DICT,  /* insertion-ordered                                  */
    JX_NS,    /* namespace(): a dict whose attributes can be set    */
    JX_LOOP,  /* a for loop's `loop`                                */
    JX_FUNC,  /* a macro, caller, global, or a bound method         */
    JX_GEN,   /* a one-pass generator (what map, select... give)    */
} jx_kind;

enum { JX_TUPLE = 1, JX_MARKUP = 2 /* a str from |safe or |escape */ };

typedef struct jx_string {
    size_t len;
    char s[]; /* NUL-terminated */
} jx_string;

typedef struct jx_val {
    uint8_t kind, flags;
    union {
        bool b;
        int64_t i;
        double f;
        jx_string *s;
        struct jx_list *l;
        struct jx_dict *d;
        struct jx_func *fn;
        struct jx_loop *loop;
        struct jx_gen *gen;
        const char *undef; /* the message using it gives */
    };
} jx_val;

typedef struct jx_list {
    size_t n, cap;
    jx_val *v;
} jx_list;

/* A generator: truthy, without a length, consumed by iterating. */
typedef struct jx_gen {
    jx_list *l;
    size_t at;
} jx_gen;

typedef struct jx_dict {
    size_t n, cap;
    jx_val *keys, *vals;
    uint32_t *index; /* open-addressed slots (entry + 1), once n > 8 */
    size_t index_cap;
} jx_dict;

/* Arguments of a call: positional, then keyword (names[i] = kv[i]);
 * at: the call's source offset, for messages. */
typedef struct jx_args {
    int n, nk;
    jx_val *pos, *kv;
    const char **names;
    size_t at;
} jx_args;

typedef jx_val (*jx_builtin)(jx *J, jx_val self, const jx_args *a);

typedef struct jx_func {
    const char *name;
    jx_builtin fn;           /* a builtin or a bound method (with self), or */
    jx_val self;
    const jx_node *macro;    /* a macro or a call block's caller            */
    jx_scope *closure;       /* where the macro was defined                 */
} jx_func;

typedef struct jx_loop {
    jx_list *items;
    size_t i;
    int depth;
    const jx_node *node;   /* the recursive for loop loop(x) runs again */
    jx_scope *scope;       /* the scope the loop runs in                */
    bool changed_set;
    jx_val changed_last;
} jx_loop;

/* --------------------------------------------------------------- limits */

typedef struct jx_limits {
    size_t memory;   /* bytes of arena                              */
    size_t output;   /* bytes of rendered text                      */
    uint64_t steps;  /* loop iterations plus macro calls            */
    int depth;       /* nested macro calls                          */
} jx_limits;

extern const jx_limits jx_default_limits;

/* heed_template_render under other limits (tests and the fuzzer). */
heed_status jx_render_limited(const char *tmpl, const char *context_json, const jx_limits *lim,
                              char **out, size_t *out_len);

/* -------------------------------------------------- the render's context */

/* A growing string in the arena. */
typedef struct jx_buf {
    char *p;
    size_t len, cap;
} jx_buf;

struct jx {
    jmp_buf fail;
    char err[512];
    heed_status status;    /* what a failure returns             */
    const char *prefix;    /* its message's first word           */
    const char *src; /* the template, newlines normalised */
    size_t src_len;
    jx_limits lim;
    /* the arena: blocks chained through their first word */
    void *blocks;
    char *cur, *end;
    size_t used;
    /* counters against the limits */
    uint64_t steps;
    int depth;
    size_t out_total;
    jx_buf *out;           /* where output goes now       */
    jx_buf *root;          /* the render's output          */
    int64_t now;           /* strftime_now's time; -1: the clock */
    int nest;              /* recursion of value printers  */
};

void *jx_alloc(jx *J, size_t n);
char *jx_strndup(jx *J, const char *s, size_t n);
/* Ends the render: message "template:LINE:COL: ..." at source offset pos
 * (SIZE_MAX: no position). */
_Noreturn void jx_fail(jx *J, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Counts one loop iteration or macro call against the limit. */
void jx_step(jx *J, size_t pos);
/* Guards recursion in printers, comparisons and conversions of nested
 * values (Python raises RecursionError there too). */
void jx_nest_enter(jx *J, size_t pos);
void jx_nest_leave(jx *J);

void jx_buf_put(jx *J, jx_buf *b, const char *s, size_t n);
void jx_buf_puts(jx *J, jx_buf *b, const char *s);
void jx_buf_printf(jx *J, jx_buf *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jx_val jx_buf_str(jx *J, const jx_buf *b);

/* ------------------------------------------------------- jinja_value.c */

jx_val jx_none(void);
jx_val jx_bool(bool b);
jx_val jx_int(int64_t i);
jx_val jx_float(double f);
jx_val jx_str(jx *J, const char *s, size_t n);
jx_val jx_cstr(jx *J, const char *s);
/* An undefined value whose use fails with msg (printf-formatted). */
jx_val jx_undef(jx *J, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
jx_val jx_list_new(jx *J, size_t cap);
void jx_list_push(jx *J, jx_list *l, jx_val v);
jx_val jx_dict_new(jx *J);
/* Key lookup; NULL when absent. Unhashable keys fail at pos. */
jx_val *jx_dict_get(jx *J, jx_dict *d, jx_val key, size_t pos);
void jx_dict_set(jx *J, jx_dict *d, jx_val key, jx_val v, size_t pos);
bool jx_hashable(jx_val k);
jx_val *jx_dict_gets(jx_dict *d, const char *key);
void jx_dict_sets(jx *J, jx_dict *d, const char *key, jx_val v);
jx_val jx_func_new(jx *J, const char *name, jx_builtin fn, jx_val self);
/* A generator over l's items. */
jx_val jx_gen_new(jx *J, jx_list *l);

/* An int or bool as Python's __index__ takes it; fails otherwise. */
int64_t jx_index(jx *J, jx_val v, size_t pos);
bool jx_truthy(jx_val v);
bool jx_is_num(jx_val v); /* bool, int, float: Python's numbers */
double jx_num(jx_val v);
bool jx_eq(jx *J, jx_val a, jx_val b);
/* Python's <, <=, >, >= (op 0..3); TypeError for unorderable pairs. */
bool jx_order(jx *J, jx_val a, jx_val b, int op, size_t pos);
int jx_cmp(jx *J, jx_val a, jx_val b, size_t pos); /* for sorting */
/* Python's str() of v into b; repr() when repr is set. */
void jx_to_buf(jx *J, jx_buf *b, jx_val v, bool repr, size_t pos);
jx_val jx_to_str(jx *J, jx_val v, size_t pos);
/* Python's repr of a float ("1.0", "1e-05", "inf"); buf of 32. */
void jx_fmt_float(double f, char *buf);
/* jinja2's name for a value's type in messages ("dict object", "None"). */
const char *jx_type_name(jx_val v);
/* Python's type name ("str", "NoneType"). */
const char *jx_py_type(jx_val v);
/* Fails if v is undefined (with its message). */
void jx_need_defined(jx *J, jx_val v, size_t pos);
/* The items iteration gives: a list's, a dict's keys, a string's
 * characters, a generator's rest (consuming it), none for undefined;
 * TypeError otherwise. */
jx_list *jx_iterate(jx *J, jx_val v, size_t pos);
/* Code points of a UTF-8 string. */
size_t jx_utf8_len(const char *s, size_t n);
/* Byte offset of code point i (clamped to n). */
size_t jx_utf8_off(const char *s, size_t n, size_t i);
/* Python's str.isspace for one code point. */
bool jx_py_space(uint32_t c);
/* Python's int + - * with overflow an error. */
int64_t jx_add_i(jx *J, int64_t a, int64_t b, size_t pos);
int64_t jx_mul_i(jx *J, int64_t a, int64_t b, size_t pos);
/* HTML escaping as markupsafe.escape does. */
jx_val jx_escape(jx *J, jx_val v, size_t pos);

/* -------------------------------------------------------- jinja_json.c */

/* Python's json.loads of text into a value (fails the render on bad JSON,
 * naming the offset). */
jx_val jx_json_read(jx *J, const char *text, size_t len, const char *what);
/* Python's json.dumps(v, ensure_ascii, indent, separators, sort_keys);
 * indent NULL for none. */
typedef struct jx_json_opts {
    bool ensure_ascii, sort_keys;
    const char *indent; /* NULL: one line                     */
    const char *item_sep, *key_sep;
} jx_json_opts;
jx_val jx_json_dump(jx *J, jx_val v, const jx_json_opts *o, size_t pos);

/* ------------------------------------------------------- jinja_lex.c */

typedef enum jx_tok_type {
    TK_EOF,
    TK_DATA,
    TK_VAR_BEGIN,
    TK_VAR_END,
    TK_BLOCK_BEGIN,
    TK_BLOCK_END,
    TK_NAME,
    TK_STRING,
    TK_INT,
    TK_FLOAT,
    TK_OP, /* op holds the operator, e.g. "//", "(" */
} jx_tok_type;

typedef struct jx_tok {
    jx_tok_type type;
    size_t pos;           /* offset in J->src                  */
    const char *s;        /* data, name, string or operator    */
    size_t len;
    int64_t i;
    double f;
} jx_tok;

/* Tokenizes J->src; *n tokens, the last TK_EOF. */
jx_tok *jx_lex(jx *J, size_t *n);

/* ------------------------------------------------------ jinja_parse.c */

typedef enum jx_node_type {
    /* expressions */
    N_CONST, N_NAME, N_GETATTR, N_GETITEM, N_SLICE, N_CALL, N_FILTER, N_TEST,
    N_NOT, N_NEG, N_POS, N_BINOP, N_AND, N_OR, N_CONCAT, N_COMPARE, N_COND,
    N_LIST, N_TUPLE, N_DICT, N_NSREF,
    /* statements */
    N_BODY, N_DATA, N_OUTPUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_CALLBLOCK,
    N_FILTERBLOCK, N_WITH, N_BREAK, N_CONTINUE, N_BLOCK,
} jx_node_type;

/* Operators of N_BINOP and N_COMPARE. */
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW,
       OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN };

/* One node; which fields mean what is per type (jinja_parse.c says). */
struct jx_node {
    jx_node_type type;
    int op;
    size_t pos;              /* source offset, for line:col          */
    jx_node *a, *b, *c, *d, *e;
    jx_node **kids;          /* items, arguments, statements          */
    size_t n;
    jx_node **kw;            /* keyword argument values, defaults      */
    const char **names;      /* their names; parameter names           */
    size_t nk;
    const char *name, *attr;
    jx_val val;
    bool flag;               /* for: recursive                         */
};

/* Parses J->src into a body; fails the render on a syntax error. */
jx_node *jx_parse(jx *J);

/* ------------------------------------------------------- jinja_eval.c */

struct jx_scope {
    jx_scope *parent;
    jx_dict vars;
};

jx_scope *jx_scope_new(jx *J, jx_scope *parent);
/* Renders body with the variables of ctx (a dict) into J->out. */
void jx_run(jx *J, const jx_node *body, jx_val ctx);
/* Python's a op b for OP_ADD .. OP_POW; `needle in hay`. */
jx_val jx_binop(jx *J, int op, jx_val a, jx_val b, size_t pos);
bool jx_contains(jx *J, jx_val hay, jx_val needle, size_t pos);
/* Calls a function value (macro, builtin, method). */
jx_val jx_call(jx *J, jx_val fn, const jx_args *a, size_t pos);

/* ----------------------------------------------------- jinja_filter.c */

/* Applies filter name to v (fails on an unknown one). */
jx_val jx_filter(jx *J, const char *name, jx_val v, const jx_args *a, size_t pos);
bool jx_filter_exists(const char *name);
bool jx_test(jx *J, const char *name, jx_val v, const jx_args *a, size_t pos);
bool jx_test_exists(const char *name);

/* Argument i (positional) or name (keyword) of a builtin; def when absent.
 * jx_args_check fails on more positional arguments than max or a keyword
 * not in names (NULL-terminated). */
jx_val jx_arg(const jx_args *a, int i, const char *name, jx_val def);
void jx_args_check(jx *J, const jx_args *a, int max, const char *const *names,
                   const char *what, size_t pos);

/* ----------------------------------------------------- jinja_method.c */

/* obj.attr as jinja2's sandboxed getattr does (attribute, then item);
 * obj[key] as its getitem does (item, then attribute). */
jx_val jx_getattr(jx *J, jx_val obj, const char *attr, size_t pos);
jx_val jx_getitem(jx *J, jx_val obj, jx_val key, size_t pos);
/* The attribute (a method) of obj by name, as the attr filter reads it:
 * no items. */
jx_val jx_method(jx *J, jx_val obj, const char *name);
/* obj[start:stop:step] (each may be None). */
jx_val jx_slice(jx *J, jx_val obj, jx_val start, jx_val stop, jx_val step, size_t pos);
/* str methods shared with filters */
jx_val jx_str_strip(jx *J, jx_val s, jx_val chars, int which, size_t pos);
jx_val jx_str_replace(jx *J, jx_val s, jx_val old, jx_val new_, int64_t count, size_t pos);
jx_val jx_str_case(jx *J, jx_val s, int how, size_t pos);
enum { CASE_LOWER, CASE_UPPER, CASE_TITLE, CASE_CAPITALIZE };

/* ----------------------------------------------------- jinja_global.c */

/* Adds range, namespace, dict, raise_exception, strftime_now, cycler,
 * joiner to a scope. */
void jx_add_globals(jx *J, jx_scope *s);

#endif
