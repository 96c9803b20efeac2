"""Pixel conventions shared by the packages."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_uint8(x: Any) -> np.ndarray:
    """float [0, 1] (any shape) -> uint8, rounded as when a frame is saved.

    The one rounding rule of vsrdata: round half to even (``np.rint``) after scaling by 255,
    then clip; for values in [0, 255] it differs from MATLAB's ``im2uint8`` (half away from
    zero) only at exact halves, which float outputs do not hit.
    """
    return np.clip(np.rint(np.asarray(x, np.float64) * 255.0), 0, 255).astype(np.uint8)
