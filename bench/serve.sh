#!/bin/sh
# serve.sh — heed serve under load on loopback, with wrk: short greedy
# completions (16 tokens) from 1, 4 and 16 concurrent clients, then a
# memory soak. Prints requests/s, latency p50/p99 and generated tokens/s.
#
#   sh bench/serve.sh [HEED_CLI] [SECONDS] [SOAK_SECONDS] [SLOTS]
set -e
heed=${1:-build/heed}
secs=${2:-10}
soak=${3:-300}
slots=${4:-1}
model=models/default.gguf
command -v wrk > /dev/null || { echo "bench/serve.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
log=$(mktemp)
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt": "In the beginning", "max_tokens": 16, "temperature": 0}'
LUA
. tests/serve/start.sh
serve_start "$log" "$heed" serve "$model" --slots "$slots" --queue 64
pid=$serve_pid
port=$serve_port
trap 'kill $pid 2>/dev/null; rm -f "$log" "$lua"' EXIT
url=http://127.0.0.1:$port/v1/completions
tokens=$(curl -s "$url" -H 'Content-Type: application/json' \
    -d '{"prompt": "In the beginning", "max_tokens": 16, "temperature": 0}' |
    sed -n 's/.*"completion_tokens":\([0-9]*\).*/\1/p')
echo "heed serve $model, $slots slot(s), ${secs} s per run, $tokens tokens per completion"
echo "clients  requests/s  p50 ms  p99 ms  tokens/s"
for c in 1 4 16; do
    out=$(wrk -t 1 -c $c -d "${secs}s" --latency -s "$lua" "$url")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    printf '%7d  %10s  %6s  %6s  %8.0f%s\n' $c "$rps" "$p50" "$p99" \
        "$(echo "$rps * $tokens" | bc)" "${non2xx:+  ($non2xx not 2xx)}"
done
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
echo "soak: 4 clients for ${soak} s; resident KiB at start, then every 60 s:"
r0=$(rss)
wrk -t 1 -c 4 -d "${soak}s" -s "$lua" "$url" > /dev/null &
wpid=$!
line="$r0"
for _ in $(seq 1 $((soak / 60))); do
    sleep 60
    line="$line $(rss)"
done
wait $wpid
echo "  $line (after: $(rss))"
