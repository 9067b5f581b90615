/*
 * json_schema.h — the JSON schema converter (json_schema.c) as a piece of
 * bigger grammars (the tool-call grammars of chat_grammar.c), and its
 * pieces that live in files of their own: number ranges as digit
 * patterns (json_schema_number.c), patterns (json_schema_pattern.c).
 */
#ifndef HEED_GEN_JSON_SCHEMA_H
#define HEED_GEN_JSON_SCHEMA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "heed.h"

/* The longest rule name the converter makes, NUL included. */
#define SCHEMA_RULE_NAME 80

/*
 * A converter that writes one grammar: the rules of several schemas, the
 * caller's own rules beside them, and the shared JSON rules (ws,
 * json-string, json-value, ...) once, at the end.
 */
typedef struct schema_conv schema_conv;
heed_status schema_conv_new(schema_conv **out);
void schema_conv_free(schema_conv *sc);
/* Writes the rules of schema (its "$ref"s point into it) and gives the
 * name of its own, a unique one made from base ([a-zA-Z0-9-]). */
heed_status schema_conv_add(schema_conv *sc, const cJSON *schema, const char *base,
                            char name[SCHEMA_RULE_NAME]);
/* A unique rule name made from base, for a rule the caller writes. */
heed_status schema_conv_name(schema_conv *sc, const char *base, char name[SCHEMA_RULE_NAME]);
/* Where the caller writes its rules. */
FILE *schema_conv_out(schema_conv *sc);
/* The name of shared rule rule ("ws", "json-string", "json-value", ...),
 * written at the end; NULL when there is none of that name. */
const char *schema_conv_shared(schema_conv *sc, const char *rule);
/* The whole grammar in *gbnf (malloc'd); frees sc. */
heed_status schema_conv_finish(schema_conv *sc, char **gbnf);

/* Writes text as a GBNF literal ("..." with \, \" and control bytes
 * escaped). */
void gbnf_literal(FILE *f, const char *text);

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
