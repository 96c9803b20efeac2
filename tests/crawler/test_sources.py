"""Wikimedia Commons and Internet Archive against local servers that answer like them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.server import Reply, Request, Server, file_route, serve
from tests.helpers import FakeTime, session
from vsrdata.crawler.base import CrawlConfig
from vsrdata.crawler.catalog import Catalog
from vsrdata.crawler.crawl import Crawler


def as_json(data: Any, **headers: str) -> Reply:
    return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


def imageinfo(url: str, license_name: str, duration: float, artist: str) -> dict[str, Any]:
    return {"url": url, "descriptionurl": "https://commons.wikimedia.org/wiki/X", "size": 1,
            "width": 320, "height": 240, "duration": duration, "mime": "video/webm",
            "mediatype": "VIDEO", "extmetadata": {
                "LicenseShortName": {"value": license_name}, "Artist": {"value": artist},
                "LicenseUrl": {"value": "https://creativecommons.org/licenses/by-sa/4.0"},
                "AttributionRequired": {"value": "true"}}}  # fmt: skip


@pytest.fixture
def commons(videos: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with serve() as s:
        u = s.url
        s.routes["/files/a.webm"] = file_route(videos["four"], "video/webm")
        lagged = iter([True])
        info = {
            "File:A.webm": imageinfo(f"{u}/files/a.webm", "CC BY-SA 4.0", 4.0,
                                     '<a href="//commons.org/wiki/User:J">Jane &amp; Co</a>'),
            "File:B.webm": imageinfo(f"{u}/files/b.webm", "CC BY-NC 4.0", 4.0, "Bob"),
            "File:C.ogv": imageinfo(f"{u}/files/c.ogv", "Public domain", 2.0, "Cy"),
        }  # fmt: skip

        def api(req: Request) -> Reply:
            q = {k: v[0] for k, v in req.query.items()}
            assert q["maxlag"] == "5" and q["format"] == "json"
            if q.get("list") == "search":
                if next(lagged, False):
                    return as_json(
                        {"error": {"code": "maxlag", "info": "lagged"}}, **{"Retry-After": "4"}
                    )
                assert q["srnamespace"] == "6" and q["srsearch"] == "walking filetype:video"
                if q["sroffset"] == "0":
                    hits = [{"title": "File:A.webm"}, {"title": "File:B.webm"}]
                    return as_json({"continue": {"sroffset": 2, "continue": "-||"},
                                    "query": {"search": hits}})  # fmt: skip
                return as_json({"query": {"search": [{"title": "File:C.ogv"}]}})
            titles = q["titles"].split("|")
            return as_json(
                {"query": {"pages": [{"title": t, "imageinfo": [info[t]]} for t in titles]}}
            )

        s.routes["/w/api.php"] = api
        monkeypatch.setenv("VSRDATA_WIKIMEDIA_URL", f"{u}/w/api.php")
        yield s


def config(out: Path, sources: tuple[str, ...], **kw: Any) -> CrawlConfig:
    return CrawlConfig(out=str(out), keywords=("walking",), sources=sources, min_duration=3.0,
                       max_duration=6.0, contact="ops@example.org", **kw)  # fmt: skip


def test_wikimedia(commons: Server, tmp_path: Path) -> None:
    t = FakeTime()
    summary = Crawler(
        config(tmp_path, ("wikimedia",)), session=session(t, contact="ops@example.org")
    ).run()
    with Catalog(tmp_path) as cat:
        rows = {r.source_id: r for r in cat.rows()}
    a = rows["File:A.webm"]
    assert a.status == "downloaded" and a.license_id == "cc-by-sa" and a.author == "Jane & Co"
    assert a.local_path.startswith("clips/wikimedia/File_A-") and a.local_path.endswith(".webm")
    assert "CC BY-SA 4.0" in a.attribution
    assert rows["File:B.webm"].reason == "license cc-by-nc not allowed"
    assert rows["File:C.ogv"].status == "filtered" and rows["File:C.ogv"].license_id == "pd"
    assert summary.downloaded == 1 and 4.0 in t.sleeps  # waited out the maxlag error
    assert all("ops@example.org" in r.headers["User-Agent"] for r in commons.requests)


@pytest.fixture
def archive(videos: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with serve() as s:

        def search(req: Request) -> Reply:
            q = req.query["q"][0]
            if "broken" in q:
                return Reply(200, b"<html>oops", {"Content-Type": "text/html"})
            assert "mediatype:movies" in q and "licenseurl" in q
            docs = [{"identifier": "walk1", "title": "A walk", "creator": ["Ann", "Bo"],
                     "licenseurl": "http://creativecommons.org/licenses/by/3.0/"}]  # fmt: skip
            return as_json({"response": {"numFound": 1, "docs": docs}})

        files = [{"name": "walk1.mp4", "format": "h.264", "size": str(len(videos["four"])),
                  "length": "00:00:04.0", "width": "320", "height": "240"},
                 {"name": "walk1 small.ogv", "format": "Ogg Video", "height": "120", "length": "4"},
                 {"name": "walk1.thumbs/1.jpg", "format": "Thumbnail"}]  # fmt: skip
        s.routes["/advancedsearch.php"] = search
        s.routes["/metadata/walk1"] = lambda r: as_json({"files": files})
        s.routes["/download/walk1/walk1.mp4"] = file_route(videos["four"])
        monkeypatch.setenv("VSRDATA_ARCHIVE_URL", s.url)
        yield s


def test_archive_and_a_malformed_answer(archive: Server, tmp_path: Path) -> None:
    cfg = CrawlConfig(out=str(tmp_path), keywords=("walking", "broken"), sources=("archive",),
                      min_height=200)  # fmt: skip
    summary = Crawler(cfg, session=session(FakeTime())).run()
    with Catalog(tmp_path) as cat:
        (row,) = cat.rows()
    assert row.clip_id == "archive:walk1" and row.status == "downloaded"
    assert (
        row.license_id == "cc-by" and row.author == "Ann, Bo" and row.duration == pytest.approx(4.0)
    )
    assert row.download_url.endswith("/download/walk1/walk1.mp4")  # 240p, not the 120p ogv
    assert "malformed JSON" in summary.source_errors[("archive", "broken")]
