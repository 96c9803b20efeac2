"""Typed, validated configuration of ``vsrdata build``.

Everything is checked in :meth:`BuildConfig.validate` before any file is written, and
:meth:`BuildConfig.from_dict` rejects unknown keys, so a typo never silently becomes a default.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

from vsrdata.errors import UsageError
from vsrdata.motion.crops import CROP_MODES
from vsrdata.motion.flow import FLOW_METHODS
from vsrdata.preprocess.degrade import DEGRADATIONS, SCALES
from vsrdata.preprocess.scenes import SCENE_DETECTORS
from vsrdata.shards.writer import FORMATS

ENGINES = ("local", "ray")
# Fields that change how a build runs, never what it writes: not part of the dataset.
EXECUTION_FIELDS = frozenset({"out", "workers", "engine", "ray_address"})

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}


def parse_size(text: str | int) -> int:
    """'256MB' -> 256_000_000, '1GiB' -> 2**30, 1000 -> 1000."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _SIZE_UNITS:
        raise UsageError(f"cannot read the size {text!r}; write it like 256MB, 1GB or 512MiB")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])


def parse_split(text: str | tuple[float, ...]) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' -> (0.8, 0.1, 0.1); the three shares must be >= 0 and sum to 1."""
    try:
        parts = tuple(float(p) for p in text.split(",")) if isinstance(text, str) else tuple(text)
    except ValueError:
        raise UsageError(f"--split takes three numbers like 0.8,0.1,0.1, got {text!r}") from None
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise UsageError(
            f"--split takes three shares >= 0 that sum to 1 (train,val,test), got {text!r}"
        )
    return (parts[0], parts[1], parts[2])


def _choice(name: str, value: str, options: Any) -> None:
    if value not in options:
        raise UsageError(f"--{name} must be one of {', '.join(sorted(options))}; got {value!r}")


@dataclass(frozen=True)
class BuildConfig:
    """All options of a build. Lengths in pixels, sizes in bytes, motion in HR px/frame."""

    source: str
    out: str
    scale: int = 4
    frames: int = 7
    stride: int = 3
    test_stride: int = 1
    patch: int = 32
    crops_per_window: int = 1
    crop: str = "motion"
    min_motion: float = 0.5
    min_texture: float = 5.0
    degradation: str = "bd"
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    stratify: bool = False  # split each category by the shares (see build.assign_splits)
    formats: tuple[str, ...] = ("parquet", "tfrecord")
    shard_size: int = 256 * 10**6
    group_size: int = 8
    fps: float = 25.0
    scene_detector: str = "adaptive"
    cut_threshold: float | None = None
    flow: str = "dis"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    engine: str = "local"
    ray_address: str | None = None

    def validate(self) -> BuildConfig:
        """Raise :class:`UsageError` with what to change if any option is invalid."""
        if self.frames < 1 or self.frames % 2 == 0:
            raise UsageError(
                f"--frames must be odd (a window is centred on one frame), got {self.frames}"
            )
        if self.crop == "motion" and self.frames < 3:
            raise UsageError("--crop motion measures motion across the window: use --frames >= 3")
        if self.scale not in SCALES:
            raise UsageError(
                f"--scale must be one of {', '.join(map(str, SCALES))}, got {self.scale}"
            )
        for name in ("stride", "test_stride", "patch", "crops_per_window", "group_size", "workers"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if self.shard_size < 1:
            raise UsageError("--shard-size must be positive")
        if self.fps <= 0:
            raise UsageError(f"--fps must be positive, got {self.fps}")
        _choice("crop", self.crop, CROP_MODES)
        _choice("degradation", self.degradation, DEGRADATIONS)
        _choice("scene-detector", self.scene_detector, SCENE_DETECTORS)
        _choice("flow", self.flow, FLOW_METHODS)
        _choice("engine", self.engine, ENGINES)
        if not self.formats:
            raise UsageError("--format needs at least one of parquet, tfrecord")
        for fmt in self.formats:
            _choice("format", fmt, FORMATS)
        parse_split(self.split)
        return self

    @property
    def crop_size(self) -> int:
        """HR crop side: the LR patch times the scale."""
        return self.patch * self.scale

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["split"], d["formats"] = list(self.split), list(self.formats)
        return d

    def dataset_args(self) -> dict[str, Any]:
        """The options that decide the dataset's bytes (recorded in ``dataset.json``)."""
        return {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown build option(s): {', '.join(unknown)}")
        data = dict(data)
        if "split" in data:
            data["split"] = parse_split(data["split"])
        if "formats" in data:
            data["formats"] = tuple(data["formats"])
        if "shard_size" in data:
            data["shard_size"] = parse_size(data["shard_size"])
        return cls(**data).validate()
