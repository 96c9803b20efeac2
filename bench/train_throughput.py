"""DUF-16L training and inference speed, and the input pipeline as a ratio over training.

In one run (one process, alternating rounds, medians):
- training throughput, samples/s, DUF-16L x4, 7×32×32 LR, global batch 8, on one device,
  without and with XLA (``--jit``), on in-memory batches (compute only);
- input pipeline throughput, samples/s, ``training_stream`` (read + decode + augment, the
  exact training input) for TFRecord and Parquet, as a ratio over the training throughput
  (goal >= 10: the input is never what a step waits for);
- inference, frames/s, one 180×144 LR window -> 720×576, DUF-16L and the bicubic model.

    python bench/train_throughput.py [--rounds 3] [--steps 5]
"""

from __future__ import annotations

import argparse
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _common import OUT, alternate, clips, report

from vsrdata.preprocess.build import build
from vsrdata.preprocess.config import BuildConfig

BATCH, PATCH, SCALE = 8, 32, 4


def dataset() -> str:
    """A small x4 dataset of 32×32 LR crops in both formats (built once)."""
    out = OUT / "train-dataset"
    if not (out / "dataset.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        source = clips("train-clips", clips=6, seconds=3.0, size=(480, 270), seed=3)
        build(BuildConfig(source=str(source), out=str(out), split=(1.0, 0.0, 0.0), workers=1))
    return str(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    import tensorflow as tf

    from vsrdata.vsr_models.data import training_stream
    from vsrdata.vsr_models.distribute import DistributedStep, make_strategy
    from vsrdata.vsr_models.registry import build_model

    rng = np.random.default_rng(0)
    lr = tf.constant(rng.random((BATCH, 7, PATCH, PATCH, 3), dtype=np.float32))
    hr = tf.constant(rng.random((BATCH, PATCH * SCALE, PATCH * SCALE, 3), dtype=np.float32))
    steps = {
        jit: DistributedStep(make_strategy("one-device"), "duf-16l", SCALE, BATCH, jit=jit)
        for jit in (False, True)
    }
    for step in steps.values():  # trace and compile outside the timing
        step(lr, hr)
    path = dataset()
    streams = {
        fmt: iter(training_stream(path, BATCH, format=fmt)) for fmt in ("tfrecord", "parquet")
    }
    for stream in streams.values():  # start the pipelines (threads, buffers) untimed
        next(stream)
    window = tf.constant(rng.random((1, 7, 144, 180, 3), dtype=np.float32))
    models = {name: build_model(name, SCALE) for name in ("duf-16l", "bicubic")}
    infer = {n: tf.function(lambda x, m=m: m(x, training=False)) for n, m in models.items()}
    for fn in infer.values():
        fn(window)

    def train(jit: bool) -> int:
        for _ in range(args.steps):
            float(steps[jit](lr, hr))
        return args.steps * BATCH

    def read(fmt: str) -> int:
        for _ in range(25):
            next(streams[fmt])
        return 25 * BATCH

    def predict(name: str) -> int:
        for _ in range(3):
            infer[name](window).numpy()
        return 3

    cases = {
        "train, DUF-16L": lambda: train(False),
        "train, DUF-16L, XLA": lambda: train(True),
        "input, tfrecord": lambda: read("tfrecord"),
        "input, parquet": lambda: read("parquet"),
        "inference, DUF-16L": lambda: predict("duf-16l"),
        "inference, bicubic": lambda: predict("bicubic"),
    }
    seconds, counts = alternate(cases, args.rounds)
    rate = {name: counts[name] / seconds[name] for name in cases}
    base = rate["train, DUF-16L"]
    rows = [
        [name, "frames/s" if name.startswith("inference") else "samples/s", rate[name],
         rate[name] / base if name.startswith(("train", "input")) else "-"]
        for name in cases
    ]  # fmt: skip
    report(
        "Training and inference speed",
        ["case", "unit", "rate", "ratio to training (no XLA)"],
        rows,
        {"batch": BATCH, "patch": PATCH, "scale": SCALE, "rounds": args.rounds},
    )


if __name__ == "__main__":
    main()
