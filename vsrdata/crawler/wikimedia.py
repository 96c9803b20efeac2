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

from pydantic import Field, field_validator

from vsrdata.crawler.answers import Answer, Items, Mapping, OptFloat, OptInt, Text, parse
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


class _Error(Answer):
    code: Text = ""
    info: Text = ""


class _Continue(Answer):
    sroffset: OptInt = None


class _Hit(Answer):
    title: Text


class _SearchQuery(Answer):
    search: Items[_Hit] = Field(default_factory=list)


class _Search(Answer):
    query: _SearchQuery | None = None
    continue_: _Continue | None = Field(None, alias="continue")


class _Meta(Answer):
    value: Any = ""


class _ImageInfo(Answer):
    url: Text = ""
    descriptionurl: Text = ""
    width: OptInt = None
    height: OptInt = None
    size: OptInt = None
    duration: OptFloat = None
    mediatype: Text = ""
    extmetadata: Mapping[_Meta | None] = Field(default_factory=dict)


class _Page(Answer):
    title: Text = ""
    imageinfo: Items[_ImageInfo] = Field(default_factory=list)


class _PagesQuery(Answer):
    pages: Items[_Page] = Field(default_factory=list)

    @field_validator("pages", mode="before")
    @classmethod
    def _keyed_by_id(cls, value: Any) -> Any:
        """formatversion=1 answers ``{"<page id>": page}``; formatversion=2 a list."""
        return list(value.values()) if isinstance(value, dict) else value


class _Details(Answer):
    query: _PagesQuery | None = None


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
            if data.get("error") is None:
                return data
            error = parse(self.name, _Error, data["error"], "error answer")
            if error.code not in LAG_ERRORS:
                raise CrawlError(f"{self.name}: API error {error.code}: {error.info}")
            retry = resp.headers.get("Retry-After", "")
            self.session.hold(host, float(retry) if retry.isdigit() else DEFAULT_WAIT)
        raise CrawlError(f"{self.name}: still lagged after {self.session.max_tries} tries")

    def search(self, keyword: str) -> Iterator[ClipRow]:
        offset = 0
        for _ in range(self.cfg.pages):
            answer = self.api({"action": "query", "list": "search", "srnamespace": 6,
                               "srsearch": f"{keyword} filetype:video", "srlimit": PER_PAGE,
                               "sroffset": offset})  # fmt: skip
            data = parse(self.name, _Search, answer, "search answer")
            titles = [hit.title for hit in (data.query.search if data.query else [])]
            if titles:
                yield from self._details(titles, keyword)
            cont = data.continue_.sroffset if data.continue_ else None
            if not titles or cont is None:
                return
            offset = cont

    def _details(self, titles: list[str], keyword: str) -> Iterator[ClipRow]:
        answer = self.api({"action": "query", "titles": "|".join(titles), "prop": "imageinfo",
                           "iiprop": "url|size|mime|mediatype|extmetadata"})  # fmt: skip
        data = parse(self.name, _Details, answer, "imageinfo answer")
        pages = {p.title: p for p in (data.query.pages if data.query else [])}
        for title in titles:  # the search's order
            page = pages.get(title)
            info = page.imageinfo[0] if page and page.imageinfo else None
            if info and info.mediatype == "VIDEO":
                yield self._row(title, info, keyword)

    def _row(self, title: str, info: _ImageInfo, keyword: str) -> ClipRow:
        meta = {k: v.value if v else "" for k, v in info.extmetadata.items()}
        rendition = Rendition(info.url, info.width, info.height, info.size)
        best = pick_rendition([rendition], self.cfg)
        author = _text(str(meta.get("Artist", "")))
        license_name = str(meta.get("LicenseShortName", ""))
        credit = _text(str(meta.get("Credit", "")))
        attribution = f"{title} by {author or 'unknown author'}, {license_name}"
        if credit:
            attribution += f" ({credit})"
        page = info.descriptionurl or f"https://commons.wikimedia.org/wiki/{quote(title)}"
        return self.row(
            title, keyword, title=_text(str(meta.get("ObjectName", ""))) or title,
            page_url=page, download_url=best.url if best else "",
            license_id=normalize(license_name) or normalize(str(meta.get("LicenseUrl", ""))),
            license_url=str(meta.get("LicenseUrl", "")), author=author, attribution=attribution,
            duration=info.duration, width=info.width, height=info.height, bytes=info.size,
        )  # fmt: skip
