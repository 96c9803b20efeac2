"""Evaluation protocols: which frames and pixels are scored, and on which channel.

- ``duf``: the DUF paper's evaluation code (yhjo09/VSR-DUF ``test.py``): PSNR/SSIM on Y,
  8 HR pixels cropped from every border, the first and last 2 frames of each clip left out
  (their temporal neighbours are padding).
- ``standard``: Y channel, ``--crop-border`` pixels cropped (often the scale), all frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from vsrdata.errors import UsageError

PROTOCOLS = ("duf", "standard")


@dataclass(frozen=True)
class Protocol:
    name: str
    crop_border: int
    skip_frames: int  # left out at each end of a clip
    y_channel: bool = True

    def scored(self, index: int, length: int) -> bool:
        """Is frame ``index`` (0-based) of a clip of ``length`` frames scored?"""
        return self.skip_frames <= index < length - self.skip_frames

    def describe(self) -> str:
        frames = (
            f"first and last {self.skip_frames} frames of each clip left out"
            if self.skip_frames
            else "all frames"
        )
        channel = "Y (BT.601, MATLAB rgb2ycbcr)" if self.y_channel else "RGB"
        return f"{self.name}: {channel}, {self.crop_border}-pixel border cropped, {frames}"


def make_protocol(name: str, crop_border: int | None = None) -> Protocol:
    if name == "duf":
        if crop_border not in (None, 8):
            raise UsageError("--protocol duf crops 8 pixels; use --protocol standard to choose")
        return Protocol("duf", 8, 2)
    if name == "standard":
        if crop_border is not None and crop_border < 0:
            raise UsageError(f"--crop-border must be >= 0, got {crop_border}")
        return Protocol("standard", 0 if crop_border is None else crop_border, 0)
    raise UsageError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {name!r}")
