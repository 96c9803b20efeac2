"""Fixtures of the server tests: an app without worker processes (the tests run its queue
in-process with :func:`drain`), a second browser session, and a short clip with audio."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clip_with_audio
from vsrdata.serve.config import Limits, ServeConfig


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames of 64x48 at 10 fps with an AAC track."""
    path = tmp_path_factory.mktemp("serve-clip") / "holiday clip.mp4"
    clip_with_audio(path)
    return path


def make_client(tmp_path: Path, **limits: Any) -> Any:
    from fastapi.testclient import TestClient

    from vsrdata.serve.app import create_app

    config = ServeConfig(data=tmp_path / "data", limits=Limits(**limits))
    return TestClient(create_app(config, workers=False))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    with make_client(tmp_path) as c:
        yield c


def drain(client: Any) -> int:
    """Run every queued job of ``client``'s app here, as a worker process would."""
    from vsrdata.serve.worker import run_job

    app = client.app
    done = 0
    while (job := app.state.store.claim()) is not None:
        run_job(app.state.config, app.state.store, job, os.getppid(), {})
        done += 1
    return done


def upload(client: Any, path: Path, model: str = "bicubic-x2", name: str | None = None) -> Any:
    return client.post("/api/jobs", params={"model": model, "name": name or path.name},
                       content=path.read_bytes())  # fmt: skip
