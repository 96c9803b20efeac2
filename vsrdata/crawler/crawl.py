"""``vsrdata crawl``: keywords -> sources -> filters -> downloads -> catalog.

For each keyword and source, candidates come from the source page by page; each is checked
in this order, and the first failing check is recorded as the row's reason:

1. already in the catalog: a downloaded clip counts towards the limit and is skipped; a
   filtered one is skipped; a found or failed one (an interrupted or failed earlier run) is
   tried again;
2. license: its id must be in ``--licenses``;
3. duration as the API announces it, then a rendition between ``--min-height`` and
   ``--max-height``;
4. download (resumable, size- and type-checked), then the same bytes already downloaded
   under another id make it a duplicate, then OpenCV must decode it and its real height and
   duration must be within the bounds.

The crawl stops for a keyword and source once ``--limit`` clips are downloaded (or listed,
with ``--dry-run``). A source that fails for good (after retries) is reported and the crawl
goes on with the next one.

A search whose answers are not what the source declares (the wrong JSON shape, missing or
mistyped fields, truncated JSON, an HTML page), or that fails in any other way, is that
source's and keyword's error: recorded in the summary and in the catalog's ``searches``
table, while the other sources and keywords go on.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vsrdata.common.progress import Advance, Note, Reporter, Start, silent
from vsrdata.crawler.archive import Archive
from vsrdata.crawler.base import CrawlConfig, Source
from vsrdata.crawler.catalog import Catalog, ClipRow
from vsrdata.crawler.download import probe_video
from vsrdata.crawler.http import CrawlError, HostLimits, PoliteSession
from vsrdata.crawler.local import Local
from vsrdata.crawler.pexels import Pexels
from vsrdata.crawler.pixabay import Pixabay
from vsrdata.crawler.web import Web
from vsrdata.crawler.wikimedia import Wikimedia
from vsrdata.crawler.youtube import YouTube

log = logging.getLogger(__name__)

SOURCES: dict[str, type[Source]] = {
    cls.name: cls for cls in (Pixabay, Pexels, Wikimedia, Archive, YouTube, Web, Local)
}
FILE_HOST_INTERVAL = 0.5  # seconds between downloads from one file host


@dataclass
class CrawlSummary:
    found: int = 0
    known: int = 0
    downloaded: int = 0
    filtered: Counter[str] = field(default_factory=Counter)  # by kind: license, duration, ...
    failed: Counter[str] = field(default_factory=Counter)  # by reason
    # (source, keyword) -> why its search failed
    source_errors: dict[tuple[str, str], str] = field(default_factory=dict)
    # source -> why it could not run at all (a missing API key, a missing option)
    unavailable: dict[str, str] = field(default_factory=dict)
    listed: list[ClipRow] = field(default_factory=list)  # --dry-run


def session_for(cfg: CrawlConfig) -> PoliteSession:
    """A session paced by each source's published limit (on its API host)."""
    intervals = {"*": FILE_HOST_INTERVAL}
    for name in cfg.sources:
        cls = SOURCES[name]
        for host in cls.hosts(cfg):
            intervals[host] = max(intervals.get(host, 0.0), cls.interval)
    if cfg.contact:
        return PoliteSession(HostLimits(intervals), contact=cfg.contact)
    return PoliteSession(HostLimits(intervals))


class Crawler:
    """Runs one crawl (see the module docstring) into ``cfg.out``."""

    def __init__(
        self, cfg: CrawlConfig, session: PoliteSession | None = None, progress: Reporter = silent
    ) -> None:
        self.cfg = cfg
        self.session = session or session_for(cfg)
        self.progress = progress
        self.out = Path(cfg.out)
        self.summary = CrawlSummary()

    def run(self) -> CrawlSummary:
        with Catalog(self.out) as catalog:
            self.catalog = catalog
            for keyword in self.cfg.keywords:
                for name in self.cfg.sources:
                    self._crawl_one(SOURCES[name](self.session, self.cfg), keyword)
        return self.summary

    def _failed(self, source: Source, keyword: str, message: str, found: int = 0) -> None:
        message = self.session.redact(message)
        log.warning("%s / %s: %s", source.name, keyword, message)
        self.summary.source_errors[(source.name, keyword)] = message
        self.catalog.record_search(source.name, keyword, "failed", message, found)

    def _crawl_one(self, source: Source, keyword: str) -> None:
        why = source.unavailable()
        if why:
            if source.name not in self.summary.unavailable:  # said once per source
                self.progress(Note(f"skipping {source.name}: {why}", "warning"))
            self.summary.unavailable[source.name] = why
            self.catalog.record_search(source.name, keyword, "skipped", why)
            return
        task = f"{source.name}: {keyword}"
        self.progress(Start(task, self.cfg.limit))
        got = found = 0
        try:
            for clip in source.search(keyword):
                if got >= self.cfg.limit:
                    break
                self.summary.found += 1
                found += 1
                if self._handle(source, clip):
                    got += 1
                    self.progress(Advance(task))
        except CrawlError as exc:
            self._failed(source, keyword, str(exc), found)
        except Exception as exc:  # a source's bug or an answer nobody foresaw: not the crawl's end
            log.debug("%s / %s failed", source.name, keyword, exc_info=True)
            self._failed(source, keyword, f"{source.name}: {type(exc).__name__}: {exc}", found)
        else:
            self.catalog.record_search(source.name, keyword, "ok", "", found)

    def _filter(self, clip: ClipRow, kind: str, reason: str) -> bool:
        self.catalog.add_found(clip)
        self.catalog.update(clip.clip_id, status="filtered", reason=reason)
        self.summary.filtered[kind] += 1
        return False

    def _duration_ok(self, duration: float | None) -> bool:
        return duration is None or self.cfg.min_duration <= duration <= self.cfg.max_duration

    def _handle(self, source: Source, clip: ClipRow) -> bool:
        """Check, download and record one candidate; True if it counts towards the limit."""
        known = self.catalog.get(clip.source, clip.source_id)
        if known is not None and known.status == "downloaded":
            if (self.out / known.local_path).exists():
                self.summary.known += 1
                return True
        elif known is not None and known.status == "filtered":
            return False
        if clip.license_id not in self.cfg.licenses:
            why = f"license {clip.license_id or 'unknown'} not allowed"
            return self._filter(clip, "license", why)
        if not self._duration_ok(clip.duration):
            return self._filter(clip, "duration", f"duration {clip.duration:.1f} s out of bounds")
        if not clip.download_url:
            return self._filter(clip, "height", "no rendition within --min-height/--max-height")
        self.catalog.add_found(clip)
        if self.cfg.dry_run:
            self.summary.listed.append(clip)
            return True
        return self._download(source, clip)

    def _download(self, source: Source, clip: ClipRow) -> bool:
        dest: Path | None = None
        try:
            got = source.fetch(clip, self.out / "clips" / clip.source)
            dest = got.path
            twin = self.catalog.by_sha256(got.sha256)
            if twin is not None and twin.clip_id != clip.clip_id:
                dest.unlink()
                return self._filter(clip, "duplicate", f"duplicate of {twin.clip_id}")
            info = probe_video(dest)
        except CrawlError as exc:
            if dest is not None:
                dest.unlink(missing_ok=True)
            reason = self.session.redact(str(exc))
            self.catalog.update(clip.clip_id, status="failed", reason=reason)
            self.summary.failed[reason] += 1
            return False
        if not self.cfg.height_ok(info.height):
            dest.unlink()
            return self._filter(clip, "height", f"decoded height {info.height} out of bounds")
        if not self._duration_ok(info.duration):
            dest.unlink()
            why = f"decoded duration {info.duration:.1f} s out of bounds"
            return self._filter(clip, "duration", why)
        self.catalog.update(
            clip.clip_id, status="downloaded", reason="", sha256=got.sha256, bytes=got.bytes,
            local_path=dest.relative_to(self.out).as_posix(), duration=round(info.duration, 3),
            width=info.width, height=info.height, fps=info.fps,
        )  # fmt: skip
        self.summary.downloaded += 1
        return True


def crawl(cfg: CrawlConfig, progress: Reporter = silent) -> CrawlSummary:
    """Validate ``cfg``, then run a crawl with a session paced for its sources.

    Events: ``Start("<source>: <keyword>", limit)`` and an ``Advance`` per clip downloaded;
    a ``Note`` (once per source) for a source that cannot run."""
    return Crawler(cfg.validate(SOURCES), progress=progress).run()
