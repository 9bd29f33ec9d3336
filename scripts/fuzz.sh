#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang and runs each one for a fixed time, starting
# from its committed seed corpus and first replaying its regression inputs.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60 s, every target)
# The fuzzer's random seed is fixed (FUZZ_SEED, default 1) so that a run repeats the same inputs
# in the same order: a longer run with the same seed covers everything a shorter one tries.
# Exit status is non-zero if any target finds a crash, a hang (> 10 s on one input), a leak, a
# sanitizer report or an out-of-memory (> 2 GiB). A finding is written to
# build-fuzz/findings/<target>/ (crash-*, timeout-*, oom-*); copy it to fuzz/regressions/<target>/
# once fixed. Setup: scripts/setup.sh --fuzz (clang, libclang-rt-14-dev, libomp-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fer2013_csv idx model_file cascade_xml image)
build=${FUZZ_BUILD_DIR:-build-fuzz}

CXX=${FUZZ_CXX:-clang++} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_FUZZERS=ON \
  -DMINIDNN_BUILD_TESTS=OFF -DMINIDNN_BUILD_EXAMPLES=OFF -DMINIDNN_BUILD_BENCH=OFF -DMINIDNN_WITH_CUDA=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target $(printf '%s_fuzzer ' "${targets[@]}")

max_len() {  # the longest input worth trying: a few FER2013 rows, a small model, a small image
  case $1 in
    fer2013_csv) echo 40000 ;;
    model_file | image) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  work="$build/corpus/$target"
  findings="$build/findings/$target"
  mkdir -p "$work" "$findings"
  regressions=()
  if [[ -d fuzz/regressions/$target ]] && compgen -G "fuzz/regressions/$target/*" >/dev/null; then
    regressions=(fuzz/regressions/$target/*)
  fi
  if ((${#regressions[@]})); then
    echo "== $target: replaying ${#regressions[@]} regression inputs"
    if ! "$build/fuzz/${target}_fuzzer" -rss_limit_mb=2048 -timeout=10 "${regressions[@]}" >"$findings/replay.log" 2>&1; then
      tail -n 30 "$findings/replay.log"
      echo "fuzz: $target fails on a regression input (log: $findings/replay.log)" >&2
      status=1
      continue
    fi
  fi
  echo "== $target: fuzzing for $seconds s"
  log="$findings/fuzz.log"
  if "$build/fuzz/${target}_fuzzer" "$work" "fuzz/corpus/$target" -max_total_time="$seconds" \
      -max_len="$(max_len "$target")" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -seed="${FUZZ_SEED:-1}" \
      -artifact_prefix="$findings/" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done " "$log" | sed "s/^/   /"
  else
    tail -n 40 "$log"
    echo "fuzz: $target found a problem (log: $log, input: $findings/)" >&2
    status=1
  fi
done
exit $status
