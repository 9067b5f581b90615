// polyfill.mjs — a chat template rendered as llama-server renders it:
// POST /apply-template on each server gives, byte for byte, the prompt
// llama-server (llama.cpp c392e50, --jinja) gives for the same request,
// template and model (polyfill/expected.json, written by
// scripts/polyfill_expected.py), or fails where it fails. The templates
// lack a system role, tools, calls, results, string or object arguments,
// or want typed content, so each of minja's rewrites is taken; one is laid
// out as DeepSeek R1's, whose prompt llama.cpp mends; "none" is the chatml
// fallback of a model with no template. Then 60 malformed requests to each.
//
//   node polyfill.mjs NAME=URL...
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { malformed } from "./malformed.mjs";

const here = new URL(".", import.meta.url).pathname;
const requests = JSON.parse(readFileSync(`${here}/polyfill/requests.json`, "utf8"));
const expected = JSON.parse(readFileSync(`${here}/polyfill/expected.json`, "utf8"));
let checks = 0;
for (const arg of process.argv.slice(2)) {
  const [name, url] = arg.split("=");
  for (const [req, body] of Object.entries(requests)) {
    const r = await fetch(`${url}/apply-template`, { method: "POST", body: JSON.stringify(body) });
    const want = expected[name][req];
    if (want === null) {
      assert.equal(r.status, 400, `${name} ${req}: llama-server refuses it`);
    } else {
      assert.equal(r.status, 200, `${name} ${req}: ${await r.clone().text()}`);
      assert.equal((await r.json()).prompt, want, `${name} ${req}`);
    }
    checks++;
  }
  // and hostile requests: a template's rewrites must not take the server down
  await malformed(url, (path, body) => fetch(`${url}${path}`, { method: "POST", body }), 60);
}
console.log(`serve test (polyfill): ok  ${checks} prompts equal llama-server's, and 60 malformed requests each (templates ` +
  `${process.argv.slice(2).map((a) => a.split("=")[0]).join(", ")})`);
