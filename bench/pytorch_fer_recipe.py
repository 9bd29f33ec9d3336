#!/usr/bin/python3
"""The VGG-BN recipe of issue #19 in PyTorch, for learning parity and time-to-accuracy against
`fer train` (docs/results.md has our command; this script mirrors it choice by choice).

  model     tests/fixtures/torch_models.py's vgg_bn() (the network of include/minidnn/models/
            vgg_bn.hpp, 1,436,839 parameters) with our initialisation: Glorot-uniform kernels,
            zero biases, BatchNorm gamma 1 / beta 0 and Keras's momentum 0.99 (PyTorch 0.01)
  data      FER2013's Training rows to train, PublicTest to test, grey levels / 255
  augment   a random 44x44 window of the 48x48 face (offsets uniform in 0..4) and a horizontal
            flip with probability 0.5, drawn per image; the centre window to test
  optimizer SGD, Nesterov momentum 0.9, L2 weight decay 5e-4 on every parameter, batch 128
            (the last batch of an epoch is the remainder, as ours)
  schedule  OneCycleLR to --lr (0.05) with 15% warm-up, cosine, div 25 / final div 1e4, stepped
            per batch, momentum not cycled (include/minidnn/optim/one_cycle.hpp)
  loss      cross-entropy of the logits (our Softmax + categorical cross-entropy)

After every epoch it prints one JSON line (epoch, training loss and accuracy, PublicTest loss and
accuracy on the centre crop, seconds since the start of training) and, at the end, PublicTest with
ten-crop test-time augmentation (the four corners and the centre, each also mirrored, softmax
probabilities averaged) and the first epoch whose PublicTest accuracy reached --target (0.65):
time to accuracy is that epoch's seconds. Epochs' times exclude the PublicTest evaluations, as our
history CSV's seconds column does.

PyTorch is set up at its best as bench/pytorch_seed_model.py describes (threads, channels_last,
jemalloc re-exec), with OPENBLAS_CORETYPE=SkylakeX on an AVX-512 CPU (Haswell elsewhere).
Run with Debian's /usr/bin/python3:

    /usr/bin/python3 bench/pytorch_fer_recipe.py --data ../shared/data/fer2013/fer2013.csv.gz \
        --epochs 30 --threads 2 --history out/pytorch_vgg_bn.csv
"""
import argparse
import csv
import gzip
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_seed_model  # noqa: E402  (ensure_jemalloc, build_model)

CROP, SIDE = 44, 48


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="fer2013.csv or fer2013.csv.gz")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05, help="one-cycle peak rate")
    p.add_argument("--warmup", type=float, default=0.15, help="fraction of the steps warming up")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=int(os.environ.get("MINIDNN_THREADS", "2")))
    p.add_argument("--target", type=float, default=0.65, help="PublicTest accuracy for time-to-accuracy")
    p.add_argument("--train-rows", type=int, default=0, help="use only the first N Training rows (smoke tests)")
    p.add_argument("--history", help="write the per-epoch figures as CSV here")
    p.add_argument("--no-jemalloc", action="store_true", help="do not re-execute with jemalloc preloaded")
    return p.parse_args()


def read_fer2013(path):
    """{usage: (images uint8 (N, 48, 48), labels int64 (N,))}, with the row number in errors."""
    opener = gzip.open if path.endswith(".gz") else open
    rows = {}
    with opener(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["emotion", "pixels", "Usage"]:
            sys.exit(f"{path}: line 1: expected the header emotion,pixels,Usage, got {header}")
        for line, row in enumerate(reader, start=2):
            try:
                label, pixels = int(row[0]), np.array(row[1].split(), dtype=np.int64)
                if not 0 <= label <= 6 or pixels.size != SIDE * SIDE or pixels.min() < 0 or pixels.max() > 255:
                    raise ValueError("emotion outside 0-6 or not 2304 grey levels 0-255")
            except (ValueError, IndexError) as e:
                sys.exit(f"{path}: line {line}: {e}")
            images, labels = rows.setdefault(row[2], ([], []))
            images.append(pixels.astype(np.uint8).reshape(SIDE, SIDE))
            labels.append(label)
    return {usage: (np.stack(images), np.array(labels, dtype=np.int64)) for usage, (images, labels) in rows.items()}


def best_coretype():
    """OpenBLAS's best kernels: SkylakeX with AVX-512; Haswell elsewhere, where SkylakeX would stop."""
    with open("/proc/cpuinfo") as cpuinfo:
        return "SkylakeX" if " avx512f" in cpuinfo.read() else "Haswell"


def glorot_init(torch, model):
    """Our initialisation (Keras's defaults): Glorot-uniform kernels, zero biases, BN momentum 0.99."""
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 0.01


def random_crops_and_flips(images, rng):
    """(N, 48, 48) uint8 -> (N, 1, 44, 44) float32 in [0, 1], a random window and flip per image."""
    n = len(images)
    tops, lefts = rng.integers(0, SIDE - CROP + 1, n), rng.integers(0, SIDE - CROP + 1, n)
    flips = rng.random(n) < 0.5
    out = np.empty((n, 1, CROP, CROP), dtype=np.float32)
    for i in range(n):
        window = images[i, tops[i]:tops[i] + CROP, lefts[i]:lefts[i] + CROP]
        out[i, 0] = window[:, ::-1] if flips[i] else window
    return out / 255.0


def ten_crop_windows():
    """(top, left, mirrored) of ten-crop TTA, as include/minidnn/ops/augment/crop.hpp."""
    edge, centre = SIDE - CROP, (SIDE - CROP) // 2
    five = [(0, 0), (0, edge), (edge, 0), (edge, edge), (centre, centre)]
    return [(t, l, False) for t, l in five] + [(t, l, True) for t, l in five]


def evaluate(torch, model, images, labels, windows, batch=512):
    """Loss and accuracy of the softmax probabilities averaged over `windows`."""
    model.eval()
    probabilities = np.zeros((len(images), 7), dtype=np.float64)
    with torch.inference_mode():
        for top, left, mirrored in windows:
            crops = images[:, top:top + CROP, left:left + CROP]
            if mirrored:
                crops = crops[:, :, ::-1]
            x = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)[:, None] / 255.0)
            for s in range(0, len(x), batch):
                xb = x[s:s + batch].contiguous(memory_format=torch.channels_last)
                probabilities[s:s + batch] += torch.softmax(model(xb), dim=1).double().numpy()
    probabilities /= len(windows)
    picked = probabilities[np.arange(len(labels)), labels]
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    return loss, float((probabilities.argmax(axis=1) == labels).mean())


def main():
    args = parse_args()
    os.environ.setdefault("OPENBLAS_CORETYPE", best_coretype())
    pytorch_seed_model.ensure_jemalloc(args)
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    sets = read_fer2013(args.data)
    for usage in ("Training", "PublicTest"):
        if usage not in sets:
            sys.exit(f"{args.data}: no {usage} rows")
    train_images, train_labels = sets["Training"]
    if args.train_rows:
        train_images, train_labels = train_images[:args.train_rows], train_labels[:args.train_rows]
    test_images, test_labels = sets["PublicTest"]

    model, side = pytorch_seed_model.build_model("vgg_bn", torch.nn)
    assert side == CROP
    glorot_init(torch, model)
    model = model.to(memory_format=torch.channels_last)
    parameters = sum(p.numel() for p in model.parameters())
    steps_per_epoch = (len(train_images) + args.batch - 1) // args.batch
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, nesterov=True,
                                weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=args.warmup,
        anneal_strategy="cos", cycle_momentum=False, div_factor=25.0, final_div_factor=1e4)
    loss_fn = torch.nn.CrossEntropyLoss()
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "parameters": parameters,
                      "train_rows": len(train_images), "test_rows": len(test_images), "threads": args.threads,
                      "allocator": "jemalloc" if "jemalloc" in os.environ.get("LD_PRELOAD", "") else "default"}),
          flush=True)

    history, reached = [], None
    training_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = rng.permutation(len(train_images))
        loss_sum, correct = 0.0, 0
        for s in range(0, len(order), args.batch):
            rows = order[s:s + args.batch]
            x = torch.from_numpy(random_crops_and_flips(train_images[rows], rng)).contiguous(
                memory_format=torch.channels_last)
            y = torch.from_numpy(train_labels[rows])
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += float(loss) * len(rows)
            correct += int((logits.argmax(dim=1) == y).sum())
        training_seconds += time.perf_counter() - start
        test_loss, test_accuracy = evaluate(torch, model, test_images, test_labels, [(2, 2, False)])
        row = {"epoch": epoch, "loss": loss_sum / len(order), "accuracy": correct / len(order),
               "test_loss": test_loss, "test_accuracy": test_accuracy, "seconds": round(training_seconds, 2)}
        history.append(row)
        print(json.dumps(row), flush=True)
        if reached is None and test_accuracy >= args.target:
            reached = row

    ten_loss, ten_accuracy = evaluate(torch, model, test_images, test_labels, ten_crop_windows())
    print(json.dumps({"final_test_accuracy": history[-1]["test_accuracy"], "ten_crop_test_accuracy": ten_accuracy,
                      "ten_crop_test_loss": ten_loss, "training_seconds": round(training_seconds, 2),
                      "target": args.target, "epoch_reaching_target": reached and reached["epoch"],
                      "seconds_to_target": reached and reached["seconds"]}), flush=True)
    if args.history:
        with open(args.history, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)


if __name__ == "__main__":
    main()
