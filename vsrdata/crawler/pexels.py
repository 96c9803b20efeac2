"""Pexels videos search API (https://www.pexels.com/api/documentation/#videos-search).

Request: header ``Authorization: <key>`` (from ``PEXELS_API_KEY``), ``query``,
``orientation``, ``size``, ``page``, ``per_page`` (at most 80). Response: ``videos[]`` with
``id``, ``url`` (the page), ``duration``, ``width``, ``height``, ``user{name,url}`` and
``video_files[]{quality,file_type,width,height,fps,link}`` (width, height and fps may be
null); ``next_page`` is absent on the last page. Limits: 200 requests per hour by default,
reported in ``X-Ratelimit-Limit/Remaining/Reset``, which the session honours.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from vsrdata.crawler.answers import Answer, Ident, Items, OptFloat, OptInt, Text, parse
from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow

PER_PAGE = 80
LICENSE_URL = "https://www.pexels.com/license/"


class _File(Answer):
    file_type: Text = ""
    width: OptInt = None
    height: OptInt = None
    fps: OptFloat = None
    link: Text = ""


class _User(Answer):
    name: Text = ""


class _Video(Answer):
    id: Ident
    url: Text = ""  # the page
    duration: OptFloat = None
    width: OptInt = None
    height: OptInt = None
    user: _User | None = None
    video_files: Items[_File] = Field(default_factory=list)


class _Page(Answer):
    videos: Items[_Video] = Field(default_factory=list)
    next_page: Text = ""


class Pexels(Source):
    name = "pexels"
    default_url = "https://api.pexels.com/videos"
    key_env = "PEXELS_API_KEY"
    interval = 18.0  # 200 requests per hour

    def search(self, keyword: str) -> Iterator[ClipRow]:
        for page in range(1, self.cfg.pages + 1):
            resp = self.session.get(
                self.url.rstrip("/") + "/search",
                params={"query": keyword, "page": page, "per_page": PER_PAGE},
                headers={"Authorization": self.key},
            )
            data = parse(self.name, _Page, self.json_object(resp))
            for video in data.videos:
                yield self._row(video, keyword)
            if not data.videos or not data.next_page:
                return

    def _row(self, video: _Video, keyword: str) -> ClipRow:
        renditions = [
            Rendition(f.link, f.width, f.height, None, f.fps)
            for f in video.video_files
            if (f.file_type or "video/mp4").startswith("video/")
        ]
        best = pick_rendition(renditions, self.cfg)
        name = video.user.name if video.user else ""
        return self.row(
            video.id, keyword,
            page_url=video.url, download_url=best.url if best else "",
            license_id="pexels", license_url=LICENSE_URL, author=name,
            attribution=f"Video by {name} from Pexels" if name else "Video from Pexels",
            duration=video.duration,
            width=(best.width if best else None) or video.width,
            height=(best.height if best else None) or video.height,
            fps=best.fps if best else None,
        )  # fmt: skip
