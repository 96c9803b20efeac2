"""A bounded load test of ``vsrdata serve`` on loopback (issue 14).

``--users`` simulated browsers (threads, each with its own session cookie) upload a short
clip each at once (``--frames`` frames of ``--size`` with audio, ×2 bicubic: the queue takes
about a minute with one worker, so the polling meets a busy worker) and then poll the job list
every ``--poll`` seconds while reloading the page every few polls, as the page's script does,
until their job is done. Checks: every job finishes, each user's list holds only its own
job and another user's job URL answers 404. Reports the p50/p95/max latency of the page
(``GET /``), the progress endpoint (``GET /api/jobs``) and the uploads under that load.

    python bench/serve_load.py [--users 20] [--workers 1] [--poll 0.5] [--frames 40]
                               [--size 320x240]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import OUT, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import clip_with_audio


class User:
    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""
        self.latency: dict[str, list[float]] = {"page": [], "progress": [], "upload": []}

    def request(self, method: str, url: str, body: bytes | None = None,
                kind: str | None = None) -> tuple[int, bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        began = time.perf_counter()
        conn.request(method, url, body=body, headers={"Cookie": self.cookie} if self.cookie else {})
        r = conn.getresponse()
        data = r.read()
        if kind:
            self.latency[kind].append(time.perf_counter() - began)
        conn.close()
        if r.getheader("set-cookie"):
            self.cookie = r.getheader("set-cookie", "").split(";")[0]
        return r.status, data


def simulate(user: User, clip: bytes, poll: float, outcome: dict[str, Any]) -> None:
    user.request("GET", "/", kind="page")
    status, body = user.request("POST", "/api/jobs?model=bicubic-x2&name=clip.mp4", clip,
                                kind="upload")  # fmt: skip
    assert status == 201, body
    job = json.loads(body)["id"]
    polls = 0
    while True:
        status, body = user.request("GET", "/api/jobs", kind="progress")
        jobs = json.loads(body)
        outcome["own_only"] = outcome.get("own_only", True) and [j["id"] for j in jobs] == [job]
        if jobs and jobs[0]["state"] in ("done", "failed"):
            outcome["state"], outcome["job"] = jobs[0]["state"], job
            return
        polls += 1
        if polls % 5 == 0:
            user.request("GET", "/", kind="page")
        time.sleep(poll)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--poll", type=float, default=0.5)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--size", default="320x240")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    clip = OUT / "serve-load-clip.mp4"
    width, height = (int(v) for v in args.size.split("x"))
    clip_with_audio(clip, frames=args.frames, size=(width, height))
    data = OUT / "serve-load"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "vsrdata", "serve", "--data", str(data),
                               "--port", str(port), "--workers", str(args.workers),
                               "--max-jobs", "2"], stderr=subprocess.DEVNULL)  # fmt: skip
    size = f"{args.frames} frames of {args.size}"
    try:
        probe = User(port)
        for _ in range(600):
            try:
                if probe.request("GET", "/api/config")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        users = [User(port) for _ in range(args.users)]
        outcomes: list[dict[str, Any]] = [{} for _ in users]
        body = clip.read_bytes()
        began = time.perf_counter()
        threads = [threading.Thread(target=simulate, args=(u, body, args.poll, o))
                   for u, o in zip(users, outcomes, strict=True)]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        intruder = users[0]
        foreign = [intruder.request("GET", f"/api/jobs/{o['job']}")[0] for o in outcomes[1:]]
    finally:
        server.terminate()
        server.wait(timeout=30)
    done = sum(o.get("state") == "done" for o in outcomes)
    isolated = all(o.get("own_only") for o in outcomes) and set(foreign) == {404}
    rows = []
    for kind in ("page", "progress", "upload"):
        values = [v for u in users for v in u.latency[kind]]
        rows.append([kind, len(values), 1000 * statistics.median(values),
                     1000 * percentile(values, 0.95), 1000 * max(values)])  # fmt: skip
    report("serve load", ["endpoint", "requests", "p50 ms", "p95 ms", "max ms"], rows,
           {"users": args.users, "workers": args.workers, "clip": size,
            "jobs done": f"{done}/{args.users}",
            "each user saw only its own job; others' job URLs 404": isolated,
            "wall seconds until every job was done": round(wall, 1)})  # fmt: skip
    if done != args.users or not isolated:
        raise SystemExit("FAILED: not every job finished, or a user saw another's job")


if __name__ == "__main__":
    main()
