"""The Source base class and what every source shares.

A source turns a keyword into candidate clips (:class:`~vsrdata.crawler.catalog.ClipRow`
with status ``found``): it queries its API page by page through the polite session, and
fills, per clip, the mandatory fields ``source_id``, ``page_url``, ``download_url`` and
``license_id`` and as many optional ones as the API gives (``title``, ``author``,
``license_url``, ``attribution``, ``duration``, ``width``, ``height``, ``fps``, ``bytes``).
Filtering by license and duration, downloading and the catalog are the crawl's job
(:mod:`vsrdata.crawler.crawl`), the same for every source.

Each source's base URL can be overridden with ``VSRDATA_<NAME>_URL`` (mirrors, tests). A
source that needs more (the pages ``web`` starts from, the folder ``local`` imports) declares
its :attr:`Source.options`; users give them as ``--source-option NAME.KEY=VALUE``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from vsrdata.common.options import Option, resolve
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.download import Downloaded, download, safe_name
from vsrdata.crawler.http import CrawlError, PoliteSession
from vsrdata.crawler.licenses import DEFAULT_ALLOWED, KNOWN
from vsrdata.errors import UsageError

__all__ = ["CrawlConfig", "Rendition", "Source", "pick_rendition"]


@dataclass(frozen=True)
class CrawlConfig:
    """What to look for; validated by the CLI before any request."""

    out: str
    keywords: tuple[str, ...]
    sources: tuple[str, ...]
    categories: dict[str, str] = field(default_factory=dict)  # keyword -> category
    min_duration: float = 0.0
    max_duration: float = float("inf")
    min_height: int = 0
    max_height: int = 0  # 0: no cap
    limit: int = 10  # downloaded clips per keyword and source
    licenses: frozenset[str] = DEFAULT_ALLOWED
    max_bytes: int = 500 * 10**6
    dry_run: bool = False
    contact: str = ""
    pages: int = 20  # at most this many result pages per keyword and source
    # source name -> that source's own options (``Source.options``), as text or typed values
    source_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def validate(self, sources: Any) -> CrawlConfig:
        """Raise :class:`UsageError` with what to change if any option is invalid."""
        if not self.keywords:
            raise UsageError("--keywords needs at least one keyword, e.g. --keywords walking")
        unknown = [s for s in self.sources if s not in sources]
        if unknown or not self.sources:
            raise UsageError(f"unknown source(s) {unknown}; choose from {', '.join(sources)}")
        bad = sorted(set(self.licenses) - set(KNOWN))
        if bad:
            raise UsageError(f"unknown license id(s) {bad}; known: {', '.join(KNOWN)}")
        if self.min_duration > self.max_duration:
            raise UsageError("--min-duration is larger than --max-duration")
        if self.max_height and self.min_height > self.max_height:
            raise UsageError("--min-height is larger than --max-height")
        for name in ("limit", "pages", "max_bytes"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if self.min_height < 0 or self.max_height < 0:
            raise UsageError("--min-height and --max-height cannot be negative")
        for name in self.source_options:
            if name not in self.sources:
                raise UsageError(f"options are given for {name}, which is not among --sources")
            sources[name].settings(self)  # raises on an unknown or ill-typed option
        return self

    def category(self, keyword: str) -> str:
        return self.categories.get(keyword, keyword)

    def height_ok(self, height: int) -> bool:
        return height >= self.min_height and (not self.max_height or height <= self.max_height)


@dataclass(frozen=True)
class Rendition:
    """One encoding of a clip that a source offers."""

    url: str
    width: int | None
    height: int | None
    size: int | None = None
    fps: float | None = None


def pick_rendition(renditions: list[Rendition], cfg: CrawlConfig) -> Rendition | None:
    """The smallest rendition at or above ``min_height`` (and at most ``max_height``).

    Renditions whose height the source does not say come last (the crawl checks the real
    height after download); None when none fits.
    """
    fits = [r for r in renditions if r.url and (r.height is None or cfg.height_ok(r.height))]
    if not fits:
        return None
    return min(fits, key=lambda r: (r.height is None, r.height or 0, r.size or 0))


class Source(ABC):
    """One site or API. Subclasses set the class variables and implement :meth:`search`."""

    name: ClassVar[str]
    default_url: ClassVar[str]
    key_env: ClassVar[str | None] = None  # environment variable holding the API key
    interval: ClassVar[float] = 1.0  # seconds between API requests (the published limit)
    options: ClassVar[Mapping[str, Option]] = {}  # given as --source-option NAME.KEY=VALUE

    def __init__(self, session: PoliteSession, cfg: CrawlConfig) -> None:
        self.session, self.cfg = session, cfg
        self.opts = self.settings(cfg)
        self.url = self.api_url()
        self.key = os.environ.get(self.key_env, "") if self.key_env else ""
        if self.key:
            session.secrets.append(self.key)

    @classmethod
    def api_url(cls) -> str:
        """The base URL: ``VSRDATA_<NAME>_URL`` if set, else the public one."""
        return os.environ.get(f"VSRDATA_{cls.name.upper()}_URL", cls.default_url)

    @classmethod
    def settings(cls, cfg: CrawlConfig) -> dict[str, Any]:
        """This source's options in ``cfg``, typed, with their defaults."""
        return resolve(cls.name, cls.options, cfg.source_options.get(cls.name, {}))

    @classmethod
    def hosts(cls, cfg: CrawlConfig) -> list[str]:
        """The hosts this source will ask, paced at :attr:`interval` (its API's host)."""
        host = urlsplit(cls.api_url()).netloc
        return [host] if host else []

    def unavailable(self) -> str | None:
        """Why this source cannot run (e.g. a missing key), or None."""
        if self.key_env and not self.key:
            return f"set {self.key_env} to crawl {self.name}"
        return None

    @abstractmethod
    def search(self, keyword: str) -> Iterator[ClipRow]:
        """Candidate clips for ``keyword``, best first, across result pages."""

    def fetch(self, clip: ClipRow, folder: Path) -> Downloaded:
        """Download ``clip`` into ``folder`` (over HTTP by default; yt-dlp for YouTube)."""
        ext = Path(urlsplit(clip.download_url).path).suffix or ".mp4"
        return download(self.session, clip.download_url, folder / safe_name(clip.source_id, ext),
                        self.cfg.max_bytes, expected_size=clip.bytes, robots=True)  # fmt: skip

    def json_object(self, resp: Any) -> dict[str, Any]:
        """An API answer's JSON object; CrawlError if it is malformed or not an object."""
        try:
            data = resp.json()
        except ValueError:
            raise CrawlError(f"{self.name}: malformed JSON in the API answer") from None
        if not isinstance(data, dict):
            raise CrawlError(f"{self.name}: the API answered with no JSON object")
        return data

    def row(self, source_id: str, keyword: str, **fields: object) -> ClipRow:
        return ClipRow(
            source=self.name,
            source_id=str(source_id),
            keyword=keyword,
            category=self.cfg.category(keyword),
            **fields,  # type: ignore[arg-type]
        )
