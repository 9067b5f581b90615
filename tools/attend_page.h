/* attend_page.h — the interactive attention page of `heed attend --html`. */
#ifndef HEED_ATTEND_PAGE_H
#define HEED_ATTEND_PAGE_H

#include <stddef.h>

#include "heed.h"

/*
 * Writes to path the self-contained page of tools/page/attend.html (built
 * into heed) with json[0..len) — a capture in the schema of `heed attend
 * --json` — as its data. Every '<' of the JSON is written as \u003c, so
 * nothing in it can end the page's script element. HEED_ERR_IO when the
 * file cannot be written (a partial file is removed).
 */
heed_status attend_page_write(const char *path, const char *json, size_t len);

#endif
