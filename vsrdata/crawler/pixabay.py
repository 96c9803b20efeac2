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

from pydantic import Field

from vsrdata.crawler.answers import Answer, Ident, Items, Mapping, OptFloat, OptInt, Text, parse
from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.http import CrawlError

CACHE_SECONDS = 24 * 3600
PER_PAGE = 50
LICENSE_URL = "https://pixabay.com/service/license-summary/"


class _Video(Answer):
    url: Text = ""  # "" when the rendition does not exist
    width: OptInt = None
    height: OptInt = None
    size: OptInt = None


class _Hit(Answer):
    id: Ident
    page_url: Text = Field("", alias="pageURL")
    tags: Text = ""
    duration: OptFloat = None
    user: Text = ""
    videos: Mapping[_Video | None] = Field(default_factory=dict)


class _Page(Answer):
    total_hits: OptInt = Field(None, alias="totalHits")
    hits: Items[_Hit] = Field(default_factory=list)


class Pixabay(Source):
    name = "pixabay"
    default_url = "https://pixabay.com/api/videos/"
    key_env = "PIXABAY_API_KEY"
    interval = 0.6  # 100 requests per 60 s

    def api(self, params: dict[str, Any]) -> _Page:
        """One API answer, from the 24-hour cache when there is a fresh one (only answers of
        the declared shape are cached)."""
        ident = json.dumps({"url": self.url, **params}, sort_keys=True)  # the key is not in it
        digest = hashlib.sha256(ident.encode()).hexdigest()
        cache = Path(self.cfg.out) / ".cache" / self.name / f"{digest}.json"
        if cache.exists() and time.time() - cache.stat().st_mtime < CACHE_SECONDS:
            try:
                return parse(self.name, _Page, json.loads(cache.read_text()))
            except (ValueError, CrawlError):
                pass  # a damaged cache entry: ask again
        resp = self.session.get(self.url, params={"key": self.key, **params})
        data = self.json_object(resp)
        page = parse(self.name, _Page, data)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(cache)
        return page

    def search(self, keyword: str) -> Iterator[ClipRow]:
        params: dict[str, Any] = {"q": keyword, "video_type": "all", "safesearch": "true",
                                  "order": "popular", "per_page": PER_PAGE}  # fmt: skip
        if self.cfg.min_height:
            params["min_height"] = self.cfg.min_height
        for page in range(1, self.cfg.pages + 1):
            data = self.api({**params, "page": page})
            for hit in data.hits:
                yield self._row(hit, keyword)
            if not data.hits or page * PER_PAGE >= (data.total_hits or 0):
                return

    def _row(self, hit: _Hit, keyword: str) -> ClipRow:
        renditions = [
            Rendition(v.url, v.width, v.height, v.size)
            for v in hit.videos.values()
            if v is not None and v.url
        ]
        best = pick_rendition(renditions, self.cfg)
        user = hit.user
        return self.row(
            hit.id, keyword,
            title=hit.tags, page_url=hit.page_url,
            download_url=best.url if best else "", license_id="pixabay",
            license_url=LICENSE_URL, author=user,
            attribution=f"Video by {user} on Pixabay" if user else "Video from Pixabay",
            duration=hit.duration, width=best.width if best else None,
            height=best.height if best else None, bytes=best.size if best else None,
        )  # fmt: skip
