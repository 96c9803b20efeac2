"""Names and values several packages agree on."""

from __future__ import annotations

SCALES = (2, 3, 4)  # the upscaling factors datasets, models and evaluations support
SPLITS = ("train", "val", "test")

VIDEO_EXTS = frozenset([
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".flv", ".ogv", ".3gp", ".y4m",
])  # fmt: skip
IMAGE_EXTS = frozenset([".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"])
