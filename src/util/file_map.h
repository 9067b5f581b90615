/* file_map.h — a whole file mapped read-only into memory. */
#ifndef HEED_UTIL_FILE_MAP_H
#define HEED_UTIL_FILE_MAP_H

#include <stdint.h>

#include "heed.h"

/* Maps the regular file at path; an empty file gives *data NULL, *size 0.
 * Release with heed_file_unmap. */
heed_status heed_file_map(const char *path, const void **data, uint64_t *size);
void heed_file_unmap(const void *data, uint64_t size);

#endif
