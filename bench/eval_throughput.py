"""Evaluation speed, in one run (alternating rounds, medians):

- metrics: frames/s of PSNR + SSIM on Y for a 1080p frame pair (float64, the published
  conventions), and of the flow error for a pair of consecutive 1080p frames;
- upscale: frames/s of ``upscale_video`` end to end (decode, window, upscale, H.264 encode)
  on a 180×144 clip to 720×576, for bicubic and for DUF-16L (random weights: speed only).

    python bench/eval_throughput.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import OUT, alternate, clips, report

from vsrdata.evaluate.metrics import flow_error, psnr, ssim
from vsrdata.preprocess.video import FrameStream, discover


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from vsrdata.evaluate.infer import Bicubic, KerasUpscaler
    from vsrdata.evaluate.upscale import upscale_video
    from vsrdata.vsr_models.registry import build_model

    hd = clips("hd", clips=3, seconds=4.0, size=(1920, 1080), seed=0)
    frames = []
    for frame in FrameStream(discover(hd)[0]):
        frames.append(frame)
        if len(frames) == 2:
            break
    noisy = np.clip(frames[0].astype(int) + 3, 0, 255).astype(np.uint8)
    small = clips("upscale-clip", clips=1, seconds=0.24, size=(180, 144), seed=4)
    src = discover(small)[0].path
    upscalers = {"bicubic": Bicubic(4), "DUF-16L": KerasUpscaler(build_model("duf-16l", 4))}
    out = OUT / "upscaled.mp4"

    def metrics() -> int:
        psnr(frames[0], noisy)
        ssim(frames[0], noisy)
        return 1

    def flow() -> int:
        flow_error(frames, [noisy, frames[1]])
        return 1

    def up(name: str) -> int:
        return int(upscale_video(src, out, upscalers[name])["frames"])

    cases = {
        "PSNR + SSIM on Y, 1080p": metrics,
        "flow error, 1080p pair": flow,
        "upscale 180x144 -> 720x576, bicubic": lambda: up("bicubic"),
        "upscale 180x144 -> 720x576, DUF-16L": lambda: up("DUF-16L"),
    }
    seconds, counts = alternate(cases, args.rounds)
    rows = [[name, counts[name], counts[name] / seconds[name]] for name in cases]
    report("Evaluation speed", ["case", "frames", "frames/s"], rows, {"rounds": args.rounds})


if __name__ == "__main__":
    main()
