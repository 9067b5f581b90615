#!/bin/sh
# Installs the Debian packages the build and tests need, when missing.
set -e
PKGS="cmake make gcc binutils pkg-config libutf8proc-dev libpcre2-dev libmicrohttpd-dev libcjson-dev libcriterion-dev libxml2-utils chromium"
# The Python package (python/) and its tests: numpy, pytest, and pip with
# venv for the test that installs it.
PKGS="$PKGS python3-numpy python3-pytest python3-pip python3-venv"
# Node and npm run the browser test; a Node installed otherwise (nodesource,
# nvm) is used as it is.
command -v node > /dev/null 2>&1 && command -v npm > /dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# nginx fronts the replicas in the scale-out test (tests/scale); Debian's
# `nginx` package is the server alone (nginx-light and the others add modules).
PKGS="$PKGS nginx"
# clang and its sanitizer runtime are only needed by `make fuzz`.
[ "${HEED_FUZZ_DEPS:-0}" = 1 ] && PKGS="$PKGS clang libclang-rt-14-dev"
# The default model's corpus (the King James Bible) is only needed by
# `make default-model`.
[ "${HEED_CORPUS_DEPS:-0}" = 1 ] && PKGS="$PKGS bible-kjv bible-kjv-text"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
