"""The ``vsrdata`` command: argument parsing, progress display and exit codes; no logic.

Exit codes: 0 success, 1 a user-fixable error (the message says what to do), 2 bad usage.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vsrdata import __version__
from vsrdata.common.progress import Advance, Event, Metrics, Note, Start
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
out = Console(soft_wrap=True)  # a line with a path is one line, whatever its length
err = Console(stderr=True, soft_wrap=True)
_options = {"verbose": False}


def load_tensorflow() -> None:
    """Import TensorFlow without its start-up notices (shown with ``--verbose``)."""
    from vsrdata.common.quiet import import_tensorflow

    import_tensorflow(verbose=_options["verbose"])


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
    _options["verbose"] = verbose
    # TensorFlow's C++ log (a missing CUDA driver on a CPU machine, oneDNN and graph-rewrite
    # notices) is not for users, unless --verbose; errors that matter reach them as Python
    # exceptions. Read when TensorFlow loads, which the commands do later.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
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


class LazyProgress(Progress):
    """A progress display drawn from its first update on, not from ``with`` on: an error
    found before the work starts (a bad argument, a missing file) is shown without bars."""

    def __enter__(self) -> LazyProgress:
        return self

    def _draw(self) -> None:
        if not self.live.is_started:
            self.start()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._draw()
        super().update(*args, **kwargs)

    def advance(self, *args: Any, **kwargs: Any) -> None:
        self._draw()
        super().advance(*args, **kwargs)


class RateColumn(ProgressColumn):
    """Units per second of a task (``frames/s``, ``steps/s``), from rich's recent samples."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        if speed is None or not unit:
            return Text("")
        return Text(f"{speed:.2f} {unit}/s", style="progress.data.speed")


class Bars:
    """The CLI's :data:`~vsrdata.common.progress.Reporter`: a bar per task, notes printed above
    the bars. The train command subclasses it to show its metrics (:meth:`metrics`)."""

    units = ("clips", "frames", "steps")  # tasks whose rate is worth a column

    def __init__(self) -> None:
        self.progress = LazyProgress(
            TextColumn("{task.description:>7}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), RateColumn(), TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False,
        )  # fmt: skip
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    @property
    def console(self) -> Console:
        return self.progress.console

    def __call__(self, event: Event) -> None:
        if isinstance(event, Start):
            self.start(event)
        elif isinstance(event, Advance):
            task = self.tasks.get(event.task)
            if task is None:
                task = self.start(Start(event.task))
            self.progress.advance(task, event.n)
            total = self.progress.tasks[task].total
            if event.fewer and total is not None:
                self.progress.update(task, total=max(0, total - event.fewer))
        elif isinstance(event, Note):
            style = "yellow" if event.level == "warning" else "default"
            self.console.print(f"[{style}]{escape(event.text)}[/]", soft_wrap=True)
        elif isinstance(event, Metrics):
            self.metrics(event)
        # Item events (a clip's record, a unit's stats) are for the commands' summaries and
        # for Tracker; the bars already count them through Advance

    def start(self, event: Start) -> TaskID:
        label = event.label or event.task
        visible = event.total != 0  # nothing to do: no empty bar
        task = self.tasks.get(event.task)
        if task is None:
            unit = event.task if event.task in self.units else ""
            task = self.tasks[event.task] = self.progress.add_task(
                label, total=event.total, completed=event.done, visible=visible, unit=unit,
                extra="",
            )  # fmt: skip
            self.progress.update(task)  # drawn from here on
        elif self.progress.tasks[task].completed == event.done:
            self.progress.update(task, total=event.total, description=label, visible=visible)
        else:  # a new round of the same task (the next clip's frames): count and clock anew
            self.progress.reset(
                task, total=event.total, completed=event.done, description=label,
                visible=visible,
            )  # fmt: skip
        return task

    def metrics(self, event: Metrics) -> None:
        """Scalars of a training run; the train command's bars show them."""


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


def _partial_lines(index: dict[str, Any]) -> list[str]:
    return [f"  {p['clip_id']}: decoded {p['frames']} of {p['announced']} announced frames"
            for p in index.get("partial", [])]  # fmt: skip


def _summary(index: dict[str, Any], report: dict[str, Any]) -> None:
    out.print(_splits_table(index))
    if index.get("partial"):
        out.print(f"{len(index['partial'])} clips decoded partly (their decodable frames kept):")
        for line in _partial_lines(index):
            out.print(line, highlight=False)
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
    out_dir: Annotated[
        str, typer.Option("--out", help="Dataset folder, or object storage (s3://bucket/ds).")
    ],
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
    stratify: Annotated[
        bool, typer.Option("--stratify", help="Split each category by the shares.")
    ] = False,
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
    """Turn clips into a sharded HR/LR dataset (Parquet, TFRecord, WebDataset + dataset.json)."""
    from vsrdata.preprocess.build import build as run_build
    from vsrdata.preprocess.config import parse_size, parse_split

    cfg = BuildConfig(
        source=str(source), out=str(out_dir), scale=scale, frames=frames, stride=stride,
        test_stride=test_stride, patch=patch, crops_per_window=crops_per_window, crop=crop,
        min_motion=min_motion, min_texture=min_texture, degradation=degradation,
        split=parse_split(split), stratify=stratify,
        formats=tuple(f.strip() for f in format.split(",") if f.strip()),
        shard_size=parse_size(shard_size), group_size=group_size, fps=fps,
        scene_detector=scene_detector, cut_threshold=cut_threshold, flow=flow,
        engine=engine, ray_address=ray_address,
        **({"workers": workers} if workers is not None else {}),
    ).validate()  # fmt: skip
    with Bars() as bars:
        result = run_build(cfg, bars, overwrite=overwrite)
    _summary(result.index, result.report)
    out.print(f"dataset: {out_dir.rstrip('/')}/dataset.json")


@app.command()
def info(
    dataset: Annotated[str, typer.Argument(help="Dataset folder or URL (holding dataset.json).")],
) -> None:
    """Describe a dataset: build arguments, splits, categories, shards, skipped clips."""
    from vsrdata.shards.index import load_index

    index = load_index(dataset)
    b = index["build"]
    out.print(
        f"[b]{dataset}[/]  vsrdata {index['software']['version']}, schema {index['schema_version']}"
    )
    out.print(
        f"scale x{b['scale']}, {b['frames']} frames, patch {b['patch']} LR px, crop {b['crop']}, "
        f"degradation {b['degradation']}, stride {b['stride']} (test {b['test_stride']}), "
        f"split {','.join(f'{x:g}' for x in b['split'])}"
        + (" per category" if b.get("stratify") else "")
        + f", formats {', '.join(b['formats'])}"
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
    if index.get("partial"):
        out.print(f"{len(index['partial'])} clips decoded partly (their decodable frames kept):")
        for line in _partial_lines(index):
            out.print(line, highlight=False)
    if index["skipped"]:
        out.print(f"{len(index['skipped'])} clips skipped:")
        for s in index["skipped"]:
            out.print(f"  {s['clip_id']}: {s['reason']}")


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
