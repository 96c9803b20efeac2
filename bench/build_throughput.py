"""Build throughput against decode-only throughput on the same 1080p clips, in one run.

Both run in this one process, alternating, and each figure is the median of the rounds, so
the ratio survives a noisy shared machine. Goal: the build (motion crops, train split, one
process) runs at >= 0.5 of decode-only speed.

    python bench/build_throughput.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil

from _common import OUT, alternate, clips, report

from vsrdata.preprocess.build import build
from vsrdata.preprocess.config import BuildConfig
from vsrdata.preprocess.video import FrameStream, discover


def decode_only(source) -> int:
    return sum(1 for ref in discover(source) for _ in FrameStream(ref))


def build_once(source, name: str, **options) -> int:
    out = OUT / "throughput" / name
    shutil.rmtree(out, ignore_errors=True)
    cfg = BuildConfig(source=str(source), out=str(out), workers=1, **options)
    result = build(cfg)
    return result.report["frames"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = clips("hd", clips=3, seconds=4.0, size=(1920, 1080), seed=0)
    cases = {
        "decode only": lambda: decode_only(source),
        "build, motion crops (train)": lambda: build_once(source, "motion", split=(1.0, 0.0, 0.0)),
        "build, centre crops (train)": lambda: build_once(
            source, "center", split=(1.0, 0.0, 0.0), crop="center"
        ),
        "build, full frames (test)": lambda: build_once(source, "full", split=(0.0, 0.0, 1.0)),
    }
    seconds, frames = alternate(cases, args.rounds)
    decode_fps = frames["decode only"] / seconds["decode only"]
    rows = []
    for name in cases:
        fps = frames[name] / seconds[name]
        rows.append([name, frames[name], fps, fps / decode_fps])
    report(
        "Build throughput",
        ["case", "HR frames", "frames/s (median)", "ratio to decode-only"],
        rows,
        {
            "clips": "3 synthetic 1080p H.264 clips (pan, zoom, rotate), 4 s at 25 fps",
            "settings": "scale 4, 7 frames, patch 32, stride 3 (test stride 1), bd, both formats",
            "rounds": args.rounds,
        },
    )


if __name__ == "__main__":
    main()
