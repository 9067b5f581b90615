/*
 * json_schema.h — the pieces of the JSON schema converter
 * (json_schema.c) that live in files of their own: number ranges as
 * digit patterns (json_schema_number.c).
 */
#ifndef HEED_GEN_JSON_SCHEMA_H
#define HEED_GEN_JSON_SCHEMA_H

#include <stdbool.h>
#include <stdio.h>

#include "heed.h"

/* A bound of a number range: none, or value, inclusive or not. */
typedef struct schema_bound {
    bool set, exclusive;
    double value;
} schema_bound;

/*
 * Writes to f a GBNF expression matching JSON numbers within [lo, hi]
 * (integers only when integer): every text it matches parses to a
 * double within the bounds. Integers have at most 15 digits, and are
 * exactly the range's; other numbers are those integers and the
 * decimals of 1 to 3 fraction digits in range (README, "JSON schema").
 * HEED_ERR_UNSUPPORTED naming path when nothing is in range.
 */
heed_status schema_number_range(FILE *f, bool integer, schema_bound lo, schema_bound hi,
                                const char *path);

/*
 * Writes to f a GBNF expression matching the contents (between the
 * quotes) of the JSON strings whose value the ECMAScript regular
 * expression pattern matches, any_char being the rule of one JSON string
 * character. HEED_ERR_UNSUPPORTED naming path and what in the pattern is
 * past the subset heed reads (README, "JSON schema").
 */
heed_status schema_pattern(FILE *f, const char *pattern, const char *any_char,
                           const char *path);

#endif
