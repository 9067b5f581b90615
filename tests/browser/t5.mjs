// t5.mjs — loads the page of `heed attend --html` for an encoder-decoder
// (a T5 capture: source, encoder, decoder and cross-attention blocks) in
// headless Chromium and checks its three views: the cross-attention view
// first, target tokens against source tokens (head view, heatmaps, the
// alignment row of a generated token matching the JSON), then the encoder's
// (bidirectional) and the decoder's (causal) self-attention.
//
//   node t5.mjs PAGE.html OUT_DIR
//
// Writes OUT_DIR/attend-t5.png (the cross view, a generated token pinned);
// exits 1 naming each failed check.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [pagePath, outDir] = process.argv.slice(2);
if (!pagePath || !outDir) {
    console.error('usage: node t5.mjs PAGE.html OUT_DIR');
    process.exit(2);
}
const MASKED = [204, 204, 204];
const failures = [];
let checks = 0;
function check(ok, what) {
    checks++;
    if (!ok) failures.push(what);
    return ok;
}
const same = (a, b) => b.every((v, i) => Math.abs(v - a[i]) <= 2);

// What the shown view looks like: its tabs, columns, strips and (read once
// per view: a canvas read back twice makes Chromium warn) its heatmaps.
function probe(withThumbs) {
    const root = document.getElementById('heed-root');
    const col = (c) => [...document.querySelectorAll(`.heed-col.${c} .heed-tok`)].map((e) => +e.dataset.i);
    return {
        view: root.dataset.view, layer: root.dataset.layer, head: root.dataset.head, focus: root.dataset.focus,
        tabs: [...document.querySelectorAll('.heed-tabs button')].map((b) => [b.dataset.view, b.getAttribute('aria-selected')]),
        q: col('heed-q').length, k: col('heed-k').length,
        strips: [...document.querySelectorAll('.heed-strip')].map((s) => ({
            side: s.dataset.side, n: s.querySelectorAll('.heed-tok').length, text: s.textContent,
            shaded: [...s.querySelectorAll('.heed-tok')].filter((e) => e.style.background).length,
        })),
        thumbs: !withThumbs ? [] : [...document.querySelectorAll('.heed-thumb canvas')].map((c) => {
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const at = (x, y) => [...px.slice((y * c.width + x) * 4, (y * c.width + x) * 4 + 3)];
            let blue = 0;
            for (let i = 0; i < px.length; i += 4) if (px[i + 2] > px[i] + 2) blue++;
            return { w: c.width, h: c.height, blue, corner: at(c.width - 1, 0) };
        }),
    };
}

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-dev-shm-usage'],
});
const start = Date.now();
try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!/^(file|data|blob|about):/.test(r.url())) errors.push(`network request: ${r.url()}`); });
    await page.goto(pathToFileURL(resolve(pagePath)).href);
    const ready = () => page.waitForSelector('#heed-root[data-heed-ready="1"]', { timeout: 15000 }).then(() => true, () => false);
    if (!check(await ready(), `the page never finished painting: ${await page.textContent('#heed-root').catch(() => '')}`))
        throw new Error('not painted');
    const data = JSON.parse(readFileSync(pagePath, 'utf8').match(
        /<script type="application\/json" id="heed-data">([\s\S]*?)<\/script>/)[1]);
    const src = data.source.tokens, tgt = data.tokens, C = data.cross, E = data.encoder;
    const nHeads = (b) => b.layers.reduce((a, L) => a + L.heads.length, 0);

    // ---- the cross-attention view comes first: targets down, the source across
    let v = await page.evaluate(probe, true);
    check(v.view === 'cross', `the first view is "${v.view}", want cross`);
    check(JSON.stringify(v.tabs) === JSON.stringify([['cross', 'true'], ['encoder', 'false'], ['decoder', 'false']]),
        `tabs ${JSON.stringify(v.tabs)}`);
    check(v.q === tgt.length && v.k === src.length,
        `head view: ${v.q} target and ${v.k} source tokens, want ${tgt.length} and ${src.length}`);
    check(v.strips.length === 2 && v.strips[0].side === 'k' && v.strips[0].n === src.length &&
          v.strips[1].side === 'q' && v.strips[1].n === tgt.length,
        `strips ${JSON.stringify(v.strips.map((s) => [s.side, s.n]))}: want the source, then the target`);
    check(v.thumbs.length === nHeads(C), `${v.thumbs.length} cross heatmaps, the data has ${nHeads(C)} heads`);
    const R = C.rows[1] - C.rows[0];
    for (const [i, t] of v.thumbs.entries()) {
        check(t.blue > 0, `cross heatmap ${i} looks blank`);
        check(t.w * R === t.h * src.length, `cross heatmap ${i} is ${t.w}×${t.h}: not ${src.length} sources by ${R} targets`);
        check(!same(t.corner, MASKED), `cross heatmap ${i}: no mask, but its corner is grey`);
    }

    // ---- one head's alignment row for the last generated token, as the JSON says
    const L = C.layers[C.layers.length - 1], H = L.heads[L.heads.length - 1];
    await page.click(`.heed-thumb[data-layer="${L.layer}"][data-head="${H.head}"]`);
    const t = C.rows[1] - 1, row = H.weights[t - C.rows[0]];
    check(t >= data.n_prompt, `target ${t} is not a generated token (n_prompt ${data.n_prompt})`);
    const sum = row.reduce((a, b) => a + b, 0);
    check(Math.abs(sum - 1) < 1e-4, `layer ${L.layer} head ${H.head}: target ${t}'s cross row sums to ${sum}`);
    await page.hover(`.heed-col.heed-q .heed-tok[data-i="${t}"]`);
    v = await page.evaluate(probe);
    check(v.focus === `q${t}`, `hovering target ${t} gives focus "${v.focus}"`);
    check(v.strips[0].shaded === src.length && v.strips[1].shaded === 0,
        `target ${t} in focus: ${v.strips[0].shaded} source and ${v.strips[1].shaded} target tokens shaded, want ${src.length} and 0`);
    const D = await page.evaluate(() => window.heedPage.state().detail);
    const box = await page.locator('.heed-detail-wrap canvas').boundingBox();
    const best = row.indexOf(Math.max(...row));
    for (const s of new Set([best, 0, src.length - 1])) {
        await page.mouse.move(box.x + D.left + (s + 0.5) * D.cell, box.y + D.top + (t - C.rows[0] + 0.5) * D.cell);
        const tip = await page.evaluate(() => document.querySelector('.heed-tip').textContent);
        check(tip.includes(`(#${t})`) && tip.includes(`(#${s})`) && tip.endsWith(row[s].toFixed(4)),
            `the alignment cell (target ${t}, source ${s}) says "${tip}", want ${row[s].toFixed(4)}`);
    }
    const st = C.stats.find((x) => x.layer === L.layer && x.head === H.head);
    const shown = await page.evaluate(() => document.querySelector('.heed-stats [data-stat="monotonicity"]')?.textContent);
    check(st && shown === st.monotonicity.toFixed(3), `monotonicity shows ${shown}, want ${st && st.monotonicity.toFixed(3)}`);
    // a source token in focus: the targets that read it, by weight
    await page.hover(`.heed-strip[data-side="k"] .heed-tok[data-i="${best}"]`);
    v = await page.evaluate(probe);
    check(v.focus === `k${best}` && v.strips[1].shaded === R && v.strips[0].shaded === 0,
        `source ${best} in focus ("${v.focus}"): ${v.strips[1].shaded} target tokens shaded, want ${R}`);
    // pinned for the screenshot
    await page.click(`.heed-strip[data-side="q"] .heed-tok[data-i="${t}"]`);
    await page.mouse.move(1, 1);
    check(await page.getAttribute('#heed-root', 'data-focus') === `q${t}`, 'a click does not pin the target token');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(outDir, 'attend-t5.png'), fullPage: true });

    // ---- the encoder's view: the source over itself, no mask, the same layer and head kept
    await page.click('.heed-tabs button[data-view="encoder"]');
    check(await ready(), 'the encoder view never finished painting');
    v = await page.evaluate(probe, true);
    check(v.view === 'encoder' && v.layer === String(L.layer) && v.head === String(H.head),
        `after the encoder tab: view ${v.view}, layer ${v.layer}, head ${v.head}`);
    check(v.q === src.length && v.k === src.length && v.strips.length === 1 && v.strips[0].n === src.length,
        `encoder view: ${v.q} × ${v.k} tokens, strips ${v.strips.length}`);
    check(v.thumbs.length === nHeads(E) && v.thumbs.every((x) => x.blue > 0 && !same(x.corner, MASKED)),
        'encoder heatmaps: blank or masked');

    // ---- the decoder's: the targets, causal
    await page.click('.heed-tabs button[data-view="decoder"]');
    check(await ready(), 'the decoder view never finished painting');
    v = await page.evaluate(probe, true);
    check(v.view === 'decoder' && v.q === tgt.length && v.k === tgt.length, `decoder view: ${v.view}, ${v.q} × ${v.k}`);
    check(v.thumbs.length === nHeads(data) && v.thumbs.every((x) => same(x.corner, MASKED)),
        'decoder heatmaps: the masked corner is not grey');

    // ---- and back, through the controller
    const back = await page.evaluate(() => window.heedPage.view('cross'));
    check(back === 'cross' && (await page.evaluate(probe)).k === src.length, `view('cross') gives ${back}`);
    errors.forEach((e) => check(false, e));
    await page.close();
} catch (e) {
    check(false, `the browser run failed: ${e.stack || e}`);
} finally {
    await browser.close();
}
const secs = ((Date.now() - start) / 1000).toFixed(1);
if (failures.length) {
    console.error(`browser test (T5): FAILED, ${failures.length} of ${checks} checks:`);
    failures.forEach((f) => console.error(`  - ${f}`));
    process.exit(1);
}
console.log(`browser test (T5): ok, ${checks} checks in ${secs} s (screenshot ${join(outDir, 'attend-t5.png')})`);
