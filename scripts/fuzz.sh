#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-22 (ASan + UBSan) into build-fuzz/ and runs them
# side by side for the given number of seconds (default 600), each corpus seeded from the
# tests and examples. KB_FUZZ_NICE=1 runs them at nice 19, on idle CPU only. Crashes land in fuzz/crashes/<target>/; each one fixed becomes a
# regression test under test/Regression/.
#   scripts/fuzz.sh [seconds] [target...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KB_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kb-opt-fuzzer npy-fuzzer kb-run-fuzzer device-json-fuzzer
  npy-integer-fuzzer gemm-tile-mutator-fuzzer)
nice=(); [ "${KB_FUZZ_NICE:-0}" = 1 ] && nice=(nice -n 19)

"$root/scripts/setup.sh"  # clang-22 and its sanitizer and fuzzer runtimes among the rest
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DKB_ENABLE_FUZZERS=ON >/dev/null
fi
# kb-opt lowers the examples that seed kb-run-fuzzer's corpus.
ninja -C "$build" kb-opt kb-run "${targets[@]}"

export ASAN_OPTIONS="allow_user_poisoning=0:detect_leaks=0"
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  crashes="$root/fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  case "$target" in
    kb-opt-fuzzer)
      find "$root/test" "$root/examples" -name '*.mlir' -exec cp {} "$corpus/" \; ;;
    kb-run-fuzzer|gemm-tile-mutator-fuzzer)
      # Device programs: the hand-written ones and small examples, lowered.
      find "$root/test/Dialect/GemmTile" "$root/test/Integration" -name '*.mlir' -exec cp {} "$corpus/" \;
      for f in "$root/examples/mlp_small_f32.mlir" "$root/test/Integration/kb-run/differential.mlir"; do
        for outline in true false; do
          "$build/bin/kb-opt" --kb-pipeline="outline-ops=$outline" "$f" \
            -o "$corpus/lowered-$outline-$(basename "$f")"
        done
      done ;;
    device-json-fuzzer)
      # The default device as kb-run reports it, and small variations.
      "$build/bin/kb-run" "$root/examples/mlp_small_f32.mlir" --quiet --report "$corpus/report.json"
      /usr/bin/python3 -c "import json, sys; d=json.load(open(sys.argv[1]))['device']; json.dump(d, open(sys.argv[2]+'/default.json', 'w')); d['cubes']=16; json.dump(d, open(sys.argv[2]+'/cubes16.json', 'w'))" "$corpus/report.json" "$corpus"
      rm "$corpus/report.json"
      printf '{"cubes": 2, "link_gbps": 50}' > "$corpus/partial.json" ;;
    npy-integer-fuzzer)
      # Any bytes decode into a header; a few seeds of each rank and type.
      for seed in 0101000200 0201010302040300 0302000500 01030001; do
        printf "$(echo $seed | sed 's/../\\x&/g')" > "$corpus/seed-$seed"
      done ;;
    npy-fuzzer)
      # Seeds: .npy files numpy writes, of each dtype and of ranks 0 to 2.
      /usr/bin/python3 -c "import numpy as n, sys; d=sys.argv[1]; n.save(d+'/f32.npy', n.ones((3, 4), n.float32)); n.save(d+'/f16.npy', n.ones((5,), n.float16)); n.save(d+'/scalar.npy', n.float32(2))" "$corpus" ;;
  esac
  dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  echo "== $target for ${seconds}s"
  # Each target's exit status is kept: a crash must fail the script.
  (
    set +e
    "${nice[@]}" "$build/bin/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=4096 \
      -artifact_prefix="$crashes/" -print_final_stats=1 > "$build/$target.log" 2>&1
    echo $? > "$build/$target.status"
    tail -n 25 "$build/$target.log" | sed "s|^|[$target] |"
  ) &
done
wait

failed=0
for target in "${targets[@]}"; do
  status=$(cat "$build/$target.status")
  if [ "$status" != 0 ]; then
    echo "fuzz: $target exited with status $status; inputs in fuzz/crashes/$target/, log in $build/$target.log" >&2
    failed=1
  fi
done
exit $failed
