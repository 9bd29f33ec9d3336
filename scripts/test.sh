#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root) and runs the whole test suite:
#   1. unit tests, gradient checks, the installed-package consumer and a short smoke run of every
#      benchmark (optimized build);
#   2. the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer, where any report
#      is a failure (SANITIZE=0 skips this);
#   3. the compute tests cross-built for 64-bit ARM and run under qemu (AARCH64=0 skips this);
#   4. every fuzz target for FUZZ_SECONDS (default 25: eight targets, within CI's time) each, after
#      replaying its regression inputs (FUZZ_SECONDS=0 skips this).
# Shared data (FER2013, photos) is read from ../shared or MINIDNN_SHARED_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's wall time, printed at the end (also when a stage fails), so that a CI log's tail
# says where its time went.
stage_names=() stage_seconds=() stage_start=$(date +%s) run_start=$(date +%s)
stage() {
  local now; now=$(date +%s)
  if ((${#stage_names[@]})); then stage_seconds+=($((now - stage_start))); fi
  stage_names+=("$1") stage_start=$now
}
report_stages() {
  local status=$? now; now=$(date +%s)
  stage_seconds+=($((now - stage_start)))
  echo "== test.sh stage times ($( ((status == 0)) && echo passed || echo "FAILED, exit $status"))"
  for i in "${!stage_names[@]}"; do printf '   %6d s  %s\n' "${stage_seconds[$i]}" "${stage_names[$i]}"; done
  printf '   %6d s  in all\n' $((now - run_start))
}
trap report_stages EXIT

stage "setup (Debian and npm packages)"
bash scripts/setup.sh --fuzz --cross
build=${BUILD_DIR:-build-test}
jobs=$(nproc)
stage "optimized build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_TESTS=ON \
      -DMINIDNN_BUILD_EXAMPLES=ON -DMINIDNN_BUILD_BENCH=ON
cmake --build "$build" -j"$jobs"
# The suite once per x86 instruction set the kernels are compiled for (docs/design.md,
# "Instruction sets: chosen at run time"): first as users get it (the CPU's best set), then
# forced onto each other set this CPU has; a set it lacks is skipped, saying so.
stage "test suite (the CPU's best instruction set)"
ctest --test-dir "$build" --output-on-failure -j"$jobs"
stage "test suite forced onto the other instruction sets"
bash scripts/test_each_isa.sh "$build"

if [[ "${SANITIZE:-1}" != 0 ]]; then
  echo "== the test suite under AddressSanitizer and UndefinedBehaviorSanitizer"
  stage "sanitizer build"
  sanitize_build=${SANITIZE_BUILD_DIR:-build-sanitize}
  cmake -S . -B "$sanitize_build" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_SANITIZE=ON -DMINIDNN_BUILD_TESTS=ON \
        -DMINIDNN_BUILD_EXAMPLES=ON -DMINIDNN_BUILD_BENCH=OFF -DMINIDNN_WITH_CUDA=OFF
  cmake --build "$sanitize_build" -j"$jobs"
  # models.fer_small_test trains three epochs on the real FER2013 (an accuracy check, run in the
  # plain pass): under the sanitizers it took 14 of the stage's 19 minutes and reaches no code the
  # model, layer and fer tests here do not. fer.fer_default_model_test (the shipped model's
  # PublicTest accuracy) and fer.fer_mpi_train (seven fer runs under mpirun; the distributed tests
  # cover the MPI code here) likewise run in the plain pass only, as do the installed-package
  # consumer and the include-order check, which build or read rather than run our code.
  stage "test suite under the sanitizers"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$sanitize_build" --output-on-failure -j"$jobs" -E '^(models\.fer_small_test|fer\.fer_default_model_test|fer\.fer_mpi_train|consumer\..*|includes\..*)$'
fi

if [[ "${AARCH64:-1}" != 0 ]]; then
  echo "== the compute tests on 64-bit ARM (cross-built, run under qemu)"
  stage "aarch64 cross-build and tests under qemu"
  bash scripts/test_aarch64.sh
fi

if [[ "${FUZZ_SECONDS:-25}" != 0 ]]; then
  echo "== fuzzing every parser for ${FUZZ_SECONDS:-25} s each"
  stage "fuzzing"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-25}"
fi
