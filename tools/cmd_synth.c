/* cmd_synth.c — `heed synth --shape NAME --type TYPE -o FILE [--seed S]
 * [-t THREADS]`: a random-weight model of a real model's shape, for
 * benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_synth(int argc, char **argv)
{
    const char *shape = NULL, *type_name = NULL, *out = NULL;
    long seed = 1, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--shape") && v)
            shape = argv[++i];
        else if (!strcmp(a, "--type") && v)
            type_name = argv[++i];
        else if (!strcmp(a, "-o") && v)
            out = argv[++i];
        else if (!strcmp(a, "--seed") || !strcmp(a, "-t")) {
            if (!cli_parse_int("synth", a, v, 0, a[1] == 't' ? 1024 : 1L << 62,
                               a[1] == 't' ? &threads : &seed))
                return EXIT_BAD_INPUT;
            i++;
        } else
            return cli_usage_error("synth", USAGE_SYNTH, "unknown or incomplete option");
    }
    if (!shape || !type_name || !out)
        return cli_usage_error("synth", USAGE_SYNTH, "needs --shape, --type and -o");
    const heed_type type = heed_type_from_name(type_name);
    if (type == HEED_TYPE_NONE) {
        fprintf(stderr, "heed synth: unknown type '%s'\n", type_name);
        return EXIT_BAD_INPUT;
    }
    heed_status st = heed_synth(shape, type, (uint64_t)seed, (int)threads, out);
    if (st)
        return cli_fail("synth", st);
    fprintf(stderr, "heed synth: wrote %s (%s, %s)\n", out, shape, heed_type_name(type));
    return EXIT_OK;
}
