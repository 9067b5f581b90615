/*
 * chat_parse.h — a chat model's output text as an assistant message:
 * reasoning, content and tool calls (heed.h, "tool calls").
 *
 * One parse reads the text from the start, left to right, and each
 * decision depends only on the text before the point where it is made.
 * Parsing a prefix of the output (final false) stops where the text no
 * longer decides: at the start of a tool call not yet whole, at bytes that
 * may begin a marker or end the reasoning, inside a UTF-8 character. What
 * it gives before that point is what the whole text's parse gives too, so
 * the streamed message is always a prefix of the final one.
 *
 * The formats' tool calls are read by the call parsers (chat_calls.c,
 * chat_calls_xml.c, chat_gpt_oss.c), found through markers: a call whose
 * marker is seen but which does not parse is content, marker and all, and
 * the search for calls goes on after the marker.
 */
#ifndef HEED_GEN_CHAT_PARSE_H
#define HEED_GEN_CHAT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "gen/chat_format.h"
#include "heed.h"
#include "util/strbuf.h"

typedef struct chat_call {
    char *id;   /* the model's own (Mistral, Command R7B, Kimi K2), or NULL */
    char *name;
    char *args; /* compact JSON (json_text.h) */
} chat_call;

typedef struct chat_msg {
    strbuf content, reasoning;
    chat_call *calls;
    int n_calls, cap_calls;
} chat_msg;

/* The request's tools (its "tools" JSON array), for the XML formats: which
 * arguments their schemas say are strings. */
typedef struct chat_tools chat_tools;
heed_status chat_tools_new(const char *json, chat_tools **out);
void chat_tools_free(chat_tools *t);

/* Where the parse of a longer text may start again (a streaming parser
 * keeps it between feeds): the text before pos gave the message its
 * first content, reasoning and calls, and the parse was at: in the body
 * (lstrip: white space at pos is dropped, after a call), or inside a
 * reasoning block (lstrip: none of the block added yet). */
typedef struct chat_resume {
    enum { RESUME_NONE, RESUME_BODY, RESUME_REASONING } at;
    size_t pos;
    bool lstrip;
    size_t content, reasoning;
    int calls;
} chat_resume;

typedef struct chat_scan {
    const char *s;
    size_t n;              /* the text so far, s[n] == 0 */
    bool final;            /* it is all the text there will be */
    chat_fmt fmt;
    bool calls;            /* look for tool calls */
    const chat_tools *tools; /* NULL: argument values are JSON where they parse */
    chat_msg *m;
    chat_resume *resume;   /* NULL: from the start, m empty; else from there
                              (m is cut back to it), and moved on (not final) */
} chat_scan;

typedef enum call_res {
    CALL_OK,   /* whole and well-formed: its calls are added, *end set */
    CALL_MORE, /* the text ends before the call does (never when final)  */
    CALL_BAD,  /* not a call, whatever follows                           */
} call_res;

/* ------------------------------------------------------------- parsing */

/* Parses s->s[0..n) into s->m (from the start, or from s->resume);
 * think_open: the prompt left a reasoning block open; reasoning: split it
 * out (else the text is content as written). false when out of memory. */
bool chat_parse(chat_scan *s, bool think_open, bool reasoning);

void chat_msg_free(chat_msg *m);

/* Whether prompt (may be NULL) ends in the reasoning tag open, white
 * space after it aside: the output then starts inside the reasoning. */
bool chat_prompt_opens(const char *prompt, const char *open);

/* Whether an argument's schema says it is a string (the XML formats then
 * write it raw, and read it as a string). */
struct cJSON;
bool chat_schema_is_string(const struct cJSON *schema);

/* ---------------------------------------------- for the call parsers */

/* Adds s[from..to) to the content. */
void chat_content(chat_scan *s, size_t from, size_t to);
/* Adds s[from..to) to the reasoning, without the white space around it
 * (llama.cpp strips each reasoning block). */
void chat_reason(chat_scan *s, size_t from, size_t to);
/* How many bytes at the end of s[from..n) may still grow into one of
 * lits[0..n) or into a whole UTF-8 character: not yet content (0 when
 * final). */
size_t chat_held(const chat_scan *s, size_t from, const char *const *lits, int n);

/* Where literal lit stands against s->s[i..]: CALL_OK (there), CALL_MORE
 * (the text ends inside it), CALL_BAD (not there). */
call_res chat_lit(const chat_scan *s, size_t i, const char *lit);
/* i past white space. */
size_t chat_ws(const chat_scan *s, size_t i);
/* Literal lit after white space from *i: on CALL_OK, *i is past it. */
call_res chat_expect(const chat_scan *s, size_t *i, const char *lit);
/* The first occurrence of lit at or after i, or s->n. */
size_t chat_find(const chat_scan *s, size_t i, const char *lit);

/* The JSON value at s->s[i..] (white space before it skipped), its compact
 * form in out: CALL_OK and *end past it, or CALL_MORE / CALL_BAD. */
call_res chat_json(const chat_scan *s, size_t i, size_t *end, strbuf *out);

/* Adds a call with arguments args (compact JSON: an object) and id (NULL:
 * one is made later). false when out of memory. */
bool chat_add_call(chat_msg *m, const char *name, size_t name_len, const char *args,
                   size_t args_len, const char *id, size_t id_len);

/* Adds a call from a compact object with its name under name_key, its
 * arguments under args_key (an object, or a string holding one's JSON;
 * absent: {}) and its id, if any, under id_key (NULL: none): CALL_BAD
 * when it is not such an object. */
call_res chat_add_call_object(chat_scan *s, const char *obj, size_t len, const char *name_key,
                              const char *args_key, const char *id_key);

/* A value of argument key of function name, written in a format's own
 * tags (XML formats): as a string when the function's schema says it is
 * one, else as JSON where the text is JSON (and as a string where not).
 * Appended to args as `"key":value`. */
void chat_xml_arg(const chat_scan *s, const char *name, const char *key, size_t key_len,
                  const char *v, size_t len, strbuf *args);

/* The call parsers: the call (or block of calls) whose marker
 * s->s[at..at + mlen) is, through *end. */
typedef call_res (*chat_call_fn)(chat_scan *s, size_t at, size_t mlen, size_t *end);

call_res chat_call_hermes(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_function_tag(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_generic(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_llama3_json(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_python_tag(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_python_code(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_mistral(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_functionary_v32(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_json_array(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_command_r7b(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_deepseek(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_kimi_k2(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_qwen3_coder(chat_scan *s, size_t at, size_t mlen, size_t *end);
call_res chat_call_glm(chat_scan *s, size_t at, size_t mlen, size_t *end);

/* gpt-oss's channels, from i (after any reasoning): all of its body. */
bool chat_body_gpt_oss(chat_scan *s, size_t i, bool reasoning);

#endif
