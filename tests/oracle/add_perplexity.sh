#!/bin/sh
# add_perplexity.sh PEER_PERPLEXITY NAME — adds to tests/models/NAME.json
# (made by make_fixture.sh) the peer's llama-perplexity of
# tests/data/perplexity.txt on that model: windows of 64 (-c 64 -b 64),
# one thread, the fixture's KV cache type, as "perplexity": {"ctx",
# "ppl", "err"}. tests/test_archs.c runs heed perplexity the same way and
# compares.
set -eu
peer=$1; name=$2
heed=${HEED:-build/heed}
json=tests/models/$name.json
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
eval "$(python3 - "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"shape={d['shape']} type={d['type']} kv={d['kv_cache']} gguf={d.get('gguf', '')}")
PY
)"
if [ -n "$gguf" ]; then cp "tests/models/$gguf" "$tmp/m.gguf"
else "$heed" synth --shape "$shape" --type "$type" --seed 1 -o "$tmp/m.gguf" 2>/dev/null; fi
"$peer" -m "$tmp/m.gguf" -f tests/data/perplexity.txt -c 64 -b 64 -t 1 -ctk "$kv" -ctv "$kv" \
    > "$tmp/out" 2>&1 || { cat "$tmp/out" >&2; exit 1; }
python3 - "$json" "$tmp/out" <<'PY'
import json, re, sys
path, out = sys.argv[1:]
m = re.search(r"Final estimate: PPL(?: over .*)? = ([0-9.]+) \+/- ([0-9.]+)", open(out).read())
d = json.load(open(path))
d["perplexity"] = {"ctx": 64, "ppl": float(m.group(1)), "err": float(m.group(2))}
json.dump(d, open(path, "w"))
print(path, d["perplexity"])
PY
