"""Engines that run build units: in this process, a local process pool, or a Ray cluster.

Every engine calls the same :func:`vsrdata.preprocess.units.run_unit` on the same units, so
their outputs are byte-identical; only scheduling and progress reporting differ. Results are
returned in unit order whatever order units finish in.

- ``local`` with ``workers == 1``: units run one after another in this process.
- ``local`` with ``workers > 1``: a spawn-context process pool (no fork of a threaded parent);
  workers send progress events through a queue.
- ``ray``: one Ray task per unit (``num_cpus=1``) on ``ray_address`` or a local Ray; the
  output folder must be on storage every node sees. Progress is reported per finished unit.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import cv2

from vsrdata.common.progress import Advance, Event, Item, Reporter
from vsrdata.common.storage import destination
from vsrdata.errors import UsageError
from vsrdata.preprocess.config import BuildConfig
from vsrdata.preprocess.units import UNITS_DIR, Unit, report_clip, run_unit

log = logging.getLogger(__name__)

_events: Any = None  # the worker's end of the progress queue


def _init_worker(events: Any) -> None:
    global _events
    _events = events
    # progress events are expendable: never let a full pipe keep a worker from exiting
    events.cancel_join_thread()
    cv2.setNumThreads(1)  # one process per core already


def _pool_unit(unit: Unit, cfg: BuildConfig) -> dict[str, Any]:
    def progress(event: Event) -> None:
        _events.put(event)

    return run_unit(unit, cfg, progress)


def _is_done(unit: Unit, cfg: BuildConfig) -> bool:
    return destination(cfg.out).exists(f"{UNITS_DIR}/{unit.name}.json")


def _run_serial(units: list[Unit], cfg: BuildConfig, progress: Reporter) -> list[dict[str, Any]]:
    results = []
    for unit in units:
        stats = run_unit(unit, cfg, progress)
        progress(Item("unit", stats))
        results.append(stats)
    return results


def _drain(events: Any, progress: Reporter, timeout: float) -> None:
    try:
        progress(events.get(timeout=timeout))
        while True:
            progress(events.get_nowait())
    except queue.Empty:
        return


def _run_pool(units: list[Unit], cfg: BuildConfig, progress: Reporter) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    results: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(
        max_workers=min(cfg.workers, len(units)) or 1,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(events,),
    ) as pool:
        pending: dict[Future[dict[str, Any]], Unit] = {
            pool.submit(_pool_unit, unit, cfg): unit for unit in units
        }
        try:
            while pending:
                _drain(events, progress, timeout=0.2)
                finished, _ = wait(list(pending), timeout=0, return_when=FIRST_COMPLETED)
                for fut in finished:
                    unit = pending.pop(fut)
                    results[unit.name] = fut.result()
                    _drain(events, progress, timeout=0.01)
                    progress(Item("unit", results[unit.name]))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _drain(events, progress, timeout=0.05)
    return [results[u.name] for u in units]


def _run_ray(units: list[Unit], cfg: BuildConfig, progress: Reporter) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'vsrdata[ray]'") from None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if cfg.ray_address:
            kwargs["address"] = cfg.ray_address
        else:
            kwargs["num_cpus"] = cfg.workers
        ray.init(**kwargs)
    task = ray.remote(num_cpus=1, max_retries=2)(run_unit)
    refs = {task.remote(unit, cfg): unit for unit in units}
    results: dict[str, dict[str, Any]] = {}
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        unit = refs.pop(ready[0])
        stats = ray.get(ready[0])
        results[unit.name] = stats
        progress(Advance("frames", stats["frames"]))
        for clip in stats["clips"]:
            report_clip(clip, progress)
        progress(Item("unit", stats))
    return [results[u.name] for u in units]


def run_units(units: list[Unit], cfg: BuildConfig, progress: Reporter) -> list[dict[str, Any]]:
    """Run every unit not already done with the configured engine; stats in unit order."""
    done = {u.name: run_unit(u, cfg) for u in units if _is_done(u, cfg)}  # reads stats only
    todo = [u for u in units if u.name not in done]
    if not todo:
        ran: list[dict[str, Any]] = []
    elif cfg.engine == "ray":
        ran = _run_ray(todo, cfg, progress)
    elif cfg.workers == 1 or len(todo) == 1:
        ran = _run_serial(todo, cfg, progress)
    else:
        ran = _run_pool(todo, cfg, progress)
    by_name = {**done, **{s["unit"]: s for s in ran}}
    return [by_name[u.name] for u in units]
