"""``vsrdata crawl`` and ``vsrdata catalog``: argument parsing and display only.

Registered on :data:`vsrdata.cli.app`; the logic is in :mod:`vsrdata.crawler`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vsrdata.cli.app import Bars, _choices, _human, app, err, out
from vsrdata.crawler.crawl import SOURCES


def _crawl_config(
    out_dir: Path, keywords: str, sources: str, category: list[str], licenses: str, **rest: Any
) -> Any:
    """Validate crawl arguments into a CrawlConfig (UsageError with what to fix)."""
    from vsrdata.crawler.base import CrawlConfig
    from vsrdata.errors import UsageError

    words = tuple(k.strip() for k in keywords.split(",") if k.strip())
    names = tuple(s.strip() for s in sources.split(",") if s.strip())
    allowed = frozenset(x.strip().lower() for x in licenses.split(",") if x.strip())
    mapping = {}
    for item in category:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--category takes keyword=name, got {item!r}")
        mapping[key.strip()] = value.strip()
    rest["max_duration"] = rest["max_duration"] or float("inf")
    cfg = CrawlConfig(out=str(out_dir), keywords=words, sources=names, categories=mapping,
                      licenses=allowed, **rest)  # fmt: skip
    return cfg.validate(SOURCES)


_SOURCE_HELP = "; ".join(
    opt.describe(f"{name}.{key}")
    for name, cls in SOURCES.items()
    for key, opt in cls.options.items()
)


def _source_options(items: list[str]) -> dict[str, dict[str, list[str]]]:
    """``["web.url=a", "web.depth=2"]`` -> ``{"web": {"url": ["a"], "depth": ["2"]}}``."""
    from vsrdata.common.options import parse_assignments
    from vsrdata.errors import UsageError

    out: dict[str, dict[str, list[str]]] = {}
    for key, values in parse_assignments(items, "--source-option").items():
        source, dot, name = key.partition(".")
        if not dot or not name:
            raise UsageError(f"--source-option takes SOURCE.NAME=VALUE (e.g. web.url=...), "
                             f"got {key!r}")  # fmt: skip
        out.setdefault(source, {})[name] = values
    return out


@app.command()
def crawl(
    keywords: Annotated[str, typer.Option(help="Comma-separated search keywords.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Crawl folder (catalog + clips).")],
    sources: Annotated[
        str, typer.Option(help=f"Comma-separated: {_choices(SOURCES, ', ')}.")
    ] = "pixabay,pexels",
    category: Annotated[
        list[str] | None, typer.Option(help="keyword=category (repeatable).")
    ] = None,
    min_duration: Annotated[float, typer.Option(help="Seconds.")] = 0.0,
    max_duration: Annotated[float, typer.Option(help="Seconds (0: no bound).")] = 0.0,
    min_height: Annotated[int, typer.Option(help="Smallest rendition at or above.")] = 0,
    max_height: Annotated[int, typer.Option(help="Largest height (0: no bound).")] = 0,
    limit: Annotated[int, typer.Option(help="Clips per keyword and source.")] = 10,
    licenses: Annotated[
        str, typer.Option(help="Allowed license ids.")
    ] = "cc0,pd,cc-by,cc-by-sa,pixabay,pexels",
    max_bytes: Annotated[str, typer.Option(help="Largest file to download.")] = "500MB",
    pages: Annotated[int, typer.Option(help="Result pages per keyword and source.")] = 20,
    contact: Annotated[
        str, typer.Option(envvar="VSRDATA_CONTACT", help="Contact for the User-Agent.")
    ] = "",
    dry_run: Annotated[bool, typer.Option(help="List what would be fetched.")] = False,
    source_option: Annotated[
        list[str] | None,
        typer.Option(
            "--source-option", "-S", help=f"SOURCE.NAME=VALUE (repeatable): {_SOURCE_HELP}"
        ),
    ] = None,
) -> None:
    """Find and download license-free clips by keyword, with provenance, into a catalog."""
    from vsrdata.crawler.crawl import crawl as run_crawl
    from vsrdata.preprocess.config import parse_size

    cfg = _crawl_config(
        out_dir, keywords, sources, category or [], licenses, min_duration=min_duration,
        max_duration=max_duration, min_height=min_height, max_height=max_height, limit=limit,
        max_bytes=parse_size(max_bytes), pages=pages, contact=contact, dry_run=dry_run,
        source_options=_source_options(source_option or []),
    )  # fmt: skip
    with Bars() as bars:
        summary = run_crawl(cfg, bars)
    if cfg.dry_run:
        listed = Table(title=f"{len(summary.listed)} clips would be fetched")
        for col in ("clip", "category", "license", "duration", "size", "url"):
            listed.add_column(col)
        for c in summary.listed:
            size = f"{c.width}x{c.height}" if c.width else "?"
            dur = f"{c.duration:.1f} s" if c.duration is not None else "?"
            listed.add_row(c.clip_id, c.category, c.license_id, dur, size, c.download_url)
        out.print(listed)
    table = Table(title="crawl summary")
    table.add_column("outcome")
    table.add_column("clips", justify="right")
    table.add_row("found", str(summary.found))
    table.add_row("already downloaded", str(summary.known))
    for kind, n in sorted(summary.filtered.items()):
        table.add_row(f"filtered: {kind}", str(n))
    table.add_row("downloaded", str(summary.downloaded))
    for reason, n in summary.failed.most_common():
        table.add_row(f"failed: {reason}", str(n))
    out.print(table)
    for (name, keyword), why in summary.source_errors.items():
        err.print(f"[yellow]{name} / {keyword}:[/] {why}", highlight=False, soft_wrap=True)
    out.print(f"catalog: {out_dir / 'catalog.sqlite'}")
    failed = sum(summary.failed.values())
    if len(summary.unavailable) == len(cfg.sources):
        err.print("[red]no source could run[/]: " + "; ".join(summary.unavailable.values()),
                  highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(1)
    if summary.source_errors or failed:
        err.print(
            f"[red]{len(summary.source_errors)} searches and {failed} downloads failed[/]; "
            "what was found is in the catalog; run the same command again to retry the rest",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(1)


@app.command("catalog")
def catalog_cmd(
    folder: Annotated[Path, typer.Argument(help="Crawl folder (holding catalog.sqlite).")],
    export: Annotated[
        Path | None, typer.Option(help="Write every row to .parquet or .csv.")
    ] = None,
    attribution: Annotated[Path | None, typer.Option(help="Write the credits (Markdown).")] = None,
) -> None:
    """Summarize a crawl catalog; export it; write the attribution its licenses require."""
    from vsrdata.crawler.catalog import Catalog

    with Catalog(folder, create=False) as cat:
        s = cat.summary()
        table = Table(title=f"{folder / 'catalog.sqlite'}: {s['clips']} clips")
        table.add_column("source")
        for status in ("found", "filtered", "downloaded", "failed"):
            table.add_column(status, justify="right")
        for name, counts in s["sources"].items():
            table.add_row(
                name,
                *(str(counts.get(k, 0)) for k in ("found", "filtered", "downloaded", "failed")),
            )
        out.print(table)
        for reason, n in s["reasons"].items():
            out.print(f"  {n:5d}  {reason}")
        for search in s["failed_searches"]:
            out.print(f"  search failed: {search['source']} / {search['keyword']}: "
                      f"{search['reason']}", highlight=False, soft_wrap=True)  # fmt: skip
        out.print(f"downloaded: {_human(s['bytes'])}")
        if export is not None:
            out.print(f"exported {cat.export(export)} rows to {export}")
        if attribution is not None:
            out.print(f"credited {cat.attribution(attribution)} clips in {attribution}")
