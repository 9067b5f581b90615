#!/bin/sh
# scale.sh — heed serve behind nginx (deploy/nginx/heed.conf) against one
# server alone, on loopback, with the same total slots: tests/scale's load
# (N mixed requests, 8 at a time) on one server of 2 slots, directly and
# through nginx, and on 2 servers of 1 slot through nginx, REPS rounds
# (each in another order), with the CPU time the servers and nginx spent
# per request; then GET /health 1000 times, directly and through nginx in
# alternation (medians). Every server runs one thread per slot.
#
#   sh bench/scale.sh [HEED_CLI] [N] [REPS]
set -e
heed=${1:-build/heed}
n=${2:-200}
reps=${3:-3}
model=models/default.gguf
. tests/serve/start.sh
. tests/scale/nginx.sh
dir=$(mktemp -d)
pids=""
trap 'kill $pids 2>/dev/null; wait; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
serve_start "$dir/one.log" "$heed" serve "$model" --slots 2 -t 1 --max-connections-per-ip 0
one_pid=$serve_pid
one=127.0.0.1:$serve_port
pids=$one_pid
serve_start "$dir/a.log" "$heed" serve "$model" --slots 1 -t 1 --max-connections-per-ip 0
a_pid=$serve_pid
a=127.0.0.1:$serve_port
pids="$pids $a_pid"
serve_start "$dir/b.log" "$heed" serve "$model" --slots 1 -t 1 --max-connections-per-ip 0
b_pid=$serve_pid
b=127.0.0.1:$serve_port
pids="$pids $b_pid"
mkdir "$dir/one" "$dir/two"
p1=$(free_port)
nginx_start deploy/nginx/heed.conf "$dir/one" "$p1" "$one"
n1=$nginx_pid
pids="$pids $n1"
p2=$(free_port)
nginx_start deploy/nginx/heed.conf "$dir/two" "$p2" "$a" "$b"
n2=$nginx_pid
pids="$pids $n2"

# CPU time in ms of PIDS and their children (nginx's workers)
cpu_ms() {
    for p in "$@" $(pgrep -d ' ' -P "$(echo "$@" | tr ' ' ,)"); do
        cut -d' ' -f14,15 /proc/$p/stat
    done | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 + $2 } END { printf "%d", t * 1000 / hz }'
}
echo "$n requests, 8 at a time, $reps runs each, the order turning (load average $(cut -d' ' -f1 /proc/loadavg)):"
echo "  run                            req/s  tokens/s  heed ms/req  nginx ms/req"
runs="1 server, 2 slots, direct|$one_pid||http://$one
1 server, 2 slots, nginx|$one_pid|$n1|http://127.0.0.1:$p1
2 servers, 1 slot each, nginx|$a_pid $b_pid|$n2|http://127.0.0.1:$p2"
for rep in $(seq 0 $((reps - 1))); do
    { echo "$runs" | tail -n +$((rep % 3 + 1)); echo "$runs" | head -n $((rep % 3)); } |
    while IFS='|' read -r name servers nginx url; do
        s0=$(cpu_ms $servers)
        g0=$([ -z "$nginx" ] || cpu_ms $nginx)
        out=$(node tests/scale/load.mjs "$url" "$n" 8 < /dev/null | tail -n 1)
        s1=$(cpu_ms $servers)
        g1=$([ -z "$nginx" ] || cpu_ms $nginx)
        echo "$out" | awk -v name="$name" -v heed=$((s1 - s0)) -v ng="${g1:+$((g1 - g0))}" -v n="$n" \
            '{ printf "  %-30s %5.1f  %8d  %11.2f  %12s\n", name, $1, $3, heed / n,
               ng == "" ? "-" : sprintf("%.2f", ng / n) }'
    done
done
echo "GET /health, 1000 times each in alternation (after 100 to warm up), median:"
node --input-type=module -e '
    const urls = process.argv.slice(1).map((u) => u + "/health"), times = urls.map(() => []);
    for (let i = 0; i < 1100; i++)
        for (const [j, url] of urls.entries()) {
            const t = performance.now();
            await (await fetch(url)).text();
            if (i >= 100) times[j].push(performance.now() - t);
        }
    const median = (a) => a.sort((x, y) => x - y)[a.length >> 1] * 1000;
    const [direct, nginx] = times.map(median);
    console.log(`  direct ${direct.toFixed(0)} us, through nginx ${nginx.toFixed(0)} us: +${(nginx - direct).toFixed(0)} us`);
' "http://${one#*:}" "http://127.0.0.1:$p1"
