/* testutil.h — helpers shared by the Criterion tests. */
#ifndef HEED_TESTUTIL_H
#define HEED_TESTUTIL_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heed.h"
#include "util/splitmix.h"

/* The reference fixtures folder ($HEED_FIXTURES, else ../shared/fixtures
 * beside the project root), or NULL when it is not there. */
const char *test_fixtures_dir(void);

/* Fills buf with the path of fixture `name`; skips the test (with a message
 * saying how to point at the fixtures) when the folder is missing. */
#define FIXTURE_PATH(buf, name)                                                 \
    do {                                                                        \
        const char *dir_ = test_fixtures_dir();                                 \
        if (!dir_)                                                              \
            cr_skip_test("fixtures not found: set HEED_FIXTURES");              \
        snprintf((buf), sizeof(buf), "%s/%s", dir_, (name));                    \
    } while (0)

/* Reads a whole file, adding a NUL after its end; NULL if it cannot.
 * Free with free(). */
void *test_read_file(const char *path, size_t *size);

/* A path under a per-process temporary folder, e.g. for output files,
 * removed with its contents when the process exits. The result is a
 * static buffer that the next call overwrites. */
const char *test_tmp_path(const char *name);

/* Runs the CLI (build/heed) with args (a shell-quoted string); returns its
 * exit code and, when out is not NULL, its stdout (malloc'd). stderr is
 * dropped unless args redirects it (e.g. "... 2>&1"). */
int test_run_cli(const char *args, char **out);

/* heed_context_capture of ids on a context of its own (n positions). */
heed_status test_capture_prompt(const heed_model *m, const int32_t *ids, int n, int64_t max_bytes,
                                heed_capture **out);

/* argmax of x[0..n), ties to the lowest id (as the references break them). */
int32_t test_argmax(const float *x, int32_t n);

/* A JSON array of numbers as ids (malloc'd, *n of them). */
int32_t *test_json_ids(const cJSON *a, int *n);

/* Greedy decoding on ctx after a prompt whose last logits are `last`:
 * each argmax must be want[s] for s < n, and is evaluated at the next
 * position; logits has room for n_vocab floats. */
void test_expect_greedy(heed_context *ctx, const float *last, const int32_t *want, int n,
                        int32_t n_vocab, float *logits, const char *name);

/* The tests' one random generator, SplitMix64 from a seed in *s:
 * uniform in [0, 1), uniform in [-1, 1), standard normal. */
static inline double test_unif01(uint64_t *s) { return (double)(heed_splitmix64(s) >> 11) * 0x1p-53; }
static inline float test_unif(uint64_t *s) { return (float)(2 * test_unif01(s) - 1); }
static inline float test_gauss(uint64_t *s)
{
    const double u = test_unif01(s) + 0x1p-60, v = test_unif01(s);
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

#endif
