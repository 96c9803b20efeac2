"""YouTube through yt-dlp: the real match filter on info dicts, a fake downloader, offline."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.helpers import FakeTime, session
from vsrdata.crawler import youtube
from vsrdata.crawler.base import CrawlConfig
from vsrdata.crawler.catalog import Catalog
from vsrdata.crawler.crawl import Crawler

CC = "Creative Commons Attribution license (reuse allowed)"


def info(vid: str, lic: str | None, duration: float) -> dict[str, Any]:
    return {"id": vid, "title": f"Walk {vid}", "license": lic, "duration": duration,
            "uploader": "Cam", "webpage_url": f"https://www.youtube.com/watch?v={vid}",
            "width": 320, "height": 240, "fps": 25}  # fmt: skip


class FakeYDL:
    """Stands in for yt_dlp.YoutubeDL: applies the real match filter, 'downloads' a file."""

    made: ClassVar[list[dict[str, Any]]] = []
    catalog: ClassVar[list[dict[str, Any]]] = [
        info("cc_ok", CC, 4.0),
        info("std", None, 4.0),
        info("cc_long", CC, 60.0),
    ]
    video = b""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.opts = opts
        FakeYDL.made.append(opts)

    def __enter__(self) -> FakeYDL:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _passes(self, entry: dict[str, Any]) -> bool:
        flt = self.opts["match_filter"]
        kwargs = {"incomplete": False} if "incomplete" in inspect.signature(flt).parameters else {}
        return flt(entry, **kwargs) is None

    def extract_info(self, url: str, download: bool = False) -> dict[str, Any] | None:
        if url.startswith("ytsearch"):
            return {"entries": [e for e in self.catalog if self._passes(e)]}
        entry = next(e for e in self.catalog if url.endswith(e["id"]))
        if download:
            Path(self.prepare_filename(entry)).write_bytes(self.video)
        return entry

    def prepare_filename(self, entry: dict[str, Any]) -> str:
        return self.opts["outtmpl"].replace("%(id)s", entry["id"]).replace("%(ext)s", "mp4")


def test_youtube_cc_filter_format_and_archive(
    videos: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeYDL.video, FakeYDL.made = videos["four"], []
    monkeypatch.setattr(youtube, "YoutubeDL", FakeYDL)
    cfg = CrawlConfig(out=str(tmp_path), keywords=("walking",), sources=("youtube",),
                      min_duration=3, max_duration=10, min_height=240, max_height=1080)  # fmt: skip
    summary = Crawler(cfg, session=session(FakeTime())).run()
    with Catalog(tmp_path) as cat:
        rows = {r.source_id: r for r in cat.rows()}
    assert set(rows) == {"cc_ok"}  # yt-dlp's own filter dropped the others
    row = rows["cc_ok"]
    assert row.status == "downloaded" and row.license_id == "cc-by" and row.author == "Cam"
    assert row.local_path == "clips/youtube/cc_ok.mp4" and summary.downloaded == 1
    search_opts, fetch_opts = FakeYDL.made
    assert (
        search_opts["format"]
        == "bv*[height>=240][height<=1080][ext=mp4]/bv*[height>=240][height<=1080]"
    )
    assert fetch_opts["download_archive"].endswith(".cache/youtube-archive.txt")
    assert "creative commons" in youtube.YouTube(session(FakeTime()), cfg).filter_expression()
