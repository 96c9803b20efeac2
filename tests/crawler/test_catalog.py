"""The SQLite catalog: uniqueness, status, dedupe, export and attribution."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vsrdata.crawler.catalog import Catalog, ClipRow
from vsrdata.errors import InputError, UsageError


def clip(source: str, source_id: str, **kw: object) -> ClipRow:
    return ClipRow(source=source, source_id=source_id, keyword="walking", category="walking",
                   title=f"clip {source_id}", page_url=f"https://example.org/{source_id}",
                   license_id="cc-by", license_url="https://creativecommons.org/licenses/by/4.0/",
                   author="Ann", **kw)  # type: ignore[arg-type]  # fmt: skip


def test_rows_are_unique_and_refound_clips_keep_their_outcome(tmp_path: Path) -> None:
    with Catalog(tmp_path) as cat:
        cat.add_found(clip("pexels", "1", duration=9.0))
        cat.update("pexels:1", status="downloaded", sha256="ab", local_path="clips/pexels/1.mp4")
        again = cat.add_found(clip("pexels", "1", duration=9.5))
        assert again.status == "downloaded" and again.duration == 9.5
        assert len(cat.rows()) == 1
    with Catalog(tmp_path, create=False) as cat:  # reopened: nothing lost
        assert cat.get("pexels", "1").local_path == "clips/pexels/1.mp4"  # type: ignore[union-attr]


def test_status_is_checked_and_dedupe_finds_bytes(tmp_path: Path) -> None:
    with Catalog(tmp_path) as cat:
        cat.add_found(clip("pixabay", "7"))
        with pytest.raises(ValueError, match="status"):
            cat.update("pixabay:7", status="gone")
        cat.update("pixabay:7", status="downloaded", sha256="f00", bytes=10)
        assert cat.by_sha256("f00").clip_id == "pixabay:7"  # type: ignore[union-attr]
        assert cat.by_sha256("bar") is None


def test_summary_export_and_attribution(tmp_path: Path) -> None:
    with Catalog(tmp_path) as cat:
        cat.add_found(clip("pexels", "1"))
        cat.add_found(clip("pexels", "2"))
        cat.add_found(clip("wikimedia", "File:A.webm"))
        cat.update("pexels:1", status="downloaded", bytes=100)
        cat.update("pexels:2", status="failed", reason="HTTP 503 after 5 tries")
        cat.update("wikimedia:File:A.webm", status="filtered", reason="license cc-by-nc")
        s = cat.summary()
        assert s["status"] == {"downloaded": 1, "failed": 1, "filtered": 1}
        assert s["sources"]["pexels"] == {"downloaded": 1, "failed": 1}
        assert s["reasons"]["failed: HTTP 503 after 5 tries"] == 1 and s["bytes"] == 100
        assert cat.export(tmp_path / "clips.csv") == 3
        assert cat.export(tmp_path / "clips.parquet") == 3
        with pytest.raises(UsageError, match=r"parquet or \.csv"):
            cat.export(tmp_path / "clips.xlsx")
        assert cat.attribution(tmp_path / "ATTRIBUTION.md") == 1
    with open(tmp_path / "clips.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["source_id"] for r in rows} == {"1", "2", "File:A.webm"}
    assert pq.read_table(tmp_path / "clips.parquet").num_rows == 3
    credits = (tmp_path / "ATTRIBUTION.md").read_text()
    assert "[clip 1](https://example.org/1) by Ann" in credits and "clip 2" not in credits


def test_missing_catalog_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no crawl catalog"):
        Catalog(tmp_path / "none", create=False)
