// malformed.mjs — n seeded malformed requests (random bytes, wrong types,
// unknown shapes) to every endpoint of the server at base, through post
// (path, body): each must get an HTTP answer, an error one carrying a JSON
// error message, and the server must live on.
import assert from "node:assert/strict";

export async function malformed(base, post, n) {
  let seed = 7;
  const rnd = (k) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % k);
  const paths = ["/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize", "/v1/models",
    "/v1/attention", "/v1/embeddings", "/apply-template", "/x"];
  const values = [null, true, -1, 1e308, "", "é\u0000", [], {}, [1, "a"], { a: [] }, 3.5, "<|endoftext|>",
    [{ role: "assistant", content: null, tool_calls: [{ type: "function", function: { name: 1 } }] }],
    [{ role: "tool", content: [{ type: "text" }] }, { role: "system", content: {} }],
    [{ role: "assistant", content: "", tool_calls: [{ type: "function", id: "x",
      function: { name: "f", arguments: "{\"a\": 1} trailing" } }] }, { role: "tool", content: null }],
    [{ type: "function", function: { name: "f", parameters: { type: "object" } } }], "required"];
  const fields = ["prompt", "messages", "max_tokens", "temperature", "top_p", "stop", "stream", "input",
    "logprobs", "top_logprobs", "seed", "tokens", "content", "stream_options", "n", "model",
    "ablate_heads", "control_vectors", "control_vector_layer_range", "target", "target_ids", "tools",
    "tool_choice", "chat_template_kwargs", "parallel_tool_calls", "reasoning_format"];
  for (let i = 0; i < n; i++) {
    let body;
    switch (rnd(3)) {
      case 0: body = Array.from({ length: rnd(64) }, () => String.fromCharCode(rnd(256))).join(""); break;
      case 1: {
        const o = {};
        for (let k = rnd(5); k >= 0; k--) o[fields[rnd(fields.length)]] = values[rnd(values.length)];
        body = JSON.stringify(o);
        break;
      }
      default: body = JSON.stringify(values[rnd(values.length)]);
    }
    const r = await post(paths[rnd(paths.length)], body);
    const text = await r.text();
    assert.ok(r.status >= 200 && r.status < 600);
    if (r.status >= 400) assert.ok(JSON.parse(text).error.message, text);
  }
  assert.equal((await fetch(`${base}/health`)).status, 200);
}
