#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root), builds, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_TESTS=OFF -DMINIDNN_BUILD_EXAMPLES=ON
cmake --build "$build" -j"$(nproc)"

out=${OUT_DIR:-out}
mkdir -p "$out"
"$build/examples/train_small/train_small" --out "$out/train_small.mdnn"
echo "main job: model written to $out/train_small.mdnn"
