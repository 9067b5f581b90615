#!/bin/sh
# `make demo`: heed's own model (models/default.gguf, trained by heed on
# the King James Bible; see models/README.md) generating text, its
# next-token table, and what one of its tokens attends to. No network.
set -e
HEED=${1:-build/heed}
MODEL=${HEED_MODEL:-models/default.gguf}
page=$(dirname "$HEED")/demo-attend.html
show() {
    printf '\n$ heed'
    for a in "$@"; do
        case "$a" in *" "*) printf ' "%s"' "$a" ;; *) printf ' %s' "$a" ;; esac
    done
    printf '\n'
    "$HEED" "$@"
}
show run "$MODEL" -p "In the beginning" -n 48 --seed 7
show next "$MODEL" -p "And God said, Let there be" -k 5
show attend "$MODEL" -p "And God saw the light, that it was good" --word it -k 3 \
    --html "$page"
echo
echo "(open $page in a browser for every layer and head)"
