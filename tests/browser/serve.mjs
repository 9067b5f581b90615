// serve.mjs — the page of `heed serve` in headless Chromium: it loads with
// no errors, streams a greedy reply from the default model (the text `heed
// run --temp 0` gives), and clicking a generated token shows its step's
// next-token table and what the model attended to as it chose it: the
// streamed top keys of that step's query row shading the tokens before it
// (a layer and head picked, or the heads' mean), and every layer × head
// heatmap of the attention page in the frame, captured over the same token
// ids and focused on that query. Then head
// ablation: clicking head 3.1 in the layer × head grid generates the prompt
// again with "ablate_heads": ["3.1"] (the text the API gives for it), and
// clicking it again brings the plain text back. Then chat mode: two turns
// through /v1/chat/completions, the reply the API's greedy chat, the
// conversation shown and sent again.
//
// With T5_URL, the page of a server on an encoder-decoder (a tiny-t5
// synth): the prompt is the source, the streamed reply (the text `heed run
// --temp 0` gives) the target, and clicking a generated token asks
// /v1/attention for the source and the target up to it, then shows its
// cross-attention in the frame: the cross view, that token the query in
// focus, the source tokens shaded by what it read.
//
//   node serve.mjs BASE_URL EXPECTED_TEXT OUT_DIR [T5_URL T5_PROMPT T5_EXPECTED_TEXT]
//
// Writes OUT_DIR/serve.png and serve-ablate.png (and serve-t5.png); exits
// 1 naming each failed check.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, expected, outDir, t5Base, t5Prompt, t5Expected] = process.argv.slice(2);
const failures = [];
let checks = 0;
const check = (ok, what) => { checks++; if (!ok) failures.push(what); return ok; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-dev-shm-usage'],
});
// The page at url, once it has named the model: the page, the console and
// page errors it gives, and the bodies it posts to the generating endpoints.
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const errors = [], posted = { '/v1/completions': [], '/v1/attention': [], '/v1/chat/completions': [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const to = posted[new URL(r.url()).pathname];
    if (to && r.method() === 'POST') to.push(JSON.parse(r.postData()));
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('model').textContent.length > 0);
  return { page, errors, posted };
}

// The page on an encoder-decoder: a generated token's cross-attention.
async function encoderDecoder() {
  const { page, errors, posted } = await open(`${t5Base}/`);
  check(/cross-attention/.test(await page.textContent('#outhint')), 'T5: the hint speaks of cross-attention');
  await page.fill('#prompt', t5Prompt);
  await page.fill('#n', '8');
  await page.click('#go');
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 30000 });
  const toks = await page.$$eval('#out .tok', (s) => s.map((x) => x.textContent));
  check(toks.length === 8, `T5: 8 tokens streamed (got ${toks.length})`);
  check(toks.join('') === t5Expected, `T5: the reply is heed run's greedy text: ${JSON.stringify(toks.join(''))}`);

  // the third generated token: target token 3, after the decoder's start token
  await page.click('#out .tok >> nth=2');
  await page.waitForFunction(() => document.body.dataset.attention === '2', null, { timeout: 30000 });
  const sent = posted['/v1/attention'].at(-1);
  check(sent && sent.prompt === t5Prompt && sent.target === toks.slice(0, 3).join(''),
        `T5: the request is the source and the target up to the token (${JSON.stringify(sent)})`);
  check(/^cross-attention of .*, target token 3$/.test(await page.textContent('#status')),
        `T5: the status names the token (${await page.textContent('#status')})`);
  const frame = page.frame({ url: /attend\.html/ });
  check(!!frame, 'T5: the attention frame is there');
  if (frame) {
    await frame.waitForFunction(() => document.getElementById('heed-root').dataset.heedReady === '1', null, { timeout: 30000 });
    const info = await frame.evaluate(() => {
      const root = document.getElementById('heed-root');
      const strip = (side) => [...document.querySelectorAll(`.heed-strip[data-side="${side}"] .heed-tok`)];
      return { view: root.dataset.view, focus: root.dataset.focus,
               source: strip('k').length, shaded: strip('k').filter((e) => e.style.background).length,
               target: strip('q').length, thumbs: document.querySelectorAll('.heed-thumb').length };
    });
    const api = await (await fetch(`${t5Base}/v1/attention`, { method: 'POST', body: JSON.stringify(sent) })).json();
    const nSrc = api.source.tokens.length;
    check(info.view === 'cross', `T5: the frame shows the cross view (${info.view})`);
    check(info.focus === 'q3', `T5: target token 3 is the query in focus (${info.focus})`);
    check(info.target === 4 && info.source === nSrc, `T5: ${info.target} target and ${info.source} source tokens, want 4 and ${nSrc}`);
    check(info.shaded === nSrc, `T5: the source shaded by what the token read (${info.shaded} of ${nSrc})`);
    check(info.thumbs === api.n_layer * api.n_head, `T5: a cross heatmap per layer × head (${info.thumbs})`);
  }
  check(errors.length === 0, `T5: no console or page errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(outDir, 'serve-t5.png'), fullPage: true });
}

try {
  const { page, errors, posted } = await open(`${base}/`);
  const completions = posted['/v1/completions'];
  check(await page.textContent('#model') === 'default.gguf', 'the page names the model');

  await page.fill('#n', '12');
  await page.click('#go');
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 30000 });
  const toks = await page.$$eval('#out .tok', (s) => s.map((x) => x.textContent));
  check(toks.length === 12, `12 tokens streamed (got ${toks.length})`);
  check(toks.join('') === expected, `the reply is heed run's greedy text: ${JSON.stringify(toks.join(''))}`);
  check(/12 tokens \(length\)/.test(await page.textContent('#status')), 'the status says why it stopped');

  // the third generated token: its table and its attention
  await page.click('#out .tok >> nth=2');
  await page.waitForFunction(() => document.body.dataset.attention === '2', null, { timeout: 30000 });
  const rows = await page.$$eval('#next tr', (r) => r.map((x) => [x.className, x.cells[0].textContent]));
  check(rows.length === 5, `the next-token table has the 5 alternatives (got ${rows.length})`);
  check(rows[0][0] === 'chosen' && rows[0][1] === JSON.stringify(toks[2]),
        `greedy: the chosen token heads the table (${JSON.stringify(rows[0])})`);
  const frame = page.frame({ url: /attend\.html/ });
  check(!!frame, 'the attention frame is there');
  if (frame) {
    await frame.waitForFunction(() => document.getElementById('heed-root').dataset.heedReady === '1', null, { timeout: 30000 });
    const info = await frame.evaluate(() => {
      const root = document.getElementById('heed-root');
      const painted = [...document.querySelectorAll('.heed-thumb canvas')].filter((c) => {
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) if (px[i + 2] > px[i] + 2) return true;
        return false;
      }).length;
      return { thumbs: document.querySelectorAll('.heed-thumb').length, painted, focus: root.dataset.focus,
               tokens: document.querySelectorAll('.heed-strip .heed-tok').length };
    });
    check(info.thumbs === 48, `a heatmap per layer × head: 6 × 8 (got ${info.thumbs})`);
    check(info.painted === 48, `every heatmap painted (got ${info.painted})`);
    // the prompt's 9 tokens and 3 generated: the clicked one is the last, in focus
    check(info.tokens >= 11 && info.focus === `q${info.tokens - 1}`,
          `the clicked token is the query in focus (${info.focus} of ${info.tokens})`);
  }

  // the streamed attention: the same request through the API gives the row
  // the third token was drawn from; the page shades the tokens before it by
  // the last layer's mean over the heads' top keys, and the frame's capture
  // was asked for by token ids (the prompt's and the two generated before)
  const sentBody = completions.at(-1);
  check(JSON.stringify(sentBody.heed) === '{"attention":{"top_k":5}}', `the page asks for the attention (${JSON.stringify(sentBody.heed)})`);
  const events = (await (await fetch(`${base}/v1/completions`, { method: 'POST',
    body: JSON.stringify(sentBody) })).text()).split('\n\n').filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice(6)).choices[0]);
  const start = events[0].heed, drawn = events.filter((c) => c.heed?.attention).map((c) => c.heed.attention);
  await page.waitForFunction(() => document.body.dataset.streamed === '2');
  const shaded = await page.$$eval('#looked span', (s) => s.map((x) => [x.textContent, +x.dataset.w, x.className]));
  const a = drawn[2], L = start.layers.length - 1, H = start.heads.length;
  const want = new Array(a.query + 1).fill(0);
  a.keys[L].forEach((keys, h) => keys.forEach((k, j) => { want[k] += a.weights[L][h][j] / H; }));
  const pieces = [...start.prompt_tokens, ...toks];
  check(shaded.length === a.query + 1 && shaded.every((x, k) => x[0] === pieces[k] && Math.abs(x[1] - want[k]) < 1e-5),
        `the tokens before it shaded by the streamed weights (${JSON.stringify(shaded.map((x) => x[1]))} vs ${JSON.stringify(want)})`);
  check(shaded[a.query][2] === 'q', 'the query position is marked');
  const asked = posted['/v1/attention'].at(-1);
  check(JSON.stringify(asked.prompt) === JSON.stringify([...start.prompt_ids, drawn[0].id, drawn[1].id]),
        `the capture is asked for by token ids (${JSON.stringify(asked.prompt)})`);
  await page.selectOption('#ahead', '3');
  const head3 = await page.$$eval('#looked span', (s) => s.map((x) => +x.dataset.w));
  const want3 = new Array(a.query + 1).fill(0);
  a.keys[L][3].forEach((k, j) => { want3[k] = a.weights[L][3][j]; });
  check(head3.every((w, k) => Math.abs(w - want3[k]) < 1e-5), `head 3 alone: its top keys (${JSON.stringify(head3)})`);

  // head ablation: the grid, a click, the same prompt again without the head
  const prompt = await page.inputValue('#prompt');
  const api = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: 12, temperature: 0, ablate_heads: ['3.1'] }) });
  const ablatedText = (await api.json()).choices[0].text;
  check(ablatedText !== expected, `ablating head 3.1 changes the API's text (${JSON.stringify(ablatedText)})`);
  check(await page.isVisible('#ablate'), 'the ablation grid is shown');
  check(await page.$$eval('#heads button', (b) => b.length) === 48, 'a button per layer × head');
  const regenerated = async (runs) => {
    await page.waitForFunction((n) => document.body.dataset.runs === String(n) && document.body.dataset.done === '1',
      runs, { timeout: 30000 });
    return (await page.$$eval('#out .tok', (t) => t.map((x) => x.textContent))).join('');
  };
  await page.fill('#prompt', 'a prompt typed but not generated');
  await page.click('#heads button[data-head="3.1"]');
  const withAblation = await regenerated(2);
  const sent = completions[completions.length - 1];
  check(completions.length === 2 && sent.prompt === prompt && JSON.stringify(sent.ablate_heads) === '["3.1"]',
        `the last prompt was sent again with ablate_heads ["3.1"] (${JSON.stringify(sent)})`);
  check(withAblation === ablatedText, `the output is the ablated text: ${JSON.stringify(withAblation)}`);
  check(await page.getAttribute('#heads button[data-head="3.1"]', 'aria-pressed') === 'true', 'the head shows as ablated');
  check(/without head 3\.1/.test(await page.textContent('#status')), 'the status names the ablated head');
  check(await page.textContent('#ablated') === 'ablated: 3.1', 'the ablated heads are listed');
  await page.screenshot({ path: join(outDir, 'serve-ablate.png'), fullPage: true });
  await page.click('#heads button[data-head="3.1"]');
  const plainAgain = await regenerated(3);
  check(completions.length === 3 && !('ablate_heads' in completions[2]), 'toggled off: no ablate_heads');
  check(plainAgain === expected, `toggled off: the plain text again (${JSON.stringify(plainAgain)})`);

  // chat mode: the box is the user's turn, the conversation goes to the
  // chat endpoint (the model's template), the reply joins it, and the next
  // turn sends all of it
  const chats = posted['/v1/chat/completions'];
  await page.check('#chat');
  await page.fill('#n', '8');
  await page.fill('#prompt', 'Who made the heaven?');
  await page.click('#go');
  await regenerated(4);
  const first = chats.at(-1);
  check(chats.length === 1 && JSON.stringify(first.messages) === '[{"role":"user","content":"Who made the heaven?"}]',
        `chat mode posts the conversation (${JSON.stringify(first)})`);
  const reply = (await (await fetch(`${base}/v1/chat/completions`, { method: 'POST',
    body: JSON.stringify({ ...first, stream: false }) })).json()).choices[0].message.content;
  const said = (await page.$$eval('#out .tok', (t) => t.map((x) => x.textContent))).join('');
  check(said === reply, `the reply streams the API's greedy chat (${JSON.stringify(said)} vs ${JSON.stringify(reply)})`);
  const turns = await page.$$eval('#history .turn', (t) => t.map((x) => [x.dataset.role, x.querySelector('.text').textContent]));
  check(JSON.stringify(turns) === JSON.stringify([['user', 'Who made the heaven?'], ['assistant', reply]]),
        `the conversation shows both turns (${JSON.stringify(turns)})`);
  await page.fill('#prompt', 'And the earth?');
  await page.click('#go');
  await regenerated(5);
  const second = chats.at(-1).messages;
  check(second.length === 3 && second[1].role === 'assistant' && second[1].content === reply &&
        second[2].content === 'And the earth?', `the next turn sends the conversation (${JSON.stringify(second)})`);
  await page.click('#newchat');
  check(await page.isHidden('#history'), 'new chat clears the conversation');
  check(errors.length === 0, `no console or page errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(outDir, 'serve.png'), fullPage: true });
  if (t5Base) await encoderDecoder();
} finally {
  await browser.close();
}
if (failures.length) {
  for (const f of failures) console.error(`serve page: FAILED ${f}`);
  process.exit(1);
}
console.log(`serve page: ok, ${checks} checks (screenshot ${join(outDir, 'serve.png')})`);
