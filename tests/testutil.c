/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *test_fixtures_dir(void)
{
    static char dir[4096];
    struct stat st;
    const char *env = getenv("HEED_FIXTURES");
    if (env && *env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%s/../shared/fixtures", HEED_SOURCE_DIR);
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

void *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0'; /* so text files can be used as strings */
    fclose(f);
    if (buf && size)
        *size = (size_t)n;
    return buf;
}

static char tmp_dir[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT;
}

/* The folder and what the test wrote in it go when the test's process
 * exits. */
static void remove_tmp_dir(void)
{
    if (tmp_dir[0])
        nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmp_path(const char *name)
{
    static char path[512];
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "%s/heed-test-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmp_dir))
            cr_assert_fail("mkdtemp failed");
        atexit(remove_tmp_dir);
    }
    const char *dir = tmp_dir;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

int test_run_cli(const char *args, char **out)
{
    char cmd[8192];
    /* stderr is dropped unless the caller redirects it. */
    snprintf(cmd, sizeof cmd, "%s %s%s", HEED_CLI, args, strstr(args, "2>") ? "" : " 2>/dev/null");
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (buf)
        buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int32_t test_argmax(const float *x, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int32_t *test_json_ids(const cJSON *a, int *n)
{
    *n = cJSON_GetArraySize(a);
    int32_t *ids = malloc(sizeof *ids * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++)
        ids[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return ids;
}

void test_expect_greedy(heed_context *ctx, const float *last, const int32_t *want, int n,
                        int32_t n_vocab, float *logits, const char *name)
{
    int32_t next = test_argmax(last, n_vocab);
    for (int s = 0; s < n; s++) {
        cr_assert_eq(next, want[s], "%s: greedy step %d: got %d, want %d", name, s, next,
                     want[s]);
        cr_assert_eq(heed_context_eval(ctx, &next, 1, logits, false), HEED_OK, "%s",
                     heed_last_error());
        next = test_argmax(logits, n_vocab);
    }
}

heed_status test_capture_prompt(const heed_model *m, const int32_t *ids, int n, int64_t max_bytes,
                                heed_capture **out)
{
    heed_context_params p = heed_context_default_params();
    p.n_ctx = n;
    heed_context *c;
    heed_status st = heed_context_new(m, &p, &c);
    if (st)
        return st;
    st = heed_context_capture(c, ids, n, max_bytes, out);
    heed_context_free(c);
    return st;
}
