"""The server's settings: where it keeps its files, and the limits each user works within."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from vsrdata.errors import UsageError

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one upload and one user may take. Exceeding one is refused with a message."""

    upload_bytes: int = 500 * MB  # one upload (HTTP 413 past it, cut off while streaming)
    seconds: float = 600.0  # an input video's duration
    width: int = 1920  # an input's frame size (LR side; the output is scale times that)
    height: int = 1080
    queued: int = 5  # a user's jobs waiting or running
    quota_bytes: int = 4096 * MB  # a user's stored inputs and results
    retention_seconds: float = 86400.0  # finished jobs (and their files) are deleted after this

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            if not getattr(self, f.name) > 0:
                raise UsageError(f"limit {f.name} must be positive, got {getattr(self, f.name)}")


@dataclass(frozen=True)
class ServeConfig:
    """``data``: the server's folder (SQLite state, uploads, results, the cookie key) and where
    it finds datasets and training runs (``<data>/runs``); ``models``: the ``.keras`` models
    offered for upscaling."""

    data: Path = Path("serve-data")
    models: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # jobs run at the same time, each in its own process
    training: bool = True  # the training page may start and stop runs
    tile: int = 256  # upscale tiles of at most this many LR pixels a side
    limits: Limits = Limits()

    def validate(self) -> None:
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if not 0 < self.port < 65536:
            raise UsageError(f"--port must be 1-65535, got {self.port}")
        if self.models is not None and not Path(self.models).is_dir():
            raise UsageError(f"--models {self.models} is not a folder")
        self.limits.validate()

    @property
    def db(self) -> Path:
        return Path(self.data) / "serve.sqlite"

    @property
    def uploads(self) -> Path:
        return Path(self.data) / "uploads"

    @property
    def results(self) -> Path:
        return Path(self.data) / "results"

    @property
    def runs(self) -> Path:
        return Path(self.data) / "runs"
