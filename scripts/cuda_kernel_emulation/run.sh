#!/usr/bin/env bash
# Emulates the CUDA SGEMM kernel on the CPU (see emulate_kernel.cpp). Needs g++ (C++20) and the
# CUDA headers (/usr/local/cuda/include); about half a minute.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cuda_include=${CUDA_INCLUDE:-/usr/local/cuda/include}
# The kernel and its helpers: everything before the host-side launch code, with the two open
# namespaces (anonymous, minidnn::cuda::detail) closed again.
grep -q '^bool float4_ok' "$root/src/cuda/sgemm_kernel.cu" || { echo "marker not found"; exit 1; }
sed '/^bool float4_ok/,$d' "$root/src/cuda/sgemm_kernel.cu" > "$work/kernel_body.inc"
echo '}}' >> "$work/kernel_body.inc"
g++ -std=c++20 -O1 -pthread -I"$cuda_include" -I"$root/src/cuda" -I"$work" \
  "$here/emulate_kernel.cpp" -o "$work/emulate_kernel"
"$work/emulate_kernel"
