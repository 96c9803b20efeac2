"""``vsrdata compare REPORT_A REPORT_B``: two evaluations of the same clips, side by side.

Each report is a folder written by ``vsrdata eval`` (its ``results.json``). One column of
each is compared (by default its last: the model or released result it was run for): per
clip and per category the two PSNRs and their difference, over all clips the difference with
its 95% two-level bootstrap interval and the paired sign and Wilcoxon tests over clips, and
the frames where the two disagree most. The reports must cover the same clips and frames
under the same protocol; otherwise the differences would not be the methods'.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.errors import InputError, UsageError


def load_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{path} is not a report (no results.json): run vsrdata eval first")
    return dict(json.loads(file.read_text()))


def _column(doc: dict[str, Any], name: str | None, which: str) -> str:
    models = doc["models"]
    if name is None:
        return str(models[-1])
    if name not in models:
        raise UsageError(f"--{which} {name} is not a column of that report ({', '.join(models)})")
    return name


def compare_reports(a: dict[str, Any], b: dict[str, Any], column_a: str | None = None,
                    column_b: str | None = None, top: int = 10) -> dict[str, Any]:  # fmt: skip
    """The comparison document (see the module's docstring)."""
    from vsrdata.evaluate.stats import bootstrap_interval, paired_tests

    ca, cb = _column(a, column_a, "a"), _column(b, column_b, "b")
    keys = ("name", "crop_border", "skip_frames", "y_channel", "center_only")
    pa, pb = ({k: d["protocol"].get(k) for k in keys} for d in (a, b))
    if pa != pb:
        da, db = a["protocol"]["description"], b["protocol"]["description"]
        raise UsageError(f"the reports use different protocols ({da} vs {db}): their scores "
                         "do not compare")  # fmt: skip
    clips_a = {c["clip_id"]: c for c in a["clips"]}
    clips_b = {c["clip_id"]: c for c in b["clips"]}
    if set(clips_a) != set(clips_b):
        only = sorted(set(clips_a) ^ set(clips_b))
        raise InputError(f"the reports cover different clips (in one only: {', '.join(only[:8])})")
    rows, per_frame, disagreements = [], [], []
    for cid in sorted(clips_a):
        fa, fb = clips_a[cid]["per_frame"], clips_b[cid]["per_frame"]
        if fa["frame"] != fb["frame"]:
            raise InputError(f"clip {cid}: the reports scored different frames")
        x, y = np.asarray(fa[f"psnr:{ca}"]), np.asarray(fb[f"psnr:{cb}"])
        per_frame.append(y - x)
        rows.append({"clip_id": cid, "category": clips_a[cid]["category"],
                     "a": float(x.mean()), "b": float(y.mean()),
                     "difference": float((y - x).mean())})  # fmt: skip
        disagreements += [{"clip_id": cid, "frame": f, "a": float(p), "b": float(q),
                           "difference": float(q - p)}
                          for f, p, q in zip(fa["frame"], x, y, strict=True)]  # fmt: skip
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_category[r["category"]].append(r)
    categories = [{"category": k, "clips": len(v), "a": float(np.mean([r["a"] for r in v])),
                   "b": float(np.mean([r["b"] for r in v])),
                   "difference": float(np.mean([r["difference"] for r in v]))}
                  for k, v in sorted(by_category.items())]  # fmt: skip
    diff, low, high = bootstrap_interval(per_frame)
    disagreements.sort(key=lambda d: -abs(d["difference"]))
    return {"a": {"source": a["source"], "column": ca}, "b": {"source": b["source"], "column": cb},
            "protocol": a["protocol"]["description"],
            "overall": {"a": float(np.mean([r["a"] for r in rows])),
                        "b": float(np.mean([r["b"] for r in rows])), "difference": diff,
                        "ci95": [low, high],
                        **paired_tests([r["difference"] for r in rows])},
            "categories": categories, "clips": rows,
            "disagreements": disagreements[:top]}  # fmt: skip


def markdown(doc: dict[str, Any]) -> str:
    a, b, o = doc["a"], doc["b"], doc["overall"]
    lines = [f"# `{b['column']}` ({b['source']}) vs `{a['column']}` ({a['source']})", "",
             f"Protocol {doc['protocol']}. Difference = B − A, PSNR in dB.", "",
             f"Over all clips: {o['b']:.2f} vs {o['a']:.2f}, difference {o['difference']:+.3f} "
             f"dB, 95% CI [{o['ci95'][0]:+.3f}, {o['ci95'][1]:+.3f}]; better on "
             f"{o['clips_better']} clips, worse on {o['clips_worse']}; sign p = "
             f"{o['sign_p']:.3g}, Wilcoxon p = {o['wilcoxon_p']:.3g}.", ""]  # fmt: skip
    for title, key, rows in (("By category", "category", doc["categories"]),
                             ("By clip", "clip_id", doc["clips"])):  # fmt: skip
        lines += [f"## {title}", "", f"| {key} | A | B | B − A |", "|---|---|---|---|"]
        lines += [f"| {r[key]} | {r['a']:.2f} | {r['b']:.2f} | {r['difference']:+.2f} |"
                  for r in rows]  # fmt: skip
        lines.append("")
    lines += ["## Where they disagree most", "", "| clip | frame | A | B | B − A |",
              "|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {d['clip_id']} | {d['frame']} | {d['a']:.2f} | {d['b']:.2f} | "
              f"{d['difference']:+.2f} |" for d in doc["disagreements"]]  # fmt: skip
    for d in doc["disagreements"]:
        if d.get("crops"):
            lines += ["", f"{d['clip_id']}, frame {d['frame']} (click for the whole frame):", ""]
            lines.append(" ".join(f"[![{c['name']}]({c['crop']})]({c['full']})"
                                  for c in d["crops"]))  # fmt: skip
    lines += [f"\n{n}" for n in doc.get("notes", [])]
    return "\n".join(lines) + "\n"


def _clip_truth(doc: dict[str, Any], clip_id: str) -> list[np.ndarray]:
    """The ground-truth frames of a clip of a ``--videos``/``--benchmark`` report (cropped
    to the scale, as the evaluation scored them)."""
    from vsrdata.evaluate.run import crop_to_scale
    from vsrdata.preprocess.video import FrameStream, discover

    base = Path(str(doc["source"]))
    if doc.get("benchmark"):
        from vsrdata.evaluate.benchmarks import benchmark

        base = benchmark(doc["benchmark"]).locate(base)[0]
    refs = {r.clip_id: r for r in discover(base)}
    if clip_id not in refs:
        raise InputError(f"{clip_id} is no longer under {base}")
    return [crop_to_scale(f, int(doc["scale"])) for f in FrameStream(refs[clip_id])]


def _column_frame(doc: dict[str, Any], column: str, clip_id: str, truth: list[np.ndarray],
                  position: int) -> np.ndarray:  # fmt: skip
    from vsrdata.evaluate.protocol import Protocol
    from vsrdata.evaluate.results import ReleasedResults
    from vsrdata.preprocess.degrade import degrade, imresize

    source = doc["columns"][column]
    scale = int(doc["scale"])
    if source["kind"] == "bicubic":
        return imresize(degrade(truth[position], doc["degradation"], scale), scale)
    if source["kind"] == "model":  # run again on this one window, as the evaluation did
        from vsrdata.evaluate.infer import KerasUpscaler, temporal_window

        up = KerasUpscaler(source["path"], name=column)
        lr = [degrade(f, doc["degradation"], scale) for f in truth]
        return up(temporal_window(lr, position, up.frames, doc["temporal_pad"]))
    results = ReleasedResults(column, Path(source["path"]), int(doc["scale"]))
    results.begin_clip(clip_id, truth, Protocol.from_dict(doc["protocol"]))
    return results.frame(position)


def write_disagreement_crops(a: dict[str, Any], b: dict[str, Any], comparison: dict[str, Any],
                             folder: Path, most: int = 5) -> list[str]:  # fmt: skip
    """For the frames where the two columns disagree most: the ground truth and both columns,
    cropped where they differ most (native resolution) and whole, as PNGs in ``folder``.
    Possible for ``--videos``/``--benchmark`` reports: bicubic and released results are read
    again, a model is run again on those windows only. Returns why not, otherwise."""
    from vsrdata.evaluate.plots import write_crops
    from vsrdata.evaluate.run import _view_crop

    ca, cb = comparison["a"]["column"], comparison["b"]["column"]
    kinds = [d.get("columns", {}).get(c, {}).get("kind") for d, c in ((a, ca), (b, cb))]
    source = Path(str(a.get("source")))
    if None in kinds or (source / "dataset.json").exists():
        return ["crops need reports of --videos or --benchmark clips (a dataset's test "
                "windows are not kept); the frames are listed instead"]  # fmt: skip
    for d in comparison["disagreements"][:most]:
        truth = _clip_truth(a, d["clip_id"])
        position = d["frame"]  # a clip's frames are numbered by position from 0
        outs = {f"A {ca}": _column_frame(a, ca, d["clip_id"], truth, position),
                f"B {cb}": _column_frame(b, cb, d["clip_id"], truth, position)}  # fmt: skip
        y, x, side = _view_crop(truth[position], list(outs.values()))
        full = {"ground truth": truth[position], **outs}
        view = {"frame": d["frame"], "box": [y, x, side], "full": full,
                "psnr": {f"A {ca}": d["a"], f"B {cb}": d["b"]},
                "images": {k: v[y : y + side, x : x + side] for k, v in full.items()}}  # fmt: skip
        stem = f"{d['clip_id'].replace('/', '_')}.{d['frame']}"
        d["crops"] = write_crops(view, folder, stem)["crops"]
    return []
