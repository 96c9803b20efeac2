"""The job worker: a process that takes queued jobs from the store one at a time and runs
them through :func:`vsrdata.evaluate.upscale.upscale_video`, the function behind
``vsrdata upscale``, with the same progress events.

Each worker dies with the server (Linux: ``PR_SET_PDEATHSIG``; elsewhere it notices its
parent is gone between frames). Output is written to a hidden partial file and renamed when
complete, and a job is marked done only after that, so a killed worker leaves nothing a user
could download; the restarted server queues the job again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.common.progress import Event, Tracker
from vsrdata.errors import VsrDataError
from vsrdata.serve.config import ServeConfig
from vsrdata.serve.store import Store

log = logging.getLogger(__name__)

PREVIEWS = ("bicubic", "model")


class JobCancelledError(Exception):
    """The job was deleted, or taken back by a restarted server, while it ran."""


def result_files(config: ServeConfig, job_id: str) -> list[Path]:
    """Every file a job may own (input, output, previews)."""
    res = config.results
    return [config.uploads / job_id, res / f"{job_id}.mp4",
            *(res / f"{job_id}.{p}.png" for p in PREVIEWS)]  # fmt: skip


def remove_files(config: ServeConfig, job_id: str) -> None:
    for path in result_files(config, job_id):
        path.unlink(missing_ok=True)


class JobProgress:
    """The progress reporter of one job: follows events in a :class:`Tracker` and writes the
    frame count, rate and time left to the store at most every ``period`` seconds."""

    def __init__(self, store: Store, job: dict[str, Any], parent: int, period: float = 0.5):
        self.store, self.job, self.parent, self.period = store, job, parent, period
        self.tracker = Tracker()
        self.written = 0.0

    def __call__(self, event: Event) -> None:
        self.tracker(event)
        now = time.monotonic()
        if now - self.written >= self.period:
            self.flush()
            self.written = now

    def flush(self) -> None:
        if os.getppid() != self.parent:  # the server is gone: stop at once
            os._exit(1)
        frames = self.tracker.snapshot()["tasks"].get("frames")
        if frames is None:
            return
        if not self.store.update(self.job["id"], self.job["token"], done=frames["done"],
                                 total=frames["total"], rate=frames["rate"],
                                 remaining=frames["remaining_seconds"]):  # fmt: skip
            raise JobCancelledError(self.job["id"])


class Capture:
    """An upscaler that remembers one frame (its LR centre and its output) for the page's
    side-by-side view, and otherwise passes every window through."""

    def __init__(self, upscaler: Any, index: int) -> None:
        self.upscaler, self.index, self.count = upscaler, index, 0
        self.scale, self.frames = upscaler.scale, upscaler.frames
        self.lr: np.ndarray | None = None
        self.hr: np.ndarray | None = None

    def __call__(self, window: np.ndarray) -> np.ndarray:
        out = self.upscaler(window)
        if self.count == self.index or self.lr is None:
            self.lr, self.hr = window[len(window) // 2], out
        self.count += 1
        return out


def make_upscaler(config: ServeConfig, job: dict[str, Any], cache: dict[str, Any]) -> Any:
    from vsrdata.evaluate.infer import Bicubic, KerasUpscaler

    if job["model"] == "bicubic":
        return Bicubic(job["scale"])
    if job["model"] not in cache:
        from vsrdata.common.quiet import import_tensorflow

        assert config.models is not None
        import_tensorflow()  # without its start-up notices in the server's log
        cache.clear()  # one model in memory at a time
        cache[job["model"]] = KerasUpscaler(Path(config.models) / job["model"], tile=config.tile)
    return cache[job["model"]]


def write_previews(config: ServeConfig, job_id: str, capture: Capture) -> None:
    import cv2

    from vsrdata.common.files import write_bytes_atomic
    from vsrdata.preprocess.degrade import imresize

    if capture.lr is None or capture.hr is None:
        return
    h, w = capture.hr.shape[:2]
    images = {"bicubic": imresize(capture.lr, capture.scale)[:h, :w], "model": capture.hr}
    for name, rgb in images.items():
        ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        assert ok
        write_bytes_atomic(config.results / f"{job_id}.{name}.png", png.tobytes())


def run_job(config: ServeConfig, store: Store, job: dict[str, Any], parent: int,
            cache: dict[str, Any]) -> None:  # fmt: skip
    """Run one claimed job to done or failed (or drop it when it was cancelled)."""
    from vsrdata.evaluate.upscale import upscale_video

    job_id, token = job["id"], job["token"]
    progress = JobProgress(store, job, parent)
    dst = config.results / f"{job_id}.mp4"
    try:
        capture = Capture(make_upscaler(config, job, cache), max(0, (job["frames"] or 1) // 2))
        result = upscale_video(config.uploads / job_id, dst, capture, progress=progress)
        write_previews(config, job_id, capture)
        size = sum(p.stat().st_size for p in result_files(config, job_id)[1:] if p.is_file())
        finished = store.update(job_id, token, state="done", finished=time.time(),
                                done=result["frames"], total=result["frames"], remaining=0,
                                output_bytes=size)  # fmt: skip
        if not finished:
            raise JobCancelledError(job_id)
        log.info("job %s done: %d frames", job_id, result["frames"])
    except JobCancelledError:
        if job_id not in store.ids():  # deleted while it ran (not queued again)
            remove_files(config, job_id)
    except VsrDataError as exc:
        _failed(config, store, job, str(exc))
    except Exception as exc:  # a bug or a broken model: the job fails, the worker lives on
        log.exception("job %s failed", job_id)
        _failed(config, store, job, f"internal error: {type(exc).__name__}: {exc}")


def _failed(config: ServeConfig, store: Store, job: dict[str, Any], message: str) -> None:
    for path in result_files(config, job["id"])[1:]:
        path.unlink(missing_ok=True)
    store.update(job["id"], job["token"], state="failed", error=message, finished=time.time())


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def worker_main(config: ServeConfig, parent: int, poll: float = 0.25) -> None:
    """The worker process: take jobs until the server is gone (or SIGTERM)."""
    _die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    store = Store(config.db)
    cache: dict[str, Any] = {}
    while os.getppid() == parent:
        job = store.claim()
        if job is None:
            time.sleep(poll)
            continue
        run_job(config, store, job, parent, cache)
