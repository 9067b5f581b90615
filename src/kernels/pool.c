/* pool.c — fork-join worker threads (see pool.h). Workers sleep on a
 * condition variable between jobs; a job is announced by bumping a
 * generation counter, and the caller waits until all workers report. */
#include "kernels/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/error.h"

typedef struct worker {
    heed_pool *pool;
    int ith;
    pthread_t thread;
} worker;

struct heed_pool {
    int n;                    /* threads in all, the caller included          */
    worker *workers;          /* [n - 1]                                      */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation;      /* bumped for every job                         */
    int pending;              /* workers still running the current job        */
    bool stop;
    void (*fn)(void *arg, int ith, int nth);
    void *arg;
};

static void *worker_main(void *p)
{
    worker *w = p;
    heed_pool *pool = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->stop)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        pool->fn(pool->arg, w->ith, pool->n);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
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
    pthread_cond_init(&p->done, NULL);
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

void heed_pool_free(heed_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->workers[i - 1].thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
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
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->pending = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    fn(arg, 0, p->n);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void heed_pool_share(int64_t n, int ith, int nth, int64_t *begin, int64_t *end)
{
    const int64_t per = n / nth, extra = n % nth;
    *begin = ith * per + (ith < extra ? ith : extra);
    *end = *begin + per + (ith < extra);
}
