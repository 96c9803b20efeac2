"""``upscale_video``: a low-resolution video file to a high-resolution H.264 MP4.

Streams with PyAV (any container FFmpeg reads): frames are decoded, windowed with their
temporal neighbours (padded at the ends), upscaled (tiled if large) and encoded one by one,
so memory stays bounded whatever the length. The output keeps the input's frame rate and
copies its first audio track, packet for packet, when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.errors import InputError
from vsrdata.evaluate.infer import streaming_windows


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


def upscale_video(
    src: str | Path,
    dst: str | Path,
    upscaler: Any,
    temporal_pad: str = "reflect",
    crf: int = 18,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Upscale every frame of ``src`` into ``dst`` (.mp4); returns what was written."""
    import av

    src, dst = Path(src), Path(dst)
    info = probe(src)
    source = _open(src)
    video = source.streams.video[0]
    audio = source.streams.audio[0] if source.streams.audio else None
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    sink = av.open(str(partial), "w", format="mp4")
    try:
        width = info["width"] * upscaler.scale // 2 * 2  # yuv420p needs even sides
        height = info["height"] * upscaler.scale // 2 * 2
        out_video = sink.add_stream("libx264", rate=info["fps"])
        out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
        out_video.options = {"crf": str(crf), "preset": "medium"}
        out_audio = sink.add_stream_from_template(audio) if audio is not None else None

        def frames() -> Iterator[np.ndarray]:
            streams = [video] if audio is None else [video, audio]
            for packet in source.demux(*streams):
                if packet.stream is audio:
                    if packet.dts is not None:
                        packet.stream = out_audio
                        sink.mux(packet)
                    continue
                for frame in packet.decode():
                    yield frame.to_ndarray(format="rgb24")

        count = 0
        for window in streaming_windows(frames(), upscaler.frames, temporal_pad):
            hr = upscaler(window)[:height, :width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(hr), format="rgb24")
            frame.pts = count
            frame.time_base = 1 / Fraction(info["fps"])
            sink.mux(out_video.encode(frame))
            count += 1
            if progress:
                progress(1)
        sink.mux(out_video.encode(None))
    except BaseException:
        sink.close()
        source.close()
        partial.unlink(missing_ok=True)
        raise
    sink.close()
    source.close()
    partial.replace(dst)
    return {"frames": count, "width": width, "height": height, "fps": float(info["fps"]),
            "audio": audio is not None, "path": str(dst)}  # fmt: skip
