"""The training page's API: datasets and runs under the data folder; a run started on the
page is stopped (it checkpoints), resumed on the page, and resumed again by the exact
``vsrdata train`` command the page showed; reports are linked from their run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import make_client
from tests.serve.server import wait_for


def detail(client: Any, run: str) -> dict[str, Any]:
    r = client.get(f"/api/runs/{run}/detail")
    assert r.status_code == 200, r.text
    return dict(r.json())


def stop_and_wait(client: Any, run: str) -> dict[str, Any]:
    r = client.post(f"/api/runs/{run}/stop")
    assert r.status_code == 200, r.text
    return wait_for(lambda: (lambda d: d if d["state"] == "stopped" else None)(
        detail(client, run)), 120, "the run to stop")  # fmt: skip


@pytest.mark.slow
def test_start_stop_resume_on_the_page_and_resume_with_the_cli(built: Path, tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        try:
            start_stop_resume(client, built)
        finally:  # a failed test leaves no training process behind
            for pid in client.app.state.store.run_pids().values():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def start_stop_resume(client: Any, built: Path) -> None:
    data = Path(client.app.state.config.data)
    (data / "sets").mkdir()
    os.symlink(built, data / "sets" / "ds")
    sets = client.get("/api/datasets").json()
    assert [d["id"] for d in sets] == ["sets/ds"]
    assert sets[0]["scale"] == 4 and sets[0]["splits"]["train"]["samples"] > 0
    options = client.get("/api/train-options").json()
    assert "tiny-test" in options["models"] and "cpu-quick" in options["presets"]

    bad = client.post("/api/runs", json={"name": "../x", "dataset": "sets/ds"})
    assert bad.status_code == 400
    assert client.post("/api/runs", json={"name": "r", "dataset": "nope"}).status_code == 400
    started = client.post("/api/runs", json={
        "name": "r1", "dataset": "sets/ds", "model": "tiny-test", "preset": "cpu-quick",
        "time_budget": None, "steps": 100000})  # fmt: skip
    assert started.status_code == 201, started.text
    run, argv = started.json()["id"], started.json()["argv"]
    assert run == "runs/r1" and argv[:2] == ["vsrdata", "train"]
    again = client.post("/api/runs", json={"name": "r1", "dataset": "sets/ds"})
    assert again.status_code == 409

    live = wait_for(lambda: (lambda d: d if d["state"] == "running" and len(d["loss"]) >= 2
                             else None)(detail(client, run)), 180, "loss points")  # fmt: skip
    assert live["model"] == "tiny-test" and live["config"]["steps"] == 100000
    assert all(p["loss"] > 0 for p in live["loss"]) and live["loss"][0]["step"] == 10
    assert [r["id"] for r in client.get("/api/runs").json()] == [run]
    first = stop_and_wait(client, run)
    assert "stopped at step" in "\n".join(first["log"])
    assert client.post(f"/api/runs/{run}/stop").status_code == 409  # not running

    assert client.post(f"/api/runs/{run}/resume").status_code == 200
    resumed = wait_for(lambda: (lambda d: d if d["state"] == "running"
                                and "resuming at step" in "\n".join(d["log"]) else None)(
        detail(client, run)), 180, "the page's resume")  # fmt: skip
    assert resumed["step"] >= first["step"]
    second = stop_and_wait(client, run)
    assert second["step"] >= first["step"]

    # the command the page showed resumes the run from the terminal too
    cli = subprocess.Popen([sys.executable, "-m", "vsrdata", *argv[1:]], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        assert cli.stdout is not None
        lines = []
        for line in cli.stdout:
            lines.append(line)
            if "resuming at step" in line:
                break
        cli.send_signal(signal.SIGINT)
        rest, _ = cli.communicate(timeout=120)
        assert cli.returncode == 130, "".join(lines) + rest
    finally:
        if cli.poll() is None:
            cli.kill()
    step = int(lines[-1].split("resuming at step")[1].split(";")[0])
    assert step >= second["step"]
    assert detail(client, run)["state"] == "stopped"

    report = data / "reports" / "r1-eval"
    report.mkdir(parents=True)
    (report / "report.html").write_text("<html>report</html>")
    (report / "results.json").write_text(json.dumps({"models": ["bicubic", "r1/best"]}))
    assert detail(client, run)["reports"] == ["reports/r1-eval/report.html"]
    assert client.get("/reports/reports/r1-eval/report.html").text == "<html>report</html>"
    assert client.get("/reports/runs/r1/config.json").status_code == 404  # not a report
