#!/bin/sh
# run.sh — heed.h is the whole ABI: every symbol the shared library
# exports is a function heed.h declares, every function heed.h declares is
# exported, and the soname carries heed.h's HEED_ABI_VERSION.
#
#   sh tests/abi/run.sh [LIBHEED.so] [heed.h]   (default build/libheed.so,
#                                                include/heed.h)
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lib=${1:-$repo/build/libheed.so}
header=${2:-$repo/include/heed.h}
cc=${CC:-cc}
[ -f "$lib" ] || { echo "abi test: no library at $lib" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The functions heed.h declares: after the preprocessor (no comments, no
# macros), each name followed by '(' that is not a function-pointer type's
# name, which is followed by ')' instead.
"$cc" -E -P -x c "$header" | tr '\n' ' ' |
    grep -o '[^(A-Za-z0-9_]heed_[A-Za-z0-9_]*[[:space:]]*(' |
    sed 's/^.//; s/[[:space:]]*($//' | sort -u > "$tmp/declared"
nm -D --defined-only "$lib" | awk '{ print $NF }' | sort -u > "$tmp/exported"

status=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "abi test: $lib exports $(echo "$extra" | wc -l) symbols heed.h does not declare:" >&2
    echo "$extra" | sed 's/^/  /' >&2
    status=1
fi
if [ -n "$missing" ]; then
    echo "abi test: heed.h declares $(echo "$missing" | wc -l) functions $lib does not export" \
        "(HEED_API missing?):" >&2
    echo "$missing" | sed 's/^/  /' >&2
    status=1
fi

abi=$(sed -n 's/^#define HEED_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$header")
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if [ "$soname" != "libheed.so.$abi" ]; then
    echo "abi test: soname '$soname', but heed.h's HEED_ABI_VERSION is '$abi'" \
        "(want libheed.so.$abi)" >&2
    status=1
fi

[ $status = 0 ] && echo "abi test: $(wc -l < "$tmp/exported") symbols, each declared in" \
    "heed.h; soname $soname"
exit $status
