"""Clip discovery and streaming decode of video files, frame folders and crawl catalogs.

This is the colour boundary of vsrdata: OpenCV decodes BGR, and every frame leaving this
module is uint8 RGB, H×W×3. Frames are yielded one at a time, so memory never depends on the
clip's length.

Clip layouts (see :func:`discover`):
- a video file; its category is its parent folder's name;
- a folder that holds only images (and at least one): one clip, frames in natural name order
  (``im2.png`` before ``im10.png``), as in REDS, Vimeo-90K and Vid4; category = its parent's;
- a crawl catalog (``DIR/catalog.sqlite``, or the crawl folder ``DIR`` itself): its
  downloaded clips, with the ids, categories, sources and licenses the crawl recorded.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vsrdata.common.constants import IMAGE_EXTS, VIDEO_EXTS
from vsrdata.errors import ClipError, UsageError

# FFmpeg inside OpenCV prints its errors ("moov atom not found") to stderr; the build reports
# unreadable clips itself. Must be set before OpenCV opens its first video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

log = logging.getLogger(__name__)

ROOT_CATEGORY = "uncategorized"
# A container that announces N frames but yields fewer than this share is checked for a
# decoder error in the middle (refused) and otherwise kept as a partly decodable clip.
TRUNCATED_SHARE = 0.9
# Containers whose frame count comes from an index; others (WebM, MKV, MPEG-TS, ...) only
# estimate it from the duration, so a short count there proves nothing.
INDEXED_EXTS = frozenset([".mp4", ".m4v", ".mov", ".3gp", ".avi"])


@dataclass(frozen=True)
class ClipRef:
    """Where a clip is and what it is; everything a worker needs to process it.

    ``clip_id`` is ``"<source>:<source_id>"`` for crawled clips and the path relative to the
    input folder for folder inputs (DESIGN.md, "Clip identity").
    """

    clip_id: str
    path: str
    kind: str  # "video" | "frames"
    category: str
    source: str = "folder"
    license: str = ""


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _frame_files(folder: Path) -> list[Path] | None:
    """The folder's images in natural order if it holds only images, else None."""
    entries = [e for e in os.scandir(folder) if not _is_hidden(e.name)]
    if not entries or any(e.is_dir() for e in entries):
        return None
    if all(Path(e.name).suffix.lower() in IMAGE_EXTS for e in entries):
        return sorted((Path(e.path) for e in entries), key=lambda p: _natural_key(p.name))
    return None


def discover(source: Path) -> list[ClipRef]:
    """All clips under ``source`` (a folder, or a single video file), sorted by clip id.

    Files whose extension is not a video's are ignored; a file with a video extension that is
    not really a video is still listed, and the build reports why it could not be used.
    """
    if not source.exists():
        raise UsageError(f"SOURCE {source} does not exist; give a folder of videos or frames")
    if source.is_file() and source.suffix == ".sqlite":
        return _catalog_clips(source.parent)
    if source.is_dir() and (source / "catalog.sqlite").is_file():  # a crawl folder
        return _catalog_clips(source)
    if source.is_file():
        if source.suffix.lower() not in VIDEO_EXTS:
            raise UsageError(
                f"SOURCE {source} is neither a folder nor a video file "
                f"(known video extensions: {' '.join(sorted(VIDEO_EXTS))})"
            )
        return [ClipRef(source.name, str(source), "video", source.parent.name or ROOT_CATEGORY)]
    clips: list[ClipRef] = []
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d))
        here = Path(folder)
        category = here.name if here != source else ROOT_CATEGORY
        for d in list(dirs):
            if _frame_files(here / d) is not None:
                dirs.remove(d)  # a frame folder is a clip, not a place to look further
                rel = (here / d).relative_to(source).as_posix()
                clips.append(ClipRef(rel, str(here / d), "frames", category))
        for name in sorted(files):
            if Path(name).suffix.lower() in VIDEO_EXTS and not _is_hidden(name):
                rel = (here / name).relative_to(source).as_posix()
                clips.append(ClipRef(rel, str(here / name), "video", category))
    if _frame_files(source) is not None:  # SOURCE itself is one frame folder
        clips.append(ClipRef(source.name, str(source), "frames", ROOT_CATEGORY))
    return sorted(clips, key=lambda c: c.clip_id)


def _catalog_clips(folder: Path) -> list[ClipRef]:
    """The downloaded clips of a crawl folder's catalog, with source, category and license."""
    from vsrdata.crawler.catalog import Catalog

    with Catalog(folder, create=False, readonly=True) as catalog:
        rows = catalog.rows("downloaded")
    clips = []
    for r in rows:
        local = str(folder / r.local_path)
        clips.append(ClipRef(r.clip_id, local, "video", r.category or r.keyword, r.source,
                             r.license_id))  # fmt: skip
    return sorted(clips, key=lambda c: c.clip_id)


def read_image(path: Path) -> np.ndarray:
    """One frame image file as uint8 RGB; :class:`ClipError` when it cannot be decoded."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ClipError(f"unreadable frame image {Path(path).name}")
    return _to_rgb(img)


class FrameStream:
    """An open clip: metadata up front, then RGB frames one at a time.

    With ``prefetch > 0`` a thread decodes up to that many frames ahead of the consumer.

    Raises :class:`ClipError` when the clip cannot be opened, has no decodable frame, has a
    decoder error followed by more frames (:func:`decode_error_in_the_middle`), changes frame
    size, or holds an unreadable image. A video whose decoding simply ends early (a cut file,
    a container announcing more frames than it holds) yields the frames it has; afterwards
    :attr:`partial` is True and :attr:`decoded` says how many there were.
    """

    def __init__(self, ref: ClipRef, fps: float = 25.0, prefetch: int = 2) -> None:
        self.ref = ref
        self.fps = fps
        self.prefetch = prefetch
        self.announced = 0  # frames the container announces (0: unknown)
        self.decoded = 0  # frames yielded so far
        self.partial = False  # decoding ended well before the announced count
        self._cap: cv2.VideoCapture | None = None
        self._files: list[Path] = []
        self._first: np.ndarray
        if ref.kind == "video":
            self._open_video()
        else:
            self._files = _frame_files(Path(ref.path)) or []
            if not self._files:
                raise ClipError("frame folder holds no images")
            self.announced = len(self._files)
            self._first = read_image(self._files[0])
        self.height, self.width = self._first.shape[:2]

    def _open_video(self) -> None:
        path = self.ref.path
        if os.path.getsize(path) == 0:
            raise ClipError("empty file (0 bytes)")
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise ClipError("not a readable video (OpenCV could not open it)")
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise ClipError("no decodable video frame")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else self.fps
        self.announced = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._cap = cap
        self._first = _to_rgb(frame)

    def _raw_frames(self) -> Generator[np.ndarray, None, None]:
        yield self._first
        if self._cap is not None:
            while True:
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    return
                yield _to_rgb(frame)
        else:
            for path in self._files[1:]:
                yield read_image(path)

    def _prefetched(self) -> Generator[np.ndarray, None, None]:
        """``_raw_frames`` decoded ahead by a thread (OpenCV releases the GIL while decoding),
        so decoding overlaps the caller's work; at most ``prefetch`` frames wait in between."""
        frames: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def put(item: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    frames.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def decode() -> None:
            try:
                for frame in self._raw_frames():
                    if not put(("frame", frame)):
                        return
                put(("end", None))
            except BaseException as exc:  # handed to the consumer, raised there
                put(("error", exc))

        worker = threading.Thread(target=decode, name=f"decode {self.ref.clip_id}", daemon=True)
        worker.start()
        try:
            while True:
                kind, value = frames.get()
                if kind == "frame":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            stop.set()
            worker.join()

    def __iter__(self) -> Iterator[np.ndarray]:
        count = 0
        source = self._prefetched() if self.prefetch > 0 else self._raw_frames()
        try:
            for frame in source:
                if frame.shape[:2] != (self.height, self.width):
                    raise ClipError(
                        f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, "
                        f"the clip started at {self.width}x{self.height}"
                    )
                count += 1
                self.decoded = count
                yield frame
        finally:
            source.close()  # stops and joins the decode thread before the capture goes
            self.close()
        indexed = Path(self.ref.path).suffix.lower() in INDEXED_EXTS
        # an indexed container that yields 2+ frames fewer than it lists may have a hole
        # (one frame fewer is a common off-by-one of muxers); others only estimate a count
        if indexed and self.announced and count <= self.announced - 2:
            broken = decode_error_in_the_middle(self.ref.path)
            if broken:
                raise ClipError(f"{broken} (decoded {count} of {self.announced} frames)")
        if indexed and self.announced and count < TRUNCATED_SHARE * self.announced:
            self.partial = True
            log.info("%s: decoding ended after %d of %d announced frames",
                     self.ref.clip_id, count, self.announced)  # fmt: skip

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def decode_error_in_the_middle(path: str) -> str | None:
    """Why a video that decoded short cannot be trusted, or None if its data simply ends.

    OpenCV skips packets it cannot decode and says nothing, so a short decode is checked
    again with PyAV, packet by packet: a decoder error followed by more decodable frames is a
    hole in the middle (windows across it would join frames that are not neighbours); errors
    only at the end, or none, mean the file is cut or its container announces more frames
    than it holds, and the frames before are good.
    """
    import av

    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as exc:
        return f"FFmpeg cannot open it ({getattr(exc, 'strerror', None) or exc})"
    decoded = 0
    failed: tuple[int, int | None, str] | None = None  # frames before, packet pts, error
    with container:
        if not container.streams.video:
            return "FFmpeg finds no video stream"
        try:
            for packet in container.demux(container.streams.video[0]):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as exc:
                    failed = failed or (decoded, packet.pts, exc.strerror or str(exc))
                    continue
                decoded += len(frames)
                if failed is None or packet.size == 0:  # the final flush: frames held back
                    continue
                # a frame shown after the broken packet (decoders hold a few frames back, so
                # frames that arrive later but come before it in time are not a hole)
                later = [
                    f for f in frames if f.pts is None or failed[1] is None or f.pts > failed[1]
                ]
                if later:
                    return (
                        f"a decoder error after frame {failed[0]} ({failed[2]}), then more frames"
                    )
        except av.error.FFmpegError:
            pass  # the container's data ends mid-packet: the end of the file, not a hole
    return None


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def count_frames(ref: ClipRef) -> int:
    """Frames the clip announces without decoding it (0 when unknown or unreadable)."""
    if ref.kind == "frames":
        return len(_frame_files(Path(ref.path)) or [])
    cap = cv2.VideoCapture(ref.path)
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if cap.isOpened() else 0
    finally:
        cap.release()
