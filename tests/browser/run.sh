#!/bin/sh
# run.sh — the browser tests: the page of `heed attend --html` for a fixture
# model (attend.mjs) and for an encoder-decoder (t5.mjs), and the page of
# `heed serve` on the default model and on an encoder-decoder (serve.mjs), in
# headless Chromium (Debian's chromium, driven by playwright-core; each .mjs
# says what it checks).
#
#   sh tests/browser/run.sh [HEED_CLI]      (default build/heed)
#
# Fixtures come from $HEED_FIXTURES or ../shared/fixtures beside the project;
# without them the attend pages are skipped. Screenshots and pages go to
# test-artifacts/ beside the CLI (build/test-artifacts).
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
heed=${1:-$repo/build/heed}
case $heed in /*) ;; *) heed=$(pwd)/$heed ;; esac
fixtures=${HEED_FIXTURES:-$repo/../shared/fixtures}
model=$fixtures/llama-tiny-f32.gguf
chromium=${CHROMIUM:-/usr/bin/chromium}

[ -x "$heed" ] || { echo "browser test: no heed CLI at $heed" >&2; exit 1; }
[ -x "$chromium" ] || { echo "browser test: no Chromium at $chromium (make deps installs Debian's chromium)" >&2; exit 1; }
command -v node > /dev/null && command -v npm > /dev/null ||
    { echo "browser test: node and npm are needed (make deps installs them)" >&2; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "browser test: npm ci (playwright-core, pinned in package-lock.json)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

out=$(dirname "$heed")/test-artifacts
mkdir -p "$out"
if [ -f "$model" ]; then
    "$heed" attend "$model" -p "The animal didn't cross the street because it was tired." \
        --html "$out/attend.html" > /dev/null
    CHROMIUM=$chromium node "$here/attend.mjs" "$out/attend.html" "$repo/tools/page/attend.html" "$out"
else
    echo "browser test: attend pages skipped, no fixture $model (set HEED_FIXTURES)"
fi

# an encoder-decoder's page (a random-weight T5 from heed synth): the
# cross-attention of 8 generated tokens over 7 source tokens, and the
# encoder's and the decoder's self-attention
"$heed" synth --shape tiny-t5 --type f32 -o "$out/tiny-t5.gguf" > /dev/null
"$heed" attend "$out/tiny-t5.gguf" --ids 5,17,42,9,100,7,300 -n 8 --html "$out/attend-t5.html" > /dev/null
CHROMIUM=$chromium node "$here/t5.mjs" "$out/attend-t5.html" "$out"

# the page of heed serve, on the default model
default=$repo/models/default.gguf
prompt="And God saw the light, that it was good"
expected=$("$heed" run "$default" -p "$prompt" -n 12 --temp 0 2>/dev/null)
expected=${expected#"$prompt"}
log=$(mktemp)
. "$repo/tests/serve/start.sh"
serve_start "$log" "$heed" serve "$default"
pid=$serve_pid
port=$serve_port
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
# and one on the encoder-decoder: the prompt is the source, a token's
# cross-attention in the frame
t5prompt="the house is small"
t5expected=$("$heed" run "$out/tiny-t5.gguf" -p "$t5prompt" -n 8 --temp 0 2>/dev/null)
t5expected=${t5expected#"$t5prompt"}
tlog=$(mktemp)
serve_start "$tlog" "$heed" serve "$out/tiny-t5.gguf"
trap 'kill $pid $serve_pid 2>/dev/null || true; rm -f "$log" "$tlog"' EXIT
CHROMIUM=$chromium node "$here/serve.mjs" "http://127.0.0.1:$port" "$expected" "$out" \
    "http://127.0.0.1:$serve_port" "$t5prompt" "$t5expected"
