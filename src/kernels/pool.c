/*
 * pool.c — fork-join worker threads (see pool.h). A forward pass runs a
 * hundred or more short jobs per token, so handing out a job must cost
 * far less than a futex round trip: a job is announced by bumping an
 * atomic generation counter that idle workers spin on, and the caller
 * spins until the pending count drops to zero (after SPIN_LIMIT pauses it
 * yields its core instead). A worker that sees no job for a while
 * (SPIN_LIMIT pauses, about a millisecond) goes to sleep on a condition
 * variable, and the caller wakes sleepers when there are any.
 */
#include "kernels/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

enum { SPIN_LIMIT = 1 << 14 };

typedef struct worker {
    heed_pool *pool;
    int ith;
    pthread_t thread;
} worker;

struct heed_pool {
    int n;                        /* threads in all, the caller included      */
    worker *workers;              /* [n - 1]                                  */
    _Atomic uint64_t generation;  /* bumped for every job (and to stop)       */
    _Atomic int pending;          /* workers still running the current job    */
    _Atomic int sleepers;         /* workers asleep on wake                   */
    _Atomic bool stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    void (*fn)(void *arg, int ith, int nth);
    void *arg;
};

/* Waits until the generation differs from seen; returns the new one. */
static uint64_t wait_for_job(heed_pool *p, uint64_t seen)
{
    uint64_t g;
    for (int spins = 0; spins < SPIN_LIMIT; spins++) {
        if ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) != seen)
            return g;
        cpu_relax();
    }
    /* sleepers is raised before the generation is read again, and the
     * caller bumps the generation before it reads sleepers (both sequentially
     * consistent): either this thread sees the job or the caller sees the
     * sleeper and broadcasts under the lock, after this thread waits. */
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while ((g = atomic_load(&p->generation)) == seen)
        pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return g;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    heed_pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop))
            break;
        p->fn(p->arg, w->ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

heed_status heed_pool_new(int n_threads, heed_pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return heed_fail(HEED_ERR_ARG, "thread count %d is out of range (1..1024)", n_threads);
    heed_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc((size_t)n_threads, sizeof *p->workers))) {
        free(p);
        return heed_fail(HEED_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->n = 1;
    for (int i = 1; i < n_threads; i++) {
        worker *w = &p->workers[i - 1];
        *w = (worker){p, i, 0};
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break; /* run with the threads that did start */
        p->n = i + 1;
    }
    *out = p;
    return HEED_OK;
}

/* Publishes a new generation and wakes any sleeping worker. */
static void announce(heed_pool *p)
{
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
}

void heed_pool_free(heed_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    announce(p);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->workers[i - 1].thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
}

int heed_pool_size(const heed_pool *p) { return p->n; }

void heed_pool_run(heed_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    announce(p); /* releases fn, arg and pending to the workers */
    fn(arg, 0, p->n);
    /* spin, then yield: when the cores are oversubscribed (another process,
     * or other pools) a worker that lost its core needs this one to run */
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < SPIN_LIMIT)
            cpu_relax();
        else
            sched_yield();
    }
}

void heed_pool_share(int64_t n, int ith, int nth, int64_t *begin, int64_t *end)
{
    const int64_t per = n / nth, extra = n % nth;
    *begin = ith * per + (ith < extra ? ith : extra);
    *end = *begin + per + (ith < extra);
}

typedef struct range_job {
    void (*fn)(void *ctx, int64_t begin, int64_t end, int ith);
    void *ctx;
    int64_t n;
} range_job;

static void range_share(void *arg, int ith, int nth)
{
    const range_job *j = arg;
    int64_t b, e;
    heed_pool_share(j->n, ith, nth, &b, &e);
    if (b < e)
        j->fn(j->ctx, b, e, ith);
}

void heed_pool_for(heed_pool *p, int64_t n,
                   void (*fn)(void *ctx, int64_t begin, int64_t end, int ith), void *ctx)
{
    range_job j = {fn, ctx, n};
    heed_pool_run(p, range_share, &j);
}
