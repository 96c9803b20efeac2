"""YouTube videos under Creative Commons, through yt-dlp.

- Search: ``ytsearch<N>:<keyword>`` resolved by yt-dlp, restricted with yt-dlp's own
  ``match_filter`` to ``license`` matching "creative commons" and ``duration`` within
  ``--min-duration`` / ``--max-duration`` (videos failing it are dropped by yt-dlp itself).
- Format: video only (no merging, so no ffmpeg needed), height capped by ``--max-height`` and
  at least ``--min-height``: ``bv*[height>=MIN][height<=MAX][ext=mp4]/bv*[height<=MAX]``.
- Download: yt-dlp writes ``clips/youtube/<id>.<ext>`` (ids are URL-safe) and records each id
  in its download archive (``.cache/youtube-archive.txt``); a re-run after a stop between
  yt-dlp's finish and the catalog's update finds the archived file and uses it. The archive is
  not used while searching: the catalog decides what is known (and counts to ``--limit``).

``VSRDATA_YOUTUBE_URL`` has no meaning here (yt-dlp talks to YouTube itself); tests replace
:data:`YoutubeDL` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from vsrdata.common.files import sha256_file
from vsrdata.crawler.answers import Answer, Ident, Items, OptFloat, OptInt, Text, parse
from vsrdata.crawler.base import Source
from vsrdata.crawler.catalog import ClipRow
from vsrdata.crawler.download import Downloaded
from vsrdata.crawler.http import CrawlError
from vsrdata.crawler.licenses import normalize

YoutubeDL: Any = None  # yt_dlp.YoutubeDL, imported on first use; tests replace it


def _ydl(opts: dict[str, Any]) -> Any:
    global YoutubeDL
    if YoutubeDL is None:
        import yt_dlp

        YoutubeDL = yt_dlp.YoutubeDL
    return YoutubeDL(opts)


def _errors() -> tuple[type[BaseException], ...]:
    from yt_dlp.utils import YoutubeDLError

    return (YoutubeDLError,)


CC_BY_URL = "https://creativecommons.org/licenses/by/3.0/"  # YouTube's "Creative Commons" option


def _match_filter(expression: str) -> Any:
    from yt_dlp.utils import match_filter_func

    return match_filter_func(expression)


class _Entry(Answer):
    id: Ident
    webpage_url: Text = ""
    uploader: Text = ""
    channel: Text = ""
    license: Text = ""
    title: Text = ""
    duration: OptFloat = None
    width: OptInt = None
    height: OptInt = None
    fps: OptFloat = None


class _Search(Answer):
    entries: Items[_Entry | None] = Field(default_factory=list)


class YouTube(Source):
    name = "youtube"
    default_url = "https://www.youtube.com"
    interval = 2.0

    def filter_expression(self) -> str:
        """yt-dlp match-filter syntax: CC license and the duration bounds."""
        parts = ["license ~= '(?i)creative commons'"]
        if self.cfg.min_duration > 0:
            parts.append(f"duration >= {self.cfg.min_duration:g}")
        if self.cfg.max_duration != float("inf"):
            parts.append(f"duration <= {self.cfg.max_duration:g}")
        return " & ".join(parts)

    def format_selector(self) -> str:
        low = f"[height>={self.cfg.min_height}]" if self.cfg.min_height else ""
        cap = f"[height<={self.cfg.max_height}]" if self.cfg.max_height else ""
        return f"bv*{low}{cap}[ext=mp4]/bv*{low}{cap}"

    def ydl_options(self, folder: Path | None = None) -> dict[str, Any]:
        cache = Path(self.cfg.out) / ".cache"
        opts: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "match_filter": _match_filter(self.filter_expression()),
            "format": self.format_selector(),
            "http_headers": {"User-Agent": self.session.http.headers["User-Agent"]},
            "max_filesize": self.cfg.max_bytes,
            "sleep_interval_requests": self.interval,
        }
        if folder is not None:  # downloading: the archive records what yt-dlp finished
            opts["outtmpl"] = str(folder / "%(id)s.%(ext)s")
            opts["restrictfilenames"] = True
            opts["download_archive"] = str(cache / "youtube-archive.txt")
        return opts

    def search(self, keyword: str) -> Iterator[ClipRow]:
        count = max(1, self.cfg.limit * 3)  # room for what the filters drop
        try:
            with _ydl(self.ydl_options()) as ydl:
                result = ydl.extract_info(f"ytsearch{count}:{keyword}", download=False)
        except _errors() as exc:
            raise CrawlError(f"youtube: {exc}") from None
        entries = result.get("entries") if isinstance(result, dict) else None
        if isinstance(entries, Iterable) and not isinstance(entries, list | str | bytes | dict):
            result = {**result, "entries": list(entries)}  # a generator or yt-dlp's lazy list
        for entry in parse(self.name, _Search, result or {}, "search result").entries:
            if entry is not None:
                yield self._row(entry, keyword)

    def _row(self, info: _Entry, keyword: str) -> ClipRow:
        vid = info.id
        page = info.webpage_url or f"https://www.youtube.com/watch?v={vid}"
        uploader = info.uploader or info.channel
        lic = info.license
        title = info.title or vid
        return self.row(
            vid, keyword, title=title, page_url=page, download_url=page,
            license_id=normalize(lic), license_url=CC_BY_URL if normalize(lic) == "cc-by" else "",
            author=uploader, attribution=f'"{title}" by {uploader} on YouTube ({lic})',
            duration=info.duration, width=info.width, height=info.height, fps=info.fps,
        )  # fmt: skip

    def fetch(self, clip: ClipRow, folder: Path) -> Downloaded:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with _ydl(self.ydl_options(folder)) as ydl:
                info = ydl.extract_info(clip.download_url, download=True)
                path = Path(ydl.prepare_filename(info)) if info else None
        except _errors() as exc:
            raise CrawlError(f"youtube: {exc}") from None
        if path is None:  # in the archive: finished by an earlier run that was stopped
            path = next(iter(sorted(folder.glob(f"{clip.source_id}.*"))), None)
        if path is None or not path.exists() or path.suffix == ".part":
            raise CrawlError("youtube: yt-dlp wrote no file (filtered, or archived and gone)")
        return Downloaded(path, path.stat().st_size, sha256_file(path), "video/" + path.suffix[1:])
