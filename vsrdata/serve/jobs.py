"""The upscaling API: upload a video (streamed to disk), follow its job, download the result.

Every route answers for the session's own jobs only: another user's job id is a 404, the
same as an id that never existed. Files are named by random ids; the uploaded name is kept
only as text for the page and the download's suggested name.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from vsrdata.errors import InputError
from vsrdata.preprocess.degrade import SCALES
from vsrdata.serve.config import MB, ServeConfig
from vsrdata.serve.store import Store, new_id
from vsrdata.serve.worker import PREVIEWS, remove_files

log = logging.getLogger(__name__)
CHUNK = 1 << 16


def model_choices(models: Path | None) -> dict[str, dict[str, Any]]:
    """What the page offers: bicubic at each factor, then every ``.keras`` under ``models``
    with its manifest's scale and what it was trained on. Keys are the ids the API takes."""
    from vsrdata.vsr_models.manifest import read_manifest

    choices = {f"bicubic-x{s}": {"id": f"bicubic-x{s}", "model": "bicubic", "scale": s,
                                 "label": f"bicubic ×{s}", "trained_on": ""}
               for s in SCALES}  # fmt: skip
    if models is None:
        return choices
    for path in sorted(Path(models).rglob("*.keras")):
        rel = path.relative_to(models).as_posix()
        try:
            manifest = read_manifest(path) or {}
        except InputError as exc:
            log.warning("%s: %s (not offered)", path, exc)
            continue
        scale = int(manifest.get("scale") or 0)
        name = manifest.get("model", path.stem)
        on = Path(str(manifest.get("dataset") or "")).name
        if manifest.get("categories"):
            on += f" ({', '.join(manifest['categories'])})"
        if manifest.get("finetuned"):
            on += f", fine-tuned on {Path(str(manifest['finetuned'].get('video', ''))).name}"
        label = f"{rel}: {name}" + (f" ×{scale}" if scale else "")
        choices[rel] = {"id": rel, "model": rel, "scale": scale, "label": label,
                        "trained_on": on.strip(", "), "steps": manifest.get("steps")}  # fmt: skip
    return choices


def display_name(name: str) -> str:
    """An uploaded file's name as text: its last path part, printable, at most 120 chars."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in base if c.isprintable()).strip() or "video"
    return base[:120]


def download_name(name: str, scale: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._") or "video"
    return f"{stem[:80]}_x{scale}.mp4"


def router(config: ServeConfig, store: Store) -> APIRouter:
    api = APIRouter(prefix="/api")
    limits = config.limits

    def owned(request: Request, job_id: str) -> dict[str, Any]:
        valid = re.fullmatch(r"[0-9a-f]{32}", job_id)
        job = store.job(request.state.user, job_id) if valid else None
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    @api.get("/config")
    def settings() -> dict[str, Any]:
        return {"limits": {"upload_bytes": limits.upload_bytes, "seconds": limits.seconds,
                           "width": limits.width, "height": limits.height,
                           "queued": limits.queued, "quota_bytes": limits.quota_bytes,
                           "retention_seconds": limits.retention_seconds},
                "training": config.training}  # fmt: skip

    @api.get("/models")
    def models() -> list[dict[str, Any]]:
        return list(model_choices(config.models).values())

    @api.get("/jobs")
    def jobs(request: Request) -> list[dict[str, Any]]:
        return store.jobs(request.state.user)

    @api.get("/jobs/{job_id}")
    def job(request: Request, job_id: str) -> dict[str, Any]:
        return owned(request, job_id)

    @api.post("/jobs", status_code=201)
    async def upload(request: Request, model: str, name: str = "video") -> dict[str, Any]:
        user = request.state.user
        choice = model_choices(config.models).get(model)
        if choice is None:
            raise HTTPException(400, f"unknown model {model!r}")
        active, stored = store.usage(user)
        if active >= limits.queued:
            raise HTTPException(429, f"you have {active} jobs waiting or running (the limit is "
                                     f"{limits.queued}); wait for one to finish")  # fmt: skip
        room = min(limits.upload_bytes, limits.quota_bytes - stored)
        declared = int(request.headers.get("content-length") or 0)
        if declared > room:
            raise HTTPException(413, too_large(declared, limits.upload_bytes, stored, limits))
        job_id = new_id()
        config.uploads.mkdir(parents=True, exist_ok=True)
        part = config.uploads / f"{job_id}.part"
        size = 0
        try:
            with part.open("wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > room:  # cut off: never more than the limit on disk
                        raise HTTPException(413, too_large(size, limits.upload_bytes, stored,
                                                           limits))  # fmt: skip
                    f.write(chunk)
            if size == 0:
                raise HTTPException(400, "the upload is empty")
            info = await run_in_threadpool(check_video, part, limits)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        part.replace(config.uploads / job_id)
        store.add(user, job_id, name=display_name(name), model=choice["model"],
                  label=choice["label"], scale=choice["scale"], input_bytes=size,
                  **info)  # fmt: skip
        return owned(request, job_id)

    @api.delete("/jobs/{job_id}", status_code=204)
    def delete(request: Request, job_id: str) -> None:
        owned(request, job_id)
        store.remove(request.state.user, job_id)
        remove_files(config, job_id)

    @api.get("/jobs/{job_id}/result")
    def result(request: Request, job_id: str) -> FileResponse:
        job = owned(request, job_id)
        path = config.results / f"{job_id}.mp4"
        if job["state"] != "done" or not path.is_file():
            raise HTTPException(404, f"the job is {job['state']}; its result is not ready")
        return FileResponse(path, media_type="video/mp4",
                            filename=download_name(job["name"], job["scale"]))  # fmt: skip

    @api.get("/jobs/{job_id}/preview/{which}")
    def preview(request: Request, job_id: str, which: str) -> FileResponse:
        job = owned(request, job_id)
        path = config.results / f"{job_id}.{which}.png"
        if which not in PREVIEWS or job["state"] != "done" or not path.is_file():
            raise HTTPException(404, "no such preview")
        return FileResponse(path, media_type="image/png")

    return api


def too_large(size: int, upload: int, stored: int, limits: Any) -> str:
    if size > upload:
        return f"the upload is larger than the limit of {upload / MB:.0f} MB"
    return (f"the upload would exceed your storage quota ({stored / MB:.0f} MB of "
            f"{limits.quota_bytes / MB:.0f} MB used); delete finished jobs first")  # fmt: skip


def check_video(path: Path, limits: Any) -> dict[str, Any]:
    """Probe an upload with PyAV: a readable video within the duration and size limits."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise HTTPException(415, "the file has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 25.0
            frames = int(stream.frames or 0)
            if stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration:
                seconds = container.duration / 1e6
            else:
                seconds = frames / fps
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        raise HTTPException(415, "the file is not a video that FFmpeg can read") from None
    if not width or not height:
        raise HTTPException(415, "the file's video stream has no frame size")
    if seconds > limits.seconds:
        raise HTTPException(422, f"the video lasts {seconds:.1f} s; the limit is "
                                 f"{limits.seconds:g} s")  # fmt: skip
    if width > limits.width or height > limits.height:
        raise HTTPException(422, f"the video is {width}x{height}; the limit is "
                                 f"{limits.width}x{limits.height}")  # fmt: skip
    return {"width": width, "height": height, "fps": fps,
            "frames": frames or round(seconds * fps)}  # fmt: skip
