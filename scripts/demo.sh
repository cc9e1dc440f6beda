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
echo "== kb-opt --kb-pipeline $(basename "$example"): the device program"
"$build/bin/kb-opt" --kb-pipeline "$example" -o "$out/lowered.mlir"
echo "-- the rank program calls one kernel per distinct op:"
grep -E '^ +%[0-9:]+ = call @|^ +call @' "$out/lowered.mlir" | cut -c1-110 || true
kernel=$(grep -m 1 -o 'func.func private @[a-z_0-9]*' "$out/lowered.mlir" | cut -d' ' -f3 || true)
echo "-- the first operations of $kernel:"
awk -v k="$kernel(" 'index($0, "func.func private " k) {on = 1; next} on && /^  }/ {exit} on' \
  "$out/lowered.mlir" | head -n 6 | cut -c1-150
echo "   ... $(grep -c '= gemm_tile\.\|^ *gemm_tile\.' "$out/lowered.mlir") gemm_tile operations" \
  "in $(grep -c 'func.func private' "$out/lowered.mlir") kernels"
echo
echo "== kb-run --check (global program in, compiled in-process, checked against the unsharded run)"
"$build/bin/kb-run" "$example" --check --report "$out/report.json"
