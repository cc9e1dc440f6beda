#!/usr/bin/env bash
# The main job: compile the seed's tensor-parallel MLP block (ColumnParallelLinear -> gelu ->
# RowParallelLinear, TP = 4) with the kb pipeline, execute it on the simulated AHBM device
# with real numbers, check it against the unsharded program and print the report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KB_BUILD_DIR:-$root/build}
example=${1:-$root/examples/mlp_seed.mlir}

"$root/scripts/build.sh" kb-opt kb-run >/dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== kb-opt --kb-pipeline $(basename "$example"): the first device operations"
"$build/bin/kb-opt" --kb-pipeline "$example" -o "$out/lowered.mlir"
grep -m 8 'gemm_tile\.' "$out/lowered.mlir" | grep -v func.func | cut -c1-150 || true
echo "   ... $(grep -c 'gemm_tile\.' "$out/lowered.mlir") gemm_tile operations in all"
echo
echo "== kb-run --check (global program in, compiled in-process, checked against the unsharded run)"
"$build/bin/kb-run" "$example" --check --report "$out/report.json"
