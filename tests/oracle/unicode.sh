#!/bin/sh
# unicode.sh PEER_SRC [OUT] — builds peer_unicode.cpp against a peer
# checkout's src/unicode.cpp and src/unicode-data.cpp and writes its
# classes of every code point (default: tests/data/unicode-classes.txt).
set -eu
src=$1
here=$(dirname "$0")
out=${2:-$here/../data/unicode-classes.txt}
bin=$(mktemp -d)/peer_unicode
c++ -std=c++17 -O2 -o "$bin" "$here/peer_unicode.cpp" "$src/src/unicode.cpp" \
    "$src/src/unicode-data.cpp" -I"$src/src"
"$bin" > "$out"
rm -r "$(dirname "$bin")"
