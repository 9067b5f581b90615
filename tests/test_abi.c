/*
 * test_abi.c — heed.h is the whole ABI (tests/abi/run.sh checks the shared
 * library's symbols against it), the versions it states are the library's,
 * and its constructors report failure through a status.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

Test(abi, exports_exactly_heed_h)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "sh %s/tests/abi/run.sh %s %s/include/heed.h 2>&1",
             HEED_SOURCE_DIR, HEED_SHARED_LIB, HEED_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char out[8192];
    const size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_expect_eq(pclose(p), 0, "%s", out);
}

Test(abi, versions)
{
    cr_expect_eq(heed_abi_version(), HEED_ABI_VERSION);
    cr_expect_str_eq(heed_version(), HEED_VERSION);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", HEED_VERSION_MAJOR, HEED_VERSION_MINOR,
             HEED_VERSION_PATCH);
    cr_expect_str_eq(HEED_VERSION, want);
}

Test(abi, constructors_return_a_status)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_expect_not_null(w);
    heed_gguf_writer_free(w);
    cr_expect_eq(heed_gguf_writer_new(NULL), HEED_ERR_ARG);

    heed_detok_stream *s = (heed_detok_stream *)&w; /* must be overwritten */
    cr_expect_eq(heed_detok_stream_new(NULL, false, &s), HEED_ERR_ARG);
    cr_expect_null(s);
    cr_expect(strstr(heed_last_error(), "vocabulary"), "%s", heed_last_error());
}

Test(abi, type_from_name_gives_a_heed_type)
{
    const heed_type t = heed_type_from_name("q8_0");
    cr_expect_eq(t, HEED_TYPE_Q8_0);
    cr_expect_eq(heed_type_from_name("q9_9"), HEED_TYPE_NONE);
    cr_expect_null(heed_type_get(HEED_TYPE_NONE));
    cr_expect_eq(heed_type_row_size(HEED_TYPE_NONE, 32), 0);
}

Test(abi, npy_write_checks_its_shape)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t good[2] = {2, 3}, negative[2] = {2, -3};
    const int64_t huge[2] = {INT64_MAX / 2, 4};
    const char *path = test_tmp_path("abi.npy");
    cr_expect_eq(heed_npy_write(path, x, negative, 2), HEED_ERR_ARG);
    cr_expect_eq(heed_npy_write(path, x, huge, 2), HEED_ERR_ARG);
    cr_expect_eq(heed_npy_write(path, x, good, 0), HEED_ERR_ARG);
    cr_expect_eq(heed_npy_write(path, x, good, 9), HEED_ERR_ARG);
    cr_expect_eq(heed_npy_write(path, NULL, good, 2), HEED_ERR_ARG);
    cr_assert_eq(heed_npy_write(path, x, good, 2), HEED_OK, "%s", heed_last_error());
    size_t size = 0;
    unsigned char *f = test_read_file(path, &size);
    cr_assert_not_null(f);
    cr_assert_gt(size, 10);
    const size_t data_at = 10 + (size_t)(f[8] | f[9] << 8); /* a multiple of 64 */
    cr_expect_eq(data_at % 64, 0);
    cr_assert_eq(size, data_at + sizeof x);
    cr_expect(memcmp(f, "\x93NUMPY\x01\x00", 8) == 0);
    cr_expect(strstr((char *)f + 10, "'shape': (2, 3)"), "%.64s", f + 10);
    cr_expect(memcmp(f + data_at, x, sizeof x) == 0);
    free(f);
    cr_expect_eq(heed_npy_write("/nonexistent-dir/x.npy", x, good, 2), HEED_ERR_IO);
}

Test(abi, membw_checks_its_argument)
{
    cr_expect_eq(heed_cpu_membw(1, NULL), HEED_ERR_ARG);
}
