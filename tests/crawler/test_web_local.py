"""The web source (schema.org VideoObject pages) and the local-folder source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.server import Reply, Server, file_route, serve
from tests.helpers import FakeTime, session
from vsrdata.crawler.base import CrawlConfig
from vsrdata.crawler.catalog import Catalog
from vsrdata.crawler.crawl import SOURCES, Crawler
from vsrdata.crawler.web import iso_duration
from vsrdata.errors import UsageError


def page(body: str, *ld: object) -> Reply:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(x)}</script>' for x in ld)
    html = f"<html><head>{scripts}</head><body>{body}</body></html>"
    return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture
def site(videos: dict[str, bytes]) -> Iterator[Server]:
    with serve() as s:
        walk = {"@context": "https://schema.org", "@type": "VideoObject",
                "name": "Walking in the park", "contentUrl": "/media/walk.mp4", "duration": "PT4S",
                "license": "https://creativecommons.org/licenses/by/4.0/",
                "author": {"@type": "Person", "name": "Pat"}, "height": "240"}  # fmt: skip
        graph = {"@context": "https://schema.org", "@graph": [
            {"@type": "VideoObject", "name": "A cat", "contentUrl": "/media/cat.mp4"},
            {"@type": "VideoObject", "name": "Dog walking", "contentUrl": "/media/dog.mp4",
             "duration": "PT0M5S"}]}  # fmt: skip
        s.routes["/"] = lambda r: page(
            '<a href="/more">more</a> <a href="http://elsewhere.invalid/">x</a>', walk
        )
        s.routes["/more"] = lambda r: page(
            '<a rel="license" href="https://creativecommons.org/publicdomain/zero/1.0/">CC0</a>'
            '<a href="/private/deep">deep</a><a href="/more#top">self</a>', graph)  # fmt: skip
        s.routes["/robots.txt"] = lambda r: Reply(200, b"User-agent: *\nDisallow: /private\n")
        s.routes["/media/walk.mp4"] = file_route(videos["four"])
        s.routes["/media/dog.mp4"] = file_route(videos["five"])
        yield s


def test_iso_durations() -> None:
    assert iso_duration("PT1M30.5S") == 90.5 and iso_duration("P0DT1H0M2S") == 3602
    assert iso_duration("12 seconds") is None and iso_duration(None) is None


def test_web_pages_with_video_objects(site: Server, tmp_path: Path) -> None:
    cfg = CrawlConfig(out=str(tmp_path), keywords=("walking",), sources=("web",),
                      source_options={"web": {"url": [site.url + "/"], "depth": "1"}})  # fmt: skip
    polite = session(FakeTime())
    asked: list[str] = []
    get = polite.get
    polite.get = lambda url, **kw: asked.append(url) or get(url, **kw)  # type: ignore[method-assign]
    summary = Crawler(cfg, session=polite).run()
    with Catalog(tmp_path) as cat:
        rows = {r.title: r for r in cat.rows()}
    assert not [u for u in asked if "elsewhere" in u]  # only same-site links are followed
    assert set(rows) == {"Walking in the park", "Dog walking"}  # the cat does not match
    walk, dog = rows["Walking in the park"], rows["Dog walking"]
    assert walk.status == dog.status == "downloaded" and summary.downloaded == 2
    assert (
        walk.license_id == "cc-by" and walk.author == "Pat" and walk.duration == pytest.approx(4.0)
    )
    assert dog.license_id == "cc0"  # from the page's rel="license" link
    assert dog.page_url == site.url + "/more"
    assert not site.hits("/private/deep")  # robots.txt
    assert len(site.hits("/more")) == 1  # fragments are the same page


def test_local_folder_under_a_declared_license(videos: dict[str, bytes], tmp_path: Path) -> None:
    src = tmp_path / "mine"
    (src / "walking").mkdir(parents=True)
    (src / "other").mkdir()
    (src / "walking" / "street.mp4").write_bytes(videos["four"])
    (src / "other" / "x.mp4").write_bytes(videos["five"])
    cfg = CrawlConfig(out=str(tmp_path / "crawl"), keywords=("walking",), sources=("local",),
                      source_options={"local": {"dir": str(src), "license": "CC BY 4.0",
                                                "author": "Me"}})  # fmt: skip
    Crawler(cfg, session=session(FakeTime())).run()
    with Catalog(tmp_path / "crawl") as cat:
        (row,) = cat.rows()
    assert row.clip_id == "local:walking/street.mp4" and row.status == "downloaded"
    assert row.license_id == "cc-by" and row.author == "Me"
    assert (tmp_path / "crawl" / row.local_path).read_bytes() == videos["four"]
    missing = CrawlConfig(out=str(tmp_path / "c2"), keywords=("x",), sources=("local",),
                          source_options={"local": {"dir": str(src)}})  # fmt: skip
    assert "local.license" in Crawler(missing).run().unavailable["local"]


def test_the_same_bytes_from_two_sources_are_kept_once(
    site: Server, videos: dict[str, bytes], tmp_path: Path
) -> None:
    src = tmp_path / "mine" / "walking"
    src.mkdir(parents=True)
    (src / "park.mp4").write_bytes(videos["four"])  # what the web page's walk.mp4 serves too
    cfg = CrawlConfig(out=str(tmp_path / "crawl"), keywords=("walking",), sources=("local", "web"),
                      source_options={"local": {"dir": str(tmp_path / "mine"), "license": "cc0"},
                                      "web": {"url": [site.url + "/"], "depth": 0}})  # fmt: skip
    Crawler(cfg, session=session(FakeTime())).run()
    with Catalog(tmp_path / "crawl") as cat:
        rows = {r.source: r for r in cat.rows()}
    assert rows["local"].status == "downloaded"
    assert (
        rows["web"].status == "filtered"
        and rows["web"].reason == "duplicate of local:walking/park.mp4"
    )
    assert len(list((tmp_path / "crawl" / "clips").rglob("*.mp4"))) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"web": {"depth": "-1"}}, r"option depth takes an integer of at least 0, got '-1'"),
        ({"web": {"depht": "1"}}, r"web has no option depht \(options: url, depth\)"),
        ({"web": {"depth": ["1", "2"]}}, r"option depth of web is given 2 times"),
        ({"local": {"dir": "x"}}, r"options are given for local, which is not among --sources"),
    ],
)
def test_source_options_are_checked_before_any_request(
    options: dict[str, Any], message: str, tmp_path: Path
) -> None:
    cfg = CrawlConfig(out=str(tmp_path), keywords=("x",), sources=("web",), source_options=options)
    with pytest.raises(UsageError, match=message):
        cfg.validate(SOURCES)
