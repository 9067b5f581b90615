/* jinja_arena.c — a render's memory, its errors and its growing strings.
 * Everything a render makes is carved from blocks of one arena, freed at
 * once when it ends; the limits it checks are counted here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja.h"

const jx_limits jx_default_limits = {
    .memory = 256u << 20,
    .output = 16u << 20,
    .steps = 1000000,
    .depth = 100,
};

enum { BLOCK = 64 << 10 };

/* Blocks are chained through their first word; big requests get a block
 * of their own. */
void *jx_alloc(jx *J, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n <= (size_t)(J->end - J->cur)) {
        void *p = J->cur;
        J->cur += n;
        return p;
    }
    const size_t size = n + 16 > BLOCK ? n + 16 : BLOCK;
    if (n > J->lim.memory || J->used + size > J->lim.memory)
        jx_fail(J, SIZE_MAX, "the template needs more than %zu KiB of memory",
                J->lim.memory >> 10);
    char *b = malloc(size);
    if (!b)
        jx_fail(J, SIZE_MAX, "out of memory");
    J->used += size;
    *(void **)b = J->blocks;
    J->blocks = b;
    if (size == BLOCK) {
        J->cur = b + 16 + n;
        J->end = b + size;
    }
    return b + 16;
}

char *jx_strndup(jx *J, const char *s, size_t n)
{
    char *p = jx_alloc(J, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Line and column (in code points) of offset pos, both from 1. */
static void line_col(const jx *J, size_t pos, int *line, int *col)
{
    *line = 1;
    size_t start = 0;
    for (size_t i = 0; i < pos && i < J->src_len; i++)
        if (J->src[i] == '\n') {
            ++*line;
            start = i + 1;
        }
    *col = 1;
    for (size_t i = start; i < pos && i < J->src_len; i++)
        *col += ((unsigned char)J->src[i] & 0xc0) != 0x80;
}

void jx_fail(jx *J, size_t pos, const char *fmt, ...)
{
    int off = 0;
    if (pos != SIZE_MAX) {
        int line, col;
        line_col(J, pos, &line, &col);
        off = snprintf(J->err, sizeof J->err, "%s:%d:%d: ", J->prefix, line, col);
    } else {
        off = snprintf(J->err, sizeof J->err, "%s: ", J->prefix);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(J->err + off, sizeof J->err - (size_t)off, fmt, ap);
    va_end(ap);
    longjmp(J->fail, 1);
}

void jx_step(jx *J, size_t pos)
{
    if (++J->steps > J->lim.steps)
        jx_fail(J, pos, "the template ran more than %llu loop iterations and macro calls",
                (unsigned long long)J->lim.steps);
}

void jx_nest_enter(jx *J, size_t pos)
{
    if (++J->nest > 512)
        jx_fail(J, pos, "a value is nested too deeply");
}

void jx_nest_leave(jx *J) { J->nest--; }

void jx_buf_put(jx *J, jx_buf *b, const char *s, size_t n)
{
    if (b == J->root && (J->out_total += n) > J->lim.output)
        jx_fail(J, SIZE_MAX, "the output exceeds %zu KiB", J->lim.output >> 10);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > J->lim.memory)
                jx_fail(J, SIZE_MAX, "the template needs more than %zu KiB of memory",
                        J->lim.memory >> 10);
            cap *= 2;
        }
        char *p = jx_alloc(J, cap);
        if (b->len)
            memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void jx_buf_puts(jx *J, jx_buf *b, const char *s) { jx_buf_put(J, b, s, strlen(s)); }

void jx_buf_printf(jx *J, jx_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    jx_buf_put(J, b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

jx_val jx_buf_str(jx *J, const jx_buf *b) { return jx_str(J, b->p ? b->p : "", b->len); }
