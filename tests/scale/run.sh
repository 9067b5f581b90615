#!/bin/sh
# run.sh — the scale-out test: nginx with deploy/nginx/heed.conf (its
# upstream servers and listen port replaced) in front of two `heed serve`
# replicas of the default model and a third address where nothing listens,
# all on loopback; 40 requests, 8 at a time, through it, one replica
# killed mid-run (load.mjs says what is checked). nginx and the other
# replica must then stop cleanly.
#
#   sh tests/scale/run.sh [HEED_CLI]      (default build/heed)
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
heed=${1:-$repo/build/heed}
model=$repo/models/default.gguf
[ -x "$heed" ] || { echo "scale test: no heed CLI at $heed" >&2; exit 1; }
command -v node > /dev/null || { echo "scale test: node is needed (make deps installs it)" >&2; exit 1; }
. "$repo/tests/serve/start.sh"
. "$here/nginx.sh"

dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null || true; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
# one slot of one thread each: two replicas on two cores
serve_start "$dir/victim.log" "$heed" serve "$model" --slots 1 -t 1 --max-connections-per-ip 0
victim_pid=$serve_pid
victim_port=$serve_port
pids=$victim_pid
serve_start "$dir/live.log" "$heed" serve "$model" --slots 1 -t 1 --max-connections-per-ip 0
live_pid=$serve_pid
live_port=$serve_port
pids="$pids $live_pid"
port=$(free_port)
dead=$(free_port)
nginx_start "$repo/deploy/nginx/heed.conf" "$dir" "$port" \
    127.0.0.1:$victim_port 127.0.0.1:$live_port 127.0.0.1:$dead
pids="$pids $nginx_pid"

if ! node "$here/load.mjs" "http://127.0.0.1:$port" 40 8 $victim_pid 127.0.0.1:$victim_port \
    127.0.0.1:$dead "$dir/access.log"; then
    for f in error.log live.log victim.log; do
        echo "scale test: $f:" >&2
        tail -n 20 "$dir/$f" >&2
    done
    exit 1
fi
wait $victim_pid 2>/dev/null || true
kill -QUIT $nginx_pid
kill -INT $live_pid
status=0
wait $nginx_pid || status=$?
wait $live_pid || status=$?
trap 'rm -rf "$dir"' EXIT
if [ $status -ne 0 ]; then
    tail -n 20 "$dir/error.log" "$dir/live.log" >&2
    echo "scale test: nginx or the live replica exited with status $status" >&2
    exit 1
fi
echo "scale test: nginx and the live replica stopped cleanly"
