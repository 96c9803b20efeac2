"""The training page's API: datasets and runs under the data folder, starting, stopping and
resuming runs, and the eval reports that belong to them.

A run started here is ``vsrdata train DATASET --out <data>/runs/NAME ...`` in its own process
group (it outlives a server restart and shows as running after it); stopping sends SIGTERM,
on which ``vsrdata train`` checkpoints and exits; resuming is ``vsrdata resume RUN``. So a
run started here is an ordinary run folder the CLI resumes, and the reverse.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel

from vsrdata.common.files import read_jsonl
from vsrdata.errors import UsageError
from vsrdata.serve.config import ServeConfig
from vsrdata.serve.store import Store

SKIP = {"uploads", "results", "ckpt", "logs"}
REPORT_FILES = {".html", ".png", ".jpg", ".svg", ".md", ".json", ".csv", ".tex"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RunRequest(BaseModel):
    name: str
    dataset: str
    model: str = "duf-16l"
    preset: str = "cpu-quick"
    time_budget: str | None = "2m"
    steps: int | None = None


def _folders(root: Path, marker: str, depth: int = 3) -> list[Path]:
    """Folders under ``root`` (at most ``depth`` levels down) holding ``marker``."""
    found: list[Path] = []

    def walk(folder: Path, level: int) -> None:
        if (folder / marker).is_file():
            found.append(folder)
            return
        if level < depth:
            for sub in sorted(folder.iterdir()):
                if sub.is_dir() and sub.name not in SKIP and not sub.name.startswith("."):
                    walk(sub, level + 1)

    if root.is_dir():
        walk(root, 0)
    return found


def dataset_summary(root: Path, folder: Path) -> dict[str, Any]:
    index = json.loads((folder / "dataset.json").read_text())
    b = index.get("build", {})
    splits = {k: {"clips": v["clips"], "samples": v["samples"],
                  "categories": sorted(v.get("categories", {}))}
              for k, v in index.get("splits", {}).items()}  # fmt: skip
    return {"id": folder.relative_to(root).as_posix(), "scale": b.get("scale"),
            "frames": b.get("frames"), "patch": b.get("patch"),
            "degradation": b.get("degradation"), "formats": b.get("formats"),
            "splits": splits, "shards": len(index.get("shards", [])),
            "skipped": len(index.get("skipped", []))}  # fmt: skip


def _alive(pid: int, run: Path) -> bool:
    """Whether ``pid`` is a live process training ``run`` (not a reused pid, not a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and str(run.resolve()).encode() in cmdline


class Runs:
    """The runs under the data folder and the processes this server started for them."""

    def __init__(self, config: ServeConfig, store: Store) -> None:
        self.config, self.store = config, store
        self.root = Path(config.data).resolve()
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def folders(self) -> dict[str, Path]:
        """Run folders under the data folder, and those of runs started here that have not
        written their config.json yet."""
        found = {p.relative_to(self.root).as_posix(): p for p in _folders(self.root, "config.json")
                 if "identity" in json.loads((p / "config.json").read_text())}  # fmt: skip
        for run_id in self.store.run_pids():
            if run_id not in found and (self.root / run_id).is_dir():
                found[run_id] = self.root / run_id
        return found

    def folder(self, run_id: str) -> Path:
        path = self.folders().get(run_id)
        if path is None:
            raise HTTPException(404, f"no run {run_id!r}")
        return path

    def state(self, run_id: str, path: Path) -> str:
        child = self.children.get(run_id)
        if child is not None:
            child.poll()  # reap a finished child
        pid = self.store.run_pids().get(run_id)
        if pid is not None and _alive(pid, path):
            return "running" if (path / "config.json").is_file() else "starting"
        report = path / "train_report.json"
        if report.is_file():
            return "stopped" if json.loads(report.read_text()).get("stopped") else "finished"
        if (path / "ckpt").is_dir():
            return "stopped"
        return "failed" if (path / "serve.log").is_file() else "new"

    def run_config(self, run_id: str, path: Path) -> dict[str, Any]:
        """The run's config.json, or what its command line says until that is written."""
        file = path / "config.json"
        if file.is_file():
            return dict(json.loads(file.read_text())["config"])
        argv = self.store.run_argv(run_id) or []
        flags = dict(zip(argv[2::2], argv[3::2], strict=False))
        return {"model": flags.get("--model"), "preset": flags.get("--preset"),
                "dataset": argv[1] if len(argv) > 1 else None}  # fmt: skip

    def summary(self, run_id: str, path: Path) -> dict[str, Any]:
        config = self.run_config(run_id, path)
        best = path / "best.json"
        losses = read_jsonl(path / "loss.jsonl")
        plan = path / "plan.json"
        total = config.get("steps")
        if plan.is_file():
            total = json.loads(plan.read_text())["total_steps"]
        report = path / "train_report.json"
        history = read_jsonl(path / "history.jsonl")
        if report.is_file():
            step = json.loads(report.read_text())["steps"]
        else:  # the latest step logged (loss every log_every steps, validations)
            step = max([0, *(p["step"] for p in losses[-1:] + history[-1:])])
        return {"id": run_id, "state": self.state(run_id, path), "model": config["model"],
                "preset": config.get("preset"), "dataset": config["dataset"],
                "step": step, "total_steps": total,
                "best": json.loads(best.read_text()) if best.is_file() else None,
                "has_best": (path / "best.keras").is_file()}  # fmt: skip

    def detail(self, run_id: str) -> dict[str, Any]:
        path = self.folder(run_id)
        log = path / "serve.log"
        text = log.read_text(errors="replace") if log.is_file() else ""
        tail = [t for t in text.replace("\r", "\n").splitlines() if t.strip()][-20:]
        return {**self.summary(run_id, path), "config": self.run_config(run_id, path),
                "history": read_jsonl(path / "history.jsonl"),
                "loss": _thin(read_jsonl(path / "loss.jsonl"), 400),
                "reports": self.reports(run_id, path), "log": tail}  # fmt: skip

    def reports(self, run_id: str, path: Path) -> list[str]:
        """Report folders inside the run, or that scored this run's models by name."""
        names = {f"{path.name}/best", f"{path.name}/model"}
        found = []
        for folder in _folders(self.root, "report.html", depth=4):
            inside = folder.is_relative_to(path)
            results = folder / "results.json"
            scored = results.is_file() and names & set(
                json.loads(results.read_text()).get("models", [])
            )
            if inside or scored:
                found.append(folder.relative_to(self.root).as_posix() + "/report.html")
        return found

    def launch(self, run_id: str, argv: list[str]) -> None:
        path = self.root / run_id
        path.mkdir(parents=True, exist_ok=True)
        with (path / "serve.log").open("ab") as log:
            child = subprocess.Popen([sys.executable, "-m", "vsrdata", *argv], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.root)  # fmt: skip
        self.children[run_id] = child
        self.store.run_started(run_id, child.pid, argv)


def _thin(points: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most ``most`` points, evenly spaced, the last one kept."""
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(i * step)] for i in range(most - 1)] + [points[-1]]


def router(config: ServeConfig, store: Store) -> APIRouter:
    api = APIRouter()
    runs = Runs(config, store)
    root = runs.root

    def allowed() -> None:
        if not config.training:
            raise HTTPException(403, "this server was started with --no-training")

    @api.get("/api/train-options")
    def options() -> dict[str, Any]:
        from vsrdata.vsr_models import registry
        from vsrdata.vsr_models.config import PRESETS

        return {"models": list(registry.trainable()), "presets": list(PRESETS),
                "training": config.training}  # fmt: skip

    @api.get("/api/datasets")
    def datasets() -> list[dict[str, Any]]:
        return [dataset_summary(root, p) for p in _folders(root, "dataset.json")]

    @api.get("/api/runs")
    def list_runs() -> list[dict[str, Any]]:
        return [runs.summary(k, p) for k, p in runs.folders().items()]

    @api.get("/api/runs/{run_id:path}/detail")
    def run_detail(run_id: str) -> dict[str, Any]:
        return runs.detail(run_id)

    @api.post("/api/runs", status_code=201)
    def start(req: RunRequest) -> dict[str, Any]:
        from vsrdata.vsr_models import registry
        from vsrdata.vsr_models.config import PRESETS, parse_duration

        allowed()
        if not NAME.fullmatch(req.name):
            raise HTTPException(400, "a run name is 1-64 letters, digits, '.', '_' or '-'")
        run_id = f"runs/{req.name}"
        if (root / run_id).exists():
            raise HTTPException(409, f"{run_id} exists; resume it or choose another name")
        sets = {p.relative_to(root).as_posix(): p for p in _folders(root, "dataset.json")}
        if req.dataset not in sets:
            raise HTTPException(400, f"no dataset {req.dataset!r} under the data folder")
        if req.model not in registry.trainable():
            raise HTTPException(400, f"{req.model!r} is not a trainable model")
        if req.preset not in PRESETS:
            raise HTTPException(400, f"unknown preset {req.preset!r}")
        argv = ["train", str(sets[req.dataset]), "--out", str(root / run_id),
                "--model", req.model, "--preset", req.preset]  # fmt: skip
        if req.steps:
            argv += ["--steps", str(req.steps)]
        if req.time_budget:
            try:
                parse_duration(req.time_budget)
            except UsageError as exc:
                raise HTTPException(400, str(exc)) from None
            argv += ["--time-budget", req.time_budget]
        runs.launch(run_id, argv)
        return {"id": run_id, "argv": ["vsrdata", *argv]}

    @api.post("/api/runs/{run_id:path}/stop")
    def stop(run_id: str) -> dict[str, Any]:
        allowed()
        path = runs.folder(run_id)
        pid = store.run_pids().get(run_id)
        if pid is None or not _alive(pid, path):
            raise HTTPException(409, f"{run_id} is not running")
        os.kill(pid, signal.SIGTERM)  # vsrdata train checkpoints and exits
        return {"id": run_id, "signalled": pid}

    @api.post("/api/runs/{run_id:path}/resume")
    def resume(run_id: str) -> dict[str, Any]:
        allowed()
        path = runs.folder(run_id)
        if runs.state(run_id, path) in ("running", "starting"):
            raise HTTPException(409, f"{run_id} is running")
        argv = ["resume", str(path)]
        runs.launch(run_id, argv)
        return {"id": run_id, "argv": ["vsrdata", *argv]}

    @api.get("/api/runs/{run_id:path}/best.keras")
    def best_model(run_id: str) -> FileResponse:
        path = runs.folder(run_id) / "best.keras"
        if not path.is_file():
            raise HTTPException(404, "no best model yet")
        return FileResponse(path, filename=f"{Path(run_id).name}-best.keras")

    @api.get("/reports/{rel:path}")
    def report_file(rel: str) -> FileResponse:
        path = (root / rel).resolve()
        if (not path.is_relative_to(root) or path.suffix.lower() not in REPORT_FILES
                or not path.is_file() or not (path.parent / "report.html").is_file()):  # fmt: skip
            raise HTTPException(404, "no such report file")
        return FileResponse(path)

    return api
