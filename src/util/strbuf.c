/* strbuf.c — the growable string of strbuf.h. */
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->oom || n > SIZE_MAX / 2 - b->n) {
        b->oom = true;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

void sb_putc(strbuf *b, char c) { sb_add(b, &c, 1); }

void sb_cut(strbuf *b, size_t n)
{
    if (n < b->n) {
        b->n = n;
        b->s[n] = 0;
    }
}

char *sb_take(strbuf *b)
{
    char *s = b->oom ? NULL : b->s ? b->s : strdup("");
    if (b->oom)
        free(b->s);
    *b = (strbuf){0};
    return s;
}

void sb_free(strbuf *b)
{
    free(b->s);
    *b = (strbuf){0};
}
