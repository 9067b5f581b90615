#!/bin/sh
# build.sh PEER_SRC OUT [NAME] — builds NAME.c (default peer_logits) against a peer checkout
# (llama.cpp or ik_llama.cpp) built with cmake into PEER_SRC/build.
set -eu
src=$1; out=$2
lib=$(dirname "$(find "$src/build" -name 'libllama.so' | head -n 1)")
ggml=$(dirname "$(find "$src/build" -name 'libggml.so' | head -n 1)")
cc -O2 -o "$out" "$(dirname "$0")/${3:-peer_logits}.c" -I"$src/include" -I"$src/ggml/include" \
    -L"$lib" -L"$ggml" -lllama -lggml -Wl,-rpath,"$lib" -Wl,-rpath,"$ggml" \
    -Wno-deprecated-declarations
