"""Any web page with schema.org ``VideoObject`` markup.

Starting from the pages given with ``web.url``, fetch each page (robots.txt obeyed), read its
JSON-LD (``<script type="application/ld+json">``, including ``@graph`` lists) for
``VideoObject``s, and follow links to the same site up to ``web.depth`` levels. A video is a
candidate when its name, description or keywords contain the keyword (``*`` takes all).
Fields: ``contentUrl`` (the file), ``name``, ``duration`` (ISO 8601, e.g. ``PT1M30S``),
``license`` (URL or name; else the page's ``rel="license"`` link), ``author``/``creator``,
``width``/``height``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urldefrag, urljoin, urlsplit

from vsrdata.common.constants import IMAGE_EXTS, VIDEO_EXTS
from vsrdata.common.options import Option
from vsrdata.crawler.base import CrawlConfig, Source
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.http import CrawlError
from vsrdata.crawler.licenses import normalize

MAX_PAGES = 200  # pages fetched per start URL and keyword, whatever the depth
MAX_PAGE_BYTES = 5 * 10**6  # an HTML page longer than this is read only this far
MEDIA_EXTS = VIDEO_EXTS | IMAGE_EXTS | {".zip", ".pdf", ".mp3", ".wav", ".gz"}


def _parse(html: bytes, charset: str | None) -> Any:
    from bs4 import BeautifulSoup  # imported on first use: the CLI starts without it

    return BeautifulSoup(html, "html.parser", from_encoding=charset)


def iso_duration(text: Any) -> float | None:
    """ISO 8601 duration ('PT1M30.5S', 'P0DT0H0M12S') -> seconds."""
    m = re.fullmatch(
        r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?",
        str(text or "").strip(),
    )
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def _videos(node: Any) -> Iterator[dict[str, Any]]:
    """Every VideoObject in a JSON-LD document (nested, listed or in @graph)."""
    if isinstance(node, list):
        for item in node:
            yield from _videos(item)
    elif isinstance(node, dict):
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "VideoObject" in kinds:
            yield node
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _videos(value)


def _name(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_name(v) for v in value if _name(v))
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


def _int(value: Any) -> int | None:
    m = re.match(r"\d+", str(_name(value) or value or ""))
    return int(m.group()) if m else None


class Web(Source):
    name = "web"
    default_url = ""
    interval = 1.0
    options: ClassVar[Mapping[str, Option]] = {
        "url": Option("", "a page to start from", repeatable=True),
        "depth": Option(1, "same-site links followed this deep (0: the given pages only)",
                        minimum=0),
    }  # fmt: skip

    @classmethod
    def hosts(cls, cfg: CrawlConfig) -> list[str]:
        """Every site the crawl starts from (paced like an API)."""
        urls = cls.settings(cfg)["url"]
        return sorted({urlsplit(u).netloc for u in urls if urlsplit(u).netloc})

    def unavailable(self) -> str | None:
        return None if self.opts["url"] else "give pages to start from: --source-option web.url=URL"

    def search(self, keyword: str) -> Iterator[ClipRow]:
        seen: set[str] = set()
        for start in self.opts["url"]:
            site = urlsplit(start).netloc
            queue, fetched = [(start, 0)], 0
            while queue and fetched < MAX_PAGES:
                url, level = queue.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                try:
                    soup = self._page(url)
                except CrawlError:
                    if url == start:
                        raise
                    continue  # a broken or forbidden link does not stop the crawl
                if soup is None:
                    continue
                fetched += 1
                yield from self._page_videos(soup, url, keyword)
                if level < self.opts["depth"]:
                    for a in soup.find_all("a", href=True):
                        link = urldefrag(urljoin(url, str(a["href"])))[0]
                        parts = urlsplit(link)
                        media = Path(parts.path).suffix.lower() in MEDIA_EXTS
                        if parts.scheme in ("http", "https") and parts.netloc == site and not media:
                            queue.append((link, level + 1))

    def _page(self, url: str) -> Any:
        """The parsed page (its first MAX_PAGE_BYTES), or None if it is not an HTML page."""
        with self.session.get(url, robots=True, stream=True) as resp:
            kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind not in ("text/html", "application/xhtml+xml"):
                return None
            body = b""
            for chunk in resp.iter_content(65536):
                body += chunk
                if len(body) >= MAX_PAGE_BYTES:
                    break
            charset = resp.headers.get("Content-Type", "").partition("charset=")[2].strip() or None
            return _parse(body, charset)  # without a charset, BeautifulSoup reads <meta>

    def _page_videos(self, soup: Any, url: str, keyword: str) -> Iterator[ClipRow]:
        page_license = ""
        tag = soup.find(["a", "link"], rel="license")
        if tag is not None and tag.get("href"):
            page_license = urljoin(url, str(tag["href"]))
        for script in soup.find_all("script", type="application/ld+json"):
            try:
                doc = json.loads(script.string or "")
            except ValueError:
                continue
            for video in _videos(doc):
                row = self._row(video, url, page_license, keyword)
                if row is not None:
                    yield row

    def _row(
        self, video: dict[str, Any], page: str, page_license: str, keyword: str
    ) -> ClipRow | None:
        content = urljoin(page, str(video.get("contentUrl") or ""))
        if not video.get("contentUrl") or urlsplit(content).scheme not in ("http", "https"):
            return None
        text = " ".join(_name(video.get(k)) for k in ("name", "description", "keywords")).lower()
        if keyword != "*" and keyword.lower() not in text:
            return None
        lic = _name(video.get("license")) or page_license
        author = _name(video.get("author")) or _name(video.get("creator"))
        title = _name(video.get("name")) or content
        height = _int(video.get("height"))
        if height is not None and not self.cfg.height_ok(height):
            content = ""  # the only rendition is out of bounds
        return self.row(
            content, keyword, title=title, page_url=page, download_url=content,
            license_id=normalize(lic), license_url=lic if lic.startswith("http") else "",
            author=author, attribution=f"{title} by {author or 'unknown'} ({lic or 'no license'})",
            duration=iso_duration(video.get("duration")), width=_int(video.get("width")),
            height=height,
        )  # fmt: skip
