"""``vsrdata eval`` and ``vsrdata upscale``: argument parsing and display only.

Registered on :data:`vsrdata.cli.app`; the logic is in :mod:`vsrdata.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vsrdata.cli.app import Bars, _choices, app, err, load_tensorflow, out
from vsrdata.errors import UsageError
from vsrdata.evaluate.benchmarks import BENCHMARKS
from vsrdata.evaluate.benchmarks import benchmark as registry_benchmark
from vsrdata.evaluate.infer import TEMPORAL_PADS, check_tile
from vsrdata.evaluate.protocol import PROTOCOLS
from vsrdata.preprocess.degrade import DEGRADATIONS, SCALES


def _print_categories(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from vsrdata.evaluate.report import tables

    for title in ("By category", "All clips"):
        header, *rows = tables(doc)[title]
        keep = [i for i, name in enumerate(header) if not name.startswith(("SSIM", "flow"))]
        table = Table(title=f"{title} (PSNR-Y, dB; SSIM and flow error in the report)")
        for i in keep:
            table.add_column(header[i], justify="right", overflow="fold")
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        out.print(table)


def _print_comparisons(doc: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Gains (PSNR, dB), 95% bootstrap interval; tests over clips")
    for name in ("column", "vs", "gain", "95% CI", "clips +/-", "sign p", "Wilcox. p"):
        table.add_column(name, justify="left" if name in ("column", "vs") else "right",
                         no_wrap=True)  # fmt: skip
    for c in doc["comparisons"]:
        low, high = c["ci95"]
        table.add_row(c["model"], c["baseline"], f"{c['gain']:+.2f}",
                      f"[{low:+.2f}, {high:+.2f}]", f"{c['clips_better']}/{c['clips_worse']}",
                      f"{c['sign_p']:.2g}", f"{c['wilcoxon_p']:.2g}")  # fmt: skip
    out.print(table)


@app.command("eval")
def eval_command(
    dataset: Annotated[
        str | None, typer.Argument(help="Dataset folder or URL: its test split is scored.")
    ] = None,
    videos: Annotated[
        Path | None, typer.Option(help="Or a folder of HR clips (videos or frame folders).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="A .keras model, NAME=PATH, or bicubic; repeat for more (bicubic is always in)."
        ),
    ] = None,
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("report"),
    by_category: Annotated[
        bool, typer.Option("--by-category", help="Print the per-category table.")
    ] = False,
    results: Annotated[
        list[str] | None,
        typer.Option(help="NAME=DIR: a method's released output frames (DIR/<clip>/); repeatable."),
    ] = None,
    benchmark: Annotated[
        tuple[str, Path] | None,
        typer.Option(
            metavar="NAME DIR", help=f"A standard test set and its folder: {_choices(BENCHMARKS)}."
        ),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Also compare every column with this one (CI, tests).")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option(help=f"{_choices(PROTOCOLS)} (default: duf, or the set's).")
    ] = None,
    crop_border: Annotated[
        int | None, typer.Option(help="Border pixels left out (standard protocol).")
    ] = None,
    scale: Annotated[
        int, typer.Option(help=f"With --videos: {_choices(SCALES)} (a dataset has its own).")
    ] = 4,
    degradation: Annotated[
        str, typer.Option(help=f"With --videos: {_choices(DEGRADATIONS)}.")
    ] = "bd",
    temporal_pad: Annotated[str, typer.Option(help=_choices(TEMPORAL_PADS))] = "reflect",
    tile: Annotated[int, typer.Option(help="Tile frames larger than N LR pixels (0: never).")] = 0,
) -> None:
    """Score models and released results against bicubic (PSNR/SSIM), with 95% intervals.

    Per frame, clip and category; on a dataset's test split, a folder of HR clips or a
    standard test set (--benchmark)."""
    from vsrdata.evaluate.protocol import make_protocol
    from vsrdata.evaluate.report import write_report
    from vsrdata.evaluate.run import EvalConfig, evaluate

    bench_name = None
    if benchmark is not None:
        if videos is not None or dataset is not None:
            raise UsageError("--benchmark NAME DIR names the ground truth; give no DATASET "
                             "or --videos with it")  # fmt: skip
        set_ = registry_benchmark(benchmark[0])
        bench_name, videos = set_.name, benchmark[1]
        if protocol is None:
            protocol = set_.protocols[0]
        elif protocol not in set_.protocols:
            err.print(f"[yellow]note:[/] {set_.title} is published under --protocol "
                      f"{' or '.join(set_.protocols)}; scoring with {protocol}")  # fmt: skip
    config = EvalConfig(
        dataset=str(dataset) if dataset else None, videos=str(videos) if videos else None,
        models=tuple(model or ()), scale=scale, degradation=degradation,
        temporal_pad=temporal_pad, tile=tile, results=tuple(results or ()),
        benchmark=bench_name, baseline=baseline,
    ).validate()  # fmt: skip
    rules = make_protocol(protocol or "duf", crop_border)
    if any(m != "bicubic" for m in config.models):
        load_tensorflow()
    with Bars() as bars:
        doc = evaluate(config, rules, bars)
    paths = write_report(doc, report)
    if by_category:
        _print_categories(doc)
    if doc.get("comparisons"):
        _print_comparisons(doc)
    for skipped in doc["skipped"]:
        err.print(f"skipped {skipped['clip_id']}: {skipped['reason']}")
    out.print(f"protocol {doc['protocol']['description']}", soft_wrap=True)
    out.print(
        f"report: {paths['html']} (also report.md, results.csv, results.json)", soft_wrap=True
    )


@app.command()
def compare(
    report_a: Annotated[Path, typer.Argument(help="A report folder of vsrdata eval.")],
    report_b: Annotated[Path, typer.Argument(help="Another, of the same clips.")],
    a: Annotated[str | None, typer.Option(help="Column of A (default: its last).")] = None,
    b: Annotated[str | None, typer.Option(help="Column of B (default: its last).")] = None,
    top: Annotated[int, typer.Option(help="Frames listed where they disagree most.")] = 10,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write compare.md and compare.json here.")
    ] = None,
) -> None:
    """Compare two reports of the same clips: differences, their interval, where they differ.

    Per clip and per category the two PSNRs and their difference; over all clips the
    difference with its 95% interval and paired tests; and the frames where they disagree
    most (with --out: crops of them, linked to whole frames)."""
    import json

    from rich.table import Table

    from vsrdata.evaluate.compare import (
        compare_reports,
        load_report,
        markdown,
        write_disagreement_crops,
    )

    doc = compare_reports(load_report(report_a), load_report(report_b), a, b, top)
    table = Table(title=f"B = {doc['b']['column']} vs A = {doc['a']['column']} (PSNR, dB)")
    for col in ("clip", "category", "A", "B", "B - A"):
        table.add_column(col, justify="left" if col in ("clip", "category") else "right")
    for r in doc["clips"]:
        table.add_row(r["clip_id"], r["category"], f"{r['a']:.2f}", f"{r['b']:.2f}",
                      f"{r['difference']:+.2f}")  # fmt: skip
    out.print(table)
    o = doc["overall"]
    out.print(f"all clips: B - A = {o['difference']:+.3f} dB, 95% CI [{o['ci95'][0]:+.3f}, "
              f"{o['ci95'][1]:+.3f}]; better on {o['clips_better']} clips, worse on "
              f"{o['clips_worse']}; sign p {o['sign_p']:.3g}, Wilcoxon p "
              f"{o['wilcoxon_p']:.3g}", highlight=False)  # fmt: skip
    for d in doc["disagreements"][:3]:
        out.print(f"  disagree most: {d['clip_id']} frame {d['frame']}: {d['a']:.2f} vs "
                  f"{d['b']:.2f} ({d['difference']:+.2f})", highlight=False)  # fmt: skip
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        doc["notes"] = write_disagreement_crops(load_report(report_a), load_report(report_b),
                                                doc, out_dir)  # fmt: skip
        (out_dir / "compare.md").write_text(markdown(doc))
        (out_dir / "compare.json").write_text(json.dumps(doc, indent=2) + "\n")
        out.print(f"wrote {out_dir / 'compare.md'} and compare.json")


@app.command()
def table(
    reports: Annotated[list[Path], typer.Argument(help="Report folders (one per test set).")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the LaTeX table here (default: print).")
    ] = None,
) -> None:
    """One LaTeX table from several reports (methods x test sets, best in bold).

    Methods as rows, test sets x PSNR/SSIM as columns, the best of each column in bold and
    the second underlined; needs booktabs."""
    from vsrdata.evaluate.compare import load_report
    from vsrdata.evaluate.report import latex_table

    text = latex_table([load_report(r) for r in reports])
    if out_file is None:
        typer.echo(text, nl=False)  # plain: LaTeX is not rich markup
    else:
        out_file.write_text(text)
        out.print(f"wrote {out_file}")


@app.command()
def upscale(
    src: Annotated[Path, typer.Argument(metavar="IN", help="A video file.")],
    dst: Annotated[Path, typer.Argument(metavar="OUT", help="The .mp4 to write.")],
    model: Annotated[str, typer.Option(help="A .keras model, or bicubic.")] = "bicubic",
    scale: Annotated[int, typer.Option(help=f"For bicubic: {_choices(SCALES)}.")] = 4,
    temporal_pad: Annotated[str, typer.Option(help=_choices(TEMPORAL_PADS))] = "reflect",
    tile: Annotated[int, typer.Option(help="Tile frames larger than N LR pixels.")] = 256,
    crf: Annotated[int, typer.Option(help="x264 quality (lower is better).")] = 18,
) -> None:
    """Upscale a whole video file with a model (or bicubic), keeping fps and audio."""
    from vsrdata.evaluate.infer import make_upscaler
    from vsrdata.evaluate.upscale import probe, upscale_video

    if dst.suffix.lower() != ".mp4":
        raise UsageError(f"OUT must be an .mp4 file, got {dst}")
    if temporal_pad not in TEMPORAL_PADS:
        raise UsageError(f"--temporal-pad must be one of {', '.join(TEMPORAL_PADS)}")
    check_tile(tile)
    probe(src)  # a file that is not a video fails here, before TensorFlow loads
    if model != "bicubic":
        load_tensorflow()
    if model == "bicubic":
        upscaler: Any = make_upscaler(model, scale, tile)
    else:
        from vsrdata.evaluate.infer import KerasUpscaler

        upscaler = KerasUpscaler(model, tile=tile)
    with Bars() as bars:
        result = upscale_video(src, dst, upscaler, temporal_pad, crf, bars)
    audio = ", audio copied" if result["audio"] else ""
    out.print(f"wrote {result['frames']} frames {result['width']}x{result['height']} at "
              f"{result['fps']:.3f} fps to {dst}{audio}", highlight=False)  # fmt: skip
