"""Pixabay videos API (https://pixabay.com/api/docs/#api_search_videos).

Request: ``key`` (from ``PIXABAY_API_KEY``; it travels in the query string, so every message
strips it), ``q``, ``video_type``, ``safesearch``, ``order``, ``page``, ``per_page`` (3-200),
``min_width``, ``min_height``. Response: ``totalHits`` and ``hits[]`` with ``id``,
``pageURL``, ``tags``, ``duration``, ``user``, ``user_id`` and
``videos.{large,medium,small,tiny}.{url,width,height,size}``, where an empty ``url`` means
that rendition does not exist. Limit: 100 requests per 60 s per key; responses must be
cached for 24 hours, which :meth:`Pixabay.api` does on disk.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow

CACHE_SECONDS = 24 * 3600
PER_PAGE = 50
LICENSE_URL = "https://pixabay.com/service/license-summary/"


class Pixabay(Source):
    name = "pixabay"
    default_url = "https://pixabay.com/api/videos/"
    key_env = "PIXABAY_API_KEY"
    interval = 0.6  # 100 requests per 60 s

    def api(self, params: dict[str, Any]) -> dict[str, Any]:
        """One API answer, from the 24-hour cache when there is a fresh one."""
        ident = json.dumps({"url": self.url, **params}, sort_keys=True)  # the key is not in it
        digest = hashlib.sha256(ident.encode()).hexdigest()
        cache = Path(self.cfg.out) / ".cache" / self.name / f"{digest}.json"
        if cache.exists() and time.time() - cache.stat().st_mtime < CACHE_SECONDS:
            return dict(json.loads(cache.read_text()))
        resp = self.session.get(self.url, params={"key": self.key, **params})
        data = self.json_object(resp)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(cache)
        return data

    def search(self, keyword: str) -> Iterator[ClipRow]:
        params: dict[str, Any] = {"q": keyword, "video_type": "all", "safesearch": "true",
                                  "order": "popular", "per_page": PER_PAGE}  # fmt: skip
        if self.cfg.min_height:
            params["min_height"] = self.cfg.min_height
        for page in range(1, self.cfg.pages + 1):
            data = self.api({**params, "page": page})
            hits = data.get("hits") or []
            for hit in hits:
                row = self._row(hit, keyword)
                if row is not None:
                    yield row
            if not hits or page * PER_PAGE >= int(data.get("totalHits") or 0):
                return

    def _row(self, hit: dict[str, Any], keyword: str) -> ClipRow | None:
        videos = hit.get("videos") or {}
        renditions = [
            Rendition(v["url"], v.get("width"), v.get("height"), v.get("size"))
            for v in videos.values()
            if isinstance(v, dict) and v.get("url")
        ]
        best = pick_rendition(renditions, self.cfg)
        user = hit.get("user") or ""
        return self.row(
            hit["id"], keyword,
            title=hit.get("tags") or "", page_url=hit.get("pageURL") or "",
            download_url=best.url if best else "", license_id="pixabay",
            license_url=LICENSE_URL, author=user,
            attribution=f"Video by {user} on Pixabay" if user else "Video from Pixabay",
            duration=hit.get("duration"), width=best.width if best else None,
            height=best.height if best else None, bytes=best.size if best else None,
        )  # fmt: skip
