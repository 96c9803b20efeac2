"""Names and values several packages agree on."""

from __future__ import annotations

SCALES = (2, 3, 4)  # the upscaling factors datasets, models and evaluations support
SPLITS = ("train", "val", "test")

VIDEO_EXTS = frozenset([
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".flv", ".ogv", ".3gp", ".y4m",
])  # fmt: skip
IMAGE_EXTS = frozenset([".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"])

# BT.601 luma as MATLAB's rgb2ycbcr computes it: Y = 16 + Σ w·RGB on the 0..255 scale (so Y
# lies in [16, 235]); on [0, 1] values, Y = 16/255 + Σ w·RGB. The weights sum to 219/255.
Y_WEIGHTS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
Y_OFFSET = 16.0  # on the 0..255 scale
