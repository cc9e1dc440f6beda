#!/usr/bin/env bash
# Installs what kb needs on a Debian 12 machine. Idempotent: when every package is
# already present it only checks and returns (well under a second).
set -euo pipefail

packages=(
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  cmake ninja-build g++ libgtest-dev
  # the sanitizer pass of scripts/test.sh and the fuzzers build with clang: a second
  # compiler, and clang's UndefinedBehaviorSanitizer checks more than GCC's
  clang-22 libclang-rt-22-dev
  # LLVM's static archives, which kb links, name zstd's CMake target
  libzstd-dev
  python3-numpy python3-pytest libopenblas0-pthread
  # offline `pip install ./python` into a venv (python/tests/test_install.py)
  python3-venv python3-setuptools python3-wheel python3-pip
  # kb-run --plot and python3 -m kb.plot (python/kb/plot.py)
  python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "kb setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q >&2
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
