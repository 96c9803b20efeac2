"""Internet Archive: advanced search for Creative Commons and public-domain movies.

1. ``/advancedsearch.php`` with ``q = (<keyword>) AND mediatype:movies AND
   (licenseurl:*creativecommons.org* OR licenseurl:*publicdomain*)``, fields
   ``identifier, title, licenseurl, creator``, ``rows`` and ``page``, ``output=json``;
2. ``/metadata/<identifier>``: the item's ``files[]`` (``name``, ``format``, ``size``,
   ``length`` in seconds or h:m:s, ``width``, ``height``); the video files are the item's
   renditions, fetched from ``/download/<identifier>/<name>``.

One item is one clip: the smallest video file at or above ``--min-height``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from pydantic import Field

from vsrdata.crawler.answers import Answer, Items, OptInt, Text, parse
from vsrdata.crawler.base import Rendition, Source, pick_rendition
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.licenses import normalize

ROWS = 50
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".ogv", ".mkv", ".avi", ".mpeg", ".mpg")
LICENSE_QUERY = "(licenseurl:*creativecommons.org* OR licenseurl:*publicdomain*)"


def _seconds(length: Any) -> float | None:
    """'12.5' or '00:01:02.5' -> seconds."""
    if length in (None, ""):
        return None
    total = 0.0
    try:
        for part in str(length).split(":"):
            total = total * 60 + float(part)
    except ValueError:
        return None
    return total


class _Doc(Answer):
    identifier: Text = ""
    title: Text = ""
    licenseurl: Text = ""
    creator: Text = ""  # a string, or a list of names (joined)


class _Response(Answer):
    num_found: OptInt = Field(None, alias="numFound")
    docs: Items[_Doc] = Field(default_factory=list)


class _Search(Answer):
    response: _Response | None = None


class _File(Answer):
    name: Text
    size: OptInt = None
    length: Text = ""  # seconds ("12.5") or h:m:s ("00:01:02.5")
    width: OptInt = None
    height: OptInt = None


class _Metadata(Answer):
    files: Items[_File] = Field(default_factory=list)


class Archive(Source):
    name = "archive"
    default_url = "https://archive.org"
    interval = 1.0

    def _json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.json_object(self.session.get(self.url.rstrip("/") + path, params=params))

    def search(self, keyword: str) -> Iterator[ClipRow]:
        query = f"({keyword}) AND mediatype:movies AND {LICENSE_QUERY}"
        for page in range(1, self.cfg.pages + 1):
            answer = self._json("/advancedsearch.php", {
                "q": query, "fl[]": ["identifier", "title", "licenseurl", "creator"],
                "rows": ROWS, "page": page, "output": "json",
            })  # fmt: skip
            response = parse(self.name, _Search, answer, "search answer").response
            docs = response.docs if response else []
            for doc in docs:
                row = self._item(doc, keyword)
                if row is not None:
                    yield row
            if not docs or response is None or page * ROWS >= (response.num_found or 0):
                return

    def _item(self, doc: _Doc, keyword: str) -> ClipRow | None:
        ident = doc.identifier
        if not ident:
            return None
        answer = self._json(f"/metadata/{quote(ident)}")
        files = parse(self.name, _Metadata, answer, f"metadata of {ident}").files
        videos = [f for f in files if f.name.lower().endswith(VIDEO_SUFFIXES)]
        base = f"{self.url.rstrip('/')}/download/{quote(ident)}/"
        renditions = [Rendition(base + quote(f.name), f.width, f.height, f.size) for f in videos]
        best = pick_rendition(renditions, self.cfg)
        chosen = next((f for f, r in zip(videos, renditions, strict=True) if r is best), None)
        creator = doc.creator
        license_url = doc.licenseurl
        title = doc.title or ident
        return self.row(
            ident, keyword, title=title, page_url=f"https://archive.org/details/{ident}",
            download_url=best.url if best else "", license_id=normalize(license_url),
            license_url=license_url, author=creator,
            attribution=f"{title} by {creator or 'unknown'}, Internet Archive ({license_url})",
            duration=_seconds(chosen.length) if chosen else None,
            width=best.width if best else None,
            height=best.height if best else None, bytes=best.size if best else None,
        )  # fmt: skip
