#!/bin/sh
# run.sh — heed serve's integration test: starts `heed serve` on the default
# model on a free loopback port and drives it with the official openai
# client (pinned in package-lock.json; serve.mjs says what is checked, and
# structured.mjs, with ajv validating, the structured output),
# with a second server for control vectors (and a third, an encoder, for
# embeddings when the fixtures are there), and an encoder-decoder (t5.mjs:
# a tiny-t5 and a tiny-t5encoder from heed synth). The servers must then
# stop cleanly on SIGINT (under ASan: without leaks).
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
    --control-vector "$data/cvec-b.gguf" --slots 4
cpid=$serve_pid
export HEED_CV_URL="http://127.0.0.1:$serve_port"
trap 'kill $pid $cpid $bpid 2>/dev/null || true; rm -f "$log" "$clog" ${blog:-}' EXIT
# a Jinja chat template from a file (chat.jinja), on a fourth server: the
# prompts it must make are heed template's renderings, tokenized
jlog=$(mktemp)
serve_start "$jlog" "$heed" serve "$model" --chat-template-file "$here/chat.jinja"
jpid=$serve_pid
export HEED_TMPL_URL="http://127.0.0.1:$serve_port"
trap 'kill $pid $cpid $bpid $jpid 2>/dev/null || true; rm -f "$log" "$clog" "$jlog" ${blog:-}' EXIT
rendered_tokens() {  # the rendering's token count (a sentinel keeps its last newline)
    _r=$("$heed" template --template-file "$here/chat.jinja" --messages "$here/chat.json" "$@"; printf x)
    "$heed" tokenize "$model" "${_r%x}" --ids-only --special | tr ',' '\n' | wc -l
}
# tool calls (tools.mjs): the default model with no template (the generic
# format), and with a Hermes-style one; a longer context than it was
# trained for (RoPE), for the tools' descriptions
olog=$(mktemp)
serve_start "$olog" "$heed" serve "$model" -c 2048 --slots 2
opid=$serve_pid
tools_generic="http://127.0.0.1:$serve_port"
hermes_log=$(mktemp)
serve_start "$hermes_log" "$heed" serve "$model" -c 2048 --chat-template-file "$here/tools.jinja"
hpid_tools=$serve_pid
tools_hermes="http://127.0.0.1:$serve_port"
# and tiny-chat, whose vocabulary holds the formats' markers as control
# tokens, with a Mistral-Nemo-style template and a gpt-oss-style one
chat_dir=$(mktemp -d)
trap 'kill $pid $cpid $bpid $jpid $opid $hpid_tools 2>/dev/null || true; rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir"' EXIT
"$heed" synth --shape tiny-chat --type f32 -o "$chat_dir/chat.gguf" > /dev/null
serve_start "$chat_dir/mistral.log" "$heed" serve "$chat_dir/chat.gguf" -c 2048 \
    --chat-template-file "$here/tools_mistral.jinja"
mpid_tools=$serve_pid
tools_mistral="http://127.0.0.1:$serve_port"
serve_start "$chat_dir/harmony.log" "$heed" serve "$chat_dir/chat.gguf" -c 2048 \
    --chat-template-file "$here/tools_harmony.jinja"
gpid_tools=$serve_pid
tools_harmony="http://127.0.0.1:$serve_port"
# templates that lack what minja probes for (polyfill.mjs)
poly_pids=""
poly_urls="none=$tools_generic chat=$HEED_TMPL_URL hermes=$tools_hermes"
for t in nosystem strargs typed deepseek; do
    serve_start "$chat_dir/$t.log" "$heed" serve "$model" -c 2048 \
        --chat-template-file "$here/polyfill/$t.jinja"
    poly_pids="$poly_pids $serve_pid"
    poly_urls="$poly_urls $t=http://127.0.0.1:$serve_port"
done
trap 'kill $pid $cpid $bpid $jpid $opid $hpid_tools $mpid_tools $gpid_tools $poly_pids 2>/dev/null || true; rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir"' EXIT
HEED_TMPL_TOKENS=$(rendered_tokens)
HEED_TMPL_TOKENS_KW=$(rendered_tokens --context greeting='"Ahoy"')
export HEED_TMPL_TOKENS HEED_TMPL_TOKENS_KW

# an encoder-decoder (a small context, for its limits) and an encoder, with
# what heed run, attend and embed give
tdir=$(mktemp -d)
tpid="" epid=""
trap 'kill $pid $cpid $bpid $jpid $opid $hpid_tools $mpid_tools $gpid_tools $poly_pids $tpid $epid 2>/dev/null || true; rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir" "$tdir"' EXIT
"$heed" synth --shape tiny-t5 --type f32 -o "$tdir/t5.gguf" > /dev/null
"$heed" synth --shape tiny-t5encoder --type f32 -o "$tdir/t5encoder.gguf" > /dev/null
tprompt="the house is small"
t5_expected=$("$heed" run "$tdir/t5.gguf" -p "$tprompt" -n 8 --temp 0 2>/dev/null)
t5_expected=${t5_expected#"$tprompt"}
"$heed" attend "$tdir/t5.gguf" -p "$tprompt" -n 8 --json "$tdir/attend.json" > /dev/null
t5_embedding=$("$heed" embed "$tdir/t5encoder.gguf" -p "$tprompt" --pooling mean)
serve_start "$tdir/t5.log" "$heed" serve "$tdir/t5.gguf" -c 64
tpid=$serve_pid
t5_url="http://127.0.0.1:$serve_port"
serve_start "$tdir/t5encoder.log" "$heed" serve "$tdir/t5encoder.gguf"
epid=$serve_pid
t5encoder_url="http://127.0.0.1:$serve_port"

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
    echo "serve test: the template server's log:" >&2
    tail -n 20 "$jlog" >&2
    exit 1
fi
if ! node "$here/tools.mjs" "$tools_generic" "$tools_hermes" "$tools_mistral" "$tools_harmony"; then
    echo "serve test: the tool servers' logs:" >&2
    tail -n 20 "$olog" "$hermes_log" "$chat_dir/mistral.log" "$chat_dir/harmony.log" >&2
    exit 1
fi
# shellcheck disable=SC2086
if ! node "$here/polyfill.mjs" $poly_urls; then
    echo "serve test: the template servers' logs:" >&2
    tail -n 5 "$chat_dir"/*.log >&2
    exit 1
fi
if ! node "$here/t5.mjs" "$t5_url" "$t5encoder_url" "$tprompt" "$t5_expected" \
        "$tdir/attend.json" "$t5_embedding"; then
    echo "serve test: the t5 servers' logs:" >&2
    tail -n 20 "$tdir/t5.log" "$tdir/t5encoder.log" >&2
    exit 1
fi
kill -INT $pid $cpid $bpid $jpid $opid $hpid_tools $mpid_tools $gpid_tools $poly_pids $tpid $epid
status=0
for p in $pid $cpid $bpid $jpid $opid $hpid_tools $mpid_tools $gpid_tools $poly_pids $tpid $epid; do
    wait $p || status=$?
done
trap - EXIT
logs="$log $clog $jlog $olog $hermes_log $chat_dir/mistral.log $chat_dir/harmony.log $tdir/t5.log $tdir/t5encoder.log"
if [ $status -ne 0 ]; then
    tail -n 40 $logs >&2
    rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir" "$tdir"
    echo "serve test: a server exited with status $status after SIGINT" >&2
    exit 1
fi
fallbacks=$(cat "$clog" "$olog" | grep -c 'no chat template: chat requests use chatml' || true)
if [ "$fallbacks" != 2 ] || grep -q 'chat requests use chatml' "$log" "$jlog" "$hermes_log" "$tdir/t5.log" ||
    ! grep -q 'an encoder-decoder with no chat template' "$tdir/t5.log"; then
    echo "serve test: the chatml fallback should be said once, by the decoder with no template," \
        "and the t5 server should say its messages are joined" >&2
    rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir" "$tdir"
    exit 1
fi
echo "serve test: $(cat $logs | grep -c '^[A-Z]* /') requests logged, clean exit"
rm -rf "$log" "$clog" "$jlog" "$olog" "$hermes_log" ${blog:-} "$chat_dir" "$tdir"

# Hostile connections (conns.mjs says what is checked), with three more
# servers: one taking 2,000 connections per address, started with a soft
# open-file limit of 512 that it must raise to hold 1,000; one taking 4,
# under a hard limit of 256, which it must say caps its connections; one
# with a read timeout of 1 s and a generation deadline of 2 s. node holds
# the 1,000 sockets, under a soft limit of its own.
hard=$(ulimit -H -n)
if [ "$hard" != unlimited ] && [ "$hard" -lt 2048 ]; then
    echo "serve test: the open-file hard limit is $hard; 1,000 connections need 2048: not tried"
    exit 0
fi
[ "$hard" = unlimited ] || [ "$hard" -gt 4096 ] && hard=4096
mlog=$(mktemp)
llog=$(mktemp)
rlog=$(mktemp)
trap 'kill ${mpid:-} ${lpid:-} ${rpid:-} 2>/dev/null || true; rm -f "$mlog" "$llog" "$rlog"' EXIT
serve_start "$mlog" sh -c 'ulimit -S -n 512 && exec "$@"' sh "$heed" serve "$model" \
    --max-connections-per-ip 2000 --read-timeout 60
mpid=$serve_pid
mport=$serve_port
serve_start "$llog" sh -c 'ulimit -n 256 && exec "$@"' sh "$heed" serve "$model" \
    --max-connections-per-ip 4
lpid=$serve_pid
lport=$serve_port
serve_start "$rlog" "$heed" serve "$model" --read-timeout 1 --timeout 2 -c 8192 --max-tokens 8000
rpid=$serve_pid
rport=$serve_port
status=0
(ulimit -S -n "$hard" && node "$here/conns.mjs" "http://127.0.0.1:$mport" $mpid "$expected" \
    "http://127.0.0.1:$lport" "http://127.0.0.1:$rport") || status=$?
if ! grep -q 'at most 192 connections, not 4096' "$llog" || grep -q 'open-file limit' "$mlog"; then
    echo "serve test: the server under a hard limit of 256 should say it caps connections" \
        "at 192, and only it" >&2
    status=1
fi
if ! grep -q '^POST /v1/completions 0 .* (timed out)$' "$rlog"; then
    echo "serve test: the slow body should be logged as timed out" >&2
    status=1
fi
kill -INT $mpid $lpid $rpid
for p in $mpid $lpid $rpid; do
    wait $p || status=$?
done
trap - EXIT
[ $status -eq 0 ] || tail -n 20 "$mlog" "$llog" "$rlog" >&2
rm -f "$mlog" "$llog" "$rlog"
[ $status -eq 0 ] || { echo "serve test: hostile connections failed (status $status)" >&2; exit 1; }
echo "serve test: hostile connections: ok, clean exit"
