#!/bin/sh
# Tokenization throughput, heed vs llama.cpp's llama-tokenize, on the same
# vocabularies and the same few MB of mixed text (English prose, code,
# numbers, accents, CJK, emoji). Each run includes loading the vocabulary;
# the median of REPS runs is reported.
#
#   bench/tokenize.sh [MB]          (LLAMA_TOKENIZE=path/to/llama-tokenize)
set -eu
MB=${1:-4}
REPS=${REPS:-5}
HEED=${HEED:-build/heed}
FIXTURES=${HEED_FIXTURES:-../shared/fixtures}
LLAMA=${LLAMA_TOKENIZE:-$(command -v llama-tokenize || true)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The text: this repository's own prose and code, plus a line of each script.
{
    cat README.md src/model/forward.c tests/data/perplexity.txt
    printf 'Führer naïve café — 3.14159 x 10^6; 東京は日本の首都です。 🦙🚀 ½ 1,234,567\n'
} > "$work/unit.txt"
: > "$work/text.txt"
while [ "$(wc -c < "$work/text.txt")" -lt $((MB * 1024 * 1024)) ]; do
    cat "$work/unit.txt" >> "$work/text.txt"
done
bytes=$(wc -c < "$work/text.txt")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { # command... -> wall seconds
    s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N)
    awk "BEGIN {print $e - $s}"
}

printf '%-16s %10s %10s %8s\n' vocab heed_MB/s llama_MB/s ratio
for v in llama-spm gpt-2 starcoder deepseek-coder bert-bge; do
    model="$FIXTURES/vocab/ggml-vocab-$v.gguf"
    [ -f "$model" ] || continue
    h=$(for i in $(seq "$REPS"); do seconds "$HEED" tokenize "$model" --inp "$work/text.txt"; done | median)
    hm=$(awk "BEGIN {print $bytes / 1048576 / $h}")
    if [ -n "$LLAMA" ]; then
        l=$(for i in $(seq "$REPS"); do seconds "$LLAMA" -m "$model" -f "$work/text.txt" --ids --log-disable; done | median)
        lm=$(awk "BEGIN {print $bytes / 1048576 / $l}")
        printf '%-16s %10.2f %10.2f %8.2f\n' "$v" "$hm" "$lm" "$(awk "BEGIN {print $hm / $lm}")"
    else
        printf '%-16s %10.2f %10s %8s\n' "$v" "$hm" - -
    fi
done
