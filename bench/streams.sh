#!/bin/sh
# streams.sh — continuous batching, side by side: heed serve and
# llama-server (-np SLOTS, continuous batching on) on the same model file,
# same threads, same slots and context per slot; for each number of
# streams, each server in turn (ROUNDS times, alternating), the aggregate
# tokens/s of bench/streams.mjs (every completion TOKENS long).
#
#   LLAMA_SERVER=path sh bench/streams.sh MODEL [SLOTS] [TOKENS] [ROUNDS] [THREADS]
set -e
model=$1
slots=${2:-8}
tokens=${3:-32}
rounds=${4:-3}
threads=${5:-2}
heed=${HEED:-build/heed}
llama=${LLAMA_SERVER:-llama-server}
[ -f "$model" ] || { echo "usage: LLAMA_SERVER=path sh bench/streams.sh MODEL [SLOTS] [TOKENS] [ROUNDS] [THREADS]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/serve/start.sh"
hlog=$(mktemp) llog=$(mktemp)
serve_start "$hlog" "$heed" serve "$model" --slots "$slots" -c 512 -t "$threads" --queue 64
hpid=$serve_pid hport=$serve_port
lport=$((hport + 1))
"$llama" -m "$model" --port "$lport" -np "$slots" -c $((512 * slots)) -t "$threads" -tb "$threads" \
    > "$llog" 2>&1 &
lpid=$!
trap 'kill $hpid $lpid 2>/dev/null || true; rm -f "$hlog" "$llog"' EXIT
until curl -sf "http://127.0.0.1:$lport/health" > /dev/null; do
    kill -0 $lpid 2> /dev/null || { cat "$llog" >&2; exit 1; }
    sleep 0.5
done
grep -m1 'system_info' "$llog" || true
echo "streams  heed t/s  llama-server t/s  (medians of $rounds, $tokens tokens per completion)"
for n in 1 4 8 16; do
    [ "$n" -le $((slots * 2)) ] || continue
    h="" l=""
    for r in $(seq "$rounds"); do
        h="$h $(node "$here/streams.mjs" "http://127.0.0.1:$hport" "$n" "$tokens" 1 | sed 's/.*tok_s \([0-9.]*\).*/\1/')"
        l="$l $(node "$here/streams.mjs" "http://127.0.0.1:$lport" "$n" "$tokens" 1 | sed 's/.*tok_s \([0-9.]*\).*/\1/')"
    done
    med() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    printf '%7d  %8s  %16s   (heed:%s; llama-server:%s)\n' "$n" "$(med $h)" "$(med $l)" "$h" "$l"
done
