/* test_json_schema.c — JSON schemas as grammars
 * (heed_json_schema_to_gbnf, heed_grammar_from_json_schema): texts each
 * schema's grammar takes and refuses, number ranges checked value by
 * value against what strtod reads, and the refusals, which name the
 * keyword and where it is. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

static heed_grammar *schema(const char *json)
{
    heed_grammar *g;
    cr_assert_eq(heed_grammar_from_json_schema(NULL, json, &g), HEED_OK, "%s: %s", json,
                 heed_last_error());
    return g;
}

static bool whole(const heed_grammar *g, const char *text)
{
    bool prefix, complete;
    cr_assert_eq(heed_grammar_match(g, text, strlen(text), &prefix, &complete), HEED_OK, "%s",
                 heed_last_error());
    return complete;
}

/* Each text in yes is a whole sentence of the schema's grammar; none in
 * no is. */
static void takes(const char *json, const char *const *yes, const char *const *no)
{
    heed_grammar *g = schema(json);
    for (; yes && *yes; yes++)
        cr_expect(whole(g, *yes), "%s should take %s", json, *yes);
    for (; no && *no; no++)
        cr_expect(!whole(g, *no), "%s should refuse %s", json, *no);
    heed_grammar_free(g);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(json_schema, objects)
{
    const char *person = "{\"type\": \"object\", \"properties\": {"
                         "\"name\": {\"type\": \"string\", \"maxLength\": 5},"
                         "\"age\": {\"type\": \"integer\"},"
                         "\"ok\": {\"type\": \"boolean\"}},"
                         "\"required\": [\"age\"]}";
    takes(person,
          LIST("{\"age\":3}", "{\"name\":\"Bo\",\"age\":-3,\"ok\":true}", "{ \"age\": 3 }",
               "{\"name\":\"\",\"age\":0}", "{\"age\":0,\"ok\":false}"),
          LIST("{}", "{\"name\":\"Bo\"}", "{\"age\":3,\"name\":\"Bo\"}", "{\"age\":3,\"x\":1}",
               "{\"name\":\"Bobbie\",\"age\":1}", "{\"age\":3.5}", " {\"age\":3}",
               "{\"age\":3} ", "{\"age\":03}", "{  \"age\":3}"));
    /* none required: any subset, in order, the empty object too */
    takes("{\"properties\": {\"a\": {\"type\": \"null\"}, \"b\": {\"type\": \"null\"}}}",
          LIST("{}", "{\"a\":null}", "{\"b\":null}", "{\"a\":null,\"b\":null}", "{ }"),
          LIST("{,}", "{\"b\":null,\"a\":null}", "{\"a\":null,}", "{\"c\":null}"));
    /* required, but not among the properties: any value */
    takes("{\"type\": \"object\", \"required\": [\"x\"]}",
          LIST("{\"x\":[1,{\"y\":\"z\"}]}"), LIST("{}", "{\"y\":1}"));
    /* extras: never under a declared name (a later duplicate would win) */
    const char *extra = "{\"type\": \"object\", \"properties\": {\"ab\": {\"type\": \"null\"}},"
                        "\"additionalProperties\": {\"type\": \"integer\"}}";
    takes(extra, LIST("{\"x\":1}", "{\"ab\":null,\"a\":1,\"abc\":2,\"b\":3}", "{\"\":1}"),
          LIST("{\"ab\":null,\"ab\":1}", "{\"ab\":1}", "{\"x\":null}", "{\"x\\u0061\":1}"));
    takes("{\"properties\": {\"^a\": {}, \"]b\": {}, \"-c\": {}}, \"required\": [\"n\"], "
          "\"additionalProperties\": true}", /* class metacharacters in the names */
          LIST("{\"n\":1}", "{\"^a\":1,\"n\":2,\"^\":3,\"]\":4,\"-\":5}"),
          LIST("{\"n\":1,\"^a\":2}", "{\"n\":1,\"]b\":2}", "{\"n\":1,\"-c\":2}"));
    takes("{\"type\": \"object\"}", LIST("{}", "{\"a\":{\"b\":[true,null,-1.5e3,\"\"]}}"),
          LIST("[]", "{\"a\"}", "\"x\""));
    takes("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"additionalProperties\": "
          "false}", LIST("{\"a\":[]}"), LIST("{\"a\":1,\"b\":2}"));
}

Test(json_schema, arrays_strings_enums_and_combinations)
{
    takes("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 1, "
          "\"maxItems\": 3}", LIST("[1]", "[1, 2,3]", "[ 1 ]"), LIST("[]", "[1,2,3,4]", "[1,]"));
    takes("{\"type\": \"array\", \"maxItems\": 0}", LIST("[]", "[ ]"), LIST("[1]"));
    takes("{\"type\": \"array\"}", LIST("[]", "[1,\"a\",[{}]]"), LIST("[,]"));
    takes("{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}",
          LIST("[\"a\",1]"), LIST("[\"a\"]", "[\"a\",1,2]", "[1,\"a\"]"));
    takes("{\"prefixItems\": [{\"const\": 1}], \"items\": {\"const\": 2}, \"maxItems\": 3}",
          LIST("[1]", "[1,2]", "[1,2,2]"), LIST("[1,2,2,2]", "[2]"));
    takes("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}",
          LIST("\"ab\"", "\"a\\nb\"", "\"\\u00e9\\u00e9\"", "\"\xc3\xa9\xc3\xa9\xc3\xa9\""),
          LIST("\"a\"", "\"abcd\"", "\"\\ud83d\\ude00x\"", "\"a\x01\"", "\"\\x\""));
    takes("{\"enum\": [\"red\", 1, null, {\"a\": [true]}, \"say \\\"hi\\\"\"]}",
          LIST("\"red\"", "1", "null", "{\"a\":[true]}", "\"say \\\"hi\\\"\""),
          LIST("\"blue\"", "2", "{\"a\": [true]}"));
    takes("{\"type\": \"string\", \"enum\": [\"red\", 1]}", LIST("\"red\""), LIST("1"));
    takes("{\"const\": \"x\"}", LIST("\"x\""), LIST("\"y\""));
    takes("{\"anyOf\": [{\"type\": \"boolean\"}, {\"type\": \"string\", \"maxLength\": 1}]}",
          LIST("true", "\"a\""), LIST("\"ab\"", "1"));
    takes("{\"oneOf\": [{\"type\": \"null\"}, {\"type\": \"integer\"}]}", LIST("null", "7"),
          LIST("true"));
    takes("{\"type\": [\"integer\", \"null\"], \"minimum\": 5}", LIST("5", "null"), LIST("4"));
    takes("{\"allOf\": [{\"type\": \"boolean\"}], \"description\": \"d\"}", LIST("true"),
          LIST("1"));
    takes("true", LIST("1", "{}", "\"x\""), LIST(""));
    takes("{\"title\": \"anything\"}", LIST("[null]"), LIST("nul"));
}

Test(json_schema, references)
{
    const char *tree = "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {"
                       "\"v\": {\"type\": \"integer\"}, \"kids\": {\"type\": \"array\","
                       "\"items\": {\"$ref\": \"#/$defs/node\"}}}, \"required\": [\"v\"]}},"
                       "\"$ref\": \"#/$defs/node\"}";
    takes(tree, LIST("{\"v\":1}", "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[]},{\"v\":3}]}"),
          LIST("{\"v\":1,\"kids\":[{}]}"));
    takes("{\"definitions\": {\"a/b\": {\"const\": 1}}, \"type\": \"array\", "
          "\"items\": {\"$ref\": \"#/definitions/a~1b\"}}", LIST("[1,1]"), LIST("[2]"));
    takes("{\"type\": \"array\", \"items\": {\"$ref\": \"#\"}, \"maxItems\": 1}",
          LIST("[]", "[[[]]]"), LIST("[[],[]]"));
}

/* Every integer in and around [lo, hi] (or a half-open side): the grammar
 * takes exactly those in range, without leading zeros. */
static void integer_range(const char *bounds, long lo, long hi, long from, long to)
{
    char json[200], text[32];
    snprintf(json, sizeof json, "{\"type\": \"integer\", %s}", bounds);
    heed_grammar *g = schema(json);
    for (long x = from; x <= to; x++) {
        snprintf(text, sizeof text, "%ld", x);
        cr_expect_eq(whole(g, text), x >= lo && x <= hi, "%s: %ld", bounds, x);
    }
    cr_expect(!whole(g, "-0") || lo <= 0, "%s", bounds);
    snprintf(text, sizeof text, "0%ld", lo > 0 ? lo : 1);
    cr_expect(!whole(g, text), "%s: a leading zero", bounds);
    heed_grammar_free(g);
}

Test(json_schema, integer_ranges_are_exact)
{
    integer_range("\"minimum\": 0, \"maximum\": 120", 0, 120, -30, 200);
    integer_range("\"minimum\": -1234, \"maximum\": 567", -1234, 567, -1300, 700);
    integer_range("\"minimum\": 7, \"maximum\": 7", 7, 7, -20, 20);
    integer_range("\"minimum\": 95, \"maximum\": 10005", 95, 10005, 0, 11000);
    integer_range("\"exclusiveMinimum\": -3, \"exclusiveMaximum\": 3", -2, 2, -10, 10);
    integer_range("\"minimum\": 2.5, \"maximum\": 9.5", 3, 9, -5, 15);
    integer_range("\"minimum\": -50", -50, 999999999999999, -100, 1000);
    integer_range("\"maximum\": -99", -999999999999999, -99, -1000, 100);
    integer_range("\"minimum\": 3, \"exclusiveMinimum\": 3", 4, 999999999999999, 0, 20);
    integer_range("\"minimum\": 3, \"exclusiveMinimum\": true", 4, 999999999999999, 0, 20);
}

/* Decimal texts of up to 3 fraction digits and some of 4 around the
 * bounds: taken exactly when strtod reads them within the bounds (some
 * in-range values may be left out, but none out of range is taken). */
static void number_range(const char *bounds, double lo, bool lo_ex, double hi, bool hi_ex)
{
    char json[200], text[48];
    snprintf(json, sizeof json, "{\"type\": \"number\", %s}", bounds);
    heed_grammar *g = schema(json);
    int n_in = 0;
    for (int p = 0; p <= 4; p++)
        for (long n = -3000; n <= 3000; n++) {
            const long one = p == 0 ? 1 : p == 1 ? 10 : p == 2 ? 100 : p == 3 ? 1000 : 10000;
            if (n / one > 3 || n / one < -3)
                continue;
            if (p)
                snprintf(text, sizeof text, "%s%ld.%0*ld", n < 0 ? "-" : "", labs(n) / one, p,
                         labs(n) % one);
            else
                snprintf(text, sizeof text, "%ld", n);
            const double v = strtod(text, NULL);
            const bool in = (lo_ex ? v > lo : v >= lo) && (hi_ex ? v < hi : v <= hi);
            const bool taken = whole(g, text);
            if (taken)
                cr_expect(in, "%s: took %s", bounds, text);
            else
                cr_expect(!in || p == 4 || !strcmp(text, "-0") || !strncmp(text, "-0.000", 6),
                          "%s: left out %s", bounds, text);
            n_in += taken;
        }
    cr_expect_gt(n_in, 0);
    heed_grammar_free(g);
}

Test(json_schema, number_ranges_never_leave_the_bounds)
{
    number_range("\"minimum\": 0.3, \"maximum\": 1.1", 0.3, false, 1.1, false);
    number_range("\"exclusiveMinimum\": -1.5, \"exclusiveMaximum\": 2.25", -1.5, true, 2.25, true);
    number_range("\"minimum\": -0.001, \"maximum\": 0.001", -0.001, false, 0.001, false);
    number_range("\"minimum\": 1", 1, false, INFINITY, false);
    number_range("\"maximum\": -2.5", -INFINITY, false, -2.5, false);
    heed_grammar *g = schema("{\"type\": \"number\", \"minimum\": 0}");
    cr_expect(whole(g, "123456789012345.5"));
    cr_expect(!whole(g, "1234567890123456"), "at most 15 digits before the point");
    cr_expect(!whole(g, "1e3"), "no exponents in a range");
    heed_grammar_free(g);
    g = schema("{\"type\": \"number\"}");
    cr_expect(whole(g, "-1.25e-7") && whole(g, "0") && !whole(g, "01") && !whole(g, ".5"));
    heed_grammar_free(g);
}

/* Patterns: what the string's value is, JSON-encoded, matched anywhere
 * unless anchored. */
Test(json_schema, patterns)
{
    takes("{\"type\": \"string\", \"pattern\": \"^[A-Z][a-z]{1,5}-\\\\d{2,3}$\"}",
          LIST("\"Bob-12\"", "\"Robert-123\""),
          LIST("\"Bob-1\"", "\"bob-12\"", "\"Bob-1234\"", "\"xBob-12\""));
    takes("{\"pattern\": \"ab|c\\\"d\"}", /* a '"' in the value is \" in the text */
          LIST("\"ab\"", "\"xxaby\"", "\"c\\\"d\"", "\"\\n c\\\"d\""),
          LIST("\"zz\"", "\"c\"d\"", "\"a b\""));
    takes("{\"pattern\": \"^\\\\s[^\\\\n]?(?:x|y)+?\\\\.$\"}",
          LIST("\"\\tqx.\"", "\" xyx.\"", "\"\\n\\u0001y.\"", "\" \\\"x.\""),
          LIST("\"\\t\\nx.\"", "\"qx.\"", "\" x\"", "\" x.z\""));
    takes("{\"pattern\": \"^(?<w>\\\\w{2})\\\\u00e9\\\\x41.$\"}",
          LIST("\"ab\xc3\xa9" "A\xf0\x9f\x98\x80\""), LIST("\"ab\xc3\xa9" "A\\n\""));
}

static void refused(const char *json, heed_status st, const char *want)
{
    heed_grammar *g = (heed_grammar *)1;
    cr_expect_eq(heed_grammar_from_json_schema(NULL, json, &g), st, "%s: %s", json,
                 heed_last_error());
    cr_expect_null(g);
    cr_expect(strstr(heed_last_error(), want), "%s: '%s' lacks '%s'", json, heed_last_error(),
              want);
}

Test(json_schema, refusals_name_the_keyword_and_where)
{
    refused("{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\", "
            "\"multipleOf\": 3}}}", HEED_ERR_UNSUPPORTED,
            "#/properties/n: 'multipleOf' is not supported");
    refused("{\"type\": \"string\", \"format\": \"email\"}", HEED_ERR_UNSUPPORTED,
            "#: 'format' is not supported");
    refused("{\"type\": \"array\", \"items\": {\"type\": \"object\", \"patternProperties\": "
            "{}}}", HEED_ERR_UNSUPPORTED, "#/items: 'patternProperties' is not supported");
    refused("{\"type\": \"array\", \"uniqueItems\": true}", HEED_ERR_UNSUPPORTED, "uniqueItems");
    refused("{\"allOf\": [{}, {}]}", HEED_ERR_UNSUPPORTED, "'allOf' of more than one schema");
    refused("{\"anyOf\": [{}], \"type\": \"string\"}", HEED_ERR_UNSUPPORTED,
            "'anyOf' beside other constraints");
    refused("{\"enum\": [1], \"minimum\": 0}", HEED_ERR_UNSUPPORTED, "'minimum' beside 'enum'");
    refused("{\"$ref\": \"other.json#/a\"}", HEED_ERR_UNSUPPORTED, "only references into");
    refused("{\"$ref\": \"#/$defs/none\"}", HEED_ERR_UNSUPPORTED, "points at nothing");
    refused("{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 4}", HEED_ERR_UNSUPPORTED,
            "no integer");
    refused("{\"type\": \"string\", \"minLength\": 3, \"maxLength\": 2}", HEED_ERR_UNSUPPORTED,
            "'maxLength' 2 is below 'minLength' 3");
    refused("{\"type\": \"texts\"}", HEED_ERR_FORMAT, "unknown type 'texts'");
    refused("{\"type\": \"array\", \"minItems\": -1}", HEED_ERR_FORMAT, "non-negative integer");
    refused("false", HEED_ERR_UNSUPPORTED, "accepts no value");
    refused("{\"type\": \"object\",}", HEED_ERR_FORMAT, "not JSON (from byte");
    refused("[1]", HEED_ERR_FORMAT, "a schema must be an object or a boolean");
    refused("{\"enum\": [1, 2], \"type\": \"string\"}", HEED_ERR_UNSUPPORTED, "no value of 'enum'");
    refused("{\"pattern\": \"a(?=b)\"}", HEED_ERR_UNSUPPORTED,
            "#: 'pattern' /a(?=b)/ at offset 1: lookaround is not supported");
    refused("{\"pattern\": \"(a)\\\\1\"}", HEED_ERR_UNSUPPORTED, "backreferences");
    refused("{\"pattern\": \"\\\\bword\"}", HEED_ERR_UNSUPPORTED, "word boundaries");
    refused("{\"pattern\": \"\\\\p{L}\"}", HEED_ERR_UNSUPPORTED, "Unicode properties");
    refused("{\"pattern\": \"a^b\"}", HEED_ERR_UNSUPPORTED, "only at the start and end");
    refused("{\"pattern\": \"(ab\"}", HEED_ERR_UNSUPPORTED, "a group without its ')'");
    refused("{\"pattern\": \"[ab\"}", HEED_ERR_UNSUPPORTED, "a class without its ']'");
    refused("{\"pattern\": \"a**\"}", HEED_ERR_UNSUPPORTED, "a quantifier of a quantifier");
    refused("{\"type\": \"string\", \"pattern\": \"a\", \"maxLength\": 3}",
            HEED_ERR_UNSUPPORTED, "'pattern' beside 'minLength' or 'maxLength'");
}

/* The GBNF is there to read, and compiles to the same grammar. */
Test(json_schema, gbnf_text)
{
    char *gbnf;
    cr_assert_eq(heed_json_schema_to_gbnf("{\"type\": \"object\", \"properties\": {\"my key!\": "
                                          "{\"type\": \"boolean\"}}, \"required\": [\"my key!\"]}",
                                          &gbnf), HEED_OK);
    cr_expect(strstr(gbnf, "root ::= \"{\" ws \"\\\"my key!\\\":\" ws root-my-key- ws \"}\""),
              "%s", gbnf);
    cr_expect(strstr(gbnf, "root-my-key- ::= json-boolean"), "%s", gbnf);
    heed_grammar *g;
    cr_assert_eq(heed_grammar_new(NULL, gbnf, "root", &g), HEED_OK);
    cr_expect(whole(g, "{\"my key!\":true}"));
    heed_grammar_free(g);
    free(gbnf);
}
