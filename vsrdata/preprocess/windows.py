"""One clip -> its samples, in a single streaming pass over the decoded frames.

For every frame as it is decoded: feed the cut detector, shrink a grey copy, and compute the
flow magnitude from the previous frame. A window of T frames centred on frame c is emitted
once frame c + T//2 + lag has been seen (``lag``: how late the detector may report a cut), so
every cut that could split it is known. A window is used only if it lies inside one shot and
its centre is ``stride`` frames after the previous one of that shot (counted from the shot's
first full window). Only the last T + lag frames are held, so memory is bounded by the window
and the frame size, never by the clip's length.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vsrdata.errors import ClipError
from vsrdata.motion.crops import CROP_MODES, Crop, CropSpec, WindowScorer
from vsrdata.motion.flow import FlowEstimator, flow_factor, shrink
from vsrdata.preprocess.config import BuildConfig
from vsrdata.preprocess.degrade import degrade_region
from vsrdata.preprocess.scenes import CutDetector
from vsrdata.preprocess.video import ClipRef, FrameStream

# zlib level 1 with libpng's fast filter set (none, sub, up): at 1080p 1.5x faster and 9 %
# smaller than level 1 with default filters, 2.3x faster than level 3 (docs/benchmarks.md)
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FAST_FILTERS]


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of a uint8 RGB image."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), PNG_PARAMS)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


@dataclass
class _Frame:
    index: int
    rgb: np.ndarray
    grey: np.ndarray  # small grey copy
    motion: np.ndarray | None  # |flow| from the previous frame to this one (small grid)
    lr_png: bytes | None = None  # full-frame LR as PNG, cached when whole frames are kept


@dataclass
class ClipStats:
    """What happened to one clip, for the unit's stats and the build report."""

    frames: int = 0  # decoded
    announced: int = 0  # what the container announced (0: unknown)
    partial: bool = False  # decoding ended early (see FrameStream.partial)
    shots: int = 1
    windows: int = 0  # windows that fit in a shot at the stride
    rejected: int = 0  # of those, windows whose crops all failed the thresholds
    samples: int = 0
    max_buffered: int = 0  # most frames held at once (bounded by T + detector lag)


class ClipProcessor:
    """Turns one clip into samples (dicts of the shard schema) for a given split."""

    def __init__(self, ref: ClipRef, cfg: BuildConfig, split: str) -> None:
        self.ref, self.cfg, self.split = ref, cfg, split
        self.mode = "full" if split == "test" else cfg.crop
        self.stride = cfg.test_stride if split == "test" else cfg.stride
        self.half = cfg.frames // 2
        self.spec = CropSpec(cfg.crop_size, cfg.crops_per_window, cfg.min_motion, cfg.min_texture)
        if self.mode != "motion":
            self.spec = CropSpec(cfg.crop_size, 1)
        self.stats = ClipStats()
        self.cuts: list[int] = []

    def samples(self, on_frames: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
        """Decode the clip once and yield its samples; raises ClipError for unusable clips."""
        cfg, s = self.cfg, self.cfg.scale
        stream = FrameStream(self.ref, cfg.fps)
        self.stats.announced = stream.announced
        h, w = stream.height, stream.width
        self.hr_size = (h - h % s, w - w % s)
        if min(self.hr_size) < cfg.crop_size:
            stream.close()
            raise ClipError(
                f"frames of {w}x{h} are smaller than a patch of {cfg.crop_size}x{cfg.crop_size} "
                f"HR pixels (--patch {cfg.patch} x --scale {s})"
            )
        self.factor = flow_factor(h, w, cfg.crop_size)
        flow = FlowEstimator(cfg.flow, self.factor)
        detector = CutDetector(cfg.scene_detector, stream.fps, cfg.frames, cfg.cut_threshold)
        buf: deque[_Frame] = deque()
        centre = self.half
        for i, rgb in enumerate(stream):
            small = shrink(rgb, self.factor)  # one full-size pass feeds cuts and flow
            self._add_cuts(detector.push(i, small))
            grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
            motion = flow.magnitude(buf[-1].grey, grey) if buf else None
            buf.append(_Frame(i, rgb, grey, motion))
            self.stats.frames = i + 1
            self.stats.max_buffered = max(self.stats.max_buffered, len(buf))
            if on_frames is not None:
                on_frames(1)
            while centre + self.half + detector.lag <= i:
                yield from self._window(buf, centre)
                centre += 1
            while buf and buf[0].index < centre - self.half:
                buf.popleft()
        self.stats.partial = stream.partial
        if self.stats.frames < cfg.frames:
            raise ClipError(f"too short: {self.stats.frames} frames, a window needs {cfg.frames}")
        self._add_cuts(detector.finish())
        while centre + self.half < self.stats.frames:
            yield from self._window(buf, centre)
            centre += 1
        self.stats.shots = len(self.cuts) + 1

    def _add_cuts(self, cuts: list[int]) -> None:
        for c in cuts:
            if c not in self.cuts:
                bisect.insort(self.cuts, c)

    def _shot_of(self, c: int) -> tuple[int, int] | None:
        """(shot index, shot start) if the window centred on ``c`` lies in one shot, else None."""
        k = bisect.bisect_right(self.cuts, c)  # cuts <= c
        start = self.cuts[k - 1] if k else 0
        if c - self.half < start:
            return None
        if k < len(self.cuts) and self.cuts[k] <= c + self.half:
            return None
        return k, start

    def _window(self, buf: deque[_Frame], c: int) -> Iterator[dict[str, Any]]:
        shot = self._shot_of(c)
        if shot is None or (c - self.half - shot[1]) % self.stride:
            return
        frames = [f for f in buf if c - self.half <= f.index <= c + self.half]
        assert len(frames) == self.cfg.frames, "window frames must be buffered"
        self.stats.windows += 1
        centre = frames[self.half]
        pairs = [f.motion for f in frames[1:] if f.motion is not None]
        motion = np.mean(pairs, axis=0) if pairs else np.zeros_like(centre.grey, np.float32)
        scorer = WindowScorer(motion, centre.grey, self.factor, self.hr_size, self.cfg.scale)
        crops = CROP_MODES[self.mode](scorer, self.spec)
        if not crops:
            self.stats.rejected += 1
        for k, crop in enumerate(crops):
            self.stats.samples += 1
            yield self._sample(frames, shot[0], c, k, crop)

    def _lr_png(self, frame: _Frame, crop: Crop) -> bytes:
        cfg = self.cfg
        box = (crop.y, crop.x, crop.h, crop.w)
        if (crop.h, crop.w) != self.hr_size:
            return encode_png(degrade_region(frame.rgb, cfg.degradation, cfg.scale, box))
        if frame.lr_png is None:  # whole frames recur in T windows: degrade and encode once
            hr = frame.rgb[: crop.h, : crop.w]  # exactly the stored HR: LR = degrade(HR)
            frame.lr_png = encode_png(degrade_region(hr, cfg.degradation, cfg.scale, box))
        return frame.lr_png

    def _sample(
        self, frames: list[_Frame], shot: int, c: int, k: int, crop: Crop
    ) -> dict[str, Any]:
        cfg, ref, s = self.cfg, self.ref, self.cfg.scale
        hr = frames[self.half].rgb[crop.y : crop.y + crop.h, crop.x : crop.x + crop.w]
        return {
            "sample_id": f"{ref.clip_id}/{shot}/{c}/{k}",
            "clip_id": ref.clip_id,
            "source": ref.source,
            "category": ref.category,
            "license": ref.license,
            "split": self.split,
            "scale": cfg.scale,
            "frames": cfg.frames,
            "shot": shot,
            "center": c,
            "crop": [crop.y, crop.x, crop.h, crop.w],
            "motion": crop.motion,
            "texture": crop.texture,
            "degradation": cfg.degradation,
            "lr": [self._lr_png(f, crop) for f in frames],
            "hr": encode_png(np.ascontiguousarray(hr)),
            "lr_shape": [crop.h // s, crop.w // s, 3],
            "hr_shape": list(hr.shape),
        }
