#!/usr/bin/env python3
"""Runs gemm_bench for ours / OpenBLAS / Eigen in alternation and prints a Markdown table of the
median GFLOP/s per shape with the ratios ours/OpenBLAS and ours/Eigen.

The machine is shared, so each implementation is run in its own process (no thread pools left
spinning from another library), `--rounds` times in alternation, each time with
`--benchmark_repetitions`; the table shows the median over every repetition of every round.

    python3 bench/gemm_compare.py build/bench/gemm_bench [--filter REGEX] [--rounds 3]

OpenBLAS runs with OPENBLAS_CORETYPE=SkylakeX on an AVX-512 CPU, Haswell elsewhere (--coretype),
overriding the environment: an environment that sets Haswell on an AVX-512 machine halves it.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

IMPLS = ["ours", "openblas", "eigen"]


def best_coretype():
    """SkylakeX where the CPU has AVX-512; Haswell (AVX2) elsewhere, where SkylakeX would stop."""
    with open("/proc/cpuinfo") as cpuinfo:
        return "SkylakeX" if " avx512f" in cpuinfo.read() else "Haswell"


def run(binary, impl, name_filter, repetitions, min_time, coretype):
    env = dict(os.environ)
    env["OPENBLAS_CORETYPE"] = coretype
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [binary, f"--benchmark_filter=^{impl}/({name_filter})",
             f"--benchmark_repetitions={repetitions}", f"--benchmark_min_time={min_time}",
             f"--benchmark_out={out.name}", "--benchmark_out_format=json"],
            env=env, check=True, stdout=subprocess.DEVNULL)
        data = json.load(open(out.name))
    results = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        shape = b["run_name"].split("/", 1)[1].replace("/real_time", "")
        results.setdefault(shape, []).append(b["GFLOP/s"] / 1e9)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--filter", default=".*")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--min-time", default="0.1")
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--coretype", default=best_coretype())
    args = parser.parse_args()
    impls = args.impls.split(",")

    samples = {impl: {} for impl in impls}
    order = []
    for _ in range(args.rounds):
        for impl in impls:
            for shape, values in run(args.binary, impl, args.filter, args.repetitions,
                                     args.min_time, args.coretype).items():
                samples[impl].setdefault(shape, []).extend(values)
                if shape not in order:
                    order.append(shape)

    def median(impl, shape):
        values = samples.get(impl, {}).get(shape)
        return statistics.median(values) if values else None

    header = "| shape (m x n x k, op, threads) | " + " | ".join(impls)
    if "openblas" in impls:
        header += " | ours/OpenBLAS"
    if "eigen" in impls:
        header += " | ours/Eigen"
    print(header + " |")
    print("|" + "---|" * (header.count("|")))
    for shape in order:
        cells = [median(impl, shape) for impl in impls]
        row = f"| {shape} | " + " | ".join("-" if v is None else f"{v:.1f}" for v in cells)
        ours = median("ours", shape)
        for ref in ("openblas", "eigen"):
            if ref in impls:
                r = median(ref, shape)
                row += " | " + (f"{ours / r:.2f}" if ours and r else "-")
        print(row + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
