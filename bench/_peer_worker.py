"""The BasicSR side of ``bench/peer_basicsr.py``; runs in the peer's own virtual environment.

A small server on stdin/stdout (one JSON object per line): the driver sends the inputs as
``.npy`` paths and asks for timed rounds, so both frameworks run in alternating rounds in one
run without paying PyTorch's start-up each round. Not imported by vsrdata.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
import torchvision.transforms.functional as tv_functional

# BasicSR 1.4.2 imports a torchvision module that current torchvision no longer has; DUF
# and the metrics do not use it.
sys.modules.setdefault("torchvision.transforms.functional_tensor", tv_functional)

import cv2  # noqa: E402
from basicsr.archs.duf_arch import DUF  # noqa: E402
from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim  # noqa: E402

STATE: dict = {}


def setup(msg: dict) -> dict:
    torch.set_num_threads(msg["threads"])
    cv2.setNumThreads(msg["threads"])
    torch.manual_seed(0)
    model = DUF(scale=msg["scale"], num_layer=msg["layers"], adapt_official_weights=True)
    weights = np.load(msg["weights"])
    state = {k: torch.from_numpy(weights[k]) for k in weights.files}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit BasicSR's DUF: {missing[:3]} {unexpected[:3]}")
    STATE["model"] = model
    STATE["optimizer"] = torch.optim.Adam(model.parameters(), lr=1e-3)
    for key in ("train_lr", "train_hr", "window", "clip", "a", "b"):
        STATE[key] = np.load(msg[key])
    return {"torch": torch.__version__, "threads": torch.get_num_threads()}


def outputs(msg: dict) -> dict:
    """The model's output (eval mode) on the window, saved for the equivalence check."""
    model = STATE["model"].eval()
    with torch.inference_mode():
        out = model(_window_tensor(STATE["window"]))
    np.save(msg["out"], out[0].permute(1, 2, 0).numpy())
    return {}


def _window_tensor(window: np.ndarray) -> torch.Tensor:
    # uint8 [T, H, W, 3] -> float [1, T, 3, H, W] in [0, 1], as vsrdata's upscaler reads it
    return torch.from_numpy(window).permute(0, 3, 1, 2)[None].float().div_(255.0)


def train(msg: dict) -> dict:
    model, optimizer = STATE["model"].train(), STATE["optimizer"]
    lr = torch.from_numpy(STATE["train_lr"]).permute(0, 1, 4, 2, 3).contiguous()
    hr = torch.from_numpy(STATE["train_hr"]).permute(0, 3, 1, 2).contiguous()

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.huber_loss(model(lr), hr, delta=msg["delta"])
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    for _ in range(msg["warmup"]):
        step()
    start = time.perf_counter()
    for _ in range(msg["steps"]):
        step()
    return {"seconds": time.perf_counter() - start}


def _infer(window: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return STATE["model"](_window_tensor(window))[0].permute(1, 2, 0).numpy()


def infer(msg: dict) -> dict:
    """Whole frames, or tiles of ``tile`` LR pixels with ``overlap`` (vsrdata's tiling)."""
    STATE["model"].eval()
    window, tile, margin, r = STATE["window"], msg["tile"], msg["overlap"], msg["scale"]
    h, w = window.shape[1:3]

    def frame() -> np.ndarray:
        if not tile:
            return _infer(window)
        out = np.empty((h * r, w * r, 3), np.float32)
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                ya, xa = max(0, y0 - margin), max(0, x0 - margin)
                part = _infer(window[:, ya : min(h, y1 + margin), xa : min(w, x1 + margin)])
                out[y0 * r : y1 * r, x0 * r : x1 * r] = part[
                    (y0 - ya) * r : (y1 - ya) * r, (x0 - xa) * r : (x1 - xa) * r
                ]
        return out

    frame()
    start = time.perf_counter()
    for _ in range(msg["frames"]):
        frame()
    return {"seconds": time.perf_counter() - start}


def clip(msg: dict) -> dict:
    """Every window of the clip in order, each run whole (BasicSR's video test loop)."""
    STATE["model"].eval()
    windows = STATE["clip"]
    _infer(windows[-1])  # warm, as vsrdata's side is
    start = time.perf_counter()
    for window in windows:
        _infer(window)
    return {"seconds": time.perf_counter() - start}


def conv(msg: dict) -> dict:
    """One 3-D convolution of the shape given (channels first), ``repeats`` times after one."""
    rng = np.random.default_rng(0)
    t, h, w, c_in, c_out = msg["shape"]
    x = torch.from_numpy(rng.random((1, c_in, t, h, w), dtype=np.float32))
    k = torch.from_numpy(rng.random((c_out, c_in, 3, 3, 3), dtype=np.float32) - 0.5)
    b = torch.zeros(c_out)
    with torch.inference_mode():
        torch.nn.functional.conv3d(x, k, b, padding=1)
        start = time.perf_counter()
        for _ in range(msg["repeats"]):
            torch.nn.functional.conv3d(x, k, b, padding=1)
    return {"seconds": time.perf_counter() - start}


def metrics(msg: dict) -> dict:
    # BasicSR reads BGR (its Y weights are applied in B, G, R order): give it the same pixels
    a, b = STATE["a"][..., ::-1], STATE["b"][..., ::-1]
    start = time.perf_counter()
    for _ in range(msg["pairs"]):
        p = calculate_psnr(a, b, crop_border=msg["crop"], test_y_channel=True)
        s = calculate_ssim(a, b, crop_border=msg["crop"], test_y_channel=True)
    return {"seconds": time.perf_counter() - start, "psnr": float(p), "ssim": float(s)}


def main() -> None:
    handlers = {"setup": setup, "outputs": outputs, "train": train, "infer": infer,
                "clip": clip, "conv": conv, "metrics": metrics}  # fmt: skip
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        reply = handlers[msg["cmd"]](msg)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
