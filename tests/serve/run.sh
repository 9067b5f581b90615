#!/bin/sh
# run.sh — heed serve's integration test: starts `heed serve` on the default
# model on a free loopback port and drives it with the official openai
# client (pinned in package-lock.json; serve.mjs says what is checked).
# The server must then stop cleanly on SIGINT (under ASan: without leaks).
#
#   sh tests/serve/run.sh [HEED_CLI]      (default build/heed)
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
heed=${1:-$repo/build/heed}
case $heed in /*) ;; *) heed=$(pwd)/$heed ;; esac
model=$repo/models/default.gguf
[ -x "$heed" ] || { echo "serve test: no heed CLI at $heed" >&2; exit 1; }
command -v node > /dev/null && command -v npm > /dev/null ||
    { echo "serve test: node and npm are needed (make deps installs them)" >&2; exit 1; }
if [ ! -d "$here/node_modules/openai" ]; then
    echo "serve test: npm ci (openai, pinned in package-lock.json)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

expected=$("$heed" run "$model" -p "In the beginning" -n 12 --temp 0 2>/dev/null)
expected=${expected#In the beginning}   # heed run echoes the prompt
log=$(mktemp)
key=test-key-$$
. "$here/start.sh"
serve_start "$log" "$heed" serve "$model" --slots 1 --queue 1 --api-key "$key" \
    --chat-template chatml --max-body 1048576
pid=$serve_pid
port=$serve_port
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
# with the fixtures, an encoder on a second server for /v1/embeddings
bert=${HEED_FIXTURES:-$repo/../shared/fixtures}/bert-tiny.gguf
bpid=""
if [ -f "$bert" ]; then
    blog=$(mktemp)
    serve_start "$blog" "$heed" serve "$bert"
    bpid=$serve_pid
    export HEED_EMBED_URL="http://127.0.0.1:$serve_port"
    HEED_EMBED_EXPECTED=$("$heed" embed "$bert" -p "hello world")
    export HEED_EMBED_EXPECTED
    trap 'kill $pid $bpid 2>/dev/null || true; rm -f "$log" "$blog"' EXIT
fi
if ! node "$here/serve.mjs" "http://127.0.0.1:$port" "$key" "$expected"; then
    echo "serve test: server log:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
kill -INT $pid $bpid
status=0
wait $pid || status=$?
[ -z "$bpid" ] || wait $bpid || status=$?
trap - EXIT
if [ $status -ne 0 ]; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    echo "serve test: the server exited with status $status after SIGINT" >&2
    exit 1
fi
echo "serve test: $(grep -c '^[A-Z]* /' "$log") requests logged, clean exit"
rm -f "$log" ${blog:-}
