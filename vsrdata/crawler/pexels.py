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
from typing import Any

from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow

PER_PAGE = 80
LICENSE_URL = "https://www.pexels.com/license/"


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
            data = self.json_object(resp)
            videos = data.get("videos") or []
            for video in videos:
                yield self._row(video, keyword)
            if not videos or not data.get("next_page"):
                return

    def _row(self, video: dict[str, Any], keyword: str) -> ClipRow:
        renditions = [
            Rendition(f.get("link") or "", f.get("width"), f.get("height"), None, f.get("fps"))
            for f in video.get("video_files") or []
            if (f.get("file_type") or "video/mp4").startswith("video/")
        ]
        best = pick_rendition(renditions, self.cfg)
        user = video.get("user") or {}
        name = user.get("name") or ""
        return self.row(
            video["id"], keyword,
            page_url=video.get("url") or "", download_url=best.url if best else "",
            license_id="pexels", license_url=LICENSE_URL, author=name,
            attribution=f"Video by {name} from Pexels" if name else "Video from Pexels",
            duration=video.get("duration"),
            width=(best.width if best else None) or video.get("width"),
            height=(best.height if best else None) or video.get("height"),
            fps=best.fps if best else None,
        )  # fmt: skip
