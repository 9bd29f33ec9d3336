#!/usr/bin/env bash
# Copies the Debian build dependencies that the GPU machine lacks (it has nvcc, CMake, g++ and
# PyTorch but no package registry) into the git-ignored folder .device/deps/, laid out as a
# relocatable /usr prefix, so a session can carry it there with its run (carry: .device/deps).
# scripts/gpu_check.sh configures against it.
#
#   Eigen 3 headers + CMake config     (libeigen3-dev)
#   Catch2 v2 header + CMake config    (catch2)
#   Google Benchmark headers, shared library + CMake config (libbenchmark-dev; Debian ships no
#     libbenchmark.a, only libbenchmark.so and libbenchmark_main.a)
#   stb headers + libstb.a             (libstb-dev; static so nothing to find at run time)
#   zlib headers + libz.a              (zlib1g-dev)
#
# Usage: scripts/prepare_gpu_carry.sh [destination]   (default: .device/deps)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.device/deps}
usr=$dest/usr
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
lib=/usr/lib/$multiarch

rm -rf "$dest"
mkdir -p "$usr/include" "$usr/share/eigen3" "$usr/lib/cmake" "$usr/lib/$multiarch/cmake"

copy() {  # copy SOURCE... DESTINATION_DIR, keeping symbolic links as links
  local target=${*: -1}
  mkdir -p "$target"
  cp -a "${@:1:$#-1}" "$target/"
}

# Eigen: the targets file finds include/eigen3 three levels above share/eigen3/cmake.
copy /usr/include/eigen3 "$usr/include"
copy /usr/share/eigen3/cmake "$usr/share/eigen3"

# Catch2 v2: the targets file also checks that lib/libCatch2WithMain.a exists.
copy /usr/include/catch2 "$usr/include"
copy /usr/lib/cmake/Catch2 "$usr/lib/cmake"
[ -e /usr/lib/libCatch2WithMain.a ] && copy /usr/lib/libCatch2WithMain.a "$usr/lib"

# Google Benchmark.
copy /usr/include/benchmark "$usr/include"
copy "$lib/cmake/benchmark" "$usr/lib/$multiarch/cmake"
copy "$lib"/libbenchmark.so* "$lib"/libbenchmark_main.a "$usr/lib/$multiarch"

# stb (headers under include/stb, as on Debian) and zlib, static.
copy /usr/include/stb "$usr/include"
copy "$lib/libstb.a" "$usr/lib/$multiarch"
copy /usr/include/zlib.h /usr/include/zconf.h "$usr/include"
copy "$lib/libz.a" "$usr/lib/$multiarch"

du -sh "$dest"
echo "prepared $dest: run scripts/gpu_check.sh on the GPU machine with carry [\"$dest\"]"
