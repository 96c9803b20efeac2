"""The upscaling API through FastAPI's test client: upload, queue, progress, download,
delete; isolation between sessions; names that try to leave the data folder; limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from tests.helpers import clip_with_audio
from tests.serve.conftest import drain, make_client, upload


def files(client: Any) -> list[str]:
    config = client.app.state.config
    return sorted(p.name for d in (config.uploads, config.results) for p in d.iterdir())


def test_upload_runs_a_job_to_a_downloadable_video_and_delete_removes_it(
    client: Any, clip: Path
) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Drop a video here" in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    models = {m["id"]: m for m in client.get("/api/models").json()}
    assert {"bicubic-x2", "bicubic-x3", "bicubic-x4"} <= set(models)

    created = upload(client, clip)
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["state"], job["name"], job["frames"], job["width"]) == ("queued", clip.name, 12, 64)
    assert files(client) == [job["id"]]  # stored under its random id, not the uploaded name
    assert client.get(f"/api/jobs/{job['id']}/result").status_code == 404  # not ready

    assert drain(client) == 1
    done = client.get(f"/api/jobs/{job['id']}").json()
    assert (done["state"], done["done"], done["total"], done["attempts"]) == ("done", 12, 12, 1)
    assert done["output_bytes"] > 0 and done["error"] is None
    result = client.get(f"/api/jobs/{job['id']}/result")
    assert result.status_code == 200 and result.headers["content-type"] == "video/mp4"
    assert 'filename="holiday_clip_x2.mp4"' in result.headers["content-disposition"]
    out = Path(client.app.state.config.data) / "downloaded.mp4"
    out.write_bytes(result.content)
    with av.open(str(out)) as container:
        assert (container.streams.video[0].codec_context.width,
                container.streams.video[0].codec_context.height) == (128, 96)  # fmt: skip
        assert container.streams.audio  # the audio track is kept
        assert float(container.streams.video[0].average_rate) == 10.0
        assert sum(1 for _ in container.decode(video=0)) == 12
    for which in ("bicubic", "model"):
        png = client.get(f"/api/jobs/{job['id']}/preview/{which}")
        assert png.status_code == 200
        img = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (96, 128, 3)
    assert client.get(f"/api/jobs/{job['id']}/preview/secret").status_code == 404

    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert client.get("/api/jobs").json() == [] and files(client) == []


def test_a_second_session_sees_none_of_the_first_sessions_jobs(tmp_path: Path, clip: Path) -> None:
    from fastapi.testclient import TestClient

    with make_client(tmp_path) as alice:
        job = upload(alice, clip).json()
        drain(alice)
        urls = [f"/api/jobs/{job['id']}", f"/api/jobs/{job['id']}/result",
                f"/api/jobs/{job['id']}/preview/model"]  # fmt: skip
        assert all(alice.get(u).status_code == 200 for u in urls)
        bob = TestClient(alice.app)
        assert bob.get("/api/jobs").json() == []
        assert all(bob.get(u).status_code == 404 for u in urls)
        assert bob.delete(urls[0]).status_code == 404
        # a forged cookie (alice's session id under another signature) is a new session
        sid = alice.cookies["vsrdata_session"].split(".")[0]
        forger = TestClient(alice.app, cookies={"vsrdata_session": f"{sid}.{'0' * 32}"})
        assert forger.get(urls[0]).status_code == 404
        assert forger.get("/api/jobs").json() == []
        assert alice.get(urls[0]).json()["state"] == "done"  # still there for its owner


def test_names_and_ids_cannot_reach_outside_the_data_folder(client: Any, clip: Path) -> None:
    job = upload(client, clip, name="../../../etc/passwd\x00.mp4").json()
    assert job["name"] == "passwd.mp4"
    assert files(client) == [job["id"]]
    data = Path(client.app.state.config.data)
    assert not (data.parent / "etc").exists()
    drain(client)
    disposition = client.get(f"/api/jobs/{job['id']}/result").headers["content-disposition"]
    assert 'filename="passwd_x2.mp4"' in disposition
    for url in ("/api/jobs/..%2F..%2Fserve.sqlite", "/api/jobs/../serve.sqlite",
                f"/api/jobs/{job['id']}/preview/..%2F..%2Fserve.sqlite",
                "/reports/../serve.sqlite", "/reports/..%2Fcookie.key",
                "/reports/%2Fetc%2Fpasswd", "/static/..%2F..%2Fserve%2Fapp.py"):  # fmt: skip
        r = client.get(url)
        assert r.status_code == 404, url
        assert b"CREATE TABLE" not in r.content and b"import" not in r.content


def test_a_file_that_is_not_a_video_is_refused_and_nothing_is_kept(
    client: Any, tmp_path: Path
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("these are not frames\n" * 100)
    r = upload(client, text)
    assert r.status_code == 415 and "not a video" in r.json()["detail"]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert upload(client, empty).status_code == 400
    assert upload(client, text, model="no-such-model").status_code == 400
    assert client.get("/api/jobs").json() == [] and files(client) == []


def test_limits_refuse_with_a_message(tmp_path: Path, clip: Path) -> None:
    size = clip.stat().st_size
    with make_client(tmp_path, upload_bytes=size - 1, queued=1) as c:
        r = upload(c, clip)
        assert r.status_code == 413 and "larger than the limit" in r.json()["detail"]

        def chunks() -> Any:  # no Content-Length: the stream is cut off at the limit
            data = clip.read_bytes()
            for i in range(0, len(data), 4096):
                yield data[i : i + 4096]

        r = c.post("/api/jobs", params={"model": "bicubic-x2"}, content=chunks())
        assert r.status_code == 413
        assert files(c) == []
    with make_client(tmp_path / "b", queued=1, seconds=1.5, width=64, height=48) as c:
        assert upload(c, clip).status_code == 201
        r = upload(c, clip)
        assert r.status_code == 429 and "limit is 1" in r.json()["detail"]
        long = tmp_path / "long.mp4"
        clip_with_audio(long, frames=20, audio_track=False)  # 2 s at 10 fps
        drain(c)
        r = upload(c, long)
        assert r.status_code == 422 and "lasts 2.0 s; the limit is 1.5 s" in r.json()["detail"]
        big = tmp_path / "big.mp4"
        clip_with_audio(big, frames=3, size=(96, 48), audio_track=False)
        r = upload(c, big)
        assert r.status_code == 422 and "96x48; the limit is 64x48" in r.json()["detail"]
    quota = size + size // 2
    with make_client(tmp_path / "q", quota_bytes=quota) as c:
        assert upload(c, clip).status_code == 201
        r = upload(c, clip)
        assert r.status_code == 413 and "storage quota" in r.json()["detail"]


def test_retention_deletes_finished_jobs_and_their_files(client: Any, clip: Path) -> None:
    import time

    job = upload(client, clip).json()
    drain(client)
    janitor = client.app.state.janitor
    assert janitor.sweep(time.time()) == 0  # younger than a day
    assert janitor.sweep(time.time() + 86400 + 1) == 1
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404 and files(client) == []


def test_a_job_whose_input_breaks_fails_with_its_message(client: Any, clip: Path) -> None:
    job = upload(client, clip).json()
    Path(client.app.state.config.uploads / job["id"]).write_bytes(b"\x00" * 100)  # corrupted
    drain(client)
    failed = client.get(f"/api/jobs/{job['id']}").json()
    assert failed["state"] == "failed" and "not a readable video" in failed["error"]
    assert client.get(f"/api/jobs/{job['id']}/result").status_code == 404


@pytest.mark.parametrize("secret", ["", "abc", "a.b.c"])
def test_malformed_cookies_start_a_new_session(tmp_path: Path, secret: str) -> None:
    from vsrdata.serve import sessions

    key = sessions.load_key(tmp_path)
    assert sessions.load_key(tmp_path) == key
    assert (tmp_path / "cookie.key").stat().st_mode & 0o077 == 0  # the owner's alone
    sid, value = sessions.new_session(key)
    assert sessions.verify(key, value) == sid
    assert sessions.verify(key, secret) is None
    assert sessions.verify(b"another key", value) is None
