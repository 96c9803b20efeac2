"""Every source against answers of the wrong shape: the error is that source's and keyword's.

Each source's local server answers the keyword ``walking`` with one good clip and the keyword
``broken`` with one malformed answer; the crawl (a dry run: no downloads needed) must record
the error for (source, broken), in the summary and in the catalog, and still list ``walking``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.server import Reply, Request, serve
from tests.helpers import FakeTime, session
from vsrdata.crawler import youtube
from vsrdata.crawler.base import CrawlConfig
from vsrdata.crawler.catalog import Catalog
from vsrdata.crawler.crawl import Crawler
from vsrdata.crawler.http import CrawlError

JSON = {"Content-Type": "application/json"}
# Answers wrong for any JSON API: (what, reply, what the recorded error says)
GENERIC = [
    ("a list, not an object", Reply(200, b"[1, 2, 3]", JSON), "no JSON object"),
    ("truncated JSON", Reply(200, b'{"hits": [{"id": 1, "pa', JSON), "malformed JSON"),
    ("an HTML page with 200", Reply(200, b"<html>maintenance</html>", {}), "malformed JSON"),
]


def reply(data: Any) -> Reply:
    return Reply(200, json.dumps(data).encode(), JSON)


def pixabay_good(u: str) -> dict[str, Any]:
    video = {"url": f"{u}/a.mp4", "width": 640, "height": 360, "size": 1}
    return {"totalHits": 1, "hits": [{"id": 7, "pageURL": "p", "duration": 4, "user": "Ann",
                                      "videos": {"small": video}}]}  # fmt: skip


def pexels_good(u: str) -> dict[str, Any]:
    files = [{"file_type": "video/mp4", "width": 640, "height": 360, "link": f"{u}/a.mp4"}]
    return {"videos": [{"id": 7, "url": "p", "duration": 4, "user": {"name": "Bo"},
                        "video_files": files}]}  # fmt: skip


# source -> (API path, environment variable, good answer, wrong shapes)
SHAPES: dict[str, tuple[str, str, Callable[[str], Any], list[tuple[str, Any, str]]]] = {
    "pixabay": ("/api/", "VSRDATA_PIXABAY_URL", pixabay_good, [
        ("hits as an object", {"hits": {"7": {"id": 7}}}, "hits: Input should be a valid list"),
        ("a hit without id", {"hits": [{"pageURL": "p"}]}, "hits.0.id: Field required"),
        ("renditions as a list", {"hits": [{"id": 7, "videos": [1, 2]}]}, "hits.0.videos"),
        ("a size that is no number", {"hits": [{"id": 7, "videos": {"s": {"size": "big"}}}]},
         "expected a number, got 'big'"),
    ]),
    "pexels": ("/videos/search", "VSRDATA_PEXELS_URL", pexels_good, [
        ("videos as a string", {"videos": "none"}, "videos: Input should be a valid list"),
        ("a video without id", {"videos": [{"url": "p"}]}, "videos.0.id: Field required"),
        ("files as an object", {"videos": [{"id": 1, "video_files": {"a": 1}}]}, "video_files"),
        ("a user as a list", {"videos": [{"id": 1, "user": ["Bo"]}]}, "videos.0.user"),
    ]),
}  # fmt: skip


BASE = {"pixabay": "/api/", "pexels": "/videos"}  # the API URL the source is given


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXABAY_API_KEY", "k1")
    monkeypatch.setenv("PEXELS_API_KEY", "k2")


def crawl(tmp_path: Path, source: str, **kw: Any) -> Any:
    cfg = CrawlConfig(out=str(tmp_path), keywords=("broken", "walking"), sources=(source,),
                      dry_run=True, pages=2, **kw)  # fmt: skip
    return Crawler(cfg, session=session(FakeTime())).run()


def assert_only_broken_failed(tmp_path: Path, source: str, summary: Any, says: str) -> None:
    assert list(summary.source_errors) == [(source, "broken")]
    assert says in summary.source_errors[(source, "broken")]
    assert summary.source_errors[(source, "broken")].startswith(f"{source}:")
    assert [c.keyword for c in summary.listed] == ["walking"]  # the next keyword went on
    with Catalog(tmp_path) as cat:
        searches = {(s["source"], s["keyword"]): s for s in cat.searches()}
        assert cat.summary()["failed_searches"] == [searches[(source, "broken")]]
    assert searches[(source, "broken")]["status"] == "failed"
    assert says in searches[(source, "broken")]["reason"]
    assert searches[(source, "walking")]["status"] == "ok"
    assert searches[(source, "walking")]["found"] == 1


def _cases() -> Iterator[Any]:
    for source, (_, _, _, shapes) in SHAPES.items():
        for what, reply_, says in GENERIC:
            yield pytest.param(source, reply_, says, id=f"{source}-{what}")
        for what, data, says in shapes:
            yield pytest.param(source, reply(data), says, id=f"{source}-{what}")


@pytest.mark.parametrize(("source", "bad", "says"), list(_cases()))
def test_a_wrong_answer_is_that_searchs_error(
    source: str, bad: Reply, says: str, tmp_path: Path, keyed: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path, env, good, _ = SHAPES[source]
    with serve() as s:

        def api(req: Request) -> Reply:
            words = req.query.get("q", req.query.get("query", [""]))[0]
            return bad if words == "broken" else reply(good(s.url))

        s.routes[path] = api
        monkeypatch.setenv(env, s.url + BASE[source])
        summary = crawl(tmp_path, source)
    assert_only_broken_failed(tmp_path, source, summary, says)


def commons_page(title: str, u: str) -> dict[str, Any]:
    info = {
        "url": f"{u}/a.webm",
        "width": 640,
        "height": 360,
        "duration": 4.0,
        "mediatype": "VIDEO",
        "extmetadata": {"LicenseShortName": {"value": "CC BY 4.0"}},
    }
    return {"title": title, "imageinfo": [info]}  # fmt: skip


WIKIMEDIA_BAD = [
    ("search hits as an object", "search", {"query": {"search": {"0": {"title": "File:A"}}}},
     "search answer: query.search: Input should be a valid list"),
    ("a hit without title", "search", {"query": {"search": [{"ns": 6}]}},
     "query.search.0.title: Field required"),
    ("imageinfo as an object", "details", {"query": {"pages": [{"title": "File:B.webm",
                                                               "imageinfo": {"url": "u"}}]}},
     "imageinfo answer: query.pages.0.imageinfo"),
    ("an error of the wrong shape", "search", {"error": "lagged"}, "error answer"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "where", "data", "says"), WIKIMEDIA_BAD)
def test_wikimedia_wrong_answers(
    what: str, where: str, data: Any, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve() as s:

        def api(req: Request) -> Reply:
            q = {k: v[0] for k, v in req.query.items()}
            broken = "broken" in q.get("srsearch", "") or "File:B.webm" in q.get("titles", "")
            if broken and (where == "search") == ("srsearch" in q):
                return reply(data)
            if "srsearch" in q:
                title = "File:B.webm" if "broken" in q["srsearch"] else "File:A.webm"
                return reply({"query": {"search": [{"title": title}]}})
            return reply({"query": {"pages": [commons_page(q["titles"], s.url)]}})

        s.routes["/w/api.php"] = api
        monkeypatch.setenv("VSRDATA_WIKIMEDIA_URL", f"{s.url}/w/api.php")
        summary = crawl(tmp_path, "wikimedia")
    assert_only_broken_failed(tmp_path, "wikimedia", summary, says)


def test_wikimedia_pages_keyed_by_id_are_read_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """formatversion=1 answers ``query.pages`` as an object keyed by page id (the crash of
    issue 9); both documented shapes give the same rows."""
    with serve() as s:

        def api(req: Request) -> Reply:
            q = {k: v[0] for k, v in req.query.items()}
            if "srsearch" in q:
                return reply({"query": {"search": [{"title": "File:A.webm"}]}})
            page = commons_page("File:A.webm", s.url)
            return reply({"query": {"pages": {"4711": {"pageid": 4711, **page}}}})

        s.routes["/w/api.php"] = api
        monkeypatch.setenv("VSRDATA_WIKIMEDIA_URL", f"{s.url}/w/api.php")
        summary = crawl(tmp_path, "wikimedia")
    assert not summary.source_errors
    assert [(c.clip_id, c.license_id) for c in summary.listed] == [
        ("wikimedia:File:A.webm", "cc-by"),
        ("wikimedia:File:A.webm", "cc-by"),
    ]  # both keywords found it


ARCHIVE_BAD = [
    ("docs as a string", "search", {"response": {"docs": "none"}}, "response.docs"),
    ("numFound that is no number", "search", {"response": {"numFound": "many", "docs": []}},
     "response.numFound"),
    ("a file without name", "metadata", {"files": [{"format": "h.264"}]},
     "metadata of item-broken: files.0.name: Field required"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "where", "data", "says"), ARCHIVE_BAD)
def test_archive_wrong_answers(
    what: str, where: str, data: Any, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve() as s:

        def search(req: Request) -> Reply:
            broken = "broken" in req.query["q"][0]
            if broken and where == "search":
                return reply(data)
            doc = {"identifier": "item-broken" if broken else "item-ok", "title": "T",
                   "licenseurl": "http://creativecommons.org/licenses/by/3.0/"}  # fmt: skip
            return reply({"response": {"numFound": 1, "docs": [doc]}})

        def metadata(ok: bool) -> Callable[[Request], Reply]:
            files = [{"name": "a.mp4", "length": "4.0", "width": "640", "height": "360"}]
            return lambda req: reply({"files": files} if ok or where != "metadata" else data)

        s.routes["/advancedsearch.php"] = search
        s.routes["/metadata/item-ok"] = metadata(True)
        s.routes["/metadata/item-broken"] = metadata(False)
        monkeypatch.setenv("VSRDATA_ARCHIVE_URL", s.url)
        summary = crawl(tmp_path, "archive")
    assert_only_broken_failed(tmp_path, "archive", summary, says)


CC = "Creative Commons Attribution license (reuse allowed)"


class ShapelessYDL:
    """yt-dlp answering ``broken`` with entries of the wrong shape."""

    bad: Any = None

    def __init__(self, opts: dict[str, Any]) -> None:
        pass

    def __enter__(self) -> ShapelessYDL:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def extract_info(self, url: str, download: bool = False) -> Any:
        if "broken" in url:
            return self.bad
        return {"entries": [{"id": "v1", "title": "Walk", "license": CC, "duration": 4.0}]}


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"entries": [{"title": "no id"}]}, "entries.0.id: Field required"),
        ({"entries": "none"}, "entries: Input should be a valid list"),
        ({"entries": [{"id": "v2", "duration": "long"}]}, "expected a number, got 'long'"),
        ([1, 2], "search result: the top level"),
    ],
)
def test_youtube_wrong_results(
    bad: Any, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ShapelessYDL, "bad", bad)
    monkeypatch.setattr(youtube, "YoutubeDL", ShapelessYDL)
    summary = crawl(tmp_path, "youtube")
    assert_only_broken_failed(tmp_path, "youtube", summary, says)


def test_an_unforeseen_failure_is_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Any, keyword: str) -> Iterator[Any]:
        if keyword == "broken":
            raise KeyError("surprise")
        yield from ()

    monkeypatch.setattr(youtube.YouTube, "search", explode)
    summary = crawl(tmp_path, "youtube")
    assert summary.source_errors == {("youtube", "broken"): "youtube: KeyError: 'surprise'"}


def test_cli_goes_on_after_a_malformed_answer_and_exits_1(tmp_path: Path) -> None:
    with serve() as s:

        def pixabay(req: Request) -> Reply:
            if req.query["q"][0] == "broken":
                return reply({"hits": {"7": {"id": 7}}})
            return reply(pixabay_good(s.url))

        s.routes["/api/"] = pixabay
        env = {**os.environ, "VSRDATA_PIXABAY_URL": f"{s.url}/api/", "PIXABAY_API_KEY": "k1"}
        res = subprocess.run(
            [sys.executable, "-m", "vsrdata.cli", "crawl", "--keywords", "broken,walking",
             "--sources", "pixabay", "--out", str(tmp_path), "--dry-run"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "AttributeError" not in res.stderr
    assert "pixabay / broken:" in res.stderr and "hits: Input should be a valid list" in res.stderr
    assert "1 clips would be fetched" in res.stdout and "pixabay:7" in res.stdout
    assert "1 searches and 0 downloads failed" in res.stderr


def test_an_empty_object_sent_as_an_empty_list_is_read_as_empty() -> None:
    from vsrdata.crawler.answers import parse
    from vsrdata.crawler.wikimedia import _ImageInfo

    assert parse("wikimedia", _ImageInfo, {"extmetadata": []}).extmetadata == {}  # PHP's {}
    with pytest.raises(CrawlError, match="extmetadata: Input should be a valid dictionary"):
        parse("wikimedia", _ImageInfo, {"extmetadata": "none"})


def test_cli_with_no_source_that_can_run_exits_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    res = subprocess.run([sys.executable, "-m", "vsrdata.cli", "crawl", "--keywords", "walking",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120,
                         env=env)  # fmt: skip
    assert res.returncode == 1 and "no source could run" in res.stderr
    assert "PIXABAY_API_KEY" in res.stderr and "PEXELS_API_KEY" in res.stderr
