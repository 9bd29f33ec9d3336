#!/usr/bin/env bash
# Installs the Debian packages minidnn needs (run as root on Debian 12).
#   scripts/setup.sh           what the build, the tests and the examples need
#   scripts/setup.sh --bench   also the references the benchmarks compare against
#                              (PyTorch, jemalloc, OpenCV's Python bindings)
#   scripts/setup.sh --fuzz    also clang with libFuzzer and its sanitizer runtimes (fuzz/)
#   scripts/setup.sh --cross   also the 64-bit ARM cross compiler and qemu (scripts/test_aarch64.sh)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config libeigen3-dev libstb-dev catch2 libbenchmark-dev
          zlib1g-dev libopenblas-dev fonts-dejavu-core opencv-data dataset-fashion-mnist
          libjpeg-turbo-progs  # jpegtran: the image tests make progressive JPEGs with it
          libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg  # fer video; its tests make videos with ffmpeg
          nlohmann-json3-dev libcpp-httplib-dev  # JSON output of fer; fer serve's HTTP server
          openmpi-bin libopenmpi-dev iproute2  # data-parallel training (include/minidnn/distributed/); ip netns: its two-host test
          chromium)  # fer serve's browser test: headless Chromium (a fake-camera y4m made with ffmpeg)
for option in "$@"; do
  case $option in
    --bench) packages+=(python3-torch python3-numpy libjemalloc2 python3-opencv time wrk) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev libomp-dev) ;;
    --cross) packages+=(g++-aarch64-linux-gnu qemu-user-static) ;;
    *) echo "setup: unknown option $option (use --bench, --fuzz, --cross)" >&2; exit 2 ;;
  esac
done

command -v npm >/dev/null || packages+=(nodejs npm)  # the browser test's playwright-core
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ $(id -u) -ne 0 ]]; then
  if ((${#missing[@]})); then
    echo "setup: missing packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/tmp/minidnn-apt-update.log 2>&1; then
  if ((${#missing[@]})); then
    echo "setup: apt-get update failed (see /tmp/minidnn-apt-update.log) and packages are missing: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get update failed; every needed package is already installed, going on" >&2
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages of the browser test (playwright-core, which drives Debian's chromium; it downloads
# no browser), from the committed lock file into tests/browser/node_modules (git-ignored).
browser_tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
if [[ ! -d $browser_tests/node_modules/playwright-core ]]; then
  (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
