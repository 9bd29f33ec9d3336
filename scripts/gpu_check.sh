#!/usr/bin/env bash
# Builds and runs the CUDA GEMM checks on a GPU machine and writes everything to $OUT:
#   env.txt              GPU, driver, nvcc, CMake, g++, glibc
#   configure.log, build.log
#   cuda_tests.txt       the CUDA test programs' own output (assertion counts), ctest summary
#   memcheck.txt, racecheck.txt   compute-sanitizer on the [sanitizer] test case, if present
#   cuda_gemm_bench.txt/.json     kernel vs cuBLAS vs backend vs CPU (GFLOP/s, pct_of_cublas)
#   summary.txt          one line per step with its exit status
#
# The machine has nvcc, CMake and g++ but no package registry: first run
# scripts/prepare_gpu_carry.sh here and carry .device/deps with the run, e.g.
#   run(command="bash scripts/gpu_check.sh", carry=[".device/deps"])
# Environment: OUT (default ./out), JOBS (default: all cores), BUILD (default build-gpu),
# BENCH_MIN_TIME (seconds per benchmark, default 0.2), SKIP_BENCH=1 to run the tests only.
set -u
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/out}
jobs=${JOBS:-$(nproc)}
build=${BUILD:-build-gpu}
deps=$root/.device/deps/usr
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
status=0
step() {  # step NAME LOGFILE COMMAND...: runs COMMAND, logs it, records its exit status
  local name=$1 log=$2
  shift 2
  echo "== $name: $*" | tee -a "$log"
  "$@" >> "$log" 2>&1
  local rc=$?
  echo "$name: rc=$rc" | tee -a "$summary"
  return $rc
}

{
  echo "date: $(date -u)"
  nvidia-smi 2>&1 || echo "nvidia-smi not found"
  echo; command -v nvcc && nvcc --version || /usr/local/cuda/bin/nvcc --version
  echo; cmake --version | head -1
  echo; g++ --version | head -1
  echo; ldd --version | head -1
  echo; echo "cores: $(nproc)"
} > "$out/env.txt" 2>&1

if [ ! -d "$deps/include/eigen3" ]; then
  echo "missing $deps: run scripts/prepare_gpu_carry.sh and carry .device/deps" | tee -a "$summary"
  exit 2
fi
nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)

configure() {  # configure BENCH(ON|OFF)
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DMINIDNN_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc_path" \
    -DMINIDNN_BUILD_TESTS=ON -DMINIDNN_BUILD_EXAMPLES=OFF -DMINIDNN_BUILD_BENCH="$1" \
    -DEigen3_DIR="$deps/share/eigen3/cmake" \
    -DCatch2_DIR="$deps/lib/cmake/Catch2" \
    -Dbenchmark_DIR="$deps/lib/$multiarch/cmake/benchmark" \
    -DMINIDNN_STB_LIBRARY="$deps/lib/$multiarch/libstb.a" \
    -DMINIDNN_STB_INCLUDE_DIR="$deps/include/stb" \
    -DZLIB_INCLUDE_DIR="$deps/include" -DZLIB_LIBRARY="$deps/lib/$multiarch/libz.a"
}
bench=ON
[ "${SKIP_BENCH:-0}" = 1 ] && bench=OFF
if ! step configure "$out/configure.log" configure $bench; then
  if [ $bench = ON ]; then  # the carried Google Benchmark may not suit this machine
    bench=OFF
    step configure_without_bench "$out/configure.log" configure OFF || exit 1
  else
    exit 1
  fi
fi

# Every target with "cuda" in its name: the add-on, its tests, its benchmark.
targets=$(cmake --build "$build" --target help | grep -o '[A-Za-z0-9_]*cuda[A-Za-z0-9_]*' | sort -u)
[ $bench = OFF ] && targets=$(echo "$targets" | grep -v '_bench$')
echo "targets: $targets" >> "$summary"
# shellcheck disable=SC2086
step build "$out/build.log" cmake --build "$build" -j"$jobs" --target $targets || exit 1

# The tests: each program's own report (assertion counts), then ctest's verdict.
for program in "$build"/tests/test_*cuda*; do
  [ -x "$program" ] || continue
  step "$(basename "$program")" "$out/cuda_tests.txt" "$program"
  case $? in
    0) ;;
    77) echo "  $(basename "$program") SKIPPED: it found no usable device (see cuda_tests.txt)" \
          | tee -a "$summary"; status=1 ;;
    *) status=1 ;;
  esac
done
step ctest "$out/cuda_tests.txt" ctest --test-dir "$build" -R cuda --output-on-failure || status=1

# Out-of-bounds and shared-memory race checks on the small edge products (fast under the tools).
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
gemm_test=$build/tests/test_backend_cuda_gemm_test
if [ -n "$sanitizer" ] && [ -x "$gemm_test" ]; then
  for tool in memcheck racecheck; do
    step "$tool" "$out/$tool.txt" timeout 240 "$sanitizer" --tool "$tool" --error-exitcode 1 \
      "$gemm_test" '[sanitizer]' || status=1
  done
else
  echo "compute-sanitizer: not found, skipped" >> "$summary"
fi

if [ $bench = ON ] && [ -x "$build/bench/cuda_gemm_bench" ]; then
  step cuda_gemm_bench "$out/cuda_gemm_bench.txt" "$build/bench/cuda_gemm_bench" \
    --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" \
    --benchmark_out="$out/cuda_gemm_bench.json" --benchmark_out_format=json || status=1
fi

echo "overall: rc=$status" | tee -a "$summary"
exit $status
