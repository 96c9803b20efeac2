"""Crawls against local servers that answer like Pixabay and Pexels, then a build."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.server import Reply, Request, Server, file_route, serve
from tests.helpers import FakeTime, run_cli, session, small_config
from vsrdata.crawler.base import CrawlConfig
from vsrdata.crawler.catalog import Catalog
from vsrdata.crawler.crawl import Crawler

PIXABAY_KEY, PEXELS_KEY = "pixabay-secret-123", "pexels-secret-456"


def pixabay_hit(i: int, duration: float, medium: str, large: str = "") -> dict[str, Any]:
    return {
        "id": i, "pageURL": f"https://pixabay.com/videos/id-{i}/", "tags": "walking, street",
        "duration": duration, "user": "Ann", "user_id": 9,
        "videos": {
            "large": {"url": large, "width": 1920, "height": 1080, "size": 0},
            "medium": {"url": medium, "width": 1280, "height": 720, "size": 0},
            "small": {"url": medium + "?small", "width": 640, "height": 360, "size": 0},
        },
    }  # fmt: skip


@pytest.fixture
def world(videos: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with serve() as s:
        u = s.url
        for name, data in videos.items():
            s.routes[f"/files/{name}.mp4"] = file_route(data)
        s.routes["/files/page.mp4"] = lambda r: Reply(
            200, b"<html>gone</html>", {"Content-Type": "text/html"}
        )
        pages = {
            "1": [pixabay_hit(1, 4, f"{u}/files/four.mp4"), pixabay_hit(2, 2, f"{u}/files/two.mp4"),
                  pixabay_hit(3, 4.5, f"{u}/files/two.mp4")],  # claims 4.5 s, is 2 s
            "2": [pixabay_hit(4, 5, f"{u}/files/page.mp4")],
        }  # fmt: skip
        answers = iter([Reply(429, headers={"Retry-After": "3"})])

        def pixabay(req: Request) -> Reply:
            first = next(answers, None)
            if first is not None:
                return first
            hits = pages.get(req.query["page"][0], [])
            import json

            return Reply(200, json.dumps({"total": 60, "totalHits": 60, "hits": hits}).encode(),
                         {"Content-Type": "application/json"})  # fmt: skip

        def pexels(req: Request) -> Reply:
            import json

            if req.headers.get("Authorization") != PEXELS_KEY:
                return Reply(401)
            page = int(req.query["page"][0])
            files = [{"quality": "hd", "file_type": "video/mp4", "width": None, "height": None,
                      "fps": None, "link": f"{u}/files/five.mp4"}]  # fmt: skip
            video = {"id": 100 + page, "url": f"https://www.pexels.com/video/{100 + page}/",
                     "duration": 5, "width": 320, "height": 240,
                     "user": {"name": "Bo", "url": "https://www.pexels.com/@bo"},
                     "video_files": files}  # fmt: skip
            body: dict[str, Any] = {"page": page, "per_page": 80, "videos": [video]}
            if page == 1:
                body["next_page"] = f"{u}/videos/search?page=2"
            headers = {"Content-Type": "application/json", "X-Ratelimit-Remaining": "0",
                       "X-Ratelimit-Reset": "12"} if page == 2 else {}  # fmt: skip
            return Reply(200, json.dumps(body).encode(), headers)

        s.routes["/api/videos/"] = pixabay
        s.routes["/videos/search"] = pexels
        monkeypatch.setenv("VSRDATA_PIXABAY_URL", f"{u}/api/videos/")
        monkeypatch.setenv("VSRDATA_PEXELS_URL", f"{u}/videos")
        monkeypatch.setenv("PIXABAY_API_KEY", PIXABAY_KEY)
        monkeypatch.setenv("PEXELS_API_KEY", PEXELS_KEY)
        yield s


def config(out: Path, **kw: Any) -> CrawlConfig:
    options: dict[str, Any] = {
        "keywords": ("walking",), "sources": ("pixabay", "pexels"),
        "categories": {"walking": "people"}, "min_duration": 3.0, "max_duration": 6.0,
        "min_height": 200, "limit": 10, "pages": 3,
    }  # fmt: skip
    options.update(kw)
    return CrawlConfig(out=str(out), **options)


def test_crawl_filters_downloads_and_records(
    world: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    t = FakeTime()
    summary = Crawler(config(tmp_path), session=session(t)).run()
    with Catalog(tmp_path) as cat:
        rows = {r.clip_id: r for r in cat.rows()}
        cat.export(tmp_path / "clips.csv")
    assert rows["pixabay:1"].status == "downloaded"
    assert rows["pixabay:1"].download_url.endswith("/files/four.mp4?small")  # 360p: smallest >= 200
    assert rows["pixabay:1"].category == "people" and rows["pixabay:1"].license_id == "pixabay"
    assert rows["pixabay:1"].duration == pytest.approx(4.0) and rows["pixabay:1"].width == 320
    assert (tmp_path / rows["pixabay:1"].local_path).stat().st_size > 0
    assert rows["pixabay:2"].status == "filtered" and "duration 2.0" in rows["pixabay:2"].reason
    assert (
        rows["pixabay:3"].status == "filtered"
        and "decoded duration 2.0" in rows["pixabay:3"].reason
    )
    assert rows["pixabay:4"].status == "failed" and "text/html" in rows["pixabay:4"].reason
    assert rows["pexels:101"].status == "downloaded" and rows["pexels:101"].author == "Bo"
    assert (
        rows["pexels:102"].status == "filtered"
        and rows["pexels:102"].reason == "duplicate of pexels:101"
    )
    assert summary.downloaded == 2 and summary.filtered["duration"] == 2
    assert len(world.hits("/videos/search")) == 2  # paged to the last page, no further
    assert 3.0 in t.sleeps  # Retry-After on the 429
    # nothing anywhere holds a key
    for text in [(tmp_path / "catalog.sqlite").read_bytes().decode("latin-1"),
                 (tmp_path / "clips.csv").read_text(), caplog.text]:  # fmt: skip
        assert PIXABAY_KEY not in text and PEXELS_KEY not in text
    assert any(r.query.get("key") == [PIXABAY_KEY] for r in world.hits("/api/videos/"))


def test_rerun_downloads_nothing_new(world: Server, tmp_path: Path) -> None:
    Crawler(config(tmp_path), session=session(FakeTime())).run()
    before = len(world.hits("/files/four.mp4")) + len(world.hits("/files/five.mp4"))
    api_calls = len(world.hits("/api/videos/"))
    summary = Crawler(config(tmp_path), session=session(FakeTime())).run()
    after = len(world.hits("/files/four.mp4")) + len(world.hits("/files/five.mp4"))
    assert after == before and summary.downloaded == 0 and summary.known == 2
    assert len(world.hits("/api/videos/")) == api_calls  # Pixabay answers come from the cache
    with Catalog(tmp_path) as cat:
        assert len(cat.rows()) == 6


def test_license_filter_and_dry_run(world: Server, tmp_path: Path) -> None:
    summary = Crawler(config(tmp_path, licenses=frozenset({"cc0"}), sources=("pexels",)),
                      session=session(FakeTime())).run()  # fmt: skip
    assert summary.filtered["license"] == 2 and summary.downloaded == 0
    dry = Crawler(config(tmp_path / "dry", dry_run=True), session=session(FakeTime())).run()
    assert {c.clip_id for c in dry.listed} == {
        "pixabay:1",
        "pixabay:3",
        "pixabay:4",
        "pexels:101",
        "pexels:102",
    }
    assert not (tmp_path / "dry" / "clips").exists()


def test_missing_key_skips_the_source(
    world: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEXELS_API_KEY")
    summary = Crawler(config(tmp_path), session=session(FakeTime())).run()
    assert "PEXELS_API_KEY" in summary.unavailable["pexels"] and summary.downloaded == 1
    assert not summary.source_errors  # a source that cannot run is no failed search
    with Catalog(tmp_path) as cat:
        found = {(s["source"], s["status"]) for s in cat.searches()}
    assert found == {("pexels", "skipped"), ("pixabay", "ok")}


def test_build_reads_the_catalog(world: Server, tmp_path: Path) -> None:
    from vsrdata.preprocess.build import build
    from vsrdata.shards import iter_samples

    Crawler(config(tmp_path / "crawl"), session=session(FakeTime())).run()
    # a crawl folder is a SOURCE too, read through a read-only connection
    build(small_config(tmp_path / "crawl", tmp_path / "ds", split=(1.0, 0.0, 0.0)))
    mtime = (tmp_path / "crawl" / "catalog.sqlite").stat().st_mtime_ns
    build(small_config(tmp_path / "crawl" / "catalog.sqlite", tmp_path / "ds2", split=(1.0, 0, 0)))
    assert (tmp_path / "crawl" / "catalog.sqlite").stat().st_mtime_ns == mtime
    samples = list(iter_samples(tmp_path / "ds", "train", decode=False))
    assert {s["clip_id"] for s in samples} == {"pixabay:1", "pexels:101"}
    assert {(s["source"], s["category"], s["license"]) for s in samples} == {
        ("pixabay", "people", "pixabay"), ("pexels", "people", "pexels")}  # fmt: skip


@pytest.mark.slow
def test_cli_crawl_catalog_and_build(world: Server, tmp_path: Path) -> None:
    crawl_dir = tmp_path / "crawl"
    res = run_cli("crawl", "--keywords", "walking", "--sources", "pixabay", "--out", str(crawl_dir),
                  "--min-duration", "3", "--max-duration", "6", "--category", "walking=people",
                  "--pages", "2")  # fmt: skip
    assert res.returncode == 1, res.stderr  # one download failed (an HTML page): said, exit 1
    assert "0 searches and 1 downloads failed" in res.stderr and "Traceback" not in res.stderr
    assert "downloaded" in res.stdout and "filtered: duration" in res.stdout
    assert "failed: " in res.stdout and "text/html" in res.stdout
    assert PIXABAY_KEY not in res.stdout + res.stderr
    cat = run_cli("catalog", str(crawl_dir), "--export", str(tmp_path / "c.parquet"),
                  "--attribution", str(tmp_path / "ATTRIBUTION.md"))  # fmt: skip
    assert cat.returncode == 0, cat.stderr
    assert "pixabay" in cat.stdout and (tmp_path / "c.parquet").exists()
    assert "Video by Ann on Pixabay" in (tmp_path / "ATTRIBUTION.md").read_text()
    built = run_cli("build", str(crawl_dir / "catalog.sqlite"), "--out", str(tmp_path / "ds"),
                    "--patch", "16", "--split", "1,0,0")  # fmt: skip
    assert built.returncode == 0, built.stderr
    bad = run_cli("crawl", "--keywords", "x", "--sources", "flickr", "--out", str(tmp_path / "n"))
    assert bad.returncode == 2 and "unknown source" in bad.stderr


def test_a_killed_crawl_resumes_its_download(
    world: Server, tmp_path: Path, videos: dict[str, bytes]
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    stalled = {"first": True}
    plain = file_route(videos["four"])

    def slow(req: Request) -> Reply:
        if stalled.pop("first", False):
            return Reply(200, videos["four"], {"Content-Type": "video/mp4"}, stall_after=70_000)
        return plain(req)

    world.routes["/files/four.mp4"] = slow
    out = tmp_path / "crawl"
    args = [sys.executable, "-m", "vsrdata.cli", "crawl", "--keywords", "walking", "--sources",
            "pixabay", "--out", str(out), "--min-duration", "3", "--max-duration", "6",
            "--min-height", "200", "--pages", "1"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    from vsrdata.crawler.download import safe_name

    final = out / "clips" / "pixabay" / safe_name("1", ".mp4")
    part = final.with_name(final.name + ".part")
    deadline = time.time() + 60
    while time.time() < deadline and not (part.exists() and part.stat().st_size >= 65536):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Catalog(out) as cat:
        assert cat.get("pixabay", "1").status == "found"  # type: ignore[union-attr]
    assert not final.exists()  # no partial file counts
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Catalog(out) as cat:
        rows = cat.rows()
        assert cat.get("pixabay", "1").status == "downloaded"  # type: ignore[union-attr]
    assert len(rows) == len({r.clip_id for r in rows})
    assert final.read_bytes() == videos["four"]
    assert world.hits("/files/four.mp4")[-1].headers.get("Range", "").startswith("bytes=65536-")
