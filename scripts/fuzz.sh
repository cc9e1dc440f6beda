#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-22 (ASan + UBSan) into build-fuzz/ and runs each
# for the given number of seconds (default 600), its corpus seeded from the tests and
# examples. Crashes land in fuzz/crashes/<target>/; each one fixed becomes a regression
# test under test/Regression/.
#   scripts/fuzz.sh [seconds] [target...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KB_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kb-opt-fuzzer npy-fuzzer)

"$root/scripts/setup.sh"
if ! command -v clang++-22 >/dev/null; then
  echo "fuzz: installing clang-22 and libclang-rt-22-dev" >&2
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
    clang-22 libclang-rt-22-dev >&2
fi
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DKB_ENABLE_FUZZERS=ON >/dev/null
fi
ninja -C "$build" "${targets[@]}"

export ASAN_OPTIONS="allow_user_poisoning=0:detect_leaks=0"
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  crashes="$root/fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  case "$target" in
    kb-opt-fuzzer)
      find "$root/test" "$root/examples" -name '*.mlir' -exec cp {} "$corpus/" \; ;;
    npy-fuzzer)
      find "$root/test" "$root/unittests" -name '*.npy' -exec cp {} "$corpus/" \; 2>/dev/null || true ;;
  esac
  dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  echo "== $target for ${seconds}s"
  "$build/bin/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
    -artifact_prefix="$crashes/" -print_final_stats=1 2>&1 | tail -n 25
done
