"""PNG encoder settings: time and size of a 1080p frame and of training-window crops.

python bench/png_settings.py
"""

from __future__ import annotations

import time

import cv2
from _common import clips, report

from vsrdata.preprocess.video import FrameStream, discover

SETTINGS = {
    "level 1, default filters": [cv2.IMWRITE_PNG_COMPRESSION, 1],
    "level 1, fast filters (used)": [
        cv2.IMWRITE_PNG_COMPRESSION,
        1,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FAST_FILTERS,
    ],
    "level 3, default filters": [cv2.IMWRITE_PNG_COMPRESSION, 3],
    "level 3, fast filters": [
        cv2.IMWRITE_PNG_COMPRESSION,
        3,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FAST_FILTERS,
    ],
}


def encode_all(images: list, params: list[int]) -> tuple[float, int]:
    """(best of 3 seconds, total bytes) to encode every image."""
    best, size = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        size = sum(len(cv2.imencode(".png", im, params)[1]) for im in images)
        best = min(best, time.perf_counter() - start)
    return best, size


def main() -> None:
    refs = discover(clips("hd", clips=3, seconds=4.0, size=(1920, 1080), seed=0))
    frames = [cv2.cvtColor(next(iter(FrameStream(r))), cv2.COLOR_RGB2BGR) for r in refs]
    crops = [f[y : y + 128, x : x + 128] for f in frames for y in range(0, 900, 150)
             for x in range(0, 1700, 200)]  # fmt: skip
    window = crops + [cv2.resize(c, (32, 32), interpolation=cv2.INTER_AREA) for c in crops] * 7
    rows = []
    for name, params in SETTINGS.items():
        ft, fb = encode_all(frames, params)
        wt, wb = encode_all(window, params)
        rows.append([name, ft / len(frames) * 1000, fb / len(frames) / 1e6,
                     wt / len(crops) * 1000, wb / len(crops) / 1e3])  # fmt: skip
    report(
        "PNG settings",
        ["setting", "1080p frame ms", "1080p frame MB", "window ms", "window KB"],
        rows,
        {"window": "one 128x128 HR crop and seven 32x32 LR crops (a training sample)"},
    )


if __name__ == "__main__":
    main()
