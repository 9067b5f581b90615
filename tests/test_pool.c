/* test_pool.c — the fork-join thread pool. */
#include <stdatomic.h>

#include "kernels/pool.h"
#include "testutil.h"

typedef struct job {
    _Atomic int calls;
    int seen[8];
    int64_t covered[1000];
} job;

static void record(void *arg, int ith, int nth)
{
    job *j = arg;
    atomic_fetch_add(&j->calls, 1);
    j->seen[ith] = nth;
    int64_t b, e;
    heed_pool_share(1000, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++)
        j->covered[i]++;
}

Test(pool, every_thread_runs_once_and_shares_cover_the_items_once)
{
    for (int n = 1; n <= 5; n++) {
        heed_pool *p;
        cr_assert_eq(heed_pool_new(n, &p), HEED_OK);
        cr_assert_eq(heed_pool_size(p), n);
        for (int rep = 0; rep < 50; rep++) {
            job j = {0};
            heed_pool_run(p, record, &j);
            cr_assert_eq(atomic_load(&j.calls), n);
            for (int t = 0; t < n; t++)
                cr_assert_eq(j.seen[t], n);
            for (int i = 0; i < 1000; i++)
                cr_assert_eq(j.covered[i], 1, "item %d with %d threads", i, n);
        }
        heed_pool_free(p);
    }
    heed_pool *p;
    cr_expect_eq(heed_pool_new(0, &p), HEED_ERR_ARG);
    cr_expect_null(p);
}

Test(pool, share_is_balanced)
{
    int64_t b, e;
    heed_pool_share(10, 0, 3, &b, &e);
    cr_expect(b == 0 && e == 4);
    heed_pool_share(10, 1, 3, &b, &e);
    cr_expect(b == 4 && e == 7);
    heed_pool_share(10, 2, 3, &b, &e);
    cr_expect(b == 7 && e == 10);
    heed_pool_share(2, 3, 4, &b, &e);
    cr_expect(b == 2 && e == 2);
}
