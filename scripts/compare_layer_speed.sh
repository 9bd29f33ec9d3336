#!/usr/bin/env bash
# Side-by-side speed of BatchNormalization, DepthwiseConv2D and SeparableConv2D at the shapes of
# mini-Xception and of the VGG-style network: minidnn (bench/layers_bench.cpp, Google Benchmark)
# against PyTorch (bench/pytorch_layers.py) on the same cores, run ALTERNATELY (the order flips
# every round) so that a noisy machine slows both alike. Prints, per benchmark, the medians over
# the rounds, the median of the per-round ratios with its min-max, and GB/s (input + output of the
# batch, once each) as a markdown table.
#
#   scripts/compare_layer_speed.sh                      # 3 rounds, 2 threads, batch 256
#   ROUNDS=5 FILTER='depthwise' scripts/compare_layer_speed.sh
#   TABLE_ONLY=1 scripts/compare_layer_speed.sh         # re-print the last run's table
#
# minidnn runs with OMP_NUM_THREADS; PyTorch as fast as it goes here: torch.set_num_threads,
# channels_last, Debian's jemalloc preloaded, OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512). Needs: cmake, g++,
# libbenchmark-dev, python3-torch, libjemalloc2 (Debian packages). Raw results: $OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
MIN_TIME=${MIN_TIME:-0.5}
FILTER=${FILTER:-}
OUT_DIR=${OUT_DIR:-out/compare_layer_speed}
source scripts/bench_env.sh  # PYTHON, BUILD_DIR, the build, machine.txt, torch_at_best
bench_require compare_layer_speed "$PYTHON"

if [[ ${TABLE_ONLY:-0} != 1 ]]; then
bench_build layers_bench
OURS=$BUILD_DIR/bench/layers_bench

results=$OUT_DIR/results.jsonl
bench_machine_start "$OUT_DIR"
: >"$results"

# Only the mini-Xception / VGG benchmarks (the seed model's layers are not in PyTorch's script).
ours_filter="^(xception|vgg)/.*${FILTER}"
run_ours() {  # round
  env OMP_NUM_THREADS="$THREADS" "$OURS" --benchmark_filter="$ours_filter" --benchmark_min_time="$MIN_TIME" \
    --benchmark_format=json 2>/dev/null |
    "$PYTHON" -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    name = b["name"].removesuffix("/real_time")
    print(json.dumps({"impl": "minidnn", "name": name, "ms": b["real_time"], "round": int(sys.argv[1])}))' "$1"
}
run_torch() {  # round
  torch_at_best "$PYTHON" bench/pytorch_layers.py --threads "$THREADS" --min-time "$MIN_TIME" --filter "$FILTER" |
    sed "s/}\$/, \"round\": $1}/"
}
for ((round = 1; round <= ROUNDS; ++round)); do
  if ((round % 2)); then order="ours torch"; else order="torch ours"; fi
  for impl in $order; do
    echo "round $round/$ROUNDS: $impl" >&2
    run_"$impl" "$round" >>"$results"
  done
done
bench_machine_end "$OUT_DIR"
fi
results=$OUT_DIR/results.jsonl

"$PYTHON" - "$results" "$OUT_DIR/machine.txt" <<'PY' | tee "$OUT_DIR/table.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
torch_bytes = {r["name"]: r["bytes"] for r in runs if r["impl"] == "pytorch"}
print("\n".join(open(sys.argv[2]).read().strip().splitlines()))
print(f"rounds: {max(r['round'] for r in runs)} (alternating), batch 256\n")
print("| benchmark | minidnn ms (median) | PyTorch ms (median) | speed ours/PyTorch: median of per-round ratios (min-max) | minidnn GB/s | PyTorch GB/s |")
print("|---|---:|---:|---:|---:|---:|")
names = []
for r in runs:
    if r["impl"] == "minidnn" and r["name"] not in names:
        names.append(r["name"])
for name in names:
    ours = {r["round"]: r["ms"] for r in runs if r["impl"] == "minidnn" and r["name"] == name}
    torch = {r["round"]: r["ms"] for r in runs if r["impl"] == "pytorch" and r["name"] == name}
    common = sorted(set(ours) & set(torch))
    if not common:
        continue
    ratios = [torch[k] / ours[k] for k in common]
    o, t = statistics.median(ours.values()), statistics.median(torch.values())
    gb = torch_bytes[name] * 1e-9
    print(f"| {name} | {o:.2f} | {t:.2f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
          f"{gb / (o * 1e-3):.1f} | {gb / (t * 1e-3):.1f} |")
PY
