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

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsrdata import __version__
from vsrdata.common.progress import Note, Reporter, Start, silent
from vsrdata.common.storage import Destination, destination
from vsrdata.errors import InputError, UsageError
from vsrdata.preprocess.config import BuildConfig
from vsrdata.preprocess.units import UNITS_DIR, Unit, plan_units
from vsrdata.preprocess.video import count_frames, discover
from vsrdata.shards.index import INDEX_NAME, assemble_index, hf_readme

log = logging.getLogger(__name__)

REPORT_NAME = "build_report.json"


@dataclass
class BuildResult:
    index: dict[str, Any]
    report: dict[str, Any]


def _prepare_out(cfg: BuildConfig, units: list[Unit], dest: Destination) -> None:
    """Create the output, or check that it holds a build of the same arguments."""
    plan = {
        "build": cfg.dataset_args(),
        "units": {u.name: [c.clip_id for c in u.clips] for u in units},
    }
    plan_key = f"{UNITS_DIR}/plan.json"
    if dest.exists(plan_key):
        previous = json.loads(dest.read_bytes(plan_key))
        if previous != plan:
            changed = "arguments" if previous.get("build") != plan["build"] else "clips"
            raise UsageError(
                f"{dest} holds a build with other {changed}; run the same command to resume "
                "it, choose another --out, or add --overwrite to start over"
            )
        return
    if dest.names():
        raise UsageError(
            f"--out {dest} exists and is not empty; choose a new folder or add --overwrite"
        )
    dest.write_json(plan_key, plan)


def _remove_build(dest: Destination, cfg: BuildConfig, whole: bool) -> None:
    """Delete what a build wrote: all of it if the build made the output, else only the
    work folder and the shard folders (a folder the user made stays)."""
    targets = [""] if whole else [UNITS_DIR, *cfg.formats]
    for target in targets:
        try:
            dest.remove(target)
        except OSError as exc:  # a mount point, a permission: say so, keep the real error
            log.warning("could not remove %s/%s: %s", dest, target, exc)


def _clear_out(dest: Destination) -> None:
    if not dest.names():
        return
    if not (dest.names(UNITS_DIR) or dest.exists(INDEX_NAME)):
        raise UsageError(
            f"--overwrite: {dest} does not look like a vsrdata dataset; not deleting it"
        )
    dest.remove("")


def build(cfg: BuildConfig, progress: Reporter = silent, overwrite: bool = False) -> BuildResult:
    """Build a dataset (see the module docstring), reporting to ``progress``.

    Events (:mod:`vsrdata.common.progress`): ``Start("clips")`` and ``Start("frames")`` with
    what is still to process, a ``Note`` when resuming, then per clip ``Advance("frames")`` and
    ``Item("clip", record)`` + ``Advance("clips")``, and ``Item("unit", stats)`` per unit.
    """
    from vsrdata.preprocess.engine import run_units

    cfg.validate()
    clips = discover(Path(cfg.source))
    if not clips:
        raise InputError(
            f"no videos or frame folders found in {cfg.source} "
            "(video files, or folders that hold only images)"
        )
    units = plan_units(clips, cfg)
    dest = destination(cfg.out)
    if overwrite:
        _clear_out(dest)
    made_out = not dest.exists()  # a folder the user made (even empty) stays
    _prepare_out(cfg, units, dest)
    done = {u.name for u in units if dest.exists(f"{UNITS_DIR}/{u.name}.json")}
    todo = [c for u in units if u.name not in done for c in u.clips]
    if done:
        rest = "nothing to do" if len(done) == len(units) else "the rest now"
        progress(Note(f"resuming: {len(done)} of {len(units)} units done, {rest}"))
    progress(Start("clips", len(todo)))
    frames = sum(count_frames(c) for c in todo)  # what containers announce (0: unknown)
    progress(Start("frames", frames if frames or not todo else None))
    started = time.perf_counter()
    stats = run_units(units, cfg, progress)
    records = [c for s in stats for c in s["clips"]]
    if not any(c["status"] != "skipped" for c in records):
        _remove_build(dest, cfg, whole=made_out)  # no empty dataset left behind
        reasons = "; ".join(f"{c['clip_id']}: {c['reason']}" for c in records)
        raise InputError(f"no clip of {cfg.source} gave a sample, so no dataset was written: "
                         f"{reasons}")  # fmt: skip
    dest.remove_temporaries()  # of a run killed between writing and renaming
    return _finish(cfg, stats, done, time.perf_counter() - started, dest)


def _finish(
    cfg: BuildConfig, stats: list[dict[str, Any]], resumed: set[str], seconds: float,
    dest: Destination,
) -> BuildResult:  # fmt: skip
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
        dest.write_bytes("README.md", readme.encode())
    dest.write_json(REPORT_NAME, report)
    dest.write_json(INDEX_NAME, index)  # last
    return BuildResult(index, report)
