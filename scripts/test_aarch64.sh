#!/usr/bin/env bash
# Cross-builds a subset of the unit tests for 64-bit ARM (the baseline kernels: the ISA-specific
# copies exist only on x86) with Debian's g++-aarch64-linux-gnu and runs them under
# qemu-user-static. The subset is the compute the ISA dispatch touches: cpu/, ops/ and the
# convolution and pooling layers (TESTS overrides it, a ctest -R pattern). The programs built are
# the ones those tests run, asked of ctest, so that a new test under the pattern is built too.
# Needs: g++-aarch64-linux-gnu qemu-user-static catch2 (scripts/setup.sh --cross installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-aarch64}
tests=${TESTS:-'^(cpu\.|ops\.gemm|ops\.conv\.|layers\.(conv2d|max_pool2d|avg_pool2d))'}
for tool in aarch64-linux-gnu-g++ qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "test_aarch64: $tool is missing (apt-get install g++-aarch64-linux-gnu qemu-user-static)" >&2; exit 1; }
done
# Only the subset is built: stb and zlib (for tests never built here) are pointed at the
# host's copies just so that configuring the whole test tree succeeds.
source scripts/cmake_generator.sh
cmake -S . -B "$build" $(generator_for "$build") -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
      -DMINIDNN_STB_LIBRARY=/usr/lib/x86_64-linux-gnu/libstb.so -DMINIDNN_STB_INCLUDE_DIR=/usr/include/stb \
      -DZLIB_LIBRARY=/usr/lib/x86_64-linux-gnu/libz.so \
      -DMINIDNN_BUILD_TESTS=ON -DMINIDNN_BUILD_EXAMPLES=OFF -DMINIDNN_BUILD_BENCH=OFF -DMINIDNN_WITH_CUDA=OFF >/dev/null
# tests/CMakeLists.txt names the program of test a.b.c_test test_a_b_c_test.
mapfile -t targets < <(ctest --test-dir "$build" -N -R "$tests" | sed -n 's/^ *Test *#[0-9]*: *//p' | tr . _ | sed 's/^/test_/')
(( ${#targets[@]} )) || { echo "test_aarch64: no test matches '$tests'" >&2; exit 1; }
echo "== building ${#targets[@]} test programs for aarch64: ${targets[*]}"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$tests"
