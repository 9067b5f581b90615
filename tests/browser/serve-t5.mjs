// serve-t5.mjs — the page of `heed serve` on an encoder-decoder (a tiny-t5
// synth) in headless Chromium: the prompt is the source, the streamed
// reply (the text `heed run --temp 0` gives) the target, and clicking a
// generated token asks /v1/attention for the source and the target up to
// it, then shows its cross-attention in the frame: the cross view, that
// token the query in focus, the source tokens shaded by what it read.
//
//   node serve-t5.mjs BASE_URL PROMPT EXPECTED_TEXT OUT_DIR
//
// Writes OUT_DIR/serve-t5.png; exits 1 naming each failed check.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, prompt, expected, outDir] = process.argv.slice(2);
const failures = [];
let checks = 0;
const check = (ok, what) => { checks++; if (!ok) failures.push(what); return ok; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const attention = [];     // the bodies the page posted to /v1/attention
  page.on('request', (r) => { if (r.url().endsWith('/v1/attention')) attention.push(JSON.parse(r.postData())); });
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.getElementById('model').textContent.length > 0);
  check(/cross-attention/.test(await page.textContent('#outhint')), 'the hint speaks of cross-attention');

  await page.fill('#prompt', prompt);
  await page.fill('#n', '8');
  await page.click('#go');
  await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 30000 });
  const toks = await page.$$eval('#out .tok', (s) => s.map((x) => x.textContent));
  check(toks.length === 8, `8 tokens streamed (got ${toks.length})`);
  check(toks.join('') === expected, `the reply is heed run's greedy text: ${JSON.stringify(toks.join(''))}`);

  // the third generated token: target token 3, after the decoder's start token
  await page.click('#out .tok >> nth=2');
  await page.waitForFunction(() => document.body.dataset.attention === '2', null, { timeout: 30000 });
  const sent = attention[attention.length - 1];
  check(sent && sent.prompt === prompt && sent.target === toks.slice(0, 3).join(''),
        `the request is the source and the target up to the token (${JSON.stringify(sent)})`);
  check(/^cross-attention of .*, target token 3$/.test(await page.textContent('#status')),
        `the status names the token (${await page.textContent('#status')})`);
  const frame = page.frame({ url: /attend\.html/ });
  check(!!frame, 'the attention frame is there');
  if (frame) {
    await frame.waitForFunction(() => document.getElementById('heed-root').dataset.heedReady === '1', null, { timeout: 30000 });
    const info = await frame.evaluate(() => {
      const root = document.getElementById('heed-root');
      const strip = (side) => [...document.querySelectorAll(`.heed-strip[data-side="${side}"] .heed-tok`)];
      return { view: root.dataset.view, focus: root.dataset.focus,
               source: strip('k').length, shaded: strip('k').filter((e) => e.style.background).length,
               target: strip('q').length, thumbs: document.querySelectorAll('.heed-thumb').length };
    });
    const api = await (await fetch(`${base}/v1/attention`, { method: 'POST', body: JSON.stringify(sent) })).json();
    const nSrc = api.source.tokens.length;
    check(info.view === 'cross', `the frame shows the cross view (${info.view})`);
    check(info.focus === 'q3', `target token 3 is the query in focus (${info.focus})`);
    check(info.target === 4 && info.source === nSrc, `${info.target} target and ${info.source} source tokens, want 4 and ${nSrc}`);
    check(info.shaded === nSrc, `the source shaded by what the token read (${info.shaded} of ${nSrc})`);
    check(info.thumbs === api.n_layer * api.n_head, `a cross heatmap per layer × head (${info.thumbs})`);
  }
  check(errors.length === 0, `no console or page errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(outDir, 'serve-t5.png'), fullPage: true });
} finally {
  await browser.close();
}
if (failures.length) {
  for (const f of failures) console.error(`serve page (T5): FAILED ${f}`);
  process.exit(1);
}
console.log(`serve page (T5): ok, ${checks} checks (screenshot ${join(outDir, 'serve-t5.png')})`);
