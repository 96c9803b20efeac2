"""Tiled inference: each layer cropped to what the tile's output needs, against the whole
model run over every tile and its margin, and against the untiled frame, in one run.

For each model, one 7×144×180 LR window (×4, random weights with randomized batch-norm
statistics) is upscaled three ways in alternating rounds (the order rotates each round):

- ``whole``: the frame at once (``KerasUpscaler`` without tiles);
- ``plain``: 64-pixel tiles, the whole model on each tile plus the registered overlap (the
  sum of every layer's reach) on every side, the middle kept: what vsrdata did before;
- ``exact``: 64-pixel tiles through ``vsrdata.vsr_models.tiling`` (each layer over the part
  its output pixels need, the exact receptive radius as context).

All three outputs must agree to 1e-5 of their range. The table gives frames/s (median over
the rounds) and the per-round ratio exact / plain as median [min, max].

    python bench/tiles.py [--rounds 7] [--models duf-16l,srresnet]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import randomize_statistics, report

WINDOW = (144, 180)
TILE = 64
SCALE = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--models", default="duf-16l,srresnet")
    args = parser.parse_args()

    from vsrdata.evaluate.infer import KerasUpscaler
    from vsrdata.vsr_models.registry import build_model, spec

    rng = np.random.default_rng(0)
    rows = []
    extra: dict[str, Any] = {}
    for name in args.models.split(","):
        model = build_model(name, SCALE)
        randomize_statistics(model, rng)
        frames = spec(name).window()
        window = rng.integers(0, 256, (frames, *WINDOW, 3), dtype=np.uint8)
        bound = spec(name).radius
        upscalers = {
            "whole": KerasUpscaler(model, reuse=False),  # the same window each round
            "plain": KerasUpscaler(model, tile=TILE, overlap=bound, exact_tiles=False),
            "exact": KerasUpscaler(model, tile=TILE),
        }
        exact = upscalers["exact"].exact_tiles()
        if exact is None:
            raise SystemExit(f"{name}: its layers' reach cannot be followed")
        outputs = {key: u.float_output(window) for key, u in upscalers.items()}  # warm-up
        scale = float(np.abs(outputs["whole"]).max())
        gaps = {k: float(np.abs(v - outputs["whole"]).max()) for k, v in outputs.items()}
        if max(gaps.values()) > 1e-5 * scale:
            raise SystemExit(f"{name}: tiled and untiled outputs differ: {gaps}")
        times: dict[str, list[float]] = {key: [] for key in upscalers}
        order = list(upscalers)
        for round_ in range(args.rounds):
            shift = round_ % len(order)
            for key in order[shift:] + order[:shift]:
                start = time.perf_counter()
                upscalers[key].float_output(window)
                times[key].append(time.perf_counter() - start)
        paired = sorted(p / e for p, e in zip(times["plain"], times["exact"], strict=True))
        rate = {key: 1.0 / statistics.median(v) for key, v in times.items()}
        rows.append([name, f"{bound} / {exact.radius}", rate["whole"], rate["plain"],
                     rate["exact"], f"**{rate['exact'] / rate['plain']:.2f}**",
                     f"{statistics.median(paired):.2f} [{paired[0]:.2f}, {paired[-1]:.2f}]",
                     f"{rate['exact'] / rate['whole']:.2f}"])  # fmt: skip
        extra[f"{name}: max |tiled - whole|"] = {k: f"{v:.1e}" for k, v in gaps.items()}
        extra[f"{name}: seconds per round"] = times
    report(
        "Tiled inference",
        ["model", "context: plain / exact", "whole, frames/s", "plain tiles", "exact tiles",
         "exact / plain", "per round, median [min, max]", "exact / whole"],
        rows, {"window": f"{WINDOW[0]}x{WINDOW[1]} LR, x{SCALE}, tiles of {TILE}",
               "rounds": args.rounds, **extra},
    )  # fmt: skip


if __name__ == "__main__":
    main()
