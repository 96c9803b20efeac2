"""Pixel conventions shared by the packages: one rounding rule, a window's centre frames."""

from __future__ import annotations

from typing import Any

import numpy as np


def round_uint8(x: Any) -> np.ndarray:
    """Round half away from zero and saturate to [0, 255]: MATLAB's conversion to uint8, the
    one rounding rule of vsrdata (the degradations, whose LR frames must match MATLAB's to
    the byte, and every model output saved or scored)."""
    return np.clip(np.floor(np.asarray(x, np.float64) + 0.5), 0, 255).astype(np.uint8)


def to_uint8(x: Any) -> np.ndarray:
    """float [0, 1] (any shape) -> uint8 as a saved frame: :func:`round_uint8` of x·255."""
    return round_uint8(np.asarray(x, np.float64) * 255.0)


def centre_frames(window: Any, frames: int | None) -> Any:
    """The centre ``frames`` of a window [T, ...] (NumPy or TensorFlow; all of it when None
    or when T is no longer): T and ``frames`` are odd, so the centre frame stays the centre.
    A model that takes fewer frames than a dataset's windows reads these."""
    if frames is None or window.shape[0] <= frames:
        return window
    first = (window.shape[0] - frames) // 2
    return window[first : first + frames]
