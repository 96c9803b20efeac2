"""Downloading one file safely: stream, resume, check, hash, move into place, verify.

1. Stream to ``<dest>.part`` in the destination folder. If a ``.part`` is there from an
   interrupted run, ask for the rest with ``Range: bytes=N-`` (and ``If-Range`` with the ETag
   or Last-Modified the part came with, so a changed file is sent whole); a 206 whose
   Content-Range starts at N is appended, anything else starts over.
2. Refuse bodies that are not video (``text/*``, JSON, HTML error pages), bodies larger than
   ``max_bytes`` (announced or actual), and bodies shorter than announced; a connection cut
   mid-body is resumed, up to the session's number of tries.
3. Hash the complete file (sha256) and ``os.replace`` it onto ``dest``: a file under its
   final name is always whole.
4. :func:`probe_video` opens it with OpenCV and reads its real duration, size and fps; only
   then does the caller count it as downloaded.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import requests

from vsrdata.common.files import sha256_file
from vsrdata.crawler.http import CrawlError, PoliteSession

__all__ = ["Downloaded", "VideoInfo", "download", "probe_video", "safe_name"]

CHUNK = 1 << 16  # a cut loses at most the chunk being read; the rest is kept for resuming
_NOT_VIDEO = re.compile(r"^(text/|application/(json|xml|xhtml|javascript))", re.IGNORECASE)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    width: int
    height: int
    fps: float
    frames: int


def safe_name(source_id: str, extension: str = ".mp4") -> str:
    """A file name from an id (never from a server-given path): [A-Za-z0-9._-] only.

    The readable part is lossy (``File:Ёлка.webm`` and ``File:Пляж.webm`` both read
    ``File_``), so 12 hex digits of sha256(id) keep different ids in different files.
    """
    ext = extension.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", extension or "") else ".mp4"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", source_id).strip("._") or "clip"
    stem = stem[: -len(ext)] if stem.lower().endswith(ext) else stem
    digest = hashlib.sha256(source_id.encode()).hexdigest()[:12]
    return f"{stem[:100]}-{digest}{ext}"


def _content_range(resp: requests.Response) -> tuple[int, int | None] | None:
    """(first byte, whole size or None for '*') of a 206 answer's Content-Range."""
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
    if m is None:
        return None
    return int(m.group(1)), None if m.group(2) == "*" else int(m.group(2))


def _appends(resp: requests.Response, offset: int) -> bool:
    """Whether a 206 answer continues the file exactly at ``offset``."""
    cr = _content_range(resp)
    return cr is not None and cr[0] == offset


def _total_size(resp: requests.Response, offset: int) -> int | None:
    """The whole file's size from Content-Range (206) or Content-Length (200)."""
    if resp.status_code == 206:
        cr = _content_range(resp)
        return cr[1] if cr is not None and cr[0] == offset else None
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def download(
    session: PoliteSession,
    url: str,
    dest: Path,
    max_bytes: int,
    expected_size: int | None = None,
    robots: bool = False,
) -> Downloaded:
    """Fetch ``url`` to ``dest`` (see the module docstring); raise CrawlError on failure.

    ``expected_size`` (what the API announced) is the size to check against when the server
    sends no length of its own.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    validator = dest.with_name(dest.name + ".part.etag")  # what the partial body came from
    content_type = ""
    for _ in range(session.max_tries):
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        if offset and validator.exists():  # the server sends the whole file if it changed
            headers["If-Range"] = validator.read_text()
        try:
            resp = session.get(url, headers=headers, stream=True, robots=robots)
        except CrawlError as exc:
            if exc.status == 416 and offset:  # the part is whole, or stale: start over
                part.unlink()
                continue
            raise
        with resp:
            content_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
            if _NOT_VIDEO.match(content_type):
                raise CrawlError(f"not a video: the server sent {content_type}")
            if resp.status_code == 206 and not _appends(resp, offset):
                part.unlink(missing_ok=True)  # a range we did not ask for: start over
                continue
            if resp.status_code != 206:
                offset = 0
            tag = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
            if tag and not offset:
                validator.write_text(tag)
            total = _total_size(resp, offset) or expected_size
            if total is not None and total > max_bytes:
                part.unlink(missing_ok=True)
                raise CrawlError(f"too large: {total} bytes > --max-bytes {max_bytes}")
            try:
                _stream(resp, part, offset, max_bytes)
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError):
                session.pause(0)
                continue  # resume from what arrived
        size = part.stat().st_size
        if total is not None and size < total:
            continue  # cut short without an error: resume
        if total is not None and size > total:
            part.unlink()
            raise CrawlError(f"body longer than announced ({size} > {total} bytes)")
        sha = sha256_file(part)
        os.replace(part, dest)
        validator.unlink(missing_ok=True)
        return Downloaded(dest, size, sha, content_type)
    raise CrawlError(f"download kept breaking off after {session.max_tries} tries")


def _stream(resp: requests.Response, part: Path, offset: int, max_bytes: int) -> None:
    with open(part, "r+b" if offset else "wb") as fh:
        fh.seek(offset)
        fh.truncate()
        written = offset
        for chunk in resp.iter_content(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                fh.close()
                part.unlink(missing_ok=True)
                raise CrawlError(f"too large: more than --max-bytes {max_bytes}")
            fh.write(chunk)


def probe_video(path: Path) -> VideoInfo:
    """Open a file with OpenCV; raise CrawlError unless it decodes as video."""
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise CrawlError("downloaded file does not decode as video")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        h, w = frame.shape[:2]
        return VideoInfo(frames / fps if fps > 0 else 0.0, w, h, fps, frames)
    finally:
        cap.release()
