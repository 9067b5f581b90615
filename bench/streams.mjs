// streams.mjs — aggregate generation speed of an OpenAI-compatible server
// (heed serve, llama-server) with N streams at once: each of N clients
// streams ROUNDS completions of TOKENS tokens (ignore_eos, so every one is
// that long) one after another; tokens/s is every generated token over the
// wall time from the first request to the last token. Prompts differ per
// client, so no stream reuses another's cache.
//
//   node bench/streams.mjs URL STREAMS [TOKENS] [ROUNDS]
//
// Prints one line: streams N tokens T seconds S tok_s X (per-stream Y).
const [url, streamsArg, tokensArg = '64', roundsArg = '2'] = process.argv.slice(2);
if (!url || !streamsArg) {
    console.error('usage: node bench/streams.mjs URL STREAMS [TOKENS] [ROUNDS]');
    process.exit(2);
}
const streams = +streamsArg, tokens = +tokensArg, rounds = +roundsArg;
const words = ['light', 'water', 'earth', 'heaven', 'seed', 'night', 'day', 'fruit'];

// One streamed completion; resolves with the tokens it generated.
async function complete(client, round) {
    const prompt = `In the beginning ${words[client % 8]} ${client} ${round} and the ${words[(client + round) % 8]}`;
    const r = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt, max_tokens: tokens, temperature: 0, stream: true,
                               ignore_eos: true, cache_prompt: false }),
    });
    if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
    const dec = new TextDecoder();
    let got = 0, rest = '';
    for await (const chunk of r.body) {
        rest += dec.decode(chunk, { stream: true });
        const events = rest.split('\n\n');
        rest = events.pop();
        for (const e of events)
            if (e.startsWith('data: ') && e !== 'data: [DONE]' && JSON.parse(e.slice(6)).choices?.[0]?.text !== undefined)
                got++;
    }
    return got;
}

const t0 = performance.now();
const counts = await Promise.all(Array.from({ length: streams }, async (_, c) => {
    let n = 0;
    for (let k = 0; k < rounds; k++) n += await complete(c, k);
    return n;
}));
const secs = (performance.now() - t0) / 1000;
const total = counts.reduce((a, b) => a + b, 0);
console.log(`streams ${streams} tokens ${total} seconds ${secs.toFixed(2)} tok_s ${(total / secs).toFixed(2)} ` +
            `(per-stream ${(total / secs / streams).toFixed(2)})`);
