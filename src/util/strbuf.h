/* strbuf.h — a growable byte string, always NUL-terminated, that remembers
 * a failed allocation instead of reporting each one: build, then check
 * `oom` once. */
#ifndef HEED_UTIL_STRBUF_H
#define HEED_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *s;   /* NULL until something is added */
    size_t n, cap;
    bool oom;  /* an allocation failed: the contents are incomplete */
} strbuf;

void sb_add(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
/* Cuts the string back to n bytes (n <= b->n). */
void sb_cut(strbuf *b, size_t n);
/* Hands the string over (malloc'd, "" when empty; NULL after a failed
 * allocation) and leaves b empty. */
char *sb_take(strbuf *b);
void sb_free(strbuf *b);

#endif
