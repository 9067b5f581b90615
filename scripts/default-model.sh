#!/bin/sh
# Retrains the default model, models/default.gguf, from scratch
# (`make default-model`): the King James Bible from Debian's bible-kjv
# packages (public domain), one verse per line without its number, then
# `heed train` with the options below. Deterministic for the thread count
# given (-t 2); about an hour on 2 cores.
set -eu
HEED=${1:-build/heed}
OUT=${2:-models/default.gguf}
HEED_CORPUS_DEPS=1 sh scripts/deps.sh
mkdir -p build/corpus
bible -l 100000 gen1:1-rev22:21 | sed -e 's/^ *[0-9][0-9]* //' > build/corpus/kjv.txt
"$HEED" train build/corpus/kjv.txt -o "$OUT" --ckpt build/corpus/default.ckpt \
    --preset small --ctx 128 --batch 16 --steps 3000 --warmup 100 --lr 1e-3 --min-lr 1e-4 \
    --val-every 100 --ckpt-every 200 --seed 1337 -t 2 --type f16 --name "heed KJV small"
