"""Downloads: resume after a cut, size and type checks, atomic placement, OpenCV probe."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawler.server import Reply, Request, Server, file_route, serve
from tests.helpers import FakeTime, session
from vsrdata.crawler.download import download, probe_video, safe_name
from vsrdata.crawler.http import CrawlError
from vsrdata.preprocess.synth import synth_clip


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    synth_clip(path, "pan", 1, 60, (320, 240), 25, 0)
    return path.read_bytes()


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def test_download_resumes_after_a_cut(server: Server, video: bytes, tmp_path: Path) -> None:
    assert len(video) * 4 // 5 > 65536  # at least one whole chunk arrives before the cut
    server.routes["/v.mp4"] = file_route(video, cut_first=len(video) * 4 // 5)
    dest = tmp_path / "clips" / "v.mp4"
    got = download(session(FakeTime()), server.url + "/v.mp4", dest, max_bytes=10**8)
    assert dest.read_bytes() == video and got.bytes == len(video)
    assert got.sha256 == hashlib.sha256(video).hexdigest()
    resumed_at = int(server.hits("/v.mp4")[1].headers["Range"][6:-1])
    assert 0 < resumed_at <= len(video) * 4 // 5  # what arrived before the cut was kept
    assert not list(dest.parent.glob("*.part"))
    info = probe_video(dest)
    assert (info.width, info.height, info.frames) == (320, 240, 60)
    assert info.fps == pytest.approx(25) and info.duration == pytest.approx(2.4)


def test_resuming_asks_for_the_same_version(server: Server, video: bytes, tmp_path: Path) -> None:
    plain = file_route(video, cut_first=len(video) * 4 // 5)

    def route(req: Request) -> Reply:
        reply = plain(req)
        reply.headers["ETag"] = '"v1"'
        return reply

    server.routes["/v.mp4"] = route
    download(session(FakeTime()), server.url + "/v.mp4", tmp_path / "v.mp4", max_bytes=10**8)
    assert server.hits("/v.mp4")[1].headers.get("If-Range") == '"v1"'
    assert (tmp_path / "v.mp4").read_bytes() == video and not list(tmp_path.glob("*.etag"))


def test_a_part_file_from_a_killed_run_is_continued(
    server: Server, video: bytes, tmp_path: Path
) -> None:
    server.routes["/v.mp4"] = file_route(video)
    dest = tmp_path / "v.mp4"
    (tmp_path / "v.mp4.part").write_bytes(video[:1000])
    download(session(FakeTime()), server.url + "/v.mp4", dest, max_bytes=10**8)
    assert dest.read_bytes() == video
    assert server.hits("/v.mp4")[0].headers["Range"] == "bytes=1000-"


def test_html_error_pages_and_oversize_bodies_are_refused(
    server: Server, video: bytes, tmp_path: Path
) -> None:
    server.routes["/page.mp4"] = lambda r: Reply(
        200, b"<html>sorry</html>", {"Content-Type": "text/html"}
    )
    server.routes["/big.mp4"] = file_route(video)
    s = session(FakeTime())
    with pytest.raises(CrawlError, match="not a video: the server sent text/html"):
        download(s, server.url + "/page.mp4", tmp_path / "a.mp4", max_bytes=10**8)
    with pytest.raises(CrawlError, match="too large"):
        download(s, server.url + "/big.mp4", tmp_path / "b.mp4", max_bytes=len(video) - 1)
    assert not list(tmp_path.iterdir())


def test_a_body_that_always_breaks_off_fails(server: Server, video: bytes, tmp_path: Path) -> None:
    server.routes["/t.mp4"] = lambda r: Reply(
        200, video, {"Content-Type": "video/mp4"}, cut_after=100
    )
    with pytest.raises(CrawlError, match="kept breaking off"):
        download(session(FakeTime(), max_tries=3), server.url + "/t.mp4", tmp_path / "t.mp4",
                 max_bytes=10**8)  # fmt: skip
    assert not (tmp_path / "t.mp4").exists()


def test_probe_rejects_non_video(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 5000)
    with pytest.raises(CrawlError, match="does not decode"):
        probe_video(bad)


def test_safe_names_come_from_ids() -> None:
    assert safe_name("File:Big Buck/../Bunny.webm", ".webm").startswith("File_Big_Buck_.._Bunny-")
    assert safe_name("../../etc/passwd").startswith("etc_passwd-")
    assert safe_name("File:Ёлка.webm", ".webm") != safe_name("File:Пляж.webm", ".webm")
    assert safe_name("123", ".exe;rm").endswith(".mp4")


def test_a_range_answer_that_does_not_continue_the_part_starts_over(
    server: Server, video: bytes, tmp_path: Path
) -> None:
    def wrong_range(req: object) -> Reply:  # always the tail from byte 300, total unknown
        headers = {"Content-Type": "video/mp4", "Content-Range": f"bytes 300-{len(video) - 1}/*"}
        return Reply(206, video[300:], headers)

    calls = {"n": 0}
    plain = file_route(video)

    def route(req: object) -> Reply:
        calls["n"] += 1
        return wrong_range(req) if calls["n"] == 1 else plain(req)  # type: ignore[arg-type]

    server.routes["/v.mp4"] = route
    (tmp_path / "v.mp4.part").write_bytes(video[:100])
    got = download(session(FakeTime()), server.url + "/v.mp4", tmp_path / "v.mp4", max_bytes=10**8)
    assert (tmp_path / "v.mp4").read_bytes() == video and got.bytes == len(video)


def test_a_complete_part_answered_416_is_fetched_again(
    server: Server, video: bytes, tmp_path: Path
) -> None:
    plain = file_route(video)
    server.routes["/v.mp4"] = lambda r: Reply(416) if "Range" in r.headers else plain(r)
    (tmp_path / "v.mp4.part").write_bytes(video)  # killed after the last byte, before the move
    download(session(FakeTime()), server.url + "/v.mp4", tmp_path / "v.mp4", max_bytes=10**8)
    assert (tmp_path / "v.mp4").read_bytes() == video
