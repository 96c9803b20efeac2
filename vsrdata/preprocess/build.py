"""``vsrdata build``: clips -> work units -> shards -> ``dataset.json``.

Work units: clips are sorted by id, assigned a split by a hash of the id, and cut into groups
of ``group_size`` clips per split. A unit writes its own shards
(``<format>/<split>/<unit>-NNNN.<ext>``) and then, last, ``_units/<unit>.json`` with its stats.
A re-run skips units whose stats exist and redoes the others from scratch (their stale
shards are deleted first), so a killed build resumes without partial shards or duplicate
samples. Units depend only on their clips and the arguments, so any engine and any number of
workers give the same bytes.

Each clip is transactional: its samples go to an anonymous spill file and reach the shards
only when the whole clip decoded cleanly; a clip that fails (unreadable, truncated, too
short, too small) is recorded with its reason and the build goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vsrdata import __version__
from vsrdata.errors import ClipError, InputError, UsageError
from vsrdata.preprocess.config import SPLITS, BuildConfig
from vsrdata.preprocess.video import ClipRef, count_frames, discover
from vsrdata.preprocess.windows import ClipProcessor
from vsrdata.shards.info import (
    INDEX_NAME,
    assemble_index,
    hf_readme,
    write_json_atomic,
)
from vsrdata.shards.schema import sample_payload_bytes
from vsrdata.shards.writer import ShardSet

log = logging.getLogger(__name__)

UNITS_DIR = "_units"
REPORT_NAME = "build_report.json"
Event = tuple[str, Any]
EventFn = Callable[[str, Any], None]


@dataclass(frozen=True)
class Unit:
    """A deterministic group of clips of one split; the unit of work and of restart."""

    name: str
    split: str
    clips: tuple[ClipRef, ...]


def clip_hash(clip_id: str) -> float:
    """The first 64 bits of sha256(clip_id), as a number uniform in [0, 1)."""
    return int.from_bytes(hashlib.sha256(clip_id.encode()).digest()[:8], "big") / 2**64


def split_of(clip_id: str, shares: tuple[float, float, float]) -> str:
    """train/val/test from the clip's hash: a clip's split never depends on other clips."""
    u = clip_hash(clip_id)
    edge = 0.0
    for name, share in zip(SPLITS, shares, strict=True):
        edge += share
        if u < edge:
            return name
    return next(n for n, s in reversed(list(zip(SPLITS, shares, strict=True))) if s > 0)


def stratified_counts(n: int, shares: tuple[float, float, float]) -> list[int]:
    """How many of ``n`` clips each split gets: the largest-remainder rounding of the shares,
    with at least one clip for every split of non-zero share while there are clips enough."""
    wanted = [i for i, share in enumerate(shares) if share > 0]
    counts = [0, 0, 0]
    if n >= len(wanted):
        for i in wanted:
            counts[i] = 1
    rest = n - sum(counts)
    exact = [max(0.0, shares[i] * n - counts[i]) for i in range(3)]
    total = sum(exact) or 1.0
    exact = [e * rest / total for e in exact]
    floors = [int(e) for e in exact]
    counts = [c + f for c, f in zip(counts, floors, strict=True)]
    order = sorted(wanted, key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_splits(clips: list[ClipRef], cfg: BuildConfig) -> dict[str, str]:
    """clip id -> split. By each clip's own hash (stable when clips are added), or with
    ``--stratify`` per category: a category's clips in hash order are dealt to train, val
    and test in :func:`stratified_counts` numbers, so every split holds every category that
    has clips enough (what a per-category evaluation needs on a small set)."""
    if not cfg.stratify:
        return {c.clip_id: split_of(c.clip_id, cfg.split) for c in clips}
    by_category: dict[str, list[ClipRef]] = {}
    for clip in clips:
        by_category.setdefault(clip.category, []).append(clip)
    result = {}
    for members in by_category.values():
        ordered = sorted(members, key=lambda c: (clip_hash(c.clip_id), c.clip_id))
        counts = stratified_counts(len(ordered), cfg.split)
        names = [name for name, k in zip(SPLITS, counts, strict=True) for _ in range(k)]
        result.update({c.clip_id: name for c, name in zip(ordered, names, strict=True)})
    return result


def plan_units(clips: list[ClipRef], cfg: BuildConfig) -> list[Unit]:
    by_split: dict[str, list[ClipRef]] = {name: [] for name in SPLITS}
    splits = assign_splits(clips, cfg)
    for clip in sorted(clips, key=lambda c: c.clip_id):
        by_split[splits[clip.clip_id]].append(clip)
    units = []
    for split, members in by_split.items():
        for start in range(0, len(members), cfg.group_size):
            group = tuple(members[start : start + cfg.group_size])
            units.append(Unit(f"{split}-{start // cfg.group_size:05d}", split, group))
    return units


# -- one unit -------------------------------------------------------------------------------


class _Spill:
    """Samples of one clip, pickled to an anonymous temporary file (gone even after a kill)."""

    def __init__(self, folder: Path) -> None:
        self._fh: IO[bytes] = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - see close()

    def add(self, sample: dict[str, Any]) -> None:
        pickle.dump(sample, self._fh, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._fh.seek(0)
        while True:
            try:
                yield pickle.load(self._fh)
            except EOFError:
                return

    def close(self) -> None:
        self._fh.close()


def _clip_record(
    clip: ClipRef, status: str, reason: str, proc: ClipProcessor, **counts: int
) -> dict[str, Any]:
    """One clip's outcome. ``status``: ``used``, ``partial`` (used, but its decoding ended
    early: ``frames`` of ``announced``) or ``skipped`` (``reason`` says why)."""
    return {"clip_id": clip.clip_id, "category": clip.category, "status": status,
            "reason": reason, "frames": proc.stats.frames, "announced": proc.stats.announced,
            "samples": counts.get("samples", 0), "bytes": counts.get("bytes", 0)}  # fmt: skip


def _no_sample_reason(proc: ClipProcessor) -> str:
    st = proc.stats
    if st.windows == 0:
        return (
            f"no sample: no shot holds a full window of {proc.cfg.frames} frames "
            f"({st.frames} frames, {st.shots} shots)"
        )
    return (
        f"no sample: none of {st.windows} windows passed --min-motion {proc.cfg.min_motion} "
        f"and --min-texture {proc.cfg.min_texture}"
    )


def _process_clip(
    clip: ClipRef, unit: Unit, cfg: BuildConfig, spill_dir: Path, sets: list[ShardSet],
    emit: EventFn,
) -> dict[str, Any]:  # fmt: skip
    proc = ClipProcessor(clip, cfg, unit.split)
    spill = _Spill(spill_dir)
    try:
        for sample in proc.samples(lambda n: emit("frames", n)):
            spill.add(sample)
    except ClipError as exc:
        return _clip_record(clip, "skipped", str(exc), proc)
    except Exception as exc:  # a decoder or codec failure on bad input must not stop a build
        log.debug("clip %s failed", clip.clip_id, exc_info=True)
        return _clip_record(clip, "skipped", f"failed: {type(exc).__name__}: {exc}", proc)
    else:
        if proc.stats.samples == 0:
            return _clip_record(clip, "skipped", _no_sample_reason(proc), proc)
        size = 0
        for sample in spill:
            size += sample_payload_bytes(sample)
            for shard_set in sets:
                shard_set.write(sample)
        st = proc.stats
        status, reason = "used", ""
        if st.partial:
            status = "partial"
            reason = f"decoding ended early: {st.frames} of {st.announced} announced frames"
        return _clip_record(clip, status, reason, proc, samples=st.samples, bytes=size)
    finally:
        spill.close()


def run_unit(unit: Unit, cfg: BuildConfig, emit: EventFn | None = None) -> dict[str, Any]:
    """Process one unit (or return its stats if it finished before); write stats last."""
    emit = emit or (lambda kind, value: None)
    root = Path(cfg.out)
    stats_path = root / UNITS_DIR / f"{unit.name}.json"
    if stats_path.exists():
        return dict(json.loads(stats_path.read_text()))
    started = time.perf_counter()
    for fmt in cfg.formats:  # leftovers of an interrupted run of this unit
        for stale in (root / fmt / unit.split).glob(f"{unit.name}-*"):
            stale.unlink()
    sets = [ShardSet(root, fmt, unit.split, unit.name, cfg.shard_size) for fmt in cfg.formats]
    clips = []
    try:
        for clip in unit.clips:
            record = _process_clip(clip, unit, cfg, root / UNITS_DIR, sets, emit)
            clips.append(record)
            emit("clip", record)
        shards = [info.to_dict() for shard_set in sets for info in shard_set.close()]
    except BaseException:
        for shard_set in sets:  # close files; a re-run deletes what this unit wrote
            shard_set.abort()
        raise
    stats = {
        "unit": unit.name,
        "split": unit.split,
        "clips": clips,
        "shards": sorted(shards, key=lambda s: (s["format"], s["path"])),
        "frames": sum(c["frames"] for c in clips),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json_atomic(stats_path, stats)
    return stats


# -- the whole build ------------------------------------------------------------------------


@dataclass
class BuildResult:
    index: dict[str, Any]
    report: dict[str, Any]


def _prepare_out(cfg: BuildConfig, units: list[Unit]) -> None:
    """Create the output folder, or check that it holds a build of the same arguments."""
    root = Path(cfg.out)
    work = root / UNITS_DIR
    plan = {
        "build": cfg.dataset_args(),
        "units": {u.name: [c.clip_id for c in u.clips] for u in units},
    }
    plan_path = work / "plan.json"
    if plan_path.exists():
        previous = json.loads(plan_path.read_text())
        if previous != plan:
            changed = "arguments" if previous.get("build") != plan["build"] else "clips"
            raise UsageError(
                f"{root} holds a build with other {changed}; run the same command to resume "
                "it, choose another --out, or add --overwrite to start over"
            )
        return
    if root.exists() and any(root.iterdir()):
        raise UsageError(
            f"--out {root} exists and is not empty; choose a new folder or add --overwrite"
        )
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(plan_path, plan)


def _remove_build(root: Path, cfg: BuildConfig, whole: bool) -> None:
    """Delete what a build wrote under ``root``: the whole folder if the build made it, else
    only the work folder and the shard folders (a folder the user made stays)."""
    targets = [root] if whole else [root / UNITS_DIR, *(root / fmt for fmt in cfg.formats)]
    for target in targets:
        try:
            shutil.rmtree(target)
        except FileNotFoundError:
            pass
        except OSError as exc:  # a mount point, a permission: say so, keep the real error
            log.warning("could not remove %s: %s", target, exc)


def _clear_out(root: Path) -> None:
    if not root.exists():
        return
    if not ((root / UNITS_DIR).is_dir() or (root / INDEX_NAME).is_file()):
        raise UsageError(
            f"--overwrite: {root} does not look like a vsrdata dataset; not deleting it"
        )
    shutil.rmtree(root)


def build(
    cfg: BuildConfig, on_event: EventFn | None = None, overwrite: bool = False
) -> BuildResult:
    """Build a dataset (see the module docstring); events go to ``on_event(kind, value)``.

    Events: ``("plan", {"clips", "frames", "units", "done_units"})`` (clips and frames still
    to process), then per clip
    ``("frames", n)`` and ``("clip", record)``, and ``("unit", stats)`` per finished unit.
    """
    from vsrdata.preprocess.engine import run_units  # engine imports this module

    cfg.validate()
    emit = on_event or (lambda kind, value: None)
    clips = discover(Path(cfg.source))
    if not clips:
        raise InputError(
            f"no videos or frame folders found in {cfg.source} "
            "(video files, or folders that hold only images)"
        )
    units = plan_units(clips, cfg)
    if overwrite:
        _clear_out(Path(cfg.out))
    made_out = not Path(cfg.out).exists()
    _prepare_out(cfg, units)
    done = {u.name for u in units if (Path(cfg.out) / UNITS_DIR / f"{u.name}.json").exists()}
    todo = [c for u in units if u.name not in done for c in u.clips]
    frames = sum(count_frames(c) for c in todo)
    emit(
        "plan", {"clips": len(todo), "frames": frames, "units": len(units), "done_units": len(done)}
    )
    started = time.perf_counter()
    stats = run_units(units, cfg, emit)
    records = [c for s in stats for c in s["clips"]]
    if not any(c["status"] != "skipped" for c in records):
        _remove_build(Path(cfg.out), cfg, whole=made_out)  # no empty dataset left behind
        reasons = "; ".join(f"{c['clip_id']}: {c['reason']}" for c in records)
        raise InputError(f"no clip of {cfg.source} gave a sample, so no dataset was written: "
                         f"{reasons}")  # fmt: skip
    return _finish(cfg, stats, done, time.perf_counter() - started)


def _finish(
    cfg: BuildConfig, stats: list[dict[str, Any]], resumed: set[str], seconds: float
) -> BuildResult:
    root = Path(cfg.out)
    index = assemble_index(cfg.dataset_args(), stats)
    frames = sum(s["frames"] for s in stats if s["unit"] not in resumed)
    report = {
        "software": {"name": "vsrdata", "version": __version__},
        "options": cfg.to_dict(),
        "seconds": round(seconds, 3),
        "frames": frames,
        "frames_per_second": round(frames / seconds, 2) if seconds > 0 else None,
        "resumed_units": sorted(resumed),
        "units": [{k: s[k] for k in ("unit", "split", "frames", "seconds")} for s in stats],
        "clips": [c for s in stats for c in s["clips"]],
    }
    readme = hf_readme(index)
    if readme is not None:
        (root / "README.md").write_text(readme)
    write_json_atomic(root / REPORT_NAME, report)
    write_json_atomic(root / INDEX_NAME, index)
    return BuildResult(index, report)
