#!/bin/sh
# make_fixture.sh PEER_LOGITS PEER_NAME SHAPE TYPE KV [N_IDS] — a model
# test's reference: `heed synth --shape SHAPE --type TYPE --seed 1`, a
# prompt of N_IDS (default 48) seeded random ids, and the peer's logits for
# it with a KV cache of type KV (f32; f16 for ik_llama.cpp, which refuses
# an f32 one without flash attention) and its 32 greedy ids with their
# margins, written to tests/models/SHAPE-TYPE.json and .logits.f32.
# PEER_LOGITS is peer_logits built by build.sh; the test
# (tests/test_archs.c) makes the same synth file and compares heed to it.
# With GGUF=tests/models/NAME.gguf (a file the peer made, e.g. with its
# llama-quantize from a synth model, committed when small) that file is the
# model and TYPE only names the case. An encoder-decoder (t5) gets the ids
# as its encoder input, and a decoder prompt of its start token and 23
# more seeded ids (dec_ids), whose logits and continuation are the peer's,
# and the greedy continuation of the start token alone (greedy_from_start,
# what `heed run --ids` generates).
set -eu
peer=$1; peer_name=$2; shape=$3; type=$4; kv=$5; n_ids=${6:-48}
heed=${HEED:-build/heed}
out=tests/models/$shape-$type
mkdir -p tests/models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -n "${GGUF:-}" ]; then cp "$GGUF" "$tmp/m.gguf"
else "$heed" synth --shape "$shape" --type "$type" --seed 1 -o "$tmp/m.gguf" 2>/dev/null; fi
n_vocab=$("$heed" info "$tmp/m.gguf" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokenizer"]["n_vocab"])')
ids=$(python3 -c "import random; r = random.Random(1); print(','.join(str(r.randrange($n_vocab - 1)) for _ in range($n_ids)))")
dec=
if [ "$("$heed" info "$tmp/m.gguf" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["architecture"])')" = t5 ]; then
    start=$("$heed" info "$tmp/m.gguf" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["t5.decoder_start_token_id"])')
    dec=$(python3 -c "import random; r = random.Random(2); print(','.join(['$start'] + [str(r.randrange($n_vocab - 1)) for _ in range(23)]))")
fi
"$peer" "$tmp/m.gguf" "$ids${dec:+|$dec}" "$n_vocab" "$out.logits.f32" 32 "$kv" 2>/dev/null > "$tmp/greedy"
: > "$tmp/start"
[ -z "$dec" ] || "$peer" "$tmp/m.gguf" "$ids|$start" "$n_vocab" "$tmp/start.f32" 32 "$kv" 2>/dev/null > "$tmp/start"
python3 - "$shape" "$type" "$ids" "$tmp/greedy" "$peer_name" "$out.json" "$kv" "${GGUF:-}" "$dec" "$tmp/start" <<'PY'
import json, os, sys
shape, type_, ids, greedy, peer, out, kv, gguf, dec, start = sys.argv[1:]
s = [l for l in open(start).read().split("\n") if l][-2:]
g = [l for l in open(greedy).read().split("\n") if l][-2:]  # the peer may print warnings first
json.dump({"shape": shape, "type": type_, "seed": 1, "kv_cache": kv, "peer": peer,
           "ids": [int(i) for i in ids.split(",")],
           "greedy": [int(i) for i in g[0].split(",")],
           "greedy_margins": [float(m) for m in g[1].split(",")],
           **({"gguf": os.path.basename(gguf)} if gguf else {}),
           **({"dec_ids": [int(i) for i in dec.split(",")],
               "greedy_from_start": [int(i) for i in s[0].split(",")],
               "greedy_from_start_margins": [float(m) for m in s[1].split(",")]} if dec else {})},
          open(out, "w"))
PY
echo "wrote $out.json and $out.logits.f32"
