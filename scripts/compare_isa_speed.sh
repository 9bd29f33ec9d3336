#!/usr/bin/env bash
# The seed model's speed on each instruction-set path, side by side with PyTorch, run ALTERNATELY
# (the order flips every round) so that a noisy machine slows all alike:
#   native    minidnn built with -march=native (MINIDNN_NATIVE=ON)
#   installed the same benchmark built as a user builds: minidnn installed (cmake --install),
#             bench/installed/CMakeLists.txt finding it with find_package, plain -O2, no -march,
#             no MINIDNN_ISA (the run-time choice); GCC, the system's c++
#   installed-clang  the same, compiled by clang++ -O2
#   avx512    minidnn built with default flags (no -march), MINIDNN_ISA=avx512
#   avx2      the same program, MINIDNN_ISA=avx2
#   baseline  the same program, MINIDNN_ISA=baseline
#   torch     PyTorch at its best (as scripts/compare_speed.sh runs it)
#   torch-avx2  PyTorch limited to AVX2 (DNNL_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2)
#   reference   any other seed_model_speed binary, $REFERENCE_BIN (e.g. main's -march=native
#               build, to check for a regression); add it to PATHS
# Prints the medians over the rounds and the ratios against PyTorch as a markdown table.
#
#   ROUNDS=2 MIN_TIME=1 scripts/compare_isa_speed.sh
#   PATHS="avx512 avx2" scripts/compare_isa_speed.sh      # fewer paths
# Paths the CPU lacks are left out. Raw results go to $OUT_DIR (default out/compare_isa_speed).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
BATCH=${BATCH:-256}
MIN_TIME=${MIN_TIME:-2}
PATHS=${PATHS:-native installed avx512 avx2 baseline torch torch-avx2}
MODES=${MODES:-train infer latency}
DEFAULT_BUILD=${DEFAULT_BUILD:-build-bench-default}
NATIVE_BUILD=${NATIVE_BUILD:-build-bench-native}
INSTALLED_BUILD=$(realpath -m "${INSTALLED_BUILD:-build-bench-installed}")
INSTALLED_CLANG_BUILD=$(realpath -m "${INSTALLED_CLANG_BUILD:-build-bench-installed-clang}")
OUT_DIR=${OUT_DIR:-out/compare_isa_speed}
PYTHON=${PYTHON:-/usr/bin/python3}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
if grep -qw avx512f /proc/cpuinfo; then OPENBLAS_BEST=SkylakeX; else OPENBLAS_BEST=Haswell; fi  # SkylakeX stops on an illegal instruction without AVX-512
JEMALLOC_CONF=thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1

build() {  # dir native(ON/OFF)
  if [[ ! -f $1/CMakeCache.txt ]]; then
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_BENCH=ON -DMINIDNN_BUILD_TESTS=OFF \
          -DMINIDNN_BUILD_EXAMPLES=OFF -DMINIDNN_WITH_CUDA=OFF -DMINIDNN_NATIVE="$2" >/dev/null
  fi
  cmake --build "$1" -j2 --target seed_model_speed >/dev/null
}
build_installed() {  # work-dir [compiler]: bench/installed against a scratch install, as a user builds
  cmake -DSOURCE_DIR="$PWD" -DPROGRAM_DIR="$PWD/bench/installed" -DWORK_DIR="$1" ${2:+-DCXX_COMPILER="$2"} \
        -P cmake/build_against_installed.cmake >/dev/null
}
flags=" $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
paths=()
for p in $PATHS; do
  case $p in
    avx512) has avx512f avx512bw avx512dq avx512vl || { echo "compare_isa_speed: no AVX-512 here, avx512 left out" >&2; continue; } ;;
    avx2|torch-avx2) has avx2 fma || { echo "compare_isa_speed: no AVX2 here, $p left out" >&2; continue; } ;;
    installed-clang) command -v clang++ >/dev/null || { echo "compare_isa_speed: no clang++ here, $p left out" >&2; continue; } ;;
  esac
  paths+=("$p")
done
# NATIVE_BIN / DEFAULT_BIN / INSTALLED_BIN / INSTALLED_CLANG_BIN: already built programs to time
# instead (nothing is built then).
if [[ -z ${NATIVE_BIN:-} && " ${paths[*]} " == *" native "* ]]; then build "$NATIVE_BUILD" ON; fi
if [[ -z ${DEFAULT_BIN:-} && ( " ${paths[*]} " == *" avx"* || " ${paths[*]} " == *" baseline "* ) ]]; then build "$DEFAULT_BUILD" OFF; fi
if [[ -z ${INSTALLED_BIN:-} && " ${paths[*]} " == *" installed "* ]]; then build_installed "$INSTALLED_BUILD"; fi
if [[ -z ${INSTALLED_CLANG_BIN:-} && " ${paths[*]} " == *" installed-clang "* ]]; then build_installed "$INSTALLED_CLANG_BUILD" clang++; fi
# The programs that run without MINIDNN_ISA, as a user runs them (the run-time choice).
declare -A automatic_bin=(
  [reference]=${REFERENCE_BIN:-}
  [native]=${NATIVE_BIN:-$NATIVE_BUILD/bench/seed_model_speed}
  [installed]=${INSTALLED_BIN:-$INSTALLED_BUILD/program-build/seed_model_speed}
  [installed-clang]=${INSTALLED_CLANG_BIN:-$INSTALLED_CLANG_BUILD/program-build/seed_model_speed})
[[ " ${paths[*]} " != *" reference "* || -n ${automatic_bin[reference]} ]] || { echo "compare_isa_speed: set REFERENCE_BIN for the reference path" >&2; exit 2; }
DEFAULT_BIN=${DEFAULT_BIN:-$DEFAULT_BUILD/bench/seed_model_speed}

run() {  # path mode
  local args=(--mode "$2" --threads "$THREADS" --batch "$BATCH" --min-time "$MIN_TIME")
  case $1 in
    reference|native|installed|installed-clang) env -u MINIDNN_ISA OMP_NUM_THREADS="$THREADS" "${automatic_bin[$1]}" "${args[@]}" ;;
    avx512|avx2|baseline) env MINIDNN_ISA="$1" OMP_NUM_THREADS="$THREADS" "$DEFAULT_BIN" "${args[@]}" ;;
    torch) env LD_PRELOAD="$JEMALLOC" MALLOC_CONF="$JEMALLOC_CONF" OPENBLAS_CORETYPE="$OPENBLAS_BEST" \
             "$PYTHON" bench/pytorch_seed_model.py "${args[@]}" ;;
    torch-avx2) env LD_PRELOAD="$JEMALLOC" MALLOC_CONF="$JEMALLOC_CONF" OPENBLAS_CORETYPE=Haswell \
                  DNNL_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 \
                  "$PYTHON" bench/pytorch_seed_model.py "${args[@]}" ;;
  esac
}

mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.jsonl
: >"$results"
{
  echo "date: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT_DIR/machine.txt"
for ((round = 1; round <= ROUNDS; ++round)); do
  order=("${paths[@]}")
  if ((round % 2 == 0)); then order=(); for ((i = ${#paths[@]} - 1; i >= 0; --i)); do order+=("${paths[i]}"); done; fi
  for mode in $MODES; do
    for p in "${order[@]}"; do
      line=$(run "$p" "$mode" | tail -1)
      line=${line%\}}", \"path\": \"$p\", \"round\": $round}"
      echo "$line" >>"$results"
      echo "round $round/$ROUNDS: $line" >&2
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT_DIR/machine.txt"

"$PYTHON" - "$results" "$OUT_DIR/machine.txt" <<'PY' | tee "$OUT_DIR/table.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
paths = list(dict.fromkeys(r["path"] for r in runs))
def ratio(path, ref, mode):
    # Median over rounds of the per-round ratio (runs of one round saw similar load).
    out = []
    for rnd in sorted({r["round"] for r in runs}):
        a = [r for r in runs if r["path"] == path and r["mode"] == mode and r["round"] == rnd]
        b = [r for r in runs if r["path"] == ref and r["mode"] == mode and r["round"] == rnd]
        if a and b:
            out.append(b[0]["ms_per_batch"] / a[0]["ms_per_batch"])  # >1: `path` faster
    return statistics.median(out) if out else None
def med(path, mode, key):
    v = [r[key] for r in runs if r["path"] == path and r["mode"] == mode]
    return statistics.median(v) if v else None
print("\n".join(open(sys.argv[2]).read().strip().splitlines()))
print(f"rounds: {max(r['round'] for r in runs)}, alternating; ratios are medians of per-round speed ratios\n")
modes = [m for m in ("train", "infer", "latency") if any(r["mode"] == m for r in runs)]
head = "| path |"
for m in modes:
    unit = "ms" if m == "latency" else "img/s"
    head += f" {m} {unit} | vs torch |" + (" vs torch-avx2 |" if "torch-avx2" in paths else "") + (" vs native |" if "native" in paths else "")
print(head)
print("|---|" + "---:|" * (head.count("|") - 2))
for p in paths:
    row = f"| {p} |"
    for m in modes:
        key = "ms_per_batch" if m == "latency" else "images_per_s"
        v = med(p, m, key)
        row += f" {v:.2f} |" if m == "latency" else f" {v:.0f} |"
        for ref, present in (("torch", True), ("torch-avx2", "torch-avx2" in paths), ("native", "native" in paths)):
            if not present:
                continue
            x = ratio(p, ref, m) if p != ref and ref in paths else None
            row += f" {x:.2f} |" if x else " |"
    print(row)
PY
