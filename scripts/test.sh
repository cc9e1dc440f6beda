#!/usr/bin/env bash
# Builds kb and runs every test: lit regression tests, GoogleTest unit tests and the
# Python suite (the `check-kb` target) — first in the release build (build/, GCC), then
# again in a build with AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/),
# compiled by clang: so kb builds with both compilers, and clang's UBSan also checks
# what GCC's does not (pointer arithmetic on null, for one).
# KB_SKIP_SANITIZERS=1 skips the second pass for quick local runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

echo "== release build: check-kb"
"$root/scripts/build.sh" check-kb

if [ "${KB_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (clang): check-kb"
  # MLIR's allocators poison memory from instrumented inline code that Debian's
  # uninstrumented libraries then touch; user poisoning is turned off so that only
  # real errors in kb's own code are reported.
  export ASAN_OPTIONS="allow_user_poisoning=0:abort_on_error=0:exitcode=86"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
  KB_BUILD_DIR="${KB_SANITIZE_BUILD_DIR:-$root/build-sanitize}" \
  KB_CMAKE_ARGS="-DKB_ENABLE_SANITIZERS=ON -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22" \
    "$root/scripts/build.sh" check-kb
fi
