#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root) and runs the whole test suite:
# unit tests, gradient checks, the installed-package consumer, and a short smoke run of every
# benchmark. Shared data (FER2013, photos) is read from ../shared or MINIDNN_SHARED_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build=${BUILD_DIR:-build-test}
jobs=$(nproc)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_TESTS=ON \
      -DMINIDNN_BUILD_EXAMPLES=ON -DMINIDNN_BUILD_BENCH=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
