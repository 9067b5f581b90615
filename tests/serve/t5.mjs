// t5.mjs — heed serve on an encoder-decoder (a random-weight tiny-t5 from
// heed synth, started with -c 64), driven by the official openai client:
// the prompt is the source and the completion the generated target —
// greedy equal to `heed run --temp 0`, streamed, with no prompt cache
// claimed; chat messages joined as the source; /v1/attention's three
// attentions equal to `heed attend --json`'s, with "target" or
// "target_ids" (within 1e-4); its 400s; and an encoder (tiny-t5encoder) whose embeddings
// equal `heed embed --pooling mean`'s.
//
//   node t5.mjs T5_URL ENCODER_URL PROMPT EXPECTED ATTEND_JSON EMBEDDING
//
// EXPECTED is what `heed run T5 -p PROMPT -n 8 --temp 0` printed after the
// prompt, ATTEND_JSON the file `heed attend T5 -p PROMPT -n 8 --json` wrote,
// EMBEDDING what `heed embed ENCODER -p PROMPT --pooling mean` printed.
import OpenAI from "openai";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { malformed } from "./malformed.mjs";

const [base, encBase, prompt, expected, attendPath, embedding] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "x", maxRetries: 0 });
const cli = JSON.parse(readFileSync(attendPath, "utf8"));
const nSrc = cli.source.tokens.length;
let checks = 0;
const check = async (name, fn) => {
  await fn();
  checks++;
  console.log(`serve test (t5): ok  ${name}`);
};
const post = (path, body, at = base) =>
  fetch(`${at}${path}`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body) });
const greedy = { model: "t5", prompt, max_tokens: 8, temperature: 0 };
const expectError = async (path, body, pattern, at = base) => {
  const r = await post(path, body, at);
  assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
  const e = (await r.json()).error;
  assert.equal(e.type, "invalid_request_error");
  assert.match(e.message, pattern);
  return e;
};

await check("/v1/models says it is an encoder-decoder", async () => {
  const meta = (await client.models.list()).data[0].meta;
  assert.equal(meta.encoder_decoder, true);
  const enc = await (await fetch(`${encBase}/v1/models`)).json();
  assert.equal(enc.data[0].meta.encoder_decoder, false);
});

await check("a greedy completion equals heed run --temp 0, and claims no cached prompt", async () => {
  for (let i = 0; i < 2; i++) { // the same source twice: encoded afresh, nothing reused
    const r = await client.completions.create(greedy);
    assert.equal(r.choices[0].text, expected);
    assert.equal(r.choices[0].finish_reason, "length");
    assert.deepEqual(r.usage, { prompt_tokens: nSrc, completion_tokens: 8, total_tokens: nSrc + 8,
      prompt_tokens_details: { cached_tokens: 0 } });
  }
  const m = await (await fetch(`${base}/metrics`)).text();
  assert.match(m, /^heed_prompt_cache_hits_total 0$/m);
});

await check("a streamed completion sends the same text, token by token with logprobs", async () => {
  const stream = await client.completions.create({ ...greedy, stream: true, logprobs: 5,
    stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null;
  const pieces = [];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    text += c.text;
    finish = c.finish_reason ?? finish;
    if (c.logprobs) pieces.push(...c.logprobs.tokens);
  }
  assert.equal(text, expected);
  assert.equal(finish, "length");
  assert.equal(pieces.join(""), expected);
  assert.deepEqual(pieces, cli.tokens.slice(1).map((t) => t.piece), "heed attend's greedy tokens");
  assert.equal(usage.prompt_tokens_details.cached_tokens, 0);
});

await check("chat: the messages' contents, joined by newlines, are the source", async () => {
  const chat = async (messages) => (await client.chat.completions.create({ model: "t5", messages,
    max_tokens: 8, temperature: 0 })).choices[0].message.content;
  assert.equal(await chat([{ role: "user", content: prompt }]), expected);
  const two = [{ role: "system", content: "be brief" }, { role: "user", content: prompt }];
  const joined = await client.completions.create({ ...greedy, prompt: `be brief\n${prompt}` });
  assert.equal(await chat(two), joined.choices[0].text);
});

// every row of a block within 1e-4 of the CLI's, and summing to 1: the CLI
// decodes a token at a time, the server evaluates the target in one batch,
// whose float rounding differs (measured at most 4.5e-5, decoder rows)
const sameBlock = (got, want, keys) => {
  assert.equal(got.mask, want.mask);
  assert.equal(got.layers.length, want.layers.length);
  got.layers.forEach((L, l) => L.heads.forEach((H, h) => H.weights.forEach((row, q) => {
    const w = want.layers[l].heads[h].weights[q];
    assert.equal(row.length, keys(q));
    assert.equal(row.length, w.length);
    row.forEach((x, k) => assert.ok(Math.abs(x - w[k]) < 1e-4, `layer ${l} head ${h} row ${q}: ${x} vs ${w[k]}`));
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  })));
};

await check("/v1/attention: the three attentions of heed attend --json, by target_ids or target", async () => {
  const ids = cli.tokens.slice(1).map((t) => t.id);
  const doc = await (await post("/v1/attention", { prompt, target_ids: ids })).json();
  assert.deepEqual(doc.tokens, cli.tokens, "the decoder's start token, then the target");
  assert.deepEqual(doc.source, cli.source);
  assert.equal(doc.n_prompt, 1);
  assert.equal(doc.kind, "decoder");
  sameBlock(doc, cli, (q) => q + 1);
  sameBlock(doc.encoder, cli.encoder, () => nSrc);
  sameBlock(doc.cross, cli.cross, () => nSrc);
  const byText = await (await post("/v1/attention", { prompt, target: expected })).json();
  assert.deepEqual(byText.tokens, cli.tokens, "the text gives the same tokens");
  assert.deepEqual(byText.cross, doc.cross);
  const alone = await (await post("/v1/attention", { prompt })).json();
  assert.equal(alone.tokens.length, 1, "no target: the start token alone");
  assert.deepEqual(alone.encoder, doc.encoder);
  alone.cross.layers[0].heads[0].weights[0].forEach((x, k) =>
    assert.ok(Math.abs(x - doc.cross.layers[0].heads[0].weights[0][k]) < 1e-4, "its row, as in the batch"));
});

await check("bad requests are 400s saying what is wrong", async () => {
  await expectError("/v1/attention", { prompt, target: "a", target_ids: [1] },
    /'target' and 'target_ids' exclude each other/);
  await expectError("/v1/attention", { prompt, target: 5 }, /'target' must be a string/);
  await expectError("/v1/attention", { prompt, target_ids: [1, 320] }, /'target_ids' must hold token ids in \[0, 320\)/);
  await expectError("/v1/attention", { prompt, target_ids: [1.5] }, /'target_ids' must hold token ids/);
  await expectError("/v1/attention", { prompt, target_ids: "1,2" }, /'target_ids' must be an array of token ids/);
  const long = await expectError("/v1/attention", { prompt, target_ids: Array(64).fill(5) },
    /decoder's context is 64 tokens: its start token and the target's 64 do not fit/);
  assert.equal(long.code, "context_length_exceeded");
  await expectError("/v1/attention", { prompt: "hello ".repeat(20) }, /maximum context length is 64 tokens/);
  await expectError("/v1/completions", { ...greedy, prompt: "hello ".repeat(20) }, /maximum context length is 64 tokens/);
  const e = await expectError("/v1/embeddings", { input: prompt }, /t5 encoder-decoder; \/v1\/embeddings needs an encoder/);
  assert.equal(e.code, "model_not_embedding");
  assert.equal((await client.completions.create(greedy)).choices[0].text, expected, "and then as before");
});

await check("an encoder (t5encoder): embeddings mean-pooled as heed embed --pooling mean; no completions", async () => {
  const want = embedding.trim().split(/\s+/).map(Number);
  const enc = new OpenAI({ baseURL: `${encBase}/v1`, apiKey: "x", maxRetries: 0 });
  const r = await enc.embeddings.create({ model: "t5encoder", input: [prompt, "another"] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, want.length);
  r.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `${x} vs ${want[i]}`));
  const count = async (content) => (await (await post("/tokenize", { content, add_special: true },
    encBase)).json()).tokens.length;
  assert.equal(r.usage.prompt_tokens, await count(prompt) + await count("another"));
  const e = await expectError("/v1/completions", greedy, /t5encoder encoder: it embeds text/, encBase);
  assert.equal(e.code, "model_not_generative");
});

await check("100 malformed requests: every answer is HTTP with a JSON error, and the server lives", async () => {
  await malformed(base, (path, body) => post(path, body), 100);
});

console.log(`serve test (t5): ok, ${checks} checks`);
