#!/usr/bin/python3
"""PyTorch reference speed of the layers bench/layers_bench.cpp times at mini-Xception's and the
VGG-style network's shapes: BatchNorm2d (training mode, eps 1e-3), the depthwise 3x3 convolution
(Conv2d(groups=C), padding 1, no bias) and the separable convolution (depthwise then a 1x1
Conv2d, no bias), forward and backward, at --batch (256), with the same names as
layers_bench's benchmarks ("xception/bn_16x44x44/forward", ...).

PyTorch at its best here, as in bench/pytorch_seed_model.py: torch.set_num_threads(--threads,
else $MINIDNN_THREADS, else 2), modules and inputs in channels_last, Debian's jemalloc preloaded
(the script re-executes itself with it unless --no-jemalloc). Forward runs under no_grad; backward
times y.backward(dy) alone (dx and the weight gradients, the graph built by an untimed forward,
gradients set to None in between). Prints one JSON line per benchmark:

  {"impl": "pytorch", "name": "xception/bn_16x44x44/forward", "ms": 3.1, "ms_min": 2.9,
   "iterations": 40, "bytes": 31719424, ...}

ms is the median iteration; bytes = input + output of the batch, once each (layers_bench's GB
counter). --filter REGEX picks benchmarks by name. Run with /usr/bin/python3.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_seed_model import ensure_jemalloc, time_iterations  # noqa: E402


def cases():
    """(name, module factory, input shape (C, H, W), output channels), as layers_bench.cpp lists them."""
    import torch.nn as nn
    out = []
    for model, shapes in (("xception", ((8, 46), (16, 44), (32, 22), (64, 11), (128, 6))),
                          ("vgg", ((32, 44), (64, 22), (128, 11), (256, 5)))):
        for c, side in shapes:
            out.append((f"{model}/bn_{c}x{side}x{side}", lambda c=c: nn.BatchNorm2d(c, eps=1e-3), (c, side, side), c))
    for c, side in ((8, 44), (16, 44), (16, 22), (32, 22), (32, 11), (64, 11), (64, 6), (128, 6)):
        out.append((f"xception/depthwise_{c}x{side}x{side}",
                    lambda c=c: nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), (c, side, side), c))
    for c, f, side in ((8, 16, 44), (16, 16, 44), (16, 32, 22), (32, 32, 22), (32, 64, 11), (64, 64, 11),
                       (64, 128, 6), (128, 128, 6)):
        out.append((f"xception/separable_{c}x{side}x{side}_to{f}",
                    lambda c=c, f=f: nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False),
                                                   nn.Conv2d(c, f, 1, bias=False)), (c, side, side), f))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=int(os.environ.get("MINIDNN_THREADS", "2")))
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--min-time", type=float, default=0.5, help="seconds timed per benchmark (after warm-up)")
    p.add_argument("--min-iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--filter", default="", help="regular expression on the benchmark names")
    p.add_argument("--memory-format", choices=["channels_last", "contiguous"], default="channels_last")
    p.add_argument("--no-jemalloc", action="store_true")
    args = p.parse_args()
    ensure_jemalloc(args)
    import torch

    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    fmt = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    pattern = re.compile(args.filter)
    for name, make, (c, h, w), f in cases():
        module = make().to(memory_format=fmt).train()
        x = torch.rand(args.batch, c, h, w).contiguous(memory_format=fmt) * 2 - 1
        dy = ((torch.rand(args.batch, f, h, w) * 2 - 1) * 1e-3).contiguous(memory_format=fmt)
        bytes_ = 4 * args.batch * h * w * (c + f)
        for pass_ in ("forward", "backward"):
            full = f"{name}/{pass_}"
            if not pattern.search(full):
                continue
            if pass_ == "forward":
                def step():
                    with torch.no_grad():
                        module(x)
            else:
                x.requires_grad_(True)
                state = {}

                def prepare():
                    module.zero_grad(set_to_none=True)
                    x.grad = None
                    state["y"] = module(x)

                def step():
                    state["y"].backward(dy)
            if pass_ == "forward":
                times = time_iterations(step, args.warmup, args.min_time, args.min_iters)
            else:
                for _ in range(args.warmup):
                    prepare()
                    step()
                times = []
                start = time.perf_counter()
                while len(times) < args.min_iters or time.perf_counter() - start < args.min_time:
                    prepare()
                    t0 = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t0)
                x.requires_grad_(False)
            print(json.dumps({"impl": "pytorch", "name": full, "ms": round(statistics.median(times) * 1e3, 4),
                              "ms_min": round(min(times) * 1e3, 4), "iterations": len(times), "bytes": bytes_,
                              "batch": args.batch, "threads": args.threads, "memory_format": args.memory_format,
                              "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
