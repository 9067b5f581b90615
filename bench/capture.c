/*
 * capture.c — what attention capture costs: prefill tokens/s of a prompt
 * of N random tokens with no capture and with every layer and head
 * captured (dense rows in memory), alternating, median of R runs each.
 *
 *   build/bench_capture MODEL [-n 128,1024] [-r 5] [-t THREADS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heed.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds to evaluate ids once in a fresh context (with cap attached). */
static double prefill(const heed_model *m, const int32_t *ids, int n, int threads,
                      heed_capture *cap)
{
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n;
    cp.n_threads = threads;
    heed_context *c;
    if (heed_context_new(m, &cp, &c)) {
        fprintf(stderr, "bench_capture: %s\n", heed_last_error());
        exit(1);
    }
    heed_context_set_capture(c, cap);
    const double t0 = now();
    if (heed_context_eval(c, ids, n, NULL, false)) {
        fprintf(stderr, "bench_capture: %s\n", heed_last_error());
        exit(1);
    }
    const double t = now() - t0;
    heed_context_free(c);
    return t;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *sizes = "128,1024";
    int reps = 5, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            sizes = argv[++i];
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else
            model = argv[i];
    }
    heed_model *m;
    if (!model || reps < 1 || heed_model_load(model, &m)) {
        fprintf(stderr, "usage: bench_capture MODEL [-n 128,1024] [-r 5] [-t THREADS]%s%s\n",
                model ? "\n" : "", model ? heed_last_error() : "");
        return 2;
    }
    printf("%s, %d reps, ISA %s\n", model, reps, heed_cpu_isa());
    printf("%6s %12s %12s %9s %10s\n", "tokens", "plain t/s", "capture t/s", "overhead",
           "capture MiB");
    for (const char *s = sizes; *s; s += strspn(s, ",")) {
        const int n = (int)strtol(s, (char **)&s, 10);
        if (n < 1)
            break;
        int32_t *ids = malloc(sizeof *ids * (size_t)n);
        for (int i = 0; i < n; i++) /* fixed pseudo-random ids */
            ids[i] = (int32_t)((1103515245u * (unsigned)i + 12345u) % (unsigned)heed_model_n_vocab(m));
        heed_capture_params p = heed_capture_default_params(n);
        p.max_bytes = INT64_MAX;
        double *plain = malloc(sizeof *plain * (size_t)reps), *seen = malloc(sizeof *seen * (size_t)reps);
        prefill(m, ids, n, threads, NULL); /* warm-up */
        for (int r = 0; r < reps; r++) {
            heed_capture *cap;
            if (heed_capture_new(m, &p, &cap)) {
                fprintf(stderr, "bench_capture: %s\n", heed_last_error());
                return 1;
            }
            plain[r] = prefill(m, ids, n, threads, NULL);
            seen[r] = prefill(m, ids, n, threads, cap);
            heed_capture_free(cap);
        }
        qsort(plain, (size_t)reps, sizeof *plain, by_value);
        qsort(seen, (size_t)reps, sizeof *seen, by_value);
        const double a = n / plain[reps / 2], b = n / seen[reps / 2];
        printf("%6d %12.1f %12.1f %8.1f%% %10.1f\n", n, a, b, 100.0 * (a / b - 1.0),
               (double)heed_capture_bytes(m, &p) / 1048576.0);
        free(plain);
        free(seen);
        free(ids);
    }
    heed_model_free(m);
    return 0;
}
