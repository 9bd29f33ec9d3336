#!/usr/bin/python3
"""PyTorch reference speed for the seed model (the Keras FER2013 tutorial CNN), mini-Xception and
the VGG-style network with BatchNorm.

Same network, loss and optimizer as include/minidnn/models/fer_tutorial.hpp (--model seed, the
default), models/mini_xception.hpp (--model mini_xception, 48x48) or models/vgg_bn.hpp
(--model vgg_bn, 44x44; both from tests/fixtures/torch_models.py, the fixture script's
definitions, with PyTorch's own symmetric max-pool padding in mini-Xception instead of a padded
copy for Keras's 'same'), configured as fast as PyTorch goes on this machine's CPU:

  * torch.set_num_threads(N) (--threads, else $MINIDNN_THREADS, else 2), one inter-op thread;
  * model and inputs in torch.channels_last (oneDNN's preferred layout for convolutions);
  * Debian's jemalloc preloaded, with transparent huge pages and no decay:

        LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
        MALLOC_CONF=thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1

    With glibc's malloc PyTorch returns its big activation/gradient buffers to the kernel after
    every step and page-faults them back in on the next one (up to 8x slower). If the variable is
    not set, this script re-executes itself with it (same process id, so /usr/bin/time still
    measures it); --no-jemalloc turns that off to show the difference.

Modes (--mode, default all):
  train    forward + backward + Adam step at --batch (256), model.train()
  infer    forward (with the final softmax) under torch.inference_mode, model.eval(), --batch
  latency  inference of one image on ONE thread (the --threads setting is ignored)

Each mode warms up, then times single iterations until --min-time seconds and --min-iters
iterations have passed, and prints one JSON line:

  {"impl": "pytorch", "model": "seed", "mode": "train", "batch": 256, "threads": 2, "iterations": 12,
   "ms_per_batch": 291.3, "images_per_s": 878.8, ...}

ms_per_batch is the median iteration; images_per_s = batch / median. --profile prints, instead,
a per-layer breakdown of one training step and one inference batch from torch.profiler.

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import os
import statistics
import sys
import time

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
JEMALLOC_CONF = "thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["seed", "mini_xception", "vgg_bn"], default="seed")
    p.add_argument("--mode", choices=["train", "infer", "latency", "all"], default="all")
    p.add_argument("--threads", type=int, default=int(os.environ.get("MINIDNN_THREADS", "2")))
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--min-time", type=float, default=3.0, help="seconds timed per mode (after warm-up)")
    p.add_argument("--min-iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    p.add_argument("--memory-format", choices=["channels_last", "contiguous"], default="channels_last")
    p.add_argument("--no-jemalloc", action="store_true", help="do not re-execute with jemalloc preloaded")
    p.add_argument("--profile", action="store_true", help="print a torch.profiler per-layer breakdown")
    return p.parse_args()


def ensure_jemalloc(args):
    """Re-executes this script with jemalloc preloaded unless it already is (or was refused)."""
    if args.no_jemalloc or "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    if not os.path.exists(JEMALLOC):
        print(f"warning: {JEMALLOC} not found (apt-get install libjemalloc2); PyTorch will be slower",
              file=sys.stderr)
        return
    env = dict(os.environ)
    env["LD_PRELOAD"] = (JEMALLOC + " " + env.get("LD_PRELOAD", "")).strip()
    env.setdefault("MALLOC_CONF", JEMALLOC_CONF)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def seed_model(nn):
    # Keras "valid" padding == PyTorch's default padding=0; Keras pools don't pad either.
    return nn.Sequential(
        nn.Conv2d(1, 64, 5), nn.ReLU(), nn.MaxPool2d(5, 2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.AvgPool2d(3, 2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 128, 3), nn.ReLU(), nn.AvgPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(128, 1024), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(1024, 7))


def build_model(name, nn):
    """The network without its final softmax (the loss applies it), and its input side."""
    if name == "seed":
        return seed_model(nn), 48
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    import torch_models
    if name == "mini_xception":
        return torch_models.mini_xception(keras_pool=False)[:-1], 48
    return torch_models.vgg_bn()[:-1], 44


def time_iterations(step, warmup, min_time, min_iters):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def report(mode, batch, threads, times, args):
    median = statistics.median(times)
    line = {
        "impl": "pytorch",
        "model": args.model,
        "mode": mode,
        "batch": batch,
        "threads": threads,
        "iterations": len(times),
        "ms_per_batch": round(median * 1e3, 4),
        "ms_min": round(min(times) * 1e3, 4),
        "images_per_s": round(batch / median, 2),
        "memory_format": args.memory_format,
        "allocator": "jemalloc" if "jemalloc" in os.environ.get("LD_PRELOAD", "") else "default",
        "torch": __import__("torch").__version__,
    }
    print(json.dumps(line), flush=True)


def main():
    args = parse_args()
    ensure_jemalloc(args)
    import torch
    import torch.nn as nn

    torch.manual_seed(1)
    torch.set_num_interop_threads(1)
    fmt = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    net, side = build_model(args.model, nn)
    model = net.to(memory_format=fmt)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def inputs(batch):
        x = torch.rand(batch, 1, side, side).contiguous(memory_format=fmt)
        y = torch.arange(batch) % 7
        return x, y

    def train_step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    def infer(x):
        with torch.inference_mode():
            return torch.softmax(model(x), dim=1)

    if args.profile:
        profile(torch, model, inputs, train_step, infer, args)
        return

    modes = ["train", "infer", "latency"] if args.mode == "all" else [args.mode]
    for mode in modes:
        threads = 1 if mode == "latency" else args.threads
        batch = 1 if mode == "latency" else args.batch
        torch.set_num_threads(threads)
        x, y = inputs(batch)
        if mode == "train":
            model.train()
            times = time_iterations(lambda: train_step(x, y), args.warmup, args.min_time, args.min_iters)
        else:
            model.eval()
            warmup = args.warmup if mode == "infer" else max(args.warmup, 20)
            times = time_iterations(lambda: infer(x), warmup, args.min_time, args.min_iters)
        report(mode, batch, threads, times, args)


# The profiler events that stand for a whole layer's forward or backward (their total CPU time,
# children included, so nothing is counted twice): the functional ops nn.Module.forward calls, and
# the autograd nodes backward runs.
LAYER_OF_EVENT = {
    "aten::conv2d": "Conv2D forward",
    "aten::relu": "ReLU forward",
    "aten::max_pool2d": "MaxPool2D forward",
    "aten::avg_pool2d": "AvgPool2D forward",
    "aten::flatten": "Flatten forward",
    "aten::linear": "Dense forward",
    "aten::dropout": "Dropout forward",
    "aten::softmax": "Softmax (+ loss) forward",
    "aten::cross_entropy_loss": "Softmax (+ loss) forward",
    "ConvolutionBackward0": "Conv2D backward",
    "ReluBackward0": "ReLU backward",
    "MaxPool2DWithIndicesBackward0": "MaxPool2D backward",
    "AvgPool2DBackward0": "AvgPool2D backward",
    "ViewBackward0": "Flatten backward",
    "ReshapeAliasBackward0": "Flatten backward",
    "AddmmBackward0": "Dense backward",
    "TBackward0": "Dense backward",
    "NativeDropoutBackward0": "Dropout backward",
    "MulBackward0": "Dropout backward",
    "LogSoftmaxBackward0": "Softmax (+ loss) backward",
    "NllLossBackward0": "Softmax (+ loss) backward",
    "torch::autograd::AccumulateGrad": "gradient accumulation",
    "Optimizer.step#Adam.step": "Adam step",
    "Optimizer.zero_grad#Adam.zero_grad": "Adam step",
}


def profile(torch, model, inputs, train_step, infer, args):
    """Prints the CPU time per layer type of a training step and an inference batch."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    torch.set_num_threads(args.threads)
    steps = max(args.min_iters, 3)
    for title, prepare, run in [
        ("training step", model.train, lambda x, y: train_step(x, y)),
        ("inference", model.eval, lambda x, y: infer(x)),
    ]:
        prepare()
        x, y = inputs(args.batch)
        for _ in range(args.warmup):
            run(x, y)
        start = time.perf_counter()
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                run(x, y)
        wall_ms = (time.perf_counter() - start) / steps * 1e3
        by_layer = {}
        for event in prof.key_averages():
            layer = LAYER_OF_EVENT.get(event.key)
            if layer:
                by_layer[layer] = by_layer.get(layer, 0.0) + event.cpu_time_total / 1e3 / steps
        print(f"## PyTorch {torch.__version__} {title}, batch {args.batch}, {args.threads} threads, "
              f"{args.memory_format}: {wall_ms:.1f} ms per step under the profiler")
        print("| layer type | ms per step | share of the step |")
        print("|---|---:|---:|")
        for layer, ms in sorted(by_layer.items(), key=lambda kv: -kv[1]):
            print(f"| {layer} | {ms:.2f} | {100 * ms / wall_ms:.1f}% |")
        rest = wall_ms - sum(by_layer.values())
        print(f"| rest (Python, autograd engine, profiler) | {rest:.2f} | {100 * rest / wall_ms:.1f}% |")
        print()


if __name__ == "__main__":
    main()
