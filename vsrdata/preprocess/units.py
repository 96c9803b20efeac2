"""Work units of a build: clips grouped per split, each processed into its own shards.

A unit writes its shards and then, last, ``_units/<unit>.json`` with its stats
(:func:`run_unit`); every engine (:mod:`vsrdata.preprocess.engine`) runs the same units, so
any engine and any number of workers give the same bytes. Each clip is transactional: its
samples go to an anonymous spill file and reach the shards only when the clip's decode ended.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vsrdata.common.constants import SPLITS
from vsrdata.common.files import write_json_atomic
from vsrdata.common.progress import Advance, Item, Reporter, silent
from vsrdata.common.storage import RemoteDestination, is_url
from vsrdata.errors import ClipError
from vsrdata.preprocess.config import BuildConfig
from vsrdata.preprocess.video import ClipRef
from vsrdata.preprocess.windows import ClipProcessor
from vsrdata.shards.schema import sample_payload_bytes
from vsrdata.shards.writer import ShardSet

log = logging.getLogger(__name__)

UNITS_DIR = "_units"
Event = tuple[str, Any]


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
    progress: Reporter,
) -> dict[str, Any]:  # fmt: skip
    proc = ClipProcessor(clip, cfg, unit.split)
    spill = _Spill(spill_dir)
    try:
        for sample in proc.samples(lambda n: progress(Advance("frames", n))):
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


def report_clip(record: dict[str, Any], progress: Reporter) -> None:
    """Report a finished clip (its record, and its count on the clips bar)."""
    progress(Item("clip", record))
    short = record.get("announced", 0) - record.get("frames", 0)
    if short > 0:
        progress(Advance("frames", 0, fewer=short))
    progress(Advance("clips"))


def run_unit(unit: Unit, cfg: BuildConfig, progress: Reporter = silent) -> dict[str, Any]:
    """Process one unit (or return its stats if it finished before); write stats last.

    Events: ``Advance("frames")`` as frames are decoded; per clip ``Item("clip", record)`` and
    ``Advance("clips")``, which also takes from the frames' total what the container announced
    but did not hold."""
    if is_url(cfg.out):
        return _run_unit_remote(unit, cfg, progress)
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
            record = _process_clip(clip, unit, cfg, root / UNITS_DIR, sets, progress)
            clips.append(record)
            report_clip(record, progress)
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


def _run_unit_remote(unit: Unit, cfg: BuildConfig, progress: Reporter) -> dict[str, Any]:
    """A unit whose output is object storage: built in a local temporary folder, then its
    shards uploaded (each to a temporary key, then moved) and its stats last, so a unit
    counts as done only once all of it is there. Any machine (a Ray worker) can run it."""
    import tempfile
    from dataclasses import replace

    dest = RemoteDestination(cfg.out)
    stats_key = f"{UNITS_DIR}/{unit.name}.json"
    if dest.exists(stats_key):
        return dict(json.loads(dest.read_bytes(stats_key)))
    for fmt in cfg.formats:  # what an interrupted run of this unit uploaded
        for name in dest.names(f"{fmt}/{unit.split}"):
            if name.startswith(f"{unit.name}-"):
                dest.remove(f"{fmt}/{unit.split}/{name}")
    with tempfile.TemporaryDirectory(prefix=f"vsrdata-{unit.name}-") as tmp:
        (Path(tmp) / UNITS_DIR).mkdir()
        stats = run_unit(unit, replace(cfg, out=tmp), progress)
        for shard in stats["shards"]:
            dest.put(Path(tmp) / shard["path"], shard["path"])
    dest.write_json(stats_key, stats)
    return stats


# -- the whole build ------------------------------------------------------------------------
