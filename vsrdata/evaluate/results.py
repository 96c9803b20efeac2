"""Released results: a method's output frames, scored as a column beside models and bicubic.

``--results NAME=DIR``: ``DIR/<clip>/`` holds one image per output frame, for every clip of
the ground truth (``DIR`` mirrors the GT folder's clip ids: ``DIR/calendar/`` for Vid4's
``GT/calendar/``). Frames are matched to the ground truth in natural name order. The
alignments published results use are accepted, and nothing else:

- **same count**: frame ``i`` of the outputs is frame ``i`` of the clip;
- **ends left out**: ``k`` fewer frames at each end (2k fewer in all), when the protocol
  leaves out at least ``k`` frames at each end anyway (``duf``: 2), so every column is
  scored on the same frames;
- **centre frame only**: one output per clip under a centre-frame protocol (Vimeo-90K-T);
- **border cropped**: outputs ``2b`` pixels smaller than the ground truth in both sides
  (``b`` cropped from every border), when the protocol crops at least ``b``: the scored
  region is then the same for every column.

Anything else (a missing clip, another count, another size) is an error naming the clip.
A folder whose frames match the ground truth better one frame earlier or later than their
names say (misnumbered, shifted or shuffled frames) is an error too: the outputs are
compared with the ground truth at offsets -1, 0, +1 on a few frames before scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.common.metrics import rgb_to_y
from vsrdata.errors import ClipError, InputError, UsageError
from vsrdata.evaluate.protocol import Protocol

SHIFT_MARGIN_DB = 1.0  # a neighbour frame must match this much better to count as a shift


def parse_results(specs: list[str] | tuple[str, ...]) -> list[tuple[str, Path]]:
    """``NAME=DIR`` options as (column name, folder); names must be new and distinct."""
    out: list[tuple[str, Path]] = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not (sep and name.strip() and folder):
            raise UsageError(f"--results takes NAME=DIR, got {spec!r}")
        if not Path(folder).is_dir():
            raise InputError(f"--results {name}: {folder} is not a folder")
        if name == "bicubic" or name in [n for n, _ in out]:
            raise UsageError(f"--results name {name!r} is taken; give each column its own")
        out.append((name.strip(), Path(folder)))
    return out


def _small_y(rgb: np.ndarray) -> np.ndarray:
    """A 4× smaller luma plane, float64 (for the alignment check only)."""
    import cv2

    y = rgb_to_y(rgb)
    return cv2.resize(y, (max(1, y.shape[1] // 4), max(1, y.shape[0] // 4)),
                      interpolation=cv2.INTER_AREA)  # fmt: skip


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 100.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


class ReleasedResults:
    """One column of released output frames. ``begin_clip`` aligns a clip's files with its
    ground truth (or raises); ``frame(position)`` is the output at a GT frame position."""

    frames = 1  # the window it is given is not used

    def __init__(self, name: str, folder: Path, scale: int) -> None:
        self.name, self.folder, self.scale = name, Path(folder), scale
        self.manifest: dict[str, Any] = {"source": str(folder)}
        self.files: list[Path] = []
        self.offset = 0  # GT position of the first output frame
        self.border = 0
        self.clip_id = ""
        self.truth: list[np.ndarray] = []

    def __call__(self, window: np.ndarray) -> np.ndarray:
        raise UsageError(f"{self.name} holds released frames; it cannot upscale a window")

    def begin_clip(self, clip_id: str, truth: list[np.ndarray], protocol: Protocol) -> None:
        from vsrdata.preprocess.video import _frame_files

        self.clip_id, self.truth = clip_id, truth
        folder = self.folder / clip_id
        files = _frame_files(folder) if folder.is_dir() else None
        if not files:
            raise InputError(f"{self.name}: no output frames for clip {clip_id} "
                             f"(expected images in {folder})")  # fmt: skip
        n, length = len(files), len(truth)
        if n == length:
            offset = 0
        elif protocol.center_only and n == 1:
            offset = length // 2
        elif n < length and (length - n) % 2 == 0 and (length - n) // 2 <= protocol.skip_frames:
            offset = (length - n) // 2
        else:
            raise InputError(self._mismatch(f"{n} output frames for {length} ground-truth "
                                            "frames", protocol))  # fmt: skip
        self.files, self.offset = files, offset
        first = self._read(0)
        h, w = truth[0].shape[:2]
        dh, dw = h - first.shape[0], w - first.shape[1]
        if (dh, dw) == (0, 0):
            self.border = 0
        elif dh == dw and dh > 0 and dh % 2 == 0 and dh // 2 <= protocol.crop_border:
            self.border = dh // 2
        else:
            raise InputError(self._mismatch(f"outputs are {first.shape[1]}x{first.shape[0]}, "
                                            f"the ground truth {w}x{h}", protocol))  # fmt: skip
        self._check_alignment()

    def _mismatch(self, what: str, protocol: Protocol) -> str:
        return (
            f"{self.name}, clip {self.clip_id}: {what}. Accepted: the same frames; k "
            f"fewer at each end when the protocol leaves out k (here "
            f"{protocol.skip_frames}); one centre frame under --protocol center; a border "
            f"of b pixels cropped when the protocol crops b (here {protocol.crop_border})"
        )

    def _read(self, i: int) -> np.ndarray:
        from vsrdata.preprocess.video import read_image

        try:
            return read_image(self.files[i])
        except ClipError as exc:
            raise InputError(f"{self.name}: {exc} ({self.files[i]})") from None

    def frame(self, position: int) -> np.ndarray:
        """The output at GT position ``position`` (a border-cropped output is framed with the
        ground truth's own pixels there, which the protocol's crop leaves unscored)."""
        i = position - self.offset
        if not 0 <= i < len(self.files):
            raise ClipError(f"{self.name}: no output for frame {position} of {self.clip_id}")
        out = self._read(i)
        if self.border:
            b, full = self.border, self.truth[position].copy()
            full[b:-b, b:-b] = out
            out = full
        return out

    def _check_alignment(self, samples: int = 5, reach: int = 8) -> None:
        """Frames that match another ground-truth frame (up to ``reach`` away) better than
        their own, by ``SHIFT_MARGIN_DB``, on most sampled frames: misnumbered or shuffled."""
        if len(self.truth) < 2 or len(self.files) < 2:
            return
        picks = sorted({round(k * (len(self.files) - 1) / max(1, samples - 1))
                        for k in range(min(samples, len(self.files)))})  # fmt: skip
        b = self.border
        small: dict[int, np.ndarray] = {}

        def truth(t: int) -> np.ndarray:
            if t not in small:
                gt = self.truth[t]
                small[t] = _small_y(gt[b:-b, b:-b] if b else gt)
            return small[t]

        preferred = []
        for i in picks:
            out = _small_y(self._read(i))
            t = i + self.offset
            scores = {o: _psnr(out, truth(t + o)) for o in range(-reach, reach + 1)
                      if 0 <= t + o < len(self.truth)}  # fmt: skip
            best = max(scores, key=lambda o: scores[o])
            preferred.append(best if scores[best] > scores[0] + SHIFT_MARGIN_DB else 0)
        moved = [p for p in preferred if p]
        if len(moved) * 2 > len(preferred):
            how = (f"shifted by {moved[0]:+d} frame" if len(set(moved)) == 1
                   else "out of order")  # fmt: skip
            raise InputError(f"{self.name}, clip {self.clip_id}: the output frames match the "
                             f"ground truth {how} ({len(moved)} of {len(preferred)} frames "
                             "checked); check their numbering")  # fmt: skip
