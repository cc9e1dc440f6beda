#!/usr/bin/env bash
# Builds kb and runs every test: lit regression tests, GoogleTest unit tests and
# the Python suite (the `check-kb` target).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" check-kb
