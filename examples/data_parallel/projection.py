#!/usr/bin/env python3
"""Projects data-parallel images/s for 2-64 nodes from a ring-allreduce cost model (a projection,
not a measurement; docs/distributed.md says which measured numbers feed it).

A ring allreduce of S bytes over p nodes sends 2 (p - 1) messages of S / p bytes per node:
    T(p) = 2 (p - 1) * latency + 2 (p - 1) / p * S / bandwidth
Each node trains `per_node_batch` images per step in `step_seconds` (measured on one node, 1 rank x
2 threads, examples/data_parallel) and then waits T(p) (no overlap: what this machine showed;
with full overlap the step would take max(step, T) instead, the second figure).
Usage: projection.py  (edit MODELS with your own measurements)
"""

# model: (gradient bytes, per-node batch, measured seconds per step of that batch on one node)
MODELS = {
    "seed (tutorial CNN)": (1485831 * 4, 64, 64 / 257.7),
    "VGG-BN": (1436839 * 4, 64, 64 / 51.1),
}
NETWORKS = {"10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}
LATENCY = 30e-6  # seconds per message: a TCP round on Ethernet (assumed, not measured here)

print("| model | network | " + " | ".join(f"{p} nodes" for p in (2, 4, 8, 16, 32, 64)) + " |")
print("| --- | --- | " + " | ".join("---" for _ in range(6)) + " |")
for name, (size, batch, step) in MODELS.items():
    for net, bandwidth in NETWORKS.items():
        cells = []
        for p in (2, 4, 8, 16, 32, 64):
            t = 2 * (p - 1) * LATENCY + 2 * (p - 1) / p * size / bandwidth
            cells.append(f"{p * batch / (step + t):,.0f} ({p * batch / max(step, t):,.0f})")
        print(f"| {name} | {net} | " + " | ".join(cells) + " |")
print(f"\n1 node: " + ", ".join(f"{n} {b / s:,.0f} images/s" for n, (_, b, s) in MODELS.items()))
