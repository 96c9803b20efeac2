"""OpenCV's DIS optical flow, set up in one place (crop scoring and the flow-error metric)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def dis_flow(preset: str = "medium") -> FlowFn:
    """(prev, next) uint8 grey -> [H, W, 2] float32 flow, by one DIS instance of ``preset``."""
    dis = cv2.DISOpticalFlow.create(DIS_PRESETS[preset])
    return lambda prev, nxt: np.asarray(dis.calc(prev, nxt, None))  # type: ignore[call-overload]
