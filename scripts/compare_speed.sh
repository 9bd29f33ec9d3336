#!/usr/bin/env bash
# Side-by-side speed of the seed model (or of $MODEL: mini_xception, vgg_bn): minidnn (bench/seed_model_speed.cpp) against PyTorch
# (bench/pytorch_seed_model.py) on the same cores, run ALTERNATELY so that a noisy machine slows
# both alike: each round runs both for each mode, the order flipping every round. Prints the
# medians over the rounds and their ratio as a markdown table, plus each training run's peak
# resident memory (/usr/bin/time -v).
#
#   scripts/compare_speed.sh                 # 5 rounds, 2 threads, batch 256
#   MODEL=mini_xception scripts/compare_speed.sh   # or MODEL=vgg_bn (results: out/compare_speed_$MODEL)
#   ROUNDS=3 THREADS=2 MIN_TIME=3 scripts/compare_speed.sh
#   TABLE_ONLY=1 scripts/compare_speed.sh    # only re-print the table of the last run's results
#
# Modes: training step (forward + backward + Adam) and inference at batch $BATCH on $THREADS
# threads; one-image latency on 1 thread. minidnn runs in a plain environment with
# OMP_NUM_THREADS; PyTorch runs as fast as it goes here: torch.set_num_threads, channels_last,
# Debian's jemalloc preloaded (see bench/pytorch_seed_model.py for why) and OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512)
# for its dense layers (the environment's Haswell setting halves OpenBLAS here).
# Needs: cmake, g++, Google Benchmark headers (libbenchmark-dev), python3-torch, libjemalloc2,
# time (Debian packages). Raw results go to $OUT_DIR (default out/compare_speed).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-seed}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
BATCH=${BATCH:-256}
MIN_TIME=${MIN_TIME:-3}
if [[ $MODEL == seed ]]; then OUT_DIR=${OUT_DIR:-out/compare_speed}; else OUT_DIR=${OUT_DIR:-out/compare_speed_$MODEL}; fi
source scripts/bench_env.sh  # PYTHON, BUILD_DIR, the build, machine.txt, torch_at_best
bench_require compare_speed /usr/bin/time "$PYTHON"

if [[ ${TABLE_ONLY:-0} != 1 ]]; then
# Our timing program, built if needed (scripts/compare_isa_speed.sh compares the instruction-set
# paths and -march=native).
bench_build seed_model_speed
OURS=$BUILD_DIR/bench/seed_model_speed

results=$OUT_DIR/results.jsonl
bench_machine_start "$OUT_DIR" "model: $MODEL"
: >"$results"

run_ours() {  # mode rss_file
  env OMP_NUM_THREADS="$THREADS" /usr/bin/time -v -o "$2" \
    "$OURS" --model "$MODEL" --mode "$1" --threads "$THREADS" --batch "$BATCH" --min-time "$MIN_TIME"
}
run_torch() {  # mode rss_file
  torch_at_best /usr/bin/time -v -o "$2" \
    "$PYTHON" bench/pytorch_seed_model.py --model "$MODEL" --mode "$1" --threads "$THREADS" --batch "$BATCH" --min-time "$MIN_TIME"
}
peak_rss_kb() { sed -n 's/.*Maximum resident set size (kbytes): *//p' "$1"; }

for ((round = 1; round <= ROUNDS; ++round)); do
  if ((round % 2)); then order="ours torch"; else order="torch ours"; fi
  for mode in train infer latency; do
    for impl in $order; do
      rss=$OUT_DIR/rss_${impl}_${mode}_${round}.txt
      line=$(run_"$impl" "$mode" "$rss")
      line=${line%\}}", \"round\": $round, \"peak_rss_kb\": $(peak_rss_kb "$rss")}"
      echo "$line" >>"$results"
      echo "round $round/$ROUNDS: $line" >&2
    done
  done
done
bench_machine_end "$OUT_DIR"
fi
results=$OUT_DIR/results.jsonl

"$PYTHON" - "$results" "$OUT_DIR/machine.txt" <<'PY' | tee "$OUT_DIR/table.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pick(impl, mode, key):
    return [r[key] for r in runs if r["impl"] == impl and r["mode"] == mode]
def med(impl, mode, key):
    return statistics.median(pick(impl, mode, key))
def paired(mode, key, invert=False):
    # Median over rounds of the ratio within each round: runs of one round saw similar load.
    ratios = []
    for rnd in sorted({x["round"] for x in runs}):
        o = [x[key] for x in runs if x["impl"] == "minidnn" and x["mode"] == mode and x["round"] == rnd]
        t = [x[key] for x in runs if x["impl"] == "pytorch" and x["mode"] == mode and x["round"] == rnd]
        if o and t:
            ratios.append(t[0] / o[0] if invert else o[0] / t[0])
    return statistics.median(ratios)
def best(impl, mode):
    # The fastest single iteration of all rounds: the figure least disturbed by other load.
    return min(pick(impl, mode, "ms_min"))
def spread(impl, mode, key):
    v = pick(impl, mode, key)
    return f"{min(v):.0f}–{max(v):.0f}" if key == "images_per_s" else f"{min(v):.2f}–{max(v):.2f}"
r = {m: next(x for x in runs if x["mode"] == m) for m in ("train", "infer", "latency")}
rounds = max(x["round"] for x in runs)
print("\n".join(open(sys.argv[2]).read().strip().splitlines()))
print(f"rounds: {rounds} (alternating), torch {next(x['torch'] for x in runs if x['impl'] == 'pytorch')}\n")
print("| measure | minidnn (median) | PyTorch (median) | speed ours/PyTorch (ratio of medians) | median of per-round ratios | minidnn range | PyTorch range | fastest iteration ours / PyTorch | speed ratio of fastest |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for mode, title in (("train", f"training images/s, batch {r['train']['batch']}, {r['train']['threads']} threads"),
                    ("infer", f"inference images/s, batch {r['infer']['batch']}, {r['infer']['threads']} threads")):
    o, t = med("minidnn", mode, "images_per_s"), med("pytorch", mode, "images_per_s")
    print(f"| {title} | {o:.0f} | {t:.0f} | {o / t:.2f} | {paired(mode, 'images_per_s'):.2f} | {spread('minidnn', mode, 'images_per_s')} | {spread('pytorch', mode, 'images_per_s')} | {r[mode]['batch'] / best('minidnn', mode) * 1e3:.0f} / {r[mode]['batch'] / best('pytorch', mode) * 1e3:.0f} | {best('pytorch', mode) / best('minidnn', mode):.2f} |")
o, t = med("minidnn", "latency", "ms_per_batch"), med("pytorch", "latency", "ms_per_batch")
print(f"| latency ms, batch 1, 1 thread | {o:.2f} | {t:.2f} | {t / o:.2f} | {paired('latency', 'ms_per_batch', invert=True):.2f} | {spread('minidnn', 'latency', 'ms_per_batch')} | {spread('pytorch', 'latency', 'ms_per_batch')} | {best('minidnn', 'latency'):.2f} / {best('pytorch', 'latency'):.2f} | {best('pytorch', 'latency') / best('minidnn', 'latency'):.2f} |")
o, t = med("minidnn", "train", "peak_rss_kb") / 1024, med("pytorch", "train", "peak_rss_kb") / 1024
print(f"| peak resident memory of a training run, MiB | {o:.0f} | {t:.0f} | {t / o:.2f} (PyTorch/ours) | | | | | |")
PY
