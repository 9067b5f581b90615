#!/bin/sh
# build.sh PEER_SRC OUT [PROGRAM] — builds PROGRAM.c (peer_logits, the
# default; peer_tokenize; peer_dequant, llama.cpp only; or a path to a .c
# file, as bench/peer_t5.c) against a peer checkout (llama.cpp or
# ik_llama.cpp) built with cmake into PEER_SRC/build.
set -eu
src=$1; out=$2; program=${3:-peer_logits}
case $program in */*.c) c=$program ;; *) c=$(dirname "$0")/$program.c ;; esac
lib=$(dirname "$(find "$src/build" -name 'libllama.so' | head -n 1)")
ggml=$(dirname "$(find "$src/build" -name 'libggml.so' | head -n 1)")
base=; [ -e "$ggml/libggml-base.so" ] && base=-lggml-base  # llama.cpp splits ggml, ik does not
cc -O2 -o "$out" "$c" -I"$src/include" -I"$src/ggml/include" \
    -L"$lib" -L"$ggml" -lllama -lggml $base -Wl,-rpath,"$lib" -Wl,-rpath,"$ggml" \
    -Wno-deprecated-declarations
