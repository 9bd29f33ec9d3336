#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root), builds, and runs the main job:
# train the FER model, evaluate it, and predict the emotions of the faces in a photo (with it, and
# with the trained default model shipped in models/).
#
#   FER2013_CSV=../shared/data/fer2013/fer2013.csv.gz bash scripts/main_job.sh   # the real data
#   bash scripts/main_job.sh                                                      # the synthetic set
#
# Environment: FER2013_CSV (data; default: ../shared/data/fer2013/fer2013.csv.gz if present, else
# the embedded synthetic set), FER_PHOTO (default ../shared/data/faces/bbt4.jpg), OUT_DIR (out/),
# FER_TRAIN_ARGS (extra `fer train` flags, e.g. "--epochs 5").
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_TESTS=OFF -DMINIDNN_BUILD_EXAMPLES=ON
cmake --build "$build" -j"$(nproc)" --target fer
fer="$build/examples/fer/fer"

shared=../shared/data
if [[ -z "${FER2013_CSV:-}" && -f "$shared/fer2013/fer2013.csv.gz" ]]; then
  export FER2013_CSV="$shared/fer2013/fer2013.csv.gz"
fi
out=${OUT_DIR:-out}
mkdir -p "$out"

# shellcheck disable=SC2086
"$fer" train --out "$out/model.mdnn" ${FER_TRAIN_ARGS:-}
"$fer" eval --model "$out/model.mdnn" --out-dir "$out"

photo=${FER_PHOTO:-$shared/faces/bbt4.jpg}
if [[ -f "$photo" ]]; then
  "$fer" predict --model "$out/model.mdnn" --out "$out/predictions" "$photo"
  # And the trained model shipped in the repository (models/fer_default.mdnn, docs/results.md),
  # which fer uses when --model is not given.
  "$fer" predict --out "$out/predictions_default" "$photo"
else
  echo "main job: no photo at $photo (set FER_PHOTO); skipping prediction"
fi

echo
echo "main job done. In $out/:"
echo "  model.mdnn (the model), model.history.csv and model.curves.png (training),"
echo "  confusion_*.png (evaluation), predictions/ (annotated photo and per-face charts),"
echo "  predictions_default/ (the same photo through the shipped default model)"
