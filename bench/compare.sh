#!/bin/sh
# compare.sh — heed beside any number of llama-bench-compatible engines
# (llama.cpp, ik_llama.cpp, ...) on the same GGUF files and threads,
# alternating engine by engine, round by round, and a table of medians
# with one heed / peer ratio column per peer:
#
#   LLAMA_BENCH=.../llama-bench IK_BENCH=.../llama-bench \
#   bench/compare.sh [-t THREADS] [-p 512] [-n 128] [-r ROUNDS] [-d DEPTH] \
#                    [-x 'PEER ARGS'] MODEL.gguf...
#
# Peers: PEERS="name=path name=path ..." names them; otherwise LLAMA_BENCH
# (as "llama") and IK_BENCH (as "ik") where set, else llama-bench on the
# PATH. Each round runs every engine once (its own warm-up, then one
# measured run), so a machine that slows down slows all engines alike;
# the table gives each engine's median over the rounds, and each ratio is
# the median of the rounds' ratios (heed and the peer of the same round),
# so that a machine whose speed drifts between rounds moves both sides.
# -x passes extra arguments to every peer (e.g. '-fa 1'); -d measures at
# a cache depth (heed bench -d; llama-bench -d where the peer has it,
# else — llama.cpp c392e50 and ik_llama.cpp 8337e4cd3 have none — prefill
# at depth D is derived from one run of prompts of D and D+P tokens,
# processed in ubatches, as P / (t(D+P) - t(D)), and generation is not
# measured).
# Each peer's commit, build number and backends are printed from its own
# CSV.
#
# An encoder-decoder (t5), which llama-bench cannot run, is measured on a
# peer by bench/peer_t5.c, built here against the checkout that holds the
# peer's llama-bench: pp = the encoder over p tokens, tg = n decoder tokens
# reading that encoding, as heed bench measures T5 (no -d, no -x).
#
# Without MODEL arguments it makes the issue's benchmark models with
# `heed synth` in $SYNTH_DIR (default /tmp/heed-synth): llama-3.2-1b in
# q4_0, q8_0 and f16.
set -eu
threads=$(nproc); p=512; n=128; rounds=3; depth=0; extra=""
while getopts t:p:n:r:d:x: opt; do
    case $opt in
    t) threads=$OPTARG ;; p) p=$OPTARG ;; n) n=$OPTARG ;; r) rounds=$OPTARG ;;
    d) depth=$OPTARG ;; x) extra=$OPTARG ;;
    *) echo "usage: $0 [-t THREADS] [-p 512] [-n 128] [-r ROUNDS] [-d DEPTH] [-x ARGS] [MODEL.gguf...]" >&2
       exit 2 ;;
    esac
done
shift $((OPTIND - 1))
heed=${HEED:-build/heed}
[ -x "$heed" ] || { echo "compare: no heed at $heed (make first)" >&2; exit 1; }
peers=${PEERS:-}
if [ -z "$peers" ]; then
    [ -n "${LLAMA_BENCH:-}" ] && peers="llama=$LLAMA_BENCH"
    [ -n "${IK_BENCH:-}" ] && peers="$peers ik=$IK_BENCH"
    [ -z "$peers" ] && command -v llama-bench > /dev/null && peers="llama=$(command -v llama-bench)"
fi
[ -n "$peers" ] || { echo "compare: no peer (set LLAMA_BENCH, IK_BENCH or PEERS)" >&2; exit 1; }
for peer in $peers; do
    [ -x "${peer#*=}" ] || { echo "compare: peer ${peer%%=*}: no executable at ${peer#*=}" >&2; exit 1; }
done

if [ $# -eq 0 ]; then
    dir=${SYNTH_DIR:-/tmp/heed-synth}
    mkdir -p "$dir"
    for spec in llama-3.2-1b:q4_0 llama-3.2-1b:q8_0 llama-3.2-1b:f16; do
        f=$dir/${spec%:*}-${spec#*:}.gguf
        [ -f "$f" ] || "$heed" synth --shape "${spec%:*}" --type "${spec#*:}" -o "$f"
        set -- "$@" "$f"
    done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dflag=""
[ "$depth" -gt 0 ] && dflag="-d $depth"

# A llama-bench CSV's column $2 of its rows ($3 = pp: prompt rows, tg:
# generation rows, first: the first row); quoted fields may hold commas.
csv_field() {
    python3 -c 'import csv, sys
rows = list(csv.DictReader(l for l in open(sys.argv[1]) if l[:1] != "W"))
pick = {"pp": lambda r: r["n_gen"] == "0", "tg": lambda r: r["n_gen"] != "0",
        "first": lambda r: True}[sys.argv[3]]
print(next((r.get(sys.argv[2], "-") for r in rows if pick(r)), 0))' "$@"
}

# The git checkout that holds executable $1 (a peer's source and build).
checkout() { git -C "$(dirname "$1")" rev-parse --show-toplevel; }

# One measured run of peer $2 on model $3: "pp tg" (tokens/s), its CSV
# kept in $tmp/$1.csv for the build line.
peer_run() {
    if [ "$t5" = t5 ]; then
        [ "$depth" -eq 0 ] || { echo "compare: -d is not measured on t5" >&2; exit 1; }
        [ -x "$tmp/$1-t5" ] || sh "$(dirname "$0")/../tests/oracle/build.sh" "$(checkout "$2")" \
            "$tmp/$1-t5" "$(dirname "$0")/peer_t5.c"
        "$tmp/$1-t5" "$3" "$p" "$n" "$threads" 2>/dev/null
        return
    fi
    if [ "$depth" -gt 0 ] && ! "$2" --help 2>&1 | grep -q -- '--n-depth'; then
        # shellcheck disable=SC2086
        "$2" -m "$3" -t "$threads" -p "$depth,$((depth + p))" -n 0 -r 1 $extra -o csv \
            2>/dev/null > "$tmp/$1.csv"
        python3 -c 'import csv, sys
t = {int(r["n_prompt"]): int(r["n_prompt"]) / float(r["avg_ts"])
     for r in csv.DictReader(l for l in open(sys.argv[1]) if l[:1] != "W")}
d, p = int(sys.argv[2]), int(sys.argv[3])
print(p / (t[d + p] - t[d]), 0)' "$tmp/$1.csv" "$depth" "$p"
        return
    fi
    # shellcheck disable=SC2086
    "$2" -m "$3" -t "$threads" -p "$p" -n "$n" -r 1 $dflag $extra -o csv 2>/dev/null > "$tmp/$1.csv"
    echo "$(csv_field "$tmp/$1.csv" avg_ts pp) $(csv_field "$tmp/$1.csv" avg_ts tg)"
}

heed_run() {
    # shellcheck disable=SC2086
    "$heed" bench "$1" -t "$threads" -p "$p" -n "$n" -r 1 $dflag | tail -n 1 | awk '{ print $2, $4 }'
}

# heed / peer of column $1, round by round (line i of each file is round i).
paired_ratios() {
    paste -d' ' "$tmp/heed.runs" "$2" |
        awk -v c="$1" '{ b = $(c + 2); print (b > 0 ? $c / b : 0) }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "threads $threads, pp$p tg$n, depth $depth, $rounds rounds alternating; $(uname -m), $(nproc) cores"
echo "heed: $("$heed" --version 2>&1 | head -n 1)"
header=$(printf '%-28s %9s' model "heed pp")
for peer in $peers; do header="$header $(printf '%9s %6s' "${peer%%=*} pp" ratio)"; done
header="$header $(printf '%9s' "heed tg")"
for peer in $peers; do header="$header $(printf '%9s %6s' "${peer%%=*} tg" ratio)"; done
table="$header"
for m in "$@"; do
    t5=$("$heed" info "$m" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["architecture"])')
    for round in $(seq "$rounds"); do
        heed_run "$m" >> "$tmp/heed.runs"
        for peer in $peers; do
            peer_run "${peer%%=*}" "${peer#*=}" "$m" >> "$tmp/${peer%%=*}.runs"
        done
    done
    hpp=$(cut -d' ' -f1 "$tmp/heed.runs" | median); htg=$(cut -d' ' -f2 "$tmp/heed.runs" | median)
    line=$(printf '%-28s %9.2f' "$(basename "$m")" "$hpp")
    tgs=""
    for peer in $peers; do
        name=${peer%%=*}
        ppp=$(cut -d' ' -f1 "$tmp/$name.runs" | median); ptg=$(cut -d' ' -f2 "$tmp/$name.runs" | median)
        rpp=$(paired_ratios 1 "$tmp/$name.runs" | median); rtg=$(paired_ratios 2 "$tmp/$name.runs" | median)
        line="$line $(printf '%9.2f %6.2f' "$ppp" "$rpp")"
        tgs="$tgs $(printf '%9.2f %6.2f' "$ptg" "$rtg")"
    done
    table="$table
$line $(printf '%9.2f' "$htg")$tgs"
    rm -f "$tmp"/*.runs
done
for peer in $peers; do
    c="$tmp/${peer%%=*}.csv"
    if [ -f "$c" ]; then
        echo "peer ${peer%%=*}: ${peer#*=}, commit $(csv_field "$c" build_commit first)" \
             "(build $(csv_field "$c" build_number first)), cpu $(csv_field "$c" cpu_info first)"
    else # t5 alone: no CSV
        echo "peer ${peer%%=*}: $(checkout "${peer#*=}"), commit" \
             "$(git -C "$(checkout "${peer#*=}")" rev-parse --short HEAD)"
    fi
done
echo "$table"
