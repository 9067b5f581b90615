/*
 * fuzz_jinja.c — libFuzzer harness for the Jinja interpreter: the bytes up
 * to the first NUL are a template, the rest its context as JSON (none:
 * tests/jinja/context.json, the tests' chat with tools). Under small limits
 * every input must render or fail with a message naming the template; a
 * rendering's length must be what it says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "text/jinja.h"

static char *default_context;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FILE *f = fopen(HEED_SOURCE_DIR "/tests/jinja/context.json", "rb");
    if (!f)
        return 0;
    static char buf[1 << 16];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    default_context = buf;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const jx_limits lim = {.memory = 32 << 20, .output = 64 << 10, .steps = 20000,
                                  .depth = 20};
    const unsigned char *nul = memchr(data, 0, size);
    const size_t n = nul ? (size_t)(nul - data) : size;
    char *tmpl = malloc(size + 1);
    if (!tmpl)
        return 0;
    memcpy(tmpl, data, size);
    tmpl[size] = 0; /* the context, after the template's NUL, is NUL-terminated too */
    const char *context = nul ? tmpl + n + 1 : default_context;
    char *out = NULL;
    size_t len = 0;
    const heed_status st = jx_render_limited(tmpl, context, &lim, &out, &len);
    if (st == HEED_OK) {
        if (!out || len > lim.output || out[len] != 0)
            abort();
    } else {
        const char *e = heed_last_error();
        if (out || (strncmp(e, "template:", 9) && strncmp(e, "template: ", 10)))
            abort();
    }
    free(out);
    free(tmpl);
    return 0;
}
