"""``vsrdata serve`` as a user runs it: a real server process with its worker processes.
Killed with SIGKILL mid-job and started again, it finishes the queue and never offers a
partial file; an upload larger than the limit is cut off while it streams."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.helpers import clip_with_audio, run_cli
from tests.serve.server import Server, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "data")
    yield s
    s.stop()


def workers_alive(data: Path) -> list[int]:
    """Live worker processes of the server on ``data`` (orphans would show here)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"multiprocessing" in cmdline and state != "Z" and _environ_has(proc, data):
                found.append(int(proc.name))
    return found


def _environ_has(proc: Path, data: Path) -> bool:
    try:  # a spawned worker's parent is the server whose command line names the data folder
        ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        return str(data).encode() in Path(f"/proc/{ppid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.slow
def test_sigkill_mid_job_then_restart_finishes_the_queue_with_no_partial_file(
    server: Server, tmp_path: Path
) -> None:
    long = tmp_path / "long.mp4"
    clip_with_audio(long, frames=40, size=(256, 192), audio_track=False)
    short = tmp_path / "short.mp4"
    clip_with_audio(short)
    server.start()
    ids = []
    for path in (long, short):
        status, body = server.request("POST", "/api/jobs?model=bicubic-x4&name=" + path.name,
                                      body=path.read_bytes())  # fmt: skip
        assert status == 201, body
        ids.append(json.loads(body)["id"])

    def started() -> dict[str, Any] | None:
        return next((j for j in server.jobs() if j["state"] == "running" and j["done"] >= 1),
                    None)  # fmt: skip

    running = wait_for(started, 120, "the first job to run")
    assert running["id"] == ids[0] and running["done"] < 40
    assert server.request("GET", f"/api/jobs/{ids[0]}/result")[0] == 404
    server.kill()
    wait_for(lambda: not workers_alive(server.data), 10, "the worker to die with the server")
    results = server.data / "results"
    assert not (results / f"{ids[0]}.mp4").exists()  # only a hidden partial file, if anything

    server.start()  # same data folder, same cookie key: the session still owns its jobs
    assert not list(results.glob(".*"))  # the partial output is gone at start-up
    jobs = wait_for(lambda: (lambda js: js if all(j["state"] == "done" for j in js) else None)(
        server.jobs()), 180, "the queue to finish")  # fmt: skip
    by_id = {j["id"]: j for j in jobs}
    assert by_id[ids[0]]["attempts"] == 2 and by_id[ids[1]]["attempts"] == 1
    for job_id, frames, width in ((ids[0], 40, 1024), (ids[1], 12, 256)):
        status, body = server.request("GET", f"/api/jobs/{job_id}/result")
        assert status == 200
        out = tmp_path / f"{job_id}.mp4"
        out.write_bytes(body)
        with av.open(str(out)) as container:
            assert container.streams.video[0].codec_context.width == width
            assert sum(1 for _ in container.decode(video=0)) == frames
    assert sorted(p.name for p in (server.data / "uploads").iterdir()) == sorted(ids)


def test_a_too_large_upload_is_cut_off_while_streaming(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", "--max-upload", "1")
    server.start()
    try:
        limit = 1 << 20
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.putrequest("POST", "/api/jobs?model=bicubic-x2")
        conn.putheader("Transfer-Encoding", "chunked")  # no Content-Length to refuse up front
        conn.endheaders()
        chunk = os.urandom(1 << 16)
        sent, status = 0, None
        try:
            while sent < 8 * limit:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                biggest = max((p.stat().st_size for p in (server.data / "uploads").iterdir()),
                              default=0)  # fmt: skip
                assert biggest <= limit
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: it stopped reading
        status = conn.getresponse().status
        conn.close()
        assert status == 413
        assert list((server.data / "uploads").iterdir()) == []
        with_length = server.request("POST", "/api/jobs?model=bicubic-x2",
                                     body=b"\0" * (limit + 1))  # fmt: skip
        assert with_length[0] == 413 and b"larger than the limit of 1 MB" in with_length[1]
    finally:
        server.stop()


def test_bad_options_are_refused_before_the_server_starts(tmp_path: Path) -> None:
    for args, message in ((["--workers", "0"], "--workers must be at least 1"),
                          (["--max-size", "big"], "--max-size takes WIDTHxHEIGHT"),
                          (["--retention", "soon"], "--retention takes a duration"),
                          (["--models", str(tmp_path / "none")], "is not a folder")):  # fmt: skip
        res = run_cli("serve", "--data", str(tmp_path / "d"), *args, timeout=60)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)
