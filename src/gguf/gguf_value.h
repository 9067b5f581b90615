/* gguf_value.h — decoding GGUF metadata values, shared by reader and writer. */
#ifndef HEED_GGUF_VALUE_H
#define HEED_GGUF_VALUE_H

#include "heed.h"

/* Decodes one fixed-size element of v->type (already set) stored
 * little-endian at p into v. */
void heed_gguf_decode_scalar(const void *p, heed_gguf_value *v);

#endif
