/* cmd_quantize.c — `heed quantize IN.gguf OUT.gguf TYPE [-t THREADS]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"

int cmd_quantize(int argc, char **argv)
{
    const char *pos[3];
    int n_pos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t")) {
            long t;
            if (!cli_parse_int("quantize", "-t", i + 1 < argc ? argv[i + 1] : NULL, 1, 1024, &t))
                return EXIT_BAD_INPUT;
            threads = (int)t;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("quantize", USAGE_QUANTIZE, "unknown option");
        } else if (n_pos < 3) {
            pos[n_pos++] = argv[i];
        } else {
            return cli_usage_error("quantize", USAGE_QUANTIZE, "too many arguments");
        }
    }
    if (n_pos != 3)
        return cli_usage_error("quantize", USAGE_QUANTIZE, "needs IN, OUT and TYPE");
    const heed_type type = heed_type_from_name(pos[2]);
    if (type == HEED_TYPE_NONE) {
        fprintf(stderr, "heed quantize: unknown type '%s'\n", pos[2]);
        return EXIT_BAD_INPUT;
    }
    const double t0 = cli_seconds();
    heed_status st = heed_quantize_file(pos[0], pos[1], type, threads);
    if (st)
        return cli_fail("quantize", st);
    fprintf(stderr, "heed quantize: wrote %s (%s) in %.2f s\n", pos[1], heed_type_name(type),
            cli_seconds() - t0);
    return EXIT_OK;
}
