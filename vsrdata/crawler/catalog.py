"""The crawl catalog: ``catalog.sqlite``, one row per clip, unique on (source, source_id).

Every change is committed at once (SQLite in WAL mode), so a crawl that is killed loses at
most the clip it was working on, and a re-run finds what it has. Status moves
``found -> filtered | downloaded | failed``; ``reason`` says why for the last three. The same
bytes found under two ids are stored once: the later row is ``filtered`` with reason
``duplicate of <clip_id>``.
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vsrdata.crawler.licenses import requires_attribution
from vsrdata.errors import InputError, UsageError

__all__ = ["STATUSES", "Catalog", "ClipRow"]

CATALOG_NAME = "catalog.sqlite"
STATUSES = ("found", "filtered", "downloaded", "failed")
SCHEMA_VERSION = 1


@dataclass
class ClipRow:
    """One catalog row (also the record a source yields, with status ``found``)."""

    source: str
    source_id: str
    keyword: str = ""
    category: str = ""
    title: str = ""
    page_url: str = ""
    download_url: str = ""
    license_id: str = ""
    license_url: str = ""
    author: str = ""
    attribution: str = ""
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    bytes: int | None = None
    sha256: str = ""
    local_path: str = ""
    status: str = "found"
    reason: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def clip_id(self) -> str:
        return f"{self.source}:{self.source_id}"


COLUMNS = tuple(f.name for f in fields(ClipRow))
_SQL_TYPES = {"duration": "REAL", "fps": "REAL", "width": "INTEGER", "height": "INTEGER",
              "bytes": "INTEGER"}  # fmt: skip
# Columns a re-found clip may refresh (what the source says about it), never its outcome.
_METADATA = (
    "keyword", "category", "title", "page_url", "download_url", "license_id", "license_url",
    "author", "attribution", "duration", "width", "height", "fps",
)  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Catalog:
    """Open (or create) ``DIR/catalog.sqlite``. Use as a context manager or call close()."""

    def __init__(self, folder: str | Path, create: bool = True, readonly: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CATALOG_NAME
        if not self.path.exists():
            if not create or readonly:
                raise InputError(
                    f"no crawl catalog in {self.folder} (expected {CATALOG_NAME}); "
                    "run `vsrdata crawl --out DIR` first"
                )
            self.folder.mkdir(parents=True, exist_ok=True)
        if readonly:  # builds only read: works on read-only storage, never changes the file
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            self.db.row_factory = sqlite3.Row
            self._check_version()
            return
        self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self._create()

    def _create(self) -> None:
        cols = ", ".join(
            f"{c} {_SQL_TYPES.get(c, 'TEXT')}"
            + (" NOT NULL" if c in ("source", "source_id", "status") else "")
            for c in COLUMNS
        )
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS clips (id INTEGER PRIMARY KEY, {cols}, "
            "UNIQUE (source, source_id))"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS clips_sha256 ON clips (sha256)")
        # one row per (source, keyword): how its last search went (a table added later in
        # version 1: older catalogs get it on their next crawl, readers need not have it)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS searches (source TEXT NOT NULL, keyword TEXT NOT NULL, "
            "status TEXT NOT NULL, reason TEXT, found INTEGER, updated_at TEXT, "
            "PRIMARY KEY (source, keyword))"
        )
        if self.db.execute("PRAGMA user_version").fetchone()[0] == 0:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._check_version()

    def _check_version(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise UsageError(f"{self.path} has catalog schema {version}; expected {SCHEMA_VERSION}")

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- rows ---------------------------------------------------------------------------------

    def get(self, source: str, source_id: str) -> ClipRow | None:
        row = self.db.execute(
            "SELECT * FROM clips WHERE source = ? AND source_id = ?", (source, source_id)
        ).fetchone()
        return self._row(row) if row else None

    @staticmethod
    def _row(row: sqlite3.Row) -> ClipRow:
        return ClipRow(**{c: row[c] for c in COLUMNS})

    def add_found(self, clip: ClipRow) -> ClipRow:
        """Insert a clip a source found; if it is already known, refresh its metadata only."""
        now = _now()
        known = self.get(clip.source, clip.source_id)
        if known is None:
            values = {**asdict(clip), "status": "found", "reason": "", "created_at": now,
                      "updated_at": now}  # fmt: skip
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            self.db.execute(f"INSERT INTO clips ({names}) VALUES ({marks})", tuple(values.values()))
        else:
            sets = ", ".join(f"{c} = ?" for c in _METADATA)
            self.db.execute(
                f"UPDATE clips SET {sets}, updated_at = ? WHERE source = ? AND source_id = ?",
                (*(getattr(clip, c) for c in _METADATA), now, clip.source, clip.source_id),
            )
        result = self.get(clip.source, clip.source_id)
        assert result is not None
        return result

    def update(self, clip_id: str, **values: Any) -> None:
        """Set columns of one row (status must be one of STATUSES)."""
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown catalog columns {sorted(unknown)}")
        if "status" in values and values["status"] not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        source, source_id = clip_id.split(":", 1)
        sets = ", ".join(f"{c} = ?" for c in values)
        self.db.execute(
            f"UPDATE clips SET {sets}, updated_at = ? WHERE source = ? AND source_id = ?",
            (*values.values(), _now(), source, source_id),
        )

    def by_sha256(self, sha256: str) -> ClipRow | None:
        """The downloaded clip with these bytes, if any."""
        row = self.db.execute(
            "SELECT * FROM clips WHERE sha256 = ? AND status = 'downloaded' ORDER BY id LIMIT 1",
            (sha256,),
        ).fetchone()
        return self._row(row) if row else None

    def rows(self, status: str | None = None) -> list[ClipRow]:
        query = "SELECT * FROM clips"
        args: tuple[str, ...] = ()
        if status is not None:
            query, args = query + " WHERE status = ?", (status,)
        return [self._row(r) for r in self.db.execute(query + " ORDER BY source, source_id", args)]

    def record_search(
        self, source: str, keyword: str, status: str, reason: str = "", found: int = 0
    ) -> None:
        """How the search of ``source`` for ``keyword`` went: ``ok`` or ``failed`` (reason)."""
        self.db.execute(
            "INSERT OR REPLACE INTO searches (source, keyword, status, reason, found, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (source, keyword, status, reason, found, _now()),
        )

    def searches(self, status: str | None = None) -> list[dict[str, Any]]:
        """Recorded searches (all, or those of one status), by source and keyword."""
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'searches'"
        ).fetchone()
        if not exists:
            return []
        query = "SELECT * FROM searches"
        args: tuple[str, ...] = ()
        if status is not None:
            query, args = query + " WHERE status = ?", (status,)
        rows = self.db.execute(query + " ORDER BY source, keyword", args)
        return [dict(r) for r in rows]

    # -- reports ------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Counts by status, by source and status, and failures and filters by reason."""
        rows = self.rows()
        by_source: dict[str, Counter[str]] = {}
        for r in rows:
            by_source.setdefault(r.source, Counter())[r.status] += 1
        reasons = Counter(f"{r.status}: {r.reason}" for r in rows if r.reason)
        return {
            "clips": len(rows),
            "status": dict(Counter(r.status for r in rows)),
            "sources": {s: dict(c) for s, c in sorted(by_source.items())},
            "reasons": dict(reasons.most_common()),
            "bytes": sum(r.bytes or 0 for r in rows if r.status == "downloaded"),
            "failed_searches": self.searches("failed"),
        }

    def export(self, path: str | Path) -> int:
        """Write every row to ``.parquet`` or ``.csv``; return the row count."""
        path = Path(path)
        rows = [asdict(r) for r in self.rows()]
        if path.suffix == ".csv":
            with open(path, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        elif path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), path)
        else:
            raise UsageError(f"--export writes .parquet or .csv files, not {path.name!r}")
        return len(rows)

    def attribution(self, path: str | Path) -> int:
        """Write ATTRIBUTION.md crediting every downloaded clip; return the number credited."""
        rows = self.rows("downloaded")
        lines = ["# Attribution", "",
                 "Video clips in this collection, their authors and licenses.", ""]  # fmt: skip
        for r in rows:
            title = r.title or r.clip_id
            link = f"[{title}]({r.page_url})" if r.page_url else title
            by = f" by {r.author}" if r.author else ""
            lic = f"[{r.license_id}]({r.license_url})" if r.license_url else r.license_id
            note = "" if requires_attribution(r.license_id) else " (attribution not required)"
            lines.append(f"- {link}{by}, {lic}{note}. {r.attribution}".rstrip())
        Path(path).write_text("\n".join(lines) + "\n")
        return len(rows)
