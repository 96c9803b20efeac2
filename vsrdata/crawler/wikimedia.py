"""Wikimedia Commons through the MediaWiki Action API (no key).

1. ``list=search`` in namespace 6 (files) for ``<keyword> filetype:video``, paged with
   ``sroffset`` from the answer's ``continue``;
2. ``prop=imageinfo`` with ``iiprop=url|size|mime|mediatype|extmetadata`` for those titles:
   license from ``LicenseShortName`` / ``LicenseUrl``, author from ``Artist`` (HTML, turned
   into text), ``AttributionRequired``, duration from ``duration``.

Etiquette (https://www.mediawiki.org/wiki/API:Etiquette): requests in series, ``maxlag=5``
on every request and a wait (``Retry-After``, else 5 s) on a ``maxlag`` or ``ratelimited``
error, and a descriptive User-Agent with a contact (the session's; set ``--contact``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.http import CrawlError
from vsrdata.crawler.licenses import normalize

PER_PAGE = 50
LAG_ERRORS = frozenset({"maxlag", "ratelimited"})
DEFAULT_WAIT = 5.0


def _text(value: str) -> str:
    """Plain text from a bit of MediaWiki HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", value or "")).strip()


class Wikimedia(Source):
    name = "wikimedia"
    default_url = "https://commons.wikimedia.org/w/api.php"
    interval = 1.0  # one request at a time, unhurried

    def api(self, params: dict[str, Any]) -> dict[str, Any]:
        """One API call, waiting and retrying on maxlag / ratelimited errors."""
        query = {**params, "format": "json", "formatversion": "2", "maxlag": "5"}
        host = urlsplit(self.url).netloc
        for _ in range(self.session.max_tries):
            resp = self.session.get(self.url, params=query)
            data = self.json_object(resp)
            error = data.get("error")
            if not error:
                return dict(data)
            if error.get("code") not in LAG_ERRORS:
                raise CrawlError(f"{self.name}: API error {error.get('code')}: {error.get('info')}")
            retry = resp.headers.get("Retry-After", "")
            self.session.hold(host, float(retry) if retry.isdigit() else DEFAULT_WAIT)
        raise CrawlError(f"{self.name}: still lagged after {self.session.max_tries} tries")

    def search(self, keyword: str) -> Iterator[ClipRow]:
        offset = 0
        for _ in range(self.cfg.pages):
            data = self.api({"action": "query", "list": "search", "srnamespace": 6,
                             "srsearch": f"{keyword} filetype:video", "srlimit": PER_PAGE,
                             "sroffset": offset})  # fmt: skip
            titles = [hit["title"] for hit in data.get("query", {}).get("search", [])]
            if titles:
                yield from self._details(titles, keyword)
            cont = data.get("continue", {}).get("sroffset")
            if not titles or cont is None:
                return
            offset = int(cont)

    def _details(self, titles: list[str], keyword: str) -> Iterator[ClipRow]:
        data = self.api({"action": "query", "titles": "|".join(titles), "prop": "imageinfo",
                         "iiprop": "url|size|mime|mediatype|extmetadata"})  # fmt: skip
        pages = {p.get("title"): p for p in data.get("query", {}).get("pages", [])}
        for title in titles:  # the search's order
            info = (pages.get(title, {}).get("imageinfo") or [None])[0]
            if info and info.get("mediatype") == "VIDEO":
                yield self._row(title, info, keyword)

    def _row(self, title: str, info: dict[str, Any], keyword: str) -> ClipRow:
        meta = {k: (v or {}).get("value", "") for k, v in (info.get("extmetadata") or {}).items()}
        rendition = Rendition(info.get("url") or "", info.get("width"), info.get("height"),
                              info.get("size"))  # fmt: skip
        best = pick_rendition([rendition], self.cfg)
        author = _text(str(meta.get("Artist", "")))
        license_name = str(meta.get("LicenseShortName", ""))
        credit = _text(str(meta.get("Credit", "")))
        attribution = f"{title} by {author or 'unknown author'}, {license_name}"
        if credit:
            attribution += f" ({credit})"
        page = info.get("descriptionurl") or f"https://commons.wikimedia.org/wiki/{quote(title)}"
        return self.row(
            title, keyword, title=_text(str(meta.get("ObjectName", ""))) or title,
            page_url=page, download_url=best.url if best else "",
            license_id=normalize(license_name) or normalize(str(meta.get("LicenseUrl", ""))),
            license_url=str(meta.get("LicenseUrl", "")), author=author, attribution=attribution,
            duration=info.get("duration"), width=info.get("width"), height=info.get("height"),
            bytes=info.get("size"),
        )  # fmt: skip
