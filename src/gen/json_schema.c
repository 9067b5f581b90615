/*
 * json_schema.c — a JSON schema to the GBNF of JSON texts it accepts
 * (heed.h: heed_json_schema_to_gbnf, heed_grammar_from_json_schema).
 *
 * Each schema gets a rule named after where it is (root, root-name,
 * root-tags-item, ...); the shared JSON rules (json-string, json-value,
 * ...) are written once, at the end, when used. The grammar may accept
 * less than the schema does but never more, so every sentence validates:
 *  - an object has its properties in the schema's order, the required
 *    ones always; others only with additionalProperties true or a schema
 *    (or with neither properties nor required given), and then under
 *    names that are none of the declared ones;
 *  - strings and arrays are at most MAX_LENGTH long, integers 15 digits,
 *    number ranges are written out digit by digit (json_schema_number.c);
 *  - oneOf is read as anyOf: its alternatives should not overlap.
 * White space: none around the whole value, and inside at most one space
 * after { [ , : and before } ] (fewer tokens, and a small model cannot
 * wander off into indentation).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen/json_schema.h"
#include "text/strmap.h"
#include "text/unicode.h"
#include "util/error.h"

#define MAX_DEPTH 100
#define MAX_LENGTH 10000  /* the longest string, the most items generated */
#define NAME_MAX_LEN (SCHEMA_RULE_NAME - 16)
#define PATH_LEN 256

/* The shared rules, in the order they are written, and what each needs. */
enum { J_WS, J_CHAR, J_STRING, J_INTEGER, J_NUMBER, J_BOOLEAN, J_NULL, J_VALUE, J_KEYCHAR,
       J_COUNT };
static const struct {
    const char *name, *body;
    unsigned needs;
} shared[J_COUNT] = {
    [J_WS] = {"ws", "\" \"?", 0},
    [J_CHAR] = {"json-char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" "
                "([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))", 0},
    [J_STRING] = {"json-string", "\"\\\"\" json-char* \"\\\"\"", 1u << J_CHAR},
    [J_INTEGER] = {"json-integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,14})", 0},
    [J_NUMBER] = {"json-number", "json-integer (\".\" [0-9]{1,15})? ([eE] [-+]? [0-9]{1,2})?",
                  1u << J_INTEGER},
    [J_BOOLEAN] = {"json-boolean", "\"true\" | \"false\"", 0},
    [J_NULL] = {"json-null", "\"null\"", 0},
    [J_VALUE] = {"json-value", "json-object | json-array | json-string | json-number | "
                 "json-boolean | json-null\n"
                 "json-object ::= \"{\" ws (json-member (\",\" ws json-member)* ws)? \"}\"\n"
                 "json-member ::= json-string \":\" ws json-value\n"
                 "json-array ::= \"[\" ws (json-value (\",\" ws json-value)* ws)? \"]\"",
                 1u << J_WS | 1u << J_STRING | 1u << J_NUMBER | 1u << J_BOOLEAN | 1u << J_NULL},
    [J_KEYCHAR] = {"json-keychar", "[^\"\\\\\\x00-\\x1F]", 0},
};

static const char *const annotations[] = {
    "title", "description", "default", "examples", "$schema", "$id", "$comment", "$defs",
    "definitions", "deprecated", "readOnly", "writeOnly", NULL};
static const char *const keywords[] = {
    "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required",
    "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", NULL};

typedef char rule_name[SCHEMA_RULE_NAME];

typedef struct conv {
    const cJSON *doc;
    FILE *out;            /* the rules written so far */
    heed_strmap names;    /* rule names taken */
    heed_strmap refs;     /* "$ref" pointer -> index into ref_names */
    rule_name *ref_names;
    int32_t n_refs, cap_refs;
    unsigned used;        /* shared rules referred to (1 << J_...) */
} conv;

static heed_status schema_rule(conv *c, const cJSON *s, const char *name, const char *path,
                               int depth);

static heed_status HEED_PRINTF(2, 3) fail(const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return heed_fail(HEED_ERR_UNSUPPORTED, "json schema: %s: %s", path, msg);
}

static heed_status nomem(void)
{
    return heed_fail(HEED_ERR_NOMEM, "json schema: out of memory");
}

static bool listed(const char *key, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(key, list[i]))
            return true;
    return false;
}

static const char *use(conv *c, int j)
{
    c->used |= 1u << j;
    return shared[j].name;
}

/* A rule name made from base and suffix ([a-zA-Z0-9-] only, cut to
 * NAME_MAX_LEN), numbered when taken. */
static heed_status unique(conv *c, const char *base, const char *suffix, rule_name out)
{
    char raw[NAME_MAX_LEN + 1];
    snprintf(raw, sizeof raw, "%s%s%s", base, *suffix ? "-" : "", suffix);
    for (char *p = raw; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '-';
    snprintf(out, sizeof(rule_name), "%s", *raw ? raw : "x");
    for (int k = 2; heed_strmap_get(&c->names, out, strlen(out)) >= 0; k++)
        snprintf(out, sizeof(rule_name), "%s-%d", *raw ? raw : "x", k);
    return heed_strmap_put(&c->names, out, strlen(out), 0, false);
}

void gbnf_literal(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\x%02X", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* printf into a new string; NULL when out of memory. */
static char *HEED_PRINTF(1, 2) fmt(const char *format, ...)
{
    char *out;
    va_list ap;
    va_start(ap, format);
    const int n = vasprintf(&out, format, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

/* The JSON text of v, then suffix, as a GBNF literal (malloc'd). */
static char *json_literal(const cJSON *v, const char *suffix)
{
    char *j = cJSON_PrintUnformatted(v), *text = j ? fmt("%s%s", j, suffix) : NULL, *out = NULL;
    size_t len;
    FILE *f = text ? open_memstream(&out, &len) : NULL;
    if (f) {
        gbnf_literal(f, text);
        if (fclose(f))
            out = NULL;
    }
    free(text);
    free(j);
    return out;
}

/* The space between a and b in "%s%s%s", a, sp(b), b: none when b is "". */
static const char *sp(const char *b)
{
    return *b ? " " : "";
}

/* Writes the rule `base-suffix ::= body` and gives its name (malloc'd). */
static heed_status HEED_PRINTF(5, 6) rule_of(conv *c, const char *base, const char *suffix,
                                             char **name, const char *format, ...)
{
    *name = NULL;
    rule_name n;
    heed_status st = unique(c, base, suffix, n);
    if (st)
        return st;
    char *body;
    va_list ap;
    va_start(ap, format);
    const int len = vasprintf(&body, format, ap);
    va_end(ap);
    if (len < 0)
        return nomem();
    fprintf(c->out, "%s ::= %s\n", n, body);
    free(body);
    return (*name = strdup(n)) ? HEED_OK : nomem();
}

static void child_path(char *out, const char *path, const char *a, const char *b)
{
    snprintf(out, PATH_LEN, "%s/%s%s%s", path, a, *b ? "/" : "", b);
}

/* A non-negative integer keyword; def when absent. */
static heed_status count(const cJSON *s, const char *key, const char *path, long def, long *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    *v = def;
    if (!x)
        return HEED_OK;
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble != floor(x->valuedouble))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: '%s' must be a non-negative "
                         "integer", path, key);
    *v = x->valuedouble > 1e9 ? 1000000000L : (long)x->valuedouble;
    return HEED_OK;
}

/* minItems / maxItems (or minLength / maxLength): *max -1 when absent. */
static heed_status counts(const cJSON *s, const char *lo, const char *hi, const char *path,
                          long *min, long *max)
{
    heed_status st = count(s, lo, path, 0, min);
    if (!st)
        st = count(s, hi, path, -1, max);
    if (!st && *max >= 0 && *max < *min)
        st = fail(path, "'%s' %ld is below '%s' %ld", hi, *max, lo, *min);
    return st;
}

/* " item{min,max}" in GBNF (max < 0: no bound). */
static void repeat(FILE *f, const char *item, long min, long max)
{
    if (max == 0)
        return;
    if (min == 0 && max < 0)
        fprintf(f, " %s*", item);
    else if (max < 0)
        fprintf(f, " %s{%ld,}", item, min);
    else if (min == max)
        fprintf(f, " %s{%ld}", item, min);
    else
        fprintf(f, " %s{%ld,%ld}", item, min, max);
}

/* ----------------------------------------------------------- references */

/* The rule of the schema a "$ref" names (a JSON pointer into the
 * document), made the first time. */
static heed_status ref_rule(conv *c, const char *ref, const char *path, int depth,
                            const char **name)
{
    int32_t i = heed_strmap_get(&c->refs, ref, strlen(ref));
    if (i >= 0) {
        *name = c->ref_names[i];
        return HEED_OK;
    }
    if (ref[0] != '#' || (ref[1] && ref[1] != '/'))
        return fail(path, "'$ref' %.80s: only references into the schema itself (#/...) are "
                    "supported", ref);
    const cJSON *t = c->doc;
    char seg[PATH_LEN] = "root";
    for (const char *p = ref + 1; *p == '/' && t;) {
        size_t n = 0;
        for (p++; *p && *p != '/' && n < sizeof seg - 1; p++) {
            char ch = *p;
            if (ch == '~' && (p[1] == '0' || p[1] == '1'))
                ch = *++p == '0' ? '~' : '/';
            seg[n++] = ch;
        }
        seg[n] = 0;
        char *end;
        const long k = strtol(seg, &end, 10);
        t = cJSON_IsArray(t) && *seg && !*end ? cJSON_GetArrayItem(t, (int)k)
                                              : cJSON_GetObjectItemCaseSensitive(t, seg);
    }
    if (!t)
        return fail(path, "'$ref' %.80s points at nothing in the schema", ref);
    heed_status st = HEED_OK;
    if (c->n_refs == c->cap_refs) {
        const int32_t cap = c->cap_refs ? 2 * c->cap_refs : 16;
        void *p = realloc(c->ref_names, sizeof *c->ref_names * (size_t)cap);
        if (!p)
            return nomem();
        c->ref_names = p;
        c->cap_refs = cap;
    }
    i = c->n_refs++;
    if ((st = unique(c, seg, "", c->ref_names[i])) ||
        (st = heed_strmap_put(&c->refs, ref, strlen(ref), i, false)))
        return st;
    *name = c->ref_names[i]; /* (before the visit: it may refer to itself) */
    st = schema_rule(c, t, c->ref_names[i], ref, depth + 1);
    *name = c->ref_names[i]; /* (the visit may have moved the array) */
    return st;
}

/* -------------------------------------------------------------- objects */

typedef struct member {
    const char *key;
    rule_name value;
    bool required;
} member;

/* Whether every character of key can be written raw in a JSON string
 * (the names additional properties are given use only those). */
static bool plain_key(const char *key)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\')
            return false;
    return true;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A rule for the names (raw characters, no quotes) that are none of
 * keys[0..n) (sorted, sharing their first `at` bytes): a trie of the
 * keys, where leaving it, or ending where no key ends, is a new name. */
static heed_status other_names(conv *c, const char **keys, int n, size_t at, const char *base,
                               rule_name name, int depth)
{
    heed_status st = unique(c, base, "name", name);
    if (st)
        return st;
    if (depth > 1024)
        return fail("#", "property names over 1024 bytes are not supported with "
                    "additionalProperties");
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return nomem();
    const bool ends = strlen(keys[0]) == at; /* sorted: a key ending here comes first */
    fputs(ends ? "" : "\"\" | ", f);
    fputs("[^\"\\\\\\x00-\\x1F", f);
    for (int i = ends; i < n; i++) { /* the characters that continue some key */
        if (i > ends && !strncmp(keys[i] + at, keys[i - 1] + at,
                                 heed_utf8_len((unsigned char)keys[i][at])))
            continue;
        const char ch = keys[i][at];
        fprintf(f, "%s%.*s", ch == ']' || ch == '-' ? "\\" : "",
                (int)heed_utf8_len((unsigned char)ch), keys[i] + at);
    }
    fprintf(f, "] %s*", use(c, J_KEYCHAR));
    for (int i = ends; i < n && !st;) {
        const size_t cl = heed_utf8_len((unsigned char)keys[i][at]);
        int j = i + 1;
        while (j < n && !strncmp(keys[j] + at, keys[i] + at, cl))
            j++;
        rule_name sub;
        st = other_names(c, keys + i, j - i, at + cl, name, sub, depth + 1);
        fprintf(f, " | \"%.*s\" %s", (int)cl, keys[i] + at, sub);
        i = j;
    }
    fclose(f);
    if (!st)
        fprintf(c->out, "%s ::= %s\n", name, body);
    free(body);
    return st;
}

/*
 * An object: members E_i in order, then extras X. Built from the end:
 *   after_i  what may follow once something is written (a leading ",")
 *            = "," E_i after_i+1, or ("," E_i)? after_i+1 when optional
 *   first_i  what begins with member i or later, nothing written yet
 *            = E_i after_i+1, or that | first_i+1 when optional
 * after_n and first_n are the extras, or nothing; first_i is only needed
 * up to the first required member.
 */
static heed_status object_body(conv *c, const cJSON *s, FILE *f, const char *name,
                               const char *path, int depth)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    if ((props && !cJSON_IsObject(props)) || (req && !cJSON_IsArray(req)) ||
        (addl && !cJSON_IsBool(addl) && !cJSON_IsObject(addl)))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'properties' must be an object, "
                         "'required' an array, 'additionalProperties' a boolean or a schema",
                         path);
    for (const cJSON *e = req ? req->child : NULL; e; e = e->next)
        if (!cJSON_IsString(e))
            return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'required' must hold strings",
                             path);
    const int n_max = cJSON_GetArraySize(props) + cJSON_GetArraySize(req);
    member *m = calloc((size_t)n_max + 1, sizeof *m);
    const char **keys = calloc((size_t)n_max + 1, sizeof *keys);
    char **after = calloc((size_t)n_max + 1, sizeof *after);
    char **first = calloc((size_t)n_max + 1, sizeof *first);
    heed_status st = m && keys && after && first ? HEED_OK : nomem();
    int n = 0;
    for (const cJSON *p = props ? props->child : NULL; p && !st; p = p->next) {
        bool dup = false;
        for (int i = 0; i < n && !dup; i++)
            dup = !strcmp(m[i].key, p->string);
        if (dup)
            continue;
        char sub[PATH_LEN];
        child_path(sub, path, "properties", p->string);
        m[n].key = p->string;
        if (!(st = unique(c, name, p->string, m[n].value)))
            st = schema_rule(c, p, m[n].value, sub, depth + 1);
        n++;
    }
    for (const cJSON *e = req ? req->child : NULL; e && !st; e = e->next) {
        int i = 0;
        while (i < n && strcmp(m[i].key, e->valuestring))
            i++;
        if (i == n) { /* required but not described: any value */
            m[n].key = e->valuestring;
            snprintf(m[n++].value, sizeof(rule_name), "%s", use(c, J_VALUE));
        }
        m[i].required = true;
    }
    const char *ws = use(c, J_WS);
    /* extras: with additionalProperties true or a schema, or when nothing
     * names the properties; named none of the members' names */
    char *x = NULL;
    if (!st && (addl ? !cJSON_IsFalse(addl) : !props && !req)) {
        rule_name value, key;
        int n_plain = 0;
        for (int i = 0; i < n; i++)
            if (plain_key(m[i].key))
                keys[n_plain++] = m[i].key;
        qsort(keys, (size_t)n_plain, sizeof *keys, by_str);
        char sub[PATH_LEN];
        child_path(sub, path, "additionalProperties", "");
        if (cJSON_IsObject(addl) && !(st = unique(c, name, "additional", value)))
            st = schema_rule(c, addl, value, sub, depth + 1);
        else if (!cJSON_IsObject(addl))
            snprintf(value, sizeof value, "%s", use(c, J_VALUE));
        if (!st && n_plain)
            st = other_names(c, keys, n_plain, 0, name, key, depth);
        if (!st && !(x = n_plain ? fmt("\"\\\"\" %s \"\\\":\" %s %s", key, ws, value)
                                 : fmt("%s \":\" %s %s", use(c, J_STRING), ws, value)))
            st = nomem();
    }
    int r = n; /* the first required member */
    for (int i = n - 1; i >= 0; i--)
        r = m[i].required ? i : r;
    if (!st) {
        after[n] = x ? fmt("(\",\" %s %s)*", ws, x) : strdup("");
        first[n] = x ? fmt("%s %s", x, after[n]) : NULL;
        if (!after[n] || (x && !first[n]))
            st = nomem();
    }
    for (int i = n - 1; i >= 0 && !st; i--) {
        char *key = json_literal(&(cJSON){.type = cJSON_String, .valuestring = (char *)m[i].key},
                                 ":");
        char *e = key ? fmt("%s %s %s", key, ws, m[i].value) : NULL;
        free(key);
        if (!e) {
            st = nomem();
            break;
        }
        if (m[i].required)
            after[i] = fmt("\",\" %s %s%s%s", ws, e, sp(after[i + 1]), after[i + 1]);
        else
            st = rule_of(c, name, "rest", &after[i], "(\",\" %s %s)?%s%s", ws, e,
                         sp(after[i + 1]), after[i + 1]);
        if (!st && i <= r && (m[i].required || !first[i + 1]))
            first[i] = fmt("%s%s%s", e, sp(after[i + 1]), after[i + 1]);
        else if (!st && i <= r)
            st = rule_of(c, name, "first", &first[i], "%s%s%s | %s", e, sp(after[i + 1]),
                         after[i + 1], first[i + 1]);
        if (!st && (!after[i] || (i <= r && !first[i])))
            st = nomem();
        free(e);
    }
    if (!st && r < n)
        fprintf(f, "\"{\" %s %s %s \"}\"", ws, first[0], ws);
    else if (!st && first[0])
        fprintf(f, "\"{\" %s (%s %s)? \"}\"", ws, first[0], ws);
    else if (!st)
        fprintf(f, "\"{\" %s \"}\"", ws);
    for (int i = 0; i <= n && after && first; i++) {
        free(after[i]);
        free(first[i]);
    }
    free(after);
    free(first);
    free(x);
    free(keys);
    free(m);
    return st;
}

/* --------------------------------------------------------------- arrays */

static heed_status item_rule(conv *c, const cJSON *items, const char *name, const char *suffix,
                             const char *path, const char *part, int depth, rule_name out)
{
    if (!items || cJSON_IsTrue(items)) {
        snprintf(out, sizeof(rule_name), "%s", use(c, J_VALUE));
        return HEED_OK;
    }
    char sub[PATH_LEN];
    child_path(sub, path, part, "");
    heed_status st = unique(c, name, suffix, out);
    return st ? st : schema_rule(c, items, out, sub, depth + 1);
}

static heed_status array_body(conv *c, const cJSON *s, FILE *f, const char *name,
                              const char *path, int depth)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
    const cJSON *uniq = cJSON_GetObjectItemCaseSensitive(s, "uniqueItems");
    long min, max;
    heed_status st = counts(s, "minItems", "maxItems", path, &min, &max);
    if (st)
        return st;
    if ((items && !cJSON_IsBool(items) && !cJSON_IsObject(items)) ||
        (prefix && !cJSON_IsArray(prefix)) || (uniq && !cJSON_IsBool(uniq)))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'items' must be a schema, "
                         "'prefixItems' an array of them, 'uniqueItems' a boolean", path);
    const int k = cJSON_GetArraySize(prefix);
    if (min > MAX_LENGTH || k > MAX_LENGTH)
        return fail(path, "arrays of over %d items are not supported", MAX_LENGTH);
    max = max > MAX_LENGTH ? MAX_LENGTH : max; /* (fewer is still valid) */
    if (cJSON_IsTrue(uniq) && (max < 0 || max > 1))
        return fail(path, "'uniqueItems' true is not supported (but with 'maxItems' 1)");
    if (max >= 0 && max < k)
        return fail(path, "'maxItems' %ld is below the %d 'prefixItems'", max, k);
    /* the tail: items past prefixItems, generated only when items is a
     * schema or minItems needs them */
    const bool tail = !cJSON_IsFalse(items) && (!k || items || min > k);
    if (!tail && min > k)
        return fail(path, "'minItems' %ld needs items past the %d 'prefixItems', which "
                    "'items' false forbids", min, k);
    const long lo = min > k ? min - k : 0, hi = max < 0 ? -1 : max - k;
    const char *ws = use(c, J_WS);
    rule_name item = "";
    if (tail && hi)
        st = item_rule(c, items, name, "item", path, "items", depth, item);
    char *seq = NULL; /* the items, when there must be one */
    size_t len;
    FILE *q = open_memstream(&seq, &len);
    if (!q)
        return nomem();
    int i = 0;
    for (const cJSON *p = prefix ? prefix->child : NULL; p && !st; p = p->next, i++) {
        char suffix[24], part[32];
        snprintf(suffix, sizeof suffix, "%d", i);
        snprintf(part, sizeof part, "prefixItems/%d", i);
        rule_name r;
        if (!(st = item_rule(c, p, name, suffix, path, part, depth, r)) && i)
            fprintf(q, " \",\" %s %s", ws, r);
        else if (!st)
            fputs(r, q);
    }
    char more[sizeof(rule_name) + 32];
    snprintf(more, sizeof more, "(\",\" %s %s)", ws, item);
    if (k && *item) {
        repeat(q, more, lo, hi);
    } else if (*item && lo) {
        fputs(item, q);
        repeat(q, more, lo - 1, hi < 0 ? -1 : hi - 1);
    }
    fclose(q);
    if (!st && *seq)
        fprintf(f, "\"[\" %s %s %s \"]\"", ws, seq, ws);
    else if (!st && *item) { /* none, or some */
        fprintf(f, "\"[\" %s (%s", ws, item);
        repeat(f, more, 0, hi < 0 ? -1 : hi - 1);
        fprintf(f, " %s)? \"]\"", ws);
    } else if (!st)
        fprintf(f, "\"[\" %s \"]\"", ws);
    free(seq);
    return st;
}

/* ----------------------------------------------------- scalars and enums */

static heed_status string_body(conv *c, const cJSON *s, FILE *f, const char *path)
{
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    if (pattern && !cJSON_IsString(pattern))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'pattern' must be a string", path);
    if (pattern && (cJSON_GetObjectItemCaseSensitive(s, "minLength") ||
                    cJSON_GetObjectItemCaseSensitive(s, "maxLength")))
        return fail(path, "'pattern' beside 'minLength' or 'maxLength' is not supported");
    if (pattern) {
        fputs("\"\\\"\" ", f);
        heed_status st = schema_pattern(f, pattern->valuestring, use(c, J_CHAR), path);
        fputs(" \"\\\"\"", f);
        return st;
    }
    long min, max;
    heed_status st = counts(s, "minLength", "maxLength", path, &min, &max);
    if (st)
        return st;
    if (min > MAX_LENGTH)
        return fail(path, "'minLength' over %d is not supported", MAX_LENGTH);
    if (!min && max < 0) {
        fputs(use(c, J_STRING), f);
        return HEED_OK;
    }
    fputs("\"\\\"\"", f);
    repeat(f, use(c, J_CHAR), min, max > MAX_LENGTH ? MAX_LENGTH : max);
    fputs(" \"\\\"\"", f);
    return HEED_OK;
}

/* minimum / exclusiveMinimum (number, or draft 4's boolean beside
 * minimum) as one bound; the same for the maximum. */
static heed_status bound(const cJSON *s, const char *incl, const char *excl, bool lower,
                         const char *path, schema_bound *b)
{
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(s, incl);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, excl);
    *b = (schema_bound){0};
    if ((i && !cJSON_IsNumber(i)) || (e && !cJSON_IsNumber(e) && !cJSON_IsBool(e)))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: '%s' and '%s' must be numbers",
                         path, incl, excl);
    if (i)
        *b = (schema_bound){true, cJSON_IsTrue(e), i->valuedouble};
    if (cJSON_IsNumber(e)) {
        const double v = e->valuedouble;
        if (!b->set || (lower ? v >= b->value : v <= b->value))
            *b = (schema_bound){true, true, v};
    }
    return HEED_OK;
}

static heed_status number_body(conv *c, const cJSON *s, FILE *f, bool integer, const char *path)
{
    schema_bound lo, hi;
    heed_status st = bound(s, "minimum", "exclusiveMinimum", true, path, &lo);
    if (!st)
        st = bound(s, "maximum", "exclusiveMaximum", false, path, &hi);
    if (st)
        return st;
    if (!lo.set && !hi.set) {
        fputs(use(c, integer ? J_INTEGER : J_NUMBER), f);
        return HEED_OK;
    }
    return schema_number_range(f, integer, lo, hi, path);
}

static bool has_type(const cJSON *v, const char *t)
{
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    return (!strcmp(t, "number") && cJSON_IsNumber(v)) ||
           (!strcmp(t, "string") && cJSON_IsString(v)) ||
           (!strcmp(t, "boolean") && cJSON_IsBool(v)) || (!strcmp(t, "null") && cJSON_IsNull(v)) ||
           (!strcmp(t, "object") && cJSON_IsObject(v)) || (!strcmp(t, "array") && cJSON_IsArray(v));
}

/* Whether v is of (one of) the schema's types, or there are none. */
static bool of_type(const cJSON *v, const cJSON *type)
{
    if (cJSON_IsString(type))
        return has_type(v, type->valuestring);
    if (!cJSON_IsArray(type))
        return true;
    for (const cJSON *t = type->child; t; t = t->next)
        if (cJSON_IsString(t) && has_type(v, t->valuestring))
            return true;
    return false;
}

/* enum / const: the values themselves (those of the schema's type). */
static heed_status values_body(const cJSON *s, FILE *f, const char *path)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (en && !cJSON_IsArray(en))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'enum' must be an array", path);
    for (const cJSON *k = s->child; k; k = k->next)
        if (!listed(k->string, annotations) && strcmp(k->string, "enum") &&
            strcmp(k->string, "const") && strcmp(k->string, "type"))
            return fail(path, "'%.60s' beside '%s' is not supported", k->string,
                        one ? "const" : "enum");
    int n = 0;
    for (const cJSON *v = one ? one : en->child; v; v = one ? NULL : v->next) {
        bool in_enum = !one || !en;
        for (const cJSON *e = one && en ? en->child : NULL; e && !in_enum; e = e->next)
            in_enum = cJSON_Compare(v, e, true);
        if (!of_type(v, type) || !in_enum)
            continue;
        char *lit = json_literal(v, "");
        if (!lit)
            return nomem();
        fprintf(f, "%s%s", n++ ? " | " : "", lit);
        free(lit);
    }
    if (!n)
        return fail(path, "no value of '%s' fits the schema's other keywords",
                    one ? "const" : "enum");
    return HEED_OK;
}

/* ---------------------------------------------------------------- schemas */

static heed_status type_body(conv *c, const cJSON *s, const char *t, FILE *f, const char *name,
                             const char *path, int depth)
{
    if (!strcmp(t, "object"))
        return object_body(c, s, f, name, path, depth);
    if (!strcmp(t, "array"))
        return array_body(c, s, f, name, path, depth);
    if (!strcmp(t, "string"))
        return string_body(c, s, f, path);
    if (!strcmp(t, "integer") || !strcmp(t, "number"))
        return number_body(c, s, f, !strcmp(t, "integer"), path);
    if (!strcmp(t, "boolean") || !strcmp(t, "null")) {
        fputs(use(c, t[0] == 'b' ? J_BOOLEAN : J_NULL), f);
        return HEED_OK;
    }
    return heed_fail(HEED_ERR_FORMAT, "json schema: %s: unknown type '%.40s' (object, array, "
                     "string, integer, number, boolean, null)", path, t);
}

/* The type a schema without "type" is generated as, from its keywords. */
static const char *implied_type(const cJSON *s)
{
    static const struct { const char *key, *type; } hints[] = {
        {"properties", "object"}, {"required", "object"}, {"additionalProperties", "object"},
        {"items", "array"}, {"prefixItems", "array"}, {"minItems", "array"},
        {"maxItems", "array"}, {"uniqueItems", "array"}, {"minLength", "string"},
        {"maxLength", "string"}, {"pattern", "string"}, {"minimum", "number"},
        {"maximum", "number"},
        {"exclusiveMinimum", "number"}, {"exclusiveMaximum", "number"}};
    for (size_t i = 0; i < sizeof hints / sizeof *hints; i++)
        if (cJSON_GetObjectItemCaseSensitive(s, hints[i].key))
            return hints[i].type;
    return NULL;
}

/* anyOf / oneOf: a rule for each alternative. */
static heed_status alternatives(conv *c, const cJSON *alts, const char *key, FILE *f,
                                const char *name, const char *path, int depth)
{
    if (!cJSON_IsArray(alts) || !cJSON_GetArraySize(alts))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: '%s' must be a non-empty array of "
                         "schemas", path, key);
    heed_status st = HEED_OK;
    int i = 0;
    for (const cJSON *a = alts->child; a && !st; a = a->next, i++) {
        char suffix[24], sub[PATH_LEN];
        snprintf(suffix, sizeof suffix, "%d", i);
        child_path(sub, path, key, suffix);
        rule_name r;
        if (!(st = unique(c, name, suffix, r)) && !(st = schema_rule(c, a, r, sub, depth + 1)))
            fprintf(f, "%s%s", i ? " | " : "", r);
    }
    return st;
}

static heed_status schema_body(conv *c, const cJSON *s, FILE *f, const char *name,
                               const char *path, int depth)
{
    if (cJSON_IsTrue(s)) {
        fputs(use(c, J_VALUE), f);
        return HEED_OK;
    }
    if (cJSON_IsFalse(s))
        return fail(path, "the schema false accepts no value");
    if (!cJSON_IsObject(s))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: a schema must be an object or a "
                         "boolean", path);
    int n_constraints = 0;
    for (const cJSON *k = s->child; k; k = k->next) {
        if (listed(k->string, annotations))
            continue;
        if (!listed(k->string, keywords))
            return fail(path, "'%.60s' is not supported (heed reads: type, enum, const, "
                        "anyOf, oneOf, allOf of one schema, $ref, properties, required, "
                        "additionalProperties, items, prefixItems, minItems, maxItems, "
                        "minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum, "
                        "exclusiveMaximum)", k->string);
        n_constraints++;
    }
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    const char *combiner = ref ? "$ref" : all ? "allOf" : any ? "anyOf" : one ? "oneOf" : NULL;
    if (combiner && n_constraints > 1)
        return fail(path, "'%s' beside other constraints is not supported", combiner);
    if (ref) {
        const char *r = NULL;
        if (!cJSON_IsString(ref))
            return heed_fail(HEED_ERR_FORMAT, "json schema: %s: '$ref' must be a string", path);
        heed_status st = ref_rule(c, ref->valuestring, path, depth, &r);
        if (!st)
            fputs(r, f);
        return st;
    }
    if (all) {
        if (!cJSON_IsArray(all) || cJSON_GetArraySize(all) != 1)
            return fail(path, "'allOf' of more than one schema is not supported");
        char sub[PATH_LEN];
        child_path(sub, path, "allOf", "0");
        return schema_body(c, all->child, f, name, sub, depth + 1);
    }
    if (any || one)
        return alternatives(c, any ? any : one, any ? "anyOf" : "oneOf", f, name, path, depth);
    if (cJSON_GetObjectItemCaseSensitive(s, "enum") || cJSON_GetObjectItemCaseSensitive(s, "const"))
        return values_body(s, f, path);
    if (cJSON_IsArray(type)) {
        heed_status st = HEED_OK;
        int i = 0;
        for (const cJSON *t = type->child; t && !st; t = t->next, i++) {
            if (!cJSON_IsString(t))
                return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'type' must be a string "
                                 "or an array of strings", path);
            fputs(i ? " | " : "", f);
            st = type_body(c, s, t->valuestring, f, name, path, depth);
        }
        if (!i)
            return fail(path, "'type' [] accepts no value");
        return st;
    }
    if (type && !cJSON_IsString(type))
        return heed_fail(HEED_ERR_FORMAT, "json schema: %s: 'type' must be a string or an "
                         "array of strings", path);
    const char *t = type ? type->valuestring : implied_type(s);
    if (!t) {
        fputs(use(c, J_VALUE), f);
        return HEED_OK;
    }
    return type_body(c, s, t, f, name, path, depth);
}

/* Writes `name ::= ...` for schema s, after the rules it needs. */
static heed_status schema_rule(conv *c, const cJSON *s, const char *name, const char *path,
                               int depth)
{
    if (depth > MAX_DEPTH)
        return fail(path, "schemas nest deeper than %d", MAX_DEPTH);
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return nomem();
    heed_status st = schema_body(c, s, f, name, path, depth);
    fclose(f);
    if (!st)
        fprintf(c->out, "%s ::= %s\n", name, body);
    free(body);
    return st;
}

struct schema_conv {
    conv c;
    char *text; /* what c.out writes */
    size_t len;
};

void schema_conv_free(schema_conv *sc)
{
    if (!sc)
        return;
    if (sc->c.out)
        fclose(sc->c.out);
    heed_strmap_free(&sc->c.names);
    heed_strmap_free(&sc->c.refs);
    free(sc->c.ref_names);
    free(sc->text);
    free(sc);
}

heed_status schema_conv_new(schema_conv **out)
{
    schema_conv *sc = *out = calloc(1, sizeof *sc);
    if (!sc)
        return nomem();
    conv *c = &sc->c;
    heed_status st = heed_strmap_init(&c->names, 64);
    if (!st)
        st = heed_strmap_init(&c->refs, 16);
    /* the shared rules' names are taken */
    for (int j = 0; j < J_COUNT && !st; j++)
        st = heed_strmap_put(&c->names, shared[j].name, strlen(shared[j].name), 0, false);
    const char *extra[] = {"json-object", "json-member", "json-array"};
    for (int j = 0; j < 3 && !st; j++)
        st = heed_strmap_put(&c->names, extra[j], strlen(extra[j]), 0, false);
    if (!st && !(c->out = open_memstream(&sc->text, &sc->len)))
        st = nomem();
    if (st) {
        schema_conv_free(sc);
        *out = NULL;
    }
    return st;
}

FILE *schema_conv_out(schema_conv *sc) { return sc->c.out; }

heed_status schema_conv_name(schema_conv *sc, const char *base, char name[SCHEMA_RULE_NAME])
{
    return unique(&sc->c, base, "", name);
}

const char *schema_conv_shared(schema_conv *sc, const char *rule)
{
    for (int j = 0; j < J_COUNT; j++)
        if (!strcmp(shared[j].name, rule))
            return use(&sc->c, j);
    return NULL;
}

heed_status schema_conv_add(schema_conv *sc, const cJSON *schema, const char *base,
                            char name[SCHEMA_RULE_NAME])
{
    conv *c = &sc->c;
    heed_status st = unique(c, base, "", name);
    /* "$ref"s point into this document; "#" is its rule */
    heed_strmap_free(&c->refs);
    c->n_refs = 0;
    if (!st)
        st = heed_strmap_init(&c->refs, 16);
    if (!st && !c->ref_names && !(c->ref_names = malloc(sizeof *c->ref_names)))
        st = nomem();
    if (!st) {
        c->cap_refs = c->cap_refs ? c->cap_refs : 1;
        c->n_refs = 1;
        snprintf(c->ref_names[0], sizeof(rule_name), "%s", name);
        st = heed_strmap_put(&c->refs, "#", 1, 0, false);
    }
    c->doc = schema;
    if (!st)
        st = schema_rule(c, schema, name, "#", 0);
    c->doc = NULL;
    return st;
}

heed_status schema_conv_finish(schema_conv *sc, char **gbnf)
{
    conv *c = &sc->c;
    for (int j = J_COUNT - 1; j >= 0; j--) /* what the used ones need (needs point down) */
        if (c->used & (1u << j))
            c->used |= shared[j].needs;
    for (int j = 0; j < J_COUNT; j++)
        if (c->used & (1u << j))
            fprintf(c->out, "%s ::= %s\n", shared[j].name, shared[j].body);
    const bool ok = !fclose(c->out);
    c->out = NULL;
    *gbnf = ok ? sc->text : NULL;
    if (ok)
        sc->text = NULL;
    schema_conv_free(sc);
    return ok ? HEED_OK : nomem();
}

/* A document's JSON text as cJSON. */
static heed_status parse_schema(const char *schema, cJSON **doc)
{
    const size_t slen = strlen(schema), bad = heed_utf8_invalid_at(schema, slen);
    if (bad < slen)
        return heed_fail(HEED_ERR_FORMAT, "json schema: byte %zu is not valid UTF-8", bad);
    const char *end = NULL;
    *doc = cJSON_ParseWithOpts(schema, &end, true);
    if (!*doc)
        return heed_fail(HEED_ERR_FORMAT, "json schema: not JSON (from byte %zu: '%.20s')",
                         end ? (size_t)(end - schema) : 0, end ? end : "");
    return HEED_OK;
}

heed_status heed_json_schema_to_gbnf(const char *schema, char **gbnf)
{
    if (!gbnf)
        return heed_fail(HEED_ERR_ARG, "json schema: gbnf is NULL");
    *gbnf = NULL;
    if (!schema)
        return heed_fail(HEED_ERR_ARG, "json schema: no schema");
    cJSON *doc;
    heed_status st = parse_schema(schema, &doc);
    if (st)
        return st;
    schema_conv *sc;
    rule_name root;
    if (!(st = schema_conv_new(&sc)) && !(st = schema_conv_add(sc, doc, "root", root)))
        st = schema_conv_finish(sc, gbnf);
    else
        schema_conv_free(sc);
    cJSON_Delete(doc);
    return st;
}

heed_status heed_grammar_from_json_schema(const heed_vocab *v, const char *schema,
                                          heed_grammar **out)
{
    if (!out)
        return heed_fail(HEED_ERR_ARG, "json schema: out is NULL");
    *out = NULL;
    char *gbnf;
    heed_status st = heed_json_schema_to_gbnf(schema, &gbnf);
    if (!st && (st = heed_grammar_new(v, gbnf, "root", out)))
        heed_fail_prefix(st, "json schema: the grammar made from it");
    free(gbnf);
    return st;
}
