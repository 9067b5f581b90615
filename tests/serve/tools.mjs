// tools.mjs — tool calls through heed serve, with the official openai
// client: on the default model with no template (chatml; llama-server's
// generic JSON format, told in the system message) and with a Hermes-style
// template (tools.jinja: <tool_call> tags); on heed synth's tiny-chat,
// whose vocabulary holds the formats' markers as control tokens, with a
// Mistral-Nemo-style template (tools_mistral.jinja: [TOOL_CALLS]) and a
// gpt-oss-style one (tools_harmony.jinja: channels, <|call|>).
// tool_choice "required" and a named function always give a call whose
// arguments ajv validates against the function's schema, finish_reason
// "tool_calls"; streamed, the deltas add up to the same call; "auto"
// gives valid calls or text that holds no call (a call when the model
// writes the marker token, text when it may not); "none" gives text; tool results fed back are rendered; an agent loop of 3 steps; a
// marker the model writes as a control token is text the call is parsed
// from; the reasoning a template opens is reasoning_content
// (reasoning_format "none": content); bad requests are 400s.
//
//   node tools.mjs GENERIC_URL HERMES_URL MISTRAL_URL HARMONY_URL
import OpenAI from "openai";
import Ajv2020 from "ajv/dist/2020.js";
import assert from "node:assert/strict";

const [genericUrl, hermesUrl, mistralUrl, harmonyUrl] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
let checks = 0;
const check = async (name, fn) => {
  await fn();
  checks++;
  console.log(`serve test (tools): ok  ${name}`);
};
const weather = {
  type: "function",
  function: { name: "get_weather", description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string", maxLength: 12 },
      unit: { enum: ["celsius", "fahrenheit"] } }, required: ["city"], additionalProperties: false } },
};
const time = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object",
    properties: { zone: { type: "integer", minimum: -12, maximum: 14 } }, required: ["zone"] } },
};
const tools = [weather, time];
const user = [{ role: "user", content: "What is the weather in Paris?" }];
const base = { model: "default", max_tokens: 300, temperature: 1, tools };

// A call's shape: its id (the server's 32 characters, or Mistral's 9 the
// model writes), its name among the tools, its arguments valid.
function valid(call, names = ["get_weather", "get_time"]) {
  assert.match(call.id, /^([A-Za-z0-9]{32}|[A-Za-z0-9]{9})$/);
  assert.equal(call.type, "function");
  assert.ok(names.includes(call.function.name), call.function.name);
  const schema = tools.find((t) => t.function.name === call.function.name).function.parameters;
  const args = JSON.parse(call.function.arguments);
  assert.ok(ajv.validate(schema, args), `${call.function.arguments}: ${ajv.errorsText()}`);
}

// A streamed chat's deltas put together: content, reasoning, calls, finish.
async function streamed(client, req) {
  const out = { content: "", reasoning: "", calls: [], finish: null };
  for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
    const c = chunk.choices[0];
    if (!c) continue;
    out.content += c.delta.content ?? "";
    out.reasoning += c.delta.reasoning_content ?? "";
    for (const t of c.delta.tool_calls ?? []) {
      const call = out.calls[t.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
      call.id += t.id ?? "";
      call.function.name += t.function?.name ?? "";
      call.function.arguments += t.function?.arguments ?? "";
    }
    out.finish = c.finish_reason ?? out.finish;
  }
  return out;
}

const servers = [["generic", genericUrl], ["hermes", hermesUrl], ["mistral-nemo", mistralUrl],
  ["gpt-oss", harmonyUrl]];
for (const [name, url] of servers) {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });

  await check(`${name}: tool_choice required and named: a valid call, finish_reason tool_calls`, async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ ...base, messages: user, tool_choice: "required", seed });
      const c = r.choices[0];
      assert.equal(c.finish_reason, "tool_calls");
      assert.equal(c.message.tool_calls.length, 1);
      valid(c.message.tool_calls[0]);
      const named = await client.chat.completions.create({ ...base, messages: user, seed,
        tool_choice: { type: "function", function: { name: "get_time" } } });
      valid(named.choices[0].message.tool_calls[0], ["get_time"]);
    }
  });

  await check(`${name}: streamed, the tool-call deltas add up to the call`, async () => {
    const req = { ...base, messages: user, tool_choice: "required", seed: 4 };
    const whole = (await client.chat.completions.create(req)).choices[0];
    const s = await streamed(client, req);
    assert.equal(s.finish, "tool_calls");
    assert.equal(s.calls.length, 1);
    valid(s.calls[0]);
    assert.equal(s.calls[0].function.name, whole.message.tool_calls[0].function.name);
    assert.equal(s.calls[0].function.arguments, whole.message.tool_calls[0].function.arguments);
  });

  await check(`${name}: tool_choice auto (the default): valid calls, or text that holds no call`, async () => {
    const marker = { generic: '"tool_call', hermes: "<tool_call>", "mistral-nemo": "[TOOL_CALLS]",
      "gpt-oss": "to=functions" }[name];
    for (const seed of [1, 2, 3]) {
      const req = { ...base, messages: user, seed };
      const c = (await client.chat.completions.create(seed === 1 ? { ...req, tool_choice: "auto" } : req)).choices[0];
      if (c.message.tool_calls) {
        assert.equal(c.finish_reason, "tool_calls");
        c.message.tool_calls.forEach((t) => valid(t));
      } else { /* cut short, a call may have begun */
        assert.equal(typeof c.message.content, "string");
        assert.ok(c.finish_reason === "length" || !c.message.content.includes(marker), c.message.content);
      }
      const s = await streamed(client, req);
      assert.equal(s.content, c.message.content ?? "");
      assert.equal(s.calls.length, c.message.tool_calls?.length ?? 0);
    }
  });

  await check(`${name}: tool_choice none gives text; an agent loop of 3 steps feeds results back`, async () => {
    const none = (await client.chat.completions.create({ ...base, messages: user, tool_choice: "none",
      temperature: 0, max_tokens: 8 })).choices[0];
    assert.equal(none.message.tool_calls, undefined);
    assert.equal(typeof none.message.content, "string");
    const messages = [...user];
    let prompt = 0;
    for (let step = 0; step < 3; step++) {
      const r = await client.chat.completions.create({ ...base, messages, seed: 10 + step,
        tool_choice: step < 2 ? "required" : "none", max_tokens: step < 2 ? 300 : 8 });
      assert.ok(r.usage.prompt_tokens > prompt, `step ${step}: the prompt grows`);
      prompt = r.usage.prompt_tokens;
      const m = r.choices[0].message;
      if (step === 2) {
        assert.equal(m.tool_calls, undefined);
        break;
      }
      valid(m.tool_calls[0]);
      messages.push(m, { role: "tool", tool_call_id: m.tool_calls[0].id, content: `result ${step}` });
    }
  });

  await check(`${name}: bad tools and tool_choice are 400s naming them`, async () => {
    const bad = async (req, re) => {
      const r = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({
        messages: user, ...req }) });
      assert.equal(r.status, 400);
      assert.match((await r.json()).error.message, re);
    };
    await bad({ tools: [{ type: "function" }] }, /'tools' must be/);
    await bad({ tools: {} }, /'tools' must be/);
    await bad({ tool_choice: "required" }, /'tool_choice' needs 'tools'/);
    await bad({ tools, tool_choice: "sometimes" }, /'tool_choice' must be/);
    await bad({ tools, tool_choice: { type: "function", function: { name: "nope" } } }, /'tools'.*nope/);
    await bad({ tools, response_format: { type: "json_object" } }, /'tools' and 'response_format'/);
    await bad({ reasoning_format: "all" }, /'reasoning_format' must be/);
  });
}

await check("mistral-nemo: [TOOL_CALLS] written as its control token is text the call is parsed from", async () => {
  const client = new OpenAI({ baseURL: `${mistralUrl}/v1`, apiKey: "x", maxRetries: 0 });
  const tok = await (await fetch(`${mistralUrl}/tokenize`, { method: "POST",
    body: JSON.stringify({ content: "[TOOL_CALLS]", with_pieces: true }) })).json();
  assert.equal(tok.tokens.length, 1, "a control token of tiny-chat's vocabulary");
  assert.equal(tok.tokens[0].piece, "[TOOL_CALLS]");
  for (const seed of [1, 2]) {
    const req = { ...base, messages: user, tool_choice: "required", seed, logprobs: true,
      logit_bias: { [tok.tokens[0].id]: 50 } };
    const c = (await client.chat.completions.create(req)).choices[0];
    assert.equal(c.logprobs.content[0].token, "[TOOL_CALLS]", "the first token is the marker");
    assert.equal(c.finish_reason, "tool_calls");
    valid(c.message.tool_calls[0]);
    const s = await streamed(client, req);
    assert.equal(s.calls[0].function.arguments, c.message.tool_calls[0].function.arguments);
  }
});

await check("mistral-nemo: tool_choice auto writes a call when the model writes [TOOL_CALLS], else text", async () => {
  const client = new OpenAI({ baseURL: `${mistralUrl}/v1`, apiKey: "x", maxRetries: 0 });
  const tok = await (await fetch(`${mistralUrl}/tokenize`, { method: "POST",
    body: JSON.stringify({ content: "[TOOL_CALLS]" }) })).json();
  for (const seed of [1, 2]) {
    const req = { ...base, messages: user, seed, tool_choice: "auto" };
    const call = (await client.chat.completions.create({ ...req,
      logit_bias: { [tok.tokens[0]]: 50 } })).choices[0];
    assert.equal(call.finish_reason, "tool_calls");
    valid(call.message.tool_calls[0]);
    const text = (await client.chat.completions.create({ ...req, max_tokens: 24,
      logit_bias: { [tok.tokens[0]]: false } })).choices[0];
    assert.equal(text.message.tool_calls, undefined);
    assert.ok(text.message.content.length > 0);
  }
});

await check("hermes: the reasoning the template opens is reasoning_content (\"none\": content)", async () => {
  const client = new OpenAI({ baseURL: `${hermesUrl}/v1`, apiKey: "x", maxRetries: 0 });
  const req = { model: "default", messages: user, max_tokens: 12, temperature: 0,
    chat_template_kwargs: { think: true } };
  const plain = (await client.chat.completions.create({ ...req, reasoning_format: "none" })).choices[0].message;
  assert.ok(plain.content.length > 0);
  assert.equal(plain.reasoning_content, undefined);
  const split = (await client.chat.completions.create(req)).choices[0].message;
  assert.equal(split.reasoning_content, plain.content.includes("</think>")
    ? plain.content.slice(0, plain.content.indexOf("</think>")) : plain.content);
  const s = await streamed(client, req);
  assert.equal(s.reasoning, split.reasoning_content);
});

console.log(`serve test (tools): ok, ${checks} checks`);
