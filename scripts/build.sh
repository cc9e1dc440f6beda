#!/usr/bin/env bash
# Installs what is missing, configures (once) and builds kb into build/ (or $KB_BUILD_DIR).
# Extra arguments are ninja targets; with none, everything is built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KB_BUILD_DIR:-$root/build}

"$root/scripts/setup.sh"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    ${KB_CMAKE_ARGS:-} >/dev/null
fi
ninja -C "$build" "$@"
