"""The ``vsrdata`` command: argument parsing, progress display and exit codes; no logic.

Exit codes: 0 success, 1 a user-fixable error (the message says what to do), 2 bad usage.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vsrdata import __version__
from vsrdata.crawler.crawl import SOURCES
from vsrdata.errors import VsrDataError
from vsrdata.motion.crops import CROP_MODES
from vsrdata.motion.flow import FLOW_METHODS
from vsrdata.preprocess.config import ENGINES, BuildConfig
from vsrdata.preprocess.degrade import DEGRADATIONS, SCALES
from vsrdata.preprocess.scenes import SCENE_DETECTORS
from vsrdata.shards.writer import FORMATS

app = typer.Typer(
    name="vsrdata",
    help="License-free web video into video super-resolution datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _default(name: str) -> Any:
    return BuildConfig.__dataclass_fields__[name].default


def _choices(registry: Any, sep: str = " | ") -> str:
    return sep.join(str(k) for k in registry)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"vsrdata {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="Folder to write clips to.")],
    clips: Annotated[int, typer.Option(help="Number of clips (categories in turn).")] = 8,
    seconds: Annotated[float, typer.Option(help="Length of each clip.")] = 2.0,
    size: Annotated[str, typer.Option(help="Frame size WxH (even numbers).")] = "480x270",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same clips.")] = 0,
    fps: Annotated[int, typer.Option(help="Frame rate.")] = 25,
    cuts: Annotated[int, typer.Option(help="Hard cuts per clip.")] = 0,
) -> None:
    """Write synthetic clips with known motion (pan, zoom, rotate, objects) and sidecars."""
    from vsrdata.errors import UsageError
    from vsrdata.preprocess.synth import synthesize

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size takes WxH like 480x270, got {size!r}") from None
    paths = synthesize(out_dir, clips, seconds, (w, h), seed, fps, cuts)
    out.print(f"wrote {len(paths)} clips ({w}x{h}, {seconds:g} s at {fps} fps) to {out_dir}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:>7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


class _BuildDisplay:
    """Turns build events into two progress bars (clips, frames)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.clips = progress.add_task("clips", total=None)
        self.frames = progress.add_task("frames", total=None)

    def __call__(self, kind: str, value: Any) -> None:
        if kind == "plan":
            done, units = value["done_units"], value["units"]
            self.progress.update(self.clips, total=value["clips"])
            self.progress.update(self.frames, total=value["frames"] or None)
            if done == units:
                msg = f"resuming: {done} of {units} units done, nothing to do"
                self.progress.console.print(msg)
                for task in (self.clips, self.frames):
                    self.progress.update(task, visible=False)
            elif done:
                self.progress.console.print(f"resuming: {done} of {units} units done")
        elif kind == "frames":
            self.progress.advance(self.frames, value)
        elif kind == "clip":
            self.progress.advance(self.clips, 1)


def _splits_table(index: dict[str, Any]) -> Table:
    """Clips, samples and image bytes per split and category, with totals."""
    table = Table(title="samples by split and category")
    for col in ("split", "category", "clips", "samples", "image bytes"):
        table.add_column(col, justify="left" if col in ("split", "category") else "right")

    def row(split: str, cat: str, c: dict[str, int], **kw: Any) -> None:
        table.add_row(split, cat, str(c["clips"]), str(c["samples"]), _human(c["bytes"]), **kw)

    for split, counts in index["splits"].items():
        for cat, c in counts["categories"].items():
            row(split, cat, c)
        row(split, "[b]all", counts, end_section=True)
    row("[b]total", "", index["totals"])
    return table


def _summary(index: dict[str, Any], report: dict[str, Any]) -> None:
    out.print(_splits_table(index))
    if index["skipped"]:
        skipped = Table(title=f"{len(index['skipped'])} clips skipped")
        skipped.add_column("clip")
        skipped.add_column("reason")
        for s in index["skipped"]:
            skipped.add_row(s["clip_id"], s["reason"])
        out.print(skipped)
    used = sum(s["clips"] for s in index["splits"].values())
    on_disk = sum(s["bytes"] for s in index["shards"])
    fps = report["frames_per_second"]
    samples = index["totals"]["samples"]
    out.print(
        f"clips used {used}, skipped {len(index['skipped'])}; samples {samples}; "
        f"{len(index['shards'])} shards, {_human(on_disk)}; {report['seconds']:.1f} s, "
        f"{report['frames']} frames" + (f" at {fps:.1f} frames/s" if fps else "")
    )


@app.command()
def build(
    source: Annotated[
        Path, typer.Argument(help="Folder of videos or of frame folders (or one video file).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")],
    scale: Annotated[int, typer.Option(help=f"SR factor: {_choices(SCALES, ', ')}.")] = _default(
        "scale"
    ),
    frames: Annotated[int, typer.Option(help="Window length T (odd).")] = _default("frames"),
    stride: Annotated[
        int, typer.Option(help="Frames between window centres (train/val).")
    ] = _default("stride"),
    test_stride: Annotated[
        int, typer.Option(help="Frames between window centres (test).")
    ] = _default("test_stride"),
    patch: Annotated[
        int, typer.Option(help="LR patch side; HR crops are patch x scale.")
    ] = _default("patch"),
    crops_per_window: Annotated[
        int, typer.Option(help="Motion crops per window (non-overlapping).")
    ] = _default("crops_per_window"),
    crop: Annotated[
        str, typer.Option(help=f"{_choices(CROP_MODES)} (train/val; test keeps full frames).")
    ] = _default("crop"),
    min_motion: Annotated[
        float, typer.Option(help="Least mean flow in a motion crop, HR px/frame.")
    ] = _default("min_motion"),
    min_texture: Annotated[
        float, typer.Option(help="Least luma std of a motion crop, grey levels.")
    ] = _default("min_texture"),
    degradation: Annotated[
        str, typer.Option(help=f"{_choices(DEGRADATIONS)}: DUF Gaussian | MATLAB bicubic.")
    ] = _default("degradation"),
    split: Annotated[
        str, typer.Option(help="train,val,test shares (by clip hash).")
    ] = "0.8,0.1,0.1",
    format: Annotated[
        str, typer.Option("--format", help=f"Comma-separated: {_choices(FORMATS, ', ')}.")
    ] = "parquet,tfrecord",
    shard_size: Annotated[str, typer.Option(help="Image bytes per shard, e.g. 256MB.")] = "256MB",
    group_size: Annotated[int, typer.Option(help="Clips per work unit.")] = _default("group_size"),
    fps: Annotated[float, typer.Option(help="Frame rate of frame folders.")] = _default("fps"),
    scene_detector: Annotated[str, typer.Option(help=f"{_choices(SCENE_DETECTORS)}.")] = _default(
        "scene_detector"
    ),
    cut_threshold: Annotated[float | None, typer.Option(help="Scene detector threshold.")] = None,
    flow: Annotated[str, typer.Option(help=f"{_choices(FLOW_METHODS)}.")] = _default("flow"),
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    engine: Annotated[str, typer.Option(help=f"{_choices(ENGINES)}.")] = _default("engine"),
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (engine ray).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Delete an existing dataset in --out first.")
    ] = False,
) -> None:
    """Turn clips into a sharded HR/LR dataset (Parquet and/or TFRecord + dataset.json)."""
    options = {k: v for k, v in locals().items() if k not in ("source", "out_dir", "overwrite")}
    from vsrdata.preprocess.build import build as run_build
    from vsrdata.preprocess.config import parse_size, parse_split

    options["split"] = parse_split(split)
    options["shard_size"] = parse_size(shard_size)
    options["formats"] = tuple(f.strip() for f in options.pop("format").split(",") if f.strip())
    if options["workers"] is None:
        options.pop("workers")
    cfg = BuildConfig(source=str(source), out=str(out_dir), **options).validate()
    with _progress() as progress:
        result = run_build(cfg, _BuildDisplay(progress), overwrite=overwrite)
    _summary(result.index, result.report)
    out.print(f"dataset: {out_dir / 'dataset.json'}")


@app.command()
def info(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (holding dataset.json).")],
) -> None:
    """Describe a dataset: build arguments, splits, categories, shards, skipped clips."""
    from vsrdata.shards.info import load_index

    index = load_index(dataset)
    b = index["build"]
    out.print(
        f"[b]{dataset}[/]  vsrdata {index['software']['version']}, schema {index['schema_version']}"
    )
    out.print(
        f"scale x{b['scale']}, {b['frames']} frames, patch {b['patch']} LR px, crop {b['crop']}, "
        f"degradation {b['degradation']}, stride {b['stride']} (test {b['test_stride']}), "
        f"formats {', '.join(b['formats'])}"
    )
    out.print(_splits_table(index))
    shards = Table(title="shards")
    for col in ("split", "format", "shards", "samples", "bytes"):
        shards.add_column(col, justify="left" if col in ("split", "format") else "right")
    groups: dict[tuple[str, str], list[int]] = {}
    for s in index["shards"]:
        g = groups.setdefault((s["split"], s["format"]), [0, 0, 0])
        g[0], g[1], g[2] = g[0] + 1, g[1] + s["samples"], g[2] + s["bytes"]
    for (split_name, fmt), (n, samples, size) in groups.items():
        shards.add_row(split_name, fmt, str(n), str(samples), _human(size))
    out.print(shards)
    if index["skipped"]:
        out.print(f"{len(index['skipped'])} clips skipped:")
        for s in index["skipped"]:
            out.print(f"  {s['clip_id']}: {s['reason']}")


def _crawl_config(
    out_dir: Path, keywords: str, sources: str, category: list[str], licenses: str, **rest: Any
) -> Any:
    """Validate crawl arguments into a CrawlConfig (UsageError with what to fix)."""
    from vsrdata.crawler.base import CrawlConfig
    from vsrdata.crawler.licenses import KNOWN
    from vsrdata.errors import UsageError

    words = tuple(k.strip() for k in keywords.split(",") if k.strip())
    names = tuple(s.strip() for s in sources.split(",") if s.strip())
    allowed = frozenset(x.strip().lower() for x in licenses.split(",") if x.strip())
    if not words:
        raise UsageError("--keywords needs at least one keyword, e.g. --keywords walking,animal")
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise UsageError(f"unknown source(s) {unknown}; choose from {_choices(SOURCES, ', ')}")
    bad = sorted(allowed - set(KNOWN))
    if bad:
        raise UsageError(f"unknown license id(s) {bad}; known: {', '.join(KNOWN)}")
    mapping = {}
    for item in category:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--category takes keyword=name, got {item!r}")
        mapping[key.strip()] = value.strip()
    if rest["max_duration"] and rest["min_duration"] > rest["max_duration"]:
        raise UsageError("--min-duration is larger than --max-duration")
    rest["max_duration"] = rest["max_duration"] or float("inf")
    return CrawlConfig(out=str(out_dir), keywords=words, sources=names, categories=mapping,
                       licenses=allowed, **rest)  # fmt: skip


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
    url: Annotated[
        list[str] | None, typer.Option(help="web: a page to start from (repeatable).")
    ] = None,
    depth: Annotated[int, typer.Option(help="web: same-site link depth.")] = 1,
    local_dir: Annotated[str, typer.Option(help="local: folder of videos to import.")] = "",
    local_license: Annotated[str, typer.Option(help="local: the folder's license.")] = "",
    local_author: Annotated[str, typer.Option(help="local: the folder's author.")] = "",
) -> None:
    """Find and download license-free clips by keyword, with provenance, into a catalog."""
    from vsrdata.crawler.crawl import crawl as run_crawl
    from vsrdata.preprocess.config import parse_size

    cfg = _crawl_config(
        out_dir, keywords, sources, category or [], licenses, min_duration=min_duration,
        max_duration=max_duration, min_height=min_height, max_height=max_height, limit=limit,
        max_bytes=parse_size(max_bytes), pages=pages, contact=contact, dry_run=dry_run,
        urls=tuple(url or ()), depth=depth, local_dir=local_dir, local_license=local_license,
        local_author=local_author,
    )  # fmt: skip
    with _progress() as progress:
        tasks: dict[tuple[str, str], Any] = {}

        def on_event(kind: str, value: Any) -> None:
            key = (value.get("source", ""), value.get("keyword", ""))
            if kind == "task":
                tasks[key] = progress.add_task(f"{key[0]}: {key[1]}", total=value["limit"])
            elif kind == "got":
                progress.advance(tasks[key], 1)
            elif kind == "skip":
                progress.console.print(f"skipping {value['source']}: {value['reason']}")

        summary = run_crawl(cfg, on_event)
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
    for name, why in summary.source_errors.items():
        err.print(f"[yellow]{name}:[/] {why}", highlight=False, soft_wrap=True)
    out.print(f"catalog: {out_dir / 'catalog.sqlite'}")


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
        out.print(f"downloaded: {_human(s['bytes'])}")
        if export is not None:
            out.print(f"exported {cat.export(export)} rows to {export}")
        if attribution is not None:
            out.print(f"credited {cat.attribution(attribution)} clips in {attribution}")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; return the exit code (errors shown without a traceback)."""
    try:
        app(args=argv, prog_name="vsrdata")
    except SystemExit as exc:  # Typer's own exits: 0, or 2 for bad usage
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except VsrDataError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
