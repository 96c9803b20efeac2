"""Helpers the tests share (fixtures stay in conftest.py; tests import helpers only from here)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

from vsrdata.crawler.http import PoliteSession
from vsrdata.preprocess.config import BuildConfig


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``vsrdata ARGS`` run in this process, its exit code and output as a subprocess gives
    them (log records included in stderr), without a second TensorFlow start-up (5-9 s here).

    For commands whose process itself is not under test: the start-up notices, signals,
    kills and the ``python -m vsrdata`` entry point have their own subprocess tests. The
    SIGINT and SIGTERM handlers ``train`` and ``finetune`` install for their process are put
    back afterwards. A command still running after ``timeout`` seconds raises TimeoutError
    (SIGALRM: tests run in the main thread), as a subprocess's time-out would.
    """
    from vsrdata.cli.app import run

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"vsrdata {' '.join(args)} ran for more than {timeout} s")

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    kept = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    signal.signal(signal.SIGALRM, expire)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args))
    finally:
        signal.alarm(0)
        for signum, previous in kept.items():
            signal.signal(signum, previous)
        root.removeHandler(handler)
    return subprocess.CompletedProcess(["vsrdata", *args], code, out.getvalue(), err.getvalue())


def sidecar(video: Path | str) -> dict[str, Any]:
    """The motion sidecar ``vsrdata synth`` writes beside a clip."""
    return json.loads(Path(video).with_suffix(".motion.json").read_text())


def small_config(source: Path | str, out: Path | str, **overrides: Any) -> BuildConfig:
    """A fast build configuration for 320x240 test clips."""
    options: dict[str, Any] = {
        "patch": 16,
        "test_stride": 4,  # whole-frame test windows: every 4th frame is plenty for tests
        "split": (0.5, 0.25, 0.25),
        "group_size": 2,
        "workers": 1,
        "shard_size": 10**9,
    }
    options.update(overrides)
    return BuildConfig(source=str(source), out=str(out), **options).validate()


class FakeTime:
    """A clock that only moves when the session sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def session(t: FakeTime, **kw: object) -> PoliteSession:
    """A crawl session on the fake clock ``t`` (no real waiting), seeded jitter."""
    return PoliteSession(sleep=t.sleep, clock=t.clock, wall=t.clock, rng=random.Random(0),
                         **kw)  # type: ignore[arg-type]  # fmt: skip


# options that make a registered model cheaper to train or run in tests while exercising the
# same code (DRCN: 16 recursions of 256 channels at HR cost 20 s a test; 4 build the same graph
# of recursion, supervision and ensemble)
LIGHT_OPTIONS: dict[str, dict[str, object]] = {"drcn": {"recursions": 4}, "srresnet": {"blocks": 4}}
# The deeper DUF variants are duf-16l's code with more dense blocks (duf.VARIANTS), SRGAN's
# generator is SRResNet's: their counts, shapes and exact radii are tested; training, tiling
# them or building every scale of theirs again costs graph building for no new code path
# (SRGAN's adversarial training: test_srgan.py).
SAME_CODE_AS: dict[str, str] = {"duf-28l": "duf-16l", "duf-52l": "duf-16l", "srgan": "srresnet"}
# the networks without exact tiles: VESPCN's motion compensation warps by a learned flow (no
# bounded reach) and pads to a multiple for its strided convolutions; they tile with overlap
PLAIN_TILES = frozenset({"vespcn"})


def clip_with_audio(path: Path, frames: int = 12, fps: int = 10, size: tuple[int, int] = (64, 48),
                    audio_track: bool = True) -> None:  # fmt: skip
    """A short H.264 MP4 of random frames (``size`` is width, height) with an AAC tone."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    width, height = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=16000) if audio_track else None
        for i in range(frames):
            img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is None:
            return
        samples = 16000 * frames // fps
        tone = (0.2 * np.sin(np.arange(samples) / 8.0)).astype(np.float32)[None]
        for start in range(0, samples, 1024):
            chunk = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp",
                                               layout="mono")  # fmt: skip
            chunk.sample_rate, chunk.pts = 16000, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))


def write_clip(folder: Path, frames: int, size: tuple[int, int] = (96, 80), seed: int = 0,
               name: str = "{:08d}.png") -> None:  # fmt: skip
    """A textured scene panning 3 px per frame (so neighbouring frames differ), as PNGs."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    texture = cv2.GaussianBlur(rng.integers(0, 256, (h + 8, w + 3 * frames + 8, 3), np.uint8),
                               (0, 0), 1.5)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(frames):
        rgb = texture[4 : 4 + h, 3 * t : 3 * t + w]
        cv2.imwrite(str(folder / name.format(t)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
