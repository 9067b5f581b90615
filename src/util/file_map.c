/* file_map.c — read-only whole-file mappings (see file_map.h). */
#include "util/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

heed_status heed_file_map(const char *path, const void **data, uint64_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return heed_fail(HEED_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return heed_fail(HEED_ERR_IO, "%s: not a regular file", path);
    }
    heed_status st = HEED_OK;
    if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            st = heed_fail(HEED_ERR_IO, "%s: cannot map %lld bytes: %s", path,
                           (long long)sb.st_size, strerror(errno));
        else {
            *data = p;
            *size = (uint64_t)sb.st_size;
        }
    }
    close(fd); /* the mapping keeps the file */
    return st;
}

void heed_file_unmap(const void *data, uint64_t size)
{
    if (data)
        munmap((void *)data, (size_t)size);
}

void heed_file_drop(const void *p, uint64_t n)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t begin = ((uintptr_t)p + page - 1) / page * page;
    const uintptr_t end = ((uintptr_t)p + (uintptr_t)n) / page * page;
    if (end > begin)
        madvise((void *)begin, end - begin, MADV_DONTNEED);
}
