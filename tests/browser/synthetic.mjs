// synthetic.mjs — attention data in the schema of `heed attend --json`, made
// up: realistic-looking, normalised rows (sink, previous-token, self, broad
// heads), for testing the page on shapes the fixture models do not give
// (top_k, bidirectional, subsets of rows/layers/heads, awkward pieces).
// `node synthetic.mjs [N] [--top-k K] [--bidirectional]` prints one.

// A small deterministic generator, so a failing run can be reproduced.
function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const round7 = (x) => Number(x.toPrecision(7));

export function synthetic({
    pieces = ['<s>', ' The', ' animal', ' didn', "'", 't', ' cross', ' the', ' street', ' because', ' it', ' was'],
    nLayer = 2, nHead = 4, layers = null, heads = null, rows = null,
    topK = 0, bidirectional = false, nPrompt = null, seed = 1, nExpert = 0, nUsed = 2,
    sinks = false,
} = {}) {
    const rand = rng(seed);
    const n = pieces.length;
    const enc = new TextEncoder();
    const tokens = [];
    let text = '', at = 0;
    pieces.forEach((piece, i) => {
        const len = enc.encode(piece).length;
        tokens.push({ id: 100 + i, piece, start: at, end: at + len });
        text += piece;
        at += len;
    });
    const [r0, r1] = rows || [0, n];
    const layerIds = layers || [...Array(nLayer).keys()];
    const headIds = heads || [...Array(nHead).keys()];
    const out = {
        architecture: 'llama', text, tokens, n_prompt: nPrompt ?? n, n_layer: nLayer, n_head: nHead,
        mask: bidirectional ? 'bidirectional' : 'causal', rows: [r0, r1], top_k: topK,
        layers: [], stats: [],
    };
    for (const l of layerIds) {
        const L = { layer: l, heads: [] };
        for (const h of headIds) {
            const kind = (l * 3 + h) % 5; // sink, previous, self, broad, "it → animal"
            const weights = [], keys = [];
            let ent = 0, prev = 0, sink = 0, self = 0;
            for (let q = r0; q < r1; q++) {
                const nk = bidirectional ? n : q + 1;
                const logit = [];
                for (let k = 0; k < nk; k++) {
                    let z = rand() * 1.5;
                    if (kind === 0 && k === 0) z += 3.5;
                    if (kind === 1 && k === q - 1) z += 4;
                    if (kind === 2 && k === q) z += 3.5;
                    if (kind === 4 && k === Math.min(2, nk - 1)) z += 2.5 + 0.3 * q;
                    logit.push(z);
                }
                const mx = Math.max(...logit);
                const e = logit.map((z) => Math.exp(z - mx));
                const sum = e.reduce((a, b) => a + b, 0);
                const w = e.map((x) => x / sum);
                ent += -w.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
                prev += q > 0 ? w[q - 1] : 0;
                sink += w[0];
                self += q < nk ? w[q] : 0;
                if (topK > 0) {
                    const order = [...w.keys()].sort((a, b) => w[b] - w[a]).slice(0, topK);
                    keys.push(order);
                    weights.push(order.map((k) => round7(w[k])));
                } else {
                    weights.push(w.map(round7));
                }
            }
            const R = r1 - r0;
            const H = topK > 0 ? { head: h, keys, weights } : { head: h, weights };
            if (sinks) H.sink = weights.map((_, r) => round7(0.05 + 0.1 * ((h + r) % 5)));
            L.heads.push(H);
            out.stats.push({
                layer: l, head: h, entropy: round7(ent / R), prev_token: round7(prev / R),
                sink: round7(sink / R), self: round7(self / R), induction: 0,
            });
        }
        out.layers.push(L);
    }
    // a mixture of experts' routing: every layer, every token, nUsed
    // distinct experts, weights largest first summing to 1
    out.experts = [];
    for (let l = 0; nExpert && l < nLayer; l++) {
        const experts = [], weights = [];
        for (let t = 0; t < n; t++) {
            const chosen = [];
            while (chosen.length < nUsed) {
                const e = Math.floor(rand() * nExpert);
                if (!chosen.includes(e)) chosen.push(e);
            }
            const w = chosen.map(() => rand() + 0.05).sort((a, b) => b - a);
            const sum = w.reduce((a, b) => a + b, 0);
            experts.push(chosen);
            weights.push(w.map((x) => round7(x / sum)));
        }
        out.experts.push({ layer: l, experts, weights });
    }
    return out;
}

// The page with data spliced in, as attend_page_write does it: every '<'
// of the JSON becomes \u003c so nothing in it can close the script tag.
export function splice(template, data) {
    const json = JSON.stringify(data).replace(/</g, '\\u003c');
    const at = template.indexOf('@HEED_JSON@');
    if (at < 0) throw new Error('the page template has no @HEED_JSON@ placeholder');
    return template.slice(0, at) + json + template.slice(at + '@HEED_JSON@'.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const args = process.argv.slice(2);
    const opt = { topK: 0, bidirectional: args.includes('--bidirectional') };
    const k = args.indexOf('--top-k');
    if (k >= 0) opt.topK = Number(args[k + 1]);
    const n = Number(args.find((a) => /^\d+$/.test(a) && a !== args[k + 1]) || 12);
    if (n !== 12) opt.pieces = Array.from({ length: n }, (_, i) => (i ? ` w${i}` : '<s>'));
    process.stdout.write(JSON.stringify(synthetic(opt)) + '\n');
}
