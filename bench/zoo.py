"""The model zoo in one table, in one run on one machine, and the source projects' questions.

For every trainable model (``--models`` to choose):
- parameters (trainable, at ×4) and GFLOPs per 720×576 output frame (TensorFlow's profiler on
  the frozen inference graph: 2 per multiply-add);
- training samples/s: the model's own training step, global batch 4 of 32×32 LR patches,
  one device, in-memory batches (compute only), median of ``--rounds``;
- inference frames/s: one 180×144 LR window -> 720×576, whole frame, median of ``--rounds``;
- the PSNR-Y gain over bicubic on the held-out test clips of the ``make demo`` dataset after
  the same wall-clock training budget (``--budget``, ``--time-budget`` of ``vsrdata train``,
  preset ``cpu-quick`` with the model's own loss), scored like ``vsrdata eval``.

``--study losses`` trains the temporal SRCNN with MSE, 1/PSNR and DSSIM (Adam) and with
Adam, AdamW, Adagrad and SGD (MSE); ``--study vdsr`` trains VDSR at depth 12/18/24/30 with
and without batch norm; each under the same budget, scored the same way.

    python bench/zoo.py [--budget 60] [--rounds 3] [--models a,b] [--study zoo|losses|vdsr]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _common import OUT, clips, gflops, report

BATCH, PATCH, SCALE = 4, 32, 4
FRAME = (144, 180)  # LR; 576×720 out at ×4


def demo_dataset() -> str:
    """The ``make demo`` dataset (the same clips and build options), built once."""
    from vsrdata.preprocess.build import build
    from vsrdata.preprocess.config import BuildConfig

    out = OUT / "zoo-dataset"
    if not (out / "dataset.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        source = clips("demo-clips", clips=16, seconds=2.0, size=(320, 180), seed=0)
        build(BuildConfig(source=str(source), out=str(out), split=(0.5, 0.25, 0.25),
                          stratify=True, test_stride=6, group_size=2))  # fmt: skip
    return str(out)


def speeds(name: str, rounds: int) -> tuple[int, float, float, float]:
    """(parameters, GFLOPs per output frame, training samples/s, inference frames/s)."""
    from vsrdata.vsr_models.registry import spec

    model, train, infer = rates(name, rounds)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return params, gflops(model, [1, spec(name).window(), *FRAME, 3]), train, infer


def rates(name: str, rounds: int, frame: tuple[int, int] = FRAME) -> tuple[Any, float, float]:
    """(the model, training samples/s, inference frames/s on one ``frame``-sized LR window)."""
    import tensorflow as tf

    from vsrdata.evaluate.infer import KerasUpscaler
    from vsrdata.vsr_models.config import Optimization
    from vsrdata.vsr_models.distribute import DistributedStep, make_strategy
    from vsrdata.vsr_models.registry import spec

    model_spec = spec(name)
    frames = model_spec.window()
    step = DistributedStep(make_strategy("one-device"), name, SCALE, BATCH,
                           optimization=Optimization(own_loss(name)),
                           hr_patch=PATCH * SCALE)  # fmt: skip
    rng = np.random.default_rng(0)
    lr = tf.constant(rng.random((BATCH, frames, PATCH, PATCH, 3), dtype=np.float32))
    hr = tf.constant(rng.random((BATCH, PATCH * SCALE, PATCH * SCALE, 3), dtype=np.float32))
    step(lr, hr)  # trace
    train = []
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(3):
            float(step(lr, hr))
        train.append(3 * BATCH / (time.perf_counter() - began))
    upscaler = KerasUpscaler(step.model, name=name, reuse=False)  # one window, again
    window = rng.integers(0, 256, (frames, *frame, 3), dtype=np.uint8)
    upscaler(window)  # trace
    infer = []
    for _ in range(rounds):
        began = time.perf_counter()
        upscaler(window)
        infer.append(1.0 / (time.perf_counter() - began))
    return step.model, statistics.median(train), statistics.median(infer)


def own_loss(name: str) -> str:
    """The model's recipe's loss; SRGAN's VGG19 loss needs ImageNet weights this machine
    cannot download, so SRGAN trains as the paper's SRGAN-MSE (MSE + the adversarial loss)."""
    from vsrdata.vsr_models.registry import spec

    recipe = spec(name).recipe
    loss = recipe.loss if recipe else "huber"
    return "mse" if loss == "vgg54" else loss


def gain_after(name: str, budget: float, dataset: str, tag: str = "", **options: Any) -> float:
    """PSNR-Y gain (dB) over bicubic on the test clips after ``budget`` seconds of training."""
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.run import EvalConfig, evaluate
    from vsrdata.vsr_models.config import TrainConfig
    from vsrdata.vsr_models.train import train

    run = OUT / "zoo-runs" / f"{name}{tag}"
    shutil.rmtree(run, ignore_errors=True)
    config = TrainConfig.from_options(
        "cpu-quick", dataset=dataset, out=str(run), model=name, steps=10**9,
        time_budget=budget, **{"loss": own_loss(name), **options},
    )  # fmt: skip
    train(config)
    best = run / "best.keras"
    doc = evaluate(EvalConfig(dataset=dataset, models=(str(best),)), make_protocol("duf"))
    overall = doc["overall"]
    column = doc["models"][-1]
    return float(overall[f"psnr:{column}"] - overall["psnr:bicubic"])


def zoo(args: argparse.Namespace, dataset: str) -> None:
    from vsrdata.vsr_models.registry import spec, trainable

    names = args.models.split(",") if args.models else trainable()
    rows = []
    for name in names:
        params, flops, train_rate, infer_rate = speeds(name, args.rounds)
        gain = gain_after(name, args.budget, dataset)
        cite = spec(name).paper.cite() if spec(name).paper else ""
        recipe = spec(name).recipe
        label = f"{name} (SRGAN-MSE)" if recipe and recipe.loss == "vgg54" else name
        rows.append([label, cite, f"{params:,}", round(flops, 1), round(train_rate, 2),
                     round(infer_rate, 2), f"{gain:+.2f}"])  # fmt: skip
        print(rows[-1], flush=True)
    report("Model zoo", ["model", "paper", "parameters (x4)", "GFLOPs / 720×576 frame",
                         "train samples/s", "inference frames/s",
                         f"PSNR-Y gain after {args.budget:g} s (dB)"], rows,
           {"setup": f"batch {BATCH} of {PATCH}x{PATCH} LR for training speed; one "
                     f"{FRAME[1]}x{FRAME[0]} window for inference; gains on the make-demo "
                     "test clips, preset cpu-quick with --time-budget"})  # fmt: skip


def losses(args: argparse.Namespace, dataset: str) -> None:
    rows = []
    cases = [("mse", "adam"), ("inv-psnr", "adam"), ("dssim", "adam"), ("mse", "adamw"),
             ("mse", "adagrad"), ("mse", "sgd")]  # fmt: skip
    for loss, optimizer in cases:
        extra: dict[str, Any] = {"loss": loss, "optimizer": optimizer}
        if optimizer in ("adagrad", "sgd"):
            extra["lr"] = 3e-2  # these need larger steps than Adam's 3e-3 in a short run
        if optimizer == "adamw":
            extra["weight_decay"] = 1e-4
        gain = gain_after("tsrcnn-small", args.budget, dataset, f"-{loss}-{optimizer}", **extra)
        rows.append([loss, optimizer, extra.get("lr", 3e-3), f"{gain:+.2f}"])
        print(rows[-1], flush=True)
    report("Temporal SRCNN losses and optimizers", ["loss", "optimizer", "lr",
           f"PSNR-Y gain after {args.budget:g} s (dB)"], rows, {})  # fmt: skip


def vdsr(args: argparse.Namespace, dataset: str) -> None:
    rows = []
    for depth in (12, 18, 24, 30):
        for bn in (False, True):
            opts = {"depth": depth, "batch_norm": bn}
            gain = gain_after("vdsr", args.budget, dataset, f"-{depth}-{bn}", model_options=opts)
            rows.append([depth, "yes" if bn else "no", f"{gain:+.2f}"])
            print(rows[-1], flush=True)
    report("VDSR depth and batch norm", ["depth", "batch norm",
           f"PSNR-Y gain after {args.budget:g} s (dB)"], rows, {})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="")
    parser.add_argument("--study", choices=("zoo", "losses", "vdsr"), default="zoo")
    args = parser.parse_args()
    dataset = demo_dataset()
    {"zoo": zoo, "losses": losses, "vdsr": vdsr}[args.study](args, dataset)


if __name__ == "__main__":
    Path(OUT).mkdir(parents=True, exist_ok=True)
    main()
