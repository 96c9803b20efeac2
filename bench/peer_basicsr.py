"""vsrdata against BasicSR (PyTorch) on this machine, side by side in one run.

DUF-16L at x4 in both frameworks, with the same weights (vsrdata's, mapped onto BasicSR's
``DUF(adapt_official_weights=True)``, whose batch-norm epsilon 1e-3 is Keras's), on the same
inputs; rounds alternate between the two (the order flips each round) and the table gives
medians and the ratio vsrdata / BasicSR (> 1: vsrdata is faster), and the ratio of each round's
two back-to-back timings (median and range over the rounds: on a shared machine a single
figure moves by 20% between runs):

- training: global batch 8 of 7×32×32 LR patches, Huber loss (delta 0.01) and Adam, samples/s
  (vsrdata's own training step, ``DistributedStep`` on one device);
- inference: one 7×144×180 LR window -> 576×720, frames/s, whole frames and 64-pixel tiles
  (vsrdata's ``KerasUpscaler``, whose tiles compute each layer only where the tile's output
  needs it, with the exact receptive radius of context; BasicSR has no tiling of its own for
  DUF, so its side runs the whole network on each tile plus the receptive-radius bound, 10
  pixels, on every side, the plain loop vsrdata also had: ``bench/tiles.py`` compares the
  two loops on vsrdata's side in one run); the single window runs whole on vsrdata's side,
  without the work that consecutive windows share;
- inference of a clip: every window of a ``--clip``-frame clip of 144×180 frames in order,
  frames/s; vsrdata's ``KerasUpscaler`` shares DUF's per-frame work between consecutive
  windows (``vsrdata.vsr_models.reuse``), BasicSR runs each window whole, as its video test
  loop does;
- the ceiling: one 3×3×3 convolution of DUF's third dense block (7×144×180, 128 -> 32, zero
  padding) on its own, GFLOP/s, in each framework, in rounds of its own after the others
  (its kernel a constant, as in vsrdata's frozen inference graph); against it, the GFLOP/s
  each side reaches on the whole network (TensorFlow's profiler counts the network's
  operations) and the GFLOP/s that twice BasicSR's whole-frame rate would take;
- metrics: PSNR + SSIM on the Y channel of a 1920×1080 pair, pairs/s; both results are
  printed and must agree (BasicSR computes Y in float32: 1e-6 dB / 1e-7 are allowed).

Before timing, the two networks' outputs on the same window must agree to 1e-4.

The peer lives in its own virtual environment under ``bench-out/peer-venv`` (PyTorch and
BasicSR 1.4.2 from the package registry; never a dependency of vsrdata), made on first use.
Both frameworks get the same thread count (``--threads``, default: the cores).

    python bench/peer_basicsr.py [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import OUT, gflops, randomize_statistics, report

HERE = Path(__file__).resolve().parent
VENV = OUT / "peer-venv"
# torch 2.14.1 and torchvision 0.29.1 lie on this machine's disk; override where they do not
TORCH = os.environ.get("PEER_TORCH", "torch==2.14.1 torchvision==0.29.1").split()
BASICSR = "basicsr==1.4.2"
SCALE, LAYERS, BATCH, PATCH, DELTA = 4, 16, 8, 32, 0.01
WINDOW = (7, 144, 180)  # LR frames, height, width
TILE = 64
# DUF-16L's third dense block: its 3×3×3 convolution of 128 inputs to 32 outputs on a whole
# window, the network's most efficient layer here (the ceiling of the whole-frame case)
CONV = (*WINDOW, 128, 32)
WHOLE = "inference, whole frame, frames/s"
CONV_CASE = "one 3×3×3 convolution, 7×144×180, 128 -> 32, GFLOP/s"
CONV_GFLOP = 2 * 27 * CONV[3] * CONV[4] * CONV[0] * CONV[1] * CONV[2] / 1e9


def peer_python() -> Path:
    """The peer environment's interpreter, installing it on first use."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if stamp.exists():
        return python
    print(f"installing the peer into {VENV} (PyTorch, {BASICSR}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *TORCH], check=True)
    subprocess.run([*pip, "setuptools", "wheel", "numpy"], check=True)
    # BasicSR's setup.py imports torch: build it against the torch just installed
    subprocess.run([*pip, "--no-build-isolation", BASICSR], check=True)
    stamp.touch()
    return python


class Peer:
    """The BasicSR worker process (``_peer_worker.py``), one JSON line per request."""

    def __init__(self, python: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [str(python), str(HERE / "_peer_worker.py")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip

    def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the peer worker died answering {cmd!r}")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def torch_state(model: Any) -> dict[str, np.ndarray]:
    """vsrdata's DUF weights under BasicSR's parameter names and layouts.

    Conv kernels [kt, kh, kw, in, out] -> [out, in, kt, kh, kw]; batch norm gamma, beta,
    moving mean and variance -> weight, bias, running_mean, running_var. The residual head's
    outputs are reordered from depth-to-space order (s·3 + c) to pixel-shuffle order
    (c·r² + s); the filter head's (tap·r² + s) is the same in both.
    """
    blocks = sum(1 for layer in model.layers if layer.name.endswith("_conv2")) - 3 - 2
    prefix = {"stem": "conv3d1", "final_bn": "bn3d2", "final_conv": "conv3d2",
              "res_conv1": "conv3d_r1", "res_conv2": "conv3d_r2",
              "filter_conv1": "conv3d_f1", "filter_conv2": "conv3d_f2"}  # fmt: skip
    slot = {"bn1": 0, "conv1": 2, "bn2": 3, "conv2": 5}
    for i in range(blocks):
        for part, index in slot.items():
            prefix[f"dense{i + 1}_{part}"] = f"dense_block1.dense_blocks.{i}.{index}"
    for i in range(3):
        for part, index in slot.items():
            prefix[f"reduce{i + 1}_{part}"] = f"dense_block2.temporal_reduce{i + 1}.{index}"
    r2 = SCALE * SCALE
    order = np.array([s * 3 + c for c in range(3) for s in range(r2)])  # torch index -> keras
    state: dict[str, np.ndarray] = {}
    for layer in model.layers:
        name = prefix.get(layer.name)
        if name is None:
            continue
        weights = [np.asarray(w) for w in layer.get_weights()]
        if len(weights) == 4:  # batch norm
            keys = ("weight", "bias", "running_mean", "running_var")
            state.update({f"{name}.{k}": v for k, v in zip(keys, weights, strict=True)})
            continue
        kernel, bias = weights
        if layer.name == "res_conv2":
            kernel, bias = kernel[..., order], bias[order]
        state[f"{name}.weight"] = np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2))
        state[f"{name}.bias"] = bias
    return state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--steps", type=int, default=3, help="training steps per round")
    parser.add_argument("--frames", type=int, default=3, help="inference frames per round")
    parser.add_argument("--clip", type=int, default=6, help="frames of the clip case")
    parser.add_argument("--pairs", type=int, default=3, help="metric pairs per round")
    parser.add_argument("--convs", type=int, default=3, help="convolutions per round")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load > args.threads:
        print(f"warning: load average {load:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    python = peer_python()

    import cv2
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    cv2.setNumThreads(args.threads)
    from vsrdata.evaluate.infer import KerasUpscaler, receptive_radius, temporal_window
    from vsrdata.evaluate.metrics import psnr_ssim
    from vsrdata.vsr_models.distribute import DistributedStep, make_strategy

    rng = np.random.default_rng(0)
    work = OUT / "peer"
    work.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_lr": rng.random((BATCH, 7, PATCH, PATCH, 3), dtype=np.float32),
        "train_hr": rng.random((BATCH, PATCH * SCALE, PATCH * SCALE, 3), dtype=np.float32),
        "window": rng.integers(0, 256, (*WINDOW, 3), dtype=np.uint8),
    }
    # the windows of a clip, in order (reflected at its ends, as vsrdata eval pads)
    frames = list(rng.integers(0, 256, (args.clip, *WINDOW[1:], 3), dtype=np.uint8))
    arrays["clip"] = np.stack([temporal_window(frames, i, 7, "reflect") for i in range(args.clip)])
    # a 1080p pair that looks like a result and its truth: smooth content plus small errors
    base = cv2.resize(rng.integers(0, 256, (68, 120, 3), dtype=np.uint8), (1920, 1080),
                      interpolation=cv2.INTER_CUBIC)  # fmt: skip
    noise = rng.normal(0, 4, base.shape)
    arrays["a"] = base
    arrays["b"] = np.clip(base + noise, 0, 255).astype(np.uint8)
    paths = {}
    for key, value in arrays.items():
        paths[key] = str(work / f"{key}.npy")
        np.save(paths[key], value)

    step = DistributedStep(make_strategy("one-device"), f"duf-{LAYERS}l", SCALE, BATCH,
                           learning_rate=1e-3)  # fmt: skip
    randomize_statistics(step.model, rng)
    np.savez(work / "weights.npz", **torch_state(step.model))
    upscaler = KerasUpscaler(step.model, name="duf", reuse=False)  # one window, every frame
    streaming = KerasUpscaler(step.model, name="duf")  # a clip's windows share work
    tiled = KerasUpscaler(step.model, name="duf", tile=TILE)
    overlap = receptive_radius(step.model)

    peer = Peer(python)
    try:
        info = peer.ask("setup", threads=args.threads, scale=SCALE, layers=LAYERS,
                        weights=str(work / "weights.npz"), **paths)  # fmt: skip
        peer.ask("outputs", out=str(work / "peer_out.npy"))
        ours = upscaler.float_output(arrays["window"])
        theirs = np.load(work / "peer_out.npy")
        gap = float(np.max(np.abs(ours - theirs)))
        print(f"same network: max |vsrdata - BasicSR| = {gap:.2e} on one window", flush=True)
        if gap > 1e-4:
            raise SystemExit("the two networks disagree: the comparison would be meaningless")

        lr, hr = tf.constant(arrays["train_lr"]), tf.constant(arrays["train_hr"])

        def ours_train() -> float:
            float(step(lr, hr))  # warm
            start = time.perf_counter()
            for _ in range(args.steps):
                float(step(lr, hr))
            return time.perf_counter() - start

        def ours_infer(model: Any) -> float:
            model.float_output(arrays["window"])
            start = time.perf_counter()
            for _ in range(args.frames):
                model.float_output(arrays["window"])
            return time.perf_counter() - start

        def ours_clip() -> float:
            streaming.float_output(arrays["clip"][-1])  # warm; shares nothing with the first
            start = time.perf_counter()
            for window in arrays["clip"]:
                streaming.float_output(window)
            return time.perf_counter() - start

        x_conv = tf.constant(rng.random((1, *CONV[:4]), dtype=np.float32))
        k_conv = tf.constant(rng.random((3, 3, 3, *CONV[3:]), dtype=np.float32) - 0.5)
        conv = tf.function(lambda: tf.nn.bias_add(
            tf.nn.conv3d(x_conv, k_conv, [1] * 5, "SAME"), tf.zeros(CONV[4])))  # fmt: skip

        def ours_conv() -> float:
            conv()
            start = time.perf_counter()
            for _ in range(args.convs):
                conv().numpy()
            return time.perf_counter() - start

        results: dict[str, dict[str, Any]] = {}

        def ours_metrics() -> float:
            start = time.perf_counter()
            for _ in range(args.pairs):
                p, s = psnr_ssim(arrays["a"], arrays["b"], 0, True)  # what vsrdata eval runs
            results["ours"] = {"psnr": p, "ssim": s}
            return time.perf_counter() - start

        def theirs_metrics() -> float:
            reply = peer.ask("metrics", pairs=args.pairs, crop=0)
            results["theirs"] = reply
            return float(reply["seconds"])

        cases = {
            "training, samples/s": (
                BATCH * args.steps, ours_train,
                lambda: peer.ask("train", steps=args.steps, warmup=1, delta=DELTA)["seconds"]),
            WHOLE: (
                args.frames, lambda: ours_infer(upscaler),
                lambda: peer.ask("infer", frames=args.frames, tile=0, overlap=0,
                                 scale=SCALE)["seconds"]),
            f"inference, a clip of {args.clip} frames in order, frames/s": (
                args.clip, ours_clip, lambda: peer.ask("clip")["seconds"]),
            f"inference, {TILE}-pixel tiles, frames/s": (
                args.frames, lambda: ours_infer(tiled),
                lambda: peer.ask("infer", frames=args.frames, tile=TILE, overlap=overlap,
                                 scale=SCALE)["seconds"]),
            "PSNR + SSIM (Y, 1080p), pairs/s": (args.pairs, ours_metrics, theirs_metrics),
        }  # fmt: skip
        # the ceiling in rounds of its own, after the others: it cannot disturb them
        ceiling_case = {CONV_CASE: (
            CONV_GFLOP * args.convs, ours_conv,
            lambda: peer.ask("conv", shape=CONV, repeats=args.convs)["seconds"])}  # fmt: skip
        times: dict[str, dict[str, list[float]]] = {}
        for phase in (cases, ceiling_case):
            times.update({c: {"ours": [], "theirs": []} for c in phase})
            for round_ in range(args.rounds):
                for case, (_, ours_fn, theirs_fn) in phase.items():
                    order = [("ours", ours_fn), ("theirs", theirs_fn)]
                    for side, fn in order if round_ % 2 == 0 else order[::-1]:
                        times[case][side].append(float(fn()))
                print(f"round {round_ + 1}/{args.rounds} of {len(phase)} case(s) done",
                      flush=True)  # fmt: skip
        cases.update(ceiling_case)
    finally:
        peer.close()

    rows, rate = [], {}
    for case, (count, _, _) in cases.items():
        ours_rate = count / statistics.median(times[case]["ours"])
        theirs_rate = count / statistics.median(times[case]["theirs"])
        # each round timed both sides back to back: its ratio is the least disturbed by the
        # machine's drift, and the spread over rounds shows how far one figure can be trusted
        ours_s, theirs_s = times[case]["ours"], times[case]["theirs"]
        paired = sorted(t / o for o, t in zip(ours_s, theirs_s, strict=True))
        spread = f"{statistics.median(paired):.2f} [{paired[0]:.2f}, {paired[-1]:.2f}]"
        rows.append([case, ours_rate, theirs_rate, f"**{ours_rate / theirs_rate:.2f}**", spread])
        rate[case] = (ours_rate, theirs_rate)
    # what the whole network reaches per second, and what twice BasicSR's rate would take
    network = gflops(step.model, [1, *WINDOW, 3])
    ours_whole, theirs_whole = rate[WHOLE]
    ours_conv_rate, theirs_conv_rate = rate[CONV_CASE]
    needed = 2 * theirs_whole * network
    ceiling = {
        "GFLOP per window (TensorFlow's profiler)": round(network, 1),
        "whole network, GFLOP/s": f"vsrdata {ours_whole * network:.0f}, BasicSR "
        f"{theirs_whole * network:.0f}",
        "whole network / its single convolution": f"vsrdata "
        f"{ours_whole * network / ours_conv_rate:.2f}, BasicSR "
        f"{theirs_whole * network / theirs_conv_rate:.2f}",
        "2x BasicSR's whole frame needs": f"{needed:.0f} GFLOP/s for the whole network, "
        f"{needed / ours_conv_rate:.2f} of vsrdata's single convolution in this run",
    }
    print("\n".join(f"{k}: {v}" for k, v in ceiling.items()), flush=True)
    d_psnr = abs(results["ours"]["psnr"] - results["theirs"]["psnr"])
    d_ssim = abs(results["ours"]["ssim"] - results["theirs"]["ssim"])
    report(
        "vsrdata against BasicSR",
        ["case", "vsrdata", "BasicSR", "vsrdata / BasicSR", "per-round ratio, median [min, max]"],
        rows,
        {
            "seconds per round": times,
            "versions": f"TensorFlow {tf.__version__}, PyTorch {info['torch']}, {BASICSR}",
            "threads": args.threads,
            "rounds": args.rounds,
            "load average at start": round(load, 2),
            **ceiling,
            "same network (max abs output difference)": f"{gap:.2e}",
            "metrics agree": f"PSNR {results['ours']['psnr']:.9f} vs "
            f"{results['theirs']['psnr']:.9f} dB (|d| {d_psnr:.1e}), SSIM "
            f"{results['ours']['ssim']:.9f} vs {results['theirs']['ssim']:.9f} (|d| {d_ssim:.1e})",
        },
    )
    if d_psnr > 1e-6 or d_ssim > 1e-7:
        raise SystemExit("the metrics disagree beyond BasicSR's float32 Y conversion")


if __name__ == "__main__":
    main()
