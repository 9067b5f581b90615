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
    rm -rf "$out"
else
    echo; echo "(no model to show: set HEED_FIXTURES to the reference fixtures folder)"
fi
