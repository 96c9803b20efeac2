"""Online shot-cut detection with PySceneDetect's detectors, one frame at a time.

A build decodes each clip once, so cuts must be found while frames stream past. PySceneDetect
detectors take frames in order through ``process_frame`` and may report a cut up to
``event_buffer_length`` frames late; :class:`CutDetector` exposes that bound as ``lag`` so
the caller holds back windows until every cut that could split them is known.

Detectors (``--scene-detector``): ``adaptive`` (the default: PySceneDetect's
AdaptiveDetector, which compares each frame's content change with the average of its
neighbours, 2 frames of lag), ``content`` (the plain ContentDetector with a fixed threshold,
run with the ``SUPPRESS`` flash filter so cuts come without delay) and ``none`` (one shot per
clip). ``content`` fakes cuts on fast pans over texture (a 2 px/frame pan over a photograph
scores ~30 against its threshold of 27); ``adaptive`` does not, and finds the same hard cuts
on the synthetic test clips.
A cut at frame k means frame k is the first frame of a new shot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from vsrdata.motion.flow import shrink

# PySceneDetect (and PyAV under it: 0.15 s) is imported by the detectors that use it, not by
# the modules that only name them (the CLI's help, the build's configuration)

__all__ = ["SCENE_DETECTORS", "CutDetector"]

# Frames are shrunk by the integer factor round(width / DETECT_WIDTH) before detection, as
# PySceneDetect's SceneManager does, but with area averaging rather than its default linear
# filter, which aliases on fast pans over texture enough to fake cuts. Callers may pass
# frames already shrunk.
DETECT_WIDTH = 256


def _content(min_shot: int, threshold: float | None) -> Any:
    from scenedetect import ContentDetector
    from scenedetect.detector import FlashFilter

    kwargs: dict[str, Any] = {"min_scene_len": min_shot, "filter_mode": FlashFilter.Mode.SUPPRESS}
    if threshold is not None:
        kwargs["threshold"] = threshold
    return ContentDetector(**kwargs)


def _adaptive(min_shot: int, threshold: float | None) -> Any:
    from scenedetect import AdaptiveDetector

    kwargs: dict[str, Any] = {"min_scene_len": min_shot}
    if threshold is not None:
        kwargs["adaptive_threshold"] = threshold
    return AdaptiveDetector(**kwargs)


SCENE_DETECTORS: dict[str, Callable[[int, float | None], Any] | None] = {
    "content": _content,
    "adaptive": _adaptive,
    "none": None,
}


class CutDetector:
    """Feed RGB frames in order with :meth:`push`; get the indices of frames that start shots.

    Args:
        kind: a key of :data:`SCENE_DETECTORS`.
        fps: frame rate, for PySceneDetect's timecodes.
        min_shot: minimum frames between two cuts (shorter shots cannot hold a window anyway).
        threshold: the detector's threshold (its own default when None).
    """

    def __init__(
        self, kind: str, fps: float, min_shot: int, threshold: float | None = None
    ) -> None:
        factory = SCENE_DETECTORS[kind]
        self._detector = factory(min_shot, threshold) if factory is not None else None
        self._fps = float(fps)
        from scenedetect import FrameTimecode

        self._timecode_type = FrameTimecode
        self._last = -1
        self.lag = int(self._detector.event_buffer_length) if self._detector is not None else 0

    def _timecode(self, index: int) -> Any:
        return self._timecode_type(index, fps=self._fps)

    @staticmethod
    def _frames(cuts: list[Any]) -> list[int]:
        return sorted(int(c.frame_num) for c in cuts if int(c.frame_num) > 0)

    def push(self, index: int, rgb: np.ndarray) -> list[int]:
        """Process frame ``index`` (uint8 RGB H×W×3); return cuts found so far (may be late)."""
        if self._detector is None:
            return []
        rgb = shrink(rgb, max(1, round(rgb.shape[1] / DETECT_WIDTH)))
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # PySceneDetect expects OpenCV's order
        self._last = index
        return self._frames(self._detector.process_frame(self._timecode(index), bgr))

    def finish(self) -> list[int]:
        """Cuts still held back by the detector once the clip has ended."""
        if self._detector is None or self._last < 0:
            return []
        return self._frames(self._detector.post_process(self._timecode(self._last)))
