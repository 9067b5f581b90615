/* attend_page.c — the page of `heed attend --html`: the template, built in
 * from tools/page/attend.html (cmake/embed.cmake), with the JSON spliced in
 * where it says @HEED_JSON@. */
#include "attend_page.h"

#include <stdio.h>
#include <string.h>

#include "cli_error.h"

/* generated at build time from tools/page/attend.html */
extern const unsigned char attend_page_html[];
extern const size_t attend_page_html_len;

#define PLACEHOLDER "@HEED_JSON@"

/* Writes json with each '<' as \u003c (valid only inside JSON strings,
 * the only place a '<' can be in JSON). */
static int write_escaped(FILE *f, const char *json, size_t len)
{
    while (len) {
        const char *lt = memchr(json, '<', len);
        const size_t run = lt ? (size_t)(lt - json) : len;
        if (fwrite(json, 1, run, f) != run)
            return -1;
        if (!lt)
            break;
        if (fputs("\\u003c", f) == EOF)
            return -1;
        json += run + 1;
        len -= run + 1;
    }
    return 0;
}

heed_status attend_page_write(const char *path, const char *json, size_t len)
{
    const unsigned char *page = attend_page_html;
    const unsigned char *at = memmem(page, attend_page_html_len, PLACEHOLDER, strlen(PLACEHOLDER));
    if (!at) /* embed.cmake checks this at build time */
        return cli_set_error(HEED_ERR_FORMAT, "the built-in page has no %s placeholder", PLACEHOLDER);
    const size_t head = (size_t)(at - page), skip = head + strlen(PLACEHOLDER);
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot write", path);
    bool ok = fwrite(page, 1, head, f) == head && write_escaped(f, json, len) == 0 &&
              fwrite(page + skip, 1, attend_page_html_len - skip, f) == attend_page_html_len - skip;
    if (fclose(f) != 0)
        ok = false;
    if (!ok) {
        remove(path);
        return cli_set_error(HEED_ERR_IO, "%s: cannot write", path);
    }
    return HEED_OK;
}
