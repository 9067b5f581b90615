// conns.mjs — heed serve against hostile connections, on loopback: 1,000
// idle connections that each sent half a request header, held while
// /health is timed and a completion runs, then closed (the server's open
// files and resident memory must come back); the per-address connection
// limit; the read timeout on a slow header and a slow body, and not on
// requests that wait for a slot and generate longer than it.
//
//   node conns.mjs MANY_URL MANY_PID EXPECTED_GREEDY_TEXT LIMIT_URL TIMEOUT_URL
//
// MANY_URL's server (pid MANY_PID) takes 2,000 connections per address;
// LIMIT_URL's takes 4; TIMEOUT_URL's has --read-timeout 1, --timeout 2,
// one slot with -c 8192 and --max-tokens 8000 (run.sh). Timings are
// printed, not asserted, but for bounds no machine can miss.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";

const [manyUrl, manyPid, expected, limitUrl, timeoutUrl] = process.argv.slice(2);
const HALF = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ok = (what) => console.log(`serve test: ok  ${what}`);

// A connection that has sent `data` (nothing if empty), from localAddress.
const open = (url, data = "", localAddress = undefined) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const s = net.connect({ host: u.hostname, port: Number(u.port), localAddress }, () => {
      if (data) s.write(data);
      resolve(s);
    });
    s.received = "";
    s.on("data", (d) => (s.received += d));
    s.whenClosed = new Promise((done) => s.on("close", done));
    s.on("error", () => {}); // a refused or reset connection shows as closed
    s.once("error", reject); // before it connected: the test fails
  });

// GET path on a connection of its own: [status, body, milliseconds].
const get = (url, path, localAddress = undefined) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get(`${url}${path}`, { agent: false, localAddress }, (r) => {
      let body = "";
      r.on("data", (d) => (body += d));
      r.on("end", () => resolve([r.statusCode, body, performance.now() - t0]));
    }).on("error", reject);
  });

const complete = async (url, body) => {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const j = await r.json();
  return [r.status, j, performance.now() - t0];
};

const greedy = { prompt: "In the beginning", max_tokens: 12, temperature: 0 };
const fds = () => fs.readdirSync(`/proc/${manyPid}/fd`).length;
const rssKiB = () => Number(/VmRSS:\s*(\d+)/.exec(fs.readFileSync(`/proc/${manyPid}/status`, "utf8"))[1]);
const until = async (what, cond, seconds) => {
  for (const t0 = Date.now(); !cond(); await sleep(50))
    assert.ok(Date.now() - t0 < seconds * 1000, `${what} within ${seconds} s`);
};
const healthTimes = async (n) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const [status, body, t] = await get(manyUrl, "/health");
    assert.equal(status, 200);
    assert.equal(JSON.parse(body).status, "ok");
    ms.push(t);
  }
  ms.sort((a, b) => a - b);
  return `median ${ms[n >> 1].toFixed(2)} ms, max ${ms[n - 1].toFixed(2)} ms`;
};

{
  // warm: the first requests' allocations are not what is measured
  assert.equal((await complete(manyUrl, greedy))[0], 200);
  const idle = await healthTimes(50);
  const [, , alone] = await complete(manyUrl, greedy);
  const fd0 = fds(), rss0 = rssKiB();
  const held = [];
  for (let i = 0; i < 1000; i += 100)
    held.push(...(await Promise.all(Array.from({ length: 100 }, () => open(manyUrl, HALF)))));
  await until("the server holds the 1,000 connections", () => fds() >= fd0 + 1000, 30);
  const busy = await healthTimes(50);
  const [status, j, ms] = await complete(manyUrl, greedy);
  assert.equal(status, 200);
  assert.equal(j.choices[0].text, expected);
  const rssHeld = rssKiB();
  assert.equal(held.filter((s) => s.destroyed).length, 0, "all still open");
  held.forEach((s) => s.destroy());
  await until("the server's open files come back", () => fds() <= fd0, 30);
  const rss1 = rssKiB();
  console.log(`serve test: /health (50, a connection each): ${idle} with no other connection, ` +
    `${busy} with 1,000 idle ones; a 12-token completion ${alone.toFixed(1)} ms alone, ` +
    `${ms.toFixed(1)} ms with them; ` +
    `open files ${fd0} -> ${fd0 + 1000}+ -> ${fds()}, resident ${rss0} -> ${rssHeld} -> ${rss1} KiB`);
  // (a sanitizer holds on to freed memory)
  if (!/lib[at]san/.test(fs.readFileSync(`/proc/${manyPid}/maps`, "utf8")))
    assert.ok(rss1 - rss0 < 4096, `resident memory back near ${rss0} KiB (is ${rss1})`);
  ok("1,000 idle half-open connections: /health answers and a completion completes; " +
    "closed, the open files and memory come back");
}

{
  // 4 connections per address: the fifth from 127.0.0.1 is closed unanswered,
  // another address is served, and a freed place is taken again
  const held = await Promise.all(Array.from({ length: 4 }, () => open(limitUrl, HALF)));
  await sleep(200); // the server has accepted them before the fifth comes
  const fifth = await open(limitUrl);
  await Promise.race([fifth.whenClosed, sleep(10000)]);
  assert.ok(fifth.destroyed, "the fifth connection is closed");
  assert.equal(fifth.received, "");
  const [status] = await get(limitUrl, "/health", "127.0.0.2");
  assert.equal(status, 200);
  held[0].destroy();
  let again = 0;
  for (let tries = 0; again !== 200 && tries < 100; tries++)
    [again] = await get(limitUrl, "/health").catch(() => sleep(50).then(() => [0]));
  assert.equal(again, 200, "a freed place is taken again");
  held.forEach((s) => s.destroy());
  ok("--max-connections-per-ip: the fifth of 4 is closed unanswered; another address is served");
}

{
  // --read-timeout 1: a header or a body that stops coming is closed; a
  // request waiting for the slot and generating is not
  const t0 = performance.now();
  const header = await open(timeoutUrl, HALF);
  const body = await open(timeoutUrl, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\":");
  await Promise.race([Promise.all([header.whenClosed, body.whenClosed]), sleep(20000)]);
  const closedMs = performance.now() - t0;
  assert.ok(header.destroyed && body.destroyed, "closed by the read timeout");
  assert.ok(closedMs > 900, `not before the timeout (${closedMs} ms)`);
  // the slot's request generates until --timeout 2 ends it, its
  // connection suspended twice as long as the read timeout; the second
  // waits for the slot as long (then generates, or is turned away at its
  // deadline): both are answered
  const long = { prompt: "And", max_tokens: 8000, temperature: 1, seed: 1,
    logit_bias: { 4095: false } }; // the default model's end of text, banned
  const [[status, j, ms], [status2]] = await Promise.all([complete(timeoutUrl, long),
    sleep(100).then(() => complete(timeoutUrl, long))]);
  assert.equal(status, 200, JSON.stringify(j));
  assert.equal(j.choices[0].finish_reason, "length");
  assert.ok(j.usage.completion_tokens < 8000 && ms > 1900,
    `${j.usage.completion_tokens} tokens in ${ms} ms`);
  assert.ok(status2 === 200 || status2 === 503, `${status2}`);
  console.log(`serve test: --read-timeout 1 closed a slow header and a slow body after ` +
    `${closedMs.toFixed(0)} ms; a request generated ${ms.toFixed(0)} ms (to --timeout 2), ` +
    `one waited for it`);
  ok("--read-timeout: slow headers and bodies are closed; waiting and generating are not");
}
