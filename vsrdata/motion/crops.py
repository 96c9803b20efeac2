"""Choosing HR crops for a temporal window: by motion, at the centre, or the full frame.

Scores come from summed-area tables (Crow, SIGGRAPH 1984; OpenCV ``integral``): after one
pass over a map, the mean of any box is four lookups, so scoring *every* candidate position
costs O(pixels) per window whatever the crop size or the number of candidates.

- motion of a box: mean over the box of the window's motion map, i.e. the flow magnitude
  averaged over the window's T-1 consecutive frame pairs, in HR pixels per frame;
- texture of a box: standard deviation of the centre frame's luma in the box (0-255 grey
  levels), computed from the tables of g and g²; flat sky and walls score near 0.

Crop modes (``--crop``): ``motion`` picks up to ``count`` non-overlapping crops with the most
motion among those with enough texture, and none if the best has too little motion;
``center`` takes the centred crop (the older fixed behaviour, no filtering); ``full`` keeps
the whole frame (test split). All boxes are (y, x, h, w) in HR pixels, multiples of the scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["CROP_MODES", "Crop", "CropSpec", "WindowScorer"]


@dataclass(frozen=True)
class Crop:
    """An HR crop and its scores (motion: HR px/frame; texture: grey-level std)."""

    y: int
    x: int
    h: int
    w: int
    motion: float
    texture: float

    def overlaps(self, other: Crop) -> bool:
        return (
            self.y < other.y + other.h
            and other.y < self.y + self.h
            and self.x < other.x + other.w
            and other.x < self.x + self.w
        )


@dataclass(frozen=True)
class CropSpec:
    """What the build asks of crops: HR size (P·scale), count and thresholds."""

    size: int
    count: int = 1
    min_motion: float = 0.0
    min_texture: float = 0.0


def _box_means(table: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Mean of every bh×bw box, indexed by its top-left corner, from a summed-area table."""
    s = table
    total = s[bh:, bw:] - s[:-bh, bw:] - s[bh:, :-bw] + s[:-bh, :-bw]
    return total / float(bh * bw)


class WindowScorer:
    """Summed-area tables of one window's motion map and centre grey frame.

    Args:
        motion: h×w float32, small-frame motion map (HR px/frame).
        grey: h×w uint8, small grey centre frame (same grid).
        factor: HR pixels per small pixel.
        hr_size: (H, W) of the usable HR frame (multiples of ``scale``).
        scale: the SR scale; HR boxes are aligned to it.
    """

    def __init__(
        self,
        motion: np.ndarray,
        grey: np.ndarray,
        factor: int,
        hr_size: tuple[int, int],
        scale: int,
    ) -> None:
        self.factor, self.hr_size, self.scale = factor, hr_size, scale
        self.motion_sat = cv2.integral(motion.astype(np.float64), sdepth=cv2.CV_64F)
        self.grey_sat, self.grey_sq = cv2.integral2(grey, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        self.small = grey.shape

    def small_box(self, h: int, w: int) -> tuple[int, int]:
        f = self.factor
        return max(1, min(round(h / f), self.small[0])), max(1, min(round(w / f), self.small[1]))

    def maps(self, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """(motion, texture) of an h×w HR box at every small top-left position."""
        bh, bw = self.small_box(h, w)
        motion = _box_means(self.motion_sat, bh, bw)
        mean = _box_means(self.grey_sat, bh, bw)
        sq = _box_means(self.grey_sq, bh, bw)
        return motion, np.sqrt(np.maximum(sq - mean * mean, 0.0))

    def crop(self, y: int, x: int, h: int, w: int) -> Crop:
        """Score one HR box (four lookups per table)."""
        f = self.factor
        bh, bw = self.small_box(h, w)
        sy = min(y // f, self.small[0] - bh)
        sx = min(x // f, self.small[1] - bw)

        def mean(t: np.ndarray) -> float:
            total = t[sy + bh, sx + bw] - t[sy, sx + bw] - t[sy + bh, sx] + t[sy, sx]
            return float(total) / (bh * bw)

        g = mean(self.grey_sat)
        texture = float(np.sqrt(max(mean(self.grey_sq) - g * g, 0.0)))
        return Crop(y, x, h, w, mean(self.motion_sat), texture)

    def to_hr(self, sy: int, sx: int, size: int) -> tuple[int, int]:
        """HR top-left of a small top-left, aligned down to the scale and kept in the frame."""
        s, f = self.scale, self.factor
        y = min((sy * f) // s * s, self.hr_size[0] - size)
        x = min((sx * f) // s * s, self.hr_size[1] - size)
        return y, x


def select_motion(scorer: WindowScorer, spec: CropSpec) -> list[Crop]:
    """Up to ``spec.count`` non-overlapping crops, most motion first (greedy on the score map).

    Positions with texture below ``min_texture`` are excluded; selection stops at the first
    crop whose motion is below ``min_motion``.
    """
    motion, texture = scorer.maps(spec.size, spec.size)
    score = np.where(texture >= spec.min_texture, motion, -np.inf)
    bh, bw = scorer.small_box(spec.size, spec.size)
    chosen: list[Crop] = []
    while len(chosen) < spec.count:
        sy, sx = np.unravel_index(int(np.argmax(score)), score.shape)
        best = score[sy, sx]
        if not np.isfinite(best) or best < spec.min_motion:
            break
        y, x = scorer.to_hr(int(sy), int(sx), spec.size)
        crop = Crop(y, x, spec.size, spec.size, float(motion[sy, sx]), float(texture[sy, sx]))
        if any(crop.overlaps(c) for c in chosen):  # HR rounding can touch a neighbour
            score[sy, sx] = -np.inf
            continue
        chosen.append(crop)
        score[max(0, sy - bh + 1) : sy + bh, max(0, sx - bw + 1) : sx + bw] = -np.inf
    return chosen


def select_center(scorer: WindowScorer, spec: CropSpec) -> list[Crop]:
    """The centred crop, aligned to the scale, whatever its motion and texture."""
    hh, ww = scorer.hr_size
    s = scorer.scale
    y = (hh - spec.size) // 2 // s * s
    x = (ww - spec.size) // 2 // s * s
    return [scorer.crop(y, x, spec.size, spec.size)]


def select_full(scorer: WindowScorer, spec: CropSpec) -> list[Crop]:
    """The whole usable frame (cropped to a multiple of the scale)."""
    hh, ww = scorer.hr_size
    return [scorer.crop(0, 0, hh, ww)]


CROP_MODES: dict[str, Callable[[WindowScorer, CropSpec], list[Crop]]] = {
    "motion": select_motion,
    "center": select_center,
    "full": select_full,
}
