# The environment shared by the scripts that time minidnn against PyTorch (compare_speed.sh,
# compare_layer_speed.sh); sourced, not run. It sets PYTHON (default /usr/bin/python3) and
# BUILD_DIR (default build-bench), and gives:
#   bench_require NAME TOOL...    exits unless each TOOL and Debian's jemalloc are there
#   bench_build TARGET            builds bench/TARGET in $BUILD_DIR (Release, default flags: the
#                                 kernels pick the CPU's best instruction set at run time)
#   bench_machine_start DIR LINE...  writes DIR/machine.txt: date, the LINEs, commit, cpu, load
#   bench_machine_end DIR         adds the load after the run to DIR/machine.txt
#   torch_at_best COMMAND...      runs COMMAND as PyTorch runs fastest here: Debian's jemalloc
#                                 preloaded (see bench/pytorch_seed_model.py for why) and
#                                 OPENBLAS_CORETYPE=$OPENBLAS_BEST for its dense layers
#   OPENBLAS_BEST                 SkylakeX where the CPU has AVX-512 (an environment's Haswell
#                                 setting halves OpenBLAS there), else Haswell (AVX2; what
#                                 OpenBLAS picks itself for Zen, and SkylakeX would stop on an
#                                 illegal instruction)
PYTHON=${PYTHON:-/usr/bin/python3}
BUILD_DIR=${BUILD_DIR:-build-bench}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
JEMALLOC_CONF=thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1
if grep -qw avx512f /proc/cpuinfo; then OPENBLAS_BEST=SkylakeX; else OPENBLAS_BEST=Haswell; fi

bench_require() {  # name tool...
  local name=$1 tool
  shift
  for tool in "$@"; do
    [[ -x $tool ]] || { echo "$name: $tool is missing (apt-get install time python3-torch)" >&2; exit 1; }
  done
  [[ -f $JEMALLOC ]] || { echo "$name: $JEMALLOC is missing (apt-get install libjemalloc2)" >&2; exit 1; }
}

bench_build() {  # target
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMINIDNN_BUILD_BENCH=ON \
          -DMINIDNN_BUILD_TESTS=OFF -DMINIDNN_BUILD_EXAMPLES=OFF >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j2 --target "$1" >/dev/null
}

bench_machine_start() {  # dir line...
  local dir=$1
  shift
  mkdir -p "$dir"
  {
    echo "date: $(date -u +%FT%TZ)"
    (($#)) && printf '%s\n' "$@"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$dir/machine.txt"
}

bench_machine_end() {  # dir
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$1/machine.txt"
}

torch_at_best() {  # command...
  env LD_PRELOAD="$JEMALLOC" MALLOC_CONF="$JEMALLOC_CONF" OPENBLAS_CORETYPE="$OPENBLAS_BEST" "$@"
}
