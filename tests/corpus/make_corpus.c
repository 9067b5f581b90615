/*
 * make_corpus.c — writes the hand-made malformed GGUF files of
 * tests/gguf_craft.c into the regression corpus: one file per case, and
 * the valid file cut at every 16th byte. Files found by the fuzzer
 * (fuzz-*.gguf) are added by hand and left alone here.
 *
 * From the project root:
 *   cc -std=c11 -Iinclude -Itests -o /tmp/make_corpus \
 *      tests/corpus/make_corpus.c tests/gguf_craft.c && /tmp/make_corpus tests/corpus/gguf
 */
#include "gguf_craft.h"

#include <stdio.h>
#include <stdlib.h>

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    int bad = 0;
    for (size_t i = 0; i < craft_n_cases; i++) {
        craft c = {0};
        craft_cases[i].build(&c);
        bad |= write_file(argv[1], craft_cases[i].name, c.p, c.n);
        free(c.p);
    }
    craft v = {0};
    craft_valid(&v);
    for (size_t n = 0; n < v.n; n += 16) {
        char name[32];
        snprintf(name, sizeof name, "cut-at-%03zu", n);
        bad |= write_file(argv[1], name, v.p, n);
    }
    free(v.p);
    return bad;
}
