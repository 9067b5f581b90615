#!/bin/sh
# run.sh — heed serve's integration test: starts `heed serve` on the default
# model on a free loopback port and drives it with the official openai
# client (pinned in package-lock.json; serve.mjs says what is checked, and
# structured.mjs, with ajv validating, the structured output),
# with a second server for control vectors (and a third, an encoder, for
# embeddings when the fixtures are there). The servers must then stop
# cleanly on SIGINT (under ASan: without leaks).
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
if [ ! -d "$here/node_modules/openai" ] || [ ! -d "$here/node_modules/ajv" ]; then
    echo "serve test: npm ci (openai and ajv, pinned in package-lock.json)"
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
# control vectors: a third server started with two, which apply to every
# request that names none (as llama-server's do); the texts requests must
# give are heed run's with the same files and scales
data=$repo/tests/data
cprompt="And God said"
run_cv() {
    _t=$("$heed" run "$model" -p "$cprompt" -n 24 --temp 0 "$@" 2>/dev/null)
    printf '%s' "${_t#"$cprompt"}"
}
HEED_CV_PLAIN=$(run_cv)
HEED_CV_DEFAULT=$(run_cv --control-vector-scaled "$data/cvec-a.gguf" 0.8 --control-vector "$data/cvec-b.gguf")
HEED_CV_A=$(run_cv --control-vector-scaled "$data/cvec-a.gguf" 1.5)
HEED_CV_A_RANGE=$(run_cv --control-vector-scaled "$data/cvec-a.gguf" 1.5 --control-vector-layer-range 2 4)
export HEED_CV_PLAIN HEED_CV_DEFAULT HEED_CV_A HEED_CV_A_RANGE
clog=$(mktemp)
serve_start "$clog" "$heed" serve "$model" --control-vector-scaled "$data/cvec-a.gguf" 0.8 \
    --control-vector "$data/cvec-b.gguf"
cpid=$serve_pid
export HEED_CV_URL="http://127.0.0.1:$serve_port"
trap 'kill $pid $cpid $bpid 2>/dev/null || true; rm -f "$log" "$clog" ${blog:-}' EXIT

# IPv6: --host ::1 answers on IPv6 loopback only, --host :: on both (where
# the machine has an IPv6 loopback)
v6hosts="::1 ::"
grep -qs '^0\{31\}1 .* lo$' /proc/net/if_inet6 ||
    { v6hosts=""; echo "serve test: no IPv6 loopback here: --host ::1 not tried"; }
health() { node -e 'fetch(process.argv[1]).then(r => r.json()).then(j => process.exit(j.status === "ok" ? 0 : 1), () => process.exit(1))' "$1"; }
for host in $v6hosts; do
    hlog=$(mktemp)
    serve_start "$hlog" "$heed" serve "$model" --host "$host"
    hpid=$serve_pid
    v4=no
    health "http://127.0.0.1:$serve_port/health" && v4=yes
    if ! health "http://[::1]:$serve_port/health" || { [ $host = :: ] && [ $v4 = no ]; } ||
        { [ $host = ::1 ] && [ $v4 = yes ]; }; then
        kill $hpid
        cat "$hlog" >&2
        echo "serve test: --host $host: IPv6 loopback should answer, IPv4 only with ::" >&2
        exit 1
    fi
    kill -INT $hpid
    wait $hpid
    rm -f "$hlog"
    echo "serve test: ok  --host $host listens on IPv6$([ $v4 = yes ] && echo ' and IPv4')"
done

if ! node "$here/serve.mjs" "http://127.0.0.1:$port" "$key" "$expected" ||
    ! node "$here/structured.mjs" "http://127.0.0.1:$port" "$key"; then
    echo "serve test: server log:" >&2
    tail -n 20 "$log" >&2
    echo "serve test: the control-vector server's log:" >&2
    tail -n 20 "$clog" >&2
    exit 1
fi
kill -INT $pid $cpid $bpid
status=0
wait $pid || status=$?
wait $cpid || status=$?
[ -z "$bpid" ] || wait $bpid || status=$?
trap - EXIT
if [ $status -ne 0 ]; then
    tail -n 40 "$log" "$clog" >&2
    rm -f "$log" "$clog" ${blog:-}
    echo "serve test: a server exited with status $status after SIGINT" >&2
    exit 1
fi
fallbacks=$(grep -c 'no chat template: chat requests use chatml' "$clog" || true)
if [ "$fallbacks" != 1 ] || grep -q 'chat requests use chatml' "$log"; then
    echo "serve test: the chatml fallback should be said once, by the server with no template" >&2
    rm -f "$log" "$clog" ${blog:-}
    exit 1
fi
echo "serve test: $(cat "$log" "$clog" | grep -c '^[A-Z]* /') requests logged, clean exit"
rm -f "$log" "$clog" ${blog:-}
