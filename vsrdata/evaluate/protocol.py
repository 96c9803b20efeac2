"""Evaluation protocols: which frames and pixels are scored, and on which channel.

- ``duf``: the DUF paper's evaluation code (yhjo09/VSR-DUF ``test.py``): PSNR/SSIM on Y,
  8 HR pixels cropped from every border, the first and last 2 frames of each clip left out
  (their temporal neighbours are padding).
- ``standard``: Y channel, ``--crop-border`` pixels cropped (0 unless given), all frames: the
  Vid4, UDM10 and SPMCS columns of the BasicVSR/EDVR-era tables (BasicSR's test options).
- ``rgb``: the three RGB channels, ``--crop-border`` (0), all frames: REDS4 in those tables.
- ``center``: Y, no border, the centre frame of each clip only: Vimeo-90K-T, whose clips are
  septuplets scored at ``im4``.

Y is BT.601 as MATLAB's ``rgb2ycbcr`` computes it (16-235), the convention of every table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vsrdata.errors import UsageError

PROTOCOLS = ("duf", "standard", "rgb", "center")


@dataclass(frozen=True)
class Protocol:
    name: str
    crop_border: int
    skip_frames: int  # left out at each end of a clip
    y_channel: bool = True
    center_only: bool = False  # only the clip's centre frame is scored

    def scored(self, index: int, length: int) -> bool:
        """Is frame ``index`` (0-based) of a clip of ``length`` frames scored?"""
        if self.center_only:
            return index == length // 2
        return self.skip_frames <= index < length - self.skip_frames

    def describe(self) -> str:
        if self.center_only:
            frames = "the centre frame of each clip only"
        elif self.skip_frames:
            frames = f"first and last {self.skip_frames} frames of each clip left out"
        else:
            frames = "all frames"
        channel = "Y (BT.601, MATLAB rgb2ycbcr)" if self.y_channel else "RGB"
        return f"{self.name}: {channel}, {self.crop_border}-pixel border cropped, {frames}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Protocol:
        """The protocol a report's ``protocol`` entry describes (see :meth:`as_dict`)."""
        return cls(d["name"], d["crop_border"], d["skip_frames"], d.get("y_channel", True),
                   d.get("center_only", False))  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "crop_border": self.crop_border,
                "skip_frames": self.skip_frames, "y_channel": self.y_channel,
                "center_only": self.center_only}  # fmt: skip


def make_protocol(name: str, crop_border: int | None = None) -> Protocol:
    if crop_border is not None and crop_border < 0:
        raise UsageError(f"--crop-border must be >= 0, got {crop_border}")
    if name == "duf":
        if crop_border not in (None, 8):
            raise UsageError("--protocol duf crops 8 pixels; use --protocol standard to choose")
        return Protocol("duf", 8, 2)
    if name == "center":
        return Protocol("center", crop_border or 0, 0, center_only=True)
    if name in ("standard", "rgb"):
        return Protocol(name, crop_border or 0, 0, y_channel=name == "standard")
    raise UsageError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {name!r}")
