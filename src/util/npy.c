/* npy.c — writing float32 .npy files (see npy.h). */
#include "util/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"

size_t heed_npy_header(char *buf, const int64_t *shape, int ndim)
{
    char dict[HEED_NPY_MAX_HEADER];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++) /* as numpy writes it: (n,) and (a, b) */
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%lld%s", i ? ", " : "",
                        (long long)shape[i], ndim == 1 ? "," : "");
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    const size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64; /* + '\n', padded */
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    const size_t hlen = total - 10;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    return total;
}

static int64_t count(const int64_t *shape, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

heed_status heed_npy_write(const char *path, const float *data, const int64_t *shape, int ndim)
{
    /* A public entry point: the shape is checked before anything is written. */
    if (!path || !shape || ndim < 1 || ndim > 8)
        return heed_fail(HEED_ERR_ARG, "npy: want a path and 1 to 8 dimensions, not %d", ndim);
    int64_t elems = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && elems > INT64_MAX / 4 / shape[i]))
            return heed_fail(HEED_ERR_ARG, "%s: dimension %d of %lld is out of range", path,
                             i, (long long)shape[i]);
        elems *= shape[i];
    }
    if (!data && elems)
        return heed_fail(HEED_ERR_ARG, "%s: no data for %lld floats", path, (long long)elems);
    char header[HEED_NPY_MAX_HEADER];
    const size_t hlen = heed_npy_header(header, shape, ndim);
    const size_t n = (size_t)count(shape, ndim);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(header, 1, hlen, f) == hlen && fwrite(data, sizeof *data, n, f) == n;
    if (f && fclose(f) != 0)
        ok = false;
    return ok ? HEED_OK : heed_fail(HEED_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
}

heed_status heed_npy_map_create(const char *path, const int64_t *shape, int ndim,
                                heed_npy_map *out)
{
    memset(out, 0, sizeof *out);
    char header[HEED_NPY_MAX_HEADER];
    const size_t hlen = heed_npy_header(header, shape, ndim);
    const size_t size = hlen + sizeof(float) * (size_t)count(shape, ndim);
    const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return heed_fail(HEED_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int err = posix_fallocate(fd, 0, (off_t)size);
    void *base = MAP_FAILED;
    if (!err) {
        base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        err = base == MAP_FAILED ? errno : 0;
    }
    close(fd);
    if (err) {
        unlink(path);
        return heed_fail(HEED_ERR_IO, "%s: cannot make a %.1f MiB file: %s", path,
                         (double)size / 1048576.0, strerror(err));
    }
    memcpy(base, header, hlen);
    out->base = base;
    out->size = size;
    out->data = (float *)((char *)base + hlen);
    return HEED_OK;
}

void heed_npy_map_close(heed_npy_map *m)
{
    if (m->base)
        munmap(m->base, m->size);
    memset(m, 0, sizeof *m);
}
