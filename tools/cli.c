/* cli.c — error reporting and argument parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *cmd, heed_status st)
{
    fprintf(stderr, "heed %s: %s\n", cmd, heed_last_error());
    return st == HEED_ERR_NOMEM || st == HEED_ERR_IO ? EXIT_RUNTIME : EXIT_BAD_INPUT;
}

int cli_usage_error(const char *cmd, const char *usage, const char *msg)
{
    fprintf(stderr, "heed %s: %s\nusage: %s\n", cmd, msg, usage);
    return EXIT_BAD_INPUT;
}

int32_t *cli_parse_ids(const char *cmd, const char *text, int *n)
{
    int cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) {
        fprintf(stderr, "heed %s: out of memory\n", cmd);
        return NULL;
    }
    const char *p = text;
    for (*n = 0; *n < cap; (*n)++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            fprintf(stderr, "heed %s: --ids: '%s' is not a list of token ids like 1,2,3 "
                    "(problem at character %d)\n", cmd, text, (int)(p - text) + 1);
            free(ids);
            return NULL;
        }
        ids[*n] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    return ids;
}

bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                   long *out)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "heed %s: %s wants an integer in %ld..%ld, not '%s'\n", cmd, opt, lo,
                hi, text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *cmd, const char *opt, const char *text, double lo,
                     double hi, double *out)
{
    char *end;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "heed %s: %s wants a number in %g..%g, not '%s'\n", cmd, opt, lo, hi,
                text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

char *cli_read_file(const char *cmd, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "heed %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    bool failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "heed %s: cannot read %s\n", cmd, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
