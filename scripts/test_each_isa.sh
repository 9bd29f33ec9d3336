#!/usr/bin/env bash
# Runs the test suite of build folder $1 once per x86 instruction set the kernels are compiled
# for, forcing it with MINIDNN_ISA (cpu/isa.hpp): avx512, avx2, baseline. A set this CPU lacks is
# skipped with a message, and the CPU's best set is the plain ctest run that comes before this
# one. The installed-package consumer (which checks the automatic choice) and
# the benchmark smoke runs are left to the plain ctest run before this; ISA_PASSES limits the
# sets (e.g. ISA_PASSES="avx2 baseline"). The forced passes run the library's tests (cpu, ops,
# layers, losses, optim, model, models, backend, io): the applications' tests (fer, vision,
# viz, datasets) reach the same kernels through the same dispatch and would double CI's time;
# ISA_TESTS='.' runs everything. The baseline pass leaves out models.* (whole-network training,
# five minutes on the scalar kernels; the model.* tests train small networks on it).
set -euo pipefail
build=${1:?usage: test_each_isa.sh BUILD_DIR}
jobs=$(nproc)
flags=" $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
if [[ $(uname -m) != x86_64 ]]; then
  echo "== test_each_isa: $(uname -m) has only the baseline set; nothing more to run"
  exit 0
fi
# The plain ctest run before this one ran the best set (the automatic choice); SKIP_BEST=0 repeats it.
if has avx512f avx512bw avx512dq avx512vl avx2 fma; then best=avx512; elif has avx2 fma; then best=avx2; else best=baseline; fi
for isa in ${ISA_PASSES:-avx512 avx2 baseline}; do
  if [[ $isa == "$best" && ${SKIP_BEST:-1} == 1 ]]; then
    echo "== the $isa pass is the plain run before (this CPU's best set, chosen automatically)"
    continue
  fi
  case $isa in
    avx512) has avx512f avx512bw avx512dq avx512vl avx2 fma || { echo "== SKIPPED the avx512 pass: this CPU lacks AVX-512 F/BW/DQ/VL"; continue; } ;;
    avx2) has avx2 fma || { echo "== SKIPPED the avx2 pass: this CPU lacks AVX2+FMA"; continue; } ;;
    baseline) ;;
    *) echo "test_each_isa: unknown set '$isa' (avx512, avx2, baseline)" >&2; exit 2 ;;
  esac
  skip='^(consumer\.|includes\.)'
  [[ $isa == baseline ]] && skip='^(consumer\.|includes\.|models\.)'
  echo "== the test suite on the $isa kernels (MINIDNN_ISA=$isa)"
  start=$(date +%s)
  MINIDNN_ISA=$isa ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE bench \
    -R "${ISA_TESTS:-^(cpu|ops|layers|losses|optim|model|models|backend|io)\\.}" -E "$skip"
  echo "== $isa pass: $(( $(date +%s) - start )) s"
done
