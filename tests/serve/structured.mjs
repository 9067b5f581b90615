// structured.mjs — heed serve's structured output, driven by the official
// openai client: response_format json_schema (many schemas, several seeds
// at temperature 1, every output validated by ajv), json_object, the
// "grammar" field (GBNF), streaming, log-probabilities under a grammar,
// a length cut-off, and the 400s for what heed does not take.
//
//   node structured.mjs BASE_URL API_KEY
//
// The server runs models/default.gguf (a small model, 128 positions of
// context) with --chat-template chatml: left to itself it seldom writes
// JSON, so valid output is the grammar's doing. The schemas are bounded so
// that every output fits in max_tokens and ends by itself.
import OpenAI from "openai";
import Ajv2020 from "ajv/dist/2020.js";
import assert from "node:assert/strict";

const [base, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
const ajv = new Ajv2020({ allErrors: true, strictTypes: false, strictTuples: false });
let checks = 0;
const check = async (name, fn) => {
  await fn();
  checks++;
  console.log(`serve test: ok  ${name}`);
};
const seeds = [1, 2, 3, 4];

const schemas = {
  person: {
    type: "object",
    properties: {
      name: { type: "string", minLength: 1, maxLength: 8 },
      age: { type: "integer", minimum: 0, maximum: 120 },
      alive: { type: "boolean" },
    },
    required: ["name", "age", "alive"],
    additionalProperties: false,
  },
  optional: {
    type: "object",
    properties: { a: { type: "integer", minimum: -5, maximum: 5 }, b: { type: "null" },
      c: { enum: ["x", "y"] } },
  },
  enums: { enum: ["red", "green", "blue", 42, null, true] },
  const: { type: "object", properties: { v: { const: "fixed" } }, required: ["v"] },
  array: { type: "array", items: { type: "integer", minimum: 0, maximum: 999 },
    minItems: 1, maxItems: 4 },
  ranges: {
    type: "object",
    properties: {
      p: { type: "number", minimum: 0.5, exclusiveMaximum: 2.5 },
      t: { type: "number", exclusiveMinimum: -1, maximum: -0.25 },
      k: { type: "integer", exclusiveMinimum: 10, exclusiveMaximum: 20 },
    },
    required: ["p", "t", "k"],
  },
  nested: {
    type: "object",
    properties: {
      point: { type: "object", properties: { x: { type: "integer", minimum: -9, maximum: 9 },
        y: { type: "integer", minimum: -9, maximum: 9 } }, required: ["x", "y"] },
      label: { enum: ["a", "b"] },
    },
    required: ["point", "label"],
  },
  anyOf: { anyOf: [{ type: "string", maxLength: 5 }, { type: "integer", minimum: 0,
    maximum: 9 }, { type: "null" }] },
  oneOf: { oneOf: [{ type: "boolean" }, { type: "array", maxItems: 2,
    items: { type: "boolean" } }] },
  defs: {
    $defs: { pt: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: 3 } },
      required: ["id"] } },
    type: "array", items: { $ref: "#/$defs/pt" }, maxItems: 2,
  },
  tuple: { type: "array", prefixItems: [{ type: "string", maxLength: 4 },
    { type: "integer", minimum: 1, maximum: 3 }, { type: "boolean" }], items: false },
  strings: { type: "object", properties: { s: { type: "string", minLength: 2, maxLength: 4 } },
    required: ["s"] },
  types: { type: ["integer", "null"], minimum: -3, maximum: 3 },
  patterns: {
    type: "object",
    properties: {
      code: { type: "string", pattern: "^[A-Z]{2}-\\d{3}$" },
      answer: { type: "string", pattern: "^(yes|no|maybe)( [a-z]{1,4})?$" },
      quoted: { type: "string", pattern: "^[\"\\\\a-c]{1,4}$" },
    },
    required: ["code", "answer", "quoted"],
  },
  extras: { type: "object", properties: { id: { type: "integer", minimum: 0, maximum: 9 } },
    required: ["id"], additionalProperties: { type: "boolean" } },
};

for (const [name, schema] of Object.entries(schemas)) {
  await check(`json_schema '${name}': every output validates (${seeds.length} seeds, ` +
    `temperature 1)`, async () => {
    const validate = ajv.compile(schema);
    for (const seed of seeds) {
      const r = await client.chat.completions.create({
        model: "default", temperature: 1, seed, max_tokens: 80,
        messages: [{ role: "user", content: `Answer as JSON (${name}).` }],
        response_format: { type: "json_schema", json_schema: { name, schema, strict: true } },
      });
      const text = r.choices[0].message.content;
      // "extras" may go on naming properties until max_tokens: its count is unbounded
      if (name === "extras" && r.choices[0].finish_reason === "length")
        continue;
      assert.equal(r.choices[0].finish_reason, "stop", `seed ${seed}: ${text}`);
      const value = JSON.parse(text);
      assert.ok(validate(value), `seed ${seed}: ${text}: ${ajv.errorsText(validate.errors)}`);
    }
  });
}

await check("json_schema on /v1/completions, streamed: the chunks make valid JSON", async () => {
  const validate = ajv.compile(schemas.person);
  for (const seed of seeds) {
    const stream = await client.completions.create({
      model: "default", prompt: "The record:", temperature: 1, seed, max_tokens: 80,
      stream: true,
      response_format: { type: "json_schema", json_schema: { name: "p", schema: schemas.person } },
    });
    let text = "", finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.equal(finish, "stop");
    assert.ok(validate(JSON.parse(text)), text);
  }
});

await check("json_object: what ends is a JSON object", async () => {
  let whole = 0;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    const r = await client.chat.completions.create({
      model: "default", temperature: 1, seed, max_tokens: 60,
      messages: [{ role: "user", content: "Reply in JSON." }],
      response_format: { type: "json_object" },
    });
    const text = r.choices[0].message.content;
    assert.ok(text.startsWith("{"), text);
    if (r.choices[0].finish_reason !== "stop")
      continue; // a string the model never closes: cut at max_tokens
    const value = JSON.parse(text);
    assert.ok(value && typeof value === "object" && !Array.isArray(value), text);
    whole++;
  }
  // the small model seldom closes a string it opens; some end as "{ }"
  assert.ok(whole >= 2, `${whole} of 12 ended by themselves`);
});

await check("grammar (GBNF): completions match it, whole and streamed", async () => {
  const grammar = 'root ::= "The " ("lord" | "king") " said, " word (" " word){0,4} "."\n' +
    "word ::= [a-z]{1,8}";
  const shape = /^The (lord|king) said, [a-z]{1,8}( [a-z]{1,8}){0,4}\.$/;
  for (const seed of seeds) {
    const r = await client.completions.create({ model: "default", prompt: "And the king said",
      temperature: 1, seed, max_tokens: 60, grammar });
    assert.match(r.choices[0].text, shape);
    assert.equal(r.choices[0].finish_reason, "stop");
  }
  const stream = await client.completions.create({ model: "default", prompt: "And",
    temperature: 1, seed: 9, max_tokens: 60, grammar, stream: true });
  let text = "";
  for await (const chunk of stream)
    text += chunk.choices[0].text;
  assert.match(text, shape);
});

await check("logprobs under a grammar: the alternatives are what it allows", async () => {
  const r = await client.chat.completions.create({
    model: "default", temperature: 1, seed: 5, max_tokens: 10, logprobs: true, top_logprobs: 5,
    messages: [{ role: "user", content: "Yes or no?" }],
    grammar: 'root ::= "yes" | "no"',
  });
  assert.match(r.choices[0].message.content, /^(yes|no)$/);
  const first = r.choices[0].logprobs.content[0];
  assert.ok(first.top_logprobs.length >= 1);
  for (const alt of first.top_logprobs) {
    assert.ok("yes".startsWith(alt.token) || "no".startsWith(alt.token), alt.token);
    assert.ok(Number.isFinite(alt.logprob) && alt.logprob <= 0);
  }
  const mass = first.top_logprobs.reduce((s, a) => s + Math.exp(a.logprob), 0);
  assert.ok(mass > 0.999 && mass < 1.001, `the allowed tokens share all the probability: ${mass}`);
});

await check("a length cut-off: finish_reason 'length', the text a prefix", async () => {
  const r = await client.completions.create({ model: "default", prompt: "And", max_tokens: 3,
    temperature: 0, response_format: { type: "json_schema", json_schema: { name: "p",
      schema: schemas.person } } });
  assert.equal(r.choices[0].finish_reason, "length");
  assert.ok('{"name":'.startsWith(r.choices[0].text.replaceAll(" ", "").slice(0, 8)),
    r.choices[0].text);
});

const post = (path, body) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

await check("what heed does not take is a 400 that names it", async () => {
  const bad = async (extra, pattern) => {
    const r = await post("/v1/completions", { model: "default", prompt: "x", ...extra });
    assert.equal(r.status, 400, JSON.stringify(extra));
    const message = (await r.json()).error.message;
    assert.match(message, pattern);
  };
  const js = (schema) => ({ response_format: { type: "json_schema",
    json_schema: { name: "s", schema } } });
  await bad(js({ type: "integer", multipleOf: 3 }), /'multipleOf' is not supported/);
  await bad(js({ type: "object", properties: { d: { type: "string", format: "date" } } }),
    /#\/properties\/d: 'format' is not supported/);
  await bad(js({ type: "array", uniqueItems: true }), /'uniqueItems' true is not supported/);
  await bad(js({ $ref: "https://example.com/s.json" }), /only references into the schema/);
  await bad(js({ type: "string", pattern: "^(?!x)" }), /'pattern' \/\^\(\?!x\)\/ at offset 1: lookaround/);
  await bad(js({ type: "integer", minimum: 3, maximum: 1 }), /no integer/);
  await bad({ grammar: 'root ::= "a"\nb ::= [' }, /'grammar': grammar: line 2, column 7: this class has no closing/);
  await bad({ grammar: "root ::= x" }, /rule 'x' is used but never defined/);
  await bad({ grammar: 42 }, /'grammar' must be a string/);
  await bad({ response_format: { type: "yaml" } }, /'response_format' type must be/);
  await bad({ response_format: { type: "json_schema" } }, /'response_format' wants/);
  await bad({ response_format: { type: "json_schema", json_schema: { name: "s", shema: {} } } },
    /Unrecognized request argument supplied: shema/);
  await bad({ grammar: 'root ::= "a"', response_format: { type: "json_object" } },
    /cannot both be given/);
  const ok = await client.completions.create({ model: "default", prompt: "And", max_tokens: 4,
    temperature: 0, response_format: { type: "text" } });
  assert.equal(ok.choices[0].finish_reason, "length", "type text: no constraint");
});

console.log(`serve test: structured output, ${checks} checks passed`);
