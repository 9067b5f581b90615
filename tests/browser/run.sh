#!/bin/sh
# run.sh — the browser test of `heed attend --html`: writes the page for a
# fixture model and checks it in headless Chromium (Debian's chromium,
# driven by playwright-core; attend.mjs says what is checked).
#
#   sh tests/browser/run.sh [HEED_CLI]      (default build/heed)
#
# Fixtures come from $HEED_FIXTURES or ../shared/fixtures beside the project;
# without them the test is skipped. Screenshots and pages go to
# test-artifacts/ beside the CLI (build/test-artifacts).
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
heed=${1:-$repo/build/heed}
case $heed in /*) ;; *) heed=$(pwd)/$heed ;; esac
fixtures=${HEED_FIXTURES:-$repo/../shared/fixtures}
model=$fixtures/llama-tiny-f32.gguf
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -f "$model" ]; then
    echo "browser test: skipped, no fixture $model (set HEED_FIXTURES)"
    exit 0
fi
[ -x "$heed" ] || { echo "browser test: no heed CLI at $heed" >&2; exit 1; }
[ -x "$chromium" ] || { echo "browser test: no Chromium at $chromium (make deps installs Debian's chromium)" >&2; exit 1; }
command -v node > /dev/null && command -v npm > /dev/null ||
    { echo "browser test: node and npm are needed (make deps installs them)" >&2; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "browser test: npm ci (playwright-core, pinned in package-lock.json)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

out=$(dirname "$heed")/test-artifacts
mkdir -p "$out"
"$heed" attend "$model" -p "The animal didn't cross the street because it was tired." \
    --html "$out/attend.html" > /dev/null
CHROMIUM=$chromium node "$here/attend.mjs" "$out/attend.html" "$repo/tools/page/attend.html" "$out"
