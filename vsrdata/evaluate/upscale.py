"""``upscale_video``: a low-resolution video file to a high-resolution H.264 MP4.

Streams with PyAV (any container FFmpeg reads): frames are decoded, windowed with their
temporal neighbours (padded at the ends), upscaled (tiled if large) and encoded one by one,
so memory stays bounded whatever the length. The output keeps the input's frame rate and
copies its first audio track, packet for packet, when there is one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.common.progress import Advance, Reporter, Start, silent
from vsrdata.errors import InputError
from vsrdata.evaluate.infer import streaming_windows

log = logging.getLogger(__name__)


def _open(path: Path) -> Any:
    import av

    if not path.is_file():
        raise InputError(f"{path} does not exist")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{path} is not a readable video: {exc}") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{path} has no video stream")
    return container


def probe(path: str | Path) -> dict[str, Any]:
    """Frame rate, frame count (when the container knows it) and size of a video file."""
    container = _open(Path(path))
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        return {"fps": Fraction(rate), "frames": int(stream.frames or 0),
                "width": stream.codec_context.width, "height": stream.codec_context.height,
                "audio": bool(container.streams.audio)}  # fmt: skip
    finally:
        container.close()


def _copy_audio(packet: Any, stream: Any, offset: float) -> Any:
    """The audio packet moved to ``stream`` and ``offset`` seconds earlier (None: drop)."""
    if packet.dts is None or packet.pts is None:
        return None
    shift = round(offset / packet.time_base)
    if packet.pts - shift < 0:  # audio before the first video frame
        return None
    packet.pts -= shift
    packet.dts -= shift
    packet.stream = stream
    return packet


def upscale_video(
    src: str | Path,
    dst: str | Path,
    upscaler: Any,
    temporal_pad: str = "reflect",
    crf: int = 18,
    progress: Reporter = silent,
) -> dict[str, Any]:
    """Upscale every frame of ``src`` into ``dst`` (.mp4); returns what was written.

    Output frames are numbered at the input's average frame rate from 0; the audio is
    shifted by the first video frame's start time so the two stay together. An audio codec
    MP4 cannot hold is dropped with a warning. A failure removes the partial output.
    """
    import av

    src, dst = Path(src), Path(dst)
    info = probe(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    source = _open(src)
    sink = None
    try:
        video = source.streams.video[0]
        audio = source.streams.audio[0] if source.streams.audio else None
        start = float(video.start_time * video.time_base) if video.start_time else 0.0
        sink = av.open(str(partial), "w", format="mp4")
        width = info["width"] * upscaler.scale // 2 * 2  # yuv420p needs even sides
        height = info["height"] * upscaler.scale // 2 * 2
        out_video = sink.add_stream("libx264", rate=info["fps"])
        out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
        out_video.options = {"crf": str(crf), "preset": "medium"}
        out_audio = None
        if audio is not None:
            try:
                out_audio = sink.add_stream_from_template(audio)
            except ValueError as exc:
                log.warning("%s: audio not copied (%s)", src, exc)
                audio = None

        def frames() -> Iterator[np.ndarray]:
            streams = [video] if audio is None else [video, audio]
            for packet in source.demux(*streams):
                if packet.stream is audio:
                    moved = _copy_audio(packet, out_audio, start)
                    if moved is not None:
                        sink.mux(moved)
                    continue
                for frame in packet.decode():
                    yield frame.to_ndarray(format="rgb24")

        count = 0
        progress(Start("frames", info["frames"] or None))
        for window in streaming_windows(frames(), upscaler.frames, temporal_pad):
            hr = upscaler(window)[:height, :width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(hr), format="rgb24")
            frame.pts = count
            frame.time_base = 1 / Fraction(info["fps"])
            sink.mux(out_video.encode(frame))
            count += 1
            progress(Advance("frames"))
        sink.mux(out_video.encode(None))
        sink.close()
    except av.error.FFmpegError as exc:
        _discard(sink, partial)
        raise InputError(f"cannot upscale {src}: {exc}") from None
    except BaseException:
        _discard(sink, partial)
        raise
    finally:
        source.close()
    partial.replace(dst)
    return {"frames": count, "width": width, "height": height, "fps": float(info["fps"]),
            "audio": audio is not None, "path": str(dst)}  # fmt: skip


def _discard(sink: Any, partial: Path) -> None:
    if sink is not None:
        with contextlib.suppress(Exception):  # a broken container may not close; it goes
            sink.close()
    partial.unlink(missing_ok=True)
