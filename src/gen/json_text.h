/*
 * json_text.h — JSON values inside free text (a model's output): where one
 * ends, whether the text so far could still become one, and its compact
 * form, which the rest of the chat code reads and hands out.
 *
 * The compact form is canonical: no white space, strings re-escaped as
 * nlohmann's dump() and Python's json.dumps(ensure_ascii=False) write them
 * (", \, \b \f \n \r \t escaped, other control characters as \u00XX,
 * everything else as raw UTF-8), numbers as written. Two values that are
 * the same JSON have the same compact form up to number spelling.
 */
#ifndef HEED_GEN_JSON_TEXT_H
#define HEED_GEN_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

typedef enum json_scan {
    JSON_OK,   /* a whole value                                         */
    JSON_MORE, /* the text ends inside a value that more text may finish */
    JSON_BAD,  /* no value, whatever follows                            */
} json_scan;

/* Nesting deeper than this is JSON_BAD. */
#define JSON_MAX_DEPTH 128

/*
 * Scans the value starting at s (white space before it skipped). JSON_OK:
 * *end is just past it and its compact form is appended to out (when not
 * NULL). final: s[0..n) is all the text there will be, so a number or
 * literal that reaches the end is whole (and JSON_MORE is never given).
 */
json_scan json_value(const char *s, size_t n, bool final, size_t *end, strbuf *out);

/*
 * Decodes the JSON string whose opening quote is s[0] into out, as far as
 * the text goes: JSON_OK, *end past its closing quote; JSON_MORE, the text
 * ends inside it and *end is where the characters not yet decoded begin;
 * JSON_BAD, *end is where it stops being a JSON string (out has the
 * characters before).
 */
json_scan json_string_prefix(const char *s, size_t n, bool final, size_t *end, strbuf *out);

/* Appends the JSON string of bytes s[0..n), escaped as the compact form
 * does; invalid UTF-8 becomes U+FFFD. */
void json_put_string(strbuf *out, const char *s, size_t n);

/* In compact object text obj, the compact value of member key (a plain
 * name, no escapes): true with *v, *len set, or false. */
bool json_member(const char *obj, size_t n, const char *key, const char **v, size_t *len);

/* The next item of a compact array (or member value of a compact object)
 * from *pos (start it at 0): true with *v, *len set, advancing *pos. */
bool json_next_item(const char *c, size_t n, size_t *pos, const char **v, size_t *len);

/* Decodes compact JSON string text into its bytes (appended to out);
 * false when the text is not a string. */
bool json_string_bytes(const char *v, size_t len, strbuf *out);

#endif
