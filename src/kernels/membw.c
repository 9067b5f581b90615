/*
 * membw.c — the memory read bandwidth heed's worker threads achieve
 * (heed_cpu_membw, heed.h): the same pool the kernels run on, each thread
 * summing its share of a buffer far larger than any cache.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/pool.h"
#include "util/clock.h"
#include "util/error.h"

typedef struct read_job {
    const uint64_t *buf;
    int64_t words;
    uint64_t sink[64]; /* the sums, so the reads are not optimised away */
} read_job;

static void read_share(void *arg, int ith, int nth)
{
    read_job *j = arg;
    int64_t begin, end;
    heed_pool_share(j->words / 8, ith, nth, &begin, &end);
    uint64_t a = 0, b = 0, c = 0, d = 0; /* independent chains: loads overlap */
    for (int64_t i = begin * 8; i < end * 8; i += 8) {
        a ^= j->buf[i] + j->buf[i + 4];
        b ^= j->buf[i + 1] + j->buf[i + 5];
        c ^= j->buf[i + 2] + j->buf[i + 6];
        d ^= j->buf[i + 3] + j->buf[i + 7];
    }
    j->sink[ith % 64] = a ^ b ^ c ^ d;
}

heed_status heed_cpu_membw(int n_threads, double *gbps)
{
    if (!gbps)
        return heed_fail(HEED_ERR_ARG, "heed_cpu_membw: gbps is NULL");
    *gbps = 0;
    const int64_t bytes = (int64_t)1 << 30;
    heed_pool *pool = NULL;
    read_job *j = calloc(1, sizeof *j);
    uint64_t *buf = malloc((size_t)bytes);
    heed_status st = !j || !buf ? heed_fail(HEED_ERR_NOMEM, "out of memory for a 1 GiB buffer")
                                : heed_pool_new(n_threads > 0 ? n_threads : heed_cpu_cores(),
                                                &pool);
    if (!st) {
        memset(buf, 1, (size_t)bytes); /* fault every page in first */
        *j = (read_job){.buf = buf, .words = bytes / 8};
        for (int r = 0; r < 5; r++) {
            const double t0 = heed_seconds();
            heed_pool_run(pool, read_share, j);
            const double g = (double)bytes / (heed_seconds() - t0) / 1e9;
            *gbps = g > *gbps ? g : *gbps;
        }
    }
    heed_pool_free(pool);
    free(buf);
    free(j);
    return st;
}
