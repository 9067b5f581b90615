/*
 * pool.h — a fixed set of worker threads that run one function at a time
 * across all of them (fork-join): the caller takes part as thread 0, and
 * heed_pool_run returns when every thread has finished.
 */
#ifndef HEED_KERNELS_POOL_H
#define HEED_KERNELS_POOL_H

#include "heed.h"

typedef struct heed_pool heed_pool;

/* A pool of n_threads in all (n_threads - 1 workers plus the caller). */
heed_status heed_pool_new(int n_threads, heed_pool **out);
/* Stops and joins the workers; accepts NULL. */
void heed_pool_free(heed_pool *p);
int heed_pool_size(const heed_pool *p);

/* Calls fn(arg, ith, nth) once for each ith in [0, nth), nth the pool size,
 * concurrently; returns after all calls return. Not reentrant. */
void heed_pool_run(heed_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg);

/* Calls fn(ctx, begin, end, ith) on every thread ith with a non-empty
 * share [begin, end) of n items (heed_pool_share); returns after all. */
void heed_pool_for(heed_pool *p, int64_t n,
                   void (*fn)(void *ctx, int64_t begin, int64_t end, int ith), void *ctx);

/* The share [*begin, *end) of n items that thread ith of nth takes. */
void heed_pool_share(int64_t n, int ith, int nth, int64_t *begin, int64_t *end);

#endif
