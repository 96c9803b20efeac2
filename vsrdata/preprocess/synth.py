"""Synthetic clips with known motion, from photographs scikit-image ships (nothing downloaded).

Categories (one subfolder each):
- ``pan``: the camera pans over a photograph at 1.5-4 px/frame in a random direction;
- ``zoom``: the camera zooms in or out by up to 30 % around a random point;
- ``rotate``: the camera rotates at 0.3-0.8 degrees/frame about the frame centre;
- ``objects``: one or two textured objects cross a static textured background, each within
  one side band (left or right 40 % of the frame), so a centre crop misses them.

Frames are rendered with sub-pixel bilinear warps and written as H.264 MP4 (libx264, yuv420p,
constant QP 16) through PyAV. Each clip has a sidecar ``<name>.motion.json`` with its
category, size, fps, cut positions and, per frame, the ground-truth boxes ``[x, y, w, h]`` of
what moves (the whole frame for camera motion, the objects' boxes otherwise). With
``cuts > 0`` a clip switches to a new photograph and new motion at evenly spaced hard cuts.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data

from vsrdata.errors import UsageError

log = logging.getLogger(__name__)

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
TEXTURES = ("gravel", "grass", "brick")
CATEGORIES = ("pan", "zoom", "rotate", "objects")
Box = list[int]
Segment = Iterator[tuple[np.ndarray, list[Box]]]


@dataclass(frozen=True)
class Look:
    """What a shot shows: a photograph, and a background texture (for ``objects``)."""

    photo: str
    texture: str


def _photo(name: str) -> np.ndarray:
    img = getattr(skimage.data, name)()
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def _cover(img: np.ndarray, min_h: float, min_w: float) -> np.ndarray:
    """Resize ``img`` (keeping its aspect) so it is at least min_h × min_w."""
    h, w = img.shape[:2]
    f = max(min_h / h, min_w / w)
    size = (math.ceil(w * f) + 1, math.ceil(h * f) + 1)
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)


def _warp(src: np.ndarray, m: np.ndarray, w: int, h: int) -> np.ndarray:
    """Frame pixel p samples ``src`` at m @ [p, 1] (inverse map, bilinear)."""
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(src, m, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT_101)


def _pan(rng: np.random.Generator, w: int, h: int, n: int, look: Look) -> Segment:
    speed = rng.uniform(1.5, 4.0)
    angle = rng.uniform(0, 2 * np.pi)
    v = speed * np.array([np.cos(angle), np.sin(angle)])
    src = _cover(_photo(look.photo), h + abs(v[1]) * n + 8, w + abs(v[0]) * n + 8)
    start = np.array(
        [4 + (abs(v[0]) * n if v[0] < 0 else 0), 4 + (abs(v[1]) * n if v[1] < 0 else 0)]
    )
    for t in range(n):
        ox, oy = start + v * t
        yield _warp(src, np.array([[1, 0, ox], [0, 1, oy]], np.float64), w, h), [[0, 0, w, h]]


def _zoom(rng: np.random.Generator, w: int, h: int, n: int, look: Look) -> Segment:
    src = _cover(_photo(look.photo), 1.2 * h, 1.2 * w)
    sh, sw = src.shape[:2]
    z0, z1 = (1.0, 1.3) if rng.random() < 0.5 else (1.3, 1.0)
    cx = rng.uniform(sw / 2 - 0.08 * sw, sw / 2 + 0.08 * sw)
    cy = rng.uniform(sh / 2 - 0.08 * sh, sh / 2 + 0.08 * sh)
    base = max(w / (sw - 2 * abs(cx - sw / 2)), h / (sh - 2 * abs(cy - sh / 2)))
    for t in range(n):
        z = z0 * (z1 / z0) ** (t / max(1, n - 1))
        s = 1.0 / (z * base)  # photo pixels per frame pixel
        m = np.array([[s, 0, cx - s * w / 2], [0, s, cy - s * h / 2]], np.float64)
        yield _warp(src, m, w, h), [[0, 0, w, h]]


def _rotate(rng: np.random.Generator, w: int, h: int, n: int, look: Look) -> Segment:
    diag = math.hypot(w, h) + 4
    src = _cover(_photo(look.photo), diag, diag)
    sh, sw = src.shape[:2]
    omega = rng.uniform(0.3, 0.8) * (1 if rng.random() < 0.5 else -1)
    for t in range(n):
        a = np.deg2rad(omega * t)
        c, s = np.cos(a), np.sin(a)
        m = np.array([[c, -s, 0.0], [s, c, 0.0]])
        m[:, 2] = np.array([sw / 2, sh / 2]) - m[:, :2] @ np.array([w / 2, h / 2])
        yield _warp(src, m, w, h), [[0, 0, w, h]]


def _background(rng: np.random.Generator, w: int, h: int, texture_name: str) -> np.ndarray:
    texture = _cover(getattr(skimage.data, texture_name)(), h, w)[:h, :w]
    tint = rng.uniform(0.5, 1.0, size=3)
    return np.clip(texture[..., None].astype(np.float64) * tint, 0, 255).astype(np.uint8)


def _objects(rng: np.random.Generator, w: int, h: int, n: int, look: Look) -> Segment:
    bg = _background(rng, w, h, look.texture)
    side = max(8, int(0.3 * min(w, h)))
    band = int(0.4 * w)
    movers = []
    for _ in range(int(rng.integers(1, 3))):
        photo = _cover(_photo(look.photo), side + 1, side + 1)
        py, px = rng.integers(0, photo.shape[0] - side), rng.integers(0, photo.shape[1] - side)
        left = 0 if rng.random() < 0.5 else w - band
        pos = np.array([rng.uniform(left, left + band - side), rng.uniform(0, h - side)])
        speed, angle = rng.uniform(2.0, 5.0), rng.uniform(0, 2 * np.pi)
        vel = speed * np.array([np.cos(angle), np.sin(angle)])
        movers.append((photo[py : py + side, px : px + side], left, pos, vel))
    for _ in range(n):
        frame, boxes = bg.copy(), []
        for patch, left, pos, vel in movers:
            lo, hi = np.array([left, 0.0]), np.array([left + band - side, h - side])
            for d in range(2):  # bounce inside the side band
                if not lo[d] <= pos[d] + vel[d] <= hi[d]:
                    vel[d] = -vel[d]
            pos += vel
            x0, y0 = np.floor(pos).astype(int)
            fx, fy = pos - np.floor(pos)
            shifted = _warp(patch, np.array([[1, 0, -fx], [0, 1, -fy]]), side, side)
            frame[y0 : y0 + side, x0 : x0 + side] = shifted
            boxes.append([int(x0), int(y0), side, side])
        yield frame, boxes


MOTIONS: dict[str, Callable[[np.random.Generator, int, int, int, Look], Segment]] = {
    "pan": _pan,
    "zoom": _zoom,
    "rotate": _rotate,
    "objects": _objects,
}


def _write_clip(
    path: Path, frames: Iterator[np.ndarray], w: int, h: int, fps: int, faststart: bool
) -> int:
    """Encode RGB frames as H.264 MP4; return the frame count. Same frames, same bytes.

    Constant QP rather than CRF: x264's CRF rate control was seen to give different bytes for
    the same frames from run to run, constant QP does not.
    """
    count = 0
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"qp": "16", "preset": "veryfast", "threads": "1"}
        for rgb in frames:
            # BT.601 4:2:0 conversion here rather than in swscale, whose output varied too
            yuv = np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420))
            frame = av.VideoFrame.from_ndarray(yuv.astype(np.uint8), format="yuv420p")
            frame.pts, frame.time_base = count, Fraction(1, fps)
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count


def synth_clip(
    path: Path,
    category: str,
    seed: int,
    n_frames: int,
    size: tuple[int, int],
    fps: int,
    cuts: int,
    faststart: bool = False,
) -> dict[str, object]:
    """Write one clip and its sidecar; return the sidecar's content.

    ``faststart`` puts the MP4 index first (as streaming sites do), so a truncated copy still
    opens and decodes up to where it breaks off.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    bounds = np.linspace(0, n_frames, cuts + 2).round().astype(int)
    boxes: list[list[Box]] = []
    # consecutive shots always show a different photograph and texture, so cuts are real
    first_photo, first_texture = rng.integers(len(PHOTOS)), rng.integers(len(TEXTURES))
    looks = [
        Look(PHOTOS[(first_photo + k) % len(PHOTOS)], TEXTURES[(first_texture + k) % len(TEXTURES)])
        for k in range(cuts + 1)
    ]

    def frames() -> Iterator[np.ndarray]:
        for look, a, b in zip(looks, bounds[:-1], bounds[1:], strict=True):
            for frame, frame_boxes in MOTIONS[category](rng, w, h, int(b - a), look):
                boxes.append(frame_boxes)
                yield frame

    count = _write_clip(path, frames(), w, h, fps, faststart)
    meta: dict[str, object] = {
        "clip": path.name,
        "category": category,
        "size": [w, h],
        "fps": fps,
        "frames": count,
        "seed": seed,
        "cuts": [int(b) for b in bounds[1:-1]],
        "motion_boxes": boxes,
    }
    path.with_suffix(".motion.json").write_text(json.dumps(meta))
    return meta


def synthesize(
    out: Path,
    clips: int = 8,
    seconds: float = 2.0,
    size: tuple[int, int] = (480, 270),
    seed: int = 0,
    fps: int = 25,
    cuts: int = 0,
    categories: tuple[str, ...] = CATEGORIES,
) -> list[Path]:
    """Write ``clips`` clips to ``out/<category>/<category>_NNN.mp4``, categories in turn."""
    w, h = size
    if w % 2 or h % 2 or w < 64 or h < 64:
        raise UsageError(f"--size must be even and at least 64x64 (H.264 4:2:0), got {w}x{h}")
    if clips < 1 or seconds <= 0 or fps < 1 or cuts < 0:
        raise UsageError("--clips, --seconds and --fps must be positive and --cuts >= 0")
    unknown = set(categories) - set(MOTIONS)
    if unknown:
        raise UsageError(f"unknown categories {sorted(unknown)}; choose from {list(MOTIONS)}")
    n_frames = max(1, round(seconds * fps))
    paths = []
    for i in range(clips):
        category = categories[i % len(categories)]
        folder = out / category
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{category}_{i:03d}.mp4"
        synth_clip(path, category, seed * 100_003 + i, n_frames, size, fps, cuts)
        log.info("wrote %s", path)
        paths.append(path)
    return paths
