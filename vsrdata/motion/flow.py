"""Dense optical flow on downscaled grey frames, for ranking regions by motion.

Flow is only used to *rank* regions, so it runs on a grey copy of each frame shrunk by an
integer ``factor`` (INTER_AREA), which makes its cost per frame independent of the HR size.
Magnitudes are returned in HR pixels per frame (the small-frame magnitude times ``factor``).

Methods (``--flow``): ``dis`` (Kroeger et al., ECCV 2016; OpenCV's DIS with the ULTRAFAST
preset: flow only ranks regions, and it is 2x faster than FAST) and ``farneback``
(Farnebäck, SCIA 2003, OpenCV's default parameters).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vsrdata.common.flow import FlowFn, dis_flow

__all__ = ["FLOW_METHODS", "FlowEstimator", "flow_factor", "shrink", "small_grey"]

# The small frame's long side is brought down to about this many pixels ...
FLOW_LONG_SIDE = 384
# ... but an HR crop must still span at least this many small pixels.
MIN_CROP_SMALL = 16


def _dis() -> FlowFn:
    return dis_flow("ultrafast")


def _farneback() -> FlowFn:
    def calc(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        flow = cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload, unused-ignore]
        return np.asarray(flow)

    return calc


FLOW_METHODS: dict[str, Callable[[], FlowFn]] = {"dis": _dis, "farneback": _farneback}


def flow_factor(height: int, width: int, crop_hr: int) -> int:
    """Integer shrink factor for flow: long side near FLOW_LONG_SIDE, crops >= MIN_CROP_SMALL."""
    by_size = math.ceil(max(height, width) / FLOW_LONG_SIDE)
    by_crop = max(1, crop_hr // MIN_CROP_SMALL)
    return max(1, min(by_size, by_crop))


def shrink(img: np.ndarray, factor: int) -> np.ndarray:
    """``img`` shrunk by an integer ``factor`` with area averaging.

    Passing the factor (not a size) keeps OpenCV on its fast integer-factor path, 4x faster
    at 1080p; the result is floor(H / factor) × floor(W / factor).
    """
    if factor == 1:
        return img
    f = 1.0 / factor
    return cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def small_grey(rgb: np.ndarray, factor: int) -> np.ndarray:
    """uint8 grey (BT.601 luma) copy of an RGB frame, shrunk by ``factor``."""
    return cv2.cvtColor(shrink(rgb, factor), cv2.COLOR_RGB2GRAY)


class FlowEstimator:
    """Flow magnitude between consecutive small grey frames, in HR pixels per frame."""

    def __init__(self, method: str, factor: int) -> None:
        self._calc = FLOW_METHODS[method]()
        self.factor = factor

    def magnitude(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """|flow| from ``prev`` to ``nxt`` (both h×w uint8) as h×w float32, HR px/frame."""
        flow = self._calc(prev, nxt)
        mag = cv2.magnitude(flow[..., 0], flow[..., 1])
        return mag * np.float32(self.factor)
