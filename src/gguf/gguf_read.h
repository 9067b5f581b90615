/* gguf_read.h — what the reader offers the rest of the library beyond heed.h. */
#ifndef HEED_GGUF_READ_H
#define HEED_GGUF_READ_H

#include <stdint.h>

#include "heed.h"

/* The bytes [p, p + n) of g's tensor data will not be read again soon:
 * a file mapping drops their pages from this process's memory (they come
 * back from the page cache if touched); a caller's buffer is left alone. */
void heed_gguf_drop(const heed_gguf *g, const void *p, uint64_t n);

#endif
