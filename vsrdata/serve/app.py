"""``create_app``: the FastAPI application of ``vsrdata serve``.

FastAPI on uvicorn: uploads are read as an async stream (so a too-large one is cut off
without buffering it), the routes are typed and documented at ``/docs``, and the test client
drives the same ASGI app the server runs. Pages are static HTML and a little JavaScript that
call the JSON API and poll it for progress.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vsrdata.serve import sessions
from vsrdata.serve.config import ServeConfig
from vsrdata.serve.store import Store
from vsrdata.serve.worker import remove_files, worker_main

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


class SessionMiddleware:
    """Puts the browser's session id in ``request.state.user``; a request without a valid
    signed cookie gets a new session and the cookie to keep it (HttpOnly, SameSite=Lax)."""

    def __init__(self, app: Any, key: bytes) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cookie = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == sessions.COOKIE:
                        cookie = v
        user = sessions.verify(self.key, cookie)
        fresh = None
        if user is None:
            user, fresh = sessions.new_session(self.key)
        scope.setdefault("state", {})["user"] = user

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if fresh and message["type"] == "http.response.start":
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                header = (f"{sessions.COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Lax; "
                          f"Max-Age=31536000{secure}")  # fmt: skip
                message["headers"] = [*message.get("headers", []),
                                      (b"set-cookie", header.encode())]  # fmt: skip
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def recover(config: ServeConfig, store: Store) -> None:
    """After a crash: interrupted jobs are queued again, partial files and uploads that never
    became jobs are removed. Completed uploads of queued jobs are kept."""
    requeued = store.recover()
    if requeued:
        log.info("queued again after an interrupted run: %s", ", ".join(requeued))
    for folder in (config.uploads, config.results):
        folder.mkdir(parents=True, exist_ok=True)
    known = store.ids()
    for path in [*config.uploads.iterdir(), *config.results.iterdir()]:
        if path.name.startswith(".") or path.name.split(".")[0] not in known:
            path.unlink(missing_ok=True)  # a partial output, or a file of no job


class Janitor(threading.Thread):
    """Deletes finished jobs (and their files) older than the retention period."""

    def __init__(self, config: ServeConfig, store: Store) -> None:
        super().__init__(daemon=True, name="vsrdata-janitor")
        self.config, self.store, self.stop = config, store, threading.Event()

    def sweep(self, now: float | None = None) -> int:
        retention = self.config.limits.retention_seconds
        gone = self.store.expired((now or time.time()) - retention)
        for job in gone:
            remove_files(self.config, job["id"])
        return len(gone)

    def run(self) -> None:
        period = min(60.0, self.config.limits.retention_seconds / 4)
        while not self.stop.wait(period):
            try:
                self.sweep()
            except Exception:  # the next sweep tries again
                log.exception("retention sweep failed")


def start_workers(config: ServeConfig) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")  # no TensorFlow state or threads forked
    procs = [ctx.Process(target=worker_main, args=(config, os.getpid()), daemon=True,
                         name=f"vsrdata-worker-{i}") for i in range(config.workers)]  # fmt: skip
    for p in procs:
        p.start()
    return procs


def create_app(config: ServeConfig, workers: bool = True) -> FastAPI:
    """The application; ``workers=False`` leaves the queue to be run by the caller (tests)."""
    from vsrdata.serve import jobs, training

    config.validate()
    Path(config.data).mkdir(parents=True, exist_ok=True)
    store = Store(config.db)
    recover(config, store)
    janitor = Janitor(config, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        procs = start_workers(config) if workers else []
        janitor.start()
        try:
            yield
        finally:
            janitor.stop.set()
            for p in procs:
                p.terminate()
            for p in procs:
                p.join(timeout=10)

    app = FastAPI(title="vsrdata serve", lifespan=lifespan)
    app.state.config, app.state.store, app.state.janitor = config, store, janitor
    app.include_router(jobs.router(config, store))
    app.include_router(training.router(config, store))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/train", include_in_schema=False)
    def train_page() -> FileResponse:
        return FileResponse(STATIC / "train.html")

    app.add_middleware(SessionMiddleware, key=sessions.load_key(Path(config.data)))
    return app
