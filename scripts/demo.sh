#!/bin/sh
# `make demo`: shows heed working. heed does not ship its own model yet
# (issue 8), so this tours the CLI on the reference fixtures when present.
HEED=${1:-build/heed}
FIXTURES=${HEED_FIXTURES:-../shared/fixtures}
set -e
"$HEED" --version
echo
"$HEED" --help
if [ -f models/default.gguf ]; then
    echo; echo "\$ heed info models/default.gguf"
    "$HEED" info models/default.gguf
elif [ -f "$FIXTURES/llama-tiny-q4_k.gguf" ]; then
    echo; echo "\$ heed info $FIXTURES/llama-tiny-q4_k.gguf"
    "$HEED" info "$FIXTURES/llama-tiny-q4_k.gguf"
    out=$(mktemp -d)
    echo; echo "\$ heed quantize $FIXTURES/llama-tiny-f32.gguf $out/tiny-q8_0.gguf q8_0"
    "$HEED" quantize "$FIXTURES/llama-tiny-f32.gguf" "$out/tiny-q8_0.gguf" q8_0
    "$HEED" info "$out/tiny-q8_0.gguf" | head -4
    prompt="The animal didn't cross the street because it was tired."
    echo; echo "\$ heed next $FIXTURES/qwen2-tiny.gguf -p \"$prompt\" -k 4"
    "$HEED" next "$FIXTURES/qwen2-tiny.gguf" -p "$prompt" -k 4
    page=$(dirname "$HEED")/demo-attend.html
    echo; echo "\$ heed attend $FIXTURES/qwen2-tiny.gguf -p \"$prompt\" --word it -k 3 --html $page"
    "$HEED" attend "$FIXTURES/qwen2-tiny.gguf" -p "$prompt" --word it -k 3 --html "$page"
    echo "(open $page in a browser; the fixture's weights are random, a trained model's are not)"
    rm -rf "$out"
else
    echo; echo "(no model to show: set HEED_FIXTURES to the reference fixtures folder)"
fi
