"""Motion crop cost per frame: vsrdata's flow + summed-area scoring against OpenCV Farneback
on full-resolution frames (what a naive motion crop would run), on the same 1080p frames.

    python bench/motion_cost.py [--frames 40]
"""

from __future__ import annotations

import argparse
import itertools
import time

import cv2
import numpy as np
from _common import clips, report

from vsrdata.motion.crops import CropSpec, WindowScorer, select_motion
from vsrdata.motion.flow import FlowEstimator, flow_factor, shrink
from vsrdata.preprocess.video import FrameStream, discover

CROP = 128  # HR crop of a 32-pixel LR patch at x4
T = 7


def frames(n: int) -> list[np.ndarray]:
    ref = discover(clips("hd", clips=3, seconds=4.0, size=(1920, 1080), seed=0))[0]
    out = []
    for frame in FrameStream(ref):
        out.append(frame)
        if len(out) == n:
            break
    return out


def ours(rgb: list[np.ndarray]) -> tuple[float, float]:
    """(flow ms per frame incl. shrink, scoring ms per window)."""
    factor = flow_factor(*rgb[0].shape[:2], CROP)
    flow = FlowEstimator("dis", factor)
    start = time.perf_counter()
    greys = [cv2.cvtColor(shrink(f, factor), cv2.COLOR_RGB2GRAY) for f in rgb]
    mags = [flow.magnitude(a, b) for a, b in itertools.pairwise(greys)]
    flow_ms = (time.perf_counter() - start) / len(rgb) * 1000
    h, w = rgb[0].shape[:2]
    start = time.perf_counter()
    windows = 0
    for c in range(T // 2, len(mags) - T // 2):
        motion = np.mean(mags[c - T // 2 : c + T // 2], axis=0)
        scorer = WindowScorer(motion, greys[c], factor, (h, w), 4)
        select_motion(scorer, CropSpec(CROP, 1))
        windows += 1
    return flow_ms, (time.perf_counter() - start) / windows * 1000


def farneback_full(rgb: list[np.ndarray]) -> float:
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb]
    start = time.perf_counter()
    for a, b in itertools.pairwise(greys):
        cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload]
    return (time.perf_counter() - start) / (len(greys) - 1) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    rgb = frames(args.frames)
    flow_ms, score_ms = ours(rgb)
    fb_ms = farneback_full(rgb[: min(len(rgb), 12)])
    ours_ms = flow_ms + score_ms / 3  # one window per 3 frames at the default stride
    report(
        "Motion crop cost",
        ["method", "ms per frame", "ratio to Farneback"],
        [
            ["vsrdata: shrink + DIS flow", flow_ms, flow_ms / fb_ms],
            ["vsrdata: summed-area scoring (per window)", score_ms, score_ms / fb_ms],
            ["vsrdata: total per frame at stride 3", ours_ms, ours_ms / fb_ms],
            ["OpenCV Farneback, full 1920x1080", fb_ms, 1.0],
        ],
        {"frames": f"{len(rgb)} frames of a synthetic 1080p pan; crop 128 HR px"},
    )


if __name__ == "__main__":
    main()
