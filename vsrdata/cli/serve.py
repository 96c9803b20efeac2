"""``vsrdata serve``: argument parsing only; the server is :mod:`vsrdata.serve`."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated

import typer

from vsrdata.cli.app import app, err, out
from vsrdata.errors import UsageError


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise UsageError(f"--max-size takes WIDTHxHEIGHT, e.g. 1920x1080, got {text!r}")
    return int(m.group(1)), int(m.group(2))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every network).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data: Annotated[
        Path, typer.Option(help="Server folder: job state, uploads, results; datasets and runs.")
    ] = Path("serve-data"),
    models: Annotated[
        Path | None, typer.Option(help="Folder of .keras models offered for upscaling.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Jobs run at the same time.")] = 1,
    training: Annotated[
        bool, typer.Option("--training/--no-training", help="Let the page start training runs.")
    ] = True,
    max_upload: Annotated[int, typer.Option(help="Largest upload, MB.")] = 500,
    max_duration: Annotated[str, typer.Option(help="Longest input video, e.g. 10m.")] = "10m",
    max_size: Annotated[str, typer.Option(help="Largest input frame, WIDTHxHEIGHT.")] = (
        "1920x1080"
    ),
    max_jobs: Annotated[int, typer.Option(help="Jobs a user may have waiting or running.")] = 5,
    quota: Annotated[int, typer.Option(help="Disk a user may fill, MB.")] = 4096,
    retention: Annotated[str, typer.Option(help="Finished jobs are deleted after, e.g. 1d.")] = (
        "24h"
    ),
) -> None:
    """Serve a web page to upscale videos, watch and start training, and read reports.

    Upload a video, pick a model, follow the job, compare bicubic and the model on a frame,
    download the result; list datasets and runs, start, stop and resume training."""
    try:
        import uvicorn

        from vsrdata.serve.app import create_app
    except ImportError as exc:
        raise UsageError(f"vsrdata serve needs the serve extra ({exc.name} is missing): "
                         "pip install 'vsrdata[serve]'") from None  # fmt: skip
    from vsrdata.serve.config import MB, Limits, ServeConfig
    from vsrdata.vsr_models.config import parse_duration

    width, height = _size(max_size)
    keep = parse_duration(retention, "--retention")
    limits = Limits(upload_bytes=max_upload * MB, seconds=parse_duration(max_duration,
                    "--max-duration") or 0, width=width, height=height, queued=max_jobs,
                    quota_bytes=quota * MB, retention_seconds=keep or 0)  # fmt: skip
    config = ServeConfig(data=data, models=models, host=host, port=port, workers=workers,
                         training=training, limits=limits)  # fmt: skip
    application = create_app(config)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] listening on {host}: anyone who can reach this "
                  "machine can upload videos and start training runs (--no-training turns "
                  "that off)")  # fmt: skip
    out.print(f"vsrdata serve: http://{'localhost' if host == '127.0.0.1' else host}:{port}/ "
              f"(data in {data}, {workers} worker(s)); Ctrl-C stops", highlight=False)  # fmt: skip
    logging.getLogger("vsrdata").setLevel(logging.INFO)
    uvicorn.run(application, host=host, port=port, log_level="warning")
