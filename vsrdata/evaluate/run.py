"""``evaluate(config)``: score models against bicubic per frame, clip and category.

Inputs: a dataset's test split (full frames; each sample is one LR window and its HR centre
frame, grouped by clip in frame order) or a folder of HR clips (video files or folders of
frame images, the layout of Vid4 and REDS4), degraded here with ``bd`` or ``bi`` and padded
in time at the clip's ends (``temporal_pad``).

Means are over the scored frames of a clip, then over clips (per category and overall). An
unreadable clip is reported and skipped; the others are scored.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from vsrdata.common.metrics import PSNR_CAP, flow_error, psnr_ssim, truth_flows
from vsrdata.common.progress import Advance, Item, Reporter, Start, silent
from vsrdata.errors import ClipError, InputError, UsageError
from vsrdata.evaluate.infer import (
    TEMPORAL_PADS,
    Bicubic,
    check_tile,
    make_upscaler,
    name_models,
    temporal_window,
)
from vsrdata.evaluate.plots import SHOWN_CLIPS
from vsrdata.evaluate.protocol import Protocol
from vsrdata.evaluate.results import ReleasedResults, parse_results
from vsrdata.preprocess.degrade import DEGRADATIONS, SCALES, degrade
from vsrdata.preprocess.video import FrameStream, discover

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    dataset: str | None = None  # a dataset folder (its test split) ...
    videos: str | None = None  # ... or a folder of HR clips
    models: tuple[str, ...] = ()  # .keras paths; bicubic is always added
    scale: int = 4
    degradation: str = "bd"
    temporal_pad: str = "reflect"
    tile: int = 0
    frames: int = 7  # window length; evaluate() sets it (the dataset's, or the longest model's)
    results: tuple[str, ...] = ()  # NAME=DIR: released output frames, one column each
    baseline: str | None = None  # also compare every column with this one
    benchmark: str | None = None  # a standard test set's name (videos is its folder)

    def validate(self) -> EvalConfig:
        if (self.dataset is None) == (self.videos is None):
            raise UsageError("give a DATASET folder or --videos DIR (one of them)")
        if self.scale not in SCALES:
            raise UsageError(f"--scale must be one of {', '.join(map(str, SCALES))}")
        if self.degradation not in DEGRADATIONS:
            raise UsageError(f"--degradation must be one of {', '.join(DEGRADATIONS)}")
        if self.temporal_pad not in TEMPORAL_PADS:
            raise UsageError(f"--temporal-pad must be one of {', '.join(TEMPORAL_PADS)}")
        check_tile(self.tile)
        if self.results and self.videos is None:
            raise UsageError("--results scores output frames against --videos GT_DIR (or a "
                             "--benchmark); a dataset's test split has no released "
                             "outputs")  # fmt: skip
        for _, path in name_models(self.models):  # before anything loads: a quick error
            if not Path(path).is_file():
                raise InputError(f"model {path} does not exist (give a .keras file or 'bicubic')")
        return self


@dataclass
class Clip:
    """One clip's frames as (frame id, LR window, HR frame), and what it is."""

    clip_id: str
    category: str
    windows: Callable[[], Iterator[tuple[int, np.ndarray, np.ndarray]]]
    padded: bool  # windows at the ends hold padding: the protocol's end exclusions apply


@dataclass
class ClipResult:
    clip_id: str
    category: str
    frame_ids: list[int] = field(default_factory=list)  # the frames scored
    psnr: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ssim: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    flow_error: dict[str, float] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # worst/best frame images

    def mean(self, metric: str, model: str) -> float:
        return float(np.mean(getattr(self, metric)[model]))


# -- inputs --------------------------------------------------------------------------------------


def dataset_clips(root: str, index: dict[str, Any]) -> tuple[list[Clip], str]:
    """The test split of a dataset (its ``index``), one Clip per clip (samples sorted by
    centre frame), and the dataset's degradation."""
    from vsrdata.shards.reader import iter_samples

    build = index["build"]
    if "test" not in index["splits"]:
        raise UsageError(f"{root} has no test split to evaluate")
    by_clip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sample in iter_samples(root, "test", decode=False):
        by_clip[sample["clip_id"]].append(sample)

    def frames_of(samples: list[dict[str, Any]]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        from vsrdata.shards.reader import decode_png

        for s in sorted(samples, key=lambda s: (s["shot"], s["center"])):
            lr = np.stack([decode_png(b) for b in s["lr"]])
            yield int(s["center"]), lr, decode_png(s["hr"])

    clips = [
        Clip(cid, rows[0]["category"], partial(frames_of, rows), padded=False)
        for cid, rows in sorted(by_clip.items())
    ]
    return clips, str(build["degradation"])


def video_clips(folder: str, config: EvalConfig) -> list[Clip]:
    """HR clips under ``folder``, degraded to LR here and padded at their ends."""

    def frames_of(ref: Any) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        hr = [crop_to_scale(f, config.scale) for f in FrameStream(ref)]
        if not hr or min(hr[0].shape[:2]) < 16 * config.scale:
            raise ClipError(f"{ref.path} has no frames of at least {16 * config.scale} pixels")
        lr = [degrade(f, config.degradation, config.scale) for f in hr]
        for t in range(len(hr)):
            window = temporal_window(lr, t, config.frames, config.temporal_pad)
            yield t, window, hr[t]

    refs = discover(Path(folder))
    if not refs:
        raise InputError(f"{folder} holds no video files or frame folders")
    return [Clip(r.clip_id, r.category, partial(frames_of, r), padded=True) for r in refs]


def benchmark_clips(config: EvalConfig) -> list[Clip]:
    """The clips of a standard test set, in its own order, after its layout is checked; all
    of one category, the set's name."""
    from vsrdata.evaluate.benchmarks import benchmark

    bench = benchmark(str(config.benchmark))
    base, ids = bench.locate(str(config.videos))
    by_id = {c.clip_id: c for c in video_clips(str(base), config)}
    return [replace(by_id[i], category=bench.title) for i in ids]


def crop_to_scale(hr: np.ndarray, scale: int) -> np.ndarray:
    """HR cropped to a multiple of the scale (what the degradation's LR upscales back to)."""
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    return hr[:h, :w]


# -- scoring -------------------------------------------------------------------------------------


def _view_crop(gt: np.ndarray, outputs: list[np.ndarray], size: int = 128) -> tuple[int, int, int]:
    """(y, x, side) of the square where the columns differ most from the ground truth and
    from each other: the box mean of the columns' mean absolute error plus the spread
    between them (per pixel, over channels). The report shows it at native resolution."""
    import cv2

    side = min(size, gt.shape[0], gt.shape[1])
    stack = np.stack([o.astype(np.float32) for o in outputs])
    err = np.abs(stack - gt.astype(np.float32)).mean(axis=(0, 3)) + stack.std(axis=0).mean(axis=2)
    score = cv2.boxFilter(err, -1, (side, side), normalize=True, borderType=cv2.BORDER_CONSTANT)
    half = side // 2
    inner = score[half : gt.shape[0] - side + half + 1, half : gt.shape[1] - side + half + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return int(y), int(x), side


def score_clip(
    clip: Clip, upscalers: list[Any], protocol: Protocol, progress: Reporter = silent
) -> ClipResult:
    """Per-frame PSNR/SSIM of every upscaler on one clip, flow error, and two views."""
    result = ClipResult(clip.clip_id, clip.category)
    outputs: dict[str, list[np.ndarray]] = defaultdict(list)
    truth: list[np.ndarray] = []
    items = list(clip.windows())  # windows of one clip (bounded by the clip, not the set)
    main = upscalers[-1].name  # the views follow the last model (bicubic when alone)
    for up in upscalers:  # released results align their files with this clip (or raise)
        if hasattr(up, "begin_clip"):
            up.begin_clip(clip.clip_id, [hr for _, _, hr in items], protocol)
    progress(Start("frames", len(items)))
    for position, (frame, window, hr) in enumerate(items):
        progress(Advance("frames"))
        if clip.padded and not protocol.scored(position, len(items)):
            continue
        result.frame_ids.append(frame)
        truth.append(hr)
        for up in upscalers:
            out = up.frame(position) if hasattr(up, "frame") else up(window)
            if out.shape != hr.shape:
                raise InputError(f"{up.name} gave {out.shape} for a {hr.shape} frame")
            b = protocol.crop_border
            try:
                score, structure = psnr_ssim(out, hr, b, protocol.y_channel)
            except ValueError as exc:  # frames too small for the border or the window
                raise ClipError(f"{clip.clip_id}: {exc}") from None
            result.psnr[up.name].append(min(score, PSNR_CAP))
            result.ssim[up.name].append(structure)
            outputs[up.name].append(out)
    if not result.frame_ids:
        raise ClipError(f"{clip.clip_id}: no frame is scored under the {protocol.name} protocol")
    flows = truth_flows(truth) if len(truth) > 1 else []  # once for every column
    for name, outs in outputs.items():
        errors = flow_error(outs, truth, protocol.crop_border, flows) if len(outs) > 1 else []
        result.flow_error[name] = float(np.mean(errors)) if errors else float("nan")
    for label, pick in (("worst", np.argmin), ("best", np.argmax)):
        i = int(pick(result.psnr[main]))
        y, x, side = _view_crop(truth[i], [outs[i] for outs in outputs.values()])
        images = {"ground truth": truth[i], **{n: outs[i] for n, outs in outputs.items()}}
        result.views[label] = {
            "frame": result.frame_ids[i],
            "psnr": {n: result.psnr[n][i] for n in outputs},
            "box": [y, x, side],
            "full": images,  # the report links every crop to its whole frame
            "images": {n: img[y : y + side, x : x + side] for n, img in images.items()},
        }
    return result


def evaluate(config: EvalConfig, protocol: Protocol, progress: Reporter = silent) -> dict[str, Any]:
    """Score every clip; returns the results document (see :mod:`vsrdata.evaluate.report`).

    Events: ``Start("clips")``; per clip ``Start("frames")`` and an ``Advance`` per frame, then
    ``Item("clip", {"clip_id", "status"})`` and ``Advance("clips")``."""
    config.validate()
    index = None
    if config.dataset is not None:  # the dataset's own scale; models are checked against it
        from vsrdata.shards.index import load_index

        index = load_index(config.dataset)
        config = replace(config, scale=int(index["build"]["scale"]))
    models = [make_upscaler(spec, config.scale, config.tile, name=name)
              for name, spec in name_models(config.models)]  # fmt: skip
    # windows as long as the longest model needs (each model reads its centre frames); a
    # dataset's are what it was built with
    frames = max([up.frames for up in models], default=1)
    if index is not None:
        frames, built = int(index["build"]["frames"]), frames
        if built > frames:
            longest = max(models, key=lambda up: up.frames)
            raise UsageError(f"{longest.name} takes {longest.frames} frames; {config.dataset} "
                             f"has windows of {frames}: rebuild it with --frames "
                             f"{longest.frames}")  # fmt: skip
    config = replace(config, frames=frames)
    released = [ReleasedResults(name, folder, config.scale)
                for name, folder in parse_results(config.results)]  # fmt: skip
    taken = {up.name for up in models} & {r.name for r in released}
    if taken:
        raise UsageError(f"--results {', '.join(sorted(taken))}: a model has that name too")
    upscalers: list[Any] = [Bicubic(config.scale, frames), *models, *released]
    names = [up.name for up in upscalers]
    if config.baseline is not None and config.baseline not in names:
        raise UsageError(f"--baseline {config.baseline} is not a column ({', '.join(names)})")
    if index is not None:
        clips, degradation = dataset_clips(str(config.dataset), index)
    elif config.benchmark is not None:
        clips, degradation = benchmark_clips(config), config.degradation
    else:
        clips, degradation = video_clips(str(config.videos), config), config.degradation
    warnings = trained_elsewhere(upscalers, degradation)
    for warning in warnings:
        log.warning("%s", warning)
    progress(Start("clips", len(clips)))
    results, skipped = [], []
    shown = ShownClips(upscalers[-1].name)
    for clip in clips:
        try:
            results.append(score_clip(clip, upscalers, protocol, progress))
            shown.add(results[-1])
            progress(Item("clip", {"clip_id": clip.clip_id, "status": "scored"}))
        except ClipError as exc:
            log.warning("skipped %s: %s", clip.clip_id, exc)
            skipped.append({"clip_id": clip.clip_id, "reason": str(exc)})
            progress(Item("clip", {"clip_id": clip.clip_id, "status": "skipped"}))
        progress(Advance("clips"))
    if not results:
        raise InputError("no clip could be scored: " + "; ".join(s["reason"] for s in skipped))
    from vsrdata.evaluate.report import summarize

    doc = summarize(results, [u.name for u in upscalers], protocol, config, degradation, skipped)
    doc["warnings"] = warnings
    specs = ["bicubic", *(s for _, s in name_models(config.models)),
             *(str(r.folder) for r in released)]  # fmt: skip
    doc["columns"] = {up.name: _column_source(up, spec)
                      for up, spec in zip(upscalers, specs, strict=True)}  # fmt: skip
    return doc


class ShownClips:
    """Which clips keep their worst/best frame views for the report: all of a set of at most
    ``2 * side`` clips, else the ``side`` clips where ``column`` gains least over bicubic and
    the ``side`` where it gains most (Vimeo-90K-T has 7,824: their frames would not fit in
    memory, nor their figures in a page). The others' views are dropped as they go."""

    def __init__(self, column: str, side: int = SHOWN_CLIPS // 2) -> None:
        import heapq

        self.column, self.side, self.heapq = column, side, heapq
        self.low: list[tuple[float, int, ClipResult]] = []  # max-heap by -gain
        self.high: list[tuple[float, int, ClipResult]] = []  # min-heap by gain
        self.count = 0

    def add(self, result: ClipResult) -> None:
        gain = result.mean("psnr", self.column) - result.mean("psnr", "bicubic")
        self.count += 1
        out: list[ClipResult] = []
        for heap, key in ((self.low, -gain), (self.high, gain)):
            self.heapq.heappush(heap, (key, self.count, result))
            if len(heap) > self.side:
                out.append(self.heapq.heappop(heap)[2])
        kept = {id(r) for _, _, r in self.low + self.high}
        for r in out:
            if id(r) not in kept:
                r.views = {}


def _column_source(up: Any, spec: str) -> dict[str, str]:
    """What a column is, so a later ``vsrdata compare`` can read its frames again."""
    if isinstance(up, Bicubic):
        return {"kind": "bicubic"}
    if isinstance(up, ReleasedResults):
        return {"kind": "results", "path": str(Path(spec).resolve())}
    return {"kind": "model", "path": str(Path(spec).resolve())}


def trained_elsewhere(upscalers: list[Any], degradation: str) -> list[str]:
    """A warning for each model whose manifest says it learnt another degradation: a ``bd``
    model scored on ``bi`` data (or the reverse) is not measured at its task."""
    out = []
    for up in upscalers:
        learnt = (getattr(up, "manifest", None) or {}).get("degradation")
        if learnt and learnt != degradation:
            out.append(f"{up.name} was trained on {learnt} data; this data is {degradation}: "
                       f"its scores are not those of its task")  # fmt: skip
    return out
