#!/bin/sh
# compare.sh — heed vs llama.cpp on the same GGUF files, same threads,
# alternating engine by engine, and a ratio table (heed / llama.cpp):
#
#   bench/compare.sh [-t THREADS] [-p 512] [-n 128] [-r REPS] MODEL.gguf...
#
# llama-bench comes from $LLAMA_BENCH or the PATH; heed from $HEED (default
# build/heed). Without MODEL arguments it makes the issue's benchmark
# models with `heed synth` in $SYNTH_DIR (default /tmp/heed-synth):
# llama-3.2-1b in q4_0, q8_0 and f16, and qwen2.5-0.5b in q8_0.
set -eu
threads=$(nproc); p=512; n=128; reps=5
while getopts t:p:n:r: opt; do
    case $opt in
    t) threads=$OPTARG ;; p) p=$OPTARG ;; n) n=$OPTARG ;; r) reps=$OPTARG ;;
    *) echo "usage: $0 [-t THREADS] [-p 512] [-n 128] [-r REPS] [MODEL.gguf...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
heed=${HEED:-build/heed}
llama=${LLAMA_BENCH:-$(command -v llama-bench || true)}
[ -x "$heed" ] || { echo "compare: no heed at $heed (make first)" >&2; exit 1; }
[ -n "$llama" ] && [ -x "$llama" ] || { echo "compare: llama-bench not found (set LLAMA_BENCH)" >&2; exit 1; }

if [ $# -eq 0 ]; then
    dir=${SYNTH_DIR:-/tmp/heed-synth}
    mkdir -p "$dir"
    for spec in llama-3.2-1b:q4_0 llama-3.2-1b:q8_0 llama-3.2-1b:f16 qwen2.5-0.5b:q8_0; do
        f=$dir/${spec%:*}-${spec#*:}.gguf
        [ -f "$f" ] || "$heed" synth --shape "${spec%:*}" --type "${spec#*:}" -o "$f"
        set -- "$@" "$f"
    done
fi

# llama-bench's t/s column (avg) for its pp and tg lines, in that order
llama_tps() {
    "$llama" -m "$1" -t "$threads" -p "$p" -n "$n" -r "$reps" -o csv 2>/dev/null |
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "avg_ts") c = i; next }
                 { gsub(/"/, "", $c); printf "%s ", $c }'
}

echo "threads $threads, pp$p tg$n, $reps reps; $(uname -m), $(nproc) cores"
printf '%-32s %10s %10s %7s %10s %10s %7s %9s\n' model "heed pp" "llama pp" ratio \
    "heed tg" "llama tg" ratio roofline
for m in "$@"; do
    set -- $("$heed" bench "$m" -t "$threads" -p "$p" -n "$n" -r "$reps" | tail -n 1)
    hpp=$2 htg=$4 roof=${8:-0}
    set -- $(llama_tps "$m")
    lpp=$1 ltg=$2
    awk -v m="$(basename "$m")" -v hpp="$hpp" -v lpp="$lpp" -v htg="$htg" -v ltg="$ltg" \
        -v roof="$roof" 'BEGIN { printf "%-32s %10.2f %10.2f %7.2f %10.2f %10.2f %7.2f %8.0f%%\n",
                                 m, hpp, lpp, hpp / lpp, htg, ltg, htg / ltg, roof }'
done
