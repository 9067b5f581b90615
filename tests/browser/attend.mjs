// attend.mjs — loads the page of `heed attend --html` in headless Chromium
// and checks that it works: no console or page errors, no network, every
// layer × head heatmap painted (masked triangle grey), clicking a heatmap
// selects it, hovering a token moves the focus. Then the same on pages made
// from the template with synthetic data (top_k, bidirectional, subsets,
// awkward token pieces, 300 tokens).
//
//   node attend.mjs PAGE.html TEMPLATE.html OUT_DIR
//
// Writes OUT_DIR/attend.png (and one screenshot per synthetic page); exits
// 1 naming each failed check.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { synthetic, splice } from './synthetic.mjs';

const [pagePath, templatePath, outDir] = process.argv.slice(2);
if (!pagePath || !templatePath || !outDir) {
    console.error('usage: node attend.mjs PAGE.html TEMPLATE.html OUT_DIR');
    process.exit(2);
}
const MASKED = [204, 204, 204]; // the page's grey for masked cells
const failures = [];
let checks = 0;
function check(ok, what) {
    checks++;
    if (!ok) failures.push(what);
    return ok;
}

// Per heatmap: is it painted (several colours, some pixels of the ramp
// that are neither white nor the mask's grey), and the colours at the masked corner (query r0, last key) and at
// the first key of the last query.
function probeThumbs() {
    return [...document.querySelectorAll('.heed-thumb')].map((b) => {
        const c = b.querySelector('canvas');
        const { width: w, height: h } = c;
        const px = c.getContext('2d').getImageData(0, 0, w, h).data;
        const at = (x, y) => [...px.slice((y * w + x) * 4, (y * w + x) * 4 + 4)];
        const colours = new Set();
        let blue = 0;
        for (let i = 0; i < px.length; i += 4) {
            colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
            if (px[i + 2] > px[i] + 2) blue++; // the ramp is blue; the mask grey is not
        }
        return {
            layer: +b.dataset.layer, head: +b.dataset.head, w, h, colours: colours.size, blue,
            corner: at(w - 1, 0), firstKey: at(0, h - 1), alpha: at(0, 0)[3],
        };
    });
}

const same = (a, b) => b.every((v, i) => Math.abs(v - a[i]) <= 2);

async function testPage(browser, url, name, { expectThumbs, shot }) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (!/^(file|data|blob|about):/.test(r.url())) errors.push(`network request: ${r.url()}`); });
    const t0 = Date.now();
    await page.goto(url);
    const ready = await page.waitForSelector('#heed-root[data-heed-ready="1"]', { timeout: 15000 })
        .then(() => true, () => false);
    const loadMs = Date.now() - t0;
    check(ready, `${name}: the page never finished painting (#heed-root data-heed-ready is ` +
        `${await page.getAttribute('#heed-root', 'data-heed-ready')}: ${await page.textContent('#heed-root').catch(() => '')})`);
    if (!ready) { errors.forEach((e) => check(false, `${name}: ${e}`)); await page.close(); return; }
    const data = await page.evaluate(() => JSON.parse(document.getElementById('heed-data').textContent));
    const causal = data.mask !== 'bidirectional';
    const nHeads = data.layers.reduce((a, L) => a + L.heads.length, 0);

    // ---- the model view: one painted heatmap per captured layer × head
    const thumbs = await page.evaluate(probeThumbs);
    check(thumbs.length === nHeads, `${name}: ${thumbs.length} heatmaps, the data has ${nHeads} heads`);
    if (expectThumbs != null)
        check(thumbs.length === expectThumbs, `${name}: ${thumbs.length} heatmaps, want n_layer × n_head = ${expectThumbs}`);
    for (const t of thumbs) {
        const id = `${name}: heatmap layer ${t.layer} head ${t.head}`;
        check(t.w > 0 && t.h > 0 && t.alpha === 255, `${id} is not painted (${t.w}×${t.h}, alpha ${t.alpha})`);
        check(t.colours > 2 && t.blue > 0, `${id} looks blank (${t.colours} colours, ${t.blue} blue pixels)`);
        if (causal && data.rows[0] < data.tokens.length - 1)
            check(same(t.corner, MASKED), `${id}: the masked corner is rgb(${t.corner.slice(0, 3)}), not grey`);
        if (!causal)
            check(!same(t.corner, MASKED), `${id}: bidirectional, but the corner is masked grey`);
        check(!same(t.firstKey, MASKED), `${id}: the last query's first key is masked`);
    }

    // ---- heedRender again into the same root (as heed serve will, with fetched JSON)
    const again = await page.evaluate(() => new Promise((done) => {
        const root = document.getElementById('heed-root');
        window.heedPage = window.heedRender(JSON.parse(document.getElementById('heed-data').textContent), root);
        (function wait() {
            if (root.dataset.heedReady === '1') done(document.querySelectorAll('.heed-thumb').length);
            else requestAnimationFrame(wait);
        })();
    }));
    check(again === nHeads, `${name}: rendered again, the page has ${again} heatmaps, want ${nHeads}`);

    // ---- clicking a heatmap selects that layer/head
    const target = thumbs[thumbs.length - 1];
    const sel = `.heed-thumb[data-layer="${target.layer}"][data-head="${target.head}"]`;
    const before = await page.evaluate(() => ({ ...document.getElementById('heed-root').dataset }));
    check(before.head === 'all', `${name}: the first selection is head ${before.head}, want all heads`);
    await page.click(sel);
    const after = await page.evaluate((s) => {
        const root = document.getElementById('heed-root'), b = document.querySelector(s);
        return {
            layer: root.dataset.layer, head: root.dataset.head, pressed: b.getAttribute('aria-pressed'),
            selected: b.classList.contains('is-selected'),
            others: document.querySelectorAll('.heed-thumb.is-selected').length,
            title: document.querySelector('.heed-detail-title').textContent,
            headSelect: document.querySelector('select[aria-label="head"]').value,
            stat: document.querySelector('.heed-stats [data-stat="entropy"]')?.textContent,
        };
    }, sel);
    check(after.layer === String(target.layer) && after.head === String(target.head),
        `${name}: after clicking layer ${target.layer} head ${target.head}, the selection is ${after.layer}/${after.head}`);
    check(after.pressed === 'true' && after.selected && after.others === 1,
        `${name}: the clicked heatmap does not show as the one selected (aria-pressed ${after.pressed}, ${after.others} selected)`);
    check(after.title === `Layer ${target.layer} · Head ${target.head}`, `${name}: detail title "${after.title}"`);
    check(after.headSelect === String(target.head), `${name}: the head picker shows ${after.headSelect}`);
    const st = data.stats.find((s) => s.layer === target.layer && s.head === target.head);
    if (st) check(after.stat === st.entropy.toFixed(3), `${name}: entropy shown ${after.stat}, want ${st.entropy.toFixed(3)}`);

    // ---- hovering a query token focuses its lines and shades its keys
    const q = data.rows[1] - 1;
    const lines = () => page.evaluate(() => document.querySelector('.heed-hv canvas').toDataURL());
    const linesBefore = await lines();
    await page.hover(`.heed-col.heed-q .heed-tok[data-i="${q}"]`);
    const focus = await page.evaluate(() => ({
        focus: document.getElementById('heed-root').dataset.focus,
        shaded: [...document.querySelectorAll('.heed-col.heed-k .heed-tok')].filter((e) => e.style.background).length,
        outlined: document.querySelectorAll('.heed-col.heed-q .heed-tok.is-focus').length,
    }));
    check(focus.focus === `q${q}`, `${name}: hovering query ${q} gives focus "${focus.focus}"`);
    check(focus.outlined === 1, `${name}: ${focus.outlined} query tokens outlined after the hover`);
    check(focus.shaded === (causal ? q + 1 : data.tokens.length),
        `${name}: ${focus.shaded} key tokens shaded for query ${q}`);
    check(await lines() !== linesBefore, `${name}: the head view's lines did not change on hover`);
    await page.mouse.move(1, 1);
    const unfocused = await page.evaluate(() => document.getElementById('heed-root').dataset.focus);
    check(unfocused === '', `${name}: focus "${unfocused}" stays after the mouse left`);

    // ---- the picker: "all heads" again
    await page.selectOption('select[aria-label="head"]', 'all');
    check(await page.getAttribute('#heed-root', 'data-head') === 'all', `${name}: the head picker does not select all heads`);
    await page.click(sel);

    // ---- pieces are text, never markup
    const scripts = await page.evaluate(() => document.scripts.length);
    check(scripts === 2, `${name}: the page has ${scripts} script elements, not 2: a piece became markup`);
    const strip = await page.evaluate(() => document.querySelector('.heed-strip').textContent);
    const pieces = data.tokens.map((t) => t.piece).join('');
    check(strip.replace(/[\u00b7\u21b5\u21e5\s]/g, '') === pieces.replace(/[ \n\t]/g, ''),
        `${name}: the prompt strip does not show the pieces as they are`);

    // ---- a click pins the focus (on "it" when there is one): it stays when the mouse leaves
    const it = Math.max(data.tokens.findIndex((t, i) => t.piece.trim() === 'it' && i >= data.rows[0]), data.rows[0]);
    await page.click(`.heed-strip .heed-tok[data-i="${it}"]`);
    await page.mouse.move(1, 1);
    const pinned = await page.getAttribute('#heed-root', 'data-focus');
    check(pinned === `q${it}`, `${name}: after a click on token ${it} and moving away, the focus is "${pinned}"`);

    // ---- expert routing: for every layer, each token's experts and weights as the data says
    for (const R of data.experts || []) {
        await page.evaluate((l) => window.heedPage.select(l, 'all'), R.layer);
        const shown = await page.evaluate(() => [...document.querySelectorAll('.heed-ex .heed-ex-row')]
            .map((row) => [...row.querySelectorAll('.heed-echip')].map((c) => [+c.dataset.expert, c.textContent])));
        check(shown.length === data.tokens.length,
            `${name}: layer ${R.layer}: ${shown.length} rows of experts for ${data.tokens.length} tokens`);
        shown.forEach((chips, t) => check(chips.length === R.experts[t].length &&
            chips.every(([e, text], k) => e === R.experts[t][k] && text === `e${e} ${R.weights[t][k].toFixed(2)}`),
            `${name}: layer ${R.layer} token ${t}: shows ${JSON.stringify(chips)}, data ${R.experts[t]}`));
    }

    // ---- sinks: the selected head's mean sink share in its statistics
    const sinkHead = data.layers[0].heads.find((H) => H.sink);
    if (sinkHead) {
        await page.evaluate(([l, h]) => window.heedPage.select(l, h), [data.layers[0].layer, sinkHead.head]);
        const shown = await page.evaluate(() => document.querySelector('[data-stat="sink_share"]')?.textContent);
        const want = sinkHead.sink.reduce((a, b) => a + b, 0) / sinkHead.sink.length;
        check(shown === want.toFixed(3), `${name}: sink share shows ${shown}, want ${want.toFixed(3)}`);
        // ... and each row's share in the heatmap's sink column, as its tooltip says
        const D = await page.evaluate(() => window.heedPage.state().detail);
        const box = await page.locator('.heed-detail-wrap canvas').boundingBox();
        check(D && D.sinkX > D.left, `${name}: no sink column beside the heatmap`);
        for (const r of D && D.sinkX > D.left ? [0, Math.floor(sinkHead.sink.length / 2), sinkHead.sink.length - 1] : []) {
            await page.mouse.move(box.x + D.sinkX + D.cell / 2, box.y + D.top + (r + 0.5) * D.cell);
            const tip = await page.evaluate(() => document.querySelector('.heed-tip').textContent);
            check(tip.endsWith(`learned sink  ${sinkHead.sink[r].toFixed(4)}`),
                `${name}: row ${r}'s sink cell says "${tip}", want ${sinkHead.sink[r].toFixed(4)}`);
        }
    }

    errors.forEach((e) => check(false, `${name}: ${e}`));
    if (shot) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: join(outDir, shot), fullPage: true });
    }
    console.log(`browser test: ${name}: ${data.tokens.length} tokens, ${thumbs.length} heatmaps, painted in ${loadMs} ms, checked in ${Date.now() - t0} ms`);
    await page.close();
}

const template = readFileSync(templatePath, 'utf8');
function syntheticPage(file, opts) {
    const path = join(outDir, file);
    writeFileSync(path, splice(template, synthetic(opts)));
    return pathToFileURL(path).href;
}
const awkward = ['<s>', ' </script><script>alert(1)</script>', '\n', ' "quoted"', ' 🦙', ' <!--', ' \\u003c', '\t',
    ' tab', ' ', 'é', ' it'];

const start = Date.now();
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-dev-shm-usage'],
});
try {
    const main = JSON.parse(readFileSync(pagePath, 'utf8').match(
        /<script type="application\/json" id="heed-data">([\s\S]*?)<\/script>/)?.[1] ?? 'null');
    check(main && main.n_layer > 0, `${pagePath}: no capture JSON in the page`);
    await testPage(browser, pathToFileURL(resolve(pagePath)).href, 'heed attend --html',
        { expectThumbs: main ? main.n_layer * main.n_head : null, shot: 'attend.png' });
    await testPage(browser, syntheticPage('attend-topk.html', {
        pieces: [...awkward, ...awkward.map((p, i) => `${p}${i}`), ...Array.from({ length: 16 }, (_, i) => ` w${i}`)],
        nLayer: 4, nHead: 6, layers: [1, 3], heads: [0, 2, 5], rows: [5, 40], topK: 3, nPrompt: 30, seed: 7,
    }), 'top_k, subsets, awkward pieces', { shot: 'attend-topk.png' });
    await testPage(browser, syntheticPage('attend-experts.html', {
        nLayer: 3, nHead: 2, nExpert: 16, nUsed: 4, seed: 5, sinks: true,
    }), 'expert routing and sinks', { shot: 'attend-experts.png' });
    await testPage(browser, syntheticPage('attend-long.html', {
        pieces: Array.from({ length: 300 }, (_, i) => (i ? ` w${i}` : '<s>')), nLayer: 2, nHead: 2,
        bidirectional: true, seed: 3,
    }), '300 tokens, bidirectional', {});
} catch (e) {
    check(false, `the browser run failed: ${e.stack || e}`);
} finally {
    await browser.close();
}
const secs = ((Date.now() - start) / 1000).toFixed(1);
if (failures.length) {
    console.error(`browser test: FAILED, ${failures.length} of ${checks} checks:`);
    failures.forEach((f) => console.error(`  - ${f}`));
    process.exit(1);
}
console.log(`browser test: ok, ${checks} checks on 4 pages in ${secs} s (screenshot ${join(outDir, 'attend.png')})`);
