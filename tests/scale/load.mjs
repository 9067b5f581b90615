// load.mjs — bounded concurrent load on heed serve: N requests, C at a
// time, four kinds in turn (completions and chat, whole and streamed with
// a usage chunk). Prints requests/s and generated tokens/s; every request
// must succeed.
//
//   node load.mjs BASE_URL N C
//   node load.mjs BASE_URL N C VICTIM_PID VICTIM_ADDR DEAD_ADDR ACCESS_LOG
//
// With the last four, BASE_URL is nginx (tests/scale/nginx.sh) in front
// of replicas at VICTIM_ADDR and one other, and DEAD_ADDR, where nothing
// listens; nginx names the replica that answers in an X-Upstream header.
// Once a quarter of the requests have answered, while the victim streams
// a completion to its client and has requests queued, the victim is
// killed (SIGKILL); it is down once a connect to it fails. Then:
//   - a request fails cleanly when the client gets nginx's 502 and no
//     answer, or a 200 whose connection breaks before the answer has all
//     come: a stream without `data: [DONE]`, each event it did get whole
//     and valid JSON (an event is whole at its blank line; SSE drops an
//     unfinished one). Anything else is unclean: another status, an
//     answer that ends normally but is malformed or short, a hang (30 s).
//   - a request fails (cleanly) only if nginx sent it to the victim and it
//     began before the victim was down; every other request succeeds, and
//     each one begun after the victim was down is answered by the other.
//     The kill fails a stream mid-way and a request not yet answered.
//   - nginx never sends a request to a second replica after it has sent
//     it to a first (a POST is not run twice), yet a request whose connect
//     failed (DEAD_ADDR) goes to another replica and succeeds.
//   - before the kill both replicas answered (least_conn shares the load).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const [base, n, c, victimPid, victimAddr, deadAddr, accessLog] = process.argv.slice(2);
const N = Number(n), C = Number(c);
// the default model's context is 128 tokens: these all fit
const kinds = [
  { path: "/v1/completions", body: { prompt: "In the beginning", max_tokens: 48 } },
  { path: "/v1/completions", stream: true, body: { prompt: "And God said", max_tokens: 96 } },
  { path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "Who made the heaven?" }],
    max_tokens: 48 } },
  { path: "/v1/chat/completions", stream: true,
    body: { messages: [{ role: "user", content: "Who made the earth?" }], max_tokens: 64 } },
];
const finished = (choice) => assert.match(choice.finish_reason, /^(length|stop)$/);

// The outcome of request r of kind k: "ok" (r.tokens generated), "502",
// "cut" or "unclean: why"; r.upstream is the replica that answers, and
// r.events counts a stream's events as they come.
const answer = async (r, k) => {
  const body = { model: "default", seed: r.i, ...k.body };
  if (k.stream)
    Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  let res, text = "", done = false;
  const events = [];
  try {
    res = await fetch(`${base}${k.path}`, {
      method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(30000),
      headers: { "Content-Type": "application/json", "X-Test-Id": String(r.i) },
    });
    r.upstream = res.headers.get("x-upstream");
    const decoder = new TextDecoder();
    for await (const bytes of res.body) {
      text += decoder.decode(bytes, { stream: true });
      for (let end; k.stream && (end = text.indexOf("\n\n")) >= 0; r.events++) {
        const event = text.slice(0, end);
        text = text.slice(end + 2);
        assert.ok(!done, "an event after [DONE]");
        assert.match(event, /^data: /, "not a data event");
        if (event === "data: [DONE]")
          done = true;
        else
          events.push(JSON.parse(event.slice(6)));
      }
    }
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof assert.AssertionError)
      return `unclean: ${e.message}`;
    if (e.name === "TimeoutError")
      return `unclean: ${res ? "hung mid-answer" : "no answer in 30 s"}`;
    return res?.status === 200 && !done ? "cut" : `unclean: status ${res?.status}, then ${e.message}`;
  }
  if (res.status === 502)
    return "502";
  if (res.status !== 200)
    return `unclean: status ${res.status}: ${text.slice(0, 200)}`;
  try {
    if (k.stream) {
      assert.ok(done, "the stream ended without [DONE]");
      assert.equal(text, "", "bytes after the last event");
      r.tokens = events.pop().usage.completion_tokens;
      assert.ok(events.every((e) => e.choices.length === 1), "a chunk without its one choice");
      finished(events.at(-1).choices[0]);
    } else {
      const j = JSON.parse(text);
      assert.equal(typeof (k.path.includes("chat") ? j.choices[0].message.content : j.choices[0].text), "string");
      finished(j.choices[0]);
      r.tokens = j.usage.completion_tokens;
    }
  } catch (e) {
    return `unclean: ${e.message}`;
  }
  return "ok";
};

// The load: C workers take the next request until N have begun.
const results = [], running = new Set();
let next = 0;
const t0 = performance.now();
const worker = async () => {
  while (next < N) {
    const r = { i: next, start: performance.now(), tokens: 0, events: 0 };
    const k = kinds[next++ % kinds.length];
    running.add(r);
    r.outcome = await answer(r, k);
    r.end = performance.now();
    running.delete(r);
    results.push(r);
  }
};

// The kill, once a quarter of the requests have answered: when a stream
// from the victim has had 1 to 32 of its events (it has reached its client
// and is far from done) and the victim has requests queued.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const victim = `http://${victimAddr}`;
let tKill, tDown;
const kill = async () => {
  const midway = (r) => r.upstream === victimAddr && r.events >= 1 && r.events <= 32;
  for (;; await sleep(1)) {
    if (results.length === N)
      return; // never the moment: the checks below fail
    if (results.length >= N / 4 && [...running].some(midway) &&
        (await (await fetch(`${victim}/slots`)).json()).queued > 0)
      break;
  }
  process.kill(Number(victimPid), "SIGKILL");
  tKill = performance.now();
  for (;; await sleep(1))
    try {
      await fetch(`${victim}/health`, { signal: AbortSignal.timeout(1000) });
    } catch {
      tDown = performance.now();
      return;
    }
};

await Promise.all([...Array(C)].map(worker).concat(victimPid ? [kill()] : []));
const seconds = (performance.now() - t0) / 1000;
results.sort((a, b) => a.i - b.i);
const ms = (t) => (t - t0).toFixed(0);
const show = (r) => `request ${r.i} (${ms(r.start)}-${ms(r.end)} ms): ${r.outcome}`;
const failed = results.filter((r) => r.outcome !== "ok");
let ok = true;
const check = (name, good, detail = []) => {
  console.log(`scale test: ${good ? "ok  " : "FAIL"} ${name}`);
  if (!good)
    for (const d of detail)
      console.log(`  ${d}`);
  ok &&= good;
};

if (!victimPid) {
  check(`${N} requests, ${C} at a time, all answered`, failed.length === 0, failed.map(show));
  const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
  console.log(`${(N / seconds).toFixed(1)} requests/s, ${(tokens / seconds).toFixed(0)} generated tokens/s ` +
    `(${tokens} tokens in ${seconds.toFixed(2)} s)`);
  process.exit(ok ? 0 : 1);
}

// nginx logs each request as it ends: wait for all N lines
let log = new Map();
for (let tries = 0; tries < 200 && log.size < N; tries++, await sleep(10))
  log = new Map(readFileSync(accessLog, "utf8").split("\n").filter((l) => /^\d+ /.test(l)).map((l) => {
    const [, id, status, addrs, sent] = l.match(/^(\d+) (\d+) "(.*)" "(.*)"$/);
    return [Number(id), { status, addrs: addrs.split(", "), sent: sent.split(", ").map(Number) }];
  }));
const last = (i) => log.get(i)?.addrs.at(-1);
console.log(`scale test: victim killed at ${ms(tKill)} ms, down at ${ms(tDown)} ms; ` +
  `${failed.length} of ${N} requests failed: ${failed.map((r) => `${r.i} ${r.outcome}`).join(", ")}`);
check("nginx logged every request", log.size === N && results.every((r) => log.has(r.i)));
check("every failure was clean", failed.every((r) => !r.outcome.startsWith("unclean")), failed.map(show));
check("only requests on the victim before it was down failed",
  failed.every((r) => last(r.i) === victimAddr && r.start < tDown), failed.map((r) => `${show(r)} on ${last(r.i)}`));
check("the kill cut a stream mid-way and failed a request not yet answered",
  failed.some((r) => r.outcome === "cut") && failed.some((r) => r.outcome === "502"));
const after = results.filter((r) => r.start > tDown);
check(`the ${after.length} requests begun after the victim was down went to the other replica`,
  after.length > 0 && after.every((r) => r.outcome === "ok" && last(r.i) !== victimAddr),
  after.map((r) => `${show(r)} on ${last(r.i)}`));
const resent = [...log].filter(([, l]) => l.sent.slice(0, -1).some((b) => b > 0));
check("no request was sent to a second replica after reaching one", resent.length === 0,
  resent.map(([i, l]) => `request ${i}: ${l.addrs.join(", ")} sent ${l.sent.join(", ")} bytes`));
check("a failed connect (nothing listening) went to a live replica",
  [...log.values()].some((l) => l.addrs[0] === deadAddr && l.addrs.length > 1 && l.status === "200"));
const before = results.filter((r) => r.end < tKill && r.outcome === "ok");
check("both replicas answered before the kill",
  before.some((r) => last(r.i) === victimAddr) && before.some((r) => ![victimAddr, deadAddr].includes(last(r.i))));
process.exit(ok ? 0 : 1);
