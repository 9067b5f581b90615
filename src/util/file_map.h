/* file_map.h — a whole file mapped read-only into memory. */
#ifndef HEED_UTIL_FILE_MAP_H
#define HEED_UTIL_FILE_MAP_H

#include <stdint.h>

#include "heed.h"

/* Maps the regular file at path; an empty file gives *data NULL, *size 0.
 * Release with heed_file_unmap. */
heed_status heed_file_map(const char *path, const void **data, uint64_t *size);
void heed_file_unmap(const void *data, uint64_t size);

/* Drops the whole pages inside [p, p + n) of a mapping heed_file_map made
 * from this process's memory (the page cache keeps them; touching them
 * again reads them back), e.g. once a copy of them has been made. */
void heed_file_drop(const void *p, uint64_t n);

#endif
