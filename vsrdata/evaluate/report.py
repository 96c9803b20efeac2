"""Aggregation and the report folder: report.md, results.csv, results.json, report.html.

Means are over the scored frames of a clip, then over clips: per category (one row per
category: clips, frames, PSNR and SSIM of every model and of bicubic, each model's gain over
bicubic and the share of clips where it beats bicubic), per clip, and over all clips.
``results.json`` holds every number, per frame too; the HTML adds plots (matplotlib PNGs
next to it): the gain per category, per-frame PSNR per clip, and side-by-side crops at each
clip's worst and best frames.
"""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.evaluate.protocol import Protocol

BASELINE = "bicubic"


def _aggregate(clips: list[Any], models: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"clips": len(clips), "frames": sum(len(c.frame_ids) for c in clips)}
    for m in models:
        row[f"psnr:{m}"] = float(np.mean([c.mean("psnr", m) for c in clips]))
        row[f"ssim:{m}"] = float(np.mean([c.mean("ssim", m) for c in clips]))
        flows = [c.flow_error[m] for c in clips if not math.isnan(c.flow_error[m])]
        row[f"flow_error:{m}"] = float(np.mean(flows)) if flows else None
        if m != BASELINE:
            row[f"gain:{m}"] = row[f"psnr:{m}"] - row[f"psnr:{BASELINE}"]
            wins = [c.mean("psnr", m) > c.mean("psnr", BASELINE) for c in clips]
            row[f"beats_bicubic:{m}"] = float(np.mean(wins))
    return row


def _confidence(comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    """The gains over bicubic among ``comparisons`` (:func:`stats.compare` results) as a
    table row's 95% interval and paired tests."""
    row: dict[str, Any] = {}
    for c in comparisons:
        if c["baseline"] == BASELINE:
            m = c["model"]
            row[f"ci:{m}"], row[f"p:{m}"], row[f"sign_p:{m}"] = (c["ci95"], c["wilcoxon_p"],
                                                                 c["sign_p"])  # fmt: skip
    return row


def summarize(
    results: list[Any],
    models: list[str],
    protocol: Protocol,
    config: Any,
    degradation: str,
    skipped: list[dict[str, str]],
) -> dict[str, Any]:
    """The results document: settings, per-category, per-clip (with frames) and overall."""
    categories = sorted({c.category for c in results})
    per_clip = []
    for c in results:
        row = {"clip_id": c.clip_id, "category": c.category, **_aggregate([c], models)}
        row["per_frame"] = {
            "frame": c.frame_ids,
            **{f"psnr:{m}": c.psnr[m] for m in models},
            **{f"ssim:{m}": c.ssim[m] for m in models},
        }
        per_clip.append(row)
    # each bootstrap once: the overall row's intervals are the comparisons against bicubic
    comparisons = _comparisons(results, models, getattr(config, "baseline", None))
    description = protocol.describe()
    if config.dataset is not None and protocol.skip_frames:
        description += " (none here: a dataset's test windows lie wholly inside their shots)"
    return {
        "protocol": {**protocol.as_dict(), "description": description},
        "scale": config.scale,
        "degradation": degradation,
        "temporal_pad": config.temporal_pad,
        "source": config.dataset or config.videos,
        "benchmark": getattr(config, "benchmark", None),
        "models": models,
        "categories": [
            {"category": k, **_aggregate(members, models),
             **_confidence(_comparisons(members, models, None))}
            for k in categories
            for members in [[c for c in results if c.category == k]]
        ],
        "clips": per_clip,
        "overall": {**_aggregate(results, models), **_confidence(comparisons)},
        "comparisons": comparisons,
        "skipped": skipped,
        "_views": {c.clip_id: c.views for c in results},
    }  # fmt: skip


def _comparisons(results: list[Any], models: list[str], baseline: str | None) -> list[Any]:
    """Every column against bicubic and, with ``--baseline NAME``, against that column."""
    from vsrdata.evaluate.stats import compare

    bases = [BASELINE] + ([baseline] if baseline and baseline != BASELINE else [])
    return [compare(results, m, b) for b in bases for m in models if m != b]


# -- tables --------------------------------------------------------------------------------------


def _columns(models: list[str]) -> list[tuple[str, str]]:
    cols = [(f"psnr:{m}", f"PSNR {m}") for m in models]
    cols += [(f"ssim:{m}", f"SSIM {m}") for m in models]
    for m in models[1:]:
        cols += [(f"gain:{m}", f"gain {m} (dB)"), (f"ci:{m}", f"95% CI {m}"),
                 (f"p:{m}", f"p {m}"), (f"beats_bicubic:{m}", f"{m} > bicubic")]  # fmt: skip
    cols += [(f"flow_error:{m}", f"flow err {m}") for m in models]
    return cols


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.startswith("ssim"):
        return f"{value:.4f}"
    if key.startswith("beats"):
        return f"{value:.0%}"
    if key.startswith("gain"):
        return f"{value:+.2f}"
    if key.startswith("ci:"):
        return f"[{value[0]:+.2f}, {value[1]:+.2f}]"
    if key.startswith("p:"):
        return f"{value:.2g}"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _table(rows: list[dict[str, Any]], first: str, models: list[str]) -> list[list[str]]:
    cols = _columns(models)
    header = [first, "clips", "frames", *[label for _, label in cols]]
    body = [
        [str(r.get(first, "all")), str(r["clips"]), str(r["frames"]),
         *[_fmt(k, r.get(k)) for k, _ in cols]]
        for r in rows
    ]  # fmt: skip
    return [header, *body]


def _markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in table[1:]])


def comparison_table(doc: dict[str, Any]) -> list[list[str]]:
    """Gains with their 95% interval and the paired tests over clips."""
    header = ["column", "against", "gain (dB)", "95% CI", "clips better", "clips worse",
              "sign p", "Wilcoxon p"]  # fmt: skip
    rows = [[c["model"], c["baseline"], f"{c['gain']:+.3f}",
             f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]", str(c["clips_better"]),
             str(c["clips_worse"]), f"{c['sign_p']:.3g}", f"{c['wilcoxon_p']:.3g}"]
            for c in doc.get("comparisons", [])]  # fmt: skip
    return [header, *rows]


def tables(doc: dict[str, Any]) -> dict[str, list[list[str]]]:
    models = doc["models"]
    out = {
        "By category": _table(doc["categories"], "category", models),
        "By clip": _table(doc["clips"], "clip_id", models),
        "All clips": _table([doc["overall"]], "all", models),
    }
    if doc.get("comparisons"):
        out["Gains with 95% intervals"] = comparison_table(doc)
    return out


# -- files ---------------------------------------------------------------------------------------


def _write_json(doc: dict[str, Any], path: Path, views: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _write_csv(doc: dict[str, Any], path: Path, views: dict[str, Any]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["clip_id", "category", "frame", "model", "psnr_y", "ssim_y"])
        for clip in doc["clips"]:
            frames = clip["per_frame"]
            for m in doc["models"]:
                for i, frame in enumerate(frames["frame"]):
                    writer.writerow([clip["clip_id"], clip["category"], frame, m,
                                     f"{frames[f'psnr:{m}'][i]:.6f}",
                                     f"{frames[f'ssim:{m}'][i]:.6f}"])  # fmt: skip


def _write_markdown(doc: dict[str, Any], path: Path, views: dict[str, Any]) -> None:
    head = (
        f"# vsrdata evaluation\n\nSource: `{doc['source']}`, x{doc['scale']}, degradation "
        f"`{doc['degradation']}`, temporal padding `{doc['temporal_pad']}`.\n\n"
        f"Protocol {doc['protocol']['description']}. PSNR in dB and SSIM; means over "
        "frames within a clip, then over clips. Flow error: mean end-point distance (HR "
        "pixels) between the optical flow of consecutive outputs and of the ground truth. "
        "95% CI: two-level bootstrap (clips, then frames within clips) of the gain over "
        "bicubic; p: two-sided Wilcoxon signed-rank test over clips.\n"
    )
    body = "".join(f"\n## {title}\n\n{_markdown(t)}\n" for title, t in tables(doc).items())
    skipped = "".join(f"- `{s['clip_id']}`: {s['reason']}\n" for s in doc["skipped"])
    warned = "".join(f"- {w}\n" for w in doc.get("warnings", []))
    head += f"\n## Warnings\n\n{warned}" if warned else ""
    path.write_text(head + body + (f"\n## Skipped\n\n{skipped}" if skipped else ""))


def _write_html(doc: dict[str, Any], path: Path, views: dict[str, Any]) -> None:
    from vsrdata.evaluate.plots import write_plots

    figures = write_plots(doc, views, path.parent)
    path.write_text(_html(doc, figures))


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#",
                "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}  # fmt: skip


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def set_name(doc: dict[str, Any]) -> str:
    """The column group of a report in a published table: the benchmark's name, else the
    source folder's."""
    from vsrdata.evaluate.benchmarks import BENCHMARKS

    bench = doc.get("benchmark")
    name = BENCHMARKS[bench].title if bench in BENCHMARKS else Path(str(doc["source"])).name
    return f"{name} ({doc['degradation'].upper()}x{doc['scale']})"


def latex_table(docs: list[dict[str, Any]]) -> str:
    r"""Methods as rows, test sets × PSNR/SSIM as columns, the best of each column in bold
    and the second underlined, as published VSR tables are laid out; ready for ``\input``
    (needs only ``booktabs``)."""
    methods: list[str] = []
    for doc in docs:
        methods += [m for m in doc["models"] if m not in methods]
    columns = []  # (set, metric, {method: value})
    for doc in docs:
        for metric in ("psnr", "ssim"):
            digits = 2 if metric == "psnr" else 4  # ranked as printed: equal text, equal rank
            values = {m: round(doc["overall"][f"{metric}:{m}"], digits) for m in doc["models"]}
            columns.append((set_name(doc), metric, values))
    lines = [r"\begin{tabular}{l" + "cc" * len(docs) + "}", r"\toprule",
             "Method & " + " & ".join(rf"\multicolumn{{2}}{{c}}{{{tex_escape(set_name(d))}}}"
                                      for d in docs) + r" \\",
             " & " + " & ".join("PSNR & SSIM" for _ in docs) + r" \\", r"\midrule"]  # fmt: skip
    ranks = []
    for _, _, values in columns:
        order = sorted(set(values.values()), reverse=True)
        ranks.append({m: order.index(v) for m, v in values.items()})
    for method in methods:
        cells = []
        for (_, metric, values), rank in zip(columns, ranks, strict=True):
            if method not in values:
                cells.append("--")
                continue
            text = f"{values[method]:.2f}" if metric == "psnr" else f"{values[method]:.4f}"
            place = rank[method]
            cells.append(rf"\textbf{{{text}}}" if place == 0 and len(values) > 1 else
                         rf"\underline{{{text}}}" if place == 1 else text)  # fmt: skip
        lines.append(tex_escape(method) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _write_tex(doc: dict[str, Any], path: Path, views: dict[str, Any]) -> None:
    path.write_text(f"% vsrdata evaluation: {doc['protocol']['description']}\n"
                    + latex_table([doc]))  # fmt: skip


# kind -> (file name, writer(doc, path, views)); a new report format is one entry here
WRITERS: dict[str, tuple[str, Any]] = {
    "json": ("results.json", _write_json),
    "csv": ("results.csv", _write_csv),
    "md": ("report.md", _write_markdown),
    "tex": ("report.tex", _write_tex),
    "html": ("report.html", _write_html),
}


def write_report(doc: dict[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write every report file of :data:`WRITERS` into ``folder``; their paths by kind."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    views = doc.pop("_views", {})
    paths = {}
    for kind, (name, write) in WRITERS.items():
        paths[kind] = folder / name
        write(doc, paths[kind], views)
    return paths


def _html_table(table: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table[0])
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in table[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_crops(label: str, view: dict[str, Any]) -> str:
    """A frame's crops side by side at twice their size (nearest neighbour), each labelled
    with its column's PSNR and linked to its whole frame."""
    y, x, side = view["box"]
    cells = []
    for c in view["crops"]:
        score = "" if c["psnr"] is None else f" {c['psnr']:.2f} dB"
        cells.append(f"<figure><a href='{html.escape(c['full'])}'><img class='crop' "
                     f"src='{html.escape(c['crop'])}' width='{2 * side}' height='{2 * side}' "
                     f"alt='{html.escape(c['name'])}'></a><figcaption>"
                     f"{html.escape(c['name'])}{score}</figcaption></figure>")  # fmt: skip
    return (f"<p>{label} frame {view['frame']}: the {side}×{side} region at ({x}, {y}) where "
            "the columns differ most, 2× nearest neighbour; click a crop for its whole "
            f"frame.</p><div class='crops'>{''.join(cells)}</div>")  # fmt: skip


def _html(doc: dict[str, Any], figures: dict[str, Any]) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>vsrdata evaluation</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
        "img{max-width:100%}.crops{display:flex;flex-wrap:wrap;gap:.6em}"
        "figure{margin:0;text-align:center;font-size:.85em}"
        "img.crop{image-rendering:pixelated;max-width:none}</style>",
        "<h1>vsrdata evaluation</h1>",
        f"<p>Source <code>{html.escape(str(doc['source']))}</code>, x{doc['scale']}, "
        f"degradation {html.escape(doc['degradation'])}. Protocol "
        f"{html.escape(doc['protocol']['description'])}.</p>",
    ]
    for title, table in tables(doc).items():
        parts.append(f"<h2>{title}</h2>{_html_table(table)}")
        if title == "By category" and figures.get("gain"):
            parts.append(f"<p><img src='{figures['gain']}' alt='gain per category'></p>")
    shown = figures.get("clips", {})
    if len(shown) < len(doc["clips"]):
        main = html.escape(doc["models"][-1])
        parts.append(f"<p>Figures for {len(shown)} of {len(doc['clips'])} clips: those where "
                     f"{main} gains least and most over bicubic.</p>")  # fmt: skip
    for clip in doc["clips"]:
        cid = clip["clip_id"]
        if cid not in shown:
            continue
        parts.append(f"<h3>{html.escape(cid)} ({html.escape(clip['category'])})</h3>")
        entry = shown[cid]
        if entry.get("curve"):
            parts.append(f"<p><img src='{entry['curve']}' alt='per-frame PSNR'></p>")
        for key in ("worst", "best"):
            if entry.get(key):
                parts.append(_html_crops(key, entry[key]))
    if doc.get("warnings"):
        items = "".join(f"<li>{html.escape(w)}</li>" for w in doc["warnings"])
        parts.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    if doc["skipped"]:
        items = "".join(
            f"<li>{html.escape(s['clip_id'])}: {html.escape(s['reason'])}</li>"
            for s in doc["skipped"]
        )
        parts.append(f"<h2>Skipped</h2><ul>{items}</ul>")
    return "\n".join(parts) + "\n"
