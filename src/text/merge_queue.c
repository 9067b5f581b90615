/* merge_queue.c — the binary min-heap of candidate merges (see
 * merge_queue.h). */
#include "text/merge_queue.h"

#include <stdlib.h>

/* true when a pops before b */
static int before(const heed_bigram *a, const heed_bigram *b)
{
    return a->priority < b->priority || (a->priority == b->priority && a->left < b->left);
}

int heed_merge_queue_push(heed_merge_queue *q, heed_bigram b)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? 2 * q->cap : 64;
        heed_bigram *p = realloc(q->v, nc * sizeof *p);
        if (!p)
            return -1;
        q->v = p;
        q->cap = nc;
    }
    size_t i = q->n++;
    while (i && before(&b, &q->v[(i - 1) / 2])) {
        q->v[i] = q->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->v[i] = b;
    return 0;
}

heed_bigram heed_merge_queue_pop(heed_merge_queue *q)
{
    heed_bigram top = q->v[0], last = q->v[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(&q->v[c + 1], &q->v[c]))
            c++;
        if (!before(&q->v[c], &last))
            break;
        q->v[i] = q->v[c];
        i = c;
    }
    if (q->n)
        q->v[i] = last;
    return top;
}
