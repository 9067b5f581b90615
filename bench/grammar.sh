#!/bin/sh
# grammar.sh — what a grammar costs generation: `heed run` tokens/s with
# no grammar, with a JSON schema (an array of 30 small integers: mostly
# punctuation and digits, where a model's own draw is often refused and the
# whole vocabulary is masked), and with a grammar that refuses every token
# containing an "e" (most of the vocabulary allowed: the longest mask walk).
# Sampled at temperature 1, runs interleaved, the median of REPS each.
# Then the grammar's own cost per token, apart from the model's
# (bench/grammar_mask.c, built here against build/libheed.a).
#
#   sh bench/grammar.sh HEED MODEL [THREADS] [TOKENS]     (REPS=3)
set -e
heed=${1:?usage: grammar.sh HEED MODEL [THREADS] [TOKENS]}
model=${2:?usage: grammar.sh HEED MODEL [THREADS] [TOKENS]}
threads=${3:-2}
n=${4:-96}
reps=${REPS:-3}
schema='{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99}, "minItems": 30, "maxItems": 30}'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one run: the generation speed heed run reports on stderr
run() {
    "$heed" run "$model" -p "The numbers are" -n "$n" --temp 1 --seed "$r" -t "$threads" \
        --ignore-eos "$@" 2>&1 >/dev/null |
        sed -n 's/.*generated \([0-9]*\) tokens, \([0-9.]*\) tokens\/s.*/\1 \2/p'
}
r=1
while [ $r -le "$reps" ]; do
    run >> "$tmp/none"
    run -j "$schema" >> "$tmp/schema"
    run --grammar 'root ::= [^e]*' >> "$tmp/noe"
    r=$((r + 1))
done
median() { sort -n -k2 "$1" | awk '{ t[NR] = $2; g[NR] = $1 } END { m = int((NR + 1) / 2); printf "%.1f tokens/s (%d tokens)", t[m], g[m] }'; }
echo "$(basename "$model"), -t $threads, median of $reps:"
echo "  no grammar          $(median "$tmp/none")"
echo "  JSON schema         $(median "$tmp/schema")"
echo "  root ::= [^e]*      $(median "$tmp/noe")"

repo=$(cd "$(dirname "$0")/.." && pwd)
cc -O2 -I"$repo/include" -I"$repo/src" "$repo/bench/grammar_mask.c" "$repo/build/libheed.a" \
    $(pkg-config --libs libpcre2-8 libutf8proc libcjson) -lm -lpthread -o "$tmp/grammar_mask"
"$tmp/grammar_mask" "$model"
