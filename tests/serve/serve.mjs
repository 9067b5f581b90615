// serve.mjs — heed serve, driven by the official openai client: completions
// and chat (whole and streamed), logprobs, stop strings, errors, the API
// key, head ablation and control vectors per request, a full queue, a
// client leaving mid-stream, and malformed requests.
//
//   node serve.mjs BASE_URL API_KEY EXPECTED_GREEDY_TEXT
//
// The server runs models/default.gguf with --chat-template chatml,
// --slots 1 --queue 1 and the key; EXPECTED_GREEDY_TEXT is what
// `heed run -p "In the beginning" -n 12 --temp 0` printed. With
// HEED_CV_URL, a second server started with --control-vector-scaled
// cvec-a.gguf 0.8 --control-vector cvec-b.gguf, and HEED_CV_* the texts
// heed run gives with those files (run.sh). With HEED_TMPL_URL, a server
// started with --chat-template-file chat.jinja, and HEED_TMPL_TOKENS(_KW)
// the token counts of heed template's rendering of chat.json (with
// greeting="Ahoy").
import OpenAI from "openai";
import assert from "node:assert/strict";
import { malformed } from "./malformed.mjs";

const [base, key, expected] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
let checks = 0;
const check = async (name, fn) => {
  await fn();
  checks++;
  console.log(`serve test: ok  ${name}`);
};
const post = (path, body, headers = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const greedy = { model: "default", prompt: "In the beginning", max_tokens: 12, temperature: 0 };
// usage without prompt_tokens_details (what the slot's prompt cache held varies)
const counts = ({ prompt_tokens_details: _, ...rest }) => rest;

await check("models lists the model", async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, "default.gguf");
});

const metrics = async () => {
  const r = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const m = {};
  for (const line of (await r.text()).split("\n"))
    if (line && !line.startsWith("#")) {
      const [name, value] = line.split(" ");
      m[name] = Number(value);
    }
  return m;
};

await check("/metrics counts a completion's status and tokens; /slots shows the slot's request", async () => {
  const before = await metrics();
  // /slots, polled while a long stream generates, sees the slot busy with it
  const stream = await client.completions.create({ ...greedy, max_tokens: 120, stream: true,
    stream_options: { include_usage: true } });
  let done = false, seen = null, polls = 0, generated = 0;
  const poll = (async () => {
    while (!done && !seen) {
      const j = await (await fetch(`${base}/slots`, { headers: { Authorization: `Bearer ${key}` } })).json();
      polls++;
      assert.equal(j.slots.length, 1);
      if (j.slots[0].busy)
        seen = j.slots[0];
    }
  })();
  for await (const chunk of stream)
    if (chunk.usage)
      generated = chunk.usage.completion_tokens;
  done = true;
  await poll;
  assert.ok(seen, `the slot was seen busy (${polls} polls)`);
  assert.equal(seen.path, "/v1/completions");
  assert.equal(seen.prompt_tokens, 3);
  assert.ok(seen.seconds >= 0);
  await new Promise((resolve) => setTimeout(resolve, 200)); // a request is counted once it has answered
  const after = await metrics();
  const d = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  // the completion, the polls, and the first /metrics (counted once it has answered)
  assert.equal(d('heed_requests_total{status="200"}'), 2 + polls);
  assert.equal(d("heed_prompt_tokens_total"), 3);
  assert.equal(d("heed_generated_tokens_total"), generated);
  assert.ok(generated > 12);
  assert.ok(after.heed_generated_tokens_per_second > 0);
  assert.equal(after.heed_slots, 1);
  assert.equal(after.heed_slots_busy, 0);
  assert.equal(after.heed_queue_depth, 0);
  assert.equal((await fetch(`${base}/metrics`)).status, 401, "behind the key, as the API");
});

await check("logit_bias (OpenAI's object, llama.cpp's pairs, false bans) equals heed run --logit-bias", async () => {
  const text = async (logit_bias) => (await client.completions.create({ ...greedy, max_tokens: 6,
    logit_bias })).choices[0].text;
  // heed run -p "In the beginning" -n 6 --temp 0 --logit-bias 268-inf, as llama-cli gives it
  assert.equal(await text({ 268: -100 }), ", and in the beginning,");
  assert.equal(await text([[268, false]]), ", and in the beginning,");
  assert.equal(await text({ 386: 5 }), " of his power, and God");
  const r = await post("/v1/completions", { ...greedy, logit_bias: { 99999: 1 } });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /'logit_bias' wants token ids 0\.\.4095/);
});

await check("the prompt cache: a longer prompt reuses the slot's prefix, with the same text", async () => {
  const req = { model: "default", max_tokens: 8, temperature: 0 };
  await client.completions.create({ ...req, prompt: "In the beginning God created" });
  const reused = await client.completions.create({ ...req, prompt: "In the beginning God created the heaven" });
  assert.equal(reused.usage.prompt_tokens_details.cached_tokens, 5, "the first prompt's 5 tokens");
  const fresh = await client.completions.create({ ...req, prompt: "In the beginning God created the heaven",
    cache_prompt: false });
  assert.equal(fresh.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(reused.choices[0].text, fresh.choices[0].text);
  const ablated = await client.completions.create({ ...req, prompt: "In the beginning God created the heaven",
    ablate_heads: ["3.1"] });
  assert.equal(ablated.usage.prompt_tokens_details.cached_tokens, 0, "an ablated run's cache is its own");
  const after = await client.completions.create({ ...req, prompt: "In the beginning God created the heaven" });
  assert.equal(after.usage.prompt_tokens_details.cached_tokens, 0, "nor is it reused after");
  assert.equal(after.choices[0].text, fresh.choices[0].text);
  // the whole prompt cached: its last token is evaluated again
  const again = await client.completions.create({ ...req, prompt: "In the beginning God created the heaven" });
  assert.equal(again.usage.prompt_tokens_details.cached_tokens, 6);
  assert.equal(again.choices[0].text, fresh.choices[0].text);
});

await check("a greedy completion equals heed run --temp 0", async () => {
  const r = await client.completions.create(greedy);
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].text, expected);
  assert.equal(r.choices[0].finish_reason, "length");
  const { prompt_tokens_details: details, ...counts } = r.usage;
  assert.deepEqual(counts, { prompt_tokens: 3, completion_tokens: 12, total_tokens: 15 });
  assert.ok(details.cached_tokens >= 0 && details.cached_tokens < 3);
});

await check("a streamed completion sends the same text, then [DONE]", async () => {
  const stream = await client.completions.create({ ...greedy, stream: true });
  let text = "", finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, expected);
  assert.equal(finish, "length");
});

await check("ignore_eos runs a completion to max_tokens past the end token", async () => {
  // the default model's end token (4095), made the likeliest: it ends the
  // text at once, unless ignore_eos
  const req = { model: "default", prompt: "And God said", max_tokens: 40, temperature: 0,
    logit_bias: { 4095: 100 } };
  const ended = await client.completions.create(req);
  assert.equal(ended.usage.completion_tokens, 0);
  assert.equal(ended.choices[0].finish_reason, "stop");
  const c = await client.completions.create({ ...req, ignore_eos: true });
  assert.equal(c.usage.completion_tokens, 40);
  assert.equal(c.choices[0].finish_reason, "length");
});

await check("seeded sampling repeats", async () => {
  const req = { model: "default", prompt: "And God said", max_tokens: 16, temperature: 0.9, seed: 5 };
  const [a, b] = [await client.completions.create(req), await client.completions.create(req)];
  assert.equal(a.choices[0].text, b.choices[0].text);
});

await check("prompt lookup gives plain decoding's text, greedy and seeded", async () => {
  // a prompt that repeats itself, so drafts are made and some confirmed
  const prompt = "And God said, Let there be light: and there was light. And God said, Let there be";
  for (const extra of [{ temperature: 0 }, { temperature: 0.8, seed: 3 }]) {
    const req = { model: "default", prompt, max_tokens: 40, ...extra };
    const plain = await client.completions.create(req);
    const drafted = await client.completions.create({ ...req, lookup: 8 });
    assert.equal(drafted.choices[0].text, plain.choices[0].text);
    assert.deepEqual(counts(drafted.usage), counts(plain.usage));
  }
  assert.equal((await post("/v1/completions", { ...greedy, lookup: 65 })).status, 400);
});

await check("completion logprobs: one entry per token, the top 3 each", async () => {
  const r = await client.completions.create({ ...greedy, logprobs: 3 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 12);
  assert.equal(lp.tokens.join(""), expected);
  for (let i = 0; i < 12; i++) {
    assert.ok(lp.token_logprobs[i] <= 0);
    const top = Object.values(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 3);
    // greedy: the chosen token is the most likely one
    assert.ok(Math.abs(Math.max(...top) - lp.token_logprobs[i]) < 1e-6);
  }
  assert.equal(lp.text_offset[0], 0);
});

await check("echo: the prompt begins the text; its tokens' logprobs are those generation gives", async () => {
  const r = await client.completions.create({ ...greedy, echo: true });
  assert.equal(r.choices[0].text, greedy.prompt + expected);
  // the first 2 tokens generated, then scored as the prompt's end
  const gen = (await client.completions.create({ ...greedy, max_tokens: 2, logprobs: 2 })).choices[0].logprobs;
  const prompt = greedy.prompt + gen.tokens.join("");
  const scored = await client.completions.create({ model: "default", prompt, max_tokens: 0,
    echo: true, logprobs: 2 });
  const lp = scored.choices[0].logprobs;
  assert.equal(scored.choices[0].text, prompt);
  assert.equal(scored.usage.completion_tokens, 0);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  const n = lp.tokens.length;
  assert.equal(n, scored.usage.prompt_tokens);
  for (let i = 0; i < 2; i++) {
    assert.equal(lp.tokens[n - 2 + i], gen.tokens[i]);
    assert.ok(Math.abs(lp.token_logprobs[n - 2 + i] - gen.token_logprobs[i]) < 2e-3,
      `${lp.token_logprobs[n - 2 + i]} vs ${gen.token_logprobs[i]}`);
  }
  // echo with generation: the prompt's entries, then the generated tokens'
  const both = (await client.completions.create({ ...greedy, echo: true, logprobs: 1 })).choices[0].logprobs;
  assert.equal(both.tokens.length, 3 + 12);
  assert.equal(both.tokens.slice(3).join(""), expected);
  assert.equal(both.text_offset[3], greedy.prompt.length);
  assert.equal((await post("/v1/completions", { ...greedy, max_tokens: 0 })).status, 400);
  assert.equal((await post("/v1/completions", { ...greedy, n: 2 })).status, 400); // one slot
});

await check("heed.attention in the stream: each token's top keys are /v1/attention's rows", async () => {
  const body = { ...greedy, stream: true, logprobs: 1, heed: { attention: { top_k: 3, layers: [0, 5] } } };
  const r = await post("/v1/completions", body);
  const events = (await r.text()).split("\n\n").filter((e) => e.startsWith("data: {"))
    .map((e) => JSON.parse(e.slice(6)).choices[0]);
  const start = events[0].heed;
  assert.deepEqual(start.layers, [0, 5]);
  assert.deepEqual(start.heads, [0, 1, 2, 3, 4, 5, 6, 7]);
  const toks = events.filter((c) => c.heed?.attention);
  assert.equal(toks.length, 12);
  const pieces = toks.map((c) => c.logprobs.tokens[0]);
  assert.equal(pieces.join(""), expected);
  // the same tokens, captured whole
  const ref = await (await post("/v1/attention", { prompt: greedy.prompt + expected })).json();
  assert.deepEqual(ref.tokens.map((t) => t.piece), [...start.prompt_tokens, ...pieces]);
  toks.forEach((c, i) => {
    const a = c.heed.attention;
    assert.equal(a.query, start.prompt_tokens.length - 1 + i); // the row the token was drawn from
    start.layers.forEach((layer, li) => start.heads.forEach((head, hi) => {
      const row = ref.layers.find((l) => l.layer === layer).heads.find((h) => h.head === head).weights[a.query];
      const top = row.map((w, k) => [k, w]).sort((x, y) => y[1] - x[1]).slice(0, 3);
      a.weights[li][hi].forEach((w, k) => assert.ok(Math.abs(w - top[k][1]) < 1e-5,
        `token ${i} layer ${layer} head ${head}: ${w} vs ${top[k][1]}`));
      a.keys[li][hi].forEach((k, j) => assert.ok(Math.abs(row[k] - a.weights[li][hi][j]) < 1e-5,
        `token ${i} layer ${layer} head ${head}: key ${k}`));
    }));
  });
  // not streamed: the same, in the choice
  const whole = await (await post("/v1/completions", { ...body, stream: false })).json();
  assert.deepEqual(whole.choices[0].heed.attention, toks.map((c) => c.heed.attention));
  for (const bad of [{ attention: { top_k: 0 } }, { attention: { layers: [6] } },
    { attention: { heads: [1, 1] } }, { attention: {}, more: 1 }, { attn: {} }, []])
    assert.equal((await post("/v1/completions", { ...greedy, heed: bad })).status, 400, JSON.stringify(bad));
});

await check("a stop string ends the text before it", async () => {
  const stop = expected.slice(4, 9);
  const r = await client.completions.create({ ...greedy, stop: [stop] });
  assert.equal(r.choices[0].text, expected.slice(0, expected.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, "stop");
  const s = await client.completions.create({ ...greedy, stop, stream: true });
  let text = "";
  for await (const chunk of s) text += chunk.choices[0].text;
  assert.equal(text, expected.slice(0, expected.indexOf(stop)));
});

const messages = [
  { role: "system", content: "You answer in the words of the King James Bible." },
  { role: "user", content: "Who made the heaven and the earth?" },
];

await check("chat: a message from the assistant", async () => {
  const r = await client.chat.completions.create({ model: "default", messages, max_tokens: 10,
    temperature: 0, logprobs: true, top_logprobs: 2 });
  assert.equal(r.object, "chat.completion");
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.ok(c.message.content.length > 0);
  assert.equal(c.logprobs.content.length, r.usage.completion_tokens);
  assert.equal(c.logprobs.content.map((t) => t.token).join(""), c.message.content);
  assert.equal(c.logprobs.content[0].top_logprobs.length, 2);
  assert.ok(r.usage.prompt_tokens > 20, "the template's text is in the prompt");

  const stream = await client.chat.completions.create({ model: "default", messages,
    max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = "", role = null, usage = null, finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const ch = chunk.choices[0];
    if (!ch) continue;
    role = ch.delta.role ?? role;
    text += ch.delta.content ?? "";
    finish = ch.finish_reason ?? finish;
  }
  assert.equal(role, "assistant");
  assert.equal(text, c.message.content);
  assert.equal(finish, "length");
  assert.deepEqual(counts(usage), counts(r.usage));
});

await check("errors are OpenAI error objects", async () => {
  const expectError = async (req, status, pattern) => {
    await assert.rejects(req, (e) => {
      assert.equal(e.status, status, e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await expectError(client.completions.create({ ...greedy, foo: 1 }), 400, /Unrecognized request argument supplied: foo/);
  await expectError(client.completions.create({ ...greedy, temperature: "hot" }), 400, /temperature/);
  await expectError(client.completions.create({ ...greedy, max_tokens: -1 }), 400, /max_tokens/);
  await expectError(client.completions.create({ ...greedy, n: 2 }), 400, /'n'/);
  await expectError(client.completions.create({ ...greedy, prompt: "In the beginning ".repeat(60) }),
    400, /maximum context length is 128 tokens/);
  await expectError(client.chat.completions.create({ model: "default", messages: [{ role: "user" }] }),
    400, /messages/);
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: "not-the-key", maxRetries: 0 });
  await expectError(wrong.models.list(), 401, /API key/);
  const so = await post("/v1/completions", { ...greedy, stream_options: [1, "a"] });
  assert.equal(so.status, 400, "stream_options not an object");
  assert.match((await so.json()).error.message, /'stream_options' must be an object/);
  const r = await post("/v1/completions", "{not json");
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /JSON/);
  const big = await post("/v1/completions", { prompt: "x".repeat(2 << 20) });
  assert.equal(big.status, 413);
  assert.equal((await fetch(`${base}/v1/nothing`, { headers: { Authorization: `Bearer ${key}` } })).status, 404);
  assert.equal((await fetch(`${base}/health`)).status, 200, "health needs no key");
});

await check("chat content parts: text parts joined by newlines, as llama-server joins them; an image is a 400", async () => {
  const req = { model: "default", max_tokens: 8, temperature: 0 };
  const parts = await client.chat.completions.create({ ...req, messages: [{ role: "user", content: [
    { type: "text", text: "Who made" }, { type: "text", text: "the heaven?" }] }] });
  const text = await client.chat.completions.create({ ...req,
    messages: [{ role: "user", content: "Who made\nthe heaven?" }] });
  assert.equal(parts.usage.prompt_tokens, text.usage.prompt_tokens);
  assert.equal(parts.choices[0].message.content, text.choices[0].message.content);
  await assert.rejects(client.chat.completions.create({ ...req, messages: [{ role: "user", content: [
    { type: "text", text: "What is this?" },
    { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] }] }),
  (e) => e.status === 400 && /takes text only/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...req, messages: [{ role: "user", content: 5 }] }),
    (e) => e.status === 400 && /messages/.test(e.message));
});

if (process.env.HEED_TMPL_URL) {
  await check("--chat-template-file: the chat is that template's rendering, tool call arguments as objects", async () => {
    const t = new OpenAI({ baseURL: `${process.env.HEED_TMPL_URL}/v1`, apiKey: "x", maxRetries: 0 });
    // chat.json's messages, but the arguments as OpenAI sends them: a JSON string
    const msgs = [{ role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function",
        function: { name: "weather", arguments: '{"city": "Paris", "days": 1.0}' } }] },
      { role: "tool", tool_call_id: "c1", content: "Sunny." }];
    const req = { model: "default", messages: msgs, max_tokens: 4, temperature: 0 };
    const r = await t.chat.completions.create(req);
    assert.equal(r.usage.prompt_tokens, Number(process.env.HEED_TMPL_TOKENS));
    const kw = await t.chat.completions.create({ ...req, chat_template_kwargs: { greeting: "Ahoy" } });
    assert.equal(kw.usage.prompt_tokens, Number(process.env.HEED_TMPL_TOKENS_KW));
    assert.ok(kw.usage.prompt_tokens > r.usage.prompt_tokens);
    await assert.rejects(t.chat.completions.create({ ...req, messages: [{ role: "bad", content: "x" }] }),
      (e) => e.status === 400 && /template:5:\d+: no role may be bad/.test(e.message));
  });
}

await check("tokenize and detokenize", async () => {
  const t = await (await post("/tokenize", { content: "In the beginning", with_pieces: true })).json();
  assert.deepEqual(t.tokens.map((x) => x.piece), ["In", " the", " beginning"]);
  const d = await (await post("/detokenize", { tokens: t.tokens.map((x) => x.id) })).json();
  assert.equal(d.content, "In the beginning");
});

await check("/v1/attention: heed attend's JSON; 'it' looks at 'light' in layer 4", async () => {
  const r = await post("/v1/attention", { prompt: "And God saw the light, that it was good" });
  assert.equal(r.status, 200);
  const doc = await r.json();
  assert.equal(doc.n_layer, 6);
  assert.equal(doc.n_head, 8);
  assert.equal(doc.mask, "causal");
  const pieces = doc.tokens.map((t) => t.piece);
  const it = pieces.indexOf(" it"), light = pieces.indexOf(" light");
  for (const layer of doc.layers)
    for (const head of layer.heads)
      head.weights.forEach((row, q) => {
        assert.equal(row.length, q + 1);
        assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      });
  const mean = doc.layers[4].heads[0].weights[it].map((_, k) =>
    doc.layers[4].heads.reduce((a, h) => a + h.weights[it][k], 0) / 8);
  assert.equal(mean.indexOf(Math.max(...mean)), light);
  const e = await post("/v1/embeddings", { input: "x" });
  assert.equal(e.status, 400, "a decoder has no /v1/embeddings");
  const t = await post("/v1/attention", { prompt: "x", target: "y" });
  assert.equal(t.status, 400, "nor a target");
  assert.match((await t.json()).error.message, /'target' and 'target_ids' are an encoder-decoder's/);
});

await check("ablate_heads: a zeroed head changes the greedy text for that request only", async () => {
  // head 1 of layer 3 turns "of his power, ..." into "of his kingdom, ..."
  const plain = (r) => r.choices[0].text;
  const ablated = plain(await client.completions.create({ ...greedy, ablate_heads: ["3.1"] }));
  assert.notEqual(ablated, expected);
  assert.equal(plain(await client.completions.create({ ...greedy, ablate_heads: [[3, 1]] })), ablated,
    "[LAYER, HEAD] is \"LAYER.HEAD\"");
  assert.equal(plain(await client.completions.create({ ...greedy, ablate_heads: [] })), expected,
    "an empty list changes nothing");
  assert.equal(plain(await client.completions.create(greedy)), expected, "the next request is plain");
  const stream = await client.completions.create({ ...greedy, ablate_heads: ["3.1"], stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0].text;
  assert.equal(text, ablated, "streamed as whole");
  assert.equal(plain(await client.completions.create(greedy)), expected, "plain after a stream");
  const two = plain(await client.completions.create({ ...greedy, ablate_heads: ["3.1", "0.0"] }));
  assert.notEqual(two, ablated, "two heads, not one");
  const chat = await client.chat.completions.create({ model: "default", messages, max_tokens: 8,
    temperature: 0, ablate_heads: ["3.1"] });
  assert.ok(chat.choices[0].message.content.length > 0);
  // attention: layers before the head are as they were; the later ones see its absence
  const attn = async (extra) => (await (await post("/v1/attention", { prompt: "In the beginning God", ...extra })).json());
  const [a0, a1] = [await attn({}), await attn({ ablate_heads: ["3.1"] })];
  assert.deepEqual(a1.layers.slice(0, 4), a0.layers.slice(0, 4));
  assert.notDeepEqual(a1.layers[4], a0.layers[4]);
  assert.deepEqual(await attn({}), a0, "and then plain again");
});

await check("bad heads and unknown control vectors are 400s naming the field and value", async () => {
  const expectError = async (extra, pattern) => {
    const r = await post("/v1/completions", { ...greedy, ...extra });
    assert.equal(r.status, 400);
    const e = (await r.json()).error;
    assert.equal(e.type, "invalid_request_error");
    assert.match(e.message, pattern);
  };
  await expectError({ ablate_heads: ["6.0"] }, /'ablate_heads' has "6\.0", which is out of range: the model has layers 0 to 5, each of heads 0 to 7/);
  await expectError({ ablate_heads: [[0, 8]] }, /'ablate_heads' has \[0,8\], which is out of range/);
  await expectError({ ablate_heads: [[-1, 0]] }, /'ablate_heads' has \[-1,0\], which is out of range/);
  await expectError({ ablate_heads: ["3"] }, /'ablate_heads' has "3", which is not a head/);
  await expectError({ ablate_heads: ["3.1x"] }, /'ablate_heads' has "3\.1x", which is not a head/);
  await expectError({ ablate_heads: [[3, 1.5]] }, /'ablate_heads' has \[3,1\.5\], which is not a head/);
  await expectError({ ablate_heads: "3.1" }, /'ablate_heads' must be an array/);
  await expectError({ control_vectors: [{ name: "happy", scale: 1 }] },
    /'control_vectors' names 'happy', but the server loaded none/);
  await expectError({ control_vectors: "happy" }, /'control_vectors' must be an array/);
  await expectError({ control_vector_layer_range: [4, 2] }, /'control_vector_layer_range' is \[4,2\]/);
  assert.equal((await client.completions.create(greedy)).choices[0].text, expected);
});

if (process.env.HEED_CV_URL) {
  await check("control vectors by name equal heed run --control-vector(-scaled)'s text", async () => {
    const cv = new OpenAI({ baseURL: `${process.env.HEED_CV_URL}/v1`, apiKey: "x", maxRetries: 0 });
    const { HEED_CV_PLAIN: plain, HEED_CV_DEFAULT: dflt, HEED_CV_A: a, HEED_CV_A_RANGE: aRange } = process.env;
    assert.notEqual(a, plain);
    assert.notEqual(aRange, a);
    const req = { model: "default", prompt: "And God said", max_tokens: 24, temperature: 0 };
    const text = async (extra) => (await cv.completions.create({ ...req, ...extra })).choices[0].text;
    const models = await cv.models.list();
    assert.deepEqual(models.data[0].meta.control_vectors,
      [{ name: "cvec-a", scale: 0.8 }, { name: "cvec-b", scale: 1 }]);
    // naming none: the start-up vectors at their start-up scales, as llama-server
    assert.equal(await text({}), dflt);
    assert.equal(await text({ control_vectors: [] }), plain, "[] turns them off");
    assert.equal(await text({ control_vectors: [{ name: "cvec-a", scale: 1.5 }] }), a);
    assert.equal(await text({ control_vectors: [] }), plain, "the slot is plain again");
    assert.equal(await text({ control_vectors: [{ name: "cvec-a", scale: 0.8 }, { name: "cvec-b" }] }), dflt,
      "scale defaults to 1, and the sum is heed run's");
    assert.equal(await text({ control_vectors: [{ name: "cvec-a", scale: 0 }] }), plain, "scale 0 is none");
    assert.equal(await text({ control_vectors: [{ name: "cvec-a", scale: 1.5 }],
      control_vector_layer_range: [2, 4] }), aRange);
    const stream = await cv.completions.create({ ...req, stream: true,
      control_vectors: [{ name: "cvec-a", scale: 1.5 }] });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0].text;
    assert.equal(streamed, a);
    assert.equal(await text({}), dflt);
    const r = await fetch(`${process.env.HEED_CV_URL}/v1/completions`, { method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...req, control_vectors: [{ name: "cvec-c", scale: 1 }] }) });
    assert.equal(r.status, 400);
    const e = (await r.json()).error;
    assert.equal(e.code, "unknown_control_vector");
    assert.match(e.message, /'control_vectors' names 'cvec-c', which is not loaded \(loaded: cvec-a, cvec-b\)/);
  });
}

if (process.env.HEED_CV_URL) {
  await check("4 requests at once (continuous batching) answer as each does alone", async () => {
    const url = process.env.HEED_CV_URL;
    const cv = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    const reqs = [
      { prompt: "And God said", max_tokens: 24, temperature: 0, heed: { attention: { top_k: 2 } } },
      { prompt: "In the beginning God created", max_tokens: 40, temperature: 0, stop: [" and"] },
      { prompt: "And the LORD spake unto Moses, saying, Speak unto the children of Israel",
        max_tokens: 32, temperature: 0.8, seed: 7, logprobs: 2 },
      { prompt: "Behold", max_tokens: 16, temperature: 0, lookup: 3 },
    ].map((r) => ({ model: "default", ...r }));
    const text = async (r) => {
      if (!r.stream) return (await cv.completions.create(r)).choices[0];
      let t = "";
      for await (const chunk of await cv.completions.create(r)) t += chunk.choices[0].text;
      return { text: t };
    };
    const metric = async (name) => Number((await (await fetch(`${url}/metrics`)).text())
      .match(new RegExp(`^${name} (\\S+)$`, "m"))[1]);
    const alone = [];
    for (const r of reqs) alone.push(await text(r));
    const rounds = await metric("heed_batch_rounds_total"), tokens = await metric("heed_batch_tokens_total");
    const together = await Promise.all(reqs.map((r, i) => text(i === 1 ? { ...r, stream: true } : r)));
    together.forEach((c, i) => assert.equal(c.text, alone[i].text, `request ${i}`));
    assert.deepEqual(together[2].logprobs, alone[2].logprobs, "the sampled request's logprobs");
    const mean = (await metric("heed_batch_tokens_total") - tokens) / (await metric("heed_batch_rounds_total") - rounds);
    assert.ok(mean > 1.5, `the rounds decoded ${mean} tokens each: the requests did not share passes`);
  });

  await check("n choices: each as a request alone with seed + i, streamed or not", async () => {
    const cv = new OpenAI({ baseURL: `${process.env.HEED_CV_URL}/v1`, apiKey: "x", maxRetries: 0 });
    const req = { model: "default", prompt: "And God said unto Noah", max_tokens: 20,
      temperature: 0.9, seed: 11, n: 3, logprobs: 1 };
    const r = await cv.completions.create(req);
    assert.equal(r.choices.length, 3);
    assert.equal(r.usage.completion_tokens, r.choices.reduce((a, c) => a + c.logprobs.tokens.length, 0));
    const texts = new Set();
    for (const c of r.choices) {
      const alone = (await cv.completions.create({ ...req, n: 1, seed: req.seed + c.index })).choices[0];
      assert.equal(c.text, alone.text, `choice ${c.index}`);
      assert.deepEqual(c.logprobs, alone.logprobs, `choice ${c.index}'s logprobs`);
      texts.add(c.text);
    }
    assert.ok(texts.size > 1, "the choices are not all the same");
    const got = ["", "", ""];
    const finish = [null, null, null];
    for await (const chunk of await cv.completions.create({ ...req, stream: true })) {
      for (const c of chunk.choices) {
        got[c.index] += c.text;
        finish[c.index] = c.finish_reason ?? finish[c.index];
      }
    }
    assert.deepEqual(got, r.choices.map((c) => c.text));
    assert.deepEqual(finish, r.choices.map((c) => c.finish_reason));
    const chat = await cv.chat.completions.create({ model: "default", n: 2, max_tokens: 8,
      temperature: 0, messages: [{ role: "user", content: "Who made the heaven?" }] });
    assert.equal(chat.choices.length, 2);
    assert.equal(chat.choices[0].message.content, chat.choices[1].message.content); // greedy
    assert.equal((await fetch(`${process.env.HEED_CV_URL}/v1/completions`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...req, n: 5 }) })).status, 400);
  });

  await check("a model with no chat template chats in chatml, as llama-server falls back", async () => {
    const cv = new OpenAI({ baseURL: `${process.env.HEED_CV_URL}/v1`, apiKey: "x", maxRetries: 0 });
    const req = { model: "default", messages: [{ role: "user", content: "Who made the heaven?" }],
      max_tokens: 10, temperature: 0 };
    const fallback = await cv.chat.completions.create({ ...req, control_vectors: [] });
    const chatml = await client.chat.completions.create(req); // started with --chat-template chatml
    assert.equal(fallback.choices[0].message.content, chatml.choices[0].message.content);
    assert.equal(fallback.usage.prompt_tokens, chatml.usage.prompt_tokens);
  });
}

if (process.env.HEED_EMBED_URL) {
  await check("embeddings from an encoder equal heed embed's", async () => {
    const bert = new OpenAI({ baseURL: `${process.env.HEED_EMBED_URL}/v1`, apiKey: "x", maxRetries: 0 });
    const want = process.env.HEED_EMBED_EXPECTED.trim().split(/\s+/).map(Number);
    for (const encoding_format of [undefined, "float", "base64"]) {
      const r = await bert.embeddings.create({ model: "bert", input: ["hello world", "another"],
        ...(encoding_format ? { encoding_format } : {}) });
      assert.equal(r.data.length, 2);
      const raw = r.data[0].embedding; // asked-for base64 comes as it is
      const got = typeof raw === "string"
        ? Array.from(new Float32Array(new Uint8Array(Buffer.from(raw, "base64")).buffer)) : Array.from(raw);
      assert.equal(got.length, want.length);
      got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `${x} vs ${want[i]}`));
      assert.ok(r.usage.prompt_tokens > 4);
    }
  });
}

await check("a full queue answers 503 with Retry-After", async () => {
  // one slot, one place in the queue: of six long requests at once, one
  // generates, one waits, and the others are turned away at once
  const long = { prompt: "And", max_tokens: 120, temperature: 1, seed: 1 };
  const rs = await Promise.all(Array.from({ length: 6 }, () => post("/v1/completions", long)));
  const bodies = await Promise.all(rs.map((r) => r.text()));
  const busy = rs.map((r, i) => [r, bodies[i]]).filter(([r]) => r.status === 503);
  assert.ok(rs.every((r) => r.status === 200 || r.status === 503));
  assert.ok(busy.length >= 1 && busy.length <= 4, rs.map((r) => r.status).join(" "));
  assert.equal(busy[0][0].headers.get("retry-after"), "1");
  assert.equal(JSON.parse(busy[0][1]).error.code, "server_busy");
});

await check("a client leaving mid-stream frees its slot", async () => {
  const ac = new AbortController();
  const r = await fetch(`${base}/v1/completions`, {
    method: "POST", signal: ac.signal,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "And", max_tokens: 120, stream: true }),
  });
  const reader = r.body.getReader();
  await reader.read(); // the first event, then gone
  ac.abort();
  // the only slot must come back: a request now is served, not queued to time out
  const ok = await client.completions.create({ ...greedy });
  assert.equal(ok.choices[0].text, expected);
});

await check("300 malformed requests: every answer is HTTP with a JSON error, and the server lives", async () => {
  await malformed(base, post, 300);
});

console.log(`serve test: ok, ${checks} checks`);
